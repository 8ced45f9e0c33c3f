package engine

// A WebSocket session's reader is split in two, so that an idle connection
// costs a goroutine with the smallest stack the runtime has (2 KiB):
//
//   - its waiter (readLoop) parks in waitReadable, a few frames deep, until
//     the client sends something, which it reads into a pooled buffer;
//   - a pooled worker (see package gopool) then decodes and handles what
//     came, down through coder/websocket's frame reader and the session's
//     handler, on a stack that has grown to what that takes, and starts a
//     new waiter once nothing more is at hand.
//
// A goroutine's stack only shrinks back when almost all of it is unused, so
// doing both on one goroutine would leave every idle connection with the
// stack its busiest moment needed.

// readTask is the reading of one burst of messages, by a pooled worker.
type readTask struct {
	s  *Session
	ws *wsConn
}

func (t *readTask) Run() {
	s, ws := t.s, t.ws
	bh, _ := s.handler.(BurstHandler)
	if bh != nil {
		bh.BeginBurst()
	}
	more := s.readBurst(ws)
	var later interface{ Run() }
	if bh != nil {
		later = bh.EndBurst()
	}
	if more {
		if ws.nextReader == nil {
			ws.nextReader = func() { s.readLoop(ws) }
		}
		go ws.nextReader()
	}
	if later != nil {
		later.Run()
	}
}
