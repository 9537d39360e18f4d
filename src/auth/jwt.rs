//! Bearer tokens: HS256 JWTs signed with `JWT_SECRET` (ARCHITECTURE.md §D5).
//!
//! The client reads `sub` (a UUID v1-5, PROTOCOL.md §3.2) and `exp` from the
//! token and refreshes it when less than an hour remains (§3.3); the server
//! verifies the signature itself and never trusts an unverified payload.
//! Hand-written over `hmac` and `base64` rather than a JWT crate: those bundle
//! their own RSA (ring or `rsa`) into the wasm, and HS256 is one HMAC.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;
use crate::protocol::ids::is_client_uuid;

type HmacSha256 = Hmac<Sha256>;

/// Tokens longer than this are rejected before any work.
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Clock skew tolerated for `nbf`/`iat` in the future (own and Logseq-account tokens).
pub(crate) const LEEWAY_SECS: i64 = 60;

/// The claims the server uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, a UUID the client accepts.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Token id, for revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Extracts the token from an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, ApiError> {
    let value = header.ok_or(ApiError::Unauthorized)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::Unauthorized);
    }
    Ok(token)
}

/// Verifies an HS256 JWT and returns its claims. Every failure is
/// `Unauthorized`: the client only distinguishes that (PROTOCOL.md §3.6).
pub fn verify(token: &str, secret: &[u8], now_secs: i64) -> Result<Claims, ApiError> {
    if secret.is_empty() {
        return Err(ApiError::Unauthorized);
    }
    let (h64, p64, s64) = jwt_parts(token)?;
    let header: Header = decode_json(h64)?;
    // Only HS256: `none`, RS256 with our secret as "public key" etc. are refused.
    if header.alg != "HS256" {
        return Err(ApiError::Unauthorized);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| ApiError::Unauthorized)?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| ApiError::Unauthorized)?;
    mac.update(h64.as_bytes());
    mac.update(b".");
    mac.update(p64.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&signature)
        .map_err(|_| ApiError::Unauthorized)?;

    let claims: Claims = decode_json(p64)?;
    if claims.exp <= now_secs {
        return Err(ApiError::Unauthorized);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now_secs + LEEWAY_SECS) {
        return Err(ApiError::Unauthorized);
    }
    if claims.iat.is_some_and(|iat| iat > now_secs + LEEWAY_SECS) {
        return Err(ApiError::Unauthorized);
    }
    if !is_client_uuid(&claims.sub) {
        return Err(ApiError::Unauthorized);
    }
    Ok(claims)
}

/// Signs claims as an HS256 JWT.
pub fn sign(claims: &Claims, secret: &[u8]) -> Result<String, ApiError> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
    let mut mac =
        HmacSha256::new_from_slice(secret).map_err(|e| ApiError::Internal(e.to_string()))?;
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Ok(format!("{header}.{payload}.{sig}"))
}

/// The three base64url segments of a compact JWT (header, payload, signature),
/// refusing oversize tokens and any other number of segments. Nothing in them
/// is trusted until the caller has verified the signature.
pub(crate) fn jwt_parts(token: &str) -> Result<(&str, &str, &str), ApiError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ApiError::Unauthorized);
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ApiError::Unauthorized);
    };
    Ok((h64, p64, s64))
}

/// One JWT segment decoded as JSON; any failure is `Unauthorized`.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| ApiError::Unauthorized)?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret";
    const NOW: i64 = 1_800_000_000;
    const SUB: &str = "6f1c3d9e-2b4a-4c8e-9f00-0123456789ab";

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: SUB.into(),
            exp,
            iat: Some(NOW),
            nbf: None,
            email: Some("a@b.c".into()),
            jti: None,
        }
    }

    #[test]
    fn round_trip() {
        let t = sign(&claims(NOW + 3600), SECRET).unwrap();
        assert_eq!(verify(&t, SECRET, NOW).unwrap().sub, SUB);
    }

    #[test]
    fn expired_and_wrong_key_fail() {
        let t = sign(&claims(NOW), SECRET).unwrap();
        assert_eq!(verify(&t, SECRET, NOW), Err(ApiError::Unauthorized));
        let t = sign(&claims(NOW + 10), SECRET).unwrap();
        assert_eq!(verify(&t, b"other", NOW), Err(ApiError::Unauthorized));
    }

    #[test]
    fn alg_none_and_tampering_fail() {
        let t = sign(&claims(NOW + 3600), SECRET).unwrap();
        let mut parts: Vec<&str> = t.split('.').collect();
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        parts[0] = &none;
        assert_eq!(
            verify(&format!("{}.{}.", parts[0], parts[1]), SECRET, NOW),
            Err(ApiError::Unauthorized)
        );
        assert_eq!(
            verify(&parts.join("."), SECRET, NOW),
            Err(ApiError::Unauthorized)
        );
        let other = URL_SAFE_NO_PAD
            .encode(br#"{"sub":"6f1c3d9e-2b4a-4c8e-9f00-0123456789ac","exp":1900000000}"#);
        let forged = format!(
            "{}.{}.{}",
            t.split('.').next().unwrap(),
            other,
            t.split('.').nth(2).unwrap()
        );
        assert_eq!(verify(&forged, SECRET, NOW), Err(ApiError::Unauthorized));
    }

    #[test]
    fn sub_must_be_a_client_uuid() {
        let mut c = claims(NOW + 3600);
        c.sub = "0190d3c4-0000-7000-8000-000000000000".into(); // UUIDv7: rejected by the client
        let t = sign(&c, SECRET).unwrap();
        assert_eq!(verify(&t, SECRET, NOW), Err(ApiError::Unauthorized));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(Some("bearer  abc ")).unwrap(), "abc");
        assert!(bearer_token(Some("Basic abc")).is_err());
        assert!(bearer_token(Some("Bearer ")).is_err());
        assert!(bearer_token(None).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d",
            "€.€.€",
            "eyJhbGciOiJIUzI1NiJ9.e30.",
            &"x".repeat(10_000),
        ] {
            assert_eq!(verify(t, SECRET, NOW), Err(ApiError::Unauthorized));
        }
    }
}
