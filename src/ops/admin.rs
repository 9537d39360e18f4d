//! The admin interface (`/admin/*`, bearer `ADMIN_TOKEN` compared in
//! constant time). The token pairs it mints are `auth/refresh.rs`'s.

use serde::Deserialize;
use serde_json::json;
use worker::{Method, Request, Response, Result};

use crate::api::parse;
use crate::auth::refresh::mint;
use crate::auth::tokens::secrets_equal;
use crate::auth::{jwt, pairing};
use crate::ctx::Ctx;
use crate::db::{accounts as aq, graphs as gq, tokens as tq, users as uq};
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::protocol::ids::new_uuid;

#[derive(Deserialize)]
struct EmailRequest {
    email: String,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
struct IdRequest {
    id: String,
}

#[derive(Deserialize)]
struct AccountRequest {
    account: String,
}

/// Serves `/admin/...`.
pub async fn handle(ctx: &Ctx, mut req: Request) -> Result<Response> {
    let path = req.path();
    let result = async {
        let expected = ctx
            .config
            .admin_token
            .as_ref()
            .ok_or_else(|| ApiError::NotFound("not found".into()))?;
        let header = req.headers().get("authorization").ok().flatten();
        let given = jwt::bearer_token(header.as_deref())?;
        if !secrets_equal(given.as_bytes(), expected) {
            return Err(ApiError::Unauthorized);
        }
        let method = req.method();
        let body = if method == Method::Post {
            req.bytes().await.unwrap_or_default()
        } else {
            Vec::new()
        };
        route(ctx, &method, &path, &body, &req).await
    }
    .await;
    match result {
        Ok(v) => http::json(200, v.to_string()),
        Err(e) => http::error(&e),
    }
}

/// Every admin route: the one table of `/admin/*` (this file's and
/// `admin_history.rs`'s), told by method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdminRoute<'a> {
    ListUsers,
    CreateUser,
    ListGraphs,
    Usage,
    MintToken,
    ListTokens,
    RevokeToken,
    ListAccounts,
    AllowAccount,
    RemoveAccount,
    RevokeAll,
    Export(&'a str),
    Deleted,
    History(&'a str),
    Undelete,
    Restore,
    /// Device pairing approved by the admin (auth/pairing.rs).
    Pair,
}

impl<'a> AdminRoute<'a> {
    fn of(method: &Method, path: &'a str) -> Option<Self> {
        let graph_route = |suffix: &str| {
            path.strip_prefix("/admin/graphs/")
                .filter(|_| path.ends_with(suffix))
                .map(|p| p.trim_end_matches(suffix))
        };
        Some(match (method, path) {
            (Method::Get, "/admin/users") => Self::ListUsers,
            (Method::Post, "/admin/users") => Self::CreateUser,
            (Method::Get, "/admin/graphs") => Self::ListGraphs,
            (Method::Get, "/admin/usage") => Self::Usage,
            (Method::Post, "/admin/tokens") => Self::MintToken,
            (Method::Get, "/admin/tokens") => Self::ListTokens,
            (Method::Post, "/admin/tokens/revoke") => Self::RevokeToken,
            (Method::Get, "/admin/accounts") => Self::ListAccounts,
            (Method::Post, "/admin/accounts") => Self::AllowAccount,
            (Method::Post, "/admin/accounts/remove") => Self::RemoveAccount,
            (Method::Post, "/admin/users/revoke-all") => Self::RevokeAll,
            (Method::Get, "/admin/deleted") => Self::Deleted,
            (Method::Post, "/admin/undelete") => Self::Undelete,
            (Method::Post, "/admin/restore") => Self::Restore,
            (Method::Post, "/admin/pair") => Self::Pair,
            (Method::Get, _) => match (graph_route("/export"), graph_route("/history")) {
                (Some(graph), _) => Self::Export(graph),
                (None, Some(graph)) => Self::History(graph),
                (None, None) => return None,
            },
            _ => return None,
        })
    }
}

/// The handler of each admin route.
async fn route(
    ctx: &Ctx,
    method: &Method,
    path: &str,
    body: &[u8],
    req: &Request,
) -> ApiResult<serde_json::Value> {
    use crate::ops::admin_history as history;
    let Some(route) = AdminRoute::of(method, path) else {
        return Err(ApiError::NotFound("not found".into()));
    };
    match route {
        AdminRoute::ListUsers => Ok(json!({ "users": uq::list_users(&ctx.db).await? })),
        AdminRoute::CreateUser => {
            let user = create_user(ctx, &parse::<EmailRequest>(body)?.email).await?;
            Ok(json!({ "id": user.id, "email": user.email }))
        }
        AdminRoute::ListGraphs => Ok(json!({ "graphs": gq::list_all_graphs(&ctx.db).await? })),
        AdminRoute::Usage => usage(ctx).await,
        AdminRoute::MintToken => mint_token(ctx, parse(body)?).await,
        AdminRoute::ListTokens => list_tokens(ctx, query(req, "email").as_deref()).await,
        AdminRoute::RevokeToken => revoke_token(ctx, parse(body)?).await,
        AdminRoute::ListAccounts => list_accounts(ctx).await,
        AdminRoute::AllowAccount => allow_account(ctx, parse(body)?).await,
        AdminRoute::RemoveAccount => remove_account(ctx, parse(body)?).await,
        AdminRoute::RevokeAll => revoke_all(ctx, parse(body)?).await,
        AdminRoute::Export(graph) => export_page(ctx, graph, query(req, "after")).await,
        AdminRoute::Deleted => history::deleted(ctx).await,
        AdminRoute::History(graph) => {
            history::history(ctx, graph, query(req, "before").as_deref()).await
        }
        AdminRoute::Undelete => history::undelete(ctx, parse(body)?).await,
        AdminRoute::Restore => history::restore(ctx, parse(body)?).await,
        AdminRoute::Pair => pairing::admin_pair(ctx, body).await,
    }
}

/// A query parameter of the request.
fn query(req: &Request, name: &str) -> Option<String> {
    req.url().ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    })
}

