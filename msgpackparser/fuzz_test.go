package msgpackparser

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/e347a4c2/socketio/core/parser"
)

// Seed corpus: testdata/fuzz/FuzzDecode.

// FuzzDecode feeds one binary message. Decoding must not panic, errors must
// wrap ErrInvalidPacket, and every accepted packet must have consistent
// Payload methods and re-encode (from its values and as a forwarded payload)
// to a packet with the same values.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(event(mpArray("hello", 1, []byte{1}, mpMap("a", 1.5)))))
	f.Add([]byte(mpMap("type", 0, "data", undef, "nsp", "/")))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := New(WithMaxDepth(64))
		p, err := c.NewDecoder().Add(data, true)
		if err != nil {
			if !errors.Is(err, parser.ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			if p != nil {
				t.Fatalf("packet with error %v", err)
			}
			return
		}
		if p.Type > parser.ConnectError {
			t.Fatalf("decoded type %v", p.Type)
		}
		if p.Namespace == "" || p.Namespace[0] != '/' {
			t.Fatalf("namespace %q", p.Namespace)
		}
		if p.HasID && p.Type != parser.Event && p.Type != parser.Ack {
			t.Fatalf("ack id on %v", p.Type)
		}
		vals := exercisePayload(t, p.Payload)

		// Re-encode from the values, and as a forwarded payload.
		var data2 any
		switch {
		case p.Payload == nil:
		case p.Type == parser.Connect || p.Type == parser.ConnectError:
			data2 = vals[0]
		default:
			data2 = vals
		}
		for _, q := range []*parser.Packet{
			{Type: p.Type, Namespace: p.Namespace, ID: p.ID, HasID: p.HasID, Data: data2},
			{Type: p.Type, Namespace: p.Namespace, ID: p.ID, HasID: p.HasID, Payload: p.Payload},
		} {
			frames, err := c.Encode(q, nil)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", q, err)
			}
			p2, err := c.NewDecoder().Add(frames[0].Data, true)
			if err != nil {
				t.Fatalf("decoding the re-encoded % x: %v", frames[0].Data, err)
			}
			if p2.Type != p.Type || p2.Namespace != p.Namespace || p2.ID != p.ID || p2.HasID != p.HasID {
				t.Fatalf("re-encoded packet %+v, was %+v", p2, p)
			}
			if vals2 := exercisePayload(t, p2.Payload); !jsonEqual(vals, vals2) {
				t.Fatalf("re-encoded values %#v, were %#v", vals2, vals)
			}
		}
	})
}

// exercisePayload calls every Payload method on every element, checks that
// they agree, and returns the values.
func exercisePayload(t *testing.T, pl parser.Payload) []any {
	t.Helper()
	if pl == nil {
		return nil
	}
	vals := make([]any, pl.Len())
	for i := range pl.Len() {
		v, err := pl.Value(i)
		if err != nil {
			t.Fatalf("Value(%d): %v", i, err)
		}
		vals[i] = v
		raw, err := pl.Raw(i)
		if err != nil {
			t.Fatalf("Raw(%d): %v", i, err)
		}
		if !json.Valid(raw) {
			t.Fatalf("Raw(%d) = %q: invalid JSON", i, raw)
		}
		var fromRaw, decoded, fromValue any
		if err := json.Unmarshal(raw, &fromRaw); err != nil {
			t.Fatal(err)
		}
		if err := pl.Decode(i, &decoded); err != nil {
			t.Fatalf("Decode(%d): %v", i, err)
		}
		if !deepEqual(fromRaw, decoded) {
			t.Fatalf("Decode(%d) = %#v, Raw gives %#v", i, decoded, fromRaw)
		}
		vj, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("Value(%d) = %#v: %v", i, v, err)
		}
		if err := json.Unmarshal(vj, &fromValue); err != nil || !deepEqual(fromValue, fromRaw) {
			t.Fatalf("Value(%d) = %s, Raw gives %s", i, vj, raw)
		}
	}
	return vals
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// FuzzTranscodeJSON checks the JSON to MessagePack conversion used for
// json.RawMessage and MarshalJSON output against encoding/json: the same
// texts are valid, and converting back (Raw) gives the same values.
func FuzzTranscodeJSON(f *testing.F) {
	for _, s := range []string{`[]`, ` {"b" : [1, -2.5e3, "x\u00e9\n", true, false, null, {}]} `, `"\ud800"`,
		`18446744073709551616`, `-0`, `1e400`, `[1,]`, `{"a"}`, `"\x01"`, `[[[[]]]]`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		b, err := appendJSON(nil, src, 64)
		var want any
		jsonErr := json.Unmarshal(src, &want)
		if err != nil {
			if jsonErr == nil && !errors.Is(err, errJSONDepth) && !errors.Is(err, errNumber) {
				t.Fatalf("appendJSON(%q): %v; encoding/json accepts it", src, err)
			}
			return
		}
		if jsonErr != nil {
			t.Fatalf("appendJSON(%q) accepted it; encoding/json: %v", src, jsonErr)
		}
		got, end, err := appendRaw(nil, b, 0)
		if err != nil || end != len(b) {
			t.Fatalf("appendRaw(% x) = %d, %v", b, end, err)
		}
		var back any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("Raw %s: %v", got, err)
		}
		if !deepEqual(back, want) {
			t.Fatalf("%s became %s", src, got)
		}
	})
}
