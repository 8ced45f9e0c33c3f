package msgpackparser

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/parser"
)

func TestPayloadDecode(t *testing.T) {
	type file struct {
		Name string    `json:"name"`
		Data []byte    `json:"data"`
		At   time.Time `json:"at"`
		N    int       `json:"n"`
	}
	msg := event(mpArray("e",
		mpMap("name", "a.bin", "data", []byte{1, 2}, "at", hexRaw("d7 00 0000018d 0b1e4c00"), "N", 3), // member names match case-insensitively, as in encoding/json
		[]byte{9, 8},
		"te$t",
		-5,
		uint64(math.MaxUint64),
		2.5,
		true,
		nil,
		mpMap("k", mpArray(1, "x", []byte{7})),
		hexRaw("c7 02 00 0506"),
	))
	pl := mustDecode(t, New(), msg).Payload

	var f file
	if err := pl.Decode(1, &f); err != nil {
		t.Fatal(err)
	}
	if want := (file{Name: "a.bin", Data: []byte{1, 2}, At: time.UnixMilli(0x18d0b1e4c00).UTC(), N: 3}); !deepEqual(f, want) {
		t.Errorf("struct: %+v, want %+v", f, want)
	}

	var b []byte
	if err := pl.Decode(2, &b); err != nil || !bytes.Equal(b, []byte{9, 8}) {
		t.Errorf("[]byte: %v, %v", b, err)
	}
	if err := pl.Decode(10, &b); err != nil || !bytes.Equal(b, []byte{5, 6}) {
		t.Errorf("[]byte from ext: %v, %v", b, err)
	}
	// A string decodes into []byte as base64, as with encoding/json.
	if err := pl.Decode(3, &b); err == nil {
		t.Errorf("[]byte from \"te$t\": %v", b)
	}
	var s string
	if err := pl.Decode(3, &s); err != nil || s != "te$t" {
		t.Errorf("string: %q, %v", s, err)
	}
	if err := pl.Decode(2, &s); err != nil || s != "CQg=" {
		t.Errorf("string from binary: %q, %v", s, err)
	}
	var i int
	if err := pl.Decode(4, &i); err != nil || i != -5 {
		t.Errorf("int: %d, %v", i, err)
	}
	var u8 uint8
	if err := pl.Decode(4, &u8); err == nil {
		t.Errorf("uint8 from -5: %d", u8)
	}
	var u64 uint64
	if err := pl.Decode(5, &u64); err != nil || u64 != math.MaxUint64 {
		t.Errorf("uint64: %d, %v", u64, err)
	}
	if err := pl.Decode(5, &i); err == nil {
		t.Errorf("int from MaxUint64: %d", i)
	}
	if err := pl.Decode(6, &i); err == nil {
		t.Errorf("int from 2.5: %d", i)
	}
	var f64 float64
	if err := pl.Decode(6, &f64); err != nil || f64 != 2.5 {
		t.Errorf("float64: %v, %v", f64, err)
	}
	var n json.Number
	if err := pl.Decode(5, &n); err != nil || n != "18446744073709551615" {
		t.Errorf("json.Number: %v, %v", n, err)
	}
	var ok bool
	if err := pl.Decode(7, &ok); err != nil || !ok {
		t.Errorf("bool: %v, %v", ok, err)
	}
	ptr := &i
	if err := pl.Decode(8, &ptr); err != nil || ptr != nil {
		t.Errorf("pointer from nil: %v, %v", ptr, err)
	}
	var m map[string]any
	if err := pl.Decode(9, &m); err != nil || !deepEqual(m, map[string]any{"k": []any{1.0, "x", "Bw=="}}) {
		t.Errorf("map[string]any: %#v, %v", m, err)
	}
	// As json.Unmarshal, Decode adds to an existing map.
	m = map[string]any{"old": true}
	if err := pl.Decode(9, &m); err != nil || len(m) != 2 {
		t.Errorf("map[string]any added to: %#v, %v", m, err)
	}
	var rawMsg json.RawMessage
	if err := pl.Decode(9, &rawMsg); err != nil || string(rawMsg) != `{"k":[1,"x","Bw=="]}` {
		t.Errorf("json.RawMessage: %s, %v", rawMsg, err)
	}
	var typed struct {
		K []json.RawMessage `json:"k"`
	}
	if err := pl.Decode(9, &typed); err != nil || len(typed.K) != 3 || string(typed.K[2]) != `"Bw=="` {
		t.Errorf("struct with raw messages: %s, %v", typed.K, err)
	}

	// Errors.
	if err := pl.Decode(1, &i); err == nil {
		t.Error("int from a map")
	}
	if err := pl.Decode(99, &i); !errors.Is(err, parser.ErrIndexOutOfRange) {
		t.Errorf("index 99: %v", err)
	}
	if err := pl.Decode(-1, &i); !errors.Is(err, parser.ErrIndexOutOfRange) {
		t.Errorf("index -1: %v", err)
	}
	if err := pl.Decode(3, nil); err == nil {
		t.Error("nil target")
	}
	if err := pl.Decode(3, s); err == nil {
		t.Error("non-pointer target")
	}
	if _, err := pl.Value(99); !errors.Is(err, parser.ErrIndexOutOfRange) {
		t.Errorf("Value(99): %v", err)
	}
	if _, err := pl.Raw(-1); !errors.Is(err, parser.ErrIndexOutOfRange) {
		t.Errorf("Raw(-1): %v", err)
	}
}

