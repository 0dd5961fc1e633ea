use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::cached_sql::cached_sql;
use crate::db::json_text::JsonText;
use crate::db::models::audit::NewAuditEvent;
use crate::db::schema::{adjustments, answers, assessments, units};
use crate::db::text_array::TextArray;
use crate::domain::workflow::{AssessmentState, FinalisedAs};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = assessments)]
pub struct Assessment {
    pub id: Uuid,
    pub period_id: Uuid,
    pub unit_id: Uuid,
    pub group_id: Uuid,
    pub set_id: Uuid,
    pub state: AssessmentState,
    pub deadline: Option<DateTime<Utc>>,
    pub last_action: Option<String>,
    pub last_actor_id: Option<Uuid>,
    pub last_action_at: Option<DateTime<Utc>>,
    pub last_reason: Option<String>,
    pub lock_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The unit's tags this assessment is scored with (see the migration
    /// `assessment_unit_tags`): copied from the unit when the period opens, and on every change
    /// of the unit's tags while the period is in self-assessment or review.
    #[diesel(deserialize_as = TextArray<String>)]
    pub unit_tags: Vec<String>,
    /// The last submission: when, by whom, whether the office made it on the unit's behalf,
    /// and the office's reason (see the migration `office_decisions`).
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<Uuid>,
    pub submitted_on_behalf: bool,
    pub submission_reason: Option<String>,
    /// How a finalised assessment was finalised (`None` unless finalised).
    pub finalised_as: Option<FinalisedAs>,
    /// Excluded from the period's ranking: why, by whom, when.
    pub excluded_reason: Option<String>,
    pub excluded_by: Option<Uuid>,
    pub excluded_at: Option<DateTime<Utc>>,
}

/// A change of an assessment's state (see [`Assessment::change_state`]).
#[derive(Debug, Clone, Copy)]
pub struct StateChange<'a> {
    pub state: AssessmentState,
    /// With [`AssessmentState::Finalised`] only (the table checks it).
    pub finalised_as: Option<FinalisedAs>,
    /// What happened (`submit`, `submit_on_behalf`, `finalise`…), recorded as the last action.
    pub action: &'a str,
    pub actor: Option<Uuid>,
    pub reason: Option<&'a str>,
    /// A submission: records it (now, by `actor`), made on the unit's behalf or not.
    pub submission: Option<Submission>,
}

/// Who submitted: the unit's leader, or the office on the unit's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    ByUnit,
    OnBehalf,
}

/// An assessment to create: (id, period, unit, group, pinned set, unit tags).
pub type NewAssessment = (Uuid, Uuid, Uuid, Uuid, Uuid, Vec<String>);

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = answers)]
pub struct Answer {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub node_id: Uuid,
    pub inputs: Option<serde_json::Value>,
    pub not_applicable: bool,
    pub note: Option<String>,
    pub explanation: Option<String>,
    pub lock_version: i32,
    pub updated_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What scoring reads of one answer (see [`Assessment::scoring_rows`]).
#[derive(Debug, Clone)]
pub struct ScoringAnswer {
    pub assessment_id: Uuid,
    pub node_id: Uuid,
    pub inputs: Option<JsonText>,
    pub not_applicable: bool,
    pub explanation: Option<String>,
    /// At least one evidence item is attached (`answers.evidence_count`).
    pub has_evidence: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = adjustments)]
