// Throwaway self-signed TLS certificates for tests (a stand-in origin, a stand-in Cognito), made
// at run time with @peculiar/x509 over node:crypto's WebCrypto and never written to disk:
// X.509 v3, ECDSA P-256 signed ecdsa-with-SHA256 by itself, subjectAltName (DNS names and IP
// addresses), basicConstraints CA:FALSE, keyUsage digitalSignature, extKeyUsage serverAuth.

import "reflect-metadata"; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import { webcrypto, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto);

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/**
 * Make a fresh self-signed certificate.
 * @param {object} [opts]
 * @param {string[]} [opts.hosts] DNS names and IP literals to put into subjectAltName.
 * @param {string} [opts.commonName]
 * @param {number} [opts.days] validity in days (starts one day in the past).
 * @returns {Promise<{ key: string, cert: string }>} PEM strings for `tls.createSecureContext`.
 */
export async function makeSelfSignedCert({
  hosts = ["localhost", "127.0.0.1"],
  commonName = "logseq-sync-test",
  days = 7,
} = {}) {
  const keys = await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const now = Date.now();
  const serial = webcrypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] & 0x7f) | 0x01; // positive, non-zero, 16 bytes
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(serial).toString("hex"),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + days * 86_400_000),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) ? "ip" : "dns", value: h }))),
    ],
  });
  const pem = cert.toString("pem");
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n`;
  // Self-check: Node parses it and the self-signature verifies.
  const node = new X509Certificate(pem);
  if (!node.verify(node.publicKey)) throw new Error("tls.mjs: generated certificate does not verify");
  return { key, cert: pem };
}
