package core

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/e347a4c2/socketio/internal/nodetest"
	"github.com/e347a4c2/socketio/internal/siotest"
)

// TestMaxDynamicNamespaces floods a parent namespace with CONNECTs to
// distinct names from one connection (each accepted one followed by a
// DISCONNECT, so that the per-connection WithMaxNamespaces does not stop
// it):
// WithMaxDynamicNamespaces bounds the children that exist, the CONNECTs
// beyond it get a connect_error, children that exist stay joinable, and
// with WithCleanupEmptyChildNamespaces the children of the flood go away so
// that every CONNECT succeeds.
func TestMaxDynamicNamespaces(t *testing.T) {
	if got := newConfig(nil).maxDynamicNamespaces; got != 10000 {
		t.Fatalf("default WithMaxDynamicNamespaces %d, want 10000", got)
	}
	const n, limit = 2000, 50
	for _, cleanup := range []bool{false, true} {
		t.Run(fmt.Sprintf("cleanup=%v", cleanup), func(t *testing.T) {
			e := newEnv(t, WithMaxDynamicNamespaces(limit), WithCleanupEmptyChildNamespaces(cleanup))
			parent := e.io.OfRegexp(regexp.MustCompile(`^/doc-\d+$`))
			var created atomic.Int64
			e.io.OnNamespace(func(*Namespace) { created.Add(1) })
			serverSockets(e.io)
			c := e.dial(siotest.WebSocket)
			main := join(t, c, "/", nil)
			ctx := ctxT(t)
			ok, refused := 0, 0
			for i := range n {
				name := fmt.Sprintf("/doc-%d", i)
				if err := c.WriteText("0" + name + ","); err != nil {
					t.Fatal(err)
				}
				p, err := c.NextUnrouted(ctx)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				switch {
				case p.Type == siotest.TypeConnect && p.Namespace == name:
					ok++
					if err := c.WriteText("1" + name + ","); err != nil {
						t.Fatal(err)
					}
				case p.Text == "4"+name+`,{"message":"Too many namespaces"}`:
					refused++
				default:
					t.Fatalf("answer %d: %q", i, p.Text)
				}
			}
			roundTrip(t, main)
			if cleanup {
				if ok != n {
					t.Fatalf("%d of %d CONNECTs accepted with the cleanup on", ok, n)
				}
				eventually(t, "children removed", func() bool { return len(parent.Children()) == 0 })
			} else {
				if ok != limit || refused != n-limit || len(parent.Children()) != limit {
					t.Fatalf("accepted %d, refused %d, %d children; want %d, %d, %d", ok, refused,
						len(parent.Children()), limit, n-limit, limit)
				}
				// The children that exist are joined as usual.
				join(t, c, "/doc-0", nil)
			}
			if len(e.io.Namespaces()) > limit+1 {
				t.Fatalf("%d namespaces", len(e.io.Namespaces()))
			}
			t.Logf("%d CONNECTs: %d accepted, %d refused, %d children created over time", n, ok, refused, created.Load())
		})
	}

	t.Run("unbounded", func(t *testing.T) {
		e := newEnv(t, WithMaxDynamicNamespaces(-1))
		e.io.OfRegexp(regexp.MustCompile(`^/doc-\d+$`))
		c := e.dial(siotest.WebSocket)
		for i := range 100 {
			s := join(t, c, fmt.Sprintf("/doc-%d", i), nil)
			_ = s.Disconnect()
		}
	})
}

// TestMaxConnections checks WithMaxConnections: a connection beyond it is
// refused, by polling and by WebSocket, and the others go on.
func TestMaxConnections(t *testing.T) {
	e := newEnv(t, WithMaxConnections(2))
	serverSockets(e.io)
	a := e.connect(siotest.Polling, "/", nil)
	b := e.connect(siotest.WebSocket, "/", nil)
	for _, tr := range siotest.Transports {
		_, err := siotest.Dial(ctxT(t), e.url, &siotest.Options{Transport: tr})
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("%v connection beyond the limit: %v", tr, err)
		}
	}
	roundTrip(t, a)
	roundTrip(t, b)
	_ = b.Conn().Close()
	eventually(t, "room for one more", func() bool {
		c, err := siotest.Dial(ctxT(t), e.url, &siotest.Options{Transport: siotest.WebSocket})
		if err != nil {
			return false
		}
		t.Cleanup(func() { _ = c.Close() })
		join(t, c, "/", nil)
		return true
	})
}

// limitsChecks are the checks of test/node/sio/limits.mjs.
var limitsChecks = []string{
	"second dynamic namespace refused",
	"connection beyond the limit refused",
	"retries and connects once there is room",
}

// TestLimitsInterop shows the official socket.io-client meeting
// WithMaxDynamicNamespaces (a connect_error with the server's message) and
// WithMaxConnections (a transport-level connect_error, then a retry that
// succeeds once there is room).
func TestLimitsInterop(t *testing.T) {
	nodetest.Require(t)
	for _, mode := range []string{"polling", "websocket"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, WithMaxConnections(1), WithMaxDynamicNamespaces(1))
			e.io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
			got := map[string]map[string]any{}
			for _, line := range nodetest.RunJSON(t, ctxT(t), "sio/limits.mjs", nil, e.url, mode) {
				name, _ := line["check"].(string)
				got[name] = line
			}
			for _, name := range limitsChecks {
				line, ok := got[name]
				if !ok || line["ok"] != true {
					t.Errorf("%s: %v (all: %v)", name, line, got)
				}
			}
		})
	}
}
