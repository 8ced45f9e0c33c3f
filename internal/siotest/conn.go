// Package siotest is a small Socket.IO v5 client for tests, built on the
// Engine.IO test client [eiotest].
//
// A [Conn] is one Engine.IO connection (long-polling, WebSocket, or
// long-polling upgraded to WebSocket); [Conn.Connect] joins a namespace
// over it and returns a [Socket], which emits events (with or without an
// acknowledgement, with binary attachments) and receives the server's
// events in order. Every layer can be bypassed for hostile-input tests:
// [Conn.WriteText], [Conn.WriteBinary] and [Conn.WriteEngine] send raw
// packets, and packets the client cannot route (a CONNECT_ERROR nobody
// waits for, an event for a namespace it has not joined) are kept for
// [Conn.NextUnrouted].
//
// The codec is written here from the protocol, independently of the
// server's parser package, so that the two check each other. Writes are
// queued and sent in order by one goroutine (long-polling batches what is
// queued into one POST, as real clients do); pings are answered unless
// [Options.NoPong] is set.
package siotest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// Transport selects how a [Conn] reaches the server.
type Transport int

// The transports.
const (
	// Polling uses HTTP long-polling only.
	Polling Transport = iota
	// WebSocket opens the connection over WebSocket.
	WebSocket
	// Upgrade opens the connection by long-polling and upgrades it to
	// WebSocket before Dial returns.
	Upgrade
)

