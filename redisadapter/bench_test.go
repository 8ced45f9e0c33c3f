package redisadapter_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/nodetest"
	"github.com/e347a4c2/socketio/internal/redistest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// BenchmarkCrossNode measures broadcasts from one node of a cluster to a
// client of another node, for a pair of Go servers (this adapter) and a
// pair of Node servers (socket.io 4.8 + @socket.io/redis-adapter 8.3, two
// processes running test/node/redis/server.mjs), on the same redis-server
// in the same run, driven by the same Go client:
//
//   - latency: a client of node A emits "fire"; A broadcasts a tick to the
//     room "bench"; the time until the client of node B in that room has
//     it, one tick at a time (ns/op is the mean; p50 and p99 reported);
//
//   - throughput: A broadcasts b.N ticks as fast as it can ("burst"); the
//     time until B's client has the last one (msgs/s reported).
//
//     go test -run '^$' -bench CrossNode -benchtime 3000x ./redisadapter/
//
// The Go servers run in the benchmark's process (with the client), the
// Node servers in two node processes.
func BenchmarkCrossNode(b *testing.B) {
	rs := redistest.Start(b)
	pairs := []struct {
		name  string
		start func(b *testing.B) (urlA, urlB string)
	}{
		{"go-go", func(b *testing.B) (string, string) {
			// A burst outruns the client: let the queue grow, as Node's
			// (unbounded) WebSocket buffer does.
			setup := nodeOptions{setup: installBench, core: []core.Option{core.WithMaxBufferedPackets(1 << 22)}}
			na, nb := newNode(b, "a", rs.Addr(), setup), newNode(b, "b", rs.Addr(), setup)
			waitServers(b, 2, na, nb)
			return na.ts.URL, nb.ts.URL
		}},
		{"node-node", func(b *testing.B) (string, string) {
			nodetest.Require(b)
			return startNodeServer(b, rs, "a"), startNodeServer(b, rs, "b")
		}},
	}
	for _, pair := range pairs {
		b.Run(pair.name, func(b *testing.B) {
			urlA, urlB := pair.start(b)
			sender := benchClient(b, urlA)
			receiver := benchClient(b, urlB)
			call(b, receiver, "join", "bench")
			// Both nodes count two servers, and B's client gets A's
			// broadcasts.
			waitTicks(b, sender, receiver)

			b.Run("latency", func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := range b.N {
					start := time.Now()
					if err := sender.Emit("fire", i); err != nil {
						b.Fatal(err)
					}
					expectTick(b, receiver, i)
					lat = append(lat, time.Since(start))
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
			b.Run("throughput", func(b *testing.B) {
				b.ResetTimer()
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 5*wait)
				defer cancel()
				if _, err := sender.EmitWithAck(ctx, "burst", b.N); err != nil {
					b.Fatal(err)
				}
				for i := range b.N {
					expectTick(b, receiver, i)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			})
		})
	}
}

// tickPayload is what test/node/redis/server.mjs sends with each tick.
var tickPayload = map[string]any{"text": "hello from the other node", "n": 42, "list": []any{1, 2, 3}}

// installBench gives a Go server the benchmark's events, as server.mjs.
func installBench(io *core.Server) {
	io.OnConnection(func(s *core.Socket) {
		core.On(s, "fire", func(s *core.Socket, seq int) {
			_ = io.To("bench").Emit("tick", seq, tickPayload)
		})
		core.OnAck(s, "burst", func(s *core.Socket, n int) (int, error) {
			for i := range n {
				if err := io.To("bench").Emit("tick", i, tickPayload); err != nil {
					return 0, err
				}
			}
			return n, nil
		})
	})
}

func benchClient(b *testing.B, url string) *siotest.Socket {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, err := siotest.Dial(ctx, url, &siotest.Options{Transport: siotest.WebSocket})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(conn.Abort)
	s, err := conn.Connect(ctx, "/", nil)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// waitTicks fires until a tick crosses, then drains.
func waitTicks(b *testing.B, sender, receiver *siotest.Socket) {
	b.Helper()
	deadline := time.Now().Add(wait)
	for {
		if err := sender.Emit("fire", -1); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := receiver.NextEvent(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("no tick crosses the cluster")
		}
	}
	time.Sleep(200 * time.Millisecond)
	for receiver.Pending() > 0 {
		_, _ = receiver.NextEvent(context.Background())
	}
}

func expectTick(b *testing.B, s *siotest.Socket, seq int) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	e, err := s.NextEvent(ctx)
	if err != nil {
		b.Fatalf("tick %d: %v", seq, err)
	}
	if e.Name != "tick" || len(e.Args) != 2 {
		b.Fatalf("tick %d: got %q %v", seq, e.Name, e.Args)
	}
	if got, ok := e.Args[0].(float64); !ok || int(got) != seq {
		b.Fatalf("tick %d: got %v", seq, e.Args[0])
	}
}

// startNodeServer runs test/node/redis/server.mjs on a free port until
// the benchmark ends, and returns its URL.
func startNodeServer(b *testing.B, rs *redistest.Server, name string) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	var wg sync.WaitGroup
	wg.Go(func() {
		nodetest.Run(b, context.Background(), "redis/server.mjs", map[string]string{
			"PORT": strconv.Itoa(port), "REDIS_URL": rs.URL(), "NAME": name, "QUIT_ON_REQUEST": "1",
		})
	})
	b.Cleanup(func() {
		// Ask the process to quit, then wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if conn, err := siotest.Dial(ctx, url, &siotest.Options{Transport: siotest.WebSocket}); err == nil {
			if s, err := conn.Connect(ctx, "/", nil); err == nil {
				_, _ = s.EmitWithAck(ctx, "quit")
			}
			conn.Abort()
		}
		wg.Wait()
	})
	deadline := time.Now().Add(wait)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			_ = c.Close()
			return url
		}
		if time.Now().After(deadline) {
			b.Fatalf("node server %s does not listen", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
