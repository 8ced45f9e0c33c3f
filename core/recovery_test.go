package core

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/internal/nodetest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// recEnv is a server with connection-state recovery on, whose sockets
// answer "setup" (join the rooms of the first argument, set the data to the
// second, emit "before" and acknowledge) and "state".
type recEnv struct {
	*env
	conns  chan *Socket
	disc   chan discEvent
	seen   []discEvent // received by waitDisconnect, not waited for yet
	mwRuns atomic.Int32
	mwErr  atomic.Pointer[error]
}

type discEvent struct {
	id     string
	reason DisconnectReason
}

func newRecoveryEnv(t *testing.T, opts ...Option) *recEnv {
	t.Helper()
	e := newEnv(t, append([]Option{WithConnectionStateRecovery()}, opts...)...)
	r := &recEnv{env: e, conns: make(chan *Socket, 4096), disc: make(chan discEvent, 4096)}
	mw := func(s *Socket) error {
		r.mwRuns.Add(1)
		if err := r.mwErr.Load(); err != nil {
			return *err
		}
		return nil
	}
	handlers := func(s *Socket) {
		installPing(s)
		s.On("setup", func(ev *Event) {
			var rooms []Room
			var data any
			_ = ev.Bind(&rooms, &data)
			s.Join(rooms...)
			s.SetData(data)
			_ = s.Emit("before", 1)
			_ = ev.Ack()
		})
		s.On("state", func(ev *Event) { _ = ev.Ack(recState(s)) })
		s.OnDisconnect(func(reason DisconnectReason) { r.disc <- discEvent{s.ID(), reason} })
		r.conns <- s
	}
	e.io.Use(mw)
	e.io.OnConnection(handlers)
	other := e.io.Of("/other")
	other.Use(mw)
	other.OnConnection(handlers)
	return r
}

func recState(s *Socket) map[string]any {
	rooms := s.Rooms()
	slices.Sort(rooms)
	return map[string]any{"id": s.ID(), "rooms": rooms, "data": s.Data(), "recovered": s.Recovered()}
}

// recClient is one client of a recEnv: its connection, socket, private
// session ID and last offset.
type recClient struct {
	c      *siotest.Conn
	s      *siotest.Socket
	server *Socket
	pid    string
	offset string
}

// connect connects a client to nsp with auth, and returns it with its
// server-side socket.
func (r *recEnv) connect(t *testing.T, tr siotest.Transport, nsp string, auth any) *recClient {
	t.Helper()
	c := r.dial(tr)
	s := join(t, c, nsp, auth)
	cl := &recClient{c: c, s: s, server: recv(t, r.conns)}
	if m, ok := s.ConnectData().(map[string]any); ok {
		cl.pid, _ = m["pid"].(string)
	}
	if cl.server.ID() != s.ID() {
		t.Fatalf("server socket %s, recClient socket %s", cl.server.ID(), s.ID())
	}
	return cl
}

// setup joins rooms, sets data and records the offset of "before".
func (cl *recClient) setup(t *testing.T, rooms []Room, data any) {
	t.Helper()
	if _, err := cl.s.EmitWithAck(ctxT(t), "setup", rooms, data); err != nil {
		t.Fatal(err)
	}
	cl.take(t, "before")
}

// take waits for event name and records its offset.
func (cl *recClient) take(t *testing.T, name string) *siotest.Event {
	t.Helper()
	ev := nextEvent(t, cl.s, name)
	off, ok := ev.Args[len(ev.Args)-1].(string)
	if !ok {
		t.Fatalf("event %q without offset: %v", name, ev.Args)
	}
	cl.offset = off
	return ev
}

// kill ends the connection as a lost network would for the server
// ("transport close" for a close packet, or whatever the transport sees).
func (cl *recClient) kill() {
	if cl.c.Transport() == "websocket" {
		cl.c.Abort()
		return
	}
	_ = cl.c.Close()
}

func (cl *recClient) auth() map[string]any { return map[string]any{"pid": cl.pid, "offset": cl.offset} }

// waitDisconnect waits for the disconnection of socket id, keeping the
// others' for their own calls.
func (r *recEnv) waitDisconnect(t *testing.T, id string) DisconnectReason {
	t.Helper()
	for {
		if i := slices.IndexFunc(r.seen, func(d discEvent) bool { return d.id == id }); i >= 0 {
			reason := r.seen[i].reason
			r.seen = slices.Delete(r.seen, i, i+1)
			return reason
		}
		r.seen = append(r.seen, recv(t, r.disc))
	}
}

