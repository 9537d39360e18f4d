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
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'",
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

/// The admin section's script: with the admin token typed in, it lists usage,
/// users, graphs and deleted graphs, each graph's recent transactions with a
/// restore preview (`dry_run`) and restore, and an undelete per deleted graph,
/// all through the same `/admin/*` routes as `npm run admin`. Data from the
/// server only ever goes into the page as text (`textContent`), never as HTML.
const ADMIN_SCRIPT: &str = r#"
const $ = (id) => document.getElementById(id);
const el = (tag, text, attrs = {}) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
async function admin(path, body) {
  const r = await fetch('/admin/' + path, { method: body ? 'POST' : 'GET', headers: { authorization: 'Bearer ' + $('token').value, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(path.split('?')[0] + ': ' + r.status + ' ' + (j.message || ''));
  return j;
}
function table(id, head, rows) {
  const t = el('table', undefined, { id });
  const h = el('tr'); for (const c of head) h.append(el('th', c)); t.append(h);
  for (const r of rows) t.append(r);
  return t;
}
function say(text) { $('action').textContent = text; }
async function showHistory(graph) {
  const h = await admin('graphs/' + graph + '/history');
  const rows = h.transactions.map((t) => {
    const tr = el('tr', undefined, { 'data-txid': t.txid });
    for (const c of [t.txid, new Date(t.created_at).toISOString(), t.tx_type, t.files, t.bytes ?? '']) tr.append(el('td', c));
    const td = el('td');
    if (t.txid >= h.restorable_from && t.txid < h.txid) {
      const b = el('button', 'Preview restore to here', { 'data-preview': t.txid });
      b.onclick = () => preview(graph, t.txid).catch((e) => say('Failed: ' + e.message));
      td.append(b);
    }
    tr.append(td);
    return tr;
  });
  const box = $('history-box'); box.replaceChildren(el('h3', 'Recent transactions of ' + graph + ' (now at txid ' + h.txid + '; restorable back to txid ' + h.restorable_from + ')'), table('history', ['txid', 'time (UTC)', 'type', 'files', 'bytes', ''], rows));
}
async function preview(graph, txid) {
  const d = await admin('restore', { graph, to_txid: txid, dry_run: true });
  const box = $('restore-box');
  box.replaceChildren(el('p', 'Restore to txid ' + txid + ': ' + d.reverted.files + ' files go back (' + d.reverted.bytes + ' bytes), ' + d.revived.files + ' deleted files come back (' + d.revived.bytes + ' bytes), ' + d.removed.files + ' files created since go (' + d.removed.bytes + ' bytes).', { id: 'preview' }));
  if (d.transactions > 0) {
    const go = el('button', 'Restore to txid ' + txid, { id: 'restore-go' });
    go.onclick = async () => {
      try {
        const first = await admin('restore', { graph, to_txid: txid });
        let r = first;
        for (let i = 0; i < 100000 && !r.complete; i++) { say('Restoring: ' + r.remaining_files + ' files to go'); r = await admin('restore', { graph, to_txid: txid }); }
        say('Restored: the graph is at txid ' + r.txid + '. Undo: restore to txid ' + first.from_txid + ' (' + first.undo + ')'); box.replaceChildren(); await showHistory(graph);
      } catch (e) { say('Failed: ' + e.message); }
    };
    box.append(go);
  }
}
async function load() {
  const [usage, users, graphs, deleted] = await Promise.all(['usage', 'users', 'graphs', 'deleted'].map((p) => admin(p)));
  const g = graphs.graphs.map((x) => {
    const tr = el('tr', undefined, { 'data-graph': x.id });
    for (const c of [x.name, x.id, x.txid, x.storage_usage]) tr.append(el('td', c));
    const b = el('button', 'History', { 'data-history': x.id });
    b.onclick = () => showHistory(x.id).catch((e) => say('Failed: ' + e.message));
    const td = el('td'); td.append(b); tr.append(td);
    return tr;
  });
  const d = deleted.graphs.map((x) => {
    const tr = el('tr', undefined, { 'data-deleted': x.id });
    for (const c of [x.name, x.id, x.email ?? x.user_id, new Date(x.deleted_at).toISOString(), new Date(x.recoverable_until).toISOString()]) tr.append(el('td', c));
    const td = el('td');
    if (x.recoverable) {
      const name = el('input', undefined, { placeholder: 'new name (optional)', 'data-undelete-name': x.id });
      const b = el('button', 'Undelete', { 'data-undelete': x.id });
      b.onclick = async () => {
        try { const r = await admin('undelete', { graph: x.id, name: name.value || undefined }); await load(); say('Undeleted ' + r.undeleted + ' as ' + r.name); } catch (e) { say('Failed: ' + e.message); }
      };
      td.append(name, b);
    }
    tr.append(td);
    return tr;
  });
  $('manage').replaceChildren(
    el('p', '', { id: 'action' }),
    el('h3', 'Graphs'), table('graphs', ['name', 'id', 'txid', 'bytes', ''], g),
    el('div', undefined, { id: 'history-box' }), el('div', undefined, { id: 'restore-box' }),
    el('h3', 'Deleted graphs (kept ' + deleted.undelete_retention_days + ' days)'), table('deleted', ['name', 'id', 'owner', 'deleted (UTC)', 'recoverable until', ''], d));
  $('admin').textContent = [['usage', usage], ['users', users], ['graphs', graphs], ['deleted', deleted]].map(([p, v]) => p + ':\n' + JSON.stringify(v, null, 2)).join('\n\n');
}
$('load').addEventListener('click', () => load().catch((e) => { $('admin').textContent = 'Failed: ' + e.message; }));
"#;

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
<h2>Retention</h2>
<table id="retention"><tr><th>What is kept</th><th class="num">Days</th><th>What for</th></tr>
<tr><td>Overwritten and deleted file bodies (versions)</td><td class="num">{version_days}</td><td>page history; how far back <code>npm run admin -- restore</code> reaches</td></tr>
<tr><td>Deleted graphs</td><td class="num">{undelete_days}</td><td><code>npm run admin -- undelete</code></td></tr></table>
<p><small>Both count in the storage usage the app shows (kept versions in their graph's, deleted graphs in their owner's). The admin section below shows the bytes they use.</small></p>
<h2>Admin</h2>
<p><input id="token" type="password" placeholder="admin token" autocomplete="off"> <button id="load">Show users and graphs</button></p>
<div id="manage"></div>
<pre id="admin">Users, graphs and usage appear here with the admin token.</pre>
<script>{admin_script}</script>
</body></html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        bytes = bytes.html(),
        admin_script = ADMIN_SCRIPT,
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
