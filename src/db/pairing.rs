//! Device pairing (src/pairing.rs, migration 0007): pending pairings and the
//! fixed-window counters of its rate limits. Every state change is one
//! conditional statement, so two racing requests cannot both approve a code,
//! both take a token, or both get the last slot of a limit.

use serde::Deserialize;

use super::Db;
use crate::error::ApiError;

/// ?1 now (ms).
const FORGET_EXPIRED: &str = "DELETE FROM pairings WHERE expires_at <= ?1";
/// ?1 counters of windows that started before this (ms) are done.
const FORGET_OLD_WINDOWS: &str = "DELETE FROM pairing_limits WHERE window_start < ?1";
/// ?1 poll hash, ?2 code hash, ?3 label, ?4 now, ?5 expires.
const INSERT_PAIRING: &str =
    "INSERT INTO pairings (poll_hash, code_hash, label, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5)";
/// ?1 poll hash.
const FIND_BY_POLL: &str =
    "SELECT user_id, expires_at, consumed_at FROM pairings WHERE poll_hash = ?1";
/// ?1 poll hash, ?2 now: takes an approved, unexpired, unused pairing, once.
const CLAIM: &str = "UPDATE pairings SET consumed_at = ?2 WHERE poll_hash = ?1 \
     AND user_id IS NOT NULL AND consumed_at IS NULL AND expires_at > ?2 \
     RETURNING user_id, label";
/// ?1 code hash, ?2 user id, ?3 now: approves a pending, unexpired pairing, once.
const APPROVE: &str = "UPDATE pairings SET user_id = ?2, approved_at = ?3 WHERE code_hash = ?1 \
     AND user_id IS NULL AND consumed_at IS NULL AND expires_at > ?3 \
     RETURNING label, created_at";
/// ?1 scope, ?2 window start, ?3 limit: one more in this window unless the
/// limit is reached (then no row is returned).
const RESERVE: &str = "INSERT INTO pairing_limits (scope, window_start, count) VALUES (?1, ?2, 1) \
     ON CONFLICT (scope, window_start) DO UPDATE SET count = count + 1 WHERE count < ?3 \
     RETURNING count";
/// ?1 scope, ?2 window start: gives a reserved slot back.
const RELEASE: &str = "UPDATE pairing_limits SET count = count - 1 \
     WHERE scope = ?1 AND window_start = ?2 AND count > 0";

/// A pairing as its poll sees it.
#[derive(Debug, Deserialize)]
pub struct PollRow {
    pub user_id: Option<String>,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

/// An approved pairing taken by its poll.
#[derive(Debug, Deserialize)]
pub struct Claimed {
    pub user_id: String,
    pub label: String,
}

/// A pairing just approved.
#[derive(Debug, Deserialize)]
pub struct Approved {
    pub label: String,
    pub created_at: i64,
}

/// A new pending pairing, in the batch that drops expired rows and counters
/// of past windows.
pub async fn insert(
    db: &Db,
    poll_hash: &str,
    code_hash: &str,
    label: &str,
    now: i64,
    expires_at: i64,
    windows_before: i64,
) -> Result<(), ApiError> {
    db.batch(vec![
        db.stmt(FORGET_EXPIRED, &[now.into()])?,
        db.stmt(FORGET_OLD_WINDOWS, &[windows_before.into()])?,
        db.stmt(
            INSERT_PAIRING,
            &[
                poll_hash.into(),
                code_hash.into(),
                label.into(),
                now.into(),
                expires_at.into(),
            ],
        )?,
    ])
    .await?;
    Ok(())
}

/// Drops expired pairings and counters of past windows (scheduled cleanup).
pub async fn forget_expired(db: &Db, now: i64, windows_before: i64) -> Result<(), ApiError> {
    db.batch(vec![
        db.stmt(FORGET_EXPIRED, &[now.into()])?,
        db.stmt(FORGET_OLD_WINDOWS, &[windows_before.into()])?,
    ])
    .await?;
    Ok(())
}

pub async fn find_by_poll(db: &Db, poll_hash: &str) -> Result<Option<PollRow>, ApiError> {
    db.first(FIND_BY_POLL, &[poll_hash.into()]).await
}

pub async fn claim(db: &Db, poll_hash: &str, now: i64) -> Result<Option<Claimed>, ApiError> {
    db.first(CLAIM, &[poll_hash.into(), now.into()]).await
}

pub async fn approve(
    db: &Db,
    code_hash: &str,
    user_id: &str,
    now: i64,
) -> Result<Option<Approved>, ApiError> {
    db.first(APPROVE, &[code_hash.into(), user_id.into(), now.into()])
        .await
}

/// Takes one slot of `scope`'s window; false when the limit is reached.
pub async fn reserve(
    db: &Db,
    scope: &str,
    window_start: i64,
    limit: i64,
) -> Result<bool, ApiError> {
    let row: Option<serde_json::Value> = db
        .first(RESERVE, &[scope.into(), window_start.into(), limit.into()])
        .await?;
    Ok(row.is_some())
}

/// Gives back a slot taken by [`reserve`] (the attempt was not a wrong code).
pub async fn release(db: &Db, scope: &str, window_start: i64) -> Result<(), ApiError> {
    db.run(RELEASE, &[scope.into(), window_start.into()])
        .await?;
    Ok(())
}
