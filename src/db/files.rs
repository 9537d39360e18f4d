//! Files, versions, pending uploads and the transaction log.
//!
//! Lists of keys travel as one JSON array parameter read with `json_each`
//! (one statement, however many files; ARCHITECTURE.md §D6), joined against the
//! primary key so reads stay proportional to what is asked for. The joins
//! are `CROSS JOIN`, which in SQLite fixes the loop order: json_each outside,
//! a primary-key lookup inside; left to itself the planner may scan the
//! graph's rows once per listed name.

use serde::Deserialize;
use serde_json::json;
use worker::D1PreparedStatement;

use super::{Arg, Db};
use crate::error::ApiError;

#[derive(Debug, Clone, Deserialize)]
pub struct FileRow {
    pub path: String,
    pub blob_key: String,
    pub checksum: String,
    pub size: i64,
    pub last_modified: i64,
    pub txid: i64,
}

#[derive(Debug, Deserialize)]
pub struct TxRow {
    pub txid: i64,
    pub tx_type: String,
    pub content: String,
    pub created_at: i64,
}

#[derive(Debug, Deserialize)]
pub struct VersionRow {
    pub file_uuid: String,
    pub version_uuid: String,
    pub created_at: i64,
}

#[derive(Debug, Deserialize)]
pub struct VersionBlobRow {
    pub file_uuid: String,
    pub version_uuid: String,
    pub blob_key: String,
}

const FILE_COLUMNS: &str = "f.path, f.blob_key, f.checksum, f.size, f.last_modified, f.txid";

/// ?1 graph id, ?2 exclusive start path ('' for the first page), ?3 limit.
fn list_files_page_sql() -> String {
    format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.graph_id = ?1 AND f.path > ?2 ORDER BY f.path LIMIT ?3")
}

/// ?1 graph id, ?2 JSON array of paths.
fn find_files_sql() -> String {
    format!(
        "SELECT {FILE_COLUMNS} FROM json_each(?2) j CROSS JOIN files f ON f.graph_id = ?1 AND f.path = j.value"
    )
}

/// ?1 graph id, ?2 from txid (exclusive), ?3 limit.
const LIST_TX_AFTER: &str = "SELECT txid, tx_type, content, created_at FROM txlog \
     WHERE graph_id = ?1 AND txid > ?2 ORDER BY txid LIMIT ?3";
/// ?1 graph id, ?2 from txid (exclusive), ?3 limit.
const LIST_DELETIONS_AFTER: &str = "SELECT txid, tx_type, content, created_at FROM txlog \
     WHERE graph_id = ?1 AND txid > ?2 AND tx_type = 'delete_files' ORDER BY txid LIMIT ?3";
/// ?1 graph id, ?2 file uuid.
const LIST_VERSIONS: &str = "SELECT file_uuid, version_uuid, created_at FROM versions \
     WHERE graph_id = ?1 AND file_uuid = ?2 ORDER BY created_at DESC, version_uuid LIMIT 1000";
/// ?1 graph id, ?2 JSON array of {"f": file uuid, "v": version uuid}.
const FIND_VERSION_BLOBS: &str =
    "SELECT v.file_uuid, v.version_uuid, v.blob_key FROM json_each(?2) j \
     CROSS JOIN versions v ON v.graph_id = ?1 AND v.file_uuid = json_extract(j.value, '$.f') \
     AND v.version_uuid = json_extract(j.value, '$.v')";
/// ?1 JSON array of {"k": key, "u": user id}, ?2 now.
const INSERT_PENDING_UPLOADS: &str = "INSERT INTO uploads (key, user_id, size, created_at) \
     SELECT json_extract(j.value, '$.k'), json_extract(j.value, '$.u'), NULL, ?2 FROM json_each(?1) j";

// ---- commit statements (always inside one batch, after COMPARE_AND_INCREMENT)

/// ?1 graph id, ?2 expected txid, ?3 storage delta. Sets txid to NULL on a
/// stale txid or a deleted graph (kept for undelete, migration 0006), which the
/// NOT NULL constraint turns into an abort of the whole batch (ARCHITECTURE.md §D3).
const COMPARE_AND_INCREMENT: &str =
    "UPDATE graphs SET txid = CASE WHEN txid = ?2 AND deleted_at IS NULL THEN ?2 + 1 ELSE NULL END, \
     storage_usage = storage_usage + ?3 WHERE id = ?1";
