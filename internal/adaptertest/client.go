package adaptertest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// HandshakeError is a refused Engine.IO handshake.
type HandshakeError struct {
	Status int
	Body   string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("handshake refused: %d %s", e.Status, e.Body)
}

// ConnectError is a refused Socket.IO CONNECT (a connect_error).
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return "connect_error: " + e.Message }

// Client is a minimal long-polling Socket.IO client.
type Client struct {
	// Endpoint is the Engine.IO endpoint, such as
	// "http://127.0.0.1:1234/socket.io/".
	Endpoint string
	// LaterEndpoint, if set, receives the requests after the handshake
	// (the core serves a session on any of its mounts).
	LaterEndpoint string
	// Header is sent with every request; HandshakeHeader with the
	// handshake only.
	Header, HandshakeHeader http.Header
	// Nsp is the namespace to join (default "/"), Auth the auth payload.
	Nsp  string
	Auth map[string]any
	// BeforeConnect, if set, runs between the handshake and the CONNECT
	// packet (which runs the connection middleware).
	BeforeConnect func()
}

// Whoami connects, joins the namespace, emits "whoami" and returns the
// acknowledgement's first argument. A refused handshake is a
// *HandshakeError, a refused CONNECT a *ConnectError.
func (cl *Client) Whoami(ctx context.Context) (map[string]any, error) {
	c := eiotest.New(cl.Endpoint)
	defer c.Close()
	maps.Copy(c.Header, cl.Header)
	res, err := c.Do(ctx, http.MethodGet, eiotest.HandshakeQuery, cl.HandshakeHeader, nil)
	if err != nil {
		return nil, err
	}
	if res.Status != http.StatusOK {
		return nil, &HandshakeError{Status: res.Status, Body: string(res.Body)}
	}
	body, err := res.Decoded()
	if err != nil {
		return nil, err
	}
	packets, err := eiotest.DecodePayload(body)
	if err != nil {
		return nil, err
	}
	hs, err := eiotest.ParseHandshake(packets[0])
	if err != nil {
		return nil, err
	}
	if cl.LaterEndpoint != "" {
		c.URL = cl.LaterEndpoint
	}
	sess := &eiotest.Polling{Client: c, Handshake: hs, Extra: packets[1:]}
	defer func() { _ = sess.Send(context.WithoutCancel(ctx), eiotest.Control(eiotest.Close, "")) }()

	if cl.BeforeConnect != nil {
		cl.BeforeConnect()
	}
	prefix := ""
	if cl.Nsp != "" && cl.Nsp != "/" {
		prefix = cl.Nsp + ","
	}
	connect := "0" + prefix
	if cl.Auth != nil {
		b, err := json.Marshal(cl.Auth)
		if err != nil {
			return nil, err
		}
		connect += string(b)
	}
	if err := sess.Send(ctx, eiotest.Text(connect)); err != nil {
		return nil, err
	}
	msgs, err := sess.PollMessages(ctx, 1)
	if err != nil {
		return nil, err
	}
	reply := string(msgs[0].Data)
	switch {
	case strings.HasPrefix(reply, "0"+prefix):
	case strings.HasPrefix(reply, "4"+prefix):
		var ce struct {
			Message string `json:"message"`
			Data    any    `json:"data"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(reply, "4"+prefix)), &ce); err != nil {
			return nil, fmt.Errorf("connect_error %q: %w", reply, err)
		}
		return nil, &ConnectError{Message: ce.Message, Data: ce.Data}
	default:
		return nil, fmt.Errorf("unexpected answer to CONNECT: %q", reply)
	}
	if err := sess.Send(ctx, eiotest.Text("2"+prefix+`1["whoami"]`)); err != nil {
		return nil, err
	}
	msgs, err = sess.PollMessages(ctx, 1)
	if err != nil {
		return nil, err
	}
	reply = string(msgs[0].Data)
	ack, ok := strings.CutPrefix(reply, "3"+prefix+"1")
	if !ok {
		return nil, fmt.Errorf("unexpected answer to whoami: %q", reply)
	}
	var args []map[string]any
	if err := json.Unmarshal([]byte(ack), &args); err != nil {
		return nil, fmt.Errorf("whoami acknowledgement %q: %w", ack, err)
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("whoami acknowledgement %q: want one argument", ack)
	}
	return args[0], nil
}
