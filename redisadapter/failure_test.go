package redisadapter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/redistest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// crossNode waits until a broadcast of from reaches s again (after an
// outage), then drains the probes.
func crossNode(t *testing.T, from *node, s *siotest.Socket) {
	t.Helper()
	room := s.ID()
	for i := 0; ; i++ {
		if err := from.io.To(core.Room(room)).Emit("probe", i); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		e, err := s.NextEvent(ctx)
		cancel()
		if err == nil && e.Name == "probe" {
			break
		}
		if i > int(wait/(300*time.Millisecond)) {
			t.Fatalf("broadcasts from %s do not come back", from.name)
		}
	}
	if err := from.io.To(core.Room(room)).Emit("drained"); err != nil {
		t.Fatal(err)
	}
	for e := next(t, s); e.Name != "drained"; e = next(t, s) {
		if e.Name != "probe" {
			t.Fatalf("unexpected event %q while draining", e.Name)
		}
	}
}

// TestRedisRestart stops Redis while two nodes run, then starts it again.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	rs, a, b := cluster(t, nodeOptions{})
	ctx := testContext(t)
	a1 := a.connect(t, clientOptions{})
	b1 := b.connect(t, clientOptions{})
	call(t, a1, "join", "r")
	call(t, b1, "join", "r")
	crossNode(t, a, b1)

	rs.Stop()

	// Local delivery goes on; what waits for the cluster fails.
	if err := a.io.To("r").Emit("while down"); err != nil {
		t.Fatalf("Emit while Redis is down: %v", err)
	}
	expectEvent(t, a1, "while down")
	if _, err := a.io.FetchSockets(ctx); err == nil {
		t.Error("FetchSockets succeeded without Redis")
	}
	if _, err := a.io.Timeout(time.Second).EmitWithAck(ctx, "q"); err == nil {
		t.Error("EmitWithAck succeeded without Redis")
	}
	if _, err := a.io.Of("/").ServerSideEmitWithAck(ctx, "q"); err == nil {
		t.Error("ServerSideEmitWithAck succeeded without Redis")
	}
	if err := a.io.In(core.Room(a1.ID())).SocketsJoin(ctx, "joined while down"); err == nil {
		t.Error("SocketsJoin reported no error without Redis")
	}
	if rooms, _ := call(t, a1, "rooms")[0].([]any); len(rooms) != 3 {
		t.Errorf("the local socket did not join: %v", rooms)
	}
	if local, err := a.io.Local().FetchSockets(ctx); err != nil || len(local) != 1 {
		t.Errorf("local FetchSockets without Redis: %d, %v", len(local), err)
	}
	eventually(t, "the lost subscription logged", func() bool {
		return a.logs.contains("subscription connection lost") && b.logs.contains("subscription connection lost")
	})
	eventually(t, "the failed publication logged", func() bool { return a.logs.contains("publishing failed") })

	rs.Restart()

	waitServers(t, 2, a, b)
	crossNode(t, a, b1)
	crossNode(t, b, a1)
	eventually(t, "the restored subscription logged", func() bool {
		return a.logs.contains("subscription connection restored") && b.logs.contains("subscription connection restored")
	})
	sockets, err := b.io.FetchSockets(ctx)
	if err != nil || len(sockets) != 2 {
		t.Fatalf("FetchSockets after the restart: %d, %v", len(sockets), err)
	}
	t.Logf("a's log:\n%s", a.logs)
}

// TestRedisAbsentAtStart starts the nodes before Redis.
func TestRedisAbsentAtStart(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	rs.Stop()
	a := newNode(t, "a", rs.Addr(), nodeOptions{})
	b := newNode(t, "b", rs.Addr(), nodeOptions{})
	a1 := a.connect(t, clientOptions{})
	b1 := b.connect(t, clientOptions{})
	call(t, a1, "join", "r")
	call(t, b1, "join", "r")
	if err := a.io.Emit("local"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, a1, "local")
	if _, err := a.io.Of("/").Adapter().ServerCount(context.Background()); err == nil {
		t.Error("ServerCount without Redis: no error")
	}

	rs.Restart()

	waitServers(t, 2, a, b)
	crossNode(t, a, b1)
	crossNode(t, b, a1)
}

