//! `/assessments`: one unit's self-assessment in a period: answers, the explained score, what-if.

use crate::domain::precondition::IfMatch;
use crate::scoring::ranking::shown_index;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::Json;
use super::office::{RankingExclusionInfo, SubmissionInfo};
use super::users::UnitSummary;
use super::{ErrorResponses, etag, if_match};
use crate::auth::Principal;
use crate::auth::principal::Writer;
use crate::db::models::assessments::{Answer, Assessment};
use crate::db::models::periods::Period;
use crate::db::models::scores::ScoreRow;
use crate::db::models::units::Unit;
use crate::domain::indicator_set::{ClassBand, ClassificationStatus};
use crate::domain::workflow::{AssessmentAction, AssessmentState, FinalisedAs, PeriodPhase};
use crate::error::{AppError, AppResult};
use crate::scoring::{CompiledSet, NodeScore, UnitScores, band_of, standing};
use crate::services::assessments::{self as svc, AnswerInput};
use crate::services::idempotency;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_assessment)
        .service(put_answer)
        .service(put_answers)
        .service(get_assessment_score)
        .service(what_if)
        .service(submit_assessment)
        .service(return_assessment)
        .service(finalise_assessment)
        .service(reopen_assessment)
        .service(put_adjustment);
}

/// A classification band (xếp loại) of the set version, as shown beside an index.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BandResponse {
    #[schema(example = "TOT")]
    pub code: String,
    /// Vietnamese label.
    #[schema(example = "Tốt")]
    pub label: String,
    #[schema(example = "Good")]
    pub label_en: String,
    /// The lowest rounded index in the band.
    #[schema(value_type = String, example = "0.75", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub min_index: Decimal,
    /// The set's scale is an example: no decision fixes one for this set.
    pub example: bool,
}

impl BandResponse {
    pub fn new(set: &CompiledSet, band: &ClassBand) -> BandResponse {
        BandResponse {
            code: band.code.clone(),
            label: band.label.clone(),
            label_en: band.label_en.clone(),
            min_index: band.min_index.normalize(),
            example: set
                .classification
                .as_ref()
                .is_some_and(|c| c.status == ClassificationStatus::Example),
        }
    }

    /// The band of a unit's overall index (`None` without an index or a classification).
    pub fn of_index(set: &CompiledSet, index: Option<Decimal>) -> Option<BandResponse> {
        let c = set.classification.as_ref()?;
        band_of(c, index?, set.precision).map(|b| BandResponse::new(set, b))
    }
}

/// Where a unit's reviewed total stands in the set's classification.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandingResponse {
    /// The band of the reviewed index (`null` without a classification or an index).
    pub band: Option<BandResponse>,
    /// The band right above (`null` in the highest band).
    pub next_band: Option<BandResponse>,
    /// The fewest additional points (on the reviewed total) that reach `next_band`.
    #[schema(value_type = Option<String>, example = "15.01", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points_to_next_band: Option<Decimal>,
}

impl StandingResponse {
    pub fn new(set: &CompiledSet, points: Decimal, applicable_max: Decimal) -> StandingResponse {
        let Some(c) = set.classification.as_ref() else {
            return StandingResponse {
                band: None,
                next_band: None,
                points_to_next_band: None,
            };
        };
        let s = standing(
            c,
            points,
            applicable_max,
            set.precision,
            set.points_precision,
        );
        StandingResponse {
            band: s.band.map(|b| BandResponse::new(set, b)),
            next_band: s.next.map(|b| BandResponse::new(set, b)),
            points_to_next_band: s.points_to_next,
        }
    }
}

/// Totals of an assessment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreSummary {
    #[schema(value_type = String, example = "270", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub max_points: Decimal,
    /// Max without the components that do not apply to the unit.
    #[schema(value_type = String, example = "270", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub applicable_max: Decimal,
    /// From the unit's own inputs.
    #[schema(value_type = String, example = "201.5", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub self_points: Decimal,
    /// With reviewer adjustments applied.
    #[schema(value_type = String, example = "198", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub reviewed_points: Decimal,
    /// Official, once the assessment is finalised.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub final_points: Option<Decimal>,
    /// The self index at the set's published precision, padded (`"0.4880"`).
    #[schema(value_type = Option<String>, example = "0.7333", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub self_index: Option<Decimal>,
    /// The reviewed index at the set's published precision, padded: what rankings compare.
    #[schema(value_type = Option<String>, example = "0.7333", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub reviewed_index: Option<Decimal>,
    /// The official index (published precision), once finalised.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub final_index: Option<Decimal>,
    /// The self index, exact (not rounded).
    #[schema(value_type = Option<String>, example = "0.73333333333333333333333333", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub self_index_exact: Option<Decimal>,
    /// The reviewed index, exact (not rounded).
    #[schema(value_type = Option<String>, example = "0.73333333333333333333333333", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub reviewed_index_exact: Option<Decimal>,
    /// Classification band (xếp loại) of the reviewed index, rounded to the set's precision.
    pub band: Option<BandResponse>,
}

