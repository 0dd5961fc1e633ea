//! `/periods/{id}/imports/…`: province data from files (CSV, XLSX, ODS, JSON rows).
//!
//! The body is the file itself (any `Content-Type`: the format is read from the content). It
//! is spooled to a temporary file as it arrives (at most [`MAX_IMPORT_BYTES`]), never held in
//! memory, and read from there row by row.

use std::io::Write;

use actix_web::dev::{Decompress, Payload};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::ErrorResponses;
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::{check_announced_length, payload_error, too_large};
use crate::auth::principal::Writer;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::imports::layout::DecimalSeparator;
use crate::imports::source::{self, Format};
use crate::services::idempotency::{self, IdempotentRequest, request_hash};
use crate::services::imports::{
    self as svc, AnswerImport, Conflict, ImportMode, ImportOutcome, RowOutcome, UnitImpact,
};
use crate::services::jobs::AnswersImportOptions;
use crate::state::AppState;

/// The largest file an import accepts (256 MiB; a national CSV of 340,000 answers is about
/// 15 MiB).
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;
/// A dry run lists at most this many rows (all are counted).
pub use crate::services::imports::MAX_LISTED_ROWS;

/// A file's bytes (CSV, XLSX or ODS), as the body of an import.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImportFile(#[allow(dead_code)] Vec<u8>);

/// JSON rows: each member is a column of the layout (numbers as JSON numbers or decimal
/// strings, `items` as `code=value; code=value`).
#[derive(ToSchema)]
#[schema(example = json!({"rows": [{"unit_code": "XA-BAC-HA", "node_code": "1.2", "numerator": 3, "denominator": 4}]}))]
pub struct AnswerRows {
    #[allow(dead_code)]
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    rows: Vec<serde_json::Value>,
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(import_answers)
        .service(answers_template)
        .service(answers_export);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Check and compute everything, store nothing: the result says what would change.
    #[serde(default)]
    pub dry_run: bool,
    /// `all_or_nothing` (default): any conflict refuses the import (422 `IMPORT_REFUSED`);
    /// `partial`: the valid rows are stored and the others reported.
    #[serde(default)]
    #[param(inline)]
    pub mode: ImportMode,
    /// How decimals are written in text cells: `dot` (`0.5`, default) or `comma` (`0,5`).
    /// Never guessed: a number holding the other separator is a conflict.
    #[serde(default)]
    #[param(inline)]
    pub decimal_separator: DecimalSeparator,
    /// Run the import as a job whatever the file's size (202 Accepted). Files larger than the
    /// server's threshold (`IMPORT_ASYNC_BYTES`, 1 MiB by default) always run as jobs. Unit
    /// accounts' imports (at most 2,000 rows) are always answered at once.
    #[serde(default, rename = "async")]
    #[param(rename = "async")]
    pub run_async: bool,
}

/// One problem of one row: its row (the CSV line, the worksheet row with the header as row 1,
/// or the position in a JSON body's `rows` from 1), its column, a stable code and a message
/// (Vietnamese with `Accept-Language: vi`, the English one then in `message_en`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportConflict {
    pub row: u64,
    /// The column's name; absent for the row as a whole.
    pub column: Option<String>,
    pub unit_code: Option<String>,
    pub node_code: Option<String>,
    #[schema(example = "NUMERATOR_EXCEEDS_DENOMINATOR")]
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_en: Option<String>,
}

/// The result of an answers import.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswersImportResponse {
    /// The format read from the content.
    pub format: Format,
    pub dry_run: bool,
    pub mode: ImportMode,
    /// Whether the answers were stored (never for a dry run).
    pub committed: bool,
    /// Data rows read (empty rows are skipped).
    pub rows_read: u64,
    /// Rows with at least one conflict (not stored).
    pub rows_refused: u64,
    /// Valid rows by what they do: a new answer, a changed one, or the same as stored.
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub conflicts: Vec<ImportConflict>,
    /// Conflicts beyond the first 1,000, counted only.
    pub conflicts_omitted: usize,
    /// Dry run: each valid row, old → new (the first 10,000; `rows_omitted` counts the rest).
    /// Empty for a stored import.
    pub rows: Vec<RowOutcome>,
    pub rows_omitted: usize,
    /// Each touched unit: points, index and rank (provincial roles only) before → after.
    pub units: Vec<UnitImpact>,
    /// Ranking groups rescored (once each).
    pub rescored_groups: usize,
}

