//! The answers row layout: one row per (unit, component) of one period, as the answers import
//! reads it, the answers export writes it and the XLSX templates lay it out.
//!
//! | column | content |
//! |---|---|
//! | `unit_code`, `node_code` | the unit and the scored leaf (required) |
//! | `numerator`, `denominator` | `ratio`, `ratio_to_target` |
//! | `satisfied`, `respondents` | `survey` |
//! | `value` | `tiers`, `relative_to_best` (a number), `boolean` (`true`/`false`, `có`/`không`, `1`/`0`) |
//! | `option` | `choice`: an option code |
//! | `items` | `capped_sum`: `code=value; code=value` (items not listed count as 0) |
//! | `points` | `manual` |
//! | `not_applicable` | `true`/`false` (empty = false) |
//! | `note`, `explanation` | texts |
//! | `evidence_url`, `evidence_doc_number`, `evidence_doc_date` | an evidence reference (a URL, or a document number with its date `YYYY-MM-DD`) |
//!
//! A file may also carry the descriptive columns of the templates and exports (`unit_name`,
//! `node_name`, `max_points`, `method`, `guidance`, `evidence_expected`): they are read as
//! information and ignored. Column order is free; names are matched case-insensitively.
//!
//! Filling a row: the input columns that are not empty become the answer's inputs object,
//! which is then validated by the node's method exactly as the JSON answer write validates it
//! (`scoring::input::parse_input`, through `services::assessments`): a value in a column the
//! method does not read is reported there (`INPUT_UNKNOWN_FIELD`). A row whose input columns
//! are all empty writes an answer without inputs (a note, an explanation, not applicable); a
//! row with nothing but its codes (a template row left blank) is skipped.
//!
//! Numbers: a spreadsheet number as it is; text as a plain decimal with the request's decimal
//! separator (`.` by default, `,` with `decimal_separator=comma`). Text holding the other
//! separator is refused (`DECIMAL_SEPARATOR`), never guessed: `1,234` may be a thousand or one
//! and a quarter.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use utoipa::ToSchema;

use crate::error::FieldError;

/// One column of the answers layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    UnitCode,
    NodeCode,
    Numerator,
    Denominator,
    Satisfied,
    Respondents,
    Value,
    Option,
    Items,
    Points,
    NotApplicable,
    Note,
    Explanation,
    EvidenceUrl,
    EvidenceDocNumber,
    EvidenceDocDate,
    // descriptive, read and ignored
    UnitName,
    NodeName,
    MaxPoints,
    Method,
    Guidance,
    EvidenceExpected,
}

impl Column {
    /// The columns an import reads, in the order exports and templates write them.
    pub const DATA: [Column; 16] = [
        Column::UnitCode,
        Column::NodeCode,
        Column::Numerator,
        Column::Denominator,
        Column::Satisfied,
        Column::Respondents,
        Column::Value,
        Column::Option,
        Column::Items,
        Column::Points,
        Column::NotApplicable,
        Column::Note,
        Column::Explanation,
        Column::EvidenceUrl,
        Column::EvidenceDocNumber,
        Column::EvidenceDocDate,
    ];
    /// Descriptive columns of templates and exports (ignored on import).
    pub const INFO: [Column; 6] = [
        Column::UnitName,
        Column::NodeName,
        Column::MaxPoints,
        Column::Method,
        Column::Guidance,
        Column::EvidenceExpected,
    ];
    /// The method input columns.
    pub const INPUTS: [Column; 8] = [
        Column::Numerator,
        Column::Denominator,
        Column::Satisfied,
        Column::Respondents,
        Column::Value,
        Column::Option,
        Column::Items,
        Column::Points,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Column::UnitCode => "unit_code",
            Column::NodeCode => "node_code",
            Column::Numerator => "numerator",
            Column::Denominator => "denominator",
            Column::Satisfied => "satisfied",
            Column::Respondents => "respondents",
            Column::Value => "value",
            Column::Option => "option",
            Column::Items => "items",
            Column::Points => "points",
            Column::NotApplicable => "not_applicable",
            Column::Note => "note",
            Column::Explanation => "explanation",
            Column::EvidenceUrl => "evidence_url",
            Column::EvidenceDocNumber => "evidence_doc_number",
            Column::EvidenceDocDate => "evidence_doc_date",
            Column::UnitName => "unit_name",
            Column::NodeName => "node_name",
            Column::MaxPoints => "max_points",
            Column::Method => "method",
            Column::Guidance => "guidance",
            Column::EvidenceExpected => "evidence_expected",
        }
    }

    pub fn parse(name: &str) -> Option<Column> {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        Column::DATA
            .into_iter()
            .chain(Column::INFO)
            .find(|c| c.as_str() == name)
    }

    /// The input column of a method input name (`Method::input_names`).
    pub fn of_input(name: &str) -> Option<Column> {
        Column::INPUTS.into_iter().find(|c| c.as_str() == name)
    }

    /// The names of every column an import reads (what a refused header lists).
    pub fn expected() -> Vec<&'static str> {
        Column::DATA.iter().map(|c| c.as_str()).collect()
    }
}

