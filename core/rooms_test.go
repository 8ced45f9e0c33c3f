package core

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/internal/eiotest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// group is n clients connected to the main namespace, with their server
// sockets in the same order.
type group struct {
	clients []*siotest.Socket
	servers []*Socket
}

func connectGroup(t *testing.T, e *env, ch <-chan *Socket, n int) group {
	t.Helper()
	var g group
	for i := range n {
		tr := siotest.Transports[i%len(siotest.Transports)]
		g.clients = append(g.clients, e.connect(tr, "/", nil))
		g.servers = append(g.servers, recv(t, ch))
	}
	return g
}

// received returns, for each client, the arguments of the "m" events it
// received after a round trip made sure everything sent before had
// arrived.
func (g group) received(t *testing.T) []string {
	t.Helper()
	var out []string
	for i, c := range g.clients {
		// The round trip goes to the server and back on the same
		// connection, after anything the server queued before it.
		roundTrip(t, c)
		var got []string
		for c.Pending() > 0 {
			ev, err := c.NextEvent(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprint(ev.Args...))
		}
		out = append(out, fmt.Sprintf("%d:%s", i, strings.Join(got, ",")))
	}
	return out
}

// TestRooms covers Join, Leave and Rooms, the socket's own room, and the
// automatic leave on disconnect.
func TestRooms(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	type snap struct{ disconnecting, disconnect []Room }
	snaps := make(chan snap, 1)
	e.io.OnConnection(func(s *Socket) {
		var sn snap
		s.OnDisconnecting(func(DisconnectReason) { sn.disconnecting = s.Rooms() })
		s.OnDisconnect(func(DisconnectReason) { sn.disconnect = s.Rooms(); snaps <- sn })
	})
	c := e.connect(siotest.WebSocket, "/", nil)
	s := recv(t, ch)
	if r := s.Rooms(); !reflect.DeepEqual(r, []Room{Room(s.ID())}) {
		t.Fatalf("Rooms = %v, want the own room only", r)
	}
	s.Join("a", "b", "a", Room(s.ID()))
	if r := s.Rooms(); !reflect.DeepEqual(r, []Room{Room(s.ID()), "a", "b"}) {
		t.Fatalf("Rooms = %v", r)
	}
	s.Leave("a", "never-joined")
	if r := s.Rooms(); !reflect.DeepEqual(r, []Room{Room(s.ID()), "b"}) {
		t.Fatalf("Rooms after Leave = %v", r)
	}
	// Leaving the own room is possible in the reference; here it is a no-op
	// since the room is implicit. Either way the socket stays reachable.
	s.Leave(Room(s.ID()))
	_ = e.io.To(Room(s.ID())).Emit("m", "own room")
	if ev := nextEvent(t, c, "m"); ev.Args[0] != "own room" {
		t.Fatalf("got %v", ev.Args)
	}
	rooms, _ := e.io.Of("/").Adapter().AllRooms(ctxT(t))
	slices.Sort(rooms)
	if !slices.Contains(rooms, "b") || !slices.Contains(rooms, Room(s.ID())) {
		t.Fatalf("AllRooms = %v", rooms)
	}

	_ = c.Disconnect()
	sn := recv(t, snaps)
	if !reflect.DeepEqual(sn.disconnecting, []Room{Room(s.ID()), "b"}) {
		t.Fatalf("Rooms in OnDisconnecting = %v", sn.disconnecting)
	}
	if len(sn.disconnect) != 0 {
		t.Fatalf("Rooms in OnDisconnect = %v", sn.disconnect)
	}
	rooms, _ = e.io.Of("/").Adapter().AllRooms(ctxT(t))
	if len(rooms) != 0 {
		t.Fatalf("AllRooms after the disconnection = %v", rooms)
	}
	// Join after the disconnection does nothing.
	s.Join("late")
	if r := s.Rooms(); len(r) != 0 {
		t.Fatalf("Rooms after a late Join = %v", r)
	}
}

