// Edits not committed yet (issue 18 "Commit, never clobber", "Offline"): drafts (a page being
// edited) and queued commits (a save that could not reach the server). Each record is kept in
// memory, and — unless the person chose "this is not my device" at sign-in (api.js
// `persistent()`) — in this origin's IndexedDB database "logseq-web-edits" as age ciphertext
// to the graph's public key (the crypto worker encrypts and decrypts; the key never leaves it).
// The stored record shows only its graph, its kind, a random id and two times: the page's
// path, its text, its base and the upload key are inside the ciphertext. Reading it back
// needs the unlocked graph (its password or the remembered key), like every other body this
// browser keeps. docs/WEB.md "Writing from the browser" says why drafts are stored with the
// sign-in choice rather than the "remember the key" one.
//
// A record: {id, graph, kind: "draft"|"queued", path, base: {text, checksum}|null, txid,
//            text, upload, created, updated, error?}.

import { persistent } from "./api.js";
import { crypto } from "../crypto/crypto.js";
import { idbStore } from "./idb.js";

const memory = new Map(); // id → record (the plaintext, this tab only)
const listeners = new Set();
const run = idbStore("logseq-web-edits", "edits");

const range = (graph) => IDBKeyRange.bound(`${graph}/`, `${graph}/\uffff`);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function tell() {
  for (const fn of listeners) {
    try {
      fn();
    } catch {
      // a listener's failure is its own
    }
  }
}

/** Called after any change to the kept edits (the nav's pending count listens). */
export function onEditsChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function newId() {
  const b = new Uint8Array(9);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Keeps (or replaces) a record: in memory at once, then encrypted on disk when allowed. */
export async function keep(record) {
  const r = { ...record, updated: Date.now(), created: record.created ?? Date.now() };
  memory.set(r.id, r);
  if (!persistent()) {
    tell();
    return r;
  }
  const plain = encoder.encode(JSON.stringify(r));
  const cipher = await crypto.encryptBody(r.graph, plain);
  // A record dropped (or kept again) while it was being encrypted: the newer call writes.
  if (memory.get(r.id) !== r) return r;
  await run("readwrite", (s) =>
    s.put({ kind: r.kind, created: r.created, updated: r.updated, cipher }, `${r.graph}/${r.id}`),
  );
  tell();
  return r;
}

export async function drop(graph, id) {
  memory.delete(id);
  await run("readwrite", (s) => s.delete(`${graph}/${id}`));
  tell(); // after the delete: a listener that lists again must not find it on disk
}

/**
 * Every kept edit of a graph (this tab's and, when stored, other tabs' and earlier visits'),
 * newest first. Records that cannot be decrypted (another key) are left alone, not deleted.
 */
export async function list(graph) {
  const out = new Map();
  const stored = (await run("readonly", (s) => s.getAll(range(graph)))) ?? [];
  const keys = (await run("readonly", (s) => s.getAllKeys(range(graph)))) ?? [];
  for (let i = 0; i < stored.length; i++) {
    const id = String(keys[i]).slice(graph.length + 1);
    if (memory.has(id)) continue;
    try {
      const plain = await crypto.decryptBody(graph, stored[i].cipher);
      const r = JSON.parse(decoder.decode(plain));
      out.set(r.id, r);
    } catch {
      // not readable with this graph's key: not ours to show or delete
    }
  }
  for (const r of memory.values()) if (r.graph === graph) out.set(r.id, r);
  return [...out.values()].sort((a, b) => b.updated - a.updated);
}

/** Number of kept edits of a graph by kind, without decrypting anything. */
export async function counts(graph) {
  const c = { draft: 0, queued: 0 };
  const seen = new Set();
  const keys = (await run("readonly", (s) => s.getAllKeys(range(graph)))) ?? [];
  const stored = (await run("readonly", (s) => s.getAll(range(graph)))) ?? [];
  keys.forEach((k, i) => {
    const id = String(k).slice(graph.length + 1);
    seen.add(id);
    const kind = memory.get(id)?.kind ?? stored[i]?.kind;
    if (kind in c) c[kind]++;
  });
  for (const r of memory.values()) if (r.graph === graph && !seen.has(r.id) && r.kind in c) c[r.kind]++;
  return c;
}

/** Forgets every kept edit (sign out). */
export async function forgetAll() {
  memory.clear();
  await run("readwrite", (s) => s.clear());
  tell();
}