/// How decimals are written in text cells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecimalSeparator {
    /// `0.5` (the default).
    #[default]
    Dot,
    /// `0,5` (Vietnamese and most European spreadsheets).
    Comma,
}

impl DecimalSeparator {
    fn char(self) -> char {
        match self {
            DecimalSeparator::Dot => '.',
            DecimalSeparator::Comma => ',',
        }
    }
    fn other(self) -> char {
        match self {
            DecimalSeparator::Dot => ',',
            DecimalSeparator::Comma => '.',
        }
    }
}

/// One cell as read from a file, whatever the format.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Empty,
    Text(String),
    /// A spreadsheet or JSON number.
    Number(Number),
    Bool(bool),
    /// A spreadsheet date.
    Date(NaiveDate),
    /// A cell the file marks as an error (`#DIV/0!`) or a formula without a cached value:
    /// the reason.
    Invalid(String),
}

impl Field {
    /// A text field, empty when blank.
    pub fn text(s: impl Into<String>) -> Field {
        let s = s.into();
        if s.trim().is_empty() {
            Field::Empty
        } else {
            Field::Text(s)
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Field::Empty)
    }

    /// From a JSON row's member.
    pub fn from_json(v: &Value) -> Field {
        match v {
            Value::Null => Field::Empty,
            Value::Bool(b) => Field::Bool(*b),
            Value::Number(n) => Field::Number(n.clone()),
            Value::String(s) => Field::text(s.clone()),
            other => Field::Text(other.to_string()),
        }
    }
}

/// A closed set of columns: one row layout (the answers here; units and accounts in
/// [`super::directory`]). [`Header::parse`] and the cell readers work on any of them.
pub trait ColumnSet: Copy + Eq + 'static {
    /// The column's name in a header row.
    fn name(self) -> &'static str;
    /// The column a header cell names (already trimmed and lower-cased), if any.
    fn from_name(name: &str) -> Option<Self>;
    /// The names of every column an import reads (what a refused header lists).
    fn expected() -> Vec<&'static str>;
    /// The columns a header must have.
    fn required() -> &'static [Self];
}

impl ColumnSet for Column {
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn from_name(name: &str) -> Option<Self> {
        Column::parse(name)
    }
    fn expected() -> Vec<&'static str> {
        Column::expected()
    }
    fn required() -> &'static [Self] {
        &[Column::UnitCode, Column::NodeCode]
    }
}

/// Where each column is in the file's rows.
#[derive(Debug, Clone)]
pub struct Header<C = Column> {
    positions: Vec<(C, usize)>,
}

impl<C: ColumnSet> Header<C> {
    /// Reads a header row. Refused with every problem: an unknown or repeated name, a required
    /// column (for answers `unit_code`, `node_code`) missing. The caller lists
    /// [`ColumnSet::expected`].
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Header<C>, Vec<FieldError>> {
        let mut positions: Vec<(C, usize)> = Vec::new();
        let mut errors = Vec::new();
        let expected = C::expected();
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref();
            let clean = name.trim().trim_start_matches('\u{feff}');
            if clean.is_empty() {
                continue;
            }
            match C::from_name(&clean.trim().to_ascii_lowercase()) {
                Some(c) if positions.iter().any(|(p, _)| *p == c) => errors.push(
                    FieldError::new(name.trim(), "DUPLICATE_COLUMN", "the column is repeated")
                        .with_param("column", c.name()),
                ),
                Some(c) => positions.push((c, i)),
                None => errors.push(
                    FieldError::new(
                        name.trim(),
                        "UNKNOWN_COLUMN",
                        format!(
                            "unknown column {:?}; expected {}",
                            name.trim(),
                            expected.join(", ")
                        ),
                    )
                    .with_param("column", name.trim())
                    .with_param("expected", &expected),
                ),
            }
        }
        for required in C::required() {
            if !positions.iter().any(|(c, _)| c == required) {
                errors.push(
                    FieldError::new(
                        required.name(),
                        "MISSING_COLUMN",
                        format!(
                            "the header has no column {}; expected {}",
                            required.name(),
                            expected.join(", ")
                        ),
                    )
                    .with_param("column", required.name())
                    .with_param("expected", &expected),
                );
            }
        }
        if errors.is_empty() {
            Ok(Header { positions })
        } else {
            Err(errors)
        }
    }

    /// Whether the file has column `c`.
    pub fn has(&self, c: C) -> bool {
        self.positions.iter().any(|(p, _)| *p == c)
    }

    /// The cell of column `c` in `fields` (empty when the file has no such column).
    pub fn get<'a>(&self, fields: &'a [Field], c: C) -> &'a Field {
        self.positions
            .iter()
            .find(|(p, _)| *p == c)
            .and_then(|(_, i)| fields.get(*i))
            .unwrap_or(&Field::Empty)
    }
}

