package redisadapter_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/siotest"
	"github.com/e347a4c2/socketio/redisadapter"
)

// quiet drops go-redis's own log lines (the tests stop Redis on purpose).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m)
}

// wait bounds every wait of the tests: generous, for loaded machines.
const wait = 20 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	t.Cleanup(cancel)
	return ctx
}

// logs records what the adapter logs, as text.
type logs struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// contains reports whether the log holds s.
func (l *logs) contains(s string) bool { return strings.Contains(l.String(), s) }

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// node is a Go Socket.IO server with the Redis adapter, served over HTTP.
type node struct {
	name   string
	io     *core.Server
	ts     *httptest.Server
	broker *redisadapter.Broker
	rdb    *redis.Client
	logs   *logs
}

type nodeOptions struct {
	adapter *redisadapter.Options
	setup   func(io *core.Server)
	core    []core.Option
}

func newNode(t testing.TB, name, addr string, o nodeOptions) *node {
	t.Helper()
	n := &node{name: name, logs: &logs{}}
	n.rdb = redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = n.rdb.Close() })
	opts := redisadapter.Options{Logger: n.logs.logger()}
	if o.adapter != nil {
		opts = *o.adapter
		if opts.Logger == nil {
			opts.Logger = n.logs.logger()
		}
	}
	n.broker = redisadapter.NewBroker(n.rdb, &opts)
	t.Cleanup(func() { _ = n.broker.Close() })
	n.io = core.NewServer(append([]core.Option{core.WithAdapter(n.broker.NewAdapter),
		core.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, o.core...)...)
	installHandlers(n.io, name)
	if o.setup != nil {
		o.setup(n.io)
	}
	n.ts = httptest.NewServer(n.io)
	t.Cleanup(n.ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := n.io.Shutdown(ctx); err != nil {
			t.Errorf("%s: shutdown: %v", name, err)
		}
	})
	return n
}

// installHandlers gives the clients of a test server control over their
// socket: join and leave rooms, set the socket's data.
func installHandlers(io *core.Server, name string) {
	io.OnConnection(func(s *core.Socket) {
		core.OnAck(s, "join", func(s *core.Socket, room string) (string, error) {
			s.Join(core.Room(room))
			return name, nil
		})
		core.OnAck(s, "leave", func(s *core.Socket, room string) (string, error) {
			s.Leave(core.Room(room))
			return name, nil
		})
		core.OnAck(s, "set data", func(s *core.Socket, v any) (string, error) {
			s.SetData(v)
			return name, nil
		})
		core.OnAck(s, "rooms", func(s *core.Socket, _ any) ([]core.Room, error) {
			return s.Rooms(), nil
		})
	})
}

// waitServers waits until every node counts n servers.
func waitServers(t testing.TB, n int, nodes ...*node) {
	t.Helper()
	for _, nd := range nodes {
		eventually(t, "server count "+nd.name, func() bool {
			got, err := nd.io.Of("/").Adapter().ServerCount(context.Background())
			return err == nil && got == n
		})
	}
}

// eventually polls cond until it holds or the wait ends.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type clientOptions struct {
	nsp   string
	auth  any
	query map[string]string
}

// connect opens a WebSocket client on the node and joins the namespace.
func (n *node) connect(t testing.TB, o clientOptions) *siotest.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	so := &siotest.Options{Transport: siotest.WebSocket}
	if len(o.query) > 0 {
		so.Query = map[string][]string{}
		for k, v := range o.query {
			so.Query.Set(k, v)
		}
	}
	conn, err := siotest.Dial(ctx, n.ts.URL, so)
	if err != nil {
		t.Fatalf("%s: dial: %v", n.name, err)
	}
	t.Cleanup(conn.Abort)
	nsp := o.nsp
	if nsp == "" {
		nsp = "/"
	}
	s, err := conn.Connect(ctx, nsp, o.auth)
	if err != nil {
		t.Fatalf("%s: connect: %v", n.name, err)
	}
	return s
}

// call emits an event with an acknowledgement and returns its arguments.
func call(t testing.TB, s *siotest.Socket, event string, args ...any) []any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	res, err := s.EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	return res
}

// next returns the next event the client receives.
func next(t testing.TB, s *siotest.Socket) *siotest.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	e, err := s.NextEvent(ctx)
	if err != nil {
		t.Fatalf("waiting for an event: %v", err)
	}
	return e
}

// expectEvent checks that the next event is name with args (compared as
// JSON: numbers as float64, binary as []byte).
func expectEvent(t testing.TB, s *siotest.Socket, name string, args ...any) *siotest.Event {
	t.Helper()
	e := next(t, s)
	if e.Name != name {
		t.Fatalf("got event %q %v, want %q", e.Name, e.Args, name)
	}
	if args != nil && !equalJSON(e.Args, args) {
		t.Fatalf("event %q: got args %#v, want %#v", name, e.Args, args)
	}
	return e
}

// autoAck answers every event that asks for an acknowledgement with
// answer(event), until the socket is gone.
func autoAck(s *siotest.Socket, answer func(e *siotest.Event) []any) {
	go func() {
		for {
			e, err := s.NextEvent(context.Background())
			if err != nil {
				return
			}
			if e.HasAck {
				_ = e.Ack(answer(e)...)
			}
		}
	}()
}
