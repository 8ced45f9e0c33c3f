package parser

import (
	"encoding/json"
	"errors"
	"strconv"
)

// PacketType is the type of a Socket.IO packet, as written in the first
// character of its text encoding.
type PacketType byte

// The Socket.IO packet types.
const (
	Connect      PacketType = iota // CONNECT (0)
	Disconnect                     // DISCONNECT (1)
	Event                          // EVENT (2)
	Ack                            // ACK (3)
	ConnectError                   // CONNECT_ERROR (4)
	BinaryEvent                    // BINARY_EVENT (5)
	BinaryAck                      // BINARY_ACK (6)
)

var packetTypeNames = [...]string{
	Connect:      "CONNECT",
	Disconnect:   "DISCONNECT",
	Event:        "EVENT",
	Ack:          "ACK",
	ConnectError: "CONNECT_ERROR",
	BinaryEvent:  "BINARY_EVENT",
	BinaryAck:    "BINARY_ACK",
}

// String returns the protocol name of t, such as "EVENT", or "PacketType(n)"
// for an unknown type.
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven protocol packet types.
func (t PacketType) Valid() bool { return t <= BinaryAck }

// Frame is one Engine.IO message of an encoded packet.
type Frame struct {
	Data   []byte
	Binary bool // true for a binary attachment, false for a text message
}

// Packet is a Socket.IO packet. Outgoing packets carry Go values in Data;
// decoded packets carry a Payload.
type Packet struct {
	// Type is the packet type. Decoders report binary packets as Event or
	// Ack (the attachments are already merged into the Payload), so that
	// handlers need not distinguish them; encoders accept either form.
	Type PacketType
	// Namespace is "/" for the main namespace; never empty after decoding.
	// An empty Namespace is encoded as "/".
	Namespace string
	// ID is the ack id, meaningful when HasID is set. Only EVENT and ACK
	// packets (and their binary forms) carry one.
	ID    uint64
	HasID bool
	// Data is what an outgoing packet carries:
	//
	//   - EVENT: []any{eventName, args...} (or []string, or any value
	//     encoding to a JSON array whose first element is the event name);
	//   - ACK: []any{args...};
	//   - CONNECT: the handshake payload (e.g. map[string]any{"sid": id}) or nil;
	//   - CONNECT_ERROR: a value such as map[string]any{"message": m, "data": d},
	//     or a string;
	//   - DISCONNECT: nil.
	//
	// Encoders set BinaryEvent/BinaryAck themselves when the data contains
	// binary; callers may pass Event/Ack. See [Codec] for which Go values
	// become binary attachments. If Data is nil and Payload is set (a decoded
	// packet being forwarded), the Payload is encoded instead.
	Data any
	// Payload is set on decoded packets (nil when the packet had no payload).
	Payload Payload
}

// Payload gives lazy, codec-independent access to a decoded packet's data.
//
// For EVENT/ACK packets the elements are the array elements (element 0 of an
// EVENT is the event name). For CONNECT/CONNECT_ERROR the single element is
// the object (or string).
//
// A Payload may share memory with the message passed to [Decoder.Add] and
// with binary attachments; returned byte slices must not be modified. A
// Payload is safe for concurrent reads.
type Payload interface {
	// Len returns the number of elements.
	Len() int
	// Decode decodes element i into dst (like json.Unmarshal). Binary
	// attachments decode into []byte (for JSON: the placeholder is replaced
	// by the base64 string, which encoding/json decodes into []byte fields;
	// into an `any` target it appears as that string).
	Decode(i int, dst any) error
	// Value returns element i as a plain Go value: nil, bool, string,
	// json.Number (numbers keep their exact text), []any, map[string]any,
	// and []byte for binary attachments (placeholders resolved).
	Value(i int) (any, error)
	// Raw returns element i as JSON text with binary attachments as base64
	// strings (for logging, forwarding, json.RawMessage targets).
	Raw(i int) (json.RawMessage, error)
}

// Codec encodes and decodes packets. [JSON] (the reference socket.io-parser
// format) is the default.
//
// Codecs are safe for concurrent use; Decoders are not.
type Codec interface {
	// Encode returns the Engine.IO messages of p. prefix is prepended to the
	// FIRST message when it is a text message (the caller passes []byte("4"),
	// the Engine.IO message type, so no copy is needed later); it is ignored
	// for binary-first codecs. The returned frames do not alias caller memory
	// other than []byte attachments. Errors wrap [ErrInvalidPacket].
	Encode(p *Packet, prefix []byte) ([]Frame, error)
	// NewDecoder returns a decoder for one connection (it holds
	// binary-reconstruction state).
	NewDecoder() Decoder
}

// Decoder turns the Engine.IO messages of one connection back into packets.
// It is not safe for concurrent use.
type Decoder interface {
	// Add feeds one Engine.IO message (without the Engine.IO type prefix).
	// It returns a complete packet, or (nil, nil) while attachments are
	// still expected, or an error (ErrInvalidPacket wrapped with detail)
	// after which the connection is to be closed.
	//
	// Add takes ownership of data: the returned packet's Payload refers to
	// it (no copy is made), so the caller must not modify or reuse it.
	Add(data []byte, binary bool) (*Packet, error)
	// Reset drops any partial reconstruction state.
	Reset()
}

// ErrInvalidPacket is wrapped by every decoding error and by encoding errors
// caused by an unencodable packet.
var ErrInvalidPacket = errors.New("socket.io: invalid packet")

// ErrIndexOutOfRange is returned by Payload methods for an element index
// outside [0, Len()).
var ErrIndexOutOfRange = errors.New("socket.io: payload index out of range")

// IsReservedEvent reports whether name is reserved by the protocol and must
// not be used as an event name: "connect", "connect_error", "disconnect",
// "disconnecting", "newListener" and "removeListener". Decoders reject EVENT
// packets with these names and encoders refuse to produce them.
func IsReservedEvent(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}
