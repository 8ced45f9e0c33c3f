package engine

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"
)

// nodeRecord is one line of testdata/eio3/node-reference.jsonl: a polling
// body or WebSocket message that the Node.js reference (socket.io 4.8.4,
// allowEIO3) or the 2.x client (socket.io-client 2.5.0) sent, captured on
// the wire by test/node/v2/capture.mjs and reduced by golden.mjs.
type nodeRecord struct {
	From      string  `json:"from"`
	Transport string  `json:"transport"`
	B64       bool    `json:"b64"`
	Text      *string `json:"text"`
	Binary    []byte  `json:"binary"`
}

func (r nodeRecord) body() ([]byte, bool) {
	if r.Text != nil {
		return []byte(*r.Text), false
	}
	return r.Binary, true
}

func loadNodeReference(t testing.TB) []nodeRecord {
	t.Helper()
	f, err := os.Open("testdata/eio3/node-reference.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []nodeRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r nodeRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", sc.Bytes(), err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// framesOf turns decoded packets back into the frames a server sends.
func framesOf(packets []packet) []Frame {
	frames := make([]Frame, len(packets))
	for i, p := range packets {
		if p.binary {
			frames[i] = BinaryMessage(p.data)
		} else {
			frames[i] = Frame{Data: append([]byte{byte(p.typ)}, p.data...)}
		}
	}
	return frames
}

// TestPayloadV3NodeReference checks the codec against the bytes the
// Node.js reference and the 2.x client exchanged: every polling body and
// WebSocket message decodes, and encoding what it holds gives back the
// same bytes, in the same format (text or binary), whichever side sent it
// (both use the same framing). So the Go encoder writes what the
// reference writes: lengths in UTF-16 units ("😀" counts 2), binary
// payloads with digit bytes, base64 for b64 clients.
func TestPayloadV3NodeReference(t *testing.T) {
	recs := loadNodeReference(t)
	seen := map[string]int{}
	for _, r := range recs {
		body, binary := r.body()
		kind := r.From + "/" + r.Transport
		if binary {
			kind += "/binary"
		} else if r.B64 {
			kind += "/b64"
		}
		seen[kind]++
		if r.Transport == "websocket" {
			p, err := decodeMessageV3(body, binary)
			if err != nil {
				t.Errorf("%s message %q: %v", kind, body, err)
				continue
			}
			f := framesOf([]packet{p})[0]
			got, gotBinary := appendMessageV3(nil, f, r.B64)
			if !bytes.Equal(got, body) || gotBinary != binary {
				t.Errorf("%s message %q re-encoded as %q (binary %v)", kind, body, got, gotBinary)
			}
			continue
		}
		packets, err := decodePayloadV3(body, binary, nil)
		if err != nil {
			t.Errorf("%s payload %q: %v", kind, body, err)
			continue
		}
		got, gotBinary := appendPayloadV3(nil, framesOf(packets), r.B64)
		if !bytes.Equal(got, body) || gotBinary != binary {
			t.Errorf("%s payload %q re-encoded as %q (binary %v)", kind, body, got, gotBinary)
		}
	}
	// The capture must hold every kind of traffic, or the test proves less
	// than it claims.
	for _, kind := range []string{
		"server/polling", "server/polling/binary", "server/polling/b64", "client/polling",
		"client/polling/binary", "client/polling/b64", "server/websocket", "server/websocket/binary",
		"server/websocket/b64", "client/websocket", "client/websocket/binary", "client/websocket/b64",
	} {
		if seen[kind] == 0 {
			t.Errorf("no %s record in the capture", kind)
		}
	}
}

func TestDecodePayloadV3(t *testing.T) {
	type pk struct {
		typ    PacketType
		data   string
		binary bool
	}
	for _, tc := range []struct {
		name   string
		body   string
		binary bool
		want   []pk
	}{
		{"one", "6:4hello", false, []pk{{PacketMessage, "hello", false}}},
		{"several", "1:21:36:4hello", false, []pk{{PacketPing, "", false}, {PacketPong, "", false}, {PacketMessage, "hello", false}}},
		{"euro is one unit", "2:4€", false, []pk{{PacketMessage, "€", false}}},
		{"astral is two units", "3:4😀1:2", false, []pk{{PacketMessage, "😀", false}, {PacketPing, "", false}}},
		{"separator inside", "3:4\x1e:", false, []pk{{PacketMessage, "\x1e:", false}}},
		{"colons and digits inside", "5:412:31:6", false, []pk{{PacketMessage, "12:3", false}, {PacketNoop, "", false}}},
		{"empty record skipped", "0:1:6", false, []pk{{PacketNoop, "", false}}},
		{"only empty records", "0:0:", false, nil},
		{"leading zeros", "01:6", false, []pk{{PacketNoop, "", false}}},
		{"base64", "6:b4AQID", false, []pk{{PacketMessage, "\x01\x02\x03", true}}},
		{"base64 padded", "6:b4CQ==", false, []pk{{PacketMessage, "\x09", true}}},
		{"base64 unpadded", "4:b4CQ", false, []pk{{PacketMessage, "\x09", true}}},
		{"base64 with line breaks", "8:b4AQ\nID\n", false, []pk{{PacketMessage, "\x01\x02\x03", true}}},
		{"base64 empty", "2:b4", false, []pk{{PacketMessage, "", true}}},
		{"invalid UTF-8 counts per maximal subpart", "3:4\xe2\x82a", false, []pk{{PacketMessage, "\xe2\x82a", false}}},
		{"invalid bytes count one each", "3:4\xff\xfe", false, []pk{{PacketMessage, "\xff\xfe", false}}},
		{"binary text record", "\x00\x06\xff4hello", true, []pk{{PacketMessage, "hello", false}}},
		{"binary text record is UTF-8 bytes", "\x00\x04\xff4€", true, []pk{{PacketMessage, "€", false}}},
		{"binary record", "\x01\x04\xff\x04\x01\x02\x03", true, []pk{{PacketMessage, "\x01\x02\x03", true}}},
		{"binary records", "\x01\x04\xff\x04\x01\x02\x03\x01\x02\xff\x04\x09\x00\x01\xff2", true,
			[]pk{{PacketMessage, "\x01\x02\x03", true}, {PacketMessage, "\x09", true}, {PacketPing, "", false}}},
		{"binary record, long length", "\x01\x01\x00\xff\x04" + strings.Repeat("x", 9), true, []pk{{PacketMessage, strings.Repeat("x", 9), true}}},
		{"binary ping", "\x01\x01\xff\x02", true, []pk{{PacketPing, "", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodePayloadV3([]byte(tc.body), tc.binary, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d packets, want %d: %v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.typ != w.typ || string(g.data) != w.data || g.binary != w.binary {
					t.Errorf("packet %d: %v %q binary=%v, want %v %q binary=%v", i, g.typ, g.data, g.binary, w.typ, w.data, w.binary)
				}
			}
		})
	}
}

func TestDecodePayloadV3Errors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		binary bool
	}{
		{"empty text", "", false},
		{"empty binary", "", true},
		{"no length", ":4hello", false},
		{"no colon", "6", false},
		{"not a digit", "x:4", false},
		{"sign", "+1:6", false},
		{"too many digits", "0000000001:6", false},
		{"length too long", "7:4hello", false},
		{"length beyond the body", "999999:4", false},
		{"length splits a surrogate pair", "2:4😀", false},
		{"bad packet type", "1:9", false},
		{"trailing bytes", "1:6x", false},
		{"trailing length", "1:61", false},
		{"bad base64", "6:b4!!!!", false},
		{"base64 without type", "1:b", false},
		{"base64 with bad type", "3:b9AA", false},
		{"binary: bad record kind", "\x02\x01\xff6", true},
		{"binary: no digits", "\x00\xff6", true},
		{"binary: digit out of range", "\x00\x0a\xff6", true},
		{"binary: no terminator", "\x00\x01", true},
		{"binary: empty record", "\x00\x00\xff", true},
		{"binary: record beyond the body", "\x00\x05\xff6", true},
		{"binary: too many digits", "\x00" + strings.Repeat("\x00", 9) + "\x01\xff6", true},
		{"binary: bad text packet", "\x00\x01\xff9", true},
		{"binary: bad binary packet type", "\x01\x01\xff\x07", true},
		{"binary: kind only", "\x01", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodePayloadV3([]byte(tc.body), tc.binary, nil)
			if err == nil {
				t.Fatalf("decoded: %v", got)
			}
			if !errors.Is(err, ErrMalformedPacket) {
				t.Fatalf("error %v does not wrap ErrMalformedPacket", err)
			}
			if got != nil {
				t.Fatal("packets returned with an error")
			}
		})
	}
}

