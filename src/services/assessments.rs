//! Self-assessment: reading assessments (scoped to the caller's unit for unit accounts),
//! writing answers (validated against the node's method, rescored in the same transaction),
//! the explained score tree, and what-if.

use diesel::PgConnection;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::{Answer, AnswerEvent, AnswerWrite, Assessment};
use crate::db::models::periods::Period;
use crate::db::models::publications::Publication;
use crate::db::models::scores::ScoreRow;
use crate::db::models::units::Unit;
use crate::domain::Role;
use crate::domain::indicator_set::Method;
use crate::domain::precondition::IfMatch;
use crate::domain::workflow::{AssessmentAction, AssessmentState, FinalisedAs, PeriodPhase};
use crate::error::{AppError, AppResult, FieldError};
use crate::scoring::{CompiledSet, LeafAnswer, UnitScores, input_to_json, parse_input, score_unit};
use crate::services::scoring::{Caches, Owner};
use crate::services::scoring::{
    Locked, SetEntry, lock_for_answers, overall_rank_of, overall_standing, rescore_in_locked_group,
    set_entry, stored_best, unit_inputs, with_candidates,
};

/// An assessment the caller may read (403 `NOT_YOUR_UNIT` otherwise).
pub fn readable(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<(Assessment, Period)> {
    let a = Assessment::find(conn, id)?.ok_or_else(|| AppError::not_found("assessment", id))?;
    actor.require_unit_data(a.unit_id)?;
    let p = Period::find(conn, a.period_id)?
        .ok_or_else(|| AppError::not_found("period", a.period_id))?;
    Ok((a, p))
}

/// Whether the unit may work on its form: during self-assessment, and during review when the
/// assessment was returned to it or it has a deadline extension that has not passed.
pub fn unit_window_open(a: &Assessment, p: &Period) -> bool {
    let extended = a.deadline.is_some_and(|d| d > chrono::Utc::now());
    match p.phase() {
        PeriodPhase::SelfAssessment => true,
        PeriodPhase::Review => a.state() == AssessmentState::Returned || extended,
        _ => false,
    }
}

/// Whether the caller may write this assessment's answers and evidence at all, whatever its
/// state or phase: administrators, the unit's own editors and leader, and integration tokens
/// (within their period, if scoped). 403 otherwise.
pub fn write_rights(actor: &Principal, a: &Assessment) -> AppResult<()> {
    owner_write_rights(actor, Owner::of(a))
}

/// [`write_rights`] from whose the assessment is (all they decide on).
pub fn owner_write_rights(actor: &Principal, a: Owner) -> AppResult<()> {
    if let Some(decided) = role_write_rights(actor) {
        return decided;
    }
    match actor.role {
        Role::Integration if actor.period_scope.is_some_and(|p| p != a.period_id) => Err(
            AppError::forbidden("FORBIDDEN_SCOPE", "The token is scoped to another period."),
        ),
        Role::UnitEditor | Role::UnitLeader if actor.unit_id != Some(a.unit_id) => {
            Err(AppError::forbidden(
                "NOT_YOUR_UNIT",
                "Unit accounts enter answers for their own unit only.",
            ))
        }
        _ => Ok(()),
    }
}

/// [`write_rights`] where the caller's role decides them whoever's the assessment is
/// (administrators and unscoped integration tokens may write any; reviewers and viewers none);
/// `None` where they depend on it (unit accounts, a token scoped to a period).
fn role_write_rights(actor: &Principal) -> Option<AppResult<()>> {
    match actor.role {
        Role::UnitEditor | Role::UnitLeader => None,
        Role::Integration if actor.period_scope.is_some() => None,
        Role::Integration | Role::Admin => Some(Ok(())),
        _ => Some(Err(AppError::forbidden(
            "FORBIDDEN_ROLE",
            format!("Role {} may not enter answers.", actor.role.as_str()),
        ))),
    }
}

/// The assessment, if the caller has the [`write_rights`] on it (read without a lock: rights
/// do not depend on its state). The check of a fresh answer or evidence write, and of its
/// replay under an `Idempotency-Key`.
pub fn authorise_answer_write(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<Assessment> {
    let a = Assessment::find(conn, id)?.ok_or_else(|| AppError::not_found("assessment", id))?;
    write_rights(actor, &a)?;
    Ok(a)
}

/// [`authorise_answer_write`] before a write's body is read, without a database read where the
/// caller's role decides (an administrator may write any assessment) or this server has seen
/// the assessment (whose it is never changes); `Ok(false)` otherwise, and the caller reads the
/// assessment ([`authorise_and_remember`]). A missing assessment is then found missing where
/// the write takes its locks.
pub fn authorise_known_answer_write(
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
) -> AppResult<bool> {
    if let Some(decided) = role_write_rights(actor) {
        return decided.map(|_| true);
    }
    match caches.owner(id) {
        Some(owner) => owner_write_rights(actor, owner).map(|_| true),
        None => Ok(false),
    }
}

/// [`authorise_answer_write`], remembering whose the assessment is for
/// [`authorise_known_answer_write`].
pub fn authorise_and_remember(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
) -> AppResult<()> {
    let a = authorise_answer_write(conn, actor, id)?;
    caches.remember_owner(&a);
    Ok(())
}

/// Why the caller may not edit the answers now, if they may not: no [`write_rights`]; a form
/// locked by its leader's submission or finalised (the same lock for every writer, integration
/// tokens included: what the leader confirmed is what the reviewers review, and a measurement
/// that arrives later reaches a submitted form as a reviewer's adjustment, or after a return);
/// or a phase in which the caller may not write.
pub fn edit_refusal(actor: &Principal, a: &Assessment, p: &Period) -> Option<AppError> {
    if let Err(e) = write_rights(actor, a) {
        return Some(e);
    }
    match a.state() {
        AssessmentState::Submitted => {
            return Some(AppError::conflict(
                "ALREADY_SUBMITTED",
                "The unit's leader has submitted this assessment; it is locked until a reviewer \
                 returns it.",
            ));
        }
        AssessmentState::Finalised => {
            return Some(AppError::conflict(
                "ASSESSMENT_FINALISED",
                "The assessment is finalised.",
            ));
        }
        _ => {}
    }
    let phase_ok = match actor.role {
        // automatic measurements arrive during self-assessment and review
        Role::Integration => PeriodPhase::DECIDING.contains(&p.phase()),
        Role::Admin => unit_window_open(a, p) || p.phase() == PeriodPhase::Review,
        _ => unit_window_open(a, p),
    };
    (!phase_ok).then(|| {
        AppError::conflict(
            "PHASE_CLOSED",
            format!(
                "Answers cannot be entered while the period is in phase {}.",
                p.phase
            ),
        )
        .with_extension("allowed_in_phase", PeriodPhase::SelfAssessment)
    })
}

/// What the caller may do with the assessment now. The office's decisions and the reviewers'
/// return and finalise follow the rules that refuse them (`workflow::check`).
pub fn allowed_actions(actor: &Principal, a: &Assessment, p: &Period) -> Vec<AssessmentAction> {
    use crate::services::workflow::{Decision, check, ranking_exclusion_open};
    use AssessmentAction as Act;
    let mut out = vec![Act::ViewScore, Act::WhatIf];
    if edit_refusal(actor, a, p).is_none() {
        out.push(Act::EditAnswers);
    }
    let state = a.state();
    let unit_actor = actor.role.is_unit_role() && actor.unit_id == Some(a.unit_id);
    if unit_actor && actor.role == Role::UnitLeader && unit_window_open(a, p) && state.is_open() {
        out.push(Act::Submit);
    }
    let may = |d: Decision| check(actor, a, p, &d).is_ok();
    let reason = String::new;
    if may(Decision::SubmitOnBehalf { reason: reason() }) {
        out.push(Act::SubmitOnBehalf);
    }
    if may(Decision::Return { reason: reason() }) {
        out.push(Act::Return);
    }
    let reviewer = matches!(actor.role, Role::Reviewer | Role::Admin);
    // after publication, a reopened assessment is corrected by the reviewers
    if reviewer
        && state == AssessmentState::Submitted
        && crate::services::workflow::REVIEWING.contains(&p.phase())
    {
        out.push(Act::Adjust);
    }
    if may(Decision::Finalise) {
        out.push(Act::Finalise);
    }
    for (finalised_as, act) in [
        (FinalisedAs::AsEntered, Act::FinaliseAsEntered),
        (FinalisedAs::AtZero, Act::FinaliseAtZero),
    ] {
        if may(Decision::FinaliseNotSubmitted {
            finalised_as,
            reason: reason(),
        }) {
            out.push(act);
        }
    }
    if actor.role == Role::Admin
        && matches!(
            state,
            AssessmentState::Submitted | AssessmentState::Finalised
        )
        && crate::services::workflow::REOPENING.contains(&p.phase())
    {
        out.push(Act::Reopen);
    }
    if may(Decision::SetDeadline { deadline: None }) {
        out.push(Act::ExtendDeadline);
    }
    if ranking_exclusion_open(actor, p).is_ok() {
        out.push(if a.excluded() {
            Act::IncludeInRanking
        } else {
            Act::ExcludeFromRanking
        });
    }
    if actor.role == Role::Admin {
        out.push(Act::Recompute);
    }
    out
}

pub struct AnswerInput {
    pub node_code: String,
    pub inputs: Option<Value>,
    pub not_applicable: bool,
    pub note: Option<String>,
    pub explanation: Option<String>,
    /// The answer's version it was written against (`If-Match`, a batch item's `if_version`):
    /// 0 when there is no answer yet.
    pub expected: IfMatch,
}

/// A refused answer input as a field error under `prefix`, with what a translated message
/// quotes: the node's maximum (`max`) and the codes of its options (`options`).
pub fn input_field_error(
    prefix: &str,
    e: crate::scoring::input::InputError,
    method: Option<&Method>,
    max_points: Decimal,
) -> FieldError {
    let mut fe = FieldError::new(format!("{prefix}{}", e.pointer), e.code, e.message)
        .with_param("max", max_points.normalize().to_string());
    if let Some(Method::Choice { options }) = method {
        fe = fe.with_param(
            "options",
            options.iter().map(|o| o.code.as_str()).collect::<Vec<_>>(),
        );
    }
    fe
}

/// Which leaves an answer may fill: the ones a unit declares, the automatically measured ones
/// (integration tokens), or both (administrators, and what-if, which saves nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    Declared,
    Automatic,
    Both,
}

impl Writable {
    /// What `actor` may write.
    pub fn of(actor: &Principal) -> Writable {
        match actor.role {
            Role::Admin => Writable::Both,
            Role::Integration => Writable::Automatic,
            _ => Writable::Declared,
        }
    }
}

/// Checks one answer against its node (the node exists and is a leaf, who may write it, not
/// applicable, the inputs by the node's method); errors carry pointers under `prefix`. The one
/// check of every answer write: single, batch and imported (and of what-if's imagined answers).
pub fn check_answer(
    entry: &SetEntry,
    writable: Writable,
    input: &AnswerInput,
    prefix: &str,
) -> Result<(usize, Option<Value>), Vec<FieldError>> {
    let set = &entry.set;
    let Some(i) = set.index_of(&input.node_code) else {
        return Err(vec![
            FieldError::new(
                format!("{prefix}/node_code"),
                "UNKNOWN_NODE",
                format!("the set has no node {:?}", input.node_code),
            )
            .with_param("node", &input.node_code),
        ]);
    };
    let node = &set.nodes[i];
    if !node.takes_answers() {
        return Err(vec![
            FieldError::new(
                format!("{prefix}/node_code"),
                "NOT_A_LEAF",
                format!("{} is not a scored leaf; answer its components", node.code),
            )
            .with_param("node", &node.code),
        ]);
    }
    if writable == Writable::Automatic && !node.automatic {
        return Err(vec![FieldError::new(
            format!("{prefix}/node_code"),
            "NOT_AUTOMATIC",
            format!(
                "{} is declared by the unit; integration tokens write automatic measurements only",
                node.code
            ),
        )
        .with_param("node", &node.code)]);
    }
    if node.automatic && writable == Writable::Declared {
        return Err(vec![
            FieldError::new(
                format!("{prefix}/node_code"),
                "AUTOMATIC_INDICATOR",
                format!(
                    "{} is measured automatically; units cannot edit it",
                    node.code
                ),
            )
            .with_param("node", &node.code),
        ]);
    }
    let mut errors = Vec::new();
    if input.not_applicable {
        if !node.applicability.declarable_not_applicable {
            errors.push(
                FieldError::new(
                    format!("{prefix}/not_applicable"),
                    "NOT_DECLARABLE",
                    format!("{} cannot be declared not applicable", node.code),
                )
                .with_param("node", &node.code),
            );
        }
        if input
            .explanation
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
        {
            errors.push(FieldError::new(
                format!("{prefix}/explanation"),
                "REQUIRED",
                "declaring a component not applicable needs an explanation",
            ));
        }
    }
    let method = node.method.clone().unwrap_or(Method::Manual);
    let canonical = match &input.inputs {
        None => None,
        Some(v) => match parse_input(&method, node.max_points, v) {
            Ok(parsed) => Some(input_to_json(&parsed)),
            Err(errs) => {
                errors.extend(errs.into_iter().map(|e| {
                    input_field_error(
                        &format!("{prefix}/inputs"),
                        e,
                        node.method.as_ref(),
                        node.max_points,
                    )
                }));
                None
            }
        },
    };
    if errors.is_empty() {
        Ok((i, canonical))
    } else {
        Err(errors)
    }
}

fn invalid_input(node_code: Option<&str>, errors: Vec<FieldError>) -> AppError {
    let mut e = AppError::unprocessable(
        "INVALID_INPUT",
        "The inputs cannot be scored by the node's method; see errors[].",
    )
    .with_errors(errors);
    if let Some(code) = node_code {
        e = e.with_extension("node_code", code);
    }
    e
}

/// Writes answers all-or-nothing and rescores once: the stored answers, and the score and rank
/// after them ([`AnswersWritten`]).
pub fn put_answers(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    inputs: Vec<AnswerInput>,
    batch: bool,
) -> AppResult<AnswersWritten> {
    // planned once: the statements of every write of answers are the same
    let (answers, a, rescored) = crate::db::planned_once(conn, |c| {
        // the locks, in order, with the period, in two statements; then the rights (under the
        // locks: nothing is written before they are checked)
        let Locked {
            assessment: a,
            group,
            period: p,
        } = lock_for_answers(c, id)?;
        if let Some(refusal) = edit_refusal(actor, &a, &p) {
            return Err(refusal);
        }
        let entry = set_entry(c, caches, a.set_id)?;
        let mut checked = Vec::new();
        let mut errors = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (k, input) in inputs.iter().enumerate() {
            let prefix = if batch {
                format!("/answers/{k}")
            } else {
                String::new()
            };
            if !seen.insert(input.node_code.clone()) {
                errors.push(FieldError::new(
                    format!("{prefix}/node_code"),
                    "DUPLICATE",
                    "node answered twice in one batch",
                ));
                continue;
            }
            match check_answer(&entry, Writable::of(actor), input, &prefix) {
                Ok(ok) => checked.push((input, ok)),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            let code = (!batch).then(|| inputs[0].node_code.as_str());
            return Err(invalid_input(code, errors));
        }
        // Accounts are recorded as the author; an integration token is not an account.
        let by = actor.account_id();
        // every answer written, with its audit event, in one statement: a batch costs the
        // statements of one answer
        let (checked_inputs, rows): (Vec<&AnswerInput>, Vec<AnswerWrite>) = checked
            .into_iter()
            .map(|(input, (i, canonical))| {
                let row = AnswerWrite {
                    assessment_id: a.id,
                    node_id: entry.node_ids[i],
                    inputs: canonical,
                    not_applicable: input.not_applicable,
                    note: input.note.clone(),
                    explanation: input.explanation.clone(),
                };
                (input, row)
            })
            .unzip();
        let codes: Vec<&str> = checked_inputs
            .iter()
            .map(|i| i.node_code.as_str())
            .collect();
        let event = Audit::new(Some(actor), "answer.upsert", "answer", "")
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .into_event();
        let audit = AnswerEvent {
            event: &event,
            codes: &codes,
        };
        let written = Answer::replace_many(c, &rows, by, &audit)?;
        let mut stored = Vec::with_capacity(written.len());
        for (input, (answer, before)) in checked_inputs.into_iter().zip(written) {
            // a stale version refuses the whole transaction, so nothing of it stays
            input
                .expected
                .check(
                    before.unwrap_or(0),
                    &format!("The answer to {}", input.node_code),
                )
                .map_err(|e| e.with_extension("node_code", &input.node_code))?;
            stored.push(answer);
        }
        let a = if a.state == AssessmentState::NotStarted {
            Assessment::set_state(c, a.id, AssessmentState::InProgress, "answer", by, None)?
        } else {
            a
        };
        // One rescore for the whole batch (it follows a moved best by itself), under the group
        // lock taken above.
        let rescored = rescore_in_locked_group(c, caches, &group, &a)?;
        Ok((stored, a, rescored))
    })?;
    // the score and the live standing as the rescore left them, else read
    let score = match rescored.row {
        Some(row) => Some(row),
        None => ScoreRow::of_assessments(conn, std::slice::from_ref(&a))?.pop(),
    };
    let rank = match (sees_live_standings(actor), rescored.standing) {
        (true, Some(s)) => s.rank,
        _ => visible_rank(conn, caches, actor, &a)?,
    };
    Ok(AnswersWritten {
        answers,
        assessment: a,
        score,
        rank,
    })
}

/// What [`put_answers`] stored, and the assessment, its score and its overall rank (as far as
/// the caller may see it: [`visible_rank`]) right after.
pub struct AnswersWritten {
    /// In the order of the inputs.
    pub answers: Vec<Answer>,
    pub assessment: Assessment,
    pub score: Option<ScoreRow>,
    pub rank: Option<i32>,
}

/// Where a caller may learn an assessment's standing among the other units of its group from.
enum Standing {
    /// The live ranking (what is stored now).
    Live,
    /// The latest publication of the group that the public may see.
    Published(Uuid),
    /// Nowhere.
    Hidden,
}

/// Whether the caller may read unpublished rankings: the provincial roles (administrators,
/// reviewers, viewers). Unit accounts and integration tokens may not.
pub fn sees_live_standings(actor: &Principal) -> bool {
    matches!(actor.role, Role::Admin | Role::Reviewer | Role::Viewer)
}

/// 403 `FORBIDDEN_ROLE` unless the caller [`sees_live_standings`]: the check of every read that
/// compares units' unpublished scores (the rankings, their export).
pub fn require_live_standings(actor: &Principal) -> AppResult<()> {
    if sees_live_standings(actor) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "FORBIDDEN_ROLE",
            "Unpublished rankings compare units; unit accounts read published results on the \
             public routes.",
        ))
    }
}

