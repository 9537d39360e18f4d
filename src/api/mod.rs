//! The JSON API handlers, one file per group. Each has the shape
//! `async fn name(ctx: &Ctx, user: &User, req: Request) -> ApiResult<Reply>`,
//! is named exactly like the API, and never touches HTTP or `Env`.

pub mod files;
pub mod graphs;
pub mod keys;
pub mod transactions;
pub mod uploads;

pub(crate) use crate::ctx::{Ctx, User};
use crate::error::{ApiError, ApiResult};
use crate::protocol::ids::{is_client_uuid, is_encrypted_name};

/// The caller's graph and a query about it, in one storage round trip: both
/// go out at once, and the query's result is used only once the graph is
/// known to be the caller's (its error, `graph-not-exist`, comes first).
pub async fn with_graph<T>(
    ctx: &Ctx,
    graph_id: &str,
    user: &User,
    query: impl std::future::Future<Output = ApiResult<T>>,
) -> ApiResult<(crate::db::graphs::GraphRow, T)> {
    let (graph, result) = futures_util::future::join(
        crate::db::graphs::find_graph(&ctx.db, graph_id, &user.id),
        query,
    )
    .await;
    Ok((graph?, result?))
}

pub use crate::http::parse;

/// Most requests carry at most this many files (the client sends ≤ 20 per
/// update and ≤ 100 per download batch, LS sync.cljs:170-171).
pub const MAX_FILES_PER_REQUEST: usize = 1000;

/// A `GraphUUID` must look like one (PROTOCOL.md §3.2). A valid one is
/// remembered for the access-log line.
pub fn check_graph_uuid(ctx: &Ctx, s: &str) -> ApiResult<()> {
    if is_client_uuid(s) {
        *ctx.graph.borrow_mut() = Some(s.to_string());
        Ok(())
    } else {
        Err(ApiError::BadRequest("invalid GraphUUID".into()))
    }
}

/// A file name must be an encrypted name (PROTOCOL.md §5.1).
pub fn check_encrypted_name(s: &str) -> ApiResult<()> {
    if is_encrypted_name(s) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "invalid file path: expected an encrypted name e.<hex>".into(),
        ))
    }
}

/// A list of files must be non-empty and bounded.
pub fn check_file_count(n: usize) -> ApiResult<()> {
    if n == 0 {
        Err(ApiError::BadRequest("Files must not be empty".into()))
    } else if n > MAX_FILES_PER_REQUEST {
        Err(ApiError::BadRequest(format!(
            "too many files: at most {MAX_FILES_PER_REQUEST} per request"
        )))
    } else {
        Ok(())
    }
}

/// An empty JSON object, for endpoints whose answer the client ignores.
#[derive(Debug, serde::Serialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_of_any_content_type_parse_and_blank_ones_are_refused() {
        #[derive(serde::Deserialize)]
        struct R {
            #[serde(rename = "GraphUUID")]
            _g: String,
        }
        assert!(parse::<R>(br#"{"GraphUUID":"x","Unknown":1}"#).is_ok());
        for bad in [&b""[..], b"null", b"  ", b"{", b"[]", b"{\"GraphUUID\":1}"] {
            let e = parse::<R>(bad).err().unwrap();
            assert_eq!(e.status(), 400);
        }
    }
}
