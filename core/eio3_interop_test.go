package core

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/nodetest"
)

// eio3Modes are the modes of test/node/v2/common.mjs: the 2.x client over
// base64 polling (as in Node.js), binary (XHR2) polling (as in browsers),
// WebSocket with and without binary frames, and the upgrade from either
// kind of polling.
var eio3Modes = []string{"polling", "polling-xhr2", "websocket", "websocket-b64", "upgrade", "upgrade-xhr2"}

// eio3InteropChecks are the scenarios of test/node/v2/interop.mjs, each of
// which must report ok in every mode. The same script passes against the
// Node.js reference (test/node/v2/reference-server.mjs).
var eio3InteropChecks = []string{
	"the default namespace is joined without a CONNECT packet",
	"emit several arguments, unicode, objects and nested binary both ways",
	"large text and binary messages",
	"send and message",
	"client ack with several arguments and binary",
	"server ack with binary",
	"server emit with ack answered by the client",
	"server emit with binary ack answered by the client",
	"join, leave and room broadcasts",
	"custom namespace with a query, multiplexed over one connection",
	"dynamic namespace",
	"middleware refusal with data: the error event carries err.data",
	"middleware refusal without data: the error event carries the message",
	"unknown namespace",
	"handshake query",
	"heartbeat: the server answers the client's pings",
	"server-initiated namespace disconnect",
	"server closes the connection",
	"ordering of many rapid emits",
	"transport in use",
	"client disconnect",
}

// eio3MixedChecks are the scenarios of test/node/v2/mixed.mjs.
var eio3MixedChecks = []string{
	"2.x and 4.x clients in one room exchange text and binary",
	"acknowledgements across revisions",
}

// eio3Server records what the server saw during the 2.x scenarios.
type eio3Server struct {
	mu        sync.Mutex
	protocols map[int]int                   // connections by Engine.IO protocol
	reasons   map[string][]DisconnectReason // by connection: its "/" socket's
	connIDs   map[*client]string            // held, so that no address is reused
}

