// Interop scenarios of the official socket.io-client (4.8.x) against the Go
// server of core/interop_test.go.
//
//   node sio/interop.mjs <server URL> <polling|websocket|upgrade>
//
// Each scenario prints one line {"check": name, "ok": bool, "detail": ...};
// the Go test requires every expected check to be present and ok. A scenario
// that throws (a timeout, an unexpected error) prints ok:false with the
// error, and the next scenario runs. Logs go to stderr.
import { io, Manager } from "socket.io-client";

const [url, mode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
if (!url || !transports) {
  console.error("usage: interop.mjs <url> <polling|websocket|upgrade>");
  process.exit(2);
}
const STEP_TIMEOUT = 10000;

const options = (extra = {}) => ({
  transports,
  upgrade: mode === "upgrade",
  forceNew: true,
  reconnection: false,
  timeout: STEP_TIMEOUT,
  ...extra,
});

function report(check, ok, detail) {
  console.log(JSON.stringify({ check, ok: !!ok, detail }));
}

// within rejects when p does not settle in time, naming the step.
function within(p, what, ms = STEP_TIMEOUT) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// once resolves with the arguments of the next `event` of emitter.
const once = (emitter, event) => within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), event);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ack emits with a callback and resolves with all the callback's arguments.
const ack = (socket, event, ...args) =>
  within(new Promise((resolve) => socket.emit(event, ...args, (...res) => resolve(res))), `ack of ${event}`);

const sockets = [];
async function connect(nsp = "/", extra = {}) {
  const s = io(url + nsp, options(extra));
  sockets.push(s);
  await once(s, "connect");
  return s;
}

// upgraded waits until the socket's engine uses WebSocket (upgrade mode).
async function settled(s) {
  if (mode !== "upgrade") return;
  if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
}

const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const isBuf = (b, bytes) => Buffer.isBuffer(b) && b.equals(Buffer.from(bytes));

