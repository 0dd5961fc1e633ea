//! Imports of province data from files: the answers of many units of one period in one call
//! (rows in the layout of `crate::imports::layout`).
//!
//! - Who may import what is the rule of a single answer write
//!   (`services::assessments::write_rights`, `edit_refusal`, `check_answer`): administrators
//!   everything, integration tokens the automatically measured components (within their
//!   period), unit accounts their own unit only (and at most [`MAX_UNIT_ROWS`] rows).
//! - Every row is read and checked before anything is written, and every problem is reported
//!   at once as a [`Conflict`] (row, column, code, message). All or nothing by default;
//!   [`ImportMode::Partial`] writes the valid rows and reports the others.
//! - One transaction: the groups and then the assessments are locked (the lock order of
//!   `services::scoring`), the answers written in bulk, evidence references added, each
//!   assessment's change audited once (`answer.import`), and every touched group rescored
//!   once. A dry run does all of it, reads what changed, and rolls back.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::{Connection, PgConnection};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::{Answer, AnswerWrite, Assessment};
use crate::db::models::evidence::{Evidence, NewEvidence};
use crate::db::models::periods::Period;
use crate::db::models::scores::RankingRow;
use crate::db::models::units::Unit;
use crate::domain::Role;
use crate::domain::workflow::{AssessmentState, EvidenceKind};
use crate::error::{AppError, AppResult, FieldError};
use crate::imports::layout::{self, AnswerRow, Column, DecimalSeparator, EvidenceRef, Header};
use crate::imports::source::{self, Format, Item, MergedCells, RowNumber, SourceError};
use crate::imports::template::{META_SET_ID, SheetMeta, SheetRow};
use crate::services::assessments::{
    AnswerInput, check_answer, edit_refusal, sees_live_standings, write_rights,
};
use crate::services::scoring::{rescore_assessment, rescore_group, set_entry};

/// The most rows a unit account may import at once (its form has about a hundred components).
pub const MAX_UNIT_ROWS: u64 = 2_000;
/// The most rows of any import (a national group: 3,400 units × 100 components).
pub const MAX_ROWS: u64 = 1_000_000;
/// A refused import lists at most this many conflicts (and counts the rest).
pub const MAX_CONFLICTS: usize = 1_000;

/// Rows between two progress checkpoints of an import.
pub const CHECKPOINT_ROWS: u64 = 1_000;

/// What a running import is doing (the progress a job reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the file: `rows_done` rows read so far (the total is known at the end).
    Reading,
    /// Checking the rows against the forms: `rows_done` of `rows_total`.
    Checking,
    /// Writing the answers, evidence references and audit events.
    Writing,
    /// Rescoring the touched ranking groups.
    Rescoring,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Reading => "reading",
            Phase::Checking => "checking",
            Phase::Writing => "writing",
            Phase::Rescoring => "rescoring",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        [
            Phase::Reading,
            Phase::Checking,
            Phase::Writing,
            Phase::Rescoring,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// Where a long import reports progress and may be stopped (a job); the synchronous call uses
/// [`NoCheckpoint`].
pub trait Checkpoint {
    /// Called every [`CHECKPOINT_ROWS`] rows and at each phase; an error stops the import and
    /// rolls back everything it did.
    fn progress(&mut self, phase: Phase, done: u64, total: Option<u64>) -> AppResult<()>;
    /// Called in the import's transaction right before a commit (not for a dry run or a
    /// refused import); an error rolls back.
    fn before_commit(&mut self, conn: &mut PgConnection, outcome: &ImportOutcome) -> AppResult<()>;
}

/// No progress reports, never stopped.
pub struct NoCheckpoint;

impl Checkpoint for NoCheckpoint {
    fn progress(&mut self, _: Phase, _: u64, _: Option<u64>) -> AppResult<()> {
        Ok(())
    }
    fn before_commit(&mut self, _: &mut PgConnection, _: &ImportOutcome) -> AppResult<()> {
        Ok(())
    }
}

/// All or nothing (the default), or store the valid rows and report the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    #[default]
    AllOrNothing,
    Partial,
}

/// What a row does to its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowChange {
    Created,
    Updated,
    Unchanged,
}

/// One problem of one row (or of the file, row 1 for its header).
#[derive(Debug, Clone)]
pub struct Conflict {
    pub row: RowNumber,
    pub unit_code: Option<String>,
    pub node_code: Option<String>,
    /// `field` is the column's name (empty for the row as a whole).
    pub error: FieldError,
}

/// An answer as a row states it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AnswerState {
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>)]
    pub inputs: Option<Value>,
    pub not_applicable: bool,
    pub note: Option<String>,
    pub explanation: Option<String>,
}

