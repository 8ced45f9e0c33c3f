package redisadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/parser"
)

// requestType is the type of a request between nodes, and of some
// responses (the Node adapter's RequestType).
type requestType int

const (
	typeSockets              requestType = 0
	typeAllRooms             requestType = 1
	typeRemoteJoin           requestType = 2
	typeRemoteLeave          requestType = 3
	typeRemoteDisconnect     requestType = 4
	typeRemoteFetch          requestType = 5
	typeServerSideEmit       requestType = 6
	typeBroadcast            requestType = 7
	typeBroadcastClientCount requestType = 8
	typeBroadcastAck         requestType = 9
)

// eventPacketType is the socket.io-parser type of the packets that cross
// the cluster (EVENT; Node keeps it for binary events too).
const eventPacketType = 2

var encoderPool = sync.Pool{New: func() any {
	b := new(bytes.Buffer)
	return &pooledEncoder{buf: b, enc: msgpack.NewEncoder(b)}
}}

type pooledEncoder struct {
	buf *bytes.Buffer
	enc *msgpack.Encoder
}

// encodeMsgpack encodes v (see writeValue).
func encodeMsgpack(v any) ([]byte, error) {
	return withEncoder(func(enc *msgpack.Encoder) error { return writeValue(enc, v, 0) })
}

func withEncoder(f func(*msgpack.Encoder) error) ([]byte, error) {
	pe := encoderPool.Get().(*pooledEncoder)
	pe.buf.Reset()
	err := f(pe.enc)
	var out []byte
	if err == nil {
		out = bytes.Clone(pe.buf.Bytes())
	}
	if pe.buf.Cap() <= 64<<10 {
		encoderPool.Put(pe)
	}
	return out, err
}

// encodeMessage encodes a request or a response as the Node adapter does:
// JSON, except where it uses msgpack (forceMsgpack). A message that holds
// binary is msgpack too, which JSON would turn into base64 strings; the
// Node adapter decodes either (JSON is recognized by its first byte, "{").
func encodeMessage(m map[string]any, forceMsgpack bool) ([]byte, error) {
	if !forceMsgpack && !hasBinary(m, 0) {
		return marshalJSON(m)
	}
	return encodeMsgpack(m)
}

// decodeMessage decodes a request or response: JSON when it starts with
// "{", msgpack otherwise. It must be a map.
func decodeMessage(b []byte) (map[string]any, error) {
	var v any
	var err error
	if len(b) > 0 && b[0] == '{' {
		v, err = decodeJSON(b)
	} else {
		v, err = decodeMsgpack(b)
	}
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("redisadapter: message is a %T, not a map", v)
	}
	return m, nil
}

// encodeBroadcast encodes the message of a broadcast, [uid, packet, opts],
// in msgpack.
func encodeBroadcast(uid string, p *parser.Packet, opts *adapter.BroadcastOptions) ([]byte, error) {
	return withEncoder(func(enc *msgpack.Encoder) error {
		if err := enc.EncodeArrayLen(3); err != nil {
			return err
		}
		if err := enc.EncodeString(uid); err != nil {
			return err
		}
		if err := writePacket(enc, p); err != nil {
			return err
		}
		return writeValue(enc, wireOptions(opts, true), 0)
	})
}

// writePacket writes {type, data, nsp}: the packet before socket.io
// encoding, binary inline.
func writePacket(enc *msgpack.Encoder, p *parser.Packet) error {
	if err := enc.EncodeMapLen(3); err != nil {
		return err
	}
	if err := enc.EncodeString("type"); err != nil {
		return err
	}
	if err := enc.EncodeInt(eventPacketType); err != nil {
		return err
	}
	if err := enc.EncodeString("data"); err != nil {
		return err
	}
	data := p.Data
	if data == nil && p.Payload != nil {
		data = p.Payload
	}
	if err := writeValue(enc, data, 1); err != nil {
		return err
	}
	if err := enc.EncodeString("nsp"); err != nil {
		return err
	}
	return enc.EncodeString(namespaceName(p.Namespace))
}

