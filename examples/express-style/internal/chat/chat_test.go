package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/chat"
	"github.com/e347a4c2/socketio/internal/nodetest"
)

// TestProtocol drives the chat with three socket.io-client clients
// (WebSocket, polling, upgrade) and checks every event each received.
func TestProtocol(t *testing.T) {
	nodetest.Require(t)
	io := core.NewServer()
	chat.Register(io)
	ts := httptest.NewServer(io)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := io.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := nodetest.Run(t, ctx, "examples/chat-protocol.mjs", map[string]string{"BASE_URL": ts.URL})
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	// Like the classic example, broadcasts reach every other connected
	// client, logged in or not; carol's events before "add user" and alice's
	// second "add user" reach nobody.
	joined := func(user string, n int) string {
		return fmt.Sprintf(`["user joined",{"username":%q,"numUsers":%d}]`, user, n)
	}
	want := map[string][]string{
		"alice": {`["login",{"numUsers":1}]`, joined("bob", 2), `["new message",{"username":"bob","message":"Hi alice!"}]`,
			`["typing",{"username":"bob"}]`, `["stop typing",{"username":"bob"}]`, joined("carol", 3),
			`["user left",{"username":"bob","numUsers":2}]`},
		"bob": {joined("alice", 1), `["login",{"numUsers":2}]`, `["new message",{"username":"alice","message":"Hello bob!"}]`,
			joined("carol", 3)},
		"carol": {joined("alice", 1), joined("bob", 2), `["new message",{"username":"alice","message":"Hello bob!"}]`,
			`["new message",{"username":"bob","message":"Hi alice!"}]`, `["typing",{"username":"bob"}]`,
			`["stop typing",{"username":"bob"}]`, `["login",{"numUsers":3}]`, `["user left",{"username":"bob","numUsers":2}]`},
	}
	for name, w := range want {
		if w := "[" + strings.Join(w, ",") + "]"; string(got[name]) != w {
			t.Errorf("%s received\n%s\nwant\n%s", name, got[name], w)
		}
	}
}

func TestPage(t *testing.T) {
	ts := httptest.NewServer(chat.Page("/socket.io/socket.io.min.js"))
	defer ts.Close()
	for path, status := range map[string]int{"/": 200, "/index.html": 200, "/main.js": 200, "/style.css": 200, "/nope": 404} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, status)
		}
	}
}
