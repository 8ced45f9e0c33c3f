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

	mu          sync.Mutex
	state       sessionState
	transport   Transport
	queue       []Frame
	spare       []Frame
	closeReason CloseReason
	closeErr    error
	closeTimer  *time.Timer // bounds a graceful close of a polling session

	// WebSocket transport.
	ws      *websocket.Conn
	writing bool // a writer goroutine is running

	// Polling transport.
	pollWaiting bool
	pollWake    chan struct{} // capacity 1
	posting     bool

	// Upgrade to WebSocket.
	upgrading bool
	probed    bool // the probe was answered: answer polls at once
	probeConn *websocket.Conn

	// Heartbeat.
	hbTimer      *time.Timer
	hbDue        time.Time
	awaitingPong bool

	dispatchMu sync.Mutex
	done       chan struct{}
}

// ID returns the session ID (the Engine.IO sid). It is a bearer secret:
// anyone who knows it can act as the client, so do not log or expose it.
func (s *Session) ID() string { return s.id }

// Request returns the handshake request, without its body. Its context
// carries the request's values but is never cancelled.
func (s *Session) Request() *http.Request { return s.req }

// Protocol returns the Engine.IO protocol revision the client speaks.
func (s *Session) Protocol() int { return 4 }

// Transport returns the transport the session currently uses.
func (s *Session) Transport() Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Done returns a channel that is closed once the session has closed and its
// handler's OnClose has returned.
func (s *Session) Done() <-chan struct{} { return s.done }

// Send queues frames to be written, in order and without interleaving with
// the frames of other calls. It does not wait for the network. It returns
// ErrSessionClosed once the session is closing, and ErrQueueFull when the
// session's queue cannot take the frames: the session is then closed.
func (s *Session) Send(frames ...Frame) error {
	s.mu.Lock()
	err := s.enqueueLocked(frames)
	start := s.startWriterLocked()
	transport := s.transport // for the log: read under the lock, an upgrade may change it
	s.mu.Unlock()
	if start {
		go s.writeLoop()
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
	start := s.startWriterLocked()
	s.mu.Unlock()
	if start {
		go s.writeLoop()
	}
	return ok
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
	if s.transport == Polling && s.pollWaiting {
		s.wakePollLocked()
	}
	return nil
}

// startWriterLocked reports whether the caller must start a WebSocket
// writer goroutine, and marks it running.
func (s *Session) startWriterLocked() bool {
	if s.transport != WebSocket || s.ws == nil || s.writing || s.state == stateClosed {
		return false
	}
	if len(s.queue) == 0 && s.state != stateClosing {
		return false
	}
	s.writing = true
	return true
}

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

// writeLoop writes queued frames to the WebSocket until the queue is empty.
// It exists only while there is something to write.
func (s *Session) writeLoop() {
	var done []Frame
	for {
		s.mu.Lock()
		if done != nil {
			s.recycleLocked(done)
		}
		conn := s.ws
		if len(s.queue) == 0 || s.state == stateClosed {
			s.writing = false
			closing := s.state == stateClosing
			reason := s.closeReason // read under the lock: closeNow writes it
			code := websocket.StatusNormalClosure
			if reason == ReasonServerShutdown {
				code = websocket.StatusGoingAway
			}
			s.mu.Unlock()
			if closing {
				_ = conn.Close(code, "")
				s.closeNow(reason, nil)
			}
			return
		}
		frames := s.takeQueueLocked()
		s.mu.Unlock()
		for _, f := range frames {
			typ := websocket.MessageText
			if f.Binary {
				typ = websocket.MessageBinary
			}
			if err := conn.Write(bgctx, typ, f.Data); err != nil {
				s.mu.Lock()
				s.writing = false
				s.mu.Unlock()
				s.closeNow(ReasonTransportError, err)
				return
			}
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
		s.onPong()
	case PacketPing:
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

// startHeartbeat schedules the first ping.
func (s *Session) startHeartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return
	}
	d := s.srv.opts.PingInterval
	s.hbDue = time.Now().Add(d)
	s.hbTimer = time.AfterFunc(d, s.heartbeat)
}

// heartbeat runs when the heartbeat timer fires: it sends a ping, or closes
// the session when the previous ping went unanswered.
func (s *Session) heartbeat() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	if now.Before(s.hbDue) { // fired before a Reset took effect
		s.hbTimer.Reset(s.hbDue.Sub(now))
		s.mu.Unlock()
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.closeNow(ReasonPingTimeout, nil)
		return
	}
	s.awaitingPong = true
	d := s.srv.opts.PingTimeout
	s.hbDue = now.Add(d)
	s.hbTimer.Reset(d)
	err := s.enqueueLocked([]Frame{framePing})
	start := s.startWriterLocked()
	s.mu.Unlock()
	if start {
		go s.writeLoop()
	}
	if errors.Is(err, ErrQueueFull) {
		s.closeNow(ReasonTransportError, ErrQueueFull)
	}
}

// pongOverdueLocked reports whether the client failed to answer a ping in
// time. Requests check it so that a session past its deadline is closed
// even if the heartbeat timer has not run yet.
func (s *Session) pongOverdueLocked() bool {
	return s.awaitingPong && s.state == stateOpen && !time.Now().Before(s.hbDue)
}

func (s *Session) onPong() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.awaitingPong || s.state != stateOpen {
		return
	}
	s.awaitingPong = false
	d := s.srv.opts.PingInterval
	s.hbDue = time.Now().Add(d)
	s.hbTimer.Reset(d)
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
	if s.hbTimer != nil {
		s.hbTimer.Stop()
	}
	probe := s.probeConn
	var start bool
	switch s.transport {
	case WebSocket:
		start = s.startWriterLocked()
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
		_ = probe.CloseNow()
	}
	if start {
		go s.writeLoop()
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
	if s.hbTimer != nil {
		s.hbTimer.Stop()
	}
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
			_ = ws.CloseNow()
		}
		if probe != nil {
			_ = probe.CloseNow()
		}
		s.dispatchMu.Lock()
		if s.handler != nil {
			s.handler.OnClose(reason, err)
		}
		s.dispatchMu.Unlock()
		close(s.done)
		s.srv.live.Done()
	}()
}
