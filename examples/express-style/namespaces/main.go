// Command namespaces shows several Socket.IO namespaces on one server:
//
//   - "/news": anyone may listen; "publish" (with an acknowledgement)
//     sends a headline to every listener;
//   - "/admin": namespace middleware admits only clients whose auth
//     payload holds the admin token ($ADMIN_TOKEN, default "letmein");
//     admins may "announce" to every namespace and "stats" (acknowledged
//     with the number of sockets per namespace);
//   - "/room-<name>": dynamic namespaces, created on first use; the
//     parent's middleware requires a nickname in the auth payload, and
//     "say" talks to that room only.
//
// Run it, and open http://localhost:3000:
//
//	go run ./examples/express-style/namespaces
//
// From Node.js (npm install socket.io-client):
//
//	const { io } = require("socket.io-client");
//	io("http://localhost:3000/news").on("headline", console.log);
//	const admin = io("http://localhost:3000/admin", { auth: { token: "letmein" } });
//	admin.emit("stats", console.log);
//	const room = io("http://localhost:3000/room-gophers", { auth: { nickname: "ann" } });
//	room.on("said", console.log).emit("say", "hello");
package main

import (
	"errors"
	"html/template"
	"log"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
)

// Headline is what "/news" publishes.
type Headline struct {
	Title string `json:"title"`
	At    string `json:"at"`
}

func newApp() (http.Handler, *core.Server) {
	adminToken := os.Getenv("ADMIN_TOKEN")
	if adminToken == "" {
		adminToken = "letmein"
	}
	clientFiles, script := browserclient.Find()
	io := core.NewServer(clientFiles...)
	io.OnNamespace(func(n *core.Namespace) { log.Printf("namespaces: namespace %s created", n.Name()) })

	// The main namespace: nothing but a greeting.
	io.OnConnection(func(s *core.Socket) { _ = s.Emit("hello", "try /news, /admin and /room-<name>") })

	// "/news": a broadcast channel.
	news := io.Of("/news")
	news.OnConnection(func(s *core.Socket) {
		_ = s.Emit("headline", Headline{Title: "Welcome to the news", At: time.Now().Format(time.RFC3339)})
		core.OnAck(s, "publish", func(_ *core.Socket, title string) (int, error) {
			title = strings.TrimSpace(title)
			if title == "" {
				return 0, errors.New("empty title")
			}
			err := news.Emit("headline", Headline{Title: title, At: time.Now().Format(time.RFC3339)})
			return len(news.Sockets()), err
		})
	})

	// "/admin": namespace middleware checks the auth payload.
	admin := io.Of("/admin")
	admin.Use(func(s *core.Socket) error {
		if token, _ := s.Handshake().Auth["token"].(string); token != adminToken {
			return &core.ConnectError{Message: "unauthorized", Data: map[string]string{"hint": "auth: {token}"}}
		}
		return nil
	})
	admin.OnConnection(func(s *core.Socket) {
		core.On(s, "announce", func(_ *core.Socket, text string) {
			for _, n := range io.Namespaces() {
				_ = n.Emit("announcement", text)
			}
		})
		s.On("stats", func(e *core.Event) {
			stats := map[string]int{}
			for _, n := range io.Namespaces() {
				stats[n.Name()] = len(n.Sockets())
			}
			_ = e.Ack(stats)
		})
	})

	// "/room-<name>": dynamic namespaces, with middleware on the parent.
	rooms := io.OfRegexp(regexp.MustCompile(`^/room-[a-z0-9-]{1,32}$`))
	rooms.Use(func(s *core.Socket) error {
		nick, _ := s.Handshake().Auth["nickname"].(string)
		if nick = strings.TrimSpace(nick); nick == "" || len(nick) > 32 {
			return &core.ConnectError{Message: "a nickname is required"}
		}
		s.SetData(nick)
		return nil
	})
	rooms.OnConnection(func(s *core.Socket) {
		room := s.Namespace()
		_ = s.Emit("welcome", map[string]any{"room": room.Name(), "members": len(room.Sockets())})
		core.On(s, "say", func(s *core.Socket, text string) {
			_ = room.Emit("said", map[string]any{"from": s.Data(), "text": text})
		})
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, script)
	})
	return mux, io
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Socket.IO namespaces</title><link rel="icon" href="data:,"></head>
<body style="font-family:sans-serif">
<h1>Socket.IO namespaces</h1>
<p><input id="title" placeholder="Headline"> <button id="publish">Publish to /news</button></p>
<p><input id="room" value="gophers" placeholder="room"> <input id="nick" placeholder="nickname">
<button id="join">Join /room-&lt;room&gt;</button> <input id="text" placeholder="Say..."> <button id="say">Say</button></p>
<pre id="log"></pre>
<script src="{{.}}"></script>
<script>
  const out = (...args) => { document.getElementById("log").textContent += args.map((a) => typeof a === "string" ? a : JSON.stringify(a)).join(" ") + "\n"; };
  const val = (id) => document.getElementById(id).value;
  const news = io("/news");
  news.on("headline", (h) => out("/news headline:", h));
  news.on("announcement", (a) => out("/news announcement:", a));
  document.getElementById("publish").onclick = () => news.emit("publish", val("title"), (r) => out("/news publish ->", r));
  let room;
  document.getElementById("join").onclick = () => {
    if (room) room.disconnect();
    room = io("/room-" + val("room"), { auth: { nickname: val("nick") } });
    room.on("connect_error", (err) => out(room.nsp, "connect_error:", err.message));
    room.on("welcome", (w) => out(room.nsp, "welcome:", w));
    room.on("said", (m) => out(room.nsp, m.from + ":", m.text));
  };
  document.getElementById("say").onclick = () => room && room.emit("say", val("text"));
</script>
</body></html>
`))

func main() {
	handler, io := newApp()
	if err := serve.Run("namespaces", handler, io); err != nil {
		log.Fatal(err)
	}
}