/// One valid row and what it changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowOutcome {
    pub row: RowNumber,
    pub unit_code: String,
    pub node_code: String,
    pub change: RowChange,
    pub old: Option<AnswerState>,
    pub new: AnswerState,
    /// Evidence references this row adds (those already attached are not added again).
    pub evidence_added: usize,
}

/// One touched unit's standing before and after (the overall ranking scope of its group).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitImpact {
    pub unit_code: String,
    pub assessment_id: Uuid,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points_before: Decimal,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points_after: Decimal,
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub index_before: Option<Decimal>,
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub index_after: Option<Decimal>,
    /// Live ranks, for the provincial roles only (others learn ranks from publications).
    pub rank_before: Option<i32>,
    pub rank_after: Option<i32>,
}

pub struct AnswerImport {
    pub period_id: Uuid,
    pub dry_run: bool,
    pub mode: ImportMode,
    pub decimal_separator: DecimalSeparator,
}

pub struct ImportOutcome {
    pub format: Format,
    pub dry_run: bool,
    pub mode: ImportMode,
    /// Data rows read (empty rows not counted).
    pub rows_read: u64,
    pub conflicts: Vec<Conflict>,
    /// Conflicts beyond [`MAX_CONFLICTS`], counted only.
    pub conflicts_omitted: usize,
    /// Rows in conflict.
    pub rows_refused: u64,
    /// The valid rows (written, or that a dry run would write).
    pub rows: Vec<RowOutcome>,
    pub units: Vec<UnitImpact>,
    /// Whether the answers were stored (false for a dry run, and for an all-or-nothing import
    /// with conflicts).
    pub committed: bool,
    pub rescored_groups: usize,
}

/// Who may import answers into the period at all (checked before the file is read, and
/// before an `Idempotency-Key` replay): administrators, integration tokens (of this period,
/// if scoped), unit editors and leaders. The period must exist.
pub fn authorise_answers(
    conn: &mut PgConnection,
    actor: &Principal,
    period: Uuid,
) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::UnitEditor | Role::UnitLeader => {}
        Role::Integration if actor.period_scope.is_some_and(|p| p != period) => {
            return Err(AppError::forbidden(
                "FORBIDDEN_SCOPE",
                "The token is scoped to another period.",
            ));
        }
        Role::Integration => {}
        _ => {
            return Err(actor
                .require_role(
                    &[
                        Role::Admin,
                        Role::UnitEditor,
                        Role::UnitLeader,
                        Role::Integration,
                    ],
                    "import answers",
                )
                .unwrap_err());
        }
    }
    Period::find(conn, period)?.ok_or_else(|| AppError::not_found("period", period))?;
    Ok(())
}

/// 422 `FILE_UNREADABLE`, 415 `UNSUPPORTED_FILE_TYPE`, 422 `NOT_UTF8` for a file that cannot
/// be read at all.
pub fn source_error(e: SourceError) -> AppError {
    use actix_web::http::StatusCode;
    match e {
        SourceError::Empty => AppError::unprocessable("EMPTY_FILE", "The file is empty."),
        SourceError::Unsupported(what) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_FILE_TYPE",
            format!(
                "The content is {what}; send CSV (UTF-8), XLSX, ODS or JSON rows. The type is \
                 read from the content, not from the name."
            ),
        )
        .with_param("detected", what),
        SourceError::NotUtf8 { encoding, line } => AppError::unprocessable(
            "NOT_UTF8",
            format!(
                "The CSV file is not UTF-8 (line {line} is not); it looks like {encoding}. Save \
                 it as \"CSV UTF-8\" and send it again."
            ),
        )
        .with_extension("detected_encoding", &encoding)
        .with_extension("line", line)
        .with_param("encoding", encoding),
        SourceError::Malformed { format, reason } => AppError::unprocessable(
            "FILE_UNREADABLE",
            format!("The file cannot be read as {format:?}: {reason}."),
        )
        .with_extension("format", format),
        SourceError::Nul(errors) => crate::input::nul_refusal(errors),
        SourceError::Io(e) => AppError::internal(e),
    }
}

/// What stops reading: a file-level problem, or too many rows.
enum Stop {
    Source(SourceError),
    App(AppError),
}

impl From<SourceError> for Stop {
    fn from(e: SourceError) -> Self {
        Stop::Source(e)
    }
}

fn too_many_rows(limit: u64) -> AppError {
    AppError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "TOO_MANY_ROWS",
        format!("The file has more than {limit} rows, the most this account may import at once."),
    )
    .with_param("limit", limit)
    .with_extension("max_rows", limit)
}

/// What reading a file gives: the well-formed rows, the conflicts of the others, the number of
/// data rows, and the key/value pairs of a template's `_meta` sheet.
type ReadRows = (
    Vec<(RowNumber, AnswerRow)>,
    Vec<Conflict>,
    u64,
    Vec<(String, String)>,
);

