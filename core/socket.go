package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

type socketState uint8

const (
	socketPending       socketState = iota // middleware running
	socketConnected                        // in the namespace
	socketDisconnecting                    // disconnect task queued
	socketDisconnected
)

// Socket is a client's connection to one namespace. Its event handlers run
// one at a time, in the order the client sent the events, on a goroutine
// of the socket's own; its methods are safe for concurrent use.
type Socket struct {
	id     string
	nsp    *Namespace
	client *client
	auth   map[string]any
	time   time.Time
	ctx    context.Context
	cancel context.CancelCauseFunc

	// Connection-state recovery (see WithConnectionStateRecovery): pid is
	// the private session ID (empty when recovery is off); recovered is
	// true for a socket that resumes a session; connectedAt is when the
	// socket's first connection was made (the recovered one's for a
	// recovered socket). None changes after newSocket.
	pid         string
	recovered   bool
	connectedAt time.Time

	mailbox mailbox

	mu          sync.Mutex
	state       socketState
	registered  bool // added to the namespace and adapter
	handlers    map[string][]*listener
	anyIn       []*anyListener
	anyOut      []*outListener
	middlewares []func(*Event) error
	onDiscing   []func(DisconnectReason)
	onDisc      []func(DisconnectReason)
	onError     []func(error)
	upgradeHs   []func(engine.Transport)
	acks        map[uint64]*pendingAck
	ackSweepAt  int
	data        any
	handshake   *Handshake
	restored    *adapter.Session // the session to resume, until runConnect takes it
	joined      bool             // the socket joined its namespace (it may have left since)
	reason      DisconnectReason // why it disconnected; empty while connected
}

type listener struct {
	fn   func(*Event)
	once bool
}

type anyListener struct{ fn func(*Event) }

type outListener struct {
	fn func(event string, args []any)
}

type pendingAck struct {
	deadline time.Time
	fn       func(parser.Payload, error)
}

// newSocket creates the socket of a CONNECT; sess, when not nil, is the
// session it resumes (see client.restore).
func newSocket(nsp *Namespace, c *client, auth map[string]any, sess *adapter.Session) *Socket {
	s := &Socket{
		nsp:    nsp,
		client: c,
		auth:   auth,
		time:   time.Now(),
	}
	switch {
	case sess != nil:
		s.id, s.pid, s.data, s.connectedAt = sess.SID, sess.PID, sess.Data, sess.ConnectedAt
		s.recovered, s.restored = true, sess
	case nsp.srv.cfg.recovery != nil:
		s.id, s.pid, s.connectedAt = newSocketID(), newSocketID(), s.time
	default:
		s.id = newSocketID()
	}
	s.ctx, s.cancel = context.WithCancelCause(c.session.Request().Context())
	s.mailbox.run = s.runTask
	nsp.srv.liveSockets.Add(1)
	return s
}

// release drops a socket that never got going.
func (s *Socket) release() {
	s.cancel(ReasonForcedServerClose)
	s.nsp.unclaim()
	s.nsp.srv.liveSockets.Done()
}

// newSocketID returns 20 characters of URL-safe base64 from crypto/rand.
func newSocketID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ID returns the socket's ID. It is not the Engine.IO session ID: it may be
// shared (sockets join rooms by it) without giving the connection away.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Context returns a context that carries the values of the handshake
// request's context (what a framework's middleware put there) and is
// cancelled as soon as the socket disconnects (before the disconnect
// handlers run), with the DisconnectReason as its cause.
func (s *Socket) Context() context.Context { return s.ctx }

// Request returns the HTTP request that opened the connection, without its
// body (the reference's socket.request).
func (s *Socket) Request() *http.Request { return s.client.session.Request() }

// Handshake describes the connection's handshake request and the socket's
// auth payload.
func (s *Socket) Handshake() *Handshake {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handshake == nil {
		s.handshake = buildHandshake(s.Request(), s.time, s.auth)
	}
	return s.handshake
}

func buildHandshake(r *http.Request, t time.Time, auth map[string]any) *Handshake {
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if auth == nil {
		auth = map[string]any{}
	}
	return &Handshake{
		Headers: r.Header,
		Time:    t,
		Address: addr,
		XDomain: r.Header.Get("Origin") != "",
		Secure:  r.TLS != nil,
		URL:     r.URL.RequestURI(),
		Query:   r.URL.Query(),
		Auth:    auth,
	}
}

