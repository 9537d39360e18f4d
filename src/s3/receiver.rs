//! The Worker's own S3-compatible object endpoint, `PUT|GET|HEAD /s3/<key>`
//! (ARCHITECTURE.md §D4). PUT receives the stock client's uploads, presigned by
//! rsapi itself with the credentials of `get_temp_credential` (reproducing
//! its canonicalisation, PROTOCOL.md §7.2); GET and HEAD serve the download
//! URLs this Worker signed when R2's S3 endpoint is not configured. Errors
//! are S3-style XML, which is what rsapi looks into (RS sync.rs:428-441).

use worker::{Conditional, Headers, Method, Request, Response, Result};

use crate::ctx::Ctx;
use crate::hooks::fault::Fault;
use crate::s3::blobs::download_secret;
use crate::s3::error::{S3Error, ACCESS_DENIED};
use crate::s3::sigv4::{temp_credentials, verify_presigned, VerifyRequest};

/// Serves one `/s3/...` request.
pub async fn handle(ctx: &Ctx, req: Request) -> Result<Response> {
    let raw_url = req.inner().url();
    let method = req.method();
    match serve(ctx, req, &raw_url).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            if matches!(e, S3Error::InternalError) {
                worker::console_error!(
                    "{}",
                    serde_json::json!({"event": "s3_internal_error", "method": method.to_string()})
                );
            }
            xml_error(&e, method == Method::Head)
        }
    }
}

/// Splits `scheme://host[:port]/path?query` into (host, path, query), raw.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let rest = url.split_once("://")?.1;
    let slash = rest.find('/')?;
    let (host, path_query) = rest.split_at(slash);
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    Some((host, path, query))
}

/// Checks what PUT and GET share (URL, host, method, that it is signed) and
/// hands over to [`put`] or [`get`].
async fn serve(ctx: &Ctx, req: Request, raw_url: &str) -> std::result::Result<Response, S3Error> {
    let (url_host, path, query) =
        split_url(raw_url).ok_or(S3Error::InvalidArgument("malformed URL"))?;
    let path = path
        .strip_prefix("/s3")
        .ok_or(S3Error::InvalidArgument("malformed URL"))?;
    let header = |name: &str| req.headers().get(name).ok().flatten();
    // The host the client signed: the forwarding proxy passes it on (ARCHITECTURE.md §D4).
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or_else(|| url_host.to_string());
    let method = req.method();
    let signed_method = match method {
        Method::Put => "PUT",
        // A HEAD may use a URL signed for GET.
        Method::Get | Method::Head => "GET",
        _ => return Err(S3Error::MethodNotAllowed),
    };
    // No SigV4 parameters at all is an anonymous request: S3 answers 403.
    if !query.contains("X-Amz-") {
        return Err(S3Error::AccessDenied(ACCESS_DENIED));
    }
    let vreq = VerifyRequest {
        method: signed_method,
        host: &host,
        path,
        query,
        headers: &[],
        now_unix: ctx.now_secs(),
    };

    if method == Method::Put {
        put(ctx, &req, &vreq).await
    } else {
        get(ctx, &vreq, method == Method::Head).await
    }
}

