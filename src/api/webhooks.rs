//! `/webhooks`: receivers of event notifications (Standard Webhooks), their delivery log and
//! manual redelivery. Administrators only.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::input::Json;
use super::{ErrorResponses, Page, PageParams, etag, if_match};
use crate::auth::Principal;
use crate::config::WebhookConfig;
use crate::db::models::webhooks::{WebhookAttempt, WebhookEndpoint};
use crate::domain::events::{DeliveryStatus, EventType, WebhookPayload};
use crate::error::{AppError, AppResult, FieldError};
use crate::services::webhooks::{self as svc, CreateWebhook, DeliveryView, UpdateWebhook};
use crate::state::AppState;
use crate::webhooks::signature::message_id;
use crate::webhooks::target::{self, ReceiverUrl, TargetError, TargetPolicy};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_webhook_secret)
        .service(list_webhook_deliveries)
        .service(get_webhook_delivery)
        .service(redeliver_webhook_delivery);
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://portal.laocai.gov.vn/hooks/dti", "description": "Cổng thông tin tỉnh", "event_types": ["assessment.submitted", "assessment.returned"]}))]
pub struct CreateWebhookRequest {
    /// Where to POST events: `https://` (plain `http://` only where the service allows it),
    /// a host that resolves to public addresses (unless the service allows private ones), no
    /// credentials in the URL.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 2000)]
    pub url: String,
    #[serde(default)]
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: String,
    /// The event types to deliver; empty or absent = every type.
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub event_types: Vec<EventType>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct UpdateWebhookRequest {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Replaces the subscribed types; `[]` = every type.
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub event_types: Option<Vec<EventType>>,
    /// `true` enables a disabled receiver (its failure record starts over and its pending
    /// deliveries resume); `false` disables it (nothing is sent, new events are not queued for
    /// it).
    pub enabled: Option<bool>,
}

/// A receiver, without its secret (shown once only).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    pub id: Uuid,
    #[schema(example = "https://portal.laocai.gov.vn/hooks/dti")]
    pub url: String,
    pub description: String,
    /// Subscribed event types; empty = every type.
    pub event_types: Vec<EventType>,
    /// Disabled receivers get nothing until enabled again.
    pub enabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled (by an administrator, or after persistent failure).
    pub disabled_reason: Option<String>,
    /// Deliveries in a row whose every attempt failed.
    pub consecutive_failures: i32,
    /// Since when every attempt has failed (null after a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation still signs (a second signature).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Increases on every change; the `ETag` is `"v<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A receiver with its signing secret: the answer of creation and rotation, the only time the
/// secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecretResponse {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// `whsec_` and the base64 of 32 random bytes: the key of the HMAC-SHA256 signatures.
    /// Keep it: it is never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

fn webhook_response(w: &WebhookEndpoint) -> WebhookResponse {
    WebhookResponse {
        id: w.id,
        url: w.url.clone(),
        description: w.description.clone(),
        event_types: w
            .event_types
            .iter()
            .filter_map(|t| EventType::parse(t))
            .collect(),
        enabled: w.enabled,
        disabled_at: w.disabled_at,
        disabled_reason: w.disabled_reason.clone(),
        consecutive_failures: w.consecutive_failures,
        failing_since: w.failing_since,
        previous_secret_expires_at: w.previous_secret_expires_at,
        version: w.version,
        created_at: w.created_at,
        updated_at: w.updated_at,
    }
}

fn with_secret(w: WebhookEndpoint) -> WebhookWithSecretResponse {
    WebhookWithSecretResponse {
        webhook: webhook_response(&w),
        secret: w.secret,
    }
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The receiver's HTTP status, when it answered.
    pub response_status: Option<i32>,
    /// The first 1 KiB of the receiver's answer.
    pub response_body: Option<String>,
    /// Why there was no answer: timeout, refused address, connection error…
    pub error: Option<String>,
    /// A 2xx answer.
    pub succeeded: bool,
}

/// One event sent to one receiver, with every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    /// The `webhook-id` header: the same on every attempt and redelivery of the event.
    #[schema(example = "msg_5b3e0c1a8f0e4a579d7c2f1b6c0d9e41")]
    pub message_id: String,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The delivery this one sends again (manual redelivery).
    pub redelivery_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub attempt_log: Vec<AttemptResponse>,
    /// The body sent (byte for byte as stored; shown parsed).
    pub payload: WebhookPayload,
}

