package core

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/eiotest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// syncBuffer is a bytes.Buffer for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSessionIDNotLogged captures every log record, at debug level, of
// connections going through their whole life over each transport
// (handshake, upgrade, events, acknowledgements, heartbeats, refused
// requests, protocol errors, closes of every kind, shutdown): the
// Engine.IO session ID, a bearer secret, appears in none.
func TestSessionIDNotLogged(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	io := NewServer(WithLogger(logger), WithPingInterval(30*time.Millisecond), WithPingTimeout(time.Second))
	ts := httptest.NewServer(io)
	defer ts.Close()
	io.OnConnection(func(s *Socket) {
		installPing(s)
		OnAck(s, "double", func(_ *Socket, n int) (int, error) { return 2 * n, nil })
		s.On("boom", func(*Event) { panic("boom") })
	})
	ctx := ctxT(t)
	var sids []string
	for _, tr := range siotest.Transports {
		c, err := siotest.Dial(ctx, ts.URL, &siotest.Options{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, c.SID())
		s := join(t, c, "/", nil)
		if _, err := s.EmitWithAck(ctx, "double", 21); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EmitWithAck(ctx, "double", "not a number"); err != nil {
			t.Fatal(err)
		}
		_ = s.Emit("boom")
		if _, err := c.Connect(ctx, "/nowhere", nil); err == nil {
			t.Fatal("joined an unknown namespace")
		}
		// A few heartbeats.
		time.Sleep(100 * time.Millisecond)
		roundTrip(t, s)
		// Requests naming the session that the server refuses.
		q := eiotest.HandshakeQuery + "&sid=" + c.SID()
		_, _ = c.Engine().Do(ctx, http.MethodPut, q, nil, nil)
		_, _ = c.Engine().Do(ctx, http.MethodGet, "EIO=4&transport=websocket&sid="+c.SID(), nil, nil)
		switch tr {
		case siotest.Polling:
			// A protocol error closes the connection.
			_ = c.WriteText(`2["x",{"a":`)
			if err := c.WaitClosed(ctx); err == nil {
				t.Fatal("still open after a parse error")
			}
			_ = c.Close()
		case siotest.WebSocket:
			c.Abort()
		default:
			_ = c.Close()
		}
	}
	// Connections that the server closes itself: a ping timeout, and the
	// shutdown.
	late, err := siotest.Dial(ctx, ts.URL, &siotest.Options{Transport: siotest.WebSocket, NoPong: true})
	if err != nil {
		t.Fatal(err)
	}
	sids = append(sids, late.SID())
	join(t, late, "/", nil)
	_ = late.WaitClosed(ctx)
	_ = late.Close()
	last := join(t, dialClosed(t, ts.URL, &sids), "/", nil)
	if err := io.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-last.Disconnected()

	out := logs.String()
	if !strings.Contains(out, "level=DEBUG") {
		t.Fatalf("no debug log captured:\n%s", out)
	}
	for _, sid := range sids {
		if strings.Contains(out, sid) {
			t.Fatalf("session ID %q in the logs:\n%s", sid, out)
		}
	}
	t.Logf("%d log lines, none with any of %d session IDs", strings.Count(out, "\n"), len(sids))
}

// dialClosed dials a polling connection, records its sid and closes it
// when the test ends.
func dialClosed(t *testing.T, url string, sids *[]string) *siotest.Conn {
	t.Helper()
	c, err := siotest.Dial(ctxT(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	*sids = append(*sids, c.SID())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestSocketIDs checks that socket IDs are 20 characters of URL-safe
// base64 (120 bits from crypto/rand), all distinct, and unrelated to the
// connection's session ID: a socket ID is visible to other clients (as a
// room name, in broadcasts), the session ID must not be.
func TestSocketIDs(t *testing.T) {
	e := newEnv(t)
	main := serverSockets(e.io)
	other := serverSockets(e.io.Of("/b"))
	idPattern := regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)
	seen := map[string]bool{}
	for i := range 100 {
		tr := siotest.WebSocket
		if i%2 == 1 {
			tr = siotest.Polling
		}
		c := e.dial(tr)
		join(t, c, "/", nil)
		join(t, c, "/b", nil)
		for _, ss := range []*Socket{recv(t, main), recv(t, other)} {
			id := ss.ID()
			if !idPattern.MatchString(id) {
				t.Fatalf("socket ID %q is not 20 URL-safe characters", id)
			}
			if id == c.SID() || seen[c.SID()] {
				t.Fatalf("socket ID %q and session ID %q collide", id, c.SID())
			}
			if seen[id] {
				t.Fatalf("socket ID %q given twice", id)
			}
			seen[id] = true
		}
		_ = c.Close()
	}
}

// internals are fragments of Go error texts and stack traces that must
// never reach a client.
var internals = []string{"json:", "cannot unmarshal", "invalid character", "unexpected end of JSON",
	"goroutine ", ".go:", "panic", "socket.io:", "engine.io:"}

func checkNoInternals(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range internals {
		if strings.Contains(text, s) {
			t.Fatalf("%s tells the client %q", what, text)
		}
	}
}

// TestErrorsHideInternals provokes the errors a client can cause (an
// argument of the wrong type, a handler panic, an unknown namespace, a
// refused request, a malformed body) and checks that what the client gets
// back names the problem without Go error texts or stack traces. (The
// texts an application chooses, a middleware's or an OnAck handler's
// error, are sent as they are, as in the reference.)
func TestErrorsHideInternals(t *testing.T) {
	e := newEnv(t)
	e.io.OnConnection(func(s *Socket) {
		installPing(s)
		OnAck(s, "double", func(_ *Socket, n int) (int, error) { return 2 * n, nil })
		s.On("boom", func(e *Event) {
			if e.WantsAck() {
				panic("boom")
			}
		})
	})
	ctx := ctxT(t)
	c := e.dial(siotest.WebSocket)
	s := join(t, c, "/", nil)

	res, err := s.EmitWithAck(ctx, "double", "not a number")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, []any{map[string]any{"error": "invalid argument"}}) {
		t.Fatalf("ack %v", res)
	}
	// A panicking handler: no answer at all, the connection goes on.
	_ = s.Emit("boom")
	roundTrip(t, s)
	_, err = c.Connect(ctx, "/nowhere", nil)
	var ce *siotest.ConnectError
	if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
		t.Fatalf("unknown namespace: %v", err)
	}
	checkNoInternals(t, "CONNECT_ERROR", ce.Packet.Text)
	for range 3 {
		if p, err := c.NextUnrouted(expired()); err == nil {
			checkNoInternals(t, "an unrouted packet", p.Text)
		}
	}
	for s.Pending() > 0 {
		p, _ := s.Next(ctx)
		checkNoInternals(t, "a packet", p.Text)
	}

	// Engine.IO refusals: a malformed polling body, a bad sid, a bad
	// handshake.
	pc := e.dial(siotest.Polling)
	for _, req := range []struct {
		method, query, body string
	}{
		{http.MethodPost, eiotest.HandshakeQuery + "&sid=" + pc.SID(), "\x00\xff{not json"},
		{http.MethodGet, eiotest.HandshakeQuery + "&sid=nope", ""},
		{http.MethodGet, "EIO=4&transport=carrier-pigeon", ""},
		{http.MethodGet, "EIO=%zz&transport=polling", ""},
	} {
		res, err := pc.Engine().Do(ctx, req.method, req.query, nil, strings.NewReader(req.body))
		if err != nil {
			t.Fatal(err)
		}
		checkNoInternals(t, req.method+" "+req.query, string(res.Body))
	}
}
