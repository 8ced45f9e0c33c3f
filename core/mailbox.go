package core

import (
	"runtime/debug"
	"sync"

	"github.com/e347a4c2/socketio/core/internal/gopool"
	"github.com/e347a4c2/socketio/core/parser"
)

type taskKind uint8

const (
	taskConnect taskKind = iota
	taskEvent
	taskDisconnect
)

// task is a unit of work on a socket's goroutine.
type task struct {
	kind   taskKind
	packet *parser.Packet   // taskEvent
	reason DisconnectReason // taskDisconnect
}

// mailbox runs a socket's tasks one at a time, in order, on a goroutine
// that runs the mailbox only while tasks are waiting: an idle socket costs
// no goroutine, and a handler that blocks (waiting for an acknowledgement, a
// database) delays only its own socket. The goroutine is a pooled one
// (package gopool), which keeps the stack that handlers grew.
type mailbox struct {
	run func(task)

	mu      sync.Mutex
	tasks   []task
	head    int // tasks[head:] are waiting
	running bool
}

func (m *mailbox) push(t task) {
	if m.add(t) {
		gopool.Default.Go(m)
	}
}

// add queues t and reports whether the caller must run the mailbox (drain
// it, or have it drained): it was idle.
func (m *mailbox) add(t task) (start bool) {
	m.mu.Lock()
	if m.head > 32 && m.head > len(m.tasks)/2 { // compact a long-running queue
		n := copy(m.tasks, m.tasks[m.head:])
		clear(m.tasks[n:])
		m.tasks, m.head = m.tasks[:n], 0
	}
	m.tasks = append(m.tasks, t)
	start = !m.running
	m.running = true
	m.mu.Unlock()
	return start
}

// Run drains the mailbox, on a pooled goroutine.
func (m *mailbox) Run() { m.drain() }

func (m *mailbox) drain() {
	for {
		m.mu.Lock()
		if m.head == len(m.tasks) {
			m.running = false
			m.tasks, m.head = m.tasks[:0], 0
			if cap(m.tasks) > 16 {
				m.tasks = nil // release what a burst grew
			}
			m.mu.Unlock()
			return
		}
		t := m.tasks[m.head]
		m.tasks[m.head] = task{}
		m.head++
		m.mu.Unlock()
		m.run(t)
	}
}

// recoverHandler turns a handler panic into an error for the socket's
// error handlers, so that one faulty handler does not take the process
// down.
func (s *Socket) recoverHandler() {
	if v := recover(); v != nil {
		err := &HandlerPanicError{Value: v, Stack: debug.Stack()}
		s.nsp.srv.log.Error("socket.io: handler panicked", "nsp", s.nsp.name, "socket", s.id,
			"panic", v, "stack", string(err.Stack))
		s.emitError(err)
	}
}
