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

mod s3;
pub use s3::{S3Store, install_tls_crypto};

// ---------------------------------------------------------------------------------------
// File kinds and sniffing
// ---------------------------------------------------------------------------------------

/// What a stored file is, decided from its bytes (magic numbers), never from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Webp,
    /// Word 2007+ (OOXML).
    Docx,
    /// Excel 2007+ (OOXML).
    Xlsx,
    /// PowerPoint 2007+ (OOXML).
    Pptx,
    /// OpenDocument text.
    Odt,
    /// OpenDocument spreadsheet.
    Ods,
    /// Legacy Word 97–2003 (OLE compound file with a root `WordDocument` stream).
    Doc,
    /// Legacy Excel 97–2003 (OLE compound file with a root `Workbook`/`Book` stream).
    Xls,
    /// Legacy PowerPoint 97–2003 (OLE compound file with a root `PowerPoint Document` stream).
    Ppt,
}

impl FileKind {
    /// Every kind, for listings and tests.
    pub const ALL: [FileKind; 13] = [
        FileKind::Pdf,
        FileKind::Png,
        FileKind::Jpeg,
        FileKind::Gif,
        FileKind::Webp,
        FileKind::Docx,
        FileKind::Xlsx,
        FileKind::Pptx,
        FileKind::Odt,
        FileKind::Ods,
        FileKind::Doc,
        FileKind::Xls,
        FileKind::Ppt,
    ];

    /// The media type to store in `evidence_blobs.content_type` and to serve with.
    pub fn mime(&self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
            FileKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            FileKind::Odt => "application/vnd.oasis.opendocument.text",
            FileKind::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            FileKind::Doc => "application/msword",
            FileKind::Xls => "application/vnd.ms-excel",
            FileKind::Ppt => "application/vnd.ms-powerpoint",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
            FileKind::Gif => "gif",
            FileKind::Webp => "webp",
            FileKind::Docx => "docx",
            FileKind::Xlsx => "xlsx",
            FileKind::Pptx => "pptx",
            FileKind::Odt => "odt",
            FileKind::Ods => "ods",
            FileKind::Doc => "doc",
            FileKind::Xls => "xls",
            FileKind::Ppt => "ppt",
        }
    }

    /// Extensions a name of this kind may end with (compared ignoring case); the first is
    /// [`FileKind::extension`].
    pub fn extensions(&self) -> &'static [&'static str] {
        match self {
            FileKind::Jpeg => &["jpg", "jpeg", "jpe"],
            FileKind::Pdf => &["pdf"],
            FileKind::Png => &["png"],
            FileKind::Gif => &["gif"],
            FileKind::Webp => &["webp"],
            FileKind::Docx => &["docx"],
            FileKind::Xlsx => &["xlsx"],
            FileKind::Pptx => &["pptx"],
            FileKind::Odt => &["odt"],
            FileKind::Ods => &["ods"],
            FileKind::Doc => &["doc"],
            FileKind::Xls => &["xls"],
            FileKind::Ppt => &["ppt"],
        }
    }

    /// The inverse of [`FileKind::mime`] (e.g. for a `content_type` read back from the database).
    pub fn from_mime(mime: &str) -> Option<FileKind> {
        FileKind::ALL
            .into_iter()
            .find(|k| k.mime().eq_ignore_ascii_case(mime.trim()))
    }
}

const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const ZIP_LOCAL: [u8; 4] = *b"PK\x03\x04";
const ZIP_CENTRAL: [u8; 4] = *b"PK\x01\x02";
const ZIP_EOCD: [u8; 4] = *b"PK\x05\x06";

