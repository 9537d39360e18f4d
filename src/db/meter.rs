//! The status page's budget meter as stored: one `usage_daily` row of
//! counters per UTC day (the in-memory side is `ops/meter.rs`).

use serde::{Deserialize, Serialize};

use super::Db;
use crate::error::ApiError;

/// Counters of one day.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: i64,
    pub rows_read: i64,
    pub rows_written: i64,
    pub r2_class_a: i64,
    pub r2_class_b: i64,
    pub do_requests: i64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.rows_read += o.rows_read;
        self.rows_written += o.rows_written;
        self.r2_class_a += o.r2_class_a;
        self.r2_class_b += o.r2_class_b;
        self.do_requests += o.do_requests;
    }

    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }
}

/// ?1 day, ?2..?7 counts to add.
const ADD_USAGE: &str = "INSERT INTO usage_daily (day, requests, rows_read, rows_written, r2_class_a, r2_class_b, do_requests) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (day) DO UPDATE SET \
     requests = requests + excluded.requests, rows_read = rows_read + excluded.rows_read, \
     rows_written = rows_written + excluded.rows_written, r2_class_a = r2_class_a + excluded.r2_class_a, \
     r2_class_b = r2_class_b + excluded.r2_class_b, do_requests = do_requests + excluded.do_requests";
/// ?1 day.
const DAY_USAGE: &str =
    "SELECT requests, rows_read, rows_written, r2_class_a, r2_class_b, do_requests \
     FROM usage_daily WHERE day = ?1";

pub async fn add(db: &Db, day: &str, c: &Counts) -> Result<(), ApiError> {
    db.run(
        ADD_USAGE,
        &[
            day.into(),
            c.requests.into(),
            c.rows_read.into(),
            c.rows_written.into(),
            c.r2_class_a.into(),
            c.r2_class_b.into(),
            c.do_requests.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn day(db: &Db, day: &str) -> Result<Counts, ApiError> {
    Ok(db
        .first(DAY_USAGE, &[day.into()])
        .await?
        .unwrap_or_default())
}
