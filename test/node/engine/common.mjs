// Helpers of the engine.io-client interop scripts (see core/engine/interop_test.go).
import { createHash } from "node:crypto";
import { Socket } from "engine.io-client";

// out prints one JSON line for the Go test.
export function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// fail ends the script with a message on stderr (once it is written).
export function fail(msg) {
  process.exitCode = 1;
  process.stderr.write(`${msg}\n`, () => process.exit(1));
}

// A script that hangs fails on its own before the Go side kills it.
const deadline = setTimeout(() => fail("timeout"), Number(process.env.SCRIPT_TIMEOUT_MS || 30000));
deadline.unref();

// done prints the last line. The process then ends by itself once the
// client has finished closing (a polling client still sends its close
// packet); exiting at once would cut that short. A client that left
// something running is stopped after a while.
export function done(obj) {
  if (obj) out(obj);
  setTimeout(() => process.exit(0), 3000).unref();
}

// describe renders a message as JSON: {text} or {binary: base64} for short
// ones, {text|binary: null, length, sha256} for long ones.
export function describe(data) {
  let kind, bytes;
  if (typeof data === "string") {
    kind = "text";
    bytes = Buffer.from(data);
  } else if (data instanceof ArrayBuffer) {
    kind = "binary";
    bytes = Buffer.from(new Uint8Array(data));
  } else if (ArrayBuffer.isView(data)) {
    kind = "binary";
    bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  } else {
    fail(`unexpected message type ${typeof data}`);
    return {};
  }
  if (bytes.length > 64) {
    return { [kind]: null, length: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  }
  return { [kind]: kind === "text" ? data : bytes.toString("base64") };
}

// connect opens an engine.io-client Socket to the URL given as the first
// argument, with the transports of $TRANSPORTS (comma-separated).
export function connect(extra = {}) {
  const url = process.argv[2];
  if (!url) fail("usage: node script.mjs URL");
  const transports = (process.env.TRANSPORTS || "polling,websocket").split(",");
  const socket = new Socket(url, { path: "/engine.io/", transports, ...extra });
  socket.on("error", (err) => out({ event: "error", message: String(err && err.message) }));
  return socket;
}
