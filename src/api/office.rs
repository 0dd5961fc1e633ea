//! The office's decisions about late or silent units: submit on a unit's behalf, finalise an
//! unsubmitted assessment as entered or at zero ("not submitted"), exclude a unit from the
//! ranking; and bulk decisions (finalise, return, extend deadlines, submit on behalf…) for
//! many assessments in one call.
//!
//! The caller's role is checked before the request body is read.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, delete, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::ErrorResponses;
use super::assessments::{LastAction, ReasonRequest};
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::Json;
use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::users::User;
use crate::domain::Role;
use crate::domain::workflow::{AssessmentState, BulkAction, FinalisedAs};
use crate::error::AppError;
use crate::services::bulk::{self, BulkInput, BulkItem, BulkOutcome};
use crate::services::idempotency;
use crate::services::workflow::{self, Decision};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(submit_on_behalf)
        .service(finalise_not_submitted)
        .service(put_ranking_exclusion)
        .service(delete_ranking_exclusion)
        .service(bulk_decision);
}

/// An account, briefly (who took a decision).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonRef {
    pub id: Uuid,
    #[schema(example = "admin")]
    pub username: String,
    #[schema(example = "Văn phòng DTI tỉnh")]
    pub full_name: String,
}

/// The last submission of an assessment: when, by whom, and whether the office made it on the
/// unit's behalf (then with its reason). Kept when the assessment is returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionInfo {
    pub at: Option<DateTime<Utc>>,
    /// Absent when the account no longer exists.
    pub by: Option<PersonRef>,
    /// The office submitted it for the unit (acting for its leader).
    pub on_behalf: bool,
    /// Why the office submitted it (on-behalf submissions only).
    pub reason: Option<String>,
}

/// Why a unit is not ranked, by whom, since when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankingExclusionInfo {
    #[schema(example = "Đơn vị sáp nhập giữa kỳ, không đủ số liệu cả năm")]
    pub reason: String,
    pub by: Option<PersonRef>,
    pub at: Option<DateTime<Utc>>,
}

/// The people an assessment's record names.
pub type People = HashMap<Uuid, User>;

fn person(people: &People, id: Option<Uuid>) -> Option<PersonRef> {
    let u = people.get(&id?)?;
    Some(PersonRef {
        id: u.id,
        username: u.username.clone(),
        full_name: u.full_name.clone(),
    })
}

/// The ids of the accounts an assessment's record names (see [`people_of`]).
pub fn named(a: &Assessment) -> Vec<Uuid> {
    [a.submitted_by, a.excluded_by]
        .into_iter()
        .flatten()
        .collect()
}

