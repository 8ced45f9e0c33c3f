package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/siotest"
)

// TestEmitBothWays sends events with several arguments, objects and binary
// both ways, on every transport.
func TestEmitBothWays(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		e := newEnv(t)
		got := make(chan []any, 4)
		e.io.OnConnection(func(s *Socket) {
			s.On("echo", func(ev *Event) {
				args, err := ev.Values()
				if err != nil {
					t.Errorf("Values: %v", err)
					return
				}
				got <- args
				if err := s.Emit("echo-back", args...); err != nil {
					t.Errorf("Emit: %v", err)
				}
			})
		})
		c := e.dial(tr)
		s := join(t, c, "/", nil)
		if s.ID() == "" {
			t.Fatal("CONNECT carried no sid")
		}
		if s.ID() == c.SID() {
			t.Fatal("the socket ID is the Engine.IO session ID")
		}
		bin := []byte{0, 1, 2, 255}
		sent := []any{1.5, "two", true, nil, map[string]any{"a": []any{1.0, "b"}},
			bin, map[string]any{"nested": []any{[]byte{9, 8}, map[string]any{"deep": []byte{7}}}}}
		if err := s.Emit("echo", sent...); err != nil {
			t.Fatal(err)
		}
		args := recv(t, got)
		if len(args) != len(sent) {
			t.Fatalf("server got %d args, want %d: %v", len(args), len(sent), args)
		}
		if b, ok := args[5].([]byte); !ok || !bytes.Equal(b, bin) {
			t.Fatalf("server got binary %#v", args[5])
		}
		ev := nextEvent(t, s, "echo-back")
		if ev.Packet.Type != siotest.TypeBinaryEvent || len(ev.Packet.Attachments) != 3 {
			t.Fatalf("echo-back sent as %v with %d attachments", ev.Packet.Type, len(ev.Packet.Attachments))
		}
		if !reflect.DeepEqual(ev.Args, sent) {
			t.Fatalf("echo-back = %#v, want %#v", ev.Args, sent)
		}
	})
}

// TestSendMessage checks Send, which emits "message".
func TestSendMessage(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	s := e.connect(siotest.WebSocket, "/", nil)
	ss := recv(t, ch)
	if err := ss.Send("hi", 2); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, s, "message")
	if !reflect.DeepEqual(ev.Args, []any{"hi", 2.0}) {
		t.Fatalf("message args = %v", ev.Args)
	}
	if err := e.io.Send("all"); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, s, "message")
	if err := ss.Volatile().Send("v"); err != nil {
		t.Fatal(err)
	}
}

// TestOrdering sends 1,000 events as fast as possible in each direction and
// checks they arrive in order.
func TestOrdering(t *testing.T) {
	const n = 1000
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		e := newEnv(t)
		ch := serverSockets(e.io)
		var mu sync.Mutex
		var got []int
		done := make(chan struct{})
		e.io.OnConnection(func(s *Socket) {
			On(s, "seq", func(_ *Socket, v int) {
				mu.Lock()
				got = append(got, v)
				if len(got) == n {
					close(done)
				}
				mu.Unlock()
			})
		})
		s := e.connect(tr, "/", nil)
		ss := recv(t, ch)
		for i := range n {
			if err := s.Emit("seq", i); err != nil {
				t.Fatal(err)
			}
		}
		recv(t, done)
		for i, v := range got {
			if v != i {
				t.Fatalf("server got %d at position %d", v, i)
			}
		}
		for i := range n {
			if err := ss.Emit("seq", i); err != nil {
				t.Fatalf("Emit %d: %v", i, err)
			}
		}
		for i := range n {
			ev := nextEvent(t, s, "seq")
			if ev.Args[0] != float64(i) {
				t.Fatalf("client got %v at position %d", ev.Args[0], i)
			}
		}
	})
}

