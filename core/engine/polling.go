package engine

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// servePollingHandshake opens a polling session, and reports whether it
// registered one; the answer carries the open packet.
func (srv *Server) servePollingHandshake(w http.ResponseWriter, r *http.Request, v3, b64 bool) bool {
	s := srv.newSession(r, Polling, v3, b64)
	if !srv.register(s) {
		srv.fail(w, r, requestError(CodeBadRequest, ErrServerClosed))
		return false
	}
	srv.setSessionCookie(w, r, s.id)
	frames := []Frame{{Data: srv.openPacket(s.id, Polling)}}
	s.mu.Lock()
	frames = append(frames, s.takeQueueLocked()...)
	s.mu.Unlock()
	s.writePayload(w, r, frames)
	return true
}

// servePoll answers a long-polling GET: at once when packets are queued,
// otherwise when one is sent or the session ends.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.pongOverdueLocked() {
		s.mu.Unlock()
		s.closeNow(ReasonPingTimeout, nil)
		s.srv.fail(w, r, requestError(CodeUnknownSID, nil))
		return
	}
	if s.transport != Polling {
		s.mu.Unlock()
		s.srv.fail(w, r, requestError(CodeBadRequest, errTransportMatch))
		return
	}
	if s.pollWaiting {
		s.mu.Unlock()
		s.closeNow(ReasonTransportError, errPollOverlap) // answers the first GET
		s.srv.fail(w, r, requestError(CodeBadRequest, errPollOverlap))
		return
	}
	// A client that probed a WebSocket pauses polling once its current poll
	// ends; a GET that still comes after the probe waits briefly (as the
	// reference's 100 ms upgrade check does) so that an upgrade completing
	// meanwhile refuses it instead of answering it.
	var probeTimer *time.Timer
	defer func() {
		if probeTimer != nil {
			probeTimer.Stop()
		}
	}()
	var probeWait <-chan time.Time
	if s.probed {
		probeTimer = time.NewTimer(probeCheckInterval)
		probeWait = probeTimer.C
	}
	lateProbe := probeWait != nil
	// A GET that comes while a WebSocket is attached but not yet probed may
	// have been sent after the client's probe and upgrade packets, which
	// the WebSocket's reader has not handled yet: once the probe is
	// handled, it waits like a late poll, rather than getting the noop at
	// once. (The reference sends that noop only on its 100 ms check, to
	// every pending poll.)
	beforeProbe := s.upgrading && !s.probed
	var frames []Frame
	var finish bool
	for {
		var ready bool
		// (The upgrade may even have completed, which resets probed, before
		// this goroutine runs again.)
		if beforeProbe && (s.probed || s.transport != Polling) { // (then probeTimer is nil)
			beforeProbe = false
			probeTimer = time.NewTimer(probeCheckInterval)
			probeWait, lateProbe = probeTimer.C, true
		}
		frames, finish, ready = s.pollReadyLocked(lateProbe)
		if ready {
			break
		}
		s.pollWaiting = true
		s.mu.Unlock()
		select {
		case <-s.pollWake:
		case <-probeWait:
			probeWait, lateProbe = nil, false
		case <-r.Context().Done():
			s.mu.Lock()
			s.pollWaiting = false
			s.mu.Unlock()
			s.closeNow(ReasonTransportError, errPollAborted)
			return
		}
		s.mu.Lock()
		s.pollWaiting = false
	}
	s.mu.Unlock()
	if frames == nil {
		s.srv.fail(w, r, requestError(CodeBadRequest, errTransportMatch))
		return
	}
	s.writePayload(w, r, frames)
	if finish {
		s.closeNow(ReasonForcedClose, nil) // keeps the graceful close's reason
	}
	s.mu.Lock()
	s.recycleLocked(frames)
	s.mu.Unlock()
}

// probeCheckInterval is how long a poll that arrives after an upgrade
// probe waits before it is answered with a noop.
const probeCheckInterval = 100 * time.Millisecond

// pollReadyLocked decides what a poll answers. ready is false when the poll
// must wait; finish is true when the session closes once the answer is
// written. No frames (and ready) means the poll is refused: it came after
// the upgrade probe and the upgrade completed.
func (s *Session) pollReadyLocked(lateProbe bool) (frames []Frame, finish, ready bool) {
	switch {
	case s.state == stateClosed:
		if s.closeReason == ReasonTransportClose {
			return []Frame{frameNoop}, false, true
		}
		return []Frame{frameClose}, false, true
	case s.transport != Polling: // upgraded while waiting
		if lateProbe {
			return nil, false, true
		}
		return []Frame{frameNoop}, false, true
	case s.state == stateClosing:
		return append(s.takeQueueLocked(), frameClose), true, true
	case len(s.queue) > 0 && s.corked == 0:
		return s.takeQueueLocked(), false, true
	case s.probed && !lateProbe:
		return []Frame{frameNoop}, false, true
	}
	return nil, false, false
}

// writeNoop answers a poll with a noop packet, in a protocol 3 payload
// when v3 is set.
func writeNoop(w http.ResponseWriter, v3 bool) {
	h := w.Header()
	h["Content-Type"] = hdrTextPlain
	h["Cache-Control"] = hdrNoStore
	if v3 {
		h["Content-Length"] = hdrLength3
		_, _ = w.Write(noopPayloadV3)
		return
	}
	h["Content-Length"] = hdrLength1
	_, _ = w.Write(frameNoop.Data)
}

