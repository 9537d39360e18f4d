//! The status page at `/`: version, health of D1, R2 and the hub, which way
//! file bodies travel, and a budget meter of today's usage against the free
//! plan's daily limits. It
//! shows nothing private: user and graph lists appear only after the admin
//! token is typed into the page, which fetches them from `/admin/*` with it
//! (the token never goes into a URL).

use worker::{Env, Headers, Response, Result};

use crate::ctx::Ctx;
use crate::db::meter as uq;
use crate::hub;
use crate::ops::meter::{day_of, unflushed, Counts, FREE_PLAN_DAILY};

/// One health check: name, ok, detail.
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Which way file bodies travel (ARCHITECTURE.md §D4), as the configuration decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytePath {
    /// R2 S3 credentials are set: download and presigned-upload URLs point at R2.
    PresignedR2,
    /// No R2 S3 credentials: those URLs point at the Worker's own `/s3/`.
    Worker,
}

impl BytePath {
    pub fn of(config: &crate::config::Config) -> BytePath {
        if config.r2_s3.is_some() {
            BytePath::PresignedR2
        } else {
            BytePath::Worker
        }
    }

    fn html(self) -> &'static str {
        match self {
            BytePath::PresignedR2 => {
                r#"<b>presigned URLs straight to R2</b>: the Worker only signs (uploads from the stock desktop client still arrive at its <code>/s3/</code>)."#
            }
            BytePath::Worker => {
                r#"<b>through this Worker</b> (<code>/s3/</code>): no R2 API token is set, so every file download and upload is a Worker request counted below. <code>npm run deploy</code> sets one up (docs/DEPLOY.md)."#
            }
        }
    }
}

/// Serves `GET /`.
pub async fn page(ctx: &Ctx, env: &Env) -> Result<Response> {
    let day = day_of(ctx.now_ms);
    let mut checks = Vec::new();
    let mut today = Counts::default();
    match uq::day(&ctx.db, &day).await {
        Ok(c) => {
            today = c;
            checks.push(Check {
                name: "D1",
                ok: true,
                detail: "queries answer".into(),
            });
        }
        Err(e) => checks.push(Check {
            name: "D1",
            ok: false,
            detail: e.to_string(),
        }),
    }
    today.add(&unflushed());
    ctx.count(|c| c.r2_class_b += 1);
    checks.push(match ctx.bucket.head("status-probe").await {
        Ok(_) => Check {
            name: "R2",
            ok: true,
            detail: "bucket answers".into(),
        },
        Err(e) => Check {
            name: "R2",
            ok: false,
            detail: e.to_string(),
        },
    });
    ctx.count(|c| c.do_requests += 1);
    checks.push(match hub_health(env).await {
        Ok(()) => Check {
            name: "Hub",
            ok: true,
            detail: "durable object answers".into(),
        },
        Err(e) => Check {
            name: "Hub",
            ok: false,
            detail: e.to_string(),
        },
    });
    let headers = Headers::new();
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )?;
    let status = if checks.iter().all(|c| c.ok) {
        200
    } else {
        503
    };
    let retention = crate::ops::cleanup::Retention {
        version_days: ctx.config.version_retention_days,
        undelete_days: ctx.config.undelete_retention_days,
    };
    let html = render(&checks, BytePath::of(&ctx.config), &today, &day, &retention);
    Ok(Response::ok(html)?
        .with_status(status)
        .with_headers(headers))
}

