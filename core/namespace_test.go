package core

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/siotest"
)

// TestSeveralNamespacesOneConnection joins and leaves several namespaces
// over one connection.
func TestSeveralNamespacesOneConnection(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		e := newEnv(t)
		type disc struct {
			nsp    string
			reason DisconnectReason
		}
		discs := make(chan disc, 8)
		for _, name := range []string{"/", "/a", "/b"} {
			e.io.Of(name).OnConnection(func(s *Socket) {
				s.On("who", func(ev *Event) { _ = ev.Ack(s.Namespace().Name(), s.ID()) })
				s.OnDisconnect(func(r DisconnectReason) { discs <- disc{s.Namespace().Name(), r} })
			})
		}
		c := e.dial(tr)
		root := join(t, c, "/", nil)
		a := join(t, c, "/a", nil)
		b := join(t, c, "/b", map[string]any{"x": 1})
		ids := map[string]bool{}
		for _, s := range []*siotest.Socket{root, a, b} {
			r, err := s.EmitWithAck(ctxT(t), "who")
			if err != nil {
				t.Fatal(err)
			}
			if r[0] != s.Namespace() || r[1] != s.ID() {
				t.Fatalf("socket of %s answered %v (id %s)", s.Namespace(), r, s.ID())
			}
			ids[s.ID()] = true
		}
		if len(ids) != 3 {
			t.Fatalf("socket IDs are not distinct: %v", ids)
		}

		// Leaving /a keeps the others.
		if err := a.Disconnect(); err != nil {
			t.Fatal(err)
		}
		if d := recv(t, discs); d != (disc{"/a", ReasonClientNamespaceDisconnect}) {
			t.Fatalf("disconnect = %+v", d)
		}
		if _, err := b.EmitWithAck(ctxT(t), "who"); err != nil {
			t.Fatal(err)
		}
		// Joining /a again gives a new socket.
		a2 := join(t, c, "/a", nil)
		if a2.ID() == a.ID() {
			t.Fatal("rejoining /a reused the socket ID")
		}
		if _, err := a2.EmitWithAck(ctxT(t), "who"); err != nil {
			t.Fatal(err)
		}
		// Closing the connection disconnects the three sockets.
		_ = c.Close()
		got := map[string]DisconnectReason{}
		for range 3 {
			d := recv(t, discs)
			got[d.nsp] = d.reason
		}
		want := map[string]DisconnectReason{"/": ReasonTransportClose, "/a": ReasonTransportClose, "/b": ReasonTransportClose}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("disconnect reasons = %v, want %v", got, want)
		}
	})
}

// TestNamespaceWithoutTrailingComma sends CONNECT and DISCONNECT packets
// whose namespace runs to the end of the packet.
func TestNamespaceWithoutTrailingComma(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io.Of("/chat"))
	disc := make(chan DisconnectReason, 1)
	e.io.Of("/chat").OnConnection(func(s *Socket) { s.OnDisconnect(func(r DisconnectReason) { disc <- r }) })
	c := e.dial(siotest.WebSocket)
	if err := c.WriteText("0/chat"); err != nil {
		t.Fatal(err)
	}
	p, err := c.NextUnrouted(ctxT(t)) // nobody waits: the raw CONNECT answer is unrouted
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != siotest.TypeConnect || p.Namespace != "/chat" {
		t.Fatalf("answer = %q", p.Text)
	}
	s := recv(t, ch)
	if m, _ := p.Data.(map[string]any); m["sid"] != s.ID() {
		t.Fatalf("CONNECT answer %q, socket %s", p.Text, s.ID())
	}
	if err := c.WriteText("1/chat"); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, disc); r != ReasonClientNamespaceDisconnect {
		t.Fatalf("reason = %q", r)
	}
}

