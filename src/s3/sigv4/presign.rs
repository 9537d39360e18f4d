//! Query-presigned SigV4 URLs, path style, `UNSIGNED-PAYLOAD`, with S3's
//! canonicalisation (the key encoded once, no path normalisation), signed by
//! `aws-sigv4` with the settings ARCHITECTURE.md §D4 names. What is ours is the
//! URL around it: endpoint parsing, the key's encoding into the path (as the
//! S3 SDK's greedy label does) and the unsigned `/s3` routing prefix. The
//! tests pin the output to AWS's published example and to URLs `aws-sigv4`
//! 1.6.4 produced through the S3 SDK's own path encoding.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest};
use aws_sigv4::sign::v4;

use super::encoding::{encode_path, encode_query_component, format_amz_date};
use super::signing::{presign_settings, SERVICE};
use crate::s3::keys::is_valid_object_key;

const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// Longest lifetime S3 (and R2) accept for a presigned URL: 7 days.
pub const MAX_EXPIRES_SECS: u64 = 604_800;

/// HTTP methods we presign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    // HEAD and DELETE are presigned by the tests only (production: GET, PUT).
    #[cfg(test)]
    Head,
    Put,
    #[cfg(test)]
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            #[cfg(test)]
            Self::Head => "HEAD",
            #[cfg(test)]
            Self::Delete => "DELETE",
            Self::Put => "PUT",
        }
    }
}

/// What to presign.
///
/// The URL is `endpoint's scheme://host[:port]` + `unsigned_path_prefix` +
/// `endpoint's path` + the S3-encoded `object_path`; the signature covers
/// only `endpoint's path` + encoded `object_path`. Examples:
///
/// | target | `endpoint` | `unsigned_path_prefix` | `object_path` | signed path |
/// |---|---|---|---|---|
/// | R2 | `https://<account>.r2.cloudflarestorage.com` | `""` | `/<bucket>/<key>` | `/<bucket>/<key>` |
/// | wrangler's R2 | `http://127.0.0.1:8787/cdn-cgi/local/r2/s3` | `""` | `/<bucket>/<key>` | `/cdn-cgi/local/r2/s3/<bucket>/<key>` |
/// | this Worker | `https://sync.example.com` | `"/s3"` | `/<key>` | `/<key>` (ARCHITECTURE.md §D4) |
#[derive(Clone, Copy)]
pub struct PresignRequest<'a> {
    pub method: Method,
    /// `http://` or `https://`, host, optional port (a default port is
    /// dropped, as clients drop it from `Host`), optional base path made of
    /// unreserved characters and `/`, which is signed.
    pub endpoint: &'a str,
    /// `""` or a routing prefix such as `"/s3"` (unreserved characters and
    /// `/`, no trailing `/`) that appears in the URL but not in the
    /// signature.
    pub unsigned_path_prefix: &'a str,
    /// The RAW, unencoded path below the endpoint, starting with `/`:
    /// `/<bucket>/<key>` or `/<key>`. Encoded here (RFC 3986 unreserved
    /// characters and `/` stay, every other byte becomes `%XX`); without its
    /// leading `/` it must pass [`is_valid_object_key`].
    pub object_path: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// Sent and signed as `X-Amz-Security-Token` when present.
    pub session_token: Option<&'a str>,
    /// `auto` for R2.
    pub region: &'a str,
    /// Signing time, unix seconds (1970 to 9999).
    pub now_unix: i64,
    /// `X-Amz-Expires`: 1 to [`MAX_EXPIRES_SECS`].
    pub expires_in_secs: u64,
}

impl fmt::Debug for PresignRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresignRequest")
            .field("method", &self.method)
            .field("endpoint", &self.endpoint)
            .field("unsigned_path_prefix", &self.unsigned_path_prefix)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.map(|_| "<redacted>"))
            .field("region", &self.region)
            .field("now_unix", &self.now_unix)
            .field("expires_in_secs", &self.expires_in_secs)
            .finish_non_exhaustive()
    }
}

/// Why a URL could not be presigned: always a configuration or caller bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignError {
    /// Not `http(s)://host[:port][/base/path]`.
    Endpoint,
    /// `unsigned_path_prefix` is neither empty nor `/segment[/segment…]`.
    UnsignedPrefix,
    /// `object_path` does not start with `/` or names an invalid key.
    ObjectPath,
    /// Empty access key id or secret, or an access key id, region or session
    /// token that cannot be expressed.
    Credentials,
    /// `now_unix` outside 1970–9999.
    Time,
    /// `expires_in_secs` not within 1..=604800.
    Expiry,
}

impl fmt::Display for PresignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Endpoint => "presign: endpoint must be http(s)://host[:port][/path]",
            Self::UnsignedPrefix => "presign: unsigned path prefix must be empty or /segments",
            Self::ObjectPath => "presign: object path must be / followed by a valid key",
            Self::Credentials => "presign: unusable access key id, secret, token or region",
            Self::Time => "presign: signing time out of range",
            Self::Expiry => "presign: expiry must be 1..=604800 seconds",
        })
    }
}

