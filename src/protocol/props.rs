//! Property-based tests (proptest) of everything that reads untrusted input
//! before any authentication has happened or any storage is touched:
//!
//! * the JSON request parser `api::parse` into every request type of
//!   `wire.rs`: arbitrary bytes and arbitrary JSON never panic, and every
//!   refusal is a 400 with a bounded message;
//! * the SigV4 verifier (`sigv4::verify_presigned`) and the upload check
//!   (`sigv4::temp_credentials::verify_upload`): arbitrary method, host, path
//!   and query never panic and are never accepted; a valid presigned URL is
//!   accepted, and any mutation of it is either refused or still names exactly
//!   the same request (same method, host, key, time window and credential);
//! * the bearer-token verifier `auth::verify`: arbitrary strings, tokens
//!   signed with another key, other algorithms, expired tokens and every
//!   single-character mutation of a valid token are refused;
//! * the small validators the handlers rely on (names, UUIDs, object keys,
//!   prefixes, the txid conflict message).
//!
//! `npm test` runs 256 cases per property. For a longer run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --lib fuzz_tests
//! ```
//!
//! Failures are reported with the shrunk input; nothing is written to disk
//! (no regression files), so the tests are deterministic only per seed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{json, Value};

use crate::api::parse;
use crate::auth::jwt::{self, Claims};
use crate::error::ApiError;
use crate::protocol::ids::{is_client_uuid, is_encrypted_name, MAX_ENCRYPTED_NAME_LEN};
use crate::protocol::txid::conflict_message;
use crate::protocol::wire::{
    CreateGraphRequest, FileVersionListRequest, FilesRequest, FromTxRequest, GetGraphRequest,
    GraphRequest, PresignUploadsRequest, RenameFileRequest, UpdateFilesRequest, UploadKeysRequest,
};
use crate::s3::error::S3Error;
use crate::s3::keys::{is_key_under_prefix, is_valid_object_key, MAX_KEY_BYTES};
use crate::s3::sigv4::temp_credentials::{self, mint};
use crate::s3::sigv4::{
    presign_url, verify_presigned, Method, PresignRequest, Verified, VerifyRequest,
};

/// Cases per property: `PROPTEST_CASES` when set, else 256 (bounded for `npm test`).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // No `proptest-regressions/` files next to the sources.
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases())
    }
}

// ------------------------------------------------------------------ inputs

/// Strings that stress parsers: ASCII, multi-byte UTF-8 (2, 3 and 4 bytes),
/// controls, quotes and escapes, path-like pieces.
fn nasty_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9]{0,8}",
        Just("é".to_string()),
        Just("日本".to_string()),
        Just("📝".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{1f}\u{7f}".to_string()),
        Just("\"\\".to_string()),
        Just("../".to_string()),
        Just("%2F".to_string()),
        Just("%".to_string()),
        Just("e.".to_string()),
        Just("\u{feff}".to_string()),
        "[0-9a-f]{2,40}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Field names of every request type, plus near misses and random ones.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "GraphUUID", "GraphName", "TXId", "FromTXId", "Files", "File", "SrcFile", "DstFile",
            "Count", "ContinuationToken", "public-key", "encrypted-private-key",
            "graphuuid", "TXID", "Files ", "",
        ])
        .prop_map(str::to_string),
        1 => nasty_string(),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![0i64, -1, 1, i64::MAX, i64::MIN, 9_007_199_254_740_993])
            .prop_map(Value::from),
        Just(json!(1e308)),
        Just(json!(0.5)),
    ]
}

/// Arbitrary JSON, biased towards the shapes the endpoints expect.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        nasty_string().prop_map(Value::String),
        Just(json!("00000000-0000-4000-8000-000000000000")),
        Just(json!(format!("e.{}", "ab".repeat(20)))),
        Just(json!("uploads/00000000-0000-4000-8000-000000000000/abc")),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object body with the request fields in place, each holding anything.
fn request_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(field_name(), json_value(), 0..10)
        .prop_map(|m: BTreeMap<String, Value>| Value::Object(m.into_iter().collect()))
}

