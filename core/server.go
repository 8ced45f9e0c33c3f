package core

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// Room is the name of a group of sockets. Every socket is in the room named
// by its ID.
type Room = adapter.Room

// Handshake describes the request that opened a socket's connection; see
// [Socket.Handshake].
type Handshake = adapter.Handshake

// Server is a Socket.IO server. It is an [http.Handler]: mount it where
// clients connect, by default on /socket.io/ (mux.Handle("/socket.io/",
// io)); it serves every request it is given, whatever the path.
//
// The methods that broadcast (To, Emit, FetchSockets...) apply to the main
// namespace "/".
type Server struct {
	cfg    config
	engine *engine.Server
	log    *slog.Logger
	main   *Namespace

	mu           sync.RWMutex
	nsps         map[string]*Namespace
	parents      []*ParentNamespace
	onNamespace  []func(*Namespace)
	dynamic      int // dynamic child namespaces in nsps
	closing      bool
	liveSockets  sync.WaitGroup // one count per socket until its disconnect handlers have run
	clientServer *clientFileServer
}

// NewServer returns a server configured by opts.
func NewServer(opts ...Option) *Server {
	cfg := newConfig(opts)
	srv := &Server{
		cfg:  cfg,
		log:  cfg.logger,
		nsps: make(map[string]*Namespace),
	}
	if cfg.clientFiles != nil {
		srv.clientServer = newClientFileServer(cfg.clientFiles)
	}
	srv.engine = engine.NewServer(srv.newClient, &cfg.engine)
	srv.main = srv.Of("/")
	return srv
}

// ServeHTTP serves the Engine.IO endpoint (and the browser client when
// WithClientFiles is set).
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if srv.clientServer != nil && !strings.Contains(r.URL.RawQuery, "EIO=") && srv.clientServer.serve(w, r) {
		return
	}
	srv.engine.ServeHTTP(w, r)
}

// Engine returns the underlying Engine.IO server.
func (srv *Server) Engine() *engine.Server { return srv.engine }

// IsHandshake reports whether r opens a new connection (an Engine.IO
// handshake). Authentication middleware of a web framework can use it to
// check credentials on handshakes only: the later requests of a connection
// carry its unguessable session ID instead.
func IsHandshake(r *http.Request) bool { return engine.IsHandshake(r) }

// Of returns the namespace called name, creating it if needed. Names start
// with "/"; a missing slash is added.
func (srv *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	srv.mu.Lock()
	nsp, created := srv.namespaceLocked(name, nil)
	handlers := srv.onNamespace
	srv.mu.Unlock()
	if created {
		for _, h := range handlers {
			h(nsp)
		}
	}
	return nsp
}

func (srv *Server) namespaceLocked(name string, parent *ParentNamespace) (*Namespace, bool) {
	if nsp := srv.nsps[name]; nsp != nil {
		return nsp, false
	}
	nsp := newNamespace(srv, name, parent)
	srv.nsps[name] = nsp
	return nsp, true
}

// OfFunc creates a parent namespace for dynamic namespaces: when a client
// connects to a namespace that does not exist and match returns true for
// its name and auth payload, a child namespace of that name is created.
// Middleware and connection handlers of the parent apply to every child.
func (srv *Server) OfFunc(match func(name string, auth map[string]any) bool) *ParentNamespace {
	p := &ParentNamespace{srv: srv, match: match, children: make(map[string]*Namespace)}
	srv.mu.Lock()
	srv.parents = append(srv.parents, p)
	srv.mu.Unlock()
	return p
}

// OfRegexp is OfFunc with a regular expression matching the name.
func (srv *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return srv.OfFunc(func(name string, _ map[string]any) bool { return re.MatchString(name) })
}

// OnNamespace registers h to be called for every namespace created from
// now on, static or dynamic (the reference's new_namespace event).
func (srv *Server) OnNamespace(h func(*Namespace)) {
	srv.mu.Lock()
	srv.onNamespace = append(srv.onNamespace, h)
	srv.mu.Unlock()
}

// errTooManyNamespaces refuses a CONNECT that would create a dynamic child
// beyond WithMaxDynamicNamespaces.
var errTooManyNamespaces = errors.New("socket.io: too many dynamic namespaces")

// lookupNamespace finds the namespace a client asks to join, creating a
// dynamic child when a parent matches. It returns nil when none matches,
// and errTooManyNamespaces when the child cannot be created.
func (srv *Server) lookupNamespace(name string, auth map[string]any) (*Namespace, error) {
	srv.mu.RLock()
	nsp := srv.nsps[name]
	if nsp != nil {
		nsp.claim() // under srv.mu, so removeNamespace cannot interleave
	}
	parents := srv.parents
	srv.mu.RUnlock()
	if nsp != nil {
		return nsp, nil
	}
	for _, p := range parents {
		if !p.match(name, auth) {
			continue
		}
		srv.mu.Lock()
		if srv.nsps[name] == nil && srv.cfg.maxDynamicNamespaces >= 0 && srv.dynamic >= srv.cfg.maxDynamicNamespaces {
			srv.mu.Unlock()
			return nil, errTooManyNamespaces
		}
		nsp, created := srv.namespaceLocked(name, p)
		if created {
			srv.dynamic++
		}
		nsp.claim()
		handlers := srv.onNamespace
		srv.mu.Unlock()
		if created {
			p.addChild(nsp)
			for _, h := range handlers {
				h(nsp)
			}
		}
		return nsp, nil
	}
	return nil, nil
}

