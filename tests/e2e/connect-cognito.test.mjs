// `npm run connect` with a Logseq account (scripts/lib/connect-cognito.mjs): the Cognito login
// host is a blind tunnel (the client sees the upstream's certificate, not the connect CA's), a
// refresh of a Cognito refresh token reaches Cognito's OAuth host byte for byte over verified
// TLS, while api.logseq.com is intercepted and this server's own refresh tokens are still
// answered as before. Cognito is a local stand-in: nothing leaves 127.0.0.1.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { randomBytes, X509Certificate } from "node:crypto";

import { HOSTS, makeCa, startConnectProxy } from "../../scripts/lib/connect-proxy.mjs";
import { COGNITO_LOGIN_HOST, COGNITO_OAUTH_HOST, isOwnRefreshToken } from "../../scripts/lib/connect-cognito.mjs";
import { makeSelfSignedCert } from "../harness/tls.mjs";
import { newUser } from "../harness/auth.mjs";

const WORKER_URL = process.env.WORKER_URL;
const STEP = { timeout: 30_000 };

let ca;
let proxy;
let standIn; // the stand-in for both Cognito hosts
let standInCert;
const seen = []; // requests the stand-in received
const proxyLog = [];

/** A Cognito refresh token's shape: a five-part JWE. */
const cognitoRefreshToken = () => {
  const head = Buffer.from(JSON.stringify({ cty: "JWT", enc: "A256GCM", alg: "RSA-OAEP" })).toString("base64url");
  return [head, ...[256, 12, 600, 16].map((n) => randomBytes(n).toString("base64url"))].join(".");
};

before(
  async () => {
    standInCert = await makeSelfSignedCert({
      hosts: [COGNITO_LOGIN_HOST, COGNITO_OAUTH_HOST],
      commonName: "cognito stand-in",
    });
    standIn = https.createServer({ key: standInCert.key, cert: standInCert.cert }, (req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        seen.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks),
          servername: req.socket.servername,
        });
        res.writeHead(200, {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Stand-In": "cognito",
          "Access-Control-Allow-Origin": "null",
          "Access-Control-Allow-Credentials": "true",
        });
        res.end(
          JSON.stringify({
            id_token: "from-cognito",
            access_token: "from-cognito-access",
            expires_in: 3600,
            token_type: "Bearer",
          }),
        );
      });
    });
    await new Promise((r) => standIn.listen(0, "127.0.0.1", r));
    const port = standIn.address().port;
    ca = makeCa();
    proxy = await startConnectProxy({
      serverUrl: WORKER_URL,
      ca,
      log: (l) => proxyLog.push(l),
      cognitoUpstream: { host: "127.0.0.1", port, ca: standInCert.cert },
      tunnelTarget: (h, p) =>
        h === COGNITO_LOGIN_HOST && p === 443 ? { host: "127.0.0.1", port } : { host: h, port: p },
    });
  },
  { timeout: 15_000 },
);

after(async () => {
  await proxy?.close();
  await new Promise((r) => standIn.close(r));
});

