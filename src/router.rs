//! The one routing table of the Worker (ARCHITECTURE.md §D2) and the one endpoint
//! table of the JSON API. What every request gets happens here, once, for
//! every route: its context, authentication and body reading for the JSON
//! API, the error answer and its log line, D1's cost headers, the budget
//! meter and the access-log line; handlers in `api`, `s3`, `ops` and `auth`
//! do the rest.

use serde::Serialize;
use worker::{console_error, console_log, Context, Date, Env, Method, Request, Response, Result};

use crate::api::{files, graphs, keys, parse, transactions as tx, uploads};
use crate::auth::jwt;
use crate::config::Config;
use crate::ctx::{Ctx, User};
use crate::db::{meter as meter_db, Db};
use crate::error::{ApiError, ApiResult};
use crate::hooks::fault::Fault;
use crate::http;
use crate::hub;
use crate::ops::meter::{self, Counts};
use crate::protocol::endpoints::Api;
use crate::protocol::ids::is_client_uuid;

/// Largest JSON request body accepted (1000 encrypted names fit easily).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The endpoint table: API → handler. Exhaustive: an endpoint of
/// [`Api`] without a handler does not compile.
async fn call(api: Api, ctx: &Ctx, user: &User, body: &[u8]) -> ApiResult<String> {
    match api {
        Api::UserInfo => reply(graphs::user_info(ctx, user).await),
        Api::ListGraphs => reply(graphs::list_graphs(ctx, user).await),
        Api::CreateGraph => reply(graphs::create_graph(ctx, user, parse(body)?).await),
        Api::DeleteGraph => reply(graphs::delete_graph(ctx, user, parse(body)?).await),
        Api::GetTxid => reply(graphs::get_txid(ctx, user, parse(body)?).await),
        Api::GetGraph => reply(graphs::get_graph(ctx, user, parse(body)?).await),
        Api::GetGraphSalt => reply(keys::get_graph_salt(ctx, user, parse(body)?).await),
        Api::CreateGraphSalt => reply(keys::create_graph_salt(ctx, user, parse(body)?).await),
        Api::GetGraphEncryptKeys => {
            reply(keys::get_graph_encrypt_keys(ctx, user, parse(body)?).await)
        }
        Api::UploadGraphEncryptKeys => {
            reply(keys::upload_graph_encrypt_keys(ctx, user, parse(body)?).await)
        }
        Api::GetAllFiles => reply(files::get_all_files(ctx, user, parse(body)?).await),
        Api::GetFilesMeta => reply(files::get_files_meta(ctx, user, parse(body)?).await),
        Api::GetDiff => reply(tx::get_diff(ctx, user, parse(body)?).await),
        Api::GetDeletionLogV20221212 => {
            reply(tx::get_deletion_log_v20221212(ctx, user, parse(body)?).await)
        }
        Api::GetFileVersionList => {
            reply(files::get_file_version_list(ctx, user, parse(body)?).await)
        }
        // rsapi sends an empty body here (RS sync.rs:314-336).
        Api::GetTempCredential => reply(uploads::get_temp_credential(ctx, user).await),
        Api::UpdateFiles => reply(tx::update_files(ctx, user, parse(body)?).await),
        Api::DeleteFiles => reply(tx::delete_files(ctx, user, parse(body)?).await),
        Api::GetFiles => reply(files::get_files(ctx, user, parse(body)?).await),
        Api::GetVersionFiles => reply(files::get_version_files(ctx, user, parse(body)?).await),
        Api::RenameFile => reply(tx::rename_file(ctx, user, parse(body)?).await),
        Api::GetUploadUrls => reply(uploads::get_upload_urls(ctx, user, parse(body)?).await),
    }
}

fn reply<T: Serialize>(result: ApiResult<T>) -> ApiResult<String> {
    Ok(serde_json::to_string(&result?)?)
}