// TestShutdown: a node that shuts down unsubscribes and stops its
// goroutines (goleak checks the latter for the whole package); the broker
// serves again when a new namespace needs it.
func TestShutdown(t *testing.T) {
	t.Parallel()
	_, a, b := cluster(t, nodeOptions{})
	ctx := testContext(t)
	a.io.Of("/chat")
	b.io.Of("/chat")
	waitCount := func(channel string, want int64) {
		t.Helper()
		eventually(t, fmt.Sprintf("%s has %d subscribers", channel, want), func() bool {
			m, err := a.rdb.PubSubNumSub(ctx, channel).Result()
			return err == nil && m[channel] == want
		})
	}
	waitCount("socket.io-request#/chat#", 2)
	if err := b.io.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitCount("socket.io-request#/#", 1)
	waitCount("socket.io-request#/chat#", 1)
	waitCount("socket.io-response#/#", 1)
	pats, err := a.rdb.PubSubNumPat(ctx).Result()
	if err != nil || pats != 2 {
		t.Errorf("%d patterns subscribed, %v; want 2 (a's)", pats, err)
	}

	// An explicit Close: the namespaces work on this node alone.
	if err := a.broker.Close(); err != nil {
		t.Fatal(err)
	}
	waitCount("socket.io-request#/#", 0)
	if n, err := a.io.Of("/").Adapter().ServerCount(ctx); n != 1 || err != nil {
		t.Errorf("ServerCount after Close: %d, %v", n, err)
	}
	a1 := a.connect(t, clientOptions{})
	if err := a.io.Emit("alone"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, a1, "alone")
	if s, err := a.io.FetchSockets(ctx); err != nil || len(s) != 1 {
		t.Errorf("FetchSockets after Close: %d, %v", len(s), err)
	}
}

// TestDynamicNamespace: a node's namespace created after the start is
// subscribed and unsubscribed with it.
func TestDynamicNamespace(t *testing.T) {
	t.Parallel()
	_, a, b := cluster(t, nodeOptions{
		core: []core.Option{core.WithCleanupEmptyChildNamespaces(true)},
		setup: func(io *core.Server) {
			io.OfFunc(func(name string, _ map[string]any) bool { return len(name) > 6 && name[:6] == "/room-" })
		},
	})
	ctx := testContext(t)
	a1 := a.connect(t, clientOptions{nsp: "/room-[x]"})
	b1 := b.connect(t, clientOptions{nsp: "/room-[x]"})
	nsp := a.io.Of("/room-[x]")
	eventually(t, "two servers in /room-[x]", func() bool {
		n, err := nsp.Adapter().ServerCount(ctx)
		return err == nil && n == 2
	})
	if err := nsp.Emit("hi"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, a1, "hi")
	expectEvent(t, b1, "hi")
	// The escaped pattern: "/room-x" is another namespace.
	other := b.io.Of("/room-x")
	if err := other.Emit("not for /room-[x]"); err != nil {
		t.Fatal(err)
	}
	if err := b.io.Of("/room-[x]").Emit("marker"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, a1, "marker")

	// The child namespace of b goes away with its last socket: its adapter
	// unsubscribes, while b's other namespaces stay.
	if err := b1.Disconnect(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "one server in /room-[x]", func() bool {
		n, err := nsp.Adapter().ServerCount(ctx)
		return err == nil && n == 1
	})
	if n, err := a.io.Of("/").Adapter().ServerCount(ctx); err != nil || n != 2 {
		t.Errorf("servers in /: %d, %v", n, err)
	}
}
