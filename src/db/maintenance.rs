//! Deleting graphs and the scheduled cleanup: objects to delete are first
//! moved to `trash` in the same transaction that drops their last reference,
//! then deleted from R2 in pages. Nothing referenced is ever put in trash.

use serde::Deserialize;
use serde_json::json;

use super::Db;
use crate::error::ApiError;

/// ?1 graph id, ?2 user id, ?3 now. The graph leaves the client's view at once
/// (every API query asks for `deleted_at IS NULL`) and frees its name: `name`
/// becomes a placeholder starting with a control character, which
/// create_graph never accepts (migration 0006). Rows and objects stay until
/// the undelete period ends.
const DELETE_GRAPH: &str = "UPDATE graphs SET deleted_at = ?3, deleted_name = name, \
     name = char(1) || 'deleted ' || id WHERE id = ?1 AND user_id = ?2 AND deleted_at IS NULL";

/// ?1 cutoff (ms), ?2 now, ?3 limit. Uploads never committed.
const TRASH_STALE_UPLOADS: &str = "INSERT INTO trash (key, created_at) \
     SELECT key, ?2 FROM uploads WHERE created_at < ?1 LIMIT ?3 ON CONFLICT (key) DO NOTHING";
/// Drops the upload rows whose keys are now in trash. Once gone, a commit
/// naming them fails (update_files checks them inside its batch).
const DELETE_TRASHED_UPLOADS: &str = "DELETE FROM uploads WHERE key IN (SELECT key FROM trash)";
/// ?1 cutoff (ms), ?2 limit.
const LIST_EXPIRED_VERSIONS: &str =
    "SELECT graph_id, file_uuid, version_uuid, path, blob_key, size, to_txid FROM versions \
     WHERE created_at < ?1 LIMIT ?2";
/// ?1 JSON array of {"g","f","v","p","k","s","t"}, ?2 now, ?3 cutoff (ms).
/// Reference-aware: a restore points a current file at the object of one of
/// its versions, so an object is trashed only when neither the current file
/// at that path nor a version of the same file younger than the cutoff still
/// names it (both primary-key lookups; files and versions of one path are the
/// only rows that can share an object).
const TRASH_VERSIONS: &str =
    "INSERT INTO trash (key, created_at) SELECT json_extract(j.value, '$.k'), ?2 FROM json_each(?1) j \
     WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.graph_id = json_extract(j.value, '$.g') \
       AND f.path = json_extract(j.value, '$.p') AND f.blob_key = json_extract(j.value, '$.k')) \
     AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.graph_id = json_extract(j.value, '$.g') \
       AND v.file_uuid = json_extract(j.value, '$.f') AND v.blob_key = json_extract(j.value, '$.k') \
       AND v.created_at >= ?3) \
     ON CONFLICT (key) DO NOTHING";
/// ?1 as above: a restore can no longer go back before the transaction that
/// superseded a dropped version.
const RAISE_RESTORABLE_FROM: &str = "UPDATE graphs SET restorable_from = MAX(restorable_from, COALESCE(\
     (SELECT MAX(json_extract(value, '$.t')) FROM json_each(?1) WHERE json_extract(value, '$.g') = graphs.id), 0)) \
     WHERE id IN (SELECT json_extract(value, '$.g') FROM json_each(?1))";
/// ?1 as above.
const DELETE_VERSIONS: &str = "DELETE FROM versions WHERE (graph_id, file_uuid, version_uuid) IN \
     (SELECT json_extract(value, '$.g'), json_extract(value, '$.f'), json_extract(value, '$.v') FROM json_each(?1))";
/// ?1 as above: the graphs' usage shrinks by the expired versions' sizes.
const SHRINK_USAGE: &str = "UPDATE graphs SET storage_usage = MAX(0, storage_usage - \
     (SELECT COALESCE(SUM(json_extract(value, '$.s')), 0) FROM json_each(?1) WHERE json_extract(value, '$.g') = graphs.id)) \
     WHERE id IN (SELECT json_extract(value, '$.g') FROM json_each(?1))";
/// ?1 limit. Keys whose objects are still to be deleted.
const LIST_TRASH: &str =
    "SELECT key FROM trash WHERE deleted_at IS NULL ORDER BY created_at LIMIT ?1";