fn unknown_api(api: &str) -> ApiError {
    ApiError::NotFound(format!("unknown api: {}", sanitize(api)))
}

/// Every route of the Worker, told by its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `/`: the status page.
    Status,
    /// `/logseq/version`.
    Version,
    /// `/logseq-connectivity-testing`.
    Connectivity,
    /// `/file-sync`: the websocket to the graph's hub.
    Websocket,
    /// `/file-sync/<api>`: the JSON API.
    Api(Api),
    /// `/file-sync/<anything else>`.
    UnknownApi,
    /// `/s3/<key>`: the Worker's own object endpoint.
    S3,
    /// `/admin/...`.
    Admin,
    /// `/oauth2/token`: the client's token refresh.
    Refresh,
    /// `/oauth2/revoke`: sign out (docs/API.md "Device pairing").
    Revoke,
    /// `/pair/...`: device pairing.
    Pair,
    Other,
}

impl Route {
    fn of(path: &str) -> Route {
        if let Some(api) = path.strip_prefix("/file-sync/") {
            return api.parse().map_or(Route::UnknownApi, Route::Api);
        }
        match path {
            "/" => Route::Status,
            "/logseq/version" => Route::Version,
            "/logseq-connectivity-testing" => Route::Connectivity,
            "/file-sync" => Route::Websocket,
            "/oauth2/token" => Route::Refresh,
            "/oauth2/revoke" => Route::Revoke,
            p if p.starts_with("/pair/") => Route::Pair,
            p if p.starts_with("/s3/") => Route::S3,
            p if p.starts_with("/admin/") => Route::Admin,
            _ => Route::Other,
        }
    }

    /// The label used in logs: the API name for the JSON API, else a fixed
    /// label (never the raw path, which may carry object keys).
    fn label(self) -> &'static str {
        match self {
            Route::Api(api) => api.as_str(),
            Route::UnknownApi => "file-sync/?",
            Route::Version => "version",
            Route::Connectivity => "connectivity",
            Route::Websocket => "websocket",
            Route::S3 => "s3",
            Route::Admin => "admin",
            Route::Refresh => "oauth2_token",
            Route::Revoke => "oauth2_revoke",
            Route::Pair => "pair",
            Route::Status => "status",
            Route::Other => "other",
        }
    }

    /// Whether this route, with this method, is served with a [`Ctx`].
    fn has_context(self, method: &Method) -> bool {
        match self {
            Route::Api(_) => *method == Method::Post,
            Route::S3 | Route::Admin => true,
            Route::Status => *method == Method::Get,
            Route::Refresh | Route::Revoke | Route::Pair => *method == Method::Post,
            _ => false,
        }
    }
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

