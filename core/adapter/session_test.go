package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// queueSocket is a fakeSocket that implements QueueSocket, as the core's
// sockets do.
type queueSocket struct {
	*fakeSocket
	qmu      sync.Mutex
	queued   []string
	notified []string
}

func newQueueSocket(id string) *queueSocket { return &queueSocket{fakeSocket: newFake(id)} }

func (s *queueSocket) Queue(frames []engine.Frame) {
	s.qmu.Lock()
	s.queued = append(s.queued, string(frames[0].Data))
	s.qmu.Unlock()
}

func (s *queueSocket) NotifyOutgoing(p *parser.Packet) {
	data := p.Data.([]any)
	s.qmu.Lock()
	s.notified = append(s.notified, fmt.Sprint(data...))
	s.qmu.Unlock()
}

func (s *queueSocket) takeQueued() []string {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	q := s.queued
	s.queued = nil
	return q
}

// args decodes the arguments of an encoded EVENT frame (`42[...]`).
func args(t testing.TB, frame string) []any {
	t.Helper()
	var v []any
	if !strings.HasPrefix(frame, "42") || json.Unmarshal([]byte(frame[2:]), &v) != nil {
		t.Fatalf("not an event frame: %q", frame)
	}
	return v
}

// lastOffset returns the last argument of an event frame, its offset.
func lastOffset(t testing.TB, frame string) string {
	t.Helper()
	v := args(t, frame)
	s, ok := v[len(v)-1].(string)
	if !ok {
		t.Fatalf("no offset in %q", frame)
	}
	return s
}

// names returns the event names of frames.
func names(t testing.TB, frames []string) []string {
	t.Helper()
	var out []string
	for _, f := range frames {
		out = append(out, args(t, f)[0].(string))
	}
	return out
}

func emit(t testing.TB, a *InMemory, event string, opts *BroadcastOptions) {
	t.Helper()
	if err := a.Broadcast(context.Background(), &parser.Packet{Type: parser.Event, Namespace: "/", Data: []any{event}}, opts); err != nil {
		t.Fatal(err)
	}
}

