use super::filename::*;
use super::sniff::*;
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

const ZIP_CENTRAL: [u8; 4] = *b"PK\x01\x02";
const ZIP_EOCD: [u8; 4] = *b"PK\x05\x06";

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

/// No sibling, no child (`NOSTREAM` in the compound-file directory).
const NONE: u32 = 0xFFFF_FFFF;

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
    // Workbook at the root, a Word document embedded in a sub-storage (siblings ordered as
    // the format requires: shorter names first, so MBD0001 is left of Workbook).
    let xls_with_doc = ole(&[
        ("Root Entry", 5, NONE, NONE, 1),
        ("Workbook", 2, 2, NONE, NONE),
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
    assert!(matches!(s.get(&key), Err(StorageError::Io(e)) if e.kind() == io::ErrorKind::NotFound));
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

// --- sniffing: hostile bytes ---

/// Real containers of every kind the sniffer opens: OOXML and ODF archives, a workbook as a
/// spreadsheet application writes it (deflated entries), compound files.
fn containers() -> Vec<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet()
        .write_string(0, 0, "unit_code")
        .expect("cell");
    vec![
        ooxml("word/document.xml"),
        zip(&[
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet",
            ),
            ("content.xml", b"<office:document-content/>"),
        ]),
        book.save_to_buffer().expect("xlsx"),
        ole_with_root_stream("Workbook"),
        ole(&[
            ("Root Entry", 5, NONE, NONE, 1),
            ("Workbook", 2, 2, NONE, NONE),
            ("MBD0001", 1, NONE, NONE, 3),
            ("WordDocument", 2, NONE, NONE, NONE),
        ]),
    ]
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes, and any bytes behind a container's magic number: a kind or `None`,
        /// never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(
            magic in prop::sample::select(vec![&b""[..], &ZIP_LOCAL[..], &OLE_MAGIC[..]]),
            rest in prop::collection::vec(any::<u8>(), 0..4096),
        ) {
            let mut bytes = magic.to_vec();
            bytes.extend_from_slice(&rest);
            let _ = sniff(&bytes);
        }

        /// A real container cut short or with bytes overwritten: a kind or `None`, never a
        /// panic (cut short, a ZIP has lost its central directory and is refused).
        #[test]
        fn truncated_or_corrupted_containers_never_panic(
            which in 0usize..5,
            cut in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
        ) {
            let mut bytes = containers().swap_remove(which);
            let before = sniff(&bytes);
            prop_assert!(before.is_some());
            let truncated = &bytes[..cut.index(bytes.len())];
            let kind = sniff(truncated);
            if truncated.starts_with(&ZIP_LOCAL) {
                prop_assert_eq!(kind, None);
            }
            let len = bytes.len();
            for (at, value) in edits {
                bytes[at.index(len)] = value;
            }
            let _ = sniff(&bytes);
        }
    }
}
