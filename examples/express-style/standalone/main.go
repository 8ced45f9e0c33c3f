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
	"log"
	"os"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
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
	if err := serve.Run("standalone", io, io); err != nil {
		log.Fatal(err)
	}
}
