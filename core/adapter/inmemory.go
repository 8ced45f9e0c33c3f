package adapter

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/e347a4c2/socketio/core/parser"
)

// Events are optional callbacks an [InMemory] adapter calls after its rooms
// change (the reference's create-room, delete-room, join-room and
// leave-room adapter events). They run outside the adapter's locks, on the
// goroutine that made the change; they must not block.
type Events struct {
	CreateRoom func(room Room)
	DeleteRoom func(room Room)
	JoinRoom   func(room Room, id string)
	LeaveRoom  func(room Room, id string)
}

// InMemory is the default adapter: a rooms index for the sockets connected
// to this process. Cluster adapters embed it for local delivery.
//
// A socket's own room (named by its ID) is implicit: it costs no entry in
// the index, which keeps idle sockets small.
type InMemory struct {
	nsp    Namespace
	events Events
	rec    *recovery // nil unless session-aware (see NewSessionAware)

	mu      sync.RWMutex
	all     memberSet           // every local socket
	rooms   map[Room]*memberSet // explicitly joined rooms
	joined  map[string][]Room   // rooms each socket joined, its own excluded
	sockets map[string]Socket   // by ID
}

// memberSet is a set of sockets that iterates as fast as a slice.
type memberSet struct {
	list  []Socket
	index map[string]int
}

func (m *memberSet) add(s Socket) {
	if _, ok := m.index[s.ID()]; ok {
		return
	}
	if m.index == nil {
		m.index = make(map[string]int)
	}
	m.index[s.ID()] = len(m.list)
	m.list = append(m.list, s)
}

func (m *memberSet) remove(id string) bool {
	i, ok := m.index[id]
	if !ok {
		return false
	}
	last := len(m.list) - 1
	if i != last {
		m.list[i] = m.list[last]
		m.index[m.list[i].ID()] = i
	}
	m.list[last] = nil
	m.list = m.list[:last]
	delete(m.index, id)
	return true
}

func (m *memberSet) has(id string) bool {
	_, ok := m.index[id]
	return ok
}

// NewInMemory returns the in-memory adapter of nsp.
func NewInMemory(nsp Namespace) *InMemory {
	return &InMemory{
		nsp:     nsp,
		rooms:   make(map[Room]*memberSet),
		joined:  make(map[string][]Room),
		sockets: make(map[string]Socket),
	}
}

// NewInMemoryFactory returns a Factory of in-memory adapters that report
// room changes to events. The adapters are session-aware (see
// [NewSessionAware]) when the namespace has connection-state recovery on
// (see [RecoveryConfig]).
func NewInMemoryFactory(events Events) Factory {
	return func(nsp Namespace) Adapter {
		a := newFor(nsp)
		a.events = events
		return a
	}
}

// Namespace returns the namespace the adapter serves.
func (a *InMemory) Namespace() Namespace { return a.nsp }

// AddSocket implements Adapter.
func (a *InMemory) AddSocket(s Socket) {
	a.mu.Lock()
	a.all.add(s)
	a.sockets[s.ID()] = s
	a.mu.Unlock()
}

// RemoveSocket implements Adapter.
func (a *InMemory) RemoveSocket(id string) {
	a.mu.Lock()
	rooms := a.joined[id]
	delete(a.joined, id)
	left := make([]roomChange, len(rooms))
	for i, r := range rooms {
		left[i] = roomChange{r, a.leaveLocked(id, r)}
	}
	delete(a.sockets, id)
	a.all.remove(id)
	a.mu.Unlock()
	a.notifyLeave(left, id)
}

// Join implements Adapter.
func (a *InMemory) Join(id string, rooms ...Room) {
	a.mu.Lock()
	s, ok := a.sockets[id]
	if !ok {
		a.mu.Unlock()
		return
	}
	joined := a.joinLocked(s, rooms)
	a.mu.Unlock()
	a.notifyJoin(joined, id)
}

// joinLocked adds s to rooms and returns the changes to report.
func (a *InMemory) joinLocked(s Socket, rooms []Room) []roomChange {
	var joined []roomChange
	id := s.ID()
	for _, r := range rooms {
		if r == Room(id) || slices.Contains(a.joined[id], r) {
			continue
		}
		set := a.rooms[r]
		created := set == nil
		if created {
			set = &memberSet{}
			a.rooms[r] = set
		}
		set.add(s)
		a.joined[id] = append(a.joined[id], r)
		joined = append(joined, roomChange{r, created})
	}
	return joined
}