// TestReservedEvents checks that every way of emitting refuses the
// reserved names.
func TestReservedEvents(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	e.connect(siotest.WebSocket, "/", nil)
	s := recv(t, ch)
	ctx := ctxT(t)
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		errs := map[string]error{
			"Socket.Emit":       s.Emit(name),
			"Socket.Volatile":   s.Volatile().Emit(name),
			"Server.Emit":       e.io.Emit(name),
			"To.Emit":           e.io.To("r").Emit(name),
			"Socket.Broadcast":  s.Broadcast().Emit(name),
			"Namespace.Emit":    e.io.Of("/").Emit(name),
			"ServerSideEmit":    e.io.ServerSideEmit(ctx, name),
			"ParentNamespace":   nil,
			"RemoteSocket.Emit": nil,
		}
		_, errs["Socket.EmitWithAck"] = s.EmitWithAck(ctx, name)
		_, errs["Server.EmitWithAck"] = e.io.EmitWithAck(ctx, name)
		_, errs["ServerSideEmitWithAck"] = e.io.Of("/").ServerSideEmitWithAck(ctx, name)
		rs, err := e.io.FetchSockets(ctx)
		if err != nil || len(rs) != 1 {
			t.Fatalf("FetchSockets = %v, %v", rs, err)
		}
		errs["RemoteSocket.Emit"] = rs[0].Emit(name)
		errs["ParentNamespace"] = e.io.OfFunc(func(string, map[string]any) bool { return false }).Emit(name)
		for what, err := range errs {
			if what == "ParentNamespace" {
				continue // no children: nothing is emitted, nothing checked
			}
			if !errors.Is(err, ErrReservedEvent) {
				t.Errorf("%s(%q) = %v, want ErrReservedEvent", what, name, err)
			}
		}
	}
}

// TestEmitToDisconnectedSocket checks ErrDisconnected.
func TestEmitToDisconnectedSocket(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	disc := make(chan DisconnectReason, 1)
	e.io.OnConnection(func(s *Socket) { s.OnDisconnect(func(r DisconnectReason) { disc <- r }) })
	c := e.dial(siotest.WebSocket)
	join(t, c, "/", nil)
	s := recv(t, ch)
	c.Abort()
	_ = recv(t, disc)
	if err := s.Emit("x"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Emit = %v, want ErrDisconnected", err)
	}
	if _, err := s.EmitWithAck(ctxT(t), "x"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("EmitWithAck = %v, want ErrDisconnected", err)
	}
	if err := s.Volatile().Emit("x"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Volatile().Emit = %v, want ErrDisconnected", err)
	}
}

// TestValuesRoundTrip checks that Values returns what the client sent, and
// that emitting the values sends the same thing back, binary included.
func TestValuesRoundTrip(t *testing.T) {
	e := newEnv(t)
	vals := make(chan []any, 1)
	e.io.OnConnection(func(s *Socket) {
		s.On("v", func(ev *Event) {
			v, err := ev.Values()
			if err != nil {
				t.Errorf("Values: %v", err)
			}
			vals <- v
			_ = ev.Ack(v...)
		})
	})
	s := e.connect(siotest.Polling, "/", nil)
	sent := []any{
		map[string]any{"n": json.Number("12345678901234567"), "s": "é\u2028<>&", "l": []any{}, "o": map[string]any{}},
		[]any{[]byte{}, []byte("x"), map[string]any{"b": []byte{1}}},
		-0.5, "", false,
	}
	back, err := s.EmitWithAck(ctxT(t), "v", sent...)
	if err != nil {
		t.Fatal(err)
	}
	v := recv(t, vals)
	if n, ok := v[0].(map[string]any)["n"].(json.Number); !ok || n.String() != "12345678901234567" {
		t.Errorf("number = %#v, want json.Number 12345678901234567", v[0].(map[string]any)["n"])
	}
	if b := v[1].([]any)[0]; !reflect.DeepEqual(b, []byte{}) {
		t.Errorf("empty attachment = %#v", b)
	}
	// The client decodes numbers as float64: compare the big one apart,
	// as text, on the wire.
	back[0].(map[string]any)["n"] = json.Number("12345678901234567")
	if !reflect.DeepEqual(back, sent) {
		t.Fatalf("acknowledged %#v, want %#v", back, sent)
	}
}

