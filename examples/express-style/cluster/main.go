// Command cluster is the chat of the chat example on several nodes: each
// process is one node, the nodes share a Redis, and a user of one node
// talks with the users of every other (Go nodes, or Node.js nodes running
// socket.io with @socket.io/redis-adapter: the Redis protocol is the same).
//
//	REDIS_URL=redis://localhost:6379 PORT=3000 go run ./examples/express-style/cluster
//	REDIS_URL=redis://localhost:6379 PORT=3001 go run ./examples/express-style/cluster
//
// The user count is the cluster's: the nodes count the sockets that have a
// username with FetchSockets. See README.md for two nodes behind nginx and
// why long-polling clients need sticky sessions.
package main

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/chat"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
	"github.com/e347a4c2/socketio/redisadapter"
)

// newApp returns the app's handler and its Socket.IO server, a node of the
// cluster of rdb's Redis.
func newApp(rdb redis.UniversalClient, extra ...core.Option) (http.Handler, *core.Server) {
	clientFiles, script := browserclient.Find()
	opts := []core.Option{core.WithAdapter(redisadapter.New(rdb, nil))}
	opts = append(opts, clientFiles...)
	io := core.NewServer(append(opts, extra...)...)
	register(io)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io) // polling GET/POST, the WebSocket upgrade, socket.io.min.js
	page := chat.Page(script)
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /index.html", page)
	mux.Handle("GET /main.js", page)
	mux.Handle("GET /style.css", page)
	return mux, io
}

// register installs the chat protocol (that of internal/chat) on the main
// namespace, with the user count of the whole cluster.
func register(io *core.Server) {
	io.OnConnection(func(s *core.Socket) {
		// A socket's handlers run one at a time: no lock for username.
		var username string
		core.On(s, "add user", func(s *core.Socket, name string) {
			name = clip(strings.TrimSpace(name), chat.MaxUsername)
			if username != "" || name == "" {
				return
			}
			username = name
			// Other nodes read the username with FetchSockets.
			s.SetData(map[string]any{"username": name})
			n := countUsers(s.Context(), io)
			_ = s.Emit("login", chat.Count{NumUsers: n})
			_ = s.Broadcast().Emit("user joined", chat.Count{Username: username, NumUsers: n})
		})
		core.On(s, "new message", func(s *core.Socket, text string) {
			if username == "" || text == "" {
				return
			}
			_ = s.Broadcast().Emit("new message", chat.Message{Username: username, Message: clip(text, chat.MaxMessage)})
		})
		s.On("typing", func(*core.Event) {
			if username != "" {
				_ = s.Broadcast().Emit("typing", chat.User{Username: username})
			}
		})
		s.On("stop typing", func(*core.Event) {
			if username != "" {
				_ = s.Broadcast().Emit("stop typing", chat.User{Username: username})
			}
		})
		s.OnDisconnect(func(core.DisconnectReason) {
			if username == "" {
				return
			}
			// The socket has left: it is not counted.
			n := countUsers(context.Background(), io)
			_ = s.Broadcast().Emit("user left", chat.Count{Username: username, NumUsers: n})
		})
	})
}

// countUsers counts the sockets of every node that have a username. When
// the cluster does not answer (Redis down), it counts this node's.
func countUsers(ctx context.Context, io *core.Server) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	sockets, err := io.FetchSockets(ctx)
	if err != nil {
		slog.Warn("cluster: counting this node's users only", "err", err)
		sockets, _ = io.Local().FetchSockets(ctx)
	}
	n := 0
	for _, s := range sockets {
		if d, ok := s.Data.(map[string]any); ok {
			if name, _ := d["username"].(string); name != "" {
				n++
			}
		}
	}
	return n
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func main() {
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://localhost:6379"
	}
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		log.Fatalf("cluster: REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(ropts)
	handler, io := newApp(rdb)
	err = serve.Run("cluster", handler, io)
	_ = rdb.Close()
	if err != nil {
		log.Fatal(err)
	}
}