func TestSessionAwareNumbersBroadcasts(t *testing.T) {
	a := NewSessionAware(&fakeNsp{}, time.Minute)
	defer func() { _ = a.Close() }()
	s := newQueueSocket("s")
	plain := newFake("p") // no QueueSocket: Deliver
	a.AddSocket(s)
	a.AddSocket(plain)

	data := []any{"ev", 1}
	p := &parser.Packet{Type: parser.Event, Namespace: "/", Data: data}
	for range 3 {
		if err := a.Broadcast(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.Data.([]any)) != 2 || len(data) != 2 {
		t.Fatalf("the caller's packet was changed: %v", p.Data)
	}
	q := s.takeQueued()
	if len(q) != 3 || len(s.take()) != 0 {
		t.Fatalf("queued %q", q)
	}
	seen := map[string]bool{}
	for i, f := range q {
		v := args(t, f)
		off := lastOffset(t, f)
		if len(v) != 3 || v[0] != "ev" || v[1] != 1.0 || seen[off] {
			t.Fatalf("frame %d: %q", i, f)
		}
		seen[off] = true
	}
	if !reflect.DeepEqual(s.notified, []string{"ev1", "ev1", "ev1"}) {
		t.Fatalf("outgoing listeners saw %q (without the offset)", s.notified)
	}
	if d := plain.take(); !reflect.DeepEqual(d, q) {
		t.Fatalf("Deliver fallback got %q, want %q", d, q)
	}

	// Volatile events and events with acknowledgement are not numbered.
	_ = a.Broadcast(context.Background(), p, &BroadcastOptions{Flags: Flags{Volatile: true}})
	_ = a.BroadcastWithAck(context.Background(), &parser.Packet{Type: parser.Event, ID: 3, HasID: true, Data: []any{"q"}},
		&BroadcastOptions{}, AckHandler{Expect: func(int) {}, Ack: func(string, parser.Payload) {}})
	if d := plain.take(); !reflect.DeepEqual(d, []string{`42["ev",1]`, `423["q"]`}) {
		t.Fatalf("unnumbered packets: %q", d)
	}
	if st := a.RecoveryStats(); st.Packets != 3 || st.Bytes <= 0 || st.Sessions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// disconnect removes s from a and persists its session, as the core does.
func disconnect(a *InMemory, id, pid string, connectedAt time.Time) {
	rooms := a.Rooms(id)
	a.RemoveSocket(id)
	a.PersistSession(&Session{SID: id, PID: pid, Rooms: rooms, Data: map[string]int{"n": 1}, ConnectedAt: connectedAt})
}

func TestRestoreSession(t *testing.T) {
	a := NewSessionAware(&fakeNsp{}, time.Minute)
	defer func() { _ = a.Close() }()
	start := time.Now()
	x, other := newQueueSocket("x"), newQueueSocket("o")
	a.AddSocket(x)
	a.AddSocket(other)
	a.Join("x", "red", "green")
	a.Join("o", "red")
	emit(t, a, "before", nil)
	offset := lastOffset(t, x.takeQueued()[0])

	disconnect(a, "x", "pid-x", start)
	emit(t, a, "all", nil)
	emit(t, a, "red", &BroadcastOptions{Rooms: []Room{"red"}})
	emit(t, a, "blue", &BroadcastOptions{Rooms: []Room{"blue"}})
	emit(t, a, "to-o", &BroadcastOptions{Rooms: []Room{"o"}})
	emit(t, a, "to-x", &BroadcastOptions{Rooms: []Room{"x"}})
	emit(t, a, "except-green", &BroadcastOptions{Except: []Room{"green"}})
	emit(t, a, "except-x", &BroadcastOptions{Rooms: []Room{"red"}, Except: []Room{"x"}})
	emit(t, a, "red-or-blue", &BroadcastOptions{Rooms: []Room{"blue", "red"}})
	_ = a.Broadcast(context.Background(), &parser.Packet{Type: parser.Event, Data: []any{"volatile"}},
		&BroadcastOptions{Flags: Flags{Volatile: true}})

	sess, err := a.RestoreSession(context.Background(), "pid-x", offset)
	if err != nil {
		t.Fatal(err)
	}
	if sess.SID != "x" || sess.PID != "pid-x" || !reflect.DeepEqual(sess.Rooms, []Room{"x", "red", "green"}) ||
		!reflect.DeepEqual(sess.Data, map[string]int{"n": 1}) || !sess.ConnectedAt.Equal(start) {
		t.Fatalf("session %+v", sess)
	}
	var missed []string
	for _, m := range sess.Missed {
		if lastOffset(t, string(m.Frames[0].Data)) != m.Offset {
			t.Fatalf("offset %q of %q", m.Offset, m.Frames[0].Data)
		}
		missed = append(missed, string(m.Frames[0].Data))
	}
	if got, want := names(t, missed), []string{"all", "red", "to-x", "red-or-blue"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("missed %q, want %q", got, want)
	}
	if _, err := a.RestoreSession(context.Background(), "pid-x", offset); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("second restore: %v", err)
	}

	// Broadcast between RestoreSession and ResumeSocket (while middleware
	// runs): queued by ResumeSocket, after the missed packets.
	emit(t, a, "gap", &BroadcastOptions{Rooms: []Room{"green"}})
	emit(t, a, "gap-other", &BroadcastOptions{Rooms: []Room{"blue"}})
	y := newQueueSocket("x")
	if err := a.ResumeSocket(y, sess); err != nil {
		t.Fatal(err)
	}
	emit(t, a, "live", &BroadcastOptions{Rooms: []Room{"red"}})
	got := y.takeQueued()
	if n := names(t, got); !reflect.DeepEqual(n, []string{"all", "red", "to-x", "red-or-blue", "gap", "live"}) {
		t.Fatalf("resumed socket got %q", n)
	}
	if r := a.Rooms("x"); !reflect.DeepEqual(r, []Room{"x", "red", "green"}) {
		t.Fatalf("rooms %v", r)
	}
	if err := a.ResumeSocket(newQueueSocket("x"), sess); err == nil {
		t.Fatal("resumed a socket that is connected")
	}
	if err := a.ResumeSocket(newQueueSocket("z"), sess); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("resume with another ID: %v", err)
	}
}

