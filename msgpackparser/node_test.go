package msgpackparser

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core/parser"
	"github.com/e347a4c2/socketio/internal/nodetest"
)

// nodeDecode decodes messages with the reference decoder
// (test/node/msgpack/codec.mjs) and returns one result per message.
func nodeDecode(t *testing.T, msgs [][]byte) []map[string]any {
	t.Helper()
	hexes := make([]string, len(msgs))
	for i, m := range msgs {
		hexes[i] = hex.EncodeToString(m)
	}
	file := filepath.Join(t.TempDir(), "messages.json")
	b, _ := json.Marshal(hexes)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	lines := nodetest.RunJSON(t, ctx, "msgpack/codec.mjs", nil, "decode", file)
	if len(lines) != len(msgs) {
		t.Fatalf("%d results for %d messages", len(lines), len(msgs))
	}
	return lines
}

// normJSON decodes JSON text into plain values for comparison.
func normJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

// TestNodeDecodes checks that the reference decoder reads what this codec
// writes, value for value.
func TestNodeDecodes(t *testing.T) {
	nodetest.Require(t)
	type file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	when := time.Date(2024, 2, 3, 4, 5, 6, 7e6, time.UTC)
	bigArr := make([]any, 70000)
	bigArrJSON := make([]string, len(bigArr))
	for i := range bigArr {
		bigArr[i] = i
		bigArrJSON[i] = strconv.Itoa(i)
	}
	bigMap := map[string]any{}
	var bigMapJSON []string
	for i := range 20 {
		bigMap["k"+strconv.Itoa(i)] = i
		bigMapJSON = append(bigMapJSON, `"k`+strconv.Itoa(i)+`":`+strconv.Itoa(i))
	}
	tests := []struct {
		p    parser.Packet
		want string // tagged JSON of codec.mjs
	}{
		{parser.Packet{Type: parser.Connect, Data: struct {
			SID string `json:"sid"`
		}{"abc"}}, `{"type":0,"nsp":"/","data":{"sid":"abc"}}`},
		{parser.Packet{Type: parser.Connect, Namespace: "/admin"}, `{"type":0,"nsp":"/admin"}`},
		{parser.Packet{Type: parser.Disconnect, Namespace: "/admin"}, `{"type":1,"nsp":"/admin"}`},
		{parser.Packet{Type: parser.Event, Namespace: "/admin", ID: 12, HasID: true, Data: []any{
			"hello", 1, -1, 1.5, "é✓😀", []byte{1, 2},
			map[string]any{"nested": []byte{0xff}, "list": []any{[]byte{}, nil, true}},
			float32(0.1), when, file{"a", []byte{9}}, "\xff", json.RawMessage(`{"z":[1,{"y":null}]}`),
		}}, `{"type":2,"nsp":"/admin","id":12,"data":["hello",1,-1,1.5,"é✓😀",{"$bin":"0102"},` +
			`{"list":[{"$bin":""},null,true],"nested":{"$bin":"ff"}},0.1,"2024-02-03T04:05:06.007Z",` +
			`{"name":"a","data":{"$bin":"09"}},"\ufffd",{"z":[1,{"y":null}]}]}`},
		{parser.Packet{Type: parser.Ack, ID: 1 << 32, HasID: true, Data: []any{
			127, 128, 255, 256, 65535, 65536, math.MaxUint32, 1 << 32, -32, -33, -128, -129, -32768, -32769,
			math.MinInt32, math.MinInt32 - 1, 1<<53 - 1, -(1<<53 - 1), uint64(math.MaxUint64), int64(math.MinInt64),
		}}, `{"type":3,"nsp":"/","id":4294967296,"data":[127,128,255,256,65535,65536,4294967295,4294967296,` +
			`-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,9007199254740991,-9007199254740991,` +
			`18446744073709551615,-9223372036854775808]}`},
		{parser.Packet{Type: parser.ConnectError, Namespace: "/private", Data: map[string]any{"message": "not authorized", "data": map[string]any{"code": 401}}},
			`{"type":4,"nsp":"/private","data":{"message":"not authorized","data":{"code":401}}}`},
		{parser.Packet{Type: parser.ConnectError, Data: "nope"}, `{"type":4,"nsp":"/","data":"nope"}`},
		{parser.Packet{Type: parser.Event, Data: []any{"big", strings.Repeat("x", 70000), bigArr, bigMap, make([]byte, 70000), strings.Repeat("y", 40), strings.Repeat("z", 300)}},
			`{"type":2,"nsp":"/","data":["big","` + strings.Repeat("x", 70000) + `",[` + strings.Join(bigArrJSON, ",") + `],{` +
				strings.Join(bigMapJSON, ",") + `},{"$bin":"` + strings.Repeat("00", 70000) + `"},"` + strings.Repeat("y", 40) + `","` + strings.Repeat("z", 300) + `"]}`},
	}
	msgs := make([][]byte, len(tests))
	for i, tt := range tests {
		msgs[i] = mustEncode(t, New(), &tt.p)
	}
	for i, res := range nodeDecode(t, msgs) {
		if res["ok"] != true {
			t.Errorf("packet %d: the reference decoder failed: %v", i, res["error"])
			continue
		}
		got, _ := json.Marshal(res["packet"])
		if !deepEqual(normJSON(t, string(got)), normJSON(t, tests[i].want)) {
			t.Errorf("packet %d:\n got %.500s\nwant %.500s", i, got, tests[i].want)
		}
	}
}

