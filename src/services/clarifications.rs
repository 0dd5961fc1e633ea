//! Clarifications: a thread on one component (a reviewer asks, the unit answers), so one weak
//! indicator does not send the whole form back. The unit may answer even while the rest of the
//! form is locked.

use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::clarifications::{Clarification, Message};
use crate::db::models::periods::Period;
use crate::domain::Role;
use crate::domain::workflow::{ClarificationStatus, PeriodPhase};
use crate::error::{AppError, AppResult, FieldError};
use crate::services::outbox::{self, Event};
use crate::services::scoring::Caches;
use crate::services::scoring::set_entry;

/// Who may open clarifications (checked by [`open`], and before a replay of it).
pub fn authorise_open(actor: &Principal) -> AppResult<()> {
    actor.require_role(&[Role::Reviewer, Role::Admin], "open clarifications")
}

pub fn open(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    node_code: &str,
    body: &str,
) -> AppResult<(Clarification, String, Vec<Message>)> {
    authorise_open(actor)?;
    conn.transaction(|c| {
        let a = Assessment::find_for_update(c, id)?.ok_or_else(|| AppError::not_found("assessment", id))?;
        let p = Period::find(c, a.period_id)?.ok_or_else(|| AppError::not_found("period", a.period_id))?;
        if !PeriodPhase::DECIDING.contains(&p.phase) {
            return Err(AppError::conflict("PHASE_CLOSED", format!("Clarifications are asked during self-assessment or review; the period is in {}.", p.phase)));
        }
        let entry = set_entry(c, caches, a.set_id)?;
        let i = entry.set.index_of(node_code).ok_or_else(|| AppError::validation(vec![FieldError::new("/node_code", "UNKNOWN_NODE", format!("the set has no node {node_code:?}")).with_param("node", node_code)]))?;
        let cl = Clarification::insert(c, a.id, entry.node_ids[i], actor.actor_id())?;
        let m = Clarification::add_message(c, cl.id, actor.actor_id(), body)?;
        outbox::emit(c, Event::clarification_opened(&cl, actor))?;
        Audit::new(Some(actor), "clarification.open", "clarification", cl.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .new_value(serde_json::json!({"node": node_code, "message": body}))
            .record(c)?;
        Ok((cl, node_code.to_string(), vec![m]))
    })
}

/// Who may write in a thread: the unit's own accounts and the provincial roles but viewers
/// (checked by [`reply`], and before a replay of it). Returns the thread's assessment.
pub fn authorise_reply(
    conn: &mut PgConnection,
    actor: &Principal,
    clarification: Uuid,
) -> AppResult<Assessment> {
    let cl = Clarification::find(conn, clarification)?
        .ok_or_else(|| AppError::not_found("clarification", clarification))?;
    let a = Assessment::find(conn, cl.assessment_id)?
        .ok_or_else(|| AppError::not_found("assessment", cl.assessment_id))?;
    actor.require_unit_data(a.unit_id)?;
    if actor.role == Role::Viewer {
        return Err(AppError::forbidden(
            "FORBIDDEN_ROLE",
            "Viewers read clarifications but do not write in them.",
        ));
    }
    Ok(a)
}

/// Adds a message: the unit's accounts (answer) or reviewers (follow-up).
pub fn reply(
    conn: &mut PgConnection,
    actor: &Principal,
    clarification: Uuid,
    body: &str,
) -> AppResult<Clarification> {
    conn.transaction(|c| {
        let a = authorise_reply(c, actor, clarification)?;
        let cl = Clarification::find_for_update(c, clarification)?
            .ok_or_else(|| AppError::not_found("clarification", clarification))?;
        if cl.status == ClarificationStatus::Closed {
            return Err(AppError::conflict(
                "CLARIFICATION_CLOSED",
                "The clarification is closed.",
            ));
        }
        Clarification::add_message(c, cl.id, actor.actor_id(), body)?;
        let status = if actor.role.is_unit_role() {
            ClarificationStatus::Answered
        } else {
            ClarificationStatus::Open
        };
        let updated = Clarification::set_status(c, cl.id, status)?;
        outbox::emit(c, Event::clarification_replied(&updated, actor))?;
        Audit::new(Some(actor), "clarification.reply", "clarification", cl.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .new_value(serde_json::json!({"message": body, "status": status}))
            .record(c)?;
        Ok(updated)
    })
}

pub fn close(
    conn: &mut PgConnection,
    actor: &Principal,
    clarification: Uuid,
) -> AppResult<Clarification> {
    actor.require_role(&[Role::Reviewer, Role::Admin], "close clarifications")?;
    conn.transaction(|c| {
        let cl = Clarification::find_for_update(c, clarification)?
            .ok_or_else(|| AppError::not_found("clarification", clarification))?;
        let a = Assessment::find(c, cl.assessment_id)?
            .ok_or_else(|| AppError::not_found("assessment", cl.assessment_id))?;
        let updated = Clarification::set_status(c, cl.id, ClarificationStatus::Closed)?;
        Audit::new(Some(actor), "clarification.close", "clarification", cl.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .old(serde_json::json!({"status": cl.status}))
            .new_value(serde_json::json!({"status": ClarificationStatus::Closed}))
            .record(c)?;
        Ok(updated)
    })
}

/// Threads of an assessment with their messages and node codes.
pub fn list(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
) -> AppResult<Vec<(Clarification, String, Vec<Message>)>> {
    let (a, _) = crate::services::assessments::readable(conn, actor, id)?;
    let entry = set_entry(conn, caches, a.set_id)?;
    let threads = Clarification::of_assessment(conn, a.id)?;
    let messages =
        Clarification::messages(conn, &threads.iter().map(|t| t.id).collect::<Vec<_>>())?;
    Ok(threads
        .into_iter()
        .map(|t| {
            let code = entry
                .index_by_node_id
                .get(&t.node_id)
                .map(|i| entry.set.nodes[*i].code.clone())
                .unwrap_or_default();
            let ms = messages
                .iter()
                .filter(|m| m.clarification_id == t.id)
                .cloned()
                .collect();
            (t, code, ms)
        })
        .collect())
}

/// Sets a per-unit deadline: until then the unit may still edit during review (admin; not
/// for a finalised assessment).
pub fn set_deadline(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    deadline: Option<chrono::DateTime<chrono::Utc>>,
) -> AppResult<Assessment> {
    use crate::services::workflow::{Decision, decide};
    decide(conn, caches, actor, id, Decision::SetDeadline { deadline })
}
