// Package eiotest is a small Engine.IO protocol revision 4 client for tests.
//
// It speaks the wire protocol directly, with nothing hidden: a [Client]
// performs the polling handshake, sends and receives long-polling payloads,
// opens WebSocket sessions and upgrades polling sessions to WebSocket. Every
// exchange also has a raw form that returns the HTTP status, headers and
// body unchecked, so that tests can assert on the protocol errors a server
// answers.
//
// It uses only the standard library and github.com/coder/websocket, and
// deliberately does not import the server package, so that the server's own
// in-package tests can use it.
package eiotest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// The Engine.IO packet types, as they appear on the wire.
const (
	Open    byte = '0'
	Close   byte = '1'
	Ping    byte = '2'
	Pong    byte = '3'
	Message byte = '4'
	Upgrade byte = '5'
	Noop    byte = '6'
)

// Separator separates the packets of a long-polling payload.
const Separator = 0x1e

// Packet is one Engine.IO packet. For a binary message, Type is [Message],
// Binary is true and Data holds the raw bytes.
type Packet struct {
	Type   byte
	Data   []byte
	Binary bool
}

// Text returns a text message packet.
func Text(s string) Packet { return Packet{Type: Message, Data: []byte(s)} }

// Bin returns a binary message packet.
func Bin(b []byte) Packet { return Packet{Type: Message, Data: b, Binary: true} }

// Control returns a packet of type t with an optional string payload, such
// as Control(Ping, "probe") or Control(Pong, "").
func Control(t byte, data string) Packet { return Packet{Type: t, Data: []byte(data)} }

// String returns the packet in its text wire form ("4hello"), or "b" and
// the base64 of a binary message.
func (p Packet) String() string {
	if p.Binary {
		return "b" + base64.StdEncoding.EncodeToString(p.Data)
	}
	return string(p.Type) + string(p.Data)
}

// ErrMalformed reports a payload or packet that is not valid Engine.IO.
var ErrMalformed = errors.New("eiotest: malformed packet")

// EncodePayload encodes packets as a long-polling payload: text packets as
// is, binary messages as "b" followed by standard base64, separated by
// [Separator].
func EncodePayload(packets ...Packet) []byte {
	var b []byte
	for i, p := range packets {
		if i > 0 {
			b = append(b, Separator)
		}
		b = append(b, p.String()...)
	}
	return b
}

// DecodePayload decodes a long-polling payload.
func DecodePayload(b []byte) ([]Packet, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	var packets []Packet
	for part := range bytes.SplitSeq(b, []byte{Separator}) {
		if len(part) > 0 && part[0] == 'b' {
			data, err := base64.StdEncoding.DecodeString(string(part[1:]))
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			packets = append(packets, Bin(data))
			continue
		}
		p, err := DecodeText(part)
		if err != nil {
			return nil, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// DecodeText decodes one text packet (a WebSocket text frame, or one
// packet of a payload). The packet's Data is a copy.
func DecodeText(b []byte) (Packet, error) {
	if len(b) == 0 || b[0] < Open || b[0] > Noop {
		return Packet{}, fmt.Errorf("%w: %q", ErrMalformed, b)
	}
	return Packet{Type: b[0], Data: bytes.Clone(b[1:])}, nil
}
