package msgpackparser_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/nodetest"
	"github.com/e347a4c2/socketio/msgpackparser"
)

// interopChecks are the scenarios of test/node/msgpack/interop.mjs, each of
// which must report ok on every transport.
var interopChecks = []string{
	"CONNECT with auth, and the CONNECT reply",
	"EVENT with ack: every value kind both ways",
	"server EVENT echoing the client's values",
	"JavaScript types: Date, undefined, typed arrays, non-finite numbers",
	"server emits binary from Go values",
	"server ACK request answered by the client with binary",
	"numeric event name",
	"namespaces multiplexed over one connection",
	"CONNECT_ERROR with data from middleware",
	"CONNECT_ERROR for an unknown namespace",
	"broadcast to a room and to everyone",
	"DISCONNECT from the client",
	"DISCONNECT from the server",
}

// reasons records why sockets disconnected, per namespace.
type reasons struct {
	mu sync.Mutex
	m  map[string][]core.DisconnectReason
}

func (r *reasons) add(nsp string, reason core.DisconnectReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[nsp] = append(r.m[nsp], reason)
}

func (r *reasons) get(nsp string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, x := range r.m[nsp] {
		out = append(out, string(x))
	}
	return out
}

func testLogger() *slog.Logger {
	if os.Getenv("SOCKETIO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newInteropServer returns a server using the MessagePack codec with the
// handlers the Node scenarios use.
func newInteropServer(rec *reasons) *core.Server {
	io := core.NewServer(core.WithCodec(msgpackparser.New()), core.WithLogger(testLogger()))
	str := func(ev *core.Event, i int) string {
		var s string
		_ = ev.Arg(i, &s)
		return s
	}
	io.OnConnection(func(s *core.Socket) {
		s.OnDisconnect(func(r core.DisconnectReason) { rec.add("/", r) })
		s.On("auth", func(ev *core.Event) { _ = ev.Ack(s.Handshake().Auth) })
		s.On("echo-ack", func(ev *core.Event) {
			v, _ := ev.Values()
			_ = ev.Ack(v...)
		})
		s.On("echo", func(ev *core.Event) {
			v, _ := ev.Values()
			_ = s.Emit("echo-back", v...)
		})
		s.On("send-binary", func(ev *core.Event) {
			type file struct {
				Name  string    `json:"name"`
				Data  []byte    `json:"data"`
				At    time.Time `json:"at"`
				Size  int       `json:"size"`
				Empty string    `json:"empty,omitempty"`
			}
			_ = s.Emit("binary",
				[]byte{1, 2, 3},
				map[string]any{"nested": [][]byte{{4}, {5, 6}}, "text": "t"},
				file{Name: "file.bin", Data: []byte("hello"), At: time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), Size: 5},
				[][]byte{{7}},
			)
			_ = ev.Ack()
		})
		s.On("ask-me", func(ev *core.Event) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a, err := s.EmitWithAck(ctx, "question", 42, "q")
			if err != nil {
				_ = ev.Ack(map[string]any{"ok": false, "detail": err.Error()})
				return
			}
			var b []byte
			var obj struct {
				Got string `json:"got"`
			}
			err = a.Bind(&b, &obj)
			ok := err == nil && bytes.Equal(b, []byte{42}) && obj.Got == "q"
			_ = ev.Ack(map[string]any{"ok": ok, "detail": fmt.Sprintf("%v %v %v", b, obj, err)})
		})
		s.On("42", func(ev *core.Event) {
			v, _ := ev.Values()
			_ = ev.Ack(append([]any{ev.Name}, v...)...)
		})
		s.On("hello", func(ev *core.Event) { _ = ev.Ack("hello from " + s.Namespace().Name()) })
		s.On("join", func(ev *core.Event) {
			s.Join(core.Room(str(ev, 0)))
			_ = ev.Ack()
		})
		s.On("shout", func(ev *core.Event) {
			_ = s.To(core.Room(str(ev, 0))).Emit("shouted", str(ev, 1), []byte{7})
			_ = ev.Ack()
		})
		s.On("to-everyone", func(ev *core.Event) {
			v, _ := ev.Values()
			_ = io.Emit("everyone", v...)
			_ = ev.Ack()
		})
		s.On("admin-reasons", func(ev *core.Event) { _ = ev.Ack(rec.get("/admin")) })
		s.On("kick-me", func(*core.Event) { s.Disconnect(false) })
	})
	admin := io.Of("/admin")
	admin.Use(func(s *core.Socket) error {
		if s.Handshake().Auth["token"] != "secret" {
			return &core.ConnectError{Message: "not authorized", Data: map[string]any{"code": 401, "blob": []byte{0xca, 0xfe}}}
		}
		return nil
	})
	admin.OnConnection(func(s *core.Socket) {
		s.OnDisconnect(func(r core.DisconnectReason) { rec.add("/admin", r) })
		s.On("hello", func(ev *core.Event) { _ = ev.Ack("hello from " + s.Namespace().Name()) })
	})
	return io
}

// TestInterop drives the server with socket.io-client and
// socket.io-msgpack-parser over each transport: every packet type crosses
// (CONNECT with auth, EVENT, ACK and binary both ways, DISCONNECT both ways,
// CONNECT_ERROR).
func TestInterop(t *testing.T) {
	nodetest.Require(t)
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			rec := &reasons{m: map[string][]core.DisconnectReason{}}
			io := newInteropServer(rec)
			ts := httptest.NewServer(io)
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := io.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				ts.Close()
			}()
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			lines := nodetest.RunJSON(t, ctx, "msgpack/interop.mjs", nil, ts.URL, mode)
			seen := map[string]bool{}
			for _, l := range lines {
				name, _ := l["check"].(string)
				seen[name] = true
				if l["ok"] != true {
					t.Errorf("%s: %v", name, l["detail"])
				}
			}
			for _, name := range interopChecks {
				if !seen[name] {
					t.Errorf("scenario %q did not report", name)
				}
			}
			if len(seen) != len(interopChecks) {
				t.Errorf("%d scenarios reported, %d expected", len(seen), len(interopChecks))
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(io.Sockets()) > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := len(io.Sockets()); n > 0 {
				t.Errorf("%d sockets still connected", n)
			}
			all := append(rec.get("/"), rec.get("/admin")...)
			for _, want := range []core.DisconnectReason{core.ReasonServerNamespaceDisconnect, core.ReasonClientNamespaceDisconnect} {
				if !slices.Contains(all, string(want)) {
					t.Errorf("no socket disconnected with %q: %v", want, all)
				}
			}
			for _, r := range all {
				if r == string(core.ReasonParseError) || r == string(core.ReasonTransportError) {
					t.Errorf("a socket disconnected with %q", r)
				}
			}
		})
	}
}