/// The one rule for every rank a caller is shown (own, hypothetical, in any response): the
/// provincial roles see the live ranking; anyone else learns standings from publications only.
/// Before its group's results are published a rank, even the unit's own or a what-if's, tells a
/// unit about the other units' unpublished scores; after, it is the rank in the latest
/// publication past its embargo (a correction not yet republished moves nothing it sees).
fn standing(conn: &mut PgConnection, actor: &Principal, a: &Assessment) -> AppResult<Standing> {
    if sees_live_standings(actor) {
        return Ok(Standing::Live);
    }
    if actor.role == Role::Integration {
        return Ok(Standing::Hidden);
    }
    Ok(
        match Publication::latest_visible_id(conn, a.period_id, a.group_id, chrono::Utc::now())? {
            Some(p) => Standing::Published(p),
            None => Standing::Hidden,
        },
    )
}

fn unit_code(conn: &mut PgConnection, a: &Assessment) -> AppResult<String> {
    Ok(Unit::find(conn, a.unit_id)?
        .ok_or_else(|| AppError::internal("assessment unit missing"))?
        .code)
}

/// The overall rank of the assessment that the caller may see (see [`standing`]).
pub fn visible_rank(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    a: &Assessment,
) -> AppResult<Option<i32>> {
    match standing(conn, actor, a)? {
        Standing::Live => {
            Ok(overall_standing(conn, caches, a.period_id, a.group_id, a.id)?.and_then(|s| s.rank))
        }
        Standing::Published(p) => {
            let code = unit_code(conn, a)?;
            Ok(Publication::rank_of_unit(conn, p, &code)?)
        }
        Standing::Hidden => Ok(None),
    }
}

