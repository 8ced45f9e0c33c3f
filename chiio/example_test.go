package chiio_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/e347a4c2/socketio/chiio"
	"github.com/e347a4c2/socketio/core"
)

// Socket.IO on /socket.io of a chi app, beside its other routes.
func ExampleMount() {
	r := chi.NewRouter()
	r.Get("/api/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, "ok") })

	io := core.NewServer()
	io.OnConnection(func(s *core.Socket) {
		s.On("ping", func(e *core.Event) { _ = e.Ack("pong") })
	})
	chiio.Mount(r, io)

	_ = chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodGet {
			fmt.Println(method, route)
		}
		return nil
	})
	// Then serve r with an http.Server.

	// Unordered output:
	// GET /api/health
	// GET /socket.io
	// GET /socket.io/*
}

type account struct{ ID string }

type accountKey struct{}

// The app's middleware puts the account into the request's context; the
// sockets read it, and the URL parameters of the route, from
// s.Context().
func ExampleMount_context() {
	currentAccount := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := r.Cookie("session")
			if err != nil {
				http.Error(w, "login required", http.StatusUnauthorized)
				return
			}
			acct := &account{ID: c.Value} // look the session up...
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountKey{}, acct)))
		})
	}
	r := chi.NewRouter()
	io := core.NewServer()
	r.Route("/t/{tenant}", func(r chi.Router) {
		r.Use(currentAccount)
		chiio.Mount(r, io) // clients: io(url, {path: "/t/acme/socket.io"})
	})
	io.Use(func(s *core.Socket) error {
		acct, ok := chiio.Value[*account](s.Context(), accountKey{})
		if !ok {
			return &core.ConnectError{Message: "unauthorized"}
		}
		s.SetData(acct.ID)
		s.Join(core.Room("tenant:" + chi.URLParamFromCtx(s.Context(), "tenant")))
		return nil
	})
}