function tunnel(authority) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: proxy.port, method: "CONNECT", path: authority, agent: false });
    req.on("connect", (res, socket) =>
      res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${res.statusCode}`)),
    );
    req.on("error", reject);
    req.end();
  });
}

async function tlsTo(host, trust) {
  const socket = await tunnel(`${host}:443`);
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket, servername: host, ca: trust, ALPNProtocols: ["http/1.1"] });
    t.once("secureConnect", () => resolve(t));
    t.once("error", reject);
  });
}

function exchange(socket, host, path, { method = "POST", headers = {}, body = "" } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      method,
      path,
      createConnection: () => socket,
      headers: { Host: host, "Content-Length": Buffer.byteLength(body), ...headers },
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        socket.destroy();
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const fingerprint = (pem) => new X509Certificate(pem).fingerprint256;

describe("connect with a Logseq account", () => {
  it("tells its own refresh tokens from Cognito's", () => {
    assert.equal(isOwnRefreshToken(`lsrt.${"a".repeat(36)}.${"b".repeat(64)}`), true);
    assert.equal(isOwnRefreshToken(newUser("own").token), true);
    assert.equal(isOwnRefreshToken(cognitoRefreshToken()), false);
    assert.equal(isOwnRefreshToken("opaque"), false);
    assert.equal(isOwnRefreshToken(""), false);
  });

  it("the Cognito login host is a blind tunnel: the client sees the upstream's certificate", STEP, async () => {
    const t = await tlsTo(COGNITO_LOGIN_HOST, [standInCert.cert]);
    assert.equal(t.authorized, true);
    assert.equal(t.getPeerX509Certificate().fingerprint256, fingerprint(standInCert.cert));
    const body = JSON.stringify({
      AuthFlow: "USER_SRP_AUTH",
      ClientId: "69cs1lgme7p8kbgld8n5kseii6",
      AuthParameters: { USERNAME: "u", SRP_A: "ab" },
    });
    const r = await exchange(t, COGNITO_LOGIN_HOST, "/", {
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body,
    });
    assert.equal(r.headers["x-stand-in"], "cognito");
    const got = seen.at(-1);
    assert.equal(got.body.toString(), body);
    assert.equal(got.servername, COGNITO_LOGIN_HOST, "the TLS session is the client's own, end to end");
    // ... and the connect CA cannot pass for it.
    await assert.rejects(tlsTo(COGNITO_LOGIN_HOST, [ca.cert]));
  });

  it("api.logseq.com is intercepted (the connect CA's certificate)", STEP, async () => {
    const t = await tlsTo(HOSTS.api, [ca.cert]);
    assert.equal(t.authorized, true);
    assert.equal(
      new X509Certificate(t.getPeerCertificate(true).issuerCertificate.raw).fingerprint256,
      fingerprint(ca.cert),
    );
    t.destroy();
  });

  it("a Cognito refresh reaches Cognito's OAuth host unchanged, over verified TLS", STEP, async () => {
    const before = seen.length;
    const body = `grant_type=refresh_token&client_id=69cs1lgme7p8kbgld8n5kseii6&refresh_token=${encodeURIComponent(cognitoRefreshToken())}`;
    const t = await tlsTo(COGNITO_OAUTH_HOST, [ca.cert]);
    const r = await exchange(t, COGNITO_OAUTH_HOST, "/oauth2/token", {
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "null" },
      body,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers["x-stand-in"], "cognito", "Cognito's own answer, headers included");
    assert.deepEqual(JSON.parse(r.text).id_token, "from-cognito");
    assert.equal(seen.length, before + 1);
    const got = seen.at(-1);
    assert.equal(got.method, "POST");
    assert.equal(got.url, "/oauth2/token");
    assert.equal(got.body.toString(), body, "body byte for byte");
    assert.equal(got.headers.host, COGNITO_OAUTH_HOST);
    assert.equal(got.headers.origin, "null");
    assert.equal(got.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(got.servername, COGNITO_OAUTH_HOST, "TLS to Cognito names the OAuth host");
    assert.ok(proxyLog.some((l) => /-> Cognito 200/.test(l)));
  });

  it("an upstream whose certificate does not verify gets nothing (502)", STEP, async () => {
    const other = await makeSelfSignedCert({ hosts: [COGNITO_OAUTH_HOST] });
    const strict = await startConnectProxy({
      serverUrl: WORKER_URL,
      ca,
      cognitoUpstream: { host: "127.0.0.1", port: standIn.address().port, ca: other.cert },
    });
    try {
      const before = seen.length;
      const socket = await new Promise((resolve, reject) => {
        const req = http.request({
          host: "127.0.0.1",
          port: strict.port,
          method: "CONNECT",
          path: `${COGNITO_OAUTH_HOST}:443`,
          agent: false,
        });
        req.on("connect", (_res, s) => resolve(s));
        req.on("error", reject);
        req.end();
      });
      const t = await new Promise((resolve, reject) => {
        const c = tls.connect({ socket, servername: COGNITO_OAUTH_HOST, ca: [ca.cert] });
        c.once("secureConnect", () => resolve(c));
        c.once("error", reject);
      });
      const r = await exchange(t, COGNITO_OAUTH_HOST, "/oauth2/token", {
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: `grant_type=refresh_token&refresh_token=${cognitoRefreshToken()}`,
      });
      assert.equal(r.status, 502);
      assert.equal(seen.length, before, "no request reached the unverified upstream");
    } finally {
      await strict.close();
    }
  });

  it(
    "this server's own refresh tokens are still answered: self-issued locally, lsrt. by the server",
    STEP,
    async () => {
      const before = seen.length;
      const alice = newUser("connect-own");
      const form = (tok) =>
        `grant_type=refresh_token&client_id=69cs1lgme7p8kbgld8n5kseii6&refresh_token=${encodeURIComponent(tok)}`;
      const headers = { "Content-Type": "application/x-www-form-urlencoded", Origin: "null" };
      const own = await exchange(await tlsTo(COGNITO_OAUTH_HOST, [ca.cert]), COGNITO_OAUTH_HOST, "/oauth2/token", {
        headers,
        body: form(alice.token),
      });
      assert.equal(own.status, 200);
      assert.equal(JSON.parse(own.text).id_token, alice.token);
      const lsrt = await exchange(await tlsTo(COGNITO_OAUTH_HOST, [ca.cert]), COGNITO_OAUTH_HOST, "/oauth2/token", {
        headers,
        body: form(`lsrt.${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}.${"a".repeat(64)}`),
      });
      assert.equal(lsrt.status, 400, "the server's answer for an unknown refresh token");
      assert.deepEqual(JSON.parse(lsrt.text), { error: "invalid_grant" });
      assert.equal(lsrt.headers["access-control-allow-credentials"], "true");
      assert.equal(seen.length, before, "none of these went to Cognito");
    },
  );
});
