package echoio

import (
	"context"
	"maps"
)

func fromContext(ctx context.Context) (*snapshot, bool) {
	s, ok := ctx.Value(ctxKey{}).(*snapshot)
	return s, ok
}

// Value returns the value the handshake's echo.Context held under key
// (one of the keys of [WithKeys], or of a [WithSnapshot] result), if ctx
// (typically [core.Socket.Context]) carries a snapshot with such a value
// of type T. For echo-jwt's token:
//
//	tok, ok := echoio.Value[*jwt.Token](s.Context(), "user")
//
// [core.Socket.Context]: https://pkg.go.dev/github.com/e347a4c2/socketio/core#Socket.Context
func Value[T any](ctx context.Context, key string) (T, bool) {
	var zero T
	s, ok := fromContext(ctx)
	if !ok {
		return zero, false
	}
	v, ok := s.values[key].(T)
	return v, ok
}

// Values returns a copy of every value of the handshake's snapshot that ctx
// carries, or nil.
func Values(ctx context.Context) map[string]any {
	s, ok := fromContext(ctx)
	if !ok {
		return nil
	}
	return maps.Clone(s.values)
}

// Param returns the value of the path parameter name of the handshake's
// route (for instance "tenant" when Socket.IO is mounted in a group
// "/t/:tenant"), or "".
func Param(ctx context.Context, name string) string {
	s, ok := fromContext(ctx)
	if !ok {
		return ""
	}
	for i, n := range s.names {
		if n == name {
			return s.params[i]
		}
	}
	return ""
}
