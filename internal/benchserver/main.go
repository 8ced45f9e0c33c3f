// Command benchserver implements the bench contract of the shared
// performance harness (../shared/bench/CONTRACT.md) with this module's
// core, so that the harness can measure it beside the other peers:
//
//	go build -o /tmp/benchserver ./internal/benchserver
//	PEERS="raw node zishang mine" MINE_CMD=/tmp/benchserver ROUNDS=3 ../shared/bench/compare.sh
//
// It listens on 127.0.0.1:$PORT (default 3000) and serves the Socket.IO
// endpoint on /socket.io/ with the events the contract defines: "echo"
// acknowledges with its arguments, "join" joins a room, "bcast" broadcasts
// "msg" to a room. Handlers use the public API only, as an application
// would: arguments are read as raw JSON (Event.Raw) and sent on unchanged.
//
// With -cpuprofile or -memprofile it writes a profile when it exits
// (SIGTERM or SIGINT), for use with go tool pprof.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof, on its own address
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/e347a4c2/socketio/core"
)

func main() {
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile to this file on exit")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	flag.Parse()

	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	io := core.NewServer(
		core.WithPingInterval(25*time.Second),
		core.WithPingTimeout(20*time.Second),
		core.WithMaxHTTPBufferSize(1e6),
		core.WithHTTPCompression(false, 0),
		core.WithLogger(logger),
	)
	io.OnConnection(func(s *core.Socket) {
		s.On("echo", func(e *core.Event) {
			if !e.WantsAck() {
				return
			}
			args := make([]any, e.Len())
			for i := range args {
				raw, err := e.Raw(i)
				if err != nil {
					return
				}
				args[i] = raw
			}
			_ = e.Ack(args...)
		})
		s.On("join", func(e *core.Event) {
			var room string
			if e.Arg(0, &room) != nil {
				return
			}
			s.Join(core.Room(room))
			if e.WantsAck() {
				_ = e.Ack()
			}
		})
		s.On("bcast", func(e *core.Event) {
			var room string
			if e.Arg(0, &room) != nil {
				return
			}
			payload := json.RawMessage("null")
			if e.Len() > 1 {
				if raw, err := e.Raw(1); err == nil {
					payload = raw
				}
			}
			// Unlike s.To, which leaves the sender out, io.To reaches every
			// member of the room (the contract's io.to(room).emit).
			_ = io.To(core.Room(room)).Emit("msg", payload)
			if e.WantsAck() {
				_ = e.Ack()
			}
		})
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	if *pprofAddr != "" {
		go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }() // DefaultServeMux: pprof
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		_ = ln.Close()
		if *cpuProfile != "" {
			pprof.StopCPUProfile()
		}
		if *memProfile != "" {
			if f, err := os.Create(*memProfile); err == nil {
				runtime.GC()
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
		}
		// The contract asks for an exit within 5 s: close what is open
		// without waiting for clients.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = io.Shutdown(ctx)
		cancel()
		os.Exit(0)
	}()
	log.Printf("benchserver listening on 127.0.0.1:%s", port)
	if err := hs.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Fatal(err)
	}
	select {} // closed by the signal handler, which exits once it is done
}
