package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The benchmarks measure the core on real Engine.IO long-polling sessions
// driven in-process through ServeHTTP: no network, no client reading.
// Sending queues frames on the sessions; every drainEvery operations the
// queues are emptied by polls, with the timer stopped, so that each session
// reuses its queue's backing array (as it does when a client keeps up) and
// what is measured is the core and the enqueueing only.

// drainEvery keeps session queues within the array a session reuses: at
// most 16 frames (2 per binary event). The engine keeps a drained queue's
// array only up to 32 frames, and append grows a 16-frame array to 35.
const drainEvery = 8

// benchServer is a server with n sockets connected by long-polling.
type benchServer struct {
	io      *Server
	sids    []string
	sockets []*Socket
}

func newBenchServer(b *testing.B, n int, opts ...Option) *benchServer {
	b.Helper()
	io := NewServer(append([]Option{
		WithLogger(testLogger()),
		WithPingInterval(time.Hour), WithPingTimeout(time.Hour), WithConnectTimeout(time.Hour),
		WithHTTPCompression(false, 0),
	}, opts...)...)
	bs := &benchServer{io: io}
	for range n {
		w := httptest.NewRecorder()
		io.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
		var open struct {
			SID string `json:"sid"`
		}
		body := w.Body.Bytes()
		if len(body) < 2 || json.Unmarshal(body[1:], &open) != nil {
			b.Fatalf("handshake answered %d %q", w.Code, body)
		}
		bs.sids = append(bs.sids, open.SID)
		bs.post(b, open.SID, "40")
	}
	deadline := time.Now().Add(time.Minute)
	for len(io.Sockets()) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d sockets connected", len(io.Sockets()), n)
		}
		time.Sleep(time.Millisecond)
	}
	bs.drain(bs.sids) // the CONNECT answers
	// Order the sockets like the sessions: drain needs to know which
	// sessions have something queued.
	index := make(map[string]int, n)
	for i, sid := range bs.sids {
		index[sid] = i
	}
	bs.sockets = make([]*Socket, n)
	for _, s := range io.Sockets() {
		bs.sockets[index[s.client.session.ID()]] = s
	}
	b.Cleanup(func() {
		for _, sid := range bs.sids {
			bs.post(b, sid, "1") // close packet: the session ends at once
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := io.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
	})
	return bs
}

func (bs *benchServer) post(b *testing.B, sid, body string) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader(body))
	r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	bs.io.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("POST answered %d %q", w.Code, w.Body)
	}
}

// drain polls each session once; each must have something queued, or the
// poll would wait.
func (bs *benchServer) drain(sids []string) {
	var w discardWriter
	for _, sid := range sids {
		w.h = http.Header{}
		bs.io.ServeHTTP(&w, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling&sid="+sid, nil))
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// loop runs op in a b.Loop, draining sids every drainEvery operations.
func (bs *benchServer) loop(b *testing.B, sids []string, op func() error) {
	b.ReportAllocs()
	// Warm up: grow the queues once, so that the loop measures the steady
	// state.
	for range drainEvery {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	bs.drain(sids)
	i := 0
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
		if i++; i%drainEvery == 0 {
			b.StopTimer()
			bs.drain(sids)
			b.StartTimer()
		}
	}
	b.StopTimer()
	if i%drainEvery != 0 {
		bs.drain(sids)
	}
}

// BenchmarkSocketEmit emits to one socket.
func BenchmarkSocketEmit(b *testing.B) {
	payload := make([]byte, 1024)
	for _, tc := range []struct {
		name string
		args []any
	}{
		{"text", []any{"hello world", 42, map[string]any{"k": "v"}}},
		{"binary-1KiB", []any{"file", payload}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bs := newBenchServer(b, 1)
			s := bs.sockets[0]
			bs.loop(b, bs.sids, func() error { return s.Emit("msg", tc.args...) })
		})
	}
}

// BenchmarkBroadcast broadcasts to a room of n sockets. The packet is
// encoded once; allocs/op do not grow with n, and ns/recipient is the cost
// of delivering to one more socket.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		for _, kind := range []string{"text", "binary"} {
			b.Run(fmt.Sprintf("%s/room-%d", kind, n), func(b *testing.B) {
				bs := newBenchServer(b, n)
				for _, s := range bs.sockets {
					s.Join("room")
				}
				args := []any{"hello world", 42}
				if kind == "binary" {
					args = []any{"file", make([]byte, 1024)}
				}
				op := bs.io.To("room")
				bs.loop(b, bs.sids, func() error { return op.Emit("msg", args...) })
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
			})
		}
	}
}

// BenchmarkBroadcastRecovery is BenchmarkBroadcast with connection-state
// recovery on: each packet is numbered (its offset appended), encoded once
// and kept for the window (one second here, so that the benchmark's memory
// stays bounded), and queued under the adapter's recovery lock.
func BenchmarkBroadcastRecovery(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("text/room-%d", n), func(b *testing.B) {
			bs := newBenchServer(b, n, WithConnectionStateRecovery(Recovery{MaxDisconnectionDuration: time.Second}))
			for _, s := range bs.sockets {
				s.Join("room")
			}
			op := bs.io.To("room")
			bs.loop(b, bs.sids, func() error { return op.Emit("msg", "hello world", 42) })
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
		})
	}
}
