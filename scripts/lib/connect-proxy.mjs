// The local forwarding proxy behind `npm run connect`: lets an UNMODIFIED Logseq desktop
// (0.10.x) sync with this server. docs/CLIENT.md "Option B" explains why it works and what it
// costs; the short version:
//
// * In Logseq, Settings → Advanced → Network proxy → HTTP 127.0.0.1:<port> sends the app's
//   renderer traffic (API calls, websocket, connectivity checks, token refresh) and rsapi's
//   (API calls, uploads) through this proxy (LS src/electron/electron/utils.cljs:87-130).
// * Both speak `CONNECT host:443`. For the few Logseq/AWS hosts in INTERCEPTED_HOSTS the proxy
//   terminates TLS with a certificate from a local CA (which the user must trust: the Electron
//   renderer checks certificates, rsapi does not) and forwards the requests to the server.
//   Every other CONNECT is a blind TCP tunnel (the rest of the app keeps working, nothing is
//   decrypted) and plain-http requests are forwarded as a normal proxy would.
// * The CA carries X.509 name constraints: it can only ever vouch for INTERCEPTED_HOSTS, so a
//   stolen CA key cannot be used against any other site.
//
// Routes (after TLS termination; anything else on these hosts answers 404, never the real
// Logseq service):
//   api.logseq.com            /file-sync/<api>, /logseq/version   -> <server> same path
//   ws.logseq.com             GET /file-sync?graphuuid= (Upgrade) -> <server> websocket
//   logseq-file-sync-bucket-prod.s3.amazonaws.com  /<key>?<query>  -> <server>/s3/<key>?<query>
//                                                   (raw bytes, X-Forwarded-Host = signed host)
//   logseq-connectivity-testing-prod.s3.us-east-1.amazonaws.com /logseq-connectivity-testing
//                                                   -> <server>/logseq-connectivity-testing
//   logseq-prod.auth.us-east-1.amazoncognito.com   POST /oauth2/token (refresh grant):
//       refresh_token is a self-issued HS256 JWT -> answered here with that same JWT as
//       id_token/access_token (the server verifies it on every call; LS user.cljs:134-177);
//       one of the server's `lsrt.` refresh tokens -> <server>/oauth2/token; CORS for a
//       credentialed XHR (cljs-http sends withCredentials by default). Anything else (a
//       Logseq account's Cognito refresh token) -> the real Cognito over verified TLS,
//       unchanged (connect-cognito.mjs). The login host cognito-idp.* is a blind tunnel.
//
// Only node: built-ins; no state on disk except the CA (ca.pem, ca-key.pem 0600, ca.json).

import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { tlv, seq, set, octetString, bitString, utf8String, bool, explicit, integer, oid, time } from "./der.mjs";
import { forwardToCognito, isOwnRefreshToken } from "./connect-cognito.mjs";

/** The hosts of the stock prod client that carry sync traffic (LS config.cljs:36-49, RS sync.rs:26-28). */
export const HOSTS = Object.freeze({
  api: "api.logseq.com",
  ws: "ws.logseq.com",
  bucket: "logseq-file-sync-bucket-prod.s3.amazonaws.com",
  connectivity: "logseq-connectivity-testing-prod.s3.us-east-1.amazonaws.com",
  oauth: "logseq-prod.auth.us-east-1.amazoncognito.com",
});
export const INTERCEPTED_HOSTS = Object.freeze(Object.values(HOSTS));

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

// ---- X.509 (DER) --------------------------------------------------------------------
// Node can make keys and signatures but not certificates, so here is the minimum DER encoder
// for two shapes: a self-signed, name-constrained CA and a leaf it signs. ECDSA P-256 with
// SHA-256 throughout. Hand-written (der.mjs says why): this file needs only Node, no npm install.

const dnsName = (h) => tlv(0x82, Buffer.from(h, "ascii")); // GeneralName [2] dNSName

const OID = {
  ecdsaSha256: "1.2.840.10045.4.3.2",
  cn: "2.5.4.3",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  san: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  nameConstraints: "2.5.29.30",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};
const ext = (id, critical, value) =>
  critical ? seq(oid(id), bool(true), octetString(value)) : seq(oid(id), octetString(value));
const nameCN = (cn) => seq(set(seq(oid(OID.cn), utf8String(cn))));

