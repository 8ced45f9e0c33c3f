package msgpackparser

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/e347a4c2/socketio/core/parser"
)

// span locates one payload element in the message.
type span struct{ start, end int }

// payload is the Payload of a decoded packet: the validated message and the
// bounds of its elements, decoded on demand. It is never modified after
// decoding, so concurrent reads are safe.
type payload struct {
	data   []byte
	elems  []span
	extBin bool    // the message holds an ext type 0 binary (re-encoded as bin when forwarded)
	array  bool    // the elements are those of an array (EVENT, ACK)
	inline [4]span // backing store for elems of small payloads
}

// Len returns the number of elements.
func (p *payload) Len() int { return len(p.elems) }

func (p *payload) elem(i int) (span, error) {
	if uint(i) >= uint(len(p.elems)) {
		return span{}, fmt.Errorf("%w: %d not in [0,%d)", parser.ErrIndexOutOfRange, i, len(p.elems))
	}
	return p.elems[i], nil
}

// valueMode selects how numbers and binaries become Go values.
type valueMode uint8

const (
	// plainValues is the mode of Value: json.Number, []byte.
	plainValues valueMode = iota
	// jsonValues is what json.Unmarshal into an `any` gives for Raw's text:
	// float64, base64 strings.
	jsonValues
)

// undefined marks a JavaScript undefined while building values: it is left
// out of maps (as JSON.stringify does) and becomes nil elsewhere.
type undefinedType struct{}

var undefined any = undefinedType{}

// Value returns element i as a plain Go value: nil, bool, string,
// json.Number, []any, map[string]any, and []byte for binaries.
func (p *payload) Value(i int) (any, error) {
	s, err := p.elem(i)
	if err != nil {
		return nil, err
	}
	v, _, err := decodeValue(p.data, s.start, plainValues)
	if err != nil {
		return nil, fmt.Errorf("socket.io: payload element %d: %w", i, err)
	}
	if v == undefined {
		v = nil
	}
	return v, nil
}

// decodeValue decodes the (validated) value at data[i] and returns the
// position after it.
func decodeValue(data []byte, i int, mode valueMode) (any, int, error) {
	it, next, err := readItem(data, i)
	if err != nil {
		return nil, 0, err
	}
	switch it.kind {
	case kNil:
		return nil, next, nil
	case kBool:
		return it.v != 0, next, nil
	case kUint:
		if mode == jsonValues {
			return float64(it.v), next, nil
		}
		return json.Number(strconv.FormatUint(it.v, 10)), next, nil
	case kInt:
		if mode == jsonValues {
			return float64(it.int()), next, nil
		}
		return json.Number(strconv.FormatInt(it.int(), 10)), next, nil
	case kFloat:
		switch {
		case !isFinite(it.float()):
			return nil, next, nil // JSON.stringify writes null
		case mode == jsonValues:
			return it.float(), next, nil
		}
		var tmp [32]byte
		return json.Number(formatFloat(tmp[:0], it.float())), next, nil
	case kStr:
		return bytesString(data[it.start : it.start+it.n]), next, nil
	case kBin:
		b := data[it.start : it.start+it.n : it.start+it.n]
		if mode == jsonValues {
			return base64.StdEncoding.EncodeToString(b), next, nil
		}
		return b, next, nil
	case kUndefined:
		return undefined, next, nil
	case kDate:
		var tmp [32]byte
		if b, ok := appendDate(tmp[:0], it.int()); ok {
			return string(b), next, nil
		}
		return nil, next, nil
	case kArray:
		a := make([]any, it.n)
		i = next
		for k := range a {
			var v any
			if v, i, err = decodeValue(data, i, mode); err != nil {
				return nil, 0, err
			}
			if v != undefined {
				a[k] = v
			}
		}
		return a, i, nil
	case kMap:
		m := make(map[string]any, it.n)
		i = next
		for range it.n {
			var k string
			if k, i, err = decodeKey(data, i); err != nil {
				return nil, 0, err
			}
			var v any
			if v, i, err = decodeValue(data, i, mode); err != nil {
				return nil, 0, err
			}
			if v != undefined { // JSON.stringify leaves undefined members out
				m[k] = v
			}
		}
		return m, i, nil
	}
	return nil, 0, errFormat
}

