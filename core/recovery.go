package core

import (
	"context"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/engine"
	"github.com/e347a4c2/socketio/core/parser"
)

// Connection-state recovery, the core's side (see
// WithConnectionStateRecovery): client.restore takes the session a CONNECT
// presents from the adapter, newSocket gives the socket its ID and data,
// runConnect answers the CONNECT and resumes the session through the
// adapter (which queues the missed packets right after the answer), and
// runDisconnect persists the session of a socket that may come back.

// defaultMaxBufferedPackets is the engine's default session queue bound
// (engine.Options.MaxBufferedPackets).
const defaultMaxBufferedPackets = 1024

// restore returns the session that the auth payload of a CONNECT to nsp
// asks to recover ({"pid": ..., "offset": ...}, both strings, as the
// official clients send them), or nil: recovery is off, the payload asks
// for nothing, or the adapter has no such session (unknown, expired, taken,
// or an offset it cannot serve from). The session is then the caller's: it
// is gone from the adapter.
func (c *client) restore(nsp *Namespace, auth map[string]any) *adapter.Session {
	if c.srv.cfg.recovery == nil {
		return nil
	}
	pid, ok := auth["pid"].(string)
	offset, ok2 := auth["offset"].(string)
	if !ok || !ok2 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.cfg.connectTimeout)
	defer cancel()
	sess, err := nsp.adapter.RestoreSession(ctx, pid, offset)
	if err != nil || sess == nil {
		c.srv.log.Debug("socket.io: session not recovered", "nsp", nsp.name, "err", err)
		return nil
	}
	if sess.SID == "" || sess.PID != pid {
		return nil
	}
	// Missed packets that the connection's queue cannot take would close
	// it: the client connects as a new socket instead.
	limit := c.srv.cfg.engine.MaxBufferedPackets
	if limit <= 0 {
		limit = defaultMaxBufferedPackets
	}
	n := 1 // the CONNECT answer
	for _, m := range sess.Missed {
		n += len(m.Frames)
	}
	if n > limit {
		c.srv.log.Debug("socket.io: session not recovered: too many missed packets",
			"nsp", nsp.name, "packets", len(sess.Missed))
		return nil
	}
	return sess
}

// Queue implements adapter.QueueSocket: a session-aware adapter queues the
// packets it numbers with it, under its lock, so that they leave in order.
func (a *adapterSocket) Queue(frames []engine.Frame) {
	_ = (*Socket)(a).client.session.Queue(frames...)
}

// NotifyOutgoing implements adapter.QueueSocket.
func (a *adapterSocket) NotifyOutgoing(p *parser.Packet) {
	if data, ok := p.Data.([]any); ok {
		(*Socket)(a).notifyOutgoing(data)
	}
}