function serial() {
  const s = randomBytes(16);
  s[0] = (s[0] & 0x7f) | 0x01;
  return s;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the EC point). */
function keyId(spkiDer) {
  return createHash("sha1")
    .update(spkiDer.subarray(spkiDer.length - 65))
    .digest();
}

function signCert(tbs, privateKey) {
  const der = seq(tbs, seq(oid(OID.ecdsaSha256)), bitString(sign("sha256", tbs, privateKey)));
  return `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE-----\n`;
}

/** Minimal DER reader: the TLV starting at `off` -> { tag, start (of content), end }. */
function readTlv(buf, off) {
  const tag = buf[off];
  let len = buf[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
    start += n;
  }
  return { tag, off, start, end: start + len };
}

/** The subject Name of a certificate, as DER bytes (the issuer of every leaf it signs). */
function subjectDer(certDer) {
  const cert = readTlv(certDer, 0);
  const tbs = readTlv(certDer, cert.start);
  let p = tbs.start;
  const fields = [];
  while (p < tbs.end && fields.length < 6) {
    const f = readTlv(certDer, p);
    fields.push(f);
    p = f.end;
  }
  // [0] version, serial, signature alg, issuer, validity, subject
  const subject = fields[0].tag === 0xa0 ? fields[5] : fields[4];
  return certDer.subarray(subject.off, subject.end);
}

/** e.g. `Logseq Sync connect CA laptop 2025-01-31` (no characters that need escaping). */
function defaultCaName(now = Date.now()) {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9.-]/g, "")
      .slice(0, 40) || "local";
  return `Logseq Sync connect CA ${host} ${new Date(now).toISOString().slice(0, 10)}`;
}

/**
 * A new self-signed CA, name-constrained to `hosts` (and to no IP address at all).
 * @returns {{ cert: string, key: string }} PEM
 */
export function makeCa({ hosts = INTERCEPTED_HOSTS, commonName, years = 5 } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const now = Date.now();
  const name = nameCN(commonName || defaultCaName(now));
  const nameConstraints = seq(
    tlv(0xa0, ...hosts.map((h) => seq(dnsName(h)))), // permittedSubtrees: only these hosts
    tlv(0xa1, seq(tlv(0x87, Buffer.alloc(8))), seq(tlv(0x87, Buffer.alloc(32)))), // excluded: all IPv4, all IPv6
  );
  const tbs = seq(
    explicit(0, integer([2])),
    integer(serial()),
    seq(oid(OID.ecdsaSha256)),
    name,
    seq(time(new Date(now - 86_400_000)), time(new Date(now + years * 365 * 86_400_000))),
    name,
    spki,
    explicit(
      3,
      seq(
        ext(OID.basicConstraints, true, seq(bool(true), integer([0]))), // CA, path length 0
        ext(OID.keyUsage, true, tlv(0x03, Buffer.from([0x01, 0x06]))), // keyCertSign, cRLSign
        ext(OID.subjectKeyId, false, octetString(keyId(spki))),
        ext(OID.nameConstraints, true, nameConstraints),
      ),
    ),
  );
  return { cert: signCert(tbs, privateKey), key: privateKey.export({ type: "pkcs8", format: "pem" }) };
}

/**
 * A leaf certificate for `hosts`, signed by `ca` ({cert, key} PEM), valid `days` days.
 * @returns {{ cert: string, key: string }} PEM; `cert` is leaf + CA (the chain to send)
 */
export function makeLeaf(ca, hosts = INTERCEPTED_HOSTS, days = 30) {
  const caX509 = new X509Certificate(ca.cert);
  const caSpki = caX509.publicKey.export({ type: "spki", format: "der" });
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer([2])),
    integer(serial()),
    seq(oid(OID.ecdsaSha256)),
    subjectDer(caX509.raw),
    seq(time(new Date(now - 86_400_000)), time(new Date(now + days * 86_400_000))),
    nameCN(hosts[0]),
    spki,
    explicit(
      3,
      seq(
        ext(OID.basicConstraints, true, seq()),
        ext(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
        ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
        ext(OID.subjectKeyId, false, octetString(keyId(spki))),
        ext(OID.authorityKeyId, false, seq(tlv(0x80, keyId(caSpki)))),
        ext(OID.san, false, seq(...hosts.map(dnsName))),
      ),
    ),
  );
  const cert = signCert(tbs, createPrivateKey(ca.key));
  if (!new X509Certificate(cert).verify(caX509.publicKey)) throw new Error("connect: leaf certificate does not verify");
  return { cert: cert + ca.cert, key: privateKey.export({ type: "pkcs8", format: "pem" }) };
}

