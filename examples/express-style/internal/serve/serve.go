// Package serve runs an example's HTTP server the way a production service
// would: on $PORT, with a graceful shutdown in the right order.
package serve

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
)

// Run listens on $PORT (default 3000), prints the URL prefixed with name,
// and serves handler until SIGINT or SIGTERM. It then shuts down Socket.IO
// first (it says goodbye to the clients and closes the WebSockets, which
// http.Server.Shutdown does not wait for; with a cluster adapter, its
// subscriptions end too), then the HTTP server.
func Run(name string, handler http.Handler, io *core.Server) error {
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
	fmt.Printf("%s: listening on http://localhost:%d\n", name, ln.Addr().(*net.TCPAddr).Port)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop()
	fmt.Printf("%s: shutting down\n", name)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := io.Shutdown(shutdownCtx); err != nil {
		log.Printf("%s: socket.io shutdown: %v", name, err)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
