// Connection-state recovery of the official socket.io-client (4.8.x) against
// the Go server of core/recovery_test.go, which has connectionStateRecovery
// on with a short window.
//
//   node sio/recovery.mjs <server URL> <polling|websocket|upgrade> <window ms>
//
// Each scenario prints one line {"check": name, "ok": bool, "detail": ...};
// the Go test requires every expected check to be present and ok. Logs go to
// stderr.
//
// The server's handlers: "setup" {rooms, data} joins the rooms, sets the
// data and emits "m" "before" to the first room; "state" answers {id, rooms,
// data, recovered}; "kick-me" disconnects the socket from the namespace. When
// a socket whose data has broadcastOnDisconnect disconnects for a reason that
// allows recovery, its disconnect handler broadcasts, while the client is
// away: "all-1" to everyone, "r1-2" to r1, "r2-nope" to r2, "direct-3" to the
// socket's own room, "except-nope" to everyone but r1, "volatile-nope"
// volatile, "r1-4" to r1 with a binary argument, then data.many events "n" 0,
// 1, ... to r1.
import { io, Manager } from "socket.io-client";

const [url, mode, windowArg] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
const windowMs = Number(windowArg);
if (!url || !transports || !(windowMs > 0)) {
  console.error("usage: recovery.mjs <url> <polling|websocket|upgrade> <window ms>");
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
// Automatic reconnection, quick and without jitter.
const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 100, randomizationFactor: 0 };

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
// canon sorts object keys: Go encodes maps with sorted keys.
const canon = (v) =>
  Array.isArray(v)
    ? v.map(canon)
    : v && typeof v === "object" && !Buffer.isBuffer(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]))
      : v;
const eq = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const ack = (socket, event, ...args) =>
  within(new Promise((resolve) => socket.emit(event, ...args, (...res) => resolve(res))), `ack of ${event}`);
const state = async (s) => (await ack(s, "state"))[0];

const sockets = [];
function track(s) {
  sockets.push(s);
  return s;
}
async function connect(nsp = "/", extra = {}) {
  const s = track(io(url + nsp, options(extra)));
  await once(s, "connect");
  return s;
}

// settled waits until the connection uses WebSocket (upgrade mode).
async function settled(s) {
  if (mode !== "upgrade") return;
  if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
}

// kill drops the connection as a lost network would, for the server:
// the WebSocket is closed under the client's feet; a long-polling client
// closes its engine (a close packet). The server sees "transport close".
function kill(s) {
  const engine = s.io.engine;
  if (engine.transport.name === "websocket") engine.transport.ws.close();
  else engine.close();
}

// collect records the "m" events of s (their first argument; the offset
// the server appends is the last one).
function collect(s, event = "m") {
  const got = [];
  s.on(event, (...args) => got.push(args));
  return got;
}

async function until(cond, what) {
  for (let i = 0; i < STEP_TIMEOUT / 10; i++) {
    if (cond()) return;
    await sleep(10);
  }
  throw new Error(`timeout: ${what}`);
}

// setup joins rooms and sets data, and waits for the "before" event, so that
// the client has an offset.
async function setup(s, got, rooms, data) {
  await ack(s, "setup", { rooms, data });
  await until(() => got.some((a) => a[0] === "before"), "the before event");
}

const missedNames = ["before", "all-1", "r1-2", "direct-3", "r1-4"];

