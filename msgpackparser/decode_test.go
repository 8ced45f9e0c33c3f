package msgpackparser

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/e347a4c2/socketio/core/parser"
)

// event builds an EVENT message with the given data.
func event(data any) raw { return mpMap("type", 2, "nsp", "/", "data", data) }

// acceptCases are valid messages (also checked against the reference
// decoder by TestNodeDecodes).
var acceptCases = []struct {
	name   string
	msg    raw
	want   parser.Packet // Payload unset
	values []any
}{
	{
		// What socket.io-client sends: data undefined when there is no auth.
		name: "CONNECT with undefined data",
		msg:  mpMap("type", 0, "data", undef, "nsp", "/"),
		want: parser.Packet{Type: parser.Connect, Namespace: "/"},
	},
	{
		name: "members in any order, unknown members ignored",
		msg:  mpMap("options", mpMap("compress", true), "id", 5, "nsp", "/a", "data", mpArray("e"), "type", 2, raw{0x07}, "int key"),
		want: parser.Packet{Type: parser.Event, Namespace: "/a", ID: 5, HasID: true}, values: []any{"e"},
	},
	{
		name: "undefined id",
		msg:  mpMap("type", 2, "nsp", "/", "data", mpArray("e"), "id", undef),
		want: parser.Packet{Type: parser.Event, Namespace: "/"}, values: []any{"e"},
	},
	{
		name: "the last duplicate member wins",
		msg:  mpMap("type", 1, "nsp", "/x", "data", mpArray("e"), "type", 2, "nsp", "/", "data", mpArray("f")),
		want: parser.Packet{Type: parser.Event, Namespace: "/"}, values: []any{"f"},
	},
	{
		name: "integral float type and id (Number.isInteger)",
		msg:  mpMap("type", 3.0, "nsp", "/", "data", mpArray(), "id", 7.0),
		want: parser.Packet{Type: parser.Ack, Namespace: "/", ID: 7, HasID: true}, values: []any{},
	},
	{
		name: "non-minimal formats",
		msg:  hexRaw("de 0003 d9 04 74797065 d0 02 da 0003 6e7370 db 00000001 2f a4 64617461 dc 0002 d9 01 65 cd 0001"),
		want: parser.Packet{Type: parser.Event, Namespace: "/"}, values: []any{"e", json.Number("1")},
	},
	{
		name: "numeric event name",
		msg:  event(mpArray(-1.5, "x")),
		want: parser.Packet{Type: parser.Event, Namespace: "/"}, values: []any{json.Number("-1.5"), "x"},
	},
	{
		name: "notepack extensions",
		msg: event(mpArray("e", undef, hexRaw("d7 00 0000000000000000"), hexRaw("c7 03 00 010203"),
			mpMap("u", undef, "k", 1), hexRaw("cb 7ff8000000000001"), hexRaw("ca 3dcccccd"))),
		want: parser.Packet{Type: parser.Event, Namespace: "/"},
		values: []any{"e", nil, "1970-01-01T00:00:00.000Z", []byte{1, 2, 3},
			map[string]any{"k": json.Number("1")}, nil, json.Number("0.10000000149011612")},
	},
	{
		name: "integer map keys",
		msg:  event(mpArray("e", mpMap(raw{0x01}, "one", raw{0xff}, "minus one"))),
		want: parser.Packet{Type: parser.Event, Namespace: "/"}, values: []any{"e", map[string]any{"1": "one", "-1": "minus one"}},
	},
	{
		name: "CONNECT_ERROR string",
		msg:  mpMap("type", 4, "nsp", "/", "data", "no"),
		want: parser.Packet{Type: parser.ConnectError, Namespace: "/"}, values: []any{"no"},
	},
	{
		name: "invalid UTF-8 in strings is replaced",
		msg:  event(mpArray(raw("\xa2a\xff"), mpMap(raw("\xa1\xfe"), raw("\xa1\xfd")))),
		want: parser.Packet{Type: parser.Event, Namespace: "/"}, values: []any{"a\uFFFD", map[string]any{"\uFFFD": "\uFFFD"}},
	},
}

func TestDecodeAccepts(t *testing.T) {
	tests := acceptCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustDecode(t, New(), tt.msg)
			got := *p
			got.Payload = nil
			if got != tt.want {
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
			if v := values(t, p.Payload); !deepEqual(v, tt.values) {
				t.Errorf("values %#v, want %#v", v, tt.values)
			}
		})
	}
}

// deep returns n nested arrays.
func deep(n int) raw {
	b := bytes.Repeat([]byte{0x91}, n-1)
	return append(b, 0x90)
}

