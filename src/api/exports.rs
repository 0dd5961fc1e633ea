//! Spreadsheet exports (CSV or XLSX): a period's scores and rankings of a group, one unit's
//! explained score, the audit events of a period. Each is allowed to exactly those who may
//! make the JSON read of the same data, checked before any work; the files are written by
//! [`crate::tabular`] (formula neutralising, optional byte-order mark).

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::ErrorResponses;
use super::progress::ExportQuery;
use crate::auth::Principal;
use crate::domain::workflow::ExportFormat;
use crate::error::{AppError, AppResult};
use crate::services::exports::{self as svc, Export};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_scores)
        .service(export_score)
        .service(export_audit);
}

/// The XLSX media type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `Content-Type` and file extension of a format.
pub fn media_type(format: ExportFormat) -> (&'static str, &'static str) {
    match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Xlsx => (XLSX, "xlsx"),
    }
}

/// The bytes of a file download named `name` (without extension), never cached.
pub fn attachment(bytes: Vec<u8>, format: ExportFormat, name: &str) -> HttpResponse {
    let (ctype, ext) = media_type(format);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{ext}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes)
}

/// Writes the export in the format the query asks for (CSV by default), on a blocking thread.
async fn write(export: Export, q: ExportQuery) -> AppResult<HttpResponse> {
    let format = q.format.unwrap_or(ExportFormat::Csv);
    let bom = q.bom.unwrap_or(false);
    let name = export.name.clone();
    // the rows are read: the encoding (seconds for a national file) needs no connection
    crate::db::release_kept_conn();
    let bytes = web::block(move || {
        let bytes = match format {
            ExportFormat::Csv => crate::tabular::to_csv(&export.table, bom),
            ExportFormat::Xlsx => crate::tabular::to_xlsx(&export.table, export.sheet),
        };
        // a national export's rows and encoder held tens of MB across two threads' arenas:
        // handed back, not kept until the next export (see `memory`)
        drop(export);
        crate::memory::release_free_memory();
        bytes
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    Ok(attachment(bytes, format, &name))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScoresExportQuery {
    /// Ranking group id or code (required when the period has several groups).
    #[param(example = "LC-XA", min_length = 1)]
    pub group: Option<String>,
}

/// Export a period's scores and rankings of one ranking group as CSV or XLSX (provincial roles,
/// as the rankings).
///
/// One row per unit, in ranking order (rank, ranked units first, unit code). Columns:
/// `unit_code`, `unit_name`, `state`, `finalised_as`, `ranked`, `exclusion_reason`,
/// `max_points`, `applicable_max`, `self_points`, `reviewed_points`, `final_points` (as the
/// assessments list gives them), `index` (the overall index rounded to the set's published
/// precision, what ranks compare), `rank`, `tied`, `band`, `band_label`; then for every
/// pillar and then every main indicator of the pinned set, `pillar <code> …` / `main <code> …`
/// with `self_points`, `reviewed_points` and `final_points` (the node's, as the unit's score
/// tree gives them), then `max`, `index`, `rank` and `tied` as
/// `GET /periods/{id}/rankings?pillar=` / `?main_indicator=` give them. Points are exact
/// decimals (numbers in XLSX); booleans are `true` / `false`. Text a spreadsheet would take
/// for a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with
/// `'`.
#[utoipa::path(
    tag = "rankings",
    params(("id" = Uuid, Path, description = "Period id"), ScoresExportQuery, ExportQuery),
    responses(
        (status = 200, description = "The scores as a file (`Content-Disposition: attachment; filename=\"scores-<period>-<group>.csv|xlsx\"`)", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 400, description = "`INVALID_QUERY`: an unknown `format` or a `bom` that is not a boolean", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`FORBIDDEN_ROLE`: unit accounts and integration tokens (unpublished rankings compare units; published ones are on the public routes)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`: no such period", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: `group` unknown, not in the period, or missing while the period has several groups", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/periods/{id}/rankings/export")]
async fn export_scores(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    q: web::Query<ScoresExportQuery>,
    e: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    crate::services::assessments::require_live_standings(&who)?;
    let (id, group) = (id.into_inner(), q.into_inner().group);
    let caches = state.caches.clone();
    let export = crate::db::with_conn(&state.pool, move |c| {
        svc::scores(c, &caches, &who, id, group.as_deref())
    })
    .await?;
    write(export, e.into_inner()).await
}

/// Export one unit's explained score as CSV or XLSX (whoever may read the assessment: unit
/// accounts their own unit's).
///
/// The total first (`kind` `total`, the set's code), then every node in tree order, as
/// `GET /assessments/{id}/score` explains it. Columns: `code`, `name`, `kind`, `parent_code`,
/// `depth`, `method` (leaves), `applicable`, `max_points`, `applicable_max`, `self_points`,
/// `reviewed_points`, `final_points` (once finalised), `points_lost`, `adjusted`, `flags`
/// (why: `EVIDENCE_MISSING`, `UNANSWERED`, `NOT_APPLICABLE`, `CAPPED`, …, comma-separated),
/// and for the self and the reviewed column the trace: `<column>_inputs` (the inputs used, as
/// JSON), `<column>_rule` (the formula with its numbers), `<column>_raw`, `<column>_capped`,
/// `<column>_contribution`; last `adjustment_reason`, the reviewer's reason where a
/// component was adjusted. Formula-like text is prefixed with `'`.
#[utoipa::path(
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment id"), ExportQuery),
    responses(
        (status = 200, description = "The explained score as a file (`Content-Disposition: attachment; filename=\"score-<period>-<unit>.csv|xlsx\"`)", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 400, description = "`INVALID_QUERY`: an unknown `format` or a `bom` that is not a boolean", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`NOT_YOUR_UNIT`: another unit's assessment", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`: no such assessment", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/assessments/{id}/score/export")]
async fn export_score(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    e: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let export = crate::db::with_conn(&state.pool, move |c| {
        svc::explained_score(c, &caches, &who, id)
    })
    .await?;
    write(export, e.into_inner()).await
}

/// Export the audit events of a period as CSV or XLSX (administrators and viewers, as the
/// audit trail).
///
/// Every event whose `period_id` is the period, oldest first. Columns: `id`, `occurred_at`
/// (RFC 3339 UTC), `actor_id`, `actor_role`, `action`, `entity_type`, `entity_id`, `unit_id`,
/// `period_id`, `old_value` and `new_value` (JSON text), `request_id`. Formula-like text is
/// prefixed with `'`.
#[utoipa::path(
    tag = "audit",
    params(("id" = Uuid, Path, description = "Period id"), ExportQuery),
    responses(
        (status = 200, description = "The events as a file (`Content-Disposition: attachment; filename=\"audit-<period>.csv|xlsx\"`)", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 400, description = "`INVALID_QUERY`: an unknown `format` or a `bom` that is not a boolean", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`FORBIDDEN_ROLE`: only administrators and viewers read the audit trail", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`: no such period", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/periods/{id}/audit-events/export")]
async fn export_audit(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    e: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    crate::audit::require_reader(&who)?;
    let id = id.into_inner();
    let export = crate::db::with_conn(&state.pool, move |c| svc::audit_events(c, &who, id)).await?;
    write(export, e.into_inner()).await
}
