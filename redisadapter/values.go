package redisadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/e347a4c2/socketio/core/parser"
)

// Values cross the cluster in two encodings: msgpack (notepack.io on the
// Node side) and JSON. Whatever the encoding, a decoded value is a tree of
//
//	nil, bool, string, json.Number, []byte, []any, map[string]any
//
// the same types a packet's parser.Payload gives, so that an event from a
// Node server reaches a Go client exactly as a local one would. Outgoing
// values may be anything encoding/json accepts: []byte at the top level or
// inside []any and map[string]any become msgpack bin (Node Buffers), as
// the socket.io parser makes them binary attachments; other values go
// through encoding/json first (so a struct's []byte field is a base64
// string, as a local client would receive it).

// maxDepth bounds the nesting of values, both ways.
const maxDepth = 1000

var errTooDeep = errors.New("redisadapter: value nested too deeply (cyclic?)")

// writeValue appends the msgpack encoding of v.
func writeValue(enc *msgpack.Encoder, v any, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch v := v.(type) {
	case nil:
		return enc.EncodeNil()
	case bool:
		return enc.EncodeBool(v)
	case string:
		return enc.EncodeString(v)
	case int:
		return enc.EncodeInt(int64(v))
	case int8:
		return enc.EncodeInt(int64(v))
	case int16:
		return enc.EncodeInt(int64(v))
	case int32:
		return enc.EncodeInt(int64(v))
	case int64:
		return enc.EncodeInt(v)
	case uint:
		return enc.EncodeUint(uint64(v))
	case uint8:
		return enc.EncodeUint(uint64(v))
	case uint16:
		return enc.EncodeUint(uint64(v))
	case uint32:
		return enc.EncodeUint(uint64(v))
	case uint64:
		return enc.EncodeUint(v)
	case float32:
		return writeFloat(enc, float64(v))
	case float64:
		return writeFloat(enc, v)
	case json.Number:
		return writeNumber(enc, v)
	case []byte:
		if v == nil {
			return enc.EncodeNil()
		}
		return enc.EncodeBytes(v)
	case json.RawMessage:
		if len(v) == 0 {
			return enc.EncodeNil()
		}
		tree, err := decodeJSONOrdered(v)
		if err != nil {
			return err
		}
		return writeValue(enc, tree, depth)
	case []any:
		if v == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeArrayLen(len(v)); err != nil {
			return err
		}
		for _, x := range v {
			if err := writeValue(enc, x, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []string:
		if v == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeArrayLen(len(v)); err != nil {
			return err
		}
		for _, s := range v {
			if err := enc.EncodeString(s); err != nil {
				return err
			}
		}
		return nil
	case [][]byte:
		if v == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeArrayLen(len(v)); err != nil {
			return err
		}
		for _, b := range v {
			if err := writeValue(enc, b, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		return writeMap(enc, v, depth)
	case map[string]string:
		return writeMap(enc, v, depth)
	case map[string][]byte:
		return writeMap(enc, v, depth)
	case requestType:
		return enc.EncodeInt(int64(v))
	case *parser.Packet:
		return writePacket(enc, v)
	case parser.Payload:
		// A decoded payload (an argument forwarded as is): its elements.
		if err := enc.EncodeArrayLen(v.Len()); err != nil {
			return err
		}
		for i := range v.Len() {
			x, err := v.Value(i)
			if err != nil {
				return err
			}
			if err := writeValue(enc, x, depth+1); err != nil {
				return err
			}
		}
		return nil
	case orderedMap:
		if err := enc.EncodeMapLen(len(v)); err != nil {
			return err
		}
		for _, kv := range v {
			if err := enc.EncodeString(kv.key); err != nil {
				return err
			}
			if err := writeValue(enc, kv.value, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	// Anything else takes the path a local client's packet takes:
	// encoding/json, whose key order (a struct's fields) is kept.
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	tree, err := decodeJSONOrdered(b)
	if err != nil {
		return err
	}
	return writeValue(enc, tree, depth)
}

// orderedMap is a JSON object with its keys in order.
type orderedMap []keyValue

type keyValue struct {
	key   string
	value any
}

// decodeJSONOrdered decodes one JSON value, objects as orderedMap.
func decodeJSONOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := orderedValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("redisadapter: data after the JSON value")
	}
	return v, nil
}

func orderedValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch d {
	case '[':
		list := []any{}
		for dec.More() {
			v, err := orderedValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err = dec.Token()
		return list, err
	case '{':
		m := orderedMap{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := k.(string)
			v, err := orderedValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			m = append(m, keyValue{key, v})
		}
		_, err = dec.Token()
		return m, err
	}
	return nil, fmt.Errorf("redisadapter: unexpected %v in JSON", d)
}

// writeMap writes a map with its keys sorted (deterministic messages).
func writeMap[V any](enc *msgpack.Encoder, m map[string]V, depth int) error {
	if m == nil {
		return enc.EncodeNil()
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if err := enc.EncodeMapLen(len(keys)); err != nil {
		return err
	}
	for _, k := range keys {
		if err := enc.EncodeString(k); err != nil {
			return err
		}
		if err := writeValue(enc, m[k], depth+1); err != nil {
			return err
		}
	}
	return nil
}

// writeFloat writes f as notepack.io writes a JavaScript number: integers
// as msgpack integers, other values as float64.
func writeFloat(enc *msgpack.Encoder, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("redisadapter: unsupported value: %v", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return enc.EncodeInt(int64(f))
	}
	return enc.EncodeFloat64(f)
}

// writeNumber writes the number n as an integer when it is one that fits,
// as float64 otherwise.
func writeNumber(enc *msgpack.Encoder, n json.Number) error {
	s := string(n)
	if s == "" {
		return enc.EncodeInt(0) // as encoding/json
	}
	if isIntLiteral(s) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return enc.EncodeInt(i)
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return enc.EncodeUint(u)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("redisadapter: invalid json.Number %q", s)
	}
	return writeFloat(enc, f)
}

func isIntLiteral(s string) bool {
	if s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hasBinary reports whether v holds []byte where writeValue makes it msgpack
// bin.
func hasBinary(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case []byte:
		return v != nil
	case [][]byte:
		for _, b := range v {
			if b != nil {
				return true
			}
		}
	case map[string][]byte:
		for _, b := range v {
			if b != nil {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasBinary(x, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, x := range v {
			if hasBinary(x, depth+1) {
				return true
			}
		}
	case parser.Payload:
		for i := range v.Len() {
			if x, err := v.Value(i); err == nil && hasBinary(x, depth+1) {
				return true
			}
		}
	}
	return false
}

// marshalJSON is json.Marshal without HTML escaping (as JSON.stringify).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// decodeJSON decodes one JSON value into a value tree.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("redisadapter: data after the JSON value")
	}
	return v, nil
}

var decoderPool = sync.Pool{New: func() any {
	r := bytes.NewReader(nil)
	return &treeDecoder{dec: msgpack.NewDecoder(r), r: r}
}}

// decodeMsgpack decodes one msgpack value (as notepack.io writes them) into
// a value tree.
func decodeMsgpack(b []byte) (any, error) {
	d := decoderPool.Get().(*treeDecoder)
	defer func() {
		d.r.Reset(nil)
		decoderPool.Put(d)
	}()
	d.r.Reset(b)
	d.dec.Reset(d.r)
	v, _, err := d.value(0)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: invalid msgpack: %w", err)
	}
	if d.r.Len() != 0 {
		return nil, errors.New("redisadapter: invalid msgpack: data after the value")
	}
	return v, nil
}

type treeDecoder struct {
	dec   *msgpack.Decoder
	r     *bytes.Reader
	small [32]byte
}

// The strings of every message (keys, the main namespace), boxed once.
var interned = func() map[string]any {
	m := map[string]any{}
	for _, s := range []string{"", "/", "type", "data", "nsp", "id", "uid", "requestId", "opts", "rooms",
		"except", "flags", "volatile", "compress", "local", "timeout", "broadcast", "binary", "packet",
		"sockets", "handshake", "headers", "time", "address", "xdomain", "secure", "issued", "url",
		"query", "auth", "clientCount", "close", "sid", "room", "expectSingleResponse"} {
		m[s] = s
	}
	return m
}()

// smallInts are the boxed json.Numbers 0 to 1023.
var smallInts = func() []any {
	list := make([]any, 1024)
	for i := range list {
		list[i] = json.Number(strconv.Itoa(i))
	}
	return list
}()

// str decodes a string (its code is peeked), sharing the common ones.
func (d *treeDecoder) str() (any, string, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, "", err
	}
	if n > d.r.Len() {
		return nil, "", errLength
	}
	if n <= len(d.small) {
		buf := d.small[:n]
		if err := d.dec.ReadFull(buf); err != nil {
			return nil, "", err
		}
		if v, ok := interned[string(buf)]; ok {
			return v, v.(string), nil
		}
		s := string(buf)
		return s, s, nil
	}
	buf := make([]byte, n)
	if err := d.dec.ReadFull(buf); err != nil {
		return nil, "", err
	}
	s := string(buf)
	return s, s, nil
}

var errLength = errors.New("length beyond the message")

// value decodes the next value. undefined is true for notepack.io's
// legacy encoding of undefined, which is left out of maps (as
// JSON.stringify does) and null in arrays.
func (d *treeDecoder) value(depth int) (v any, undefined bool, err error) {
	if depth > maxDepth {
		return nil, false, errTooDeep
	}
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, false, err
	}
	switch {
	case c == msgpcode.Nil:
		return nil, false, d.dec.DecodeNil()
	case c == msgpcode.False || c == msgpcode.True:
		b, err := d.dec.DecodeBool()
		return b, false, err
	case c <= msgpcode.PosFixedNumHigh || c == msgpcode.Uint8 || c == msgpcode.Uint16 ||
		c == msgpcode.Uint32 || c == msgpcode.Uint64:
		u, err := d.dec.DecodeUint64()
		if u < uint64(len(smallInts)) {
			return smallInts[u], false, err
		}
		return json.Number(strconv.FormatUint(u, 10)), false, err
	case c >= msgpcode.NegFixedNumLow || c == msgpcode.Int8 || c == msgpcode.Int16 ||
		c == msgpcode.Int32 || c == msgpcode.Int64:
		i, err := d.dec.DecodeInt64()
		return json.Number(strconv.FormatInt(i, 10)), false, err
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		if err != nil {
			return nil, false, err
		}
		return jsNumber(f), false, nil
	case msgpcode.IsString(c):
		v, _, err := d.str()
		return v, false, err
	case msgpcode.IsBin(c):
		b, err := d.dec.DecodeBytes()
		if b == nil && err == nil {
			b = []byte{}
		}
		return b, false, err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return nil, false, err
		}
		if n > d.r.Len() {
			return nil, false, errLength
		}
		list := make([]any, n)
		for i := range list {
			if list[i], _, err = d.value(depth + 1); err != nil {
				return nil, false, err
			}
		}
		return list, false, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return nil, false, err
		}
		if 2*n > d.r.Len() {
			return nil, false, errLength
		}
		m := make(map[string]any, n)
		for range n {
			var key string
			if c, err := d.dec.PeekCode(); err == nil && msgpcode.IsString(c) {
				_, key, err = d.str()
				if err != nil {
					return nil, false, err
				}
			} else {
				k, _, err := d.value(depth + 1)
				if err != nil {
					return nil, false, err
				}
				key = keyString(k)
			}
			x, undef, err := d.value(depth + 1)
			if err != nil {
				return nil, false, err
			}
			if !undef {
				m[key] = x
			}
		}
		return m, false, nil
	case msgpcode.IsExt(c):
		return d.ext()
	}
	return nil, false, fmt.Errorf("unknown code 0x%x", c)
}

// ext decodes an extension as notepack.io does: timestamps (and its legacy
// Date) become the ISO string JSON.stringify makes of a Date, its legacy
// undefined is undefined, an unknown type is [type, bin].
func (d *treeDecoder) ext() (any, bool, error) {
	id, n, err := d.dec.DecodeExtHeader()
	if err != nil {
		return nil, false, err
	}
	if n > d.r.Len() {
		return nil, false, errLength
	}
	data := make([]byte, n)
	if err := d.dec.ReadFull(data); err != nil {
		return nil, false, err
	}
	be := func(b []byte) uint64 {
		var x uint64
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
		return x
	}
	switch {
	case id == -1 && n == 4: // timestamp 32
		return isoTime(time.Unix(int64(be(data)), 0)), false, nil
	case id == -1 && n == 8: // timestamp 64
		x := be(data)
		return isoTime(time.Unix(int64(x&(1<<34-1)), int64(x>>34))), false, nil
	case id == -1 && n == 12: // timestamp 96
		return isoTime(time.Unix(int64(be(data[4:])), int64(be(data[:4])))), false, nil
	case id == 0 && n == 1: // notepack.io's legacy undefined
		return nil, true, nil
	case id == 0 && n == 8: // notepack.io's legacy Date (ms)
		return isoTime(time.UnixMilli(int64(be(data)))), false, nil
	case id == 0: // notepack.io's legacy ArrayBuffer
		return data, false, nil
	}
	return []any{json.Number(strconv.Itoa(int(id))), data}, false, nil
}

// isoTime formats t as Date.prototype.toISOString does.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// keyString converts a msgpack map key to a JavaScript property name.
func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case json.Number:
		return string(k)
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(k)
	case []byte:
		return string(k)
	}
	b, _ := marshalJSON(k)
	return string(b)
}

