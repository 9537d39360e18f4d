// Encrypted backup of one graph (`npm run admin -- export|import`, docs/BACKUP.md).
//
// An export directory is, at its top level, exactly what rsapi's `decrypt-cli` reads
// (logseq/rsapi @0162b98 decrypt-cli/src/main.rs): `keys.edn`, an EDN map with the string keys
// "public-key" and "encrypted-private-key" (main.rs:11-40, read at main.rs:98-101), and one
// regular file per current file of the graph, named by its encrypted name `e.<hex>` and
// holding the age ciphertext exactly as stored (main.rs:42-68, 114-125: every regular file but
// keys.edn is decrypted, sub-directories are skipped). Our own metadata lives in the
// sub-directory `meta/` so that decrypt-cli never sees it (it would abort on a file it cannot
// decrypt): `meta/manifest.json` (graph name, txid, per-file checksum/size/...) and, for
// encrypted names longer than a file name may be (255), `meta/long-names/<sha256 of name>`.
//
// Nothing here ever sees plaintext: the server never had it, the export is the ciphertext and
// the passphrase-encrypted key, and the import uploads the same bytes and keys again.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

export const KEYS_FILE = "keys.edn";
export const META_DIR = "meta";
export const MANIFEST_FILE = "meta/manifest.json";
export const LONG_NAMES_DIR = "meta/long-names";
export const MANIFEST_FORMAT = "logseq-sync-export";
export const MANIFEST_VERSION = 1;

/** Longest file name we write (NAME_MAX of ext4/xfs/btrfs/APFS; NTFS counts UTF-16 units). */
export const MAX_FILE_NAME = 255;
/** Files per update_files (the app's batch, PROTOCOL.md §6.17). */
export const COMMIT_BATCH = 20;
export const DEFAULT_CONCURRENCY = 8;

const NAME_RE = /^e\.(?:[0-9a-f]{2}){18,}$/;
const MAX_NAME = 950;
const MD5_RE = /^[0-9a-f]{32}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AGE_BINARY = Buffer.from("age-encryption.org/v1\n");
const AGE_ARMORED = Buffer.from("-----BEGIN AGE ENCRYPTED FILE-----");
const API_TIMEOUT_MS = 30_000;
const ATTEMPTS = 4;
const EXPORT_ATTEMPTS = 3;

// ---------------------------------------------------------------------------------------------
// keys.edn

/** EDN string literal with the escapes edn-format 3.3.0 reads (\t \r \n \\ \" and \uXXXX). */
function ednString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** keys.edn as decrypt-cli reads it: `{"public-key" "age1…" "encrypted-private-key" "…"}`. */
export function formatKeysEdn(keys) {
  return `{${ednString("public-key")} ${ednString(keys["public-key"])}\n ${ednString("encrypted-private-key")} ${ednString(keys["encrypted-private-key"])}}\n`;
}

/**
 * Reads a keys.edn: an EDN map whose keys and values are strings (what decrypt-cli accepts
 * for the two entries it looks up). Returns `{"public-key", "encrypted-private-key"}`.
 */
export function parseKeysEdn(text) {
  let i = 0;
  const fail = (why) => {
    throw new Error(`keys.edn: ${why} at offset ${i}`);
  };
  const skip = () => {
    for (;;) {
      while (i < text.length && (/\s/.test(text[i]) || text[i] === ",")) i++;
      if (text[i] !== ";") return;
      while (i < text.length && text[i] !== "\n") i++;
    }
  };
  const string = () => {
    if (text[i] !== '"') fail("expected a string (only string keys and values are supported)");
    i++;
    let s = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const ch = text[i++];
      if (ch === '"') return s;
      if (ch !== "\\") {
        s += ch;
        continue;
      }
      const e = text[i++];
      if (e === "n") s += "\n";
      else if (e === "r") s += "\r";
      else if (e === "t") s += "\t";
      else if (e === "\\" || e === '"') s += e;
      else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) {
        s += String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
        i += 4;
      } else fail(`invalid string escape \\${e ?? ""}`);
    }
  };
  skip();
  if (text[i] !== "{") fail("expected a map");
  i++;
  const map = new Map();
  for (;;) {
    skip();
    if (text[i] === "}") break;
    if (i >= text.length) fail("unterminated map");
    const k = string();
    skip();
    const v = string();
    map.set(k, v);
  }
  const pub = map.get("public-key");
  const enc = map.get("encrypted-private-key");
  if (typeof pub !== "string" || !/^age1[0-9a-z]+$/.test(pub)) throw new Error('keys.edn: no valid "public-key"');
  if (typeof enc !== "string" || !enc.startsWith("-----BEGIN AGE ENCRYPTED FILE-----")) {
    throw new Error('keys.edn: no valid "encrypted-private-key" (an armored age file)');
  }
  return { "public-key": pub, "encrypted-private-key": enc };
}

