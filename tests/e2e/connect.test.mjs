// `npm run connect` (scripts/lib/connect-proxy.mjs): the local proxy that lets an unmodified
// Logseq desktop use this server. Drives it the way the app does (docs/CLIENT.md, option B):
// CONNECT + TLS validated against the proxy's CA (as Chromium would, with the CA trusted),
// the app's API calls, connectivity checks and token refresh, the websocket upgrade, and the
// stock rsapi (setProxy) uploading through the bucket host. Also: other hosts are blind
// tunnels, and the CA cannot vouch for any other host.
//
// Needs WORKER_URL and JWT_SECRET (the worker's) in the environment.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import {
  HOSTS,
  INTERCEPTED_HOSTS,
  loadOrCreateCa,
  makeCa,
  makeLeaf,
  selfIssuedClaims,
  startConnectProxy,
} from "../../scripts/lib/connect-proxy.mjs";
import { makeSelfSignedCert } from "../harness/tls.mjs";
import { connectWebSocket } from "../harness/ws.mjs";
import * as rsapi from "../harness/rsapi.mjs";
import { expiredTokenFor, jwtSecret, newUser } from "../harness/auth.mjs";
import { CLIENT_UUID_RE, makeDeviceDir, md5, removeDirs, writeFiles } from "../harness/graph.mjs";

const WORKER_URL = process.env.WORKER_URL;
const STEP = { timeout: 45_000 };

let ca;
let proxy;
const proxyLog = [];
const dirs = [];
const closers = [];

before(
  async () => {
    if (!WORKER_URL) throw new Error("WORKER_URL is not set (e.g. WORKER_URL=http://127.0.0.1:8787)");
    jwtSecret();
    ca = makeCa();
    proxy = await startConnectProxy({ serverUrl: WORKER_URL, ca, log: (l) => proxyLog.push(l) });
    await rsapi.setProxy(proxy.url);
  },
  { timeout: 15_000 },
);

after(
  async () => {
    for (const c of closers.reverse())
      await Promise.resolve()
        .then(c)
        .catch(() => {});
    await rsapi.setProxy(null).catch(() => {});
    await proxy?.close();
    await removeDirs(dirs);
  },
  { timeout: 15_000 },
);

/** `CONNECT authority` through the proxy; resolves with the raw socket after a 200. */
function connectTunnel(authority, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: proxy.port, method: "CONNECT", path: authority, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`CONNECT ${authority} timed out`)), timeoutMs);
    req.on("connect", (res, socket) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`CONNECT ${authority}: ${res.statusCode}`));
        return;
      }
      resolve(socket);
    });
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

/**
 * TLS to `host` through the proxy, verified against `trust` (default: the proxy's CA) with the
 * host name checked, as Chromium does once the CA is trusted. Rejects on any certificate problem.
 */
async function tlsThroughProxy(host, { trust = [ca.cert], port = 443, rejectUnauthorized = true } = {}) {
  const socket = await connectTunnel(`${host}:${port}`);
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket, servername: host, ca: trust, ALPNProtocols: ["http/1.1"], rejectUnauthorized });
    t.once("secureConnect", () => resolve(t));
    t.once("error", reject);
  });
}

