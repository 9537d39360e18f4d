//! Building responses: JSON, plain text, CORS (PROTOCOL.md §2.7).

use serde::de::DeserializeOwned;
use worker::{Headers, Response, Result};

use crate::error::{ApiError, ApiResult};

/// CORS headers for the renderer's XHRs: it runs from `file://` with
/// `webSecurity` on and sends `Authorization`, so it preflights
/// (LS src/electron/electron/window.cljs:45, PROTOCOL.md §2.7).
pub fn cors_headers(headers: &Headers) -> Result<()> {
    headers.set("Access-Control-Allow-Origin", "*")?;
    headers.set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")?;
    headers.set(
        "Access-Control-Allow-Headers",
        "authorization, content-type",
    )?;
    headers.set("Access-Control-Max-Age", "86400")?;
    Ok(())
}

/// `204` answer to a CORS preflight.
pub fn preflight() -> Result<Response> {
    let headers = Headers::new();
    cors_headers(&headers)?;
    Ok(Response::empty()?.with_status(204).with_headers(headers))
}

/// A JSON answer with the given status and pre-serialised body.
pub fn json(status: u16, body: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    cors_headers(&headers)?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

/// A plain-text answer.
pub fn text(status: u16, body: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "text/plain")?;
    cors_headers(&headers)?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

/// The JSON answer for an API error.
pub fn error(e: &ApiError) -> Result<Response> {
    json(e.status(), e.body())
}

/// Parses a JSON request body, whatever its Content-Type (PROTOCOL.md §2.2).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) || body == b"null" {
        return Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        // serde quotes the offending value: cut on characters, never inside one
        // (a byte-index truncate panicked on multi-byte text; fuzz_tests.rs).
        let mut msg = format!("invalid request body: {e}");
        let cut = (0..=msg.len().min(200))
            .rev()
            .find(|&i| msg.is_char_boundary(i))
            .unwrap_or(0);
        msg.truncate(cut);
        ApiError::BadRequest(msg)
    })
}

/// Reads a request body of at most `max` bytes: a larger declared Content-Length is refused
/// before reading, a larger body after (a client may declare none).
pub async fn read_body(req: &mut worker::Request, max: usize) -> ApiResult<Vec<u8>> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ApiError::PayloadTooLarge);
    }
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::BadRequest(format!("unreadable body: {e}")))?;
    if body.len() > max {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body)
}