pub struct AdjustmentRow {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub node_id: Uuid,
    pub inputs: Option<serde_json::Value>,
    pub points: Option<Decimal>,
    pub not_applicable: Option<bool>,
    pub reason: String,
    pub reviewer_id: Option<Uuid>,
    pub lock_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Assessment {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Assessment>> {
        assessments::table
            .find(id)
            .select(Assessment::as_select())
            .first(conn)
            .optional()
    }

    /// Locks the row for the rest of the transaction (`FOR NO KEY UPDATE`: foreign-key checks
    /// of other transactions, which take `KEY SHARE`, never wait for it). In the lock order
    /// (see `services::scoring`) an assessment comes after its group: writes that can move a
    /// score take both through `services::scoring::lock_assessment`.
    pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Assessment>> {
        assessments::table
            .find(id)
            .for_no_key_update()
            .select(Assessment::as_select())
            .first(conn)
            .optional()
    }

    pub fn of_group(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
    ) -> QueryResult<Vec<Assessment>> {
        assessments::table
            .filter(assessments::period_id.eq(period))
            .filter(assessments::group_id.eq(group))
            .select(Assessment::as_select())
            .load(conn)
    }

    pub fn of_period(
        conn: &mut PgConnection,
        period: Uuid,
        unit: Option<Uuid>,
    ) -> QueryResult<Vec<Assessment>> {
        let mut q = assessments::table
            .filter(assessments::period_id.eq(period))
            .into_boxed();
        if let Some(u) = unit {
            q = q.filter(assessments::unit_id.eq(u));
        }
        q.select(Assessment::as_select()).load(conn)
    }

    /// The assessments of some units in a period.
    pub fn of_units(
        conn: &mut PgConnection,
        period: Uuid,
        units: &[Uuid],
    ) -> QueryResult<Vec<Assessment>> {
        assessments::table
            .filter(assessments::period_id.eq(period))
            .filter(assessments::unit_id.eq_any(units))
            .select(Assessment::as_select())
            .load(conn)
    }

    pub fn insert_many(conn: &mut PgConnection, rows: &[NewAssessment]) -> QueryResult<()> {
        let values: Vec<_> = rows
            .iter()
            .map(|(id, period, unit, group, set, tags)| {
                (
                    assessments::id.eq(*id),
                    assessments::period_id.eq(*period),
                    assessments::unit_id.eq(*unit),
                    assessments::group_id.eq(*group),
                    assessments::set_id.eq(*set),
                    assessments::unit_tags.eq(tags),
                )
            })
            .collect();
        for chunk in values.chunks(2000) {
            diesel::insert_into(assessments::table)
                .values(chunk)
                .execute(conn)?;
        }
        Ok(())
    }

    /// Records a state change (`state` may stay the same) and bumps the version. A change to
    /// `finalised` here is the ordinary one (reviewed); see [`Assessment::change_state`].
    pub fn set_state(
        conn: &mut PgConnection,
        id: Uuid,
        state: AssessmentState,
        action: &str,
        actor: Option<Uuid>,
        reason: Option<&str>,
    ) -> QueryResult<Assessment> {
        Self::change_state(
            conn,
            id,
            &StateChange {
                state,
                finalised_as: (state == AssessmentState::Finalised)
                    .then_some(FinalisedAs::Reviewed),
                action,
                actor,
                reason,
                submission: None,
            },
        )
    }

    /// [`Assessment::set_state`] of many assessments to a state that is neither finalised
    /// nor a submission (an import starting the forms it writes), in one statement.
    pub fn start_many(
        conn: &mut PgConnection,
        ids: &[Uuid],
        action: &str,
        actor: Option<Uuid>,
    ) -> QueryResult<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        diesel::update(assessments::table.filter(assessments::id.eq_any(ids)))
            .set((
                assessments::state.eq(AssessmentState::InProgress),
                assessments::finalised_as.eq(None::<FinalisedAs>),
                assessments::last_action.eq(action),
                assessments::last_actor_id.eq(actor),
                assessments::last_action_at.eq(diesel::dsl::now),
                assessments::last_reason.eq(None::<String>),
                assessments::lock_version.eq(assessments::lock_version + 1),
                assessments::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
    }

    /// Records a state change, how it was finalised (cleared when not finalised) and, for a
    /// submission, who made it; bumps the version.
    pub fn change_state(
        conn: &mut PgConnection,
        id: Uuid,
        change: &StateChange,
    ) -> QueryResult<Assessment> {
        let target = assessments::table.find(id);
        let common = (
            assessments::state.eq(change.state),
            assessments::finalised_as.eq(change.finalised_as),
            assessments::last_action.eq(change.action),
            assessments::last_actor_id.eq(change.actor),
            assessments::last_action_at.eq(diesel::dsl::now),
            assessments::last_reason.eq(change.reason),
            assessments::lock_version.eq(assessments::lock_version + 1),
            assessments::updated_at.eq(diesel::dsl::now),
        );
        match change.submission {
            None => diesel::update(target)
                .set(common)
                .returning(Assessment::as_returning())
                .get_result(conn),
            Some(kind) => {
                let on_behalf = kind == Submission::OnBehalf;
                diesel::update(target)
                    .set((
                        common,
                        (
                            assessments::submitted_at.eq(diesel::dsl::now),
                            assessments::submitted_by.eq(change.actor),
                            assessments::submitted_on_behalf.eq(on_behalf),
                            assessments::submission_reason.eq(change.reason.filter(|_| on_behalf)),
                        ),
                    ))
                    .returning(Assessment::as_returning())
                    .get_result(conn)
            }
        }
    }

    /// Excludes the assessment's unit from the period's ranking (`Some((reason, by))`) or
    /// ranks it again (`None`); bumps the version.
    pub fn set_exclusion(
        conn: &mut PgConnection,
        id: Uuid,
        exclusion: Option<(&str, Uuid)>,
    ) -> QueryResult<Assessment> {
        let target = assessments::table.find(id);
        let version = (
            assessments::lock_version.eq(assessments::lock_version + 1),
            assessments::updated_at.eq(diesel::dsl::now),
        );
        match exclusion {
            Some((reason, by)) => diesel::update(target)
                .set((
                    assessments::excluded_reason.eq(reason),
                    assessments::excluded_by.eq(by),
                    assessments::excluded_at.eq(diesel::dsl::now),
                    version,
                ))
                .returning(Assessment::as_returning())
                .get_result(conn),
            None => diesel::update(target)
                .set((
                    assessments::excluded_reason.eq(None::<String>),
                    assessments::excluded_by.eq(None::<Uuid>),
                    assessments::excluded_at.eq(None::<DateTime<Utc>>),
                    version,
                ))
                .returning(Assessment::as_returning())
                .get_result(conn),
        }
    }

    /// Locks the given assessments of a period, in id order (so that two callers locking
    /// overlapping sets never deadlock), and returns those that exist.
    /// The ranking groups of some assessments of a period, by id (to lock them first: see the
    /// lock order in `services::scoring`).
    pub fn groups_of(
        conn: &mut PgConnection,
        period: Uuid,
        ids: &[Uuid],
    ) -> QueryResult<Vec<Uuid>> {
        assessments::table
            .filter(assessments::period_id.eq(period))
            .filter(assessments::id.eq_any(ids))
            .select(assessments::group_id)
            .distinct()
            .order(assessments::group_id)
            .load(conn)
    }

    /// Locks some assessments of a period, by id; their groups must be locked already.
    pub fn lock_many(
        conn: &mut PgConnection,
        period: Uuid,
        ids: &[Uuid],
    ) -> QueryResult<Vec<Assessment>> {
        assessments::table
            .filter(assessments::period_id.eq(period))
            .filter(assessments::id.eq_any(ids))
            .order(assessments::id)
            .for_no_key_update()
            .select(Assessment::as_select())
            .load(conn)
    }

    /// The state.
    pub fn state(&self) -> AssessmentState {
        self.state
    }

    /// How it was finalised (`None` unless finalised).
    pub fn finalised_as(&self) -> Option<FinalisedAs> {
        self.finalised_as
    }

    /// Excluded from the period's ranking.
    pub fn excluded(&self) -> bool {
        self.excluded_reason.is_some()
    }

    pub fn answers(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Answer>> {
        answers::table
            .filter(answers::assessment_id.eq_any(ids))
            .select(Answer::as_select())
            .load(conn)
    }

    /// Everything scoring reads of some assessments, in one statement: each one's answers
    /// (with whether evidence is attached: the answer's own count, kept by the triggers of
    /// migration `evidence_counts`, so that this never reads `evidence`), the reviewers'
    /// adjustments and the unit's code ([`ScoringRow`]). An answer write reads this for its own
    /// assessment; one statement instead of three is two round trips fewer on every write.
    pub fn scoring_rows(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<ScoringRow>> {
        use diesel::sql_types::{Bool, Json, Nullable, Numeric, SmallInt, Text};
        let kind = |k: i16| k.into_sql::<SmallInt>();
        let no_json = || None::<JsonText>.into_sql::<Nullable<Json>>();
        let no_bool = || None::<bool>.into_sql::<Nullable<Bool>>();
        let no_text = || None::<String>.into_sql::<Nullable<Text>>();
        let no_points = || None::<Decimal>.into_sql::<Nullable<Numeric>>();
        let answers = answers::table
            .filter(answers::assessment_id.eq_any(ids))
            .select((
                kind(row_kind::ANSWER),
                answers::assessment_id,
                answers::node_id,
                answers::inputs,
                answers::not_applicable.nullable(),
                answers::explanation,
                no_points(),
                answers::evidence_count.gt(0).nullable(),
            ));
        let adjusted = adjustments::table
            .filter(adjustments::assessment_id.eq_any(ids))
            .select((
                kind(row_kind::ADJUSTMENT),
                adjustments::assessment_id,
                adjustments::node_id,
                adjustments::inputs,
                adjustments::not_applicable,
                no_text(),
                adjustments::points,
                no_bool(),
            ));
        let units = assessments::table
            .inner_join(units::table)
            .filter(assessments::id.eq_any(ids))
            .select((
                kind(row_kind::UNIT),
                assessments::id,
                assessments::unit_id,
                no_json(),
                no_bool(),
                units::code.nullable(),
                no_points(),
                no_bool(),
            ));
        let rows: Vec<RawScoringRow> = answers.union_all(adjusted).union_all(units).load(conn)?;
        Ok(rows.into_iter().filter_map(RawScoringRow::typed).collect())
    }

    pub fn adjustments(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<AdjustmentRow>> {
        adjustments::table
            .filter(adjustments::assessment_id.eq_any(ids))
            .select(AdjustmentRow::as_select())
            .load(conn)
    }
}

/// What a [`RawScoringRow`] is (its first column).
mod row_kind {
    pub const ANSWER: i16 = 0;
    pub const ADJUSTMENT: i16 = 1;
    pub const UNIT: i16 = 2;
}

/// One row of [`Assessment::scoring_rows`] as read: the columns of the three kinds side by side.
#[derive(Queryable)]
struct RawScoringRow {
    kind: i16,
    assessment_id: Uuid,
    /// The unit's id in a unit row.
    node_id: Uuid,
    inputs: Option<JsonText>,
    not_applicable: Option<bool>,
    /// The unit's code in a unit row.
    text: Option<String>,
    points: Option<Decimal>,
    /// Whether an answer has evidence.
    evidenced: Option<bool>,
}

impl RawScoringRow {
    fn typed(self) -> Option<ScoringRow> {
        let RawScoringRow {
            kind,
            assessment_id,
            node_id,
            inputs,
            not_applicable,
            text,
            points,
            evidenced,
        } = self;
        Some(match kind {
            row_kind::ANSWER => ScoringRow::Answer(ScoringAnswer {
                assessment_id,
                node_id,
                inputs,
                not_applicable: not_applicable.unwrap_or(false),
                explanation: text,
                has_evidence: evidenced.unwrap_or(false),
            }),
            row_kind::ADJUSTMENT => ScoringRow::Adjustment(ScoringAdjustment {
                assessment_id,
                node_id,
                inputs,
                points,
                not_applicable,
            }),
            row_kind::UNIT => ScoringRow::Unit {
                assessment_id,
                code: text?,
            },
            _ => return None,
        })
    }
}

/// One thing scoring reads of an assessment ([`Assessment::scoring_rows`]).
#[derive(Debug, Clone)]
pub enum ScoringRow {
    Answer(ScoringAnswer),
    Adjustment(ScoringAdjustment),
    /// The code of the assessment's unit.
    Unit {
        assessment_id: Uuid,
        code: String,
    },
}

/// What scoring reads of one reviewer's adjustment.
#[derive(Debug, Clone)]
pub struct ScoringAdjustment {
    pub assessment_id: Uuid,
    pub node_id: Uuid,
    pub inputs: Option<JsonText>,
    pub points: Option<Decimal>,
    pub not_applicable: Option<bool>,
}

impl Answer {
    pub fn find(
        conn: &mut PgConnection,
        assessment: Uuid,
        node: Uuid,
    ) -> QueryResult<Option<Answer>> {
        answers::table
            .filter(answers::assessment_id.eq(assessment))
            .filter(answers::node_id.eq(node))
            .select(Answer::as_select())
            .first(conn)
            .optional()
    }
}

#[derive(QueryableByName)]
struct Replaced {
    #[diesel(embed)]
    answer: Answer,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Int4>)]
    old_lock_version: Option<i32>,
}

/// The audit event every answer that [`Answer::replace_many`] writes is recorded with: who,
/// which unit and period, the request. The statement adds what only it knows: the answer's id
/// (`entity_id`) and its content before and after (`old_value`, `new_value`: the node's code,
/// the inputs and whether not applicable; `null` before a new answer).
pub struct AnswerEvent<'a> {
    /// Its actor, action, entity type, unit, period and request (the rest is the statement's).
    pub event: &'a NewAuditEvent,
    /// Each row's node code, in the order of the rows.
    pub codes: &'a [&'a str],
}

/// One answer of a bulk write ([`Answer::replace_many`], [`Answer::upsert_many`]).
#[derive(Debug, Clone)]
pub struct AnswerWrite {
    pub assessment_id: Uuid,
    pub node_id: Uuid,
    pub inputs: Option<serde_json::Value>,
    pub not_applicable: bool,
    pub note: Option<String>,
    pub explanation: Option<String>,
}

/// A stored answer as an import compares a row with it: its (assessment, node) and content.
#[derive(Debug, Clone, QueryableByName)]
pub struct StoredAnswer {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub assessment_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub node_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Json>)]
    pub inputs: Option<serde_json::Value>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub not_applicable: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub explanation: Option<String>,
}

