//! `POST /auth/login` and `GET /me`.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::{HttpRequest, get, post, web};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::ErrorResponses;
use super::input::Json;
use super::users::UnitSummary;
use crate::auth::Principal;
use crate::db::models::units::Unit;
use crate::db::models::users::User;
use crate::domain::Role;
use crate::error::AppResult;
use crate::services;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login).service(me).service(change_password);
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "admin", "password": "demo-dti-2026"}))]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1)]
    #[schema(max_length = 64)]
    pub username: String,
    #[validate(length(min = 1, max = 128))]
    #[schema(min_length = 1)]
    #[schema(max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzZjJiOGMxZSJ9.c2lnbmF0dXJl",
    "token_type": "Bearer", "expires_in": 28800, "expires_at": "2026-01-05T16:00:00Z",
    "user": {
        "id": "3f2b8c1e-6a4d-4b7e-9c2f-1a5d7e9b0c42", "username": "editor.skhcn", "full_name": "Nguyễn Văn An",
        "role": "unit_editor",
        "unit": {"id": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "code": "LC-SKHCN", "name": "Sở Khoa học và Công nghệ", "kind": "department"},
        "permissions": ["units:read", "users:read_own_unit", "indicator_sets:read", "periods:read", "assessments:read_own_unit", "assessments:edit_own_unit"],
        "must_change_password": false
    }
}))]
pub struct LoginResponse {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 28800)]
    pub expires_in: i64,
    pub expires_at: DateTime<Utc>,
    pub user: MeResponse,
}

/// The caller: who they are and what they may do.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "3f2b8c1e-6a4d-4b7e-9c2f-1a5d7e9b0c42", "username": "editor.skhcn", "full_name": "Nguyễn Văn An",
    "role": "unit_editor",
    "unit": {"id": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "code": "LC-SKHCN", "name": "Sở Khoa học và Công nghệ", "kind": "department"},
    "permissions": ["units:read", "users:read_own_unit", "indicator_sets:read", "periods:read", "assessments:read_own_unit", "assessments:edit_own_unit"],
    "must_change_password": false
}))]
pub struct MeResponse {
    pub id: uuid::Uuid,
    #[schema(example = "editor.skhcn")]
    pub username: String,
    #[schema(example = "Nguyễn Văn An")]
    pub full_name: String,
    pub role: Role,
    /// The unit of a unit account; null for provincial roles.
    pub unit: Option<UnitSummary>,
    /// What the role may do; unit roles act on their own unit only.
    #[schema(example = json!(["units:read", "assessments:edit_own_unit"]))]
    pub permissions: Vec<String>,
    /// The account must choose a new password (`POST /api/v1/me/password`) before anything
    /// else: until then every other route answers 403 `PASSWORD_CHANGE_REQUIRED`. Set for
    /// accounts created by an accounts import (one-time password) and after an
    /// administrator's password reset.
    pub must_change_password: bool,
}

fn me_response(user: &User, role: Role, unit: Option<Unit>) -> MeResponse {
    MeResponse {
        id: user.id,
        username: user.username.clone(),
        full_name: user.full_name.clone(),
        role,
        unit: unit.as_ref().map(UnitSummary::from),
        permissions: role.permissions().iter().map(|s| s.to_string()).collect(),
        must_change_password: user.must_change_password,
    }
}

/// Log in with a username and password.
///
/// Returns a JWT carrying the user's id, role and unit. Failures are throttled per account and
/// client address: after 5 failures the account is locked for 5 minutes from that address only,
/// each further failure doubling the lock (up to an hour); an address also has a limit over all
/// accounts. A locked attempt gets 429 `LOGIN_THROTTLED` with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Wrong username or password (`INVALID_CREDENTIALS`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures (`LOGIN_THROTTLED`)", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    )
)]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> AppResult<web::Json<LoginResponse>> {
    let body = body.read().await?;
    body.validate()?;
    let body = body.into_inner();
    let client = super::client::client_address(&req, &state.config.trusted_proxies)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let cfg = state.config.clone();
    let (user, unit) = crate::db::with_conn(&state.pool, move |c| {
        let user = services::auth::login(c, &cfg, &body.username, &body.password, client)?;
        let unit = match user.unit_id {
            Some(id) => Unit::find(c, id)?,
            None => None,
        };
        Ok((user, unit))
    })
    .await?;
    Ok(web::Json(login_response(&state, &user, unit)?))
}

/// A fresh token for `user`, with who they are.
fn login_response(state: &AppState, user: &User, unit: Option<Unit>) -> AppResult<LoginResponse> {
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    let (token, claims) = state.jwt.issue(
        user.id,
        &user.username,
        role,
        user.unit_id,
        user.session_version,
    )?;
    Ok(LoginResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_seconds(),
        expires_at: Utc
            .timestamp_opt(claims.exp, 0)
            .single()
            .unwrap_or_else(Utc::now),
        user: me_response(user, role, unit),
    })
}

/// Who am I, and what may I do?
///
/// The account, its role, its unit (for unit accounts) and the permissions of the role.
/// Object-level rules apply on top: unit accounts act on their own unit only.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The caller", body = MeResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/me")]
async fn me(state: web::Data<AppState>, who: Principal) -> AppResult<web::Json<MeResponse>> {
    let id = who.actor_id();
    let (user, unit) = crate::db::with_conn(&state.pool, move |c| {
        let user =
            User::find(c, id)?.ok_or_else(|| crate::error::AppError::not_found("user", id))?;
        let unit = match user.unit_id {
            Some(u) => Unit::find(c, u)?,
            None => None,
        };
        Ok((user, unit))
    })
    .await?;
    Ok(web::Json(me_response(&user, who.role, unit)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "k3Jx9-one-time-Qp2m", "new_password": "my-own-secret-2026"}))]
pub struct ChangePasswordRequest {
    #[validate(length(min = 1, max = 128))]
    #[schema(max_length = 128)]
    pub current_password: String,
    /// At least 10 characters (at most 128) with at least 5 different ones; not the current
    /// password, the username or the published demo password.
    #[validate(length(min = 1, max = 128))]
    #[schema(max_length = 128)]
    pub new_password: String,
}

/// Change my own password.
///
/// Verifies the current password, checks the new one (the rules of every password, and neither
/// the current one nor the username), stores it and clears `must_change_password`. The
/// account's tokens end (this one too): the answer carries a fresh token, as a login does.
/// Audited as `user.password_change`. This route and `GET /me` are the only ones an account
/// that must change its password may call.
#[utoipa::path(
    tag = "auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; a fresh token (the old ones no longer work)", body = LoginResponse),
        (status = 422, description = "`VALIDATION_FAILED`: `WRONG_PASSWORD` on `/current_password`, `WEAK_PASSWORD`, `PUBLISHED_PASSWORD`, `SAME_PASSWORD` or `PASSWORD_IS_USERNAME` on `/new_password`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/me/password")]
async fn change_password(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<ChangePasswordRequest>,
) -> AppResult<web::Json<LoginResponse>> {
    services::users::authorise_own_password(&who)?;
    let body = body.read().await?;
    body.validate()?;
    let body = body.into_inner();
    let (user, unit) = crate::db::with_conn(&state.pool, move |c| {
        let user = services::users::change_own_password(
            c,
            &who,
            &body.current_password,
            &body.new_password,
        )?;
        let unit = match user.unit_id {
            Some(u) => Unit::find(c, u)?,
            None => None,
        };
        Ok((user, unit))
    })
    .await?;
    Ok(web::Json(login_response(&state, &user, unit)?))
}
