package engine

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

func TestPollingMessages(t *testing.T) {
	h := newHarness(t, nil)
	p, r := h.handshake()

	// Text and binary in one POST: OnMessage gets each with its kind, and
	// one GET returns both echoes.
	h.send(p, eiotest.Text("hello €"), eiotest.Bin([]byte{0, 1, 2, 0x1e, 0xff}))
	if e := r.nextMessage(t); string(e.data) != "hello €" || e.binary {
		t.Fatalf("first message %q binary=%v", e.data, e.binary)
	}
	if e := r.nextMessage(t); !bytes.Equal(e.data, []byte{0, 1, 2, 0x1e, 0xff}) || !e.binary {
		t.Fatalf("second message %v binary=%v", e.data, e.binary)
	}
	if got, want := h.poll(p), "4hello €\x1ebAAECHv8="; got != want {
		t.Fatalf("poll %q, want %q", got, want)
	}

	// A pending GET is answered as soon as a message is sent.
	ch := h.pollAsync(p, r.s)
	if err := r.s.Send(TextMessage([]byte("late"))); err != nil {
		t.Fatal(err)
	}
	if got := h.result(ch); got != "4late" {
		t.Fatalf("pending poll answered %q", got)
	}

	// Empty messages are messages too.
	h.send(p, eiotest.Text(""), eiotest.Bin(nil))
	if e := r.nextMessage(t); len(e.data) != 0 || e.binary {
		t.Fatalf("empty text message %q", e.data)
	}
	if e := r.nextMessage(t); len(e.data) != 0 || !e.binary {
		t.Fatalf("empty binary message %q", e.data)
	}
	if got := h.poll(p); got != "4\x1eb" {
		t.Fatalf("poll %q", got)
	}
}