/// The accounts an assessment's record names, read on `c`.
pub fn people_of(c: &mut diesel::PgConnection, a: &Assessment) -> Result<People, AppError> {
    Ok(User::find_many(c, &named(a))?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

pub fn submission_info(a: &Assessment, people: &People) -> Option<SubmissionInfo> {
    a.submitted_at.map(|at| SubmissionInfo {
        at: Some(at),
        by: person(people, a.submitted_by),
        on_behalf: a.submitted_on_behalf,
        reason: a.submission_reason.clone(),
    })
}

pub fn exclusion_info(a: &Assessment, people: &People) -> Option<RankingExclusionInfo> {
    a.excluded_reason
        .clone()
        .map(|reason| RankingExclusionInfo {
            reason,
            by: person(people, a.excluded_by),
            at: a.excluded_at,
        })
}

/// An assessment after an office decision: its state and everything the office recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionResponse {
    pub id: Uuid,
    pub state: AssessmentState,
    /// How it was finalised (finalised assessments only).
    pub finalised_as: Option<FinalisedAs>,
    /// Finalised by the office without a submission (as entered or at zero).
    pub not_submitted: bool,
    pub submission: Option<SubmissionInfo>,
    /// Takes part in the ranking (false: excluded, see `ranking_exclusion`).
    pub ranked: bool,
    pub ranking_exclusion: Option<RankingExclusionInfo>,
    /// The unit's own deadline, when the office set one.
    pub deadline: Option<DateTime<Utc>>,
    pub last_action: Option<LastAction>,
    pub lock_version: i32,
}

fn decision_response(a: &Assessment, people: &People) -> DecisionResponse {
    DecisionResponse {
        id: a.id,
        state: a.state(),
        finalised_as: a.finalised_as(),
        not_submitted: a.finalised_as().is_some_and(FinalisedAs::not_submitted),
        submission: submission_info(a, people),
        ranked: !a.excluded(),
        ranking_exclusion: exclusion_info(a, people),
        deadline: a.deadline,
        last_action: a.last_action.clone().map(|action| LastAction {
            action,
            actor_id: a.last_actor_id,
            at: a.last_action_at,
            reason: a.last_reason.clone(),
        }),
        lock_version: a.lock_version,
    }
}

/// Runs an office decision on one assessment and answers with its record.
async fn decided(
    state: &AppState,
    f: impl FnOnce(&mut diesel::PgConnection) -> Result<Assessment, AppError> + Send + 'static,
) -> Result<web::Json<DecisionResponse>, AppError> {
    let (a, people) = crate::db::with_conn(&state.pool, move |c| {
        let a = f(c)?;
        let people = people_of(c, &a)?;
        Ok((a, people))
    })
    .await?;
    Ok(web::Json(decision_response(&a, &people)))
}

/// Submit a late or silent unit's assessment on its behalf (admin), with a reason.
///
/// For an assessment not yet submitted (`not_started`, `in_progress`, `returned`) while the
/// period is in self-assessment or review. Nothing is required to be complete: unanswered
/// components score 0 and review goes on as for any submission. Audited as acting for the
/// unit's leader; the unit sees who submitted it and why (`submission`).
#[utoipa::path(
    tag = "workflow",
    params(("id" = Uuid, Path, description = "Assessment id")),
    request_body = ReasonRequest,
    responses((status = 200, description = "Submitted on the unit's behalf", body = DecisionResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[post("/assessments/{id}/submit-on-behalf")]
async fn submit_on_behalf(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<ReasonRequest>,
) -> Result<web::Json<DecisionResponse>, actix_web::Error> {
    who.require_admin("submit assessments on a unit's behalf")?;
    let body = body.read().await?.into_inner();
    body.validate().map_err(AppError::from)?;
    let id = id.into_inner();
    let d = Decision::SubmitOnBehalf {
        reason: body.reason,
    };
    let caches = state.caches.clone();
    Ok(decided(&state, move |c| workflow::decide(c, &caches, &who, id, d)).await?)
}

/// How an unsubmitted assessment is finalised.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotSubmittedAs {
    /// With what the unit had entered (its reviewed points become official).
    AsEntered,
    /// At zero points: none of its answers count (they stay stored).
    AtZero,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"finalised_as": "at_zero", "reason": "Đơn vị không nộp bản tự đánh giá sau hai lần gia hạn"}))]
pub struct FinaliseNotSubmittedRequest {
    pub finalised_as: NotSubmittedAs,
    /// Why (mandatory): recorded on the result and shown to the unit.
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 10000)]
    pub reason: String,
}