/// Decides what `bytes` are from their content. `None` means unknown or forbidden type
/// (executables, HTML, SVG, scripts, plain text, plain or macro-enabled ZIPs, other OLE
/// files such as MSI installers or password-encrypted Office files, empty input…).
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else if bytes.starts_with(&PNG_MAGIC) {
        Some(FileKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(FileKind::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(FileKind::Webp)
    } else if bytes.starts_with(&ZIP_LOCAL) {
        sniff_zip(bytes)
    } else if bytes.starts_with(&OLE_MAGIC) {
        sniff_ole(bytes)
    } else {
        None
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Entry names from the ZIP central directory, or `None` if it is not a well-formed,
/// single-disk, non-ZIP64 archive.
fn zip_entry_names(b: &[u8]) -> Option<Vec<&[u8]>> {
    // End of central directory: 22 bytes + up to 65535 bytes of comment, at the very end.
    if b.len() < 22 {
        return None;
    }
    let last = b.len() - 22;
    let first = last.saturating_sub(0xFFFF);
    let eocd = (first..=last).rev().find(|&p| {
        b[p..p + 4] == ZIP_EOCD
            && u16_at(b, p + 20).is_some_and(|c| p + 22 + usize::from(c) <= b.len())
    })?;
    let this_disk = u16_at(b, eocd + 4)?;
    let cd_disk = u16_at(b, eocd + 6)?;
    let total = u16_at(b, eocd + 10)?;
    let cd_size = u32_at(b, eocd + 12)?;
    let cd_offset = u32_at(b, eocd + 16)?;
    if this_disk != 0 || cd_disk != 0 || total == 0xFFFF || cd_offset == u32::MAX {
        return None; // multi-disk or ZIP64: not something an Office suite writes for us
    }
    let start = cd_offset as usize;
    let end = start.checked_add(cd_size as usize)?;
    if end > eocd {
        return None;
    }
    let mut names = Vec::with_capacity(usize::from(total));
    let mut p = start;
    for _ in 0..total {
        if p.checked_add(46)? > end || b[p..p + 4] != ZIP_CENTRAL {
            return None;
        }
        let name_len = usize::from(u16_at(b, p + 28)?);
        let extra_len = usize::from(u16_at(b, p + 30)?);
        let comment_len = usize::from(u16_at(b, p + 32)?);
        let name_end = p + 46 + name_len;
        let next = name_end + extra_len + comment_len;
        if next > end {
            return None;
        }
        names.push(&b[p + 46..name_end]);
        p = next;
    }
    Some(names)
}

/// The ODF `mimetype` declaration: the first local entry, named `mimetype`, stored
/// uncompressed.
fn odf_mimetype(b: &[u8]) -> Option<&[u8]> {
    let method = u16_at(b, 8)?;
    let size = u32_at(b, 18)? as usize;
    let name_len = usize::from(u16_at(b, 26)?);
    let extra_len = usize::from(u16_at(b, 28)?);
    let name = b.get(30..30 + name_len)?;
    if name != b"mimetype" || method != 0 {
        return None;
    }
    let data = 30 + name_len + extra_len;
    b.get(data..data.checked_add(size)?)
}

fn sniff_zip(b: &[u8]) -> Option<FileKind> {
    let names = zip_entry_names(b)?;
    if let Some(mimetype) = odf_mimetype(b) {
        return match mimetype {
            b"application/vnd.oasis.opendocument.text" => Some(FileKind::Odt),
            b"application/vnd.oasis.opendocument.spreadsheet" => Some(FileKind::Ods),
            _ => None,
        };
    }
    let has_prefix = |prefix: &[u8]| names.iter().any(|n| n.starts_with(prefix));
    let is_opc = names.iter().any(|n| *n == b"[Content_Types].xml");
    let has_macros = names
        .iter()
        .any(|n| n.len() >= 14 && n[n.len() - 14..].eq_ignore_ascii_case(b"vbaProject.bin"));
    if !is_opc || has_macros {
        return None;
    }
    match (
        has_prefix(b"word/"),
        has_prefix(b"xl/"),
        has_prefix(b"ppt/"),
    ) {
        (true, false, false) => Some(FileKind::Docx),
        (false, true, false) => Some(FileKind::Xlsx),
        (false, false, true) => Some(FileKind::Pptx),
        _ => None,
    }
}

const CFB_NOSTREAM: u32 = 0xFFFF_FFFF;
const CFB_MAX_REGSECT: u32 = 0xFFFF_FFFA;

/// Legacy Office: an OLE compound file whose root storage holds the application's main
/// stream. Follows the FAT to read the directory and walks only the root's children, so a
/// spreadsheet embedded in a Word document does not make it an `.xls`.
fn sniff_ole(b: &[u8]) -> Option<FileKind> {
    let shift = u16_at(b, 30)?;
    if shift != 9 && shift != 12 {
        return None;
    }
    let ss = 1usize << shift;
    let n_sectors = b.len().saturating_sub(ss) / ss + 1; // generous upper bound for loops
    let sector = |n: u32| -> Option<&[u8]> {
        if n > CFB_MAX_REGSECT {
            return None;
        }
        let start = (n as usize).checked_add(1)?.checked_mul(ss)?;
        let end = start.checked_add(ss)?.min(b.len());
        (start < end).then(|| &b[start..end])
    };

    // FAT sector numbers: 109 in the header, then the DIFAT chain.
    let mut fat_sectors: Vec<u32> = (0..109)
        .map_while(|i| u32_at(b, 76 + 4 * i))
        .take_while(|&s| s <= CFB_MAX_REGSECT)
        .collect();
    let mut difat = u32_at(b, 68)?;
    let mut guard = 0;
    while difat <= CFB_MAX_REGSECT {
        guard += 1;
        if guard > n_sectors {
            return None;
        }
        let s = sector(difat)?;
        let per = ss / 4 - 1;
        fat_sectors.extend(
            (0..per)
                .filter_map(|i| u32_at(s, 4 * i))
                .filter(|&x| x <= CFB_MAX_REGSECT),
        );
        difat = u32_at(s, 4 * per)?;
    }
    let mut fat: Vec<u32> = Vec::new();
    for &fs in &fat_sectors {
        let s = sector(fs)?;
        fat.extend(
            s.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }

    // Directory: follow its chain, 128-byte entries.
    let mut dir: Vec<&[u8]> = Vec::new();
    let mut next = u32_at(b, 48)?;
    let mut steps = 0;
    while next <= CFB_MAX_REGSECT {
        steps += 1;
        if steps > n_sectors {
            return None;
        }
        dir.extend(sector(next)?.chunks_exact(128));
        next = *fat.get(next as usize)?;
    }
    let root = dir.first()?;
    if root[66] != 5 {
        return None;
    }

    // Walk the red-black tree of the root's children.
    let mut found = None;
    let mut stack = vec![u32_at(root, 76)?];
    let mut seen = vec![false; dir.len()];
    while let Some(id) = stack.pop() {
        if id == CFB_NOSTREAM {
            continue;
        }
        let idx = id as usize;
        let entry = *dir.get(idx)?;
        if std::mem::replace(&mut seen[idx], true) {
            return None; // cycle: corrupt
        }
        stack.push(u32_at(entry, 68)?);
        stack.push(u32_at(entry, 72)?);
        if entry[66] != 2 {
            continue; // only streams
        }
        let name_len = usize::from(u16_at(entry, 64)?).min(64);
        let units: Vec<u16> = entry[..name_len]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        let name = String::from_utf16_lossy(&units);
        let kind = if name.eq_ignore_ascii_case("WordDocument") {
            FileKind::Doc
        } else if name.eq_ignore_ascii_case("PowerPoint Document") {
            FileKind::Ppt
        } else if name.eq_ignore_ascii_case("Workbook") || name.eq_ignore_ascii_case("Book") {
            FileKind::Xls
        } else {
            continue;
        };
        match found {
            None => found = Some(kind),
            Some(k) if k == kind => {}
            Some(_) => return None, // two applications claim the root: refuse
        }
    }
    found
}

// ---------------------------------------------------------------------------------------
// Errors and file names
// ---------------------------------------------------------------------------------------

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

const MAX_FILENAME_BYTES: usize = 200;
/// A trailing `.xyz` longer than this is not treated as an extension when truncating.
const MAX_EXTENSION_BYTES: usize = 16;

/// Cleans a client file name for display and `Content-Disposition`: keeps the last path
/// component (`/` and `\`), NFC-normalises, drops control characters, quotes and anything
/// outside letters (any script, Vietnamese diacritics included), digits, space and
/// `. - _ ( )`, collapses whitespace, strips leading (and trailing) dots and spaces, and
/// limits the result to 200 bytes on a char boundary, keeping the extension. Returns
/// `"file"` when nothing is left.
pub fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out = String::with_capacity(last.len());
    let mut pending_space = false;
    for c in last.nfc() {
        if c.is_whitespace() {
            // \t \r \n, NBSP, ideographic space…: word separators.
            pending_space = true;
            continue;
        }
        let keep = c.is_alphanumeric()
            || matches!(c, '.' | '-' | '_' | '(' | ')')
            || (is_combining_mark(c)
                && out
                    .chars()
                    .next_back()
                    .is_some_and(|p| p.is_alphanumeric() || is_combining_mark(p)));
        if !keep {
            continue; // controls, NUL, quotes, ; < > : * ? |, bidi overrides, zero-widths…
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    let trimmed = out.trim_matches(['.', ' ']);
    let mut result = trimmed.to_owned();
    if result.len() > MAX_FILENAME_BYTES {
        let (stem, ext) = match result.rfind('.') {
            Some(i) if i > 0 && result.len() - i <= MAX_EXTENSION_BYTES => result.split_at(i),
            _ => (result.as_str(), ""),
        };
        let mut cut = (MAX_FILENAME_BYTES - ext.len()).min(stem.len());
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        let stem = stem[..cut].trim_end_matches(['.', ' ']);
        let stem = if stem.is_empty() { "file" } else { stem };
        result = format!("{stem}{ext}");
    }
    if result.is_empty() {
        "file".to_owned()
    } else {
        result
    }
}

/// The name a file of `kind` is shown and downloaded under: the client's name, sanitised
/// ([`sanitize_filename`]), with an extension that matches what the content is. A name that
/// already ends with one of the kind's extensions is kept; a last extension of another type
/// (`poly.html` holding a PDF) is replaced (`poly.pdf`); a name without one gets it appended.
/// A "last extension" is 1–5 ASCII letters and digits with at least one letter, so that
/// `Báo cáo v1.2` becomes `Báo cáo v1.2.pdf`, not `Báo cáo v1.pdf`.
pub fn name_for_kind(name: &str, kind: FileKind) -> String {
    let clean = sanitize_filename(name);
    let (stem, ext) = match clean.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext.bytes().any(|b| b.is_ascii_alphabetic()) =>
        {
            (stem, Some(ext))
        }
        _ => (clean.as_str(), None),
    };
    if ext.is_some_and(|e| kind.extensions().iter().any(|k| e.eq_ignore_ascii_case(k))) {
        return clean;
    }
    // Again through the sanitiser: it keeps the result within the length limit.
    sanitize_filename(&format!("{stem}.{}", kind.extension()))
}

// ---------------------------------------------------------------------------------------
// Blob stores
// ---------------------------------------------------------------------------------------

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

/// Blobs as files under a root directory (`root/ab/cd/<sha256>`), safe to share between
/// replicas. Temp files are `.tmp-<uuid>` next to their target; they are removed on every
/// error path, and only a crash mid-write can leave one (never under a valid key).
#[derive(Debug, Clone)]
pub struct LocalDiskStore {
    root: PathBuf,
}

impl LocalDiskStore {
    /// Opens (creating it if needed) the storage root.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        create_private_dirs(&root)?;
        Ok(LocalDiskStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_for(&self, key: &str) -> io::Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Only `[0-9a-f/]`, no empty components, no leading/trailing `/`, no `..`: a key can
/// never name anything outside the root.
fn validate_key(key: &str) -> io::Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 256
        && key
            .bytes()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f' | b'/'))
        && !key.contains("..")
        && key.split('/').all(|part| !part.is_empty());
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid storage key",
        ))
    }
}

/// Creates `dir` and its missing parents, readable by the service's own user only (0700);
/// the root's mode is set even when it exists (older versions made it 0755).
fn create_private_dirs(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir)
}

/// Creates the missing directories of a key (0700), leaving existing ones as they are.
fn create_private_subdirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Deletes the temp file when dropped, unless it was renamed into place.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

fn is_complete(path: &Path, size: usize) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == size as u64)
}

