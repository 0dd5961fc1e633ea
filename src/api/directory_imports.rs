//! `/imports/units` and `/imports/accounts`: the directory from files (CSV, XLSX, ODS, JSON
//! rows), and their blank templates. The body is spooled and read as for the answers import
//! (`api::imports`).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::ErrorResponses;
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::imports::{ImportFile, MAX_IMPORT_BYTES, spool};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::imports::directory::{AccountColumn, UnitColumn};
use crate::imports::layout::ColumnSet;
use crate::imports::source::Format;
use crate::services::directory_imports::{
    self as svc, AccountRowOutcome, AccountState, DirectoryImport, DirectoryOutcome, RowConflict,
    UnitRowOutcome,
};
use crate::services::idempotency::{self, IdempotentRequest};
use crate::services::imports::{ImportMode, RowChange};
use crate::state::AppState;

/// A response lists at most this many rows (all are counted).
pub const MAX_LISTED_ROWS: usize = 10_000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(import_units)
        .service(import_accounts)
        .service(units_template)
        .service(accounts_template);
}

/// JSON rows: each member is a column of the layout.
#[derive(ToSchema)]
#[schema(example = json!({"rows": [{"code": "XA-BAO-THANG", "name": "Xã Bảo Thắng", "kind": "commune", "parent_code": "LC", "groups": "LC-XA"}]}))]
pub struct UnitRows {
    #[allow(dead_code)]
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    rows: Vec<serde_json::Value>,
}

/// JSON rows: each member is a column of the layout.
#[derive(ToSchema)]
#[schema(example = json!({"rows": [{"username": "editor.xa-bao-thang", "display_name": "Nguyễn Văn An", "role": "unit_editor", "unit_code": "XA-BAO-THANG"}]}))]
pub struct AccountRows {
    #[allow(dead_code)]
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    rows: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryImportParams {
    /// Check and apply everything, store nothing: the result says what would change.
    #[serde(default)]
    pub dry_run: bool,
    /// `all_or_nothing` (default): any conflict refuses the import (422 `IMPORT_REFUSED`);
    /// `partial`: the valid rows are stored and the others reported.
    #[serde(default)]
    #[param(inline)]
    pub mode: ImportMode,
}

/// One problem of one row: its row (the CSV line or worksheet row, the header being row 1;
/// the position in a JSON body's `rows` from 1), its column, a stable code and a message
/// (Vietnamese with `Accept-Language: vi`, the English one then in `message_en`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryConflict {
    pub row: u64,
    /// The column's name; absent for the row as a whole.
    pub column: Option<String>,
    /// The row's unit code or username, when it could be read.
    pub key: Option<String>,
    #[schema(example = "UNKNOWN_UNIT")]
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_en: Option<String>,
}

fn conflict_dto(c: RowConflict, lang: Lang) -> DirectoryConflict {
    let mut message = c.error.message.clone();
    let mut message_en = None;
    if lang == Lang::Vi
        && let Some(vi) = crate::i18n::field_message_vi(&c.error)
    {
        message_en = Some(std::mem::replace(&mut message, vi));
    }
    DirectoryConflict {
        row: c.row,
        column: (!c.error.field.is_empty()).then(|| c.error.field.clone()),
        key: c.key,
        code: c.error.code,
        message,
        message_en,
    }
}

/// What every directory import answers besides its rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectorySummary {
    /// The format read from the content.
    pub format: Format,
    pub dry_run: bool,
    pub mode: ImportMode,
    /// Whether anything was stored (never for a dry run).
    pub committed: bool,
    /// Data rows read (empty rows are skipped).
    pub rows_read: u64,
    /// Rows with at least one conflict (not stored).
    pub rows_refused: u64,
    /// Rows that went through, by what they do.
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub conflicts: Vec<DirectoryConflict>,
    /// Conflicts beyond the first 1,000, counted only.
    pub conflicts_omitted: usize,
    /// Rows beyond the first 10,000 that went through, counted only.
    pub rows_omitted: usize,
}

