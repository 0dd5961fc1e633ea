use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::PageReq;
use crate::db::schema::{
    indicator_nodes, indicator_pillar_members, indicator_pillars, indicator_sets, period_groups,
};
use crate::domain::SetStatus;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = indicator_sets)]
pub struct IndicatorSet {
    pub id: Uuid,
    pub code: String,
    pub version: i32,
    pub name: String,
    pub target_unit_kind: String,
    pub status: SetStatus,
    pub year: Option<i32>,
    pub decision_number: String,
    pub decision_date: Option<NaiveDate>,
    pub issuer: String,
    pub scale: Decimal,
    pub precision: i32,
    pub document: serde_json::Value,
    pub source_document: String,
    pub source_format: String,
    pub based_on_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub lock_version: i32,
}

/// The columns derived from a document (insert and replace alike).
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = indicator_sets)]
pub struct SetRow {
    pub code: String,
    pub version: i32,
    pub name: String,
    pub target_unit_kind: String,
    pub year: Option<i32>,
    pub decision_number: String,
    pub decision_date: Option<NaiveDate>,
    pub issuer: String,
    pub scale: Decimal,
    pub precision: i32,
    pub document: serde_json::Value,
    pub source_document: String,
    pub source_format: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = indicator_nodes)]
pub struct NewNode {
    pub id: Uuid,
    pub set_id: Uuid,
    pub code: String,
    pub parent_id: Option<Uuid>,
    pub kind: String,
    pub name: String,
    pub position: i32,
    pub depth: i32,
    pub max_points: Decimal,
    pub method: Option<String>,
    pub method_params: Option<serde_json::Value>,
    pub evidence: String,
    pub automatic: bool,
    pub is_leaf: bool,
    pub replaces: Vec<String>,
}

#[derive(Debug, Default)]
pub struct SetFilter {
    pub code: Option<String>,
    pub target_unit_kind: Option<crate::domain::UnitKind>,
    pub status: Option<SetStatus>,
    pub issuer: Option<String>,
    pub year: Option<i32>,
}

impl IndicatorSet {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<IndicatorSet>> {
        indicator_sets::table
            .find(id)
            .select(IndicatorSet::as_select())
            .first(conn)
            .optional()
    }

