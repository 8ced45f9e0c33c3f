// Command nethttp mounts Socket.IO on an existing http.ServeMux, beside the
// app's other routes: a page, a health check and a JSON API.
//
//	go run ./examples/express-style/nethttp   # http://localhost:3000
//
// The API routes sit behind http.TimeoutHandler, which must stay off the
// Socket.IO route: a long-polling GET is held up to the ping interval, and
// a WebSocket lives as long as the connection.
package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Socket.IO on net/http</title><link rel="icon" href="data:,"></head>
<body style="font-family:sans-serif">
<h1>Socket.IO on net/http</h1>
<p>Connected clients: <b id="clients">?</b> &middot; round trip: <b id="rtt">?</b></p>
<script src="{{.}}"></script>
<script>
  const socket = io();
  socket.on("clients", (n) => { document.getElementById("clients").textContent = n; });
  setInterval(() => {
    const start = Date.now();
    socket.emit("ping", () => { document.getElementById("rtt").textContent = (Date.now() - start) + " ms"; });
  }, 1000);
</script>
</body></html>
`))

func newApp() (http.Handler, *core.Server) {
	clientFiles, script := browserclient.Find()
	io := core.NewServer(clientFiles...)
	io.OnConnection(func(s *core.Socket) {
		_ = io.Emit("clients", len(io.Sockets()))
		s.On("ping", func(e *core.Event) { _ = e.Ack() })
		s.OnDisconnect(func(core.DisconnectReason) { _ = io.Emit("clients", len(io.Sockets())) })
	})

	api := http.NewServeMux()
	api.HandleFunc("GET /api/clients", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"clients": len(io.Sockets())})
	})

	mux := http.NewServeMux()
	// Socket.IO: every method (polling GET and POST, the WebSocket upgrade,
	// socket.io.min.js), with and without the trailing slash.
	mux.Handle("/socket.io/", io)
	mux.Handle("/socket.io", io)
	mux.Handle("/api/", http.TimeoutHandler(api, 5*time.Second, "timeout"))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, script)
	})
	return mux, io
}

func main() {
	handler, io := newApp()
	if err := serve.Run("nethttp", handler, io); err != nil {
		log.Fatal(err)
	}
}
