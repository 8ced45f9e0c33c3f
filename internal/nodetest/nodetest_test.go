package nodetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	out := Run(t, t.Context(), "selftest.mjs", nil, "a", "b c")
	if want := `{"ok":true,"args":["a","b c"]}` + "\n"; out != want {
		t.Fatalf("stdout = %q, want %q", out, want)
	}
}

func TestRunJSON(t *testing.T) {
	lines := RunJSON(t, t.Context(), "selftest.mjs", map[string]string{"UNUSED": "x"}, "x")
	want := []map[string]any{{"ok": true, "args": []any{"x"}}}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("RunJSON = %v, want %v", lines, want)
	}
}

func TestDecodeLines(t *testing.T) {
	type line struct{ N int }
	got := DecodeLines[line](t, "{\"N\":1}\n\n  {\"N\":2}  \n")
	if want := []line{{1}, {2}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeLines = %v, want %v", got, want)
	}
	ft := runFailing(t, func(tb testing.TB) { DecodeLines[line](tb, "{\"N\":1}\nnot json\n") })
	if !strings.Contains(ft.msg, "line 2 is not JSON") {
		t.Fatalf("failure message = %q", ft.msg)
	}
}

func TestRunFailure(t *testing.T) {
	Require(t)
	ft := runFailing(t, func(tb testing.TB) {
		Run(tb, t.Context(), "selftest.mjs", map[string]string{"SELFTEST_FAIL": "1"})
	})
	for _, want := range []string{"exit status 1", "failing as asked by SELFTEST_FAIL"} {
		if !strings.Contains(ft.msg, want) {
			t.Errorf("failure message %q lacks %q", ft.msg, want)
		}
	}
}

func TestRunCancelKillsProcessGroup(t *testing.T) {
	Require(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	go func() { // cancel once the script has started its child
		for ctx.Err() == nil {
			if b, _ := os.ReadFile(pidFile); len(b) > 0 {
				cancel()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	ft := runFailing(t, func(tb testing.TB) {
		Run(tb, ctx, "selftest.mjs", map[string]string{"SELFTEST_HANG_PIDFILE": pidFile})
	})
	for _, want := range []string{"killed after", "context canceled", "hanging with child"} {
		if !strings.Contains(ft.msg, want) {
			t.Errorf("failure message %q lacks %q", ft.msg, want)
		}
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("child node process %d survived the cancellation", pid)
		}
	}
}

// alive reports whether pid is a running process (a zombie waiting for its
// reaper counts as dead).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(string(stat[i+1:]), " Z")
}

// fakeT records a fatal failure instead of failing the real test.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runFailing runs fn with a fake testing.TB in a goroutine of its own and
// checks that fn failed it.
func runFailing(t *testing.T, fn func(testing.TB)) *fakeT {
	t.Helper()
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ft)
	}()
	<-done
	if ft.msg == "" {
		t.Fatal("the test was not failed")
	}
	return ft
}
