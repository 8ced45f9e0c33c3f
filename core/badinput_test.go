package core

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/e347a4c2/socketio/internal/eiotest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// TestBadInput sends hostile packets through a connected client. Each
// case has its documented outcome: the connection is closed with "parse
// error" where the Socket.IO protocol is broken, otherwise the packet is
// dropped or ignored and the connection goes on. In every case a
// bystander client is unaffected, no handler panics, and no goroutine
// leaks (see TestMain).
func TestBadInput(t *testing.T) {
	text := eiotest.Text
	bin := func(b ...byte) eiotest.Packet { return eiotest.Bin(b) }
	ph := func(n int) string { return fmt.Sprintf(`{"_placeholder":true,"num":%d}`, n) }
	nested := func(depth int) string {
		return `2["deep",` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `]`
	}
	const (
		parseError = "parse error"
		survives   = "survives"
	)
	cases := []struct {
		name    string
		packets []eiotest.Packet
		want    string
		// check runs on survivors after the round trip; s is the client's
		// socket, ss the server's.
		check func(t *testing.T, c *siotest.Conn, s *siotest.Socket, ss *Socket)
	}{
		{name: "unknown packet type 7", packets: []eiotest.Packet{text(`7["x"]`)}, want: parseError},
		{name: "unknown packet type 9", packets: []eiotest.Packet{text(`9`)}, want: parseError},
		{name: "packet type not a digit", packets: []eiotest.Packet{text(`x`)}, want: parseError},
		{name: "empty message", packets: []eiotest.Packet{text(``)}, want: parseError},
		{name: "event payload is an object", packets: []eiotest.Packet{text(`2{"a":1}`)}, want: parseError},
		{name: "event payload is a string", packets: []eiotest.Packet{text(`2"x"`)}, want: parseError},
		{name: "event payload is an empty array", packets: []eiotest.Packet{text(`2[]`)}, want: parseError},
		{name: "event name is an object", packets: []eiotest.Packet{text(`2[{}]`)}, want: parseError},
		{name: "event without payload", packets: []eiotest.Packet{text(`2`)}, want: parseError},
		{name: "event with truncated JSON", packets: []eiotest.Packet{text(`2["x",{"a":`)}, want: parseError},
		{name: "event with trailing garbage", packets: []eiotest.Packet{text(`2["x"]]`)}, want: parseError},
		{name: "reserved event name", packets: []eiotest.Packet{text(`2["disconnect"]`)}, want: parseError},
		{name: "reserved event name escaped", packets: []eiotest.Packet{text(`2["\u0063onnect"]`)}, want: parseError},
		{name: "garbage ack id", packets: []eiotest.Packet{text(`2abc["x"]`)}, want: parseError},
		{name: "ack id too large", packets: []eiotest.Packet{text(`2123456789012345678901234["x"]`)}, want: parseError},
		{name: "ack id overflows uint64", packets: []eiotest.Packet{text(`218446744073709551616["x"]`)}, want: parseError},
		{name: "ack payload not an array", packets: []eiotest.Packet{text(`31{}`)}, want: parseError},
		{name: "ack id on CONNECT", packets: []eiotest.Packet{text(`0/a,12{}`)}, want: parseError},
		{name: "DISCONNECT with payload", packets: []eiotest.Packet{text(`1["x"]`)}, want: parseError},
		{name: "CONNECT payload not an object", packets: []eiotest.Packet{text(`0/a,"str"`)}, want: parseError},
		{name: "namespace with control character", packets: []eiotest.Packet{text("0/a\x01,")}, want: parseError},
		{name: "namespace not UTF-8", packets: []eiotest.Packet{text("0/\xff,")}, want: parseError},
		{name: "attachment count mismatch (text before the last attachment)",
			packets: []eiotest.Packet{text(`52-["x",` + ph(0) + `,` + ph(1) + `]`), bin(1), text(`2["y"]`)}, want: parseError},
		{name: "attachment count mismatch (one binary too many)",
			packets: []eiotest.Packet{text(`51-["x",` + ph(0) + `]`), bin(1), bin(2)}, want: parseError},
		{name: "absurd attachment count", packets: []eiotest.Packet{text(`5999999999999999999999999-["x"]`)}, want: parseError},
		{name: "attachment count above the limit", packets: []eiotest.Packet{text(`511-["x"]`)}, want: parseError},
		{name: "attachment count without dash", packets: []eiotest.Packet{text(`51["x"]`)}, want: parseError},
		{name: "placeholder out of range", packets: []eiotest.Packet{text(`51-["x",` + ph(1) + `]`)}, want: parseError},
		{name: "negative placeholder", packets: []eiotest.Packet{text(`51-["x",` + ph(-1) + `]`)}, want: parseError},
		{name: "placeholder num not a number", packets: []eiotest.Packet{text(`51-["x",{"_placeholder":true,"num":"0"}]`)}, want: parseError},
		{name: "binary frame without a binary packet", packets: []eiotest.Packet{bin(1, 2, 3)}, want: parseError},
		{name: "client sends CONNECT_ERROR for its namespace", packets: []eiotest.Packet{text(`4{"message":"x"}`)}, want: parseError},
		{name: "nesting beyond the limit", packets: []eiotest.Packet{text(nested(10000))}, want: parseError},

		{name: "event for a namespace never joined", packets: []eiotest.Packet{text(`2/never,["x"]`), text(`2/never,7["x"]`)}, want: survives},
		{name: "binary event for a namespace never joined", packets: []eiotest.Packet{text(`51-/never,["x",` + ph(0) + `]`), bin(1)}, want: survives},
		{name: "DISCONNECT for a namespace never joined", packets: []eiotest.Packet{text(`1/never,`)}, want: survives},
		{name: "CONNECT_ERROR for a namespace never joined", packets: []eiotest.Packet{text(`4/never,{"message":"x"}`)}, want: survives},
		{name: "ACK with unknown id", packets: []eiotest.Packet{text(`312345["x"]`), text(`3/never,1[]`), text(`61-0[` + ph(0) + `]`), bin(9)}, want: survives},
		{name: "duplicate CONNECT", packets: []eiotest.Packet{text(`0`), text(`0{"again":true}`)}, want: survives,
			check: func(t *testing.T, c *siotest.Conn, s *siotest.Socket, ss *Socket) {
				if p, err := c.NextUnrouted(expired()); err == nil {
					t.Fatalf("duplicate CONNECT answered: %q", p.Text)
				}
			}},
		{name: "numeric event name", packets: []eiotest.Packet{text(`2[42,"x"]`)}, want: survives,
			check: func(t *testing.T, c *siotest.Conn, s *siotest.Socket, ss *Socket) {
				nextEvent(t, s, "got 42")
			}},
		{name: "nesting at the limit", packets: []eiotest.Packet{text(nested(9999))}, want: survives,
			check: func(t *testing.T, c *siotest.Conn, s *siotest.Socket, ss *Socket) {
				ev := nextEvent(t, s, "deep ok")
				if ev.Args[0] != float64(1) {
					t.Fatalf("deep handler got %v arguments", ev.Args[0])
				}
			}},
		{name: "unknown Engine.IO packets are ignored", packets: []eiotest.Packet{eiotest.Control(eiotest.Noop, ""), eiotest.Control(eiotest.Pong, "x")}, want: survives},
	}

	for _, tr := range []siotest.Transport{siotest.Polling, siotest.WebSocket} {
		t.Run(tr.String(), func(t *testing.T) {
			e := newEnv(t)
			conns := make(chan *Socket, 4)
			reasons := make(chan DisconnectReason, 4)
			errs := make(chan error, 16)
			e.io.OnConnection(func(s *Socket) {
				installPing(s)
				s.OnError(func(err error) {
					var pe *HandlerPanicError
					if errors.As(err, &pe) {
						errs <- err
					}
				})
				s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
				s.On("42", func(*Event) { _ = s.Emit("got 42") })
				s.On("deep", func(ev *Event) {
					v, err := ev.Values()
					if err != nil {
						errs <- err
						return
					}
					_ = s.Emit("deep ok", len(v))
				})
				conns <- s
			})
			bystander := e.connect(siotest.WebSocket, "/", nil)
			recv(t, conns)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := e.dial(tr)
					s := join(t, c, "/", nil)
					ss := recv(t, conns)
					if err := c.WriteEngine(tc.packets...); err != nil {
						t.Fatal(err)
					}
					switch tc.want {
					case parseError:
						if r := recv(t, reasons); r != ReasonParseError {
							t.Fatalf("reason %q, want parse error", r)
						}
						if err := c.WaitClosed(ctxT(t)); err == nil {
							t.Fatal("the connection is still open")
						}
					case survives:
						roundTrip(t, s)
						if tc.check != nil {
							tc.check(t, c, s, ss)
						}
						if !ss.Connected() {
							t.Fatal("the socket disconnected")
						}
						_ = c.Close()
						if r := recv(t, reasons); r != ReasonTransportClose {
							t.Fatalf("reason %q after closing", r)
						}
					}
					roundTrip(t, bystander)
					select {
					case err := <-errs:
						t.Fatalf("handler error: %v", err)
					default:
					}
					eventually(t, "the socket's removal", func() bool { return len(e.io.Sockets()) == 1 })
				})
			}
		})
	}
}

