package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/e347a4c2/socketio/core/adapter"
)

// Options configure a [Broker]. The zero value (or nil) is the Node
// adapter's defaults.
type Options struct {
	// Key is the prefix of the Redis channels (default "socket.io"). Every
	// node of a cluster, Go or Node, must use the same.
	Key string
	// RequestsTimeout bounds the wait for the other nodes' answers to a
	// request: FetchSockets, AllRooms, SocketIDs, ServerSideEmitWithAck
	// (default 5 s). A request with a context that ends earlier ends then.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel makes this node answer requests on
	// the requesting node's own response channel instead of the channel
	// every node of the namespace listens to.
	PublishOnSpecificResponseChannel bool
	// Logger receives what goes wrong without a caller to return it to (a
	// broadcast that could not be published, the subscription connection
	// lost and restored). Default slog.Default().
	Logger *slog.Logger
}

// Errors of the adapter.
var (
	// ErrTimeout is wrapped by the errors of requests that did not get
	// every node's answer in time (Options.RequestsTimeout).
	ErrTimeout = errors.New("redisadapter: timeout reached while waiting for the other nodes")
	// ErrClosed is returned by operations on a closed Broker.
	ErrClosed = errors.New("redisadapter: closed")
)

// Timing of the subscription connection's health.
const (
	// healthInterval: when the subscription connection has been quiet this
	// long it is pinged; quiet for another interval, it is replaced.
	healthInterval = 15 * time.Second
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = time.Second
)

// Broker connects one Socket.IO server to Redis: the adapters of all its
// namespaces share its subscription connection, its publishing goroutine
// and its uid, the server's identity in the cluster. Create one per
// server (see [New]); it starts working when the first namespace adapter
// is created, and stops when the last is closed (Server.Shutdown closes
// them) or when Close is called.
type Broker struct {
	client redis.UniversalClient
	opts   Options
	uid    string
	log    *slog.Logger

	mu       sync.RWMutex
	adapters map[string][]*Adapter // by namespace name
	routes   map[string]route      // by channel (or pattern)
	run      *run
	closed   bool
}

type routeKind uint8

const (
	routeBroadcast routeKind = iota
	routeRequest
	routeResponse
)

type route struct {
	nsp  string
	kind routeKind
}

// NewBroker returns a broker publishing and subscribing with client (a
// *redis.Client, *redis.ClusterClient or *redis.FailoverClient; not a
// Ring, which spreads channels over shards). The broker takes one
// connection of client's pool for its subscriptions while it runs.
func NewBroker(client redis.UniversalClient, opts *Options) *Broker {
	b := &Broker{
		client:   client,
		uid:      newID(),
		adapters: make(map[string][]*Adapter),
		routes:   make(map[string]route),
	}
	if opts != nil {
		b.opts = *opts
	}
	if b.opts.Key == "" {
		b.opts.Key = "socket.io"
	}
	if b.opts.RequestsTimeout <= 0 {
		b.opts.RequestsTimeout = 5 * time.Second
	}
	b.log = b.opts.Logger
	if b.log == nil {
		b.log = slog.Default()
	}
	return b
}

// New returns the adapter factory of one Socket.IO server, for
// core.WithAdapter: NewBroker(client, opts).NewAdapter. Call it once per
// server: the servers of one process sharing a factory would be one node.
func New(client redis.UniversalClient, opts *Options) adapter.Factory {
	return NewBroker(client, opts).NewAdapter
}

// UID returns the broker's identity in the cluster (6 characters, as the
// Node adapter's).
func (b *Broker) UID() string { return b.uid }

// NewAdapter returns the adapter of namespace nsp; b.NewAdapter is an
// adapter.Factory. It does not wait for Redis: the subscriptions are made
// in the background, and the adapter delivers locally meanwhile.
func (b *Broker) NewAdapter(nsp adapter.Namespace) adapter.Adapter {
	a := newAdapter(b, nsp)
	b.register(a)
	return a
}

// Close stops the broker: it unsubscribes, publishes what is queued (for a
// moment) and stops its goroutines. Its adapters keep working for this
// node alone. Close is idempotent.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	r := b.run
	b.run = nil
	var all []*Adapter
	for _, list := range b.adapters {
		all = append(all, list...)
	}
	clear(b.adapters)
	clear(b.routes)
	b.mu.Unlock()
	for _, a := range all {
		a.detach()
	}
	if r != nil {
		r.stop()
	}
	return nil
}

func (b *Broker) register(a *Adapter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		a.detach()
		b.log.Error("redisadapter: the broker is closed; the namespace works on this node alone", "nsp", a.name)
		return
	}
	if len(b.adapters[a.name]) == 0 {
		b.routes[a.ch.pattern] = route{a.name, routeBroadcast}
		b.routes[a.ch.request] = route{a.name, routeRequest}
		b.routes[a.ch.response] = route{a.name, routeResponse}
		b.routes[a.ch.specificResponse] = route{a.name, routeResponse}
	}
	b.adapters[a.name] = append(b.adapters[a.name], a)
	if b.run == nil {
		b.run = startRun(b)
	}
	b.run.reconcile()
}