#[derive(QueryableByName)]
struct ChangedAnswer {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    assessment_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    node_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    created: bool,
}

#[derive(QueryableByName)]
struct WrittenAnswer {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    assessment_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    node_id: Uuid,
}

/// The rows to write, `x`: the arrays `$1`…`$6` (assessment, node, inputs, not applicable,
/// note, explanation) `unnest`ed, one row per (assessment, node), `ord` its position (from 1).
macro_rules! answer_rows {
    () => {
        "x AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[], $4::bool[], \
           $5::text[], $6::text[]) WITH ORDINALITY \
           AS x(assessment_id, node_id, inputs, na, note, explanation, ord))"
    };
}

/// How an answer is written, the one rule every statement that writes answers follows: the
/// rows of `x` inserted, or each overwriting the stored answer of its (assessment, node) with
/// the version bumped; `$7` their author. A statement ends the conflict clause (an optional
/// `WHERE` on the overwrite, then `RETURNING`).
macro_rules! write_answers {
    () => {
        "INSERT INTO answers AS a (id, assessment_id, node_id, inputs, not_applicable, note, \
           explanation, updated_by) \
         SELECT gen_random_uuid(), x.assessment_id, x.node_id, x.inputs, x.na, x.note, \
           x.explanation, $7 FROM x \
         ON CONFLICT (assessment_id, node_id) DO UPDATE SET inputs = EXCLUDED.inputs, \
           not_applicable = EXCLUDED.not_applicable, note = EXCLUDED.note, \
           explanation = EXCLUDED.explanation, updated_by = EXCLUDED.updated_by, \
           lock_version = a.lock_version + 1, updated_at = now() "
    };
}

