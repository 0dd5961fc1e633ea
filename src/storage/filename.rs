//! Display names of uploaded files: sanitised, with the extension of what the content is.

use super::*;

pub(super) const MAX_FILENAME_BYTES: usize = 200;
/// A trailing `.xyz` longer than this is not treated as an extension when truncating.
pub(super) const MAX_EXTENSION_BYTES: usize = 16;

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