func namespaceName(n string) string {
	if n == "" {
		return "/"
	}
	return n
}

// wireOptions returns opts as the Node adapter sends them: {rooms, except}
// and, with flags, {flags: {volatile, compress, local, timeout}} (set flags
// only; the timeout in milliseconds).
func wireOptions(opts *adapter.BroadcastOptions, flags bool) map[string]any {
	m := map[string]any{"rooms": roomStrings(nil), "except": roomStrings(nil)}
	if opts == nil {
		if flags {
			m["flags"] = map[string]any{}
		}
		return m
	}
	m["rooms"] = roomStrings(opts.Rooms)
	m["except"] = roomStrings(dedupe(opts.Except))
	if flags {
		f := map[string]any{}
		if opts.Flags.Volatile {
			f["volatile"] = true
		}
		if opts.Flags.Compress {
			f["compress"] = true
		}
		if opts.Flags.Local {
			f["local"] = true
		}
		if opts.Flags.Timeout > 0 {
			f["timeout"] = opts.Flags.Timeout.Milliseconds()
		}
		m["flags"] = f
	}
	return m
}

func dedupe(rooms []adapter.Room) []adapter.Room {
	if len(rooms) < 2 {
		return rooms
	}
	out := make([]adapter.Room, 0, len(rooms))
	for _, r := range rooms {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func roomStrings(rooms []adapter.Room) []string {
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = string(r)
	}
	return out
}

// readOptions reads {rooms, except, flags} sent by another node.
func readOptions(v any) *adapter.BroadcastOptions {
	opts := &adapter.BroadcastOptions{}
	m, _ := v.(map[string]any)
	if m == nil {
		return opts
	}
	opts.Rooms = readRooms(m["rooms"])
	opts.Except = readRooms(m["except"])
	if f, ok := m["flags"].(map[string]any); ok {
		opts.Flags.Volatile = f["volatile"] == true
		opts.Flags.Compress = f["compress"] == true
		if ms, ok := readInt(f["timeout"]); ok && ms > 0 {
			opts.Flags.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	return opts
}

// readRooms reads a list of rooms; a JavaScript room may be a number.
func readRooms(v any) []adapter.Room {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil
	}
	rooms := make([]adapter.Room, 0, len(list))
	for _, x := range list {
		switch x := x.(type) {
		case string:
			rooms = append(rooms, adapter.Room(x))
		case json.Number:
			rooms = append(rooms, adapter.Room(x))
		}
	}
	return rooms
}

func readStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, string(x))
		}
	}
	return out
}

func readInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil {
		return 0, false
	}
	return int64(f), true
}

func readString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return ""
}

// broadcastMessage is a decoded broadcast.
type broadcastMessage struct {
	uid  string
	nsp  string
	data []any
	opts *adapter.BroadcastOptions
}

func decodeBroadcast(b []byte) (*broadcastMessage, error) {
	v, err := decodeMsgpack(b)
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok || len(list) < 3 {
		return nil, errors.New("redisadapter: broadcast is not [uid, packet, opts]")
	}
	packet, ok := list[1].(map[string]any)
	if !ok {
		return nil, errors.New("redisadapter: broadcast without a packet")
	}
	m := &broadcastMessage{uid: readString(list[0]), nsp: "/", opts: readOptions(list[2])}
	if nsp, ok := packet["nsp"].(string); ok {
		m.nsp = nsp
	}
	if m.data, ok = packet["data"].([]any); !ok || len(m.data) == 0 {
		return nil, errors.New("redisadapter: broadcast packet without data")
	}
	return m, nil
}

// readPacketData returns the data of a request's packet {type, data, nsp}.
func readPacketData(v any) ([]any, string, bool) {
	packet, ok := v.(map[string]any)
	if !ok {
		return nil, "", false
	}
	data, ok := packet["data"].([]any)
	if !ok || len(data) == 0 {
		return nil, "", false
	}
	nsp, ok := packet["nsp"].(string)
	if !ok {
		nsp = "/"
	}
	return data, nsp, true
}

