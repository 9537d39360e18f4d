//! Verifying query-presigned requests at the Worker's `/s3/<key>` receiver.
//!
//! A request is accepted when its signature matches ANY of these canonical
//! requests (method, `host` plus the other signed headers, and
//! `UNSIGNED-PAYLOAD` are common to all):
//!
//! 1. **rsapi / s3-presign** (PROTOCOL.md §7.2): canonical URI = the path
//!    exactly as received, canonical query = the query exactly as received
//!    up to (excluding) a final `&X-Amz-Signature=`. s3-presign builds the
//!    URL as `url + "?" + canonical_query + "&X-Amz-Signature=" + signature`
//!    (S3P `src/lib.rs:318-319`) from a query it encodes with its own
//!    non-standard set (S3P `src/lib.rs:12-13,280-290`) and a path it signs
//!    as `url.path()` (S3P `src/lib.rs:292`), so the bytes it sends are the
//!    bytes it signed.
//! 2. **Standard SigV4**: canonical URI = the percent-decoded path
//!    re-encoded with S3's rules (once, no normalisation), canonical query =
//!    every parameter but `X-Amz-Signature` decoded, re-encoded with
//!    `UriEncode`, sorted. AWS SDKs (the iOS client), `presign_url` and
//!    miniflare's emulation sign this form.
//! 3. The raw path with the standard query, for a standard signer whose
//!    path spelling is not canonical (e.g. `%7E` for `~`).
//!
//! Hand-written because `aws-sigv4` only signs: it has no parser for a
//! presigned URL that arrives and cannot express form 1. The signing key
//! and the signature over each form come from `aws-sigv4` (`signing.rs`).
//!
//! Accepting several forms does not loosen what a signature binds: each
//! form is a function of the request, and in each the object key (decoded
//! from the path) and every `X-Amz-*` parameter we act on are covered.

use std::fmt;

use super::encoding::{encode_path, hex_decode_lower, parse_amz_date, percent_decode};
use super::presign::MAX_EXPIRES_SECS;
use super::signing::{
    canonical_query, canonical_request, scope, string_to_sign, SigningKey, ALGORITHM, SERVICE,
    TERMINATOR,
};
use crate::s3::error::{S3Error, REQUEST_HAS_EXPIRED, REQUEST_NOT_YET_VALID};
use crate::s3::keys::is_valid_object_key;

/// How far in the future `X-Amz-Date` may lie (S3 allows 15 minutes).
pub const MAX_CLOCK_SKEW_SECS: i64 = 900;

const SIGNATURE_PARAM: &str = "X-Amz-Signature";
const MISSING_PARAMS: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, \
     X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";

/// One request at the receiver, as received.
#[derive(Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// Request method, e.g. `PUT`. To let HEAD use a URL signed for GET,
    /// pass `GET`.
    pub method: &'a str,
    /// The host the client signed: `X-Forwarded-Host` when the request came
    /// through the forwarding proxy, else `Host` (ARCHITECTURE.md §D4).
    pub host: &'a str,
    /// Raw path with the routing prefix removed: `/<escaped key>`.
    pub path: &'a str,
    /// Raw query string as received, without `?`.
    pub query: &'a str,
    /// Request headers other than `host` (any name case); only those named
    /// in `X-Amz-SignedHeaders` are read. Repeated names are joined with `,`.
    pub headers: &'a [(&'a str, &'a str)],
    /// Unix seconds.
    pub now_unix: i64,
}

/// Leaves out the query and headers: they carry the session token and the
/// signature, a bearer capability until expiry.
impl fmt::Debug for VerifyRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("method", &self.method)
            .field("host", &self.host)
            .field("now_unix", &self.now_unix)
            .finish_non_exhaustive()
    }
}

/// What the credential lookup returns: anything that knows its secret.
pub trait SigningSecret {
    fn secret_access_key(&self) -> &str;
}

impl SigningSecret for String {
    fn secret_access_key(&self) -> &str {
        self
    }
}

impl SigningSecret for &str {
    fn secret_access_key(&self) -> &str {
        self
    }
}

/// A request whose signature checked out.
#[derive(Clone, PartialEq, Eq)]
pub struct Verified<C> {
    pub access_key_id: String,
    /// `X-Amz-Security-Token`, decoded.
    pub session_token: Option<String>,
    /// Region of the credential scope (already covered by the signature).
    pub region: String,
    /// The object key: the path without its leading `/`, percent-decoded,
    /// valid UTF-8, passing [`is_valid_object_key`].
    pub key: String,
    /// `X-Amz-Date`.
    pub signed_at_unix: i64,
    /// `X-Amz-Date + X-Amz-Expires`.
    pub expires_at_unix: i64,
    /// Whatever the lookup returned for this access key.
    pub credential: C,
}

