// Interop scenarios of the 2.x client (socket.io-client 2.5.0: Engine.IO
// protocol 3, Socket.IO protocol 4) against a server with EIO3 allowed:
// the Go server of core/eio3_interop_test.go, or the Node.js reference
// (reference-server.mjs, through capture.mjs), whose handlers match.
//
//   node v2/interop.mjs <server URL> <mode>
//
// Modes are those of common.mjs (polling, polling-xhr2, websocket,
// websocket-b64, upgrade, upgrade-xhr2). Each scenario prints one line
// {"check": name, "ok": bool, "detail": ...}.
import { modes, loadClient, runScenarios, once, ack, sleep, within, eq, isBuf, STEP_TIMEOUT } from "./common.mjs";

const [url, mode] = process.argv.slice(2);
const m = modes[mode];
if (!url || !m) {
  console.error(`usage: interop.mjs <url> <${Object.keys(modes).join("|")}>`);
  process.exit(2);
}
const io = loadClient({ xhr2: m.xhr2 });

const options = (extra = {}) => ({
  transports: m.transports,
  upgrade: !!m.upgrade,
  forceBase64: !!m.forceBase64,
  forceNew: true,
  reconnection: false,
  timeout: STEP_TIMEOUT,
  ...extra,
});

const sockets = [];
async function connect(nsp = "/", extra = {}) {
  const s = io(url + nsp, options(extra));
  sockets.push(s);
  await once(s, "connect");
  await settled(s);
  return s;
}

// settled waits until the connection uses WebSocket (upgrade modes).
async function settled(s) {
  if (!m.upgrade) return;
  if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
}

// refused connects to nsp and resolves with the payload of the error event
// the refusal brings (the 2.x client's connect_error).
async function refused(nsp, extra = {}) {
  const s = io(url + nsp, options(extra));
  sockets.push(s);
  const [err] = await once(s, "error");
  return err;
}

