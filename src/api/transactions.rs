//! Transactions: get_diff, get_deletion_log_v20221212, update_files,
//! delete_files, rename_file (PROTOCOL.md §6.13, 6.14, 6.17, 6.18, 6.21, §9).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::{check_encrypted_name, check_file_count, check_graph_uuid, with_graph, Ctx, User};
use crate::db::files::{self as fq, Commit, NewFile, Superseded};
use crate::db::graphs::{self as gq, GraphRow};
use crate::error::{ApiError, ApiResult};
use crate::hub;
use crate::protocol::ids::{file_uuid, new_uuid, remote_key};
use crate::protocol::txid::is_valid_txid;
use crate::protocol::wire::{
    DeleteFiles, DeletionLog, DeletionLogEntry, Diff, FilesRequest, FromTxRequest,
    RenameFileRequest, Transaction, TxContentItem, TxId, UpdateFiles, UpdateFilesRequest,
};
use crate::s3::blobs::Uploaded;
use crate::s3::keys::{is_committable, is_md5_hex, upload_prefix};

/// Most transactions one get_diff answers. Past that the answer holds only
/// the newest transaction: its TXId leaves a gap after FromTXId, and the
/// client then does a full sync instead (LS sync.cljs:2419-2455), which is
/// cheaper than replaying a long history.
pub const MAX_DIFF: i64 = 500;
/// Most deletion-log entries one answer holds.
pub const MAX_DELETION_LOG: i64 = 10_000;
/// Files per update_files / delete_files (the client sends ≤ 20, LS sync.cljs:171).
pub const MAX_FILES_PER_COMMIT: usize = 100;

