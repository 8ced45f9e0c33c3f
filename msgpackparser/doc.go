// Package msgpackparser is a Socket.IO packet codec compatible with the npm
// package socket.io-msgpack-parser (version 3), which encodes packets with
// MessagePack through notepack.io. Servers opt in with
//
//	io := core.NewServer(core.WithCodec(msgpackparser.New()))
//
// and every client must then be created with the same parser, e.g. in
// JavaScript:
//
//	const socket = io(url, { parser: require("socket.io-msgpack-parser") });
//
// # Wire format
//
// Each packet is one binary Engine.IO message holding a MessagePack map:
//
//	{"type": 2, "nsp": "/admin", "data": ["hello", 1, <bin>], "id": 12}
//
// where:
//
//   - type is the packet type: 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK,
//     4 CONNECT_ERROR. There are no BINARY_EVENT and BINARY_ACK packets:
//     binary data travels inside the map as MessagePack bin, so there are
//     no attachments or placeholders.
//   - nsp is the namespace, always present, "/" for the main namespace.
//   - data is, for CONNECT, an optional map (the auth payload, or {"sid": id}
//     in the server's reply); for DISCONNECT, absent; for CONNECT_ERROR, a
//     map such as {"message": m, "data": d} or a string; for EVENT, an array
//     whose first element is the event name (a string other than the
//     reserved names, see [parser.IsReservedEvent], or a number); for ACK,
//     an array.
//   - id is the ack id, present on EVENT and ACK packets only when an
//     acknowledgement is involved.
//
// Other members are ignored (socket.io-client sends "options"). Decoders
// also accept what notepack.io writes for JavaScript values that MessagePack
// lacks: undefined (fixext 1 of type 0, treated as absent at the top level),
// Date (fixext 8 of type 0, milliseconds since the epoch) and the bytes of
// an ArrayBuffer or typed array (ext 8/16/32 of type 0, treated as bin).
// Text messages, other extension types, trailing bytes, map keys other than
// strings and integers, nesting deeper than [WithMaxDepth] and every shape
// the reference decoder rejects are errors wrapping [parser.ErrInvalidPacket]
// (which close the connection); so are a namespace that does not start with
// "/" and an ack id that is not a non-negative integer. Length prefixes are
// checked against the bytes actually received before anything is allocated.
//
// # Encoding Go values
//
// [parser.Packet.Data] values are written as encoding/json would write them,
// but in MessagePack, with these differences:
//
//   - []byte (and other byte slices) become bin at any depth, also inside
//     structs, typed slices and maps: binary data needs no attachments.
//   - integers stay integers (in the smallest format, as notepack.io writes
//     them), float64 values are float64, and float32 values are written as
//     the float64 closest to their shortest decimal form (float32(0.1)
//     reaches JavaScript as 0.1, as it does in JSON).
//   - json.Number becomes an integer when it is written as one and fits in
//     64 bits, a float64 otherwise.
//   - json.RawMessage and the output of MarshalJSON methods are JSON text:
//     they are converted to the equivalent MessagePack values (object member
//     order is kept).
//
// Otherwise the rules are those of encoding/json: struct fields are named
// and omitted by their json tags (omitempty, omitzero, string, "-", embedded
// structs), json.Marshaler and encoding.TextMarshaler are honoured (so a
// time.Time is its RFC 3339 string), map keys become strings and maps are
// written with sorted keys, nil pointers, slices and maps are nil, and NaN,
// infinities, channels and functions are errors. The common types (nil,
// bool, strings, numbers, []any, []string, [][]byte, map[string]any,
// map[string]string, map[string][]byte) are written without reflection.
//
// # Decoding
//
// A [parser.Decoder] validates the whole message before returning a packet
// and decodes data elements only when [parser.Payload] methods are called:
//
//   - Value returns nil, bool, string, json.Number (integers as written,
//     floats as JavaScript prints them), []any, map[string]any and []byte
//     for bin (sharing the message's memory), so that values passed back to
//     Emit are sent unchanged. A Date becomes its ISO 8601 string, undefined
//     becomes nil (and is left out of maps), NaN and infinities become nil,
//     as JSON.stringify would have it.
//   - Raw returns JSON text with bin as base64 strings.
//   - Decode decodes like json.Unmarshal of Raw's text, so targets behave as
//     with the JSON codec (json tags, json.Unmarshaler, time.Time from a
//     Date...); []byte targets receive bin directly. Strings, numbers,
//     booleans, []byte, json.RawMessage, any and map[string]any targets are
//     decoded without JSON.
//
// Strings with invalid UTF-8 have each invalid byte replaced by U+FFFD, in
// both directions, as encoding/json and Node do.
package msgpackparser
