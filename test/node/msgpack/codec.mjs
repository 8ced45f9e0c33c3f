// Codec vectors for msgpackparser/node_test.go: socket.io-msgpack-parser
// 3.0.2 (notepack.io) as the reference encoder and decoder.
//
//   node msgpack/codec.mjs encode
//     prints {name, hex} for each packet below, encoded as socket.io-client
//     and the socket.io server encode them.
//   node msgpack/codec.mjs decode <file>
//     <file> holds a JSON array of hex strings; prints, for each message in
//     order, {ok: true, packet} (packet in the tagged JSON of tag() below)
//     or {ok: false, error} when the reference decoder rejects it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const parser = require("socket.io-msgpack-parser");

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// tag turns a decoded value into JSON without losing what JSON lacks:
// {"$bin": hex} for a Buffer, {"$arraybuffer": hex}, {"$date": ISO string},
// {"$undefined": true}, {"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}.
function tag(v) {
  if (v === undefined) return { $undefined: true };
  if (typeof v === "number") {
    if (Number.isNaN(v) || !Number.isFinite(v)) return { $number: String(v) };
    if (Object.is(v, -0)) return { $number: "-0" };
    return v;
  }
  if (v === null || typeof v !== "object") return v;
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $arraybuffer: Buffer.from(v).toString("hex") };
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? "invalid" : v.toISOString() };
  if (Array.isArray(v)) return v.map(tag);
  const o = {};
  for (const k of Object.keys(v)) o[k] = tag(v[k]);
  return o;
}

const encoder = new parser.Encoder();
const encode = (packet) => Buffer.concat(encoder.encode(packet).map((b) => Buffer.from(b)));

const big = 70000;
const cases = {
  // socket.io-client: CONNECT without auth sends data: undefined.
  "client CONNECT": { type: 0, data: undefined, nsp: "/" },
  "client CONNECT with auth": { type: 0, data: { token: "abc", n: 1, nested: { ok: true, list: [1, "x"] } }, nsp: "/admin" },
  // socket.io-client: emit() builds {type, data, options}, then id and nsp.
  "client EVENT": {
    type: 2,
    data: ["echo", 1, "two", Buffer.from([1, 2, 3]), { bin: [Buffer.from([9]), { deep: Buffer.from([8, 7]) }] }, null, 1.5, -7, 2 ** 40, -(2 ** 40), 2 ** 64, true, false],
    options: { compress: true },
    id: 0,
    nsp: "/",
  },
  "client EVENT with JavaScript types": {
    type: 2,
    data: ["types", new Date(0), undefined, new Uint8Array([4, 5, 6]), new ArrayBuffer(2), NaN, -Infinity, -0, 0.1, { u: undefined, k: 1 }, "é✓😀", new Date(1706918706007)],
    options: { compress: true },
    nsp: "/",
  },
  "client ACK": { type: 3, id: 5, data: [Buffer.from([1]), "x"], nsp: "/" },
  "client DISCONNECT": { type: 1, nsp: "/admin" },
  "server CONNECT": { type: 0, data: { sid: "AbC123" }, nsp: "/" },
  "server CONNECT_ERROR": { type: 4, data: { message: "not authorized", data: { code: 401 } }, nsp: "/private" },
  "large values": {
    type: 2,
    data: ["big", "x".repeat(big), Array.from({ length: big }, (_, i) => i), Object.fromEntries(Array.from({ length: 20 }, (_, i) => ["k" + i, i])), Buffer.alloc(big, 7), "y".repeat(40), "z".repeat(300)],
    nsp: "/",
  },
  "integer boundaries": {
    type: 3,
    id: 2 ** 32,
    data: [0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
    nsp: "/",
  },
};

const [mode, file] = process.argv.slice(2);
if (mode === "encode") {
  for (const [name, packet] of Object.entries(cases)) out({ name, hex: encode(packet).toString("hex") });
} else if (mode === "decode" && file) {
  for (const hex of JSON.parse(readFileSync(file, "utf8"))) {
    const decoder = new parser.Decoder();
    let packet;
    decoder.on("decoded", (p) => (packet = p));
    try {
      decoder.add(Buffer.from(hex, "hex"));
      out({ ok: true, packet: tag(packet) });
    } catch (err) {
      out({ ok: false, error: String(err && err.message) });
    }
  }
} else {
  process.stderr.write("usage: codec.mjs encode | decode <file>\n");
  process.exit(2);
}