// String returns the transport's name.
func (t Transport) String() string {
	switch t {
	case Polling:
		return "polling"
	case WebSocket:
		return "websocket"
	case Upgrade:
		return "upgrade"
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// Transports lists every transport, for table-driven tests.
var Transports = []Transport{Polling, WebSocket, Upgrade}

// Options configure [Dial]. The zero value connects by long-polling to
// /socket.io/.
type Options struct {
	Transport Transport
	// Path is the endpoint's path (default "/socket.io/").
	Path string
	// Header is added to every HTTP request, the handshake included.
	Header http.Header
	// Query is added to every request's query.
	Query url.Values
	// NoPong leaves the server's pings unanswered.
	NoPong bool
}

// Errors of the client.
var (
	// ErrClosed is returned once the connection has ended.
	ErrClosed = errors.New("siotest: connection closed")
	// ErrServerClose ends a connection the server closed with a close
	// packet (see [Conn.Err]).
	ErrServerClose = errors.New("siotest: the server sent a close packet")
	// ErrDisconnected is returned by a Socket the server disconnected from
	// its namespace, or that disconnected itself.
	ErrDisconnected = errors.New("siotest: socket disconnected")
	errAborted      = errors.New("siotest: connection aborted by the client")
	errClosedHere   = errors.New("siotest: connection closed by the client")
)

// maxPost bounds the size of a long-polling POST made of queued packets
// (a single larger packet is still sent, alone).
const maxPost = 256 << 10

// Conn is a client's Engine.IO connection and the namespaces it joined. Its
// methods are safe for concurrent use.
type Conn struct {
	opts   Options
	eio    *eiotest.Client
	poll   *eiotest.Polling
	sid    string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}
	noPong atomic.Bool

	// Binary reconstruction, used by the reader only.
	partial *Packet
	want    int
	payload []byte

	mu          sync.Mutex
	cond        *sync.Cond
	transport   string
	ws          *eiotest.WS
	queue       []eiotest.Packet
	writing     bool
	pauseWrite  bool
	pausePoll   bool
	pollStopped chan struct{}
	closed      bool
	err         error
	sockets     map[string]*Socket
	connecting  map[string]chan *Packet
	unrouted    *inbox
	upgrades    int
}

// Dial opens a connection to the Socket.IO server at serverURL (such as an
// httptest.Server's URL). ctx bounds the handshake only; the connection
// lives until Close, Abort or the server ends it.
func Dial(ctx context.Context, serverURL string, opts *Options) (*Conn, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	u := strings.TrimSuffix(serverURL, "/") + o.Path
	if len(o.Query) > 0 {
		u += "?" + o.Query.Encode()
	}
	eio := eiotest.New(u)
	maps.Copy(eio.Header, o.Header)
	c := &Conn{
		opts:       o,
		eio:        eio,
		done:       make(chan struct{}),
		sockets:    make(map[string]*Socket),
		connecting: make(map[string]chan *Packet),
		unrouted:   newInbox(),
	}
	c.cond = sync.NewCond(&c.mu)
	c.noPong.Store(o.NoPong)
	c.ctx, c.cancel = context.WithCancel(context.Background())

	if o.Transport == WebSocket {
		ws, err := eio.OpenWebSocket(ctx)
		if err != nil {
			c.cancel()
			eio.Close()
			return nil, err
		}
		c.ws, c.transport, c.sid = ws, "websocket", ws.Handshake.SID
		c.start(c.wsLoop)
	} else {
		pl, err := eio.Handshake(ctx)
		if err != nil {
			c.cancel()
			eio.Close()
			return nil, err
		}
		c.poll, c.transport, c.sid = pl, "polling", pl.SID()
		c.pollStopped = make(chan struct{})
		for _, p := range pl.Extra {
			c.handleEngine(p)
		}
		c.start(c.pollLoop)
	}
	c.start(c.writeLoop)
	if o.Transport == Upgrade {
		if err := c.Upgrade(ctx); err != nil {
			c.Abort()
			return nil, err
		}
	}
	return c, nil
}

func (c *Conn) start(f func()) { c.wg.Go(f) }

// SetNoPong stops (true) or resumes (false) answering the server's pings.
func (c *Conn) SetNoPong(on bool) { c.noPong.Store(on) }

// SID returns the Engine.IO session ID.
func (c *Conn) SID() string { return c.sid }

// Engine returns the Engine.IO client, for raw requests.
func (c *Conn) Engine() *eiotest.Client { return c.eio }

// Polling returns the long-polling session; nil for a connection opened
// over WebSocket.
func (c *Conn) Polling() *eiotest.Polling { return c.poll }

// Transport returns the transport in use: "polling" or "websocket".
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (nil while it is open):
// ErrServerClose when the server sent a close packet, otherwise the
// transport's error.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// WaitClosed waits until the connection has ended and returns [Conn.Err],
// or ctx's error.
func (c *Conn) WaitClosed(ctx context.Context) error {
	select {
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// end ends the connection once, for err.
func (c *Conn) end(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.err = true, err
	ws := c.ws
	sockets := c.sockets
	c.sockets = map[string]*Socket{}
	connecting := c.connecting
	c.connecting = map[string]chan *Packet{}
	c.cond.Broadcast()
	c.mu.Unlock()
	c.cancel()
	if ws != nil {
		_ = ws.Close()
	}
	for _, s := range sockets {
		s.markDisconnected()
	}
	for _, ch := range connecting {
		close(ch)
	}
	c.unrouted.close()
	close(c.done)
}

// Close closes the connection politely (an Engine.IO close packet, which
// the server reports as "transport close") and waits for the client's
// goroutines to end.
func (c *Conn) Close() error {
	if c.WriteEngine(eiotest.Control(eiotest.Close, "")) == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Flush(ctx)
		cancel()
	}
	c.end(errClosedHere)
	c.wg.Wait()
	c.eio.Close()
	return nil
}

// Abort drops the connection without a close packet: a WebSocket is closed
// without a close frame, a pending long-poll is cancelled. It waits for the
// client's goroutines to end.
func (c *Conn) Abort() {
	c.end(errAborted)
	c.wg.Wait()
	c.eio.Close()
}

// WriteEngine queues raw Engine.IO packets, sent together in order.
func (c *Conn) WriteEngine(packets ...eiotest.Packet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.queue = append(c.queue, packets...)
	c.cond.Broadcast()
	return nil
}

// WriteText queues a raw Socket.IO text packet, such as `2["hi"]`.
func (c *Conn) WriteText(s string) error { return c.WriteEngine(eiotest.Text(s)) }

// WriteBinary queues a raw binary message (an attachment).
func (c *Conn) WriteBinary(b []byte) error { return c.WriteEngine(eiotest.Bin(b)) }

// writePacket encodes and queues a Socket.IO packet.
func (c *Conn) writePacket(typ PacketType, nsp string, id int64, data any) error {
	text, atts, err := Encode(typ, nsp, id, data)
	if err != nil {
		return err
	}
	packets := make([]eiotest.Packet, 0, 1+len(atts))
	packets = append(packets, eiotest.Text(text))
	for _, a := range atts {
		packets = append(packets, eiotest.Bin(a))
	}
	return c.WriteEngine(packets...)
}

// Flush waits until every queued packet has been written (for
// long-polling, until the POSTs carrying them were answered).
func (c *Conn) Flush(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 || c.writing {
		if c.closed {
			return ErrClosed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.cond.Wait()
	}
	return nil
}

// writeLoop writes what is queued, in order.
func (c *Conn) writeLoop() {
	for {
		c.mu.Lock()
		for !c.closed && (len(c.queue) == 0 || c.pauseWrite) {
			c.cond.Wait()
		}
		if c.closed {
			c.mu.Unlock()
			return
		}
		var batch []eiotest.Packet
		ws := c.ws
		if c.transport == "websocket" {
			batch, c.queue = c.queue, nil
		} else {
			n, size := 0, 0
			for n < len(c.queue) && (n == 0 || size+len(c.queue[n].Data) < maxPost) {
				size += len(c.queue[n].Data) + 1
				n++
			}
			batch = slices.Clone(c.queue[:n])
			clear(c.queue[:n]) // do not keep what was sent alive
			c.queue = c.queue[n:]
			if len(c.queue) == 0 {
				c.queue = nil
			}
		}
		c.writing = true
		c.mu.Unlock()

		var err error
		if ws != nil {
			for _, p := range batch {
				if err = ws.Write(c.ctx, p); err != nil {
					break
				}
			}
		} else {
			err = c.poll.Send(c.ctx, batch...)
		}
		c.mu.Lock()
		c.writing = false
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			c.end(fmt.Errorf("siotest: write: %w", err))
			return
		}
	}
}

// pollLoop long-polls until the connection ends or an upgrade pauses it.
func (c *Conn) pollLoop() {
	for {
		c.mu.Lock()
		stop := c.pausePoll || c.closed
		c.mu.Unlock()
		if stop {
			close(c.pollStopped)
			return
		}
		packets, err := c.poll.Poll(c.ctx)
		if err != nil {
			close(c.pollStopped)
			c.end(fmt.Errorf("siotest: poll: %w", err))
			return
		}
		for _, p := range packets {
			if !c.handleEngine(p) {
				close(c.pollStopped)
				return
			}
		}
	}
}

// wsLoop reads the WebSocket until the connection ends.
func (c *Conn) wsLoop() {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	for {
		p, err := ws.Read(c.ctx)
		if err != nil {
			c.end(fmt.Errorf("siotest: websocket read: %w", err))
			return
		}
		if !c.handleEngine(p) {
			return
		}
	}
}

// Upgrade moves a long-polling connection to WebSocket as the official
// client does: probe, pause polling (the pending poll is answered), then
// send the upgrade packet. Packets written meanwhile wait and go over the
// WebSocket.
func (c *Conn) Upgrade(ctx context.Context) error {
	c.mu.Lock()
	if c.transport != "polling" || c.pausePoll {
		c.mu.Unlock()
		return errors.New("siotest: Upgrade: not a long-polling connection")
	}
	c.mu.Unlock()
	ws, err := c.poll.Probe(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pausePoll, c.pauseWrite = true, true
	for c.writing && !c.closed {
		c.cond.Wait()
	}
	c.mu.Unlock()
	select {
	case <-c.pollStopped:
	case <-ctx.Done():
		_ = ws.Close()
		return ctx.Err()
	}
	if err := ws.Write(ctx, eiotest.Control(eiotest.Upgrade, "")); err != nil {
		_ = ws.Close()
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = ws.Close()
		return ErrClosed
	}
	c.ws, c.transport = ws, "websocket"
	c.pauseWrite = false
	c.upgrades++
	c.cond.Broadcast()
	c.mu.Unlock()
	c.start(c.wsLoop)
	return nil
}

// handleEngine acts on one Engine.IO packet from the server and reports
// whether the connection goes on.
func (c *Conn) handleEngine(p eiotest.Packet) bool {
	switch p.Type {
	case eiotest.Ping:
		if !c.noPong.Load() {
			_ = c.WriteEngine(eiotest.Control(eiotest.Pong, string(p.Data)))
		}
	case eiotest.Close:
		c.end(ErrServerClose)
		return false
	case eiotest.Message:
		if err := c.handleMessage(p.Data, p.Binary); err != nil {
			c.end(err)
			return false
		}
	}
	return true
}

// handleMessage decodes Socket.IO packets, gathering binary attachments.
func (c *Conn) handleMessage(data []byte, binary bool) error {
	if binary {
		if c.partial == nil {
			return fmt.Errorf("%w: unexpected binary message", ErrMalformed)
		}
		c.partial.Attachments = append(c.partial.Attachments, data)
		if len(c.partial.Attachments) < c.want {
			return nil
		}
		p, payload := c.partial, c.payload
		c.partial, c.payload = nil, nil
		if err := decodePayload(p, payload); err != nil {
			return err
		}
		c.route(p)
		return nil
	}
	if c.partial != nil {
		return fmt.Errorf("%w: text message while attachments are expected", ErrMalformed)
	}
	p, natt, payload, err := decodeHeader(data)
	if err != nil {
		return err
	}
	if natt > 0 {
		c.partial, c.want, c.payload = p, natt, payload
		return nil
	}
	if err := decodePayload(p, payload); err != nil {
		return err
	}
	c.route(p)
	return nil
}

// route hands a packet to whoever waits for it.
func (c *Conn) route(p *Packet) {
	c.mu.Lock()
	switch p.Type {
	case TypeConnect, TypeConnectError:
		ch := c.connecting[p.Namespace]
		if ch != nil {
			delete(c.connecting, p.Namespace)
			if p.Type == TypeConnect {
				c.sockets[p.Namespace] = newSocket(c, p)
			}
			c.mu.Unlock()
			ch <- p
			return
		}
	case TypeEvent, TypeBinaryEvent:
		if s := c.sockets[p.Namespace]; s != nil {
			c.mu.Unlock()
			s.inbox.push(p)
			return
		}
	case TypeDisconnect:
		if s := c.sockets[p.Namespace]; s != nil {
			delete(c.sockets, p.Namespace)
			c.mu.Unlock()
			s.inbox.push(p)
			s.markDisconnected()
			return
		}
	case TypeAck, TypeBinaryAck:
		if s := c.sockets[p.Namespace]; s != nil {
			c.mu.Unlock()
			if !s.deliverAck(p) {
				c.unrouted.push(p)
			}
			return
		}
	}
	c.mu.Unlock()
	c.unrouted.push(p)
}

// NextUnrouted returns the next packet no socket took: a CONNECT or
// CONNECT_ERROR nobody waited for, an event or acknowledgement for a
// namespace the client has not joined, an acknowledgement nobody waits
// for.
func (c *Conn) NextUnrouted(ctx context.Context) (*Packet, error) { return c.unrouted.next(ctx) }

// ConnectError is a server's refusal of a namespace (a CONNECT_ERROR
// packet).
type ConnectError struct {
	Message string
	Data    any
	Packet  *Packet
}

func (e *ConnectError) Error() string { return "siotest: connect_error: " + e.Message }

// Connect joins namespace nsp (with "/" in front; "" is "/") with an auth
// payload (nil for none) and waits for the server's answer: a Socket, or a
// *ConnectError.
func (c *Conn) Connect(ctx context.Context, nsp string, auth any) (*Socket, error) {
	if nsp == "" {
		nsp = "/"
	}
	ch := make(chan *Packet, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if c.connecting[nsp] != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("siotest: already connecting to %q", nsp)
	}
	c.connecting[nsp] = ch
	c.mu.Unlock()
	if err := c.writePacket(TypeConnect, nsp, -1, auth); err != nil {
		return nil, err
	}
	select {
	case p, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		if p.Type == TypeConnectError {
			ce := &ConnectError{Packet: p}
			switch d := p.Data.(type) {
			case map[string]any:
				ce.Message, _ = d["message"].(string)
				ce.Data = d["data"]
			case string:
				ce.Message = d
			}
			return nil, ce
		}
		c.mu.Lock()
		s := c.sockets[nsp]
		c.mu.Unlock()
		if s == nil { // already disconnected by the server
			return nil, ErrDisconnected
		}
		return s, nil
	case <-ctx.Done():
		c.mu.Lock()
		if c.connecting[nsp] == ch {
			delete(c.connecting, nsp)
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Socket returns the socket of namespace nsp, or nil.
func (c *Conn) Socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets[nsp]
}

// inbox is an unbounded queue of packets.
type inbox struct {
	mu     sync.Mutex
	items  []*Packet
	closed bool
	notify chan struct{}
}

func newInbox() *inbox { return &inbox{notify: make(chan struct{}, 1)} }

func (q *inbox) push(p *Packet) {
	q.mu.Lock()
	q.items = append(q.items, p)
	q.mu.Unlock()
	q.wake()
}

func (q *inbox) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

func (q *inbox) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// next returns the next packet; once the inbox is closed and empty, it
// returns ErrClosed.
func (q *inbox) next(ctx context.Context) (*Packet, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			p := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			more := len(q.items) > 0 || q.closed
			q.mu.Unlock()
			if more {
				q.wake()
			}
			return p, nil
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			q.wake()
			return nil, ErrClosed
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// len returns the number of packets waiting.
func (q *inbox) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
