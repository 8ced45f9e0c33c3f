package main

import (
	"io"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/e347a4c2/socketio/internal/browsertest"
)

// TestBrowser drives the chat, served by gin, in headless Chromium; alice
// signs in through the app's login first, and the page shows it.
func TestBrowser(t *testing.T) {
	browsertest.Require(t)
	gin.SetMode(gin.ReleaseMode)
	gin.DefaultWriter = discard // gin's request log would interleave with the test's output
	handler, io := newApp()
	ts := browsertest.Serve(t, handler, io)
	browsertest.Chat(t, ts.URL, browsertest.ChatOptions{Name: "gin", LoginVia: "gin-contrib/sessions"})
}

var discard = io.Discard