fn conflict_dto(c: Conflict, lang: Lang) -> ImportConflict {
    let mut message = c.error.message.clone();
    let mut message_en = None;
    if lang == Lang::Vi
        && let Some(vi) = crate::i18n::field_message_vi(&c.error)
    {
        message_en = Some(std::mem::replace(&mut message, vi));
    }
    ImportConflict {
        row: c.row,
        column: (!c.error.field.is_empty()).then(|| c.error.field.clone()),
        unit_code: c.unit_code,
        node_code: c.node_code,
        code: c.error.code,
        message,
        message_en,
    }
}

fn response(o: &ImportOutcome, lang: Lang) -> AnswersImportResponse {
    // a dry run lists its rows (the first MAX_LISTED_ROWS, kept by the import); a stored
    // import does not
    let (rows, rows_omitted) = if o.dry_run {
        (o.rows.clone(), o.rows_omitted)
    } else {
        (Vec::new(), 0)
    };
    AnswersImportResponse {
        format: o.format,
        dry_run: o.dry_run,
        mode: o.mode,
        committed: o.committed,
        rows_read: o.rows_read,
        rows_refused: o.rows_refused,
        created: o.created,
        updated: o.updated,
        unchanged: o.unchanged,
        conflicts: o
            .conflicts
            .iter()
            .map(|c| conflict_dto(c.clone(), lang))
            .collect(),
        conflicts_omitted: o.conflicts_omitted,
        rows,
        rows_omitted,
        units: o.units.clone(),
        rescored_groups: o.rescored_groups,
    }
}

/// 422 `IMPORT_REFUSED`: an all-or-nothing import with conflicts; nothing was stored. Every
/// conflict is in `errors[]` (`/rows/{row}/{column}`) and in the extension `conflicts`.
fn refused(body: &AnswersImportResponse, outcome_conflicts: &[Conflict]) -> AppError {
    let errors: Vec<FieldError> = outcome_conflicts
        .iter()
        .map(|c| {
            let mut e = c.error.clone();
            e.field = if c.error.field.is_empty() {
                format!("/rows/{}", c.row)
            } else {
                format!("/rows/{}/{}", c.row, c.error.field)
            };
            e
        })
        .collect();
    AppError::unprocessable(
        "IMPORT_REFUSED",
        format!(
            "{} of {} row(s) have conflicts; nothing was stored. Fix them, or send \
             mode=partial to store the valid rows.",
            body.rows_refused, body.rows_read
        ),
    )
    .with_param("refused", body.rows_refused)
    .with_param("total", body.rows_read)
    .with_errors(errors)
    .with_extension("conflicts", &body.conflicts)
    .with_extension("conflicts_omitted", body.conflicts_omitted)
    .with_extension("rows_read", body.rows_read)
    .with_extension("rows_refused", body.rows_refused)
}

/// What the import's outcome answers: its body (200), or, for an all-or-nothing import with
/// conflicts, the 422 `IMPORT_REFUSED` problem (nothing was stored). A job stores the same.
pub fn shape(outcome: &ImportOutcome, lang: Lang) -> Result<AnswersImportResponse, AppError> {
    let body = response(outcome, lang);
    if !outcome.committed && !outcome.dry_run {
        return Err(refused(&body, &outcome.conflicts));
    }
    Ok(body)
}