// TestManyInvalidConnects sends 1,000 CONNECTs to namespaces that do not
// exist over one connection: each is refused, the connection survives,
// and nothing is kept for them.
func TestManyInvalidConnects(t *testing.T) {
	const n = 1000
	for _, tr := range []siotest.Transport{siotest.Polling, siotest.WebSocket} {
		t.Run(tr.String(), func(t *testing.T) {
			e := newEnv(t)
			serverSockets(e.io)
			c := e.dial(tr)
			s := join(t, c, "/", nil)
			var before runtime.MemStats
			runtime.GC()
			runtime.GC() // twice: sync.Pool caches survive one collection
			runtime.ReadMemStats(&before)
			for i := range n {
				if err := c.WriteText(fmt.Sprintf(`0/invalid-%d,{"pad":%q}`, i, strings.Repeat("x", 100))); err != nil {
					t.Fatal(err)
				}
			}
			ctx := ctxT(t)
			for i := range n {
				p, err := c.NextUnrouted(ctx)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				want := fmt.Sprintf(`4/invalid-%d,{"message":"Invalid namespace"}`, i)
				if p.Text != want {
					t.Fatalf("answer %d = %q, want %q", i, p.Text, want)
				}
			}
			roundTrip(t, s)
			runtime.GC()
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if len(e.io.Namespaces()) != 1 {
				t.Fatalf("%d namespaces", len(e.io.Namespaces()))
			}
			// Nothing is retained per refused CONNECT: the heap may not grow
			// by anything near n times a namespace's size (a namespace and
			// its adapter take about 1 KiB).
			grow := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("heap growth after %d refused CONNECTs: %d bytes", n, grow)
			if grow > 128<<10 {
				t.Fatalf("heap grew by %d bytes", grow)
			}
		})
	}
}