// TestPayloadAgreement checks that Value, Raw and Decode agree on every
// element: Decode into any is json.Unmarshal of Raw, and Value is Raw with
// native numbers and binaries.
func TestPayloadAgreement(t *testing.T) {
	msg := event(mpArray("e", 1, -1, 1.5, 1e21, 1e-7, "s\u2028\"", []byte("bin"), nil, true,
		mpMap("u", undef, "d", hexRaw("d7 00 ffe14df73d240000"), "n", hexRaw("cb fff0000000000000"), raw{0x05}, "five"),
		mpArray(undef, hexRaw("d7 00 7fffffffffffffff"), hexRaw("c8 0001 00 ff")),
		hexRaw("ca 3f800000"),
		uint64(1<<63),
	))
	pl := mustDecode(t, New(), msg).Payload
	wantRaw := `["e",1,-1,1.5,1e+21,1e-7,"s\u2028\"","Ymlu",null,true,` +
		`{"d":"-271821-04-20T00:00:00.000Z","n":null,"5":"five"},` +
		`[null,null,"/w=="],1,9223372036854775808]`
	if got := raws(t, pl); got != wantRaw {
		t.Errorf("Raw:\n got %s\nwant %s", got, wantRaw)
	}
	for i := range pl.Len() {
		r, _ := pl.Raw(i)
		var fromRaw, decoded any
		if err := json.Unmarshal(r, &fromRaw); err != nil {
			t.Fatalf("Raw(%d) = %s: %v", i, r, err)
		}
		if err := pl.Decode(i, &decoded); err != nil {
			t.Fatal(err)
		}
		if !deepEqual(fromRaw, decoded) {
			t.Errorf("element %d: Decode %#v, json.Unmarshal(Raw) %#v", i, decoded, fromRaw)
		}
		v, err := pl.Value(i)
		if err != nil {
			t.Fatal(err)
		}
		var fromValue any
		if err := json.Unmarshal([]byte(jsonText(t, v)), &fromValue); err != nil || !deepEqual(fromValue, fromRaw) {
			t.Errorf("element %d: Value as JSON %s, Raw %s", i, jsonText(t, v), r)
		}
	}
	if got := pl.(interface{ String() string }).String(); got != wantRaw {
		t.Errorf("String() = %s", got)
	}
}

func TestDates(t *testing.T) {
	tests := []struct {
		ms   int64
		want any
	}{
		{0, "1970-01-01T00:00:00.000Z"},
		{1706918706007, "2024-02-03T00:05:06.007Z"},
		{-1, "1969-12-31T23:59:59.999Z"},
		{-62198755200000, "-000001-01-01T00:00:00.000Z"},
		{-62167219200000, "0000-01-01T00:00:00.000Z"},
		{253402300800000, "+010000-01-01T00:00:00.000Z"},
		{8.64e15, "+275760-09-13T00:00:00.000Z"},
		{8.64e15 + 1, nil},
		{-8.64e15 - 1, nil},
	}
	for _, tt := range tests {
		var b [9]byte
		b[0] = 0
		for k := range 8 {
			b[1+k] = byte(uint64(tt.ms) >> (56 - 8*k))
		}
		pl := mustDecode(t, New(), event(mpArray("e", append(raw{mpFixExt8}, b[:]...)))).Payload
		if v, _ := pl.Value(1); v != tt.want {
			t.Errorf("date %d: %v, want %v", tt.ms, v, tt.want)
		}
	}
}

