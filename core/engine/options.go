package engine

import (
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Transport names an Engine.IO transport.
type Transport string

// The transports this package implements.
const (
	Polling   Transport = "polling"
	WebSocket Transport = "websocket"
)

// Options configure a [Server]. The zero value of every field selects the
// Node.js reference's default, given in each field's comment.
type Options struct {
	// PingInterval is the time between two server pings (default 25s).
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong that answers a
	// ping before it closes the session (default 20s).
	PingTimeout time.Duration
	// UpgradeTimeout bounds the polling-to-WebSocket upgrade (default 10s).
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest message or POST body the server
	// accepts, in bytes (the reference's maxHttpBufferSize; default 1e6). It
	// is advertised to clients as maxPayload.
	MaxHTTPBufferSize int64
	// Transports lists the transports clients may use (default polling and
	// websocket).
	Transports []Transport
	// AllowEIO3 accepts the clients of Engine.IO protocol 3 (EIO=3), the
	// 2.x line of socket.io-client and engine.io-client 3.x (the
	// reference's allowEIO3; off by default). Their sessions use that
	// protocol's polling payloads, binary frames and client-driven
	// heartbeat: the client pings every PingInterval, the server answers
	// with a pong and closes the session when no ping came for
	// PingInterval+PingTimeout. Without it, their handshakes are refused
	// with "Unsupported protocol version".
	AllowEIO3 bool
	// DisableUpgrades forbids the polling-to-WebSocket upgrade (the
	// reference's allowUpgrades: false).
	DisableUpgrades bool
	// AllowRequest, when set, is called for every handshake request (never
	// for the later requests of a session). A non-nil error refuses the
	// handshake with HTTP 403, code 4 and the error's text as the message.
	AllowRequest func(r *http.Request) error
	// CORS enables cross-origin requests. Nil (the default) allows none:
	// polling answers carry no CORS headers and WebSocket handshakes from
	// another origin are refused.
	CORS *CORS
	// Cookie, when set, makes the handshake answer set a cookie holding the
	// session ID (the reference's cookie option; off by default).
	Cookie *Cookie
	// PerMessageDeflate, when set, negotiates WebSocket compression (off by
	// default).
	PerMessageDeflate *PerMessageDeflate
	// DisableHTTPCompression turns off gzip/deflate compression of polling
	// answers (on by default, as in the reference).
	DisableHTTPCompression bool
	// HTTPCompressionThreshold is the smallest polling answer, in bytes,
	// that is compressed (default 1024).
	HTTPCompressionThreshold int
	// MaxBufferedPackets bounds each session's queue of packets waiting to
	// be written (default 1024). A session whose queue is full when a
	// packet is sent is closed with ErrQueueFull ("transport error").
	MaxBufferedPackets int
	// MaxSessions bounds the open sessions (default 0: unlimited). A
	// handshake beyond it is refused with HTTP 503 and
	// [CodeTooManySessions]; the session's later requests, and sessions
	// already open, are not affected.
	MaxSessions int
	// Logger receives the server's diagnostics (default slog.Default()).
	// Session IDs are never logged: they are bearer secrets.
	Logger *slog.Logger
	// OnConnectionError, when set, is called for every request the server
	// refuses (the reference's connection_error event).
	OnConnectionError func(r *http.Request, err *RequestError)
}

// CORS configures cross-origin resource sharing for polling requests and
// the origin check of WebSocket handshakes.
type CORS struct {
	// Origins lists the allowed origins exactly as browsers send them
	// ("https://example.com"); "*" allows any origin.
	Origins []string
	// AllowOrigin, when set, decides for origins not in Origins.
	AllowOrigin func(origin string, r *http.Request) bool
	// Credentials allows cookies and HTTP authentication. It is honoured
	// only for origins allowed explicitly (by Origins or AllowOrigin), never
	// for the "*" wildcard.
	Credentials bool
	// Methods answer preflight requests (default GET, POST, OPTIONS).
	Methods []string
	// AllowedHeaders answer preflight requests; when empty, the headers the
	// preflight asks for are allowed.
	AllowedHeaders []string
	// ExposedHeaders lists response headers scripts may read.
	ExposedHeaders []string
	// MaxAge lets browsers cache a preflight answer.
	MaxAge time.Duration
}

// Cookie configures the session cookie set by the handshake answer. Its
// value is the session ID.
type Cookie struct {
	// Name defaults to "io".
	Name string
	// Path defaults to "/".
	Path   string
	Domain string
	// MaxAge in seconds; zero makes a session cookie.
	MaxAge int
	// SameSite defaults to http.SameSiteLaxMode.
	SameSite http.SameSite
	// Secure is forced on for requests that came over TLS.
	Secure bool
	// AllowScripts leaves HttpOnly off, letting page scripts read the cookie.
	AllowScripts bool
}

// PerMessageDeflate configures WebSocket per-message compression.
type PerMessageDeflate struct {
	// Threshold is the smallest message that is compressed (default 1024).
	Threshold int
	// ContextTakeover keeps the compression window between messages: better
	// ratios, about 1 MiB more memory per connection.
	ContextTakeover bool
}

// withDefaults returns a copy of o with the defaults filled in.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxHTTPBufferSize <= 0 {
		c.MaxHTTPBufferSize = 1e6
	}
	if len(c.Transports) == 0 {
		c.Transports = []Transport{Polling, WebSocket}
	}
	if c.HTTPCompressionThreshold <= 0 {
		c.HTTPCompressionThreshold = 1024
	}
	if c.MaxBufferedPackets <= 0 {
		c.MaxBufferedPackets = 1024
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (o *Options) allows(t Transport) bool {
	return slices.Contains(o.Transports, t)
}
