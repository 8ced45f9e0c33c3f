package core

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/e347a4c2/socketio/internal/siotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait of the tests: generous, since the tests
// run with -race on loaded machines. No test asserts on durations.
const waitTimeout = 15 * time.Second

// testLogger discards logs unless SOCKETIO_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("SOCKETIO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// env is a server under test behind an httptest.Server.
type env struct {
	t   *testing.T
	io  *Server
	ts  *httptest.Server
	url string
}

// newEnv starts a server with opts; it is shut down when the test ends.
func newEnv(t *testing.T, opts ...Option) *env {
	return newEnvHandler(t, nil, opts...)
}

// newEnvHandler is newEnv with wrap, when not nil, wrapping the server's
// handler.
func newEnvHandler(t *testing.T, wrap func(http.Handler) http.Handler, opts ...Option) *env {
	t.Helper()
	io := NewServer(append([]Option{WithLogger(testLogger())}, opts...)...)
	var h http.Handler = io
	if wrap != nil {
		h = wrap(io)
	}
	ts := httptest.NewServer(h)
	e := &env{t: t, io: io, ts: ts, url: ts.URL}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := io.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v; goroutines:\n%s", err, goroutines())
		}
		ts.Close()
	})
	return e
}

// goroutines returns the stacks of every goroutine, to diagnose a hang.
func goroutines() string {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.String()
}

// dial opens a client connection, closed when the test ends.
func (e *env) dial(tr siotest.Transport) *siotest.Conn {
	e.t.Helper()
	return e.dialOpts(&siotest.Options{Transport: tr})
}

func (e *env) dialOpts(o *siotest.Options) *siotest.Conn {
	e.t.Helper()
	c, err := siotest.Dial(ctxT(e.t), e.url, o)
	if err != nil {
		e.t.Fatalf("dial %v: %v", o.Transport, err)
	}
	// A polite close: an aborted polling client that is between two polls
	// is noticed by the heartbeat only, which Shutdown would wait for.
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// connect dials and joins nsp.
func (e *env) connect(tr siotest.Transport, nsp string, auth any) *siotest.Socket {
	e.t.Helper()
	c := e.dial(tr)
	return join(e.t, c, nsp, auth)
}

// join joins nsp over c.
func join(t *testing.T, c *siotest.Conn, nsp string, auth any) *siotest.Socket {
	t.Helper()
	s, err := c.Connect(ctxT(t), nsp, auth)
	if err != nil {
		t.Fatalf("connect %s: %v", nsp, err)
	}
	return s
}

// ctxT returns a context bounded by waitTimeout, cancelled when the test
// ends.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for a value on ch.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for a %T", *new(T))
		panic("unreachable")
	}
}

// noRecv checks that nothing is on ch after the server had time to act
// (the caller makes sure of that with a round trip first).
func noRecv[T any](t testing.TB, ch <-chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %T: %v", v, v)
	default:
	}
}

// nextEvent waits for the next event of s and checks its name.
func nextEvent(t testing.TB, s *siotest.Socket, name string) *siotest.Event {
	t.Helper()
	e, err := s.NextEvent(ctxT(t))
	if err != nil {
		t.Fatalf("waiting for %q: %v", name, err)
	}
	if e.Name != name {
		t.Fatalf("got event %q %v, want %q", e.Name, e.Args, name)
	}
	return e
}

// roundTrip makes sure the server handled everything s sent before: it
// emits "ping?" (answered by the echo handlers the tests install with
// installPing) and waits for the acknowledgement.
func roundTrip(t testing.TB, s *siotest.Socket) {
	t.Helper()
	if _, err := s.EmitWithAck(ctxT(t), "ping?"); err != nil {
		t.Fatalf("round trip: %v", err)
	}
}

// installPing makes s acknowledge "ping?" events (see roundTrip).
func installPing(s *Socket) {
	s.On("ping?", func(e *Event) { _ = e.Ack() })
}

// eventually polls cond until it holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serverSocket registers an OnConnection handler on nsp that sends each
// new socket to the returned channel (after installing installPing).
func serverSockets(nsp interface{ OnConnection(func(*Socket)) }) <-chan *Socket {
	ch := make(chan *Socket, 64)
	nsp.OnConnection(func(s *Socket) {
		installPing(s)
		ch <- s
	})
	return ch
}

// forEachTransport runs f as a subtest for each client transport.
func forEachTransport(t *testing.T, f func(t *testing.T, tr siotest.Transport)) {
	for _, tr := range siotest.Transports {
		t.Run(tr.String(), func(t *testing.T) { f(t, tr) })
	}
}

// expired returns a context that has ended: waits with it only take what
// has already arrived.
func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
