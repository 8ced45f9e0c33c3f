package browsertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/nodetest"
)

// Serve serves the app h, holding the Socket.IO server io, on 127.0.0.1
// until the test ends; then io shuts down first, as the examples do, and
// the HTTP server after it.
func Serve(t testing.TB, h http.Handler, io *core.Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := io.Shutdown(ctx); err != nil {
			t.Errorf("socket.io shutdown: %v", err)
		}
	})
	return ts
}

// Example runs test/node/examples/examples.mjs for the example name
// against baseURL and returns what its clients saw, as JSON text.
func Example(t testing.TB, baseURL, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return nodetest.Run(t, ctx, "examples/examples.mjs", map[string]string{"BASE_URL": baseURL, "EXAMPLE": name})
}
