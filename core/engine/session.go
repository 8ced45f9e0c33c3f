package engine

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // flushing what is queued, then closing
	stateClosed
)

// maxSpareQueue is the largest queue backing array a session keeps for
// reuse; bigger ones, left by bursts, are released to keep idle sessions
// small. (append grows a []Frame past 16 elements to a capacity of 35.)
const maxSpareQueue = 64

// shutdownGrace bounds how long Shutdown waits for a client to collect
// what its session still has queued.
const shutdownGrace = 2 * time.Second

// Session is one Engine.IO connection. Its methods are safe for concurrent
// use.
type Session struct {
	srv     *Server
	id      string
	req     *http.Request
	handler SessionHandler
	// v3 is set for a client of protocol 3 (see Options.AllowEIO3); b64
	// when its polling transport takes no binary payloads (b64=1).
	v3, b64 bool

	mu          sync.Mutex
	state       sessionState
	transport   Transport
	queue       []Frame
	spare       []Frame
	corked      int // see Cork
	closeReason CloseReason
	closeErr    error
	closeTimer  *time.Timer // bounds a graceful close of a polling session

	// WebSocket transport.
	ws *wsConn
	// writing is set while one goroutine owns the write side: a sender
	// writing at once, a flush worker, or the writer goroutine.
	writing bool

	// Polling transport.
	pollWaiting bool
	pollWake    chan struct{} // capacity 1; polling sessions only
	posting     bool

	// Upgrade to WebSocket.
	upgrading bool
	probed    bool // the probe was answered: answer polls at once
	probeConn *wsConn

	// Heartbeat, scheduled on the server's wheel (which owns the hb*
	// links, under its own lock).
	hbDue          time.Time
	awaitingPong   bool
	hbScheduled    bool
	hbSlot         int64
	hbPrev, hbNext *Session

	dispatchMu sync.Mutex
	done       chan struct{} // made by Done, closed once OnClose has returned
	finished   bool
}

// ID returns the session ID (the Engine.IO sid). It is a bearer secret:
// anyone who knows it can act as the client, so do not log or expose it.
func (s *Session) ID() string { return s.id }

// Request returns the handshake request, without its body. Its context
// carries the request's values but is never cancelled.
func (s *Session) Request() *http.Request { return s.req }

// Protocol returns the Engine.IO protocol revision the client speaks: 4,
// or 3 for the 2.x clients a server with Options.AllowEIO3 accepts.
func (s *Session) Protocol() int {
	if s.v3 {
		return 3
	}
	return 4
}

// Transport returns the transport the session currently uses.
func (s *Session) Transport() Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Done returns a channel that is closed once the session has closed and its
// handler's OnClose has returned.
func (s *Session) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		s.done = make(chan struct{})
		if s.finished {
			close(s.done)
		}
	}
	return s.done
}

// Send queues frames to be written, in order and without interleaving with
// the frames of other calls. It does not wait for the network: on a
// WebSocket with nothing else to write, the frames are written at once by
// the calling goroutine when the socket takes them without blocking, and
// otherwise by a writer goroutine. While the flush workers have a backlog
// (see Queue), the frames join it instead, so that writes leave in the
// order they were produced: an answer sent after a broadcast does not
// overtake it. It returns ErrSessionClosed once the session is closing, and
// ErrQueueFull when the session's queue cannot take the frames: the
// session is then closed.
func (s *Session) Send(frames ...Frame) error { return s.send(frames, true) }

// Queue is Send for fan-out: the frames are written by the server's flush
// workers (at most GOMAXPROCS goroutines, which exist only while sessions
// have something to write) rather than by the calling goroutine, so that a
// broadcast to many sessions returns once the frames are queued, and the
// writes of several broadcasts to one session can leave together.
func (s *Session) Queue(frames ...Frame) error { return s.send(frames, false) }