/// An evidence reference given in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceRef {
    Url(String),
    Document {
        number: String,
        date: Option<NaiveDate>,
    },
}

/// One row, read: who and what it answers, and the answer before validation by the node's
/// method (`inputs` is the JSON object the method's parser checks).
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRow {
    pub unit_code: String,
    pub node_code: String,
    pub inputs: Option<Value>,
    pub not_applicable: bool,
    pub note: Option<String>,
    pub explanation: Option<String>,
    pub evidence: Vec<EvidenceRef>,
}

/// The column a problem of an answer's validation points at: `/inputs/numerator` →
/// `numerator`, `/inputs/items/app` → `items`, `/explanation` → `explanation`, `/node_code`
/// → `node_code`; `None` for the row as a whole.
pub fn column_of_pointer(pointer: &str) -> Option<Column> {
    let mut parts = pointer.trim_start_matches('/').split('/');
    match parts.next()? {
        "inputs" => parts.next().and_then(Column::of_input),
        other => Column::parse(other),
    }
}

fn problem<C: ColumnSet>(c: C, code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(c.name(), code, message)
}

/// A cell as text (trimmed, a formula neutralised by an export read back as stored); `None`
/// when empty or invalid.
pub fn text_of(f: &Field) -> Option<String> {
    match f {
        Field::Empty => None,
        // text an export neutralised against formula injection reads back as it was stored
        Field::Text(t) => Some(crate::tabular::unneutralise(t.trim()).to_string()),
        Field::Number(n) => Some(n.to_string()),
        Field::Bool(b) => Some(b.to_string()),
        Field::Date(d) => Some(d.to_string()),
        Field::Invalid(_) => None,
    }
}

/// A number cell as the JSON value the method's parser reads: a number as is; a text as a
/// plain decimal string with `.` (its separator normalised).
fn number_value(
    c: Column,
    f: &Field,
    sep: DecimalSeparator,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    match f {
        Field::Number(n) => Some(Value::Number(n.clone())),
        Field::Text(t) => number_text(c, t, sep, errors).map(Value::String),
        Field::Bool(_) | Field::Date(_) => {
            errors.push(problem(c, "INPUT_TYPE", "expected a number"));
            None
        }
        Field::Invalid(why) => {
            errors.push(invalid_cell(c, why));
            None
        }
        Field::Empty => None,
    }
}

/// `INVALID_CELL`: an error cell, or a formula without a saved value.
pub fn invalid_cell<C: ColumnSet>(c: C, why: &str) -> FieldError {
    problem(
        c,
        "INVALID_CELL",
        format!("the cell has no usable value: {why}"),
    )
    .with_param("reason", why)
}

fn number_text(
    c: Column,
    text: &str,
    sep: DecimalSeparator,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let t = text.trim();
    if t.contains(sep.other()) {
        errors.push(
            problem(
                c,
                "DECIMAL_SEPARATOR",
                format!(
                    "{t:?} contains {:?}: thousands separators are not accepted, and decimals \
                     use {:?} (set decimal_separator to read the other)",
                    sep.other(),
                    sep.char()
                ),
            )
            .with_param("value", t)
            .with_param("separator", sep.char().to_string()),
        );
        return None;
    }
    Some(match sep {
        DecimalSeparator::Dot => t.to_string(),
        DecimalSeparator::Comma => t.replace(',', "."),
    })
}

