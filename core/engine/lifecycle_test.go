package engine

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// Heartbeat tests use short intervals and a long timeout where the client
// must answer in time, so that a slow machine delays them without making
// them fail.

func TestHeartbeatPolling(t *testing.T) {
	h := newHarness(t, &Options{PingInterval: 20 * time.Millisecond, PingTimeout: 5 * time.Second})
	p, r := h.handshake()
	for i := range 4 {
		// Each ping is the whole body of a GET.
		if got := h.poll(p); got != "2" {
			t.Fatalf("poll %d answered %q, want a ping", i, got)
		}
		h.send(p, eiotest.Control(eiotest.Pong, ""))
	}
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %+v", e)
	default:
	}
	if h.srv.SessionCount() != 1 {
		t.Fatal("session closed although every ping was answered")
	}
}

func TestHeartbeatWebSocket(t *testing.T) {
	h := newHarness(t, &Options{PingInterval: 20 * time.Millisecond, PingTimeout: 5 * time.Second})
	ws, r := h.openWS()
	for i := range 4 {
		p, err := ws.Read(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != "2" {
			t.Fatalf("frame %d is %q, want a ping", i, p.String())
		}
		if err := ws.Write(h.ctx, eiotest.Control(eiotest.Pong, "")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %+v", e)
	default:
	}
}

func TestPingTimeout(t *testing.T) {
	opts := &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond}
	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, opts)
		p, r := h.handshake()
		// The client never polls, so it never sees the ping.
		if e := r.waitClose(t); e.reason != ReasonPingTimeout {
			t.Fatalf("close reason %q", e.reason)
		}
		res, err := p.PollRaw(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, res, http.StatusBadRequest, int(CodeUnknownSID))
	})
	t.Run("polling pending GET", func(t *testing.T) {
		h := newHarness(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
		p, r := h.handshake()
		// The client receives the ping but does not answer it: its next
		// GET, pending when the timeout strikes, is answered with a close
		// packet (or, if it came too late, refused).
		if got := h.poll(p); got != "2" {
			t.Fatalf("poll %q", got)
		}
		res, err := p.PollRaw(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == http.StatusOK {
			if string(res.Body) != "1" {
				t.Fatalf("pending poll answered %q, want a close packet", res.Body)
			}
		} else {
			wantError(t, res, http.StatusBadRequest, int(CodeUnknownSID))
		}
		if e := r.waitClose(t); e.reason != ReasonPingTimeout {
			t.Fatalf("close reason %q", e.reason)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, opts)
		ws, r := h.openWS()
		if e := r.waitClose(t); e.reason != ReasonPingTimeout {
			t.Fatalf("close reason %q", e.reason)
		}
		// The client sees the ping, then the end of the connection.
		_, msgs, err := ws.WaitClosed(h.ctx)
		if err == nil || len(msgs) != 0 {
			t.Fatalf("WaitClosed %v %v", msgs, err)
		}
		h.waitSessions(0)
	})
}

// TestClientPing checks that a ping from the client, which protocol
// revision 4 forbids, closes the session.
func TestClientPing(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, nil)
		p, r := h.handshake()
		h.send(p, eiotest.Control(eiotest.Ping, ""))
		if e := r.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, errHeartbeatDir) {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
		h.waitSessions(0)
	})
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, nil)
		ws, r := h.openWS()
		if err := ws.Write(h.ctx, eiotest.Control(eiotest.Ping, "probe")); err != nil {
			t.Fatal(err)
		}
		if e := r.waitClose(t); e.reason != ReasonTransportError {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
		if _, _, err := ws.WaitClosed(h.ctx); err == nil {
			t.Fatal("WebSocket not closed")
		}
	})
}

