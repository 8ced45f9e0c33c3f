package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/parser"
)

// Adapter is the adapter of one namespace: an [adapter.InMemory] for the
// sockets of this node, and the Node adapter's protocol for the rest of
// the cluster. Create adapters with [Broker.NewAdapter] (or the factory
// [New] returns).
type Adapter struct {
	*adapter.InMemory
	b    *Broker
	nsp  adapter.Namespace
	name string
	ch   channels

	mu          sync.Mutex
	requests    map[string]*pending
	ackRequests map[string]*ackRequest
	closed      bool // works for this node alone (closed, or its broker)

	closing   chan struct{}
	closeOnce sync.Once
	events    serialQueue
	ackIDs    atomic.Uint64
}

// channels are the Redis channels of a namespace, as the Node adapter
// names them.
type channels struct {
	broadcast        string // prefix#nsp#, then room# for one room
	pattern          string // the broadcast channels, escaped for PSUBSCRIBE
	request          string // prefix-request#nsp#
	response         string // prefix-response#nsp#
	specificResponse string // prefix-response#nsp#uid#
}

func (c *channels) all() []string {
	return []string{c.pattern, c.request, c.response, c.specificResponse}
}

func newChannels(key, nsp, uid string) channels {
	c := channels{
		broadcast: key + "#" + nsp + "#",
		request:   key + "-request#" + nsp + "#",
		response:  key + "-response#" + nsp + "#",
	}
	c.specificResponse = c.response + uid + "#"
	c.pattern = globEscape(c.broadcast) + "*"
	return c
}

// globEscape escapes the characters special in Redis glob patterns, so
// that a namespace called "/[a]" matches itself only.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func newAdapter(b *Broker, nsp adapter.Namespace) *Adapter {
	return &Adapter{
		InMemory:    adapter.NewInMemory(nsp),
		b:           b,
		nsp:         nsp,
		name:        nsp.Name(),
		ch:          newChannels(b.opts.Key, nsp.Name(), b.uid),
		requests:    make(map[string]*pending),
		ackRequests: make(map[string]*ackRequest),
		closing:     make(chan struct{}),
		events:      serialQueue{log: b.log},
	}
}

// Close implements adapter.Adapter: it fails the requests in flight and
// unsubscribes the namespace; the broker stops when its last adapter
// closes.
func (a *Adapter) Close() error {
	a.shutdown()
	a.b.unregister(a)
	return nil
}

// detach makes the adapter work for this node alone (its broker closed).
func (a *Adapter) detach() { a.shutdown() }

func (a *Adapter) shutdown() {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		acks := a.ackRequests
		a.ackRequests = make(map[string]*ackRequest)
		var failing []*pending
		for _, pr := range a.requests {
			if pr.finish != nil {
				failing = append(failing, pr)
			}
		}
		a.mu.Unlock()
		close(a.closing)
		for _, ar := range acks {
			ar.finish(ErrClosed)
		}
		for _, pr := range failing {
			pr.finish(ErrClosed)
		}
		a.events.close()
	})
}

// remote reports whether the adapter talks to the cluster.
func (a *Adapter) remote() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.closed
}

// publisher returns the broker's publisher, or nil when the adapter works
// alone.
func (a *Adapter) publisher() *publisher {
	if !a.remote() {
		return nil
	}
	return a.b.publisher()
}

// publish publishes a message and waits until Redis has it.
func (a *Adapter) publish(ctx context.Context, channel string, payload []byte) error {
	p := a.publisher()
	if p == nil {
		return nil // this node alone: nobody to tell
	}
	return p.publish(ctx, channel, payload)
}

// publishRequest publishes a request that expects no answer.
func (a *Adapter) publishRequest(ctx context.Context, msg map[string]any) error {
	msg["uid"] = a.b.uid
	payload, err := encodeMessage(msg, false)
	if err != nil {
		return err
	}
	return a.publish(ctx, a.ch.request, payload)
}

