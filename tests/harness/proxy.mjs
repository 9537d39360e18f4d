// TLS-intercepting forward proxy that lets the stock rsapi talk to a local worker.
//
// rsapi only knows https://api.logseq.com/file-sync/..., https://api-dev.logseq.com/... and
// https://<bucket>.s3.amazonaws.com/<key>?<presign>. After `rsapi.setProxy(proxy.url)` it sends
// every https request as `CONNECT host:443` to this proxy. We answer 200, terminate TLS on the
// tunnel with a throwaway self-signed certificate (rsapi accepts invalid certificates), parse
// the HTTP/1.1 requests inside with node:http and forward them to the worker:
//
//   https://api.logseq.com|api-dev.logseq.com/file-sync/<api>
//       -> <worker>/file-sync/<api>            (method, headers and body unchanged)
//   https://<bucket>.s3.amazonaws.com/<key>?<query>
//       -> <worker>/s3/<key>?<query>            (raw path and query bytes, never re-encoded)
//   anything else inside a tunnel -> 502 text/plain
//
// Forwarded requests carry `Host: <worker host>` and `X-Forwarded-Host: <the Host header the
// client sent>` (byte-exact: it is the `host` the SigV4 presign covered) and
// `X-Forwarded-Proto: https`. Hop-by-hop headers (Connection, Keep-Alive, Proxy-*) are dropped
// in both directions; everything else (Content-Length, Content-Type, Authorization, ...) is
// passed through as is, bodies are streamed both ways.
//
// Plain-http requests in absolute form (`GET http://127.0.0.1:8787/x HTTP/1.1`) are forwarded
// unchanged (method, raw path+query, headers except hop-by-hop ones, body; Host set to the
// target's authority) to their target, but only if the target is a loopback address; anything
// else, including origin-form requests sent to the proxy itself, gets 502. (rsapi itself never does this: it configures its proxy with `reqwest::Proxy::https`, so
// http:// URLs such as presigned download URLs pointing at the local worker go direct.)
//
// Only 127.0.0.1 is ever contacted. Every request is recorded in `log`.

import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";
import { makeSelfSignedCert } from "./tls.mjs";

const API_HOSTS = new Set(["api.logseq.com", "api-dev.logseq.com"]);
const S3_HOST = /^[a-z0-9][a-z0-9.-]*\.s3\.amazonaws\.com$/i;
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "upgrade",
]);
const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

function isLoopback(hostname) {
  const h = hostname.replace(/^\[|\]$/g, "");
  return LOOPBACK_NAMES.has(h) || (net.isIPv4(h) && h.startsWith("127."));
}

/** Strip an optional `:port` from a Host header value (handles `[v6]:port`). */
function hostOnly(hostHeader) {
  const h = String(hostHeader || "")
    .trim()
    .toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  return h.replace(/:\d+$/, "");
}

/**
 * Copy raw headers without hop-by-hop ones (and without those named in `drop`).
 * Keeps order, case and duplicates. Returns a flat [name, value, name, value, ...] array.
 */
function filterRawHeaders(rawHeaders, drop = []) {
  const dropSet = new Set(drop.map((d) => d.toLowerCase()));
  const out = [];
  // Also drop headers listed in a Connection header.
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === "connection") {
      for (const n of rawHeaders[i + 1].split(",")) dropSet.add(n.trim().toLowerCase());
    }
  }
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || dropSet.has(name)) continue;
    out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

/**
 * Collect up to `limit` bytes of a stream's data into entry[field] as a UTF-8 string, after
 * undoing a Content-Encoding (gzip, deflate, br) when the body was not truncated. Also set when
 * the stream was cut short (`entry[field + 'Aborted'] = true`).
 */
