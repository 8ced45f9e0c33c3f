package ginio_test

import (
	"fmt"
	"net/http"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/ginio"
)

// Socket.IO on /socket.io of a gin app, beside its other routes.
func ExampleMount() {
	r := gin.New()
	r.GET("/api/health", func(c *gin.Context) { c.String(http.StatusOK, "ok") })

	io := core.NewServer()
	io.OnConnection(func(s *core.Socket) {
		s.On("ping", func(e *core.Event) { _ = e.Ack("pong") })
	})
	ginio.Mount(r, io)

	for _, route := range r.Routes() {
		if route.Method == http.MethodGet {
			fmt.Println(route.Method, route.Path)
		}
	}
	// Then serve r as usual, with r.Run or an http.Server.

	// Unordered output:
	// GET /api/health
	// GET /socket.io
	// GET /socket.io/*any
}

// Socket.IO in a route group, behind the group's middleware, on a path of
// its own: clients connect with io("https://host", {path: "/t/acme/rt"}).
func ExampleMount_group() {
	r := gin.New()
	tenants := r.Group("/t/:tenant", func(c *gin.Context) { c.Set("plan", "gold") })

	io := core.NewServer()
	ginio.Mount(tenants, io, ginio.WithPath("/rt"))
	io.OnConnection(func(s *core.Socket) {
		tenant := ginio.Param(s.Context(), "tenant")
		plan, _ := ginio.Value[string](s.Context(), "plan")
		s.Join(core.Room("tenant:" + tenant))
		_ = s.Emit("welcome", tenant, plan)
	})
}

// The user of a gin-contrib/sessions session (here a cookie store),
// checked in the connection middleware and read in handlers.
func ExampleFromContext_sessions() {
	r := gin.New()
	r.Use(sessions.Sessions("app", cookie.NewStore([]byte("32-byte-long-auth-key-0123456789"))))
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", c.PostForm("user")) // after checking a password...
		_ = s.Save()
	})

	io := core.NewServer()
	ginio.Mount(r, io)
	io.Use(func(s *core.Socket) error {
		gc, ok := ginio.FromContext(s.Context())
		if !ok {
			return &core.ConnectError{Message: "unauthorized"}
		}
		user, _ := sessions.Default(gc).Get("user").(string) // read-only: never Save here
		if user == "" {
			return &core.ConnectError{Message: "unauthorized"}
		}
		s.SetData(user)
		return nil
	})
	io.OnConnection(func(s *core.Socket) {
		_ = s.Emit("hello", s.Data())
	})
}

// A header-based auth middleware runs on the handshake only: a browser's
// WebSocket upgrade cannot carry the header, and needs no check since it
// carries the connection's session ID.
func ExampleWithHandshakeMiddleware() {
	r := gin.New()
	apiKeyAuth := func(c *gin.Context) {
		if c.GetHeader("X-API-Key") != "secret" {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.Set("client", "reporting")
	}
	io := core.NewServer()
	ginio.Mount(r, io, ginio.WithHandshakeMiddleware(apiKeyAuth))
	io.OnConnection(func(s *core.Socket) {
		client, _ := ginio.Value[string](s.Context(), "client")
		s.Join(core.Room(client))
	})
}