func TestClientClose(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, nil)
		p, r := h.handshake()
		ch := h.pollAsync(p, r.s)
		h.send(p, eiotest.Control(eiotest.Close, ""))
		if got := h.result(ch); got != "6" {
			t.Fatalf("pending poll answered %q, want a noop", got)
		}
		if e := r.waitClose(t); e.reason != ReasonTransportClose || e.err != nil {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
		res, err := p.PollRaw(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, res, http.StatusBadRequest, int(CodeUnknownSID))
	})
	t.Run("polling with messages", func(t *testing.T) {
		// Messages before the close packet are delivered, those after it
		// are not.
		h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
		p, r := h.handshake()
		h.send(p, eiotest.Text("a"), eiotest.Control(eiotest.Close, ""), eiotest.Text("b"))
		if e := r.nextMessage(t); string(e.data) != "a" {
			t.Fatalf("message %q", e.data)
		}
		if e := r.next(t); e.kind != "close" || e.reason != ReasonTransportClose {
			t.Fatalf("event %+v", e)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, nil)
		ws, r := h.openWS()
		if err := ws.Write(h.ctx, eiotest.Control(eiotest.Close, "")); err != nil {
			t.Fatal(err)
		}
		if e := r.waitClose(t); e.reason != ReasonTransportClose {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
		if _, _, err := ws.WaitClosed(h.ctx); err == nil {
			t.Fatal("WebSocket not closed")
		}
		h.waitSessions(0)
	})
	t.Run("websocket close frame", func(t *testing.T) {
		h := newHarness(t, nil)
		ws, r := h.openWS()
		if err := ws.Conn.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Fatal(err)
		}
		if e := r.waitClose(t); e.reason != ReasonTransportClose {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
	})
	t.Run("websocket drop", func(t *testing.T) {
		h := newHarness(t, nil)
		ws, r := h.openWS()
		ws.Close()
		if e := r.waitClose(t); e.reason != ReasonTransportClose {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
	})
}

func TestSessionClose(t *testing.T) {
	send := func(t *testing.T, s *Session, msgs ...string) {
		for _, m := range msgs {
			if err := s.Send(TextMessage([]byte(m))); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("polling pending GET", func(t *testing.T) {
		h := newHarness(t, nil)
		p, r := h.handshake()
		ch := h.pollAsync(p, r.s)
		// Both messages may wake the GET before Close; either way the
		// client gets them, then the close packet.
		send(t, r.s, "a", "b")
		r.s.Close()
		got := h.result(ch)
		if got != "4a\x1e4b\x1e1" {
			// The GET took the messages before Close: the next one gets
			// the close packet.
			if got != "4a" && got != "4a\x1e4b" {
				t.Fatalf("poll %q", got)
			}
			rest := h.poll(p)
			if got+"\x1e"+rest != "4a\x1e4b\x1e1" {
				t.Fatalf("polls %q then %q", got, rest)
			}
		}
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Fatalf("close %q", e.reason)
		}
		if err := r.s.Send(TextMessage(nil)); !errors.Is(err, ErrSessionClosed) {
			t.Fatalf("Send after close: %v", err)
		}
		h.waitSessions(0)
	})
	t.Run("polling next GET", func(t *testing.T) {
		h := newHarness(t, nil)
		p, r := h.handshake()
		send(t, r.s, "a", "b")
		r.s.Close()
		// Closing, the session refuses new messages but still delivers
		// what it had queued.
		if err := r.s.Send(TextMessage(nil)); !errors.Is(err, ErrSessionClosed) {
			t.Fatalf("Send while closing: %v", err)
		}
		if got := h.poll(p); got != "4a\x1e4b\x1e1" {
			t.Fatalf("poll %q", got)
		}
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Fatalf("close %q", e.reason)
		}
		r.s.Close() // a no-op now
	})
	t.Run("polling client gone", func(t *testing.T) {
		// A client that never polls again: the close completes after
		// pingInterval+pingTimeout. (Close must come before the heartbeat
		// would have closed the session, hence the long interval.)
		h := newHarness(t, &Options{PingInterval: 500 * time.Millisecond, PingTimeout: 10 * time.Millisecond})
		_, r := h.handshake()
		send(t, r.s, "lost")
		r.s.Close()
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Fatalf("close %q", e.reason)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, nil)
		ws, r := h.openWS()
		send(t, r.s, "a", "b")
		r.s.Close()
		status, msgs, _ := ws.WaitClosed(h.ctx)
		if status != websocket.StatusNormalClosure {
			t.Fatalf("close status %v", status)
		}
		if payloadString(msgs) != "4a\x1e4b" {
			t.Fatalf("got %q before the close", payloadString(msgs))
		}
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Fatalf("close %q", e.reason)
		}
		if err := r.s.Send(TextMessage(nil)); !errors.Is(err, ErrSessionClosed) {
			t.Fatalf("Send after close: %v", err)
		}
	})
	t.Run("from OnMessage", func(t *testing.T) {
		h := newHarness(t, nil, func(c *harnessConfig) {
			c.onAccept = func(r *recorder) {
				r.onMessage = func(r *recorder, data []byte, _ bool) {
					if string(data) == "bye" {
						_ = r.s.Send(TextMessage([]byte("ciao")))
						r.s.Close()
					}
				}
			}
		})
		ws, r := h.openWS()
		if err := ws.Write(h.ctx, eiotest.Text("bye")); err != nil {
			t.Fatal(err)
		}
		status, msgs, _ := ws.WaitClosed(h.ctx)
		if status != websocket.StatusNormalClosure || payloadString(msgs) != "4ciao" {
			t.Fatalf("close status %v after %q", status, payloadString(msgs))
		}
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Fatalf("close %q", e.reason)
		}
	})
}

