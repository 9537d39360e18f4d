//! `presign_url` checked live against `aws-sigv4` driven the way the S3 SDK
//! drives it. `presign_url` itself signs with `aws-sigv4`; what this pins is
//! the part around it that is ours (the key's encoding into the path, the
//! endpoint and query shape), and that our verifier accepts what the SDK
//! signs. A regression test, kept since the hand-written signer it was
//! written for is gone.
//!
//! For each request, both sides presign the same thing:
//!
//! * ours: [`presign_url`] with the raw object path;
//! * AWS: the path encoded as the S3 SDK does
//!   (`aws_smithy_http::label::fmt_string(path, Greedy)`), then
//!   `aws_sigv4::http_request::sign` with the settings S3 presigning uses
//!   (`signing::presign_settings`, the one copy `presign_url` signs with:
//!   query-param signature location, `UNSIGNED-PAYLOAD`,
//!   `PayloadChecksumKind::NoHeader`, single percent-encoding, no path
//!   normalisation; service `s3`), applied with `apply_to_request_http1x`.
//!
//! The two URLs must have the same scheme, host and path (byte for byte:
//! our `encode_path` against the SDK's own label encoder) and the same
//! unsigned query parameters once decoded (aws-sigv4 puts
//! `X-Amz-Security-Token` after the signature, we put it in sorted
//! position). Their signatures are not compared (the same library, set up
//! alike); instead every aws-sigv4 URL must pass our [`verify_presigned`],
//! whose canonical request is our own, with the right secret and fail with
//! a wrong one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest};
use aws_sigv4::sign::v4;
use aws_smithy_http::label::{fmt_string, EncodingStrategy};

use super::signing::presign_settings;
use super::{presign_url, verify_presigned, Method, PresignRequest, VerifyRequest};
use crate::s3::error::S3Error;
use crate::s3::keys::is_valid_object_key;

const R2_ENDPOINT: &str = "https://acc.r2.cloudflarestorage.com";
const LOCAL_ENDPOINT: &str = "http://127.0.0.1:8787/cdn-cgi/local/r2/s3";
const BUCKET: &str = "logseq-sync";
const ID: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// 2026-01-01T00:00:00Z.
const MIDNIGHT: i64 = 1_767_225_600;
/// 2023-11-14T22:13:20Z + 7 s: not on a day boundary.
const AFTERNOON: i64 = 1_700_000_007;

/// One request to presign, with owned parts so generated cases can carry it.
#[derive(Debug, Clone)]
struct Case {
    method: Method,
    endpoint: &'static str,
    /// Raw, unencoded: `/<bucket>/<key>`.
    object_path: String,
    access_key_id: String,
    secret: String,
    session_token: Option<String>,
    region: &'static str,
    now_unix: i64,
    expires_in_secs: u64,
}

impl Case {
    fn fixed(
        method: Method,
        endpoint: &'static str,
        key: &str,
        session_token: Option<&str>,
        region: &'static str,
        now_unix: i64,
    ) -> Self {
        Self {
            method,
            endpoint,
            object_path: format!("/{BUCKET}/{key}"),
            access_key_id: ID.to_owned(),
            secret: SECRET.to_owned(),
            session_token: session_token.map(str::to_owned),
            region,
            now_unix,
            expires_in_secs: 900,
        }
    }
}

fn ours(c: &Case) -> String {
    presign_url(&PresignRequest {
        method: c.method,
        endpoint: c.endpoint,
        unsigned_path_prefix: "",
        object_path: &c.object_path,
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret,
        session_token: c.session_token.as_deref(),
        region: c.region,
        now_unix: c.now_unix,
        expires_in_secs: c.expires_in_secs,
    })
    .unwrap_or_else(|e| panic!("presign_url failed ({e}) for {c:?}"))
}

