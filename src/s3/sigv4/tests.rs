//! End-to-end tests of presign, verify and the temporary credentials against
//! AWS's published example, URLs captured from s3-presign 0.0.2 (what the
//! stock rsapi sends) and from aws-sigv4 1.6.4 (see `fixtures.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::encoding::{encode_path, parse_amz_date, percent_decode};
use super::fixtures::*;
use super::signing::{canonical_query, canonical_request, scope, string_to_sign, SigningKey};
use super::temp_credentials::{mint, verify_upload};
use super::*;
use crate::s3::error::{S3Error, ACCESS_DENIED, REQUEST_HAS_EXPIRED, REQUEST_NOT_YET_VALID};
use crate::s3::keys::is_valid_object_key;

/// `(host, path, query)` of an absolute URL.
fn split(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").unwrap().1;
    let slash = rest.find('/').unwrap();
    let (host, rest) = rest.split_at(slash);
    let (path, query) = rest.split_once('?').unwrap();
    (host.to_owned(), path.to_owned(), query.to_owned())
}

fn param<'q>(query: &'q str, name: &str) -> &'q str {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap()
}

fn amz_date_of(query: &str) -> i64 {
    parse_amz_date(param(query, "X-Amz-Date")).unwrap()
}

fn request<'a>(
    method: &'a str,
    host: &'a str,
    path: &'a str,
    query: &'a str,
    now_unix: i64,
) -> VerifyRequest<'a> {
    VerifyRequest {
        method,
        host,
        path,
        query,
        headers: &[],
        now_unix,
    }
}

/// A lookup that knows exactly one access key.
fn only(
    id: &'static str,
    secret: &'static str,
) -> impl Fn(&str, Option<&str>) -> Result<&'static str, S3Error> + Copy {
    move |asked, _| {
        if asked == id {
            Ok(secret)
        } else {
            Err(S3Error::InvalidAccessKeyId)
        }
    }
}

fn verify_url(
    method: &str,
    url: &str,
    now: i64,
    lookup: impl FnOnce(&str, Option<&str>) -> Result<&'static str, S3Error>,
) -> Result<Verified<&'static str>, S3Error> {
    let (host, path, query) = split(url);
    verify_presigned(&request(method, &host, &path, &query, now), lookup)
}

// ---------------------------------------------------------------- AWS example

