package parser

import (
	"bytes"
	"fmt"
	"math"
	"unicode/utf8"
)

// DefaultMaxAttachments is the number of binary attachments a packet may
// announce when [JSONOptions.MaxAttachments] is zero. It is the default of
// the reference implementation.
const DefaultMaxAttachments = 10

// JSONOptions configures [NewJSON].
type JSONOptions struct {
	// MaxAttachments is the largest number of binary attachments a received
	// packet may announce; packets announcing more are rejected before
	// anything is allocated for them. Zero means DefaultMaxAttachments;
	// a negative value rejects every packet that has attachments.
	MaxAttachments int
}

// JSON is the default codec: the text format of the reference
// socket.io-parser, with binary attachments sent as separate binary
// messages.
var JSON Codec = NewJSON(JSONOptions{})

// NewJSON returns a JSON codec configured by opts.
func NewJSON(opts JSONOptions) Codec {
	maxAtt := opts.MaxAttachments
	switch {
	case maxAtt == 0:
		maxAtt = DefaultMaxAttachments
	case maxAtt < 0:
		maxAtt = 0
	case maxAtt > math.MaxInt32:
		maxAtt = math.MaxInt32 // keeps the count parser free of overflow
	}
	return &jsonCodec{maxAttachments: maxAtt}
}

type jsonCodec struct {
	maxAttachments int
}

// NewDecoder returns a decoder for one connection.
func (c *jsonCodec) NewDecoder() Decoder {
	return &jsonDecoder{maxAttachments: c.maxAttachments, lastNsp: "/"}
}

// decodedPacket allocates a packet together with its payload.
type decodedPacket struct {
	pkt Packet
	pl  jsonPayload
}

type jsonDecoder struct {
	maxAttachments int
	pending        *decodedPacket // binary packet awaiting attachments
	want           int            // attachments announced by pending
	lastNsp        string         // reused to avoid allocating the same namespace again
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPacket}, args...)...)
}

// Add feeds one Engine.IO message.
func (d *jsonDecoder) Add(data []byte, binary bool) (*Packet, error) {
	if binary {
		p := d.pending
		if p == nil {
			return nil, invalid("unexpected binary message")
		}
		if data == nil {
			data = []byte{} // an attachment is never a nil slice (nil encodes as null)
		}
		p.pl.atts = append(p.pl.atts, data)
		if len(p.pl.atts) < d.want {
			return nil, nil
		}
		d.pending = nil
		return &p.pkt, nil
	}
	if d.pending != nil {
		missing := d.want - len(d.pending.pl.atts)
		d.Reset()
		return nil, invalid("text message while %d more binary attachment(s) are expected", missing)
	}
	p, natt, err := d.decodeText(data)
	if err != nil {
		return nil, err
	}
	if natt > 0 {
		p.pl.atts = make([][]byte, 0, min(natt, 16))
		d.pending, d.want = p, natt
		return nil, nil
	}
	return &p.pkt, nil
}

// Reset drops any partial reconstruction state.
func (d *jsonDecoder) Reset() {
	d.pending, d.want = nil, 0
}

// decodeText parses a text message and returns the packet and the number of
// attachments it announces.
func (d *jsonDecoder) decodeText(data []byte) (*decodedPacket, int, error) {
	if len(data) == 0 {
		return nil, 0, invalid("empty message")
	}
	if len(data) > math.MaxInt32 {
		return nil, 0, invalid("message too large")
	}
	if c := data[0]; c < '0' || c > '6' {
		return nil, 0, invalid("unknown packet type %q", c)
	}
	typ := PacketType(data[0] - '0')
	i := 1

	// Attachment count, for binary packets only.
	natt := 0
	binary := typ == BinaryEvent || typ == BinaryAck
	if binary {
		j := i
		for ; j < len(data) && isDigit(data[j]); j++ {
			if natt <= d.maxAttachments {
				natt = natt*10 + int(data[j]-'0')
			}
		}
		if j == i || j == len(data) || data[j] != '-' {
			return nil, 0, invalid("malformed attachment count")
		}
		if natt > d.maxAttachments {
			return nil, 0, invalid("too many attachments (limit %d)", d.maxAttachments)
		}
		i = j + 1
		typ -= BinaryEvent - Event // BinaryEvent→Event, BinaryAck→Ack
	}

	// Namespace: from "/" up to the first "," (consumed) or the end.
	nsp := "/"
	if i < len(data) && data[i] == '/' {
		j := i
		for j < len(data) && data[j] != ',' {
			j++
		}
		raw := data[i:j]
		if !validNamespace(raw) {
			return nil, 0, invalid("malformed namespace")
		}
		if string(raw) != d.lastNsp {
			d.lastNsp = string(raw)
		}
		nsp = d.lastNsp
		i = min(j+1, len(data))
	}

	// Ack id.
	var id uint64
	hasID := false
	if j := skipDigits(data, i); j > i {
		if typ != Event && typ != Ack {
			return nil, 0, invalid("ack id on a %v packet", typ)
		}
		if j-i > 20 {
			return nil, 0, invalid("ack id too large")
		}
		for _, c := range data[i:j] {
			v := uint64(c - '0')
			if id > (math.MaxUint64-v)/10 {
				return nil, 0, invalid("ack id too large")
			}
			id = id*10 + v
		}
		hasID = true
		i = j
	}

	p := &decodedPacket{pkt: Packet{Type: typ, Namespace: nsp, ID: id, HasID: hasID}}
	payload := data[i:]
	if len(payload) == 0 {
		switch typ {
		case Connect, Disconnect:
			return p, natt, nil
		default:
			return nil, 0, invalid("missing payload in %v packet", typ)
		}
	}
	if typ == Disconnect {
		return nil, 0, invalid("unexpected payload in DISCONNECT packet")
	}

	pl := &p.pl
	s := scanner{data: payload, binary: binary, natt: natt, elems: pl.inline[:0]}
	start, end, err := s.scan()
	if err != nil {
		return nil, 0, invalid("%v", err)
	}
	kind := payload[start]
	switch typ {
	case Connect:
		if kind != '{' {
			return nil, 0, invalid("CONNECT payload is not an object")
		}
	case ConnectError:
		if kind != '{' && kind != '"' {
			return nil, 0, invalid("CONNECT_ERROR payload is neither an object nor a string")
		}
	case Event:
		if kind != '[' || len(s.elems) == 0 {
			return nil, 0, invalid("EVENT payload is not a non-empty array")
		}
		e := s.elems[0]
		name := payload[e.start:e.end]
		switch {
		case name[0] == '"':
			if isReservedName(name[1 : len(name)-1]) {
				return nil, 0, invalid("reserved event name %s", name)
			}
		case name[0] == '-' || isDigit(name[0]):
		default:
			return nil, 0, invalid("event name is neither a string nor a number")
		}
	case Ack:
		if kind != '[' {
			return nil, 0, invalid("ACK payload is not an array")
		}
	}
	pl.text = payload
	pl.phs = s.phs
	if s.array {
		pl.elems = s.elems
	} else {
		pl.elems = append(pl.inline[:0], elemSpan{start, end, 0, len(s.phs)})
	}
	p.pkt.Payload = pl
	return p, natt, nil
}

// validNamespace reports whether raw (starting with "/", without ",") is
// valid UTF-8 without control characters.
func validNamespace(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(raw)
}

// isReservedName reports whether the raw contents of a JSON string are a
// reserved event name.
func isReservedName(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		switch string(raw) {
		case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
			return true
		}
		return false
	}
	name, ok := unquote(raw)
	return !ok || IsReservedEvent(name)
}
