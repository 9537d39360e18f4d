//! Who is calling: bearer tokens (HS256 JWTs we sign, Logseq-account ID
//! tokens checked against Cognito's keys), revocable refresh tokens, and the
//! one credential check every API request passes (`access`).

pub(crate) mod access;
pub(crate) mod cognito;
pub(crate) mod jwks;
pub(crate) mod jwt;
pub(crate) mod pairing;
pub(crate) mod refresh;
pub(crate) mod tokens;
