// Fixture helpers for sync tests: a local graph folder ("device"), its files, checksums, and
// the small bits of client logic the tests need (prefix stripping, batching, txid chaining).

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** The client's graph UUID check (LS util.cljc uuid-string?, PROTOCOL.md §3.2). */
export const CLIENT_UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-5][0-9a-f]{3}-[089ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The client's txid-conflict pattern (LS sync.cljs:1802-1819). */
export const TXID_CONFLICT_RE = /(\d+), txid_to_validate = (\d+)/;

/** Bucket compiled into rsapi for env "prod" (uploads go to `<bucket>.s3.amazonaws.com`). */
export const PROD_BUCKET = "logseq-file-sync-bucket-prod";

/** Batch sizes of the app: uploads/deletes per update_files (20), downloads per get_files (100). */
export const UPLOAD_BATCH = 20;
export const DOWNLOAD_BATCH = 100;

/** Lower-case hex MD5 of bytes or a UTF-8 string. */
export function md5(data) {
  return createHash("md5")
    .update(typeof data === "string" ? Buffer.from(data, "utf8") : data)
    .digest("hex");
}

/** Split `arr` into chunks of at most `n`. */
export function chunk(arr, n) {
  const out = [];
  for (let i = 0; i < arr.length; i += n) out.push(arr.slice(i, i + n));
  return out;
}

/**
 * The client's `remove-user-graph-uuid-prefix` (LS sync.cljs:336-344): drop a leading
 * `<a>/<b>/` iff the path has more than two `/`-parts and both a and b are 36 characters.
 */
export function stripUserGraphPrefix(key) {
  const parts = String(key).split("/");
  if (parts.length > 2 && parts[0].length === 36 && parts[1].length === 36) return parts.slice(2).join("/");
  return key;
}

/** A new empty directory under the OS temp dir (a "device"'s graph folder). */
export function makeDeviceDir(label = "device") {
  return mkdtemp(path.join(tmpdir(), `logseq-sync-${label}-`));
}

/** Remove directories made by makeDeviceDir (errors ignored). */
export async function removeDirs(dirs) {
  await Promise.all(dirs.filter(Boolean).map((d) => rm(d, { recursive: true, force: true }).catch(() => {})));
}

/**
 * Write files into `dir`, creating parent folders. Names are NFC-normalised first (the client
 * syncs NFC paths, PROTOCOL.md §10).
 * @param {string} dir
 * @param {Record<string, string|Buffer>} files relative `/`-paths -> content
 */
export async function writeFiles(dir, files) {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, ...rel.normalize("NFC").split("/"));
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
}

/** Read one file of a graph folder. */
export function readGraphFile(dir, rel) {
  return readFile(path.join(dir, ...rel.split("/")));
}

/**
 * Every synced file under `dir` (same skip rules as rsapi's local scan: paths starting with
 * `.` or containing `/.`, `logseq/bak/`, `logseq/version-files/`), as relative path -> bytes.
 * @returns {Promise<Map<string, Buffer>>}
 */
export async function readTree(dir) {
  const out = new Map();
  async function walk(relDir) {
    const entries = await readdir(path.join(dir, relDir), { withFileTypes: true });
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      if (rel.startsWith(".") || rel.includes("/.")) continue;
      if (rel.startsWith("logseq/bak/") || rel === "logseq/bak") continue;
      if (rel.startsWith("logseq/version-files/") || rel === "logseq/version-files") continue;
      if (e.isDirectory()) await walk(rel);
      else if (e.isFile()) out.set(rel, await readFile(path.join(dir, rel)));
    }
  }
  await walk("");
  return out;
}

/**
 * The standard test graph: pages in nested folders, a journal series (enough files for more
 * than one upload batch of 20), non-ASCII NFC names, logseq/config.edn and a ~300 KB binary
 * asset of random bytes.
 * @param {{journals?: number, assetBytes?: number}} [opts]
 * @returns {Record<string, string|Buffer>}
 */
export function fixtureGraph({ journals = 20, assetBytes = 300 * 1024 } = {}) {
  const files = {
    "pages/contents.md": "- Welcome to my notes\n- [[Café déjà vu]]\n- [[日本語]]\n",
    "pages/sub/deep/note.md": "- a page three folders deep\n",
    ["pages/Café déjà vu.md".normalize("NFC")]: "- accents: é à ü ñ\n",
    ["pages/日本語.md".normalize("NFC")]: "- 日本語のページ\n- emoji 📝\n",
    "logseq/config.edn": '{:meta/version 1\n :preferred-format :markdown\n :journal/page-title-format "yyyy-MM-dd"}\n',
    "assets/image.png": randomBytes(assetBytes),
  };
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < journals; i++) {
    const d = new Date(start + i * 86_400_000);
    const name = `${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}_${String(d.getUTCDate()).padStart(2, "0")}`;
    files[`journals/${name}.md`] = `- journal entry ${i}\n- TODO item ${i}\n`;
  }
  return files;
}

/**
 * Upload `relPaths` of `dir` the way the app does: chunks of ≤ `batch`, each
 * `updateRemoteFiles` call given the current local txid and returning the next one.
 * @param {typeof import('./rsapi.mjs')} rsapi
 * @returns {Promise<number[]>} the TXId returned by each call, in order
 */
export async function uploadInBatches(rsapi, graphUUID, dir, relPaths, txid, token, batch = UPLOAD_BATCH) {
  const txids = [];
  let current = txid;
  for (const part of chunk(relPaths, batch)) {
    current = await rsapi.updateRemoteFiles(graphUUID, dir, part, current, token);
    txids.push(current);
  }
  return txids;
}
