// The body cache: file bodies AS DOWNLOADED (ciphertext) in this origin's IndexedDB, database
// "logseq-web-cache", one record per graph and encrypted file name holding the checksum it was
// stored under. A body whose checksum still matches the file list is not downloaded again; a
// changed one replaces the record. Nothing plaintext is ever written here (docs/WEB.md).

import { idbStore } from "./idb.js";

const run = idbStore("logseq-web-cache", "bodies");

const key = (graph, name) => `${graph}/${name}`;

/** The cached ciphertext of (graph, name) if it was stored under this checksum, else null. */
export async function getBody(graph, name, checksum) {
  const rec = await run("readonly", (s) => s.get(key(graph, name)));
  return rec && rec.checksum === checksum ? rec.bytes : null;
}

export function putBody(graph, name, checksum, bytes) {
  return run("readwrite", (s) => s.put({ checksum, bytes }, key(graph, name)));
}

export function dropBody(graph, name) {
  return run("readwrite", (s) => s.delete(key(graph, name)));
}

/** Forgets every cached body of one graph (or of all graphs). */
export function clearCache(graph) {
  if (!graph) return run("readwrite", (s) => s.clear());
  return run("readwrite", (s) => s.delete(IDBKeyRange.bound(`${graph}/`, `${graph}/\uffff`)));
}
