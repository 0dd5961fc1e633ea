//! The progress board: who is late at a glance. Per ranking group of a period, the number of
//! assessments in each state; per unit, how much of its own form it has filled in, what still
//! lacks evidence, its open clarification threads, its deadline (with the office's
//! extension), how many days it is overdue, and its last activity.
//!
//! Cheap by construction: per group, the stored forms are read in a handful of set-based
//! statements (the same ones a group rescore reads) and per period one aggregate statement
//! gives threads and activity; nothing is read per unit. A form's progress is worked out by
//! the same rule that decides whether it may be submitted (`workflow::form_progress`).
//!
//! Provincial roles only: the board compares units.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::groups::RankingGroup;
use crate::db::models::periods::Period;
use crate::db::models::progress::Activity;
use crate::db::models::units::Unit;
use crate::domain::Role;
use crate::domain::workflow::{
    AssessmentState, FinalisedAs, PeriodPhase, ProgressFilter, ProgressSort, SortOrder,
};
use crate::error::UnknownAs;
use crate::error::{AppError, AppResult, FieldError};
use crate::scoring::score_unit_numbers;
use crate::services::scoring::Caches;
use crate::services::scoring::{entered_inputs, set_entry, stored_best};
use crate::services::workflow::form_progress;
use crate::tabular::{Cell, Table};

/// One unit's line on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitProgress {
    pub assessment_id: Uuid,
    pub unit_id: Uuid,
    pub unit_code: String,
    pub unit_name: String,
    pub group_id: Uuid,
    pub group_code: String,
    pub state: AssessmentState,
    pub finalised_as: Option<FinalisedAs>,
    pub submitted_on_behalf: bool,
    pub excluded_reason: Option<String>,
    /// Components the unit answers itself and that apply to it.
    pub applicable_components: usize,
    pub answered_components: usize,
    /// answered ÷ applicable, to 4 decimals; `None` when nothing applies.
    pub answered_share: Option<Decimal>,
    /// Answered components that require evidence and have neither evidence nor an
    /// explanation.
    pub missing_evidence: usize,
    pub open_clarifications: i64,
    /// The unit's own deadline when the office set one, else the close of the
    /// self-assessment phase.
    pub deadline: Option<DateTime<Utc>>,
    pub deadline_extended: bool,
    /// Not submitted and past its deadline.
    pub overdue: bool,
    /// Days (started) since the deadline, when overdue.
    pub days_overdue: Option<i64>,
    pub last_activity: Option<DateTime<Utc>>,
}

/// How many assessments of a group are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub not_started: usize,
    pub in_progress: usize,
    pub submitted: usize,
    pub returned: usize,
    pub finalised: usize,
}

impl StateCounts {
    fn add(&mut self, s: AssessmentState) {
        match s {
            AssessmentState::NotStarted => self.not_started += 1,
            AssessmentState::InProgress => self.in_progress += 1,
            AssessmentState::Submitted => self.submitted += 1,
            AssessmentState::Returned => self.returned += 1,
            AssessmentState::Finalised => self.finalised += 1,
        }
    }
}

/// One ranking group's counts.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupProgress {
    pub group_id: Uuid,
    pub group_code: String,
    pub group_name: String,
    pub assessments: usize,
    pub by_state: StateCounts,
    pub overdue: usize,
    pub submitted_on_behalf: usize,
    /// Finalised by the office without a submission (as entered or at zero).
    pub finalised_not_submitted: usize,
    pub excluded_from_ranking: usize,
}

/// The whole board of a period (every unit, unfiltered, in unit-code order).
pub struct Board {
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    pub groups: Vec<GroupProgress>,
    pub units: Vec<UnitProgress>,
}

