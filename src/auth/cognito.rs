//! Logseq-account ID tokens: what Logseq's Cognito user pool issues to the
//! app's login dialog (PROTOCOL.md §3.4, option 1 of §3.5). This module is
//! the pure part: token and JWKS parsing, the claim checks, the allow-list
//! match and the key-cache policy, all host-tested. The RS256 signature
//! itself is checked by the runtime's WebCrypto in `jwks.rs`. Splitting the JWT and checking
//! claims is a few lines over `base64` and `serde` rather than a JWT crate, because those crates
//! bundle their own RSA (ring or `rsa`), which WebCrypto makes redundant in the wasm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use crate::auth::jwt::{decode_json, jwt_parts, LEEWAY_SECS};
use crate::error::ApiError;
use crate::protocol::accounts::CLIENT_IDS;
use crate::protocol::ids::is_client_uuid;

/// A JWKS larger than this, or with more keys, is garbage.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
const MAX_KEYS: usize = 32;

/// An RS256 token split into what the signature check needs.
#[derive(Debug, PartialEq, Eq)]
pub struct SignedToken<'a> {
    pub kid: String,
    /// `<header>.<payload>`: the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
    payload: &'a str,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// Whether a token is RS256 (a Logseq-account token) rather than one of this
/// server's HS256 tokens. Reads the header only, to pick the verifier.
pub fn is_rs256(token: &str) -> bool {
    token
        .split('.')
        .next()
        .and_then(|h| decode_json::<Header>(h).ok())
        .is_some_and(|h| h.alg == "RS256")
}

/// Splits an RS256 JWT. Nothing in it is trusted until `jwks` has verified
/// the signature over `signing_input`.
pub fn split(token: &str) -> Result<SignedToken<'_>, ApiError> {
    let (h64, p64, s64) = jwt_parts(token)?;
    let header: Header = decode_json(h64)?;
    if header.alg != "RS256" {
        return Err(ApiError::Unauthorized);
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty() && k.len() <= 256)
        .ok_or(ApiError::Unauthorized)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| ApiError::Unauthorized)?;
    if signature.is_empty() {
        return Err(ApiError::Unauthorized);
    }
    Ok(SignedToken {
        kid,
        signing_input: &token[..h64.len() + 1 + p64.len()],
        signature,
        payload: p64,
    })
}

/// The claims of a Cognito ID token this server uses; the others
/// (`cognito:username`, `auth_time`, `jti`, `origin_jti`, `event_id`) are
/// ignored.
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    iss: String,
    aud: String,
    token_use: String,
    exp: i64,
    iat: i64,
    #[serde(default)]
    email: Option<String>,
    /// Cognito writes a JSON boolean; some pools a string.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

/// A verified Logseq account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Cognito `sub`: the user id here.
    pub sub: String,
    /// Verified email, lowercased.
    pub email: String,
    pub iat: i64,
}

/// Checks the claims of a token whose signature has been verified: issuer,
/// audience, `token_use == "id"`, expiry, a verified email and a `sub` the
/// app accepts (PROTOCOL.md §3.2).
pub fn check_claims(token: &SignedToken<'_>, issuer: &str, now: i64) -> Result<Account, ApiError> {
    let c: IdClaims = decode_json(token.payload)?;
    let verified = matches!(&c.email_verified, Some(serde_json::Value::Bool(true)))
        || matches!(&c.email_verified, Some(serde_json::Value::String(s)) if s == "true");
    let ok = c.iss == issuer
        && CLIENT_IDS.contains(&c.aud.as_str())
        && c.token_use == "id"
        && c.exp > now
        && c.iat <= now + LEEWAY_SECS
        && verified
        && is_client_uuid(&c.sub);
    let email = c
        .email
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| e.contains('@'));
    match (ok, email) {
        (true, Some(email)) => Ok(Account {
            sub: c.sub.to_ascii_lowercase(),
            email,
            iat: c.iat,
        }),
        _ => Err(ApiError::Unauthorized),
    }
}

/// Whether an account is on a list of entries (email or sub).
pub fn is_listed(list: &[String], account: &Account) -> bool {
    list.iter()
        .any(|e| *e == account.email || *e == account.sub)
}

/// One RSA signing key of a JWKS, as WebCrypto imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    pub kid: String,
    /// The JWK JSON object `{kty, n, e, alg}` for `importKey("jwk", ...)`.
    pub jwk: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

