package ginio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/ginio"
	"github.com/e347a4c2/socketio/internal/adaptertest"
)

func init() { gin.SetMode(gin.TestMode) }

// bearerTokens are the tokens the /hdr mount's handshake middleware knows.
var bearerTokens = map[string]string{"tok-carol": "carol"}

// identify reads the user of a socket from the gin-contrib/sessions
// session of its handshake, or from what the bearer middleware set.
func identify(s *core.Socket) (string, error) {
	if u, ok := ginio.Value[string](s.Context(), "bearerUser"); ok {
		return u, nil
	}
	gc, ok := ginio.FromContext(s.Context())
	if !ok {
		return "", errors.New("no gin context")
	}
	user, _ := sessions.Default(gc).Get("user").(string)
	if user == "" {
		return "", errors.New("no user in the session")
	}
	return user, nil
}

func extra(s *core.Socket) map[string]any {
	rid, _ := ginio.Value[string](s.Context(), "requestID")
	return map[string]any{"tenant": ginio.Param(s.Context(), "tenant"), "requestID": rid}
}

// requireUser is the app's auth middleware: a session with a user, or 401.
func requireUser(c *gin.Context) {
	user, _ := sessions.Default(c).Get("user").(string)
	if user == "" {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "login required"})
		return
	}
	c.Set("user", user)
}

// bearer authenticates an Authorization header, which a browser can send
// on XHR but not on a WebSocket.
func bearer(c *gin.Context) {
	user, ok := bearerTokens[strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer ")]
	if !ok {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "bad token"})
		return
	}
	c.Set("bearerUser", user)
}

type app struct {
	*httptest.Server
	sio *adaptertest.Server
}

// newApp starts a gin app with sessions (cookie store), its own routes and
// Socket.IO mounted three times: at /socket.io, in the group /t/:tenant
// (behind requireUser) at /rt, and in the group /hdr with a handshake-only
// bearer middleware.
func newApp(t *testing.T) *app {
	sio := adaptertest.NewServer(adaptertest.Options{Identify: identify, Extra: extra, Admins: []string{"alice"}})
	r := gin.New()
	r.Use(sessions.Sessions("app", cookie.NewStore([]byte("0123456789abcdef0123456789abcdef"))))
	r.Use(func(c *gin.Context) { c.Set("requestID", c.GetHeader("X-Request-ID")) })
	r.GET("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", c.Query("user"))
		if err := s.Save(); err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.String(http.StatusOK, "welcome %s", c.Query("user"))
	})
	r.GET("/api/public", func(c *gin.Context) { c.String(http.StatusOK, "public") })
	r.GET("/api/me", requireUser, func(c *gin.Context) { c.String(http.StatusOK, c.GetString("user")) })

	ginio.Mount(r, sio.IO)
	ginio.Mount(r.Group("/t/:tenant", requireUser), sio.IO, ginio.WithPath("/rt/"))
	ginio.Mount(r.Group("/hdr"), sio.IO, ginio.WithHandshakeMiddleware(bearer))
	ginio.Mount(r.Group("/root"), sio.IO, ginio.WithPath("/"))

	return &app{Server: sio.Start(t, r), sio: sio}
}

// login returns the session cookie of user ("app=...").
func (a *app) login(t *testing.T, user string) string {
	t.Helper()
	res, err := a.Client().Get(a.URL + "/login?user=" + user)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "app" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("login %s: no session cookie", user)
	return ""
}

// TestRoutes checks the routes of the app: Socket.IO with and without the
// trailing slash, never redirected, in groups, behind the group's and the
// handshake-only middleware; the app's own routes.
func TestRoutes(t *testing.T) {
	a := newApp(t)
	alice := http.Header{"Cookie": {a.login(t, "alice")}}
	hs, open := adaptertest.HandshakeQuery, adaptertest.OpenPrefix
	adaptertest.CheckRoutes(t, a.URL, []adaptertest.Route{
		{Path: "/socket.io/" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/socket.io" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/socket.io/" + hs, Status: 200, Prefix: open}, // no session: refused later, by io.Use
		{Path: "/t/acme/rt/" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/t/acme/rt" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/t/acme/rt/" + hs, Status: 401, Prefix: `{"error":"login required"}`},
		{Path: "/hdr/socket.io/" + hs, Header: http.Header{"Authorization": {"Bearer tok-carol"}}, Status: 200, Prefix: open},
		{Path: "/hdr/socket.io" + hs, Header: http.Header{"Authorization": {"Bearer nope"}}, Status: 401, Prefix: `{"error":"bad token"}`},
		{Path: "/hdr/socket.io/" + hs, Status: 401, Prefix: `{"error":"bad token"}`},
		// Not a handshake: the bearer middleware does not run, the core refuses the unknown sid.
		{Path: "/hdr/socket.io/" + hs + "&sid=unknown", Status: 400, Prefix: `{"code":1,`},
		// Mounted at the root of a group: the group's path, with and without the slash.
		{Path: "/root/" + hs, Status: 200, Prefix: open},
		{Path: "/root" + hs, Status: 200, Prefix: open},
		{Path: "/api/public", Status: 200, Prefix: "public"},
		{Path: "/api/me", Header: alice, Status: 200, Prefix: "alice"},
		{Path: "/api/me", Status: 401, Prefix: `{"error":"login required"}`},
		{Path: "/nope", Status: 404},
	})
}

