package main

import (
	"strings"
	"testing"

	"github.com/e347a4c2/socketio/internal/browsertest"
)

func TestExample(t *testing.T) {
	io := newServer()
	ts := browsertest.Serve(t, io, io)
	got := strings.TrimSpace(browsertest.Example(t, ts.URL, "standalone"))
	if want := `{"hello":["world"],"sum":6.5}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
