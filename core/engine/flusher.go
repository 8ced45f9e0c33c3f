package engine

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/e347a4c2/socketio/core/internal/gopool"
)

// flusher writes the queues of WebSocket sessions that Session.Queue
// filled, with non-blocking writes, on at most GOMAXPROCS worker
// goroutines that exist only while sessions wait. A broadcast to n
// sessions so costs n queue appends and a goroutine or so, rather than a
// goroutine per session, and its writes spread over the processors.
type flusher struct {
	srv *Server

	mu         sync.Mutex
	pending    []*Session // pending[head:] wait; each owns its write side (Session.writing)
	head       int
	workers    int
	maxWorkers int // GOMAXPROCS, read when the first worker starts
	// busy counts the sessions added and not yet written (read without the
	// lock by Session.send).
	busy atomic.Int64
}

// flushBatch is how many sessions a worker takes at a time.
const flushBatch = 64

// add hands s, whose write side the caller claimed, to the workers.
func (f *flusher) add(s *Session) {
	f.busy.Add(1)
	f.mu.Lock()
	f.pending = append(f.pending, s)
	start := f.workers == 0 || (len(f.pending)-f.head > flushBatch && f.workers < f.maxWorkers)
	if f.workers == 0 {
		f.maxWorkers = runtime.GOMAXPROCS(0)
	}
	if start {
		f.workers++
	}
	f.mu.Unlock()
	if start {
		gopool.Default.Go(f)
	}
}

// Run is a flush worker, on a pooled goroutine.
func (f *flusher) Run() {
	var batch [flushBatch]*Session
	for {
		f.mu.Lock()
		n := copy(batch[:], f.pending[f.head:])
		if n == 0 {
			f.workers--
			f.pending, f.head = f.pending[:0], 0
			if cap(f.pending) > 4096 {
				f.pending = nil // release what a burst grew
			}
			f.mu.Unlock()
			return
		}
		clear(f.pending[f.head : f.head+n])
		f.head += n
		f.mu.Unlock()
		for i, s := range batch[:n] {
			s.mu.Lock()
			ws := s.ws
			s.mu.Unlock()
			s.flushWS(ws, -1)
			f.busy.Add(-1)
			batch[i] = nil
		}
	}
}
