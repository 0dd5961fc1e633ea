//! The assessment's life after data entry: the leader confirms (submit), reviewers adjust,
//! return or finalise, the administrator reopens. Every step is checked against the phase and
//! state, audited, and rescored in the same transaction where numbers can move.
//!
//! Corrections after publication: while the period is in review (results may already be
//! published), a reopened assessment goes back to the unit as a returned one. Once the period
//! is `published`, the unit's form stays closed: the administrator reopens the assessment back
//! to the reviewers (state `submitted`), who correct it with adjustments (each with its reason)
//! and finalise it; the group is then published again as an errata version with a changelog.

use diesel::{Connection, PgConnection};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::{AdjustmentRow, Assessment};
use crate::db::models::periods::Period;
use crate::domain::Role;
use crate::domain::indicator_set::Method;
use crate::error::{AppError, AppResult, FieldError};
use crate::scoring::{flags, input_to_json, parse_input};
use crate::services::assessments::{explain, input_field_error};
use crate::services::scoring::{lock_assessment, rescore_assessment, set_entry};

/// The assessment, locked in the lock order (its group, then it), and its period.
fn load(c: &mut PgConnection, id: Uuid) -> AppResult<(Assessment, Period)> {
    let a = lock_assessment(c, id)?;
    let p =
        Period::find(c, a.period_id)?.ok_or_else(|| AppError::not_found("period", a.period_id))?;
    Ok((a, p))
}

fn require_phase(p: &Period, phases: &[&str]) -> AppResult<()> {
    if phases.contains(&p.phase.as_str()) {
        Ok(())
    } else {
        Err(AppError::conflict(
            "PHASE_CLOSED",
            format!("Not possible while the period is in phase {}.", p.phase),
        )
        .with_extension("allowed_in_phase", phases))
    }
}

fn require_state(a: &Assessment, states: &[&str]) -> AppResult<()> {
    if states.contains(&a.state.as_str()) {
        return Ok(());
    }
    let code = match a.state.as_str() {
        "submitted" => "ALREADY_SUBMITTED",
        "finalised" => "ASSESSMENT_FINALISED",
        _ => "INVALID_STATE",
    };
    Err(AppError::conflict(
        code,
        format!("Not possible while the assessment is {}.", a.state),
    )
    .with_extension("allowed_in_state", states))
}

fn reviewer(actor: &Principal, action: &str) -> AppResult<()> {
    actor.require_role(&[Role::Reviewer, Role::Admin], action)
}

fn record(
    c: &mut PgConnection,
    actor: &Principal,
    a: &Assessment,
    action: &str,
    from: &str,
    reason: Option<&str>,
) -> AppResult<Assessment> {
    let state = match action {
        "submit" => "submitted",
        "return" | "reopen" => "returned",
        "finalise" => "finalised",
        _ => a.state.as_str(),
    };
    record_to(c, actor, a, action, state, from, reason)
}

/// As [`record`], to a given state.
fn record_to(
    c: &mut PgConnection,
    actor: &Principal,
    a: &Assessment,
    action: &str,
    state: &str,
    from: &str,
    reason: Option<&str>,
) -> AppResult<Assessment> {
    let updated = Assessment::set_state(c, a.id, state, action, Some(actor.user_id), reason)?;
    Audit::new(
        Some(actor),
        &format!("assessment.{action}"),
        "assessment",
        a.id,
    )
    .unit(Some(a.unit_id))
    .period(Some(a.period_id))
    .old(serde_json::json!({"state": from}))
    .new_value(serde_json::json!({"state": updated.state, "reason": reason}))
    .record(c)?;
    Ok(updated)
}

/// What still blocks a submission: unanswered applicable leaves, and evidence-required leaves
/// with neither evidence nor an explanation. Automatic leaves are the platform's business.
pub fn missing(c: &mut PgConnection, a: &Assessment) -> AppResult<Vec<FieldError>> {
    let (entry, scores) = explain(c, a, &[])?;
    let mut out = Vec::new();
    for (i, n) in entry.set.nodes.iter().enumerate() {
        if !n.children.is_empty() || n.method.is_none() || n.automatic || n.max_points.is_zero() {
            continue;
        }
        let s = &scores.nodes[i];
        if !s.self_applicable {
            continue;
        }
        if s.flags.contains(&flags::UNANSWERED) {
            out.push(FieldError::new(
                n.code.clone(),
                "UNANSWERED",
                "no answer yet",
            ));
        } else if s.flags.contains(&flags::EVIDENCE_MISSING) {
            out.push(FieldError::new(
                n.code.clone(),
                "EVIDENCE_REQUIRED",
                "attach evidence or write an explanation (giải trình)",
            ));
        }
    }
    Ok(out)
}