// Transport returns the transport the connection currently uses.
func (s *Socket) Transport() engine.Transport { return s.client.session.Transport() }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == socketConnected
}

// Data returns the socket's application data (the reference's
// socket.data), which FetchSockets reports to other nodes too.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData replaces the socket's application data. Keep it JSON-encodable
// if other nodes fetch it.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...Room) { s.nsp.adapter.Join(s.id, rooms...) }

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...Room) { s.nsp.adapter.Leave(s.id, rooms...) }

// Rooms returns the rooms the socket is in, starting with its own.
func (s *Socket) Rooms() []Room { return s.nsp.adapter.Rooms(s.id) }

// On registers a handler for an event. It returns a function that removes
// the handler.
func (s *Socket) On(event string, h func(e *Event)) (remove func()) {
	return s.addListener(event, &listener{fn: h})
}

// Once registers a handler for the next occurrence of an event.
func (s *Socket) Once(event string, h func(e *Event)) (remove func()) {
	return s.addListener(event, &listener{fn: h, once: true})
}

func (s *Socket) addListener(event string, l *listener) func() {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string][]*listener)
	}
	// Copy on write: dispatch iterates a snapshot without holding the lock.
	s.handlers[event] = append(slices.Clip(s.handlers[event]), l)
	s.mu.Unlock()
	return func() { s.removeListener(event, l) }
}

func (s *Socket) removeListener(event string, l *listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.handlers[event]
	if i := slices.Index(list, l); i >= 0 {
		list = slices.Delete(slices.Clone(list), i, i+1)
		if len(list) == 0 {
			delete(s.handlers, event)
		} else {
			s.handlers[event] = list
		}
	}
}

// Off removes every handler of an event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	delete(s.handlers, event)
	s.mu.Unlock()
}

// OnAny registers a handler for every incoming event, called before the
// event middleware (see [Socket.Use]) and the event's own handlers.
func (s *Socket) OnAny(h func(e *Event)) (remove func()) {
	l := &anyListener{fn: h}
	s.mu.Lock()
	s.anyIn = append(slices.Clip(s.anyIn), l)
	s.mu.Unlock()
	return func() { s.mu.Lock(); s.anyIn = deleteItem(s.anyIn, l); s.mu.Unlock() }
}

// PrependAny is OnAny, with h called before the catch-all handlers already
// registered.
func (s *Socket) PrependAny(h func(e *Event)) (remove func()) {
	l := &anyListener{fn: h}
	s.mu.Lock()
	s.anyIn = append([]*anyListener{l}, s.anyIn...)
	s.mu.Unlock()
	return func() { s.mu.Lock(); s.anyIn = deleteItem(s.anyIn, l); s.mu.Unlock() }
}

// OffAny removes every catch-all handler of incoming events.
func (s *Socket) OffAny() {
	s.mu.Lock()
	s.anyIn = nil
	s.mu.Unlock()
}

// OnAnyOutgoing registers a handler called with every event the server
// sends to this socket, directly or by broadcast.
func (s *Socket) OnAnyOutgoing(h func(event string, args []any)) (remove func()) {
	l := &outListener{fn: h}
	s.mu.Lock()
	s.anyOut = append(slices.Clip(s.anyOut), l)
	s.mu.Unlock()
	return func() { s.mu.Lock(); s.anyOut = deleteItem(s.anyOut, l); s.mu.Unlock() }
}

// PrependAnyOutgoing is OnAnyOutgoing, with h called first.
func (s *Socket) PrependAnyOutgoing(h func(event string, args []any)) (remove func()) {
	l := &outListener{fn: h}
	s.mu.Lock()
	s.anyOut = append([]*outListener{l}, s.anyOut...)
	s.mu.Unlock()
	return func() { s.mu.Lock(); s.anyOut = deleteItem(s.anyOut, l); s.mu.Unlock() }
}

// OffAnyOutgoing removes every catch-all handler of outgoing events.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	s.anyOut = nil
	s.mu.Unlock()
}

func deleteItem[T comparable](list []T, x T) []T {
	if i := slices.Index(list, x); i >= 0 {
		return slices.Delete(slices.Clone(list), i, i+1)
	}
	return list
}

// Use adds per-event middleware: it runs for every incoming event before
// the handlers; an error drops the event and goes to the OnError handlers.
func (s *Socket) Use(mw func(e *Event) error) {
	s.mu.Lock()
	s.middlewares = append(slices.Clip(s.middlewares), mw)
	s.mu.Unlock()
}

