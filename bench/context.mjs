// What every bench section shares: the running worker, the intercepting proxy for the stock
// rsapi, users, graphs, and small request helpers that check answers and read the worker's
// x-d1-* cost headers.

import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { appCall, rsapiCall, raw } from "../tests/harness/client.mjs";
import { startInterceptProxy } from "../tests/harness/proxy.mjs";
import * as rsapi from "../tests/harness/rsapi.mjs";
import { stripUserGraphPrefix } from "../tests/harness/graph.mjs";
import { mintToken, userIdForEmail } from "../scripts/lib/jwt.mjs";
import { processTree, cpuSeconds } from "./server.mjs";
import { now } from "./stats.mjs";
import { armor, Encrypter } from "age-encryption";

export { rsapi };

/** The bench graphs' password (their key is wrapped with it at scrypt logN 18). */
export const BENCH_PASSWORD = "bench graph password";

export const md5 = (b) => createHash("md5").update(b).digest("hex");

/** D1 cost of an answer, from the worker's own headers. */
export function d1Cost(reply) {
  const h = reply.headers ?? reply.responseHeaders ?? {};
  return {
    queries: Number(h["x-d1-queries"] ?? NaN),
    read: Number(h["x-d1-rows-read"] ?? NaN),
    written: Number(h["x-d1-rows-written"] ?? NaN),
  };
}

export class BenchContext {
  constructor(server, secrets) {
    this.server = server;
    this.url = server.url;
    this.secrets = secrets;
    this.proxy = null;
    this.keys = null;
    this.users = 0;
  }

  async init() {
    this.proxy = await startInterceptProxy({ workerUrl: this.url, captureLimit: 64 * 1024 });
    instrumentProxy(this.proxy);
    await rsapi.setProxy(this.proxy.url);
    this.keys = await rsapi.keygen();
    // The graph key wrapped with BENCH_PASSWORD at scrypt logN 18, as the desktop stores it, so
    // the web section can unlock the bench graph (about a second, once per bench).
    const e = new Encrypter();
    e.setPassphrase(BENCH_PASSWORD);
    e.setScryptWorkFactor(18);
    this.wrappedKey = armor.encode(await e.encrypt(this.keys.secretKey));
    this.findRuntime();
  }

  findRuntime() {
    this.workerdPids = this.server.workerdPids();
  }

  /** On-CPU nanoseconds of the worker runtime's main thread (where every isolate runs). */
  runtimeThreadNs() {
    return this.server.threadNs();
  }

  /** CPU seconds of this process (rsapi's threads and the proxy included) and of the worker's processes. */
  cpuSnapshot() {
    const self = process.cpuUsage();
    return {
      at: now(),
      client: (self.user + self.system) / 1e6,
      worker: cpuSeconds(this.workerdPids ?? []),
      wrangler: cpuSeconds(processTree(this.server.child.pid).filter((p) => !(this.workerdPids ?? []).includes(p))),
    };
  }

  async close() {
    await rsapi.setProxy(null).catch(() => {});
    await this.proxy?.close();
  }

  /** A new user: `{email, token, userId}`. */
  newUser(label = "bench") {
    const email = `${label}-${++this.users}-${randomBytes(4).toString("hex")}@example.com`;
    return {
      email,
      token: mintToken(this.secrets.JWT_SECRET, email),
      userId: userIdForEmail(this.secrets.JWT_SECRET, email),
    };
  }

  /** The app's JSON call; throws unless 200. Returns the reply (json, headers, ms). */
  async app(name, body, token, { expect = 200 } = {}) {
    const t0 = now();
    const reply = await appCall(this.url, name, body, token, { timeoutMs: 60_000, headers: this.extraHeaders ?? {} });
    reply.ms = now() - t0;
    if (expect !== null && reply.status !== expect) {
      throw new Error(`${name}: expected ${expect}, got ${reply.status} ${reply.text.slice(0, 300)}`);
    }
    return reply;
  }

  /** rsapi's JSON call (octet-stream; `undefined` body = none); throws unless 200. */
  async rs(name, body, token, { expect = 200 } = {}) {
    const t0 = now();
    const reply = await rsapiCall(this.url, name, body, token, { timeoutMs: 60_000, headers: this.extraHeaders ?? {} });
    reply.ms = now() - t0;
    if (expect !== null && reply.status !== expect) {
      throw new Error(`${name}: expected ${expect}, got ${reply.status} ${reply.text.slice(0, 300)}`);
    }
    return reply;
  }

