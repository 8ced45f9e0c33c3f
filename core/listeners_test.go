package core

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/e347a4c2/socketio/internal/siotest"
)

// recorder collects strings from handlers.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log
	r.log = nil
	return l
}

// TestCatchAllListeners covers OnAny, PrependAny, OffAny and their remove
// functions, On, Once, Off and the remove function of On.
func TestCatchAllListeners(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	c := e.connect(siotest.WebSocket, "/", nil)
	s := recv(t, ch)
	var rec recorder
	// Handlers are registered from the test goroutine while the socket is
	// idle; each step then sends events and waits for a round trip.
	step := func(want []string, events ...string) {
		t.Helper()
		for _, ev := range events {
			_ = c.Emit(ev, 1)
		}
		roundTrip(t, c)
		if got := rec.take(); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %v: %q, want %q", events, got, want)
		}
	}
	notPing := func(f func(e *Event)) func(e *Event) {
		return func(e *Event) {
			if e.Name != "ping?" {
				f(e)
			}
		}
	}
	any1 := s.OnAny(notPing(func(e *Event) { rec.add("any1 %s %d", e.Name, e.Len()) }))
	s.OnAny(notPing(func(e *Event) { rec.add("any2 %s", e.Name) }))
	s.PrependAny(notPing(func(e *Event) { rec.add("any0 %s", e.Name) }))
	offA := s.On("a", func(*Event) { rec.add("a1") })
	s.On("a", func(*Event) { rec.add("a2") })
	s.Once("b", func(*Event) { rec.add("b once") })
	s.On("b", func(*Event) { rec.add("b") })

	step([]string{"any0 a", "any1 a 1", "any2 a", "a1", "a2", "any0 b", "any1 b 1", "any2 b", "b once", "b"}, "a", "b")
	step([]string{"any0 b", "any1 b 1", "any2 b", "b"}, "b")

	any1()
	offA()
	offA() // removing twice is harmless
	step([]string{"any0 a", "any2 a", "a2"}, "a")
	s.Off("a")
	step([]string{"any0 a", "any2 a"}, "a")
	s.OffAny()
	step([]string{"b"}, "b", "unknown")

	// A handler removing itself or adding a handler while running. (remove
	// is written by this goroutine and read by the socket's: a mutex orders
	// them, as the network between the two does not, for the race detector.)
	var removeMu sync.Mutex
	var remove func()
	removeMu.Lock()
	remove = s.On("self", func(*Event) {
		rec.add("self")
		removeMu.Lock()
		remove()
		removeMu.Unlock()
		s.On("self", func(*Event) { rec.add("added") })
	})
	removeMu.Unlock()
	step([]string{"self"}, "self")
	step([]string{"added"}, "self")
	// Once registered while the event is dispatched does not run for it.
	s.Once("nested", func(*Event) {
		rec.add("outer")
		s.Once("nested", func(*Event) { rec.add("inner") })
	})
	step([]string{"outer"}, "nested")
	step([]string{"inner"}, "nested")
	step(nil, "nested")
}

// TestOnAnyOutgoing checks the outgoing catch-all handlers, for direct
// emits and broadcasts, and their removal.
func TestOnAnyOutgoing(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	c := e.connect(siotest.Polling, "/", nil)
	other := e.connect(siotest.WebSocket, "/", nil)
	s := recv(t, ch)
	s2 := recv(t, ch)
	var rec recorder
	out1 := s.OnAnyOutgoing(func(ev string, args []any) { rec.add("out1 %s %v", ev, args) })
	s.PrependAnyOutgoing(func(ev string, args []any) { rec.add("out0 %s", ev) })

	_ = s.Emit("direct", 1, "x")
	_ = s.Volatile().Emit("volatile")
	_ = e.io.Emit("all", true)
	_ = e.io.To(Room(s.ID())).Emit("room")
	_ = s2.Broadcast().Emit("from s2")
	_ = s2.Emit("not s") // another socket's emit
	go func() { _, _ = s.EmitWithAck(ctxT(t), "with ack") }()
	nextEvent(t, c, "direct")
	want := []string{"out0 direct", "out1 direct [1 x]", "out0 volatile", "out1 volatile []",
		"out0 all", "out1 all [true]", "out0 room", "out1 room []", "out0 from s2", "out1 from s2 []"}
	for _, name := range []string{"all", "room", "from s2", "with ack"} {
		ev, err := c.WaitEvent(ctxT(t), name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "with ack" {
			_ = ev.Ack()
		}
	}
	want = append(want, "out0 with ack", "out1 with ack []")
	got := rec.take()
	// The volatile event may have been dropped on the wire, but it was
	// emitted: the outgoing handlers see it either way.
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outgoing = %q\nwant       %q", got, want)
	}
	out1()
	_ = s.Emit("after remove")
	if got := rec.take(); !reflect.DeepEqual(got, []string{"out0 after remove"}) {
		t.Fatalf("after remove: %q", got)
	}
	s.OffAnyOutgoing()
	_ = e.io.Emit("after off")
	nextEvent(t, other, "all")
	nextEvent(t, other, "not s")
	nextEvent(t, other, "after off")
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("after OffAnyOutgoing: %q", got)
	}
}

// TestEventMiddleware covers Socket.Use: order, refusal (the error goes to
// OnError, the handlers do not run), and the catch-all handlers, which see
// every event as in the reference.
func TestEventMiddleware(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	c := e.connect(siotest.WebSocket, "/", nil)
	s := recv(t, ch)
	var rec recorder
	errDenied := errors.New("denied")
	s.Use(func(ev *Event) error { rec.add("mw1 %s", ev.Name); return nil })
	s.Use(func(ev *Event) error {
		rec.add("mw2 %s", ev.Name)
		if ev.Name == "forbidden" {
			return errDenied
		}
		return nil
	})
	s.OnError(func(err error) { rec.add("error %v", err) })
	s.OnAny(func(ev *Event) {
		if ev.Name != "ping?" {
			rec.add("any %s", ev.Name)
		}
	})
	s.On("ok", func(*Event) { rec.add("ok") })
	s.On("forbidden", func(ev *Event) { rec.add("forbidden ran") })
	s.On("ping?", func(*Event) {}) // not recorded

	_ = c.Emit("ok")
	_ = c.Emit("forbidden")
	roundTrip(t, c)
	got := rec.take()
	want := []string{"any ok", "mw1 ok", "mw2 ok", "ok", "any forbidden", "mw1 forbidden", "mw2 forbidden", "error denied",
		"mw1 ping?", "mw2 ping?"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// A refused event asking for an acknowledgement gets none.
	if err := c.Conn().WriteText(`2999["forbidden"]`); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	if p, err := c.Conn().NextUnrouted(expired()); err == nil {
		t.Fatalf("a refused event was answered: %q", p.Text)
	}
}
