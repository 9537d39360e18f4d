// HS256 tokens as the Worker verifies them (src/auth/jwt.rs): `sub` a UUIDv4
// derived from the email, so the same email is always the same user.

import { createHmac } from "node:crypto";

const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** The user id of an email under a secret: a UUIDv4-shaped HMAC. */
export function userIdForEmail(secret, email) {
  const h = createHmac("sha256", secret).update(`user:${email.trim().toLowerCase()}`).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Signs claims as an HS256 JWT. */
export function signJwt(secret, claims, header = { alg: "HS256", typ: "JWT" }) {
  const head = b64url(JSON.stringify(header));
  const body = b64url(JSON.stringify(claims));
  const sig = b64url(createHmac("sha256", secret).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

/** A long-lived token for an email (the client refreshes under 1 h left, PROTOCOL.md §3.3). */
export function mintToken(secret, email, { lifetimeSecs = 365 * 24 * 3600, now = Math.floor(Date.now() / 1000) } = {}) {
  return signJwt(secret, { sub: userIdForEmail(secret, email), email, iat: now, exp: now + lifetimeSecs });
}