func (s *Session) send(frames []Frame, inline bool) error {
	s.mu.Lock()
	err := s.enqueueLocked(frames)
	start := s.claimWriterLocked()
	ws := s.ws
	transport := s.transport // for the log: read under the lock, an upgrade may change it
	s.mu.Unlock()
	if start {
		s.startWriter(ws, inline && s.srv.flusher.busy.Load() == 0)
	}
	if errors.Is(err, ErrQueueFull) {
		s.srv.log.Warn("engine.io session closed: outgoing queue full", "transport", transport)
		s.closeNow(ReasonTransportError, ErrQueueFull)
	}
	return err
}

// TrySend queues frames only if the transport can write them at once: a
// WebSocket with nothing else queued, or a long-polling GET waiting for
// data. It reports whether it queued them. This is the reference's volatile
// delivery: frames that would have to wait are dropped.
func (s *Session) TrySend(frames ...Frame) bool {
	s.mu.Lock()
	ok := s.state == stateOpen && len(s.queue) == 0 &&
		((s.transport == WebSocket && !s.writing) || (s.transport == Polling && s.pollWaiting))
	if ok {
		ok = s.enqueueLocked(frames) == nil
	}
	start := s.claimWriterLocked()
	ws := s.ws
	s.mu.Unlock()
	if start {
		s.startWriter(ws, true)
	}
	return ok
}

// Buffered returns the number of frames queued on the session and not yet
// taken by a writer: it never exceeds Options.MaxBufferedPackets. It is
// meant for metrics and tests.
func (s *Session) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Close closes the session from the server side: what is queued is
// written first, then the transport is closed (reason "forced close").
func (s *Session) Close() { s.closeGracefully(ReasonForcedClose) }

func (s *Session) enqueueLocked(frames []Frame) error {
	if s.state != stateOpen {
		return ErrSessionClosed
	}
	if len(s.queue)+len(frames) > s.srv.opts.MaxBufferedPackets {
		return ErrQueueFull
	}
	if s.queue == nil && s.spare != nil {
		s.queue, s.spare = s.spare, nil
	}
	s.queue = append(s.queue, frames...)
	if s.transport == Polling && s.pollWaiting && s.corked == 0 {
		s.wakePollLocked()
	}
	return nil
}

// Cork holds the frames sent from now on in the queue, unwritten, until
// the matching Uncork: what is sent in between leaves together, after
// everything the caller does in between. Calls nest.
func (s *Session) Cork() {
	s.mu.Lock()
	s.corked++
	s.mu.Unlock()
}

// Uncork ends a Cork and writes what it held.
func (s *Session) Uncork() {
	s.mu.Lock()
	if s.corked > 0 {
		s.corked--
	}
	if s.corked == 0 && len(s.queue) > 0 && s.transport == Polling && s.pollWaiting {
		s.wakePollLocked()
	}
	start := s.claimWriterLocked()
	ws := s.ws
	s.mu.Unlock()
	if start {
		s.startWriter(ws, true)
	}
}

// claimWriterLocked reports whether the caller must start writing the
// WebSocket's queue (see startWriter), and marks the write side taken.
func (s *Session) claimWriterLocked() bool {
	if s.transport != WebSocket || s.ws == nil || s.writing || s.state == stateClosed {
		return false
	}
	if !s.writableLocked() && s.state != stateClosing {
		return false
	}
	s.writing = true
	return true
}

// writableLocked reports whether the queue holds frames to write now.
func (s *Session) writableLocked() bool {
	return len(s.queue) > 0 && (s.corked == 0 || s.state == stateClosing)
}

// startWriter writes the queue after claimWriterLocked: inline, by the
// calling goroutine, or by a flush worker, as long as the socket takes the
// frames without blocking; by a writer goroutine otherwise, and always for
// the connections that cannot write without blocking.
func (s *Session) startWriter(ws *wsConn, inline bool) {
	switch {
	case !ws.framed || ws.raw == nil:
		go s.writeLoop(ws, nil, 0, false)
	case inline:
		s.flushWS(ws, maxInlineRounds)
	default:
		s.srv.flusher.add(s)
	}
}