// publisher returns the running publisher, or nil when the broker is not
// running (closed).
func (b *Broker) publisher() *publisher {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.run == nil {
		return nil
	}
	return b.run.pub
}

// unregister forgets a closed adapter, and stops the broker's goroutines
// when it was the last one.
func (b *Broker) unregister(a *Adapter) {
	b.mu.Lock()
	list := b.adapters[a.name]
	i := slices.Index(list, a)
	if i < 0 {
		b.mu.Unlock()
		return
	}
	// A new slice: dispatch iterates over the old one without the lock.
	list = slices.Delete(slices.Clone(list), i, i+1)
	if len(list) == 0 {
		delete(b.adapters, a.name)
		for _, c := range a.ch.all() {
			delete(b.routes, c)
		}
	} else {
		b.adapters[a.name] = list
	}
	r := b.run
	if len(b.adapters) == 0 {
		b.run = nil
	} else {
		r.reconcile()
		r = nil
	}
	b.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// subscriptions returns the patterns and channels the broker needs: for
// each namespace, the broadcast pattern, then the response channels, then
// the request channel last (so that a node counted by PUBSUB NUMSUB on the
// request channel listens to everything already).
func (b *Broker) subscriptions() (patterns, channels []string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var requests []string
	for c, rt := range b.routes {
		switch rt.kind {
		case routeBroadcast:
			patterns = append(patterns, c)
		case routeResponse:
			channels = append(channels, c)
		case routeRequest:
			requests = append(requests, c)
		}
	}
	slices.Sort(patterns)
	slices.Sort(channels)
	slices.Sort(requests)
	return patterns, append(channels, requests...)
}

// dispatch hands a message to the adapters of its namespace. It runs on
// the subscription goroutine and must not block.
func (b *Broker) dispatch(m *redis.Message) {
	key := m.Channel
	if m.Pattern != "" {
		key = m.Pattern
	}
	b.mu.RLock()
	rt, ok := b.routes[key]
	adapters := b.adapters[rt.nsp]
	b.mu.RUnlock()
	if !ok || len(adapters) == 0 {
		return
	}
	payload := []byte(m.Payload)
	switch rt.kind {
	case routeBroadcast:
		if uid, ok := peekUID(payload); ok && uid == b.uid {
			return // our own
		}
		// A broadcast to one room is published on the room's channel: a
		// node with no socket in the room has nothing to do.
		room, _ := strings.CutPrefix(m.Channel, adapters[0].ch.broadcast)
		room = strings.TrimSuffix(room, "#")
		var wanted []*Adapter
		for _, a := range adapters {
			if room == "" || a.hasLocalRoom(adapter.Room(room)) {
				wanted = append(wanted, a)
			}
		}
		if len(wanted) == 0 {
			return
		}
		msg, err := decodeBroadcast(payload)
		if err != nil {
			b.log.Warn("redisadapter: ignoring a malformed broadcast", "channel", m.Channel, "err", err)
			return
		}
		for _, a := range wanted {
			a.onBroadcast(msg)
		}
	case routeRequest, routeResponse:
		msg, err := decodeMessage(payload)
		if err != nil {
			b.log.Warn("redisadapter: ignoring a malformed message", "channel", m.Channel, "err", err)
			return
		}
		for _, a := range adapters {
			if rt.kind == routeRequest {
				a.onRequest(msg)
			} else {
				a.onResponse(msg)
			}
		}
	}
}

// peekUID reads the uid at the start of a broadcast, [uid, packet, opts],
// without decoding the rest.
func peekUID(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != 0x93 || b[1]&0xe0 != 0xa0 {
		return "", false
	}
	n := int(b[1] & 0x1f)
	if len(b) < 2+n {
		return "", false
	}
	return string(b[2 : 2+n]), true
}

// numSub returns the number of subscribers of channel: the number of nodes
// that serve a namespace, when channel is its request channel. On a Redis
// Cluster every node counts its own subscribers.
func (b *Broker) numSub(ctx context.Context, channel string) (int, error) {
	if cc, ok := b.client.(*redis.ClusterClient); ok {
		var total atomic.Int64
		err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
			m, err := c.PubSubNumSub(ctx, channel).Result()
			total.Add(m[channel])
			return err
		})
		return int(total.Load()), err
	}
	m, err := b.client.PubSubNumSub(ctx, channel).Result()
	return int(m[channel]), err
}

// run is the broker's working state while it has adapters: the
// subscription connection and its goroutines, and the publisher.
type run struct {
	b      *Broker
	ctx    context.Context
	cancel context.CancelFunc
	pub    *publisher
	wake   chan struct{}
	wg     sync.WaitGroup

	psMu sync.Mutex
	ps   *redis.PubSub
}