// TestSessionCloseStuckClient checks that a graceful close ends even when a
// WebSocket client stops reading: the writer is then stuck in a write that
// only closing the connection ends. The client keeps answering pings
// blindly, so only the close can end the session.
func TestSessionCloseStuckClient(t *testing.T) {
	h := newHarness(t, &Options{PingInterval: 20 * time.Millisecond, PingTimeout: time.Second, MaxBufferedPackets: 1 << 16})
	ws, r := h.openWS()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if ws.Write(h.ctx, eiotest.Control(eiotest.Pong, "")) != nil {
				return
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	// Far more than the loopback socket buffers hold.
	big := TextMessage(make([]byte, 1<<20))
	for range 64 {
		if err := r.s.Send(big); err != nil {
			t.Fatal(err)
		}
	}
	r.s.Close()
	if e := r.waitClose(t); e.reason != ReasonForcedClose {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
}

func TestSendErrors(t *testing.T) {
	t.Run("after close", func(t *testing.T) {
		h := newHarness(t, nil)
		ws, r := h.openWS()
		ws.Close()
		r.waitClose(t)
		if err := r.s.Send(TextMessage([]byte("x"))); !errors.Is(err, ErrSessionClosed) {
			t.Fatalf("Send: %v", err)
		}
		if r.s.TrySend(TextMessage([]byte("x"))) {
			t.Fatal("TrySend on a closed session")
		}
	})
	t.Run("queue full", func(t *testing.T) {
		h := newHarness(t, &Options{MaxBufferedPackets: 4})
		p, r := h.handshake()
		for i := range 4 {
			if err := r.s.Send(TextMessage([]byte(strconv.Itoa(i)))); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.s.Send(TextMessage([]byte("overflow"))); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Send: %v, want ErrQueueFull", err)
		}
		if e := r.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, ErrQueueFull) {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
		if err := r.s.Send(TextMessage(nil)); !errors.Is(err, ErrSessionClosed) {
			t.Fatalf("Send: %v", err)
		}
		// The queued packets are dropped: the client is told the session
		// ended.
		res, err := p.PollRaw(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, res, http.StatusBadRequest, int(CodeUnknownSID))
	})
	t.Run("queue full in one call", func(t *testing.T) {
		h := newHarness(t, &Options{MaxBufferedPackets: 4})
		p, r := h.handshake()
		ch := h.pollAsync(p, r.s)
		frames := make([]Frame, 5)
		for i := range frames {
			frames[i] = TextMessage([]byte("x"))
		}
		if err := r.s.Send(frames...); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Send: %v, want ErrQueueFull", err)
		}
		// The pending GET learns that the session closed.
		if got := h.result(ch); got != "1" {
			t.Fatalf("pending poll answered %q", got)
		}
		r.waitClose(t)
	})
}

func TestTrySend(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, nil)
		p, r := h.handshake()
		// No GET pending: the frame would have to wait, so it is dropped.
		if r.s.TrySend(TextMessage([]byte("dropped"))) {
			t.Fatal("TrySend queued without a pending GET")
		}
		ch := h.pollAsync(p, r.s)
		if !r.s.TrySend(TextMessage([]byte("volatile"))) {
			t.Fatal("TrySend refused with a GET pending")
		}
		if got := h.result(ch); got != "4volatile" {
			t.Fatalf("poll %q", got)
		}
		// Something queued: the frame would wait behind it.
		if err := r.s.Send(TextMessage([]byte("queued"))); err != nil {
			t.Fatal(err)
		}
		if r.s.TrySend(TextMessage([]byte("dropped"))) {
			t.Fatal("TrySend queued behind other frames")
		}
		if got := h.poll(p); got != "4queued" {
			t.Fatalf("poll %q", got)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, nil)
		ws, r := h.openWS()
		if !r.s.TrySend(TextMessage([]byte("volatile"))) {
			t.Fatal("TrySend refused on an idle WebSocket")
		}
		if got, err := ws.Read(h.ctx); err != nil || got.String() != "4volatile" {
			t.Fatalf("read %q %v", got.String(), err)
		}
		r.s.Close()
		if r.s.TrySend(TextMessage([]byte("x"))) {
			t.Fatal("TrySend on a closing session")
		}
	})
}

