//! The client's token refresh (`POST /oauth2/token`, refresh-token grant,
//! PROTOCOL.md §3.3) and the token pairs it refreshes, which the admin
//! interface mints. Both mint ID tokens that carry a `jti` naming a row of
//! `tokens`, so revoking the row revokes them.

use serde_json::json;
use worker::{Request, Response, Result};

use crate::auth::jwt::{self, Claims};
use crate::auth::tokens::{format_refresh_token, parse_refresh_token, secrets_equal, sha256_hex};
use crate::ctx::Ctx;
use crate::db::{tokens as tq, users as uq};
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::protocol::ids::{new_uuid, random_bytes};

const DAY_MS: i64 = 24 * 3600 * 1000;

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
    let secret =
        hex::encode(random_bytes::<32>().map_err(|e| ApiError::Internal(format!("random: {e}")))?);
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
    jwt::sign(
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
        let email = uq::find_user(&ctx.db, &row.user_id)
            .await?
            .and_then(|u| u.email);
        let until = row.expires_at.div_euclid(1000);
        return Ok(Some((row.user_id, email, Some(row.id), until)));
    }
    let Ok(claims) = jwt::verify(token, &ctx.config.jwt_secret, ctx.now_secs()) else {
        return Ok(None);
    };
    // The same check as every API request: "not before" and the token row.
    match crate::auth::access::check_own_token(ctx, &claims).await {
        Ok(()) => {}
        Err(ApiError::Unauthorized) => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(Some((claims.sub, claims.email, claims.jti, claims.exp)))
}