func TestPollingBatching(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
	p, r := h.handshake()
	// Packets sent while no GET is pending wait, and the next GET takes
	// them all, in order.
	for i := range 5 {
		if err := r.s.Send(TextMessage([]byte("m" + strconv.Itoa(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.s.Send(BinaryMessage([]byte{9}), TextMessage([]byte("last"))); err != nil {
		t.Fatal(err)
	}
	if got, want := h.poll(p), "4m0\x1e4m1\x1e4m2\x1e4m3\x1e4m4\x1ebCQ==\x1e4last"; got != want {
		t.Fatalf("poll %q, want %q", got, want)
	}
	// The official suite's case: a three-packet POST echoed in one GET.
	h2 := newHarness(t, nil)
	p2, _ := h2.handshake()
	h2.send(p2, eiotest.Text("test1"), eiotest.Text("test2"), eiotest.Text("test3"))
	if got, want := h2.poll(p2), "4test1\x1e4test2\x1e4test3"; got != want {
		t.Fatalf("poll %q, want %q", got, want)
	}
}

func TestWebSocketMessages(t *testing.T) {
	h := newHarness(t, nil)
	ws, r := h.openWS()
	for _, p := range []eiotest.Packet{
		eiotest.Text("hello"),
		eiotest.Text(""),
		eiotest.Text("with \x1e separator"),
		eiotest.Bin([]byte{1, 2, 3, 4}),
		eiotest.Bin(nil),
	} {
		if err := ws.Write(h.ctx, p); err != nil {
			t.Fatal(err)
		}
		e := r.nextMessage(t)
		if !bytes.Equal(e.data, p.Data) || e.binary != p.Binary {
			t.Fatalf("OnMessage(%q, %v), want %q", e.data, e.binary, p.String())
		}
		got, err := ws.Read(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != p.String() {
			t.Fatalf("echo %q, want %q", got.String(), p.String())
		}
	}
	// Noop, open and upgrade packets mean nothing on an established
	// WebSocket.
	for _, b := range []string{"6", "0", "5"} {
		if err := ws.Conn.Write(h.ctx, websocket.MessageText, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.Write(h.ctx, eiotest.Text("still open")); err != nil {
		t.Fatal(err)
	}
	if e := r.nextMessage(t); string(e.data) != "still open" {
		t.Fatalf("message %q", e.data)
	}
}

func TestUpgrade(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
	p, r := h.handshake()

	// The client pauses polling with a GET pending; the probe releases it
	// with a noop.
	ch := h.pollAsync(p, r.s)
	ws, err := p.Probe(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if got := h.result(ch); got != "6" {
		t.Fatalf("pending poll answered %q, want a noop", got)
	}
	// Packets sent while the upgrade is under way wait for the new
	// transport, then come in order.
	for i := range 3 {
		if err := r.s.Send(TextMessage([]byte("queued" + strconv.Itoa(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.s.Send(BinaryMessage([]byte{7})); err != nil {
		t.Fatal(err)
	}
	if r.s.Transport() != Polling {
		t.Fatalf("transport %s before the upgrade packet", r.s.Transport())
	}
	if err := ws.Write(h.ctx, eiotest.Control(eiotest.Upgrade, "")); err != nil {
		t.Fatal(err)
	}
	if e := r.next(t); e.kind != "upgrade" || e.transport != WebSocket {
		t.Fatalf("event %+v, want OnUpgrade(websocket)", e)
	}
	for _, want := range []string{"4queued0", "4queued1", "4queued2", "bBw=="} {
		got, err := ws.Read(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Fatalf("after upgrade got %q, want %q", got.String(), want)
		}
	}
	if r.s.Transport() != WebSocket {
		t.Fatalf("transport %s after the upgrade", r.s.Transport())
	}
	// Messages now flow over the WebSocket both ways.
	if err := ws.Write(h.ctx, eiotest.Text("over ws")); err != nil {
		t.Fatal(err)
	}
	if e := r.nextMessage(t); string(e.data) != "over ws" {
		t.Fatalf("message %q", e.data)
	}
	if err := r.s.Send(TextMessage([]byte("to ws"))); err != nil {
		t.Fatal(err)
	}
	if got, err := ws.Read(h.ctx); err != nil || got.String() != "4to ws" {
		t.Fatalf("read %q %v", got.String(), err)
	}
	// Polling requests with the sid are refused, and the session stays.
	res, err := p.PollRaw(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusBadRequest, int(CodeBadRequest))
	res, err = p.PostRaw(h.ctx, nil, bytes.NewReader([]byte("4x")))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusBadRequest, int(CodeBadRequest))
	// A second WebSocket for the session is closed by the server.
	ws2, _, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket&sid="+p.SID(), nil)
	if err == nil {
		if _, err := ws2.Read(h.ctx); err == nil {
			t.Fatal("second WebSocket not closed")
		}
		ws2.Close()
	}
	if h.srv.SessionCount() != 1 || r.s.Transport() != WebSocket {
		t.Fatal("session hurt by the refused requests")
	}
	if err := ws.Write(h.ctx, eiotest.Text("after")); err != nil {
		t.Fatal(err)
	}
	if e := r.nextMessage(t); string(e.data) != "after" {
		t.Fatalf("message %q", e.data)
	}
}

// TestUpgradeWithoutPendingPoll covers a client that paused polling with no
// GET pending: the probe has nothing to release.
func TestUpgradeWithoutPendingPoll(t *testing.T) {
	h := newHarness(t, nil)
	p, r := h.handshake()
	if err := r.s.Send(TextMessage([]byte("before"))); err != nil {
		t.Fatal(err)
	}
	ws := h.upgrade(p)
	if e := r.next(t); e.kind != "upgrade" {
		t.Fatalf("event %+v", e)
	}
	if got, err := ws.Read(h.ctx); err != nil || got.String() != "4before" {
		t.Fatalf("read %q %v", got.String(), err)
	}
	if err := ws.Write(h.ctx, eiotest.Bin([]byte("echo"))); err != nil {
		t.Fatal(err)
	}
	if got, err := ws.ReadMessage(h.ctx); err != nil || got.String() != eiotest.Bin([]byte("echo")).String() {
		t.Fatalf("read %q %v", got.String(), err)
	}
}

func TestUpgradeTimeout(t *testing.T) {
	h := newHarness(t, &Options{UpgradeTimeout: 100 * time.Millisecond})
	p, r := h.handshake()
	// The client never sends the upgrade packet: the server drops the
	// WebSocket once the upgrade timeout passes (on a slow machine, maybe
	// even before the probe's answer reached the client)...
	if ws, err := p.Probe(h.ctx); err == nil {
		defer ws.Close()
		if _, _, err := ws.WaitClosed(h.ctx); err == nil {
			t.Fatal("probe WebSocket not closed")
		}
	} else {
		t.Logf("probe failed: %v", err)
		waitFor(t, func() bool {
			r.s.mu.Lock()
			defer r.s.mu.Unlock()
			return r.s.probeConn == nil
		})
	}
	// ...and the session goes on over polling.
	if r.s.Transport() != Polling || h.srv.SessionCount() != 1 {
		t.Fatalf("transport %s, %d sessions", r.s.Transport(), h.srv.SessionCount())
	}
	ch := h.pollAsync(p, r.s)
	h.send(p, eiotest.Text("still polling"))
	if got := h.result(ch); got != "4still polling" {
		t.Fatalf("poll %q", got)
	}
	// A new upgrade may follow.
	ws2 := h.upgrade(p)
	if e := r.next(t); e.kind != "message" {
		t.Fatalf("event %+v", e)
	}
	if e := r.next(t); e.kind != "upgrade" {
		t.Fatalf("event %+v", e)
	}
	if err := ws2.Write(h.ctx, eiotest.Text("ws")); err != nil {
		t.Fatal(err)
	}
	if got, err := ws2.ReadMessage(h.ctx); err != nil || got.String() != "4ws" {
		t.Fatalf("read %q %v", got.String(), err)
	}
}

// TestMessageOrdering sends many messages as fast as the client can and
// checks that OnMessage sees them in order, and the echoes come back in
// order, over each transport.
func TestMessageOrdering(t *testing.T) {
	const n = 2000
	msg := func(i int) string { return fmt.Sprintf("m%05d", i) }

	t.Run("websocket", func(t *testing.T) {
		// The queue must hold every echo: the client reads them only as
		// fast as the scheduler lets it.
		h := newHarness(t, &Options{MaxBufferedPackets: 2 * n}, manyEvents(n))
		ws, r := h.openWS()
		errc := make(chan error, 1)
		go func() {
			for i := range n {
				p := eiotest.Text(msg(i))
				if i%3 == 0 {
					p = eiotest.Bin([]byte(msg(i)))
				}
				if err := ws.Write(h.ctx, p); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for i := range n {
			got, err := ws.ReadMessage(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Data) != msg(i) || got.Binary != (i%3 == 0) {
				t.Fatalf("echo %d is %q", i, got.String())
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if e := r.nextMessage(t); string(e.data) != msg(i) {
				t.Fatalf("OnMessage %d got %q", i, e.data)
			}
		}
	})

	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, &Options{MaxBufferedPackets: 2 * n}, manyEvents(n))
		p, r := h.handshake()
		for i := 0; i < n; i += 100 {
			var batch []eiotest.Packet
			for j := i; j < i+100; j++ {
				batch = append(batch, eiotest.Text(msg(j)))
			}
			h.send(p, batch...)
		}
		got, err := p.PollMessages(h.ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if string(got[i].Data) != msg(i) {
				t.Fatalf("echo %d is %q", i, got[i].String())
			}
			if e := r.nextMessage(t); string(e.data) != msg(i) {
				t.Fatalf("OnMessage %d got %q", i, e.data)
			}
		}
	})
}

// manyEvents lets recorders hold n events that the test reads late.
func manyEvents(n int) func(*harnessConfig) {
	return func(c *harnessConfig) { c.events = n + 16 }
}

// TestMessageDataOwned checks that OnMessage owns its data: a handler that
// appends to one message does not corrupt the next message of the same
// POST.
func TestMessageDataOwned(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) {
		c.noEcho = true
		c.onAccept = func(r *recorder) {
			r.onMessage = func(r *recorder, data []byte, binary bool) {
				data = append(data, "XXXXXXXX"...)
				_ = r.s.Send(TextMessage(data))
			}
		}
	})
	p, r := h.handshake()
	h.send(p, eiotest.Text("ab"), eiotest.Text("cd"), eiotest.Text("ef"))
	for _, want := range []string{"ab", "cd", "ef"} {
		if e := r.nextMessage(t); string(e.data[:2]) != want {
			t.Fatalf("OnMessage got %q, want %q", e.data, want)
		}
	}
	if got, want := h.poll(p), "4abXXXXXXXX\x1e4cdXXXXXXXX\x1e4efXXXXXXXX"; got != want {
		t.Fatalf("poll %q, want %q", got, want)
	}
}

// TestConcurrentSend sends from many goroutines at once, one shared frame
// to several sessions among them (as a broadcast does): every frame
// arrives, and each goroutine's frames in the order it sent them.
func TestConcurrentSend(t *testing.T) {
	const senders, each = 8, 100
	h := newHarness(t, &Options{MaxBufferedPackets: 4 * senders * each}, func(c *harnessConfig) { c.noEcho = true })
	var ws [3]*eiotest.WS
	var sessions [4]*Session
	for i := range ws {
		var r *recorder
		ws[i], r = h.openWS()
		sessions[i] = r.s
	}
	p, pr := h.handshake()
	sessions[3] = pr.s
	shared := TextMessage([]byte("shared"))

	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				for _, s := range sessions {
					if err := s.Send(TextMessage([]byte(fmt.Sprintf("%d:%d", g, i))), shared); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	check := func(name string, msgs []eiotest.Packet) {
		next := make([]int, senders)
		sharedCount := 0
		for _, m := range msgs {
			if string(m.Data) == "shared" {
				sharedCount++
				continue
			}
			var g, i int
			if _, err := fmt.Sscanf(string(m.Data), "%d:%d", &g, &i); err != nil {
				t.Fatalf("%s: message %q", name, m.Data)
			}
			if i != next[g] {
				t.Fatalf("%s: sender %d's message %d came after %d", name, g, i, next[g]-1)
			}
			next[g]++
		}
		if sharedCount != senders*each {
			t.Fatalf("%s: %d shared frames", name, sharedCount)
		}
	}
	for i, c := range ws {
		var msgs []eiotest.Packet
		for range 2 * senders * each {
			m, err := c.ReadMessage(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		check(fmt.Sprintf("websocket %d", i), msgs)
	}
	msgs, err := p.PollMessages(h.ctx, 2*senders*each)
	if err != nil {
		t.Fatal(err)
	}
	check("polling", msgs)
	wg.Wait()
	if string(shared.Data) != "4shared" {
		t.Fatalf("shared frame modified: %q", shared.Data)
	}
}
