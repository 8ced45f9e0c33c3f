// Package adapter defines how a Socket.IO namespace finds the sockets a
// packet is for: the rooms index, broadcasting, and the operations that
// span every node of a cluster (fetching sockets, joining them to rooms,
// server-side events). [InMemory] is the single-node default; cluster
// adapters (such as package redisadapter) embed it for local delivery and
// override what must cross the network.
//
// The adapter never holds a reference to the core package: it sees sockets
// through the [Socket] interface and its namespace through [Namespace].
package adapter

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// Room is the name of a group of sockets. Every socket is in the room named
// by its own ID.
type Room string

// Namespace is the adapter's view of the namespace it serves.
type Namespace interface {
	// Name returns the namespace's name, such as "/" or "/chat".
	Name() string
	// Encode encodes p once, for any number of recipients.
	Encode(p *parser.Packet) ([]engine.Frame, error)
	// ServerSideEvent delivers an event another node sent with
	// ServerSideEmit to the namespace's handlers. ack is nil when the
	// sender expects no answer; otherwise each handler may call it once.
	ServerSideEvent(event string, args []any, ack func(args []any))
}

// AckIDSource is implemented by the [Namespace] the core passes to its
// adapters. A cluster adapter that delivers, for another node, a broadcast
// whose answers that node collects numbers the packet with NextAckID, so
// that its id cannot collide with the acknowledgements the namespace
// already waits for.
type AckIDSource interface {
	// NextAckID returns an acknowledgement id of the namespace not used yet.
	NextAckID() uint64
}

// Socket is the adapter's view of a socket connected to this node.
type Socket interface {
	// ID returns the socket's ID (not the Engine.IO session ID).
	ID() string
	// Deliver queues packet p, encoded as frames, for the socket's client. A
	// volatile packet is dropped when the transport cannot write it at once.
	Deliver(p *parser.Packet, frames []engine.Frame, volatile bool)
	// ExpectAck registers fn to be called once with the client's answer to
	// the packet with ack id id, or with an error if the socket disconnects
	// first or the answer has not come by deadline (zero: no deadline).
	ExpectAck(id uint64, deadline time.Time, fn func(args parser.Payload, err error))
	// Details describes the socket for FetchSockets.
	Details() SocketDetails
	// Disconnect disconnects the socket from its namespace, and closes the
	// whole connection when close is true.
	Disconnect(close bool)
}

// Flags modify how a packet is broadcast.
type Flags struct {
	// Volatile packets are dropped for clients that cannot take them at once.
	Volatile bool
	// Compress asks for compression where the transport supports it.
	Compress bool
	// Local restricts the operation to this node.
	Local bool
	// Timeout bounds the wait for acknowledgements (broadcasts with acks).
	Timeout time.Duration
}

// BroadcastOptions select the sockets an operation applies to.
type BroadcastOptions struct {
	// Rooms: sockets in any of them; none means every socket of the namespace.
	Rooms []Room
	// Except: sockets in any of these rooms are left out.
	Except []Room
	Flags  Flags
}

// Handshake describes the HTTP request that opened a socket's connection,
// and the auth payload of its CONNECT packet. It is what FetchSockets
// reports about remote sockets too, so it holds data only.
type Handshake struct {
	// Headers of the handshake request.
	Headers http.Header
	// Time the connection was opened.
	Time time.Time
	// Address of the client (the request's remote address, host only).
	Address string
	// XDomain is true when the request came from another origin.
	XDomain bool
	// Secure is true when the request came over TLS.
	Secure bool
	// URL is the request URI.
	URL string
	// Query holds the request's query parameters.
	Query url.Values
	// Auth is the CONNECT packet's payload ("auth" in the client options).
	Auth map[string]any
}

// SocketDetails describe a socket, local or remote.
type SocketDetails struct {
	ID        string
	Handshake *Handshake
	Rooms     []Room
	// Data is the socket's application data (Socket.Data). For remote
	// sockets it is the decoded form of what the other node sent.
	Data any
}

// AckHandler receives the answers of a broadcast with acknowledgements.
type AckHandler struct {
	// Expect is called with the number of clients that were sent the
	// packet; a cluster adapter calls it once per node that answers.
	Expect func(n int)
	// Ack is called with each client's answer. socketID is empty for an
	// answer another node relayed (the cluster protocol does not carry it).
	Ack func(socketID string, args parser.Payload)
	// Fail, when set, ends the wait for answers early: a cluster adapter
	// calls it when it gives up on answers that have not come (its own
	// request timeout, its Close). The answers received before are kept.
	Fail func(err error)
}

