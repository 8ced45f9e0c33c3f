package redisadapter_test

import (
	"testing"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/redistest"
)

// TestRecoveryNotSupported: the Redis adapter keeps no sessions. With
// connection-state recovery on, sockets get a private session ID but their
// events carry no offset, and a returning client connects as a new socket,
// as in the reference with an adapter without recovery.
func TestRecoveryNotSupported(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	n := newNode(t, "a", rs.Addr(), nodeOptions{core: []core.Option{core.WithConnectionStateRecovery()}})
	waitServers(t, 1, n)
	s := n.connect(t, clientOptions{})
	m, _ := s.ConnectData().(map[string]any)
	pid, _ := m["pid"].(string)
	if pid == "" || m["sid"] != s.ID() {
		t.Fatalf("CONNECT data %v", s.ConnectData())
	}
	call(t, s, "join", "r")
	call(t, s, "set data", "kept?")
	if err := n.io.To("r").Emit("m", "broadcast"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, s, "m", "broadcast") // no offset appended
	server := n.io.Of("/").Socket(s.ID())
	if err := server.Emit("m", "direct"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, s, "m", "direct")

	s.Conn().Abort()
	eventually(t, "the disconnection", func() bool { return len(n.io.Sockets()) == 0 })
	if err := server.Emit("m", "away"); err == nil {
		t.Fatal("emit to a socket away: no error, but nothing keeps the event")
	}
	_ = n.io.To("r").Emit("m", "missed")
	back := n.connect(t, clientOptions{auth: map[string]any{"pid": pid, "offset": "0"}})
	if back.ID() == s.ID() {
		t.Fatal("recovered without session support")
	}
	if rooms := call(t, back, "rooms", nil); !equalJSON(rooms, []any{[]any{back.ID()}}) {
		t.Fatalf("rooms %v", rooms)
	}
	if ss := n.io.Of("/").Socket(back.ID()); ss == nil || ss.Recovered() || ss.Data() != nil {
		t.Fatalf("new socket %v", ss)
	}
}