/// Serves one request, and for every route: the error answer and its log
/// line, the cost headers, the meter and the access-log line.
pub async fn handle(req: Request, env: Env, wctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let origin = req.headers().get("origin").ok().flatten();
    let method = req.method();
    let path = req.path();
    let route = Route::of(&path);
    let mut trace = Trace::default();
    let result = if method == Method::Options {
        http::preflight().map_err(ApiError::from)
    } else if route.has_context(&method) {
        match context(&env, &req) {
            Ok(ctx) => {
                let result = serve(route, &ctx, req, &env).await;
                trace.take(&ctx);
                run_after(&ctx, &wctx);
                result
            }
            Err(e) => Err(e),
        }
    } else {
        serve_plain(route, &method, &path, req, &env).await
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(e) => {
            if let Some(detail) = e.log_detail() {
                console_error!(
                    "{}",
                    serde_json::json!({"event": "api_error", "api": route.label(), "detail": detail})
                );
            }
            http::error(&e)?
        }
    };
    if route.has_context(&method) {
        cost_headers(&resp, &trace);
    }
    if let Some(origin) = origin.filter(|_| route == Route::Refresh) {
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
            "route": route.label(),
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

/// The routes served with a context: the handler of each.
async fn serve(route: Route, ctx: &Ctx, req: Request, env: &Env) -> ApiResult<Response> {
    match route {
        Route::Api(api) => Ok(http::json(200, api_call(api, ctx, req).await?)?),
        Route::S3 => Ok(crate::s3::receiver::handle(ctx, req).await?),
        Route::Admin => Ok(crate::ops::admin::handle(ctx, req).await?),
        Route::Refresh => Ok(crate::auth::refresh::refresh(ctx, req).await?),
        Route::Revoke => Ok(crate::auth::pairing::revoke(ctx, req).await?),
        Route::Pair => {
            let path = req.path();
            Ok(crate::auth::pairing::handle(ctx, req, &path).await?)
        }
        Route::Status => Ok(crate::ops::status::page(ctx, env).await?),
        _ => Err(not_found()),
    }
}

/// The routes that need no context.
async fn serve_plain(
    route: Route,
    method: &Method,
    path: &str,
    req: Request,
    env: &Env,
) -> ApiResult<Response> {
    let resp = match (route, method) {
        (Route::Api(_) | Route::UnknownApi, m) if *m != Method::Post => {
            return Err(ApiError::MethodNotAllowed)
        }
        (Route::UnknownApi, _) => {
            return Err(unknown_api(
                path.strip_prefix("/file-sync/").unwrap_or_default(),
            ))
        }
        (Route::Version, Method::Get) => http::json(
            200,
            serde_json::json!({ "version": env!("CARGO_PKG_VERSION") }).to_string(),
        ),
        // Target for a patched CONNECTIVITY-TESTING-S3-URL: the client wants
        // status 200 and a body of exactly `OK` (PROTOCOL.md §6.23).
        (Route::Connectivity, Method::Get) => http::text(200, "OK"),
        (Route::Websocket, Method::Get) => websocket(req, env).await,
        _ => return Err(not_found()),
    };
    Ok(resp?)
}

fn not_found() -> ApiError {
    ApiError::NotFound("not found".to_string())
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

/// D1's own cost figures for this request, for benchmarks and budgets.
fn cost_headers(resp: &Response, trace: &Trace) {
    let h = resp.headers();
    let _ = h.set("x-d1-queries", &trace.queries.to_string());
    let _ = h.set("x-d1-rows-read", &trace.rows_read.to_string());
    let _ = h.set("x-d1-rows-written", &trace.rows_written.to_string());
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
async fn api_call(api: Api, ctx: &Ctx, mut req: Request) -> ApiResult<String> {
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
        let body = http::read_body(&mut req, MAX_BODY_BYTES).await?;
        call(api, ctx, &credential.user, &body).await
    };
    let (verdict, reply) = futures_util::future::join(verdict, handler).await;
    if let Err(e) = verdict {
        ctx.after.borrow_mut().clear();
        return Err(e);
    }
    reply
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
        assert_eq!(Route::of("/file-sync/update_files").label(), "update_files");
        assert_eq!(Route::of("/file-sync/../../etc").label(), "file-sync/?");
        assert_eq!(Route::of("/file-sync/e.abcdef").label(), "file-sync/?");
        assert_eq!(Route::of("/s3/uploads/u/abc").label(), "s3");
        assert_eq!(Route::of("/file-sync").label(), "websocket");
    }

    #[test]
    fn sanitize_keeps_identifiers_only() {
        assert_eq!(sanitize("get_<script>x"), "get_scriptx");
    }

    #[test]
    fn every_route_but_the_plain_ones_has_a_context() {
        for api in Api::ALL {
            assert!(Route::Api(*api).has_context(&Method::Post));
            assert!(!Route::Api(*api).has_context(&Method::Get));
        }
        assert!(Route::Admin.has_context(&Method::Get));
        assert!(Route::Refresh.has_context(&Method::Post));
        assert!(Route::S3.has_context(&Method::Put));
        assert!(!Route::Version.has_context(&Method::Get));
    }
}