const scenarios = {
  async "emit several arguments, objects and nested binary both ways"() {
    const s = await connect();
    const sent = [1, "two", { three: [3, { four: true }] }, Buffer.from([1, 2, 3]), { bin: [Buffer.from([9]), { deep: Buffer.from([8, 7]) }] }, null];
    const back = once(s, "echo-back");
    s.emit("echo", ...sent);
    const got = await back;
    return {
      ok:
        got.length === 6 &&
        got[0] === 1 &&
        got[1] === "two" &&
        eq(got[2], sent[2]) &&
        isBuf(got[3], [1, 2, 3]) &&
        isBuf(got[4].bin[0], [9]) &&
        isBuf(got[4].bin[1].deep, [8, 7]) &&
        got[5] === null,
      detail: got.length,
    };
  },

  async "send and message"() {
    const s = await connect();
    const msg = once(s, "message");
    s.send("hello", 2);
    const got = await msg;
    return { ok: eq(got, ["echo: hello", 2]), detail: got };
  },

  async "client ack with several arguments and binary"() {
    const s = await connect();
    const res = await ack(s, "echo-ack", 1, { a: "b" }, Buffer.from([5, 6]));
    return { ok: res.length === 3 && res[0] === 1 && eq(res[1], { a: "b" }) && isBuf(res[2], [5, 6]), detail: res.length };
  },

  async "client timeout().emitWithAck answered"() {
    const s = await connect();
    const res = await s.timeout(5000).emitWithAck("echo-ack", "first", "second");
    return { ok: res === "first", detail: res };
  },

  async "client timeout().emitWithAck times out"() {
    const s = await connect();
    try {
      await s.timeout(200).emitWithAck("no-answer");
      return { ok: false, detail: "resolved" };
    } catch (err) {
      return { ok: /timed out/.test(err.message), detail: err.message };
    }
  },

  async "server EmitWithAck answered by the client"() {
    const s = await connect();
    s.on("question", (q, cb) => cb(`answer to ${q}`));
    const [res] = await ack(s, "ask-me");
    return { ok: res === "answer to q1", detail: res };
  },

  async "server EmitWithAck with timeout, unanswered"() {
    const s = await connect();
    s.on("silent-question", () => {}); // never acknowledged
    const [res] = await ack(s, "ask-me-timeout");
    return { ok: res === "timeout", detail: res };
  },

  async "broadcast acknowledgements"() {
    const a = await connect();
    const b = await connect();
    b.on("bq", (cb) => cb("B"));
    a.on("bq", (cb) => cb("A"));
    b.on("bq-partial", () => {}); // B does not answer this one
    a.on("bq-partial", (cb) => cb("A"));
    await ack(a, "join", "ackroom");
    await ack(b, "join", "ackroom");
    const [all] = await ack(a, "bcast-ack", "ackroom");
    const [partial] = await ack(a, "bcast-ack-partial", "ackroom");
    return {
      ok: eq([...all.answers].sort(), ["A", "B"]) && !all.timedOut && eq(partial.answers, ["A"]) && partial.timedOut,
      detail: { all, partial },
    };
  },

  async "join, leave and room broadcasts"() {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    const got = { a: [], b: [], c: [] };
    for (const [name, s] of Object.entries({ a, b, c })) s.on("room-msg", (m) => got[name].push(m));
    await ack(a, "join", "r1");
    await ack(b, "join", "r1");
    await ack(c, "join", "r2");
    await ack(c, "to-room", "r1", "m1");
    await ack(b, "leave", "r1");
    await ack(c, "to-room", "r1", "m2");
    await ack(a, "to-room", "r2", "m3");
    // A round trip on each socket makes sure every room message arrived.
    for (const s of [a, b, c]) await ack(s, "echo-ack");
    return { ok: eq(got, { a: ["m1", "m2"], b: ["m1"], c: ["m3"] }), detail: got };
  },

  async "broadcast excluding the sender"() {
    const [a, b] = [await connect(), await connect()];
    const got = { a: 0, b: 0 };
    a.on("shouted", () => got.a++);
    b.on("shouted", () => got.b++);
    await ack(a, "shout", "hi");
    await ack(a, "echo-ack");
    await ack(b, "echo-ack");
    return { ok: got.a === 0 && got.b === 1, detail: got };
  },

  async "private message to a socket ID"() {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    const got = { b: [], c: [] };
    b.on("pm", (from, m) => got.b.push([from, m]));
    c.on("pm", (from, m) => got.c.push([from, m]));
    await ack(a, "pm", b.id, "secret");
    await ack(b, "echo-ack");
    await ack(c, "echo-ack");
    return { ok: eq(got, { b: [[a.id, "secret"]], c: [] }), detail: got };
  },

  async "automatic leave on disconnect"() {
    const [a, b] = [await connect(), await connect()];
    await ack(a, "join", "auto");
    await ack(b, "join", "auto");
    const [before] = await ack(a, "room-size", "auto");
    b.disconnect();
    let after;
    for (let i = 0; i < 100; i++) {
      [after] = await ack(a, "room-size", "auto");
      if (after === 1) break;
      await sleep(20);
    }
    return { ok: before === 2 && after === 1, detail: { before, after } };
  },

  async "volatile events"() {
    const s = await connect();
    await settled(s);
    let got = null;
    s.on("volatile-pong", (n) => (got = n));
    // Volatile events may be dropped when the transport is busy: ask until
    // one arrives.
    for (let i = 0; i < 100 && got === null; i++) {
      await ack(s, "volatile-ping", i);
      await sleep(20);
    }
    return { ok: got !== null, detail: got };
  },

  async "custom namespace, multiplexed over one connection"() {
    const m = new Manager(url, options({ autoConnect: false }));
    const root = m.socket("/");
    const custom = m.socket("/custom", { auth: { n: 1 } });
    sockets.push(root, custom);
    root.connect();
    custom.connect();
    await Promise.all([root.connected || once(root, "connect"), custom.connected || once(custom, "connect")]);
    const [r1] = await ack(root, "conn-id");
    const [r2] = await ack(custom, "conn-id");
    const [hello] = await ack(custom, "hello");
    return { ok: r1 === r2 && hello === "hello from /custom" && root.id !== custom.id, detail: { r1, r2, hello } };
  },

  async "dynamic namespace"() {
    const s = io(url + "/dyn-42", options());
    sockets.push(s);
    const welcome = once(s, "welcome");
    await once(s, "connect");
    const [nsp] = await welcome;
    const [hello] = await ack(s, "hello");
    return { ok: nsp === "/dyn-42" && hello === "hello from /dyn-42", detail: { nsp, hello } };
  },

  async "middleware accepts and rejects with data"() {
    const bad = io(url + "/private", options({ auth: { token: "wrong" } }));
    sockets.push(bad);
    const [err] = await once(bad, "connect_error");
    const plain = io(url + "/plain", options());
    sockets.push(plain);
    const [perr] = await once(plain, "connect_error");
    const good = await connect("/private", { auth: { token: "secret" } });
    const [who] = await ack(good, "whoami");
    return {
      ok:
        err.message === "not authorized" &&
        eq(err.data, { code: 401, hint: "use the token" }) &&
        perr.message === "plain refusal" &&
        perr.data === undefined &&
        good.connected &&
        who === "secret",
      detail: { message: err.message, data: err.data, plain: perr.message },
    };
  },

  async "handshake auth, query and extraHeaders"() {
    const s = await connect("/", { auth: { user: "ann" }, query: { foo: "bar" }, extraHeaders: { "x-custom": "hdr" } });
    const [h] = await ack(s, "handshake");
    return {
      ok: eq(h.auth, { user: "ann" }) && h.foo === "bar" && h.header === "hdr" && h.address === "127.0.0.1",
      detail: h,
    };
  },

  async "socket data"() {
    const s = await connect("/", { auth: { user: "bob" } });
    const [data] = await ack(s, "data");
    const [fetched] = await ack(s, "fetch-data");
    return { ok: eq(data, { user: "bob" }) && fetched.includes("bob"), detail: { data, fetched } };
  },

  async "server-initiated disconnect"() {
    const s = await connect("/", { reconnection: true });
    const gone = once(s, "disconnect");
    s.emit("kick-me");
    const [reason] = await gone;
    await sleep(100);
    return { ok: reason === "io server disconnect" && !s.connected && !s.active, detail: reason };
  },

  async "reconnection after the server closes the transport"() {
    const s = await connect("/", { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    // Not during an upgrade: engine.io-client whose probe is closed once it
    // paused polling stays paused until its heartbeat gives up (the same
    // happens with the reference server).
    await settled(s);
    const firstID = s.id;
    const gone = once(s, "disconnect");
    s.emit("drop-transport");
    const [reason] = await gone;
    await once(s, "connect");
    const [res] = await ack(s, "echo-ack", "back");
    s.io.reconnection(false);
    return { ok: reason === "transport close" && s.id !== firstID && res === "back", detail: { reason } };
  },

  async "catch-all listeners"() {
    const s = await connect();
    const incoming = [];
    const outgoing = [];
    s.onAny((ev, ...args) => incoming.push([ev, ...args]));
    s.onAnyOutgoing((ev, ...args) => outgoing.push(ev));
    const back = once(s, "any-back");
    s.emit("any-test", 1);
    await back;
    const [server] = await ack(s, "any-log");
    return {
      ok: eq(incoming, [["any-back", 1]]) && eq(outgoing, ["any-test", "any-log"]) && eq(server.in, ["any-test", "any-log"]) && eq(server.out, ["any-back"]),
      detail: { incoming, outgoing, server },
    };
  },

  async "ordering of many rapid emits"() {
    const s = await connect();
    const n = 500;
    for (let i = 0; i < n; i++) s.emit("seq", i);
    const [res] = await ack(s, "seq-done");
    const got = [];
    const all = within(
      new Promise((resolve) => {
        s.on("seq-s", (i) => {
          got.push(i);
          if (got.length === n) resolve();
        });
      }),
      "server emits",
    );
    s.emit("seq-send", n);
    await all;
    const inOrder = got.every((v, i) => v === i);
    return { ok: res.count === n && res.inOrder && inOrder, detail: { server: res, client: inOrder } };
  },

  async "engine upgrade observed on the server"() {
    const s = await connect();
    await settled(s);
    const name = s.io.engine.transport.name;
    const [server] = await ack(s, "transport");
    const want = mode === "polling" ? "polling" : "websocket";
    return { ok: name === want && server === want, detail: { client: name, server } };
  },
};

for (const [name, run] of Object.entries(scenarios)) {
  try {
    const { ok, detail } = await within(run(), name, 30000);
    report(name, ok, detail);
  } catch (err) {
    report(name, false, String(err && err.stack ? err.stack : err));
  }
  for (const s of sockets.splice(0)) s.disconnect();
}
// No process.exit: node ends once the last close packets are out (long-polling
// sends them by POST), so that the server sees every client leave.
