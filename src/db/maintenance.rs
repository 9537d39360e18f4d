//! Deleting graphs and the scheduled cleanup: objects to delete are first
//! moved to `trash` in the same transaction that drops their last reference,
//! then deleted from R2 in pages. Nothing referenced is ever put in trash.

use serde::Deserialize;
use serde_json::json;

use super::Db;
use crate::error::ApiError;

/// ?1 graph id, ?2 now.
const TRASH_GRAPH_FILES: &str =
    "INSERT INTO trash (key, created_at) SELECT blob_key, ?2 FROM files WHERE graph_id = ?1 \
     ON CONFLICT (key) DO NOTHING";
/// ?1 graph id, ?2 now.
const TRASH_GRAPH_VERSIONS: &str =
    "INSERT INTO trash (key, created_at) SELECT blob_key, ?2 FROM versions WHERE graph_id = ?1 \
     ON CONFLICT (key) DO NOTHING";
/// ?1 graph id, ?2 user id. Cascades to keys, salt, files, versions, txlog.
const DELETE_GRAPH: &str = "DELETE FROM graphs WHERE id = ?1 AND user_id = ?2";

/// ?1 cutoff (ms), ?2 now, ?3 limit. Uploads never committed.
const TRASH_STALE_UPLOADS: &str = "INSERT INTO trash (key, created_at) \
     SELECT key, ?2 FROM uploads WHERE created_at < ?1 LIMIT ?3 ON CONFLICT (key) DO NOTHING";
/// Drops the upload rows whose keys are now in trash. Once gone, a commit
/// naming them fails (update_files checks them inside its batch).
const DELETE_TRASHED_UPLOADS: &str = "DELETE FROM uploads WHERE key IN (SELECT key FROM trash)";
/// ?1 cutoff (ms), ?2 limit.
const LIST_EXPIRED_VERSIONS: &str =
    "SELECT graph_id, file_uuid, version_uuid, blob_key, size FROM versions \
     WHERE created_at < ?1 LIMIT ?2";
/// ?1 JSON array of {"g","f","v","k","s"}, ?2 now.
const TRASH_VERSIONS: &str =
    "INSERT INTO trash (key, created_at) SELECT json_extract(value, '$.k'), ?2 FROM json_each(?1) \
     WHERE true ON CONFLICT (key) DO NOTHING";
/// ?1 as above.
const DELETE_VERSIONS: &str = "DELETE FROM versions WHERE (graph_id, file_uuid, version_uuid) IN \
     (SELECT json_extract(value, '$.g'), json_extract(value, '$.f'), json_extract(value, '$.v') FROM json_each(?1))";
/// ?1 as above: the graphs' usage shrinks by the expired versions' sizes.
const SHRINK_USAGE: &str = "UPDATE graphs SET storage_usage = MAX(0, storage_usage - \
     (SELECT COALESCE(SUM(json_extract(value, '$.s')), 0) FROM json_each(?1) WHERE json_extract(value, '$.g') = graphs.id)) \
     WHERE id IN (SELECT json_extract(value, '$.g') FROM json_each(?1))";
/// ?1 limit.
const LIST_TRASH: &str = "SELECT key FROM trash ORDER BY created_at LIMIT ?1";
/// ?1 JSON array of keys.
const DELETE_TRASH: &str = "DELETE FROM trash WHERE key IN (SELECT value FROM json_each(?1))";

#[derive(Debug, Deserialize)]
struct ExpiredVersion {
    graph_id: String,
    file_uuid: String,
    version_uuid: String,
    blob_key: String,
    size: i64,
}

#[derive(Debug, Deserialize)]
struct KeyRow {
    key: String,
}

/// Deletes a graph and everything under it in one transaction; its objects
/// go to trash. Returns false when there was no such graph of this user.
pub async fn delete_graph(
    db: &Db,
    graph_id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let results = db
        .batch(vec![
            db.stmt(TRASH_GRAPH_FILES, &[graph_id.into(), now.into()])?,
            db.stmt(TRASH_GRAPH_VERSIONS, &[graph_id.into(), now.into()])?,
            db.stmt(DELETE_GRAPH, &[graph_id.into(), user_id.into()])?,
        ])
        .await?;
    // D1 counts the rows ON DELETE CASCADE removed too: any change means deleted.
    Ok(results.get(2).map(super::changes).unwrap_or(0) >= 1)
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
        .map(|v| json!({"g": v.graph_id, "f": v.file_uuid, "v": v.version_uuid, "k": v.blob_key, "s": v.size}))
        .collect::<Vec<_>>())
    .to_string();
    db.batch(vec![
        db.stmt(TRASH_VERSIONS, &[(&list).into(), now.into()])?,
        db.stmt(DELETE_VERSIONS, &[(&list).into()])?,
        db.stmt(SHRINK_USAGE, &[(&list).into()])?,
    ])
    .await?;
    Ok(expired.len())
}

/// Up to `limit` keys waiting in trash.
pub async fn list_trash(db: &Db, limit: i64) -> Result<Vec<String>, ApiError> {
    let rows: Vec<KeyRow> = db.all(LIST_TRASH, &[limit.into()]).await?;
    Ok(rows.into_iter().map(|r| r.key).collect())
}

/// Forgets trash keys whose objects were deleted.
pub async fn forget_trash(db: &Db, keys: &[String]) -> Result<(), ApiError> {
    let list = json!(keys).to_string();
    db.run(DELETE_TRASH, &[(&list).into()]).await?;
    Ok(())
}