// TestBroadcastSelection covers To, In, Except, Broadcast and socket.To.
func TestBroadcastSelection(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	g := connectGroup(t, e, ch, 4)
	s := g.servers
	s[0].Join("red", "blue")
	s[1].Join("red")
	s[2].Join("blue")
	// s[3] in no room.

	for _, tc := range []struct {
		name string
		emit func() error
		want []string
	}{
		{"all", func() error { return e.io.Emit("m", "all") }, []string{"0:all", "1:all", "2:all", "3:all"}},
		{"To red", func() error { return e.io.To("red").Emit("m", "red") }, []string{"0:red", "1:red", "2:", "3:"}},
		{"In red blue (each once)", func() error { return e.io.In("red", "blue").Emit("m", "rb") }, []string{"0:rb", "1:rb", "2:rb", "3:"}},
		{"To red To blue", func() error { return e.io.To("red").To("blue").Emit("m", "rb2") }, []string{"0:rb2", "1:rb2", "2:rb2", "3:"}},
		{"Except blue", func() error { return e.io.Except("blue").Emit("m", "nb") }, []string{"0:", "1:nb", "2:", "3:nb"}},
		{"To red Except blue", func() error { return e.io.To("red").Except("blue").Emit("m", "r-b") }, []string{"0:", "1:r-b", "2:", "3:"}},
		{"Except own room", func() error { return e.io.Except(Room(s[3].ID())).Emit("m", "n3") }, []string{"0:n3", "1:n3", "2:n3", "3:"}},
		{"To unknown room", func() error { return e.io.To("nobody").Emit("m", "x") }, []string{"0:", "1:", "2:", "3:"}},
		{"socket Broadcast", func() error { return s[0].Broadcast().Emit("m", "b0") }, []string{"0:", "1:b0", "2:b0", "3:b0"}},
		{"socket To red", func() error { return s[0].To("red").Emit("m", "r0") }, []string{"0:", "1:r0", "2:", "3:"}},
		{"socket In blue", func() error { return s[2].In("blue").Emit("m", "b2") }, []string{"0:b2", "1:", "2:", "3:"}},
		{"socket Except red", func() error { return s[3].Except("red").Emit("m", "e3") }, []string{"0:", "1:", "2:e3", "3:"}},
		{"private message", func() error { return s[0].To(Room(s[2].ID())).Emit("m", "pm") }, []string{"0:", "1:", "2:pm", "3:"}},
		{"private to self excluded", func() error { return s[0].To(Room(s[0].ID())).Emit("m", "self") }, []string{"0:", "1:", "2:", "3:"}},
		{"namespace To", func() error { return e.io.Of("/").To(Room(s[1].ID()), "blue").Emit("m", "mix") }, []string{"0:mix", "1:mix", "2:mix", "3:"}},
		{"Local Compress Volatile-free", func() error { return e.io.Local().Compress(false).To("blue").Emit("m", "lc") }, []string{"0:lc", "1:", "2:lc", "3:"}},
		{"Send", func() error { return e.io.To("red").Send("snd") }, []string{"0:snd", "1:snd", "2:", "3:"}},
	} {
		if err := tc.emit(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := g.received(t); !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("%s: received %v, want %v", tc.name, got, tc.want)
		}
	}

	// An operator is a value: narrowing it does not change the original.
	base := e.io.To("red")
	_ = base.Except("blue")
	_ = base.Emit("m", "base")
	if got := g.received(t); !reflect.DeepEqual(got, []string{"0:base", "1:base", "2:", "3:"}) {
		t.Fatalf("reused operator: %v", got)
	}
}

