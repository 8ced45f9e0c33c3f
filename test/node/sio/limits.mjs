// How the official socket.io-client (4.8.x) sees the server's limits, against
// core/limits_test.go's TestLimitsInterop (WithMaxConnections(1),
// WithMaxDynamicNamespaces(1), a parent namespace matching /dyn-<n>).
//
//   node sio/limits.mjs <server URL> <polling|websocket>
//
// Prints one line {"check": name, "ok": bool, "detail": ...} per check.
import { io } from "socket.io-client";

const [url, mode] = process.argv.slice(2);
if (!url || !["polling", "websocket"].includes(mode)) {
  console.error("usage: limits.mjs <url> <polling|websocket>");
  process.exit(2);
}
const TIMEOUT = 10000;

function report(check, ok, detail) {
  console.log(JSON.stringify({ check, ok: !!ok, detail }));
}

const once = (emitter, event) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout: ${event}`)), TIMEOUT);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });

const options = (extra = {}) => ({ transports: [mode], forceNew: true, timeout: TIMEOUT, ...extra });

const sockets = [];
try {
  // One connection (the limit): a first dynamic child is created, a second
  // one is refused with the server's message, without retry.
  const first = io(url, options({ reconnection: false }));
  sockets.push(first);
  await once(first, "connect");
  const dyn1 = first.io.socket("/dyn-1");
  dyn1.connect();
  sockets.push(dyn1);
  await once(dyn1, "connect");
  const dyn2 = first.io.socket("/dyn-2");
  dyn2.connect();
  sockets.push(dyn2);
  const [nerr] = await once(dyn2, "connect_error");
  report("second dynamic namespace refused", nerr.message === "Too many namespaces" && dyn1.connected, {
    message: nerr.message,
  });

  // A second connection is refused by HTTP 503: the client reports a
  // transport error and retries with backoff, and connects once the first
  // connection is gone.
  const second = io(url, options({ reconnectionDelay: 100, reconnectionDelayMax: 200 }));
  sockets.push(second);
  const [cerr] = await once(second, "connect_error");
  const want = mode === "polling" ? "xhr poll error" : "websocket error";
  report("connection beyond the limit refused", cerr.message === want && !second.connected, {
    message: cerr.message,
    description: cerr.description?.message ?? String(cerr.description ?? ""),
  });
  // The first connection ends once none of its sockets is left.
  for (const s of [dyn2, dyn1, first]) s.disconnect();
  await once(second, "connect");
  report("retries and connects once there is room", second.connected, { id: !!second.id });
} catch (err) {
  report("exception", false, String(err?.stack ?? err));
} finally {
  for (const s of sockets) s.disconnect();
}
