// Command gin is getting started with Socket.IO in a gin app: the classic
// chat (../chat) served by gin beside the app's own routes, and the app's
// login (gin-contrib/sessions, cookie store) reused by Socket.IO.
//
//	go run ./examples/express-style/gin   # http://localhost:3000
//
// Open http://localhost:3000/login to sign in: the session cookie goes
// with the Socket.IO handshake (browsers send cookies on polling and
// WebSocket requests alike), the app's currentUser middleware reads it,
// and the namespace /private admits only signed-in users.
package main

import (
	"crypto/rand"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/chat"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
	"github.com/e347a4c2/socketio/ginio"
)

// currentUser is the app's middleware: it puts the signed-in user of the
// session, if any, into the gin context.
func currentUser(c *gin.Context) {
	if user, ok := sessions.Default(c).Get("user").(string); ok && user != "" {
		c.Set("user", user)
	}
}

// authRequired refuses requests without a signed-in user.
func authRequired(c *gin.Context) {
	if c.GetString("user") == "" {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "sign in at /login"})
	}
}

func newApp() (*gin.Engine, *core.Server) {
	clientFiles, script := browserclient.Find()
	io := core.NewServer(clientFiles...)
	chat.Register(io)

	r := gin.Default()
	store := cookie.NewStore(secret("SESSION_KEY"))
	store.Options(sessions.Options{Path: "/", MaxAge: 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	r.Use(sessions.Sessions("chat_session", store), currentUser)

	// The app's own routes.
	page := gin.WrapH(chat.Page(script))
	for _, p := range chat.PagePaths {
		r.GET(p, page)
	}
	r.GET("/login", gin.WrapH(chat.LoginPage("gin-contrib/sessions")))
	r.POST("/login", func(c *gin.Context) {
		user := strings.TrimSpace(c.PostForm("user")) // a real app checks a password here
		if user == "" {
			c.Redirect(http.StatusSeeOther, "/login")
			return
		}
		s := sessions.Default(c)
		s.Set("user", user)
		_ = s.Save()
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Clear()
		_ = s.Save()
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/api/me", authRequired, func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"user": c.GetString("user")})
	})

	// Socket.IO on /socket.io and /socket.io/*: the middleware above ran on
	// the handshake, and what it set is read from the socket's context.
	ginio.Mount(r, io)
	chat.Private(io, "gin-contrib/sessions", func(s *core.Socket) (string, bool) {
		user, ok := ginio.Value[string](s.Context(), "user")
		return user, ok && user != ""
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
	if err := serve.Run("gin", handler, io); err != nil {
		log.Fatal(err)
	}
}
