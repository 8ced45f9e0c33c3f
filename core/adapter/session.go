package adapter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// Connection-state recovery (the reference's connectionStateRecovery): a
// session-aware adapter numbers every event it broadcasts with an offset,
// which the packet carries as its last argument, and keeps the packets for
// a while. When a socket disconnects for a reason that allows it, the core
// persists its session (ID, private ID, rooms, data); the client reconnects
// with the private ID and the offset of the last event it received, and the
// core restores the socket: same ID, rooms and data, and the packets it
// missed, in order.

// Session is the state of a socket kept across a temporary disconnection.
type Session struct {
	// SID is the socket's ID, which the recovered socket keeps.
	SID string
	// PID is the socket's private session ID. It is a bearer secret, like
	// the Engine.IO session ID: whoever presents it resumes the socket.
	PID string
	// Rooms are the rooms the socket was in, its own room included.
	Rooms []Room
	// Data is the socket's application data. The in-memory adapter keeps
	// the Go value as is; an adapter that stores sessions elsewhere keeps an
	// encoded form.
	Data any
	// ConnectedAt is when the socket first connected (a recovered socket
	// keeps the time of the connection it recovers). Packets broadcast
	// earlier are never given to it, whatever offset its client presents.
	ConnectedAt time.Time

	// Offset, set by RestoreSession, is the position in the namespace's
	// packets that Missed goes up to; ResumeSocket continues from it. It is
	// opaque to the core.
	Offset string
	// Missed, set by RestoreSession, are the packets the socket missed,
	// oldest first, up to Offset.
	Missed []MissedPacket
}

// MissedPacket is an event broadcast while its recipient was away.
type MissedPacket struct {
	// Offset is the packet's offset, its last argument.
	Offset string
	// Frames are the encoded packet, ready to queue on a connection.
	Frames []engine.Frame
}

// QueueSocket is implemented by the core's sockets. A session-aware
// [InMemory] queues the packets it numbers, and the missed packets of a
// resumed socket, with Queue while it holds its lock, so that every socket
// receives them in the order of their offsets, and reports them to the
// socket's outgoing listeners with NotifyOutgoing once it has released it.
// For a socket that does not implement it, it calls Deliver under its lock.
type QueueSocket interface {
	Socket
	// Queue queues frames for the socket's client. It must neither block
	// nor call the adapter.
	Queue(frames []engine.Frame)
	// NotifyOutgoing reports p to the socket's outgoing listeners.
	NotifyOutgoing(p *parser.Packet)
}

// SessionAware is implemented by adapters that can tell whether they keep
// sessions (the in-memory adapter, and the adapters that embed it). The
// core takes an adapter that does not implement it for one that does.
type SessionAware interface {
	// SessionAware reports whether the adapter numbers and keeps packets
	// and sessions for connection-state recovery.
	SessionAware() bool
}

// SessionAware implements [SessionAware]: see [NewSessionAware]. An
// adapter that embeds an InMemory made by [NewInMemory] reports false.
func (a *InMemory) SessionAware() bool { return a.rec != nil }

// RecoveryConfig is implemented by the [Namespace] the core passes to its
// adapters. MaxDisconnectionDuration is zero when connection-state recovery
// is off.
type RecoveryConfig interface {
	// MaxDisconnectionDuration returns how long sessions and packets are
	// kept; zero when recovery is off.
	MaxDisconnectionDuration() time.Duration
}

// Errors of connection-state recovery.
var (
	// ErrSessionNotFound: no session has this private ID (it never existed,
	// expired, or was restored already).
	ErrSessionNotFound = errors.New("adapter: session not found")
	// ErrOffsetNotFound: the offset is not one this adapter gave out, or
	// some packet after it is no longer kept, so the socket cannot get
	// every packet it missed.
	ErrOffsetNotFound = errors.New("adapter: offset not found")
)

// NewSessionAware returns an in-memory adapter that keeps sessions and the
// events it broadcasts for maxDisconnectionDuration, for connection-state
// recovery (the reference's SessionAwareAdapter). With a zero duration it
// is [NewInMemory].
//
// Memory: every event broadcast without acknowledgement and not volatile
// (Socket.Emit included, which goes through the adapter when recovery is
// on) is kept, encoded once, for maxDisconnectionDuration plus up to a
// quarter of it (the cleanup period), whether or not anyone is
// disconnected: about the encoded size plus 100 bytes per packet, times the
// broadcast rate, times the window. Each disconnected socket's session
// (rooms and data) is kept as long. See [InMemory.RecoveryStats].
func NewSessionAware(nsp Namespace, maxDisconnectionDuration time.Duration) *InMemory {
	a := NewInMemory(nsp)
	if maxDisconnectionDuration > 0 {
		a.rec = newRecovery(maxDisconnectionDuration)
	}
	return a
}

