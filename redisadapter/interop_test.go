package redisadapter_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/nodetest"
	"github.com/e347a4c2/socketio/internal/redistest"
)

// TestNodeInterop puts a Go server and a Node server (socket.io 4.8 with
// @socket.io/redis-adapter 8.3) in one cluster on a real redis-server;
// test/node/redis/interop.mjs runs every cluster operation both ways with
// socket.io-client clients on each.
func TestNodeInterop(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	g := newNode(t, "go", rs.Addr(), nodeOptions{setup: func(io *core.Server) { installOps(io, "go") }})
	waitServers(t, 1, g)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lines := nodetest.RunJSON(t, ctx, "redis/interop.mjs", map[string]string{"GO_URL": g.ts.URL, "REDIS_URL": rs.URL()})
	want := []string{
		"two servers in the cluster",
		"broadcast to a room, go to node",
		"broadcast to a room, node to go",
		"broadcast to all, both ways",
		"except, both ways",
		"local broadcasts stay local, both ways",
		"volatile broadcasts cross, both ways",
		"emitWithAck, go to node: every client answers",
		"emitWithAck, node to go: every client answers",
		"emitWithAck to a room of the other server, both ways",
		"fetchSockets, go fetches node's sockets",
		"fetchSockets, node fetches go's sockets",
		"remote socket emit, join, leave, go to node",
		"remote socket emit, join, leave, node to go",
		"socketsJoin and socketsLeave, both ways",
		"allRooms, both ways",
		"serverSideEmit, both ways",
		"serverSideEmitWithAck, both ways",
		"disconnectSockets and remote disconnect, both ways",
		"disconnected sockets are gone everywhere",
	}
	got := map[string]bool{}
	for _, l := range lines {
		if testing.Verbose() {
			b, _ := json.Marshal(l)
			t.Logf("%.300s", b)
		}
		name, _ := l["check"].(string)
		got[name] = true
		if ok, _ := l["ok"].(bool); !ok {
			detail, _ := json.Marshal(l["detail"])
			t.Errorf("%s: failed: %s", name, detail)
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("%s: not reported", w)
		}
	}
	if t.Failed() {
		t.Logf("go node's log:\n%s", g.logs)
	}
}