    /// Locks the row for the rest of the transaction. Outside the scoring lock order (see
    /// `services::scoring`): set edits take it alone, and no scoring write ever locks a set (a
    /// pinned set is active, hence immutable).
    pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<IndicatorSet>> {
        indicator_sets::table
            .find(id)
            .for_update()
            .select(IndicatorSet::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_code_version(
        conn: &mut PgConnection,
        code: &str,
        version: i32,
    ) -> QueryResult<Option<IndicatorSet>> {
        indicator_sets::table
            .filter(indicator_sets::code.eq(code))
            .filter(indicator_sets::version.eq(version))
            .select(IndicatorSet::as_select())
            .first(conn)
            .optional()
    }

    /// The highest version of `code` below `version`.
    pub fn latest_below(
        conn: &mut PgConnection,
        code: &str,
        version: i32,
    ) -> QueryResult<Option<IndicatorSet>> {
        indicator_sets::table
            .filter(indicator_sets::code.eq(code))
            .filter(indicator_sets::version.lt(version))
            .order(indicator_sets::version.desc())
            .select(IndicatorSet::as_select())
            .first(conn)
            .optional()
    }

    pub fn max_version(conn: &mut PgConnection, code: &str) -> QueryResult<Option<i32>> {
        indicator_sets::table
            .filter(indicator_sets::code.eq(code))
            .select(diesel::dsl::max(indicator_sets::version))
            .first(conn)
    }

    pub fn insert(
        conn: &mut PgConnection,
        id: Uuid,
        row: &SetRow,
        based_on: Option<Uuid>,
        by: Option<Uuid>,
    ) -> QueryResult<IndicatorSet> {
        diesel::insert_into(indicator_sets::table)
            .values((
                indicator_sets::id.eq(id),
                row,
                indicator_sets::based_on_id.eq(based_on),
                indicator_sets::created_by.eq(by),
            ))
            .returning(IndicatorSet::as_returning())
            .get_result(conn)
    }

    pub fn replace(conn: &mut PgConnection, id: Uuid, row: &SetRow) -> QueryResult<IndicatorSet> {
        diesel::update(indicator_sets::table.find(id))
            .set((
                row,
                indicator_sets::lock_version.eq(indicator_sets::lock_version + 1),
                indicator_sets::updated_at.eq(diesel::dsl::now),
            ))
            .returning(IndicatorSet::as_returning())
            .get_result(conn)
    }

    pub fn activate(conn: &mut PgConnection, id: Uuid) -> QueryResult<IndicatorSet> {
        diesel::update(indicator_sets::table.find(id))
            .set((
                indicator_sets::status.eq(SetStatus::Active),
                indicator_sets::activated_at.eq(diesel::dsl::now),
                indicator_sets::lock_version.eq(indicator_sets::lock_version + 1),
                indicator_sets::updated_at.eq(diesel::dsl::now),
            ))
            .returning(IndicatorSet::as_returning())
            .get_result(conn)
    }

    pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(indicator_sets::table.find(id)).execute(conn)
    }

    /// Whether a period pins the set or another set is based on it.
    pub fn is_used(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
        let pinned: i64 = period_groups::table
            .filter(period_groups::set_id.eq(id))
            .count()
            .get_result(conn)?;
        let derived: i64 = indicator_sets::table
            .filter(indicator_sets::based_on_id.eq(id))
            .count()
            .get_result(conn)?;
        Ok(pinned + derived > 0)
    }

    pub fn list(
        conn: &mut PgConnection,
        f: &SetFilter,
        page: PageReq,
    ) -> QueryResult<(Vec<IndicatorSet>, i64)> {
        let build = || {
            let mut q = indicator_sets::table.into_boxed();
            if let Some(v) = &f.code {
                q = q.filter(indicator_sets::code.eq(v.clone()));
            }
            if let Some(v) = f.target_unit_kind {
                q = q.filter(indicator_sets::target_unit_kind.eq(v));
            }
            if let Some(v) = &f.status {
                q = q.filter(indicator_sets::status.eq(*v));
            }
            if let Some(v) = &f.issuer {
                let pattern = format!("%{}%", super::units::escape_like(v));
                q = q.filter(indicator_sets::issuer.ilike(pattern));
            }
            if let Some(v) = f.year {
                q = q.filter(indicator_sets::year.eq(v));
            }
            q
        };
        let total = build().count().get_result(conn)?;
        let items = build()
            .order((indicator_sets::code.asc(), indicator_sets::version.desc()))
            .limit(page.page_size)
            .offset(page.offset())
            .select(IndicatorSet::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Replaces the flattened nodes and pillars of a set.
    pub fn replace_tree(
        conn: &mut PgConnection,
        set_id: Uuid,
        nodes: &[NewNode],
        pillars: &[(String, String, Vec<Uuid>)],
    ) -> QueryResult<()> {
        diesel::delete(indicator_pillars::table.filter(indicator_pillars::set_id.eq(set_id)))
            .execute(conn)?;
        diesel::delete(indicator_nodes::table.filter(indicator_nodes::set_id.eq(set_id)))
            .execute(conn)?;
        // parents come before children in `nodes`; chunks keep statements under the
        // bind-parameter limit
        for chunk in nodes.chunks(1000) {
            diesel::insert_into(indicator_nodes::table)
                .values(chunk)
                .execute(conn)?;
        }
        for (position, (code, name, members)) in pillars.iter().enumerate() {
            let pid = Uuid::new_v4();
            diesel::insert_into(indicator_pillars::table)
                .values((
                    indicator_pillars::id.eq(pid),
                    indicator_pillars::set_id.eq(set_id),
                    indicator_pillars::code.eq(code),
                    indicator_pillars::name.eq(name),
                    indicator_pillars::position.eq(position as i32),
                ))
                .execute(conn)?;
            let rows: Vec<_> = members
                .iter()
                .map(|n| {
                    (
                        indicator_pillar_members::pillar_id.eq(pid),
                        indicator_pillar_members::node_id.eq(*n),
                    )
                })
                .collect();
            diesel::insert_into(indicator_pillar_members::table)
                .values(&rows)
                .execute(conn)?;
        }
        Ok(())
    }

    /// Node ids by code.
    pub fn node_ids(conn: &mut PgConnection, set_id: Uuid) -> QueryResult<Vec<(String, Uuid)>> {
        indicator_nodes::table
            .filter(indicator_nodes::set_id.eq(set_id))
            .select((indicator_nodes::code, indicator_nodes::id))
            .load(conn)
    }
}
