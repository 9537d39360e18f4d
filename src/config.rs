//! Configuration, read once per request from the Worker's vars and secrets
//! into a typed struct whose `Debug` never shows a secret. Parsing is pure:
//! it takes a lookup function, so it is tested on the host.

use std::fmt;

use crate::error::ApiError;

/// R2's S3-compatible API: where presigned URLs point when configured.
#[derive(Clone)]
pub struct R2S3 {
    /// `https://<account>.r2.cloudflarestorage.com`, or wrangler's local
    /// `http://127.0.0.1:<port>/cdn-cgi/local/r2/s3`.
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for R2S3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("R2S3")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

#[derive(Clone)]
pub struct Config {
    /// HS256 key of bearer tokens.
    pub jwt_secret: Vec<u8>,
    /// Key that derives upload credentials and signs the Worker's own `/s3/` URLs.
    pub s3_credential_secret: Vec<u8>,
    /// Bucket name compiled into the stock client (PROTOCOL.md §6.16).
    pub client_bucket: String,
    /// Public origin of this Worker (for its own `/s3/` URLs); the request's
    /// origin when unset.
    pub public_url: Option<String>,
    pub r2_s3: Option<R2S3>,
    pub storage_limit_bytes: i64,
    pub graph_count_limit: i64,
    pub version_retention_days: i64,
    /// How long a deleted graph can be brought back (`npm run admin -- undelete`).
    pub undelete_retention_days: i64,
    pub salt_lifetime_days: i64,
    /// Lifetime of upload credentials and presigned PUT URLs.
    pub upload_ttl_secs: i64,
    /// Lifetime of presigned GET URLs.
    pub download_ttl_secs: i64,
    /// Largest object accepted by the `/s3/` receiver.
    pub max_object_bytes: i64,
    /// Bearer secret of the admin interface; the interface is off without it.
    pub admin_token: Option<Vec<u8>>,
    /// Lifetime of ID tokens minted by the admin interface and the refresh grant.
    pub id_token_ttl_secs: i64,
    /// Lifetime of refresh tokens.
    pub refresh_token_ttl_days: i64,
    /// Lifetime of a browser's refresh token from device pairing (src/pairing.rs).
    pub web_refresh_token_ttl_days: i64,
    /// Honour `x-fault-inject` (tests only; see `fault.rs`).
    pub fault_injection: bool,
    /// Logseq accounts (lowercased verified emails or Cognito `sub`s) allowed
    /// by the `ALLOWED_LOGSEQ_ACCOUNTS` var set at deploy; the admin
    /// interface adds more in D1. Empty: only those, or none (the default).
    pub allowed_logseq_accounts: Vec<String>,
    /// Where the user pool's signing keys are fetched: `cognito::JWKS_URL`,
    /// unless tests point `TEST_COGNITO_JWKS_URL` at a local server.
    pub cognito_jwks_url: String,
    /// Least time between two JWKS fetches of an isolate (default 60 s;
    /// tests shorten it with `TEST_COGNITO_JWKS_INTERVAL_SECS`).
    pub jwks_min_interval_ms: i64,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("jwt_secret", &"<redacted>")
            .field("s3_credential_secret", &"<redacted>")
            .field("client_bucket", &self.client_bucket)
            .field("public_url", &self.public_url)
            .field("r2_s3", &self.r2_s3)
            .field("storage_limit_bytes", &self.storage_limit_bytes)
            .field("graph_count_limit", &self.graph_count_limit)
            .field("version_retention_days", &self.version_retention_days)
            .field("undelete_retention_days", &self.undelete_retention_days)
            .field("salt_lifetime_days", &self.salt_lifetime_days)
            .field("upload_ttl_secs", &self.upload_ttl_secs)
            .field("download_ttl_secs", &self.download_ttl_secs)
            .field("max_object_bytes", &self.max_object_bytes)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("id_token_ttl_secs", &self.id_token_ttl_secs)
            .field("refresh_token_ttl_days", &self.refresh_token_ttl_days)
            .field(
                "web_refresh_token_ttl_days",
                &self.web_refresh_token_ttl_days,
            )
            .field("fault_injection", &self.fault_injection)
            .field(
                "allowed_logseq_accounts",
                &self.allowed_logseq_accounts.len(),
            )
            .field("cognito_jwks_url", &self.cognito_jwks_url)
            .field("jwks_min_interval_ms", &self.jwks_min_interval_ms)
            .finish()
    }
}

const GIB: i64 = 1024 * 1024 * 1024;

