// Package core is a Socket.IO v5 server: namespaces, rooms, middleware,
// acknowledgements, binary data and broadcasting, for the official
// Socket.IO clients (browser, Node.js, Swift, Kotlin, Python...).
//
// A [Server] is an [http.Handler]; mount it where clients connect:
//
//	io := core.NewServer()
//	io.OnConnection(func(s *core.Socket) {
//		s.On("chat message", func(e *core.Event) {
//			var msg string
//			if e.Bind(&msg) == nil {
//				io.Emit("chat message", msg)
//			}
//		})
//	})
//	http.Handle("/socket.io/", io)
//
// Each socket runs its middleware and handlers on a goroutine (a pooled
// one) that serves it only while it has work: events of one socket are handled in
// order, a handler may block (even waiting for the same client's
// acknowledgement) without holding up other sockets, and an idle socket
// costs no goroutine. Acknowledgements from clients are delivered as soon
// as they arrive.
//
// With [WithAllowEIO3], the server also takes the 2.x clients (Socket.IO
// protocol 4 over Engine.IO 3), whose sockets handlers see as any other.
//
// The protocol layers live in subpackages: engine (Engine.IO transports),
// parser (packet codecs) and adapter (rooms and cluster operations).
package core