// newFor returns the in-memory adapter of nsp, session-aware when nsp has
// recovery on.
func newFor(nsp Namespace) *InMemory {
	if rc, ok := nsp.(RecoveryConfig); ok {
		return NewSessionAware(nsp, rc.MaxDisconnectionDuration())
	}
	return NewInMemory(nsp)
}

// recovery is the state of a session-aware InMemory.
type recovery struct {
	maxAge time.Duration
	tick   time.Duration // cleanup period
	tag    string        // prefix of this adapter's offsets
	epoch  time.Time     // times below are durations since epoch (monotonic)

	// mu orders the packets kept: it is held from numbering a packet until
	// it is queued for every recipient. It is taken before InMemory.mu.
	mu          sync.Mutex
	seq         uint64                // offset number of the last packet kept; numbers start at 1
	buf         []kept                // packets kept, oldest first, with consecutive numbers from buf[head]
	head        int                   // buf[:head] are dropped
	bytes       int64                 // estimated size of buf[head:]
	lastDropped int64                 // time of the newest packet dropped; math.MinInt64 when none
	sessions    map[string]*persisted // by PID
	timer       *time.Timer
	closed      bool
}

// kept is a packet kept for recovery.
type kept struct {
	seq    uint64
	at     int64 // emitted, since epoch
	frames []engine.Frame
	rooms  []Room
	except []Room
	size   int64
}

type persisted struct {
	s  Session
	at int64 // disconnected, since epoch
}

// keptOverhead estimates the memory of a kept packet beyond its bytes.
const keptOverhead = 100

// maxOffsetLen bounds the offsets and private IDs looked up.
const maxOffsetLen = 128

func newRecovery(maxAge time.Duration) *recovery {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return &recovery{
		maxAge:      maxAge,
		tick:        min(max(maxAge/4, 10*time.Millisecond), time.Minute),
		tag:         base64.RawURLEncoding.EncodeToString(b[:]),
		epoch:       time.Now(),
		lastDropped: math.MinInt64,
	}
}

func (r *recovery) now() int64 { return int64(time.Since(r.epoch)) }

// since converts t to the recovery's clock; the zero time is the earliest.
func (r *recovery) since(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return int64(t.Sub(r.epoch))
}

// offset formats offset number n: the adapter's tag, then n in base 36.
func (r *recovery) offset(n uint64) string { return r.tag + strconv.FormatUint(n, 36) }

// parse returns the number of an offset this adapter gave out; with zero,
// it also accepts the number 0, which only RestoreSession gives out (in
// Session.Offset, when no packet was kept yet).
func (r *recovery) parse(offset string, zero bool) (uint64, bool) {
	if len(offset) > maxOffsetLen {
		return 0, false
	}
	rest, ok := strings.CutPrefix(offset, r.tag)
	if !ok || rest == "" || rest[0] == '+' || rest[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 36, 64)
	if err != nil || n == 0 && !zero || n > r.seq {
		return 0, false
	}
	return n, true
}

// firstLocked returns the number of the oldest packet kept (seq+1 when
// none is).
func (r *recovery) firstLocked() uint64 {
	if r.head < len(r.buf) {
		return r.buf[r.head].seq
	}
	return r.seq + 1
}

// coveredLocked reports whether every packet after number cursor that a
// socket connected at connectedAt may need is still kept.
func (r *recovery) coveredLocked(cursor uint64, connectedAt int64) bool {
	return cursor <= r.seq && (cursor+1 >= r.firstLocked() || r.lastDropped < connectedAt)
}

// missedLocked returns the packets after number cursor, emitted since
// connectedAt, for a socket in rooms.
func (r *recovery) missedLocked(cursor uint64, rooms []Room, connectedAt int64) []MissedPacket {
	i := r.head
	if first := r.firstLocked(); cursor >= first {
		i += int(cursor - first + 1)
	}
	var missed []MissedPacket
	for ; i < len(r.buf); i++ {
		k := &r.buf[i]
		if k.at >= connectedAt && shouldInclude(rooms, k.rooms, k.except) {
			missed = append(missed, MissedPacket{Offset: r.offset(k.seq), Frames: k.frames})
		}
	}
	return missed
}

