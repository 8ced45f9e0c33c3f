package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/e347a4c2/socketio/core/engine"
)

// slowClientIP is the loopback address the slow consumer dials from, so
// that the server's listener can tell its connection apart (Linux routes
// all of 127.0.0.0/8 to the loopback interface).
const slowClientIP = "127.0.0.2"

// smallSendBufListener gives the slow consumer's server-side socket a small
// kernel send buffer, so that a few dozen messages fill it (by default the
// kernel lets it grow to megabytes). The connection stays a *net.TCPConn:
// the engine's non-blocking write path is the one under test.
type smallSendBufListener struct{ net.Listener }

func (l smallSendBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok && a.IP.String() == slowClientIP {
			_ = tc.SetWriteBuffer(4096)
		}
	}
	return c, nil
}

// rawWSClient is a minimal Socket.IO client over coder/websocket, cheap
// enough to run a thousand of in one test: it joins "/" and checks that the
// broadcasts it receives are numbered 0, 1, 2... with no gap.
type rawWSClient struct {
	conn     *websocket.Conn
	received atomic.Int64 // broadcasts received in order
	err      error        // set by the reader before done is closed
	done     chan struct{}
	end      int64 // the total announced by the "end" event
}

// dialRaw opens a WebSocket session and joins the main namespace.
func dialRaw(ctx context.Context, url string, hc *http.Client) (*rawWSClient, error) {
	u := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	fail := func(err error) (*rawWSClient, error) {
		_ = conn.CloseNow()
		return nil, err
	}
	if _, b, err := conn.Read(ctx); err != nil || !bytes.HasPrefix(b, []byte(`0{"sid":`)) {
		return fail(fmt.Errorf("open packet %q: %w", b, err))
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		return fail(err)
	}
	if _, b, err := conn.Read(ctx); err != nil || !bytes.HasPrefix(b, []byte(`40{"sid":`)) {
		return fail(fmt.Errorf("CONNECT answer %q: %w", b, err))
	}
	return &rawWSClient{conn: conn, done: make(chan struct{})}, nil
}

// readLoop reads until the "end" event or an error: each broadcast must be
// the next in sequence.
func (c *rawWSClient) readLoop() {
	defer close(c.done)
	const msg, end = `42["m",`, `42["end",`
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		switch {
		case len(b) == 1 && b[0] == '2': // an Engine.IO ping
			if err := c.conn.Write(context.Background(), websocket.MessageText, []byte("3")); err != nil {
				c.err = err
				return
			}
		case bytes.HasPrefix(b, []byte(msg)):
			n, _, _ := strings.Cut(string(b[len(msg):]), ",")
			if want := strconv.FormatInt(c.received.Load(), 10); n != want {
				c.err = fmt.Errorf("got broadcast %s, want %s", n, want)
				return
			}
			c.received.Add(1)
		case bytes.HasPrefix(b, []byte(end)):
			c.end, err = strconv.ParseInt(strings.TrimSuffix(string(b[len(end):]), "]"), 10, 64)
			if err != nil {
				c.err = fmt.Errorf("end event %q", b)
			}
			return
		default:
			c.err = fmt.Errorf("unexpected message %.40q", b)
			return
		}
	}
}

