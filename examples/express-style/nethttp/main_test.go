package main

import (
	"strings"
	"testing"

	"github.com/e347a4c2/socketio/internal/browsertest"
)

func TestExample(t *testing.T) {
	h, io := newApp()
	ts := browsertest.Serve(t, h, io)
	got := strings.TrimSpace(browsertest.Example(t, ts.URL, "nethttp"))
	want := `{"clients":[1],"ping":"acknowledged","/healthz":[200,"ok\n"],"/api/clients":[200,"{\"clients\":1}\n"],` +
		`"/":[200,"<!doctype html>\n<html lang=\"en\"><head><m"]}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
