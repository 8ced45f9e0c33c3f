// Command echo is getting started with Socket.IO in an Echo (v4) app: the
// classic chat (../chat) served by Echo beside the app's own routes, and
// the app's JWT auth (labstack/echo-jwt) reused by Socket.IO.
//
//	go run ./examples/express-style/echo   # http://localhost:3000
//
// Open http://localhost:3000/login to sign in: the app sets its JWT in an
// HttpOnly cookie, which browsers send with the Socket.IO handshake
// (polling or WebSocket alike); echo-jwt checks it on the handshake only,
// and the namespace /private admits only signed-in users. Non-browser
// clients can send the token in the Socket.IO auth payload instead:
// io(url + "/private", {auth: {token}}).
package main

import (
	"crypto/rand"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/echoio"
	"github.com/e347a4c2/socketio/examples/express-style/internal/browserclient"
	"github.com/e347a4c2/socketio/examples/express-style/internal/chat"
	"github.com/e347a4c2/socketio/examples/express-style/internal/serve"
)

func newApp() (*echo.Echo, *core.Server) {
	key := secret("JWT_KEY")
	clientFiles, script := browserclient.Find()
	io := core.NewServer(clientFiles...)
	chat.Register(io)

	e := echo.New()
	e.HideBanner = true
	e.Use(middleware.Recover())

	// The app's own routes.
	page := echo.WrapHandler(chat.Page(script))
	for _, p := range chat.PagePaths {
		e.GET(p, page)
	}
	e.GET("/login", echo.WrapHandler(chat.LoginPage("echo-jwt")))
	e.POST("/login", func(c echo.Context) error {
		user := strings.TrimSpace(c.FormValue("user")) // a real app checks a password here
		if user == "" {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
			Subject:   user,
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(24 * time.Hour)),
		}).SignedString(key)
		if err != nil {
			return err
		}
		c.SetCookie(&http.Cookie{Name: "token", Value: token, Path: "/", MaxAge: 86400,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/logout", func(c echo.Context) error {
		c.SetCookie(&http.Cookie{Name: "token", Path: "/", MaxAge: -1})
		return c.Redirect(http.StatusSeeOther, "/")
	})
	// The app's auth middleware: echo-jwt, token in the Authorization
	// header or the cookie.
	auth := echojwt.Config{SigningKey: key, TokenLookup: "header:Authorization:Bearer ,cookie:token"}
	api := e.Group("/api", echojwt.WithConfig(auth))
	api.GET("/me", func(c echo.Context) error {
		sub, _ := c.Get("user").(*jwt.Token).Claims.GetSubject()
		return c.JSON(http.StatusOK, map[string]string{"user": sub})
	})

	// Socket.IO: the same echo-jwt, on the Engine.IO handshake only (a
	// browser cannot put a header on the WebSocket upgrade, which needs no
	// check anyway: it carries the connection's session ID), and optional
	// there, since anyone may chat.
	handshake := auth
	handshake.TokenLookup = "cookie:token,query:token,header:Authorization:Bearer "
	handshake.ContinueOnIgnoredError = true
	handshake.ErrorHandler = func(echo.Context, error) error { return nil } // no valid token: anonymous
	echoio.Mount(e, io, echoio.WithHandshakeMiddleware(echojwt.WithConfig(handshake)))

	chat.Private(io, "echo-jwt", func(s *core.Socket) (string, bool) {
		tok, ok := echoio.Value[*jwt.Token](s.Context(), "user") // stored by echo-jwt
		if !ok {
			// Or a token in the Socket.IO auth payload.
			raw, _ := s.Handshake().Auth["token"].(string)
			var err error
			tok, err = jwt.Parse(raw, func(*jwt.Token) (any, error) { return key, nil },
				jwt.WithValidMethods([]string{"HS256"}))
			if err != nil {
				return "", false
			}
		}
		sub, err := tok.Claims.GetSubject()
		return sub, err == nil && sub != ""
	})
	return e, io
}

// secret returns the key in $name, or a random one: tokens then expire
// when the server restarts.
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
	if err := serve.Run("echo", handler, io); err != nil {
		log.Fatal(err)
	}
}