fn summary<O>(
    o: &mut DirectoryOutcome<O>,
    change: impl Fn(&O) -> RowChange,
    lang: Lang,
) -> DirectorySummary {
    let count = |k: RowChange| o.rows.iter().filter(|r| change(r) == k).count() as u64;
    let (created, updated, unchanged) = (
        count(RowChange::Created),
        count(RowChange::Updated),
        count(RowChange::Unchanged),
    );
    let rows_omitted = o.rows.len().saturating_sub(MAX_LISTED_ROWS);
    DirectorySummary {
        format: o.format,
        dry_run: o.dry_run,
        mode: o.mode,
        committed: o.committed,
        rows_read: o.rows_read,
        rows_refused: o.rows_refused,
        created,
        updated,
        unchanged,
        conflicts: std::mem::take(&mut o.conflicts)
            .into_iter()
            .map(|c| conflict_dto(c, lang))
            .collect(),
        conflicts_omitted: o.conflicts_omitted,
        rows_omitted,
    }
}

/// 422 `IMPORT_REFUSED`: an all-or-nothing import with conflicts; nothing was stored. Every
/// conflict is in `errors[]` (`/rows/{row}/{column}`) and in the extension `conflicts`.
fn refused(s: &DirectorySummary) -> AppError {
    let errors: Vec<FieldError> = s
        .conflicts
        .iter()
        .map(|c| {
            let field = match &c.column {
                Some(col) => format!("/rows/{}/{col}", c.row),
                None => format!("/rows/{}", c.row),
            };
            FieldError::new(
                field,
                c.code.clone(),
                c.message_en.clone().unwrap_or(c.message.clone()),
            )
        })
        .collect();
    AppError::unprocessable(
        "IMPORT_REFUSED",
        format!(
            "{} of {} row(s) have conflicts; nothing was stored. Fix them, or send \
             mode=partial to store the valid rows.",
            s.rows_refused, s.rows_read
        ),
    )
    .with_param("refused", s.rows_refused)
    .with_param("total", s.rows_read)
    .with_errors(errors)
    .with_extension("conflicts", &s.conflicts)
    .with_extension("conflicts_omitted", s.conflicts_omitted)
    .with_extension("rows_read", s.rows_read)
    .with_extension("rows_refused", s.rows_refused)
}

/// The result of a units import.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitsImportResponse {
    #[serde(flatten)]
    pub summary: DirectorySummary,
    /// Each row that went through (or would): created, updated or unchanged, old → new.
    pub rows: Vec<UnitRowOutcome>,
}

/// One account row that went through (or would).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountImportRow {
    pub row: u64,
    pub username: String,
    pub change: RowChange,
    pub old: Option<AccountState>,
    pub new: AccountState,
    /// A created account's one-time password, in this response only: it is stored nowhere
    /// in clear, and a replay of the request (`Idempotency-Key`) does not show it again.
    /// Null for a dry run, an updated account and a replay.
    pub one_time_password: Option<String>,
}

/// The result of an accounts import.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountsImportResponse {
    #[serde(flatten)]
    pub summary: DirectorySummary,
    /// Whether the created accounts' one-time passwords are in `rows`: true on the response
    /// of the import that created them, false for a dry run and for a replay of the request
    /// with the same `Idempotency-Key` (the passwords are never stored in clear: an
    /// administrator who lost them resets those accounts' passwords).
    pub passwords_included: bool,
    pub rows: Vec<AccountImportRow>,
}