/** Where the CA lives by default: the user's config directory. */
export function defaultCaDir() {
  const home = os.homedir();
  if (process.platform === "win32")
    return path.join(process.env.APPDATA || path.join(home, "AppData", "Roaming"), "logseq-sync-connect");
  if (process.platform === "darwin") return path.join(home, "Library", "Application Support", "logseq-sync-connect");
  return path.join(process.env.XDG_CONFIG_HOME || path.join(home, ".config"), "logseq-sync-connect");
}

/**
 * Load the CA from `dir`, or create it there (directory 0700, key 0600).
 * @returns {{ cert: string, key: string, certPath: string, commonName: string, created: boolean,
 *   notAfter: Date }}
 */
export function loadOrCreateCa(dir = defaultCaDir()) {
  const certPath = path.join(dir, "ca.pem");
  const keyPath = path.join(dir, "ca-key.pem");
  const metaPath = path.join(dir, "ca.json");
  let created = false;
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const commonName = defaultCaName();
    const ca = makeCa({ commonName });
    writeFileSync(keyPath, ca.key, { mode: 0o600 });
    writeFileSync(certPath, ca.cert, { mode: 0o644 });
    writeFileSync(
      metaPath,
      JSON.stringify({ commonName, hosts: INTERCEPTED_HOSTS, created: new Date().toISOString() }, null, 2) + "\n",
    );
    created = true;
  }
  if (process.platform !== "win32") {
    try {
      chmodSync(keyPath, 0o600);
    } catch {
      /* best effort */
    }
  }
  const cert = readFileSync(certPath, "utf8");
  const key = readFileSync(keyPath, "utf8");
  let meta = {};
  try {
    meta = JSON.parse(readFileSync(metaPath, "utf8"));
  } catch {
    /* checked below */
  }
  const hosts = Array.isArray(meta.hosts) ? meta.hosts : [];
  const missing = INTERCEPTED_HOSTS.filter((h) => !hosts.includes(h));
  if (missing.length) {
    throw new Error(
      `the CA in ${dir} does not cover ${missing.join(", ")}; remove that directory (and the old CA from your trust store) to make a new one`,
    );
  }
  const x509 = new X509Certificate(cert);
  if (!x509.ca || !x509.checkPrivateKey(createPrivateKey(key)))
    throw new Error(`${certPath} / ${keyPath} are not a CA and its key`);
  const notAfter = new Date(x509.validTo);
  if (notAfter.getTime() < Date.now() + 31 * 86_400_000) {
    throw new Error(
      `the CA in ${dir} expires ${notAfter.toISOString()}; remove that directory (and the old CA from your trust store) to make a new one`,
    );
  }
  const commonName =
    typeof meta.commonName === "string" ? meta.commonName : (x509.subject.match(/^CN=(.*)$/m) || [])[1] || "";
  return { cert, key, certPath, commonName, created, notAfter };
}

// ---- helpers ------------------------------------------------------------------------

function hostOnly(hostHeader) {
  const h = String(hostHeader || "")
    .trim()
    .toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  return h.replace(/:\d+$/, "").replace(/\.$/, "");
}

/** Raw headers minus hop-by-hop ones, minus `drop`, minus those named in Connection. */
function filterRawHeaders(rawHeaders, drop = []) {
  const dropSet = new Set(drop.map((d) => d.toLowerCase()));
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === "connection") {
      for (const n of rawHeaders[i + 1].split(",")) dropSet.add(n.trim().toLowerCase());
    }
  }
  const out = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || dropSet.has(name)) continue;
    out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

function sendText(res, status, text, extra = {}) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(text + "\n");
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": body.length, ...extra });
  res.end(body);
}

function sendJson(res, status, value, extra = {}) {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": body.length,
    "Cache-Control": "no-store",
    ...extra,
  });
  res.end(body);
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function b64urlJson(s) {
  try {
    return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  } catch {
    return null;
  }
}

