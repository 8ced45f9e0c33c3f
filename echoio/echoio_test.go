package echoio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/echoio"
	"github.com/e347a4c2/socketio/internal/adaptertest"
)

var signingKey = []byte("echoio-test-signing-key-0123456789")

// token returns a JWT for user signed with key, expiring after ttl.
func token(t testing.TB, user string, key []byte, ttl time.Duration) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   user,
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl)),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwtAuth is echo-jwt reading the token from the places listed in lookup.
func jwtAuth(lookup string) echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{SigningKey: signingKey, TokenLookup: lookup})
}

// identify reads the user of a socket from the *jwt.Token echo-jwt stored
// for its handshake or, without one, from the token of its Socket.IO auth
// payload.
func identify(s *core.Socket) (string, error) {
	if tok, ok := echoio.Value[*jwt.Token](s.Context(), "user"); ok {
		return tok.Claims.GetSubject()
	}
	raw, _ := s.Handshake().Auth["token"].(string)
	if raw == "" {
		return "", errors.New("no token")
	}
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return signingKey, nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		return "", err
	}
	return tok.Claims.GetSubject()
}

func extra(s *core.Socket) map[string]any {
	rid, _ := echoio.Value[string](s.Context(), "requestID")
	return map[string]any{"tenant": echoio.Param(s.Context(), "tenant"), "requestID": rid}
}

type app struct {
	*httptest.Server
	sio *adaptertest.Server
}

// newApp starts an Echo app with its own routes (some behind echo-jwt) and
// Socket.IO mounted four times: at /socket.io with echo-jwt on handshakes
// (token from the Authorization header, the query or a cookie); at /open
// without middleware (io.Use reads the auth payload); in the group
// /t/:tenant at /rt; and in the group /strict, whose echo-jwt checks every
// request (the pitfall: the browser's WebSocket upgrade fails).
func newApp(t *testing.T) *app {
	sio := adaptertest.NewServer(adaptertest.Options{Identify: identify, Extra: extra, Admins: []string{"alice"}})
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set("requestID", c.Request().Header.Get("X-Request-ID"))
			return next(c)
		}
	})
	e.GET("/api/public", func(c echo.Context) error { return c.String(http.StatusOK, "public") })
	e.GET("/api/me", func(c echo.Context) error {
		sub, _ := c.Get("user").(*jwt.Token).Claims.GetSubject()
		return c.String(http.StatusOK, sub)
	}, jwtAuth("header:Authorization:Bearer "))

	keys := echoio.WithKeys("user", "requestID")
	handshakeAuth := echoio.WithHandshakeMiddleware(jwtAuth("header:Authorization:Bearer ,query:token,cookie:token"))
	echoio.Mount(e, sio.IO, keys, handshakeAuth)
	echoio.Mount(e, sio.IO, keys, echoio.WithPath("/open"))
	echoio.Mount(e.Group("/t/:tenant"), sio.IO, keys, handshakeAuth, echoio.WithPath("/rt/"))
	echoio.Mount(e.Group("/strict", jwtAuth("header:Authorization:Bearer ")), sio.IO, keys)
	echoio.Mount(e.Group("/root"), sio.IO, echoio.WithPath("/"))
	return &app{Server: sio.Start(t, e), sio: sio}
}

