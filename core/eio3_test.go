package core

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

// rawV2 is a 2.x client written by hand over protocol 3 polling with
// base64 payloads: what it sends and receives are Socket.IO protocol 4
// packets.
type rawV2 struct {
	t     *testing.T
	e     *env
	c     *eiotest.Client
	query string
	got   []string // packets received, not yet taken
}

func dialV2(t *testing.T, e *env) *rawV2 {
	t.Helper()
	c := eiotest.New(e.url + "/socket.io/")
	t.Cleanup(c.Close)
	r := &rawV2{t: t, e: e, c: c, query: "EIO=3&transport=polling&b64=1"}
	first := r.get()
	if len(first) == 0 || !strings.HasPrefix(first[0], `0{"sid":"`) {
		t.Fatalf("handshake payload %q", first)
	}
	sid, _, _ := strings.Cut(strings.TrimPrefix(first[0], `0{"sid":"`), `"`)
	r.query += "&sid=" + sid
	r.got = first[1:]
	return r
}

// get polls once and returns the packets of the answer.
func (r *rawV2) get() []string {
	r.t.Helper()
	res, err := r.c.Do(r.t.Context(), http.MethodGet, r.query, nil, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		r.t.Fatalf("poll: %d %q", res.Status, res.Body)
	}
	var packets []string
	body := string(res.Body) // ASCII in these tests: UTF-16 units are bytes
	for body != "" {
		n, rest, ok := strings.Cut(body, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size > len(rest) {
			r.t.Fatalf("malformed payload %q", res.Body)
		}
		packets = append(packets, rest[:size])
		body = rest[size:]
	}
	return packets
}

// next returns the next Socket.IO packet the server sent (without the
// Engine.IO message type), polling as needed; pongs and noops are skipped.
func (r *rawV2) next() string {
	r.t.Helper()
	for {
		for len(r.got) > 0 {
			p := r.got[0]
			r.got = r.got[1:]
			if rest, ok := strings.CutPrefix(p, "4"); ok {
				return rest
			}
		}
		r.got = r.get()
	}
}

// send posts Socket.IO packets.
func (r *rawV2) send(packets ...string) {
	r.t.Helper()
	var b bytes.Buffer
	for _, p := range packets {
		b.WriteString(strconv.Itoa(1+len(p)) + ":4" + p)
	}
	res, err := r.c.Do(r.t.Context(), http.MethodPost, r.query, nil, &b)
	if err != nil {
		r.t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		r.t.Fatalf("POST: %d %q", res.Status, res.Body)
	}
}

// TestEIO3Connect checks the Socket.IO protocol 4 semantics of 2.x clients
// over the wire: "/" is joined without a CONNECT (and its CONNECT carries
// no sid), other namespaces take their auth from the query of their
// CONNECT, and CONNECT_ERROR carries the error's data or its message.
func TestEIO3Connect(t *testing.T) {
	e := newEnv(t, WithAllowEIO3(true))
	auths := make(chan map[string]any, 8)
	e.io.Use(func(s *Socket) error {
		auths <- maps.Clone(s.Handshake().Auth)
		return nil
	})
	admin := e.io.Of("/admin")
	admin.Use(func(s *Socket) error {
		auths <- maps.Clone(s.Handshake().Auth)
		if s.Handshake().Auth["token"] != "a b" {
			return &ConnectError{Message: "not authorized", Data: map[string]any{"code": 401}}
		}
		return nil
	})
	admin.OnConnection(func(s *Socket) {
		s.On("whoami", func(ev *Event) { _ = ev.Ack(s.Handshake().Auth["token"]) })
	})
	e.io.Of("/plain").Use(func(*Socket) error { return errors.New("plain refusal") })

	c := dialV2(t, e)
	if p := c.next(); p != "0" {
		t.Fatalf("first packet %q, want the CONNECT of \"/\" without payload (0)", p)
	}
	if a := <-auths; len(a) != 0 {
		t.Fatalf("auth of \"/\": %v, want empty", a)
	}
	if n := len(e.io.Sockets()); n != 1 {
		t.Fatalf("%d sockets, want 1", n)
	}

	c.send("0/admin?token=wrong,")
	<-auths
	if p := c.next(); p != `4/admin,{"code":401}` {
		t.Fatalf("refusal %q, want the ConnectError's data", p)
	}
	c.send("0/admin?token=a%20b&x=1&x=2,")
	if a := <-auths; len(a) != 2 || a["token"] != "a b" || a["x"] != "2" {
		t.Fatalf("auth of /admin: %v", a)
	}
	if p := c.next(); p != "0/admin," {
		t.Fatalf("CONNECT answer %q, want 0/admin,", p)
	}
	c.send(`2/admin,7["whoami"]`)
	if p := c.next(); p != `3/admin,7["a b"]` {
		t.Fatalf("ack %q", p)
	}
	c.send("0/plain,")
	if p := c.next(); p != `4/plain,"plain refusal"` {
		t.Fatalf("refusal %q, want the message as a string", p)
	}
	c.send("0/nope,")
	if p := c.next(); p != `4/nope,{"message":"Invalid namespace"}` {
		t.Fatalf("refusal %q", p)
	}
}

// TestEIO3RootRefused checks that a 2.x client refused by the middleware
// of "/" gets the CONNECT_ERROR its implicit connection calls for.
func TestEIO3RootRefused(t *testing.T) {
	e := newEnv(t, WithAllowEIO3(true))
	e.io.Use(func(*Socket) error { return &ConnectError{Message: "go away"} })
	c := dialV2(t, e)
	if p := c.next(); p != `4"go away"` {
		t.Fatalf("first packet %q, want the refusal", p)
	}
	if n := len(e.io.Sockets()); n != 0 {
		t.Fatalf("%d sockets", n)
	}
}

func TestNamespaceQuery(t *testing.T) {
	for _, tc := range []struct {
		in, name string
		auth     map[string]any
	}{
		{"/", "/", map[string]any{}},
		{"/a?", "/a", map[string]any{}},
		{"/a?k=v&e=&f&x=1&x=2", "/a", map[string]any{"k": "v", "e": "", "f": "", "x": "2"}},
		{"/a?k=%E2%82%AC+%2C&bad=%zz", "/a", map[string]any{"k": "\u20ac ,"}},
		{"/a#frag?k=v", "/a", map[string]any{}},
		{"/a?k=v#frag", "/a", map[string]any{"k": "v"}},
	} {
		name, auth := namespaceQuery(tc.in)
		if name != tc.name || !maps.Equal(auth, tc.auth) {
			t.Errorf("namespaceQuery(%q) = %q, %v; want %q, %v", tc.in, name, auth, tc.name, tc.auth)
		}
	}
}