fn aws(c: &Case) -> String {
    let url = format!(
        "{}{}",
        c.endpoint,
        fmt_string(&c.object_path, EncodingStrategy::Greedy)
    );
    let identity = Credentials::new(
        c.access_key_id.clone(),
        c.secret.clone(),
        c.session_token.clone(),
        None,
        "aws-crosscheck",
    )
    .into();
    let settings = presign_settings(Duration::from_secs(c.expires_in_secs));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(c.region)
        .name("s3")
        .time(UNIX_EPOCH + Duration::from_secs(u64::try_from(c.now_unix).unwrap()))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        c.method.as_str(),
        url.as_str(),
        std::iter::empty(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
    let mut request = http::Request::builder()
        .method(c.method.as_str())
        .uri(url.as_str())
        .body(())
        .unwrap();
    instructions.apply_to_request_http1x(&mut request);
    request.uri().to_string()
}

/// Independent of `encoding::percent_decode`: `%XX` → byte, nothing else
/// (no `+` → space in SigV4).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

struct Parsed {
    /// `scheme://host[:port]`.
    origin: String,
    host: String,
    /// Raw, as in the URL.
    path: String,
    /// Raw, as in the URL.
    query: String,
    /// Decoded names → decoded values; a repeated name is a failure.
    params: BTreeMap<String, String>,
}

fn parse(url: &str) -> Parsed {
    let (scheme, rest) = url.split_once("://").unwrap();
    let slash = rest.find('/').unwrap();
    let (host, rest) = rest.split_at(slash);
    let (path, query) = rest.split_once('?').unwrap();
    let mut params = BTreeMap::new();
    for piece in query.split('&') {
        let (name, value) = piece.split_once('=').unwrap();
        let previous = params.insert(decode(name), decode(value));
        assert!(previous.is_none(), "{name} repeated in {url}");
    }
    Parsed {
        origin: format!("{scheme}://{host}"),
        host: host.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        params,
    }
}

/// Presigns `c` both ways, checks they agree and that `verify_presigned`
/// accepts the aws-sigv4 URL. Returns the aws-sigv4 URL.
fn crosscheck(c: &Case) -> String {
    let ours_url = ours(c);
    let aws_url = aws(c);
    let o = parse(&ours_url);
    let a = parse(&aws_url);
    let context = format!("\n case: {c:?}\n ours: {ours_url}\n aws:  {aws_url}");
    assert_eq!(o.origin, a.origin, "origin{context}");
    assert_eq!(o.path, a.path, "path{context}");
    // The signatures are not compared: both come from aws-sigv4 configured
    // alike, so their equality would test the library against itself. What
    // checks a signature independently is `verify_aws_url` below (our own
    // canonical request in the verifier) and AWS's published example in
    // `tests.rs`.
    let unsigned = |params: &BTreeMap<String, String>| {
        let mut p = params.clone();
        p.remove("X-Amz-Signature");
        p
    };
    assert_eq!(
        unsigned(&o.params),
        unsigned(&a.params),
        "query parameters{context}"
    );
    // Both escape every byte but the unreserved ones, so even the spelling
    // agrees; only the position of the token differs.
    let sorted = |query: &str| {
        let mut pieces: Vec<String> = query
            .split('&')
            .filter(|p| !p.starts_with("X-Amz-Signature="))
            .map(str::to_owned)
            .collect();
        pieces.sort_unstable();
        pieces
    };
    assert_eq!(
        sorted(&o.query),
        sorted(&a.query),
        "query spelling{context}"
    );

    // What the parameters say, independently of both signers.
    let date = &a.params["X-Amz-Date"][..8];
    assert_eq!(
        a.params["X-Amz-Credential"],
        format!("{}/{date}/{}/s3/aws4_request", c.access_key_id, c.region),
        "{context}"
    );
    assert_eq!(
        a.params["X-Amz-Expires"],
        c.expires_in_secs.to_string(),
        "{context}"
    );
    assert_eq!(a.params["X-Amz-SignedHeaders"], "host", "{context}");
    assert_eq!(
        a.params.get("X-Amz-Security-Token"),
        c.session_token.as_ref(),
        "{context}"
    );
    assert_eq!(
        decode(&a.path),
        format!("{}{}", base_path(c), c.object_path)
    );

    verify_aws_url(c, &a, &context);
    aws_url
}

fn base_path(c: &Case) -> &'static str {
    let rest = c.endpoint.split_once("://").unwrap().1;
    rest.find('/').map_or("", |i| &rest[i..])
}

fn verify_aws_url(c: &Case, a: &Parsed, context: &str) {
    let expires = i64::try_from(c.expires_in_secs).unwrap();
    let request = |method: &'static str, now_unix: i64| VerifyRequest {
        method,
        host: &a.host,
        path: &a.path,
        query: &a.query,
        headers: &[],
        now_unix,
    };
    let lookup = |secret: &str| {
        let id = c.access_key_id.clone();
        let token = c.session_token.clone();
        let secret = secret.to_owned();
        move |got_id: &str, got_token: Option<&str>| {
            assert_eq!(got_id, id);
            assert_eq!(got_token, token.as_deref());
            Ok::<_, S3Error>(secret)
        }
    };
    let secret = c.secret.as_str();
    let method = c.method.as_str();
    for now in [c.now_unix, c.now_unix + expires / 2, c.now_unix + expires] {
        let v = verify_presigned(&request(method, now), lookup(secret))
            .unwrap_or_else(|e| panic!("verify_presigned rejected ({e:?}) at {now}{context}"));
        let expected_key = format!("{}{}", base_path(c), c.object_path);
        assert_eq!(v.key, expected_key[1..], "{context}");
        assert_eq!(v.access_key_id, c.access_key_id, "{context}");
        assert_eq!(v.session_token, c.session_token, "{context}");
        assert_eq!(v.region, c.region, "{context}");
        assert_eq!(v.signed_at_unix, c.now_unix, "{context}");
        assert_eq!(v.expires_at_unix, c.now_unix + expires, "{context}");
        assert_eq!(v.credential, c.secret);
    }
    let wrong = if c.secret == "wrong" {
        "Wrong"
    } else {
        "wrong"
    };
    assert_eq!(
        verify_presigned(&request(method, c.now_unix), lookup(wrong)).unwrap_err(),
        S3Error::SignatureDoesNotMatch,
        "wrong secret{context}"
    );
    let other_method = if c.method == Method::Put {
        "GET"
    } else {
        "PUT"
    };
    assert_eq!(
        verify_presigned(&request(other_method, c.now_unix), lookup(secret)).unwrap_err(),
        S3Error::SignatureDoesNotMatch,
        "wrong method{context}"
    );
}

