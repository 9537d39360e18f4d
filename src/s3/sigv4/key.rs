//! Which object keys the signed URLs may name.
//!
//! Only keys every HTTP stack carries unchanged: URL parsers (the url crate
//! in reqwest, WHATWG `URL` in the Worker runtime) resolve `.` and `..`
//! segments and some merge `//`, which would change both the object and the
//! signed path under the client's feet.

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
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