// OnDisconnecting registers a handler called when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(h func(reason DisconnectReason)) {
	s.mu.Lock()
	s.onDiscing = append(s.onDiscing, h)
	s.mu.Unlock()
}

// OnDisconnect registers a handler called once the socket has disconnected
// and left its rooms.
func (s *Socket) OnDisconnect(h func(reason DisconnectReason)) {
	s.mu.Lock()
	s.onDisc = append(s.onDisc, h)
	s.mu.Unlock()
}

// OnError registers a handler for errors of the socket's handlers: event
// middleware refusing an event, arguments that do not decode in a typed
// handler, panics.
func (s *Socket) OnError(h func(err error)) {
	s.mu.Lock()
	s.onError = append(s.onError, h)
	s.mu.Unlock()
}

// OnUpgrade registers a handler called when the connection moves to
// another transport (from polling to WebSocket).
func (s *Socket) OnUpgrade(h func(t engine.Transport)) {
	s.mu.Lock()
	s.upgradeHs = append(s.upgradeHs, h)
	s.mu.Unlock()
}

func (s *Socket) emitError(err error) {
	s.mu.Lock()
	hs := s.onError
	s.mu.Unlock()
	if len(hs) == 0 {
		s.nsp.srv.log.Debug("socket.io: socket error", "nsp", s.nsp.name, "socket", s.id, "err", err)
	}
	for _, h := range hs {
		h(err)
	}
}

func (s *Socket) onUpgrade(t engine.Transport) {
	s.mu.Lock()
	hs := s.upgradeHs
	s.mu.Unlock()
	for _, h := range hs {
		h(t)
	}
}

// runTask is the mailbox's worker.
func (s *Socket) runTask(t task) {
	defer s.recoverHandler()
	switch t.kind {
	case taskConnect:
		s.runConnect()
	case taskEvent:
		s.runEvent(t.packet)
	case taskDisconnect:
		s.runDisconnect(t.reason)
	}
}

// runConnect runs the middleware, then joins the namespace, answers the
// CONNECT and runs the connection handlers. A socket that recovers a
// session skips the middleware when the recovery options say so, and
// resumes the session rather than joining as a new socket.
func (s *Socket) runConnect() {
	if err := s.runMiddlewares(); err != nil {
		// As in the reference, a session restored is gone with the socket.
		s.client.removeSocket(s)
		if s.client.v2 {
			s.client.sendConnectError(s.nsp.name, connectErrorPayloadV2(err))
		} else {
			s.client.sendConnectError(s.nsp.name, connectErrorPayload(err))
		}
		s.mu.Lock()
		pending := s.state == socketPending
		s.state = socketDisconnected
		s.mu.Unlock()
		if pending {
			s.release()
		}
		return
	}
	s.mu.Lock()
	sess := s.restored
	s.restored = nil
	if s.state != socketPending {
		s.mu.Unlock()
		// The connection closed meanwhile; the disconnect task cleans up.
		// A session restored for the socket is kept again, for the
		// client's next attempt.
		if sess != nil {
			s.nsp.adapter.PersistSession(sess)
		}
		return
	}
	s.state = socketConnected
	s.registered = true
	s.joined = true
	s.mu.Unlock()
	// Queue the answer before the socket joins the namespace, so that a
	// broadcast cannot reach the client before it, and hold it until the
	// socket has joined, so that the client cannot act on it (ask another
	// socket to broadcast) before broadcasts reach this socket. A resumed
	// socket's missed packets follow the answer, before anything new.
	session := s.client.session
	session.Cork()
	connect := &parser.Packet{Type: parser.Connect, Namespace: s.nsp.name, Data: connectPayload{SID: s.id, PID: s.pid}}
	if s.client.v2 {
		connect.Data = nil // 2.x clients take no sid: they make their socket IDs themselves
	}
	_ = s.writePacket(connect, false)
	if sess == nil {
		s.nsp.add(s)
	} else if err := s.nsp.resume(s, sess); err != nil {
		// Rare: the packets the socket missed were dropped while its
		// middleware ran, or the adapter closed. The answer is queued and
		// cannot be taken back, so the connection is closed: the client
		// reconnects and, its session gone, connects as a new socket.
		s.nsp.srv.log.Debug("socket.io: cannot resume a restored session", "nsp", s.nsp.name, "err", err)
		s.mu.Lock()
		s.registered = false
		s.mu.Unlock()
		session.Uncork()
		s.client.close(ReasonForcedServerClose)
		return
	}
	session.Uncork()
	s.client.connected()
	for _, h := range s.nsp.connectionHandlers() {
		h(s)
	}
}

