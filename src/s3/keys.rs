//! Upload key layout (docs/ARCHITECTURE.md "R2 key layout"). Every uploaded
//! object, whichever way it arrived, lives at `uploads/<user>/<random>` and
//! stays there once committed: committing is metadata only.

/// How old an upload may be when a commit names it (ms). The scheduled sweep
/// only deletes uploads older than [`SWEEP_AGE_MS`], so an object a commit may
/// still take is never a candidate (the trash check inside the commit batch
/// closes the remaining race whatever the clocks say).
pub const COMMIT_GRACE_MS: i64 = 12 * 3600 * 1000;
/// Age at which an uncommitted upload is an orphan for the sweep (ms).
pub const SWEEP_AGE_MS: i64 = 24 * 3600 * 1000;
const _: () = assert!(COMMIT_GRACE_MS < SWEEP_AGE_MS);

/// Whether an object R2 stored at `uploaded_ms` may still be committed at
/// `now_ms` (a little clock skew between R2 and the Worker is tolerated).
pub fn is_committable(uploaded_ms: i64, now_ms: i64) -> bool {
    now_ms - uploaded_ms <= COMMIT_GRACE_MS
}

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
#[cfg(test)]
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
        assert!(crate::s3::sigv4::is_key_under_prefix(
            "uploads/u1/abcdefghijkl",
            &upload_prefix("u1")
        ));
        assert!(!crate::s3::sigv4::is_key_under_prefix(
            "uploads/u10/abcdefghijkl",
            &upload_prefix("u1")
        ));
    }

    #[test]
    fn commits_refuse_uploads_past_the_grace_period() {
        let now = 1_700_000_000_000;
        assert!(is_committable(now, now));
        assert!(is_committable(now + 5_000, now), "R2 clock slightly ahead");
        assert!(is_committable(now - COMMIT_GRACE_MS, now));
        assert!(!is_committable(now - COMMIT_GRACE_MS - 1, now));
        assert!(!is_committable(now - SWEEP_AGE_MS, now));
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
