package eiotest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Client talks to one Engine.IO endpoint.
type Client struct {
	// URL is the endpoint, such as "http://127.0.0.1:8080/engine.io/". The
	// Engine.IO query parameters are appended to it.
	URL string
	// HTTP sends every request, WebSocket handshakes included. [New] gives
	// each Client a transport of its own that does not ask for compressed
	// answers, so tests see exactly what the server sends.
	HTTP *http.Client
	// Header is added to every request (for instance Origin).
	Header http.Header
}

// New returns a client of the endpoint url.
func New(url string) *Client {
	tr := &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
	}
	return &Client{URL: url, HTTP: &http.Client{Transport: tr}, Header: http.Header{}}
}

// Close closes the client's idle connections, so that no goroutine of its
// transport outlives the test.
func (c *Client) Close() { c.HTTP.CloseIdleConnections() }

// url returns the endpoint with query appended.
func (c *Client) url(query string) string {
	u := c.URL
	if query == "" {
		return u
	}
	if strings.Contains(u, "?") {
		return u + "&" + query
	}
	return u + "?" + query
}

// Response is an HTTP answer as the server sent it.
type Response struct {
	Status int
	Header http.Header
	// Body is the body as received: still compressed when the answer has a
	// Content-Encoding (see [Response.Decoded]).
	Body []byte
}

// Decoded returns the body, decompressed according to Content-Encoding
// (gzip or deflate).
func (r *Response) Decoded() ([]byte, error) {
	switch r.Header.Get("Content-Encoding") {
	case "":
		return r.Body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(r.Body))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "deflate":
		return io.ReadAll(flate.NewReader(bytes.NewReader(r.Body)))
	default:
		return nil, fmt.Errorf("eiotest: unknown Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
}

// RequestError is the JSON body of an Engine.IO error answer.
type RequestError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error decodes the body of an Engine.IO error answer,
// {"code":N,"message":"..."}; it fails when the body is not exactly that.
func (r *Response) Error() (*RequestError, error) {
	var e RequestError
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("eiotest: status %d, body %q is not an Engine.IO error: %w", r.Status, r.Body, err)
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(r.Body, &keys) != nil || len(keys) != 2 || keys["code"] == nil || keys["message"] == nil {
		return nil, fmt.Errorf("eiotest: body %q does not have exactly the keys code and message", r.Body)
	}
	return &e, nil
}

// Do sends one request to the endpoint with query appended
// ("EIO=4&transport=polling") and returns the answer unchecked. header
// adds to [Client.Header]; body may be nil.
func (c *Client) Do(ctx context.Context, method, query string, header http.Header, body io.Reader) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(query), body)
	if err != nil {
		return nil, err
	}
	for k, v := range c.Header {
		req.Header[k] = slices.Clone(v)
	}
	for k, v := range header {
		req.Header[k] = slices.Clone(v)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// Handshake is the payload of an open packet.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
	// Keys lists the keys of the JSON object, sorted.
	Keys []string `json:"-"`
}

