// HTTP helpers that send exactly what the official clients send (PROTOCOL.md §2.2, §2.3).
// node:http only (full control over headers; global fetch would add its own), one connection
// per request (`Connection: close`), every request bounded by a timeout.

import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";

/**
 * @typedef {object} Reply
 * @property {number} status
 * @property {string} statusText
 * @property {Record<string, string|string[]>} headers lower-case names (node's `res.headers`)
 * @property {string[]} rawHeaders [name, value, ...] as received
 * @property {Buffer} body decoded body (gzip/deflate/br undone, like reqwest/browsers do)
 * @property {string} text body as UTF-8
 * @property {any} json parsed body if Content-Type is application/json, else undefined
 * @property {Error} [jsonError] set if the Content-Type said JSON but the body did not parse
 */

/**
 * The answer to `req` (a node:http ClientRequest, not yet ended) as a Reply; rejects on a
 * network error or when no full answer came within `timeoutMs` (the request is then destroyed).
 * @param {import("node:http").ClientRequest} req
 * @param {{timeoutMs: number, what: string, decompress?: boolean, anyJson?: boolean}} opts
 *   `what` names the request in the timeout error; `anyJson`: parse the body as JSON whatever
 *   its Content-Type (json undefined when it does not parse)
 * @returns {Promise<Reply>}
 */
export function readReply(req, { timeoutMs, what, decompress = true, anyJson = false }) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${what}`)), timeoutMs);
    const fail = (err) => {
      clearTimeout(timer);
      reject(err);
    };
    req.on("error", fail);
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        let buf = Buffer.concat(chunks);
        try {
          const enc = String(res.headers["content-encoding"] || "")
            .trim()
            .toLowerCase();
          if (decompress && enc === "gzip") buf = zlib.gunzipSync(buf);
          else if (decompress && enc === "deflate") buf = zlib.inflateSync(buf);
          else if (decompress && enc === "br") buf = zlib.brotliDecompressSync(buf);
        } catch (err) {
          reject(err);
          return;
        }
        const text = buf.toString("utf8");
        const reply = {
          status: res.statusCode,
          statusText: res.statusMessage,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: buf,
          text,
          json: undefined,
        };
        if (anyJson || /^\s*application\/json\b/i.test(String(res.headers["content-type"] || ""))) {
          try {
            reply.json = JSON.parse(text);
          } catch (err) {
            if (!anyJson) reply.jsonError = err;
          }
        }
        resolve(reply);
      });
    });
  });
}

/**
 * Send one request.
 * @param {string} baseUrl e.g. `http://127.0.0.1:8787` (a path prefix is kept)
 * @param {string} path request target appended to baseUrl verbatim (raw, not re-encoded)
 * @param {object} [opts]
 * @param {string} [opts.method='GET']
 * @param {Record<string, string|string[]|undefined>} [opts.headers] undefined values are skipped
 * @param {string|Buffer|Uint8Array} [opts.body] omitted => no body and NO Content-Length /
 *   Transfer-Encoding header at all; otherwise Content-Length is set unless given.
 * @param {number} [opts.timeoutMs=30000]
 * @param {boolean} [opts.decompress=true]
 * @returns {Promise<Reply>}
 */
export function raw(baseUrl, path, { method = "GET", headers = {}, body, timeoutMs = 30_000, decompress = true } = {}) {
  const base = new URL(baseUrl);
  const mod = base.protocol === "https:" ? https : http;
  const prefix = base.pathname.replace(/\/+$/, "");
  return new Promise((resolve, reject) => {
    const req = mod.request({
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[|\]$/g, ""),
      port: base.port || undefined,
      method,
      path: prefix + path,
      agent: false,
      rejectUnauthorized: false,
    });
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) req.setHeader(k, v);
    readReply(req, { timeoutMs, what: `${method} ${path}`, decompress }).then(resolve, reject);
    if (body === undefined) {
      // No framing header for a body-less POST (what rsapi does for get_temp_credential).
      req.useChunkedEncodingByDefault = false;
      req.end();
    } else {
      const buf = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
      if (req.getHeader("content-length") === undefined) req.setHeader("Content-Length", buf.length);
      req.end(buf);
    }
  });
}

/**
 * The ClojureScript app's own API call (cljs-http through goog.net.XhrIo):
 * `POST <base>/file-sync/<api>`, `Authorization: Bearer <token>` (omitted if token is
 * undefined/null), body `JSON.stringify(body)` labelled
 * `Content-Type: application/x-www-form-urlencoded;charset=utf-8`; `body === undefined` sends
 * the 4-byte literal `null` (list_graphs). `Accept: *\/*` like a browser XHR.
 * @param {string} baseUrl
 * @param {string} api e.g. "list_graphs"
 * @param {any} body
 * @param {string} [token]
 * @param {{headers?: object, timeoutMs?: number}} [opts] extra headers (e.g. Origin)
 * @returns {Promise<Reply>}
 */
export function appCall(baseUrl, api, body, token, { headers = {}, timeoutMs } = {}) {
  return raw(baseUrl, `/file-sync/${api}`, {
    method: "POST",
    headers: {
      Accept: "*/*",
      "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
      Authorization: token == null ? undefined : `Bearer ${token}`,
      ...headers,
    },
    body: body === undefined ? "null" : JSON.stringify(body),
    timeoutMs,
  });
}

/**
 * rsapi's API call (reqwest): `POST <base>/file-sync/<api>` with, in rsapi's order,
 * `Authorization: Bearer <token>`, `Content-Type: application/octet-stream`, `Accept: *\/*`,
 * `User-Agent: Logseq-sync/0.3`, `Accept-Encoding: gzip`, and body `JSON.stringify(body)`;
 * `body === undefined` sends NO body and no Content-Length (get_temp_credential).
 * @param {string} baseUrl
 * @param {string} api
 * @param {any} body
 * @param {string} [token]
 * @param {{headers?: object, timeoutMs?: number}} [opts]
 * @returns {Promise<Reply>}
 */
export function rsapiCall(baseUrl, api, body, token, { headers = {}, timeoutMs } = {}) {
  return raw(baseUrl, `/file-sync/${api}`, {
    method: "POST",
    headers: {
      Authorization: token == null ? undefined : `Bearer ${token}`,
      "Content-Type": "application/octet-stream",
      Accept: "*/*",
      "User-Agent": "Logseq-sync/0.3",
      "Accept-Encoding": "gzip",
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    timeoutMs,
  });
}

/**
 * An rsapi-style API call whose body is sent except for its last byte until
 * `release()`. Releasing many at once makes them reach the Worker together,
 * already routed and waiting only for their bodies: the closest a test gets
 * to truly simultaneous requests (races, cleanup-vs-commit).
 * Returns `{ done: Promise<{status, headers, text, json}>, release() }`.
 */
export function heldCall(baseUrl, name, body, token, timeoutMs = 30_000) {
  const data = Buffer.from(JSON.stringify(body));
  const u = new URL(baseUrl);
  const req = http.request({
    hostname: u.hostname,
    port: u.port,
    method: "POST",
    path: `/file-sync/${name}`,
    agent: false,
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/octet-stream",
      "User-Agent": "Logseq-sync/0.3",
      "Content-Length": data.length,
    },
  });
  const done = readReply(req, { timeoutMs: timeoutMs + 5_000, what: name, anyJson: true });
  req.write(data.subarray(0, data.length - 1));
  return { done, release: () => req.end(data.subarray(data.length - 1)) };
}