// TestEmitWithAckFromHandler checks that a handler may wait for the same
// client's acknowledgement without deadlocking, on every transport.
func TestEmitWithAckFromHandler(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr siotest.Transport) {
		e := newEnv(t)
		e.io.OnConnection(func(s *Socket) {
			s.On("ask", func(ev *Event) {
				ack, err := s.Timeout(waitTimeout).EmitWithAck(context.Background(), "question", "why?")
				if err != nil {
					_ = ev.Ack("error: " + err.Error())
					return
				}
				var answer string
				_ = ack.Bind(&answer)
				_ = ev.Ack("answer was " + answer)
			})
		})
		s := e.connect(tr, "/", nil)
		res := make(chan []any, 1)
		go func() {
			r, err := s.EmitWithAck(ctxT(t), "ask")
			if err != nil {
				t.Error(err)
			}
			res <- r
		}()
		q := nextEvent(t, s, "question")
		if !q.HasAck {
			t.Fatal("question asks for no acknowledgement")
		}
		if err := q.Ack("because"); err != nil {
			t.Fatal(err)
		}
		if r := recv(t, res); !reflect.DeepEqual(r, []any{"answer was because"}) {
			t.Fatalf("ask acknowledged with %v", r)
		}
	})
}

// TestEmitWithAckSingle covers a single socket's acknowledgements: the
// answer, a timeout, a disconnection while waiting.
func TestEmitWithAckSingle(t *testing.T) {
	e := newEnv(t, WithMaxPendingAcks(1000))
	ch := serverSockets(e.io)
	c := e.dial(siotest.WebSocket)
	s := join(t, c, "/", nil)
	ss := recv(t, ch)

	t.Run("answer", func(t *testing.T) {
		res := make(chan error, 1)
		var ack *Ack
		go func() {
			var err error
			ack, err = ss.EmitWithAck(ctxT(t), "q", 1, []byte{2})
			res <- err
		}()
		ev := nextEvent(t, s, "q")
		if !reflect.DeepEqual(ev.Args, []any{1.0, []byte{2}}) {
			t.Fatalf("args = %v", ev.Args)
		}
		if err := ev.Ack("a", []byte{3}, map[string]any{"k": 4}); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, res); err != nil {
			t.Fatal(err)
		}
		var a string
		var b []byte
		var m map[string]int
		if err := ack.Bind(&a, &b, &m); err != nil || a != "a" || !bytes.Equal(b, []byte{3}) || m["k"] != 4 {
			t.Fatalf("ack = %q %v %v, %v", a, b, m, err)
		}
		if ack.SocketID != ss.ID() || ack.Len() != 3 {
			t.Fatalf("ack socket %q, %d args", ack.SocketID, ack.Len())
		}
	})

	t.Run("timeout", func(t *testing.T) {
		_, err := ss.Timeout(20*time.Millisecond).EmitWithAck(context.Background(), "ignored")
		if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Timeout().EmitWithAck = %v, want ErrAckTimeout and DeadlineExceeded", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err = ss.EmitWithAck(ctx, "ignored")
		if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("EmitWithAck(deadline) = %v, want ErrAckTimeout and DeadlineExceeded", err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		_, err = ss.EmitWithAck(ctx, "ignored")
		if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.Canceled) {
			t.Fatalf("EmitWithAck(cancelled) = %v, want ErrAckTimeout and Canceled", err)
		}
		// An answer after the timeout is ignored.
		for range 3 {
			ev := nextEvent(t, s, "ignored")
			_ = ev.Ack("late")
		}
		roundTrip(t, s)
	})

	t.Run("disconnect", func(t *testing.T) {
		res := make(chan error, 1)
		go func() {
			_, err := ss.EmitWithAck(context.Background(), "never")
			res <- err
		}()
		nextEvent(t, s, "never")
		c.Abort()
		if err := recv(t, res); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("EmitWithAck = %v, want ErrDisconnected", err)
		}
	})
}

