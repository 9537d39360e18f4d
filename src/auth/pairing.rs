//! Device pairing: a new browser gets its own revocable refresh token without
//! a terminal (docs/API.md "Device pairing", docs/SECURITY.md "Device
//! pairing"). The browser starts a pairing and shows a short code; a signed-in
//! device (`/pair/approve`) or the admin (`/admin/pair`) approves the code for
//! an account; the browser's next poll, made with a long secret that never
//! leaves it, takes a new refresh token once. The code is only an approval
//! handle: whoever guesses it cannot redeem it, and guessing is rate-limited.
//!
//! The pure part (codes, secrets, labels, windows, states) is at the top and
//! host-tested; the handlers below it read bodies and call `db::pairing`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response, Result};

use crate::auth::tokens::{parse_refresh_token, secrets_equal, sha256_hex};
use crate::auth::{access, jwt, refresh};
use crate::ctx::Ctx;
use crate::db::{pairing as pq, tokens as tq, users as uq};
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::protocol::ids::random_bytes;

/// Crockford's base32 alphabet (no I, L, O, U): what a person can read aloud.
pub const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a code: 8 × 5 bits = 40 bits.
pub const CODE_LEN: usize = 8;
/// How long a pairing can be approved and polled.
pub const PAIRING_TTL_MS: i64 = 10 * 60 * 1000;
/// How often the browser is asked to poll.
pub const POLL_INTERVAL_MS: i64 = 2000;
/// Longest label kept, in characters.
pub const LABEL_MAX_CHARS: usize = 80;
/// The label of a browser that gave none.
pub const DEFAULT_LABEL: &str = "web browser";
/// The token's label in `admin tokens` is the browser's label after this:
/// the kind of the token ("web"), beside the CLI's `mint` labels.
pub const TOKEN_LABEL_PREFIX: &str = "web: ";
/// Largest request body of the pairing routes.
const MAX_BODY_BYTES: usize = 4096;

/// A fixed-window rate limit: at most `max` per `window_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i64,
    pub window_ms: i64,
}

const TEN_MINUTES_MS: i64 = 10 * 60 * 1000;
/// Pairings started, across everyone (bounds the live codes a guess can hit).
pub const STARTS: Limit = Limit {
    max: 20,
    window_ms: TEN_MINUTES_MS,
};
/// Wrong codes sent to `/pair/approve` by one user.
pub const WRONG_PER_USER: Limit = Limit {
    max: 5,
    window_ms: TEN_MINUTES_MS,
};
/// Wrong codes sent to `/pair/approve` by all users together: the bound on
/// any guesser, however many accounts it holds.
pub const WRONG_GLOBAL: Limit = Limit {
    max: 30,
    window_ms: TEN_MINUTES_MS,
};

/// The shown code from 40 random bits: `XXXX-XXXX`.
pub fn code_from_bytes(b: [u8; 5]) -> String {
    let bits = b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
    let chars: String = (0..CODE_LEN)
        .map(|i| {
            let index = (bits >> (5 * (CODE_LEN - 1 - i))) & 31;
            char::from(CODE_ALPHABET[index as usize])
        })
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// A code as typed → its canonical 8 characters, the way Crockford's base32
/// reads them: any case, dashes and spaces anywhere, O as 0, I and L as 1.
/// `None` for anything that cannot be a code.
pub fn normalize_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_LEN);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CODE_ALPHABET.contains(&(c as u8)) || out.len() == CODE_LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_LEN).then_some(out)
}

/// What is stored of a code: SHA-256 of its canonical form.
pub fn code_hash(normalized: &str) -> String {
    sha256_hex(normalized.as_bytes())
}

