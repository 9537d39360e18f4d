// The connect CA as an iOS configuration profile (.mobileconfig): one
// com.apple.security.root payload holding the CA certificate (Apple "Configuration Profile
// Reference", Certificates payload). iOS installs it from Safari (Settings > General > VPN &
// Device Management), after which Settings > General > About > Certificate Trust Settings must
// enable full trust for it. Written by hand: a plist with two dicts needs no library.

import { createHash, X509Certificate } from "node:crypto";

/** Text for a plist <string> (also the launchd agent's, connect-service.mjs). Hand-written: three replacements need no XML library. */
export const xml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A UUID (v4 layout) derived from `seed`, so the same CA always gives the same profile. */
function stableUuid(seed) {
  const h = createHash("sha256").update(seed).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`.toUpperCase();
}

/**
 * The profile for `ca` ({cert: PEM, commonName}).
 * @returns {string} the XML plist
 */
export function caMobileconfig(ca) {
  const x509 = new X509Certificate(ca.cert);
  const der = x509.raw.toString("base64").replace(/(.{64})/g, "$1\n");
  const fp = x509.fingerprint256.replace(/:/g, "").toLowerCase();
  const name = ca.commonName || "Logseq Sync connect CA";
  const id = `org.logseq-sync-worker.connect.${fp.slice(0, 16)}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadCertificateFileName</key>
      <string>logseq-sync-connect-ca.cer</string>
      <key>PayloadContent</key>
      <data>
${der}
      </data>
      <key>PayloadDescription</key>
      <string>Lets the Logseq app sync with your own server through npm run connect. Can only vouch for the Logseq Sync hosts (name constraints).</string>
      <key>PayloadDisplayName</key>
      <string>${xml(name)}</string>
      <key>PayloadIdentifier</key>
      <string>${id}.ca</string>
      <key>PayloadType</key>
      <string>com.apple.security.root</string>
      <key>PayloadUUID</key>
      <string>${stableUuid(`${fp}/ca`)}</string>
      <key>PayloadVersion</key>
      <integer>1</integer>
    </dict>
  </array>
  <key>PayloadDescription</key>
  <string>The certificate authority of your Logseq Sync connect proxy (SHA-256 ${fp}).</string>
  <key>PayloadDisplayName</key>
  <string>${xml(name)}</string>
  <key>PayloadIdentifier</key>
  <string>${id}</string>
  <key>PayloadRemovalDisallowed</key>
  <false/>
  <key>PayloadType</key>
  <string>Configuration</string>
  <key>PayloadUUID</key>
  <string>${stableUuid(`${fp}/profile`)}</string>
  <key>PayloadVersion</key>
  <integer>1</integer>
</dict>
</plist>
`;
}
