//! The per-request credential check (one row read) and what the owner
//! manages about accounts: the Logseq-account allow-list and per-user
//! revocation (`users.not_before`, migration 0005).

use serde::{Deserialize, Serialize};

use super::{Arg, Db};
use crate::error::ApiError;

/// What the credential check needs about a caller, read in one query.
#[derive(Debug, Deserialize)]
pub struct AuthRow {
    pub user_exists: i64,
    /// Unix seconds; credentials issued before it are refused.
    pub not_before: i64,
    /// 1 when the named token row exists, belongs to the user and is live.
    pub token_live: i64,
    /// 1 when the allow-list in D1 names the account (only looked up on request).
    pub allowed: i64,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct AllowedRow {
    pub account: String,
    pub created_at: i64,
}

/// ?1 user id, ?2 token id ('' for none), ?3 now (ms), ?4 1 to look up the
/// allow-list, ?5 email ('' for none). `(SELECT 1)` keeps one result row
/// when the user has none yet; the CASE reads `allowed_accounts` only when asked.
const AUTH_ROW: &str = "SELECT u.id IS NOT NULL AS user_exists, COALESCE(u.not_before, 0) AS not_before, \
     t.id IS NOT NULL AS token_live, \
     CASE WHEN ?4 = 1 THEN EXISTS (SELECT 1 FROM allowed_accounts WHERE account IN (?1, ?5)) ELSE 0 END AS allowed \
     FROM (SELECT 1) AS one LEFT JOIN users u ON u.id = ?1 \
     LEFT JOIN tokens t ON t.id = ?2 AND t.user_id = ?1 AND t.revoked_at IS NULL AND t.expires_at > ?3";
/// ?1 account, ?2 now (ms).
const INSERT_ALLOWED: &str =
    "INSERT INTO allowed_accounts (account, created_at) VALUES (?1, ?2) ON CONFLICT (account) DO NOTHING";
const LIST_ALLOWED: &str =
    "SELECT account, created_at FROM allowed_accounts ORDER BY created_at, account";
/// ?1 account.
const DELETE_ALLOWED: &str = "DELETE FROM allowed_accounts WHERE account = ?1";
/// ?1 email (lowercase), ?2 not-before (s).
const SET_NOT_BEFORE: &str = "UPDATE users SET not_before = ?2 WHERE lower(email) = ?1";
/// ?1 email (lowercase), ?2 now (ms).
const REVOKE_USER_TOKENS: &str = "UPDATE tokens SET revoked_at = ?2 WHERE revoked_at IS NULL \
     AND user_id IN (SELECT id FROM users WHERE lower(email) = ?1)";

pub async fn auth_row(
    db: &Db,
    user_id: &str,
    token_id: Option<&str>,
    now_ms: i64,
    allow_list_email: Option<&str>,
) -> Result<AuthRow, ApiError> {
    let args = [
        user_id.into(),
        token_id.unwrap_or_default().into(),
        now_ms.into(),
        i64::from(allow_list_email.is_some()).into(),
        allow_list_email.unwrap_or_default().into(),
    ];
    db.first(AUTH_ROW, &args)
        .await?
        .ok_or_else(|| ApiError::Internal("credential check returned no row".into()))
}

/// Adds an allow-list entry; false when it was there already.
pub async fn allow(db: &Db, account: &str, now_ms: i64) -> Result<bool, ApiError> {
    Ok(db
        .run(INSERT_ALLOWED, &[account.into(), now_ms.into()])
        .await?
        == 1)
}

pub async fn list_allowed(db: &Db) -> Result<Vec<AllowedRow>, ApiError> {
    db.all(LIST_ALLOWED, &[]).await
}

/// Removes an allow-list entry; false when it was not there.
pub async fn disallow(db: &Db, account: &str) -> Result<bool, ApiError> {
    Ok(db.run(DELETE_ALLOWED, &[account.into()]).await? == 1)
}

/// Refuses every credential of the users with this email issued before
/// `not_before` (s) and revokes their refresh tokens, in one batch.
/// Returns (users, tokens revoked).
pub async fn revoke_all(
    db: &Db,
    email: &str,
    not_before: i64,
    now_ms: i64,
) -> Result<(usize, usize), ApiError> {
    let results = db
        .batch(vec![
            db.stmt(REVOKE_USER_TOKENS, &[Arg::Text(email), now_ms.into()])?,
            db.stmt(SET_NOT_BEFORE, &[Arg::Text(email), not_before.into()])?,
        ])
        .await?;
    let n = |i: usize| results.get(i).map_or(0, super::changes);
    Ok((n(1), n(0)))
}
