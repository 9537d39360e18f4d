//! Request and response bodies of the JSON API, spelled field by field as the
//! official client spells them (PROTOCOL.md §6). Unknown request fields are
//! ignored; success bodies never carry a `message` key (rsapi would treat it
//! as an error, PROTOCOL.md §2.5).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- requests

/// `{"GraphUUID": ...}`: get_txid, delete_graph, salts, keys, get_all_files.
#[derive(Debug, Deserialize)]
pub struct GraphRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    /// get_all_files continuation (absent on the first page).
    #[serde(rename = "ContinuationToken", default)]
    pub continuation_token: Option<String>,
}

/// create_graph: `{"GraphName": ...}`.
#[derive(Debug, Deserialize)]
pub struct CreateGraphRequest {
    #[serde(rename = "GraphName")]
    pub graph_name: String,
}

/// Legacy get_graph: by name and/or UUID (LS sync.cljs:1303-1310).
#[derive(Debug, Deserialize)]
pub struct GetGraphRequest {
    #[serde(rename = "GraphUUID", default)]
    pub graph_uuid: Option<String>,
    #[serde(rename = "GraphName", default)]
    pub graph_name: Option<String>,
}

/// upload_graph_encrypt_keys.
#[derive(Debug, Deserialize)]
pub struct UploadKeysRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "public-key")]
    pub public_key: String,
    #[serde(rename = "encrypted-private-key")]
    pub encrypted_private_key: String,
}

/// get_files_meta, get_files, get_version_files, delete_files (with TXId).
#[derive(Debug, Deserialize)]
pub struct FilesRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "Files")]
    pub files: Vec<String>,
    #[serde(rename = "TXId", default)]
    pub txid: Option<i64>,
}

/// get_diff and get_deletion_log_v20221212.
#[derive(Debug, Deserialize)]
pub struct FromTxRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "FromTXId")]
    pub from_txid: i64,
}

/// get_file_version_list.
#[derive(Debug, Deserialize)]
pub struct FileVersionListRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "File")]
    pub file: String,
}

/// update_files: `{"e.<hex>": ["<upload key>", "<md5>"]}` (PROTOCOL.md §6.17).
#[derive(Debug, Deserialize)]
pub struct UpdateFilesRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "TXId")]
    pub txid: i64,
    #[serde(rename = "Files")]
    pub files: BTreeMap<String, (String, String)>,
}

/// Legacy rename_file (RS sync.rs:549-580).
#[derive(Debug, Deserialize)]
pub struct RenameFileRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "TXId")]
    pub txid: i64,
    #[serde(rename = "SrcFile")]
    pub src_file: String,
    #[serde(rename = "DstFile")]
    pub dst_file: String,
}

/// Presigned upload URLs for patched clients: `{"GraphUUID", "Count"}`.
#[derive(Debug, Deserialize)]
pub struct PresignUploadsRequest {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "Count")]
    pub count: u32,
}

// ---------------------------------------------------------------- responses

#[derive(Debug, Serialize)]
pub struct UserInfo {
    #[serde(rename = "UserGroups")]
    pub user_groups: Vec<&'static str>,
    /// Unix seconds (LS components/file_sync.cljs:742-748).
    #[serde(rename = "ExpireTime")]
    pub expire_time: i64,
    #[serde(rename = "ProUser")]
    pub pro_user: bool,
    #[serde(rename = "StorageLimit")]
    pub storage_limit: i64,
    #[serde(rename = "StorageUsage")]
    pub storage_usage: i64,
    #[serde(rename = "GraphCountLimit")]
    pub graph_count_limit: i64,
    #[serde(rename = "LemonStatus")]
    pub lemon_status: Option<String>,
    #[serde(rename = "LemonEndsAt")]
    pub lemon_ends_at: Option<String>,
    #[serde(rename = "LemonRenewsAt")]
    pub lemon_renews_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GraphListEntry {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "GraphName")]
    pub graph_name: String,
    #[serde(rename = "GraphStorageUsage")]
    pub storage_usage: i64,
    #[serde(rename = "GraphStorageLimit")]
    pub storage_limit: i64,
}

#[derive(Debug, Serialize)]
pub struct GraphList {
    #[serde(rename = "Graphs")]
    pub graphs: Vec<GraphListEntry>,
}

#[derive(Debug, Serialize)]
pub struct CreatedGraph {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "TXId")]
    pub txid: i64,
}

#[derive(Debug, Serialize)]
pub struct TxId {
    #[serde(rename = "TXId")]
    pub txid: i64,
}

/// Legacy get_graph answer.
#[derive(Debug, Serialize)]
pub struct GraphInfo {
    #[serde(rename = "GraphUUID")]
    pub graph_uuid: String,
    #[serde(rename = "GraphName")]
    pub graph_name: String,
    #[serde(rename = "TXId")]
    pub txid: i64,
    #[serde(rename = "StorageUsage")]
    pub storage_usage: i64,
}

/// Exactly these two keys: the client asserts the key set (LS sync.cljs:1438-1441).
#[derive(Debug, Serialize)]
pub struct Salt {
    pub value: String,
    #[serde(rename = "expired-at")]
    pub expired_at: i64,
}

#[derive(Debug, Serialize)]
pub struct EncryptKeys {
    #[serde(rename = "public-key")]
    pub public_key: String,
    #[serde(rename = "encrypted-private-key")]
    pub encrypted_private_key: String,
}

/// One get_all_files entry: note the lower-case `checksum` (LS sync.cljs:1253-1258).
#[derive(Debug, Serialize)]
pub struct FileObject {
    #[serde(rename = "Key")]
    pub key: String,
    pub checksum: String,
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "LastModified")]
    pub last_modified: i64,
    #[serde(rename = "Txid")]
    pub txid: i64,
}

