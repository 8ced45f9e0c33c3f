package msgpackparser

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/parser"
)

func TestRoundTrip(t *testing.T) {
	type sid struct {
		SID string `json:"sid"`
	}
	bin := []byte{0, 1, 2, 255}
	tests := []struct {
		name   string
		in     parser.Packet
		want   parser.Packet // Payload unset
		values []any         // nil: no payload
		raw    string
	}{
		{
			name: "CONNECT without data",
			in:   parser.Packet{Type: parser.Connect},
			want: parser.Packet{Type: parser.Connect, Namespace: "/"},
		},
		{
			name:   "CONNECT with auth",
			in:     parser.Packet{Type: parser.Connect, Namespace: "/admin", Data: map[string]any{"token": "123", "n": 1}},
			want:   parser.Packet{Type: parser.Connect, Namespace: "/admin"},
			values: []any{map[string]any{"token": "123", "n": json.Number("1")}},
			raw:    `[{"n":1,"token":"123"}]`,
		},
		{
			name:   "CONNECT reply from a struct",
			in:     parser.Packet{Type: parser.Connect, Namespace: "/", Data: sid{SID: "abc"}},
			want:   parser.Packet{Type: parser.Connect, Namespace: "/"},
			values: []any{map[string]any{"sid": "abc"}},
			raw:    `[{"sid":"abc"}]`,
		},
		{
			name: "DISCONNECT",
			in:   parser.Packet{Type: parser.Disconnect, Namespace: "/chat"},
			want: parser.Packet{Type: parser.Disconnect, Namespace: "/chat"},
		},
		{
			name:   "EVENT with ack id and nested binary",
			in:     parser.Packet{Type: parser.Event, Namespace: "/a", ID: 42, HasID: true, Data: []any{"upload", bin, map[string]any{"file": map[string]any{"data": bin, "parts": [][]byte{{1}, {2, 3}}}}, []any{nil, true, 1.5, -3}}},
			want:   parser.Packet{Type: parser.Event, Namespace: "/a", ID: 42, HasID: true},
			values: []any{"upload", bin, map[string]any{"file": map[string]any{"data": bin, "parts": []any{[]byte{1}, []byte{2, 3}}}}, []any{nil, true, json.Number("1.5"), json.Number("-3")}},
			raw:    `["upload","AAEC/w==",{"file":{"data":"AAEC/w==","parts":["AQ==","AgM="]}},[null,true,1.5,-3]]`,
		},
		{
			name:   "BINARY_EVENT is an EVENT",
			in:     parser.Packet{Type: parser.BinaryEvent, Data: []any{"x", bin}},
			want:   parser.Packet{Type: parser.Event, Namespace: "/"},
			values: []any{"x", bin},
			raw:    `["x","AAEC/w=="]`,
		},
		{
			name:   "EVENT with a numeric name and []string data",
			in:     parser.Packet{Type: parser.Event, Data: []any{7, "a"}},
			want:   parser.Packet{Type: parser.Event, Namespace: "/"},
			values: []any{json.Number("7"), "a"},
			raw:    `[7,"a"]`,
		},
		{
			name:   "EVENT from []string",
			in:     parser.Packet{Type: parser.Event, Data: []string{"hi", "there"}},
			want:   parser.Packet{Type: parser.Event, Namespace: "/"},
			values: []any{"hi", "there"},
			raw:    `["hi","there"]`,
		},
		{
			name:   "ACK",
			in:     parser.Packet{Type: parser.Ack, Namespace: "/", ID: 1 << 40, HasID: true, Data: []any{"ok", bin}},
			want:   parser.Packet{Type: parser.Ack, Namespace: "/", ID: 1 << 40, HasID: true},
			values: []any{"ok", bin},
			raw:    `["ok","AAEC/w=="]`,
		},
		{
			name:   "BINARY_ACK without arguments",
			in:     parser.Packet{Type: parser.BinaryAck, ID: 0, HasID: true, Data: []any{}},
			want:   parser.Packet{Type: parser.Ack, Namespace: "/", ID: 0, HasID: true},
			values: []any{},
			raw:    `[]`,
		},
		{
			name:   "CONNECT_ERROR map",
			in:     parser.Packet{Type: parser.ConnectError, Namespace: "/private", Data: map[string]any{"message": "not authorized", "data": map[string]any{"code": 401}}},
			want:   parser.Packet{Type: parser.ConnectError, Namespace: "/private"},
			values: []any{map[string]any{"message": "not authorized", "data": map[string]any{"code": json.Number("401")}}},
			raw:    `[{"data":{"code":401},"message":"not authorized"}]`,
		},
		{
			name:   "CONNECT_ERROR string",
			in:     parser.Packet{Type: parser.ConnectError, Data: "nope"},
			want:   parser.Packet{Type: parser.ConnectError, Namespace: "/"},
			values: []any{"nope"},
			raw:    `["nope"]`,
		},
	}
	c := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := mustEncode(t, c, &tt.in)
			p := mustDecode(t, c, msg)
			got := *p
			got.Payload = nil
			if got != tt.want {
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
			if tt.values == nil {
				if p.Payload != nil {
					t.Fatalf("payload %v, want none", p.Payload)
				}
				return
			}
			if v := values(t, p.Payload); !deepEqual(v, tt.values) {
				t.Errorf("values %#v, want %#v", v, tt.values)
			}
			if r := raws(t, p.Payload); r != tt.raw {
				t.Errorf("raw %s, want %s", r, tt.raw)
			}
			// Decoded values sent again encode to the same message.
			vals := values(t, p.Payload)
			again := parser.Packet{Type: p.Type, Namespace: p.Namespace, ID: p.ID, HasID: p.HasID, Data: vals}
			if p.Type == parser.Connect || p.Type == parser.ConnectError {
				again.Data = vals[0]
			}
			if msg2 := mustEncode(t, c, &again); !bytes.Equal(msg, msg2) && !strings.Contains(tt.name, "struct") {
				t.Errorf("values re-encode to % x, want % x", msg2, msg)
			}
			// So does the payload forwarded as it is.
			fwd := parser.Packet{Type: p.Type, Namespace: p.Namespace, ID: p.ID, HasID: p.HasID, Payload: p.Payload}
			if msg3 := mustEncode(t, c, &fwd); !bytes.Equal(msg, msg3) {
				t.Errorf("payload re-encodes to % x, want % x", msg3, msg)
			}
		})
	}
}

