//! The one list of the JSON API's endpoints, `POST /file-sync/<name>`, in the
//! order of PROTOCOL.md §6. The router matches [`Api`] exhaustively, so an
//! endpoint without a handler does not compile; a test holds the list equal
//! to the endpoint headings of docs/API.md.

macro_rules! endpoints {
    ($($variant:ident = $name:literal,)*) => {
        /// An endpoint of the JSON API, named as the client names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Api {
            $($variant,)*
        }

        impl Api {
            /// Every endpoint, in the order of PROTOCOL.md §6.
            #[cfg(test)]
            pub(crate) const ALL: &[Api] = &[$(Api::$variant,)*];

            /// The name in the path, `/file-sync/<name>`.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Api::$variant => $name,)*
                }
            }
        }

        impl std::str::FromStr for Api {
            type Err = ();

            fn from_str(name: &str) -> Result<Self, ()> {
                match name {
                    $($name => Ok(Api::$variant),)*
                    _ => Err(()),
                }
            }
        }
    };
}

endpoints! {
    UserInfo = "user_info",
    ListGraphs = "list_graphs",
    CreateGraph = "create_graph",
    DeleteGraph = "delete_graph",
    GetTxid = "get_txid",
    GetGraph = "get_graph",
    GetGraphSalt = "get_graph_salt",
    CreateGraphSalt = "create_graph_salt",
    GetGraphEncryptKeys = "get_graph_encrypt_keys",
    UploadGraphEncryptKeys = "upload_graph_encrypt_keys",
    GetAllFiles = "get_all_files",
    GetFilesMeta = "get_files_meta",
    GetDiff = "get_diff",
    GetDeletionLogV20221212 = "get_deletion_log_v20221212",
    GetFileVersionList = "get_file_version_list",
    GetTempCredential = "get_temp_credential",
    UpdateFiles = "update_files",
    DeleteFiles = "delete_files",
    GetFiles = "get_files",
    GetVersionFiles = "get_version_files",
    RenameFile = "rename_file",
    GetUploadUrls = "get_upload_urls",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = Api::ALL.iter().map(|a| a.as_str()).collect();
        for (api, name) in Api::ALL.iter().zip(&names) {
            assert_eq!(name.parse::<Api>(), Ok(*api));
        }
        assert_eq!("e.abcdef".parse::<Api>(), Err(()));
        assert_eq!("".parse::<Api>(), Err(()));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Api::ALL.len());
    }

    /// docs/API.md documents exactly these endpoints: one `` ### `name` ``
    /// heading each (the other headings name routes, with a `/` or a space).
    #[test]
    fn the_list_is_the_one_docs_api_md_documents() {
        let doc = include_str!("../../docs/API.md");
        let mut documented: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("### `"))
            .filter_map(|l| l.split('`').next())
            .filter(|name| {
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        let mut listed: Vec<&str> = Api::ALL.iter().map(|a| a.as_str()).collect();
        documented.sort_unstable();
        listed.sort_unstable();
        assert_eq!(documented, listed);
    }
}
