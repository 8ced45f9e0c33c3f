package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// framesString renders frames as "text | bin:hex | ..." for comparisons.
func framesString(frames []Frame) string {
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteString(" + ")
		}
		if f.Binary {
			b.WriteString("<")
			b.WriteString(string(f.Data))
			b.WriteString(">")
		} else {
			b.Write(f.Data)
		}
	}
	return b.String()
}

type eventName string

type withBytes struct {
	Name string `json:"name"`
	Blob []byte `json:"blob"`
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"connect", Packet{Type: Connect}, `0`},
		{"connect explicit root", Packet{Type: Connect, Namespace: "/"}, `0`},
		{"connect auth", Packet{Type: Connect, Data: map[string]any{"token": "123"}}, `0{"token":"123"}`},
		{"connect nsp auth", Packet{Type: Connect, Namespace: "/admin", Data: map[string]string{"token": "123"}}, `0/admin,{"token":"123"}`},
		{"connect nsp", Packet{Type: Connect, Namespace: "/admin"}, `0/admin,`},
		{"connect sid", Packet{Type: Connect, Namespace: "/admin", Data: map[string]any{"sid": "oSO0OpakMV_3jnilAAAA"}}, `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`},
		{"connect nil map", Packet{Type: Connect, Data: map[string]any(nil)}, `0`},
		{"connect struct", Packet{Type: Connect, Data: struct {
			SID string `json:"sid"`
		}{"x"}}, `0{"sid":"x"}`},
		{"connect bytes are base64", Packet{Type: Connect, Data: map[string]any{"b": []byte{1, 2, 3}}}, `0{"b":"AQID"}`},
		{"disconnect", Packet{Type: Disconnect}, `1`},
		{"disconnect nsp", Packet{Type: Disconnect, Namespace: "/admin"}, `1/admin,`},
		{"event", Packet{Type: Event, Data: []any{"hello", 1}}, `2["hello",1]`},
		{"event nsp id", Packet{Type: Event, Namespace: "/admin", ID: 456, HasID: true, Data: []any{"project:delete", 123}}, `2/admin,456["project:delete",123]`},
		{"event id zero", Packet{Type: Event, HasID: true, Data: []any{"a"}}, `20["a"]`},
		{"event max id", Packet{Type: Event, ID: math.MaxUint64, HasID: true, Data: []any{"a"}}, `218446744073709551615["a"]`},
		{"event strings", Packet{Type: Event, Data: []string{"a", "b"}}, `2["a","b"]`},
		{"event numeric name", Packet{Type: Event, Data: []any{1, "a"}}, `2[1,"a"]`},
		{"event named string type", Packet{Type: Event, Data: []any{eventName("ev"), 1}}, `2["ev",1]`},
		{"event raw name", Packet{Type: Event, Data: []any{json.RawMessage(`"ev"`), json.RawMessage(`{"a":1}`)}}, `2["ev",{"a":1}]`},
		{"event escaped name", Packet{Type: Event, Data: []any{"a\"b"}}, `2["a\"b"]`},
		{"event binary type without binary", Packet{Type: BinaryEvent, Data: []any{"a"}}, `2["a"]`},
		{"event no html escaping", Packet{Type: Event, Data: []any{"<a href=\"x\">&amp;</a>", map[string]any{"<k>": "&"}}}, `2["<a href=\"x\">&amp;</a>",{"<k>":"&"}]`},
		{"event no html escaping fallback", Packet{Type: Event, Data: []any{"a", struct{ S string }{"<&>"}}}, `2["a",{"S":"<&>"}]`},
		{"event escapes", Packet{Type: Event, Data: []any{"a", "\"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029\xff é"}}, `2["a","\"\\/\b\f\n\r\t\u0000\u001f` + "\x7f" + `\u2028\u2029\ufffd é"]`},
		{"event scalars", Packet{Type: Event, Data: []any{"s", nil, true, false, int8(-8), int16(-16), int32(-32), int64(-64), uint(1), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64)}},
			`2["s",null,true,false,-8,-16,-32,-64,1,8,16,32,18446744073709551615]`},
		{"event floats", Packet{Type: Event, Data: []any{"f", 1.5, 0.0, math.Copysign(0, -1), 1e21, 1e20, 1e-7, 0.000001, float32(0.1), 123456789.0, math.MaxFloat64, math.SmallestNonzeroFloat64}},
			`2["f",1.5,0,-0,1e+21,100000000000000000000,1e-7,0.000001,0.1,123456789,1.7976931348623157e+308,5e-324]`},
		{"event json.Number", Packet{Type: Event, Data: []any{"n", json.Number("12345678901234567890.5e-3"), json.Number("")}}, `2["n",12345678901234567890.5e-3,0]`},
		{"event raw message", Packet{Type: Event, Data: []any{"r", json.RawMessage(`{"z":1,  "a":[ 1 ]}`), json.RawMessage(nil)}}, `2["r",{"z":1,  "a":[ 1 ]},null]`},
		{"event raw message data", Packet{Type: Event, Data: json.RawMessage(`["r",1]`)}, `2["r",1]`},
		{"event sorted keys", Packet{Type: Event, Data: []any{"m", map[string]any{"b": 1, "a": map[string]any{"d": 2, "c": 3}, "é": 0, "A": nil}}}, `2["m",{"A":null,"a":{"c":3,"d":2},"b":1,"é":0}]`},
		{"event nil containers", Packet{Type: Event, Data: []any{"n", []any(nil), []string(nil), map[string]any(nil), map[string]string(nil), [][]byte(nil), map[string][]byte(nil), []byte(nil)}},
			`2["n",null,null,null,null,null,null,null]`},
		{"event empty containers", Packet{Type: Event, Data: []any{"e", []any{}, []string{}, map[string]any{}, [][]byte{}}}, `2["e",[],[],{},[]]`},
		{"event fallback types", Packet{Type: Event, Data: []any{"x", []int{1, 2}, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), &struct{ A int }{1}, withBytes{"n", []byte{1}}}},
			`2["x",[1,2],"2024-01-02T03:04:05Z",{"A":1},{"name":"n","blob":"AQ=="}]`},
		{"ack", Packet{Type: Ack, Namespace: "/admin", ID: 456, HasID: true, Data: []any{}}, `3/admin,456[]`},
		{"ack bar", Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: []any{"bar"}}, `3/admin,13["bar"]`},
		{"connect error", Packet{Type: ConnectError, Data: map[string]any{"message": "Not authorized"}}, `4{"message":"Not authorized"}`},
		{"connect error nsp", Packet{Type: ConnectError, Namespace: "/random", Data: map[string]any{"message": "Invalid namespace"}}, `4/random,{"message":"Invalid namespace"}`},
		{"connect error data", Packet{Type: ConnectError, Data: map[string]any{"message": "m", "data": map[string]any{"code": 42}}}, `4{"data":{"code":42},"message":"m"}`},
		{"connect error string", Packet{Type: ConnectError, Data: "Unauthorized"}, `4"Unauthorized"`},
		{"binary event", Packet{Type: Event, Data: []any{"hello", []byte("b0")}}, `51-["hello",{"_placeholder":true,"num":0}] + <b0>`},
		{"binary event declared", Packet{Type: BinaryEvent, Data: []any{"hello", []byte("b0")}}, `51-["hello",{"_placeholder":true,"num":0}] + <b0>`},
		{"binary event two", Packet{Type: Event, Namespace: "/admin", Data: []any{"baz", []byte("b0"), []byte("b1")}},
			`52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}] + <b0> + <b1>`},
		{"binary ack", Packet{Type: Ack, Namespace: "/admin", ID: 456, HasID: true, Data: []any{[]byte("b0")}},
			`61-/admin,456[{"_placeholder":true,"num":0}] + <b0>`},
		{"binary ack declared", Packet{Type: BinaryAck, ID: 15, HasID: true, Data: []any{"bar", []byte("b0")}},
			`61-15["bar",{"_placeholder":true,"num":0}] + <b0>`},
		{"binary empty attachment", Packet{Type: Event, Data: []any{"e", []byte{}}}, `51-["e",{"_placeholder":true,"num":0}] + <>`},
		{"binary nested depth first", Packet{Type: Event, Data: []any{"n",
			map[string]any{"z": []byte("b3"), "a": []any{[]byte("b0"), map[string][]byte{"y": []byte("b2"), "x": []byte("b1")}}},
			[][]byte{[]byte("b4"), nil, []byte("b5")},
		}},
			`56-["n",{"a":[{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1},"y":{"_placeholder":true,"num":2}}],"z":{"_placeholder":true,"num":3}},[{"_placeholder":true,"num":4},null,{"_placeholder":true,"num":5}]] + <b0> + <b1> + <b2> + <b3> + <b4> + <b5>`},
		{"binary top level bytes ack", Packet{Type: Ack, ID: 1, HasID: true, Data: [][]byte{[]byte("b0")}}, `61-1[{"_placeholder":true,"num":0}] + <b0>`},
		{"binary inside struct is base64", Packet{Type: Event, Data: []any{"s", withBytes{"n", []byte("b0")}}}, `2["s",{"name":"n","blob":"YjA="}]`},
		{"twelve attachments", Packet{Type: Event, Data: []any{"t", []byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4"), []byte("5"), []byte("6"), []byte("7"), []byte("8"), []byte("9"), []byte("a"), []byte("b")}},
			`512-["t",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2},{"_placeholder":true,"num":3},{"_placeholder":true,"num":4},{"_placeholder":true,"num":5},{"_placeholder":true,"num":6},{"_placeholder":true,"num":7},{"_placeholder":true,"num":8},{"_placeholder":true,"num":9},{"_placeholder":true,"num":10},{"_placeholder":true,"num":11}] + <0> + <1> + <2> + <3> + <4> + <5> + <6> + <7> + <8> + <9> + <a> + <b>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := JSON.Encode(&tt.p, nil)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := framesString(frames); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			// With the Engine.IO prefix, allocated once.
			prefixed, err := JSON.Encode(&tt.p, []byte("4"))
			if err != nil {
				t.Fatal(err)
			}
			if got := framesString(prefixed); got != "4"+tt.want {
				t.Fatalf("prefixed: got %s", got)
			}
			if len(prefixed[0].Data) != cap(prefixed[0].Data) {
				t.Errorf("text frame len %d cap %d: not sized exactly", len(prefixed[0].Data), cap(prefixed[0].Data))
			}
			// The result decodes (unless it is deliberately more than the default limit).
			if len(frames)-1 <= DefaultMaxAttachments {
				p, err := decodeFrames(JSON.NewDecoder(), frames)
				if err != nil || p == nil {
					t.Fatalf("decode %s: %v %v", tt.want, p, err)
				}
				checkRoundTrip(t, p)
			}
		})
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "abc", "<>&", "\u2028\u2029", "\x00\x01\x1f\x7f", "\xff\xfe", "é\xe9", "\xed\xa0\x80", "a\"b\\c/d", "\t\n\r\b\f", "日本語", "\U0001F600"}
	floats := []float64{0, 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123e-20, math.MaxFloat64, -math.SmallestNonzeroFloat64, 1.0 / 3}
	var data []any
	for _, s := range strs {
		data = append(data, s, map[string]any{s: s})
	}
	for _, f := range floats {
		data = append(data, f)
		if math.Abs(f) <= math.MaxFloat32 {
			data = append(data, float32(f))
		}
	}
	var std bytes.Buffer
	enc := json.NewEncoder(&std)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		t.Fatal(err)
	}
	frames, err := JSON.Encode(&Packet{Type: Ack, Data: data}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "3" + strings.TrimSuffix(std.String(), "\n")
	if got := string(frames[0].Data); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	cyclic := []any{"a", nil}
	cyclic[1] = cyclic
	cyclicMap := map[string]any{}
	cyclicMap["m"] = cyclicMap
	tests := []struct {
		name string
		p    *Packet
	}{
		{"nil packet", nil},
		{"unknown type", &Packet{Type: 7}},
		{"namespace without slash", &Packet{Type: Connect, Namespace: "admin"}},
		{"namespace with comma", &Packet{Type: Connect, Namespace: "/a,b"}},
		{"namespace control char", &Packet{Type: Connect, Namespace: "/a\nb"}},
		{"namespace invalid utf8", &Packet{Type: Connect, Namespace: "/\xff"}},
		{"id on connect", &Packet{Type: Connect, HasID: true}},
		{"id on disconnect", &Packet{Type: Disconnect, ID: 1, HasID: true}},
		{"id on connect error", &Packet{Type: ConnectError, HasID: true, Data: "x"}},
		{"connect array", &Packet{Type: Connect, Data: []any{}}},
		{"connect string", &Packet{Type: Connect, Data: "x"}},
		{"disconnect data", &Packet{Type: Disconnect, Data: map[string]any{}}},
		{"connect error missing", &Packet{Type: ConnectError}},
		{"connect error number", &Packet{Type: ConnectError, Data: 1}},
		{"event missing", &Packet{Type: Event}},
		{"event empty", &Packet{Type: Event, Data: []any{}}},
		{"event empty strings", &Packet{Type: Event, Data: []string{}}},
		{"event reserved", &Packet{Type: Event, Data: []any{"connect"}}},
		{"event reserved strings", &Packet{Type: Event, Data: []string{"disconnect"}}},
		{"event bool name", &Packet{Type: Event, Data: []any{true}}},
		{"event string data", &Packet{Type: Event, Data: "hello"}},
		{"event object data", &Packet{Type: Event, Data: map[string]any{"a": 1}}},
		{"event reserved named type", &Packet{Type: Event, Data: []eventName{"disconnecting"}}},
		{"event reserved raw", &Packet{Type: Event, Data: []any{json.RawMessage(`"connect"`)}}},
		{"event reserved raw data", &Packet{Type: Event, Data: json.RawMessage(` [ "connect" ]`)}},
		{"event empty raw data", &Packet{Type: Event, Data: json.RawMessage(`[ ]`)}},
		{"event reserved escaped", &Packet{Type: Event, Data: []any{json.RawMessage(`"\u0063onnect"`)}}},
		{"event bool raw", &Packet{Type: Event, Data: []any{json.RawMessage(`true`)}}},
		{"ack missing", &Packet{Type: Ack, HasID: true}},
		{"ack object", &Packet{Type: Ack, Data: struct{}{}}},
		{"NaN", &Packet{Type: Event, Data: []any{"a", math.NaN()}}},
		{"Inf", &Packet{Type: Event, Data: []any{"a", float32(math.Inf(1))}}},
		{"bad json.Number", &Packet{Type: Event, Data: []any{"a", json.Number("1x")}}},
		{"unsupported type", &Packet{Type: Event, Data: []any{"a", make(chan int)}}},
		{"cyclic slice", &Packet{Type: Event, Data: cyclic}},
		{"cyclic map", &Packet{Type: Event, Data: []any{"a", cyclicMap}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := JSON.Encode(tt.p, nil)
			if err == nil {
				t.Fatalf("no error: %s", framesString(frames))
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("%v does not wrap ErrInvalidPacket", err)
			}
		})
	}
	// The underlying encoding/json error stays reachable.
	_, err := JSON.Encode(&Packet{Type: Event, Data: []any{"a", make(chan int)}}, nil)
	var ute *json.UnsupportedTypeError
	if !errors.As(err, &ute) {
		t.Errorf("%v: not a *json.UnsupportedTypeError", err)
	}
}

func TestEncodeDoesNotAlias(t *testing.T) {
	raw := json.RawMessage(`{"a":1}`)
	att := []byte("bin")
	frames, err := JSON.Encode(&Packet{Type: Event, Data: []any{"x", raw, att}}, []byte("4"))
	if err != nil {
		t.Fatal(err)
	}
	raw[2] = 'X'
	if got := string(frames[0].Data); got != `451-["x",{"a":1},{"_placeholder":true,"num":0}]` {
		t.Fatalf("text frame changed with caller memory: %s", got)
	}
	if &frames[1].Data[0] != &att[0] {
		t.Error("attachment copied")
	}
}

// TestEncodePayload checks that decoded packets can be forwarded.
func TestEncodePayload(t *testing.T) {
	d := JSON.NewDecoder()
	for _, in := range [][]msg{
		{txt(`2/admin,7[ "a" , {"x": 1} ]`)},
		{txt(`0 {"token" : "t"}`)},
		{txt(`4"nope"`)},
		{txt(`52-["a",{"_placeholder":true,"num":1},{"b":{"_placeholder":true,"num":0}}]`), bin("zero"), bin("one")},
	} {
		p, err := feed(t, d, in...)
		if err != nil || p == nil {
			t.Fatal(in, err)
		}
		checkRoundTrip(t, p)
	}
	p, _ := d.Add([]byte(`2/admin,7[ "a" , {"x": 1} ]`), false)
	frames, err := JSON.Encode(&Packet{Type: Event, Namespace: "/other", Payload: p.Payload}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(frames[0].Data); got != `2/other,["a",{"x": 1}]` {
		t.Fatalf("forwarded as %s", got)
	}
	p, _ = feed(t, d, txt(`52-["a",{"_placeholder":true,"num":1},{"b":{"_placeholder":true,"num":0}}]`), bin("zero"), bin("one"))
	frames, err = JSON.Encode(&Packet{Type: Event, Payload: p.Payload}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Attachments are renumbered in text order.
	if got := framesString(frames); got != `52-["a",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}] + <one> + <zero>` {
		t.Fatalf("forwarded as %s", got)
	}
}

func TestEncodeConcurrent(t *testing.T) {
	t.Parallel()
	done := make(chan bool)
	for g := range 8 {
		go func() {
			defer func() { done <- true }()
			for i := range 200 {
				data := []any{"e", g, i, map[string]any{"k": []byte{byte(g), byte(i)}, "s": strings.Repeat("x", i)}}
				frames, err := JSON.Encode(&Packet{Type: Event, Data: data}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				p, err := decodeFrames(JSON.NewDecoder(), frames)
				if err != nil {
					t.Error(err)
					return
				}
				v, _ := p.Payload.Value(3)
				if b := v.(map[string]any)["k"].([]byte); b[0] != byte(g) || b[1] != byte(i) {
					t.Errorf("goroutine %d iteration %d: got %v", g, i, b)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}
