package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/internal/nodetest"
	"github.com/e347a4c2/socketio/internal/redistest"
)

// startNode runs one node of the cluster on an httptest server.
func startNode(t *testing.T, redisURL string) (*httptest.Server, *core.Server) {
	t.Helper()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	// Frequent pings: see the note in redisadapter's helpers_test.go on a
	// WebSocket message that waits in the engine for the next pong.
	handler, io := newApp(rdb, core.WithPingInterval(2*time.Second))
	ts := httptest.NewServer(handler)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := io.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ts, io
}

// TestChatAcrossNodes drives the chat on two nodes sharing a real
// redis-server: alice on one, bob and carol on the other receive what the
// clients of a single node would.
func TestChatAcrossNodes(t *testing.T) {
	nodetest.Require(t)
	rs := redistest.Start(t)
	a, ioA := startNode(t, rs.URL())
	b, ioB := startNode(t, rs.URL())
	for _, io := range []*core.Server{ioA, ioB} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			n, err := io.Of("/").Adapter().ServerCount(context.Background())
			if err == nil && n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the nodes do not see each other: %d, %v", n, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := nodetest.Run(t, ctx, "redis/chat-cluster.mjs", map[string]string{"URL_A": a.URL, "URL_B": b.URL})
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
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
	// Compared as JSON values: a payload that crossed to a Go node has its
	// keys sorted (Go maps), which JSON does not distinguish.
	for name, w := range want {
		var gotV, wantV any
		w := "[" + strings.Join(w, ",") + "]"
		if err := json.Unmarshal(got[name], &gotV); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := json.Unmarshal([]byte(w), &wantV); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("%s received\n%s\nwant\n%s", name, got[name], w)
		}
	}
}

// TestPage: each node serves the chat's page.
func TestPage(t *testing.T) {
	rs := redistest.Start(t)
	ts, _ := startNode(t, rs.URL())
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
