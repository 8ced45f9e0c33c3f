package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SessionHandler receives the events of one session. The engine calls
// OnMessage and OnUpgrade from one goroutine at a time, in the order the
// client sent the packets, and OnClose exactly once, after every other call
// has returned, from a goroutine of its own.
type SessionHandler interface {
	// OnMessage delivers a message. data belongs to the handler.
	OnMessage(data []byte, binary bool)
	// OnUpgrade reports that the session now uses transport t.
	OnUpgrade(t Transport)
	// OnClose reports that the session closed; err, when not nil, gives
	// details for logs.
	OnClose(reason CloseReason, err error)
}

// BurstHandler is a SessionHandler that can have work run by the goroutine
// that read a burst of WebSocket messages. A session's reader calls
// BeginBurst before it delivers a burst of messages with OnMessage, and
// EndBurst after the burst, from the same goroutine. The task EndBurst
// returns, if not nil, is then run by that goroutine once another one has
// taken over the reading of the session: it may run handlers, and block,
// without holding up the session's later messages. Connections whose
// reader cannot hand over (TLS) make no such calls.
type BurstHandler interface {
	SessionHandler
	// BeginBurst is called before the burst's first OnMessage.
	BeginBurst()
	// EndBurst is called after the burst's last OnMessage, before another
	// goroutine may read.
	EndBurst() (later interface{ Run() })
}

// Server is an Engine.IO server: an [http.Handler] for the Engine.IO
// endpoint. Mount it on the endpoint's path (by default clients use
// /engine.io/, and Socket.IO clients /socket.io/); it serves every request
// it is given, whatever the path.
type Server struct {
	opts   Options
	accept func(*Session) SessionHandler
	log    *slog.Logger

	// The open packet's JSON after the sid, for each handshake transport.
	openTailPolling, openTailWebSocket []byte

	mu       sync.RWMutex
	sessions map[string]*Session
	closing  bool
	// clientClosed remembers, briefly, polling sessions the client closed
	// by POST while no GET was pending, so that a GET racing with that POST
	// gets the noop the reference answers rather than an error.
	clientClosed map[string]time.Time
	live         sync.WaitGroup // one count per session until its OnClose returns
	// slots counts the registered sessions and the handshakes under way,
	// when Options.MaxSessions bounds them.
	slots atomic.Int64

	flusher    flusher
	heartbeats *wheel
}

// NewServer returns a server that calls accept for each new session, before
// any of the session's messages arrive; accept returns the handler of the
// session's events. opts may be nil for the defaults.
func NewServer(accept func(s *Session) SessionHandler, opts *Options) *Server {
	if accept == nil {
		panic("engine: NewServer with a nil accept function")
	}
	o := opts.withDefaults()
	srv := &Server{
		opts:     o,
		accept:   accept,
		log:      o.Logger,
		sessions: make(map[string]*Session),
	}
	srv.flusher.srv = srv
	horizon := max(o.PingInterval, o.PingTimeout)
	if o.AllowEIO3 {
		horizon = o.PingInterval + o.PingTimeout // a protocol 3 session's ping deadline
	}
	srv.heartbeats = newWheel(wheelGranularity(o.PingInterval, o.PingTimeout), horizon,
		func(due []*Session) {
			for _, s := range due {
				s.heartbeat()
			}
		})
	upgrades := []string{}
	if !o.DisableUpgrades && o.allows(WebSocket) {
		upgrades = append(upgrades, string(WebSocket))
	}
	srv.openTailPolling = openTail(upgrades, &o)
	srv.openTailWebSocket = openTail([]string{}, &o)
	return srv
}

// openTail encodes the part of the open packet that follows the sid value.
func openTail(upgrades []string, o *Options) []byte {
	u, _ := json.Marshal(upgrades)
	b := []byte(`","upgrades":`)
	b = append(b, u...)
	b = append(b, `,"pingInterval":`...)
	b = strconv.AppendInt(b, o.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, o.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, o.MaxHTTPBufferSize, 10)
	return append(b, '}')
}

// openPacket returns the open packet of session sid.
func (srv *Server) openPacket(sid string, t Transport) []byte {
	tail := srv.openTailPolling
	if t == WebSocket {
		tail = srv.openTailWebSocket
	}
	b := make([]byte, 0, len(`0{"sid":"`)+len(sid)+len(tail))
	b = append(b, `0{"sid":"`...)
	b = append(b, sid...)
	return append(b, tail...)
}

// Options returns the server's options, with defaults filled in.
func (srv *Server) Options() Options { return srv.opts }

