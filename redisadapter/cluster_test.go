package redisadapter_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/internal/redistest"
	"github.com/e347a4c2/socketio/internal/siotest"
	"github.com/e347a4c2/socketio/redisadapter"
)

// normalize turns v into what JSON would make of it, []byte kept apart.
func normalize(v any) any {
	switch v := v.(type) {
	case []byte:
		return map[string]any{"$bin": hex.EncodeToString(v)}
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	if m, ok := out.(map[string]any); ok {
		return normalize(m)
	}
	if l, ok := out.([]any); ok {
		return normalize(l)
	}
	return out
}

func equalJSON(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// cluster starts Redis and two Go nodes, a and b, that see each other.
func cluster(t *testing.T, o nodeOptions) (*redistest.Server, *node, *node) {
	t.Helper()
	rs := redistest.Start(t)
	a := newNode(t, "a", rs.Addr(), o)
	b := newNode(t, "b", rs.Addr(), o)
	waitServers(t, 2, a, b)
	return rs, a, b
}

// TestGoGo runs the cluster operations between two Go servers sharing a
// real redis-server, clients on each.
func TestGoGo(t *testing.T) {
	t.Parallel()
	_, a, b := cluster(t, nodeOptions{setup: func(io *core.Server) {
		io.Of("/").OnServerSideEmit("hello", func(e *core.ServerEvent) {
			if e.WantsAck() {
				_ = e.Ack(map[string]any{"got": e.Args, "from": "go"}, "second argument is not sent")
			}
		})
	}})
	ctx := testContext(t)
	a1 := a.connect(t, clientOptions{})
	b1 := b.connect(t, clientOptions{auth: map[string]any{"token": "b1"}, query: map[string]string{"x": "1"}})
	b2 := b.connect(t, clientOptions{})
	call(t, a1, "join", "room1")
	call(t, b1, "join", "room1")
	call(t, b2, "join", "room2")

	t.Run("broadcast", func(t *testing.T) {
		bin := []byte{0, 1, 2, 255}
		payload := map[string]any{"n": 1.5, "i": 42, "s": "é", "nil": nil, "list": []any{true, "x"}, "bin": bin}
		if err := a.io.To("room1").Emit("to room1", payload, bin); err != nil {
			t.Fatal(err)
		}
		if err := a.io.Emit("to all", 1); err != nil {
			t.Fatal(err)
		}
		expectEvent(t, a1, "to room1", payload, bin)
		expectEvent(t, b1, "to room1", payload, bin)
		expectEvent(t, a1, "to all", 1)
		expectEvent(t, b1, "to all", 1)
		expectEvent(t, b2, "to all", 1) // b2 is not in room1: "to all" comes first
	})

	t.Run("except", func(t *testing.T) {
		// Broadcasts of different nodes may come in any order: each is
		// received before the next.
		if err := b.io.Except("room2").Emit("not room2", "x"); err != nil {
			t.Fatal(err)
		}
		expectEvent(t, a1, "not room2", "x")
		expectEvent(t, b1, "not room2", "x")
		if err := a.io.To("room1", "room2").Except(core.Room(b1.ID())).Emit("rooms but b1"); err != nil {
			t.Fatal(err)
		}
		if err := a.io.Emit("marker"); err != nil {
			t.Fatal(err)
		}
		expectEvent(t, a1, "rooms but b1")
		expectEvent(t, b2, "rooms but b1")
		expectEvent(t, a1, "marker")
		expectEvent(t, b1, "marker")
		expectEvent(t, b2, "marker")
	})

	t.Run("local and volatile", func(t *testing.T) {
		if err := a.io.Local().Emit("local only"); err != nil {
			t.Fatal(err)
		}
		expectEvent(t, a1, "local only")
		// A volatile packet is dropped when the recipient's transport is
		// busy at that moment (as in the reference), which a loaded machine
		// can make happen to any one of them: the flag must cross the
		// cluster, so try a few times, each followed by a marker.
		for try := 1; ; try++ {
			if err := a.io.Volatile().To("room2").Emit("volatile"); err != nil {
				t.Fatal(err)
			}
			if err := a.io.Emit("marker"); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, a1, "marker")
			expectEvent(t, b1, "marker")
			e := next(t, b2)
			if e.Name == "volatile" {
				expectEvent(t, b2, "marker")
				break
			}
			if e.Name != "marker" || try == 5 {
				t.Fatalf("try %d: got event %q %v, want \"volatile\" then \"marker\"", try, e.Name, e.Args)
			}
		}
	})

	t.Run("order", func(t *testing.T) {
		const n = 200
		for i := range n {
			if err := a.io.To("room2").Emit("seq", i); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			expectEvent(t, b2, "seq", i)
		}
	})

	t.Run("broadcast with acks", func(t *testing.T) {
		for _, s := range []*siotest.Socket{a1, b1, b2} {
			id := s.ID()
			autoAck(s, func(e *siotest.Event) []any {
				return []any{map[string]any{"id": id, "got": e.Args}, "ignored"}
			})
		}
		acks, err := b.io.Timeout(wait).EmitWithAck(ctx, "question", 7, []byte("bin"))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ack := range acks {
			// Answers relayed by another node carry their first argument
			// only (as with the Node adapter), and no socket ID.
			if want := map[bool]int{true: 2, false: 1}[ack.SocketID != ""]; ack.Len() != want {
				t.Errorf("ack from %q has %d arguments, want %d", ack.SocketID, ack.Len(), want)
			}
			var v struct {
				ID  string
				Got []any
			}
			if err := ack.Arg(0, &v); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, v.ID)
			if ack.SocketID != "" && ack.SocketID != v.ID {
				t.Errorf("ack of %s reported for %s", v.ID, ack.SocketID)
			}
			vals, _ := ack.Values()
			m, _ := vals[0].(map[string]any)
			got, _ := m["got"].([]any)
			if len(got) != 2 || !equalJSON(got[1], []byte("bin")) || !equalJSON(got[0], 7) {
				t.Errorf("ack of %s: the client got %#v", v.ID, m["got"])
			}
		}
		want := []string{a1.ID(), b1.ID(), b2.ID()}
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("acks from %v, want %v", ids, want)
		}
		// To a room of the other node only.
		acks, err = a.io.To("room2").Timeout(wait).EmitWithAck(ctx, "question", 8)
		if err != nil {
			t.Fatal(err)
		}
		if len(acks) != 1 || acks[0].SocketID != "" {
			t.Fatalf("acks %+v, want one relayed from b", acks)
		}
	})
}

