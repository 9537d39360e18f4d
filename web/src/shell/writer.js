// The shell's side of writing (issue 18): binds the pure commit sequence (web/src/write/commit.js)
// to this browser's API client (api.js: same-origin JSON, ID token refreshed on 401) and to the
// crypto worker (the key never leaves it), and tells the open graph what was committed so the
// reader, the editor and the next edit see the new text at once, without downloading it again.
// Screens call `save`; they never call commit.js or the API for a write themselves.

import { call, download } from "./api.js";
import { crypto } from "../crypto/crypto.js";
import { commit, deleteFile } from "../write/commit.js";
import { formatOfPath } from "../write/blocks.js";
import { syncCalls } from "../write/syncapi.js";

const encoder = new TextEncoder();

/**
 * PUT to a presigned URL (R2 or this origin's /s3/) with upload progress: fetch() has none,
 * so XMLHttpRequest. No credentials, no referrer (the URL is the whole permission).
 */
export function putBytes(url, bytes, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", url);
    x.withCredentials = false;
    if (onProgress) x.upload.onprogress = (ev) => onProgress({ sent: ev.loaded, total: ev.total || bytes.length });
    x.onload = () =>
      x.status >= 200 && x.status < 300
        ? resolve()
        : reject(Object.assign(new Error(`upload failed: HTTP ${x.status}`), { status: x.status }));
    x.onerror = () => reject(Object.assign(new Error("upload failed: the connection was lost"), { status: 0 }));
    x.send(bytes);
  });
}

/** commit.js's `api` for one graph, over api.js (`call` throws ApiError with .status and the server's message). */
export function commitApi(graph, { onProgress } = {}) {
  const uuid = graph.uuid;
  const sent = new Map(); // presigned URL → ciphertext, so a committed body can be cached as is
  return {
    sent,
    ...syncCalls(call, uuid),
    put: async (url, bytes) => {
      await putBytes(url, bytes, onProgress);
      sent.set(url, bytes);
    },
    get: async (url) => new Uint8Array(await download(url)),
  };
}

/** commit.js's `crypto` for one graph: every operation runs in the crypto worker. */
export function commitCrypto(graph) {
  const uuid = graph.uuid;
  const bytesOf = (data) => (typeof data === "string" ? encoder.encode(data) : data);
  return {
    encryptName: async (path) => (await crypto.encryptNames(uuid, [path]))[0],
    encryptBody: (data) => crypto.encryptBody(uuid, bytesOf(data)),
    decryptBody: (bytes) => crypto.decryptBody(uuid, bytes),
    md5Hex: (data) => crypto.md5(bytesOf(data)),
  };
}

/**
 * What an edit of `path` starts from: the text as this browser has it, its checksum and the
 * graph txid it belongs to ({text: "", checksum: null} for a file that does not exist yet).
 */
export async function startEdit(graph, path) {
  const txid = graph.txid;
  const f = graph.byPath.get(path);
  if (!f) return { path, base: null, txid };
  return { path, base: { text: await graph.text(path), checksum: f.checksum }, txid };
}

/**
 * Commits `text` as the new content of `path`, never over a change it has not seen
 * (commit.js). `edit` is what `startEdit` gave (or a "needs-confirmation" result's
 * `{base: remote, txid}` after the person confirmed a merge), plus `upload` from a failed
 * attempt. Returns commit.js's result; when committed the graph already shows the new text and
 * `graph.lastCommit` is {path, before, after, txid} (what "undo last commit" reverts).
 */
export async function save(graph, { path, base, txid, text, upload = null, format }, { onProgress } = {}) {
  const api = commitApi(graph, { onProgress });
  const cc = commitCrypto(graph);
  const result = await commit({
    api,
    crypto: cc,
    path,
    base,
    text,
    txid,
    upload,
    format: format ?? formatOfPath(path),
  });
  if (result.status === "committed") {
    const name = await cc.encryptName(path);
    const [cipher] = [...api.sent.values()].slice(-1);
    await graph.committed({ path, name, checksum: result.checksum, txid: result.txid, size: cipher?.length, cipher });
    graph.lastCommit = { path, before: base?.text ?? null, after: text, txid: result.txid };
  }
  return result;
}

const isPage = (path) => /\.(md|org)$/i.test(path);

/**
 * Deletes `path` (a `delete_files` transaction) if the server still has the version with
 * `checksum` (the one the person saw when they chose to delete): commit.js `deleteFile`. When
 * deleted the graph no longer lists it and `graph.lastCommit` is {path, before, after: null,
 * txid} (before: its text, or bytes for an asset), so "undo" can bring it back.
 */
export async function remove(graph, { path, checksum, txid = graph.txid }) {
  const bytes = await graph.bytes(path);
  const before = isPage(path) ? new TextDecoder().decode(bytes) : bytes;
  const result = await deleteFile({ api: commitApi(graph), crypto: commitCrypto(graph), path, checksum, txid });
  if (result.status === "deleted") {
    graph.removed({ path, txid: result.txid });
    graph.lastCommit = { path, before, after: null, txid: result.txid };
  }
  return result;
}

/**
 * Reverts this browser's last commit (`graph.lastCommit`) with the same never-clobber rule:
 * a created file is deleted only if unchanged since, a deleted one is created again (merged
 * with whatever another device created there meanwhile), an edit is reverted by committing
 * the text before it on top of the text after it (a merge to confirm when the file changed
 * since). Returns commit.js's result (or deleteFile's for a created file); null when there is
 * nothing to undo.
 */
export async function undoLast(graph, { onProgress } = {}) {
  const last = graph.lastCommit;
  if (!last) return null;
  const { path, before, after } = last;
  if (before === null) {
    const checksum = await commitCrypto(graph).md5Hex(after);
    return remove(graph, { path, checksum });
  }
  const base = after === null ? null : { text: after };
  return save(graph, { path, base, txid: graph.txid, text: before }, { onProgress });
}
