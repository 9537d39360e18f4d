// Standard AWS SigV4 query presigning (what AWS SDKs produce), node:crypto only. Used by the
// e2e tests to sign uploads to the Worker's own `/s3/<key>` receiver with the credentials of
// `get_temp_credential`, without going through rsapi and the intercepting proxy.
//
// Canonical form (AWS "Authenticating Requests: Using Query Parameters"):
//   <METHOD>\n<canonical URI>\n<canonical query>\nhost:<host>\n\nhost\nUNSIGNED-PAYLOAD
// canonical URI = every path segment URI-encoded once (RFC 3986 unreserved kept, `/` kept);
// canonical query = all parameters except X-Amz-Signature, names and values URI-encoded,
// sorted by name. The URL sent carries exactly that query plus `&X-Amz-Signature=<hex>`.

import { createHash, createHmac } from "node:crypto";

const hmac = (key, data) => createHmac("sha256", key).update(data, "utf8").digest();
const sha256hex = (data) => createHash("sha256").update(data, "utf8").digest("hex");

/** RFC 3986 encoding of one component (only A-Z a-z 0-9 - . _ ~ left as is). */
export function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `yyyymmddThhmmssZ` of a Date. */
export function amzDate(date) {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/**
 * Presign one request.
 * @param {object} o
 * @param {string} o.method e.g. "PUT"
 * @param {string} o.origin e.g. "http://127.0.0.1:8787" (scheme, host, port of the URL sent)
 * @param {string} [o.pathPrefix=''] routing prefix sent before the signed path but not signed
 *   (the Worker's `/s3`)
 * @param {string} o.key object key, unescaped, e.g. "uploads/<user>/abc"
 * @param {string} [o.host] host header value that is signed (default: the origin's host[:port])
 * @param {string} o.accessKeyId
 * @param {string} o.secretKey
 * @param {string} [o.sessionToken]
 * @param {{AccessKeyId: string, SecretKey: string, SessionToken: string}} [o.credentials] instead
 *   of the three above: temporary credentials as get_temp_credential returns them
 * @param {string} [o.region='us-east-1']
 * @param {number} [o.expires=3600] seconds
 * @param {Date} [o.now=new Date()]
 * @returns {{url: string, path: string}} the absolute URL and its path+query (for client.raw)
 */
export function presign({
  method,
  origin,
  pathPrefix = "",
  key,
  host,
  credentials,
  accessKeyId = credentials?.AccessKeyId,
  secretKey = credentials?.SecretKey,
  sessionToken = credentials?.SessionToken,
  region = "us-east-1",
  expires = 3600,
  now = new Date(),
}) {
  const signedHost = host ?? new URL(origin).host;
  const stamp = amzDate(now);
  const day = stamp.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const params = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${accessKeyId}/${scope}`,
    "X-Amz-Date": stamp,
    "X-Amz-Expires": String(expires),
    "X-Amz-SignedHeaders": "host",
  };
  if (sessionToken !== undefined) params["X-Amz-Security-Token"] = sessionToken;
  const query = Object.entries(params)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalUri = "/" + key.split("/").map(uriEncode).join("/");
  const canonicalRequest = [method, canonicalUri, query, `host:${signedHost}`, "", "host", "UNSIGNED-PAYLOAD"].join(
    "\n",
  );
  const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, sha256hex(canonicalRequest)].join("\n");
  const kDate = hmac(`AWS4${secretKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, region), "s3"), "aws4_request");
  const signature = createHmac("sha256", kSigning).update(stringToSign, "utf8").digest("hex");
  const path = `${pathPrefix}${canonicalUri}?${query}&X-Amz-Signature=${signature}`;
  return { url: `${origin.replace(/\/+$/, "")}${path}`, path };
}

/**
 * Temporary credentials as the Worker mints them (src/sigv4/temp_credentials.rs `mint`, from the
 * layout documented there), in get_temp_credential's casing: {AccessKeyId, SecretKey, SessionToken}.
 */
export function mintTempCredentials(serverSecret, userId, prefix, expiresAt) {
  const mac = (key, ...parts) => parts.reduce((h, p) => h.update(p), createHmac("sha256", key)).digest();
  const k = mac(serverSecret, "logseq-sync temp-credentials v1");
  const exp = Buffer.alloc(8);
  exp.writeBigInt64BE(BigInt(expiresAt));
  const body = `LSQ1${Buffer.from(userId).toString("hex")}Z${Buffer.from(prefix).toString("hex")}Z${exp.toString("hex")}`;
  const SessionToken = `${body}Z${mac(k, "token\0", body).toString("hex")}`;
  return {
    AccessKeyId: `LSQT${mac(k, "access-key-id\0", SessionToken).subarray(0, 8).toString("hex").toUpperCase()}`,
    SecretKey: mac(k, "secret-key\0", SessionToken).toString("hex"),
    SessionToken,
  };
}

/** The credentials the Worker signs its own download URLs with (src/s3/blobs.rs `download_url`). */
export const downloadCredentials = (s3CredentialSecret, expiresAt) =>
  mintTempCredentials(
    Buffer.concat([Buffer.from(s3CredentialSecret), Buffer.from("\0download")]),
    "download",
    "",
    expiresAt,
  );
