package main

import (
	"slices"
	"testing"

	"github.com/e347a4c2/socketio/internal/browsertest"
)

// TestBrowser drives the chat in headless Chromium.
func TestBrowser(t *testing.T) {
	browsertest.Require(t)
	handler, io := newApp()
	ts := browsertest.Serve(t, handler, io)
	r := browsertest.Chat(t, ts.URL, browsertest.ChatOptions{Name: "nethttp"})
	// Served by the Go server from the npm package, not from the CDN.
	if !slices.Contains(r.Client, "/socket.io/socket.io.min.js") {
		t.Errorf("the page loads the client from %v", r.Client)
	}
}