// jsNumber formats f as JavaScript (and JSON.stringify) does; NaN and the
// infinities become null, as JSON.stringify makes them.
func jsNumber(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	if f == 0 {
		return json.Number("0")
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7, 1e+21 stays.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-2] == '0' {
			b = append(b[:n-2], b[n-1])
		}
	}
	return json.Number(b)
}

// treePayload is the parser.Payload of answers relayed by other nodes.
type treePayload []any

var _ parser.Payload = treePayload(nil)

func (p treePayload) Len() int { return len(p) }

func (p treePayload) elem(i int) (any, error) {
	if uint(i) >= uint(len(p)) {
		return nil, fmt.Errorf("%w: %d not in [0,%d)", parser.ErrIndexOutOfRange, i, len(p))
	}
	return p[i], nil
}

// Value returns a copy of element i (byte slices shared).
func (p treePayload) Value(i int) (any, error) {
	v, err := p.elem(i)
	if err != nil {
		return nil, err
	}
	return cloneTree(v), nil
}

// Decode decodes element i into dst like json.Unmarshal, binary as base64
// (and straight into a *[]byte).
func (p treePayload) Decode(i int, dst any) error {
	v, err := p.elem(i)
	if err != nil {
		return err
	}
	switch d := dst.(type) {
	case *[]byte:
		if b, ok := v.([]byte); ok && d != nil {
			*d = b
			return nil
		}
	case *string:
		if s, ok := v.(string); ok && d != nil {
			*d = s
			return nil
		}
	}
	raw, err := marshalJSON(v)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("socket.io: payload element %d: %w", i, err)
	}
	return nil
}

// Raw returns element i as JSON, binary as base64 strings.
func (p treePayload) Raw(i int) (json.RawMessage, error) {
	v, err := p.elem(i)
	if err != nil {
		return nil, err
	}
	return marshalJSON(v)
}

// String returns the payload as JSON, for logging.
func (p treePayload) String() string {
	b, _ := marshalJSON([]any(p))
	return string(b)
}

func cloneTree(v any) any {
	switch v := v.(type) {
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = cloneTree(x)
		}
		return c
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = cloneTree(x)
		}
		return c
	}
	return v
}
