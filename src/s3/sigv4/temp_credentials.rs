//! The "temporary credentials" `get_temp_credential` hands to the stock
//! client (PROTOCOL.md §6.16, §7.5; ARCHITECTURE.md §D4 item 2).
//!
//! Stateless: everything the receiver needs travels in the session token,
//! under an HMAC-SHA256 of a server secret, so `/s3/<key>` can check an
//! upload without a database read. All three strings are ASCII letters and
//! digits only, because s3-presign copies query values into the URL with
//! only `/ : +` and controls escaped (S3P `src/lib.rs:12-13,280-290`): any
//! `=`, `&`, `%` or space would reach us raw and ambiguous.
//!
//! Layout (version 1), hex lower-case, `Z` as separator (never a hex digit):
//!
//! ```text
//! session token  = "LSQ1" hex(user_id) "Z" hex(prefix) "Z" hex(expires_at as u64, 8 bytes BE) "Z" hex(mac)
//! mac            = HMAC(k, "token\0" || everything before the last "Z")
//! access key id  = "LSQT" HEX(HMAC(k, "access-key-id\0" || session token)[..8])
//! secret key     = hex(HMAC(k, "secret-key\0" || session token))
//! k              = HMAC(server_secret, "logseq-sync temp-credentials v1")
//! ```
//!
//! Token length is `2 × (len(user_id) + len(prefix)) + 87` characters:
//! about 260 for a UUID and a `temp/us-east-1:<uuid>` prefix.
//!
//! Rotating the server secret invalidates every outstanding credential
//! ([`S3Error::InvalidAccessKeyId`]); rsapi only refetches credentials on
//! `ExpiredToken`, or when they expire within 5 minutes (RS
//! `sync/src/sync.rs:134-165`).

use std::fmt;

use super::encoding::{constant_time_eq, format_rfc3339, hex_decode_lower, hex_lower};
use super::verify::{verify_presigned, SigningSecret, Verified, VerifyRequest};
use crate::s3::error::{S3Error, ACCESS_DENIED};
use crate::s3::keys::is_key_under_prefix;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const VERSION_TAG: &str = "LSQ1";
const ACCESS_KEY_TAG: &str = "LSQT";
const SEPARATOR: char = 'Z';
const KEY_LABEL: &[u8] = b"logseq-sync temp-credentials v1";

/// What `get_temp_credential` returns (plus the expiry as unix seconds;
/// [`TempCredentials::expiration_rfc3339`] gives the `Expiration` string).
#[derive(Clone, PartialEq, Eq)]
pub struct TempCredentials {
    pub access_key_id: String,
    pub secret_key: String,
    pub session_token: String,
    pub expires_at_unix: i64,
}

impl TempCredentials {
    /// `Expiration` as RFC 3339 (`2024-01-01T12:00:00Z`), which rsapi parses
    /// into a chrono `DateTime<Utc>` (PROTOCOL.md §6.16). `None` outside
    /// years 1970–9999.
    pub fn expiration_rfc3339(&self) -> Option<String> {
        format_rfc3339(self.expires_at_unix)
    }
}

impl fmt::Debug for TempCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expires_at_unix", &self.expires_at_unix)
            .finish()
    }
}

/// What a valid session token says, and the secret key that goes with it.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialClaims {
    pub user_id: String,
    /// The key prefix uploads must stay under ([`super::is_key_under_prefix`]).
    pub prefix: String,
    pub expires_at_unix: i64,
    pub secret_key: String,
}

impl fmt::Debug for CredentialClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialClaims")
            .field("user_id", &self.user_id)
            .field("expires_at_unix", &self.expires_at_unix)
            .field("secret_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl SigningSecret for CredentialClaims {
    fn secret_access_key(&self) -> &str {
        &self.secret_key
    }
}

/// SHA-256's block size, the length HMAC pads its key to.
const BLOCK: usize = 64;

