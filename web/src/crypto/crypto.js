// The page's narrow interface to the crypto worker (crypto.worker.js), which owns the graph key:
// the page can ask it to unlock, and to turn names and bodies into plaintext and back, but it
// never receives the key. Errors come back as Error objects with .code (wrong-password,
// too-costly, out-of-memory, bad-key, bad-body, locked) and a message meant for a person.

let worker = null;
let next = 1;
const pending = new Map();

function start() {
  if (worker) return worker;
  worker = new Worker(new URL("./crypto.worker.js", import.meta.url), { type: "module", name: "crypto" });
  worker.onmessage = (ev) => {
    const { id, ok, value, error, progress } = ev.data;
    const p = pending.get(id);
    if (!p) return;
    if (progress) return p.onProgress?.(progress);
    pending.delete(id);
    if (ok) p.resolve(value);
    else p.reject(Object.assign(new Error(error.message), { code: error.code, userMessage: error.message }));
  };
  worker.onerror = (ev) => {
    const err = Object.assign(new Error(`the crypto worker failed: ${ev.message ?? "unknown error"}`), {
      code: "worker",
    });
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  return worker;
}

function call(op, args, { transfer = [], onProgress } = {}) {
  const w = start();
  const id = next++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    w.postMessage({ id, op, args }, transfer);
  });
}

export const crypto = {
  /** Unwraps the graph key with the password; onProgress({phase:"scrypt", logN}) when scrypt starts. */
  unlock: (graph, encryptedKey, password, remember, onProgress) =>
    call("unlock", { graph, encryptedKey, password, remember }, { onProgress }),
  /** Unlocks from a key remembered on this device; resolves null if there is none. */
  restore: (graph) => call("restore", { graph }),
  forget: (graph) => call("forget", { graph }),
  lock: () => call("lock"),
  decryptNames: (graph, names) => call("decryptNames", { graph, names }),
  encryptNames: (graph, paths) => call("encryptNames", { graph, paths }),
  /** Ciphertext (ArrayBuffer, not transferred: the caller may cache it) → plaintext Uint8Array. */
  decryptBody: (graph, bytes) => call("decryptBody", { graph, bytes }),
  encryptBody: (graph, bytes) => call("encryptBody", { graph, bytes }),
  md5: (bytes) => call("md5", { bytes }),
};
