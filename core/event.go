package core

import (
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/e347a4c2/socketio/core/parser"
)

// Args gives access to the arguments of an event or an acknowledgement.
// Arguments decode lazily: Bind or Arg decode into typed values (binary
// attachments into []byte), Values into plain Go values.
type Args struct {
	payload parser.Payload
	offset  int // 1 for events, whose first element is the name
}

// Len returns the number of arguments.
func (a Args) Len() int {
	if a.payload == nil {
		return 0
	}
	return a.payload.Len() - a.offset
}

// Arg decodes argument i into dst, as json.Unmarshal does. A binary
// attachment decodes into a []byte.
func (a Args) Arg(i int, dst any) error {
	if i < 0 || i >= a.Len() {
		return fmt.Errorf("socket.io: argument %d of %d: %w", i, a.Len(), parser.ErrIndexOutOfRange)
	}
	return a.payload.Decode(a.offset+i, dst)
}

// Bind decodes the arguments in order into dst, one pointer per argument.
// It is an error to ask for more arguments than were sent; fewer is fine.
func (a Args) Bind(dst ...any) error {
	for i, d := range dst {
		if err := a.Arg(i, d); err != nil {
			return err
		}
	}
	return nil
}

// Values returns the arguments as plain Go values: nil, bool, string,
// json.Number, []any, map[string]any, and []byte for binary attachments.
// Passing them to Emit sends them back unchanged (binary included).
func (a Args) Values() ([]any, error) {
	n := a.Len()
	vals := make([]any, n)
	for i := range n {
		v, err := a.payload.Value(a.offset + i)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

// Raw returns argument i as JSON text (binary attachments as base64
// strings).
func (a Args) Raw(i int) (json.RawMessage, error) {
	if i < 0 || i >= a.Len() {
		return nil, fmt.Errorf("socket.io: argument %d of %d: %w", i, a.Len(), parser.ErrIndexOutOfRange)
	}
	return a.payload.Raw(a.offset + i)
}

// Event is an event a client sent.
type Event struct {
	// Name is the event name.
	Name string
	Args
	socket *Socket
	id     uint64
	hasAck bool
	acked  atomic.Bool
	ack    parser.Packet // the acknowledgement, allocated with the event
}

func newEvent(s *Socket, p *parser.Packet) (*Event, error) {
	if p.Payload == nil || p.Payload.Len() == 0 {
		return nil, fmt.Errorf("socket.io: event without a name: %w", parser.ErrInvalidPacket)
	}
	var name string
	if err := p.Payload.Decode(0, &name); err != nil {
		// The reference accepts numeric event names.
		raw, rerr := p.Payload.Raw(0)
		if rerr != nil {
			return nil, err
		}
		name = string(raw)
	}
	return &Event{Name: name, Args: Args{payload: p.Payload, offset: 1}, socket: s, id: p.ID, hasAck: p.HasID}, nil
}

// Socket returns the socket the event came from.
func (e *Event) Socket() *Socket { return e.socket }

// WantsAck reports whether the client asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.hasAck }

// Ack acknowledges the event with args. It returns ErrNoAck if the client
// did not ask for an acknowledgement and ErrAckSent on a second call.
func (e *Event) Ack(args ...any) error {
	if !e.hasAck {
		return ErrNoAck
	}
	if !e.acked.CompareAndSwap(false, true) {
		return ErrAckSent
	}
	if args == nil {
		args = []any{}
	}
	s := e.socket
	e.ack = parser.Packet{Type: parser.Ack, Namespace: s.nsp.name, ID: e.id, HasID: true, Data: args}
	err := s.writePacket(&e.ack, false)
	e.ack.Data = nil // do not keep the arguments alive with the event
	return err
}

// Ack is a client's acknowledgement.
type Ack struct {
	// SocketID is the ID of the socket that answered.
	SocketID string
	Args
}

// On registers a handler that receives an event's first argument decoded
// into T. When the argument does not decode, the handler is not called and
// the error goes to the socket's OnError handlers.
func On[T any](s *Socket, event string, fn func(s *Socket, v T)) (remove func()) {
	return s.On(event, func(e *Event) {
		var v T
		if e.Len() > 0 {
			if err := e.Arg(0, &v); err != nil {
				s.emitError(fmt.Errorf("socket.io: event %q: %w", event, err))
				return
			}
		}
		fn(s, v)
	})
}

// OnAck registers a handler whose result acknowledges the event: the value
// it returns, or {"error": message} when it returns an error (the common
// convention of JavaScript callbacks). The argument decodes as with On.
func OnAck[T, R any](s *Socket, event string, fn func(s *Socket, v T) (R, error)) (remove func()) {
	return s.On(event, func(e *Event) {
		var v T
		if e.Len() > 0 {
			if err := e.Arg(0, &v); err != nil {
				s.emitError(fmt.Errorf("socket.io: event %q: %w", event, err))
				if e.WantsAck() {
					_ = e.Ack(map[string]any{"error": "invalid argument"})
				}
				return
			}
		}
		r, err := fn(s, v)
		if !e.WantsAck() {
			return
		}
		if err != nil {
			_ = e.Ack(map[string]any{"error": err.Error()})
			return
		}
		_ = e.Ack(r)
	})
}
