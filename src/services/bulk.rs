//! Bulk decisions: one reviewer's or the office's decision (finalise, return, extend the
//! deadline, submit on behalf, finalise as not submitted) for many assessments of a period in
//! one call, under the rules of a single decision (`services::workflow::check`).
//!
//! - Every item is checked before anything is written, and every refusal is reported at once,
//!   each with its assessment, its unit and the code a single call would have answered.
//! - All or nothing by default: one refusal refuses the call (409 `BULK_REFUSED`, nothing
//!   written). With `all_or_nothing: false` the allowed items are applied and the others
//!   listed as refused.
//! - The assessments are locked in id order (two bulk calls never deadlock), before any group
//!   row (the order every writer takes). Each applied item writes its own audit event, and the
//!   call one more (`assessment.bulk`).
//! - Numbers are rescored once per ranking group, not once per assessment: one group rescore
//!   from inputs when several assessments of the group moved (see `services::scoring`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::periods::Period;
use crate::db::models::units::Unit;
use crate::domain::workflow::{BulkAction, FinalisedAs};
use crate::error::{AppError, AppResult, FieldError};
use crate::services::scoring::Caches;
use crate::services::scoring::{rescore_assessment, rescore_group};
use crate::services::workflow::{Decision, apply, authorise, check};

/// The most assessments one call may name (a national ranking group has about 3,400).
pub const MAX_ITEMS: usize = 5000;

pub struct BulkItem {
    pub assessment_id: Uuid,
    /// This item's own reason (else the call's).
    pub reason: Option<String>,
}

pub struct BulkInput {
    pub action: BulkAction,
    pub items: Vec<BulkItem>,
    /// The reason of every item that has none of its own.
    pub reason: Option<String>,
    /// With `extend_deadline`: the new deadline (`None` removes the units' own deadlines).
    pub deadline: Option<DateTime<Utc>>,
    pub all_or_nothing: bool,
}

/// An item that was not applied, and why (what a single call would have answered).
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Position in `items`.
    pub index: usize,
    pub assessment_id: Uuid,
    pub unit_code: Option<String>,
    pub status: u16,
    pub code: String,
    pub detail: String,
    /// The refusal's own extensions (`allowed_in_state`, `allowed_in_phase`).
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// An applied item.
pub struct Applied {
    pub index: usize,
    pub assessment: Assessment,
    pub unit_code: String,
}

pub struct BulkOutcome {
    pub applied: Vec<Applied>,
    pub refused: Vec<Refusal>,
    /// Ranking groups rescored (once each).
    pub rescored_groups: usize,
}

fn non_blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The decision for each item, or every problem of the call's shape (422).
/// The decision `action` takes for one item.
fn decision_of(action: BulkAction, reason: String, deadline: Option<DateTime<Utc>>) -> Decision {
    match action {
        BulkAction::Finalise => Decision::Finalise,
        BulkAction::Return => Decision::Return { reason },
        BulkAction::ExtendDeadline => Decision::SetDeadline { deadline },
        BulkAction::SubmitOnBehalf => Decision::SubmitOnBehalf { reason },
        BulkAction::FinaliseAsEntered => Decision::FinaliseNotSubmitted {
            finalised_as: FinalisedAs::AsEntered,
            reason,
        },
        BulkAction::FinaliseAtZero => Decision::FinaliseNotSubmitted {
            finalised_as: FinalisedAs::AtZero,
            reason,
        },
    }
}

/// Who may take `action` in bulk (checked by [`run`] before anything else, and before a
/// replay of it under an `Idempotency-Key`).
pub fn authorise_action(actor: &Principal, action: BulkAction) -> AppResult<()> {
    authorise(actor, &decision_of(action, String::new(), None))
}

fn decisions(input: &BulkInput) -> AppResult<Vec<Decision>> {
    let mut errors = Vec::new();
    if input.items.is_empty() || input.items.len() > MAX_ITEMS {
        errors.push(
            FieldError::new(
                "/items",
                "LENGTH",
                format!("name 1 to {MAX_ITEMS} assessments"),
            )
            .with_param("list", true)
            .with_param("min", 1)
            .with_param("max", MAX_ITEMS),
        );
    }
    match (input.action, input.deadline) {
        (BulkAction::ExtendDeadline, _) => {}
        (_, Some(_)) => errors.push(
            FieldError::new(
                "/deadline",
                "NOT_FOR_ACTION",
                "a deadline goes with the action extend_deadline only",
            )
            .with_param("action", input.action),
        ),
        _ => {}
    }
    let shared = non_blank(&input.reason);
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(input.items.len());
    for (k, item) in input.items.iter().enumerate() {
        if let Some(first) = seen.insert(item.assessment_id, k) {
            errors.push(
                FieldError::new(
                    format!("/items/{k}/assessment_id"),
                    "DUPLICATE",
                    format!("also item {first}"),
                )
                .with_param("value", item.assessment_id),
            );
        }
        let reason = non_blank(&item.reason).or(shared);
        if input.action.needs_reason() && reason.is_none() {
            errors.push(FieldError::new(
                format!("/items/{k}/reason"),
                "REQUIRED",
                format!(
                    "{} needs a reason: give one here or for the whole call (/reason)",
                    input.action
                ),
            ));
        }
        let reason = reason.unwrap_or_default().to_string();
        out.push(decision_of(input.action, reason, input.deadline));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::validation(errors))
    }
}