// TestNodeEncodes decodes what the reference encoder writes for the packets
// of socket.io-client and of the socket.io server.
func TestNodeEncodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	lines := nodetest.RunJSON(t, ctx, "msgpack/codec.mjs", nil, "encode")
	msgs := map[string][]byte{}
	for _, l := range lines {
		b, err := hex.DecodeString(l["hex"].(string))
		if err != nil {
			t.Fatal(err)
		}
		msgs[l["name"].(string)] = b
	}
	tests := []struct {
		name string
		want parser.Packet // Payload unset
		raw  string        // Raw of every element, as a JSON array; "" for no payload
	}{
		{"client CONNECT", parser.Packet{Type: parser.Connect, Namespace: "/"}, ""},
		{"client CONNECT with auth", parser.Packet{Type: parser.Connect, Namespace: "/admin"},
			`[{"token":"abc","n":1,"nested":{"ok":true,"list":[1,"x"]}}]`},
		// notepack.io writes 2**64 as 0 (its uint 64 encoding overflows).
		{"client EVENT", parser.Packet{Type: parser.Event, Namespace: "/", ID: 0, HasID: true},
			`["echo",1,"two","AQID",{"bin":["CQ==",{"deep":"CAc="}]},null,1.5,-7,1099511627776,-1099511627776,0,true,false]`},
		{"client EVENT with JavaScript types", parser.Packet{Type: parser.Event, Namespace: "/"},
			`["types","1970-01-01T00:00:00.000Z",null,"BAUG","AAA=",null,null,0,0.1,{"k":1},"é✓😀","2024-02-03T00:05:06.007Z"]`},
		{"client ACK", parser.Packet{Type: parser.Ack, Namespace: "/", ID: 5, HasID: true}, `["AQ==","x"]`},
		{"client DISCONNECT", parser.Packet{Type: parser.Disconnect, Namespace: "/admin"}, ""},
		{"server CONNECT", parser.Packet{Type: parser.Connect, Namespace: "/"}, `[{"sid":"AbC123"}]`},
		{"server CONNECT_ERROR", parser.Packet{Type: parser.ConnectError, Namespace: "/private"},
			`[{"message":"not authorized","data":{"code":401}}]`},
		{"integer boundaries", parser.Packet{Type: parser.Ack, Namespace: "/", ID: 1 << 32, HasID: true},
			`[127,128,255,256,65535,65536,4294967295,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,9007199254740991,-9007199254740991]`},
		{"large values", parser.Packet{Type: parser.Event, Namespace: "/"}, ""},
	}
	var forwarded [][]byte
	for _, tt := range tests {
		msg, ok := msgs[tt.name]
		if !ok {
			t.Errorf("%s: no vector", tt.name)
			continue
		}
		p := mustDecode(t, New(), msg)
		got := *p
		got.Payload = nil
		if got != tt.want {
			t.Errorf("%s: decoded %+v, want %+v", tt.name, got, tt.want)
		}
		switch {
		case tt.name == "large values":
			v := values(t, p.Payload)
			if len(v) != 7 || len(v[1].(string)) != 70000 || len(v[2].([]any)) != 70000 ||
				v[2].([]any)[69999] != json.Number("69999") || len(v[3].(map[string]any)) != 20 ||
				len(v[4].([]byte)) != 70000 || v[4].([]byte)[69999] != 7 || len(v[5].(string)) != 40 {
				t.Errorf("%s: unexpected values", tt.name)
			}
		case tt.raw == "":
			if p.Payload != nil {
				t.Errorf("%s: payload %v", tt.name, p.Payload)
			}
		default:
			if r := raws(t, p.Payload); r != tt.raw {
				t.Errorf("%s:\n got %s\nwant %s", tt.name, r, tt.raw)
			}
		}
		if tt.name == "client EVENT with JavaScript types" {
			// Value gives []byte for typed arrays and ArrayBuffers.
			v := values(t, p.Payload)
			if b, ok := v[3].([]byte); !ok || string(b) != "\x04\x05\x06" {
				t.Errorf("typed array: %#v", v[3])
			}
		}
		if tt.name == "client CONNECT with auth" {
			// What core does with the auth payload.
			var auth map[string]any
			if err := p.Payload.Decode(0, &auth); err != nil || auth["token"] != "abc" || auth["n"] != 1.0 {
				t.Errorf("auth: %#v, %v", auth, err)
			}
		}
		// Forward the packet (an adapter would) and send it back.
		fwd := parser.Packet{Type: p.Type, Namespace: p.Namespace, ID: p.ID, HasID: p.HasID, Payload: p.Payload}
		forwarded = append(forwarded, mustEncode(t, New(), &fwd))
	}
	// The reference decoder reads the forwarded packets, ext binaries as
	// bin (Buffer).
	for i, res := range nodeDecode(t, forwarded) {
		if res["ok"] != true {
			t.Errorf("%s forwarded: %v", tests[i].name, res["error"])
		}
		if tests[i].name == "client EVENT with JavaScript types" {
			got, _ := json.Marshal(res["packet"])
			want := `{"type":2,"nsp":"/","data":["types","1970-01-01T00:00:00.000Z",null,{"$bin":"040506"},{"$bin":"0000"},null,null,0,0.1,{"k":1},"é✓😀","2024-02-03T00:05:06.007Z"]}`
			if !deepEqual(normJSON(t, string(got)), normJSON(t, want)) {
				t.Errorf("forwarded JavaScript types:\n got %s\nwant %s", got, want)
			}
		}
	}
}

