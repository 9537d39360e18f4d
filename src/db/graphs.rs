//! Graphs, encryption keys and salts; graphs by any owner for the admin.

use serde::{Deserialize, Serialize};

use super::Db;
use crate::error::ApiError;

#[derive(Debug, Clone, Deserialize)]
pub struct GraphRow {
    pub id: String,
    pub name: String,
    pub txid: i64,
    pub storage_usage: i64,
}

#[derive(Debug, Deserialize, serde::Serialize)]
pub struct KeysRow {
    pub public_key: String,
    pub encrypted_private_key: String,
}

#[derive(Debug, Deserialize)]
pub struct SaltRow {
    pub value: String,
    pub expired_at: i64,
}

/// ?1 user id.
const LIST_GRAPHS: &str =
    "SELECT id, user_id, name, txid, storage_usage FROM graphs WHERE user_id = ?1 AND deleted_at IS NULL ORDER BY created_at, id";
/// ?1 graph id, ?2 user id.
const FIND_GRAPH: &str =
    "SELECT id, user_id, name, txid, storage_usage FROM graphs WHERE id = ?1 AND user_id = ?2 AND deleted_at IS NULL";
/// ?1 name, ?2 user id.
const FIND_GRAPH_BY_NAME: &str =
    "SELECT id, user_id, name, txid, storage_usage FROM graphs WHERE name = ?1 AND user_id = ?2 AND deleted_at IS NULL";
/// ?1 id, ?2 user id, ?3 name, ?4 now, ?5 graph-count limit. Inserts nothing
/// when the user already has the limit's number of graphs.
const INSERT_GRAPH: &str =
    "INSERT INTO graphs (id, user_id, name, txid, storage_usage, created_at) \
     SELECT ?1, ?2, ?3, 0, 0, ?4 WHERE (SELECT COUNT(*) FROM graphs WHERE user_id = ?2 AND deleted_at IS NULL) < ?5";
/// ?1 graph id.
const FIND_KEYS: &str =
    "SELECT public_key, encrypted_private_key FROM graph_keys WHERE graph_id = ?1";
/// ?1 graph id, ?2 public key, ?3 encrypted private key, ?4 now. Never replaces.
const INSERT_KEYS: &str =
    "INSERT INTO graph_keys (graph_id, public_key, encrypted_private_key, created_at) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (graph_id) DO NOTHING";
/// ?1 graph id.
const FIND_SALT: &str = "SELECT value, expired_at FROM graph_salts WHERE graph_id = ?1";
/// ?1 graph id, ?2 value, ?3 expired-at, ?4 now. Replaces only an expired salt.
const UPSERT_SALT: &str =
    "INSERT INTO graph_salts (graph_id, value, expired_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (graph_id) DO UPDATE SET value = excluded.value, expired_at = excluded.expired_at \
     WHERE graph_salts.expired_at <= ?4";

pub async fn list_graphs(db: &Db, user_id: &str) -> Result<Vec<GraphRow>, ApiError> {
    db.all(LIST_GRAPHS, &[user_id.into()]).await
}

/// The caller's graph, or `GraphNotExist` (also for another user's graph: its
/// existence is not revealed).
pub async fn find_graph(db: &Db, graph_id: &str, user_id: &str) -> Result<GraphRow, ApiError> {
    db.first(FIND_GRAPH, &[graph_id.into(), user_id.into()])
        .await?
        .ok_or(ApiError::GraphNotExist)
}

pub async fn find_graph_by_name(
    db: &Db,
    name: &str,
    user_id: &str,
) -> Result<Option<GraphRow>, ApiError> {
    db.first(FIND_GRAPH_BY_NAME, &[name.into(), user_id.into()])
        .await
}

/// Inserts a graph unless the user is at the graph-count limit; returns
/// whether it was inserted. A duplicate name is a constraint error.
pub async fn insert_graph(
    db: &Db,
    id: &str,
    user_id: &str,
    name: &str,
    now: i64,
    limit: i64,
) -> Result<bool, ApiError> {
    let changed = db
        .run(
            INSERT_GRAPH,
            &[
                id.into(),
                user_id.into(),
                name.into(),
                now.into(),
                limit.into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

pub async fn find_keys(db: &Db, graph_id: &str) -> Result<Option<KeysRow>, ApiError> {
    db.first(FIND_KEYS, &[graph_id.into()]).await
}

/// Stores keys unless the graph has some; returns whether they were stored.
pub async fn insert_keys(
    db: &Db,
    graph_id: &str,
    public_key: &str,
    private_key: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let changed = db
        .run(
            INSERT_KEYS,
            &[
                graph_id.into(),
                public_key.into(),
                private_key.into(),
                now.into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

pub async fn find_salt(db: &Db, graph_id: &str) -> Result<Option<SaltRow>, ApiError> {
    db.first(FIND_SALT, &[graph_id.into()]).await
}

/// Stores a salt unless a valid one exists; returns whether it was stored.
pub async fn upsert_salt(
    db: &Db,
    graph_id: &str,
    value: &str,
    expired_at: i64,
    now: i64,
) -> Result<bool, ApiError> {
    let changed = db
        .run(
            UPSERT_SALT,
            &[graph_id.into(), value.into(), expired_at.into(), now.into()],
        )
        .await?;
    Ok(changed == 1)
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

const LIST_ALL_GRAPHS: &str =
    "SELECT id, user_id, name, txid, storage_usage, created_at FROM graphs WHERE deleted_at IS NULL ORDER BY user_id, created_at";
/// ?1 graph id (any owner: admin only).
const FIND_ANY_GRAPH: &str =
    "SELECT id, user_id, name, txid, storage_usage, created_at FROM graphs WHERE id = ?1 AND deleted_at IS NULL";

pub async fn list_all_graphs(db: &Db) -> Result<Vec<GraphSummary>, ApiError> {
    db.all(LIST_ALL_GRAPHS, &[]).await
}

/// A graph by id, whoever owns it (admin only).
pub async fn find_any_graph(db: &Db, id: &str) -> Result<Option<GraphSummary>, ApiError> {
    db.first(FIND_ANY_GRAPH, &[id.into()]).await
}