/// ?1 JSON array of keys, ?2 now: their objects are gone; the rows stay as
/// tombstones that commits check (db/files.rs).
const MARK_TRASH_DELETED: &str =
    "UPDATE trash SET deleted_at = ?2 WHERE key IN (SELECT value FROM json_each(?1))";
/// ?1 cutoff (ms), ?2 limit: tombstones old enough that no commit can still
/// be in flight with their key.
const FORGET_TOMBSTONES: &str = "DELETE FROM trash WHERE key IN \
     (SELECT key FROM trash WHERE deleted_at < ?1 LIMIT ?2)";

// ---- the sweep of orphaned uploads (cleanup.rs)

/// Every user, and where the last sweep of their objects stopped.
const LIST_SWEEP_USERS: &str = "SELECT u.id AS user_id, c.after_key FROM users u \
     LEFT JOIN sweep_cursor c ON c.user_id = u.id";
/// ?1 user id.
const LIST_USER_GRAPHS: &str = "SELECT id, txid FROM graphs WHERE user_id = ?1";
/// ?1 graph id, ?2 below this txid (exclusive), ?3 limit: the log newest first,
/// read by primary key.
const LIST_TX_NEWEST: &str = "SELECT txid, tx_type, created_at, blob_keys IS NULL AS legacy \
     FROM txlog WHERE graph_id = ?1 AND txid < ?2 ORDER BY txid DESC LIMIT ?3";
/// ?1 JSON array of candidate keys, ?2 now, ?3 user id, ?4 JSON array of
/// {"g": graph id, "t": lowest txid to look at}. Trashes the candidates that no
/// update_files transaction from those txids on committed, reading the log in
/// the same statement (graphs not listed, i.e. created meanwhile, are read
/// whole): a commit that lands first is seen, one that lands later finds the
/// key in trash and aborts.
const TRASH_ORPHANS: &str = "INSERT INTO trash (key, created_at) \
     SELECT c.value, ?2 FROM json_each(?1) c WHERE c.value NOT IN (\
       SELECT b.value FROM graphs g CROSS JOIN txlog t ON t.graph_id = g.id AND t.txid >= COALESCE(\
         (SELECT json_extract(s.value, '$.t') FROM json_each(?4) s WHERE json_extract(s.value, '$.g') = g.id), 0) \
       CROSS JOIN json_each(t.blob_keys) b WHERE g.user_id = ?3) \
     ON CONFLICT (key) DO NOTHING";
/// ?1 user id, ?2 key to continue after.
const SET_SWEEP_CURSOR: &str = "INSERT INTO sweep_cursor (user_id, after_key) VALUES (?1, ?2) \
     ON CONFLICT (user_id) DO UPDATE SET after_key = excluded.after_key";
/// ?1 user id.
const CLEAR_SWEEP_CURSOR: &str = "DELETE FROM sweep_cursor WHERE user_id = ?1";