impl ScoreSummary {
    /// As `set` shows it: indices at its published precision (the exact ones kept in
    /// `…_exact`), and the band of the reviewed index in its classification.
    pub fn banded(mut self, set: &CompiledSet) -> ScoreSummary {
        let shown = |i: Option<Decimal>| i.map(|i| shown_index(i, set.precision));
        self.band = BandResponse::of_index(set, self.reviewed_index_exact);
        self.self_index = shown(self.self_index_exact);
        self.reviewed_index = shown(self.reviewed_index_exact);
        self.final_index = shown(self.final_index);
        self
    }
}

impl From<&ScoreRow> for ScoreSummary {
    fn from(s: &ScoreRow) -> Self {
        ScoreSummary {
            max_points: s.max_points,
            applicable_max: s.applicable_max,
            self_points: s.self_points,
            reviewed_points: s.reviewed_points,
            final_points: s.final_points(),
            self_index: s.self_index,
            reviewed_index: s.reviewed_index,
            final_index: s.final_index(),
            self_index_exact: s.self_index.map(|d| d.normalize()),
            reviewed_index_exact: s.reviewed_index.map(|d| d.normalize()),
            band: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentSummary {
    pub id: Uuid,
    pub period_id: Uuid,
    pub unit: UnitSummary,
    pub group_id: Uuid,
    pub indicator_set_id: Uuid,
    pub state: AssessmentState,
    /// How it was finalised (finalised assessments only).
    pub finalised_as: Option<FinalisedAs>,
    /// Finalised by the office without a submission (as entered or at zero).
    pub not_submitted: bool,
    /// The current submission was made by the office on the unit's behalf.
    pub submitted_on_behalf: bool,
    /// Takes part in the group's ranking (false: excluded by the office, with a reason).
    pub ranked: bool,
    pub score: Option<ScoreSummary>,
    pub lock_version: i32,
}

pub fn summary(
    a: &Assessment,
    _p: &Period,
    unit: Option<&Unit>,
    score: Option<&ScoreRow>,
    set: &CompiledSet,
) -> AssessmentSummary {
    AssessmentSummary {
        id: a.id,
        period_id: a.period_id,
        unit: unit.map(UnitSummary::from).unwrap_or(UnitSummary {
            id: a.unit_id,
            code: String::new(),
            name: String::new(),
            kind: String::new(),
        }),
        group_id: a.group_id,
        indicator_set_id: a.set_id,
        state: a.state(),
        finalised_as: a.finalised_as(),
        not_submitted: a.finalised_as().is_some_and(FinalisedAs::not_submitted),
        submitted_on_behalf: a.submitted_on_behalf && !a.state().is_open(),
        ranked: !a.excluded(),
        score: score.map(|s| ScoreSummary::from(s).banded(set)),
        lock_version: a.lock_version,
    }
}

/// One stored answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "node_code": "1.2", "inputs": {"numerator": "3", "denominator": "4"}, "not_applicable": false,
    "note": "Số liệu quý IV năm 2025", "explanation": null, "version": 3,
    "updated_by": "3f2b8c1e-6a4d-4b7e-9c2f-1a5d7e9b0c42", "updated_at": "2026-01-12T08:30:00Z"
}))]
pub struct AnswerResponse {
    #[schema(example = "1.2")]
    pub node_code: String,
    /// The inputs in canonical form (decimals as strings).
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>, example = json!({"numerator": "3", "denominator": "4"}))]
    pub inputs: Option<Value>,
    pub not_applicable: bool,
    pub note: Option<String>,
    /// Giải trình: why evidence is missing, or why the component does not apply.
    pub explanation: Option<String>,
    /// The answer's version; send `If-Match: "v<version>"` to refuse lost updates.
    pub version: i32,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

