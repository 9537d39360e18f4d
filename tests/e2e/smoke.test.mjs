// Smoke tests against a running worker (WORKER_URL, e.g. http://127.0.0.1:8787): the fixed
// routes, CORS, errors, and the chain stock rsapi -> intercepting proxy -> worker.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http from "node:http";
import tls from "node:tls";

import { raw, appCall } from "../harness/client.mjs";
import { startInterceptProxy } from "../harness/proxy.mjs";
import * as rsapi from "../harness/rsapi.mjs";

const WORKER_URL = process.env.WORKER_URL;

function requireWorker() {
  if (!WORKER_URL) throw new Error("WORKER_URL is not set (e.g. WORKER_URL=http://127.0.0.1:8787)");
  return WORKER_URL;
}

/** Split a comma-separated header value into lower-case tokens. */
function tokens(value) {
  return String(value ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

describe("fixed routes", { timeout: 30_000 }, () => {
  before(requireWorker);

  it("GET /logseq/version answers 200 JSON with CORS", async () => {
    const r = await raw(WORKER_URL, "/logseq/version");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^application\/json/);
    assert.ok(r.json !== undefined && typeof r.json === "object", `body is not a JSON object: ${r.text}`);
    assert.equal(r.headers["access-control-allow-origin"], "*");
  });

  it('GET /logseq-connectivity-testing answers 200 text/plain "OK"', async () => {
    const r = await raw(WORKER_URL, "/logseq-connectivity-testing");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/plain/);
    assert.equal(r.text, "OK"); // exactly, no newline (PROTOCOL.md §6.23)
    assert.equal(r.headers["access-control-allow-origin"], "*");
  });

  for (const path of ["/file-sync/list_graphs", "/logseq/version"]) {
    it(`OPTIONS ${path} is a CORS preflight answer`, async () => {
      const r = await raw(WORKER_URL, path, {
        method: "OPTIONS",
        headers: {
          Origin: "file://",
          "Access-Control-Request-Method": path.startsWith("/file-sync/") ? "POST" : "GET",
          "Access-Control-Request-Headers": "authorization,content-type",
        },
      });
      assert.ok(r.status === 200 || r.status === 204, `status ${r.status}`);
      assert.equal(r.headers["access-control-allow-origin"], "*");
      const methods = tokens(r.headers["access-control-allow-methods"]);
      for (const m of ["post", "get", "options"]) assert.ok(methods.includes(m), `methods: ${methods}`);
      const allowed = tokens(r.headers["access-control-allow-headers"]);
      for (const h of ["authorization", "content-type"]) assert.ok(allowed.includes(h), `headers: ${allowed}`);
    });
  }

  it('an unknown route answers 404 JSON {"message": ...}', async () => {
    const r = await raw(WORKER_URL, "/no/such/route");
    assert.equal(r.status, 404);
    assert.match(String(r.headers["content-type"]), /^application\/json/);
    assert.equal(typeof r.json?.message, "string", `body: ${r.text}`);
    assert.ok(r.json.message.length > 0);
  });

  it('an unknown API name answers 404 JSON {"message": ...}', async () => {
    const r = await appCall(WORKER_URL, "no_such_api", {}, "some-token");
    assert.equal(r.status, 404);
    assert.match(String(r.headers["content-type"]), /^application\/json/);
    assert.equal(typeof r.json?.message, "string", `body: ${r.text}`);
    assert.equal(r.headers["access-control-allow-origin"], "*");
  });
});

