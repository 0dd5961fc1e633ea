//! Problem+json for what never reaches a handler: unknown routes (404), wrong methods (405 with
//! `Allow`), malformed JSON, wrong content types, oversized bodies, bad path and query values.
//! And `HEAD`, which every `GET` route answers ([`head_as_get`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

/// Marks a `HEAD` request that [`head_as_get`] routes as a `GET`.
#[derive(Debug, Clone, Copy)]
struct Head;

/// Middleware: a `HEAD` request is routed as the `GET` of the same path, so that every `GET`
/// route answers it with the same status and headers. The HTTP layer sends no body for it (it
/// knows the request was `HEAD` from the wire) and keeps the `Content-Length` of the `GET`.
/// A path without `GET` still answers 405 with its `Allow`.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(Head);
    }
    next.call(req).await
}

/// The method the client sent (`HEAD` where [`head_as_get`] routed it as `GET`).
fn sent_method(req: &HttpRequest) -> Method {
    if req.extensions().get::<Head>().is_some() {
        Method::HEAD
    } else {
        req.method().clone()
    }
}

use crate::error::{AppError, FieldError};

/// Every (path template, methods) the API serves, taken from the OpenAPI document.
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> RouteTable {
        let value = serde_json::to_value(doc).unwrap_or_default();
        let mut routes = Vec::new();
        if let Some(paths) = value.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                let segments = path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect();
                let methods = item
                    .as_object()
                    .map(|m| {
                        m.keys()
                            .filter(|k| {
                                matches!(k.as_str(), "get" | "post" | "put" | "patch" | "delete")
                            })
                            .map(|k| k.to_ascii_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
                routes.push((segments, methods));
            }
        }
        RouteTable { routes }
    }

    /// The templates that match `path`: a parameter segment matches any non-empty segment.
    fn matching<'a>(
        &'a self,
        path: &'a str,
    ) -> impl Iterator<Item = &'a (Vec<String>, Vec<String>)> + 'a {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes.iter().filter(move |(segs, _)| {
            segs.len() == parts.len()
                && segs
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| (s.starts_with('{') && !p.is_empty()) || s == p)
        })
    }

    /// Methods allowed on `path`, if any template matches it: those of the template that
    /// spells it literally when there is one (`/indicator-sets/validate`, not also those of
    /// `/indicator-sets/{id}`), else those of every template that matches.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let mut allowed: Vec<String> = match self.literal(path) {
            Some(own) => own,
            None => self
                .matching(path)
                .flat_map(|(_, m)| m.iter().cloned())
                .collect(),
        };
        if allowed.is_empty() {
            return None;
        }
        allowed.sort();
        allowed.dedup();
        Some(allowed)
    }

    /// Methods of the template that spells `path` literally (no parameter), if there is one:
    /// `/indicator-sets/validate` beside `/indicator-sets/{id}`.
    pub fn literal(&self, path: &str) -> Option<Vec<String>> {
        self.matching(path)
            .find(|(segs, _)| !segs.iter().any(|s| s.starts_with('{')))
            .map(|(_, m)| {
                let mut m = m.clone();
                m.sort();
                m
            })
    }

    /// The name of the parameter at segment `index` of `path` (`id` for `{id}`), if a template
    /// matches the path and has a parameter there.
    pub fn param_at(&self, path: &str, index: usize) -> Option<String> {
        self.matching(path).find_map(|(segs, _)| {
            let seg = segs.get(index)?;
            seg.strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .map(str::to_string)
        })
    }
}

/// The default service: 405 when the path exists with other methods, else 404.
pub async fn not_found(req: HttpRequest, table: web::Data<RouteTable>) -> HttpResponse {
    let method = sent_method(&req);
    if let Some(allowed) = table.allowed(req.path()).map(with_head) {
        if method == Method::OPTIONS {
            return HttpResponse::NoContent()
                .insert_header((header::ALLOW, allowed.join(", ")))
                .finish();
        }
        return method_not_allowed(&method, req.path(), &allowed).error_response();
    }
    AppError::new(
        StatusCode::NOT_FOUND,
        "ROUTE_NOT_FOUND",
        format!(
            "No route {} {}; see /swagger-ui/ for the API.",
            method,
            req.path()
        ),
    )
    .with_param("method", method.as_str())
    .with_param("path", req.path())
    .error_response()
}

/// `allowed` with `HEAD` where it has `GET` (every `GET` route answers `HEAD`: [`head_as_get`]).
fn with_head(mut allowed: Vec<String>) -> Vec<String> {
    if allowed.iter().any(|m| m == "GET") {
        allowed.push("HEAD".into());
    }
    allowed
}

/// 405 `METHOD_NOT_ALLOWED` for `method` on `path`, with the `Allow` header.
fn method_not_allowed(method: &Method, path: &str, allowed: &[String]) -> AppError {
    let allow = allowed.join(", ");
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {path}; allowed: {allow}."),
    )
    .with_header(
        header::ALLOW,
        HeaderValue::from_str(&allow).unwrap_or(HeaderValue::from_static("GET")),
    )
    .with_param("method", method.as_str())
    .with_param("path", path)
    .with_param("allow", &allow)
}

/// The field a serde message names (`missing field `x``, `unknown field `x``).
fn named_field(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    (msg.starts_with("missing field") || msg.starts_with("unknown field"))
        .then(|| format!("/{}", &msg[start..end]))
}

