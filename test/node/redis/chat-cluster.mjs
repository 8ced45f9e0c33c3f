// The chat protocol of examples/express-style/cluster on two nodes of a
// Redis cluster, driven by socket.io-client: alice on node A (WebSocket),
// bob on node B (long-polling), carol on node B (polling, then upgrade).
// Env: URL_A, URL_B. Prints one JSON line: {alice: [...], bob: [...],
// carol: [...]}, each the events that client received, in order, as
// [name, payload]: the same as one node's (test/node/examples/chat-protocol.mjs).
import { io } from "socket.io-client";

const { URL_A, URL_B } = process.env;
const WAIT = 20_000;
const events = ["login", "user joined", "user left", "new message", "typing", "stop typing"];

function client(name, url, transports) {
  const socket = io(url, { transports, reconnection: false, forceNew: true, timeout: WAIT });
  const log = [];
  const waiters = [];
  for (const ev of events) {
    socket.on(ev, (data) => {
      log.push([ev, data]);
      for (const w of waiters.splice(0)) w();
    });
  }
  // next waits until the client has received n events in all.
  const next = (n, what) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: timed out waiting for ${what}; got ${JSON.stringify(log)}`)), WAIT);
    const check = () => {
      if (log.length >= n) { clearTimeout(timer); resolve(); } else waiters.push(check);
    };
    check();
  });
  const connected = new Promise((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("connect_error", (err) => reject(new Error(`${name}: connect_error ${err.message}`)));
  });
  return { socket, log, next, connected };
}

const alice = client("alice", URL_A, ["websocket"]);
const bob = client("bob", URL_B, ["polling"]);
const carol = client("carol", URL_B, ["polling", "websocket"]);
try {
  await Promise.all([alice.connected, bob.connected, carol.connected]);

  // carol has not sent "add user": ignored.
  carol.socket.emit("new message", "sneaky");
  carol.socket.emit("typing");
  carol.socket.emit("stop typing");

  // Every step waits for every recipient, so that each log has one order.
  alice.socket.emit("add user", "alice");
  await Promise.all([alice.next(1, "login"), bob.next(1, "alice joined"), carol.next(1, "alice joined")]);
  bob.socket.emit("add user", "bob");
  await Promise.all([bob.next(2, "login"), alice.next(2, "bob joined"), carol.next(2, "bob joined")]);

  alice.socket.emit("add user", "mallory"); // a second "add user" is ignored
  alice.socket.emit("new message", "Hello bob!");
  await Promise.all([bob.next(3, "alice's message"), carol.next(3, "alice's message")]);
  bob.socket.emit("new message", "Hi alice!");
  await Promise.all([alice.next(3, "bob's message"), carol.next(4, "bob's message")]);
  bob.socket.emit("typing");
  await Promise.all([alice.next(4, "typing"), carol.next(5, "typing")]);
  bob.socket.emit("stop typing");
  await Promise.all([alice.next(5, "stop typing"), carol.next(6, "stop typing")]);

  carol.socket.emit("add user", "  carol  ");
  await Promise.all([carol.next(7, "login"), alice.next(6, "carol joined"), bob.next(4, "carol joined")]);

  bob.socket.disconnect();
  await Promise.all([alice.next(7, "bob left"), carol.next(8, "bob left")]);

  console.log(JSON.stringify({ alice: alice.log, bob: bob.log, carol: carol.log }));
} finally {
  for (const c of [alice, bob, carol]) c.socket.disconnect();
}
