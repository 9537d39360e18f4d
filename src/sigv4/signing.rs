//! The SigV4 core both directions share: HMAC-SHA256, the derived signing
//! key, the string to sign and the canonical request.
//!
//! AWS reference: "Create a signed AWS API request" / "Authenticating
//! Requests: Using Query Parameters (AWS Signature Version 4)".

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::encoding::{encode_query_component, hex_lower};

type HmacSha256 = Hmac<Sha256>;

/// `X-Amz-Algorithm`.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Payload hash of every presigned URL (S3 does not hash the body of a
/// query-signed request).
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The only service we sign for.
pub(crate) const SERVICE: &str = "s3";
/// Last element of the credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";

/// SHA-256's block size, the length HMAC pads its key to.
const BLOCK: usize = 64;

/// A keyed HMAC-SHA256 instance. HMAC zero-pads keys up to the block size
/// and hashes longer ones (RFC 2104 §2), so building the padded block here
/// gives the exact HMAC for every key length without the fallible
/// `new_from_slice`.
pub(crate) fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = Sha256::digest(key);
        block.iter_mut().zip(digest).for_each(|(d, s)| *d = s);
    } else {
        block.iter_mut().zip(key).for_each(|(d, s)| *d = *s);
    }
    <HmacSha256 as KeyInit>::new(&block.into())
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = hmac_sha256(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex_lower(&Sha256::digest(data))
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), "s3"),
/// "aws4_request")`. It depends on the day only, so a caller signing many
/// URLs may keep one per (secret, day, region); deriving it costs four
/// HMACs, a few microseconds, which is why nothing here caches it.
pub(crate) struct SigningKey([u8; 32]);

impl SigningKey {
    /// `date` is the `yyyymmdd` of the credential scope.
    pub(crate) fn derive(secret_access_key: &str, date: &str, region: &str) -> Self {
        let k_date = hmac_parts(
            &[b"AWS4".as_slice(), secret_access_key.as_bytes()].concat(),
            &[date.as_bytes()],
        );
        let k_region = hmac_parts(&k_date, &[region.as_bytes()]);
        let k_service = hmac_parts(&k_region, &[SERVICE.as_bytes()]);
        Self(hmac_parts(&k_service, &[TERMINATOR.as_bytes()]))
    }

    /// The signature, lower-case hex.
    pub(crate) fn sign(&self, string_to_sign: &str) -> String {
        hex_lower(&hmac_parts(&self.0, &[string_to_sign.as_bytes()]))
    }

    /// Checks `signature` (raw bytes) in constant time.
    pub(crate) fn verify(&self, string_to_sign: &str, signature: &[u8]) -> bool {
        let mut mac = hmac_sha256(&self.0);
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(signature).is_ok()
    }
}

/// `<yyyymmdd>/<region>/s3/aws4_request`.
pub(crate) fn scope(date: &str, region: &str) -> String {
    format!("{date}/{region}/{SERVICE}/{TERMINATOR}")
}

/// The string to sign for `amz_date` (`yyyymmddThhmmssZ`).
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The canonical request. `canonical_headers` is one `name:value\n` line per
/// signed header, in the order of `signed_headers`.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
) -> String {
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{UNSIGNED_PAYLOAD}"
    )
}

/// The standard canonical query string: every name and value encoded with
/// SigV4's `UriEncode`, pairs sorted by encoded name then encoded value,
/// joined with `&`.
pub(crate) fn canonical_query<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(name, value)| (encode_query_component(name), encode_query_component(value)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn padded_key_hmac_equals_hmac_for_every_key_length() {
        for len in [0usize, 1, 20, 32, 63, 64, 65, 100, 131, 200] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut reference = <HmacSha256 as KeyInit>::new_from_slice(&key).unwrap();
            reference.update(b"message");
            let expected: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(hmac_parts(&key, &[b"mes", b"sage"]), expected, "len {len}");
        }
    }

    #[test]
    fn rfc4231_case_6_long_key() {
        // RFC 4231 §4.7: 131-byte key 0xaa, "Test Using Larger Than Block-Size Key - Hash Key First".
        let key = [0xaau8; 131];
        let mac = hmac_parts(
            &key,
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        assert_eq!(
            hex_lower(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn aws_documentation_signing_key() {
        // Derivation of the S3 "Example: presigned URL" key, checked end to
        // end (signature aeeed9bb…) in presign.rs; here the chain itself
        // against an independent HMAC chain.
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let mut k =
            <HmacSha256 as KeyInit>::new_from_slice(format!("AWS4{secret}").as_bytes()).unwrap();
        k.update(b"20130524");
        let mut chain: Vec<u8> = k.finalize().into_bytes().to_vec();
        for part in [b"us-east-1".as_slice(), b"s3", b"aws4_request"] {
            let mut m = <HmacSha256 as KeyInit>::new_from_slice(&chain).unwrap();
            m.update(part);
            chain = m.finalize().into_bytes().to_vec();
        }
        assert_eq!(
            SigningKey::derive(secret, "20130524", "us-east-1")
                .0
                .to_vec(),
            chain
        );
    }

    #[test]
    fn verify_accepts_only_the_exact_signature() {
        let key = SigningKey::derive("secret", "20240101", "auto");
        let sig = key.sign("string");
        let raw = crate::sigv4::encoding::hex_decode_lower(&sig).unwrap();
        assert!(key.verify("string", &raw));
        assert!(!key.verify("strinG", &raw));
        let mut flipped = raw.clone();
        flipped[31] ^= 1;
        assert!(!key.verify("string", &flipped));
        assert!(!key.verify("string", &raw[..31]));
    }

    #[test]
    fn canonical_query_sorts_on_encoded_pairs() {
        let pairs: [(&[u8], &[u8]); 4] =
            [(b"b", b"2"), (b"a", b"x/y"), (b"a", b"x y"), (b"A", b"")];
        assert_eq!(canonical_query(pairs), "A=&a=x%20y&a=x%2Fy&b=2");
    }
}
