package adapter

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// fakeNsp encodes with the JSON codec and counts encodings.
type fakeNsp struct {
	mu      sync.Mutex
	encodes int
}

func (n *fakeNsp) Name() string { return "/" }

func (n *fakeNsp) ServerSideEvent(string, []any, func([]any)) {}

func (n *fakeNsp) Encode(p *parser.Packet) ([]engine.Frame, error) {
	n.mu.Lock()
	n.encodes++
	n.mu.Unlock()
	pf, err := parser.JSON.Encode(p, []byte("4"))
	if err != nil {
		return nil, err
	}
	frames := make([]engine.Frame, len(pf))
	for i, f := range pf {
		frames[i] = engine.Frame{Data: f.Data, Binary: f.Binary}
	}
	return frames, nil
}

// fakeSocket records what the adapter does to it.
type fakeSocket struct {
	id string

	mu           sync.Mutex
	delivered    []string
	volatile     []bool
	acks         map[uint64]func(parser.Payload, error)
	deadlines    []time.Time
	disconnected []bool
}

func newFake(id string) *fakeSocket {
	return &fakeSocket{id: id, acks: map[uint64]func(parser.Payload, error){}}
}

func (s *fakeSocket) ID() string { return s.id }

func (s *fakeSocket) Deliver(p *parser.Packet, frames []engine.Frame, volatile bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered = append(s.delivered, string(frames[0].Data))
	s.volatile = append(s.volatile, volatile)
}

func (s *fakeSocket) ExpectAck(id uint64, deadline time.Time, fn func(parser.Payload, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acks[id] = fn
	s.deadlines = append(s.deadlines, deadline)
}

func (s *fakeSocket) Details() SocketDetails {
	return SocketDetails{ID: s.id, Data: "data of " + s.id}
}

func (s *fakeSocket) Disconnect(close bool) {
	s.mu.Lock()
	s.disconnected = append(s.disconnected, close)
	s.mu.Unlock()
}

func (s *fakeSocket) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.delivered
	s.delivered = nil
	return d
}

// setup returns an adapter with sockets a, b, c, d: a in red and blue, b in
// red, c in blue, d in none.
func setup(t *testing.T, events Events) (*InMemory, *fakeNsp, map[string]*fakeSocket) {
	t.Helper()
	nsp := &fakeNsp{}
	a := NewInMemoryFactory(events)(nsp).(*InMemory)
	socks := map[string]*fakeSocket{}
	for _, id := range []string{"a", "b", "c", "d"} {
		socks[id] = newFake(id)
		a.AddSocket(socks[id])
	}
	a.Join("a", "red", "blue")
	a.Join("b", "red")
	a.Join("c", "blue")
	return a, nsp, socks
}

func ids(a *InMemory, opts *BroadcastOptions) []string {
	got, _ := a.SocketIDs(context.Background(), opts)
	sort.Strings(got)
	return got
}

func TestRoomsIndex(t *testing.T) {
	a, _, _ := setup(t, Events{})
	if a.Namespace().Name() != "/" || a.Len() != 4 {
		t.Fatalf("Namespace %q, Len %d", a.Namespace().Name(), a.Len())
	}
	if r := a.Rooms("a"); !reflect.DeepEqual(r, []Room{"a", "red", "blue"}) {
		t.Fatalf("Rooms(a) = %v", r)
	}
	if r := a.Rooms("d"); !reflect.DeepEqual(r, []Room{"d"}) {
		t.Fatalf("Rooms(d) = %v", r)
	}
	if r := a.Rooms("unknown"); r != nil {
		t.Fatalf("Rooms(unknown) = %v", r)
	}
	a.Join("unknown", "red") // not a local socket: ignored
	if got := ids(a, &BroadcastOptions{Rooms: []Room{"red"}}); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("red = %v", got)
	}
	all, _ := a.AllRooms(context.Background())
	slices.Sort(all)
	if !reflect.DeepEqual(all, []Room{"a", "b", "blue", "c", "d", "red"}) {
		t.Fatalf("AllRooms = %v", all)
	}
	a.Leave("a", "red", "nope")
	if r := a.Rooms("a"); !reflect.DeepEqual(r, []Room{"a", "blue"}) {
		t.Fatalf("Rooms(a) after Leave = %v", r)
	}
	a.RemoveSocket("c")
	a.RemoveSocket("c")
	if a.Len() != 3 || a.Rooms("c") != nil {
		t.Fatalf("after RemoveSocket: Len %d, Rooms(c) %v", a.Len(), a.Rooms("c"))
	}
	if got := ids(a, &BroadcastOptions{Rooms: []Room{"blue"}}); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("blue = %v", got)
	}
	// Removing a socket and adding it again starts it with no room.
	a.AddSocket(newFake("c"))
	if r := a.Rooms("c"); !reflect.DeepEqual(r, []Room{"c"}) {
		t.Fatalf("Rooms(c) after re-adding = %v", r)
	}
	// memberSet swap-removal keeps the index right.
	for _, id := range []string{"a", "b", "c", "d"} {
		a.Join(id, "all")
	}
	a.Leave("a", "all")
	a.Leave("c", "all")
	if got := ids(a, &BroadcastOptions{Rooms: []Room{"all"}}); !reflect.DeepEqual(got, []string{"b", "d"}) {
		t.Fatalf("all = %v", got)
	}
}

