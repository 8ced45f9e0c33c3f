package redisadapter

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/parser"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type num = json.Number

// Messages notepack.io 3.x (the Node adapter's msgpack) wrote for:
//
//	["abc123", {type: 2, data: ["ev", 1, 1.5, -3, "é", null, true,
//	  Buffer.from([0,1,255]), {a: [1, {b: undefined, c: 2}]}], nsp: "/"},
//	  {rooms: ["r1"], except: ["sid"], flags: {volatile: true, timeout: 5000}}]
const nodeBroadcast = "93a661626331323383a47479706502a46461746199a2657601cb3ff8000000000000fda2c3a9c0c3c4030001ff81a161920181a16302a36e7370a12f83a5726f6f6d7391a27231a665786365707491a3736964a5666c61677382a8766f6c6174696c65c3a774696d656f7574cd1388"

func TestDecodeNodeBroadcast(t *testing.T) {
	m, err := decodeBroadcast(mustHex(t, nodeBroadcast))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"ev", num("1"), num("1.5"), num("-3"), "é", nil, true, []byte{0, 1, 255},
		map[string]any{"a": []any{num("1"), map[string]any{"c": num("2")}}}}
	if m.uid != "abc123" || m.nsp != "/" || !reflect.DeepEqual(m.data, want) {
		t.Errorf("decoded %q %q %#v", m.uid, m.nsp, m.data)
	}
	wantOpts := &adapter.BroadcastOptions{Rooms: []adapter.Room{"r1"}, Except: []adapter.Room{"sid"},
		Flags: adapter.Flags{Volatile: true, Timeout: 5 * time.Second}}
	if !reflect.DeepEqual(m.opts, wantOpts) {
		t.Errorf("opts %+v", m.opts)
	}
	if uid, ok := peekUID(mustHex(t, nodeBroadcast)); !ok || uid != "abc123" {
		t.Errorf("peekUID = %q, %v", uid, ok)
	}

	// Ours decodes to the same.
	p := &parser.Packet{Type: parser.Event, Namespace: "/", Data: []any{"ev", 1, 1.5, -3, "é", nil, true,
		[]byte{0, 1, 255}, map[string]any{"a": []any{1, map[string]any{"c": 2}}}}}
	b, err := encodeBroadcast("abc123", p, wantOpts)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := decodeBroadcast(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ours, m) {
		t.Errorf("ours decodes to %+v, Node's to %+v", ours, m)
	}
}

func TestDecodeNodeValues(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		want      any
	}{
		// {d: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), s: new Date(Date.UTC(2024, 0, 2))}
		{"dates", "82a164d7ffa1a5d60065937d25a173d6ff65935200",
			map[string]any{"d": "2024-01-02T03:04:05.678Z", "s": "2024-01-02T00:00:00.000Z"}},
		// [2**40, -(2**40), 2**53, 1e21, 1.5e-7, NaN, 0.1]; notepack.io
		// writes 1e21 as a wrong uint64, which Node reads back as we do.
		{"numbers", "97cf0000010000000000d3ffffff0000000000cf0020000000000000cf35c9adc5dea00000cb3e8421f5f40d8376cb7ff8000000000000cb3fb999999999999a",
			[]any{num("1099511627776"), num("-1099511627776"), num("9007199254740992"),
				num("3875820019684212736"), num("1.5e-7"), nil, num("0.1")}},
		// [undefined, {x: undefined, y: 1}]
		{"undefined", "92c081a17901", []any{nil, map[string]any{"y": num("1")}}},
		// notepack's legacy undefined (fixext 1, type 0) in a map and an array.
		{"legacy undefined", "92d4000081a178d40000", []any{nil, map[string]any{}}},
		// An unknown extension: [type, bin], as notepack.io.
		{"extension", "d5070102", []any{num("7"), []byte{1, 2}}},
	} {
		got, err := decodeMsgpack(mustHex(t, c.hex))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, got, c.want)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, h := range []string{"", "dd7fffffff", "df7fffffff", "c6ffffffff00", "9301", "c1", "92c0c0c0"} {
		if v, err := decodeMsgpack(mustHex(t, h)); err == nil {
			t.Errorf("%q decoded to %#v", h, v)
		}
	}
	deep := make([]byte, 0, 3000)
	for range 2000 {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	if _, err := decodeMsgpack(deep); err == nil {
		t.Error("2000 nested arrays decoded")
	}
}