/// The guidance and the evidence expected of each node of a set, by code.
type NodeTexts = HashMap<String, (Option<String>, Option<String>)>;

/// The rows of the file: every well-formed row, every conflict of the others.
fn read_rows(
    file: std::fs::File,
    format: Format,
    actor: &Principal,
    sep: DecimalSeparator,
    checkpoint: &mut dyn Checkpoint,
) -> AppResult<ReadRows> {
    let limit = if actor.role.is_unit_role() {
        MAX_UNIT_ROWS
    } else {
        MAX_ROWS
    };
    let mut header: Option<Header> = None;
    let mut rows = Vec::new();
    let mut conflicts = Vec::new();
    let mut read = 0u64;
    let mut meta = Vec::new();
    let mut merged: Vec<MergedCells> = Vec::new();
    let mut names_read: Vec<String> = Vec::new();
    let result = source::read::<Stop>(file, format, &mut |item| match item {
        Item::Meta(pairs) => {
            meta = pairs;
            Ok(())
        }
        Item::Merged(regions) => {
            let in_header: Vec<String> = regions
                .iter()
                .filter(|m| m.covers_row(1))
                .map(MergedCells::range)
                .collect();
            if !in_header.is_empty() {
                return Err(Stop::App(
                    AppError::unprocessable(
                        "MERGED_CELLS",
                        format!(
                            "The header row has merged cells ({}); unmerge them so that each \
                             column has its own name.",
                            in_header.join(", ")
                        ),
                    )
                    .with_param("cells", in_header.join(", "))
                    .with_extension("merged_cells", &in_header),
                ));
            }
            merged = regions;
            Ok(())
        }
        Item::Header(names) => match Header::parse(names) {
            Ok(h) => {
                header = Some(h);
                names_read = names.to_vec();
                Ok(())
            }
            Err(errors) => Err(Stop::App(
                AppError::unprocessable(
                    "HEADER_MISMATCH",
                    format!(
                        "The header row does not match the answers layout; expected columns: {}.",
                        Column::expected().join(", ")
                    ),
                )
                .with_errors(errors)
                .with_extension("expected_columns", Column::expected())
                .with_param("expected", Column::expected().join(", ")),
            )),
        },
        Item::Row(number, fields) => {
            let Some(h) = header.as_ref() else {
                return Ok(());
            };
            let parsed = layout::read_row(h, &fields, sep);
            if matches!(parsed, Ok(None)) {
                return Ok(());
            }
            read += 1;
            if read > limit {
                return Err(Stop::App(too_many_rows(limit)));
            }
            if read.is_multiple_of(CHECKPOINT_ROWS) {
                checkpoint
                    .progress(Phase::Reading, read, None)
                    .map_err(Stop::App)?;
            }
            match parsed {
                Ok(Some(row)) => rows.push((number, row)),
                Ok(None) => {}
                Err(errors) => conflicts.extend(errors.into_iter().map(|e| Conflict {
                    row: number,
                    unit_code: None,
                    node_code: None,
                    error: e,
                })),
            }
            Ok(())
        }
    });
    match result {
        Ok(()) => {
            if !merged.is_empty() {
                merged_conflicts(&merged, &names_read, &mut rows, &mut conflicts);
            }
            Ok((rows, conflicts, read, meta))
        }
        Err(Stop::Source(e)) => Err(source_error(e)),
        Err(Stop::App(e)) => Err(e),
    }
}

/// Refuses every row a merged region covers (its other cells read as empty), naming the
/// region, once per row (`MERGED_CELLS`, at the region's first column).
fn merged_conflicts(
    merged: &[MergedCells],
    names: &[String],
    rows: &mut Vec<(RowNumber, AnswerRow)>,
    conflicts: &mut Vec<Conflict>,
) {
    let covering = |n: RowNumber| merged.iter().find(|m| m.covers_row(n));
    // each refused row: its region, and its unit and node codes when it was read
    type Codes = Option<(String, String)>;
    let mut refused: BTreeMap<RowNumber, (&MergedCells, Codes)> = BTreeMap::new();
    for (n, r) in rows.iter() {
        if let Some(m) = covering(*n) {
            refused.insert(*n, (m, Some((r.unit_code.clone(), r.node_code.clone()))));
        }
    }
    for c in conflicts.iter() {
        if let Some(m) = covering(c.row) {
            refused.entry(c.row).or_insert((m, None));
        }
    }
    // a region over blank rows is still reported, at its first row
    for m in merged {
        refused.entry(m.rows.0).or_insert((m, None));
    }
    let mut extra = Vec::new();
    for (n, (m, r)) in &refused {
        let column = names
            .get(m.columns.0)
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| source::column_letters(m.columns.0));
        extra.push(Conflict {
            row: *n,
            unit_code: r.as_ref().map(|r| r.0.clone()),
            node_code: r.as_ref().map(|r| r.1.clone()),
            error: FieldError::new(
                column,
                "MERGED_CELLS",
                format!(
                    "the cells {} are merged: only the first holds a value; unmerge them and \
                     fill each cell",
                    m.range()
                ),
            )
            .with_param("cells", m.range()),
        });
    }
    rows.retain(|(n, _)| !refused.contains_key(n));
    conflicts.extend(extra);
}

