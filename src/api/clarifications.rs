//! Clarification threads on one component, and per-unit deadline extensions.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::ErrorResponses;
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::Json;
use crate::auth::Principal;
use crate::db::models::clarifications::{Clarification, Message};
use crate::domain::workflow::ClarificationStatus;
use crate::error::{AppError, AppResult};
use crate::services::clarifications as svc;
use crate::services::idempotency;
use crate::services::scoring::Caches;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(open_clarification)
        .service(list_clarifications)
        .service(reply_clarification)
        .service(close_clarification)
        .service(set_deadline);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub id: Uuid,
    pub author_id: Option<Uuid>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClarificationResponse {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub node_code: String,
    pub status: ClarificationStatus,
    pub opened_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messages: Vec<MessageResponse>,
}

fn response(c: Clarification, node_code: String, messages: Vec<Message>) -> ClarificationResponse {
    ClarificationResponse {
        id: c.id,
        assessment_id: c.assessment_id,
        node_code,
        status: c.status,
        opened_by: c.opened_by,
        created_at: c.created_at,
        updated_at: c.updated_at,
        messages: messages
            .into_iter()
            .map(|m| MessageResponse {
                id: m.id,
                author_id: m.author_id,
                body: m.body,
                created_at: m.created_at,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"node_code": "1.2", "message": "Đề nghị bổ sung biên bản họp ngày 15/10"}))]
pub struct OpenClarificationRequest {
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub node_code: String,
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 10000)]
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"message": "Đã bổ sung biên bản (tệp đính kèm ở chỉ số 1.2)"}))]
pub struct MessageRequest {
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 10000)]
    pub message: String,
}

/// Ask the unit about one component (reviewers).
///
/// Every call opens another thread. Send an `Idempotency-Key` to make a retry safe: a repeat
/// with the same key gets the first 201 back (`Idempotent-Replayed: true`) and opens nothing.
#[utoipa::path(
    tag = "clarifications",
    params(("id" = Uuid, Path, description = "Assessment id"), IdempotencyKeyHeader),
    request_body = OpenClarificationRequest,
    responses(
        (status = 201, description = "Opened (or replayed: see `Idempotency-Key`)", body = ClarificationResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`PHASE_CLOSED`, or `IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/assessments/{id}/clarifications")]
async fn open_clarification(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: Json<OpenClarificationRequest>,
) -> AppResult<HttpResponse> {
    svc::authorise_open(&who)?;
    let body = body.read().await?;
    body.validate()?;
    // The parsed body, re-serialised: the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let b = body.into_inner();
    let id = id.into_inner();
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| svc::authorise_open(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let (cl, code, ms) = svc::open(c, &caches, &who, id, &b.node_code, &b.message)?;
            Ok((201, to_body(response(cl, code, ms))?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

/// The clarification threads of an assessment.
///
/// Every thread of the assessment with its messages, oldest first; unit accounts see the
/// threads of their own unit only.
#[utoipa::path(tag = "clarifications", params(("id" = Uuid, Path, description = "Assessment id")), responses((status = 200, description = "Threads", body = Vec<ClarificationResponse>), ErrorResponses), security(("bearer" = [])))]
#[get("/assessments/{id}/clarifications")]
async fn list_clarifications(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<Vec<ClarificationResponse>>> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let threads =
        crate::db::with_conn(&state.pool, move |c| svc::list(c, &caches, &who, id)).await?;
    Ok(web::Json(
        threads
            .into_iter()
            .map(|(t, code, ms)| response(t, code, ms))
            .collect(),
    ))
}

/// Reply in a thread: the unit answers (even while its form is locked), or a reviewer follows up.
///
/// Every call adds another message. Send an `Idempotency-Key` to make a retry safe: a repeat
/// with the same key gets the first 200 back (`Idempotent-Replayed: true`) and adds nothing.
#[utoipa::path(
    tag = "clarifications",
    params(("id" = Uuid, Path, description = "Clarification id"), IdempotencyKeyHeader),
    request_body = MessageRequest,
    responses(
        (status = 200, description = "Replied (or replayed: see `Idempotency-Key`)", body = ClarificationResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`CLARIFICATION_CLOSED`, or `IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/clarifications/{id}/messages")]
async fn reply_clarification(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: Json<MessageRequest>,
) -> AppResult<HttpResponse> {
    let (gate, cl) = (who.clone(), *id);
    crate::db::with_conn(&state.pool, move |c| {
        svc::authorise_reply(c, &gate, cl).map(|_| ())
    })
    .await?;
    let body = body.read().await?;
    body.validate()?;
    // The parsed body, re-serialised: the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let msg = body.into_inner().message;
    let id = id.into_inner();
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |c: &mut _| svc::authorise_reply(c, &who, id).map(drop);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let cl = svc::reply(c, &who, id, &msg)?;
            Ok((200, to_body(thread(c, &caches, &who, cl)?)?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

/// The response for one thread, with all its messages, read on `c`.
fn thread(
    c: &mut PgConnection,
    caches: &Caches,
    who: &Principal,
    cl: Clarification,
) -> AppResult<ClarificationResponse> {
    let cid = cl.id;
    svc::list(c, caches, who, cl.assessment_id)?
        .into_iter()
        .find(|(t, _, _)| t.id == cid)
        .map(|(t, code, ms)| response(t, code, ms))
        .ok_or_else(|| AppError::not_found("clarification", cid))
}

/// Close a thread (reviewers).
///
/// A closed thread takes no more messages.
#[utoipa::path(tag = "clarifications", params(("id" = Uuid, Path, description = "Clarification id")), responses((status = 200, description = "Closed", body = ClarificationResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/clarifications/{id}/close")]
async fn close_clarification(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<ClarificationResponse>> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let thread = crate::db::with_conn(&state.pool, move |c| {
        let cl = svc::close(c, &who, id)?;
        thread(c, &caches, &who, cl)
    })
    .await?;
    Ok(web::Json(thread))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"deadline": "2026-02-10T17:00:00+07:00"}))]
pub struct DeadlineRequest {
    /// Until when the unit may still enter and submit during review; null removes the extension.
    pub deadline: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineResponse {
    pub id: Uuid,
    pub deadline: Option<DateTime<Utc>>,
}

/// Extend one unit's deadline into the review phase (admin).
///
/// The unit may then keep entering figures and submit until this deadline, even once the period
/// is in review. The deadline is the unit's own; the rest of the province keeps the calendar's.
#[utoipa::path(tag = "workflow", params(("id" = Uuid, Path, description = "Assessment id")), request_body = DeadlineRequest, responses((status = 200, description = "Set", body = DeadlineResponse), ErrorResponses), security(("bearer" = [])))]
#[put("/assessments/{id}/deadline")]
async fn set_deadline(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<DeadlineRequest>,
) -> AppResult<web::Json<DeadlineResponse>> {
    who.require_admin("extend deadlines")?;
    let body = body.read().await?;
    let id = id.into_inner();
    let deadline = body.into_inner().deadline;
    let caches = state.caches.clone();
    let a = crate::db::with_conn(&state.pool, move |c| {
        svc::set_deadline(c, &caches, &who, id, deadline)
    })
    .await?;
    Ok(web::Json(DeadlineResponse {
        id: a.id,
        deadline: a.deadline,
    }))
}