fn answer_response(a: &Answer, code: &str) -> AnswerResponse {
    AnswerResponse {
        node_code: code.to_string(),
        inputs: a.inputs.clone(),
        not_applicable: a.not_applicable,
        note: a.note.clone(),
        explanation: a.explanation.clone(),
        version: a.lock_version,
        updated_by: a.updated_by,
        updated_at: a.updated_at,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastAction {
    pub action: String,
    pub actor_id: Option<Uuid>,
    pub at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentResponse {
    #[serde(flatten)]
    pub summary: AssessmentSummary,
    pub period_phase: PeriodPhase,
    /// What the caller may do now.
    pub allowed_actions: Vec<AssessmentAction>,
    pub last_action: Option<LastAction>,
    /// The last submission: when, by whom, and whether the office made it on the unit's
    /// behalf (with its reason).
    pub submission: Option<SubmissionInfo>,
    /// Why the office excluded the unit from the ranking (absent when it is ranked).
    pub ranking_exclusion: Option<RankingExclusionInfo>,
    /// The unit's own deadline, when the office set one.
    pub deadline: Option<DateTime<Utc>>,
    /// Overall rank in the ranking group (competition ranking on the rounded index). Unit
    /// accounts see it only once the group's results are published, as published.
    pub rank: Option<i32>,
    pub answers: Vec<AnswerResponse>,
}

/// Get an assessment: answers, state, score summary and the caller's allowed actions.
///
/// Unit accounts read their own unit's assessments only; provincial roles read all.
/// `allowed_actions` lists what this caller may do now (it already accounts for the role, the
/// period's phase and the assessment's state), so that a client shows only the buttons that
/// will work.
#[utoipa::path(tag = "assessments", params(("id" = Uuid, Path, description = "Assessment id")), responses((status = 200, description = "The assessment", body = AssessmentResponse, headers(("ETag" = String))), ErrorResponses), security(("bearer" = [])))]
#[get("/assessments/{id}")]
async fn get_assessment(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let body = crate::db::with_conn(&state.pool, move |c| {
        let (a, p) = svc::readable(c, &who, id)?;
        let entry = crate::services::scoring::set_entry(c, &caches, a.set_id)?;
        let answers = Assessment::answers(c, &[a.id])?;
        let (score, rank) = svc::stored_scores(c, &caches, &who, &a)?;
        let unit = Unit::find(c, a.unit_id)?;
        let people = super::office::people_of(c, &a)?;
        let mut answers: Vec<AnswerResponse> = answers
            .iter()
            .filter_map(|ans| entry.index_by_node_id.get(&ans.node_id).map(|i| (i, ans)))
            .map(|(i, ans)| answer_response(ans, &entry.set.nodes[*i].code))
            .collect();
        answers.sort_by_key(|a| entry.set.index_of(&a.node_code));
        Ok(AssessmentResponse {
            allowed_actions: svc::allowed_actions(&who, &a, &p),
            submission: super::office::submission_info(&a, &people),
            ranking_exclusion: super::office::exclusion_info(&a, &people),
            deadline: a.deadline,
            last_action: a.last_action.clone().map(|action| LastAction {
                action,
                actor_id: a.last_actor_id,
                at: a.last_action_at,
                reason: a.last_reason.clone(),
            }),
            rank,
            period_phase: p.phase,
            summary: summary(&a, &p, unit.as_ref(), score.as_ref(), &entry.set),
            answers,
        })
    })
    .await?;
    let v = body.summary.lock_version;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(v)))
        .json(body))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"inputs": {"numerator": 3, "denominator": 4}, "note": "3 trên 4 cuộc họp do Chủ tịch chủ trì"}))]
pub struct AnswerRequest {
    /// The inputs the node's method needs (see the node's `input_schema`): `{numerator,
    /// denominator}`, `{value}`, `{option}`, `{items: {...}}`, `{satisfied, respondents}` or
    /// `{points}`. Numbers may be JSON numbers or decimal strings.
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>)]
    pub inputs: Option<Value>,
    /// Declare the component not applicable (only where the set allows it; needs `explanation`).
    #[serde(default)]
    pub not_applicable: bool,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub note: Option<String>,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub explanation: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerWriteResponse {
    pub answer: AnswerResponse,
    /// The assessment's scores after the write (already stored, rankings updated).
    pub score: Option<ScoreSummary>,
    /// Overall rank, as far as the caller may see it (as `rank` of the assessment).
    pub rank: Option<i32>,
}

