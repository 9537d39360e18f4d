//! The scheduled cleanup (DESIGN.md §3): uploads never committed (older than
//! a day) and versions past retention go to trash, and trash is deleted from
//! R2, in small pages so a run stays inside the free plan's CPU and
//! subrequest limits. Nothing a file or version row refers to is touched.

use crate::blobs;
use crate::db::{maintenance, Db};
use crate::error::ApiResult;
use worker::Bucket;

/// Rows handled per page.
const PAGE: i64 = 100;
/// Pages per category per run (each page is 2-3 D1 queries).
const PAGES: usize = 5;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What one run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub stale_uploads: usize,
    pub expired_versions: usize,
    pub objects_deleted: usize,
}

pub async fn run(db: &Db, bucket: &Bucket, now_ms: i64, retention_days: i64) -> ApiResult<Report> {
    let mut report = Report::default();
    for _ in 0..PAGES {
        let n = maintenance::trash_stale_uploads(db, now_ms - DAY_MS, now_ms, PAGE).await?;
        report.stale_uploads += n;
        if (n as i64) < PAGE {
            break;
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
    report.objects_deleted = blobs::drain_trash(db, bucket, PAGES).await?;
    Ok(report)
}
