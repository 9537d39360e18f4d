//! Listing and downloading files and versions (PROTOCOL.md §6.11, 6.12,
//! 6.15, 6.19, 6.20).

use std::collections::{BTreeMap, HashMap};

use super::{check_encrypted_name, check_file_count, check_graph_uuid, with_graph, Ctx, User};
use crate::db::files as fq;
use crate::error::{ApiError, ApiResult};
use crate::protocol::ids::{file_uuid, is_encrypted_name, remote_key, MAX_ENCRYPTED_NAME_LEN};
use crate::protocol::wire::{
    AllFiles, FileMeta, FileObject, FileVersion, FileVersionList, FileVersionListRequest,
    FilesRequest, GraphRequest, PresignedFileUrls,
};
use crate::s3::blobs;

/// Files per get_all_files page; the client follows `NextContinuationToken`.
pub const ALL_FILES_PAGE: i64 = 1000;

/// §6.11. The continuation token is the last name of the previous page.
pub async fn get_all_files(ctx: &Ctx, user: &User, req: GraphRequest) -> ApiResult<AllFiles> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    let after = req.continuation_token.unwrap_or_default();
    if !after.is_empty() && !is_encrypted_name(&after) {
        return Err(ApiError::BadRequest("invalid ContinuationToken".into()));
    }
    let (_, mut rows) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::list_files_page(&ctx.db, &req.graph_uuid, &after, ALL_FILES_PAGE + 1),
    )
    .await?;
    let more = rows.len() as i64 > ALL_FILES_PAGE;
    rows.truncate(ALL_FILES_PAGE as usize);
    let next = if more {
        rows.last().map(|r| r.path.clone()).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(AllFiles {
        objects: rows
            .into_iter()
            .map(|r| FileObject {
                key: remote_key(&user.id, &req.graph_uuid, &r.path),
                checksum: r.checksum,
                size: r.size,
                last_modified: r.last_modified,
                txid: r.txid,
            })
            .collect(),
        next_continuation_token: next,
    })
}

/// §6.12: a top-level array; unknown files get the `not found` error the
/// real service sends, names over 950 characters `filepath too long`.
pub async fn get_files_meta(ctx: &Ctx, user: &User, req: FilesRequest) -> ApiResult<Vec<FileMeta>> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_file_count(req.files.len())?;
    let valid: Vec<String> = req
        .files
        .iter()
        .filter(|f| is_encrypted_name(f))
        .cloned()
        .collect();
    let (_, rows) = with_graph(ctx, &req.graph_uuid, user, async {
        if valid.is_empty() {
            Ok(Vec::new())
        } else {
            fq::find_files(&ctx.db, &req.graph_uuid, &valid).await
        }
    })
    .await?;
    let found: HashMap<String, fq::FileRow> =
        rows.into_iter().map(|r| (r.path.clone(), r)).collect();
    Ok(req
        .files
        .into_iter()
        .map(|path| match found.get(&path) {
            Some(r) => FileMeta::Found {
                file_path: path,
                checksum: r.checksum.clone(),
                last_modified: r.last_modified,
                size: r.size,
                txid: r.txid,
            },
            None if path.len() > MAX_ENCRYPTED_NAME_LEN => FileMeta::Missing {
                file_path: path,
                error: "filepath too long".into(),
            },
            None => {
                let error = format!("not found {}", remote_key(&user.id, &req.graph_uuid, &path));
                FileMeta::Missing {
                    file_path: path,
                    error,
                }
            }
        })
        .collect())
}

/// §6.19: presigned GET URLs for current files; unknown files are omitted
/// (a URL that 404s would fail the client's whole batch).
pub async fn get_files(ctx: &Ctx, user: &User, req: FilesRequest) -> ApiResult<PresignedFileUrls> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_file_count(req.files.len())?;
    for f in &req.files {
        check_encrypted_name(f)?;
    }
    let (_, rows) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::find_files(&ctx.db, &req.graph_uuid, &req.files),
    )
    .await?;
    let mut urls = BTreeMap::new();
    for r in rows {
        urls.insert(r.path, blobs::download_url(ctx, &r.blob_key)?);
    }
    Ok(PresignedFileUrls { urls })
}

/// §6.20: `<FileUUID>/<VersionUUID>` → presigned GET URL.
pub async fn get_version_files(
    ctx: &Ctx,
    user: &User,
    req: FilesRequest,
) -> ApiResult<PresignedFileUrls> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_file_count(req.files.len())?;
    let mut ids = Vec::with_capacity(req.files.len());
    for f in &req.files {
        let (fu, vu) = f
            .split_once('/')
            .filter(|(a, b)| is_id(a) && is_id(b))
            .ok_or_else(|| ApiError::BadRequest("Files must be <FileUUID>/<VersionUUID>".into()))?;
        ids.push((fu.to_string(), vu.to_string()));
    }
    let (_, rows) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::find_version_blobs(&ctx.db, &req.graph_uuid, &ids),
    )
    .await?;
    let mut urls = BTreeMap::new();
    for r in rows {
        urls.insert(
            format!("{}/{}", r.file_uuid, r.version_uuid),
            blobs::download_url(ctx, &r.blob_key)?,
        );
    }
    Ok(PresignedFileUrls { urls })
}

/// §6.15: the kept versions of one file, newest first, `CreateTime` in ms.
pub async fn get_file_version_list(
    ctx: &Ctx,
    user: &User,
    req: FileVersionListRequest,
) -> ApiResult<FileVersionList> {
    check_graph_uuid(ctx, &req.graph_uuid)?;
    check_encrypted_name(&req.file)?;
    let file = file_uuid(&req.graph_uuid, &req.file);
    let (_, rows) = with_graph(
        ctx,
        &req.graph_uuid,
        user,
        fq::list_versions(&ctx.db, &req.graph_uuid, &file),
    )
    .await?;
    Ok(FileVersionList {
        version_list: rows
            .into_iter()
            .map(|r| FileVersion {
                file_uuid: r.file_uuid,
                version_uuid: r.version_uuid,
                create_time: r.created_at,
            })
            .collect(),
    })
}

/// UUID-shaped ids only (they become directory names on the client).
fn is_id(s: &str) -> bool {
    s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}