#[test]
fn aws_example_verifies_within_its_window_only() {
    let lookup = only("AKIAIOSFODNN7EXAMPLE", AWS_EXAMPLE_SECRET);
    let t0 = AWS_EXAMPLE_TIME;
    let ok = verify_url("GET", AWS_EXAMPLE_URL, t0 + 3600, lookup).unwrap();
    assert_eq!(ok.key, "test.txt");
    assert_eq!(ok.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(ok.region, "us-east-1");
    assert_eq!(ok.session_token, None);
    assert_eq!(ok.signed_at_unix, t0);
    assert_eq!(ok.expires_at_unix, t0 + 86_400);
    assert_eq!(ok.credential, AWS_EXAMPLE_SECRET);

    // Boundaries: expiry inclusive, 15 minutes of clock skew allowed.
    assert!(verify_url("GET", AWS_EXAMPLE_URL, t0 + 86_400, lookup).is_ok());
    assert!(verify_url("GET", AWS_EXAMPLE_URL, t0 - 900, lookup).is_ok());
    let expired = verify_url("GET", AWS_EXAMPLE_URL, t0 + 86_401, lookup).unwrap_err();
    assert_eq!(expired, S3Error::AccessDenied(REQUEST_HAS_EXPIRED));
    assert!(expired
        .xml_body("/test.txt", "1")
        .contains("Request has expired"));
    let early = verify_url("GET", AWS_EXAMPLE_URL, t0 - 901, lookup).unwrap_err();
    assert_eq!(early, S3Error::AccessDenied(REQUEST_NOT_YET_VALID));
    assert!(early
        .xml_body("/test.txt", "1")
        .contains("Request is not yet valid"));

    // Wrong method, secret or access key.
    assert_eq!(
        verify_url("PUT", AWS_EXAMPLE_URL, t0, lookup).unwrap_err(),
        S3Error::SignatureDoesNotMatch
    );
    assert_eq!(
        verify_url(
            "GET",
            AWS_EXAMPLE_URL,
            t0,
            only("AKIAIOSFODNN7EXAMPLE", "nope")
        )
        .unwrap_err(),
        S3Error::SignatureDoesNotMatch
    );
    assert_eq!(
        verify_url("GET", AWS_EXAMPLE_URL, t0, only("SOMEONEELSE", "x")).unwrap_err(),
        S3Error::InvalidAccessKeyId
    );
}

// ------------------------------------------------------- s3-presign (rsapi)

#[test]
fn rsapi_live_upload_url_verifies_with_minted_credentials() {
    let (host, path, query) = split(LIVE_PUT_PROD);
    assert_eq!(host, "logseq-file-sync-bucket-prod.s3.amazonaws.com");
    let now = amz_date_of(&query) + 60;
    let v = verify_upload(
        &request("PUT", &host, &path, &query, now),
        FIXTURE_SERVER_SECRET,
    )
    .unwrap();
    assert_eq!(
        v.key,
        "temp/us-east-1:8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl"
    );
    assert_eq!(v.access_key_id, ID1);
    assert_eq!(v.credential.user_id, FIXTURE_USER);
    assert_eq!(v.credential.prefix, PREFIX1);
    assert_eq!(v.credential.expires_at_unix, EXP1);
    assert_eq!(v.credential.secret_key, SK1);
    assert_eq!(v.expires_at_unix, amz_date_of(&query) + 3600);
    let minted = mint(FIXTURE_SERVER_SECRET, FIXTURE_USER, PREFIX1, EXP1);
    assert_eq!(
        v.session_token.as_deref(),
        Some(minted.session_token.as_str())
    );
    assert_eq!(minted.access_key_id, ID1);
}

#[test]
fn rsapi_url_with_expired_credentials_asks_for_new_ones() {
    // The signature is fine, the credentials (valid until 2026-01-01T01:00Z)
    // are not: ExpiredToken makes rsapi fetch new ones and retry
    // (RS sync/src/sync.rs:428-441).
    let (host, path, query) = split(LIVE_PUT_DEV);
    let now = amz_date_of(&query) + 1;
    assert!(now > EXP2);
    let req = request("PUT", &host, &path, &query, now);
    let err = verify_upload(&req, FIXTURE_SERVER_SECRET).unwrap_err();
    assert_eq!(err, S3Error::ExpiredToken);
    assert!(err.xml_body(&path, "r").contains("ExpiredToken"));
    assert!(verify_presigned(&req, only(ID2, SK2)).is_ok());
}

#[test]
fn rsapi_fixed_time_url_verifies_until_its_expiry() {
    let (host, path, query) = split(FIXED_PUT_DEV);
    let ok = verify_upload(
        &request("PUT", &host, &path, &query, FIXED_TIME + 1800),
        FIXTURE_SERVER_SECRET,
    )
    .unwrap();
    assert_eq!(ok.region, "us-east-2");
    assert_eq!(ok.credential.prefix, PREFIX2);
    assert_eq!(
        verify_upload(
            &request("PUT", &host, &path, &query, FIXED_TIME + 3601),
            FIXTURE_SERVER_SECRET
        )
        .unwrap_err(),
        S3Error::AccessDenied(REQUEST_HAS_EXPIRED)
    );
}

#[test]
fn rsapi_odd_key_is_signed_over_the_raw_path() {
    let (host, path, query) = split(ODD_PUT);
    // s3-presign leaves `!*'()` raw and writes `~` as %7E (S3P src/lib.rs:15-25).
    assert!(path.ends_with("/a!*'()%7E%20b%2Bc%3Dd%26e"));
    let v = verify_upload(
        &request("PUT", &host, &path, &query, FIXED_TIME + 5),
        FIXTURE_SERVER_SECRET,
    )
    .unwrap();
    assert_eq!(
        v.key,
        "temp/us-east-1:8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/a!*'()~ b+c=d&e"
    );
    // The standard canonical URI differs: only a form with the raw path matches.
    assert_ne!(encode_path(format!("/{}", v.key).as_bytes()), path);
}

#[test]
fn rsapi_sts_style_token_is_sent_with_raw_equals_signs() {
    // s3-presign does not escape `=` in query values (S3P src/lib.rs:12-13):
    // the standard form re-encodes it as %3D, so only the raw form matches.
    let (host, path, query) = split(STS_PUT);
    assert!(query.contains(
        "X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDH%2Babc%2Fdef==&"
    ));
    let v = verify_presigned(
        &request("PUT", &host, &path, &query, FIXED_TIME),
        only("ASIAEXAMPLEEXAMPLE12", STS_SECRET),
    )
    .unwrap();
    assert_eq!(
        v.session_token.as_deref(),
        Some("FwoGZXIvYXdzEJr//////////wEaDH+abc/def==")
    );
}

#[test]
fn s3_presign_signs_a_non_default_port_into_the_host() {
    let (host, path, query) = split(PORT_PUT);
    assert_eq!(host, "127.0.0.1:8787");
    // Presigner's path-style join does not escape the key at all.
    assert!(path.contains("/us-east-1:8a3d"));
    let now = amz_date_of(&query);
    let v = verify_presigned(&request("PUT", &host, &path, &query, now), only(ID1, SK1)).unwrap();
    assert_eq!(
        v.key,
        "logseq-file-sync-bucket-prod/temp/us-east-1:8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl"
    );
    assert_eq!(
        verify_presigned(
            &request("PUT", "127.0.0.1", &path, &query, now),
            only(ID1, SK1)
        )
        .unwrap_err(),
        S3Error::SignatureDoesNotMatch
    );
}

/// Every single-byte change to method, host, path or query of `url` is
/// rejected; changes that leave the request well-formed are
/// `SignatureDoesNotMatch`.
fn assert_tamper_proof(url: &str, now: i64, id: &'static str, secret: &'static str) {
    let (host, path, query) = split(url);
    let lookup = only(id, secret);
    assert!(verify_presigned(&request("PUT", &host, &path, &query, now), lookup).is_ok());

    for method in ["GET", "HEAD", "put", "POST", "PUT "] {
        assert_eq!(
            verify_presigned(&request(method, &host, &path, &query, now), lookup).unwrap_err(),
            S3Error::SignatureDoesNotMatch,
            "{method}"
        );
    }

    let mutations = |s: &str, i: usize| -> Vec<String> {
        [b'x', b'0', b'1']
            .into_iter()
            .filter(|&c| s.as_bytes()[i] != c)
            .map(|c| {
                let mut b = s.as_bytes().to_vec();
                b[i] = c;
                String::from_utf8(b).unwrap()
            })
            .collect()
    };

    let mut hosts: Vec<String> = (0..host.len()).flat_map(|i| mutations(&host, i)).collect();
    hosts.extend([format!("{host}:443"), host.to_uppercase(), String::new()]);
    for h in &hosts {
        assert_eq!(
            verify_presigned(&request("PUT", h, &path, &query, now), lookup).unwrap_err(),
            S3Error::SignatureDoesNotMatch,
            "host {h}"
        );
    }

    for i in 1..path.len() {
        for p in mutations(&path, i) {
            let err =
                verify_presigned(&request("PUT", &host, &p, &query, now), lookup).unwrap_err();
            let key_ok = p
                .strip_prefix('/')
                .and_then(percent_decode)
                .and_then(|k| String::from_utf8(k).ok())
                .is_some_and(|k| is_valid_object_key(&k));
            if key_ok {
                assert_eq!(err, S3Error::SignatureDoesNotMatch, "path {p}");
            } else {
                assert!(matches!(err, S3Error::InvalidArgument(_)), "path {p}");
            }
        }
    }

    let signature_at = query.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let token_at = query.find("X-Amz-Security-Token=").map(|i| i + 21);
    let mut rejected = 0;
    for i in 0..query.len() {
        for q in mutations(&query, i) {
            let result = verify_presigned(&request("PUT", &host, &path, &q, now), lookup);
            let err = result.expect_err(&q);
            rejected += 1;
            let in_signature = i >= signature_at && i < signature_at + 64;
            let in_token =
                token_at.is_some_and(|t| i >= t && query[t..=i].bytes().all(|b| b != b'&'));
            let decodable = q.split('&').all(|p| percent_decode(p).is_some());
            if (in_signature || in_token) && decodable {
                assert_eq!(err, S3Error::SignatureDoesNotMatch, "query {q}");
            }
        }
    }
    assert!(rejected >= 2 * query.len());
}

#[test]
fn rsapi_urls_are_tamper_proof() {
    assert_tamper_proof(
        LIVE_PUT_PROD,
        amz_date_of(&split(LIVE_PUT_PROD).2),
        ID1,
        SK1,
    );
    assert_tamper_proof(ODD_PUT, FIXED_TIME, ID1, SK1);
    assert_tamper_proof(STS_PUT, FIXED_TIME, "ASIAEXAMPLEEXAMPLE12", STS_SECRET);
}

#[test]
fn our_own_urls_are_tamper_proof() {
    let url = presign_url(&PresignRequest {
        method: Method::Put,
        endpoint: "https://sync.example.com",
        unsigned_path_prefix: "",
        object_path: &format!("/{ODD_KEY}"),
        access_key_id: SERVER_ID,
        secret_access_key: SERVER_SECRET,
        session_token: Some("tok"),
        region: "auto",
        now_unix: FIXED_TIME,
        expires_in_secs: 600,
    })
    .unwrap();
    assert_tamper_proof(&url, FIXED_TIME, SERVER_ID, SERVER_SECRET);
}

// ------------------------------------------------------------------ aws-sigv4

#[allow(clippy::too_many_arguments)]
fn presign_like_aws(
    method: Method,
    endpoint: &str,
    object_path: &str,
    id: &str,
    secret: &str,
    token: Option<&str>,
    region: &str,
    expires: u64,
) -> String {
    presign_url(&PresignRequest {
        method,
        endpoint,
        unsigned_path_prefix: "",
        object_path,
        access_key_id: id,
        secret_access_key: secret,
        session_token: token,
        region,
        now_unix: FIXED_TIME,
        expires_in_secs: expires,
    })
    .unwrap()
}

#[test]
fn presign_matches_aws_sigv4_byte_for_byte() {
    let key = "/logseq-sync/uploads/8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl";
    assert_eq!(
        presign_like_aws(
            Method::Put,
            "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com",
            key,
            R2_ID,
            R2_SECRET,
            None,
            "auto",
            900
        ),
        AWS_R2_PUT
    );
    // wrangler's local R2 S3 endpoint: the base path is signed.
    assert_eq!(
        presign_like_aws(
            Method::Get,
            "http://127.0.0.1:8787/cdn-cgi/local/r2/s3",
            key,
            R2_ID,
            R2_SECRET,
            None,
            "auto",
            604_800
        ),
        AWS_LOCAL_GET
    );
    assert_eq!(
        encode_path(ODD_KEY.as_bytes()),
        SMITHY_KEY_ENCODING,
        "key encoding = the S3 SDK's"
    );
    assert_eq!(
        presign_like_aws(
            Method::Get,
            "https://sync.example.com",
            &format!("/{ODD_KEY}"),
            SERVER_ID,
            SERVER_SECRET,
            None,
            "auto",
            3600
        ),
        AWS_ODD_GET
    );
    // aws-sigv4 appends the token after the signature; same signature.
    let ours = presign_like_aws(
        Method::Head,
        "https://sync.example.com:8443",
        "/uploads/8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl",
        SERVER_ID,
        SERVER_SECRET,
        Some("tok/en+=="),
        "us-east-1",
        3600,
    );
    let (_, _, our_query) = split(&ours);
    let (_, _, aws_query) = split(AWS_TOKEN_HEAD);
    assert_eq!(
        param(&our_query, "X-Amz-Signature"),
        param(&aws_query, "X-Amz-Signature")
    );
    let mut ours_sorted: Vec<&str> = our_query.split('&').collect();
    let mut aws_sorted: Vec<&str> = aws_query.split('&').collect();
    ours_sorted.sort_unstable();
    aws_sorted.sort_unstable();
    assert_eq!(ours_sorted, aws_sorted);
}

#[test]
fn verify_accepts_aws_sigv4_urls() {
    let r2 = only(R2_ID, R2_SECRET);
    let v = verify_url("PUT", AWS_R2_PUT, FIXED_TIME + 900, r2).unwrap();
    assert_eq!(
        v.key,
        "logseq-sync/uploads/8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl"
    );
    assert_eq!(
        verify_url("PUT", AWS_R2_PUT, FIXED_TIME + 901, r2).unwrap_err(),
        S3Error::AccessDenied(REQUEST_HAS_EXPIRED)
    );
    let v = verify_url("GET", AWS_LOCAL_GET, FIXED_TIME + 604_800, r2).unwrap();
    assert!(v
        .key
        .starts_with("cdn-cgi/local/r2/s3/logseq-sync/uploads/"));
    let server = only(SERVER_ID, SERVER_SECRET);
    let v = verify_url("GET", AWS_ODD_GET, FIXED_TIME, server).unwrap();
    assert_eq!(v.key, ODD_KEY);
    // Token after the signature: form 1 does not apply, form 2 does.
    let v = verify_url("HEAD", AWS_TOKEN_HEAD, FIXED_TIME, server).unwrap();
    assert_eq!(v.session_token.as_deref(), Some("tok/en+=="));
    assert_eq!(
        verify_url("GET", AWS_TOKEN_HEAD, FIXED_TIME, server).unwrap_err(),
        S3Error::SignatureDoesNotMatch
    );
}

// ------------------------------------------------- the Worker's own /s3 URLs

#[test]
fn worker_urls_round_trip_without_the_routing_prefix() {
    let keys = [
        "8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/0b1c2d3e-4f50-4a6b-8c7d-8e9f0a1b2c3d/e.4d346624df83aa0f",
        "uploads/8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl",
        ODD_KEY,
        "日本語/ファイル 名.md",
        "a/.hidden/..x/x../~~",
    ];
    for key in keys {
        for method in [Method::Get, Method::Head, Method::Put] {
            let url = presign_url(&PresignRequest {
                method,
                endpoint: "https://sync.example.com",
                unsigned_path_prefix: "/s3",
                object_path: &format!("/{key}"),
                access_key_id: SERVER_ID,
                secret_access_key: SERVER_SECRET,
                session_token: None,
                region: "auto",
                now_unix: FIXED_TIME,
                expires_in_secs: 3600,
            })
            .unwrap();
            let (host, full_path, query) = split(&url);
            assert_eq!(host, "sync.example.com");
            let path = full_path.strip_prefix("/s3").unwrap();
            let v = verify_presigned(
                &request(method.as_str(), &host, path, &query, FIXED_TIME + 10),
                only(SERVER_ID, SERVER_SECRET),
            )
            .unwrap();
            assert_eq!(v.key, key);
            assert_eq!(v.expires_at_unix, FIXED_TIME + 3600);
            // The routing prefix is not signed: leaving it in breaks the signature.
            assert_eq!(
                verify_presigned(
                    &request(method.as_str(), &host, &full_path, &query, FIXED_TIME + 10),
                    only(SERVER_ID, SERVER_SECRET),
                )
                .unwrap_err(),
                S3Error::SignatureDoesNotMatch
            );
        }
    }
}

/// xorshift64*: deterministic, good enough to spread test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn random_key(rng: &mut Rng) -> String {
    const ALPHABET: &[char] = &[
        'a', 'z', 'A', 'Z', '0', '9', '-', '_', '.', '~', ' ', '!', '"', '#', '$', '%', '&', '\'',
        '(', ')', '*', '+', ',', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '^', '`', '{',
        '|', '}', 'é', 'ü', 'ß', '日', '本', '🙂',
    ];
    loop {
        let segments = 1 + rng.below(5);
        let key = (0..segments)
            .map(|_| {
                let len = 1 + rng.below(12);
                (0..len).map(|_| *rng.pick(ALPHABET)).collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("/");
        if is_valid_object_key(&key) {
            return key;
        }
    }
}

#[test]
fn random_keys_round_trip_through_presign_and_verify() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let endpoints = [
        ("https://sync.example.com", "/s3", "sync.example.com"),
        (
            "https://acct.r2.cloudflarestorage.com",
            "",
            "acct.r2.cloudflarestorage.com",
        ),
        (
            "http://127.0.0.1:8787/cdn-cgi/local/r2/s3",
            "",
            "127.0.0.1:8787",
        ),
    ];
    let methods = [Method::Get, Method::Head, Method::Put, Method::Delete];
    let regions = ["auto", "us-east-1", "eu-west-3"];
    let tokens = [None, Some("abc123"), Some("FwoG//+/==&x y%")];
    for round in 0..400 {
        let key = random_key(&mut rng);
        let &(endpoint, prefix, host) = rng.pick(&endpoints);
        let method = *rng.pick(&methods);
        let region = *rng.pick(&regions);
        let token = *rng.pick(&tokens);
        let expires = 1 + rng.below(604_800);
        let now = 1_577_836_800 + rng.below(400_000_000) as i64; // 2020..2032
        let bucket_key = if prefix.is_empty() {
            format!("/bucket/{key}")
        } else {
            format!("/{key}")
        };
        let url = presign_url(&PresignRequest {
            method,
            endpoint,
            unsigned_path_prefix: prefix,
            object_path: &bucket_key,
            access_key_id: "AKID",
            secret_access_key: "SECRET",
            session_token: token,
            region,
            now_unix: now,
            expires_in_secs: expires,
        })
        .unwrap();
        let (url_host, full_path, query) = split(&url);
        assert_eq!(url_host, host);
        let path = full_path.strip_prefix(prefix).unwrap();
        let at = now + rng.below(expires + 1) as i64;
        let lookup = only("AKID", "SECRET");
        let v = verify_presigned(&request(method.as_str(), host, path, &query, at), lookup)
            .unwrap_or_else(|e| panic!("round {round}: {e} for {url}"));
        let expected_key = if endpoint.ends_with("/s3") {
            format!("cdn-cgi/local/r2/s3{bucket_key}")
        } else {
            bucket_key.trim_start_matches('/').to_owned()
        };
        assert_eq!(v.key, expected_key);
        assert_eq!(v.session_token.as_deref(), token);
        assert_eq!(v.region, region);
        assert_eq!(v.expires_at_unix, now + expires as i64);

        // One flipped signature digit, or one second too late, fails.
        let sig = param(&query, "X-Amz-Signature");
        let i = rng.below(64) as usize;
        let mut flipped = sig.as_bytes().to_vec();
        flipped[i] = if flipped[i] == b'0' { b'1' } else { b'0' };
        let bad_query = query.replace(sig, std::str::from_utf8(&flipped).unwrap());
        assert_eq!(
            verify_presigned(
                &request(method.as_str(), host, path, &bad_query, at),
                lookup
            )
            .unwrap_err(),
            S3Error::SignatureDoesNotMatch
        );
        assert_eq!(
            verify_presigned(
                &request(
                    method.as_str(),
                    host,
                    path,
                    &query,
                    now + expires as i64 + 1
                ),
                lookup
            )
            .unwrap_err(),
            S3Error::AccessDenied(REQUEST_HAS_EXPIRED)
        );
    }
}

// ------------------------------------------------ temporary credentials flow

fn upload_url(creds: &TempCredentials, object_path: &str, token: bool) -> String {
    presign_url(&PresignRequest {
        method: Method::Put,
        endpoint: "https://logseq-file-sync-bucket-prod.s3.amazonaws.com",
        unsigned_path_prefix: "",
        object_path,
        access_key_id: &creds.access_key_id,
        secret_access_key: &creds.secret_key,
        session_token: token.then_some(creds.session_token.as_str()),
        region: "us-east-1",
        now_unix: FIXED_TIME,
        expires_in_secs: 600,
    })
    .unwrap()
}

fn verify_upload_url(url: &str, now: i64) -> Result<Verified<CredentialClaims>, S3Error> {
    let (host, path, query) = split(url);
    verify_upload(
        &request("PUT", &host, &path, &query, now),
        FIXTURE_SERVER_SECRET,
    )
}

#[test]
fn standard_signed_uploads_with_temp_credentials_stay_under_their_prefix() {
    // What the iOS client (AWS SDK, proper SigV4) sends with the same credentials.
    let creds = mint(
        FIXTURE_SERVER_SECRET,
        FIXTURE_USER,
        PREFIX1,
        FIXED_TIME + 3600,
    );
    let inside = format!("/{PREFIX1}/ios0123456789abcde.md");
    let v = verify_upload_url(&upload_url(&creds, &inside, true), FIXED_TIME).unwrap();
    assert_eq!(v.key, &inside[1..]);
    assert_eq!(v.credential.user_id, FIXTURE_USER);

    for outside in [
        format!("/{PREFIX1}x/abc"),
        format!("/{PREFIX1}"),
        "/temp/us-east-1:00000000-0000-4000-8000-000000000000/abc".to_owned(),
        "/abc".to_owned(),
    ] {
        assert_eq!(
            verify_upload_url(&upload_url(&creds, &outside, true), FIXED_TIME).unwrap_err(),
            S3Error::AccessDenied(ACCESS_DENIED),
            "{outside}"
        );
    }
    // No session token: nothing to open.
    assert_eq!(
        verify_upload_url(&upload_url(&creds, &inside, false), FIXED_TIME).unwrap_err(),
        S3Error::InvalidAccessKeyId
    );
    // Credentials past their expiry, request itself still fresh.
    let short = mint(
        FIXTURE_SERVER_SECRET,
        FIXTURE_USER,
        PREFIX1,
        FIXED_TIME + 60,
    );
    assert_eq!(
        verify_upload_url(&upload_url(&short, &inside, true), FIXED_TIME + 61).unwrap_err(),
        S3Error::ExpiredToken
    );
    // Minted under another server secret.
    let foreign = mint(
        b"another deployment",
        FIXTURE_USER,
        PREFIX1,
        FIXED_TIME + 3600,
    );
    assert_eq!(
        verify_upload_url(&upload_url(&foreign, &inside, true), FIXED_TIME).unwrap_err(),
        S3Error::InvalidAccessKeyId
    );
}

#[test]
fn tampered_credentials_in_an_rsapi_url_are_rejected() {
    let (host, path, query) = split(LIVE_PUT_PROD);
    let now = amz_date_of(&query);
    let minted = mint(FIXTURE_SERVER_SECRET, FIXTURE_USER, PREFIX1, EXP1);
    // Claim a longer expiry / another user by editing the token.
    let forged_token = minted
        .session_token
        .replacen("Z00000000f4865700Z", "Z00000000ffffffffZ", 1);
    assert_ne!(forged_token, minted.session_token);
    let q = query.replace(&minted.session_token, &forged_token);
    assert_eq!(
        verify_upload(
            &request("PUT", &host, &path, &q, now),
            FIXTURE_SERVER_SECRET
        )
        .unwrap_err(),
        S3Error::InvalidAccessKeyId
    );
    // Another valid credential's access key id with this token.
    let other = mint(FIXTURE_SERVER_SECRET, FIXTURE_USER, PREFIX2, EXP1);
    let q = query.replace(ID1, &other.access_key_id);
    assert_eq!(
        verify_upload(
            &request("PUT", &host, &path, &q, now),
            FIXTURE_SERVER_SECRET
        )
        .unwrap_err(),
        S3Error::InvalidAccessKeyId
    );
}

// ------------------------------------------------------- malformed requests

/// A valid request: `(host, path, query, now)`.
fn valid_request() -> (String, String, String, i64) {
    let url = presign_like_aws(
        Method::Put,
        "https://sync.example.com",
        "/k/ey",
        SERVER_ID,
        SERVER_SECRET,
        Some("tok"),
        "auto",
        600,
    );
    let (host, path, query) = split(&url);
    (host, path, query, FIXED_TIME + 1)
}

#[test]
fn malformed_query_parameters_are_rejected_as_such() {
    let (host, path, query, now) = valid_request();
    let lookup = only(SERVER_ID, SERVER_SECRET);
    let check = |q: &str| verify_presigned(&request("PUT", &host, &path, q, now), lookup);
    assert!(check(&query).is_ok());

    let without = |name: &str| -> String {
        query
            .split('&')
            .filter(|p| !p.starts_with(&format!("{name}=")))
            .collect::<Vec<_>>()
            .join("&")
    };
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ] {
        let err = check(&without(name)).unwrap_err();
        assert!(
            matches!(err, S3Error::AuthorizationQueryParametersError(_)),
            "{name}: {err}"
        );
        assert_eq!(err.status(), 400);
    }
    let credential = param(&query, "X-Amz-Credential").to_owned();
    let date = param(&query, "X-Amz-Date").to_owned();
    let replacements: Vec<(String, String)> = vec![
        (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256".into(),
            "X-Amz-Algorithm=AWS4-HMAC-SHA1".into(),
        ),
        (
            format!("X-Amz-Date={date}"),
            format!("X-Amz-Date={date}&X-Amz-Date={date}"),
        ),
        (
            format!("X-Amz-Date={date}"),
            "X-Amz-Date=2026-01-01T00%3A00%3A00Z".into(),
        ),
        (
            credential.clone(),
            credential.replace("%2Fs3%2F", "%2Fs4%2F"),
        ),
        (
            credential.clone(),
            credential.replace("aws4_request", "aws5_request"),
        ),
        (
            credential.clone(),
            credential.replace("20260101", "20260102"),
        ),
        (credential.clone(), credential.replace("%2Fauto", "")),
        ("X-Amz-Expires=600".into(), "X-Amz-Expires=0".into()),
        ("X-Amz-Expires=600".into(), "X-Amz-Expires=604801".into()),
        ("X-Amz-Expires=600".into(), "X-Amz-Expires=-5".into()),
        ("X-Amz-Expires=600".into(), "X-Amz-Expires=abc".into()),
        ("X-Amz-Expires=600".into(), "X-Amz-Expires=".into()),
        (
            "X-Amz-SignedHeaders=host".into(),
            "X-Amz-SignedHeaders=content-type".into(),
        ),
        (
            "X-Amz-SignedHeaders=host".into(),
            "X-Amz-SignedHeaders=Host".into(),
        ),
        (
            "X-Amz-SignedHeaders=host".into(),
            "X-Amz-SignedHeaders=host%3B".into(),
        ),
        (
            "X-Amz-Security-Token=tok".into(),
            "X-Amz-Security-Token=t%zzk".into(),
        ),
        (
            "X-Amz-Security-Token=tok".into(),
            "X-Amz-Security-Token=t%FFk".into(),
        ),
    ];
    for (from, to) in replacements {
        assert!(query.contains(&from), "{from}");
        let err = check(&query.replace(&from, &to)).unwrap_err();
        assert!(
            matches!(err, S3Error::AuthorizationQueryParametersError(_)),
            "{to}: {err}"
        );
    }
    // Malformed signatures cannot match.
    let sig = param(&query, "X-Amz-Signature").to_owned();
    for bad in [
        sig.to_uppercase(),
        sig[..62].to_owned(),
        format!("{sig}00"),
        "zz".repeat(32),
    ] {
        assert_eq!(
            check(&query.replace(&sig, &bad)).unwrap_err(),
            S3Error::SignatureDoesNotMatch
        );
    }
    // Equivalent spellings are fine: parameter order, lower-case escapes.
    let mut reordered: Vec<&str> = query.split('&').collect();
    reordered.reverse();
    assert!(check(&reordered.join("&")).is_ok());
    assert!(check(&query.replace("%2F", "%2f")).is_ok());
}