/// Finalise an assessment that was never submitted (admin), as entered or at zero.
///
/// For an assessment not submitted (`not_started`, `in_progress`, `returned`) during review.
/// The result is recorded as "not submitted" (`not_submitted: true`, `finalised_as`) here, in
/// the rankings and in the published snapshot. At zero, the assessment scores as if nothing
/// had been entered until it is reopened.
#[utoipa::path(
    tag = "workflow",
    params(("id" = Uuid, Path, description = "Assessment id")),
    request_body = FinaliseNotSubmittedRequest,
    responses((status = 200, description = "Finalised, recorded as not submitted", body = DecisionResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[post("/assessments/{id}/finalise-not-submitted")]
async fn finalise_not_submitted(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<FinaliseNotSubmittedRequest>,
) -> Result<web::Json<DecisionResponse>, actix_web::Error> {
    who.require_admin("finalise assessments that were not submitted")?;
    let body = body.read().await?.into_inner();
    body.validate().map_err(AppError::from)?;
    let id = id.into_inner();
    let d = Decision::FinaliseNotSubmitted {
        finalised_as: match body.finalised_as {
            NotSubmittedAs::AsEntered => FinalisedAs::AsEntered,
            NotSubmittedAs::AtZero => FinalisedAs::AtZero,
        },
        reason: body.reason,
    };
    let caches = state.caches.clone();
    Ok(decided(&state, move |c| workflow::decide(c, &caches, &who, id, d)).await?)
}

/// Exclude the unit from the period's ranking (admin), with a reason; again to change it.
///
/// The unit stays listed everywhere with `ranked: false`, its reason and no rank; the ranks
/// and ties of the others are counted without it. An excluded unit need not be finalised for
/// its group to be published. Self-assessment and review phases.
#[utoipa::path(
    tag = "workflow",
    params(("id" = Uuid, Path, description = "Assessment id")),
    request_body = ReasonRequest,
    responses((status = 200, description = "Excluded from the ranking", body = DecisionResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[put("/assessments/{id}/ranking-exclusion")]
async fn put_ranking_exclusion(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<ReasonRequest>,
) -> Result<web::Json<DecisionResponse>, actix_web::Error> {
    who.require_admin("exclude units from the ranking")?;
    let body = body.read().await?.into_inner();
    body.validate().map_err(AppError::from)?;
    let id = id.into_inner();
    let caches = state.caches.clone();
    Ok(decided(&state, move |c| {
        workflow::exclude_from_ranking(c, &caches, &who, id, &body.reason)
    })
    .await?)
}

/// Rank an excluded unit again (admin); 404 when it is not excluded.
///
/// The unit takes part in its group's rankings again.
#[utoipa::path(
    tag = "workflow",
    params(("id" = Uuid, Path, description = "Assessment id")),
    responses((status = 200, description = "Ranked again", body = DecisionResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[delete("/assessments/{id}/ranking-exclusion")]
async fn delete_ranking_exclusion(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<DecisionResponse>, AppError> {
    who.require_admin("include units in the ranking")?;
    let id = id.into_inner();
    let caches = state.caches.clone();
    decided(&state, move |c| {
        workflow::include_in_ranking(c, &caches, &who, id)
    })
    .await
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItemRequest {
    pub assessment_id: Uuid,
    /// This item's own reason (overrides the call's `reason`).
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 10000)]
    pub reason: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "action": "return",
    "reason": "Thiếu minh chứng cho chỉ số 1.1",
    "items": [
        {"assessment_id": "00000000-0000-0000-0000-000000000001"},
        {"assessment_id": "00000000-0000-0000-0000-000000000002", "reason": "Số liệu 1.2 không khớp báo cáo quý IV"}
    ]
}))]
pub struct BulkDecisionRequest {
    pub action: BulkAction,
    /// The assessments (of this period), 1 to 5,000, each at most once.
    #[validate(nested)]
    pub items: Vec<BulkItemRequest>,
    /// The reason of every item without its own; `return`, `submit_on_behalf` and the
    /// `finalise_*_not_submitted` actions need one per item.
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 10000)]
    pub reason: Option<String>,
    /// With `extend_deadline`: the new deadline of every item (null removes the units' own
    /// deadlines).
    pub deadline: Option<DateTime<Utc>>,
    /// Default true: one refusal refuses the whole call (409 `BULK_REFUSED`, nothing
    /// changed). False: the allowed items are applied and the others listed in `refused`.
    #[serde(default = "yes")]
    pub all_or_nothing: bool,
}

/// An applied item.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkApplied {
    /// Position in `items`.
    pub index: usize,
    pub assessment_id: Uuid,
    pub unit_code: String,
    pub state: AssessmentState,
    pub finalised_as: Option<FinalisedAs>,
    pub deadline: Option<DateTime<Utc>>,
    pub lock_version: i32,
}

