//! Revocable tokens: one row per minted token pair (`tokens`), the target
//! of revocation.

use serde::{Deserialize, Serialize};

use super::{Arg, Db};
use crate::error::ApiError;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenRow {
    pub id: String,
    pub user_id: String,
    pub secret_hash: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// ?1 id, ?2 user, ?3 secret hash, ?4 label, ?5 now, ?6 expires.
const INSERT_TOKEN: &str =
    "INSERT INTO tokens (id, user_id, secret_hash, label, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// ?1 id.
const FIND_TOKEN: &str =
    "SELECT id, user_id, secret_hash, label, created_at, expires_at, revoked_at FROM tokens WHERE id = ?1";
/// ?1 id, ?2 now.
const REVOKE_TOKEN: &str = "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
/// ?1 user id.
const LIST_TOKENS: &str =
    "SELECT id, user_id, secret_hash, label, created_at, expires_at, revoked_at FROM tokens \
     WHERE user_id = ?1 ORDER BY created_at";

pub async fn insert_token(db: &Db, row: &TokenRow) -> Result<(), ApiError> {
    let label = row.label.as_deref().map_or(Arg::Null, Arg::Text);
    db.run(
        INSERT_TOKEN,
        &[
            (&row.id).into(),
            (&row.user_id).into(),
            (&row.secret_hash).into(),
            label,
            row.created_at.into(),
            row.expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn find_token(db: &Db, id: &str) -> Result<Option<TokenRow>, ApiError> {
    db.first(FIND_TOKEN, &[id.into()]).await
}

/// Revokes a token; false when it was unknown or already revoked.
pub async fn revoke_token(db: &Db, id: &str, now: i64) -> Result<bool, ApiError> {
    Ok(db.run(REVOKE_TOKEN, &[id.into(), now.into()]).await? == 1)
}

pub async fn list_tokens(db: &Db, user_id: &str) -> Result<Vec<TokenRow>, ApiError> {
    db.all(LIST_TOKENS, &[user_id.into()]).await
}
