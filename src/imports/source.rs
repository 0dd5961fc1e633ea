//! The rows of an uploaded file, whatever its format, read from a spooled copy on disk one row
//! at a time (CSV with the `csv` crate, XLSX with `calamine`'s streaming cell reader; ODS and
//! XLS through `calamine`'s sheet ranges; JSON rows with serde_json).
//!
//! - The format is sniffed from the content, never from a name or a declared type: a ZIP or
//!   OLE container is a workbook (XLSX, ODS, XLS), `{` starts JSON rows, PDF, images and other
//!   binary files are refused, the rest is read as CSV.
//! - CSV must be UTF-8 (a byte-order mark is accepted and skipped); other text is refused,
//!   naming the encoding detected (`chardetng`), e.g. `windows-1258` for a file saved as
//!   "CSV" by a Vietnamese Excel.
//! - A workbook is read from its sheet named `answers` (the templates'), else its first sheet;
//!   the first row is the header. A formula is read as its cached value; a formula the file
//!   holds no value for, and an error cell (`#DIV/0!`), are [`Field::Invalid`] with the reason.
//! - Merged cells are named before the header: for XLSX and XLS by `calamine`, for ODS from the
//!   sheet's `content.xml` (calamine does not give them for ODS), read as a stream.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use calamine::{Data, DataRef, Reader};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use utoipa::ToSchema;

use super::layout::Field;

/// The format of an uploaded file, as sniffed from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Xlsx,
    Ods,
    Xls,
    Json,
}

/// Why a file cannot be read at all (row problems are reported per row instead).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the file is empty")]
    Empty,
    #[error("the content is {0}, not a CSV, XLSX, ODS or JSON file")]
    Unsupported(&'static str),
    #[error("the CSV file is not UTF-8: it looks like {encoding}")]
    NotUtf8 { encoding: String, line: u64 },
    #[error("the file cannot be read as {format:?}: {reason}")]
    Malformed { format: Format, reason: String },
    #[error("a text holds the NUL character")]
    Nul(Vec<crate::error::FieldError>),
    #[error("reading the spooled file: {0}")]
    Io(#[from] std::io::Error),
}

fn malformed(format: Format, reason: impl std::fmt::Display) -> SourceError {
    SourceError::Malformed {
        format,
        reason: reason.to_string(),
    }
}

/// The format of a file starting with `head`.
pub fn sniff(head: &[u8]) -> Result<Format, SourceError> {
    let trimmed = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .trim_ascii_start();
    if head.is_empty() || trimmed.is_empty() {
        return Err(SourceError::Empty);
    }
    if head.starts_with(b"PK\x03\x04") {
        // an OpenDocument file names its type in its first entry, `mimetype`, stored plainly
        let ods = head
            .windows(46)
            .any(|w| w == b"application/vnd.oasis.opendocument.spreadsheet");
        return Ok(if ods { Format::Ods } else { Format::Xlsx });
    }
    if head.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Ok(Format::Xls);
    }
    for (magic, what) in [
        (&b"%PDF"[..], "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"Rar!", "a RAR archive"),
        (b"7z\xBC\xAF", "a 7-Zip archive"),
    ] {
        if head.starts_with(magic) {
            return Err(SourceError::Unsupported(what));
        }
    }
    if trimmed[0] == b'{' {
        return Ok(Format::Json);
    }
    Ok(Format::Csv)
}

/// The encoding of text that is not UTF-8: a UTF-16 byte-order mark, else `chardetng`'s guess
/// (the encoding name, e.g. `windows-1258`).
pub fn detect_encoding(head: &[u8]) -> String {
    if head.starts_with(b"\xFF\xFE") {
        return "UTF-16LE".into();
    }
    if head.starts_with(b"\xFE\xFF") {
        return "UTF-16BE".into();
    }
    let mut d = chardetng::EncodingDetector::new();
    d.feed(head, true);
    d.guess(Some(b"vn"), true).name().to_string()
}

/// Where a row was read: the CSV record, the worksheet row (the header is 1), the position in a
/// JSON body's `rows` (from 1).
pub type RowNumber = u64;

/// What [`read`] hands over: the header names first, then each row.
pub enum Item<'a> {
    /// The key/value rows of a workbook's hidden `_meta` sheet (before the header).
    Meta(Vec<(String, String)>),
    Header(&'a [String]),
    Row(RowNumber, Vec<Field>),
    /// The merged cells of the sheet (XLSX, XLS, ODS; before the header): a merged region's value is in
    /// its first cell only, the others read as empty, so the reader refuses them.
    Merged(Vec<MergedCells>),
}

/// A region of merged cells: rows as [`RowNumber`]s (the header is 1), columns from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedCells {
    pub rows: (RowNumber, RowNumber),
    pub columns: (usize, usize),
}