// respond publishes a response (on the subscription goroutine or a
// client's reader: never waits).
func (a *Adapter) respond(channel string, msg map[string]any, forceMsgpack bool) {
	p := a.publisher()
	if p == nil {
		return
	}
	payload, err := encodeMessage(msg, forceMsgpack)
	if err != nil {
		a.b.log.Error("redisadapter: cannot encode a response", "nsp", a.name, "err", err)
		return
	}
	_ = p.send(context.Background(), channel, payload, false)
}

// responseChannel is where answers to a request of node uid go.
func (a *Adapter) responseChannel(uid string) string {
	if a.b.opts.PublishOnSpecificResponseChannel && uid != "" {
		return a.ch.response + uid + "#"
	}
	return a.ch.response
}

// nextAckID numbers a packet that another node broadcasts with
// acknowledgements through this one.
func (a *Adapter) nextAckID() uint64 {
	if src, ok := a.nsp.(adapter.AckIDSource); ok {
		return src.NextAckID()
	}
	// Far above what the namespace's own counter reaches.
	return 1<<52 + a.ackIDs.Add(1)
}

// ServerCount implements adapter.Adapter: the number of nodes subscribed
// to the namespace's request channel (PUBSUB NUMSUB), at least 1.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	if !a.remote() {
		return 1, nil
	}
	n, err := a.b.numSub(ctx, a.ch.request)
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return max(n, 1), nil
}

// Broadcast implements adapter.Adapter: the packet is published for the
// other nodes (not waiting for Redis: a failure is logged), and delivered
// to the sockets of this node.
func (a *Adapter) Broadcast(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions) error {
	if opts == nil || !opts.Flags.Local {
		if pub := a.publisher(); pub != nil {
			msg, err := encodeBroadcast(a.b.uid, p, opts)
			if err != nil {
				return err
			}
			channel := a.ch.broadcast
			if opts != nil {
				if rooms := dedupe(opts.Rooms); len(rooms) == 1 {
					channel += string(rooms[0]) + "#"
				}
			}
			_ = pub.send(ctx, channel, msg, true)
		}
	}
	return a.InMemory.Broadcast(ctx, p, opts)
}

// BroadcastWithAck implements adapter.Adapter: the other nodes deliver
// the packet and report their client counts and their clients' answers
// (first argument only, as the Node adapter does; the socket ID is empty)
// until ctx ends.
func (a *Adapter) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions, h adapter.AckHandler) error {
	if opts.Flags.Local || !a.remote() {
		return a.InMemory.BroadcastWithAck(ctx, p, opts, h)
	}
	id := newID()
	payload, err := encodeMsgpack(map[string]any{
		"uid":       a.b.uid,
		"requestId": id,
		"type":      typeBroadcast,
		"packet":    p,
		"opts":      wireOptions(opts, true),
	})
	if err != nil {
		return err
	}
	// The answers come until the caller stops waiting (or, as in the Node
	// adapter, until the timeout).
	ar := &ackRequest{h: h}
	forget := func() {
		a.mu.Lock()
		if a.ackRequests[id] == ar {
			delete(a.ackRequests, id)
		}
		a.mu.Unlock()
	}
	stopCtx := context.AfterFunc(ctx, forget)
	var timer *time.Timer
	if opts.Flags.Timeout > 0 {
		timer = time.AfterFunc(opts.Flags.Timeout, forget)
	}
	ar.stop = func() {
		stopCtx()
		if timer != nil {
			timer.Stop()
		}
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		ar.stop()
		return a.InMemory.BroadcastWithAck(ctx, p, opts, h)
	}
	a.ackRequests[id] = ar
	a.mu.Unlock()
	if err := a.publish(ctx, a.ch.request, payload); err != nil {
		forget()
		ar.stop()
		return fmt.Errorf("redisadapter: broadcast with acknowledgements: %w", err)
	}
	return a.InMemory.BroadcastWithAck(ctx, p, opts, h)
}

// ackRequest is a broadcast with acknowledgements this node made.
type ackRequest struct {
	h    adapter.AckHandler
	stop func()
}

func (ar *ackRequest) finish(err error) {
	if ar.stop != nil {
		ar.stop()
	}
	if ar.h.Fail != nil {
		ar.h.Fail(err)
	}
}

