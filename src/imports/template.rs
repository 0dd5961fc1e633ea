//! The answers workbook (`rust_xlsxwriter`): a template to fill, or a group's stored answers,
//! in the layout an import reads back ([`super::layout`]).
//!
//! - Sheet `answers`: the header row, then one row per unit × component. The codes and the
//!   descriptive columns (names, maximum, method, guidance, evidence expected) are locked, and
//!   so are the input columns the component's method does not read (shaded); the sheet is
//!   protected, so only the cells to fill can be edited.
//! - Data validation where Excel can express it: the option codes of a `choice`, `true`/`false`
//!   for a `boolean` and for `not_applicable` (where it may be declared), non-negative
//!   decimals, whole numbers for survey counts, points between 0 and the maximum.
//! - Sheet `_meta` (hidden): the indicator-set version the rows were made from, which an import
//!   checks against the version each unit's group is assessed with.
//! - Text cells are neutralised against formula injection as every export is
//!   ([`crate::tabular::neutralise`]).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{
    DataValidation, DataValidationRule, Format, FormatPattern, Workbook, Worksheet,
};

use super::layout::Column;
use crate::domain::indicator_set::Method;
use crate::tabular::{TableError, neutralise};

/// The columns of the workbook, in order: what an import reads, then the descriptive ones.
pub fn columns() -> Vec<Column> {
    Column::DATA.into_iter().chain(Column::INFO).collect()
}

/// One row: its cells by column (text as written), and the component's method.
pub struct SheetRow {
    pub cells: Vec<(Column, String)>,
    pub method: Option<Method>,
    pub max_points: Decimal,
    /// The component may be declared not applicable.
    pub declarable: bool,
}

/// The set version the rows were made from (the hidden sheet `_meta`).
pub struct SheetMeta {
    pub set_id: String,
    pub set_code: String,
    pub set_version: i32,
    pub period_code: String,
}

/// The keys of the `_meta` sheet.
pub const META_SET_ID: &str = "set_id";
pub const META_SHEET: &str = "_meta";

fn col(c: usize) -> Result<u16, TableError> {
    u16::try_from(c).map_err(|_| TableError::TooLarge)
}

fn validation(
    name: &str,
    method: &Method,
    max: Decimal,
) -> Result<Option<DataValidation>, TableError> {
    let non_negative = || {
        DataValidation::new()
            .allow_decimal_number(DataValidationRule::GreaterThanOrEqualTo(0.0))
            .set_error_message("Nhập số không âm (a non-negative number).")
    };
    let non_negative = || non_negative().map_err(TableError::from);
    Ok(match (method, name) {
        (Method::Choice { options }, "option") => {
            let codes: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
            Some(
                DataValidation::new()
                    .allow_list_strings(&codes)?
                    .set_error_message("Chọn một phương án trong danh sách.")?,
            )
        }
        (Method::Boolean { .. }, "value") => {
            Some(DataValidation::new().allow_list_strings(&["true", "false"])?)
        }
        (Method::Survey { .. }, _) => Some(
            DataValidation::new()
                .allow_whole_number(DataValidationRule::GreaterThanOrEqualTo(0))
                .set_error_message("Nhập số nguyên không âm (a whole number).")?,
        ),
        (Method::Manual, "points") => Some(
            DataValidation::new()
                .allow_decimal_number(DataValidationRule::Between(
                    0.0,
                    max.to_f64().unwrap_or(0.0),
                ))
                .set_error_message("Điểm từ 0 đến điểm tối đa.")?,
        ),
        (_, "items") => None,
        _ => Some(non_negative()?),
    })
}

/// The workbook (see the module docs).
pub fn answers_xlsx(rows: &[SheetRow], meta: Option<&SheetMeta>) -> Result<Vec<u8>, TableError> {
    let mut book = Workbook::new();
    let header = Format::new().set_bold().set_background_color("#DDEBF7");
    let locked = Format::new();
    let shaded = Format::new()
        .set_pattern(FormatPattern::Solid)
        .set_background_color("#EEEEEE");
    let open = Format::new().set_unlocked();
    let cols = columns();
    {
        let ws: &mut Worksheet = book.add_worksheet();
        ws.set_name("answers")?;
        for (c, column) in cols.iter().enumerate() {
            ws.write_string_with_format(0, col(c)?, column.as_str(), &header)?;
        }
        let position = |c: Column| cols.iter().position(|x| *x == c).unwrap_or(0);
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| TableError::TooLarge)?;
            let reads: &[&str] = row.method.as_ref().map_or(&[], |m| m.input_names());
            for (c, column) in cols.iter().enumerate() {
                let text = row
                    .cells
                    .iter()
                    .find(|(k, _)| k == column)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("");
                let editable = match column {
                    c if Column::INPUTS.contains(c) => reads.contains(&c.as_str()),
                    Column::NotApplicable => row.declarable,
                    Column::Note
                    | Column::Explanation
                    | Column::EvidenceUrl
                    | Column::EvidenceDocNumber
                    | Column::EvidenceDocDate => true,
                    _ => false,
                };
                let format = if editable {
                    &open
                } else if Column::INPUTS.contains(column) || *column == Column::NotApplicable {
                    &shaded
                } else {
                    &locked
                };
                let c = col(c)?;
                if text.is_empty() {
                    ws.write_blank(r, c, format)?;
                } else {
                    ws.write_string_with_format(r, c, neutralise(text), format)?;
                }
            }
            if let Some(m) = &row.method {
                for name in reads {
                    let Some(column) = Column::of_input(name) else {
                        continue;
                    };
                    if let Some(v) = validation(name, m, row.max_points)? {
                        let c = col(position(column))?;
                        ws.add_data_validation(r, c, r, c, &v)?;
                    }
                }
            }
            if row.declarable {
                let c = col(position(Column::NotApplicable))?;
                ws.add_data_validation(
                    r,
                    c,
                    r,
                    c,
                    &DataValidation::new().allow_list_strings(&["true", "false"])?,
                )?;
            }
        }
        for (c, column) in cols.iter().enumerate() {
            let width = match column {
                Column::NodeName | Column::Guidance | Column::EvidenceExpected => 50.0,
                Column::UnitName | Column::Note | Column::Explanation => 30.0,
                Column::EvidenceUrl => 30.0,
                _ => 14.0,
            };
            ws.set_column_width(col(c)?, width)?;
        }
        ws.set_freeze_panes(1, 2)?;
        ws.protect();
    }
    if let Some(m) = meta {
        let ws = book.add_worksheet();
        ws.set_name(META_SHEET)?;
        for (r, (k, v)) in [
            (META_SET_ID, m.set_id.clone()),
            ("set_code", m.set_code.clone()),
            ("set_version", m.set_version.to_string()),
            ("period_code", m.period_code.clone()),
        ]
        .into_iter()
        .enumerate()
        {
            let r = u32::try_from(r).map_err(|_| TableError::TooLarge)?;
            ws.write_string(r, 0, k)?;
            ws.write_string(r, 1, neutralise(&v))?;
        }
        ws.set_hidden(true);
        ws.protect();
    }
    Ok(book.save_to_buffer()?)
}
