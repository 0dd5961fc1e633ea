//! What a file is, from its bytes: the accepted kinds and the readers of their signatures
//! (ZIP entry names for OOXML and ODF, the compound-file directory for legacy Office). The
//! containers are parsed by the `zip` and `cfb` crates, never by hand.

use std::io::Read;

use super::*;

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

pub(super) const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
pub(super) const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
pub(super) const ZIP_LOCAL: [u8; 4] = *b"PK\x03\x04";

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

type Zip<'a> = zip::ZipArchive<std::io::Cursor<&'a [u8]>>;

/// The ODF `mimetype` declaration: the archive's first local entry, named `mimetype`, stored
/// uncompressed (read raw: its bytes as they are in the file, at most 100 of them).
fn odf_mimetype(archive: &mut Zip<'_>) -> Option<Vec<u8>> {
    let index = archive.index_for_name_raw(b"mimetype")?;
    let entry = archive.by_index_raw(index).ok()?;
    if entry.header_start() != 0 || entry.compression() != zip::CompressionMethod::Stored {
        return None;
    }
    let mut out = Vec::new();
    entry.take(100).read_to_end(&mut out).ok()?;
    Some(out)
}

/// OOXML from the entry names of the central directory, ODF from its `mimetype` entry.
fn sniff_zip(b: &[u8]) -> Option<FileKind> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(b)).ok()?;
    if let Some(mimetype) = odf_mimetype(&mut archive) {
        return match mimetype.as_slice() {
            b"application/vnd.oasis.opendocument.text" => Some(FileKind::Odt),
            b"application/vnd.oasis.opendocument.spreadsheet" => Some(FileKind::Ods),
            _ => None,
        };
    }
    let names: Vec<&[u8]> = archive.file_names_raw().collect();
    let has_prefix = |prefix: &[u8]| names.iter().any(|n| n.starts_with(prefix));
    let is_opc = names.contains(&&b"[Content_Types].xml"[..]);
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

/// Legacy Office: an OLE compound file whose root storage holds the application's main
/// stream. Only the root's children count, so a spreadsheet embedded in a Word document does
/// not make it an `.xls`; a file the `cfb` crate finds malformed (a cycle in the directory, a
/// broken sector chain…) is refused.
fn sniff_ole(b: &[u8]) -> Option<FileKind> {
    let file = cfb::CompoundFile::open(std::io::Cursor::new(b)).ok()?;
    let mut found = None;
    for entry in file.read_root_storage() {
        if !entry.is_stream() {
            continue;
        }
        let name = entry.name();
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