// SocketIDs implements adapter.Adapter: the IDs of the selected sockets of
// every node (Node nodes ignore opts.Except).
func (a *Adapter) SocketIDs(ctx context.Context, opts *adapter.BroadcastOptions) ([]string, error) {
	local, _ := a.InMemory.SocketIDs(ctx, opts)
	if (opts != nil && opts.Flags.Local) || !a.remote() {
		return local, nil
	}
	msg := wireOptions(opts, false)
	responses, err := a.request(ctx, typeSockets, msg, "sockets")
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(local))
	for _, id := range local {
		seen[id] = true
	}
	for _, r := range responses {
		for _, id := range readStrings(r["sockets"]) {
			if !seen[id] {
				seen[id] = true
				local = append(local, id)
			}
		}
	}
	return local, nil
}

// AllRooms implements adapter.Adapter: the rooms of every node.
func (a *Adapter) AllRooms(ctx context.Context) ([]adapter.Room, error) {
	local, _ := a.InMemory.AllRooms(ctx)
	if !a.remote() {
		return local, nil
	}
	responses, err := a.request(ctx, typeAllRooms, map[string]any{}, "allRooms")
	if err != nil {
		return nil, err
	}
	seen := make(map[adapter.Room]bool, len(local))
	for _, r := range local {
		seen[r] = true
	}
	for _, resp := range responses {
		for _, r := range readRooms(resp["rooms"]) {
			if !seen[r] {
				seen[r] = true
				local = append(local, r)
			}
		}
	}
	return local, nil
}

// FetchSockets implements adapter.Adapter: the selected sockets of every
// node, those of other nodes as they described them.
func (a *Adapter) FetchSockets(ctx context.Context, opts *adapter.BroadcastOptions) ([]adapter.SocketDetails, error) {
	local, _ := a.InMemory.FetchSockets(ctx, opts)
	if opts.Flags.Local || !a.remote() {
		return local, nil
	}
	responses, err := a.request(ctx, typeRemoteFetch, map[string]any{"opts": wireOptions(opts, false)}, "fetchSockets")
	if err != nil {
		return nil, err
	}
	for _, r := range responses {
		list, _ := r["sockets"].([]any)
		for _, s := range list {
			if d, ok := socketFromWire(s); ok {
				local = append(local, d)
			}
		}
	}
	return local, nil
}

// AddSockets implements adapter.Adapter: the sockets of this node join at
// once, the other nodes are told (the error is Redis's, if any).
func (a *Adapter) AddSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	_ = a.InMemory.AddSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.publishRequest(ctx, map[string]any{
		"type": typeRemoteJoin, "opts": wireOptions(opts, false), "rooms": roomStrings(rooms),
	})
}

// DelSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DelSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	_ = a.InMemory.DelSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.publishRequest(ctx, map[string]any{
		"type": typeRemoteLeave, "opts": wireOptions(opts, false), "rooms": roomStrings(rooms),
	})
}

// DisconnectSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DisconnectSockets(ctx context.Context, opts *adapter.BroadcastOptions, close bool) error {
	_ = a.InMemory.DisconnectSockets(ctx, opts, close)
	if opts.Flags.Local {
		return nil
	}
	return a.publishRequest(ctx, map[string]any{
		"type": typeRemoteDisconnect, "opts": wireOptions(opts, false), "close": close,
	})
}

