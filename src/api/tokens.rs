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
use crate::audit::Audit;
use crate::auth::Principal;
use crate::auth::principal::INTEGRATION_PREFIX;
use crate::db::models::tokens::IntegrationToken;
use crate::domain::TokenScope;
use crate::error::{AppError, AppResult, FieldError};
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
    who.require_admin("create integration tokens")?;
    let body = body.read().await?;
    body.validate()?;
    let b = body.into_inner();
    let allowed: Vec<&str> = TokenScope::ALL.iter().map(|s| s.as_str()).collect();
    let bad: Vec<FieldError> = b
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| TokenScope::parse(s).is_none())
        .map(|(i, s)| {
            FieldError::new(
                format!("/scopes/{i}"),
                "UNKNOWN_SCOPE",
                format!("{s:?}: use one of {allowed:?}"),
            )
            .with_param("value", s)
            .with_param("allowed", &allowed)
        })
        .collect();
    let scopes: Vec<TokenScope> = b
        .scopes
        .iter()
        .filter_map(|s| TokenScope::parse(s))
        .collect();
    if !bad.is_empty() || b.scopes.is_empty() {
        let errors = if bad.is_empty() {
            vec![FieldError::new(
                "/scopes",
                "REQUIRED",
                "give at least one scope",
            )]
        } else {
            bad
        };
        return Err(AppError::validation(errors));
    }
    let secret = format!(
        "{INTEGRATION_PREFIX}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    let t = crate::db::transaction(&state.pool, move |c| {
        if let Some(p) = b.period_id
            && crate::db::models::periods::Period::find(c, p)?.is_none()
        {
            return Err(AppError::validation(vec![FieldError::new(
                "/period_id",
                "UNKNOWN_PERIOD",
                "no such period",
            )]));
        }
        let t = IntegrationToken::insert(
            c,
            &b.name,
            &hash,
            &scopes,
            b.period_id,
            b.expires_at,
            who.user_id,
        )?;
        Audit::new(
            Some(&who),
            "integration_token.create",
            "integration_token",
            t.id,
        )
        .period(t.period_id)
        .new_value(
            serde_json::json!({"name": t.name, "scopes": t.scopes, "expires_at": t.expires_at}),
        )
        .record(c)?;
        Ok(t)
    })
    .await?;
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
    who.require_admin("list integration tokens")?;
    let list = crate::db::with_conn(&state.pool, |c| Ok(IntegrationToken::list(c)?)).await?;
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
    who.require_admin("revoke integration tokens")?;
    let id = id.into_inner();
    let t = crate::db::transaction(&state.pool, move |c| {
        let t = IntegrationToken::revoke(c, id)?
            .ok_or_else(|| AppError::not_found("integration token", id))?;
        Audit::new(
            Some(&who),
            "integration_token.revoke",
            "integration_token",
            id,
        )
        .record(c)?;
        Ok(t)
    })
    .await?;
    Ok(web::Json(response(t, None)))
}
