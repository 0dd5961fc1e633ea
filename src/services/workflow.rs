//! The assessment's life after data entry: the leader confirms (submit), reviewers adjust,
//! return or finalise, the administrator reopens. Every step is checked against the phase and
//! state, audited, and rescored in the same transaction where numbers can move.
//!
//! The office is never held hostage by a unit that does not act: for a late or silent unit an
//! administrator may submit on its behalf (with a reason the unit sees), finalise it as
//! entered or at zero (recorded as "not submitted"), or exclude it from the ranking with a
//! reason. These decisions, and the reviewers' finalise and return, are [`Decision`]s: one
//! rule set ([`authorise`], [`check`]) says who may take which decision when, for one
//! assessment, for many at once (`services::bulk`) and for the `allowed_actions` a caller sees.
//!
//! Corrections after publication: while the period is in review (results may already be
//! published), a reopened assessment goes back to the unit as a returned one. Once the period
//! is `published`, the unit's form stays closed: the administrator reopens the assessment back
//! to the reviewers (state `submitted`), who correct it with adjustments (each with its reason)
//! and finalise it; the group is then published again as an errata version with a changelog.

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::{AdjustmentRow, Assessment, StateChange, Submission};
use crate::db::models::periods::Period;
use crate::domain::Role;
use crate::domain::indicator_set::Method;
use crate::domain::workflow::{AssessmentState, FinalisedAs, PeriodPhase};
use crate::error::{AppError, AppResult, FieldError};
use crate::scoring::{CompiledSet, UnitScores, flags, input_to_json, parse_input};
use crate::services::assessments::{explain, input_field_error};
use crate::services::outbox::{self, Event};
use crate::services::scoring::Caches;
use crate::services::scoring::{lock_assessment, rescore_assessment, set_entry};

/// The assessment, locked in the lock order (its group, then it), and its period.
fn load(c: &mut PgConnection, id: Uuid) -> AppResult<(Assessment, Period)> {
    let a = lock_assessment(c, id)?;
    let p =
        Period::find(c, a.period_id)?.ok_or_else(|| AppError::not_found("period", a.period_id))?;
    Ok((a, p))
}

fn require_phase(p: &Period, phases: &[PeriodPhase]) -> AppResult<()> {
    if phases.contains(&p.phase()) {
        Ok(())
    } else {
        Err(AppError::conflict(
            "PHASE_CLOSED",
            format!("Not possible while the period is in phase {}.", p.phase),
        )
        .with_extension("allowed_in_phase", phases))
    }
}

fn require_state(a: &Assessment, states: &[AssessmentState]) -> AppResult<()> {
    let state = a.state();
    if states.contains(&state) {
        return Ok(());
    }
    let code = match state {
        AssessmentState::Submitted => "ALREADY_SUBMITTED",
        AssessmentState::Finalised => "ASSESSMENT_FINALISED",
        _ => "INVALID_STATE",
    };
    Err(AppError::conflict(
        code,
        format!("Not possible while the assessment is {state}."),
    )
    .with_extension("allowed_in_state", states))
}

/// Reviewers (and the administrator) review: return, adjust, finalise.
pub fn reviewer(actor: &Principal, action: &str) -> AppResult<()> {
    actor.require_role(&[Role::Reviewer, Role::Admin], action)
}

/// Records a state change with its audit event (`assessment.<action>`).
fn record(
    c: &mut PgConnection,
    actor: &Principal,
    a: &Assessment,
    change: StateChange,
) -> AppResult<Assessment> {
    let updated = Assessment::change_state(c, a.id, &change)?;
    outbox::emit(
        c,
        Event::assessment(change.action, &updated, actor, change.reason),
    )?;
    let mut new = serde_json::json!({"state": updated.state, "reason": change.reason});
    if let Some(f) = change.finalised_as {
        new["finalised_as"] = f.as_str().into();
        new["not_submitted"] = f.not_submitted().into();
    }
    if change.submission == Some(Submission::OnBehalf) {
        // the administrator acted for the unit's leader, who alone submits otherwise
        new["acting_for"] = Role::UnitLeader.as_str().into();
    }
    Audit::new(
        Some(actor),
        &format!("assessment.{}", change.action),
        "assessment",
        a.id,
    )
    .unit(Some(a.unit_id))
    .period(Some(a.period_id))
    .old(serde_json::json!({"state": a.state}))
    .new_value(new)
    .record(c)?;
    Ok(updated)
}

