package soak

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/siotest"
)

var (
	soakFor   = flag.Duration("soak", 0, "run TestSoak for this long (skipped when 0)")
	soakConns = flag.Int("soak-clients", 1000, "clients connected at a time during TestSoak")
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// figures are what the soak test measures.
type figures struct {
	connections, dialFailed, messages, acks, broadcastsRead atomic.Int64
	aborted, closed                                         atomic.Int64
}

// TestSoak runs *soakConns clients at a time against one server for
// *soakFor. Each client connects (long-polling, WebSocket, or polling
// upgraded to WebSocket), joins a room, sends a few chat messages with
// acknowledgements (each broadcast to its room), reads what arrived, stays
// a moment, and leaves, politely or by dropping the connection (the
// heartbeat, short here, then cleans up), and a new client takes its
// place. At the end, once every session is gone, the server's goroutines
// and live heap (after GC) must be back to their levels before the load.
func TestSoak(t *testing.T) {
	if *soakFor <= 0 {
		if d, err := time.ParseDuration(os.Getenv("SOCKETIO_SOAK")); err == nil {
			*soakFor = d
		}
	}
	if *soakFor <= 0 {
		t.Skip("soak test: run with go test ./internal/soak -run TestSoak -soak=2m (or SOCKETIO_SOAK=2m)")
	}
	io := core.NewServer(
		core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithPingInterval(time.Second), core.WithPingTimeout(2*time.Second),
	)
	disconnects := map[string]int{}
	var dmu sync.Mutex
	var sockets atomic.Int64
	io.OnConnection(func(s *core.Socket) {
		sockets.Add(1)
		room, _ := s.Handshake().Auth["room"].(string)
		s.Join(core.Room(room))
		core.OnAck(s, "chat", func(s *core.Socket, msg string) (int, error) {
			_ = s.To(core.Room(room)).Emit("chat", msg)
			return len(msg), nil
		})
		s.OnDisconnect(func(r core.DisconnectReason) {
			dmu.Lock()
			disconnects[fmt.Sprint(s.Handshake().Auth["tag"])+" "+string(r)]++
			dmu.Unlock()
		})
	})
	ts := httptest.NewServer(io)

	settle := func() (goroutines int, heap uint64) {
		for range 3 {
			runtime.GC()
			time.Sleep(100 * time.Millisecond) // idle pooled goroutines exit after a fraction of a second
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}
	g0, h0 := settle()
	t.Logf("baseline: %d goroutines, heap %.1f MiB", g0, mib(h0))

	var f figures
	var peakG atomic.Int64
	var peakHeap atomic.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	var wg sync.WaitGroup
	for w := range *soakConns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				runClient(ctx, ts.URL, rng, &f)
			}
		})
	}
	// Sample the peak while the load runs.
	sampler := time.NewTicker(time.Second)
	start := time.Now()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-sampler.C:
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
				peakG.Store(g)
			}
			if ms.HeapAlloc > peakHeap.Load() {
				peakHeap.Store(ms.HeapAlloc)
			}
			if s := time.Since(start).Truncate(time.Second); s%(30*time.Second) == 0 {
				t.Logf("%v: %d connections so far, %d sessions open, %d goroutines, heap %.1f MiB", s,
					f.connections.Load(), io.Engine().SessionCount(), runtime.NumGoroutine(), mib(ms.HeapAlloc))
			}
		}
	}
	sampler.Stop()
	wg.Wait()
	elapsed := time.Since(start)

	// Dropped connections are closed by the heartbeat (3 s here).
	deadline := time.Now().Add(30 * time.Second)
	for io.Engine().SessionCount() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open", io.Engine().SessionCount())
		}
		time.Sleep(100 * time.Millisecond)
	}
	g1, h1 := settle()
	dmu.Lock()
	reasons := fmt.Sprint(disconnects)
	total := 0
	for _, n := range disconnects {
		total += n
	}
	dmu.Unlock()
	if int64(total) != sockets.Load() {
		t.Errorf("%d sockets connected, %d disconnect handlers ran", sockets.Load(), total)
	}
	t.Logf("load: %v, %d clients at a time: %d connections (%d closed politely, %d dropped), %d failed dials, "+
		"%d messages, %d acks, %d broadcasts read; disconnect reasons %s",
		elapsed.Truncate(time.Second), *soakConns, f.connections.Load(), f.closed.Load(), f.aborted.Load(),
		f.dialFailed.Load(), f.messages.Load(), f.acks.Load(), f.broadcastsRead.Load(), reasons)
	t.Logf("peak: %d goroutines, heap %.1f MiB (test clients included)", peakG.Load(), mib(peakHeap.Load()))
	t.Logf("after: %d goroutines (baseline %d), heap %.1f MiB (baseline %.1f MiB)", g1, g0, mib(h1), mib(h0))

	if f.acks.Load() == 0 || f.connections.Load() == 0 {
		t.Fatal("no traffic")
	}
	// The heap may keep what pools and the runtime hold on to; a leak of a
	// few KiB per connection would show as tens of MiB here.
	if h1 > h0+8<<20 {
		t.Errorf("heap grew from %.1f MiB to %.1f MiB", mib(h0), mib(h1))
	}
	ctxS, cancelS := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelS()
	if err := io.Shutdown(ctxS); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	// Goroutines: exactly back to the baseline, checked by goleak once the
	// server is gone (and by TestMain); the count is printed above.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := goleak.Find()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// runClient is one client's life.
func runClient(ctx context.Context, url string, rng *rand.Rand, f *figures) {
	tr := siotest.Transports[rng.IntN(len(siotest.Transports))]
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := siotest.Dial(dctx, url, &siotest.Options{Transport: tr})
	if err != nil {
		if ctx.Err() == nil {
			f.dialFailed.Add(1)
			time.Sleep(100 * time.Millisecond)
		}
		return
	}
	f.connections.Add(1)
	abort := rng.IntN(4) == 0
	defer func() {
		if abort {
			c.Abort() // vanish: the server notices by the heartbeat
			f.aborted.Add(1)
		} else {
			_ = c.Close()
			f.closed.Add(1)
		}
	}()
	room := fmt.Sprintf("room-%d", rng.IntN(50))
	s, err := c.Connect(dctx, "/", map[string]any{"room": room, "tag": fmt.Sprintf("%v-abort=%v", tr, abort)})
	if err != nil {
		return
	}
	for i := range 1 + rng.IntN(5) {
		f.messages.Add(1)
		if _, err := s.EmitWithAck(dctx, "chat", fmt.Sprintf("message %d", i)); err != nil {
			return
		}
		f.acks.Add(1)
	}
	// Read what the room said, for a moment.
	wait, stop := context.WithTimeout(ctx, time.Duration(rng.IntN(2000))*time.Millisecond)
	defer stop()
	for {
		if _, err := s.NextEvent(wait); err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				return
			}
			break
		}
		f.broadcastsRead.Add(1)
	}
}