/// Commits of a graph a new commit looks back through for its upload keys
/// (the SQL spells it as a literal; the test below pins the two equal).
#[cfg(test)]
pub const REUSE_WINDOW: i64 = 100;
/// As above, and ?4 JSON array of upload keys, ?5 the oldest upload's R2 time
/// minus a clock margin (ms). The commit also aborts when
/// * any key is in trash (put there by the cleanup, still there as a
///   tombstone for a day after its object was deleted). The cleanup's own
///   insert into trash re-reads the commits in the same statement, so the two
///   are ordered by D1: either the commit is seen and its objects kept, or the
///   keys are in trash first and the commit aborts;
/// * any key was committed already: a key can only have been committed after
///   its upload, so the graph's last [`REUSE_WINDOW`] (100) transactions are
///   enough when the upload is younger than the oldest of them (else, 100
///   commits since the upload, the commit is refused: upload again). By
///   primary key, at most 100 rows read.
///   Rows from before migration 0004 (no `blob_keys`) made after the upload
///   refuse too.
const COMPARE_AND_INCREMENT_FOR_UPLOADS: &str = "UPDATE graphs SET txid = CASE WHEN txid = ?2 AND deleted_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM json_each(?4) j CROSS JOIN trash t ON t.key = j.value) \
     AND NOT EXISTS (SELECT 1 FROM txlog t CROSS JOIN json_each(t.blob_keys) b \
       WHERE t.graph_id = ?1 AND t.txid > ?2 - 100 AND b.value IN (SELECT value FROM json_each(?4))) \
     AND NOT EXISTS (SELECT 1 FROM txlog t WHERE t.graph_id = ?1 AND t.txid > ?2 - 100 \
       AND t.tx_type = 'update_files' AND t.blob_keys IS NULL AND t.created_at >= ?5) \
     AND ?5 >= COALESCE((SELECT created_at FROM txlog WHERE graph_id = ?1 AND txid = ?2 - 99), 0) \
     THEN ?2 + 1 ELSE NULL END, storage_usage = storage_usage + ?3 WHERE id = ?1";
/// ?1 graph id, ?2 JSON array of {"p": path, "f": file uuid, "v": new version uuid}, ?3 now,
/// ?4 the new txid. Keeps the current body of each listed path that exists as a
/// version, with the range of transactions it was current in (migration 0006).
const KEEP_VERSIONS: &str = "INSERT INTO versions (graph_id, file_uuid, version_uuid, path, blob_key, checksum, size, created_at, from_txid, to_txid) \
     SELECT f.graph_id, json_extract(j.value, '$.f'), json_extract(j.value, '$.v'), f.path, f.blob_key, f.checksum, f.size, ?3, f.txid, ?4 \
     FROM json_each(?2) j CROSS JOIN files f ON f.graph_id = ?1 AND f.path = json_extract(j.value, '$.p')";
/// ?1 graph id, ?2 JSON array of {"p","k","c","s"}, ?3 now, ?4 new txid.
pub(crate) const UPSERT_FILES: &str = "INSERT INTO files (graph_id, path, blob_key, checksum, size, last_modified, txid) \
     SELECT ?1, json_extract(j.value, '$.p'), json_extract(j.value, '$.k'), json_extract(j.value, '$.c'), \
     json_extract(j.value, '$.s'), ?3, ?4 FROM json_each(?2) j WHERE true \
     ON CONFLICT (graph_id, path) DO UPDATE SET blob_key = excluded.blob_key, checksum = excluded.checksum, \
     size = excluded.size, last_modified = excluded.last_modified, txid = excluded.txid";
/// ?1 graph id, ?2 JSON array of paths.
pub(crate) const DELETE_FILES: &str =
    "DELETE FROM files WHERE graph_id = ?1 AND path IN (SELECT value FROM json_each(?2))";
/// ?1 graph id, ?2 from path, ?3 to path, ?4 now, ?5 new txid.
const RENAME_FILE: &str =
    "UPDATE files SET path = ?3, last_modified = ?4, txid = ?5 WHERE graph_id = ?1 AND path = ?2";
/// ?1 JSON array of keys. Only keys handed out by get_upload_urls have a row
/// (a stock upload writes none), so for the stock client this writes nothing.
const DELETE_UPLOADS: &str = "DELETE FROM uploads WHERE key IN (SELECT value FROM json_each(?1))";
/// ?1 graph id, ?2 txid, ?3 type, ?4 content JSON, ?5 now, ?6 JSON array of
/// the upload keys committed (update_files) or NULL, ?7 bytes made current
/// (update_files) or NULL (migration 0006). Its foreign key aborts the batch
/// when the graph was purged meanwhile.
const INSERT_TX: &str =
    "INSERT INTO txlog (graph_id, txid, tx_type, content, created_at, blob_keys, bytes) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

