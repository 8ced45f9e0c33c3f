package adaptertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// HandshakeQuery is the query of an Engine.IO long-polling handshake.
const HandshakeQuery = "?EIO=4&transport=polling"

// OpenPrefix starts the answer to a successful long-polling handshake.
const OpenPrefix = `0{"sid":`

// Route is a GET of [CheckRoutes] and the answer it must get.
type Route struct {
	Path   string
	Header http.Header
	Status int
	// Prefix starts the expected body.
	Prefix string
}

// CheckRoutes sends each GET to baseURL+Path, never following a redirect,
// and checks the status and the start of the body. The Engine.IO sessions
// that successful handshakes open are closed at once.
func CheckRoutes(t testing.TB, baseURL string, routes []Route) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("redirected")
	}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range routes {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+r.Path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Header != nil {
			req.Header = r.Header.Clone()
		}
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("GET %s: %v", r.Path, err)
			continue
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != r.Status || !bytes.HasPrefix(body, []byte(r.Prefix)) {
			t.Errorf("GET %s: %d %.80q, want %d %q...", r.Path, res.StatusCode, body, r.Status, r.Prefix)
		}
		if res.StatusCode == http.StatusOK && bytes.HasPrefix(body, []byte(OpenPrefix)) {
			closeSession(ctx, t, client, baseURL+r.Path, r.Header, body)
		}
	}
}

// closeSession sends the close packet to the session that open answered.
func closeSession(ctx context.Context, t testing.TB, client *http.Client, url string, header http.Header, open []byte) {
	t.Helper()
	var hs struct {
		SID string `json:"sid"`
	}
	if i := bytes.IndexByte(open, 0x1e); i >= 0 {
		open = open[:i]
	}
	if err := json.Unmarshal(open[1:], &hs); err != nil {
		t.Errorf("open packet %q: %v", open, err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"&sid="+hs.SID, strings.NewReader("1"))
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header.Clone()
	}
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("closing session %s: %v", hs.SID, err)
		return
	}
	_ = res.Body.Close()
}