func TestRecovery(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		r := newRecoveryEnv(t)
		io := r.io
		a := r.connect(t, tr, "/", nil)
		if len(a.pid) < 20 || a.pid == a.s.ID() || a.server.Recovered() {
			t.Fatalf("pid %q, id %q, recovered %v", a.pid, a.s.ID(), a.server.Recovered())
		}
		bystander := r.connect(t, tr, "/", nil)
		bystander.setup(t, []Room{"r1"}, nil)
		a.setup(t, []Room{"r1", "r2"}, map[string]any{"user": "alice"})
		a.server.SetData(map[string]any{"user": "alice", "go": []int{1, 2}}) // kept as is
		id := a.s.ID()
		runs := r.mwRuns.Load()

		a.kill()
		reason := r.waitDisconnect(t, id)
		if !reason.Recoverable() {
			t.Fatalf("reason %q", reason)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(io.Emit("m", "all-1"))
		must(io.To("r1").Emit("m", "r1-2"))
		must(io.To("r3").Emit("m", "r3-nope"))
		must(io.To(Room(id)).Emit("m", "direct-3"))
		must(io.Except("r2").Emit("m", "except-nope"))
		must(io.To("r1").Except(Room(id)).Emit("m", "except-self-nope"))
		must(io.Volatile().Emit("m", "volatile-nope"))
		must(io.To("r2", "r1").Emit("m", "r1r2-4", []byte{1, 2, 3}))
		must(bystander.server.To("r2").Emit("m", "from-bystander-5"))
		must(bystander.server.Broadcast().Emit("m", "broadcast-6"))
		_, _ = io.To("r1").Timeout(time.Millisecond).EmitWithAck(context.Background(), "ack-nope")

		b := r.connect(t, tr, "/", a.auth())
		if b.s.ID() != id || b.pid != a.pid || !b.server.Recovered() || b.server != recvNone(r.conns, b.server) {
			t.Fatalf("recovered as %s (pid same: %v), Recovered %v", b.s.ID(), b.pid == a.pid, b.server.Recovered())
		}
		if r.mwRuns.Load() != runs {
			t.Fatal("middleware ran for a recovered socket")
		}
		var got []string
		for _, want := range []string{"all-1", "r1-2", "direct-3", "r1r2-4", "from-bystander-5", "broadcast-6"} {
			ev := b.take(t, "m")
			got = append(got, ev.Args[0].(string))
			if ev.Args[0] != want {
				t.Fatalf("missed packets %q, then %v; want %q", got[:len(got)-1], ev.Args, want)
			}
			if want == "r1r2-4" && !reflect.DeepEqual(ev.Args[1], []byte{1, 2, 3}) {
				t.Fatalf("binary argument %#v", ev.Args[1])
			}
		}
		must(io.To("r2").Emit("m", "live"))
		if ev := b.take(t, "m"); ev.Args[0] != "live" {
			t.Fatalf("after the missed packets: %v", ev.Args)
		}
		rooms := b.server.Rooms()
		slices.Sort(rooms)
		want := []Room{Room(id), "r1", "r2"}
		slices.Sort(want)
		if !reflect.DeepEqual(rooms, want) {
			t.Fatalf("rooms %v, want %v", rooms, want)
		}
		if d := b.server.Data(); !reflect.DeepEqual(d, map[string]any{"user": "alice", "go": []int{1, 2}}) {
			t.Fatalf("data %#v", d)
		}
		if s := io.main.Socket(id); s != b.server {
			t.Fatalf("namespace has %p for %s, want the recovered socket", s, id)
		}
		roundTrip(t, b.s)
		if n := b.s.Pending(); n != 0 {
			t.Fatalf("%d unexpected packets", n)
		}

		// A second disconnection recovers again.
		b.kill()
		r.waitDisconnect(t, id)
		must(io.To("r1").Emit("m", "again"))
		c := r.connect(t, tr, "/", b.auth())
		if c.s.ID() != id || !c.server.Recovered() {
			t.Fatalf("second recovery: %s %v", c.s.ID(), c.server.Recovered())
		}
		if ev := c.take(t, "m"); ev.Args[0] != "again" {
			t.Fatalf("second recovery got %v", ev.Args)
		}
		// A used pid and offset do not work twice.
		d := r.connect(t, tr, "/", b.auth())
		if d.s.ID() == id || d.server.Recovered() || d.server.Data() != nil {
			t.Fatal("the same session restored twice")
		}
	})
}

