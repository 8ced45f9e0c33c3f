package main

import (
	"strings"
	"testing"

	"github.com/e347a4c2/socketio/internal/browsertest"
)

func TestExample(t *testing.T) {
	h, io := newApp()
	ts := browsertest.Serve(t, h, io)
	got := strings.TrimSpace(browsertest.Example(t, ts.URL, "namespaces"))
	want := `{"welcomeHeadline":"Welcome to the news","published":1,"headline":"Gophers win",` +
		`"adminNoToken":{"connected":false,"error":"unauthorized","data":{"hint":"auth: {token}"}},` +
		`"admin":{"connected":true},` +
		`"roomNoNick":{"connected":false,"error":"a nickname is required"},` +
		`"invalid":{"connected":false,"error":"Invalid namespace"},` +
		`"welcome":{"members":1,"room":"/room-gophers"},"said":{"from":"ann","text":"hello"},` +
		`"announcement":"maintenance at noon","stats":{"/":0,"/admin":1,"/news":1,"/room-gophers":1}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
