//! `/users`: accounts. Admin manages; unit accounts read their own unit's accounts.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::input::Json;
use super::{ErrorResponses, Page, PageParams, etag, if_match};
use crate::auth::Principal;
use crate::db::models::units::Unit;
use crate::db::models::users::{User, UserFilter};
use crate::domain::Role;
use crate::domain::UnitKind;
use crate::error::UnknownAs;
use crate::error::{AppError, AppResult, FieldError};
use crate::services;
use crate::services::users::{CreateUser, UpdateUser};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user);
}

/// A unit, briefly.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitSummary {
    pub id: Uuid,
    #[schema(example = "LC-SKHCN")]
    pub code: String,
    #[schema(example = "Sở Khoa học và Công nghệ")]
    pub name: String,
    #[schema(example = "department", value_type = UnitKind)]
    pub kind: String,
}

impl From<&Unit> for UnitSummary {
    fn from(u: &Unit) -> Self {
        UnitSummary {
            id: u.id,
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    #[schema(example = "editor.skhcn")]
    pub username: String,
    #[schema(example = "Nguyễn Văn An")]
    pub full_name: String,
    pub role: Role,
    /// The unit of a unit account; null for provincial roles.
    pub unit: Option<UnitSummary>,
    pub active: bool,
    /// Increases on every change (a request that changes nothing leaves it); the `ETag` is
    /// `"v<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn user_response(u: User, units: &BTreeMap<Uuid, Unit>) -> UserResponse {
    UserResponse {
        role: Role::parse(&u.role).unwrap_or(Role::Viewer),
        unit: u
            .unit_id
            .and_then(|id| units.get(&id))
            .map(UnitSummary::from),
        id: u.id,
        username: u.username,
        full_name: u.full_name,
        active: u.active,
        version: u.version,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

async fn respond(state: &AppState, users: Vec<User>) -> AppResult<Vec<UserResponse>> {
    let ids: Vec<Uuid> = users.iter().filter_map(|u| u.unit_id).collect();
    let units = crate::db::with_conn(&state.pool, move |c| Ok(Unit::find_many(c, &ids)?)).await?;
    let units: BTreeMap<Uuid, Unit> = units.into_iter().map(|u| (u.id, u)).collect();
    Ok(users
        .into_iter()
        .map(|u| user_response(u, &units))
        .collect())
}

fn username_rule(s: &str) -> Result<(), validator::ValidationError> {
    if crate::domain::is_valid_username(s) {
        Ok(())
    } else {
        let mut e = validator::ValidationError::new("USERNAME");
        e.message = Some("3–64 characters: lower-case letters, digits, '.', '-', '_'".into());
        Err(e)
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "editor.sotuphap", "full_name": "Trần Thị Bình", "password": "a-long-secret-2026", "role": "unit_editor", "unit": "LC-STP"}))]
pub struct CreateUserRequest {
    #[validate(custom(function = "username_rule"))]
    #[schema(max_length = 64)]
    pub username: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1)]
    #[schema(max_length = 200)]
    pub full_name: String,
    /// At least 10 characters, at least 5 different ones.
    #[schema(max_length = 128)]
    pub password: String,
    pub role: Role,
    /// Unit id or code; required for `unit_editor` and `unit_leader`, forbidden otherwise.
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub unit: Option<String>,
}

/// `Some(None)` for an explicit JSON null, `None` when the field is absent.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"full_name": "Trần Thị Bình", "active": false}))]
pub struct UpdateUserRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1)]
    #[schema(max_length = 200)]
    pub full_name: Option<String>,
    #[schema(max_length = 128)]
    pub password: Option<String>,
    pub role: Option<Role>,
    /// Unit id or code; null detaches the account from its unit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub unit: Option<Option<String>>,
    /// false deactivates the account (its tokens stop working at once).
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Only this role.
    pub role: Option<Role>,
    /// Only accounts of this unit (id or code).
    #[param(min_length = 1)]
    pub unit: Option<String>,
    pub active: Option<bool>,
    /// Substring of the username or full name.
    pub q: Option<String>,
}

/// List accounts.
///
/// Provincial roles see every account; unit accounts only their own unit's.
#[utoipa::path(
    tag = "users",
    params(UserListQuery, PageParams),
    responses((status = 200, description = "A page of accounts", body = Page<UserResponse>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/users")]
async fn list_users(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<UserListQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<UserResponse>>> {
    let page = paging.to_req()?;
    let query = query.into_inner();
    let (users, total) = crate::db::with_conn(&state.pool, move |c| {
        let unit_id = match &query.unit {
            Some(r) => Some(
                services::units::resolve_unit(c, r)
                    .unknown_as(|| {
                        AppError::validation(vec![
                            FieldError::new("unit", "UNKNOWN_UNIT", format!("no unit {r:?}"))
                                .with_param("value", r),
                        ])
                    })?
                    .id,
            ),
            None => None,
        };
        let filter = UserFilter {
            role: query.role.map(|r| r.as_str().to_string()),
            unit_id,
            active: query.active,
            q: query.q,
        };
        services::users::list(c, &who, filter, page)
    })
    .await?;
    Ok(web::Json(Page::new(
        respond(&state, users).await?,
        page,
        total,
    )))
}

/// Create an account (admin).
///
/// A unit role (`unit_editor`, `unit_leader`) needs a unit; provincial roles have none. The
/// password must have at least 10 characters, 5 of them different.
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserResponse, headers(("ETag" = String))),
        (status = 409, description = "`USERNAME_TAKEN`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/users")]
async fn create_user(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<CreateUserRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("create accounts")?;
    let body = body.read().await?;
    body.validate()?;
    let b = body.into_inner();
    let input = CreateUser {
        username: b.username,
        full_name: b.full_name,
        password: b.password,
        role: b.role,
        unit: b.unit,
    };
    let user = crate::db::with_conn(&state.pool, move |c| {
        services::users::create(c, &who, input)
    })
    .await?;
    let version = user.version;
    let body = respond(&state, vec![user]).await?.pop();
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(version)))
        .json(body))
}

/// Get one account.
///
/// Unit accounts see the accounts of their own unit only.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The account", body = UserResponse, headers(("ETag" = String))), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
async fn get_user(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let user =
        crate::db::with_conn(&state.pool, move |c| services::users::get(c, &who, id)).await?;
    let version = user.version;
    let body = respond(&state, vec![user]).await?.pop();
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(version)))
        .json(body))
}

/// Change an account (admin).
///
/// Send `If-Match: "v<version>"` to refuse the change (412) if someone else changed the account
/// meanwhile. A change of password, role, unit or active state revokes the account's current
/// tokens; a new name does not, and a request that changes nothing changes nothing (no new
/// version, no audit event).
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed", body = UserResponse, headers(("ETag" = String))),
        (status = 412, description = "`VERSION_MISMATCH`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[patch("/users/{id}")]
async fn update_user(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<UpdateUserRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("change accounts")?;
    let body = body.read().await?;
    body.validate()?;
    let expected = if_match(&req)?;
    let b = body.into_inner();
    let input = UpdateUser {
        full_name: b.full_name,
        password: b.password,
        role: b.role,
        unit: b.unit,
        active: b.active,
    };
    let id = id.into_inner();
    let user = crate::db::with_conn(&state.pool, move |c| {
        services::users::update(c, &who, id, &expected, input)
    })
    .await?;
    let version = user.version;
    let body = respond(&state, vec![user]).await?.pop();
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(version)))
        .json(body))
}
