use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::publications;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = publications)]
pub struct Publication {
    pub id: Uuid,
    pub period_id: Uuid,
    pub group_id: Uuid,
    pub version: i32,
    pub visible_from: DateTime<Utc>,
    pub checksum: String,
    pub content: serde_json::Value,
    pub changelog: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl Publication {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Publication>> {
        publications::table
            .find(id)
            .select(Publication::as_select())
            .first(conn)
            .optional()
    }

    /// Every publication without its content, with the names of its period and group: the
    /// small index the public routes decide on (which version is visible, its checksum).
    pub fn index(conn: &mut PgConnection) -> QueryResult<Vec<PublishedEntry>> {
        diesel::sql_query(
            "SELECT p.id, p.period_id, pe.code AS period_code, pe.name AS period_name, \
                    pe.data_year, p.group_id, g.code AS group_code, g.name AS group_name, \
                    p.version, p.checksum, p.visible_from \
               FROM publications p \
               JOIN periods pe ON pe.id = p.period_id \
               JOIN ranking_groups g ON g.id = p.group_id \
              ORDER BY p.period_id, p.group_id, p.version",
        )
        .load(conn)
    }

    /// The index entries of one period (see [`Publication::index`]).
    pub fn index_of_period(
        conn: &mut PgConnection,
        period: Uuid,
    ) -> QueryResult<Vec<PublishedEntry>> {
        diesel::sql_query(
            "SELECT p.id, p.period_id, pe.code AS period_code, pe.name AS period_name, \
                    pe.data_year, p.group_id, g.code AS group_code, g.name AS group_name, \
                    p.version, p.checksum, p.visible_from \
               FROM publications p \
               JOIN periods pe ON pe.id = p.period_id \
               JOIN ranking_groups g ON g.id = p.group_id \
              WHERE p.period_id = $1 \
              ORDER BY p.group_id, p.version",
        )
        .bind::<diesel::sql_types::Uuid, _>(period)
        .load(conn)
    }
    pub fn of_period(conn: &mut PgConnection, period: Uuid) -> QueryResult<Vec<Publication>> {
        publications::table
            .filter(publications::period_id.eq(period))
            .order((publications::group_id.asc(), publications::version.asc()))
            .select(Publication::as_select())
            .load(conn)
    }

    pub fn find_version(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        version: i32,
    ) -> QueryResult<Option<Publication>> {
        publications::table
            .filter(publications::period_id.eq(period))
            .filter(publications::group_id.eq(group))
            .filter(publications::version.eq(version))
            .select(Publication::as_select())
            .first(conn)
            .optional()
    }

    pub fn max_version(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
    ) -> QueryResult<Option<i32>> {
        publications::table
            .filter(publications::period_id.eq(period))
            .filter(publications::group_id.eq(group))
            .select(diesel::dsl::max(publications::version))
            .first(conn)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        version: i32,
        visible_from: DateTime<Utc>,
        checksum: &str,
        content: &serde_json::Value,
        changelog: Option<&str>,
        by: Uuid,
    ) -> QueryResult<Publication> {
        diesel::insert_into(publications::table)
            .values((
                publications::id.eq(Uuid::new_v4()),
                publications::period_id.eq(period),
                publications::group_id.eq(group),
                publications::version.eq(version),
                publications::visible_from.eq(visible_from),
                publications::checksum.eq(checksum),
                publications::content.eq(content),
                publications::changelog.eq(changelog),
                publications::created_by.eq(by),
            ))
            .returning(Publication::as_returning())
            .get_result(conn)
    }

    /// The id of the latest version of a group's results that the public may see at `now`.
    pub fn latest_visible_id(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        now: DateTime<Utc>,
    ) -> QueryResult<Option<Uuid>> {
        publications::table
            .filter(publications::period_id.eq(period))
            .filter(publications::group_id.eq(group))
            .filter(publications::visible_from.le(now))
            .order(publications::version.desc())
            .select(publications::id)
            .first(conn)
            .optional()
    }

    /// A unit's overall rank as a publication states it (`None`: not listed, or unranked).
    pub fn rank_of_unit(
        conn: &mut PgConnection,
        publication: Uuid,
        unit_code: &str,
    ) -> QueryResult<Option<i32>> {
        diesel::sql_query(
            "SELECT (r->>'rank')::int4 AS n FROM publications p, \
               jsonb_array_elements(p.content->'rankings') r \
             WHERE p.id = $1 AND r->'unit'->>'code' = $2",
        )
        .bind::<diesel::sql_types::Uuid, _>(publication)
        .bind::<diesel::sql_types::Text, _>(unit_code)
        .get_result::<Count>(conn)
        .optional()
        .map(|c| c.and_then(|c| c.n))
    }

    /// The overall rank an index would have among the units a publication lists, `unit_code`
    /// left out: 1 + the number of them with a greater published index.
    pub fn rank_of_index(
        conn: &mut PgConnection,
        publication: Uuid,
        unit_code: &str,
        index: rust_decimal::Decimal,
    ) -> QueryResult<i32> {
        diesel::sql_query(format!(
            "SELECT ({})::int4 AS n FROM publications p, \
               jsonb_array_elements(p.content->'rankings') r \
             WHERE p.id = $1 AND r->'unit'->>'code' <> $2",
            // units listed as excluded count in no one's rank (snapshots before the `ranked`
            // member listed ranked units only)
            super::scores::rank::ahead(
                "$3::numeric",
                "true",
                "(r->>'index')::numeric",
                "coalesce((r->>'ranked')::boolean, true)"
            )
        ))
        .bind::<diesel::sql_types::Uuid, _>(publication)
        .bind::<diesel::sql_types::Text, _>(unit_code)
        .bind::<diesel::sql_types::Numeric, _>(index)
        .get_result::<Count>(conn)
        .map(|c| c.n.unwrap_or(1))
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Int4>)]
    n: Option<i32>,
}

/// One publication without its content (see [`Publication::index`]).
#[derive(Debug, Clone, QueryableByName)]
pub struct PublishedEntry {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub period_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub period_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub period_name: String,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    pub data_year: i32,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub group_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub group_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub group_name: String,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    pub version: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub checksum: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub visible_from: DateTime<Utc>,
}