// Adapter manages the rooms of one namespace and carries broadcasts to the
// sockets they are for. Implementations are safe for concurrent use and
// never call a Socket method while holding their own locks.
type Adapter interface {
	// AddSocket registers a socket connected to this node. It is then a
	// member of the room named by its ID.
	AddSocket(s Socket)
	// RemoveSocket makes a socket leave every room and forgets it.
	RemoveSocket(id string)
	// Join adds a local socket to rooms.
	Join(id string, rooms ...Room)
	// Leave removes a local socket from rooms.
	Leave(id string, rooms ...Room)
	// Rooms returns the rooms of a local socket, its own room first.
	Rooms(id string) []Room

	// Broadcast sends p (an EVENT) to the sockets opts selects.
	Broadcast(ctx context.Context, p *parser.Packet, opts *BroadcastOptions) error
	// BroadcastWithAck sends p, whose ack id is set, and reports the
	// expected and received answers to h. It returns once the packet is
	// sent; the caller waits for the answers, and ctx ends when it stops
	// waiting (an adapter may then forget what it kept for them).
	BroadcastWithAck(ctx context.Context, p *parser.Packet, opts *BroadcastOptions, h AckHandler) error
	// SocketIDs returns the IDs of the sockets in any of rooms (every
	// socket when rooms is empty), on every node unless opts.Flags.Local.
	SocketIDs(ctx context.Context, opts *BroadcastOptions) ([]string, error)
	// AllRooms returns every room, on every node.
	AllRooms(ctx context.Context) ([]Room, error)
	// FetchSockets describes the sockets opts selects.
	FetchSockets(ctx context.Context, opts *BroadcastOptions) ([]SocketDetails, error)
	// AddSockets makes the sockets opts selects join rooms.
	AddSockets(ctx context.Context, opts *BroadcastOptions, rooms []Room) error
	// DelSockets makes the sockets opts selects leave rooms.
	DelSockets(ctx context.Context, opts *BroadcastOptions, rooms []Room) error
	// DisconnectSockets disconnects the sockets opts selects.
	DisconnectSockets(ctx context.Context, opts *BroadcastOptions, close bool) error
	// ServerSideEmit sends an event to the other nodes of the cluster (not
	// to this one). With a non-nil h the packet's ack id is set: the
	// adapter calls h.Expect once with the number of answers to wait for
	// (one per other node), then h.Ack for each answer, or h.Fail when it
	// gives up waiting; ctx ends when the caller stops waiting.
	ServerSideEmit(ctx context.Context, p *parser.Packet, h *AckHandler) error
	// ServerCount returns the number of nodes in the cluster.
	ServerCount(ctx context.Context) (int, error)

	// Connection-state recovery (see Session). An adapter without it
	// ignores PersistSession and returns ErrNotSupported from the others;
	// the core then connects returning clients as new sockets. An adapter
	// with it numbers the events it broadcasts without acknowledgement and
	// not volatile: the offset is appended to the packet's arguments.

	// PersistSession keeps the session of a socket that disconnected for a
	// reason that allows recovery (called after RemoveSocket), until
	// RestoreSession takes it or the recovery window passes.
	PersistSession(s *Session)
	// RestoreSession takes the session whose private ID is pid, for a
	// client whose last event had offset offset: its state, and the
	// packets it missed so far (Missed, up to Offset). A session is taken
	// at most once. Errors: ErrSessionNotFound (unknown, expired or taken
	// pid), ErrOffsetNotFound (an offset the adapter did not give out, or
	// after which a packet the socket needs is no longer kept: it could not
	// get everything it missed). The core calls it on the connection's
	// reader when a CONNECT arrives, with ctx bounded by the connect
	// timeout: it should answer quickly.
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)
	// ResumeSocket adds s, the socket that resumes sess (s.ID() is
	// sess.SID), to the namespace and to sess.Rooms, and queues for it
	// sess.Missed, then the packets for it broadcast since sess.Offset, in
	// order and before any packet broadcast later: each packet broadcast
	// meanwhile is queued exactly once. On error nothing is added.
	ResumeSocket(s Socket, sess *Session) error

	// Close releases the adapter's resources.
	Close() error
}

// Factory creates the adapter of a namespace.
type Factory func(nsp Namespace) Adapter

// ErrNotSupported is returned by adapters for an operation they cannot do.
var ErrNotSupported = errors.New("adapter: operation not supported")