// TestSlowConsumer broadcasts to a room where one client never reads: its
// socket's kernel buffers fill, then its bounded queue, and the server
// disconnects it ("transport error") while every other client receives
// every broadcast, in order. The slow client's queue never exceeds the
// limit, and no goroutine outlives the test.
//
// With the race detector (several times slower) or -short, 100 other
// clients take part instead of 1,000.
func TestSlowConsumer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs a second loopback address (127.0.0.2)")
	}
	fast := 1000
	if raceEnabled || testing.Short() {
		fast = 100
	}
	const (
		limit   = 32        // WithMaxBufferedPackets
		window  = 8         // broadcasts the fast clients may lag behind
		minMsgs = 64        // broadcasts at least, slow client or not
		maxMsgs = 5000      // the slow client must have overflowed by then
		size    = 2 << 10   // payload bytes of each broadcast
		room    = Room("r") // everyone, the slow client included
	)
	baseline := goleak.IgnoreCurrent()

	io := NewServer(WithLogger(testLogger()), WithMaxBufferedPackets(limit))
	ts := httptest.NewUnstartedServer(io)
	ts.Listener = smallSendBufListener{ts.Listener}
	ts.Start()
	shutdown := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := io.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.Close()
	})
	t.Cleanup(shutdown)

	var joined atomic.Int64
	slowSession := make(chan *engine.Session, 1)
	slowReason := make(chan DisconnectReason, 1)
	io.OnConnection(func(s *Socket) {
		if strings.HasPrefix(s.Request().RemoteAddr, slowClientIP+":") {
			slowSession <- s.client.session
			s.OnDisconnect(func(r DisconnectReason) { slowReason <- r })
		}
		s.Join(room)
		joined.Add(1)
	})
	ctx := ctxT(t)

	// The slow client: a small receive buffer, set before connecting so
	// that the TCP window stays small; it reads the CONNECT answer, then
	// nothing more.
	slowDialer := &net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(slowClientIP)},
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	slowTransport := &http.Transport{DialContext: slowDialer.DialContext}
	defer slowTransport.CloseIdleConnections()
	slow, err := dialRaw(ctx, ts.URL, &http.Client{Transport: slowTransport})
	if err != nil {
		t.Skipf("cannot dial from %s: %v", slowClientIP, err)
	}
	defer func() { _ = slow.conn.CloseNow() }()

	clients := make([]*rawWSClient, 0, fast)
	defer func() {
		for _, c := range clients {
			_ = c.conn.CloseNow()
		}
	}()
	fastTransport := &http.Transport{MaxIdleConnsPerHost: 100}
	defer fastTransport.CloseIdleConnections()
	hc := &http.Client{Transport: fastTransport}
	for i := range fast {
		c, err := dialRaw(ctx, ts.URL, hc)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		clients = append(clients, c)
		go c.readLoop()
	}
	eventually(t, "every client in the room", func() bool { return joined.Load() == int64(fast+1) })
	ss := recv(t, slowSession)

	// Broadcast, keeping the fast clients at most window broadcasts behind
	// (so that only the slow client can fill its queue), until the slow
	// client is gone and at least minMsgs were sent.
	payload := strings.Repeat("x", size)
	var slowGone DisconnectReason
	sent := 0
	for ; sent < minMsgs || slowGone == ""; sent++ {
		if sent == maxMsgs {
			t.Fatalf("the slow client was not disconnected after %d broadcasts of %d bytes", sent, size)
		}
		for _, c := range clients {
			for c.received.Load() < int64(sent-window) {
				select {
				case <-c.done:
					t.Fatalf("a fast client stopped after %d broadcasts: %v", c.received.Load(), c.err)
				case <-ctx.Done():
					t.Fatalf("a fast client is stuck at %d of %d broadcasts", c.received.Load(), sent)
				case <-time.After(time.Millisecond):
				}
			}
		}
		if err := io.To(room).Emit("m", sent, payload); err != nil {
			t.Fatal(err)
		}
		if n := ss.Buffered(); n > limit {
			t.Fatalf("the slow client's queue holds %d frames, over the limit of %d", n, limit)
		}
		if slowGone == "" {
			select {
			case slowGone = <-slowReason:
				t.Logf("slow client disconnected after %d broadcasts (%d bytes each): %q", sent+1, size, slowGone)
			default:
			}
		}
	}
	if slowGone != ReasonTransportError {
		t.Fatalf("slow client disconnected with %q, want %q", slowGone, ReasonTransportError)
	}
	if err := io.To(room).Emit("end", sent); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		select {
		case <-c.done:
		case <-ctx.Done():
			t.Fatalf("client %d: no end event after %d broadcasts", i, c.received.Load())
		}
		if c.err != nil || c.end != int64(sent) || c.received.Load() != int64(sent) {
			t.Fatalf("client %d: received %d of %d broadcasts (end %d): %v", i, c.received.Load(), sent, c.end, c.err)
		}
	}
	// The slow client's connection was closed: once it reads again, it
	// finds the end of the stream, not the whole broadcast.
	got := 0
	for {
		_, _, err := slow.conn.Read(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the slow client's connection is still open")
			}
			break
		}
		got++
	}
	t.Logf("the slow client read %d of %d broadcasts before its connection closed", got, sent)
	if got >= sent {
		t.Fatalf("the slow client read %d messages of %d", got, sent)
	}

	for _, c := range clients {
		_ = c.conn.CloseNow()
	}
	_ = slow.conn.CloseNow()
	fastTransport.CloseIdleConnections()
	slowTransport.CloseIdleConnections()
	shutdown()
	verifyNoLeak(t, baseline)
}
