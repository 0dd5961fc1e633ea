//! Integration tokens: scoped credentials for scripts and national platforms. The secret is
//! made here, shown once, and kept only as its SHA-256 (the authentication extractor compares
//! hashes, `crate::auth::principal`).

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::auth::principal::{INTEGRATION_PREFIX, integration_token_hash};
use crate::db::models::periods::Period;
use crate::db::models::tokens::IntegrationToken;
use crate::domain::TokenScope;
use crate::error::{AppError, AppResult, FieldError};

/// What an administrator asks for.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    /// Scope names as sent; each must be a [`TokenScope`].
    pub scopes: Vec<String>,
    pub period_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Only administrators manage integration tokens. Checked before a request body is read.
pub fn authorise(actor: &Principal, what: &str) -> AppResult<()> {
    actor.require_admin(what)
}

/// The scopes of a request, every unknown one reported at once (at least one is needed).
pub fn parse_scopes(raw: &[String]) -> AppResult<Vec<TokenScope>> {
    let allowed: Vec<&str> = TokenScope::ALL.iter().map(|s| s.as_str()).collect();
    let bad: Vec<FieldError> = raw
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
    if !bad.is_empty() {
        return Err(AppError::validation(bad));
    }
    if raw.is_empty() {
        return Err(AppError::validation(vec![FieldError::new(
            "/scopes",
            "REQUIRED",
            "give at least one scope",
        )]));
    }
    Ok(raw.iter().filter_map(|s| TokenScope::parse(s)).collect())
}

/// A fresh secret: the integration prefix and 244 random bits.
fn new_secret() -> String {
    format!(
        "{INTEGRATION_PREFIX}{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

/// Creates a token (the caller has passed [`authorise`]) and returns it with its secret, the
/// only time the secret exists outside the caller's hands. Audited without the secret.
pub fn create(
    c: &mut PgConnection,
    actor: &Principal,
    new: NewToken,
) -> AppResult<(IntegrationToken, String)> {
    let scopes = parse_scopes(&new.scopes)?;
    if let Some(p) = new.period_id
        && Period::find(c, p)?.is_none()
    {
        return Err(AppError::validation(vec![FieldError::new(
            "/period_id",
            "UNKNOWN_PERIOD",
            "no such period",
        )]));
    }
    let secret = new_secret();
    let t = IntegrationToken::insert(
        c,
        &new.name,
        &integration_token_hash(&secret),
        &scopes,
        new.period_id,
        new.expires_at,
        actor.actor_id(),
    )?;
    Audit::new(
        Some(actor),
        "integration_token.create",
        "integration_token",
        t.id,
    )
    .period(t.period_id)
    .new_value(serde_json::json!({"name": t.name, "scopes": t.scopes, "expires_at": t.expires_at}))
    .record(c)?;
    Ok((t, secret))
}

/// Every token, secrets never included.
pub fn list(c: &mut PgConnection, actor: &Principal) -> AppResult<Vec<IntegrationToken>> {
    authorise(actor, "list integration tokens")?;
    Ok(IntegrationToken::list(c)?)
}

/// Revokes a token at once: it is refused from the next request on. Audited.
pub fn revoke(c: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<IntegrationToken> {
    authorise(actor, "revoke integration tokens")?;
    let t = IntegrationToken::revoke(c, id)?
        .ok_or_else(|| AppError::not_found("integration token", id))?;
    Audit::new(
        Some(actor),
        "integration_token.revoke",
        "integration_token",
        id,
    )
    .record(c)?;
    Ok(t)
}