// maxInlineRounds bounds how many batches a sender writes inline before it
// leaves what others keep queueing to a flush worker.
const maxInlineRounds = 2

func (s *Session) wakePollLocked() {
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
}

// takeQueueLocked removes and returns the queued frames.
func (s *Session) takeQueueLocked() []Frame {
	q := s.queue
	s.queue = nil
	return q
}

// recycleLocked keeps a drained queue's backing array for reuse.
func (s *Session) recycleLocked(q []Frame) {
	if cap(q) > maxSpareQueue || s.spare != nil {
		return
	}
	clear(q)
	s.spare = q[:0]
}

// flushWS writes the queued frames without blocking, for the goroutine that
// owns the write side. After rounds batches it leaves the rest to a flush
// worker (rounds < 0: no bound); when the socket cannot take everything at
// once, a writer goroutine takes over.
func (s *Session) flushWS(ws *wsConn, rounds int) {
	var done []Frame
	for i := 0; ; i++ {
		s.mu.Lock()
		if done != nil { // the previous batch, written
			s.recycleLocked(done)
		}
		if s.state == stateClosed || !s.writableLocked() {
			if s.releaseWriterLocked() {
				go s.finishClose(ws)
			}
			return
		}
		if i == rounds {
			s.mu.Unlock()
			s.srv.flusher.add(s)
			return
		}
		frames := s.takeQueueLocked()
		s.mu.Unlock()
		bp := ws.encodeFrames(frames)
		done = frames
		if !ws.wmu.TryLock() { // coder/websocket is writing a control frame
			s.recycle(done)
			go s.writeLoop(ws, bp, 0, false)
			return
		}
		n, err := ws.tryWriteLocked(*bp)
		if errors.Is(err, errWouldBlock) {
			s.recycle(done)
			go s.writeLoop(ws, bp, n, true) // takes over wmu, mid-frame
			return
		}
		ws.wmu.Unlock()
		putWriteBuf(bp)
		if err != nil {
			s.writeFailed(err)
			return
		}
	}
}

func (s *Session) recycle(frames []Frame) {
	s.mu.Lock()
	s.recycleLocked(frames)
	s.mu.Unlock()
}

// releaseWriterLocked gives up the write side once the queue is empty, and
// unlocks s.mu. It reports whether the caller must complete a graceful
// close (see finishClose); the write side then stays taken.
func (s *Session) releaseWriterLocked() bool {
	if s.state == stateClosing {
		s.mu.Unlock()
		return true
	}
	s.writing = false
	s.mu.Unlock()
	return false
}

// finishClose ends a graceful close once its queue is written: a close
// frame, the client's answer (coder/websocket waits for it), then the
// session closes.
func (s *Session) finishClose(ws *wsConn) {
	s.mu.Lock()
	reason := s.closeReason // read under the lock: closeNow writes it
	s.mu.Unlock()
	code := websocket.StatusNormalClosure
	if reason == ReasonServerShutdown {
		code = websocket.StatusGoingAway
	}
	ws.beginClose()
	_ = ws.conn.Close(code, "")
	s.closeNow(reason, nil)
}

func (s *Session) writeFailed(err error) {
	s.mu.Lock()
	s.writing = false
	s.mu.Unlock()
	s.closeNow(writeCloseReason(err), err)
}

// writeLoop writes the queue to the WebSocket with blocking writes, first
// pending[off:] when given (with wmu already held when held is set: the
// rest of a frame another goroutine began). It exists only while there is
// something to write.
func (s *Session) writeLoop(ws *wsConn, pending *[]byte, off int, held bool) {
	if pending != nil {
		if !held {
			ws.wmu.Lock()
		}
		_, err := ws.nc.Write((*pending)[off:])
		ws.wmu.Unlock()
		putWriteBuf(pending)
		if err != nil {
			s.writeFailed(err)
			return
		}
	}
	var done []Frame
	for {
		s.mu.Lock()
		if done != nil { // the previous batch, written
			s.recycleLocked(done)
		}
		if s.state == stateClosed || !s.writableLocked() {
			if s.releaseWriterLocked() {
				s.finishClose(ws)
			}
			return
		}
		frames := s.takeQueueLocked()
		s.mu.Unlock()
		if err := ws.writeFrames(frames); err != nil {
			s.writeFailed(err)
			return
		}
		done = frames
	}
}