// decodeKey decodes a map key (a string or an integer, which JavaScript
// turns into its decimal string).
func decodeKey(data []byte, i int) (string, int, error) {
	it, next, err := readItem(data, i)
	if err != nil {
		return "", 0, err
	}
	switch it.kind {
	case kStr:
		return bytesString(data[it.start : it.start+it.n]), next, nil
	case kUint:
		return strconv.FormatUint(it.v, 10), next, nil
	case kInt:
		return strconv.FormatInt(it.int(), 10), next, nil
	}
	return "", 0, errKey
}

// maxDate is the range of JavaScript dates, in milliseconds.
const maxDate = 8.64e15

// appendDate appends ms (milliseconds since the epoch) as
// Date.prototype.toISOString formats it, or reports false for a date out of
// JavaScript's range (which JSON.stringify writes as null).
func appendDate(b []byte, ms int64) ([]byte, bool) {
	if ms < -maxDate || ms > maxDate {
		return b, false
	}
	t := time.UnixMilli(ms).UTC()
	y := t.Year()
	switch {
	case y < 0:
		b = append(b, '-')
		b = appendPadded(b, -y, 6)
	case y > 9999:
		b = append(b, '+')
		b = appendPadded(b, y, 6)
	default:
		b = appendPadded(b, y, 4)
	}
	b = append(b, '-')
	b = appendPadded(b, int(t.Month()), 2)
	b = append(b, '-')
	b = appendPadded(b, t.Day(), 2)
	b = append(b, 'T')
	b = appendPadded(b, t.Hour(), 2)
	b = append(b, ':')
	b = appendPadded(b, t.Minute(), 2)
	b = append(b, ':')
	b = appendPadded(b, t.Second(), 2)
	b = append(b, '.')
	b = appendPadded(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z'), true
}

func appendPadded(b []byte, v, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// Raw returns element i as JSON text: binaries as base64 strings, dates as
// ISO strings, undefined as null (left out of objects), non-finite numbers
// as null, as JSON.stringify would write them.
func (p *payload) Raw(i int) (json.RawMessage, error) {
	s, err := p.elem(i)
	if err != nil {
		return nil, err
	}
	out, _, err := appendRaw(make([]byte, 0, 2*(s.end-s.start)+8), p.data, s.start)
	if err != nil {
		return nil, fmt.Errorf("socket.io: payload element %d: %w", i, err)
	}
	return out, nil
}

// appendRaw appends the (validated) value at data[i] as JSON and returns the
// position after it.
func appendRaw(b, data []byte, i int) ([]byte, int, error) {
	it, next, err := readItem(data, i)
	if err != nil {
		return nil, 0, err
	}
	switch it.kind {
	case kNil, kUndefined:
		b = append(b, "null"...)
	case kBool:
		b = strconv.AppendBool(b, it.v != 0)
	case kUint:
		b = strconv.AppendUint(b, it.v, 10)
	case kInt:
		b = strconv.AppendInt(b, it.int(), 10)
	case kFloat:
		if isFinite(it.float()) {
			b = formatFloat(b, it.float())
		} else {
			b = append(b, "null"...)
		}
	case kStr:
		b = parser.AppendJSONString(b, data[it.start:it.start+it.n])
	case kBin:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, data[it.start:it.start+it.n])
		b = append(b, '"')
	case kDate:
		var tmp [32]byte
		if d, ok := appendDate(tmp[:0], it.int()); ok {
			b = append(b, '"')
			b = append(b, d...)
			b = append(b, '"')
		} else {
			b = append(b, "null"...)
		}
	case kArray:
		b = append(b, '[')
		i = next
		for k := range it.n {
			if k > 0 {
				b = append(b, ',')
			}
			if b, i, err = appendRaw(b, data, i); err != nil {
				return nil, 0, err
			}
		}
		return append(b, ']'), i, nil
	case kMap:
		b = append(b, '{')
		i = next
		first := true
		for range it.n {
			key, valPos, err := readItem(data, i)
			if err != nil {
				return nil, 0, err
			}
			if v, end, err := readItem(data, valPos); err == nil && v.kind == kUndefined {
				i = end // JSON.stringify leaves undefined members out
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			switch key.kind {
			case kStr:
				b = parser.AppendJSONString(b, data[key.start:key.start+key.n])
			case kUint:
				b = append(b, '"')
				b = strconv.AppendUint(b, key.v, 10)
				b = append(b, '"')
			case kInt:
				b = append(b, '"')
				b = strconv.AppendInt(b, key.int(), 10)
				b = append(b, '"')
			default:
				return nil, 0, errKey
			}
			b = append(b, ':')
			if b, i, err = appendRaw(b, data, valPos); err != nil {
				return nil, 0, err
			}
		}
		return append(b, '}'), i, nil
	default:
		return nil, 0, errFormat
	}
	return b, next, nil
}

// Decode decodes element i into dst as json.Unmarshal decodes Raw(i): a
// binary decodes into a []byte (into an `any` it is a base64 string, as with
// the JSON codec; Value gives []byte). Common targets are decoded directly.
func (p *payload) Decode(i int, dst any) error {
	s, err := p.elem(i)
	if err != nil {
		return err
	}
	if p.decodeFast(s, dst) {
		return nil
	}
	raw, _, err := appendRaw(make([]byte, 0, 2*(s.end-s.start)+8), p.data, s.start)
	if err == nil {
		err = json.Unmarshal(raw, dst)
	}
	if err != nil {
		return fmt.Errorf("socket.io: payload element %d: %w", i, err)
	}
	return nil
}

// decodeFast decodes the element at s into dst without going through JSON
// when dst is a common target and the result is what json.Unmarshal would
// give. It reports false when the general path must be taken.
func (p *payload) decodeFast(s span, dst any) bool {
	it, _, err := readItem(p.data, s.start)
	if err != nil {
		return false
	}
	switch d := dst.(type) {
	case *string:
		if d != nil && it.kind == kStr {
			*d = bytesString(p.data[it.start : it.start+it.n])
			return true
		}
	case *[]byte:
		if d != nil && it.kind == kBin {
			*d = p.data[it.start : it.start+it.n : it.start+it.n]
			return true
		}
	case *bool:
		if d != nil && it.kind == kBool {
			*d = it.v != 0
			return true
		}
	case *int:
		if d != nil {
			switch {
			case it.kind == kUint && it.v <= math.MaxInt:
				*d = int(it.v)
				return true
			case it.kind == kInt && it.int() >= math.MinInt:
				*d = int(it.int())
				return true
			}
		}
	case *int64:
		if d != nil {
			switch {
			case it.kind == kUint && it.v <= math.MaxInt64:
				*d = int64(it.v)
				return true
			case it.kind == kInt:
				*d = it.int()
				return true
			}
		}
	case *uint64:
		if d != nil && it.kind == kUint {
			*d = it.v
			return true
		}
	case *float64:
		if d != nil {
			switch it.kind {
			case kUint:
				*d = float64(it.v)
				return true
			case kInt:
				*d = float64(it.int())
				return true
			case kFloat:
				if isFinite(it.float()) {
					*d = it.float()
					return true
				}
			}
		}
	case *json.RawMessage:
		if d != nil {
			raw, _, err := appendRaw((*d)[:0], p.data, s.start)
			if err == nil {
				*d = raw
				return true
			}
		}
	case *any:
		// json.Unmarshal decodes into a pointer held by the interface.
		if d != nil && *d == nil {
			v, _, err := decodeValue(p.data, s.start, jsonValues)
			if err == nil {
				if v == undefined {
					v = nil
				}
				*d = v
				return true
			}
		}
	case *map[string]any:
		if d == nil {
			return false
		}
		switch it.kind {
		case kNil:
			*d = nil
			return true
		case kMap:
			v, _, err := decodeValue(p.data, s.start, jsonValues)
			if err != nil {
				return false
			}
			m := v.(map[string]any)
			if *d == nil {
				*d = m
			} else {
				maps.Copy(*d, m) // json.Unmarshal adds to an existing map
			}
			return true
		}
	}
	return false
}

// String returns the payload as JSON text, for logging.
func (p *payload) String() string {
	var b []byte
	if p.array {
		b = append(b, '[')
	}
	for k, s := range p.elems {
		if k > 0 {
			b = append(b, ',')
		}
		var err error
		if b, _, err = appendRaw(b, p.data, s.start); err != nil {
			return "<invalid payload>"
		}
	}
	if p.array {
		b = append(b, ']')
	}
	return string(b)
}