fn attempt_response(a: WebhookAttempt) -> AttemptResponse {
    AttemptResponse {
        attempt: a.attempt,
        attempted_at: a.attempted_at,
        duration_ms: a.duration_ms,
        response_status: a.response_status,
        response_body: a.response_body,
        error: a.error,
        succeeded: a.succeeded,
    }
}

fn delivery_response(v: DeliveryView) -> AppResult<DeliveryResponse> {
    let payload: WebhookPayload =
        serde_json::from_str(&v.event.body).map_err(AppError::internal)?;
    Ok(DeliveryResponse {
        id: v.delivery.id,
        webhook_id: v.delivery.endpoint_id,
        event_id: v.event.id,
        message_id: message_id(v.event.id),
        event_type: payload.event_type,
        status: DeliveryStatus::parse(&v.delivery.status)
            .ok_or_else(|| AppError::internal("unknown delivery status"))?,
        attempts: v.delivery.attempts,
        next_attempt_at: v.delivery.next_attempt_at,
        last_attempt_at: v.delivery.last_attempt_at,
        redelivery_of: v.delivery.redelivery_of,
        created_at: v.delivery.created_at,
        attempt_log: v.attempts.into_iter().map(attempt_response).collect(),
        payload,
    })
}

/// Checks a receiver URL against the configured policy (resolving its host).
async fn receiver_url(url: &str, config: &WebhookConfig) -> AppResult<ReceiverUrl> {
    let policy = TargetPolicy {
        allow_http: config.allow_http,
        allow_private: config.allow_private_targets,
    };
    target::check(url, policy).await.map_err(|e| {
        let mut fe = FieldError::new("/url", e.code(), e.to_string());
        match &e {
            TargetError::PrivateAddress(ip) => fe = fe.with_param("address", ip.to_string()),
            TargetError::Unresolvable(host) => fe = fe.with_param("host", host),
            _ => {}
        }
        AppError::validation(vec![fe])
    })
}

/// Register a webhook receiver (admin).
///
/// The answer holds the signing secret, shown this once. Every event is POSTed as JSON with the
/// Standard Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature`
/// (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the base64-decoded
/// secret after `whsec_`); any Standard Webhooks library verifies it. The receiver gets the
/// events that happen from now on.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Registered; the secret is shown once", body = WebhookWithSecretResponse, headers(("ETag" = String), ("Location" = String))),
        (status = 422, description = "`VALIDATION_FAILED`: `/url` is `INVALID_URL`, `URL_CREDENTIALS`, `HTTP_NOT_ALLOWED`, `PRIVATE_ADDRESS` or `UNRESOLVABLE_HOST`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/webhooks")]
async fn create_webhook(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<CreateWebhookRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("manage webhooks")?;
    let body = body.read().await?;
    body.validate()?;
    let b = body.into_inner();
    let input = CreateWebhook {
        url: receiver_url(&b.url, &state.config.webhooks).await?,
        description: b.description,
        event_types: b.event_types,
    };
    let w = crate::db::with_conn(&state.pool, move |c| svc::create(c, &who, input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(w.version)))
        .insert_header(("Location", format!("/api/v1/webhooks/{}", w.id)))
        .json(with_secret(w)))
}

