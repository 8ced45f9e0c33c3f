// Drives the official socket.io-client against a Go server mounted in a web framework (ginio, echoio, chiio tests).
//
// Env: BASE_URL (http://127.0.0.1:port), CASES (JSON array; see internal/adaptertest/node.go for the fields).
// Runs the cases concurrently and prints one JSON object per case, in the order given:
// {name, connected, error, status, data, upgradeError, transport, whoami, noise}.
// A case connects (reconnection off), optionally waits for the polling->websocket upgrade (or its failure),
// optionally sends other HTTP requests to the app, then emits "whoami" and reports the acknowledgement.
import { io } from "socket.io-client";

const base = process.env.BASE_URL;
const cases = JSON.parse(process.env.CASES || "[]");
const WAIT = 20_000;

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT} ms waiting for ${what}`)), WAIT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function run(c) {
  const out = { name: c.name };
  const opts = {
    path: c.path || "/socket.io",
    transports: c.transports || ["polling", "websocket"],
    reconnection: false,
    forceNew: true,
    timeout: WAIT,
  };
  if (c.auth) opts.auth = c.auth;
  if (c.query) opts.query = c.query;
  if (c.headers) opts.extraHeaders = c.headers;
  if (c.pollingHeaders) opts.transportOptions = { polling: { extraHeaders: c.pollingHeaders } };
  if (c.noTrailingSlash) opts.addTrailingSlash = false;
  const socket = io(base + (c.nsp || "/"), opts);
  // The engine exists as soon as io() returns; its upgrade may end before the socket connects.
  const engine = socket.io.engine;
  const upgraded = new Promise((resolve) => {
    engine.once("upgrade", () => resolve());
    engine.once("upgradeError", (err) => { out.upgradeError = String(err && err.message); resolve(); });
  });
  try {
    await withTimeout(new Promise((resolve) => {
      socket.on("connect", () => { out.connected = true; resolve(); });
      socket.on("connect_error", (err) => {
        out.connected = false;
        out.error = err.message;
        if (typeof err.description === "number") out.status = err.description;
        if (err.data !== undefined) out.data = err.data;
        resolve();
      });
    }), "connect");
    if (!out.connected) return out;
    if (c.waitUpgrade && engine.transport.name !== "websocket") await withTimeout(upgraded, "the upgrade");
    if (c.noise) {
      out.noise = [];
      for (const n of c.noise) {
        for (let i = 0; i < (n.times || 1); i++) {
          const res = await fetch(base + n.path, { headers: n.headers || {} });
          await res.arrayBuffer();
          if (i === 0) out.noise.push(res.status);
        }
      }
    }
    out.whoami = await withTimeout(socket.emitWithAck("whoami"), "the whoami acknowledgement");
    out.transport = engine.transport.name;
  } finally {
    socket.disconnect();
  }
  return out;
}

const results = await Promise.all(cases.map((c) => run(c).catch((err) => ({ name: c.name, failure: String(err) }))));
for (const r of results) console.log(JSON.stringify(r));
