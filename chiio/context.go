package chiio

import (
	"context"

	"github.com/go-chi/chi/v5"
)

// URLParam returns the value of the URL parameter key of the handshake's
// route (for instance "tenant" when Socket.IO is mounted under
// "/t/{tenant}"), read from ctx (typically [core.Socket.Context]); it is
// chi.URLParamFromCtx.
//
// [core.Socket.Context]: https://pkg.go.dev/github.com/e347a4c2/socketio/core#Socket.Context
func URLParam(ctx context.Context, key string) string { return chi.URLParamFromCtx(ctx, key) }

// Value returns the value of ctx for key (which a middleware of the
// handshake request put there with context.WithValue), if it has type T.
func Value[T any](ctx context.Context, key any) (T, bool) {
	v, ok := ctx.Value(key).(T)
	return v, ok
}
