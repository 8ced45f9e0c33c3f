package engine

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// PacketType is the type of an Engine.IO packet.
type PacketType byte

// The Engine.IO packet types, as they appear on the wire ('0' to '6').
const (
	PacketOpen    PacketType = '0'
	PacketClose   PacketType = '1'
	PacketPing    PacketType = '2'
	PacketPong    PacketType = '3'
	PacketMessage PacketType = '4'
	PacketUpgrade PacketType = '5'
	PacketNoop    PacketType = '6'
)

// String returns the protocol's name of the packet type.
func (t PacketType) String() string {
	switch t {
	case PacketOpen:
		return "open"
	case PacketClose:
		return "close"
	case PacketPing:
		return "ping"
	case PacketPong:
		return "pong"
	case PacketMessage:
		return "message"
	case PacketUpgrade:
		return "upgrade"
	case PacketNoop:
		return "noop"
	}
	return fmt.Sprintf("PacketType(%q)", byte(t))
}

// recordSeparator separates the packets of an HTTP long-polling payload.
const recordSeparator = 0x1e

// ErrMalformedPacket reports a packet or polling payload that does not
// follow the Engine.IO protocol.
var ErrMalformedPacket = errors.New("engine.io: malformed packet")

// Frame is one encoded Engine.IO packet, in the form it takes as one
// WebSocket message: for a text packet, the type digit followed by the
// packet's data ("4hello", "2"); for a binary message, the raw bytes.
//
// A Frame given to [Session.Send] is shared, not copied: the same Frame may
// be queued on many sessions (a broadcast encodes once), so its Data must
// not be modified afterwards.
type Frame struct {
	Data   []byte
	Binary bool
}

// TextMessage returns the frame of a text message packet carrying payload.
// It allocates; callers that build the payload themselves can avoid the copy
// by appending to []byte{'4'} and using Frame{Data: buf}.
func TextMessage(payload []byte) Frame {
	data := make([]byte, 1+len(payload))
	data[0] = byte(PacketMessage)
	copy(data[1:], payload)
	return Frame{Data: data}
}

// BinaryMessage returns the frame of a binary message packet.
func BinaryMessage(payload []byte) Frame {
	return Frame{Data: payload, Binary: true}
}

var (
	framePing  = Frame{Data: []byte{byte(PacketPing)}}
	framePong  = Frame{Data: []byte{byte(PacketPong)}}
	frameNoop  = Frame{Data: []byte{byte(PacketNoop)}}
	frameClose = Frame{Data: []byte{byte(PacketClose)}}
	frameProbe = []byte("3probe")
)

// packet is a decoded incoming packet. For a message, data is the payload
// (without the type digit) and binary tells whether it was a binary message.
type packet struct {
	typ    PacketType
	data   []byte
	binary bool
}

// decodeText decodes one text packet: a type digit and its data.
func decodeText(b []byte) (packet, error) {
	if len(b) == 0 {
		return packet{}, fmt.Errorf("%w: empty packet", ErrMalformedPacket)
	}
	t := PacketType(b[0])
	if t < PacketOpen || t > PacketNoop {
		return packet{}, fmt.Errorf("%w: unknown packet type %q", ErrMalformedPacket, b[0])
	}
	// Cap the data at its end: a polling payload's packets share one
	// buffer, and a handler appending to the data it owns must not
	// overwrite the packets that follow.
	return packet{typ: t, data: b[1:len(b):len(b)]}, nil
}

// decodePayload decodes an HTTP long-polling payload: packets separated by
// the record separator, binary messages as 'b' followed by standard base64.
// The packets are appended to dst (a caller's small array spares an
// allocation). The returned packets' data alias body, except decoded binary
// messages.
func decodePayload(body []byte, dst []packet) ([]packet, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformedPacket)
	}
	n := 1 + bytes.Count(body, []byte{recordSeparator})
	// Size the slice by the separators only up to a bound: a body of
	// nothing but separators would otherwise allocate 40 bytes per byte
	// received (40 MB for a 1 MB POST) before failing on its first packet.
	packets := dst[:0]
	if cap(packets) < n {
		packets = make([]packet, 0, min(n, 64))
	}
	for len(body) > 0 || n > len(packets) {
		var part []byte
		if i := bytes.IndexByte(body, recordSeparator); i >= 0 {
			part, body = body[:i], body[i+1:]
		} else {
			part, body = body, nil
		}
		if len(part) > 0 && part[0] == 'b' {
			data := make([]byte, base64.StdEncoding.DecodedLen(len(part)-1))
			m, err := base64.StdEncoding.Decode(data, part[1:])
			if err != nil {
				return nil, fmt.Errorf("%w: invalid base64 in binary packet", ErrMalformedPacket)
			}
			packets = append(packets, packet{typ: PacketMessage, data: data[:m], binary: true})
			continue
		}
		p, err := decodeText(part)
		if err != nil {
			return nil, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// payloadLen returns the length of the polling payload encoding frames.
func payloadLen(frames []Frame) int {
	n := 0
	for i, f := range frames {
		if i > 0 {
			n++
		}
		if f.Binary {
			n += 1 + base64.StdEncoding.EncodedLen(len(f.Data))
		} else {
			n += len(f.Data)
		}
	}
	return n
}

// appendPayload appends the HTTP long-polling encoding of frames to dst.
func appendPayload(dst []byte, frames []Frame) []byte {
	for i, f := range frames {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		if f.Binary {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, f.Data)
		} else {
			dst = append(dst, f.Data...)
		}
	}
	return dst
}
