//go:build unix

package engine

import (
	"io"
	"syscall"
)

const canTryWrite = true

// isNonblocking reports whether fd is in non-blocking mode.
func isNonblocking(fd uintptr) bool {
	flags, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	return e == 0 && flags&syscall.O_NONBLOCK != 0
}

// tryWrite is the raw connection's write callback: it writes w.tryBuf
// without waiting, and always reports done, so that RawConn.Write never
// parks the caller.
func (w *wsConn) tryWrite(fd uintptr) bool {
	for len(w.tryBuf) > 0 {
		n, errno := nbWrite(fd, w.tryBuf)
		switch errno {
		case 0:
			if n <= 0 {
				w.tryErr = syscall.EIO
				return true
			}
			w.tryBuf = w.tryBuf[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return true
		default:
			w.tryErr = errno
			return true
		}
	}
	return true
}

// fillPending is waitReadable's callback: it reads what the socket has into
// a pooled buffer, or reports that RawConn.Read must wait.
func (w *wsConn) fillPending(fd uintptr) bool {
	w.rmu.Lock()
	defer w.rmu.Unlock()
	if w.closingRead || w.pend != nil || w.pendErr != nil {
		return true
	}
	bp := pendPool.Get().(*[]byte)
	for {
		n, errno := nbRead(fd, *bp)
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			pendPool.Put(bp)
			return false
		case 0:
			if n > 0 {
				*bp = (*bp)[:n]
				w.pend, w.pendOff = bp, 0
			} else {
				pendPool.Put(bp)
				w.pendErr = io.EOF
			}
		default:
			pendPool.Put(bp)
			w.pendErr = errno
		}
		return true
	}
}
