//! Imports of province data from files: the answers of many units of one period in one call
//! (rows in the layout of `crate::imports::layout`).
//!
//! - Who may import what is the rule of a single answer write
//!   (`services::assessments::write_rights`, `edit_refusal`, `check_answer`): administrators
//!   everything, integration tokens the automatically measured components (within their
//!   period), unit accounts their own unit only (and at most [`MAX_UNIT_ROWS`] rows).
//! - The file streams: it is read in chunks of `IMPORT_CHUNK_ROWS` rows
//!   ([`DEFAULT_CHUNK_ROWS`]); each chunk is checked (its new units looked up and their
//!   assessments locked, one statement each), its stored answers read in one statement and its
//!   valid rows written in one. Across chunks the import keeps only what is bounded by the
//!   period's units and forms (per touched assessment its counts and changed components, the
//!   duplicate detector as small integer keys), the first [`MAX_CONFLICTS`] conflicts and a
//!   dry run's first [`MAX_LISTED_ROWS`] rows: memory does not grow with the file.
//! - Every problem is reported at once as a [`Conflict`] (row, column, code, message). All or
//!   nothing by default: after the first conflict nothing more is written, the rest of the file
//!   is still read and checked, and everything rolls back; [`ImportMode::Partial`] writes the
//!   valid rows of every chunk and reports the others.
//! - One transaction: the groups and then the assessments are locked (the lock order of
//!   `services::scoring`, see `Run::resolve_units`), the answers written in bulk, evidence
//!   references added, each assessment's change audited once (`answer.import`: which
//!   components were created or updated and how many rows left an answer unchanged, not the
//!   inputs themselves), and every touched group rescored once at the end. A dry run does all
//!   of it, reads what changed, and rolls back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use diesel::{Connection, PgConnection};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::{Answer, AnswerWrite, Assessment, StoredAnswer};
use crate::db::models::evidence::{Evidence, NewEvidence};
use crate::db::models::periods::Period;
use crate::db::models::scores::RankingRow;
use crate::db::models::units::Unit;
use crate::domain::Role;
use crate::domain::precondition::IfMatch;
use crate::domain::workflow::{AssessmentState, EvidenceKind};
use crate::error::{AppError, AppResult, FieldError};
use crate::imports::layout::{self, AnswerRow, Column, DecimalSeparator, EvidenceRef, Header};
use crate::imports::source::{self, Format, Item, MergedCells, RowNumber, SourceError};
use crate::imports::template::{META_SET_ID, SheetMeta, SheetRow};
use crate::services::assessments::{
    AnswerInput, Writable, check_answer, edit_refusal, sees_live_standings, write_rights,
};
use crate::services::scoring::Caches;
use crate::services::scoring::{SetEntry, rescore_assessment, rescore_group, set_entry};

/// The most rows a unit account may import at once (its form has about a hundred components).
pub const MAX_UNIT_ROWS: u64 = 2_000;
/// The most rows of any import (a national group: 3,400 units × 100 components).
pub const MAX_ROWS: u64 = 1_000_000;
/// A refused import lists at most this many conflicts (and counts the rest).
pub const MAX_CONFLICTS: usize = 1_000;

/// A dry run lists at most this many rows, old → new (all are counted).
pub const MAX_LISTED_ROWS: usize = 10_000;

/// Rows between two progress checkpoints of an import.
pub const CHECKPOINT_ROWS: u64 = 1_000;

/// Audit events written in one statement at the end of an import. Each lists its form's
/// changed components (about a hundred names, twice, as JSON): the 3,400 events of a national
/// import built at once held about 40 MB.
const AUDIT_BATCH: usize = 500;

/// Rows read, checked and written together when `IMPORT_CHUNK_ROWS` is not set: large enough
/// that statements are few (68 chunks for a national file), small enough that a chunk's rows
/// and their stored answers weigh a few MB.
pub const DEFAULT_CHUNK_ROWS: usize = 5_000;
/// The largest chunk `IMPORT_CHUNK_ROWS` may ask for.
pub const MAX_CHUNK_ROWS: usize = 50_000;

/// What a running import is doing (the progress a job reports). The file is handled chunk by
/// chunk, so the first three phases alternate: each chunk is read, then checked, then (while
/// rows are written) written; `rows_done` is the rows read so far in every phase, `rows_total`
/// is known once the file has been read to its end (its last chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the file: `rows_done` rows read so far (reported every [`CHECKPOINT_ROWS`]).
    Reading,
    /// Checking the chunk just read against the forms (looking up its units, locking their
    /// assessments).
    Checking,
    /// Writing the chunk's answers and evidence references.
    Writing,
    /// After the last chunk: the audit events, the rescore of the touched ranking groups.
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
    /// Rows read, checked and written together (`IMPORT_CHUNK_ROWS`, at least 1).
    pub chunk_rows: usize,
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
    /// Valid rows by what they do (all zero for a refused all-or-nothing import).
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// A dry run's valid rows, old → new: the first [`MAX_LISTED_ROWS`] (empty for a stored
    /// import).
    pub rows: Vec<RowOutcome>,
    /// A dry run's valid rows beyond [`MAX_LISTED_ROWS`], counted only.
    pub rows_omitted: usize,
    pub units: Vec<UnitImpact>,
    /// Whether the answers were stored (false for a dry run, and for an all-or-nothing import
    /// with conflicts).
    pub committed: bool,
    pub rescored_groups: usize,
    /// How many of those were rescored whole (every row of the group rewritten, rolled back
    /// or not): the scoring tables are vacuumed after the transaction then.
    pub rewritten_groups: usize,
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

