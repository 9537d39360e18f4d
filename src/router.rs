//! The one routing table of the Worker (ARCHITECTURE.md §D2) and the one endpoint
//! table of the JSON API. Authentication, body reading, the JSON reply and
//! the access-log line happen here, once; handlers in `api` do the rest.

use serde::Serialize;
use worker::{console_error, console_log, Context, Date, Env, Method, Request, Response, Result};

use crate::api::{files, graphs, keys, parse, transactions as tx, uploads, Ctx, User};
use crate::auth::jwt;
use crate::config::Config;
use crate::db::{meter as meter_db, Db};
use crate::error::{ApiError, ApiResult};
use crate::hooks::fault::Fault;
use crate::http;
use crate::hub;
use crate::ops::meter::{self, Counts};
use crate::protocol::ids::is_client_uuid;

/// Largest JSON request body accepted (1000 encrypted names fit easily).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Every API the server answers, in the order of PROTOCOL.md §6.
const APIS: &[&str] = &[
    "user_info",
    "list_graphs",
    "create_graph",
    "delete_graph",
    "get_txid",
    "get_graph",
    "get_graph_salt",
    "create_graph_salt",
    "get_graph_encrypt_keys",
    "upload_graph_encrypt_keys",
    "get_all_files",
    "get_files_meta",
    "get_diff",
    "get_deletion_log_v20221212",
    "get_file_version_list",
    "get_temp_credential",
    "update_files",
    "delete_files",
    "get_files",
    "get_version_files",
    "rename_file",
    "get_upload_urls",
];

/// The endpoint table: API name → handler.
async fn call(api: &str, ctx: &Ctx, user: &User, body: &[u8]) -> ApiResult<String> {
    match api {
        "user_info" => reply(graphs::user_info(ctx, user).await),
        "list_graphs" => reply(graphs::list_graphs(ctx, user).await),
        "create_graph" => reply(graphs::create_graph(ctx, user, parse(body)?).await),
        "delete_graph" => reply(graphs::delete_graph(ctx, user, parse(body)?).await),
        "get_txid" => reply(graphs::get_txid(ctx, user, parse(body)?).await),
        "get_graph" => reply(graphs::get_graph(ctx, user, parse(body)?).await),
        "get_graph_salt" => reply(keys::get_graph_salt(ctx, user, parse(body)?).await),
        "create_graph_salt" => reply(keys::create_graph_salt(ctx, user, parse(body)?).await),
        "get_graph_encrypt_keys" => {
            reply(keys::get_graph_encrypt_keys(ctx, user, parse(body)?).await)
        }
        "upload_graph_encrypt_keys" => {
            reply(keys::upload_graph_encrypt_keys(ctx, user, parse(body)?).await)
        }
        "get_all_files" => reply(files::get_all_files(ctx, user, parse(body)?).await),
        "get_files_meta" => reply(files::get_files_meta(ctx, user, parse(body)?).await),
        "get_diff" => reply(tx::get_diff(ctx, user, parse(body)?).await),
        "get_deletion_log_v20221212" => {
            reply(tx::get_deletion_log_v20221212(ctx, user, parse(body)?).await)
        }
        "get_file_version_list" => {
            reply(files::get_file_version_list(ctx, user, parse(body)?).await)
        }
        // rsapi sends an empty body here (RS sync.rs:314-336).
        "get_temp_credential" => reply(uploads::get_temp_credential(ctx, user).await),
        "update_files" => reply(tx::update_files(ctx, user, parse(body)?).await),
        "delete_files" => reply(tx::delete_files(ctx, user, parse(body)?).await),
        "get_files" => reply(files::get_files(ctx, user, parse(body)?).await),
        "get_version_files" => reply(files::get_version_files(ctx, user, parse(body)?).await),
        "rename_file" => reply(tx::rename_file(ctx, user, parse(body)?).await),
        "get_upload_urls" => reply(uploads::get_upload_urls(ctx, user, parse(body)?).await),
        _ => Err(unknown_api(api)),
    }
}

fn reply<T: Serialize>(result: ApiResult<T>) -> ApiResult<String> {
    Ok(serde_json::to_string(&result?)?)
}

