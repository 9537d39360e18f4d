//! Logseq accounts as the server sees them: Logseq's Cognito user pool (its
//! issuer, keys and app clients) and the owner's allow-list of accounts
//! (`ALLOWED_LOGSEQ_ACCOUNTS`). Pure; the token checks are in `auth/cognito.rs`.

use crate::protocol::ids::is_client_uuid;

/// Issuer of Logseq's production user pool `us-east-1_dtagLnju8` (LS config.cljs:36-49).
pub const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_dtagLnju8";
/// The pool's signing keys (standard Cognito location, PROTOCOL.md §3.5).
pub const JWKS_URL: &str =
    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_dtagLnju8/.well-known/jwks.json";
/// `aud` of the app's ID tokens: the Amplify/refresh client and the hosted-UI
/// client of `LOGIN-URL` (PROTOCOL.md §3.5).
pub const CLIENT_IDS: &[&str] = &["69cs1lgme7p8kbgld8n5kseii6", "3c7np6bjtb4r1k1bi9i049ops5"];

/// Normalizes an allow-list entry: a lowercased email or Cognito `sub`.
pub fn normalize_account(entry: &str) -> Option<String> {
    let e = entry.trim().to_ascii_lowercase();
    let email = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'))
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',');
    (email || is_client_uuid(&e)).then_some(e)
}

/// The allow-list of the `ALLOWED_LOGSEQ_ACCOUNTS` var: entries separated by
/// commas or whitespace. Returns the entries and the ones that are invalid.
pub fn parse_allow_list(value: &str) -> (Vec<String>, Vec<String>) {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for entry in value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        match normalize_account(entry) {
            Some(e) => ok.push(e),
            None => bad.push(entry.to_string()),
        }
    }
    (ok, bad)
}
