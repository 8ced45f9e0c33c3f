package core

import (
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// Option configures a [Server]. Defaults follow the Node.js reference.
type Option func(*config)

type config struct {
	engine                      engine.Options
	connectTimeout              time.Duration
	adapter                     adapter.Factory
	codec                       parser.Codec
	cleanupEmptyChildNamespaces bool
	clientFiles                 fs.FS
	maxPendingAcks              int
	maxNamespaces               int
	maxDynamicNamespaces        int
	logger                      *slog.Logger
	recovery                    *Recovery // nil: connection-state recovery off
}

func newConfig(opts []Option) config {
	c := config{
		connectTimeout: 45 * time.Second,
		codec:          parser.JSON,
		maxPendingAcks: 1024,
		maxNamespaces:  64,
		// Dynamic children cost an adapter and a few maps each; a client
		// that sends CONNECTs to ever new names matching a parent must not
		// grow the server without bound.
		maxDynamicNamespaces: 10000,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.engine.Logger == nil {
		c.engine.Logger = c.logger
	}
	if c.adapter == nil {
		// Session-aware when the namespace (adapterView) has recovery on.
		c.adapter = adapter.NewInMemoryFactory(adapter.Events{})
	}
	return c
}

// WithPingInterval sets the time between two heartbeat pings (default 25s).
func WithPingInterval(d time.Duration) Option { return func(c *config) { c.engine.PingInterval = d } }

// WithPingTimeout sets how long the server waits for a pong before it
// closes the connection (default 20s).
func WithPingTimeout(d time.Duration) Option { return func(c *config) { c.engine.PingTimeout = d } }

// WithUpgradeTimeout bounds the polling-to-WebSocket upgrade (default 10s).
func WithUpgradeTimeout(d time.Duration) Option {
	return func(c *config) { c.engine.UpgradeTimeout = d }
}

// WithMaxHTTPBufferSize sets the largest message a client may send, in
// bytes (the reference's maxHttpBufferSize; default 1e6).
func WithMaxHTTPBufferSize(n int64) Option {
	return func(c *config) { c.engine.MaxHTTPBufferSize = n }
}

// WithTransports sets the transports clients may use (default polling and
// websocket).
func WithTransports(t ...engine.Transport) Option {
	return func(c *config) { c.engine.Transports = t }
}

// WithAllowUpgrades allows or forbids the polling-to-WebSocket upgrade
// (default allowed).
func WithAllowUpgrades(allow bool) Option {
	return func(c *config) { c.engine.DisableUpgrades = !allow }
}

// WithAllowEIO3 accepts the 2.x clients (socket.io-client 2.x: Engine.IO
// protocol 3, Socket.IO protocol 4) beside the current ones (the
// reference's allowEIO3; default off). Their sockets behave as any other
// for middleware and handlers: the query string a 2.x client gives a
// namespace ("/admin?token=abc") is the socket's Handshake().Auth, and a
// ConnectError reaches it as its Data, or its message when it has none.
// The server's socket IDs are not the ones 2.x clients compute for
// themselves (which the reference derives from the Engine.IO session ID).
func WithAllowEIO3(allow bool) Option {
	return func(c *config) { c.engine.AllowEIO3 = allow }
}

// WithAllowRequest runs fn on every Engine.IO handshake request; an error
// refuses the connection with HTTP 403 and the error's text.
func WithAllowRequest(fn func(r *http.Request) error) Option {
	return func(c *config) { c.engine.AllowRequest = fn }
}

// WithCORS enables cross-origin requests (off by default).
func WithCORS(cors *engine.CORS) Option { return func(c *config) { c.engine.CORS = cors } }

// WithCookie makes the handshake set a cookie holding the Engine.IO session
// ID, for sticky load balancing (off by default).
func WithCookie(cookie *engine.Cookie) Option { return func(c *config) { c.engine.Cookie = cookie } }

// WithPerMessageDeflate enables WebSocket compression (off by default).
func WithPerMessageDeflate(p *engine.PerMessageDeflate) Option {
	return func(c *config) { c.engine.PerMessageDeflate = p }
}

// WithHTTPCompression enables or disables the compression of long-polling
// answers of at least threshold bytes (default on, 1024 bytes; a threshold
// of zero keeps the default).
func WithHTTPCompression(enabled bool, threshold int) Option {
	return func(c *config) {
		c.engine.DisableHTTPCompression = !enabled
		c.engine.HTTPCompressionThreshold = threshold
	}
}

// WithMaxBufferedPackets bounds the queue of packets waiting to be written
// to one client (default 1024). A client whose queue overflows is
// disconnected ("transport error"): a client that cannot keep up must not
// hold unbounded memory or slow the others down.
func WithMaxBufferedPackets(n int) Option {
	return func(c *config) { c.engine.MaxBufferedPackets = n }
}

// WithEngineOptions replaces every Engine.IO option at once with a copy of
// *o; options given after it still apply.
func WithEngineOptions(o *engine.Options) Option {
	opts := *o
	return func(c *config) { c.engine = opts }
}

// WithConnectTimeout closes connections that join no namespace within d
// (default 45s).
func WithConnectTimeout(d time.Duration) Option { return func(c *config) { c.connectTimeout = d } }

// WithAdapter sets the adapter of every namespace (default in-memory).
func WithAdapter(f adapter.Factory) Option { return func(c *config) { c.adapter = f } }

// WithCodec sets the packet codec (default parser.JSON, the reference's
// socket.io-parser format). Clients must use the same one.
func WithCodec(codec parser.Codec) Option { return func(c *config) { c.codec = codec } }

// WithCleanupEmptyChildNamespaces removes a dynamic namespace's child once
// its last socket leaves (default false).
func WithCleanupEmptyChildNamespaces(on bool) Option {
	return func(c *config) { c.cleanupEmptyChildNamespaces = on }
}

// WithClientFiles serves the browser client (socket.io.js,
// socket.io.min.js, their source maps and socket.io.esm.min.js) from fsys
// under the server's path, as the reference's serveClient does; for
// example os.DirFS("node_modules/socket.io-client/dist").
func WithClientFiles(fsys fs.FS) Option { return func(c *config) { c.clientFiles = fsys } }

// WithMaxPendingAcks bounds the acknowledgements one socket may wait for
// at a time (default 1024); beyond it, emits with acknowledgement fail
// with ErrTooManyAcks.
func WithMaxPendingAcks(n int) Option { return func(c *config) { c.maxPendingAcks = n } }

// WithMaxNamespaces bounds the namespaces one connection may join (default
// 64); a CONNECT beyond it is refused with a connect_error.
func WithMaxNamespaces(n int) Option { return func(c *config) { c.maxNamespaces = n } }

// WithMaxDynamicNamespaces bounds the child namespaces that dynamic
// parents (OfFunc, OfRegexp) may hold at a time, all parents together
// (default 10,000; zero forbids creating any, a negative n removes the
// bound, as in the reference).
// A CONNECT that would create a child beyond it is refused with a
// connect_error "Too many namespaces"; children that exist already are
// joined as usual. Children are created by clients, so without
// [WithCleanupEmptyChildNamespaces] every name a client ever asked for
// counts until the server stops, and once the bound is reached no new
// child can be created: turn the cleanup on, so that only children with
// sockets count, when names come from clients (a room per document, per
// user).
func WithMaxDynamicNamespaces(n int) Option { return func(c *config) { c.maxDynamicNamespaces = n } }

// WithMaxConnections bounds the open connections (Engine.IO sessions; the
// default 0 is unlimited). A handshake beyond it is answered with HTTP 503
// and the JSON error {"code":6,"message":"Too many sessions"}; clients
// report a connect_error ("xhr poll error" or "websocket error") and retry
// with their usual backoff.
func WithMaxConnections(n int) Option { return func(c *config) { c.engine.MaxSessions = n } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Recovery configures connection-state recovery; see
// [WithConnectionStateRecovery].
type Recovery struct {
	// MaxDisconnectionDuration is how long the sessions of disconnected
	// sockets and the packets they may miss are kept (the reference's
	// maxDisconnectionDuration; zero means its default, 2 minutes).
	MaxDisconnectionDuration time.Duration
	// SkipMiddlewares skips the connection middleware of the namespace for
	// a socket that recovers (the reference's skipMiddlewares, true by
	// default: WithConnectionStateRecovery() without arguments sets it).
	SkipMiddlewares bool
}

// DefaultMaxDisconnectionDuration is the default recovery window.
const DefaultMaxDisconnectionDuration = 2 * time.Minute

// WithConnectionStateRecovery turns on connection-state recovery (the
// reference's connectionStateRecovery, Socket.IO 4.6+). Without arguments
// it uses the reference's defaults: Recovery{MaxDisconnectionDuration:
// 2 * time.Minute, SkipMiddlewares: true}; with one, the Recovery given
// (a zero MaxDisconnectionDuration still means 2 minutes).
//
// Every socket gets a private session ID, sent to its client with the
// CONNECT answer, and every event broadcast or emitted to a socket without
// acknowledgement and not volatile carries an offset as its last argument
// (the official clients handle both by themselves). When a socket
// disconnects for any reason but a namespace disconnect (by the client or
// by [Socket.Disconnect]) or a parse error, its session is kept; a client
// that comes back within MaxDisconnectionDuration recovers it: the same
// socket ID, rooms and data, and every packet it missed, in order, before
// anything else ([Socket.Recovered] is true). Otherwise it connects as a
// new socket.
//
// The default in-memory adapter supports it (see [adapter.NewSessionAware]
// for its memory cost: every such packet is kept for the window, even when
// nobody is disconnected); an adapter that does not (such as the Redis
// adapter) connects returning clients as new sockets.
func WithConnectionStateRecovery(r ...Recovery) Option {
	rec := Recovery{MaxDisconnectionDuration: DefaultMaxDisconnectionDuration, SkipMiddlewares: true}
	if len(r) > 0 {
		rec = r[0]
	}
	if rec.MaxDisconnectionDuration <= 0 {
		rec.MaxDisconnectionDuration = DefaultMaxDisconnectionDuration
	}
	return func(c *config) { c.recovery = &rec }
}