func TestSelection(t *testing.T) {
	a, _, _ := setup(t, Events{})
	for _, tc := range []struct {
		opts *BroadcastOptions
		want []string
	}{
		{nil, []string{"a", "b", "c", "d"}},
		{&BroadcastOptions{}, []string{"a", "b", "c", "d"}},
		{&BroadcastOptions{Rooms: []Room{"red"}}, []string{"a", "b"}},
		{&BroadcastOptions{Rooms: []Room{"red", "blue"}}, []string{"a", "b", "c"}},
		{&BroadcastOptions{Rooms: []Room{"red", "red"}}, []string{"a", "b"}},
		{&BroadcastOptions{Rooms: []Room{"d", "red"}}, []string{"a", "b", "d"}},
		{&BroadcastOptions{Rooms: []Room{"a", "red"}}, []string{"a", "b"}},
		{&BroadcastOptions{Rooms: []Room{"nope"}}, nil},
		{&BroadcastOptions{Except: []Room{"red"}}, []string{"c", "d"}},
		{&BroadcastOptions{Except: []Room{"a"}}, []string{"b", "c", "d"}},
		{&BroadcastOptions{Except: []Room{"nope"}}, []string{"a", "b", "c", "d"}},
		{&BroadcastOptions{Rooms: []Room{"blue"}, Except: []Room{"red"}}, []string{"c"}},
		{&BroadcastOptions{Rooms: []Room{"blue", "d"}, Except: []Room{"a", "d"}}, []string{"c"}},
	} {
		if got := ids(a, tc.opts); !reflect.DeepEqual(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
			t.Errorf("%+v: %v, want %v", tc.opts, got, tc.want)
		}
	}
}

func TestBroadcast(t *testing.T) {
	a, nsp, socks := setup(t, Events{})
	p := &parser.Packet{Type: parser.Event, Namespace: "/", Data: []any{"hi", 1}}
	if err := a.Broadcast(context.Background(), p, &BroadcastOptions{Rooms: []Room{"red", "blue"}, Flags: Flags{Volatile: true}}); err != nil {
		t.Fatal(err)
	}
	if nsp.encodes != 1 {
		t.Fatalf("encoded %d times, want once", nsp.encodes)
	}
	for id, want := range map[string]int{"a": 1, "b": 1, "c": 1, "d": 0} {
		s := socks[id]
		if got := s.take(); len(got) != want || want == 1 && (got[0] != `42["hi",1]` || !s.volatile[0]) {
			t.Errorf("%s got %q (volatile %v)", id, got, s.volatile)
		}
	}
	if err := a.Broadcast(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		if len(s.take()) != 1 {
			t.Errorf("%s: not delivered to everyone", s.id)
		}
	}
	bad := &parser.Packet{Type: parser.Event, Data: []any{"disconnect"}}
	if err := a.Broadcast(context.Background(), bad, nil); !errors.Is(err, parser.ErrInvalidPacket) {
		t.Fatalf("Broadcast(reserved) = %v", err)
	}
}

func TestBroadcastWithAck(t *testing.T) {
	a, _, socks := setup(t, Events{})
	var mu sync.Mutex
	expected := -1
	got := map[string]string{}
	h := AckHandler{
		Expect: func(n int) { mu.Lock(); expected = n; mu.Unlock() },
		Ack: func(id string, args parser.Payload) {
			var v string
			_ = args.Decode(0, &v)
			mu.Lock()
			got[id] = v
			mu.Unlock()
		},
	}
	p := &parser.Packet{Type: parser.Event, Namespace: "/", ID: 7, HasID: true, Data: []any{"q"}}
	opts := &BroadcastOptions{Rooms: []Room{"red"}, Flags: Flags{Timeout: time.Minute}}
	before := time.Now()
	if err := a.BroadcastWithAck(context.Background(), p, opts, h); err != nil {
		t.Fatal(err)
	}
	if expected != 2 {
		t.Fatalf("Expect(%d), want 2", expected)
	}
	for _, id := range []string{"a", "b"} {
		s := socks[id]
		if d := s.take(); len(d) != 1 || d[0] != `427["q"]` {
			t.Fatalf("%s got %q", id, d)
		}
		if dl := s.deadlines[0]; dl.Before(before.Add(time.Minute)) || dl.After(time.Now().Add(time.Minute)) {
			t.Fatalf("%s deadline %v", id, dl)
		}
	}
	dec := parser.JSON.NewDecoder()
	ack, err := dec.Add([]byte(`37["yes"]`), false)
	if err != nil {
		t.Fatal(err)
	}
	socks["a"].acks[7](ack.Payload, nil)
	socks["b"].acks[7](nil, errors.New("disconnected")) // errors are not answers
	if !reflect.DeepEqual(got, map[string]string{"a": "yes"}) {
		t.Fatalf("acks = %v", got)
	}
	// No timeout: no deadline.
	_ = a.BroadcastWithAck(context.Background(), p, &BroadcastOptions{Rooms: []Room{"c"}}, h)
	if dl := socks["c"].deadlines[0]; !dl.IsZero() {
		t.Fatalf("deadline without timeout = %v", dl)
	}
}

