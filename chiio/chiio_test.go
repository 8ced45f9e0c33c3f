package chiio_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/e347a4c2/socketio/chiio"
	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/adaptertest"
)

var secret = []byte("chiio-test-secret")

type user struct{ Name string }

type userKey struct{}

// sign returns a credential of name: "name.hmac".
func sign(name string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(name))
	return name + "." + hex.EncodeToString(m.Sum(nil))
}

func verify(cred string) (*user, bool) {
	name, _, ok := strings.Cut(cred, ".")
	if !ok || !hmac.Equal([]byte(sign(name)), []byte(cred)) {
		return nil, false
	}
	return &user{Name: name}, true
}

// currentUser is the app's middleware: it puts the user of a valid
// session cookie into the request's context.
func currentUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil {
			if u, ok := verify(c.Value); ok {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireUser answers 401 to requests without a user.
func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(userKey{}).(*user); !ok {
			http.Error(w, "login required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer authenticates an Authorization header, which a browser can send
// on XHR but not on a WebSocket.
func bearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := verify(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !ok {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

func identify(s *core.Socket) (string, error) {
	u, ok := chiio.Value[*user](s.Context(), userKey{})
	if !ok {
		return "", errors.New("no user")
	}
	return u.Name, nil
}

func extra(s *core.Socket) map[string]any {
	ctx := s.Context()
	return map[string]any{
		"tenant":    chi.URLParamFromCtx(ctx, "tenant"),
		"tenant2":   chiio.URLParam(ctx, "tenant"),
		"pattern":   chi.RouteContext(ctx).RoutePattern(),
		"requestID": middleware.GetReqID(ctx),
	}
}

type app struct {
	*httptest.Server
	sio *adaptertest.Server
}

// newApp starts a chi app with its own routes and Socket.IO mounted three
// times: at /socket.io, in the route /t/{tenant} (behind requireUser) at
// /rt, and in /hdr with a handshake-only bearer middleware.
func newApp(t *testing.T) *app {
	sio := adaptertest.NewServer(adaptertest.Options{Identify: identify, Extra: extra, Admins: []string{"alice"}})
	r := chi.NewRouter()
	r.Use(middleware.RequestID, currentUser)
	r.Get("/api/public", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, "public") })
	r.With(requireUser).Get("/api/me", func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, r.Context().Value(userKey{}).(*user).Name)
	})
	chiio.Mount(r, sio.IO)
	r.Route("/t/{tenant}", func(r chi.Router) {
		r.Use(requireUser)
		r.Get("/info", func(w http.ResponseWriter, r *http.Request) { _, _ = fmt.Fprint(w, chi.URLParam(r, "tenant")) })
		chiio.Mount(r, sio.IO, chiio.WithPath("/rt/"))
	})
	r.Route("/hdr", func(r chi.Router) {
		chiio.Mount(r, sio.IO, chiio.WithHandshakeMiddleware(bearer))
	})
	r.Route("/root", func(r chi.Router) { chiio.Mount(r, sio.IO, chiio.WithPath("/")) })
	return &app{Server: sio.Start(t, r), sio: sio}
}

func TestRoutes(t *testing.T) {
	a := newApp(t)
	alice := http.Header{"Cookie": {"session=" + sign("alice")}}
	hs, open := adaptertest.HandshakeQuery, adaptertest.OpenPrefix
	adaptertest.CheckRoutes(t, a.URL, []adaptertest.Route{
		{Path: "/socket.io/" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/socket.io" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/socket.io/" + hs, Status: 200, Prefix: open}, // no user: refused later, by io.Use
		{Path: "/t/acme/rt/" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/t/acme/rt" + hs, Header: alice, Status: 200, Prefix: open},
		{Path: "/t/acme/rt/" + hs, Status: 401, Prefix: "login required"},
		{Path: "/hdr/socket.io/" + hs, Header: http.Header{"Authorization": {"Bearer " + sign("carol")}}, Status: 200, Prefix: open},
		{Path: "/hdr/socket.io" + hs, Header: http.Header{"Authorization": {"Bearer carol.forged"}}, Status: 401, Prefix: "bad token"},
		{Path: "/hdr/socket.io/" + hs, Status: 401, Prefix: "bad token"},
		// Not a handshake: the bearer middleware does not run, the core refuses the unknown sid.
		{Path: "/hdr/socket.io/" + hs + "&sid=unknown", Status: 400, Prefix: `{"code":1,`},
		// Mounted at the root of a group: the group's path, with and without the slash.
		{Path: "/root/" + hs, Status: 200, Prefix: open},
		{Path: "/root" + hs, Status: 200, Prefix: open},
		{Path: "/api/public", Status: 200, Prefix: "public"},
		{Path: "/api/me", Header: alice, Status: 200, Prefix: "alice"},
		{Path: "/api/me", Status: 401, Prefix: "login required"},
		{Path: "/t/acme/info", Header: alice, Status: 200, Prefix: "acme"},
		{Path: "/nope", Status: 404},
	})
}

func TestBridge(t *testing.T) {
	a := newApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bob := http.Header{"Cookie": {"session=" + sign("bob")}}

	// chi recycles its routing contexts: other requests served between the
	// handshake and the CONNECT (where io.Use runs) must not change the URL
	// parameters the socket sees.
	noise := func() {
		for i := range 20 {
			h := bob.Clone()
			h.Set("X-Request-Id", fmt.Sprint("noise-", i))
			adaptertest.CheckRoutes(t, a.URL, []adaptertest.Route{{Path: "/t/globex/info", Header: h, Status: 200, Prefix: "globex"}})
		}
	}
	got, err := (&adaptertest.Client{
		Endpoint:        a.URL + "/t/acme/rt/",
		Header:          http.Header{"Cookie": {"session=" + sign("alice")}},
		HandshakeHeader: http.Header{"X-Request-Id": {"alice-1"}},
		LaterEndpoint:   a.URL + "/socket.io/",
		BeforeConnect:   noise,
	}).Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `map[extra:map[pattern:/t/{tenant}/rt/* requestID:alice-1 tenant:acme tenant2:acme] handler:alice middleware:alice nsp:/ transport:polling]`
	if fmt.Sprint(got) != want {
		t.Errorf("whoami = %v\nwant %s", got, want)
	}
	_, err = (&adaptertest.Client{Endpoint: a.URL + "/socket.io/"}).Whoami(ctx)
	if ce := (*adaptertest.ConnectError)(nil); !errors.As(err, &ce) || ce.Message != "unauthorized" {
		t.Errorf("without a user: %v, want connect_error unauthorized", err)
	}
	_, err = (&adaptertest.Client{Endpoint: a.URL + "/socket.io/", Header: bob, Nsp: "/admin"}).Whoami(ctx)
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
	cookie := func(name string) map[string]string { return map[string]string{"Cookie": "session=" + sign(name)} }
	cases := []adaptertest.Case{
		{Name: "polling", Transports: []string{"polling"}, Headers: cookie("alice")},
		{Name: "websocket", Transports: []string{"websocket"}, Headers: cookie("alice")},
		{Name: "upgrade", WaitUpgrade: true, Headers: cookie("alice")},
		{Name: "tenant", Path: "/t/acme/rt", NoTrailingSlash: true, WaitUpgrade: true,
			Headers: map[string]string{"Cookie": "session=" + sign("alice"), "X-Request-Id": "alice-rid"},
			Noise:   []adaptertest.Noise{{Path: "/t/globex/info", Headers: cookie("bob"), Times: 20}}},
		{Name: "tenant-websocket", Path: "/t/initech/rt/", Transports: []string{"websocket"}, Headers: cookie("bob")},
		{Name: "admin", Nsp: "/admin", Transports: []string{"polling"}, Headers: cookie("alice")},
		{Name: "bob-admin", Nsp: "/admin", Transports: []string{"websocket"}, Headers: cookie("bob")},
		{Name: "anonymous"},
		{Name: "forged", Transports: []string{"websocket"}, Headers: map[string]string{"Cookie": "session=alice.forged"}},
		{Name: "anonymous-tenant", Path: "/t/acme/rt"},
		{Name: "anonymous-tenant-ws", Path: "/t/acme/rt", Transports: []string{"websocket"}},
		// A browser sets Authorization on XHR but not on a WebSocket: the
		// handshake-only middleware lets the upgrade through.
		{Name: "bearer-browser", Path: "/hdr/socket.io", WaitUpgrade: true,
			PollingHeaders: map[string]string{"Authorization": "Bearer " + sign("carol")}},
		{Name: "bearer-bad", Path: "/hdr/socket.io", PollingHeaders: map[string]string{"Authorization": "Bearer carol.forged"}},
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
	connected("tenant", "alice", "websocket")
	if r := res["tenant"]; fmt.Sprint(r.Whoami["extra"], r.Noise) !=
		"map[pattern:/t/{tenant}/rt requestID:alice-rid tenant:acme tenant2:acme] [200]" {
		t.Errorf("tenant: extra %v, noise %v: the URL parameters must survive the reuse of chi's Context", r.Whoami["extra"], r.Noise)
	}
	connected("tenant-websocket", "bob", "websocket")
	if ex := res["tenant-websocket"].Whoami["extra"].(map[string]any); ex["tenant"] != "initech" {
		t.Errorf("tenant-websocket: extra %v", ex)
	}
	connected("admin", "alice", "polling")
	refused("bob-admin", "forbidden", 0)
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
	if n := len(a.sio.Connected()); n != 7 {
		t.Errorf("%d sockets connected, want 7: %s", n, got)
	}
}