/// One row to write, `x`, from the scalars `$1`…`$6` (the columns of `answer_rows!`): a
/// statement with arrays is planned afresh on every call (~0.25 ms), one with scalars once per
/// connection, and most writes are of one answer.
macro_rules! answer_row {
    () => {
        "x AS (SELECT $1::uuid AS assessment_id, $2::uuid AS node_id, $3::jsonb AS inputs, \
           $4::bool AS na, $5::text AS note, $6::text AS explanation, 1::bigint AS ord)"
    };
}

/// After the rows `x`: each row written, in the order of `x`, with the version its (assessment,
/// node) held before (the statement's snapshot, taken before its insert), and its audit event
/// (`$8` the row's node code, `code`; `$9`…`$15` the event's actor, role, action, entity type,
/// unit, period and request: [`AnswerEvent`]). The event's old and new values are built here, from
/// the rows the statement read and wrote, so an answer is never written without its event.
macro_rules! replace_answers {
    ($code:literal) => {
        concat!(
            ", old AS (SELECT a.assessment_id, a.node_id, a.inputs, a.not_applicable, \
               a.lock_version \
             FROM answers a JOIN x ON a.assessment_id = x.assessment_id \
               AND a.node_id = x.node_id), \
             new AS (",
            write_answers!(),
            "RETURNING a.id, a.assessment_id, a.node_id, a.inputs, a.not_applicable, a.note, \
               a.explanation, a.lock_version, a.updated_by, a.created_at, a.updated_at), \
             done AS (SELECT new.*, x.ord, ",
            $code,
            " AS code, old.inputs AS old_inputs, \
               old.not_applicable AS old_not_applicable, old.lock_version AS old_lock_version \
             FROM new JOIN x ON x.assessment_id = new.assessment_id AND x.node_id = new.node_id \
             LEFT JOIN old ON old.assessment_id = new.assessment_id \
               AND old.node_id = new.node_id), \
             events AS (INSERT INTO audit_events (actor_id, actor_role, action, entity_type, \
               entity_id, unit_id, period_id, old_value, new_value, request_id) \
             SELECT $9, $10, $11, $12, d.id::text, $13, $14, \
               CASE WHEN d.old_lock_version IS NULL THEN 'null'::jsonb \
                 ELSE jsonb_build_object('node', d.code, 'inputs', d.old_inputs, \
                   'not_applicable', d.old_not_applicable) END, \
               jsonb_build_object('node', d.code, 'inputs', d.inputs, \
                 'not_applicable', d.not_applicable), \
               $15 \
             FROM done d ORDER BY d.ord) \
             SELECT d.id, d.assessment_id, d.node_id, d.inputs, d.not_applicable, d.note, \
               d.explanation, d.lock_version, d.updated_by, d.created_at, d.updated_at, \
               d.old_lock_version \
             FROM done d ORDER BY d.ord"
        )
    };
}

