// Package parser implements the Socket.IO v5 packet codec: it turns packets
// into Engine.IO messages and back.
//
// # Wire format
//
// The default codec, [JSON], is the format of the reference socket.io-parser.
// A packet is one text message
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// followed, for binary packets, by one binary message per attachment:
//
//   - type is one decimal digit: 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK,
//     4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK.
//   - attachments (BINARY_EVENT and BINARY_ACK only) is the number of binary
//     messages that follow, then "-".
//   - namespace is present when the next character is "/"; it runs up to the
//     first "," (consumed) or to the end of the message. It defaults to "/",
//     which is never written.
//   - ack id is a decimal number (EVENT, ACK and their binary forms only).
//   - the payload is JSON: for CONNECT an optional object; none for
//     DISCONNECT; an object or a string for CONNECT_ERROR; for EVENT an array
//     whose first element is the event name (a string other than the reserved
//     names, see [IsReservedEvent], or a number); for ACK an array.
//
// In binary packets every binary value is replaced by a placeholder
// {"_placeholder":true,"num":N} referring to the N-th attachment (numbered
// depth first, in the order they appear in the text).
//
// Examples (Engine.IO adds its own message type "4" in front of the text
// message; this package neither expects nor writes it, but [Codec.Encode]
// can prepend it for free):
//
//	0                                         CONNECT to "/"
//	0/admin,{"token":"123"}                   CONNECT to "/admin" with auth data
//	4{"message":"Not authorized"}             CONNECT_ERROR
//	2["hello",1]                              EVENT "hello" with argument 1
//	2/admin,456["project:delete",123]         EVENT in "/admin", ack id 456
//	3/admin,456[]                             ACK of 456 without arguments
//	51-["hello",{"_placeholder":true,"num":0}] + <binary>
//	                                          BINARY_EVENT with one attachment
//	1/admin,                                  DISCONNECT from "/admin"
//
// # Encoding Go values
//
// Outgoing packets carry Go values in [Packet.Data]. In EVENT and ACK
// packets, []byte values become binary attachments when they appear at the
// top level or as elements of []any, [][]byte, map[string]any and
// map[string][]byte (nested to any depth); the packet is then sent as
// BINARY_EVENT or BINARY_ACK. json.RawMessage values are copied verbatim
// (they must be valid JSON; they are not checked). The common types (nil,
// bool, strings, numbers, json.Number, []any, []string, map[string]any,
// map[string]string) are written without reflection; any other value goes
// through encoding/json, so a []byte inside a struct, or inside a slice or
// map of another type, is written as a base64 string like encoding/json
// does, not as an attachment: put binary data at the []any/map[string]any
// level. HTML characters are not escaped, and maps are written with sorted
// keys, as encoding/json does.
//
// # Decoding
//
// A [Decoder] validates each message completely (header, JSON syntax,
// payload shape, placeholders) before returning a packet, but decodes
// payload elements only when [Payload] methods are called. Binary packets
// are returned once all their attachments have arrived, as Event or Ack
// packets. Any error wraps [ErrInvalidPacket] and means the connection must
// be closed.
package parser
