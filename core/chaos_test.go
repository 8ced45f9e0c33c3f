package core

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/e347a4c2/socketio/internal/siotest"
)

// freezeProxy is a TCP proxy in front of a server whose freeze makes a
// client vanish as a network failure does: from then on nothing goes
// through, in either direction, and nothing is closed, so that the server
// gets neither data nor FIN nor RST and only its heartbeat can tell.
type freezeProxy struct {
	ln     net.Listener
	target string
	frozen chan struct{}
	once   sync.Once
	done   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, target: target, frozen: make(chan struct{}), done: make(chan struct{})}
	p.wg.Go(p.acceptLoop)
	t.Cleanup(p.close)
	return p
}

func (p *freezeProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *freezeProxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(s, c) })
		p.wg.Go(func() { p.pipe(c, s) })
	}
}

// pipe copies src to dst until the proxy freezes (then it holds both
// connections open, silent, until close) or a side closes.
func (p *freezeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			<-p.done
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}
			return
		}
	}
}

func (p *freezeProxy) freeze() { p.once.Do(func() { close(p.frozen) }) }

func (p *freezeProxy) close() {
	p.freeze()
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestChaos makes clients vanish (their network goes silent, nothing is
// closed) at awkward moments: with a long-poll pending, halfway through an
// upgrade, with an acknowledgement the server waits for, and while the
// server writes more than the socket buffers take. In each case the
// heartbeat closes the session ("ping timeout"), the socket's disconnect
// handler runs, what waited on the client fails rather than hangs, a
// bystander connection is unaffected, and no goroutine is left.
func TestChaos(t *testing.T) {
	baseline := goleak.IgnoreCurrent()
	io := NewServer(WithLogger(testLogger()),
		WithPingInterval(200*time.Millisecond), WithPingTimeout(2*time.Second),
		WithUpgradeTimeout(500*time.Millisecond), WithMaxBufferedPackets(1<<16))
	ts := httptest.NewServer(io)

	type victim struct {
		reason  chan DisconnectReason
		sockets chan *Socket
	}
	var mu sync.Mutex
	victims := map[string]*victim{}
	victimOf := func(name string) *victim {
		mu.Lock()
		defer mu.Unlock()
		v := victims[name]
		if v == nil {
			v = &victim{reason: make(chan DisconnectReason, 1), sockets: make(chan *Socket, 1)}
			victims[name] = v
		}
		return v
	}
	io.OnConnection(func(s *Socket) {
		installPing(s)
		name, _ := s.Handshake().Auth["case"].(string)
		v := victimOf(name)
		s.OnDisconnect(func(r DisconnectReason) { v.reason <- r })
		v.sockets <- s
	})

	bystanderConn, err := siotest.Dial(ctxT(t), ts.URL, &siotest.Options{Transport: siotest.WebSocket})
	if err != nil {
		t.Fatal(err)
	}
	bystander := join(t, bystanderConn, "/", map[string]any{"case": "bystander"})
	recv(t, victimOf("bystander").sockets)

	cases := []struct {
		name string
		tr   siotest.Transport
		// vanish makes the client vanish at the awkward moment; it returns
		// a check to run once the server has closed the session.
		vanish func(t *testing.T, c *siotest.Conn, s *siotest.Socket, ss *Socket, p *freezeProxy) func()
	}{
		{"mid-poll", siotest.Polling, func(t *testing.T, c *siotest.Conn, _ *siotest.Socket, _ *Socket, p *freezeProxy) func() {
			// The client's next GET is pending (siotest polls again at once).
			p.freeze()
			return nil
		}},
		{"mid-upgrade", siotest.Polling, func(t *testing.T, c *siotest.Conn, _ *siotest.Socket, ss *Socket, p *freezeProxy) func() {
			ws, err := c.Polling().Probe(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ws.Close() })
			p.freeze() // probed, never sends the upgrade packet
			return func() {
				if tr := ss.Transport(); tr != "polling" {
					t.Errorf("transport %q after an unfinished upgrade", tr)
				}
			}
		}},
		{"mid-ack", siotest.WebSocket, func(t *testing.T, _ *siotest.Conn, s *siotest.Socket, ss *Socket, p *freezeProxy) func() {
			res := make(chan error, 1)
			go func() {
				_, err := ss.EmitWithAck(context.Background(), "question")
				res <- err
			}()
			nextEvent(t, s, "question") // received, never answered
			p.freeze()
			return func() {
				if err := recv(t, res); !errors.Is(err, ErrDisconnected) {
					t.Errorf("EmitWithAck to a vanished client: %v", err)
				}
			}
		}},
		{"mid-write", siotest.WebSocket, func(t *testing.T, _ *siotest.Conn, _ *siotest.Socket, ss *Socket, p *freezeProxy) func() {
			p.freeze()
			big := strings.Repeat("x", 8<<10)
			for range 1000 { // 8 MB: more than the socket buffers take
				if err := ss.Emit("big", big); err != nil {
					break
				}
			}
			return nil
		}},
	}
	// The cases run at the same time, each waiting for the heartbeat, from
	// goroutines rather than with t.Parallel, which -parallel (GOMAXPROCS)
	// would serialize on small machines.
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) {
				p := newFreezeProxy(t, ts.Listener.Addr().String())
				c, err := siotest.Dial(ctxT(t), p.url(), &siotest.Options{Transport: tc.tr})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.Abort)
				s := join(t, c, "/", map[string]any{"case": tc.name})
				v := victimOf(tc.name)
				ss := recv(t, v.sockets)
				roundTrip(t, s)
				check := tc.vanish(t, c, s, ss, p)
				if r := recv(t, v.reason); r != ReasonPingTimeout {
					t.Fatalf("disconnected with %q, want %q", r, ReasonPingTimeout)
				}
				if check != nil {
					check()
				}
			})
		})
	}
	wg.Wait()
	// Only the bystander is left, and it is unaffected.
	eventually(t, "vanished sessions closed", func() bool { return io.Engine().SessionCount() == 1 })
	roundTrip(t, bystander)
	select {
	case r := <-victimOf("bystander").reason:
		t.Fatalf("bystander disconnected: %q", r)
	default:
	}
	bystanderConn.Abort()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := io.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	verifyNoLeak(t, baseline)
}