function capture(stream, entry, field, limit) {
  if (!limit) return;
  const chunks = [];
  let size = 0;
  let truncated = false;
  stream.on("data", (c) => {
    const room = limit - size;
    if (c.length > room) truncated = true;
    if (room <= 0) return;
    chunks.push(c.subarray(0, room));
    size += Math.min(c.length, room);
  });
  let finished = false;
  const finish = (aborted) => {
    if (finished) return;
    finished = true;
    let buf = Buffer.concat(chunks);
    // Record the decoded body (wrangler/workerd gzip their answers when the client, like
    // rsapi, sends Accept-Encoding: gzip); the encoding is kept in entry[field + 'Encoding'].
    // Lenient flush: rsapi may hang up after the gzip trailer but before the last HTTP chunk,
    // which cuts the upstream answer short of its end although the body is all there.
    const enc = String(stream.headers?.["content-encoding"] || "")
      .trim()
      .toLowerCase();
    if (enc && enc !== "identity") {
      entry[field + "Encoding"] = enc;
      if (!truncated) {
        const lenient = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
        try {
          if (enc === "gzip" || enc === "x-gzip") buf = zlib.gunzipSync(buf, lenient);
          else if (enc === "deflate") buf = zlib.inflateSync(buf, lenient);
          else if (enc === "br")
            buf = zlib.brotliDecompressSync(buf, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
        } catch {
          /* keep the raw bytes */
        }
      }
    }
    entry[field] = buf.toString("utf8");
    if (truncated) entry[field + "Truncated"] = true;
    if (aborted) entry[field + "Aborted"] = true;
  };
  stream.on("end", () => finish(false));
  stream.on("close", () => finish(true));
}

function sendText(res, status, text) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(text + "\n");
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": body.length });
  res.end(body);
}

/**
 * Start the proxy.
 * @param {object} opts
 * @param {string} opts.workerUrl base URL of the worker, e.g. `http://127.0.0.1:8787` (must be
 *   a loopback http(s) URL; a path prefix is allowed and is prepended).
 * @param {number} [opts.port=0] listen port (0 = any free port).
 * @param {number} [opts.upstreamTimeoutMs=120000] abort a forwarded request that gets no
 *   response for this long.
 * @param {number} [opts.captureLimit=262144] for `api` requests (not uploads/downloads) keep
 *   up to this many bytes of the request and response bodies in the log entry
 *   (`requestBody`, `responseBody`, UTF-8 strings, set once the body ended); 0 = off.
 * @param {(entry: object) => (Record<string,string>|null|undefined)} [opts.extraHeaders] called
 *   once per forwarded request with its log entry (`kind`, `method`, `path`); the headers it
 *   returns are added to what reaches the worker (and kept in `entry.addedHeaders`).
 * @returns {Promise<{url: string, port: number, log: Array<{method: string, host: string,
 *   path: string, status: number|null, target: string|null, kind: string}>,
 *   tunnels: Array<{authority: string, at: number}>, clearLog(): void,
 *   idle(timeoutMs?: number): Promise<void>, close(): Promise<void>}>}
 *   `log` entries are pushed when a request arrives (each has a non-enumerable `done`
 *   Promise resolving when its exchange is over — await it, or `idle()`, before reading
 *   `status`/`responseBody`: rsapi may finish reading a gzip answer before the proxy has); `status` is filled in once the answer
 *   (or the proxy's own error answer) is sent, `null` if the client went away first.
 *   `host` is the Host the client addressed (no port), `path` the raw request target path+query
 *   as the client sent it, `target` the URL the proxy forwarded to (null when refused), `kind`
 *   one of `api`, `s3`, `http` (absolute-form plain http) or `refused`; `api` entries also get
 *   `requestBody` / `responseBody` (see captureLimit; decoded, the Content-Encoding if any is
 *   in `responseBodyEncoding`) and `responseHeaders` (lower-case).
 */
