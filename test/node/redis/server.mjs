// A Node Socket.IO server (socket.io 4.8) in a Redis cluster with the
// official adapter (@socket.io/redis-adapter 8.3, classic pub/sub), the
// peer of the Go servers in redisadapter's interop test and benchmark.
//
// Its clients control it as they control the Go test servers (see
// redisadapter/ops_test.go): "join", "leave", "set data" and "rooms" act
// on their own socket; "op" runs a cluster operation ({op, rooms, except,
// local, volatile, event, args, ...}) and acknowledges its result, or
// {error}. Server-side events "sse" are recorded (op "serverEvents") and
// answered with {from: name, args}.
//
// For the cross-node benchmark, "fire" (seq) broadcasts "tick" to the room
// "bench", and "burst" (n) broadcasts n ticks.
//
// Standalone: PORT=3001 REDIS_URL=redis://127.0.0.1:6379 node redis/server.mjs
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

// What every benchmark tick carries besides its sequence number.
const tickPayload = { text: "hello from the other node", n: 42, list: [1, 2, 3] };

export async function startServer({ redisUrl, port = 0, name = "node", adapterOptions = {}, quitOnRequest = false }) {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on("error", (err) => console.error(`${name}: redis pub: ${err.message}`));
  sub.on("error", (err) => console.error(`${name}: redis sub: ${err.message}`));
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, adapterOptions) });
  const serverEvents = [];
  io.on("sse", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    serverEvents.push(args);
    if (cb) cb({ from: name, args });
  });
  io.on("connection", (socket) => {
    socket.on("join", (room, cb) => {
      socket.join(room);
      cb?.(name);
    });
    socket.on("leave", (room, cb) => {
      socket.leave(room);
      cb?.(name);
    });
    socket.on("set data", (data, cb) => {
      socket.data = data;
      cb?.(name);
    });
    socket.on("rooms", (...args) => args.pop()?.([...socket.rooms]));
    // The cross-node benchmark (redisadapter/bench_test.go): "fire"
    // broadcasts one tick to the room "bench", "burst" n ticks.
    socket.on("fire", (seq) => {
      io.to("bench").emit("tick", seq, tickPayload);
    });
    socket.on("burst", (n, cb) => {
      for (let i = 0; i < n; i++) io.to("bench").emit("tick", i, tickPayload);
      cb?.(n);
    });
    if (quitOnRequest) {
      socket.on("quit", async (cb) => {
        cb?.("bye");
        setTimeout(async () => {
          await close();
          process.exit(0);
        }, 50);
      });
    }
    socket.on("op", async (op, cb) => {
      try {
        cb(await runOp(io, op, serverEvents));
      } catch (err) {
        cb({ error: err.message });
      }
    });
  });
  await new Promise((resolve) => httpServer.listen(port, "127.0.0.1", resolve));
  async function close() {
    await new Promise((resolve) => io.close(() => resolve()));
    await Promise.allSettled([pub.quit(), sub.quit()]);
  }
  return { io, port: httpServer.address().port, close };
}

async function runOp(io, op, serverEvents) {
  let sel = io.to(op.rooms ?? []).except(op.except ?? []);
  if (op.local) sel = sel.local;
  if (op.volatile) sel = sel.volatile;
  const args = op.args ?? [];
  const remote = async () => {
    const [socket] = await io.in(op.id).fetchSockets();
    if (!socket) throw new Error(`no socket ${op.id}`);
    return socket;
  };
  switch (op.op) {
    case "emit":
      sel.emit(op.event, ...args);
      return "ok";
    case "emitWithAck":
      return await sel.timeout(10000).emitWithAck(op.event, ...args);
    case "fetchSockets":
      return (await sel.fetchSockets()).map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, handshake: s.handshake }));
    case "remoteEmit":
      (await remote()).emit(op.event, ...args);
      return "ok";
    case "remoteJoin":
      (await remote()).join(op.room);
      return "ok";
    case "remoteLeave":
      (await remote()).leave(op.room);
      return "ok";
    case "remoteDisconnect":
      (await remote()).disconnect(!!op.close);
      return "ok";
    case "socketsJoin":
      sel.socketsJoin(op.join);
      return "ok";
    case "socketsLeave":
      sel.socketsLeave(op.leave);
      return "ok";
    case "disconnectSockets":
      sel.disconnectSockets(!!op.close);
      return "ok";
    case "serverSideEmit":
      io.serverSideEmit(op.event, ...args);
      return "ok";
    case "serverSideEmitWithAck":
      return await io.serverSideEmitWithAck(op.event, ...args);
    case "serverEvents":
      return serverEvents.splice(0);
    case "serverCount":
      return await io.of("/").adapter.serverCount();
    case "allRooms":
      return [...(await io.of("/").adapter.allRooms())];
  }
  throw new Error(`unknown op ${op.op}`);
}

// Standalone; QUIT_ON_REQUEST=1 lets a client stop the process with "quit".
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer({
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    port: Number(process.env.PORT ?? 3001),
    name: process.env.NAME ?? "node",
    quitOnRequest: process.env.QUIT_ON_REQUEST === "1",
  });
  console.log(JSON.stringify({ listening: server.port }));
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