// removeNamespace forgets a dynamic child namespace that no socket holds.
func (srv *Server) removeNamespace(nsp *Namespace) {
	srv.mu.Lock()
	nsp.mu.RLock()
	held := nsp.members > 0
	nsp.mu.RUnlock()
	if held || srv.nsps[nsp.name] != nsp {
		srv.mu.Unlock()
		return // claimed again meanwhile, or already removed
	}
	delete(srv.nsps, nsp.name)
	if nsp.parent != nil {
		srv.dynamic--
	}
	srv.mu.Unlock()
	if nsp.parent != nil {
		nsp.parent.removeChild(nsp)
	}
	_ = nsp.adapter.Close()
}

// Namespaces returns the server's namespaces.
func (srv *Server) Namespaces() []*Namespace {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	list := make([]*Namespace, 0, len(srv.nsps))
	for _, n := range srv.nsps {
		list = append(list, n)
	}
	return list
}

// Use adds connection middleware to the main namespace.
func (srv *Server) Use(mw Middleware) { srv.main.Use(mw) }

// OnConnection registers a handler for sockets connecting to the main
// namespace.
func (srv *Server) OnConnection(h func(s *Socket)) { srv.main.OnConnection(h) }

// To selects the sockets of the main namespace in rooms.
func (srv *Server) To(rooms ...Room) BroadcastOperator { return srv.main.To(rooms...) }

// In is To.
func (srv *Server) In(rooms ...Room) BroadcastOperator { return srv.main.To(rooms...) }

// Except leaves out the sockets of the main namespace in rooms.
func (srv *Server) Except(rooms ...Room) BroadcastOperator { return srv.main.Except(rooms...) }

// Local restricts a broadcast to this node.
func (srv *Server) Local() BroadcastOperator { return srv.main.Local() }

// Volatile makes a broadcast skip clients that cannot take it at once.
func (srv *Server) Volatile() BroadcastOperator { return srv.main.Volatile() }

// Compress sets the compression flag of a broadcast.
func (srv *Server) Compress(on bool) BroadcastOperator { return srv.main.Compress(on) }

// Timeout bounds the wait for acknowledgements of a broadcast.
func (srv *Server) Timeout(d time.Duration) BroadcastOperator { return srv.main.Timeout(d) }

// Emit sends an event to every socket of the main namespace.
func (srv *Server) Emit(event string, args ...any) error { return srv.main.Emit(event, args...) }

// Send emits a "message" event to every socket of the main namespace.
func (srv *Server) Send(args ...any) error { return srv.main.Send(args...) }

// EmitWithAck sends an event to every socket of the main namespace and
// collects their acknowledgements; see [BroadcastOperator.EmitWithAck].
func (srv *Server) EmitWithAck(ctx context.Context, event string, args ...any) ([]Ack, error) {
	return srv.main.EmitWithAck(ctx, event, args...)
}

// FetchSockets describes the sockets of the main namespace.
func (srv *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return srv.main.FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms.
func (srv *Server) SocketsJoin(ctx context.Context, rooms ...Room) error {
	return srv.main.SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the main namespace leave rooms.
func (srv *Server) SocketsLeave(ctx context.Context, rooms ...Room) error {
	return srv.main.SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the main namespace.
func (srv *Server) DisconnectSockets(ctx context.Context, close bool) error {
	return srv.main.DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to the main namespace of the other nodes
// of the cluster; see [Namespace.ServerSideEmit].
func (srv *Server) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	return srv.main.ServerSideEmit(ctx, event, args...)
}

// Sockets returns the sockets connected to this node in the main namespace.
func (srv *Server) Sockets() []*Socket { return srv.main.Sockets() }

// Shutdown disconnects every socket with reason "server shutting down",
// closes every connection (queued packets are written first; WebSockets
// close with status 1001; pending polls are answered), waits for the
// disconnect handlers to return, then closes the adapters. It returns when
// all of this is done or ctx ends. Call it before http.Server.Shutdown,
// which does not wait for hijacked WebSockets and would wait for pending
// long-polls.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closing = true
	nsps := make([]*Namespace, 0, len(srv.nsps))
	for _, n := range srv.nsps {
		nsps = append(nsps, n)
	}
	srv.mu.Unlock()
	for _, n := range nsps {
		for _, s := range n.Sockets() {
			s.onClose(ReasonServerShutdown)
		}
	}
	err := srv.engine.Shutdown(ctx)
	done := make(chan struct{})
	go func() {
		srv.liveSockets.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	for _, n := range nsps {
		if cerr := n.adapter.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

func (srv *Server) isClosing() bool {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return srv.closing
}

// encode encodes p with the server's codec into Engine.IO frames.
func (srv *Server) encode(p *parser.Packet) ([]engine.Frame, error) {
	pf, err := srv.cfg.codec.Encode(p, messagePrefix)
	if err != nil {
		return nil, err
	}
	return engineFrames(pf), nil
}

// engineFrames converts a codec's frames to the engine's.
func engineFrames(pf []parser.Frame) []engine.Frame {
	frames := make([]engine.Frame, len(pf))
	for i, f := range pf {
		frames[i] = engine.Frame{Data: f.Data, Binary: f.Binary}
	}
	return frames
}

// messagePrefix is the Engine.IO message type, which the codec writes in
// front of text packets.
var messagePrefix = []byte{byte(engine.PacketMessage)}