// recvNone returns want when nothing else is on ch.
func recvNone(ch <-chan *Socket, want *Socket) *Socket {
	select {
	case s := <-ch:
		return s
	default:
		return want
	}
}

func TestRecoveryConnectPayload(t *testing.T) {
	r := newRecoveryEnv(t)
	c := r.dial(siotest.Polling)
	s := join(t, c, "/", nil)
	m, _ := s.ConnectData().(map[string]any)
	if len(m) != 2 || m["sid"] != s.ID() || len(m["pid"].(string)) != 20 {
		t.Fatalf("CONNECT data %v", s.ConnectData())
	}

	// Recovery off: no pid, no offsets, auth's pid ignored.
	e := newEnv(t)
	conns := serverSockets(e.io)
	c2 := e.dial(siotest.Polling)
	s2 := join(t, c2, "/", map[string]any{"pid": m["pid"], "offset": "x"})
	ss := recv(t, conns)
	if m2, _ := s2.ConnectData().(map[string]any); len(m2) != 1 || ss.Recovered() {
		t.Fatalf("CONNECT data without recovery: %v", s2.ConnectData())
	}
	_ = ss.Emit("direct", 1)
	_ = e.io.Emit("all", 2)
	if ev := nextEvent(t, s2, "direct"); !reflect.DeepEqual(ev.Args, []any{1.0}) {
		t.Fatalf("direct %v", ev.Args)
	}
	if ev := nextEvent(t, s2, "all"); !reflect.DeepEqual(ev.Args, []any{2.0}) {
		t.Fatalf("all %v", ev.Args)
	}
}

