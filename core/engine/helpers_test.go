package engine

import (
	"context"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds every wait of the tests. It is never the expected
// duration of anything: tests wait for events, and this only turns a hang
// into a failure.
const waitLimit = 10 * time.Second

// event is one call the engine made to a recorder.
type event struct {
	kind      string // "message", "upgrade" or "close"
	data      []byte
	binary    bool
	transport Transport
	reason    CloseReason
	err       error
}

// recorder is a SessionHandler that records its calls and, by default,
// echoes every message back to its session.
type recorder struct {
	s      *Session
	echo   bool
	events chan event
	// onMessage, when set, runs in OnMessage before the echo.
	onMessage func(r *recorder, data []byte, binary bool)

	closes   atomic.Int32
	messages atomic.Int32
	late     atomic.Bool // OnMessage or OnUpgrade ran after OnClose
}

func (r *recorder) OnMessage(data []byte, binary bool) {
	if r.closes.Load() > 0 {
		r.late.Store(true)
	}
	r.messages.Add(1)
	r.events <- event{kind: "message", data: data, binary: binary}
	if r.onMessage != nil {
		r.onMessage(r, data, binary)
	}
	if r.echo {
		if binary {
			_ = r.s.Send(BinaryMessage(data))
		} else {
			_ = r.s.Send(TextMessage(data))
		}
	}
}

func (r *recorder) OnUpgrade(t Transport) {
	if r.closes.Load() > 0 {
		r.late.Store(true)
	}
	r.events <- event{kind: "upgrade", transport: t}
}

func (r *recorder) OnClose(reason CloseReason, err error) {
	r.closes.Add(1)
	r.events <- event{kind: "close", reason: reason, err: err}
}

// next returns the recorder's next event.
func (r *recorder) next(t testing.TB) event {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(waitLimit):
		t.Fatalf("no event within %v", waitLimit)
		return event{}
	}
}

// nextMessage returns the data of the next event, which must be a message.
func (r *recorder) nextMessage(t testing.TB) event {
	t.Helper()
	e := r.next(t)
	if e.kind != "message" {
		t.Fatalf("got %s event (%s %v), want a message", e.kind, e.reason, e.err)
	}
	return e
}

// waitClose skips events up to the close and returns it; it then checks
// that OnClose ran once and no call came after it.
func (r *recorder) waitClose(t testing.TB) event {
	t.Helper()
	for {
		e := r.next(t)
		if e.kind != "close" {
			continue
		}
		select {
		case <-r.s.Done():
		case <-time.After(waitLimit):
			t.Fatal("Done not closed after OnClose")
		}
		if n := r.closes.Load(); n != 1 {
			t.Fatalf("OnClose called %d times", n)
		}
		if r.late.Load() {
			t.Fatal("a handler call came after OnClose")
		}
		return e
	}
}

// harness is an engine server on a real loopback HTTP server, with a
// client of it.
type harness struct {
	t        testing.TB
	ctx      context.Context
	srv      *Server
	ts       *httptest.Server
	c        *eiotest.Client
	accepted chan *recorder
	cfg      harnessConfig
}

type harnessConfig struct {
	noEcho     bool
	tls        bool
	httpServer func(*http.Server)
	listener   func(net.Listener) net.Listener
	onAccept   func(*recorder) // runs in accept, after the recorder is set up
	events     int             // capacity of each recorder's event channel (default 256)
}