/// §6.13: transactions with TXId > FromTXId, contiguous, oldest first.
pub async fn get_diff(ctx: &Ctx, user: &User, req: FromTxRequest) -> ApiResult<Diff> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_from_txid(req.from_txid)?;
    let (_, mut rows) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::list_tx_after(&ctx.db, &req.graph_uuid, req.from_txid, MAX_DIFF + 1),
    )
    .await?;
    if rows.len() as i64 > MAX_DIFF {
        rows = rows.split_off(rows.len() - 1);
    }
    let transactions = rows
        .into_iter()
        .map(|r| {
            let content: Vec<TxContentItem> = serde_json::from_str(&r.content)?;
            Ok(Transaction {
                txid: r.txid,
                tx_type: r.tx_type,
                content,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Diff { transactions })
}

/// §6.14: one entry per delete_files transaction after FromTXId.
pub async fn get_deletion_log_v20221212(
    ctx: &Ctx,
    user: &User,
    req: FromTxRequest,
) -> ApiResult<DeletionLog> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_from_txid(req.from_txid)?;
    let (_, rows) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::list_deletions_after(&ctx.db, &req.graph_uuid, req.from_txid, MAX_DELETION_LOG),
    )
    .await?;
    let transactions = rows
        .into_iter()
        .map(|r| {
            let content: Vec<TxContentItem> = serde_json::from_str(&r.content)?;
            Ok(DeletionLogEntry {
                txid: r.txid,
                epoch: r.created_at.div_euclid(1000),
                paths: content.into_iter().map(|(to, _, _)| to).collect(),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(DeletionLog { transactions })
}

/// §6.17: commits uploaded objects as the new bodies of files, as one
/// transaction. Fails as a whole (txid unchanged) when any upload is
/// missing, older than the commit grace period, in trash, or outside the
/// caller's prefix. Moves no bytes; two storage round trips (reads and heads
/// at once, then the batch).
pub async fn update_files(
    ctx: &Ctx,
    user: &User,
    req: UpdateFilesRequest,
) -> ApiResult<UpdateFiles> {
    check_update(ctx, user, &req)?;
    // One storage round trip before the commit: the graph, the user's usage
    // and the heads of every upload (existence, size, age) at once.
    let keys: Vec<&str> = req.files.values().map(|(k, _)| k.as_str()).collect();
    let (graph, usage, heads) = futures_util::future::join3(
        gq::find_graph(&ctx.db, &req.graph_uuid, &user.id),
        crate::db::users::user_storage(&ctx.db, &user.id),
        crate::s3::blobs::heads(ctx, &keys),
    )
    .await;
    let graph = graph?;
    check_current(&graph, req.txid)?;
    let (usage, _) = usage?;
    let heads = heads?;

    let files = new_files(ctx, &graph.id, &req.files, heads)?;
    let added: i64 = files.iter().map(|f| f.size).sum();
    if usage + added > ctx.config.storage_limit_bytes {
        return Err(ApiError::StorageLimit);
    }
    let content = json!(files
        .iter()
        .map(|f| json!([remote_key(&user.id, &graph.id, &f.path), null, f.checksum]))
        .collect::<Vec<_>>());
    let commit = Commit {
        db: &ctx.db,
        graph_id: &graph.id,
        expected_txid: req.txid,
        now: ctx.now_ms,
    };
    let txid = match commit.update_files(&files, &content).await {
        Ok(txid) => txid,
        Err(e) => return Err(explain_failed_commit(ctx, user, &graph.id, req.txid, e, true).await),
    };
    hub::notify(ctx, &graph.id, txid);
    Ok(UpdateFiles {
        txid,
        succ: files
            .iter()
            .map(|f| remote_key(&user.id, &graph.id, &f.path))
            .collect(),
        failed: BTreeMap::new(),
    })
}

/// `update_files`' checks of the request itself, before any storage: names,
/// checksums, and upload keys under the caller's prefix, each used once.
fn check_update(ctx: &Ctx, user: &User, req: &UpdateFilesRequest) -> ApiResult<()> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_commit_txid(req.txid)?;
    check_file_count(req.files.len())?;
    check_commit_size(req.files.len())?;
    let prefix = upload_prefix(&user.id);
    let mut seen_keys = BTreeSet::new();
    for (path, (key, checksum)) in &req.files {
        check_encrypted_name(path)?;
        if !is_md5_hex(checksum) {
            return Err(ApiError::BadRequest(
                "checksum must be 32 lowercase hex digits (MD5)".into(),
            ));
        }
        if !crate::s3::keys::is_key_under_prefix(key, &prefix) {
            return Err(ApiError::BadRequest(format!(
                "upload key is not under your upload prefix {prefix}/"
            )));
        }
        if !seen_keys.insert(key.as_str()) {
            return Err(ApiError::BadRequest(
                "the same upload key is given for two files".into(),
            ));
        }
    }
    Ok(())
}

/// The rows `update_files` commits: each named file with its upload, which
/// must exist, be young enough to commit and within the size limit.
fn new_files(
    ctx: &Ctx,
    graph_id: &str,
    requested: &BTreeMap<String, (String, String)>,
    heads: Vec<Option<Uploaded>>,
) -> ApiResult<Vec<NewFile>> {
    let mut files = Vec::with_capacity(requested.len());
    for ((path, (key, checksum)), head) in requested.iter().zip(heads) {
        let upload = head
            .filter(|u| is_committable(u.uploaded_ms, ctx.now_ms))
            .ok_or_else(|| ApiError::BadRequest(format!("upload not found: {key}")))?;
        if upload.size > ctx.config.max_object_bytes {
            return Err(ApiError::BadRequest(format!("upload too large: {key}")));
        }
        files.push(NewFile {
            path: path.clone(),
            blob_key: key.clone(),
            uploaded_ms: upload.uploaded_ms,
            checksum: checksum.clone(),
            size: upload.size,
            file_uuid: file_uuid(graph_id, path),
            version_uuid: version_uuid()?,
        });
    }
    Ok(files)
}

/// §6.18: removes files from the current set (their bodies stay as
/// versions), as one transaction. Unknown names are reported in
/// `DeleteFailedFiles`; the transaction happens all the same.
pub async fn delete_files(ctx: &Ctx, user: &User, req: FilesRequest) -> ApiResult<DeleteFiles> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    let client_txid = req
        .txid
        .ok_or_else(|| ApiError::BadRequest("TXId is required".into()))?;
    check_commit_txid(client_txid)?;
    check_file_count(req.files.len())?;
    check_commit_size(req.files.len())?;
    let paths: Vec<String> = req
        .files
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for p in &paths {
        check_encrypted_name(p)?;
    }
    let (graph, rows) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::find_files(&ctx.db, &req.graph_uuid, &paths),
    )
    .await?;
    check_current(&graph, client_txid)?;
    let existing: BTreeSet<String> = rows.into_iter().map(|r| r.path).collect();
    let mut gone = Vec::new();
    let mut failed = BTreeMap::new();
    for p in &paths {
        if existing.contains(p) {
            gone.push(Superseded {
                path: p.clone(),
                file_uuid: file_uuid(&graph.id, p),
                version_uuid: version_uuid()?,
            });
        } else {
            failed.insert(p.clone(), "not found".to_string());
        }
    }
    let content = json!(gone
        .iter()
        .map(|g| json!([remote_key(&user.id, &graph.id, &g.path), null, null]))
        .collect::<Vec<_>>());
    let commit = Commit {
        db: &ctx.db,
        graph_id: &graph.id,
        expected_txid: client_txid,
        now: ctx.now_ms,
    };
    let txid = match commit.delete_files(&gone, &content).await {
        Ok(txid) => txid,
        Err(e) => {
            return Err(explain_failed_commit(ctx, user, &graph.id, client_txid, e, false).await)
        }
    };
    hub::notify(ctx, &graph.id, txid);
    Ok(DeleteFiles {
        txid,
        succ: gone
            .iter()
            .map(|g| remote_key(&user.id, &graph.id, &g.path))
            .collect(),
        failed,
    })
}

/// §6.21 (legacy; the 0.10.x client never sends it): moves a file to a new
/// name as one `rename_file` transaction `[to, from, null]`.
pub async fn rename_file(ctx: &Ctx, user: &User, req: RenameFileRequest) -> ApiResult<TxId> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_commit_txid(req.txid)?;
    check_encrypted_name(&req.src_file)?;
    check_encrypted_name(&req.dst_file)?;
    if req.src_file == req.dst_file {
        return Err(ApiError::BadRequest(
            "SrcFile and DstFile are the same".into(),
        ));
    }
    let (graph, src) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::find_files(
            &ctx.db,
            &req.graph_uuid,
            std::slice::from_ref(&req.src_file),
        ),
    )
    .await?;
    check_current(&graph, req.txid)?;
    if src.is_empty() {
        return Err(ApiError::NotFound(format!(
            "not found {}",
            remote_key(&user.id, &graph.id, &req.src_file)
        )));
    }
    let to = Superseded {
        path: req.dst_file.clone(),
        file_uuid: file_uuid(&graph.id, &req.dst_file),
        version_uuid: version_uuid()?,
    };
    let content = json!([[
        remote_key(&user.id, &graph.id, &req.dst_file),
        remote_key(&user.id, &graph.id, &req.src_file),
        null
    ]]);
    let commit = Commit {
        db: &ctx.db,
        graph_id: &graph.id,
        expected_txid: req.txid,
        now: ctx.now_ms,
    };
    let txid = match commit.rename_file(&req.src_file, &to, &content).await {
        Ok(txid) => txid,
        Err(e) => {
            return Err(explain_failed_commit(ctx, user, &graph.id, req.txid, e, false).await)
        }
    };
    hub::notify(ctx, &graph.id, txid);
    Ok(TxId { txid })
}