func TestValueRoundTrip(t *testing.T) {
	type point struct {
		X   int    `json:"x"`
		Bin []byte `json:"bin"`
	}
	in := []any{
		nil, true, "s", 1, int64(-1 << 40), uint64(1<<64 - 1), 2.5, float32(0.5), 3.0, num("12"), num("1e400"),
		[]byte{}, []string{"a"}, map[string]string{"k": "v"}, [][]byte{{1}}, map[string][]byte{"b": {2}},
		json.RawMessage(`{"r":[1,2]}`), point{X: 1, Bin: []byte{9}}, []int{1, 2}, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	want := []any{
		nil, true, "s", num("1"), num("-1099511627776"), num("18446744073709551615"), num("2.5"), num("0.5"), num("3"),
		num("12"), nil, []byte{}, []any{"a"}, map[string]any{"k": "v"}, []any{[]byte{1}}, map[string]any{"b": []byte{2}},
		map[string]any{"r": []any{num("1"), num("2")}}, map[string]any{"x": num("1"), "bin": "CQ=="}, []any{num("1"), num("2")},
		"2024-01-02T03:04:05Z",
	}
	if _, err := encodeMsgpack(in); err == nil {
		t.Fatal("1e400 encoded") // out of float64's range
	}
	in[10], want[10] = num("-0.25"), num("-0.25")
	b, err := encodeMsgpack(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMsgpack(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if !hasBinary(in, 0) || hasBinary([]any{"x", point{Bin: []byte{1}}}, 0) {
		t.Error("hasBinary")
	}
	for _, bad := range []any{[]any{func() {}}, map[string]any{"nan": nanValue()}} {
		if _, err := encodeMsgpack(bad); err == nil {
			t.Errorf("%#v encoded", bad)
		}
	}
}

// TestKeyOrder: a struct's fields keep their order on the wire (Node
// keeps it from there; a Go receiver's maps do not).
func TestKeyOrder(t *testing.T) {
	b, err := encodeMsgpack(struct {
		Z int `json:"z"`
		A int `json:"a"`
	}{1, 2})
	if err != nil || hex.EncodeToString(b) != "82a17a01a16102" {
		t.Errorf("got %x, %v", b, err)
	}
	if b, err = encodeMsgpack(json.RawMessage(`{"z":1,"a":[{"y":1,"b":2}]}`)); err != nil ||
		hex.EncodeToString(b) != "82a17a01a1619182a17901a16202" {
		t.Errorf("got %x, %v", b, err)
	}
}

func nanValue() float64 { var z float64; return z / z }

func TestJSNumber(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", 1: "1", -1.5: "-1.5", 1e20: "100000000000000000000", 1e21: "1e+21", 1.5e-7: "1.5e-7",
		0.000001: "0.000001", 123456789.125: "123456789.125", 5e-324: "5e-324",
	} {
		if got := jsNumber(f); got != num(want) {
			t.Errorf("jsNumber(%v) = %v, want %s", f, got, want)
		}
	}
}

func TestMessages(t *testing.T) {
	// JSON unless it holds binary.
	b, err := encodeMessage(map[string]any{"type": typeServerSideEmit, "data": []any{"ev", 1}}, false)
	if err != nil || string(b) != `{"data":["ev",1],"type":6}` {
		t.Errorf("JSON message %s, %v", b, err)
	}
	b, err = encodeMessage(map[string]any{"data": []any{"ev", []byte{1}}}, false)
	if err != nil || b[0] != 0x81 {
		t.Errorf("binary message %x, %v", b, err)
	}
	m, err := decodeMessage(b)
	if err != nil || !reflect.DeepEqual(m, map[string]any{"data": []any{"ev", []byte{1}}}) {
		t.Errorf("decoded %#v, %v", m, err)
	}
	m, err = decodeMessage([]byte(`{"uid":"x","type":5,"opts":{"rooms":["a",1],"except":[]}}`))
	if err != nil || readOptions(m["opts"]).Rooms[1] != "1" {
		t.Errorf("decoded %#v, %v", m, err)
	}
	for _, bad := range []string{`[1]`, `{"a":1} x`, "\x92\x01\x02"} {
		if _, err := decodeMessage([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestHandshake(t *testing.T) {
	h := &adapter.Handshake{
		Headers: http.Header{"User-Agent": {"test"}, "Cookie": {"a=1", "b=2"}, "Set-Cookie": {"x=1", "y=2"},
			"Accept": {"a", "b"}},
		Time:    time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC),
		Address: "::1", XDomain: true, Secure: true, URL: "/socket.io/?EIO=4&q=1&q=2",
		Query: url.Values{"EIO": {"4"}, "q": {"1", "2"}},
		Auth:  map[string]any{"token": "t"},
	}
	w := handshakeToWire(h)
	b, err := marshalJSON(w)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"address":"::1","auth":{"token":"t"},"headers":{"accept":"a, b","cookie":"a=1; b=2",` +
		`"set-cookie":["x=1","y=2"],"user-agent":"test"},"issued":1704164645678,"query":{"EIO":"4","q":"2"},` +
		`"secure":true,"time":"Tue Jan 02 2024 03:04:05 GMT+0000 (Coordinated Universal Time)",` +
		`"url":"/socket.io/?EIO=4&q=1&q=2","xdomain":true}`
	if string(b) != want {
		t.Errorf("wire handshake\n%s\nwant\n%s", b, want)
	}
	tree, _ := decodeJSON(b)
	back := handshakeFromWire(tree)
	if !back.Time.Equal(h.Time) || back.Headers.Get("User-Agent") != "test" || back.Headers.Get("Cookie") != "a=1; b=2" ||
		len(back.Headers["Set-Cookie"]) != 2 || back.Query.Get("q") != "2" || back.Address != "::1" ||
		!back.XDomain || !back.Secure || back.URL != h.URL || back.Auth["token"] != "t" {
		t.Errorf("back: %+v", back)
	}
	// Without issued, the time string.
	delete(tree.(map[string]any), "issued")
	if got := handshakeFromWire(tree).Time; !got.Equal(h.Time.Truncate(time.Second)) {
		t.Errorf("time from the string: %v", got)
	}
}

func TestTreePayload(t *testing.T) {
	p := treePayload{map[string]any{"a": num("1"), "b": []byte{1, 2}}, "s", []byte{3}}
	var v struct {
		A int
		B []byte
	}
	if err := p.Decode(0, &v); err != nil || v.A != 1 || string(v.B) != "\x01\x02" {
		t.Errorf("Decode: %+v, %v", v, err)
	}
	var s string
	var bin []byte
	if err := p.Decode(1, &s); err != nil || s != "s" {
		t.Errorf("Decode string: %q, %v", s, err)
	}
	if err := p.Decode(2, &bin); err != nil || string(bin) != "\x03" {
		t.Errorf("Decode bytes: %v, %v", bin, err)
	}
	raw, err := p.Raw(0)
	if err != nil || string(raw) != `{"a":1,"b":"AQI="}` {
		t.Errorf("Raw: %s, %v", raw, err)
	}
	x, _ := p.Value(0)
	x.(map[string]any)["a"] = "changed"
	if y, _ := p.Value(0); y.(map[string]any)["a"] != num("1") {
		t.Error("Value shares maps")
	}
	if _, err := p.Value(3); err == nil {
		t.Error("Value(3) of 3")
	}
}
