//! Test vectors captured from the real signers, kept as data.
//!
//! * `LIVE_*`: the exact call rsapi makes (RS `sync/src/sync.rs:402-408`),
//!   `s3_presign::put(&Credentials::new_temporary(id, secret, token),
//!   &Bucket::new(region, bucket), key, 3600)` from crate `s3-presign =0.0.2`,
//!   which signs with `Utc::now()` (S3P `src/lib.rs:207`); the time it used is
//!   the URL's `X-Amz-Date`.
//! * `FIXED_*`, `ODD_PUT`, `STS_PUT`: `s3_presign::presigned_url` (what `put`
//!   calls, S3P `src/lib.rs:209-219`) on the same URL `put` builds, at
//!   2026-01-01T00:00:00Z.
//! * `PORT_PUT`: `s3_presign::Presigner` with `.endpoint("http://127.0.0.1:8787")`
//!   (path style; not used by rsapi): shows the port in the signed host and
//!   that this path does not escape the key.
//! * `AWS_*`: `aws-sigv4` 1.6.4 (`sign`, query-param signature location,
//!   single percent-encoding, no path normalisation, `UNSIGNED-PAYLOAD`,
//!   service `s3`), applied with `apply_to_request_http1x`; the key of
//!   `AWS_ODD_GET` encoded by `aws_smithy_http::label::fmt_string(key,
//!   Greedy)` as the S3 SDK does (`SMITHY_KEY_ENCODING`).
//!
//! Credentials `ID1/SK1/TOK1` and `ID2/SK2/TOK2` are
//! `temp_credentials::mint(FIXTURE_SERVER_SECRET, FIXTURE_USER, prefix, exp)`
//! with the prefixes and expiries below.

/// The S3 documentation's "Example: presigned URL" (Authenticating
/// Requests: Using Query Parameters): GET examplebucket/test.txt,
/// 2013-05-24T00:00:00Z, 86400 s, `AKIAIOSFODNN7EXAMPLE`.
pub(super) const AWS_EXAMPLE_URL: &str = "https://examplebucket.s3.amazonaws.com/test.txt\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
    &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
pub(super) const AWS_EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub(super) const AWS_EXAMPLE_TIME: i64 = 1_369_353_600;

pub(super) const FIXTURE_SERVER_SECRET: &[u8] = b"fixture server secret, not a real one";
pub(super) const FIXTURE_USER: &str = "8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a";
pub(super) const PREFIX1: &str = "temp/us-east-1:8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a";
pub(super) const EXP1: i64 = 4_102_444_800; // 2100-01-01
pub(super) const ID1: &str = "LSQT780D982ED2D0F20A";
pub(super) const SK1: &str = "e55f9336b3ee0f4b9512c57aed742ab4964d4b25581d16ef2b998d4f9822042e";
pub(super) const PREFIX2: &str = "temp/us-east-2:8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a";
pub(super) const EXP2: i64 = 1_767_229_200; // 2026-01-01T01:00:00Z
pub(super) const ID2: &str = "LSQTA02720D88B1D1700";
pub(super) const SK2: &str = "5ebbf46a193616e0ac5d73c0472c43a64791ace70727e867c1f2c099c04eddf6";

/// 2026-01-01T00:00:00Z, the signing time of the fixed vectors.
pub(super) const FIXED_TIME: i64 = 1_767_225_600;

/// Secret of the `STS_PUT` access key `ASIAEXAMPLEEXAMPLE12` (token
/// `FwoGZXIvYXdzEJr//////////wEaDH+abc/def==`).
pub(super) const STS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// Credentials of the `AWS_*` vectors.
pub(super) const R2_ID: &str = "0123456789abcdef0123456789abcdef";
pub(super) const R2_SECRET: &str =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
pub(super) const SERVER_ID: &str = "LSQSERVERKEY";
pub(super) const SERVER_SECRET: &str = "server-secret";
pub(super) const ODD_KEY: &str = "5e4ed04f-1d37-4cef-8210-eea624f2aef5/f2199b3b-7924-4891-863e-800f83765ee0/e.4d34 ü!*'()~%2F:+=&?#[]@$,;";

pub(super) const LIVE_PUT_PROD: &str = "https://logseq-file-sync-bucket-prod.s3.amazonaws.com/temp/us-east-1%3A8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=LSQT780D982ED2D0F20A%2F20261126%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20261126T080816Z\
    &X-Amz-Expires=3600\
    &X-Amz-Security-Token=LSQ138613364326331652d356234662d346536612d396337642d306631653264336334623561Z74656d702f75732d656173742d313a38613364326331652d356234662d346536612d396337642d306631653264336334623561Z00000000f4865700Z4878f27fe7df3f590ed35838a326e4d7593d1effb980cc51a3059ed46136e3ed\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=a5fcbe76a5400ec43f0f97619e65714bb8fc40e21a9434a72d533a44a04f2565";

pub(super) const LIVE_PUT_DEV: &str = "https://logseq-file-sync-bucket.s3.amazonaws.com/temp/us-east-2%3A8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/zyxwvutsrqpo\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=LSQTA02720D88B1D1700%2F20261126%2Fus-east-2%2Fs3%2Faws4_request\
    &X-Amz-Date=20261126T080816Z\
    &X-Amz-Expires=3600\
    &X-Amz-Security-Token=LSQ138613364326331652d356234662d346536612d396337642d306631653264336334623561Z74656d702f75732d656173742d323a38613364326331652d356234662d346536612d396337642d306631653264336334623561Z000000006955c710Z37157d9bf494169f1addb183d0f5c41944fc35d7a3836a4ff710fda1ec246aad\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=144bdbed1d3e2dcf18d7072d5b8cfea05618cf7635c1c75d8a2d2a8e5df2bb7a";

