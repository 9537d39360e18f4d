//! File bodies: where they are fetched from and put to (`blobs`), the upload
//! key layout (`keys`), SigV4 presigning and verification (`sigv4`), and the
//! Worker's own S3-compatible endpoint `/s3/<key>` with its errors
//! (`receiver`, `error`).

pub(crate) mod blobs;
pub(crate) mod error;
pub(crate) mod keys;
pub(crate) mod receiver;
pub(crate) mod sigv4;