/// `query` with the parameters of `answer_rows!` bound: `$1`…`$6` one array per column of
/// `rows`, `$7` the author `by`.
macro_rules! bind_columns {
    ($query:expr, $rows:expr, $by:expr) => {{
        use diesel::sql_types::{Array, Bool, Jsonb, Nullable, Text, Uuid as SqlUuid};
        let rows: &[AnswerWrite] = $rows;
        let column = |f: fn(&AnswerWrite) -> Option<&str>| -> Vec<Option<&str>> {
            rows.iter().map(f).collect()
        };
        $query
            .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
            .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.node_id).collect::<Vec<_>>())
            .bind::<Array<Nullable<Jsonb>>, _>(
                rows.iter().map(|r| r.inputs.as_ref()).collect::<Vec<_>>(),
            )
            .bind::<Array<Bool>, _>(rows.iter().map(|r| r.not_applicable).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(column(|r| r.note.as_deref()))
            .bind::<Array<Nullable<Text>>, _>(column(|r| r.explanation.as_deref()))
            .bind::<Nullable<SqlUuid>, _>($by)
    }};
}

/// [`Answer::replace_many`] of one row.
const REPLACE_ANSWER: &str = concat!("WITH ", answer_row!(), replace_answers!("$8::text"));

/// [`Answer::replace_many`] of several rows.
const REPLACE_ANSWERS: &str = concat!(
    "WITH ",
    answer_rows!(),
    replace_answers!("($8::text[])[x.ord]")
);