// shouldInclude reports whether a socket in rooms was a recipient of a
// broadcast to to, except except (the reference's shouldIncludePacket).
func shouldInclude(rooms, to, except []Room) bool {
	included := len(to) == 0
	for _, r := range rooms {
		if slices.Contains(except, r) {
			return false
		}
		if !included && slices.Contains(to, r) {
			included = true
		}
	}
	return included
}

// dropOldLocked drops the packets older than the window.
func (r *recovery) dropOldLocked(now int64) {
	cutoff := now - int64(r.maxAge)
	for r.head < len(r.buf) && r.buf[r.head].at < cutoff {
		k := &r.buf[r.head]
		r.lastDropped = k.at
		r.bytes -= k.size
		*k = kept{}
		r.head++
	}
	switch {
	case r.head == len(r.buf):
		r.buf, r.head = r.buf[:0], 0
		if cap(r.buf) > 1024 {
			r.buf = nil // give back what a burst grew
		}
	case r.head >= 64 && r.head > len(r.buf)/2:
		n := copy(r.buf, r.buf[r.head:])
		clear(r.buf[n:])
		r.buf, r.head = r.buf[:n], 0
	}
}

// armLocked schedules a cleanup while there is something to clean.
func (r *recovery) armLocked() {
	if r.timer == nil && !r.closed && (r.head < len(r.buf) || len(r.sessions) > 0) {
		r.timer = time.AfterFunc(r.tick, r.cleanup)
	}
}

// cleanup drops expired packets and sessions.
func (r *recovery) cleanup() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if r.closed {
		return
	}
	now := r.now()
	r.dropOldLocked(now)
	cutoff := now - int64(r.maxAge)
	for pid, p := range r.sessions {
		if p.at < cutoff {
			delete(r.sessions, pid)
		}
	}
	if len(r.sessions) == 0 {
		r.sessions = nil // a map keeps its buckets: start a small one next time
	}
	r.armLocked()
}

func (r *recovery) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.buf, r.head, r.bytes, r.sessions = nil, 0, 0, nil
}

// keepable reports whether a broadcast is numbered and kept: events
// without acknowledgement (whose callback could not be restored), not
// volatile.
func keepable(p *parser.Packet, opts *BroadcastOptions) bool {
	if p.Type != parser.Event && p.Type != parser.BinaryEvent || p.HasID {
		return false
	}
	if opts != nil && opts.Flags.Volatile {
		return false
	}
	_, ok := p.Data.([]any)
	return ok
}

// broadcastKept numbers p, keeps it, and queues it for the sockets opts
// selects, all under the recovery lock so that every socket gets the
// packets in the order of their offsets.
func (a *InMemory) broadcastKept(p *parser.Packet, opts *BroadcastOptions) error {
	r := a.rec
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return a.broadcastNow(p, opts)
	}
	// The offset goes at the end of the arguments, where the client looks
	// for it; the caller's packet is left as it was.
	n := r.seq + 1
	q := *p
	q.Data = append(slices.Clip(p.Data.([]any)), r.offset(n))
	frames, err := a.nsp.Encode(&q)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	r.seq = n
	now := r.now()
	r.dropOldLocked(now)
	k := kept{seq: n, at: now, frames: frames, size: keptOverhead}
	if opts != nil {
		k.rooms, k.except = slices.Clone(opts.Rooms), slices.Clone(opts.Except)
	}
	for _, f := range frames {
		k.size += int64(len(f.Data))
	}
	r.buf = append(r.buf, k)
	r.bytes += k.size
	r.armLocked()

	tp := targetPool.Get().(*[]Socket)
	a.mu.RLock()
	targets := a.collectLocked((*tp)[:0], opts)
	a.mu.RUnlock()
	for _, s := range targets {
		queueTo(s, &q, frames)
	}
	r.mu.Unlock()
	for _, s := range targets {
		if qs, ok := s.(QueueSocket); ok {
			qs.NotifyOutgoing(p)
		}
	}
	clear(targets)
	*tp = targets[:0]
	targetPool.Put(tp)
	return nil
}

// queueTo queues a numbered packet for s.
func queueTo(s Socket, p *parser.Packet, frames []engine.Frame) {
	if qs, ok := s.(QueueSocket); ok {
		qs.Queue(frames)
		return
	}
	s.Deliver(p, frames, false)
}