/** One HTTP/1.1 exchange over a fresh verified tunnel to `host`. */
async function viaProxy(host, reqPath, { method = "GET", headers = {}, body } = {}) {
  const socket = await tlsThroughProxy(host);
  return new Promise((resolve, reject) => {
    const req = http.request({
      method,
      path: reqPath,
      createConnection: () => socket,
      headers: { Host: host, ...(body !== undefined ? { "Content-Length": Buffer.byteLength(body) } : {}), ...headers },
    });
    const timer = setTimeout(() => req.destroy(new Error(`timeout: ${method} ${host}${reqPath}`)), 15_000);
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        socket.destroy();
        const text = Buffer.concat(chunks).toString("utf8");
        let json;
        if (/^application\/json/.test(String(res.headers["content-type"]))) json = JSON.parse(text);
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

/** The app's own API call (LS sync.cljs:286-295): JSON labelled form-urlencoded, bearer token. */
function appApi(name, body, token) {
  return viaProxy(HOSTS.api, `/file-sync/${name}`, {
    method: "POST",
    body: JSON.stringify(body === undefined ? null : body),
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
      Origin: "null",
    },
  });
}

/** Websocket to wss://ws.logseq.com/file-sync?graphuuid=<g> through the proxy. */
async function wsThroughProxy(graph) {
  const socket = await tlsThroughProxy(HOSTS.ws);
  // ws:// on the already-encrypted tunnel: the Host is the app's, the bytes go through the CA's TLS.
  return connectWebSocket(`ws://${HOSTS.ws}/file-sync?graphuuid=${graph}`, {
    headers: { Origin: "null" },
    createConnection: () => socket,
  });
}

describe("the local CA", () => {
  it("is created once in its directory (key 0600) and then reused", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "connect-ca-"));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const first = loadOrCreateCa(path.join(dir, "ca"));
    assert.equal(first.created, true);
    if (process.platform !== "win32") {
      assert.equal((await stat(path.join(dir, "ca", "ca-key.pem"))).mode & 0o777, 0o600);
    }
    const again = loadOrCreateCa(path.join(dir, "ca"));
    assert.equal(again.created, false);
    assert.equal(again.cert, first.cert);
    assert.ok(new X509Certificate(first.cert).ca, "a CA certificate");
  });

  it("is name-constrained: a certificate it signs for another host is rejected", async () => {
    const evil = makeLeaf(ca, ["evil.example.com"]);
    const server = tls.createServer({ key: evil.key, cert: evil.cert }, (s) => s.end());
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => server.close(r)));
    const err = await new Promise((resolve) => {
      const t = tls.connect({
        host: "127.0.0.1",
        port: server.address().port,
        servername: "evil.example.com",
        ca: [ca.cert],
      });
      t.once("secureConnect", () => {
        t.destroy();
        resolve(null);
      });
      t.once("error", resolve);
    });
    assert.ok(err, "the TLS client must refuse the out-of-constraint certificate");
    assert.match(`${err.code} ${err.message}`, /subtree|PERMITTED/i);
  });

  it("vouches for every intercepted host (chain and host name verified by the TLS client)", STEP, async () => {
    for (const host of INTERCEPTED_HOSTS) {
      const t = await tlsThroughProxy(host);
      assert.equal(t.authorized, true, host);
      assert.equal(t.alpnProtocol, "http/1.1", host);
      t.destroy();
    }
  });
});

