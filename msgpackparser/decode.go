package msgpackparser

import (
	"errors"
	"math"
	"unicode/utf8"

	"github.com/e347a4c2/socketio/core/parser"
)

// NewDecoder returns a decoder for one connection. It holds no packet
// state: every packet is one message.
func (c *codec) NewDecoder() parser.Decoder {
	return &decoder{maxDepth: c.maxDepth, lastNsp: "/"}
}

type decoder struct {
	maxDepth int
	lastNsp  string // reused to avoid allocating the same namespace again
	extBin   bool   // the message being decoded holds an ext type 0 binary
	stack    []open // reused by skip
}

// open is a container being skipped: how many items it still holds.
type open struct {
	remaining uint64
	isMap     bool
}

// decodedPacket allocates a packet together with its payload.
type decodedPacket struct {
	pkt parser.Packet
	pl  payload
}

var (
	errDepth = errors.New("data nested too deeply")
	errKey   = errors.New("map key is neither a string nor an integer")
)

// Reset does nothing: a packet is always one message.
func (d *decoder) Reset() {}

// Add decodes one binary message. The whole message is validated (MessagePack
// syntax, packet shape, nesting depth) before a packet is returned; its
// payload is decoded when Payload methods are called.
func (d *decoder) Add(data []byte, binary bool) (*parser.Packet, error) {
	if !binary {
		return nil, invalid("text message (socket.io-msgpack-parser sends binary messages only)")
	}
	top, i, err := readItem(data, 0)
	if err != nil {
		return nil, invalid("%v", err)
	}
	if top.kind != kMap {
		return nil, invalid("packet is not a map")
	}
	d.extBin = false
	p := &decodedPacket{}
	pl := &p.pl
	typePos, nspPos, idPos, dataPos := -1, -1, -1, -1
	var dataKind kind
	for range top.n {
		key, next, err := readItem(data, i)
		if err != nil {
			return nil, invalid("%v", err)
		}
		var name []byte
		switch key.kind {
		case kStr:
			name = data[key.start : key.start+key.n]
		case kInt, kUint: // a member the packet does not use
		default:
			return nil, invalid("%v", errKey)
		}
		i = next
		switch string(name) {
		case "type":
			typePos = i
		case "nsp":
			nspPos = i
		case "id":
			idPos = i
		case "data":
			dataPos = i
			if dataKind, i, err = d.data(data, i, pl); err != nil {
				return nil, invalid("%v", err)
			}
			continue
		}
		if i, err = d.skip(data, i, 1); err != nil {
			return nil, invalid("%v", err)
		}
	}
	if i != len(data) {
		return nil, invalid("%d trailing bytes", len(data)-i)
	}

	typ, err := packetType(data, typePos)
	if err != nil {
		return nil, err
	}
	nsp, err := d.namespace(data, nspPos)
	if err != nil {
		return nil, err
	}
	p.pkt = parser.Packet{Type: typ, Namespace: nsp}
	if idPos >= 0 {
		if p.pkt.ID, p.pkt.HasID, err = ackID(data, idPos); err != nil {
			return nil, err
		}
		if p.pkt.HasID && typ != parser.Event && typ != parser.Ack {
			return nil, invalid("ack id on a %v packet", typ)
		}
	}

	if dataPos < 0 || dataKind == kUndefined {
		switch typ {
		case parser.Connect, parser.Disconnect:
			return &p.pkt, nil
		}
		return nil, invalid("missing data in %v packet", typ)
	}
	switch typ {
	case parser.Connect:
		if dataKind != kMap {
			return nil, invalid("CONNECT data is not a map")
		}
	case parser.Disconnect:
		return nil, invalid("unexpected data in DISCONNECT packet")
	case parser.ConnectError:
		if dataKind != kMap && dataKind != kStr {
			return nil, invalid("CONNECT_ERROR data is neither a map nor a string")
		}
	case parser.Event:
		if dataKind != kArray || len(pl.elems) == 0 {
			return nil, invalid("EVENT data is not a non-empty array")
		}
		if err := checkEventName(data, pl.elems[0].start); err != nil {
			return nil, err
		}
	case parser.Ack:
		if dataKind != kArray {
			return nil, invalid("ACK data is not an array")
		}
	}
	pl.data = data
	pl.extBin = d.extBin
	p.pkt.Payload = pl
	return &p.pkt, nil
}

