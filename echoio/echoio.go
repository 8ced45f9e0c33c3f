// Package echoio mounts a Socket.IO server ([core.Server]) on an Echo v4
// instance or group, and makes what Echo's middleware established for the
// handshake request readable from the sockets.
//
//	e := echo.New()
//	io := core.NewServer()
//	echoio.Mount(e, io, echoio.WithHandshakeMiddleware(echojwt.WithConfig(echojwt.Config{
//		SigningKey:  key,
//		TokenLookup: "query:token,cookie:token,header:Authorization:Bearer ",
//	})))
//	io.Use(func(s *core.Socket) error {
//		tok, ok := echoio.Value[*jwt.Token](s.Context(), "user") // stored by echo-jwt
//		if !ok {
//			return &core.ConnectError{Message: "unauthorized"}
//		}
//		sub, _ := tok.Claims.GetSubject()
//		s.SetData(sub)
//		return nil
//	})
//
// # Context bridging
//
// Echo keeps the values of c.Set in its pooled echo.Context, whose store
// cannot be listed, and recycles the Context once the request is served.
// On an Engine.IO handshake (and only then) the adapter copies the values
// of the keys named by [WithKeys] (default "user", where echo-jwt stores
// its *jwt.Token), whatever [WithSnapshot] returns, and the route's path
// parameters into an immutable snapshot in the request's context, which the
// core keeps for the connection: [Socket.Context] carries it to connection
// middleware and event handlers, read with [Value], [Values] and [Param].
// Values stored in the request's context itself (c.SetRequest with
// context.WithValue) are carried as they are.
//
// # Authentication
//
// A browser cannot put an Authorization header on a WebSocket: an auth
// middleware that checks headers on every request of the Socket.IO route
// refuses the upgrade and leaves the client on long-polling. Check
// credentials on the handshake only, from the query, a cookie or the
// Socket.IO auth payload (s.Handshake().Auth in io.Use):
// [WithHandshakeMiddleware] runs Echo middleware on the handshake requests
// of the Socket.IO route, and nowhere else. The later requests of a
// connection carry its unguessable session ID, as in the Node.js reference,
// whose allowRequest also runs on handshakes only.
//
// [Socket.Context]: https://pkg.go.dev/github.com/e347a4c2/socketio/core#Socket.Context
package echoio

import (
	"context"
	"maps"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/e347a4c2/socketio/core"
)

// DefaultPath is where [Mount] serves Socket.IO unless [WithPath] says
// otherwise; it is the default path of the official clients.
const DefaultPath = "/socket.io"

// DefaultKey is the key [Mount] copies from the echo.Context by default:
// the one under which labstack/echo-jwt stores the request's token.
const DefaultKey = "user"

// Router is where [Mount] registers its routes: an *echo.Echo or an
// *echo.Group.
type Router interface {
	// Any registers handler for every HTTP method on path.
	Any(path string, handler echo.HandlerFunc, middleware ...echo.MiddlewareFunc) []*echo.Route
}

// Option configures [Mount] and [Handler].
type Option func(*config)

type config struct {
	path       string
	keys       []string
	snapshot   []func(echo.Context) map[string]any
	handshakes []echo.MiddlewareFunc
}

// WithPath sets the path Socket.IO is mounted on, relative to the Echo
// instance or group given to [Mount] (default "/socket.io"). The clients'
// path option must name the same path, with the group's prefix.
func WithPath(path string) Option { return func(c *config) { c.path = path } }

// WithKeys sets the keys of the echo.Context (c.Get) whose values are
// copied at the handshake, replacing the default "user".
func WithKeys(keys ...string) Option { return func(c *config) { c.keys = keys } }

// WithSnapshot adds fn, called on each handshake request, whose result is
// added to the snapshot (over the values of [WithKeys]): for values that
// need converting, or whose keys are not known in advance. fn runs on the
// request's goroutine and must not keep c.
func WithSnapshot(fn func(c echo.Context) map[string]any) Option {
	return func(c *config) { c.snapshot = append(c.snapshot, fn) }
}

// WithHandshakeMiddleware runs Echo middleware (echo-jwt, key-auth, a
// session loader...) on the Engine.IO handshake requests of the Socket.IO
// route, before the snapshot is taken; the other requests of a connection
// (polling, the WebSocket upgrade) skip it. A middleware that returns an
// error refuses the connection (Echo's error handler answers it): the
// client gets a connect_error. Values it sets with c.Set under the keys of
// [WithKeys] are visible to the sockets.
//
// Use it for middleware that must not run on every request of the route,
// typically one that reads an Authorization header that browsers cannot
// send on a WebSocket.
func WithHandshakeMiddleware(mw ...echo.MiddlewareFunc) Option {
	return func(c *config) { c.handshakes = append(c.handshakes, mw...) }
}

func newConfig(opts []Option) config {
	c := config{path: DefaultPath, keys: []string{DefaultKey}}
	for _, o := range opts {
		o(&c)
	}
	c.path = "/" + strings.Trim(c.path, "/")
	return c
}

// Mount serves io on r, an *echo.Echo or *echo.Group, at the path set by
// [WithPath] (default "/socket.io"): it registers r.Any(path) and
// r.Any(path+"/*"), so every method the protocol uses reaches io with or
// without the trailing slash. Middleware of r (e.Use, the group's) runs on
// every request of the route; see [WithHandshakeMiddleware] for middleware
// that must run on handshakes only.
func Mount(r Router, io *core.Server, opts ...Option) {
	cfg := newConfig(opts)
	h := cfg.handler(io)
	mws := make([]echo.MiddlewareFunc, len(cfg.handshakes))
	for i, mw := range cfg.handshakes {
		mws[i] = handshakeOnly(mw)
	}
	if cfg.path != "/" {
		r.Any(cfg.path, h, mws...)
	} else if _, ok := r.(*echo.Group); ok {
		r.Any("", h, mws...) // the group's own path
	}
	r.Any(strings.TrimSuffix(cfg.path, "/")+"/*", h, mws...)
}

// Handler returns an Echo handler serving io, with the context bridge
// configured by opts ([WithPath] and [WithHandshakeMiddleware] aside), for
// routes registered by hand.
func Handler(io *core.Server, opts ...Option) echo.HandlerFunc {
	cfg := newConfig(opts)
	return cfg.handler(io)
}

func (cfg *config) handler(io *core.Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if core.IsHandshake(r) {
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, cfg.take(c)))
		}
		io.ServeHTTP(c.Response(), r)
		return nil
	}
}

// handshakeOnly applies mw to Engine.IO handshakes only.
func handshakeOnly(mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		wrapped := mw(next)
		return func(c echo.Context) error {
			if core.IsHandshake(c.Request()) {
				return wrapped(c)
			}
			return next(c)
		}
	}
}

type ctxKey struct{}

// snapshot is what the adapter keeps of a handshake's echo.Context.
type snapshot struct {
	values map[string]any
	names  []string
	params []string
}

func (cfg *config) take(c echo.Context) *snapshot {
	s := &snapshot{values: make(map[string]any, len(cfg.keys))}
	for _, k := range cfg.keys {
		if v := c.Get(k); v != nil {
			s.values[k] = v
		}
	}
	for _, fn := range cfg.snapshot {
		maps.Copy(s.values, fn(c))
	}
	// ParamValues may be longer than ParamNames (Echo sizes it for the
	// router's largest route).
	names, values := c.ParamNames(), c.ParamValues()
	n := min(len(names), len(values))
	s.names = append([]string(nil), names[:n]...)
	s.params = append([]string(nil), values[:n]...)
	return s
}