fn unknown_api(api: &str) -> ApiError {
    ApiError::NotFound(format!("unknown api: {}", sanitize(api)))
}

/// What the access line records besides method, route and status.
#[derive(Default)]
struct Trace {
    rows_read: u64,
    rows_written: u64,
    queries: u32,
    graph: Option<String>,
    meter: Counts,
}

impl Trace {
    fn take(&mut self, ctx: &Ctx) {
        let u = ctx.db.cost();
        (self.queries, self.rows_read, self.rows_written) =
            (u.queries, u.rows_read, u.rows_written);
        self.graph = ctx.graph.borrow().clone();
        self.meter = ctx.meter.get();
    }
}

/// Serves one request and logs it.
pub async fn handle(req: Request, env: Env, wctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let origin = req.headers().get("origin").ok().flatten();
    let method = req.method();
    let path = req.path();
    let route = route_name(&method, &path);
    let mut trace = Trace::default();
    let resp = match dispatch(req, &env, &wctx, &method, &path, &mut trace).await {
        Ok(resp) => resp,
        Err(e) => {
            console_error!(
                "{}",
                serde_json::json!({"event": "unhandled", "route": route, "error": e.to_string()})
            );
            http::error(&ApiError::Internal(e.to_string()))?
        }
    };
    if let Some(origin) = origin.filter(|_| path == "/oauth2/token") {
        allow_credentialed_origin(&resp, &origin);
    }
    let now = Date::now().as_millis();
    let elapsed = now.saturating_sub(started);
    let mut counts = trace.meter;
    counts.requests += 1;
    counts.rows_read += trace.rows_read as i64;
    counts.rows_written += trace.rows_written as i64;
    if let Some((day, due)) = meter::record(now as i64, &counts) {
        let env = env.clone();
        wctx.wait_until(async move {
            let flushed = match env.d1("DB") {
                Ok(d1) => meter_db::add(&Db::new(d1), &day, &due).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = flushed {
                console_error!(
                    "{}",
                    serde_json::json!({"event": "usage_flush_failed", "error": e.to_string()})
                );
            }
        });
    }
    // One line per request; never tokens, keys, names or bodies (ARCHITECTURE.md §D7).
    console_log!(
        "{}",
        serde_json::json!({
            "method": method.to_string(),
            "route": route,
            "status": resp.status_code(),
            "ms": elapsed,
            "d1_queries": trace.queries,
            "rows_read": trace.rows_read,
            "rows_written": trace.rows_written,
            "graph": trace.graph,
        })
    );
    Ok(resp)
}

/// The app's token refresh is a credentialed XHR (cljs-http defaults
/// `with-credentials?` to true) from a `file://` page, whose origin is
/// `null`; browsers refuse `*` for those. So the refresh route's CORS answer
/// names the request's origin and allows credentials (the sync API itself is
/// called without credentials and keeps `*`, PROTOCOL.md §2.7). Safe: nothing
/// here is authorised by cookies, only by bearer tokens.
fn allow_credentialed_origin(resp: &Response, origin: &str) {
    let h = resp.headers();
    if h.has("access-control-allow-origin").unwrap_or(false) {
        let _ = h.set("Access-Control-Allow-Origin", origin);
        let _ = h.set("Access-Control-Allow-Credentials", "true");
        let _ = h.append("Vary", "Origin");
    }
}

/// The route label used in logs: the API name for `/file-sync/<api>`, else a
/// fixed label (never the raw path, which may carry object keys).
fn route_name(method: &Method, path: &str) -> String {
    if let Some(api) = path.strip_prefix("/file-sync/") {
        if APIS.contains(&api) {
            return api.to_string();
        }
        return "file-sync/?".to_string();
    }
    match (method, path) {
        (_, "/logseq/version") => "version".to_string(),
        (_, "/logseq-connectivity-testing") => "connectivity".to_string(),
        (_, "/file-sync") => "websocket".to_string(),
        (_, p) if p.starts_with("/s3/") => "s3".to_string(),
        (_, p) if p.starts_with("/admin/") => "admin".to_string(),
        (_, "/oauth2/token") => "oauth2_token".to_string(),
        (_, "/") => "status".to_string(),
        _ => "other".to_string(),
    }
}

async fn dispatch(
    req: Request,
    env: &Env,
    wctx: &Context,
    method: &Method,
    path: &str,
    trace: &mut Trace,
) -> Result<Response> {
    if *method == Method::Options {
        return http::preflight();
    }
    match (method, path) {
        (Method::Get, "/") => match context(env, &req) {
            Ok(ctx) => {
                let resp = crate::ops::status::page(&ctx, env).await;
                trace.take(&ctx);
                resp
            }
            Err(e) => http::error(&e),
        },
        (Method::Get, "/logseq/version") => http::json(
            200,
            serde_json::json!({ "version": env!("CARGO_PKG_VERSION") }).to_string(),
        ),
        // Target for a patched CONNECTIVITY-TESTING-S3-URL: the client wants
        // status 200 and a body of exactly `OK` (PROTOCOL.md §6.23).
        (Method::Get, "/logseq-connectivity-testing") => http::text(200, "OK"),
        (Method::Get, "/file-sync") => websocket(req, env).await,
        (_, p) if p.starts_with("/file-sync/") => {
            let api = p.strip_prefix("/file-sync/").unwrap_or_default();
            if *method != Method::Post {
                return http::error(&ApiError::MethodNotAllowed);
            }
            if !APIS.contains(&api) {
                return http::error(&unknown_api(api));
            }
            let api = api.to_string();
            let result = match context(env, &req) {
                Ok(ctx) => {
                    let r = api_call(&api, &ctx, req).await;
                    trace.take(&ctx);
                    run_after(&ctx, wctx);
                    r
                }
                Err(e) => Err(e),
            };
            let resp = match result {
                Ok(body) => http::json(200, body)?,
                Err(e) => {
                    if let Some(detail) = e.log_detail() {
                        console_error!(
                            "{}",
                            serde_json::json!({"event": "api_error", "api": api, "detail": detail})
                        );
                    }
                    http::error(&e)?
                }
            };
            cost_headers(&resp, trace)?;
            Ok(resp)
        }
        (_, p) if p.starts_with("/s3/") => match context(env, &req) {
            Ok(ctx) => {
                let resp = crate::s3::receiver::handle(&ctx, req).await?;
                trace.take(&ctx);
                cost_headers(&resp, trace)?;
                Ok(resp)
            }
            Err(e) => {
                console_error!(
                    "{}",
                    serde_json::json!({"event": "config_error", "detail": e.log_detail()})
                );
                http::error(&e)
            }
        },
        (_, p) if p.starts_with("/admin/") => match context(env, &req) {
            Ok(ctx) => crate::ops::admin::handle(&ctx, req, p).await,
            Err(e) => http::error(&e),
        },
        (Method::Post, "/oauth2/token") => match context(env, &req) {
            Ok(ctx) => crate::auth::refresh::refresh(&ctx, req).await,
            Err(e) => http::error(&e),
        },
        _ => http::error(&ApiError::NotFound("not found".to_string())),
    }
}

/// D1's own cost figures for this request, for benchmarks and budgets.
fn cost_headers(resp: &Response, trace: &Trace) -> Result<()> {
    let h = resp.headers();
    h.set("x-d1-queries", &trace.queries.to_string())?;
    h.set("x-d1-rows-read", &trace.rows_read.to_string())?;
    h.set("x-d1-rows-written", &trace.rows_written.to_string())?;
    Ok(())
}

/// Authenticates, reads the body and calls the endpoint, with the credential
/// check off the critical path (docs/SECURITY.md "Credentials and
/// revocation"): the token's signature and claims are verified first (no
/// storage call on the caller's behalf), then the credential row is read
/// concurrently with the handler. Enforced here and in `db::Db`:
/// * the handler's writes (every `run`, every `batch`, any statement that is
///   not a plain SELECT) wait for `Db::admit`, and fail with 401 on a refusal;
///   the handlers write nothing to R2 (the `/s3/` receiver has its own
///   credential), and what they queue for after the reply (hub pushes) is
///   dropped on a refusal;
/// * nothing is answered before both futures are done, and a refusal answers
///   401 whatever the handler returned: before the verdict it can only have read.
async fn api_call(api: &str, ctx: &Ctx, mut req: Request) -> ApiResult<String> {
    let header = req.headers().get("authorization").ok().flatten();
    let token = jwt::bearer_token(header.as_deref())?;
    let credential = crate::auth::access::verify(ctx, token).await?;
    ctx.db.hold_writes();
    let verdict = async {
        let verdict = crate::auth::access::check(ctx, &credential).await;
        ctx.db.admit(verdict.is_ok());
        verdict
    };
    let handler = async {
        let body = read_body(&mut req).await?;
        call(api, ctx, &credential.user, &body).await
    };
    let (verdict, reply) = futures_util::future::join(verdict, handler).await;
    if let Err(e) = verdict {
        ctx.after.borrow_mut().clear();
        return Err(e);
    }
    reply
}

/// The request body, within `MAX_BODY_BYTES`.
async fn read_body(req: &mut Request) -> ApiResult<Vec<u8>> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::BadRequest(format!("unreadable body: {e}")))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body)
}

