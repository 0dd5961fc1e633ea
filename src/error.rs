//! One error type for the whole service, rendered as RFC 9457 `application/problem+json`.
//!
//! - Client mistakes become [`AppError::Client`]: a status, a stable machine-readable `code`
//!   (`VALIDATION_FAILED`, `NOT_YOUR_UNIT`, `SET_IMMUTABLE`…), a human `detail` and, for
//!   validation, per-field `errors[]`. Build them with the constructors below.
//! - A database that cannot be reached becomes 503 `DATABASE_UNAVAILABLE`.
//! - Anything else is [`AppError::Internal`]: the whole `source()` chain is logged with the
//!   request id, and the client learns nothing beyond "internal error".
//! - Problems render in the language the request negotiated ([`crate::i18n`]): with
//!   `Accept-Language: vi` the `title` is Vietnamese, and so is the `detail` of the codes the
//!   catalogue knows (the English one stays in `detail_en`), with `Content-Language: vi`.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::Lang;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type AppResult<T> = Result<T, AppError>;

/// For a lookup of something a request named: a "does not exist" (404 `NOT_FOUND`) becomes
/// `unknown()`, typically a 422 on the field that named it; every other error, a database
/// outage above all, stays what it is (never reported as the client's mistake).
pub trait UnknownAs<T> {
    fn unknown_as(self, unknown: impl FnOnce() -> AppError) -> AppResult<T>;
}

impl<T> UnknownAs<T> for AppResult<T> {
    fn unknown_as(self, unknown: impl FnOnce() -> AppError) -> AppResult<T> {
        match self {
            Err(AppError::Client(c)) if c.code == "NOT_FOUND" => Err(unknown()),
            other => other,
        }
    }
}

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where: a JSON pointer into the request body (`/nodes/3/max_points`), or the name of a
    /// path/query parameter or header.
    #[schema(example = "/username")]
    pub field: String,
    /// Stable machine-readable reason.
    #[schema(example = "LENGTH")]
    pub code: String,
    /// Human-readable reason.
    #[schema(example = "must be 3 to 64 characters")]
    pub message: String,
    /// The English reason, when `message` was translated (`Accept-Language: vi`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_en: Option<String>,
    /// Values a translated message may quote (never sent as such): `min` and `max` of a
    /// `LENGTH` or `RANGE`, the offending `value` of an `UNKNOWN_UNIT`…
    #[serde(skip)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
            message_en: None,
            params: serde_json::Map::new(),
        }
    }

    /// Adds a value the translated message may quote (see [`crate::i18n::field_message_vi`]).
    pub fn with_param(mut self, name: &str, value: impl Serialize) -> Self {
        self.params.insert(
            name.to_string(),
            serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        );
        self
    }
}

