//! Tables written as CSV (the `csv` crate) or XLSX (`rust_xlsxwriter`), for the spreadsheets a
//! provincial office works in.
//!
//! - Text that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab
//!   or a carriage return) is neutralised with a leading `'` (OWASP's advice against CSV
//!   injection), in both formats: a unit name such as `=HYPERLINK(…)` stays text.
//!   Numbers are written as numbers and never altered.
//! - CSV is UTF-8, with a byte-order mark on request (what Excel needs to read Vietnamese
//!   letters correctly), RFC 4180 quoting, `\r\n` line ends.
//!
//! May import: std, the two format crates, rust_decimal, chrono. No I/O beyond the returned
//! bytes.

use std::borrow::Cow;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    /// An exact decimal; written in full in CSV, as the nearest double in XLSX (the format
    /// stores every number as a double).
    Number(Decimal),
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A header row and data rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("the table has more rows or columns than a worksheet holds")]
    TooLarge,
}

/// Text as a spreadsheet will show it, never as a formula: a leading `'` when it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// The inverse of [`neutralise`], for text read back from an export: a leading `'` before a
/// formula start is removed (`'=1+1` → `=1+1`); anything else is kept.
pub fn unneutralise(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest)
            if matches!(
                rest.chars().next(),
                Some('=' | '+' | '-' | '@' | '\t' | '\r')
            ) =>
        {
            rest
        }
        _ => text,
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The table as CSV (UTF-8, with a byte-order mark when `bom`).
pub fn to_csv(table: &Table, bom: bool) -> Result<Vec<u8>, TableError> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(BOM);
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(table.headers.iter().map(|h| neutralise(h).into_owned()))?;
    for row in &table.rows {
        w.write_record(row.iter().map(|c| match c {
            Cell::Empty => String::new(),
            Cell::Text(t) => neutralise(t).into_owned(),
            Cell::Int(i) => i.to_string(),
            Cell::Number(d) => d.normalize().to_string(),
        }))?;
    }
    w.into_inner()
        .map_err(|e| TableError::Csv(e.into_error().into()))
}

/// The table as an XLSX workbook with one worksheet named `sheet` (header row in bold and
/// frozen).
pub fn to_xlsx(table: &Table, sheet: &str) -> Result<Vec<u8>, TableError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    let bold = Format::new().set_bold();
    let col = |c: usize| u16::try_from(c).map_err(|_| TableError::TooLarge);
    for (c, h) in table.headers.iter().enumerate() {
        ws.write_string_with_format(0, col(c)?, neutralise(h), &bold)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| TableError::TooLarge)?;
        for (c, cell) in row.iter().enumerate() {
            let c = col(c)?;
            match cell {
                Cell::Empty => {}
                Cell::Text(t) => {
                    ws.write_string(r, c, neutralise(t))?;
                }
                // exact below 2^53, far beyond any count here
                Cell::Int(i) => {
                    ws.write_number(r, c, *i as f64)?;
                }
                Cell::Number(d) => match d.to_f64() {
                    Some(f) => {
                        ws.write_number(r, c, f)?;
                    }
                    None => {
                        ws.write_string(r, c, d.normalize().to_string())?;
                    }
                },
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised_and_nothing_else() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for fine in ["Lào Cai", "1-2", "a=b", "", "'quoted"] {
            assert_eq!(neutralise(fine), fine);
        }
        for text in ["=1+1", "+1", "'quoted", "Lào Cai", "'", ""] {
            assert_eq!(unneutralise(&neutralise(text)), text);
        }
    }

    fn sample() -> Table {
        Table {
            headers: vec!["code".into(), "name".into(), "n".into(), "share".into()],
            rows: vec![
                vec![
                    "XA-1".into(),
                    "=HYPERLINK(\"http://x\")".into(),
                    Cell::Int(-3),
                    Cell::Number(Decimal::new(5, 1)),
                ],
                vec![
                    "XA-2".into(),
                    "Xã Bắc Hà, \"mới\"".into(),
                    Cell::Empty,
                    Cell::Empty,
                ],
            ],
        }
    }

    #[test]
    fn csv_quotes_neutralises_and_keeps_numbers() {
        let plain = to_csv(&sample(), false).unwrap();
        let text = String::from_utf8(plain.clone()).unwrap();
        assert_eq!(
            text,
            "code,name,n,share\r\nXA-1,\"'=HYPERLINK(\"\"http://x\"\")\",-3,0.5\r\n\
             XA-2,\"Xã Bắc Hà, \"\"mới\"\"\",,\r\n"
        );
        let with_bom = to_csv(&sample(), true).unwrap();
        assert_eq!(&with_bom[..3], BOM);
        assert_eq!(&with_bom[3..], &plain[..]);
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = to_xlsx(&sample(), "progress").unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
