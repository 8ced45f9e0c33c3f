package engine

import (
	"bytes"
	"runtime"
	"testing"
)

// FuzzDecodePayload checks the long-polling payload decoder: it never
// panics, and any payload it accepts survives a round trip through the
// package's own encoder: decoding the re-encoded packets gives the same
// packets. The seed corpus (testdata/fuzz/FuzzDecodePayload) holds payloads
// of real traffic: the official test suite's and engine.io-client's.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4hello\x1e4world", "bAQIDBA==", "2", "3", "1", "6"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := bytes.Clone(body)
		packets, err := decodePayload(body, nil)
		if !bytes.Equal(body, in) {
			t.Fatal("decodePayload modified its input")
		}
		if err != nil {
			if packets != nil {
				t.Fatal("packets returned with an error")
			}
			return
		}
		if want := 1 + bytes.Count(body, []byte{recordSeparator}); len(packets) != want {
			t.Fatalf("%d packets from a payload of %d", len(packets), want)
		}
		frames := make([]Frame, len(packets))
		anyBinary := false
		for i, p := range packets {
			if p.typ < PacketOpen || p.typ > PacketNoop {
				t.Fatalf("packet %d has type %q", i, byte(p.typ))
			}
			if p.binary {
				if p.typ != PacketMessage {
					t.Fatalf("binary packet %d of type %v", i, p.typ)
				}
				frames[i] = BinaryMessage(p.data)
				anyBinary = true
				continue
			}
			if bytes.IndexByte(p.data, recordSeparator) >= 0 {
				t.Fatalf("packet %d holds a record separator", i)
			}
			frames[i] = Frame{Data: append([]byte{byte(p.typ)}, p.data...)}
		}
		encoded := appendPayload(nil, frames)
		if n := payloadLen(frames); n != len(encoded) {
			t.Fatalf("payloadLen %d, encoded %d bytes", n, len(encoded))
		}
		again, err := decodePayload(encoded, nil)
		if err != nil {
			t.Fatalf("re-encoded payload %q does not decode: %v", encoded, err)
		}
		if len(again) != len(packets) {
			t.Fatalf("%d packets, %d after the round trip", len(packets), len(again))
		}
		for i := range packets {
			a, b := packets[i], again[i]
			if a.typ != b.typ || a.binary != b.binary || !bytes.Equal(a.data, b.data) {
				t.Fatalf("packet %d: %v %v %q became %v %v %q", i, a.typ, a.binary, a.data, b.typ, b.binary, b.data)
			}
		}
		// Text packets decode to the same bytes as they were sent: only
		// binary packets, whose base64 may be written several ways, may be
		// re-encoded differently.
		if !anyBinary && !bytes.Equal(encoded, body) {
			t.Fatalf("text payload %q re-encoded as %q", body, encoded)
		}
	})
}

// TestDecodePayloadAllocation checks that decoding a hostile payload does
// not allocate far more than its size.
func TestDecodePayloadAllocation(t *testing.T) {
	for name, body := range map[string][]byte{
		"separators": bytes.Repeat([]byte{recordSeparator}, 1e6),
		"late error": append(bytes.Repeat([]byte("6\x1e"), 1000), "x\x1e"+string(bytes.Repeat([]byte{recordSeparator}, 1e6))...),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := decodePayload(body, nil); err == nil {
			t.Fatalf("%s: decoded", name)
		}
		runtime.ReadMemStats(&after)
		// TotalAlloc also counts what other goroutines allocate meanwhile:
		// the bound is loose, and far below the 40 bytes per separator.
		allocs := after.TotalAlloc - before.TotalAlloc
		if allocs > 1<<20 {
			t.Errorf("%s: decoding %d bytes allocated %d bytes", name, len(body), allocs)
		}
	}
}
