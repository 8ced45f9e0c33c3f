package siotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// PacketType is the type of a Socket.IO packet.
type PacketType byte

// The Socket.IO packet types.
const (
	TypeConnect      PacketType = 0
	TypeDisconnect   PacketType = 1
	TypeEvent        PacketType = 2
	TypeAck          PacketType = 3
	TypeConnectError PacketType = 4
	TypeBinaryEvent  PacketType = 5
	TypeBinaryAck    PacketType = 6
)

// String returns the protocol name of t.
func (t PacketType) String() string {
	names := [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	if int(t) < len(names) {
		return names[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Packet is a Socket.IO packet received from the server.
type Packet struct {
	// Type is the type as sent: BinaryEvent and BinaryAck are kept, so that
	// tests can check how the server encoded a packet.
	Type      PacketType
	Namespace string
	ID        uint64
	HasID     bool
	// Data is the payload decoded by encoding/json (numbers are float64),
	// with binary attachments in place of their placeholders as []byte;
	// nil when the packet has no payload.
	Data any
	// Text is the text message as received, without the Engine.IO type.
	Text string
	// Attachments are the binary messages that followed the text message.
	Attachments [][]byte
}

// ErrMalformed is returned for a packet from the server that is not valid
// Socket.IO.
var ErrMalformed = errors.New("siotest: malformed Socket.IO packet")

// maxAttachments bounds the attachments a server packet may announce.
const maxAttachments = 1000

// decodeHeader parses a text message into a packet whose Data is not yet
// decoded, and returns the number of attachments it announces and the JSON
// payload.
func decodeHeader(text []byte) (*Packet, int, []byte, error) {
	if len(text) == 0 || text[0] < '0' || text[0] > '6' {
		return nil, 0, nil, fmt.Errorf("%w: %q", ErrMalformed, text)
	}
	p := &Packet{Type: PacketType(text[0] - '0'), Namespace: "/", Text: string(text)}
	i := 1
	natt := 0
	if p.Type == TypeBinaryEvent || p.Type == TypeBinaryAck {
		j := i
		for j < len(text) && '0' <= text[j] && text[j] <= '9' {
			j++
		}
		if j == i || j == len(text) || text[j] != '-' {
			return nil, 0, nil, fmt.Errorf("%w: attachment count in %q", ErrMalformed, text)
		}
		n, err := strconv.Atoi(string(text[i:j]))
		if err != nil || n > maxAttachments {
			return nil, 0, nil, fmt.Errorf("%w: attachment count in %q", ErrMalformed, text)
		}
		natt, i = n, j+1
	}
	if i < len(text) && text[i] == '/' {
		j := bytes.IndexByte(text[i:], ',')
		if j < 0 {
			p.Namespace, i = string(text[i:]), len(text)
		} else {
			p.Namespace, i = string(text[i:i+j]), i+j+1
		}
	}
	j := i
	for j < len(text) && '0' <= text[j] && text[j] <= '9' {
		j++
	}
	if j > i {
		id, err := strconv.ParseUint(string(text[i:j]), 10, 64)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%w: ack id in %q", ErrMalformed, text)
		}
		p.ID, p.HasID, i = id, true, j
	}
	return p, natt, text[i:], nil
}

// decodePayload decodes a packet's JSON payload and puts its attachments in
// place of the placeholders.
func decodePayload(p *Packet, payload []byte) error {
	if len(payload) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return fmt.Errorf("%w: %w in %q", ErrMalformed, err, p.Text)
	}
	if p.Type == TypeBinaryEvent || p.Type == TypeBinaryAck {
		var err error
		if v, err = resolve(v, p.Attachments); err != nil {
			return err
		}
	}
	p.Data = v
	return nil
}

func resolve(v any, atts [][]byte) (any, error) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			r, err := resolve(e, atts)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			n, ok := x["num"].(float64)
			if !ok || n < 0 || int(n) >= len(atts) || n != float64(int(n)) {
				return nil, fmt.Errorf("%w: placeholder %v out of range", ErrMalformed, x["num"])
			}
			return atts[int(n)], nil
		}
		for k, e := range x {
			r, err := resolve(e, atts)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	}
	return v, nil
}

// Encode returns the text message and binary attachments of a packet sent
// by a client: []byte values anywhere inside []any and map[string]any
// become attachments (and the type its binary form); other values are
// encoded by encoding/json. data nil writes no payload. id < 0 writes no
// ack id.
func Encode(typ PacketType, nsp string, id int64, data any) (string, [][]byte, error) {
	var atts [][]byte
	var payload []byte
	if data != nil {
		v := extract(data, &atts)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", nil, err
		}
		payload = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	var b []byte
	if len(atts) > 0 {
		switch typ {
		case TypeEvent:
			typ = TypeBinaryEvent
		case TypeAck:
			typ = TypeBinaryAck
		}
		b = append(b, '0'+byte(typ))
		b = strconv.AppendInt(b, int64(len(atts)), 10)
		b = append(b, '-')
	} else {
		b = append(b, '0'+byte(typ))
	}
	if nsp != "" && nsp != "/" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	if id >= 0 {
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, payload...)
	return string(b), atts, nil
}

// extract returns a copy of v with every []byte replaced by a placeholder,
// numbered depth first in the order of the JSON text (map keys sorted, as
// encoding/json writes them).
func extract(v any, atts *[][]byte) any {
	switch x := v.(type) {
	case []byte:
		*atts = append(*atts, x)
		return map[string]any{"_placeholder": true, "num": len(*atts) - 1}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = extract(e, atts)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out[k] = extract(x[k], atts)
		}
		return out
	}
	return v
}