// TestUnknownNamespace checks the refusal of a namespace that does not
// exist; the connection survives it.
func TestUnknownNamespace(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		e := newEnv(t)
		c := e.dial(tr)
		_, err := c.Connect(ctxT(t), "/nope", nil)
		var ce *siotest.ConnectError
		if !errors.As(err, &ce) || ce.Message != "Invalid namespace" || ce.Data != nil {
			t.Fatalf("Connect(/nope) = %v", err)
		}
		if ce.Packet.Text != `4/nope,{"message":"Invalid namespace"}` {
			t.Fatalf("CONNECT_ERROR packet = %q", ce.Packet.Text)
		}
		join(t, c, "/", nil)
		if n := len(e.io.Namespaces()); n != 1 {
			t.Fatalf("%d namespaces, want 1", n)
		}
	})
}

// TestDynamicNamespaces covers OfRegexp and OfFunc: parent middleware and
// handlers apply to the children, the children's own handlers, OnNamespace,
// ParentNamespace.Emit and Children.
func TestDynamicNamespaces(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var log []string
	record := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	created := make(chan string, 8)
	e.io.OnNamespace(func(n *Namespace) { created <- n.Name() })

	parent := e.io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	parent.Use(func(s *Socket) error {
		record("parent mw " + s.Namespace().Name())
		if s.Handshake().Auth["deny"] == true {
			return &ConnectError{Message: "denied by parent", Data: map[string]any{"why": "auth"}}
		}
		return nil
	})
	conns := make(chan *Socket, 8)
	parent.OnConnection(func(s *Socket) {
		record("parent conn " + s.Namespace().Name())
		installPing(s)
		s.On("where", func(ev *Event) { _ = ev.Ack(s.Namespace().Name()) })
		conns <- s
	})
	byAuth := e.io.OfFunc(func(name string, auth map[string]any) bool {
		return strings.HasPrefix(name, "/team-") && auth["team"] == strings.TrimPrefix(name, "/team-")
	})
	byAuth.OnConnection(func(s *Socket) { installPing(s); conns <- s })

	c := e.dial(siotest.WebSocket)
	d1 := join(t, c, "/dyn-1", nil)
	s1 := recv(t, conns)
	if got := recv(t, created); got != "/dyn-1" {
		t.Fatalf("OnNamespace got %q", got)
	}
	// The child's own middleware and handlers run after the parent's.
	child := s1.Namespace()
	if child.Name() != "/dyn-1" || e.io.Of("/dyn-1") != child {
		t.Fatalf("child namespace %q is not Of(/dyn-1)", child.Name())
	}
	child.Use(func(s *Socket) error { record("child mw " + s.Namespace().Name()); return nil })
	child.OnConnection(func(s *Socket) { record("child conn " + s.Namespace().Name()) })
	d1b := join(t, e.dial(siotest.Polling), "/dyn-1", nil)
	recv(t, conns)
	d2 := join(t, c, "/dyn-2", nil)
	recv(t, conns)
	recv(t, created)

	mu.Lock()
	want := []string{"parent mw /dyn-1", "parent conn /dyn-1",
		"parent mw /dyn-1", "child mw /dyn-1", "parent conn /dyn-1", "child conn /dyn-1",
		"parent mw /dyn-2", "parent conn /dyn-2"}
	if !reflect.DeepEqual(log, want) {
		t.Fatalf("order = %q\nwant    %q", log, want)
	}
	mu.Unlock()

	if r, err := d2.EmitWithAck(ctxT(t), "where"); err != nil || r[0] != "/dyn-2" {
		t.Fatalf("where = %v, %v", r, err)
	}
	names := func(list []*Namespace) []string {
		var s []string
		for _, n := range list {
			s = append(s, n.Name())
		}
		slices.Sort(s)
		return s
	}
	if got := names(parent.Children()); !reflect.DeepEqual(got, []string{"/dyn-1", "/dyn-2"}) {
		t.Fatalf("Children = %v", got)
	}

	// ParentNamespace.Emit reaches every child's sockets.
	if err := parent.Emit("hello", "all"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*siotest.Socket{d1, d1b, d2} {
		if ev := nextEvent(t, s, "hello"); ev.Args[0] != "all" {
			t.Fatalf("hello args = %v", ev.Args)
		}
	}

	// Parent middleware refusal with data.
	_, err := c.Connect(ctxT(t), "/dyn-3", map[string]any{"deny": true})
	var ce *siotest.ConnectError
	if !errors.As(err, &ce) || ce.Message != "denied by parent" || !reflect.DeepEqual(ce.Data, map[string]any{"why": "auth"}) {
		t.Fatalf("Connect(/dyn-3) = %v", err)
	}
	recv(t, created) // the child exists, as in the reference, even if refused
	// Names the parents do not match are refused.
	for _, name := range []string{"/dyn-x", "/dyn-1/sub", "/team-red"} {
		if _, err := c.Connect(ctxT(t), name, map[string]any{"team": "blue"}); !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Fatalf("Connect(%s) = %v", name, err)
		}
	}
	// OfFunc sees the auth payload.
	join(t, c, "/team-red", map[string]any{"team": "red"})
	recv(t, conns)
	if got := names(byAuth.Children()); !reflect.DeepEqual(got, []string{"/team-red"}) {
		t.Fatalf("byAuth.Children = %v", got)
	}
	// A static namespace takes precedence over the parents.
	static := serverSockets(e.io.Of("/dyn-9"))
	recv(t, created)
	join(t, c, "/dyn-9", nil)
	recv(t, static)
	noRecv(t, conns)
	if len(parent.Children()) != 3 { // dyn-1, dyn-2, dyn-3
		t.Fatalf("Children = %v", names(parent.Children()))
	}
}