// TestGoGoSockets covers fetchSockets, socketsJoin/Leave,
// disconnectSockets and the remote sockets' methods, the nodes answering
// on each other's own response channel.
func TestGoGoSockets(t *testing.T) {
	t.Parallel()
	_, a, b := cluster(t, nodeOptions{adapter: &redisadapter.Options{PublishOnSpecificResponseChannel: true}})
	ctx := testContext(t)
	a1 := a.connect(t, clientOptions{})
	b1 := b.connect(t, clientOptions{auth: map[string]any{"token": "abc", "n": 1}, query: map[string]string{"q": "v"}})
	b2 := b.connect(t, clientOptions{})
	call(t, b1, "join", "r1")
	call(t, b1, "set data", map[string]any{"user": "bob", "age": 42, "bin": "not binary"})
	call(t, a1, "join", "r1")

	t.Run("fetch", func(t *testing.T) {
		sockets, err := a.io.In("r1").FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]*core.RemoteSocket{}
		for _, s := range sockets {
			byID[s.ID] = s
		}
		if len(sockets) != 2 || byID[a1.ID()] == nil || byID[b1.ID()] == nil {
			t.Fatalf("fetched %d sockets: %v", len(sockets), byID)
		}
		r := byID[b1.ID()]
		if !slices.Contains(r.Rooms, "r1") || !slices.Contains(r.Rooms, core.Room(b1.ID())) {
			t.Errorf("rooms %v", r.Rooms)
		}
		if !equalJSON(r.Data, map[string]any{"user": "bob", "age": 42, "bin": "not binary"}) {
			t.Errorf("data %#v", r.Data)
		}
		h := r.Handshake
		if h == nil {
			t.Fatal("no handshake")
		}
		if !equalJSON(h.Auth, map[string]any{"token": "abc", "n": 1}) {
			t.Errorf("auth %#v", h.Auth)
		}
		if h.Query.Get("q") != "v" || h.Query.Get("EIO") != "4" {
			t.Errorf("query %v", h.Query)
		}
		if h.Address != "127.0.0.1" || h.Headers.Get("User-Agent") == "" || !strings.Contains(h.URL, "q=v") {
			t.Errorf("handshake %+v", h)
		}
		if d := time.Since(h.Time); d < 0 || d > time.Minute {
			t.Errorf("handshake time %v", h.Time)
		}
		all, err := b.io.FetchSockets(ctx)
		if err != nil || len(all) != 3 {
			t.Fatalf("fetch all from b: %d sockets, %v", len(all), err)
		}
		local, err := b.io.Local().FetchSockets(ctx)
		if err != nil || len(local) != 2 {
			t.Fatalf("fetch local: %d sockets, %v", len(local), err)
		}
	})

	t.Run("remote socket", func(t *testing.T) {
		sockets, err := a.io.In(core.Room(b2.ID())).FetchSockets(ctx)
		if err != nil || len(sockets) != 1 {
			t.Fatalf("fetched %d, %v", len(sockets), err)
		}
		r := sockets[0]
		if err := r.Emit("direct", "hi"); err != nil {
			t.Fatal(err)
		}
		expectEvent(t, b2, "direct", "hi")
		if err := r.Join(ctx, "joined-remotely"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the remote join", func() bool {
			rooms := call(t, b2, "rooms")
			return equalJSON(rooms, []any{[]any{b2.ID(), "joined-remotely"}})
		})
		if err := r.Leave(ctx, "joined-remotely"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the remote leave", func() bool {
			return equalJSON(call(t, b2, "rooms"), []any{[]any{b2.ID()}})
		})
	})

	t.Run("sockets join and leave", func(t *testing.T) {
		if err := a.io.In("r1").SocketsJoin(ctx, "r1-copy"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b1 in r1-copy", func() bool {
			rooms, _ := call(t, b1, "rooms")[0].([]any)
			return slices.Contains(rooms, any("r1-copy"))
		})
		rooms, _ := call(t, a1, "rooms")[0].([]any)
		if !slices.Contains(rooms, any("r1-copy")) { // local: at once
			t.Errorf("a1 rooms %v", rooms)
		}
		all, err := a.io.Of("/").Adapter().AllRooms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []core.Room{"r1", "r1-copy", core.Room(b1.ID()), core.Room(b2.ID()), core.Room(a1.ID())} {
			if !slices.Contains(all, want) {
				t.Errorf("AllRooms %v lacks %q", all, want)
			}
		}
		if err := b.io.SocketsLeave(ctx, "r1-copy"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a1 out of r1-copy", func() bool {
			rooms, _ := call(t, a1, "rooms")[0].([]any)
			return !slices.Contains(rooms, any("r1-copy"))
		})
		ids, err := b.io.Of("/").Adapter().SocketIDs(ctx, &adapter.BroadcastOptions{Rooms: []adapter.Room{"r1"}})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		want := []string{a1.ID(), b1.ID()}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("SocketIDs(r1) = %v, want %v", ids, want)
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		if err := a.io.In(core.Room(b2.ID())).DisconnectSockets(ctx, false); err != nil {
			t.Fatal(err)
		}
		select {
		case <-b2.Disconnected():
		case <-time.After(wait):
			t.Fatal("b2 not disconnected")
		}
		eventually(t, "b2 gone", func() bool {
			sockets, err := b.io.FetchSockets(ctx)
			return err == nil && len(sockets) == 2
		})
	})
}