fn refusal(index: usize, id: Uuid, unit_code: Option<String>, e: AppError) -> AppResult<Refusal> {
    match e {
        AppError::Client(c) => Ok(Refusal {
            index,
            assessment_id: id,
            unit_code,
            status: c.status.as_u16(),
            code: c.code.to_string(),
            detail: c.detail,
            extensions: c.extensions,
        }),
        other => Err(other),
    }
}

/// 409 `BULK_REFUSED`: every refusal in `errors[]` (field `/items/{index}/assessment_id`,
/// code = the refusal's code) and in the extension `refusals` (index, assessment, unit, status,
/// code).
fn refused_problem(action: BulkAction, total: usize, refused: &[Refusal]) -> AppError {
    let errors = refused
        .iter()
        .map(|r| {
            let mut e = FieldError::new(
                format!("/items/{}/assessment_id", r.index),
                r.code.clone(),
                r.detail.clone(),
            )
            .with_param("assessment", r.assessment_id);
            if let Some(u) = &r.unit_code {
                e = e.with_param("unit", u);
            }
            for (k, v) in &r.extensions {
                e = e.with_param(k, v);
            }
            e
        })
        .collect();
    let listed: Vec<serde_json::Value> = refused
        .iter()
        .map(|r| {
            serde_json::json!({"index": r.index, "assessment_id": r.assessment_id,
                               "unit_code": r.unit_code, "status": r.status, "code": r.code})
        })
        .collect();
    AppError::conflict(
        "BULK_REFUSED",
        format!(
            "{} of {total} item(s) cannot be {action}: nothing was changed; see errors[] and \
             refusals[] (or send all_or_nothing: false to apply the others).",
            refused.len()
        ),
    )
    .with_errors(errors)
    .with_extension("refusals", listed)
    .with_extension("refused", refused.len())
    .with_extension("total", total)
    .with_param("refused", refused.len())
    .with_param("total", total)
}

/// Takes one decision for many assessments of a period (see the module docs).
pub fn run(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    period_id: Uuid,
    input: BulkInput,
) -> AppResult<BulkOutcome> {
    authorise_action(actor, input.action)?;
    let decisions = decisions(&input)?;
    let rescores = decisions.first().is_some_and(Decision::rescores);
    let outcome = conn.transaction(|c| {
        let period =
            Period::find(c, period_id)?.ok_or_else(|| AppError::not_found("period", period_id))?;
        let ids: Vec<Uuid> = input.items.iter().map(|i| i.assessment_id).collect();
        // the lock order (see `services::scoring`): the items' groups, then the items
        for group in Assessment::groups_of(c, period_id, &ids)? {
            Period::lock_group(c, period_id, group)?;
        }
        let locked: HashMap<Uuid, Assessment> = Assessment::lock_many(c, period_id, &ids)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let codes: HashMap<Uuid, String> = Unit::find_many(
            c,
            &locked.values().map(|a| a.unit_id).collect::<Vec<_>>(),
        )?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect();
        let mut allowed = Vec::new();
        let mut refused = Vec::new();
        for (k, (item, d)) in input.items.iter().zip(&decisions).enumerate() {
            let id = item.assessment_id;
            let Some(a) = locked.get(&id) else {
                let e = match Assessment::find(c, id)? {
                    Some(_) => AppError::unprocessable(
                        "NOT_IN_PERIOD",
                        format!("Assessment {id} belongs to another period."),
                    )
                    .with_param("assessment", id),
                    None => AppError::not_found("assessment", id),
                };
                refused.push(refusal(k, id, None, e)?);
                continue;
            };
            let unit_code = codes.get(&a.unit_id).cloned();
            match check(actor, a, &period, d) {
                Ok(()) => allowed.push((k, a, d, unit_code.unwrap_or_default())),
                Err(e) => refused.push(refusal(k, id, unit_code, e)?),
            }
        }
        if !refused.is_empty() && input.all_or_nothing {
            return Err(refused_problem(input.action, input.items.len(), &refused));
        }
        let mut applied = Vec::with_capacity(allowed.len());
        for (k, a, d, unit_code) in allowed {
            applied.push(Applied {
                index: k,
                assessment: apply(c, actor, a, d)?,
                unit_code,
            });
        }
        // one rescore per ranking group
        let mut groups: BTreeMap<Uuid, Vec<&Assessment>> = BTreeMap::new();
        if rescores {
            for x in &applied {
                groups.entry(x.assessment.group_id).or_default().push(&x.assessment);
            }
        }
        for (group, members) in &groups {
            match members.as_slice() {
                [one] => {
                    rescore_assessment(c, caches, one)?;
                }
                _ => {
                    rescore_group(c, caches, period_id, *group)?;
                }
            }
        }
        Audit::new(Some(actor), "assessment.bulk", "period", period_id)
            .period(Some(period_id))
            .new_value(serde_json::json!({
                "action": input.action,
                "all_or_nothing": input.all_or_nothing,
                "applied": applied.iter().map(|x| x.assessment.id).collect::<Vec<_>>(),
                "refused": refused.iter().map(|r| serde_json::json!({"assessment_id": r.assessment_id, "code": r.code})).collect::<Vec<_>>(),
            }))
            .record(c)?;
        let rescored_groups = groups.len();
        Ok(BulkOutcome {
            applied,
            refused,
            rescored_groups,
        })
    })?;
    // a group of several items was rescored whole: see `tidy_after_rewrite`
    let mut per_group: HashMap<Uuid, usize> = HashMap::new();
    if rescores {
        for x in &outcome.applied {
            *per_group.entry(x.assessment.group_id).or_default() += 1;
        }
    }
    if per_group.values().any(|&n| n > 1) {
        crate::services::scoring::tidy_after_rewrite(conn);
    }
    Ok(outcome)
}
