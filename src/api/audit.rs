//! `/audit-events`: the append-only trail of every state-changing request.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::{ErrorResponses, Page, PageParams};
use crate::auth::Principal;
use crate::db::models::audit::{AuditEvent, AuditFilter};
use crate::domain::Role;
use crate::error::AppResult;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_events);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    #[schema(value_type = Option<Role>)]
    pub actor_role: Option<String>,
    /// e.g. `answer.upsert`, `assessment.submit`, `period.transition`.
    #[schema(example = "assessment.submit")]
    pub action: String,
    #[schema(example = "assessment")]
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub period_id: Option<Uuid>,
    /// The entity before the change (an object, or a list for changes of a set of rows).
    #[schema(value_type = Option<AuditValue>)]
    pub old_value: Option<Value>,
    /// The entity after the change.
    #[schema(value_type = Option<AuditValue>)]
    pub new_value: Option<Value>,
    /// The request that caused it (`x-request-id`).
    pub request_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub period_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    /// From this time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    pub to: Option<DateTime<Utc>>,
}

/// List audit events, newest first (admin and viewer).
///
/// Filtered by entity, action and time; paged. Every change through this API is recorded with
/// its actor, role, request id and the values before and after.
#[utoipa::path(tag = "audit", params(AuditQuery, PageParams), responses((status = 200, description = "A page of events", body = Page<AuditEventResponse>), ErrorResponses), security(("bearer" = [])))]
#[get("/audit-events")]
async fn list_audit_events(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<AuditQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<AuditEventResponse>>> {
    crate::audit::require_reader(&who)?;
    let page = paging.to_req()?;
    let q = q.into_inner();
    let filter = AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        unit_id: q.unit_id,
        period_id: q.period_id,
        actor_id: q.actor_id,
        action: q.action,
        from: q.from,
        to: q.to,
    };
    let (events, total) = crate::db::with_conn(&state.pool, move |c| {
        Ok(AuditEvent::list(c, &filter, page)?)
    })
    .await?;
    let items = events
        .into_iter()
        .map(|e| AuditEventResponse {
            id: e.id,
            occurred_at: e.occurred_at,
            actor_id: e.actor_id,
            actor_role: e.actor_role,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            unit_id: e.unit_id,
            period_id: e.period_id,
            // events written before every value was shaped are served in the same shape
            old_value: e.old_value.map(crate::audit::shaped),
            new_value: e.new_value.map(crate::audit::shaped),
            request_id: e.request_id,
        })
        .collect();
    Ok(web::Json(Page::new(items, page, total)))
}

/// A recorded value in the audit trail: a JSON object (the entity's members) or a list (a set of
/// rows changed together, such as a group's members).
pub struct AuditValue;

impl utoipa::PartialSchema for AuditValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema};
        Schema::OneOf(
            OneOfBuilder::new()
                .item(ObjectBuilder::new().additional_properties(Some(
                    utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
                )))
                .item(
                    ArrayBuilder::new().items(ObjectBuilder::new().additional_properties(Some(
                        utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
                    ))),
                )
                .description(Some(
                    "A JSON object (the entity's members) or a list (rows changed together).",
                ))
                .build(),
        )
        .into()
    }
}
impl ToSchema for AuditValue {}
