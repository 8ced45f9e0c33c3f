package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/e347a4c2/socketio/internal/siotest"
)

// TestShutdownUnderLoad runs Shutdown while clients on every transport
// send numbered messages (with acknowledgements) and the server
// broadcasts. Shutdown returns without error before its deadline; every
// socket is disconnected with "server shutting down" after its last event
// handler ran; every message the server took in was handled, in order,
// with no gap; every client sees its connection end the way the protocol
// prescribes (a close packet for long-polling, close status 1001 for
// WebSocket); no goroutine outlives the server.
func TestShutdownUnderLoad(t *testing.T) {
	clients := 150
	if raceEnabled || testing.Short() {
		clients = 60
	}
	baseline := goleak.IgnoreCurrent()
	start := time.Now()
	io := NewServer(WithLogger(testLogger()), WithMaxBufferedPackets(1<<16))
	ts := newHTTPServer(t, io)

	type record struct {
		mu       sync.Mutex
		handled  int // messages handled, numbered 0..handled-1
		atClose  int // handled when the disconnect handler ran
		reason   DisconnectReason
		gap      error
		disconns int
	}
	var (
		mu      sync.Mutex
		records = map[string]*record{} // by the client's "who" auth value
	)
	io.OnConnection(func(s *Socket) {
		who, _ := s.Handshake().Auth["who"].(string)
		r := &record{}
		mu.Lock()
		records[who] = r
		mu.Unlock()
		OnAck(s, "msg", func(_ *Socket, n int) (int, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if n != r.handled && r.gap == nil {
				r.gap = fmt.Errorf("message %d handled after %d messages", n, r.handled)
			}
			r.handled++
			if n%8 == 0 {
				_ = io.Except(Room(s.ID())).Volatile().Emit("echo", n) // broadcasts flow too
			}
			return n, nil
		})
		s.OnDisconnect(func(reason DisconnectReason) {
			r.mu.Lock()
			r.reason, r.atClose = reason, r.handled
			r.disconns++
			r.mu.Unlock()
		})
	})

	type client struct {
		c     *siotest.Conn
		acked atomic.Int64
		done  chan struct{}
	}
	ctx := ctxT(t)
	all := make([]*client, clients)
	startTraffic := make(chan struct{})
	for i := range all {
		tr := siotest.Transports[i%len(siotest.Transports)]
		c, err := siotest.Dial(ctx, ts.URL, &siotest.Options{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Abort)
		s := join(t, c, "/", map[string]any{"who": fmt.Sprint(i)})
		cl := &client{c: c, done: make(chan struct{})}
		all[i] = cl
		go func() {
			defer close(cl.done)
			<-startTraffic
			for n := 0; ; n++ {
				res, err := s.EmitWithAck(ctx, "msg", n)
				if err != nil {
					return // the server went away
				}
				if len(res) != 1 || res[0] != float64(n) {
					t.Errorf("client %d: ack %v for message %d", i, res, n)
					return
				}
				cl.acked.Add(1)
			}
		}()
	}
	close(startTraffic)
	// Let traffic flow: every client has had some messages acknowledged.
	eventually(t, "traffic on every client", func() bool {
		for _, cl := range all {
			if cl.acked.Load() < 3 {
				return false
			}
		}
		return true
	})

	t.Logf("%v: traffic flowing; shutting down", time.Since(start))
	sctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := io.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if sctx.Err() != nil {
		t.Fatal("Shutdown returned after its deadline")
	}

	t.Logf("%v: Shutdown returned", time.Since(start))
	for i, cl := range all {
		err := cl.c.WaitClosed(ctx)
		<-cl.done
		switch tr := cl.c.Transport(); {
		case tr == "polling" && !errors.Is(err, siotest.ErrServerClose) && !isUnknownSID(err):
			// A POST that raced with the close packet finds the session
			// gone: the reference answers it the same way.
			t.Errorf("client %d (polling): ended with %v, want a close packet", i, err)
		case tr == "websocket" && websocket.CloseStatus(err) != websocket.StatusGoingAway && !errors.Is(err, net.ErrClosed):
			// (net.ErrClosed: the client's writer found the connection
			// already closed by the close handshake its reader answered.)
			t.Errorf("client %d (websocket): ended with %v, want status 1001", i, err)
		}
		mu.Lock()
		r := records[fmt.Sprint(i)]
		mu.Unlock()
		r.mu.Lock()
		if r.reason != ReasonServerShutdown || r.disconns != 1 {
			t.Errorf("client %d: disconnected %d times, reason %q", i, r.disconns, r.reason)
		}
		if r.gap != nil {
			t.Errorf("client %d: %v", i, r.gap)
		}
		if r.atClose != r.handled {
			t.Errorf("client %d: %d messages handled after the disconnect handler", i, r.handled-r.atClose)
		}
		if acked := int(cl.acked.Load()); acked > r.handled {
			t.Errorf("client %d: %d messages acknowledged, %d handled", i, acked, r.handled)
		}
		r.mu.Unlock()
	}
	if n := io.Engine().SessionCount(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	for _, cl := range all {
		cl.c.Abort()
	}
	ts.Close()
	// Idle pooled goroutines and closed connections' readers may take a
	// moment to go: VerifyNone retries.
	verifyNoLeak(t, baseline)
	t.Logf("%v: no goroutine left", time.Since(start))
}

func isUnknownSID(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Session ID unknown")
}