/// Answer one component.
///
/// The inputs are checked against the node's method (422 `INVALID_INPUT` with the node code and
/// field pointers); the score and the group's rankings are updated in the same transaction.
/// Send `If-Match: "v<version>"` of the answer you read (`"v0"` when there was none) to refuse
/// a lost update with 412. Integration tokens with the `automatic:write` scope may write the
/// automatically measured components (only those), like every writer only while the form is
/// not submitted or finalised (409 `ALREADY_SUBMITTED`, `ASSESSMENT_FINALISED`).
#[utoipa::path(
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment id"), ("node_code" = String, Path, description = "Leaf code", example = "1.2"), ("If-Match" = Option<String>, Header, description = "Answer version you read")),
    request_body = AnswerRequest,
    responses((status = 200, description = "Stored and rescored", body = AnswerWriteResponse, headers(("ETag" = String))), ErrorResponses),
    security(("bearer" = []))
)]
#[put("/assessments/{id}/answers/{node_code}")]
async fn put_answer(
    state: web::Data<AppState>,
    Writer(who): Writer,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: Json<AnswerRequest>,
) -> AppResult<HttpResponse> {
    gate_answer_write(&state, &who, path.0).await?;
    let body = body.read().await?;
    body.validate()?;
    let expected = if_match(&req)?;
    let (id, code) = path.into_inner();
    let b = body.into_inner();
    let input = AnswerInput {
        node_code: code.clone(),
        inputs: b.inputs,
        not_applicable: b.not_applicable,
        note: b.note,
        explanation: b.explanation,
        expected,
    };
    let caches = state.caches.clone();
    let resp = crate::db::with_conn(&state.pool, move |c| {
        let written = svc::put_answers(c, &caches, &who, id, vec![input], false)?;
        let entry = crate::services::scoring::set_entry(c, &caches, written.assessment.set_id)?;
        let answer = written
            .answers
            .first()
            .ok_or_else(|| AppError::internal("no answer stored"))?;
        Ok(AnswerWriteResponse {
            answer: answer_response(answer, &code),
            score: written
                .score
                .as_ref()
                .map(|s| ScoreSummary::from(s).banded(&entry.set)),
            rank: written.rank,
        })
    })
    .await?;
    let v = resp.answer.version;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(v)))
        .json(resp))
}

/// The object-level check of an answer or evidence write, before its body is read: no
/// database read for an assessment this server has seen (whose it is never changes).
pub(crate) async fn gate_answer_write(
    state: &web::Data<AppState>,
    who: &Principal,
    id: Uuid,
) -> AppResult<()> {
    if svc::authorise_known_answer_write(&state.caches, who, id)? {
        return Ok(());
    }
    let (gate, caches) = (who.clone(), state.caches.clone());
    crate::db::with_conn(&state.pool, move |c| {
        svc::authorise_and_remember(c, &caches, &gate, id)
    })
    .await
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchAnswer {
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub node_code: String,
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>)]
    pub inputs: Option<Value>,
    #[serde(default)]
    pub not_applicable: bool,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub note: Option<String>,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub explanation: Option<String>,
    /// The version of the answer you read (0 when none): refuses a lost update with 412.
    pub if_version: Option<i32>,
}

