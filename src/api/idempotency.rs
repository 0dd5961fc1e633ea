//! The HTTP side of `Idempotency-Key` (the rules are in `services::idempotency`): the header
//! extractor, its OpenAPI parameter, and the response that is the same whether it was produced
//! now or replayed.

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, dev::Payload};
use serde_json::Value;
use utoipa::IntoParams;

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{IdempotentRequest, Reply, request_hash};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Sent (`true`) on a response replayed from an earlier request with the same key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
pub const MAX_KEY_CHARS: usize = 200;

/// The optional `Idempotency-Key` header (OpenAPI parameter of the operations that take it).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Makes the call safe to retry: send a fresh UUID for each intended operation (and the
    /// same one only when retrying that operation), 1–200 printable ASCII characters, bare or
    /// as a quoted string. Leave it empty to call without one. The first
    /// success is stored with the key for 24 hours; a repeat with the same key and the same
    /// request (method, path, body) gets the stored status and body again, with
    /// `Idempotent-Replayed: true`, and changes nothing. The same key with a different request
    /// is 422 `IDEMPOTENCY_KEY_REUSED`; while the first request is still running a duplicate
    /// waits for it (409 `IDEMPOTENCY_KEY_IN_USE` after 5 s). Refused requests store nothing
    /// and may be retried with the same key. Keys are per account (per integration token). A
    /// replay is authorised like a fresh request (403 when the caller has lost the right).
    // No example: Swagger UI would prefill it, and every account's second keyed call (another
    // body, the same key) would be refused as IDEMPOTENCY_KEY_REUSED for 24 hours.
    #[param(rename = "Idempotency-Key", min_length = 1)]
    pub key: Option<String>,
}

/// The `Idempotency-Key` sent with the request, if any.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    pub fn parse(req: &HttpRequest) -> AppResult<IdempotencyKey> {
        let mut values = req.headers().get_all(IDEMPOTENCY_KEY);
        let Some(value) = values.next() else {
            return Ok(IdempotencyKey(None));
        };
        if values.next().is_some() {
            return Err(invalid("Send one Idempotency-Key header, not several."));
        }
        let text = value
            .to_str()
            .map_err(|_| invalid("The Idempotency-Key must be printable ASCII."))?
            .trim();
        // The IETF draft sends the key as a structured-field string: `"…"`.
        let key = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(invalid(&format!(
                "The Idempotency-Key must have 1 to {MAX_KEY_CHARS} characters; it has {chars}."
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(invalid("The Idempotency-Key must be printable ASCII."));
        }
        Ok(IdempotencyKey(Some(key.to_string())))
    }

    /// The keyed request as the service sees it: whose key, which key, which request (`body`
    /// is what the handler received: the raw document, or the parsed JSON body re-serialised).
    pub fn request(
        self,
        actor: &Principal,
        req: &HttpRequest,
        body: &[u8],
    ) -> Option<IdempotentRequest> {
        let key = self.0?;
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_else(|| req.path());
        let hash = request_hash(req.method().as_str(), path, body);
        Some(IdempotentRequest::new(actor, key, hash))
    }
}

fn invalid(detail: &str) -> AppError {
    AppError::bad_request("IDEMPOTENCY_KEY_INVALID", detail)
        .with_extension("header", "Idempotency-Key")
}

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(IdempotencyKey::parse(req))
    }
}

/// The JSON body of a keyed call as it is stored (and so as it is replayed).
pub fn to_body(value: impl serde::Serialize) -> AppResult<Value> {
    serde_json::to_value(value).map_err(AppError::internal)
}

/// The response for `reply`, byte for byte the same whether it was produced now or replayed;
/// `headers` adds what the body determines (`ETag`, `Location`).
pub fn respond(
    reply: Reply,
    headers: impl FnOnce(&Value, &mut HttpResponseBuilder),
) -> AppResult<HttpResponse> {
    let status = StatusCode::from_u16(reply.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    resp.content_type("application/json");
    if reply.replayed {
        resp.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    headers(&reply.body, &mut resp);
    let bytes = serde_json::to_vec(&reply.body).map_err(AppError::internal)?;
    Ok(resp.body(bytes))
}
