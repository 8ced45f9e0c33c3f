// Command standalone is the Socket.IO server alone on net/http: the
// server is the whole HTTP handler (it answers every path).
//
//	go run ./examples/express-style/standalone   # http://localhost:3000
//
// From Node.js (npm install socket.io-client):
//
//	const socket = require("socket.io-client").io("http://localhost:3000");
//	socket.on("hello", (arg) => console.log(arg)); // "world"
//	socket.emit("howdy", "stranger");
//	socket.emit("sum", [1, 2, 3], (total) => console.log(total)); // 6
//
// Browsers on another origin need CORS: set CORS_ORIGIN (for instance
// http://localhost:5173).
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
	"github.com/e347a4c2/socketio/core/engine"
)

func newServer() *core.Server {
	var opts []core.Option
	if origin := os.Getenv("CORS_ORIGIN"); origin != "" {
		opts = append(opts, core.WithCORS(&engine.CORS{Origins: []string{origin}, Credentials: true}))
	}
	io := core.NewServer(opts...)
	io.OnConnection(func(s *core.Socket) {
		log.Printf("standalone: %s connected over %s", s.ID(), s.Transport())
		_ = s.Emit("hello", "world")
		core.On(s, "howdy", func(s *core.Socket, who string) {
			log.Printf("standalone: %s says howdy to %q", s.ID(), who)
		})
		core.OnAck(s, "sum", func(_ *core.Socket, numbers []float64) (float64, error) {
			var total float64
			for _, n := range numbers {
				total += n
			}
			return total, nil
		})
		s.OnDisconnect(func(reason core.DisconnectReason) {
			log.Printf("standalone: %s disconnected: %s", s.ID(), reason)
		})
	})
	return io
}

func main() {
	io := newServer()
	if err := serve(io, io); err != nil {
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
	fmt.Printf("standalone: listening on http://localhost:%d\n", ln.Addr().(*net.TCPAddr).Port)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := io.Shutdown(shutdownCtx); err != nil {
		log.Printf("standalone: socket.io shutdown: %v", err)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