const scenarios = {
  async "recovers id, rooms, data and missed packets after the transport closes"() {
    const s = track(io(url, options(reconnecting)));
    const got = collect(s);
    await once(s, "connect");
    await settled(s);
    const first = { id: s.id, recovered: s.recovered };
    await setup(s, got, ["r1", "r3"], { user: "alice", broadcastOnDisconnect: true });
    const disc = once(s, "disconnect");
    kill(s);
    const [reason] = await disc;
    await once(s, "connect");
    const st = await state(s);
    const names = got.map((a) => a[0]);
    const bin = got.find((a) => a[0] === "r1-4");
    const offsets = got.map((a) => a[a.length - 1]);
    return {
      ok:
        first.recovered === false &&
        s.recovered === true &&
        s.id === first.id &&
        eq(names, missedNames) &&
        Buffer.isBuffer(bin[1]) &&
        bin[1].equals(Buffer.from([1, 2, 3])) &&
        offsets.every((o) => typeof o === "string") &&
        new Set(offsets).size === offsets.length &&
        st.id === first.id &&
        st.recovered === true &&
        eq(st.rooms, [first.id, "r1", "r3"].sort()) &&
        eq(st.data, { user: "alice", broadcastOnDisconnect: true }),
      detail: { first, reason, recovered: s.recovered, id: s.id, names, offsets, bin: bin && String(bin[1]?.constructor?.name), st },
    };
  },

  async "recovers twice in a row, and live events follow the missed ones"() {
    const s = track(io(url, options(reconnecting)));
    const got = collect(s);
    await once(s, "connect");
    await settled(s);
    const id = s.id;
    await setup(s, got, ["r1"], { user: "bob", broadcastOnDisconnect: true });
    const rounds = [];
    for (let i = 0; i < 2; i++) {
      const disc = once(s, "disconnect");
      kill(s);
      await disc;
      await once(s, "connect");
      rounds.push({ recovered: s.recovered, id: s.id });
    }
    await ack(s, "to-r1", "live");
    await until(() => got.some((a) => a[0] === "live"), "the live event");
    const names = got.map((a) => a[0]);
    const want = [...missedNames, ...missedNames.slice(1), "live"];
    return {
      ok: rounds.every((r) => r.recovered && r.id === id) && eq(names, want),
      detail: { rounds, names },
    };
  },

  async "hundreds of missed packets arrive in order"() {
    const s = track(io(url, options(reconnecting)));
    const got = collect(s, "n");
    const m = collect(s);
    await once(s, "connect");
    await settled(s);
    const n = 300;
    await setup(s, m, ["r1"], { user: "carol", broadcastOnDisconnect: true, many: n });
    const disc = once(s, "disconnect");
    kill(s);
    await disc;
    await once(s, "connect");
    await until(() => got.length >= n, "the missed events");
    await ack(s, "state");
    const inOrder = got.every((a, i) => a[0] === i);
    return { ok: s.recovered && got.length === n && inOrder, detail: { count: got.length, inOrder } };
  },

  async "several namespaces of one connection recover together"() {
    const manager = new Manager(url, options(reconnecting));
    const a = track(manager.socket("/"));
    const b = track(manager.socket("/recovery"));
    const gotA = collect(a);
    const gotB = collect(b);
    a.connect();
    b.connect();
    await Promise.all([a.connected || once(a, "connect"), b.connected || once(b, "connect")]);
    await settled(a);
    const ids = [a.id, b.id];
    await setup(a, gotA, ["r1"], { user: "dave", broadcastOnDisconnect: true });
    await setup(b, gotB, ["r1"], { user: "dave-b", broadcastOnDisconnect: true });
    const discs = [once(a, "disconnect"), once(b, "disconnect")];
    kill(a);
    await Promise.all(discs);
    await Promise.all([once(a, "connect"), once(b, "connect")]);
    const [sa, sb] = [await state(a), await state(b)];
    return {
      ok:
        a.recovered &&
        b.recovered &&
        a.id === ids[0] &&
        b.id === ids[1] &&
        eq(gotA.map((x) => x[0]), missedNames) &&
        eq(gotB.map((x) => x[0]), missedNames) &&
        sa.data.user === "dave" &&
        sb.data.user === "dave-b",
      detail: { a: gotA.map((x) => x[0]), b: gotB.map((x) => x[0]), sa, sb },
    };
  },

  async "a new socket once the window has passed"() {
    const s = await connect();
    const got = collect(s);
    await settled(s);
    const id = s.id;
    await setup(s, got, ["r1"], { user: "erin", broadcastOnDisconnect: true });
    const disc = once(s, "disconnect");
    kill(s);
    await disc;
    await sleep(windowMs * 1.5 + 200);
    s.connect();
    await once(s, "connect");
    const st = await state(s);
    return {
      ok: !s.recovered && s.id !== id && !st.recovered && eq(st.rooms, [s.id]) && st.data === null && eq(got.map((a) => a[0]), ["before"]),
      detail: { recovered: s.recovered, st, got: got.map((a) => a[0]) },
    };
  },

  async "a new socket after a client-side disconnect"() {
    const s = await connect();
    const got = collect(s);
    const id = s.id;
    await setup(s, got, ["r1"], { user: "frank" });
    s.disconnect();
    s.connect();
    await once(s, "connect");
    const st = await state(s);
    return { ok: !s.recovered && s.id !== id && st.data === null && !st.recovered, detail: { st } };
  },

  async "a new socket after a server-side namespace disconnect"() {
    const s = await connect();
    const got = collect(s);
    const id = s.id;
    await setup(s, got, ["r1"], { user: "grace" });
    const disc = once(s, "disconnect");
    s.emit("kick-me");
    const [reason] = await disc;
    s.connect();
    await once(s, "connect");
    const st = await state(s);
    return {
      ok: reason === "io server disconnect" && !s.recovered && s.id !== id && st.data === null,
      detail: { reason, st },
    };
  },

  async "forged, foreign and connected sockets' session IDs give new sockets"() {
    // A forged pid and offset.
    const forged = await connect("/", { auth: { pid: "forged-pid", offset: "forged-offset" } });
    const stForged = await state(forged);
    // The pid and offset of a socket that is connected.
    const victim = await connect();
    const got = collect(victim);
    await settled(victim);
    await setup(victim, got, ["r1"], { user: "victim", broadcastOnDisconnect: true });
    const pid = victim._pid;
    const offset = victim._lastOffset;
    const thief = await connect("/", { auth: { pid, offset } });
    const stThief = await state(thief);
    const stVictim = await state(victim);
    // The victim's pid with a forged offset, while the victim is away: the
    // session is taken by the failed attempt, and restored to nobody.
    const disc = once(victim, "disconnect");
    kill(victim);
    await disc;
    const thief2 = await connect("/", { auth: { pid, offset: "0" } });
    const stThief2 = await state(thief2);
    victim.connect();
    await once(victim, "connect");
    const stBack = await state(victim);
    const ok =
      typeof pid === "string" &&
      pid.length >= 20 &&
      !stForged.recovered &&
      stForged.data === null &&
      !stThief.recovered &&
      stThief.id !== stVictim.id &&
      stThief.data === null &&
      stVictim.data.user === "victim" &&
      !stThief2.recovered &&
      stThief2.data === null &&
      stThief2.id !== stVictim.id &&
      !stBack.recovered &&
      stBack.data === null;
    return { ok, detail: { stForged, stThief, stVictim, stThief2, stBack } };
  },
};

for (const [name, run] of Object.entries(scenarios)) {
  try {
    const { ok, detail } = await within(run(), name, 30000);
    report(name, ok, detail);
  } catch (err) {
    report(name, false, String(err && err.stack ? err.stack : err));
  }
  for (const s of sockets.splice(0)) {
    s.io.reconnection(false);
    s.disconnect();
  }
}