impl std::error::Error for PresignError {}

/// Characters allowed in the fixed parts of a path (base path, routing
/// prefix): exactly those that are the same raw and canonical.
fn is_plain_path(path: &str) -> bool {
    path.bytes()
        .all(|b| b == b'/' || b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        && !path.ends_with('/')
        && (path.is_empty() || path.strip_prefix('/').is_some_and(is_valid_object_key))
}

/// `(scheme, host as signed, base path)` of an endpoint.
fn parse_endpoint(endpoint: &str) -> Result<(&str, String, &str), PresignError> {
    let (scheme, rest, default_port) = if let Some(rest) = endpoint.strip_prefix("https://") {
        ("https", rest, ":443")
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        ("http", rest, ":80")
    } else {
        return Err(PresignError::Endpoint);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let authority_ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'));
    if !authority_ok || !is_plain_path(path) {
        return Err(PresignError::Endpoint);
    }
    let host = authority.to_ascii_lowercase();
    let host = match host.strip_suffix(default_port) {
        Some(bare) => bare.to_owned(),
        None => host,
    };
    if host.is_empty() || host.starts_with(':') {
        return Err(PresignError::Endpoint);
    }
    Ok((scheme, host, path))
}

/// Presigns `r` with `aws-sigv4` (the settings the S3 SDK presigns with:
/// query-parameter signature, `UNSIGNED-PAYLOAD`, the key encoded once, no
/// path normalisation) and returns the full URL. Query parameters come in
/// sorted order with `X-Amz-Signature` last, the shape s3-presign produces.
pub fn presign_url(r: &PresignRequest<'_>) -> Result<String, PresignError> {
    let (scheme, host, base_path) = parse_endpoint(r.endpoint)?;
    if !is_plain_path(r.unsigned_path_prefix) {
        return Err(PresignError::UnsignedPrefix);
    }
    let key_ok = r
        .object_path
        .strip_prefix('/')
        .is_some_and(is_valid_object_key);
    if !key_ok {
        return Err(PresignError::ObjectPath);
    }
    let id_ok = !r.access_key_id.is_empty() && !r.access_key_id.contains('/');
    let region_ok = !r.region.is_empty() && !r.region.contains('/');
    if !id_ok || !region_ok || r.secret_access_key.is_empty() {
        return Err(PresignError::Credentials);
    }
    if !(1..=MAX_EXPIRES_SECS).contains(&r.expires_in_secs) {
        return Err(PresignError::Expiry);
    }
    if format_amz_date(r.now_unix).is_none() {
        return Err(PresignError::Time);
    }
    let time = UNIX_EPOCH
        + Duration::from_secs(u64::try_from(r.now_unix).map_err(|_| PresignError::Time)?);

    // The URL the signature covers: without the unsigned routing prefix.
    let path = format!("{base_path}{}", encode_path(r.object_path.as_bytes()));
    let signed_url = format!("{scheme}://{host}{path}");
    let identity = Credentials::new(
        r.access_key_id,
        r.secret_access_key,
        r.session_token.map(str::to_owned),
        None,
        "logseq-sync",
    )
    .into();
    let settings = presign_settings(Duration::from_secs(r.expires_in_secs));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(r.region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| PresignError::Credentials)?
        .into();
    let signable = SignableRequest::new(
        r.method.as_str(),
        signed_url.as_str(),
        std::iter::empty(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|_| PresignError::Endpoint)?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|_| PresignError::Credentials)?
        .into_parts();
    let (_, mut query) = instructions.into_parts();
    query.sort_by_key(|(name, _)| (*name == SIGNATURE_PARAM, *name));
    let query = query
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                encode_query_component(name.as_bytes()),
                encode_query_component(value.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    Ok(format!(
        "{scheme}://{host}{}{path}?{query}",
        r.unsigned_path_prefix
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::s3::sigv4::fixtures::AWS_EXAMPLE_URL;

    /// The S3 documentation's "Example: presigned URL" (Authenticating
    /// Requests: Using Query Parameters), 2013-05-24T00:00:00Z.
    fn aws_example() -> PresignRequest<'static> {
        PresignRequest {
            method: Method::Get,
            endpoint: "https://examplebucket.s3.amazonaws.com",
            unsigned_path_prefix: "",
            object_path: "/test.txt",
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
            now_unix: 1_369_353_600,
            expires_in_secs: 86_400,
        }
    }

    #[test]
    fn aws_documentation_example() {
        assert_eq!(presign_url(&aws_example()).unwrap(), AWS_EXAMPLE_URL);
    }

    #[test]
    fn worker_urls_carry_the_unsigned_prefix_outside_the_signature() {
        let mut r = aws_example();
        r.endpoint = "https://examplebucket.s3.amazonaws.com";
        r.unsigned_path_prefix = "/s3";
        let url = presign_url(&r).unwrap();
        // Same signature as the unprefixed example: `/s3` is not signed.
        assert_eq!(
            url,
            AWS_EXAMPLE_URL.replace(".com/test.txt", ".com/s3/test.txt")
        );
    }

    #[test]
    fn default_ports_and_host_case_are_normalised() {
        let mut r = aws_example();
        r.endpoint = "https://ExampleBucket.S3.amazonaws.com:443/";
        assert_eq!(presign_url(&r).unwrap(), AWS_EXAMPLE_URL);
        r.endpoint = "http://examplebucket.s3.amazonaws.com:80";
        assert_eq!(
            presign_url(&r).unwrap(),
            AWS_EXAMPLE_URL.replace("https://", "http://")
        );
        // A non-default port is part of the signed host, so the signature changes.
        r.endpoint = "https://examplebucket.s3.amazonaws.com:8443";
        let url = presign_url(&r).unwrap();
        assert!(url.starts_with("https://examplebucket.s3.amazonaws.com:8443/test.txt?"));
        assert!(!url.ends_with("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
    }

    #[test]
    fn keys_are_encoded_once() {
        let mut r = aws_example();
        r.object_path = "/b/temp/us-east-1:ab/x y+%2F~é";
        let url = presign_url(&r).unwrap();
        assert!(url.starts_with(
            "https://examplebucket.s3.amazonaws.com/b/temp/us-east-1%3Aab/x%20y%2B%252F~%C3%A9?"
        ));
    }

    #[test]
    fn session_token_is_signed_in_sorted_position() {
        let mut r = aws_example();
        r.session_token = Some("tok/en+=");
        let url = presign_url(&r).unwrap();
        assert!(url.contains(
            "&X-Amz-Expires=86400&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders=host&X-Amz-Signature="
        ));
    }

    #[test]
    fn rejects_bad_input() {
        type Mutation = Box<dyn Fn(&mut PresignRequest<'static>)>;
        let cases: Vec<(PresignError, Mutation)> = vec![
            (PresignError::Endpoint, Box::new(|r| r.endpoint = "ftp://x")),
            (
                PresignError::Endpoint,
                Box::new(|r| r.endpoint = "https://"),
            ),
            (
                PresignError::Endpoint,
                Box::new(|r| r.endpoint = "https://u@x"),
            ),
            (
                PresignError::Endpoint,
                Box::new(|r| r.endpoint = "https://x/a b"),
            ),
            (
                PresignError::Endpoint,
                Box::new(|r| r.endpoint = "https://x/a/../b"),
            ),
            (
                PresignError::Endpoint,
                Box::new(|r| r.endpoint = "https://x?q"),
            ),
            (
                PresignError::Endpoint,
                Box::new(|r| r.endpoint = "https://:443"),
            ),
            (
                PresignError::UnsignedPrefix,
                Box::new(|r| r.unsigned_path_prefix = "s3"),
            ),
            (
                PresignError::UnsignedPrefix,
                Box::new(|r| r.unsigned_path_prefix = "/s3/"),
            ),
            (
                PresignError::UnsignedPrefix,
                Box::new(|r| r.unsigned_path_prefix = "/s%33"),
            ),
            (
                PresignError::ObjectPath,
                Box::new(|r| r.object_path = "test.txt"),
            ),
            (PresignError::ObjectPath, Box::new(|r| r.object_path = "/")),
            (
                PresignError::ObjectPath,
                Box::new(|r| r.object_path = "/a//b"),
            ),
            (
                PresignError::ObjectPath,
                Box::new(|r| r.object_path = "/a/../b"),
            ),
            (
                PresignError::Credentials,
                Box::new(|r| r.access_key_id = ""),
            ),
            (
                PresignError::Credentials,
                Box::new(|r| r.access_key_id = "a/b"),
            ),
            (
                PresignError::Credentials,
                Box::new(|r| r.secret_access_key = ""),
            ),
            (PresignError::Credentials, Box::new(|r| r.region = "")),
            (PresignError::Time, Box::new(|r| r.now_unix = -1)),
            (PresignError::Expiry, Box::new(|r| r.expires_in_secs = 0)),
            (
                PresignError::Expiry,
                Box::new(|r| r.expires_in_secs = MAX_EXPIRES_SECS + 1),
            ),
        ];
        for (expected, mutate) in cases {
            let mut r = aws_example();
            mutate(&mut r);
            assert_eq!(presign_url(&r), Err(expected), "{r:?}");
        }
        let mut r = aws_example();
        r.expires_in_secs = MAX_EXPIRES_SECS;
        assert!(presign_url(&r).is_ok());
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut r = aws_example();
        r.session_token = Some("SESSIONTOKEN");
        let shown = format!("{r:?}");
        assert!(!shown.contains("wJalrXUtnFEMI"));
        assert!(!shown.contains("SESSIONTOKEN"));
        assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"));
    }
}