impl Config {
    /// Builds the configuration from a lookup of vars and secrets by name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ApiError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let secret = |name: &str| -> Result<Vec<u8>, ApiError> {
            match get(name) {
                Some(v) if v.len() >= 16 => Ok(v.into_bytes()),
                Some(_) => Err(ApiError::Internal(format!(
                    "{name} is shorter than 16 characters"
                ))),
                None => Err(ApiError::Internal(format!("{name} is not set"))),
            }
        };
        let int = |name: &str, default: i64| -> Result<i64, ApiError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    ApiError::Internal(format!("{name} is not a non-negative integer"))
                }),
            }
        };
        let r2_endpoint = get("R2_S3_ENDPOINT").or_else(|| {
            get("R2_ACCOUNT_ID").map(|a| format!("https://{a}.r2.cloudflarestorage.com"))
        });
        let r2_s3 = match (
            r2_endpoint,
            get("R2_S3_BUCKET"),
            get("R2_S3_ACCESS_KEY_ID"),
            get("R2_S3_SECRET_ACCESS_KEY"),
        ) {
            (Some(endpoint), Some(bucket), Some(access_key_id), Some(secret_access_key)) => {
                Some(R2S3 {
                    endpoint: endpoint.trim_end_matches('/').to_string(),
                    bucket,
                    access_key_id,
                    secret_access_key,
                })
            }
            _ => None,
        };
        let (allowed_logseq_accounts, invalid) =
            crate::cognito::parse_allow_list(&get("ALLOWED_LOGSEQ_ACCOUNTS").unwrap_or_default());
        if !invalid.is_empty() {
            return Err(ApiError::Internal(format!(
                "ALLOWED_LOGSEQ_ACCOUNTS has {} entries that are neither an email nor a UUID",
                invalid.len()
            )));
        }
        Ok(Config {
            allowed_logseq_accounts,
            cognito_jwks_url: get("TEST_COGNITO_JWKS_URL")
                .unwrap_or_else(|| crate::cognito::JWKS_URL.to_string()),
            jwks_min_interval_ms: int("TEST_COGNITO_JWKS_INTERVAL_SECS", 60)?.max(1) * 1000,
            jwt_secret: secret("JWT_SECRET")?,
            s3_credential_secret: secret("S3_CREDENTIAL_SECRET")?,
            client_bucket: get("CLIENT_BUCKET")
                .unwrap_or_else(|| "logseq-file-sync-bucket-prod".to_string()),
            public_url: get("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
            r2_s3,
            storage_limit_bytes: int("STORAGE_LIMIT_BYTES", 5 * GIB)?,
            graph_count_limit: int("GRAPH_COUNT_LIMIT", 10)?,
            version_retention_days: int("VERSION_RETENTION_DAYS", 30)?.max(0),
            undelete_retention_days: int("UNDELETE_RETENTION_DAYS", 30)?.max(0),
            salt_lifetime_days: int("SALT_LIFETIME_DAYS", 60)?,
            upload_ttl_secs: int("UPLOAD_TTL_SECS", 3600)?.clamp(300, 7 * 24 * 3600),
            download_ttl_secs: int("DOWNLOAD_TTL_SECS", 3600)?.clamp(60, 7 * 24 * 3600),
            max_object_bytes: int("MAX_OBJECT_BYTES", 100 * 1000 * 1024)?,
            admin_token: match get("ADMIN_TOKEN") {
                None => None,
                Some(_) => Some(secret("ADMIN_TOKEN")?),
            },
            // The client refreshes whenever less than an hour is left (PROTOCOL.md §3.3).
            id_token_ttl_secs: int("ID_TOKEN_TTL_SECS", 7 * 24 * 3600)?.max(2 * 3600),
            refresh_token_ttl_days: int("REFRESH_TOKEN_TTL_DAYS", 365)?.max(1),
            web_refresh_token_ttl_days: int("WEB_REFRESH_TOKEN_TTL_DAYS", 30)?.max(1),
            fault_injection: get("FAULT_INJECTION").is_some_and(|v| v == "true"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("JWT_SECRET", "0123456789abcdef0123"),
        ("S3_CREDENTIAL_SECRET", "fedcba9876543210fedc"),
    ];

    #[test]
    fn defaults_and_redaction() {
        let c = Config::from_lookup(lookup(BASE)).unwrap();
        assert_eq!(c.client_bucket, "logseq-file-sync-bucket-prod");
        assert!(c.r2_s3.is_none());
        assert!(c.admin_token.is_none());
        assert!(c.allowed_logseq_accounts.is_empty());
        assert_eq!(c.cognito_jwks_url, crate::cognito::JWKS_URL);
        assert_eq!(c.jwks_min_interval_ms, 60_000);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("0123456789abcdef"));
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn r2_s3_needs_all_four() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("R2_ACCOUNT_ID", "acc"),
            ("R2_S3_BUCKET", "b"),
            ("R2_S3_ACCESS_KEY_ID", "id"),
        ]);
        assert!(Config::from_lookup(lookup(&pairs)).unwrap().r2_s3.is_none());
        pairs.push(("R2_S3_SECRET_ACCESS_KEY", "topsecretvalue"));
        let c = Config::from_lookup(lookup(&pairs)).unwrap();
        let r2 = c.r2_s3.as_ref().unwrap();
        assert_eq!(r2.endpoint, "https://acc.r2.cloudflarestorage.com");
        assert!(!format!("{c:?}").contains("topsecretvalue"));
    }

    #[test]
    fn missing_or_short_secrets_fail() {
        assert!(Config::from_lookup(lookup(&[])).is_err());
        assert!(Config::from_lookup(lookup(&[
            ("JWT_SECRET", "short"),
            ("S3_CREDENTIAL_SECRET", "fedcba9876543210fedc")
        ]))
        .is_err());
    }

    #[test]
    fn allowed_accounts_from_the_deploy_var() {
        let mut pairs = BASE.to_vec();
        pairs.push(("ALLOWED_LOGSEQ_ACCOUNTS", "You@Example.com"));
        let c = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(
            c.allowed_logseq_accounts,
            vec!["you@example.com".to_string()]
        );
        assert!(!format!("{c:?}").contains("you@example.com"));
        pairs.push(("ALLOWED_LOGSEQ_ACCOUNTS", "nobody"));
        let bad = lookup(&[BASE[0], BASE[1], ("ALLOWED_LOGSEQ_ACCOUNTS", "nobody")]);
        assert!(Config::from_lookup(bad).is_err());
    }

    #[test]
    fn bad_numbers_fail() {
        let mut pairs = BASE.to_vec();
        pairs.push(("GRAPH_COUNT_LIMIT", "-3"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
    }
}