export async function startInterceptProxy({
  workerUrl,
  port = 0,
  upstreamTimeoutMs = 120_000,
  captureLimit = 256 * 1024,
  extraHeaders,
} = {}) {
  if (!workerUrl) throw new Error("startInterceptProxy: workerUrl is required");
  const worker = new URL(workerUrl);
  if (!/^https?:$/.test(worker.protocol) || !isLoopback(worker.hostname)) {
    throw new Error(`startInterceptProxy: workerUrl must be a loopback http(s) URL, got ${workerUrl}`);
  }
  const workerPrefix = worker.pathname.replace(/\/+$/, "");
  const { key, cert } = makeSelfSignedCert();
  const secureContext = tls.createSecureContext({ key, cert });

  const log = [];
  const tunnels = [];
  const sockets = new Set();
  const track = (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };

  // In-flight bookkeeping. rsapi can see its answer complete before the proxy saw the end of
  // it (reqwest's gzip decoder stops at the end of the gzip stream, before the final chunk),
  // so tests must wait for `entry.done` / `idle()` before reading captured bodies.
  let inflight = 0;
  let idleWaiters = [];
  const holds = new WeakMap(); // entry -> { count, resolve }
  function record(entry, res) {
    log.push(entry);
    inflight++;
    let resolveDone;
    Object.defineProperty(entry, "done", {
      value: new Promise((r) => {
        resolveDone = r;
      }),
      enumerable: false,
    });
    holds.set(entry, {
      count: 0,
      resolve: () => {
        resolveDone(entry);
        if (--inflight === 0) {
          const w = idleWaiters;
          idleWaiters = [];
          for (const f of w) f();
        }
      },
    });
    const release = hold(entry);
    res.once("close", () => setImmediate(release));
  }
  /** Keep `entry.done` pending until the returned function is called (once). */
  function hold(entry) {
    const h = holds.get(entry);
    h.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--h.count === 0) h.resolve();
    };
  }

  /**
   * Forward `req` to `target` = { protocol, hostname, port, path } with the given raw headers
   * and pipe the answer to `res`. `path` is sent byte for byte (no URL parsing, which would
   * normalise dot segments and percent-encode some characters).
   */
  function forward(req, res, entry, target, rawHeaders) {
    const { protocol, hostname, port, path } = target;
    const bareHost = hostname.replace(/^\[|\]$/g, "");
    const authority = net.isIPv6(bareHost) ? `[${bareHost}]` : bareHost;
    entry.target = `${protocol}//${authority}:${port}${path}`;
    const mod = protocol === "https:" ? https : http;
    const upstream = mod.request({
      protocol,
      hostname: bareHost,
      port,
      method: req.method,
      path,
      setHost: false,
      agent: false, // one upstream connection per request: simple, nothing pooled after close()
      rejectUnauthorized: false,
      timeout: upstreamTimeoutMs,
    });
    // Headers one by one (not as an array option: Node would then serialise them at once and
    // add `Transfer-Encoding: chunked` to a POST that had no body framing at all).
    const grouped = new Map();
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const k = rawHeaders[i].toLowerCase();
      if (!grouped.has(k)) grouped.set(k, { name: rawHeaders[i], values: [] });
      grouped.get(k).values.push(rawHeaders[i + 1]);
    }
    for (const { name, values } of grouped.values()) upstream.setHeader(name, values.length === 1 ? values[0] : values);
    // Test hook: headers added to one forwarded request (e.g. x-fault-inject), recorded in the log.
    const added = extraHeaders?.(entry);
    if (added) {
      entry.addedHeaders = added;
      for (const [k, v] of Object.entries(added)) upstream.setHeader(k, v);
    }
    upstream.on("timeout", () => upstream.destroy(new Error("upstream timeout")));
    const releaseUpstream = hold(entry);
    upstream.once("close", () => setImmediate(releaseUpstream));
    upstream.on("response", (up) => {
      const releaseResponse = hold(entry);
      up.once("close", () => setImmediate(releaseResponse));
      entry.status = up.statusCode;
      if (entry.kind === "api") {
        entry.responseHeaders = up.headers;
        capture(up, entry, "responseBody", captureLimit);
      }
      const headers = filterRawHeaders(up.rawHeaders);
      try {
        res.writeHead(up.statusCode, up.statusMessage, headers);
      } catch (err) {
        up.destroy();
        res.destroy(err);
        return;
      }
      up.on("error", () => res.destroy());
      up.pipe(res);
    });
    upstream.on("error", (err) => {
      if (!res.headersSent && !res.destroyed && !req.destroyed) {
        entry.status = 502;
        sendText(res, 502, `proxy: upstream error: ${err.message}`);
      } else {
        res.destroy();
      }
    });
    // client went away (abort before or during the answer): cut the upstream request too
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.on("error", () => upstream.destroy());
    if (entry.kind === "api") capture(req, entry, "requestBody", captureLimit);
    if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) {
      // No body and no framing header (rsapi's get_temp_credential, `.body("")`): forward it
      // exactly like that, without inventing Content-Length: 0 or chunked encoding.
      upstream.useChunkedEncodingByDefault = false;
      req.resume();
      upstream.end();
    } else {
      req.pipe(upstream);
    }
  }

  const workerPort = worker.port || (worker.protocol === "https:" ? "443" : "80");
  function workerTarget(pathAndQuery) {
    return {
      protocol: worker.protocol,
      hostname: worker.hostname,
      port: workerPort,
      path: workerPrefix + pathAndQuery,
    };
  }

  // ---- requests inside CONNECT tunnels (after TLS termination) ----
  // Idle tunnels stay open long (rsapi reuses a connection within one call; close() ends them).
  const inner = http.createServer({ keepAliveTimeout: 120_000 });
  inner.on("request", (req, res) => {
    const hostHeader = req.headers.host || req.socket.connectAuthority || "";
    const host = hostOnly(hostHeader);
    const entry = { method: req.method, host, path: req.url, status: null, target: null, kind: "refused" };
    record(entry, res);
    req.on("error", () => {});
    res.on("error", () => {});

    const [pathname] = req.url.split("?");
    if (API_HOSTS.has(host) && pathname.startsWith("/file-sync/")) {
      entry.kind = "api";
      const headers = filterRawHeaders(req.rawHeaders, ["host", "x-forwarded-host", "x-forwarded-proto"]);
      headers.push("Host", worker.host, "X-Forwarded-Host", hostHeader, "X-Forwarded-Proto", "https");
      forward(req, res, entry, workerTarget(req.url), headers);
    } else if (S3_HOST.test(host) && req.url.startsWith("/")) {
      entry.kind = "s3";
      const headers = filterRawHeaders(req.rawHeaders, ["host", "x-forwarded-host", "x-forwarded-proto"]);
      headers.push("Host", worker.host, "X-Forwarded-Host", hostHeader, "X-Forwarded-Proto", "https");
      forward(req, res, entry, workerTarget("/s3" + req.url), headers);
    } else {
      entry.status = 502;
      req.resume();
      sendText(res, 502, `proxy: host not intercepted: ${hostHeader} ${req.url}`);
    }
  });
  inner.on("clientError", (_err, socket) => {
    socket.destroy();
  });

  // ---- the proxy itself ----
  const outer = http.createServer({ keepAliveTimeout: 30_000 });
  outer.on("connection", track);
  outer.on("clientError", (_err, socket) => {
    socket.destroy();
  });

  outer.on("connect", (req, clientSocket, head) => {
    clientSocket.on("error", () => {});
    clientSocket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head?.length) clientSocket.unshift(head);
    const tlsSocket = new tls.TLSSocket(clientSocket, {
      isServer: true,
      secureContext,
      ALPNProtocols: ["http/1.1"], // never negotiate h2
    });
    tlsSocket.connectAuthority = req.url; // e.g. api.logseq.com:443
    tunnels.push({ authority: req.url, at: Date.now() });
    tlsSocket.on("error", () => {
      clientSocket.destroy();
    });
    track(tlsSocket);
    inner.emit("connection", tlsSocket);
  });

  // plain http, absolute-form
  outer.on("request", (req, res) => {
    req.on("error", () => {});
    res.on("error", () => {});
    let target = null;
    try {
      if (/^https?:\/\//i.test(req.url)) target = new URL(req.url);
    } catch {
      target = null;
    }
    const entry = {
      method: req.method,
      host: target ? target.hostname : hostOnly(req.headers.host),
      path: target ? target.pathname + target.search : req.url,
      status: null,
      target: null,
      kind: "refused",
    };
    record(entry, res);
    if (target?.protocol !== "http:" || !isLoopback(target.hostname)) {
      entry.status = 502;
      req.resume();
      sendText(res, 502, `proxy: refusing ${req.method} ${req.url}`);
      return;
    }
    entry.kind = "http";
    // Raw path+query: take it from the request line itself, not from the URL parser.
    const afterScheme = req.url.slice(req.url.indexOf("//") + 2);
    const rest = afterScheme.slice(afterScheme.search(/[/?#]|$/)).replace(/#.*$/, "");
    const rawPath = rest.startsWith("/") ? rest : "/" + rest;
    entry.path = rawPath;
    // RFC 9112 §3.2.2: with an absolute-form target the Host header is the target's authority.
    const headers = filterRawHeaders(req.rawHeaders, ["host"]);
    headers.unshift("Host", target.host);
    forward(
      req,
      res,
      entry,
      { protocol: "http:", hostname: target.hostname, port: target.port || "80", path: rawPath },
      headers,
    );
  });

  await new Promise((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(port, "127.0.0.1", () => {
      outer.off("error", reject);
      resolve();
    });
  });
  const actualPort = outer.address().port;

  let closed = false;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    log,
    tunnels,
    clearLog() {
      log.length = 0;
      tunnels.length = 0;
    },
    /**
     * Resolves once no request is in flight (every log entry complete, bodies captured).
     * @param {number} [timeoutMs=10000] reject after this long
     */
    idle(timeoutMs = 10_000) {
      if (inflight === 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`proxy still busy after ${timeoutMs} ms (${inflight} in flight)`)),
          timeoutMs,
        );
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    /** Stop listening and destroy every open client connection and tunnel. */
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => {
        outer.close(() => resolve());
        inner.close();
        for (const s of sockets) s.destroy();
        outer.closeAllConnections?.();
        inner.closeAllConnections?.();
      });
    },
  };
}