#[test]
fn unusable_keys_are_invalid_arguments() {
    let (host, _, query, now) = valid_request();
    for path in [
        "/", "//k", "/k//ey", "/k/../ey", "/k/./ey", "/k/ey/", "/%zz", "/%FF", "k/ey", "/a%00b",
    ] {
        let err = verify_presigned(
            &request("PUT", &host, path, &query, now),
            only(SERVER_ID, SERVER_SECRET),
        )
        .unwrap_err();
        assert!(matches!(err, S3Error::InvalidArgument(_)), "{path}: {err}");
    }
}

#[test]
fn lookup_sees_id_and_token_and_its_error_wins() {
    let (host, path, query, now) = valid_request();
    let mut seen = None;
    let err = verify_presigned(&request("PUT", &host, &path, &query, now), |id, token| {
        seen = Some((id.to_owned(), token.map(str::to_owned)));
        Err::<String, _>(S3Error::ExpiredToken)
    })
    .unwrap_err();
    assert_eq!(err, S3Error::ExpiredToken);
    assert_eq!(seen, Some((SERVER_ID.to_owned(), Some("tok".to_owned()))));
}

#[test]
fn other_signed_headers_are_checked() {
    // Sign by hand: content-type;host, as some SDKs do for PUT.
    let host = "sync.example.com";
    let amz_date = "20260101T000000Z";
    let scope_str = scope("20260101", "auto");
    let credential = format!("{SERVER_ID}/{scope_str}");
    let params: [(&[u8], &[u8]); 5] = [
        (b"X-Amz-Algorithm", b"AWS4-HMAC-SHA256"),
        (b"X-Amz-Credential", credential.as_bytes()),
        (b"X-Amz-Date", amz_date.as_bytes()),
        (b"X-Amz-Expires", b"600"),
        (b"X-Amz-SignedHeaders", b"content-type;host"),
    ];
    let query = canonical_query(params);
    let canonical = canonical_request(
        "PUT",
        "/k",
        &query,
        &format!("content-type:application/octet-stream\nhost:{host}\n"),
        "content-type;host",
    );
    let sig = SigningKey::derive(SERVER_SECRET, "20260101", "auto")
        .unwrap()
        .sign(&string_to_sign(amz_date, &scope_str, &canonical));
    assert_eq!(sig.len(), 64);
    let query = format!("{query}&X-Amz-Signature={sig}");
    let with = |headers: &[(&str, &str)]| {
        verify_presigned(
            &VerifyRequest {
                method: "PUT",
                host,
                path: "/k",
                query: &query,
                headers,
                now_unix: FIXED_TIME,
            },
            only(SERVER_ID, SERVER_SECRET),
        )
    };
    assert!(with(&[("Content-Type", "application/octet-stream")]).is_ok());
    assert!(with(&[
        ("content-type", "  application/octet-stream  "),
        ("x-other", "1")
    ])
    .is_ok());
    assert_eq!(with(&[]).unwrap_err(), S3Error::SignatureDoesNotMatch);
    assert_eq!(
        with(&[("Content-Type", "text/plain")]).unwrap_err(),
        S3Error::SignatureDoesNotMatch
    );
    assert_eq!(
        with(&[
            ("Content-Type", "application/octet-stream"),
            ("content-type", "x")
        ])
        .unwrap_err(),
        S3Error::SignatureDoesNotMatch
    );
}

#[test]
fn debug_output_leaves_out_tokens_signatures_and_keys() {
    let (host, path, query) = split(LIVE_PUT_PROD);
    let now = amz_date_of(&query);
    let req = request("PUT", &host, &path, &query, now);
    let v = verify_upload(&req, FIXTURE_SERVER_SECRET).unwrap();
    let shown = format!("{req:?} {v:?}");
    let token = v.session_token.clone().unwrap();
    for secret in [
        token.as_str(),
        param(&query, "X-Amz-Signature"),
        SK1,
        "abcdefghijkl",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains(ID1));
}
