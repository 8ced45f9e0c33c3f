package redisadapter_test

import (
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// TestMiniredis runs the basic cluster operations on miniredis, an
// in-process Redis: fast, and independent of redis-server.
func TestMiniredis(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	a := newNode(t, "a", mr.Addr(), nodeOptions{})
	b := newNode(t, "b", mr.Addr(), nodeOptions{})
	waitServers(t, 2, a, b)
	ctx := testContext(t)
	a1 := a.connect(t, clientOptions{})
	b1 := b.connect(t, clientOptions{})
	call(t, b1, "join", "r")
	if err := a.io.To("r").Emit("hello", []byte{1}, map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, b1, "hello", []byte{1}, map[string]any{"x": 1})
	if err := b.io.Emit("all"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, a1, "all")
	expectEvent(t, b1, "all")
	sockets, err := a.io.FetchSockets(ctx)
	if err != nil || len(sockets) != 2 {
		t.Fatalf("FetchSockets: %d, %v", len(sockets), err)
	}
}