/**
 * A self-issued token (docs/API.md): an HS256 JWT with `sub` and numeric `exp`. Returns its
 * claims, or null for anything else (e.g. an opaque refresh token, a Cognito token).
 * The signature is NOT checked here (the proxy has no secret): the server checks it on every call.
 */
export function selfIssuedClaims(token) {
  const parts = String(token || "").split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return null;
  const header = b64urlJson(parts[0]);
  const claims = b64urlJson(parts[1]);
  if (header?.alg !== "HS256" || !claims || typeof claims.sub !== "string" || typeof claims.exp !== "number")
    return null;
  return claims;
}

/** CORS for the token refresh: a credentialed XHR (cljs-http's default) needs the exact origin. */
function oauthCors(req) {
  const origin = req.headers.origin;
  if (!origin) return { "Access-Control-Allow-Origin": "*" };
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "content-type, authorization",
    Vary: "Origin",
  };
}

// ---- the proxy ------------------------------------------------------------------------
//
// One exchange = one request through the proxy: `{ method, host, path, kind, status, target }`,
// made when the request arrives. `kind` says which route took it (`api`, `s3`, `connectivity`,
// `oauth`, `http` for absolute-form plain http, `refused`); `status` is filled in when the answer
// (the server's or the proxy's own) starts, `target` when it is forwarded (the URL it went to).
// The `capture` option sees every exchange: the tests' log (tests/harness/proxy.mjs) is built on it.

/**
 * Start the connect proxy.
 * @param {object} opts
 * @param {string} opts.serverUrl the sync server, e.g. `https://sync.example.com` or
 *   `http://127.0.0.1:8787` (a path prefix is kept).
 * @param {{cert: string, key: string}} opts.ca the local CA (see loadOrCreateCa)
 * @param {number} [opts.port=0] listen port on `host` (0 = any free port)
 * @param {string} [opts.host='127.0.0.1'] listen address (keep it loopback)
 * @param {(line: string) => void} [opts.log] one line per intercepted request (no tokens, no
 *   query strings); `verbose` also logs tunnels and plain-http requests
 * @param {boolean} [opts.verbose=false]
 * @param {number} [opts.upstreamTimeoutMs=120000]
 * @param {{host?: string, port?: number, ca?: string}} [opts.cognitoUpstream] tests only: where
 *   Cognito refreshes go (default the real OAuth domain, system CAs; see connect-cognito.mjs)
 * @param {(host: string, port: number) => {host: string, port: number}} [opts.tunnelTarget]
 *   tests only: where a blind tunnel connects (default: where the client asked)
 * @param {boolean} [opts.sealed=false] tests only: contact nothing but the server and loopback.
 *   A CONNECT to any other host is intercepted too and every request in it answered 502 (no
 *   blind tunnel); plain http goes to loopback targets only, anything else (origin-form
 *   included) is answered 502.
 * @param {{tunnel?(authority: string): void, request?(x: object, req: http.IncomingMessage,
 *   res: http.ServerResponse): void, forward?(x: object, upstream: http.ClientRequest):
 *   (Record<string,string>|null|undefined), response?(x: object, up: http.IncomingMessage): void}}
 *   [opts.capture] tests only: sees every CONNECT (`tunnel`), every exchange as it arrives
 *   (`request`), every forwarded request before its headers go out (`forward`; the headers it
 *   returns are added) and every answer from upstream before it is piped back (`response`).
 * @returns {Promise<{url: string, port: number, close(): Promise<void>}>}
 */
