package engine

import (
	"errors"
	"net/http"
	"strconv"
)

// ErrorCode is the code of an Engine.IO request error, sent to the client in
// the JSON body {"code":N,"message":"..."} of an HTTP 400 (403 for
// [CodeForbidden], 503 for [CodeTooManySessions]) answer.
type ErrorCode int

// The Engine.IO request error codes.
const (
	CodeUnknownTransport           ErrorCode = 0
	CodeUnknownSID                 ErrorCode = 1
	CodeBadHandshakeMethod         ErrorCode = 2
	CodeBadRequest                 ErrorCode = 3
	CodeForbidden                  ErrorCode = 4
	CodeUnsupportedProtocolVersion ErrorCode = 5
	// CodeTooManySessions refuses a handshake beyond [Options.MaxSessions],
	// with HTTP 503. It is this package's: the reference has no such limit.
	CodeTooManySessions ErrorCode = 6
)

// String returns the protocol's message for the code.
func (c ErrorCode) String() string {
	switch c {
	case CodeUnknownTransport:
		return "Transport unknown"
	case CodeUnknownSID:
		return "Session ID unknown"
	case CodeBadHandshakeMethod:
		return "Bad handshake method"
	case CodeBadRequest:
		return "Bad request"
	case CodeForbidden:
		return "Forbidden"
	case CodeUnsupportedProtocolVersion:
		return "Unsupported protocol version"
	case CodeTooManySessions:
		return "Too many sessions"
	}
	return "ErrorCode(" + strconv.Itoa(int(c)) + ")"
}

// RequestError describes an HTTP request the server refused. It is passed to
// [Options.OnConnectionError].
type RequestError struct {
	Code ErrorCode
	// Message is sent to the client; it is the code's message unless an
	// [Options.AllowRequest] function supplied its own.
	Message string
	// Err is the underlying cause, for logs; it is never sent to the client.
	Err error
}

func (e *RequestError) Error() string {
	if e.Err != nil {
		return "engine.io: " + e.Message + ": " + e.Err.Error()
	}
	return "engine.io: " + e.Message
}

func (e *RequestError) Unwrap() error { return e.Err }

// status returns the HTTP status code of the answer.
func (e *RequestError) status() int {
	switch e.Code {
	case CodeForbidden:
		return http.StatusForbidden
	case CodeTooManySessions:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func requestError(code ErrorCode, cause error) *RequestError {
	return &RequestError{Code: code, Message: code.String(), Err: cause}
}

// Errors returned by [Session.Send] and reported as close causes.
var (
	// ErrSessionClosed is returned when sending on a closed or closing session.
	ErrSessionClosed = errors.New("engine.io: session closed")
	// ErrQueueFull is returned when a session's outgoing queue is full; the
	// session is closed, since a client that cannot keep up would otherwise
	// hold unbounded memory.
	ErrQueueFull = errors.New("engine.io: outgoing queue full")
	// ErrServerClosed is returned by ServeHTTP handshakes after Shutdown.
	ErrServerClosed = errors.New("engine.io: server closed")

	errPollOverlap    = errors.New("overlapping long-polling GET requests")
	errPostOverlap    = errors.New("overlapping long-polling POST requests")
	errPollAborted    = errors.New("long-polling GET request closed prematurely")
	errHeartbeatDir   = errors.New("invalid heartbeat direction")
	errBinaryPost     = errors.New("binary POST body in protocol revision 4")
	errBodyTooLarge   = errors.New("POST body larger than maxHttpBufferSize")
	errBodyRead       = errors.New("POST body could not be read")
	errTransportMatch = errors.New("request transport does not match the session's")
)

// CloseReason says why a session closed. The strings are the Node.js
// reference's, which the Socket.IO layer reports as disconnect reasons.
type CloseReason string

// The reasons a session closes.
const (
	// ReasonTransportClose: the client closed the connection or sent a close packet.
	ReasonTransportClose CloseReason = "transport close"
	// ReasonTransportError: the connection failed or the client broke the protocol.
	ReasonTransportError CloseReason = "transport error"
	// ReasonPingTimeout: the client did not answer a ping within pingTimeout.
	ReasonPingTimeout CloseReason = "ping timeout"
	// ReasonParseError: the client sent a packet that could not be decoded.
	ReasonParseError CloseReason = "parse error"
	// ReasonForcedClose: the server closed the session.
	ReasonForcedClose CloseReason = "forced close"
	// ReasonServerShutdown: the server is shutting down.
	ReasonServerShutdown CloseReason = "server shutting down"
)
