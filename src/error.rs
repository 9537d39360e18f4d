//! The one error type of the JSON API and its mapping to what the client
//! matches on (PROTOCOL.md §2.6): an HTTP status and `{"message": ...}`.

use std::fmt;

/// Every way a `/file-sync/*` request can fail. The `message` is what the
/// client sees; internal details are logged once and never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Missing, malformed, expired or forged bearer token (PROTOCOL.md §3.6).
    Unauthorized,
    /// The request body or a field is not what the endpoint accepts.
    BadRequest(String),
    /// No such API name, route or object.
    NotFound(String),
    /// The graph does not exist or is not the caller's. The client stops
    /// syncing on this text (LS sync.cljs:1821-1823).
    GraphNotExist,
    /// create_graph with a name the user already has; 400 makes the client
    /// say "already existed graph" (LS handler/file_sync.cljs:45-75).
    GraphExists(String),
    /// The request's TXId is not the graph's current txid (PROTOCOL.md §9.3).
    TxidConflict { server: i64, client: i64 },
    /// get_graph_encrypt_keys before keys were uploaded: 404 makes the client
    /// create keys (LS sync.cljs:2108-2166).
    KeysNotFound,
    /// upload_graph_encrypt_keys when keys exist: replacing them would make
    /// every stored file unreadable to the other devices.
    KeysExist,
    /// get_graph_salt with no valid salt: 410 (LS sync.cljs:761, 2032-2063).
    SaltNotFound,
    /// Over the user's storage limit (LS sync.cljs:1079-1084).
    StorageLimit,
    /// Over the user's graph-count limit (LS sync.cljs:1086-1091).
    GraphCountLimit,
    /// The HTTP method is not served on this route.
    MethodNotAllowed,
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// A rate limit (device pairing, src/pairing.rs); the message says when to retry.
    TooManyRequests(String),
    /// Something failed on our side; the detail is logged, not sent.
    Internal(String),
}

impl ApiError {
    /// HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::BadRequest(_) => 400,
            ApiError::NotFound(_) => 404,
            ApiError::GraphNotExist => 404,
            ApiError::GraphExists(_) => 400,
            ApiError::TxidConflict { .. } => 409,
            ApiError::KeysNotFound => 404,
            ApiError::KeysExist => 409,
            ApiError::SaltNotFound => 410,
            ApiError::StorageLimit | ApiError::GraphCountLimit => 403,
            ApiError::MethodNotAllowed => 405,
            ApiError::PayloadTooLarge => 413,
            ApiError::TooManyRequests(_) => 429,
            ApiError::Internal(_) => 500,
        }
    }

    /// The `message` the client receives.
    pub fn message(&self) -> String {
        match self {
            // Exactly this text: the client retries 401s only with it (LS sync.cljs:303-321).
            ApiError::Unauthorized => "Unauthorized".to_string(),
            ApiError::BadRequest(m) | ApiError::NotFound(m) | ApiError::TooManyRequests(m) => {
                m.clone()
            }
            ApiError::GraphNotExist => "graph-not-exist".to_string(),
            // The text observed from the real service, trailing space included (PROTOCOL.md §6.3).
            ApiError::GraphExists(name) => format!("graph[{name}] already exists "),
            ApiError::TxidConflict { server, client } => {
                crate::txid::conflict_message(*server, *client)
            }
            ApiError::KeysNotFound => "encrypt keys not found".to_string(),
            ApiError::KeysExist => "encrypt keys already exist".to_string(),
            ApiError::SaltNotFound => "salt not found or expired".to_string(),
            ApiError::StorageLimit => "storage-limit".to_string(),
            ApiError::GraphCountLimit => "graph-count-exceed-limit".to_string(),
            ApiError::MethodNotAllowed => "method not allowed".to_string(),
            ApiError::PayloadTooLarge => "request body too large".to_string(),
            ApiError::Internal(_) => "internal error".to_string(),
        }
    }

    /// The detail worth logging, if any (never sent to the client).
    pub fn log_detail(&self) -> Option<&str> {
        match self {
            ApiError::Internal(detail) => Some(detail),
            _ => None,
        }
    }

    /// The JSON body of the answer.
    pub fn body(&self) -> String {
        serde_json::json!({ "message": self.message() }).to_string()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.message())
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(format!("json: {e}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_is_the_text_the_client_retries_on() {
        let e = ApiError::Unauthorized;
        assert_eq!(e.status(), 401);
        assert_eq!(e.body(), r#"{"message":"Unauthorized"}"#);
    }

    /// The client's table (PROTOCOL.md §2.6): status and message it matches on.
    #[test]
    fn statuses_and_messages_the_client_matches() {
        let cases: &[(ApiError, u16, &str)] = &[
            (ApiError::StorageLimit, 403, "storage-limit"),
            (ApiError::GraphCountLimit, 403, "graph-count-exceed-limit"),
            (
                ApiError::GraphExists("my graph".into()),
                400,
                "graph[my graph] already exists ",
            ),
            (ApiError::KeysNotFound, 404, "encrypt keys not found"),
            (ApiError::SaltNotFound, 410, "salt not found or expired"),
            (ApiError::GraphNotExist, 404, "graph-not-exist"),
            (ApiError::KeysExist, 409, "encrypt keys already exist"),
        ];
        for (e, status, message) in cases {
            assert_eq!(e.status(), *status, "{e:?}");
            assert_eq!(e.message(), *message, "{e:?}");
        }
        let conflict = ApiError::TxidConflict {
            server: 100,
            client: 99,
        };
        assert_eq!(conflict.status(), 409);
        assert!(conflict.message().contains("txid_to_validate"));
    }

    #[test]
    fn internal_detail_is_logged_not_sent() {
        let e = ApiError::Internal("D1_ERROR: secret table name".into());
        assert_eq!(e.status(), 500);
        assert!(!e.body().contains("D1_ERROR"));
        assert_eq!(e.log_detail(), Some("D1_ERROR: secret table name"));
    }

    #[test]
    fn every_variant_has_a_json_message() {
        for e in [
            ApiError::Unauthorized,
            ApiError::BadRequest("bad".into()),
            ApiError::NotFound("nope".into()),
            ApiError::GraphNotExist,
            ApiError::GraphExists("g".into()),
            ApiError::TxidConflict {
                server: 2,
                client: 1,
            },
            ApiError::KeysNotFound,
            ApiError::KeysExist,
            ApiError::SaltNotFound,
            ApiError::StorageLimit,
            ApiError::GraphCountLimit,
            ApiError::MethodNotAllowed,
            ApiError::PayloadTooLarge,
            ApiError::TooManyRequests("slow down".into()),
            ApiError::Internal("x".into()),
        ] {
            let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
            assert!(
                v["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{e:?}"
            );
            assert!((400..600).contains(&e.status()));
        }
    }
}
