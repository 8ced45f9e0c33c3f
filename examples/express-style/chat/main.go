// Command chat is the classic Socket.IO chat room on net/http: open
// http://localhost:3000 in two browser windows, pick nicknames, talk.
//
//	go run ./examples/express-style/chat   # PORT=8080 to change the port
//
// The page loads the browser client from this server when the npm package
// socket.io-client is installed (node_modules, or this repository's
// test/node/node_modules), from the official CDN otherwise.
package main

import (
	"log"
	"net/http"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/chat"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
)

// newApp returns the app's handler and its Socket.IO server.
func newApp() (http.Handler, *core.Server) {
	clientFiles, script := browserclient.Find()
	io := core.NewServer(clientFiles...)
	chat.Register(io)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io) // every method: polling GET/POST, the WebSocket upgrade, socket.io.min.js
	page := chat.Page(script)
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /index.html", page)
	mux.Handle("GET /main.js", page)
	mux.Handle("GET /style.css", page)
	return mux, io
}

func main() {
	handler, io := newApp()
	if err := serve.Run("chat", handler, io); err != nil {
		log.Fatal(err)
	}
}
