//! `/periods/{id}/progress`: the progress board of a period (who is late, at a glance), paged
//! and sortable, and its export as CSV or XLSX. Provincial roles only.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::{ErrorResponses, PageParams};
use crate::auth::Principal;
use crate::domain::Role;
use crate::domain::workflow::{
    AssessmentState, ExportFormat, FinalisedAs, ProgressFilter, ProgressSort, SortOrder,
};
use crate::error::{AppError, AppResult};
use crate::services::progress::{self as svc, GroupProgress, UnitProgress};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_progress).service(export_progress);
}

const PROVINCIAL: [Role; 3] = [Role::Admin, Role::Reviewer, Role::Viewer];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// One ranking group (id or code); default: every group of the period.
    #[param(example = "LC-XA", min_length = 1)]
    pub group: Option<String>,
    /// Only the units that are overdue, not started, or waiting for review.
    #[param(inline)]
    pub filter: Option<ProgressFilter>,
    /// Sort key (default `unit_code`; ties by unit code; absent values last).
    #[param(inline)]
    pub sort: Option<ProgressSort>,
    /// Default `asc`.
    #[param(inline)]
    pub order: Option<SortOrder>,
}

/// How many assessments of a group are in each state.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateCountsResponse {
    pub not_started: usize,
    pub in_progress: usize,
    pub submitted: usize,
    pub returned: usize,
    pub finalised: usize,
}

/// One ranking group's counts (over all its units, whatever the filter).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupProgressResponse {
    pub group_id: Uuid,
    #[schema(example = "LC-XA")]
    pub group_code: String,
    pub group_name: String,
    pub assessments: usize,
    pub by_state: StateCountsResponse,
    /// Not submitted and past their deadline.
    pub overdue: usize,
    /// Currently submitted (or finalised) through the office, on the unit's behalf.
    pub submitted_on_behalf: usize,
    /// Finalised by the office without a submission (as entered or at zero).
    pub finalised_not_submitted: usize,
    pub excluded_from_ranking: usize,
}

/// A unit, briefly.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardUnit {
    pub id: Uuid,
    #[schema(example = "XA-BAC-HA")]
    pub code: String,
    #[schema(example = "Xã Bắc Hà")]
    pub name: String,
}

/// One unit's line.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitProgressResponse {
    pub assessment_id: Uuid,
    pub unit: BoardUnit,
    pub group_code: String,
    pub state: AssessmentState,
    pub finalised_as: Option<FinalisedAs>,
    /// The current submission was made by the office on the unit's behalf.
    pub submitted_on_behalf: bool,
    /// False when the office excluded the unit from the ranking (`exclusion_reason`).
    pub ranked: bool,
    pub exclusion_reason: Option<String>,
    /// Components the unit answers itself (not measured automatically) that apply to it.
    pub applicable_components: usize,
    pub answered_components: usize,
    /// answered ÷ applicable, to 4 decimals; null when nothing applies.
    #[schema(value_type = Option<String>, example = "0.75", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub answered_share: Option<Decimal>,
    /// Components that require evidence and have neither evidence nor an explanation.
    pub missing_evidence: usize,
    /// Clarification threads not closed.
    pub open_clarifications: i64,
    /// The unit's own deadline when the office set one, else the close of the
    /// self-assessment phase.
    pub deadline: Option<DateTime<Utc>>,
    /// The deadline is the unit's own (set by the office).
    pub deadline_extended: bool,
    /// Not submitted and past its deadline.
    pub overdue: bool,
    /// Days since the deadline (a started day counts), when overdue.
    pub days_overdue: Option<i64>,
    /// The latest workflow action, answer, evidence or clarification message.
    pub last_activity: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressBoardResponse {
    pub period_id: Uuid,
    #[schema(example = "DTI-2025")]
    pub period_code: String,
    pub generated_at: DateTime<Utc>,
    /// Per ranking group: counts by state, overdue, office decisions.
    pub groups: Vec<GroupProgressResponse>,
    pub filter: Option<ProgressFilter>,
    pub sort: ProgressSort,
    pub order: SortOrder,
    /// One page of units.
    pub items: Vec<UnitProgressResponse>,
    pub page: i64,
    pub page_size: i64,
    /// Units the filter keeps, over all pages.
    pub total: i64,
}

fn group_response(g: GroupProgress) -> GroupProgressResponse {
    GroupProgressResponse {
        group_id: g.group_id,
        group_code: g.group_code,
        group_name: g.group_name,
        assessments: g.assessments,
        by_state: StateCountsResponse {
            not_started: g.by_state.not_started,
            in_progress: g.by_state.in_progress,
            submitted: g.by_state.submitted,
            returned: g.by_state.returned,
            finalised: g.by_state.finalised,
        },
        overdue: g.overdue,
        submitted_on_behalf: g.submitted_on_behalf,
        finalised_not_submitted: g.finalised_not_submitted,
        excluded_from_ranking: g.excluded_from_ranking,
    }
}

