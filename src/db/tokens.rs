//! Revocable tokens and the admin listings.

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

#[derive(Debug, Deserialize, Serialize)]
pub struct UserSummary {
    pub id: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub graphs: i64,
    pub storage_usage: i64,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct GraphSummary {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub txid: i64,
    pub storage_usage: i64,
    pub created_at: i64,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct UserRow {
    pub id: String,
    pub email: Option<String>,
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
const LIST_USERS: &str = "SELECT u.id, u.email, u.created_at, COUNT(g.id) - COALESCE(SUM(g.deleted_at IS NOT NULL), 0) AS graphs, \
     COALESCE(SUM(g.storage_usage), 0) AS storage_usage FROM users u LEFT JOIN graphs g ON g.user_id = u.id \
     GROUP BY u.id ORDER BY u.created_at";
const LIST_ALL_GRAPHS: &str =
    "SELECT id, user_id, name, txid, storage_usage, created_at FROM graphs WHERE deleted_at IS NULL ORDER BY user_id, created_at";
/// ?1 graph id (any owner: admin only).
const FIND_ANY_GRAPH: &str =
    "SELECT id, user_id, name, txid, storage_usage, created_at FROM graphs WHERE id = ?1 AND deleted_at IS NULL";
/// ?1 id.
const FIND_USER: &str = "SELECT id, email FROM users WHERE id = ?1";
/// ?1 email.
const FIND_USER_BY_EMAIL: &str =
    "SELECT id, email FROM users WHERE email = ?1 ORDER BY created_at LIMIT 1";

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

pub async fn list_users(db: &Db) -> Result<Vec<UserSummary>, ApiError> {
    db.all(LIST_USERS, &[]).await
}

pub async fn list_all_graphs(db: &Db) -> Result<Vec<GraphSummary>, ApiError> {
    db.all(LIST_ALL_GRAPHS, &[]).await
}

pub async fn find_user_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, ApiError> {
    db.first(FIND_USER_BY_EMAIL, &[email.into()]).await
}

pub async fn find_user(db: &Db, id: &str) -> Result<Option<UserRow>, ApiError> {
    db.first(FIND_USER, &[id.into()]).await
}

/// A graph by id, whoever owns it (admin only).
pub async fn find_any_graph(db: &Db, id: &str) -> Result<Option<GraphSummary>, ApiError> {
    db.first(FIND_ANY_GRAPH, &[id.into()]).await
}
