package parser

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func decodeOne(t testing.TB, msgs ...msg) *Packet {
	t.Helper()
	p, err := feed(t, JSON.NewDecoder(), msgs...)
	if err != nil || p == nil {
		t.Fatalf("decode: %v %v", p, err)
	}
	return p
}

func TestPayloadDecode(t *testing.T) {
	p := decodeOne(t,
		txt(`52-["upload",{"name":"a.png","size":3,"data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1},"t\u00e9xt",42,null,[1,2]]`),
		bin("\x89PNG"), bin("\x00\x01"))
	pl := p.Payload
	if pl.Len() != 7 {
		t.Fatalf("Len = %d", pl.Len())
	}

	var name string
	if err := pl.Decode(0, &name); err != nil || name != "upload" {
		t.Fatalf("name %q %v", name, err)
	}
	type file struct {
		Name string `json:"name"`
		Size int    `json:"size"`
		Data []byte `json:"data"`
	}
	var f file
	if err := pl.Decode(1, &f); err != nil {
		t.Fatal(err)
	}
	if want := (file{"a.png", 3, []byte("\x89PNG")}); !reflect.DeepEqual(f, want) {
		t.Fatalf("got %+v want %+v", f, want)
	}
	var m map[string]any
	if err := pl.Decode(1, &m); err != nil {
		t.Fatal(err)
	}
	if m["data"] != "iVBORw==" { // like json.Unmarshal: base64 string in an any
		t.Fatalf("data in map = %#v", m["data"])
	}
	var b []byte
	if err := pl.Decode(2, &b); err != nil || string(b) != "\x00\x01" {
		t.Fatalf("bytes %q %v", b, err)
	}
	var a any
	if err := pl.Decode(2, &a); err != nil || a != "AAE=" {
		t.Fatalf("attachment into any: %#v %v", a, err)
	}
	if err := pl.Decode(3, &name); err != nil || name != "téxt" {
		t.Fatalf("escaped string %q %v", name, err)
	}
	var n int
	if err := pl.Decode(4, &n); err != nil || n != 42 {
		t.Fatalf("int %d %v", n, err)
	}
	if err := pl.Decode(4, &a); err != nil || a != 42.0 {
		t.Fatalf("number into any (like json.Unmarshal) %#v %v", a, err)
	}
	name = "unchanged"
	if err := pl.Decode(5, &name); err != nil || name != "unchanged" {
		t.Fatalf("null into string: %q %v", name, err)
	}
	var ints []int
	if err := pl.Decode(6, &ints); err != nil || !reflect.DeepEqual(ints, []int{1, 2}) {
		t.Fatalf("ints %v %v", ints, err)
	}
	var raw json.RawMessage
	if err := pl.Decode(6, &raw); err != nil || string(raw) != "[1,2]" {
		t.Fatalf("raw %s %v", raw, err)
	}

	// Errors.
	if err := pl.Decode(0, &n); err == nil {
		t.Error("string into int: no error")
	} else {
		var ute *json.UnmarshalTypeError
		if !errors.As(err, &ute) {
			t.Errorf("%v is not an UnmarshalTypeError", err)
		}
	}
	if err := pl.Decode(1, &n); err == nil {
		t.Error("object with placeholder into int: no error")
	}
	if err := pl.Decode(0, name); err == nil {
		t.Error("non-pointer target: no error")
	}
	for _, i := range []int{-1, 7, 1 << 40} {
		if err := pl.Decode(i, &a); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Decode(%d): %v", i, err)
		}
		if _, err := pl.Value(i); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Value(%d): %v", i, err)
		}
		if _, err := pl.Raw(i); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Raw(%d): %v", i, err)
		}
	}
}

func TestPayloadValueAndRaw(t *testing.T) {
	p := decodeOne(t,
		txt(`61-/admin,9[ {"a":[{"_placeholder":true,"num":0}],"n":1.50} , "\ud83d\ude00\"" ,"`+"\xff"+`", {"_placeholder":true,"num":0}, 123456789012345678901234567890 ]`),
		bin("hi"))
	pl := p.Payload
	wantValues := []any{
		map[string]any{"a": []any{[]byte("hi")}, "n": json.Number("1.50")},
		"😀\"",
		"\ufffd",
		[]byte("hi"),
		json.Number("123456789012345678901234567890"),
	}
	if got := values(t, pl); !reflect.DeepEqual(got, wantValues) {
		t.Fatalf("values %#v\nwant %#v", got, wantValues)
	}
	wantRaw := []string{
		`{"a":["aGk="],"n":1.50}`,
		`"\ud83d\ude00\""`,
		`"` + "\xff" + `"`,
		`"aGk="`,
		`123456789012345678901234567890`,
	}
	for i, want := range wantRaw {
		raw, err := pl.Raw(i)
		if err != nil || string(raw) != want {
			t.Errorf("Raw(%d) = %s, %v; want %s", i, raw, err, want)
		}
	}
	// Appending to a Raw result must not clobber the message.
	raw, _ := pl.Raw(1)
	_ = append(raw, "XXXXXXXX"...)
	if v, _ := pl.Value(2); v != "\ufffd" {
		t.Fatalf("message clobbered: %q", v)
	}
	if s := fmt.Sprint(pl); s != `[ {"a":["aGk="],"n":1.50} , "\ud83d\ude00\"" ,"`+"\xff"+`", "aGk=", 123456789012345678901234567890 ]` {
		t.Errorf("String() = %s", s)
	}

	// CONNECT and CONNECT_ERROR payloads have one element.
	for _, tc := range []struct {
		in   string
		want any
	}{
		{`0/admin,{"token":"123","n":[1]}`, map[string]any{"token": "123", "n": []any{json.Number("1")}}},
		{`4{"message":"Not authorized","data":{"retry":false}}`, map[string]any{"message": "Not authorized", "data": map[string]any{"retry": false}}},
		{`4"Unauthorized"`, "Unauthorized"},
	} {
		p := decodeOne(t, txt(tc.in))
		if p.Payload.Len() != 1 {
			t.Fatalf("%s: Len = %d", tc.in, p.Payload.Len())
		}
		if v, err := p.Payload.Value(0); err != nil || !reflect.DeepEqual(v, tc.want) {
			t.Errorf("%s: Value = %#v, %v", tc.in, v, err)
		}
	}
}

func TestPayloadConcurrentReads(t *testing.T) {
	p := decodeOne(t, txt(`51-["a",{"x":{"_placeholder":true,"num":0},"y":[1,2,3]}]`), bin("zz"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				v, err := p.Payload.Value(1)
				if err != nil || string(v.(map[string]any)["x"].([]byte)) != "zz" {
					t.Errorf("Value: %v %v", v, err)
					return
				}
				var s struct{ X []byte }
				if err := p.Payload.Decode(1, &s); err != nil || string(s.X) != "zz" {
					t.Errorf("Decode: %v %v", s, err)
					return
				}
				if _, err := p.Payload.Raw(1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