impl MergedCells {
    /// `A2:B3`, as a spreadsheet names it.
    pub fn range(&self) -> String {
        format!(
            "{}{}:{}{}",
            column_letters(self.columns.0),
            self.rows.0,
            column_letters(self.columns.1),
            self.rows.1
        )
    }

    pub fn covers_row(&self, row: RowNumber) -> bool {
        (self.rows.0..=self.rows.1).contains(&row)
    }
}

/// `A` for 0, `Z` for 25, `AA` for 26.
pub fn column_letters(mut c: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Reads the header and then every row of `file`, calling `visit` for each; an `Err` from it
/// stops the reading and is returned.
pub fn read<E: From<SourceError>>(
    mut file: File,
    format: Format,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), E>,
) -> Result<(), E> {
    file.seek(SeekFrom::Start(0)).map_err(SourceError::from)?;
    match format {
        Format::Csv => read_csv(file, visit),
        Format::Xlsx => read_xlsx(file, visit),
        Format::Ods => {
            // calamine has read the whole archive when it hands over the sheet names, so the
            // copy (sharing the file's position) is free to read it again
            let copy = file.try_clone().map_err(SourceError::from)?;
            read_range::<calamine::Ods<_>, E>(file, format, visit, |_, sheet| {
                ods_merged_cells(copy, sheet)
            })
        }
        Format::Xls => read_range::<calamine::Xls<_>, E>(file, format, visit, |book, sheet| {
            // the sheet's MERGEDCELLS records, read with the workbook
            Ok(book
                .merge_cells_by_sheet_name(sheet)
                .map_err(|e| malformed(Format::Xls, e))?
                .iter()
                .map(merged_cells)
                .collect())
        }),
        Format::Json => read_json(file, visit),
    }
}

fn read_csv<E: From<SourceError>>(
    mut file: File,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut head = vec![0u8; 4];
    let n = file.read(&mut head).map_err(SourceError::from)?;
    if head[..n].starts_with(b"\xFF\xFE") || head[..n].starts_with(b"\xFE\xFF") {
        return Err(SourceError::NotUtf8 {
            encoding: detect_encoding(&head[..n]),
            line: 1,
        }
        .into());
    }
    file.seek(SeekFrom::Start(0)).map_err(SourceError::from)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(
            64 * 1024,
            file.try_clone().map_err(SourceError::from)?,
        ));
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    // rows as a spreadsheet shows them (a quoted line break stays in its row): the header is 1
    let mut number: RowNumber = 0;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| malformed(Format::Csv, e))?;
        if !more {
            return Ok(());
        }
        number += 1;
        let line = number;
        let mut texts = Vec::with_capacity(record.len());
        for field in record.iter() {
            match std::str::from_utf8(field) {
                Ok(t) => texts.push(t),
                Err(_) => {
                    let mut sample = Vec::with_capacity(1 << 20);
                    let mut f = file.try_clone().map_err(SourceError::from)?;
                    f.seek(SeekFrom::Start(0)).map_err(SourceError::from)?;
                    f.take(1 << 20)
                        .read_to_end(&mut sample)
                        .map_err(SourceError::from)?;
                    return Err(SourceError::NotUtf8 {
                        encoding: detect_encoding(&sample),
                        line,
                    }
                    .into());
                }
            }
        }
        if first {
            first = false;
            let names: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
            visit(Item::Header(&names))?;
        } else {
            visit(Item::Row(
                line,
                texts.into_iter().map(Field::text).collect(),
            ))?;
        }
    }
}

