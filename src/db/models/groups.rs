use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{ranking_group_members, ranking_groups};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = ranking_groups)]
pub struct RankingGroup {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub unit_kind: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ranking_groups)]
pub struct NewRankingGroup {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub unit_kind: String,
    pub description: Option<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = ranking_groups)]
pub struct RankingGroupChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

impl RankingGroup {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<RankingGroup>> {
        ranking_groups::table
            .find(id)
            .select(RankingGroup::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<RankingGroup>> {
        ranking_groups::table
            .filter(ranking_groups::code.eq(code))
            .select(RankingGroup::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<RankingGroup>> {
        ranking_groups::table
            .filter(ranking_groups::id.eq_any(ids))
            .select(RankingGroup::as_select())
            .load(conn)
    }

    pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<RankingGroup>> {
        ranking_groups::table
            .order(ranking_groups::code.asc())
            .select(RankingGroup::as_select())
            .load(conn)
    }

    pub fn insert(conn: &mut PgConnection, new: &NewRankingGroup) -> QueryResult<RankingGroup> {
        diesel::insert_into(ranking_groups::table)
            .values(new)
            .returning(RankingGroup::as_returning())
            .get_result(conn)
    }

    pub fn update(
        conn: &mut PgConnection,
        id: Uuid,
        changes: &RankingGroupChanges,
    ) -> QueryResult<Option<RankingGroup>> {
        diesel::update(ranking_groups::table.find(id))
            .set((changes, ranking_groups::updated_at.eq(diesel::dsl::now)))
            .returning(RankingGroup::as_returning())
            .get_result(conn)
            .optional()
    }

    /// Member counts per group.
    pub fn member_counts(conn: &mut PgConnection) -> QueryResult<Vec<(Uuid, i64)>> {
        ranking_group_members::table
            .group_by(ranking_group_members::group_id)
            .select((ranking_group_members::group_id, diesel::dsl::count_star()))
            .load(conn)
    }

    pub fn member_ids(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
        ranking_group_members::table
            .filter(ranking_group_members::group_id.eq(id))
            .select(ranking_group_members::unit_id)
            .load(conn)
    }
}

/// Replaces the members of a group.
pub fn set_members(conn: &mut PgConnection, group: Uuid, units: &[Uuid]) -> QueryResult<()> {
    diesel::delete(ranking_group_members::table.filter(ranking_group_members::group_id.eq(group)))
        .execute(conn)?;
    let rows: Vec<_> = units
        .iter()
        .map(|u| {
            (
                ranking_group_members::group_id.eq(group),
                ranking_group_members::unit_id.eq(*u),
            )
        })
        .collect();
    diesel::insert_into(ranking_group_members::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}
