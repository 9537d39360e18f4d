//! The scheduled cleanup (DESIGN.md §3): orphaned uploads and versions past
//! retention go to trash, and trash is deleted from R2, in small pages so a
//! run stays inside the free plan's CPU and subrequest limits. Nothing a file
//! or version row refers to is touched.
//!
//! Orphans. A stock upload writes no row (the receiver's only storage call is
//! the R2 put), so orphans are found in R2: the sweep lists each user's
//! `uploads/<user>/`, takes the objects stored between [`SWEEP_AGE_MS`] and
//! [`SWEEP_AGE_MS`] + [`SWEEP_WINDOW_MS`] ago, and trashes those that no
//! `update_files` committed. A commit takes only uploads younger than
//! `COMMIT_GRACE_MS` (< [`SWEEP_AGE_MS`]), so an object old enough to be a
//! candidate can only have been committed already; the log of the user's
//! graphs is read back just far enough to see those commits (`txlog.blob_keys`),
//! and the trashing statement re-reads it, while every commit checks trash in
//! its own batch: D1 orders the two, so nothing committed is ever trashed.
//! Keys handed out by `get_upload_urls` still have `uploads` rows; those
//! older than a day go to trash as before (commits delete their rows).

use worker::Bucket;

use crate::blobs;
use crate::db::{history, maintenance, Db};
use crate::error::ApiResult;
use crate::uploads::{upload_prefix, SWEEP_AGE_MS};

/// Rows handled per page.
const PAGE: i64 = 100;
/// Pages per category per run (each page is 2-3 D1 queries).
const PAGES: usize = 5;
const HOUR_MS: i64 = 3600 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far back past [`SWEEP_AGE_MS`] the sweep looks: long enough for a
/// pass over a large user (2,000 objects a run, hourly) and a missed run or
/// two; an orphan is a candidate in every run of that window.
pub const SWEEP_WINDOW_MS: i64 = 2 * DAY_MS;
/// Objects listed per R2 call, and calls per user per run.
const LIST_PAGE: u32 = 1000;
const LIST_PAGES: usize = 2;
/// Log rows read per query when looking back for the window's commits, and
/// queries per graph before the sweep gives up on a user for this run.
const TX_PAGE: i64 = 500;
const TX_PAGES: usize = 4;
/// Clock difference between R2 (`uploaded`) and the Worker (`created_at`)
/// the look-back tolerates.
const CLOCK_MARGIN_MS: i64 = HOUR_MS;

/// Rows per table per page of the purge of a deleted graph (one batch of
/// six statements), and pages per run.
const PURGE_PAGE: i64 = 500;
const PURGE_PAGES: usize = 4;

/// How long the cleanup keeps things (configuration, src/config.rs).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Versions (page history, and how far back a restore reaches).
    pub version_days: i64,
    /// Deleted graphs, for undelete.
    pub undelete_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            version_days: 30,
            undelete_days: 30,
        }
    }
}

/// What one run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub stale_uploads: usize,
    pub expired_versions: usize,
    pub objects_deleted: usize,
    /// Users whose candidates could not be decided this run (kept).
    pub sweep_skipped: usize,
    /// Rows of deleted graphs past the undelete period removed (their
    /// objects went to trash), and graphs removed entirely.
    pub purged_rows: usize,
    pub graphs_purged: usize,
}

