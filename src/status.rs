//! The status page at `/`: version, health of D1, R2 and the hub, which way
//! file bodies travel, and a budget meter of today's usage against the free
//! plan's daily limits. It
//! shows nothing private: user and graph lists appear only after the admin
//! token is typed into the page, which fetches them from `/admin/*` with it
//! (the token never goes into a URL).

use worker::{Env, Headers, Response, Result};

use crate::api::Ctx;
use crate::db::usage as uq;
use crate::hub;
use crate::usage::{day_of, unflushed, Counts, FREE_PLAN_DAILY};

/// One health check: name, ok, detail.
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Which way file bodies travel (DESIGN.md §4), as the configuration decides.
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
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'",
    )?;
    let status = if checks.iter().all(|c| c.ok) {
        200
    } else {
        503
    };
    let html = render(&checks, BytePath::of(&ctx.config), &today, &day);
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
pub fn render(checks: &[Check], bytes: BytePath, today: &Counts, day: &str) -> String {
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
                r#"<tr><td>{name}</td><td class="num">{used}</td><td class="num">{max}</td><td><div class="bar"><div style="width:{pct:.1}%"></div></div> {pct:.1}%</td></tr>"#
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logseq Sync server</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 860px; margin: 2em auto; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; margin-top: 1.8em; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ddd; padding: .35em .5em; text-align: left; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; }} .ok {{ color: #17803d; font-weight: 600; }} .bad {{ color: #b42318; font-weight: 600; }}
.bar {{ display: inline-block; width: 140px; height: .7em; background: #eee; vertical-align: middle; }} .bar div {{ height: 100%; background: #3b82f6; }}
small {{ color: #666; }} input {{ font: inherit; padding: .2em .4em; width: 22em; }} button {{ font: inherit; }}
pre {{ background: #f6f6f6; padding: .6em; overflow: auto; }}
</style></head>
<body>
<h1>Logseq Sync server <small id="version">v{version}</small></h1>
<p>A self-hosted server for Logseq's end-to-end-encrypted file sync. It never sees notes, file names or passwords.</p>
<h2>Health</h2>
<table id="health"><tr><th>Component</th><th>State</th><th>Detail</th></tr>{health}</table>
<p id="bytes">File bodies: {bytes}</p>
<h2>Today's budget <small>({day}, UTC; as far as the Worker can count: presigned URLs count as the R2 operations they allow)</small></h2>
<table id="budget"><tr><th>What</th><th class="num">Used</th><th class="num">Free plan / day</th><th>Share</th></tr>{budget}</table>
<h2>Admin</h2>
<p><input id="token" type="password" placeholder="admin token" autocomplete="off"> <button id="load">Show users and graphs</button></p>
<pre id="admin">Users, graphs and usage appear here with the admin token.</pre>
<script>
document.getElementById('load').addEventListener('click', async () => {{
  const out = document.getElementById('admin');
  const headers = {{ authorization: 'Bearer ' + document.getElementById('token').value }};
  try {{
    const parts = await Promise.all(['usage', 'users', 'graphs'].map(async (p) => {{
      const r = await fetch('/admin/' + p, {{ headers }});
      if (!r.ok) throw new Error(p + ': ' + r.status);
      return [p, await r.json()];
    }}));
    out.textContent = parts.map(([p, v]) => p + ':\n' + JSON.stringify(v, null, 2)).join('\n\n');
  }} catch (e) {{ out.textContent = 'Failed: ' + e.message; }}
}});
</script>
</body></html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        bytes = bytes.html(),
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
        let html = render(&checks, BytePath::Worker, &today, "2026-11-26");
        assert!(html.contains("FAILING"));
        assert!(!html.contains("<script>alert(1)</script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("50.0%"), "half the daily requests");
        assert!(html.contains("2026-11-26"));
        assert!(html.contains("<b>through this Worker</b>"));
        let html = render(&checks, BytePath::PresignedR2, &today, "2026-11-26");
        assert!(html.contains("<b>presigned URLs straight to R2</b>"));
    }
}