/// The field error of a body or query the deserializer refused, with what a translated message
/// quotes: the kind of refusal (`reason`) and the member it names (`name`).
fn invalid(field: String, msg: String) -> FieldError {
    let reason = [
        ("unknown field", "unknown_field"),
        ("missing field", "missing_field"),
        ("unknown variant", "unknown_variant"),
        ("invalid type", "invalid_type"),
        ("invalid value", "invalid_value"),
        ("invalid length", "invalid_length"),
    ]
    .into_iter()
    .find(|(prefix, _)| msg.starts_with(prefix))
    .map(|(_, reason)| reason);
    let name = named_field(&msg).map(|f| f.trim_start_matches('/').to_string());
    let mut e = FieldError::new(field, "INVALID", msg);
    if let Some(reason) = reason {
        e = e.with_param("reason", reason);
    }
    if let Some(name) = name {
        e = e.with_param("name", name);
    }
    e
}

pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The body has {length} bytes; the limit is {limit}."),
        )
        .with_param("limit", limit),
        JsonPayloadError::Overflow { limit } => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The body exceeds the limit of {limit} bytes."),
        )
        .with_param("limit", limit),
        JsonPayloadError::ContentType => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the body as `Content-Type: application/json`.",
        )
        .with_param("accepted", "application/json"),
        // bodies are read through `input::Json`, which knows the path to the failing member;
        // what reaches the extractor's handler is reported at the body
        JsonPayloadError::Deserialize(de) => deserialize_error(de, ""),
        JsonPayloadError::Payload(p) => super::input::payload_error(p),
        other => AppError::bad_request(
            "MALFORMED_BODY",
            format!("The body could not be read: {other}."),
        ),
    };
    e.into()
}

/// The problem of a JSON body the deserializer refused: 422 `INVALID_BODY` when it does not fit
/// the schema, 400 `MALFORMED_JSON` when it is not JSON. `at` is the JSON pointer of the value
/// that failed (`""` for the body); a missing member is pointed at below the object that
/// lacks it, and the body itself is the field `/`.
pub fn deserialize_error(de: &serde_json::Error, at: &str) -> AppError {
    if de.is_data() {
        let msg = de.to_string();
        let field = match msg.strip_prefix("missing field `") {
            Some(rest) => format!(
                "{at}/{}",
                crate::domain::escape_token(rest.split('`').next().unwrap_or(rest))
            ),
            None if at.is_empty() => "/".into(),
            None => at.to_string(),
        };
        AppError::unprocessable(
            "INVALID_BODY",
            format!("The body does not fit the schema: {msg}."),
        )
        .with_errors(vec![invalid(field, msg)])
    } else {
        AppError::bad_request(
            "MALFORMED_JSON",
            format!("The body is not valid JSON: {de}."),
        )
    }
}

/// A closed set that a query parameter names (a phase, a unit kind, a sort key…). The query
/// struct's field is the set's enum itself, read by [`choice`]; a value outside the set is
/// refused with the parameter's own field error (422 `VALIDATION_FAILED`, as the set's rule
/// words it), not the generic 400 `INVALID_QUERY` of a query the deserializer refused.
pub trait QueryChoice: Sized {
    /// The value `s` of query parameter `field`, or that parameter's field error.
    fn from_query(field: &str, s: &str) -> Result<Self, FieldError>;
}

/// Deserializes query parameter `field` as a [`QueryChoice`]; for a field
/// `#[serde(default, deserialize_with = "…")]` through a function that names the parameter.
pub fn choice<'de, D, T>(d: D, field: &str) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: QueryChoice,
{
    let s = <String as serde::Deserialize>::deserialize(d)?;
    T::from_query(field, &s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(Refusal(e)))
}

/// A [`QueryChoice`] refusal on its way through the deserializer, whose errors carry only a
/// message: [`query_error`] reads the field error back from it ([`Refusal::read`]).
struct Refusal(FieldError);

impl Refusal {
    /// Marks a refusal's message (a NUL never reaches the deserializer: see `input::screen`).
    const MARK: &str = "\0refusal:";

    fn read(msg: &str) -> Option<FieldError> {
        let at = msg.find(Self::MARK)? + Self::MARK.len();
        let v: serde_json::Value = serde_json::from_str(&msg[at..]).ok()?;
        let text = |k: &str| v[k].as_str().map(str::to_string);
        let mut e = FieldError::new(text("field")?, text("code")?, text("message")?);
        e.params = v["params"].as_object()?.clone();
        Some(e)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.0;
        let v = serde_json::json!({
            "field": e.field, "code": e.code, "message": e.message, "params": e.params,
        });
        write!(f, "{}{v}", Self::MARK)
    }
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let msg = err.to_string();
    if let Some(e) = Refusal::read(&msg) {
        return AppError::validation(vec![e]).into();
    }
    let field = named_field(&msg)
        .map(|f| f.trim_start_matches('/').to_string())
        .unwrap_or_else(|| "query".into());
    AppError::bad_request(
        "INVALID_QUERY",
        format!("A query parameter is invalid: {msg}."),
    )
    .with_errors(vec![invalid(field, msg)])
    .into()
}

pub fn path_error(err: PathError, req: &HttpRequest) -> actix_web::Error {
    // A path spelled by a route of its own (`/indicator-sets/validate`) reached a parameter's
    // route (`/indicator-sets/{id}`) only because its own has not this method: 405, not 400.
    let own = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|t| t.literal(req.path()));
    if let Some(allowed) = own.map(with_head) {
        return method_not_allowed(&sent_method(req), req.path(), &allowed).into();
    }
    let msg = err.to_string();
    AppError::bad_request(
        "INVALID_PATH_PARAMETER",
        format!("A path parameter is invalid: {msg}."),
    )
    .with_errors(vec![FieldError::new("path", "INVALID", msg)])
    .into()
}
