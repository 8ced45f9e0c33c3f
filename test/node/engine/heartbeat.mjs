// Stays connected over several heartbeat intervals: answers $PINGS pings
// (engine.io-client answers them itself), then closes. Prints
// {"event":"open"}, {"event":"ping","n":N} and {"event":"close","reason"}.
import { connect, out, fail, done } from "./common.mjs";

const want = Number(process.env.PINGS || 5);
const socket = connect();
let pings = 0;
let closing = false;
socket.on("open", () => out({ event: "open", transport: socket.transport.name }));
socket.on("ping", () => {
  pings++;
  out({ event: "ping", n: pings, transport: socket.transport.name });
  if (pings === want) {
    // A last message proves the session is still usable.
    socket.send("still here");
  }
});
socket.on("message", (data) => {
  out({ event: "message", text: String(data) });
  closing = true;
  socket.close();
});
socket.on("close", (reason) => {
  if (!closing) fail(`closed before the end: ${reason}`);
  done({ event: "close", reason, pings });
});