// TestMaxPendingAcks checks WithMaxPendingAcks.
func TestMaxPendingAcks(t *testing.T) {
	e := newEnv(t, WithMaxPendingAcks(2))
	ch := serverSockets(e.io)
	s := e.connect(siotest.WebSocket, "/", nil)
	ss := recv(t, ch)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := ss.EmitWithAck(ctx, "wait")
			errs <- err
		}()
	}
	first := nextEvent(t, s, "wait")
	nextEvent(t, s, "wait")
	if _, err := ss.EmitWithAck(ctx, "third"); !errors.Is(err, ErrTooManyAcks) {
		t.Fatalf("third EmitWithAck = %v, want ErrTooManyAcks", err)
	}
	// Once one is answered, there is room again.
	if err := first.Ack(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, errs); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := ss.EmitWithAck(ctx, "fourth")
		errs <- err
	}()
	fourth := nextEvent(t, s, "fourth")
	_ = fourth.Ack()
	if err := recv(t, errs); err != nil {
		t.Fatal(err)
	}
	// Broadcasts count too: the socket has one pending acknowledgement and
	// room for one more.
	go func() {
		_, err := e.io.Timeout(waitTimeout).EmitWithAck(ctx, "b")
		errs <- err
	}()
	_ = nextEvent(t, s, "b").Ack()
	if err := recv(t, errs); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := recv(t, errs); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("cancelled EmitWithAck = %v", err)
	}
}

// TestEventAck covers Event.Ack and WantsAck.
func TestEventAck(t *testing.T) {
	e := newEnv(t)
	results := make(chan []error, 2)
	e.io.OnConnection(func(s *Socket) {
		s.On("a", func(ev *Event) {
			r := []error{nil, ev.Ack("first"), ev.Ack("second")}
			if ev.WantsAck() {
				r[0] = errors.New("wants ack")
			}
			results <- r
		})
	})
	s := e.connect(siotest.WebSocket, "/", nil)
	res, err := s.EmitWithAck(ctxT(t), "a")
	if err != nil || !reflect.DeepEqual(res, []any{"first"}) {
		t.Fatalf("acknowledged with %v, %v", res, err)
	}
	r := recv(t, results)
	if r[0] == nil || r[1] != nil || !errors.Is(r[2], ErrAckSent) {
		t.Fatalf("with ack: WantsAck %v, Ack %v, second Ack %v", r[0], r[1], r[2])
	}
	if err := s.Emit("a"); err != nil {
		t.Fatal(err)
	}
	r = recv(t, results)
	if r[0] != nil || !errors.Is(r[1], ErrNoAck) || !errors.Is(r[2], ErrNoAck) {
		t.Fatalf("without ack: WantsAck %v, Ack %v, %v", r[0], r[1], r[2])
	}
}

// TestTypedHandlers covers On[T] and OnAck[T, R].
func TestTypedHandlers(t *testing.T) {
	type msg struct {
		Text string `json:"text"`
		N    int    `json:"n"`
	}
	e := newEnv(t)
	got := make(chan msg, 4)
	errs := make(chan error, 4)
	e.io.OnConnection(func(s *Socket) {
		installPing(s)
		s.OnError(func(err error) { errs <- err })
		On(s, "msg", func(s2 *Socket, m msg) {
			if s2 != s {
				t.Error("On passed another socket")
			}
			got <- m
		})
		OnAck(s, "double", func(_ *Socket, n int) (int, error) {
			if n < 0 {
				return 0, errors.New("negative")
			}
			return 2 * n, nil
		})
	})
	s := e.connect(siotest.WebSocket, "/", nil)
	ctx := ctxT(t)

	_ = s.Emit("msg", map[string]any{"text": "hi", "n": 3})
	if m := recv(t, got); m != (msg{"hi", 3}) {
		t.Fatalf("On got %+v", m)
	}
	_ = s.Emit("msg") // no argument: the zero value
	if m := recv(t, got); m != (msg{}) {
		t.Fatalf("On without argument got %+v", m)
	}
	_ = s.Emit("msg", "not an object")
	if err := recv(t, errs); err == nil {
		t.Fatal("decode failure reported no error")
	}
	roundTrip(t, s)
	noRecv(t, got)

	if r, err := s.EmitWithAck(ctx, "double", 21); err != nil || !reflect.DeepEqual(r, []any{42.0}) {
		t.Fatalf("double(21) = %v, %v", r, err)
	}
	if r, err := s.EmitWithAck(ctx, "double", -1); err != nil ||
		!reflect.DeepEqual(r, []any{map[string]any{"error": "negative"}}) {
		t.Fatalf("double(-1) = %v, %v", r, err)
	}
	r, err := s.EmitWithAck(ctx, "double", "x")
	if err != nil || !reflect.DeepEqual(r, []any{map[string]any{"error": "invalid argument"}}) {
		t.Fatalf("double(\"x\") = %v, %v", r, err)
	}
	if err := recv(t, errs); err == nil {
		t.Fatal("OnAck decode failure reported no error")
	}
	_ = s.Emit("double", 1) // without acknowledgement: nothing sent back
	roundTrip(t, s)
	if n := s.Pending(); n != 0 {
		t.Fatalf("%d unexpected packets", n)
	}
}