pub async fn list_files_page(
    db: &Db,
    graph_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<FileRow>, ApiError> {
    db.all(
        &list_files_page_sql(),
        &[graph_id.into(), after.into(), limit.into()],
    )
    .await
}

/// The current rows of the given paths (missing paths are simply absent).
pub async fn find_files(
    db: &Db,
    graph_id: &str,
    paths: &[String],
) -> Result<Vec<FileRow>, ApiError> {
    let list = json!(paths).to_string();
    db.all(&find_files_sql(), &[graph_id.into(), (&list).into()])
        .await
}

pub async fn list_tx_after(
    db: &Db,
    graph_id: &str,
    from: i64,
    limit: i64,
) -> Result<Vec<TxRow>, ApiError> {
    db.all(LIST_TX_AFTER, &[graph_id.into(), from.into(), limit.into()])
        .await
}

pub async fn list_deletions_after(
    db: &Db,
    graph_id: &str,
    from: i64,
    limit: i64,
) -> Result<Vec<TxRow>, ApiError> {
    db.all(
        LIST_DELETIONS_AFTER,
        &[graph_id.into(), from.into(), limit.into()],
    )
    .await
}

pub async fn list_versions(
    db: &Db,
    graph_id: &str,
    file_uuid: &str,
) -> Result<Vec<VersionRow>, ApiError> {
    db.all(LIST_VERSIONS, &[graph_id.into(), file_uuid.into()])
        .await
}

/// Blob keys of the given (file uuid, version uuid) pairs.
pub async fn find_version_blobs(
    db: &Db,
    graph_id: &str,
    ids: &[(String, String)],
) -> Result<Vec<VersionBlobRow>, ApiError> {
    let list = json!(ids
        .iter()
        .map(|(f, v)| json!({"f": f, "v": v}))
        .collect::<Vec<_>>())
    .to_string();
    db.all(FIND_VERSION_BLOBS, &[graph_id.into(), (&list).into()])
        .await
}

/// Records keys handed out in presigned PUT URLs, so that uploads never
/// committed can be found and deleted.
pub async fn insert_pending_uploads(
    db: &Db,
    keys: &[String],
    user_id: &str,
    now: i64,
) -> Result<(), ApiError> {
    let list = json!(keys
        .iter()
        .map(|k| json!({"k": k, "u": user_id}))
        .collect::<Vec<_>>())
    .to_string();
    db.run(INSERT_PENDING_UPLOADS, &[(&list).into(), now.into()])
        .await?;
    Ok(())
}

/// How far R2's clock (an object's upload time) and the Worker's (a
/// transaction's `created_at`, taken when its request arrived) may differ for
/// the reuse check. Small on purpose: a commit is refused when the graph had
/// [`REUSE_WINDOW`] commits since its upload time minus this margin (an
/// initial upload commits a few times a second).
const UPLOAD_CLOCK_MARGIN_MS: i64 = 5 * 1000;

/// One file of an update_files commit.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub path: String,
    pub blob_key: String,
    /// When R2 stored the upload (ms).
    pub uploaded_ms: i64,
    pub checksum: String,
    pub size: i64,
    pub file_uuid: String,
    pub version_uuid: String,
}

/// A path leaving the current set (deleted, or overwritten by a rename).
#[derive(Debug, Clone)]
pub struct Superseded {
    pub path: String,
    pub file_uuid: String,
    pub version_uuid: String,
}

/// The statements every commit starts and ends with.
pub struct Commit<'a> {
    pub db: &'a Db,
    pub graph_id: &'a str,
    pub expected_txid: i64,
    pub now: i64,
}

