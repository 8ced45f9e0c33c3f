package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// msg is one Engine.IO message in a test.
type msg struct {
	data   string
	binary bool
}

func txt(s string) msg { return msg{data: s} }
func bin(s string) msg { return msg{data: s, binary: true} }

// feed adds msgs to d and returns the packet completed by the last one. It
// fails the test if a packet completes early.
func feed(t testing.TB, d Decoder, msgs ...msg) (*Packet, error) {
	t.Helper()
	for i, m := range msgs {
		p, err := d.Add([]byte(m.data), m.binary)
		if err != nil {
			return nil, err
		}
		if i < len(msgs)-1 && p != nil {
			t.Fatalf("packet complete after message %d of %d", i+1, len(msgs))
		}
		if i == len(msgs)-1 {
			return p, nil
		}
	}
	return nil, nil
}

// values returns every element of p as produced by Value.
func values(t testing.TB, p Payload) []any {
	t.Helper()
	if p == nil {
		return nil
	}
	out := make([]any, p.Len())
	for i := range out {
		v, err := p.Value(i)
		if err != nil {
			t.Fatalf("Value(%d): %v", i, err)
		}
		out[i] = v
	}
	return out
}

type num = json.Number
type obj = map[string]any

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		name   string
		msgs   []msg
		typ    PacketType
		nsp    string
		id     uint64
		hasID  bool
		values []any // nil: no payload
	}{
		{"connect", []msg{txt("0")}, Connect, "/", 0, false, nil},
		{"connect auth", []msg{txt(`0{"token":"123"}`)}, Connect, "/", 0, false, []any{obj{"token": "123"}}},
		{"connect nsp auth", []msg{txt(`0/admin,{"token":"123"}`)}, Connect, "/admin", 0, false, []any{obj{"token": "123"}}},
		{"connect nsp", []msg{txt(`0/admin,`)}, Connect, "/admin", 0, false, nil},
		{"connect nsp no comma", []msg{txt(`0/custom`)}, Connect, "/custom", 0, false, nil},
		{"connect root nsp written", []msg{txt(`0/,`)}, Connect, "/", 0, false, nil},
		{"connect sid", []msg{txt(`0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`)}, Connect, "/admin", 0, false, []any{obj{"sid": "oSO0OpakMV_3jnilAAAA"}}},
		{"connect empty object", []msg{txt(`0{}`)}, Connect, "/", 0, false, []any{obj{}}},
		{"disconnect", []msg{txt("1")}, Disconnect, "/", 0, false, nil},
		{"disconnect nsp", []msg{txt("1/admin,")}, Disconnect, "/admin", 0, false, nil},
		{"disconnect nsp no comma", []msg{txt("1/custom")}, Disconnect, "/custom", 0, false, nil},
		{"event", []msg{txt(`2["hello",1]`)}, Event, "/", 0, false, []any{"hello", num("1")}},
		{"event foo", []msg{txt(`2["foo"]`)}, Event, "/", 0, false, []any{"foo"}},
		{"event nsp", []msg{txt(`2/admin,["bar"]`)}, Event, "/admin", 0, false, []any{"bar"}},
		{"event nsp id", []msg{txt(`2/admin,456["project:delete",123]`)}, Event, "/admin", 456, true, []any{"project:delete", num("123")}},
		{"event id", []msg{txt(`212["foo"]`)}, Event, "/", 12, true, []any{"foo"}},
		{"event id zero", []msg{txt(`20["foo"]`)}, Event, "/", 0, true, []any{"foo"}},
		{"event id leading zeros", []msg{txt(`2007["foo"]`)}, Event, "/", 7, true, []any{"foo"}},
		{"event id max", []msg{txt(`218446744073709551615["foo"]`)}, Event, "/", 18446744073709551615, true, []any{"foo"}},
		{"event numeric name", []msg{txt(`2[1,"a",{}]`)}, Event, "/", 0, false, []any{num("1"), "a", obj{}}},
		{"event negative numeric name", []msg{txt(`2[-1.5e3]`)}, Event, "/", 0, false, []any{num("-1.5e3")}},
		{"event empty name", []msg{txt(`2[""]`)}, Event, "/", 0, false, []any{""}},
		{"event escaped name", []msg{txt(`2["a\"b\u00e9"]`)}, Event, "/", 0, false, []any{"a\"bé"}},
		{"event whitespace", []msg{txt("2 [ \"a\" ,\t1 ,\n{ } ] \r")}, Event, "/", 0, false, []any{"a", num("1"), obj{}}},
		{"event all kinds", []msg{txt(`2["k",null,true,false,"s",0.5,[1,[2]],{"a":{"b":[]}}]`)}, Event, "/", 0, false,
			[]any{"k", nil, true, false, "s", num("0.5"), []any{num("1"), []any{num("2")}}, obj{"a": obj{"b": []any{}}}}},
		{"event big number exact", []msg{txt(`2["n",123456789012345678901234567890]`)}, Event, "/", 0, false, []any{"n", num("123456789012345678901234567890")}},
		{"event html", []msg{txt(`2["<a>&</a>"]`)}, Event, "/", 0, false, []any{"<a>&</a>"}},
		{"event unicode nsp", []msg{txt(`2/ünï,["x"]`)}, Event, "/ünï", 0, false, []any{"x"}},
		{"event reserved name as argument", []msg{txt(`2["x","connect"]`)}, Event, "/", 0, false, []any{"x", "connect"}},
		{"event placeholder-like in text packet", []msg{txt(`2["a",{"_placeholder":true,"num":0}]`)}, Event, "/", 0, false,
			[]any{"a", obj{"_placeholder": true, "num": num("0")}}},
		{"ack", []msg{txt(`3/admin,456[]`)}, Ack, "/admin", 456, true, []any{}},
		{"ack bar", []msg{txt(`3/admin,13["bar"]`)}, Ack, "/admin", 13, true, []any{"bar"}},
		{"ack without id", []msg{txt(`3["x"]`)}, Ack, "/", 0, false, []any{"x"}},
		{"connect error object", []msg{txt(`4{"message":"Not authorized"}`)}, ConnectError, "/", 0, false, []any{obj{"message": "Not authorized"}}},
		{"connect error nsp", []msg{txt(`4/random,{"message":"Invalid namespace"}`)}, ConnectError, "/random", 0, false, []any{obj{"message": "Invalid namespace"}}},
		{"connect error string", []msg{txt(`4"Unauthorized"`)}, ConnectError, "/", 0, false, []any{"Unauthorized"}},
		{"binary event", []msg{txt(`51-["hello",{"_placeholder":true,"num":0}]`), bin("\x01\x02\x03\x04")}, Event, "/", 0, false,
			[]any{"hello", []byte{1, 2, 3, 4}}},
		{"binary event baz", []msg{txt(`51-["baz",{"_placeholder":true,"num":0}]`), bin("\x01\x02\x03\x04")}, Event, "/", 0, false,
			[]any{"baz", []byte{1, 2, 3, 4}}},
		{"binary event two", []msg{txt(`52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), bin("\x01\x02"), bin("\x03\x04")},
			Event, "/admin", 0, false, []any{"baz", []byte{1, 2}, []byte{3, 4}}},
		{"binary event message", []msg{txt(`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), bin("a"), bin("b")},
			Event, "/", 0, false, []any{"message", []byte("a"), []byte("b")}},
		{"binary ack", []msg{txt(`61-/admin,456[{"_placeholder":true,"num":0}]`), bin("xyz")}, Ack, "/admin", 456, true, []any{[]byte("xyz")}},
		{"binary ack bar", []msg{txt(`61-15["bar",{"_placeholder":true,"num":0}]`), bin("\x01\x02\x03\x04")}, Ack, "/", 15, true,
			[]any{"bar", []byte{1, 2, 3, 4}}},
		{"binary nested", []msg{txt(`52-["a",{"x":[{"_placeholder":true,"num":1}],"y":{"num":0,"_placeholder":true}}]`), bin("zero"), bin("one")},
			Event, "/", 0, false, []any{"a", obj{"x": []any{[]byte("one")}, "y": []byte("zero")}}},
		{"binary reused attachment", []msg{txt(`51-["a",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":0}]]`), bin("z")},
			Event, "/", 0, false, []any{"a", []byte("z"), []any{[]byte("z")}}},
		{"binary unused attachment", []msg{txt(`51-["hello"]`), bin("z")}, Event, "/", 0, false, []any{"hello"}},
		{"binary zero attachments", []msg{txt(`50-["hello"]`)}, Event, "/", 0, false, []any{"hello"}},
		{"binary empty attachment", []msg{txt(`51-["a",{"_placeholder":true,"num":0}]`), bin("")}, Event, "/", 0, false, []any{"a", []byte{}}},
		{"binary placeholder with spaces", []msg{txt(`51-["a", { "num" : 0 , "_placeholder" : true } ]`), bin("z")}, Event, "/", 0, false, []any{"a", []byte("z")}},
		{"binary placeholder escaped key", []msg{txt(`51-["a",{"\u005fplaceholder":true,"num":0}]`), bin("z")}, Event, "/", 0, false, []any{"a", []byte("z")}},
		{"binary placeholder false is data", []msg{txt(`51-["a",{"_placeholder":false,"num":0}]`), bin("z")}, Event, "/", 0, false,
			[]any{"a", obj{"_placeholder": false, "num": num("0")}}},
		{"binary placeholder string is data", []msg{txt(`51-["a",{"_placeholder":"true","x":[1]}]`), bin("z")}, Event, "/", 0, false,
			[]any{"a", obj{"_placeholder": "true", "x": []any{num("1")}}}},
		{"binary placeholder duplicate last wins", []msg{txt(`51-["a",{"_placeholder":false,"_placeholder":true,"num":0}]`), bin("z")}, Event, "/", 0, false,
			[]any{"a", []byte("z")}},
		{"binary leading zero count", []msg{txt(`501-["a",{"_placeholder":true,"num":0}]`), bin("z")}, Event, "/", 0, false, []any{"a", []byte("z")}},
		{"binary max attachments", []msg{txt(`510-["a"]`), bin("0"), bin("1"), bin("2"), bin("3"), bin("4"), bin("5"), bin("6"), bin("7"), bin("8"), bin("9")},
			Event, "/", 0, false, []any{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := feed(t, JSON.NewDecoder(), tt.msgs...)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if p == nil {
				t.Fatal("no packet")
			}
			if p.Type != tt.typ || p.Namespace != tt.nsp || p.ID != tt.id || p.HasID != tt.hasID {
				t.Errorf("got {%v %q %d %v}, want {%v %q %d %v}", p.Type, p.Namespace, p.ID, p.HasID, tt.typ, tt.nsp, tt.id, tt.hasID)
			}
			if (p.Payload == nil) != (tt.values == nil) {
				t.Fatalf("payload = %v, want values %v", p.Payload, tt.values)
			}
			if got := values(t, p.Payload); !reflect.DeepEqual(got, tt.values) {
				t.Errorf("values = %#v\nwant %#v", got, tt.values)
			}
			checkRoundTrip(t, p)
		})
	}
}