/// Where a unit's own form stands: the leaves the unit answers itself (scored, not measured
/// automatically, with points to earn, applicable to it), and those of them still unanswered
/// or missing evidence (neither evidence nor an explanation). What blocks a submission and
/// what the progress board counts.
pub struct FormProgress {
    pub applicable: usize,
    pub unanswered: Vec<usize>,
    pub evidence_missing: Vec<usize>,
}

impl FormProgress {
    pub fn answered(&self) -> usize {
        self.applicable - self.unanswered.len()
    }
}

pub fn form_progress(set: &CompiledSet, scores: &UnitScores) -> FormProgress {
    let mut p = FormProgress {
        applicable: 0,
        unanswered: Vec::new(),
        evidence_missing: Vec::new(),
    };
    for (i, n) in set.nodes.iter().enumerate() {
        if !n.answered_by_unit() {
            continue;
        }
        let s = &scores.nodes[i];
        if !s.self_applicable {
            continue;
        }
        p.applicable += 1;
        if s.flags.contains(&flags::UNANSWERED) {
            p.unanswered.push(i);
        } else if s.flags.contains(&flags::EVIDENCE_MISSING) {
            p.evidence_missing.push(i);
        }
    }
    p
}

/// What still blocks a submission: unanswered applicable leaves, and evidence-required leaves
/// with neither evidence nor an explanation. Automatic leaves are the platform's business.
pub fn missing(
    c: &mut PgConnection,
    caches: &Caches,
    a: &Assessment,
) -> AppResult<Vec<FieldError>> {
    let (entry, scores) = explain(c, caches, a, &[])?;
    let progress = form_progress(&entry.set, &scores);
    let mut out: Vec<(usize, FieldError)> = Vec::new();
    for i in progress.unanswered {
        let code = entry.set.nodes[i].code.clone();
        out.push((i, FieldError::new(code, "UNANSWERED", "no answer yet")));
    }
    for i in progress.evidence_missing {
        let code = entry.set.nodes[i].code.clone();
        out.push((
            i,
            FieldError::new(
                code,
                "EVIDENCE_REQUIRED",
                "attach evidence or write an explanation (giải trình)",
            ),
        ));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

/// The unit leader confirms the self-assessment.
pub fn submit(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
) -> AppResult<Assessment> {
    conn.transaction(|c| {
        let unit = Assessment::find(c, id)?.ok_or_else(|| AppError::not_found("assessment", id))?.unit_id;
        actor.require_unit_data(unit)?;
        let (a, p) = load(c, id)?;
        if actor.role != Role::UnitLeader {
            return Err(AppError::forbidden("LEADER_ONLY", "Only the unit's leader (lãnh đạo) confirms and submits the self-assessment."));
        }
        // a retry of this leader's own submission: answered as the first time, nothing written
        if a.state == AssessmentState::Submitted && a.last_action.as_deref() == Some("submit") && a.last_actor_id == Some(actor.actor_id()) {
            return Ok(a);
        }
        if !crate::services::assessments::unit_window_open(&a, &p) {
            require_phase(&p, &[PeriodPhase::SelfAssessment])?;
        }
        require_state(&a, &[AssessmentState::NotStarted, AssessmentState::InProgress, AssessmentState::Returned])?;
        let missing = missing(c, caches, &a)?;
        if !missing.is_empty() {
            return Err(AppError::unprocessable("INCOMPLETE", format!("{} component(s) still need an answer or evidence; see errors[] (field = node code).", missing.len())).with_errors(missing));
        }
        record(c, actor, &a, StateChange {
            state: AssessmentState::Submitted,
            finalised_as: None,
            action: "submit",
            actor: Some(actor.actor_id()),
            reason: None,
            submission: Some(Submission::ByUnit),
        })
    })
}

/// A decision of a reviewer or of the office about one assessment.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Finalise a submitted assessment: the reviewed points become official.
    Finalise,
    /// Send a submitted assessment back to the unit.
    Return { reason: String },
    /// Set (or, with `None`, remove) the unit's own deadline.
    SetDeadline { deadline: Option<DateTime<Utc>> },
    /// Submit an unsubmitted assessment for its unit, whatever it still lacks.
    SubmitOnBehalf { reason: String },
    /// Finalise an unsubmitted assessment as entered or at zero ("not submitted").
    FinaliseNotSubmitted {
        finalised_as: FinalisedAs,
        reason: String,
    },
}

/// 422 `REQUIRED` at `/reason` unless `reason` has a non-blank character.
fn require_reason(reason: &str) -> AppResult<()> {
    if reason.trim().is_empty() {
        return Err(AppError::validation(vec![FieldError::new(
            "/reason",
            "REQUIRED",
            "give a reason (it is shown to the unit)",
        )]));
    }
    Ok(())
}

impl Decision {
    /// The mandatory reason of the decisions that take one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::Return { reason }
            | Decision::SubmitOnBehalf { reason }
            | Decision::FinaliseNotSubmitted { reason, .. } => Some(reason),
            Decision::Finalise | Decision::SetDeadline { .. } => None,
        }
    }

    /// Whether applying it can move a number (and so needs a rescore).
    pub fn rescores(&self) -> bool {
        matches!(
            self,
            Decision::Finalise | Decision::FinaliseNotSubmitted { .. }
        )
    }
}

