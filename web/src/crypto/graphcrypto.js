// The graph's crypto as rsapi does it (WEB.md "Crypto", PROTOCOL.md §5), for commit.js
// and its tests: names are ChaCha20-Poly1305 under the clamped X25519 secret with a zero
// nonce, bodies are binary age to the graph's public key, checksums are MD5 of the plaintext.
// The one implementation: the crypto Web Worker (crypto.worker.js), which owns the key in the
// app, runs it, and the writing core's commit.js receives the object it returns.

import { Decrypter, Encrypter, armor } from "age-encryption";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { md5 } from "@noble/hashes/legacy.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { bech32 } from "@scure/base";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// A name that decrypts to invalid UTF-8 is an error, not a path with replacement characters.
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const ZERO_NONCE = new Uint8Array(12);
const AGE_BINARY = encoder.encode("age-encryption.org/v1\n");
const AGE_ARMOR = "-----BEGIN AGE ENCRYPTED FILE-----";

/**
 * The file-name key: the 32 bytes of `AGE-SECRET-KEY-1…`, clamped as x25519-dalek's
 * `StaticSecret` clamps them (RS lsq-encryption/src/lib.rs:95-103). rsapi's own keys are
 * already clamped; keys made elsewhere are not, and only the clamped form gives rsapi's names.
 * @param {string} secretKey
 */
export function nameKey(secretKey) {
  const { prefix, words } = bech32.decode(secretKey.toLowerCase(), 200);
  if (prefix !== "age-secret-key-") throw new Error("not an age secret key");
  const k = Uint8Array.from(bech32.fromWords(words));
  if (k.length !== 32) throw new Error("age secret key of the wrong length");
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  return k;
}

/** lowercase hex MD5 of the plaintext bytes (PROTOCOL.md §5.3). */
export function md5Hex(data) {
  return bytesToHex(md5(typeof data === "string" ? encoder.encode(data) : data));
}

const startsWith = (bytes, prefix) => prefix.every((b, i) => bytes[i] === b);

/**
 * @param {{secretKey: string, publicKey: string}} keys the graph's age key pair
 */
export function createGraphCrypto({ secretKey, publicKey }) {
  const key = nameKey(secretKey);
  return {
    /** `e.<hex>` of a graph-relative path (NFC first, as rsapi). */
    encryptName(path) {
      const sealed = chacha20poly1305(key, ZERO_NONCE).encrypt(encoder.encode(path.normalize("NFC")));
      return `e.${bytesToHex(sealed)}`;
    },
    /** The path of an `e.<hex>` name; throws for a name of another key. */
    decryptName(name) {
      if (!/^e\.([0-9a-f]{2}){17,}$/.test(name)) throw new Error("not an encrypted file name");
      const open = chacha20poly1305(key, ZERO_NONCE).decrypt(hexToBytes(name.slice(2)));
      return strictDecoder.decode(open).normalize("NFC");
    },
    /** Binary age (rsapi uploads armor=false). */
    async encryptBody(data) {
      const e = new Encrypter();
      e.addRecipient(publicKey);
      return e.encrypt(typeof data === "string" ? encoder.encode(data) : data);
    },
    /** Plain bytes of a downloaded body: binary or armored age, or not encrypted at all (§5.2). */
    async decryptBody(bytes) {
      const d = new Decrypter();
      d.addIdentity(secretKey);
      if (startsWith(bytes, AGE_BINARY)) return d.decrypt(bytes);
      const head = decoder.decode(bytes.subarray(0, AGE_ARMOR.length));
      if (head === AGE_ARMOR) return d.decrypt(armor.decode(decoder.decode(bytes)));
      return bytes;
    },
    md5Hex,
  };
}
