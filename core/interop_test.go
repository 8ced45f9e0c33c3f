package core

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/internal/nodetest"
)

// interopChecks are the scenarios of test/node/sio/interop.mjs, each of
// which must report ok on every transport.
var interopChecks = []string{
	"emit several arguments, objects and nested binary both ways",
	"send and message",
	"client ack with several arguments and binary",
	"client timeout().emitWithAck answered",
	"client timeout().emitWithAck times out",
	"server EmitWithAck answered by the client",
	"server EmitWithAck with timeout, unanswered",
	"broadcast acknowledgements",
	"join, leave and room broadcasts",
	"broadcast excluding the sender",
	"private message to a socket ID",
	"automatic leave on disconnect",
	"volatile events",
	"custom namespace, multiplexed over one connection",
	"dynamic namespace",
	"middleware accepts and rejects with data",
	"handshake auth, query and extraHeaders",
	"socket data",
	"server-initiated disconnect",
	"reconnection after the server closes the transport",
	"catch-all listeners",
	"ordering of many rapid emits",
	"engine upgrade observed on the server",
}

// interopServer records what the server saw during the Node scenarios.
type interopServer struct {
	mu       sync.Mutex
	upgrades []engine.Transport
	reasons  []DisconnectReason
}

// newInteropServer installs the handlers the Node scenarios use.
func newInteropServer(e *env) *interopServer {
	rec := &interopServer{}
	io := e.io
	io.Use(func(s *Socket) error {
		if u, ok := s.Handshake().Auth["user"]; ok {
			s.SetData(map[string]any{"user": u})
		}
		return nil
	})
	ackValues := func(ev *Event) {
		v, _ := ev.Values()
		_ = ev.Ack(v...)
	}
	str := func(ev *Event, i int) string {
		var s string
		_ = ev.Arg(i, &s)
		return s
	}
	io.OnConnection(func(s *Socket) {
		s.OnUpgrade(func(t engine.Transport) {
			rec.mu.Lock()
			rec.upgrades = append(rec.upgrades, t)
			rec.mu.Unlock()
		})
		s.OnDisconnect(func(r DisconnectReason) {
			rec.mu.Lock()
			rec.reasons = append(rec.reasons, r)
			rec.mu.Unlock()
		})
		var mu sync.Mutex
		var anyIn, anyOut []string
		var seq []int
		s.OnAny(func(ev *Event) {
			if ev.Name == "any-test" || ev.Name == "any-log" {
				mu.Lock()
				anyIn = append(anyIn, ev.Name)
				mu.Unlock()
			}
		})
		s.OnAnyOutgoing(func(event string, _ []any) {
			if event == "any-back" {
				mu.Lock()
				anyOut = append(anyOut, event)
				mu.Unlock()
			}
		})
		s.On("echo", func(ev *Event) {
			v, _ := ev.Values()
			_ = s.Emit("echo-back", v...)
		})
		s.On("message", func(ev *Event) {
			v, _ := ev.Values()
			_ = s.Send(append([]any{"echo: " + str(ev, 0)}, v[1:]...)...)
		})
		s.On("echo-ack", ackValues)
		s.On("no-answer", func(*Event) {})
		s.On("ask-me", func(ev *Event) {
			a, err := s.Timeout(waitTimeout).EmitWithAck(context.Background(), "question", "q1")
			if err != nil {
				_ = ev.Ack(err.Error())
				return
			}
			var answer string
			_ = a.Bind(&answer)
			_ = ev.Ack(answer)
		})
		s.On("ask-me-timeout", func(ev *Event) {
			_, err := s.Timeout(200*time.Millisecond).EmitWithAck(context.Background(), "silent-question")
			if errors.Is(err, ErrAckTimeout) && errors.Is(err, context.DeadlineExceeded) {
				_ = ev.Ack("timeout")
				return
			}
			_ = ev.Ack(fmt.Sprint(err))
		})
		s.On("join", func(ev *Event) { s.Join(Room(str(ev, 0))); _ = ev.Ack() })
		s.On("leave", func(ev *Event) { s.Leave(Room(str(ev, 0))); _ = ev.Ack() })
		s.On("to-room", func(ev *Event) {
			_ = io.To(Room(str(ev, 0))).Emit("room-msg", str(ev, 1))
			_ = ev.Ack()
		})
		bcast := func(event string, d time.Duration) func(ev *Event) {
			return func(ev *Event) {
				acks, err := io.To(Room(str(ev, 0))).Timeout(d).EmitWithAck(context.Background(), event)
				answers := []string{}
				for _, a := range acks {
					var v string
					_ = a.Bind(&v)
					answers = append(answers, v)
				}
				_ = ev.Ack(map[string]any{"answers": answers, "timedOut": errors.Is(err, ErrAckTimeout)})
			}
		}
		s.On("bcast-ack", bcast("bq", waitTimeout))
		s.On("bcast-ack-partial", bcast("bq-partial", 300*time.Millisecond))
		s.On("shout", func(ev *Event) { _ = s.Broadcast().Emit("shouted", str(ev, 0)); _ = ev.Ack() })
		s.On("pm", func(ev *Event) { _ = s.To(Room(str(ev, 0))).Emit("pm", s.ID(), str(ev, 1)); _ = ev.Ack() })
		s.On("room-size", func(ev *Event) {
			rs, _ := io.In(Room(str(ev, 0))).FetchSockets(context.Background())
			_ = ev.Ack(len(rs))
		})
		s.On("volatile-ping", func(ev *Event) {
			v, _ := ev.Values()
			_ = s.Volatile().Emit("volatile-pong", v...)
			_ = ev.Ack()
		})
		s.On("conn-id", func(ev *Event) { _ = ev.Ack(fmt.Sprintf("%p", s.client)) })
		s.On("handshake", func(ev *Event) {
			h := s.Handshake()
			_ = ev.Ack(map[string]any{"auth": h.Auth, "foo": h.Query.Get("foo"),
				"header": h.Headers.Get("X-Custom"), "address": h.Address})
		})
		s.On("data", func(ev *Event) { _ = ev.Ack(s.Data()) })
		s.On("fetch-data", func(ev *Event) {
			rs, _ := io.FetchSockets(context.Background())
			users := []any{}
			for _, r := range rs {
				if m, ok := r.Data.(map[string]any); ok {
					users = append(users, m["user"])
				}
			}
			_ = ev.Ack(users)
		})
		s.On("kick-me", func(*Event) { s.Disconnect(false) })
		s.On("drop-transport", func(*Event) { s.client.session.Close() })
		s.On("any-test", func(ev *Event) { _ = s.Emit("any-back", 1) })
		s.On("any-log", func(ev *Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = ev.Ack(map[string]any{"in": anyIn, "out": anyOut})
		})
		s.On("seq", func(ev *Event) {
			var i int
			_ = ev.Arg(0, &i)
			seq = append(seq, i)
		})
		s.On("seq-done", func(ev *Event) {
			inOrder := true
			for i, v := range seq {
				inOrder = inOrder && v == i
			}
			_ = ev.Ack(map[string]any{"count": len(seq), "inOrder": inOrder})
		})
		s.On("seq-send", func(ev *Event) {
			var n int
			_ = ev.Arg(0, &n)
			for i := range n {
				_ = s.Emit("seq-s", i)
			}
		})
		s.On("transport", func(ev *Event) { _ = ev.Ack(string(s.Transport())) })
	})

	hello := func(s *Socket) {
		s.On("hello", func(ev *Event) { _ = ev.Ack("hello from " + s.Namespace().Name()) })
		s.On("conn-id", func(ev *Event) { _ = ev.Ack(fmt.Sprintf("%p", s.client)) })
	}
	io.Of("/custom").OnConnection(hello)
	dyn := io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	dyn.OnConnection(func(s *Socket) {
		hello(s)
		_ = s.Emit("welcome", s.Namespace().Name())
	})
	private := io.Of("/private")
	private.Use(func(s *Socket) error {
		if s.Handshake().Auth["token"] != "secret" {
			return &ConnectError{Message: "not authorized", Data: map[string]any{"code": 401, "hint": "use the token"}}
		}
		return nil
	})
	private.OnConnection(func(s *Socket) {
		s.On("whoami", func(ev *Event) { _ = ev.Ack(s.Handshake().Auth["token"]) })
	})
	io.Of("/plain").Use(func(*Socket) error { return errors.New("plain refusal") })
	return rec
}