impl Commit<'_> {
    fn new_txid(&self) -> i64 {
        self.expected_txid + 1
    }

    fn compare_and_increment(&self, storage_delta: i64) -> Result<D1PreparedStatement, ApiError> {
        self.db.stmt(
            COMPARE_AND_INCREMENT,
            &[
                self.graph_id.into(),
                self.expected_txid.into(),
                storage_delta.into(),
            ],
        )
    }

    pub(crate) fn keep_versions(
        &self,
        items: &[Superseded],
    ) -> Result<D1PreparedStatement, ApiError> {
        let list = json!(items
            .iter()
            .map(|s| json!({"p": s.path, "f": s.file_uuid, "v": s.version_uuid}))
            .collect::<Vec<_>>())
        .to_string();
        self.db.stmt(
            KEEP_VERSIONS,
            &[
                self.graph_id.into(),
                (&list).into(),
                self.now.into(),
                self.new_txid().into(),
            ],
        )
    }

    pub(crate) fn insert_tx(
        &self,
        tx_type: &str,
        content: &serde_json::Value,
        blob_keys: Option<&str>,
        bytes: Option<i64>,
    ) -> Result<D1PreparedStatement, ApiError> {
        let content = content.to_string();
        self.db.stmt(
            INSERT_TX,
            &[
                self.graph_id.into(),
                self.new_txid().into(),
                tx_type.into(),
                (&content).into(),
                self.now.into(),
                blob_keys.map_or(Arg::Null, Arg::Text),
                bytes.map_or(Arg::Null, Arg::Int),
            ],
        )
    }

    /// update_files: versions of overwritten files, new current rows, the
    /// upload keys recorded in the log, one transaction. Moves no bytes.
    /// Writes 1 + (files) + (overwritten files) + 1 rows.
    pub async fn update_files(
        &self,
        files: &[NewFile],
        content: &serde_json::Value,
    ) -> Result<i64, ApiError> {
        let delta: i64 = files.iter().map(|f| f.size).sum();
        let superseded: Vec<Superseded> = files
            .iter()
            .map(|f| Superseded {
                path: f.path.clone(),
                file_uuid: f.file_uuid.clone(),
                version_uuid: f.version_uuid.clone(),
            })
            .collect();
        let rows = json!(files
            .iter()
            .map(|f| json!({"p": f.path, "k": f.blob_key, "c": f.checksum, "s": f.size}))
            .collect::<Vec<_>>())
        .to_string();
        let keys = json!(files.iter().map(|f| &f.blob_key).collect::<Vec<_>>()).to_string();
        let oldest_upload = files.iter().map(|f| f.uploaded_ms).min().unwrap_or(0);
        self.db
            .batch(vec![
                self.db.stmt(
                    COMPARE_AND_INCREMENT_FOR_UPLOADS,
                    &[
                        self.graph_id.into(),
                        self.expected_txid.into(),
                        delta.into(),
                        (&keys).into(),
                        (oldest_upload - UPLOAD_CLOCK_MARGIN_MS).into(),
                    ],
                )?,
                self.keep_versions(&superseded)?,
                self.db.stmt(
                    UPSERT_FILES,
                    &[
                        self.graph_id.into(),
                        (&rows).into(),
                        self.now.into(),
                        self.new_txid().into(),
                    ],
                )?,
                self.db.stmt(DELETE_UPLOADS, &[(&keys).into()])?,
                self.insert_tx("update_files", content, Some(&keys), Some(delta))?,
            ])
            .await?;
        Ok(self.new_txid())
    }

    /// delete_files: the deleted bodies become versions, one transaction.
    pub async fn delete_files(
        &self,
        gone: &[Superseded],
        content: &serde_json::Value,
    ) -> Result<i64, ApiError> {
        let paths = json!(gone.iter().map(|s| &s.path).collect::<Vec<_>>()).to_string();
        self.db
            .batch(vec![
                self.compare_and_increment(0)?,
                self.keep_versions(gone)?,
                self.db
                    .stmt(DELETE_FILES, &[self.graph_id.into(), (&paths).into()])?,
                self.insert_tx("delete_files", content, None, None)?,
            ])
            .await?;
        Ok(self.new_txid())
    }

    /// Legacy rename_file: an existing destination becomes a version.
    pub async fn rename_file(
        &self,
        from: &str,
        to: &Superseded,
        content: &serde_json::Value,
    ) -> Result<i64, ApiError> {
        let to_list = json!([to.path]).to_string();
        self.db
            .batch(vec![
                self.compare_and_increment(0)?,
                self.keep_versions(std::slice::from_ref(to))?,
                self.db
                    .stmt(DELETE_FILES, &[self.graph_id.into(), (&to_list).into()])?,
                self.db.stmt(
                    RENAME_FILE,
                    &[
                        self.graph_id.into(),
                        from.into(),
                        to.path.as_str().into(),
                        self.now.into(),
                        self.new_txid().into(),
                    ],
                )?,
                self.insert_tx("rename_file", content, None, None)?,
            ])
            .await?;
        Ok(self.new_txid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reuse_window_in_the_sql_is_the_constant() {
        let sql = COMPARE_AND_INCREMENT_FOR_UPLOADS;
        assert_eq!(sql.matches(&format!("?2 - {REUSE_WINDOW} ")).count(), 2);
        assert!(sql.contains(&format!("txid = ?2 - {}", REUSE_WINDOW - 1)));
    }
}
