// One object store in this origin's IndexedDB, for the body cache (cache.js) and the kept edits
// (drafts.js): `run(mode, fn)` runs `fn(store)` in a transaction and resolves with its request's
// result once committed, or undefined when IndexedDB is refused (private windows may refuse it:
// then nothing is kept) or the transaction fails. Callers treat undefined as "not stored".

/** @param {string} name the database  @param {string} store its one object store */
export function idbStore(name, store) {
  let dbp = null;
  const db = () => {
    dbp ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(store);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }).catch(() => null);
    return dbp;
  };
  return async function run(mode, fn) {
    const d = await db();
    if (!d) return undefined;
    return new Promise((resolve) => {
      const tx = d.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => resolve(undefined);
      tx.onabort = () => resolve(undefined);
    });
  };
}
