// Sends text and binary messages to an echo server, before the session
// opens, once it is open, while it upgrades and after it upgraded, and
// prints every event: {"event":"sent"|"message"|"open"|"upgrading"|"upgrade"|"close", ...}.
// The Go test checks that every message comes back, in order.
import { connect, out, fail, done, describe } from "./common.mjs";

const socket = connect();
const expectUpgrade = socket.opts.transports.length > 1 && socket.opts.upgrade !== false;
let sent = 0;
let received = 0;
let upgraded = false;

function send(data, phase) {
  sent++;
  out({ event: "sent", phase, ...describe(data) });
  socket.send(data);
}

function finishIfDone() {
  if (received === sent && (!expectUpgrade || upgraded)) {
    out({ event: "done", transport: socket.transport.name });
    socket.close();
  }
}

send("before open", "before");
socket.on("open", () => {
  out({ event: "open", transport: socket.transport.name, id: socket.id });
  send("hello", "open");
  send("héllo €", "open");
  send(Buffer.from([1, 2, 3]), "open");
  send(new Uint8Array([0, 255, 30]).buffer, "open"); // ArrayBuffer
  send("x".repeat(100000), "open");
  send(Buffer.alloc(50000, 7), "open");
});
socket.on("upgrading", (t) => {
  out({ event: "upgrading", transport: t.name });
  send("during upgrade", "upgrading");
  send(Buffer.from("during"), "upgrading");
});
socket.on("upgrade", (t) => {
  upgraded = true;
  out({ event: "upgrade", transport: t.name });
  send("after upgrade", "upgrade");
  send(Buffer.from([9, 9]), "upgrade");
});
socket.on("message", (data) => {
  received++;
  out({ event: "message", transport: socket.transport.name, ...describe(data) });
  if (received > sent) fail("more messages than sent");
  finishIfDone();
});
socket.on("close", (reason) => {
  if (received !== sent) fail(`closed (${reason}) after ${received} of ${sent} echoes`);
  done({ event: "close", reason });
});