  /** Creates a graph for `user` and registers the bench's keys for it in rsapi. */
  async newGraph(user, name) {
    const res = await this.app("create_graph", { GraphName: name }, user.token);
    const graph = res.json.GraphUUID;
    await this.app(
      "upload_graph_encrypt_keys",
      {
        GraphUUID: graph,
        "public-key": this.keys.publicKey,
        "encrypted-private-key": this.wrappedKey,
      },
      user.token,
    );
    await this.app("create_graph_salt", { GraphUUID: graph }, user.token);
    await rsapi.setEnv(graph, "prod", this.keys.secretKey, this.keys.publicKey);
    return graph;
  }

  /** Every object of a graph (get_all_files, all pages) and the per-page replies. */
  async listAll(graph, token) {
    const objects = [];
    const pages = [];
    let next;
    for (let page = 0; page < 1000; page++) {
      const body = next ? { GraphUUID: graph, ContinuationToken: next } : { GraphUUID: graph };
      const res = await this.app("get_all_files", body, token);
      pages.push(res);
      objects.push(...res.json.Objects);
      next = res.json.NextContinuationToken;
      if (!next) return { objects, pages };
    }
    throw new Error("get_all_files: more than 1000 pages");
  }

  /** Plain paths of object keys (prefix stripped, names decrypted with the bench's key). */
  plainPaths(graph, keys) {
    return rsapi.decryptFnames(graph, keys.map(stripUserGraphPrefix));
  }

  encryptedNames(graph, paths) {
    return rsapi.encryptFnames(graph, paths);
  }

  /**
   * Presigned uploads through get_upload_urls (the worker's primary flow): PUTs straight to
   * the local R2 S3 endpoint. Returns `[{Key, URL}]`, `count` of them.
   */
  async uploadUrls(graph, token, count) {
    const out = [];
    while (out.length < count) {
      const n = Math.min(100, count - out.length);
      const res = await this.rs("get_upload_urls", { GraphUUID: graph, Count: n }, token);
      out.push(...res.json.Uploads);
    }
    return out;
  }
}

/** Sends `body` to a presigned URL with PUT; throws unless 200. */
export async function putUrl(url, body) {
  const u = new URL(url);
  const res = await raw(u.origin, u.pathname + u.search, { method: "PUT", body, timeoutMs: 120_000 });
  if (res.status !== 200) throw new Error(`PUT ${u.pathname}: ${res.status} ${res.text.slice(0, 200)}`);
  return res;
}

/** GETs a presigned URL, whole body; throws unless 200. */
export async function getUrl(url) {
  const u = new URL(url);
  const res = await raw(u.origin, u.pathname + u.search, { method: "GET", timeoutMs: 120_000, decompress: false });
  if (res.status !== 200) throw new Error(`GET ${u.pathname}: ${res.status} ${res.text.slice(0, 200)}`);
  return res;
}

/**
 * rsapi's first GET of a download (PROTOCOL.md §7.4): `Content-Range: bytes=0-0`, only the
 * Content-Length is read, then the connection is dropped. Resolves with that length.
 */
export function probeGet(url, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { "Content-Range": "bytes=0-0" } }, (res) => {
      const len = Number(res.headers["content-length"]);
      res.destroy();
      req.destroy();
      if (res.statusCode !== 200) reject(new Error(`probe GET: ${res.statusCode}`));
      else resolve(len);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error("probe GET timeout")));
    req.on("error", (e) => {
      if (e.code !== "ECONNRESET") reject(e);
    });
  });
}

/** Stamps every proxy log entry with its arrival (`at`) and completion (`end`) times. */
function instrumentProxy(proxy) {
  const push = proxy.log.push;
  proxy.log.push = function stamped(...entries) {
    const t = now();
    for (const e of entries) {
      e.at = t;
      queueMicrotask(() =>
        e.done?.then(() => {
          e.end = now();
        }),
      );
    }
    return push.apply(this, entries);
  };
}

/** A body that looks like an age file (the worker does not care), `size` bytes. */
export function ageLike(size, fill = randomBytes) {
  const head = Buffer.from("age-encryption.org/v1\n");
  if (size <= head.length) return head.subarray(0, size);
  return Buffer.concat([head, fill(size - head.length)]);
}
