// A minimal RFC 6455 websocket client for tests (Node 20 has no global WebSocket): node:http
// upgrade, masked client frames, text/binary messages (fragmented too), answers pings, close
// handshake. Everything bounded by timeouts. Loopback use only (plain ws://, i.e. http://).

import http from "node:http";
import { createHash, randomBytes } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

/**
 * @typedef {object} WsMessage
 * @property {'text'|'binary'} type
 * @property {string|Buffer} data text as a string, binary as a Buffer
 * @property {number} at Date.now() when it arrived
 */

/**
 * Open a websocket. `url` is http(s):// or ws(s):// (ws -> http).
 * @param {string} url e.g. `http://127.0.0.1:8787/file-sync?graphuuid=<uuid>`
 * @param {{headers?: Record<string,string>, timeoutMs?: number}} [opts]
 * @returns {Promise<WsClient>} rejects on a non-101 answer (error has `status`, `body`)
 */
export function connectWebSocket(url, { headers = {}, timeoutMs = 10_000 } = {}) {
  const u = new URL(url.replace(/^ws/i, "http"));
  const key = randomBytes(16).toString("base64");
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port || 80,
      path: u.pathname + u.search,
      method: "GET",
      agent: false,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
        ...headers,
      },
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`websocket connect timeout after ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks).toString("utf8");
        const err = new Error(`websocket upgrade refused: HTTP ${res.statusCode} ${body}`);
        err.status = res.statusCode;
        err.body = body;
        reject(err);
      });
    });
    req.on("upgrade", (res, socket, head) => {
      clearTimeout(timer);
      const expected = createHash("sha1")
        .update(key + GUID)
        .digest("base64");
      if (res.statusCode !== 101 || res.headers["sec-websocket-accept"] !== expected) {
        socket.destroy();
        reject(new Error(`bad websocket handshake: ${res.statusCode} accept=${res.headers["sec-websocket-accept"]}`));
        return;
      }
      resolve(new WsClient(socket, head, res));
    });
    req.end();
  });
}

export class WsClient {
  constructor(socket, head, res) {
    this.socket = socket;
    this.response = res;
    /** @type {WsMessage[]} every message received, in order */
    this.messages = [];
    /** close code received from the server (null until then) */
    this.closeCode = null;
    this.closed = false;
    this.closeSent = false;
    this.buf = head?.length ? Buffer.from(head) : Buffer.alloc(0);
    this.fragments = null; // { opcode, parts: Buffer[] }
    this.waiters = new Set();
    this.closeWaiters = [];
    socket.setNoDelay(true);
    socket.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on("error", () => {});
    socket.on("close", () => this.onSocketClose());
    if (this.buf.length) setImmediate(() => this.parse());
  }

  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      let mask = null;
      if (masked) {
        // servers must not mask, but unmask anyway
        if (b.length < off + 4) return;
        mask = b.subarray(off, off + 4);
        off += 4;
      }
      if (b.length < off + len) return;
      const payload = Buffer.from(b.subarray(off, off + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      this.buf = b.subarray(off + len);
      this.onFrame(fin, opcode, payload);
    }
  }

  onFrame(fin, opcode, payload) {
    if (opcode === OP.PING) {
      this.sendFrame(OP.PONG, payload);
      return;
    }
    if (opcode === OP.PONG) return;
    if (opcode === OP.CLOSE) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.closed = true;
      if (!this.closeSent) {
        // echo the close frame (RFC 6455 §5.5.1)
        this.closeSent = true;
        this.sendFrame(OP.CLOSE, payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0), true);
      }
      this.socket.end();
      return;
    }
    if (opcode === OP.CONT) {
      if (!this.fragments) return;
      this.fragments.parts.push(payload);
      if (!fin) return;
      const { opcode: first, parts } = this.fragments;
      this.fragments = null;
      this.deliver(first, Buffer.concat(parts));
      return;
    }
    if (opcode === OP.TEXT || opcode === OP.BINARY) {
      if (!fin) {
        this.fragments = { opcode, parts: [payload] };
        return;
      }
      this.deliver(opcode, payload);
    }
  }

  deliver(opcode, payload) {
    const msg =
      opcode === OP.TEXT
        ? { type: "text", data: payload.toString("utf8"), at: Date.now() }
        : { type: "binary", data: payload, at: Date.now() };
    this.messages.push(msg);
    for (const w of [...this.waiters]) w.check();
  }

  onSocketClose() {
    this.closed = true;
    for (const w of [...this.waiters]) w.fail(new Error(`websocket closed (code ${this.closeCode}) while waiting`));
    for (const fn of this.closeWaiters.splice(0)) fn();
  }

  sendFrame(opcode, payload, force = false) {
    if ((this.closed && !force) || this.socket.destroyed) return;
    const mask = randomBytes(4);
    const len = payload.length;
    let header;
    if (len < 126) {
      header = Buffer.from([0x80 | opcode, 0x80 | len]);
    } else if (len < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 126;
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
    this.socket.write(Buffer.concat([header, mask, body]));
  }

  /** Send a text frame. */
  send(text) {
    if (this.closed) throw new Error("websocket is closed");
    this.sendFrame(OP.TEXT, Buffer.from(String(text), "utf8"));
  }

  /**
   * Resolve with the first message (already received at index >= `from`, or arriving later)
   * for which `predicate(msg)` is true; reject after `timeoutMs` or when the socket closes.
   * @param {(m: WsMessage) => boolean} predicate
   * @param {{timeoutMs?: number, from?: number}} [opts]
   * @returns {Promise<WsMessage>}
   */
  waitFor(predicate, { timeoutMs = 5_000, from = 0 } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const w = {
        check: () => {
          for (let i = from; i < this.messages.length; i++) {
            let ok = false;
            try {
              ok = predicate(this.messages[i]);
            } catch {
              ok = false;
            }
            if (ok) {
              done();
              resolve(this.messages[i]);
              return true;
            }
          }
          return false;
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(w);
      };
      if (w.check()) return;
      if (this.closed) {
        reject(new Error("websocket is closed"));
        return;
      }
      timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(
          new Error(
            `no matching websocket message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(from).map((m) => m.data))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /** Collect what arrives during `ms` milliseconds (messages with index >= current length). */
  async collectFor(ms) {
    const from = this.messages.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.messages.slice(from);
  }

  /**
   * Close handshake: send close(code), wait up to `timeoutMs` for the TCP connection to end,
   * then destroy it regardless.
   */
  close(code = 1000, timeoutMs = 2_000) {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.closeSent && !this.closed) {
        const p = Buffer.alloc(2);
        p.writeUInt16BE(code, 0);
        this.sendFrame(OP.CLOSE, p);
        this.closeSent = true;
        this.closed = true;
      } else {
        this.socket.end();
      }
    });
  }
}
