package engine

import (
	"sync"
	"time"
)

// wheel schedules the heartbeats of a server's sessions on one timer: a
// timing wheel whose slots are gran wide. A session costs two pointers and
// a slot number instead of a runtime timer of its own, and moving its
// deadline (every pong) is a relink under one lock. Deadlines fire at most
// gran late; gran is a small fraction of the heartbeat periods.
type wheel struct {
	gran  time.Duration
	epoch time.Time

	mu    sync.Mutex
	slots []*Session // heads of doubly linked lists, through Session.hbNext/hbPrev
	next  int64      // the first slot not yet run
	count int        // scheduled sessions
	timer *time.Timer
	fire  func([]*Session)
	due   []*Session // reused by run
}

// newWheel returns a wheel for deadlines at most maxDelay ahead, gran
// wide slots, that calls fire with the sessions whose deadline passed.
func newWheel(gran, maxDelay time.Duration, fire func([]*Session)) *wheel {
	n := int(maxDelay/gran) + 2
	return &wheel{gran: gran, epoch: time.Now(), slots: make([]*Session, n), fire: fire}
}

// wheelGranularity is the slot width for heartbeats of the given periods:
// a 64th of the shorter one, between 1 ms and 1 s (312 ms for the default
// 25 s and 20 s).
func wheelGranularity(a, b time.Duration) time.Duration {
	return min(max(min(a, b)/64, time.Millisecond), time.Second)
}

// slotOf returns the first slot that starts at or after t.
func (w *wheel) slotOf(t time.Time) int64 {
	d := t.Sub(w.epoch)
	return int64((d + w.gran - 1) / w.gran)
}

// schedule (re)schedules s for time t.
func (w *wheel) schedule(s *Session, t time.Time) {
	slot := w.slotOf(t)
	w.mu.Lock()
	if s.hbScheduled {
		w.unlinkLocked(s)
	}
	if slot < w.next {
		slot = w.next
	}
	s.hbSlot = slot
	i := int(slot % int64(len(w.slots)))
	s.hbPrev, s.hbNext = nil, w.slots[i]
	if s.hbNext != nil {
		s.hbNext.hbPrev = s
	}
	w.slots[i] = s
	s.hbScheduled = true
	w.count++
	if w.count == 1 {
		// The wheel was idle: start from the current slot.
		if now := int64(time.Since(w.epoch) / w.gran); now > w.next {
			w.next = now
		}
		if w.timer == nil {
			w.timer = time.AfterFunc(w.gran, w.run)
		} else {
			w.timer.Reset(w.gran)
		}
	}
	w.mu.Unlock()
}

// cancel removes s from the wheel.
func (w *wheel) cancel(s *Session) {
	w.mu.Lock()
	if s.hbScheduled {
		w.unlinkLocked(s)
	}
	w.mu.Unlock()
}

func (w *wheel) unlinkLocked(s *Session) {
	if s.hbPrev != nil {
		s.hbPrev.hbNext = s.hbNext
	} else {
		w.slots[int(s.hbSlot%int64(len(w.slots)))] = s.hbNext
	}
	if s.hbNext != nil {
		s.hbNext.hbPrev = s.hbPrev
	}
	s.hbPrev, s.hbNext = nil, nil
	s.hbScheduled = false
	w.count--
}

// run fires the slots that have passed.
func (w *wheel) run() {
	w.mu.Lock()
	now := int64(time.Since(w.epoch) / w.gran) // the last slot that has started
	due := w.due[:0]
	w.due = nil // a late run may overlap the next one
	for ; w.next <= now && w.count > 0; w.next++ {
		i := int(w.next % int64(len(w.slots)))
		for s := w.slots[i]; s != nil; {
			next := s.hbNext
			if s.hbSlot <= now {
				w.unlinkLocked(s)
				due = append(due, s)
			}
			s = next
		}
	}
	if w.count > 0 {
		w.timer.Reset(w.gran)
	} else {
		w.next = now
	}
	w.mu.Unlock()
	if len(due) > 0 {
		w.fire(due)
	}
	clear(due)
	if cap(due) > 4096 {
		due = nil
	}
	w.mu.Lock()
	w.due = due
	w.mu.Unlock()
}