const scenarios = {
  async "the default namespace is joined without a CONNECT packet"() {
    const s = await connect();
    const [nsp] = await ack(s, "nsp");
    return { ok: s.connected && nsp === "/", detail: nsp };
  },

  async "emit several arguments, unicode, objects and nested binary both ways"() {
    const s = await connect();
    const sent = [1, "h\u00e9llo \u20ac \ud83d\ude00 \u2028", { three: [3, { four: true }] }, Buffer.from([1, 2, 3]), { bin: [Buffer.from([9]), { deep: Buffer.from([8, 7]) }] }, null];
    const back = once(s, "echo-back");
    s.emit("echo", ...sent);
    const got = await back;
    return {
      ok:
        got.length === 6 &&
        got[0] === 1 &&
        got[1] === sent[1] &&
        eq(got[2], sent[2]) &&
        isBuf(got[3], [1, 2, 3]) &&
        isBuf(got[4].bin[0], [9]) &&
        isBuf(got[4].bin[1].deep, [8, 7]) &&
        got[5] === null,
      detail: got.length,
    };
  },

  async "large text and binary messages"() {
    const s = await connect();
    const text = "\u20ac".repeat(40000) + "\ud83d\ude00".repeat(1000);
    const bin = Buffer.alloc(100000, 7);
    const back = once(s, "echo-back");
    s.emit("echo", text, bin);
    const got = await back;
    return { ok: got[0] === text && Buffer.isBuffer(got[1]) && got[1].equals(bin), detail: [typeof got[0], got[0] && got[0].length] };
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

  async "server ack with binary"() {
    const s = await connect();
    const res = await ack(s, "bin-ack");
    return { ok: res.length === 2 && isBuf(res[0], [1, 2, 3]) && res[1] === "x", detail: res.length };
  },

  async "server emit with ack answered by the client"() {
    const s = await connect();
    s.on("question", (q, cb) => cb(`answer to ${q}`));
    const res = await ack(s, "ask-me");
    return { ok: res[0] === "answer to q1", detail: res };
  },

  async "server emit with binary ack answered by the client"() {
    const s = await connect();
    s.on("bin-question", (b, cb) => cb(Buffer.concat([b, Buffer.from([4])])));
    const res = await ack(s, "ask-me-bin");
    return { ok: res[0] === "01020304", detail: res };
  },

  async "join, leave and room broadcasts"() {
    const a = await connect();
    const b = await connect();
    await ack(a, "join", "r1");
    await ack(b, "join", "r1");
    const gotA = once(a, "room-msg");
    const gotB = once(b, "room-msg");
    await ack(a, "to-room", "r1", "hi r1");
    const [ra] = await gotA;
    const [rb] = await gotB;
    await ack(b, "leave", "r1");
    let late = false;
    b.on("room-msg", () => (late = true));
    const again = once(a, "room-msg");
    await ack(a, "to-room", "r1", "again");
    await again;
    await sleep(100);
    return { ok: ra === "hi r1" && rb === "hi r1" && !late, detail: { ra, rb, late } };
  },

  async "custom namespace with a query, multiplexed over one connection"() {
    const mgr = new io.Manager(url, options());
    const root = mgr.socket("/");
    const custom = mgr.socket("/custom", { query: { token: "abc", n: "1" } });
    sockets.push(root, custom);
    root.open();
    custom.open();
    await Promise.all([root.connected || once(root, "connect"), custom.connected || once(custom, "connect")]);
    const [hello] = await ack(custom, "hello");
    const [auth] = await ack(custom, "whoami");
    const [c1] = await ack(root, "conn-id");
    const [c2] = await ack(custom, "conn-id");
    const authOK = auth.token === "abc" && auth.n === "1" && Object.keys(auth).length === 2;
    return { ok: hello === "hello from /custom" && authOK && c1 === c2, detail: { hello, auth } };
  },

  async "dynamic namespace"() {
    const s = await connect("/dyn-42");
    const [hello] = await ack(s, "hello");
    return { ok: hello === "hello from /dyn-42", detail: hello };
  },

  async "middleware refusal with data: the error event carries err.data"() {
    const err = await refused("/private", { query: { token: "wrong" } });
    const s = await connect("/private", { query: { token: "secret" } });
    const [who] = await ack(s, "whoami");
    const dataOK = err && err.code === 401 && err.hint === "use the token" && Object.keys(err).length === 2;
    return { ok: dataOK && who === "secret", detail: { err, who } };
  },

  async "middleware refusal without data: the error event carries the message"() {
    const err = await refused("/plain");
    return { ok: err === "plain refusal", detail: err };
  },

  async "unknown namespace"() {
    const err = await refused("/nope");
    return { ok: eq(err, { message: "Invalid namespace" }), detail: err };
  },

  async "handshake query"() {
    const s = await connect("/", { query: { foo: "bar" } });
    const [h] = await ack(s, "handshake");
    return { ok: h.foo === "bar" && eq(h.auth, {}), detail: h };
  },

  async "heartbeat: the server answers the client's pings"() {
    const s = await connect();
    // The servers of these tests use a short pingInterval; the client pings
    // at that pace and closes the connection without pongs.
    const latencies = [];
    s.on("pong", (ms) => latencies.push(ms));
    await within(
      new Promise((resolve) => {
        const t = setInterval(() => latencies.length >= 3 && (clearInterval(t), resolve()), 20);
      }),
      "three pongs",
    );
    const [transport] = await ack(s, "transport");
    return { ok: s.connected && latencies.length >= 3, detail: { pongs: latencies.length, transport } };
  },

  async "server-initiated namespace disconnect"() {
    const s = await connect();
    const disc = once(s, "disconnect");
    s.emit("kick-me");
    const [reason] = await disc;
    return { ok: reason === "io server disconnect", detail: reason };
  },

  async "server closes the connection"() {
    const s = await connect();
    const disc = once(s, "disconnect");
    s.emit("drop-transport");
    const [reason] = await disc;
    return { ok: reason === "transport close", detail: reason };
  },

  async "ordering of many rapid emits"() {
    const s = await connect();
    for (let i = 0; i < 500; i++) s.emit("seq", i);
    const [res] = await ack(s, "seq-done");
    const got = [];
    s.on("seq-s", (i) => got.push(i));
    s.emit("seq-send", 300);
    await within(
      new Promise((resolve) => {
        const t = setInterval(() => got.length >= 300 && (clearInterval(t), resolve()), 20);
      }),
      "300 server emits",
    );
    const inOrder = got.every((v, i) => v === i);
    return { ok: res.count === 500 && res.inOrder && inOrder, detail: { res, got: got.length, inOrder } };
  },

  async "transport in use"() {
    const s = await connect();
    const [t] = await ack(s, "transport");
    const want = m.transports.includes("websocket") ? "websocket" : "polling";
    return { ok: t === want && s.io.engine.transport.name === want, detail: t };
  },

  async "client disconnect"() {
    const s = await connect();
    const [id] = await ack(s, "conn-id");
    s.disconnect();
    await sleep(200);
    const o = await connect();
    const [reasons] = await ack(o, "reasons-of", id);
    return { ok: reasons.length === 1 && ["client namespace disconnect", "transport close"].includes(reasons[0]), detail: reasons };
  },
};

await runScenarios(scenarios, async () => {
  for (const s of sockets.splice(0)) s.close();
  await sleep(50);
});
process.exit(0);
