//! Byte-level helpers shared by presign, verify and the temporary credentials:
//! SigV4 percent-encoding, percent-decoding, hex, constant-time comparison and
//! the `yyyymmddThhmmssZ` timestamps, over the `percent-encoding`, `hex`,
//! `subtle` and `time` crates. No panics.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use subtle::ConstantTimeEq;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Latest instant SigV4 can express: `99991231T235959Z`.
const MAX_UNIX: i64 = 253_402_300_799;

/// Every byte but RFC 3986's unreserved ones, the only bytes SigV4 leaves
/// unescaped in a query component.
const QUERY_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// As above, and `/` stays in a path.
const PATH_ESCAPED: &AsciiSet = &QUERY_ESCAPED.remove(b'/');

/// SigV4 `UriEncode` for a query name or value: every byte but the
/// unreserved ones as `%XX` (upper-case hex), so `/`, `:`, `+`, `=`, space
/// are all escaped.
pub(crate) fn encode_query_component(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, QUERY_ESCAPED).to_string()
}

/// S3's canonical URI encoding of an object path: like
/// [`encode_query_component`] but `/` stays. S3 encodes once (no double
/// encoding) and never normalises `.`/`..` segments.
pub(crate) fn encode_path(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, PATH_ESCAPED).to_string()
}

/// Percent-decodes `%XX` sequences (either hex case). `+` is kept as `+`
/// (RFC 3986; SigV4 signers write a space as `%20`). A `%` not followed by
/// two hex digits is an error (the crate would pass it through: checked first).
pub(crate) fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let well_formed = b
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| {
            b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        });
    well_formed.then(|| percent_encoding::percent_decode(b).collect())
}

/// Lower-case hex.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes lower-case hex only (the one spelling we ever produce), so every
/// value has exactly one accepted encoding.
pub(crate) fn hex_decode_lower(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    hex::decode(s).ok()
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// The UTC date and time of unix seconds from 1970 to year 9999.
fn utc(unix: i64) -> Option<OffsetDateTime> {
    if !(0..=MAX_UNIX).contains(&unix) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(unix).ok()
}

/// Unix seconds as `yyyy<d>mm<d>ddThh<t>mm<t>ssZ`; `None` before 1970 or
/// after year 9999.
fn format_utc(unix: i64, d: &str, t: &str) -> Option<String> {
    let u = utc(unix)?;
    Some(format!(
        "{:04}{d}{:02}{d}{:02}T{:02}{t}{:02}{t}{:02}Z",
        u.year(),
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    ))
}

/// Formats unix seconds as SigV4's `yyyymmddThhmmssZ`; `None` before 1970
/// or after year 9999.
pub(crate) fn format_amz_date(unix: i64) -> Option<String> {
    format_utc(unix, "", "")
}

/// Formats unix seconds as RFC 3339 UTC, `yyyy-mm-ddThh:mm:ssZ`; `None`
/// before 1970 or after year 9999.
pub fn format_rfc3339(unix: i64) -> Option<String> {
    format_utc(unix, "-", ":")
}

fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses SigV4's `yyyymmddThhmmssZ` (exactly 16 characters, a real
/// calendar date, no leap second) into unix seconds.
pub(crate) fn parse_amz_date(s: &str) -> Option<i64> {
    if s.len() != 16 || !s.is_ascii() {
        return None;
    }
    let (date, rest) = s.split_at(8);
    let (t, rest) = rest.split_at(1);
    let (time, z) = rest.split_at(6);
    if t != "T" || z != "Z" {
        return None;
    }
    let month = Month::try_from(parse_digits::<u8>(date.get(4..6)?)?).ok()?;
    let date = Date::from_calendar_date(
        parse_digits(date.get(0..4)?)?,
        month,
        parse_digits(date.get(6..8)?)?,
    )
    .ok()?;
    let time = Time::from_hms(
        parse_digits(time.get(0..2)?)?,
        parse_digits(time.get(2..4)?)?,
        parse_digits(time.get(4..6)?)?,
    )
    .ok()?;
    let unix = PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp();
    (0..=MAX_UNIX).contains(&unix).then_some(unix)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_escapes_everything_but_unreserved() {
        assert_eq!(
            encode_query_component(b"AKID/20130524/us-east-1/s3/aws4_request"),
            "AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        );
        assert_eq!(
            encode_query_component(b"a+b=c d~e:f"),
            "a%2Bb%3Dc%20d~e%3Af"
        );
        assert_eq!(encode_query_component("é".as_bytes()), "%C3%A9");
    }

    #[test]
    fn path_encoding_keeps_slashes_and_escapes_the_rest() {
        assert_eq!(
            encode_path(b"/temp/us-east-1:ab/x y!*'()"),
            "/temp/us-east-1%3Aab/x%20y%21%2A%27%28%29"
        );
        assert_eq!(encode_path(b"/a/%2F/~"), "/a/%252F/~");
    }

    #[test]
    fn percent_decode_round_trips_and_rejects_broken_escapes() {
        assert_eq!(percent_decode("a%3Ab%3ac+d").unwrap(), b"a:b:c+d");
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é".as_bytes());
        assert!(percent_decode("%").is_none());
        assert!(percent_decode("%4").is_none());
        assert!(percent_decode("%zz").is_none());
        for b in 0..=255u8 {
            let encoded = encode_query_component(&[b]);
            assert_eq!(percent_decode(&encoded).unwrap(), vec![b]);
        }
    }

    #[test]
    fn hex_round_trips_and_accepts_only_lower_case() {
        let bytes: Vec<u8> = (0..=255).collect();
        let hex = hex_lower(&bytes);
        assert_eq!(hex_decode_lower(&hex).unwrap(), bytes);
        assert!(hex_decode_lower("0A").is_none());
        assert!(hex_decode_lower("abc").is_none());
        assert!(hex_decode_lower("zz").is_none());
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn amz_dates_format_and_parse() {
        assert_eq!(format_amz_date(0).unwrap(), "19700101T000000Z");
        // The AWS documentation's example instant.
        assert_eq!(format_amz_date(1_369_353_600).unwrap(), "20130524T000000Z");
        assert_eq!(format_amz_date(951_782_400).unwrap(), "20000229T000000Z");
        assert_eq!(format_amz_date(MAX_UNIX).unwrap(), "99991231T235959Z");
        assert!(format_amz_date(-1).is_none());
        assert!(format_amz_date(MAX_UNIX + 1).is_none());
        assert_eq!(parse_amz_date("20130524T000000Z"), Some(1_369_353_600));
        assert_eq!(
            format_rfc3339(1_369_353_601).unwrap(),
            "2013-05-24T00:00:01Z"
        );
        assert!(format_rfc3339(-1).is_none());
        for bad in [
            "20130524T000000",
            "20130524 000000Z",
            "20130230T000000Z",
            "20230229T000000Z",
            "20131324T000000Z",
            "20130524T240000Z",
            "20130524T000060Z",
            "2013052AT000000Z",
            "+0130524T000000Z",
            "20130524T0000000Z",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
        // Every 7919 seconds over ~12 years: format and parse are inverses.
        let mut t = 1_500_000_000;
        while t < 1_900_000_000 {
            assert_eq!(parse_amz_date(&format_amz_date(t).unwrap()), Some(t));
            t += 7919 * 97;
        }
    }
}