/// PUT: an upload of the stock client, signed with the temporary credentials
/// of `get_temp_credential`, into R2 under the key those credentials allow.
async fn put(
    ctx: &Ctx,
    req: &Request,
    vreq: &VerifyRequest<'_>,
) -> std::result::Result<Response, S3Error> {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let verified = temp_credentials::verify_upload(vreq, &ctx.config.s3_credential_secret)?;
    let key = verified.key;
    let size: i64 = header("content-length")
        .and_then(|v| v.trim().parse().ok())
        .ok_or(S3Error::InvalidArgument("Content-Length is required"))?;
    if size < 0 || size > ctx.config.max_object_bytes {
        return Err(S3Error::EntityTooLarge);
    }
    let body = match req.inner().body() {
        Some(stream) => worker::Data::ReadableStream(stream),
        None => worker::Data::Empty,
    };
    ctx.count(|c| c.r2_class_a += 1);
    if ctx.fault == Some(Fault::R2Put) {
        return Err(internal("fault injected: R2 put"));
    }
    // The one storage operation of an upload. Ownership is the key prefix
    // the credential is bound to (checked above, no lookup); objects are
    // immutable, so the put only creates: `etagDoesNotMatch: "*"` is R2's
    // `If-None-Match: *`, and an existing key (committed, or an earlier
    // upload) is refused as S3 refuses a write it does not allow.
    crate::hooks::latency::before_storage_call().await;
    let object = ctx
        .bucket
        .put(key.clone(), body)
        .only_if(Conditional {
            etag_does_not_match: Some("*".into()),
            ..Conditional::default()
        })
        .execute()
        .await
        .map_err(internal)?
        .ok_or(S3Error::AccessDenied(ACCESS_DENIED))?;
    let headers = Headers::new();
    headers.set("ETag", &object.http_etag()).map_err(internal)?;
    // Exactly 200: rsapi accepts nothing else (RS sync.rs:428-441).
    Ok(Response::empty()
        .map_err(internal)?
        .with_status(200)
        .with_headers(headers))
}

/// GET and HEAD: a download URL this Worker signed, served from R2.
async fn get(
    ctx: &Ctx,
    vreq: &VerifyRequest<'_>,
    head: bool,
) -> std::result::Result<Response, S3Error> {
    let secret = download_secret(&ctx.config);
    let now = ctx.now_secs();
    let verified = verify_presigned(vreq, |access_key_id, token| {
        temp_credentials::open(
            &secret,
            access_key_id,
            token.ok_or(S3Error::InvalidAccessKeyId)?,
            now,
        )
    })?;
    // Whole objects only: rsapi sends `Content-Range: bytes=0-0` on its first
    // GET and must get the full Content-Length back (PROTOCOL.md §7.4), so no
    // range header is honoured.
    ctx.count(|c| c.r2_class_b += 1);
    if ctx.fault == Some(Fault::R2Get) {
        return Err(internal("fault injected: R2 get"));
    }
    crate::hooks::latency::before_storage_call().await;
    let object = ctx
        .bucket
        .get(verified.key.clone())
        .execute()
        .await
        .map_err(internal)?
        .ok_or(S3Error::NoSuchKey)?;
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(internal);
    set("Content-Type", "application/octet-stream")?;
    set("Content-Length", &object.size().to_string())?;
    set("ETag", &object.http_etag())?;
    set("Cache-Control", "private, no-store")?;
    let resp = if head {
        Response::empty().map_err(internal)?
    } else {
        let body = object
            .body()
            .ok_or(S3Error::InternalError)?
            .response_body()
            .map_err(internal)?;
        Response::from_body(body).map_err(internal)?
    };
    Ok(resp.with_status(200).with_headers(headers))
}

fn internal<E: std::fmt::Display>(e: E) -> S3Error {
    worker::console_error!(
        "{}",
        serde_json::json!({"event": "s3_error", "error": e.to_string()})
    );
    S3Error::InternalError
}

fn xml_error(e: &S3Error, head: bool) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/xml")?;
    let body = if head {
        String::new()
    } else {
        e.xml_body("", "")
    };
    Ok(Response::ok(body)?
        .with_status(e.status())
        .with_headers(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_raw_urls_without_decoding() {
        assert_eq!(
            split_url("https://logseq-file-sync-bucket-prod.s3.amazonaws.com/s3/uploads/u%3A1/abc?X-Amz-A=1&b=%2F"),
            Some(("logseq-file-sync-bucket-prod.s3.amazonaws.com", "/s3/uploads/u%3A1/abc", "X-Amz-A=1&b=%2F"))
        );
        assert_eq!(
            split_url("http://127.0.0.1:8787/s3/k"),
            Some(("127.0.0.1:8787", "/s3/k", ""))
        );
        assert_eq!(split_url("nonsense"), None);
    }
}