// ParseHandshake decodes an open packet.
func ParseHandshake(p Packet) (*Handshake, error) {
	if p.Type != Open || p.Binary {
		return nil, fmt.Errorf("eiotest: want an open packet, got %q", p.String())
	}
	var h Handshake
	if err := json.Unmarshal(p.Data, &h); err != nil {
		return nil, fmt.Errorf("eiotest: open packet %q: %w", p.Data, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(p.Data, &keys); err != nil {
		return nil, err
	}
	for k := range keys {
		h.Keys = append(h.Keys, k)
	}
	slices.Sort(h.Keys)
	return &h, nil
}

// Polling is a session opened by a long-polling handshake.
type Polling struct {
	Client    *Client
	Handshake *Handshake
	// Extra holds the packets the handshake answer carried after the open
	// packet.
	Extra []Packet
}

// HandshakeQuery is the query of a long-polling handshake.
const HandshakeQuery = "EIO=4&transport=polling"

// Handshake opens a long-polling session.
func (c *Client) Handshake(ctx context.Context) (*Polling, error) {
	res, err := c.Do(ctx, http.MethodGet, HandshakeQuery, nil, nil)
	if err != nil {
		return nil, err
	}
	packets, err := payload(res)
	if err != nil {
		return nil, err
	}
	h, err := ParseHandshake(packets[0])
	if err != nil {
		return nil, err
	}
	return &Polling{Client: c, Handshake: h, Extra: packets[1:]}, nil
}

// payload decodes the payload of a successful polling answer.
func payload(res *Response) ([]Packet, error) {
	if res.Status != http.StatusOK {
		return nil, fmt.Errorf("eiotest: status %d, body %q", res.Status, res.Body)
	}
	body, err := res.Decoded()
	if err != nil {
		return nil, err
	}
	return DecodePayload(body)
}

// SID returns the session ID.
func (s *Polling) SID() string { return s.Handshake.SID }

// Query returns the query of the session's polling requests.
func (s *Polling) Query() string { return HandshakeQuery + "&sid=" + s.Handshake.SID }

// PollRaw sends a long-polling GET and returns the answer unchecked.
func (s *Polling) PollRaw(ctx context.Context) (*Response, error) {
	return s.Client.Do(ctx, http.MethodGet, s.Query(), nil, nil)
}

// Poll sends a long-polling GET and decodes the payload it answers; a
// status other than 200 is an error.
func (s *Polling) Poll(ctx context.Context) ([]Packet, error) {
	res, err := s.PollRaw(ctx)
	if err != nil {
		return nil, err
	}
	return payload(res)
}

// PollMessages polls until it has n message packets, answering pings with
// pongs and skipping noops; any other packet is an error.
func (s *Polling) PollMessages(ctx context.Context, n int) ([]Packet, error) {
	var msgs []Packet
	for len(msgs) < n {
		packets, err := s.Poll(ctx)
		if err != nil {
			return msgs, err
		}
		for _, p := range packets {
			switch p.Type {
			case Message:
				msgs = append(msgs, p)
			case Ping:
				if err := s.Send(ctx, Control(Pong, string(p.Data))); err != nil {
					return msgs, err
				}
			case Noop:
			default:
				return msgs, fmt.Errorf("%w: %q", ErrUnexpectedPacket, p.String())
			}
		}
	}
	return msgs, nil
}

// PostRaw sends body by POST and returns the answer unchecked.
func (s *Polling) PostRaw(ctx context.Context, header http.Header, body io.Reader) (*Response, error) {
	return s.Client.Do(ctx, http.MethodPost, s.Query(), header, body)
}

// Send sends packets in one POST; an answer other than 200 "ok" is an
// error.
func (s *Polling) Send(ctx context.Context, packets ...Packet) error {
	res, err := s.PostRaw(ctx, nil, bytes.NewReader(EncodePayload(packets...)))
	if err != nil {
		return err
	}
	if res.Status != http.StatusOK || string(res.Body) != "ok" {
		return fmt.Errorf("eiotest: POST answered %d %q", res.Status, res.Body)
	}
	return nil
}

// Probe opens a WebSocket for the session and sends the probe ("2probe"),
// and checks that the server answers "3probe". The upgrade is not complete
// until [WS.Write] sends the upgrade packet (or use [Polling.Upgrade]).
func (s *Polling) Probe(ctx context.Context) (*WS, error) {
	ws, _, err := s.Client.DialWebSocket(ctx, "EIO=4&transport=websocket&sid="+s.Handshake.SID, nil)
	if err != nil {
		return nil, err
	}
	if err := ws.Write(ctx, Control(Ping, "probe")); err != nil {
		_ = ws.Close()
		return nil, err
	}
	p, err := ws.Read(ctx)
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	if p.Type != Pong || string(p.Data) != "probe" {
		_ = ws.Close()
		return nil, fmt.Errorf("eiotest: probe answered %q", p.String())
	}
	return ws, nil
}

// Upgrade moves the session to a WebSocket: probe, then the upgrade
// packet. Like a real client, it should be called while no GET is
// pending, or while one is pending in another goroutine (which the server
// then answers with a noop).
func (s *Polling) Upgrade(ctx context.Context) (*WS, error) {
	ws, err := s.Probe(ctx)
	if err != nil {
		return nil, err
	}
	if err := ws.Write(ctx, Control(Upgrade, "")); err != nil {
		_ = ws.Close()
		return nil, err
	}
	return ws, nil
}

// ErrUnexpectedPacket is returned by helpers that met a packet they did not
// expect.
var ErrUnexpectedPacket = errors.New("eiotest: unexpected packet")
