//! AWS Signature Version 4 for the S3 side of the sync protocol: presigning
//! URLs, verifying presigned requests at the Worker's `/s3/<key>` receiver,
//! and the self-minted temporary credentials of `get_temp_credential`.
//!
//! Pure code: no `worker` imports, no clock (time is always an argument, in
//! unix seconds), no panics; host-tested.
//!
//! # The two canonicalisations
//!
//! A SigV4 signature is an HMAC over a *canonical request*:
//!
//! ```text
//! <METHOD>\n<canonical URI>\n<canonical query>\nhost:<host>\n\nhost\nUNSIGNED-PAYLOAD
//! ```
//!
//! (more header lines if more headers are signed). Signer and verifier must
//! build the same bytes. Two recipes are in use by our clients:
//!
//! **Standard SigV4** (AWS SDKs, the iOS client, R2, our [`presign_url`]):
//! the canonical URI is the object path URI-encoded once (RFC 3986
//! unreserved characters and `/` stay, everything else `%XX`; S3 does not
//! normalise `.`/`..` nor double-encode); the canonical query is every
//! parameter but `X-Amz-Signature`, each name and value URI-encoded, sorted
//! by name then value. A verifier decodes what it received and re-encodes,
//! so the spelling on the wire does not matter.
//!
//! **rsapi's s3-presign 0.0.2** (PROTOCOL.md §7.2): the stock client signs
//! the bytes it sends, not a canonical form of them:
//!
//! * key escaping: every byte but ASCII alphanumerics and
//!   `/ - ! _ . * ' ( )` → `%XX`, skipped entirely when the key already
//!   contains `%` (S3P `src/lib.rs:15-25`, `escape_key` at `222-228`), so
//!   `:` is `%3A` (also standard) but `!*'()` stay raw and `~` becomes `%7E`
//!   (both differ from standard);
//! * URL `https://<bucket>.s3.amazonaws.com/<escaped key>`, virtual-hosted,
//!   global endpoint (S3P `src/lib.rs:196-201`);
//! * query: `(name, value)` pairs sorted, each escaped only for controls,
//!   non-ASCII, `/`, `:` and `+` (S3P `src/lib.rs:12-13`, `274-290`), so `=`,
//!   `&`, `%` and space would be sent raw;
//! * canonical URI = `url.path()` (S3P `src/lib.rs:292`); host = the URL's
//!   host plus `:port` only for a non-default port (S3P `src/lib.rs:294-298`);
//!   canonical request assembled at S3P `src/lib.rs:300-310`;
//! * the URL sent is `url + "?" + canonical query + "&X-Amz-Signature=" +
//!   signature` (S3P `src/lib.rs:318-319`).
//!
//! So the receiver reproduces it from the raw path and the raw query up to
//! the final `&X-Amz-Signature=`, and also tries the standard form
//! ([`verify_presigned`]). For credentials that are alphanumeric
//! ([`temp_credentials`]) and keys made of unreserved characters and `:`,
//! both recipes give the same bytes; they part ways on keys with
//! `! * ' ( ) ~` or a `%`, and on query values with `= & % space`.

mod encoding;
mod presign;
mod signing;
pub(crate) mod temp_credentials;
mod verify;

#[cfg(test)]
mod aws_crosscheck;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub(crate) use encoding::format_rfc3339;
pub(crate) use presign::{presign_url, Method, PresignRequest};
#[cfg(test)]
pub(crate) use temp_credentials::{CredentialClaims, TempCredentials};
#[cfg(test)]
pub(crate) use verify::Verified;
pub(crate) use verify::{verify_presigned, VerifyRequest};
