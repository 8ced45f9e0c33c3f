// Package adaptertest holds what the tests of the framework adapters
// (ginio, echoio, chiio) share: a Socket.IO server that reports the
// identity its connection middleware and handlers see, a minimal Go
// Socket.IO client speaking long-polling, and the driver of the official
// Node.js client (test/node/adapters/clients.mjs).
package adaptertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
)

// Identify returns the identity of a socket's user, as its handshake
// established it, or an error when there is none.
type Identify func(s *core.Socket) (string, error)

// AdminNamespace is the namespace of [Server] whose middleware admits only
// the identities listed in [Options.Admins].
const AdminNamespace = "/admin"

// Options configures [NewServer].
type Options struct {
	// Identify is called by the connection middleware of the main namespace
	// (a socket without an identity is refused with connect_error
	// "unauthorized"), by the middleware of the admin namespace and by the
	// whoami handler.
	Identify Identify
	// Extra, if set, adds to the whoami answer (for instance the URL
	// parameters of the route).
	Extra func(s *core.Socket) map[string]any
	// Admins are the identities the admin namespace admits.
	Admins []string
	// ServerOptions are passed to core.NewServer.
	ServerOptions []core.Option
}

// Server is a Socket.IO server for adapter tests. Its sockets answer the
// event "whoami" with an acknowledgement {"nsp", "middleware", "handler",
// "transport", "extra"}: the identity the connection middleware stored,
// the identity the handler reads again, the transport and [Options.Extra].
type Server struct {
	IO *core.Server

	mu        sync.Mutex
	connected []string // identities of the sockets that connected, by namespace: "/admin alice"
}

// NewServer returns a Server; see [Server.Start].
func NewServer(o Options) *Server {
	srv := &Server{IO: core.NewServer(o.ServerOptions...)}
	io := srv.IO
	io.Use(func(s *core.Socket) error {
		id, err := o.Identify(s)
		if err != nil {
			return &core.ConnectError{Message: "unauthorized", Data: map[string]any{"reason": err.Error()}}
		}
		s.SetData(id)
		return nil
	})
	admin := io.Of(AdminNamespace)
	admin.Use(func(s *core.Socket) error {
		id, err := o.Identify(s)
		if err != nil {
			return &core.ConnectError{Message: "unauthorized", Data: map[string]any{"reason": err.Error()}}
		}
		if !slices.Contains(o.Admins, id) {
			return &core.ConnectError{Message: "forbidden"}
		}
		s.SetData(id)
		return nil
	})
	onConnection := func(s *core.Socket) {
		id, _ := s.Data().(string)
		srv.mu.Lock()
		srv.connected = append(srv.connected, s.Namespace().Name()+" "+id)
		srv.mu.Unlock()
		s.On("whoami", func(e *core.Event) {
			answer := map[string]any{
				"nsp":        s.Namespace().Name(),
				"middleware": s.Data(),
				"transport":  string(s.Transport()),
			}
			if id, err := o.Identify(s); err == nil {
				answer["handler"] = id
			} else {
				answer["handlerError"] = err.Error()
			}
			if o.Extra != nil {
				answer["extra"] = o.Extra(s)
			}
			_ = e.Ack(answer)
		})
	}
	io.OnConnection(onConnection)
	admin.OnConnection(onConnection)
	return srv
}

// Start serves h (the app, with the Server mounted) on 127.0.0.1 until the
// test ends; then the Socket.IO server shuts down first, as an app should
// do it, and the HTTP server after it.
func (srv *Server) Start(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.IO.Shutdown(ctx); err != nil {
			t.Errorf("adaptertest: shutdown: %v", err)
		}
	})
	return ts
}

// Connected returns the sockets that got through the connection middleware
// so far, as "namespace identity" ("/ alice", "/admin alice").
func (srv *Server) Connected() []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return slices.Clone(srv.connected)
}