fn row_conflict(row: RowNumber, r: &AnswerRow, e: FieldError) -> Conflict {
    Conflict {
        row,
        unit_code: Some(r.unit_code.clone()),
        node_code: Some(r.node_code.clone()),
        error: e,
    }
}

/// The same problem for the column `c`, its translation parameters kept.
fn at_column(mut e: FieldError, c: Option<Column>) -> FieldError {
    e.field = c.map(|c| c.as_str().to_string()).unwrap_or_default();
    e
}

fn refusal_conflict(row: RowNumber, r: &AnswerRow, e: &AppError) -> AppResult<Conflict> {
    match e {
        AppError::Client(c) => {
            let mut fe = FieldError::new(
                Column::UnitCode.as_str(),
                c.code.to_string(),
                c.detail.clone(),
            )
            .with_param("unit", &r.unit_code);
            for (k, v) in &c.params {
                fe = fe.with_param(k, v);
            }
            for (k, v) in &c.extensions {
                fe = fe.with_param(k, v);
            }
            Ok(row_conflict(row, r, fe))
        }
        _ => Err(AppError::internal(format!("refusal of row {row}: {e}"))),
    }
}

/// The end of the import's transaction: commit the outcome, or roll back and still return it
/// (a dry run, a refused all-or-nothing import), or fail.
enum RollbackOr {
    Rollback(ImportOutcome),
    App(AppError),
}

impl From<AppError> for RollbackOr {
    fn from(e: AppError) -> Self {
        RollbackOr::App(e)
    }
}

impl From<diesel::result::Error> for RollbackOr {
    fn from(e: diesel::result::Error) -> Self {
        RollbackOr::App(e.into())
    }
}

fn state_of(a: &Answer) -> AnswerState {
    AnswerState {
        inputs: a.inputs.clone(),
        not_applicable: a.not_applicable,
        note: a.note.clone(),
        explanation: a.explanation.clone(),
    }
}

/// Imports the answers of `file` into the period (see the module docs). Rights must have been
/// checked with [`authorise_answers`].
pub fn import_answers(
    conn: &mut PgConnection,
    actor: &Principal,
    input: AnswerImport,
    file: std::fs::File,
    format: Format,
) -> AppResult<ImportOutcome> {
    import_answers_with(conn, actor, input, file, format, &mut NoCheckpoint)
}

