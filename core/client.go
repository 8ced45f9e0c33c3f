package core

import (
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// client is one Engine.IO connection and the sockets it holds, one per
// namespace. It decodes packets and routes them to their socket.
type client struct {
	srv     *Server
	session *engine.Session
	decoder parser.Decoder // used only by the session's reader
	// v2 is set for a client of Socket.IO protocol 4 (socket.io-client
	// 2.x, over Engine.IO protocol 3): it joins "/" without a CONNECT,
	// sends the auth of other namespaces as their query string, and takes
	// CONNECT and CONNECT_ERROR packets of that protocol.
	v2 bool

	// inBurst and deferred are used by the session's reader only: during
	// a burst of messages (see BeginBurst), the first socket whose mailbox
	// an event starts is drained by the reader's goroutine at the burst's
	// end, once another goroutine reads, rather than by a pooled one.
	inBurst  bool
	deferred *Socket

	mu           sync.Mutex
	sockets      map[string]*Socket // by namespace name
	connectTimer *time.Timer
	joined       bool             // a socket has connected (passed its middleware)
	closeReason  DisconnectReason // overrides the engine's reason when set
	closed       bool
}

// client runs the mailbox an event starts on the goroutine that read it.
var _ engine.BurstHandler = (*client)(nil)

// newClient is the engine's accept function.
func (srv *Server) newClient(s *engine.Session) engine.SessionHandler {
	c := &client{
		srv:     srv,
		session: s,
		decoder: srv.cfg.codec.NewDecoder(),
		sockets: make(map[string]*Socket, 1),
		v2:      s.Protocol() == 3,
	}
	c.connectTimer = time.AfterFunc(srv.cfg.connectTimeout, c.onConnectTimeout)
	if c.v2 {
		// A 2.x client is in the main namespace as soon as it connects,
		// as with the reference: its middleware runs now.
		c.connectNamespace("/", map[string]any{})
	}
	return c
}

// onConnectTimeout closes a connection that joined no namespace in time. A
// socket whose middleware is still running has not joined yet: as in the
// reference, slow middleware does not hold the connection open.
func (c *client) onConnectTimeout() {
	c.mu.Lock()
	idle := !c.joined
	c.mu.Unlock()
	if idle {
		c.close(ReasonForcedServerClose)
	}
}

// close closes the connection; its sockets disconnect with reason.
func (c *client) close(reason DisconnectReason) {
	c.mu.Lock()
	if c.closeReason == "" {
		c.closeReason = reason
	}
	c.mu.Unlock()
	c.session.Close()
}

// OnMessage implements engine.SessionHandler.
func (c *client) OnMessage(data []byte, binary bool) {
	p, err := c.decoder.Add(data, binary)
	if err != nil {
		c.srv.log.Debug("socket.io: invalid packet", "err", err)
		c.close(ReasonParseError)
		return
	}
	if p == nil {
		return // waiting for binary attachments
	}
	if p.Type == parser.Connect {
		c.connect(p)
		return
	}
	c.mu.Lock()
	s := c.sockets[p.Namespace]
	c.mu.Unlock()
	if s == nil {
		// A packet for a namespace the client is not in: it may have raced
		// with a server-side disconnect, so it is dropped rather than fatal.
		c.srv.log.Debug("socket.io: packet for a namespace the client has not joined",
			"type", p.Type.String(), "nsp", p.Namespace)
		return
	}
	switch p.Type {
	case parser.Event, parser.BinaryEvent:
		t := task{kind: taskEvent, packet: p}
		switch {
		case !c.inBurst || c.deferred != nil:
			s.mailbox.push(t)
		case s.mailbox.add(t):
			c.deferred = s
		}
	case parser.Ack, parser.BinaryAck:
		s.onAck(p)
	case parser.Disconnect:
		c.removeSocket(s)
		s.onClose(ReasonClientNamespaceDisconnect)
	default: // CONNECT_ERROR comes only from servers
		c.close(ReasonParseError)
	}
}

// connect handles a CONNECT packet: it creates the socket, whose own
// goroutine then runs the middleware and connection handlers.
func (c *client) connect(p *parser.Packet) {
	if c.v2 {
		c.connectNamespace(namespaceQuery(p.Namespace))
		return
	}
	var auth map[string]any
	if p.Payload != nil && p.Payload.Len() > 0 {
		_ = p.Payload.Decode(0, &auth)
	}
	c.connectNamespace(p.Namespace, auth)
}

// namespaceQuery splits the namespace of a 2.x client's CONNECT,
// "/nsp?token=abc", into the namespace and the query, which stands for
// the auth payload of later clients, as in the reference: {"token": "abc"}
// (strings; the last of repeated keys).
func namespaceQuery(raw string) (string, map[string]any) {
	auth := map[string]any{}
	raw, _, _ = strings.Cut(raw, "#")
	name, query, _ := strings.Cut(raw, "?")
	for kv := range strings.SplitSeq(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 == nil && err2 == nil {
			auth[k] = v
		}
	}
	return name, auth
}

// connectNamespace creates the client's socket of namespace name, whose
// own goroutine then runs the middleware and connection handlers.
func (c *client) connectNamespace(name string, auth map[string]any) {
	c.mu.Lock()
	if c.closed || c.sockets[name] != nil {
		c.mu.Unlock()
		c.srv.log.Debug("socket.io: CONNECT ignored: already connected or closing", "nsp", name)
		return
	}
	tooMany := len(c.sockets) >= c.srv.cfg.maxNamespaces
	c.mu.Unlock()
	if tooMany {
		c.sendConnectError(name, map[string]any{"message": "Too many namespaces"})
		return
	}
	if c.srv.isClosing() {
		c.sendConnectError(name, map[string]any{"message": "Server shutting down"})
		return
	}
	nsp, err := c.srv.lookupNamespace(name, auth)
	if err != nil {
		c.srv.log.Debug("socket.io: CONNECT refused", "nsp", name, "err", err)
		c.sendConnectError(name, map[string]any{"message": "Too many namespaces"})
		return
	}
	if nsp == nil {
		c.sendConnectError(name, map[string]any{"message": "Invalid namespace"})
		return
	}
	s := newSocket(nsp, c, auth, c.restore(nsp, auth))
	c.mu.Lock()
	if c.closed || c.sockets[name] != nil {
		c.mu.Unlock()
		s.release()
		return
	}
	c.sockets[name] = s
	c.mu.Unlock()
	s.mailbox.push(task{kind: taskConnect})
}

func (c *client) sendConnectError(nsp string, payload any) {
	p := parser.Packet{Type: parser.ConnectError, Namespace: nsp, Data: payload}
	frames, err := c.srv.encode(&p)
	if err != nil && c.v2 {
		// The data of a ConnectError, which 2.x clients get alone, may be
		// a value the protocol's packets cannot carry (a number).
		p.Data = "connection refused"
		frames, err = c.srv.encode(&p)
	}
	if err != nil {
		c.srv.log.Error("socket.io: cannot encode connect_error", "err", err)
		return
	}
	_ = c.session.Send(frames...)
}

// connected is called once a socket of the client is connected.
func (c *client) connected() {
	c.mu.Lock()
	c.joined = true
	t := c.connectTimer
	c.connectTimer = nil // an idle connection keeps no timer
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// removeSocket forgets s if it is still the client's socket of its
// namespace.
func (c *client) removeSocket(s *Socket) {
	c.mu.Lock()
	if c.sockets[s.nsp.name] == s {
		delete(c.sockets, s.nsp.name)
	}
	c.mu.Unlock()
}

// disconnectAll disconnects every socket of the client from the server
// side, then closes the connection.
func (c *client) disconnectAll() {
	c.mu.Lock()
	sockets := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		sockets = append(sockets, s)
	}
	c.mu.Unlock()
	for _, s := range sockets {
		s.disconnect(false)
	}
	c.close(ReasonServerNamespaceDisconnect)
}

// BeginBurst implements engine.BurstHandler.
func (c *client) BeginBurst() { c.inBurst = true }

// EndBurst implements engine.BurstHandler: the mailbox an event of the
// burst started is drained by the goroutine that read the burst, once
// another one reads the connection, saving a hand-off to a pooled
// goroutine.
func (c *client) EndBurst() interface{ Run() } {
	c.inBurst = false
	s := c.deferred
	if s == nil {
		return nil
	}
	c.deferred = nil
	return &s.mailbox
}

// OnUpgrade implements engine.SessionHandler.
func (c *client) OnUpgrade(t engine.Transport) {
	c.mu.Lock()
	sockets := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		sockets = append(sockets, s)
	}
	c.mu.Unlock()
	for _, s := range sockets {
		s.onUpgrade(t)
	}
}

// OnClose implements engine.SessionHandler.
func (c *client) OnClose(reason engine.CloseReason, err error) {
	c.mu.Lock()
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
	c.closed = true
	r := c.closeReason
	if r == "" {
		r = reasonFromEngine(reason)
	}
	sockets := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		sockets = append(sockets, s)
	}
	clear(c.sockets)
	c.mu.Unlock()
	if err != nil {
		c.srv.log.Debug("socket.io: connection closed", "reason", string(r), "err", err)
	}
	for _, s := range sockets {
		s.onClose(r)
	}
	c.decoder.Reset()
}
