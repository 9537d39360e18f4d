-- Restore and undelete (docs/RESTORE.md). Adds columns only, plus one value per
-- graph.
--
-- graphs.deleted_at: when delete_graph ran (ms); NULL while the graph is live.
-- A deleted graph is invisible to the client (every query of the API asks for
-- deleted_at IS NULL) and kept, rows and objects, for UNDELETE_RETENTION_DAYS;
-- then the scheduled cleanup removes it in pages.
-- graphs.deleted_name: the name it had. On delete, `name` becomes a placeholder
-- that starts with a control character (create_graph refuses those), which
-- frees the name for a new graph under the UNIQUE (user_id, name) constraint.
ALTER TABLE graphs ADD COLUMN deleted_at INTEGER;
ALTER TABLE graphs ADD COLUMN deleted_name TEXT;

-- graphs.restorable_from: the oldest txid a restore can go back to. The
-- version expiry raises it to the txid that superseded each version it drops;
-- versions written before this migration have no txid range, so every graph
-- starts at its current txid.
ALTER TABLE graphs ADD COLUMN restorable_from INTEGER NOT NULL DEFAULT 0;
UPDATE graphs SET restorable_from = txid;

-- versions.from_txid / to_txid: the body was current after transaction
-- from_txid up to (not including) to_txid, the transaction that overwrote or
-- deleted it. NULL in rows written before this migration.
ALTER TABLE versions ADD COLUMN from_txid INTEGER;
ALTER TABLE versions ADD COLUMN to_txid INTEGER;

-- txlog.bytes: bytes an update_files transaction (or a restore) made current,
-- for the admin page's list of recent transactions. NULL for deletions and
-- for rows written before this migration.
ALTER TABLE txlog ADD COLUMN bytes INTEGER;
