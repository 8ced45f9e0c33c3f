// Command testsuite is the server the official Engine.IO and Socket.IO
// protocol test suites run against (see ../shared/official-suites):
//
//	go run ./internal/testsuite -addr 127.0.0.1:3000
//
// /engine.io/ is a raw Engine.IO endpoint that echoes every message back to
// its session; /socket.io/ is a Socket.IO server with the suite's
// namespaces and events.
package main

import (
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/core/engine"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	debug := flag.Bool("debug", false, "log debug messages")
	flag.BoolVar(&allowEIO3, "allow-eio3", false, "also accept Engine.IO 3 clients (the suites must pass either way)")
	flag.Parse()
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	mux := http.NewServeMux()
	mux.Handle("/engine.io/", newEchoServer(logger))
	mux.Handle("/socket.io/", newSocketIOServer(logger))
	log.Printf("protocol test-suite server on http://%s (/engine.io/, /socket.io/)", *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

// allowEIO3 sets Options.AllowEIO3 (flag -allow-eio3).
var allowEIO3 bool

// suiteOptions are the Engine.IO options the official suites expect.
func suiteOptions(logger *slog.Logger) *engine.Options {
	return &engine.Options{
		AllowEIO3:         allowEIO3,
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
		CORS:              &engine.CORS{Origins: []string{"*"}},
		Logger:            logger,
	}
}

// echo sends every message of its session back to it.
type echo struct{ s *engine.Session }

func (e echo) OnMessage(data []byte, binary bool) {
	if binary {
		_ = e.s.Send(engine.BinaryMessage(data))
		return
	}
	_ = e.s.Send(engine.TextMessage(data))
}
func (echo) OnUpgrade(engine.Transport)        {}
func (echo) OnClose(engine.CloseReason, error) {}

func newEchoServer(logger *slog.Logger) *engine.Server {
	return engine.NewServer(func(s *engine.Session) engine.SessionHandler { return echo{s} }, suiteOptions(logger))
}

// newSocketIOServer serves the socket.io-protocol suite: namespaces "/" and
// "/custom" greet each socket with its auth payload; "/" echoes "message"
// as "message-back" and acknowledges "message-with-ack" with its arguments.
func newSocketIOServer(logger *slog.Logger) *core.Server {
	io := core.NewServer(
		core.WithEngineOptions(suiteOptions(logger)),
		core.WithConnectTimeout(time.Second),
		core.WithLogger(logger),
	)
	greet := func(s *core.Socket) { _ = s.Emit("auth", s.Handshake().Auth) }
	io.OnConnection(func(s *core.Socket) {
		greet(s)
		s.On("message", func(e *core.Event) {
			args, err := e.Values()
			if err == nil {
				_ = s.Emit("message-back", args...)
			}
		})
		s.On("message-with-ack", func(e *core.Event) {
			args, err := e.Values()
			if err == nil {
				_ = e.Ack(args...)
			}
		})
	})
	io.Of("/custom").OnConnection(greet)
	return io
}
