// A Go server and a Node server (socket.io 4.8 + @socket.io/redis-adapter
// 8.3) in one Redis cluster: every cluster operation, in both directions,
// with socket.io-client clients on each server.
//
//   GO_URL=http://127.0.0.1:1234 REDIS_URL=redis://127.0.0.1:6379 node redis/interop.mjs
//
// The Go server runs redisadapter with the handlers of
// redisadapter/ops_test.go; the Node server is redis/server.mjs, started
// here (with publishOnSpecificResponseChannel, the Go server without: both
// response channels are used). Each scenario prints one line
// {"check": name, "ok": bool, "detail": ...}; the Go test requires every
// expected check to be present and ok. Logs go to stderr.
import { isDeepStrictEqual } from "node:util";
import { io as connect } from "socket.io-client";
import { startServer } from "./server.mjs";

const { GO_URL, REDIS_URL } = process.env;
if (!GO_URL || !REDIS_URL) {
  console.error("usage: GO_URL=... REDIS_URL=... node redis/interop.mjs");
  process.exit(2);
}
const STEP = 10000;

function within(p, what, ms = STEP) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until polls an async condition.
async function until(cond, what, ms = STEP) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
    await sleep(50);
  }
}

// norm makes values comparable: binary of any kind as {$bin: hex}.
function norm(v) {
  if (v instanceof ArrayBuffer) v = Buffer.from(v);
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}
const same = (a, b) => isDeepStrictEqual(norm(a), norm(b));
const show = (v) => JSON.stringify(norm(v));

// A client records its events by name; "question" is answered with
// {name, id, got, bin}.
async function client(name, url) {
  const socket = connect(url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: STEP,
    auth: { token: name },
    query: { q: name },
  });
  const c = { name, socket, queues: new Map(), waiters: [], disconnected: null };
  socket.onAny((event, ...args) => {
    args = args.filter((a) => typeof a !== "function");
    if (!c.queues.has(event)) c.queues.set(event, []);
    c.queues.get(event).push(args);
    for (const w of c.waiters.splice(0)) w();
  });
  socket.on("question", (...args) => {
    const cb = args.pop();
    cb({ name, id: socket.id, got: args, bin: Buffer.from(name) }, "a second argument");
  });
  socket.on("disconnect", (reason) => {
    c.disconnected = reason;
    for (const w of c.waiters.splice(0)) w();
  });
  await within(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    }),
    `${name} connects`,
  );
  return c;
}

// take waits for the next event called name and returns its arguments.
function take(c, name) {
  return within(
    new Promise((resolve) => {
      const check = () => {
        const q = c.queues.get(name);
        if (q && q.length) resolve(q.shift());
        else c.waiters.push(check);
      };
      check();
    }),
    `${c.name} receives ${name}`,
  );
}

const pending = (c, name) => c.queues.get(name)?.length ?? 0;

// op asks the server of client c to run a cluster operation.
async function op(c, o) {
  const res = await within(c.socket.emitWithAck("op", o), `${c.name}: op ${o.op}`, 2 * STEP);
  if (res && typeof res === "object" && !Array.isArray(res) && res.error) throw new Error(`${o.op} on ${c.name}'s server: ${res.error}`);
  return res;
}

const rooms = (c) => within(c.socket.emitWithAck("rooms", null), `${c.name} rooms`);

// marker sends an event to every client and waits for it: what was sent
// before to these clients has arrived.
let markers = 0;
async function marker(via, clients) {
  const event = `marker-${++markers}`;
  await op(via, { op: "emit", event });
  for (const c of clients) await take(c, event);
}

function report(check, ok, detail) {
  console.log(JSON.stringify({ check, ok: !!ok, detail }));
}

const node = await startServer({
  redisUrl: REDIS_URL,
  name: "node",
  adapterOptions: { publishOnSpecificResponseChannel: true },
});
const NODE_URL = `http://127.0.0.1:${node.port}`;
const go1 = await client("go1", GO_URL);
const go2 = await client("go2", GO_URL);
const n1 = await client("n1", NODE_URL);
const n2 = await client("n2", NODE_URL);
const all = [go1, go2, n1, n2];
const names = (list) => list.map((x) => x?.name).sort();