// TestRecoveryOffsets checks which packets carry an offset.
func TestRecoveryOffsets(t *testing.T) {
	r := newRecoveryEnv(t)
	a := r.connect(t, siotest.WebSocket, "/", nil)
	var out []string
	var mu sync.Mutex
	a.server.OnAnyOutgoing(func(event string, args []any) {
		mu.Lock()
		out = append(out, fmt.Sprint(event, args))
		mu.Unlock()
	})
	// One at a time. A volatile event is dropped while anything is queued
	// or being written: it is sent again until one arrives.
	for _, want := range []struct {
		name     string
		emit     func()
		volatile bool // sent again until it arrives
		numbered bool
	}{
		{"direct", func() { _ = a.server.Emit("direct", 1) }, false, true},
		{"volatile", func() { _ = a.server.Volatile().Emit("volatile", 2) }, true, false},
		{"broadcast", func() { _ = r.io.Emit("broadcast", 3) }, false, true},
		{"volatile-broadcast", func() { _ = r.io.Volatile().Emit("volatile-broadcast", 4) }, true, false},
		{"with-ack", func() {
			go func() { _, _ = a.server.Timeout(waitTimeout).EmitWithAck(context.Background(), "with-ack", 5) }()
		}, false, false},
	} {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				want.emit()
				if !want.volatile {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		// Earlier events sent again are skipped.
		ev, err := a.s.WaitEvent(ctxT(t), want.name)
		close(stop)
		<-done
		if err != nil {
			t.Fatalf("waiting for %q: %v", want.name, err)
		}
		_, isString := ev.Args[len(ev.Args)-1].(string)
		if isString != want.numbered || len(ev.Args) != map[bool]int{true: 2, false: 1}[want.numbered] {
			t.Errorf("%s: %v", want.name, ev.Args)
		}
		if ev.HasAck {
			_ = ev.Ack()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Outgoing listeners see the arguments without the offset (events sent
	// again are seen again).
	out = slices.Compact(out)
	if want := []string{"direct[1]", "volatile[2]", "broadcast[3]", "volatile-broadcast[4]", "with-ack[5]"}; !reflect.DeepEqual(out, want) {
		t.Errorf("outgoing %q", out)
	}
}

// TestRecoveryReasons checks which disconnections can be recovered.
func TestRecoveryReasons(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []Option
		act     func(t *testing.T, cl *recClient)
		reason  DisconnectReason
		recover bool
	}{
		{name: "transport close", act: func(t *testing.T, cl *recClient) { _ = cl.c.Close() },
			reason: ReasonTransportClose, recover: true},
		{name: "forced close", act: func(t *testing.T, cl *recClient) { cl.server.client.session.Close() },
			reason: ReasonForcedClose, recover: true},
		{name: "ping timeout", opts: []Option{WithPingInterval(50 * time.Millisecond), WithPingTimeout(300 * time.Millisecond)},
			act: func(t *testing.T, cl *recClient) { cl.c.SetNoPong(true) }, reason: ReasonPingTimeout, recover: true},
		{name: "recClient namespace disconnect", act: func(t *testing.T, cl *recClient) { _ = cl.s.Disconnect() },
			reason: ReasonClientNamespaceDisconnect},
		{name: "server namespace disconnect", act: func(t *testing.T, cl *recClient) { cl.server.Disconnect(false) },
			reason: ReasonServerNamespaceDisconnect},
		{name: "server disconnect with close", act: func(t *testing.T, cl *recClient) { cl.server.Disconnect(true) },
			reason: ReasonServerNamespaceDisconnect},
		{name: "parse error", act: func(t *testing.T, cl *recClient) { _ = cl.c.WriteText("2[bad") },
			reason: ReasonParseError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecoveryEnv(t, tc.opts...)
			a := r.connect(t, siotest.WebSocket, "/", nil)
			a.setup(t, []Room{"r"}, "data")
			tc.act(t, a)
			if got := r.waitDisconnect(t, a.s.ID()); got != tc.reason {
				t.Fatalf("reason %q, want %q", got, tc.reason)
			}
			_ = r.io.To("r").Emit("m", "missed")
			b := r.connect(t, siotest.WebSocket, "/", a.auth())
			if b.server.Recovered() != tc.recover || (b.s.ID() == a.s.ID()) != tc.recover {
				t.Fatalf("recovered %v as %s (was %s)", b.server.Recovered(), b.s.ID(), a.s.ID())
			}
			if tc.recover {
				b.take(t, "m")
			} else if b.server.Data() != nil || len(b.server.Rooms()) != 1 {
				t.Fatalf("new socket has data %v, rooms %v", b.server.Data(), b.server.Rooms())
			}
		})
	}
}

func TestRecoveryRunMiddlewares(t *testing.T) {
	r := newRecoveryEnv(t, WithConnectionStateRecovery(Recovery{SkipMiddlewares: false}))
	var seen atomic.Pointer[map[string]any]
	r.io.Use(func(s *Socket) error {
		st := map[string]any{"id": s.ID(), "recovered": s.Recovered(), "data": s.Data()}
		seen.Store(&st)
		return nil
	})
	a := r.connect(t, siotest.WebSocket, "/", nil)
	a.setup(t, []Room{"r"}, "data")
	a.kill()
	r.waitDisconnect(t, a.s.ID())
	runs := r.mwRuns.Load()
	b := r.connect(t, siotest.WebSocket, "/", a.auth())
	if !b.server.Recovered() || r.mwRuns.Load() != runs+1 {
		t.Fatalf("recovered %v, middleware runs %d", b.server.Recovered(), r.mwRuns.Load()-runs)
	}
	if st := *seen.Load(); st["id"] != a.s.ID() || st["recovered"] != true || st["data"] != "data" {
		t.Fatalf("middleware saw %v", st)
	}

	// A middleware refusing a recovered socket refuses it; its session is
	// gone.
	b.kill()
	r.waitDisconnect(t, b.s.ID())
	refusal := error(&ConnectError{Message: "no more"})
	r.mwErr.Store(&refusal)
	c := r.dial(siotest.WebSocket)
	if _, err := c.Connect(ctxT(t), "/", b.auth()); err == nil || !strings.Contains(err.Error(), "no more") {
		t.Fatalf("connect: %v", err)
	}
	r.mwErr.Store(nil)
	d := r.connect(t, siotest.WebSocket, "/", b.auth())
	if d.server.Recovered() || d.s.ID() == a.s.ID() {
		t.Fatal("a refused session was restored later")
	}
}

func TestRecoveryExpiry(t *testing.T) {
	const window = 300 * time.Millisecond
	r := newRecoveryEnv(t, WithConnectionStateRecovery(Recovery{MaxDisconnectionDuration: window, SkipMiddlewares: true}))
	a := r.connect(t, siotest.WebSocket, "/", nil)
	a.setup(t, []Room{"r"}, "data")
	a.kill()
	r.waitDisconnect(t, a.s.ID())
	_ = r.io.To("r").Emit("m", "missed")
	time.Sleep(window + 100*time.Millisecond)
	b := r.connect(t, siotest.WebSocket, "/", a.auth())
	if b.server.Recovered() || b.s.ID() == a.s.ID() || b.server.Data() != nil {
		t.Fatal("recovered after the window")
	}
	ad := r.io.main.adapter.(*adapter.InMemory)
	eventually(t, "the packets to be dropped", func() bool { return ad.RecoveryStats() == (adapter.RecoveryStats{}) })
}

// TestRecoveryBadInput sends forged, foreign and malformed recovery data.
func TestRecoveryBadInput(t *testing.T) {
	r := newRecoveryEnv(t)
	victim := r.connect(t, siotest.WebSocket, "/", nil)
	victim.setup(t, []Room{"secret-room"}, "secret-data")
	other := r.connect(t, siotest.WebSocket, "/other", nil)
	other.setup(t, []Room{"other-room"}, "other-data")

	isNew := func(cl *recClient) {
		t.Helper()
		if cl.server.Recovered() || cl.s.ID() == victim.s.ID() || cl.s.ID() == other.s.ID() ||
			cl.server.Data() != nil || len(cl.server.Rooms()) != 1 {
			t.Fatalf("not a new socket: %v", recState(cl.server))
		}
		if cl.pid == "" || cl.pid == victim.pid || cl.pid == other.pid {
			t.Fatalf("pid %q reused", cl.pid)
		}
	}
	// Malformed auth payloads, forged values, and the pid of a socket that
	// is connected.
	for _, auth := range []any{
		map[string]any{"pid": "forged", "offset": "forged"},
		map[string]any{"pid": victim.pid},
		map[string]any{"pid": victim.pid, "offset": victim.offset},
		map[string]any{"pid": victim.pid, "offset": 1},
		map[string]any{"pid": 42, "offset": victim.offset},
		map[string]any{"pid": []any{victim.pid}, "offset": map[string]any{}},
		map[string]any{"pid": strings.Repeat("x", 100000), "offset": strings.Repeat("y", 100000)},
		map[string]any{"pid": "", "offset": ""},
	} {
		isNew(r.connect(t, siotest.WebSocket, "/", auth))
	}
	// Payloads that are not objects: a new socket, or the connection is
	// closed (invalid packet), never a recovery.
	for _, raw := range []string{`0"string"`, `0[1,2]`, `0null`, `0{"pid":{"$ne":null}}`, `0{"pid":"` + victim.pid + `","offset":null}`} {
		c := r.dial(siotest.Polling)
		_ = c.WriteText(raw)
		p, err := c.NextUnrouted(ctxT(t))
		if errors.Is(err, siotest.ErrClosed) {
			continue
		}
		if err != nil || p.Type != siotest.TypeConnect {
			t.Fatalf("%s: %v, %v", raw, p, err)
		}
		ss := recv(t, r.conns)
		if ss.Recovered() || ss.Data() != nil || ss.ID() == victim.s.ID() {
			t.Fatalf("%s recovered", raw)
		}
	}

	// Away: another namespace's pid or offset, then an unknown offset.
	victim.kill()
	other.kill()
	r.waitDisconnect(t, victim.s.ID())
	r.waitDisconnect(t, other.s.ID())
	isNew(r.connect(t, siotest.WebSocket, "/", map[string]any{"pid": other.pid, "offset": other.offset}))
	isNew(r.connect(t, siotest.WebSocket, "/", map[string]any{"pid": victim.pid, "offset": other.offset}))
	// The failed attempt took the victim's session: nobody gets it now.
	isNew(r.connect(t, siotest.WebSocket, "/", victim.auth()))
	// The other namespace's session is still there, for its namespace only.
	o := r.connect(t, siotest.WebSocket, "/other", other.auth())
	if !o.server.Recovered() || o.s.ID() != other.s.ID() || o.server.Data() != "other-data" {
		t.Fatalf("other namespace: %v", recState(o.server))
	}

	// Two connections presenting the same session at once: one recovers.
	a := r.connect(t, siotest.WebSocket, "/", nil)
	a.setup(t, nil, "a-data")
	a.kill()
	r.waitDisconnect(t, a.s.ID())
	results := make(chan *recClient, 8)
	var wg sync.WaitGroup
	for range 8 {
		c := r.dial(siotest.WebSocket)
		wg.Go(func() {
			s, err := c.Connect(ctxT(t), "/", a.auth())
			if err != nil {
				t.Error(err)
				return
			}
			results <- &recClient{s: s}
		})
	}
	wg.Wait()
	close(results)
	recovered := 0
	for cl := range results {
		if cl.s.ID() == a.s.ID() {
			recovered++
		}
	}
	for range 8 {
		recv(t, r.conns)
	}
	if recovered != 1 {
		t.Fatalf("%d connections recovered the session", recovered)
	}
}

// TestRecoveryExactlyOnce broadcasts continuously while a recClient loses its
// connection and recovers: it must see every event once, in order.
func TestRecoveryExactlyOnce(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		r := newRecoveryEnv(t)
		a := r.connect(t, tr, "/", nil)
		a.setup(t, []Room{"r"}, nil)
		var stop atomic.Bool
		done := make(chan struct{})
		var sent, consumed atomic.Int64
		go func() {
			defer close(done)
			for i := 0; !stop.Load(); i++ {
				// Stay a little ahead of the reader: what the client has not
				// taken when its connection dies is missed, and more missed
				// packets than a connection's queue holds are not recovered.
				for int64(i)-consumed.Load() > 200 && !stop.Load() {
					time.Sleep(time.Millisecond)
				}
				if i%2 == 0 {
					_ = r.io.To("r").Emit("n", i)
				} else if s := r.io.main.Socket(a.s.ID()); s != nil {
					_ = s.Emit("n", i) // direct, to whichever socket has the ID now
				} else {
					_ = r.io.To(Room(a.s.ID())).Emit("n", i)
				}
				sent.Store(int64(i + 1))
				if i%16 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		defer func() { stop.Store(true); <-done }()
		next := 0
		read := func(cl *recClient, n int) {
			t.Helper()
			for range n {
				ev := cl.take(t, "n")
				if got := int(ev.Args[0].(float64)); got != next {
					t.Fatalf("got %d, want %d", got, next)
				}
				next++
				consumed.Store(int64(next))
			}
		}
		read(a, 20)
		cl := a
		for round := range 3 {
			cl.kill()
			r.waitDisconnect(t, a.s.ID())
			time.Sleep(time.Duration(round) * 5 * time.Millisecond)
			cl = r.connect(t, tr, "/", cl.auth())
			if !cl.server.Recovered() {
				t.Fatalf("round %d: not recovered", round)
			}
			read(cl, 30)
		}
		stop.Store(true)
		<-done
		// Everything sent arrives, once.
		for int64(next) < sent.Load() {
			read(cl, 1)
		}
		roundTrip(t, cl.s)
		if n := cl.s.Pending(); n != 0 {
			t.Fatalf("%d more packets", n)
		}
	})
}

// TestRecoveryTooManyMissed: a recClient that missed more packets than its
// connection's queue holds connects as a new socket.
func TestRecoveryTooManyMissed(t *testing.T) {
	r := newRecoveryEnv(t, WithMaxBufferedPackets(16))
	a := r.connect(t, siotest.WebSocket, "/", nil)
	a.setup(t, []Room{"r"}, "data")
	a.kill()
	r.waitDisconnect(t, a.s.ID())
	for i := range 20 {
		_ = r.io.To("r").Emit("m", i)
	}
	b := r.connect(t, siotest.WebSocket, "/", a.auth())
	if b.server.Recovered() || b.s.ID() == a.s.ID() {
		t.Fatal("recovered more packets than the queue holds")
	}
}

// TestRecoveryUnsupportedAdapter: with an adapter that keeps no sessions,
// clients come back as new sockets.
func TestRecoveryUnsupportedAdapter(t *testing.T) {
	r := newRecoveryEnv(t, WithAdapter(func(nsp adapter.Namespace) adapter.Adapter { return adapter.NewInMemory(nsp) }))
	a := r.connect(t, siotest.WebSocket, "/", nil)
	if a.pid == "" {
		t.Fatal("no pid")
	}
	if _, err := a.s.EmitWithAck(ctxT(t), "setup", []Room{"r"}, "data"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, a.s, "before"); len(ev.Args) != 1 {
		t.Fatalf("offset without a session-aware adapter: %v", ev.Args)
	}
	a.kill()
	r.waitDisconnect(t, a.s.ID())
	b := r.connect(t, siotest.WebSocket, "/", map[string]any{"pid": a.pid, "offset": "x"})
	if b.server.Recovered() || b.s.ID() == a.s.ID() {
		t.Fatal("recovered")
	}
}

// TestRecoveryMemoryBound disconnects a thousand sockets with sizeable
// data, twice, and checks that their sessions and packets go once the
// window has passed: the adapter's statistics drop to zero, and the second
// round leaves the heap where the first one did (the first round warms up
// pools and grows the maps that do not shrink).
func TestRecoveryMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of connections")
	}
	const window = 2 * time.Second
	const n = 1000
	r := newRecoveryEnv(t, WithConnectionStateRecovery(Recovery{MaxDisconnectionDuration: window}))
	ad := r.io.main.adapter.(*adapter.InMemory)
	heap := func() int64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	payload := strings.Repeat("p", 4000)
	round := func() int64 {
		// One context for the round: ctxT would keep one per call until
		// the test ends.
		ctx, cancel := context.WithTimeout(t.Context(), 4*waitTimeout)
		defer cancel()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				c, err := siotest.Dial(ctx, r.url, &siotest.Options{Transport: siotest.WebSocket})
				if err != nil {
					t.Error(err)
					return
				}
				s, err := c.Connect(ctx, "/", nil)
				if err == nil {
					_, err = s.EmitWithAck(ctx, "setup", []Room{Room(fmt.Sprint("room-", i%50))},
						map[string]any{"i": i, "payload": payload})
				}
				if err != nil {
					t.Error(err)
				}
				c.Abort()
			})
		}
		wg.Wait()
		for range n {
			recv(t, r.conns)
			recv(t, r.disc)
		}
		st := ad.RecoveryStats()
		t.Logf("kept: %d sessions, %d packets (%d bytes estimated)", st.Sessions, st.Packets, st.Bytes)
		if st.Sessions == 0 || st.Packets == 0 {
			t.Errorf("nothing kept: %+v", st)
		}
		eventually(t, "sessions and packets to expire", func() bool { return ad.RecoveryStats() == (adapter.RecoveryStats{}) })
		return heap()
	}
	first := round()
	if t.Failed() {
		return
	}
	second := round()
	t.Logf("heap after the first round %d KiB, after the second %+d KiB", first/1024, (second-first)/1024)
	// A leak of the sessions alone would be n times the payload (4 MB).
	if grown := second - first; grown > 1<<20 {
		t.Errorf("heap grew by %d KiB in the second round", grown/1024)
	}
}

