//! RS256 signatures of Logseq-account ID tokens, checked by the runtime's
//! WebCrypto (native code; no RSA in our wasm) against the user pool's JWKS.
//!
//! The keys are cached per isolate (as imported `CryptoKey`s) and in D1
//! (`jwks_cache`, shared by isolates: the Cache API does nothing on
//! workers.dev). A warm request does no fetch and no D1 read; Cognito is
//! asked when the keys are missing, older than `KEYS_TTL_MS`, or lack the
//! token's `kid`, and at most once per interval whatever happens, so a JWKS
//! that is down or answers garbage costs one failed fetch per interval and
//! never touches this server's own tokens (`cognito::should_fetch`).

use std::cell::RefCell;

use serde::Deserialize;
use worker::js_sys::{self, Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_warn, web_sys, Fetch};

use crate::auth::cognito::{self, KeyState, RsaKey, SignedToken};
use crate::ctx::Ctx;
use crate::db::Arg;
use crate::error::{ApiError, ApiResult};

/// A fetch of the JWKS that takes longer than this has failed.
const FETCH_TIMEOUT_MS: u32 = 5000;

struct Held {
    fetched_at_ms: i64,
    keys: Vec<(String, web_sys::CryptoKey)>,
}

#[derive(Default)]
struct State {
    held: Option<Held>,
    last_attempt_ms: Option<i64>,
    /// Whether this isolate has looked at the D1 copy yet.
    read_shared: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The held key for `kid` and the cache state, for `cognito::should_fetch`.
fn lookup(kid: &str, now_ms: i64) -> (Option<web_sys::CryptoKey>, KeyState) {
    STATE.with_borrow(|s| {
        let held = s
            .held
            .as_ref()
            .filter(|h| cognito::usable(h.fetched_at_ms, now_ms));
        let key = held.and_then(|h| {
            h.keys
                .iter()
                .find(|(k, _)| k == kid)
                .map(|(_, c)| c.clone())
        });
        let state = KeyState {
            fetched_at_ms: held.map(|h| h.fetched_at_ms),
            last_attempt_ms: s.last_attempt_ms,
            kid_known: key.is_some(),
        };
        (key, state)
    })
}

/// Verifies the token's RS256 signature with the pool key named by its `kid`.
/// Every failure (unknown key, bad signature, JWKS unreachable) is `Unauthorized`.
pub async fn verify_signature(ctx: &Ctx, token: &SignedToken<'_>) -> ApiResult<()> {
    let now = ctx.now_ms;
    let url = ctx.config.cognito_jwks_url.as_str();
    let interval = ctx.config.jwks_min_interval_ms;
    let (mut key, mut state) = lookup(&token.kid, now);
    if key.is_none() && state.fetched_at_ms.is_none() && !STATE.with_borrow(|s| s.read_shared) {
        STATE.with_borrow_mut(|s| s.read_shared = true);
        if let Some((body, fetched_at)) = read_shared(ctx, url).await {
            install(&body, fetched_at, now).await;
            (key, state) = lookup(&token.kid, now);
        }
    }
    if cognito::should_fetch(state, now, interval) {
        STATE.with_borrow_mut(|s| s.last_attempt_ms = Some(now));
        match fetch_jwks(url).await {
            Ok(body) => {
                if install(&body, now, now).await {
                    write_shared(ctx, url, &body, now).await;
                }
            }
            Err(e) => console_warn!(
                "{}",
                serde_json::json!({"event": "jwks_fetch_failed", "error": e})
            ),
        }
        (key, _) = lookup(&token.kid, now);
    }
    let key = key.ok_or(ApiError::Unauthorized)?;
    match webcrypto_verify(&key, &token.signature, token.signing_input.as_bytes()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::Unauthorized),
        Err(e) => {
            console_warn!(
                "{}",
                serde_json::json!({"event": "rs256_verify_error", "error": e})
            );
            Err(ApiError::Unauthorized)
        }
    }
}