func TestEncodePayloadV3(t *testing.T) {
	text := func(s string) Frame { return Frame{Data: []byte(s)} }
	bin := func(s string) Frame { return BinaryMessage([]byte(s)) }
	for _, tc := range []struct {
		name       string
		frames     []Frame
		b64        bool
		want       string
		wantBinary bool
	}{
		{"text", []Frame{text("4hello"), text("3")}, false, "6:4hello1:3", false},
		{"UTF-16 lengths", []Frame{text("4€😀é")}, false, "5:4€😀é", false},
		{"invalid UTF-8 is replaced", []Frame{text("4a\xff\xfeb")}, false, "4:4a\uFFFDb", false},
		{"binary as base64 for b64 clients", []Frame{text("451-[]"), bin("\x01\x02\x03")}, true, "6:451-[]6:b4AQID", false},
		{"binary payload", []Frame{text("451-[]"), bin("\x01\x02\x03")}, false, "\x00\x06\xff451-[]\x01\x04\xff\x04\x01\x02\x03", true},
		{"binary payload: byte lengths", []Frame{text("4€"), bin("")}, false, "\x00\x04\xff4€\x01\x01\xff\x04", true},
		{"binary payload: long", []Frame{bin(strings.Repeat("x", 1234))}, false, "\x01\x01\x02\x03\x05\xff\x04" + strings.Repeat("x", 1234), true},
		{"empty base64", []Frame{bin("")}, true, "2:b4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, binary := appendPayloadV3([]byte("prefix"), tc.frames, tc.b64)
			if string(got) != "prefix"+tc.want || binary != tc.wantBinary {
				t.Fatalf("got %q (binary %v), want %q (binary %v)", got[6:], binary, tc.want, tc.wantBinary)
			}
		})
	}
}