/// A keyed HMAC-SHA256 instance for our own token MACs (not SigV4, so not
/// `aws-sigv4`'s job). HMAC zero-pads keys up to the block size and hashes
/// longer ones (RFC 2104 §2), so building the padded block here gives the
/// exact HMAC for every key length without the fallible `new_from_slice`.
fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = Sha256::digest(key);
        block.iter_mut().zip(digest).for_each(|(d, s)| *d = s);
    } else {
        block.iter_mut().zip(key).for_each(|(d, s)| *d = *s);
    }
    <HmacSha256 as KeyInit>::new(&block.into())
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = hmac_sha256(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn derived_key(server_secret: &[u8]) -> [u8; 32] {
    hmac_parts(server_secret, &[KEY_LABEL])
}

fn access_key_id_for(k: &[u8; 32], session_token: &str) -> String {
    let mac = hmac_parts(k, &[b"access-key-id\0", session_token.as_bytes()]);
    let short: String = hex_lower(mac.get(..8).unwrap_or_default()).to_ascii_uppercase();
    format!("{ACCESS_KEY_TAG}{short}")
}

fn secret_key_for(k: &[u8; 32], session_token: &str) -> String {
    hex_lower(&hmac_parts(k, &[b"secret-key\0", session_token.as_bytes()]))
}

/// Mints credentials for `user_id` that allow uploads under `prefix` until
/// `expires_at_unix`.
pub fn mint(
    server_secret: &[u8],
    user_id: &str,
    prefix: &str,
    expires_at_unix: i64,
) -> TempCredentials {
    let k = derived_key(server_secret);
    // Two's complement keeps any i64 exactly.
    let expires = hex_lower(&(expires_at_unix as u64).to_be_bytes());
    let body = format!(
        "{VERSION_TAG}{}{SEPARATOR}{}{SEPARATOR}{expires}",
        hex_lower(user_id.as_bytes()),
        hex_lower(prefix.as_bytes()),
    );
    let mac = hmac_parts(&k, &[b"token\0", body.as_bytes()]);
    let session_token = format!("{body}{SEPARATOR}{}", hex_lower(&mac));
    TempCredentials {
        access_key_id: access_key_id_for(&k, &session_token),
        secret_key: secret_key_for(&k, &session_token),
        session_token,
        expires_at_unix,
    }
}

/// Checks credentials minted by [`mint`] with the same `server_secret`:
/// a token that fails its MAC, or an access key id that does not belong to
/// it, is [`S3Error::InvalidAccessKeyId`]; a genuine token at or past its
/// expiry is [`S3Error::ExpiredToken`]. All comparisons are constant-time.
pub fn open(
    server_secret: &[u8],
    access_key_id: &str,
    session_token: &str,
    now_unix: i64,
) -> Result<CredentialClaims, S3Error> {
    const INVALID: S3Error = S3Error::InvalidAccessKeyId;
    let k = derived_key(server_secret);
    let (body, mac_hex) = session_token.rsplit_once(SEPARATOR).ok_or(INVALID)?;
    let provided_mac = hex_decode_lower(mac_hex).ok_or(INVALID)?;
    let mut mac = hmac_sha256(&k);
    mac.update(b"token\0");
    mac.update(body.as_bytes());
    mac.verify_slice(&provided_mac).map_err(|_| INVALID)?;
    let expected_id = access_key_id_for(&k, session_token);
    if !constant_time_eq(expected_id.as_bytes(), access_key_id.as_bytes()) {
        return Err(INVALID);
    }

    // Authentic from here on; a parse failure would be our own minting bug.
    let fields = body.strip_prefix(VERSION_TAG).ok_or(INVALID)?;
    let parts: Vec<&str> = fields.split(SEPARATOR).collect();
    let [user_hex, prefix_hex, expires_hex] = parts.as_slice() else {
        return Err(INVALID);
    };
    let text = |hex: &str| {
        hex_decode_lower(hex)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(INVALID)
    };
    let expires_bytes: [u8; 8] = hex_decode_lower(expires_hex)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(INVALID)?;
    let expires_at_unix = u64::from_be_bytes(expires_bytes) as i64;
    if now_unix >= expires_at_unix {
        return Err(S3Error::ExpiredToken);
    }
    Ok(CredentialClaims {
        user_id: text(user_hex)?,
        prefix: text(prefix_hex)?,
        expires_at_unix,
        secret_key: secret_key_for(&k, session_token),
    })
}

/// The whole check of a stock-client upload at `/s3/<key>`: the signature
/// (either canonical form, [`verify_presigned`]) with credentials from
/// [`open`] (no session token → [`S3Error::InvalidAccessKeyId`]), then the
/// key must lie under the credential's prefix, else
/// `AccessDenied("Access Denied")`. The caller still checks the method.
pub fn verify_upload(
    req: &VerifyRequest<'_>,
    server_secret: &[u8],
) -> Result<Verified<CredentialClaims>, S3Error> {
    let verified = verify_presigned(req, |access_key_id, session_token| {
        let token = session_token.ok_or(S3Error::InvalidAccessKeyId)?;
        open(server_secret, access_key_id, token, req.now_unix)
    })?;
    if !is_key_under_prefix(&verified.key, &verified.credential.prefix) {
        return Err(S3Error::AccessDenied(ACCESS_DENIED));
    }
    Ok(verified)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"server secret for tests, 32+ bytes long";
    const USER: &str = "5e4ed04f-1d37-4cef-8210-eea624f2aef5";
    const PREFIX: &str = "temp/us-east-1:5e4ed04f-1d37-4cef-8210-eea624f2aef5";
    const NOW: i64 = 1_700_000_000;

    #[test]
    fn padded_key_hmac_equals_hmac_for_every_key_length() {
        for len in [0usize, 1, 20, 32, 63, 64, 65, 100, 131, 200] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut reference = <HmacSha256 as KeyInit>::new_from_slice(&key).unwrap();
            reference.update(b"message");
            let expected: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(hmac_parts(&key, &[b"mes", b"sage"]), expected, "len {len}");
        }
    }

    #[test]
    fn rfc4231_case_6_long_key() {
        // RFC 4231 §4.7: 131-byte key 0xaa, "Test Using Larger Than Block-Size Key - Hash Key First".
        let key = [0xaau8; 131];
        let mac = hmac_parts(
            &key,
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        assert_eq!(
            hex_lower(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn minted_credentials_open_to_their_claims() {
        let creds = mint(SECRET, USER, PREFIX, NOW + 3600);
        let claims = open(SECRET, &creds.access_key_id, &creds.session_token, NOW).unwrap();
        assert_eq!(claims.user_id, USER);
        assert_eq!(claims.prefix, PREFIX);
        assert_eq!(claims.expires_at_unix, NOW + 3600);
        assert_eq!(claims.secret_key, creds.secret_key);
        assert_eq!(claims.secret_access_key(), creds.secret_key);
    }

    #[test]
    fn credentials_are_alphanumeric_deterministic_and_short() {
        let creds = mint(SECRET, USER, PREFIX, NOW + 3600);
        for s in [
            &creds.access_key_id,
            &creds.secret_key,
            &creds.session_token,
        ] {
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s}");
        }
        assert_eq!(creds.access_key_id.len(), 20);
        assert!(creds.access_key_id.starts_with("LSQT"));
        assert_eq!(creds.secret_key.len(), 64);
        assert_eq!(
            creds.session_token.len(),
            2 * (USER.len() + PREFIX.len()) + 87
        );
        assert!(creds.session_token.len() < 400);
        assert_eq!(creds, mint(SECRET, USER, PREFIX, NOW + 3600));
        let other = mint(SECRET, USER, PREFIX, NOW + 3601);
        assert_ne!(creds.access_key_id, other.access_key_id);
        assert_ne!(creds.secret_key, other.secret_key);
        assert_ne!(
            creds.secret_key,
            mint(b"other", USER, PREFIX, NOW + 3600).secret_key
        );
    }

    #[test]
    fn empty_and_odd_claims_round_trip() {
        for (user, prefix, exp) in [
            ("", "", NOW + 1),
            ("ü\u{0}Z", "a/b:c/ZZ", i64::MAX),
            ("u", "p", -5),
        ] {
            let creds = mint(SECRET, user, prefix, exp);
            match open(SECRET, &creds.access_key_id, &creds.session_token, NOW) {
                Ok(claims) => {
                    assert_eq!(
                        (claims.user_id.as_str(), claims.prefix.as_str()),
                        (user, prefix)
                    );
                    assert_eq!(claims.expires_at_unix, exp);
                }
                Err(e) => {
                    assert!(exp <= NOW);
                    assert_eq!(e, S3Error::ExpiredToken);
                }
            }
        }
    }

    #[test]
    fn expiry_is_exclusive() {
        let creds = mint(SECRET, USER, PREFIX, NOW);
        assert_eq!(
            open(SECRET, &creds.access_key_id, &creds.session_token, NOW),
            Err(S3Error::ExpiredToken)
        );
        assert!(open(SECRET, &creds.access_key_id, &creds.session_token, NOW - 1).is_ok());
    }

    #[test]
    fn any_tampering_is_rejected() {
        let creds = mint(SECRET, USER, PREFIX, NOW + 3600);
        // Every single-character change to the token.
        let token = creds.session_token.as_bytes();
        for i in 0..token.len() {
            for replacement in [b'0', b'a', b'Z', b'f'] {
                if token[i] == replacement {
                    continue;
                }
                let mut t = token.to_vec();
                t[i] = replacement;
                let t = String::from_utf8(t).unwrap();
                assert_eq!(
                    open(SECRET, &creds.access_key_id, &t, NOW),
                    Err(S3Error::InvalidAccessKeyId),
                    "byte {i}"
                );
            }
        }
        // Truncated, extended, empty, foreign.
        let t = &creds.session_token;
        for bad in [
            &t[..t.len() - 2],
            &format!("{t}00"),
            "",
            "LSQ1",
            "ZZZZ",
            "garbage",
        ] {
            assert_eq!(
                open(SECRET, &creds.access_key_id, bad, NOW),
                Err(S3Error::InvalidAccessKeyId)
            );
        }
        // Wrong access key id, including another valid credential's.
        let other = mint(SECRET, USER, PREFIX, NOW + 7200);
        for id in [other.access_key_id.as_str(), "", "LSQT0000000000000000"] {
            assert_eq!(
                open(SECRET, id, &creds.session_token, NOW),
                Err(S3Error::InvalidAccessKeyId)
            );
        }
        // A different server secret.
        assert_eq!(
            open(
                b"another secret",
                &creds.access_key_id,
                &creds.session_token,
                NOW
            ),
            Err(S3Error::InvalidAccessKeyId)
        );
        // Tampering beats expiry: a forged token never reads as merely expired.
        assert_eq!(
            open(
                SECRET,
                "LSQT0000000000000000",
                &creds.session_token,
                NOW + 10_000
            ),
            Err(S3Error::InvalidAccessKeyId)
        );
    }

    #[test]
    fn splicing_claims_between_tokens_fails() {
        let a = mint(SECRET, USER, PREFIX, NOW + 3600);
        let b = mint(SECRET, "attacker", "temp/us-east-1:attacker", NOW + 3600);
        let (a_body, _) = a.session_token.rsplit_once('Z').unwrap();
        let (_, b_mac) = b.session_token.rsplit_once('Z').unwrap();
        let spliced = format!("{a_body}Z{b_mac}");
        assert_eq!(
            open(SECRET, &b.access_key_id, &spliced, NOW),
            Err(S3Error::InvalidAccessKeyId)
        );
    }

    #[test]
    fn expiration_is_rfc3339() {
        let creds = mint(SECRET, USER, PREFIX, 1_704_110_400);
        assert_eq!(creds.expiration_rfc3339().unwrap(), "2024-01-01T12:00:00Z");
    }

    #[test]
    fn debug_redacts_secrets() {
        let creds = mint(SECRET, USER, PREFIX, NOW + 3600);
        let shown = format!("{creds:?}");
        assert!(!shown.contains(&creds.secret_key));
        assert!(!shown.contains(&creds.session_token));
        let claims = open(SECRET, &creds.access_key_id, &creds.session_token, NOW).unwrap();
        assert!(!format!("{claims:?}").contains(&creds.secret_key));
    }
}
