package echoio_test

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/echoio"
)

// Socket.IO on /socket.io of an Echo app, beside its other routes.
func ExampleMount() {
	e := echo.New()
	e.GET("/api/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })

	io := core.NewServer()
	io.OnConnection(func(s *core.Socket) {
		s.On("ping", func(e *core.Event) { _ = e.Ack("pong") })
	})
	echoio.Mount(e, io)

	var routes []string
	for _, r := range e.Routes() {
		if r.Method == http.MethodGet {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	slices.Sort(routes)
	for _, r := range routes {
		fmt.Println(r)
	}
	// Then serve e as usual, with e.Start or an http.Server.

	// Output:
	// GET /api/health
	// GET /socket.io
	// GET /socket.io/*
}

// echo-jwt checks the token of the handshake (from the query or a cookie,
// which browsers can send on a WebSocket too, or the Authorization header
// of a long-polling handshake); the connection middleware reads the
// *jwt.Token it stored under "user".
func ExampleWithHandshakeMiddleware() {
	key := []byte("signing-key")
	e := echo.New()
	io := core.NewServer()
	echoio.Mount(e, io, echoio.WithHandshakeMiddleware(echojwt.WithConfig(echojwt.Config{
		SigningKey:  key,
		TokenLookup: "query:token,cookie:token,header:Authorization:Bearer ",
	})))
	io.Use(func(s *core.Socket) error {
		tok, ok := echoio.Value[*jwt.Token](s.Context(), "user")
		if !ok {
			return &core.ConnectError{Message: "unauthorized"}
		}
		sub, err := tok.Claims.GetSubject()
		if err != nil {
			return &core.ConnectError{Message: "unauthorized"}
		}
		s.SetData(sub)
		s.Join(core.Room("user:" + sub))
		return nil
	})
}

// Without Echo middleware on the route: the connection middleware
// validates the token of the Socket.IO auth payload,
// io(url, {auth: {token}}) on the client.
func ExampleMount_authPayload() {
	key := []byte("signing-key")
	e := echo.New()
	io := core.NewServer()
	echoio.Mount(e, io)
	io.Use(func(s *core.Socket) error {
		raw, _ := s.Handshake().Auth["token"].(string)
		tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithValidMethods([]string{"HS256"}))
		if err != nil {
			return &core.ConnectError{Message: "unauthorized"}
		}
		sub, _ := tok.Claims.GetSubject()
		s.SetData(sub)
		return nil
	})
}

// Values of other keys, and of a group's path parameters.
func ExampleWithKeys() {
	e := echo.New()
	tenants := e.Group("/t/:tenant", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set("plan", "gold")
			return next(c)
		}
	})
	io := core.NewServer()
	echoio.Mount(tenants, io, echoio.WithPath("/rt"), echoio.WithKeys("user", "plan"))
	io.OnConnection(func(s *core.Socket) {
		plan, _ := echoio.Value[string](s.Context(), "plan")
		tenant := echoio.Param(s.Context(), "tenant")
		_ = s.Emit("welcome", tenant, plan)
	})
}