// TestInterop runs the official JavaScript client through every feature
// that matters to JavaScript users, on each transport.
func TestInterop(t *testing.T) {
	nodetest.Require(t)
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			rec := newInteropServer(e)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			lines := nodetest.RunJSON(t, ctx, "sio/interop.mjs", nil, e.url, mode)
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
			eventually(t, "every socket's disconnection", func() bool { return len(e.io.Sockets()) == 0 })
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if mode == "upgrade" {
				if len(rec.upgrades) == 0 || slices.ContainsFunc(rec.upgrades, func(t engine.Transport) bool { return t != engine.WebSocket }) {
					t.Errorf("upgrades seen by OnUpgrade: %v", rec.upgrades)
				}
			} else if len(rec.upgrades) != 0 {
				t.Errorf("OnUpgrade called without upgrades: %v", rec.upgrades)
			}
			for _, want := range []DisconnectReason{ReasonForcedClose, ReasonServerNamespaceDisconnect, ReasonClientNamespaceDisconnect} {
				if !slices.Contains(rec.reasons, want) {
					t.Errorf("no socket disconnected with %q: %v", want, rec.reasons)
				}
			}
			for _, r := range rec.reasons {
				if r == ReasonParseError || r == ReasonTransportError {
					t.Errorf("a socket disconnected with %q", r)
				}
			}
		})
	}
}
