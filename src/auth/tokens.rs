//! Revocable credentials: refresh tokens (`<id>.<secret>`, stored as a
//! SHA-256 hash of the secret) and constant-time comparison of secrets.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Compares two secrets in time independent of where they differ: both are
/// hashed first, so lengths leak nothing either.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    bool::from(x.as_slice().ct_eq(y.as_slice()))
}

/// Prefix of refresh tokens. It starts with a letter because the app reads
/// the stored token with `cljs.reader/read-string`, which throws on a token
/// that starts with a digit (LS handler/user.cljs).
pub const REFRESH_PREFIX: &str = "lsrt.";

/// A refresh token from its id and secret.
pub fn format_refresh_token(id: &str, secret: &str) -> String {
    format!("{REFRESH_PREFIX}{id}.{secret}")
}

/// Splits a refresh token into its id and secret.
pub fn parse_refresh_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.trim().strip_prefix(REFRESH_PREFIX)?.split_once('.')?;
    let ok =
        |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    (ok(id, 36) && ok(secret, 64)).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
        assert!(!secrets_equal(b"", b"x"));
    }

    #[test]
    fn refresh_token_shape() {
        let id = "6f1c3d9e-2b4a-4c8e-9f00-0123456789ab";
        let secret = "a".repeat(64);
        let token = format_refresh_token(id, &secret);
        assert!(token.starts_with(|c: char| c.is_ascii_alphabetic()));
        assert_eq!(parse_refresh_token(&token), Some((id, secret.as_str())));
        assert_eq!(parse_refresh_token(&format!("{id}.{secret}")), None);
        assert_eq!(parse_refresh_token("x.y"), None);
        assert_eq!(
            parse_refresh_token(&format_refresh_token(id, &"a".repeat(63))),
            None
        );
        assert_eq!(sha256_hex(b"").len(), 64);
    }
}