/// [`import_answers`], reporting progress to `checkpoint` (which may stop it).
pub fn import_answers_with(
    conn: &mut PgConnection,
    actor: &Principal,
    input: AnswerImport,
    file: std::fs::File,
    format: Format,
    checkpoint: &mut dyn Checkpoint,
) -> AppResult<ImportOutcome> {
    authorise_answers(conn, actor, input.period_id)?;
    let (rows, mut conflicts, rows_read, meta) =
        read_rows(file, format, actor, input.decimal_separator, checkpoint)?;
    checkpoint.progress(Phase::Checking, 0, Some(rows_read))?;
    // a filled template names the set version it was made from
    let meta_value = |k: &str| meta.iter().find(|(m, _)| m == k).map(|(_, v)| v.clone());
    let template_set = meta_value(META_SET_ID);
    let template_label = format!(
        "{} version {}",
        meta_value("set_code").unwrap_or_default(),
        meta_value("set_version").unwrap_or_default()
    );
    let period_id = input.period_id;
    let result = conn.transaction::<_, RollbackOr, _>(|c| {
        let period =
            Period::find(c, period_id)?.ok_or_else(|| AppError::not_found("period", period_id))?;
        // units by code (case-insensitive, as everywhere)
        let codes: BTreeSet<String> = rows.iter().map(|(_, r)| r.unit_code.to_lowercase()).collect();
        let units = Unit::find_by_codes(c, &codes.iter().cloned().collect::<Vec<_>>())?;
        let unit_by_code: HashMap<String, &Unit> =
            units.iter().map(|u| (u.code.to_lowercase(), u)).collect();
        let assessments = Assessment::of_units(
            c,
            period_id,
            &units.iter().map(|u| u.id).collect::<Vec<_>>(),
        )?;
        let ids: Vec<Uuid> = assessments.iter().map(|a| a.id).collect();
        // the lock order: the groups, then the assessments
        for group in Assessment::groups_of(c, period_id, &ids)? {
            Period::lock_group(c, period_id, group)?;
        }
        let locked: HashMap<Uuid, Assessment> = Assessment::lock_many(c, period_id, &ids)?
            .into_iter()
            .map(|a| (a.unit_id, a))
            .collect();
        let before_answers: HashMap<(Uuid, Uuid), Answer> = Assessment::answers(c, &ids)?
            .into_iter()
            .map(|a| ((a.assessment_id, a.node_id), a))
            .collect();
        let mut refusals: HashMap<Uuid, Option<AppError>> = HashMap::new();
        let mut seen: HashMap<(Uuid, String), RowNumber> = HashMap::new();
        let mut valid: Vec<(RowNumber, &AnswerRow, &Assessment, usize, Option<Value>)> = Vec::new();
        let mut refused_rows: BTreeSet<RowNumber> = conflicts.iter().map(|x| x.row).collect();
        checkpoint.progress(Phase::Checking, 0, Some(rows_read))?;
        for (k, (number, r)) in rows.iter().enumerate() {
            let number = *number;
            if k > 0 && (k as u64).is_multiple_of(CHECKPOINT_ROWS) {
                checkpoint.progress(Phase::Checking, k as u64, Some(rows_read))?;
            }
            let Some(unit) = unit_by_code.get(&r.unit_code.to_lowercase()) else {
                conflicts.push(row_conflict(
                    number,
                    r,
                    FieldError::new(
                        Column::UnitCode.as_str(),
                        "UNKNOWN_UNIT",
                        format!("no unit has the code {:?}", r.unit_code),
                    )
                    .with_param("value", &r.unit_code),
                ));
                refused_rows.insert(number);
                continue;
            };
            let Some(a) = locked.get(&unit.id) else {
                conflicts.push(row_conflict(
                    number,
                    r,
                    FieldError::new(
                        Column::UnitCode.as_str(),
                        "NOT_IN_PERIOD",
                        format!(
                            "unit {} has no assessment in this period (it is in none of the \
                             period's ranking groups)",
                            unit.code
                        ),
                    )
                    .with_param("unit", &unit.code),
                ));
                refused_rows.insert(number);
                continue;
            };
            // the rules of a single write: rights, then the form's state and the phase
            let refusal = refusals.entry(a.id).or_insert_with(|| {
                write_rights(actor, a)
                    .err()
                    .or_else(|| edit_refusal(actor, a, &period))
            });
            if let Some(e) = refusal {
                conflicts.push(refusal_conflict(number, r, e)?);
                refused_rows.insert(number);
                continue;
            }
            if let Some(first) = seen.insert((a.id, r.node_code.to_string()), number) {
                conflicts.push(row_conflict(
                    number,
                    r,
                    FieldError::new(
                        Column::NodeCode.as_str(),
                        "DUPLICATE",
                        format!(
                            "unit {} and component {} are already in row {first}",
                            r.unit_code, r.node_code
                        ),
                    )
                    .with_param("row", first),
                ));
                refused_rows.insert(number);
                continue;
            }
            let entry = set_entry(c, a.set_id)?;
            if let Some(t) = &template_set
                && *t != a.set_id.to_string()
            {
                conflicts.push(row_conflict(
                    number,
                    r,
                    FieldError::new(
                        "",
                        "TEMPLATE_VERSION_MISMATCH",
                        format!(
                            "the template was made for the indicator set {template_label}; unit \
                             {} is assessed with {} version {}: download the template again",
                            r.unit_code, entry.set.code, entry.set.version
                        ),
                    )
                    .with_param("template", &template_label)
                    .with_param("set", format!("{} version {}", entry.set.code, entry.set.version)),
                ));
                refused_rows.insert(number);
                continue;
            }
            let answer = AnswerInput {
                node_code: r.node_code.clone(),
                inputs: r.inputs.clone(),
                not_applicable: r.not_applicable,
                note: r.note.clone(),
                explanation: r.explanation.clone(),
                expected_version: None,
            };
            match check_answer(&entry, actor, &answer, "") {
                Ok((i, canonical)) => valid.push((number, r, a, i, canonical)),
                Err(errors) => {
                    for e in errors {
                        let col = layout::column_of_pointer(&e.field);
                        conflicts.push(row_conflict(number, r, at_column(e, col)));
                    }
                    refused_rows.insert(number);
                }
            }
        }
        let committed = !input.dry_run
            && (conflicts.is_empty() || input.mode == ImportMode::Partial);
        let write_anything = conflicts.is_empty() || input.mode == ImportMode::Partial;
        conflicts.sort_by_key(|x| x.row);
        // standings before
        let touched: BTreeMap<Uuid, &Assessment> =
            valid.iter().map(|(_, _, a, _, _)| (a.id, *a)).collect();
        let groups: BTreeSet<Uuid> = touched.values().map(|a| a.group_id).collect();
        let live = sees_live_standings(actor);
        let standing = |c: &mut PgConnection| -> AppResult<HashMap<Uuid, RankingRow>> {
            let mut out = HashMap::new();
            for g in &groups {
                for row in RankingRow::of_group(c, period_id, *g, &[("overall", String::new())])? {
                    out.insert(row.unit_id, row);
                }
            }
            Ok(out)
        };
        let before = if write_anything { standing(c)? } else { HashMap::new() };
        let mut outcomes = Vec::with_capacity(valid.len());
        let mut rescored_groups = 0;
        let mut units = Vec::new();
        if write_anything && !valid.is_empty() {
            checkpoint.progress(Phase::Writing, rows_read, Some(rows_read))?;
            let by = actor.account_id();
            let mut writes = Vec::with_capacity(valid.len());
            for (number, r, a, i, canonical) in &valid {
                let entry = set_entry(c, a.set_id)?;
                let node_id = entry.node_ids[*i];
                let new = AnswerState {
                    inputs: canonical.clone(),
                    not_applicable: r.not_applicable,
                    note: r.note.clone(),
                    explanation: r.explanation.clone(),
                };
                let old = before_answers.get(&(a.id, node_id)).map(state_of);
                let change = match &old {
                    None => RowChange::Created,
                    Some(o) if *o == new => RowChange::Unchanged,
                    Some(_) => RowChange::Updated,
                };
                outcomes.push(RowOutcome {
                    row: *number,
                    unit_code: r.unit_code.clone(),
                    node_code: entry.set.nodes[*i].code.clone(),
                    change,
                    old,
                    new,
                    evidence_added: 0,
                });
                if change != RowChange::Unchanged || !r.evidence.is_empty() {
                    writes.push(AnswerWrite {
                        assessment_id: a.id,
                        node_id,
                        inputs: canonical.clone(),
                        not_applicable: r.not_applicable,
                        note: r.note.clone(),
                        explanation: r.explanation.clone(),
                    });
                }
            }
            let written = Answer::upsert_many(c, &writes, by)?;
            let answer_ids: HashMap<(Uuid, Uuid), Uuid> =
                written.into_iter().map(|(id, a, n)| ((a, n), id)).collect();
            // evidence references, each added once
            for ((_, r, a, i, _), out) in valid.iter().zip(outcomes.iter_mut()) {
                if r.evidence.is_empty() {
                    continue;
                }
                let entry = set_entry(c, a.set_id)?;
                let Some(answer_id) = answer_ids.get(&(a.id, entry.node_ids[*i])).copied() else {
                    continue;
                };
                let existing = Evidence::of_answer(c, answer_id)?;
                for ev in &r.evidence {
                    let present = existing.iter().any(|x| match ev {
                        EvidenceRef::Url(u) => x.url.as_deref() == Some(u.as_str()),
                        EvidenceRef::Document { number, date } => {
                            x.doc_number.as_deref() == Some(number.as_str()) && x.doc_date == *date
                        }
                    });
                    if present {
                        continue;
                    }
                    let mut new = NewEvidence {
                        id: Uuid::new_v4(),
                        answer_id,
                        kind: match ev {
                            EvidenceRef::Url(_) => EvidenceKind::Url,
                            EvidenceRef::Document { .. } => EvidenceKind::Document,
                        },
                        blob_sha256: None,
                        filename: None,
                        url: None,
                        doc_number: None,
                        doc_date: None,
                        doc_issuer: None,
                        description: None,
                        created_by: by,
                    };
                    match ev {
                        EvidenceRef::Url(u) => {
                            new.url = Some(u.clone());
                        }
                        EvidenceRef::Document { number, date } => {
                            new.doc_number = Some(number.clone());
                            new.doc_date = *date;
                        }
                    }
                    Evidence::insert(c, &new)?;
                    out.evidence_added += 1;
                }
            }
            // one audit event per assessment, with what changed
            let mut changed: BTreeMap<Uuid, Vec<&RowOutcome>> = BTreeMap::new();
            for ((_, _, a, _, _), out) in valid.iter().zip(&outcomes) {
                if out.change != RowChange::Unchanged || out.evidence_added > 0 {
                    changed.entry(a.id).or_default().push(out);
                }
            }
            for (id, outs) in &changed {
                let a = touched[id];
                Audit::new(Some(actor), "answer.import", "assessment", a.id)
                    .unit(Some(a.unit_id))
                    .period(Some(a.period_id))
                    .old(outs.iter().filter_map(|o| o.old.as_ref().map(|s| serde_json::json!({"node": o.node_code, "inputs": s.inputs, "not_applicable": s.not_applicable}))).collect::<Vec<_>>())
                    .new_value(outs.iter().map(|o| serde_json::json!({"node": o.node_code, "inputs": o.new.inputs, "not_applicable": o.new.not_applicable, "evidence_added": o.evidence_added})).collect::<Vec<_>>())
                    .record(c)?;
                if a.state == AssessmentState::NotStarted {
                    Assessment::set_state(c, a.id, AssessmentState::InProgress, "answer", by, None)?;
                }
            }
            // one rescore per group
            checkpoint.progress(Phase::Rescoring, rows_read, Some(rows_read))?;
            let mut per_group: BTreeMap<Uuid, Vec<&Assessment>> = BTreeMap::new();
            for id in changed.keys() {
                let a = touched[id];
                per_group.entry(a.group_id).or_default().push(a);
            }
            for (group, members) in &per_group {
                match members.as_slice() {
                    [one] => {
                        let fresh = Assessment::find(c, one.id)?
                            .ok_or_else(|| AppError::not_found("assessment", one.id))?;
                        rescore_assessment(c, &fresh)?
                    }
                    _ => {
                        rescore_group(c, period_id, *group)?;
                    }
                }
            }
            rescored_groups = per_group.len();
            let after = standing(c)?;
            for a in touched.values() {
                let b = before.get(&a.unit_id);
                let n = after.get(&a.unit_id);
                let code = unit_by_code
                    .values()
                    .find(|u| u.id == a.unit_id)
                    .map(|u| u.code.clone())
                    .unwrap_or_default();
                units.push(UnitImpact {
                    unit_code: code,
                    assessment_id: a.id,
                    points_before: b.map(|x| x.points).unwrap_or_default(),
                    points_after: n.map(|x| x.points).unwrap_or_default(),
                    index_before: b.and_then(|x| x.index_value),
                    index_after: n.and_then(|x| x.index_value),
                    rank_before: b.and_then(|x| x.rank).filter(|_| live),
                    rank_after: n.and_then(|x| x.rank).filter(|_| live),
                });
            }
            units.sort_by(|x, y| x.unit_code.cmp(&y.unit_code));
        }
        let conflicts_omitted = conflicts.len().saturating_sub(MAX_CONFLICTS);
        conflicts.truncate(MAX_CONFLICTS);
        let outcome = ImportOutcome {
            format,
            dry_run: input.dry_run,
            mode: input.mode,
            rows_read,
            conflicts: std::mem::take(&mut conflicts),
            conflicts_omitted,
            rows_refused: refused_rows.len() as u64,
            rows: outcomes,
            units,
            committed,
            rescored_groups,
        };
        if committed {
            checkpoint.before_commit(c, &outcome)?;
            Ok(outcome)
        } else {
            // a dry run, or a refused all-or-nothing import: nothing stays
            Err(RollbackOr::Rollback(outcome))
        }
    });
    match result {
        Ok(o) => Ok(o),
        Err(RollbackOr::Rollback(o)) => Ok(o),
        Err(RollbackOr::App(e)) => Err(e),
    }
}

