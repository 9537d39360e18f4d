//! Salts and encryption keys (PROTOCOL.md §6.7-6.10).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::{check_graph_uuid, Ctx, Empty, User};
use crate::db::graphs as q;
use crate::error::{ApiError, ApiResult};
use crate::protocol::ids::random_bytes;
use crate::protocol::wire::{EncryptKeys, GraphRequest, Salt, UploadKeysRequest};

const MAX_PUBLIC_KEY: usize = 256;
const MAX_PRIVATE_KEY: usize = 16 * 1024;

/// §6.7: 410 when there is no valid salt (LS sync.cljs:761, 2032-2063).
pub async fn get_graph_salt(ctx: &Ctx, user: &User, req: GraphRequest) -> ApiResult<Salt> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    // Ownership and salt in one round trip; the salt is only answered once
    // the graph is found to be the caller's.
    let (graph, salt) = futures_util::future::join(
        q::find_graph(&ctx.db, &req.graph_uuid, &user.id),
        q::find_salt(&ctx.db, &req.graph_uuid),
    )
    .await;
    graph?;
    valid_salt(ctx, salt?).ok_or(ApiError::SaltNotFound)
}

/// The stored salt, when it has not expired.
fn valid_salt(ctx: &Ctx, row: Option<q::SaltRow>) -> Option<Salt> {
    row.filter(|s| s.expired_at > ctx.now_ms).map(|s| Salt {
        value: s.value,
        expired_at: s.expired_at,
    })
}

/// §6.8: exactly `{value, expired-at}`. When a valid salt already exists
/// (two devices racing after the same 410) it is returned instead of the
/// documented 409: the client has no handling for 409 and would fail to
/// store the password, while the existing salt is exactly what it needs.
pub async fn create_graph_salt(ctx: &Ctx, user: &User, req: GraphRequest) -> ApiResult<Salt> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    // Ownership and the current salt in one round trip; a valid salt is the
    // answer (no write), else one upsert.
    let (graph, salt) = futures_util::future::join(
        q::find_graph(&ctx.db, &req.graph_uuid, &user.id),
        q::find_salt(&ctx.db, &req.graph_uuid),
    )
    .await;
    graph?;
    if let Some(salt) = valid_salt(ctx, salt?) {
        return Ok(salt);
    }
    let bytes = random_bytes::<64>().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    let value = STANDARD.encode(bytes);
    let expired_at = ctx.now_ms + ctx.config.salt_lifetime_days * 24 * 3600 * 1000;
    if q::upsert_salt(&ctx.db, &req.graph_uuid, &value, expired_at, ctx.now_ms).await? {
        return Ok(Salt { value, expired_at });
    }
    // Lost a race with another device's create: its salt is the answer.
    valid_salt(ctx, q::find_salt(&ctx.db, &req.graph_uuid).await?)
        .ok_or_else(|| ApiError::Internal("salt neither stored nor found".into()))
}

/// §6.9: 404 when the graph has no keys yet (the client then creates them).
pub async fn get_graph_encrypt_keys(
    ctx: &Ctx,
    user: &User,
    req: GraphRequest,
) -> ApiResult<EncryptKeys> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    // Ownership and keys in one round trip; the keys are only answered once
    // the graph is found to be the caller's.
    let (graph, keys) = futures_util::future::join(
        q::find_graph(&ctx.db, &req.graph_uuid, &user.id),
        q::find_keys(&ctx.db, &req.graph_uuid),
    )
    .await;
    graph?;
    let k = keys?.ok_or(ApiError::KeysNotFound)?;
    Ok(EncryptKeys {
        public_key: k.public_key,
        encrypted_private_key: k.encrypted_private_key,
    })
}

/// §6.10: stores the key pair once; a second pair is refused (409), since it
/// would make every stored file unreadable to the other devices.
pub async fn upload_graph_encrypt_keys(
    ctx: &Ctx,
    user: &User,
    req: UploadKeysRequest,
) -> ApiResult<Empty> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    if !req.public_key.starts_with("age1")
        || req.public_key.len() > MAX_PUBLIC_KEY
        || !req.public_key.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ApiError::BadRequest(
            "public-key must be an age X25519 recipient (age1...)".into(),
        ));
    }
    // Armored age passphrase encryption (LS sync.cljs:1999-2007).
    if !req
        .encrypted_private_key
        .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        || req.encrypted_private_key.len() > MAX_PRIVATE_KEY
    {
        return Err(ApiError::BadRequest(
            "encrypted-private-key must be an armored age file".into(),
        ));
    }
    q::find_graph(&ctx.db, &req.graph_uuid, &user.id).await?;
    if q::insert_keys(
        &ctx.db,
        &req.graph_uuid,
        &req.public_key,
        &req.encrypted_private_key,
        ctx.now_ms,
    )
    .await?
    {
        Ok(Empty {})
    } else {
        Err(ApiError::KeysExist)
    }
}