// data validates the packet data at data[i], recording in pl the span of
// each element of an array, or the span of the value itself otherwise.
func (d *decoder) data(data []byte, i int, pl *payload) (kind, int, error) {
	it, next, err := readItem(data, i)
	if err != nil {
		return 0, 0, err
	}
	if it.kind != kArray {
		end, err := d.skip(data, i, 1)
		if err != nil {
			return 0, 0, err
		}
		pl.elems = append(pl.inline[:0], span{i, end})
		pl.array = false
		return it.kind, end, nil
	}
	if it.n <= len(pl.inline) {
		pl.elems = pl.inline[:0]
	} else {
		pl.elems = make([]span, 0, it.n) // it.n is at most the bytes left
	}
	pl.array = true
	i = next
	for range it.n {
		end, err := d.skip(data, i, 2)
		if err != nil {
			return 0, 0, err
		}
		pl.elems = append(pl.elems, span{i, end})
		i = end
	}
	return kArray, i, nil
}

// skip validates the value at data[i], at nesting depth depth, and returns
// the position after it. Map keys must be strings or integers; only the
// extension types notepack.io writes are accepted. It does not recurse and
// allocates nothing but the stack it reuses.
func (d *decoder) skip(data []byte, i, depth int) (int, error) {
	stack := d.stack[:0]
	for {
		// The common one-byte headers are handled here; readItem does the
		// rest.
		if i >= len(data) {
			d.stack = stack
			return 0, errTruncated
		}
		var k kind
		var n int
		switch c := data[i]; {
		case c <= 0x7f:
			k, i = kUint, i+1
		case c >= 0xe0:
			k, i = kInt, i+1
		case c >= 0xa0 && c <= 0xbf:
			n = int(c & 0x1f)
			if n > len(data)-i-1 {
				d.stack = stack
				return 0, errTooLong
			}
			k, i = kStr, i+1+n
		case c == mpNil:
			k, i = kNil, i+1
		default:
			it, next, err := readItem(data, i)
			if err != nil {
				d.stack = stack
				return 0, err
			}
			k, n, i = it.kind, it.n, next
			if it.ext {
				d.extBin = true
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].isMap && stack[len(stack)-1].remaining%2 == 0 {
			if k != kStr && k != kInt && k != kUint {
				d.stack = stack
				return 0, errKey
			}
		}
		if k == kArray || k == kMap {
			if depth+len(stack) > d.maxDepth {
				d.stack = stack
				return 0, errDepth
			}
			if n > 0 {
				items := uint64(n)
				if k == kMap {
					items *= 2
				}
				stack = append(stack, open{remaining: items, isMap: k == kMap})
				continue
			}
		}
		// A value is complete: close the containers it completes.
		for {
			top := len(stack) - 1
			if top < 0 {
				d.stack = stack // keep the grown buffer
				return i, nil
			}
			stack[top].remaining--
			if stack[top].remaining > 0 {
				break
			}
			stack = stack[:top]
		}
	}
}

// packetType reads the packet type at data[pos]: an integer from 0 to 4
// (the binary types 5 and 6 do not exist in this format).
func packetType(data []byte, pos int) (parser.PacketType, error) {
	if pos < 0 {
		return 0, invalid("missing packet type")
	}
	it, _, _ := readItem(data, pos) // validated
	switch {
	case it.kind == kUint && it.v <= uint64(parser.ConnectError):
		return parser.PacketType(it.v), nil
	case it.kind == kFloat && it.float() >= 0 && it.float() <= float64(parser.ConnectError) && it.float() == math.Trunc(it.float()):
		// JavaScript's Number.isInteger accepts 2.0.
		return parser.PacketType(it.float()), nil
	}
	return 0, invalid("invalid packet type")
}

// namespace reads the namespace at data[pos]: a valid UTF-8 string starting
// with "/".
func (d *decoder) namespace(data []byte, pos int) (string, error) {
	if pos < 0 {
		return "", invalid("missing namespace")
	}
	it, _, _ := readItem(data, pos) // validated
	if it.kind != kStr {
		return "", invalid("namespace is not a string")
	}
	raw := data[it.start : it.start+it.n]
	if len(raw) == 0 || raw[0] != '/' || !utf8.Valid(raw) {
		return "", invalid("malformed namespace %q", raw)
	}
	if string(raw) != d.lastNsp {
		d.lastNsp = string(raw)
	}
	return d.lastNsp, nil
}

// ackID reads the ack id at data[pos]: undefined (no id) or a non-negative
// integer.
func ackID(data []byte, pos int) (uint64, bool, error) {
	it, _, _ := readItem(data, pos) // validated
	switch {
	case it.kind == kUndefined:
		return 0, false, nil
	case it.kind == kUint:
		return it.v, true, nil
	case it.kind == kFloat && it.float() >= 0 && it.float() < 1<<64 && it.float() == math.Trunc(it.float()):
		return uint64(it.float()), true, nil
	}
	return 0, false, invalid("invalid ack id")
}
