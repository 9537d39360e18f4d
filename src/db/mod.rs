//! D1 access: a thin wrapper that binds typed arguments, runs statements and
//! batches, and adds up D1's own rows-read/rows-written metadata per request
//! (logged in the access line, used by the benchmarks).
//!
//! SQL lives in the submodules as named constants next to the small
//! functions that run it. One logical write is one `batch()` (DESIGN.md §3).

pub mod accounts;
pub mod files;
pub mod graphs;
pub mod history;
pub mod maintenance;
pub mod pairing;
pub mod tokens;
pub mod usage;

use std::cell::Cell;

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::error::ApiError;

/// A bound statement argument.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Null,
}

impl Arg<'_> {
    fn to_js(&self) -> JsValue {
        match self {
            Arg::Text(s) => JsValue::from_str(s),
            // D1 carries integers as JS numbers; every integer here (ms
            // timestamps, sizes, txids) is far below 2^53.
            Arg::Int(n) => JsValue::from_f64(*n as f64),
            Arg::Null => JsValue::NULL,
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

/// Rows read and written, as D1 reports them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub queries: u32,
    pub rows_read: u64,
    pub rows_written: u64,
}

pub struct Db {
    d1: D1Database,
    usage: Cell<Usage>,
    /// Fault injection: make every batch fail in its middle (tests only).
    fail_batches: Cell<bool>,
}

impl Db {
    pub fn new(d1: D1Database) -> Self {
        Db {
            d1,
            usage: Cell::new(Usage::default()),
            fail_batches: Cell::new(false),
        }
    }

    /// Makes every later batch of this request fail in its middle.
    pub fn inject_batch_failure(&self) {
        self.fail_batches.set(true);
    }

    /// What this request has cost so far.
    pub fn usage(&self) -> Usage {
        self.usage.get()
    }

    /// A prepared statement with its arguments bound.
    pub fn stmt(&self, sql: &str, args: &[Arg<'_>]) -> Result<D1PreparedStatement, ApiError> {
        let values: Vec<JsValue> = args.iter().map(Arg::to_js).collect();
        Ok(self.d1.prepare(sql).bind(&values)?)
    }

    fn record(&self, result: &D1Result) {
        let mut u = self.usage.get();
        u.queries += 1;
        if let Ok(Some(meta)) = result.meta() {
            u.rows_read += meta.rows_read.unwrap_or(0) as u64;
            u.rows_written += meta.rows_written.unwrap_or(0) as u64;
        }
        self.usage.set(u);
    }

    /// All rows of a query.
    pub async fn all<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<T>, ApiError> {
        let stmt = self.stmt(sql, args)?;
        crate::latency::before_storage_call().await;
        let result = stmt.all().await.map_err(d1_error)?;
        self.record(&result);
        Ok(result.results::<T>()?)
    }

    /// The first row of a query, if any.
    pub async fn first<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<T>, ApiError> {
        Ok(self.all::<T>(sql, args).await?.into_iter().next())
    }

    /// Runs one write; returns the number of rows changed.
    pub async fn run(&self, sql: &str, args: &[Arg<'_>]) -> Result<usize, ApiError> {
        let stmt = self.stmt(sql, args)?;
        crate::latency::before_storage_call().await;
        let result = stmt.run().await.map_err(d1_error)?;
        self.record(&result);
        Ok(result
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0))
    }

    /// Runs statements as one transaction: all or nothing.
    pub async fn batch(
        &self,
        mut stmts: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1Result>, ApiError> {
        if self.fail_batches.get() {
            // A statement that fails at run time, between the others.
            stmts.insert(
                stmts.len() / 2,
                self.stmt("INSERT INTO fault_injected_missing_table VALUES (1)", &[])?,
            );
        }
        crate::latency::before_storage_call().await;
        let results = self.d1.batch(stmts).await.map_err(d1_error)?;
        for r in &results {
            self.record(r);
        }
        Ok(results)
    }
}

/// Number of rows a batch statement changed.
pub fn changes(result: &D1Result) -> usize {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

fn d1_error(e: worker::Error) -> ApiError {
    ApiError::Internal(format!("d1: {e}"))
}

/// Whether a D1 failure is a constraint violation (UNIQUE, NOT NULL, FOREIGN KEY).
pub fn is_constraint_error(e: &ApiError) -> bool {
    matches!(e, ApiError::Internal(detail) if detail.contains("constraint failed") || detail.contains("SQLITE_CONSTRAINT"))
}
