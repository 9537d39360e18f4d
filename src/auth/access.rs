//! Who is calling: the one credential check of the API (docs/SECURITY.md
//! "Credentials and revocation"). Two kinds of bearer token are accepted:
//!
//! * this server's HS256 tokens (`auth.rs`): self-issued with `JWT_SECRET`,
//!   or minted by the admin interface and the refresh grant (they carry a
//!   `jti` naming a row of `tokens`);
//! * Logseq-account ID tokens (RS256 from Logseq's Cognito user pool,
//!   `cognito.rs` + `jwks.rs`), for accounts the owner allowed.
//!
//! Either way one D1 row read (`db::accounts::auth_row`) answers whether the
//! user's "not before" (moved by `revoke-all`) is past the token's `iat`,
//! whether its token row is live, and whether the account is still allowed.
//! The API runs that read (`check`) concurrently with the handler, after the
//! signature (`verify`); the handler's writes wait for its verdict in
//! `db::Db` (router.rs `api_call`, docs/SECURITY.md "Credentials and revocation").

use crate::auth::cognito;
use crate::auth::jwt::{self, Claims};
use crate::ctx::{Ctx, User};
use crate::db::{accounts, users};
use crate::error::{ApiError, ApiResult};

/// A token whose signature and claims are verified (no storage read yet):
/// who it names, and what the credential row must say to honour it.
pub struct Credential {
    pub user: User,
    kind: Kind,
}

enum Kind {
    Own(Claims),
    Account {
        account: cognito::Account,
        listed: bool,
    },
}

/// Verifies a bearer token's signature and claims. Pure for this server's
/// tokens; a Logseq-account token needs Logseq's signing keys, cached per
/// isolate and in D1 (`jwks.rs`). Nothing about the caller is read or
/// written here: a forged or expired token stops before any storage call
/// made on its behalf.
pub async fn verify(ctx: &Ctx, token: &str) -> ApiResult<Credential> {
    if cognito::is_rs256(token) {
        let signed = cognito::split(token)?;
        crate::auth::jwks::verify_signature(ctx, &signed).await?;
        let account =
            cognito::check_claims(&signed, crate::protocol::accounts::ISSUER, ctx.now_secs())?;
        let listed = cognito::is_listed(&ctx.config.allowed_logseq_accounts, &account);
        return Ok(Credential {
            user: User {
                id: account.sub.clone(),
                email: Some(account.email.clone()),
            },
            kind: Kind::Account { account, listed },
        });
    }
    let claims = jwt::verify(token, &ctx.config.jwt_secret, ctx.now_secs())?;
    Ok(Credential {
        user: User {
            id: claims.sub.clone(),
            email: claims.email.clone(),
        },
        kind: Kind::Own(claims),
    })
}

/// The verdict on a verified credential: one D1 row read answers whether
/// it is still honoured (revocation, allow-list); an admitted caller's user
/// row is created on first sight (`Db::run_as_verdict`: this is the only
/// write sent before `Db::admit`, and only after the row admitted it).
pub async fn check(ctx: &Ctx, credential: &Credential) -> ApiResult<()> {
    let row = match &credential.kind {
        Kind::Own(claims) => {
            let row = own_row(ctx, claims).await?;
            admits_own(&row, claims).then_some(row)
        }
        Kind::Account { account, listed } => {
            let ask = (!listed).then_some(account.email.as_str());
            let row = accounts::auth_row(&ctx.db, &account.sub, None, ctx.now_ms, ask).await?;
            admits_account(&row, *listed, account).then_some(row)
        }
    };
    let row = row.ok_or(ApiError::Unauthorized)?;
    if row.user_exists == 0 {
        let u = &credential.user;
        users::create_user_as_verdict(&ctx.db, &u.id, u.email.as_deref(), ctx.now_ms).await?;
    }
    Ok(())
}

/// The whole check in sequence, for routes outside the JSON API that act
/// on the caller's behalf (device pairing's approval): verify, then the
/// verdict, before the route reads or writes anything of its own.
pub async fn authenticate(ctx: &Ctx, token: &str) -> ApiResult<User> {
    let credential = verify(ctx, token).await?;
    check(ctx, &credential).await?;
    Ok(credential.user)
}

async fn own_row(ctx: &Ctx, claims: &Claims) -> ApiResult<accounts::AuthRow> {
    accounts::auth_row(
        &ctx.db,
        &claims.sub,
        claims.jti.as_deref(),
        ctx.now_ms,
        None,
    )
    .await
}

/// Whether a verified token of this server is still honoured: not issued
/// before the user's "not before", and its token row (if it names one) live.
pub async fn check_own_token(ctx: &Ctx, claims: &Claims) -> ApiResult<()> {
    if admits_own(&own_row(ctx, claims).await?, claims) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// The decision of `check_own_token` (pure).
pub fn admits_own(row: &accounts::AuthRow, claims: &Claims) -> bool {
    let issued = claims.iat.unwrap_or(0);
    let row_ok = claims.jti.is_none() || row.token_live == 1;
    row_ok && issued >= row.not_before
}

/// The decision for a verified Logseq account (pure).
pub fn admits_account(row: &accounts::AuthRow, listed: bool, account: &cognito::Account) -> bool {
    (listed || row.allowed == 1) && account.iat >= row.not_before
}

#[cfg(test)]
mod tests {
    use super::*;
    use accounts::AuthRow;

    fn row(not_before: i64, token_live: i64, allowed: i64) -> AuthRow {
        AuthRow {
            user_exists: 1,
            not_before,
            token_live,
            allowed,
        }
    }

    fn claims(iat: Option<i64>, jti: Option<&str>) -> Claims {
        Claims {
            sub: "6f1c3d9e-2b4a-4c8e-9f00-0123456789ab".into(),
            exp: 2_000_000_000,
            iat,
            nbf: None,
            email: None,
            jti: jti.map(str::to_string),
        }
    }

    #[test]
    fn own_tokens() {
        assert!(admits_own(&row(0, 0, 0), &claims(Some(100), None)));
        assert!(admits_own(&row(0, 0, 0), &claims(None, None)));
        // revoke-all: tokens issued before are refused, later ones pass.
        assert!(!admits_own(&row(101, 0, 0), &claims(Some(100), None)));
        assert!(!admits_own(&row(101, 0, 0), &claims(None, None)));
        assert!(admits_own(&row(101, 0, 0), &claims(Some(101), None)));
        // A token naming a row needs the row live.
        assert!(!admits_own(&row(0, 0, 0), &claims(Some(100), Some("t"))));
        assert!(admits_own(&row(0, 1, 0), &claims(Some(100), Some("t"))));
    }

    #[test]
    fn logseq_accounts() {
        let a = cognito::Account {
            sub: "5b1e8a7c-3d2f-4e6a-9b8c-1d2e3f4a5b6c".into(),
            email: "a@example.com".into(),
            iat: 100,
        };
        assert!(admits_account(&row(0, 0, 0), true, &a));
        assert!(admits_account(&row(0, 0, 1), false, &a));
        assert!(!admits_account(&row(0, 0, 0), false, &a));
        assert!(!admits_account(&row(101, 0, 1), false, &a));
    }
}
