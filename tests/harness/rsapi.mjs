// The official Logseq native sync library (@logseq/rsapi 0.0.92, linux-x64-gnu build), loaded
// for tests, plus thin documented wrappers.
//
// Facts established by experiment against this binary and by reading logseq/rsapi @0162b98
// (packages/rsapi/src/lib.rs, rsapi-impl/src/graph.rs, sync/src/sync.rs):
//
// * Errors: every failure is a JS `Error` whose `message` is the Rust error's Display text,
//   `code` "GenericFailure" (argument-conversion errors: "InvalidArg", "StringExpected", ...;
//   those are thrown synchronously even by the Promise-returning functions).
//   - server JSON `{"message": M}` on update_files / delete_files  -> message exactly `M`
//     (any HTTP status; the status is not looked at)
//   - non-JSON body on update_files / delete_files -> "reqwest error: error decoding response
//     body: expected value at line 1 column 1"
//   - get_temp_credential non-2xx -> "reqwest error: HTTP status client error (401
//     Unauthorized) for url (https://api.logseq.com/file-sync/get_temp_credential)"
//   - get_files / get_version_files without `PresignedFileUrls` (e.g. a 401 JSON) ->
//     "serde error: invalid type: null, expected a map"
//   - download GET non-2xx -> "reqwest error: HTTP status client error (404 Not Found) for url (<url>)"
//   - PUT to the bucket not exactly 200 -> "Can not upload temp file, code=<n>: <body>"
//     (bodies containing `ExpiredToken` / `Request has expired` -> "ExpiredToken: s3 token expired")
//   - unknown graph UUID (no setEnv for it) -> "graph env not set, uuid not found"
//   - transport problems -> "reqwest error: error sending request for url (...): ..." (e.g.
//     "...: connection error: unexpected end of file" when the server hangs up)
// * HTTP: reqwest 0.11 + rustls 0.21, `danger_accept_invalid_certs(true)` (any certificate
//   that parses is accepted), TLS 1.3, SNI = the real host name, ALPN offers h2 and http/1.1
//   (the proxy picks http/1.1). Headers: User-Agent `Logseq-sync/0.3`, `Accept: */*`,
//   `Accept-Encoding: gzip`, API calls `Content-Type: application/octet-stream` +
//   `Authorization: Bearer <token>`; get_temp_credential has NO body and NO Content-Length /
//   Transfer-Encoding at all. A fresh HTTP client (and so fresh connections/tunnels) per call.
//   Timeouts: 30 s per request (connect 15 s); upload PUT max(size/20KiB, 30) s.
// * The proxy (setProxy) is applied with `reqwest::Proxy::https`: only https:// URLs go
//   through it (as CONNECT host:443, headers `Host: host:443`, `User-Agent: Logseq-sync/0.3`);
//   http:// URLs (e.g. presigned download URLs pointing at a local worker) are fetched directly.
//   WITHOUT a proxy rsapi resolves api.logseq.com through DNS and goes to the internet: the
//   network wrappers below refuse to run unless `setProxy` (this module's) set a loopback proxy.
// * Process-global state (one per process, shared by every graph and every token):
//   - proxy URL (setProxy), read when each call builds its client;
//   - environment prod/dev (setEnv): selects https://api.logseq.com/file-sync/ +
//     bucket logseq-file-sync-bucket-prod / us-east-1, or api-dev.logseq.com +
//     logseq-file-sync-bucket / us-east-2, for ALL graphs;
//   - the temp-credential cache (get_temp_credential answer): reused by later
//     updateRemoteFiles calls regardless of graph or token until it is within 5 minutes of
//     `Expiration`; only setEnv clears it. => when switching user/token, call setEnv again.
//   - setEnv also cancels in-flight fetchRemoteFiles / updateLocalFiles / updateRemoteFiles
//     of every graph (they reject with "cancelled"), and so does cancelAllRequests.
//     deleteRemoteFiles and updateLocalVersionFiles are not cancellable.
//   - graph catalog: graphUUID -> keys, filled by setEnv; an invalid env name rejects with
//     "invalid arguments" and an invalid key with "Invalid key format, cannot parse", but
//     only AFTER the cache reset and the cancellation happened.
//   - initLogger: only the first call in a process takes effect.
// * initLogger and setProgressCallback register napi thread-safe functions that are REF'd:
//   once either was called, the Node process never exits by itself (a node --test file would
//   hang). Use the wrappers below together with `exitAfterTests(after)`.
// * updateRemoteFiles retries the WHOLE operation (upload to new temp keys + update_files) on
//   any error, 3 attempts in total: a 409 from update_files is seen by the server 3 times, a
//   failing PUT is tried 3 times (with the SAME cached credential: an ExpiredToken answer
//   does not refresh it). A cancellation (setEnv/cancelAllRequests) only ends the current
//   attempt, so it takes 3 cancellations to make it reject with "cancelled".
// * File-name encryption is deterministic (ChaCha20-Poly1305, zero nonce, key derived from
//   the age secret key, NFC-normalised input): `e.` + lowercase hex of (utf8 bytes + 16-byte
//   tag), i.e. length 2 + 2*(bytes+16). Same key + same path -> same name.

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");
const require = createRequire(path.join(repoRoot, "package.json"));

