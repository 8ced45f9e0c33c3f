package msgpackparser

import (
	"cmp"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/e347a4c2/socketio/core/parser"
)

// The reflection path encodes the values the fast path does not know with
// the rules of encoding/json (json struct tags, json.Marshaler,
// encoding.TextMarshaler, map key conversion and order) except that []byte
// becomes MessagePack bin instead of a base64 string.

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
	jsonNumberType    = reflect.TypeFor[json.Number]()
)

// typeInfo is what the encoder needs to know about a type, computed once.
type typeInfo struct {
	marshalJSON     bool // the type implements json.Marshaler
	marshalJSONAddr bool // *T implements json.Marshaler (used when addressable)
	marshalText     bool
	marshalTextAddr bool
	bytes           bool    // a slice encoded as bin, like encoding/json's base64
	fields          []field // of a struct
	keyOK           bool    // a map whose key type encoding/json supports
}

type field struct {
	name      string
	key       []byte // the name as a MessagePack string
	index     []int
	typ       reflect.Type
	tagged    bool
	omitEmpty bool
	omitZero  bool
	quoted    bool
}

var typeCache sync.Map // reflect.Type → *typeInfo

func typeInfoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{}
	ptr := reflect.PointerTo(t)
	notPtr := t.Kind() != reflect.Pointer
	ti.marshalJSONAddr = notPtr && ptr.Implements(jsonMarshalerType)
	ti.marshalJSON = t.Implements(jsonMarshalerType)
	ti.marshalTextAddr = notPtr && ptr.Implements(textMarshalerType)
	ti.marshalText = t.Implements(textMarshalerType)
	switch t.Kind() {
	case reflect.Struct:
		ti.fields = typeFields(t)
	case reflect.Slice:
		// As encoding/json: a byte slice, unless its element type marshals
		// itself.
		if t.Elem().Kind() == reflect.Uint8 {
			p := reflect.PointerTo(t.Elem())
			ti.bytes = !p.Implements(jsonMarshalerType) && !p.Implements(textMarshalerType)
		}
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			ti.keyOK = true
		default:
			ti.keyOK = t.Key().Implements(textMarshalerType)
		}
	}
	actual, _ := typeCache.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// reflectValue appends v with the rules of encoding/json.