// TestWireFormat pins the exact bytes, which the Node interop tests check
// against notepack.io.
func TestWireFormat(t *testing.T) {
	c := New()
	tests := []struct {
		p    parser.Packet
		want string
	}{
		{parser.Packet{Type: parser.Connect}, "82 a4 74797065 00 a3 6e7370 a1 2f"},
		{parser.Packet{Type: parser.Event, Namespace: "/", ID: 3, HasID: true, Data: []any{"hello", 1, []byte{7}}},
			"84 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 93 a5 68656c6c6f 01 c4 01 07 a2 6964 03"},
		{parser.Packet{Type: parser.Ack, Namespace: "/x", ID: 300, HasID: true, Data: []any{-1, -33, 255, 65536, 1.5}},
			"84 a4 74797065 03 a3 6e7370 a2 2f78 a4 64617461 95 ff d0 df cc ff ce 00010000 cb 3ff8000000000000 a2 6964 cd 012c"},
	}
	for _, tt := range tests {
		got := mustEncode(t, c, &tt.p)
		if want := hexRaw(tt.want); !bytes.Equal(got, want) {
			t.Errorf("Encode(%+v)\n got % x\nwant % x", tt.p, got, want)
		}
	}
	// The prefix is for text codecs: it is ignored.
	p := parser.Packet{Type: parser.Event, Data: []any{"a"}}
	f1, _ := c.Encode(&p, []byte("4"))
	f2, _ := c.Encode(&p, nil)
	if !bytes.Equal(f1[0].Data, f2[0].Data) || f1[0].Data[0] == '4' {
		t.Errorf("prefix changed the message: % x vs % x", f1[0].Data, f2[0].Data)
	}
}

