//! Upload key layout (docs/ARCHITECTURE.md "R2 key layout"). Every uploaded
//! object, whichever way it arrived, lives at `uploads/<user>/<random>` and
//! stays there once committed: committing is metadata only.

/// The key prefix a user may upload under (no trailing `/`).
pub fn upload_prefix(user_id: &str) -> String {
    format!("uploads/{user_id}")
}

/// `S3Prefix` for the stock client: it must begin with the bucket name
/// compiled into the client, which rsapi strips (RS sync/src/sync.rs:324-335:
/// a prefix without it panics inside rsapi); the rest becomes the key prefix.
pub fn s3_prefix(client_bucket: &str, user_id: &str) -> String {
    format!("{client_bucket}/{}", upload_prefix(user_id))
}

/// The client's checksum: lowercase hex MD5 of the plaintext (PROTOCOL.md §5.3).
pub fn is_md5_hex(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// The owner encoded in an upload key, if it is one.
pub fn upload_owner(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("uploads/")?;
    let (user, tail) = rest.split_once('/')?;
    (!user.is_empty() && !tail.is_empty()).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsapi_strips_the_bucket_and_keeps_our_prefix() {
        let p = s3_prefix("logseq-file-sync-bucket-prod", "u1");
        // What rsapi does with it (RS sync.rs:324-335): strip bucket, trim '/', add '/'.
        let key_prefix = format!(
            "{}/",
            p.strip_prefix("logseq-file-sync-bucket-prod")
                .unwrap()
                .trim_start_matches('/')
        );
        assert_eq!(key_prefix, "uploads/u1/");
        assert!(crate::sigv4::is_key_under_prefix(
            "uploads/u1/abcdefghijkl",
            &upload_prefix("u1")
        ));
        assert!(!crate::sigv4::is_key_under_prefix(
            "uploads/u10/abcdefghijkl",
            &upload_prefix("u1")
        ));
    }

    #[test]
    fn md5_and_owner() {
        assert!(is_md5_hex("d41d8cd98f00b204e9800998ecf8427e"));
        assert!(!is_md5_hex("D41D8CD98F00B204E9800998ECF8427E"));
        assert!(!is_md5_hex("d41d8cd98f00b204e9800998ecf8427"));
        assert_eq!(upload_owner("uploads/u1/abc"), Some("u1"));
        assert_eq!(upload_owner("uploads/u1/"), None);
        assert_eq!(upload_owner("other/u1/abc"), None);
    }
}
