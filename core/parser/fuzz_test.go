package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/.

// FuzzDecode feeds one text message (and, if it announces attachments, as
// many binary messages). Decoding must not panic, errors must wrap
// ErrInvalidPacket, and every accepted packet must re-encode to an equal
// packet.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`2["hello",1]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := JSON.NewDecoder()
		p, err := d.Add(data, false)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		for k := 0; p == nil; k++ {
			if k == DefaultMaxAttachments {
				t.Fatalf("still waiting after %d attachments", k)
			}
			if p, err = d.Add([]byte{byte(k), 'x'}, true); err != nil {
				t.Fatalf("attachment %d: %v", k, err)
			}
		}
		if p.Type != Connect && p.Type != Disconnect && p.Type != Event && p.Type != Ack && p.Type != ConnectError {
			t.Fatalf("decoded type %v", p.Type)
		}
		if p.Namespace == "" || p.Namespace[0] != '/' {
			t.Fatalf("namespace %q", p.Namespace)
		}
		exercisePayload(t, p.Payload)
		checkRoundTrip(t, p)
	})
}

// exercisePayload calls every Payload method on every element and checks
// that they agree.
func exercisePayload(t *testing.T, pl Payload) {
	t.Helper()
	if pl == nil {
		return
	}
	for i := range pl.Len() {
		v, err := pl.Value(i)
		if err != nil {
			t.Fatalf("Value(%d): %v", i, err)
		}
		raw, err := pl.Raw(i)
		if err != nil {
			t.Fatalf("Raw(%d): %v", i, err)
		}
		if !json.Valid(raw) {
			t.Fatalf("Raw(%d) = %q: invalid JSON", i, raw)
		}
		var fromRaw, decoded any
		if err := json.Unmarshal(raw, &fromRaw); err != nil {
			t.Fatal(err)
		}
		if err := pl.Decode(i, &decoded); err != nil {
			t.Fatalf("Decode(%d): %v", i, err)
		}
		if !jsonEqual(fromRaw, decoded) {
			t.Fatalf("Decode(%d) = %#v, Raw gives %#v", i, decoded, fromRaw)
		}
		checkAttachments(t, v)
	}
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// checkAttachments checks that each []byte in v is an attachment as fed by
// the fuzz targets: its index, then 'x'.
func checkAttachments(t *testing.T, v any) {
	switch v := v.(type) {
	case []byte:
		if len(v) < 2 || v[0] >= DefaultMaxAttachments || v[1] != 'x' {
			t.Fatalf("bad attachment %q", v)
		}
	case []any:
		for _, x := range v {
			checkAttachments(t, x)
		}
	case map[string]any:
		for _, x := range v {
			checkAttachments(t, x)
		}
	}
}

// FuzzBinaryReconstruct drives the reconstruction state machine: a text
// message, nbin binary messages, then a text message after Reset.
func FuzzBinaryReconstruct(f *testing.F) {
	f.Add([]byte(`51-["hello",{"_placeholder":true,"num":0}]`), uint8(1), []byte("x"), []byte(`2["a"]`))
	f.Fuzz(func(t *testing.T, header []byte, nbin uint8, att []byte, after []byte) {
		d := JSON.NewDecoder()
		p, err := d.Add(header, false)
		if err != nil && !errors.Is(err, ErrInvalidPacket) {
			t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
		}
		waiting := err == nil && p == nil
		if p != nil {
			exercisePayload(t, p.Payload)
			checkRoundTrip(t, p)
		}
		received := 0
		for k := range int(nbin % 16) {
			a := append([]byte{byte(k), 'x'}, att...)
			p, err := d.Add(a, true)
			switch {
			case !waiting:
				if err == nil || !errors.Is(err, ErrInvalidPacket) {
					t.Fatalf("binary message while not waiting: %v, %v", p, err)
				}
			case err != nil:
				t.Fatalf("attachment %d: %v", k, err)
			case p != nil:
				waiting = false
				received = k + 1
				if received > DefaultMaxAttachments {
					t.Fatalf("packet completed after %d attachments", received)
				}
				exercisePayload(t, p.Payload)
				checkRoundTrip(t, p)
			}
		}
		if waiting {
			// A text message now is an error.
			if _, err := d.Add([]byte(`2["a"]`), false); !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("text while waiting: %v", err)
			}
		}
		// After Reset the decoder behaves like a fresh one.
		d.Reset()
		p1, err1 := d.Add(after, false)
		p2, err2 := JSON.NewDecoder().Add(after, false)
		if (err1 == nil) != (err2 == nil) || (p1 == nil) != (p2 == nil) {
			t.Fatalf("after Reset: %v, %v; fresh decoder: %v, %v", p1, err1, p2, err2)
		}
		if p1 != nil {
			if err := packetsEqual(p1, p2); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzScan checks the hand-written JSON scanner against encoding/json: same
// validity and, for arrays, the same elements.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`[]`, `["a",1,{"b":[null,true,false]}]`, `"x"`, `{"a":1}`, `[1.5e-3,-0]`, `[`, `["\u00e9\n"]`, ` [ 1 , 2 ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := scanner{data: data}
		_, _, err := s.scan()
		if valid := json.Valid(data); valid != (err == nil) {
			t.Fatalf("json.Valid = %v, scanner error = %v", valid, err)
		}
		if err != nil {
			return
		}

		// In binary mode the placeholders found must match a walk over
		// the value decoded by encoding/json.
		const natt = 3
		bs := scanner{data: data, binary: true, natt: natt}
		_, _, berr := bs.scan()
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		n, refErr := refPlaceholders(v, natt)
		if (berr == nil) != (refErr == nil) {
			t.Fatalf("scanner: %v; reference: %v", berr, refErr)
		}
		if berr == nil && len(bs.phs) != n {
			t.Fatalf("scanner found %d placeholders, reference %d", len(bs.phs), n)
		}
		for _, ph := range bs.phs {
			var m map[string]any
			if err := json.Unmarshal(data[ph.start:ph.end], &m); err != nil || m["_placeholder"] != true {
				t.Fatalf("placeholder span %q", data[ph.start:ph.end])
			}
		}

		if !s.array {
			return
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(data, &elems); err != nil {
			t.Fatal(err)
		}
		if len(elems) != len(s.elems) {
			t.Fatalf("%d elements, encoding/json finds %d", len(s.elems), len(elems))
		}
		for i, e := range s.elems {
			if got := data[e.start:e.end]; !bytes.Equal(got, bytes.TrimSpace(elems[i])) {
				t.Fatalf("element %d = %q, encoding/json: %q", i, got, elems[i])
			}
		}
	})
}

// refPlaceholders counts the placeholders in v the slow way, with the same
// rules as the scanner.
func refPlaceholders(v any, natt int) (int, error) {
	switch v := v.(type) {
	case map[string]any:
		if v["_placeholder"] == true {
			num, ok := v["num"].(json.Number)
			if !ok || len(v) != 2 || len(num) == 0 || len(num) > 9 || strings.Trim(string(num), "0123456789") != "" {
				return 0, errBadPH
			}
			if n, _ := strconv.Atoi(string(num)); n >= natt {
				return 0, errPHRange
			}
			return 1, nil
		}
		total := 0
		for _, x := range v {
			n, err := refPlaceholders(x, natt)
			if err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	case []any:
		total := 0
		for _, x := range v {
			n, err := refPlaceholders(x, natt)
			if err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	}
	return 0, nil
}