// IsHandshake reports whether r opens a new Engine.IO session (a request
// with the EIO parameter and no sid). Framework adapters use it to run
// authentication on handshakes only: the later requests of a session are
// authenticated by its unguessable sid.
func IsHandshake(r *http.Request) bool {
	q := parseQuery(r.URL.RawQuery)
	return q.eio != "" && q.sid == ""
}

// ServeHTTP implements the Engine.IO endpoint.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && srv.opts.CORS != nil {
		srv.servePreflight(w, r)
		return
	}
	q := parseQuery(r.URL.RawQuery)
	upgrade := isWebSocketUpgrade(r)
	if !upgrade {
		srv.setCORSHeaders(w, r)
	}
	t := Transport(q.transport)
	if (t != Polling && t != WebSocket) || !srv.opts.allows(t) {
		srv.fail(w, r, requestError(CodeUnknownTransport, nil))
		return
	}
	if q.sid != "" {
		s := srv.session(q.sid)
		if s == nil {
			if t == Polling && r.Method == http.MethodGet && srv.takeClientClosed(q.sid) {
				writeNoop(w, q.eio == "3")
				return
			}
			srv.fail(w, r, requestError(CodeUnknownSID, nil))
			return
		}
		if t == WebSocket {
			if !upgrade {
				srv.fail(w, r, requestError(CodeBadRequest, errTransportMatch))
				return
			}
			srv.serveUpgrade(w, r, s)
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.servePoll(w, r)
		case http.MethodPost:
			s.servePost(w, r)
		default:
			srv.fail(w, r, requestError(CodeBadRequest, nil))
		}
		return
	}

	// A handshake.
	if r.Method != http.MethodGet {
		srv.fail(w, r, requestError(CodeBadHandshakeMethod, nil))
		return
	}
	if t == WebSocket && !upgrade {
		srv.fail(w, r, requestError(CodeBadRequest, nil))
		return
	}
	var v3 bool
	switch {
	case q.eio == "4":
	case q.eio == "3" && srv.opts.AllowEIO3:
		v3 = true
	default:
		srv.fail(w, r, requestError(CodeUnsupportedProtocolVersion, nil))
		return
	}
	if srv.opts.AllowRequest != nil {
		if err := srv.opts.AllowRequest(r); err != nil {
			srv.fail(w, r, &RequestError{Code: CodeForbidden, Message: err.Error(), Err: err})
			return
		}
	}
	if !srv.acquireSlot() {
		srv.fail(w, r, requestError(CodeTooManySessions, nil))
		return
	}
	var registered bool
	if t == WebSocket {
		registered = srv.serveWebSocketHandshake(w, r, v3, q.b64 != "")
	} else {
		registered = srv.servePollingHandshake(w, r, v3, q.b64 != "")
	}
	if !registered {
		srv.releaseSlot()
	}
}

