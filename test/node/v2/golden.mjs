// Reduces captures of capture.mjs to the golden data of core/engine's
// protocol 3 tests (core/engine/testdata/eio3/node-reference.jsonl): the
// long-polling bodies and WebSocket messages of the Node.js reference and
// the 2.x client, each once, without the large ones.
//
//   for m in polling polling-xhr2 websocket websocket-b64 upgrade upgrade-xhr2; do
//     node v2/capture.mjs interop.mjs $m > /tmp/capture-$m.jsonl
//   done
//   node v2/golden.mjs /tmp/capture-*.jsonl > ../../core/engine/testdata/eio3/node-reference.jsonl
//
// Each output line is {"from": "server"|"client", "transport":
// "polling"|"websocket", "b64": bool, "text": ...} or {..., "binary":
// base64}; a polling body is binary when it was sent as
// application/octet-stream. b64 tells whether the connection asked for
// base64 (b64=1).
import fs from "node:fs";

const MAX = 4096;
const seen = new Set();
for (const file of process.argv.slice(2)) {
  const requests = new Map(); // conn -> url of its last request
  const wsURL = new Map(); // conn -> url of its WebSocket
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (!r.kind) continue;
    let transport, url;
    if (r.kind === "request") {
      requests.set(r.conn, r.url);
      if (r.url.includes("transport=websocket")) wsURL.set(r.conn, r.url);
      if (r.method !== "POST") continue;
      transport = "polling";
      url = r.url;
    } else if (r.kind === "response") {
      url = requests.get(r.conn) || "";
      if (r.status !== 200 || !url.includes("transport=polling") || r.contentType === "text/html") continue;
      transport = "polling";
    } else if (r.kind === "ws") {
      transport = "websocket";
      url = wsURL.get(r.conn) || "";
    } else continue;
    const body = r.text !== undefined ? { text: r.text } : r.binary !== undefined ? { binary: r.binary } : null;
    if (!body) continue;
    // Of the runs of "seq" events, the first few tell all.
    const seq = body.text && /\["seq(-s)?",(\d+)\]/.exec(body.text);
    if (seq && Number(seq[2]) >= 8) continue;
    const size = body.text !== undefined ? Buffer.byteLength(body.text) : Buffer.from(body.binary, "base64").length;
    if (size > MAX) continue;
    // The 2.x client repeats its handshake's b64=1 on the later requests
    // of the polling transport; its WebSocket request carries its own.
    const rec = { from: r.dir === "s2c" ? "server" : "client", transport, b64: /[?&]b64=1/.test(url), ...body };
    const key = JSON.stringify(rec);
    if (seen.has(key)) continue;
    seen.add(key);
    console.log(key);
  }
}