// runMiddlewares runs the namespace's middleware, unless the socket
// recovers a session and the recovery options skip it.
func (s *Socket) runMiddlewares() error {
	if rec := s.nsp.srv.cfg.recovery; s.recovered && rec != nil && rec.SkipMiddlewares {
		return nil
	}
	return s.nsp.runMiddlewares(s)
}

type connectPayload struct {
	SID string `json:"sid"`
	PID string `json:"pid,omitempty"` // with connection-state recovery
}

// Recovered reports whether the socket recovered the session of a socket
// that disconnected temporarily (see [WithConnectionStateRecovery]): it has
// that socket's ID, rooms and data, and its client was sent the packets it
// missed. It is known from the start: in middleware (when it runs for
// recovered sockets) and connection handlers.
func (s *Socket) Recovered() bool { return s.recovered }

// runEvent runs an event's middleware and handlers.
func (s *Socket) runEvent(p *parser.Packet) {
	s.mu.Lock()
	connected := s.state == socketConnected
	mws, anyIn := s.middlewares, s.anyIn
	s.mu.Unlock()
	if !connected {
		return
	}
	e, err := newEvent(s, p)
	if err != nil {
		s.emitError(err)
		return
	}
	// As in the reference, the catch-all handlers see every event, even
	// those the event middleware refuses.
	for _, l := range anyIn {
		l.fn(e)
	}
	for _, mw := range mws {
		if err := mw(e); err != nil {
			s.emitError(err)
			return
		}
	}
	s.mu.Lock()
	hs := s.handlers[e.Name]
	s.mu.Unlock()
	for _, l := range hs {
		if l.once {
			s.removeListener(e.Name, l)
		}
		l.fn(e)
	}
}

// onClose starts the socket's disconnection; its handlers run on the
// socket's goroutine after the events already received.
func (s *Socket) onClose(reason DisconnectReason) {
	s.mu.Lock()
	if s.state == socketDisconnecting || s.state == socketDisconnected {
		s.mu.Unlock()
		return
	}
	s.state = socketDisconnecting
	s.reason = reason
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	// Cancel at once, not after the queued tasks: a handler or middleware
	// blocked on the context must return for those tasks to run.
	s.cancel(reason)
	for _, a := range acks {
		a.fn(nil, ErrDisconnected)
	}
	s.mailbox.push(task{kind: taskDisconnect, reason: reason})
}

func (s *Socket) runDisconnect(reason DisconnectReason) {
	s.mu.Lock()
	registered := s.registered
	discing, disc := s.onDiscing, s.onDisc
	s.mu.Unlock()
	if registered {
		for _, h := range discing {
			h(reason)
		}
		// As in the reference, the session is kept for a disconnection the
		// client did not ask for (see WithConnectionStateRecovery), with
		// the rooms and data the disconnecting handlers left.
		var sess *adapter.Session
		if s.pid != "" && reason.Recoverable() {
			sess = &adapter.Session{SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: s.Data(), ConnectedAt: s.connectedAt}
		}
		s.nsp.remove(s)
		if sess != nil {
			s.nsp.adapter.PersistSession(sess)
		}
	}
	s.mu.Lock()
	s.state = socketDisconnected
	s.registered = false
	s.mu.Unlock()
	s.cancel(reason)
	if registered {
		for _, h := range disc {
			h(reason)
		}
	}
	s.nsp.unclaim()
	s.nsp.srv.liveSockets.Done()
}

// Disconnect disconnects the socket from its namespace (the client is told,
// and does not reconnect by itself); with close, it closes the whole
// connection and so every socket the client holds.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.client.disconnectAll()
		return
	}
	s.disconnect(true)
}

// disconnect sends DISCONNECT and disconnects the socket.
func (s *Socket) disconnect(remove bool) {
	if !s.Connected() {
		return
	}
	// Forget the socket before the client can see the DISCONNECT: a CONNECT
	// it sends right after is for a new socket, not a duplicate.
	if remove {
		s.client.removeSocket(s)
	}
	_ = s.writePacket(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name}, false)
	s.onClose(ReasonServerNamespaceDisconnect)
}

