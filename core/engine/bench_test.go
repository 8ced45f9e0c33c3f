package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// benchPayloads are polling payloads of typical shapes.
var benchPayloads = map[string][]Frame{
	"text": {
		TextMessage([]byte(`2["chat",{"user":"ana","text":"hello there"}]`)),
		TextMessage([]byte(`2["chat",{"user":"bob","text":"hi ana, how are you doing?"}]`)),
		TextMessage([]byte(`2["typing",{"user":"ana"}]`)),
		framePing,
	},
	"binary": {
		BinaryMessage(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 32)),
		BinaryMessage(bytes.Repeat([]byte{0xff}, 1024)),
	},
	"mixed": {
		TextMessage([]byte(`51-["upload",{"_placeholder":true,"num":0}]`)),
		BinaryMessage(bytes.Repeat([]byte{9, 8, 7}, 100)),
		TextMessage([]byte(`2["ack",42]`)),
	},
}

func BenchmarkEncodePayload(b *testing.B) {
	for _, name := range []string{"text", "binary", "mixed"} {
		frames := benchPayloads[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(payloadLen(frames)))
			buf := make([]byte, 0, payloadLen(frames))
			for b.Loop() {
				buf = appendPayload(buf[:0], frames)
			}
		})
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	for _, name := range []string{"text", "binary", "mixed"} {
		body := appendPayload(nil, benchPayloads[name])
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := decodePayload(body, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// echoHandler is a minimal SessionHandler: it sends every message back.
type echoHandler struct{ s *Session }

func (e echoHandler) OnMessage(data []byte, binary bool) {
	if binary {
		_ = e.s.Send(BinaryMessage(data))
		return
	}
	_ = e.s.Send(TextMessage(data))
}
func (echoHandler) OnUpgrade(Transport)        {}
func (echoHandler) OnClose(CloseReason, error) {}
func newEchoServer(opts *Options) *Server {
	return NewServer(func(s *Session) SessionHandler { return echoHandler{s} }, testOptions(opts))
}

// benchServer serves an echo engine on loopback until the benchmark ends.
func benchServer(b *testing.B, opts *Options) (*Server, *eiotest.Client, context.Context) {
	b.Helper()
	srv := newEchoServer(opts)
	ts := httptest.NewServer(srv)
	c := eiotest.New(ts.URL + "/engine.io/")
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() {
		cancel()
		c.Close()
		forceClose(b, srv)
		ts.Close()
	})
	return srv, c, ctx
}

func BenchmarkWebSocketEcho(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			_, c, ctx := benchServer(b, nil)
			ws, err := c.OpenWebSocket(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			msg := append([]byte{'4'}, bytes.Repeat([]byte("x"), size)...)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := ws.Conn.Write(ctx, websocket.MessageText, msg); err != nil {
					b.Fatal(err)
				}
				if _, got, err := ws.Conn.Read(ctx); err != nil || len(got) != len(msg) {
					b.Fatalf("echo %d bytes, %v", len(got), err)
				}
			}
		})
	}
}