async fn hub_health(env: &Env) -> Result<()> {
    let ns = env.durable_object(hub::BINDING)?;
    let resp = ns
        .get_by_name("status-probe")?
        .fetch_with_str("https://hub/health")
        .await?;
    if resp.status_code() == 200 {
        Ok(())
    } else {
        Err(worker::Error::RustError(format!(
            "hub answered {}",
            resp.status_code()
        )))
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page itself (pure; unit-tested).
pub fn render(
    checks: &[Check],
    bytes: BytePath,
    today: &Counts,
    day: &str,
    retention: &crate::ops::cleanup::Retention,
) -> String {
    let health: String = checks
        .iter()
        .map(|c| {
            format!(
                r#"<tr><td>{}</td><td class="{}">{}</td><td>{}</td></tr>"#,
                c.name,
                if c.ok { "ok" } else { "bad" },
                if c.ok { "OK" } else { "FAILING" },
                esc(&c.detail)
            )
        })
        .collect();
    let limit = FREE_PLAN_DAILY;
    let rows = [
        ("Worker requests", today.requests, limit.requests),
        ("D1 rows read", today.rows_read, limit.rows_read),
        ("D1 rows written", today.rows_written, limit.rows_written),
        (
            "R2 class A operations (≈ monthly / 30)",
            today.r2_class_a,
            limit.r2_class_a,
        ),
        (
            "R2 class B operations (≈ monthly / 30)",
            today.r2_class_b,
            limit.r2_class_b,
        ),
        (
            "Durable Object requests",
            today.do_requests,
            limit.do_requests,
        ),
    ];
    let budget: String = rows
        .iter()
        .map(|(name, used, max)| {
            let pct = if *max > 0 { (*used as f64 / *max as f64 * 100.0).min(100.0) } else { 0.0 };
            format!(
                r#"<tr><td>{name}</td><td class="num">{used}</td><td class="num">{max}</td><td><progress class="bar" max="100" value="{pct:.1}"></progress> {pct:.1}%</td></tr>"#
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logseq Sync server</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/status/status.css"></head>
<body>
<h1>Logseq Sync server <small id="version">v{version}</small></h1>
<p>A self-hosted server for Logseq's end-to-end-encrypted file sync. It never sees notes, file names or passwords.</p>
<h2>Health</h2>
<table id="health"><tr><th>Component</th><th>State</th><th>Detail</th></tr>{health}</table>
<p id="bytes">File bodies: {bytes}</p>
<h2>Today's budget <small>({day}, UTC; as far as the Worker can count: presigned URLs count as the R2 operations they allow)</small></h2>
<table id="budget"><tr><th>What</th><th class="num">Used</th><th class="num">Free plan / day</th><th>Share</th></tr>{budget}</table>
<h2>Retention</h2>
<table id="retention"><tr><th>What is kept</th><th class="num">Days</th><th>What for</th></tr>
<tr><td>Overwritten and deleted file bodies (versions)</td><td class="num">{version_days}</td><td>page history; how far back <code>npm run admin -- restore</code> reaches</td></tr>
<tr><td>Deleted graphs</td><td class="num">{undelete_days}</td><td><code>npm run admin -- undelete</code></td></tr></table>
<p><small>Both count in the storage usage the app shows (kept versions in their graph's, deleted graphs in their owner's). The admin section below shows the bytes they use.</small></p>
<h2>Admin</h2>
<p><input id="token" type="password" placeholder="admin token" autocomplete="off"> <button id="load">Show users and graphs</button></p>
<div id="manage"></div>
<pre id="admin">Users, graphs and usage appear here with the admin token.</pre>
<script src="/status/status.js"></script>
</body></html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        bytes = bytes.html(),
        version_days = retention.version_days,
        undelete_days = retention.undelete_days,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_checks_escaped_and_budget() {
        let checks = [
            Check {
                name: "D1",
                ok: true,
                detail: "fine".into(),
            },
            Check {
                name: "R2",
                ok: false,
                detail: "<script>alert(1)</script>".into(),
            },
        ];
        let today = Counts {
            requests: 50_000,
            ..Counts::default()
        };
        let retention = crate::ops::cleanup::Retention {
            version_days: 14,
            undelete_days: 45,
        };
        let html = render(&checks, BytePath::Worker, &today, "2026-11-26", &retention);
        assert!(html.contains("FAILING"));
        assert!(!html.contains("<script>alert(1)</script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("50.0%"), "half the daily requests");
        assert!(html.contains("2026-11-26"));
        assert!(html.contains("<b>through this Worker</b>"));
        assert!(
            html.contains(r#"<td class="num">14</td>"#),
            "version retention shown"
        );
        assert!(
            html.contains(r#"<td class="num">45</td>"#),
            "undelete period shown"
        );
        let html = render(
            &checks,
            BytePath::PresignedR2,
            &today,
            "2026-11-26",
            &retention,
        );
        assert!(html.contains("<b>presigned URLs straight to R2</b>"));
    }
}
