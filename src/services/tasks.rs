//! What waits for the caller now (`GET /me/tasks`), by role:
//!
//! - unit editor: forms returned to the unit, clarifications waiting for the unit's answer,
//!   components that require evidence and have an answer without evidence or explanation;
//! - unit leader: the same, and forms complete and waiting for confirmation (submit);
//! - reviewer: submitted forms waiting for review, clarifications the unit answered;
//! - administrator: periods whose current phase closes within 7 days, units past their
//!   deadline without a submission.
//!
//! Each kind is one aggregate query bounded by `limit` (with the total count), except the
//! unit's form checks, which score the unit's own open forms (one per open period).

use diesel::PgConnection;

use crate::auth::Principal;
use crate::db::models::tasks::{self, TaskRow};
use crate::domain::tasks::{Task, TaskGroup, TaskKind};
use crate::domain::workflow::{AssessmentState, ClarificationStatus};
use crate::error::AppResult;
use crate::services::assessments::unit_window_open;
use crate::services::scoring::Caches;
use crate::services::workflow::missing;

/// How far ahead `phase_ending_soon` looks.
pub const PHASE_ENDING_WITHIN: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

fn task(kind: TaskKind, r: TaskRow) -> Task {
    let link = match (kind, r.assessment_id) {
        (TaskKind::PhaseEndingSoon, _) | (_, None) => format!("/api/v1/periods/{}", r.period_id),
        (TaskKind::ClarificationAwaitingUnit | TaskKind::ClarificationAnswered, Some(a)) => {
            format!("/api/v1/assessments/{a}/clarifications")
        }
        (_, Some(a)) => format!("/api/v1/assessments/{a}"),
    };
    let mut t = Task::new(kind, link, r.period_id, r.period_code);
    t.assessment_id = r.assessment_id;
    t.unit = match (r.unit_id, r.unit_code, r.unit_name) {
        (Some(id), Some(code), Some(name)) => Some((id, code, name)),
        _ => None,
    };
    t.clarification_id = r.clarification_id;
    t.node_code = r.node_code;
    t.phase = r.phase;
    t.due_at = r.due_at;
    t.since = r.since;
    t.note = r.note;
    t.state = r.state;
    t
}

fn group(kind: TaskKind, rows: Vec<TaskRow>) -> TaskGroup {
    TaskGroup {
        kind,
        total: rows.first().map_or(0, |r| r.total),
        tasks: rows.into_iter().map(|r| task(kind, r)).collect(),
    }
}

/// The caller's tasks, grouped by kind in the order of [`TaskKind::for_role`], at most `limit`
/// of each kind.
pub fn for_caller(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    limit: i64,
) -> AppResult<Vec<TaskGroup>> {
    let kinds = TaskKind::for_role(actor.role);
    let unit = actor.unit_id;
    // The unit's own open forms, scored once for both form checks.
    let forms = match (unit, kinds.contains(&TaskKind::EvidenceMissing)) {
        (Some(u), true) => unit_form_checks(conn, caches, u)?,
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for &kind in kinds {
        let g = match kind {
            TaskKind::AssessmentReturned => group(
                kind,
                tasks::assessments_in_state(conn, AssessmentState::Returned, unit, limit)?,
            ),
            TaskKind::ClarificationAwaitingUnit => group(
                kind,
                tasks::clarifications_in_status(conn, ClarificationStatus::Open, unit, limit)?,
            ),
            TaskKind::AssessmentSubmitted => group(
                kind,
                tasks::assessments_in_state(conn, AssessmentState::Submitted, None, limit)?,
            ),
            TaskKind::ClarificationAnswered => group(
                kind,
                tasks::clarifications_in_status(conn, ClarificationStatus::Answered, None, limit)?,
            ),
            TaskKind::PhaseEndingSoon => group(
                kind,
                tasks::phases_ending_within(conn, PHASE_ENDING_WITHIN, limit)?,
            ),
            TaskKind::UnitOverdue => group(kind, tasks::overdue_forms(conn, limit)?),
            TaskKind::EvidenceMissing | TaskKind::ReadyToSubmit => {
                let all: Vec<Task> = forms.iter().filter(|t| t.kind == kind).cloned().collect();
                TaskGroup {
                    kind,
                    total: all.len() as i64,
                    tasks: all.into_iter().take(limit as usize).collect(),
                }
            }
        };
        out.push(g);
    }
    Ok(out)
}

/// For each form the unit may work on now: one `evidence_missing` task per component that the
/// submission check refuses for missing evidence, or `ready_to_submit` when nothing is missing
/// (the same check as `POST /assessments/{id}/submit`).
fn unit_form_checks(
    conn: &mut PgConnection,
    caches: &Caches,
    unit: uuid::Uuid,
) -> AppResult<Vec<Task>> {
    let mut out = Vec::new();
    for (a, p, deadline) in tasks::open_forms_of_unit(conn, unit)? {
        if !unit_window_open(&a, &p) {
            continue;
        }
        let missing = missing(conn, caches, &a)?;
        if missing.is_empty() {
            let mut t = Task::new(
                TaskKind::ReadyToSubmit,
                format!("/api/v1/assessments/{}", a.id),
                p.id,
                p.code.clone(),
            );
            t.assessment_id = Some(a.id);
            t.due_at = deadline;
            t.since = Some(a.updated_at);
            t.state = Some(a.state);
            out.push(t);
            continue;
        }
        for m in missing.iter().filter(|m| m.code == "EVIDENCE_REQUIRED") {
            let mut t = Task::new(
                TaskKind::EvidenceMissing,
                format!("/api/v1/assessments/{}/answers/{}/evidence", a.id, m.field),
                p.id,
                p.code.clone(),
            );
            t.assessment_id = Some(a.id);
            t.node_code = Some(m.field.clone());
            t.due_at = deadline;
            t.state = Some(a.state);
            out.push(t);
        }
    }
    Ok(out)
}