// newEIO3Server installs the handlers of test/node/v2/reference-server.mjs
// (the Node.js reference's, which the scenarios are checked against).
func newEIO3Server(e *env) *eio3Server {
	rec := &eio3Server{protocols: map[int]int{}, reasons: map[string][]DisconnectReason{}, connIDs: map[*client]string{}}
	io := e.io
	connID := func(s *Socket) string {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		id, ok := rec.connIDs[s.client]
		if !ok {
			id = fmt.Sprintf("c%d", len(rec.connIDs)+1)
			rec.connIDs[s.client] = id
		}
		return id
	}
	str := func(ev *Event, i int) string {
		var s string
		_ = ev.Arg(i, &s)
		return s
	}
	io.OnConnection(func(s *Socket) {
		id := connID(s)
		rec.mu.Lock()
		rec.protocols[s.client.session.Protocol()]++
		rec.mu.Unlock()
		s.OnDisconnect(func(r DisconnectReason) {
			rec.mu.Lock()
			rec.reasons[id] = append(rec.reasons[id], r)
			rec.mu.Unlock()
		})
		s.On("nsp", func(ev *Event) { _ = ev.Ack(s.Namespace().Name()) })
		s.On("echo", func(ev *Event) {
			v, _ := ev.Values()
			_ = s.Emit("echo-back", v...)
		})
		s.On("message", func(ev *Event) {
			v, _ := ev.Values()
			_ = s.Send(append([]any{"echo: " + str(ev, 0)}, v[1:]...)...)
		})
		s.On("echo-ack", func(ev *Event) {
			v, _ := ev.Values()
			_ = ev.Ack(v...)
		})
		s.On("bin-ack", func(ev *Event) { _ = ev.Ack([]byte{1, 2, 3}, "x") })
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
		s.On("ask-me-bin", func(ev *Event) {
			a, err := s.Timeout(waitTimeout).EmitWithAck(context.Background(), "bin-question", []byte{1, 2, 3})
			if err != nil {
				_ = ev.Ack(err.Error())
				return
			}
			var answer []byte
			if err := a.Bind(&answer); err != nil {
				_ = ev.Ack(err.Error())
				return
			}
			_ = ev.Ack(hex.EncodeToString(answer))
		})
		s.On("join", func(ev *Event) { s.Join(Room(str(ev, 0))); _ = ev.Ack() })
		s.On("leave", func(ev *Event) { s.Leave(Room(str(ev, 0))); _ = ev.Ack() })
		s.On("to-room", func(ev *Event) {
			_ = io.To(Room(str(ev, 0))).Emit("room-msg", str(ev, 1))
			_ = ev.Ack()
		})
		s.On("to-room-bin", func(ev *Event) {
			var bin []byte
			_ = ev.Arg(2, &bin)
			_ = s.To(Room(str(ev, 0))).Emit("room-bin", str(ev, 1), bin)
			_ = ev.Ack()
		})
		s.On("conn-id", func(ev *Event) { _ = ev.Ack(id) })
		s.On("reasons-of", func(ev *Event) {
			rec.mu.Lock()
			r := slices.Clone(rec.reasons[str(ev, 0)])
			rec.mu.Unlock()
			if r == nil {
				r = []DisconnectReason{}
			}
			_ = ev.Ack(r)
		})
		s.On("handshake", func(ev *Event) {
			h := s.Handshake()
			_ = ev.Ack(map[string]any{"auth": h.Auth, "foo": h.Query.Get("foo")})
		})
		s.On("kick-me", func(*Event) { s.Disconnect(false) })
		s.On("drop-transport", func(*Event) { s.client.session.Close() })
		s.On("transport", func(ev *Event) { _ = ev.Ack(string(s.Transport())) })
		var seq []int
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
	})

	hello := func(s *Socket) {
		s.On("hello", func(ev *Event) { _ = ev.Ack("hello from " + s.Namespace().Name()) })
		s.On("whoami", func(ev *Event) { _ = ev.Ack(s.Handshake().Auth) })
		s.On("conn-id", func(ev *Event) { _ = ev.Ack(connID(s)) })
	}
	io.Of("/custom").OnConnection(hello)
	io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(hello)
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

// runV2Script runs a test/node/v2 script against e in mode and checks
// that exactly the scenarios of want reported, each ok.
func runV2Script(t *testing.T, e *env, script, mode string, want []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	lines := nodetest.RunJSON(t, ctx, script, nil, e.url, mode)
	seen := map[string]bool{}
	for _, l := range lines {
		name, _ := l["check"].(string)
		seen[name] = true
		if l["ok"] != true {
			t.Errorf("%s: %v", name, l["detail"])
		}
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("scenario %q did not report", name)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d scenarios reported, %d expected", len(seen), len(want))
	}
}

// newEIO3Env starts a server that accepts 2.x clients, with the short
// ping interval the heartbeat scenario needs (the clients ping at that
// pace) and a generous timeout.
func newEIO3Env(t *testing.T) *env {
	return newEnv(t, WithAllowEIO3(true), WithPingInterval(300*time.Millisecond), WithPingTimeout(5*time.Second))
}

// TestEIO3Interop runs socket.io-client 2.x (Engine.IO 3, Socket.IO 4)
// through every scenario of test/node/v2/interop.mjs, in every mode.
func TestEIO3Interop(t *testing.T) {
	nodetest.Require(t)
	for _, mode := range eio3Modes {
		t.Run(mode, func(t *testing.T) {
			e := newEIO3Env(t)
			rec := newEIO3Server(e)
			runV2Script(t, e, "v2/interop.mjs", mode, eio3InteropChecks)
			eventually(t, "every socket's disconnection", func() bool { return len(e.io.Sockets()) == 0 })
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.protocols[3] == 0 || rec.protocols[4] != 0 {
				t.Errorf("connections by Engine.IO protocol: %v, want protocol 3 only", rec.protocols)
			}
			for id, reasons := range rec.reasons {
				for _, r := range reasons {
					if r == ReasonParseError || r == ReasonTransportError || r == ReasonPingTimeout {
						t.Errorf("connection %s: a socket disconnected with %q", id, r)
					}
				}
			}
		})
	}
}

// TestEIO3MixedRoom has a 2.x client and a 4.x client in one room of one
// server exchange text and binary messages and acknowledgements, in every
// mode (test/node/v2/mixed.mjs).
func TestEIO3MixedRoom(t *testing.T) {
	nodetest.Require(t)
	for _, mode := range eio3Modes {
		t.Run(mode, func(t *testing.T) {
			e := newEIO3Env(t)
			rec := newEIO3Server(e)
			runV2Script(t, e, "v2/mixed.mjs", mode, eio3MixedChecks)
			eventually(t, "every socket's disconnection", func() bool { return len(e.io.Sockets()) == 0 })
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.protocols[3] == 0 || rec.protocols[4] == 0 {
				t.Errorf("connections by Engine.IO protocol: %v, want both 3 and 4", rec.protocols)
			}
		})
	}
}
