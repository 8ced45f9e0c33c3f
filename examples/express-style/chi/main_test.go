package main

import (
	"testing"

	"github.com/e347a4c2/socketio/internal/browsertest"
)

// TestBrowser drives the chat, served by chi, in headless Chromium; alice
// signs in through the app's login first, and the page shows it.
func TestBrowser(t *testing.T) {
	browsertest.Require(t)
	handler, io := newApp()
	ts := browsertest.Serve(t, handler, io)
	browsertest.Chat(t, ts.URL, browsertest.ChatOptions{Name: "chi", LoginVia: "chi middleware"})
}
