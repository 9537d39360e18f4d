// Throwaway self-signed TLS certificate, generated at run time with node:crypto only.
//
// Node's crypto can make keys and signatures but not X.509 certificates, so this file
// contains a minimal DER encoder for exactly one certificate shape:
//   X.509 v3, ECDSA P-256 key, signed ecdsa-with-SHA256 by itself,
//   subject = issuer = CN=<commonName>, extensions: subjectAltName (DNS names and IP
//   addresses, wildcards allowed), basicConstraints CA:FALSE, keyUsage digitalSignature,
//   extKeyUsage serverAuth.
// rsapi (reqwest 0.11 + rustls 0.21, `danger_accept_invalid_certs(true)`) does not validate
// the chain or the names, but rustls still parses the certificate with webpki to check the
// handshake signature, so the certificate has to be well-formed v3 DER.
//
// Nothing here is ever written to disk; every test run makes a fresh key.

import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

// ---- DER primitives -------------------------------------------------------------

function derLength(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  while (n > 0) { bytes.unshift(n & 0xff); n >>>= 8; }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag-length-value with a one-byte tag. */
function tlv(tag, ...content) {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const seq = (...c) => tlv(0x30, ...c);
const set = (...c) => tlv(0x31, ...c);
const octetString = (b) => tlv(0x04, b);
const bitString = (b) => tlv(0x03, Buffer.from([0]), b); // no unused bits
const utf8String = (s) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const explicit = (n, ...c) => tlv(0xa0 | n, ...c); // [n] EXPLICIT, constructed

function integer(buf) {
  let b = Buffer.from(buf);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && b[i + 1] < 0x80) i++; // minimal encoding
  b = b.subarray(i);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]); // keep it positive
  return tlv(0x02, b);
}

function oid(dotted) {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d) {
  // UTCTime (YYMMDDHHMMSSZ) for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'; // 20240102030405Z
  const y = d.getUTCFullYear();
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(digits.slice(2), 'ascii'));
  return tlv(0x18, Buffer.from(digits, 'ascii'));
}

function ipBytes(ip) {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::"
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

// ---- certificate ----------------------------------------------------------------

const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_CN = '2.5.4.3';
const OID_SAN = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * Make a fresh self-signed certificate.
 * @param {object} [opts]
 * @param {string[]} [opts.hosts] DNS names (wildcards like `*.s3.amazonaws.com` allowed) and
 *   IP literals to put into subjectAltName.
 * @param {string} [opts.commonName]
 * @param {number} [opts.days] validity in days (starts one day in the past).
 * @returns {{ key: string, cert: string }} PEM strings for `tls.createSecureContext`.
 */
export function makeSelfSignedCert({
  hosts = ['api.logseq.com', 'api-dev.logseq.com', '*.s3.amazonaws.com', 'localhost', '127.0.0.1'],
  commonName = 'logseq-sync-test-proxy',
  days = 7,
} = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' }); // already a SubjectPublicKeyInfo

  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  serial[0] |= 0x01; // positive, non-zero, 16 bytes
  const now = Date.now();
  const notBefore = new Date(now - 24 * 3600 * 1000);
  const notAfter = new Date(now + days * 24 * 3600 * 1000);
  const name = seq(set(seq(oid(OID_CN), utf8String(commonName))));
  const sigAlg = seq(oid(OID_ECDSA_SHA256));

  const generalNames = hosts.map((h) =>
    isIP(h) ? tlv(0x87, ipBytes(h)) /* [7] iPAddress */ : tlv(0x82, Buffer.from(h, 'ascii')) /* [2] dNSName */);
  const extensions = seq(
    seq(oid(OID_BASIC_CONSTRAINTS), bool(true), octetString(seq())),
    seq(oid(OID_KEY_USAGE), bool(true), octetString(tlv(0x03, Buffer.from([0x07, 0x80])))), // digitalSignature
    seq(oid(OID_EXT_KEY_USAGE), octetString(seq(oid(OID_SERVER_AUTH)))),
    seq(oid(OID_SAN), octetString(seq(...generalNames))),
  );

  const tbs = seq(
    explicit(0, integer([2])), // v3
    integer(serial),
    sigAlg,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, sigAlg, bitString(signature));

  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  const cert = `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
  // Self-check: Node parses it and the self-signature verifies.
  const x509 = new X509Certificate(cert);
  if (!x509.verify(publicKey)) throw new Error('tls.mjs: generated certificate does not verify');
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' });
  return { key, cert };
}