// rejectCases is the hostile input table (also run through the reference
// decoder by TestNodeDecodes).
var rejectCases = []struct {
	name string
	msg  raw
}{
	{"empty message", raw{}},
	{"nil message", nil},
	{"not a map", mpArray(2, "/")},
	{"a string", mp("2[\"a\"]")},
	{"truncated map", hexRaw("83 a4 74797065 02")},
	{"truncated string", hexRaw("81 a4 7479")},
	{"truncated number", hexRaw("81 a4 74797065 cd 00")},
	{"trailing bytes", append(event(mpArray("e")), 0xc0)},
	{"format 0xc1", mpMap("type", 2, "nsp", "/", "data", mpArray("e", raw{0xc1}))},
	{"missing type", mpMap("nsp", "/", "data", mpArray("e"))},
	{"undefined type", mpMap("type", undef, "nsp", "/", "data", mpArray("e"))},
	{"type 5", mpMap("type", 5, "nsp", "/", "data", mpArray("e"))},
	{"type 6", mpMap("type", 6, "nsp", "/", "data", mpArray("e"))},
	{"negative type", mpMap("type", -1, "nsp", "/", "data", mpArray("e"))},
	{"fractional type", mpMap("type", 2.5, "nsp", "/", "data", mpArray("e"))},
	{"string type", mpMap("type", "2", "nsp", "/", "data", mpArray("e"))},
	{"missing namespace", mpMap("type", 2, "data", mpArray("e"))},
	{"numeric namespace", mpMap("type", 2, "nsp", 1, "data", mpArray("e"))},
	{"namespace without slash", mpMap("type", 2, "nsp", "admin", "data", mpArray("e"))},
	{"empty namespace", mpMap("type", 2, "nsp", "", "data", mpArray("e"))},
	{"namespace with invalid UTF-8", mpMap("type", 2, "nsp", raw("\xa2/\xff"), "data", mpArray("e"))},
	{"binary namespace", mpMap("type", 2, "nsp", []byte("/"), "data", mpArray("e"))},
	{"negative id", mpMap("type", 2, "nsp", "/", "data", mpArray("e"), "id", -1)},
	{"fractional id", mpMap("type", 2, "nsp", "/", "data", mpArray("e"), "id", 1.5)},
	{"string id", mpMap("type", 2, "nsp", "/", "data", mpArray("e"), "id", "1")},
	{"null id", mpMap("type", 2, "nsp", "/", "data", mpArray("e"), "id", nil)},
	{"id on CONNECT", mpMap("type", 0, "nsp", "/", "id", 1)},
	{"id on CONNECT_ERROR", mpMap("type", 4, "nsp", "/", "data", "x", "id", 1)},
	{"CONNECT with an array", mpMap("type", 0, "nsp", "/", "data", mpArray())},
	{"CONNECT with a string", mpMap("type", 0, "nsp", "/", "data", "x")},
	{"CONNECT with null", mpMap("type", 0, "nsp", "/", "data", nil)},
	{"DISCONNECT with data", mpMap("type", 1, "nsp", "/", "data", mpMap())},
	{"DISCONNECT with null", mpMap("type", 1, "nsp", "/", "data", nil)},
	{"CONNECT_ERROR without data", mpMap("type", 4, "nsp", "/")},
	{"CONNECT_ERROR with an array", mpMap("type", 4, "nsp", "/", "data", mpArray("x"))},
	{"EVENT without data", mpMap("type", 2, "nsp", "/")},
	{"EVENT with undefined data", mpMap("type", 2, "nsp", "/", "data", undef)},
	{"EVENT with a map", event(mpMap("a", 1))},
	{"EVENT with a string", event("hello")},
	{"EVENT with an empty array", event(mpArray())},
	{"EVENT with a reserved name", event(mpArray("connect"))},
	{"EVENT named disconnecting", event(mpArray("disconnecting", 1))},
	{"EVENT named newListener", event(mpArray("newListener"))},
	{"EVENT with a boolean name", event(mpArray(true))},
	{"EVENT with a null name", event(mpArray(nil))},
	{"EVENT with a binary name", event(mpArray([]byte("x")))},
	{"EVENT with a NaN name", event(mpArray(hexRaw("cb 7ff8000000000001")))},
	{"EVENT with a map name", event(mpArray(mpMap()))},
	{"ACK without data", mpMap("type", 3, "nsp", "/", "id", 1)},
	{"ACK with a map", mpMap("type", 3, "nsp", "/", "data", mpMap(), "id", 1)},
	{"boolean map key", hexRaw("81 c3 c3")},
	{"nested array map key", event(mpArray("e", hexRaw("81 90 01")))},
	{"nested float map key", event(mpArray("e", hexRaw("81 cb 3ff8000000000000 01")))},
	{"nested binary map key", event(mpArray("e", hexRaw("81 c4 01 61 01")))},
	{"fixext 1 of another type", event(mpArray("e", hexRaw("d4 01 00")))},
	{"fixext 2", event(mpArray("e", hexRaw("d5 00 0000")))},
	{"fixext 4", event(mpArray("e", hexRaw("d6 ff 00000000")))},
	{"fixext 8 of another type (timestamp)", event(mpArray("e", hexRaw("d7 ff 0000000000000000")))},
	{"fixext 16", event(mpArray("e", hexRaw("d8 00 00000000000000000000000000000000")))},
	{"ext 8 of another type", event(mpArray("e", hexRaw("c7 01 05 00")))},
	{"truncated ext", event(mpArray("e", hexRaw("c7 05 00 00")))},
	{"ext without type", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 c7 00")},
	{"truncated date", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 d7 00 00")},
	{"array claiming 4G elements", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 dd ffffffff")},
	{"map claiming 4G members", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 df ffffffff")},
	{"packet map claiming 4G members", hexRaw("df ffffffff a4 74797065")},
	{"string claiming 4 GB", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 db ffffffff 61")},
	{"binary claiming 4 GB", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 c6 ffffffff 61")},
	{"ext claiming 4 GB", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 c9 ffffffff 00 61")},
	{"array one element short", hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 93 a1 65 01")},
	{"too deep", event(mpArray("e", deep(DefaultMaxDepth)))},
	{"too deep in an ignored member", mpMap("type", 2, "nsp", "/", "data", mpArray("e"), "x", deep(DefaultMaxDepth+1))},
	{"deep maps", event(mpArray("e", raw(strings.Repeat("\x81\xa1k", DefaultMaxDepth)+"\x01")))},
}

// TestDecodeRejects checks that every message of rejectCases is rejected
// with an error wrapping ErrInvalidPacket, without panicking.
func TestDecodeRejects(t *testing.T) {
	tests := rejectCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New().NewDecoder().Add(tt.msg, true)
			if err == nil {
				t.Fatalf("accepted % x as %+v", []byte(tt.msg), p)
			}
			wantInvalid(t, err)
			if p != nil {
				t.Fatalf("packet %+v with error %v", p, err)
			}
		})
	}
	// The same nesting one level less is fine.
	mustDecode(t, New(), event(mpArray("e", deep(DefaultMaxDepth-1))))
	mustDecode(t, New(WithMaxDepth(3)), event(mpArray("e", deep(2))))
	if _, err := New(WithMaxDepth(3)).NewDecoder().Add(event(mpArray("e", deep(3))), true); err == nil {
		t.Error("WithMaxDepth(3) accepted depth 4")
	}
}

func TestDecodeRejectsText(t *testing.T) {
	for _, msg := range [][]byte{[]byte(`2["hello"]`), event(mpArray("e"))} {
		_, err := New().NewDecoder().Add(msg, false)
		wantInvalid(t, err)
	}
}

// TestHostileLengthsAllocateNothing decodes short messages whose length
// prefixes claim gigabytes: they are rejected without allocating anything
// near what they claim.
func TestHostileLengthsAllocateNothing(t *testing.T) {
	msgs := map[string][]byte{
		"array":  {0xdd, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00}, // 10 bytes claiming 4G elements
		"map":    {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa4, 't', 'y', 'p', 'e'},
		"data":   hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 dd ffffffff c0"),
		"string": hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 db ffffffff"),
		"bin":    hexRaw("83 a4 74797065 02 a3 6e7370 a1 2f a4 64617461 92 a1 65 c6 ffffffff"),
	}
	d := New().NewDecoder()
	for name, msg := range msgs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range 100 {
			if _, err := d.Add(msg, true); err == nil {
				t.Fatalf("%s: accepted", name)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 100<<10 {
			t.Errorf("%s: 100 decodings allocated %d bytes", name, n)
		}
		allocs := testing.AllocsPerRun(100, func() { _, _ = d.Add(msg, true) })
		if allocs > 6 { // the packet and the error
			t.Errorf("%s: %v allocations per decoding", name, allocs)
		}
	}
}

// TestDecodeLargeArray checks that a large but honest message decodes.
func TestDecodeLargeArray(t *testing.T) {
	n := 100000
	data := make([]any, n)
	data[0] = "e"
	for i := 1; i < n; i++ {
		data[i] = i
	}
	p := mustDecode(t, New(), mustEncode(t, New(), &parser.Packet{Type: parser.Event, Data: data}))
	if p.Payload.Len() != n {
		t.Fatalf("Len %d, want %d", p.Payload.Len(), n)
	}
	var last int
	if err := p.Payload.Decode(n-1, &last); err != nil || last != n-1 {
		t.Fatalf("last element %d, %v", last, err)
	}
}

// TestDecoderReuse checks that a decoder keeps no state between messages
// (Reset is a no-op) and that errors do not poison it.
func TestDecoderReuse(t *testing.T) {
	d := New().NewDecoder()
	for i := range 3 {
		if _, err := d.Add(raw{0xdd, 0xff}, true); err == nil {
			t.Fatal("accepted garbage")
		}
		p, err := d.Add(mpMap("type", 2, "nsp", "/n", "data", mpArray("e", i)), true)
		if err != nil || p.Namespace != "/n" {
			t.Fatalf("packet %d: %+v, %v", i, p, err)
		}
		d.Reset()
	}
}
