// Package chiio mounts a Socket.IO server ([core.Server]) on a chi router,
// and makes chi's URL parameters of the handshake request readable from the
// sockets.
//
//	r := chi.NewRouter()
//	r.Use(currentUser) // the app's middleware: puts the user into r.Context()
//	io := core.NewServer()
//	r.Route("/t/{tenant}", func(r chi.Router) {
//		chiio.Mount(r, io) // /t/{tenant}/socket.io and /t/{tenant}/socket.io/*
//	})
//	io.Use(func(s *core.Socket) error {
//		user, ok := chiio.Value[*User](s.Context(), userKey{})
//		tenant := chi.URLParamFromCtx(s.Context(), "tenant")
//		...
//	})
//
// # Context bridging
//
// chi middleware stores its values in the request's context, which the
// core keeps for the connection ([Socket.Context] derives from it), so they
// are readable from connection middleware and event handlers as they are.
// chi's routing context (*chi.Context, holding the URL parameters) is
// pooled, though, and recycled once the request is served: on an Engine.IO
// handshake (and only then) the adapter replaces it in the request's
// context with a copy, so that chi.URLParamFromCtx, chi.RouteContext and
// [URLParam] work inside sockets.
//
// # Authentication
//
// A browser cannot put an Authorization header on a WebSocket: an auth
// middleware that checks headers on every request of the Socket.IO route
// refuses the upgrade and leaves the client on long-polling. Check
// credentials on the handshake only, from a cookie, the query or the
// Socket.IO auth payload (s.Handshake().Auth in io.Use):
// [WithHandshakeMiddleware] runs middleware on the handshake requests of the
// Socket.IO route, and nowhere else. The later requests of a connection
// carry its unguessable session ID, as in the Node.js reference, whose
// allowRequest also runs on handshakes only.
//
// [Socket.Context]: https://pkg.go.dev/github.com/e347a4c2/socketio/core#Socket.Context
package chiio

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/e347a4c2/socketio/core"
)

// DefaultPath is where [Mount] serves Socket.IO unless [WithPath] says
// otherwise; it is the default path of the official clients.
const DefaultPath = "/socket.io"

// Option configures [Mount].
type Option func(*config)

type config struct {
	path       string
	handshakes []func(http.Handler) http.Handler
}

// WithPath sets the path Socket.IO is mounted on, relative to the router
// given to [Mount] (default "/socket.io"). The clients' path option must
// name the same path, with the prefix of the routes the router is under.
func WithPath(path string) Option { return func(c *config) { c.path = path } }

// WithHandshakeMiddleware runs middleware (an authentication check, a
// session loader...) on the Engine.IO handshake requests of the Socket.IO
// route; the other requests of a connection (polling, the WebSocket
// upgrade) skip it. A middleware that answers instead of calling its next
// handler refuses the connection: the client gets a connect_error. Values
// it puts into the request's context are visible to the sockets.
//
// Use it for middleware that must not run on every request of the route,
// typically one that reads an Authorization header that browsers cannot
// send on a WebSocket.
func WithHandshakeMiddleware(mw ...func(http.Handler) http.Handler) Option {
	return func(c *config) { c.handshakes = append(c.handshakes, mw...) }
}

// Mount serves io on r at the path set by [WithPath] (default
// "/socket.io"): it registers r.Handle(path) and r.Handle(path+"/*") for
// every method, so requests reach io with or without the trailing slash.
// Middleware of r (r.Use, r.With, r.Group, r.Route) runs on every request
// of the route; see [WithHandshakeMiddleware] for middleware that must run
// on handshakes only.
func Mount(r chi.Router, io *core.Server, opts ...Option) {
	cfg := config{path: DefaultPath}
	for _, o := range opts {
		o(&cfg)
	}
	path := "/" + strings.Trim(cfg.path, "/")
	mws := make([]func(http.Handler) http.Handler, len(cfg.handshakes))
	for i, mw := range cfg.handshakes {
		mws[i] = handshakeOnly(mw)
	}
	if len(mws) > 0 {
		r = r.With(mws...)
	}
	h := Handler(io)
	if path != "/" {
		r.Handle(path, h)
	}
	r.Handle(strings.TrimSuffix(path, "/")+"/*", h)
}

// Handler returns io wrapped in the context bridge, for routes registered
// by hand.
func Handler(io *core.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if core.IsHandshake(r) {
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, cloneRouteContext(rctx)))
			}
		}
		io.ServeHTTP(w, r)
	})
}

// handshakeOnly applies mw to Engine.IO handshakes only.
func handshakeOnly(mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		wrapped := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if core.IsHandshake(r) {
				wrapped.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// cloneRouteContext copies what a handler can read of a chi routing
// context: the routes, the routing path and method, the URL parameters and
// the route patterns.
func cloneRouteContext(rctx *chi.Context) *chi.Context {
	c := chi.NewRouteContext()
	c.Routes = rctx.Routes
	c.RoutePath = rctx.RoutePath
	c.RouteMethod = rctx.RouteMethod
	c.URLParams.Keys = slices.Clone(rctx.URLParams.Keys)
	c.URLParams.Values = slices.Clone(rctx.URLParams.Values)
	c.RoutePatterns = slices.Clone(rctx.RoutePatterns)
	return c
}