/// The overall rank a (hypothetical) rounded index of the assessment would have among the
/// other units, as far as the caller may see (see [`standing`]).
fn visible_rank_of_index(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    a: &Assessment,
    index: Decimal,
) -> AppResult<Option<i32>> {
    match standing(conn, actor, a)? {
        Standing::Live => Ok(Some(overall_rank_of(
            conn,
            caches,
            a.period_id,
            a.group_id,
            a.id,
            index,
        )?)),
        Standing::Published(p) => {
            let code = unit_code(conn, a)?;
            Ok(Some(Publication::rank_of_index(conn, p, &code, index)?))
        }
        Standing::Hidden => Ok(None),
    }
}

/// The stored scores of one assessment and the overall rank the caller may see.
pub fn stored_scores(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    a: &Assessment,
) -> AppResult<(Option<ScoreRow>, Option<i32>)> {
    let score = ScoreRow::of_assessments(conn, std::slice::from_ref(a))?.pop();
    let rank = visible_rank(conn, caches, actor, a)?;
    Ok((score, rank))
}

/// Live scoring of one assessment with its traces (identical numbers to the stored ones), with
/// optional hypothetical answers (each at its leaf's index) replacing stored ones (what-if).
pub fn explain(
    conn: &mut PgConnection,
    caches: &Caches,
    a: &Assessment,
    hypothetical: &[(usize, LeafAnswer)],
) -> AppResult<(std::sync::Arc<SetEntry>, UnitScores)> {
    let entry = set_entry(conn, caches, a.set_id)?;
    let set: &CompiledSet = &entry.set;
    let mut input = unit_inputs(conn, &entry, std::slice::from_ref(a))?
        .pop()
        .ok_or_else(|| AppError::internal("no input"))?;
    for (leaf, answer) in hypothetical {
        input.answers.insert(*leaf, answer.clone());
    }
    // The group's best from the other units' stored candidates and this unit's (possibly
    // hypothetical) own: exactly the stored best when nothing is hypothetical.
    let others = stored_best(conn, &entry, a.period_id, a.group_id, Some(a.id))?;
    let best = with_candidates(&entry, others, &input);
    let scores = score_unit(set, &input, &best);
    Ok((entry, scores))
}

