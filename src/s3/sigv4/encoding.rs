//! Byte-level helpers shared by presign, verify and the temporary credentials:
//! SigV4 percent-encoding, percent-decoding, hex, constant-time comparison and
//! the `yyyymmddThhmmssZ` timestamps. No allocation-free tricks, no panics.

use std::fmt::Write as _;

/// Latest instant SigV4 can express: `99991231T235959Z`.
const MAX_UNIX: i64 = 253_402_300_799;

/// RFC 3986 unreserved characters: the only bytes SigV4 leaves unescaped
/// (plus `/` in a path).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn push_escaped(out: &mut String, b: u8) {
    // Writing to a String cannot fail.
    let _ = write!(out, "%{b:02X}");
}

/// SigV4 `UriEncode` for a query name or value: every byte but the
/// unreserved ones as `%XX` (upper-case hex), so `/`, `:`, `+`, `=`, space
/// are all escaped.
pub(crate) fn encode_query_component(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// S3's canonical URI encoding of an object path: like
/// [`encode_query_component`] but `/` stays. S3 encodes once (no double
/// encoding) and never normalises `.`/`..` segments.
pub(crate) fn encode_path(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b == b'/' || is_unreserved(b) {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `%XX` sequences (either hex case). `+` is kept as `+`
/// (RFC 3986; SigV4 signers write a space as `%20`). A `%` not followed by
/// two hex digits is an error.
pub(crate) fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = hex_value(bytes.next()?)?;
            let lo = hex_value(bytes.next()?)?;
            out.push((hi << 4) | lo);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// Lower-case hex.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Decodes lower-case hex only (the one spelling we ever produce), so every
/// value has exactly one accepted encoding.
pub(crate) fn hex_decode_lower(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] if !hi.is_ascii_uppercase() && !lo.is_ascii_uppercase() => {
                Some((hex_value(*hi)? << 4) | hex_value(*lo)?)
            }
            _ => None,
        })
        .collect()
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`]: `(year, month, day)`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Formats unix seconds as SigV4's `yyyymmddThhmmssZ`; `None` before 1970
/// or after year 9999.
pub(crate) fn format_amz_date(unix: i64) -> Option<String> {
    if !(0..=MAX_UNIX).contains(&unix) {
        return None;
    }
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    Some(format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

/// Formats unix seconds as RFC 3339 UTC, `yyyy-mm-ddThh:mm:ssZ`; `None`
/// before 1970 or after year 9999.
pub fn format_rfc3339(unix: i64) -> Option<String> {
    let amz = format_amz_date(unix)?;
    let part = |range: std::ops::Range<usize>| amz.get(range);
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        part(0..4)?,
        part(4..6)?,
        part(6..8)?,
        part(9..11)?,
        part(11..13)?,
        part(13..15)?
    ))
}

fn parse_digits(s: &str) -> Option<i64> {
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
    let year = parse_digits(date.get(0..4)?)?;
    let month = parse_digits(date.get(4..6)?)?;
    let day = parse_digits(date.get(6..8)?)?;
    let hour = parse_digits(time.get(0..2)?)?;
    let minute = parse_digits(time.get(2..4)?)?;
    let second = parse_digits(time.get(4..6)?)?;
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let unix = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
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
