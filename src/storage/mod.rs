//! Evidence files (tài liệu kiểm chứng): PDFs, images and Office documents attached to
//! assessment answers.
//!
//! The database keeps the metadata (`evidence_blobs`: SHA-256, size, content type, storage
//! key); this module keeps the bytes. Storage is content-addressed: a file is stored under
//! the SHA-256 of its bytes ([`key_for`] → `ab/cd/abcd…`), so identical content is stored
//! once no matter how many answers cite it, and several API replicas can share one
//! directory without coordination (every write is a temp file + rename of identical bytes).
//! Deleting a blob that other rows still reference is the caller's business: the evidence
//! service counts references in the database, under a lock on the content that every upload
//! of the same bytes also holds, before calling [`BlobStore::delete`].
//!
//! What a file *is* is decided from its bytes ([`sniff`]), never from the client's name or
//! `Content-Type`: only PDF, PNG, JPEG, GIF, WebP, OOXML (docx/xlsx/pptx), ODF (odt/ods) and
//! legacy OLE compound Office files (doc/xls/ppt) are accepted. Executables, HTML, SVG,
//! scripts, plain text, plain ZIPs and macro-enabled OOXML are refused. The client's file
//! name is only ever displayed, after [`sanitize_filename`], with the extension of what the
//! content is ([`name_for_kind`]).
//!
//! Backends: [`BlobStore`] is the seam, selected by configuration
//! ([`crate::config::EvidenceStoreConfig`]); nothing else in the service knows which one runs.
//! - [`LocalDiskStore`] (the default): a directory, possibly a volume shared by replicas.
//! - [`S3Store`]: a bucket in S3-compatible object storage (AWS S3, MinIO, Ceph…), optionally
//!   under a key prefix, so that replicas on different hosts share evidence. S3 `PUT`s are
//!   atomic, so the same content-addressed contract holds.
//!
//! Both behave alike: `put` is idempotent (an existing key is kept), `get` of a missing key is
//! `Io(NotFound)`, `delete` of a missing key is fine, and keys are validated identically. A
//! backend that cannot be reached answers [`StorageError::Unavailable`] (the API's 503
//! `STORAGE_UNAVAILABLE`), never a panic.
//!
//! Every [`BlobStore`] method blocks: call it from `web::block` /
//! `tokio::task::spawn_blocking` (the S3 store also tolerates an async thread, see its docs).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

mod filename;
mod local;
mod s3;
mod sniff;
#[cfg(test)]
mod tests;

pub use filename::{name_for_kind, sanitize_filename};
pub use local::LocalDiskStore;
use local::*;
pub use s3::{S3Store, install_tls_crypto};
pub use sniff::{FileKind, sniff};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the file is empty")]
    Empty,
    /// `declared` is what the client claimed (Content-Type or file name) if the caller
    /// knows it; [`store`] leaves it `None`, see [`StorageError::with_declared`].
    #[error("this file type is not allowed (declared: {})", .declared.as_deref().unwrap_or("unknown"))]
    ForbiddenType { declared: Option<String> },
    #[error("evidence storage I/O failed")]
    Io(#[from] io::Error),
    /// The backend could not be reached or would not serve us (network, timeout, server
    /// error, refused credentials, missing bucket). Nothing was stored; retrying later may
    /// succeed. The cause is for the log, not for clients.
    #[error("evidence storage is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl StorageError {
    /// Fills in what the client declared, on a [`StorageError::ForbiddenType`]; other
    /// errors are returned unchanged.
    pub fn with_declared(self, declared: impl Into<String>) -> Self {
        match self {
            StorageError::ForbiddenType { .. } => StorageError::ForbiddenType {
                declared: Some(declared.into()),
            },
            other => other,
        }
    }
}

/// A stored evidence file, as recorded in `evidence_blobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// 64 lowercase hex digits.
    pub sha256: String,
    pub size: u64,
    pub kind: FileKind,
    /// Relative key in the blob store, `ab/cd/<sha256>`.
    pub storage_key: String,
}

/// Where the bytes live. Keys are relative, made of `[0-9a-f/]` only (see [`key_for`]); an
/// invalid key is `Io(InvalidInput)` from every method. Every method blocks.
pub trait BlobStore: Send + Sync {
    /// Writes bytes under their key, atomically: readers see the whole content or nothing
    /// (local disk: temp file in the same directory + rename; S3: one `PUT`). If the key
    /// already holds content of that size, it is kept. Idempotent.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError>;
    /// Reads a blob; a missing key is `Io(NotFound)`.
    fn get(&self, key: &str) -> Result<Vec<u8>, StorageError>;
    /// Removes a blob; a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), StorageError>;
    fn exists(&self, key: &str) -> Result<bool, StorageError>;
    /// A cheap check that the store can be used (for readiness), bounded in time;
    /// [`StorageError::Unavailable`] otherwise.
    fn check(&self) -> Result<(), StorageError> {
        Ok(())
    }
    /// Where the blobs are, for logs: a directory or `s3://bucket/prefix` (no credentials).
    fn describe(&self) -> String;
}

/// The storage key of a SHA-256 (64 lowercase hex): `ab/cd/<full hash>`.
pub fn key_for(sha256: &str) -> String {
    let h = sha256.to_ascii_lowercase();
    if h.len() >= 4 && h.is_ascii() {
        format!("{}/{}/{}", &h[..2], &h[2..4], h)
    } else {
        h // not a hash: the store will refuse it as a key
    }
}

/// Checks size (`0` → [`StorageError::Empty`], over `limit` → [`StorageError::TooLarge`])
/// and type ([`sniff`]) and hashes: what [`store`] would store, without storing it.
pub fn prepare(bytes: &[u8], limit: usize) -> Result<StoredBlob, StorageError> {
    if bytes.is_empty() {
        return Err(StorageError::Empty);
    }
    if bytes.len() > limit {
        return Err(StorageError::TooLarge { limit });
    }
    let kind = sniff(bytes).ok_or(StorageError::ForbiddenType { declared: None })?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let storage_key = key_for(&sha256);
    Ok(StoredBlob {
        sha256,
        size: bytes.len() as u64,
        kind,
        storage_key,
    })
}

/// [`prepare`], then stores. Never leaves a partial or temp file behind on any error.
/// Storing content that is already there is a cheap no-op.
pub fn store(
    store: &dyn BlobStore,
    bytes: &[u8],
    limit: usize,
) -> Result<StoredBlob, StorageError> {
    let blob = prepare(bytes, limit)?;
    store.put(&blob.storage_key, bytes)?;
    Ok(blob)
}
