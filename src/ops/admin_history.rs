//! Admin routes for getting notes back (docs/RESTORE.md): deleted graphs
//! (`GET /admin/deleted`, `POST /admin/undelete`) and restoring a graph to a
//! transaction (`POST /admin/restore`). Routed by `admin.rs`'s one table after
//! the admin token was checked; the CLI (`npm run admin`) calls these.

use serde::Deserialize;
use serde_json::json;

use crate::ctx::Ctx;
use crate::db::history as hq;
use crate::error::{ApiError, ApiResult};
use crate::protocol::restore::{self, RESTORE_PAGE};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Longest graph name (as create_graph).
const MAX_GRAPH_NAME: usize = 255;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UndeleteRequest {
    graph: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RestoreRequest {
    graph: String,
    #[serde(default)]
    to_txid: Option<i64>,
    /// Milliseconds since the epoch: the last transaction at or before it.
    #[serde(default)]
    to_time_ms: Option<i64>,
    #[serde(default)]
    dry_run: bool,
}

/// Transactions per page of a graph's history.
const HISTORY_PAGE: i64 = 20;

/// A graph's recent transactions, newest first (`?before=<txid>` pages back),
/// with how far back a restore can go: what the admin page lists.
pub(crate) async fn history(
    ctx: &Ctx,
    graph_id: &str,
    before: Option<&str>,
) -> ApiResult<serde_json::Value> {
    crate::api::check_graph_uuid(ctx, graph_id)?;
    let graph = hq::find_restore_graph(&ctx.db, graph_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no graph {graph_id}")))?;
    let before = match before {
        None => graph.txid + 1,
        Some(b) => b
            .parse::<i64>()
            .map_err(|_| ApiError::BadRequest("before must be a txid".into()))?,
    };
    let txs = hq::recent_tx(&ctx.db, graph_id, before, HISTORY_PAGE).await?;
    let next = (txs.len() as i64 == HISTORY_PAGE)
        .then(|| txs.last().map(|t| t.txid))
        .flatten();
    Ok(json!({
        "graph": graph.id, "txid": graph.txid, "restorable_from": graph.restorable_from,
        "transactions": txs, "next_before": next,
    }))
}

fn recoverable_until(ctx: &Ctx, deleted_at: i64) -> i64 {
    deleted_at + ctx.config.undelete_retention_days * DAY_MS
}

pub(crate) async fn deleted(ctx: &Ctx) -> ApiResult<serde_json::Value> {
    let graphs: Vec<_> = hq::list_deleted(&ctx.db)
        .await?
        .into_iter()
        .map(|g| {
            let until = recoverable_until(ctx, g.deleted_at);
            json!({
                "id": g.id, "user_id": g.user_id, "email": g.email, "name": g.name,
                "txid": g.txid, "storage_usage": g.storage_usage, "deleted_at": g.deleted_at,
                "recoverable_until": until, "recoverable": until > ctx.now_ms,
            })
        })
        .collect();
    Ok(json!({ "undelete_retention_days": ctx.config.undelete_retention_days, "graphs": graphs }))
}

pub(crate) async fn undelete(ctx: &Ctx, r: UndeleteRequest) -> ApiResult<serde_json::Value> {
    crate::api::check_graph_uuid(ctx, &r.graph)?;
    let g = hq::find_deleted(&ctx.db, &r.graph).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no deleted graph {}: unknown id, not deleted, or its undelete period ended and the cleanup removed it",
            r.graph
        ))
    })?;
    if let Some(why) = restore::undelete_refusal(
        &g.id,
        g.deleted_at,
        ctx.now_ms,
        ctx.config.undelete_retention_days,
    ) {
        return Err(ApiError::BadRequest(why));
    }
    let name = r.name.unwrap_or_else(|| g.name.clone());
    if name.trim().is_empty()
        || name.chars().count() > MAX_GRAPH_NAME
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::BadRequest(format!(
            "the name must be 1 to {MAX_GRAPH_NAME} printable characters"
        )));
    }
    let oldest = ctx.now_ms - ctx.config.undelete_retention_days * DAY_MS;
    match hq::undelete(&ctx.db, &g.id, &name, oldest, ctx.config.graph_count_limit).await {
        Ok(true) => Ok(json!({ "undeleted": g.id, "name": name, "user_id": g.user_id, "txid": g.txid })),
        Ok(false) => Err(ApiError::BadRequest(format!(
            "the user already has {} graphs (GRAPH_COUNT_LIMIT); delete one first",
            ctx.config.graph_count_limit
        ))),
        Err(e) if crate::db::is_constraint_error(&e) => Err(ApiError::BadRequest(format!(
            "the user already has a graph named {name:?}; undelete it under another name with --name"
        ))),
        Err(e) => Err(e),
    }
}

