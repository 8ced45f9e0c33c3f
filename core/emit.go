package core

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/parser"
)

// Emitter sends events to one socket with flags; see [Socket.Volatile],
// [Socket.Compress] and [Socket.Timeout]. The zero value is not usable.
type Emitter struct {
	s        *Socket
	volatile bool
	compress bool
	timeout  time.Duration
}

// Volatile returns an emitter whose events are dropped if the client
// cannot take them at once (a WebSocket busy writing, a long-poll between
// two requests), rather than queued.
func (s *Socket) Volatile() Emitter { return Emitter{s: s, volatile: true, compress: true} }

// Compress returns an emitter with the compression flag set to on.
func (s *Socket) Compress(on bool) Emitter { return Emitter{s: s, compress: on} }

// Timeout returns an emitter whose EmitWithAck waits at most d (when its
// context has no earlier deadline).
func (s *Socket) Timeout(d time.Duration) Emitter { return Emitter{s: s, compress: true, timeout: d} }

// Volatile sets the volatile flag.
func (e Emitter) Volatile() Emitter { e.volatile = true; return e }

// Compress sets the compression flag.
func (e Emitter) Compress(on bool) Emitter { e.compress = on; return e }

// Timeout sets the acknowledgement timeout.
func (e Emitter) Timeout(d time.Duration) Emitter { e.timeout = d; return e }

// Emit sends an event with arguments to the socket's client. Arguments
// are anything encoding/json can encode; []byte values at the top level
// or inside []any and map[string]any are sent as binary attachments.
// Emit does not wait for the network. With connection-state recovery (see
// [WithConnectionStateRecovery]), an event emitted to a socket that has
// disconnected for a reason that allows recovery is kept, not refused: its
// client gets it if it recovers the session.
func (s *Socket) Emit(event string, args ...any) error {
	return Emitter{s: s, compress: true}.Emit(event, args...)
}

// Send emits a "message" event.
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitWithAck sends an event and waits for the client's acknowledgement,
// until ctx ends (then the error wraps ErrAckTimeout and ctx's error).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (*Ack, error) {
	return Emitter{s: s, compress: true}.EmitWithAck(ctx, event, args...)
}

// Emit sends an event with the emitter's flags.
func (e Emitter) Emit(event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	s := e.s
	if s.nsp.keepsSessions && !e.volatile {
		if !s.keepsEmits() {
			return ErrDisconnected
		}
		// As in the reference, through the adapter to the socket's own room,
		// which numbers and keeps the packet for connection-state recovery
		// (and calls the outgoing listeners). The socket is on this node.
		p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Data: eventData(event, args)}
		opts := adapter.BroadcastOptions{Rooms: []Room{Room(s.id)}, Flags: adapter.Flags{Local: true, Compress: e.compress}}
		return s.nsp.adapter.Broadcast(context.Background(), p, &opts)
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	data := eventData(event, args)
	s.notifyOutgoing(data)
	return s.writePacket(&parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Data: data}, e.volatile)
}

// keepsEmits reports whether an event emitted to the socket reaches its
// client, at once or, with connection-state recovery, once the client
// recovers its session: the socket is connected, or it was and
// disconnected for a reason that allows recovery.
func (s *Socket) keepsEmits() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == socketConnected || s.joined && s.reason.Recoverable()
}

// Send emits a "message" event with the emitter's flags.
func (e Emitter) Send(args ...any) error { return e.Emit("message", args...) }

// EmitWithAck sends an event with the emitter's flags and waits for the
// acknowledgement.
func (e Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (*Ack, error) {
	if parser.IsReservedEvent(event) {
		return nil, ErrReservedEvent
	}
	s := e.s
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	id := s.nsp.nextAckID()
	type result struct {
		p   parser.Payload
		err error
	}
	ch := make(chan result, 1)
	deadline, _ := ctx.Deadline()
	if err := s.expectAck(id, deadline, func(p parser.Payload, err error) { ch <- result{p, err} }); err != nil {
		return nil, err
	}
	data := eventData(event, args)
	s.notifyOutgoing(data)
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, ID: id, HasID: true, Data: data}
	if err := s.writePacket(p, e.volatile); err != nil {
		s.cancelAck(id)
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		return &Ack{SocketID: s.id, Args: Args{payload: r.p}}, nil
	case <-ctx.Done():
		s.cancelAck(id)
		return nil, fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
	}
}

func eventData(event string, args []any) []any {
	data := make([]any, 1+len(args))
	data[0] = event
	copy(data[1:], args)
	return data
}

// ackCollector gathers the acknowledgements of a broadcast.
type ackCollector struct {
	mu       sync.Mutex
	servers  int // answers still expected from adapters' Expect calls
	expected int
	acks     []Ack
	done     chan struct{}
	closed   bool
}

func newAckCollector(servers int) *ackCollector {
	return &ackCollector{servers: servers, done: make(chan struct{})}
}

func (c *ackCollector) handler() adapter.AckHandler {
	return adapter.AckHandler{
		Expect: func(n int) {
			c.mu.Lock()
			c.servers--
			c.expected += n
			c.checkLocked()
			c.mu.Unlock()
		},
		Ack: func(id string, args parser.Payload) {
			c.mu.Lock()
			c.acks = append(c.acks, Ack{SocketID: id, Args: Args{payload: args}})
			c.checkLocked()
			c.mu.Unlock()
		},
	}
}

func (c *ackCollector) checkLocked() {
	if !c.closed && c.servers <= 0 && len(c.acks) >= c.expected {
		c.closed = true
		close(c.done)
	}
}

// wait returns the acknowledgements once all have come, or those that came
// and an error wrapping ErrAckTimeout when ctx ends first.
func (c *ackCollector) wait(ctx context.Context) ([]Ack, error) {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.acks, nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		c.closed = true
		return append([]Ack(nil), c.acks...), fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
	}
}