// ---------------------------------------------------------------------------------------------
// HTTP

class HttpError extends Error {
  constructor(what, status, message) {
    super(`${what}: ${status}${message ? ` ${message}` : ""}`);
    this.status = status;
    this.serverMessage = message;
  }
}

/** Worth another try: transport errors, timeouts, 5xx (e.g. a busy local D1), 429. */
function retryable(e) {
  if (e instanceof HttpError) return e.status >= 500 || e.status === 429;
  return (
    e?.retryable === true ||
    e?.name === "TimeoutError" ||
    e?.name === "AbortError" ||
    e instanceof TypeError ||
    ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET"].includes(e?.code ?? e?.cause?.code)
  );
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` up to ATTEMPTS times while it fails with a retryable error. */
async function retrying(what, log, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= ATTEMPTS || !retryable(e)) throw e;
      log(`${e.message.startsWith(what) ? e.message : `${what}: ${e.message}`}; retrying (${attempt}/${ATTEMPTS - 1})`);
      await sleep(300 * 2 ** (attempt - 1));
    }
  }
}

const describeError = (e) => (e?.cause?.message ? `${e.message} (${e.cause.message})` : (e?.message ?? String(e)));

/** A JSON request; resolves `{status, json, text}` (never throws for an HTTP status). */
async function jsonRequest(url, { method = "GET", bearer, body }) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch (e) {
    const err = new Error(`${method} ${new URL(url).pathname}: ${describeError(e)}`);
    err.retryable = true;
    throw err;
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function messageOf(r) {
  return typeof r.json?.message === "string" ? r.json.message : r.text.slice(0, 300);
}

function client(baseUrl, adminToken, log) {
  const base = baseUrl.replace(/\/+$/, "");
  /** Admin interface call (retried: these are reads, or idempotent for our use). */
  const admin = (method, p, body) =>
    retrying(`${method} ${p.split("?")[0]}`, log, async () => {
      const r = await jsonRequest(`${base}${p}`, { method, bearer: adminToken, body });
      if (r.status !== 200 || r.json === undefined)
        throw new HttpError(`${method} ${p.split("?")[0]}`, r.status, messageOf(r));
      return r.json;
    });
  /** One API call as a user; returns `{status, json, text}`. */
  const api = (token, name, body) => jsonRequest(`${base}/file-sync/${name}`, { method: "POST", bearer: token, body });
  /** API call that must answer 200 with JSON, retried on 5xx/transport errors (idempotent calls only). */
  const apiOk = (token, name, body) =>
    retrying(name, log, async () => {
      const r = await api(token, name, body);
      if (r.status !== 200 || r.json === undefined) throw new HttpError(name, r.status, messageOf(r));
      return r.json;
    });
  return { admin, api, apiOk };
}

/** Bounded-concurrency map; stops starting new work after the first failure and rethrows it. */
async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failed = null;
  const worker = async () => {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed.e;
  return results;
}

/** Timeout for moving `size` bytes: 60 s plus 4 s per MiB (bounded, generous). */
const transferTimeout = (size) => 60_000 + Math.ceil(size / (1 << 20)) * 4_000;

/** GET `url` into `file`, counting and hashing; resolves `{size, sha256, head}`. */
async function download(url, file, expectedSize) {
  const res = await fetch(url, { signal: AbortSignal.timeout(transferTimeout(expectedSize)) });
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => "");
    throw new HttpError("download", res.status, text.slice(0, 200));
  }
  const hash = createHash("sha256");
  let size = 0;
  let head = Buffer.alloc(0);
  const counter = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      if (head.length < 64) head = Buffer.concat([head, chunk.subarray(0, 64 - head.length)]);
      cb(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body), counter, createWriteStream(file));
  return { size, sha256: hash.digest("hex"), head };
}

/** PUT the bytes of `file` (exactly `size` bytes, with Content-Length) to a presigned URL. */
function putFile(url, file, size) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request(u, {
      method: "PUT",
      agent: false,
      headers: { "content-length": size, "content-type": "application/octet-stream" },
    });
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error("upload timed out"), { retryable: true })),
      transferTimeout(size),
    );
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`upload: ${e.message}`), { retryable: true }));
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        if (text.length < 2000) text += c;
      });
      res.on("end", () => {
        clearTimeout(timer);
        if (res.statusCode >= 200 && res.statusCode < 300) resolve();
        else reject(new HttpError("upload", res.statusCode, text.replace(/\s+/g, " ").slice(0, 300)));
      });
      res.on("error", (e) => {
        clearTimeout(timer);
        reject(Object.assign(e, { retryable: true }));
      });
    });
    const rs = createReadStream(file);
    rs.on("error", (e) => req.destroy(e));
    rs.pipe(req);
  });
}

// ---------------------------------------------------------------------------------------------
// files

const sha256Hex = (s) => createHash("sha256").update(s).digest("hex");

/** Where a file of the graph is stored inside an export (relative, `/`-separated). */
export function storedAs(name) {
  return name.length <= MAX_FILE_NAME ? name : `${LONG_NAMES_DIR}/${sha256Hex(name)}`;
}

const isAge = (head) =>
  head.subarray(0, AGE_BINARY.length).equals(AGE_BINARY) || head.subarray(0, AGE_ARMORED.length).equals(AGE_ARMORED);

/** Writes `data` to `file` through a temporary sibling and a rename. */
async function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

async function isEmptyOrMissing(dir) {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) return false;
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if (e.code === "ENOENT") return true;
    throw e;
  }
}

/** sha256 and size of a file on disk. */
async function hashFile(file) {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

// ---------------------------------------------------------------------------------------------
// export

function checkExportFile(f) {
  if (typeof f?.name !== "string" || !NAME_RE.test(f.name) || f.name.length > MAX_NAME) {
    throw new Error(`server listed an invalid file name: ${JSON.stringify(f?.name).slice(0, 80)}`);
  }
  if (!Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`${f.name}: invalid size ${f.size}`);
  if (typeof f.url !== "string" || !/^https?:\/\//.test(f.url)) throw new Error(`${f.name}: invalid url`);
}

/**
 * Exports graph `graphId` into the new (or empty) directory `dir`: keys.edn, the `e.<hex>`
 * ciphertexts, meta/manifest.json. The directory appears only when the export is complete
 * (built in a sibling `<dir>.partial-*` and renamed); on failure nothing is left behind.
 * @returns {Promise<object>} a summary
 */
export async function exportGraph({ url, token, graphId, dir, concurrency = DEFAULT_CONCURRENCY, log = () => {} }) {
  if (!UUID_RE.test(graphId ?? "")) throw new Error(`invalid graph id: ${graphId}`);
  const target = path.resolve(dir);
  if (!(await isEmptyOrMissing(target))) throw new Error(`${target} exists and is not an empty directory`);
  await mkdir(path.dirname(target), { recursive: true });
  const staging = await mkdtemp(`${target}.partial-`);
  const { admin } = client(url, token, log);
  const have = new Map(); // name -> what was downloaded (reused when the graph changes mid-export)
  try {
    await mkdir(path.join(staging, META_DIR, "tmp"), { recursive: true });
    let result;
    for (let attempt = 1; attempt <= EXPORT_ATTEMPTS && !result; attempt++) {
      result = await exportOnce({ admin, graphId, staging, have, concurrency, log });
      if (!result) log(`graph ${graphId} changed during the export; starting over (${attempt}/${EXPORT_ATTEMPTS})`);
    }
    if (!result)
      throw new Error(`the graph kept changing during ${EXPORT_ATTEMPTS} attempts; retry when no device is syncing it`);
    const { graph, keys, files } = result;
    const current = new Set(files.map((f) => f.name));
    for (const [name, h] of have) if (!current.has(name)) await rm(path.join(staging, h.stored_as), { force: true });
    await rm(path.join(staging, META_DIR, "tmp"), { recursive: true, force: true });
    if (keys) await writeAtomic(path.join(staging, KEYS_FILE), formatKeysEdn(keys));
    const warnings = [];
    if (!keys && files.length)
      warnings.push("the graph has files but no encryption keys: the files cannot be decrypted");
    const entries = files.map((f) => {
      const h = have.get(f.name);
      if (!h.age) warnings.push(`${f.name} is not an age ciphertext (decrypt-cli aborts on it)`);
      if (typeof f.checksum !== "string" || !MD5_RE.test(f.checksum)) {
        warnings.push(`${f.name} has no valid MD5 checksum (${JSON.stringify(f.checksum)}); import will refuse it`);
      }
      return {
        name: f.name,
        checksum: f.checksum,
        size: f.size,
        last_modified: f.last_modified,
        txid: f.txid,
        sha256: h.sha256,
        stored_as: h.stored_as,
      };
    });
    const longNames = entries.filter((e) => e.stored_as !== e.name).length;
    if (longNames) {
      warnings.push(
        `${longNames} file(s) have encrypted names longer than ${MAX_FILE_NAME} characters and are stored under ${LONG_NAMES_DIR}/ (import restores them; decrypt-cli does not see them)`,
      );
    }
    const manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      exported_at: new Date().toISOString(),
      source: url,
      graph: {
        id: graph.id,
        name: graph.name,
        txid: graph.txid,
        user_id: graph.user_id,
        created_at: graph.created_at,
        storage_usage: graph.storage_usage,
      },
      keys_file: keys ? KEYS_FILE : null,
      public_key: keys ? keys["public-key"] : null,
      files: entries,
    };
    await writeAtomic(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      await rename(staging, target);
    } catch (e) {
      if (!["EEXIST", "ENOTEMPTY", "EPERM", "EISDIR"].includes(e.code) || !(await isEmptyOrMissing(target))) throw e;
      await rmdir(target);
      await rename(staging, target);
    }
    for (const w of warnings) log(`warning: ${w}`);
    return {
      exported: target,
      graph: { id: graph.id, name: graph.name, txid: graph.txid },
      files: entries.length,
      bytes: entries.reduce((a, e) => a + e.size, 0),
      keys: Boolean(keys),
      long_names: longNames,
      warnings,
    };
  } catch (e) {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    throw new Error(`export of graph ${graphId} failed: ${e.message}\nnothing was written to ${target}`);
  }
}

/** One pass over the export pages; null if the graph's txid moved meanwhile. */
async function exportOnce({ admin, graphId, staging, have, concurrency, log }) {
  const base = `/admin/graphs/${graphId}/export`;
  let page = await admin("GET", base);
  const { graph, keys } = page;
  const txid = graph?.txid;
  if (!Number.isSafeInteger(txid)) throw new Error(`unexpected export answer: ${JSON.stringify(page).slice(0, 200)}`);
  const files = [];
  let last = "";
  for (let n = 1; ; n++) {
    if (page.graph?.txid !== txid) return null;
    if (!Array.isArray(page.files)) throw new Error("unexpected export answer: no files");
    for (const f of page.files) {
      checkExportFile(f);
      if (f.name <= last) throw new Error(`export listing out of order at ${f.name}`);
      last = f.name;
    }
    const todo = page.files.filter((f) => {
      const h = have.get(f.name);
      return !(h && h.txid === f.txid && h.size === f.size);
    });
    await pool(todo, concurrency, async (f) => {
      const rel = storedAs(f.name);
      const dest = path.join(staging, rel);
      const tmp = path.join(staging, META_DIR, "tmp", `${randomBytes(8).toString("hex")}`);
      const got = await retrying(`download ${f.name.slice(0, 20)}…`, log, async () => {
        const r = await download(f.url, tmp, f.size);
        if (r.size !== f.size) {
          throw Object.assign(new Error(`${f.name}: downloaded ${r.size} bytes, expected ${f.size}`), {
            retryable: true,
          });
        }
        return r;
      });
      await mkdir(path.dirname(dest), { recursive: true });
      await rename(tmp, dest);
      have.set(f.name, { txid: f.txid, size: f.size, sha256: got.sha256, stored_as: rel, age: isAge(got.head) });
    });
    files.push(...page.files);
    log(`export ${graphId}: page ${n}, ${files.length} file(s) so far`);
    if (!page.next) break;
    if (page.next < last) throw new Error("export paging did not advance");
    page = await admin("GET", `${base}?after=${encodeURIComponent(page.next)}`);
  }
  // Nothing was committed between the first listing and now iff the txid did not move.
  const { graphs } = await admin("GET", "/admin/graphs");
  const now = graphs?.find((g) => g.id === graphId);
  if (!now) throw new Error("graph-not-exist (deleted during the export)");
  if (now.txid !== txid) return null;
  return { graph, keys, files };
}

// ---------------------------------------------------------------------------------------------
// import

/** Reads and checks `<dir>/meta/manifest.json`. */
export async function readManifest(dir) {
  let text;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), "utf8");
  } catch (e) {
    if (e.code === "ENOENT")
      throw new Error(
        `${path.join(dir, MANIFEST_FILE)} not found: not a complete export made by \`npm run admin -- export\``,
      );
    throw e;
  }
  const m = JSON.parse(text);
  if (m?.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION) {
    throw new Error(
      `${MANIFEST_FILE}: unsupported format ${JSON.stringify(m?.format)} version ${JSON.stringify(m?.version)}`,
    );
  }
  if (typeof m.graph?.name !== "string" || !Array.isArray(m.files))
    throw new Error(`${MANIFEST_FILE}: missing graph or files`);
  if (m.keys_file !== null && m.keys_file !== KEYS_FILE) throw new Error(`${MANIFEST_FILE}: unexpected keys_file`);
  const seen = new Set();
  for (const f of m.files) {
    if (typeof f?.name !== "string" || !NAME_RE.test(f.name) || f.name.length > MAX_NAME) {
      throw new Error(`${MANIFEST_FILE}: invalid file name ${JSON.stringify(f?.name).slice(0, 80)}`);
    }
    if (seen.has(f.name)) throw new Error(`${MANIFEST_FILE}: ${f.name} listed twice`);
    seen.add(f.name);
    if (typeof f.checksum !== "string" || !MD5_RE.test(f.checksum))
      throw new Error(`${MANIFEST_FILE}: ${f.name}: invalid checksum`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`${MANIFEST_FILE}: ${f.name}: invalid size`);
    if (f.stored_as !== storedAs(f.name)) throw new Error(`${MANIFEST_FILE}: ${f.name}: unexpected stored_as`);
  }
  return m;
}