// handlePacket acts on one packet from the client, whatever the transport.
func (s *Session) handlePacket(p packet) {
	switch p.typ {
	case PacketMessage:
		s.dispatch(p.data, p.binary)
	case PacketPong:
		if s.v3 {
			s.closeNow(ReasonTransportError, errHeartbeatDir)
			return
		}
		s.onPong()
	case PacketPing:
		if s.v3 {
			s.onPing()
			return
		}
		s.closeNow(ReasonTransportError, errHeartbeatDir)
	case PacketClose:
		s.closeNow(ReasonTransportClose, nil)
	}
	// open, upgrade and noop packets mean nothing on an established transport.
}

func (s *Session) dispatch(data []byte, binary bool) {
	s.dispatchMu.Lock()
	defer s.dispatchMu.Unlock()
	s.mu.Lock()
	open := s.state == stateOpen
	s.mu.Unlock()
	if open {
		s.handler.OnMessage(data, binary)
	}
}

// startHeartbeat schedules the first ping. A protocol 3 session, whose
// client pings, waits for a ping instead: it is always awaiting one, due
// PingInterval+PingTimeout after the last (see onPing), so that the
// heartbeat closes it once the deadline passes.
func (s *Session) startHeartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return
	}
	if s.v3 {
		s.awaitingPong = true
		s.hbDue = time.Now().Add(s.srv.opts.PingInterval + s.srv.opts.PingTimeout)
	} else {
		s.hbDue = time.Now().Add(s.srv.opts.PingInterval)
	}
	s.srv.heartbeats.schedule(s, s.hbDue)
}

// onPing answers a protocol 3 client's ping with a pong and moves the
// deadline of its next ping.
func (s *Session) onPing() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.hbDue = time.Now().Add(s.srv.opts.PingInterval + s.srv.opts.PingTimeout)
	s.srv.heartbeats.schedule(s, s.hbDue)
	err := s.enqueueLocked([]Frame{framePong})
	start := s.claimWriterLocked()
	ws := s.ws
	s.mu.Unlock()
	if start {
		s.startWriter(ws, true)
	}
	if errors.Is(err, ErrQueueFull) {
		s.closeNow(ReasonTransportError, ErrQueueFull)
	}
}

// heartbeat runs when the session's heartbeat deadline passes: it sends a
// ping, or closes the session when the previous ping went unanswered.
func (s *Session) heartbeat() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	if now.Before(s.hbDue) { // fired before a pong moved the deadline
		s.srv.heartbeats.schedule(s, s.hbDue)
		s.mu.Unlock()
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.closeNow(ReasonPingTimeout, nil)
		return
	}
	s.awaitingPong = true
	// The pong is due PingTimeout after the ping was due, as with a timer
	// of its own, rather than after the wheel slot that sent it: the
	// session ends when the reference's would. A ping late by more than a
	// slot (an overloaded server) still leaves the client PingTimeout less
	// a slot.
	timeout := s.srv.opts.PingTimeout
	s.hbDue = s.hbDue.Add(timeout)
	if earliest := now.Add(timeout - s.srv.heartbeats.gran); s.hbDue.Before(earliest) {
		s.hbDue = earliest
	}
	s.srv.heartbeats.schedule(s, s.hbDue)
	err := s.enqueueLocked([]Frame{framePing})
	start := s.claimWriterLocked()
	ws := s.ws
	s.mu.Unlock()
	if start {
		s.startWriter(ws, false) // the pings of a wheel slot leave by the flush workers
	}
	if errors.Is(err, ErrQueueFull) {
		s.closeNow(ReasonTransportError, ErrQueueFull)
	}
}