export async function startConnectProxy({
  serverUrl,
  ca,
  port = 0,
  host = "127.0.0.1",
  log = () => {},
  verbose = false,
  upstreamTimeoutMs = 120_000,
  cognitoUpstream,
  tunnelTarget = (h, p) => ({ host: h, port: p }),
  sealed = false,
  capture = {},
}) {
  const server = new URL(serverUrl);
  if (!/^https?:$/.test(server.protocol)) throw new Error(`server URL must be http(s)://, got ${serverUrl}`);
  const mod = server.protocol === "https:" ? https : http;
  const sockets = new Set();
  const p = {
    server,
    serverPrefix: server.pathname.replace(/\/+$/, ""),
    serverPort: server.port || (server.protocol === "https:" ? "443" : "80"),
    serverMod: mod,
    serverAgent: new mod.Agent({ keepAlive: true, maxSockets: 32 }),
    upstreamTimeoutMs,
    cognitoUpstream,
    tunnelTarget,
    sealed,
    verbose,
    capture,
    secureContext: leafContexts(ca),
    track(s) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    },
    say(line) {
      try {
        log(line);
      } catch {
        /* logging never breaks the proxy */
      }
    },
  };
  p.secureContext();

  // requests and websocket upgrades inside intercepted tunnels
  const inner = http.createServer({ keepAliveTimeout: 120_000 });
  inner.on("clientError", (_err, socket) => socket.destroy());
  inner.on("request", (req, res) => tunnelRequest(p, req, res));
  inner.on("upgrade", (req, socket, head) => tunnelUpgrade(p, req, socket, head));

  // the proxy itself: CONNECT, and plain http (absolute-form)
  const outer = http.createServer({ keepAliveTimeout: 30_000 });
  outer.on("connection", p.track);
  outer.on("clientError", (_err, socket) => socket.destroy());
  outer.on("connect", (req, clientSocket, head) => connect(p, inner, req, clientSocket, head));
  outer.on("request", (req, res) => plainHttp(p, req, res));

  await new Promise((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(port, host, () => {
      outer.off("error", reject);
      resolve();
    });
  });
  const actualPort = outer.address().port;
  let closed = false;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}`,
    port: actualPort,
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => {
        outer.close(() => resolve());
        inner.close();
        for (const s of sockets) s.destroy();
        outer.closeAllConnections?.();
        inner.closeAllConnections?.();
        p.serverAgent.destroy();
      });
    },
  };
}

/** The TLS context for intercepted tunnels: a leaf in memory only, re-minted weekly (valid 30 days). */
function leafContexts(ca) {
  let context = null;
  let madeAt = 0;
  return () => {
    if (!context || Date.now() - madeAt > 7 * 86_400_000) {
      const leaf = makeLeaf(ca);
      context = tls.createSecureContext({ key: leaf.key, cert: leaf.cert });
      madeAt = Date.now();
    }
    return context;
  };
}

/** A new exchange (see above), shown to the capture hook. */
function exchange(p, req, res, host, path, kind) {
  const x = { method: req.method, host, path, kind, status: null, target: null };
  p.capture.request?.(x, req, res);
  return x;
}

/** The proxy's own answer to an exchange. */
function answer(x, res, status, text, extra) {
  x.status = status;
  sendText(res, status, text, extra);
}

/** CONNECT host:port: intercept the sync hosts (TLS with the CA's leaf), tunnel the rest blind. */
function connect(p, inner, req, clientSocket, head) {
  clientSocket.on("error", () => {});
  p.capture.tunnel?.(req.url);
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url || "");
  if (!m) {
    clientSocket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    return;
  }
  const target = m[1].toLowerCase().replace(/\.$/, "");
  const targetPort = Number(m[2]);
  if ((INTERCEPTED_HOSTS.includes(target) && targetPort === 443) || p.sealed) {
    clientSocket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head?.length) clientSocket.unshift(head);
    const tlsSocket = new tls.TLSSocket(clientSocket, {
      isServer: true,
      secureContext: p.secureContext(),
      ALPNProtocols: ["http/1.1"], // never negotiate h2
    });
    tlsSocket.tunnelHost = target;
    tlsSocket.on("error", () => clientSocket.destroy());
    p.track(tlsSocket);
    if (p.verbose) p.say(`CONNECT ${req.url} (intercepted)`);
    inner.emit("connection", tlsSocket);
    return;
  }
  blindTunnel(p, req, clientSocket, head, target, targetPort);
}

/** Everything that is not a sync host: bytes both ways, nothing decrypted. */
function blindTunnel(p, req, clientSocket, head, target, targetPort) {
  const dest = p.tunnelTarget(target.replace(/^\[|\]$/g, ""), targetPort); // tests map hosts to 127.0.0.1
  const upstream = net.connect({ host: dest.host, port: dest.port });
  p.track(upstream);
  upstream.setTimeout(30_000, () => upstream.destroy(new Error("connect timeout")));
  upstream.once("connect", () => {
    upstream.setTimeout(0);
    if (p.verbose) p.say(`CONNECT ${req.url} (tunnel)`);
    clientSocket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head?.length) upstream.write(head);
    upstream.pipe(clientSocket);
    clientSocket.pipe(upstream);
  });
  upstream.on("error", (err) => {
    if (p.verbose) p.say(`CONNECT ${req.url} -> 502 (${err.message})`);
    if (!clientSocket.destroyed) clientSocket.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n");
  });
  clientSocket.on("close", () => upstream.destroy());
}

/** A request inside an intercepted tunnel: the route table of the header comment. */
function tunnelRequest(p, req, res) {
  req.on("error", () => {});
  res.on("error", () => {});
  const hostHeader = req.headers.host || "";
  const h = hostOnly(hostHeader);
  const tunnelHost = req.socket.tunnelHost;
  const [pathname] = req.url.split("?");
  const route = (kind) => exchange(p, req, res, h, req.url, kind);
  if (h !== tunnelHost) {
    req.resume();
    answer(route("refused"), res, 421, `connect proxy: Host ${hostHeader} does not match the tunnel to ${tunnelHost}`);
  } else if (!INTERCEPTED_HOSTS.includes(h)) {
    // only when sealed: a host the proxy would have tunnelled blind
    req.resume();
    answer(route("refused"), res, 502, `connect proxy: host not intercepted: ${hostHeader} ${pathname}`);
  } else if (h === HOSTS.api && (pathname.startsWith("/file-sync/") || pathname === "/logseq/version")) {
    forwardToServer(p, req, res, route("api"), req.url, hostHeader);
  } else if (h === HOSTS.bucket && req.url.startsWith("/")) {
    forwardToServer(p, req, res, route("s3"), `/s3${req.url}`, hostHeader);
  } else if (h === HOSTS.connectivity && pathname === "/logseq-connectivity-testing") {
    forwardToServer(p, req, res, route("connectivity"), "/logseq-connectivity-testing", hostHeader);
  } else if (h === HOSTS.oauth && pathname === "/oauth2/token") {
    const x = route("oauth");
    oauthToken(p, req, res, x, hostHeader).catch((err) => answer(x, res, 500, `connect proxy: ${err.message}`));
  } else {
    p.say(`${req.method} ${h}${pathname} -> 404 (not a sync route; not sent anywhere)`);
    req.resume();
    answer(route("refused"), res, 404, `connect proxy: ${req.method} https://${h}${pathname} is not a sync route`);
  }
}

