package engine

import (
	"net/http"
	"sync"
	"testing"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// TestMaxSessions checks Options.MaxSessions: handshakes beyond it, by
// polling and by WebSocket, get HTTP 503 and CodeTooManySessions, the open
// sessions go on working, and a closed session makes room.
func TestMaxSessions(t *testing.T) {
	h := newHarness(t, &Options{MaxSessions: 2})
	p, _ := h.handshake()
	h.openWS()
	full := func() {
		t.Helper()
		res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, res, http.StatusServiceUnavailable, int(CodeTooManySessions))
		_, wsRes, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket", nil)
		if err == nil {
			t.Fatal("WebSocket handshake beyond MaxSessions accepted")
		}
		wantError(t, wsResponse(t, wsRes), http.StatusServiceUnavailable, int(CodeTooManySessions))
	}
	full()
	if n := h.srv.SessionCount(); n != 2 {
		t.Fatalf("SessionCount = %d", n)
	}
	// The open sessions are not affected, nor are their later requests.
	h.send(p, eiotest.Text("still here"))
	if got := h.poll(p); got != "4still here" {
		t.Fatalf("poll %q", got)
	}
	// Closing one makes room for exactly one.
	h.send(p, eiotest.Control(eiotest.Close, ""))
	h.waitSessions(1)
	h.handshake()
	full()

	t.Run("concurrent", func(t *testing.T) {
		h := newHarness(t, &Options{MaxSessions: 5}, func(c *harnessConfig) { c.noEcho = true })
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range 40 {
			wg.Go(func() {
				res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				codes[res.Status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[http.StatusOK] != 5 || codes[http.StatusServiceUnavailable] != 35 {
			t.Fatalf("status counts %v, want 5 OK and 35 refused", codes)
		}
	})
}