/// A refused item: what a single call would have answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRefused {
    /// Position in `items`.
    pub index: usize,
    pub assessment_id: Uuid,
    /// Absent when the assessment is not in this period.
    pub unit_code: Option<String>,
    pub status: u16,
    #[schema(example = "ALREADY_SUBMITTED")]
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDecisionResponse {
    pub action: BulkAction,
    pub all_or_nothing: bool,
    pub applied: Vec<BulkApplied>,
    /// Only with `all_or_nothing: false`.
    pub refused: Vec<BulkRefused>,
    /// Ranking groups rescored (once each, however many of their assessments changed).
    pub rescored_groups: usize,
}

fn bulk_response(action: BulkAction, all_or_nothing: bool, o: BulkOutcome) -> BulkDecisionResponse {
    BulkDecisionResponse {
        action,
        all_or_nothing,
        applied: o
            .applied
            .into_iter()
            .map(|x| BulkApplied {
                index: x.index,
                assessment_id: x.assessment.id,
                unit_code: x.unit_code,
                state: x.assessment.state(),
                finalised_as: x.assessment.finalised_as(),
                deadline: x.assessment.deadline,
                lock_version: x.assessment.lock_version,
            })
            .collect(),
        refused: o
            .refused
            .into_iter()
            .map(|r| BulkRefused {
                index: r.index,
                assessment_id: r.assessment_id,
                unit_code: r.unit_code,
                status: r.status,
                code: r.code,
                detail: r.detail,
            })
            .collect(),
        rescored_groups: o.rescored_groups,
    }
}

/// One decision for many assessments of the period (reviewers: `finalise`, `return`; admin:
/// every action).
///
/// Every item is checked as a single call would be, and every refusal is listed at once with
/// its assessment, unit and code. All or nothing by default: any refusal answers 409
/// `BULK_REFUSED` (`errors[]` and `refusals[]`, nothing changed); with `all_or_nothing:
/// false` the others are applied. Scores are rescored once per ranking group. Send an
/// `Idempotency-Key` to make a retry safe.
#[utoipa::path(
    tag = "workflow",
    params(("id" = Uuid, Path, description = "Period id"), IdempotencyKeyHeader),
    request_body = BulkDecisionRequest,
    responses(
        (status = 200, description = "Applied (or replayed: see `Idempotency-Key`)", body = BulkDecisionResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`BULK_REFUSED`: items refused, each listed, nothing changed; or `IDEMPOTENCY_KEY_IN_USE`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED` (no items, a duplicate, a missing reason…), or `IDEMPOTENCY_KEY_REUSED`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/periods/{id}/assessments/bulk")]
async fn bulk_decision(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: Json<BulkDecisionRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    who.require_role(&[Role::Admin, Role::Reviewer], "take bulk decisions")?;
    let body = body.read().await?.into_inner();
    body.validate().map_err(AppError::from)?;
    // The parsed body, re-serialised: the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&body).map_err(AppError::internal)?,
    );
    let (action, all_or_nothing) = (body.action, body.all_or_nothing);
    let input = BulkInput {
        action,
        items: body
            .items
            .into_iter()
            .map(|i| BulkItem {
                assessment_id: i.assessment_id,
                reason: i.reason,
            })
            .collect(),
        reason: body.reason,
        deadline: body.deadline,
        all_or_nothing,
    };
    let period = id.into_inner();
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut diesel::PgConnection| bulk::authorise_action(&who, action);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let outcome = bulk::run(c, &caches, &who, period, input)?;
            Ok((
                200,
                to_body(bulk_response(action, all_or_nothing, outcome))?,
            ))
        })
    })
    .await?;
    Ok(respond(reply, |_, _| {})?)
}