/// Who may take `d` at all (403 `FORBIDDEN_ROLE` otherwise); checked before anything is read.
pub fn authorise(actor: &Principal, d: &Decision) -> AppResult<()> {
    match d {
        Decision::Finalise => reviewer(actor, "finalise assessments"),
        Decision::Return { .. } => reviewer(actor, "return assessments"),
        Decision::SetDeadline { .. } => actor.require_admin("extend deadlines"),
        Decision::SubmitOnBehalf { .. } => {
            actor.require_admin("submit assessments on a unit's behalf")
        }
        Decision::FinaliseNotSubmitted { .. } => {
            actor.require_admin("finalise assessments that were not submitted")
        }
    }
}

/// Whether `d` may be taken now for `a` in `p` (the caller's role included): the one rule set
/// for single calls, bulk calls and `allowed_actions`.
pub fn check(actor: &Principal, a: &Assessment, p: &Period, d: &Decision) -> AppResult<()> {
    use AssessmentState::*;
    authorise(actor, d)?;
    match d {
        Decision::Finalise => {
            require_phase(p, &REVIEWING)?;
            require_state(a, &[Submitted])
        }
        Decision::Return { .. } => {
            require_phase(p, &PeriodPhase::DECIDING)?;
            require_state(a, &[Submitted])
        }
        // a finalised result is official: extending its deadline would change nothing
        Decision::SetDeadline { .. } => {
            require_state(a, &[NotStarted, InProgress, Submitted, Returned])
        }
        Decision::SubmitOnBehalf { .. } => {
            require_phase(p, &PeriodPhase::DECIDING)?;
            require_state(a, &[NotStarted, InProgress, Returned])
        }
        Decision::FinaliseNotSubmitted { .. } => {
            require_phase(p, &[PeriodPhase::Review])?;
            require_state(a, &[NotStarted, InProgress, Returned])
        }
    }
}

/// Applies a checked decision to a locked assessment, with its audit event; no rescore (the
/// caller rescores once, see [`Decision::rescores`]).
pub fn apply(
    c: &mut PgConnection,
    actor: &Principal,
    a: &Assessment,
    d: &Decision,
) -> AppResult<Assessment> {
    use AssessmentState::*;
    let (state, finalised_as, action, reason, submission) = match d {
        Decision::SetDeadline { deadline } => {
            let updated = Assessment::set_deadline(c, a.id, *deadline)?;
            Audit::new(Some(actor), "assessment.deadline", "assessment", a.id)
                .unit(Some(a.unit_id))
                .period(Some(a.period_id))
                .old(serde_json::json!({"deadline": a.deadline}))
                .new_value(serde_json::json!({"deadline": deadline}))
                .record(c)?;
            return Ok(updated);
        }
        Decision::Finalise => (
            Finalised,
            Some(FinalisedAs::Reviewed),
            "finalise",
            None,
            None,
        ),
        Decision::Return { reason } => (Returned, None, "return", Some(reason.trim()), None),
        Decision::SubmitOnBehalf { reason } => (
            Submitted,
            None,
            "submit_on_behalf",
            Some(reason.trim()),
            Some(Submission::OnBehalf),
        ),
        Decision::FinaliseNotSubmitted {
            finalised_as,
            reason,
        } => (
            Finalised,
            Some(*finalised_as),
            match finalised_as {
                FinalisedAs::AtZero => "finalise_at_zero",
                _ => "finalise_as_entered",
            },
            Some(reason.trim()),
            None,
        ),
    };
    let change = StateChange {
        state,
        finalised_as,
        action,
        actor: Some(actor.actor_id()),
        reason,
        submission,
    };
    record(c, actor, a, change)
}