// ServerSideEmit implements adapter.Adapter. With h, every other node
// answers once (the first argument its handler acknowledges with); after
// Options.RequestsTimeout the wait fails with an error wrapping
// ErrTimeout.
func (a *Adapter) ServerSideEmit(ctx context.Context, p *parser.Packet, h *adapter.AckHandler) error {
	if !a.remote() {
		return a.InMemory.ServerSideEmit(ctx, p, h)
	}
	data := p.Data
	if data == nil && p.Payload != nil {
		list := make([]any, p.Payload.Len())
		for i := range list {
			v, err := p.Payload.Value(i)
			if err != nil {
				return err
			}
			list[i] = v
		}
		data = list
	}
	msg := map[string]any{"uid": a.b.uid, "type": typeServerSideEmit, "data": data}
	if h == nil {
		payload, err := encodeMessage(msg, false)
		if err != nil {
			return err
		}
		return a.publish(ctx, a.ch.request, payload)
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return err
	}
	need := n - 1 // not this node
	if need <= 0 {
		h.Expect(0)
		return nil
	}
	id := newID()
	msg["requestId"] = id
	payload, err := encodeMessage(msg, false)
	if err != nil {
		return err
	}
	pr := &pending{need: need, done: make(chan struct{})}
	pr.onResponse = func(resp map[string]any) {
		args := treePayload{}
		if v, ok := resp["data"]; ok {
			args = treePayload{v}
		}
		if h.Ack != nil {
			h.Ack("", args)
		}
	}
	var once sync.Once
	pr.finish = func(err error) {
		once.Do(func() {
			a.removePending(id, pr)
			if err != nil && h.Fail != nil {
				h.Fail(err)
			}
		})
	}
	if h.Expect != nil {
		h.Expect(need)
	}
	if !a.addPending(id, pr) {
		if h.Fail != nil {
			h.Fail(ErrClosed)
		}
		return nil
	}
	if err := a.publish(ctx, a.ch.request, payload); err != nil {
		pr.finish(nil)
		return fmt.Errorf("redisadapter: serverSideEmit: %w", err)
	}
	// Once every node answered, pr.add calls finish; the timer and the end
	// of ctx find it done.
	time.AfterFunc(a.b.opts.RequestsTimeout, func() {
		got, need := pr.count()
		pr.finish(fmt.Errorf("%w: serverSideEmit: only %d responses received out of %d", ErrTimeout, got, need))
	})
	context.AfterFunc(ctx, func() { pr.finish(nil) })
	return nil
}

// request publishes a request every other node answers, and returns their
// answers once all came.
func (a *Adapter) request(ctx context.Context, typ requestType, msg map[string]any, what string) ([]map[string]any, error) {
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return nil, nil
	}
	id := newID()
	msg["uid"] = a.b.uid
	msg["requestId"] = id
	msg["type"] = typ
	payload, err := encodeMessage(msg, false)
	if err != nil {
		return nil, err
	}
	pr := &pending{need: n - 1, done: make(chan struct{})}
	if !a.addPending(id, pr) {
		return nil, nil
	}
	defer a.removePending(id, pr)
	if err := a.publish(ctx, a.ch.request, payload); err != nil {
		return nil, fmt.Errorf("redisadapter: %s: %w", what, err)
	}
	timer := time.NewTimer(a.b.opts.RequestsTimeout)
	defer timer.Stop()
	select {
	case <-pr.done:
		return pr.responses, nil
	case <-timer.C:
		got, need := pr.count()
		return nil, fmt.Errorf("%w: %s: %d responses out of %d after %v", ErrTimeout, what, got, need, a.b.opts.RequestsTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("redisadapter: %s: %w", what, ctx.Err())
	case <-a.closing:
		return nil, fmt.Errorf("redisadapter: %s: %w", what, ErrClosed)
	}
}

// pending is a request waiting for the other nodes' answers.
type pending struct {
	need       int
	onResponse func(map[string]any) // instead of keeping the responses
	finish     func(err error)      // when set: called once complete (nil) or failed

	mu        sync.Mutex
	got       int
	responses []map[string]any
	done      chan struct{}
}

func (pr *pending) add(resp map[string]any) {
	pr.mu.Lock()
	if pr.got >= pr.need {
		pr.mu.Unlock()
		return
	}
	pr.got++
	if pr.onResponse == nil {
		pr.responses = append(pr.responses, resp)
	}
	complete := pr.got == pr.need
	pr.mu.Unlock()
	if pr.onResponse != nil {
		pr.onResponse(resp)
	}
	if complete {
		close(pr.done)
		if pr.finish != nil {
			pr.finish(nil)
		}
	}
}

func (pr *pending) count() (got, need int) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.got, pr.need
}

func (a *Adapter) addPending(id string, pr *pending) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.requests[id] = pr
	return true
}

// removePending forgets a request.
func (a *Adapter) removePending(id string, pr *pending) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.requests[id] == pr {
		delete(a.requests, id)
	}
}

