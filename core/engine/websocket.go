package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/core/internal/gopool"
)

// bgctx is the context of WebSocket reads and writes: a context without a
// Done channel costs coder/websocket no timer per call. Reads end when the
// connection is closed (by the heartbeat, the writer or a server close).
var bgctx = context.Background()

// acceptWebSocket completes a WebSocket handshake, or answers the request
// with an error and returns nil.
func (srv *Server) acceptWebSocket(w http.ResponseWriter, r *http.Request) *wsConn {
	if !srv.webSocketOriginAllowed(r) {
		srv.fail(w, r, &RequestError{Code: CodeForbidden, Message: CodeForbidden.String(), Err: errors.New("origin not allowed")})
		return nil
	}
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true} // origins are checked above
	pmd := srv.opts.PerMessageDeflate
	if pmd != nil {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
		if pmd.ContextTakeover {
			opts.CompressionMode = websocket.CompressionContextTakeover
		}
		opts.CompressionThreshold = pmd.Threshold
		if opts.CompressionThreshold <= 0 {
			opts.CompressionThreshold = 1024
		}
	}
	ws := &wsConn{}
	conn, err := websocket.Accept(hijackWriter{ResponseWriter: w, ws: ws, compress: pmd != nil}, r, opts)
	if err != nil {
		srv.log.Debug("websocket handshake failed", "err", err, "remote", r.RemoteAddr)
		return nil
	}
	conn.SetReadLimit(srv.opts.MaxHTTPBufferSize)
	ws.conn = conn
	// Without compression, data frames are framed here; with it,
	// coder/websocket compresses and frames them.
	ws.framed = w.Header().Get("Sec-WebSocket-Extensions") == ""
	return ws
}

// serveWebSocketHandshake opens a session directly over WebSocket, and
// reports whether it registered one. The session's reader is a goroutine of
// its own, started with a small stack, and the request's goroutine, whose
// stack grew while net/http parsed the request, returns.
func (srv *Server) serveWebSocketHandshake(w http.ResponseWriter, r *http.Request, v3, b64 bool) bool {
	srv.mu.RLock()
	closing := srv.closing
	srv.mu.RUnlock()
	if closing {
		srv.fail(w, r, requestError(CodeBadRequest, ErrServerClosed))
		return false
	}
	ws := srv.acceptWebSocket(w, r)
	if ws == nil {
		return false
	}
	ws.v3, ws.b64 = v3, b64
	s := srv.newSession(r, WebSocket, v3, b64)
	if err := ws.writeFrames([]Frame{{Data: srv.openPacket(s.id, WebSocket)}}); err != nil {
		_ = ws.conn.CloseNow()
		return false
	}
	s.ws = ws
	if !srv.register(s) {
		_ = ws.conn.Close(websocket.StatusGoingAway, "")
		return false
	}
	go s.readLoop(ws)
	return true
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
	ws := srv.acceptWebSocket(w, r)
	if !ok {
		// Already upgraded or upgrading: like the reference, close the
		// extra WebSocket rather than refuse it, so clients see a close.
		if ws != nil {
			_ = ws.conn.CloseNow()
		}
		return
	}
	s.mu.Lock()
	if ws == nil || s.state != stateOpen {
		s.upgrading = false
		s.mu.Unlock()
		if ws != nil {
			_ = ws.conn.CloseNow()
		}
		return
	}
	// A protocol 3 client sends b64 again if its WebSocket has no binary
	// support (forceBase64).
	ws.v3, ws.b64 = s.v3, parseQuery(r.URL.RawQuery).b64 != ""
	s.probeConn = ws
	s.mu.Unlock()

	reset := func() {
		s.mu.Lock()
		if s.probeConn == ws {
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
		_ = ws.conn.CloseNow()
	})
	abort := func() {
		timer.Stop()
		reset()
		_ = ws.conn.CloseNow()
	}
	for {
		typ, data, err := ws.readMessage()
		if err != nil || typ != websocket.MessageText {
			abort()
			return
		}
		switch {
		case bytes.Equal(data, []byte("2probe")):
			if err := ws.writeFrames([]Frame{{Data: frameProbe}}); err != nil {
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
			if s.state != stateOpen || s.probeConn != ws {
				s.mu.Unlock()
				_ = ws.conn.CloseNow()
				return
			}
			s.transport = WebSocket
			s.ws = ws
			s.probeConn = nil
			s.upgrading, s.probed = false, false
			if s.pollWaiting {
				s.wakePollLocked()
			}
			start := s.claimWriterLocked()
			s.mu.Unlock()
			if start {
				s.startWriter(ws, true)
			}
			s.dispatchMu.Lock()
			s.handler.OnUpgrade(WebSocket)
			s.dispatchMu.Unlock()
			go s.readLoop(ws)
			return
		default:
			abort()
			return
		}
	}
}

// readLoop is the session's reader while it waits: see readers.go. For a
// connection without a file descriptor (TLS), the reader does everything
// itself.
func (s *Session) readLoop(ws *wsConn) {
	if ws.raw == nil {
		for s.readBurst(ws) {
		}
		return
	}
	switch err := ws.waitReadable(); {
	case err == nil:
		ws.reads = readTask{s, ws}
		gopool.Default.Go(&ws.reads)
	case errors.Is(err, errClosingRead):
		// The session's graceful close reads the rest and closes it.
	default:
		s.closeNow(readCloseReason(err), err)
	}
}

// readBurst reads and handles the client's packets while some are at
// hand. It reports whether the connection is still open for reading.
func (s *Session) readBurst(ws *wsConn) bool {
	for {
		typ, data, err := ws.readMessage()
		if err != nil {
			s.closeNow(readCloseReason(err), err)
			return false
		}
		switch {
		case ws.v3:
			p, err := decodeMessageV3(data, typ == websocket.MessageBinary)
			if err != nil {
				s.closeNow(ReasonParseError, err)
				return false
			}
			s.handlePacket(p)
		case typ == websocket.MessageBinary:
			s.dispatch(data, true)
		default:
			p, err := decodeText(data)
			if err != nil {
				s.closeNow(ReasonParseError, err)
				return false
			}
			s.handlePacket(p)
		}
		if ws.raw != nil && !ws.dataAtHand() {
			return true
		}
	}
}

// writeFrames writes frames with blocking writes.
func (w *wsConn) writeFrames(frames []Frame) error {
	if !w.framed {
		for _, f := range frames {
			typ := websocket.MessageText
			data, binary := f.Data, f.Binary
			if w.v3 {
				data, binary = appendMessageV3(nil, f, w.b64)
			}
			if binary {
				typ = websocket.MessageBinary
			}
			if err := w.conn.Write(bgctx, typ, data); err != nil {
				return err
			}
		}
		return nil
	}
	bp := w.encodeFrames(frames)
	w.wmu.Lock()
	_, err := w.nc.Write(*bp)
	w.wmu.Unlock()
	putWriteBuf(bp)
	return err
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

// writeCloseReason maps a write error to the reference's reason: a client
// that closed or reset its connection is "transport close" whether the
// server notices on a read or on a write (Node's ws destroys a socket that
// reports ECONNRESET or EPIPE without an error event), anything else
// "transport error".
func writeCloseReason(err error) CloseReason {
	if errors.Is(err, syscall.EPIPE) {
		return ReasonTransportClose
	}
	return readCloseReason(err)
}