/// [`Answer::upsert_many`].
const UPSERT_ANSWERS: &str = concat!(
    "WITH ",
    answer_rows!(),
    " ",
    write_answers!(),
    "RETURNING a.id, a.assessment_id, a.node_id"
);

/// [`Answer::write_changed`]: only the rows that differ from what is stored are overwritten.
const WRITE_CHANGED_ANSWERS: &str = concat!(
    "WITH ",
    answer_rows!(),
    " ",
    write_answers!(),
    "WHERE (a.inputs::jsonb, a.not_applicable, a.note, a.explanation) IS DISTINCT FROM \
       (EXCLUDED.inputs::jsonb, EXCLUDED.not_applicable, EXCLUDED.note, EXCLUDED.explanation) \
     RETURNING a.assessment_id, a.node_id, a.lock_version = 1 AS created"
);

impl Answer {
    /// The stored answers of some (assessment, node) pairs, in one statement (the pairs as two
    /// `unnest`ed arrays): what an import's chunk of rows is compared with.
    pub fn of_pairs(
        conn: &mut PgConnection,
        pairs: &[(Uuid, Uuid)],
    ) -> QueryResult<Vec<StoredAnswer>> {
        use diesel::sql_types::{Array, Uuid as SqlUuid};
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        diesel::sql_query(
            "SELECT a.assessment_id, a.node_id, a.inputs, a.not_applicable, a.note, \
               a.explanation \
             FROM answers a \
             JOIN unnest($1::uuid[], $2::uuid[]) AS x(assessment_id, node_id) \
               ON a.assessment_id = x.assessment_id AND a.node_id = x.node_id",
        )
        .bind::<Array<SqlUuid>, _>(pairs.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(pairs.iter().map(|p| p.1).collect::<Vec<_>>())
        .load(conn)
    }

    /// Inserts or overwrites answers (as [`Answer::upsert_many`]) and records each one's audit
    /// event ([`AnswerEvent`]); returns each answer as stored, in the order of `rows`, with the
    /// version it held before (`None`: it is new), in one statement per 10,000 rows (one row: a
    /// statement of its own, planned once per connection). The caller holds the assessments'
    /// locks, so nothing writes the answers between the two; `rows` name each (assessment,
    /// node) at most once.
    pub fn replace_many(
        conn: &mut PgConnection,
        rows: &[AnswerWrite],
        by: Option<Uuid>,
        audit: &AnswerEvent<'_>,
    ) -> QueryResult<Vec<(Answer, Option<i32>)>> {
        use diesel::sql_types::{Array, Bool, Jsonb, Nullable, Text, Uuid as SqlUuid};
        // a row without its node code would be written without its event
        if rows.len() != audit.codes.len() {
            return Err(diesel::result::Error::QueryBuilderError(
                "every answer written needs its node code for its audit event".into(),
            ));
        }
        let ev = audit.event;
        let mut replaced: Vec<Replaced> = Vec::with_capacity(rows.len());
        if let ([one], [code]) = (rows, audit.codes) {
            replaced = cached_sql(REPLACE_ANSWER)
                .bind::<SqlUuid, _>(one.assessment_id)
                .bind::<SqlUuid, _>(one.node_id)
                .bind::<Nullable<Jsonb>, _>(one.inputs.as_ref())
                .bind::<Bool, _>(one.not_applicable)
                .bind::<Nullable<Text>, _>(one.note.as_deref())
                .bind::<Nullable<Text>, _>(one.explanation.as_deref())
                .bind::<Nullable<SqlUuid>, _>(by)
                .bind::<Text, _>(*code)
                .bind::<Nullable<SqlUuid>, _>(ev.actor_id)
                .bind::<Nullable<Text>, _>(ev.actor_role.as_deref())
                .bind::<Text, _>(ev.action.as_str())
                .bind::<Text, _>(ev.entity_type.as_str())
                .bind::<Nullable<SqlUuid>, _>(ev.unit_id)
                .bind::<Nullable<SqlUuid>, _>(ev.period_id)
                .bind::<Nullable<Text>, _>(ev.request_id.as_deref())
                .load(conn)?;
        } else {
            for (chunk, codes) in rows.chunks(10_000).zip(audit.codes.chunks(10_000)) {
                let written: Vec<Replaced> = bind_columns!(cached_sql(REPLACE_ANSWERS), chunk, by)
                    .bind::<Array<Text>, _>(codes)
                    .bind::<Nullable<SqlUuid>, _>(ev.actor_id)
                    .bind::<Nullable<Text>, _>(ev.actor_role.as_deref())
                    .bind::<Text, _>(ev.action.as_str())
                    .bind::<Text, _>(ev.entity_type.as_str())
                    .bind::<Nullable<SqlUuid>, _>(ev.unit_id)
                    .bind::<Nullable<SqlUuid>, _>(ev.period_id)
                    .bind::<Nullable<Text>, _>(ev.request_id.as_deref())
                    .load(conn)?;
                replaced.extend(written);
            }
        }
        // every row is written (inserted or overwritten): one answer back per row, in order
        if replaced.len() != rows.len() {
            return Err(diesel::result::Error::NotFound);
        }
        Ok(replaced
            .into_iter()
            .map(|r| (r.answer, r.old_lock_version))
            .collect())
    }

    /// [`Answer::upsert_many`] of the rows that differ from what is stored (inputs, not
    /// applicable, note, explanation): the others are left as they are, version included, and
    /// the comparison is the statement's own, so nothing is read first. Returns (assessment,
    /// node, created) of each row written: created when new (its version is 1), else updated.
    pub fn write_changed(
        conn: &mut PgConnection,
        rows: &[AnswerWrite],
        by: Option<Uuid>,
    ) -> QueryResult<Vec<(Uuid, Uuid, bool)>> {
        let written: Vec<ChangedAnswer> = Self::write_rows(conn, rows, by, WRITE_CHANGED_ANSWERS)?;
        Ok(written
            .into_iter()
            .map(|w| (w.assessment_id, w.node_id, w.created))
            .collect())
    }

    /// Inserts or overwrites many answers, one statement per 10,000 rows. Returns (answer id,
    /// assessment, node).
    pub fn upsert_many(
        conn: &mut PgConnection,
        rows: &[AnswerWrite],
        by: Option<Uuid>,
    ) -> QueryResult<Vec<(Uuid, Uuid, Uuid)>> {
        let written: Vec<WrittenAnswer> = Self::write_rows(conn, rows, by, UPSERT_ANSWERS)?;
        Ok(written
            .into_iter()
            .map(|w| (w.id, w.assessment_id, w.node_id))
            .collect())
    }

    /// Runs `sql`, one of the statements that write answers (`write_answers!`), 10,000 rows at
    /// a time: one array per column, `$7` the author. Prepared once per connection.
    fn write_rows<R>(
        conn: &mut PgConnection,
        rows: &[AnswerWrite],
        by: Option<Uuid>,
        sql: &'static str,
    ) -> QueryResult<Vec<R>>
    where
        R: diesel::deserialize::QueryableByName<diesel::pg::Pg> + 'static,
    {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(10_000) {
            let written: Vec<R> = bind_columns!(cached_sql(sql), chunk, by).load(conn)?;
            out.extend(written);
        }
        Ok(out)
    }
}

impl AdjustmentRow {
    #[allow(clippy::too_many_arguments)]
    pub fn upsert(
        conn: &mut PgConnection,
        assessment: Uuid,
        node: Uuid,
        inputs: Option<serde_json::Value>,
        points: Option<Decimal>,
        not_applicable: Option<bool>,
        reason: &str,
        reviewer: Uuid,
    ) -> QueryResult<AdjustmentRow> {
        diesel::insert_into(adjustments::table)
            .values((
                adjustments::id.eq(Uuid::new_v4()),
                adjustments::assessment_id.eq(assessment),
                adjustments::node_id.eq(node),
                adjustments::inputs.eq(&inputs),
                adjustments::points.eq(points),
                adjustments::not_applicable.eq(not_applicable),
                adjustments::reason.eq(reason),
                adjustments::reviewer_id.eq(reviewer),
            ))
            .on_conflict((adjustments::assessment_id, adjustments::node_id))
            .do_update()
            .set((
                adjustments::inputs.eq(&inputs),
                adjustments::points.eq(points),
                adjustments::not_applicable.eq(not_applicable),
                adjustments::reason.eq(reason),
                adjustments::reviewer_id.eq(reviewer),
                adjustments::lock_version.eq(adjustments::lock_version + 1),
                adjustments::updated_at.eq(diesel::dsl::now),
            ))
            .returning(AdjustmentRow::as_returning())
            .get_result(conn)
    }