// Leave implements Adapter.
func (a *InMemory) Leave(id string, rooms ...Room) {
	var left []roomChange
	a.mu.Lock()
	for _, r := range rooms {
		list := a.joined[id]
		i := slices.Index(list, r)
		if i < 0 {
			continue
		}
		list = slices.Delete(list, i, i+1)
		if len(list) == 0 {
			delete(a.joined, id)
		} else {
			a.joined[id] = list
		}
		left = append(left, roomChange{r, a.leaveLocked(id, r)})
	}
	a.mu.Unlock()
	a.notifyLeave(left, id)
}

// leaveLocked removes id from room r's set and reports whether the room
// is now gone.
func (a *InMemory) leaveLocked(id string, r Room) bool {
	set := a.rooms[r]
	if set == nil || !set.remove(id) {
		return false
	}
	if len(set.list) == 0 {
		delete(a.rooms, r)
		return true
	}
	return false
}

// roomChange is a room a socket joined or left; edge is true when the
// join created the room or the leave deleted it.
type roomChange struct {
	room Room
	edge bool
}

// notifyJoin reports joins in the reference's order: for each room, its
// creation, then the join.
func (a *InMemory) notifyJoin(joined []roomChange, id string) {
	ev := &a.events
	for _, c := range joined {
		if c.edge && ev.CreateRoom != nil {
			ev.CreateRoom(c.room)
		}
		if ev.JoinRoom != nil {
			ev.JoinRoom(c.room, id)
		}
	}
}

// notifyLeave reports leaves in the reference's order: for each room, the
// leave, then the room's deletion.
func (a *InMemory) notifyLeave(left []roomChange, id string) {
	ev := &a.events
	for _, c := range left {
		if ev.LeaveRoom != nil {
			ev.LeaveRoom(c.room, id)
		}
		if c.edge && ev.DeleteRoom != nil {
			ev.DeleteRoom(c.room)
		}
	}
}

// Rooms implements Adapter.
func (a *InMemory) Rooms(id string) []Room {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if _, ok := a.sockets[id]; !ok {
		return nil
	}
	joined := a.joined[id]
	rooms := make([]Room, 0, 1+len(joined))
	rooms = append(rooms, Room(id))
	return append(rooms, joined...)
}

var targetPool = sync.Pool{New: func() any { return new([]Socket) }}

// LocalSockets calls fn with the local sockets opts selects (ignoring
// opts.Flags). The slice is only valid during the call.
func (a *InMemory) LocalSockets(opts *BroadcastOptions, fn func([]Socket)) {
	tp := targetPool.Get().(*[]Socket)
	a.mu.RLock()
	targets := a.collectLocked((*tp)[:0], opts)
	a.mu.RUnlock()
	fn(targets)
	clear(targets)
	*tp = targets[:0]
	targetPool.Put(tp)
}

// collectLocked appends the sockets opts selects to dst.
func (a *InMemory) collectLocked(dst []Socket, opts *BroadcastOptions) []Socket {
	var rooms, except []Room
	if opts != nil {
		rooms, except = opts.Rooms, opts.Except
	}
	excluded := func(s Socket) bool {
		for _, r := range except {
			if r == Room(s.ID()) {
				return true
			}
			if set := a.rooms[r]; set != nil && set.has(s.ID()) {
				return true
			}
		}
		return false
	}
	if len(rooms) == 0 {
		if len(except) == 0 {
			return append(dst, a.all.list...)
		}
		for _, s := range a.all.list {
			if !excluded(s) {
				dst = append(dst, s)
			}
		}
		return dst
	}
	var seen map[string]struct{}
	if len(rooms) > 1 {
		seen = make(map[string]struct{})
	}
	add := func(s Socket) {
		if seen != nil {
			if _, dup := seen[s.ID()]; dup {
				return
			}
			seen[s.ID()] = struct{}{}
		}
		if len(except) == 0 || !excluded(s) {
			dst = append(dst, s)
		}
	}
	for _, r := range rooms {
		if set := a.rooms[r]; set != nil {
			for _, s := range set.list {
				add(s)
			}
		}
		// The room named by a socket's ID holds that socket (which cannot
		// be in the explicit set: Join skips a socket's own room).
		if s, ok := a.sockets[string(r)]; ok {
			add(s)
		}
	}
	return dst
}

// Broadcast implements Adapter. The packet is encoded once for all
// recipients. A session-aware adapter numbers and keeps events without
// acknowledgement that are not volatile (see [NewSessionAware]).
func (a *InMemory) Broadcast(_ context.Context, p *parser.Packet, opts *BroadcastOptions) error {
	if a.rec != nil && keepable(p, opts) {
		return a.broadcastKept(p, opts)
	}
	return a.broadcastNow(p, opts)
}