/// A request body; shown as (lossy) text in failure reports.
#[derive(Clone)]
struct Body(Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// Raw bodies: arbitrary bytes, arbitrary JSON text, and JSON with bytes spliced in.
fn body() -> impl Strategy<Value = Body> {
    raw_body().prop_map(Body)
}

fn raw_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        request_object().prop_map(|v| v.to_string().into_bytes()),
        (
            request_object(),
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..4)
        )
            .prop_map(|(v, at, junk)| {
                let mut b = v.to_string().into_bytes();
                let i = at.index(b.len() + 1);
                b.splice(i..i, junk);
                b
            }),
        // A wrongly typed field whose value is long non-ASCII text: serde's
        // message quotes it, so a byte-based cut of the message would split a
        // character.
        (
            "[a-zA-Z]{0,3}",
            prop::sample::select(vec!["é", "日", "📝"]),
            60usize..200
        )
            .prop_map(|(lead, ch, n)| {
                let s = format!("{lead}{}", ch.repeat(n));
                json!({"GraphUUID": s, "TXId": s, "FromTXId": s, "Files": s, "File": 1,
                       "Count": s, "GraphName": 1, "SrcFile": 1, "DstFile": 1})
                .to_string()
                .into_bytes()
            }),
    ]
}

/// `parse::<T>` must return, never panic; a refusal is a 400 whose message
/// is short and begins with what the API documents.
fn check_parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<(), TestCaseError> {
    let result = std::panic::catch_unwind(|| parse::<T>(body).map(|_| ()));
    let outcome = result.map_err(|_| {
        TestCaseError::fail(format!(
            "parse::<{}> panicked on {:?}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(body)
        ))
    })?;
    if let Err(e) = outcome {
        prop_assert_eq!(e.status(), 400, "{:?}", e);
        let ApiError::BadRequest(msg) = &e else {
            return Err(TestCaseError::fail(format!("not BadRequest: {e:?}")));
        };
        prop_assert!(
            msg == "request body must be a JSON object"
                || msg.starts_with("invalid request body: "),
            "{}",
            msg
        );
        prop_assert!(msg.len() <= 200, "message of {} bytes", msg.len());
        // The JSON error body the client gets must serialise.
        prop_assert!(serde_json::from_str::<Value>(&e.body()).is_ok());
    }
    Ok(())
}

fn check_every_request_type(body: &[u8]) -> Result<(), TestCaseError> {
    check_parse::<GraphRequest>(body)?;
    check_parse::<CreateGraphRequest>(body)?;
    check_parse::<GetGraphRequest>(body)?;
    check_parse::<UploadKeysRequest>(body)?;
    check_parse::<FilesRequest>(body)?;
    check_parse::<FromTxRequest>(body)?;
    check_parse::<FileVersionListRequest>(body)?;
    check_parse::<UpdateFilesRequest>(body)?;
    check_parse::<RenameFileRequest>(body)?;
    check_parse::<PresignUploadsRequest>(body)?;
    check_parse::<serde_json::Map<String, Value>>(body)?;
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_parsers_never_panic_and_refuse_with_400(body in body()) {
        check_every_request_type(&body.0)?;
    }

    /// Deeply nested bodies (serde_json stops at depth 128) within the 2 MB limit.
    #[test]
    fn deep_nesting_is_a_400(depth in 1usize..20_000, open in prop::sample::select(vec!["[", "{\"a\":"])) {
        let close = if open == "[" { "]" } else { "}" };
        let body = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        check_every_request_type(body.as_bytes())?;
    }
}

#[test]
fn a_wrongly_typed_non_ascii_field_is_a_400_not_a_panic() {
    // The shortest reproduction of the byte-cut bug class: "invalid request
    // body: invalid type: string \"a" is 45 bytes, so byte 200 falls inside
    // the 78th "é".
    let body = json!({"GraphUUID": "00000000-0000-4000-8000-000000000000",
                      "FromTXId": format!("a{}", "é".repeat(200))})
    .to_string();
    check_parse::<FromTxRequest>(body.as_bytes()).unwrap();
}

// ------------------------------------------------------------------ SigV4