func (e *encoder) reflectValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if !v.IsValid() {
		return appendNil(b), nil
	}
	t := v.Type()
	ti := typeInfoOf(t)
	switch {
	case ti.marshalJSONAddr && v.CanAddr():
		return e.marshalJSON(b, v.Addr(), depth)
	case ti.marshalJSON:
		return e.marshalJSON(b, v, depth)
	case ti.marshalTextAddr && v.CanAddr():
		return marshalText(b, v.Addr())
	case ti.marshalText:
		return marshalText(b, v)
	}
	switch v.Kind() {
	case reflect.Bool:
		return appendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendUint(b, v.Uint()), nil
	case reflect.Float32:
		return appendFloat32(b, float32(v.Float()))
	case reflect.Float64:
		return appendFiniteFloat(b, v.Float())
	case reflect.String:
		if t == jsonNumberType {
			return e.value(b, json.Number(v.String()), depth)
		}
		if !fitsLength(v.Len()) {
			return nil, errLength
		}
		return appendStr(b, v.String()), nil
	case reflect.Interface:
		if v.IsNil() {
			return appendNil(b), nil
		}
		return e.value(b, v.Elem().Interface(), depth)
	case reflect.Pointer:
		if v.IsNil() {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		return e.reflectValue(b, v.Elem(), depth+1)
	case reflect.Struct:
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		return e.structValue(b, v, ti.fields, depth)
	case reflect.Map:
		if !ti.keyOK {
			return nil, &json.UnsupportedTypeError{Type: t}
		}
		if v.IsNil() {
			return appendNil(b), nil
		}
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		return e.mapValue(b, v, depth)
	case reflect.Slice:
		if v.IsNil() {
			return appendNil(b), nil
		}
		if ti.bytes {
			if !fitsLength(v.Len()) {
				return nil, errLength
			}
			return appendBin(b, v.Bytes()), nil
		}
		fallthrough
	case reflect.Array:
		if depth >= e.maxDepth {
			return nil, errTooDeep
		}
		n := v.Len()
		if !fitsLength(n) {
			return nil, errLength
		}
		b = appendArrayHeader(b, n)
		var err error
		for i := range n {
			if b, err = e.reflectValue(b, v.Index(i), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, &json.UnsupportedTypeError{Type: t}
}

// marshalJSON appends the output of v's MarshalJSON converted to
// MessagePack.
func (e *encoder) marshalJSON(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return appendNil(b), nil
	}
	m, ok := reflect.TypeAssert[json.Marshaler](v)
	if !ok {
		return appendNil(b), nil
	}
	out, err := m.MarshalJSON()
	if err != nil {
		return nil, &json.MarshalerError{Type: v.Type(), Err: err}
	}
	if len(out) == 0 {
		return nil, &json.MarshalerError{Type: v.Type(), Err: errJSONSyntax}
	}
	return e.rawJSON(b, out, depth)
}

// marshalText appends the output of v's MarshalText as a string.
func marshalText(b []byte, v reflect.Value) ([]byte, error) {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return appendNil(b), nil
	}
	m, ok := reflect.TypeAssert[encoding.TextMarshaler](v)
	if !ok {
		return appendNil(b), nil
	}
	text, err := m.MarshalText()
	if err != nil {
		return nil, &json.MarshalerError{Type: v.Type(), Err: err}
	}
	if !fitsLength(len(text)) {
		return nil, errLength
	}
	return appendStr(b, string(text)), nil
}

// structValue appends a struct as a map of its fields.
func (e *encoder) structValue(b []byte, v reflect.Value, fields []field, depth int) ([]byte, error) {
	pos := len(b)
	reserved := headerLen(len(fields))
	b = append(b, make([]byte, reserved)...)
	n := 0
	var err error
	for i := range fields {
		f := &fields[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok || f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		b = append(b, f.key...)
		if f.quoted {
			b, err = e.quotedValue(b, fv, depth+1)
		} else {
			b, err = e.reflectValue(b, fv, depth+1)
		}
		if err != nil {
			return nil, err
		}
		n++
	}
	return patchHeader(b, pos, reserved, n, true), nil
}

// fieldByIndex returns the field of v at index, or false when it is in an
// embedded struct reached through a nil pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// quotedValue appends a field with the ",string" option: its JSON encoding
// as a string.
func (e *encoder) quotedValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return appendNil(b), nil
		}
		v = v.Elem()
	}
	// As in encoding/json, a type that marshals itself ignores ",string".
	if ti := typeInfoOf(v.Type()); ti.marshalJSON || ti.marshalText || v.CanAddr() && (ti.marshalJSONAddr || ti.marshalTextAddr) {
		return e.reflectValue(b, v, depth)
	}
	var tmp [64]byte
	s := tmp[:0]
	switch v.Kind() {
	case reflect.Bool:
		s = strconv.AppendBool(s, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s = strconv.AppendInt(s, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s = strconv.AppendUint(s, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if !isFinite(f) {
			return nil, fmt.Errorf("unsupported value: %v", f)
		}
		if v.Kind() == reflect.Float32 {
			f32 := strconv.AppendFloat(s, f, 'g', -1, 32)
			f, _ = strconv.ParseFloat(string(f32), 64)
		}
		s = formatFloat(s, f)
	case reflect.String:
		if v.Type() == jsonNumberType {
			n := v.String()
			if n == "" {
				n = "0"
			}
			s = append(s, n...)
		} else {
			s = parser.AppendJSONString(s, v.String())
		}
	default:
		return e.reflectValue(b, v, depth)
	}
	if !fitsLength(len(s)) {
		return nil, errLength
	}
	b = appendStrHeader(b, len(s))
	return append(b, s...), nil
}

// mapValue appends a map with its keys converted to strings as
// encoding/json does, in sorted order.
func (e *encoder) mapValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := mapKey(it.Key())
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	if !fitsLength(len(entries)) {
		return nil, errLength
	}
	b = appendMapHeader(b, len(entries))
	var err error
	for _, en := range entries {
		b = appendStr(b, en.key)
		if b, err = e.reflectValue(b, en.val, depth+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := reflect.TypeAssert[encoding.TextMarshaler](k); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		if err != nil {
			return "", &json.MarshalerError{Type: k.Type(), Err: err}
		}
		return string(b), nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &json.UnsupportedTypeError{Type: k.Type()}
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZeroValue is encoding/json's test for omitzero: the IsZero method when
// there is one, reflect's zero otherwise.
func isZeroValue(v reflect.Value) bool {
	t := v.Type()
	switch {
	case (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && t.Implements(isZeroerType):
		if v.IsNil() {
			return true
		}
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case t.Implements(isZeroerType):
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case reflect.PointerTo(t).Implements(isZeroerType):
		if !v.CanAddr() {
			v2 := reflect.New(t).Elem()
			v2.Set(v)
			v = v2
		}
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

// typeFields returns the fields encoding/json encodes for struct type t, in
// order, with its rules for embedded structs and json tags.
func typeFields(t reflect.Type) []field {
	var current []field
	next := []field{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []field
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := range f.typ.NumField() {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					t := sf.Type
					if t.Kind() == reflect.Pointer {
						t = t.Elem()
					}
					if !sf.IsExported() && t.Kind() != reflect.Struct {
						continue // embedded field of an unexported non-struct type
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := make([]int, len(f.index)+1)
				copy(index, f.index)
				index[len(f.index)] = i

				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := false
				if hasOption(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64, reflect.String:
						quoted = true
					}
				}

				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, field{
						name:      name,
						index:     index,
						typ:       ft,
						tagged:    tagged,
						omitEmpty: hasOption(opts, "omitempty"),
						omitZero:  hasOption(opts, "omitzero"),
						quoted:    quoted,
					})
					if count[f.typ] > 1 {
						// Several embedded structs of the same type at this
						// depth: a second copy makes the field ambiguous.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, field{name: ft.Name(), index: index, typ: ft})
				}
			}
		}
	}

	slices.SortFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	// Drop the fields hidden by Go's rules for embedded fields, except that
	// fields with json tags win.
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		fi := fields[i]
		for advance = 1; i+advance < len(fields); advance++ {
			if fields[i+advance].name != fi.name {
				break
			}
		}
		if advance == 1 {
			out = append(out, fi)
			continue
		}
		if dominant, ok := dominantField(fields[i : i+advance]); ok {
			out = append(out, dominant)
		}
	}
	fields = out
	slices.SortFunc(fields, func(a, b field) int { return slices.Compare(a.index, b.index) })
	for i := range fields {
		f := &fields[i]
		f.key = appendStrHeader(nil, len(f.name))
		f.key = append(f.key, f.name...)
	}
	return fields
}

func dominantField(fields []field) (field, bool) {
	if len(fields) > 1 && len(fields[0].index) == len(fields[1].index) && fields[0].tagged == fields[1].tagged {
		return field{}, false
	}
	return fields[0], true
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
			// Backslash and quote chars are reserved, but otherwise any
			// punctuation chars are allowed in a tag name.
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