/// What stops reading: a file-level problem, a refused header, too many rows, or what stops the
/// work on a chunk (a cancel, a database error).
enum Stop {
    Source(SourceError),
    App(AppError),
}

impl From<SourceError> for Stop {
    fn from(e: SourceError) -> Self {
        Stop::Source(e)
    }
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Stop::App(e)
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

fn header_mismatch(errors: Vec<FieldError>) -> AppError {
    AppError::unprocessable(
        "HEADER_MISMATCH",
        format!(
            "The header row does not match the answers layout; expected columns: {}.",
            Column::expected().join(", ")
        ),
    )
    .with_errors(errors)
    .with_extension("expected_columns", Column::expected())
    .with_param("expected", Column::expected().join(", "))
}

fn merged_header(regions: &[MergedCells]) -> Option<AppError> {
    let in_header: Vec<String> = regions
        .iter()
        .filter(|m| m.covers_row(1))
        .map(MergedCells::range)
        .collect();
    (!in_header.is_empty()).then(|| {
        AppError::unprocessable(
            "MERGED_CELLS",
            format!(
                "The header row has merged cells ({}); unmerge them so that each column has its \
                 own name.",
                in_header.join(", ")
            ),
        )
        .with_param("cells", in_header.join(", "))
        .with_extension("merged_cells", &in_header)
    })
}

/// The guidance and the evidence expected of each node of a set, by code.
type NodeTexts = HashMap<String, (Option<String>, Option<String>)>;

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
    Rollback(Box<ImportOutcome>),
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

/// The conflicts found so far: the first [`MAX_CONFLICTS`] by row (a row's own in the order
/// found), and how many in all. Rows arrive in order but a chunk's checks come after the
/// parse problems of its later rows, so the list is sorted (stably) and cut now and then.
#[derive(Default)]
struct Conflicts {
    kept: Vec<Conflict>,
    total: usize,
}

impl Conflicts {
    fn push(&mut self, c: Conflict) {
        self.total += 1;
        self.kept.push(c);
        if self.kept.len() >= 2 * MAX_CONFLICTS {
            self.cut();
        }
    }

    fn cut(&mut self) {
        self.kept.sort_by_key(|c| c.row);
        self.kept.truncate(MAX_CONFLICTS);
    }
}

/// Where a unit code of the file leads (codes are compared case-insensitively).
enum UnitSlot {
    /// No unit has the code.
    Unknown,
    /// The unit (its code as stored) has no assessment in the period.
    NotInPeriod(String),
    /// Its assessment: an index into [`Run::forms`].
    Form(u32),
}

/// A locked assessment the file names, with what the import keeps of it: one per unit, so
/// bounded by the period's units whatever the file's size.
struct Form {
    a: Assessment,
    unit_code: String,
    entry: Arc<SetEntry>,
    /// Why this caller may not write it now (rights, the form's state, the phase).
    refusal: Option<AppError>,
    /// Assessed with another set version than the template the file was made from.
    other_version: bool,
    /// Its rows that passed every check (a unit with one is listed before → after).
    valid_rows: u64,
    unchanged: u64,
    evidence_added: u64,
    /// Components (node indexes) whose answer is new, or changed: its audit event.
    created: Vec<u32>,
    updated: Vec<u32>,
}

impl Form {
    fn changed(&self) -> bool {
        !self.created.is_empty() || !self.updated.is_empty() || self.evidence_added > 0
    }