func TestMessageV3(t *testing.T) {
	for _, tc := range []struct {
		data   string
		binary bool
		want   packet
	}{
		{"4hello", false, packet{typ: PacketMessage, data: []byte("hello")}},
		{"2", false, packet{typ: PacketPing, data: []byte{}}},
		{"2probe", false, packet{typ: PacketPing, data: []byte("probe")}},
		{"b4AQID", false, packet{typ: PacketMessage, data: []byte{1, 2, 3}, binary: true}},
		{"\x04\x01\x02", true, packet{typ: PacketMessage, data: []byte{1, 2}, binary: true}},
		{"\x04", true, packet{typ: PacketMessage, data: []byte{}, binary: true}},
	} {
		got, err := decodeMessageV3([]byte(tc.data), tc.binary)
		if err != nil {
			t.Errorf("%q: %v", tc.data, err)
			continue
		}
		if got.typ != tc.want.typ || !bytes.Equal(got.data, tc.want.data) || got.binary != tc.want.binary {
			t.Errorf("%q: %v %q %v", tc.data, got.typ, got.data, got.binary)
		}
	}
	for _, tc := range []struct {
		data   string
		binary bool
	}{{"", false}, {"", true}, {"\x07", true}, {"b", false}, {"b4!", false}, {"x", false}} {
		if p, err := decodeMessageV3([]byte(tc.data), tc.binary); err == nil {
			t.Errorf("%q (binary %v) decoded: %v", tc.data, tc.binary, p)
		}
	}
}

// TestUTF16Len checks the length the encoder writes against Go's own
// UTF-16 encoder, on text of every UTF-8 length.
func TestUTF16Len(t *testing.T) {
	for _, s := range []string{"", "a", "é", "€", "😀", "a€😀é\u2028\U0010FFFF\u0000", strings.Repeat("𝄞x", 100)} {
		want := len(utf16.Encode([]rune(s)))
		if got := utf16Len([]byte(s)); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
		if n, ok := utf16Prefix([]byte(s+"tail"), want); !ok || n != len(s) {
			t.Errorf("utf16Prefix(%q, %d) = %d, %v", s, want, n, ok)
		}
	}
}