pub(crate) async fn restore(ctx: &Ctx, r: RestoreRequest) -> ApiResult<serde_json::Value> {
    crate::api::check_graph_uuid(ctx, &r.graph)?;
    let Some(graph) = hq::find_restore_graph(&ctx.db, &r.graph).await? else {
        return Err(match hq::find_deleted(&ctx.db, &r.graph).await? {
            Some(_) => ApiError::BadRequest(format!(
                "graph {} is deleted: undelete it first (npm run admin -- undelete {})",
                r.graph, r.graph
            )),
            None => ApiError::NotFound(format!("no graph {}", r.graph)),
        });
    };
    let target = match (r.to_txid, r.to_time_ms) {
        (Some(t), None) => t,
        (None, Some(ms)) => hq::txid_at_time(&ctx.db, &graph.id, ms).await?,
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of to_txid and to_time_ms".into(),
            ))
        }
    };
    let (changed, at_n, rename) = if (0..=graph.txid).contains(&target) {
        hq::restore_inputs(&ctx.db, &graph.id, target).await?
    } else {
        (Vec::new(), Vec::new(), None)
    };
    if let Some(why) = restore::refusal(target, graph.txid, graph.restorable_from, rename) {
        let times = hq::tx_times(&ctx.db, &graph.id, &[graph.restorable_from]).await?;
        return Err(ApiError::BadRequest(match times.first() {
            Some(t) if why.contains("kept history") => {
                format!(
                    "{why}; txid {} was committed at {} ms",
                    t.txid, t.created_at
                )
            }
            _ => why,
        }));
    }
    let plan = restore::plan(changed, at_n);
    let page = plan.page(RESTORE_PAGE);
    let remaining = plan.files() - page.files();
    // Counts are of the whole restore still to do; a paged restore commits
    // `committed_files` now and is complete when `remaining_files` is 0.
    let summary = json!({
        "graph": graph.id, "from_txid": graph.txid, "to_txid": target, "dry_run": r.dry_run,
        "reverted": plan.reverted, "revived": plan.revived, "removed": plan.removed,
        "transactions": if r.dry_run { plan.transactions() } else { page.transactions() },
        "pages": plan.files().div_ceil(RESTORE_PAGE),
        "committed_files": if r.dry_run { 0 } else { page.files() },
        "remaining_files": if r.dry_run { plan.files() } else { remaining },
        "complete": !r.dry_run && remaining == 0,
    });
    if r.dry_run || plan.is_empty() {
        let mut s = summary;
        s["txid"] = json!(graph.txid);
        s["complete"] = json!(plan.is_empty());
        if plan.is_empty() {
            s["message"] = json!(format!(
                "nothing to change: the files are as they were after txid {target}"
            ));
        }
        return Ok(s);
    }
    let txid = hq::commit_restore(&ctx.db, &graph, target, &page, ctx.now_ms)
        .await
        .map_err(|e| match e {
            ApiError::Internal(ref d) if d.contains("NOT NULL") => ApiError::BadRequest(
                "the graph changed while the restore was planned (a commit, a delete or the version expiry); run it again".into(),
            ),
            e => e,
        })?;
    crate::hub::notify(ctx, &graph.id, txid);
    let mut s = summary;
    s["txid"] = json!(txid);
    s["undo"] = json!(format!(
        "npm run admin -- restore {} --to-txid {}",
        graph.id, graph.txid
    ));
    Ok(s)
}