#[test]
fn fixed_cases_match_the_s3_sdk_shape() {
    let keys = [
        "uploads/5e4ed04f-1d37-4cef-8210-eea624f2aef5/abcdefghijkl",
        "a b/ü~!*'()",
    ];
    let mut seen_signatures = Vec::new();
    for endpoint in [R2_ENDPOINT, LOCAL_ENDPOINT] {
        for key in keys {
            for method in [Method::Get, Method::Put] {
                for region in ["auto", "us-east-1"] {
                    for token in [None, Some("FwoGZXIvYXdzEJr//////////wEaDH+abc/def==")] {
                        for now in [MIDNIGHT, AFTERNOON] {
                            let c = Case::fixed(method, endpoint, key, token, region, now);
                            let url = crosscheck(&c);
                            seen_signatures.push(parse(&url).params["X-Amz-Signature"].clone());
                        }
                    }
                }
            }
        }
    }
    // Every input above changes the signature.
    let total = seen_signatures.len();
    seen_signatures.sort_unstable();
    seen_signatures.dedup();
    assert_eq!(seen_signatures.len(), total);
}

#[test]
fn fixed_case_urls_have_the_expected_shape() {
    let c = Case::fixed(
        Method::Put,
        LOCAL_ENDPOINT,
        "a b/ü~!*'()",
        None,
        "auto",
        MIDNIGHT,
    );
    let url = crosscheck(&c);
    assert!(
        url.starts_with(
            "http://127.0.0.1:8787/cdn-cgi/local/r2/s3/logseq-sync/a%20b/%C3%BC~%21%2A%27%28%29?"
        ),
        "{url}"
    );
    let c = Case::fixed(
        Method::Get,
        R2_ENDPOINT,
        "uploads/5e4ed04f-1d37-4cef-8210-eea624f2aef5/abcdefghijkl",
        Some("tok"),
        "auto",
        MIDNIGHT,
    );
    let url = crosscheck(&c);
    assert!(url.starts_with(
        "https://acc.r2.cloudflarestorage.com/logseq-sync/uploads/5e4ed04f-1d37-4cef-8210-eea624f2aef5/abcdefghijkl?"
    ));
}

/// splitmix64: tiny, deterministic, good enough to spread test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` for test inputs.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn string(&mut self, alphabet: &[char], min: usize, max: usize) -> String {
        let len = min + self.below(max - min + 1);
        (0..len).map(|_| self.pick(alphabet)).collect()
    }
}

/// Printable ASCII (space to `~`, `/` included) plus some UTF-8: two-,
/// three- and four-byte characters, a combining mark, a zero-width space.
fn key_alphabet() -> Vec<char> {
    let mut chars: Vec<char> = (' '..='~').collect();
    chars.extend([
        'ü', 'é', 'ß', 'Ω', '€', '日', '本', 'ア', '\u{0301}', '\u{200B}', '😀', '𝄞',
    ]);
    chars
}

fn random_key(rng: &mut Rng, alphabet: &[char]) -> String {
    loop {
        let key = rng.string(alphabet, 1, 60);
        if is_valid_object_key(&key) {
            return key;
        }
    }
}

#[test]
fn random_cases_match_the_s3_sdk_shape() {
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let key_chars = key_alphabet();
    let alnum: Vec<char> = ('0'..='9').chain('A'..='Z').chain('a'..='z').collect();
    // Secrets and tokens in the shapes AWS and R2 use: base64-ish.
    let secret_chars: Vec<char> = alnum.iter().copied().chain(['/', '+', '=']).collect();
    let mut keys_with_reserved = 0;
    for _ in 0..200 {
        let key = random_key(&mut rng, &key_chars);
        if key.bytes().any(|b| !b.is_ascii_alphanumeric() && b != b'/') {
            keys_with_reserved += 1;
        }
        let c = Case {
            method: rng.pick(&[Method::Get, Method::Put, Method::Head, Method::Delete]),
            endpoint: rng.pick(&[R2_ENDPOINT, LOCAL_ENDPOINT]),
            object_path: format!("/{BUCKET}/{key}"),
            access_key_id: rng.string(&alnum, 1, 40),
            secret: rng.string(&secret_chars, 1, 64),
            session_token: (rng.below(2) == 0).then(|| rng.string(&secret_chars, 1, 200)),
            region: rng.pick(&["auto", "us-east-1"]),
            // 2001-09-09 .. about 2128, any second of the day.
            now_unix: 1_000_000_000 + i64::try_from(rng.below(4_000_000_000)).unwrap(),
            expires_in_secs: 1 + u64::try_from(rng.below(604_800)).unwrap(),
        };
        let _ = crosscheck(&c);
    }
    assert!(keys_with_reserved > 150, "{keys_with_reserved}");
}