// TestVolatile checks that volatile events are dropped when the transport
// cannot write at once, and delivered when it can.
func TestVolatile(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	ctx := ctxT(t)

	// A raw polling client with no poll pending: nothing is writable.
	cl := eiotest.New(e.url + "/socket.io/")
	defer cl.Close()
	pl, err := cl.Handshake(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pl.Send(ctx, eiotest.Control(eiotest.Close, "")) }()
	if err := pl.Send(ctx, eiotest.Text("0")); err != nil {
		t.Fatal(err)
	}
	s := recv(t, ch)
	msgs, err := pl.PollMessages(ctx, 1) // the CONNECT answer
	if err != nil || !strings.HasPrefix(string(msgs[0].Data), "0{") {
		t.Fatalf("CONNECT answer %v, %v", msgs, err)
	}
	if err := s.Volatile().Emit("v", "dropped"); err != nil {
		t.Fatal(err)
	}
	if err := e.io.Volatile().Emit("v", "dropped too"); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit("after"); err != nil {
		t.Fatal(err)
	}
	msgs, err = pl.PollMessages(ctx, 1)
	if err != nil || len(msgs) != 1 || string(msgs[0].Data) != `2["after"]` {
		t.Fatalf("after volatile emits, poll got %q, %v", msgs, err)
	}

	// With a poll pending, a volatile event is delivered. The poll's
	// arrival on the server cannot be observed, so emit until it is.
	got := make(chan []eiotest.Packet, 1)
	go func() {
		m, err := pl.PollMessages(ctx, 1)
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	untilDelivered(t, func(i int) { _ = s.Volatile().Emit("v", i) }, func(wait time.Duration) bool {
		select {
		case m := <-got:
			if !strings.HasPrefix(string(m[0].Data), `2["v",`) {
				t.Fatalf("pending poll got %q", m)
			}
			return true
		case <-time.After(wait):
			return false
		}
	})

	// An idle WebSocket is writable, for direct and broadcast events.
	c := e.connect(siotest.WebSocket, "/", nil)
	ws := recv(t, ch)
	for _, name := range []string{"v", "bv"} {
		untilDelivered(t, func(i int) {
			if name == "v" {
				_ = ws.Volatile().Emit(name, i)
			} else {
				_ = e.io.To(Room(ws.ID())).Volatile().Emit(name, i)
			}
		}, func(wait time.Duration) bool {
			ctx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			ev, err := c.NextEvent(ctx)
			if err != nil {
				return false
			}
			if ev.Name != name {
				t.Fatalf("got %q, want %q", ev.Name, name)
			}
			return true
		})
		for c.Pending() > 0 { // volatile events sent meanwhile
			_, _ = c.NextEvent(ctx)
		}
	}
}

// untilDelivered calls emit until delivered reports that one of the
// emitted events arrived.
func untilDelivered(t *testing.T, emit func(i int), delivered func(wait time.Duration) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for i := 0; ; i++ {
		emit(i)
		if delivered(10 * time.Millisecond) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no volatile event was delivered")
		}
	}
}

// TestBroadcastEmitWithAck collects the acknowledgements of a broadcast,
// all of them or those that came in time.
func TestBroadcastEmitWithAck(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	g := connectGroup(t, e, ch, 3)
	answer := func(i int, arg any) {
		ev := nextEvent(t, g.clients[i], "q")
		if !ev.HasAck {
			t.Errorf("client %d: no ack requested", i)
		}
		_ = ev.Ack(arg)
	}
	type result struct {
		acks []Ack
		err  error
	}
	run := func(f func() ([]Ack, error)) <-chan result {
		res := make(chan result, 1)
		go func() {
			acks, err := f()
			res <- result{acks, err}
		}()
		return res
	}
	ids := func(acks []Ack) map[string]int {
		m := map[string]int{}
		for _, a := range acks {
			var v int
			if err := a.Bind(&v); err != nil {
				t.Fatal(err)
			}
			m[a.SocketID] = v
		}
		return m
	}

	// Everyone answers.
	res := run(func() ([]Ack, error) { return e.io.Timeout(waitTimeout).EmitWithAck(context.Background(), "q") })
	for i := range 3 {
		answer(i, i)
	}
	r := recv(t, res)
	want := map[string]int{g.servers[0].ID(): 0, g.servers[1].ID(): 1, g.servers[2].ID(): 2}
	if r.err != nil || !reflect.DeepEqual(ids(r.acks), want) {
		t.Fatalf("EmitWithAck = %v, %v", ids(r.acks), r.err)
	}

	// Without a timeout, the context bounds the wait.
	res = run(func() ([]Ack, error) { return e.io.EmitWithAck(ctxT(t), "q") })
	for i := range 3 {
		answer(i, 10+i)
	}
	if r := recv(t, res); r.err != nil || len(r.acks) != 3 {
		t.Fatalf("EmitWithAck(ctx) = %v, %v", r.acks, r.err)
	}

	// One does not answer: the others' acknowledgements come with the
	// timeout error.
	res = run(func() ([]Ack, error) {
		return e.io.To(Room(g.servers[0].ID()), Room(g.servers[1].ID())).Timeout(100*time.Millisecond).EmitWithAck(context.Background(), "q")
	})
	answer(0, 7)
	nextEvent(t, g.clients[1], "q") // not answered
	r = recv(t, res)
	if !errors.Is(r.err, ErrAckTimeout) || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("partial EmitWithAck error = %v", r.err)
	}
	if got := ids(r.acks); !reflect.DeepEqual(got, map[string]int{g.servers[0].ID(): 7}) {
		t.Fatalf("partial acks = %v", got)
	}

	// The sender is excluded from its own broadcast, and no target means no
	// wait.
	res = run(func() ([]Ack, error) {
		return g.servers[0].Broadcast().Timeout(waitTimeout).EmitWithAck(context.Background(), "q")
	})
	answer(1, 1)
	answer(2, 2)
	if r := recv(t, res); r.err != nil || len(r.acks) != 2 {
		t.Fatalf("Broadcast().EmitWithAck = %v, %v", r.acks, r.err)
	}
	acks, err := e.io.To("empty").EmitWithAck(context.Background(), "q")
	if err != nil || len(acks) != 0 {
		t.Fatalf("EmitWithAck to nobody = %v, %v", acks, err)
	}
	// Binary acknowledgements.
	res = run(func() ([]Ack, error) {
		return e.io.To(Room(g.servers[2].ID())).Timeout(waitTimeout).EmitWithAck(context.Background(), "q", []byte{1})
	})
	ev := nextEvent(t, g.clients[2], "q")
	if ev.Packet.Type != siotest.TypeBinaryEvent {
		t.Fatalf("binary broadcast sent as %v", ev.Packet.Type)
	}
	_ = ev.Ack([]byte{4, 2})
	r = recv(t, res)
	var b []byte
	if r.err != nil || len(r.acks) != 1 || r.acks[0].Bind(&b) != nil || !reflect.DeepEqual(b, []byte{4, 2}) {
		t.Fatalf("binary ack = %v %v, %v", r.acks, b, r.err)
	}
}