export const RSAPI_PATH = path.join(
  repoRoot,
  "node_modules",
  "@logseq",
  "rsapi-linux-x64-gnu",
  "rsapi.linux-x64-gnu.node",
);

/**
 * The raw napi module. Exports: initLogger keygen setEnv setProxy setProgressCallback
 * cancelAllRequests getLocalFilesMeta getLocalAllFilesMeta renameLocalFile deleteLocalFiles
 * fetchRemoteFiles updateLocalFiles updateLocalVersionFiles updateRemoteFiles
 * deleteRemoteFiles ageEncryptWithPassphrase ageDecryptWithPassphrase encryptFnames
 * decryptFnames canonicalizePath (+ classes EncryptTask, DecryptTask).
 * Calling its network functions without a loopback proxy contacts the real Logseq service.
 */
export const raw = require(RSAPI_PATH);

let currentProxy = null;

function assertSafeProxy(fn) {
  if (!currentProxy) {
    throw new Error(
      `rsapi.${fn}: refusing to run without a loopback proxy (call setProxy first); ` +
        "otherwise rsapi would contact api.logseq.com / s3.amazonaws.com",
    );
  }
}

/**
 * Age X25519 key pair. `raw.keygen()`.
 * @returns {Promise<{publicKey: string, secretKey: string}>} `age1...` / `AGE-SECRET-KEY-1...`
 */
export function keygen() {
  return raw.keygen();
}

/**
 * Register a graph's keys and select the environment (process-global, see top of file).
 * `raw.setEnv(graphUUID, env, secretKey, publicKey)`; env: "prod"|"production"|"product" or
 * "dev"|"development"|"develop". Resets the temp-credential cache and cancels in-flight
 * cancellable calls of every graph.
 * @returns {Promise<void>}
 */
export function setEnv(graphUUID, env, secretKey, publicKey) {
  return raw.setEnv(graphUUID, env, secretKey, publicKey);
}

/**
 * Set (or with null/undefined clear) the process-global HTTPS proxy. `raw.setProxy(url)`.
 * Only loopback proxies are accepted by this wrapper. An unparsable URL rejects with
 * "reqwest error: builder error: ...".
 * @param {string|null|undefined} url e.g. `http://127.0.0.1:40123`
 * @returns {Promise<void>}
 */
export async function setProxy(url) {
  if (url == null) {
    await raw.setProxy(null);
    currentProxy = null;
    return;
  }
  const u = new URL(url);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(u.hostname)) {
    throw new Error(`rsapi.setProxy: only loopback proxies allowed in tests, got ${url}`);
  }
  await raw.setProxy(url);
  currentProxy = url;
}

/** The proxy URL last set through {@link setProxy} (null if none). */
export function getProxy() {
  return currentProxy;
}

/**
 * Encrypt relative file paths with the graph's key. SYNCHRONOUS. `raw.encryptFnames(g, paths)`.
 * Throws "graph env not set, uuid not found" for an unknown graph, "invalid arguments" for "".
 * @param {string} graphUUID
 * @param {string[]} paths e.g. ["pages/a.md"]
 * @returns {string[]} e.g. ["e.6be0...d1"], same order
 */
export function encryptFnames(graphUUID, paths) {
  return raw.encryptFnames(graphUUID, paths);
}

