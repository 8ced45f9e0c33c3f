//go:build !unix

package nodetest

import "os/exec"

// setProcessGroup is a no-op where process groups do not exist: cancellation
// kills the node process only.
func setProcessGroup(*exec.Cmd) {}

// killProcessGroup is a no-op where process groups do not exist.
func killProcessGroup(*exec.Cmd) {}
