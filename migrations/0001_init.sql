-- The data model of the sync server (docs/ARCHITECTURE.md "D1 schema").
-- D1 enforces foreign keys; ON DELETE CASCADE makes delete_graph one statement,
-- and the foreign key from txlog to graphs makes every commit batch abort when
-- its graph was deleted meanwhile.
-- Composite text keys are WITHOUT ROWID: one row written per insert instead of
-- a table row plus an index entry (ARCHITECTURE.md §D6).

CREATE TABLE users (
  id          TEXT PRIMARY KEY,            -- JWT `sub`, a UUID
  email       TEXT,
  created_at  INTEGER NOT NULL             -- ms epoch
);

CREATE TABLE graphs (
  id             TEXT PRIMARY KEY,         -- GraphUUID (UUIDv4)
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  txid           INTEGER NOT NULL DEFAULT 0,   -- NOT NULL: the compare-and-increment relies on it
  storage_usage  INTEGER NOT NULL DEFAULT 0,   -- bytes of current files and kept versions
  created_at     INTEGER NOT NULL,
  UNIQUE (user_id, name)
);

CREATE TABLE graph_keys (
  graph_id               TEXT PRIMARY KEY REFERENCES graphs(id) ON DELETE CASCADE,
  public_key             TEXT NOT NULL,
  encrypted_private_key  TEXT NOT NULL,
  created_at             INTEGER NOT NULL
);

CREATE TABLE graph_salts (
  graph_id    TEXT PRIMARY KEY REFERENCES graphs(id) ON DELETE CASCADE,
  value       TEXT NOT NULL,
  expired_at  INTEGER NOT NULL             -- ms epoch
);

-- Current files. `path` is the client's encrypted name (e.<hex>).
CREATE TABLE files (
  graph_id       TEXT NOT NULL REFERENCES graphs(id) ON DELETE CASCADE,
  path           TEXT NOT NULL,
  blob_key       TEXT NOT NULL,            -- R2 object holding the encrypted body
  checksum       TEXT NOT NULL,            -- client's MD5 of the plaintext, verbatim
  size           INTEGER NOT NULL,         -- bytes of the stored object
  last_modified  INTEGER NOT NULL,         -- ms epoch of the commit
  txid           INTEGER NOT NULL,         -- transaction that last wrote it
  PRIMARY KEY (graph_id, path)
) WITHOUT ROWID;

-- Previous bodies of overwritten or deleted files (page history).
CREATE TABLE versions (
  graph_id      TEXT NOT NULL REFERENCES graphs(id) ON DELETE CASCADE,
  file_uuid     TEXT NOT NULL,             -- derived from (graph, path)
  version_uuid  TEXT NOT NULL,
  path          TEXT NOT NULL,
  blob_key      TEXT NOT NULL,
  checksum      TEXT NOT NULL,
  size          INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,          -- ms epoch when it stopped being current
  PRIMARY KEY (graph_id, file_uuid, version_uuid)
) WITHOUT ROWID;

-- One row per transaction; `content` is the TXContent JSON array of
-- [to, from, checksum] tuples (PROTOCOL.md §6.13). The deletion log is the
-- delete_files rows of this table.
CREATE TABLE txlog (
  graph_id    TEXT NOT NULL REFERENCES graphs(id) ON DELETE CASCADE,
  txid        INTEGER NOT NULL,
  tx_type     TEXT NOT NULL,               -- update_files | delete_files
  content     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,            -- ms epoch
  PRIMARY KEY (graph_id, txid)
) WITHOUT ROWID;

-- Uploaded (or presigned) objects not yet committed by update_files.
CREATE TABLE uploads (
  key         TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL,
  size        INTEGER,                     -- NULL until known (presigned PUT straight to R2)
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Objects to delete from R2 (deleted graphs, expired versions), drained by
-- the scheduled handler and opportunistically after delete_graph.
CREATE TABLE trash (
  key         TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
