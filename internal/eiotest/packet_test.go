package eiotest

import (
	"bytes"
	"errors"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	packets := []Packet{Text("hello"), Bin([]byte{1, 2, 3, 4}), Control(Ping, "probe"), Text(""), Bin(nil), Control(Noop, "")}
	b := EncodePayload(packets...)
	if want := "4hello\x1ebAQIDBA==\x1e2probe\x1e4\x1eb\x1e6"; string(b) != want {
		t.Fatalf("EncodePayload = %q, want %q", b, want)
	}
	got, err := DecodePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(packets) {
		t.Fatalf("%d packets", len(got))
	}
	for i := range got {
		if got[i].Type != packets[i].Type || got[i].Binary != packets[i].Binary || !bytes.Equal(got[i].Data, packets[i].Data) {
			t.Fatalf("packet %d: %q, want %q", i, got[i].String(), packets[i].String())
		}
	}
	for _, bad := range []string{"", "abc", "4a\x1e", "b!!", "7"} {
		if _, err := DecodePayload([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodePayload(%q): %v", bad, err)
		}
	}
}

func TestParseHandshake(t *testing.T) {
	h, err := ParseHandshake(Control(Open, `{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	if err != nil {
		t.Fatal(err)
	}
	if h.SID != "abc" || len(h.Upgrades) != 1 || h.PingInterval != 25000 || h.PingTimeout != 20000 || h.MaxPayload != 1e6 {
		t.Fatalf("%+v", h)
	}
	if len(h.Keys) != 5 || h.Keys[0] != "maxPayload" || h.Keys[4] != "upgrades" {
		t.Fatalf("keys %v", h.Keys)
	}
	if _, err := ParseHandshake(Text("{}")); err == nil {
		t.Fatal("a message parsed as an open packet")
	}
}

func TestResponseError(t *testing.T) {
	r := &Response{Status: 400, Body: []byte(`{"code":1,"message":"Session ID unknown"}`)}
	e, err := r.Error()
	if err != nil || e.Code != 1 || e.Message != "Session ID unknown" {
		t.Fatalf("%+v %v", e, err)
	}
	for _, body := range []string{`{"code":1}`, `{"code":1,"message":"x","extra":true}`, `not json`} {
		if _, err := (&Response{Body: []byte(body)}).Error(); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}
