//go:build linux

package engine

import (
	"syscall"
	"unsafe"
)

// nbWrite and nbRead are write(2) and read(2) on a non-blocking socket;
// errno is 0 on success. They never block, so they skip the runtime's
// syscall bookkeeping (entersyscall/exitsyscall): on a busy server with few
// processors, that bookkeeping lets the runtime's monitor hand the
// processor to another thread in the middle of a short write, and the two
// threads then trade it back and forth, which costs more than the writes.
func nbWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

func nbRead(fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}