/// RFC 9457 problem details, as every error of this API is answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:dti:problem:validation-failed",
    "title": "Unprocessable Content",
    "status": 422,
    "code": "VALIDATION_FAILED",
    "detail": "The request has 1 invalid field.",
    "request_id": "3f1c2a9e-5d7b-4c1e-9a0f-2b8e6d4c7a11",
    "errors": [{"field": "/username", "code": "LENGTH", "message": "must be 3 to 64 characters"}]
}))]
pub struct Problem {
    /// URI naming the problem type (`urn:dti:problem:<code in kebab case>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the HTTP status (in Vietnamese with `Accept-Language: vi`).
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code; clients switch on this.
    pub code: String,
    /// What went wrong in this occurrence (in Vietnamese with `Accept-Language: vi` for the
    /// common codes; the English detail is then in the extension member `detail_en`).
    pub detail: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Correlates with the server log and the `x-request-id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field problems (validation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extra members specific to the problem (e.g. `allowed_from`, `missing`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// A refused request: what the client did wrong or may not do.
#[derive(Debug)]
pub struct ClientError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub extensions: serde_json::Map<String, serde_json::Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Values a translated detail may quote (never sent as such): `resource` and `id` of a
    /// 404, `limit` of a 413…
    pub params: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{} {}: {}", .0.status.as_u16(), .0.code, .0.detail)]
    Client(Box<ClientError>),
    #[error("database unavailable")]
    Unavailable(#[source] BoxError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl AppError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> Self {
        AppError::Client(Box::new(ClientError {
            status,
            code: code.into(),
            detail: detail.into(),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            headers: Vec::new(),
            params: serde_json::Map::new(),
        }))
    }
    pub fn bad_request(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn unauthorized(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"dti-api\""),
        )
    }
    pub fn forbidden(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }
    pub fn not_found(resource: &str, id: impl std::fmt::Display) -> Self {
        let id = id.to_string();
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{resource} {id} does not exist"),
        )
        .with_param("resource", resource)
        .with_param("id", id)
    }
    pub fn conflict(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }
    pub fn unprocessable(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }
    /// 422 `VALIDATION_FAILED` with every field problem.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        let detail = if n == 1 {
            format!(
                "The request has 1 invalid field: {} {}.",
                errors[0].field, errors[0].message
            )
        } else {
            format!("The request has {n} invalid fields.")
        };
        Self::unprocessable("VALIDATION_FAILED", detail).with_errors(errors)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "VERSION_MISMATCH", detail)
    }
    pub fn internal(err: impl Into<BoxError>) -> Self {
        AppError::Internal(err.into())
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        if let AppError::Client(c) = &mut self {
            c.errors = errors;
        }
        self
    }
    pub fn with_extension(mut self, key: &str, value: impl Serialize) -> Self {
        if let AppError::Client(c) = &mut self {
            c.extensions.insert(
                key.to_string(),
                serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            );
        }
        self
    }
    /// A value the translated detail may quote (see [`ClientError::params`]).
    pub fn with_param(mut self, key: &str, value: impl Serialize) -> Self {
        if let AppError::Client(c) = &mut self {
            c.params.insert(
                key.to_string(),
                serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            );
        }
        self
    }
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if let AppError::Client(c) = &mut self {
            c.headers.push((name, value));
        }
        self
    }

    /// The stable code, for tests and logs.
    pub fn code(&self) -> &str {
        match self {
            AppError::Client(c) => &c.code,
            AppError::Unavailable(_) => "DATABASE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The problem in the language the current request negotiated.
    pub fn to_problem(&self) -> Problem {
        self.to_problem_in(crate::i18n::current())
    }

    /// The problem in `lang`.
    pub fn to_problem_in(&self, lang: Lang) -> Problem {
        let status = self.status_code();
        let (detail, mut errors, mut extensions) = match self {
            AppError::Client(c) => (c.detail.clone(), c.errors.clone(), c.extensions.clone()),
            AppError::Unavailable(_) => (
                "The database is unavailable; retry shortly.".to_string(),
                Vec::new(),
                serde_json::Map::new(),
            ),
            AppError::Internal(_) => (
                "An internal error occurred; it has been logged.".to_string(),
                Vec::new(),
                serde_json::Map::new(),
            ),
        };
        let translated = match (lang, self) {
            (Lang::En, _) => None,
            (Lang::Vi, AppError::Client(c)) => crate::i18n::detail_vi(c),
            (Lang::Vi, AppError::Unavailable(_)) => Some(crate::i18n::UNAVAILABLE_VI.to_string()),
            (Lang::Vi, AppError::Internal(_)) => Some(crate::i18n::INTERNAL_VI.to_string()),
        };
        let detail = match translated {
            Some(vi) => {
                extensions
                    .entry("detail_en")
                    .or_insert(serde_json::Value::String(detail));
                vi
            }
            None => detail,
        };
        if lang == Lang::Vi {
            for e in &mut errors {
                if let Some(vi) = crate::i18n::field_message_vi(e) {
                    e.message_en = Some(std::mem::replace(&mut e.message, vi));
                }
            }
        }
        // A problem quotes inputs (names, values, whole serde messages): never more than a
        // short prefix of each, and never more than a page of field errors.
        let detail = clip(detail, MAX_DETAIL_CHARS);
        for value in extensions.values_mut() {
            if let serde_json::Value::String(s) = value {
                *s = clip(std::mem::take(s), MAX_DETAIL_CHARS);
            }
        }
        if errors.len() > MAX_FIELD_ERRORS {
            extensions.insert(
                "errors_omitted".into(),
                serde_json::Value::from(errors.len() - MAX_FIELD_ERRORS),
            );
            errors.truncate(MAX_FIELD_ERRORS);
        }
        for e in &mut errors {
            e.field = clip(std::mem::take(&mut e.field), MAX_ECHO_CHARS);
            e.message = clip(std::mem::take(&mut e.message), MAX_ECHO_CHARS);
            if let Some(en) = e.message_en.take() {
                e.message_en = Some(clip(en, MAX_ECHO_CHARS));
            }
        }
        let code = self.code().to_string();
        Problem {
            type_: format!(
                "urn:dti:problem:{}",
                code.to_ascii_lowercase().replace('_', "-")
            ),
            title: crate::i18n::title(status, lang),
            status: status.as_u16(),
            code,
            detail,
            instance: None,
            request_id: crate::telemetry::current_request_id(),
            errors,
            extensions,
        }
    }
}

/// Longest `detail` (and string extension) of a problem, in characters.
const MAX_DETAIL_CHARS: usize = 500;
/// Longest `field` and `message` of a field error, in characters.
const MAX_ECHO_CHARS: usize = 300;
/// Most field errors listed in one problem (`errors_omitted` counts the rest).
const MAX_FIELD_ERRORS: usize = 100;

/// `text` cut to `max` characters, marked with `…` when cut.
fn clip(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text,
        Some((at, _)) => {
            let mut cut = text;
            cut.truncate(at);
            cut.push('…');
            cut
        }
    }
}

/// Formats an error with its whole `source()` chain, for logs.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(cause) = cur {
        out.push_str(" ← caused by: ");
        out.push_str(&cause.to_string());
        cur = cause.source();
    }
    out
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Client(c) => c.status,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let lang = crate::i18n::current();
        let problem = self.to_problem_in(lang);
        match self {
            AppError::Internal(_) => tracing::error!(
                "request {} failed: {}",
                problem.request_id.as_deref().unwrap_or("-"),
                error_chain(self)
            ),
            AppError::Unavailable(_) => tracing::warn!(
                "request {}: {}",
                problem.request_id.as_deref().unwrap_or("-"),
                error_chain(self)
            ),
            AppError::Client(_) => {}
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.content_type("application/problem+json")
            .insert_header((header::VARY, "Accept-Language"));
        if lang != Lang::En {
            resp.insert_header((header::CONTENT_LANGUAGE, lang.tag()));
        }
        match self {
            AppError::Client(c) => {
                for (name, value) in &c.headers {
                    resp.insert_header((name.clone(), value.clone()));
                }
            }
            AppError::Unavailable(_) => {
                resp.insert_header((header::RETRY_AFTER, "5"));
            }
            AppError::Internal(_) => {}
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_else(|_| "{}".into()))
    }
}

/// PostgreSQL refusing a NUL character: in text ("invalid byte sequence for encoding \"UTF8\":
/// 0x00") or in jsonb ("unsupported Unicode escape sequence"). Inputs are screened for NULs
/// before they reach the database (`crate::input`); this only keeps one that slips through a
/// 400 rather than a 500.
fn is_refused_text(message: &str) -> bool {
    message.contains("invalid byte sequence for encoding")
        || message.contains("unsupported Unicode escape sequence")
        || message.contains("0x00")
}

fn is_connection_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("terminating connection")
        || m.contains("server closed the connection")
        || m.contains("connection to server")
        || m.contains("no connection to the server")
        || m.contains("could not connect")
        || m.contains("the database system is")
}

/// PostgreSQL's primary message for SQLSTATE 40P01 (`deadlock_detected`), which diesel does
/// not tell apart from other errors. Servers whose `lc_messages` is not English word it
/// differently; the lock order of `services::scoring` keeps deadlocks from happening at all.
fn is_deadlock(message: &str) -> bool {
    message.starts_with("deadlock detected")
}

/// A transaction rolled back because it lost a race for locks (a deadlock victim, SQLSTATE
/// 40P01) or could not be serialised (40001): nothing of it was written, and sending the same
/// request again is safe. 503 with `Retry-After`, never 500.
fn lost_lock_race() -> AppError {
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "CONCURRENT_UPDATE",
        "A concurrent change conflicted with this one and nothing was written; retry.",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

/// Every connection of the pool stayed in use for the whole wait (`DB_TIMEOUT_MS`): the service
/// is saturated, the database itself answers. Nothing was done; 503 with `Retry-After`, told
/// apart from an outage (`DATABASE_UNAVAILABLE`) by [`crate::db::checkout_error`].
pub fn service_busy() -> AppError {
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_BUSY",
        "Every database connection is busy; nothing was done. Retry shortly.",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &err {
            E::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The resource does not exist.",
            ),
            E::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or("").to_string();
                let with = |e: AppError| {
                    if constraint.is_empty() {
                        e
                    } else {
                        e.with_extension("constraint", &constraint)
                    }
                };
                match kind {
                    K::UniqueViolation => with(Self::conflict(
                        "ALREADY_EXISTS",
                        "A resource with the same unique key already exists.",
                    )),
                    K::ForeignKeyViolation if info.message().contains("still referenced") => with(
                        Self::conflict("IN_USE", "The resource is still referenced by other data."),
                    ),
                    K::ForeignKeyViolation => with(Self::unprocessable(
                        "REFERENCE_NOT_FOUND",
                        "A referenced resource does not exist.",
                    )),
                    K::CheckViolation | K::NotNullViolation => with(Self::unprocessable(
                        "CONSTRAINT_VIOLATION",
                        "The data breaks a rule of the data model.",
                    )),
                    K::RestrictViolation => Self::conflict("IMMUTABLE", info.message().to_string()),
                    K::SerializationFailure => lost_lock_race(),
                    _ if is_deadlock(info.message()) => lost_lock_race(),
                    K::ClosedConnection => AppError::Unavailable(Box::new(err)),
                    _ if is_refused_text(info.message()) => {
                        tracing::warn!("the database refused a text: {}", info.message());
                        AppError::bad_request(
                            crate::input::NUL_CHARACTER,
                            "The NUL character (U+0000) is not accepted in any text.",
                        )
                    }
                    _ if is_connection_failure(info.message()) => {
                        AppError::Unavailable(Box::new(err))
                    }
                    _ => AppError::Internal(Box::new(err)),
                }
            }
            _ => AppError::Internal(Box::new(err)),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(err: r2d2::Error) -> Self {
        AppError::Unavailable(Box::new(err))
    }
}

impl From<diesel::ConnectionError> for AppError {
    fn from(err: diesel::ConnectionError) -> Self {
        AppError::Unavailable(Box::new(err))
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errs: validator::ValidationErrors) -> Self {
        AppError::validation(validation_field_errors(&errs, ""))
    }
}

/// Flattens `validator` errors into JSON-pointer field errors.
pub fn validation_field_errors(
    errs: &validator::ValidationErrors,
    prefix: &str,
) -> Vec<FieldError> {
    use validator::ValidationErrorsKind as Kind;
    let mut out = Vec::new();
    for (field, kind) in errs.errors() {
        let path = format!("{prefix}/{field}");
        match kind {
            Kind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| describe_validation(e));
                    let mut fe =
                        FieldError::new(path.clone(), e.code.to_ascii_uppercase(), message);
                    for (name, value) in &e.params {
                        // The offending value itself is never quoted (it may be a secret); only
                        // whether it was a list, which `LENGTH` counts in items, not characters.
                        if name == "value" {
                            if value.is_array() {
                                fe = fe.with_param("list", true);
                            }
                        } else {
                            fe = fe.with_param(name, value);
                        }
                    }
                    out.push(fe);
                }
            }
            Kind::Struct(inner) => out.extend(validation_field_errors(inner, &path)),
            Kind::List(map) => {
                for (i, inner) in map {
                    out.extend(validation_field_errors(inner, &format!("{path}/{i}")));
                }
            }
        }
    }
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn describe_validation(e: &validator::ValidationError) -> String {
    let p = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (p("equal"), p("min"), p("max")) {
            (Some(n), _, _) => format!("length must be exactly {n}"),
            (None, Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (None, Some(min), None) => format!("length must be at least {min}"),
            (None, None, Some(max)) => format!("length must be at most {max}"),
            _ => "invalid length".into(),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => match (p("exclusive_min"), p("exclusive_max")) {
                (Some(min), Some(max)) => format!("must be greater than {min} and less than {max}"),
                (Some(min), None) => format!("must be greater than {min}"),
                (None, Some(max)) => format!("must be less than {max}"),
                _ => "out of range".into(),
            },
        },
        "email" => "must be an e-mail address".into(),
        "url" => "must be a URL".into(),
        "required" => "is required".into(),
        "regex" => "does not have the expected format".into(),
        other => format!("is invalid ({other})"),
    }
}
