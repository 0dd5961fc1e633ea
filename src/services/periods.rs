//! Assessment periods (kỳ đánh giá): a data year, the set version pinned per ranking group, and
//! a phase calendar `draft → self_assessment → review → published → archived`. Opening a
//! period creates one assessment per active member unit of each group and scores them all.

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::PageReq;
use crate::db::models::assessments::Assessment;
use crate::db::models::audit::AuditEvent;
use crate::db::models::groups::RankingGroup;
use crate::db::models::indicator_sets::IndicatorSet;
use crate::db::models::periods::{Period, PeriodGroup, PhaseWindow};
use crate::db::models::units::Unit;
use crate::domain::SetStatus;
use crate::domain::workflow::{AssessmentState, PeriodPhase};
use crate::error::{AppError, AppResult, FieldError, UnknownAs};
use crate::services::outbox::{self, Event};
use crate::services::scoring::Caches;
use crate::services::units::resolve_group;

/// The transitions an administrator may make.
pub fn allowed_transitions(from: PeriodPhase) -> &'static [PeriodPhase] {
    use PeriodPhase::*;
    match from {
        Draft => &[SelfAssessment],
        SelfAssessment => &[Review],
        Review => &[SelfAssessment, Published],
        Published => &[Archived],
        Archived => &[],
    }
}

/// (phase, opens at, closes at).
pub type CalendarEntry = (String, DateTime<Utc>, Option<DateTime<Utc>>);

pub struct GroupPin {
    pub group: String,
    pub indicator_set: Uuid,
}

pub struct CreatePeriod {
    pub code: String,
    pub name: String,
    pub data_year: i32,
    pub groups: Vec<GroupPin>,
    pub calendar: Vec<CalendarEntry>,
}

fn check_calendar(calendar: &[CalendarEntry]) -> AppResult<()> {
    let mut errors = Vec::new();
    let mut last_open: Option<(PeriodPhase, DateTime<Utc>)> = None;
    for (i, (phase, opens, closes)) in calendar.iter().enumerate() {
        let Some(p) = PeriodPhase::parse(phase).filter(|p| *p != PeriodPhase::Draft) else {
            errors.push(FieldError::new(
                format!("/calendar/{i}/phase"),
                "INVALID_PHASE",
                "use self_assessment, review, published or archived",
            ));
            continue;
        };
        if let Some(c) = closes
            && c <= opens
        {
            errors.push(FieldError::new(
                format!("/calendar/{i}/closes_at"),
                "BEFORE_OPENS",
                "must be after opens_at",
            ));
        }
        if let Some((lp, lo)) = last_open
            && (p <= lp || *opens < lo)
        {
            errors.push(FieldError::new(
                format!("/calendar/{i}"),
                "OUT_OF_ORDER",
                "phases must follow each other in order and time",
            ));
        }
        last_open = Some((p, *opens));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(errors))
    }
}

/// Who may create periods (checked by [`create`], and before a replay of it).
pub fn authorise_create(actor: &Principal) -> AppResult<()> {
    actor.require_admin("create periods")
}

pub fn create(
    conn: &mut PgConnection,
    actor: &Principal,
    input: CreatePeriod,
) -> AppResult<Period> {
    authorise_create(actor)?;
    check_calendar(&input.calendar)?;
    if input.groups.is_empty() {
        return Err(AppError::validation(vec![FieldError::new(
            "/groups",
            "REQUIRED",
            "pin an indicator set for at least one ranking group",
        )]));
    }
    conn.transaction(|c| insert_period(c, actor, &input))
}

/// The body of [`create`], in its transaction: the period, its pins and calendar, the audit.
fn insert_period(
    c: &mut PgConnection,
    actor: &Principal,
    input: &CreatePeriod,
) -> AppResult<Period> {
    if Period::find_by_code(c, &input.code)?.is_some() {
        return Err(AppError::conflict(
            "CODE_TAKEN",
            format!("A period with code {} exists.", input.code),
        ));
    }
    let id = Uuid::new_v4();
    let period = Period::insert(
        c,
        id,
        &input.code,
        input.name.trim(),
        input.data_year,
        Some(actor.actor_id()),
    )?;
    let pins = pins(c, id, &input.groups)?;
    Period::add_groups(c, &pins)?;
    let windows: Vec<PhaseWindow> = input
        .calendar
        .iter()
        // the calendar was checked: every phase parses
        .filter_map(|entry| window(id, entry))
        .collect();
    Period::replace_windows(c, id, &windows)?;
    let groups: Vec<_> = pins
        .iter()
        .map(|p| serde_json::json!({"group": p.group_id, "set": p.set_id}))
        .collect();
    Audit::new(Some(actor), "period.create", "period", id)
        .period(Some(id))
        .new_value(serde_json::json!({
            "code": period.code, "data_year": period.data_year, "groups": groups,
        }))
        .record(c)?;
    Ok(period)
}