// acquireSlot reserves room for one more session under
// Options.MaxSessions. The slot is released by remove, or by the handshake
// when no session was registered.
func (srv *Server) acquireSlot() bool {
	limit := int64(srv.opts.MaxSessions)
	if limit <= 0 {
		return true
	}
	for {
		n := srv.slots.Load()
		if n >= limit {
			return false
		}
		if srv.slots.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (srv *Server) releaseSlot() {
	if srv.opts.MaxSessions > 0 {
		srv.slots.Add(-1)
	}
}

// fail answers a refused request.
func (srv *Server) fail(w http.ResponseWriter, r *http.Request, e *RequestError) {
	if srv.opts.OnConnectionError != nil {
		srv.opts.OnConnectionError(r, e)
	}
	srv.log.Debug("engine.io request refused", "code", int(e.Code), "message", e.Message, "method", r.Method, "remote", r.RemoteAddr)
	writeRequestError(w, e)
}

func writeRequestError(w http.ResponseWriter, e *RequestError) {
	body, _ := json.Marshal(struct {
		Code    ErrorCode `json:"code"`
		Message string    `json:"message"`
	}{e.Code, e.Message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status())
	_, _ = w.Write(body)
}

// newSession creates a session for handshake request r, of protocol 3
// when v3 is set (with base64 polling payloads when b64 is set). It is not
// yet registered: see register.
func (srv *Server) newSession(r *http.Request, t Transport, v3, b64 bool) *Session {
	hs := r.Clone(context.WithoutCancel(r.Context()))
	hs.Body = http.NoBody
	hs.GetBody = nil
	s := &Session{
		srv:       srv,
		id:        newID(),
		req:       hs,
		transport: t,
		v3:        v3,
		b64:       b64,
	}
	if t == Polling {
		s.pollWake = make(chan struct{}, 1)
	}
	return s
}

// register makes s reachable by its sid, hands it to the accept function
// and starts its heartbeat. It reports false when the server is shutting
// down.
func (srv *Server) register(s *Session) bool {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		return false
	}
	srv.sessions[s.id] = s
	srv.live.Add(1)
	srv.mu.Unlock()
	// accept may close the session (a WebSocket session can then reach
	// closeNow before accept returns): holding dispatchMu makes OnClose,
	// which takes it, wait for the handler it is to be called on.
	s.dispatchMu.Lock()
	s.handler = srv.accept(s)
	s.dispatchMu.Unlock()
	s.startHeartbeat()
	return true
}

func (srv *Server) session(sid string) *Session {
	srv.mu.RLock()
	s := srv.sessions[sid]
	srv.mu.RUnlock()
	return s
}

func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	removed := srv.sessions[s.id] == s
	if removed {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
	if removed {
		srv.releaseSlot()
	}
}

// clientClosedLinger is how long a GET racing with the client's close
// packet is answered with a noop.
const clientClosedLinger = time.Second

func (srv *Server) rememberClientClosed(sid string) {
	now := time.Now()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.clientClosed == nil {
		srv.clientClosed = make(map[string]time.Time)
	}
	if len(srv.clientClosed) >= 64 {
		for k, exp := range srv.clientClosed {
			if now.After(exp) {
				delete(srv.clientClosed, k)
			}
		}
	}
	srv.clientClosed[sid] = now.Add(clientClosedLinger)
}

func (srv *Server) takeClientClosed(sid string) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	exp, ok := srv.clientClosed[sid]
	delete(srv.clientClosed, sid)
	return ok && time.Now().Before(exp)
}

// SessionCount returns the number of open sessions.
func (srv *Server) SessionCount() int {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return len(srv.sessions)
}

// Shutdown stops accepting handshakes, closes every session (each flushes
// what it has queued, a pending long-poll is answered with a close packet,
// a WebSocket closes with status 1001), and waits until every session's
// OnClose has returned or ctx ends. When ctx ends first, the remaining
// sessions are closed at once and ctx's error is returned without waiting
// for their OnClose calls, which wait for any OnMessage still running.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closing = true
	sessions := make([]*Session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		sessions = append(sessions, s)
	}
	srv.mu.Unlock()
	for _, s := range sessions {
		s.closeGracefully(ReasonServerShutdown)
	}
	done := make(chan struct{})
	go func() {
		srv.live.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, s := range sessions {
			s.closeNow(ReasonServerShutdown, ctx.Err())
		}
		// Do not wait for done: a handler stuck in OnMessage would hold
		// Shutdown past its deadline.
		return ctx.Err()
	}
}

// newID returns a random session ID: 15 bytes from crypto/rand, 20
// characters of URL-safe base64.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// query holds the Engine.IO parameters of a request. b64 is set by
// protocol 3 clients that cannot take binary data.
type query struct {
	eio, transport, sid, b64 string
}

// parseQuery extracts the Engine.IO parameters without building a
// url.Values map: this runs on every request.
func parseQuery(raw string) query {
	var q query
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		var dst *string
		switch k {
		case "EIO":
			dst = &q.eio
		case "transport":
			dst = &q.transport
		case "sid":
			dst = &q.sid
		case "b64":
			dst = &q.b64
		default:
			continue
		}
		if *dst != "" {
			continue // the first value wins, as with url.Values.Get
		}
		if strings.ContainsAny(v, "%+") {
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			} else {
				v = ""
			}
		}
		*dst = v
	}
	return q
}

func isWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// setSessionCookie adds the configured session cookie to a handshake answer.
func (srv *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, sid string) {
	c := srv.opts.Cookie
	if c == nil {
		return
	}
	ck := &http.Cookie{
		Name:     c.Name,
		Value:    sid,
		Path:     c.Path,
		Domain:   c.Domain,
		MaxAge:   c.MaxAge,
		Secure:   c.Secure || r.TLS != nil,
		HttpOnly: !c.AllowScripts,
		SameSite: c.SameSite,
	}
	if ck.Name == "" {
		ck.Name = "io"
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	if ck.SameSite == 0 {
		ck.SameSite = http.SameSiteLaxMode
	}
	if c.MaxAge > 0 {
		ck.Expires = time.Now().Add(time.Duration(c.MaxAge) * time.Second)
	}
	http.SetCookie(w, ck)
}
