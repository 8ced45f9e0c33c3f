package engine

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

func corsHeaders(res *eiotest.Response) map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age",
		"Access-Control-Expose-Headers"} {
		if v := res.Header.Get(k); v != "" {
			m[k] = v
		}
	}
	return m
}

func TestCORS(t *testing.T) {
	const good, evil = "https://app.example", "https://evil.example"
	handshake := func(h *harness, origin string) *eiotest.Response {
		res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, http.Header{"Origin": {origin}}, nil)
		if err != nil {
			h.t.Fatal(err)
		}
		if res.Status != 200 {
			h.t.Fatalf("handshake %d %q", res.Status, res.Body)
		}
		return res
	}
	dialWS := func(h *harness, origin string) (*http.Response, error) {
		ws, res, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if err == nil {
			ws.Close()
		}
		return res, err
	}

	t.Run("off", func(t *testing.T) {
		h := newHarness(t, nil)
		if m := corsHeaders(handshake(h, good)); len(m) != 0 {
			t.Fatalf("CORS headers without CORS: %v", m)
		}
		// A cross-origin WebSocket is refused: browsers do not apply CORS
		// to WebSockets, so the server must.
		res, err := dialWS(h, evil)
		if err == nil {
			t.Fatal("cross-origin WebSocket accepted without CORS")
		}
		wantError(t, wsResponse(t, res), http.StatusForbidden, int(CodeForbidden))
		// Same origin, and no Origin at all (not a browser), are fine.
		if _, err := dialWS(h, h.ts.URL); err != nil {
			t.Fatalf("same-origin WebSocket: %v", err)
		}
		ws, err := h.c.OpenWebSocket(h.ctx)
		if err != nil {
			t.Fatalf("WebSocket without Origin: %v", err)
		}
		ws.Close()
	})

	t.Run("origins", func(t *testing.T) {
		h := newHarness(t, &Options{CORS: &CORS{Origins: []string{good}, Credentials: true, ExposedHeaders: []string{"X-A", "X-B"}}})
		m := corsHeaders(handshake(h, good))
		if m["Access-Control-Allow-Origin"] != good || m["Access-Control-Allow-Credentials"] != "true" || m["Access-Control-Expose-Headers"] != "X-A,X-B" {
			t.Fatalf("allowed origin got %v", m)
		}
		res := handshake(h, evil)
		if m := corsHeaders(res); len(m) != 0 {
			t.Fatalf("other origin got %v", m)
		}
		if res.Header.Get("Vary") != "Origin" {
			t.Fatalf("Vary %q", res.Header.Get("Vary"))
		}
		// Exact match only.
		for _, o := range []string{good + ":443", good + "/", "http://app.example", "https://app.example.evil"} {
			if m := corsHeaders(handshake(h, o)); len(m) != 0 {
				t.Fatalf("origin %q got %v", o, m)
			}
		}
		if _, err := dialWS(h, good); err != nil {
			t.Fatalf("allowed-origin WebSocket: %v", err)
		}
		res2, err := dialWS(h, evil)
		if err == nil {
			t.Fatal("other-origin WebSocket accepted")
		}
		wantError(t, wsResponse(t, res2), http.StatusForbidden, int(CodeForbidden))
		// Error answers carry the headers too, so scripts can read them.
		res, err = h.c.Do(h.ctx, http.MethodGet, "EIO=3&transport=polling", http.Header{"Origin": {good}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != good {
			t.Fatalf("error answer without CORS headers: %v", res.Header)
		}
	})

	t.Run("wildcard", func(t *testing.T) {
		h := newHarness(t, &Options{CORS: &CORS{Origins: []string{"*"}, Credentials: true}})
		m := corsHeaders(handshake(h, evil))
		if m["Access-Control-Allow-Origin"] != "*" || m["Access-Control-Allow-Credentials"] != "" {
			t.Fatalf("wildcard got %v (credentials must not go with *)", m)
		}
		if _, err := dialWS(h, evil); err != nil {
			t.Fatalf("WebSocket with wildcard CORS: %v", err)
		}
	})

	t.Run("AllowOrigin", func(t *testing.T) {
		h := newHarness(t, &Options{CORS: &CORS{
			AllowOrigin: func(o string, _ *http.Request) bool { return strings.HasSuffix(o, ".trusted.example") },
			Credentials: true,
		}})
		m := corsHeaders(handshake(h, "https://a.trusted.example"))
		if m["Access-Control-Allow-Origin"] != "https://a.trusted.example" || m["Access-Control-Allow-Credentials"] != "true" {
			t.Fatalf("AllowOrigin got %v", m)
		}
		if m := corsHeaders(handshake(h, evil)); len(m) != 0 {
			t.Fatalf("refused origin got %v", m)
		}
		// The WebSocket origin check follows the same decision.
		if _, err := dialWS(h, "https://a.trusted.example"); err != nil {
			t.Fatalf("WebSocket from an origin AllowOrigin accepts: %v", err)
		}
		res, err := dialWS(h, evil)
		if err == nil {
			t.Fatal("WebSocket from an origin AllowOrigin refuses was accepted")
		}
		wantError(t, wsResponse(t, res), http.StatusForbidden, int(CodeForbidden))
	})

	t.Run("preflight", func(t *testing.T) {
		h := newHarness(t, &Options{CORS: &CORS{Origins: []string{good}, MaxAge: time.Hour}})
		pre := func(origin string) *eiotest.Response {
			res, err := h.c.Do(h.ctx, http.MethodOptions, eiotest.HandshakeQuery, http.Header{
				"Origin":                         {origin},
				"Access-Control-Request-Method":  {"POST"},
				"Access-Control-Request-Headers": {"content-type,x-custom"},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != http.StatusNoContent || len(res.Body) != 0 {
				t.Fatalf("preflight %d %q", res.Status, res.Body)
			}
			return res
		}
		m := corsHeaders(pre(good))
		want := map[string]string{
			"Access-Control-Allow-Origin":  good,
			"Access-Control-Allow-Methods": "GET,POST,OPTIONS",
			"Access-Control-Allow-Headers": "content-type,x-custom",
			"Access-Control-Max-Age":       "3600",
		}
		for k, v := range want {
			if m[k] != v {
				t.Fatalf("%s = %q, want %q (all: %v)", k, m[k], v, m)
			}
		}
		if m := corsHeaders(pre(evil)); len(m) != 0 {
			t.Fatalf("refused preflight got %v", m)
		}
		if h.srv.SessionCount() != 0 {
			t.Fatal("a preflight opened a session")
		}
	})
}

// wsResponse reads the body of a refused WebSocket handshake.
func wsResponse(t *testing.T, res *http.Response) *eiotest.Response {
	t.Helper()
	if res == nil {
		t.Fatal("no HTTP answer")
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return &eiotest.Response{Status: res.StatusCode, Header: res.Header, Body: []byte(b.String())}
}

func TestCookie(t *testing.T) {
	cookie := func(t *testing.T, h *harness) (*http.Cookie, string) {
		res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cookies := (&http.Response{Header: res.Header}).Cookies()
		if len(cookies) != 1 {
			t.Fatalf("Set-Cookie %q", res.Header.Values("Set-Cookie"))
		}
		p, err := eiotest.DecodePayload(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		hs, err := eiotest.ParseHandshake(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if cookies[0].Value != hs.SID {
			t.Fatalf("cookie value %q, sid %q", cookies[0].Value, hs.SID)
		}
		return cookies[0], res.Header.Get("Set-Cookie")
	}
	t.Run("defaults", func(t *testing.T) {
		h := newHarness(t, &Options{Cookie: &Cookie{}})
		c, raw := cookie(t, h)
		r := h.session()
		if c.Name != "io" || c.Value != r.s.ID() || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
			t.Fatalf("cookie %q", raw)
		}
		// Later requests of the session set no cookie.
		p := &eiotest.Polling{Client: h.c, Handshake: &eiotest.Handshake{SID: r.s.ID()}}
		_ = r.s.Send(TextMessage([]byte("x")))
		res, err := p.PollRaw(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v := res.Header.Values("Set-Cookie"); len(v) != 0 {
			t.Fatalf("poll set %q", v)
		}
	})
	t.Run("options", func(t *testing.T) {
		h := newHarness(t, &Options{Cookie: &Cookie{Name: "sid", Path: "/app", Domain: "example.com", MaxAge: 60, SameSite: http.SameSiteStrictMode, Secure: true, AllowScripts: true}})
		c, raw := cookie(t, h)
		if c.Name != "sid" || c.Path != "/app" || c.Domain != "example.com" || c.MaxAge != 60 || c.HttpOnly || c.SameSite != http.SameSiteStrictMode || !c.Secure || !strings.Contains(raw, "Expires=") {
			t.Fatalf("cookie %q", raw)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		h := newHarness(t, &Options{Cookie: &Cookie{}}, func(c *harnessConfig) { c.tls = true })
		c, raw := cookie(t, h)
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookie over TLS %q", raw)
		}
	})
	t.Run("off", func(t *testing.T) {
		h := newHarness(t, nil)
		res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := res.Header.Values("Set-Cookie"); len(v) != 0 {
			t.Fatalf("Set-Cookie %q without the option", v)
		}
	})
}

func TestAllowRequest(t *testing.T) {
	var calls []string
	h := newHarness(t, &Options{AllowRequest: func(r *http.Request) error {
		calls = append(calls, r.URL.RawQuery)
		if r.Header.Get("Authorization") != "Bearer ok" {
			return errors.New("invalid token")
		}
		return nil
	}})
	var refused []*RequestError
	h.srv.opts.OnConnectionError = func(_ *http.Request, e *RequestError) { refused = append(refused, e) }

	res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, res, http.StatusForbidden, int(CodeForbidden))
	if e, _ := res.Error(); e.Message != "invalid token" {
		t.Fatalf("message %q", e.Message)
	}
	_, wsRes, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket", nil)
	if err == nil {
		t.Fatal("refused WebSocket handshake accepted")
	}
	wantError(t, wsResponse(t, wsRes), http.StatusForbidden, int(CodeForbidden))
	if h.srv.SessionCount() != 0 {
		t.Fatal("refused handshake opened a session")
	}
	if len(refused) != 2 || refused[0].Code != CodeForbidden || refused[0].Err == nil || refused[0].Err.Error() != "invalid token" {
		t.Fatalf("OnConnectionError got %v", refused)
	}

	h.c.Header.Set("Authorization", "Bearer ok")
	p, _ := h.handshake()
	n := len(calls)
	// Later requests of the session are not checked again: the sid
	// authenticates them.
	h.c.Header.Del("Authorization")
	h.send(p, eiotest.Text("x"))
	if got := h.poll(p); got != "4x" {
		t.Fatalf("poll %q", got)
	}
	h.upgrade(p)
	if len(calls) != n {
		t.Fatalf("AllowRequest called for the session's requests: %v", calls[n:])
	}
}

func TestHTTPCompression(t *testing.T) {
	big := strings.Repeat("compressible ", 200) // 2600 bytes
	pollWith := func(t *testing.T, h *harness, msg, acceptEncoding string) *eiotest.Response {
		p, r := h.handshake()
		if err := r.s.Send(TextMessage([]byte(msg))); err != nil {
			t.Fatal(err)
		}
		res, err := h.c.Do(h.ctx, http.MethodGet, p.Query(), http.Header{"Accept-Encoding": {acceptEncoding}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := res.Decoded()
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != "4"+msg {
			t.Fatalf("body %.40q... (%d bytes) does not decode to the message", body, len(body))
		}
		return res
	}
	t.Run("gzip over threshold", func(t *testing.T) {
		h := newHarness(t, nil)
		res := pollWith(t, h, big, "gzip, deflate, br")
		if res.Header.Get("Content-Encoding") != "gzip" || len(res.Body) >= len(big) {
			t.Fatalf("Content-Encoding %q, %d bytes", res.Header.Get("Content-Encoding"), len(res.Body))
		}
		if res.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Vary %q", res.Header.Get("Vary"))
		}
	})
	t.Run("deflate", func(t *testing.T) {
		h := newHarness(t, nil)
		res := pollWith(t, h, big, "deflate")
		if res.Header.Get("Content-Encoding") != "deflate" {
			t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
		}
	})
	t.Run("refused encodings", func(t *testing.T) {
		h := newHarness(t, nil)
		for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
			if res := pollWith(t, h, big, ae); res.Header.Get("Content-Encoding") != "" {
				t.Fatalf("Accept-Encoding %q got Content-Encoding %q", ae, res.Header.Get("Content-Encoding"))
			}
		}
	})
	t.Run("under threshold", func(t *testing.T) {
		h := newHarness(t, nil)
		res := pollWith(t, h, "small", "gzip")
		if res.Header.Get("Content-Encoding") != "" || res.Header.Get("Content-Length") != "6" {
			t.Fatalf("small answer compressed: %v", res.Header)
		}
	})
	t.Run("threshold option", func(t *testing.T) {
		h := newHarness(t, &Options{HTTPCompressionThreshold: 10})
		if res := pollWith(t, h, "just long enough", "gzip"); res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
		}
	})
	t.Run("disabled", func(t *testing.T) {
		h := newHarness(t, &Options{DisableHTTPCompression: true})
		if res := pollWith(t, h, big, "gzip"); res.Header.Get("Content-Encoding") != "" {
			t.Fatalf("Content-Encoding %q with compression disabled", res.Header.Get("Content-Encoding"))
		}
	})
}

func TestPerMessageDeflate(t *testing.T) {
	big := strings.Repeat("deflate me ", 500)
	run := func(t *testing.T, opts *Options, wantExt bool) {
		h := newHarness(t, opts)
		ws, res, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket", &websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		ext := res.Header.Get("Sec-WebSocket-Extensions")
		if got := strings.Contains(ext, "permessage-deflate"); got != wantExt {
			t.Fatalf("Sec-WebSocket-Extensions %q, want permessage-deflate: %v", ext, wantExt)
		}
		if _, err := ws.Read(h.ctx); err != nil { // open packet
			t.Fatal(err)
		}
		h.session()
		for _, m := range []string{"small", big} {
			if err := ws.Write(h.ctx, eiotest.Text(m)); err != nil {
				t.Fatal(err)
			}
			if got, err := ws.ReadMessage(h.ctx); err != nil || string(got.Data) != m {
				t.Fatalf("echo %.20q %v", got.Data, err)
			}
		}
	}
	t.Run("on", func(t *testing.T) { run(t, &Options{PerMessageDeflate: &PerMessageDeflate{}}, true) })
	t.Run("on with context takeover", func(t *testing.T) {
		run(t, &Options{PerMessageDeflate: &PerMessageDeflate{ContextTakeover: true, Threshold: 16}}, true)
	})
	t.Run("off", func(t *testing.T) { run(t, nil, false) })
}

// TestServerTimeouts checks that an http.Server's ReadTimeout and
// WriteTimeout, which bound ordinary requests, do not cut WebSockets: they
// live far longer.
func TestServerTimeouts(t *testing.T) {
	// Long enough for the handshakes to finish on a loaded machine.
	const timeout = 300 * time.Millisecond
	h := newHarness(t, nil, func(c *harnessConfig) {
		c.httpServer = func(s *http.Server) { s.ReadTimeout, s.WriteTimeout = timeout, timeout }
	})
	ws, _ := h.openWS()
	p, r := h.handshake()
	up := h.upgrade(p)
	if e := r.next(t); e.kind != "upgrade" {
		t.Fatalf("event %+v", e)
	}
	// Let both deadlines pass.
	time.Sleep(2 * timeout)
	for _, c := range []*eiotest.WS{ws, up} {
		for i := range 3 {
			if err := c.Write(h.ctx, eiotest.Text("late")); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			if got, err := c.ReadMessage(h.ctx); err != nil || got.String() != "4late" {
				t.Fatalf("echo %d: %q %v", i, got.String(), err)
			}
		}
	}
}