    fn codes(&self, nodes: &[u32]) -> Vec<&str> {
        nodes
            .iter()
            .map(|&i| self.entry.set.nodes[i as usize].code.as_str())
            .collect()
    }
}

/// A row that passed every check, waiting for its chunk's write.
struct ValidRow {
    row: RowNumber,
    form: u32,
    node: usize,
    unit_code: String,
    node_code: String,
    /// Canonical, as [`check_answer`] gives them.
    inputs: Option<Value>,
    not_applicable: bool,
    note: Option<String>,
    explanation: Option<String>,
    evidence: Vec<EvidenceRef>,
}

/// A valid row of a chunk being written: its form, node and answer key, where a dry run lists
/// it, and its change when known before the write (a row adding evidence).
struct Written {
    form: u32,
    node: u32,
    key: (Uuid, Uuid),
    listed_at: Option<usize>,
    known: Option<RowChange>,
}

/// A row adding evidence references, added once its answer's id is known.
struct WithEvidence {
    form: u32,
    key: (Uuid, Uuid),
    refs: Vec<EvidenceRef>,
    listed_at: Option<usize>,
}

/// Where the time of an import went (logged at its end).
struct Timings {
    started: std::time::Instant,
    chunks: std::time::Duration,
    lookup: std::time::Duration,
    check: std::time::Duration,
    write: std::time::Duration,
    evidence: std::time::Duration,
}

/// One answers import while it streams its file: the chunk being read, and across chunks only
/// what is bounded by the period's units and forms (see the module docs).
struct Run<'a> {
    caches: &'a Caches,
    actor: &'a Principal,
    input: &'a AnswerImport,
    period: Period,
    checkpoint: &'a mut dyn Checkpoint,
    limit: u64,
    header: Option<Header>,
    names: Vec<String>,
    merged: Vec<MergedCells>,
    /// Rows already refused as covered by a merged region.
    merged_refused: BTreeSet<RowNumber>,
    /// A filled template's set id and its label (`code version n`).
    template: Option<(String, String)>,
    chunk: Vec<(RowNumber, AnswerRow)>,
    rows_read: u64,
    units: HashMap<String, UnitSlot>,
    forms: Vec<Form>,
    groups_locked: bool,
    /// The duplicate detector: (form, node index) → the row that had it last.
    seen: HashMap<(u32, u32), RowNumber>,
    /// The same for node codes the set does not have (each is also refused as unknown).
    seen_unknown: HashMap<(u32, String), RowNumber>,
    conflicts: Conflicts,
    rows_refused: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
    /// A dry run's first [`MAX_LISTED_ROWS`] valid rows, old → new; the rest counted.
    listed: Vec<RowOutcome>,
    rows_omitted: usize,
    timings: Timings,
}

