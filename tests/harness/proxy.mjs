// The tests' view of the connect proxy: the SHIPPED forwarding core (scripts/lib/connect-proxy.mjs,
// `startConnectProxy`) in its sealed mode, plus a capture hook that keeps a log of every request.
//
// The stock rsapi is pointed at it with `rsapi.setProxy(proxy.url)`: it sends every https request
// as `CONNECT host:443`, the proxy terminates TLS with a leaf of a throwaway CA made here (rsapi
// accepts any certificate) and forwards by the connect proxy's route table:
//
//   https://api.logseq.com/file-sync/<api>         -> <worker>/file-sync/<api>
//   https://logseq-file-sync-bucket-prod.s3.amazonaws.com/<key>?<query>
//                                                  -> <worker>/s3/<key>?<query> (raw bytes)
//   (and the connectivity check, the Cognito refresh and the websocket; see connect-proxy.mjs)
//
// Sealed: a CONNECT to any other host is intercepted too and answered 502 inside the tunnel, and
// plain-http requests in absolute form are forwarded to loopback targets only (anything else,
// including origin-form requests to the proxy itself, gets 502). rsapi configures its proxy with
// `reqwest::Proxy::https`, so http:// URLs such as presigned download URLs pointing at the local
// worker go direct.
//
// Only 127.0.0.1 is ever contacted. Every request is recorded in `log`, every CONNECT in `tunnels`.

import net from "node:net";
import zlib from "node:zlib";
import { makeCa, startConnectProxy } from "../../scripts/lib/connect-proxy.mjs";

function isLoopback(hostname) {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (net.isIPv4(h) && h.startsWith("127."));
}

/**
 * Collect up to `limit` bytes of a stream's data into entry[field] as a UTF-8 string, after
 * undoing a Content-Encoding (gzip, deflate, br) when the body was not truncated. Also set when
 * the stream was cut short (`entry[field + 'Aborted'] = true`).
 */
function collect(stream, entry, field, limit) {
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
 *   one of `api`, `s3`, `connectivity`, `oauth`, `http` (absolute-form plain http) or `refused`; `api` entries also get
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
  const log = [];
  const tunnels = [];

  // In-flight bookkeeping. rsapi can see its answer complete before the proxy saw the end of
  // it (reqwest's gzip decoder stops at the end of the gzip stream, before the final chunk),
  // so tests must wait for `entry.done` / `idle()` before reading captured bodies.
  let inflight = 0;
  let idleWaiters = [];
  const holds = new WeakMap(); // entry -> { count, resolve }
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
  /** Release `entry` a turn after `stream` closes. */
  const holdUntilClosed = (entry, stream) => {
    const release = hold(entry);
    stream.once("close", () => setImmediate(release));
  };

  const capture = {
    tunnel(authority) {
      tunnels.push({ authority, at: Date.now() });
    },
    request(entry, req, res) {
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
      holdUntilClosed(entry, res);
      if (entry.kind === "api") collect(req, entry, "requestBody", captureLimit);
    },
    forward(entry, upstream) {
      holdUntilClosed(entry, upstream);
      // Test hook: headers added to one forwarded request (e.g. x-fault-inject), recorded in the log.
      const added = extraHeaders?.(entry);
      if (added) entry.addedHeaders = added;
      return added;
    },
    response(entry, up) {
      holdUntilClosed(entry, up);
      if (entry.kind === "api") {
        entry.responseHeaders = up.headers;
        collect(up, entry, "responseBody", captureLimit);
      }
    },
  };
  const proxy = await startConnectProxy({
    serverUrl: workerUrl,
    ca: makeCa({ commonName: "logseq-sync-test-proxy", years: 1 }),
    port,
    upstreamTimeoutMs,
    sealed: true,
    capture,
  });
  return {
    url: proxy.url,
    port: proxy.port,
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
    close: proxy.close,
  };
}