// TestCleanupEmptyChildNamespaces checks that a child namespace goes away
// with its last socket when WithCleanupEmptyChildNamespaces is set, and
// stays otherwise.
func TestCleanupEmptyChildNamespaces(t *testing.T) {
	for _, cleanup := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[cleanup], func(t *testing.T) {
			e := newEnv(t, WithCleanupEmptyChildNamespaces(cleanup))
			parent := e.io.OfRegexp(regexp.MustCompile(`^/room-`))
			disc := make(chan struct{}, 4)
			parent.OnConnection(func(s *Socket) { s.OnDisconnect(func(DisconnectReason) { disc <- struct{}{} }) })
			c := e.dial(siotest.WebSocket)
			a := join(t, c, "/room-1", nil)
			b := join(t, e.dial(siotest.WebSocket), "/room-1", nil)
			first := e.io.Of("/room-1")
			_ = a.Disconnect()
			recv(t, disc)
			if len(parent.Children()) != 1 {
				t.Fatal("the child went away while it still had a socket")
			}
			_ = b.Disconnect()
			recv(t, disc)
			if cleanup {
				eventually(t, "child removal", func() bool { return len(parent.Children()) == 0 })
				for _, n := range e.io.Namespaces() {
					if n.Name() == "/room-1" {
						t.Fatal("the server still lists the removed child")
					}
				}
			} else if len(parent.Children()) != 1 {
				t.Fatal("the child went away without WithCleanupEmptyChildNamespaces")
			}
			// Joining again works, with a new child when the old one is gone.
			join(t, c, "/room-1", nil)
			again := parent.Children()
			if len(again) != 1 || (again[0] == first) == cleanup {
				t.Fatalf("after rejoining: %d children, same as before: %v", len(again), again[0] == first)
			}
		})
	}
}

