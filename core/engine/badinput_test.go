package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// badLimit is MaxHTTPBufferSize in the bad-input tests.
const badLimit = 10_000

// TestBadRequests sends one request of each class of bad input and checks
// the HTTP answer, the Engine.IO error body, and what became of the
// session. The harness fails the test if a handler panics.
func TestBadRequests(t *testing.T) {
	type outcome int
	const (
		noSession outcome = iota // the request needs no session
		kept                     // the session survives the request
		closed                   // the request closes the session
	)
	raw := func(method, query string, header http.Header, body string) func(*harness, *eiotest.Polling) *eiotest.Response {
		return func(h *harness, p *eiotest.Polling) *eiotest.Response {
			if p != nil {
				query = strings.ReplaceAll(query, "SID", p.SID())
			}
			var r io.Reader
			if body != "" {
				r = strings.NewReader(body)
			}
			res, err := h.c.Do(h.ctx, method, query, header, r)
			if err != nil {
				h.t.Fatal(err)
			}
			return res
		}
	}
	post := func(body string) func(*harness, *eiotest.Polling) *eiotest.Response {
		return raw(http.MethodPost, "EIO=4&transport=polling&sid=SID", nil, body)
	}
	const sidQuery = "EIO=4&transport=polling&sid=SID"
	cases := []struct {
		name    string
		session outcome
		do      func(*harness, *eiotest.Polling) *eiotest.Response
		status  int
		code    ErrorCode // -1: not a JSON error
		reason  CloseReason
	}{
		{"missing EIO", noSession, raw("GET", "transport=polling", nil, ""), 400, CodeUnsupportedProtocolVersion, ""},
		{"EIO=3", noSession, raw("GET", "EIO=3&transport=polling", nil, ""), 400, CodeUnsupportedProtocolVersion, ""},
		{"EIO=abc", noSession, raw("GET", "EIO=abc&transport=polling", nil, ""), 400, CodeUnsupportedProtocolVersion, ""},
		{"missing transport", noSession, raw("GET", "EIO=4", nil, ""), 400, CodeUnknownTransport, ""},
		{"unknown transport", noSession, raw("GET", "EIO=4&transport=flashsocket", nil, ""), 400, CodeUnknownTransport, ""},
		{"unknown sid GET", noSession, raw("GET", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", nil, ""), 400, CodeUnknownSID, ""},
		{"unknown sid POST", noSession, raw("POST", "EIO=4&transport=polling&sid=nope", nil, "4x"), 400, CodeUnknownSID, ""},
		{"unknown sid websocket", noSession, raw("GET", "EIO=4&transport=websocket&sid=nope", nil, ""), 400, CodeUnknownSID, ""},
		{"POST handshake", noSession, raw("POST", "EIO=4&transport=polling", nil, "4x"), 400, CodeBadHandshakeMethod, ""},
		{"PUT handshake", noSession, raw("PUT", "EIO=4&transport=polling", nil, "4x"), 400, CodeBadHandshakeMethod, ""},
		{"OPTIONS without CORS", noSession, raw("OPTIONS", "EIO=4&transport=polling", nil, ""), 400, CodeBadHandshakeMethod, ""},
		{"websocket without upgrade headers", noSession, raw("GET", "EIO=4&transport=websocket", nil, ""), 400, CodeBadRequest, ""},

		{"PUT with sid", kept, raw("PUT", sidQuery, nil, "4x"), 400, CodeBadRequest, ""},
		{"DELETE with sid", kept, raw("DELETE", sidQuery, nil, ""), 400, CodeBadRequest, ""},
		{"websocket with sid without upgrade headers", kept, raw("GET", "EIO=4&transport=websocket&sid=SID", nil, ""), 400, CodeBadRequest, ""},

		{"invalid base64", closed, post("b!!!!"), 400, CodeBadRequest, ReasonParseError},
		{"unknown packet type", closed, post("7x"), 400, CodeBadRequest, ReasonParseError},
		{"not a packet", closed, post("abc"), 400, CodeBadRequest, ReasonParseError},
		{"empty body", closed, raw("POST", sidQuery, nil, ""), 400, CodeBadRequest, ReasonParseError},
		{"trailing separator", closed, post("4a\x1e"), 400, CodeBadRequest, ReasonParseError},
		{"empty packet between separators", closed, post("4a\x1e\x1e4b"), 400, CodeBadRequest, ReasonParseError},
		{"leading separator", closed, post("\x1e4a"), 400, CodeBadRequest, ReasonParseError},
		{"binary Content-Type", closed, raw("POST", sidQuery, http.Header{"Content-Type": {"application/octet-stream"}}, "\x01\x02"), 400, CodeBadRequest, ReasonTransportError},
		{"body over the limit", closed, post("4" + strings.Repeat("a", badLimit)), 413, -1, ReasonTransportError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &Options{MaxHTTPBufferSize: badLimit})
			var p *eiotest.Polling
			var r *recorder
			if tc.session != noSession {
				p, r = h.handshake()
			}
			res := tc.do(h, p)
			if tc.code >= 0 {
				wantError(t, res, tc.status, int(tc.code))
			} else if res.Status != tc.status {
				t.Fatalf("status %d, want %d (%q)", res.Status, tc.status, res.Body)
			}
			switch tc.session {
			case noSession:
				if n := h.srv.SessionCount(); n != 0 {
					t.Fatalf("SessionCount = %d", n)
				}
			case kept:
				// The session still works.
				h.send(p, eiotest.Text("alive"))
				if got := h.poll(p); got != "4alive" {
					t.Fatalf("poll %q", got)
				}
				if n := h.srv.SessionCount(); n != 1 {
					t.Fatalf("SessionCount = %d", n)
				}
			case closed:
				if e := r.waitClose(t); e.reason != tc.reason {
					t.Fatalf("close reason %q (%v), want %q", e.reason, e.err, tc.reason)
				}
				h.waitSessions(0)
				res, err := p.PollRaw(h.ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantError(t, res, 400, int(CodeUnknownSID))
			}
		})
	}
}

// TestBodyAtLimit checks that a POST body of exactly MaxHTTPBufferSize
// bytes is accepted, with a declared length or chunked.
func TestBodyAtLimit(t *testing.T) {
	h := newHarness(t, &Options{MaxHTTPBufferSize: badLimit})
	p, r := h.handshake()
	body := "4" + strings.Repeat("a", badLimit-1)
	res, err := p.PostRaw(h.ctx, nil, strings.NewReader(body))
	if err != nil || res.Status != 200 {
		t.Fatalf("POST at the limit: %v %+v", err, res)
	}
	res, err = p.PostRaw(h.ctx, nil, io.MultiReader(strings.NewReader(body))) // no length: chunked
	if err != nil || res.Status != 200 {
		t.Fatalf("chunked POST at the limit: %v %+v", err, res)
	}
	for range 2 {
		if e := r.nextMessage(t); len(e.data) != badLimit-1 {
			t.Fatalf("message of %d bytes", len(e.data))
		}
	}
}

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// endlessBody produces up to n bytes of a text message, counting them.
type endlessBody struct {
	n, produced int64
}

func (b *endlessBody) Read(p []byte) (int, error) {
	if b.produced >= b.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.n-b.produced)]
	for i := range p {
		p[i] = 'a'
	}
	if b.produced == 0 && len(p) > 0 {
		p[0] = '4'
	}
	b.produced += int64(len(p))
	return len(p), nil
}