/// Which units an answers sheet covers.
pub enum SheetScope {
    /// One unit (by code).
    Unit(String),
    /// Every unit of a ranking group (by code or id).
    Group(String),
}

/// Who may download the answers sheet of `scope`: the provincial roles any; a unit account
/// its own unit's only (a group's: 403).
pub fn authorise_sheet(
    conn: &mut PgConnection,
    actor: &Principal,
    scope: &SheetScope,
) -> AppResult<()> {
    match scope {
        SheetScope::Unit(code) => {
            actor.require_role(
                &[
                    Role::Admin,
                    Role::Reviewer,
                    Role::Viewer,
                    Role::UnitEditor,
                    Role::UnitLeader,
                ],
                "download answer sheets",
            )?;
            let unit = crate::services::units::resolve_unit_field(conn, code, "unit")?;
            actor.require_unit_data(unit.id)
        }
        SheetScope::Group(_) => actor.require_role(
            &[Role::Admin, Role::Reviewer, Role::Viewer],
            "download the answer sheet of a group",
        ),
    }
}

/// The leaves of a set document, by code: guidance and evidence expected.
fn leaf_texts(nodes: &[crate::domain::indicator_set::Node], out: &mut NodeTexts) {
    for n in nodes {
        out.insert(
            n.code.clone(),
            (n.guidance.clone(), n.evidence_expected.clone()),
        );
        leaf_texts(&n.children, out);
    }
}