pub async fn run(db: &Db, bucket: &Bucket, now_ms: i64, retention: Retention) -> ApiResult<Report> {
    let retention_days = retention.version_days;
    let mut report = Report::default();
    for _ in 0..PURGE_PAGES {
        let cutoff = now_ms - retention.undelete_days * DAY_MS;
        match history::purge_page(db, cutoff, now_ms, PURGE_PAGE).await? {
            None => break,
            Some((rows, gone)) => {
                report.purged_rows += rows;
                report.graphs_purged += usize::from(gone);
            }
        }
    }
    for _ in 0..PAGES {
        let n = maintenance::trash_stale_uploads(db, now_ms - DAY_MS, now_ms, PAGE).await?;
        report.stale_uploads += n;
        if (n as i64) < PAGE {
            break;
        }
    }
    for user in maintenance::list_sweep_users(db).await? {
        match sweep_user(db, bucket, &user, now_ms).await? {
            Some(n) => report.stale_uploads += n,
            None => report.sweep_skipped += 1,
        }
    }
    for _ in 0..PAGES {
        let n =
            maintenance::trash_expired_versions(db, now_ms - retention_days * DAY_MS, now_ms, PAGE)
                .await?;
        report.expired_versions += n;
        if (n as i64) < PAGE {
            break;
        }
    }
    report.objects_deleted = blobs::drain_trash(db, bucket, PAGES, now_ms).await?;
    maintenance::forget_tombstones(db, now_ms - DAY_MS, PAGE * PAGES as i64).await?;
    crate::db::pairing::forget_expired(db, now_ms, now_ms - DAY_MS).await?;
    Ok(report)
}

/// Trashes one user's orphaned uploads among the objects listed this run;
/// `None` when the candidates could not be decided (they are kept).
async fn sweep_user(
    db: &Db,
    bucket: &Bucket,
    user: &maintenance::SweepUser,
    now_ms: i64,
) -> ApiResult<Option<usize>> {
    let newest = now_ms - SWEEP_AGE_MS;
    let oldest = newest - SWEEP_WINDOW_MS;
    let prefix = format!("{}/", upload_prefix(&user.user_id));
    let mut candidates: Vec<(String, i64)> = Vec::new();
    let mut start_after = user.after_key.clone();
    let mut cursor: Option<String> = None;
    let mut last_key = None;
    let mut complete = false;
    for _ in 0..LIST_PAGES {
        let mut list = bucket.list().prefix(prefix.clone()).limit(LIST_PAGE);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        } else if let Some(k) = start_after.take() {
            list = list.start_after(k);
        }
        crate::latency::before_storage_call().await;
        let page = list.execute().await?;
        for object in page.objects() {
            let uploaded = object.uploaded().as_millis() as i64;
            let key = object.key();
            if (oldest..=newest).contains(&uploaded) {
                candidates.push((key.clone(), uploaded));
            }
            last_key = Some(key);
        }
        cursor = page.cursor().filter(|_| page.truncated());
        if cursor.is_none() {
            complete = true;
            break;
        }
    }
    let next = if complete { None } else { last_key.as_deref() };
    if next.is_some() || user.after_key.is_some() {
        maintenance::set_sweep_cursor(db, &user.user_id, next).await?;
    }
    let Some(first_upload) = candidates.iter().map(|(_, t)| *t).min() else {
        return Ok(Some(0));
    };
    // Commits of these uploads are no older than the oldest upload.
    let since = first_upload - CLOCK_MARGIN_MS;
    let mut from_txids = Vec::new();
    for graph in maintenance::list_user_graphs(db, &user.user_id).await? {
        match first_txid_since(db, &graph, since).await? {
            Some(t) => from_txids.push((graph.id, t)),
            None => return Ok(None),
        }
    }
    let keys: Vec<String> = candidates.into_iter().map(|(k, _)| k).collect();
    let n = maintenance::trash_orphans(db, &keys, &user.user_id, &from_txids, now_ms).await?;
    Ok(Some(n))
}

/// The lowest txid of `graph` written at or after `since`, reading the log
/// newest first; `None` when that part of the log cannot tell which uploads
/// it committed (rows from before migration 0004) or is too long for a run.
async fn first_txid_since(
    db: &Db,
    graph: &maintenance::GraphTxid,
    since: i64,
) -> ApiResult<Option<i64>> {
    let mut first = graph.txid + 1;
    for _ in 0..TX_PAGES {
        let rows = maintenance::list_tx_newest(db, &graph.id, first, TX_PAGE).await?;
        for row in &rows {
            if row.created_at < since {
                return Ok(Some(first));
            }
            if row.legacy == 1 && row.tx_type == "update_files" {
                return Ok(None);
            }
            first = row.txid;
        }
        if (rows.len() as i64) < TX_PAGE {
            return Ok(Some(first));
        }
    }
    Ok(None)
}