// TestHandlerPanic checks that a panicking handler reports a
// HandlerPanicError and the socket goes on.
func TestHandlerPanic(t *testing.T) {
	e := newEnv(t)
	errs := make(chan error, 1)
	e.io.OnConnection(func(s *Socket) {
		installPing(s)
		s.OnError(func(err error) { errs <- err })
		s.On("boom", func(*Event) { panic("boom") })
	})
	s := e.connect(siotest.WebSocket, "/", nil)
	_ = s.Emit("boom")
	var pe *HandlerPanicError
	if err := recv(t, errs); !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("error = %v", err)
	}
	roundTrip(t, s)
}

// TestBroadcastAckCleanup checks that a broadcast whose acknowledgements
// did not all come in time forgets the missing ones, as the reference
// does: they must not fill the sockets' pending acknowledgements (here
// limited to 2), with or without a deadline.
func TestBroadcastAckCleanup(t *testing.T) {
	e := newEnv(t, WithMaxPendingAcks(2))
	ch := serverSockets(e.io)
	s := e.connect(siotest.WebSocket, "/", nil)
	ss := recv(t, ch)
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() {
			_, err := e.io.EmitWithAck(ctx, "never answered")
			res <- err
		}()
		nextEvent(t, s, "never answered")
		cancel()
		if err := recv(t, res); !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.Canceled) {
			t.Fatalf("broadcast %d: %v", i, err)
		}
		_, err := e.io.Timeout(10*time.Millisecond).EmitWithAck(context.Background(), "never answered")
		if !errors.Is(err, ErrAckTimeout) {
			t.Fatalf("broadcast %d with timeout: %v", i, err)
		}
		nextEvent(t, s, "never answered")
	}
	res := make(chan error, 1)
	go func() {
		_, err := ss.EmitWithAck(ctxT(t), "answered")
		res <- err
	}()
	if ev, err := s.NextEvent(ctxT(t)); err == nil {
		_ = ev.Ack()
	}
	if err := recv(t, res); err != nil {
		t.Fatalf("EmitWithAck after unanswered broadcasts: %v", err)
	}
}

// TestReconnectRightAfterServerDisconnect has the client join the
// namespace again as soon as the server's DISCONNECT arrives: the new
// CONNECT must not be taken for a duplicate of the old socket's.
func TestReconnectRightAfterServerDisconnect(t *testing.T) {
	e := newEnv(t)
	ch := serverSockets(e.io)
	c := e.dial(siotest.WebSocket)
	for i := range 200 {
		s := join(t, c, "/", nil)
		ss := recv(t, ch)
		go ss.Disconnect(false)
		if p, err := s.Next(ctxT(t)); err != nil || p.Type != siotest.TypeDisconnect {
			t.Fatalf("round %d: %v, %v", i, p, err)
		}
	}
}
