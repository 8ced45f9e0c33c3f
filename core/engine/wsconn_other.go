//go:build !unix

package engine

const canTryWrite = false

func isNonblocking(uintptr) bool { return false }

func (w *wsConn) tryWrite(uintptr) bool { return true }

func (w *wsConn) fillPending(uintptr) bool { return true }