/// The unit leader confirms the self-assessment.
pub fn submit(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<Assessment> {
    conn.transaction(|c| {
        let unit = Assessment::find(c, id)?.ok_or_else(|| AppError::not_found("assessment", id))?.unit_id;
        actor.require_unit_data(unit)?;
        let (a, p) = load(c, id)?;
        if actor.role != Role::UnitLeader {
            return Err(AppError::forbidden("LEADER_ONLY", "Only the unit's leader (lãnh đạo) confirms and submits the self-assessment."));
        }
        if !crate::services::assessments::unit_window_open(&a, &p) {
            require_phase(&p, &["self_assessment"])?;
        }
        require_state(&a, &["not_started", "in_progress", "returned"])?;
        let missing = missing(c, &a)?;
        if !missing.is_empty() {
            return Err(AppError::unprocessable("INCOMPLETE", format!("{} component(s) still need an answer or evidence; see errors[] (field = node code).", missing.len())).with_errors(missing));
        }
        let from = a.state.clone();
        record(c, actor, &a, "submit", &from, None)
    })
}

/// A reviewer sends the assessment back to the unit with a reason.
pub fn return_to_unit(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    reason: &str,
) -> AppResult<Assessment> {
    reviewer(actor, "return assessments")?;
    conn.transaction(|c| {
        let (a, p) = load(c, id)?;
        require_phase(&p, &["self_assessment", "review"])?;
        require_state(&a, &["submitted"])?;
        record(c, actor, &a, "return", "submitted", Some(reason))
    })
}

/// The phases in which reviewers adjust and finalise: review, and after publication the
/// correction of an assessment the administrator reopened.
const REVIEWING: [&str; 2] = ["review", "published"];

/// A reviewer finalises: the reviewed points become the official (final) ones.
pub fn finalise(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<Assessment> {
    reviewer(actor, "finalise assessments")?;
    conn.transaction(|c| {
        let (a, p) = load(c, id)?;
        require_phase(&p, &REVIEWING)?;
        require_state(&a, &["submitted"])?;
        let updated = record(c, actor, &a, "finalise", "submitted", None)?;
        rescore_assessment(c, &updated)?;
        Ok(updated)
    })
}

/// The administrator reopens a submitted or finalised assessment for correction: back to the
/// unit (`returned`) while the period is in self-assessment or review; back to the reviewers
/// (`submitted`) once it is published, for an errata (see the module documentation).
pub fn reopen(
    conn: &mut PgConnection,
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
        require_phase(&p, &["self_assessment", "review", "published"])?;
        require_state(&a, &["submitted", "finalised"])?;
        let from = a.state.clone();
        let to = if p.phase == "published" {
            "submitted"
        } else {
            "returned"
        };
        let updated = record_to(c, actor, &a, "reopen", to, &from, Some(reason))?;
        rescore_assessment(c, &updated)?;
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
    actor: &Principal,
    id: Uuid,
    input: AdjustInput,
) -> AppResult<AdjustmentRow> {
    reviewer(actor, "adjust assessments")?;
    conn.transaction(|c| {
        let (a, p) = load(c, id)?;
        require_phase(&p, &REVIEWING)?;
        require_state(&a, &["submitted"])?;
        let entry = set_entry(c, a.set_id)?;
        let set = &entry.set;
        let i = set.index_of(&input.node_code).ok_or_else(|| {
            AppError::unprocessable("INVALID_INPUT", "Unknown node.").with_errors(vec![FieldError::new("/node_code", "UNKNOWN_NODE", format!("the set has no node {:?}", input.node_code)).with_param("node", &input.node_code)])
        })?;
        let n = &set.nodes[i];
        let mut errors = Vec::new();
        if !n.children.is_empty() || n.method.is_none() {
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
        let row = AdjustmentRow::upsert(c, a.id, entry.node_ids[i], canonical, input.points, input.not_applicable, input.reason.trim(), actor.user_id)?;
        Audit::new(Some(actor), "adjustment.upsert", "adjustment", row.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .new_value(serde_json::json!({"node": input.node_code, "inputs": row.inputs, "points": row.points, "not_applicable": row.not_applicable, "reason": row.reason}))
            .record(c)?;
        rescore_assessment(c, &a)?;
        Ok(row)
    })
}
