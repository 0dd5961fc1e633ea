//! `/periods`: assessment periods, their phases, assessments and rankings.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::assessments::{AssessmentSummary, summary};
use super::fallback::{QueryChoice, choice};
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::Json;
use super::{ErrorResponses, Page, PageParams};
use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::groups::RankingGroup;
use crate::db::models::periods::Period;
use crate::db::models::scores::{RankingRow, ScoreRow};
use crate::db::models::units::Unit;
use crate::domain::workflow::{PeriodPhase, RankingScope};
use crate::error::{AppError, AppResult, FieldError};
use crate::services;
use crate::services::idempotency;
use crate::services::periods::{CreatePeriod, GroupPin};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_periods)
        .service(create_period)
        .service(get_period)
        .service(transition_period)
        .service(recompute_period)
        .service(list_period_assessments)
        .service(list_rankings);
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPinRequest {
    /// Ranking group id or code.
    #[schema(example = "LC-XA")]
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub group: String,
    /// Id of the active indicator-set version pinned for the group.
    pub indicator_set: Uuid,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseWindowDto {
    /// `self_assessment`, `review`, `published` or `archived` (a calendar has no `draft`).
    #[schema(example = "self_assessment", value_type = PeriodPhase)]
    pub phase: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "DTI-2025", "name": "Đánh giá DTI năm 2025", "data_year": 2025,
    "groups": [{"group": "LC-XA", "indicator_set": "00000000-0000-0000-0000-000000000000"}],
    "calendar": [
        {"phase": "self_assessment", "opens_at": "2026-01-05T00:00:00Z", "closes_at": "2026-01-31T23:59:59Z"},
        {"phase": "review", "opens_at": "2026-02-01T00:00:00Z", "closes_at": "2026-02-28T23:59:59Z"}
    ]
}))]
pub struct CreatePeriodRequest {
    #[validate(custom(function = "crate::api::periods::code_rule"))]
    #[schema(max_length = 64)]
    pub code: String,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1)]
    #[schema(max_length = 500)]
    pub name: String,
    /// The year the figures describe (1 January – 31 December).
    #[validate(range(min = 2000, max = 2100))]
    #[schema(minimum = 2000, maximum = 2100)]
    pub data_year: i32,
    #[validate(length(min = 1, max = 100), nested)]
    #[schema(max_items = 100, min_items = 1)]
    pub groups: Vec<GroupPinRequest>,
    #[serde(default)]
    pub calendar: Vec<PhaseWindowDto>,
}

/// A phase named in a query: `INVALID_PHASE` unless it is one.
impl QueryChoice for PeriodPhase {
    fn from_query(field: &str, s: &str) -> Result<Self, FieldError> {
        PeriodPhase::parse(s).ok_or_else(|| {
            FieldError::new(field, "INVALID_PHASE", format!("{s:?} is not a phase"))
                .with_param("value", s)
        })
    }
}