/// List webhook receivers (admin; secrets are never shown again).
///
/// Paged; each receiver with the event types it takes and whether it is enabled.
#[utoipa::path(
    tag = "webhooks",
    params(PageParams),
    responses((status = 200, description = "A page of receivers, oldest first", body = Page<WebhookResponse>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/webhooks")]
async fn list_webhooks(
    state: web::Data<AppState>,
    who: Principal,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<WebhookResponse>>> {
    let page = paging.to_req()?;
    let (items, total) =
        crate::db::with_conn(&state.pool, move |c| svc::list(c, &who, page)).await?;
    Ok(web::Json(Page::new(
        items.iter().map(webhook_response).collect(),
        page,
        total,
    )))
}

/// Get one webhook receiver (admin).
///
/// The receiver's address, event types and state; its secret is shown only once, at creation.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, description = "The receiver", body = WebhookResponse, headers(("ETag" = String))), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
async fn get_webhook(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let w = crate::db::with_conn(&state.pool, move |c| svc::get(c, &who, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(w.version)))
        .json(webhook_response(&w)))
}

/// Change a webhook receiver: URL, description, event types, enabled (admin).
///
/// Send `If-Match: "v<version>"` to refuse the change (412) if someone else changed it
/// meanwhile. Enabling a receiver that was disabled after persistent failure clears its
/// failure record; its pending deliveries resume.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "Changed", body = WebhookResponse, headers(("ETag" = String))),
        (status = 412, description = "`VERSION_MISMATCH`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[patch("/webhooks/{id}")]
async fn update_webhook(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<UpdateWebhookRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("manage webhooks")?;
    let body = body.read().await?;
    body.validate()?;
    let expected = if_match(&req)?;
    let b = body.into_inner();
    let url = match &b.url {
        Some(u) => Some(receiver_url(u, &state.config.webhooks).await?),
        None => None,
    };
    let input = UpdateWebhook {
        url,
        description: b.description,
        event_types: b.event_types,
        enabled: b.enabled,
    };
    let id = id.into_inner();
    let w = crate::db::with_conn(&state.pool, move |c| {
        svc::update(c, &who, id, &expected, input)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(w.version)))
        .json(webhook_response(&w)))
}

/// Remove a webhook receiver with its delivery log (admin).
///
/// Its delivery log goes with it.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 204, description = "Removed"), ErrorResponses),
    security(("bearer" = []))
)]
#[delete("/webhooks/{id}")]
async fn delete_webhook(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    crate::db::with_conn(&state.pool, move |c| svc::delete(c, &who, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a receiver's signing secret (admin).
///
/// The new secret is in the answer, shown this once. For `WEBHOOK_SECRET_OVERLAP` (24 hours by
/// default) deliveries carry two signatures, one per secret, so the receiver can switch to the
/// new secret without refusing a delivery.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, description = "Rotated; the new secret is shown once", body = WebhookWithSecretResponse, headers(("ETag" = String))), ErrorResponses),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/rotate-secret")]
async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let overlap = state.config.webhooks.secret_overlap;
    let w = crate::db::with_conn(&state.pool, move |c| {
        svc::rotate_secret(c, &who, id, overlap)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(w.version)))
        .json(with_secret(w)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
}

/// The delivery log of a receiver, newest first (admin).
///
/// Every event sent to it, with every attempt: when, how long, the receiver's status and the
/// first 1 KiB of its answer, or the error.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), DeliveryListQuery, PageParams),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryResponse>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/deliveries")]
async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    query: web::Query<DeliveryListQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<DeliveryResponse>>> {
    let page = paging.to_req()?;
    let id = id.into_inner();
    let status = query.into_inner().status;
    let (views, total) = crate::db::with_conn(&state.pool, move |c| {
        svc::deliveries(c, &who, id, status, page)
    })
    .await?;
    let items = views
        .into_iter()
        .map(delivery_response)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(web::Json(Page::new(items, page, total)))
}

/// One delivery of a receiver, with its attempts (admin).
///
/// Each attempt with its outcome, its error and the first 1 KiB of the receiver's answer.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    responses((status = 200, description = "The delivery", body = DeliveryResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/deliveries/{delivery_id}")]
async fn get_webhook_delivery(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<web::Json<DeliveryResponse>> {
    let (id, delivery_id) = path.into_inner();
    let view = crate::db::with_conn(&state.pool, move |c| {
        svc::delivery(c, &who, id, delivery_id)
    })
    .await?;
    Ok(web::Json(delivery_response(view)?))
}

/// Send a finished delivery again (admin).
///
/// A new delivery of the same event (the same `webhook-id`, a fresh timestamp and signature),
/// due at once and logged on its own with `redelivery_of`. Only deliveries that succeeded or
/// failed may be redelivered, and only to an enabled receiver.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), ("delivery_id" = Uuid, Path, description = "Delivery to send again")),
    responses(
        (status = 202, description = "Queued: the new delivery", body = DeliveryResponse, headers(("Location" = String))),
        (status = 409, description = "`WEBHOOK_DISABLED` or `DELIVERY_PENDING`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
async fn redeliver_webhook_delivery(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<HttpResponse> {
    let (id, delivery_id) = path.into_inner();
    let view = crate::db::with_conn(&state.pool, move |c| {
        svc::redeliver(c, &who, id, delivery_id)
    })
    .await?;
    let out = delivery_response(view)?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            "Location",
            format!("/api/v1/webhooks/{id}/deliveries/{}", out.id),
        ))
        .json(out))
}
