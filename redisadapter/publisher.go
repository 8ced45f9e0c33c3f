package redisadapter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The publisher sends every message of a broker, in the order they were
// queued, pipelining what is queued together: one node's broadcasts and
// requests reach the other nodes in the order it made them, and a burst
// of broadcasts costs one round trip per batch.
const (
	queueSize = 4096
	maxBatch  = 256
	// flushTimeout bounds the publishing of what is queued at close.
	flushTimeout = 2 * time.Second
	// reportInterval spaces the reports of failures.
	reportInterval = 10 * time.Second
)

var errQueueFull = errors.New("redisadapter: publish queue full")

type pubMsg struct {
	channel string
	payload []byte
	done    chan error // nil: nobody waits; the error is logged
}

type publisher struct {
	client redis.UniversalClient
	log    *slog.Logger
	q      chan *pubMsg
	stop   chan struct{}
	exited chan struct{}
	once   sync.Once
	// healthy is false after a failed batch: while Redis is away, callers
	// that do not wait are not held up by a full queue.
	healthy atomic.Bool

	mu         sync.Mutex
	failing    bool
	lost       int
	lastReport time.Time
}

func newPublisher(client redis.UniversalClient, log *slog.Logger) *publisher {
	p := &publisher{
		client: client,
		log:    log,
		q:      make(chan *pubMsg, queueSize),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	p.healthy.Store(true)
	return p
}

// send queues a message that nobody waits for. With block, it waits for
// room in the queue (while Redis answers); otherwise a full queue drops it.
func (p *publisher) send(ctx context.Context, channel string, payload []byte, block bool) error {
	return p.enqueue(ctx, &pubMsg{channel: channel, payload: payload}, block)
}

// publish queues a message and waits until Redis has taken it.
func (p *publisher) publish(ctx context.Context, channel string, payload []byte) error {
	m := &pubMsg{channel: channel, payload: payload, done: make(chan error, 1)}
	if err := p.enqueue(ctx, m, true); err != nil {
		return err
	}
	select {
	case err := <-m.done:
		return err
	case <-p.exited:
		select {
		case err := <-m.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *publisher) enqueue(ctx context.Context, m *pubMsg, block bool) error {
	select {
	case <-p.stop:
		return ErrClosed
	default:
	}
	select {
	case p.q <- m:
		return nil
	default:
	}
	if !block || !p.healthy.Load() {
		p.report(errQueueFull, 1)
		return errQueueFull
	}
	select {
	case p.q <- m:
		return nil
	case <-p.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the loop after it published what is queued (for
// flushTimeout at most).
func (p *publisher) close() {
	p.once.Do(func() { close(p.stop) })
	<-p.exited
}

func (p *publisher) loop(ctx context.Context) {
	defer close(p.exited)
	batch := make([]*pubMsg, 0, maxBatch)
	for {
		select {
		case m := <-p.q:
			batch = append(batch[:0], m)
		case <-p.stop:
			p.flush(batch[:0])
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case m := <-p.q:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		p.sendBatch(ctx, batch)
		clear(batch)
	}
}

// flush publishes what is left in the queue.
func (p *publisher) flush(batch []*pubMsg) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	for {
		batch = batch[:0]
	fill:
		for len(batch) < maxBatch {
			select {
			case m := <-p.q:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			return
		}
		if ctx.Err() != nil {
			for _, m := range batch {
				p.done(m, ErrClosed)
			}
			continue
		}
		p.sendBatch(ctx, batch)
	}
}

func (p *publisher) sendBatch(ctx context.Context, batch []*pubMsg) {
	var cmds []redis.Cmder
	var err error
	if len(batch) == 1 {
		m := batch[0]
		err = p.client.Publish(ctx, m.channel, m.payload).Err()
	} else {
		cmds, err = p.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, m := range batch {
				pipe.Publish(ctx, m.channel, m.payload)
			}
			return nil
		})
	}
	ok, lost := 0, 0
	var lastErr error
	for i, m := range batch {
		e := err
		if i < len(cmds) {
			e = cmds[i].Err()
		}
		if e == nil {
			ok++
		} else if m.done == nil {
			lost++
			lastErr = e
		}
		p.done(m, e)
	}
	p.healthy.Store(err == nil)
	if lost > 0 {
		p.report(lastErr, lost)
	} else if ok > 0 {
		p.recovered()
	}
}

func (p *publisher) done(m *pubMsg, err error) {
	if m.done != nil {
		m.done <- err
	}
}

// report logs lost messages, at most once per reportInterval.
func (p *publisher) report(err error, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lost += n
	now := time.Now()
	if p.failing && now.Sub(p.lastReport) < reportInterval {
		return
	}
	p.failing = true
	p.lastReport = now
	p.log.Error("redisadapter: publishing failed; the other nodes miss these messages",
		"lost", p.lost, "err", err)
	p.lost = 0
}

func (p *publisher) recovered() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.failing {
		return
	}
	p.failing = false
	p.log.Info("redisadapter: publishing again", "lost", p.lost)
	p.lost = 0
}
