package parser

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Encode returns the Engine.IO messages of p: one text message, followed by
// one binary message per attachment.
func (c *jsonCodec) Encode(p *Packet, prefix []byte) ([]Frame, error) {
	if p == nil {
		return nil, invalid("nil packet")
	}
	typ := p.Type
	switch typ {
	case BinaryEvent:
		typ = Event
	case BinaryAck:
		typ = Ack
	}
	if !typ.Valid() {
		return nil, invalid("unknown packet type %d", byte(typ))
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	} else if nsp != "/" && !validOutgoingNamespace(nsp) {
		return nil, invalid("malformed namespace %q", nsp)
	}
	withArray := typ == Event || typ == Ack
	if p.HasID && !withArray {
		return nil, invalid("ack id on a %v packet", typ)
	}

	e := getEncoder(withArray)
	defer putEncoder(e)
	switch {
	case p.Data != nil:
		if err := e.value(p.Data, 0); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidPacket, err)
		}
	case p.Payload != nil:
		if err := e.payload(p.Payload, withArray); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidPacket, err)
		}
	}

	body := e.buf
	switch typ {
	case Connect:
		if string(body) == "null" {
			body = body[:0]
		}
		if len(body) > 0 && body[0] != '{' {
			return nil, invalid("CONNECT data does not encode to a JSON object")
		}
	case Disconnect:
		if len(body) > 0 {
			return nil, invalid("DISCONNECT packet with data")
		}
	case ConnectError:
		if len(body) == 0 || body[0] != '{' && body[0] != '"' {
			return nil, invalid("CONNECT_ERROR data does not encode to a JSON object or string")
		}
	case Event:
		if err := checkEventBody(body); err != nil {
			return nil, err
		}
	case Ack:
		if len(body) == 0 || body[0] != '[' {
			return nil, invalid("ACK data does not encode to a JSON array")
		}
	}

	natt := len(e.atts)
	size := len(prefix) + 1 + len(body)
	if natt > 0 {
		size += decimalLen(uint64(natt)) + 1
	}
	if nsp != "/" {
		size += len(nsp) + 1
	}
	if p.HasID {
		size += decimalLen(p.ID)
	}
	out := make([]byte, 0, size)
	out = append(out, prefix...)
	if natt > 0 {
		out = append(out, '0'+byte(typ+BinaryEvent-Event))
		out = strconv.AppendUint(out, uint64(natt), 10)
		out = append(out, '-')
	} else {
		out = append(out, '0'+byte(typ))
	}
	if nsp != "/" {
		out = append(out, nsp...)
		out = append(out, ',')
	}
	if p.HasID {
		out = strconv.AppendUint(out, p.ID, 10)
	}
	out = append(out, body...)

	frames := make([]Frame, 1+natt)
	frames[0] = Frame{Data: out}
	for i, a := range e.atts {
		frames[1+i] = Frame{Data: a, Binary: true}
	}
	return frames, nil
}

func decimalLen(x uint64) int {
	n := 1
	for x >= 10 {
		x /= 10
		n++
	}
	return n
}

// validOutgoingNamespace reports whether nsp can be encoded so that it
// decodes to itself.
func validOutgoingNamespace(nsp string) bool {
	if nsp[0] != '/' || !utf8.ValidString(nsp) {
		return false
	}
	for i := 0; i < len(nsp); i++ {
		if c := nsp[i]; c < 0x20 || c == 0x7f || c == ',' {
			return false
		}
	}
	return true
}

// checkEventBody checks that the encoded EVENT data is an array whose first
// element is a number or a non-reserved string, whatever Go value produced it.
func checkEventBody(body []byte) error {
	if len(body) == 0 || body[0] != '[' {
		return invalid("EVENT data does not encode to a JSON array")
	}
	i := skipSpace(body, 1) // json.RawMessage data may contain spaces
	if i == len(body) {
		return invalid("malformed EVENT data")
	}
	switch c := body[i]; {
	case c == '"':
		end, err := scanString(body, i)
		if err != nil {
			return invalid("malformed event name")
		}
		if isReservedName(body[i+1 : end-1]) {
			return invalid("reserved event name %s", body[i:end])
		}
	case c == '-' || isDigit(c):
	case c == ']':
		return invalid("EVENT data without an event name")
	default:
		return invalid("event name is neither a string nor a number")
	}
	return nil
}

// encoder writes JSON into buf, extracting binary attachments when binary is
// set. Encoders are pooled.
type encoder struct {
	buf    []byte
	atts   [][]byte
	keys   []string // stack of sorted map keys
	binary bool
	enc    *json.Encoder // fallback for other types, writing into buf
}

// Write lets the fallback json.Encoder append to buf.
func (e *encoder) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	return len(p), nil
}

var encoderPool = sync.Pool{New: func() any {
	e := &encoder{buf: make([]byte, 0, 256)}
	e.enc = json.NewEncoder(e)
	e.enc.SetEscapeHTML(false)
	return e
}}

// maxPooledBuffer keeps occasional huge payloads from pinning memory in the
// pool.
const maxPooledBuffer = 64 << 10

func getEncoder(binary bool) *encoder {
	e := encoderPool.Get().(*encoder)
	e.binary = binary
	return e
}

func putEncoder(e *encoder) {
	if cap(e.buf) > maxPooledBuffer || cap(e.atts) > 64 || cap(e.keys) > 1024 {
		return
	}
	clear(e.atts) // do not retain caller memory
	clear(e.keys[:cap(e.keys)])
	e.buf, e.atts, e.keys = e.buf[:0], e.atts[:0], e.keys[:0]
	encoderPool.Put(e)
}