// writePacket encodes p and queues it on the connection.
func (s *Socket) writePacket(p *parser.Packet, volatile bool) error {
	pf, err := s.nsp.srv.cfg.codec.Encode(p, messagePrefix)
	if err != nil {
		return err
	}
	if len(pf) == 1 { // no attachments: no frame slice to allocate
		one := [1]engine.Frame{{Data: pf[0].Data, Binary: pf[0].Binary}}
		return s.deliver(one[:], volatile, false)
	}
	return s.deliver(engineFrames(pf), volatile, false)
}

// deliver queues frames on the connection. Broadcasts leave the writes to
// the engine's flush workers; other packets (answers, emits to this socket)
// are written at once when the connection is idle.
func (s *Socket) deliver(frames []engine.Frame, volatile, broadcast bool) error {
	var err error
	switch {
	case volatile:
		s.client.session.TrySend(frames...)
	case broadcast:
		err = s.client.session.Queue(frames...)
	default:
		err = s.client.session.Send(frames...)
	}
	if err != nil {
		return ErrDisconnected
	}
	return nil
}

// notifyOutgoing calls the outgoing catch-all handlers.
func (s *Socket) notifyOutgoing(data []any) {
	s.mu.Lock()
	hs := s.anyOut
	s.mu.Unlock()
	if len(hs) == 0 || len(data) == 0 {
		return
	}
	event, _ := data[0].(string)
	for _, l := range hs {
		l.fn(event, data[1:])
	}
}

// expectAck registers fn for the client's answer to packet id.
func (s *Socket) expectAck(id uint64, deadline time.Time, fn func(parser.Payload, error)) error {
	s.mu.Lock()
	if s.state != socketConnected {
		s.mu.Unlock()
		fn(nil, ErrDisconnected)
		return ErrDisconnected
	}
	if s.acks == nil {
		s.acks = make(map[uint64]*pendingAck)
	}
	if len(s.acks) >= s.ackSweepAt {
		s.sweepAcksLocked()
	}
	if len(s.acks) >= s.nsp.srv.cfg.maxPendingAcks {
		s.mu.Unlock()
		fn(nil, ErrTooManyAcks)
		return ErrTooManyAcks
	}
	s.acks[id] = &pendingAck{deadline: deadline, fn: fn}
	s.mu.Unlock()
	return nil
}

// sweepAcksLocked forgets acknowledgements whose deadline has passed, so
// that clients that never answer do not make the map grow.
func (s *Socket) sweepAcksLocked() {
	now := time.Now()
	for id, a := range s.acks {
		if !a.deadline.IsZero() && now.After(a.deadline) {
			delete(s.acks, id)
			go a.fn(nil, ErrAckTimeout)
		}
	}
	s.ackSweepAt = max(16, 2*len(s.acks))
}

// cancelAck forgets the acknowledgement of packet id.
func (s *Socket) cancelAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// onAck delivers a client's acknowledgement. It runs on the connection's
// reader, not on the socket's goroutine, so that a handler waiting for an
// acknowledgement cannot block its arrival.
func (s *Socket) onAck(p *parser.Packet) {
	s.mu.Lock()
	a := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if a == nil {
		s.nsp.srv.log.Debug("socket.io: acknowledgement with unknown id", "nsp", s.nsp.name, "socket", s.id)
		return
	}
	a.fn(p.Payload, nil)
}

// adapterSocket is the socket as its adapter sees it.
type adapterSocket Socket

func (a *adapterSocket) ID() string { return a.id }

func (a *adapterSocket) Deliver(p *parser.Packet, frames []engine.Frame, volatile bool) {
	s := (*Socket)(a)
	if data, ok := p.Data.([]any); ok {
		s.notifyOutgoing(data)
	}
	_ = s.deliver(frames, volatile, true)
}

func (a *adapterSocket) ExpectAck(id uint64, deadline time.Time, fn func(parser.Payload, error)) {
	_ = (*Socket)(a).expectAck(id, deadline, fn)
}

func (a *adapterSocket) Details() adapter.SocketDetails {
	s := (*Socket)(a)
	return adapter.SocketDetails{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data()}
}

func (a *adapterSocket) Disconnect(close bool) { (*Socket)(a).Disconnect(close) }