/// Parses and imports a JWKS; keeps the old keys when it is garbage.
async fn install(body: &str, fetched_at_ms: i64, now_ms: i64) -> bool {
    if !cognito::usable(fetched_at_ms, now_ms) {
        return false;
    }
    let keys = match cognito::parse_jwks(body.as_bytes()) {
        Ok(k) => k,
        Err(e) => {
            console_warn!(
                "{}",
                serde_json::json!({"event": "jwks_invalid", "error": e})
            );
            return false;
        }
    };
    let mut imported = Vec::with_capacity(keys.len());
    for RsaKey { kid, jwk } in keys {
        match import(&jwk).await {
            Ok(k) => imported.push((kid, k)),
            Err(e) => console_warn!(
                "{}",
                serde_json::json!({"event": "jwk_import_failed", "kid": kid, "error": e})
            ),
        }
    }
    if imported.is_empty() {
        return false;
    }
    STATE.with_borrow_mut(|s| {
        s.held = Some(Held {
            fetched_at_ms,
            keys: imported,
        })
    });
    true
}

async fn fetch_jwks(url: &str) -> Result<String, String> {
    let url = url.parse().map_err(|e| format!("bad JWKS URL: {e}"))?;
    let signal =
        worker::AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(FETCH_TIMEOUT_MS));
    let mut resp = Fetch::Url(url)
        .send_with_signal(&signal)
        .await
        .map_err(|e| e.to_string())?;
    if resp.status_code() != 200 {
        return Err(format!("status {}", resp.status_code()));
    }
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cognito::MAX_JWKS_BYTES) {
        return Err("JWKS too large".into());
    }
    resp.text().await.map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct SharedRow {
    body: String,
    fetched_at: i64,
}

/// ?1 url.
const FIND_SHARED: &str = "SELECT body, fetched_at FROM jwks_cache WHERE url = ?1";
/// ?1 url, ?2 body, ?3 fetched at (ms).
const UPSERT_SHARED: &str = "INSERT INTO jwks_cache (url, body, fetched_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (url) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at";

async fn read_shared(ctx: &Ctx, url: &str) -> Option<(String, i64)> {
    match ctx.db.first::<SharedRow>(FIND_SHARED, &[url.into()]).await {
        Ok(row) => row.map(|r| (r.body, r.fetched_at)),
        Err(e) => {
            console_warn!(
                "{}",
                serde_json::json!({"event": "jwks_cache_read_failed", "detail": e.log_detail()})
            );
            None
        }
    }
}

async fn write_shared(ctx: &Ctx, url: &str, body: &str, now_ms: i64) {
    let args = [Arg::Text(url), Arg::Text(body), now_ms.into()];
    if let Err(e) = ctx.db.run(UPSERT_SHARED, &args).await {
        console_warn!(
            "{}",
            serde_json::json!({"event": "jwks_cache_write_failed", "detail": e.log_detail()})
        );
    }
}

fn subtle() -> Result<web_sys::SubtleCrypto, String> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    Ok(scope.crypto().map_err(js_error)?.subtle())
}

fn algorithm() -> Result<js_sys::Object, String> {
    let algo = js_sys::Object::new();
    js_sys::Reflect::set(&algo, &"name".into(), &"RSASSA-PKCS1-v1_5".into()).map_err(js_error)?;
    js_sys::Reflect::set(&algo, &"hash".into(), &"SHA-256".into()).map_err(js_error)?;
    Ok(algo)
}

async fn import(jwk: &str) -> Result<web_sys::CryptoKey, String> {
    let jwk: js_sys::Object = js_sys::JSON::parse(jwk).map_err(js_error)?.unchecked_into();
    let usages = Array::of1(&JsValue::from_str("verify"));
    let promise = subtle()?
        .import_key_with_object("jwk", &jwk, &algorithm()?, false, &usages)
        .map_err(js_error)?;
    let key = JsFuture::from(promise).await.map_err(js_error)?;
    Ok(key.unchecked_into())
}

async fn webcrypto_verify(
    key: &web_sys::CryptoKey,
    signature: &[u8],
    data: &[u8],
) -> Result<bool, String> {
    let promise = subtle()?
        .verify_with_object_and_u8_array_and_u8_array(&algorithm()?, key, signature, data)
        .map_err(js_error)?;
    Ok(JsFuture::from(promise)
        .await
        .map_err(js_error)?
        .as_bool()
        .unwrap_or(false))
}

fn js_error(e: JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string()
        .or_else(|| js_sys::JSON::stringify(&e).ok().map(String::from))
        .unwrap_or_else(|| "javascript error".into())
}