// TestRemoteOperations covers FetchSockets, SocketsJoin, SocketsLeave,
// DisconnectSockets and the RemoteSocket methods.
func TestRemoteOperations(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	discs := make(chan string, 8)
	e.io.OnConnection(func(s *Socket) {
		s.SetData(map[string]any{"i": len(e.io.Sockets())})
		s.OnDisconnect(func(r DisconnectReason) { discs <- s.ID() + " " + string(r) })
	})
	g := connectGroup(t, e, ch, 4)
	s := g.servers
	ctx := ctxT(t)
	s[0].Join("x")
	s[1].Join("x")

	all, err := e.io.FetchSockets(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("FetchSockets = %d, %v", len(all), err)
	}
	rs, err := e.io.In("x").FetchSockets(ctx)
	if err != nil || len(rs) != 2 {
		t.Fatalf("In(x).FetchSockets = %d, %v", len(rs), err)
	}
	byID := map[string]*RemoteSocket{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	r0 := byID[s[0].ID()]
	if r0 == nil || r0.Handshake != s[0].Handshake() || !reflect.DeepEqual(r0.Rooms, []Room{Room(s[0].ID()), "x"}) ||
		!reflect.DeepEqual(r0.Data, s[0].Data()) {
		t.Fatalf("RemoteSocket = %+v", r0)
	}
	if rs, _ := e.io.Except("x").FetchSockets(ctx); len(rs) != 2 {
		t.Fatalf("Except(x).FetchSockets = %d", len(rs))
	}

	// RemoteSocket methods act on the socket.
	if err := r0.Emit("m", "remote"); err != nil {
		t.Fatal(err)
	}
	if err := r0.Join(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s[0].Rooms(), "y") {
		t.Fatalf("after RemoteSocket.Join: %v", s[0].Rooms())
	}
	if err := r0.Leave(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(s[0].Rooms(), "x") {
		t.Fatalf("after RemoteSocket.Leave: %v", s[0].Rooms())
	}
	if got := g.received(t); !reflect.DeepEqual(got, []string{"0:remote", "1:", "2:", "3:"}) {
		t.Fatalf("RemoteSocket.Emit reached %v", got)
	}

	// SocketsJoin / SocketsLeave.
	if err := e.io.Except("y").SocketsJoin(ctx, "z", "w"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, true, true, true} {
		if slices.Contains(s[i].Rooms(), "z") != want {
			t.Fatalf("socket %d rooms after SocketsJoin: %v", i, s[i].Rooms())
		}
	}
	if err := e.io.In("x").SocketsLeave(ctx, "z"); err != nil { // s[1]
		t.Fatal(err)
	}
	if slices.Contains(s[1].Rooms(), "z") || !slices.Contains(s[2].Rooms(), "z") {
		t.Fatalf("after SocketsLeave: %v %v", s[1].Rooms(), s[2].Rooms())
	}
	if err := e.io.SocketsLeave(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	for i := range s {
		if slices.Contains(s[i].Rooms(), "w") {
			t.Fatalf("socket %d still in w", i)
		}
	}

	// DisconnectSockets(false) leaves the connection open;
	// DisconnectSockets(true) closes it.
	if err := e.io.In(Room(s[3].ID())).DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, discs); d != s[3].ID()+" server namespace disconnect" {
		t.Fatalf("disconnect = %q", d)
	}
	if p, err := g.clients[3].Next(ctx); err != nil || p.Type != siotest.TypeDisconnect {
		t.Fatalf("client 3 got %v, %v", p, err)
	}
	join(t, g.clients[3].Conn(), "/", nil) // the connection is still open
	s3 := recv(t, ch)
	if err := e.io.In("z").DisconnectSockets(ctx, true); err != nil { // s[2], s3 is not in z
		t.Fatal(err)
	}
	if d := recv(t, discs); d != s[2].ID()+" server namespace disconnect" {
		t.Fatalf("disconnect = %q", d)
	}
	if err := g.clients[2].Conn().WaitClosed(ctx); !errors.Is(err, siotest.ErrServerClose) && err == nil {
		t.Fatalf("client 2 connection: %v", err)
	}
	rl := byID[s[1].ID()]
	if err := rl.Disconnect(ctx, false); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, discs); d != s[1].ID()+" server namespace disconnect" {
		t.Fatalf("disconnect = %q", d)
	}
	if err := e.io.DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	got := []string{recv(t, discs), recv(t, discs)}
	sort.Strings(got)
	want := []string{s[0].ID() + " server namespace disconnect", s3.ID() + " server namespace disconnect"}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DisconnectSockets: %v, want %v", got, want)
	}
	if n := len(e.io.Sockets()); n != 0 {
		t.Fatalf("%d sockets left", n)
	}
}

