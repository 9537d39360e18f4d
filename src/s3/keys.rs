//! Object keys: which keys the signed URLs may name, and the upload key
//! layout (docs/ARCHITECTURE.md "R2 key layout"). Every uploaded object,
//! whichever way it arrived, lives at `uploads/<user>/<random>` and stays
//! there once committed: committing is metadata only.
//!
//! Only keys every HTTP stack carries unchanged are signed or accepted: URL
//! parsers (the url crate in reqwest, WHATWG `URL` in the Worker runtime)
//! resolve `.` and `..` segments and some merge `//`, which would change both
//! the object and the signed path under the client's feet.

/// S3's limit on key length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// A key we sign for or accept: 1 to 1024 bytes, no control characters, no
/// leading or trailing `/`, no empty (`//`), `.` or `..` segment.
pub fn is_valid_object_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_BYTES
        && !key.chars().any(char::is_control)
        && key
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."))
}

/// Whether `key` lies strictly below `prefix`: the prefix (one trailing `/`
/// ignored) is itself a valid key, and `key` is `prefix/` followed by at
/// least one more segment. `temp/u1/x` is under `temp/u1`, while `temp/u10/x`,
/// `temp/u1` and `temp/u1/../u2/x` are not.
pub fn is_key_under_prefix(key: &str, prefix: &str) -> bool {
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    is_valid_object_key(prefix)
        && is_valid_object_key(key)
        && key
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty())
}

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
        assert!(crate::s3::keys::is_key_under_prefix(
            "uploads/u1/abcdefghijkl",
            &upload_prefix("u1")
        ));
        assert!(!crate::s3::keys::is_key_under_prefix(
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod object_key_tests {
    use super::*;

    #[test]
    fn valid_keys() {
        for key in [
            "a",
            "uploads/8a3d2c1e-0000-4000-8000-000000000001/abcdefghijkl",
            "temp/us-east-1:8a3d2c1e-0000-4000-8000-000000000001/x",
            "a/b c/ü/%41/...",
            ".a/a./..b",
        ] {
            assert!(is_valid_object_key(key), "{key}");
        }
    }

    #[test]
    fn invalid_keys() {
        let long = "a".repeat(MAX_KEY_BYTES + 1);
        for key in [
            "", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a/..", "a\nb",
            "a\u{0}b", "a\u{7f}", &long,
        ] {
            assert!(!is_valid_object_key(key), "{key:?}");
        }
        assert!(is_valid_object_key(&"a".repeat(MAX_KEY_BYTES)));
    }

    #[test]
    fn prefix_boundary_is_strict() {
        let p = "temp/us-east-1:8a3d";
        assert!(is_key_under_prefix("temp/us-east-1:8a3d/abc", p));
        assert!(is_key_under_prefix(
            "temp/us-east-1:8a3d/abc",
            "temp/us-east-1:8a3d/"
        ));
        assert!(is_key_under_prefix("temp/us-east-1:8a3d/a/b", p));
        for key in [
            "temp/us-east-1:8a3d",
            "temp/us-east-1:8a3d/",
            "temp/us-east-1:8a3dX/abc",
            "temp/us-east-1:8a3/abc",
            "temp/us-east-1:8a3d//abc",
            "temp/us-east-1:8a3d/../other/abc",
            "temp/us-east-1:8a3d/./abc",
            "other/temp/us-east-1:8a3d/abc",
        ] {
            assert!(!is_key_under_prefix(key, p), "{key}");
        }
        for prefix in ["", "/", "a/../b", "a//b", "/a"] {
            assert!(!is_key_under_prefix("a/b/c", prefix), "{prefix}");
        }
    }
}