func TestRestoreSessionBadInput(t *testing.T) {
	a := NewSessionAware(&fakeNsp{}, time.Minute)
	defer func() { _ = a.Close() }()
	b := NewSessionAware(&fakeNsp{}, time.Minute) // another namespace's adapter
	defer func() { _ = b.Close() }()
	x := newQueueSocket("x")
	a.AddSocket(x)
	bx := newQueueSocket("bx")
	b.AddSocket(bx)
	for range 3 {
		emit(t, a, "e", nil)
		emit(t, b, "e", nil)
	}
	q := x.takeQueued()
	good := lastOffset(t, q[2])
	foreign := lastOffset(t, bx.takeQueued()[1])
	tag := strings.TrimSuffix(good, "3")
	if tag == good {
		t.Fatalf("offset %q does not end with its number", good)
	}

	ctx := context.Background()
	for _, off := range []string{"", "0", tag, tag + "0", tag + "4", tag + "zzzzzzzzzzzzz", tag + "-1", tag + "+1",
		tag + " 1", tag + "1.0", foreign, strings.Repeat("9", 1000), "\x00", tag + strings.Repeat("0", 200) + "1"} {
		disconnect(a, "x", "pid", time.Time{})
		if s, err := a.RestoreSession(ctx, "pid", off); !errors.Is(err, ErrOffsetNotFound) {
			t.Errorf("offset %q: %+v, %v", off, s, err)
		}
		// The session was taken by the failed attempt.
		if _, err := a.RestoreSession(ctx, "pid", good); !errors.Is(err, ErrSessionNotFound) {
			t.Errorf("after offset %q: %v", off, err)
		}
		a.AddSocket(x)
	}
	disconnect(a, "x", "pid", time.Time{})
	for _, pid := range []string{"", "PID", "pid ", strings.Repeat("p", 10000), "x"} {
		if s, err := a.RestoreSession(ctx, pid, good); !errors.Is(err, ErrSessionNotFound) {
			t.Errorf("pid %q: %+v, %v", pid, s, err)
		}
	}
	// Another adapter never knows a's sessions.
	if _, err := b.RestoreSession(ctx, "pid", foreign); !errors.Is(err, ErrSessionNotFound) {
		t.Errorf("pid of another adapter: %v", err)
	}
	s, err := a.RestoreSession(ctx, "pid", good)
	if err != nil || len(s.Missed) != 0 {
		t.Fatalf("good offset: %+v, %v", s, err)
	}
	// A forged or altered session is refused by ResumeSocket.
	for _, off := range []string{"", foreign, tag + "9", "garbage"} {
		forged := *s
		forged.Offset = off
		if err := a.ResumeSocket(newQueueSocket("x"), &forged); !errors.Is(err, ErrOffsetNotFound) {
			t.Errorf("ResumeSocket with offset %q: %v", off, err)
		}
	}
	if err := a.ResumeSocket(nil, s); err == nil {
		t.Error("ResumeSocket(nil)")
	}
	if err := a.ResumeSocket(newQueueSocket("x"), nil); err == nil {
		t.Error("ResumeSocket(nil session)")
	}
	a.PersistSession(nil)
	a.PersistSession(&Session{SID: "x"})
	a.PersistSession(&Session{PID: "p"})
	if st := a.RecoveryStats(); st.Sessions != 0 {
		t.Errorf("sessions without IDs kept: %+v", st)
	}
}

// TestRecoveryConnectedAt checks that a socket never gets packets broadcast
// before it connected, whatever offset its client presents (such as one
// from the client's previous socket).
func TestRecoveryConnectedAt(t *testing.T) {
	a := NewSessionAware(&fakeNsp{}, time.Minute)
	defer func() { _ = a.Close() }()
	old := newQueueSocket("old")
	a.AddSocket(old)
	emit(t, a, "one", nil)
	oldOffset := lastOffset(t, old.takeQueued()[0])
	emit(t, a, "two", nil)
	time.Sleep(2 * time.Millisecond)
	connected := time.Now()
	x := newQueueSocket("x")
	a.AddSocket(x)
	emit(t, a, "three", nil)
	disconnect(a, "x", "pid", connected)
	emit(t, a, "four", nil)
	s, err := a.RestoreSession(context.Background(), "pid", oldOffset)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range s.Missed {
		got = append(got, string(m.Frames[0].Data))
	}
	if n := names(t, got); !reflect.DeepEqual(n, []string{"three", "four"}) {
		t.Fatalf("missed %q", n)
	}
}