// TestBodyOverLimitNotRead checks that a POST body over MaxHTTPBufferSize is
// refused with 413 without being read: with a declared Content-Length the
// server reads none of it, and a chunked body is read only a little past
// the limit (net/http itself drains up to 256 KiB before it gives up on the
// connection).
func TestBodyOverLimitNotRead(t *testing.T) {
	const slack = 1 << 20
	const huge = 1 << 30 // what the client would send if let

	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			var read atomic.Int64
			h := newHarness(t, &Options{MaxHTTPBufferSize: badLimit}, func(c *harnessConfig) {
				c.listener = func(l net.Listener) net.Listener { return countingListener{l, &read} }
			})
			p, r := h.handshake()
			before := read.Load()

			conn, err := net.Dial("tcp", h.ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			hdr := "POST /engine.io/?" + p.Query() + " HTTP/1.1\r\nHost: " + h.ts.Listener.Addr().String() + "\r\n"
			if chunked {
				hdr += "Transfer-Encoding: chunked\r\n\r\n"
			} else {
				hdr += fmt.Sprintf("Content-Length: %d\r\n\r\n", huge)
			}
			if _, err := io.WriteString(conn, hdr); err != nil {
				t.Fatal(err)
			}
			// Write the body until the server stops taking it, while the
			// answer is read.
			src := &endlessBody{n: huge}
			writeDone := make(chan error, 1)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, _ := src.Read(buf)
					if n == 0 {
						writeDone <- nil
						return
					}
					var err error
					if chunked {
						_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", n, buf[:n])
					} else {
						_, err = conn.Write(buf[:n])
					}
					if err != nil {
						writeDone <- err
						return
					}
				}
			}()
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d", res.StatusCode)
			}
			if e := r.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, errBodyTooLarge) {
				t.Fatalf("close %q %v", e.reason, e.err)
			}
			// The server closes the connection, which stops the writer.
			conn.Close()
			<-writeDone
			consumed := read.Load() - before
			limit := int64(badLimit)
			if !chunked {
				limit = 0
			}
			if consumed > limit+slack {
				t.Fatalf("server read %d bytes of a body refused at %d", consumed, badLimit)
			}
		})
	}
}

func TestConcurrentPolls(t *testing.T) {
	h := newHarness(t, nil)
	p, r := h.handshake()
	first := h.pollAsync(p, r.s)
	res, err := p.PollRaw(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusBadRequest, int(CodeBadRequest))
	if got := h.result(first); got != "1" {
		t.Fatalf("first GET answered %q, want a close packet", got)
	}
	if e := r.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, errPollOverlap) {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
	h.waitSessions(0)
	res, err = p.PollRaw(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusBadRequest, int(CodeUnknownSID))
}

