package chat

import "github.com/e347a4c2/socketio/core"

// PrivateNamespace is the namespace of [Private].
const PrivateNamespace = "/private"

// Private adds the namespace "/private", which admits only the sockets for
// which identify (reading what the framework's auth middleware established
// for the handshake) returns a user: the others get a connect_error
// "unauthorized". A socket admitted receives "welcome" {user, via}, and
// "whoami" is acknowledged with the same.
func Private(io *core.Server, via string, identify func(s *core.Socket) (user string, ok bool)) {
	nsp := io.Of(PrivateNamespace)
	nsp.Use(func(s *core.Socket) error {
		user, ok := identify(s)
		if !ok {
			return &core.ConnectError{Message: "unauthorized"}
		}
		s.SetData(user)
		return nil
	})
	nsp.OnConnection(func(s *core.Socket) {
		welcome := map[string]any{"user": s.Data(), "via": via}
		_ = s.Emit("welcome", welcome)
		s.On("whoami", func(e *core.Event) { _ = e.Ack(welcome) })
	})
}