/// The board of a period, or of one of its ranking groups (`group`: id or code), as of `now`.
pub fn board(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    period_id: Uuid,
    group: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Board> {
    actor.require_role(
        &[Role::Admin, Role::Reviewer, Role::Viewer],
        "read the progress board (it compares units)",
    )?;
    let period =
        Period::find(conn, period_id)?.ok_or_else(|| AppError::not_found("period", period_id))?;
    let mut pins = Period::groups(conn, period_id)?;
    if let Some(r) = group {
        let g = crate::services::units::resolve_group(conn, r).unknown_as(|| {
            AppError::validation(vec![
                FieldError::new("group", "UNKNOWN_GROUP", format!("no ranking group {r:?}"))
                    .with_param("value", r),
            ])
        })?;
        if !pins.iter().any(|p| p.group_id == g.id) {
            return Err(AppError::validation(vec![
                FieldError::new(
                    "group",
                    "NOT_IN_PERIOD",
                    format!("group {} is not part of this period", g.code),
                )
                .with_param("group", &g.code),
            ]));
        }
        pins.retain(|p| p.group_id == g.id);
    }
    let names: HashMap<Uuid, RankingGroup> =
        RankingGroup::find_many(conn, &pins.iter().map(|p| p.group_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
    let calendar_close = Period::windows(conn, period_id)?
        .into_iter()
        .find(|w| w.phase == PeriodPhase::SelfAssessment)
        .and_then(|w| w.closes_at);
    let activity: HashMap<Uuid, Activity> = Activity::of_period(conn, period_id)?
        .into_iter()
        .map(|a| (a.assessment_id, a))
        .collect();
    let mut groups = Vec::new();
    let mut units = Vec::new();
    for pin in &pins {
        let g = names
            .get(&pin.group_id)
            .ok_or_else(|| AppError::internal("pinned group missing"))?;
        let assessments = Assessment::of_group(conn, period_id, pin.group_id)?;
        let entry = set_entry(conn, caches, pin.set_id)?;
        let inputs = entered_inputs(conn, &entry, &assessments)?;
        let best = stored_best(conn, &entry, period_id, pin.group_id, None)?;
        let names: HashMap<Uuid, Unit> = Unit::find_many(
            conn,
            &assessments.iter().map(|a| a.unit_id).collect::<Vec<_>>(),
        )?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
        let mut counts = GroupProgress {
            group_id: g.id,
            group_code: g.code.clone(),
            group_name: g.name.clone(),
            assessments: assessments.len(),
            by_state: StateCounts::default(),
            overdue: 0,
            submitted_on_behalf: 0,
            finalised_not_submitted: 0,
            excluded_from_ranking: 0,
        };
        for (a, input) in assessments.iter().zip(&inputs) {
            let form = form_progress(&entry.set, &score_unit_numbers(&entry.set, input, &best));
            let state = a.state();
            let deadline = a.deadline.or(calendar_close);
            let late = deadline.filter(|d| state.is_open() && now > *d);
            let act = activity.get(&a.id);
            let line = UnitProgress {
                assessment_id: a.id,
                unit_id: a.unit_id,
                unit_code: input.unit_code.clone(),
                unit_name: names
                    .get(&a.unit_id)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                group_id: g.id,
                group_code: g.code.clone(),
                state,
                finalised_as: a.finalised_as(),
                // the current submission, not one that was returned since
                submitted_on_behalf: a.submitted_on_behalf && !state.is_open(),
                excluded_reason: a.excluded_reason.clone(),
                applicable_components: form.applicable,
                answered_components: form.answered(),
                answered_share: share(form.answered(), form.applicable),
                missing_evidence: form.evidence_missing.len(),
                open_clarifications: act.map_or(0, |x| x.open_clarifications),
                deadline,
                deadline_extended: a.deadline.is_some(),
                overdue: late.is_some(),
                days_overdue: late.map(|d| days_started(now - d)),
                last_activity: act.and_then(|x| x.last_activity),
            };
            counts.by_state.add(state);
            counts.overdue += usize::from(line.overdue);
            counts.submitted_on_behalf += usize::from(line.submitted_on_behalf);
            counts.finalised_not_submitted +=
                usize::from(line.finalised_as.is_some_and(FinalisedAs::not_submitted));
            counts.excluded_from_ranking += usize::from(a.excluded());
            units.push(line);
        }
        groups.push(counts);
    }
    groups.sort_by(|a, b| a.group_code.cmp(&b.group_code));
    units.sort_by(|a, b| a.unit_code.cmp(&b.unit_code));
    Ok(Board {
        period,
        generated_at: now,
        groups,
        units,
    })
}

/// `part ÷ whole` to 4 decimals (exact decimal arithmetic); `None` when `whole` is 0.
fn share(part: usize, whole: usize) -> Option<Decimal> {
    (whole > 0).then(|| {
        (Decimal::from(part as u64) / Decimal::from(whole as u64))
            .round_dp(4)
            .normalize()
    })
}

/// Whole days, counting a started day as one (3 hours late = 1 day overdue).
fn days_started(late: chrono::TimeDelta) -> i64 {
    let day = 86_400;
    (late.num_seconds() + day - 1) / day
}

impl ProgressFilter {
    pub fn keeps(self, u: &UnitProgress) -> bool {
        match self {
            ProgressFilter::Overdue => u.overdue,
            ProgressFilter::NotStarted => u.state == AssessmentState::NotStarted,
            ProgressFilter::WaitingForReview => u.state == AssessmentState::Submitted,
        }
    }
}

/// `a` against `b` in `order`, absent values last whatever the order.
fn by<T: Ord>(a: Option<T>, b: Option<T>, order: SortOrder) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => match order {
            SortOrder::Asc => x.cmp(&y),
            SortOrder::Desc => y.cmp(&x),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The lines `filter` keeps, sorted by `sort` in `order` (then by unit code).
pub fn select(
    mut units: Vec<UnitProgress>,
    filter: Option<ProgressFilter>,
    sort: ProgressSort,
    order: SortOrder,
) -> Vec<UnitProgress> {
    if let Some(f) = filter {
        units.retain(|u| f.keeps(u));
    }
    units.sort_by(|a, b| {
        let key = match sort {
            ProgressSort::UnitCode => by(Some(&a.unit_code), Some(&b.unit_code), order),
            ProgressSort::UnitName => by(Some(&a.unit_name), Some(&b.unit_name), order),
            ProgressSort::Group => by(Some(&a.group_code), Some(&b.group_code), order),
            ProgressSort::State => by(Some(a.state), Some(b.state), order),
            ProgressSort::AnsweredShare => by(a.answered_share, b.answered_share, order),
            ProgressSort::MissingEvidence => {
                by(Some(a.missing_evidence), Some(b.missing_evidence), order)
            }
            ProgressSort::OpenClarifications => by(
                Some(a.open_clarifications),
                Some(b.open_clarifications),
                order,
            ),
            ProgressSort::Deadline => by(a.deadline, b.deadline, order),
            ProgressSort::DaysOverdue => by(a.days_overdue, b.days_overdue, order),
            ProgressSort::LastActivity => by(a.last_activity, b.last_activity, order),
        };
        key.then_with(|| a.unit_code.cmp(&b.unit_code))
    });
    units
}

/// The columns of an export (the JSON field names of a board line).
pub const EXPORT_COLUMNS: [&str; 18] = [
    "unit_code",
    "unit_name",
    "group",
    "state",
    "finalised_as",
    "submitted_on_behalf",
    "ranked",
    "exclusion_reason",
    "applicable_components",
    "answered_components",
    "answered_share",
    "missing_evidence",
    "open_clarifications",
    "deadline",
    "deadline_extended",
    "overdue",
    "days_overdue",
    "last_activity",
];

/// The lines as a table for a CSV or XLSX export (times in RFC 3339, UTC).
pub fn table(units: &[UnitProgress]) -> Table {
    let time = |t: Option<DateTime<Utc>>| -> Cell {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .into()
    };
    let yes_no = |b: bool| Cell::from(if b { "true" } else { "false" });
    let count = |n: usize| Cell::Int(i64::try_from(n).unwrap_or(i64::MAX));
    Table {
        headers: EXPORT_COLUMNS.iter().map(|s| s.to_string()).collect(),
        rows: units
            .iter()
            .map(|u| {
                vec![
                    u.unit_code.as_str().into(),
                    u.unit_name.as_str().into(),
                    u.group_code.as_str().into(),
                    u.state.as_str().into(),
                    u.finalised_as.map(FinalisedAs::as_str).into(),
                    yes_no(u.submitted_on_behalf),
                    yes_no(u.excluded_reason.is_none()),
                    u.excluded_reason.as_deref().into(),
                    count(u.applicable_components),
                    count(u.answered_components),
                    u.answered_share.map_or(Cell::Empty, Cell::Number),
                    count(u.missing_evidence),
                    Cell::Int(u.open_clarifications),
                    time(u.deadline),
                    yes_no(u.deadline_extended),
                    yes_no(u.overdue),
                    u.days_overdue.map_or(Cell::Empty, Cell::Int),
                    time(u.last_activity),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str, days: Option<i64>, state: AssessmentState) -> UnitProgress {
        UnitProgress {
            assessment_id: Uuid::nil(),
            unit_id: Uuid::nil(),
            unit_code: code.into(),
            unit_name: code.into(),
            group_id: Uuid::nil(),
            group_code: "G".into(),
            state,
            finalised_as: None,
            submitted_on_behalf: false,
            excluded_reason: None,
            applicable_components: 4,
            answered_components: 1,
            answered_share: share(1, 4),
            missing_evidence: 0,
            open_clarifications: 0,
            deadline: None,
            deadline_extended: false,
            overdue: days.is_some(),
            days_overdue: days,
            last_activity: None,
        }
    }

    #[test]
    fn a_started_day_counts_and_shares_are_exact() {
        assert_eq!(days_started(chrono::TimeDelta::hours(3)), 1);
        assert_eq!(days_started(chrono::TimeDelta::hours(24)), 1);
        assert_eq!(days_started(chrono::TimeDelta::hours(25)), 2);
        assert_eq!(share(1, 3), Some(Decimal::new(3333, 4)));
        assert_eq!(share(2, 2), Some(Decimal::ONE));
        assert_eq!(share(0, 0), None);
    }

    #[test]
    fn absent_values_sort_last_in_both_directions_then_by_code() {
        use AssessmentState::*;
        let units = vec![
            line("C", Some(2), NotStarted),
            line("A", None, Submitted),
            line("B", Some(5), InProgress),
            line("D", Some(2), NotStarted),
        ];
        let codes = |v: Vec<UnitProgress>| v.into_iter().map(|u| u.unit_code).collect::<Vec<_>>();
        let sort = |o| codes(select(units.clone(), None, ProgressSort::DaysOverdue, o));
        assert_eq!(sort(SortOrder::Asc), ["C", "D", "B", "A"]);
        assert_eq!(sort(SortOrder::Desc), ["B", "C", "D", "A"]);
        let overdue = select(
            units.clone(),
            Some(ProgressFilter::Overdue),
            ProgressSort::UnitCode,
            SortOrder::Asc,
        );
        assert_eq!(codes(overdue), ["B", "C", "D"]);
        let waiting = select(
            units,
            Some(ProgressFilter::WaitingForReview),
            ProgressSort::UnitCode,
            SortOrder::Asc,
        );
        assert_eq!(codes(waiting), ["A"]);
    }
}