func testOptions(o *Options) *Options {
	if o == nil {
		o = &Options{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// newHarness starts a server with opts (nil for defaults, with logs
// discarded). Its cleanup closes every session, waits for their OnClose
// calls and stops the HTTP server, so that no goroutine outlives the test.
func newHarness(t testing.TB, opts *Options, cfgs ...func(*harnessConfig)) *harness {
	t.Helper()
	h := &harness{t: t, accepted: make(chan *recorder, 4096)}
	h.cfg.events = 256
	for _, f := range cfgs {
		f(&h.cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitLimit)
	h.ctx = ctx
	h.srv = NewServer(func(s *Session) SessionHandler {
		r := &recorder{s: s, echo: !h.cfg.noEcho, events: make(chan event, h.cfg.events)}
		if h.cfg.onAccept != nil {
			h.cfg.onAccept(r)
		}
		h.accepted <- r
		return r
	}, testOptions(opts))
	h.ts = httptest.NewUnstartedServer(h.srv)
	// net/http recovers a handler's panic and logs it: fail instead.
	h.ts.Config.ErrorLog = log.New(panicDetector{t}, "", 0)
	if h.cfg.listener != nil {
		h.ts.Listener = h.cfg.listener(h.ts.Listener)
	}
	if h.cfg.httpServer != nil {
		h.cfg.httpServer(h.ts.Config)
	}
	if h.cfg.tls {
		h.ts.StartTLS()
		h.c = eiotest.New(h.ts.URL + "/engine.io/")
		h.c.HTTP = h.ts.Client()
	} else {
		h.ts.Start()
		h.c = eiotest.New(h.ts.URL + "/engine.io/")
	}
	t.Cleanup(func() {
		h.c.Close()
		forceClose(t, h.srv)
		h.ts.Close()
		cancel()
	})
	return h
}

// forceClose closes every session of srv at once and waits for their
// OnClose calls.
func forceClose(t testing.TB, srv *Server) {
	srv.mu.Lock()
	srv.closing = true
	var sessions []*Session
	for _, s := range srv.sessions {
		sessions = append(sessions, s)
	}
	srv.mu.Unlock()
	for _, s := range sessions {
		s.closeNow(ReasonServerShutdown, nil)
	}
	done := make(chan struct{})
	go func() {
		srv.live.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Error("sessions still open after the test")
	}
}

// session returns the next accepted session's recorder.
func (h *harness) session() *recorder {
	h.t.Helper()
	select {
	case r := <-h.accepted:
		return r
	case <-time.After(waitLimit):
		h.t.Fatal("no session accepted")
		return nil
	}
}

// handshake opens a polling session and returns it with its recorder.
func (h *harness) handshake() (*eiotest.Polling, *recorder) {
	h.t.Helper()
	p, err := h.c.Handshake(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return p, h.session()
}

// openWS opens a session over WebSocket and returns it with its recorder.
// The connection is closed when the test ends.
func (h *harness) openWS() (*eiotest.WS, *recorder) {
	h.t.Helper()
	ws, err := h.c.OpenWebSocket(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { ws.Close() })
	return ws, h.session()
}

// upgrade moves polling session p to a WebSocket, closed when the test
// ends.
func (h *harness) upgrade(p *eiotest.Polling) *eiotest.WS {
	h.t.Helper()
	ws, err := p.Upgrade(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { ws.Close() })
	return ws
}

// waitSessions waits until the server has n sessions: sessions leave the
// map in closeNow, before OnClose runs.
func (h *harness) waitSessions(n int) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for h.srv.SessionCount() != n {
		if time.Now().After(deadline) {
			h.t.Fatalf("SessionCount = %d, want %d", h.srv.SessionCount(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// wantError checks an Engine.IO error answer.
func wantError(t testing.TB, res *eiotest.Response, status, code int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d (body %q)", res.Status, status, res.Body)
	}
	e, err := res.Error()
	if err != nil {
		t.Fatal(err)
	}
	if e.Code != code {
		t.Fatalf("code %d, want %d (%q)", e.Code, code, e.Message)
	}
	if want := ErrorCode(code).String(); code != int(CodeForbidden) && e.Message != want {
		t.Fatalf("message %q, want %q", e.Message, want)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// payloadString renders packets as a readable payload.
func payloadString(packets []eiotest.Packet) string {
	return string(eiotest.EncodePayload(packets...))
}

// pollResult is the answer of a GET sent in the background.
type pollResult struct {
	res *eiotest.Response
	err error
}

// pollAsync sends a GET for p in a goroutine and waits until the server
// holds it as the session's pending poll.
func (h *harness) pollAsync(p *eiotest.Polling, s *Session) <-chan pollResult {
	h.t.Helper()
	ch := make(chan pollResult, 1)
	go func() {
		res, err := p.PollRaw(h.ctx)
		ch <- pollResult{res, err}
	}()
	deadline := time.Now().Add(waitLimit)
	for {
		s.mu.Lock()
		waiting := s.pollWaiting
		s.mu.Unlock()
		if waiting {
			return ch
		}
		select {
		case r := <-ch:
			h.t.Fatalf("poll answered at once: %+v %v", r.res, r.err)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatal("poll not pending")
		}
		time.Sleep(time.Millisecond)
	}
}

// result waits for a background poll's answer, which must be a 200.
func (h *harness) result(ch <-chan pollResult) string {
	h.t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			h.t.Fatal(r.err)
		}
		if r.res.Status != http.StatusOK {
			h.t.Fatalf("poll answered %d %q", r.res.Status, r.res.Body)
		}
		b, err := r.res.Decoded()
		if err != nil {
			h.t.Fatal(err)
		}
		return string(b)
	case <-time.After(waitLimit):
		h.t.Fatal("pending poll not answered")
		return ""
	}
}

// poll sends a GET and returns its decoded payload as a string.
func (h *harness) poll(p *eiotest.Polling) string {
	h.t.Helper()
	packets, err := p.Poll(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return payloadString(packets)
}

// send POSTs packets, which must be answered "ok".
func (h *harness) send(p *eiotest.Polling, packets ...eiotest.Packet) {
	h.t.Helper()
	if err := p.Send(h.ctx, packets...); err != nil {
		h.t.Fatal(err)
	}
}

// panicDetector fails the test when the HTTP server logs a handler panic.
type panicDetector struct{ t testing.TB }

func (d panicDetector) Write(b []byte) (int, error) {
	if strings.Contains(string(b), "panic") {
		d.t.Errorf("HTTP server: %s", b)
	}
	return len(b), nil
}
