//! `/units`: the directory of assessed units, their lineage (2025 mergers) and groups.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::fallback::{QueryChoice, choice};
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::Json;
use super::users::{UnitSummary, double_option};
use super::{ErrorResponses, Page, PageParams, etag, if_match};
use crate::auth::Principal;
use crate::db::models::units::{UnitFilter, UnitSort};
use crate::domain::UnitKind;
use crate::domain::fold_text;
use crate::error::UnknownAs;
use crate::error::{AppError, AppResult, FieldError};
use crate::services;
use crate::services::idempotency;
use crate::services::units::{CreateUnit, LineageLink, PredecessorInput, UnitView, UpdateUnit};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_units)
        .service(create_unit)
        .service(get_unit)
        .service(update_unit)
        .service(get_unit_lineage);
}

/// A ranking group, briefly.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupSummary {
    pub id: Uuid,
    #[schema(example = "LC-SO")]
    pub code: String,
    #[schema(example = "Sở, ban, ngành")]
    pub name: String,
}

/// One lineage link (predecessor → successor).
#[derive(Debug, Serialize, ToSchema)]
pub struct LineageLinkResponse {
    pub unit: UnitRefResponse,
    pub effective_date: Option<NaiveDate>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitRefResponse {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

fn link(l: LineageLink) -> LineageLinkResponse {
    LineageLinkResponse {
        unit: UnitRefResponse {
            id: l.unit_id,
            code: l.code,
            name: l.name,
        },
        effective_date: l.effective_date,
        note: l.note,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitResponse {
    pub id: Uuid,
    #[schema(example = "LC-SKHCN")]
    pub code: String,
    #[schema(example = "Sở Khoa học và Công nghệ")]
    pub name: String,
    #[schema(example = "department", value_type = UnitKind)]
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub parent_code: Option<String>,
    /// Free tags used by indicator applicability rules (e.g. `kinh_te_so`).
    pub tags: Vec<String>,
    pub active: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub groups: Vec<GroupSummary>,
    /// Direct predecessors (units merged into this one). Only on single-unit responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predecessors: Option<Vec<LineageLinkResponse>>,
    /// Direct successors. Only on single-unit responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successors: Option<Vec<LineageLinkResponse>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn unit_response(v: UnitView, with_lineage: bool) -> UnitResponse {
    let u = v.unit;
    UnitResponse {
        id: u.id,
        code: u.code,
        name: u.name,
        kind: u.kind,
        parent_id: u.parent_id,
        parent_code: v.parent_code,
        tags: u.tags,
        active: u.active,
        valid_from: u.valid_from,
        valid_to: u.valid_to,
        groups: v
            .groups
            .into_iter()
            .map(|g| GroupSummary {
                id: g.id,
                code: g.code,
                name: g.name,
            })
            .collect(),
        predecessors: with_lineage.then(|| v.predecessors.into_iter().map(link).collect()),
        successors: with_lineage.then(|| v.successors.into_iter().map(link).collect()),
        version: u.version,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

fn code_rule(s: &str) -> Result<(), validator::ValidationError> {
    if crate::domain::is_valid_code(s) {
        Ok(())
    } else {
        let mut e = validator::ValidationError::new("CODE");
        e.message = Some("1–64 characters: letters, digits, '.', '-', '_'".into());
        Err(e)
    }
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredecessorRequest {
    /// Predecessor unit id or code.
    #[schema(example = "YB")]
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub unit: String,
    pub effective_date: Option<NaiveDate>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

impl From<PredecessorRequest> for PredecessorInput {
    fn from(p: PredecessorRequest) -> Self {
        PredecessorInput {
            unit: p.unit,
            effective_date: p.effective_date,
            note: p.note,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "LC-XA-BAO-THANG", "name": "Xã Bảo Thắng", "kind": "commune", "parent": "LC",
    "groups": ["LC-XA"], "tags": [], "valid_from": "2025-07-01",
    "predecessors": [{"unit": "LC-TT-PHO-LU", "effective_date": "2025-07-01"}]
}))]
pub struct CreateUnitRequest {
    /// Unique ignoring case: `snv` is taken once `SNV` exists.
    #[validate(custom(function = "code_rule"))]
    #[schema(max_length = 64)]
    pub code: String,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1)]
    #[schema(max_length = 500)]
    pub name: String,
    #[validate(length(max = 32))]
    #[schema(value_type = UnitKind)]
    pub kind: String,
    /// Parent unit id or code.
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub parent: Option<String>,
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub tags: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// Ranking group ids or codes.
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub groups: Vec<String>,
    #[serde(default)]
    #[validate(length(max = 100), nested)]
    #[schema(max_items = 100)]
    pub predecessors: Vec<PredecessorRequest>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Sở Khoa học và Công nghệ tỉnh Lào Cai", "tags": ["kinh_te_so"]}))]
pub struct UpdateUnitRequest {
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1)]
    #[schema(max_length = 500)]
    pub name: Option<String>,
    #[validate(length(max = 32))]
    #[schema(value_type = Option<UnitKind>)]
    pub kind: Option<String>,
    /// Parent unit id or code; null removes the parent.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub parent: Option<Option<String>>,
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub tags: Option<Vec<String>>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_from: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_to: Option<Option<NaiveDate>>,
    /// Replaces the unit's ranking groups.
    pub groups: Option<Vec<String>>,
    /// Replaces the unit's predecessors.
    #[validate(nested)]
    pub predecessors: Option<Vec<PredecessorRequest>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitListQuery {
    /// Only this kind.
    #[serde(default, deserialize_with = "kind_param")]
    #[param(example = "commune")]
    pub kind: Option<UnitKind>,
    /// Only children of this unit (id or code).
    #[param(min_length = 1)]
    pub parent: Option<String>,
    /// Only members of this ranking group (id or code).
    #[param(min_length = 1)]
    pub group: Option<String>,
    pub active: Option<bool>,
    /// Search in names and codes, ignoring case and diacritics ("lao cai" finds "Lào Cai").
    #[param(example = "lao cai")]
    pub q: Option<String>,
    /// `code` (default), `-code`, `name`, `-name`, `kind`.
    #[serde(default, deserialize_with = "sort_param")]
    #[param(example = "name")]
    pub sort: Option<UnitSort>,
}

fn kind_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UnitKind>, D::Error> {
    choice(d, "kind")
}

fn sort_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UnitSort>, D::Error> {
    choice(d, "sort")
}

/// A unit kind named in a query: `INVALID_KIND`, listing the kinds, unless it is one.
impl QueryChoice for UnitKind {
    fn from_query(field: &str, s: &str) -> Result<Self, FieldError> {
        crate::domain::unit_kind_field(field, s)
    }
}

/// A sort key named in a query: `INVALID_SORT` unless it is one.
impl QueryChoice for UnitSort {
    fn from_query(field: &str, s: &str) -> Result<Self, FieldError> {
        UnitSort::parse(s).ok_or_else(|| {
            FieldError::new(
                field,
                "INVALID_SORT",
                format!("{s:?}: use code, -code, name, -name or kind"),
            )
            .with_param("value", s)
        })
    }
}

/// List units.
///
/// Filtered by kind, parent, ranking group, active flag and a search that ignores case and
/// Vietnamese diacritics; sorted by code (default), name or kind; paged.
#[utoipa::path(
    tag = "units",
    params(UnitListQuery, PageParams),
    responses((status = 200, description = "A page of units", body = Page<UnitResponse>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/units")]
async fn list_units(
    state: web::Data<AppState>,
    _who: Principal,
    query: web::Query<UnitListQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<UnitResponse>>> {
    let page = paging.to_req()?;
    let q = query.into_inner();
    let sort = q.sort.unwrap_or(UnitSort::Code);
    let (views, total) = crate::db::with_conn(&state.pool, move |c| {
        let unknown = |field: &str, r: &str| {
            AppError::validation(vec![
                FieldError::new(
                    field,
                    "UNKNOWN_REFERENCE",
                    format!("nothing has id or code {r:?}"),
                )
                .with_param("value", r),
            ])
        };
        let parent_id = match &q.parent {
            Some(r) => Some(
                services::units::resolve_unit(c, r)
                    .unknown_as(|| unknown("parent", r))?
                    .id,
            ),
            None => None,
        };
        let group_id = match &q.group {
            Some(r) => Some(
                services::units::resolve_group(c, r)
                    .unknown_as(|| unknown("group", r))?
                    .id,
            ),
            None => None,
        };
        let filter = UnitFilter {
            kind: q.kind,
            parent_id,
            group_id,
            active: q.active,
            q: q.q.as_deref().map(fold_text).filter(|s| !s.is_empty()),
        };
        services::units::list(c, filter, sort, page)
    })
    .await?;
    let items = views.into_iter().map(|v| unit_response(v, false)).collect();
    Ok(web::Json(Page::new(items, page, total)))
}

/// Create a unit (admin).
///
/// Send an `Idempotency-Key` to make a retry safe: a repeat with the same key gets the first 201
/// back (`Idempotent-Replayed: true`, same `ETag`) instead of 409 `CODE_TAKEN`.
#[utoipa::path(
    tag = "units",
    params(IdempotencyKeyHeader),
    request_body = CreateUnitRequest,
    responses(
        (status = 201, description = "Created (or replayed: see `Idempotency-Key`)", body = UnitResponse, headers(("ETag" = String), ("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`CODE_TAKEN`, or `IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/units")]
async fn create_unit(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: Json<CreateUnitRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("create units")?;
    let body = body.read().await?;
    body.validate()?;
    // The parsed body, re-serialised: the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let b = body.into_inner();
    let input = CreateUnit {
        code: b.code,
        name: b.name,
        kind: b.kind,
        parent: b.parent,
        tags: b.tags,
        active: b.active,
        valid_from: b.valid_from,
        valid_to: b.valid_to,
        groups: b.groups,
        predecessors: b.predecessors.into_iter().map(Into::into).collect(),
    };
    check_dates(input.valid_from, input.valid_to)?;
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| services::units::authorise_create(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let view = services::units::create(c, &who, input)?;
            Ok((201, to_body(unit_response(view, true))?))
        })
    })
    .await?;
    respond(reply, |body, resp| {
        if let Some(v) = body["version"].as_i64().and_then(|v| i32::try_from(v).ok()) {
            resp.insert_header(("ETag", etag(v)));
        }
    })
}

fn check_dates(from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<()> {
    match crate::domain::validity_dates_error(from, to, "/valid_to") {
        Some(e) => Err(AppError::validation(vec![e])),
        None => Ok(()),
    }
}

/// Get one unit, with its groups and direct lineage.
///
/// With its ranking groups and its direct predecessors and successors (mergers and splits).
#[utoipa::path(
    tag = "units",
    params(("id" = String, Path, description = "Unit id or code (codes ignore case)", example = "LC-SKHCN")),
    responses((status = 200, description = "The unit", body = UnitResponse, headers(("ETag" = String))), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/units/{id}")]
async fn get_unit(
    state: web::Data<AppState>,
    _who: Principal,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let r = id.into_inner();
    let view = crate::db::with_conn(&state.pool, move |c| {
        let unit = services::units::resolve_unit(c, &r)?;
        services::units::view(c, unit)
    })
    .await?;
    let version = view.unit.version;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(version)))
        .json(unit_response(view, true)))
}

/// Change a unit (admin).
///
/// Send `If-Match: "v<version>"` to refuse the change (412) if someone else changed the unit
/// meanwhile. `groups` and `predecessors`, when given, replace the current lists.
#[utoipa::path(
    tag = "units",
    params(("id" = String, Path, description = "Unit id or code (codes ignore case)"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = UpdateUnitRequest,
    responses(
        (status = 200, description = "Changed", body = UnitResponse, headers(("ETag" = String))),
        (status = 412, description = "`VERSION_MISMATCH`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[patch("/units/{id}")]
async fn update_unit(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<UpdateUnitRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("change units")?;
    let body = body.read().await?;
    body.validate()?;
    let expected = if_match(&req)?;
    let b = body.into_inner();
    check_dates(b.valid_from.flatten(), b.valid_to.flatten())?;
    let input = UpdateUnit {
        name: b.name,
        kind: b.kind,
        parent: b.parent,
        tags: b.tags,
        active: b.active,
        valid_from: b.valid_from,
        valid_to: b.valid_to,
        groups: b.groups,
        predecessors: b
            .predecessors
            .map(|ps| ps.into_iter().map(Into::into).collect()),
    };
    let r = id.into_inner();
    let caches = state.caches.clone();
    let view = crate::db::with_conn(&state.pool, move |c| {
        services::units::update(c, &caches, &who, &r, &expected, input)
    })
    .await?;
    let version = view.unit.version;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(version)))
        .json(unit_response(view, true)))
}

/// The lineage graph around a unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineageResponse {
    pub unit: UnitSummary,
    /// Every unit reached through predecessor/successor links, in code order.
    pub units: Vec<UnitSummary>,
    /// Links between them.
    pub links: Vec<LineageEdge>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineageEdge {
    pub predecessor_id: Uuid,
    pub successor_id: Uuid,
    pub effective_date: Option<NaiveDate>,
}

/// Get the whole lineage of a unit (predecessors of predecessors, successors of successors).
///
/// Used to compare years across the 2025 mergers.
#[utoipa::path(
    tag = "units",
    params(("id" = String, Path, description = "Unit id or code (codes ignore case)")),
    responses((status = 200, description = "The lineage graph", body = LineageResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/units/{id}/lineage")]
async fn get_unit_lineage(
    state: web::Data<AppState>,
    _who: Principal,
    id: web::Path<String>,
) -> AppResult<web::Json<LineageResponse>> {
    let r = id.into_inner();
    let (unit, units, edges) = crate::db::with_conn(&state.pool, move |c| {
        let unit = services::units::resolve_unit(c, &r)?;
        let (units, edges) = services::units::lineage_graph(c, &unit)?;
        Ok((unit, units, edges))
    })
    .await?;
    Ok(web::Json(LineageResponse {
        unit: UnitSummary::from(&unit),
        units: units.iter().map(UnitSummary::from).collect(),
        links: edges
            .into_iter()
            .map(|(p, s, d)| LineageEdge {
                predecessor_id: p,
                successor_id: s,
                effective_date: d,
            })
            .collect(),
    }))
}