    pub fn delete(conn: &mut PgConnection, assessment: Uuid, node: Uuid) -> QueryResult<usize> {
        diesel::delete(
            adjustments::table
                .filter(adjustments::assessment_id.eq(assessment))
                .filter(adjustments::node_id.eq(node)),
        )
        .execute(conn)
    }
}

impl Assessment {
    /// The assessments of a unit in the periods that are open for data (self-assessment,
    /// review), in lock order (period, group).
    pub fn open_of_unit(conn: &mut PgConnection, unit: Uuid) -> QueryResult<Vec<Assessment>> {
        use crate::db::schema::periods;
        assessments::table
            .inner_join(periods::table)
            .filter(assessments::unit_id.eq(unit))
            .filter(periods::phase.eq_any(crate::domain::workflow::PeriodPhase::DECIDING))
            .order((assessments::period_id.asc(), assessments::group_id.asc()))
            .select(Assessment::as_select())
            .load(conn)
    }

    /// Sets the unit tags an assessment is scored with (the caller rescores it).
    pub fn set_unit_tags(
        conn: &mut PgConnection,
        id: Uuid,
        tags: &[String],
    ) -> QueryResult<Assessment> {
        diesel::update(assessments::table.find(id))
            .set((
                assessments::unit_tags.eq(tags),
                assessments::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Assessment::as_returning())
            .get_result(conn)
    }

    pub fn set_deadline(
        conn: &mut PgConnection,
        id: Uuid,
        deadline: Option<DateTime<Utc>>,
    ) -> QueryResult<Assessment> {
        diesel::update(assessments::table.find(id))
            .set((
                assessments::deadline.eq(deadline),
                assessments::lock_version.eq(assessments::lock_version + 1),
                assessments::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Assessment::as_returning())
            .get_result(conn)
    }
}