/**
 * Inverse of encryptFnames. SYNCHRONOUS. Throws "invalid arguments" (no `e.` prefix, length
 * <= 36, bad hex) or "cannot decrypt" (other key).
 * @param {string} graphUUID
 * @param {string[]} names
 * @returns {string[]} NFC-normalised plain paths
 */
export function decryptFnames(graphUUID, names) {
  return raw.decryptFnames(graphUUID, names);
}

/**
 * local -> remote. For each path: read `<baseDir>/<path>`, MD5 the plaintext, age-encrypt with
 * the graph's public key (unless already age-encrypted), PUT to
 * `https://<bucket>.s3.amazonaws.com/<S3Prefix minus bucket>/<12 random a-z>?<SigV4 presign>`;
 * then POST update_files `{"Files":{"e.<hex>":["<temp key>","<md5>"]},"GraphUUID":g,"TXId":txid}`.
 * Calls get_temp_credential first unless the process-global cache holds a credential valid
 * for > 5 more minutes. On success copies .md/.org/.markdown files to
 * `<baseDir>/logseq/version-files/base/<path>`. 3 attempts in total on any error.
 * `raw.updateRemoteFiles(g, baseDir, relPaths, txid, token, metadata?)` — the optional 6th
 * argument, if given, must be `{fsCaseSensitive, version, revision, platform}` (unused).
 * @returns {Promise<number>} the `TXId` of the update_files answer (0 if absent)
 */
export function updateRemoteFiles(graphUUID, baseDir, relPaths, txid, token) {
  assertSafeProxy("updateRemoteFiles");
  return raw.updateRemoteFiles(graphUUID, baseDir, relPaths, txid, token);
}

/**
 * POST delete_files `{"Files":["e.<hex>",...],"GraphUUID":g,"TXId":txid}`, then deletes
 * `<baseDir>/logseq/version-files/base/<path>` for each path (errors ignored).
 * `raw.deleteRemoteFiles(g, baseDir, relPaths, txid, token)`.
 * @returns {Promise<number>} the answer's `TXId` (0 if absent). Rejects with the answer's
 *   `message` verbatim if it has one (whatever the status).
 */
export function deleteRemoteFiles(graphUUID, baseDir, relPaths, txid, token) {
  assertSafeProxy("deleteRemoteFiles");
  return raw.deleteRemoteFiles(graphUUID, baseDir, relPaths, txid, token);
}

/**
 * remote -> local, "v2": POST get_files `{"Files":["e.<hex>",...],"GraphUUID":g}`, then for
 * every returned URL two GETs (first with `Content-Range: bytes=0-0`, only Content-Length is
 * read), age-decrypt, write page files (.md/.org/.markdown) to
 * `<baseDir>/logseq/version-files/incoming/<path>` and other files to `<baseDir>/<path>`.
 * Paths missing from PresignedFileUrls are silently skipped.
 * `raw.fetchRemoteFiles(g, baseDir, relPaths, token)`.
 * @returns {Promise<string[]>} the downloaded page-file paths (plain, relative)
 */
export function fetchRemoteFiles(graphUUID, baseDir, relPaths, token) {
  assertSafeProxy("fetchRemoteFiles");
  return raw.fetchRemoteFiles(graphUUID, baseDir, relPaths, token);
}

/**
 * remote -> local, "v1": like fetchRemoteFiles but writes every file to `<baseDir>/<path>`.
 * `raw.updateLocalFiles(g, baseDir, relPaths, token)`.
 * @returns {Promise<void>}
 */
export function updateLocalFiles(graphUUID, baseDir, relPaths, token) {
  assertSafeProxy("updateLocalFiles");
  return raw.updateLocalFiles(graphUUID, baseDir, relPaths, token);
}

/**
 * POST get_version_files `{"Files":["<FileUUID>/<VersionUUID>",...],"GraphUUID":g}`, download
 * each URL (same two GETs), age-decrypt, write `<baseDir>/logseq/version-files/<id>`.
 * `raw.updateLocalVersionFiles(g, baseDir, ids, token)`.
 * @returns {Promise<void>}
 */
export function updateLocalVersionFiles(graphUUID, baseDir, ids, token) {
  assertSafeProxy("updateLocalVersionFiles");
  return raw.updateLocalVersionFiles(graphUUID, baseDir, ids, token);
}