/// The configuration from the Worker's secrets and vars.
pub fn config(env: &Env) -> ApiResult<Config> {
    Config::from_lookup(|name| {
        env.secret(name)
            .ok()
            .map(|s| s.to_string())
            .or_else(|| env.var(name).ok().map(|v| v.to_string()))
    })
}

/// Reads configuration and bindings into a handler context.
fn context(env: &Env, req: &Request) -> ApiResult<Ctx> {
    let config = config(env)?;
    let origin = match &config.public_url {
        Some(u) => u.clone(),
        None => req.url().map(|u| u.origin().ascii_serialization())?,
    };
    let fault = if config.fault_injection {
        req.headers()
            .get("x-fault-inject")
            .ok()
            .flatten()
            .and_then(|v| Fault::parse(&v))
    } else {
        None
    };
    let db = Db::new(env.d1("DB")?);
    if fault == Some(Fault::D1Batch) {
        db.inject_batch_failure();
    }
    Ok(Ctx {
        db,
        fault,
        bucket: env.bucket("BUCKET")?,
        hub: env.durable_object(hub::BINDING).ok(),
        config,
        now_ms: Date::now().as_millis() as i64,
        origin,
        after: Default::default(),
        meter: Default::default(),
        graph: Default::default(),
    })
}

/// Hands queued work (hub pushes) to the runtime to finish after the response.
fn run_after(ctx: &Ctx, wctx: &Context) {
    for fut in ctx.after.borrow_mut().drain(..) {
        wctx.wait_until(fut);
    }
}

