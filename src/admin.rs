//! The admin interface (`/admin/*`, bearer `ADMIN_TOKEN` compared in
//! constant time) and the client's token refresh (`POST /oauth2/token`,
//! refresh-token grant, PROTOCOL.md §3.3). Both mint ID tokens that carry a
//! `jti` naming a row of `tokens`, so revoking the row revokes them.

use serde::Deserialize;
use serde_json::json;
use worker::{Method, Request, Response, Result};

use crate::api::Ctx;
use crate::auth::{self, Claims};
use crate::db::{accounts as aq, graphs as gq, tokens as tq};
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::ids::{new_uuid, random_bytes};
use crate::tokens::{format_refresh_token, parse_refresh_token, secrets_equal, sha256_hex};

const DAY_MS: i64 = 24 * 3600 * 1000;

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
pub async fn handle(ctx: &Ctx, mut req: Request, path: &str) -> Result<Response> {
    let result = async {
        let expected = ctx
            .config
            .admin_token
            .as_ref()
            .ok_or_else(|| ApiError::NotFound("not found".into()))?;
        let header = req.headers().get("authorization").ok().flatten();
        let given = auth::bearer_token(header.as_deref())?;
        if !secrets_equal(given.as_bytes(), expected) {
            return Err(ApiError::Unauthorized);
        }
        let method = req.method();
        let body = if method == Method::Post {
            req.bytes().await.unwrap_or_default()
        } else {
            Vec::new()
        };
        route(ctx, &method, path, &body, &req).await
    }
    .await;
    match result {
        Ok(v) => http::json(200, v.to_string()),
        Err(e) => http::error(&e),
    }
}