const SECRET: &str = "fuzz secret access key";
const NOW: i64 = 1_800_000_000;

fn lookup_fixed(_: &str, _: Option<&str>) -> Result<&'static str, S3Error> {
    Ok(SECRET)
}

fn verify_with_fixed_secret(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    now: i64,
) -> Result<Verified<&'static str>, S3Error> {
    verify_presigned(
        &VerifyRequest {
            method,
            host,
            path,
            query,
            headers: &[],
            now_unix: now,
        },
        lookup_fixed,
    )
}

/// Object keys a URL may name (valid ones, mostly).
fn object_key() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9_.-]{1,12}",
            "[a-z]{1,4}[:~!*'()][a-z]{1,4}",
            Just("é".to_string()),
            Just("a b".to_string()),
            Just("%41".to_string()),
        ],
        1..5,
    )
    .prop_map(|segments| segments.join("/"))
    .prop_filter("a valid key", |k| is_valid_object_key(k))
}

/// Who signs: access key id, secret, optional session token.
struct Signer<'a> {
    id: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
}

/// `https://<host>/<key>?<presign>` for `method`, signed at `now` for `expires` seconds.
fn presigned(
    method: Method,
    host: &str,
    key: &str,
    now: i64,
    expires: u64,
    by: &Signer<'_>,
) -> String {
    presign_url(&PresignRequest {
        method,
        endpoint: &format!("https://{host}"),
        unsigned_path_prefix: "",
        object_path: &format!("/{key}"),
        access_key_id: by.id,
        secret_access_key: by.secret,
        session_token: by.token,
        region: "auto",
        now_unix: now,
        expires_in_secs: expires,
    })
    .unwrap()
}

/// `(host, path, query)` of `https://host/path?query`.
fn split(url: &str) -> (String, String, String) {
    let rest = url.strip_prefix("https://").unwrap();
    let slash = rest.find('/').unwrap();
    let (host, pq) = rest.split_at(slash);
    let (path, query) = pq.split_once('?').unwrap();
    (host.to_string(), path.to_string(), query.to_string())
}

/// One way to change a request.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at (index mod len) of the path/query/host with `b`.
    Byte {
        part: u8,
        index: prop::sample::Index,
        b: u8,
    },
    /// Insert bytes at an index of the path/query/host.
    Insert {
        part: u8,
        index: prop::sample::Index,
        s: String,
    },
    /// Drop the `&`-separated parameter at index.
    DropParam(prop::sample::Index),
    /// Repeat the parameter at index.
    RepeatParam(prop::sample::Index),
    /// Append a parameter.
    AddParam(String, String),
    /// Another method.
    Method(&'static str),
    /// Verify at another time.
    Time(i64),
    /// Truncate the query at index.
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0u8..3, any::<prop::sample::Index>(), any::<u8>())
            .prop_map(|(part, index, b)| Mutation::Byte { part, index, b }),
        (0u8..3, any::<prop::sample::Index>(), nasty_string())
            .prop_map(|(part, index, s)| Mutation::Insert { part, index, s }),
        any::<prop::sample::Index>().prop_map(Mutation::DropParam),
        any::<prop::sample::Index>().prop_map(Mutation::RepeatParam),
        ("[a-zA-Z-]{1,20}", nasty_string()).prop_map(|(k, v)| Mutation::AddParam(k, v)),
        prop::sample::select(vec!["GET", "PUT", "HEAD", "DELETE", "POST", "get", ""])
            .prop_map(Mutation::Method),
        prop_oneof![-100_000i64..100_000, any::<i64>()].prop_map(Mutation::Time),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn byte_edit(s: &str, index: prop::sample::Index, f: impl FnOnce(&mut Vec<u8>, usize)) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = index.index(b.len().max(1)).min(b.len());
    f(&mut b, i);
    String::from_utf8_lossy(&b).into_owned()
}

struct Req {
    method: String,
    host: String,
    path: String,
    query: String,
    now: i64,
}

fn part_mut(r: &mut Req, part: u8) -> &mut String {
    match part {
        0 => &mut r.path,
        1 => &mut r.query,
        _ => &mut r.host,
    }
}

