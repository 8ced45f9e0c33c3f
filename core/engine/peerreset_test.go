package engine

import (
	"bytes"
	"runtime"
	"testing"
)

// TestPeerResetWhileWriting closes the client's side of a WebSocket, with
// data it never read, while the server writes to it: the client's kernel
// answers with a reset, which the server may see first on a write or on a
// read. Either way the session closes with "transport close", the
// reference's reason for a connection the client ended (the Node.js ws
// library destroys a socket that reports ECONNRESET or EPIPE without an
// error event).
func TestPeerResetWhileWriting(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
	reasons := map[CloseReason]int{}
	for range 20 {
		ws, r := h.openWS()
		data := TextMessage(bytes.Repeat([]byte{'x'}, 16<<10))
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r.s.Buffered() > 64 { // stay far from the queue's limit
					runtime.Gosched()
					continue
				}
				if r.s.Send(data) != nil {
					return
				}
			}
		}()
		// The client reads nothing and drops the connection.
		_ = ws.Close()
		e := r.waitClose(t)
		close(stop)
		<-done
		reasons[e.reason]++
		if e.reason != ReasonTransportClose {
			t.Errorf("closed with %q (%v), want %q", e.reason, e.err, ReasonTransportClose)
		}
	}
	t.Logf("reasons: %v", reasons)
}