/// The poll secret from 256 random bits: 43 base64url characters.
pub fn poll_from_bytes(b: [u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// What is stored of a poll secret (and what it is looked up by).
pub fn poll_hash(poll: &str) -> String {
    sha256_hex(poll.trim().as_bytes())
}

/// The browser's label, made safe to show in a terminal and a page:
/// control and bidirectional-override characters dropped, runs of spaces
/// made one, trimmed, at most [`LABEL_MAX_CHARS`]; empty → [`DEFAULT_LABEL`].
pub fn clean_label(label: Option<&str>) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in label.unwrap_or_default().chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() || bidi {
            continue;
        }
        if count + usize::from(space) + 1 > LABEL_MAX_CHARS {
            break;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    if out.is_empty() {
        DEFAULT_LABEL.to_string()
    } else {
        out
    }
}

/// The first ms of the window `now` falls in.
pub fn window_start(limit: Limit, now: i64) -> i64 {
    now - now.rem_euclid(limit.window_ms)
}

/// Whole seconds until the window of `now` ends (at least 1).
pub fn retry_after_secs(limit: Limit, now: i64) -> i64 {
    let left = window_start(limit, now) + limit.window_ms - now;
    ((left + 999) / 1000).max(1)
}

/// Whether one more fits in a window that already counted `count`: the
/// decision `db::pairing::reserve` makes in its statement (`count < limit`);
/// the tests simulate the limits with it.
#[cfg(test)]
pub fn admits(limit: Limit, count: i64) -> bool {
    count < limit.max
}

/// What a poll answers for a stored pairing.
#[derive(Debug, PartialEq, Eq)]
pub enum PollState {
    Pending,
    Approved,
    Gone,
}

/// A stored pairing's state at `now` (approval and use recorded in the row).
pub fn poll_state(approved: bool, consumed: bool, expires_at: i64, now: i64) -> PollState {
    if consumed || now >= expires_at {
        PollState::Gone
    } else if approved {
        PollState::Approved
    } else {
        PollState::Pending
    }
}

fn too_many_wrong(limit: Limit, now: i64) -> ApiError {
    ApiError::TooManyRequests(format!(
        "too many wrong pairing codes, try again in {} s",
        retry_after_secs(limit, now)
    ))
}

fn no_pending() -> ApiError {
    ApiError::NotFound("no pending pairing with that code".into())
}

fn not_found() -> ApiError {
    ApiError::NotFound("pairing not found or expired".into())
}

fn random_error(e: getrandom::Error) -> ApiError {
    ApiError::Internal(format!("random: {e}"))
}

// ---- the routes

#[derive(Deserialize, Default)]
struct StartRequest {
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
struct PollRequest {
    poll: String,
}

#[derive(Deserialize)]
struct ApproveRequest {
    code: String,
}

#[derive(Deserialize)]
struct AdminPairRequest {
    code: String,
    email: String,
}

/// Serves `POST /pair/start`, `/pair/poll` and `/pair/approve`.
pub async fn handle(ctx: &Ctx, mut req: Request, path: &str) -> Result<Response> {
    let header = req.headers().get("authorization").ok().flatten();
    let result = async {
        let body = http::read_body(&mut req, MAX_BODY_BYTES).await?;
        match path {
            "/pair/start" => start(ctx, &body).await,
            "/pair/poll" => poll(ctx, crate::http::parse(&body)?).await,
            "/pair/approve" => {
                let token = jwt::bearer_token(header.as_deref())?;
                let user = access::authenticate(ctx, token).await?;
                // The check created the caller's user row if it had none.
                let r: ApproveRequest = crate::http::parse(&body)?;
                approve(ctx, &user.id, &r.code, true).await
            }
            _ => Err(ApiError::NotFound("not found".into())),
        }
    }
    .await;
    match result {
        Ok(v) => http::json(200, v.to_string()),
        Err(e) => http::error(&e),
    }
}

/// A new pending pairing: the code to show and the secret to poll with.
async fn start(ctx: &Ctx, body: &[u8]) -> ApiResult<serde_json::Value> {
    let r: StartRequest = if body.iter().all(u8::is_ascii_whitespace) {
        StartRequest::default()
    } else {
        crate::http::parse(body)?
    };
    let now = ctx.now_ms;
    if !pq::reserve(&ctx.db, "start", window_start(STARTS, now), STARTS.max).await? {
        return Err(ApiError::TooManyRequests(format!(
            "too many pairing requests, try again in {} s",
            retry_after_secs(STARTS, now)
        )));
    }
    let label = clean_label(r.label.as_deref());
    let poll = poll_from_bytes(random_bytes::<32>().map_err(random_error)?);
    let expires_at = now + PAIRING_TTL_MS;
    // The oldest window still counting is the global wrong-code one's.
    let windows_before = window_start(WRONG_GLOBAL, now);
    // A new code equal to a live one (2^-40 per live code) is drawn again.
    for _ in 0..3 {
        let code = code_from_bytes(random_bytes::<5>().map_err(random_error)?);
        let hash = code_hash(&normalize_code(&code).unwrap_or_default());
        match pq::insert(
            &ctx.db,
            &poll_hash(&poll),
            &hash,
            &label,
            now,
            expires_at,
            windows_before,
        )
        .await
        {
            Ok(()) => {
                return Ok(json!({
                    "code": code,
                    "poll": poll,
                    "expires_at": expires_at,
                    "interval_ms": POLL_INTERVAL_MS,
                }))
            }
            Err(e) if crate::db::is_constraint_error(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::Internal(
        "pairing: no free code in 3 draws".into(),
    ))
}

/// Pending, or the tokens (once), or 404.
async fn poll(ctx: &Ctx, r: PollRequest) -> ApiResult<serde_json::Value> {
    let hash = poll_hash(&r.poll);
    let row = pq::find_by_poll(&ctx.db, &hash)
        .await?
        .ok_or_else(not_found)?;
    let state = poll_state(
        row.user_id.is_some(),
        row.consumed_at.is_some(),
        row.expires_at,
        ctx.now_ms,
    );
    match state {
        PollState::Gone => Err(not_found()),
        PollState::Pending => Ok(json!({ "status": "pending", "expires_at": row.expires_at })),
        PollState::Approved => {
            // Only one poll takes the row; a racing second one finds it used.
            let claimed = pq::claim(&ctx.db, &hash, ctx.now_ms)
                .await?
                .ok_or_else(not_found)?;
            let email = uq::find_user(&ctx.db, &claimed.user_id)
                .await?
                .and_then(|u| u.email);
            let minted = refresh::mint(
                ctx,
                &claimed.user_id,
                email.as_deref(),
                Some(&format!("{TOKEN_LABEL_PREFIX}{}", claimed.label)),
                ctx.config.web_refresh_token_ttl_days,
            )
            .await?;
            Ok(json!({
                "status": "approved",
                "email": email,
                "refresh_token": minted["refresh_token"],
                "id_token": minted["id_token"],
                "expires_in": minted["expires_in"],
            }))
        }
    }
}

/// Approves the pending pairing with this code for `user_id`. Users are held
/// to the wrong-code limits (`limited`); the admin is not. A slot is taken
/// before the code is tried, so concurrent guesses cannot pass the limit, and
/// given back when the code was right.
async fn approve(
    ctx: &Ctx,
    user_id: &str,
    code: &str,
    limited: bool,
) -> ApiResult<serde_json::Value> {
    let normalized = normalize_code(code).ok_or_else(no_pending)?;
    let now = ctx.now_ms;
    let user_scope = format!("wrong:{user_id}");
    let (user_window, global_window) = (
        window_start(WRONG_PER_USER, now),
        window_start(WRONG_GLOBAL, now),
    );
    if limited {
        let db = &ctx.db;
        if !pq::reserve(db, &user_scope, user_window, WRONG_PER_USER.max).await? {
            return Err(too_many_wrong(WRONG_PER_USER, now));
        }
        if !pq::reserve(db, "wrong", global_window, WRONG_GLOBAL.max).await? {
            pq::release(db, &user_scope, user_window).await?;
            return Err(too_many_wrong(WRONG_GLOBAL, now));
        }
    }
    match pq::approve(&ctx.db, &code_hash(&normalized), user_id, now).await? {
        Some(approved) => {
            if limited {
                pq::release(&ctx.db, &user_scope, user_window).await?;
                pq::release(&ctx.db, "wrong", global_window).await?;
            }
            Ok(json!({ "label": approved.label, "created_at": approved.created_at }))
        }
        None => Err(no_pending()),
    }
}

/// `POST /admin/pair {"code", "email"}`: approval for that account.
pub async fn admin_pair(ctx: &Ctx, body: &[u8]) -> ApiResult<serde_json::Value> {
    let r: AdminPairRequest = crate::http::parse(body)?;
    let email = uq::normalize_email(&r.email)?;
    let user = uq::find_user_by_email(&ctx.db, &email)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
    approve(ctx, &user.id, &r.code, false).await
}

/// `POST /oauth2/revoke` (RFC 7009), the browser's "sign out": revokes the
/// refresh token given as `token=` (form) or `{"token": ...}` (JSON), and so
/// every ID token refreshed from it. Always `200 {}`: an unknown token is
/// not an error, and the answer says nothing about which tokens exist.
pub async fn revoke(ctx: &Ctx, mut req: Request) -> Result<Response> {
    let result = async {
        let body = http::read_body(&mut req, MAX_BODY_BYTES).await?;
        let token = revoke_token_of(&body);
        let Some((id, secret)) = token.as_deref().and_then(parse_refresh_token) else {
            return Ok(());
        };
        let Some(row) = tq::find_token(&ctx.db, id).await? else {
            return Ok(());
        };
        if secrets_equal(
            sha256_hex(secret.as_bytes()).as_bytes(),
            row.secret_hash.as_bytes(),
        ) {
            tq::revoke_token(&ctx.db, id, ctx.now_ms).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => http::json(200, "{}".into()),
        Err(e) => http::error(&e),
    }
}

/// The `token` of a revocation request, JSON or form-encoded.
fn revoke_token_of(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Json {
        token: String,
    }
    if let Ok(j) = serde_json::from_slice::<Json>(body) {
        return Some(j.token);
    }
    worker::url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_all_40_bits() {
        assert_eq!(code_from_bytes([0; 5]), "0000-0000");
        assert_eq!(code_from_bytes([0xff; 5]), "ZZZZ-ZZZZ");
        // 00001 00010 00011 00100 00101 00110 00111 01000 = 08 86 42 98 e8
        assert_eq!(code_from_bytes([0x08, 0x86, 0x42, 0x98, 0xe8]), "1234-5678");
        let mut seen = std::collections::HashSet::new();
        for seed in 0..=255u8 {
            let b = [
                seed,
                seed.wrapping_mul(7),
                seed ^ 0x5a,
                seed.rotate_left(3),
                !seed,
            ];
            let code = code_from_bytes(b);
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert!(code
                .bytes()
                .filter(|c| *c != b'-')
                .all(|c| CODE_ALPHABET.contains(&c)));
            assert!(!code.contains(['I', 'L', 'O', 'U']));
            seen.insert(code);
        }
        assert_eq!(seen.len(), 256, "distinct bytes give distinct codes");
    }

    #[test]
    fn random_codes_and_polls_have_their_shapes() {
        let code = code_from_bytes(random_bytes::<5>().unwrap());
        assert_eq!(normalize_code(&code).unwrap().len(), CODE_LEN);
        let poll = poll_from_bytes(random_bytes::<32>().unwrap());
        assert_eq!(poll.len(), 43);
        assert!(poll
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(poll, poll_from_bytes(random_bytes::<32>().unwrap()));
    }

    #[test]
    fn normalisation_reads_codes_as_people_type_them() {
        let want = Some("K7QM2XP0".to_string());
        for typed in [
            "K7QM-2XP0",
            "k7qm-2xp0",
            "K7QM2XP0",
            " k7qm 2xpo ",
            "K7QM-2XPO",
            "k-7-q-m-2-x-p-0",
        ] {
            assert_eq!(normalize_code(typed), want, "{typed}");
        }
        assert_eq!(normalize_code("1111-1111"), Some("11111111".into()));
        assert_eq!(normalize_code("iIlL-1111"), Some("11111111".into()));
        assert_eq!(normalize_code("oOoO-0000"), Some("00000000".into()));
        for bad in [
            "",
            "K7QM-2XP",
            "K7QM-2XP00",
            "K7QM-2XPU",
            "K7QM_2XP0",
            "K7QM-2XPÖ",
            "K7QM-2XP0\n",
        ] {
            assert_eq!(normalize_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hashes_are_of_the_canonical_form() {
        let a = code_hash(&normalize_code("k7qm-2xpo").unwrap());
        assert_eq!(a, code_hash("K7QM2XP0"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, code_hash("K7QM2XP1"));
        assert_eq!(poll_hash(" abc "), poll_hash("abc"));
        assert_ne!(poll_hash("abc"), poll_hash("abd"));
    }

    #[test]
    fn labels_are_cleaned() {
        assert_eq!(clean_label(None), DEFAULT_LABEL);
        assert_eq!(clean_label(Some("   ")), DEFAULT_LABEL);
        assert_eq!(clean_label(Some("\u{1b}[31m")), "[31m");
        assert_eq!(
            clean_label(Some("  Chrome 156\ton\n\nAndroid ")),
            "Chrome 156 on Android"
        );
        assert_eq!(clean_label(Some("a\u{202E}b\u{0}c")), "abc");
        let long = "é".repeat(200);
        assert_eq!(clean_label(Some(&long)).chars().count(), LABEL_MAX_CHARS);
        let words = "ab ".repeat(50);
        let cut = clean_label(Some(&words));
        assert!(cut.chars().count() <= LABEL_MAX_CHARS);
        assert!(!cut.ends_with(' '));
        assert_eq!(
            clean_label(Some("Firefox 140 on Linux")),
            "Firefox 140 on Linux"
        );
    }

    #[test]
    fn expiry() {
        let created = 1_700_000_000_000;
        let expires = created + PAIRING_TTL_MS;
        assert_eq!(
            poll_state(false, false, expires, created),
            PollState::Pending
        );
        assert_eq!(
            poll_state(false, false, expires, expires - 1),
            PollState::Pending
        );
        assert_eq!(poll_state(false, false, expires, expires), PollState::Gone);
        assert_eq!(
            poll_state(true, false, expires, expires - 1),
            PollState::Approved
        );
        assert_eq!(
            poll_state(true, false, expires, expires + 1),
            PollState::Gone
        );
        assert_eq!(poll_state(true, true, expires, created), PollState::Gone);
    }

    /// The limits as `reserve` applies them: one counter per window.
    fn simulate(limit: Limit, times: &[i64]) -> Vec<bool> {
        let mut counts = std::collections::HashMap::new();
        times
            .iter()
            .map(|&t| {
                let c = counts.entry(window_start(limit, t)).or_insert(0);
                let ok = admits(limit, *c);
                if ok {
                    *c += 1;
                }
                ok
            })
            .collect()
    }

    #[test]
    fn rate_limit_windows() {
        let t0 = 1_700_000_400_000; // a window boundary (multiple of 10 minutes)
        assert_eq!(window_start(WRONG_PER_USER, t0), t0);
        assert_eq!(window_start(WRONG_PER_USER, t0 + 599_999), t0);
        assert_eq!(window_start(WRONG_PER_USER, t0 + 600_000), t0 + 600_000);
        assert_eq!(retry_after_secs(WRONG_PER_USER, t0), 600);
        assert_eq!(retry_after_secs(WRONG_PER_USER, t0 + 599_001), 1);
        assert_eq!(retry_after_secs(WRONG_PER_USER, t0 + 599_999), 1);

        // Five wrong codes a user, then refused until the window ends.
        let tries: Vec<i64> = (0..8).map(|i| t0 + i * 1000).collect();
        let got = simulate(WRONG_PER_USER, &tries);
        assert_eq!(got, [true, true, true, true, true, false, false, false]);
        let next = simulate(
            WRONG_PER_USER,
            &[t0, t0 + 1, t0 + 2, t0 + 3, t0 + 4, t0 + 5, t0 + 600_000],
        );
        assert_eq!(next.last(), Some(&true), "a new window admits again");

        // All users together: 30 a window, so at most 30 × 6 × 24 guesses a day.
        let all: Vec<i64> = (0..40).map(|i| t0 + i * 10_000).collect();
        let got = simulate(WRONG_GLOBAL, &all);
        assert_eq!(got.iter().filter(|ok| **ok).count(), 30);
        assert!(got[..30].iter().all(|ok| *ok));
        let day: Vec<i64> = (0..24 * 3600).map(|s| t0 + s * 1000).collect();
        let per_day = simulate(WRONG_GLOBAL, &day)
            .iter()
            .filter(|ok| **ok)
            .count();
        assert_eq!(per_day, 30 * 6 * 24);
        assert_eq!(
            simulate(STARTS, &all).iter().filter(|ok| **ok).count(),
            STARTS.max as usize
        );
    }

    #[test]
    fn revocation_bodies() {
        let t = "lsrt.6f1c3d9e-2b4a-4c8e-9f00-0123456789ab.".to_string() + &"a".repeat(64);
        assert_eq!(
            revoke_token_of(format!("{{\"token\":\"{t}\"}}").as_bytes()),
            Some(t.clone())
        );
        assert_eq!(
            revoke_token_of(format!("token={t}&token_type_hint=refresh_token").as_bytes()),
            Some(t.clone())
        );
        assert_eq!(revoke_token_of(b""), None);
        assert_eq!(revoke_token_of(b"{}"), None);
    }
}
