// What the iOS plugin's libraries do to the bytes, rewritten from their source (no Apple
// platform here, so no library can stand in): the AWS iOS SDK's presigned PUT URL, Foundation's
// JSONSerialization and URL(string:), and Swift's JSONDecoder over the plugin's Decodable types.
//
// Sources read (2026-12-01): aws-amplify/aws-sdk-ios 2.38.1 AWSS3/AWSS3PreSignedURL.m
// (getPreSignedURL), AWSCore/Authentication/AWSSignature.m
// (generateQueryStringForSignatureV4WithCredentialProvider, getCanonicalizedQueryString,
// getCanonicalizedHeaderString), AWSCore/Utility/AWSCategory.m (aws_stringWithURLEncoding,
// aws_stringWithURLEncodingPath, aws_decodeURLEncoding), AWSCore/Service/AWSService.m
// (URLWithRegion: S3 in us-east-1 is `s3.amazonaws.com`). The plugin's podspec does not pin the
// SDK version (`s.dependency 'AWSS3'`); this presign code has been stable across 2.x.

import crypto from "node:crypto";

// ---- AWS iOS SDK: SigV4 query presign ----------------------------------------------

/**
 * aws_stringWithURLEncoding(Path): percent-decode first (stringByRemovingPercentEncoding; the
 * original if that fails), then CFURLCreateStringByAddingPercentEscapes with the extra set
 * `!*'();:@&=+$,/?%#[] ` (`/` kept for paths). What stays is A-Z a-z 0-9 - _ . ~ (and `/`).
 * CF writes upper-case hex.
 */