fn unit_response(u: UnitProgress) -> UnitProgressResponse {
    UnitProgressResponse {
        assessment_id: u.assessment_id,
        unit: BoardUnit {
            id: u.unit_id,
            code: u.unit_code,
            name: u.unit_name,
        },
        group_code: u.group_code,
        state: u.state,
        finalised_as: u.finalised_as,
        submitted_on_behalf: u.submitted_on_behalf,
        ranked: u.excluded_reason.is_none(),
        exclusion_reason: u.excluded_reason,
        applicable_components: u.applicable_components,
        answered_components: u.answered_components,
        answered_share: u.answered_share,
        missing_evidence: u.missing_evidence,
        open_clarifications: u.open_clarifications,
        deadline: u.deadline,
        deadline_extended: u.deadline_extended,
        overdue: u.overdue,
        days_overdue: u.days_overdue,
        last_activity: u.last_activity,
    }
}

/// The board's selected lines (every page), with the board itself.
async fn selected(
    state: &AppState,
    who: Principal,
    id: Uuid,
    q: ProgressQuery,
) -> AppResult<(svc::Board, Vec<UnitProgress>)> {
    let sort = q.sort.unwrap_or(ProgressSort::UnitCode);
    let order = q.order.unwrap_or(SortOrder::Asc);
    let caches = state.caches.clone();
    crate::db::with_conn(&state.pool, move |c| {
        let mut board = svc::board(c, &caches, &who, id, q.group.as_deref(), Utc::now())?;
        let units = svc::select(std::mem::take(&mut board.units), q.filter, sort, order);
        Ok((board, units))
    })
    .await
}

/// The progress board of a period (provincial roles): who is late, at a glance.
///
/// Per ranking group, the number of assessments in each state, overdue, submitted on behalf,
/// finalised as not submitted and excluded from the ranking; per unit (paged, filtered,
/// sorted), the share of its applicable components answered, components missing evidence,
/// open clarifications, deadline with the office's extension, days overdue and last activity.
#[utoipa::path(
    tag = "periods",
    params(("id" = Uuid, Path, description = "Period id"), ProgressQuery, PageParams),
    responses((status = 200, description = "The board", body = ProgressBoardResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/periods/{id}/progress")]
async fn get_progress(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    q: web::Query<ProgressQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<ProgressBoardResponse>> {
    who.require_role(&PROVINCIAL, "read the progress board (it compares units)")?;
    let page = paging.to_req()?;
    let q = q.into_inner();
    let (filter, sort, order) = (
        q.filter,
        q.sort.unwrap_or(ProgressSort::UnitCode),
        q.order.unwrap_or(SortOrder::Asc),
    );
    let (board, units) = selected(&state, who, id.into_inner(), q).await?;
    let total = i64::try_from(units.len()).unwrap_or(i64::MAX);
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let size = usize::try_from(page.page_size).unwrap_or(0);
    Ok(web::Json(ProgressBoardResponse {
        period_id: board.period.id,
        period_code: board.period.code,
        generated_at: board.generated_at,
        groups: board.groups.into_iter().map(group_response).collect(),
        filter,
        sort,
        order,
        items: units
            .into_iter()
            .skip(start)
            .take(size)
            .map(unit_response)
            .collect(),
        page: page.page,
        page_size: page.page_size,
        total,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
    /// CSV only: start with a UTF-8 byte-order mark (what Excel needs to show Vietnamese
    /// letters). Default false.
    pub bom: Option<bool>,
}

/// Export the progress board (every unit the filter keeps, in the board's order) as CSV or
/// XLSX (provincial roles).
///
/// One row per unit; the columns are the board's fields (`unit_code`, `unit_name`, `group`,
/// `state`, `finalised_as`, `submitted_on_behalf`, `ranked`, `exclusion_reason`,
/// `applicable_components`, `answered_components`, `answered_share`, `missing_evidence`,
/// `open_clarifications`, `deadline`, `deadline_extended`, `overdue`, `days_overdue`,
/// `last_activity`; times in RFC 3339 UTC). Text that a spreadsheet would take for a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`.
#[utoipa::path(
    tag = "periods",
    params(("id" = Uuid, Path, description = "Period id"), ProgressQuery, ExportQuery),
    responses(
        (status = 200, description = "The board as a file (`Content-Disposition: attachment`)", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/periods/{id}/progress/export")]
async fn export_progress(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    q: web::Query<ProgressQuery>,
    e: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    who.require_role(&PROVINCIAL, "export the progress board (it compares units)")?;
    let format = e.format.unwrap_or(ExportFormat::Csv);
    let bom = e.bom.unwrap_or(false);
    let (board, units) = selected(&state, who, id.into_inner(), q.into_inner()).await?;
    let code = board.period.code;
    let bytes = web::block(move || {
        let table = svc::table(&units);
        match format {
            ExportFormat::Csv => crate::tabular::to_csv(&table, bom),
            ExportFormat::Xlsx => crate::tabular::to_xlsx(&table, "progress"),
        }
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    Ok(super::exports::attachment(
        bytes,
        format,
        &crate::services::exports::file_name(&["progress", &code]),
    ))
}
