-- Tokens the admin interface mints, and refresh tokens (docs/API.md "Admin").
-- An ID token minted here carries `jti` = the id of its row; revoking the row
-- revokes the token and every ID token refreshed from it. Refresh secrets are
-- stored as SHA-256 hashes only.
CREATE TABLE tokens (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,            -- hex SHA-256 of the refresh secret
  label       TEXT,
  created_at  INTEGER NOT NULL,         -- ms
  expires_at  INTEGER NOT NULL,         -- ms; the refresh token's own expiry
  revoked_at  INTEGER                   -- ms, NULL while valid
) WITHOUT ROWID;

CREATE INDEX tokens_by_user ON tokens (user_id);
