package eiotest

import (
	"context"
	"fmt"
	"maps"
	"net/http"

	"github.com/coder/websocket"
)

// WS is a WebSocket of an Engine.IO session: one packet per frame, binary
// messages as binary frames.
type WS struct {
	Conn *websocket.Conn
	// Handshake is the open packet of a session opened over WebSocket; nil
	// for an upgrade.
	Handshake *Handshake
}

// DialWebSocket opens a WebSocket to the endpoint with query appended,
// without reading anything. opts may be nil; its HTTPClient defaults to
// the client's and [Client.Header] is added to its HTTPHeader. On a failed
// handshake the server's answer is returned with the error.
func (c *Client) DialWebSocket(ctx context.Context, query string, opts *websocket.DialOptions) (*WS, *http.Response, error) {
	var o websocket.DialOptions
	if opts != nil {
		o = *opts
	}
	if o.HTTPClient == nil {
		o.HTTPClient = c.HTTP
	}
	h := http.Header{}
	maps.Copy(h, c.Header)
	maps.Copy(h, o.HTTPHeader)
	o.HTTPHeader = h
	conn, res, err := websocket.Dial(ctx, c.url(query), &o)
	if err != nil {
		return nil, res, err
	}
	conn.SetReadLimit(64 << 20)
	return &WS{Conn: conn}, res, nil
}

// OpenWebSocket opens a session directly over WebSocket and reads its open
// packet.
func (c *Client) OpenWebSocket(ctx context.Context) (*WS, error) {
	ws, _, err := c.DialWebSocket(ctx, "EIO=4&transport=websocket", nil)
	if err != nil {
		return nil, err
	}
	p, err := ws.Read(ctx)
	if err == nil {
		ws.Handshake, err = ParseHandshake(p)
	}
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	return ws, nil
}

// Read reads one packet.
func (w *WS) Read(ctx context.Context) (Packet, error) {
	typ, b, err := w.Conn.Read(ctx)
	if err != nil {
		return Packet{}, err
	}
	if typ == websocket.MessageBinary {
		return Bin(b), nil
	}
	return DecodeText(b)
}

// ReadMessage reads until a message packet arrives, answering pings with
// pongs and skipping noops; any other packet is an error.
func (w *WS) ReadMessage(ctx context.Context) (Packet, error) {
	for {
		p, err := w.Read(ctx)
		if err != nil {
			return p, err
		}
		switch p.Type {
		case Message:
			return p, nil
		case Ping:
			if err := w.Write(ctx, Control(Pong, string(p.Data))); err != nil {
				return p, err
			}
		case Noop:
		default:
			return p, fmt.Errorf("%w: %q", ErrUnexpectedPacket, p.String())
		}
	}
}

// Write writes one packet.
func (w *WS) Write(ctx context.Context, p Packet) error {
	if p.Binary {
		return w.Conn.Write(ctx, websocket.MessageBinary, p.Data)
	}
	b := make([]byte, 0, 1+len(p.Data))
	b = append(b, p.Type)
	b = append(b, p.Data...)
	return w.Conn.Write(ctx, websocket.MessageText, b)
}

// WaitClosed reads until the connection ends, answering pings, and returns
// the close status the server sent (-1 when it closed the connection
// without a close frame) and the error that ended the read. Messages that
// arrive meanwhile are returned too.
func (w *WS) WaitClosed(ctx context.Context) (websocket.StatusCode, []Packet, error) {
	var msgs []Packet
	for {
		p, err := w.Read(ctx)
		if err != nil {
			return websocket.CloseStatus(err), msgs, err
		}
		switch p.Type {
		case Ping:
			_ = w.Write(ctx, Control(Pong, string(p.Data)))
		default:
			msgs = append(msgs, p)
		}
	}
}

// Close closes the connection at once, without a close handshake.
func (w *WS) Close() error { return w.Conn.CloseNow() }
