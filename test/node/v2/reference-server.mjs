// The Node.js reference (socket.io 4.8.4 with allowEIO3) with the handlers
// the 2.x interop scenarios (interop.mjs, mixed.mjs) expect; the Go
// server of core/eio3_interop_test.go has the same ones. capture.mjs runs
// the scenarios against it, so that they are checked against the reference
// itself.
import http from "node:http";
import { Server } from "socket.io";

// startReferenceServer listens on 127.0.0.1 and resolves with the port.
export function startReferenceServer({ pingInterval = 300, pingTimeout = 1000 } = {}) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { allowEIO3: true, pingInterval, pingTimeout });
  const connIds = new WeakMap();
  let nextConn = 1;
  const connId = (socket) => {
    if (!connIds.has(socket.conn)) connIds.set(socket.conn, `c${nextConn++}`);
    return connIds.get(socket.conn);
  };
  const reasons = new Map(); // connection id -> disconnect reasons of its "/" socket

  io.on("connection", (socket) => {
    const id = connId(socket);
    socket.on("disconnect", (r) => {
      if (!reasons.has(id)) reasons.set(id, []);
      reasons.get(id).push(r);
    });
    socket.on("nsp", (cb) => cb(socket.nsp.name));
    socket.on("echo", (...args) => socket.emit("echo-back", ...args));
    socket.on("message", (msg, ...rest) => socket.send(`echo: ${msg}`, ...rest));
    socket.on("echo-ack", (...args) => args.pop()(...args));
    socket.on("bin-ack", (cb) => cb(Buffer.from([1, 2, 3]), "x"));
    socket.on("ask-me", (cb) =>
      socket.timeout(5000).emit("question", "q1", (err, answer) => cb(err ? String(err) : answer)),
    );
    socket.on("ask-me-bin", (cb) =>
      socket.timeout(5000).emit("bin-question", Buffer.from([1, 2, 3]), (err, answer) =>
        cb(err ? String(err) : Buffer.from(answer).toString("hex")),
      ),
    );
    socket.on("join", (room, cb) => {
      socket.join(room);
      cb();
    });
    socket.on("leave", (room, cb) => {
      socket.leave(room);
      cb();
    });
    socket.on("to-room", (room, msg, cb) => {
      io.to(room).emit("room-msg", msg);
      cb();
    });
    socket.on("to-room-bin", (room, msg, bin, cb) => {
      socket.to(room).emit("room-bin", msg, bin);
      cb();
    });
    socket.on("conn-id", (cb) => cb(id));
    socket.on("reasons-of", (c, cb) => cb(reasons.get(c) || []));
    socket.on("handshake", (cb) => cb({ auth: socket.handshake.auth, foo: socket.handshake.query.foo }));
    socket.on("kick-me", () => socket.disconnect());
    socket.on("drop-transport", () => socket.conn.close());
    socket.on("transport", (cb) => cb(socket.conn.transport.name));
    const seq = [];
    socket.on("seq", (i) => seq.push(i));
    socket.on("seq-done", (cb) => cb({ count: seq.length, inOrder: seq.every((v, i) => v === i) }));
    socket.on("seq-send", (n) => {
      for (let i = 0; i < n; i++) socket.emit("seq-s", i);
    });
  });

  const hello = (socket) => {
    socket.on("hello", (cb) => cb(`hello from ${socket.nsp.name}`));
    socket.on("whoami", (cb) => cb(socket.handshake.auth));
    socket.on("conn-id", (cb) => cb(connId(socket)));
  };
  io.of("/custom").on("connection", hello);
  io.of(/^\/dyn-\d+$/).on("connection", hello);
  const priv = io.of("/private");
  priv.use((socket, next) => {
    if (socket.handshake.auth.token !== "secret") {
      const err = new Error("not authorized");
      err.data = { code: 401, hint: "use the token" };
      return next(err);
    }
    next();
  });
  priv.on("connection", (socket) => socket.on("whoami", (cb) => cb(socket.handshake.auth.token)));
  io.of("/plain").use((_, next) => next(new Error("plain refusal")));

  return new Promise((resolve) => {
    httpServer.listen(0, "127.0.0.1", () =>
      resolve({
        port: httpServer.address().port,
        close: () => {
          io.close();
          httpServer.closeAllConnections?.();
        },
      }),
    );
  });
}

// Run alone, it prints {"port": N} and serves until killed.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { port } = await startReferenceServer();
  console.log(JSON.stringify({ port }));
}
