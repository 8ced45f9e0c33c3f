package core

import (
	"errors"
	"fmt"

	"github.com/e347a4c2/socketio/core/engine"
)

// DisconnectReason says why a socket disconnected. It implements error so
// that it can be the cause of the socket's cancelled context
// (context.Cause(s.Context())). The values are the Node.js reference's.
type DisconnectReason string

// The reasons a socket disconnects.
const (
	// ReasonTransportError: the connection failed or the client broke the
	// Engine.IO protocol.
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonTransportClose: the client closed the connection (the user
	// left the page, lost the network).
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonForcedClose: the server closed the connection.
	ReasonForcedClose DisconnectReason = "forced close"
	// ReasonPingTimeout: the client did not answer a ping in time.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonParseError: the client sent a packet that could not be decoded.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonServerShutdown: [Server.Shutdown] was called.
	ReasonServerShutdown DisconnectReason = "server shutting down"
	// ReasonForcedServerClose: the server closed the connection because the
	// client joined no namespace in time or broke the Socket.IO protocol.
	ReasonForcedServerClose DisconnectReason = "forced server close"
	// ReasonClientNamespaceDisconnect: the client left the namespace.
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	// ReasonServerNamespaceDisconnect: [Socket.Disconnect] was called.
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
)

func (r DisconnectReason) Error() string { return "socket.io: disconnected: " + string(r) }

// Recoverable reports whether a client disconnected for this reason may
// come back and recover its session (see WithConnectionStateRecovery).
func (r DisconnectReason) Recoverable() bool {
	switch r {
	case ReasonParseError, ReasonClientNamespaceDisconnect, ReasonServerNamespaceDisconnect:
		return false
	}
	return true
}

func reasonFromEngine(r engine.CloseReason) DisconnectReason { return DisconnectReason(r) }

var (
	// ErrDisconnected is returned when emitting to, or waiting for an
	// acknowledgement from, a socket that has disconnected.
	ErrDisconnected = errors.New("socket.io: socket disconnected")
	// ErrAckTimeout is returned when acknowledgements did not arrive in
	// time. Errors that wrap it may also wrap the context's error.
	ErrAckTimeout = errors.New("socket.io: acknowledgement timeout")
	// ErrAckSent is returned when an event is acknowledged twice.
	ErrAckSent = errors.New("socket.io: acknowledgement already sent")
	// ErrNoAck is returned when acknowledging an event the client sent
	// without asking for an acknowledgement.
	ErrNoAck = errors.New("socket.io: the event has no acknowledgement")
	// ErrReservedEvent is returned when emitting an event name the protocol
	// reserves ("connect", "connect_error", "disconnect", "disconnecting",
	// "newListener", "removeListener").
	ErrReservedEvent = errors.New("socket.io: reserved event name")
	// ErrServerClosed is returned by operations on a server that is shutting
	// down.
	ErrServerClosed = errors.New("socket.io: server closed")
	// ErrTooManyAcks is returned when a socket already waits for the
	// maximum number of acknowledgements (see WithMaxPendingAcks).
	ErrTooManyAcks = errors.New("socket.io: too many pending acknowledgements")
)

// ConnectError is an error a connection middleware returns to refuse a
// socket: the client receives a connect_error whose message is Message and
// whose data is Data. Any other error refuses with its Error() text as the
// message and no data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// connectErrorPayloadV2 returns the CONNECT_ERROR payload for err sent to
// a 2.x client, as the reference does: the ConnectError's Data when it
// has some, otherwise the message as a string.
func connectErrorPayloadV2(err error) any {
	var ce *ConnectError
	if errors.As(err, &ce) {
		if ce.Data != nil {
			return ce.Data
		}
		return ce.Message
	}
	return err.Error()
}

// connectErrorPayload returns the CONNECT_ERROR payload for err.
func connectErrorPayload(err error) map[string]any {
	var ce *ConnectError
	if errors.As(err, &ce) {
		p := map[string]any{"message": ce.Message}
		if ce.Data != nil {
			p["data"] = ce.Data
		}
		return p
	}
	return map[string]any{"message": err.Error()}
}

// HandlerPanicError wraps a value recovered from a panicking handler.
type HandlerPanicError struct {
	Value any
	Stack []byte
}

func (e *HandlerPanicError) Error() string {
	return fmt.Sprintf("socket.io: handler panicked: %v", e.Value)
}