/// Takes one decision about one assessment: checked, applied, audited and rescored in one
/// transaction.
pub fn decide(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    d: Decision,
) -> AppResult<Assessment> {
    authorise(actor, &d)?;
    if let Some(reason) = d.reason() {
        require_reason(reason)?;
    }
    conn.transaction(|c| {
        let (a, p) = load(c, id)?;
        check(actor, &a, &p, &d)?;
        let updated = apply(c, actor, &a, &d)?;
        if d.rescores() {
            rescore_assessment(c, caches, &updated)?;
        }
        Ok(updated)
    })
}

/// A reviewer sends the assessment back to the unit with a reason.
pub fn return_to_unit(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    reason: &str,
) -> AppResult<Assessment> {
    decide(
        conn,
        caches,
        actor,
        id,
        Decision::Return {
            reason: reason.to_string(),
        },
    )
}

/// The phases in which reviewers adjust and finalise: review, and after publication the
/// correction of an assessment the administrator reopened.
pub const REVIEWING: [PeriodPhase; 2] = [PeriodPhase::Review, PeriodPhase::Published];

/// A reviewer finalises: the reviewed points become the official (final) ones.
pub fn finalise(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
) -> AppResult<Assessment> {
    decide(conn, caches, actor, id, Decision::Finalise)
}

/// The administrator reopens a submitted or finalised assessment for correction: back to the
/// unit (`returned`) while the period is in self-assessment or review; back to the reviewers
/// (`submitted`) once it is published, for an errata (see the module documentation).
pub fn reopen(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    reason: &str,
) -> AppResult<Assessment> {
    actor.require_admin("reopen assessments")?;
    conn.transaction(|c| {
        // the period first (lock order): a reopen and the move to `published` never cross
        let period = Assessment::find(c, id)?
            .ok_or_else(|| AppError::not_found("assessment", id))?
            .period_id;
        Period::find_for_update(c, period)?;
        let (a, p) = load(c, id)?;
        require_phase(&p, &REOPENING)?;
        require_state(
            &a,
            &[AssessmentState::Submitted, AssessmentState::Finalised],
        )?;
        let state = if p.phase() == PeriodPhase::Published {
            AssessmentState::Submitted
        } else {
            AssessmentState::Returned
        };
        let updated = record(
            c,
            actor,
            &a,
            StateChange {
                state,
                finalised_as: None,
                action: "reopen",
                actor: Some(actor.actor_id()),
                reason: Some(reason),
                submission: None,
            },
        )?;
        rescore_assessment(c, caches, &updated)?;
        Ok(updated)
    })
}

/// The phases in which the administrator reopens an assessment.
pub const REOPENING: [PeriodPhase; 3] = [
    PeriodPhase::SelfAssessment,
    PeriodPhase::Review,
    PeriodPhase::Published,
];

/// Whether the caller may exclude units from (or include them in) the period's ranking now:
/// the office, before the results are published.
pub fn ranking_exclusion_open(actor: &Principal, p: &Period) -> AppResult<()> {
    actor.require_admin("exclude units from the ranking")?;
    require_phase(p, &PeriodPhase::DECIDING)
}

/// Excludes the unit from the period's ranking with a reason (admin), or changes the reason:
/// it stays listed, shown as not ranked, and takes no rank from the others.
pub fn exclude_from_ranking(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    reason: &str,
) -> AppResult<Assessment> {
    actor.require_admin("exclude units from the ranking")?;
    require_reason(reason)?;
    let reason = reason.trim();
    conn.transaction(|c| {
        let (a, p) = load(c, id)?;
        ranking_exclusion_open(actor, &p)?;
        let updated = Assessment::set_exclusion(c, a.id, Some((reason, actor.actor_id())))?;
        Audit::new(
            Some(actor),
            "assessment.exclude_from_ranking",
            "assessment",
            a.id,
        )
        .unit(Some(a.unit_id))
        .period(Some(a.period_id))
        .old(serde_json::json!({"excluded_reason": a.excluded_reason}))
        .new_value(serde_json::json!({"excluded_reason": reason}))
        .record(c)?;
        rescore_assessment(c, caches, &updated)?;
        Ok(updated)
    })
}