impl<C> fmt::Debug for Verified<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("access_key_id", &self.access_key_id)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("region", &self.region)
            .field("signed_at_unix", &self.signed_at_unix)
            .field("expires_at_unix", &self.expires_at_unix)
            .finish_non_exhaustive()
    }
}

type Params = Vec<(Vec<u8>, Vec<u8>)>;

fn parse_query(query: &str) -> Result<Params, S3Error> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            match (percent_decode(name), percent_decode(value)) {
                (Some(name), Some(value)) => Ok((name, value)),
                _ => Err(S3Error::AuthorizationQueryParametersError(
                    "The query string contains a malformed percent-encoding.",
                )),
            }
        })
        .collect()
}

/// The value of a parameter that may appear at most once.
fn optional<'p>(params: &'p Params, name: &str) -> Result<Option<&'p str>, S3Error> {
    let mut found = params.iter().filter(|(n, _)| n == name.as_bytes());
    let first = found.next();
    if found.next().is_some() {
        return Err(S3Error::AuthorizationQueryParametersError(
            "X-Amz-* query parameters must not repeat.",
        ));
    }
    first
        .map(|(_, value)| {
            std::str::from_utf8(value).map_err(|_| {
                S3Error::AuthorizationQueryParametersError(
                    "X-Amz-* query parameters must be UTF-8.",
                )
            })
        })
        .transpose()
}

fn required<'p>(params: &'p Params, name: &str) -> Result<&'p str, S3Error> {
    optional(params, name)?.ok_or(S3Error::AuthorizationQueryParametersError(MISSING_PARAMS))
}

/// `<id>/<yyyymmdd>/<region>/s3/aws4_request` → (id, date, region).
fn parse_credential(credential: &str) -> Result<(&str, &str, &str), S3Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [id, date, region, service, terminator]
            if !id.is_empty()
                && date.len() == 8
                && !region.is_empty()
                && *service == SERVICE
                && *terminator == TERMINATOR =>
        {
            Ok((id, date, region))
        }
        _ => Err(S3Error::AuthorizationQueryParametersError(
            "X-Amz-Credential must be <access key id>/<yyyymmdd>/<region>/s3/aws4_request.",
        )),
    }
}

fn parse_expires(expires: &str) -> Result<i64, S3Error> {
    const BAD: S3Error = S3Error::AuthorizationQueryParametersError(
        "X-Amz-Expires must be a number of seconds from 1 to 604800.",
    );
    if expires.is_empty() || expires.len() > 6 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    let secs: u64 = expires.parse().map_err(|_| BAD)?;
    if !(1..=MAX_EXPIRES_SECS).contains(&secs) {
        return Err(BAD);
    }
    i64::try_from(secs).map_err(|_| BAD)
}

/// SigV4 header value canonicalisation: trim, collapse runs of spaces.
fn canonical_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `name:value\n` for each signed header, in the order signed.
fn canonical_headers(req: &VerifyRequest<'_>, signed_headers: &str) -> Result<String, S3Error> {
    let names: Vec<&str> = signed_headers.split(';').collect();
    let well_formed = names.iter().all(|name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    });
    if !well_formed {
        return Err(S3Error::AuthorizationQueryParametersError(
            "X-Amz-SignedHeaders must be lower-case header names separated by ';'.",
        ));
    }
    if !names.contains(&"host") {
        return Err(S3Error::AuthorizationQueryParametersError(
            "X-Amz-SignedHeaders must include host.",
        ));
    }
    let mut out = String::new();
    for name in names {
        let value = if name == "host" {
            canonical_header_value(req.host)
        } else {
            let values: Vec<String> = req
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| canonical_header_value(v))
                .collect();
            if values.is_empty() {
                // A signed header the request does not carry cannot match.
                return Err(S3Error::SignatureDoesNotMatch);
            }
            values.join(",")
        };
        out.push_str(name);
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    Ok(out)
}

/// The object key named by `path` (`/<escaped key>`).
fn object_key(path: &str) -> Result<String, S3Error> {
    const BAD: S3Error = S3Error::InvalidArgument("The object key in the path is not acceptable.");
    let escaped = path.strip_prefix('/').ok_or(BAD)?;
    let bytes = percent_decode(escaped).ok_or(BAD)?;
    let key = String::from_utf8(bytes).map_err(|_| BAD)?;
    if is_valid_object_key(&key) {
        Ok(key)
    } else {
        Err(BAD)
    }
}

