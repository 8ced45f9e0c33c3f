package core

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/eiotest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// TestDisconnectReasons produces each reason a socket can disconnect for
// and checks the OnDisconnecting and OnDisconnect handlers get it.
func TestDisconnectReasons(t *testing.T) {
	type tc struct {
		name string
		tr   siotest.Transport
		opts []Option
		// act makes the socket disconnect; c is the client connection, s the
		// server socket.
		act  func(t *testing.T, c *siotest.Conn, s *Socket)
		want DisconnectReason
	}
	cases := []tc{
		{name: "client namespace disconnect", tr: siotest.Polling, want: ReasonClientNamespaceDisconnect,
			act: func(t *testing.T, c *siotest.Conn, s *Socket) { _ = c.Socket("/").Disconnect() }},
		{name: "server namespace disconnect", tr: siotest.WebSocket, want: ReasonServerNamespaceDisconnect,
			act: func(t *testing.T, c *siotest.Conn, s *Socket) { s.Disconnect(false) }},
		{name: "parse error (Socket.IO)", tr: siotest.WebSocket, want: ReasonParseError,
			act: func(t *testing.T, c *siotest.Conn, s *Socket) { _ = c.WriteText(`2[`) }},
		{name: "parse error (Engine.IO, websocket)", tr: siotest.WebSocket, want: ReasonParseError,
			act: func(t *testing.T, c *siotest.Conn, s *Socket) { _ = c.WriteEngine(eiotest.Control('9', "")) }},
		{name: "parse error (Engine.IO, polling)", tr: siotest.Polling, want: ReasonParseError,
			act: func(t *testing.T, c *siotest.Conn, s *Socket) { _ = c.WriteEngine(eiotest.Control('9', "")) }},
		{name: "forced close", tr: siotest.Upgrade, want: ReasonForcedClose,
			// Only the engine closes with this reason; the core's API has no
			// way to, so reach the session.
			act: func(t *testing.T, c *siotest.Conn, s *Socket) { s.client.session.Close() }},
		{name: "ping timeout", tr: siotest.Polling, want: ReasonPingTimeout,
			opts: []Option{WithPingInterval(50 * time.Millisecond), WithPingTimeout(500 * time.Millisecond)},
			act:  func(t *testing.T, c *siotest.Conn, s *Socket) { c.SetNoPong(true) }},
		{name: "ping timeout", tr: siotest.WebSocket, want: ReasonPingTimeout,
			opts: []Option{WithPingInterval(50 * time.Millisecond), WithPingTimeout(500 * time.Millisecond)},
			act:  func(t *testing.T, c *siotest.Conn, s *Socket) { c.SetNoPong(true) }},
		{name: "transport error (overlapping polls)", tr: siotest.Polling, want: ReasonTransportError,
			act: func(t *testing.T, c *siotest.Conn, s *Socket) {
				// The client's own poll is pending (or about to be): a second
				// GET breaks the protocol.
				_, _ = c.Polling().PollRaw(ctxT(t))
			}},
		{name: "transport error (outgoing queue full)", tr: siotest.WebSocket, want: ReasonTransportError,
			opts: []Option{WithMaxBufferedPackets(4)},
			act: func(t *testing.T, c *siotest.Conn, s *Socket) {
				// Binary attachments fill the queue in one call.
				_ = s.Emit("big", []any{[]byte{1}, []byte{2}, []byte{3}, []byte{4}, []byte{5}})
			}},
	}
	for _, tr := range []siotest.Transport{siotest.Polling, siotest.WebSocket, siotest.Upgrade} {
		cases = append(cases,
			tc{name: "transport close (close packet)", tr: tr, want: ReasonTransportClose,
				act: func(t *testing.T, c *siotest.Conn, s *Socket) { _ = c.Close() }})
	}
	cases = append(cases, tc{name: "transport close (dropped)", tr: siotest.WebSocket, want: ReasonTransportClose,
		act: func(t *testing.T, c *siotest.Conn, s *Socket) { c.Abort() }})

	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.tr.String(), func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			ch := serverSockets(e.io)
			type got struct {
				phase  string
				reason DisconnectReason
				rooms  int
			}
			reasons := make(chan got, 2)
			e.io.OnConnection(func(s *Socket) {
				s.Join("room")
				s.OnDisconnecting(func(r DisconnectReason) { reasons <- got{"disconnecting", r, len(s.Rooms())} })
				s.OnDisconnect(func(r DisconnectReason) { reasons <- got{"disconnect", r, len(s.Rooms())} })
			})
			c := e.dial(tc.tr)
			join(t, c, "/", nil)
			s := recv(t, ch)
			tc.act(t, c, s)
			if g := recv(t, reasons); g != (got{"disconnecting", tc.want, 2}) {
				t.Fatalf("got %+v, want disconnecting %q with 2 rooms", g, tc.want)
			}
			if g := recv(t, reasons); g != (got{"disconnect", tc.want, 0}) {
				t.Fatalf("got %+v, want disconnect %q with no room", g, tc.want)
			}
			if s.Connected() {
				t.Fatal("Connected after the disconnection")
			}
			if cause := context.Cause(s.Context()); !errors.Is(cause, tc.want) {
				t.Fatalf("context cause = %v", cause)
			}
			if tc.want != ReasonClientNamespaceDisconnect && tc.want != ReasonServerNamespaceDisconnect {
				if err := c.WaitClosed(ctxT(t)); err == nil {
					t.Fatal("connection still open")
				}
			}
		})
	}
}