pub(super) const FIXED_PUT_DEV: &str = "https://logseq-file-sync-bucket.s3.amazonaws.com/temp/us-east-2%3A8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/zyxwvutsrqpo\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=LSQTA02720D88B1D1700%2F20260101%2Fus-east-2%2Fs3%2Faws4_request\
    &X-Amz-Date=20260101T000000Z\
    &X-Amz-Expires=3600\
    &X-Amz-Security-Token=LSQ138613364326331652d356234662d346536612d396337642d306631653264336334623561Z74656d702f75732d656173742d323a38613364326331652d356234662d346536612d396337642d306631653264336334623561Z000000006955c710Z37157d9bf494169f1addb183d0f5c41944fc35d7a3836a4ff710fda1ec246aad\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=e5b9b32cfade8f629d652bb6f6b42e615b98827249bb5931435f1e07ac660c8c";

pub(super) const ODD_PUT: &str = "https://logseq-file-sync-bucket-prod.s3.amazonaws.com/temp/us-east-1%3A8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/a!*'()%7E%20b%2Bc%3Dd%26e\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=LSQT780D982ED2D0F20A%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20260101T000000Z\
    &X-Amz-Expires=3600\
    &X-Amz-Security-Token=LSQ138613364326331652d356234662d346536612d396337642d306631653264336334623561Z74656d702f75732d656173742d313a38613364326331652d356234662d346536612d396337642d306631653264336334623561Z00000000f4865700Z4878f27fe7df3f590ed35838a326e4d7593d1effb980cc51a3059ed46136e3ed\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=7fb2d07b16f60865a536ba9d026c34ee2ce02779f313949f5ebbfacd44c97f7c";

pub(super) const STS_PUT: &str = "https://logseq-file-sync-bucket-prod.s3.amazonaws.com/temp/us-east-1%3A8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=ASIAEXAMPLEEXAMPLE12%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20260101T000000Z\
    &X-Amz-Expires=3600\
    &X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDH%2Babc%2Fdef==\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=a99129abb6977e77aebfa62c829b729a4654ab3cf16a247e808982633b75450a";

pub(super) const PORT_PUT: &str = "http://127.0.0.1:8787/logseq-file-sync-bucket-prod/temp/us-east-1:8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=LSQT780D982ED2D0F20A%2F20261126%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20261126T080816Z\
    &X-Amz-Expires=3600\
    &X-Amz-Security-Token=LSQ138613364326331652d356234662d346536612d396337642d306631653264336334623561Z74656d702f75732d656173742d313a38613364326331652d356234662d346536612d396337642d306631653264336334623561Z00000000f4865700Z4878f27fe7df3f590ed35838a326e4d7593d1effb980cc51a3059ed46136e3ed\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=e309f7fd6e0c12a6b58562be143a76fa940dcebd4b23964f4901e41bf14384ba";

pub(super) const AWS_R2_PUT: &str = "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com/logseq-sync/uploads/8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=0123456789abcdef0123456789abcdef%2F20260101%2Fauto%2Fs3%2Faws4_request\
    &X-Amz-Date=20260101T000000Z\
    &X-Amz-Expires=900\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=5d547580e0ba9a7febfb6a4632468b5bc75b948d4b98063125147925666d13ce";

pub(super) const AWS_LOCAL_GET: &str = "http://127.0.0.1:8787/cdn-cgi/local/r2/s3/logseq-sync/uploads/8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=0123456789abcdef0123456789abcdef%2F20260101%2Fauto%2Fs3%2Faws4_request\
    &X-Amz-Date=20260101T000000Z\
    &X-Amz-Expires=604800\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=e74d31ce2c71215403023f7fd33f6a1b3fe75dcd42454ff44ad6aad97d120a75";

pub(super) const SMITHY_KEY_ENCODING: &str = "5e4ed04f-1d37-4cef-8210-eea624f2aef5/f2199b3b-7924-4891-863e-800f83765ee0/e.4d34%20%C3%BC%21%2A%27%28%29~%252F%3A%2B%3D%26%3F%23%5B%5D%40%24%2C%3B";

pub(super) const AWS_ODD_GET: &str = "https://sync.example.com/5e4ed04f-1d37-4cef-8210-eea624f2aef5/f2199b3b-7924-4891-863e-800f83765ee0/e.4d34%20%C3%BC%21%2A%27%28%29~%252F%3A%2B%3D%26%3F%23%5B%5D%40%24%2C%3B\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=LSQSERVERKEY%2F20260101%2Fauto%2Fs3%2Faws4_request\
    &X-Amz-Date=20260101T000000Z\
    &X-Amz-Expires=3600\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=1103052fd6c3049dc7bcfdf1733ab0f4a81504c06139df2109369a13ae34d68c";

pub(super) const AWS_TOKEN_HEAD: &str =
    "https://sync.example.com:8443/uploads/8a3d2c1e-5b4f-4e6a-9c7d-0f1e2d3c4b5a/abcdefghijkl\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=LSQSERVERKEY%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20260101T000000Z\
    &X-Amz-Expires=3600\
    &X-Amz-SignedHeaders=host\
    &X-Amz-Signature=a737403712d6f6a0b808dd94b9b3dcad30375d7e776d2dabfad748e25fd4ae96\
    &X-Amz-Security-Token=tok%2Fen%2B%3D%3D";
