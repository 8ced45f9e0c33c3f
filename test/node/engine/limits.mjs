// Sends a message whose packet is exactly $LIMIT bytes (maxPayload), which
// must come back, then one byte more, which must make the server end the
// session. Prints {"event":"open"|"message"|"close", ...}.
import { connect, out, fail, done } from "./common.mjs";

const limit = Number(process.env.LIMIT);
if (!limit) fail("LIMIT not set");
const socket = connect({ upgrade: false });
let phase = "at limit";
socket.on("open", () => {
  out({ event: "open", transport: socket.transport.name, maxPayload: socket._maxPayload });
  // The packet is the type digit and the data.
  socket.send("a".repeat(limit - 1));
});
socket.on("message", (data) => {
  out({ event: "message", phase, length: String(data).length });
  if (phase !== "at limit") fail("over-limit message echoed");
  phase = "over limit";
  socket.send("b".repeat(limit));
});
socket.on("close", (reason) => {
  if (phase !== "over limit") fail(`closed in phase ${phase}: ${reason}`);
  done({ event: "close", reason });
});