/**
 * Restores an export into a NEW graph of the user `email` (a token is minted for the import
 * and revoked afterwards): create_graph, upload_graph_encrypt_keys with the exported keys
 * (the same password decrypts everything), then the ciphertexts through get_upload_urls + PUT
 * + update_files (≤ 20 per transaction). On failure the incomplete graph is deleted.
 * @returns {Promise<object>} a summary with `graph_id`
 */
export async function importGraph({ url, token, dir, email, name, concurrency = DEFAULT_CONCURRENCY, log = () => {} }) {
  const src = path.resolve(dir);
  const manifest = await readManifest(src);
  const keys = manifest.keys_file ? parseKeysEdn(await readFile(path.join(src, KEYS_FILE), "utf8")) : null;
  if (keys && manifest.public_key && keys["public-key"] !== manifest.public_key) {
    throw new Error(`${KEYS_FILE} does not match ${MANIFEST_FILE} (public key differs)`);
  }
  if (!keys && manifest.files.length)
    log("warning: the export has no keys.edn; the restored files will not be decryptable");
  const files = manifest.files;
  // Every body must be there, intact, before anything is created on the server.
  await pool(files, concurrency, async (f) => {
    let h;
    try {
      h = await hashFile(path.join(src, f.stored_as));
    } catch (e) {
      throw new Error(`${f.stored_as}: ${e.code === "ENOENT" ? "missing from the export" : e.message}`);
    }
    if (h.size !== f.size) throw new Error(`${f.stored_as}: ${h.size} bytes, the manifest says ${f.size}`);
    if (f.sha256 && h.sha256 !== f.sha256)
      throw new Error(`${f.stored_as}: content differs from the manifest (sha256)`);
  });
  const listed = new Set(files.map((f) => f.stored_as));
  const extra = (await readdir(src)).filter((n) => n.startsWith("e.") && !listed.has(n));
  if (extra.length) log(`warning: ${extra.length} e.* file(s) in ${src} are not in the manifest and are ignored`);

  const graphName = name ?? manifest.graph.name;
  const { admin, api, apiOk } = client(url, token, log);
  const minted = await admin("POST", "/admin/tokens", { email, label: `import of ${manifest.graph.id}` }).catch((e) => {
    if (e.status === 404)
      throw new Error(`no such user ${email}; create it first: npm run admin -- create-user ${email}`);
    throw e;
  });
  const userToken = minted.id_token;
  let graphId = null;
  let committed = 0;
  try {
    const existing = await apiOk(userToken, "list_graphs", null);
    if (existing.Graphs?.some((g) => g.GraphName === graphName)) {
      throw new Error(
        `${email} already has a graph named ${JSON.stringify(graphName)}; pass another name: import <dir> <email> "<new name>"`,
      );
    }
    graphId = await createGraph({ api, apiOk, userToken, graphName, log });
    log(`import: created graph ${graphId} (${JSON.stringify(graphName)}) for ${email}`);
    try {
      if (keys) await uploadKeys({ api, apiOk, userToken, graphId, keys, log });
      let txid = 0;
      for (let i = 0; i < files.length; i += COMMIT_BATCH) {
        const batch = files.slice(i, i + COMMIT_BATCH);
        const { Uploads: uploads } = await apiOk(userToken, "get_upload_urls", {
          GraphUUID: graphId,
          Count: batch.length,
        });
        if (!Array.isArray(uploads) || uploads.length !== batch.length)
          throw new Error("get_upload_urls returned the wrong number of URLs");
        await pool(batch, concurrency, (f, j) =>
          retrying(`upload ${f.name.slice(0, 20)}…`, log, () =>
            putFile(uploads[j].URL, path.join(src, f.stored_as), f.size),
          ),
        );
        txid = await commit({ api, apiOk, userToken, graphId, txid, batch, uploads, log });
        committed += batch.length;
        log(`import: ${committed}/${files.length} file(s) committed (txid ${txid})`);
      }
      await verifyImport({ apiOk, userToken, graphId, files, txid, keys });
      return {
        graph_id: graphId,
        name: graphName,
        email,
        files: files.length,
        bytes: files.reduce((a, f) => a + f.size, 0),
        txid,
        keys: Boolean(keys),
        source_graph: manifest.graph.id,
      };
    } catch (e) {
      let fate;
      try {
        await retrying("delete_graph", log, async () => {
          const r = await api(userToken, "delete_graph", { GraphUUID: graphId });
          if (r.status !== 200 && !(r.status === 404 && messageOf(r) === "graph-not-exist"))
            throw new HttpError("delete_graph", r.status, messageOf(r));
        });
        fate = `the incomplete graph ${graphId} was deleted`;
      } catch (d) {
        fate = `the incomplete graph ${graphId} could NOT be deleted (${d.message}); delete it in the app`;
      }
      throw new Error(`import failed after committing ${committed} of ${files.length} file(s): ${e.message}\n${fate}`);
    }
  } finally {
    await admin("POST", "/admin/tokens/revoke", { id: minted.id }).catch((e) =>
      log(`warning: could not revoke the import token ${minted.id}: ${e.message}`),
    );
  }
}

