//! Logseq Sync server: a Cloudflare Worker speaking the file-sync protocol of
//! the official Logseq client (see docs/API.md and docs/PROTOCOL.md).
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
    // this request, excluding awaited I/O (src/hooks/cputime.rs, docs/PERFORMANCE.md).
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

/// The layers of `src/`, lowest first: a module may import from its own
/// folder and from lower layers, never from its layer's other folders or
/// from above. Test-only files and `mod tests` blocks are exempt (the
/// property tests in `protocol/props.rs` drive every layer).
#[cfg(test)]
mod layers {
    const LAYERS: &[&[&str]] = &[
        &["protocol", "hooks"],
        &["error"],
        &["config"],
        &["http", "db"],
        &["ctx"],
        &["auth", "s3", "hub"],
        &["api"],
        &["ops"],
        &["router"],
        &["lib"],
    ];
    const TEST_FILES: &[&str] = &["props.rs", "tests.rs", "fixtures.rs", "aws_crosscheck.rs"];

    fn layer(module: &str) -> Option<usize> {
        LAYERS.iter().position(|l| l.contains(&module))
    }

    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_import_points_downwards() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let mut violations = Vec::new();
        for path in all {
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if TEST_FILES.iter().any(|t| rel.ends_with(t)) {
                continue;
            }
            let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
            let from = layer(top).unwrap_or_else(|| panic!("{rel}: {top} is in no layer"));
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            for (n, line) in code.lines().enumerate() {
                for hit in line.split("crate::").skip(1) {
                    let to: String = hit
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let Some(target) = layer(&to) else { continue };
                    if to != top && target >= from {
                        violations.push(format!("{rel}:{}: {top} imports {to}", n + 1));
                    }
                }
            }
        }
        assert!(
            violations.is_empty(),
            "imports pointing up or sideways:\n{}",
            violations.join("\n")
        );
    }
}