describe("the app through the proxy", () => {
  const alice = newUser("connect-alice");
  let graph;
  let keys;
  let ws;

  it("connectivity checks reach the server (LS sync.cljs:3325-3351)", STEP, async () => {
    const version = await viaProxy(HOSTS.api, "/logseq/version", { headers: { Origin: "null" } });
    assert.equal(version.status, 200, version.text);
    assert.equal(version.headers["access-control-allow-origin"], "*");
    const s3 = await viaProxy(HOSTS.connectivity, "/logseq-connectivity-testing", { headers: { Origin: "null" } });
    assert.equal(s3.status, 200);
    assert.equal(s3.text, "OK");
    assert.equal(s3.headers["access-control-allow-origin"], "*");
  });

  it("API calls and their CORS preflight reach POST /file-sync/<api>", STEP, async () => {
    const pre = await viaProxy(HOSTS.api, "/file-sync/user_info", {
      method: "OPTIONS",
      headers: {
        Origin: "null",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
      },
    });
    assert.ok(pre.status >= 200 && pre.status < 300, `preflight ${pre.status}`);
    assert.equal(pre.headers["access-control-allow-origin"], "*");

    const info = await appApi("user_info", {}, alice.token);
    assert.equal(info.status, 200, info.text);
    assert.ok(info.json.UserGroups.includes("beta-tester"));

    const created = await appApi("create_graph", { GraphName: "connect notes" }, alice.token);
    assert.equal(created.status, 200, created.text);
    assert.match(created.json.GraphUUID, CLIENT_UUID_RE);
    graph = created.json.GraphUUID;
    const list = await appApi("list_graphs", undefined, alice.token);
    assert.deepEqual(
      list.json.Graphs.map((g) => g.GraphUUID),
      [graph],
    );

    keys = await rsapi.keygen();
    const armored = (await rsapi.ageEncryptWithPassphrase("a graph password", keys.secretKey)).toString("utf8");
    const up = await appApi(
      "upload_graph_encrypt_keys",
      { GraphUUID: graph, "public-key": keys.publicKey, "encrypted-private-key": armored },
      alice.token,
    );
    assert.equal(up.status, 200, up.text);

    const unauth = await appApi("user_info", {}, "not-a-token");
    assert.equal(unauth.status, 401);
    assert.equal(unauth.json.message, "Unauthorized");
  });

  it("paths that are not sync routes are answered 404 by the proxy itself", STEP, async () => {
    for (const [host, p] of [
      [HOSTS.api, "/other"],
      [HOSTS.ws, "/file-sync"],
      [HOSTS.oauth, "/login"],
      [HOSTS.connectivity, "/x"],
    ]) {
      const r = await viaProxy(host, p);
      assert.equal(r.status, 404, `${host}${p}`);
      assert.match(r.text, /not a sync route/);
    }
  });

  it("token refresh: a pasted self-issued token is answered locally, CORS for a credentialed XHR", STEP, async () => {
    const form = (t) =>
      `grant_type=refresh_token&client_id=69cs1lgme7p8kbgld8n5kseii6&refresh_token=${encodeURIComponent(t)}`;
    const headers = { "Content-Type": "application/x-www-form-urlencoded", Origin: "null" };
    const ok = await viaProxy(HOSTS.oauth, "/oauth2/token", { method: "POST", headers, body: form(alice.token) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.id_token, alice.token);
    assert.equal(ok.json.access_token, alice.token);
    assert.equal(ok.headers["access-control-allow-origin"], "null");
    assert.equal(ok.headers["access-control-allow-credentials"], "true");
    assert.equal(selfIssuedClaims(alice.token).sub, alice.userId);

    const expired = await viaProxy(HOSTS.oauth, "/oauth2/token", {
      method: "POST",
      headers,
      body: form(expiredTokenFor(alice.email)),
    });
    assert.equal(expired.status, 400);
    assert.deepEqual(expired.json, { error: "invalid_grant" }); // the app logs out (LS user.cljs:149-157)

    // The server's own refresh tokens (lsrt.) are the server's business: forwarded, CORS
    // rewritten. (Cognito's go to Cognito: connect-cognito.test.mjs.)
    const opaque = await viaProxy(HOSTS.oauth, "/oauth2/token", {
      method: "POST",
      headers,
      body: form(`lsrt.${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}.${"a".repeat(64)}`),
    });
    assert.ok([400, 404].includes(opaque.status), `lsrt token: ${opaque.status} ${opaque.text}`);
    assert.equal(opaque.headers["access-control-allow-origin"], "null");
    assert.equal(opaque.headers["access-control-allow-credentials"], "true");
    assert.ok(
      proxyLog.some((l) =>
        /^POST logseq-prod\.auth\.us-east-1\.amazoncognito\.com\/oauth2\/token -> (400|404) \(\d+ ms\)$/.test(l),
      ),
      "the lsrt. token went to the server",
    );
  });

  it("the websocket upgrade reaches the graph hub (PING answered)", STEP, async () => {
    ws = await wsThroughProxy(graph);
    closers.push(() => ws.close());
    assert.equal(ws.response.statusCode, 101);
    ws.send("PING");
    const pong = await ws.waitFor((m) => m.type === "text" && /PONG/.test(m.data), { timeoutMs: 5_000 });
    assert.ok(pong);
  });

  it("stock rsapi (setProxy) uploads through the bucket host; the websocket gets the txid", STEP, async () => {
    const dir = await makeDeviceDir("connect");
    dirs.push(dir);
    const files = { "pages/contents.md": "- through the connect proxy\n", "journals/2024_01_01.md": "- hello\n" };
    await writeFiles(dir, files);
    await rsapi.setEnv(graph, "prod", keys.secretKey, keys.publicKey);
    const from = ws.messages.length;
    const txid = await rsapi.updateRemoteFiles(graph, dir, Object.keys(files), 0, alice.token);
    assert.equal(txid, 1);

    const puts = proxyLog.filter((l) => l.startsWith(`PUT ${HOSTS.bucket}/`));
    assert.equal(puts.length, 2, proxyLog.join("\n"));
    for (const l of puts) assert.match(l, / -> 200 /);
    assert.ok(proxyLog.some((l) => l.startsWith(`POST ${HOSTS.api}/file-sync/get_temp_credential -> 200`)));
    assert.ok(proxyLog.some((l) => l.startsWith(`POST ${HOSTS.api}/file-sync/update_files -> 200`)));
    assert.ok(
      puts.every((l) => !l.includes("?")),
      "no presigned query (credentials) in the log",
    );

    const push = await ws.waitFor((m) => m.type === "text" && JSON.parse(m.data).txid === 1, {
      timeoutMs: 10_000,
      from,
    });
    assert.ok(push);

    const names = rsapi.encryptFnames(graph, Object.keys(files));
    const meta = await appApi("get_files_meta", { GraphUUID: graph, Files: names }, alice.token);
    assert.equal(meta.status, 200, meta.text);
    assert.deepEqual(meta.json.map((m) => m.Checksum).sort(), Object.values(files).map(md5).sort());
  });

  it("a forged S3 PUT to the bucket host gets the server's S3 error (routed to /s3/<key>)", STEP, async () => {
    const r = await viaProxy(
      HOSTS.bucket,
      "/uploads/x/y?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
      { method: "PUT", body: "x", headers: { "Content-Type": "application/octet-stream" } },
    );
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
    assert.match(r.text, /<Error><Code>/);
  });
});

describe("everything else is left alone", () => {
  it("CONNECT to any other host is a blind tunnel (the origin's own certificate comes through)", STEP, async () => {
    const own = await makeSelfSignedCert({ hosts: ["localhost", "127.0.0.1"] });
    const server = tls.createServer({ key: own.key, cert: own.cert }, (s) => s.end("hello from the origin\n"));
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => server.close(r)));
    const t = await tlsThroughProxy("localhost", { port: server.address().port, trust: [own.cert] });
    assert.equal(t.authorized, true, "verified against the origin's own certificate, not the proxy CA");
    assert.equal(t.getPeerX509Certificate().fingerprint256, new X509Certificate(own.cert).fingerprint256);
    const text = await new Promise((resolve) => {
      let s = "";
      t.on("data", (d) => {
        s += d;
      });
      t.on("end", () => resolve(s));
    });
    assert.equal(text, "hello from the origin\n");
  });

  it("plain-http requests are forwarded like any proxy", STEP, async () => {
    const server = http.createServer((req, res) => res.end(`${req.method} ${req.url} host=${req.headers.host}`));
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => server.close(r)));
    const port = server.address().port;
    const text = await new Promise((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port: proxy.port,
        path: `http://127.0.0.1:${port}/a?b=c`,
        agent: false,
      });
      req.on("response", (res) => {
        let s = "";
        res.on("data", (d) => {
          s += d;
        });
        res.on("end", () => resolve(s));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(text, `GET /a?b=c host=127.0.0.1:${port}`);
  });
});
