-- Logseq-account sign-in and per-user revocation (docs/SECURITY.md "Revocation").
--
-- users.not_before: Unix seconds; every credential of the user issued before
-- it (an ID token whose `iat` is smaller, a refresh token created earlier) is
-- refused. `npm run admin -- revoke-all <email>` moves it. Read on the same
-- row read that authenticates each request.
ALTER TABLE users ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;

-- Logseq accounts (Cognito ID tokens) the owner allows, besides the ones in
-- the ALLOWED_LOGSEQ_ACCOUNTS var set at deploy. `account` is a lowercased
-- verified email or a Cognito `sub`.
CREATE TABLE allowed_accounts (
  account     TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL           -- ms epoch
) WITHOUT ROWID;

-- The Logseq user pool's signing keys as last fetched, shared by isolates so
-- a fresh isolate does not go to Cognito (src/jwks.rs).
CREATE TABLE jwks_cache (
  url         TEXT PRIMARY KEY,
  body        TEXT NOT NULL,
  fetched_at  INTEGER NOT NULL           -- ms epoch
) WITHOUT ROWID;