async fn route(
    ctx: &Ctx,
    method: &Method,
    path: &str,
    body: &[u8],
    req: &Request,
) -> ApiResult<serde_json::Value> {
    match (method, path) {
        (Method::Get, "/admin/users") => Ok(json!({ "users": tq::list_users(&ctx.db).await? })),
        (Method::Post, "/admin/users") => {
            let r: EmailRequest = crate::api::parse(body)?;
            let user = create_user(ctx, &r.email).await?;
            Ok(json!({ "id": user.id, "email": user.email }))
        }
        (Method::Get, "/admin/graphs") => {
            Ok(json!({ "graphs": tq::list_all_graphs(&ctx.db).await? }))
        }
        (Method::Get, "/admin/usage") => {
            let users = tq::list_users(&ctx.db).await?;
            let graphs = tq::list_all_graphs(&ctx.db).await?;
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
        (Method::Post, "/admin/tokens") => {
            let r: EmailRequest = crate::api::parse(body)?;
            let user = tq::find_user_by_email(&ctx.db, &normalize_email(&r.email)?)
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
        (Method::Get, "/admin/tokens") => {
            let email = req
                .url()
                .ok()
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "email")
                        .map(|(_, v)| v.to_string())
                })
                .ok_or_else(|| ApiError::BadRequest("?email= is required".into()))?;
            let user = tq::find_user_by_email(&ctx.db, &normalize_email(&email)?)
                .await?
                .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
            let tokens: Vec<_> = tq::list_tokens(&ctx.db, &user.id)
                .await?
                .into_iter()
                .map(|t| json!({"id": t.id, "label": t.label, "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at}))
                .collect();
            Ok(json!({ "tokens": tokens }))
        }
        (Method::Post, "/admin/tokens/revoke") => {
            let r: IdRequest = crate::api::parse(body)?;
            if tq::revoke_token(&ctx.db, &r.id, ctx.now_ms).await? {
                Ok(json!({ "revoked": r.id }))
            } else {
                Err(ApiError::NotFound(
                    "no such token, or already revoked".into(),
                ))
            }
        }
        (Method::Get, "/admin/accounts") => list_accounts(ctx).await,
        (Method::Post, "/admin/pair") => crate::pairing::admin_pair(ctx, body).await,
        (Method::Post, "/admin/accounts") => {
            let r: AccountRequest = crate::api::parse(body)?;
            let account = account_entry(&r.account)?;
            let added = aq::allow(&ctx.db, &account, ctx.now_ms).await?;
            Ok(json!({ "allowed": account, "added": added }))
        }
        (Method::Post, "/admin/accounts/remove") => {
            let r: AccountRequest = crate::api::parse(body)?;
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
        (Method::Post, "/admin/users/revoke-all") => {
            let r: EmailRequest = crate::api::parse(body)?;
            let email = normalize_email(&r.email)?;
            // Ceiling: a token issued in this very second is refused too.
            let not_before = ctx.now_secs() + 1;
            let (users, tokens) = aq::revoke_all(&ctx.db, &email, not_before, ctx.now_ms).await?;
            if users == 0 {
                return Err(ApiError::NotFound("no such user".into()));
            }
            Ok(json!({ "users": users, "tokens_revoked": tokens, "not_before": not_before }))
        }
        (Method::Get, p) if p.starts_with("/admin/graphs/") && p.ends_with("/export") => {
            let graph_id = p
                .trim_start_matches("/admin/graphs/")
                .trim_end_matches("/export");
            export_page(ctx, graph_id, req).await
        }
        // Getting notes back: deleted graphs, undelete, restore (admin_history.rs).
        _ => match crate::admin_history::route(ctx, method, path, body, req).await {
            Some(answer) => answer,
            None => Err(ApiError::NotFound("not found".into())),
        },
    }
}

/// Files per export page (each gets a presigned URL: bounded CPU per request).
const EXPORT_PAGE: i64 = 500;

/// One page of a graph's export: its keys (first page) and current files
/// with their metadata and download URLs. `?after=<name>` continues.
async fn export_page(ctx: &Ctx, graph_id: &str, req: &Request) -> ApiResult<serde_json::Value> {
    crate::api::check_graph_uuid(ctx, graph_id)?;
    let graph = tq::find_any_graph(&ctx.db, graph_id)
        .await?
        .ok_or(ApiError::GraphNotExist)?;
    let after = req
        .url()
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "after")
                .map(|(_, v)| v.to_string())
        })
        .unwrap_or_default();
    if !after.is_empty() && !crate::ids::is_encrypted_name(&after) {
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
            "url": crate::blobs::download_url(ctx, &r.blob_key)?,
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
    crate::cognito::normalize_account(entry).ok_or_else(|| {
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

pub(crate) fn normalize_email(email: &str) -> ApiResult<String> {
    let e = email.trim().to_ascii_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'));
    if valid && !e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(e)
    } else {
        Err(ApiError::BadRequest("invalid email".into()))
    }
}

/// Creates a user for an email, or returns the existing one.
async fn create_user(ctx: &Ctx, email: &str) -> ApiResult<tq::UserRow> {
    let email = normalize_email(email)?;
    if let Some(u) = tq::find_user_by_email(&ctx.db, &email).await? {
        return Ok(u);
    }
    let id = new_uuid().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    gq::ensure_user(&ctx.db, &id, Some(&email), ctx.now_ms).await?;
    Ok(tq::UserRow {
        id,
        email: Some(email),
    })
}

/// A new revocable token pair: an ID token (bearer for the API) and a refresh
/// token that lives `ttl_days` (the CLI's or a paired browser's lifetime).
pub(crate) async fn mint(
    ctx: &Ctx,
    user_id: &str,
    email: Option<&str>,
    label: Option<&str>,
    ttl_days: i64,
) -> ApiResult<serde_json::Value> {
    let id = new_uuid().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    let secret: String = random_bytes::<32>()
        .map_err(|e| ApiError::Internal(format!("random: {e}")))?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let row = tq::TokenRow {
        id: id.clone(),
        user_id: user_id.to_string(),
        secret_hash: sha256_hex(secret.as_bytes()),
        label: label.map(str::to_string),
        created_at: ctx.now_ms,
        expires_at: ctx.now_ms + ttl_days * DAY_MS,
        revoked_at: None,
    };
    tq::insert_token(&ctx.db, &row).await?;
    let id_token = id_token(
        ctx,
        user_id,
        email,
        Some(&id),
        row.expires_at.div_euclid(1000),
    )?;
    Ok(json!({
        "id": id,
        "id_token": id_token,
        "refresh_token": format_refresh_token(&id, &secret),
        "expires_in": ctx.config.id_token_ttl_secs,
    }))
}

/// An ID token of this server that expires after the configured lifetime,
/// or at `until` (s) if sooner: a token never outlives what it came from.
fn id_token(
    ctx: &Ctx,
    user_id: &str,
    email: Option<&str>,
    jti: Option<&str>,
    until: i64,
) -> ApiResult<String> {
    let now = ctx.now_secs();
    auth::sign(
        &Claims {
            sub: user_id.to_string(),
            exp: (now + ctx.config.id_token_ttl_secs).min(until),
            iat: Some(now),
            nbf: None,
            email: email.map(str::to_string),
            jti: jti.map(str::to_string),
        },
        &ctx.config.jwt_secret,
    )
}

/// `POST /oauth2/token` with `grant_type=refresh_token&refresh_token=...`
/// (form-encoded, as the app sends it, LS user.cljs:134-140). The refresh
/// token is one this server minted (`lsrt.<id>.<secret>`), or a still-valid
/// ID token of ours pasted into the app as its refresh token (what a user
/// without the admin interface has). A bad token is `400
/// {"error":"invalid_grant"}`, on which the app logs out (user.cljs:142-177).
pub async fn refresh(ctx: &Ctx, mut req: Request) -> Result<Response> {
    let body = req.bytes().await.unwrap_or_default();
    let mut grant = None;
    let mut token = None;
    for (k, v) in worker::url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "grant_type" => grant = Some(v.to_string()),
            "refresh_token" => token = Some(v.to_string()),
            _ => {}
        }
    }
    let oauth_error = |e: &str| http::json(400, json!({ "error": e }).to_string());
    if grant.as_deref() != Some("refresh_token") {
        return oauth_error("unsupported_grant_type");
    }
    let subject = match refresh_subject(ctx, token.as_deref().unwrap_or_default()).await {
        Ok(Some(subject)) => subject,
        Ok(None) => return oauth_error("invalid_grant"),
        Err(e) => return http::error(&e),
    };
    let (user_id, email, jti, until) = subject;
    let expires_in = (ctx.config.id_token_ttl_secs).min(until - ctx.now_secs());
    match id_token(ctx, &user_id, email.as_deref(), jti.as_deref(), until) {
        Ok(t) => http::json(
            200,
            json!({"id_token": t, "access_token": t, "token_type": "Bearer", "expires_in": expires_in})
                .to_string(),
        ),
        Err(e) => http::error(&e),
    }
}

/// What a refresh yields: user id, email, token row, and the time (s) the
/// new ID token may live until, which is the source's own expiry.
type Subject = (String, Option<String>, Option<String>, i64);

/// Who a refresh token stands for, or None.
async fn refresh_subject(ctx: &Ctx, token: &str) -> ApiResult<Option<Subject>> {
    if let Some((id, secret)) = parse_refresh_token(token) {
        let Some(row) = tq::find_token(&ctx.db, id).await?.filter(|t| {
            t.revoked_at.is_none()
                && t.expires_at > ctx.now_ms
                && secrets_equal(
                    sha256_hex(secret.as_bytes()).as_bytes(),
                    t.secret_hash.as_bytes(),
                )
        }) else {
            return Ok(None);
        };
        let email = tq::find_user(&ctx.db, &row.user_id)
            .await?
            .and_then(|u| u.email);
        let until = row.expires_at.div_euclid(1000);
        return Ok(Some((row.user_id, email, Some(row.id), until)));
    }
    let Ok(claims) = auth::verify(token, &ctx.config.jwt_secret, ctx.now_secs()) else {
        return Ok(None);
    };
    // The same check as every API request: "not before" and the token row.
    match crate::access::check_own_token(ctx, &claims).await {
        Ok(()) => {}
        Err(ApiError::Unauthorized) => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(Some((claims.sub, claims.email, claims.jti, claims.exp)))
}
