package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// bgctx is the context of WebSocket reads and writes: a context without a
// Done channel costs coder/websocket no timer per call. Reads end when the
// connection is closed (by the heartbeat, the writer or a server close).
var bgctx = context.Background()

// acceptWebSocket completes a WebSocket handshake, or answers the request
// with an error and returns nil.
func (srv *Server) acceptWebSocket(w http.ResponseWriter, r *http.Request) *websocket.Conn {
	if !srv.webSocketOriginAllowed(r) {
		srv.fail(w, r, &RequestError{Code: CodeForbidden, Message: CodeForbidden.String(), Err: errors.New("origin not allowed")})
		return nil
	}
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true} // origins are checked above
	if pmd := srv.opts.PerMessageDeflate; pmd != nil {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
		if pmd.ContextTakeover {
			opts.CompressionMode = websocket.CompressionContextTakeover
		}
		opts.CompressionThreshold = pmd.Threshold
		if opts.CompressionThreshold <= 0 {
			opts.CompressionThreshold = 1024
		}
	}
	conn, err := websocket.Accept(hijackWriter{w}, r, opts)
	if err != nil {
		srv.log.Debug("websocket handshake failed", "err", err, "remote", r.RemoteAddr)
		return nil
	}
	conn.SetReadLimit(srv.opts.MaxHTTPBufferSize)
	return conn
}

// serveWebSocketHandshake opens a session directly over WebSocket. The
// request's goroutine becomes the session's reader.
func (srv *Server) serveWebSocketHandshake(w http.ResponseWriter, r *http.Request) {
	srv.mu.RLock()
	closing := srv.closing
	srv.mu.RUnlock()
	if closing {
		srv.fail(w, r, requestError(CodeBadRequest, ErrServerClosed))
		return
	}
	conn := srv.acceptWebSocket(w, r)
	if conn == nil {
		return
	}
	s := srv.newSession(r, WebSocket)
	if err := conn.Write(bgctx, websocket.MessageText, srv.openPacket(s.id, WebSocket)); err != nil {
		_ = conn.CloseNow()
		return
	}
	s.ws = conn
	if !srv.register(s) {
		_ = conn.Close(websocket.StatusGoingAway, "")
		return
	}
	s.readLoop(conn)
}

// serveUpgrade moves polling session s to the WebSocket that r opens: the
// client probes it ("2probe", answered "3probe"), the pending poll is
// released with a noop, and the client's upgrade packet switches transports.
func (srv *Server) serveUpgrade(w http.ResponseWriter, r *http.Request, s *Session) {
	s.mu.Lock()
	ok := s.state == stateOpen && s.transport == Polling && !s.upgrading && !srv.opts.DisableUpgrades
	if ok {
		s.upgrading = true
	}
	s.mu.Unlock()
	conn := srv.acceptWebSocket(w, r)
	if !ok {
		// Already upgraded or upgrading: like the reference, close the
		// extra WebSocket rather than refuse it, so clients see a close.
		if conn != nil {
			_ = conn.CloseNow()
		}
		return
	}
	s.mu.Lock()
	if conn == nil || s.state != stateOpen {
		s.upgrading = false
		s.mu.Unlock()
		if conn != nil {
			_ = conn.CloseNow()
		}
		return
	}
	s.probeConn = conn
	s.mu.Unlock()

	reset := func() {
		s.mu.Lock()
		if s.probeConn == conn {
			s.probeConn = nil
			s.upgrading = false
			s.probed = false
		}
		s.mu.Unlock()
	}
	// On timeout the session is reset before the connection is closed:
	// once the client sees its probe closed, the session is back on plain
	// polling (polls wait again instead of getting noops).
	timer := time.AfterFunc(srv.opts.UpgradeTimeout, func() {
		reset()
		_ = conn.CloseNow()
	})
	abort := func() {
		timer.Stop()
		reset()
		_ = conn.CloseNow()
	}
	for {
		typ, data, err := conn.Read(bgctx)
		if err != nil || typ != websocket.MessageText {
			abort()
			return
		}
		switch {
		case bytes.Equal(data, []byte("2probe")):
			if err := conn.Write(bgctx, websocket.MessageText, frameProbe); err != nil {
				abort()
				return
			}
			s.mu.Lock()
			s.probed = true
			if s.pollWaiting {
				s.wakePollLocked()
			}
			s.mu.Unlock()
		case len(data) == 1 && PacketType(data[0]) == PacketUpgrade:
			timer.Stop()
			s.mu.Lock()
			if s.state != stateOpen || s.probeConn != conn {
				s.mu.Unlock()
				_ = conn.CloseNow()
				return
			}
			s.transport = WebSocket
			s.ws = conn
			s.probeConn = nil
			s.upgrading, s.probed = false, false
			if s.pollWaiting {
				s.wakePollLocked()
			}
			start := s.startWriterLocked()
			s.mu.Unlock()
			if start {
				go s.writeLoop()
			}
			s.dispatchMu.Lock()
			s.handler.OnUpgrade(WebSocket)
			s.dispatchMu.Unlock()
			s.readLoop(conn)
			return
		default:
			abort()
			return
		}
	}
}

// readLoop reads the client's packets until the connection ends.
func (s *Session) readLoop(conn *websocket.Conn) {
	for {
		typ, data, err := conn.Read(bgctx)
		if err != nil {
			s.closeNow(readCloseReason(err), err)
			return
		}
		if typ == websocket.MessageBinary {
			s.dispatch(data, true)
			continue
		}
		p, err := decodeText(data)
		if err != nil {
			s.closeNow(ReasonParseError, err)
			return
		}
		s.handlePacket(p)
	}
}

// readCloseReason maps a read error to the reference's reason: a closed
// connection is "transport close", anything else "transport error".
func readCloseReason(err error) CloseReason {
	if websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) {
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// hijackWriter hands coder/websocket a hijacked connection without the
// deadlines an http.Server's ReadTimeout or WriteTimeout left on it, which
// would otherwise cut a long-lived WebSocket.
type hijackWriter struct{ http.ResponseWriter }

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		_ = c.SetDeadline(time.Time{})
	}
	return c, brw, err
}

// WriteHeaderNow forwards to writers that delay the status line (gin's).
func (w hijackWriter) WriteHeaderNow() {
	if n, ok := w.ResponseWriter.(interface{ WriteHeaderNow() }); ok {
		n.WriteHeaderNow()
	}
}

func (w hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
