-- The byte path without an `uploads` row per stock upload (docs/ARCHITECTURE.md
-- "Uploads and the cleanup"). Adds columns only: no row is written.
--
-- txlog.blob_keys: the upload keys an update_files transaction committed, as a
-- JSON array. The scheduled sweep of orphaned uploads reads the recent
-- transactions of a user's graphs to tell committed objects from orphans
-- (NULL in rows written before this migration, which the sweep treats as
-- "cannot tell": it keeps the objects).
ALTER TABLE txlog ADD COLUMN blob_keys TEXT;

-- trash.deleted_at: when the object was deleted from R2 (ms). The row stays a
-- day longer as a tombstone, so a commit naming the key is refused even if it
-- read the object's head just before it was deleted.
ALTER TABLE trash ADD COLUMN deleted_at INTEGER;

-- Where the sweep of a user's uploads/<user>/ objects stopped when one run
-- could not list them all (R2 lists in key order); absent when the last pass
-- finished. One row written per run that stops early.
CREATE TABLE sweep_cursor (
  user_id    TEXT PRIMARY KEY,
  after_key  TEXT NOT NULL
) WITHOUT ROWID;