describe("intercepting proxy", { timeout: 30_000 }, () => {
  let proxy;
  before(async () => {
    requireWorker();
    proxy = await startInterceptProxy({ workerUrl: WORKER_URL });
  });
  after(async () => {
    await proxy?.close();
  });

  /** CONNECT through the proxy and TLS-handshake (the proxy's throwaway certificate). */
  function tunnel(authority) {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port: proxy.port,
        method: "CONNECT",
        path: authority,
        timeout: 10_000,
      });
      req.on("timeout", () => req.destroy(new Error("CONNECT timeout")));
      req.on("connect", (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(new Error(`CONNECT ${res.statusCode}`));
          return;
        }
        const t = tls.connect({ socket, servername: authority.split(":")[0], rejectUnauthorized: false });
        // one keep-alive agent per tunnel whose only connection is this TLS socket
        t.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        t.agent.createConnection = () => t;
        t.once("secureConnect", () => resolve(t));
        t.once("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  }

  /** One request over a tunnel from tunnel() with node:http (the socket stays open). */
  function over(t, { method = "GET", path, host, headers = {}, body }) {
    return new Promise((resolve, reject) => {
      const req = http.request({
        method,
        path,
        headers: { Host: host, ...headers },
        agent: t.agent,
        setHost: false,
        timeout: 10_000,
      });
      req.on("timeout", () => req.destroy(new Error("request timeout")));
      req.on("response", (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  it("forwards api.logseq.com/file-sync/* to the worker, several requests per tunnel", async () => {
    proxy.clearLog();
    const direct = await appCall(WORKER_URL, "no_such_api", {}, "tok");
    const t = await tunnel("api.logseq.com:443");
    try {
      for (let i = 0; i < 2; i++) {
        const r = await over(t, {
          method: "POST",
          path: "/file-sync/no_such_api",
          host: "api.logseq.com",
          headers: { "Content-Type": "application/octet-stream", Authorization: "Bearer tok" },
          body: "{}",
        });
        assert.equal(r.status, direct.status);
        assert.equal(r.text, direct.text);
      }
    } finally {
      t.agent.destroy();
      t.destroy();
    }
    assert.equal(proxy.tunnels.length, 1);
    await proxy.idle();
    assert.equal(proxy.log.length, 2);
    for (const e of proxy.log) {
      assert.equal(e.kind, "api");
      assert.equal(e.host, "api.logseq.com");
      assert.equal(new URL(e.target).href, new URL("/file-sync/no_such_api", WORKER_URL).href);
      assert.equal(e.requestBody, "{}");
    }
  });

  it("forwards <bucket>.s3.amazonaws.com to <worker>/s3/ with the raw path and query", async () => {
    proxy.clearLog();
    const rawPath =
      "/temp/us-east-1%3Aabc/qwertyuiopas?X-Amz-Date=20240101T000000Z&X-Amz-Security-Token=a%2Fb:c+d'e&X-Amz-Signature=00";
    const t = await tunnel("logseq-file-sync-bucket-prod.s3.amazonaws.com:443");
    let r;
    try {
      r = await over(t, {
        method: "PUT",
        path: rawPath,
        host: "logseq-file-sync-bucket-prod.s3.amazonaws.com",
        headers: { "Content-Type": "application/octet-stream" },
        body: "xyz",
      });
    } finally {
      t.agent.destroy();
      t.destroy();
    }
    await proxy.idle();
    const [e] = proxy.log;
    assert.equal(e.kind, "s3");
    assert.equal(e.host, "logseq-file-sync-bucket-prod.s3.amazonaws.com");
    const w = new URL(WORKER_URL);
    assert.equal(e.target, `${w.protocol}//${w.hostname}:${w.port || 80}/s3${rawPath}`);
    assert.equal(e.status, r.status); // whatever the worker said, not a proxy error
    assert.notEqual(r.status, 502);
  });

  it("answers 502 for hosts it does not intercept", async () => {
    proxy.clearLog();
    const t = await tunnel("example.com:443");
    let r;
    try {
      r = await over(t, { path: "/", host: "example.com" });
    } finally {
      t.agent.destroy();
      t.destroy();
    }
    assert.equal(r.status, 502);
    assert.match(r.text, /not intercepted/);
    await proxy.idle();
    assert.deepEqual(
      proxy.log.map((e) => [e.host, e.status, e.target]),
      [["example.com", 502, null]],
    );
  });

  it("forwards absolute-form http:// requests to loopback targets only", async () => {
    proxy.clearLog();
    const target = new URL("/logseq-connectivity-testing", WORKER_URL).href;
    const originForm = await raw(proxy.url, "/logseq/version"); // not a proxy request: refused
    assert.equal(originForm.status, 502);
    const sendAbsolute = (url) =>
      new Promise((resolve, reject) => {
        const req = http.request({
          host: "127.0.0.1",
          port: proxy.port,
          method: "GET",
          path: url,
          timeout: 10_000,
          agent: false,
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("response", (res) => {
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => resolve({ status: res.statusCode, text }));
        });
        req.on("error", reject);
        req.end();
      });
    const viaProxy = await sendAbsolute(target);
    assert.equal(viaProxy.status, 200);
    assert.equal(viaProxy.text, "OK");
    const refused = await sendAbsolute("http://192.0.2.1/");
    assert.equal(refused.status, 502);
    await proxy.idle();
    // (192.0.2.1 is TEST-NET-1: refused before any connection attempt)
    assert.deepEqual(
      proxy.log.map((e) => [e.kind, e.status]),
      [
        ["refused", 502],
        ["http", 200],
        ["refused", 502],
      ],
    );
    assert.equal(new URL(proxy.log[1].target).href, target);
  });
});

describe("stock rsapi through the proxy", { timeout: 60_000 }, () => {
  let proxy;
  let baseDir;
  before(async () => {
    requireWorker();
    proxy = await startInterceptProxy({ workerUrl: WORKER_URL });
    await rsapi.setProxy(proxy.url);
    baseDir = mkdtempSync(join(tmpdir(), "rsapi-graph-"));
  });
  after(async () => {
    await rsapi.setProxy(null);
    await proxy?.close();
    if (baseDir) rmSync(baseDir, { recursive: true, force: true });
  });

  it("keygen, setEnv, file-name encryption and one API call reaching the worker", async () => {
    const { publicKey, secretKey } = await rsapi.keygen();
    assert.match(publicKey, /^age1[0-9a-z]{58}$/);
    assert.match(secretKey, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);

    const graphUUID = randomUUID();
    await rsapi.setEnv(graphUUID, "prod", secretKey, publicKey);

    const paths = ["pages/contents.md", "journals/2024_01_01.md", "assets/ünïcode name.png"];
    const names = rsapi.encryptFnames(graphUUID, paths);
    assert.equal(names.length, paths.length);
    names.forEach((n, i) => {
      assert.match(n, /^e\.[0-9a-f]+$/);
      assert.equal(n.length, 2 + 2 * (Buffer.byteLength(paths[i], "utf8") + 16));
    });
    assert.deepEqual(rsapi.encryptFnames(graphUUID, paths), names, "deterministic");
    assert.deepEqual(rsapi.decryptFnames(graphUUID, names), paths);

    proxy.clearLog();
    const token = "not-a-valid-token";
    const errText = await rsapi.rejectionMessage(rsapi.deleteRemoteFiles(graphUUID, baseDir, [paths[0]], 0, token));

    await proxy.idle();
    const calls = proxy.log.filter((e) => e.path === "/file-sync/delete_files");
    assert.equal(calls.length, 1, JSON.stringify(proxy.log));
    const [e] = calls;
    assert.equal(e.method, "POST");
    assert.equal(e.host, "api.logseq.com");
    assert.equal(e.kind, "api");
    assert.equal(new URL(e.target).href, new URL("/file-sync/delete_files", WORKER_URL).href);
    assert.deepEqual(
      proxy.tunnels.map((t) => t.authority),
      ["api.logseq.com:443"],
    );
    // what rsapi sent (PROTOCOL.md §6.18)
    assert.deepEqual(JSON.parse(e.requestBody), { GraphUUID: graphUUID, TXId: 0, Files: [names[0]] });
    // what the worker answered: an error with JSON {"message": ...} (404 unknown api today,
    // 401 "Unauthorized" once the API exists)
    assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`);
    assert.match(String(e.responseHeaders["content-type"]), /^application\/json/);
    const answer = JSON.parse(e.responseBody);
    assert.equal(typeof answer.message, "string");
    assert.ok(answer.message.length > 0);
    // rsapi surfaces the worker's message as its error text
    assert.ok(
      errText.includes(answer.message),
      `rsapi error ${JSON.stringify(errText)} vs worker ${JSON.stringify(answer.message)}`,
    );
  });
});
