//! Logseq Sync server: a Cloudflare Worker speaking the file-sync protocol of
//! the official Logseq client (see docs/API.md and ../shared/PROTOCOL.md).
//!
//! Pure logic (errors, tokens, signatures, txid rules, wire types, config)
//! lives in modules without `worker` imports so that it unit-tests on the
//! host; the Worker-bound glue is `router`, `http`, `db`, `api`, `blobs`,
//! `hub`, `s3_receiver`, `cleanup` and the entry points below.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod config;
pub(crate) mod ctx;
pub(crate) mod db;
pub(crate) mod error;
pub(crate) mod hooks;
pub(crate) mod http;
pub(crate) mod hub;
pub(crate) mod ops;
pub(crate) mod protocol;
pub(crate) mod router;
pub(crate) mod s3;

use hooks::{cputime, latency};
use ops::cleanup;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    // Local benchmarks only (BENCH_TIMING=true): the Worker's own time for
    // this request, excluding awaited I/O (src/cputime.rs, docs/PERFORMANCE.md).
    let timing = env.var("BENCH_TIMING").map(|v| v.to_string() == "true");
    if !timing.unwrap_or(false) {
        latency::set_delay_ms(0);
        return router::handle(req, env, ctx).await;
    }
    // With the hook only: `x-bench-latency-ms: N` delays every D1/R2 call of
    // this request by N ms (latency.rs), to count its storage round trips.
    latency::set_delay_ms(
        req.headers()
            .get("x-bench-latency-ms")
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
            .min(1000),
    );
    let (handled, spent) = cputime::timed(router::handle(req, env, ctx));
    let resp = handled.await?;
    // Immutable headers (a websocket upgrade from the hub) are left alone.
    let _ = resp
        .headers()
        .set("x-worker-time-ms", &spent.get().to_string());
    Ok(resp)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    // No bench delay outside a bench request (latency.rs).
    latency::set_delay_ms(0);
    let retention = router::config(&env)
        .map(|c| cleanup::Retention {
            version_days: c.version_retention_days,
            undelete_days: c.undelete_retention_days,
        })
        .unwrap_or_default();
    let result = async {
        let db = db::Db::new(env.d1("DB")?);
        let bucket = env.bucket("BUCKET")?;
        // The event's own time, not the clock: the same thing in production, and
        // lets tests run the cleanup "days later" (`/cdn-cgi/local/scheduled?time=`).
        let now = event.schedule() as i64;
        let report = cleanup::run(&db, &bucket, now, retention).await;
        Ok::<_, error::ApiError>((report, db.cost()))
    }
    .await;
    match result {
        Ok((Ok(report), cost)) => worker::console_log!(
            "{}",
            serde_json::json!({"event": "cleanup", "report": report, "rows_read": cost.rows_read, "rows_written": cost.rows_written})
        ),
        Ok((Err(e), _)) | Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "cleanup_failed", "error": e.to_string()})
            )
        }
    }
}