func TestEncodeErrors(t *testing.T) {
	c := New()
	tests := []struct {
		name string
		p    *parser.Packet
	}{
		{"nil packet", nil},
		{"unknown type", &parser.Packet{Type: 7}},
		{"namespace without slash", &parser.Packet{Type: parser.Connect, Namespace: "admin"}},
		{"namespace with invalid UTF-8", &parser.Packet{Type: parser.Connect, Namespace: "/\xff"}},
		{"ack id on CONNECT", &parser.Packet{Type: parser.Connect, HasID: true}},
		{"DISCONNECT with data", &parser.Packet{Type: parser.Disconnect, Data: map[string]any{}}},
		{"CONNECT with a string", &parser.Packet{Type: parser.Connect, Data: "x"}},
		{"CONNECT with an array", &parser.Packet{Type: parser.Connect, Data: []any{}}},
		{"CONNECT_ERROR with a number", &parser.Packet{Type: parser.ConnectError, Data: 1}},
		{"CONNECT_ERROR without data", &parser.Packet{Type: parser.ConnectError}},
		{"EVENT without data", &parser.Packet{Type: parser.Event}},
		{"EVENT with a map", &parser.Packet{Type: parser.Event, Data: map[string]any{}}},
		{"EVENT without a name", &parser.Packet{Type: parser.Event, Data: []any{}}},
		{"EVENT with a reserved name", &parser.Packet{Type: parser.Event, Data: []any{"connect"}}},
		{"EVENT with a boolean name", &parser.Packet{Type: parser.Event, Data: []any{true}}},
		{"ACK with a string", &parser.Packet{Type: parser.Ack, Data: "x"}},
		{"NaN", &parser.Packet{Type: parser.Ack, Data: []any{math.NaN()}}},
		{"infinity", &parser.Packet{Type: parser.Ack, Data: []any{float32(math.Inf(1))}}},
		{"channel", &parser.Packet{Type: parser.Ack, Data: []any{make(chan int)}}},
		{"function", &parser.Packet{Type: parser.Ack, Data: []any{func() {}}}},
		{"complex", &parser.Packet{Type: parser.Ack, Data: []any{1i}}},
		{"map with bool keys", &parser.Packet{Type: parser.Ack, Data: []any{map[bool]int{true: 1}}}},
		{"invalid json.Number", &parser.Packet{Type: parser.Ack, Data: []any{json.Number("0x10")}}},
		{"json.Number out of range", &parser.Packet{Type: parser.Ack, Data: []any{json.Number("1e400")}}},
		{"invalid json.RawMessage", &parser.Packet{Type: parser.Ack, Data: []any{json.RawMessage(`{"a":}`)}}},
		{"json.RawMessage with trailing data", &parser.Packet{Type: parser.Ack, Data: []any{json.RawMessage(`1 2`)}}},
		{"failing MarshalJSON", &parser.Packet{Type: parser.Ack, Data: []any{failingMarshaler{}}}},
		{"invalid MarshalJSON output", &parser.Packet{Type: parser.Ack, Data: []any{badMarshaler{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := c.Encode(tt.p, nil)
			if err == nil {
				t.Fatalf("Encode succeeded: % x", frames[0].Data)
			}
			wantInvalid(t, err)
		})
	}
}

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("boom") }

type badMarshaler struct{}

func (badMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{nope`), nil }

func TestEncodeCycles(t *testing.T) {
	c := New()
	cyclic := []any{nil}
	cyclic[0] = cyclic
	type node struct {
		Next *node `json:"next"`
	}
	n := &node{}
	n.Next = n
	m := map[string]any{}
	m["m"] = m
	for _, v := range []any{cyclic, n, m} {
		_, err := c.Encode(&parser.Packet{Type: parser.Ack, Data: []any{v}}, nil)
		wantInvalid(t, err)
		if !errors.Is(err, errTooDeep) {
			t.Errorf("error %v, want errTooDeep", err)
		}
	}
	// The depth limit applies to acyclic data too.
	deep := any("x")
	for range 10 {
		deep = []any{deep}
	}
	if _, err := New(WithMaxDepth(10)).Encode(&parser.Packet{Type: parser.Ack, Data: []any{deep}}, nil); err == nil {
		t.Error("data 11 deep encoded with WithMaxDepth(10)")
	}
	if _, err := New(WithMaxDepth(11)).Encode(&parser.Packet{Type: parser.Ack, Data: []any{deep}}, nil); err != nil {
		t.Errorf("data 11 deep with WithMaxDepth(11): %v", err)
	}
}

// encodeValue encodes v as the only ACK argument and returns its MessagePack.
func encodeValue(t *testing.T, v any) []byte {
	t.Helper()
	msg := mustEncode(t, New(), &parser.Packet{Type: parser.Ack, Data: []any{v}})
	p := mustDecode(t, New(), msg)
	s := p.Payload.(*payload).elems[0]
	return msg[s.start:s.end]
}

func TestEncodeScalars(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "c0"},
		{true, "c3"},
		{false, "c2"},
		{0, "00"},
		{127, "7f"},
		{128, "cc 80"},
		{-1, "ff"},
		{-32, "e0"},
		{-33, "d0 df"},
		{int8(-128), "d0 80"},
		{int16(-129), "d1 ff7f"},
		{int32(-32769), "d2 ffff7fff"},
		{int64(math.MinInt64), "d3 8000000000000000"},
		{uint8(200), "cc c8"},
		{uint16(65535), "cd ffff"},
		{uint32(1 << 31), "ce 80000000"},
		{uint64(math.MaxUint64), "cf ffffffffffffffff"},
		{uint(1 << 32), "cf 0000000100000000"},
		{1.5, "cb 3ff8000000000000"},
		{2.0, "cb 4000000000000000"}, // a float stays a float
		{float32(0.1), "cb 3fb999999999999a"},
		{json.Number("12"), "0c"},
		{json.Number("-0"), "00"},
		{json.Number(""), "00"},
		{json.Number("1.0"), "cb 3ff0000000000000"},
		{json.Number("1e2"), "cb 4059000000000000"},
		{json.Number("18446744073709551616"), "cb 43f0000000000000"},
		{"", "a0"},
		{"é", "a2 c3a9"},
		{"\xffa", "a4 efbfbd61"}, // invalid UTF-8 becomes U+FFFD
		{strings.Repeat("x", 32), "d9 20" + strings.Repeat("78", 32)},
		{[]byte(nil), "c0"},
		{[]byte{}, "c4 00"},
		{[]byte{1, 2}, "c4 02 0102"},
		{json.RawMessage(nil), "c0"},
		{json.RawMessage(` {"b" : 1, "a":[true,null,"\u00e9\n", -1.5e0, 18446744073709551615]} `),
			"82 a1 62 01 a1 61 95 c3 c0 a3 c3a90a cb bff8000000000000 cf ffffffffffffffff"},
		{[]string(nil), "c0"},
		{map[string]any(nil), "c0"},
		{map[string]string{"b": "2", "a": "1"}, "82 a1 61 a1 31 a1 62 a1 32"},
		{map[string][]byte{"k": {9}}, "81 a1 6b c4 01 09"},
		{[][]byte{{1}, nil}, "92 c4 01 01 c0"},
	}
	for _, tt := range tests {
		if got, want := encodeValue(t, tt.v), hexRaw(tt.want); !bytes.Equal(got, want) {
			t.Errorf("%T %#v: got % x, want % x", tt.v, tt.v, got, want)
		}
	}
	big := bytes.Repeat([]byte{1}, 300)
	if got := encodeValue(t, big); !bytes.Equal(got[:3], []byte{mpBin16, 1, 44}) || len(got) != 303 {
		t.Errorf("300-byte binary: header % x, length %d", got[:3], len(got))
	}
}

type inner struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
}

type Embedded struct {
	E   string `json:"e"`
	Dup string
}

type textKey struct{ n int }

func (k textKey) MarshalText() ([]byte, error) { return []byte("k" + string(rune('0'+k.n))), nil }

type ptrMarshaler struct{ v string }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return json.Marshal("ptr:" + p.v) }

type zeroer struct{ v int }

func (z zeroer) IsZero() bool { return z.v == 42 }

type everything struct {
	Embedded
	*inner
	Name      string            `json:"name"`
	Skip      string            `json:"-"`
	Dash      string            `json:"-,"` //nolint:staticcheck // encoding/json names this field "-"
	Empty     string            `json:"empty,omitempty"`
	Zero      zeroer            `json:"zero,omitzero"`
	NotZero   zeroer            `json:"notZero,omitzero"`
	Quoted    int               `json:"quoted,string"`
	QuotedStr string            `json:"quotedStr,string"`
	QuotedPtr *float64          `json:"quotedPtr,string"`
	When      time.Time         `json:"when"`
	Addr      netip.Addr        `json:"addr"`
	Raw       json.RawMessage   `json:"raw"`
	Num       json.Number       `json:"num"`
	Any       any               `json:"any"`
	Ptr       *inner            `json:"ptr"`
	NilPtr    *inner            `json:"nilPtr"`
	Ints      []int             `json:"ints"`
	Arr       [2]byte           `json:"arr"`
	IntKeys   map[int]string    `json:"intKeys"`
	TextKeys  map[textKey]int   `json:"textKeys"`
	Inners    []inner           `json:"inners"`
	F32       float32           `json:"f32"`
	PtrM      ptrMarshaler      `json:"ptrM"`
	Strs      map[string][]int  `json:"strs"`
	Nested    map[string]*inner `json:"nested"`
	Dup       string
	unexp     int
}

// TestEncodeLikeJSON checks the reflection path against encoding/json:
// Raw gives bin as base64, as encoding/json writes []byte, so the texts must
// match.
func TestEncodeLikeJSON(t *testing.T) {
	f := 2.5
	v := everything{
		Embedded:  Embedded{E: "embedded", Dup: "hidden"},
		inner:     &inner{A: 1},
		Name:      "n<&>",
		Skip:      "skipped",
		Dash:      "dash",
		Zero:      zeroer{42},
		NotZero:   zeroer{1},
		Quoted:    12,
		QuotedStr: `say "hi"`,
		QuotedPtr: &f,
		When:      time.Date(2024, 2, 3, 4, 5, 6, 7e6, time.UTC),
		Addr:      netip.MustParseAddr("10.0.0.1"),
		Raw:       json.RawMessage(`{"z":1,"a":[1,2]}`),
		Num:       json.Number("-12"),
		Any:       map[string]any{"deep": []any{"x", 1.25}},
		Ptr:       &inner{A: 2, B: "b"},
		Ints:      []int{1, -2},
		Arr:       [2]byte{1, 2},
		IntKeys:   map[int]string{10: "ten", 9: "nine", -1: "minus"},
		TextKeys:  map[textKey]int{{1}: 1, {2}: 2},
		Inners:    []inner{{A: 3}},
		F32:       0.1,
		PtrM:      ptrMarshaler{"p"},
		Strs:      map[string][]int{"a": nil, "b": {}},
		Nested:    map[string]*inner{"x": nil, "y": {A: 5}},
		Dup:       "top",
		unexp:     1,
	}
	for _, x := range []any{v, &v, []everything{v}, map[string]everything{"k": v}} {
		want := jsonText(t, x)
		msg := mustEncode(t, New(), &parser.Packet{Type: parser.Ack, Data: []any{x}})
		p := mustDecode(t, New(), msg)
		got, err := p.Payload.Raw(0)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%T:\n got %s\nwant %s", x, got, want)
		}
	}
}

// TestEncodeBinaryInStructs checks that []byte inside structs, typed slices
// and maps is bin, not base64.
func TestEncodeBinaryInStructs(t *testing.T) {
	type file struct {
		Name string   `json:"name"`
		Data []byte   `json:"data"`
		More [][]byte `json:"more"`
	}
	type myBytes []byte
	in := []any{file{Name: "a", Data: []byte{1}, More: [][]byte{{2}}}, []file{{Data: []byte{3}}}, map[string]myBytes{"k": {4}}}
	p := mustDecode(t, New(), mustEncode(t, New(), &parser.Packet{Type: parser.Ack, Data: in}))
	want := []any{
		map[string]any{"name": "a", "data": []byte{1}, "more": []any{[]byte{2}}},
		[]any{map[string]any{"name": "", "data": []byte{3}, "more": nil}},
		map[string]any{"k": []byte{4}},
	}
	if got := values(t, p.Payload); !deepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}
