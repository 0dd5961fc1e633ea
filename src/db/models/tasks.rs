//! The aggregate reads behind `GET /me/tasks`: one query per kind of task, each bounded by a
//! limit and counting every match (`count(*) OVER ()`), never one query per assessment.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int8, Interval, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::models::assessments::Assessment;
use crate::db::models::periods::Period;
use crate::db::schema::{assessments, period_phases, periods};
use crate::domain::workflow::{AssessmentState, ClarificationStatus, PeriodPhase};

/// The forms not yet submitted in a period that still takes them (self-assessment or review),
/// with the unit's deadline: its own extension when it has one, else the close of the period's
/// self-assessment phase. Forms with neither have no deadline and are left out. One home for
/// this rule: the admin's overdue tasks and the deadline events both read it.
pub const DUE_FORMS: &str = "
    SELECT a.id AS assessment_id, a.period_id, a.unit_id, a.state,
           COALESCE(a.deadline, sa.closes_at) AS deadline
      FROM assessments a
      JOIN periods p ON p.id = a.period_id AND p.phase IN ('self_assessment', 'review')
      LEFT JOIN period_phases sa ON sa.period_id = a.period_id AND sa.phase = 'self_assessment'
     WHERE a.state IN ('not_started', 'in_progress', 'returned')
       AND COALESCE(a.deadline, sa.closes_at) IS NOT NULL";

/// One row of a task query; columns a kind does not use are null.
#[derive(Debug, Clone, QueryableByName)]
pub struct TaskRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub assessment_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    pub period_id: Uuid,
    #[diesel(sql_type = Text)]
    pub period_code: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub unit_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub unit_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub unit_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub clarification_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub node_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub phase: Option<PeriodPhase>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    /// The assessment's state.
    #[diesel(sql_type = Nullable<Text>)]
    pub state: Option<AssessmentState>,
    /// Every match, beyond the limit too.
    #[diesel(sql_type = Int8)]
    pub total: i64,
}

/// Assessments in `state` of periods that still take forms, of one unit or of all, oldest
/// change first.
pub fn assessments_in_state(
    conn: &mut PgConnection,
    state: AssessmentState,
    unit: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    diesel::sql_query(
        "SELECT a.id AS assessment_id, p.id AS period_id, p.code AS period_code,
                u.id AS unit_id, u.code AS unit_code, u.name AS unit_name,
                NULL::uuid AS clarification_id, NULL::text AS node_code, NULL::text AS phase,
                COALESCE(a.deadline, sa.closes_at) AS due_at, a.last_action_at AS since,
                a.last_reason AS note, a.state, count(*) OVER () AS total
           FROM assessments a
           JOIN periods p ON p.id = a.period_id AND p.phase IN ('self_assessment', 'review')
           JOIN units u ON u.id = a.unit_id
           LEFT JOIN period_phases sa ON sa.period_id = a.period_id AND sa.phase = 'self_assessment'
          WHERE a.state = $1 AND ($2::uuid IS NULL OR a.unit_id = $2)
          ORDER BY a.last_action_at NULLS LAST, u.code, a.id
          LIMIT $3",
    )
    .bind::<Text, _>(state)
    .bind::<Nullable<SqlUuid>, _>(unit)
    .bind::<Int8, _>(limit)
    .load(conn)
}