/// Imports units and their ranking-group memberships (admin).
///
/// The body is the file: CSV (UTF-8, with or without a byte-order mark), XLSX or ODS (the first
/// sheet; the first row is the header), or JSON rows (`{"rows": [{"code": "XA-01", …}]}`),
/// the format read from the content.
///
/// Columns: `code` (required; matched ignoring case: a known code updates that unit, a new one
/// creates it), `name` and `kind` (required for a new unit; kind one of `province`,
/// `department`, `district`, `commune`, `party_body`, `fatherland_front`, `ministry`, `other`),
/// `parent_code` (a unit of the directory or of the same file), `tags` and `groups` (codes
/// separated by `;` or `,`; `groups` replaces the unit's ranking groups), `active` (`true`/
/// `false`, `có`/`không`, `1`/`0`), `valid_from`, `valid_to` (`YYYY-MM-DD`). On an existing
/// unit an absent column changes nothing and an empty `parent_code`, `tags`, `groups` or date
/// clears it.
///
/// Each row follows the rules of `POST /units` and `PATCH /units/{id}` (same checks, audit
/// events, and rescoring of open assessments when tags change); ranking-group memberships take
/// effect when a period opens, as for `PATCH /units/{id}`. Every problem is reported at once
/// (`conflicts`: row, column, code, message). All or nothing by default (422
/// `IMPORT_REFUSED`); `mode=partial` stores the valid rows. `dry_run=true` stores nothing and
/// lists each row old → new. Send an `Idempotency-Key` to make a retry safe.
#[utoipa::path(
    tag = "imports",
    params(DirectoryImportParams, IdempotencyKeyHeader),
    request_body(
        description = "The file (at most 256 MiB); its format is read from the content",
        content(
            (ImportFile = "text/csv"),
            (ImportFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (ImportFile = "application/vnd.oasis.opendocument.spreadsheet"),
            (UnitRows = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Stored (or a dry run, or replayed); conflicts of a partial import listed", body = UnitsImportResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`IDEMPOTENCY_KEY_IN_USE`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`, or `TOO_MANY_ROWS` (over 50,000)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`UNSUPPORTED_FILE_TYPE`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`IMPORT_REFUSED` (conflicts, nothing stored), `HEADER_MISMATCH` (lists the expected columns), `NOT_UTF8`, `EMPTY_FILE`, `FILE_UNREADABLE`, or `IDEMPOTENCY_KEY_REUSED`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/imports/units")]
async fn import_units(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    params: web::Query<DirectoryImportParams>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    // who may import is decided before a byte of the body is read
    svc::authorise(&who, "import units")?;
    let (file, format, identity) = spool(&req, payload.into_inner(), MAX_IMPORT_BYTES).await?;
    let keyed = key.0.map(|k| IdempotentRequest::new(&who, k, identity));
    let params = params.into_inner();
    let lang = crate::i18n::current();
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| svc::authorise(&who, "import units");
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let input = DirectoryImport {
                dry_run: params.dry_run,
                mode: params.mode,
            };
            let mut outcome = svc::import_units(c, &caches, &who, input, file, format)?;
            let summary = summary(&mut outcome, |r| r.change, lang);
            if !outcome.committed && !outcome.dry_run {
                return Err(refused(&summary));
            }
            let mut rows = outcome.rows;
            rows.truncate(MAX_LISTED_ROWS);
            Ok((200, to_body(UnitsImportResponse { summary, rows })?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

/// Imports accounts (admin); new accounts get a one-time password.
///
/// The body is a file as for `POST /imports/units` (CSV, XLSX, ODS or JSON rows).
///
/// Columns: `username` (required; matched exactly: a known username updates that account, a
/// new one creates it), `display_name` (required for a new account), `role` (required for a
/// new account: `admin`, `reviewer`, `viewer`, `unit_editor`, `unit_leader`), `unit_code`
/// (required for `unit_editor` and `unit_leader`, refused for the provincial roles), `active`
/// (`true`/`false`; a new account is active unless `false`). On an existing account an absent
/// column changes nothing; passwords are never imported.
///
/// Each row follows the rules of `POST /users` and `PATCH /users/{id}` (same checks and audit
/// events). A created account gets a random one-time password of 20 letters and digits,
/// returned in `rows[].one_time_password` of this response only: it is stored only as a hash
/// and the account must change it at first login (`must_change_password`: every route but
/// `GET /me` and `POST /me/password` answers 403 `PASSWORD_CHANGE_REQUIRED` until then). A dry
/// run lists which accounts would be created and hands out no password. A replay with the same
/// `Idempotency-Key` answers the same summary with `passwords_included: false` and no
/// passwords (they were never stored): reset the password of an account whose password was
/// lost. All or nothing by default (422 `IMPORT_REFUSED`); `mode=partial` stores the valid rows.
#[utoipa::path(
    tag = "imports",
    params(DirectoryImportParams, IdempotencyKeyHeader),
    request_body(
        description = "The file (at most 256 MiB); its format is read from the content",
        content(
            (ImportFile = "text/csv"),
            (ImportFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (ImportFile = "application/vnd.oasis.opendocument.spreadsheet"),
            (AccountRows = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Stored (or a dry run, or replayed without passwords); conflicts of a partial import listed", body = AccountsImportResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`IDEMPOTENCY_KEY_IN_USE`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`, or `TOO_MANY_ROWS` (over 50,000)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`UNSUPPORTED_FILE_TYPE`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`IMPORT_REFUSED` (conflicts, nothing stored), `HEADER_MISMATCH` (lists the expected columns), `NOT_UTF8`, `EMPTY_FILE`, `FILE_UNREADABLE`, or `IDEMPOTENCY_KEY_REUSED`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/imports/accounts")]
async fn import_accounts(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    params: web::Query<DirectoryImportParams>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    svc::authorise(&who, "import accounts")?;
    let (file, format, identity) = spool(&req, payload.into_inner(), MAX_IMPORT_BYTES).await?;
    let keyed = key.0.map(|k| IdempotentRequest::new(&who, k, identity));
    let params = params.into_inner();
    let lang = crate::i18n::current();
    let (mut reply, passwords) = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| svc::authorise(&who, "import accounts");
        // the passwords leave by this side door: the body stored for a replay has none
        let mut passwords: Vec<(String, String)> = Vec::new();
        let reply = idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let input = DirectoryImport {
                dry_run: params.dry_run,
                mode: params.mode,
            };
            let mut outcome = svc::import_accounts(c, &who, input, file, format)?;
            let summary = summary(&mut outcome, |r: &AccountRowOutcome| r.change, lang);
            if !outcome.committed && !outcome.dry_run {
                return Err(refused(&summary));
            }
            let mut rows = outcome.rows;
            rows.truncate(MAX_LISTED_ROWS);
            let rows = rows
                .into_iter()
                .map(|r| {
                    if let Some(p) = r.one_time_password {
                        passwords.push((r.username.clone(), p));
                    }
                    AccountImportRow {
                        row: r.row,
                        username: r.username,
                        change: r.change,
                        old: r.old,
                        new: r.new,
                        one_time_password: None,
                    }
                })
                .collect();
            let body = AccountsImportResponse {
                summary,
                passwords_included: false,
                rows,
            };
            Ok((200, to_body(body)?))
        })?;
        Ok((reply, passwords))
    })
    .await?;
    if !reply.replayed && !passwords.is_empty() {
        reply.body["passwords_included"] = true.into();
        if let Some(rows) = reply.body["rows"].as_array_mut() {
            for row in rows {
                let name = row["username"].as_str().unwrap_or_default().to_string();
                if let Some((_, p)) = passwords.iter().find(|(u, _)| *u == name) {
                    row["one_time_password"] = p.clone().into();
                }
            }
        }
    }
    respond(reply, |_, resp| {
        // one-time passwords must not be kept by any cache
        resp.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    })
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn template<C: ColumnSet>(sheet: &str, name: &str) -> AppResult<HttpResponse> {
    let table = crate::tabular::Table {
        headers: C::expected().into_iter().map(str::to_string).collect(),
        rows: Vec::new(),
    };
    let bytes = crate::tabular::to_xlsx(&table, sheet).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}

/// A blank units template (XLSX): the header row of `POST /imports/units` (admin).
///
/// One sheet with the import's columns in order; fill one row per unit and upload the file as
/// it is. The columns are described under `POST /imports/units`.
#[utoipa::path(
    tag = "imports",
    responses(
        (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = ImportFile),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/templates/units.xlsx")]
async fn units_template(who: Principal) -> AppResult<HttpResponse> {
    svc::authorise(&who, "import units")?;
    template::<UnitColumn>("units", "units-template.xlsx")
}

/// A blank accounts template (XLSX): the header row of `POST /imports/accounts` (admin).
///
/// One sheet with the import's columns in order; fill one row per account and upload the file
/// as it is. The columns are described under `POST /imports/accounts`.
#[utoipa::path(
    tag = "imports",
    responses(
        (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = ImportFile),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/templates/accounts.xlsx")]
async fn accounts_template(who: Principal) -> AppResult<HttpResponse> {
    svc::authorise(&who, "import accounts")?;
    template::<AccountColumn>("accounts", "accounts-template.xlsx")
}
