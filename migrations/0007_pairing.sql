-- Device pairing (docs/API.md "Device pairing", docs/SECURITY.md "Device pairing").
--
-- A new browser starts a pairing and holds two secrets: a short code it shows
-- (the approval handle) and a long poll secret it never shows. Both are stored
-- as SHA-256 hashes only. An approval records the approving user; the next poll
-- with the poll secret claims the row once (consumed_at) and gets a new refresh
-- token. Rows past expires_at are deleted by the next start and by the
-- scheduled cleanup.
CREATE TABLE pairings (
  poll_hash    TEXT PRIMARY KEY,          -- hex SHA-256 of the poll secret
  code_hash    TEXT NOT NULL UNIQUE,      -- hex SHA-256 of the normalised code
  label        TEXT NOT NULL,             -- the browser's own description, cleaned
  created_at   INTEGER NOT NULL,          -- ms
  expires_at   INTEGER NOT NULL,          -- ms
  user_id      TEXT REFERENCES users(id) ON DELETE CASCADE, -- set by approval
  approved_at  INTEGER,                   -- ms
  consumed_at  INTEGER                    -- ms; the poll that took the token
) WITHOUT ROWID;

-- Fixed-window counters of the pairing rate limits: `scope` is `start`,
-- `wrong` (all users) or `wrong:<user id>`; `window_start` the window's first ms.
CREATE TABLE pairing_limits (
  scope        TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  count        INTEGER NOT NULL,
  PRIMARY KEY (scope, window_start)
) WITHOUT ROWID;
