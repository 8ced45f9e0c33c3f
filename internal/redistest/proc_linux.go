//go:build linux

package redistest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills redis-server when the test process dies first.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
