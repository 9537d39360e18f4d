// The DER primitives for building X.509 certificates with node:crypto (which
// makes keys and signatures but not certificates), for the connect proxy's local CA and its
// leaves. Hand-written, not @peculiar/x509 (which the tests use): `npm run connect` runs on the
// user's desktop with Node alone, no `npm ci` (362 MB of dev dependencies), and makeCa/makeLeaf
// stay synchronous.

export function derLength(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag-length-value with a one-byte tag. */
export function tlv(tag, ...content) {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

export const seq = (...c) => tlv(0x30, ...c);
export const set = (...c) => tlv(0x31, ...c);
export const octetString = (b) => tlv(0x04, b);
export const bitString = (b) => tlv(0x03, Buffer.from([0]), b); // no unused bits
export const utf8String = (s) => tlv(0x0c, Buffer.from(s, "utf8"));
export const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
export const explicit = (n, ...c) => tlv(0xa0 | n, ...c); // [n] EXPLICIT, constructed

/** A positive INTEGER from big-endian bytes, minimally encoded. */
export function integer(buf) {
  let b = Buffer.from(buf);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && b[i + 1] < 0x80) i++;
  b = b.subarray(i);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

export function oid(dotted) {
  const parts = dotted.split(".").map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
export function time(d) {
  const digits = d.toISOString().slice(0, 19).replace(/[-:T]/g, "") + "Z";
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050
    ? tlv(0x17, Buffer.from(digits.slice(2), "ascii"))
    : tlv(0x18, Buffer.from(digits, "ascii"));
}