/// A spreadsheet number (every one is a double): a whole number as an integer (`2`, not
/// `2.0`), any other as the shortest decimal that reads back as the same double.
fn number(f: f64) -> Field {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Field::Number(Number::from(f as i64));
    }
    match Number::from_f64(f) {
        Some(n) => Field::Number(n),
        None => Field::Invalid("not a finite number".into()),
    }
}

fn field_of_ref(v: DataRef<'_>, formula: Option<&str>) -> Field {
    match v {
        DataRef::Empty => match formula {
            Some(f) => Field::Invalid(format!("the formula ={f} has no saved value")),
            None => Field::Empty,
        },
        DataRef::String(s) if s.is_empty() && formula.is_some() => Field::Invalid(format!(
            "the formula ={} has no saved value",
            formula.unwrap_or_default()
        )),
        DataRef::Int(i) => Field::Number(Number::from(i)),
        DataRef::Float(f) => number(f),
        DataRef::String(s) => Field::text(s),
        DataRef::SharedString(s) => Field::text(s),
        DataRef::Bool(b) => Field::Bool(b),
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(dt) => Field::Date(dt.date()),
            None => Field::Invalid("not a date".into()),
        },
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Field::text(s),
        DataRef::Error(e) => Field::Invalid(format!("the cell holds the error {e}")),
    }
}

fn field_of(v: &Data) -> Field {
    match v {
        Data::Empty => Field::Empty,
        Data::Int(i) => Field::Number(Number::from(*i)),
        Data::Float(f) => number(*f),
        Data::String(s) => Field::text(s.clone()),
        Data::Bool(b) => Field::Bool(*b),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) => Field::Date(dt.date()),
            None => Field::Invalid("not a date".into()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => Field::text(s.clone()),
        Data::Error(e) => Field::Invalid(format!("the cell holds the error {e}")),
    }
}

