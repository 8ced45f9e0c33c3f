package msgpackparser

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/e347a4c2/socketio/core/parser"
)

// raw is pre-encoded MessagePack for the test builders.
type raw []byte

// hexRaw returns the bytes of a hex string that may contain spaces.
func hexRaw(s string) raw {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// mp encodes v with the codec's encoder; raw values are copied as they are.
func mp(v any) raw {
	if r, ok := v.(raw); ok {
		return r
	}
	e := &encoder{maxDepth: maxMaxDepth}
	b, err := e.value(nil, v, 0)
	if err != nil {
		panic(err)
	}
	return b
}

// mpMap builds a MessagePack map from key/value pairs (keys are strings or
// raw, values anything mp accepts), in order, duplicates allowed.
func mpMap(kv ...any) raw {
	b := appendMapHeader(nil, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		b = append(b, mp(kv[i])...)
		b = append(b, mp(kv[i+1])...)
	}
	return b
}

// mpArray builds a MessagePack array of values.
func mpArray(vs ...any) raw {
	b := appendArrayHeader(nil, len(vs))
	for _, v := range vs {
		b = append(b, mp(v)...)
	}
	return b
}

var (
	undef = hexRaw("d4 00 00") // notepack's undefined
)

func mustEncode(t testing.TB, c parser.Codec, p *parser.Packet) []byte {
	t.Helper()
	frames, err := c.Encode(p, []byte("4"))
	if err != nil {
		t.Fatalf("Encode(%+v): %v", p, err)
	}
	if len(frames) != 1 || !frames[0].Binary {
		t.Fatalf("Encode(%+v) = %d frames, want one binary frame", p, len(frames))
	}
	return frames[0].Data
}

func mustDecode(t testing.TB, c parser.Codec, msg []byte) *parser.Packet {
	t.Helper()
	p, err := c.NewDecoder().Add(msg, true)
	if err != nil {
		t.Fatalf("Add(% x): %v", msg, err)
	}
	if p == nil {
		t.Fatalf("Add(% x) returned no packet", msg)
	}
	return p
}

// values returns every Value of a payload.
func values(t testing.TB, pl parser.Payload) []any {
	t.Helper()
	if pl == nil {
		return nil
	}
	out := make([]any, pl.Len())
	for i := range out {
		v, err := pl.Value(i)
		if err != nil {
			t.Fatalf("Value(%d): %v", i, err)
		}
		out[i] = v
	}
	return out
}

// raws returns every Raw of a payload, as one JSON array text.
func raws(t testing.TB, pl parser.Payload) string {
	t.Helper()
	var parts []string
	for i := range pl.Len() {
		r, err := pl.Raw(i)
		if err != nil {
			t.Fatalf("Raw(%d): %v", i, err)
		}
		parts = append(parts, string(r))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func wantInvalid(t testing.TB, err error) {
	t.Helper()
	if err == nil || !errors.Is(err, parser.ErrInvalidPacket) {
		t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
	}
}

func deepEqual(a, b any) bool { return reflect.DeepEqual(a, b) }

func jsonText(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
