package ginio

import (
	"context"
	"reflect"

	"github.com/gin-gonic/gin"
)

// FromContext returns the copy of the *gin.Context of the handshake request
// that ctx carries (ctx is typically [core.Socket.Context]). Its Keys,
// Params and Request are those of the handshake; read them, but do not
// write a response through it: that request was answered long ago.
//
// [core.Socket.Context]: https://pkg.go.dev/github.com/e347a4c2/socketio/core#Socket.Context
func FromContext(ctx context.Context) (*gin.Context, bool) {
	gc, ok := ctx.Value(ctxKey{}).(*gin.Context)
	return gc, ok
}

// Value returns the value that gin middleware stored with c.Set(key, ...)
// during the handshake request, if ctx carries a snapshot of that request
// and the value has type T.
func Value[T any](ctx context.Context, key any) (T, bool) {
	var zero T
	gc, ok := FromContext(ctx)
	if !ok {
		return zero, false
	}
	v, ok := gc.Get(key)
	if !ok {
		return zero, false
	}
	t, ok := v.(T)
	return t, ok
}

// Param returns the value of the URL parameter name of the handshake's
// route (for instance "tenant" when Socket.IO is mounted in a group
// "/t/:tenant"), or "" when ctx carries no snapshot or the route has no
// such parameter.
func Param(ctx context.Context, name string) string {
	gc, ok := FromContext(ctx)
	if !ok {
		return ""
	}
	return gc.Param(name)
}

// sessionsKey is gin-contrib/sessions' DefaultKey, under which its
// middleware stores a sessions.Session (Sessions) or a
// map[string]sessions.Session (SessionsMany).
const sessionsKey = "github.com/gin-contrib/sessions"

// lazySession is the part of gin-contrib/sessions' Session that loads it:
// ID reads the session from the request's cookie (or store) on first use.
type lazySession interface {
	ID() string
	Get(key any) any
	Save() error
}

// loadSessions loads the gin-contrib/sessions sessions of c now, on the
// request's goroutine: loading one later would read (and, with gorilla's
// registry, write) the handshake request after it was answered, racing
// with the HTTP server.
func loadSessions(c *gin.Context) {
	v, ok := c.Get(sessionsKey)
	if !ok {
		return
	}
	if s, ok := v.(lazySession); ok {
		_ = s.ID()
		return
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map {
		return
	}
	for it := rv.MapRange(); it.Next(); {
		if s, ok := reflect.TypeAssert[lazySession](it.Value()); ok {
			_ = s.ID()
		}
	}
}