// Handshakes cross the cluster in the shape of Node's socket.handshake.

// jsDateLayout is Date.prototype.toString's format, without the zone name.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

// handshakeToWire returns h in the shape of Node's socket.handshake:
// lowercase header names (values joined as Node joins them), time as a
// Date string, issued in milliseconds, query as an object.
func handshakeToWire(h *adapter.Handshake) map[string]any {
	if h == nil {
		return map[string]any{"headers": map[string]any{}, "query": map[string]any{}, "auth": map[string]any{}}
	}
	headers := make(map[string]any, len(h.Headers))
	for k, vs := range h.Headers {
		if len(vs) == 0 {
			continue
		}
		name := strings.ToLower(k)
		switch name {
		case "set-cookie":
			headers[name] = slices.Clone(vs)
		case "cookie":
			headers[name] = strings.Join(vs, "; ")
		default:
			headers[name] = strings.Join(vs, ", ")
		}
	}
	query := make(map[string]any, len(h.Query))
	for k, vs := range h.Query {
		if len(vs) > 0 {
			query[k] = vs[len(vs)-1] // Node keeps the last value
		}
	}
	var auth any = h.Auth
	if h.Auth == nil {
		auth = map[string]any{}
	}
	t := h.Time.UTC()
	return map[string]any{
		"headers": headers,
		"time":    t.Format(jsDateLayout) + " (Coordinated Universal Time)",
		"address": h.Address,
		"xdomain": h.XDomain,
		"secure":  h.Secure,
		"issued":  t.UnixMilli(),
		"url":     h.URL,
		"query":   query,
		"auth":    auth,
	}
}

// handshakeFromWire reads a handshake in Node's shape.
func handshakeFromWire(v any) *adapter.Handshake {
	m, _ := v.(map[string]any)
	h := &adapter.Handshake{Headers: http.Header{}, Query: url.Values{}, Auth: map[string]any{}}
	if m == nil {
		return h
	}
	if headers, ok := m["headers"].(map[string]any); ok {
		for k, v := range headers {
			name := textproto.CanonicalMIMEHeaderKey(k)
			switch v := v.(type) {
			case []any:
				h.Headers[name] = readStrings(v)
			case string:
				h.Headers[name] = []string{v}
			case json.Number:
				h.Headers[name] = []string{string(v)}
			}
		}
	}
	if ms, ok := readInt(m["issued"]); ok {
		h.Time = time.UnixMilli(ms)
	} else if s, ok := m["time"].(string); ok && len(s) >= len(jsDateLayout) {
		if t, err := time.Parse(jsDateLayout, s[:len(jsDateLayout)]); err == nil {
			h.Time = t
		}
	}
	h.Address = readString(m["address"])
	h.XDomain = m["xdomain"] == true
	h.Secure = m["secure"] == true
	h.URL = readString(m["url"])
	if q, ok := m["query"].(map[string]any); ok {
		for k, v := range q {
			if list, ok := v.([]any); ok {
				h.Query[k] = readStrings(list)
			} else {
				h.Query[k] = []string{readString(v)}
			}
		}
	}
	if a, ok := m["auth"].(map[string]any); ok {
		h.Auth = a
	}
	return h
}

// socketToWire describes a local socket for a REMOTE_FETCH response.
func socketToWire(d adapter.SocketDetails) map[string]any {
	rooms := roomStrings(d.Rooms)
	return map[string]any{"id": d.ID, "handshake": handshakeToWire(d.Handshake), "rooms": rooms, "data": d.Data}
}

func socketFromWire(v any) (adapter.SocketDetails, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return adapter.SocketDetails{}, false
	}
	id, ok := m["id"].(string)
	if !ok {
		return adapter.SocketDetails{}, false
	}
	return adapter.SocketDetails{
		ID:        id,
		Handshake: handshakeFromWire(m["handshake"]),
		Rooms:     readRooms(m["rooms"]),
		Data:      m["data"],
	}, true
}

// newID returns 6 random characters, as the Node adapter's uid2(6).
func newID() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	randomBytes(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
