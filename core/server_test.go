package core

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// TestUpgradeMidConnection upgrades a long-polling connection to WebSocket
// while events flow both ways: OnUpgrade runs, Transport changes, and no
// event is lost or reordered.
func TestUpgradeMidConnection(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	upgrades := make(chan engine.Transport, 2)
	got := make(chan int, 100)
	e.io.OnConnection(func(s *Socket) {
		s.OnUpgrade(func(tr engine.Transport) { upgrades <- tr })
		On(s, "n", func(_ *Socket, n int) { got <- n })
	})
	c := e.dial(siotest.Polling)
	s := join(t, c, "/", nil)
	ss := recv(t, ch)
	if ss.Transport() != engine.Polling {
		t.Fatalf("Transport = %q", ss.Transport())
	}
	done := make(chan error, 1)
	go func() { done <- c.Upgrade(ctxT(t)) }()
	for i := range 50 {
		_ = s.Emit("n", i)
		_ = ss.Emit("n", i)
	}
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if tr := recv(t, upgrades); tr != engine.WebSocket {
		t.Fatalf("OnUpgrade(%q)", tr)
	}
	if ss.Transport() != engine.WebSocket || c.Transport() != "websocket" {
		t.Fatalf("Transport = %q, client %q", ss.Transport(), c.Transport())
	}
	for i := range 50 {
		if n := recv(t, got); n != i {
			t.Fatalf("server got %d, want %d", n, i)
		}
		if ev := nextEvent(t, s, "n"); ev.Args[0] != float64(i) {
			t.Fatalf("client got %v, want %d", ev.Args[0], i)
		}
	}
	roundTrip(t, s)
}

// TestClientFiles checks the serving of the browser client.
func TestClientFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"socket.io.js":     {Data: []byte("// client")},
		"socket.io.js.map": {Data: []byte("{}")},
	}
	e := newEnv(t, WithClientFiles(fsys))
	type answer struct {
		StatusCode int
		Header     http.Header
	}
	get := func(path string, h http.Header) answer {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, e.url+path, nil)
		maps.Copy(req.Header, h)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return answer{res.StatusCode, res.Header}
	}
	res := get("/socket.io/socket.io.js", nil)
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/javascript") || etag == "" {
		t.Fatalf("socket.io.js: %d %v", res.StatusCode, res.Header)
	}
	if res := get("/socket.io/socket.io.js", http.Header{"If-None-Match": {etag}}); res.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d", res.StatusCode)
	}
	if res := get("/socket.io/socket.io.js.map", nil); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("map: %d %v", res.StatusCode, res.Header)
	}
	if res := get("/socket.io/socket.io.min.js", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("missing client file: %d", res.StatusCode)
	}
	if res := get("/socket.io/other.js", nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("other file goes to the engine: %d", res.StatusCode)
	}
	// Engine.IO requests are not mistaken for files.
	join(t, e.dial(siotest.Polling), "/", nil)
	http.DefaultClient.CloseIdleConnections()
}

// TestServerAccessors covers the small accessors.
func TestServerAccessors(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	e.connect(siotest.WebSocket, "/", nil)
	s := recv(t, ch)
	nsp := e.io.Of("")
	if nsp.Name() != "/" || nsp.Server() != e.io || s.Namespace() != nsp || e.io.Of("chat").Name() != "/chat" {
		t.Fatal("Of, Name or Server")
	}
	if nsp.Socket(s.ID()) != s || nsp.Socket("nope") != nil {
		t.Fatal("Namespace.Socket")
	}
	if e.io.Engine() == nil || e.io.Engine().SessionCount() != 1 {
		t.Fatal("Engine")
	}
	if nsp.Adapter() == nil {
		t.Fatal("Adapter")
	}
	hs := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil)
	later := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling&sid=x", nil)
	if !IsHandshake(hs) || IsHandshake(later) {
		t.Fatal("IsHandshake")
	}
	for _, r := range []DisconnectReason{ReasonParseError, ReasonClientNamespaceDisconnect, ReasonServerNamespaceDisconnect} {
		if r.Recoverable() {
			t.Errorf("%q is recoverable", r)
		}
	}
	if !ReasonTransportClose.Recoverable() || ReasonPingTimeout.Error() != "socket.io: disconnected: ping timeout" {
		t.Error("Recoverable or Error")
	}
	if (&ConnectError{Message: "m"}).Error() != "m" {
		t.Error("ConnectError.Error")
	}
}