func startRun(b *Broker) *run {
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{
		b:      b,
		ctx:    ctx,
		cancel: cancel,
		pub:    newPublisher(b.client, b.log),
		wake:   make(chan struct{}, 1),
		ps:     b.client.Subscribe(ctx),
	}
	r.wg.Add(3)
	go func() {
		defer r.wg.Done()
		r.pub.loop(ctx)
	}()
	go r.subscribeLoop()
	go r.readLoop()
	return r
}

// stop unsubscribes and stops the goroutines.
func (r *run) stop() {
	r.pub.close()
	r.cancel()
	r.psMu.Lock()
	_ = r.ps.Close() // drops the connection: Redis forgets its subscriptions
	r.psMu.Unlock()
	r.wg.Wait()
}

// reconcile asks the subscription goroutine to bring the subscriptions in
// line with the broker's namespaces.
func (r *run) reconcile() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *run) pubsub() *redis.PubSub {
	r.psMu.Lock()
	defer r.psMu.Unlock()
	return r.ps
}

// subscribeLoop makes the subscriptions: in the background, as they need
// Redis, which may be away (go-redis remembers them and subscribes again
// on reconnection).
func (r *run) subscribeLoop() {
	defer r.wg.Done()
	applied := map[string]bool{} // "p" or "c" + name
	for {
		select {
		case <-r.wake:
		case <-r.ctx.Done():
			return
		}
		patterns, channels := r.b.subscriptions()
		want := make(map[string]bool, len(patterns)+len(channels))
		var subP, subC, unsubP, unsubC []string
		for _, p := range patterns {
			want["p"+p] = true
			if !applied["p"+p] {
				subP = append(subP, p)
			}
		}
		for _, c := range channels {
			want["c"+c] = true
			if !applied["c"+c] {
				subC = append(subC, c)
			}
		}
		for k := range applied {
			if !want[k] {
				if k[0] == 'p' {
					unsubP = append(unsubP, k[1:])
				} else {
					unsubC = append(unsubC, k[1:])
				}
			}
		}
		r.psMu.Lock()
		ps := r.ps
		var errs []error
		if len(unsubC) > 0 {
			errs = append(errs, ps.Unsubscribe(r.ctx, unsubC...))
		}
		if len(unsubP) > 0 {
			errs = append(errs, ps.PUnsubscribe(r.ctx, unsubP...))
		}
		if len(subP) > 0 {
			errs = append(errs, ps.PSubscribe(r.ctx, subP...))
		}
		if len(subC) > 0 {
			errs = append(errs, ps.Subscribe(r.ctx, subC...))
		}
		r.psMu.Unlock()
		applied = want
		if err := errors.Join(errs...); err != nil && r.ctx.Err() == nil {
			// The read loop reports the connection's state; this says what
			// waits for it.
			r.b.log.Warn("redisadapter: subscribing failed; retrying when Redis is back",
				"channels", len(subC), "patterns", len(subP), "err", err)
		}
	}
}

// readLoop receives the messages of the subscriptions and dispatches them.
// On connection errors go-redis reconnects and subscribes again; the loop
// backs off meanwhile, and reports the loss and the recovery.
func (r *run) readLoop() {
	defer r.wg.Done()
	var (
		pinged  bool
		failing bool
		backoff = minBackoff
	)
	for {
		ps := r.pubsub()
		msg, err := ps.ReceiveTimeout(r.ctx, healthInterval)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			if errors.Is(err, redis.ErrClosed) && ps != r.pubsub() {
				continue // replaced by reset
			}
			if isTimeout(err) && !failing {
				if pinged {
					r.b.log.Warn("redisadapter: no answer from Redis on the subscription connection; reconnecting",
						"after", 2*healthInterval)
					r.reset()
					pinged = false
					continue
				}
				_ = ps.Ping(r.ctx)
				pinged = true
				continue
			}
			pinged = false
			if !failing {
				failing = true
				r.b.log.Error("redisadapter: subscription connection lost; broadcasts from other nodes are missed until it is back",
					"err", err)
			}
			select {
			case <-time.After(backoff):
			case <-r.ctx.Done():
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		pinged = false
		if failing {
			failing = false
			backoff = minBackoff
			r.b.log.Info("redisadapter: subscription connection restored")
		}
		if m, ok := msg.(*redis.Message); ok {
			r.b.dispatch(m)
		}
	}
}

// reset replaces a subscription connection that stopped answering.
func (r *run) reset() {
	patterns, channels := r.b.subscriptions()
	r.psMu.Lock()
	defer r.psMu.Unlock()
	_ = r.ps.Close()
	r.ps = r.b.client.Subscribe(r.ctx)
	if len(patterns) > 0 {
		_ = r.ps.PSubscribe(r.ctx, patterns...)
	}
	if len(channels) > 0 {
		_ = r.ps.Subscribe(r.ctx, channels...)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func randomBytes(b []byte) { _, _ = rand.Read(b) }
