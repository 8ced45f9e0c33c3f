package core

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// verifyNoLeak checks that no goroutine is left beyond baseline (from
// goleak.IgnoreCurrent at the test's start). It waits up to waitTimeout
// for goroutines to end: idle pooled goroutines exit after up to twice
// their reap period, longer than goleak.VerifyNone's own retries on a
// loaded machine.
func verifyNoLeak(t *testing.T, baseline goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		err := goleak.Find(baseline)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
