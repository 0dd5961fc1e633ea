//! How request input enters the service, for every route at once:
//!
//! - [`screen`] (middleware) refuses a NUL character in the path or the query before routing
//!   (400 `NUL_CHARACTER` naming the parameter), and puts a read deadline on every body.
//! - A body must keep arriving: [`Config::body_timeout_ms`] after the headers, plus one second
//!   per [`Config::body_min_rate`] bytes received, or the read fails with 408 `BODY_TIMEOUT`
//!   and the request is not processed (the connection is closed).
//! - [`Json`] is a JSON body that is read only when the handler asks for it
//!   ([`Json::read`]): handlers decide who may call (role, then the object's unit) first, so a
//!   caller who may not call never gets a body read, parsed or judged. Reading checks the
//!   content type and the size, refuses anything but a JSON object, and refuses NUL
//!   characters by JSON pointer before the body is deserialised.
//!
//! [`Config::body_timeout_ms`]: crate::config::Config::body_timeout_ms
//! [`Config::body_min_rate`]: crate::config::Config::body_min_rate

use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Decompress, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use tokio::time::{Instant, Sleep};

use super::fallback::{RouteTable, deserialize_error};
use crate::domain::json_pointer;
use crate::error::{AppError, AppResult};
use crate::input::{nul_field, nul_refusal, refuse_nul_in};
use crate::state::AppState;

/// Middleware: NUL characters in the path or query are refused, and every body gets its read
/// deadline.
pub async fn screen(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let routes = req.app_data::<web::Data<RouteTable>>().cloned();
    if let Err(e) = refuse_nul_in_target(&req, routes.as_ref().map(|r| r.get_ref())) {
        return Ok(req.error_response(e));
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    if let Some(state) = state
        && has_body(&req)
    {
        let payload = req.take_payload();
        req.set_payload(Payload::Stream {
            payload: Box::pin(TimedPayload::new(
                payload,
                Duration::from_millis(state.config.body_timeout_ms),
                state.config.body_min_rate,
            )),
        });
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// 400 `NUL_CHARACTER` naming each path parameter (by its name in the route template) and
/// each query parameter that holds a NUL once decoded.
fn refuse_nul_in_target(req: &ServiceRequest, routes: Option<&RouteTable>) -> AppResult<()> {
    let mut errors = Vec::new();
    let path = req.path();
    if path.contains("%00") {
        for (i, segment) in path.trim_matches('/').split('/').enumerate() {
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            if decoded.contains('\0') {
                let name = routes
                    .and_then(|r| r.param_at(path, i))
                    .unwrap_or_else(|| "path".into());
                errors.extend(nul_field(&name, &decoded).map(|mut e| {
                    e.field = name.clone();
                    e
                }));
            }
        }
    }
    let query = req.query_string();
    if query.contains("%00") {
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if let Some(e) = nul_field(&name, &value).or_else(|| nul_field(&name, &name)) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(nul_refusal(errors))
    }
}

/// A request body with a read deadline that moves later as bytes arrive.
struct TimedPayload {
    inner: Payload,
    started: Instant,
    received: u64,
    timeout: Duration,
    min_rate: u64,
    sleep: Pin<Box<Sleep>>,
    expired: bool,
}

impl TimedPayload {
    fn new(inner: Payload, timeout: Duration, min_rate: u64) -> Self {
        let started = Instant::now();
        TimedPayload {
            inner,
            started,
            received: 0,
            timeout,
            min_rate: min_rate.max(1),
            sleep: Box::pin(tokio::time::sleep_until(started + timeout)),
            expired: false,
        }
    }

    fn deadline(&self) -> Instant {
        self.started
            + self.timeout
            + Duration::from_secs_f64(self.received as f64 / self.min_rate as f64)
    }
}

/// The error a [`TimedPayload`] yields when its deadline passes.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl Stream for TimedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                let deadline = this.deadline();
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.expired = true;
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        BodyTimedOut,
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// The problem of a body that could not be read: 408 when it stopped arriving, 413 when it
/// outgrew its limit, else 400 `MALFORMED_BODY`.
pub fn payload_error(err: &PayloadError) -> AppError {
    match err {
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "BODY_TIMEOUT",
            "The request body did not arrive in time; it was not processed.",
        )
        .with_header(header::CONNECTION, HeaderValue::from_static("close")),
        PayloadError::Overflow => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "The body exceeds its size limit.",
        ),
        other => AppError::bad_request(
            "MALFORMED_BODY",
            format!("The body could not be read: {other}."),
        ),
    }
}

/// 413 `PAYLOAD_TOO_LARGE` for a body over `limit` bytes.
pub fn too_large(limit: usize) -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("The body exceeds the limit of {limit} bytes."),
    )
    .with_param("limit", limit)
}