func TestRoutes(t *testing.T) {
	a := newApp(t)
	alice := http.Header{"Authorization": {"Bearer " + token(t, "alice", signingKey, time.Hour)}}
	hs, open := adaptertest.HandshakeQuery, adaptertest.OpenPrefix
	missing := `{"message":"missing or malformed jwt"}`
	adaptertest.CheckRoutes(t, a.URL, []adaptertest.Route{
		{Path: "/socket.io/" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/socket.io" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/socket.io/" + hs + "&token=" + token(t, "bob", signingKey, time.Hour), Status: 200, Prefix: open},
		{Path: "/socket.io/" + hs, Status: 401, Prefix: missing},
		{Path: "/socket.io/" + hs + "&token=" + token(t, "bob", []byte("another key"), time.Hour), Status: 401,
			Prefix: `{"message":"invalid or expired jwt"}`},
		// Not a handshake: echo-jwt does not run, the core refuses the unknown sid.
		{Path: "/socket.io/" + hs + "&sid=unknown", Status: 400, Prefix: `{"code":1,`},
		{Path: "/open/" + hs, Status: 200, Prefix: open},
		{Path: "/open" + hs, Status: 200, Prefix: open},
		{Path: "/t/acme/rt/" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/t/acme/rt" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/t/acme/rt/" + hs, Status: 401, Prefix: missing},
		{Path: "/strict/socket.io/" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/strict/socket.io/" + hs + "&sid=unknown", Status: 401, Prefix: missing},
		// Mounted at the root of a group: the group's path, with and without the slash.
		{Path: "/root/" + hs, Status: 200, Prefix: open},
		{Path: "/root" + hs, Status: 200, Prefix: open},
		{Path: "/api/public", Status: 200, Prefix: "public"},
		{Path: "/api/me", Header: alice, Status: 200, Prefix: "alice"},
		{Path: "/api/me", Status: 401, Prefix: missing},
		{Path: "/nope", Status: 404},
	})
}

func TestBridge(t *testing.T) {
	a := newApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bob := http.Header{"Authorization": {"Bearer " + token(t, "bob", signingKey, time.Hour)}}

	// Echo recycles its Contexts: other requests served between the
	// handshake and the CONNECT (where io.Use runs) must not change what the
	// socket sees.
	noise := func() {
		for i := range 20 {
			h := bob.Clone()
			h.Set("X-Request-ID", fmt.Sprint("noise-", i))
			adaptertest.CheckRoutes(t, a.URL, []adaptertest.Route{{Path: "/api/me", Header: h, Status: 200, Prefix: "bob"}})
		}
	}
	got, err := (&adaptertest.Client{
		Endpoint:        a.URL + "/t/acme/rt/?token=" + token(t, "alice", signingKey, time.Hour),
		HandshakeHeader: http.Header{"X-Request-ID": {"alice-1"}},
		LaterEndpoint:   a.URL + "/socket.io/",
		BeforeConnect:   noise,
	}).Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `map[extra:map[requestID:alice-1 tenant:acme] handler:alice middleware:alice nsp:/ transport:polling]`
	if fmt.Sprint(got) != want {
		t.Errorf("whoami = %v\nwant %s", got, want)
	}

	_, err = (&adaptertest.Client{Endpoint: a.URL + "/open/", Auth: map[string]any{"token": "garbage"}}).Whoami(ctx)
	if ce := (*adaptertest.ConnectError)(nil); !errors.As(err, &ce) || ce.Message != "unauthorized" {
		t.Errorf("bad auth payload: %v, want connect_error unauthorized", err)
	}
	_, err = (&adaptertest.Client{Endpoint: a.URL + "/socket.io/", Header: bob, Nsp: "/admin"}).Whoami(ctx)
	if ce := (*adaptertest.ConnectError)(nil); !errors.As(err, &ce) || ce.Message != "forbidden" {
		t.Errorf("bob in /admin: %v, want connect_error forbidden", err)
	}
	_, err = (&adaptertest.Client{Endpoint: a.URL + "/socket.io/"}).Whoami(ctx)
	if he := (*adaptertest.HandshakeError)(nil); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("without a token: %v, want a handshake refused with 401", err)
	}
	if got := fmt.Sprint(a.sio.Connected()); got != "[/ alice]" {
		t.Errorf("connected sockets %s, want [/ alice]", got)
	}
}

