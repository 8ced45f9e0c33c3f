// Package ginio mounts a Socket.IO server ([core.Server]) on a gin router or
// route group, and makes what gin's middleware established for the
// handshake request readable from the sockets.
//
//	r := gin.Default()
//	r.Use(sessions.Sessions("app", store)) // the app's own middleware
//	io := core.NewServer()
//	ginio.Mount(r, io) // GET, POST, OPTIONS and the WebSocket upgrade on /socket.io and /socket.io/*
//	io.Use(func(s *core.Socket) error {
//		gc, ok := ginio.FromContext(s.Context()) // a copy of the handshake's *gin.Context
//		if !ok || sessions.Default(gc).Get("user") == nil {
//			return &core.ConnectError{Message: "unauthorized"}
//		}
//		return nil
//	})
//
// # Context bridging
//
// gin keeps the values of c.Set in its pooled *gin.Context, not in the
// request's context, and recycles that Context once the request is served.
// On an Engine.IO handshake (and only then: the later requests of a
// connection are served without any extra cost) the adapter stores a copy
// of it ([gin.Context.Copy]: Keys, Params, the request) in the request's
// context, which the core keeps for the connection: [Socket.Context] then
// carries it to connection middleware and event handlers, read with
// [FromContext], [Value] and [Param]. Treat the copy as read-only, and never
// write a response through it.
//
// gin-contrib/sessions loads a session lazily, from the request, on its
// first use; the adapter loads the sessions found under sessions.DefaultKey
// during the handshake, so that reading them later from a socket is safe.
// Such a session is a snapshot: Set and Save on it would write to a
// response that is gone; change a session through a regular HTTP route.
//
// # Authentication
//
// A browser cannot put an Authorization header on a WebSocket: an auth
// middleware that checks headers on every request of the Socket.IO route
// refuses the upgrade and leaves the client on long-polling. Check
// credentials on the handshake only, from a cookie (gin-contrib/sessions),
// the query or the Socket.IO auth payload (s.Handshake().Auth in io.Use):
// [WithHandshakeMiddleware] runs gin middleware on the handshake requests of
// the Socket.IO route, and nowhere else. The later requests of a connection
// carry its unguessable session ID, as in the Node.js reference, whose
// allowRequest also runs on handshakes only.
//
// [Socket.Context]: https://pkg.go.dev/github.com/e347a4c2/socketio/core#Socket.Context
package ginio

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/e347a4c2/socketio/core"
)

// DefaultPath is where [Mount] serves Socket.IO unless [WithPath] says
// otherwise; it is the default path of the official clients.
const DefaultPath = "/socket.io"

// Option configures [Mount] and [Handler].
type Option func(*config)

type config struct {
	path       string
	handshakes []gin.HandlerFunc
}

// WithPath sets the path Socket.IO is mounted on, relative to the router or
// group given to [Mount] (default "/socket.io"). The clients' path option
// must name the same path, with the group's prefix.
func WithPath(path string) Option { return func(c *config) { c.path = path } }

// WithHandshakeMiddleware runs gin middleware (an authentication check, a
// session loader...) on the Engine.IO handshake requests of the Socket.IO
// route, before the adapter takes its snapshot; the other requests of a
// connection (polling, the WebSocket upgrade) skip it. A middleware that
// aborts refuses the connection: the client gets a connect_error. Values it
// sets with c.Set are visible to the sockets.
//
// Use it for middleware that must not run on every request of the route,
// typically one that reads an Authorization header that browsers cannot
// send on a WebSocket.
func WithHandshakeMiddleware(mw ...gin.HandlerFunc) Option {
	return func(c *config) { c.handshakes = append(c.handshakes, mw...) }
}

func newConfig(opts []Option) config {
	c := config{path: DefaultPath}
	for _, o := range opts {
		o(&c)
	}
	c.path = "/" + strings.Trim(c.path, "/")
	return c
}

// Mount serves io on r, a gin engine or route group, at the path set by
// [WithPath] (default "/socket.io"): it registers r.Any(path) and
// r.Any(path+"/*any"), so every method the protocol uses reaches io with or
// without the trailing slash, and gin's trailing-slash redirect never gets
// in the way. Middleware of r (r.Use, the group's) runs on every request of
// the route; see [WithHandshakeMiddleware] for middleware that must run on
// handshakes only.
//
// Mounting at the root of r ([WithPath]("/")) registers the group's own
// path and a wildcard route, which then catches every path of the group
// that no other route matches.
func Mount(r gin.IRoutes, io *core.Server, opts ...Option) {
	cfg := newConfig(opts)
	handlers := cfg.handlers(io)
	if cfg.path == "/" {
		// The group's own path, then everything under it.
		if g, ok := r.(interface{ BasePath() string }); ok && g.BasePath() != "/" {
			r.Any("", handlers...)
		}
		r.Any("/*any", handlers...)
		return
	}
	r.Any(cfg.path, handlers...)
	r.Any(cfg.path+"/*any", handlers...)
}

// Handler returns a gin handler serving io, with the context bridge, for
// routes registered by hand (for instance r.GET and r.POST on a path of
// your choosing). The path is whatever route the handler is registered on;
// the handshake middleware of [WithHandshakeMiddleware] is not included:
// put it in front of the handler yourself, behind a check of
// [core.IsHandshake].
func Handler(io *core.Server) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if core.IsHandshake(r) {
			r = r.WithContext(newContext(r.Context(), c))
		}
		io.ServeHTTP(c.Writer, r)
	}
}

func (cfg *config) handlers(io *core.Server) []gin.HandlerFunc {
	hs := make([]gin.HandlerFunc, 0, len(cfg.handshakes)+1)
	for _, mw := range cfg.handshakes {
		hs = append(hs, handshakeOnly(mw))
	}
	return append(hs, Handler(io))
}

// handshakeOnly runs mw on Engine.IO handshakes; on other requests the
// chain goes on without it.
func handshakeOnly(mw gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if core.IsHandshake(c.Request) {
			mw(c)
		}
	}
}

type ctxKey struct{}

// newContext returns ctx carrying a snapshot of c.
func newContext(ctx context.Context, c *gin.Context) context.Context {
	loadSessions(c)
	return context.WithValue(ctx, ctxKey{}, c.Copy())
}
