package siotest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Socket is the client's side of one namespace of a [Conn]. Its methods
// are safe for concurrent use.
type Socket struct {
	c       *Conn
	nsp     string
	id      string
	connect any
	inbox   *inbox

	mu      sync.Mutex
	nextAck int64
	acks    map[uint64]chan *Packet
	gone    bool
	goneCh  chan struct{}
}

func newSocket(c *Conn, connect *Packet) *Socket {
	s := &Socket{c: c, nsp: connect.Namespace, connect: connect.Data, inbox: newInbox(),
		acks: make(map[uint64]chan *Packet), goneCh: make(chan struct{})}
	if m, ok := connect.Data.(map[string]any); ok {
		s.id, _ = m["sid"].(string)
	}
	return s
}

// ID returns the socket ID the server sent in its CONNECT packet.
func (s *Socket) ID() string { return s.id }

// ConnectData returns the data of the server's CONNECT packet, such as
// map[string]any{"sid": ..., "pid": ...}.
func (s *Socket) ConnectData() any { return s.connect }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() string { return s.nsp }

// Conn returns the socket's connection.
func (s *Socket) Conn() *Conn { return s.c }

// Disconnected is closed when the server disconnected the socket, the
// client left the namespace, or the connection ended.
func (s *Socket) Disconnected() <-chan struct{} { return s.goneCh }

func (s *Socket) markDisconnected() {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.gone = true
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	for _, ch := range acks {
		close(ch)
	}
	close(s.goneCh)
	s.inbox.close()
}

// Emit sends an event. Arguments are encoded by encoding/json, except
// []byte values inside []any and map[string]any (or at the top level),
// which are sent as binary attachments. It returns once the packet is
// queued.
func (s *Socket) Emit(event string, args ...any) error {
	return s.c.writePacket(TypeEvent, s.nsp, -1, append([]any{event}, args...))
}

// EmitWithAck sends an event asking for an acknowledgement and returns the
// acknowledgement's arguments.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]any, error) {
	ch := make(chan *Packet, 1)
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return nil, ErrDisconnected
	}
	id := s.nextAck
	s.nextAck++
	s.acks[uint64(id)] = ch
	s.mu.Unlock()
	if err := s.c.writePacket(TypeEvent, s.nsp, id, append([]any{event}, args...)); err != nil {
		return nil, err
	}
	select {
	case p, ok := <-ch:
		if !ok {
			return nil, ErrDisconnected
		}
		args, _ := p.Data.([]any)
		return args, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, uint64(id))
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

// deliverAck hands an ACK packet to the EmitWithAck waiting for it.
func (s *Socket) deliverAck(p *Packet) bool {
	s.mu.Lock()
	ch := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if ch == nil || !p.HasID {
		return false
	}
	ch <- p
	return true
}

// Ack answers the server's event id.
func (s *Socket) Ack(id uint64, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return s.c.writePacket(TypeAck, s.nsp, int64(id), args)
}

// Disconnect leaves the namespace (a DISCONNECT packet).
func (s *Socket) Disconnect() error {
	s.c.mu.Lock()
	if s.c.sockets[s.nsp] == s {
		delete(s.c.sockets, s.nsp)
	}
	s.c.mu.Unlock()
	err := s.c.writePacket(TypeDisconnect, s.nsp, -1, nil)
	s.markDisconnected()
	return err
}

// Next returns the next packet the server sent to the namespace: an EVENT
// (or BINARY_EVENT) or a DISCONNECT. Once the socket is disconnected and
// every packet was read, it returns ErrClosed.
func (s *Socket) Next(ctx context.Context) (*Packet, error) { return s.inbox.next(ctx) }

// Pending returns the number of packets received and not yet read.
func (s *Socket) Pending() int { return s.inbox.len() }

// NextEvent returns the next event; a DISCONNECT from the server makes it
// return ErrDisconnected.
func (s *Socket) NextEvent(ctx context.Context) (*Event, error) {
	p, err := s.Next(ctx)
	if err != nil {
		return nil, err
	}
	if p.Type == TypeDisconnect {
		return nil, ErrDisconnected
	}
	return s.event(p)
}

// WaitEvent returns the next event called name, dropping other events.
func (s *Socket) WaitEvent(ctx context.Context, name string) (*Event, error) {
	for {
		e, err := s.NextEvent(ctx)
		if err != nil {
			return nil, fmt.Errorf("siotest: waiting for %q: %w", name, err)
		}
		if e.Name == name {
			return e, nil
		}
	}
}

func (s *Socket) event(p *Packet) (*Event, error) {
	data, _ := p.Data.([]any)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: event without a name: %q", ErrMalformed, p.Text)
	}
	name, ok := data[0].(string)
	if !ok {
		name = fmt.Sprint(data[0])
	}
	return &Event{Name: name, Args: data[1:], ID: p.ID, HasAck: p.HasID, Packet: p, socket: s}, nil
}

// Event is an event the server sent.
type Event struct {
	Name string
	// Args are the arguments, decoded as in [Packet.Data].
	Args   []any
	ID     uint64
	HasAck bool
	Packet *Packet
	socket *Socket
}

// Ack answers the event; the server must have asked for it.
func (e *Event) Ack(args ...any) error {
	if !e.HasAck {
		return fmt.Errorf("siotest: event %q did not ask for an acknowledgement", e.Name)
	}
	return e.socket.Ack(e.ID, args...)
}

// Bind decodes argument i into dst through JSON ([]byte as base64).
func (e *Event) Bind(i int, dst any) error {
	if i >= len(e.Args) {
		return fmt.Errorf("siotest: event %q has %d arguments", e.Name, len(e.Args))
	}
	b, err := json.Marshal(e.Args[i])
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}