func TestRecoveryExpiry(t *testing.T) {
	const window = 60 * time.Millisecond
	a := NewSessionAware(&fakeNsp{}, window)
	defer func() { _ = a.Close() }()
	start := time.Now()
	x := newQueueSocket("x")
	a.AddSocket(x)
	emit(t, a, "one", nil)
	offset := lastOffset(t, x.takeQueued()[0])
	disconnect(a, "x", "pid", start)
	time.Sleep(window + 20*time.Millisecond)
	if _, err := a.RestoreSession(context.Background(), "pid", offset); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("expired session: %v", err)
	}

	// A session within the window, whose client's next packet was dropped:
	// it cannot get everything it missed. The session is persisted once the
	// packets are older than the window and restored right away, so that
	// the check does not depend on how long a sleep lasts (another adapter,
	// with a window that a stall between two calls cannot exceed).
	const window2 = 500 * time.Millisecond
	b := NewSessionAware(&fakeNsp{}, window2)
	defer func() { _ = b.Close() }()
	b.AddSocket(x)
	emit(t, b, "two", nil)
	offset = lastOffset(t, x.takeQueued()[0])
	emit(t, b, "three", nil)
	x.takeQueued()
	time.Sleep(window2 + 20*time.Millisecond)
	disconnect(b, "x", "pid", start)
	emit(t, b, "four", nil) // drops "two" and "three", older than the window
	if _, err := b.RestoreSession(context.Background(), "pid", offset); !errors.Is(err, ErrOffsetNotFound) {
		t.Fatalf("offset whose next packet was dropped: %v", err)
	}

	// The cleanup frees packets and sessions with nobody broadcasting.
	emit(t, a, "five", nil)
	for i := range 1000 {
		a.PersistSession(&Session{SID: "s" + strconv.Itoa(i), PID: "p" + strconv.Itoa(i), Rooms: []Room{"r"}})
	}
	if st := a.RecoveryStats(); st.Sessions != 1000 || st.Packets == 0 {
		t.Fatalf("stats %+v", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.RecoveryStats() != (RecoveryStats{}) {
		if time.Now().After(deadline) {
			t.Fatalf("not cleaned up: %+v", a.RecoveryStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.rec.mu.Lock()
	armed := a.rec.timer != nil
	a.rec.mu.Unlock()
	if armed {
		t.Fatal("cleanup timer armed with nothing to clean")
	}
}

// TestRecoveryOffsetAfterDrop checks that an offset whose own packet was
// dropped still recovers when nothing after it was.
func TestRecoveryOffsetAfterDrop(t *testing.T) {
	const window = 300 * time.Millisecond // no stall between two calls lasts that long
	a := NewSessionAware(&fakeNsp{}, window)
	defer func() { _ = a.Close() }()
	x := newQueueSocket("x")
	a.AddSocket(x)
	emit(t, a, "one", nil)
	offset := lastOffset(t, x.takeQueued()[0])
	time.Sleep(window + 10*time.Millisecond)
	disconnect(a, "x", "pid", time.Time{})
	emit(t, a, "two", nil) // drops "one"
	if st := a.RecoveryStats(); st.Packets != 1 {
		t.Fatalf("stats %+v", st)
	}
	s, err := a.RestoreSession(context.Background(), "pid", offset)
	if err != nil || len(s.Missed) != 1 {
		t.Fatalf("%+v, %v", s, err)
	}
}

// TestResumeUnderConcurrentBroadcasts checks, with broadcasts from several
// goroutines around the restore and resume, that the resumed socket gets
// every packet after its client's offset exactly once, in offset order.
func TestResumeUnderConcurrentBroadcasts(t *testing.T) {
	for round := range 20 {
		a := NewSessionAware(&fakeNsp{}, time.Minute)
		x := newQueueSocket("x")
		a.AddSocket(x)
		a.Join("x", "r")
		emit(t, a, "first", nil)
		offset := lastOffset(t, x.takeQueued()[0])

		var stop atomic.Bool
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := 0; !stop.Load() || i < 50; i++ {
					emit(t, a, fmt.Sprintf("g%d-%d", g, i), &BroadcastOptions{Rooms: []Room{"r"}})
					if i%8 == 0 {
						runtime.Gosched()
					}
				}
			})
		}
		time.Sleep(time.Duration(round%3) * time.Millisecond)
		disconnect(a, "x", "pid", time.Time{})
		runtime.Gosched()
		s, err := a.RestoreSession(context.Background(), "pid", offset)
		if err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
		y := newQueueSocket("x")
		if err := a.ResumeSocket(y, s); err != nil {
			t.Fatal(err)
		}
		stop.Store(true)
		wg.Wait()

		got := y.takeQueued()
		want := a.rec.seq - 1 // every packet but "first"
		if uint64(len(got)) != want {
			t.Fatalf("round %d: resumed socket got %d packets, want %d", round, len(got), want)
		}
		for i, f := range got {
			n, ok := a.rec.parse(lastOffset(t, f), false)
			if !ok || n != uint64(i)+2 {
				t.Fatalf("round %d: packet %d has number %d (%q)", round, i, n, f)
			}
		}
		_ = a.Close()
	}
}

func TestNotSessionAware(t *testing.T) {
	for _, a := range []*InMemory{NewInMemory(&fakeNsp{}), NewSessionAware(&fakeNsp{}, 0),
		NewInMemoryFactory(Events{})(&fakeNsp{}).(*InMemory)} {
		x := newQueueSocket("x")
		a.AddSocket(x)
		emit(t, a, "e", nil)
		if d := x.take(); !reflect.DeepEqual(d, []string{`42["e"]`}) {
			t.Fatalf("delivered %q", d)
		}
		a.PersistSession(&Session{SID: "x", PID: "p"})
		if _, err := a.RestoreSession(context.Background(), "p", ""); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("RestoreSession: %v", err)
		}
		if err := a.ResumeSocket(x, &Session{SID: "x"}); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("ResumeSocket: %v", err)
		}
		if a.RecoveryStats() != (RecoveryStats{}) {
			t.Fatal("stats")
		}
	}
}