// TestRecoveryInterop runs socket.io-recClient 4.8 through recovery scenarios
// (test/node/sio/recovery.mjs) on each transport.
func TestRecoveryInterop(t *testing.T) {
	nodetest.Require(t)
	checks := []string{
		"recovers id, rooms, data and missed packets after the transport closes",
		"recovers twice in a row, and live events follow the missed ones",
		"hundreds of missed packets arrive in order",
		"several namespaces of one connection recover together",
		"a new socket once the window has passed",
		"a new socket after a client-side disconnect",
		"a new socket after a server-side namespace disconnect",
		"forged, foreign and connected sockets' session IDs give new sockets",
	}
	const window = 1500 * time.Millisecond
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, WithConnectionStateRecovery(Recovery{MaxDisconnectionDuration: window, SkipMiddlewares: true}))
			var mu sync.Mutex
			var reasons []DisconnectReason
			handlers := func(s *Socket) {
				nsp := s.Namespace()
				s.On("setup", func(ev *Event) {
					var opts struct {
						Rooms []Room
						Data  map[string]any
					}
					_ = ev.Bind(&opts)
					s.Join(opts.Rooms...)
					s.SetData(opts.Data)
					if len(opts.Rooms) > 0 {
						_ = nsp.To(opts.Rooms[0]).Emit("m", "before")
					}
					_ = ev.Ack()
				})
				s.On("state", func(ev *Event) { _ = ev.Ack(recState(s)) })
				s.On("to-r1", func(ev *Event) {
					var v string
					_ = ev.Bind(&v)
					_ = nsp.To("r1").Emit("m", v)
					_ = ev.Ack()
				})
				s.On("kick-me", func(*Event) { s.Disconnect(false) })
				s.OnDisconnect(func(reason DisconnectReason) {
					mu.Lock()
					reasons = append(reasons, reason)
					mu.Unlock()
					data, _ := s.Data().(map[string]any)
					if data["broadcastOnDisconnect"] != true || !reason.Recoverable() {
						return
					}
					id := Room(s.ID())
					_ = nsp.Emit("m", "all-1")
					_ = nsp.To("r1").Emit("m", "r1-2")
					_ = nsp.To("r2").Emit("m", "r2-nope")
					_ = nsp.To(id).Emit("m", "direct-3")
					_ = nsp.Except("r1").Emit("m", "except-nope")
					_ = nsp.Volatile().Emit("m", "volatile-nope")
					_ = nsp.To("r1").Emit("m", "r1-4", []byte{1, 2, 3})
					many, _ := data["many"].(float64)
					for i := range int(many) {
						_ = nsp.To("r1").Emit("n", i)
					}
				})
			}
			e.io.OnConnection(handlers)
			e.io.Of("/recovery").OnConnection(handlers)
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			lines := nodetest.RunJSON(t, ctx, "sio/recovery.mjs", nil, e.url, mode, fmt.Sprint(window.Milliseconds()))
			seen := map[string]bool{}
			for _, l := range lines {
				name, _ := l["check"].(string)
				seen[name] = true
				if l["ok"] != true {
					t.Errorf("%s: %v", name, l["detail"])
				}
			}
			for _, name := range checks {
				if !seen[name] {
					t.Errorf("scenario %q did not report", name)
				}
			}
			if len(seen) != len(checks) {
				t.Errorf("%d scenarios reported, %d expected", len(seen), len(checks))
			}
			eventually(t, "every socket's disconnection", func() bool { return len(e.io.Sockets()) == 0 })
			mu.Lock()
			defer mu.Unlock()
			if !slices.Contains(reasons, ReasonTransportClose) {
				t.Errorf("no socket disconnected with %q: %v", ReasonTransportClose, reasons)
			}
		})
	}
}

