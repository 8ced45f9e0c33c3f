package engine

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// wsModes runs f over plain TCP, where data frames are framed by the engine
// and written without blocking, and over TLS, where a writer goroutine
// writes them (no file descriptor to write to without blocking).
func wsModes(t *testing.T, f func(t *testing.T, h *harness)) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			f(t, newHarness(t, nil, func(c *harnessConfig) { c.tls = tls }))
		})
	}
}

// TestWebSocketFrameLengths sends messages whose lengths need each of the
// WebSocket length encodings (7 bits, 16 bits, 64 bits) both ways, and
// messages larger than the reader's pooled buffer.
func TestWebSocketFrameLengths(t *testing.T) {
	wsModes(t, func(t *testing.T, h *harness) {
		ws, r := h.openWS()
		if fast, tls := r.s.ws.raw != nil, h.cfg.tls; fast == tls && canTryWrite {
			t.Fatalf("non-blocking descriptor I/O %v over TLS %v", fast, tls)
		}
		for _, n := range []int{0, 1, 124, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 65537, 300_000} {
			for _, binary := range []bool{false, true} {
				data := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
				p := eiotest.Text(string(data))
				if binary {
					p = eiotest.Bin(data)
				}
				if err := ws.Write(h.ctx, p); err != nil {
					t.Fatal(err)
				}
				e := r.nextMessage(t)
				if !bytes.Equal(e.data, data) || e.binary != binary {
					t.Fatalf("%d bytes (binary %v): server got %d bytes (binary %v)", n, binary, len(e.data), e.binary)
				}
				got, err := ws.Read(h.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got.String() != p.String() {
					t.Fatalf("%d bytes (binary %v): echo of %d bytes differs", n, binary, len(got.Data))
				}
			}
		}
	})
}

// TestWebSocketPipelined writes many messages without waiting: several
// reach the server in one read, and are handled in order.
func TestWebSocketPipelined(t *testing.T) {
	wsModes(t, func(t *testing.T, h *harness) {
		ws, r := h.openWS()
		const n = 300
		done := make(chan error, 1)
		go func() {
			for i := range n {
				if err := ws.Write(h.ctx, eiotest.Text("m"+strconv.Itoa(i))); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for i := range n {
			if e := r.nextMessage(t); string(e.data) != "m"+strconv.Itoa(i) {
				t.Fatalf("message %d: %q", i, e.data)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for i := range n {
			p, err := ws.Read(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(p.Data) != "m"+strconv.Itoa(i) {
				t.Fatalf("echo %d: %q", i, p.Data)
			}
		}
	})
}

// TestWebSocketSlowReader sends more than the socket buffers hold to a
// client that is not reading: the writes that cannot complete at once are
// finished by a writer goroutine, and the client gets everything, in
// order, once it reads. Send and Queue both return without waiting.
func TestWebSocketSlowReader(t *testing.T) {
	wsModes(t, func(t *testing.T, h *harness) {
		ws, r := h.openWS()
		const n, size = 200, 64 << 10
		for i := range n {
			data := append([]byte(strconv.Itoa(i)+":"), bytes.Repeat([]byte{'x'}, size)...)
			send := r.s.Send
			if i%2 == 1 {
				send = r.s.Queue
			}
			if err := send(TextMessage(data)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			p, err := ws.Read(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if prefix := strconv.Itoa(i) + ":"; !bytes.HasPrefix(p.Data, []byte(prefix)) || len(p.Data) != len(prefix)+size {
				t.Fatalf("message %d: %.20q... (%d bytes)", i, p.Data, len(p.Data))
			}
		}
		// Reading goes on as usual.
		if err := ws.Write(h.ctx, eiotest.Text("after")); err != nil {
			t.Fatal(err)
		}
		if e := r.nextMessage(t); string(e.data) != "after" {
			t.Fatalf("got %q", e.data)
		}
	})
}

// TestQueueManySessions queues frames on many sessions at once, as a
// broadcast does, from several goroutines: every client gets every frame,
// in the order each sender queued them.
func TestQueueManySessions(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
	const sessions, senders, frames = 150, 3, 40
	conns := make([]*eiotest.WS, sessions)
	recs := make([]*recorder, sessions)
	for i := range conns {
		conns[i], recs[i] = h.openWS()
	}
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range frames {
				f := TextMessage([]byte(fmt.Sprintf("%d-%d", g, i)))
				for _, r := range recs {
					if err := r.s.Queue(f); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for c, ws := range conns {
		next := make([]int, senders)
		for range senders * frames {
			p, err := ws.Read(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			var g, i int
			if _, err := fmt.Sscanf(string(p.Data), "%d-%d", &g, &i); err != nil || g >= senders || i != next[g] {
				t.Fatalf("client %d: got %q, want %d-%d", c, p.Data, g, next[g])
			}
			next[g]++
		}
	}
}

// TestCork holds what is sent between Cork and Uncork, then writes it.
func TestCork(t *testing.T) {
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
		ws, r := h.openWS()
		r.s.Cork()
		r.s.Cork() // nests
		if err := r.s.Send(TextMessage([]byte("held"))); err != nil {
			t.Fatal(err)
		}
		r.s.Uncork()
		r.s.mu.Lock()
		queued, writing := len(r.s.queue), r.s.writing
		r.s.mu.Unlock()
		if queued != 1 || writing {
			t.Fatalf("while corked: %d frames queued, writing %v; want 1 queued, no writer", queued, writing)
		}
		r.s.Uncork()
		if p, err := ws.Read(h.ctx); err != nil || string(p.Data) != "held" {
			t.Fatalf("after Uncork: %q, %v", p.Data, err)
		}
	})
	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
		p, r := h.handshake()
		r.s.Cork()
		if err := r.s.Send(TextMessage([]byte("held"))); err != nil {
			t.Fatal(err)
		}
		r.s.mu.Lock()
		frames, _, ready := r.s.pollReadyLocked(false)
		r.s.mu.Unlock()
		if ready {
			t.Fatalf("a poll would be answered while corked: %v", frames)
		}
		ch := h.pollAsync(p, r.s) // waits for the poll to be pending
		r.s.Uncork()
		if got := h.result(ch); got != "4held" {
			t.Fatalf("poll %q", got)
		}
	})
}

// TestGracefulCloseWhileReading closes sessions gracefully while their
// clients keep sending: the close handshake and the reader do not step on
// each other (the race detector watches), and every session ends.
func TestGracefulCloseWhileReading(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range 20 {
		ws, r := h.openWS()
		wg.Go(func() {
			for i := 0; ; i++ {
				if ws.Write(ctx, eiotest.Text(strconv.Itoa(i))) != nil {
					return
				}
				if i == 10 {
					r.s.Close()
				}
			}
		})
		go func() {
			for {
				if _, _, err := ws.Conn.Read(ctx); err != nil {
					return
				}
			}
		}()
		if e := r.waitClose(t); e.reason != ReasonForcedClose {
			t.Errorf("close reason %q", e.reason)
		}
	}
	cancel()
	wg.Wait()
}

// TestWheel checks that the heartbeat wheel fires each session once, never
// before its deadline, and not at all once cancelled.
func TestWheel(t *testing.T) {
	fired := make(chan *Session, 100)
	var mu sync.Mutex
	deadlines := map[*Session]time.Time{}
	w := newWheel(2*time.Millisecond, 50*time.Millisecond, func(due []*Session) {
		now := time.Now()
		for _, s := range due {
			mu.Lock()
			d := deadlines[s]
			mu.Unlock()
			if now.Before(d) {
				t.Errorf("fired %v early", d.Sub(now))
			}
			fired <- s
		}
	})
	sessions := make([]*Session, 30)
	start := time.Now()
	for i := range sessions {
		sessions[i] = &Session{}
		d := start.Add(time.Duration(i%10) * 4 * time.Millisecond)
		mu.Lock()
		deadlines[sessions[i]] = d
		mu.Unlock()
		w.schedule(sessions[i], d)
	}
	// Move some, cancel others.
	for i := range 10 {
		d := start.Add(45 * time.Millisecond)
		mu.Lock()
		deadlines[sessions[i]] = d
		mu.Unlock()
		w.schedule(sessions[i], d)
	}
	for i := 10; i < 15; i++ {
		w.cancel(sessions[i])
	}
	got := map[*Session]int{}
	for range 25 {
		select {
		case s := <-fired:
			got[s]++
		case <-time.After(waitLimit):
			t.Fatalf("%d of 25 sessions fired", len(got))
		}
	}
	for i, s := range sessions {
		if want := 1; i >= 10 && i < 15 {
			want = 0
			if got[s] != want {
				t.Errorf("cancelled session %d fired", i)
			}
		} else if got[s] != want {
			t.Errorf("session %d fired %d times", i, got[s])
		}
	}
	w.mu.Lock()
	n := w.count
	w.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions left on the wheel", n)
	}
}

// TestCompressionWrites checks the path where coder/websocket frames and
// compresses the data frames (permessage-deflate negotiated).
func TestCompressionWrites(t *testing.T) {
	h := newHarness(t, &Options{PerMessageDeflate: &PerMessageDeflate{Threshold: 16}})
	ws, _, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket",
		&websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, err := ws.Read(h.ctx); err != nil { // open packet
		t.Fatal(err)
	}
	r := h.session()
	if r.s.ws.framed {
		t.Fatal("data frames framed by the engine although compression was negotiated")
	}
	msg := bytes.Repeat([]byte("compress me "), 100)
	for range 3 {
		if err := ws.Write(h.ctx, eiotest.Text(string(msg))); err != nil {
			t.Fatal(err)
		}
		p, err := ws.Read(h.ctx)
		if err != nil || !bytes.Equal(p.Data, msg) {
			t.Fatalf("echo %d bytes, %v", len(p.Data), err)
		}
	}
}