fn apply(m: &Mutation, r: &mut Req) {
    match m {
        Mutation::Byte { part, index, b } => {
            let target = part_mut(r, *part);
            *target = byte_edit(target, *index, |v, i| {
                if let Some(x) = v.get_mut(i) {
                    *x = *b;
                } else {
                    v.push(*b);
                }
            });
        }
        Mutation::Insert { part, index, s } => {
            let target = part_mut(r, *part);
            *target = byte_edit(target, *index, |v, i| {
                v.splice(i..i, s.bytes());
            });
        }
        Mutation::DropParam(i) => {
            let mut params: Vec<&str> = r.query.split('&').collect();
            let k = i.index(params.len());
            params.remove(k);
            r.query = params.join("&");
        }
        Mutation::RepeatParam(i) => {
            let params: Vec<&str> = r.query.split('&').collect();
            let k = i.index(params.len());
            r.query = format!("{}&{}", r.query, params[k]);
        }
        Mutation::AddParam(k, v) => {
            r.query = format!("{}&{k}={v}", r.query);
        }
        Mutation::Method(m) => r.method = (*m).to_string(),
        Mutation::Time(dt) => r.now = r.now.saturating_add(*dt),
        Mutation::Truncate(i) => {
            let k = i.index(r.query.len().max(1)).min(r.query.len());
            r.query = String::from_utf8_lossy(&r.query.as_bytes()[..k]).into_owned();
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Whatever arrives, the verifier returns; with no valid signature it refuses.
    #[test]
    fn verifier_never_panics_and_refuses_garbage(
        method in prop::sample::select(vec!["GET", "PUT", "HEAD", "", "DELETE"]),
        host in nasty_string(),
        path in prop_oneof![nasty_string(), object_key().prop_map(|k| format!("/{k}"))],
        query in prop_oneof![
            nasty_string(),
            prop::collection::vec((field_name(), nasty_string()), 0..10).prop_map(|kv| {
                kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
            }),
            // Well-formed parameters, a random signature.
            ("[0-9a-f]{64}", 1u64..700_000, any::<bool>()).prop_map(|(sig, exp, token)| format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20270115%2Fauto%2Fs3%2Faws4_request\
                 &X-Amz-Date=20270115T080000Z&X-Amz-Expires={exp}{}&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}",
                if token { "&X-Amz-Security-Token=LSQ1abc" } else { "" })),
        ],
        now in prop_oneof![Just(1_800_000_000i64), any::<i64>()],
    ) {
        let result = verify_with_fixed_secret(method, &host, &path, &query, now);
        prop_assert!(result.is_err(), "accepted: {:?}", result);
        // The same for the upload check with real credential parsing.
        let req = VerifyRequest {
            method, host: &host, path: &path, query: &query, headers: &[], now_unix: now,
        };
        prop_assert!(temp_credentials::verify_upload(&req, b"server secret").is_err());
    }

    /// A valid URL verifies; a mutated one is refused or is the same request.
    #[test]
    fn presigned_urls_verify_and_mutations_are_refused(
        key in object_key(),
        host in prop::sample::select(vec![
            "bucket.s3.amazonaws.com", "127.0.0.1:8787", "sync.example.com",
        ]),
        method in prop::sample::select(vec![Method::Get, Method::Put]),
        signed_at in 1_000_000_000i64..4_000_000_000,
        expires in 1u64..=604_800,
        elapsed in 0u64..=604_800,
        token in prop::option::of("[A-Za-z0-9]{1,40}"),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let signer = Signer { id: "AKIDFUZZ", secret: SECRET, token: token.as_deref() };
        let url = presigned(method, host, &key, signed_at, expires, &signer);
        let (h, p, q) = split(&url);
        let now = signed_at + (elapsed.min(expires)) as i64;
        let ok = verify_with_fixed_secret(method.as_str(), &h, &p, &q, now);
        let ok = ok.map_err(|e| TestCaseError::fail(format!("valid URL refused: {e} {url}")))?;
        prop_assert_eq!(&ok.key, &key);
        prop_assert_eq!(ok.signed_at_unix, signed_at);

        // Signed with another secret: refused.
        let other = Signer { secret: "another secret", ..signer };
        let forged = presigned(method, host, &key, signed_at, expires, &other);
        let (fh, fp, fq) = split(&forged);
        prop_assert!(verify_with_fixed_secret(method.as_str(), &fh, &fp, &fq, now).is_err());

        let mut r = Req {
            method: method.as_str().to_string(), host: h.clone(), path: p.clone(), query: q.clone(), now,
        };
        for m in &mutations {
            apply(m, &mut r);
        }
        let unchanged = r.method == method.as_str() && r.host == h && r.path == p && r.query == q;
        if let Ok(v) = verify_with_fixed_secret(&r.method, &r.host, &r.path, &r.query, r.now) {
            // Accepted: only if it is the very same request (an equivalent
            // spelling of the same key, parameters and method) inside its window.
            prop_assert!(r.method == method.as_str(), "accepted for method {}", r.method);
            prop_assert!(r.host.eq_ignore_ascii_case(&h), "accepted for host {}", r.host);
            prop_assert_eq!(&v.key, &key, "accepted for another key; mutations {:?}", mutations);
            prop_assert_eq!(v.signed_at_unix, signed_at);
            prop_assert_eq!(v.expires_at_unix, signed_at + expires as i64);
            prop_assert_eq!(v.access_key_id.as_str(), "AKIDFUZZ");
            prop_assert_eq!(v.session_token.as_deref(), token.as_deref());
            prop_assert!(r.now <= v.expires_at_unix && v.signed_at_unix <= r.now + 900);
        } else {
            prop_assert!(!unchanged || r.now != now, "the unchanged request was refused");
        }
    }

    /// Upload credentials: only their own prefix, only until they expire,
    /// only with the server's secret, only unmodified.
    #[test]
    fn upload_credentials_are_bound_to_prefix_expiry_and_secret(
        user in "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        other in "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        tail in "[a-z]{1,16}",
        lifetime in 1i64..100_000,
        at in 0i64..200_000,
        url_expires in 1u64..=604_800,
        token_edit in (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![b'0', b'a', b'f', b'Z', b'9']),
        ),
    ) {
        let server = b"the server's S3 credential secret";
        let prefix = format!("uploads/{user}");
        let creds = mint(server, &user, &prefix, NOW + lifetime);
        let now = NOW + at.min(lifetime - 1).max(0);
        let check = |key: &str, creds: &temp_credentials::TempCredentials, secret: &[u8], now: i64| {
            let signer = Signer {
                id: &creds.access_key_id, secret: &creds.secret_key, token: Some(&creds.session_token),
            };
            let url = presigned(Method::Put, "bucket.s3.amazonaws.com", key, now, url_expires, &signer);
            let (h, p, q) = split(&url);
            let req = VerifyRequest {
                method: "PUT", host: &h, path: &p, query: &q, headers: &[], now_unix: now,
            };
            temp_credentials::verify_upload(&req, secret)
        };
        let own = format!("{prefix}/{tail}");
        let v = check(&own, &creds, server, now)
            .map_err(|e| TestCaseError::fail(format!("own key refused: {e}")))?;
        prop_assert_eq!(&v.credential.user_id, &user);
        prop_assert_eq!(&v.key, &own);

        // Another user's prefix, a sibling prefix, a traversal: refused.
        let outside = [
            format!("uploads/{other}/{tail}"),
            format!("{prefix}x/{tail}"),
            format!("uploads/{tail}"),
            prefix.clone(),
        ];
        for key in outside {
            if key != own && !key.starts_with(&format!("{prefix}/")) {
                prop_assert!(check(&key, &creds, server, now).is_err(), "{}", key);
            }
        }
        // Past the credential's expiry: refused, whatever the URL says.
        let late = check(&own, &creds, server, NOW + lifetime);
        prop_assert_eq!(late.err(), Some(S3Error::ExpiredToken));
        // Another server secret: refused.
        prop_assert!(check(&own, &creds, b"some other secret", now).is_err());
        // A tampered session token (e.g. a later expiry or another prefix):
        // its MAC no longer matches, refused.
        let (i, b) = token_edit;
        let mut t = creds.session_token.clone().into_bytes();
        let k = i.index(t.len());
        if t[k] != b {
            t[k] = b;
            let tampered = temp_credentials::TempCredentials {
                session_token: String::from_utf8(t).unwrap(),
                ..creds.clone()
            };
            prop_assert!(check(&own, &tampered, server, now).is_err());
        }
    }
}

