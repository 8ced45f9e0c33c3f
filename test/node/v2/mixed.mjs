// A 2.x client (Engine.IO 3, Socket.IO 4) and a 4.x client (Engine.IO 4,
// Socket.IO 5) in the same room of one server exchange messages, text and
// binary, both ways, through a broadcast that the server encodes once.
//
//   node v2/mixed.mjs <server URL> <mode>
//
// The mode (see common.mjs) sets the 2.x client's transports; the 4.x
// client uses the same ones. Prints {"check", "ok", "detail"} lines.
import { io as ioV4 } from "socket.io-client";
import { modes, loadClient, runScenarios, once, ack, sleep, eq, isBuf, STEP_TIMEOUT } from "./common.mjs";

const [url, mode] = process.argv.slice(2);
const m = modes[mode];
if (!url || !m) {
  console.error(`usage: mixed.mjs <url> <${Object.keys(modes).join("|")}>`);
  process.exit(2);
}
const ioV2 = loadClient({ xhr2: m.xhr2 });
const base = { transports: m.transports, upgrade: !!m.upgrade, forceNew: true, reconnection: false, timeout: STEP_TIMEOUT };

const sockets = [];
async function connect(io, extra = {}) {
  const s = io(url, { ...base, ...extra });
  sockets.push(s);
  await once(s, "connect");
  if (m.upgrade && s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
  return s;
}

const scenarios = {
  async "2.x and 4.x clients in one room exchange text and binary"() {
    const v2 = await connect(ioV2, { forceBase64: !!m.forceBase64 });
    const v4 = await connect(ioV4);
    await ack(v2, "join", "mix");
    await ack(v4, "join", "mix");
    const bin = Buffer.from([0, 1, 2, 250, 255]);

    // 2.x -> 4.x (the server relays to the room but the sender)
    const atV4 = once(v4, "room-bin");
    await ack(v2, "to-room-bin", "mix", "from v2 \u20ac\ud83d\ude00", bin);
    const [t4, b4] = await atV4;

    // 4.x -> 2.x
    const atV2 = once(v2, "room-bin");
    await ack(v4, "to-room-bin", "mix", "from v4 \u20ac\ud83d\ude00", bin);
    const [t2, b2] = await atV2;

    // A broadcast to the whole room, encoded once, reaches both.
    const both = [once(v2, "room-msg"), once(v4, "room-msg")];
    await ack(v4, "to-room", "mix", "to all \ud83d\ude00");
    const [[m2], [m4]] = await Promise.all(both);
    return {
      ok:
        t4 === "from v2 \u20ac\ud83d\ude00" &&
        isBuf(b4, bin) &&
        t2 === "from v4 \u20ac\ud83d\ude00" &&
        isBuf(b2, bin) &&
        m2 === "to all \ud83d\ude00" &&
        m4 === m2,
      detail: { t4, t2, m2, m4, b4: Buffer.isBuffer(b4), b2: Buffer.isBuffer(b2) },
    };
  },

  async "acknowledgements across revisions"() {
    const v2 = await connect(ioV2, { forceBase64: !!m.forceBase64 });
    const v4 = await connect(ioV4);
    const [r2] = await ack(v2, "echo-ack", { a: [1, "\u20ac"] });
    const [r4] = await ack(v4, "echo-ack", { a: [1, "\u20ac"] });
    return { ok: eq(r2, r4) && eq(r2, { a: [1, "\u20ac"] }), detail: { r2, r4 } };
  },
};

await runScenarios(scenarios, async () => {
  for (const s of sockets.splice(0)) s.close();
  await sleep(50);
});
process.exit(0);
