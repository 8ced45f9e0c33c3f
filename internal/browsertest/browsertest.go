// Package browsertest runs the end-to-end browser tests of the examples:
// Node scripts of test/node/browser that drive Debian's Chromium headless
// with playwright-core.
//
// Chromium (/usr/bin/chromium, or $CHROMIUM), Node and the npm packages of
// test/node must be present; otherwise the tests are skipped, or fail when
// SOCKETIO_REQUIRE_NODE is 1 (see internal/nodetest). Screenshots are kept
// in test/artifacts (ignored by git).
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/nodetest"
)

// Chromium returns the path of the browser: $CHROMIUM, or
// /usr/bin/chromium.
func Chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// Require skips the test when Node, the npm packages of test/node or
// Chromium are missing, or fails it instead when SOCKETIO_REQUIRE_NODE is
// 1.
func Require(t testing.TB) {
	t.Helper()
	nodetest.Require(t)
	if _, err := os.Stat(Chromium()); err == nil {
		return
	}
	if os.Getenv(nodetest.RequireEnv) == "1" {
		t.Fatalf("browsertest: %s is missing (apt-get install chromium), and %s=1", Chromium(), nodetest.RequireEnv)
	}
	t.Skipf("browsertest: %s is missing (apt-get install chromium); skipping (set %s=1 to fail instead)",
		Chromium(), nodetest.RequireEnv)
}

// ArtifactsDir returns test/artifacts, created if needed.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(nodetest.Dir(t)), "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return dir
}

// ChatOptions configures [Chat].
type ChatOptions struct {
	// Name names the screenshot: test/artifacts/chat-<Name>.png.
	Name string
	// LoginVia, if set, makes alice sign in through the app's /login form
	// first; the page must then show "Signed in as alice (<LoginVia>)".
	LoginVia string
}

// ChatResult is what test/node/browser/chat.mjs reports.
type ChatResult struct {
	OK      bool     `json:"ok"`
	Browser string   `json:"browser"`
	Client  []string `json:"client"` // the page's script URLs
	Whoami  string   `json:"whoami"`
	Alice   []string `json:"alice"` // alice's chat log at the end
	// Screenshot is the path of the PNG of alice's chat page.
	Screenshot string `json:"-"`
}

// Chat drives the chat page served at baseURL (such as
// "http://127.0.0.1:1234") with two browser pages: alice and bob log in,
// exchange messages, see the typing indicator and its end, and alice sees
// bob leave. It fails the test if any of it does not happen.
func Chat(t testing.TB, baseURL string, o ChatOptions) ChatResult {
	t.Helper()
	Require(t)
	shot := filepath.Join(ArtifactsDir(t), "chat-"+o.Name+".png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := nodetest.Run(t, ctx, "browser/chat.mjs", map[string]string{
		"BASE_URL":   baseURL,
		"SCREENSHOT": shot,
		"LOGIN_VIA":  o.LoginVia,
		"CHROMIUM":   Chromium(),
	})
	results := nodetest.DecodeLines[ChatResult](t, out)
	if len(results) != 1 || !results[0].OK {
		t.Fatalf("browsertest: chat.mjs reported %q", out)
	}
	r := results[0]
	r.Screenshot = shot
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Errorf("browsertest: no screenshot at %s: %v", shot, err)
	}
	t.Logf("browsertest: %s; screenshot of the chat page: %s", r.Browser, shot)
	t.Logf("browsertest: alice's chat log: %s", strings.Join(r.Alice, " | "))
	return r
}
