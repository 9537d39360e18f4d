//! S3-style errors of the `/s3/<key>` receiver: code, message, HTTP status
//! and the XML body S3 sends.
//!
//! The codes and messages are the ones the stock client reacts to
//! (PROTOCOL.md §2.6): rsapi retries an upload with fresh credentials when
//! the PUT's body contains `ExpiredToken` or `Request has expired`
//! (RS `sync/src/sync.rs:428-441`), and the app tells the user to check the
//! clock when it contains `Request is not yet valid`
//! (LS `src/main/frontend/fs/sync.cljs:1825-1828`).

use std::fmt;

/// Message of [`S3Error::AccessDenied`] for a presigned URL past
/// `X-Amz-Date + X-Amz-Expires`.
pub const REQUEST_HAS_EXPIRED: &str = "Request has expired";
/// Message of [`S3Error::AccessDenied`] for an `X-Amz-Date` more than the
/// allowed clock skew in the future.
pub const REQUEST_NOT_YET_VALID: &str = "Request is not yet valid";
/// Message of [`S3Error::AccessDenied`] when nothing more specific applies
/// (for instance a key outside the credential's prefix).
pub const ACCESS_DENIED: &str = "Access Denied";

/// One S3 error. Variants that carry a `&'static str` take their message
/// from the call site (never from request data, so nothing the client sent
/// is echoed back); the others have S3's fixed wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Error {
    /// 403; see [`REQUEST_HAS_EXPIRED`], [`REQUEST_NOT_YET_VALID`],
    /// [`ACCESS_DENIED`].
    AccessDenied(&'static str),
    /// 403: the signature we computed differs from the one sent.
    SignatureDoesNotMatch,
    /// 403: unknown access key id, or credentials that fail their own MAC.
    InvalidAccessKeyId,
    /// 400: the temporary credentials are past their expiry.
    ExpiredToken,
    /// 400: missing, duplicated or malformed `X-Amz-*` query parameters.
    AuthorizationQueryParametersError(&'static str),
    /// 400: any other malformed input (for instance an unusable key).
    InvalidArgument(&'static str),
    /// 404.
    NoSuchKey,
    /// 400: body larger than allowed.
    EntityTooLarge,
    /// 405.
    MethodNotAllowed,
    /// 500.
    InternalError,
}

impl S3Error {
    /// The `<Code>` S3 would send.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AccessDenied(_) => "AccessDenied",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::InvalidAccessKeyId => "InvalidAccessKeyId",
            Self::ExpiredToken => "ExpiredToken",
            Self::AuthorizationQueryParametersError(_) => "AuthorizationQueryParametersError",
            Self::InvalidArgument(_) => "InvalidArgument",
            Self::NoSuchKey => "NoSuchKey",
            Self::EntityTooLarge => "EntityTooLarge",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::InternalError => "InternalError",
        }
    }

    /// The `<Message>`.
    pub fn message(&self) -> &'static str {
        match self {
            Self::AccessDenied(message)
            | Self::AuthorizationQueryParametersError(message)
            | Self::InvalidArgument(message) => message,
            Self::SignatureDoesNotMatch => {
                "The request signature we calculated does not match the signature you provided. \
                 Check your key and signing method."
            }
            Self::InvalidAccessKeyId => {
                "The AWS Access Key Id you provided does not exist in our records."
            }
            Self::ExpiredToken => "The provided token has expired.",
            Self::NoSuchKey => "The specified key does not exist.",
            Self::EntityTooLarge => "Your proposed upload exceeds the maximum allowed size",
            Self::MethodNotAllowed => "The specified method is not allowed against this resource.",
            Self::InternalError => "We encountered an internal error. Please try again.",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::AccessDenied(_) | Self::SignatureDoesNotMatch | Self::InvalidAccessKeyId => 403,
            Self::ExpiredToken
            | Self::AuthorizationQueryParametersError(_)
            | Self::InvalidArgument(_)
            | Self::EntityTooLarge => 400,
            Self::NoSuchKey => 404,
            Self::MethodNotAllowed => 405,
            Self::InternalError => 500,
        }
    }

    /// S3's XML error document (`Content-Type: application/xml`).
    /// `resource` is the request path, `request_id` any opaque id; both are
    /// XML-escaped.
    pub fn xml_body(&self, resource: &str, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
             <Resource>{}</Resource><RequestId>{}</RequestId></Error>",
            self.code(),
            xml_escape(self.message()),
            xml_escape(resource),
            xml_escape(request_id)
        )
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for S3Error {}

/// Escapes the five XML special characters; drops characters XML 1.0 cannot
/// carry at all (controls other than tab, newline, carriage return).
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const ALL: [S3Error; 10] = [
        S3Error::AccessDenied(ACCESS_DENIED),
        S3Error::SignatureDoesNotMatch,
        S3Error::InvalidAccessKeyId,
        S3Error::ExpiredToken,
        S3Error::AuthorizationQueryParametersError("x"),
        S3Error::InvalidArgument("x"),
        S3Error::NoSuchKey,
        S3Error::EntityTooLarge,
        S3Error::MethodNotAllowed,
        S3Error::InternalError,
    ];

    #[test]
    fn every_variant_has_s3_code_and_status() {
        let table: Vec<(&str, u16)> = ALL.iter().map(|e| (e.code(), e.status())).collect();
        assert_eq!(
            table,
            [
                ("AccessDenied", 403),
                ("SignatureDoesNotMatch", 403),
                ("InvalidAccessKeyId", 403),
                ("ExpiredToken", 400),
                ("AuthorizationQueryParametersError", 400),
                ("InvalidArgument", 400),
                ("NoSuchKey", 404),
                ("EntityTooLarge", 400),
                ("MethodNotAllowed", 405),
                ("InternalError", 500),
            ]
        );
        for e in ALL {
            assert!(!e.message().is_empty());
            assert_eq!(e.to_string(), format!("{}: {}", e.code(), e.message()));
        }
    }

    #[test]
    fn bodies_contain_the_strings_the_client_matches() {
        // RS sync/src/sync.rs:428-441 and LS sync.cljs:1825-1828.
        let expired = S3Error::AccessDenied(REQUEST_HAS_EXPIRED).xml_body("/k", "id");
        assert!(expired.contains("Request has expired"));
        let token = S3Error::ExpiredToken.xml_body("/k", "id");
        assert!(token.contains("<Code>ExpiredToken</Code>"));
        let future = S3Error::AccessDenied(REQUEST_NOT_YET_VALID).xml_body("/k", "id");
        assert!(future.contains("Request is not yet valid"));
    }

    #[test]
    fn xml_body_has_s3_shape_and_escapes() {
        let body = S3Error::NoSuchKey.xml_body("/a&b/<c>\"'", "r\u{1}1");
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message>\
             <Resource>/a&amp;b/&lt;c&gt;&quot;&apos;</Resource><RequestId>r1</RequestId></Error>"
        );
    }
}
