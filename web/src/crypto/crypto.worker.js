// The crypto Web Worker: the only place the graph's secret key lives (docs/WEB.md). The page
// sends it the password once; it unwraps the key (age scrypt, with hash-wasm's WebAssembly
// scrypt: about 2.5x faster than plain JS at logN 20) and from then on only offers services:
// file names in and out (rsapi's deterministic name encryption), bodies in and out (age X25519),
// the MD5 the API wants. The key itself is never posted back to the page. With "remember on this
// device" it is kept in this origin's IndexedDB (database "logseq-web-keys"), by this worker.
//
// Messages: {id, op, args} → {id, ok: true, value} | {id, ok: false, error: {code, message}};
// while unlocking also {id, progress: {phase, logN}}. Formats: ../../../docs/WEB.md and
// PROTOCOL.md §5 (checked against rsapi 0.0.92, see docs/WEB.md "Crypto").

import { armor, Decrypter, identityToRecipient } from "age-encryption";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { base64nopad } from "@scure/base";
import { scrypt } from "hash-wasm";
import { createGraphCrypto, md5Hex } from "./graphcrypto.js";

/** The highest scrypt work factor a browser is asked to run (1 GiB of memory at 20). */
const MAX_LOG_N = 20;
const SCRYPT_LABEL = "age-encryption.org/v1/scrypt";

/** The unlocked graph: { graph, secret, recipient, crypto } or null (crypto: graphcrypto.js). */
let unlocked = null;

class CryptoError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * An age identity for the passphrase stanza, running scrypt in WebAssembly. It records what it
 * saw so a failed unwrap can be told apart: wrong password, work factor too high, no stanza.
 */
class WasmScryptIdentity {
  constructor(password, onStart) {
    this.password = password;
    this.onStart = onStart;
    this.sawScrypt = false;
  }

  async unwrapFileKey(stanzas) {
    for (const s of stanzas) {
      if (s.args[0] !== "scrypt") continue;
      if (stanzas.length !== 1) throw new CryptoError("bad-key", "the key file has more than one recipient");
      if (s.args.length !== 3 || !/^[1-9][0-9]*$/.test(s.args[2]))
        throw new CryptoError("bad-key", "invalid scrypt stanza");
      const salt = base64nopad.decode(s.args[1]);
      if (salt.length !== 16) throw new CryptoError("bad-key", "invalid scrypt stanza");
      const logN = Number(s.args[2]);
      if (logN > MAX_LOG_N) {
        throw new CryptoError(
          "too-costly",
          `This graph's key is protected with scrypt work factor ${logN} (needs ${2 ** (logN - 10)} MiB of memory): more than a browser can run. Open it in the desktop app.`,
        );
      }
      this.sawScrypt = true;
      this.onStart(logN);
      const labelAndSalt = new Uint8Array(SCRYPT_LABEL.length + 16);
      labelAndSalt.set(new TextEncoder().encode(SCRYPT_LABEL));
      labelAndSalt.set(salt, SCRYPT_LABEL.length);
      let key;
      try {
        key = await scrypt({
          password: this.password,
          salt: labelAndSalt,
          costFactor: 2 ** logN,
          blockSize: 8,
          parallelism: 1,
          hashLength: 32,
          outputType: "binary",
        });
      } catch (e) {
        if (e instanceof RangeError || /memory/i.test(String(e?.message))) {
          throw new CryptoError(
            "out-of-memory",
            `This device ran out of memory unwrapping the key (scrypt work factor ${logN} needs ${2 ** (logN - 10)} MiB). Close other tabs and try again, or use another device.`,
          );
        }
        throw e;
      }
      if (s.body.length !== 32) throw new CryptoError("bad-key", "invalid scrypt stanza body");
      try {
        return chacha20poly1305(key, new Uint8Array(12)).decrypt(s.body);
      } catch {
        return null; // wrong password
      }
    }
    return null;
  }
}

