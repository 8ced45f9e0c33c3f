package msgpackparser

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/e347a4c2/socketio/core/parser"
)

// DefaultMaxDepth is the nesting of arrays and maps allowed in a packet's
// data when no [WithMaxDepth] option is given.
const DefaultMaxDepth = 1000

// maxMaxDepth is the largest depth [WithMaxDepth] accepts: the nesting limit
// of encoding/json, which Payload.Decode relies on.
const maxMaxDepth = 10000

// Option configures the codec returned by [New].
type Option func(*codec)

// WithMaxDepth sets how deeply arrays and maps may nest in the data of a
// packet (the data array or map itself is depth 1), in both directions:
// received packets nested deeper are rejected, and encoding deeper values
// (or cyclic ones) fails. n < 1 means [DefaultMaxDepth]; values above 10000,
// the limit of encoding/json, are lowered to it.
func WithMaxDepth(n int) Option {
	return func(c *codec) {
		switch {
		case n < 1:
			c.maxDepth = DefaultMaxDepth
		case n > maxMaxDepth:
			c.maxDepth = maxMaxDepth
		default:
			c.maxDepth = n
		}
	}
}

// New returns a MessagePack codec compatible with socket.io-msgpack-parser.
// Pass it to the server with core.WithCodec; every client must then use
// socket.io-msgpack-parser.
func New(opts ...Option) parser.Codec {
	c := &codec{maxDepth: DefaultMaxDepth}
	for _, o := range opts {
		o(c)
	}
	return c
}

type codec struct {
	maxDepth int
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{parser.ErrInvalidPacket}, args...)...)
}

// Encode returns the packet as one binary message: a MessagePack map with
// "type", "nsp", "data" (when there is data) and "id" (when HasID is set).
// prefix is ignored: the message is binary.
func (c *codec) Encode(p *parser.Packet, _ []byte) ([]parser.Frame, error) {
	if p == nil {
		return nil, invalid("nil packet")
	}
	typ := p.Type
	switch typ {
	case parser.BinaryEvent:
		typ = parser.Event
	case parser.BinaryAck:
		typ = parser.Ack
	}
	if !typ.Valid() {
		return nil, invalid("unknown packet type %d", byte(typ))
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	} else if nsp[0] != '/' || !utf8.ValidString(nsp) {
		return nil, invalid("malformed namespace %q", nsp)
	}
	withArray := typ == parser.Event || typ == parser.Ack
	if p.HasID && !withArray {
		return nil, invalid("ack id on a %v packet", typ)
	}

	e := getEncoder(c.maxDepth)
	defer putEncoder(e)
	b := e.buf[:0]
	b = append(b, 0x80, 0xa4, 't', 'y', 'p', 'e', byte(typ), 0xa3, 'n', 's', 'p')
	b = appendStr(b, nsp)
	fields := 2
	mark := len(b)
	b = append(b, 0xa4, 'd', 'a', 't', 'a')
	start := len(b)
	var err error
	switch {
	case p.Data != nil:
		b, err = e.value(b, p.Data, 0)
	case p.Payload != nil:
		b, err = e.payload(b, p.Payload, withArray)
	default:
		b = appendNil(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", parser.ErrInvalidPacket, err)
	}
	if err := checkData(typ, b[start:]); err != nil {
		return nil, err
	}
	if b[start] == mpNil && (typ == parser.Connect || typ == parser.Disconnect) {
		b = b[:mark] // no data
	} else {
		fields++
	}
	if p.HasID {
		b = append(b, 0xa2, 'i', 'd')
		b = appendUint(b, p.ID)
		fields++
	}
	b[0] = 0x80 | byte(fields)
	e.buf = b // keep the grown buffer in the pool

	msg := append([]byte(nil), b...) // not zeroed first, unlike make
	return []parser.Frame{{Data: msg, Binary: true}}, nil
}

// checkData checks that the encoded data suits the packet type, whatever Go
// value produced it.
func checkData(typ parser.PacketType, data []byte) error {
	it, next, err := readItem(data, 0)
	if err != nil {
		return invalid("%v", err)
	}
	switch typ {
	case parser.Connect:
		if it.kind != kNil && it.kind != kMap {
			return invalid("CONNECT data does not encode to a map")
		}
	case parser.Disconnect:
		if it.kind != kNil {
			return invalid("DISCONNECT packet with data")
		}
	case parser.ConnectError:
		if it.kind != kMap && it.kind != kStr {
			return invalid("CONNECT_ERROR data does not encode to a map or a string")
		}
	case parser.Event:
		if it.kind != kArray {
			return invalid("EVENT data does not encode to an array")
		}
		if it.n == 0 {
			return invalid("EVENT data without an event name")
		}
		return checkEventName(data, next)
	case parser.Ack:
		if it.kind != kArray {
			return invalid("ACK data does not encode to an array")
		}
	}
	return nil
}

// checkEventName checks that the value at data[i] is a number or a string
// other than a reserved event name.
func checkEventName(data []byte, i int) error {
	name, _, err := readItem(data, i)
	if err != nil {
		return invalid("%v", err)
	}
	switch name.kind {
	case kStr:
		if s := data[name.start : name.start+name.n]; parser.IsReservedEvent(string(s)) {
			return invalid("reserved event name %q", s)
		}
	case kInt, kUint:
	case kFloat:
		if !isFinite(name.float()) {
			return invalid("event name is not a finite number")
		}
	default:
		return invalid("event name is neither a string nor a number")
	}
	return nil
}

// payload appends a decoded payload being forwarded. Elements of a payload
// of this codec are copied as they are, unless they hold a Node ArrayBuffer
// (ext type 0, which browsers cannot decode), which becomes bin.
func (e *encoder) payload(b []byte, pl parser.Payload, array bool) ([]byte, error) {
	mp, _ := pl.(*payload)
	n := pl.Len()
	if !array && n != 1 {
		return nil, fmt.Errorf("payload has %d elements, want 1", n)
	}
	depth := 0
	if array {
		if !fitsLength(n) {
			return nil, errLength
		}
		b = appendArrayHeader(b, n)
		depth = 1
	}
	for i := range n {
		if mp != nil && !mp.extBin {
			s := mp.elems[i]
			b = append(b, mp.data[s.start:s.end]...)
			continue
		}
		v, err := pl.Value(i)
		if err != nil {
			return nil, err
		}
		if b, err = e.value(b, v, depth); err != nil {
			return nil, err
		}
	}
	return b, nil
}

var errTooDeep = errors.New("data nested too deeply (cyclic?)")
