//! Undelete and restore (docs/RESTORE.md, migration 0006): deleted graphs
//! kept for the undelete period and purged after it in pages; the reads a
//! restore plans from and the batch that commits it.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::files::{Commit, Superseded, DELETE_FILES, UPSERT_FILES};
use super::Db;
use crate::error::ApiError;
use crate::protocol::restore::{Body, Plan};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DeletedGraph {
    pub id: String,
    pub user_id: String,
    pub email: Option<String>,
    /// The name it had.
    pub name: String,
    pub txid: i64,
    pub storage_usage: i64,
    pub deleted_at: i64,
}

/// A live graph with what a restore needs.
#[derive(Debug, Clone, Deserialize)]
pub struct RestoreGraph {
    pub id: String,
    pub user_id: String,
    pub txid: i64,
    pub restorable_from: i64,
}

#[derive(Debug, Deserialize)]
struct MaybeTxid {
    txid: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct TxTime {
    pub txid: i64,
    pub created_at: i64,
}

const DELETED_COLUMNS: &str = "g.id, g.user_id, u.email, g.deleted_name AS name, g.txid, \
     g.storage_usage, g.deleted_at FROM graphs g JOIN users u ON u.id = g.user_id";

fn list_deleted_sql() -> String {
    format!(
        "SELECT {DELETED_COLUMNS} WHERE g.deleted_at IS NOT NULL ORDER BY g.deleted_at DESC, g.id"
    )
}

/// ?1 graph id.
fn find_deleted_sql() -> String {
    format!("SELECT {DELETED_COLUMNS} WHERE g.id = ?1 AND g.deleted_at IS NOT NULL")
}

/// ?1 graph id, ?2 name, ?3 oldest deleted_at still recoverable, ?4 graph-count
/// limit. Refused (no row changed) past the period or at the limit; a name the
/// user has meanwhile is a UNIQUE constraint error.
const UNDELETE: &str = "UPDATE graphs SET name = ?2, deleted_at = NULL, deleted_name = NULL \
     WHERE id = ?1 AND deleted_at IS NOT NULL AND deleted_at >= ?3 \
     AND (SELECT COUNT(*) FROM graphs g WHERE g.user_id = graphs.user_id AND g.deleted_at IS NULL) < ?4";

// ---- purge of graphs past the undelete period. Every statement: ?1 graph
// id, ?2 now, ?3 rows per page, ?4 cutoff; each acts only while the graph is
// still deleted before the cutoff (an undelete racing the purge wins or
// finds it gone), and the objects go to trash in the statement before the
// one that drops their rows.

/// ?1 cutoff.
const LIST_PURGEABLE: &str =
    "SELECT id FROM graphs WHERE deleted_at IS NOT NULL AND deleted_at < ?1 ORDER BY deleted_at LIMIT 1";
const STILL_PURGEABLE: &str = "(SELECT deleted_at FROM graphs WHERE id = ?1) < ?4";
fn purge_sql() -> [String; 6] {
    let g = STILL_PURGEABLE;
    [
        format!("INSERT INTO trash (key, created_at) SELECT blob_key, ?2 FROM files WHERE graph_id = ?1 AND {g} \
                 ORDER BY path LIMIT ?3 ON CONFLICT (key) DO NOTHING"),
        format!("DELETE FROM files WHERE graph_id = ?1 AND {g} AND path IN \
                 (SELECT path FROM files WHERE graph_id = ?1 ORDER BY path LIMIT ?3)"),
        format!("INSERT INTO trash (key, created_at) SELECT blob_key, ?2 FROM versions WHERE graph_id = ?1 AND {g} \
                 ORDER BY file_uuid, version_uuid LIMIT ?3 ON CONFLICT (key) DO NOTHING"),
        format!("DELETE FROM versions WHERE graph_id = ?1 AND {g} AND (file_uuid, version_uuid) IN \
                 (SELECT file_uuid, version_uuid FROM versions WHERE graph_id = ?1 ORDER BY file_uuid, version_uuid LIMIT ?3)"),
        format!("DELETE FROM txlog WHERE graph_id = ?1 AND {g} AND txid IN \
                 (SELECT txid FROM txlog WHERE graph_id = ?1 ORDER BY txid LIMIT ?3)"),
        // Last: the row itself (cascading to keys and salt) once nothing is left.
        format!("DELETE FROM graphs WHERE id = ?1 AND {g} \
                 AND NOT EXISTS (SELECT 1 FROM files WHERE graph_id = ?1) \
                 AND NOT EXISTS (SELECT 1 FROM versions WHERE graph_id = ?1) \
                 AND NOT EXISTS (SELECT 1 FROM txlog WHERE graph_id = ?1)"),
    ]
}

// ---- restore

/// ?1 graph id.
const FIND_RESTORE_GRAPH: &str = "SELECT id, user_id, txid, restorable_from FROM graphs \
     WHERE id = ?1 AND deleted_at IS NULL";
/// ?1 graph id, ?2 N: current files written after N (one pass over the graph's files).
const CHANGED_FILES: &str =
    "SELECT path, blob_key, checksum, size FROM files WHERE graph_id = ?1 AND txid > ?2";
/// ?1 graph id, ?2 N: the kept bodies that were current after transaction N.
const BODIES_AT: &str = "SELECT path, blob_key, checksum, size FROM versions \
     WHERE graph_id = ?1 AND from_txid <= ?2 AND to_txid > ?2";
/// ?1 graph id, ?2 N.
const RENAME_AFTER: &str = "SELECT MAX(txid) AS txid FROM txlog \
     WHERE graph_id = ?1 AND txid > ?2 AND tx_type = 'rename_file'";
/// ?1 graph id, ?2 time (ms): the last transaction at or before it.
const TXID_AT_TIME: &str =
    "SELECT MAX(txid) AS txid FROM txlog WHERE graph_id = ?1 AND created_at <= ?2";
/// ?1 graph id, ?2 JSON array of txids.
const TX_TIMES: &str = "SELECT t.txid, t.created_at FROM json_each(?2) j \
     CROSS JOIN txlog t ON t.graph_id = ?1 AND t.txid = j.value";
/// ?1 graph id, ?2 below this txid, ?3 limit: recent transactions, newest
/// first, by primary key.
const RECENT_TX: &str =
    "SELECT txid, tx_type, created_at, json_array_length(content) AS files, bytes \
     FROM txlog WHERE graph_id = ?1 AND txid < ?2 ORDER BY txid DESC LIMIT ?3";

/// ?1 graph id, ?2 txid before the restore, ?3 transactions it takes, ?4 N,
/// ?5 storage delta. Aborts the batch (NOT NULL) when the graph moved on, was
/// deleted, or the version expiry dropped history the plan relies on
/// (it raises `restorable_from` in the batch that drops versions).
const RESTORE_CAS: &str = "UPDATE graphs SET txid = CASE WHEN txid = ?2 AND deleted_at IS NULL \
     AND restorable_from <= ?4 THEN ?2 + ?3 ELSE NULL END, storage_usage = storage_usage + ?5 WHERE id = ?1";

#[derive(Debug, Deserialize, Serialize)]
pub struct RecentTx {
    pub txid: i64,
    pub tx_type: String,
    pub created_at: i64,
    pub files: i64,
    pub bytes: Option<i64>,
}

/// Up to `limit` transactions of a graph below `before`, newest first.
pub async fn recent_tx(
    db: &Db,
    graph_id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<RecentTx>, ApiError> {
    db.all(RECENT_TX, &[graph_id.into(), before.into(), limit.into()])
        .await
}

pub async fn list_deleted(db: &Db) -> Result<Vec<DeletedGraph>, ApiError> {
    db.all(&list_deleted_sql(), &[]).await
}

pub async fn find_deleted(db: &Db, graph_id: &str) -> Result<Option<DeletedGraph>, ApiError> {
    db.first(&find_deleted_sql(), &[graph_id.into()]).await
}

/// Brings a deleted graph back under `name`; false when nothing changed
/// (past the period, at the graph-count limit, or no longer deleted).
pub async fn undelete(
    db: &Db,
    graph_id: &str,
    name: &str,
    oldest_deleted_at: i64,
    graph_limit: i64,
) -> Result<bool, ApiError> {
    let n = db
        .run(
            UNDELETE,
            &[
                graph_id.into(),
                name.into(),
                oldest_deleted_at.into(),
                graph_limit.into(),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// One page of the purge of graphs deleted before `cutoff`: up to `page`
/// files, versions and log rows of the oldest such graph; returns the rows
/// removed and whether the graph itself went (None: no graph to purge).
pub async fn purge_page(
    db: &Db,
    cutoff: i64,
    now: i64,
    page: i64,
) -> Result<Option<(usize, bool)>, ApiError> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let Some(graph) = db.first::<Id>(LIST_PURGEABLE, &[cutoff.into()]).await? else {
        return Ok(None);
    };
    let args = [(&graph.id).into(), now.into(), page.into(), cutoff.into()];
    let stmts = purge_sql()
        .iter()
        .map(|sql| db.stmt(sql, &args))
        .collect::<Result<Vec<_>, _>>()?;
    let results = db.batch(stmts).await?;
    let rows = [1, 3, 4]
        .iter()
        .map(|&i| results.get(i).map(super::changes).unwrap_or(0))
        .sum();
    let gone = results.get(5).map(super::changes).unwrap_or(0) >= 1;
    Ok(Some((rows, gone)))
}

pub async fn find_restore_graph(db: &Db, graph_id: &str) -> Result<Option<RestoreGraph>, ApiError> {
    db.first(FIND_RESTORE_GRAPH, &[graph_id.into()]).await
}

/// (current files written after N, bodies current at N, newest rename after N).
pub async fn restore_inputs(
    db: &Db,
    graph_id: &str,
    n: i64,
) -> Result<(Vec<Body>, Vec<Body>, Option<i64>), ApiError> {
    let (changed, at_n, rename) = futures_util::future::join3(
        db.all::<Body>(CHANGED_FILES, &[graph_id.into(), n.into()]),
        db.all::<Body>(BODIES_AT, &[graph_id.into(), n.into()]),
        db.first::<MaybeTxid>(RENAME_AFTER, &[graph_id.into(), n.into()]),
    )
    .await;
    Ok((changed?, at_n?, rename?.and_then(|r| r.txid)))
}

/// The last txid committed at or before `time_ms` (0 before the first).
pub async fn txid_at_time(db: &Db, graph_id: &str, time_ms: i64) -> Result<i64, ApiError> {
    let r: Option<MaybeTxid> = db
        .first(TXID_AT_TIME, &[graph_id.into(), time_ms.into()])
        .await?;
    Ok(r.and_then(|r| r.txid).unwrap_or(0))
}

/// When the given transactions were committed (absent ones are left out).
pub async fn tx_times(db: &Db, graph_id: &str, txids: &[i64]) -> Result<Vec<TxTime>, ApiError> {
    let list = json!(txids).to_string();
    db.all(TX_TIMES, &[graph_id.into(), (&list).into()]).await
}

/// Commits a plan as one D1 batch: `update_files` at T+1 (when bodies come
/// back) then `delete_files` (when files go); `remote_key` spells a path as
/// the client's TXContent does. Returns the graph's new txid.
pub async fn commit_restore(
    db: &Db,
    graph: &RestoreGraph,
    target: i64,
    plan: &Plan,
    now: i64,
) -> Result<i64, ApiError> {
    let remote_key = |path: &str| crate::protocol::ids::remote_key(&graph.user_id, &graph.id, path);
    let t = graph.txid;
    let delta: i64 = plan.bring_back.iter().map(|b| b.size).sum();
    let mut stmts = vec![db.stmt(
        RESTORE_CAS,
        &[
            (&graph.id).into(),
            t.into(),
            plan.transactions().into(),
            target.into(),
            delta.into(),
        ],
    )?];
    let mut txid = t;
    // Each of the two transactions is an ordinary commit's statements at its txid
    // (db/files.rs `Commit`), after the one compare-and-increment above.
    let commit_at = |txid: i64| Commit {
        db,
        graph_id: &graph.id,
        expected_txid: txid - 1,
        now,
    };
    let superseded = |bodies: &[Body]| -> Result<Vec<Superseded>, ApiError> {
        bodies
            .iter()
            .map(|b| {
                Ok(Superseded {
                    path: b.path.clone(),
                    file_uuid: crate::protocol::ids::file_uuid(&graph.id, &b.path),
                    version_uuid: crate::protocol::ids::new_uuid()
                        .map_err(|e| ApiError::Internal(format!("random: {e}")))?,
                })
            })
            .collect()
    };
    if !plan.bring_back.is_empty() {
        txid += 1;
        let commit = commit_at(txid);
        let rows = json!(plan
            .bring_back
            .iter()
            .map(|b| json!({"p": b.path, "k": b.blob_key, "c": b.checksum, "s": b.size}))
            .collect::<Vec<_>>())
        .to_string();
        let content = json!(plan
            .bring_back
            .iter()
            .map(|b| json!([remote_key(&b.path), null, b.checksum]))
            .collect::<Vec<_>>());
        // The objects it points at, as every update_files records them: the
        // orphan sweep and the reuse check read them (db/files.rs).
        let keys = json!(plan
            .bring_back
            .iter()
            .map(|b| &b.blob_key)
            .collect::<Vec<_>>())
        .to_string();
        stmts.push(commit.keep_versions(&superseded(&plan.bring_back)?)?);
        stmts.push(db.stmt(
            UPSERT_FILES,
            &[(&graph.id).into(), (&rows).into(), now.into(), txid.into()],
        )?);
        stmts.push(commit.insert_tx("update_files", &content, Some(&keys), Some(delta))?);
    }
    if !plan.remove.is_empty() {
        txid += 1;
        let commit = commit_at(txid);
        let paths = json!(plan.remove.iter().map(|b| &b.path).collect::<Vec<_>>()).to_string();
        let content = json!(plan
            .remove
            .iter()
            .map(|b| json!([remote_key(&b.path), null, null]))
            .collect::<Vec<_>>());
        stmts.push(commit.keep_versions(&superseded(&plan.remove)?)?);
        stmts.push(db.stmt(DELETE_FILES, &[(&graph.id).into(), (&paths).into()])?);
        stmts.push(commit.insert_tx("delete_files", &content, None, None)?);
    }
    db.batch(stmts).await?;
    Ok(txid)
}