/// Clarifications in `status` (`open`: waiting for the unit; `answered`: waiting for a
/// reviewer) in periods that still take forms, of one unit or of all, longest waiting first.
pub fn clarifications_in_status(
    conn: &mut PgConnection,
    status: ClarificationStatus,
    unit: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    diesel::sql_query(
        "SELECT a.id AS assessment_id, p.id AS period_id, p.code AS period_code,
                u.id AS unit_id, u.code AS unit_code, u.name AS unit_name,
                c.id AS clarification_id, n.code AS node_code, NULL::text AS phase,
                NULL::timestamptz AS due_at, c.updated_at AS since, NULL::text AS note,
                a.state, count(*) OVER () AS total
           FROM clarifications c
           JOIN assessments a ON a.id = c.assessment_id
           JOIN periods p ON p.id = a.period_id AND p.phase IN ('self_assessment', 'review')
           JOIN units u ON u.id = a.unit_id
           JOIN indicator_nodes n ON n.id = c.node_id
          WHERE c.status = $1 AND ($2::uuid IS NULL OR a.unit_id = $2)
          ORDER BY c.updated_at, c.id
          LIMIT $3",
    )
    .bind::<Text, _>(status)
    .bind::<Nullable<SqlUuid>, _>(unit)
    .bind::<Int8, _>(limit)
    .load(conn)
}

/// Periods whose current phase closes within `within`, soonest first.
pub fn phases_ending_within(
    conn: &mut PgConnection,
    within: std::time::Duration,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    let within = super::webhooks::interval(within);
    diesel::sql_query(
        "SELECT NULL::uuid AS assessment_id, p.id AS period_id, p.code AS period_code,
                NULL::uuid AS unit_id, NULL::text AS unit_code, NULL::text AS unit_name,
                NULL::uuid AS clarification_id, NULL::text AS node_code, pp.phase AS phase,
                pp.closes_at AS due_at, pp.opens_at AS since, NULL::text AS note,
                NULL::text AS state, count(*) OVER () AS total
           FROM periods p
           JOIN period_phases pp ON pp.period_id = p.id AND pp.phase = p.phase
          WHERE pp.closes_at > now() AND pp.closes_at <= now() + $1
          ORDER BY pp.closes_at, p.code
          LIMIT $2",
    )
    .bind::<Interval, _>(within)
    .bind::<Int8, _>(limit)
    .load(conn)
}

/// Forms whose deadline passed and that are still not submitted ([`DUE_FORMS`]), longest
/// overdue first.
pub fn overdue_forms(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<TaskRow>> {
    diesel::sql_query(format!(
        "WITH due AS ({DUE_FORMS})
         SELECT due.assessment_id, p.id AS period_id, p.code AS period_code,
                u.id AS unit_id, u.code AS unit_code, u.name AS unit_name,
                NULL::uuid AS clarification_id, NULL::text AS node_code, NULL::text AS phase,
                due.deadline AS due_at, NULL::timestamptz AS since, NULL::text AS note,
                due.state, count(*) OVER () AS total
           FROM due
           JOIN periods p ON p.id = due.period_id
           JOIN units u ON u.id = due.unit_id
          WHERE due.deadline < now()
          ORDER BY due.deadline, u.code
          LIMIT $1"
    ))
    .bind::<Int8, _>(limit)
    .load(conn)
}

/// A form of [`open_forms_of_unit`]: the assessment, its period, the unit's deadline.
pub type OpenForm = (Assessment, Period, Option<DateTime<Utc>>);

/// The unit's forms that it may still be working on (not submitted, in a period that takes
/// forms), with their periods and the unit's deadline (as in [`DUE_FORMS`]).
pub fn open_forms_of_unit(conn: &mut PgConnection, unit: Uuid) -> QueryResult<Vec<OpenForm>> {
    let rows: Vec<OpenForm> = assessments::table
        .inner_join(periods::table)
        .left_join(
            period_phases::table.on(period_phases::period_id
                .eq(assessments::period_id)
                .and(period_phases::phase.eq(PeriodPhase::SelfAssessment))),
        )
        .filter(assessments::unit_id.eq(unit))
        .filter(assessments::state.eq_any([
            AssessmentState::NotStarted,
            AssessmentState::InProgress,
            AssessmentState::Returned,
        ]))
        .filter(periods::phase.eq_any(PeriodPhase::DECIDING))
        .order(periods::code.asc())
        .select((
            Assessment::as_select(),
            Period::as_select(),
            period_phases::closes_at.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(a, p, closes)| {
            let deadline = a.deadline.or(closes);
            (a, p, deadline)
        })
        .collect())
}
