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
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/chat"
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
	if err := serve(handler, io); err != nil {
		log.Fatal(err)
	}
}

// serve listens on $PORT (default 3000) until SIGINT or SIGTERM, then
// shuts down: Socket.IO first (it says goodbye to the clients and closes
// the WebSockets, which http.Server.Shutdown does not wait for), then the
// HTTP server.
func serve(handler http.Handler, io *core.Server) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", ":"+port)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// WriteTimeout stays 0: a long-polling GET is held up to the ping
		// interval (25s); a WriteTimeout must be longer than that.
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("chat: listening on http://localhost:%d\n", ln.Addr().(*net.TCPAddr).Port)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop()
	fmt.Println("chat: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := io.Shutdown(shutdownCtx); err != nil {
		log.Printf("chat: socket.io shutdown: %v", err)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
