package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/nodetest"
)

// The interop tests run the official engine.io-client (test/node/engine/*.mjs)
// against an echo server on loopback. Each script prints one JSON object per
// line, which the tests check.

// interopServer starts an echo server for the scripts: a message
// "close-me" makes the server close the session.
func interopServer(t *testing.T, opts *Options) *harness {
	t.Helper()
	nodetest.Require(t)
	return newHarness(t, opts, func(c *harnessConfig) {
		c.events = 1024
		c.onAccept = func(r *recorder) {
			r.onMessage = func(r *recorder, data []byte, _ bool) {
				if string(data) == "close-me" {
					r.s.Close()
				}
			}
		}
	})
}

// runScript runs a script of test/node/engine against h and returns its
// lines.
func runScript(t *testing.T, h *harness, script string, env map[string]string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return nodetest.RunJSON(t, ctx, "engine/"+script, env, h.ts.URL)
}

// message renders a "sent" or "message" line for comparison. Long messages
// are given by length and SHA-256.
func message(line map[string]any) string {
	for _, kind := range []string{"text", "binary"} {
		v, ok := line[kind]
		if !ok {
			continue
		}
		if v == nil {
			return fmt.Sprintf("%s(%v bytes, sha256 %.16v)", kind, line["length"], line["sha256"])
		}
		return fmt.Sprintf("%s(%q)", kind, v)
	}
	return fmt.Sprintf("bad line %v", line)
}

// describe renders a message the server got like the scripts do.
func describe(data []byte, binary bool) string {
	kind := "text"
	if binary {
		kind = "binary"
	}
	if len(data) > 64 {
		sum := sha256.Sum256(data)
		return fmt.Sprintf("%s(%v bytes, sha256 %.16v)", kind, len(data), hex.EncodeToString(sum[:]))
	}
	if binary {
		return fmt.Sprintf("%s(%q)", kind, base64.StdEncoding.EncodeToString(data))
	}
	return fmt.Sprintf("%s(%q)", kind, data)
}

func TestInteropEcho(t *testing.T) {
	for _, tc := range []struct {
		name, transports string
		upgrade          bool
	}{
		{"polling", "polling", false},
		{"websocket", "websocket", false},
		{"upgrade", "polling,websocket", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := interopServer(t, nil)
			lines := runScript(t, h, "echo.mjs", map[string]string{"TRANSPORTS": tc.transports})
			var sent, received, phases []string
			var upgraded bool
			var last, doneLine map[string]any
			for _, l := range lines {
				switch l["event"] {
				case "sent":
					sent = append(sent, message(l))
					phases = append(phases, l["phase"].(string))
				case "message":
					received = append(received, message(l))
				case "upgrade":
					upgraded = true
					if l["transport"] != "websocket" {
						t.Fatalf("upgraded to %v", l["transport"])
					}
				case "done":
					doneLine = l
				case "error":
					t.Fatalf("client error: %v", l)
				}
				last = l
			}
			if strings.Join(received, "\n") != strings.Join(sent, "\n") {
				t.Fatalf("echoes out of order or missing:\nsent     %v\nreceived %v", sent, received)
			}
			if upgraded != tc.upgrade {
				t.Fatalf("upgraded: %v", upgraded)
			}
			if want := tc.transports[strings.LastIndex(tc.transports, ",")+1:]; doneLine == nil || doneLine["transport"] != want {
				t.Fatalf("final transport %v, want %s", doneLine, want)
			}
			if tc.upgrade && !strings.Contains(strings.Join(phases, ","), "upgrading") {
				t.Fatalf("no message sent during the upgrade: %v", phases)
			}
			if last["event"] != "close" || last["reason"] != "forced close" {
				t.Fatalf("last line %v", last)
			}
			// The server saw the session, its messages in the same order, and
			// the client's close.
			r := h.session()
			var got []string
			for {
				e := r.next(t)
				if e.kind == "close" {
					if e.reason != ReasonTransportClose {
						t.Fatalf("server close reason %q (%v)", e.reason, e.err)
					}
					break
				}
				if e.kind == "message" {
					got = append(got, describe(e.data, e.binary))
				}
			}
			if strings.Join(got, "\n") != strings.Join(sent, "\n") {
				t.Fatalf("server got %v, want %v", got, sent)
			}
		})
	}
}

func TestInteropHeartbeat(t *testing.T) {
	for _, transports := range []string{"polling", "websocket"} {
		t.Run(transports, func(t *testing.T) {
			// Short interval, generous timeout: slow scheduling delays the
			// test without failing it.
			h := interopServer(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 2 * time.Second})
			const pings = 6
			lines := runScript(t, h, "heartbeat.mjs", map[string]string{"TRANSPORTS": transports, "PINGS": strconv.Itoa(pings)})
			last := lines[len(lines)-1]
			if last["event"] != "close" || last["reason"] != "forced close" || last["pings"] != float64(pings) {
				t.Fatalf("last line %v", last)
			}
			r := h.session()
			if e := r.waitClose(t); e.reason != ReasonTransportClose {
				t.Fatalf("server close reason %q (%v)", e.reason, e.err)
			}
		})
	}
}

func TestInteropLimits(t *testing.T) {
	const limit = 100_000
	for _, transports := range []string{"polling", "websocket"} {
		t.Run(transports, func(t *testing.T) {
			h := interopServer(t, &Options{MaxHTTPBufferSize: limit})
			lines := runScript(t, h, "limits.mjs", map[string]string{"TRANSPORTS": transports, "LIMIT": strconv.Itoa(limit)})
			var echoed bool
			for _, l := range lines {
				if l["event"] == "open" && l["maxPayload"] != float64(limit) {
					t.Fatalf("client saw maxPayload %v", l["maxPayload"])
				}
				if l["event"] == "message" {
					echoed = l["phase"] == "at limit" && l["length"] == float64(limit-1)
				}
			}
			if !echoed {
				t.Fatalf("message at the limit not echoed: %v", lines)
			}
			last := lines[len(lines)-1]
			if last["event"] != "close" || (last["reason"] != "transport close" && last["reason"] != "transport error") {
				t.Fatalf("last line %v", last)
			}
			r := h.session()
			if e := r.waitClose(t); e.reason != ReasonTransportError {
				t.Fatalf("server close reason %q (%v)", e.reason, e.err)
			}
		})
	}
}

func TestInteropReconnect(t *testing.T) {
	for _, transports := range []string{"polling", "websocket", "polling,websocket"} {
		t.Run(transports, func(t *testing.T) {
			h := interopServer(t, nil)
			lines := runScript(t, h, "reconnect.mjs", map[string]string{"TRANSPORTS": transports})
			var events []string
			var ids []string
			for _, l := range lines {
				ev := fmt.Sprintf("%v%v", l["event"], l["session"])
				switch l["event"] {
				case "open":
					ids = append(ids, l["id"].(string))
				case "close":
					ev += ":" + l["reason"].(string)
				case "message":
					ev += ":" + l["text"].(string)
				}
				events = append(events, ev)
			}
			want := "open1 close1:transport close open2 message2:again close2:forced close"
			if got := strings.Join(events, " "); got != want {
				t.Fatalf("events %q, want %q", got, want)
			}
			if len(ids) != 2 || ids[0] == ids[1] {
				t.Fatalf("session ids %v", ids)
			}
			first, second := h.session(), h.session()
			if e := first.waitClose(t); e.reason != ReasonForcedClose {
				t.Fatalf("first session closed with %q", e.reason)
			}
			if e := second.waitClose(t); e.reason != ReasonTransportClose {
				t.Fatalf("second session closed with %q", e.reason)
			}
		})
	}
}
