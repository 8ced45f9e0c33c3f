// A recording TCP proxy: what clients and a server exchange through it,
// decoded into HTTP requests and responses and WebSocket messages, as the
// bytes went over the wire (bodies undecompressed only when the server
// compressed them). Used to capture what the Node.js reference server and
// the Go server send to a 2.x client (see capture.mjs).
import net from "node:net";
import zlib from "node:zlib";

// startTap listens on 127.0.0.1 and forwards each connection to target
// (host:port). Each decoded message is passed to onRecord.
export function startTap(targetPort, onRecord, targetHost = "127.0.0.1") {
  let nextConn = 1;
  const sockets = new Set();
  const server = net.createServer((client) => {
    const conn = nextConn++;
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const state = { ws: false, pendingUpgrade: false };
    const c2s = new HTTPStream(conn, "c2s", state, onRecord);
    const s2c = new HTTPStream(conn, "s2c", state, onRecord);
    client.on("data", (d) => {
      c2s.push(d);
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      s2c.push(d);
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: server.address().port,
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

const CRLF2 = Buffer.from("\r\n\r\n");

// HTTPStream decodes one direction of a connection: HTTP/1.1 messages, then
// WebSocket frames once the server answered 101.
class HTTPStream {
  constructor(conn, dir, state, onRecord) {
    this.conn = conn;
    this.dir = dir;
    this.state = state;
    this.onRecord = onRecord;
    this.buf = Buffer.alloc(0);
    this.fragments = null; // a fragmented WebSocket message being assembled
  }

  push(data) {
    this.buf = Buffer.concat([this.buf, data]);
    for (;;) {
      const progressed = this.state.ws || (this.dir === "c2s" && this.state.pendingUpgrade) ? this.frame() : this.message();
      if (!progressed) return;
    }
  }

  // message decodes one HTTP message, reporting whether it found one whole.
  message() {
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) return false;
    const head = this.buf.subarray(0, end).toString("latin1").split("\r\n");
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(":");
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let pos = end + 4;
    let body;
    const status = this.dir === "s2c" ? Number(head[0].split(" ")[1]) : 0;
    if (headers["transfer-encoding"] === "chunked") {
      const parts = [];
      for (;;) {
        const eol = this.buf.indexOf("\r\n", pos);
        if (eol < 0) return false;
        const n = parseInt(this.buf.subarray(pos, eol).toString("latin1"), 16);
        if (this.buf.length < eol + 2 + n + 2) return false;
        parts.push(this.buf.subarray(eol + 2, eol + 2 + n));
        pos = eol + 2 + n + 2;
        if (n === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      const n = Number(headers["content-length"] || 0);
      if (status === 101 || status === 204) body = Buffer.alloc(0);
      else {
        if (this.buf.length < pos + n) return false;
        body = this.buf.subarray(pos, pos + n);
        pos += n;
      }
    }
    this.buf = this.buf.subarray(pos);
    const rec = { conn: this.conn, dir: this.dir };
    if (this.dir === "c2s") {
      const [method, url] = head[0].split(" ");
      Object.assign(rec, { kind: "request", method, url });
      if (/websocket/i.test(headers.upgrade || "")) this.state.pendingUpgrade = true;
    } else {
      Object.assign(rec, { kind: "response", status });
      if (status === 101) this.state.ws = true;
      else this.state.pendingUpgrade = false;
    }
    rec.contentType = headers["content-type"];
    if (headers["content-encoding"]) {
      rec.contentEncoding = headers["content-encoding"];
      body = headers["content-encoding"] === "gzip" ? zlib.gunzipSync(body) : zlib.inflateSync(body);
    }
    Object.assign(rec, describeBody(body, rec.contentType));
    this.onRecord(rec);
    return true;
  }

  // frame decodes one WebSocket frame.
  frame() {
    const b = this.buf;
    if (b.length < 2) return false;
    const fin = (b[0] & 0x80) !== 0;
    const opcode = b[0] & 0x0f;
    const masked = (b[1] & 0x80) !== 0;
    let len = b[1] & 0x7f;
    let pos = 2;
    if (len === 126) {
      if (b.length < 4) return false;
      len = b.readUInt16BE(2);
      pos = 4;
    } else if (len === 127) {
      if (b.length < 10) return false;
      len = Number(b.readBigUInt64BE(2));
      pos = 10;
    }
    let mask;
    if (masked) {
      if (b.length < pos + 4) return false;
      mask = b.subarray(pos, pos + 4);
      pos += 4;
    }
    if (b.length < pos + len) return false;
    const payload = Buffer.from(b.subarray(pos, pos + len));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    this.buf = b.subarray(pos + len);
    if (opcode === 0x8) {
      this.onRecord({ conn: this.conn, dir: this.dir, kind: "ws-close", code: payload.length >= 2 ? payload.readUInt16BE(0) : null });
      return true;
    }
    if (opcode === 0x9 || opcode === 0xa) return true; // WebSocket-level ping/pong
    if (opcode !== 0) this.fragments = { opcode, parts: [] };
    this.fragments.parts.push(payload);
    if (!fin) return true;
    const data = Buffer.concat(this.fragments.parts);
    const binary = this.fragments.opcode === 0x2;
    this.fragments = null;
    this.onRecord({ conn: this.conn, dir: this.dir, kind: "ws", ...(binary ? { binary: data.toString("base64") } : { text: data.toString("utf8") }) });
    return true;
  }
}

function describeBody(body, contentType) {
  if (body.length === 0) return {};
  if (/octet-stream/.test(contentType || "")) return { binary: body.toString("base64") };
  return { text: body.toString("utf8") };
}