// checkRoundTrip encodes a decoded packet and decodes it again.
func checkRoundTrip(t testing.TB, p *Packet) {
	t.Helper()
	frames, err := JSON.Encode(p, nil)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", p, err)
	}
	q, err := decodeFrames(JSON.NewDecoder(), frames)
	if err != nil {
		t.Fatalf("decode re-encoded %q: %v", frames[0].Data, err)
	}
	if q == nil {
		t.Fatalf("re-encoded %q: no packet", frames[0].Data)
	}
	if err := packetsEqual(p, q); err != nil {
		t.Fatalf("round trip through %q: %v", frames[0].Data, err)
	}
}

func decodeFrames(d Decoder, frames []Frame) (*Packet, error) {
	var p *Packet
	for i, f := range frames {
		var err error
		p, err = d.Add(f.Data, f.Binary)
		if err != nil {
			return nil, err
		}
		if p != nil && i != len(frames)-1 {
			return nil, errors.New("packet complete before the last frame")
		}
	}
	return p, nil
}

func packetsEqual(p, q *Packet) error {
	if p.Type != q.Type || p.Namespace != q.Namespace || p.ID != q.ID || p.HasID != q.HasID {
		return errorf("header {%v %q %d %v} != {%v %q %d %v}", p.Type, p.Namespace, p.ID, p.HasID, q.Type, q.Namespace, q.ID, q.HasID)
	}
	if (p.Payload == nil) != (q.Payload == nil) {
		return errorf("payload presence differs")
	}
	if p.Payload == nil {
		return nil
	}
	if p.Payload.Len() != q.Payload.Len() {
		return errorf("payload length %d != %d", p.Payload.Len(), q.Payload.Len())
	}
	for i := range p.Payload.Len() {
		a, err := p.Payload.Value(i)
		if err != nil {
			return err
		}
		b, err := q.Payload.Value(i)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(a, b) {
			return errorf("element %d: %#v != %#v", i, a, b)
		}
	}
	return nil
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func TestDecodeInvalid(t *testing.T) {
	deep := "2[\"a\"," + strings.Repeat("[", maxNestingDepth) + strings.Repeat("]", maxNestingDepth) + "]"
	tests := []struct {
		name string
		msgs []msg
	}{
		{"empty", []msg{txt("")}},
		{"letters", []msg{txt("abc")}},
		{"type 7", []msg{txt("7")}},
		{"type 9", []msg{txt("9")}},
		{"type 999", []msg{txt("999")}},
		{"slash only", []msg{txt("/")}},
		{"space", []msg{txt(" 2[\"a\"]")}},
		// With the Engine.IO "4" left in front, these are CONNECT_ERROR packets with an ack id.
		{"eio 42{}", []msg{txt(`42{}`)}},
		{"eio 42abc", []msg{txt(`42abc["x"]`)}},
		{"eio 42 connect", []msg{txt(`42["connect"]`)}},
		{"eio 42[]", []msg{txt(`42[]`)}},
		{"eio 442 truncated", []msg{txt(`442["some","data"`)}},
		{"event object", []msg{txt(`2{}`)}},
		{"event garbage id", []msg{txt(`2abc["x"]`)}},
		{"event garbage after nsp", []msg{txt(`2/admin,abc["x"]`)}},
		{"event garbage after id", []msg{txt(`21x["x"]`)}},
		{"event reserved connect", []msg{txt(`2["connect"]`)}},
		{"event reserved connect_error", []msg{txt(`2["connect_error"]`)}},
		{"event reserved disconnect", []msg{txt(`2["disconnect","123"]`)}},
		{"event reserved disconnecting", []msg{txt(`2["disconnecting"]`)}},
		{"event reserved newListener", []msg{txt(`2["newListener"]`)}},
		{"event reserved removeListener", []msg{txt(`2/admin,["removeListener"]`)}},
		{"event reserved escaped", []msg{txt(`2["\u0063onnect"]`)}},
		{"event empty array", []msg{txt(`2[]`)}},
		{"event no payload", []msg{txt(`2`)}},
		{"event no payload nsp", []msg{txt(`2/admin,`)}},
		{"event string", []msg{txt(`2/admin,"invalid"`)}},
		{"event unterminated string", []msg{txt(`2/admin,"invalid`)}},
		{"event object name", []msg{txt(`2[{"toString":"foo"}]`)}},
		{"event bool name", []msg{txt(`2[true,"foo"]`)}},
		{"event null name", []msg{txt(`2[null,"bar"]`)}},
		{"event array name", []msg{txt(`2[["a"]]`)}},
		{"event trailing garbage", []msg{txt(`2["a"]x`)}},
		{"event two values", []msg{txt(`2["a"]["b"]`)}},
		{"event truncated", []msg{txt(`2["a"`)}},
		{"event trailing comma", []msg{txt(`2["a",]`)}},
		{"event leading zero", []msg{txt(`2[01]`)}},
		{"event bad escape", []msg{txt(`2["a\x"]`)}},
		{"event bad unicode escape", []msg{txt(`2["a\u12"]`)}},
		{"event control char", []msg{txt("2[\"a\nb\"]")}},
		{"event single quotes", []msg{txt(`2['a']`)}},
		{"event bad literal", []msg{txt(`2["a",tru]`)}},
		{"event bad number", []msg{txt(`2["a",1.]`)}},
		{"event bad exponent", []msg{txt(`2["a",1e]`)}},
		{"event minus", []msg{txt(`2[-]`)}},
		{"event object no colon", []msg{txt(`2["a",{"b"}]`)}},
		{"event object number key", []msg{txt(`2["a",{1:2}]`)}},
		{"event object trailing comma", []msg{txt(`2["a",{"b":1,}]`)}},
		{"event mismatched brackets", []msg{txt(`2["a",{"b":1]]`)}},
		{"event too deep", []msg{txt(deep)}},
		{"event huge ack id", []msg{txt(`2123456789012345678901["x"]`)}},
		{"event ack id overflow", []msg{txt(`218446744073709551616["x"]`)}},
		{"event nsp only garbage", []msg{txt(`2/admin["x"]`)}},
		{"ack object", []msg{txt(`3{}`)}},
		{"ack no payload", []msg{txt(`3/admin,1`)}},
		{"ack string", []msg{txt(`3"x"`)}},
		{"connect array", []msg{txt(`0[]`)}},
		{"connect string", []msg{txt(`0/admin,"invalid"`)}},
		{"connect null", []msg{txt(`0null`)}},
		{"connect number", []msg{txt(`0/admin,{}1`)}},
		{"connect with id", []msg{txt(`01{}`)}},
		{"connect whitespace payload", []msg{txt(`0 `)}},
		{"connect bad json", []msg{txt(`0{"a":}`)}},
		{"disconnect payload", []msg{txt(`1/admin,{}`)}},
		{"disconnect object", []msg{txt(`1{}`)}},
		{"disconnect with id", []msg{txt(`11`)}},
		{"connect error no payload", []msg{txt(`4`)}},
		{"connect error nsp no payload", []msg{txt(`4/admin,`)}},
		{"connect error array", []msg{txt(`4[]`)}},
		{"connect error number", []msg{txt(`4/admin,"a"1`)}},
		{"namespace control char", []msg{txt("0/ad\x01min,")}},
		{"namespace DEL", []msg{txt("0/ad\x7fmin,")}},
		{"namespace invalid utf8", []msg{txt("0/\xff,")}},
		{"binary no count", []msg{txt(`5`)}},
		{"binary count no dash", []msg{txt(`51`)}},
		{"binary empty count", []msg{txt(`5-["a"]`)}},
		{"binary letter count", []msg{txt(`5a-`)}},
		{"binary fractional count", []msg{txt(`51.23-`)}},
		{"binary negative count", []msg{txt(`5-1-["a"]`)}},
		{"binary too many", []msg{txt(`511-["a"]`)}},
		{"binary hostile count", []msg{txt(`59999999999999999999999999999999-["a"]`)}},
		{"binary no payload", []msg{txt(`51-`)}},
		{"binary reserved", []msg{txt(`51-["connect",{"_placeholder":true,"num":0}]`)}},
		{"binary event object", []msg{txt(`51-{"_placeholder":true,"num":0}`)}},
		{"binary event placeholder name", []msg{txt(`51-[{"_placeholder":true,"num":0}]`)}},
		{"placeholder out of range", []msg{txt(`51-["a",{"_placeholder":true,"num":1}]`)}},
		{"placeholder zero attachments", []msg{txt(`50-["a",{"_placeholder":true,"num":0}]`)}},
		{"placeholder huge num", []msg{txt(`51-["a",{"_placeholder":true,"num":99999999999999999999}]`)}},
		{"placeholder string num", []msg{txt(`51-["a",{"_placeholder":true,"num":"0"}]`)}},
		{"placeholder float num", []msg{txt(`51-["a",{"_placeholder":true,"num":0.0}]`)}},
		{"placeholder exp num", []msg{txt(`51-["a",{"_placeholder":true,"num":0e0}]`)}},
		{"placeholder negative num", []msg{txt(`51-["a",{"_placeholder":true,"num":-1}]`)}},
		{"placeholder minus zero", []msg{txt(`51-["a",{"_placeholder":true,"num":-0}]`)}},
		{"placeholder null num", []msg{txt(`51-["a",{"_placeholder":true,"num":null}]`)}},
		{"placeholder no num", []msg{txt(`51-["a",{"_placeholder":true}]`)}},
		{"placeholder extra member", []msg{txt(`51-["a",{"_placeholder":true,"num":0,"x":1}]`)}},
		{"placeholder extra nested member", []msg{txt(`51-["a",{"_placeholder":true,"num":0,"x":{"y":[1]}}]`)}},
		{"placeholder nested in placeholder", []msg{txt(`51-["a",{"_placeholder":true,"num":{"_placeholder":true,"num":0}}]`)}},
		{"placeholder duplicate num slow path", []msg{txt(`51-["a",{"_placeholder":true,"num":0,"num":5}]`)}},
		{"placeholder escaped key range", []msg{txt(`51-["a",{"\u005fplaceholder":true,"num":3}]`)}},
		{"binary while not expecting", []msg{bin("\x01")}},
		{"binary after complete packet", []msg{txt(`2["a"]`), bin("\x01")}},
		{"text while expecting binary", []msg{txt(`51-["a",{"_placeholder":true,"num":0}]`), txt(`2["a"]`)}},
		{"text after some attachments", []msg{txt(`52-["a",{"_placeholder":true,"num":0}]`), bin("x"), txt(`2["a"]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := JSON.NewDecoder()
			var err error
			var p *Packet
			for _, m := range tt.msgs {
				if p, err = d.Add([]byte(m.data), m.binary); err != nil {
					break
				}
			}
			if err == nil {
				t.Fatalf("no error; packet %+v", p)
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			// The decoder is usable again after Reset.
			d.Reset()
			if p, err := d.Add([]byte(`2["ok"]`), false); err != nil || p == nil {
				t.Fatalf("after Reset: %v, %v", p, err)
			}
		})
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	// maxNestingDepth levels in total are accepted and decodable.
	n := maxNestingDepth - 1
	s := "2[\"a\"," + strings.Repeat("[", n) + strings.Repeat("]", n) + "]"
	p, err := JSON.NewDecoder().Add([]byte(s), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Payload.Value(1); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := p.Payload.Decode(1, &v); err != nil {
		t.Fatal(err)
	}
	// Deep objects too.
	s = "2[\"a\"," + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + "]"
	if _, err := JSON.NewDecoder().Add([]byte(s), false); err != nil {
		t.Fatal(err)
	}
	// Very deep hostile input fails cleanly.
	s = "2[\"a\"," + strings.Repeat("[", 1<<20)
	if _, err := JSON.NewDecoder().Add([]byte(s), false); !errors.Is(err, ErrInvalidPacket) {
		t.Fatal(err)
	}
}

func TestDecoderSequence(t *testing.T) {
	d := JSON.NewDecoder()
	for range 3 {
		p, err := d.Add([]byte(`51-["a",{"_placeholder":true,"num":0}]`), false)
		if p != nil || err != nil {
			t.Fatalf("header: %v %v", p, err)
		}
		p, err = d.Add([]byte("x"), true)
		if err != nil || p == nil {
			t.Fatalf("attachment: %v %v", p, err)
		}
		if v, _ := p.Payload.Value(1); !bytes.Equal(v.([]byte), []byte("x")) {
			t.Fatalf("got %v", v)
		}
		p, err = d.Add([]byte(`2["b"]`), false)
		if err != nil || p == nil || p.Type != Event {
			t.Fatalf("text after binary: %v %v", p, err)
		}
	}
	// Reset drops a partial reconstruction.
	if _, err := d.Add([]byte(`52-["a"]`), false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Add([]byte("x"), true); err != nil {
		t.Fatal(err)
	}
	d.Reset()
	if _, err := d.Add([]byte("x"), true); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("binary after Reset: %v", err)
	}
	if p, err := d.Add([]byte(`2["b"]`), false); err != nil || p == nil {
		t.Fatalf("text after Reset: %v %v", p, err)
	}
}

func TestMaxAttachments(t *testing.T) {
	two := NewJSON(JSONOptions{MaxAttachments: 2})
	if _, err := two.NewDecoder().Add([]byte(`53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`), false); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("3 > 2 attachments: %v", err)
	}
	if p, err := two.NewDecoder().Add([]byte(`52-["a"]`), false); err != nil || p != nil {
		t.Fatalf("2 attachments: %v %v", p, err)
	}
	none := NewJSON(JSONOptions{MaxAttachments: -1})
	if _, err := none.NewDecoder().Add([]byte(`51-["a"]`), false); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("binary disabled: %v", err)
	}
	if p, err := none.NewDecoder().Add([]byte(`50-["a"]`), false); err != nil || p == nil {
		t.Fatalf("zero attachments: %v %v", p, err)
	}
	big := NewJSON(JSONOptions{MaxAttachments: 1 << 62})
	if _, err := big.NewDecoder().Add([]byte(`599999999999999999999999999999-["a"]`), false); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("huge count: %v", err)
	}
	// A hostile count within a large limit allocates nothing up front.
	d := NewJSON(JSONOptions{MaxAttachments: 1 << 30}).NewDecoder()
	data := []byte(`51000000000-["a"]`)
	allocs := testing.AllocsPerRun(10, func() {
		d.Reset()
		if _, err := d.Add(data, false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Fatalf("%v allocations for a hostile attachment count", allocs)
	}
}

func TestNamespaceReuse(t *testing.T) {
	d := JSON.NewDecoder()
	p1, _ := d.Add([]byte(`2/admin,["a"]`), false)
	data := []byte(`2/admin,["a"]`)
	allocs := testing.AllocsPerRun(100, func() {
		p, err := d.Add(data, false)
		if err != nil || p.Namespace != "/admin" {
			t.Fatal(p, err)
		}
	})
	if allocs != 1 {
		t.Errorf("decode allocations = %v, want 1", allocs)
	}
	if p1.Namespace != "/admin" {
		t.Fatal(p1.Namespace)
	}
}

// TestDecodeLinear guards against re-parsing nested objects while looking
// for placeholders (which once made this input take tens of seconds).
func TestDecodeLinear(t *testing.T) {
	n := maxNestingDepth - 10
	for _, inner := range []string{`{"_placeholder":false,"a":`, `{"a":1,"_placeholder":true,"num":0,"b":`, `{"\u005fplaceholder":null,"x":[`} {
		closing := "}"
		if strings.HasSuffix(inner, "[") {
			closing = "]}"
		}
		s := `51-["a",` + strings.Repeat(inner, n) + "1" + strings.Repeat(closing, n) + "]"
		start := time.Now()
		_, err := JSON.NewDecoder().Add([]byte(s), false)
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Errorf("%d bytes took %v (err %v)", len(s), elapsed, err)
		}
	}
}
