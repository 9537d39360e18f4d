//! Upload credentials (stock client) and presigned upload URLs (patched
//! clients) (PROTOCOL.md §6.16, docs/API.md "get_upload_urls").

use super::{check_graph_uuid, Ctx, User};
use crate::db::{files as fq, graphs as gq};
use crate::error::{ApiError, ApiResult};
use crate::protocol::ids::{random_bytes, random_letters};
use crate::protocol::wire::{
    Credentials, PresignUploadsRequest, PresignedUpload, PresignedUploads, TempCredential,
};
use crate::s3::blobs;
use crate::s3::keys::{s3_prefix, upload_prefix};
use crate::s3::sigv4::temp_credentials;

/// Most URLs one get_upload_urls call hands out.
pub const MAX_UPLOAD_URLS: u32 = 100;

/// §6.16: credentials the Worker minted itself, alphanumeric, bound to the
/// caller's upload prefix and an expiry, verified by the `/s3/` receiver.
pub async fn get_temp_credential(ctx: &Ctx, user: &User) -> ApiResult<TempCredential> {
    check_quota(ctx, user).await?;
    let expires = ctx.now_secs() + ctx.config.upload_ttl_secs;
    let creds = temp_credentials::mint(
        &ctx.config.s3_credential_secret,
        &user.id,
        &upload_prefix(&user.id),
        expires,
    );
    let expiration = creds
        .expiration_rfc3339()
        .ok_or_else(|| ApiError::Internal("credential expiry out of range".into()))?;
    Ok(TempCredential {
        credentials: Credentials {
            access_key_id: creds.access_key_id,
            expiration,
            secret_key: creds.secret_key,
            session_token: creds.session_token,
        },
        s3_prefix: s3_prefix(&ctx.config.client_bucket, &user.id),
    })
}

/// New endpoint for patched clients: presigned PUT URLs for fresh keys,
/// against R2's S3 endpoint when configured (bytes never pass through the
/// Worker), else against the Worker's own `/s3/`. The returned keys go into
/// update_files like the stock client's.
pub async fn get_upload_urls(
    ctx: &Ctx,
    user: &User,
    req: PresignUploadsRequest,
) -> ApiResult<PresignedUploads> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    if req.count == 0 || req.count > MAX_UPLOAD_URLS {
        return Err(ApiError::BadRequest(format!(
            "Count must be 1 to {MAX_UPLOAD_URLS}"
        )));
    }
    // Ownership and quota at once: one storage round trip.
    let (graph, quota) = futures_util::future::join(
        gq::find_graph(&ctx.db, &req.graph_uuid, &user.id),
        check_quota(ctx, user),
    )
    .await;
    graph?;
    quota?;
    let prefix = upload_prefix(&user.id);
    let mut keys = Vec::with_capacity(req.count as usize);
    for _ in 0..req.count {
        let r = random_bytes::<16>().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
        keys.push(format!("{prefix}/{}", random_letters(&r)));
    }
    let expires = ctx.now_secs() + ctx.config.upload_ttl_secs;
    let mut uploads = Vec::with_capacity(keys.len());
    for key in &keys {
        uploads.push(PresignedUpload {
            key: key.clone(),
            url: blobs::upload_url(ctx, user, key, expires)?,
        });
    }
    fq::insert_pending_uploads(&ctx.db, &keys, &user.id, ctx.now_ms).await?;
    let expiration = crate::s3::sigv4::format_rfc3339(expires)
        .ok_or_else(|| ApiError::Internal("expiry out of range".into()))?;
    Ok(PresignedUploads {
        uploads,
        expiration,
    })
}

async fn check_quota(ctx: &Ctx, user: &User) -> ApiResult<()> {
    let (usage, _) = crate::db::users::user_storage(&ctx.db, &user.id).await?;
    if usage >= ctx.config.storage_limit_bytes {
        return Err(ApiError::StorageLimit);
    }
    Ok(())
}
