//! The authenticated caller, extracted from `Authorization: Bearer <jwt>` on every protected
//! route, re-checked against the user's current record (deactivation, role or password change
//! revoke tokens at once).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use uuid::Uuid;

use crate::db::models::users::User;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Principal {
    /// Who is calling: an account, an integration token, or the system itself.
    pub caller: Caller,
    pub username: String,
    pub role: Role,
    pub unit_id: Option<Uuid>,
    /// Integration tokens only: the period the token may write to (None = any).
    pub period_scope: Option<Uuid>,
}

/// Who is calling: an account, an integration token (which has no account), or the system
/// (seeds and command-line administration, recorded under the nil id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Account(Uuid),
    Integration { token: Uuid },
    System,
}

impl Principal {
    /// The account acting (recorded as who wrote something), `None` for an integration token
    /// or the system.
    pub fn account_id(&self) -> Option<Uuid> {
        match self.caller {
            Caller::Account(id) => Some(id),
            Caller::Integration { .. } | Caller::System => None,
        }
    }

    /// The id recorded as the actor of what the caller does (audit events, authors): the
    /// account's, the integration token's, or the nil id for the system.
    pub fn actor_id(&self) -> Uuid {
        match self.caller {
            Caller::Account(id) | Caller::Integration { token: id } => id,
            Caller::System => Uuid::nil(),
        }
    }

    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    /// 403 `FORBIDDEN_ROLE` unless the caller has one of `roles`.
    pub fn require_role(&self, roles: &[Role], action: &str) -> AppResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "FORBIDDEN_ROLE",
                format!("Role {} may not {action}.", self.role.as_str()),
            )
            .with_extension(
                "required_roles",
                roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            ))
        }
    }

    pub fn require_admin(&self, action: &str) -> AppResult<()> {
        self.require_role(&[Role::Admin], action)
    }

    /// Provincial roles see every unit's data; unit roles only their own unit's.
    pub fn may_read_unit_data(&self, unit_id: Uuid) -> bool {
        !self.role.is_unit_role() || self.unit_id == Some(unit_id)
    }

    /// 403 `NOT_YOUR_UNIT` when a unit role touches another unit's data.
    pub fn require_unit_data(&self, unit_id: Uuid) -> AppResult<()> {
        if self.may_read_unit_data(unit_id) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "NOT_YOUR_UNIT",
                "This belongs to another unit; unit accounts act on their own unit only.",
            ))
        }
    }
}

fn bearer(req: &HttpRequest) -> AppResult<String> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            AppError::unauthorized(
                "AUTH_REQUIRED",
                "This route needs `Authorization: Bearer <token>`; get a token from POST /api/v1/auth/login.",
            )
        })?
        .to_str()
        .map_err(|_| AppError::unauthorized("TOKEN_INVALID", "The Authorization header is not valid text."))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::unauthorized(
            "TOKEN_INVALID",
            "Expected `Authorization: Bearer <token>`.",
        ));
    }
    Ok(token.trim().to_string())
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let password_route = allowed_before_password_change(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = token?;
            if token.starts_with(INTEGRATION_PREFIX) {
                return Err(AppError::forbidden(
                    "INTEGRATION_TOKEN_NOT_ALLOWED",
                    "Integration tokens may only write automatically measured answers.",
                ));
            }
            let claims = state.jwt.verify(&token)?;
            let user_id = claims.sub;
            let user =
                crate::db::with_conn(&state.pool, move |c| Ok(User::find(c, user_id)?)).await?;
            let revoked = || {
                AppError::unauthorized(
                    "TOKEN_REVOKED",
                    "The token is no longer valid; log in again.",
                )
            };
            let user = user.ok_or_else(revoked)?;
            if !user.active || user.session_version != claims.ver {
                return Err(revoked());
            }
            let role = Role::parse(&user.role).ok_or_else(revoked)?;
            if user.must_change_password && !password_route {
                return Err(password_change_required());
            }
            Ok(Principal {
                caller: Caller::Account(user.id),
                username: user.username,
                role,
                unit_id: user.unit_id,
                period_scope: None,
            })
        })
    }
}

/// The routes an account that must change its password may still call: who am I
/// (`GET /api/v1/me`) and the change itself (`POST /api/v1/me/password`).
fn allowed_before_password_change(req: &HttpRequest) -> bool {
    use actix_web::http::Method;
    let path = req.path().trim_end_matches('/');
    let m = req.method();
    (path == "/api/v1/me" && (m == Method::GET || m == Method::HEAD))
        || (path == "/api/v1/me/password" && m == Method::POST)
}

/// 403 `PASSWORD_CHANGE_REQUIRED`: the account's password was given to it (an import's
/// one-time password, an administrator's reset); it must choose its own first.
pub fn password_change_required() -> AppError {
    AppError::forbidden(
        "PASSWORD_CHANGE_REQUIRED",
        "This account must change its password first: POST /api/v1/me/password with \
         current_password and new_password.",
    )
    .with_extension("change_password_url", "/api/v1/me/password")
}

/// Integration tokens are `dti_` followed by 64 hex digits; only their SHA-256 is stored.
pub const INTEGRATION_PREFIX: &str = "dti_";

/// How an integration token's secret is stored and looked up: its SHA-256, in hex.
pub fn integration_token_hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// The caller of routes that integration tokens may use too (answer writes): a signed-in user,
/// or an integration token with the `automatic:write` scope.
pub struct Writer(pub Principal);

impl FromRequest for Writer {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = bearer(req);
        if !token
            .as_ref()
            .is_ok_and(|t| t.starts_with(INTEGRATION_PREFIX))
        {
            let user = Principal::from_request(req, payload);
            return Box::pin(async move { user.await.map(Writer) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let secret = token?;
            let hash = integration_token_hash(&secret);
            let found = crate::db::with_conn(&state.pool, move |c| {
                Ok(crate::db::models::tokens::IntegrationToken::find_active(
                    c, &hash,
                )?)
            })
            .await?;
            let t = found.ok_or_else(|| {
                AppError::unauthorized(
                    "TOKEN_INVALID",
                    "The integration token is unknown, revoked or expired.",
                )
            })?;
            if !t
                .scopes
                .contains(&crate::domain::TokenScope::AutomaticWrite)
            {
                return Err(AppError::forbidden(
                    "FORBIDDEN_SCOPE",
                    "The token lacks the automatic:write scope.",
                ));
            }
            Ok(Writer(Principal {
                caller: Caller::Integration { token: t.id },
                username: format!("integration:{}", t.name),
                role: Role::Integration,
                unit_id: None,
                period_scope: t.period_id,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(caller: Caller, role: Role) -> Principal {
        Principal {
            caller,
            username: "someone".into(),
            role,
            unit_id: None,
            period_scope: None,
        }
    }

    #[test]
    fn the_caller_says_which_id_is_an_account_and_which_is_recorded() {
        let id = Uuid::new_v4();
        let account = principal(Caller::Account(id), Role::Reviewer);
        assert_eq!((account.account_id(), account.actor_id()), (Some(id), id));
        let token = principal(Caller::Integration { token: id }, Role::Integration);
        assert_eq!((token.account_id(), token.actor_id()), (None, id));
        let system = principal(Caller::System, Role::Admin);
        assert_eq!(
            (system.account_id(), system.actor_id()),
            (None, Uuid::nil())
        );
    }
}