/** create_graph; after an ambiguous failure (5xx/transport) adopts the graph if it now exists. */
async function createGraph({ api, apiOk, userToken, graphName, log }) {
  let ambiguous = false;
  return retrying("create_graph", log, async () => {
    let r;
    try {
      r = await api(userToken, "create_graph", { GraphName: graphName });
    } catch (e) {
      ambiguous = true;
      throw e;
    }
    if (r.status === 200 && typeof r.json?.GraphUUID === "string") return r.json.GraphUUID;
    if (r.status >= 500) ambiguous = true;
    if (ambiguous && r.status === 400 && /already exists/.test(messageOf(r))) {
      const { Graphs } = await apiOk(userToken, "list_graphs", null);
      const g = Graphs?.find((x) => x.GraphName === graphName);
      if (g) return g.GraphUUID;
    }
    throw new HttpError("create_graph", r.status, messageOf(r));
  });
}

async function uploadKeys({ api, apiOk, userToken, graphId, keys, log }) {
  let ambiguous = false;
  await retrying("upload_graph_encrypt_keys", log, async () => {
    let r;
    try {
      r = await api(userToken, "upload_graph_encrypt_keys", { GraphUUID: graphId, ...keys });
    } catch (e) {
      ambiguous = true;
      throw e;
    }
    if (r.status === 200) return;
    if (r.status >= 500) ambiguous = true;
    if (ambiguous && r.status === 409) {
      const now = await apiOk(userToken, "get_graph_encrypt_keys", { GraphUUID: graphId });
      if (now["public-key"] === keys["public-key"] && now["encrypted-private-key"] === keys["encrypted-private-key"])
        return;
    }
    throw new HttpError("upload_graph_encrypt_keys", r.status, messageOf(r));
  });
}