// TestMiddleware covers the order of connection middleware, refusals with
// a plain error and with a *ConnectError, and Server.Use applying to the
// main namespace only.
func TestMiddleware(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var order []string
	step := func(name string) Middleware {
		return func(s *Socket) error {
			mu.Lock()
			order = append(order, name+" "+s.Namespace().Name())
			mu.Unlock()
			switch s.Handshake().Auth["refuse"] {
			case name + "-plain":
				return errors.New("plain refusal")
			case name + "-data":
				return &ConnectError{Message: "refused with data", Data: map[string]any{"code": 42.0, "list": []any{"a"}}}
			}
			return nil
		}
	}
	e.io.Use(step("m1"))
	e.io.Use(step("m2"))
	e.io.Of("/").Use(step("m3"))
	chat := e.io.Of("/chat")
	chat.Use(step("c1"))
	conns := make(chan *Socket, 4)
	discs := make(chan DisconnectReason, 4)
	for _, n := range []*Namespace{e.io.Of("/"), chat} {
		n.OnConnection(func(s *Socket) {
			s.OnDisconnect(func(r DisconnectReason) { discs <- r })
			conns <- s
		})
	}
	takeOrder := func() []string {
		mu.Lock()
		defer mu.Unlock()
		o := order
		order = nil
		return o
	}
	c := e.dial(siotest.WebSocket)

	join(t, c, "/", nil)
	recv(t, conns)
	if o := takeOrder(); !reflect.DeepEqual(o, []string{"m1 /", "m2 /", "m3 /"}) {
		t.Fatalf("order = %q", o)
	}
	join(t, c, "/chat", nil)
	recv(t, conns)
	if o := takeOrder(); !reflect.DeepEqual(o, []string{"c1 /chat"}) {
		t.Fatalf("Server.Use applied to /chat: %q", o)
	}

	for _, tc := range []struct {
		nsp, refuse, message string
		data                 any
		ran                  []string
	}{
		{"/", "m1-plain", "plain refusal", nil, []string{"m1 /"}},
		{"/", "m2-data", "refused with data", map[string]any{"code": 42.0, "list": []any{"a"}}, []string{"m1 /", "m2 /"}},
		{"/chat", "c1-data", "refused with data", map[string]any{"code": 42.0, "list": []any{"a"}}, []string{"c1 /chat"}},
	} {
		c2 := e.dial(siotest.Polling)
		_, err := c2.Connect(ctxT(t), tc.nsp, map[string]any{"refuse": tc.refuse})
		var ce *siotest.ConnectError
		if !errors.As(err, &ce) || ce.Message != tc.message || !reflect.DeepEqual(ce.Data, tc.data) {
			t.Fatalf("%s: Connect = %v (data %v)", tc.refuse, err, ce)
		}
		if o := takeOrder(); !reflect.DeepEqual(o, tc.ran) {
			t.Fatalf("%s: ran %q, want %q", tc.refuse, o, tc.ran)
		}
		// The connection survives the refusal and may join another namespace.
		join(t, c2, map[string]string{"/": "/chat", "/chat": "/"}[tc.nsp], nil)
		recv(t, conns)
		takeOrder()
		_ = c2.Close()
		_ = recv(t, discs)
	}
	if n := len(e.io.Sockets()); n != 1 {
		t.Fatalf("%d sockets in /, want 1 (refused sockets must not be listed)", n)
	}
	noRecv(t, conns)
	noRecv(t, discs)
}

// TestMiddlewareBlocksEvents checks that a slow middleware delays the
// socket's events (queued in order behind it), and other clients are not
// held up.
func TestMiddlewareBlocksEvents(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.io.Use(func(s *Socket) error {
		if s.Handshake().Auth["slow"] == true {
			<-release
		}
		return nil
	})
	got := make(chan string, 4)
	e.io.OnConnection(func(s *Socket) {
		installPing(s)
		s.On("e", func(ev *Event) {
			var v string
			_ = ev.Bind(&v)
			got <- v
		})
	})
	slow := e.dial(siotest.WebSocket)
	if err := slow.WriteText(`0{"slow":true}`); err != nil {
		t.Fatal(err)
	}
	if err := slow.WriteText(`2["e","queued"]`); err != nil {
		t.Fatal(err)
	}
	fast := e.connect(siotest.WebSocket, "/", nil)
	_ = fast.Emit("e", "fast")
	if v := recv(t, got); v != "fast" {
		t.Fatalf("got %q", v)
	}
	close(release)
	if v := recv(t, got); v != "queued" {
		t.Fatalf("got %q", v)
	}
}

