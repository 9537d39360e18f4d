//! Where encrypted bodies are fetched from and put to: presigned URLs against
//! R2's S3 endpoint when it is configured, else against the Worker's own
//! `/s3/` endpoint (ARCHITECTURE.md §D4); and deleting objects in trash.

use worker::Bucket;

use crate::config::{Config, R2S3};
use crate::ctx::{Ctx, User};
use crate::db::{maintenance, Db};
use crate::error::{ApiError, ApiResult};
use crate::s3::keys::upload_prefix;
use crate::s3::sigv4::{presign_url, temp_credentials, Method, PresignRequest};

/// Keys deleted from R2 per page (the binding deletes up to 1000 at once).
const TRASH_PAGE: i64 = 500;

/// The secret that signs the Worker's own download URLs: derived apart from
/// the upload one, so upload credentials can never read and download URLs
/// can never write.
pub fn download_secret(config: &Config) -> Vec<u8> {
    let mut s = config.s3_credential_secret.clone();
    s.extend_from_slice(b"\0download");
    s
}

/// A presigned GET URL for an object.
pub fn download_url(ctx: &Ctx, key: &str) -> ApiResult<String> {
    // rsapi GETs each URL twice (PROTOCOL.md §7.4).
    ctx.count(|c| c.r2_class_b += 2);
    let expires_in = ctx.config.download_ttl_secs as u64;
    match &ctx.config.r2_s3 {
        Some(r2) => r2_url(ctx, r2, Method::Get, key, expires_in),
        None => {
            let expires_at = ctx.now_secs() + expires_in as i64;
            let creds =
                temp_credentials::mint(&download_secret(&ctx.config), "download", "", expires_at);
            own(ctx, Method::Get, key, &creds, expires_in)
        }
    }
}

/// A presigned PUT URL for a fresh upload key of `user`.
pub fn upload_url(ctx: &Ctx, user: &User, key: &str, expires_at: i64) -> ApiResult<String> {
    ctx.count(|c| c.r2_class_a += 1);
    let expires_in = (expires_at - ctx.now_secs()).max(1) as u64;
    match &ctx.config.r2_s3 {
        Some(r2) => r2_url(ctx, r2, Method::Put, key, expires_in),
        None => {
            let prefix = upload_prefix(&user.id);
            let creds = temp_credentials::mint(
                &ctx.config.s3_credential_secret,
                &user.id,
                &prefix,
                expires_at,
            );
            own(ctx, Method::Put, key, &creds, expires_in)
        }
    }
}

/// A URL against R2's S3 endpoint: path style, region `auto` (ARCHITECTURE.md §D4).
fn r2_url(ctx: &Ctx, r2: &R2S3, method: Method, key: &str, expires_in: u64) -> ApiResult<String> {
    presign(&PresignRequest {
        method,
        endpoint: &r2.endpoint,
        unsigned_path_prefix: "",
        object_path: &format!("/{}/{key}", r2.bucket),
        access_key_id: &r2.access_key_id,
        secret_access_key: &r2.secret_access_key,
        session_token: None,
        region: "auto",
        now_unix: ctx.now_secs(),
        expires_in_secs: expires_in,
    })
}

/// A URL against the Worker's own `/s3/` endpoint, signed with `creds`.
fn own(
    ctx: &Ctx,
    method: Method,
    key: &str,
    creds: &temp_credentials::TempCredentials,
    expires_in: u64,
) -> ApiResult<String> {
    presign(&PresignRequest {
        method,
        endpoint: &ctx.origin,
        unsigned_path_prefix: "/s3",
        object_path: &format!("/{key}"),
        access_key_id: &creds.access_key_id,
        secret_access_key: &creds.secret_key,
        session_token: Some(&creds.session_token),
        region: "auto",
        now_unix: ctx.now_secs(),
        expires_in_secs: expires_in,
    })
}

fn presign(r: &PresignRequest<'_>) -> ApiResult<String> {
    presign_url(r).map_err(|e| ApiError::Internal(e.to_string()))
}

/// What a commit needs to know about an uploaded object.
#[derive(Debug, Clone, Copy)]
pub struct Uploaded {
    pub size: i64,
    /// When R2 stored it (ms).
    pub uploaded_ms: i64,
}

/// The heads of `keys`, all at once (one storage round trip however many).
pub async fn heads(ctx: &Ctx, keys: &[&str]) -> ApiResult<Vec<Option<Uploaded>>> {
    ctx.count(|c| c.r2_class_b += keys.len() as i64);
    let all = futures_util::future::join_all(keys.iter().map(|k| async move {
        crate::hooks::latency::before_storage_call().await;
        ctx.bucket.head(*k).await
    }))
    .await;
    all.into_iter()
        .map(|head| {
            Ok(head?.map(|o| Uploaded {
                size: o.size() as i64,
                uploaded_ms: o.uploaded().as_millis() as i64,
            }))
        })
        .collect()
}

/// Deletes up to `pages` pages of trashed objects; returns how many. Their
/// rows stay a day as tombstones (`maintenance::forget_tombstones`).
pub async fn drain_trash(db: &Db, bucket: &Bucket, pages: usize, now_ms: i64) -> ApiResult<usize> {
    let mut total = 0;
    for _ in 0..pages {
        let keys = maintenance::list_trash(db, TRASH_PAGE).await?;
        if keys.is_empty() {
            break;
        }
        crate::hooks::latency::before_storage_call().await;
        bucket
            .delete_multiple(keys.iter().map(String::as_str).collect())
            .await?;
        maintenance::mark_trash_deleted(db, &keys, now_ms).await?;
        total += keys.len();
        if (keys.len() as i64) < TRASH_PAGE {
            break;
        }
    }
    Ok(total)
}