/**
 * Forward `req` to `<server><pathAndQuery>` (path and query bytes as they came) with the
 * client's Host in X-Forwarded-Host (byte-exact: it is the `host` a SigV4 presign covered).
 */
function forwardToServer(p, req, res, x, pathAndQuery, clientHost, { body, transform } = {}) {
  const drop = ["host", "x-forwarded-host", "x-forwarded-proto"];
  if (body) drop.push("content-length");
  const rawHeaders = filterRawHeaders(req.rawHeaders, drop);
  rawHeaders.push("Host", p.server.host, "X-Forwarded-Host", clientHost, "X-Forwarded-Proto", "https");
  if (body) rawHeaders.push("Content-Length", String(body.length));
  const target = { protocol: p.server.protocol, hostname: p.server.hostname, port: p.serverPort };
  forward(p, req, res, x, { ...target, path: p.serverPrefix + pathAndQuery }, rawHeaders, {
    agent: p.serverAgent,
    body,
    transform,
    logAs: `${req.method} ${clientHost}${req.url.split("?")[0]}`,
  });
}

/**
 * Send `req` to `target` ({protocol, hostname, port, path}; `path` byte for byte, never parsed,
 * which would normalise dot segments and re-encode) with `rawHeaders`, and pipe the answer back.
 * `body`: send these bytes instead of streaming `req` (already read); `transform`: rewrite the
 * answer's raw headers; `logAs`: log one line per answer under this name.
 */