// TestServerSideEmit checks that on a single node ServerSideEmit is a
// no-op without error.
func TestServerSideEmit(t *testing.T) {
	e := newEnv(t)
	called := make(chan struct{}, 1)
	e.io.Of("/").OnServerSideEmit("hello", func(*ServerEvent) { called <- struct{}{} })
	if err := e.io.ServerSideEmit(ctxT(t), "hello", 1, "two"); err != nil {
		t.Fatal(err)
	}
	acks, err := e.io.Of("/").ServerSideEmitWithAck(ctxT(t), "hello")
	if err != nil || len(acks) != 0 {
		t.Fatalf("ServerSideEmitWithAck = %v, %v", acks, err)
	}
	noRecv(t, called)
	if err := e.io.ServerSideEmit(ctxT(t), "disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("ServerSideEmit(reserved) = %v", err)
	}
}

// TestAdapterEvents checks the InMemory adapter's room callbacks through a
// server.
func TestAdapterEvents(t *testing.T) {
	var mu sync.Mutex
	var log []string
	rec := func(format string, args ...any) {
		mu.Lock()
		log = append(log, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		l := log
		log = nil
		return l
	}
	var sid string
	id := func(s string) string { return strings.ReplaceAll(s, sid, "ID") }
	events := adapter.Events{
		CreateRoom: func(r adapter.Room) { rec("create %s", id(string(r))) },
		DeleteRoom: func(r adapter.Room) { rec("delete %s", id(string(r))) },
		JoinRoom:   func(r adapter.Room, s string) { rec("join %s %s", id(string(r)), id(s)) },
		LeaveRoom:  func(r adapter.Room, s string) { rec("leave %s %s", id(string(r)), id(s)) },
	}
	e := newEnv(t, WithAdapter(adapter.NewInMemoryFactory(events)))
	ch := serverSockets(e.io)
	disc := make(chan struct{})
	e.io.OnConnection(func(s *Socket) { s.OnDisconnect(func(DisconnectReason) { close(disc) }) })
	c := e.connect(siotest.WebSocket, "/", nil)
	s := recv(t, ch)
	sid = s.ID()
	if l := take(); len(l) != 0 {
		t.Fatalf("events on connection: %q (the own room is implicit)", l)
	}
	s.Join("a", "b")
	s.Join("a")
	s.Leave("b")
	s.Leave("b")
	s.Join("c")
	if l, want := take(), []string{"create a", "join a ID", "create b", "join b ID", "leave b ID", "delete b", "create c", "join c ID"}; !reflect.DeepEqual(l, want) {
		t.Fatalf("events = %q\nwant     %q", l, want)
	}
	_ = c.Disconnect()
	recv(t, disc)
	l := take()
	want := []string{"leave a ID", "delete a", "leave c ID", "delete c"}
	if !reflect.DeepEqual(l, want) {
		t.Fatalf("events on disconnection = %q, want %q", l, want)
	}
}
