package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// The protocol 3 paths of the engine (Options.AllowEIO3), driven with raw
// requests and frames; test/node/v2 runs the 2.x client itself (see
// core/eio3_interop_test.go).

var octetStream = http.Header{"Content-Type": {"application/octet-stream"}}

// v3Session is a protocol 3 polling session under test.
type v3Session struct {
	h     *harness
	sid   string
	query string
	rec   *recorder
}

// handshakeV3 opens a protocol 3 polling session (b64 for base64 payloads)
// and checks its open packet.
func handshakeV3(t *testing.T, h *harness, b64 bool) *v3Session {
	t.Helper()
	q := "EIO=3&transport=polling"
	if b64 {
		q += "&b64=1"
	}
	res, err := h.c.Do(h.ctx, http.MethodGet, q, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("handshake answer %d %q: %q", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	// "<length>:0{...}", the length in UTF-16 units (here, bytes: ASCII).
	n, open, ok := strings.Cut(string(res.Body), ":")
	if !ok || n != strconv.Itoa(len(open)) || !strings.HasPrefix(open, "0{") {
		t.Fatalf("handshake payload %q", res.Body)
	}
	hs, err := eiotest.ParseHandshake(eiotest.Packet{Type: eiotest.Open, Data: []byte(open[1:])})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(hs.Keys, want) {
		t.Fatalf("open packet keys %v, want %v", hs.Keys, want)
	}
	rec := h.session()
	if rec.s.Protocol() != 3 {
		t.Fatalf("Protocol() = %d, want 3", rec.s.Protocol())
	}
	return &v3Session{h: h, sid: hs.SID, query: q + "&sid=" + hs.SID, rec: rec}
}

// poll sends a GET and returns the answer, which must be a 200.
func (s *v3Session) poll(t *testing.T) *eiotest.Response {
	t.Helper()
	res, err := s.h.c.Do(s.h.ctx, http.MethodGet, s.query, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("poll: %d %q", res.Status, res.Body)
	}
	return res
}

// post sends body and returns the answer.
func (s *v3Session) post(t *testing.T, header http.Header, body []byte) *eiotest.Response {
	t.Helper()
	res, err := s.h.c.Do(s.h.ctx, http.MethodPost, s.query, header, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func wantOK(t *testing.T, res *eiotest.Response) {
	t.Helper()
	if res.Status != http.StatusOK || string(res.Body) != "ok" {
		t.Fatalf("POST answer %d %q, want 200 ok", res.Status, res.Body)
	}
}

// TestEIO3RefusedByDefault checks that without AllowEIO3, protocol 3
// handshakes get the "Unsupported protocol version" error, over both
// transports.
func TestEIO3RefusedByDefault(t *testing.T) {
	h := newHarness(t, nil)
	res, err := h.c.Do(h.ctx, http.MethodGet, "EIO=3&transport=polling&b64=1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusBadRequest, int(CodeUnsupportedProtocolVersion))
	ws, hres, err := h.c.DialWebSocket(h.ctx, "EIO=3&transport=websocket", nil)
	if err == nil {
		_ = ws.Close()
		t.Fatal("protocol 3 WebSocket handshake accepted")
	}
	if hres == nil || hres.StatusCode != http.StatusBadRequest {
		t.Fatalf("WebSocket handshake answer %v, want 400", hres)
	}
	// Other revisions stay refused with EIO3 allowed.
	h3 := newHarness(t, &Options{AllowEIO3: true})
	for _, eio := range []string{"2", "5", ""} {
		res, err := h3.c.Do(h3.ctx, http.MethodGet, "EIO="+eio+"&transport=polling", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, res, http.StatusBadRequest, int(CodeUnsupportedProtocolVersion))
	}
	if n := h.srv.SessionCount() + h3.srv.SessionCount(); n != 0 {
		t.Fatalf("%d sessions opened", n)
	}
}

// TestEIO3Heartbeat checks the client-driven heartbeat of protocol 3: the
// server answers each ping with a pong and moves the session's deadline,
// never pings itself, and closes a session whose client stopped pinging
// (ping timeout).
func TestEIO3Heartbeat(t *testing.T) {
	t.Run("ping answered", func(t *testing.T) {
		h := newHarness(t, &Options{AllowEIO3: true}) // default periods: no timeout during the test
		s := handshakeV3(t, h, true)
		due := func() time.Time {
			s.rec.s.mu.Lock()
			defer s.rec.s.mu.Unlock()
			return s.rec.s.hbDue
		}
		before := due()
		for range 3 {
			wantOK(t, s.post(t, nil, []byte("1:2")))
			if body := s.poll(t).Body; string(body) != "1:3" {
				t.Fatalf("answer to a ping: %q, want a pong (1:3)", body)
			}
		}
		if after := due(); !after.After(before) {
			t.Fatalf("the ping deadline did not move: %v, then %v", before, after)
		}
		// A ping with data (the 2.x client sends none, but the reference
		// accepts it) is answered all the same.
		wantOK(t, s.post(t, nil, []byte("2:2x")))
		if body := s.poll(t).Body; string(body) != "1:3" {
			t.Fatalf("answer to a ping: %q, want a pong", body)
		}
	})
	t.Run("timeout without pings", func(t *testing.T) {
		h := newHarness(t, &Options{AllowEIO3: true, PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
		s := handshakeV3(t, h, true)
		// The pending poll gets the close, not a ping: the server never
		// pings a protocol 3 client.
		res, err := h.c.Do(h.ctx, http.MethodGet, s.query, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == http.StatusOK && string(res.Body) != "1:1" {
			t.Fatalf("poll answered %q, want the close packet (1:1)", res.Body)
		}
		if e := s.rec.waitClose(t); e.reason != ReasonPingTimeout {
			t.Fatalf("close reason %q (%v), want %q", e.reason, e.err, ReasonPingTimeout)
		}
	})
	t.Run("pong from the client", func(t *testing.T) {
		h := newHarness(t, &Options{AllowEIO3: true})
		s := handshakeV3(t, h, true)
		wantOK(t, s.post(t, nil, []byte("1:3")))
		if e := s.rec.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, errHeartbeatDir) {
			t.Fatalf("close %q (%v), want %q, invalid heartbeat direction", e.reason, e.err, ReasonTransportError)
		}
	})
}

// TestEIO3PollingBase64 checks base64 polling (b64=1, the 2.x client in
// Node.js): text payloads whose lengths count UTF-16 units, binary
// messages as "b4" and base64, both ways.
func TestEIO3PollingBase64(t *testing.T) {
	h := newHarness(t, &Options{AllowEIO3: true}, func(c *harnessConfig) { c.noEcho = true })
	s := handshakeV3(t, h, true)
	_ = s.rec.s.Send(TextMessage([]byte("h\u00e9 \u20ac\U0001F600")), BinaryMessage([]byte{1, 2, 3}))
	res := s.poll(t)
	// "4hé €😀" is 7 UTF-16 units: the emoji counts two.
	if want := "7:4h\u00e9 \u20ac\U0001F6006:b4AQID"; string(res.Body) != want {
		t.Fatalf("payload %q, want %q", res.Body, want)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	wantOK(t, s.post(t, nil, []byte("3:4\U0001F6006:b4BAUG0:2:4a")))
	if e := s.rec.nextMessage(t); string(e.data) != "\U0001F600" || e.binary {
		t.Fatalf("message %q binary=%v", e.data, e.binary)
	}
	if e := s.rec.nextMessage(t); !bytes.Equal(e.data, []byte{4, 5, 6}) || !e.binary {
		t.Fatalf("message %v binary=%v", e.data, e.binary)
	}
	if e := s.rec.nextMessage(t); string(e.data) != "a" || e.binary {
		t.Fatalf("message %q binary=%v", e.data, e.binary)
	}
}

// TestEIO3PollingBinary checks binary polling payloads (the 2.x client
// with XHR2, as in browsers): a payload with a binary message is sent as
// application/octet-stream records, and the client posts the same.
func TestEIO3PollingBinary(t *testing.T) {
	h := newHarness(t, &Options{AllowEIO3: true}, func(c *harnessConfig) { c.noEcho = true })
	s := handshakeV3(t, h, false)

	// Text only: a text payload still.
	_ = s.rec.s.Send(TextMessage([]byte("hi")))
	if res := s.poll(t); string(res.Body) != "3:4hi" || res.Header.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("text payload %q (%s)", res.Body, res.Header.Get("Content-Type"))
	}

	_ = s.rec.s.Send(TextMessage([]byte("\u20ac")), BinaryMessage(bytes.Repeat([]byte{7}, 12)))
	res := s.poll(t)
	if ct := res.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Fatalf("Content-Type %q, want application/octet-stream", ct)
	}
	want := []byte{0, 4, 0xff, '4', 0xe2, 0x82, 0xac} // text: its length in bytes
	want = append(want, 1, 1, 3, 0xff, 4)             // binary: 13 bytes, type byte 4
	want = append(want, bytes.Repeat([]byte{7}, 12)...)
	if !bytes.Equal(res.Body, want) {
		t.Fatalf("binary payload %v, want %v", res.Body, want)
	}

	body := []byte{0, 3, 0xff, '4', 'o', 'k', 1, 4, 0xff, 4, 9, 8, 7}
	wantOK(t, s.post(t, octetStream, body))
	if e := s.rec.nextMessage(t); string(e.data) != "ok" || e.binary {
		t.Fatalf("message %q binary=%v", e.data, e.binary)
	}
	if e := s.rec.nextMessage(t); !bytes.Equal(e.data, []byte{9, 8, 7}) || !e.binary {
		t.Fatalf("message %v binary=%v", e.data, e.binary)
	}
	// A ping in a binary payload is answered.
	wantOK(t, s.post(t, octetStream, []byte{0, 1, 0xff, '2'}))
	if body := s.poll(t).Body; string(body) != "1:3" {
		t.Fatalf("answer to a ping: %q", body)
	}
}

// TestEIO3MalformedPayload checks that a malformed protocol 3 payload is
// refused with 400 and closes the session with a parse error.
func TestEIO3MalformedPayload(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
	}{
		{"length beyond the body", nil, "5:4ab"},
		{"no length", nil, "4hello"},
		{"length not a number", nil, "x:4"},
		{"huge length", nil, "99999999999:4"},
		{"unknown packet type", nil, "2:9a"},
		{"bad base64", nil, "4:b4!!"},
		{"splits a surrogate pair", nil, "2:4\U0001F600"},
		{"binary record kind", octetStream, "\x02\x01\xff4"},
		{"binary record without a length end", octetStream, "\x00\x01\x02"},
		{"binary record longer than the body", octetStream, "\x01\x09\xff\x04\x01"},
		{"binary record of an unknown type", octetStream, "\x01\x02\xff\x09\x01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &Options{AllowEIO3: true})
			s := handshakeV3(t, h, false)
			res := s.post(t, tc.header, []byte(tc.body))
			wantError(t, res, http.StatusBadRequest, int(CodeBadRequest))
			if e := s.rec.waitClose(t); e.reason != ReasonParseError || !errors.Is(e.err, ErrMalformedPacket) {
				t.Fatalf("close %q (%v), want a parse error", e.reason, e.err)
			}
			if s.rec.messages.Load() != 0 {
				t.Fatal("a message of the malformed payload was delivered")
			}
		})
	}
}

// dialV3 opens a protocol 3 session over WebSocket and returns it with
// its recorder, after checking the open packet.
func dialV3(t *testing.T, h *harness, query string) (*websocket.Conn, *recorder) {
	t.Helper()
	ws, _, err := h.c.DialWebSocket(h.ctx, query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	typ, open, err := ws.Conn.Read(h.ctx)
	if err != nil || typ != websocket.MessageText || !bytes.HasPrefix(open, []byte(`0{"sid":`)) {
		t.Fatalf("open packet %v %q: %v", typ, open, err)
	}
	var m map[string]any
	if err := json.Unmarshal(open[1:], &m); err != nil || len(m) != 5 {
		t.Fatalf("open packet %q: %v", open, err)
	}
	rec := h.session()
	if rec.s.Protocol() != 3 {
		t.Fatalf("Protocol() = %d", rec.s.Protocol())
	}
	return ws.Conn, rec
}

func readFrame(t *testing.T, ctx context.Context, c *websocket.Conn) (websocket.MessageType, []byte) {
	t.Helper()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return typ, b
}

// TestEIO3WebSocket checks protocol 3 over WebSocket: binary frames carry
// the packet type byte, a client without binary support (b64=1) gets
// "b4<base64>" text frames, pings are answered, and a pong from the
// client is an error.
func TestEIO3WebSocket(t *testing.T) {
	for _, b64 := range []bool{false, true} {
		t.Run("b64="+strconv.FormatBool(b64), func(t *testing.T) {
			h := newHarness(t, &Options{AllowEIO3: true})
			q := "EIO=3&transport=websocket"
			if b64 {
				q += "&b64=1"
			}
			c, rec := dialV3(t, h, q)
			ctx := h.ctx
			// A binary message, echoed.
			if err := c.Write(ctx, websocket.MessageBinary, []byte{4, 1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			if e := rec.nextMessage(t); !bytes.Equal(e.data, []byte{1, 2, 3}) || !e.binary {
				t.Fatalf("message %v binary=%v", e.data, e.binary)
			}
			typ, b := readFrame(t, ctx, c)
			if b64 {
				if typ != websocket.MessageText || string(b) != "b4AQID" {
					t.Fatalf("echo %v %q, want text b4AQID", typ, b)
				}
			} else if typ != websocket.MessageBinary || !bytes.Equal(b, []byte{4, 1, 2, 3}) {
				t.Fatalf("echo %v %v, want binary [4 1 2 3]", typ, b)
			}
			// A base64 message from the client, and text.
			if err := c.Write(ctx, websocket.MessageText, []byte("b4BAUG")); err != nil {
				t.Fatal(err)
			}
			if e := rec.nextMessage(t); !bytes.Equal(e.data, []byte{4, 5, 6}) || !e.binary {
				t.Fatalf("message %v binary=%v", e.data, e.binary)
			}
			readFrame(t, ctx, c)
			if err := c.Write(ctx, websocket.MessageText, []byte("4h\u00e9")); err != nil {
				t.Fatal(err)
			}
			if typ, b := readFrame(t, ctx, c); typ != websocket.MessageText || string(b) != "4h\u00e9" {
				t.Fatalf("echo %v %q", typ, b)
			}
			// Heartbeat.
			if err := c.Write(ctx, websocket.MessageText, []byte("2")); err != nil {
				t.Fatal(err)
			}
			if typ, b := readFrame(t, ctx, c); typ != websocket.MessageText || string(b) != "3" {
				t.Fatalf("answer to a ping: %v %q", typ, b)
			}
			if err := c.Write(ctx, websocket.MessageText, []byte("3")); err != nil {
				t.Fatal(err)
			}
			if e := rec.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, errHeartbeatDir) {
				t.Fatalf("close %q (%v) after a pong from the client", e.reason, e.err)
			}
		})
	}
	t.Run("compressed", func(t *testing.T) {
		// With permessage-deflate, coder/websocket writes the frames: the
		// protocol 3 encoding is applied before.
		h := newHarness(t, &Options{AllowEIO3: true, PerMessageDeflate: &PerMessageDeflate{Threshold: 1}})
		ws, _, err := h.c.DialWebSocket(h.ctx, "EIO=3&transport=websocket", &websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ws.Close() })
		c := ws.Conn
		readFrame(t, h.ctx, c) // open
		rec := h.session()
		data := bytes.Repeat([]byte{5}, 2000)
		if err := c.Write(h.ctx, websocket.MessageBinary, append([]byte{4}, data...)); err != nil {
			t.Fatal(err)
		}
		if e := rec.nextMessage(t); !bytes.Equal(e.data, data) || !e.binary {
			t.Fatalf("message of %d bytes, binary=%v", len(e.data), e.binary)
		}
		if typ, b := readFrame(t, h.ctx, c); typ != websocket.MessageBinary || !bytes.Equal(b, append([]byte{4}, data...)) {
			t.Fatalf("echo %v of %d bytes", typ, len(b))
		}
	})
	t.Run("malformed binary frame", func(t *testing.T) {
		h := newHarness(t, &Options{AllowEIO3: true})
		c, rec := dialV3(t, h, "EIO=3&transport=websocket")
		if err := c.Write(h.ctx, websocket.MessageBinary, []byte{9, 1}); err != nil {
			t.Fatal(err)
		}
		if e := rec.waitClose(t); e.reason != ReasonParseError {
			t.Fatalf("close %q (%v), want a parse error", e.reason, e.err)
		}
	})
}

// TestEIO3Upgrade checks the upgrade of a protocol 3 polling session to
// WebSocket: the same probe exchange, then protocol 3 frames.
func TestEIO3Upgrade(t *testing.T) {
	h := newHarness(t, &Options{AllowEIO3: true})
	s := handshakeV3(t, h, false)
	ws, _, err := h.c.DialWebSocket(h.ctx, "EIO=3&transport=websocket&sid="+s.sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	c := ws.Conn
	if err := c.Write(h.ctx, websocket.MessageText, []byte("2probe")); err != nil {
		t.Fatal(err)
	}
	if typ, b := readFrame(t, h.ctx, c); typ != websocket.MessageText || string(b) != "3probe" {
		t.Fatalf("probe answer %v %q", typ, b)
	}
	// The pending poll is released with a noop.
	if body := s.poll(t).Body; string(body) != "1:6" {
		t.Fatalf("poll during the upgrade: %q, want a noop (1:6)", body)
	}
	if err := c.Write(h.ctx, websocket.MessageText, []byte("5")); err != nil {
		t.Fatal(err)
	}
	if e := s.rec.next(t); e.kind != "upgrade" || e.transport != WebSocket {
		t.Fatalf("event %+v, want the upgrade", e)
	}
	if err := c.Write(h.ctx, websocket.MessageBinary, []byte{4, 0xff}); err != nil {
		t.Fatal(err)
	}
	if typ, b := readFrame(t, h.ctx, c); typ != websocket.MessageBinary || !bytes.Equal(b, []byte{4, 0xff}) {
		t.Fatalf("echo %v %v", typ, b)
	}
	if err := c.Write(h.ctx, websocket.MessageText, []byte("2")); err != nil {
		t.Fatal(err)
	}
	if typ, b := readFrame(t, h.ctx, c); typ != websocket.MessageText || string(b) != "3" {
		t.Fatalf("answer to a ping: %v %q", typ, b)
	}
}
