// Asks the server to close the session ("close-me"), prints the close
// event, then opens a new session and checks that it works. Prints
// {"event":"open"|"close"|"message", "session":1|2, ...}.
import { connect, out, done, fail } from "./common.mjs";

function session(n) {
  const socket = connect();
  socket.on("open", () => {
    out({ event: "open", session: n, transport: socket.transport.name, id: socket.id });
    if (n === 1) socket.send("close-me");
    else socket.send("again");
  });
  socket.on("message", (data) => {
    out({ event: "message", session: n, text: String(data) });
    if (n === 2) socket.close();
  });
  socket.on("close", (reason, desc) => {
    out({ event: "close", session: n, reason, description: desc && desc.description ? String(desc.description) : undefined });
    if (n === 1) session(2);
    else done();
  });
  return socket;
}
session(1);