#[derive(Debug, Deserialize)]
struct ExpiredVersion {
    graph_id: String,
    file_uuid: String,
    version_uuid: String,
    path: String,
    blob_key: String,
    size: i64,
    to_txid: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct KeyRow {
    key: String,
}

/// Deletes a graph for its owner: gone for the client at once, kept for
/// undelete (`db/history.rs`). Returns false when there was no such live graph
/// of this user. A batch of one, so that a failing D1 batch (fault
/// injection) fails it like every other write.
pub async fn delete_graph(
    db: &Db,
    graph_id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let results = db
        .batch(vec![db.stmt(
            DELETE_GRAPH,
            &[graph_id.into(), user_id.into(), now.into()],
        )?])
        .await?;
    Ok(results.first().map(super::changes).unwrap_or(0) == 1)
}

/// Moves up to `limit` uploads older than `cutoff` to trash; returns how many.
pub async fn trash_stale_uploads(
    db: &Db,
    cutoff: i64,
    now: i64,
    limit: i64,
) -> Result<usize, ApiError> {
    let results = db
        .batch(vec![
            db.stmt(
                TRASH_STALE_UPLOADS,
                &[cutoff.into(), now.into(), limit.into()],
            )?,
            db.stmt(DELETE_TRASHED_UPLOADS, &[])?,
        ])
        .await?;
    Ok(results.get(1).map(super::changes).unwrap_or(0))
}

/// Moves up to `limit` versions older than `cutoff` to trash; returns how many.
pub async fn trash_expired_versions(
    db: &Db,
    cutoff: i64,
    now: i64,
    limit: i64,
) -> Result<usize, ApiError> {
    let expired: Vec<ExpiredVersion> = db
        .all(LIST_EXPIRED_VERSIONS, &[cutoff.into(), limit.into()])
        .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let list = json!(expired
        .iter()
        .map(|v| json!({"g": v.graph_id, "f": v.file_uuid, "v": v.version_uuid, "p": v.path, "k": v.blob_key, "s": v.size, "t": v.to_txid}))
        .collect::<Vec<_>>())
    .to_string();
    db.batch(vec![
        db.stmt(TRASH_VERSIONS, &[(&list).into(), now.into(), cutoff.into()])?,
        db.stmt(DELETE_VERSIONS, &[(&list).into()])?,
        db.stmt(SHRINK_USAGE, &[(&list).into()])?,
        db.stmt(RAISE_RESTORABLE_FROM, &[(&list).into()])?,
    ])
    .await?;
    Ok(expired.len())
}

/// Up to `limit` keys waiting in trash.
pub async fn list_trash(db: &Db, limit: i64) -> Result<Vec<String>, ApiError> {
    let rows: Vec<KeyRow> = db.all(LIST_TRASH, &[limit.into()]).await?;
    Ok(rows.into_iter().map(|r| r.key).collect())
}

/// Marks trash keys whose objects were deleted (they stay as tombstones).
pub async fn mark_trash_deleted(db: &Db, keys: &[String], now: i64) -> Result<(), ApiError> {
    let list = json!(keys).to_string();
    db.run(MARK_TRASH_DELETED, &[(&list).into(), now.into()])
        .await?;
    Ok(())
}

/// Drops up to `limit` tombstones of objects deleted before `cutoff`.
pub async fn forget_tombstones(db: &Db, cutoff: i64, limit: i64) -> Result<usize, ApiError> {
    db.run(FORGET_TOMBSTONES, &[cutoff.into(), limit.into()])
        .await
}

#[derive(Debug, Deserialize)]
pub struct SweepUser {
    pub user_id: String,
    pub after_key: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GraphTxid {
    pub id: String,
    pub txid: i64,
}

#[derive(Debug, Deserialize)]
pub struct TxStamp {
    pub txid: i64,
    pub tx_type: String,
    pub created_at: i64,
    /// 1 when the row has no `blob_keys` (written before migration 0004).
    pub legacy: i64,
}

pub async fn list_sweep_users(db: &Db) -> Result<Vec<SweepUser>, ApiError> {
    db.all(LIST_SWEEP_USERS, &[]).await
}

pub async fn list_user_graphs(db: &Db, user_id: &str) -> Result<Vec<GraphTxid>, ApiError> {
    db.all(LIST_USER_GRAPHS, &[user_id.into()]).await
}

/// Up to `limit` transactions of a graph below `before`, newest first.
pub async fn list_tx_newest(
    db: &Db,
    graph_id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<TxStamp>, ApiError> {
    db.all(
        LIST_TX_NEWEST,
        &[graph_id.into(), before.into(), limit.into()],
    )
    .await
}

/// Trashes the `candidates` of `user_id` that no update_files transaction
/// from `from_txids` (graph id, txid) on committed; returns how many.
pub async fn trash_orphans(
    db: &Db,
    candidates: &[String],
    user_id: &str,
    from_txids: &[(String, i64)],
    now: i64,
) -> Result<usize, ApiError> {
    let list = json!(candidates).to_string();
    let from = json!(from_txids
        .iter()
        .map(|(g, t)| json!({"g": g, "t": t}))
        .collect::<Vec<_>>())
    .to_string();
    db.run(
        TRASH_ORPHANS,
        &[(&list).into(), now.into(), user_id.into(), (&from).into()],
    )
    .await
}

/// Remembers where the next run continues listing `user_id`'s objects, or
/// forgets it (`None`: the pass is complete).
pub async fn set_sweep_cursor(
    db: &Db,
    user_id: &str,
    after_key: Option<&str>,
) -> Result<(), ApiError> {
    match after_key {
        Some(key) => {
            db.run(SET_SWEEP_CURSOR, &[user_id.into(), key.into()])
                .await?
        }
        None => db.run(CLEAR_SWEEP_CURSOR, &[user_id.into()]).await?,
    };
    Ok(())
}
