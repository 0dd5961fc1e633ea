use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::schema::{adjustments, answers, assessments, evidence};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = assessments)]
pub struct Assessment {
    pub id: Uuid,
    pub period_id: Uuid,
    pub unit_id: Uuid,
    pub group_id: Uuid,
    pub set_id: Uuid,
    pub state: String,
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
    pub unit_tags: Vec<String>,
}

/// An assessment to create: (id, period, unit, group, pinned set, unit tags).
pub type NewAssessment = (Uuid, Uuid, Uuid, Uuid, Uuid, Vec<String>);

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
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

/// See [`Assessment::scoring_answers`].
pub type ScoringAnswer = (Uuid, Uuid, Option<serde_json::Value>, bool, Option<String>);

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

    /// Records a state change (`state` may stay the same) and bumps the version.
    pub fn set_state(
        conn: &mut PgConnection,
        id: Uuid,
        state: &str,
        action: &str,
        actor: Option<Uuid>,
        reason: Option<&str>,
    ) -> QueryResult<Assessment> {
        diesel::update(assessments::table.find(id))
            .set((
                assessments::state.eq(state),
                assessments::last_action.eq(action),
                assessments::last_actor_id.eq(actor),
                assessments::last_action_at.eq(diesel::dsl::now),
                assessments::last_reason.eq(reason),
                assessments::lock_version.eq(assessments::lock_version + 1),
                assessments::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Assessment::as_returning())
            .get_result(conn)
    }

    pub fn answers(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Answer>> {
        answers::table
            .filter(answers::assessment_id.eq_any(ids))
            .select(Answer::as_select())
            .load(conn)
    }

    /// What scoring reads of the answers of some assessments (no notes, versions or times):
    /// `(assessment, node, inputs, not applicable, explanation)`.
    pub fn scoring_answers(
        conn: &mut PgConnection,
        ids: &[Uuid],
    ) -> QueryResult<Vec<ScoringAnswer>> {
        answers::table
            .filter(answers::assessment_id.eq_any(ids))
            .select((
                answers::assessment_id,
                answers::node_id,
                answers::inputs,
                answers::not_applicable,
                answers::explanation,
            ))
            .load(conn)
    }

    pub fn adjustments(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<AdjustmentRow>> {
        adjustments::table
            .filter(adjustments::assessment_id.eq_any(ids))
            .select(AdjustmentRow::as_select())
            .load(conn)
    }

    /// (assessment, node) pairs whose answer has at least one evidence item.
    pub fn evidence_presence(
        conn: &mut PgConnection,
        ids: &[Uuid],
    ) -> QueryResult<Vec<(Uuid, Uuid)>> {
        answers::table
            .inner_join(evidence::table)
            .filter(answers::assessment_id.eq_any(ids))
            .select((answers::assessment_id, answers::node_id))
            .distinct()
            .load(conn)
    }
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

    #[allow(clippy::too_many_arguments)]
    pub fn upsert(
        conn: &mut PgConnection,
        assessment: Uuid,
        node: Uuid,
        inputs: Option<serde_json::Value>,
        not_applicable: bool,
        note: Option<String>,
        explanation: Option<String>,
        by: Option<Uuid>,
    ) -> QueryResult<Answer> {
        diesel::insert_into(answers::table)
            .values((
                answers::id.eq(Uuid::new_v4()),
                answers::assessment_id.eq(assessment),
                answers::node_id.eq(node),
                answers::inputs.eq(&inputs),
                answers::not_applicable.eq(not_applicable),
                answers::note.eq(&note),
                answers::explanation.eq(&explanation),
                answers::updated_by.eq(by),
            ))
            .on_conflict((answers::assessment_id, answers::node_id))
            .do_update()
            .set((
                answers::inputs.eq(&inputs),
                answers::not_applicable.eq(not_applicable),
                answers::note.eq(&note),
                answers::explanation.eq(&explanation),
                answers::updated_by.eq(by),
                answers::lock_version.eq(answers::lock_version + 1),
                answers::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Answer::as_returning())
            .get_result(conn)
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
            .filter(periods::phase.eq_any(["self_assessment", "review"]))
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