fn text_of(f: &Field) -> String {
    match f {
        Field::Text(t) => t.clone(),
        Field::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The first two columns of a sheet as key/value pairs.
fn pairs(range: &calamine::Range<Data>) -> Vec<(String, String)> {
    range
        .rows()
        .filter_map(|r| {
            let k = text_of(&field_of(r.first()?));
            let v = r.get(1).map(|v| text_of(&field_of(v))).unwrap_or_default();
            Some((k, v))
        })
        .collect()
}

/// The sheet to read: `answers` when the workbook has one, else the first.
fn sheet_name(names: &[String]) -> Option<String> {
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case("answers"))
        .or_else(|| names.first())
        .cloned()
}

fn read_xlsx<E: From<SourceError>>(
    file: File,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let bad = |e: calamine::XlsxError| malformed(Format::Xlsx, e);
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(BufReader::new(file)).map_err(bad)?;
    let names = book.sheet_names();
    let Some(name) = sheet_name(&names) else {
        return Err(malformed(Format::Xlsx, "the workbook has no sheet").into());
    };
    if names.iter().any(|n| n == super::template::META_SHEET) {
        let range = book
            .worksheet_range(super::template::META_SHEET)
            .map_err(bad)?;
        visit(Item::Meta(pairs(&range)))?;
    }
    let merged: Vec<MergedCells> = book
        .merge_cells_by_sheet_name(&name)
        .map_err(bad)?
        .iter()
        .map(merged_cells)
        .collect();
    if !merged.is_empty() {
        visit(Item::Merged(merged))?;
    }
    let mut cells = book.worksheet_cells_reader(&name).map_err(bad)?;
    // cells arrive row by row, left to right
    let mut current: Option<u32> = None;
    let mut fields: Vec<Field> = Vec::new();
    let mut header_done = false;
    let mut flush = |r: u32, fields: Vec<Field>, header_done: &mut bool| -> Result<(), E> {
        if !*header_done {
            *header_done = true;
            let names: Vec<String> = fields.iter().map(text_of).collect();
            visit(Item::Header(&names))
        } else {
            visit(Item::Row(u64::from(r) + 1, fields))
        }
    };
    while let Some(cell) = cells.next_cell_with_formula().map_err(bad)? {
        let (r, c) = cell.pos;
        if current != Some(r) {
            if let Some(prev) = current {
                flush(prev, std::mem::take(&mut fields), &mut header_done)?;
            }
            current = Some(r);
        }
        let c = c as usize;
        if fields.len() <= c {
            fields.resize(c + 1, Field::Empty);
        }
        fields[c] = field_of_ref(cell.value, cell.formula.as_deref());
    }
    if let Some(prev) = current {
        flush(prev, fields, &mut header_done)?;
    }
    if !header_done {
        return Err(SourceError::Empty.into());
    }
    Ok(())
}

/// A merged region as calamine gives it (rows and columns from 0).
fn merged_cells(d: &calamine::Dimensions) -> MergedCells {
    MergedCells {
        rows: (u64::from(d.start.0) + 1, u64::from(d.end.0) + 1),
        columns: (d.start.1 as usize, d.end.1 as usize),
    }
}

/// Reads a workbook through its sheet range; `merged` gives the merged cells of the sheet read.
fn read_range<R, E>(
    file: File,
    format: Format,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), E>,
    merged: impl FnOnce(&mut R, &str) -> Result<Vec<MergedCells>, SourceError>,
) -> Result<(), E>
where
    R: Reader<BufReader<File>>,
    R::Error: std::fmt::Display,
    E: From<SourceError>,
{
    let mut book = R::new(BufReader::new(file)).map_err(|e| malformed(format, e))?;
    let names = book.sheet_names();
    let Some(name) = sheet_name(&names) else {
        return Err(malformed(format, "the workbook has no sheet").into());
    };
    if names.iter().any(|n| n == super::template::META_SHEET) {
        let range = book
            .worksheet_range(super::template::META_SHEET)
            .map_err(|e| malformed(format, e))?;
        visit(Item::Meta(pairs(&range)))?;
    }
    let merged = merged(&mut book, &name)?;
    if !merged.is_empty() {
        visit(Item::Merged(merged))?;
    }
    let range = book
        .worksheet_range(&name)
        .map_err(|e| malformed(format, e))?;
    let start = range.start().map_or(0, |(r, _)| r);
    let start_col = range.start().map_or(0, |(_, c)| c) as usize;
    let mut rows = range.rows();
    let Some(first) = rows.next() else {
        return Err(SourceError::Empty.into());
    };
    let pad = |cells: Vec<Field>| {
        let mut out = vec![Field::Empty; start_col];
        out.extend(cells);
        out
    };
    let names: Vec<String> = pad(first.iter().map(field_of).collect())
        .iter()
        .map(text_of)
        .collect();
    visit(Item::Header(&names))?;
    for (k, cells) in rows.enumerate() {
        visit(Item::Row(
            u64::from(start) + k as u64 + 2,
            pad(cells.iter().map(field_of).collect()),
        ))?;
    }
    Ok(())
}