// TestConnectTimeout checks that a connection that joins no namespace in
// time is closed ("forced server close"), even while a middleware is still
// running, and that a connection that joined one is not.
func TestConnectTimeout(t *testing.T) {
	e := newEnv(t, WithConnectTimeout(100*time.Millisecond))
	causes := make(chan error, 1)
	e.io.Use(func(s *Socket) error {
		if s.Handshake().Auth["hang"] == true {
			<-s.Context().Done()
			causes <- context.Cause(s.Context())
			return errors.New("gave up")
		}
		return nil
	})
	connected := make(chan *Socket, 1)
	e.io.OnConnection(func(s *Socket) { connected <- s })

	idle := e.dial(siotest.WebSocket)
	if err := idle.WaitClosed(ctxT(t)); err == nil {
		t.Fatal("idle connection not closed")
	}
	idlePolling := e.dial(siotest.Polling)
	if err := idlePolling.WaitClosed(ctxT(t)); !errors.Is(err, siotest.ErrServerClose) {
		t.Fatalf("idle polling connection: %v", err)
	}

	hanging := e.dial(siotest.Polling)
	if err := hanging.WriteText(`0{"hang":true}`); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, causes); !errors.Is(err, ReasonForcedServerClose) {
		t.Fatalf("middleware saw cause %v", err)
	}
	if err := hanging.WaitClosed(ctxT(t)); err == nil {
		t.Fatal("connection with a hanging middleware not closed")
	}

	ok := e.dial(siotest.WebSocket)
	s := join(t, ok, "/", nil)
	recv(t, connected)
	// Leaving the namespace does not restart the timer.
	time.Sleep(200 * time.Millisecond)
	_ = s.Disconnect()
	time.Sleep(200 * time.Millisecond)
	select {
	case <-ok.Done():
		t.Fatalf("connection that joined a namespace closed: %v", ok.Err())
	default:
	}
	join(t, ok, "/", nil)
	noRecv(t, causes)
}

// TestDisconnectClose compares Disconnect(false), which leaves the
// connection and the client's other namespaces alone, with
// Disconnect(true), which disconnects them all and closes the connection.
func TestDisconnectClose(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		e := newEnv(t)
		type ev struct{ nsp, reason string }
		evs := make(chan ev, 8)
		socks := make(chan *Socket, 8)
		for _, name := range []string{"/", "/a", "/b"} {
			e.io.Of(name).OnConnection(func(s *Socket) {
				installPing(s)
				s.OnDisconnect(func(r DisconnectReason) { evs <- ev{s.Namespace().Name(), string(r)} })
				socks <- s
			})
		}
		c := e.dial(tr)
		root := join(t, c, "/", nil)
		sRoot := recv(t, socks)
		a := join(t, c, "/a", nil)
		sA := recv(t, socks)
		b := join(t, c, "/b", nil)
		recv(t, socks)

		sA.Disconnect(false)
		if got := recv(t, evs); got != (ev{"/a", "server namespace disconnect"}) {
			t.Fatalf("Disconnect(false): %+v", got)
		}
		if p, err := a.Next(ctxT(t)); err != nil || p.Type != siotest.TypeDisconnect || p.Text != "1/a," {
			t.Fatalf("client /a got %v, %v", p, err)
		}
		sA.Disconnect(false) // again: nothing happens
		roundTrip(t, root)
		roundTrip(t, b)
		noRecv(t, evs)
		if p, err := a.Next(expired()); !errors.Is(err, siotest.ErrClosed) {
			t.Fatalf("second Disconnect sent %v (%v)", p, err)
		}

		sRoot.Disconnect(true)
		var got []string
		for range 2 {
			g := recv(t, evs)
			got = append(got, g.nsp+" "+g.reason)
		}
		sort.Strings(got)
		if want := []string{"/ server namespace disconnect", "/b server namespace disconnect"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Disconnect(true): %q", got)
		}
		for _, s := range []*siotest.Socket{root, b} {
			p, err := s.Next(ctxT(t))
			if err != nil || p.Type != siotest.TypeDisconnect {
				t.Fatalf("client %s got %v, %v; want a DISCONNECT before the close", s.Namespace(), p, err)
			}
		}
		if err := c.WaitClosed(ctxT(t)); !errors.Is(err, siotest.ErrServerClose) && tr == siotest.Polling {
			t.Fatalf("connection: %v", err)
		}
	})
}

