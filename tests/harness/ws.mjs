// The tests' websocket client: the `ws` package (Node 20 has no global WebSocket) plus what the
// tests read: every message kept in order (`messages`), `waitFor` a matching one, `collectFor` a
// while, a bounded close. No permessage-deflate offer (plain frames, like the hand-written client
// this replaced). Loopback use only.

import WebSocket from "ws";

/**
 * @typedef {object} WsMessage
 * @property {'text'|'binary'} type
 * @property {string|Buffer} data text as a string, binary as a Buffer
 * @property {number} at Date.now() when it arrived
 */

/**
 * Open a websocket. `url` is http(s):// or ws(s):// (http -> ws).
 * @param {string} url e.g. `http://127.0.0.1:8787/file-sync?graphuuid=<uuid>`
 * @param {{headers?: Record<string,string>, timeoutMs?: number,
 *   createConnection?: () => import("node:net").Socket}} [opts] `createConnection`: speak over this
 *   socket (e.g. a TLS tunnel through a proxy) instead of connecting to the URL's host
 * @returns {Promise<WsClient>} rejects on a non-101 answer (error has `status`, `body`)
 */
export function connectWebSocket(url, { headers = {}, timeoutMs = 10_000, createConnection } = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/i, "ws"), {
      headers,
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
      ...(createConnection ? { createConnection } : {}),
    });
    let response = null;
    socket.once("upgrade", (res) => {
      response = res;
    });
    socket.once("open", () => resolve(new WsClient(socket, response)));
    socket.once("unexpected-response", (req, res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const err = new Error(`websocket upgrade refused: HTTP ${res.statusCode} ${body}`);
        err.status = res.statusCode;
        err.body = body;
        req.destroy();
        reject(err);
      });
    });
    socket.on("error", reject);
  });
}

export class WsClient {
  /** @param {WebSocket} socket an open `ws` socket; `response` its 101 answer */
  constructor(socket, response) {
    this.socket = socket;
    this.response = response;
    /** @type {WsMessage[]} every message received, in order */
    this.messages = [];
    /** close code received from the server (null until then) */
    this.closeCode = null;
    this.closed = false;
    this.waiters = new Set();
    socket.on("error", () => {});
    socket.on("message", (data, isBinary) => {
      this.messages.push(
        isBinary
          ? { type: "binary", data, at: Date.now() }
          : { type: "text", data: data.toString("utf8"), at: Date.now() },
      );
      for (const w of [...this.waiters]) w.check();
    });
    socket.on("close", (code) => {
      this.closeCode = code;
      this.closed = true;
      for (const w of [...this.waiters]) w.fail(new Error(`websocket closed (code ${code}) while waiting`));
    });
  }

  /** Send a text frame. */
  send(text) {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) throw new Error("websocket is closed");
    this.socket.send(String(text));
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

  /** Cut the TCP connection without a close handshake (a fault: the network went away). */
  drop() {
    this.socket.terminate();
  }

  /** Close handshake: send close(code), wait up to `timeoutMs` for it to finish, then cut the connection. */
  close(code = 1000, timeoutMs = 2_000) {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.terminate();
        resolve();
      }, timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.closed = true;
      if (this.socket.readyState === WebSocket.OPEN) this.socket.close(code);
    });
  }
}