// TestHandshake checks the Handshake fields and Request.
func TestHandshake(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	for _, tr := range []siotest.Transport{siotest.Polling, siotest.WebSocket} {
		t.Run(tr.String(), func(t *testing.T) {
			before := time.Now()
			c := e.dialOpts(&siotest.Options{
				Transport: tr,
				Header:    http.Header{"X-Custom": {"v1"}, "Origin": {e.url}},
				Query:     map[string][]string{"token": {"abc"}, "multi": {"1", "2"}},
			})
			join(t, c, "/", map[string]any{"user": "u1", "n": 2})
			s := recv(t, ch)
			h := s.Handshake()
			if h.Headers.Get("X-Custom") != "v1" {
				t.Errorf("Headers = %v", h.Headers)
			}
			if h.Query.Get("token") != "abc" || !reflect.DeepEqual(h.Query["multi"], []string{"1", "2"}) ||
				h.Query.Get("EIO") != "4" || h.Query.Get("transport") != tr.String() {
				t.Errorf("Query = %v", h.Query)
			}
			if !reflect.DeepEqual(h.Auth, map[string]any{"user": "u1", "n": 2.0}) {
				t.Errorf("Auth = %#v", h.Auth)
			}
			if h.Address != "127.0.0.1" {
				t.Errorf("Address = %q", h.Address)
			}
			if !h.XDomain || h.Secure {
				t.Errorf("XDomain %v, Secure %v", h.XDomain, h.Secure)
			}
			if !strings.HasPrefix(h.URL, "/socket.io/?") || !strings.Contains(h.URL, "token=abc") {
				t.Errorf("URL = %q", h.URL)
			}
			if h.Time.Before(before.Add(-time.Second)) || h.Time.After(time.Now()) {
				t.Errorf("Time = %v, connected after %v", h.Time, before)
			}
			if s.Handshake() != h {
				t.Error("Handshake is rebuilt on each call")
			}
			r := s.Request()
			if r.Header.Get("X-Custom") != "v1" || r.URL.Query().Get("token") != "abc" || r.Method != http.MethodGet {
				t.Errorf("Request = %s %s %v", r.Method, r.URL, r.Header)
			}
			if s.Transport() != "polling" && tr == siotest.Polling || s.Transport() != "websocket" && tr == siotest.WebSocket {
				t.Errorf("Transport = %q", s.Transport())
			}
			// No Origin, no auth.
			c2 := e.dial(tr)
			join(t, c2, "/", nil)
			h2 := recv(t, ch).Handshake()
			if h2.XDomain || h2.Auth == nil || len(h2.Auth) != 0 {
				t.Errorf("without Origin and auth: XDomain %v, Auth %#v", h2.XDomain, h2.Auth)
			}
		})
	}
}

type ctxKey struct{}

// TestSocketContext checks that the socket's context carries the values of
// the handshake request's context and is cancelled with the disconnect
// reason as its cause.
func TestSocketContext(t *testing.T) {
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "from-middleware")))
		})
	}
	e := newEnvHandler(t, wrap)
	ch := serverSockets(e.io)
	type result struct {
		err, cause error
		done       bool
	}
	results := make(chan result, 2)
	e.io.OnConnection(func(s *Socket) {
		s.OnDisconnecting(func(DisconnectReason) {
			results <- result{s.Context().Err(), context.Cause(s.Context()), false}
		})
		s.OnDisconnect(func(DisconnectReason) {
			select {
			case <-s.Context().Done():
				results <- result{s.Context().Err(), context.Cause(s.Context()), true}
			default:
				results <- result{}
			}
		})
	})
	for _, tr := range []siotest.Transport{siotest.Polling, siotest.WebSocket} {
		c := e.dial(tr)
		cs := join(t, c, "/", nil)
		s := recv(t, ch)
		if v := s.Context().Value(ctxKey{}); v != "from-middleware" {
			t.Fatalf("%v: context value = %v", tr, v)
		}
		if s.Context().Err() != nil {
			t.Fatalf("%v: context already done", tr)
		}
		// The handshake request has ended long ago: the context must not
		// end with it.
		roundTrip(t, cs)
		if s.Context().Err() != nil {
			t.Fatalf("%v: context ended with the handshake request", tr)
		}
		_ = cs.Disconnect()
		if r := recv(t, results); !errors.Is(r.cause, ReasonClientNamespaceDisconnect) {
			t.Fatalf("%v: context cause in OnDisconnecting: %v", tr, r.cause)
		}
		r := recv(t, results)
		if !r.done || !errors.Is(r.err, context.Canceled) || !errors.Is(r.cause, ReasonClientNamespaceDisconnect) {
			t.Fatalf("%v: in OnDisconnect: done %v, err %v, cause %v", tr, r.done, r.err, r.cause)
		}
		var reason DisconnectReason
		if !errors.As(r.cause, &reason) || reason.Recoverable() {
			t.Fatalf("%v: cause %v is not a non-recoverable DisconnectReason", tr, r.cause)
		}
	}
}