var errTooDeep = errors.New("data nested too deeply (cyclic?)")

// value appends the JSON encoding of v.
func (e *encoder) value(v any, depth int) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = AppendJSONString(e.buf, v)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, v, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case float64:
		return e.float(v, 64)
	case float32:
		return e.float(float64(v), 32)
	case json.Number:
		if v == "" {
			v = "0" // as encoding/json
		} else if !isJSONNumber(string(v)) {
			return fmt.Errorf("invalid json.Number %q", string(v))
		}
		e.buf = append(e.buf, v...)
	case json.RawMessage:
		if len(v) == 0 {
			e.buf = append(e.buf, "null"...)
		} else {
			e.buf = append(e.buf, v...)
		}
	case []byte:
		e.bytes(v)
	case [][]byte:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			break
		}
		e.buf = append(e.buf, '[')
		for i, b := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.bytes(b)
		}
		e.buf = append(e.buf, ']')
	case []any:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			break
		}
		if depth >= maxNestingDepth {
			return errTooDeep
		}
		e.buf = append(e.buf, '[')
		for i, x := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(x, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case []string:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			break
		}
		e.buf = append(e.buf, '[')
		for i, s := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = AppendJSONString(e.buf, s)
		}
		e.buf = append(e.buf, ']')
	case map[string]any:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			break
		}
		if depth >= maxNestingDepth {
			return errTooDeep
		}
		mark := sortKeys(e, v)
		e.buf = append(e.buf, '{')
		for i := range len(v) {
			k := e.keys[mark+i]
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = AppendJSONString(e.buf, k)
			e.buf = append(e.buf, ':')
			if err := e.value(v[k], depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}')
		e.keys = e.keys[:mark]
	case map[string]string:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			break
		}
		mark := sortKeys(e, v)
		e.buf = append(e.buf, '{')
		for i, k := range e.keys[mark:] {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = AppendJSONString(e.buf, k)
			e.buf = append(e.buf, ':')
			e.buf = AppendJSONString(e.buf, v[k])
		}
		e.buf = append(e.buf, '}')
		e.keys = e.keys[:mark]
	case map[string][]byte:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			break
		}
		mark := sortKeys(e, v)
		e.buf = append(e.buf, '{')
		for i, k := range e.keys[mark:] {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = AppendJSONString(e.buf, k)
			e.buf = append(e.buf, ':')
			e.bytes(v[k])
		}
		e.buf = append(e.buf, '}')
		e.keys = e.keys[:mark]
	default:
		return e.fallback(v)
	}
	return nil
}

// sortKeys pushes the keys of m, sorted as encoding/json sorts them, on the
// key stack and returns their position.
func sortKeys[V any](e *encoder, m map[string]V) int {
	mark := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys[mark:])
	return mark
}

// bytes appends b as an attachment placeholder when extracting binary, and
// as a base64 string (like encoding/json) otherwise. A nil slice is null.
func (e *encoder) bytes(b []byte) {
	switch {
	case b == nil:
		e.buf = append(e.buf, "null"...)
	case e.binary:
		e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
		e.buf = strconv.AppendInt(e.buf, int64(len(e.atts)), 10)
		e.buf = append(e.buf, '}')
		e.atts = append(e.atts, b)
	default:
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
		e.buf = append(e.buf, '"')
	}
}

// float appends f formatted like encoding/json (and JavaScript).
func (e *encoder) float(f float64, bits int) error {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("unsupported value: %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b := strconv.AppendFloat(e.buf, f, format, -1, bits)
	if format == 'e' {
		// Clean up e-09 to e-9.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	e.buf = b
	return nil
}

// fallback encodes v with encoding/json (HTML escaping off).
func (e *encoder) fallback(v any) error {
	n := len(e.buf)
	if err := e.enc.Encode(v); err != nil {
		e.buf = e.buf[:n]
		return err
	}
	if len(e.buf) > n && e.buf[len(e.buf)-1] == '\n' {
		e.buf = e.buf[:len(e.buf)-1]
	}
	return nil
}

// payload appends a decoded payload, reusing the JSON text of elements
// without attachments when it comes from this codec.
func (e *encoder) payload(pl Payload, array bool) error {
	jp, _ := pl.(*jsonPayload)
	if !array {
		if pl.Len() != 1 {
			return fmt.Errorf("payload has %d elements, want 1", pl.Len())
		}
		if jp != nil && len(jp.phs) == 0 {
			el := jp.elems[0]
			e.buf = append(e.buf, jp.text[el.start:el.end]...)
			return nil
		}
		v, err := pl.Value(0)
		if err != nil {
			return err
		}
		return e.value(v, 0)
	}
	e.buf = append(e.buf, '[')
	for i := range pl.Len() {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if jp != nil {
			if el := jp.elems[i]; el.ph0 == el.ph1 {
				e.buf = append(e.buf, jp.text[el.start:el.end]...)
				continue
			}
		}
		v, err := pl.Value(i)
		if err != nil {
			return err
		}
		if err := e.value(v, 1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string exactly as encoding/json
// does with HTML escaping off: invalid UTF-8 becomes U+FFFD, U+2028 and
// U+2029 are escaped. Codecs that write JSON text (the msgpack codec's
// conversions) use it too, so that both write strings alike.
func AppendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		// At most UTFMax bytes: the conversion needs no allocation.
		c, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
