// Runs a 2.x client script through the recording proxy of wiretap.mjs and
// prints what went over the wire, one JSON object a line: the script's own
// lines ({"check", "ok", "detail"}) and the decoded traffic ({"conn",
// "dir": "c2s"|"s2c", "kind": "request"|"response"|"ws"|"ws-close", ...}).
//
//   node v2/capture.mjs <script> <mode> [server URL]
//
// Without a server URL, the Node.js reference (reference-server.mjs:
// socket.io 4.8.4, allowEIO3) is started and captured. The capture of the
// reference is what core/engine's golden tests compare the Go encoder with
// (core/engine/testdata/eio3).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startTap } from "./wiretap.mjs";
import { startReferenceServer } from "./reference-server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const [script, mode, target] = process.argv.slice(2);
if (!script || !mode) {
  console.error("usage: capture.mjs <script> <mode> [server URL]");
  process.exit(2);
}

let ref;
let port;
if (target) {
  port = Number(new URL(target).port);
} else {
  ref = await startReferenceServer();
  port = ref.port;
}
const tap = await startTap(port, (rec) => console.log(JSON.stringify(rec)));

const child = spawn(process.execPath, [path.join(here, script), `http://127.0.0.1:${tap.port}`, mode], {
  stdio: ["ignore", "pipe", "inherit"],
});
let buf = "";
child.stdout.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (line.trim()) console.log(line);
  }
});
const code = await new Promise((resolve) => child.on("exit", resolve));
tap.close();
if (ref) ref.close();
process.exit(code ?? 1);