/// The window of a checked calendar entry (`None` for a phase that does not parse).
fn window(period_id: Uuid, (phase, opens_at, closes_at): &CalendarEntry) -> Option<PhaseWindow> {
    Some(PhaseWindow {
        period_id,
        phase: PeriodPhase::parse(phase)?,
        opens_at: *opens_at,
        closes_at: *closes_at,
    })
}

/// The pins of period `id`: each group with an active set for its kind of unit, each group
/// once; or every refusal by its pointer (`/groups/{i}/...`).
fn pins(c: &mut PgConnection, id: Uuid, groups: &[GroupPin]) -> AppResult<Vec<PeriodGroup>> {
    let mut pins = Vec::new();
    let mut errors = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let group = match resolve_group(c, &g.group) {
            Ok(group) => group,
            Err(_) => {
                errors.push(
                    FieldError::new(
                        format!("/groups/{i}/group"),
                        "UNKNOWN_GROUP",
                        format!("no ranking group {:?}", g.group),
                    )
                    .with_param("value", &g.group),
                );
                continue;
            }
        };
        match IndicatorSet::find(c, g.indicator_set)? {
            None => errors.push(FieldError::new(
                format!("/groups/{i}/indicator_set"),
                "UNKNOWN_SET",
                "no such indicator set",
            )),
            Some(s) if s.status != SetStatus::Active => errors.push(
                FieldError::new(
                    format!("/groups/{i}/indicator_set"),
                    "SET_NOT_ACTIVE",
                    format!(
                        "{} v{} is {}; activate it first",
                        s.code, s.version, s.status
                    ),
                )
                .with_param("set", &s.code)
                .with_param("version", s.version)
                .with_param("status", s.status.as_str()),
            ),
            Some(s) if s.target_unit_kind != group.unit_kind => errors.push(
                FieldError::new(
                    format!("/groups/{i}/indicator_set"),
                    "SET_KIND_MISMATCH",
                    format!(
                        "{} assesses {} units, group {} ranks {} units",
                        s.code, s.target_unit_kind, group.code, group.unit_kind
                    ),
                )
                .with_param("set", &s.code)
                .with_param("set_kind", &s.target_unit_kind)
                .with_param("group", &group.code)
                .with_param("group_kind", &group.unit_kind),
            ),
            Some(s) => {
                if pins.iter().any(|p: &PeriodGroup| p.group_id == group.id) {
                    errors.push(FieldError::new(
                        format!("/groups/{i}/group"),
                        "DUPLICATE",
                        "group listed twice",
                    ));
                }
                pins.push(PeriodGroup {
                    period_id: id,
                    group_id: group.id,
                    set_id: s.id,
                    bases_version: None,
                    layout: None,
                    scores_version: None,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(pins)
    } else {
        Err(AppError::validation(errors))
    }
}

/// Moves a period to another phase. Opening (`draft → self_assessment`) creates the
/// assessments and their initial scores and rankings.
pub fn transition(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    to: PeriodPhase,
    reason: Option<String>,
) -> AppResult<Period> {
    actor.require_admin("change period phases")?;
    conn.transaction(|c| {
        let period =
            Period::find_for_update(c, id)?.ok_or_else(|| AppError::not_found("period", id))?;
        if is_repeat(c, actor, &period, to)? {
            return Ok(period);
        }
        let allowed = allowed_transitions(period.phase);
        if !allowed.contains(&to) {
            return Err(AppError::conflict(
                "INVALID_TRANSITION",
                format!("A period in phase {} cannot move to {to}.", period.phase),
            )
            .with_extension("allowed_transitions", allowed));
        }
        if period.phase == PeriodPhase::Draft {
            open_assessments(c, caches, &period)?;
        }
        if to == PeriodPhase::Published {
            // a form still with its unit or the reviewers would be stranded: in a published
            // period only reviewers correct (after a reopen), and nothing reaches the unit
            require_all_finalised(c, &period)?;
        }
        let updated = Period::set_phase(c, id, to)?;
        outbox::emit(
            c,
            Event::phase_changed(&updated, period.phase, actor, reason.as_deref()),
        )?;
        Audit::new(Some(actor), "period.transition", "period", id)
            .period(Some(id))
            .old(serde_json::json!({"phase": period.phase}))
            .new_value(serde_json::json!({"phase": to, "reason": reason}))
            .record(c)?;
        Ok(updated)
    })
}

/// The period is in phase `to` because this caller's last transition moved it there: a retry
/// of that request, answered as the first time, with nothing written.
fn is_repeat(
    c: &mut PgConnection,
    actor: &Principal,
    period: &Period,
    to: PeriodPhase,
) -> AppResult<bool> {
    if period.phase != to {
        return Ok(false);
    }
    let last = AuditEvent::latest(c, "period", &period.id.to_string(), "period.transition")?;
    Ok(last.is_some_and(|e| {
        e.actor_id == Some(actor.actor_id())
            && e.new_value.as_ref().and_then(|v| v.get("phase")) == Some(&serde_json::json!(to))
    }))
}

/// 409 `NOT_ALL_FINALISED` (with the units) unless every assessment of the period is finalised.
fn require_all_finalised(c: &mut PgConnection, period: &Period) -> AppResult<()> {
    let pending: Vec<Uuid> = Assessment::of_period(c, period.id, None)?
        .into_iter()
        // an excluded unit is published unranked, finalised or not
        .filter(|a| a.state != AssessmentState::Finalised && !a.excluded())
        .map(|a| a.unit_id)
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut codes: Vec<String> = Unit::find_many(c, &pending)?
        .into_iter()
        .map(|u| u.code)
        .collect();
    codes.sort();
    Err(AppError::conflict(
        "NOT_ALL_FINALISED",
        format!(
            "{} assessment(s) of the period are not finalised; finalise them before publishing \
             the period.",
            codes.len()
        ),
    )
    .with_extension("units", codes))
}

fn open_assessments(c: &mut PgConnection, caches: &Caches, period: &Period) -> AppResult<()> {
    let groups = Period::groups(c, period.id)?;
    let mut rows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for g in &groups {
        let members = RankingGroup::member_ids(c, g.group_id)?;
        // FOR SHARE: a concurrent change of a unit's tags commits first, and its new tags are
        // the ones the assessment starts with (see `Unit::find_many_for_share`)
        for unit in Unit::find_many_for_share(c, &members)? {
            if !unit.active {
                continue;
            }
            if !seen.insert(unit.id) {
                return Err(AppError::conflict(
                    "UNIT_IN_TWO_GROUPS",
                    format!(
                        "Unit {} belongs to two ranking groups of this period; a unit is assessed \
                         once.",
                        unit.code
                    ),
                ));
            }
            rows.push((
                Uuid::new_v4(),
                period.id,
                unit.id,
                g.group_id,
                g.set_id,
                unit.tags.clone(),
            ));
        }
    }
    Assessment::insert_many(c, &rows)?;
    for g in &groups {
        crate::services::scoring::rescore_group(c, caches, period.id, g.group_id)?;
    }
    Ok(())
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<Period> {
    Period::find(conn, id)?.ok_or_else(|| AppError::not_found("period", id))
}

/// The ranking group of a period that a read names (`group_ref`: id or code, `group` in the
/// query), with its pin; the period's only group when none is named. 422 `UNKNOWN_GROUP`,
/// `NOT_IN_PERIOD`, or `REQUIRED` when the period has several groups.
pub fn pinned_group(
    conn: &mut PgConnection,
    period_id: Uuid,
    group_ref: Option<&str>,
) -> AppResult<(RankingGroup, PeriodGroup)> {
    let pins = Period::groups(conn, period_id)?;
    let group = match group_ref {
        Some(r) => resolve_group(conn, r).unknown_as(|| {
            AppError::validation(vec![
                FieldError::new("group", "UNKNOWN_GROUP", format!("no ranking group {r:?}"))
                    .with_param("value", r),
            ])
        })?,
        None if pins.len() == 1 => RankingGroup::find(conn, pins[0].group_id)?
            .ok_or_else(|| AppError::internal("group missing"))?,
        None => {
            return Err(AppError::validation(vec![FieldError::new(
                "group",
                "REQUIRED",
                "the period has several ranking groups: name one",
            )]));
        }
    };
    let Some(pin) = pins.into_iter().find(|p| p.group_id == group.id) else {
        return Err(AppError::validation(vec![
            FieldError::new(
                "group",
                "NOT_IN_PERIOD",
                format!("group {} is not part of this period", group.code),
            )
            .with_param("group", &group.code),
        ]));
    };
    Ok((group, pin))
}

pub fn list(
    conn: &mut PgConnection,
    phase: Option<PeriodPhase>,
    year: Option<i32>,
    page: PageReq,
) -> AppResult<(Vec<Period>, i64)> {
    Ok(Period::list(conn, phase, year, page)?)
}

/// Rebuilds every score and ranking of the period from its inputs (admin).
pub fn recompute(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
) -> AppResult<usize> {
    actor.require_admin("recompute scores")?;
    let n = conn.transaction::<_, AppError, _>(|c| {
        Period::find(c, id)?.ok_or_else(|| AppError::not_found("period", id))?;
        let n = crate::services::scoring::recompute_period(c, caches, id)?;
        Audit::new(Some(actor), "period.recompute", "period", id)
            .period(Some(id))
            .new_value(serde_json::json!({"assessments": n}))
            .record(c)?;
        Ok(n)
    })?;
    crate::services::scoring::tidy_after_rewrite(conn);
    Ok(n)
}
