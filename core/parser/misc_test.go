package parser

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestPacketTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK", "PacketType(7)"}
	for i, w := range want {
		typ := PacketType(i)
		if got := typ.String(); got != w {
			t.Errorf("PacketType(%d).String() = %q, want %q", i, got, w)
		}
		if typ.Valid() != (i < 7) {
			t.Errorf("PacketType(%d).Valid() = %v", i, typ.Valid())
		}
	}
}

func TestIsReservedEvent(t *testing.T) {
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReservedEvent(name) {
			t.Errorf("%q not reserved", name)
		}
	}
	for _, name := range []string{"", "message", "Connect", "connection", "error"} {
		if IsReservedEvent(name) {
			t.Errorf("%q reserved", name)
		}
	}
}

// valuesPayload is a Payload from some other codec.
type valuesPayload []any

func (v valuesPayload) Len() int { return len(v) }
func (v valuesPayload) Value(i int) (any, error) {
	if i < 0 || i >= len(v) {
		return nil, ErrIndexOutOfRange
	}
	return v[i], nil
}
func (v valuesPayload) Raw(i int) (json.RawMessage, error) { return json.Marshal(v[i]) }
func (v valuesPayload) Decode(i int, dst any) error {
	raw, err := v.Raw(i)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}

func TestEncodeForeignPayload(t *testing.T) {
	tests := []struct {
		p    Packet
		want string
	}{
		{Packet{Type: Event, Namespace: "/a", Payload: valuesPayload{"ev", int64(1), []byte("b"), map[string]any{"x": []byte("c")}}},
			`52-/a,["ev",1,{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}] + <b> + <c>`},
		{Packet{Type: Ack, ID: 3, HasID: true, Payload: valuesPayload{}}, `33[]`},
		{Packet{Type: Connect, Payload: valuesPayload{map[string]any{"sid": "s"}}}, `0{"sid":"s"}`},
		{Packet{Type: ConnectError, Payload: valuesPayload{"no"}}, `4"no"`},
	}
	for _, tt := range tests {
		frames, err := JSON.Encode(&tt.p, nil)
		if err != nil {
			t.Fatalf("%+v: %v", tt.p, err)
		}
		if got := framesString(frames); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
	for _, p := range []Packet{
		{Type: Connect, Payload: valuesPayload{1, 2}},
		{Type: Disconnect, Payload: valuesPayload{map[string]any{}}},
		{Type: Event, Payload: valuesPayload{"a", make(chan int)}},
	} {
		if _, err := JSON.Encode(&p, nil); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

func TestDecodeNilTargets(t *testing.T) {
	p := decodeOne(t, txt(`51-["a",{"_placeholder":true,"num":0}]`), bin("x"))
	for i := range 2 {
		for _, dst := range []any{nil, (*string)(nil), (*json.RawMessage)(nil), (*[]byte)(nil), (*any)(nil)} {
			if err := p.Payload.Decode(i, dst); err == nil {
				t.Errorf("Decode(%d, %#v): no error", i, dst)
			}
		}
	}
}

func TestNilAttachment(t *testing.T) {
	d := JSON.NewDecoder()
	if _, err := d.Add([]byte(`51-["a",{"_placeholder":true,"num":0}]`), false); err != nil {
		t.Fatal(err)
	}
	p, err := d.Add(nil, true)
	if err != nil || p == nil {
		t.Fatal(p, err)
	}
	if v, _ := p.Payload.Value(1); v.([]byte) == nil {
		t.Fatal("nil attachment")
	}
	checkRoundTrip(t, p)
}
