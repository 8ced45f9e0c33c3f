package engine

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Engine.IO protocol 3, spoken by the 2.x clients (socket.io-client 2.x,
// engine.io-client 3.x), frames long-polling payloads differently from
// protocol 4 (see the protocol's history, "From v3 to v4"):
//
//   - A text payload is a run of "<length>:<packet>", where the length is
//     that of the packet in UTF-16 code units (JavaScript's String length),
//     not bytes: "4€" is "2:4€". A binary message is written "b4" followed
//     by its base64, and its length counts those characters.
//   - A binary payload (application/octet-stream), which clients with XHR2
//     send, and receive when their handshake did not ask for base64
//     (b64=1), is a run of records: 0 (a text packet) or 1 (a binary one),
//     the decimal digits of the length as bytes 0-9, 255, then the packet:
//     UTF-8 text ("4hello"), or the packet type as a byte followed by the
//     binary data (4, data...).
//
// Over WebSocket, text frames are as in protocol 4; a binary frame holds
// the packet type byte 4 before the data, and a client without binary
// support sends and receives "b4<base64>" text frames instead.

// maxLengthDigits bounds the length prefixes of a v3 payload: a body is at
// most MaxHTTPBufferSize bytes, far less than 10^9.
const maxLengthDigits = 9

// binaryPacketType is the type byte of a binary message in protocol 3.
const binaryPacketType = byte(PacketMessage - '0')

// decodePayloadV3 decodes a protocol 3 long-polling payload, sent as text
// or, when binary is set (Content-Type application/octet-stream), in the
// binary format. The packets are appended to dst. Their data alias body,
// except messages sent in base64.
func decodePayloadV3(body []byte, binary bool, dst []packet) ([]packet, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformedPacket)
	}
	packets := dst[:0]
	if binary {
		return decodeBinaryPayloadV3(body, packets)
	}
	for len(body) > 0 {
		n, rest, err := lengthPrefix(body)
		if err != nil {
			return nil, err
		}
		size, ok := utf16Prefix(rest, n)
		if !ok {
			return nil, fmt.Errorf("%w: packet shorter than its length %d", ErrMalformedPacket, n)
		}
		msg := rest[:size:size]
		body = rest[size:]
		if len(msg) == 0 {
			continue // "0:" carries nothing, as in the reference
		}
		p, err := decodeTextV3(msg)
		if err != nil {
			return nil, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// lengthPrefix parses "<digits>:" at the start of b.
func lengthPrefix(b []byte) (n int, rest []byte, err error) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if i == maxLengthDigits {
			return 0, nil, fmt.Errorf("%w: packet length too long", ErrMalformedPacket)
		}
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == 0 || i == len(b) || b[i] != ':' {
		return 0, nil, fmt.Errorf("%w: missing packet length", ErrMalformedPacket)
	}
	return n, b[i+1:], nil
}

func decodeBinaryPayloadV3(body []byte, packets []packet) ([]packet, error) {
	for len(body) > 0 {
		kind := body[0]
		if kind > 1 {
			return nil, fmt.Errorf("%w: binary payload record of kind %d", ErrMalformedPacket, kind)
		}
		n, i := 0, 1
		for ; i < len(body) && body[i] != 0xff; i++ {
			if body[i] > 9 || i > maxLengthDigits {
				return nil, fmt.Errorf("%w: malformed length in binary payload", ErrMalformedPacket)
			}
			n = n*10 + int(body[i])
		}
		if i == 1 || i == len(body) {
			return nil, fmt.Errorf("%w: malformed length in binary payload", ErrMalformedPacket)
		}
		body = body[i+1:]
		if n == 0 || n > len(body) {
			return nil, fmt.Errorf("%w: record length %d in a binary payload of %d more bytes", ErrMalformedPacket, n, len(body))
		}
		msg := body[:n:n]
		body = body[n:]
		var p packet
		var err error
		if kind == 0 {
			p, err = decodeText(msg)
		} else {
			p, err = decodeBinaryV3(msg)
		}
		if err != nil {
			return nil, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// decodeTextV3 decodes one text packet of protocol 3: as in protocol 4,
// or "b" followed by the packet type and base64 for binary data.
func decodeTextV3(b []byte) (packet, error) {
	if len(b) > 0 && b[0] == 'b' {
		if len(b) < 2 || b[1] < byte(PacketOpen) || b[1] > byte(PacketNoop) {
			return packet{}, fmt.Errorf("%w: malformed base64 packet", ErrMalformedPacket)
		}
		data, err := decodeBase64V3(b[2:])
		if err != nil {
			return packet{}, err
		}
		t := PacketType(b[1])
		return packet{typ: t, data: data, binary: t == PacketMessage}, nil
	}
	return decodeText(b)
}

// decodeBinaryV3 decodes one binary packet of protocol 3: the packet type
// as a byte (4 for a message), then the data.
func decodeBinaryV3(b []byte) (packet, error) {
	if len(b) == 0 || b[0] > byte(PacketNoop-'0') {
		return packet{}, fmt.Errorf("%w: binary packet without a valid type", ErrMalformedPacket)
	}
	t := PacketType('0' + b[0])
	return packet{typ: t, data: b[1:len(b):len(b)], binary: t == PacketMessage}, nil
}

// decodeMessageV3 decodes one WebSocket message of a protocol 3 session.
func decodeMessageV3(data []byte, binary bool) (packet, error) {
	if binary {
		return decodeBinaryV3(data)
	}
	return decodeTextV3(data)
}

// decodeBase64V3 decodes base64 the way the reference does (Node.js's
// Buffer.from(s, "base64")) for what clients send: padding optional, line
// breaks ignored (the 1.x Java client wraps its base64 lines).
func decodeBase64V3(s []byte) ([]byte, error) {
	s = bytes.TrimRight(s, "=")
	data := make([]byte, base64.RawStdEncoding.DecodedLen(len(s)))
	n, err := base64.RawStdEncoding.Decode(data, s)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid base64 in binary packet", ErrMalformedPacket)
	}
	return data[:n], nil
}

// utf16Prefix returns how many bytes of b hold its first n UTF-16 code
// units, the unit JavaScript strings count in. It reports false when b is
// shorter, or when the n-th unit would split a surrogate pair. An
// ill-formed sequence counts as one unit per maximal subpart, as the
// U+FFFD that Node.js decodes it to.
func utf16Prefix(b []byte, n int) (int, bool) {
	if n > len(b) { // every unit takes a byte at least
		return 0, false
	}
	i, units := 0, 0
	for units < n {
		if i == len(b) {
			return 0, false
		}
		c := b[i]
		if c < utf8.RuneSelf {
			i++
			units++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			i += invalidSeqLen(b[i:])
			units++
		case size == 4:
			if units+2 > n {
				return 0, false
			}
			i += 4
			units += 2
		default:
			i += size
			units++
		}
	}
	return i, true
}

// invalidSeqLen returns the length of the maximal subpart of the ill-formed
// UTF-8 sequence at the start of b: the bytes a decoder replaces by one
// U+FFFD (Unicode's "substitution of maximal subparts", which WHATWG
// decoders and Node.js follow).
func invalidSeqLen(b []byte) int {
	c := b[0]
	need, lo, hi := 0, byte(0x80), byte(0xbf)
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c == 0xed:
		need, hi = 2, 0x9f
	case c >= 0xe1 && c <= 0xef:
		need = 2
	case c == 0xf0:
		need, lo = 3, 0x90
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	case c == 0xf4:
		need, hi = 3, 0x8f
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		lo, hi = 0x80, 0xbf
	}
	return i
}

// utf16Len returns the length in UTF-16 code units of valid UTF-8 text:
// one unit per character, two for those beyond the BMP (4-byte
// sequences).
func utf16Len(b []byte) int {
	n := 0
	for _, c := range b {
		switch {
		case c < 0x80, c >= 0xc0 && c < 0xf0:
			n++
		case c >= 0xf0:
			n += 2
		}
		// continuation bytes (0x80-0xbf) add nothing
	}
	return n
}

// validText returns the text of a frame as valid UTF-8: ill-formed
// sequences become U+FFFD, as a client would decode them, so that the
// length written before it is the length the client counts.
func validText(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// hasBinary reports whether a frame is a binary message.
func hasBinary(frames []Frame) bool {
	for _, f := range frames {
		if f.Binary {
			return true
		}
	}
	return false
}

// appendPayloadV3 appends the protocol 3 long-polling encoding of frames
// to dst: the binary format when a frame is binary and the client takes
// binary payloads (b64 false), the text format otherwise. It reports
// whether the payload is binary (served as application/octet-stream).
func appendPayloadV3(dst []byte, frames []Frame, b64 bool) ([]byte, bool) {
	if !b64 && hasBinary(frames) {
		return appendBinaryPayloadV3(dst, frames), true
	}
	for _, f := range frames {
		if f.Binary {
			dst = strconv.AppendInt(dst, int64(2+base64.StdEncoding.EncodedLen(len(f.Data))), 10)
			dst = append(dst, ':', 'b', byte(PacketMessage))
			dst = base64.StdEncoding.AppendEncode(dst, f.Data)
			continue
		}
		data := validText(f.Data)
		dst = strconv.AppendInt(dst, int64(utf16Len(data)), 10)
		dst = append(dst, ':')
		dst = append(dst, data...)
	}
	return dst, false
}

func appendBinaryPayloadV3(dst []byte, frames []Frame) []byte {
	for _, f := range frames {
		if f.Binary {
			dst = append(dst, 1)
			dst = appendLengthDigits(dst, 1+len(f.Data))
			dst = append(dst, 0xff, binaryPacketType)
			dst = append(dst, f.Data...)
			continue
		}
		data := validText(f.Data)
		dst = append(dst, 0)
		dst = appendLengthDigits(dst, len(data))
		dst = append(dst, 0xff)
		dst = append(dst, data...)
	}
	return dst
}

// appendLengthDigits appends the decimal digits of n as bytes 0-9.
func appendLengthDigits(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return dst
}

// appendMessageV3 appends the WebSocket message that carries frame f to a
// protocol 3 client, and reports whether it is a binary message: text
// frames as they are; binary ones after the packet type byte, or as
// "b4<base64>" text for a client without binary support (b64).
func appendMessageV3(dst []byte, f Frame, b64 bool) ([]byte, bool) {
	switch {
	case !f.Binary:
		return append(dst, f.Data...), false
	case b64:
		dst = append(dst, 'b', byte(PacketMessage))
		return base64.StdEncoding.AppendEncode(dst, f.Data), false
	default:
		dst = append(dst, binaryPacketType)
		return append(dst, f.Data...), true
	}
}