impl BlobStore for LocalDiskStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path_for(key)?;
        if is_complete(&path, bytes.len()) {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        create_private_subdirs(dir)?;
        let mut tmp = TempFile(Some(
            dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple())),
        ));
        let tmp_path = tmp.0.clone().unwrap_or_default();
        {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            // evidence is for the service's own user only
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp_path)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        // Another replica may have finished the same content meanwhile: keep theirs.
        if is_complete(&path, bytes.len()) {
            return Ok(()); // `tmp` is dropped, deleting the temp file
        }
        fs::rename(&tmp_path, &path)?;
        tmp.0 = None;
        #[cfg(unix)]
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all(); // make the rename durable; best effort
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        Ok(fs::read(self.path_for(key)?)?)
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        // Directories are kept: removing them would race with another replica's put.
        match fs::remove_file(self.path_for(key)?) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => Ok(other?),
        }
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match fs::metadata(self.path_for(key)?) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn check(&self) -> Result<(), StorageError> {
        match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(StorageError::Unavailable(
                format!("{} is not a directory", self.root.display()).into(),
            )),
            Err(e) => Err(StorageError::Unavailable(Box::new(e))),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
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

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp directory removed on drop.
    struct TempRoot(PathBuf);

    impl TempRoot {
        fn new() -> Self {
            let p = std::env::temp_dir().join(format!("dti-storage-test-{}", uuid::Uuid::new_v4()));
            TempRoot(p)
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Every regular file under `dir`, recursively.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir(dir) else {
            return out;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    /// A minimal ZIP: stored entries, local headers, central directory, EOCD (CRCs zero:
    /// the sniffer never checks them).
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let offset = out.len() as u32;
            out.extend_from_slice(&ZIP_LOCAL);
            out.extend_from_slice(&20u16.to_le_bytes()); // version needed
            out.extend_from_slice(&0u16.to_le_bytes()); // flags
            out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
            out.extend_from_slice(&[0; 4]); // time, date
            out.extend_from_slice(&0u32.to_le_bytes()); // crc
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // extra
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);

            central.extend_from_slice(&ZIP_CENTRAL);
            central.extend_from_slice(&20u16.to_le_bytes()); // made by
            central.extend_from_slice(&20u16.to_le_bytes()); // needed
            central.extend_from_slice(&0u16.to_le_bytes()); // flags
            central.extend_from_slice(&0u16.to_le_bytes()); // method
            central.extend_from_slice(&[0; 4]); // time, date
            central.extend_from_slice(&0u32.to_le_bytes()); // crc
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&0u16.to_le_bytes()); // extra
            central.extend_from_slice(&0u16.to_le_bytes()); // comment
            central.extend_from_slice(&0u16.to_le_bytes()); // disk
            central.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
            central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&ZIP_EOCD);
        out.extend_from_slice(&[0; 4]); // disks
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // comment
        out
    }

    fn ooxml(main_part: &str) -> Vec<u8> {
        zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            (main_part, b"<x/>"),
        ])
    }

    /// One directory entry for `ole` below: (name, type, left, right, child).
    type DirEntry<'a> = (&'a str, u8, u32, u32, u32);

    /// A minimal v3 compound file: header, one FAT sector (sector 0), one directory sector
    /// (sector 1) holding up to four entries; entry 0 must be the root.
    fn ole(entries: &[DirEntry]) -> Vec<u8> {
        let mut b = vec![0u8; 512 * 3];
        b[..8].copy_from_slice(&OLE_MAGIC);
        b[24..26].copy_from_slice(&0x3Eu16.to_le_bytes()); // minor version
        b[26..28].copy_from_slice(&3u16.to_le_bytes()); // major version
        b[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes()); // byte order
        b[30..32].copy_from_slice(&9u16.to_le_bytes()); // sector shift
        b[32..34].copy_from_slice(&6u16.to_le_bytes()); // mini sector shift
        b[44..48].copy_from_slice(&1u32.to_le_bytes()); // FAT sectors
        b[48..52].copy_from_slice(&1u32.to_le_bytes()); // first directory sector
        b[56..60].copy_from_slice(&4096u32.to_le_bytes()); // mini stream cutoff
        b[60..64].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no mini FAT
        b[68..72].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no DIFAT chain
        for i in 0..109 {
            let v: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
            b[76 + 4 * i..80 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        // FAT: sector 0 is the FAT, sector 1 the (single-sector) directory.
        for i in 0..128 {
            let v: u32 = match i {
                0 => 0xFFFF_FFFD,
                1 => 0xFFFF_FFFE,
                _ => 0xFFFF_FFFF,
            };
            b[512 + 4 * i..516 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        for (i, (name, kind, left, right, child)) in entries.iter().enumerate() {
            let e = 1024 + 128 * i;
            let units: Vec<u16> = name.encode_utf16().collect();
            for (j, u) in units.iter().enumerate() {
                b[e + 2 * j..e + 2 * j + 2].copy_from_slice(&u.to_le_bytes());
            }
            b[e + 64..e + 66].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
            b[e + 66] = *kind;
            b[e + 68..e + 72].copy_from_slice(&left.to_le_bytes());
            b[e + 72..e + 76].copy_from_slice(&right.to_le_bytes());
            b[e + 76..e + 80].copy_from_slice(&child.to_le_bytes());
        }
        b
    }

    const NONE: u32 = CFB_NOSTREAM;

    fn ole_with_root_stream(name: &str) -> Vec<u8> {
        ole(&[
            ("Root Entry", 5, NONE, NONE, 1),
            (name, 2, NONE, NONE, NONE),
        ])
    }

    // --- sniffing: accepted kinds ---

    #[test]
    fn sniffs_images_and_pdf() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"), Some(FileKind::Pdf));
        assert_eq!(
            sniff(&[
                0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'
            ]),
            Some(FileKind::Png)
        );
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F']),
            Some(FileKind::Jpeg)
        );
        assert_eq!(sniff(b"GIF89a\x01\x00\x01\x00"), Some(FileKind::Gif));
        assert_eq!(sniff(b"GIF87a\x01\x00\x01\x00"), Some(FileKind::Gif));
        assert_eq!(sniff(b"RIFF\x24\x00\x00\x00WEBPVP8 "), Some(FileKind::Webp));
    }

    #[test]
    fn sniffs_ooxml_from_central_directory() {
        assert_eq!(sniff(&ooxml("word/document.xml")), Some(FileKind::Docx));
        assert_eq!(sniff(&ooxml("xl/workbook.xml")), Some(FileKind::Xlsx));
        assert_eq!(sniff(&ooxml("ppt/presentation.xml")), Some(FileKind::Pptx));
    }

    #[test]
    fn sniffs_odf_from_mimetype_entry() {
        let odt = zip(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<office:document-content/>"),
        ]);
        assert_eq!(sniff(&odt), Some(FileKind::Odt));
        let ods = zip(&[
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet",
            ),
            ("content.xml", b"<office:document-content/>"),
        ]);
        assert_eq!(sniff(&ods), Some(FileKind::Ods));
    }

    #[test]
    fn sniffs_legacy_office_from_ole_root_streams() {
        assert_eq!(
            sniff(&ole_with_root_stream("WordDocument")),
            Some(FileKind::Doc)
        );
        assert_eq!(
            sniff(&ole_with_root_stream("Workbook")),
            Some(FileKind::Xls)
        );
        assert_eq!(sniff(&ole_with_root_stream("Book")), Some(FileKind::Xls));
        assert_eq!(
            sniff(&ole_with_root_stream("PowerPoint Document")),
            Some(FileKind::Ppt)
        );
    }

    #[test]
    fn ole_embedded_object_does_not_change_the_kind() {
        // Workbook at the root, a Word document embedded in a sub-storage.
        let xls_with_doc = ole(&[
            ("Root Entry", 5, NONE, NONE, 1),
            ("Workbook", 2, NONE, 2, NONE),
            ("MBD0001", 1, NONE, NONE, 3),
            ("WordDocument", 2, NONE, NONE, NONE),
        ]);
        assert_eq!(sniff(&xls_with_doc), Some(FileKind::Xls));
    }

    #[test]
    fn other_or_broken_ole_files_are_refused() {
        assert_eq!(sniff(&OLE_MAGIC), None, "bare header");
        assert_eq!(sniff(&ole_with_root_stream("EncryptedPackage")), None);
        assert_eq!(
            sniff(&ole_with_root_stream("\u{4840}\u{3F3F}")),
            None,
            "MSI-like"
        );
        let cyclic = ole(&[("Root Entry", 5, NONE, NONE, 1), ("Foo", 2, NONE, 1, NONE)]);
        assert_eq!(sniff(&cyclic), None);
    }

    // --- sniffing: refused kinds ---

    #[test]
    fn refuses_executables_whatever_their_name() {
        // An .exe renamed report.pdf: MZ header, PE stub.
        let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF".to_vec();
        exe.extend_from_slice(b"This program cannot be run in DOS mode.%PDF-1.7");
        assert_eq!(sniff(&exe), None);
        assert_eq!(sniff(b"\x7FELF\x02\x01\x01\x00\x00\x00\x00\x00"), None);
        assert_eq!(sniff(b"#!/bin/sh\nrm -rf /\n"), None);
    }

    #[test]
    fn refuses_markup_text_and_empty() {
        assert_eq!(
            sniff(b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
            None
        );
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"),
            None
        );
        assert_eq!(sniff(b"<svg><script>alert(1)</script></svg>"), None);
        assert_eq!(sniff("Báo cáo chuyển đổi số năm 2025\n".as_bytes()), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"%PD"), None);
        assert_eq!(
            sniff(b"RIFF\x24\x00\x00\x00WAVEfmt "),
            None,
            "RIFF but not WebP"
        );
    }

    #[test]
    fn refuses_plain_and_odd_zips() {
        assert_eq!(
            sniff(&zip(&[("readme.txt", b"hello"), ("evil.exe", b"MZ")])),
            None
        );
        // word/ entries without [Content_Types].xml: not an OPC package.
        assert_eq!(sniff(&zip(&[("word/document.xml", b"<x/>")])), None);
        // Macro-enabled (docm) is refused.
        assert_eq!(
            sniff(&zip(&[
                ("[Content_Types].xml", b"<Types/>"),
                ("word/document.xml", b"<x/>"),
                ("word/vbaProject.bin", b"\xD0\xCF"),
            ])),
            None
        );
        // Ambiguous: both word/ and xl/ at the top.
        assert_eq!(
            sniff(&zip(&[
                ("[Content_Types].xml", b"<Types/>"),
                ("word/document.xml", b"<x/>"),
                ("xl/workbook.xml", b"<x/>"),
            ])),
            None
        );
        // ODF other than text/spreadsheet.
        assert_eq!(
            sniff(&zip(&[(
                "mimetype",
                b"application/vnd.oasis.opendocument.presentation"
            )])),
            None
        );
        // Empty archive, truncated archive, local header only.
        assert_eq!(sniff(&zip(&[])), None);
        let docx = ooxml("word/document.xml");
        assert_eq!(sniff(&docx[..docx.len() - 5]), None);
        assert_eq!(sniff(b"PK\x03\x04"), None);
    }

    #[test]
    fn kinds_have_mime_and_extension() {
        for k in FileKind::ALL {
            assert!(k.mime().contains('/'));
            assert!(!k.extension().is_empty() && !k.extension().contains('.'));
            assert_eq!(FileKind::from_mime(k.mime()), Some(k));
        }
        assert_eq!(FileKind::Docx.extension(), "docx");
        assert_eq!(FileKind::Jpeg.mime(), "image/jpeg");
        assert_eq!(FileKind::from_mime("text/html"), None);
    }

    // --- file names ---

    #[test]
    fn sanitize_strips_paths() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(
            sanitize_filename("C:\\Users\\an\\Desktop\\ke hoach.docx"),
            "ke hoach.docx"
        );
        assert_eq!(sanitize_filename("dir/"), "file");
    }

    #[test]
    fn sanitize_keeps_vietnamese() {
        assert_eq!(sanitize_filename("Báo cáo 2025.pdf"), "Báo cáo 2025.pdf");
        assert_eq!(
            sanitize_filename("Kế hoạch chuyển đổi số (bản cuối)_v2-final.xlsx"),
            "Kế hoạch chuyển đổi số (bản cuối)_v2-final.xlsx"
        );
        // Decomposed (NFD, as macOS sends it) comes out composed.
        let nfd = "Ba\u{0301}o ca\u{0301}o.pdf";
        assert_eq!(sanitize_filename(nfd), "Báo cáo.pdf");
    }

    #[test]
    fn sanitize_removes_controls_quotes_and_specials() {
        assert_eq!(
            sanitize_filename("bad\u{0}name\u{7}\u{1b}.pdf"),
            "badname.pdf"
        );
        assert_eq!(
            sanitize_filename("Báo\tcáo\r\n2025.pdf"),
            "Báo cáo 2025.pdf"
        );
        assert_eq!(
            sanitize_filename("x.pdf\"; filename*=UTF-8''evil.html"),
            "x.pdf filenameUTF-8evil.html"
        );
        assert_eq!(
            sanitize_filename("'quoted' \"name\";.pdf"),
            "quoted name.pdf"
        );
        assert_eq!(sanitize_filename("a<b>c|d?e*f:g.png"), "abcdefg.png");
        // Right-to-left override used to disguise "exe.pdf" as "fdp.exe".
        assert_eq!(
            sanitize_filename("invoice\u{202E}fdp.exe"),
            "invoicefdp.exe"
        );
        assert_eq!(
            sanitize_filename("  many    spaces \u{a0} here .pdf  "),
            "many spaces here .pdf"
        );
    }

    #[test]
    fn sanitize_handles_dots_and_empty() {
        assert_eq!(sanitize_filename("...."), "file");
        assert_eq!(sanitize_filename(""), "file");
        assert_eq!(sanitize_filename("\"\";;"), "file");
        assert_eq!(sanitize_filename(".htaccess"), "htaccess");
        assert_eq!(sanitize_filename(". . .hidden.pdf"), "hidden.pdf");
        assert_eq!(sanitize_filename("report.pdf..."), "report.pdf");
    }

    #[test]
    fn sanitize_limits_length_keeping_extension() {
        let long = format!("{}.pdf", "a".repeat(500));
        let s = sanitize_filename(&long);
        assert_eq!(s.len(), 200);
        assert!(s.ends_with(".pdf"));

        // Multi-byte: must cut on a char boundary.
        let long_vi = format!("{}.docx", "Báo cáo ".repeat(60));
        let s = sanitize_filename(&long_vi);
        assert!(s.len() <= 200, "{} bytes", s.len());
        assert!(s.ends_with(".docx"));
        assert!(s.starts_with("Báo cáo Báo"));
        assert!(!s.contains(" .docx"));

        // No extension at all.
        let s = sanitize_filename(&"đ".repeat(500));
        assert!(s.len() <= 200 && s.len() >= 198);
        assert!(s.chars().all(|c| c == 'đ'));
    }

    #[test]
    fn names_get_the_extension_of_their_content() {
        // the type is the content's: a PDF named like a page downloads as a PDF
        assert_eq!(name_for_kind("poly.html", FileKind::Pdf), "poly.pdf");
        assert_eq!(name_for_kind("poly.HTM", FileKind::Pdf), "poly.pdf");
        assert_eq!(name_for_kind("setup.exe", FileKind::Png), "setup.png");
        assert_eq!(
            name_for_kind("bang-diem.doc", FileKind::Docx),
            "bang-diem.docx"
        );
        // a matching extension is kept as written, aliases included
        assert_eq!(name_for_kind("Báo cáo.PDF", FileKind::Pdf), "Báo cáo.PDF");
        assert_eq!(name_for_kind("anh.jpeg", FileKind::Jpeg), "anh.jpeg");
        assert_eq!(name_for_kind("anh.jpg", FileKind::Jpeg), "anh.jpg");
        // no extension, or a dot that is not one: appended
        assert_eq!(name_for_kind("bao-cao", FileKind::Pdf), "bao-cao.pdf");
        assert_eq!(
            name_for_kind("Báo cáo v1.2", FileKind::Pdf),
            "Báo cáo v1.2.pdf"
        );
        assert_eq!(
            name_for_kind("ke.hoach 2025", FileKind::Xlsx),
            "ke.hoach 2025.xlsx"
        );
        assert_eq!(name_for_kind("", FileKind::Pdf), "file.pdf");
        assert_eq!(name_for_kind(".pdf", FileKind::Png), "pdf.png");
        // still sanitised, and still within the length limit
        assert_eq!(
            name_for_kind("../x\"; filename=a.html", FileKind::Pdf),
            "x filenamea.pdf"
        );
        let long = name_for_kind(&format!("{}.html", "a".repeat(300)), FileKind::Pdf);
        assert!(long.len() <= 200 && long.ends_with("a.pdf"), "{long}");
        for kind in FileKind::ALL {
            assert_eq!(kind.extensions()[0], kind.extension());
            let name = name_for_kind("x.bin", kind);
            assert_eq!(name, format!("x.{}", kind.extension()));
            assert_eq!(name_for_kind(&name, kind), name, "stable");
        }
    }

    // --- keys ---

    #[test]
    fn key_layout() {
        let h = "ab".repeat(32);
        assert_eq!(key_for(&h), format!("ab/ab/{h}"));
        assert!(validate_key(&key_for(&h)).is_ok());
        assert_eq!(key_for("ABCDEF"), "ab/cd/abcdef");
    }

    #[test]
    fn bad_keys_are_refused() {
        let root = TempRoot::new();
        let s = LocalDiskStore::new(&root.0).unwrap();
        for key in [
            "../etc/passwd",
            "ab/../../x",
            "..",
            "ab/..",
            "/etc/passwd",
            "ab//cd",
            "ab/cd/",
            "",
            "AB/CD/EF",
            "ab/cd/x.pdf",
            "ab\\cd",
        ] {
            let err = s.put(key, b"x").unwrap_err();
            assert!(
                matches!(&err, StorageError::Io(e) if e.kind() == io::ErrorKind::InvalidInput),
                "{key:?}: {err:?}"
            );
            assert!(
                matches!(s.get(key), Err(StorageError::Io(e)) if e.kind() == io::ErrorKind::InvalidInput)
            );
            assert!(s.delete(key).is_err());
            assert!(s.exists(key).is_err());
        }
        assert!(files_under(&root.0).is_empty());
    }

    // --- store ---

    #[test]
    fn identical_content_is_stored_once() {
        let root = TempRoot::new();
        let s = LocalDiskStore::new(&root.0).unwrap();
        let pdf = b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n";
        let a = store(&s, pdf, 1024).unwrap();
        let b = store(&s, pdf, 1024).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.kind, FileKind::Pdf);
        assert_eq!(a.size, pdf.len() as u64);
        assert_eq!(a.sha256.len(), 64);
        assert!(
            a.sha256
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert_eq!(a.sha256, hex::encode(Sha256::digest(pdf)));
        assert_eq!(a.storage_key, key_for(&a.sha256));
        let files = files_under(&root.0);
        assert_eq!(
            files,
            vec![root.0.join(&a.storage_key)],
            "one file, no temp left"
        );
        assert_eq!(s.get(&a.storage_key).unwrap(), pdf);
        assert!(s.exists(&a.storage_key).unwrap());

        let png = store(&s, &PNG_MAGIC, 1024).unwrap();
        assert_ne!(png.storage_key, a.storage_key);
        assert_eq!(files_under(&root.0).len(), 2);
    }

    #[test]
    fn too_large_leaves_nothing() {
        let root = TempRoot::new();
        let s = LocalDiskStore::new(&root.0).unwrap();
        let mut big = b"%PDF-1.7\n".to_vec();
        big.resize(2048, b' ');
        let err = store(&s, &big, 2047).unwrap_err();
        assert!(
            matches!(err, StorageError::TooLarge { limit: 2047 }),
            "{err:?}"
        );
        assert!(files_under(&root.0).is_empty());
        assert!(
            fs::read_dir(&root.0).unwrap().next().is_none(),
            "root stays empty"
        );
        // Exactly at the limit is fine.
        assert!(store(&s, &big, 2048).is_ok());
    }

    #[test]
    fn empty_and_forbidden_leave_nothing() {
        let root = TempRoot::new();
        let s = LocalDiskStore::new(&root.0).unwrap();
        assert!(matches!(store(&s, b"", 1024), Err(StorageError::Empty)));
        let err = store(&s, b"MZ\x90\x00 this is report.pdf", 1024).unwrap_err();
        assert!(
            matches!(err, StorageError::ForbiddenType { declared: None }),
            "{err:?}"
        );
        assert!(matches!(
            store(&s, b"<html></html>", 1024),
            Err(StorageError::ForbiddenType { .. })
        ));
        assert!(fs::read_dir(&root.0).unwrap().next().is_none());

        let err = err.with_declared("application/pdf");
        assert_eq!(
            err.to_string(),
            "this file type is not allowed (declared: application/pdf)"
        );
    }

    #[test]
    fn put_is_idempotent_and_repairs_truncated_blobs() {
        let root = TempRoot::new();
        let s = LocalDiskStore::new(&root.0).unwrap();
        let key = "01/23/0123";
        s.put(key, b"hello").unwrap();
        s.put(key, b"hello").unwrap();
        assert_eq!(s.get(key).unwrap(), b"hello");
        // A truncated leftover (e.g. from a manual copy) is replaced.
        fs::write(root.0.join(key), b"he").unwrap();
        s.put(key, b"hello").unwrap();
        assert_eq!(s.get(key).unwrap(), b"hello");
        assert_eq!(files_under(&root.0).len(), 1);
    }

    #[test]
    fn get_delete_exists_on_missing_keys() {
        let root = TempRoot::new();
        let s = LocalDiskStore::new(root.0.join("nested/root")).unwrap();
        assert!(s.root().is_dir());
        let key = key_for(&"f".repeat(64));
        assert!(!s.exists(&key).unwrap());
        assert!(
            matches!(s.get(&key), Err(StorageError::Io(e)) if e.kind() == io::ErrorKind::NotFound)
        );
        s.delete(&key).unwrap();
        s.put(&key, b"x").unwrap();
        assert!(s.exists(&key).unwrap());
        s.delete(&key).unwrap();
        assert!(!s.exists(&key).unwrap());
        s.delete(&key).unwrap();
    }

    #[test]
    fn concurrent_puts_of_the_same_content() {
        let root = TempRoot::new();
        let s = LocalDiskStore::new(&root.0).unwrap();
        let big = vec![b'x'; 64 * 1024];
        let docx = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", &big),
        ]);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| store(&s, &docx, 1 << 20).unwrap());
            }
        });
        let files = files_under(&root.0);
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(fs::read(&files[0]).unwrap(), docx);
    }

    #[test]
    fn store_is_object_safe() {
        let root = TempRoot::new();
        let s: std::sync::Arc<dyn BlobStore> =
            std::sync::Arc::new(LocalDiskStore::new(&root.0).unwrap());
        let blob = store(&*s, b"GIF89a\x01\x00\x01\x00", 100).unwrap();
        assert_eq!(blob.kind, FileKind::Gif);
    }
}
