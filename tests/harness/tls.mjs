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

import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import {
  tlv,
  seq,
  set,
  octetString,
  bitString,
  utf8String,
  bool,
  explicit,
  integer,
  oid,
  time,
} from "../../scripts/lib/der.mjs";

function ipBytes(ip) {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  // IPv6: expand "::"
  const [head, tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(parseInt(g, 16), i * 2);
  return out;
}

// ---- certificate ----------------------------------------------------------------

const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const OID_CN = "2.5.4.3";
const OID_SAN = "2.5.29.17";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_KEY_USAGE = "2.5.29.15";
const OID_EXT_KEY_USAGE = "2.5.29.37";
const OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

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
  hosts = ["api.logseq.com", "api-dev.logseq.com", "*.s3.amazonaws.com", "localhost", "127.0.0.1"],
  commonName = "logseq-sync-test-proxy",
  days = 7,
} = {}) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" }); // already a SubjectPublicKeyInfo

  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  serial[0] |= 0x01; // positive, non-zero, 16 bytes
  const now = Date.now();
  const notBefore = new Date(now - 24 * 3600 * 1000);
  const notAfter = new Date(now + days * 24 * 3600 * 1000);
  const name = seq(set(seq(oid(OID_CN), utf8String(commonName))));
  const sigAlg = seq(oid(OID_ECDSA_SHA256));

  const generalNames = hosts.map(
    (h) => (isIP(h) ? tlv(0x87, ipBytes(h)) /* [7] iPAddress */ : tlv(0x82, Buffer.from(h, "ascii"))) /* [2] dNSName */,
  );
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
  const signature = sign("sha256", tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, sigAlg, bitString(signature));

  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  const cert = `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
  // Self-check: Node parses it and the self-signature verifies.
  const x509 = new X509Certificate(cert);
  if (!x509.verify(publicKey)) throw new Error("tls.mjs: generated certificate does not verify");
  const key = privateKey.export({ type: "pkcs8", format: "pem" });
  return { key, cert };
}
