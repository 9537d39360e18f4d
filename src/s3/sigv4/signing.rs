//! The verifier's SigV4 pieces. `aws-sigv4` derives the signing key and
//! computes the signature; what stays here is the canonical request and
//! string to sign of a request *received*, which `aws-sigv4` only builds for
//! requests it signs itself (and never in rsapi's non-standard form,
//! PROTOCOL.md §7.2).
//!
//! AWS reference: "Create a signed AWS API request" / "Authenticating
//! Requests: Using Query Parameters (AWS Signature Version 4)".

use std::cell::RefCell;
use std::time::{Duration, UNIX_EPOCH};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use sha2::{Digest, Sha256};

use super::encoding::{constant_time_eq, encode_query_component, hex_lower};

/// `X-Amz-Algorithm`.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Payload hash of every presigned URL (S3 does not hash the body of a
/// query-signed request).
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The only service we sign for.
pub(crate) const SERVICE: &str = "s3";
/// Last element of the credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";

/// Signing keys kept per isolate. A stock client uploads every file of a
/// sync with one credential, so one derivation serves them all; the bound
/// keeps memory flat when many credentials pass through one isolate.
const CACHE_ENTRIES: usize = 64;

/// The `aws-sigv4` settings S3 presigning uses (ARCHITECTURE.md §D4): the
/// signature in the query, `UNSIGNED-PAYLOAD` with no checksum header, the
/// path percent-encoded once and not normalised, the session token signed.
/// One copy, for [`super::presign_url`] and the test that checks it against
/// the S3 SDK's path encoding.
pub(crate) fn presign_settings(expires_in: Duration) -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.session_token_mode = SessionTokenMode::Include;
    settings
}

/// (SHA-256 of the secret, yyyymmdd, region, service): the secret itself is
/// not kept as a cache key.
type CacheKey = ([u8; 32], String, String, &'static str);

thread_local! {
    static KEYS: RefCell<Vec<(CacheKey, SigningKey)>> = const { RefCell::new(Vec::new()) };
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), "s3"),
/// "aws4_request")`, derived by `aws-sigv4` and cached in the isolate per
/// (secret, day, region, service).
#[derive(Clone)]
pub(crate) struct SigningKey(Vec<u8>);

impl SigningKey {
    /// `date` is the `yyyymmdd` of the credential scope; `None` when it is
    /// not a date.
    pub(crate) fn derive(secret_access_key: &str, date: &str, region: &str) -> Option<Self> {
        let midnight = super::encoding::parse_amz_date(&format!("{date}T000000Z"))?;
        let cache_key: CacheKey = (
            Sha256::digest(secret_access_key.as_bytes()).into(),
            date.to_owned(),
            region.to_owned(),
            SERVICE,
        );
        if let Some(hit) = KEYS.with_borrow(|keys| {
            keys.iter()
                .find(|(k, _)| *k == cache_key)
                .map(|(_, v)| v.clone())
        }) {
            return Some(hit);
        }
        let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(midnight).ok()?);
        let key = Self(
            generate_signing_key(secret_access_key, time, region, SERVICE)
                .as_ref()
                .to_vec(),
        );
        KEYS.with_borrow_mut(|keys| {
            if keys.len() >= CACHE_ENTRIES {
                keys.remove(0);
            }
            keys.push((cache_key, key.clone()));
        });
        Some(key)
    }

    /// The signature, lower-case hex.
    pub(crate) fn sign(&self, string_to_sign: &str) -> String {
        calculate_signature(&self.0, string_to_sign.as_bytes())
    }

    /// Checks `signature` (lower-case hex, as sent) in constant time.
    pub(crate) fn verify(&self, string_to_sign: &str, signature: &str) -> bool {
        constant_time_eq(self.sign(string_to_sign).as_bytes(), signature.as_bytes())
    }
}

/// How many signing keys the isolate holds (tests).
#[cfg(test)]
pub(crate) fn cached_keys() -> usize {
    KEYS.with_borrow(Vec::len)
}

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex_lower(&Sha256::digest(data))
}