// TestShutdown checks that Shutdown disconnects every socket with "server
// shutting down", closes the connections, waits for the disconnect
// handlers, and refuses new connections.
func TestShutdown(t *testing.T) {
	io := NewServer(WithLogger(testLogger()))
	ts := newHTTPServer(t, io)
	release := make(chan struct{})
	var finished atomic.Int32
	reasons := make(chan DisconnectReason, 8)
	for _, n := range []*Namespace{io.Of("/"), io.Of("/x")} {
		n.OnConnection(func(s *Socket) {
			s.OnDisconnect(func(r DisconnectReason) {
				reasons <- r
				<-release
				finished.Add(1)
			})
		})
	}
	var conns []*siotest.Conn
	for i, tr := range siotest.Transports {
		c, err := siotest.Dial(ctxT(t), ts.URL, &siotest.Options{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Abort)
		join(t, c, "/", nil)
		if i == 0 {
			join(t, c, "/x", nil)
		}
		conns = append(conns, c)
	}
	done := make(chan error, 1)
	go func() { done <- io.Shutdown(context.Background()) }()
	for range 4 {
		if r := recv(t, reasons); r != ReasonServerShutdown {
			t.Fatalf("reason = %q", r)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v before the disconnect handlers did", err)
	default:
	}
	for _, c := range conns {
		if err := c.WaitClosed(ctxT(t)); err == nil {
			t.Fatal("connection still open")
		}
	}
	close(release)
	if err := recv(t, done); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if n := finished.Load(); n != 4 {
		t.Fatalf("%d handlers finished", n)
	}
	// New connections are refused.
	if _, err := siotest.Dial(ctxT(t), ts.URL, nil); err == nil {
		t.Fatal("polling handshake accepted after Shutdown")
	}
	if _, err := siotest.Dial(ctxT(t), ts.URL, &siotest.Options{Transport: siotest.WebSocket}); err == nil {
		t.Fatal("WebSocket handshake accepted after Shutdown")
	}
	if err := io.Shutdown(ctxT(t)); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
}

// TestShutdownContext checks that Shutdown returns when its context ends,
// even if a disconnect handler is stuck.
func TestShutdownContext(t *testing.T) {
	io := NewServer(WithLogger(testLogger()))
	ts := newHTTPServer(t, io)
	release := make(chan struct{})
	handlerDone := make(chan struct{})
	io.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(DisconnectReason) {
			<-release
			close(handlerDone)
		})
	})
	c, err := siotest.Dial(ctxT(t), ts.URL, &siotest.Options{Transport: siotest.WebSocket})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	join(t, c, "/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := io.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	close(release)
	recv(t, handlerDone)
}

// newHTTPServer serves h for a test that shuts its Socket.IO server down
// itself.
func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// TestDisconnectRace disconnects sockets from every side at once, to let
// the race detector look at the paths.
func TestDisconnectRace(t *testing.T) {
	// An aborted polling client that was between two polls is noticed by
	// the heartbeat only: keep it short.
	e := newEnv(t, WithPingInterval(100*time.Millisecond), WithPingTimeout(time.Second))
	ch := serverSockets(e.io)
	const n = 6
	for i := range n {
		c := e.dial(siotest.Transports[i%3])
		s := join(t, c, "/", nil)
		ss := recv(t, ch)
		go func() { _ = s.Emit("x", strings.Repeat("y", 100)) }()
		go func() { _ = ss.Emit("x") }()
		go func() { _, _ = ss.EmitWithAck(context.Background(), "x") }()
		go ss.Disconnect(i%2 == 0)
		go func() { _ = e.io.In(Room(ss.ID())).DisconnectSockets(context.Background(), true) }()
		go c.Abort()
	}
	eventually(t, "every socket gone", func() bool { return len(e.io.Sockets()) == 0 })
}