// TestRecoveryResumeFails: when the packets a restored socket missed are
// dropped while its middleware runs (longer than the window), the session
// cannot be resumed; the connection, whose CONNECT answer is already
// queued, is closed, and the client connects again as a new socket.
func TestRecoveryResumeFails(t *testing.T) {
	const window = 200 * time.Millisecond
	r := newRecoveryEnv(t, WithConnectionStateRecovery(Recovery{MaxDisconnectionDuration: window}))
	ad := r.io.main.adapter.(*adapter.InMemory)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	r.io.Use(func(s *Socket) error {
		if s.Recovered() {
			entered <- struct{}{}
			<-release
		}
		return nil
	})
	a := r.connect(t, siotest.WebSocket, "/", nil)
	a.setup(t, []Room{"r"}, "data")
	a.kill()
	r.waitDisconnect(t, a.s.ID())

	c := r.dial(siotest.WebSocket)
	type result struct {
		s   *siotest.Socket
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := c.Connect(ctxT(t), "/", a.auth())
		done <- result{s, err}
	}()
	select {
	case <-entered:
	case <-time.After(waitTimeout):
		t.Fatal("the middleware did not run for the restored socket")
	}
	// Missed after the restore, then dropped: the window passes.
	_ = r.io.To("r").Emit("m", "dropped")
	eventually(t, "the packets to be dropped", func() bool { return ad.RecoveryStats().Packets == 0 })
	close(release)
	res := <-done
	if res.err == nil {
		select {
		case <-res.s.Disconnected():
		case <-time.After(waitTimeout):
			t.Fatal("the connection stays open")
		}
	}
	select {
	case s := <-r.conns:
		t.Fatalf("socket %s connected (recovered %v)", s.ID(), s.Recovered())
	default:
	}
	b := r.connect(t, siotest.WebSocket, "/", a.auth())
	if b.server.Recovered() || b.s.ID() == a.s.ID() || b.server.Data() != nil {
		t.Fatalf("after a failed resume: %v", recState(b.server))
	}
	eventually(t, "the failed socket's cleanup", func() bool { return len(r.io.Sockets()) == 1 })
}