// TestInvalidSeqLen checks the maximal subparts against the examples of
// the Unicode standard (table 3-8) and WHATWG's decoder.
func TestInvalidSeqLen(t *testing.T) {
	for _, tc := range []struct {
		in    string
		units int // U+FFFD count
	}{
		{"\xc0\xaf", 2},
		{"\xe0\x80\xaf", 3},
		{"\xf4\x90\x80\x80", 4},
		{"\xe1\x80", 1},
		{"\xf1\x80\x80", 1},
		{"\xed\xa0\x80", 3}, // a surrogate: each byte
		{"\xe2\x82", 1},
		{"\xe2\x82a", 2},
		{"\xf0\x9f\x98", 1},
		{"\x80\x80", 2},
	} {
		n, ok := utf16Prefix([]byte(tc.in), tc.units)
		if !ok || n != len(tc.in) {
			t.Errorf("%q: %d units take %d bytes (%v), want all %d", tc.in, tc.units, n, ok, len(tc.in))
		}
		if tc.units > 1 {
			if n, ok := utf16Prefix([]byte(tc.in), tc.units-1); ok && n == len(tc.in) {
				t.Errorf("%q: %d units already take every byte", tc.in, tc.units-1)
			}
		}
	}
}

// FuzzDecodePayloadV3 checks the protocol 3 payload decoder: it never
// panics, leaves its input alone, and whatever it accepts survives a round
// trip through the encoder (text packets as valid UTF-8, which is what a
// client decodes them to). The seed corpus
// (testdata/fuzz/FuzzDecodePayloadV3) holds what the 2.x client posted to
// the Node.js reference (see testdata/eio3).
func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{"1:2", "6:4hello1:6", "2:4€", "6:b4AQID", "0:"} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03"), true)
	f.Fuzz(func(t *testing.T, body []byte, binary bool) {
		in := bytes.Clone(body)
		packets, err := decodePayloadV3(body, binary, nil)
		if !bytes.Equal(body, in) {
			t.Fatal("decodePayloadV3 modified its input")
		}
		if err != nil {
			if packets != nil {
				t.Fatal("packets returned with an error")
			}
			return
		}
		if len(packets) == 0 {
			return // "0:" records only
		}
		for _, b64 := range []bool{false, true} {
			frames := framesOf(packets)
			for i, p := range packets {
				if p.typ < PacketOpen || p.typ > PacketNoop {
					t.Fatalf("packet %d has type %q", i, byte(p.typ))
				}
				if p.binary && p.typ != PacketMessage {
					t.Fatalf("binary packet %d of type %v", i, p.typ)
				}
			}
			encoded, encBinary := appendPayloadV3(nil, frames, b64)
			again, err := decodePayloadV3(encoded, encBinary, nil)
			if err != nil {
				t.Fatalf("re-encoded payload %q (binary %v) does not decode: %v", encoded, encBinary, err)
			}
			if len(again) != len(packets) {
				t.Fatalf("%d packets, %d after the round trip", len(packets), len(again))
			}
			for i, a := range packets {
				b := again[i]
				want := a.data
				if !a.binary {
					want = validText(append([]byte{byte(a.typ)}, a.data...))[1:]
				}
				if a.typ != b.typ || a.binary != b.binary || !bytes.Equal(want, b.data) {
					t.Fatalf("packet %d: %v %v %q became %v %v %q", i, a.typ, a.binary, a.data, b.typ, b.binary, b.data)
				}
			}
			// The encoder's output is canonical: encoding it again changes
			// nothing. (A client may write what it sends otherwise: leading
			// zeros, "0:" records, unpadded base64.)
			if re, reBinary := appendPayloadV3(nil, framesOf(again), b64); !bytes.Equal(re, encoded) || reBinary != encBinary {
				t.Fatalf("payload %q re-encoded as %q", encoded, re)
			}
		}
	})
}

// TestDecodePayloadV3Allocation checks that decoding a hostile payload
// does not allocate far more than its size.
func TestDecodePayloadV3Allocation(t *testing.T) {
	for name, tc := range map[string]struct {
		body   []byte
		binary bool
	}{
		"late error":    {append(bytes.Repeat([]byte("1:6"), 1000), "9:"...), false},
		"base64":        {[]byte("999999:b4" + base64.StdEncoding.EncodeToString(make([]byte, 1000))), false},
		"binary digits": {append([]byte{0}, bytes.Repeat([]byte{9}, 1e6)...), true},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := decodePayloadV3(tc.body, tc.binary, nil); err == nil {
			t.Fatalf("%s: decoded", name)
		}
		runtime.ReadMemStats(&after)
		if allocs := after.TotalAlloc - before.TotalAlloc; allocs > 1<<20 {
			t.Errorf("%s: decoding %d bytes allocated %d bytes", name, len(tc.body), allocs)
		}
	}
}