/// Ranks an excluded unit again (admin); 404 when it is not excluded.
pub fn include_in_ranking(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
) -> AppResult<Assessment> {
    actor.require_admin("include units in the ranking")?;
    conn.transaction(|c| {
        let (a, p) = load(c, id)?;
        if !a.excluded() {
            return Err(AppError::not_found("ranking exclusion of assessment", id));
        }
        ranking_exclusion_open(actor, &p)?;
        let updated = Assessment::set_exclusion(c, a.id, None)?;
        Audit::new(
            Some(actor),
            "assessment.include_in_ranking",
            "assessment",
            a.id,
        )
        .unit(Some(a.unit_id))
        .period(Some(a.period_id))
        .old(serde_json::json!({"excluded_reason": a.excluded_reason}))
        .new_value(serde_json::json!({"excluded_reason": null}))
        .record(c)?;
        rescore_assessment(c, caches, &updated)?;
        Ok(updated)
    })
}

pub struct AdjustInput {
    pub node_code: String,
    pub inputs: Option<Value>,
    pub points: Option<Decimal>,
    pub not_applicable: Option<bool>,
    pub reason: String,
}

/// A reviewer adjusts one component (inputs, points or applicability) with a mandatory reason;
/// the unit's own answer is kept as it was.
pub fn adjust(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    input: AdjustInput,
) -> AppResult<AdjustmentRow> {
    reviewer(actor, "adjust assessments")?;
    conn.transaction(|c| {
        let (a, p) = load(c, id)?;
        require_phase(&p, &REVIEWING)?;
        require_state(&a, &[AssessmentState::Submitted])?;
        let entry = set_entry(c, caches, a.set_id)?;
        let set = &entry.set;
        let i = set.index_of(&input.node_code).ok_or_else(|| {
            AppError::unprocessable("INVALID_INPUT", "Unknown node.").with_errors(vec![FieldError::new("/node_code", "UNKNOWN_NODE", format!("the set has no node {:?}", input.node_code)).with_param("node", &input.node_code)])
        })?;
        let n = &set.nodes[i];
        let mut errors = Vec::new();
        if !n.takes_answers() {
            errors.push(FieldError::new("/node_code", "NOT_A_LEAF", format!("{} is not a scored leaf", n.code)).with_param("node", &n.code));
        }
        if input.inputs.is_none() && input.points.is_none() && input.not_applicable.is_none() {
            errors.push(FieldError::new("/", "EMPTY_ADJUSTMENT", "give inputs, points or not_applicable"));
        }
        if let Some(pts) = input.points
            && (pts < Decimal::ZERO || pts > n.max_points)
        {
            errors.push(FieldError::new("/points", "POINTS_OUT_OF_RANGE", format!("must be between 0 and {}", n.max_points.normalize())).with_param("max", n.max_points.normalize().to_string()));
        }
        let canonical = match (&input.inputs, errors.is_empty()) {
            (Some(v), true) => match parse_input(&n.method.clone().unwrap_or(Method::Manual), n.max_points, v) {
                Ok(parsed) => Some(input_to_json(&parsed)),
                Err(errs) => {
                    errors.extend(errs.into_iter().map(|e| input_field_error("/inputs", e, n.method.as_ref(), n.max_points)));
                    None
                }
            },
            _ => None,
        };
        if !errors.is_empty() {
            return Err(AppError::unprocessable("INVALID_INPUT", "The adjustment cannot be applied; see errors[].").with_errors(errors).with_extension("node_code", &input.node_code));
        }
        let row = AdjustmentRow::upsert(c, a.id, entry.node_ids[i], canonical, input.points, input.not_applicable, input.reason.trim(), actor.actor_id())?;
        Audit::new(Some(actor), "adjustment.upsert", "adjustment", row.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .new_value(serde_json::json!({"node": input.node_code, "inputs": row.inputs, "points": row.points, "not_applicable": row.not_applicable, "reason": row.reason}))
            .record(c)?;
        rescore_assessment(c, caches, &a)?;
        Ok(row)
    })
}
