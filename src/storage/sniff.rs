//! What a file is, from its bytes: the accepted kinds and the readers of their signatures
//! (ZIP entry names for OOXML and ODF, the compound-file directory for legacy Office).

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
pub(super) const ZIP_CENTRAL: [u8; 4] = *b"PK\x01\x02";
pub(super) const ZIP_EOCD: [u8; 4] = *b"PK\x05\x06";

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

pub(super) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Entry names from the ZIP central directory, or `None` if it is not a well-formed,
/// single-disk, non-ZIP64 archive.
pub(super) fn zip_entry_names(b: &[u8]) -> Option<Vec<&[u8]>> {
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
pub(super) fn odf_mimetype(b: &[u8]) -> Option<&[u8]> {
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

pub(super) fn sniff_zip(b: &[u8]) -> Option<FileKind> {
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

pub(super) const CFB_NOSTREAM: u32 = 0xFFFF_FFFF;
pub(super) const CFB_MAX_REGSECT: u32 = 0xFFFF_FFFA;

/// Legacy Office: an OLE compound file whose root storage holds the application's main
/// stream. Follows the FAT to read the directory and walks only the root's children, so a
/// spreadsheet embedded in a Word document does not make it an `.xls`.
pub(super) fn sniff_ole(b: &[u8]) -> Option<FileKind> {
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