/// `GET /admin/usage`: counts and bytes of users and graphs.
async fn usage(ctx: &Ctx) -> ApiResult<serde_json::Value> {
    let users = uq::list_users(&ctx.db).await?;
    let graphs = gq::list_all_graphs(&ctx.db).await?;
    // Deleted graphs still kept for undelete (admin_history.rs) use storage too.
    let deleted = crate::db::history::list_deleted(&ctx.db).await?;
    let live: i64 = graphs.iter().map(|g| g.storage_usage).sum();
    let kept: i64 = deleted.iter().map(|g| g.storage_usage).sum();
    Ok(json!({
        "users": users.len(),
        "graphs": graphs.len(),
        "storage_bytes": live + kept,
        "deleted_graphs": deleted.len(),
        "deleted_graphs_bytes": kept,
        "version_retention_days": ctx.config.version_retention_days,
        "undelete_retention_days": ctx.config.undelete_retention_days,
    }))
}

/// `POST /admin/tokens`: a new token pair for an existing user.
async fn mint_token(ctx: &Ctx, r: EmailRequest) -> ApiResult<serde_json::Value> {
    let user = uq::find_user_by_email(&ctx.db, &uq::normalize_email(&r.email)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user; create it first".into()))?;
    let ttl_days = ctx.config.refresh_token_ttl_days;
    mint(
        ctx,
        &user.id,
        user.email.as_deref(),
        r.label.as_deref(),
        ttl_days,
    )
    .await
}

/// `GET /admin/tokens?email=`: a user's tokens, without their secrets.
async fn list_tokens(ctx: &Ctx, email: Option<&str>) -> ApiResult<serde_json::Value> {
    let email = email.ok_or_else(|| ApiError::BadRequest("?email= is required".into()))?;
    let user = uq::find_user_by_email(&ctx.db, &uq::normalize_email(email)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
    let tokens: Vec<_> = tq::list_tokens(&ctx.db, &user.id)
        .await?
        .into_iter()
        .map(|t| json!({"id": t.id, "label": t.label, "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at}))
        .collect();
    Ok(json!({ "tokens": tokens }))
}

/// `POST /admin/tokens/revoke`.
async fn revoke_token(ctx: &Ctx, r: IdRequest) -> ApiResult<serde_json::Value> {
    if tq::revoke_token(&ctx.db, &r.id, ctx.now_ms).await? {
        Ok(json!({ "revoked": r.id }))
    } else {
        Err(ApiError::NotFound(
            "no such token, or already revoked".into(),
        ))
    }
}

/// `POST /admin/accounts`: adds a Logseq account to the allow-list.
async fn allow_account(ctx: &Ctx, r: AccountRequest) -> ApiResult<serde_json::Value> {
    let account = account_entry(&r.account)?;
    let added = aq::allow(&ctx.db, &account, ctx.now_ms).await?;
    Ok(json!({ "allowed": account, "added": added }))
}

/// `POST /admin/accounts/remove`: removes one the admin added.
async fn remove_account(ctx: &Ctx, r: AccountRequest) -> ApiResult<serde_json::Value> {
    let account = account_entry(&r.account)?;
    if ctx.config.allowed_logseq_accounts.contains(&account) {
        return Err(ApiError::BadRequest(
            "this account is allowed by ALLOWED_LOGSEQ_ACCOUNTS, set at deploy: \
             remove it there and deploy again"
                .into(),
        ));
    }
    if aq::disallow(&ctx.db, &account).await? {
        Ok(json!({ "removed": account }))
    } else {
        Err(ApiError::NotFound("not on the allow-list".into()))
    }
}

/// `POST /admin/users/revoke-all`: every token of a user, issued so far.
async fn revoke_all(ctx: &Ctx, r: EmailRequest) -> ApiResult<serde_json::Value> {
    let email = uq::normalize_email(&r.email)?;
    // Ceiling: a token issued in this very second is refused too.
    let not_before = ctx.now_secs() + 1;
    let (users, tokens) = aq::revoke_all(&ctx.db, &email, not_before, ctx.now_ms).await?;
    if users == 0 {
        return Err(ApiError::NotFound("no such user".into()));
    }
    Ok(json!({ "users": users, "tokens_revoked": tokens, "not_before": not_before }))
}

/// Files per export page (each gets a presigned URL: bounded CPU per request).
const EXPORT_PAGE: i64 = 500;

/// One page of a graph's export: its keys (first page) and current files
/// with their metadata and download URLs. `?after=<name>` continues.
async fn export_page(
    ctx: &Ctx,
    graph_id: &str,
    after: Option<String>,
) -> ApiResult<serde_json::Value> {
    crate::api::check_graph_uuid(ctx, graph_id)?;
    let graph = gq::find_any_graph(&ctx.db, graph_id)
        .await?
        .ok_or(ApiError::GraphNotExist)?;
    let after = after.unwrap_or_default();
    if !after.is_empty() && !crate::protocol::ids::is_encrypted_name(&after) {
        return Err(ApiError::BadRequest("invalid after".into()));
    }
    let mut rows =
        crate::db::files::list_files_page(&ctx.db, graph_id, &after, EXPORT_PAGE + 1).await?;
    let more = rows.len() as i64 > EXPORT_PAGE;
    rows.truncate(EXPORT_PAGE as usize);
    let next = if more {
        rows.last().map(|r| r.path.clone())
    } else {
        None
    };
    let keys = if after.is_empty() {
        gq::find_keys(&ctx.db, graph_id).await?
    } else {
        None
    };
    let mut files = Vec::with_capacity(rows.len());
    for r in rows {
        files.push(json!({
            "name": r.path,
            "checksum": r.checksum,
            "size": r.size,
            "last_modified": r.last_modified,
            "txid": r.txid,
            "url": crate::s3::blobs::download_url(ctx, &r.blob_key)?,
        }));
    }
    Ok(json!({
        "graph": graph,
        "keys": keys.map(|k| json!({"public-key": k.public_key, "encrypted-private-key": k.encrypted_private_key})),
        "files": files,
        "next": next,
    }))
}

fn account_entry(entry: &str) -> ApiResult<String> {
    crate::protocol::accounts::normalize_account(entry).ok_or_else(|| {
        ApiError::BadRequest("an account is a verified email or a Cognito sub (UUID)".into())
    })
}

/// The allow-list: the deploy var's entries, then the ones added here.
async fn list_accounts(ctx: &Ctx) -> ApiResult<serde_json::Value> {
    let mut accounts: Vec<serde_json::Value> = ctx
        .config
        .allowed_logseq_accounts
        .iter()
        .map(|a| json!({ "account": a, "source": "deploy" }))
        .collect();
    for row in aq::list_allowed(&ctx.db).await? {
        accounts.push(
            json!({ "account": row.account, "source": "admin", "created_at": row.created_at }),
        );
    }
    Ok(json!({ "accounts": accounts }))
}

/// Creates a user for an email, or returns the existing one.
async fn create_user(ctx: &Ctx, email: &str) -> ApiResult<uq::UserRow> {
    let email = uq::normalize_email(email)?;
    if let Some(u) = uq::find_user_by_email(&ctx.db, &email).await? {
        return Ok(u);
    }
    let id = new_uuid().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    uq::ensure_user(&ctx.db, &id, Some(&email), ctx.now_ms).await?;
    Ok(uq::UserRow {
        id,
        email: Some(email),
    })
}

#[cfg(test)]
mod route_tests {
    use super::*;

    #[test]
    fn the_route_table_tells_routes_by_method_and_path() {
        let g = "5e4ed04f-1d37-4cef-8210-eea624f2aef5";
        let export = format!("/admin/graphs/{g}/export");
        let history = format!("/admin/graphs/{g}/history");
        assert_eq!(
            AdminRoute::of(&Method::Get, &export),
            Some(AdminRoute::Export(g))
        );
        assert_eq!(
            AdminRoute::of(&Method::Get, &history),
            Some(AdminRoute::History(g))
        );
        assert_eq!(AdminRoute::of(&Method::Post, &export), None);
        assert_eq!(
            AdminRoute::of(&Method::Get, "/admin/users"),
            Some(AdminRoute::ListUsers)
        );
        assert_eq!(
            AdminRoute::of(&Method::Post, "/admin/users"),
            Some(AdminRoute::CreateUser)
        );
        assert_eq!(
            AdminRoute::of(&Method::Post, "/admin/restore"),
            Some(AdminRoute::Restore)
        );
        assert_eq!(AdminRoute::of(&Method::Get, "/admin/restore"), None);
        assert_eq!(AdminRoute::of(&Method::Get, "/admin/nope"), None);
    }
}