// ------------------------------------------------------------------ tokens

const JWT_SECRET: &[u8] = b"fuzz jwt secret, long enough";

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn hs256(header: &Value, payload: &Value, secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let signing_input = format!("{}.{}", b64(header), b64(payload));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn client_uuid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn token_verifier_never_panics_and_refuses_garbage(
        token in prop_oneof![
            nasty_string(),
            (nasty_string(), nasty_string(), nasty_string()).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
            (json_value(), json_value(), "[A-Za-z0-9_-]{0,60}")
                .prop_map(|(h, p, s)| format!("{}.{}.{s}", b64(&h), b64(&p))),
        ],
        now in any::<i64>(),
    ) {
        prop_assert_eq!(jwt::verify(&token, JWT_SECRET, now), Err(ApiError::Unauthorized));
        prop_assert!(jwt::bearer_token(Some(&token)).is_err() || token.contains(' '));
    }

    /// Only an HS256 token signed with our secret, unexpired, with a client
    /// UUID `sub`, is accepted; everything that differs in one respect is not.
    #[test]
    fn tokens_verify_only_when_genuine(
        sub in client_uuid(),
        lifetime in 1i64..10_000_000,
        email in prop::option::of("[a-z]{1,10}@[a-z]{1,10}\\.[a-z]{2,3}"),
        extra in prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..3),
        alg in prop::sample::select(vec!["none", "None", "HS384", "HS512", "RS256", "hs256", "HS256 ", ""]),
        mutation in (any::<prop::sample::Index>(), any::<char>()),
        wrong_secret in prop::collection::vec(any::<u8>(), 1..40),
    ) {
        let now = NOW;
        let mut payload = json!({"sub": sub, "exp": now + lifetime, "iat": now});
        if let Some(e) = &email {
            payload["email"] = json!(e);
        }
        for (k, v) in &extra {
            if !["sub", "exp", "iat", "nbf", "email", "jti"].contains(&k.as_str()) {
                payload[k] = v.clone();
            }
        }
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let good = hs256(&header, &payload, JWT_SECRET);
        let claims = jwt::verify(&good, JWT_SECRET, now)
            .map_err(|e| TestCaseError::fail(format!("genuine token refused: {e}")))?;
        prop_assert_eq!(&claims.sub, &sub);
        // Our own signer round-trips too.
        let ours = Claims {
            sub: sub.clone(), exp: now + lifetime, iat: Some(now), nbf: None, email: email.clone(), jti: None,
        };
        let signed = jwt::sign(&ours, JWT_SECRET).unwrap();
        prop_assert!(jwt::verify(&signed, JWT_SECRET, now).is_ok());

        let refused = |t: &str, at: i64| jwt::verify(t, JWT_SECRET, at) == Err(ApiError::Unauthorized);
        // Expired (at and after exp).
        prop_assert!(refused(&good, now + lifetime));
        prop_assert!(refused(&good, now + lifetime + 1));
        // Another key.
        if wrong_secret.as_slice() != JWT_SECRET {
            prop_assert!(refused(&hs256(&header, &payload, &wrong_secret), now));
        }
        // Another algorithm, with a valid HMAC or with none.
        let other_alg = json!({"alg": alg, "typ": "JWT"});
        prop_assert!(refused(&hs256(&other_alg, &payload, JWT_SECRET), now));
        let unsigned = format!("{}.{}.", b64(&other_alg), b64(&payload));
        prop_assert!(refused(&unsigned, now));
        // A sub that is not a client UUID (here: UUIDv7 shape, or an email).
        let mut bad_sub = payload.clone();
        bad_sub["sub"] = json!(format!("{}7{}", &sub[..14], &sub[15..]));
        prop_assert!(refused(&hs256(&header, &bad_sub, JWT_SECRET), now));
        bad_sub["sub"] = json!("someone@example.com");
        prop_assert!(refused(&hs256(&header, &bad_sub, JWT_SECRET), now));
        // Not yet valid (nbf / iat beyond the leeway).
        let mut early = payload.clone();
        early["nbf"] = json!(now + 3600);
        prop_assert!(refused(&hs256(&header, &early, JWT_SECRET), now));
        // A claims swap under the old signature (privilege escalation attempt).
        let mut swapped = payload.clone();
        swapped["sub"] = json!("00000000-0000-4000-8000-000000000000");
        swapped["exp"] = json!(now + lifetime + 1);
        let parts: Vec<&str> = good.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], b64(&swapped), parts[2]);
        prop_assert!(refused(&spliced, now));
        // Any single-character change.
        let (index, c) = mutation;
        let mut chars: Vec<char> = good.chars().collect();
        let i = index.index(chars.len());
        if chars[i] != c {
            chars[i] = c;
            let mutated: String = chars.into_iter().collect();
            prop_assert!(refused(&mutated, now), "mutated token accepted: {}", mutated);
        }
        // Truncated or extended.
        prop_assert!(refused(&good[..good.len() - 1], now));
        let (longer, four_parts) = (format!("{good}A"), format!("{good}.x"));
        prop_assert!(refused(&longer, now));
        prop_assert!(refused(&four_parts, now));
    }
}

