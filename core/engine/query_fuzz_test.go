package engine

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseQuery checks the hand-written query parser of every request
// against net/url: for a query url.ParseQuery accepts, each Engine.IO
// parameter is the first non-empty value url.ParseQuery finds.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"EIO=4&transport=polling",
		"EIO=4&transport=polling&t=PQx1a2b",
		"EIO=4&transport=websocket&sid=Ck-sOfVX7hB1kiUKWUVP",
		"EIO=4&transport=polling&sid=a%2Bb&sid=second",
		"transport=&transport=websocket&EIO=3",
		"EIO=4&EIO=5&transport=polling%20",
		"sid=%zz&EIO=4",
		"a=1&&b&=c&EIO",
		"EIO=3&transport=polling&b64=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := parseQuery(raw) // must not panic, whatever raw is
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for kv := range strings.SplitSeq(raw, "&") {
			if k, _, _ := strings.Cut(kv, "="); strings.ContainsAny(k, "%+") {
				return // keys are matched literally; escaped keys are not Engine.IO's
			}
		}
		for name, got := range map[string]string{"EIO": q.eio, "transport": q.transport, "sid": q.sid, "b64": q.b64} {
			want := ""
			for _, v := range vals[name] {
				if v != "" {
					want = v
					break
				}
			}
			if got != want {
				t.Fatalf("parseQuery(%q): %s = %q, url.ParseQuery gives %q", raw, name, got, want)
			}
		}
	})
}