/// 413 at once when the announced `Content-Length` is over `limit`.
pub fn check_announced_length(req: &HttpRequest, limit: usize) -> AppResult<()> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match announced {
        Some(n) if n > limit as u64 => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// Reads the (decompressed) body up to `limit` bytes.
pub async fn read_limited(req: &HttpRequest, payload: Payload, limit: usize) -> AppResult<Vec<u8>> {
    check_announced_length(req, limit)?;
    let mut stream = Decompress::from_headers(payload, req.headers());
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| payload_error(&e))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a JSON object body into `T`: 400 `BODY_NOT_OBJECT` for any other JSON value, 400
/// `NUL_CHARACTER` when a string holds a NUL, else what the deserialiser says.
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> AppResult<T> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some() && first != Some(&b'{') {
        if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
            return Err(AppError::bad_request(
                "BODY_NOT_OBJECT",
                "The body must be a JSON object (`{…}`).",
            ));
        }
    } else if memchr_escape_nul(body) {
        // Only an escaped `\u0000` can put a NUL in JSON text; find where, if it is one.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
            refuse_nul_in(&value)?;
        }
    }
    // Deserialised through `serde_path_to_error`, so that a refusal names the member that
    // failed (`/answers/2/value`), however deep.
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| deserialize_error(e.inner(), &json_pointer(e.path())))?;
    de.end().map_err(|e| deserialize_error(&e, ""))?;
    Ok(value)
}

fn memchr_escape_nul(body: &[u8]) -> bool {
    body.windows(6).any(|w| w == b"\\u0000")
}

/// A JSON body, read when the handler calls [`Json::read`] (after deciding who may call).
/// Its name makes the OpenAPI document show `T` as the request body.
pub struct Json<T> {
    req: HttpRequest,
    payload: Payload,
    _body: PhantomData<T>,
}

impl<T> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Ok(Json {
            req: req.clone(),
            payload: payload.take(),
            _body: PhantomData,
        }))
    }
}

impl<T: DeserializeOwned> Json<T> {
    /// Reads and parses the body: 415 unless the content type is JSON, 413 over
    /// `MAX_JSON_BYTES`, 408 when it stops arriving, 400 for anything but an object or for a
    /// NUL character, 422 when it does not fit `T`.
    pub async fn read(self) -> AppResult<web::Json<T>> {
        let Json { req, payload, .. } = self;
        if !is_json(&req) {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Send the body as `Content-Type: application/json`.",
            )
            .with_param("accepted", "application/json"));
        }
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.max_json_bytes)
            .unwrap_or(256 * 1024);
        let body = read_limited(&req, payload, limit).await?;
        parse_object(&body).map(web::Json)
    }
}

/// `application/json`, or any `+json` type (`application/merge-patch+json`…).
fn is_json(req: &HttpRequest) -> bool {
    let Some(ctype) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // typed to see how a body is refused, never read
    struct Body {
        kind: crate::domain::UnitKind,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        n: u32,
    }

    /// (code, field, reason) of the refusal of `body`.
    fn refusal(body: &str) -> (String, String, Option<String>) {
        let Err(AppError::Client(c)) = parse_object::<Body>(body.as_bytes()) else {
            panic!("{body} must be refused");
        };
        let field = c
            .errors
            .first()
            .map(|e| e.field.clone())
            .unwrap_or_default();
        let reason = c
            .errors
            .first()
            .and_then(|e| e.params.get("reason")?.as_str());
        (c.code.to_string(), field, reason.map(Into::into))
    }

    #[test]
    fn a_refused_body_names_the_member_that_failed_however_deep() {
        let invalid = |field: &str, reason: &str| {
            (
                "INVALID_BODY".to_string(),
                field.to_string(),
                Some(reason.to_string()),
            )
        };
        let cases = [
            (
                r#"{"kind": "commune", "items": [{"n": 1}, {"n": "2"}]}"#,
                invalid("/items/1/n", "invalid_type"),
            ),
            (
                r#"{"kind": "commune", "items": [{"n": 1}, {}]}"#,
                invalid("/items/1/n", "missing_field"),
            ),
            (
                r#"{"kind": "commune", "items": [{"n": 1, "a/b": 2}]}"#,
                invalid("/items/0/a~1b", "unknown_field"),
            ),
            (
                r#"{"kind": "planet", "items": []}"#,
                invalid("/kind", "unknown_variant"),
            ),
            (
                r#"{"kind": "commune", "items": [], "colour": 1}"#,
                invalid("/colour", "unknown_field"),
            ),
            (r#"{"items": []}"#, invalid("/kind", "missing_field")),
        ];
        for (body, expected) in cases {
            assert_eq!(refusal(body), expected, "{body}");
        }
        // not JSON, or more than one value: malformed, at no member
        for body in [r#"{"kind": "#, r#"{"kind": "commune", "items": []} {}"#] {
            assert_eq!(refusal(body).0, "MALFORMED_JSON", "{body}");
        }
    }
}