function forward(p, req, res, x, target, rawHeaders, { agent = false, body, transform, logAs } = {}) {
  const started = Date.now();
  const bareHost = target.hostname.replace(/^\[|\]$/g, "");
  x.target = `${target.protocol}//${net.isIPv6(bareHost) ? `[${bareHost}]` : bareHost}:${target.port}${target.path}`;
  const upstream = (target.protocol === "https:" ? https : http).request({
    protocol: target.protocol,
    hostname: bareHost,
    port: target.port,
    method: req.method,
    path: target.path,
    setHost: false,
    agent,
    timeout: p.upstreamTimeoutMs,
  });
  // Headers one by one (not as an array option: Node would then serialise them at once and add
  // `Transfer-Encoding: chunked` to a POST that had no body framing at all).
  const grouped = new Map();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const k = rawHeaders[i].toLowerCase();
    if (!grouped.has(k)) grouped.set(k, { name: rawHeaders[i], values: [] });
    grouped.get(k).values.push(rawHeaders[i + 1]);
  }
  for (const { name, values } of grouped.values()) upstream.setHeader(name, values.length === 1 ? values[0] : values);
  const added = p.capture.forward?.(x, upstream);
  for (const [k, v] of Object.entries(added || {})) upstream.setHeader(k, v);
  upstream.on("timeout", () => upstream.destroy(new Error("upstream timeout")));
  upstream.on("response", (up) => {
    if (logAs) p.say(`${logAs} -> ${up.statusCode} (${Date.now() - started} ms)`);
    x.status = up.statusCode;
    p.capture.response?.(x, up);
    let headers = filterRawHeaders(up.rawHeaders);
    if (transform) headers = transform(headers);
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
    if (logAs) p.say(`${logAs} -> 502 (${err.message})`);
    if (!res.headersSent && !res.destroyed) answer(x, res, 502, `connect proxy: server unreachable: ${err.message}`);
    else res.destroy();
  });
  // the client went away (before or during the answer): cut the upstream request too
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.on("error", () => upstream.destroy());
  if (body) {
    upstream.end(body);
  } else if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) {
    // No body and no framing header (rsapi's get_temp_credential, `.body("")`): forward it
    // exactly like that, without inventing Content-Length: 0 or chunked encoding.
    upstream.useChunkedEncodingByDefault = false;
    req.resume();
    upstream.end();
  } else {
    req.pipe(upstream);
  }
}