/// The merged regions of the sheet named `sheet` of an ODS file: its `table:table-cell`s
/// spanning more than one column or row (`table:number-columns-spanned`,
/// `table:number-rows-spanned`), placed by counting the cells and rows before them with their
/// repetitions (`table:number-columns-repeated`, `table:number-rows-repeated`); covered cells
/// count as cells. `content.xml` is read as a stream of XML events, one at a time, whatever
/// the size of the sheet. A spanning cell that is also repeated (no spreadsheet application
/// writes one) gives one region over all its repetitions.
fn ods_merged_cells(file: File, sheet: &str) -> Result<Vec<MergedCells>, SourceError> {
    use quick_xml::events::{BytesStart, Event};

    let bad = |e: &dyn std::fmt::Display| malformed(Format::Ods, e);
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(&e))?;
    let content = archive.by_name("content.xml").map_err(|e| bad(&e))?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(content));
    xml.config_mut().check_end_names = false;
    // a count attribute of an element, at least 1 (what is not a count is read as 1, as the
    // sheet's cells were: calamine refuses a file whose counts it cannot read)
    let count = |e: &BytesStart<'_>, name: &str| -> u64 {
        e.try_get_attribute(name)
            .ok()
            .flatten()
            .and_then(|a| a.value.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let column = |c: u64| usize::try_from(c).unwrap_or(usize::MAX);

    let mut regions = Vec::new();
    // inside the sheet read, and how deep in tables nested in its cells
    let mut inside = false;
    let mut nested = 0u32;
    // the current row (from 0) and its repetitions, the current column (from 0)
    let (mut row, mut rows_repeated, mut col) = (0u64, 1u64, 0u64);
    let mut buf = Vec::new();
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    "table:table" if inside => nested += u32::from(!empty),
                    "table:table" => {
                        let name = e.try_get_attribute("table:name").map_err(|e| bad(&e))?;
                        let name = match &name {
                            Some(a) => quick_xml::escape::unescape(&a.value)
                                .map_err(|e| bad(&e))?
                                .into_owned(),
                            None => continue,
                        };
                        // a later sheet of the same name is the one read (as calamine does)
                        if name == sheet && !empty {
                            inside = true;
                            regions.clear();
                            (row, rows_repeated, col) = (0, 1, 0);
                        }
                    }
                    _ if !inside || nested > 0 => {}
                    "table:table-row" => {
                        rows_repeated = count(e, "table:number-rows-repeated");
                        col = 0;
                        if empty {
                            row = row.saturating_add(rows_repeated);
                        }
                    }
                    name @ ("table:table-cell" | "table:covered-table-cell") => {
                        let repeated = count(e, "table:number-columns-repeated");
                        if name == "table:table-cell" {
                            let columns = count(e, "table:number-columns-spanned");
                            let rows = count(e, "table:number-rows-spanned");
                            if columns > 1 || rows > 1 {
                                let last_row =
                                    row.saturating_add(rows_repeated).saturating_add(rows - 1);
                                let last_col =
                                    col.saturating_add(repeated - 1).saturating_add(columns - 1);
                                regions.push(MergedCells {
                                    rows: (row.saturating_add(1), last_row),
                                    columns: (column(col), column(last_col)),
                                });
                            }
                        }
                        col = col.saturating_add(repeated);
                    }
                    _ => {}
                }
            }
            Event::End(ref e) if inside => match e.name().as_ref() {
                "table:table" if nested > 0 => nested -= 1,
                "table:table" => inside = false,
                "table:table-row" if nested == 0 => {
                    row = row.saturating_add(rows_repeated);
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(regions)
}

#[derive(serde::Deserialize)]
struct JsonRows {
    rows: Vec<Map<String, Value>>,
}

fn read_json<E: From<SourceError>>(
    file: File,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let value: Value =
        serde_json::from_reader(BufReader::new(file)).map_err(|e| malformed(Format::Json, e))?;
    // a NUL is refused by its JSON pointer, as in every JSON body
    let nul = crate::input::nul_fields(&value, "");
    if !nul.is_empty() {
        return Err(SourceError::Nul(nul).into());
    }
    let body: JsonRows = serde_json::from_value(value).map_err(|e| malformed(Format::Json, e))?;
    // the header: every member name used by any row, in order of first use
    let mut names: Vec<String> = Vec::new();
    for r in &body.rows {
        for k in r.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    if names.is_empty() {
        names = vec!["unit_code".into(), "node_code".into()];
    }
    visit(Item::Header(&names))?;
    for (k, r) in body.rows.into_iter().enumerate() {
        let cells = names
            .iter()
            .map(|n| r.get(n).map_or(Field::Empty, Field::from_json))
            .collect();
        visit(Item::Row(k as u64 + 1, cells))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_sniffed_from_content() {
        assert_eq!(sniff(b"PK\x03\x04rest").unwrap(), Format::Xlsx);
        assert_eq!(
            sniff(b"\xEF\xBB\xBFunit_code,node_code").unwrap(),
            Format::Csv
        );
        assert_eq!(sniff(b"  {\"rows\": []}").unwrap(), Format::Json);
        assert!(matches!(
            sniff(b"%PDF-1.7"),
            Err(SourceError::Unsupported(_))
        ));
        assert!(matches!(sniff(b""), Err(SourceError::Empty)));
        assert!(matches!(sniff(b"\xEF\xBB\xBF  "), Err(SourceError::Empty)));
    }

    #[test]
    fn merged_regions_are_named_as_a_spreadsheet_does() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        let m = MergedCells {
            rows: (2, 3),
            columns: (2, 3),
        };
        assert_eq!(m.range(), "C2:D3");
        assert!(m.covers_row(3) && !m.covers_row(4));
    }

    /// An ODS file of the sheets `(name, rows as the XML of their cells)`.
    fn ods_file(sheets: &[(&str, &[&str])]) -> File {
        use std::io::Write;
        let mut content =
            String::from("<office:document-content><office:body><office:spreadsheet>");
        for (name, rows) in sheets {
            content.push_str(&format!("<table:table table:name=\"{name}\">"));
            for r in *rows {
                content.push_str(r);
            }
            content.push_str("</table:table>");
        }
        content.push_str("</office:spreadsheet></office:body></office:document-content>");
        let mut file = tempfile::tempfile().unwrap();
        let mut w = zip::ZipWriter::new(&mut file);
        w.start_file("content.xml", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(content.as_bytes()).unwrap();
        w.finish().unwrap();
        file
    }

    #[test]
    fn ods_merged_cells_are_placed_counting_repetitions() {
        let cell = "<table:table-cell/>";
        let file = ods_file(&[
            (
                "other",
                &[
                    "<table:table-row><table:table-cell table:number-columns-spanned=\"2\"/></table:table-row>",
                ],
            ),
            (
                "a&amp;b",
                &[
                    // row 1: A1:B1
                    "<table:table-row><table:table-cell table:number-columns-spanned=\"2\"/><table:covered-table-cell/></table:table-row>",
                    // rows 2-4 empty, one of them an empty element
                    "<table:table-row table:number-rows-repeated=\"2\"><table:table-cell/></table:table-row>",
                    "<table:table-row/>",
                    // row 5: three empty cells, then D5:D6
                    "<table:table-row><table:table-cell table:number-columns-repeated=\"3\"/><table:table-cell table:number-rows-spanned=\"2\"><text:p>x</text:p></table:table-cell></table:table-row>",
                    "<table:table-row><table:table-cell table:number-columns-repeated=\"3\"/><table:covered-table-cell/></table:table-row>",
                ],
            ),
        ]);
        let names: Vec<String> = ods_merged_cells(file.try_clone().unwrap(), "a&b")
            .unwrap()
            .iter()
            .map(MergedCells::range)
            .collect();
        assert_eq!(names, ["A1:B1", "D5:D6"]);
        // a sheet without merged cells, and an unknown one, have none
        let plain = ods_file(&[(
            "answers",
            &[&format!("<table:table-row>{cell}</table:table-row>")],
        )]);
        assert!(ods_merged_cells(plain, "answers").unwrap().is_empty());
        assert!(ods_merged_cells(file, "nope").unwrap().is_empty());
    }

    #[test]
    fn encodings_are_named() {
        assert_eq!(detect_encoding(b"\xFF\xFEu\x00"), "UTF-16LE");
        // "Xã Bắc Hà" and more in a legacy single-byte encoding (Vietnamese ANSI)
        let bytes: Vec<u8> = b"T\xEAn \xF0\xF5n v\xEF,X\xE3 B\xE9c H\xE0,\xD0i\xEAm\r\n".to_vec();
        assert!(String::from_utf8(bytes.clone()).is_err());
        let name = detect_encoding(&bytes);
        assert!(
            name.starts_with("windows-") || name.starts_with("ISO-"),
            "{name}"
        );
    }
}
