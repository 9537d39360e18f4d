//! Identifiers: UUIDs the client accepts, encrypted file names, object keys.

use sha2::{Digest, Sha256};

/// Fills a buffer with cryptographically secure random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// Formats 16 bytes as a lowercase hyphenated UUID.
fn format_uuid(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A random UUIDv4 from 16 random bytes.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// A new random UUIDv4.
pub fn new_uuid() -> Result<String, getrandom::Error> {
    Ok(uuid_v4(random_bytes::<16>()?))
}

/// The UUID shape the client insists on for `sub` and graph ids: version
/// nibble 0-5 and the RFC-4122 variant (LS src/main/frontend/util.cljc:83-88,
/// PROTOCOL.md §3.2). UUIDv7 is refused there, so it is refused here.
pub fn is_client_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => (b'0'..=b'5').contains(c),
            19 => matches!(c.to_ascii_lowercase(), b'0' | b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Longest encrypted name the client uploads (LS sync.cljs:2604-2618).
pub const MAX_ENCRYPTED_NAME_LEN: usize = 950;

/// An encrypted file name as the client produces it: `e.` + lowercase hex of
/// ciphertext and tag, at least 38 characters (anything shorter cannot be
/// decrypted by the client, PROTOCOL.md §5.1) and at most 950.
pub fn is_encrypted_name(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("e.") else {
        return false;
    };
    s.len() >= 38
        && s.len() <= MAX_ENCRYPTED_NAME_LEN
        && hex.len() % 2 == 0
        && hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// The stable `FileUUID` of a file path in a graph (page history, PROTOCOL.md
/// §6.15): derived, so it survives deletion and re-creation of the file.
pub fn file_uuid(graph_id: &str, path: &str) -> String {
    let digest = Sha256::digest(format!("{graph_id}\n{path}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    // UUIDv8 (custom): it is only ever used as a directory name by the client.
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// The S3-style key the client sees for a file: `<user>/<graph>/<name>`
/// (the client strips this prefix, LS sync.cljs:336-344).
pub fn remote_key(user_id: &str, graph_id: &str, name: &str) -> String {
    format!("{user_id}/{graph_id}/{name}")
}

/// `n` random lowercase letters, e.g. the tail of an upload key.
pub fn random_letters(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(b'a' + b % 26)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_is_a_client_uuid() {
        for seed in 0..=255u8 {
            let u = uuid_v4([seed; 16]);
            assert!(is_client_uuid(&u), "{u}");
            assert_eq!(u, u.to_lowercase());
        }
    }

    #[test]
    fn client_uuid_rules() {
        assert!(is_client_uuid("6F1C3D9E-2B4A-4C8E-9F00-0123456789AB"));
        assert!(!is_client_uuid("0190d3c4-0000-7000-8000-000000000000")); // v7
        assert!(!is_client_uuid("6f1c3d9e-2b4a-4c8e-cf00-0123456789ab")); // variant
        assert!(!is_client_uuid("6f1c3d9e2b4a4c8e9f000123456789ab"));
        assert!(!is_client_uuid("../../../../../../../../../../../etc"));
    }

    #[test]
    fn encrypted_names() {
        let min = format!("e.{}", "ab".repeat(18));
        assert!(is_encrypted_name(&min));
        assert!(!is_encrypted_name(&format!("e.{}", "ab".repeat(17))));
        assert!(!is_encrypted_name(&format!("e.{}", "AB".repeat(18))));
        assert!(!is_encrypted_name(&format!("e.{}a", "ab".repeat(18))));
        assert!(!is_encrypted_name(&format!("x.{}", "ab".repeat(18))));
        assert!(!is_encrypted_name(&format!("e.{}", "ab".repeat(475))));
        assert!(is_encrypted_name(&format!("e.{}", "ab".repeat(474))));
        assert!(!is_encrypted_name("e./../etc/passwd"));
    }

    #[test]
    fn file_uuid_is_stable_and_distinct() {
        let a = file_uuid("g", "e.aa");
        assert_eq!(a, file_uuid("g", "e.aa"));
        assert_ne!(a, file_uuid("g", "e.ab"));
        assert_ne!(a, file_uuid("h", "e.aa"));
        assert_eq!(a.len(), 36);
    }
}