/** POST /oauth2/token on the Cognito host: see the header comment. */
async function oauthToken(p, req, res, x, clientHost) {
  const cors = oauthCors(req);
  if (req.method === "OPTIONS") {
    x.status = 204;
    res.writeHead(204, cors);
    res.end();
    return;
  }
  if (req.method !== "POST") {
    answer(x, res, 405, "method not allowed", cors);
    return;
  }
  let body;
  try {
    body = await readBody(req, 64 * 1024);
  } catch {
    answer(x, res, 413, "body too large", cors);
    return;
  }
  const form = new URLSearchParams(body.toString("utf8"));
  if (form.get("grant_type") !== "refresh_token" || !isOwnRefreshToken(form.get("refresh_token"))) {
    forwardToCognito(req, res, body, { upstream: p.cognitoUpstream, say: p.say });
    return;
  }
  const claims = selfIssuedClaims(form.get("refresh_token"));
  if (!claims) {
    // One of the server's `lsrt.` refresh tokens: the server decides.
    forwardToServer(p, req, res, x, "/oauth2/token", clientHost, {
      body,
      transform: (headers) => {
        const out = [];
        for (let i = 0; i < headers.length; i += 2)
          if (!/^access-control-/i.test(headers[i]) && !/^vary$/i.test(headers[i]))
            out.push(headers[i], headers[i + 1]);
        for (const [k, v] of Object.entries(cors)) out.push(k, v);
        return out;
      },
    });
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  if (claims.exp <= now) {
    p.say(`POST ${clientHost}/oauth2/token -> 400 invalid_grant (token expired)`);
    x.status = 400;
    sendJson(res, 400, { error: "invalid_grant" }, cors);
    return;
  }
  const token = form.get("refresh_token");
  p.say(`POST ${clientHost}/oauth2/token -> 200 (self-issued token, answered locally)`);
  x.status = 200;
  sendJson(
    res,
    200,
    { id_token: token, access_token: token, token_type: "Bearer", expires_in: claims.exp - now },
    cors,
  );
}

/** The websocket upgrade inside an intercepted tunnel: only ws.logseq.com GET /file-sync. */
function tunnelUpgrade(p, req, socket, head) {
  socket.on("error", () => {});
  const h = hostOnly(req.headers.host);
  const [pathname] = req.url.split("?");
  const refuse = (status, text) => {
    p.say(`${req.method} ${h}${pathname} (upgrade) -> ${status}`);
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  };
  if (h !== socket.tunnelHost || h !== HOSTS.ws || pathname !== "/file-sync" || req.method !== "GET") {
    refuse(404, "connect proxy: not a sync websocket");
    return;
  }
  const started = Date.now();
  const headers = filterRawHeaders(req.rawHeaders, ["host", "x-forwarded-host", "x-forwarded-proto"]);
  headers.push(
    ...["Host", p.server.host, "X-Forwarded-Host", req.headers.host, "X-Forwarded-Proto", "https"],
    ...["Connection", "Upgrade", "Upgrade", req.headers.upgrade],
  );
  const upstream = p.serverMod.request({
    protocol: p.server.protocol,
    hostname: p.server.hostname.replace(/^\[|\]$/g, ""),
    port: p.serverPort,
    method: "GET",
    path: p.serverPrefix + req.url,
    headers,
    setHost: false,
    agent: false,
    timeout: 30_000,
  });
  const statusLine = (up) => {
    p.say(`GET ${h}${pathname} (websocket) -> ${up.statusCode} (${Date.now() - started} ms)`);
    return `HTTP/1.1 ${up.statusCode} ${up.statusMessage}\r\n`;
  };
  upstream.on("timeout", () => upstream.destroy(new Error("upstream timeout")));
  upstream.on("upgrade", (up, upSocket, upHead) => {
    upstream.setTimeout(0);
    let lines = statusLine(up);
    for (let i = 0; i < up.rawHeaders.length; i += 2) lines += `${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}\r\n`;
    socket.write(`${lines}\r\n`);
    if (upHead?.length) socket.write(upHead);
    if (head?.length) upSocket.write(head);
    upSocket.on("error", () => socket.destroy());
    socket.on("close", () => upSocket.destroy());
    upSocket.on("close", () => socket.destroy());
    p.track(upSocket);
    upSocket.pipe(socket);
    socket.pipe(upSocket);
  });
  upstream.on("response", (up) => {
    let lines = statusLine(up);
    const hs = filterRawHeaders(up.rawHeaders);
    for (let i = 0; i < hs.length; i += 2) lines += `${hs[i]}: ${hs[i + 1]}\r\n`;
    socket.write(`${lines}Connection: close\r\n\r\n`);
    up.pipe(socket);
  });
  upstream.on("error", (err) => {
    if (socket.writable) refuse(502, `connect proxy: server unreachable: ${err.message}`);
  });
  upstream.end();
}

/** A loopback name or address (the only plain-http targets of a sealed proxy). */
function isLoopback(hostname) {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (net.isIPv4(h) && h.startsWith("127."));
}

/** Plain http through the proxy (absolute-form); origin-form requests get a status page. */
function plainHttp(p, req, res) {
  req.on("error", () => {});
  res.on("error", () => {});
  let target = null;
  try {
    if (/^https?:\/\//i.test(req.url)) target = new URL(req.url);
  } catch {
    target = null;
  }
  const x = exchange(
    p,
    req,
    res,
    target ? target.hostname : hostOnly(req.headers.host),
    target ? target.pathname + target.search : req.url,
    "refused",
  );
  if (p.sealed && (target?.protocol !== "http:" || !isLoopback(target.hostname))) {
    req.resume();
    answer(x, res, 502, `connect proxy: refusing ${req.method} ${req.url}`);
    return;
  }
  if (target?.protocol !== "http:") {
    req.resume();
    const { origin } = p.server;
    const text = `Logseq Sync connect proxy -> ${origin}${p.serverPrefix}\nUse it as an HTTP proxy (Logseq: Settings > Advanced > Network proxy).`;
    answer(x, res, 200, text);
    return;
  }
  x.kind = "http";
  // Raw path+query: taken from the request line itself, not from the URL parser.
  const afterScheme = req.url.slice(req.url.indexOf("//") + 2);
  const rest = afterScheme.slice(afterScheme.search(/[/?#]|$/)).replace(/#.*$/, "");
  x.path = rest.startsWith("/") ? rest : `/${rest}`;
  // RFC 9112 §3.2.2: with an absolute-form target the Host header is the target's authority.
  const headers = filterRawHeaders(req.rawHeaders, ["host"]);
  headers.unshift("Host", target.host);
  const logAs = p.verbose ? `${req.method} http://${target.host}${target.pathname}` : null;
  const to = { protocol: "http:", hostname: target.hostname, port: target.port || "80", path: x.path };
  forward(p, req, res, x, to, headers, { logAs });
}