// recoveryNsp is a namespace with recovery on.
type recoveryNsp struct{ fakeNsp }

func (*recoveryNsp) MaxDisconnectionDuration() time.Duration { return time.Minute }

func TestFactoryRecoveryConfig(t *testing.T) {
	a := NewInMemoryFactory(Events{})(&recoveryNsp{}).(*InMemory)
	x := newQueueSocket("x")
	a.AddSocket(x)
	emit(t, a, "e", nil)
	if q := x.takeQueued(); len(q) != 1 || len(args(t, q[0])) != 2 {
		t.Fatalf("not numbered: %q", q)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.RecoveryStats() != (RecoveryStats{}) {
		t.Fatal("Close kept packets")
	}
	// After Close, broadcasts are delivered, not kept.
	emit(t, a, "after", nil)
	if d := x.take(); !reflect.DeepEqual(d, []string{`42["after"]`}) {
		t.Fatalf("after Close: %q", d)
	}
	a.PersistSession(&Session{SID: "x", PID: "p"})
	if a.RecoveryStats() != (RecoveryStats{}) {
		t.Fatal("session kept after Close")
	}
}

// TestRecoveryMemory persists many sessions and broadcasts many packets,
// and checks that expiry gives the memory back.
func TestRecoveryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const window = 4 * time.Second // longer than filling it takes, even with -race on a slow machine
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	a := NewSessionAware(&fakeNsp{}, window)
	defer func() { _ = a.Close() }()
	before := heap()
	const n = 10000
	payload := strings.Repeat("x", 200)
	for i := range n {
		id := "socket-" + strconv.Itoa(i)
		a.AddSocket(newQueueSocket(id))
		a.Join(id, Room("room-"+strconv.Itoa(i%100)))
		rooms := a.Rooms(id)
		a.RemoveSocket(id)
		a.PersistSession(&Session{SID: id, PID: "pid-" + strconv.Itoa(i), Rooms: rooms,
			Data: map[string]string{"user": payload}})
		if i%4 == 0 {
			_ = a.Broadcast(context.Background(), &parser.Packet{Type: parser.Event, Data: []any{"m", payload}},
				&BroadcastOptions{Rooms: []Room{Room("room-" + strconv.Itoa(i%100))}})
		}
	}
	st := a.RecoveryStats()
	full := heap()
	if st.Sessions != n || st.Packets != n/4 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d sessions and %d packets (estimated %d bytes): heap +%d KiB", st.Sessions, st.Packets, st.Bytes,
		(int64(full)-int64(before))/1024)
	deadline := time.Now().Add(10 * time.Second)
	for a.RecoveryStats() != (RecoveryStats{}) {
		if time.Now().After(deadline) {
			t.Fatalf("not expired: %+v", a.RecoveryStats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := heap()
	t.Logf("after expiry: heap %+d KiB from the start", (int64(after)-int64(before))/1024)
	if grown := int64(after) - int64(before); grown > int64(full-before)/4 {
		t.Fatalf("expiry kept %d of %d bytes", grown, full-before)
	}
}
