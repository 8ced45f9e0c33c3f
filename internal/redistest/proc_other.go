//go:build !linux

package redistest

import "os/exec"

// setDeathSignal does nothing where Pdeathsig does not exist: the test's
// cleanup stops the server.
func setDeathSignal(*exec.Cmd) {}
