package siotest

import (
	"errors"
	"reflect"
	"testing"
)

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		typ  PacketType
		nsp  string
		id   int64
		data any
		text string
		atts [][]byte
	}{
		{TypeConnect, "/", -1, nil, "0", nil},
		{TypeConnect, "/admin", -1, map[string]any{"token": "1"}, `0/admin,{"token":"1"}`, nil},
		{TypeDisconnect, "/admin", -1, nil, "1/admin,", nil},
		{TypeEvent, "", 12, []any{"hi", 1, "<&>"}, `212["hi",1,"<&>"]`, nil},
		{TypeAck, "/x", 3, []any{}, `3/x,3[]`, nil},
		{TypeEvent, "/", -1, []any{"b", map[string]any{"z": []byte{2}, "a": []any{[]byte{1}}}},
			`52-["b",{"a":[{"_placeholder":true,"num":0}],"z":{"_placeholder":true,"num":1}}]`, [][]byte{{1}, {2}}},
		{TypeAck, "/n", 0, []any{[]byte{}}, `61-/n,0[{"_placeholder":true,"num":0}]`, [][]byte{{}}},
	} {
		text, atts, err := Encode(tc.typ, tc.nsp, tc.id, tc.data)
		if err != nil || text != tc.text || !reflect.DeepEqual(atts, tc.atts) {
			t.Errorf("Encode(%v, %q, %d, %v) = %q %v %v, want %q %v", tc.typ, tc.nsp, tc.id, tc.data, text, atts, err, tc.text, tc.atts)
		}
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Packet
		natt int
	}{
		{"0", Packet{Type: TypeConnect, Namespace: "/"}, 0},
		{"0/chat", Packet{Type: TypeConnect, Namespace: "/chat"}, 0},
		{`0/chat,{"sid":"x"}`, Packet{Type: TypeConnect, Namespace: "/chat", Data: map[string]any{"sid": "x"}}, 0},
		{`4{"message":"m"}`, Packet{Type: TypeConnectError, Namespace: "/", Data: map[string]any{"message": "m"}}, 0},
		{`2/a,42["e",1]`, Packet{Type: TypeEvent, Namespace: "/a", ID: 42, HasID: true, Data: []any{"e", 1.0}}, 0},
		{`52-["e",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`, Packet{Type: TypeBinaryEvent, Namespace: "/"}, 2},
	} {
		p, natt, payload, err := decodeHeader([]byte(tc.text))
		if err != nil || natt != tc.natt {
			t.Fatalf("%q: natt %d, %v", tc.text, natt, err)
		}
		if natt > 0 {
			p.Attachments = [][]byte{{0}, {1}}
			tc.want.Attachments = p.Attachments
			tc.want.Data = []any{"e", []byte{1}, []byte{0}}
		}
		if err := decodePayload(p, payload); err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		tc.want.Text = tc.text
		if !reflect.DeepEqual(*p, tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.text, *p, tc.want)
		}
	}
	for _, bad := range []string{"", "9", "5x-[]", "51[]", "2/a,99999999999999999999999[]"} {
		if _, _, _, err := decodeHeader([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	p := &Packet{Type: TypeBinaryEvent, Text: "x"}
	if err := decodePayload(p, []byte(`["e",{"_placeholder":true,"num":3}]`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("placeholder out of range: %v", err)
	}
}