/// The rows of an answers sheet: one per unit × scored component of the period, the units in
/// code order, the components in the set's order; with the stored answers when `fill`.
pub fn answer_sheet(
    conn: &mut PgConnection,
    actor: &Principal,
    period_id: Uuid,
    scope: SheetScope,
    fill: bool,
) -> AppResult<(Vec<SheetRow>, Option<SheetMeta>)> {
    use crate::db::models::indicator_sets::IndicatorSet;
    authorise_sheet(conn, actor, &scope)?;
    let period =
        Period::find(conn, period_id)?.ok_or_else(|| AppError::not_found("period", period_id))?;
    let mut assessments = match &scope {
        SheetScope::Unit(code) => {
            let unit = crate::services::units::resolve_unit_field(conn, code, "unit")?;
            let found = Assessment::of_units(conn, period_id, &[unit.id])?;
            if found.is_empty() {
                return Err(AppError::validation(vec![
                    FieldError::new(
                        "unit",
                        "NOT_IN_PERIOD",
                        format!("unit {} has no assessment in this period", unit.code),
                    )
                    .with_param("unit", &unit.code),
                ]));
            }
            found
        }
        SheetScope::Group(r) => {
            let group = crate::services::units::resolve_group(conn, r)?;
            Assessment::of_group(conn, period_id, group.id)?
        }
    };
    let units: HashMap<Uuid, Unit> = Unit::find_many(
        conn,
        &assessments.iter().map(|a| a.unit_id).collect::<Vec<_>>(),
    )?
    .into_iter()
    .map(|u| (u.id, u))
    .collect();
    assessments.sort_by(|a, b| {
        let code = |x: &Assessment| units.get(&x.unit_id).map(|u| u.code.clone());
        code(a).cmp(&code(b))
    });
    let stored: HashMap<(Uuid, Uuid), Answer> = if fill {
        Assessment::answers(conn, &assessments.iter().map(|a| a.id).collect::<Vec<_>>())?
            .into_iter()
            .map(|a| ((a.assessment_id, a.node_id), a))
            .collect()
    } else {
        HashMap::new()
    };
    let mut rows = Vec::new();
    let mut meta = None;
    let mut texts: HashMap<Uuid, NodeTexts> = HashMap::new();
    for a in &assessments {
        let entry = set_entry(conn, a.set_id)?;
        if let std::collections::hash_map::Entry::Vacant(slot) = texts.entry(a.set_id) {
            let row = IndicatorSet::find(conn, a.set_id)?
                .ok_or_else(|| AppError::not_found("indicator set", a.set_id))?;
            let doc = crate::services::indicator_sets::document(&row)?;
            let mut t = HashMap::new();
            leaf_texts(&doc.nodes, &mut t);
            slot.insert(t);
            if meta.is_none() {
                meta = Some(SheetMeta {
                    set_id: a.set_id.to_string(),
                    set_code: row.code.clone(),
                    set_version: row.version,
                    period_code: period.code.clone(),
                });
            }
        }
        let unit = units.get(&a.unit_id);
        for (i, n) in entry.set.nodes.iter().enumerate() {
            if !n.takes_answers() {
                continue;
            }
            let (guidance, expected) = texts[&a.set_id].get(&n.code).cloned().unwrap_or_default();
            let mut cells = vec![
                (
                    Column::UnitCode,
                    unit.map(|u| u.code.clone()).unwrap_or_default(),
                ),
                (Column::NodeCode, n.code.clone()),
                (
                    Column::UnitName,
                    unit.map(|u| u.name.clone()).unwrap_or_default(),
                ),
                (Column::NodeName, n.name.clone()),
                (Column::MaxPoints, n.max_points.normalize().to_string()),
                (
                    Column::Method,
                    n.method
                        .as_ref()
                        .map(|m| m.name().to_string())
                        .unwrap_or_default(),
                ),
                (Column::Guidance, guidance.unwrap_or_default()),
                (Column::EvidenceExpected, expected.unwrap_or_default()),
            ];
            if let Some(ans) = stored.get(&(a.id, entry.node_ids[i])) {
                cells.extend(layout::input_cells(ans.inputs.as_ref()));
                if ans.not_applicable {
                    cells.push((Column::NotApplicable, "true".into()));
                }
                cells.extend(ans.note.clone().map(|v| (Column::Note, v)));
                cells.extend(ans.explanation.clone().map(|v| (Column::Explanation, v)));
            }
            rows.push(SheetRow {
                cells,
                method: n.method.clone(),
                max_points: n.max_points,
                declarable: n.applicability.declarable_not_applicable,
            });
        }
    }
    Ok((rows, meta))
}

/// The rows as a table in the layout's column order (the CSV export).
pub fn sheet_table(rows: &[SheetRow]) -> crate::tabular::Table {
    let cols = crate::imports::template::columns();
    crate::tabular::Table {
        headers: cols.iter().map(|c| c.as_str().to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| {
                        r.cells
                            .iter()
                            .find(|(k, _)| k == c)
                            .map_or(crate::tabular::Cell::Empty, |(_, v)| {
                                crate::tabular::Cell::Text(v.clone())
                            })
                    })
                    .collect()
            })
            .collect(),
    }
}
