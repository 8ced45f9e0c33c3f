// Package redisadapter runs Socket.IO servers as one cluster over Redis
// pub/sub, speaking the protocol of the Node adapter
// @socket.io/redis-adapter 8.x (createAdapter, classic pub/sub): Go servers
// and Node servers (socket.io 4.x) can share one cluster, so that an
// application moves from Node to Go one node at a time.
//
// # Usage
//
// One [Broker] (or one factory from [New]) per server, on a go-redis
// client:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	io := core.NewServer(core.WithAdapter(redisadapter.New(rdb, nil)))
//
// Then everything that selects sockets acts on the whole cluster: io.Emit,
// io.To(room).Emit, socket.Broadcast(), EmitWithAck (the answers of the
// clients of every node), FetchSockets (sockets of every node, whose
// Emit, Join, Leave and Disconnect reach them where they are),
// SocketsJoin, SocketsLeave, DisconnectSockets, ServerSideEmit and
// ServerSideEmitWithAck (other nodes' OnServerSideEmit handlers), and the
// adapter's AllRooms, SocketIDs and ServerCount. Local() keeps an
// operation on this node.
//
// With the [Options] (nil for the Node adapter's defaults):
//
//	broker := redisadapter.NewBroker(rdb, &redisadapter.Options{
//		Key:             "myapp",          // channel prefix, default "socket.io"
//		RequestsTimeout: 3 * time.Second,  // default 5 s
//		Logger:          slog.Default(),
//	})
//	io := core.NewServer(core.WithAdapter(broker.NewAdapter))
//	...
//	_ = io.Shutdown(ctx) // closes the adapters; the broker stops with the last one
//
// The broker takes one connection for its subscriptions (shared by all the
// namespaces of the server) and publishes through client's pool. It works
// with a *redis.Client, a *redis.FailoverClient (Sentinel) or a
// *redis.ClusterClient (PUBSUB NUMSUB is summed over the shards); not with
// a Ring, which spreads channels over independent servers.
//
// # Wire format
//
// As the Node adapter, for a namespace nsp and the prefix key:
//
//   - broadcasts are published on "key#nsp#", or "key#nsp#room#" when
//     they target exactly one room, and received with PSUBSCRIBE "key#nsp#*"
//     (the pattern's glob characters escaped); the message is msgpack
//     [uid, packet, opts], packet {type: 2, data: [event, args...], nsp}
//     with binary inline as msgpack bin, opts {rooms, except, flags}
//     (flags: volatile, compress, local, timeout in ms);
//   - requests go to "key-request#nsp#", responses to "key-response#nsp#"
//     or, with PublishOnSpecificResponseChannel, to the requesting node's
//     "key-response#nsp#uid#" (every node listens to both); they are JSON
//     objects {uid, requestId, type, ...}, except BROADCAST (7) and
//     BROADCAST_ACK (9), which are msgpack; the types are SOCKETS 0,
//     ALL_ROOMS 1, REMOTE_JOIN 2, REMOTE_LEAVE 3, REMOTE_DISCONNECT 4,
//     REMOTE_FETCH 5, SERVER_SIDE_EMIT 6, BROADCAST 7,
//     BROADCAST_CLIENT_COUNT 8, BROADCAST_ACK 9;
//   - a message that would be JSON but carries binary is sent as msgpack
//     (the Node adapter reads both: JSON starts with "{"), so that []byte
//     arguments of ServerSideEmit or socket data stay binary; Node sends
//     those as JSON, where a Buffer becomes {"type": "Buffer", "data":
//     [...]}, and that is what Go receives from Node;
//   - the server count is PUBSUB NUMSUB of the request channel; uid and
//     request IDs are 6 random characters.
//
// Values are converted faithfully: numbers (integers as msgpack integers,
// other numbers as float64, as notepack.io does; decoded as json.Number
// with JavaScript's formatting), strings, null, booleans, arrays, objects,
// []byte as bin (Node Buffers), the msgpack timestamp of a JavaScript Date
// as its ISO string (what JSON.stringify makes of it). Decoded values are
// the types a parser.Payload gives (nil, bool, string, json.Number,
// []byte, []any, map[string]any). Go values other than those, []string,
// maps of strings and byte slices go through encoding/json, as they would
// for a local client, keeping a struct's field order on the wire. A Go
// receiver's maps do not keep key order (a JSON client sees the keys
// sorted), which JSON does not distinguish.
//
// FetchSockets describes sockets in the shape of Node's socket.handshake:
// headers as an object of lowercase names (repeated headers joined with
// ", ", cookies with "; ", set-cookie as a list), time as a Date string
// and issued in milliseconds, address, xdomain, secure, url, query (one
// value per key, the last) and auth. Go's Handshake.Headers holds no Host
// header (net/http keeps it apart), so a Go socket's handshake has none.
//
// # Semantics
//
//   - A node's broadcasts reach every other node in the order it made
//     them: a broker publishes through one queue, pipelining what is
//     queued together. Broadcasts of different nodes have no order.
//   - Answers relayed from other nodes (EmitWithAck, ServerSideEmitWithAck)
//     carry the first argument of the client's or handler's acknowledgement
//     only, and Ack.SocketID is empty: the protocol has no room for more.
//     A local client's answer is whole.
//   - A node answers a ServerSideEmitWithAck when one of its handlers
//     acknowledges; a node without a handler lets the request time out, as
//     in Node. Server-side events run one at a time per namespace, on a
//     goroutine of the adapter, in the order they came: a slow handler
//     delays the next events, not broadcasts.
//   - SocketIDs sends its except rooms along, but Node nodes answer with
//     the sockets of the rooms regardless (their SOCKETS request has no
//     except).
//   - SocketsJoin, SocketsLeave and DisconnectSockets act on this node's
//     sockets at once and publish the request for the others; they do not
//     wait for the other nodes.
//   - Broadcasts from other nodes are delivered by the subscription
//     goroutine (delivery only queues packets); requests are answered there
//     too, except server-side events.
//
// # When Redis is away
//
// Local delivery never depends on Redis. Operations that wait for the
// cluster (FetchSockets, AllRooms, SocketIDs, EmitWithAck,
// ServerSideEmitWithAck, ServerCount) return Redis's error; SocketsJoin,
// SocketsLeave and DisconnectSockets apply locally and return the
// publishing error, as ServerSideEmit does. Broadcasts do not wait for Redis: a message
// that cannot be published is logged (at most every 10 s, with a count)
// and lost for the other nodes, as pub/sub messages are while a
// subscriber is away; a full publishing queue (4096 messages) blocks the
// broadcaster while Redis answers and drops while it does not.
//
// The subscription connection is re-established by go-redis, which
// subscribes again; the adapter logs the loss and the recovery, and a
// connection silent for 15 s is pinged, then replaced. Requests that do
// not get every answer in time fail with an error wrapping [ErrTimeout]
// (EmitWithAck and ServerSideEmitWithAck: also core.ErrAckTimeout), or
// with their context's error. Closing the last adapter (Server.Shutdown)
// or the broker publishes what is queued (2 s at most), drops the
// subscriptions, fails the requests in flight and stops every goroutine.
//
// Not supported: the sharded adapter (createShardedAdapter, Redis 7
// SPUBLISH) and the Redis streams adapter, whose protocols differ.
//
// # Performance
//
// BenchmarkCrossNode measures a broadcast from one node reaching a client
// of another node, for two Go servers and for two Node servers (socket.io
// 4.8.4, @socket.io/redis-adapter 8.3.0, node-redis 4.7.1, Node 20) in the
// same run, same redis-server 7.0, same Go client (WebSocket), on a 2-CPU
// virtual machine shared with other work; the Go servers share the
// benchmark's process with the client, the Node servers have one process
// each. Three rounds:
//
//	                       Go <-> Go            Node <-> Node       Go advantage
//	latency p50            136-164 µs           283-341 µs          ~2.1x
//	latency p99            451-685 µs           1124-1488 µs        ~2.4x
//	throughput (burst)     28-40 k msgs/s       23-26 k msgs/s      ~1.3x
//
//	go test -run '^$' -bench CrossNode -benchtime 2s ./redisadapter/
package redisadapter