/// Verifies a query-presigned request (see the module docs for the accepted
/// canonical forms). `lookup` gets the access key id and the session token
/// and returns the credential (anything that yields the secret) or the error
/// to answer with: typically [`S3Error::InvalidAccessKeyId`] for an unknown
/// key and [`S3Error::ExpiredToken`] for expired temporary credentials.
///
/// Order of checks: parameters → request time window → key → credential
/// lookup → signature. The caller still decides what the key may be
/// (e.g. [`super::is_key_under_prefix`]).
pub fn verify_presigned<C: SigningSecret>(
    req: &VerifyRequest<'_>,
    lookup: impl FnOnce(&str, Option<&str>) -> Result<C, S3Error>,
) -> Result<Verified<C>, S3Error> {
    let params = parse_query(req.query)?;
    let algorithm = required(&params, "X-Amz-Algorithm")?;
    let credential = required(&params, "X-Amz-Credential")?;
    let amz_date = required(&params, "X-Amz-Date")?;
    let expires = required(&params, "X-Amz-Expires")?;
    let signed_headers = required(&params, "X-Amz-SignedHeaders")?;
    let signature = required(&params, SIGNATURE_PARAM)?;
    let session_token = optional(&params, "X-Amz-Security-Token")?;

    if algorithm != ALGORITHM {
        return Err(S3Error::AuthorizationQueryParametersError(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".",
        ));
    }
    let (access_key_id, scope_date, region) = parse_credential(credential)?;
    let signed_at = parse_amz_date(amz_date).ok_or(S3Error::AuthorizationQueryParametersError(
        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".",
    ))?;
    if amz_date.get(..8) != Some(scope_date) {
        return Err(S3Error::AuthorizationQueryParametersError(
            "The date of X-Amz-Credential does not match X-Amz-Date.",
        ));
    }
    let expires_at = signed_at.saturating_add(parse_expires(expires)?);

    if signed_at > req.now_unix.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(S3Error::AccessDenied(REQUEST_NOT_YET_VALID));
    }
    if req.now_unix > expires_at {
        return Err(S3Error::AccessDenied(REQUEST_HAS_EXPIRED));
    }

    let headers = canonical_headers(req, signed_headers)?;
    let key = object_key(req.path)?;
    // 64 lower-case hex digits, the one spelling a signer produces.
    if hex_decode_lower(signature).is_none_or(|raw| raw.len() != 32) {
        return Err(S3Error::SignatureDoesNotMatch);
    }

    let found = lookup(access_key_id, session_token)?;

    // Form 1 (rsapi): the raw query before a final `&X-Amz-Signature=`.
    let raw_query = req
        .query
        .rsplit_once("&X-Amz-Signature=")
        .filter(|(_, sig)| !sig.contains('&'))
        .map(|(before, _)| before);
    let standard_uri = encode_path(format!("/{key}").as_bytes());
    let standard_query = canonical_query(
        params
            .iter()
            .filter(|(name, _)| name != SIGNATURE_PARAM.as_bytes())
            .map(|(name, value)| (name.as_slice(), value.as_slice())),
    );
    let mut forms: Vec<(&str, &str)> = Vec::with_capacity(3);
    let candidates = [
        raw_query.map(|raw_query| (req.path, raw_query)),
        Some((standard_uri.as_str(), standard_query.as_str())),
        Some((req.path, standard_query.as_str())),
    ];
    for form in candidates.into_iter().flatten() {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }

    let scope = scope(scope_date, region);
    // The scope date already passed as part of a valid X-Amz-Date.
    let signing_key = SigningKey::derive(found.secret_access_key(), scope_date, region)
        .ok_or(S3Error::SignatureDoesNotMatch)?;
    let matched = forms.iter().any(|(uri, query)| {
        let request = canonical_request(req.method, uri, query, &headers, signed_headers);
        signing_key.verify(&string_to_sign(amz_date, &scope, &request), signature)
    });
    if !matched {
        return Err(S3Error::SignatureDoesNotMatch);
    }
    Ok(Verified {
        access_key_id: access_key_id.to_owned(),
        session_token: session_token.map(str::to_owned),
        region: region.to_owned(),
        key,
        signed_at_unix: signed_at,
        expires_at_unix: expires_at,
        credential: found,
    })
}
