// Interop scenarios of socket.io-client 4.8.x with socket.io-msgpack-parser
// against the Go server of msgpackparser/interop_test.go, which uses
// msgpackparser.New().
//
//   node msgpack/interop.mjs <server URL> <polling|websocket|upgrade>
//
// Each scenario prints one line {"check": name, "ok": bool, "detail": ...};
// the Go test requires every expected check to be present and ok. A scenario
// that throws prints ok:false with the error, and the next one runs.
import { createRequire } from "node:module";
import { io, Manager } from "socket.io-client";

const require = createRequire(import.meta.url);
const parser = require("socket.io-msgpack-parser");

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
  parser,
  ...extra,
});

function report(check, ok, detail) {
  console.log(JSON.stringify({ check, ok: !!ok, detail }));
}

function within(p, what, ms = STEP_TIMEOUT) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const once = (emitter, event) => within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), event);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ack = (socket, event, ...args) =>
  within(new Promise((resolve) => socket.emit(event, ...args, (...res) => resolve(res))), `ack of ${event}`);

const sockets = [];
async function connect(nsp = "/", extra = {}) {
  const s = io(url + nsp, options(extra));
  sockets.push(s);
  await once(s, "connect");
  await settled(s);
  return s;
}

// settled waits until the socket's engine uses WebSocket (upgrade mode), so
// that the scenario runs over the upgraded transport.
async function settled(s) {
  if (mode !== "upgrade") return;
  if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
}

// same compares decoded values: Buffers by content, the rest structurally.
function same(a, b) {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return same(ka, kb) && ka.every((k) => same(a[k], b[k]));
  }
  return Object.is(a, b);
}

// show renders values for a failure detail (Buffers as {$bin: hex}).
const show = (v) => JSON.parse(JSON.stringify(v, (k, x) => (x && x.type === "Buffer" && Array.isArray(x.data) ? { $bin: Buffer.from(x.data).toString("hex") } : x)));

// Values of every MessagePack kind, and what comes back after a round trip
// through Go's Values() and Emit/Ack.
const allKinds = [
  1, -7, 2 ** 40, -(2 ** 40), 1.5, 0.1, Number.MAX_SAFE_INTEGER, "two", "ünïcødé ✓ 😀", "x".repeat(300), true, false, null,
  { three: [3, { four: true }] }, Buffer.from([1, 2, 3]), { bin: [Buffer.from([9]), { deep: Buffer.from([8, 7]) }] },
  [], {}, Buffer.alloc(0), Buffer.alloc(70000, 5),
];