// pongOverdueLocked reports whether the client failed to answer a ping in
// time. Requests check it so that a session past its deadline is closed
// even if the heartbeat has not run yet: when the ping itself is late (the
// wheel runs late on a loaded machine), the deadline is still PingTimeout
// after the ping was due, as the heartbeat counts it.
func (s *Session) pongOverdueLocked() bool {
	if s.state != stateOpen {
		return false
	}
	due := s.hbDue
	if !s.awaitingPong {
		due = due.Add(s.srv.opts.PingTimeout)
	}
	return !time.Now().Before(due)
}

func (s *Session) onPong() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.awaitingPong || s.state != stateOpen {
		return
	}
	s.awaitingPong = false
	s.hbDue = time.Now().Add(s.srv.opts.PingInterval)
	s.srv.heartbeats.schedule(s, s.hbDue)
}

// closeGracefully starts a server-side close: queued frames are written
// first. The close completes in the writer (WebSocket), in the next poll,
// or when the grace period ends (polling).
func (s *Session) closeGracefully(reason CloseReason) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.closeReason = reason
	s.srv.heartbeats.cancel(s)
	probe, ws := s.probeConn, s.ws
	var start bool
	switch s.transport {
	case WebSocket:
		start = s.claimWriterLocked()
	case Polling:
		if s.pollWaiting {
			s.wakePollLocked()
		}
	}
	// Bound the close, since the heartbeat that would catch a dead client
	// is stopped: a live client polls again, or reads what the writer
	// sends, within pingInterval. Without the bound, a polling client that
	// is gone, or a WebSocket client that stopped reading (the writer then
	// blocks in Write for good), would keep the session forever.
	// A server shutting down waits less: a live polling client is back
	// within a round trip, and clients reconnect elsewhere anyway.
	grace := s.srv.opts.PingInterval + s.srv.opts.PingTimeout
	if reason == ReasonServerShutdown {
		grace = min(grace, shutdownGrace)
	}
	s.closeTimer = time.AfterFunc(grace, func() { s.closeNow(reason, nil) })
	s.mu.Unlock()
	if probe != nil {
		_ = probe.conn.CloseNow()
	}
	if start {
		go s.writeLoop(ws, nil, 0, false)
	}
}

// closeNow closes the session at once. The first call decides the reason,
// except that a graceful close in progress keeps its own.
func (s *Session) closeNow(reason CloseReason, err error) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if s.state == stateClosing {
		reason = s.closeReason
	}
	s.state = stateClosed
	s.closeReason, s.closeErr = reason, err
	s.srv.heartbeats.cancel(s)
	if s.closeTimer != nil {
		s.closeTimer.Stop()
	}
	ws, probe := s.ws, s.probeConn
	s.queue, s.spare = nil, nil
	lingers := reason == ReasonTransportClose && s.transport == Polling && !s.pollWaiting
	if s.pollWaiting {
		s.wakePollLocked()
	}
	s.mu.Unlock()
	if lingers {
		s.srv.rememberClientClosed(s.id)
	}

	s.srv.remove(s)
	// The connections are closed in the goroutine: CloseNow waits for a
	// close handshake under way (the writer's graceful Close, up to 10s
	// with a client that does not answer it), and closeNow must not block
	// its callers, Shutdown among them. OnClose still comes after.
	// OnClose must wait for a running OnMessage, which may be the caller.
	go func() {
		if ws != nil {
			_ = ws.conn.CloseNow()
		}
		if probe != nil {
			_ = probe.conn.CloseNow()
		}
		s.dispatchMu.Lock()
		if s.handler != nil {
			s.handler.OnClose(reason, err)
		}
		s.dispatchMu.Unlock()
		s.mu.Lock()
		s.finished = true
		if s.done != nil {
			close(s.done)
		}
		s.mu.Unlock()
		s.srv.live.Done()
	}()
}