#[derive(Debug, Serialize)]
pub struct AllFiles {
    #[serde(rename = "Objects")]
    pub objects: Vec<FileObject>,
    #[serde(rename = "NextContinuationToken")]
    pub next_continuation_token: String,
}

/// One get_files_meta entry: either the metadata or an `Error`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum FileMeta {
    Found {
        #[serde(rename = "FilePath")]
        file_path: String,
        #[serde(rename = "Checksum")]
        checksum: String,
        #[serde(rename = "LastModified")]
        last_modified: i64,
        #[serde(rename = "Size")]
        size: i64,
        #[serde(rename = "Txid")]
        txid: i64,
    },
    Missing {
        #[serde(rename = "FilePath")]
        file_path: String,
        #[serde(rename = "Error")]
        error: String,
    },
}

/// `[to, from, checksum]` (LS sync.cljs:114-123).
pub type TxContentItem = (String, Option<String>, Option<String>);

#[derive(Debug, Serialize)]
pub struct Transaction {
    #[serde(rename = "TXId")]
    pub txid: i64,
    #[serde(rename = "TXType")]
    pub tx_type: String,
    #[serde(rename = "TXContent")]
    pub content: Vec<TxContentItem>,
}

#[derive(Debug, Serialize)]
pub struct Diff {
    #[serde(rename = "Transactions")]
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Serialize)]
pub struct DeletionLogEntry {
    #[serde(rename = "TXId")]
    pub txid: i64,
    /// Unix seconds (LS sync.cljs:2569-2602).
    pub epoch: i64,
    pub paths: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DeletionLog {
    #[serde(rename = "Transactions")]
    pub transactions: Vec<DeletionLogEntry>,
}

#[derive(Debug, Serialize)]
pub struct FileVersion {
    #[serde(rename = "FileUUID")]
    pub file_uuid: String,
    #[serde(rename = "VersionUUID")]
    pub version_uuid: String,
    /// Epoch milliseconds: sorts correctly against local versions (PROTOCOL.md §6.15).
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
}

#[derive(Debug, Serialize)]
pub struct FileVersionList {
    #[serde(rename = "VersionList")]
    pub version_list: Vec<FileVersion>,
}

#[derive(Debug, Serialize)]
pub struct Credentials {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    /// RFC 3339 (chrono `DateTime<Utc>` in rsapi).
    #[serde(rename = "Expiration")]
    pub expiration: String,
    #[serde(rename = "SecretKey")]
    pub secret_key: String,
    #[serde(rename = "SessionToken")]
    pub session_token: String,
}

#[derive(Debug, Serialize)]
pub struct TempCredential {
    #[serde(rename = "Credentials")]
    pub credentials: Credentials,
    #[serde(rename = "S3Prefix")]
    pub s3_prefix: String,
}

#[derive(Debug, Serialize)]
pub struct UpdateFiles {
    #[serde(rename = "TXId")]
    pub txid: i64,
    #[serde(rename = "UpdateSuccFiles")]
    pub succ: Vec<String>,
    #[serde(rename = "UpdateFailedFiles")]
    pub failed: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct DeleteFiles {
    #[serde(rename = "TXId")]
    pub txid: i64,
    #[serde(rename = "DeleteSuccFiles")]
    pub succ: Vec<String>,
    #[serde(rename = "DeleteFailedFiles")]
    pub failed: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct PresignedFileUrls {
    #[serde(rename = "PresignedFileUrls")]
    pub urls: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct PresignedUpload {
    /// Key to send back in update_files.
    #[serde(rename = "Key")]
    pub key: String,
    /// PUT the encrypted bytes here.
    #[serde(rename = "URL")]
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct PresignedUploads {
    #[serde(rename = "Uploads")]
    pub uploads: Vec<PresignedUpload>,
    #[serde(rename = "Expiration")]
    pub expiration: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salt_has_exactly_two_keys() {
        let v = serde_json::to_value(Salt {
            value: "x".into(),
            expired_at: 1,
        })
        .unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec!["expired-at".to_string(), "value".to_string()]);
    }

    #[test]
    fn update_files_request_shape() {
        let r: UpdateFilesRequest = serde_json::from_str(
            r#"{"GraphUUID":"g","TXId":3,"Files":{"e.aa":["uploads/u/abc","d41d8cd98f00b204e9800998ecf8427e"]},"Extra":1}"#,
        )
        .unwrap();
        assert_eq!(r.txid, 3);
        assert_eq!(r.files["e.aa"].0, "uploads/u/abc");
    }

    #[test]
    fn file_meta_shapes() {
        let found = FileMeta::Found {
            file_path: "e.aa".into(),
            checksum: "c".into(),
            last_modified: 1,
            size: 2,
            txid: 3,
        };
        assert_eq!(
            serde_json::to_string(&found).unwrap(),
            r#"{"FilePath":"e.aa","Checksum":"c","LastModified":1,"Size":2,"Txid":3}"#
        );
        let missing = FileMeta::Missing {
            file_path: "e.aa".into(),
            error: "not found".into(),
        };
        assert_eq!(
            serde_json::to_string(&missing).unwrap(),
            r#"{"FilePath":"e.aa","Error":"not found"}"#
        );
    }

    #[test]
    fn tx_content_tuples() {
        let t = Transaction {
            txid: 1,
            tx_type: "update_files".into(),
            content: vec![("u/g/e.aa".into(), None, Some("md5".into()))],
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"TXId":1,"TXType":"update_files","TXContent":[["u/g/e.aa",null,"md5"]]}"#
        );
    }
}
