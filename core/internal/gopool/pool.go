// Package gopool runs tasks on pooled goroutines.
//
// The Socket.IO server runs short tasks very often (the handling of a
// socket's events, the reading of a burst of WebSocket messages) on
// goroutines that exist only while there is work. Starting a goroutine for
// each is cheap, but it starts with the smallest stack, and a task that
// needs more (decoding, handlers, encoding) grows it by copying, every
// time. Pooled goroutines keep the stack they grew. Idle ones exit after a
// while, so an idle server holds none.
package gopool

import (
	"sync"
	"time"
)

// Task is work for a pooled goroutine. Implementations are usually pointers
// to long-lived values, so that handing one over allocates nothing.
type Task interface {
	// Run does the work, on a goroutine of the pool.
	Run()
}

// reapPeriod is how long a goroutine may stay idle, at most twice over.
const reapPeriod = 200 * time.Millisecond

// Pool is a set of idle goroutines. The zero value is ready to use.
type Pool struct {
	mu      sync.Mutex
	idle    []chan Task // LIFO: the last to go idle is the first reused
	minIdle int         // the fewest idle goroutines since the last reap
	reaping bool        // the reap timer is armed
	timer   *time.Timer
}

// Default is the pool the server's packages share.
var Default Pool

// Go runs t.Run on an idle goroutine of the pool, or on a new one.
func (p *Pool) Go(t Task) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.minIdle = min(p.minIdle, n-1)
		p.mu.Unlock()
		ch <- t
		return
	}
	p.mu.Unlock()
	go p.work(t)
}

func (p *Pool) work(t Task) {
	var ch chan Task
	for {
		t.Run()
		if ch == nil {
			ch = make(chan Task, 1)
		}
		p.mu.Lock()
		p.idle = append(p.idle, ch)
		if !p.reaping {
			p.reaping = true
			p.minIdle = len(p.idle)
			if p.timer == nil {
				p.timer = time.AfterFunc(reapPeriod, p.reap)
			} else {
				p.timer.Reset(reapPeriod)
			}
		}
		p.mu.Unlock()
		if t = <-ch; t == nil {
			return // reaped
		}
	}
}

// reap stops the goroutines that were idle for the whole period: the
// oldest idle ones, at the bottom of the stack.
func (p *Pool) reap() {
	p.mu.Lock()
	n := min(p.minIdle, len(p.idle))
	stop := make([]chan Task, n)
	copy(stop, p.idle[:n])
	rest := copy(p.idle, p.idle[n:])
	clear(p.idle[rest:])
	p.idle = p.idle[:rest]
	p.minIdle = len(p.idle)
	if len(p.idle) > 0 {
		p.timer.Reset(reapPeriod)
	} else {
		p.reaping = false
		p.idle = nil
	}
	p.mu.Unlock()
	for _, ch := range stop {
		ch <- nil
	}
}
