package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/parser"
)

// BroadcastOperator selects sockets of a namespace (by rooms, on this node
// or the whole cluster) and acts on them. It is a value: each method that
// narrows the selection returns a new operator and leaves the receiver as
// it was, so operators can be kept and reused.
type BroadcastOperator struct {
	nsp  *Namespace
	opts adapter.BroadcastOptions
}

// To adds rooms to the selection: sockets in any of the rooms are selected.
func (b BroadcastOperator) To(rooms ...Room) BroadcastOperator {
	b.opts.Rooms = append(slices.Clip(b.opts.Rooms), rooms...)
	return b
}

// In is To.
func (b BroadcastOperator) In(rooms ...Room) BroadcastOperator { return b.To(rooms...) }

// Except leaves out the sockets in rooms.
func (b BroadcastOperator) Except(rooms ...Room) BroadcastOperator {
	b.opts.Except = append(slices.Clip(b.opts.Except), rooms...)
	return b
}

// Local restricts the operation to the sockets of this node.
func (b BroadcastOperator) Local() BroadcastOperator {
	b.opts.Flags.Local = true
	return b
}

// Volatile drops the event for clients that cannot take it at once.
func (b BroadcastOperator) Volatile() BroadcastOperator {
	b.opts.Flags.Volatile = true
	return b
}

// Compress sets the compression flag.
func (b BroadcastOperator) Compress(on bool) BroadcastOperator {
	b.opts.Flags.Compress = on
	return b
}

// Timeout bounds the wait of EmitWithAck (when its context has no earlier
// deadline).
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator {
	b.opts.Flags.Timeout = d
	return b
}

// Emit sends an event to the selected sockets. The packet is encoded once
// for all of them.
func (b BroadcastOperator) Emit(event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	p := &parser.Packet{Type: parser.Event, Namespace: b.nsp.name, Data: eventData(event, args)}
	return b.nsp.adapter.Broadcast(context.Background(), p, &b.opts)
}

// Send emits a "message" event to the selected sockets.
func (b BroadcastOperator) Send(args ...any) error { return b.Emit("message", args...) }

// EmitWithAck sends an event to the selected sockets and waits until each
// has acknowledged it or ctx ends (or the operator's Timeout passes). On
// timeout it returns the acknowledgements that came, with an error
// wrapping ErrAckTimeout.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Ack, error) {
	if parser.IsReservedEvent(event) {
		return nil, ErrReservedEvent
	}
	if d := b.opts.Flags.Timeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	opts := b.opts
	if deadline, ok := ctx.Deadline(); ok {
		opts.Flags.Timeout = time.Until(deadline)
	}
	servers := 1
	if !opts.Flags.Local {
		n, err := b.nsp.adapter.ServerCount(ctx)
		if err != nil {
			return nil, err
		}
		servers = n
	}
	p := &parser.Packet{Type: parser.Event, Namespace: b.nsp.name, ID: b.nsp.nextAckID(), HasID: true,
		Data: eventData(event, args)}
	acks, err := collectAcks(ctx, newAckCollector(servers), func(ctx context.Context, h adapter.AckHandler) error {
		return b.nsp.adapter.BroadcastWithAck(ctx, p, &opts, h)
	})
	if err != nil {
		// As in the reference, forget the acknowledgements that did not
		// come: without a deadline they would stay pending for good, and
		// count against WithMaxPendingAcks.
		for _, s := range b.nsp.Sockets() {
			s.cancelAck(p.ID)
		}
	}
	return acks, err
}

// collectAcks starts an operation whose answers c collects, with start,
// and waits for them. The context start gets ends when the wait does; the
// adapter's AckHandler.Fail ends the wait early, with an error wrapping
// ErrAckTimeout and the adapter's.
func collectAcks(ctx context.Context, c *ackCollector, start func(context.Context, adapter.AckHandler) error) ([]Ack, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var failure atomic.Pointer[error]
	h := c.handler()
	h.Fail = func(err error) {
		if err == nil {
			err = errors.New("the adapter gave up waiting")
		}
		if failure.CompareAndSwap(nil, &err) {
			cancel()
		}
	}
	if err := start(ctx, h); err != nil {
		return nil, err
	}
	acks, err := c.wait(ctx)
	if err != nil && parent.Err() == nil {
		if f := failure.Load(); f != nil {
			err = fmt.Errorf("%w: %w", ErrAckTimeout, *f)
		}
	}
	return acks, err
}

// FetchSockets describes the selected sockets, on every node unless Local.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	details, err := b.nsp.adapter.FetchSockets(ctx, &b.opts)
	if err != nil {
		return nil, err
	}
	list := make([]*RemoteSocket, len(details))
	for i, d := range details {
		list[i] = &RemoteSocket{ID: d.ID, Handshake: d.Handshake, Rooms: d.Rooms, Data: d.Data, nsp: b.nsp}
	}
	return list, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (b BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...Room) error {
	return b.nsp.adapter.AddSockets(ctx, &b.opts, rooms)
}

// SocketsLeave makes the selected sockets leave rooms.
func (b BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...Room) error {
	return b.nsp.adapter.DelSockets(ctx, &b.opts, rooms)
}

// DisconnectSockets disconnects the selected sockets; with close, their
// whole connections.
func (b BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	return b.nsp.adapter.DisconnectSockets(ctx, &b.opts, close)
}

// RemoteSocket describes a socket that may be connected to another node of
// the cluster, as FetchSockets returns it. Its methods act on the socket
// wherever it is.
type RemoteSocket struct {
	ID        string
	Handshake *Handshake
	Rooms     []Room
	// Data is the socket's data; for a socket of another node, its decoded
	// JSON form.
	Data any
	nsp  *Namespace
}

func (r *RemoteSocket) operator() BroadcastOperator { return r.nsp.To(Room(r.ID)) }

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error {
	return r.operator().Emit(event, args...)
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...Room) error {
	return r.operator().SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(ctx context.Context, rooms ...Room) error {
	return r.operator().SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket; with close, its whole connection.
func (r *RemoteSocket) Disconnect(ctx context.Context, close bool) error {
	return r.operator().DisconnectSockets(ctx, close)
}

// Broadcast selects every socket of the namespace but this one.
func (s *Socket) Broadcast() BroadcastOperator { return s.nsp.Except(Room(s.id)) }

// To selects the sockets in rooms, except this one.
func (s *Socket) To(rooms ...Room) BroadcastOperator { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...Room) BroadcastOperator { return s.Broadcast().To(rooms...) }

// Except selects every socket of the namespace but this one and those in
// rooms.
func (s *Socket) Except(rooms ...Room) BroadcastOperator { return s.Broadcast().Except(rooms...) }