func TestBridge(t *testing.T) {
	a := newApp(t)
	alice := a.login(t, "alice")
	bob := a.login(t, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// gin recycles its Contexts: other requests served between the handshake
	// and the CONNECT (where io.Use runs) must not change what the socket sees.
	noise := func() {
		for i := range 20 {
			adaptertest.CheckRoutes(t, a.URL, []adaptertest.Route{{Path: "/api/me",
				Header: http.Header{"Cookie": {bob}, "X-Request-ID": {fmt.Sprint("noise-", i)}}, Status: 200, Prefix: "bob"}})
		}
	}
	got, err := (&adaptertest.Client{
		Endpoint:        a.URL + "/t/acme/rt/",
		Header:          http.Header{"Cookie": {alice}},
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

	_, err = (&adaptertest.Client{Endpoint: a.URL + "/socket.io/"}).Whoami(ctx)
	if ce := (*adaptertest.ConnectError)(nil); !errors.As(err, &ce) || ce.Message != "unauthorized" {
		t.Errorf("without a session: %v, want connect_error unauthorized", err)
	}
	_, err = (&adaptertest.Client{Endpoint: a.URL + "/socket.io/", Header: http.Header{"Cookie": {bob}}, Nsp: "/admin"}).Whoami(ctx)
	if ce := (*adaptertest.ConnectError)(nil); !errors.As(err, &ce) || ce.Message != "forbidden" {
		t.Errorf("bob in /admin: %v, want connect_error forbidden", err)
	}
	if got := fmt.Sprint(a.sio.Connected()); got != "[/ alice]" {
		t.Errorf("connected sockets %s, want [/ alice]", got)
	}
}

// TestNodeClients drives the official socket.io-client (Node) against the
// app over polling only, WebSocket only and the upgrade.
func TestNodeClients(t *testing.T) {
	a := newApp(t)
	alice := a.login(t, "alice")
	bob := a.login(t, "bob")
	cookie := func(c string) map[string]string { return map[string]string{"Cookie": c} }
	aliceRID := map[string]string{"Cookie": alice, "X-Request-ID": "alice-rid"}
	cases := []adaptertest.Case{
		{Name: "polling", Transports: []string{"polling"}, Headers: cookie(alice)},
		{Name: "websocket", Transports: []string{"websocket"}, Headers: cookie(alice)},
		{Name: "upgrade", WaitUpgrade: true, Headers: aliceRID,
			Noise: []adaptertest.Noise{{Path: "/api/me", Headers: map[string]string{"Cookie": bob, "X-Request-ID": "bob-rid"}, Times: 20}}},
		{Name: "admin", Nsp: "/admin", Transports: []string{"websocket"}, Headers: cookie(alice)},
		{Name: "bob-admin", Nsp: "/admin", Headers: cookie(bob)},
		{Name: "bob-tenant", Path: "/t/globex/rt", NoTrailingSlash: true, WaitUpgrade: true, Headers: cookie(bob)},
		{Name: "anonymous", Headers: map[string]string{}},
		{Name: "forged", Transports: []string{"websocket"}, Headers: cookie("app=forged")},
		{Name: "anonymous-tenant", Path: "/t/acme/rt/"},
		{Name: "anonymous-tenant-ws", Path: "/t/acme/rt/", Transports: []string{"websocket"}},
		// A browser sets Authorization on XHR but not on a WebSocket: the
		// handshake-only middleware lets the upgrade through.
		{Name: "bearer-browser", Path: "/hdr/socket.io", WaitUpgrade: true,
			PollingHeaders: map[string]string{"Authorization": "Bearer tok-carol"}},
		{Name: "bearer-bad", Path: "/hdr/socket.io", PollingHeaders: map[string]string{"Authorization": "Bearer tok-mallory"}},
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
	connected("polling", "alice", "polling")
	connected("websocket", "alice", "websocket")
	connected("upgrade", "alice", "websocket")
	if r := res["upgrade"]; fmt.Sprint(r.Whoami["extra"], r.Noise) != "map[requestID:alice-rid tenant:] [200]" {
		t.Errorf("upgrade: extra %v, noise %v: the snapshot must survive the reuse of gin's Context", r.Whoami["extra"], r.Noise)
	}
	connected("admin", "alice", "websocket")
	refused("bob-admin", "forbidden", 0)
	connected("bob-tenant", "bob", "websocket")
	if ex := fmt.Sprint(res["bob-tenant"].Whoami["extra"]); ex != "map[requestID: tenant:globex]" {
		t.Errorf("bob-tenant: extra %s", ex)
	}
	refused("anonymous", "unauthorized", 0)
	refused("forged", "unauthorized", 0)
	refused("anonymous-tenant", "xhr poll error", 401)
	refused("anonymous-tenant-ws", "websocket error", 0)
	connected("bearer-browser", "carol", "websocket")
	refused("bearer-bad", "xhr poll error", 401)

	got := strings.Join(a.sio.Connected(), ",")
	for _, s := range []string{"/ alice", "/ bob", "/ carol", "/admin alice"} {
		if !strings.Contains(got, s) {
			t.Errorf("connected sockets %s: missing %q", got, s)
		}
	}
	if strings.Contains(got, "/admin bob") || strings.Contains(got, "  ") || strings.HasSuffix(got, " ") {
		t.Errorf("connected sockets %s: a refused client got a socket", got)
	}
	if n := len(a.sio.Connected()); n != 6 {
		t.Errorf("%d sockets connected, want 6: %s", n, got)
	}
}