// TestServerSideEmit covers server-side events, with and without answers.
func TestServerSideEmit(t *testing.T) {
	t.Parallel()
	got := make(chan []any, 10)
	_, a, b := cluster(t, nodeOptions{setup: func(io *core.Server) {
		io.Of("/").OnServerSideEmit("ping", func(e *core.ServerEvent) {
			got <- e.Args
			if e.WantsAck() {
				_ = e.Ack(map[string]any{"pong": e.Args}, "dropped")
			}
		})
	}})
	ctx := testContext(t)
	if err := a.io.ServerSideEmit(ctx, "ping", 1, "two", []byte{3}); err != nil {
		t.Fatal(err)
	}
	select {
	case args := <-got:
		if !equalJSON(args, []any{1, "two", []byte{3}}) {
			t.Errorf("b got %#v", args)
		}
	case <-time.After(wait):
		t.Fatal("b did not get the event")
	}
	acks, err := b.io.Of("/").ServerSideEmitWithAck(ctx, "ping", map[string]any{"x": 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) != 1 || acks[0].Len() != 1 {
		t.Fatalf("acks %+v", acks)
	}
	v, _ := acks[0].Values()
	if !equalJSON(v, []any{map[string]any{"pong": []any{map[string]any{"x": 1}}}}) {
		t.Errorf("answer %#v", v)
	}
	<-got
}

// TestRequestTimeout: a node that never answers makes requests fail with
// ErrTimeout after RequestsTimeout.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	opts := &redisadapter.Options{RequestsTimeout: 300 * time.Millisecond}
	a := newNode(t, "a", rs.Addr(), nodeOptions{adapter: opts})
	waitServers(t, 1, a)
	// A silent node: subscribed to the request channel, answers nothing.
	silent := a.rdb.Subscribe(context.Background(), "socket.io-request#/#")
	t.Cleanup(func() { _ = silent.Close() })
	waitServers(t, 2, a)
	ctx := testContext(t)

	start := time.Now()
	_, err := a.io.FetchSockets(ctx)
	if !errors.Is(err, redisadapter.ErrTimeout) {
		t.Fatalf("FetchSockets: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("gave up after %v", d)
	}
	if _, err := a.io.Of("/").Adapter().AllRooms(ctx); !errors.Is(err, redisadapter.ErrTimeout) {
		t.Fatalf("AllRooms: %v, want ErrTimeout", err)
	}
	acks, err := a.io.Of("/").ServerSideEmitWithAck(ctx, "anyone")
	if !errors.Is(err, core.ErrAckTimeout) || !errors.Is(err, redisadapter.ErrTimeout) || len(acks) != 0 {
		t.Fatalf("ServerSideEmitWithAck: %v, %v; want ErrAckTimeout and ErrTimeout", acks, err)
	}
	// A context that ends first ends the request.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := a.io.FetchSockets(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FetchSockets with a short context: %v", err)
	}
}