// ------------------------------------------------------------------ validators

proptest! {
    #![proptest_config(config())]

    #[test]
    fn validators_never_panic_and_agree_with_their_definition(s in nasty_string(), hex in "([0-9a-f]{2}){0,500}") {
        let _ = is_client_uuid(&s);
        let _ = is_encrypted_name(&s);
        let name = format!("e.{hex}");
        prop_assert_eq!(is_encrypted_name(&name), name.len() >= 38 && name.len() <= MAX_ENCRYPTED_NAME_LEN);
        // Upper-case hex is not the client's spelling.
        let upper = format!("e.{}", hex.to_uppercase());
        prop_assert!(!is_encrypted_name(&upper) || !hex.bytes().any(|b| b.is_ascii_alphabetic()));
        if is_valid_object_key(&s) {
            prop_assert!(s.len() <= MAX_KEY_BYTES);
            prop_assert!(!s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == ".."));
            prop_assert!(!s.chars().any(char::is_control));
        }
    }

    /// `is_key_under_prefix` never lets a key escape its prefix.
    #[test]
    fn keys_under_a_prefix_stay_under_it(
        prefix in "uploads/[0-9a-f-]{1,36}",
        rest in nasty_string(),
    ) {
        for key in [format!("{prefix}/{rest}"), format!("{prefix}{rest}"), rest.clone()] {
            if is_key_under_prefix(&key, &prefix) {
                let below = format!("{prefix}/");
                prop_assert!(key.starts_with(&below));
                prop_assert!(key.len() > prefix.len() + 1);
                prop_assert!(is_valid_object_key(&key));
            }
        }
    }

    /// The conflict message always matches the client's regex, gives the
    /// numbers back, and compares as strings the way it compares as numbers.
    #[test]
    fn conflict_messages_compare_correctly_as_strings(server in 0i64..i64::MAX, client in 0i64..i64::MAX) {
        let msg = conflict_message(server, client);
        let (head, tail) = msg.split_once(", txid_to_validate = ").unwrap();
        let digits = head.chars().rev().take_while(char::is_ascii_digit).count();
        let s: String = head[head.len() - digits..].to_string();
        let c: String = tail.chars().take_while(char::is_ascii_digit).collect();
        prop_assert_eq!(tail.len(), c.len());
        prop_assert_eq!(s.parse::<i64>().unwrap(), server);
        prop_assert_eq!(c.parse::<i64>().unwrap(), client);
        prop_assert_eq!(s.cmp(&c), server.cmp(&client));
    }
}