impl<'a> Run<'a> {
    fn new(
        caches: &'a Caches,
        actor: &'a Principal,
        input: &'a AnswerImport,
        period: Period,
        checkpoint: &'a mut dyn Checkpoint,
    ) -> Run<'a> {
        Run {
            caches,
            actor,
            input,
            period,
            checkpoint,
            limit: if actor.role.is_unit_role() {
                MAX_UNIT_ROWS
            } else {
                MAX_ROWS
            },
            header: None,
            names: Vec::new(),
            merged: Vec::new(),
            merged_refused: BTreeSet::new(),
            template: None,
            chunk: Vec::with_capacity(input.chunk_rows.min(MAX_CHUNK_ROWS)),
            rows_read: 0,
            units: HashMap::new(),
            forms: Vec::new(),
            groups_locked: false,
            seen: HashMap::new(),
            seen_unknown: HashMap::new(),
            conflicts: Conflicts::default(),
            rows_refused: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            listed: Vec::new(),
            rows_omitted: 0,
            timings: Timings {
                started: std::time::Instant::now(),
                chunks: Default::default(),
                lookup: Default::default(),
                check: Default::default(),
                write: Default::default(),
                evidence: Default::default(),
            },
        }
    }

    /// Whether valid rows are written: always in partial mode; all or nothing until the first
    /// conflict (the rest is still read and checked, to report every conflict).
    fn writing(&self) -> bool {
        self.conflicts.total == 0 || self.input.mode == ImportMode::Partial
    }

    fn visit(&mut self, c: &mut PgConnection, item: Item<'_>) -> Result<(), Stop> {
        match item {
            Item::Meta(pairs) => {
                // a filled template names the set version it was made from
                let value = |k: &str| pairs.iter().find(|(m, _)| m == k).map(|(_, v)| v.clone());
                self.template = value(META_SET_ID).map(|id| {
                    let label = format!(
                        "{} version {}",
                        value("set_code").unwrap_or_default(),
                        value("set_version").unwrap_or_default()
                    );
                    (id, label)
                });
                Ok(())
            }
            Item::Merged(regions) => {
                if let Some(e) = merged_header(&regions) {
                    return Err(Stop::App(e));
                }
                self.merged = regions;
                Ok(())
            }
            Item::Header(names) => match Header::parse(names) {
                Ok(h) => {
                    self.header = Some(h);
                    self.names = names.to_vec();
                    Ok(())
                }
                Err(errors) => Err(Stop::App(header_mismatch(errors))),
            },
            Item::Row(number, fields) => {
                let parsed = match &self.header {
                    Some(h) => layout::read_row(h, &fields, self.input.decimal_separator),
                    None => return Ok(()),
                };
                if matches!(parsed, Ok(None)) {
                    return Ok(());
                }
                self.rows_read += 1;
                if self.rows_read > self.limit {
                    return Err(Stop::App(too_many_rows(self.limit)));
                }
                if self.rows_read.is_multiple_of(CHECKPOINT_ROWS) {
                    self.checkpoint
                        .progress(Phase::Reading, self.rows_read, None)?;
                }
                let covering = self.merged.iter().position(|m| m.covers_row(number));
                match parsed {
                    Ok(Some(row)) => match covering {
                        Some(m) => {
                            let codes = (row.unit_code, row.node_code);
                            self.refuse_merged(number, m, Some(codes));
                        }
                        None => {
                            self.chunk.push((number, row));
                            if self.chunk.len() >= self.input.chunk_rows {
                                self.chunk_done(c, false)?;
                            }
                        }
                    },
                    Ok(None) => {}
                    Err(errors) => {
                        let any = !errors.is_empty();
                        for e in errors {
                            self.conflicts.push(Conflict {
                                row: number,
                                unit_code: None,
                                node_code: None,
                                error: e,
                            });
                        }
                        match covering {
                            Some(m) if any => self.refuse_merged(number, m, None),
                            _ if any => self.rows_refused += 1,
                            _ => {}
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Refuses a row a merged region covers (its other cells read as empty), naming the region
    /// at its first column (`MERGED_CELLS`), once per row.
    fn refuse_merged(&mut self, row: RowNumber, m: usize, codes: Option<(String, String)>) {
        let region = &self.merged[m];
        let column = self
            .names
            .get(region.columns.0)
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| source::column_letters(region.columns.0));
        let (unit_code, node_code) = codes.unzip();
        let conflict = Conflict {
            row,
            unit_code,
            node_code,
            error: FieldError::new(
                column,
                "MERGED_CELLS",
                format!(
                    "the cells {} are merged: only the first holds a value; unmerge them and \
                     fill each cell",
                    region.range()
                ),
            )
            .with_param("cells", region.range()),
        };
        self.conflicts.push(conflict);
        self.merged_refused.insert(row);
        self.rows_refused += 1;
    }

    fn refuse(&mut self, c: Conflict) {
        self.conflicts.push(c);
        self.rows_refused += 1;
    }

    /// Checks the chunk read (and, while rows are written, writes its valid rows).
    fn chunk_done(&mut self, c: &mut PgConnection, last: bool) -> AppResult<()> {
        let started = std::time::Instant::now();
        let total = last.then_some(self.rows_read);
        self.checkpoint
            .progress(Phase::Checking, self.rows_read, total)?;
        let rows = std::mem::take(&mut self.chunk);
        if rows.is_empty() {
            return Ok(());
        }
        let t = std::time::Instant::now();
        self.resolve_units(c, &rows, last)?;
        self.timings.lookup += t.elapsed();
        let t = std::time::Instant::now();
        let mut valid = Vec::with_capacity(rows.len());
        for (number, r) in rows {
            self.check_row(number, r, &mut valid)?;
        }
        self.timings.check += t.elapsed();
        if self.writing() && !valid.is_empty() {
            self.checkpoint
                .progress(Phase::Writing, self.rows_read, total)?;
            self.write(c, valid)?;
        }
        self.timings.chunks += started.elapsed();
        Ok(())
    }

    /// Finds the units the chunk names for the first time and locks their assessments.
    ///
    /// The lock order of `services::scoring`: every group this import may write is locked
    /// before its first assessment. When the whole file is one chunk, those are its units'
    /// groups (as few as can be); a longer file may name any unit in a later chunk, so it
    /// locks every group of the period, in order, at its first chunk. Assessments are then
    /// locked chunk by chunk as their units first appear: under their groups' locks, which
    /// every writer of an assessment takes first, no order among them can deadlock.
    fn resolve_units(
        &mut self,
        c: &mut PgConnection,
        rows: &[(RowNumber, AnswerRow)],
        last: bool,
    ) -> AppResult<()> {
        let caches = self.caches;
        let mut new: Vec<String> = rows
            .iter()
            .map(|(_, r)| r.unit_code.to_lowercase())
            .filter(|k| !self.units.contains_key(k))
            .collect();
        new.sort_unstable();
        new.dedup();
        if new.is_empty() {
            return Ok(());
        }
        let period_id = self.input.period_id;
        let units = Unit::find_by_codes(c, &new)?;
        for k in new {
            self.units.insert(k, UnitSlot::Unknown);
        }
        let found = Assessment::of_units(
            c,
            period_id,
            &units.iter().map(|u| u.id).collect::<Vec<_>>(),
        )?;
        if !found.is_empty() && !self.groups_locked {
            let groups: Vec<Uuid> = if last {
                found
                    .iter()
                    .map(|a| a.group_id)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            } else {
                Period::groups(c, period_id)?
                    .into_iter()
                    .map(|g| g.group_id)
                    .collect()
            };
            for g in groups {
                Period::lock_group(c, period_id, g)?;
            }
            self.groups_locked = true;
        }
        let ids: Vec<Uuid> = found.iter().map(|a| a.id).collect();
        let unit_of: HashMap<Uuid, &Unit> = units.iter().map(|u| (u.id, u)).collect();
        let mut form_of_unit: HashMap<Uuid, u32> = HashMap::new();
        for a in Assessment::lock_many(c, period_id, &ids)? {
            let Some(unit) = unit_of.get(&a.unit_id) else {
                continue;
            };
            let entry = set_entry(c, caches, a.set_id)?;
            let refusal = write_rights(self.actor, &a)
                .err()
                .or_else(|| edit_refusal(self.actor, &a, &self.period));
            let other_version = self
                .template
                .as_ref()
                .is_some_and(|(id, _)| *id != a.set_id.to_string());
            form_of_unit.insert(a.unit_id, self.forms.len() as u32);
            self.forms.push(Form {
                unit_code: unit.code.clone(),
                a,
                entry,
                refusal,
                other_version,
                valid_rows: 0,
                unchanged: 0,
                evidence_added: 0,
                created: Vec::new(),
                updated: Vec::new(),
            });
        }
        for u in &units {
            let slot = match form_of_unit.get(&u.id) {
                Some(&f) => UnitSlot::Form(f),
                None => UnitSlot::NotInPeriod(u.code.clone()),
            };
            self.units.insert(u.code.to_lowercase(), slot);
        }
        Ok(())
    }

    /// The checks of one row, in the order of a single write: the unit, its assessment in the
    /// period, the rights and the form's state, duplicates, the template's version, then the
    /// answer itself ([`check_answer`]).
    fn check_row(
        &mut self,
        number: RowNumber,
        mut r: AnswerRow,
        valid: &mut Vec<ValidRow>,
    ) -> AppResult<()> {
        let form = match self.units.get(&r.unit_code.to_lowercase()) {
            Some(UnitSlot::Form(f)) => *f,
            Some(UnitSlot::NotInPeriod(code)) => {
                let e = FieldError::new(
                    Column::UnitCode.as_str(),
                    "NOT_IN_PERIOD",
                    format!(
                        "unit {code} has no assessment in this period (it is in none of the \
                         period's ranking groups)"
                    ),
                )
                .with_param("unit", code);
                self.refuse(row_conflict(number, &r, e));
                return Ok(());
            }
            _ => {
                let e = FieldError::new(
                    Column::UnitCode.as_str(),
                    "UNKNOWN_UNIT",
                    format!("no unit has the code {:?}", r.unit_code),
                )
                .with_param("value", &r.unit_code);
                self.refuse(row_conflict(number, &r, e));
                return Ok(());
            }
        };
        let f = &self.forms[form as usize];
        if let Some(e) = &f.refusal {
            let conflict = refusal_conflict(number, &r, e)?;
            self.refuse(conflict);
            return Ok(());
        }
        let entry = f.entry.clone();
        let other_version = f.other_version;
        let first = match entry.set.index_of(&r.node_code) {
            Some(i) => self.seen.insert((form, i as u32), number),
            None => self
                .seen_unknown
                .insert((form, r.node_code.clone()), number),
        };
        if let Some(first) = first {
            let e = FieldError::new(
                Column::NodeCode.as_str(),
                "DUPLICATE",
                format!(
                    "unit {} and component {} are already in row {first}",
                    r.unit_code, r.node_code
                ),
            )
            .with_param("row", first);
            self.refuse(row_conflict(number, &r, e));
            return Ok(());
        }
        if other_version {
            let label = self
                .template
                .as_ref()
                .map(|(_, l)| l.clone())
                .unwrap_or_default();
            let e = FieldError::new(
                "",
                "TEMPLATE_VERSION_MISMATCH",
                format!(
                    "the template was made for the indicator set {label}; unit {} is assessed \
                     with {} version {}: download the template again",
                    r.unit_code, entry.set.code, entry.set.version
                ),
            )
            .with_param("template", &label)
            .with_param(
                "set",
                format!("{} version {}", entry.set.code, entry.set.version),
            );
            self.refuse(row_conflict(number, &r, e));
            return Ok(());
        }
        // the row's values move into the check and back: no copy per row
        let answer = AnswerInput {
            node_code: std::mem::take(&mut r.node_code),
            inputs: r.inputs.take(),
            not_applicable: r.not_applicable,
            note: r.note.take(),
            explanation: r.explanation.take(),
            expected: IfMatch::Any,
        };
        let checked = check_answer(&entry, Writable::of(self.actor), &answer, "");
        let AnswerInput {
            node_code,
            note,
            explanation,
            ..
        } = answer;
        r.node_code = node_code;
        match checked {
            Ok((i, inputs)) => valid.push(ValidRow {
                row: number,
                form,
                node: i,
                unit_code: r.unit_code,
                node_code: r.node_code,
                inputs,
                not_applicable: r.not_applicable,
                note,
                explanation,
                evidence: r.evidence,
            }),
            Err(errors) => {
                for e in errors {
                    let col = layout::column_of_pointer(&e.field);
                    self.conflicts
                        .push(row_conflict(number, &r, at_column(e, col)));
                }
                self.rows_refused += 1;
            }
        }
        Ok(())
    }

    /// Writes a chunk's valid rows in one statement that compares each with its stored answer
    /// and writes only those that differ (the rows adding evidence are written in one more,
    /// as a single write does); the stored answers are read first only for what needs them: a
    /// dry run's listed rows (old → new) and the rows adding evidence.
    fn write(&mut self, c: &mut PgConnection, valid: Vec<ValidRow>) -> AppResult<()> {
        let t = std::time::Instant::now();
        let key = |forms: &[Form], v: &ValidRow| {
            let f = &forms[v.form as usize];
            (f.a.id, f.entry.node_ids[v.node])
        };
        let pairs: Vec<(Uuid, Uuid)> = valid.iter().map(|v| key(&self.forms, v)).collect();
        let listing = if self.input.dry_run {
            MAX_LISTED_ROWS.saturating_sub(self.listed.len())
        } else {
            0
        };
        let wanted: Vec<(Uuid, Uuid)> = valid
            .iter()
            .zip(&pairs)
            .enumerate()
            .filter(|(k, (v, _))| *k < listing || !v.evidence.is_empty())
            .map(|(_, (_, p))| *p)
            .collect();
        let stored: HashMap<(Uuid, Uuid), StoredAnswer> = Answer::of_pairs(c, &wanted)?
            .into_iter()
            .map(|s| ((s.assessment_id, s.node_id), s))
            .collect();
        let by = self.actor.account_id();
        let mut plain = Vec::with_capacity(valid.len());
        let mut with_refs = Vec::new();
        let mut rows: Vec<Written> = Vec::with_capacity(valid.len());
        let mut with_evidence: Vec<WithEvidence> = Vec::new();
        for (k, (v, pair)) in valid.into_iter().zip(pairs).enumerate() {
            let old = stored.get(&pair);
            let mut listed_at = None;
            if k < listing {
                listed_at = Some(self.listed.len());
                self.listed.push(RowOutcome {
                    row: v.row,
                    unit_code: v.unit_code,
                    node_code: v.node_code,
                    // set below, from the write
                    change: RowChange::Unchanged,
                    old: old.map(|o| AnswerState {
                        inputs: o.inputs.clone(),
                        not_applicable: o.not_applicable,
                        note: o.note.clone(),
                        explanation: o.explanation.clone(),
                    }),
                    new: AnswerState {
                        inputs: v.inputs.clone(),
                        not_applicable: v.not_applicable,
                        note: v.note.clone(),
                        explanation: v.explanation.clone(),
                    },
                    evidence_added: 0,
                });
            } else if self.input.dry_run {
                self.rows_omitted += 1;
            }
            let write = AnswerWrite {
                assessment_id: pair.0,
                node_id: pair.1,
                inputs: v.inputs,
                not_applicable: v.not_applicable,
                note: v.note,
                explanation: v.explanation,
            };
            let known = if v.evidence.is_empty() {
                plain.push(write);
                None
            } else {
                // written whatever it changes (its evidence needs the answer's id)
                let change = match old {
                    None => RowChange::Created,
                    Some(o)
                        if o.inputs == write.inputs
                            && o.not_applicable == write.not_applicable
                            && o.note == write.note
                            && o.explanation == write.explanation =>
                    {
                        RowChange::Unchanged
                    }
                    Some(_) => RowChange::Updated,
                };
                with_refs.push(write);
                with_evidence.push(WithEvidence {
                    form: v.form,
                    key: pair,
                    refs: v.evidence,
                    listed_at,
                });
                Some(change)
            };
            rows.push(Written {
                form: v.form,
                node: v.node as u32,
                key: pair,
                listed_at,
                known,
            });
        }
        let changed: HashMap<(Uuid, Uuid), bool> = Answer::write_changed(c, &plain, by)?
            .into_iter()
            .map(|(a, n, created)| ((a, n), created))
            .collect();
        let written = if with_refs.is_empty() {
            Vec::new()
        } else {
            Answer::upsert_many(c, &with_refs, by)?
        };
        for Written {
            form,
            node,
            key,
            listed_at,
            known,
        } in rows
        {
            let change = known.unwrap_or(match changed.get(&key) {
                Some(true) => RowChange::Created,
                Some(false) => RowChange::Updated,
                None => RowChange::Unchanged,
            });
            let f = &mut self.forms[form as usize];
            f.valid_rows += 1;
            match change {
                RowChange::Created => {
                    self.created += 1;
                    f.created.push(node);
                }
                RowChange::Updated => {
                    self.updated += 1;
                    f.updated.push(node);
                }
                RowChange::Unchanged => {
                    self.unchanged += 1;
                    f.unchanged += 1;
                }
            }
            if let Some(l) = listed_at {
                self.listed[l].change = change;
            }
        }
        self.timings.write += t.elapsed();
        if with_evidence.is_empty() {
            return Ok(());
        }
        // evidence references, each added once
        let t = std::time::Instant::now();
        let answer_ids: HashMap<(Uuid, Uuid), Uuid> =
            written.into_iter().map(|(id, a, n)| ((a, n), id)).collect();
        let ids: Vec<Uuid> = with_evidence
            .iter()
            .filter_map(|e| answer_ids.get(&e.key).copied())
            .collect();
        let mut existing: HashMap<Uuid, Vec<Evidence>> = HashMap::new();
        for e in Evidence::of_answers(c, &ids)? {
            existing.entry(e.answer_id).or_default().push(e);
        }
        let mut new_rows = Vec::new();
        for WithEvidence {
            form,
            key,
            refs,
            listed_at,
        } in with_evidence
        {
            let Some(&answer_id) = answer_ids.get(&key) else {
                continue;
            };
            let have = existing.get(&answer_id).map_or(&[][..], Vec::as_slice);
            let mut added = 0;
            for ev in refs {
                let present = have.iter().any(|x| match &ev {
                    EvidenceRef::Url(u) => x.url.as_deref() == Some(u.as_str()),
                    EvidenceRef::Document { number, date } => {
                        x.doc_number.as_deref() == Some(number.as_str()) && x.doc_date == *date
                    }
                });
                if present {
                    continue;
                }
                let kind = match ev {
                    EvidenceRef::Url(_) => EvidenceKind::Url,
                    EvidenceRef::Document { .. } => EvidenceKind::Document,
                };
                let mut new = NewEvidence::blank(answer_id, kind, by);
                match ev {
                    EvidenceRef::Url(u) => new.url = Some(u),
                    EvidenceRef::Document { number, date } => {
                        new.doc_number = Some(number);
                        new.doc_date = date;
                    }
                }
                new_rows.push(new);
                added += 1;
            }
            self.forms[form as usize].evidence_added += added;
            if let Some(l) = listed_at {
                self.listed[l].evidence_added += added as usize;
            }
        }
        Evidence::insert_many(c, &new_rows)?;
        self.timings.evidence += t.elapsed();
        Ok(())
    }

    /// After the last chunk: the regions over blank rows, then (when rows were written) one
    /// audit event per changed assessment, one rescore per touched group, and each touched
    /// unit's standing before → after.
    fn finish(mut self, c: &mut PgConnection) -> AppResult<ImportOutcome> {
        let caches = self.caches;
        // a merged region over blank rows is still reported, at its first row
        for m in 0..self.merged.len() {
            let first = self.merged[m].rows.0;
            if !self.merged_refused.contains(&first) {
                self.refuse_merged(first, m, None);
            }
        }
        let write_anything = self.writing();
        let committed = !self.input.dry_run && write_anything;
        let mut units = Vec::new();
        let mut rescored_groups = 0;
        let mut rewritten_groups = 0;
        let t = std::time::Instant::now();
        if !write_anything {
            // a refused all-or-nothing import: what its first chunks wrote is rolled back
            (self.created, self.updated, self.unchanged) = (0, 0, 0);
            self.listed.clear();
            self.rows_omitted = 0;
        } else if self.forms.iter().any(|f| f.valid_rows > 0) {
            let by = self.actor.account_id();
            let mut changed: Vec<&Form> = self.forms.iter().filter(|f| f.changed()).collect();
            changed.sort_by_key(|f| f.a.id);
            // one audit event per assessment: what changed, by component (not the inputs),
            // [`AUDIT_BATCH`] events a statement, and the forms not started yet are now in
            // progress
            for batch in changed.chunks(AUDIT_BATCH) {
                let events = batch
                    .iter()
                    .map(|f| {
                        Audit::new(Some(self.actor), "answer.import", "assessment", f.a.id)
                            .unit(Some(f.a.unit_id))
                            .period(Some(f.a.period_id))
                            .old(serde_json::json!({ "updated": f.codes(&f.updated) }))
                            .new_value(serde_json::json!({
                                "created": f.codes(&f.created),
                                "updated": f.codes(&f.updated),
                                "unchanged": f.unchanged,
                                "evidence_added": f.evidence_added,
                            }))
                    })
                    .collect();
                Audit::record_many(events, c)?;
            }
            let starting: Vec<Uuid> = changed
                .iter()
                .filter(|f| f.a.state == AssessmentState::NotStarted)
                .map(|f| f.a.id)
                .collect();
            Assessment::start_many(c, &starting, "answer", by)?;
            let audited = t.elapsed();
            self.checkpoint
                .progress(Phase::Rescoring, self.rows_read, Some(self.rows_read))?;
            let period_id = self.input.period_id;
            let groups: BTreeSet<Uuid> = self
                .forms
                .iter()
                .filter(|f| f.valid_rows > 0)
                .map(|f| f.a.group_id)
                .collect();
            let standing = |c: &mut PgConnection| -> AppResult<HashMap<Uuid, RankingRow>> {
                let mut out = HashMap::new();
                for g in &groups {
                    for row in RankingRow::of_group(
                        c,
                        period_id,
                        *g,
                        &[crate::scoring::ranking::Scope::overall()],
                    )? {
                        out.insert(row.unit_id, row);
                    }
                }
                Ok(out)
            };
            // the stored numbers move only in the rescore below: read now, they are the
            // standings before the import
            let before = standing(c)?;
            let t = std::time::Instant::now();
            let mut per_group: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
            for f in &changed {
                per_group.entry(f.a.group_id).or_default().push(f.a.id);
            }
            for (group, members) in &per_group {
                match members.as_slice() {
                    [one] => {
                        let fresh = Assessment::find(c, *one)?
                            .ok_or_else(|| AppError::not_found("assessment", *one))?;
                        rescore_assessment(c, caches, &fresh)?;
                    }
                    _ => {
                        rescore_group(c, caches, period_id, *group)?;
                        rewritten_groups += 1;
                    }
                }
            }
            rescored_groups = per_group.len();
            let rescored = t.elapsed();
            let after = standing(c)?;
            let live = sees_live_standings(self.actor);
            for f in self.forms.iter().filter(|f| f.valid_rows > 0) {
                let b = before.get(&f.a.unit_id);
                let n = after.get(&f.a.unit_id);
                units.push(UnitImpact {
                    unit_code: f.unit_code.clone(),
                    assessment_id: f.a.id,
                    points_before: b.map(|x| x.points).unwrap_or_default(),
                    points_after: n.map(|x| x.points).unwrap_or_default(),
                    index_before: b.and_then(|x| x.index_value),
                    index_after: n.and_then(|x| x.index_value),
                    rank_before: b.and_then(|x| x.rank).filter(|_| live),
                    rank_after: n.and_then(|x| x.rank).filter(|_| live),
                });
            }
            units.sort_by(|x, y| x.unit_code.cmp(&y.unit_code));
            tracing::info!(
                "answers import: {} audit events in {audited:?}, {rescored_groups} group(s) \
                 rescored in {rescored:?}",
                changed.len()
            );
        }
        let tm = &self.timings;
        tracing::info!(
            "answers import: {} rows, {} refused in {:?}: reading {:?}, chunks {:?} (units and \
             locks {:?}, checks {:?}, answers {:?}, evidence {:?}), the end {:?}",
            self.rows_read,
            self.rows_refused,
            tm.started.elapsed(),
            tm.started.elapsed().saturating_sub(tm.chunks + t.elapsed()),
            tm.chunks,
            tm.lookup,
            tm.check,
            tm.write,
            tm.evidence,
            t.elapsed()
        );
        self.conflicts.cut();
        let conflicts_omitted = self.conflicts.total - self.conflicts.kept.len();
        Ok(ImportOutcome {
            format: Format::Csv,
            dry_run: self.input.dry_run,
            mode: self.input.mode,
            rows_read: self.rows_read,
            conflicts: self.conflicts.kept,
            conflicts_omitted,
            rows_refused: self.rows_refused,
            created: self.created,
            updated: self.updated,
            unchanged: self.unchanged,
            rows: self.listed,
            rows_omitted: self.rows_omitted,
            units,
            committed,
            rescored_groups,
            rewritten_groups,
        })
    }
}

/// Imports the answers of `file` into the period (see the module docs). Rights must have been
/// checked with [`authorise_answers`].
pub fn import_answers(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    input: AnswerImport,
    file: std::fs::File,
    format: Format,
) -> AppResult<ImportOutcome> {
    import_answers_with(conn, caches, actor, input, file, format, &mut NoCheckpoint)
}

/// [`import_answers`], reporting progress to `checkpoint` (which may stop it).
pub fn import_answers_with(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    input: AnswerImport,
    file: std::fs::File,
    format: Format,
    checkpoint: &mut dyn Checkpoint,
) -> AppResult<ImportOutcome> {
    authorise_answers(conn, actor, input.period_id)?;
    // an import is the largest work of the server after a rescore: it starts from what is in
    // use, not on top of what earlier requests freed in the other threads' arenas
    crate::memory::release_free_memory();
    let period_id = input.period_id;
    let result = conn.transaction::<_, RollbackOr, _>(|c| {
        let period =
            Period::find(c, period_id)?.ok_or_else(|| AppError::not_found("period", period_id))?;
        let mut run = Run::new(caches, actor, &input, period, &mut *checkpoint);
        match source::read::<Stop>(file, format, &mut |item| run.visit(c, item)) {
            Ok(()) => {}
            Err(Stop::Source(e)) => return Err(source_error(e).into()),
            Err(Stop::App(e)) => return Err(e.into()),
        }
        run.chunk_done(c, true)?;
        // what the chunks held is free now, but in this thread's allocator arena, where the
        // rescore (parsing the group's inputs on the scoring pool's threads) would not reuse
        // it: handed back first, it does not stay resident under the rescore's peak
        crate::memory::release_free_memory();
        let mut outcome = run.finish(c)?;
        outcome.format = format;
        if outcome.committed {
            checkpoint.before_commit(c, &outcome)?;
            Ok(outcome)
        } else {
            // a dry run, or a refused all-or-nothing import: nothing stays
            Err(RollbackOr::Rollback(Box::new(outcome)))
        }
    });
    let outcome = match result {
        Ok(o) => o,
        Err(RollbackOr::Rollback(o)) => *o,
        Err(RollbackOr::App(e)) => return Err(e),
    };
    if outcome.rewritten_groups > 0 {
        // every row of a group rewritten, kept or rolled back: see `tidy_after_rewrite`
        crate::services::scoring::tidy_after_rewrite(conn);
    }
    Ok(outcome)
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
    caches: &Caches,
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
        let entry = set_entry(conn, caches, a.set_id)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_conflicts_by_row_are_kept_whatever_order_they_come_in() {
        let conflict = |row, code: &str| Conflict {
            row,
            unit_code: None,
            node_code: None,
            error: FieldError::new("", code, ""),
        };
        let mut c = Conflicts::default();
        // later rows first (a chunk's parse problems come before its checks), then a second
        // problem of row 1
        let n = 3 * MAX_CONFLICTS as u64;
        for row in (1..=n).rev() {
            c.push(conflict(row, "A"));
        }
        c.push(conflict(1, "B"));
        c.cut();
        assert_eq!(c.total, 3 * MAX_CONFLICTS + 1);
        assert_eq!(c.kept.len(), MAX_CONFLICTS);
        let first: Vec<(u64, &str)> = c.kept[..3]
            .iter()
            .map(|x| (x.row, x.error.code.as_str()))
            .collect();
        assert_eq!(first, [(1, "A"), (1, "B"), (2, "A")]);
        assert_eq!(c.kept.last().map(|x| x.row), Some(MAX_CONFLICTS as u64 - 1));
    }
}
