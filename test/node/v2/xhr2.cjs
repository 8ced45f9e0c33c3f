// A minimal XMLHttpRequest level 2 for Node.js, standing in for the
// xmlhttprequest-ssl package that engine.io-client 3.x uses there. That
// package has no responseType, so in Node.js the 2.x client believes XHR2
// is missing and long-polls with base64 (b64=1) only; browsers, where most
// 2.x clients run, have XHR2 and exchange binary polling payloads
// (application/octet-stream). With this stand-in (see common.mjs), the
// client's own code takes the browsers' path. Only what engine.io-client
// 3.x uses is implemented.
"use strict";

const http = require("node:http");

class XMLHttpRequest {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.responseText = "";
    this.response = null;
    this.responseType = ""; // present: this is what makes the client see XHR2
    this.onreadystatechange = null;
    this.withCredentials = false;
    this.timeout = 0;
    this._headers = {};
    this._res = null;
    this._req = null;
  }

  open(method, url) {
    this._method = method;
    this._url = url;
    this._setState(1);
  }

  setDisableHeaderCheck() {}

  setRequestHeader(name, value) {
    this._headers[name] = value;
  }

  getResponseHeader(name) {
    if (!this._res) return null;
    const v = this._res.headers[name.toLowerCase()];
    return v === undefined ? null : String(v);
  }

  send(data) {
    const body = data == null ? null : Buffer.isBuffer(data) ? data : Buffer.from(String(data));
    const headers = { ...this._headers };
    if (body) headers["Content-Length"] = body.length;
    const req = http.request(this._url, { method: this._method, headers }, (res) => {
      this._res = res;
      this.status = res.statusCode;
      this._setState(2); // the client picks responseType here, from the Content-Type
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const buf = Buffer.concat(chunks);
        if (this.responseType === "arraybuffer") {
          // A Buffer, not an ArrayBuffer: in Node.js the client decodes
          // payloads with engine.io-parser's Node build, which reads Buffers
          // (its browser build reads the ArrayBuffers browsers give).
          this.response = buf;
        } else {
          this.responseText = buf.toString("utf8");
          this.response = this.responseText;
        }
        this._setState(4);
      });
      res.on("error", () => this._fail());
    });
    req.on("error", () => this._fail());
    this._req = req;
    if (body) req.write(body);
    req.end();
  }

  abort() {
    if (this._req) {
      this._req.destroy();
      this._req = null;
    }
  }

  _fail() {
    if (this.readyState === 4) return;
    this.status = 0;
    this._setState(4);
  }

  _setState(s) {
    this.readyState = s;
    if (this.onreadystatechange) this.onreadystatechange();
  }
}

module.exports = XMLHttpRequest;
module.exports.XMLHttpRequest = XMLHttpRequest;
