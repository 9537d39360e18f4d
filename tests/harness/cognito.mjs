// Logseq-account ID tokens as Logseq's Cognito user pool issues them, for the e2e tests:
// RS256 JWTs with the exact claim set of a Cognito ID token (AWS: "Understanding the
// identity (ID) token"), and a local JWKS server the worker is pointed at through the
// test-only var TEST_COGNITO_JWKS_URL. The issuer stays the production one.
//
// `npm test` (scripts/test.mjs) starts one JWKS server with one signing key and passes
// the key to the tests in env COGNITO_TEST_KEY; tests can add keys or make the server
// fail through its control endpoint (env COGNITO_JWKS_CONTROL).

import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import http from "node:http";

export const ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_dtagLnju8";
/** The app's Amplify client id (LS config.cljs), the `aud` of its ID tokens. */
export const APP_CLIENT_ID = "69cs1lgme7p8kbgld8n5kseii6";

const b64url = (b) => Buffer.from(b).toString("base64url");

/** A fresh RSA-2048 signing key: `{ kid, pem, jwk }` (jwk: the public JWKS entry). */
export function makeSigningKey() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: "jwk" });
  const kid = b64url(randomUUID());
  return {
    kid,
    pem: privateKey.export({ type: "pkcs8", format: "pem" }),
    jwk: { alg: "RS256", e, kid, kty: "RSA", n, use: "sig" },
  };
}

/** The key `npm test` serves (env COGNITO_TEST_KEY). */
export function testKey() {
  const k = process.env.COGNITO_TEST_KEY;
  if (!k) throw new Error("COGNITO_TEST_KEY is not set (scripts/test.mjs serves the test JWKS)");
  return JSON.parse(k);
}

/** A Cognito user: `{ sub, email }` with a fresh sub (Cognito subs are UUIDv4). */
export function cognitoUser(name = "la") {
  return { sub: randomUUID(), email: `${name}-${randomUUID().slice(0, 8)}@example.com` };
}

/**
 * An ID token for `user`, signed with `key` ({ kid, pem }). `claims` overrides or adds
 * claims (`undefined` removes one); `header` overrides header fields.
 */
export function idToken(user, { key = testKey(), claims = {}, header = {}, now = Math.floor(Date.now() / 1000) } = {}) {
  const body = {
    sub: user.sub,
    email_verified: true,
    iss: ISSUER,
    "cognito:username": user.sub,
    origin_jti: randomUUID(),
    aud: APP_CLIENT_ID,
    event_id: randomUUID(),
    token_use: "id",
    auth_time: now - 5,
    exp: now + 3600,
    iat: now,
    jti: randomUUID(),
    email: user.email,
    ...claims,
  };
  for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
  const head = b64url(JSON.stringify({ kid: key.kid, alg: "RS256", ...header }));
  const payload = b64url(JSON.stringify(body));
  const sig = sign("sha256", Buffer.from(`${head}.${payload}`), createPrivateKey(key.pem));
  return `${head}.${payload}.${b64url(sig)}`;
}

/** The public JWKS entry of a key made elsewhere ({ kid, pem }). */
export function publicJwk(key) {
  const { n, e } = createPublicKey(createPrivateKey(key.pem)).export({ format: "jwk" });
  return { alg: "RS256", e, kid: key.kid, kty: "RSA", n, use: "sig" };
}

/**
 * Serves `/jwks.json` on 127.0.0.1 with `keys`, counting fetches. `POST /control` with
 * JSON `{ mode: "ok" | "down" | "garbage", add: <jwk> }` changes it and answers the
 * counts: `{ fetches, mode, kids }`. "down" answers 503, "garbage" 200 with HTML.
 */
export function startJwksServer(keys, port = 0) {
  const state = { mode: "ok", keys: [...keys], fetches: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === "/jwks.json") {
      state.fetches++;
      if (state.mode === "down") return res.writeHead(503).end("unavailable");
      if (state.mode === "garbage")
        return res.writeHead(200, { "content-type": "text/html" }).end("<html>not a jwks</html>");
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.keys }));
    }
    if (req.url === "/control" && req.method === "POST") {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        try {
          const c = body ? JSON.parse(body) : {};
          if (c.mode) state.mode = c.mode;
          if (c.add) state.keys.push(c.add);
        } catch {
          return res.writeHead(400).end();
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ fetches: state.fetches, mode: state.mode, kids: state.keys.map((k) => k.kid) }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({
        url,
        jwksUrl: `${url}/jwks.json`,
        controlUrl: `${url}/control`,
        state,
        server,
        close: () => new Promise((r) => server.close(r)),
      });
    });
  });
}

/** Changes the `npm test` JWKS server (env COGNITO_JWKS_CONTROL); answers its counts. */
export async function jwksControl(change = {}) {
  const url = process.env.COGNITO_JWKS_CONTROL;
  if (!url) throw new Error("COGNITO_JWKS_CONTROL is not set");
  const r = await fetch(url, { method: "POST", body: JSON.stringify(change), signal: AbortSignal.timeout(5000) });
  return r.json();
}
