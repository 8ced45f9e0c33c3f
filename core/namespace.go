package core

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// Middleware runs when a socket connects to a namespace, before the
// connection handlers. Returning an error refuses the socket: the client
// receives a connect_error (see [ConnectError] to send data with it).
// Middleware runs on the socket's own goroutine and may block.
type Middleware func(s *Socket) error

// Namespace is a communication channel multiplexed over the clients'
// connections. Sockets connect to one namespace each; a client may hold a
// socket in several.
type Namespace struct {
	srv     *Server
	name    string
	parent  *ParentNamespace
	adapter adapter.Adapter
	ackIDs  atomic.Uint64
	// keepsSessions: connection-state recovery is on and the adapter
	// supports it (see adapter.SessionAware).
	keepsSessions bool

	mu           sync.RWMutex
	middlewares  []Middleware
	onConnection []func(*Socket)
	sockets      map[string]*Socket
	serverEvents map[string][]func(*ServerEvent)
	// members counts the sockets that hold the namespace: from the CONNECT
	// that chose it (before the middleware runs) to their release. An empty
	// dynamic child is removed only when it drops to zero, so a socket that
	// is still joining never lands in a namespace that went away.
	members int
}

func newNamespace(srv *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{srv: srv, name: name, parent: parent, sockets: make(map[string]*Socket)}
	n.adapter = srv.cfg.adapter(adapterView{n})
	if srv.cfg.recovery != nil {
		sa, ok := n.adapter.(adapter.SessionAware)
		n.keepsSessions = !ok || sa.SessionAware()
	}
	return n
}

// adapterView is the namespace as its adapter sees it; it keeps the
// adapter-facing methods out of Namespace's API.
type adapterView struct{ n *Namespace }

func (v adapterView) Name() string { return v.n.name }

func (v adapterView) Encode(p *parser.Packet) ([]engine.Frame, error) { return v.n.srv.encode(p) }

// ServerSideEvent delivers an event sent by another node with
// ServerSideEmit; ack is nil when no answer is expected.
func (v adapterView) ServerSideEvent(event string, args []any, ack func(args []any)) {
	v.n.handleServerEvent(event, args, ack)
}

// NextAckID implements adapter.AckIDSource.
func (v adapterView) NextAckID() uint64 { return v.n.nextAckID() }

// MaxDisconnectionDuration implements adapter.RecoveryConfig.
func (v adapterView) MaxDisconnectionDuration() time.Duration {
	if r := v.n.srv.cfg.recovery; r != nil {
		return r.MaxDisconnectionDuration
	}
	return 0
}

// Name returns the namespace's name, such as "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Server returns the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() adapter.Adapter { return n.adapter }

// Use adds connection middleware. Middleware runs in the order it was
// added; the first error stops the chain.
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
}

// OnConnection registers a handler called for each socket that connects,
// after the middleware accepted it. It runs on the socket's goroutine,
// before any of the socket's events is handled.
func (n *Namespace) OnConnection(h func(s *Socket)) {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, h)
	n.mu.Unlock()
}

// Sockets returns the sockets connected to this node in the namespace.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	list := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		list = append(list, s)
	}
	return list
}

// Socket returns the socket with the given ID connected to this node, or
// nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// runMiddlewares runs the parent's middleware, then the namespace's.
func (n *Namespace) runMiddlewares(s *Socket) error {
	var chain []Middleware
	if n.parent != nil {
		chain = n.parent.middlewareList()
	}
	n.mu.RLock()
	chain = append(chain, n.middlewares...)
	n.mu.RUnlock()
	for _, mw := range chain {
		if err := mw(s); err != nil {
			return err
		}
	}
	return nil
}

func (n *Namespace) connectionHandlers() []func(*Socket) {
	var hs []func(*Socket)
	if n.parent != nil {
		hs = n.parent.connectionHandlers()
	}
	n.mu.RLock()
	hs = append(hs, n.onConnection...)
	n.mu.RUnlock()
	return hs
}

func (n *Namespace) add(s *Socket) {
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	n.adapter.AddSocket((*adapterSocket)(s))
}

// resume adds a socket that recovers sess; see adapter.Adapter.ResumeSocket.
func (n *Namespace) resume(s *Socket, sess *adapter.Session) error {
	n.mu.Lock()
	if n.sockets[s.id] != nil {
		n.mu.Unlock()
		return fmt.Errorf("%w: socket %s is connected", adapter.ErrSessionNotFound, s.id)
	}
	n.sockets[s.id] = s
	n.mu.Unlock()
	if err := n.adapter.ResumeSocket((*adapterSocket)(s), sess); err != nil {
		n.mu.Lock()
		if n.sockets[s.id] == s {
			delete(n.sockets, s.id)
		}
		n.mu.Unlock()
		return err
	}
	return nil
}

func (n *Namespace) remove(s *Socket) {
	n.adapter.RemoveSocket(s.id)
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
}

// claim records a socket holding the namespace; the caller holds srv.mu.
func (n *Namespace) claim() {
	n.mu.Lock()
	n.members++
	n.mu.Unlock()
}

// unclaim ends a claim; an empty dynamic child may then go away.
func (n *Namespace) unclaim() {
	n.mu.Lock()
	n.members--
	empty := n.members == 0
	n.mu.Unlock()
	if empty && n.parent != nil && n.srv.cfg.cleanupEmptyChildNamespaces {
		n.srv.removeNamespace(n)
	}
}

func (n *Namespace) nextAckID() uint64 { return n.ackIDs.Add(1) - 1 }

func (n *Namespace) operator() BroadcastOperator { return BroadcastOperator{nsp: n} }

