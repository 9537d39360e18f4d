//! User records: created on first sight, found by id or email, listed for
//! the admin, and the bytes they store.

use serde::{Deserialize, Serialize};

use super::{Arg, Db};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, Serialize)]
pub struct UserSummary {
    pub id: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub graphs: i64,
    pub storage_usage: i64,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct UserRow {
    pub id: String,
    pub email: Option<String>,
}

const LIST_USERS: &str = "SELECT u.id, u.email, u.created_at, COUNT(g.id) - COALESCE(SUM(g.deleted_at IS NOT NULL), 0) AS graphs, \
     COALESCE(SUM(g.storage_usage), 0) AS storage_usage FROM users u LEFT JOIN graphs g ON g.user_id = u.id \
     GROUP BY u.id ORDER BY u.created_at";
/// ?1 id.
const FIND_USER: &str = "SELECT id, email FROM users WHERE id = ?1";
/// ?1 email.
const FIND_USER_BY_EMAIL: &str =
    "SELECT id, email FROM users WHERE email = ?1 ORDER BY created_at LIMIT 1";

pub async fn list_users(db: &Db) -> Result<Vec<UserSummary>, ApiError> {
    db.all(LIST_USERS, &[]).await
}

pub async fn find_user_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, ApiError> {
    db.first(FIND_USER_BY_EMAIL, &[email.into()]).await
}

pub async fn find_user(db: &Db, id: &str) -> Result<Option<UserRow>, ApiError> {
    db.first(FIND_USER, &[id.into()]).await
}

/// ?1 id, ?2 email, ?3 now. Creates the user row on first sight.
const INSERT_USER: &str =
    "INSERT INTO users (id, email, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING";
/// ?1 user id. The storage of deleted graphs still kept for undelete counts
/// (their objects are still stored); the count is of live graphs.
const USER_STORAGE: &str =
    "SELECT SUM(storage_usage) AS total, COALESCE(SUM(deleted_at IS NULL), 0) AS count \
     FROM graphs WHERE user_id = ?1";

pub async fn ensure_user(
    db: &Db,
    user_id: &str,
    email: Option<&str>,
    now: i64,
) -> Result<(), ApiError> {
    db.run(INSERT_USER, &user_args(user_id, email, now)).await?;
    Ok(())
}

/// `ensure_user` as part of the credential verdict (`auth::access::check`,
/// after the credential row admitted the caller): not held by the gate.
pub async fn create_user_as_verdict(
    db: &Db,
    user_id: &str,
    email: Option<&str>,
    now: i64,
) -> Result<(), ApiError> {
    db.run_as_verdict(INSERT_USER, &user_args(user_id, email, now))
        .await?;
    Ok(())
}

fn user_args<'a>(user_id: &'a str, email: Option<&'a str>, now: i64) -> [Arg<'a>; 3] {
    [
        user_id.into(),
        email.map_or(Arg::Null, Arg::Text),
        now.into(),
    ]
}

/// Total stored bytes and graph count of a user.
pub async fn user_storage(db: &Db, user_id: &str) -> Result<(i64, i64), ApiError> {
    let s: Option<Sum> = db.first(USER_STORAGE, &[user_id.into()]).await?;
    Ok(s.map_or((0, 0), |s| (s.total.unwrap_or(0), s.count)))
}

#[derive(Debug, Deserialize)]
struct Sum {
    total: Option<i64>,
    count: i64,
}

/// An email as user records keep it: trimmed, lowercased, plausibly an address.
pub fn normalize_email(email: &str) -> ApiResult<String> {
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