fn check_from_txid(txid: i64) -> ApiResult<()> {
    if is_valid_txid(txid) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "FromTXId must be a non-negative integer".into(),
        ))
    }
}

fn check_commit_txid(txid: i64) -> ApiResult<()> {
    if is_valid_txid(txid) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "TXId must be a non-negative integer".into(),
        ))
    }
}

fn check_commit_size(n: usize) -> ApiResult<()> {
    if n > MAX_FILES_PER_COMMIT {
        Err(ApiError::BadRequest(format!(
            "too many files: at most {MAX_FILES_PER_COMMIT} per transaction"
        )))
    } else {
        Ok(())
    }
}

/// Strict equality with the graph's txid (PROTOCOL.md §9.1).
fn check_current(graph: &GraphRow, client: i64) -> ApiResult<()> {
    if graph.txid == client {
        Ok(())
    } else {
        Err(ApiError::TxidConflict {
            server: graph.txid,
            client,
        })
    }
}

fn version_uuid() -> ApiResult<String> {
    new_uuid().map_err(|e| ApiError::Internal(format!("random: {e}")))
}

/// A commit batch aborted: nothing was written. Say why, as the client
/// understands it: the graph is gone, someone committed first, or (for
/// update_files) an upload stopped being pending.
async fn explain_failed_commit(
    ctx: &Ctx,
    user: &User,
    graph_id: &str,
    client: i64,
    cause: ApiError,
    has_uploads: bool,
) -> ApiError {
    match gq::find_graph(&ctx.db, graph_id, &user.id).await {
        Err(e) => e,
        Ok(g) if g.txid != client => ApiError::TxidConflict {
            server: g.txid,
            client,
        },
        Ok(_) if has_uploads && crate::db::is_constraint_error(&cause) => {
            ApiError::BadRequest("an upload is no longer pending; upload the files again".into())
        }
        Ok(_) => cause,
    }
}