// TestNodeValidation runs the accept and reject tables through the
// reference decoder: whatever this codec accepts, the reference accepts too,
// with the same type, namespace and id. Messages only the reference accepts
// (this codec is stricter) are logged.
func TestNodeValidation(t *testing.T) {
	var msgs [][]byte
	var names []string
	for _, tt := range acceptCases {
		msgs, names = append(msgs, tt.msg), append(names, "accept: "+tt.name)
	}
	for _, tt := range rejectCases {
		if tt.name == "ext claiming 4 GB" {
			// notepack.io allocates a 4 GB ArrayBuffer and copies into it
			// byte by byte: the reference hangs.
			continue
		}
		msgs, names = append(msgs, tt.msg), append(names, "reject: "+tt.name)
	}
	results := nodeDecode(t, msgs)
	for i, res := range results {
		p, err := New().NewDecoder().Add(msgs[i], true)
		nodeOK := res["ok"] == true
		switch {
		case err == nil && !nodeOK:
			t.Errorf("%s: accepted, the reference rejects it: %v", names[i], res["error"])
		case err == nil:
			pk := res["packet"].(map[string]any)
			if pk["type"] != float64(p.Type) || pk["nsp"] != p.Namespace {
				t.Errorf("%s: decoded %+v, the reference %v", names[i], p, pk)
			}
			id, hasID := pk["id"].(float64)
			if hasID != p.HasID || hasID && id != float64(p.ID) {
				t.Errorf("%s: id %v/%v, the reference %v", names[i], p.ID, p.HasID, pk["id"])
			}
		case nodeOK:
			t.Logf("stricter than the reference: %s (%v)", names[i], err)
		}
	}
}