// broadcastNow delivers p to the sockets opts selects.
func (a *InMemory) broadcastNow(p *parser.Packet, opts *BroadcastOptions) error {
	frames, err := a.nsp.Encode(p)
	if err != nil {
		return err
	}
	volatile := opts != nil && opts.Flags.Volatile
	a.LocalSockets(opts, func(targets []Socket) {
		for _, s := range targets {
			s.Deliver(p, frames, volatile)
		}
	})
	return nil
}

// BroadcastWithAck implements Adapter.
func (a *InMemory) BroadcastWithAck(_ context.Context, p *parser.Packet, opts *BroadcastOptions, h AckHandler) error {
	frames, err := a.nsp.Encode(p)
	if err != nil {
		return err
	}
	var deadline time.Time
	if opts.Flags.Timeout > 0 {
		deadline = time.Now().Add(opts.Flags.Timeout)
	}
	a.LocalSockets(opts, func(targets []Socket) {
		h.Expect(len(targets))
		for _, s := range targets {
			id := s.ID()
			s.ExpectAck(p.ID, deadline, func(args parser.Payload, err error) {
				if err == nil {
					h.Ack(id, args)
				}
			})
			s.Deliver(p, frames, opts.Flags.Volatile)
		}
	})
	return nil
}

// SocketIDs implements Adapter for this node.
func (a *InMemory) SocketIDs(_ context.Context, opts *BroadcastOptions) ([]string, error) {
	var ids []string
	a.LocalSockets(opts, func(targets []Socket) {
		ids = make([]string, len(targets))
		for i, s := range targets {
			ids[i] = s.ID()
		}
	})
	return ids, nil
}

// AllRooms implements Adapter for this node: every joined room and every
// socket's own room.
func (a *InMemory) AllRooms(context.Context) ([]Room, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	rooms := make([]Room, 0, len(a.rooms)+len(a.all.list))
	for r := range a.rooms {
		rooms = append(rooms, r)
	}
	for _, s := range a.all.list {
		if _, ok := a.rooms[Room(s.ID())]; !ok {
			rooms = append(rooms, Room(s.ID()))
		}
	}
	return rooms, nil
}

// FetchSockets implements Adapter for this node.
func (a *InMemory) FetchSockets(_ context.Context, opts *BroadcastOptions) ([]SocketDetails, error) {
	var sockets []Socket
	a.LocalSockets(opts, func(targets []Socket) { sockets = slices.Clone(targets) })
	details := make([]SocketDetails, len(sockets))
	for i, s := range sockets {
		details[i] = s.Details()
	}
	return details, nil
}

// AddSockets implements Adapter for this node.
func (a *InMemory) AddSockets(_ context.Context, opts *BroadcastOptions, rooms []Room) error {
	for _, id := range a.localIDs(opts) {
		a.Join(id, rooms...)
	}
	return nil
}

// DelSockets implements Adapter for this node.
func (a *InMemory) DelSockets(_ context.Context, opts *BroadcastOptions, rooms []Room) error {
	for _, id := range a.localIDs(opts) {
		a.Leave(id, rooms...)
	}
	return nil
}

// DisconnectSockets implements Adapter for this node.
func (a *InMemory) DisconnectSockets(_ context.Context, opts *BroadcastOptions, close bool) error {
	var sockets []Socket
	a.LocalSockets(opts, func(targets []Socket) { sockets = slices.Clone(targets) })
	for _, s := range sockets {
		s.Disconnect(close)
	}
	return nil
}

func (a *InMemory) localIDs(opts *BroadcastOptions) []string {
	ids, _ := a.SocketIDs(context.Background(), opts)
	return ids
}

// ServerSideEmit implements Adapter: a single node has no other node to
// tell, so it reports zero expected answers.
func (a *InMemory) ServerSideEmit(_ context.Context, _ *parser.Packet, h *AckHandler) error {
	if h != nil && h.Expect != nil {
		h.Expect(0)
	}
	return nil
}

// ServerCount implements Adapter: a single node.
func (a *InMemory) ServerCount(context.Context) (int, error) { return 1, nil }

// Close implements Adapter: a session-aware adapter stops its cleanup and
// forgets its sessions and packets.
func (a *InMemory) Close() error {
	if a.rec != nil {
		a.rec.close()
	}
	return nil
}

// Len returns the number of local sockets.
func (a *InMemory) Len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.all.list)
}
