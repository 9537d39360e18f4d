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

pub mod access;
pub mod admin;
pub mod admin_history;
pub mod api;
pub mod auth;
pub mod blobs;
pub mod cleanup;
pub mod cognito;
pub mod config;
pub mod cputime;
pub mod db;
pub mod error;
pub mod fault;
pub mod http;
pub mod hub;
pub mod ids;
pub mod jwks;
pub mod latency;
pub mod pairing;
pub mod restore;
pub mod router;
pub mod s3_receiver;
pub mod sigv4;
pub mod status;
pub mod tokens;
pub mod txid;
pub mod uploads;
pub mod usage;
pub mod wire;

#[cfg(test)]
mod fuzz_tests;

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
        Ok::<_, error::ApiError>((report, db.usage()))
    }
    .await;
    match result {
        Ok((Ok(report), usage)) => worker::console_log!(
            "{}",
            serde_json::json!({"event": "cleanup", "report": report, "rows_read": usage.rows_read, "rows_written": usage.rows_written})
        ),
        Ok((Err(e), _)) | Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "cleanup_failed", "error": e.to_string()})
            )
        }
    }
}