// PersistSession implements Adapter: a session-aware adapter keeps s until
// RestoreSession takes it or maxDisconnectionDuration passes. Others
// ignore it.
func (a *InMemory) PersistSession(s *Session) {
	r := a.rec
	if r == nil || s == nil || s.PID == "" || s.SID == "" {
		return
	}
	p := &persisted{s: Session{SID: s.SID, PID: s.PID, Rooms: slices.Clone(s.Rooms), Data: s.Data,
		ConnectedAt: s.ConnectedAt}}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	p.at = r.now()
	if r.sessions == nil {
		r.sessions = make(map[string]*persisted)
	}
	r.sessions[s.PID] = p
	r.armLocked()
}

// RestoreSession implements Adapter. The session is taken: it can be
// restored once, whatever the outcome. Its Missed packets are those after
// offset, emitted since the socket first connected, for its rooms; an
// offset this adapter did not give out, or after which a packet the socket
// needs was dropped, is ErrOffsetNotFound.
func (a *InMemory) RestoreSession(_ context.Context, pid, offset string) (*Session, error) {
	r := a.rec
	if r == nil {
		return nil, ErrNotSupported
	}
	if pid == "" || len(pid) > maxOffsetLen {
		return nil, ErrSessionNotFound
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.sessions[pid]
	if p == nil || r.closed {
		return nil, ErrSessionNotFound
	}
	delete(r.sessions, pid)
	if r.now()-p.at > int64(r.maxAge) {
		return nil, ErrSessionNotFound
	}
	n, ok := r.parse(offset, false)
	connectedAt := r.since(p.s.ConnectedAt)
	if !ok || !r.coveredLocked(n, connectedAt) {
		return nil, ErrOffsetNotFound
	}
	s := p.s
	s.Offset = r.offset(r.seq)
	s.Missed = r.missedLocked(n, s.Rooms, connectedAt)
	return &s, nil
}

// ResumeSocket implements Adapter. It fails, adding nothing, when the
// packets after sess.Offset are no longer all kept (the socket's middleware
// ran for longer than the window) or a socket with the session's ID is
// connected.
func (a *InMemory) ResumeSocket(s Socket, sess *Session) error {
	r := a.rec
	if r == nil {
		return ErrNotSupported
	}
	if s == nil || sess == nil || s.ID() != sess.SID {
		return ErrSessionNotFound
	}
	id := s.ID()
	r.mu.Lock()
	n, ok := r.parse(sess.Offset, true)
	connectedAt := r.since(sess.ConnectedAt)
	if r.closed || !ok || !r.coveredLocked(n, connectedAt) {
		r.mu.Unlock()
		return ErrOffsetNotFound
	}
	a.mu.RLock()
	_, dup := a.sockets[id]
	a.mu.RUnlock()
	if dup {
		r.mu.Unlock()
		return fmt.Errorf("%w: socket %s is connected", ErrSessionNotFound, id)
	}
	// The missed packets are queued before the socket can receive anything
	// else: numbered broadcasts wait for r.mu, others cannot find it yet.
	for _, m := range sess.Missed {
		queueTo(s, &parser.Packet{Type: parser.Event}, m.Frames)
	}
	for _, m := range r.missedLocked(n, sess.Rooms, connectedAt) {
		queueTo(s, &parser.Packet{Type: parser.Event}, m.Frames)
	}
	a.mu.Lock()
	a.all.add(s)
	a.sockets[id] = s
	joined := a.joinLocked(s, sess.Rooms)
	a.mu.Unlock()
	r.mu.Unlock()
	a.notifyJoin(joined, id)
	return nil
}

// RecoveryStats describe what a session-aware adapter keeps.
type RecoveryStats struct {
	// Sessions is the number of sessions of disconnected sockets kept.
	Sessions int
	// Packets is the number of packets kept, and Bytes an estimate of
	// their memory.
	Packets int
	Bytes   int64
}

// RecoveryStats returns what the adapter keeps for connection-state
// recovery (zero when it is not session-aware).
func (a *InMemory) RecoveryStats() RecoveryStats {
	r := a.rec
	if r == nil {
		return RecoveryStats{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return RecoveryStats{Sessions: len(r.sessions), Packets: len(r.buf) - r.head, Bytes: r.bytes}
}