/// The RS256 signing keys of a JWKS document. Keys of other types or uses
/// are skipped; a document with none, or that is not a JWKS, is an error.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<RsaKey>, String> {
    if body.len() > MAX_JWKS_BYTES {
        return Err(format!("JWKS of {} bytes", body.len()));
    }
    let doc: Jwks = serde_json::from_slice(body).map_err(|e| format!("not a JWKS: {e}"))?;
    let str_of =
        |k: &serde_json::Value, f: &str| k.get(f).and_then(|v| v.as_str()).map(str::to_string);
    let mut keys = Vec::new();
    for k in doc.keys.iter().take(MAX_KEYS) {
        let (Some(kid), Some(n), Some(e)) = (str_of(k, "kid"), str_of(k, "n"), str_of(k, "e"))
        else {
            continue;
        };
        let rsa = str_of(k, "kty").as_deref() == Some("RSA");
        let alg = str_of(k, "alg").is_none_or(|a| a == "RS256");
        let sig = str_of(k, "use").is_none_or(|u| u == "sig");
        let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).is_ok_and(|b| !b.is_empty());
        if rsa && alg && sig && b64(&n) && b64(&e) && !kid.is_empty() {
            let jwk =
                serde_json::json!({"kty": "RSA", "n": n, "e": e, "alg": "RS256", "ext": true});
            keys.push(RsaKey {
                kid,
                jwk: jwk.to_string(),
            });
        }
    }
    if keys.is_empty() {
        return Err("JWKS has no RS256 signing key".into());
    }
    Ok(keys)
}

/// How long keys are used, from the time they were fetched from Cognito
/// (by this isolate or, through D1, by another), before they are fetched
/// again. A key Cognito adds is picked up sooner: an unknown `kid` fetches.
pub const KEYS_TTL_MS: i64 = 6 * 3600 * 1000;
/// Keys older than this are dropped even when Cognito cannot be reached.
pub const MAX_STALE_MS: i64 = 7 * 24 * 3600 * 1000;

/// What an isolate knows about the key set when a token arrives.
#[derive(Debug, Clone, Copy)]
pub struct KeyState {
    /// When the keys it holds were fetched from Cognito; None when it has none.
    pub fetched_at_ms: Option<i64>,
    /// When it last tried to fetch (successfully or not); None if never.
    pub last_attempt_ms: Option<i64>,
    /// Whether the token's `kid` is among the keys held.
    pub kid_known: bool,
}

/// Whether to fetch the JWKS from Cognito now: when the keys are missing,
/// past their lifetime, or lack the token's `kid`, but never twice within
/// `min_interval_ms`, so a JWKS that is down or a stream of tokens with
/// made-up `kid`s costs at most one fetch per interval, not one per request.
pub fn should_fetch(s: KeyState, now_ms: i64, min_interval_ms: i64) -> bool {
    let wanted = match s.fetched_at_ms {
        None => true,
        Some(at) => !s.kid_known || now_ms - at >= KEYS_TTL_MS,
    };
    wanted
        && s.last_attempt_ms
            .is_none_or(|t| now_ms - t >= min_interval_ms)
}