func BenchmarkPollingRoundTrip(b *testing.B) {
	_, c, ctx := benchServer(b, nil)
	p, err := c.Handshake(ctx)
	if err != nil {
		b.Fatal(err)
	}
	msg := eiotest.Text(`2["chat",{"text":"hello"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		got, err := p.Poll(ctx)
		if err != nil || len(got) != 1 {
			b.Fatalf("poll %v %v", got, err)
		}
	}
}

func BenchmarkHandshake(b *testing.B) {
	b.Run("polling", func(b *testing.B) {
		srv, c, ctx := benchServer(b, nil)
		b.ReportAllocs()
		for b.Loop() {
			p, err := c.Handshake(ctx)
			if err != nil {
				b.Fatal(err)
			}
			// Close the session at once, so that sessions do not pile up.
			if s := srv.session(p.SID()); s != nil {
				s.closeNow(ReasonTransportClose, nil)
			}
		}
	})
	b.Run("websocket", func(b *testing.B) {
		_, c, ctx := benchServer(b, nil)
		b.ReportAllocs()
		for b.Loop() {
			ws, err := c.OpenWebSocket(ctx)
			if err != nil {
				b.Fatal(err)
			}
			ws.Close()
		}
	})
}

// BenchmarkIdleWebSocketSessions measures the memory that idle WebSocket
// sessions hold: it opens 1,000 of them with the eiotest client in this
// process and compares HeapInuse+StackInuse before and after. That total
// includes the client's side of each connection, so the heap is also
// attributed to either side by the stacks that allocated it (the heap
// profile at a rate of 1), and goroutine stacks are counted as server
// memory (the client has no goroutine per idle connection).
func BenchmarkIdleWebSocketSessions(b *testing.B) {
	const n = 1000
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	srv, c, ctx := benchServer(b, nil)
	b.ReportAllocs()
	var total, server, client, goroutines float64
	for b.Loop() {
		before, heapBefore, g0 := memSnapshot()
		conns := make([]*eiotest.WS, 0, n)
		for range n {
			ws, err := c.OpenWebSocket(ctx)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, ws)
		}
		after, heapAfter, g1 := memSnapshot()
		srvHeap, cliHeap := attribute(heapBefore, heapAfter)
		stack := float64(after.StackInuse) - float64(before.StackInuse)
		total += (float64(after.HeapInuse+after.StackInuse) - float64(before.HeapInuse+before.StackInuse)) / n
		server += (srvHeap + stack) / n
		client += cliHeap / n
		goroutines += float64(g1-g0) / n
		for _, ws := range conns {
			ws.Close()
		}
		for srv.SessionCount() > 0 {
			runtime.Gosched()
		}
	}
	runs := float64(b.N)
	b.ReportMetric(total/runs, "B/session")
	b.ReportMetric(server/runs, "server-B/session")
	b.ReportMetric(client/runs, "client-B/session")
	b.ReportMetric(goroutines/runs, "goroutines/session")
}

// memSnapshot collects garbage and returns the memory statistics, the heap
// profile's in-use bytes by allocating stack, and the goroutine count.
func memSnapshot() (runtime.MemStats, map[string]int64, int) {
	// The heap profile is as of the last completed collection but one.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var records []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(records, false)
		if ok {
			records = records[:n]
			break
		}
		records = make([]runtime.MemProfileRecord, n+64)
	}
	heap := map[string]int64{}
	for i := range records {
		r := &records[i]
		heap[stackSide(r.Stack())] += r.InUseBytes()
	}
	return ms, heap, runtime.NumGoroutine()
}

// stackSide tells which side of the connection an allocation belongs to.
func stackSide(pcs []uintptr) string {
	frames := runtime.CallersFrames(pcs)
	var names []string
	for {
		f, more := frames.Next()
		names = append(names, f.Function)
		if !more {
			break
		}
	}
	all := strings.Join(names, "\n")
	switch {
	case strings.Contains(all, "internal/eiotest."), strings.Contains(all, "coder/websocket.Dial"),
		strings.Contains(all, "net/http.(*persistConn)"), strings.Contains(all, "net/http.(*Transport)"):
		return "client"
	case strings.Contains(all, "net/http.(*conn).serve"), strings.Contains(all, "net/http.(*Server).Serve"),
		strings.Contains(all, "core/engine.(*Server)"), strings.Contains(all, "core/engine.(*Session)"):
		return "server"
	}
	return "other"
}

// attribute returns the growth of the server's and the client's heap.
func attribute(before, after map[string]int64) (server, client float64) {
	return float64(after["server"] - before["server"]), float64(after["client"] - before["client"])
}

// benchWriter is a reusable http.ResponseWriter that discards the body.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
func (w *benchWriter) WriteHeader(code int) { w.status = code }
func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// BenchmarkPollingServer measures the server side of a long-polling round
// trip alone, through ServeHTTP without a network or a client: a POST
// carrying a message, which the echo handler sends back, and the GET that
// collects it. The requests are built once, so allocs/op are the server's.
func BenchmarkPollingServer(b *testing.B) {
	srv := newEchoServer(&Options{DisableHTTPCompression: true})
	defer forceClose(b, srv)
	w := &benchWriter{h: http.Header{}}
	var open struct {
		SID string `json:"sid"`
	}
	hs := httptest.NewRecorder()
	srv.ServeHTTP(hs, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil))
	if err := json.Unmarshal(hs.Body.Bytes()[1:], &open); err != nil {
		b.Fatal(err)
	}
	url := "/engine.io/?EIO=4&transport=polling&sid=" + open.SID
	payload := []byte(`42["chat",{"text":"hello"}]`)
	body := bytes.NewReader(payload)
	post := httptest.NewRequest(http.MethodPost, url, body)
	post.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	get := httptest.NewRequest(http.MethodGet, url, nil)
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(payload)
		post.Body = io.NopCloser(body)
		w.reset()
		srv.ServeHTTP(w, post)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("POST answered %d", w.status)
		}
		w.reset()
		srv.ServeHTTP(w, get)
		if (w.status != 0 && w.status != http.StatusOK) || w.n != len(payload) {
			b.Fatalf("GET answered %d, %d bytes", w.status, w.n)
		}
	}
}
