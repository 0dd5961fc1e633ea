//! `/integration-tokens`: scoped tokens for scripts and national platforms (admin).

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::ErrorResponses;
use super::input::Json;
use crate::auth::Principal;
use crate::db::models::tokens::IntegrationToken;
use crate::domain::TokenScope;
use crate::error::AppResult;
use crate::services::tokens as svc;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_token)
        .service(list_tokens)
        .service(revoke_token);
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Cổng dịch vụ công quốc gia", "scopes": ["automatic:write"]}))]
pub struct CreateTokenRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1)]
    #[schema(max_length = 200)]
    pub name: String,
    /// `automatic:write`: write the answers of automatically measured components.
    #[schema(value_type = Vec<TokenScope>)]
    pub scopes: Vec<String>,
    /// Restrict the token to one period.
    pub period_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    pub period_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The secret, shown once at creation: send it as `Authorization: Bearer <token>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn response(t: IntegrationToken, secret: Option<String>) -> TokenResponse {
    TokenResponse {
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        period_id: t.period_id,
        created_at: t.created_at,
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
        token: secret,
    }
}

/// Create an integration token (admin). The secret is returned once; only its SHA-256 is kept.
///
/// Scope `automatic:write` lets a script or a national platform write the answers of
/// automatically measured components (optionally of one period only), nothing else.
#[utoipa::path(tag = "integration", request_body = CreateTokenRequest, responses((status = 201, description = "Created", body = TokenResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/integration-tokens")]
async fn create_token(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<CreateTokenRequest>,
) -> AppResult<HttpResponse> {
    svc::authorise(&who, "create integration tokens")?;
    let body = body.read().await?;
    body.validate()?;
    let b = body.into_inner();
    let new = svc::NewToken {
        name: b.name,
        scopes: b.scopes,
        period_id: b.period_id,
        expires_at: b.expires_at,
    };
    let (t, secret) =
        crate::db::transaction(&state.pool, move |c| svc::create(c, &who, new)).await?;
    Ok(HttpResponse::Created().json(response(t, Some(secret))))
}

/// List integration tokens (admin; secrets are never shown again).
///
/// Every token with its scopes, period restriction, expiry and revocation; the secret itself is
/// shown only once, at creation.
#[utoipa::path(tag = "integration", responses((status = 200, description = "Tokens", body = Vec<TokenResponse>), ErrorResponses), security(("bearer" = [])))]
#[get("/integration-tokens")]
async fn list_tokens(
    state: web::Data<AppState>,
    who: Principal,
) -> AppResult<web::Json<Vec<TokenResponse>>> {
    let list = crate::db::with_conn(&state.pool, move |c| svc::list(c, &who)).await?;
    Ok(web::Json(
        list.into_iter().map(|t| response(t, None)).collect(),
    ))
}

/// Revoke an integration token at once (admin).
///
/// A revoked token is refused from the next request on.
#[utoipa::path(tag = "integration", params(("id" = Uuid, Path, description = "Token id")), responses((status = 200, description = "Revoked", body = TokenResponse), ErrorResponses), security(("bearer" = [])))]
#[delete("/integration-tokens/{id}")]
async fn revoke_token(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<TokenResponse>> {
    let id = id.into_inner();
    let t = crate::db::transaction(&state.pool, move |c| svc::revoke(c, &who, id)).await?;
    Ok(web::Json(response(t, None)))
}