// TestContextUnblocksHandler checks that a handler blocked on the socket's
// context returns as soon as the client leaves, and the disconnect
// handlers then run.
func TestContextUnblocksHandler(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	causes := make(chan error, 2)
	e.io.OnConnection(func(s *Socket) {
		s.On("block", func(*Event) {
			close(started)
			<-s.Context().Done()
			causes <- context.Cause(s.Context())
		})
		s.OnDisconnect(func(r DisconnectReason) { causes <- r })
	})
	c := e.dial(siotest.Polling)
	cs := join(t, c, "/", nil)
	_ = cs.Emit("block")
	recv(t, started)
	_ = c.Close()
	if err := recv(t, causes); !errors.Is(err, ReasonTransportClose) {
		t.Fatalf("blocked handler saw %v", err)
	}
	if err := recv(t, causes); !errors.Is(err, ReasonTransportClose) {
		t.Fatalf("OnDisconnect got %v", err)
	}
}

// TestSocketData covers Data and SetData, and their report by FetchSockets.
func TestSocketData(t *testing.T) {
	e := newEnv(t)
	e.io.Use(func(s *Socket) error {
		s.SetData(map[string]any{"user": s.Handshake().Auth["user"]})
		return nil
	})
	ch := serverSockets(e.io)
	e.connect(siotest.WebSocket, "/", map[string]any{"user": "ann"})
	s := recv(t, ch)
	if d := s.Data(); !reflect.DeepEqual(d, map[string]any{"user": "ann"}) {
		t.Fatalf("Data = %v", d)
	}
	s.SetData(42)
	rs, err := e.io.FetchSockets(ctxT(t))
	if err != nil || len(rs) != 1 || rs[0].Data != 42 {
		t.Fatalf("FetchSockets = %v, %v", rs, err)
	}
}

// TestMaxNamespaces checks WithMaxNamespaces.
func TestMaxNamespaces(t *testing.T) {
	e := newEnv(t, WithMaxNamespaces(2))
	for _, n := range []string{"/a", "/b", "/c"} {
		e.io.Of(n)
	}
	c := e.dial(siotest.WebSocket)
	join(t, c, "/", nil)
	a := join(t, c, "/a", nil)
	_, err := c.Connect(ctxT(t), "/b", nil)
	var ce *siotest.ConnectError
	if !errors.As(err, &ce) || ce.Message != "Too many namespaces" {
		t.Fatalf("third namespace: %v", err)
	}
	// Leaving one makes room.
	_ = a.Disconnect()
	eventually(t, "leaving /a", func() bool { return len(e.io.Of("/a").Sockets()) == 0 })
	join(t, c, "/b", nil)
	// Other connections have their own count.
	join(t, e.dial(siotest.Polling), "/c", nil)
}

// TestConnectAnswerFirst connects clients while the server broadcasts
// without pause: the CONNECT answer must be the first packet a client gets
// in the namespace, as in the reference (broadcast events must not
// overtake it).
func TestConnectAnswerFirst(t *testing.T) {
	e := newEnv(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				_ = e.io.Emit("spam")
				time.Sleep(20 * time.Microsecond) // a flood would overflow the clients' queues
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 300 {
		c := e.dial(siotest.WebSocket)
		join(t, c, "/", nil)
		if p, err := c.NextUnrouted(expired()); err == nil {
			t.Fatalf("connection %d: %q arrived before the CONNECT answer", i, p.Text)
		}
		_ = c.Close()
	}
}