/// The outcome of a what-if.
pub struct WhatIf {
    pub entry: std::sync::Arc<SetEntry>,
    pub scores: UnitScores,
    /// The overall rank against the other units' indices, as far as the caller may see them
    /// (see [`visible_rank`]).
    pub rank: Option<i32>,
    pub index: Option<Decimal>,
}

/// What-if: the unit's score and, as far as the caller may see ranks, its overall rank if the
/// given answers were stored. Saves nothing.
pub fn what_if(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    inputs: Vec<AnswerInput>,
) -> AppResult<WhatIf> {
    let (a, _) = readable(conn, actor, id)?;
    let entry = set_entry(conn, caches, a.set_id)?;
    let mut errors = Vec::new();
    let mut hypothetical = Vec::new();
    let stored = unit_inputs(conn, &entry, std::slice::from_ref(&a))?.pop();
    for (k, input) in inputs.iter().enumerate() {
        // automatic indicators may be imagined too: nothing is saved
        match check_answer(&entry, Writable::Both, input, &format!("/answers/{k}")) {
            Ok((i, canonical)) => {
                let n = &entry.set.nodes[i];
                let method = n.method.clone().unwrap_or(Method::Manual);
                let previous = stored.as_ref().and_then(|s| s.answers.get(i).cloned());
                hypothetical.push((
                    i,
                    LeafAnswer {
                        self_input: canonical
                            .and_then(|v| parse_input(&method, n.max_points, &v).ok()),
                        self_not_applicable: input.not_applicable,
                        has_evidence: previous.as_ref().is_some_and(|p| p.has_evidence),
                        has_explanation: input
                            .explanation
                            .as_deref()
                            .is_some_and(|e| !e.trim().is_empty())
                            || previous.as_ref().is_some_and(|p| p.has_explanation),
                        adjustment: previous.and_then(|p| p.adjustment),
                    },
                ));
            }
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(invalid_input(None, errors));
    }
    let (entry, scores) = explain(conn, caches, &a, &hypothetical)?;
    // Rank against the stored overall indices of the other units of the group.
    let index = crate::scoring::ranking::index_of(
        scores.total.reviewed_points,
        scores.total.applicable_max,
    )
    .map(|i| crate::scoring::ranking::shown_index(i, entry.set.precision));
    let rank = match index.filter(|_| !a.excluded()) {
        Some(i) => visible_rank_of_index(conn, caches, actor, &a, i)?,
        None => None,
    };
    Ok(WhatIf {
        entry,
        scores,
        rank,
        index,
    })
}