export function awsUrlEncode(s, { path = false } = {}) {
  let decoded;
  try {
    decoded = decodeURIComponent(s);
  } catch {
    decoded = s;
  }
  let out = "";
  for (const b of Buffer.from(decoded, "utf8")) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (path && c === "/")) out += c;
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");
/** AWSDateISO8601DateFormat2 `yyyyMMdd'T'HHmmss'Z'` (GMT). */
export function amzDate(d) {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

/** getCanonicalizedQueryString: split on &, drop pairs with more than one `=`, sort keys, then values. */
function canonicalQuery(query) {
  const dict = new Map();
  for (const part of query.split("&")) {
    const comps = part.split("=");
    if (comps.length < 1 || comps.length > 2 || comps[0] === "") continue;
    if (!dict.has(comps[0])) dict.set(comps[0], []);
    dict.get(comps[0]).push(comps.length === 2 ? comps[1] : "");
  }
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return [...dict.keys()]
    .sort(cmp)
    .flatMap((k) =>
      dict
        .get(k)
        .sort(cmp)
        .map((v) => `${k}=${v}`),
    )
    .join("&");
}

const sha256hex = (s) => crypto.createHash("sha256").update(s, "utf8").digest("hex");
const hmac = (key, s) => crypto.createHmac("sha256", key).update(s, "utf8").digest();

/**
 * The URL `AWSS3PreSignedURLBuilder getPreSignedURL:` returns for the plugin's request
 * (SyncClient.swift getPresignedPutURL: bucket, key, `.PUT`, expires = now + 600 s, no
 * content type, no extra parameters), credentials from AWSBasicSessionCredentialsProvider.
 * @param {object} o
 * @param {{AccessKeyId: string, SecretKey: string, SessionToken: string}} o.credentials
 * @param {string} o.key the object key (not encoded)
 * @param {string} [o.bucket='logseq-file-sync-bucket-prod'] the plugin's prod BUCKET
 * @param {string} [o.region='us-east-1'] the plugin's prod REGION
 * @param {Date} [o.now]
 * @param {string} [o.method='PUT'] (GET only to check against AWS's published example)
 * @param {number} [o.expires=599] X-Amz-Expires: `int32_t expireDuration = [expires
 *   timeIntervalSinceNow]` truncates the 600 s the plugin asked for, minus the microseconds
 *   since, to 599 (600 only if no time at all passed)
 * @returns {{url: string, host: string, canonicalRequest: string}}
 */
export function presignPutUrl({
  credentials,
  key,
  bucket = "logseq-file-sync-bucket-prod",
  region = "us-east-1",
  now = new Date(),
  expires = 599,
  method = "PUT",
}) {
  // Virtual-hosted style for a DNS-compliant bucket without dots; S3 us-east-1 is the global host.
  const endpointHost = region === "us-east-1" ? "s3.amazonaws.com" : `s3.${region}.amazonaws.com`;
  const host = `${bucket}.${endpointHost}`;
  const keyPath = awsUrlEncode(key, { path: true }); // AWSS3PreSignedURL.m: keyName aws_stringWithURLEncodingPath
  const date = amzDate(now);
  const scope = `${date.slice(0, 8)}/${region}/s3/aws4_request`;
  let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&";
  query += `X-Amz-Credential=${`${credentials.AccessKeyId}/${scope}`.replace(/\//g, "%2F")}&`;
  query += `X-Amz-Date=${date}&`;
  query += `X-Amz-Expires=${expires}&`;
  query += `X-Amz-SignedHeaders=${awsUrlEncode("host")}&`;
  if (credentials.SessionToken.length > 0) query += `X-Amz-Security-Token=${awsUrlEncode(credentials.SessionToken)}&`;
  // Canonical URI: keyPath encoded once more (idempotent: aws_stringWithURLEncodingPath decodes first).
  const canonicalRequest = [
    method,
    `/${awsUrlEncode(keyPath, { path: true })}`,
    canonicalQuery(query),
    `host:${host}\n`,
    "host",
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256hex(canonicalRequest)].join("\n");
  let k = hmac(`AWS4${credentials.SecretKey}`, date.slice(0, 8));
  for (const part of [region, "s3", "aws4_request"]) k = hmac(k, part);
  const signature = crypto.createHmac("sha256", k).update(stringToSign, "utf8").digest("hex");
  query += `X-Amz-Signature=${signature}`;
  return { url: `https://${host}/${keyPath}?${query}`, host, canonicalRequest };
}

// ---- Foundation -----------------------------------------------------------------------

/** JSONSerialization.data(withJSONObject:, options: []): compact, `/` escaped as `\/`. */
export function jsonSerialization(obj) {
  return JSON.stringify(obj).replace(/\//g, "\\/");
}

/**
 * Whether `URL(string:)` gives a URL (not nil) on iOS 16 and earlier (RFC 3986 parsing: every
 * character must be unreserved, reserved or a `%XX` escape; iOS 17 percent-encodes instead).
 * The plugin force-unwraps it: `URL(string: url)!` (SyncClient.swift:91,135), so nil is a crash.
 */
export function foundationUrlParses(s) {
  if (typeof s !== "string" || s.length === 0) return false;
  if (!/^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/.test(s)) return false;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return false;
  if ((s.match(/#/g) || []).length > 1) return false;
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s);
}

// ---- Swift JSONDecoder over the plugin's types (CFS ios/Plugin/Payload.swift) ----------

/** Type descriptors: 'String', 'Int', ['String'] (array), { map: T } (dictionary), { struct: {field: T} }. */
export const T = Object.freeze({
  GetTempCredentialResponse: {
    struct: {
      Credentials: {
        struct: { AccessKeyId: "String", Expiration: "String", SecretKey: "String", SessionToken: "String" },
      },
      S3Prefix: "String",
    },
  },
  UpdateFilesResponse: { struct: { TXId: "Int", UpdateSuccFiles: ["String"], UpdateFailedFiles: { map: "String" } } },
  DeleteFilesResponse: { struct: { TXId: "Int", DeleteSuccFiles: ["String"], DeleteFailedFiles: { map: "String" } } },
  // getFiles / getVersionFiles decode the WHOLE body as [String: [String: String]] (SyncClient.swift:88,132).
  FilesBody: { map: { map: "String" } },
});

/** Swift's error for `value` not matching `type` at `path`, or null. Unknown struct keys are ignored. */
function mismatch(type, value, path) {
  if (type === "String")
    return typeof value === "string" ? null : `${path}: expected String, got ${JSON.stringify(value)}`;
  if (type === "Int") {
    // JSONDecoder takes integral JSON numbers only (no strings, no bools, no fractions).
    return typeof value === "number" && Number.isSafeInteger(value)
      ? null
      : `${path}: expected Int, got ${JSON.stringify(value)}`;
  }
  if (Array.isArray(type)) {
    if (!Array.isArray(value)) return `${path}: expected Array, got ${JSON.stringify(value)}`;
    for (let i = 0; i < value.length; i++) {
      const e = mismatch(type[0], value[i], `${path}[${i}]`);
      if (e) return e;
    }
    return null;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return `${path}: expected Dictionary, got ${JSON.stringify(value)}`;
  if (type.map) {
    for (const [k, v] of Object.entries(value)) {
      const e = mismatch(type.map, v, `${path}.${k}`);
      if (e) return e;
    }
    return null;
  }
  for (const [k, t] of Object.entries(type.struct)) {
    if (!(k in value) || value[k] === null) return `${path}: keyNotFound/valueNotFound ${k}`;
    const e = mismatch(t, value[k], `${path}.${k}`);
    if (e) return e;
  }
  return null;
}

/**
 * `try JSONDecoder().decode(type, from: data)`: returns { value } or { error } (the plugin
 * then either throws it or, with `try?`, turns it into nil).
 * @param {object|string|Array} type one of T
 * @param {Buffer|string} data the raw body
 */
export function swiftDecode(type, data) {
  let value;
  try {
    value = JSON.parse(Buffer.isBuffer(data) ? data.toString("utf8") : data);
  } catch (err) {
    return { error: `dataCorrupted: ${err.message}` };
  }
  const error = mismatch(type, value, "$");
  return error ? { error } : { value };
}
