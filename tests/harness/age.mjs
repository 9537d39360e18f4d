// The two ciphers the iOS plugin applies before anything leaves the phone, written from the
// specifications so the iOS test client can produce real encrypted bodies and names without
// the plugin's Swift (CFS ios/Plugin/FileSyncPlugin.swift maybeEncrypt, Extensions.swift
// fnameEncrypt). No library: node:crypto has X25519, HKDF and ChaCha20-Poly1305, and the
// npm age ports are ESM/wasm packages this repo would have to vendor; the format is 60 lines.
//
// * Bodies: age v1 (https://age-encryption.org/v1) to one X25519 recipient, binary (the plugin
//   passes armor: false), 64 KiB STREAM chunks.
// * Names: `e.` + hex(ChaCha20-Poly1305(raw X25519 secret key, zero nonce, NFC utf8 name)),
//   ciphertext then tag (Extensions.swift fnameEncrypt). The test checks that this equals
//   rsapi's encryptFnames, i.e. that iOS and desktop name a file identically.

import crypto from "node:crypto";

const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");
const CHUNK = 64 * 1024;

/** Decode a bech32 string (age keys) to { hrp, bytes }. Checksum verified. */
export function bech32Decode(str) {
  const s = str.toLowerCase();
  const pos = s.lastIndexOf("1");
  if (pos < 1) throw new Error("bech32: no separator");
  const hrp = s.slice(0, pos);
  const data = [...s.slice(pos + 1)].map((c) => {
    const v = BECH32.indexOf(c);
    if (v < 0) throw new Error(`bech32: bad character ${c}`);
    return v;
  });
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of [
    ...[...hrp].map((c) => c.charCodeAt(0) >> 5),
    0,
    ...[...hrp].map((c) => c.charCodeAt(0) & 31),
    ...data,
  ]) {
    const top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >> i) & 1) chk ^= GEN[i];
  }
  if (chk !== 1) throw new Error("bech32: bad checksum");
  let acc = 0;
  let bits = 0;
  const out = [];
  for (const v of data.slice(0, -6)) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return { hrp, bytes: Buffer.from(out) };
}

const b64 = (buf) => Buffer.from(buf).toString("base64").replace(/=+$/, "");
const hkdf = (ikm, salt, info) => Buffer.from(crypto.hkdfSync("sha256", ikm, salt, info, 32));

function seal(key, nonce, plain) {
  const c = crypto.createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

function x25519(secret32, public32) {
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_X25519, secret32]),
    format: "der",
    type: "pkcs8",
  });
  const publicKey = crypto.createPublicKey({
    key: Buffer.concat([SPKI_X25519, public32]),
    format: "der",
    type: "spki",
  });
  return crypto.diffieHellman({ privateKey, publicKey });
}

function x25519Public(secret32) {
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_X25519, secret32]),
    format: "der",
    type: "pkcs8",
  });
  return crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(SPKI_X25519.length);
}

/** age-encrypt `plain` (Buffer) to the `age1...` recipient; binary format. */
export function ageEncrypt(plain, recipient) {
  const { hrp, bytes: pub } = bech32Decode(recipient);
  if (hrp !== "age" || pub.length !== 32) throw new Error("not an age X25519 recipient");
  const fileKey = crypto.randomBytes(16);
  const eph = crypto.randomBytes(32);
  const share = x25519Public(eph);
  const wrapKey = hkdf(x25519(eph, pub), Buffer.concat([share, pub]), "age-encryption.org/v1/X25519");
  const body = seal(wrapKey, Buffer.alloc(12), fileKey);
  const header = `age-encryption.org/v1\n-> X25519 ${b64(share)}\n${b64(body)}\n---`;
  const mac = crypto
    .createHmac("sha256", hkdf(fileKey, Buffer.alloc(0), "header"))
    .update(header)
    .digest();
  const nonce = crypto.randomBytes(16);
  const payloadKey = hkdf(fileKey, nonce, "payload");
  const parts = [Buffer.from(`${header} ${b64(mac)}\n`), nonce];
  const count = Math.max(1, Math.ceil(plain.length / CHUNK));
  for (let i = 0; i < count; i++) {
    const n = Buffer.alloc(12);
    n.writeUIntBE(i, 5, 6); // 11-byte big-endian counter (fits in 6 bytes here)
    n[11] = i === count - 1 ? 1 : 0;
    parts.push(seal(payloadKey, n, plain.subarray(i * CHUNK, (i + 1) * CHUNK)));
  }
  return Buffer.concat(parts);
}

/** The raw 32-byte X25519 key of an `AGE-SECRET-KEY-1...` string (AgeEncryption.toRawX25519Key). */
export function rawSecretKey(secretKey) {
  const { hrp, bytes } = bech32Decode(secretKey);
  if (hrp !== "age-secret-key-" || bytes.length !== 32) throw new Error("not an age X25519 secret key");
  return bytes;
}

/** The plugin's fnameEncrypt: `e.` + hex(ciphertext || tag), zero nonce, NFC input. */
export function encryptFname(name, secretKey) {
  return (
    "e." + seal(rawSecretKey(secretKey), Buffer.alloc(12), Buffer.from(name.normalize("NFC"), "utf8")).toString("hex")
  );
}
