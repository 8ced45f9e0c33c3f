package msgpackparser

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// encoder holds the state of an encoding: the MessagePack itself is passed
// from method to method and kept in buf between uses. Encoders are pooled.
type encoder struct {
	buf      []byte   // the buffer to reuse
	keys     []string // stack of sorted map keys
	maxDepth int
}

var encoderPool = sync.Pool{New: func() any {
	return &encoder{buf: make([]byte, 0, 256)}
}}

// maxPooledBuffer keeps occasional huge payloads from pinning memory in the
// pool.
const maxPooledBuffer = 64 << 10

func getEncoder(maxDepth int) *encoder {
	e := encoderPool.Get().(*encoder)
	e.maxDepth = maxDepth
	return e
}

func putEncoder(e *encoder) {
	if cap(e.buf) > maxPooledBuffer || cap(e.keys) > 1024 {
		return
	}
	clear(e.keys[:cap(e.keys)])
	e.buf, e.keys = e.buf[:0], e.keys[:0]
	encoderPool.Put(e)
}

func isFinite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// appendStr appends s as a MessagePack string; invalid UTF-8 bytes become
// U+FFFD (as encoding/json writes them, and as Node would decode them).
func appendStr(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = bytesString([]byte(s))
	}
	b = appendStrHeader(b, len(s))
	return append(b, s...)
}

// appendBin appends data as bin, or nil for a nil slice.
func appendBin(b, data []byte) []byte {
	if data == nil {
		return appendNil(b)
	}
	b = appendBinHeader(b, len(data))
	return append(b, data...)
}

func appendFiniteFloat(b []byte, f float64) ([]byte, error) {
	if !isFinite(f) {
		return nil, fmt.Errorf("unsupported value: %v", f)
	}
	return appendFloat(b, f), nil
}

// appendFloat32 appends f as the float64 closest to its shortest decimal
// form, so that float32(0.1) reaches JavaScript as 0.1, as it does in JSON.
func appendFloat32(b []byte, f float32) ([]byte, error) {
	if !isFinite(float64(f)) {
		return nil, fmt.Errorf("unsupported value: %v", f)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], float64(f), 'g', -1, 32)
	g, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return nil, err
	}
	return appendFloat(b, g), nil
}

// value appends the MessagePack encoding of v to b. The common types are
// written without reflection. (The buffer is passed along rather than kept
// in e, which spares the write barriers of storing it in the heap.)
func (e *encoder) value(b []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return appendNil(b), nil
	case string:
		if !fitsLength(len(v)) {
			return nil, errLength
		}
		return appendStr(b, v), nil
	case bool:
		return appendBool(b, v), nil
	case int:
		return appendInt(b, int64(v)), nil
	case int64:
		return appendInt(b, v), nil
	case int32:
		return appendInt(b, int64(v)), nil
	case int16:
		return appendInt(b, int64(v)), nil
	case int8:
		return appendInt(b, int64(v)), nil
	case uint:
		return appendUint(b, uint64(v)), nil
	case uint64:
		return appendUint(b, v), nil
	case uint32:
		return appendUint(b, uint64(v)), nil
	case uint16:
		return appendUint(b, uint64(v)), nil
	case uint8:
		return appendUint(b, uint64(v)), nil
	case float64:
		return appendFiniteFloat(b, v)
	case float32:
		return appendFloat32(b, v)
	case json.Number:
		b, err := appendJSONNumber(b, v)
		if err != nil {
			return nil, fmt.Errorf("invalid json.Number %q", string(v))
		}
		return b, nil
	case json.RawMessage:
		return e.rawJSON(b, v, depth)
	case []byte:
		if !fitsLength(len(v)) {
			return nil, errLength
		}
		return appendBin(b, v), nil
	case [][]byte:
		if v == nil {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		if !fitsLength(len(v)) {
			return nil, errLength
		}
		b = appendArrayHeader(b, len(v))
		for _, x := range v {
			if !fitsLength(len(x)) {
				return nil, errLength
			}
			b = appendBin(b, x)
		}
		return b, nil
	case []any:
		if v == nil {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		if !fitsLength(len(v)) {
			return nil, errLength
		}
		b = appendArrayHeader(b, len(v))
		var err error
		for _, x := range v {
			if b, err = e.value(b, x, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []string:
		if v == nil {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		if !fitsLength(len(v)) {
			return nil, errLength
		}
		b = appendArrayHeader(b, len(v))
		for _, s := range v {
			if !fitsLength(len(s)) {
				return nil, errLength
			}
			b = appendStr(b, s)
		}
		return b, nil
	case map[string]any:
		if v == nil {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		mark := sortKeys(e, v)
		b = appendMapHeader(b, len(v))
		var err error
		for i := range len(v) {
			k := e.keys[mark+i]
			b = appendStr(b, k)
			if b, err = e.value(b, v[k], depth+1); err != nil {
				return nil, err
			}
		}
		e.keys = e.keys[:mark]
		return b, nil
	case map[string]string:
		if v == nil {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		mark := sortKeys(e, v)
		b = appendMapHeader(b, len(v))
		for _, k := range e.keys[mark:] {
			b = appendStr(b, k)
			b = appendStr(b, v[k])
		}
		e.keys = e.keys[:mark]
		return b, nil
	case map[string][]byte:
		if v == nil {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		mark := sortKeys(e, v)
		b = appendMapHeader(b, len(v))
		for _, k := range e.keys[mark:] {
			b = appendStr(b, k)
			b = appendBin(b, v[k])
		}
		e.keys = e.keys[:mark]
		return b, nil
	}
	return e.reflectValue(b, reflect.ValueOf(v), depth)
}

// sortKeys pushes the keys of m, sorted as encoding/json sorts them, on the
// key stack and returns their position. Keys and strings longer than
// MessagePack allows are not a concern: a map that large would not fit in
// memory.
func sortKeys[V any](e *encoder, m map[string]V) int {
	mark := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys[mark:])
	return mark
}

// rawJSON appends JSON text (a json.RawMessage or the output of MarshalJSON)
// converted to MessagePack. Empty text is null, as for encoding/json.
func (e *encoder) rawJSON(b, raw []byte, depth int) ([]byte, error) {
	if len(raw) == 0 {
		return appendNil(b), nil
	}
	b, err := appendJSON(b, raw, e.maxDepth-depth)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON text: %w", err)
	}
	return b, nil
}