/**
 * update_files for one batch at `txid`; returns the new txid. After an ambiguous failure
 * (5xx/transport) an error answer is checked against the graph: if the batch is there at
 * txid + 1, the earlier attempt did commit.
 */
async function commit({ api, apiOk, userToken, graphId, txid, batch, uploads, log }) {
  const body = {
    GraphUUID: graphId,
    TXId: txid,
    Files: Object.fromEntries(batch.map((f, j) => [f.name, [uploads[j].Key, f.checksum]])),
  };
  let ambiguous = false;
  return retrying("update_files", log, async () => {
    let r;
    try {
      r = await api(userToken, "update_files", body);
    } catch (e) {
      ambiguous = true;
      throw e;
    }
    if (r.status === 200 && Number.isSafeInteger(r.json?.TXId) && r.json.message == null) return r.json.TXId;
    if (r.status >= 500) ambiguous = true;
    if (ambiguous && r.status < 500) {
      const { TXId } = await apiOk(userToken, "get_txid", { GraphUUID: graphId });
      if (TXId === txid + 1) {
        const metas = await apiOk(userToken, "get_files_meta", { GraphUUID: graphId, Files: batch.map((f) => f.name) });
        const ok =
          Array.isArray(metas) &&
          batch.every((f, j) => metas[j]?.Checksum === f.checksum && metas[j]?.Txid === txid + 1);
        if (ok) return txid + 1;
      }
    }
    throw new HttpError("update_files", r.status, messageOf(r));
  });
}