// hasLocalRoom reports whether a socket of this node is in room.
func (a *Adapter) hasLocalRoom(room adapter.Room) bool {
	found := false
	a.LocalSockets(&adapter.BroadcastOptions{Rooms: []adapter.Room{room}}, func(s []adapter.Socket) {
		found = len(s) > 0
	})
	return found
}

// onBroadcast delivers another node's broadcast to the sockets of this
// node (on the subscription goroutine: delivery only queues packets).
func (a *Adapter) onBroadcast(m *broadcastMessage) {
	if m.uid == a.b.uid || m.nsp != a.name {
		return
	}
	p := &parser.Packet{Type: parser.Event, Namespace: a.name, Data: m.data}
	a.LocalSockets(m.opts, func(targets []adapter.Socket) {
		if len(targets) == 0 {
			return
		}
		frames, err := a.nsp.Encode(p)
		if err != nil {
			a.b.log.Warn("redisadapter: cannot encode a broadcast from another node", "nsp", a.name, "err", err)
			return
		}
		for _, s := range targets {
			s.Deliver(p, frames, m.opts.Flags.Volatile)
		}
	})
}

// onRequest answers another node's request. It runs on the subscription
// goroutine: what it does for the request only queues packets and
// responses; server-side events run on the namespace's event goroutine.
func (a *Adapter) onRequest(req map[string]any) {
	uid := readString(req["uid"])
	if uid == a.b.uid {
		return // ours: applied locally already
	}
	typ, _ := readInt(req["type"])
	requestID := readString(req["requestId"])
	ctx := context.Background()
	reply := func(msg map[string]any) {
		msg["requestId"] = requestID
		a.respond(a.responseChannel(uid), msg, false)
	}
	switch requestType(typ) {
	case typeSockets:
		opts := &adapter.BroadcastOptions{Rooms: readRooms(req["rooms"]), Except: readRooms(req["except"])}
		ids, _ := a.InMemory.SocketIDs(ctx, opts)
		if ids == nil {
			ids = []string{}
		}
		reply(map[string]any{"sockets": ids})
	case typeAllRooms:
		rooms, _ := a.InMemory.AllRooms(ctx)
		reply(map[string]any{"rooms": roomStrings(rooms)})
	case typeRemoteJoin, typeRemoteLeave:
		join := requestType(typ) == typeRemoteJoin
		if o, ok := req["opts"]; ok {
			opts, rooms := readOptions(o), readRooms(req["rooms"])
			if join {
				_ = a.InMemory.AddSockets(ctx, opts, rooms)
			} else {
				_ = a.InMemory.DelSockets(ctx, opts, rooms)
			}
			return
		}
		// The form of older Node adapters: one socket, one room, an answer.
		sid, room := readString(req["sid"]), adapter.Room(readString(req["room"]))
		if !a.isLocal(sid) {
			return
		}
		if join {
			a.Join(sid, room)
		} else {
			a.Leave(sid, room)
		}
		reply(map[string]any{})
	case typeRemoteDisconnect:
		closeConn := req["close"] == true
		if o, ok := req["opts"]; ok {
			_ = a.InMemory.DisconnectSockets(ctx, readOptions(o), closeConn)
			return
		}
		sid := readString(req["sid"])
		if !a.isLocal(sid) {
			return
		}
		_ = a.InMemory.DisconnectSockets(ctx, &adapter.BroadcastOptions{Rooms: []adapter.Room{adapter.Room(sid)}}, closeConn)
		reply(map[string]any{})
	case typeRemoteFetch:
		details, _ := a.InMemory.FetchSockets(ctx, readOptions(req["opts"]))
		sockets := make([]any, len(details))
		for i, d := range details {
			sockets[i] = socketToWire(d)
		}
		reply(map[string]any{"sockets": sockets})
	case typeServerSideEmit:
		a.onServerSideEmit(req, requestID)
	case typeBroadcast:
		a.onBroadcastWithAck(req, uid, requestID)
	}
}

func (a *Adapter) isLocal(id string) bool {
	return id != "" && a.hasLocalRoom(adapter.Room(id))
}

