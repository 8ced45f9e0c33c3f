// Helpers of the 2.x client scripts (socket.io-client 2.5.0, npm alias
// socket.io-client-v2: Engine.IO protocol 3, Socket.IO protocol 4).
import { createRequire, Module } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

// The transports of each mode. "polling" is the 2.x client as it runs in
// Node.js: no XHR2, so base64 polling (b64=1). "polling-xhr2" is the
// client as it runs in browsers: binary polling payloads. "websocket-b64"
// is a WebSocket client without binary support (forceBase64).
export const modes = {
  polling: { transports: ["polling"] },
  "polling-xhr2": { transports: ["polling"], xhr2: true },
  websocket: { transports: ["websocket"] },
  "websocket-b64": { transports: ["websocket"], forceBase64: true },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
  "upgrade-xhr2": { transports: ["polling", "websocket"], upgrade: true, xhr2: true },
};

// loadClient returns the 2.x client's io function. With xhr2, the client's
// XMLHttpRequest is replaced by xhr2.cjs before the client loads (one
// process, one choice).
export function loadClient({ xhr2 = false } = {}) {
  if (xhr2) {
    const eioClient = path.dirname(require.resolve("socket.io-client-v2/node_modules/engine.io-client/package.json"));
    const target = createRequire(path.join(eioClient, "lib", "transports", "xmlhttprequest.js")).resolve("xmlhttprequest-ssl");
    const m = new Module(target);
    m.filename = target;
    m.loaded = true;
    m.exports = require(path.join(here, "xhr2.cjs"));
    Module._cache[target] = m;
  }
  return require("socket.io-client-v2");
}

export function report(check, ok, detail) {
  console.log(JSON.stringify({ check, ok: !!ok, detail }));
}

export const STEP_TIMEOUT = 10000;

// within rejects when p does not settle in time, naming the step.
export function within(p, what, ms = STEP_TIMEOUT) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// once resolves with the arguments of the next `event` of emitter.
export const once = (emitter, event, ms) =>
  within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), event, ms);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ack emits with a callback (the 2.x client has no emitWithAck) and
// resolves with all the callback's arguments.
export const ack = (socket, event, ...args) =>
  within(new Promise((resolve) => socket.emit(event, ...args, (...res) => resolve(res))), `ack of ${event}`);

export const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
export const isBuf = (b, bytes) => Buffer.isBuffer(b) && b.equals(Buffer.from(bytes));

// runScenarios runs each scenario in turn, printing one line per check; a
// scenario that throws reports ok:false and the next one runs.
export async function runScenarios(scenarios, cleanup) {
  for (const [name, fn] of Object.entries(scenarios)) {
    try {
      const { ok, detail } = await fn();
      report(name, ok, detail);
    } catch (err) {
      report(name, false, String((err && err.stack) || err));
    }
    await cleanup();
  }
}