func TestConcurrentPosts(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
	p, r := h.handshake()
	// The first POST sends its body slowly: it is still being read when the
	// second arrives.
	pr, pw := io.Pipe()
	firstDone := make(chan *eiotest.Response, 1)
	go func() {
		res, err := p.PostRaw(h.ctx, nil, pr)
		if err != nil {
			res = &eiotest.Response{Status: -1, Body: []byte(err.Error())}
		}
		firstDone <- res
	}()
	if _, err := io.WriteString(pw, "4fir"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		r.s.mu.Lock()
		defer r.s.mu.Unlock()
		return r.s.posting
	})
	res, err := p.PostRaw(h.ctx, nil, strings.NewReader("4second"))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusBadRequest, int(CodeBadRequest))
	if e := r.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, errPostOverlap) {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
	// The first POST completes; its message comes after the close and is
	// dropped.
	_, _ = io.WriteString(pw, "st")
	pw.Close()
	if res := <-firstDone; res.Status != 200 {
		t.Fatalf("first POST: %d %q", res.Status, res.Body)
	}
	if n := r.messages.Load(); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
	h.waitSessions(0)
}

// TestPollAbandoned covers a client that opens a poll and vanishes: the
// request's context ends and the session closes.
func TestPollAbandoned(t *testing.T) {
	h := newHarness(t, nil)
	p, r := h.handshake()
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() {
		_, err := p.Client.Do(ctx, http.MethodGet, p.Query(), nil, nil)
		done <- err
	}()
	waitFor(t, func() bool {
		r.s.mu.Lock()
		defer r.s.mu.Unlock()
		return r.s.pollWaiting
	})
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled GET succeeded")
	}
	if e := r.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, errPollAborted) {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
	h.waitSessions(0)
}

// TestClosedSessionRequests checks that every kind of request for a session
// that has closed is refused with "Session ID unknown".
func TestClosedSessionRequests(t *testing.T) {
	h := newHarness(t, nil)
	p, r := h.handshake()
	r.s.Close()
	if got := h.poll(p); got != "1" {
		t.Fatalf("poll %q", got)
	}
	r.waitClose(t)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		res, err := h.c.Do(h.ctx, method, p.Query(), nil, strings.NewReader("4x"))
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, res, http.StatusBadRequest, int(CodeUnknownSID))
	}
	_, res, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket&sid="+p.SID(), nil)
	if err == nil {
		t.Fatal("WebSocket for a closed session accepted")
	}
	if res == nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("WebSocket for a closed session answered %v", res)
	}
}

// TestBadWebSocketInput covers bad frames on a WebSocket session.
func TestBadWebSocketInput(t *testing.T) {
	cases := []struct {
		name   string
		typ    websocket.MessageType
		data   []byte
		reason CloseReason
		status websocket.StatusCode // the close status the client sees, -1 for none
	}{
		{"garbage text", websocket.MessageText, []byte("abc"), ReasonParseError, -1},
		{"empty text", websocket.MessageText, nil, ReasonParseError, -1},
		{"unknown packet type", websocket.MessageText, []byte("9"), ReasonParseError, -1},
		{"over the read limit", websocket.MessageText, append([]byte("4"), bytes.Repeat([]byte("a"), badLimit)...), ReasonTransportError, websocket.StatusMessageTooBig},
		{"binary over the read limit", websocket.MessageBinary, make([]byte, badLimit+1), ReasonTransportError, websocket.StatusMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &Options{MaxHTTPBufferSize: badLimit})
			ws, r := h.openWS()
			if err := ws.Conn.Write(h.ctx, tc.typ, tc.data); err != nil {
				t.Fatal(err)
			}
			status, msgs, err := ws.WaitClosed(h.ctx)
			if err == nil || len(msgs) != 0 {
				t.Fatalf("WaitClosed: %v %v", msgs, err)
			}
			if tc.status != -1 && status != tc.status {
				t.Fatalf("close status %v, want %v", status, tc.status)
			}
			if e := r.waitClose(t); e.reason != tc.reason {
				t.Fatalf("close %q %v, want %q", e.reason, e.err, tc.reason)
			}
			h.waitSessions(0)
		})
	}
	t.Run("at the read limit", func(t *testing.T) {
		h := newHarness(t, &Options{MaxHTTPBufferSize: badLimit})
		ws, r := h.openWS()
		msg := eiotest.Text(strings.Repeat("a", badLimit-1))
		if err := ws.Write(h.ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got, err := ws.ReadMessage(h.ctx); err != nil || len(got.Data) != badLimit-1 {
			t.Fatalf("echo of %d bytes, %v", len(got.Data), err)
		}
		if err := ws.Write(h.ctx, eiotest.Bin(make([]byte, badLimit))); err != nil {
			t.Fatal(err)
		}
		if got, err := ws.ReadMessage(h.ctx); err != nil || len(got.Data) != badLimit {
			t.Fatalf("echo of %d bytes, %v", len(got.Data), err)
		}
		r.nextMessage(t)
		r.nextMessage(t)
	})
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for range waitLimit / 1e6 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition not met")
}