// onServerSideEmit runs the namespace's handlers of a server-side event,
// one event at a time, off the subscription goroutine.
func (a *Adapter) onServerSideEmit(req map[string]any, requestID string) {
	data, _ := req["data"].([]any)
	if len(data) == 0 {
		return
	}
	event, ok := data[0].(string)
	if !ok {
		return
	}
	args := data[1:]
	var ack func([]any)
	if _, withAck := req["requestId"]; withAck {
		var once atomic.Bool
		ack = func(args []any) {
			if !once.CompareAndSwap(false, true) {
				return
			}
			msg := map[string]any{"type": typeServerSideEmit, "requestId": requestID}
			if len(args) > 0 {
				msg["data"] = args[0] // one argument, as the Node adapter
			}
			// Always the common channel, as the Node adapter.
			a.respond(a.ch.response, msg, false)
		}
	}
	a.events.push(func() { a.nsp.ServerSideEvent(event, args, ack) })
}

// onBroadcastWithAck delivers another node's broadcast with
// acknowledgements, and reports the client count and the answers.
func (a *Adapter) onBroadcastWithAck(req map[string]any, uid, requestID string) {
	data, nsp, ok := readPacketData(req["packet"])
	if !ok || nsp != a.name {
		return
	}
	opts := readOptions(req["opts"])
	channel := a.responseChannel(uid)
	p := &parser.Packet{Type: parser.Event, Namespace: a.name, ID: a.nextAckID(), HasID: true, Data: data}
	h := adapter.AckHandler{
		Expect: func(n int) {
			a.respond(channel, map[string]any{
				"type": typeBroadcastClientCount, "requestId": requestID, "clientCount": n,
			}, false)
		},
		Ack: func(_ string, args parser.Payload) {
			msg := map[string]any{"type": typeBroadcastAck, "requestId": requestID}
			if args != nil && args.Len() > 0 {
				v, err := args.Value(0)
				if err != nil {
					return
				}
				msg["packet"] = v
			}
			a.respond(channel, msg, true)
		},
	}
	_ = a.InMemory.BroadcastWithAck(context.Background(), p, opts, h)
}

// onResponse hands another node's response to the request it answers.
func (a *Adapter) onResponse(resp map[string]any) {
	id := readString(resp["requestId"])
	if id == "" {
		return
	}
	a.mu.Lock()
	ar := a.ackRequests[id]
	pr := a.requests[id]
	a.mu.Unlock()
	if ar != nil {
		typ, _ := readInt(resp["type"])
		switch requestType(typ) {
		case typeBroadcastClientCount:
			if n, ok := readInt(resp["clientCount"]); ok && ar.h.Expect != nil {
				ar.h.Expect(int(n))
			}
		case typeBroadcastAck:
			args := treePayload{}
			if v, ok := resp["packet"]; ok {
				args = treePayload{v}
			}
			if ar.h.Ack != nil {
				ar.h.Ack("", args)
			}
		}
		return
	}
	if pr != nil {
		pr.add(resp)
	}
}

// serialQueue runs tasks one at a time, in order, on a goroutine that
// exists only while tasks wait.
type serialQueue struct {
	log     interface{ Error(string, ...any) }
	mu      sync.Mutex
	tasks   []func()
	running bool
	closed  bool
}

// maxQueuedEvents bounds the server-side events waiting for a slow
// handler.
const maxQueuedEvents = 10000

var errEventsFull = errors.New("redisadapter: too many server-side events waiting; dropped")

func (q *serialQueue) push(f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if len(q.tasks) >= maxQueuedEvents {
		q.log.Error(errEventsFull.Error())
		return
	}
	q.tasks = append(q.tasks, f)
	if !q.running {
		q.running = true
		go q.run()
	}
}

func (q *serialQueue) run() {
	for {
		q.mu.Lock()
		if len(q.tasks) == 0 || q.closed {
			q.tasks = nil
			q.running = false
			q.mu.Unlock()
			return
		}
		f := q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		q.mu.Unlock()
		f()
	}
}

func (q *serialQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.tasks = nil
	q.mu.Unlock()
}
