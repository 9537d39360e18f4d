// Bearer tokens for the e2e tests: HS256 JWTs signed with the worker's JWT_SECRET (env), as
// the worker verifies them (scripts/lib/jwt.mjs). `sub` is a UUIDv4 derived from the email.

import { randomUUID } from "node:crypto";
import { mintToken, userIdForEmail, signJwt } from "../../scripts/lib/jwt.mjs";

/** The worker's JWT secret (env JWT_SECRET); throws a clear error when it is not set. */
export function jwtSecret() {
  const s = process.env.JWT_SECRET;
  if (!s) throw new Error("JWT_SECRET is not set (the secret the worker under test verifies tokens with)");
  return s;
}

/** A fresh, never-seen email for this run, e.g. `alice-1b2c...@example.com`. */
export function uniqueEmail(name = "user") {
  return `${name}-${randomUUID()}@example.com`;
}

/** A valid long-lived bearer token for `email`. */
export function tokenFor(email, opts) {
  return mintToken(jwtSecret(), email, opts);
}

/** The user id (`sub`) the worker sees for `email`: the `<user>` of `<user>/<graph>/e.<hex>`. */
export function userIdFor(email) {
  return userIdForEmail(jwtSecret(), email);
}

/** An already-expired token for `email` (exp one hour ago). */
export function expiredTokenFor(email) {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(jwtSecret(), { sub: userIdFor(email), email, iat: now - 7200, exp: now - 3600 });
}

/**
 * A user for a test: `{ email, token, userId }`.
 * @param {string} [name] readable part of the generated email
 */
export function newUser(name = "user") {
  const email = uniqueEmail(name);
  return { email, token: tokenFor(email), userId: userIdFor(email) };
}
