//! user_info, list_graphs, create_graph, delete_graph, get_txid, get_graph
//! (PROTOCOL.md §6.1-6.6).

use super::{check_graph_uuid, Ctx, Empty, User};
use crate::db::{self, graphs as q, maintenance, users};
use crate::error::{ApiError, ApiResult};
use crate::protocol::ids::new_uuid;
use crate::protocol::wire::{
    CreateGraphRequest, CreatedGraph, GetGraphRequest, GraphInfo, GraphList, GraphListEntry,
    GraphRequest, TxId, UserInfo,
};

/// Longest graph name accepted (a directory name on the client).
const MAX_GRAPH_NAME: usize = 255;
/// `ExpireTime` far ahead: a past value hides sync (LS components/file_sync.cljs:742-748).
const EXPIRE_AHEAD_SECS: i64 = 10 * 365 * 24 * 3600;

/// §6.1. `beta-tester` turns the client's sync UI on (LS user.cljs:265-277).
/// The user row exists by now: the credential check creates it on first
/// sight (`auth::access::check`).
pub async fn user_info(ctx: &Ctx, user: &User) -> ApiResult<UserInfo> {
    let (usage, _count) = users::user_storage(&ctx.db, &user.id).await?;
    Ok(UserInfo {
        user_groups: vec!["beta-tester"],
        expire_time: ctx.now_secs() + EXPIRE_AHEAD_SECS,
        pro_user: true,
        storage_limit: ctx.config.storage_limit_bytes,
        storage_usage: usage,
        graph_count_limit: ctx.config.graph_count_limit,
        lemon_status: None,
        lemon_ends_at: None,
        lemon_renews_at: None,
    })
}

/// §6.2. Always every graph of the caller: a missing one unbinds it on the
/// client (LS sync.cljs:3291-3309).
pub async fn list_graphs(ctx: &Ctx, user: &User) -> ApiResult<GraphList> {
    let graphs = q::list_graphs(&ctx.db, &user.id).await?;
    Ok(GraphList {
        graphs: graphs
            .into_iter()
            .map(|g| GraphListEntry {
                graph_uuid: g.id,
                graph_name: g.name,
                storage_usage: g.storage_usage,
                storage_limit: ctx.config.storage_limit_bytes,
            })
            .collect(),
    })
}

/// §6.3. Names are unique per user; a duplicate is 400 (the client's
/// "already existed graph"), the count limit 403 `graph-count-exceed-limit`.
pub async fn create_graph(
    ctx: &Ctx,
    user: &User,
    req: CreateGraphRequest,
) -> ApiResult<CreatedGraph> {
    let name = req.graph_name;
    if name.trim().is_empty()
        || name.chars().count() > MAX_GRAPH_NAME
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::BadRequest(format!(
            "GraphName must be 1 to {MAX_GRAPH_NAME} printable characters"
        )));
    }
    // Independent of each other: one storage round trip (the user row is
    // created by the credential check, `auth::access::check`).
    let (existing, usage) = futures_util::future::join(
        q::find_graph_by_name(&ctx.db, &name, &user.id),
        users::user_storage(&ctx.db, &user.id),
    )
    .await;
    if existing?.is_some() {
        return Err(ApiError::GraphExists(name));
    }
    let (usage, _) = usage?;
    if usage >= ctx.config.storage_limit_bytes {
        return Err(ApiError::StorageLimit);
    }
    let id = new_uuid().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    match q::insert_graph(
        &ctx.db,
        &id,
        &user.id,
        &name,
        ctx.now_ms,
        ctx.config.graph_count_limit,
    )
    .await
    {
        Ok(true) => Ok(CreatedGraph {
            graph_uuid: id,
            txid: 0,
        }),
        Ok(false) => Err(ApiError::GraphCountLimit),
        // Lost a race with a create of the same name.
        Err(e) if db::is_constraint_error(&e) => Err(ApiError::GraphExists(name)),
        Err(e) => Err(e),
    }
}

/// §6.4. The graph is gone for the client at once (not listed, its name free,
/// every call on it `graph-not-exist`) and kept, rows and objects, for
/// `UNDELETE_RETENTION_DAYS`: `npm run admin -- undelete` brings it back, the
/// scheduled cleanup removes it after that (docs/RESTORE.md).
pub async fn delete_graph(ctx: &Ctx, user: &User, req: GraphRequest) -> ApiResult<Empty> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    if !maintenance::delete_graph(&ctx.db, &req.graph_uuid, &user.id, ctx.now_ms).await? {
        return Err(ApiError::GraphNotExist);
    }
    Ok(Empty {})
}

/// §6.5.
pub async fn get_txid(ctx: &Ctx, user: &User, req: GraphRequest) -> ApiResult<TxId> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    let g = q::find_graph(&ctx.db, &req.graph_uuid, &user.id).await?;
    Ok(TxId { txid: g.txid })
}

/// §6.6 (legacy; no caller in 0.10.x): by UUID, else by name.
pub async fn get_graph(ctx: &Ctx, user: &User, req: GetGraphRequest) -> ApiResult<GraphInfo> {
    let g = match (req.graph_uuid, req.graph_name) {
        (Some(id), _) => {
            check_graph_uuid(ctx, &id)?;
            q::find_graph(&ctx.db, &id, &user.id).await?
        }
        (None, Some(name)) => q::find_graph_by_name(&ctx.db, &name, &user.id)
            .await?
            .ok_or(ApiError::GraphNotExist)?,
        (None, None) => {
            return Err(ApiError::BadRequest(
                "GraphUUID or GraphName is required".into(),
            ))
        }
    };
    Ok(GraphInfo {
        graph_uuid: g.id,
        graph_name: g.name,
        txid: g.txid,
        storage_usage: g.storage_usage,
    })
}