func TestShutdown(t *testing.T) {
	h := newHarness(t, nil)
	p, pr := h.handshake()
	ch := h.pollAsync(p, pr.s)
	ws, wr := h.openWS()
	if err := wr.s.Send(TextMessage([]byte("last words"))); err != nil {
		t.Fatal(err)
	}
	wsDone := make(chan websocket.StatusCode, 1)
	go func() {
		status, msgs, _ := ws.WaitClosed(h.ctx)
		if payloadString(msgs) != "4last words" {
			status = -2
		}
		wsDone <- status
	}()

	ctx, cancel := context.WithTimeout(h.ctx, waitLimit)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Shutdown returned: every OnClose has returned.
	for _, r := range []*recorder{pr, wr} {
		if n := r.closes.Load(); n != 1 {
			t.Fatalf("OnClose called %d times when Shutdown returned", n)
		}
		select {
		case <-r.s.Done():
		default:
			t.Fatal("Done not closed when Shutdown returned")
		}
		if e := r.waitClose(t); e.reason != ReasonServerShutdown {
			t.Fatalf("close %q", e.reason)
		}
	}
	if got := h.result(ch); got != "1" {
		t.Fatalf("pending poll answered %q, want a close packet", got)
	}
	if status := <-wsDone; status != websocket.StatusGoingAway {
		t.Fatalf("WebSocket closed with %v, want 1001 after the queued message", status)
	}
	// No new sessions.
	res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusBadRequest, int(CodeBadRequest))
	if _, err := h.c.OpenWebSocket(h.ctx); err == nil {
		t.Fatal("WebSocket handshake after Shutdown")
	}
	if h.srv.SessionCount() != 0 {
		t.Fatalf("SessionCount = %d", h.srv.SessionCount())
	}
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestShutdownContextExpiry(t *testing.T) {
	t.Run("idle polling client", func(t *testing.T) {
		// A polling session with no GET pending would wait for its client's
		// next poll for pingInterval+pingTimeout (45s by default).
		h := newHarness(t, nil)
		_, r := h.handshake()
		ctx, cancel := context.WithTimeout(h.ctx, 20*time.Millisecond)
		defer cancel()
		if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v", err)
		}
		if e := r.waitClose(t); e.reason != ReasonServerShutdown {
			t.Fatalf("close %q", e.reason)
		}
	})
	t.Run("busy handler", func(t *testing.T) {
		// A handler stuck in OnMessage delays OnClose, and a client that
		// does not answer the close handshake delays the end of the
		// connection; Shutdown returns when its context ends all the same.
		release := make(chan struct{})
		h := newHarness(t, nil, func(c *harnessConfig) {
			c.onAccept = func(r *recorder) {
				r.onMessage = func(*recorder, []byte, bool) { <-release }
			}
		})
		ws, r := h.openWS()
		if err := ws.Write(h.ctx, eiotest.Text("block")); err != nil {
			t.Fatal(err)
		}
		r.nextMessage(t)
		ctx, cancel := context.WithTimeout(h.ctx, 20*time.Millisecond)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- h.srv.Shutdown(ctx) }()
		// The bound is shorter than the close handshake's 5s timeout, which
		// Shutdown must not wait for.
		select {
		case err := <-errc:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown: %v", err)
			}
		case <-time.After(4 * time.Second):
			close(release)
			t.Fatal("Shutdown did not return when its context ended")
		}
		if r.closes.Load() != 0 {
			t.Fatal("OnClose ran during OnMessage")
		}
		// Now the client answers the close handshake.
		if status, _, _ := ws.WaitClosed(h.ctx); status != websocket.StatusGoingAway {
			t.Fatalf("close status %v", status)
		}
		close(release)
		if e := r.waitClose(t); e.reason != ReasonServerShutdown {
			t.Fatalf("close %q", e.reason)
		}
	})
}