pub fn code_rule(s: &str) -> Result<(), validator::ValidationError> {
    if crate::domain::is_valid_code(s) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("CODE"))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodGroupResponse {
    pub group_id: Uuid,
    pub group_code: String,
    pub group_name: String,
    pub indicator_set_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodResponse {
    pub id: Uuid,
    #[schema(example = "DTI-2025")]
    pub code: String,
    pub name: String,
    pub data_year: i32,
    #[schema(example = "self_assessment")]
    pub phase: PeriodPhase,
    /// Phases an administrator may move the period to now.
    pub allowed_transitions: Vec<PeriodPhase>,
    pub groups: Vec<PeriodGroupResponse>,
    pub calendar: Vec<PhaseWindowDto>,
    pub lock_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

async fn period_response(state: &AppState, p: Period) -> AppResult<PeriodResponse> {
    crate::db::with_conn(&state.pool, move |c| period_view(c, p)).await
}

/// The response for a period, read on `c` (so inside a write's transaction too).
fn period_view(c: &mut PgConnection, p: Period) -> AppResult<PeriodResponse> {
    let id = p.id;
    let groups = Period::groups(c, id)?;
    let names = RankingGroup::find_many(c, &groups.iter().map(|g| g.group_id).collect::<Vec<_>>())?;
    let windows = Period::windows(c, id)?;
    Ok(PeriodResponse {
        allowed_transitions: services::periods::allowed_transitions(p.phase).to_vec(),
        groups: groups
            .into_iter()
            .map(|g| {
                let n = names.iter().find(|n| n.id == g.group_id);
                PeriodGroupResponse {
                    group_id: g.group_id,
                    group_code: n.map(|n| n.code.clone()).unwrap_or_default(),
                    group_name: n.map(|n| n.name.clone()).unwrap_or_default(),
                    indicator_set_id: g.set_id,
                }
            })
            .collect(),
        calendar: windows
            .into_iter()
            .map(|w| PhaseWindowDto {
                phase: w.phase.as_str().to_string(),
                opens_at: w.opens_at,
                closes_at: w.closes_at,
            })
            .collect(),
        id: p.id,
        code: p.code,
        name: p.name,
        data_year: p.data_year,
        phase: p.phase,
        lock_version: p.lock_version,
        created_at: p.created_at,
        updated_at: p.updated_at,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodListQuery {
    /// Only periods in this phase.
    #[serde(default, deserialize_with = "phase_param")]
    pub phase: Option<PeriodPhase>,
    pub data_year: Option<i32>,
}

fn phase_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PeriodPhase>, D::Error> {
    choice(d, "phase")
}

/// List periods.
///
/// Optionally filtered by phase and data year; paged. Each period lists the phases an
/// administrator may move it to now.
#[utoipa::path(tag = "periods", params(PeriodListQuery, PageParams), responses((status = 200, description = "A page of periods", body = Page<PeriodResponse>), ErrorResponses), security(("bearer" = [])))]
#[get("/periods")]
async fn list_periods(
    state: web::Data<AppState>,
    _who: Principal,
    q: web::Query<PeriodListQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<PeriodResponse>>> {
    let page = paging.to_req()?;
    let q = q.into_inner();
    let (periods, total) = crate::db::with_conn(&state.pool, move |c| {
        services::periods::list(c, q.phase, q.data_year, page)
    })
    .await?;
    let mut items = Vec::new();
    for p in periods {
        items.push(period_response(&state, p).await?);
    }
    Ok(web::Json(Page::new(items, page, total)))
}

/// Create a period in phase `draft` (admin), pinning an active set version per ranking group.
///
/// Send an `Idempotency-Key` to make a retry safe: a repeat with the same key gets the first 201
/// back (`Idempotent-Replayed: true`) instead of 409 `CODE_TAKEN`.
#[utoipa::path(
    tag = "periods",
    params(IdempotencyKeyHeader),
    request_body = CreatePeriodRequest,
    responses(
        (status = 201, description = "Created (or replayed: see `Idempotency-Key`)", body = PeriodResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`CODE_TAKEN`, or `IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/periods")]
async fn create_period(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: Json<CreatePeriodRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("create periods")?;
    let body = body.read().await?;
    body.validate()?;
    // The parsed body, re-serialised: the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let b = body.into_inner();
    let input = CreatePeriod {
        code: b.code,
        name: b.name,
        data_year: b.data_year,
        groups: b
            .groups
            .into_iter()
            .map(|g| GroupPin {
                group: g.group,
                indicator_set: g.indicator_set,
            })
            .collect(),
        calendar: b
            .calendar
            .into_iter()
            .map(|w| (w.phase, w.opens_at, w.closes_at))
            .collect(),
    };
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| services::periods::authorise_create(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let p = services::periods::create(c, &who, input)?;
            Ok((201, to_body(period_view(c, p)?)?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

/// Get a period.
///
/// With the indicator-set version pinned per ranking group, the phase calendar, and the phases
/// an administrator may move it to now.
#[utoipa::path(tag = "periods", params(("id" = Uuid, Path, description = "Period id")), responses((status = 200, description = "The period", body = PeriodResponse), ErrorResponses), security(("bearer" = [])))]
#[get("/periods/{id}")]
async fn get_period(
    state: web::Data<AppState>,
    _who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<PeriodResponse>> {
    let id = id.into_inner();
    let p = crate::db::with_conn(&state.pool, move |c| services::periods::get(c, id)).await?;
    Ok(web::Json(period_response(&state, p).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "self_assessment", "reason": "Mở kỳ đánh giá năm 2025"}))]
pub struct TransitionRequest {
    /// The phase to move to (see `allowed_transitions`).
    #[schema(value_type = PeriodPhase)]
    pub to: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Move a period to another phase (admin).
///
/// `draft → self_assessment` opens the period: one assessment per active member unit of each
/// group, scored and ranked at once. Refused moves answer 409 `INVALID_TRANSITION` with the
/// allowed ones.
#[utoipa::path(tag = "periods", params(("id" = Uuid, Path, description = "Period id")), request_body = TransitionRequest, responses((status = 200, description = "Moved", body = PeriodResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/periods/{id}/transitions")]
async fn transition_period(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<TransitionRequest>,
) -> AppResult<web::Json<PeriodResponse>> {
    who.require_admin("change period phases")?;
    let body = body.read().await?;
    body.validate()?;
    let b = body.into_inner();
    let Some(to) = PeriodPhase::parse(&b.to) else {
        return Err(AppError::validation(vec![
            FieldError::new("/to", "INVALID_PHASE", format!("{:?} is not a phase", b.to))
                .with_param("value", &b.to),
        ]));
    };
    let id = id.into_inner();
    let caches = state.caches.clone();
    let p = crate::db::with_conn(&state.pool, move |c| {
        services::periods::transition(c, &caches, &who, id, to, b.reason)
    })
    .await?;
    Ok(web::Json(period_response(&state, p).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecomputeResponse {
    pub assessments: usize,
}

/// Rebuild every score and ranking of a period from its inputs (admin).
///
/// The result must equal what was stored (scores are recomputed on every write already).
#[utoipa::path(tag = "periods", params(("id" = Uuid, Path, description = "Period id")), responses((status = 200, description = "Recomputed", body = RecomputeResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/periods/{id}/recompute")]
async fn recompute_period(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<RecomputeResponse>> {
    who.require_admin("recompute scores")?;
    let id = id.into_inner();
    let caches = state.caches.clone();
    let n = crate::db::with_conn(&state.pool, move |c| {
        services::periods::recompute(c, &caches, &who, id)
    })
    .await?;
    Ok(web::Json(RecomputeResponse { assessments: n }))
}

/// List a period's assessments: all of them for provincial roles, the own unit's for unit accounts.
///
/// A bare array (one assessment per unit and group, so bounded by the number of units), with
/// each assessment's state.
#[utoipa::path(tag = "assessments", params(("id" = Uuid, Path, description = "Period id")), responses((status = 200, description = "Assessments", body = Vec<AssessmentSummary>), ErrorResponses), security(("bearer" = [])))]
#[get("/periods/{id}/assessments")]
async fn list_period_assessments(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<Vec<AssessmentSummary>>> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let rows = crate::db::with_conn(&state.pool, move |c| {
        let p = services::periods::get(c, id)?;
        let scope = if who.role.is_unit_role() {
            Some(who.unit_id.unwrap_or_default())
        } else {
            None
        };
        let list = Assessment::of_period(c, id, scope)?;
        let scores = ScoreRow::of_assessments(c, &list)?;
        let units = Unit::find_many(c, &list.iter().map(|a| a.unit_id).collect::<Vec<_>>())?;
        let mut sets = std::collections::HashMap::new();
        for a in &list {
            if let std::collections::hash_map::Entry::Vacant(slot) = sets.entry(a.set_id) {
                slot.insert(services::scoring::set_entry(c, &caches, a.set_id)?);
            }
        }
        Ok((p, list, scores, units, sets))
    })
    .await?;
    let (p, list, scores, units, sets) = rows;
    let mut out: Vec<AssessmentSummary> = list
        .iter()
        .map(|a| {
            summary(
                a,
                &p,
                units.iter().find(|u| u.id == a.unit_id),
                scores.iter().find(|s| s.assessment_id == a.id),
                &sets[&a.set_id].set,
            )
        })
        .collect();
    out.sort_by(|a, b| a.unit.code.cmp(&b.unit.code));
    Ok(web::Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingQuery {
    /// Ranking group id or code (required when the period has several groups).
    #[param(min_length = 1)]
    pub group: Option<String>,
    /// Rank by this pillar code instead of the overall index.
    #[param(min_length = 1)]
    pub pillar: Option<String>,
    /// Rank by this main-indicator code instead of the overall index.
    #[param(min_length = 1)]
    pub main_indicator: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankingEntryResponse {
    /// Competition rank ("1, 2, 2, 4") on the index rounded to the set's precision; null when
    /// nothing applies to the unit.
    pub rank: Option<i32>,
    /// Shares its rank with another unit.
    pub tied: bool,
    pub unit: super::users::UnitSummary,
    #[schema(value_type = String, example = "800.175", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points: Decimal,
    #[schema(value_type = String, example = "1000", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub applicable_max: Decimal,
    /// points ÷ applicable max, rounded to the set's published precision.
    #[schema(value_type = Option<String>, example = "0.8002", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub index: Option<Decimal>,
    /// False when the office excluded the unit from the ranking: listed with its reason and
    /// no rank, it takes no rank (and no tie) from the others.
    pub ranked: bool,
    pub exclusion_reason: Option<String>,
    /// How the assessment was finalised, once it is.
    pub finalised_as: Option<crate::domain::workflow::FinalisedAs>,
    /// Finalised by the office without a submission (as entered or at zero).
    pub not_submitted: bool,
    /// Classification band (xếp loại) of the overall index; `null` in pillar and
    /// main-indicator rankings and for sets without a classification.
    pub band: Option<super::assessments::BandResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankingPage {
    pub group: String,
    pub scope: RankingScope,
    pub scope_code: Option<String>,
    pub items: Vec<RankingEntryResponse>,
    pub page: i64,
    pub page_size: i64,
    pub total: i64,
}

/// Rankings of a period (overall, per pillar or per main indicator) within a ranking group.
///
/// Provincial roles only while the period is unpublished; the public reads published snapshots.
#[utoipa::path(tag = "rankings", params(("id" = Uuid, Path, description = "Period id"), RankingQuery, PageParams), responses((status = 200, description = "Ranking page", body = RankingPage), ErrorResponses), security(("bearer" = [])))]
#[get("/periods/{id}/rankings")]
async fn list_rankings(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    q: web::Query<RankingQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<RankingPage>> {
    services::assessments::require_live_standings(&who)?;
    let page = paging.to_req()?;
    let id = id.into_inner();
    let q = q.into_inner();
    let (scope, code) = match (&q.pillar, &q.main_indicator) {
        (Some(_), Some(_)) => {
            return Err(AppError::validation(vec![FieldError::new(
                "pillar",
                "EXCLUSIVE",
                "give pillar or main_indicator, not both",
            )]));
        }
        (Some(p), None) => (RankingScope::Pillar, p.clone()),
        (None, Some(m)) => (RankingScope::Main, m.clone()),
        (None, None) => (RankingScope::Overall, String::new()),
    };
    let scope_code = code.clone();
    let caches = state.caches.clone();
    let (group, rows, total, units, assessments, entry) =
        crate::db::with_conn(&state.pool, move |c| {
            services::periods::get(c, id)?;
            let (group, pin) = services::periods::pinned_group(c, id, q.group.as_deref())?;
            let entry = services::scoring::set_entry(c, &caches, pin.set_id)?;
            let scopes = crate::scoring::ranking::scopes(&entry.set);
            let Some(position) = scopes
                .iter()
                .position(|s| s.kind == scope && s.code == code)
            else {
                return Err(AppError::validation(vec![
                    FieldError::new(
                        if scope == RankingScope::Pillar {
                            "pillar"
                        } else {
                            "main_indicator"
                        },
                        "UNKNOWN_SCOPE",
                        format!("the pinned set has no {scope} {code:?}"),
                    )
                    .with_param("scope", scope.as_str())
                    .with_param("code", &code),
                ]));
            };
            services::scoring::ensure_layout(c, &caches, &pin, &entry)?;
            let (rows, total) = RankingRow::page(c, id, group.id, &scopes, position, page)?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.unit_id).collect();
            let units = Unit::find_many(c, &ids)?;
            let assessments = Assessment::of_units(c, id, &ids)?;
            Ok((group, rows, total, units, assessments, entry))
        })
        .await?;
    Ok(web::Json(RankingPage {
        group: group.code,
        scope,
        scope_code: (scope != RankingScope::Overall).then_some(scope_code),
        items: rows
            .into_iter()
            .filter_map(|r| {
                let u = units.iter().find(|u| u.id == r.unit_id)?;
                let a = assessments.iter().find(|a| a.unit_id == r.unit_id);
                let finalised_as = a.and_then(Assessment::finalised_as);
                Some(RankingEntryResponse {
                    ranked: r.ranked,
                    exclusion_reason: a.and_then(|a| a.excluded_reason.clone()),
                    finalised_as,
                    not_submitted: finalised_as.is_some_and(|f| f.not_submitted()),
                    rank: r.rank,
                    tied: r.tied,
                    unit: u.into(),
                    points: r.points,
                    applicable_max: r.applicable_max,
                    band: (scope == RankingScope::Overall)
                        .then(|| {
                            super::assessments::BandResponse::of_index(&entry.set, r.index_value)
                        })
                        .flatten(),
                    index: r
                        .index_value
                        .map(|i| crate::scoring::ranking::shown_index(i, entry.set.precision)),
                })
            })
            .collect(),
        page: page.page,
        page_size: page.page_size,
        total,
    }))
}
