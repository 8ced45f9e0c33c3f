// Package nodetest runs the Node.js scripts of test/node from Go tests, so
// that the official JavaScript Socket.IO clients (and servers) can be driven
// against the Go server.
//
// A script is run as `node test/node/<script> args...` with test/node as its
// working directory. By convention a script prints one JSON object per line
// on stdout (see [RunJSON]), writes its diagnostics on stderr, and signals
// failure with a non-zero exit code and a message on stderr.
//
// Node and the npm packages of test/node (`make node-deps`) must be present;
// otherwise tests are skipped, or fail when the environment variable
// SOCKETIO_REQUIRE_NODE is 1 (as `make test` and CI set it). The node
// process and every process it started are killed when the script's context
// ends, so no stray process survives a test.
package nodetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireEnv is the environment variable that, set to "1", turns the skip of
// [Require] into a test failure.
const RequireEnv = "SOCKETIO_REQUIRE_NODE"

// DefaultTimeout bounds a script run whose context has no deadline.
const DefaultTimeout = 60 * time.Second

// stderrTail is how much of a failed script's stderr is shown.
const stderrTail = 4 << 10

// Dir returns the absolute path of test/node, found by walking up from the
// working directory to the module root (the directory holding go.mod).
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "test", "node")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("nodetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Require skips the test when node is not on PATH or the npm packages of
// test/node are not installed, or fails it instead when SOCKETIO_REQUIRE_NODE
// is 1. [Run] and [RunJSON] call it themselves.
func Require(t testing.TB) {
	t.Helper()
	var missing string
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(Dir(t), "node_modules")); err != nil {
		missing = "test/node/node_modules is missing (run `make node-deps`)"
	}
	if missing == "" {
		trackScripts.Do(func() { statScripts(Dir(t)) })
		return
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("nodetest: %s, and %s=1", missing, RequireEnv)
	}
	t.Skipf("nodetest: %s; skipping (set %s=1 to fail instead)", missing, RequireEnv)
}

var trackScripts sync.Once

// statScripts stats the files of test/node (node_modules aside, but its
// .package-lock.json included). The go command records the files a test
// stats, so that a changed script invalidates cached test results even
// though only node reads it.
func statScripts(dir string) {
	_, _ = os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() {
			_, _ = os.Stat(path)
		}
		return nil
	})
}

// Run runs `node test/node/<script> args...` and returns its stdout. env is
// added to the environment of the test process. The run is bounded by ctx,
// or by [DefaultTimeout] when ctx has no deadline. When the script exits
// non-zero or times out, the test fails with the tail of the script's stderr;
// on success the stderr, if any, goes to the test log.
func Run(t testing.TB, ctx context.Context, script string, env map[string]string, args ...string) string {
	t.Helper()
	Require(t)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	dir := Dir(t)
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The script runs in a process group of its own, killed whole when ctx ends
	// and again after the script exits, so that no child it started survives.
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	err := cmd.Run()
	killProcessGroup(cmd)
	if err == nil {
		if stderr.Len() > 0 {
			t.Logf("nodetest: %s stderr:\n%s", script, tail(stderr.Bytes()))
		}
		return stdout.String()
	}
	what := err.Error()
	if ctx.Err() != nil {
		what = fmt.Sprintf("killed after %v: %v", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
	} else if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		what = fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	t.Fatalf("nodetest: node %s %s: %s\nstderr (tail):\n%s", script, strings.Join(args, " "), what, tail(stderr.Bytes()))
	return ""
}

// RunJSON runs the script like [Run] and decodes its stdout, one JSON object
// per line (see [DecodeLines]).
func RunJSON(t testing.TB, ctx context.Context, script string, env map[string]string, args ...string) []map[string]any {
	t.Helper()
	return DecodeLines[map[string]any](t, Run(t, ctx, script, env, args...))
}

// DecodeLines decodes output holding one JSON value per line into values of
// type T, skipping empty lines. A line that does not decode fails the test.
func DecodeLines[T any](t testing.TB, output string) []T {
	t.Helper()
	var out []T
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("nodetest: stdout line %d is not JSON (%v): %.200s", n, err, line)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("nodetest: reading stdout: %v", err)
	}
	return out
}

func tail(b []byte) string {
	if len(b) > stderrTail {
		b = b[len(b)-stderrTail:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
		b = append([]byte("[...]\n"), b...)
	}
	return string(b)
}