var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// The header values of polling answers. They are shared by every answer,
// saving an allocation per header: a value slice is never modified in
// place (Header.Add appends to a copy, as these slices are full), and
// net/http only reads them.
var (
	hdrTextPlain = []string{"text/plain; charset=UTF-8"}
	hdrTextHTML  = []string{"text/html"}
	hdrNoStore   = []string{"no-store"}
	hdrLength1   = []string{"1"}
	hdrLength2   = []string{"2"}
	hdrLength3   = []string{"3"}
	hdrBinary    = []string{"application/octet-stream"}
	bodyOK       = []byte("ok")
	// noopPayloadV3 is a noop packet as a protocol 3 polling payload.
	noopPayloadV3 = []byte("1:6")
)

// writePayload writes frames as a polling answer, compressed when the
// client accepts it and the payload is large enough.
func (s *Session) writePayload(w http.ResponseWriter, r *http.Request, frames []Frame) {
	bp := bodyPool.Get().(*[]byte)
	h := w.Header()
	var body []byte
	if s.v3 {
		var binary bool
		body, binary = appendPayloadV3((*bp)[:0], frames, s.b64)
		h["Content-Type"] = hdrTextPlain
		if binary {
			h["Content-Type"] = hdrBinary
		}
	} else {
		body = appendPayload((*bp)[:0], frames)
		h["Content-Type"] = hdrTextPlain
	}
	h["Cache-Control"] = hdrNoStore
	opts := &s.srv.opts
	if !opts.DisableHTTPCompression && len(body) >= opts.HTTPCompressionThreshold {
		if enc := acceptedEncoding(r); enc != "" {
			h.Set("Content-Encoding", enc)
			h.Add("Vary", "Accept-Encoding")
			writeCompressed(w, enc, body)
			putBody(bp, body)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
	putBody(bp, body)
}

func putBody(bp *[]byte, body []byte) {
	if cap(body) > 64<<10 {
		return // do not keep buffers left by rare huge payloads
	}
	*bp = body
	bodyPool.Put(bp)
}

// acceptedEncoding picks gzip or deflate from the Accept-Encoding header.
func acceptedEncoding(r *http.Request) string {
	var deflateOK bool
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err != nil || f <= 0 {
					continue // refused
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip":
				return "gzip"
			case "deflate":
				deflateOK = true
			}
		}
	}
	if deflateOK {
		return "deflate"
	}
	return ""
}

var (
	gzipPool  sync.Pool
	flatePool sync.Pool
)

func writeCompressed(w io.Writer, enc string, body []byte) {
	if enc == "gzip" {
		zw, _ := gzipPool.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
		} else {
			zw.Reset(w)
		}
		_, _ = zw.Write(body)
		_ = zw.Close()
		zw.Reset(io.Discard)
		gzipPool.Put(zw)
		return
	}
	fw, _ := flatePool.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(w, flate.DefaultCompression)
	} else {
		fw.Reset(w)
	}
	_, _ = fw.Write(body)
	_ = fw.Close()
	fw.Reset(io.Discard)
	flatePool.Put(fw)
}

// servePost takes the packets a client sends by POST.
func (s *Session) servePost(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.transport != Polling {
		s.mu.Unlock()
		s.srv.fail(w, r, requestError(CodeBadRequest, errTransportMatch))
		return
	}
	if s.posting {
		s.mu.Unlock()
		s.closeNow(ReasonTransportError, errPostOverlap)
		s.srv.fail(w, r, requestError(CodeBadRequest, errPostOverlap))
		return
	}
	if s.pongOverdueLocked() {
		s.mu.Unlock()
		s.closeNow(ReasonPingTimeout, nil)
		s.srv.fail(w, r, requestError(CodeUnknownSID, nil))
		return
	}
	s.posting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	binary := r.Header.Get("Content-Type") == "application/octet-stream"
	if binary && !s.v3 {
		s.closeNow(ReasonTransportError, errBinaryPost)
		s.srv.fail(w, r, requestError(CodeBadRequest, errBinaryPost))
		return
	}
	body, err := readBody(r, s.srv.opts.MaxHTTPBufferSize)
	if err != nil {
		s.closeNow(ReasonTransportError, err)
		if errors.Is(err, errBodyTooLarge) {
			s.srv.log.Debug("engine.io POST body too large", "remote", r.RemoteAddr)
			http.Error(w, "Payload Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		s.srv.fail(w, r, requestError(CodeBadRequest, err))
		return
	}
	var buf [4]packet
	var packets []packet
	if s.v3 {
		packets, err = decodePayloadV3(body, binary, buf[:0])
	} else {
		packets, err = decodePayload(body, buf[:0])
	}
	if err != nil {
		s.closeNow(ReasonParseError, err)
		s.srv.fail(w, r, requestError(CodeBadRequest, err))
		return
	}
	for _, p := range packets {
		s.handlePacket(p)
	}
	h := w.Header()
	h["Content-Type"] = hdrTextHTML
	h["Content-Length"] = hdrLength2
	h["Cache-Control"] = hdrNoStore
	_, _ = w.Write(bodyOK)
}

// readBody reads a request body of at most limit bytes, without reading
// more than limit+1 bytes of a larger one.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	size := r.ContentLength
	if size < 0 || size > 64<<10 {
		size = 512 // grow as data arrives rather than trusting a large length
	}
	buf := make([]byte, 0, size+1)
	lr := io.LimitReader(r.Body, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errBodyTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, errBodyRead
		}
	}
}
