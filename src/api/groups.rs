//! `/ranking-groups`: units are ranked only against the members of their group
//! (departments never against communes).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::ErrorResponses;
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::Json;
use super::users::{UnitSummary, double_option};
use crate::auth::Principal;
use crate::db::models::groups::{RankingGroup, RankingGroupChanges};
use crate::db::models::units::Unit;
use crate::domain::UnitKind;
use crate::error::{AppError, AppResult};
use crate::services;
use crate::services::idempotency;
use crate::services::units::GroupInput;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_groups)
        .service(create_group)
        .service(get_group)
        .service(update_group)
        .service(set_group_members);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankingGroupResponse {
    pub id: Uuid,
    #[schema(example = "LC-XA")]
    pub code: String,
    #[schema(example = "Xã, phường tỉnh Lào Cai")]
    pub name: String,
    /// The kind of every member.
    #[schema(example = "commune", value_type = UnitKind)]
    pub unit_kind: String,
    pub description: Option<String>,
    pub member_count: i64,
    /// Members, on single-group responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<UnitSummary>>,
}

fn response(g: RankingGroup, count: i64, members: Option<Vec<Unit>>) -> RankingGroupResponse {
    RankingGroupResponse {
        id: g.id,
        code: g.code,
        name: g.name,
        unit_kind: g.unit_kind,
        description: g.description,
        member_count: members.as_ref().map(|m| m.len() as i64).unwrap_or(count),
        members: members.map(|m| m.iter().map(UnitSummary::from).collect()),
    }
}

fn code_rule(s: &str) -> Result<(), validator::ValidationError> {
    if crate::domain::is_valid_code(s) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("CODE"))
    }
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "LC-XA", "name": "Xã, phường tỉnh Lào Cai", "unit_kind": "commune"}))]
pub struct CreateGroupRequest {
    #[validate(custom(function = "code_rule"))]
    #[schema(max_length = 64)]
    pub code: String,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1)]
    #[schema(max_length = 500)]
    pub name: String,
    #[validate(length(max = 32))]
    #[schema(value_type = UnitKind)]
    pub unit_kind: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroupRequest {
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1)]
    #[schema(max_length = 500)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"units": ["LC-XA-BAC-HA", "LC-P-YEN-BAI"]}))]
pub struct SetMembersRequest {
    /// Unit ids or codes; replaces the current members.
    #[validate(length(max = 10000))]
    #[schema(max_items = 10000)]
    pub units: Vec<String>,
}

/// List ranking groups.
///
/// Paged; each group ranks units of one kind against each other.
#[utoipa::path(
    tag = "ranking-groups",
    responses((status = 200, description = "Every group", body = Vec<RankingGroupResponse>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/ranking-groups")]
async fn list_groups(
    state: web::Data<AppState>,
    _who: Principal,
) -> AppResult<web::Json<Vec<RankingGroupResponse>>> {
    let (groups, counts) = crate::db::with_conn(&state.pool, |c| {
        Ok((RankingGroup::list(c)?, RankingGroup::member_counts(c)?))
    })
    .await?;
    let counts: BTreeMap<Uuid, i64> = counts.into_iter().collect();
    Ok(web::Json(
        groups
            .into_iter()
            .map(|g| {
                let n = counts.get(&g.id).copied().unwrap_or(0);
                response(g, n, None)
            })
            .collect(),
    ))
}

/// Create a ranking group (admin).
///
/// Send an `Idempotency-Key` to make a retry safe: a repeat with the same key gets the first 201
/// back (`Idempotent-Replayed: true`) instead of 409 `CODE_TAKEN`.
#[utoipa::path(
    tag = "ranking-groups",
    params(IdempotencyKeyHeader),
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "Created (or replayed: see `Idempotency-Key`)", body = RankingGroupResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`CODE_TAKEN`, or `IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/ranking-groups")]
async fn create_group(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: Json<CreateGroupRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("create ranking groups")?;
    let body = body.read().await?;
    body.validate()?;
    // The parsed body, re-serialised: the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let b = body.into_inner();
    let input = GroupInput {
        code: b.code,
        name: b.name,
        unit_kind: b.unit_kind,
        description: b.description,
    };
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| services::units::authorise_create_group(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let g = services::units::create_group(c, &who, input)?;
            Ok((201, to_body(response(g, 0, Some(vec![])))?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

async fn group_with_members(state: &AppState, r: String) -> AppResult<RankingGroupResponse> {
    let (g, members) = crate::db::with_conn(&state.pool, move |c| {
        let g = services::units::resolve_group(c, &r)?;
        let ids = RankingGroup::member_ids(c, g.id)?;
        let mut members = Unit::find_many(c, &ids)?;
        members.sort_by(|a, b| a.code.cmp(&b.code));
        Ok((g, members))
    })
    .await?;
    Ok(response(g, 0, Some(members)))
}

/// Get a ranking group with its members.
///
/// The group, the kind of unit it ranks, and its current member units.
#[utoipa::path(
    tag = "ranking-groups",
    params(("id" = String, Path, description = "Group id or code")),
    responses((status = 200, description = "The group", body = RankingGroupResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/ranking-groups/{id}")]
async fn get_group(
    state: web::Data<AppState>,
    _who: Principal,
    id: web::Path<String>,
) -> AppResult<web::Json<RankingGroupResponse>> {
    Ok(web::Json(
        group_with_members(&state, id.into_inner()).await?,
    ))
}

/// Rename or describe a ranking group (admin).
///
/// Send only what changes.
#[utoipa::path(
    tag = "ranking-groups",
    params(("id" = String, Path, description = "Group id or code")),
    request_body = UpdateGroupRequest,
    responses((status = 200, description = "Changed", body = RankingGroupResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[patch("/ranking-groups/{id}")]
async fn update_group(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    body: Json<UpdateGroupRequest>,
) -> AppResult<web::Json<RankingGroupResponse>> {
    who.require_admin("change ranking groups")?;
    let body = body.read().await?;
    body.validate()?;
    let b = body.into_inner();
    let r = id.into_inner();
    let changes = RankingGroupChanges {
        name: b.name,
        description: b.description,
    };
    let r2 = r.clone();
    crate::db::with_conn(&state.pool, move |c| {
        services::units::update_group(c, &who, &r2, changes)
    })
    .await?;
    Ok(web::Json(group_with_members(&state, r).await?))
}

/// Replace the members of a ranking group (admin).
///
/// Every member must be of the group's unit kind. Takes an `Idempotency-Key` (a bulk call): a
/// repeat with the same key replays the first response and writes nothing.
#[utoipa::path(
    tag = "ranking-groups",
    params(("id" = String, Path, description = "Group id or code"), IdempotencyKeyHeader),
    request_body = SetMembersRequest,
    responses(
        (status = 200, description = "The group with its new members (or replayed: see `Idempotency-Key`)", body = RankingGroupResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[put("/ranking-groups/{id}/members")]
async fn set_group_members(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: Json<SetMembersRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("change ranking group members")?;
    let body = body.read().await?;
    body.validate()?;
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let r = id.into_inner();
    let units = body.into_inner().units;
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| services::units::authorise_set_group_members(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let (g, members) = services::units::set_group_members(c, &who, &r, &units)?;
            Ok((200, to_body(response(g, 0, Some(members)))?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}
