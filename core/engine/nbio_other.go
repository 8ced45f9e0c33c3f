//go:build unix && !linux

package engine

import (
	"errors"
	"syscall"
)

// nbWrite and nbRead are write(2) and read(2) on a non-blocking socket;
// errno is 0 on success.
func nbWrite(fd uintptr, b []byte) (int, syscall.Errno) { return errno(syscall.Write(int(fd), b)) }

func nbRead(fd uintptr, b []byte) (int, syscall.Errno) { return errno(syscall.Read(int(fd), b)) }

func errno(n int, err error) (int, syscall.Errno) {
	if err == nil {
		return n, 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return 0, e
	}
	return 0, syscall.EIO
}