func TestRemoteOperations(t *testing.T) {
	a, _, socks := setup(t, Events{})
	ctx := context.Background()
	d, err := a.FetchSockets(ctx, &BroadcastOptions{Rooms: []Room{"blue"}})
	if err != nil || len(d) != 2 {
		t.Fatalf("FetchSockets = %v, %v", d, err)
	}
	sort.Slice(d, func(i, j int) bool { return d[i].ID < d[j].ID })
	if d[0].ID != "a" || d[0].Data != "data of a" || d[1].ID != "c" {
		t.Fatalf("FetchSockets = %+v", d)
	}
	if err := a.AddSockets(ctx, &BroadcastOptions{Except: []Room{"red"}}, []Room{"green"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(a, &BroadcastOptions{Rooms: []Room{"green"}}); !reflect.DeepEqual(got, []string{"c", "d"}) {
		t.Fatalf("green = %v", got)
	}
	if err := a.DelSockets(ctx, &BroadcastOptions{Rooms: []Room{"blue"}}, []Room{"green", "red"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(a, &BroadcastOptions{Rooms: []Room{"green", "red"}}); !reflect.DeepEqual(got, []string{"b", "d"}) {
		t.Fatalf("green+red = %v", got)
	}
	if err := a.DisconnectSockets(ctx, &BroadcastOptions{Rooms: []Room{"red"}}, true); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][]bool{"a": nil, "b": {true}, "c": nil, "d": nil} {
		if got := socks[id].disconnected; !reflect.DeepEqual(got, want) {
			t.Errorf("%s disconnected %v", id, got)
		}
	}
	n, err := a.ServerCount(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ServerCount = %d, %v", n, err)
	}
	expect := -1
	if err := a.ServerSideEmit(ctx, &parser.Packet{}, &AckHandler{Expect: func(n int) { expect = n }}); err != nil || expect != 0 {
		t.Fatalf("ServerSideEmit: Expect(%d), %v", expect, err)
	}
	if err := a.ServerSideEmit(ctx, &parser.Packet{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestEvents checks the room callbacks and their order, which is the
// reference's: create then join, leave then delete, room by room.
func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var log []string
	rec := func(format string, args ...any) {
		mu.Lock()
		log = append(log, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	a, _, _ := setup(t, Events{
		CreateRoom: func(r Room) { rec("create %s", r) },
		DeleteRoom: func(r Room) { rec("delete %s", r) },
		JoinRoom:   func(r Room, id string) { rec("join %s %s", r, id) },
		LeaveRoom:  func(r Room, id string) { rec("leave %s %s", r, id) },
	})
	want := []string{"create red", "join red a", "create blue", "join blue a", "join red b", "join blue c"}
	if !reflect.DeepEqual(log, want) {
		t.Fatalf("setup events = %q", log)
	}
	log = nil
	a.Join("a", "red", "a", "green") // already in red; own room implicit
	a.Leave("b", "red", "red")
	a.Leave("a", "red")
	a.RemoveSocket("a")
	a.RemoveSocket("d")
	want = []string{"create green", "join green a", "leave red b", "leave red a", "delete red",
		"leave blue a", "leave green a", "delete green"}
	if !reflect.DeepEqual(log, want) {
		t.Fatalf("events = %q\nwant     %q", log, want)
	}
	// Callbacks may use the adapter: they run outside its locks.
	a2, _, _ := setup(t, Events{})
	a2.events.JoinRoom = func(r Room, id string) { _ = a2.Rooms(id) }
	a2.events.LeaveRoom = func(r Room, id string) { _ = a2.Len() }
	a2.Join("a", "x")
	a2.RemoveSocket("a")
}

// TestConcurrent exercises the adapter from many goroutines for the race
// detector.
func TestConcurrent(t *testing.T) {
	a, _, _ := setup(t, Events{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			id := fmt.Sprintf("g%d", g)
			for i := range 200 {
				a.AddSocket(newFake(id))
				a.Join(id, "r", Room(fmt.Sprint(i%5)))
				_ = a.Broadcast(context.Background(), &parser.Packet{Type: parser.Event, Data: []any{"x"}},
					&BroadcastOptions{Rooms: []Room{"r", "1"}, Except: []Room{"2"}})
				_, _ = a.FetchSockets(context.Background(), nil)
				a.Leave(id, "r")
				a.RemoveSocket(id)
			}
		})
	}
	wg.Wait()
	if a.Len() != 4 {
		t.Fatalf("Len = %d", a.Len())
	}
}