/// A yes/no cell (`true`/`false`, `có`/`không`, `1`/`0`); `None` when empty or refused.
pub fn bool_of<C: ColumnSet>(c: C, f: &Field, errors: &mut Vec<FieldError>) -> Option<bool> {
    let parsed = match f {
        Field::Empty => return None,
        Field::Bool(b) => Some(*b),
        Field::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Field::Text(t) => match t.trim().to_lowercase().as_str() {
            "true" | "1" | "có" | "co" | "x" | "yes" => Some(true),
            "false" | "0" | "không" | "khong" | "no" => Some(false),
            _ => None,
        },
        Field::Invalid(why) => {
            errors.push(invalid_cell(c, why));
            return None;
        }
        Field::Date(_) => None,
    };
    if parsed.is_none() {
        errors.push(problem(
            c,
            "INPUT_TYPE",
            "expected true or false (có / không, 1 / 0)",
        ));
    }
    parsed
}

/// `code=value; code=value` → `{"code": "value"}` (values as decimal strings).
fn items_value(f: &Field, sep: DecimalSeparator, errors: &mut Vec<FieldError>) -> Option<Value> {
    let c = Column::Items;
    let text = match f {
        Field::Empty => return None,
        Field::Text(t) => t.trim().to_string(),
        Field::Invalid(why) => {
            errors.push(invalid_cell(c, why));
            return None;
        }
        _ => {
            errors.push(problem(
                c,
                "INPUT_TYPE",
                "expected items as code=value; code=value",
            ));
            return None;
        }
    };
    let mut map = Map::new();
    let before = errors.len();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((code, value)) = part.split_once('=') else {
            errors.push(
                problem(c, "INPUT_TYPE", format!("{part:?} is not code=value"))
                    .with_param("value", part),
            );
            continue;
        };
        let code = code.trim();
        if map.contains_key(code) {
            errors.push(
                problem(c, "DUPLICATE", format!("item {code:?} is listed twice"))
                    .with_param("value", code),
            );
            continue;
        }
        if let Some(v) = number_text(c, value, sep, errors) {
            map.insert(code.to_string(), Value::String(v));
        }
    }
    (errors.len() == before).then_some(Value::Object(map))
}

/// A date cell (a spreadsheet date, or text `YYYY-MM-DD`); `None` when empty or refused.
pub fn date_of<C: ColumnSet>(c: C, f: &Field, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    match f {
        Field::Empty => None,
        Field::Date(d) => Some(*d),
        Field::Text(t) => match NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(
                    problem(c, "INVALID_DATE", "expected a date written YYYY-MM-DD")
                        .with_param("value", t.trim()),
                );
                None
            }
        },
        Field::Invalid(why) => {
            errors.push(invalid_cell(c, why));
            None
        }
        _ => {
            errors.push(problem(
                c,
                "INVALID_DATE",
                "expected a date written YYYY-MM-DD",
            ));
            None
        }
    }
}