/// Whether keys fetched at `fetched_at_ms` may still be used.
pub fn usable(fetched_at_ms: i64, now_ms: i64) -> bool {
    now_ms - fetched_at_ms < MAX_STALE_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::accounts::{normalize_account, parse_allow_list, ISSUER};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const SUB: &str = "5b1e8a7c-3d2f-4e6a-9b8c-1d2e3f4a5b6c";

    /// The claim set Cognito puts in an ID token of this pool.
    fn cognito_claims() -> serde_json::Value {
        json!({
            "sub": SUB,
            "email_verified": true,
            "iss": ISSUER,
            "cognito:username": SUB,
            "origin_jti": "0b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
            "aud": "69cs1lgme7p8kbgld8n5kseii6",
            "event_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
            "token_use": "id",
            "auth_time": NOW - 100,
            "exp": NOW + 3600,
            "iat": NOW - 100,
            "jti": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "email": "Alice@Example.com"
        })
    }

    fn token(header: serde_json::Value, claims: &serde_json::Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode([1u8, 2, 3]))
    }

    fn rs(claims: &serde_json::Value) -> String {
        token(json!({"kid": "k1", "alg": "RS256"}), claims)
    }

    fn check(claims: &serde_json::Value) -> Result<Account, ApiError> {
        let t = rs(claims);
        check_claims(&split(&t)?, ISSUER, NOW)
    }

    #[test]
    fn a_cognito_id_token_passes() {
        let a = check(&cognito_claims()).unwrap();
        assert_eq!(a.sub, SUB);
        assert_eq!(a.email, "alice@example.com");
        let t = rs(&cognito_claims());
        let s = split(&t).unwrap();
        assert_eq!(s.kid, "k1");
        assert_eq!(s.signature, vec![1, 2, 3]);
        assert_eq!(s.signing_input, &t[..t.rfind('.').unwrap()]);
        assert!(is_rs256(&t));
    }

    #[test]
    fn each_claim_is_checked() {
        let mut cases: Vec<(&str, serde_json::Value)> = vec![
            (
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
            ),
            ("aud", json!("someoneelse")),
            ("token_use", json!("access")),
            ("exp", json!(NOW)),
            ("iat", json!(NOW + 3600)),
            ("email_verified", json!(false)),
            ("email_verified", json!("false")),
            ("sub", json!("0190d3c4-0000-7000-8000-000000000000")),
            ("email", json!("not-an-email")),
        ];
        cases.push(("email_verified", serde_json::Value::Null));
        for (field, value) in cases {
            let mut c = cognito_claims();
            c[field] = value.clone();
            assert_eq!(check(&c), Err(ApiError::Unauthorized), "{field} = {value}");
        }
        for field in ["email", "email_verified", "token_use", "aud", "iat"] {
            let mut c = cognito_claims();
            c.as_object_mut().unwrap().remove(field);
            assert_eq!(check(&c), Err(ApiError::Unauthorized), "without {field}");
        }
        let mut c = cognito_claims();
        c["email_verified"] = json!("true");
        c["aud"] = json!("3c7np6bjtb4r1k1bi9i049ops5");
        assert!(check(&c).is_ok());
    }

    #[test]
    fn only_rs256_with_a_kid_splits() {
        let c = cognito_claims();
        for header in [
            json!({"alg": "none", "kid": "k1"}),
            json!({"alg": "HS256", "kid": "k1"}),
            json!({"alg": "RS256"}),
            json!({"alg": "RS256", "kid": ""}),
        ] {
            assert_eq!(split(&token(header, &c)), Err(ApiError::Unauthorized));
        }
        let t = rs(&c);
        let unsigned = &t[..t.rfind('.').unwrap() + 1];
        assert_eq!(split(unsigned), Err(ApiError::Unauthorized));
        for garbage in ["", "a.b.c", "a.b.c.d", "€.€.€", &"x".repeat(9000)] {
            assert!(split(garbage).is_err());
            assert!(!is_rs256(garbage));
        }
    }

    #[test]
    fn allow_list_entries() {
        let (ok, bad) =
            parse_allow_list(" Alice@Example.com, 5B1E8A7C-3D2F-4E6A-9B8C-1D2E3F4A5B6C  bob ");
        assert_eq!(ok, vec!["alice@example.com".to_string(), SUB.to_string()]);
        assert_eq!(bad, vec!["bob".to_string()]);
        let a = Account {
            sub: SUB.into(),
            email: "carol@example.com".into(),
            iat: NOW,
        };
        assert!(is_listed(&ok, &a));
        assert!(!is_listed(&["alice@example.com".to_string()], &a));
        assert_eq!(normalize_account("x@y"), None);
    }

    #[test]
    fn jwks_parsing() {
        let doc = json!({"keys": [
            {"alg": "RS256", "e": "AQAB", "kid": "k1", "kty": "RSA", "n": "sXch", "use": "sig"},
            {"alg": "ES256", "kid": "k2", "kty": "EC", "x": "a", "y": "b"},
            {"kid": "k3", "kty": "RSA", "n": "!!", "e": "AQAB"},
            {"kid": "k4", "kty": "RSA", "n": "sXch", "e": "AQAB", "use": "enc"}
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid, "k1");
        assert!(keys[0].jwk.contains(r#""n":"sXch""#));
        for garbage in [
            &b"<html>"[..],
            b"{}",
            br#"{"keys":[]}"#,
            b"null",
            &[b' '; 70_000],
        ] {
            assert!(parse_jwks(garbage).is_err());
        }
    }

    proptest::proptest! {
        /// Arbitrary text never panics the parsers and never yields an account.
        #[test]
        fn garbage_never_passes(t in "\\PC{0,400}", b in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            if let Ok(s) = split(&t) {
                proptest::prop_assert!(check_claims(&s, ISSUER, NOW).is_err());
            }
            let _ = parse_jwks(&b);
            let _ = parse_allow_list(&t);
            let _ = is_rs256(&t);
        }

    }

    #[test]
    fn fetch_policy() {
        let min = 60_000;
        let s = |fetched: Option<i64>, attempt: Option<i64>, known: bool| KeyState {
            fetched_at_ms: fetched,
            last_attempt_ms: attempt,
            kid_known: known,
        };
        let now = 10_000_000_000;
        // Cold isolate: fetch.
        assert!(should_fetch(s(None, None, false), now, min));
        // Warm, known kid, fresh: no fetch.
        assert!(!should_fetch(
            s(Some(now - 1000), Some(now - 1000), true),
            now,
            min
        ));
        // Unknown kid: fetch, but not again within the interval.
        assert!(should_fetch(
            s(Some(now - min), Some(now - min), false),
            now,
            min
        ));
        assert!(!should_fetch(
            s(Some(now - 1000), Some(now - 1000), false),
            now,
            min
        ));
        // Down: the failed attempt holds the next one back.
        assert!(!should_fetch(s(None, Some(now - 1000), false), now, min));
        // Past the isolate lifetime: look again.
        assert!(should_fetch(
            s(Some(now - KEYS_TTL_MS), Some(now - KEYS_TTL_MS), true),
            now,
            min
        ));
        assert!(usable(now - MAX_STALE_MS + 1, now));
        assert!(!usable(now - MAX_STALE_MS, now));
    }
}
