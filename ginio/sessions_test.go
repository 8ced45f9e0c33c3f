package ginio

import (
	"testing"

	"github.com/gin-gonic/gin"
)

type fakeSession struct{ loads int }

func (s *fakeSession) ID() string  { s.loads++; return "id" }
func (s *fakeSession) Get(any) any { return nil }
func (s *fakeSession) Save() error { return nil }
func (s *fakeSession) Options(any) {}
func (s *fakeSession) Unrelated()  {}

// TestLoadSessions checks that the sessions of gin-contrib/sessions
// (Sessions and SessionsMany) are loaded while the handshake is served.
func TestLoadSessions(t *testing.T) {
	one, a, b := &fakeSession{}, &fakeSession{}, &fakeSession{}
	for _, v := range []any{one, map[string]*fakeSession{"a": a, "b": b}, "not a session", nil} {
		c := &gin.Context{}
		c.Set(sessionsKey, v)
		loadSessions(c)
	}
	loadSessions(&gin.Context{})
	if one.loads != 1 || a.loads != 1 || b.loads != 1 {
		t.Errorf("loads: %d %d %d, want 1 each", one.loads, a.loads, b.loads)
	}
}