/// Reads one data row. `Ok(None)` for an empty row (skipped); every problem otherwise, each
/// with its column as `field`.
pub fn read_row(
    header: &Header,
    fields: &[Field],
    sep: DecimalSeparator,
) -> Result<Option<AnswerRow>, Vec<FieldError>> {
    if fields.iter().all(Field::is_empty) {
        return Ok(None);
    }
    let get = |c: Column| header.get(fields, c);
    let mut errors = Vec::new();
    // no text holds a NUL (PostgreSQL could not store it)
    for c in Column::DATA {
        if let Field::Text(t) = get(c)
            && t.contains('\0')
        {
            errors.push(problem(
                c,
                "NUL_CHARACTER",
                "must not contain the NUL character (U+0000)",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let required = |c: Column, errors: &mut Vec<FieldError>| match get(c) {
        Field::Invalid(why) => {
            errors.push(invalid_cell(c, why));
            String::new()
        }
        f => match text_of(f) {
            Some(t) if !t.is_empty() => t,
            _ => {
                errors.push(problem(
                    c,
                    "REQUIRED",
                    format!("{} is required", c.as_str()),
                ));
                String::new()
            }
        },
    };
    let unit_code = required(Column::UnitCode, &mut errors);
    let node_code = required(Column::NodeCode, &mut errors);
    let mut inputs = Map::new();
    for c in Column::INPUTS {
        let f = get(c);
        let v = match c {
            Column::Option => match f {
                Field::Invalid(why) => {
                    errors.push(invalid_cell(c, why));
                    None
                }
                f => text_of(f).map(Value::String),
            },
            Column::Items => items_value(f, sep, &mut errors),
            Column::Value => match f {
                Field::Bool(b) => Some(Value::Bool(*b)),
                Field::Text(t)
                    if matches!(
                        t.trim().to_lowercase().as_str(),
                        "true" | "false" | "có" | "không"
                    ) =>
                {
                    bool_of(c, f, &mut errors).map(Value::Bool)
                }
                f => number_value(c, f, sep, &mut errors),
            },
            _ => number_value(c, f, sep, &mut errors),
        };
        if let Some(v) = v {
            inputs.insert(c.as_str().to_string(), v);
        }
    }
    let not_applicable = bool_of(
        Column::NotApplicable,
        get(Column::NotApplicable),
        &mut errors,
    )
    .unwrap_or(false);
    let text = |c: Column, errors: &mut Vec<FieldError>| match get(c) {
        Field::Invalid(why) => {
            errors.push(invalid_cell(c, why));
            None
        }
        f => text_of(f).filter(|t| !t.is_empty()),
    };
    let note = text(Column::Note, &mut errors);
    let explanation = text(Column::Explanation, &mut errors);
    let url = text(Column::EvidenceUrl, &mut errors);
    let number = text(Column::EvidenceDocNumber, &mut errors);
    let date = date_of(
        Column::EvidenceDocDate,
        get(Column::EvidenceDocDate),
        &mut errors,
    );
    let mut evidence = Vec::new();
    if let Some(u) = url {
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 {
            errors.push(problem(
                Column::EvidenceUrl,
                "INVALID_URL",
                "an http(s) URL of at most 2000 characters",
            ));
        } else {
            evidence.push(EvidenceRef::Url(u));
        }
    }
    match (number, date) {
        (Some(number), date) => evidence.push(EvidenceRef::Document { number, date }),
        (None, Some(_)) => errors.push(problem(
            Column::EvidenceDocNumber,
            "REQUIRED",
            "a document date goes with its document number",
        )),
        (None, None) => {}
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // a row with its codes only (a blank template row) says nothing: skipped
    if inputs.is_empty()
        && !not_applicable
        && note.is_none()
        && explanation.is_none()
        && evidence.is_empty()
    {
        return Ok(None);
    }
    Ok(Some(AnswerRow {
        unit_code,
        node_code,
        inputs: (!inputs.is_empty()).then_some(Value::Object(inputs)),
        not_applicable,
        note,
        explanation,
        evidence,
    }))
}

/// The cells of a stored answer in the layout's input columns (the inverse of [`read_row`]'s
/// reading of the inputs): `items` as `code=value; code=value`.
pub fn input_cells(inputs: Option<&Value>) -> BTreeMap<Column, String> {
    let mut out = BTreeMap::new();
    let Some(Value::Object(obj)) = inputs else {
        return out;
    };
    for (name, v) in obj {
        let Some(c) = Column::of_input(name) else {
            continue;
        };
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Object(items) => items
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        out.insert(c, text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header(names: &[&str]) -> Header {
        Header::<Column>::parse(names).unwrap()
    }

    fn t(s: &str) -> Field {
        Field::text(s)
    }

    #[test]
    fn a_header_is_matched_by_name_in_any_order_and_case() {
        let h = header(&["\u{feff}Node_Code", "unit_code", "numerator", "unit_name"]);
        let row = read_row(
            &h,
            &[t("1.1"), t("XA-1"), t("3"), t("Xã A")],
            DecimalSeparator::Dot,
        )
        .unwrap()
        .unwrap();
        assert_eq!(row.unit_code, "XA-1");
        assert_eq!(row.node_code, "1.1");
        assert_eq!(row.inputs, Some(json!({"numerator": "3"})));
    }

    #[test]
    fn a_bad_header_reports_every_problem() {
        let errs = Header::<Column>::parse(&["unit", "numerator", "numerator"]).unwrap_err();
        let codes: Vec<&str> = errs.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "UNKNOWN_COLUMN",
                "DUPLICATE_COLUMN",
                "MISSING_COLUMN",
                "MISSING_COLUMN"
            ]
        );
        assert!(errs[0].message.contains("unit_code, node_code, numerator"));
    }

    #[test]
    fn decimal_separators_are_never_guessed() {
        let h = header(&["unit_code", "node_code", "numerator", "denominator"]);
        let row = [t("XA-1"), t("1.1"), t("0,5"), t("1")];
        let errs = read_row(&h, &row, DecimalSeparator::Dot).unwrap_err();
        assert_eq!(errs[0].field, "numerator");
        assert_eq!(errs[0].code, "DECIMAL_SEPARATOR");
        let ok = read_row(&h, &row, DecimalSeparator::Comma)
            .unwrap()
            .unwrap();
        assert_eq!(
            ok.inputs,
            Some(json!({"numerator": "0.5", "denominator": "1"}))
        );
        let thousands = [t("XA-1"), t("1.1"), t("1.234,5"), t("2000")];
        assert_eq!(
            read_row(&h, &thousands, DecimalSeparator::Comma).unwrap_err()[0].code,
            "DECIMAL_SEPARATOR"
        );
    }

    #[test]
    fn items_booleans_dates_and_evidence() {
        let h = header(&[
            "unit_code",
            "node_code",
            "items",
            "value",
            "not_applicable",
            "explanation",
            "evidence_doc_number",
            "evidence_doc_date",
            "evidence_url",
        ]);
        let row = read_row(
            &h,
            &[
                t("XA-1"),
                t("2.1"),
                t("app = 7; web=2,5"),
                t("Có"),
                Field::Bool(true),
                t("không có"),
                t("12/QĐ-UBND"),
                Field::Date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
                t("https://x.vn/a"),
            ],
            DecimalSeparator::Comma,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            row.inputs,
            Some(json!({"items": {"app": "7", "web": "2.5"}, "value": true}))
        );
        assert!(row.not_applicable);
        assert_eq!(
            row.evidence,
            vec![
                EvidenceRef::Url("https://x.vn/a".into()),
                EvidenceRef::Document {
                    number: "12/QĐ-UBND".into(),
                    date: NaiveDate::from_ymd_opt(2026, 3, 1)
                }
            ]
        );
        let bad = read_row(
            &h,
            &[
                Field::Empty,
                t("2.1"),
                t("app"),
                t("maybe"),
                t("2"),
                Field::Invalid("#DIV/0!".into()),
                Field::Empty,
                t("01/03/2026"),
                t("ftp://x"),
            ],
            DecimalSeparator::Dot,
        )
        .unwrap_err();
        let got: Vec<(&str, &str)> = bad
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("unit_code", "REQUIRED"),
                ("items", "INPUT_TYPE"),
                ("not_applicable", "INPUT_TYPE"),
                ("explanation", "INVALID_CELL"),
                ("evidence_doc_date", "INVALID_DATE"),
                ("evidence_url", "INVALID_URL"),
            ]
        );
    }

    #[test]
    fn empty_rows_are_skipped_and_numbers_pass_through() {
        let h = header(&["unit_code", "node_code", "points"]);
        assert_eq!(
            read_row(&h, &[Field::Empty, t("  ")], DecimalSeparator::Dot).unwrap(),
            None
        );
        let row = read_row(
            &h,
            &[
                t("XA-1"),
                Field::Number(Number::from(7)),
                Field::Number(Number::from_f64(2.5).unwrap()),
            ],
            DecimalSeparator::Dot,
        )
        .unwrap()
        .unwrap();
        assert_eq!(row.node_code, "7");
        assert_eq!(row.inputs, Some(json!({"points": 2.5})));
        // a blank template row: codes only
        assert_eq!(
            read_row(
                &h,
                &[t("XA-1"), t("1.1"), Field::Empty],
                DecimalSeparator::Dot
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn pointers_name_their_column_and_cells_invert_the_reading() {
        assert_eq!(column_of_pointer("/inputs/items/app"), Some(Column::Items));
        assert_eq!(
            column_of_pointer("/inputs/numerator"),
            Some(Column::Numerator)
        );
        assert_eq!(column_of_pointer("/explanation"), Some(Column::Explanation));
        assert_eq!(column_of_pointer(""), None);
        let cells = input_cells(Some(
            &json!({"items": {"app": "7", "web": "2.5"}, "value": true}),
        ));
        assert_eq!(cells[&Column::Items], "app=7; web=2.5");
        assert_eq!(cells[&Column::Value], "true");
        let h = header(&["unit_code", "node_code", "items"]);
        let back = read_row(
            &h,
            &[t("X"), t("1"), t(&cells[&Column::Items])],
            DecimalSeparator::Dot,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            back.inputs,
            Some(json!({"items": {"app": "7", "web": "2.5"}}))
        );
    }
}