// TestForwardPayload encodes decoded payloads again, as adapters forward
// packets: the MessagePack elements are copied, except ext type 0 binaries,
// which become bin (browsers' notepack.io does not decode them).
func TestForwardPayload(t *testing.T) {
	c := New()
	src := event(mpArray("e", hexRaw("c7 01 00 09"), mpMap("d", hexRaw("d7 00 0000000000000000"), "u", undef)))
	p := mustDecode(t, c, src)
	out := mustEncode(t, c, &parser.Packet{Type: parser.Event, Payload: p.Payload})
	want := mpMap("type", 2, "nsp", "/", "data", mpArray("e", []byte{9}, map[string]any{"d": "1970-01-01T00:00:00.000Z"}))
	if !bytes.Equal(out, want) {
		t.Errorf("forwarded\n got % x\nwant % x", out, want)
	}
	// Without ext binaries the bytes are kept as they are (Date included).
	src = event(mpArray("e", hexRaw("d7 00 0000000000000000"), undef))
	p = mustDecode(t, c, src)
	out = mustEncode(t, c, &parser.Packet{Type: parser.Event, Payload: p.Payload})
	want = mpMap("type", 2, "nsp", "/", "data", mpArray("e", hexRaw("d7 00 0000000000000000"), undef))
	if !bytes.Equal(out, want) {
		t.Errorf("forwarded\n got % x\nwant % x", out, want)
	}

	// A payload of the JSON codec goes through Value.
	jp, err := parser.JSON.NewDecoder().Add([]byte(`2["e",{"a":[1,2.5,"x"]}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	out = mustEncode(t, c, &parser.Packet{Type: parser.Event, Payload: jp.Payload})
	want = mpMap("type", 2, "nsp", "/", "data", mpArray("e", mpMap("a", mpArray(1, 2.5, "x"))))
	if !bytes.Equal(out, want) {
		t.Errorf("JSON payload forwarded\n got % x\nwant % x", out, want)
	}
	jp, _ = parser.JSON.NewDecoder().Add([]byte(`4{"message":"m"}`), false)
	out = mustEncode(t, c, &parser.Packet{Type: parser.ConnectError, Payload: jp.Payload})
	if want := mpMap("type", 4, "nsp", "/", "data", mpMap("message", "m")); !bytes.Equal(out, want) {
		t.Errorf("CONNECT_ERROR forwarded\n got % x\nwant % x", out, want)
	}

	// A forwarded EVENT payload is checked like any data.
	jp, _ = parser.JSON.NewDecoder().Add([]byte(`3["connect",1]`), false)
	if _, err := c.Encode(&parser.Packet{Type: parser.Event, Payload: jp.Payload}, nil); err == nil {
		t.Error("forwarded a reserved event name")
	}
	if _, err := c.Encode(&parser.Packet{Type: parser.ConnectError, Payload: jp.Payload}, nil); err == nil {
		t.Error("forwarded a 2-element payload as CONNECT_ERROR")
	}
}

// TestValuesRoundTrip checks the contract of Args.Values: decoded values
// passed back to Emit are sent unchanged.
func TestValuesRoundTrip(t *testing.T) {
	c := New()
	msg := event(mpArray("e", 0, -7, uint64(math.MaxUint64), int64(math.MinInt64), 1.25, 1e300, "é",
		[]byte{}, []byte{1}, mpMap("a", mpArray([]byte{2}, mpMap("b", nil))), mpArray()))
	p := mustDecode(t, c, msg)
	out := mustEncode(t, c, &parser.Packet{Type: parser.Event, Data: values(t, p.Payload)})
	if !bytes.Equal(out, msg) {
		t.Errorf("re-encoded\n got % x\nwant % x", out, msg)
	}
}

// TestConcurrentReads exercises a payload from several goroutines (run with
// -race).
func TestConcurrentReads(t *testing.T) {
	pl := mustDecode(t, New(), event(mpArray("e", mpMap("a", []byte{1}, "b", mpArray(1, "x"))))).Payload
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				v, _ := pl.Value(1)
				_, _ = pl.Raw(1)
				var m map[string]any
				_ = pl.Decode(1, &m)
				if v.(map[string]any)["a"].([]byte)[0] != 1 {
					t.Error("bad value")
				}
			}
		})
	}
	wg.Wait()
}