async function useSecret(graph, secret) {
  const recipient = await identityToRecipient(secret);
  let names;
  try {
    names = createGraphCrypto({ secretKey: secret, publicKey: recipient });
  } catch (e) {
    throw new CryptoError("bad-key", `not an age X25519 secret key: ${e.message}`);
  }
  unlocked = { graph, secret, recipient, crypto: names };
  return { recipient };
}

function need(graph) {
  if (!unlocked || (graph && unlocked.graph !== graph)) throw new CryptoError("locked", "the graph is locked");
  return unlocked;
}

// "Remember on this device": the secret key in this origin's IndexedDB, written only on opt-in.
function keyDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("logseq-web-keys", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("keys");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function keyStore(mode, fn) {
  const db = await keyDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction("keys", mode);
      const req = fn(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const ops = {
  async unlock({ graph, encryptedKey, password, remember }, progress) {
    unlocked = null;
    const identity = new WasmScryptIdentity(password, (logN) => progress({ phase: "scrypt", logN }));
    const d = new Decrypter();
    d.addIdentity(identity);
    let secret;
    try {
      secret = await d.decrypt(armor.decode(encryptedKey), "text");
    } catch (e) {
      if (e instanceof CryptoError) throw e;
      if (identity.sawScrypt) throw new CryptoError("wrong-password", "Wrong password for this graph.");
      throw new CryptoError("bad-key", `The graph's key could not be read: ${e.message}`);
    }
    // Logseq's own rule: only an AGE-SECRET-KEY counts as a successful unlock.
    if (!secret.startsWith("AGE-SECRET-KEY")) throw new CryptoError("bad-key", "The graph's key is not an age key.");
    const out = await useSecret(graph, secret.trim());
    if (remember) await keyStore("readwrite", (s) => s.put(unlocked.secret, graph));
    return out;
  },

  /** Unlocks from a remembered key, if this device has one for the graph. */
  async restore({ graph }) {
    const secret = await keyStore("readonly", (s) => s.get(graph));
    if (typeof secret !== "string") return null;
    return useSecret(graph, secret);
  },

  async forget({ graph }) {
    if (graph) await keyStore("readwrite", (s) => s.delete(graph));
    else await keyStore("readwrite", (s) => s.clear());
    if (!graph || unlocked?.graph === graph) unlocked = null;
    return true;
  },

  lock() {
    unlocked = null;
    return true;
  },

  /** Encrypted names ("e.<hex>") → [{name, path} | {name, error}], NFC paths. */
  decryptNames({ graph, names }) {
    const { crypto } = need(graph);
    return names.map((name) => {
      try {
        return { name, path: crypto.decryptName(name) };
      } catch (e) {
        return { name, error: e.message };
      }
    });
  },

  encryptNames({ graph, paths }) {
    const { crypto } = need(graph);
    return paths.map((p) => crypto.encryptName(p));
  },

  /** A body as stored (age binary, armored, or not encrypted at all: PROTOCOL.md §5.2) → plaintext bytes. */
  async decryptBody({ graph, bytes }) {
    const { crypto } = need(graph);
    try {
      return await crypto.decryptBody(new Uint8Array(bytes));
    } catch (e) {
      throw new CryptoError("bad-body", `could not decrypt: ${e.message}`);
    }
  },

  async encryptBody({ graph, bytes }) {
    const { crypto } = need(graph);
    return crypto.encryptBody(new Uint8Array(bytes));
  },

  md5({ bytes }) {
    return md5Hex(new Uint8Array(bytes));
  },
};

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data;
  try {
    const fn = ops[op];
    if (!fn) throw new CryptoError("bad-op", `unknown operation ${op}`);
    const value = await fn(args ?? {}, (p) => self.postMessage({ id, progress: p }));
    const transfer = value instanceof Uint8Array ? [value.buffer] : [];
    self.postMessage({ id, ok: true, value }, transfer);
  } catch (e) {
    self.postMessage({ id, ok: false, error: { code: e.code ?? "error", message: String(e.message ?? e) } });
  }
};