/**
 * @typedef {object} FileMeta
 * @property {number} size
 * @property {number} mtime ms
 * @property {number} ctime ms
 * @property {string} md5 lowercase hex of the plaintext
 * @property {string} fname relative path, `/`-separated
 * @property {string} incomingFname the path as given
 * @property {string} normalizedFname NFC form
 * @property {string} encryptedFname `e.<hex>`
 */

/**
 * Walk `baseDir` (no network). Skips paths starting with `.` or containing `/.`, and
 * `logseq/bak/`, `logseq/version-files/`. Needs setEnv(graphUUID) first.
 * `raw.getLocalAllFilesMeta(g, baseDir)`.
 * @returns {Promise<Record<string, FileMeta>>} keyed by `fname`
 */
export function getLocalAllFilesMeta(graphUUID, baseDir) {
  return raw.getLocalAllFilesMeta(graphUUID, baseDir);
}

/**
 * Same for the given paths; missing/unreadable files are silently omitted.
 * `raw.getLocalFilesMeta(g, baseDir, relPaths)`.
 * @returns {Promise<Record<string, FileMeta>>} keyed by the path as given
 */
export function getLocalFilesMeta(graphUUID, baseDir, relPaths) {
  return raw.getLocalFilesMeta(graphUUID, baseDir, relPaths);
}

/**
 * Passphrase (scrypt) age encryption, ASCII-armoured output
 * (`-----BEGIN AGE ENCRYPTED FILE-----`). `raw.ageEncryptWithPassphrase(pass, data, signal?)`.
 * `data` must be a Uint8Array/Buffer (a string throws "Failed to create reference from Buffer").
 * @returns {Promise<Buffer>}
 */
export function ageEncryptWithPassphrase(passphrase, data) {
  return raw.ageEncryptWithPassphrase(passphrase, toBytes(data));
}

/**
 * Inverse. Wrong passphrase rejects with "cannot age decrypt: Decryption failed".
 * @returns {Promise<Buffer>}
 */
export function ageDecryptWithPassphrase(passphrase, data) {
  return raw.ageDecryptWithPassphrase(passphrase, toBytes(data));
}

function toBytes(data) {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

/**
 * Progress of uploads/downloads. `raw.setProgressCallback(cb)`, cb(err, p) with err null and
 * p = {graphUUID, file, type: 'upload'|'download', progress, total, percent} (note `graphUUID`,
 * not the `graphUuid` of rsapi's index.d.ts), about every 10 %. Replaces an earlier callback.
 * KEEPS THE PROCESS ALIVE FOREVER: call exitAfterTests(after) in the test file.
 * @param {(progress: object) => void} fn
 */
export function setProgressCallback(fn) {
  raw.setProgressCallback((err, progress) => {
    if (!err) fn(progress);
  });
}

let loggerFn = null;
/**
 * rsapi's log lines (targets rsapi*, sync*, levels up to DEBUG). The native logger can be
 * installed only once per process; this wrapper installs it on first use and afterwards just
 * switches the JS function. `fn(level, message)`, level "ERROR"|"WARN"|"INFO"|"DEBUG".
 * KEEPS THE PROCESS ALIVE FOREVER: call exitAfterTests(after) in the test file.
 * @param {((level: string, message: string) => void)|null} fn
 */
export function initLogger(fn) {
  if (loggerFn === null)
    raw.initLogger((err, rec) => {
      if (!err && loggerFn) loggerFn(rec[0], rec[1]);
    });
  loggerFn = fn || (() => {});
}

/**
 * For test files that used setProgressCallback/initLogger: exit the (per-file) test process
 * once all its tests and hooks ran. Pass node:test's `after`.
 * @param {(fn: () => void) => void} after
 */
export function exitAfterTests(after) {
  after(() => {
    setImmediate(() => process.exit());
  });
}

/** `raw.cancelAllRequests()`: rejects in-flight cancellable calls with "cancelled". @returns {Promise<void>} */
export function cancelAllRequests() {
  return raw.cancelAllRequests();
}

/**
 * Await `promise`, expecting a rejection; resolves to the error message. Fails (throws) if it
 * resolved instead, reporting the value.
 * @param {Promise<unknown>|(() => Promise<unknown>)} promise
 * @returns {Promise<string>}
 */
export async function rejectionMessage(promise) {
  let value;
  try {
    value = await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    return String(err && err.message !== undefined ? err.message : err);
  }
  throw new Error(`expected rsapi call to fail, it resolved with ${JSON.stringify(value)}`);
}