/// The body, spooled to an anonymous temporary file, with its format and the identity of the
/// request for `Idempotency-Key` (method, path and query, SHA-256 of the body).
pub async fn spool(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> AppResult<(std::fs::File, Format, String)> {
    use sha2::Digest;
    check_announced_length(req, limit)?;
    let file = tempfile::tempfile().map_err(AppError::internal)?;
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
    let mut stream = Decompress::from_headers(payload, req.headers());
    let mut hash = sha2::Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(4096);
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| payload_error(&e))?;
        total += chunk.len();
        if total > limit {
            return Err(too_large(limit));
        }
        if head.len() < 4096 {
            let take = (4096 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hash.update(&chunk);
        out.write_all(&chunk).map_err(AppError::internal)?;
    }
    let file = out
        .into_inner()
        .map_err(|e| AppError::internal(e.into_error()))?;
    let format = source::sniff(&head).map_err(svc::source_error)?;
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_else(|| req.path());
    let digest = hex::encode(hash.finalize());
    let identity = request_hash(req.method().as_str(), path, digest.as_bytes());
    Ok((file, format, identity))
}

/// Imports the answers of many units of the period from a file.
///
/// The body is the file: CSV (UTF-8, with or without a byte-order mark), XLSX or ODS (the
/// sheet `answers`, else the first; the first row is the header), or JSON rows
/// (`{"rows": [{"unit_code": "XA-01", "node_code": "1.1", "numerator": 3, …}]}`). The format
/// is read from the content, whatever the `Content-Type` or name.
///
/// Columns (README, "From Excel"): `unit_code`, `node_code`, the method's inputs
/// (`numerator`, `denominator`, `satisfied`, `respondents`, `value`, `option`, `items` as
/// `code=value; code=value`, `points`), `not_applicable`, `note`, `explanation`,
/// `evidence_url`, `evidence_doc_number`, `evidence_doc_date` (`YYYY-MM-DD`); the templates'
/// descriptive columns (`unit_name`, `node_name`, `max_points`, `method`, `guidance`,
/// `evidence_expected`) are ignored.
///
/// Rights are those of a single answer write: administrators any unit, integration tokens the
/// automatically measured components, unit accounts their own unit (at most 2,000 rows). Every
/// row is checked and every problem is reported at once (`conflicts`: row, column, code,
/// message; the first 1,000). The file is read, checked and written in chunks
/// (`IMPORT_CHUNK_ROWS`, 5,000 rows by default) in one transaction, so memory does not grow
/// with the file. All or nothing by default (422 `IMPORT_REFUSED`, nothing stored);
/// `mode=partial` stores the valid rows. `dry_run=true` stores nothing and returns each row
/// old → new (the first 10,000) and each touched unit's points, index and rank before → after.
/// Each touched ranking group is rescored once, at the end. Send an `Idempotency-Key` to make
/// a retry safe.
///
/// A file larger than the server's threshold (`IMPORT_ASYNC_BYTES`, 1 MiB by default), or any
/// file with `async=true`, runs as a job (not for unit accounts, whose imports are small and
/// answered at once): 202 Accepted with `Location: /api/v1/jobs/{id}` and
/// the job. The job does exactly what the synchronous call does, in one transaction (dry runs
/// and partial imports too); its `result` is the body above, its `problem` the 4xx problem
/// the synchronous call would give (`IMPORT_REFUSED`, `HEADER_MISMATCH`, …).
#[utoipa::path(
    tag = "imports",
    params(("id" = Uuid, Path, description = "Period id"), ImportParams, IdempotencyKeyHeader),
    request_body(
        description = "The file (at most 256 MiB); its format is read from the content",
        content(
            (ImportFile = "text/csv"),
            (ImportFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (ImportFile = "application/vnd.oasis.opendocument.spreadsheet"),
            (AnswerRows = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Stored (or a dry run, or replayed: see `Idempotency-Key`); conflicts of a partial import listed", body = AnswersImportResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 202, description = "Queued as a job (a file over `IMPORT_ASYNC_BYTES`, or `async=true`): follow `Location` (`GET /api/v1/jobs/{id}`) for its state, progress and, at the end, the same result (or problem) the synchronous call gives. The same `Idempotency-Key` returns the same job", body = super::jobs::JobResponse, headers(("Location" = String, description = "`/api/v1/jobs/{id}`"), ("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`IDEMPOTENCY_KEY_IN_USE`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`PAYLOAD_TOO_LARGE` (over 256 MiB), or `TOO_MANY_ROWS` (a unit account's file over 2,000 rows)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`UNSUPPORTED_FILE_TYPE`: the content is not CSV, XLSX, ODS or JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`IMPORT_REFUSED` (conflicts, nothing stored), `HEADER_MISMATCH` (lists the expected columns), `NOT_UTF8` (names the detected encoding), `EMPTY_FILE`, `FILE_UNREADABLE`, or `IDEMPOTENCY_KEY_REUSED`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/periods/{id}/imports/answers")]
async fn import_answers(
    state: web::Data<AppState>,
    Writer(who): Writer,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    params: web::Query<ImportParams>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let period = id.into_inner();
    // who may import is decided before a byte of the body is read
    let gate = who.clone();
    crate::db::with_conn(&state.pool, move |c| {
        svc::authorise_answers(c, &gate, period)
    })
    .await?;
    let (mut file, format, identity) = spool(&req, payload.into_inner(), MAX_IMPORT_BYTES).await?;
    let keyed = key.0.map(|k| IdempotentRequest::new(&who, k, identity));
    let params = params.into_inner();
    let lang = crate::i18n::current();
    let size = file.metadata().map_err(AppError::internal)?.len();
    // a unit account's import is at most MAX_UNIT_ROWS rows: always answered at once (a larger
    // file is refused with 413 as soon as its row 2,001 is read)
    let as_job = !who.role.is_unit_role()
        && (params.run_async || size > state.config.jobs.import_async_bytes);
    if as_job {
        let options = AnswersImportOptions {
            dry_run: params.dry_run,
            mode: params.mode,
            decimal_separator: params.decimal_separator,
            language: lang.tag().to_string(),
        };
        let reply = crate::db::with_conn(&state.pool, move |c| {
            let authorise = |c: &mut _| svc::authorise_answers(c, &who, period);
            idempotency::run(c, keyed.as_ref(), authorise, |c| {
                let job = crate::services::jobs::queue_answers_import(
                    c, &who, period, &options, &mut file, format,
                )?;
                Ok((202, to_body(super::jobs::job_response(job)?)?))
            })
        })
        .await?;
        return respond(reply, |body, resp| {
            if let Some(id) = body.get("id").and_then(|v| v.as_str()) {
                resp.insert_header((
                    actix_web::http::header::LOCATION,
                    format!("/api/v1/jobs/{id}"),
                ));
            }
        });
    }
    let chunk_rows = state.config.jobs.import_chunk_rows;
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |c: &mut _| svc::authorise_answers(c, &who, period);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let input = AnswerImport {
                period_id: period,
                dry_run: params.dry_run,
                mode: params.mode,
                decimal_separator: params.decimal_separator,
                chunk_rows,
            };
            let outcome = svc::import_answers(c, &caches, &who, input, file, format)?;
            Ok((200, to_body(shape(&outcome, lang)?)?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

/// The units of an answers sheet: one unit, or a ranking group (exactly one of the two).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SheetParams {
    /// A unit's code or id: its form.
    #[param(min_length = 1, max_length = 64)]
    pub unit: Option<String>,
    /// A ranking group's code or id: one row per unit of the group × component.
    #[param(min_length = 1, max_length = 64)]
    pub group: Option<String>,
}

fn scope_of(p: SheetParams) -> AppResult<svc::SheetScope> {
    match (p.unit, p.group) {
        (Some(u), None) => Ok(svc::SheetScope::Unit(u)),
        (None, Some(g)) => Ok(svc::SheetScope::Group(g)),
        _ => Err(AppError::validation(vec![FieldError::new(
            "unit",
            "EXCLUSIVE",
            "give exactly one of unit and group",
        )])),
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn attachment(bytes: Vec<u8>, content_type: &str, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes)
}

fn table_error(e: crate::tabular::TableError) -> AppError {
    AppError::internal(e)
}

/// A blank answers template (XLSX) for a unit's form or for a whole ranking group.
///
/// Sheet `answers`: one row per unit × scored component, with the codes, the Vietnamese names,
/// the maximum points, the method, the guidance and the evidence expected; the input columns
/// the component's method reads are open (with data validation: option lists, true/false,
/// non-negative numbers, whole numbers for survey counts), everything else is locked in a
/// protected sheet. A hidden sheet `_meta` names the indicator-set version: importing the
/// filled template for a group assessed with another version is refused row by row
/// (`TEMPLATE_VERSION_MISMATCH`). Fill it and send it to `POST …/imports/answers`.
#[utoipa::path(
    tag = "imports",
    params(("id" = Uuid, Path, description = "Period id"), SheetParams),
    responses(
        (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = ImportFile),
        (status = 422, description = "`VALIDATION_FAILED`: neither or both of unit and group, an unknown unit, or a unit without an assessment in the period", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/periods/{id}/templates/answers.xlsx")]
async fn answers_template(
    state: web::Data<AppState>,
    who: crate::auth::Principal,
    id: web::Path<Uuid>,
    params: web::Query<SheetParams>,
) -> AppResult<HttpResponse> {
    let period = id.into_inner();
    let scope = scope_of(params.into_inner())?;
    let caches = state.caches.clone();
    let bytes = crate::db::with_conn(&state.pool, move |c| {
        let (rows, meta) = svc::answer_sheet(c, &caches, &who, period, scope, false)?;
        crate::imports::template::answers_xlsx(&rows, meta.as_ref()).map_err(table_error)
    })
    .await?;
    Ok(attachment(bytes, XLSX, "answers-template.xlsx"))
}

/// The format of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (default) or `xlsx`.
    #[serde(default)]
    #[param(inline)]
    pub format: ExportFormat,
    /// CSV only: start with a byte-order mark (what Excel needs to read Vietnamese letters).
    #[serde(default)]
    pub bom: bool,
}

/// The stored answers of a unit or a ranking group, in the layout the import reads (CSV or
/// XLSX): export → edit → import works. Cells that a spreadsheet would read as a formula are
/// neutralised with a leading `'`.
///
/// Give `unit` or `group`; `format` is `csv` (default) or `xlsx`; `bom=true` adds a byte-order
/// mark to a CSV for Excel.
#[utoipa::path(
    tag = "imports",
    params(("id" = Uuid, Path, description = "Period id"), SheetParams, ExportParams),
    responses(
        (status = 200, description = "The answers", content(
            (ImportFile = "text/csv"),
            (ImportFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 422, description = "`VALIDATION_FAILED`: neither or both of unit and group, an unknown unit", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/periods/{id}/exports/answers")]
async fn answers_export(
    state: web::Data<AppState>,
    who: crate::auth::Principal,
    id: web::Path<Uuid>,
    params: web::Query<SheetParams>,
    export: web::Query<ExportParams>,
) -> AppResult<HttpResponse> {
    let period = id.into_inner();
    let scope = scope_of(params.into_inner())?;
    let ExportParams { format, bom } = export.into_inner();
    let caches = state.caches.clone();
    let bytes = crate::db::with_conn(&state.pool, move |c| {
        let (rows, meta) = svc::answer_sheet(c, &caches, &who, period, scope, true)?;
        match format {
            ExportFormat::Csv => crate::tabular::to_csv(&svc::sheet_table(&rows), bom),
            ExportFormat::Xlsx => crate::imports::template::answers_xlsx(&rows, meta.as_ref()),
        }
        .map_err(table_error)
    })
    .await?;
    Ok(match format {
        ExportFormat::Csv => attachment(bytes, "text/csv; charset=utf-8", "answers.csv"),
        ExportFormat::Xlsx => attachment(bytes, XLSX, "answers.xlsx"),
    })
}
