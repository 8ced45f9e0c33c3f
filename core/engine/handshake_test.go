package engine

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/eiotest"
)

var sidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)

var openKeys = []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}

func TestHandshakePolling(t *testing.T) {
	h := newHarness(t, &Options{PingInterval: 1234 * time.Millisecond, PingTimeout: 567 * time.Millisecond, MaxHTTPBufferSize: 4321})
	res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("status %d %q", res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	packets, err := eiotest.DecodePayload(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(packets) != 1 {
		t.Fatalf("handshake answer %q, want the open packet alone", res.Body)
	}
	hs, err := eiotest.ParseHandshake(packets[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hs.Keys, openKeys) {
		t.Errorf("open packet keys %v, want %v", hs.Keys, openKeys)
	}
	if !sidPattern.MatchString(hs.SID) {
		t.Errorf("sid %q is not 20 URL-safe characters", hs.SID)
	}
	if !slices.Equal(hs.Upgrades, []string{"websocket"}) || hs.PingInterval != 1234 || hs.PingTimeout != 567 || hs.MaxPayload != 4321 {
		t.Errorf("open packet %s", packets[0].Data)
	}
	r := h.session()
	if r.s.ID() != hs.SID || r.s.Transport() != Polling || r.s.Protocol() != 4 {
		t.Errorf("session %q %s %d", r.s.ID(), r.s.Transport(), r.s.Protocol())
	}
	if got := r.s.Request().URL.RawQuery; got != eiotest.HandshakeQuery {
		t.Errorf("Request().URL.RawQuery = %q", got)
	}
	if err := r.s.Request().Context().Err(); err != nil {
		t.Errorf("handshake request context: %v", err)
	}
	if h.srv.SessionCount() != 1 {
		t.Errorf("SessionCount = %d", h.srv.SessionCount())
	}
}

func TestHandshakeWebSocket(t *testing.T) {
	h := newHarness(t, nil)
	ws, r := h.openWS()
	hs := ws.Handshake
	if !slices.Equal(hs.Keys, openKeys) {
		t.Errorf("open packet keys %v, want %v", hs.Keys, openKeys)
	}
	if hs.Upgrades == nil || len(hs.Upgrades) != 0 {
		t.Errorf("upgrades %#v, want []", hs.Upgrades)
	}
	if !sidPattern.MatchString(hs.SID) || hs.PingInterval != 25000 || hs.PingTimeout != 20000 || hs.MaxPayload != 1e6 {
		t.Errorf("open packet %+v", hs)
	}
	if r.s.ID() != hs.SID || r.s.Transport() != WebSocket {
		t.Errorf("session %q %s", r.s.ID(), r.s.Transport())
	}
}

func TestHandshakeNoUpgrades(t *testing.T) {
	for name, opts := range map[string]*Options{
		"DisableUpgrades": {DisableUpgrades: true},
		"polling only":    {Transports: []Transport{Polling}},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, opts)
			p, _ := h.handshake()
			if p.Handshake.Upgrades == nil || len(p.Handshake.Upgrades) != 0 {
				t.Errorf("upgrades %#v, want []", p.Handshake.Upgrades)
			}
		})
	}
}

func TestSessionIDsUnique(t *testing.T) {
	h := newHarness(t, nil, func(c *harnessConfig) { c.noEcho = true })
	seen := map[string]bool{}
	for range 200 {
		p, _ := h.handshake()
		sid := p.SID()
		if !sidPattern.MatchString(sid) {
			t.Fatalf("sid %q is not 20 URL-safe characters", sid)
		}
		if seen[sid] {
			t.Fatalf("sid %q given twice", sid)
		}
		seen[sid] = true
	}
	if n := h.srv.SessionCount(); n != 200 {
		t.Fatalf("SessionCount = %d", n)
	}
}

func TestIsHandshake(t *testing.T) {
	for q, want := range map[string]bool{
		"EIO=4&transport=polling":          true,
		"EIO=4&transport=websocket":        true,
		"EIO=4&transport=polling&sid=abc":  false,
		"transport=polling":                false,
		"EIO=4&transport=polling&sid=":     true,
		"sid=x&EIO=4":                      false,
		"EIO=%34&transport=polling&t=Ox1y": true,
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://x/engine.io/?"+q, nil)
		if got := IsHandshake(r); got != want {
			t.Errorf("IsHandshake(%q) = %v", q, got)
		}
	}
}

func TestTransportsOption(t *testing.T) {
	t.Run("websocket only", func(t *testing.T) {
		h := newHarness(t, &Options{Transports: []Transport{WebSocket}})
		res, err := h.c.Do(h.ctx, http.MethodGet, eiotest.HandshakeQuery, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, res, http.StatusBadRequest, int(CodeUnknownTransport))
		h.openWS()
	})
	t.Run("polling only", func(t *testing.T) {
		h := newHarness(t, &Options{Transports: []Transport{Polling}})
		if _, err := h.c.OpenWebSocket(h.ctx); err == nil {
			t.Fatal("WebSocket handshake accepted")
		}
		p, _ := h.handshake()
		// No upgrade either.
		if _, _, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket&sid="+p.SID(), nil); err == nil {
			t.Fatal("upgrade accepted")
		}
		if h.srv.SessionCount() != 1 {
			t.Fatal("session lost")
		}
	})
	t.Run("upgrades disabled", func(t *testing.T) {
		h := newHarness(t, &Options{DisableUpgrades: true})
		p, r := h.handshake()
		// The server closes the WebSocket instead of answering the probe.
		ws, _, err := h.c.DialWebSocket(h.ctx, "EIO=4&transport=websocket&sid="+p.SID(), nil)
		if err == nil {
			defer ws.Close()
			_ = ws.Write(h.ctx, eiotest.Control(eiotest.Ping, "probe"))
			if _, err := ws.Read(h.ctx); err == nil {
				t.Fatal("probe answered with upgrades disabled")
			}
		}
		if r.s.Transport() != Polling || h.srv.SessionCount() != 1 {
			t.Fatal("session hurt")
		}
	})
}
