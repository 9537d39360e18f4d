//! D1 access: a thin wrapper that binds typed arguments, runs statements and
//! batches, and adds up D1's own rows-read/rows-written metadata per request
//! (logged in the access line, used by the benchmarks).
//!
//! SQL lives in the submodules as named constants next to the small
//! functions that run it. One logical write is one `batch()` (ARCHITECTURE.md §D3).
//!
//! Writes wait for the credential verdict (`Gate`): the API reads the
//! caller's credential row at the same time as the handler's first reads,
//! and no statement that writes is sent before that row has admitted the
//! caller (docs/SECURITY.md "Credentials and revocation").

pub mod accounts;
pub mod files;
pub mod graphs;
pub mod history;
pub mod maintenance;
pub mod meter;
pub mod pairing;
pub mod tokens;
pub mod users;

use std::cell::{Cell, RefCell};
use std::task::{Poll, Waker};

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
pub struct D1Cost {
    pub queries: u32,
    pub rows_read: u64,
    pub rows_written: u64,
}

/// Whether writes may be sent: the credential verdict of this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// No verdict pending: the caller was admitted, or the work is not a
    /// caller's (admin with its own check, scheduled cleanup).
    Open,
    /// The credential row is being read; writes wait.
    Pending,
    /// The caller was refused: every write fails with 401.
    Denied,
}

/// The gate every write passes (the enforcement point of the argument in
/// docs/SECURITY.md "Credentials and revocation"): `run`, `batch` and any
/// `all`/`first` whose SQL is not a plain read wait here until the verdict
/// is in, and fail with `Unauthorized` when it refused the caller.
struct Gate {
    verdict: Cell<Verdict>,
    waiting: RefCell<Vec<Waker>>,
}

impl Gate {
    fn set(&self, v: Verdict) {
        self.verdict.set(v);
        for w in self.waiting.borrow_mut().drain(..) {
            w.wake();
        }
    }

    async fn pass(&self) -> Result<(), ApiError> {
        std::future::poll_fn(|cx| match self.verdict.get() {
            Verdict::Open => Poll::Ready(Ok(())),
            Verdict::Denied => Poll::Ready(Err(ApiError::Unauthorized)),
            Verdict::Pending => {
                self.waiting.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Whether a statement only reads: it starts with SELECT, or with WITH and
/// names no writing keyword anywhere. Everything else (INSERT, UPDATE,
/// DELETE, REPLACE, UPSERTs, DDL, anything unrecognised) counts as a write.
pub fn is_read_only(sql: &str) -> bool {
    const WRITES: &[&str] = &[
        "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "PRAGMA", "ATTACH",
        "DETACH", "VACUUM", "REINDEX",
    ];
    let mut words = sql
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty());
    let reads = words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("SELECT") || w.eq_ignore_ascii_case("WITH"));
    reads && !words.any(|w| WRITES.iter().any(|k| w.eq_ignore_ascii_case(k)))
}

pub struct Db {
    d1: D1Database,
    cost: Cell<D1Cost>,
    /// Fault injection: make every batch fail in its middle (tests only).
    fail_batches: Cell<bool>,
    gate: Gate,
}

impl Db {
    pub fn new(d1: D1Database) -> Self {
        Db {
            d1,
            cost: Cell::new(D1Cost::default()),
            fail_batches: Cell::new(false),
            gate: Gate {
                verdict: Cell::new(Verdict::Open),
                waiting: RefCell::new(Vec::new()),
            },
        }
    }

    /// From now on writes wait for `admit` (the credential row is being read).
    pub fn hold_writes(&self) {
        self.gate.set(Verdict::Pending);
    }

    /// The verdict: writes waiting (and later ones) go out, or fail with 401.
    pub fn admit(&self, admitted: bool) {
        self.gate.set(if admitted {
            Verdict::Open
        } else {
            Verdict::Denied
        });
    }

    /// Makes every later batch of this request fail in its middle.
    pub fn inject_batch_failure(&self) {
        self.fail_batches.set(true);
    }

    /// What this request has cost so far.
    pub fn cost(&self) -> D1Cost {
        self.cost.get()
    }

    /// A prepared statement with its arguments bound.
    pub fn stmt(&self, sql: &str, args: &[Arg<'_>]) -> Result<D1PreparedStatement, ApiError> {
        let values: Vec<JsValue> = args.iter().map(Arg::to_js).collect();
        Ok(self.d1.prepare(sql).bind(&values)?)
    }

    fn record(&self, result: &D1Result) {
        let mut u = self.cost.get();
        u.queries += 1;
        if let Ok(Some(meta)) = result.meta() {
            u.rows_read += meta.rows_read.unwrap_or(0) as u64;
            u.rows_written += meta.rows_written.unwrap_or(0) as u64;
        }
        self.cost.set(u);
    }

    /// All rows of a query.
    pub async fn all<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<T>, ApiError> {
        if !is_read_only(sql) {
            self.gate.pass().await?;
        }
        let stmt = self.stmt(sql, args)?;
        crate::hooks::latency::before_storage_call().await;
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
        self.gate.pass().await?;
        self.run_as_verdict(sql, args).await
    }

    /// A write of the credential verdict itself (a Logseq account's or a
    /// self-issued token's user row on first sight), sent before `admit`:
    /// only `auth::access::check` calls it, after the row admitted the caller.
    pub async fn run_as_verdict(&self, sql: &str, args: &[Arg<'_>]) -> Result<usize, ApiError> {
        let stmt = self.stmt(sql, args)?;
        crate::hooks::latency::before_storage_call().await;
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
        self.gate.pass().await?;
        if self.fail_batches.get() {
            // A statement that fails at run time, between the others.
            stmts.insert(
                stmts.len() / 2,
                self.stmt("INSERT INTO fault_injected_missing_table VALUES (1)", &[])?,
            );
        }
        crate::hooks::latency::before_storage_call().await;
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

#[cfg(test)]
mod tests {
    use super::is_read_only;

    #[test]
    fn only_plain_reads_skip_the_gate() {
        assert!(is_read_only("SELECT id FROM graphs WHERE id = ?1"));
        assert!(is_read_only("  select 1"));
        assert!(is_read_only("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(is_read_only("SELECT updated_at FROM files"));
        assert!(!is_read_only("INSERT INTO users (id) VALUES (?1)"));
        assert!(!is_read_only("UPDATE graphs SET txid = ?2"));
        assert!(!is_read_only("DELETE FROM files"));
        assert!(!is_read_only("REPLACE INTO x VALUES (1)"));
        assert!(!is_read_only(
            "WITH x AS (SELECT 1) INSERT INTO y SELECT * FROM x"
        ));
        assert!(!is_read_only("WITH x AS (SELECT 1) DELETE FROM y"));
        assert!(!is_read_only("INSERT INTO t SELECT 1 RETURNING id"));
        assert!(!is_read_only("PRAGMA foreign_keys = OFF"));
        assert!(!is_read_only(""));
    }
}