/// `<yyyymmdd>/<region>/s3/aws4_request`.
pub(crate) fn scope(date: &str, region: &str) -> String {
    format!("{date}/{region}/{SERVICE}/{TERMINATOR}")
}

/// The string to sign for `amz_date` (`yyyymmddThhmmssZ`); `aws-sigv4`
/// keeps its own `StringToSign` private.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The canonical request of a received request. `canonical_headers` is one
/// `name:value\n` line per signed header, in the order of `signed_headers`.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
) -> String {
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{UNSIGNED_PAYLOAD}"
    )
}

/// The standard canonical query string of a received query: every name and
/// value encoded with SigV4's `UriEncode`, pairs sorted by encoded name then
/// encoded value, joined with `&`.
/// Hand-written: aws-sigv4 builds it only for requests it signs itself.
pub(crate) fn canonical_query<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(name, value)| (encode_query_component(name), encode_query_component(value)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use hmac::digest::KeyInit;
    use hmac::{Hmac, Mac};

    type HmacSha256 = Hmac<Sha256>;

    #[test]
    fn aws_documentation_signing_key() {
        // Derivation of the S3 "Example: presigned URL" key, checked end to
        // end (signature aeeed9bb…) in presign.rs; here the chain itself
        // against an independent HMAC chain.
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let mut k =
            <HmacSha256 as KeyInit>::new_from_slice(format!("AWS4{secret}").as_bytes()).unwrap();
        k.update(b"20130524");
        let mut chain: Vec<u8> = k.finalize().into_bytes().to_vec();
        for part in [b"us-east-1".as_slice(), b"s3", b"aws4_request"] {
            let mut m = <HmacSha256 as KeyInit>::new_from_slice(&chain).unwrap();
            m.update(part);
            chain = m.finalize().into_bytes().to_vec();
        }
        assert_eq!(
            SigningKey::derive(secret, "20130524", "us-east-1")
                .unwrap()
                .0,
            chain
        );
        assert!(SigningKey::derive(secret, "20130532", "us-east-1").is_none());
    }

    #[test]
    fn keys_are_cached_per_secret_day_and_region() {
        let a = SigningKey::derive("cache-test-secret-a", "20240101", "auto").unwrap();
        let before = cached_keys();
        let again = SigningKey::derive("cache-test-secret-a", "20240101", "auto").unwrap();
        assert_eq!(cached_keys(), before, "a hit adds nothing");
        assert_eq!(a.0, again.0);
        for (secret, date, region) in [
            ("cache-test-secret-b", "20240101", "auto"),
            ("cache-test-secret-a", "20240102", "auto"),
            ("cache-test-secret-a", "20240101", "us-east-1"),
        ] {
            let other = SigningKey::derive(secret, date, region).unwrap();
            assert_ne!(other.0, a.0, "{secret} {date} {region}");
        }
        for i in 0..2 * CACHE_ENTRIES {
            SigningKey::derive(&format!("cache-fill-{i}"), "20240101", "auto").unwrap();
        }
        assert!(cached_keys() <= CACHE_ENTRIES);
        // Evicted or not, the key is the same.
        let later = SigningKey::derive("cache-test-secret-a", "20240101", "auto").unwrap();
        assert_eq!(later.0, a.0);
    }

    #[test]
    fn verify_accepts_only_the_exact_signature() {
        let key = SigningKey::derive("secret", "20240101", "auto").unwrap();
        let sig = key.sign("string");
        assert!(key.verify("string", &sig));
        assert!(!key.verify("strinG", &sig));
        let mut flipped = sig.clone().into_bytes();
        flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
        assert!(!key.verify("string", std::str::from_utf8(&flipped).unwrap()));
        assert!(!key.verify("string", &sig[..62]));
    }

    #[test]
    fn canonical_query_sorts_on_encoded_pairs() {
        let pairs: [(&[u8], &[u8]); 4] =
            [(b"b", b"2"), (b"a", b"x/y"), (b"a", b"x y"), (b"A", b"")];
        assert_eq!(canonical_query(pairs), "A=&a=x%20y&a=x%2Fy&b=2");
    }
}