const scenarios = {
  async "CONNECT with auth, and the CONNECT reply"() {
    const auth = { user: "ana", n: 7, nested: { ok: true, list: [1, "x"] } };
    const s = await connect("/", { auth });
    const [got] = await ack(s, "auth");
    return { ok: typeof s.id === "string" && s.id.length > 0 && same(got, auth), detail: { id: s.id, got } };
  },

  async "EVENT with ack: every value kind both ways"() {
    const s = await connect();
    const res = await ack(s, "echo-ack", ...allKinds);
    return { ok: same(res, allKinds), detail: res.length };
  },

  async "server EVENT echoing the client's values"() {
    const s = await connect();
    const back = once(s, "echo-back");
    s.emit("echo", ...allKinds);
    const got = await back;
    return { ok: same(got, allKinds), detail: got.length };
  },

  async "JavaScript types: Date, undefined, typed arrays, non-finite numbers"() {
    const s = await connect();
    const res = await ack(s, "echo-ack", new Date(0), undefined, { u: undefined, k: 1 }, new Uint8Array([4, 5, 6]), NaN, -Infinity, -0);
    const want = ["1970-01-01T00:00:00.000Z", null, { k: 1 }, Buffer.from([4, 5, 6]), null, null, 0];
    return { ok: same(res, want), detail: show(res) };
  },

  async "server emits binary from Go values"() {
    const s = await connect();
    const got = once(s, "binary");
    await ack(s, "send-binary");
    const args = await got;
    const want = [
      Buffer.from([1, 2, 3]),
      { nested: [Buffer.from([4]), Buffer.from([5, 6])], text: "t" },
      { name: "file.bin", data: Buffer.from("hello"), at: "2024-02-03T04:05:06Z", size: 5 },
      [Buffer.from([7])],
    ];
    return { ok: same(args, want), detail: show(args) };
  },

  async "server ACK request answered by the client with binary"() {
    const s = await connect();
    s.on("question", (n, q, cb) => cb(Buffer.from([n]), { got: q }));
    const [res] = await ack(s, "ask-me");
    return { ok: res && res.ok === true, detail: res };
  },

  async "numeric event name"() {
    const s = await connect();
    const res = await ack(s, 42, "answer");
    return { ok: same(res, ["42", "answer"]), detail: res };
  },

  async "namespaces multiplexed over one connection"() {
    const m = new Manager(url, options());
    const main = m.socket("/");
    const admin = m.socket("/admin", { auth: { token: "secret" } });
    sockets.push(main, admin);
    await Promise.all([once(main, "connect"), once(admin, "connect")]);
    const [a] = await ack(admin, "hello");
    const [b] = await ack(main, "hello");
    return { ok: a === "hello from /admin" && b === "hello from /" && main.io === admin.io, detail: [a, b] };
  },

  async "CONNECT_ERROR with data from middleware"() {
    const s = io(url + "/admin", options({ auth: { token: "wrong" } }));
    sockets.push(s);
    const [err] = await once(s, "connect_error");
    const ok = err.message === "not authorized" && same(err.data, { code: 401, blob: Buffer.from([0xca, 0xfe]) });
    return { ok, detail: { message: err.message, data: show(err.data) } };
  },

  async "CONNECT_ERROR for an unknown namespace"() {
    const s = io(url + "/nowhere", options());
    sockets.push(s);
    const [err] = await once(s, "connect_error");
    return { ok: err.message === "Invalid namespace", detail: err.message };
  },

  async "broadcast to a room and to everyone"() {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    await ack(a, "join", "room1");
    await ack(b, "join", "room1");
    let cGotRoom = false;
    c.on("shouted", () => (cGotRoom = true));
    const bGot = once(b, "shouted");
    let aGotOwn = false;
    a.on("shouted", () => (aGotOwn = true));
    await ack(a, "shout", "room1", "hi room");
    const [msg, bin] = await bGot;
    const all = [a, b, c].map((s) => once(s, "everyone"));
    await ack(c, "to-everyone", Buffer.from([3]));
    const got = await Promise.all(all);
    await sleep(100);
    const ok = msg === "hi room" && same(bin, Buffer.from([7])) && !cGotRoom && !aGotOwn && got.every((g) => same(g, [Buffer.from([3])]));
    return { ok, detail: { msg, cGotRoom, aGotOwn } };
  },

  async "DISCONNECT from the client"() {
    const m = new Manager(url, options());
    const main = m.socket("/");
    const admin = m.socket("/admin", { auth: { token: "secret" } });
    sockets.push(main, admin);
    await Promise.all([once(main, "connect"), once(admin, "connect")]);
    admin.disconnect();
    // The main namespace still works on the same connection; the server
    // reports the namespace disconnection it saw.
    const [reasons] = await within(
      (async () => {
        for (;;) {
          const r = await ack(main, "admin-reasons");
          if (r[0].includes("client namespace disconnect")) return r;
          await sleep(50);
        }
      })(),
      "server-side disconnect",
    );
    return { ok: main.connected && !admin.connected, detail: reasons };
  },

  async "DISCONNECT from the server"() {
    const s = await connect();
    const gone = once(s, "disconnect");
    s.emit("kick-me");
    const [reason] = await gone;
    return { ok: reason === "io server disconnect", detail: reason };
  },
};

// ONLY=<substring> runs the matching scenarios alone (for debugging).
const only = process.env.ONLY;
for (const [name, fn] of Object.entries(scenarios)) {
  if (only && !name.includes(only)) continue;
  try {
    const { ok, detail } = await within(fn(), name, 3 * STEP_TIMEOUT);
    report(name, ok, detail);
  } catch (err) {
    report(name, false, String(err && err.stack ? err.stack : err));
  }
  for (const s of sockets.splice(0)) s.disconnect();
}
await sleep(200);
process.exit(0);