// To selects the sockets in rooms (in any of them).
func (n *Namespace) To(rooms ...Room) BroadcastOperator { return n.operator().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...Room) BroadcastOperator { return n.operator().To(rooms...) }

// Except leaves out the sockets in rooms.
func (n *Namespace) Except(rooms ...Room) BroadcastOperator { return n.operator().Except(rooms...) }

// Local restricts a broadcast to this node.
func (n *Namespace) Local() BroadcastOperator { return n.operator().Local() }

// Volatile makes a broadcast skip clients that cannot take it at once.
func (n *Namespace) Volatile() BroadcastOperator { return n.operator().Volatile() }

// Compress sets the compression flag of a broadcast.
func (n *Namespace) Compress(on bool) BroadcastOperator { return n.operator().Compress(on) }

// Timeout bounds the wait for acknowledgements of a broadcast.
func (n *Namespace) Timeout(d time.Duration) BroadcastOperator { return n.operator().Timeout(d) }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.operator().Emit(event, args...) }

// Send emits a "message" event to every socket of the namespace.
func (n *Namespace) Send(args ...any) error { return n.operator().Send(args...) }

// EmitWithAck sends an event to every socket of the namespace and
// collects their acknowledgements.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Ack, error) {
	return n.operator().EmitWithAck(ctx, event, args...)
}

// FetchSockets describes the sockets of the namespace, on every node.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(ctx context.Context, rooms ...Room) error {
	return n.operator().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(ctx context.Context, rooms ...Room) error {
	return n.operator().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace.
func (n *Namespace) DisconnectSockets(ctx context.Context, close bool) error {
	return n.operator().DisconnectSockets(ctx, close)
}

// ServerEvent is an event another node of the cluster sent with
// ServerSideEmit.
type ServerEvent struct {
	Name string
	Args []any
	ack  func([]any)
	sent atomic.Bool
}

// WantsAck reports whether the sender waits for an answer.
func (e *ServerEvent) WantsAck() bool { return e.ack != nil }

// Ack answers the sender.
func (e *ServerEvent) Ack(args ...any) error {
	if e.ack == nil {
		return ErrNoAck
	}
	if !e.sent.CompareAndSwap(false, true) {
		return ErrAckSent
	}
	e.ack(args)
	return nil
}

// OnServerSideEmit registers a handler for events other nodes send with
// ServerSideEmit.
func (n *Namespace) OnServerSideEmit(event string, h func(e *ServerEvent)) {
	n.mu.Lock()
	if n.serverEvents == nil {
		n.serverEvents = make(map[string][]func(*ServerEvent))
	}
	n.serverEvents[event] = append(n.serverEvents[event], h)
	n.mu.Unlock()
}

func (n *Namespace) handleServerEvent(event string, args []any, ack func([]any)) {
	n.mu.RLock()
	hs := n.serverEvents[event]
	n.mu.RUnlock()
	e := &ServerEvent{Name: event, Args: args, ack: ack}
	for _, h := range hs {
		h(e)
	}
}

// ServerSideEmit sends an event to this namespace on the other nodes of the
// cluster, where OnServerSideEmit handlers receive it. With the in-memory
// adapter there are no other nodes and nothing is sent.
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	p := &parser.Packet{Type: parser.Event, Namespace: n.name, Data: append([]any{event}, args...)}
	return n.adapter.ServerSideEmit(ctx, p, nil)
}

// ServerSideEmitWithAck sends an event to the other nodes and collects
// their answers until each has answered or ctx ends.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Ack, error) {
	if parser.IsReservedEvent(event) {
		return nil, ErrReservedEvent
	}
	p := &parser.Packet{Type: parser.Event, Namespace: n.name, Data: append([]any{event}, args...),
		ID: n.nextAckID(), HasID: true}
	// The adapter reports, with one Expect call, how many nodes answer.
	return collectAcks(ctx, newAckCollector(1), func(ctx context.Context, h adapter.AckHandler) error {
		return n.adapter.ServerSideEmit(ctx, p, &h)
	})
}

// ParentNamespace creates and groups dynamic namespaces; see
// [Server.OfFunc].
type ParentNamespace struct {
	srv   *Server
	match func(name string, auth map[string]any) bool

	mu           sync.RWMutex
	middlewares  []Middleware
	onConnection []func(*Socket)
	children     map[string]*Namespace
}

// Use adds connection middleware that runs for every child namespace,
// before the child's own.
func (p *ParentNamespace) Use(mw Middleware) {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, mw)
	p.mu.Unlock()
}

// OnConnection registers a connection handler for every child namespace.
func (p *ParentNamespace) OnConnection(h func(s *Socket)) {
	p.mu.Lock()
	p.onConnection = append(p.onConnection, h)
	p.mu.Unlock()
}

// Children returns the child namespaces that exist now.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.RLock()
	defer p.mu.RUnlock()
	list := make([]*Namespace, 0, len(p.children))
	for _, c := range p.children {
		list = append(list, c)
	}
	return list
}

// Emit sends an event to every socket of every child namespace.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	for _, c := range p.Children() {
		if err := c.Emit(event, args...); err != nil {
			return err
		}
	}
	return nil
}

func (p *ParentNamespace) middlewareList() []Middleware {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.middlewares)
}

func (p *ParentNamespace) connectionHandlers() []func(*Socket) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.onConnection)
}

func (p *ParentNamespace) addChild(n *Namespace) {
	p.mu.Lock()
	p.children[n.name] = n
	p.mu.Unlock()
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	if p.children[n.name] == n {
		delete(p.children, n.name)
	}
	p.mu.Unlock()
}