/** The new graph lists exactly the exported files (names, checksums, sizes) and keys. */
async function verifyImport({ apiOk, userToken, graphId, files, txid, keys }) {
  const objects = [];
  let next;
  for (let page = 0; page < 10_000; page++) {
    const res = await apiOk(
      userToken,
      "get_all_files",
      next ? { GraphUUID: graphId, ContinuationToken: next } : { GraphUUID: graphId },
    );
    objects.push(...(res.Objects ?? []));
    next = res.NextContinuationToken;
    if (!next) break;
  }
  const byName = new Map(objects.map((o) => [String(o.Key).split("/").pop(), o]));
  const problems = [];
  if (byName.size !== files.length) problems.push(`${byName.size} file(s) listed, ${files.length} expected`);
  for (const f of files) {
    const o = byName.get(f.name);
    if (!o) problems.push(`${f.name} missing`);
    else if (o.checksum !== f.checksum || o.Size !== f.size)
      problems.push(`${f.name}: listed as ${o.checksum}/${o.Size} bytes`);
  }
  const { TXId } = await apiOk(userToken, "get_txid", { GraphUUID: graphId });
  if (TXId !== txid) problems.push(`txid is ${TXId}, expected ${txid}`);
  if (keys) {
    const k = await apiOk(userToken, "get_graph_encrypt_keys", { GraphUUID: graphId });
    if (k["public-key"] !== keys["public-key"] || k["encrypted-private-key"] !== keys["encrypted-private-key"])
      problems.push("keys differ");
  }
  if (problems.length) throw new Error(`verification of the restored graph failed: ${problems.slice(0, 5).join("; ")}`);
}