// TestCloseInAccept covers sessions closed before the accept function has
// returned: OnClose must still reach the handler, exactly once.
func TestCloseInAccept(t *testing.T) {
	closeInAccept := func(c *harnessConfig) {
		c.onAccept = func(r *recorder) {
			_ = r.s.Send(TextMessage([]byte("go away")))
			r.s.Close()
		}
	}
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, nil, func(c *harnessConfig) {
			c.onAccept = func(r *recorder) {
				_ = r.s.Send(TextMessage([]byte("go away")))
				r.s.Close()
				// A slow accept: the session finishes closing (the client
				// answers the close handshake) before accept returns.
				for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					r.s.mu.Lock()
					closed := r.s.state == stateClosed
					r.s.mu.Unlock()
					if closed {
						break
					}
				}
			}
		})
		ws, err := h.c.OpenWebSocket(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		status, msgs, _ := ws.WaitClosed(h.ctx)
		if status != websocket.StatusNormalClosure || payloadString(msgs) != "4go away" {
			t.Fatalf("close %v after %q", status, payloadString(msgs))
		}
		r := h.session()
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Fatalf("close %q", e.reason)
		}
	})
	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, nil, closeInAccept)
		p, r := h.handshake()
		if payloadString(p.Extra) != "4go away" {
			t.Fatalf("handshake carried %q", payloadString(p.Extra))
		}
		if got := h.poll(p); got != "1" {
			t.Fatalf("poll %q", got)
		}
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Fatalf("close %q", e.reason)
		}
	})
	t.Run("queue full", func(t *testing.T) {
		h := newHarness(t, &Options{MaxBufferedPackets: 1}, func(c *harnessConfig) {
			c.onAccept = func(r *recorder) {
				_ = r.s.Send(TextMessage(nil), TextMessage(nil))
			}
		})
		ws, err := h.c.OpenWebSocket(h.ctx)
		if err == nil {
			defer ws.Close()
		}
		r := h.session()
		if e := r.waitClose(t); e.reason != ReasonTransportError || !errors.Is(e.err, ErrQueueFull) {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
	})
}

// TestOnCloseAfterLastMessage checks, under concurrent closes, that OnClose
// runs once and after every OnMessage has returned.
func TestOnCloseAfterLastMessage(t *testing.T) {
	for i := range 20 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			h := newHarness(t, &Options{PingInterval: time.Millisecond, PingTimeout: time.Millisecond},
				func(c *harnessConfig) {
					c.onAccept = func(r *recorder) {
						r.onMessage = func(*recorder, []byte, bool) { time.Sleep(50 * time.Microsecond) }
					}
				})
			ws, r := h.openWS()
			go func() { _, _, _ = ws.WaitClosed(h.ctx) }()
			go func() {
				for j := 0; ; j++ {
					if ws.Write(h.ctx, eiotest.Text("m")) != nil {
						return
					}
					if j == 50 {
						r.s.Close()
					}
				}
			}()
			r.waitClose(t) // checks once, and nothing after
			time.Sleep(time.Millisecond)
			if r.late.Load() || r.closes.Load() != 1 {
				t.Fatal("handler call after OnClose")
			}
		})
	}
}
