// Drives the standalone, nethttp and namespaces examples of examples/express-style with socket.io-client.
// Env: BASE_URL, EXAMPLE (standalone | nethttp | namespaces). Prints one JSON line of what the clients saw.
import { io } from "socket.io-client";

const base = process.env.BASE_URL;
const WAIT = 20_000;
const opts = (more = {}) => ({ reconnection: false, forceNew: true, timeout: WAIT, ...more });

function timeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT); }),
  ]).finally(() => clearTimeout(timer));
}
const once = (socket, event) => timeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), event);
const connect = (socket) => timeout(new Promise((resolve) => {
  socket.once("connect", () => resolve({ connected: true }));
  socket.once("connect_error", (err) => resolve({ connected: false, error: err.message, data: err.data }));
}), "connect");

const out = {};
const sockets = [];
const open = (nsp, more) => { const s = io(base + nsp, opts(more)); sockets.push(s); return s; };
try {
  switch (process.env.EXAMPLE) {
    case "standalone": {
      const s = open("/", { transports: ["websocket"] });
      const hello = once(s, "hello");
      await connect(s);
      out.hello = await hello;
      s.emit("howdy", "stranger");
      out.sum = await timeout(s.emitWithAck("sum", [1, 2, 3.5]), "sum");
      break;
    }
    case "nethttp": {
      const s = open("/");
      const clients = once(s, "clients");
      await connect(s);
      out.clients = await clients;
      await timeout(s.emitWithAck("ping"), "ping");
      out.ping = "acknowledged";
      for (const path of ["/healthz", "/api/clients", "/"]) {
        const res = await fetch(base + path);
        out[path] = [res.status, (await res.text()).slice(0, 40)];
      }
      break;
    }
    case "namespaces": {
      const news = open("/news");
      const headline = once(news, "headline");
      await connect(news);
      out.welcomeHeadline = (await headline)[0].title;
      const next = once(news, "headline");
      out.published = await timeout(news.emitWithAck("publish", "Gophers win"), "publish");
      out.headline = (await next)[0].title;

      out.adminNoToken = await connect(open("/admin", { auth: { token: "wrong" } }));
      const admin = open("/admin", { auth: { token: "letmein" } });
      out.admin = await connect(admin);

      out.roomNoNick = await connect(open("/room-gophers"));
      out.invalid = await connect(open("/room-NOT_VALID", { auth: { nickname: "ann" } }));
      const room = open("/room-gophers", { auth: { nickname: "ann" } });
      const welcome = once(room, "welcome");
      await connect(room);
      out.welcome = (await welcome)[0];
      const said = once(room, "said");
      room.emit("say", "hello");
      out.said = (await said)[0];

      const announcement = once(news, "announcement");
      admin.emit("announce", "maintenance at noon");
      out.announcement = (await announcement)[0];
      out.stats = await timeout(admin.emitWithAck("stats"), "stats");
      break;
    }
    default:
      throw new Error(`unknown EXAMPLE ${process.env.EXAMPLE}`);
  }
  console.log(JSON.stringify(out));
} finally {
  for (const s of sockets) s.disconnect();
}
