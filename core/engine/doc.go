// Package engine implements the server side of the Engine.IO protocol,
// revision 4: the transport layer beneath Socket.IO.
//
// An Engine.IO session starts with a handshake over HTTP long-polling or
// WebSocket, exchanges text and binary messages, keeps itself alive with
// server-initiated heartbeats, and can move from polling to WebSocket while
// it runs (the upgrade). The [Server] is an [http.Handler] that implements
// all of it; the layer above receives each new [Session] through the
// accept function given to [NewServer] and talks to it through
// [Session.Send] and the [SessionHandler] it returns.
//
// Concurrency model: a polling session owns no goroutine (the long-poll GET
// waits in the HTTP handler's goroutine); a WebSocket session owns its
// reader, which is the goroutine of the HTTP request that opened it, and a
// writer goroutine that exists only while packets are waiting to be written.
// Outgoing packets wait in a bounded per-session queue; no lock is held
// while writing to the network.
//
// Most applications use package core, which builds Socket.IO on top of this
// package; use engine directly for a raw Engine.IO endpoint.
package engine