impl From<BatchAnswer> for AnswerInput {
    fn from(b: BatchAnswer) -> Self {
        AnswerInput {
            node_code: b.node_code,
            inputs: b.inputs,
            not_applicable: b.not_applicable,
            note: b.note,
            explanation: b.explanation,
            expected: IfMatch::version(b.if_version),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answers": [
    {"node_code": "1.1", "inputs": {"value": 3}},
    {"node_code": "1.2", "inputs": {"numerator": "3", "denominator": "4"}}
]}))]
pub struct BatchAnswersRequest {
    #[validate(length(min = 1, max = 2000), nested)]
    #[schema(max_items = 2000, min_items = 1)]
    pub answers: Vec<BatchAnswer>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswersResponse {
    pub answers: Vec<AnswerResponse>,
    pub score: Option<ScoreSummary>,
    /// Overall rank, as far as the caller may see it (as `rank` of the assessment).
    pub rank: Option<i32>,
}

/// Answer many components at once: all or nothing, one rescore.
///
/// Any invalid answer refuses the whole batch with every problem in `errors[]`
/// (`/answers/{i}/…` pointers); nothing is stored. Send an `Idempotency-Key` to make a retry
/// safe: a repeat of the same batch with the same key gets the first response back
/// (`Idempotent-Replayed: true`) and writes nothing.
#[utoipa::path(
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment id"), IdempotencyKeyHeader),
    request_body = BatchAnswersRequest,
    responses(
        (status = 200, description = "Stored and rescored (or replayed: see `Idempotency-Key`)", body = BatchAnswersResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_INPUT` (nothing stored), or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[put("/assessments/{id}/answers")]
async fn put_answers(
    state: web::Data<AppState>,
    Writer(who): Writer,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: Json<BatchAnswersRequest>,
) -> AppResult<HttpResponse> {
    gate_answer_write(&state, &who, *id).await?;
    let body = body.read().await?;
    body.validate()?;
    let id = id.into_inner();
    // The parsed body, re-serialised: the same batch is the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let inputs: Vec<AnswerInput> = body
        .into_inner()
        .answers
        .into_iter()
        .map(AnswerInput::from)
        .collect();
    let codes: Vec<String> = inputs.iter().map(|i| i.node_code.clone()).collect();
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |c: &mut _| svc::authorise_answer_write(c, &who, id).map(drop);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let written = svc::put_answers(c, &caches, &who, id, inputs, true)?;
            let entry = crate::services::scoring::set_entry(c, &caches, written.assessment.set_id)?;
            let body = to_body(BatchAnswersResponse {
                answers: written
                    .answers
                    .iter()
                    .zip(&codes)
                    .map(|(s, code)| answer_response(s, code))
                    .collect(),
                score: written
                    .score
                    .as_ref()
                    .map(|s| ScoreSummary::from(s).banded(&entry.set)),
                rank: written.rank,
            })?;
            Ok((200, body))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

/// The explanation of one number: inputs → rule → raw → capped → contribution.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceResponse {
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>)]
    pub inputs: Option<Value>,
    #[schema(example = "20 × 3/4")]
    pub rule: String,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub raw: Decimal,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub capped: Decimal,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub contribution: Decimal,
}

impl From<&crate::scoring::Trace> for TraceResponse {
    fn from(t: &crate::scoring::Trace) -> Self {
        TraceResponse {
            inputs: t.inputs.clone(),
            rule: t.rule.clone(),
            raw: t.raw.normalize(),
            capped: t.capped.normalize(),
            contribution: t.contribution.normalize(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeScoreResponse {
    pub code: String,
    pub name: String,
    pub kind: crate::domain::indicator_set::NodeKind,
    pub parent_code: Option<String>,
    pub depth: usize,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub max_points: Decimal,
    pub applicable: bool,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub applicable_max: Decimal,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub self_points: Decimal,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub reviewed_points: Decimal,
    /// Official points once the assessment is finalised.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub final_points: Option<Decimal>,
    /// At the set's published precision, padded.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub self_index: Option<Decimal>,
    /// At the set's published precision, padded.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub reviewed_index: Option<Decimal>,
    /// The self index, exact.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub self_index_exact: Option<Decimal>,
    /// The reviewed index, exact.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub reviewed_index_exact: Option<Decimal>,
    /// applicable max − reviewed points: what the unit left on the table.
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points_lost: Decimal,
    pub adjusted: bool,
    /// `EVIDENCE_MISSING`, `UNANSWERED`, `NOT_APPLICABLE`, `CAPPED`, `ADJUSTED`, …
    pub flags: Vec<String>,
    pub self_trace: TraceResponse,
    pub reviewed_trace: TraceResponse,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreTreeResponse {
    pub assessment_id: Uuid,
    pub unit: UnitSummary,
    pub finalised: bool,
    pub total: NodeScoreResponse,
    /// Every node in tree order.
    pub nodes: Vec<NodeScoreResponse>,
    /// Overall rank in the group (stored); for unit accounts, the published one once
    /// published, and null before.
    pub rank: Option<i32>,
    /// The classification of the reviewed total: band, next band, points still needed.
    pub standing: StandingResponse,
    /// The reviewers' adjustments with their reasons.
    pub adjustments: Vec<AdjustmentNote>,
}

fn node_response(
    set: &CompiledSet,
    i: Option<usize>,
    n: &NodeScore,
    finalised: bool,
) -> NodeScoreResponse {
    let (code, name, kind, parent, depth) = match i {
        Some(i) => {
            let c = &set.nodes[i];
            (
                c.code.clone(),
                c.name.clone(),
                c.kind,
                c.parent.map(|p| set.nodes[p].code.clone()),
                c.depth,
            )
        }
        None => (
            set.code.clone(),
            set.name.clone(),
            crate::domain::indicator_set::NodeKind::Group,
            None,
            0,
        ),
    };
    NodeScoreResponse {
        code,
        name,
        kind,
        parent_code: parent,
        depth,
        max_points: n.max_points.normalize(),
        applicable: n.applicable,
        applicable_max: n.applicable_max.normalize(),
        self_points: n.self_points.normalize(),
        reviewed_points: n.reviewed_points.normalize(),
        final_points: crate::scoring::final_value(finalised, n.reviewed_points.normalize()),
        self_index: n.self_index.map(|d| shown_index(d, set.precision)),
        reviewed_index: n.reviewed_index.map(|d| shown_index(d, set.precision)),
        self_index_exact: n.self_index.map(|d| d.normalize()),
        reviewed_index_exact: n.reviewed_index.map(|d| d.normalize()),
        points_lost: (n.applicable_max - n.reviewed_points)
            .max(Decimal::ZERO)
            .normalize(),
        adjusted: n.adjusted,
        flags: n.flags.iter().map(|f| f.to_string()).collect(),
        self_trace: (&n.self_trace).into(),
        reviewed_trace: (&n.reviewed_trace).into(),
    }
}

fn tree(
    set: &CompiledSet,
    a: &Assessment,
    unit: Option<&Unit>,
    s: &UnitScores,
    rank: Option<i32>,
) -> ScoreTreeResponse {
    let finalised = a.state == AssessmentState::Finalised;
    ScoreTreeResponse {
        assessment_id: a.id,
        unit: unit.map(UnitSummary::from).unwrap_or(UnitSummary {
            id: a.unit_id,
            code: String::new(),
            name: String::new(),
            kind: String::new(),
        }),
        finalised,
        total: node_response(set, None, &s.total, finalised),
        nodes: s
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| node_response(set, Some(i), n, finalised))
            .collect(),
        rank,
        standing: StandingResponse::new(set, s.total.reviewed_points, s.total.applicable_max),
        adjustments: Vec::new(),
    }
}

/// The explained score tree: self, reviewed and final points per node with the trace of each.
///
/// Per node: self (the unit's inputs), reviewed (with adjustments) and final points (once
/// finalised), the applicable maximum, the index, and the trace of how each leaf was scored.
/// Use `GET …/score/export` for a spreadsheet of the same tree.
#[utoipa::path(tag = "assessments", params(("id" = Uuid, Path, description = "Assessment id")), responses((status = 200, description = "Score tree", body = ScoreTreeResponse), ErrorResponses), security(("bearer" = [])))]
#[get("/assessments/{id}/score")]
async fn get_assessment_score(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<ScoreTreeResponse>> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let body = crate::db::with_conn(&state.pool, move |c| {
        let (a, _) = svc::readable(c, &who, id)?;
        let (entry, scores) = svc::explain(c, &caches, &a, &[])?;
        let (_, rank) = svc::stored_scores(c, &caches, &who, &a)?;
        let unit = Unit::find(c, a.unit_id)?;
        let mut t = tree(&entry.set, &a, unit.as_ref(), &scores, rank);
        t.adjustments = Assessment::adjustments(c, &[a.id])?
            .into_iter()
            .filter_map(|adj| {
                let i = *entry.index_by_node_id.get(&adj.node_id)?;
                Some(AdjustmentNote {
                    node_code: entry.set.nodes[i].code.clone(),
                    inputs: adj.inputs,
                    points: adj.points,
                    not_applicable: adj.not_applicable,
                    reason: adj.reason,
                    reviewer_id: adj.reviewer_id,
                    updated_at: adj.updated_at,
                })
            })
            .collect();
        Ok(t)
    })
    .await?;
    Ok(web::Json(body))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answers": [{"node_code": "1.1", "inputs": {"value": 4}}]}))]
pub struct WhatIfRequest {
    #[validate(length(min = 1, max = 2000), nested)]
    #[schema(max_items = 2000, min_items = 1)]
    pub answers: Vec<BatchAnswer>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhatIfResponse {
    /// The score tree if these answers were stored.
    pub score: ScoreTreeResponse,
    /// The overall rank it would have against the other units' current scores; for unit
    /// accounts, against the published ones once published, and null before.
    pub rank: Option<i32>,
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub index: Option<Decimal>,
    /// The band that index would be in.
    pub band: Option<BandResponse>,
    /// The band above it (`null` in the highest band).
    pub next_band: Option<BandResponse>,
    /// The fewest additional points that would still be needed to reach `next_band`.
    #[schema(value_type = Option<String>, example = "15.01", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points_to_next_band: Option<Decimal>,
}

/// What if: "if we reach X on indicator Y, what would our score and rank be?" Saves nothing.
///
/// Unit accounts get their own points and index, and a rank only once their group's results
/// are published (against the published indices): before, a rank would tell them the other
/// units' unpublished scores.
#[utoipa::path(tag = "assessments", params(("id" = Uuid, Path, description = "Assessment id")), request_body = WhatIfRequest, responses((status = 200, description = "Hypothetical score and rank", body = WhatIfResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/assessments/{id}/what-if")]
async fn what_if(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<WhatIfRequest>,
) -> AppResult<web::Json<WhatIfResponse>> {
    let (gate, assessment) = (who.clone(), *id);
    crate::db::with_conn(&state.pool, move |c| svc::readable(c, &gate, assessment)).await?;
    let body = body.read().await?;
    body.validate()?;
    let id = id.into_inner();
    let inputs: Vec<AnswerInput> = body
        .into_inner()
        .answers
        .into_iter()
        .map(AnswerInput::from)
        .collect();
    let caches = state.caches.clone();
    let body = crate::db::with_conn(&state.pool, move |c| {
        let svc::WhatIf {
            entry,
            scores,
            rank,
            index,
        } = svc::what_if(c, &caches, &who, id, inputs)?;
        let a = Assessment::find(c, id)?.ok_or_else(|| AppError::not_found("assessment", id))?;
        let unit = Unit::find(c, a.unit_id)?;
        let score = tree(&entry.set, &a, unit.as_ref(), &scores, rank);
        let StandingResponse {
            band,
            next_band,
            points_to_next_band,
        } = StandingResponse::new(
            &entry.set,
            scores.total.reviewed_points,
            scores.total.applicable_max,
        );
        Ok(WhatIfResponse {
            score,
            rank,
            index,
            band,
            next_band,
            points_to_next_band,
        })
    })
    .await?;
    Ok(web::Json(body))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Thiếu biên bản họp Ban chỉ đạo quý IV"}))]
pub struct ReasonRequest {
    /// Why (mandatory): shown to the unit.
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 10000)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateResponse {
    pub id: Uuid,
    pub state: AssessmentState,
    pub last_action: Option<LastAction>,
    pub lock_version: i32,
}

fn state_response(a: Assessment) -> StateResponse {
    StateResponse {
        id: a.id,
        last_action: a.last_action.clone().map(|action| LastAction {
            action,
            actor_id: a.last_actor_id,
            at: a.last_action_at,
            reason: a.last_reason.clone(),
        }),
        state: a.state(),
        lock_version: a.lock_version,
    }
}

/// The unit leader confirms and submits the self-assessment.
///
/// Refused for editors (403 `LEADER_ONLY`) and with 422 `INCOMPLETE` listing every component
/// that still needs an answer, or evidence or an explanation (`errors[].field` = node code).
/// After submission the unit can no longer edit until a reviewer returns the assessment.
#[utoipa::path(tag = "workflow", params(("id" = Uuid, Path, description = "Assessment id")), responses((status = 200, description = "Submitted", body = StateResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/assessments/{id}/submit")]
async fn submit_assessment(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<StateResponse>> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let a = crate::db::with_conn(&state.pool, move |c| {
        crate::services::workflow::submit(c, &caches, &who, id)
    })
    .await?;
    Ok(web::Json(state_response(a)))
}

/// A reviewer returns a submitted assessment to the unit, with a reason.
///
/// With a mandatory reason, shown to the unit. The unit may edit its answers again and submit
/// once more.
#[utoipa::path(tag = "workflow", params(("id" = Uuid, Path, description = "Assessment id")), request_body = ReasonRequest, responses((status = 200, description = "Returned", body = StateResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/assessments/{id}/return")]
async fn return_assessment(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<ReasonRequest>,
) -> AppResult<web::Json<StateResponse>> {
    crate::services::workflow::reviewer(&who, "return assessments")?;
    let body = body.read().await?;
    body.validate()?;
    let id = id.into_inner();
    let reason = body.into_inner().reason;
    let caches = state.caches.clone();
    let a = crate::db::with_conn(&state.pool, move |c| {
        crate::services::workflow::return_to_unit(c, &caches, &who, id, &reason)
    })
    .await?;
    Ok(web::Json(state_response(a)))
}

/// A reviewer finalises a submitted assessment during review: reviewed points become final.
///
/// The assessment must be submitted and the period in review. The result becomes official; the
/// unit can no longer change it, and only an administrator's reopen brings it back.
#[utoipa::path(tag = "workflow", params(("id" = Uuid, Path, description = "Assessment id")), responses((status = 200, description = "Finalised", body = StateResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/assessments/{id}/finalise")]
async fn finalise_assessment(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<StateResponse>> {
    let id = id.into_inner();
    let caches = state.caches.clone();
    let a = crate::db::with_conn(&state.pool, move |c| {
        crate::services::workflow::finalise(c, &caches, &who, id)
    })
    .await?;
    Ok(web::Json(state_response(a)))
}

/// The administrator reopens a submitted or finalised assessment for correction.
///
/// A mandatory reason is recorded and shown to the unit.
#[utoipa::path(tag = "workflow", params(("id" = Uuid, Path, description = "Assessment id")), request_body = ReasonRequest, responses((status = 200, description = "Reopened (returned to the unit)", body = StateResponse), ErrorResponses), security(("bearer" = [])))]
#[post("/assessments/{id}/reopen")]
async fn reopen_assessment(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
    body: Json<ReasonRequest>,
) -> AppResult<web::Json<StateResponse>> {
    who.require_admin("reopen assessments")?;
    let body = body.read().await?;
    body.validate()?;
    let id = id.into_inner();
    let reason = body.into_inner().reason;
    let caches = state.caches.clone();
    let a = crate::db::with_conn(&state.pool, move |c| {
        crate::services::workflow::reopen(c, &caches, &who, id, &reason)
    })
    .await?;
    Ok(web::Json(state_response(a)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"inputs": {"numerator": 2, "denominator": 4}, "reason": "Chỉ 2 biên bản có chữ ký Chủ tịch"}))]
pub struct AdjustmentRequest {
    /// Corrected inputs (scored by the node's method).
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>)]
    pub inputs: Option<Value>,
    /// Or points given directly (0 ≤ points ≤ max); wins over inputs.
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points: Option<Decimal>,
    /// Or overrule the applicability the unit declared.
    pub not_applicable: Option<bool>,
    /// Mandatory.
    #[validate(length(min = 1, max = 10000))]
    #[schema(min_length = 1)]
    #[schema(max_length = 10000)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentResponse {
    pub node_code: String,
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>)]
    pub inputs: Option<Value>,
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points: Option<Decimal>,
    pub not_applicable: Option<bool>,
    pub reason: String,
    pub reviewer_id: Option<Uuid>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// The assessment's scores after the adjustment.
    pub score: Option<ScoreSummary>,
}

/// A reviewer adjusts one component during review (the unit's own value stays; self, reviewed
/// and final are shown side by side in the score tree).
///
/// Send either `inputs` (scored with the component's method) or `points` (0 ≤ points ≤ max),
/// and a mandatory `reason`, which the unit sees. Allowed for reviewers and administrators
/// while the assessment is submitted during review.
#[utoipa::path(
    tag = "workflow",
    params(("id" = Uuid, Path, description = "Assessment id"), ("node_code" = String, Path, description = "Leaf code")),
    request_body = AdjustmentRequest,
    responses((status = 200, description = "Adjusted and rescored", body = AdjustmentResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[put("/assessments/{id}/adjustments/{node_code}")]
async fn put_adjustment(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, String)>,
    body: Json<AdjustmentRequest>,
) -> AppResult<web::Json<AdjustmentResponse>> {
    crate::services::workflow::reviewer(&who, "adjust assessments")?;
    let body = body.read().await?;
    body.validate()?;
    let (id, code) = path.into_inner();
    let b = body.into_inner();
    let input = crate::services::workflow::AdjustInput {
        node_code: code.clone(),
        inputs: b.inputs,
        points: b.points,
        not_applicable: b.not_applicable,
        reason: b.reason,
    };
    let caches = state.caches.clone();
    let resp = crate::db::with_conn(&state.pool, move |c| {
        let row = crate::services::workflow::adjust(c, &caches, &who, id, input)?;
        let a = Assessment::find(c, id)?.ok_or_else(|| AppError::not_found("assessment", id))?;
        let (score, _) = svc::stored_scores(c, &caches, &who, &a)?;
        let entry = crate::services::scoring::set_entry(c, &caches, a.set_id)?;
        Ok(AdjustmentResponse {
            node_code: code,
            inputs: row.inputs,
            points: row.points,
            not_applicable: row.not_applicable,
            reason: row.reason,
            reviewer_id: row.reviewer_id,
            version: row.lock_version,
            updated_at: row.updated_at,
            score: score
                .as_ref()
                .map(|s| ScoreSummary::from(s).banded(&entry.set)),
        })
    })
    .await?;
    Ok(web::Json(resp))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentNote {
    pub node_code: String,
    #[schema(value_type = Option<crate::scoring::input::shapes::AnswerInputs>)]
    pub inputs: Option<Value>,
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points: Option<Decimal>,
    pub not_applicable: Option<bool>,
    pub reason: String,
    pub reviewer_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}