// TestNodeClients drives the official socket.io-client (Node) against the
// app over polling only, WebSocket only and the upgrade.
func TestNodeClients(t *testing.T) {
	a := newApp(t)
	alice := token(t, "alice", signingKey, time.Hour)
	bob := token(t, "bob", signingKey, time.Hour)
	carol := token(t, "carol", signingKey, time.Hour)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	cases := []adaptertest.Case{
		// A browser sets Authorization on XHR but not on a WebSocket: echo-jwt
		// on handshakes only lets the upgrade through.
		{Name: "header-browser", WaitUpgrade: true, PollingHeaders: bearer(alice)},
		{Name: "query-websocket", Transports: []string{"websocket"}, Query: map[string]string{"token": alice}},
		{Name: "cookie-polling", Transports: []string{"polling"}, Headers: map[string]string{"Cookie": "token=" + alice}},
		{Name: "noise", WaitUpgrade: true, Headers: map[string]string{"Authorization": "Bearer " + alice, "X-Request-ID": "alice-rid"},
			Noise: []adaptertest.Noise{{Path: "/api/me", Headers: map[string]string{"Authorization": "Bearer " + bob, "X-Request-ID": "bob-rid"}, Times: 20}}},
		{Name: "auth-payload", Path: "/open", WaitUpgrade: true, Auth: map[string]any{"token": bob}},
		{Name: "auth-payload-websocket", Path: "/open", Transports: []string{"websocket"}, Auth: map[string]any{"token": bob}},
		{Name: "auth-payload-bad", Path: "/open", Auth: map[string]any{"token": token(t, "bob", []byte("another key"), time.Hour)}},
		{Name: "auth-payload-missing", Path: "/open/", Transports: []string{"websocket"}},
		{Name: "expired", Query: map[string]string{"token": token(t, "alice", signingKey, -time.Minute)}},
		{Name: "wrong-key", Transports: []string{"websocket"}, Query: map[string]string{"token": token(t, "alice", []byte("another key"), time.Hour)}},
		{Name: "missing", Transports: []string{"polling"}},
		{Name: "tenant", Path: "/t/acme/rt", NoTrailingSlash: true, WaitUpgrade: true, Query: map[string]string{"token": carol}},
		{Name: "admin", Nsp: "/admin", WaitUpgrade: true, Query: map[string]string{"token": alice}},
		{Name: "bob-admin", Nsp: "/admin", Query: map[string]string{"token": bob}},
		// echo-jwt on every request of the route: the upgrade fails and the
		// client stays on polling, as a browser would.
		{Name: "strict-pitfall", Path: "/strict/socket.io/", WaitUpgrade: true, PollingHeaders: bearer(alice)},
	}
	res := adaptertest.RunClients(t, a.URL, cases)

	connected := func(name, user, transport string) {
		t.Helper()
		r := res[name]
		if !r.Connected || r.Whoami["middleware"] != user || r.Whoami["handler"] != user || r.Transport != transport ||
			r.Whoami["transport"] != transport || r.UpgradeError != "" {
			t.Errorf("%s: %+v, want connected as %s over %s", name, r, user, transport)
		}
	}
	refused := func(name, message string, status int) {
		t.Helper()
		r := res[name]
		if r.Connected || r.Error != message || r.Status != status {
			t.Errorf("%s: %+v, want connect_error %q (status %d)", name, r, message, status)
		}
	}
	connected("header-browser", "alice", "websocket")
	connected("query-websocket", "alice", "websocket")
	connected("cookie-polling", "alice", "polling")
	connected("noise", "alice", "websocket")
	if r := res["noise"]; fmt.Sprint(r.Whoami["extra"], r.Noise) != "map[requestID:alice-rid tenant:] [200]" {
		t.Errorf("noise: extra %v, noise %v: the snapshot must survive the reuse of Echo's Context", r.Whoami["extra"], r.Noise)
	}
	connected("auth-payload", "bob", "websocket")
	connected("auth-payload-websocket", "bob", "websocket")
	refused("auth-payload-bad", "unauthorized", 0)
	refused("auth-payload-missing", "unauthorized", 0)
	refused("expired", "xhr poll error", 401)
	refused("wrong-key", "websocket error", 0)
	refused("missing", "xhr poll error", 401)
	connected("tenant", "carol", "websocket")
	if ex := fmt.Sprint(res["tenant"].Whoami["extra"]); ex != "map[requestID: tenant:acme]" {
		t.Errorf("tenant: extra %s", ex)
	}
	connected("admin", "alice", "websocket")
	refused("bob-admin", "forbidden", 0)
	if r := res["strict-pitfall"]; !r.Connected || r.UpgradeError == "" || r.Transport != "polling" || r.Whoami["handler"] != "alice" {
		t.Errorf("strict-pitfall: %+v, want connected as alice, stuck on polling after a failed upgrade", r)
	}

	got := strings.Join(a.sio.Connected(), ",")
	for _, s := range []string{"/ alice", "/ bob", "/ carol", "/admin alice"} {
		if !strings.Contains(got, s) {
			t.Errorf("connected sockets %s: missing %q", got, s)
		}
	}
	if strings.Contains(got, "/admin bob") || strings.Contains(got, "  ") || strings.HasSuffix(got, " ") {
		t.Errorf("connected sockets %s: a refused client got a socket", got)
	}
	if n := len(a.sio.Connected()); n != 9 {
		t.Errorf("%d sockets connected, want 9: %s", n, got)
	}
}