/// `GET /file-sync?graphuuid=<uuid>` + Upgrade → the graph's hub (PROTOCOL.md §8).
async fn websocket(req: Request, env: &Env) -> Result<Response> {
    let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return http::error(&ApiError::BadRequest("expected a websocket upgrade".into()));
    }
    let url = req.url()?;
    let graph = url
        .query_pairs()
        .find(|(k, _)| k == "graphuuid")
        .map(|(_, v)| v.to_string());
    match graph {
        Some(g) if is_client_uuid(&g) => {
            let ns = env.durable_object(hub::BINDING)?;
            hub::connect(&ns, &g.to_ascii_lowercase(), req).await
        }
        _ => http::error(&ApiError::BadRequest(
            "graphuuid must be a graph UUID".into(),
        )),
    }
}

/// Echo only harmless characters of a client-supplied name.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_never_carry_paths() {
        assert_eq!(
            route_name(&Method::Post, "/file-sync/update_files"),
            "update_files"
        );
        assert_eq!(
            route_name(&Method::Post, "/file-sync/../../etc"),
            "file-sync/?"
        );
        assert_eq!(
            route_name(&Method::Post, "/file-sync/e.abcdef"),
            "file-sync/?"
        );
        assert_eq!(route_name(&Method::Put, "/s3/uploads/u/abc"), "s3");
        assert_eq!(route_name(&Method::Get, "/file-sync"), "websocket");
    }

    #[test]
    fn sanitize_keeps_identifiers_only() {
        assert_eq!(sanitize("get_<script>x"), "get_scriptx");
    }

    #[test]
    fn api_names_are_unique() {
        let mut names = APIS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), APIS.len());
    }
}
