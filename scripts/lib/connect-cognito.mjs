// Logseq-account traffic through `npm run connect` (docs/CLIENT.md "Sign in with your Logseq
// account"). Signed in with a Logseq account, the app talks to two Cognito hosts:
//
// * the login host, `cognito-idp.us-east-1.amazonaws.com` (Amplify's SRP sign-in, LS
//   login.cljs): not an intercepted host, so connect passes it as a blind TCP tunnel; the
//   app sees Cognito's own certificate and nothing is decrypted.
// * the OAuth domain, `logseq-prod.auth.us-east-1.amazoncognito.com`, for the refresh grant
//   (LS user.cljs:134-140). Connect must look inside this one, because the refresh of this
//   server's own tokens arrives there too. It tells them apart by the refresh token itself:
//   this server's refresh tokens start with `lsrt.` and self-issued ones are three-part HS256
//   JWTs (`isOwnRefreshToken`); a Cognito refresh token is neither (it is a five-part JWE,
//   `{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}`). Anything that is not ours, and any
//   grant other than refresh_token, is forwarded byte for byte to the real OAuth domain over
//   TLS verified against the system's CAs, and Cognito's answer comes back unchanged.
//
// Only node: built-ins.

import https from "node:https";

export const COGNITO_LOGIN_HOST = "cognito-idp.us-east-1.amazonaws.com";
export const COGNITO_OAUTH_HOST = "logseq-prod.auth.us-east-1.amazoncognito.com";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function jsonPart(s) {
  try {
    return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  } catch {
    return null;
  }
}

/** Whether a refresh token is this server's: `lsrt.<id>.<secret>` or a three-part HS256 JWT. */
export function isOwnRefreshToken(token) {
  const t = String(token ?? "").trim();
  if (t.startsWith("lsrt.")) return true;
  const parts = t.split(".");
  return parts.length === 3 && jsonPart(parts[0])?.alg === "HS256";
}

/**
 * Forwards a request of the OAuth domain (its body already read) to the real Cognito over
 * verified TLS, and pipes the answer back unchanged. `upstream` exists for tests only: where
 * to connect (`host`, `port`) and which CA to trust (`ca`); the TLS name checked is always
 * the OAuth domain's.
 */
export function forwardToCognito(req, res, body, { upstream = {}, say = () => {}, timeoutMs = 30_000 } = {}) {
  const started = Date.now();
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(k) && k !== "content-length") headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  headers.push("Content-Length", String(body.length));
  const out = https.request({
    host: upstream.host ?? COGNITO_OAUTH_HOST,
    port: upstream.port ?? 443,
    servername: COGNITO_OAUTH_HOST,
    ca: upstream.ca,
    rejectUnauthorized: true,
    method: req.method,
    path: req.url,
    headers,
    setHost: false,
    agent: false,
    timeout: timeoutMs,
  });
  out.on("timeout", () => out.destroy(new Error("timeout")));
  out.on("response", (up) => {
    say(
      `${req.method} ${COGNITO_OAUTH_HOST}${req.url.split("?")[0]} -> Cognito ${up.statusCode} (${Date.now() - started} ms)`,
    );
    const back = [];
    for (let i = 0; i < up.rawHeaders.length; i += 2) {
      if (!HOP_BY_HOP.has(up.rawHeaders[i].toLowerCase())) back.push(up.rawHeaders[i], up.rawHeaders[i + 1]);
    }
    res.writeHead(up.statusCode, up.statusMessage, back);
    up.pipe(res);
  });
  out.on("error", (err) => {
    say(`${req.method} ${COGNITO_OAUTH_HOST}${req.url.split("?")[0]} -> 502 (Cognito unreachable: ${err.message})`);
    if (!res.headersSent) {
      res.writeHead(502, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(`connect proxy: Cognito unreachable: ${err.message}`);
    } else res.destroy();
  });
  out.end(body);
}
