// Command chi is getting started with Socket.IO in a chi app: the classic
// chat (../chat) served by chi beside the app's own routes, and the app's
// login (a signed cookie that the app's middleware turns into a user in the
// request's context) reused by Socket.IO.
//
//	go run ./examples/express-style/chi   # http://localhost:3000
//
// Open http://localhost:3000/login to sign in: the cookie goes with the
// Socket.IO handshake (browsers send cookies on polling and WebSocket
// requests alike), the currentUser middleware puts the user into the
// request's context, and the namespace /private admits only signed-in
// users.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/e347a4c2/socketio/chiio"
	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/chat"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
)

type userKey struct{}

// cookies signs and verifies the session cookie: base64(user).hmac.
type cookies struct{ key []byte }

func (k cookies) mac(v string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (k cookies) sign(user string) string {
	v := base64.RawURLEncoding.EncodeToString([]byte(user))
	return v + "." + k.mac(v)
}

func (k cookies) verify(cookie string) (string, bool) {
	v, mac, ok := strings.Cut(cookie, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(k.mac(v))) {
		return "", false
	}
	user, err := base64.RawURLEncoding.DecodeString(v)
	return string(user), err == nil && len(user) > 0
}

// currentUser is the app's middleware: it puts the user of a valid session
// cookie, if any, into the request's context.
func (k cookies) currentUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil {
			if user, ok := k.verify(c.Value); ok {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, user))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireUser refuses requests without a signed-in user.
func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(userKey{}).(string); !ok {
			http.Error(w, "sign in at /login", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func newApp() (*chi.Mux, *core.Server) {
	k := cookies{key: secret("SESSION_KEY")}
	clientFiles, script := browserclient.Find()
	io := core.NewServer(clientFiles...)
	chat.Register(io)

	r := chi.NewRouter()
	r.Use(middleware.Recoverer, k.currentUser)

	// The app's own routes.
	page := chat.Page(script)
	for _, p := range chat.PagePaths {
		r.Method(http.MethodGet, p, page)
	}
	r.Method(http.MethodGet, "/login", chat.LoginPage("chi middleware"))
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		user := strings.TrimSpace(r.PostFormValue("user")) // a real app checks a password here
		if user == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: k.sign(user), Path: "/", MaxAge: 86400,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Path: "/", MaxAge: -1})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.With(requireUser).Get("/api/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"user": r.Context().Value(userKey{}).(string)})
	})

	// Socket.IO on /socket.io and /socket.io/*: currentUser ran on the
	// handshake, and the socket's context carries its value.
	chiio.Mount(r, io)
	chat.Private(io, "chi middleware", func(s *core.Socket) (string, bool) {
		return chiio.Value[string](s.Context(), userKey{})
	})
	return r, io
}

// secret returns the key in $name, or a random one: sessions then end when
// the server restarts.
func secret(name string) []byte {
	if k := os.Getenv(name); k != "" {
		return []byte(k)
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func main() {
	handler, io := newApp()
	if err := serve.Run("chi", handler, io); err != nil {
		log.Fatal(err)
	}
}
