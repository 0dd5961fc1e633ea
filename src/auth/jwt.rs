//! JSON Web Tokens (HS256): issue on login, verify on every request.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;

/// The claims we sign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: Uuid,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub role: Role,
    /// The user's unit (unit roles only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Uuid>,
    pub username: String,
    /// The account's session version when issued; a change of password, role, unit or
    /// active state moves it and so revokes older tokens.
    pub ver: i32,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    ttl_minutes: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str, ttl_minutes: i64) -> JwtKeys {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.to_string(),
            ttl_minutes,
        }
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_minutes * 60
    }

    pub fn issue(
        &self,
        user: Uuid,
        username: &str,
        role: Role,
        unit: Option<Uuid>,
        ver: i32,
    ) -> Result<(String, Claims), AppError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            iss: self.issuer.clone(),
            iat: now,
            exp: now + self.ttl_seconds(),
            role,
            unit,
            username: username.to_string(),
            ver,
        };
        self.sign(&claims).map(|t| (t, claims))
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::internal(format!("signing a token: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        v.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => {
                    AppError::unauthorized("TOKEN_EXPIRED", "The token has expired; log in again.")
                }
                _ => AppError::unauthorized("TOKEN_INVALID", "The token is invalid."),
            })
    }
}
