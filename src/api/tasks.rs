//! `GET /me/tasks`: what waits for the caller now, by role.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::ErrorResponses;
use crate::auth::Principal;
use crate::domain::Role;
use crate::domain::tasks::{Task, TaskKind};
use crate::domain::workflow::{AssessmentState, PeriodPhase};
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::{self, Lang};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(my_tasks);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TasksQuery {
    /// At most this many tasks of each kind (default 50, at most 500); `counts` always gives
    /// every kind's total.
    #[param(minimum = 1, maximum = 500, example = 50)]
    pub limit: Option<i64>,
}

/// The caller's tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TasksResponse {
    /// The caller's role, which decides the kinds listed.
    pub role: Role,
    pub generated_at: DateTime<Utc>,
    /// The list is bounded, not paged: at most this many tasks of each kind, the most urgent
    /// first (the longest waiting, the nearest or longest passed deadline).
    pub limit_per_kind: i64,
    /// Every kind of task of the role, with how many there are and how many are listed.
    pub counts: Vec<TaskCount>,
    /// The tasks, kind by kind in the order of `counts`.
    pub items: Vec<TaskResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskCount {
    pub kind: TaskKind,
    /// Tasks of this kind in all.
    pub total: i64,
    /// Tasks of this kind in `items` (at most `limit_per_kind`).
    pub listed: i64,
}

/// One thing waiting for the caller.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "kind": "assessment_returned",
    "reason": "Bản tự đánh giá kỳ DTI-2025 bị cán bộ thẩm định trả lại với lý do: “Bổ sung minh chứng chỉ số 1.1”; hãy chỉnh sửa và nộp lại.",
    "link": "/api/v1/assessments/5b3e0c1a-8f0e-4a57-9d7c-2f1b6c0d9e41",
    "period": {"id": "0b6f1a7e-3c2d-4e5f-8a9b-1c2d3e4f5a6b", "code": "DTI-2025"},
    "assessment_id": "5b3e0c1a-8f0e-4a57-9d7c-2f1b6c0d9e41",
    "unit": {"id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "code": "XA-BAC-HA", "name": "Xã Bắc Hà"},
    "state": "returned",
    "since": "2026-02-03T08:15:00Z"
}))]
pub struct TaskResponse {
    pub kind: TaskKind,
    /// Why it is here, in the language of `Accept-Language` (English or Vietnamese).
    pub reason: String,
    /// The resource to act on, in this API.
    pub link: String,
    pub period: TaskPeriod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<TaskUnit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clarification_id: Option<Uuid>,
    /// The component concerned (clarifications, missing evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_code: Option<String>,
    /// The phase that ends (`phase_ending_soon`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<PeriodPhase>,
    /// The assessment's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<AssessmentState>,
    /// When it is due: the unit's deadline, the phase's close.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Since when it has been waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPeriod {
    pub id: Uuid,
    #[schema(example = "DTI-2025")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskUnit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

fn task_response(t: Task, lang: Lang) -> TaskResponse {
    TaskResponse {
        reason: i18n::task_reason(&t, lang),
        kind: t.kind,
        link: t.link,
        period: TaskPeriod {
            id: t.period_id,
            code: t.period_code,
        },
        assessment_id: t.assessment_id,
        unit: t.unit.map(|(id, code, name)| TaskUnit { id, code, name }),
        clarification_id: t.clarification_id,
        node_code: t.node_code,
        phase: t.phase,
        state: t.state,
        due_at: t.due_at,
        since: t.since,
    }
}

/// What waits for me now.
///
/// By role: a unit editor gets the unit's returned forms, clarifications waiting for the
/// unit's answer and components missing evidence; a unit leader the same and forms ready to
/// confirm (submit); a reviewer submitted forms and answered clarifications; an administrator
/// periods whose current phase closes within 7 days and units past their deadline without a
/// submission; a viewer nothing. Each task links to the resource to act on and says why it is
/// there (`reason`, in Vietnamese with `Accept-Language: vi`). Bounded, not paged: at most
/// `limit` tasks of each kind, with every kind's total in `counts`.
#[utoipa::path(
    tag = "tasks",
    params(TasksQuery),
    responses((status = 200, description = "The caller's tasks", body = TasksResponse, headers(("Content-Language" = String, description = "`en` or `vi`"))), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/me/tasks")]
async fn my_tasks(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<TasksQuery>,
) -> AppResult<HttpResponse> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::validation(vec![
            FieldError::new("limit", "RANGE", "must be between 1 and 500")
                .with_param("min", 1)
                .with_param("max", 500),
        ]));
    }
    let role = who.role;
    let caches = state.caches.clone();
    let groups = crate::db::with_conn(&state.pool, move |c| {
        crate::services::tasks::for_caller(c, &caches, &who, limit)
    })
    .await?;
    let lang = i18n::current();
    let counts = groups
        .iter()
        .map(|g| TaskCount {
            kind: g.kind,
            total: g.total,
            listed: g.tasks.len() as i64,
        })
        .collect();
    let items = groups
        .into_iter()
        .flat_map(|g| g.tasks)
        .map(|t| task_response(t, lang))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_LANGUAGE, lang.tag()))
        .insert_header((header::VARY, "Accept-Language"))
        .json(TasksResponse {
            role,
            generated_at: Utc::now(),
            limit_per_kind: limit,
            counts,
            items,
        }))
}