await go1.socket.emitWithAck("join", "room1");
await n1.socket.emitWithAck("join", "room1");
const go1Data = { user: "go1", n: 1.5, list: [1, null, "x"], big: 2 ** 40 };
const n1Data = { user: "n1", nested: { a: [true, 0.1] } };
await go1.socket.emitWithAck("set data", go1Data);
await n1.socket.emitWithAck("set data", n1Data);

// Every kind of value the conversion must keep: numbers (integers,
// floats, large, small), strings with characters JSON escapes, null,
// booleans, nested objects and arrays, binary at the top and nested.
const payload = [
  1,
  -2.5,
  0.1,
  1e-7,
  2 ** 40,
  -(2 ** 31),
  "é\u2028\"\\</script>",
  null,
  true,
  { a: [1, { b: "c" }], empty: {}, list: [] },
  Buffer.from([0, 1, 255]),
  [Buffer.from("x"), { deep: Buffer.from([7]) }],
];

const scenarios = {
  async "two servers in the cluster"() {
    await until(async () => (await op(n1, { op: "serverCount" })) === 2 && (await op(go1, { op: "serverCount" })) === 2, "serverCount 2");
    return { ok: true };
  },

  async "broadcast to a room, go to node"() {
    await op(go1, { op: "emit", rooms: ["room1"], event: "b-go", args: payload });
    const got = [await take(n1, "b-go"), await take(go1, "b-go")];
    return { ok: same(got[0], payload) && same(got[1], payload), detail: show(got[0]) };
  },

  async "broadcast to a room, node to go"() {
    await op(n1, { op: "emit", rooms: ["room1"], event: "b-node", args: payload });
    const got = [await take(go1, "b-node"), await take(n1, "b-node")];
    return { ok: same(got[0], payload) && same(got[1], payload), detail: show(got[0]) };
  },

  async "broadcast to all, both ways"() {
    await op(n2, { op: "emit", event: "all-node", args: [1] });
    await op(go2, { op: "emit", event: "all-go", args: [2] });
    for (const c of all) {
      if (!same(await take(c, "all-node"), [1]) || !same(await take(c, "all-go"), [2])) return { ok: false, detail: c.name };
    }
    return { ok: true };
  },

  async "except, both ways"() {
    await op(go1, { op: "emit", except: [n1.socket.id, "room-nobody-is-in"], event: "ex-go" });
    await op(n1, { op: "emit", rooms: ["room1", go2.socket.id], except: [go1.socket.id], event: "ex-node" });
    await marker(go2, all);
    await marker(n2, all);
    const counts = (e) => all.map((c) => pending(c, e) ? c.name : null).filter(Boolean);
    const exGo = counts("ex-go");
    const exNode = counts("ex-node");
    return {
      ok: same(exGo, ["go1", "go2", "n2"]) && same(exNode, ["go2", "n1"]),
      detail: { exGo, exNode },
    };
  },

  async "local broadcasts stay local, both ways"() {
    await op(go1, { op: "emit", local: true, event: "loc-go" });
    await op(n1, { op: "emit", local: true, event: "loc-node" });
    await marker(go2, all);
    await marker(n2, all);
    const got = all.map((c) => [c.name, pending(c, "loc-go"), pending(c, "loc-node")]);
    return { ok: same(got, [["go1", 1, 0], ["go2", 1, 0], ["n1", 0, 1], ["n2", 0, 1]]), detail: got };
  },

  async "volatile broadcasts cross, both ways"() {
    await op(go1, { op: "emit", volatile: true, rooms: [n1.socket.id], event: "vol-go" });
    await op(n1, { op: "emit", volatile: true, rooms: [go1.socket.id], event: "vol-node" });
    await take(n1, "vol-go");
    await take(go1, "vol-node");
    return { ok: true };
  },

  async "emitWithAck, go to node: every client answers"() {
    const res = await op(go1, { op: "emitWithAck", event: "question", args: [42, Buffer.from([1])] });
    const ok =
      same(names(res), ["go1", "go2", "n1", "n2"]) &&
      res.every((r) => same(r.got, [42, Buffer.from([1])]) && same(r.bin, Buffer.from(r.name)));
    return { ok, detail: show(res) };
  },

  async "emitWithAck, node to go: every client answers"() {
    const res = await op(n1, { op: "emitWithAck", event: "question", args: [{ q: "?" }, Buffer.from([2])] });
    const ok =
      same(names(res), ["go1", "go2", "n1", "n2"]) &&
      res.every((r) => same(r.got, [{ q: "?" }, Buffer.from([2])]) && same(r.bin, Buffer.from(r.name)));
    return { ok, detail: show(res) };
  },

  async "emitWithAck to a room of the other server, both ways"() {
    const a = await op(go1, { op: "emitWithAck", rooms: [n2.socket.id], event: "question", args: [] });
    const b = await op(n2, { op: "emitWithAck", rooms: [go2.socket.id], event: "question", args: [] });
    return { ok: same(names(a), ["n2"]) && same(names(b), ["go2"]), detail: show([a, b]) };
  },

  async "fetchSockets, go fetches node's sockets"() {
    const res = await op(go1, { op: "fetchSockets", rooms: ["room1"] });
    const s = res.find((x) => x.id === n1.socket.id);
    const local = res.find((x) => x.id === go1.socket.id);
    const h = s?.handshake ?? {};
    const ok =
      res.length === 2 &&
      !!local &&
      same(s.data, n1Data) &&
      same(s.rooms.sort(), [n1.socket.id, "room1"].sort()) &&
      same(h.auth, { token: "n1" }) &&
      same(h.query.q, ["n1"]) &&
      h.headers.Host?.[0] === `127.0.0.1:${node.port}` &&
      /127\.0\.0\.1/.test(h.address) &&
      Math.abs(h.time - Date.now()) < 60000 &&
      h.xdomain === false &&
      h.secure === false &&
      h.url.includes("q=n1");
    return { ok, detail: s };
  },

  async "fetchSockets, node fetches go's sockets"() {
    const res = await op(n1, { op: "fetchSockets", rooms: ["room1"] });
    const s = res.find((x) => x.id === go1.socket.id);
    const h = s?.handshake ?? {};
    const ok =
      res.length === 2 &&
      same(s.data, go1Data) &&
      same(s.rooms.sort(), [go1.socket.id, "room1"].sort()) &&
      same(h.auth, { token: "go1" }) &&
      h.query.q === "go1" &&
      h.headers.upgrade === "websocket" &&
      typeof h.time === "string" &&
      Math.abs(new Date(h.time) - Date.now()) < 60000 &&
      typeof h.issued === "number" &&
      Math.abs(h.issued - Date.now()) < 60000 &&
      /127\.0\.0\.1/.test(h.address) &&
      h.xdomain === false &&
      h.secure === false &&
      h.url.includes("q=go1");
    return { ok, detail: s };
  },

  async "remote socket emit, join, leave, go to node"() {
    await op(go1, { op: "remoteEmit", id: n2.socket.id, event: "direct", args: [1, Buffer.from([3])] });
    const got = await take(n2, "direct");
    await op(go1, { op: "remoteJoin", id: n2.socket.id, room: "rj" });
    await until(async () => (await rooms(n2)).includes("rj"), "n2 joins rj");
    await op(go1, { op: "remoteLeave", id: n2.socket.id, room: "rj" });
    await until(async () => !(await rooms(n2)).includes("rj"), "n2 leaves rj");
    return { ok: same(got, [1, Buffer.from([3])]), detail: show(got) };
  },

  async "remote socket emit, join, leave, node to go"() {
    await op(n1, { op: "remoteEmit", id: go2.socket.id, event: "direct", args: [{ x: 1 }, Buffer.from([4])] });
    const got = await take(go2, "direct");
    await op(n1, { op: "remoteJoin", id: go2.socket.id, room: "rj" });
    await until(async () => (await rooms(go2)).includes("rj"), "go2 joins rj");
    await op(n1, { op: "remoteLeave", id: go2.socket.id, room: "rj" });
    await until(async () => !(await rooms(go2)).includes("rj"), "go2 leaves rj");
    return { ok: same(got, [{ x: 1 }, Buffer.from([4])]), detail: show(got) };
  },

  async "socketsJoin and socketsLeave, both ways"() {
    await op(go1, { op: "socketsJoin", rooms: ["room1"], join: ["sj"] });
    await until(async () => (await rooms(n1)).includes("sj") && (await rooms(go1)).includes("sj"), "room1 joins sj");
    await op(n2, { op: "socketsLeave", rooms: ["sj"], leave: ["sj"] });
    await until(async () => !(await rooms(n1)).includes("sj") && !(await rooms(go1)).includes("sj"), "sj empties");
    return { ok: true };
  },

  async "allRooms, both ways"() {
    const a = await op(go1, { op: "allRooms" });
    const b = await op(n1, { op: "allRooms" });
    const ok = [n1, n2, go1, go2].every((c) => a.includes(c.socket.id) && b.includes(c.socket.id)) && a.includes("room1") && b.includes("room1");
    return { ok, detail: { go: a, node: b } };
  },

  async "serverSideEmit, both ways"() {
    await op(go1, { op: "serverSideEmit", event: "sse", args: [1, "x", { a: null }, Buffer.from([5])] });
    await op(n1, { op: "serverSideEmit", event: "sse", args: [2, "y", { b: [1.5] }] });
    let atNode = [];
    let atGo = [];
    await until(async () => {
      atNode.push(...(await op(n2, { op: "serverEvents" })));
      atGo.push(...(await op(go2, { op: "serverEvents" })));
      return atNode.length >= 1 && atGo.length >= 1;
    }, "server-side events");
    // Binary from Go arrives as a Buffer (the Go adapter sends msgpack when
    // there is binary; the Node adapter sends JSON).
    return {
      ok: same(atNode, [[1, "x", { a: null }, Buffer.from([5])]]) && same(atGo, [[2, "y", { b: [1.5] }]]),
      detail: show({ atNode, atGo }),
    };
  },

  async "serverSideEmitWithAck, both ways"() {
    const a = await op(go1, { op: "serverSideEmitWithAck", event: "sse", args: ["from go"] });
    const b = await op(n1, { op: "serverSideEmitWithAck", event: "sse", args: ["from node", { n: 1 }] });
    await op(n1, { op: "serverEvents" });
    await op(go1, { op: "serverEvents" });
    return {
      ok: same(a, [{ from: "node", args: ["from go"] }]) && same(b, [{ from: "go", args: ["from node", { n: 1 }] }]),
      detail: show({ a, b }),
    };
  },

  async "disconnectSockets and remote disconnect, both ways"() {
    await op(go1, { op: "disconnectSockets", rooms: [n2.socket.id] });
    await op(n1, { op: "remoteDisconnect", id: go2.socket.id });
    await until(() => n2.disconnected && go2.disconnected, "n2 and go2 disconnected");
    return {
      ok: n2.disconnected === "io server disconnect" && go2.disconnected === "io server disconnect",
      detail: { n2: n2.disconnected, go2: go2.disconnected },
    };
  },

  async "disconnected sockets are gone everywhere"() {
    const a = await op(go1, { op: "fetchSockets" });
    const b = await op(n1, { op: "fetchSockets" });
    return { ok: same(a.map((s) => s.id).sort(), [go1.socket.id, n1.socket.id].sort()) && a.length === b.length, detail: { a: a.length, b: b.length } };
  },
};

for (const [name, run] of Object.entries(scenarios)) {
  try {
    const { ok, detail } = await run();
    report(name, ok, detail);
  } catch (err) {
    report(name, false, err.stack ?? String(err));
  }
}

for (const c of all) c.socket.close();
await node.close();
process.exit(0);
