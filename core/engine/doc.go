// Package engine implements the server side of the Engine.IO protocol,
// revision 4: the transport layer beneath Socket.IO.
//
// An Engine.IO session starts with a handshake over HTTP long-polling or
// WebSocket, exchanges text and binary messages, keeps itself alive with
// server-initiated heartbeats, and can move from polling to WebSocket while
// it runs (the upgrade). With [Options.AllowEIO3], the server also speaks
// revision 3 to the clients that still use it (see payload_v3.go), each
// session in its client's revision; [Session.Protocol] tells which. Frames
// are the same for both: the revision only changes how they are written
// and read. The [Server] is an [http.Handler] that implements all of it;
// the layer above receives each new [Session] through the
// accept function given to [NewServer] and talks to it through
// [Session.Send] and the [SessionHandler] it returns.
//
// Concurrency model: a polling session owns no goroutine (the long-poll GET
// waits in the HTTP handler's goroutine). An idle WebSocket session owns one
// goroutine of minimal stack, its reader, parked until the client sends
// something; what arrives is decoded and handed to the SessionHandler by a
// pooled worker goroutine. Outgoing packets wait in a bounded per-session
// queue. [Session.Send] writes them at once from the calling goroutine when
// the socket takes them without blocking, [Session.Queue] leaves them to
// flush workers shared by all sessions (for broadcasts), and a writer
// goroutine that exists only while it has something to write finishes what
// the socket could not take at once. No lock is held while writing to the
// network, and no call blocks on it. Heartbeats run on one timer wheel.
//
// Most applications use package core, which builds Socket.IO on top of this
// package; use engine directly for a raw Engine.IO endpoint.
package engine
