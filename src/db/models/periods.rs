use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::PageReq;
use crate::db::cached_sql::cached_sql;
use crate::db::schema::{period_groups, period_phases, periods};
use crate::domain::workflow::PeriodPhase;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = periods)]
pub struct Period {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub data_year: i32,
    pub phase: PeriodPhase,
    pub lock_version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = period_phases)]
pub struct PhaseWindow {
    pub period_id: Uuid,
    pub phase: PeriodPhase,
    pub opens_at: DateTime<Utc>,
    pub closes_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = period_groups)]
pub struct PeriodGroup {
    pub period_id: Uuid,
    pub group_id: Uuid,
    pub set_id: Uuid,
    /// Stamp of the group's stored bases (see the migration `bases_version`): `None` until
    /// bases are first written.
    pub bases_version: Option<Uuid>,
    /// The layout the group's stored numbers were written in (`SetEntry::layout`): `None`
    /// until first scored.
    pub layout: Option<String>,
    /// Stamp of the group's score rows, drawn afresh by the database on every statement that
    /// writes them (see the migration `ranks_and_best`): `None` until first written since.
    pub scores_version: Option<Uuid>,
}

/// A group locked by [`Period::lock_group_of_assessment`], and its period.
#[derive(Debug, Clone, QueryableByName)]
pub struct GroupAndPeriod {
    #[diesel(embed)]
    pub group: PeriodGroup,
    #[diesel(embed)]
    pub period: Period,
}

impl Period {
    /// The phase.
    pub fn phase(&self) -> PeriodPhase {
        self.phase
    }

    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Period>> {
        periods::table
            .find(id)
            .select(Period::as_select())
            .first(conn)
            .optional()
    }

    /// Locks the period row (phase changes, publications and reopens serialise here). First in
    /// the lock order (see `services::scoring`), and `FOR NO KEY UPDATE`: a writer that holds a
    /// group lock and stores a score row takes `KEY SHARE` on the period through the foreign
    /// key, which this lock never blocks, so a publication waiting for that group cannot close
    /// a cycle.
    pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Period>> {
        periods::table
            .find(id)
            .for_no_key_update()
            .select(Period::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Period>> {
        periods::table
            .filter(periods::code.eq(code))
            .select(Period::as_select())
            .first(conn)
            .optional()
    }

    pub fn insert(
        conn: &mut PgConnection,
        id: Uuid,
        code: &str,
        name: &str,
        data_year: i32,
        by: Option<Uuid>,
    ) -> QueryResult<Period> {
        diesel::insert_into(periods::table)
            .values((
                periods::id.eq(id),
                periods::code.eq(code),
                periods::name.eq(name),
                periods::data_year.eq(data_year),
                periods::created_by.eq(by),
            ))
            .returning(Period::as_returning())
            .get_result(conn)
    }

    pub fn set_phase(conn: &mut PgConnection, id: Uuid, phase: PeriodPhase) -> QueryResult<Period> {
        diesel::update(periods::table.find(id))
            .set((
                periods::phase.eq(phase),
                periods::lock_version.eq(periods::lock_version + 1),
                periods::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Period::as_returning())
            .get_result(conn)
    }

    pub fn list(
        conn: &mut PgConnection,
        phase: Option<PeriodPhase>,
        year: Option<i32>,
        page: PageReq,
    ) -> QueryResult<(Vec<Period>, i64)> {
        let build = || {
            let mut q = periods::table.into_boxed();
            if let Some(p) = phase {
                q = q.filter(periods::phase.eq(p));
            }
            if let Some(y) = year {
                q = q.filter(periods::data_year.eq(y));
            }
            q
        };
        let total = build().count().get_result(conn)?;
        let items = build()
            .order((periods::data_year.desc(), periods::code.asc()))
            .limit(page.page_size)
            .offset(page.offset())
            .select(Period::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    pub fn windows(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<PhaseWindow>> {
        period_phases::table
            .filter(period_phases::period_id.eq(id))
            .order(period_phases::opens_at.asc())
            .select(PhaseWindow::as_select())
            .load(conn)
    }

    pub fn replace_windows(
        conn: &mut PgConnection,
        id: Uuid,
        windows: &[PhaseWindow],
    ) -> QueryResult<()> {
        diesel::delete(period_phases::table.filter(period_phases::period_id.eq(id)))
            .execute(conn)?;
        diesel::insert_into(period_phases::table)
            .values(windows)
            .execute(conn)?;
        Ok(())
    }

    /// The groups of a period, in the order their locks are taken (group id).
    pub fn groups(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<PeriodGroup>> {
        period_groups::table
            .filter(period_groups::period_id.eq(id))
            .order(period_groups::group_id.asc())
            .select(PeriodGroup::as_select())
            .load(conn)
    }

    /// Locks one group of a period: writers that rescore or re-rank a group serialise here.
    /// Second in the lock order (after the period, before the group's assessments; several
    /// groups in (period, group) order): see `services::scoring`.
    pub fn lock_group(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
    ) -> QueryResult<Option<PeriodGroup>> {
        period_groups::table
            .find((period, group))
            .for_update()
            .select(PeriodGroup::as_select())
            .first(conn)
            .optional()
    }

    /// Locks the group an assessment is in now, as [`Period::lock_group`] does, and reads its
    /// period (without locking it), in one statement: what a write of the assessment's answers
    /// starts with. `None`: no such assessment.
    pub fn lock_group_of_assessment(
        conn: &mut PgConnection,
        assessment: Uuid,
    ) -> QueryResult<Option<GroupAndPeriod>> {
        cached_sql(
            "SELECT pg.period_id, pg.group_id, pg.set_id, pg.bases_version, pg.layout, \
               pg.scores_version, p.id, p.code, p.name, p.data_year, p.phase, p.lock_version, \
               p.created_by, p.created_at, p.updated_at \
             FROM assessments a \
             JOIN period_groups pg ON pg.period_id = a.period_id AND pg.group_id = a.group_id \
             JOIN periods p ON p.id = a.period_id \
             WHERE a.id = $1 \
             FOR UPDATE OF pg",
        )
        .bind::<diesel::sql_types::Uuid, _>(assessment)
        .get_result(conn)
        .optional()
    }

    /// Records the layout a group's stored numbers were just rewritten in.
    pub fn set_group_layout(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        layout: &str,
    ) -> QueryResult<()> {
        diesel::update(period_groups::table.find((period, group)))
            .set(period_groups::layout.eq(layout))
            .execute(conn)?;
        Ok(())
    }

    /// Every group of every period that has assessments, in the lock order.
    pub fn groups_with_assessments(conn: &mut PgConnection) -> QueryResult<Vec<PeriodGroup>> {
        use crate::db::schema::assessments;
        period_groups::table
            .filter(diesel::dsl::exists(
                assessments::table
                    .filter(assessments::period_id.eq(period_groups::period_id))
                    .filter(assessments::group_id.eq(period_groups::group_id)),
            ))
            .order((
                period_groups::period_id.asc(),
                period_groups::group_id.asc(),
            ))
            .select(PeriodGroup::as_select())
            .load(conn)
    }

    pub fn add_groups(conn: &mut PgConnection, rows: &[PeriodGroup]) -> QueryResult<()> {
        diesel::insert_into(period_groups::table)
            .values(rows)
            .execute(conn)?;
        Ok(())
    }
}
