use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::PageReq;
use crate::db::schema::{ranking_group_members, unit_lineage, units};
use crate::db::text_array::TextArray;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub search_name: String,
    pub kind: String,
    pub parent_id: Option<Uuid>,
    #[diesel(deserialize_as = TextArray<String>)]
    pub tags: Vec<String>,
    pub active: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = units)]
pub struct NewUnit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub search_name: String,
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub active: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = units)]
pub struct UnitChanges {
    pub name: Option<String>,
    pub search_name: Option<String>,
    pub kind: Option<String>,
    pub parent_id: Option<Option<Uuid>>,
    pub tags: Option<Vec<String>>,
    pub active: Option<bool>,
    pub valid_from: Option<Option<NaiveDate>>,
    pub valid_to: Option<Option<NaiveDate>>,
}

define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A predecessor → successor link.
pub type LineageRow = (Uuid, Uuid, Option<NaiveDate>, Option<String>);
/// A predecessor of some unit: (predecessor, effective date, note).
pub type PredecessorLink = (Uuid, Option<NaiveDate>, Option<String>);

/// The order of a unit list: by code (the default), name or kind; `-` sorts descending.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum UnitSort {
    #[serde(rename = "code")]
    Code,
    #[serde(rename = "-code")]
    CodeDesc,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "kind")]
    Kind,
}

impl UnitSort {
    pub fn parse(s: &str) -> Option<UnitSort> {
        match s {
            "code" => Some(UnitSort::Code),
            "-code" => Some(UnitSort::CodeDesc),
            "name" => Some(UnitSort::Name),
            "-name" => Some(UnitSort::NameDesc),
            "kind" => Some(UnitSort::Kind),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct UnitFilter {
    pub kind: Option<crate::domain::UnitKind>,
    pub parent_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Already folded (lower case, no diacritics).
    pub q: Option<String>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Unit {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Unit>> {
        units::table
            .find(id)
            .select(Unit::as_select())
            .first(conn)
            .optional()
    }

    /// The unit of `code`, ignoring case (`snv` finds `SNV`; the unique index on
    /// `lower(code)` keeps it one unit).
    pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Unit>> {
        units::table
            .filter(lower(units::code).eq(lower(code)))
            .select(Unit::as_select())
            .first(conn)
            .optional()
    }

    /// The units of some codes, ignoring case (`codes` in lower case).
    pub fn find_by_codes(conn: &mut PgConnection, codes: &[String]) -> QueryResult<Vec<Unit>> {
        units::table
            .filter(lower(units::code).eq_any(codes))
            .select(Unit::as_select())
            .load(conn)
    }

    pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Unit>> {
        units::table
            .filter(units::id.eq_any(ids))
            .select(Unit::as_select())
            .load(conn)
    }

    /// As [`Unit::find_many`], waiting for (and then reading) any uncommitted change of these
    /// units. Opening a period takes them after the period row, against the lock order of
    /// `services::scoring`: safe, because a unit change only ever waits for periods that are
    /// already open, and the one being opened is still a draft.
    pub fn find_many_for_share(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Unit>> {
        units::table
            .filter(units::id.eq_any(ids))
            .for_share()
            .select(Unit::as_select())
            .load(conn)
    }

    pub fn insert(conn: &mut PgConnection, new: &NewUnit) -> QueryResult<Unit> {
        diesel::insert_into(units::table)
            .values(new)
            .returning(Unit::as_returning())
            .get_result(conn)
    }

    /// Applies `changes` if the row is still at `expected_version` (when given).
    pub fn update(
        conn: &mut PgConnection,
        id: Uuid,
        expected_version: Option<i32>,
        changes: &UnitChanges,
    ) -> QueryResult<Option<Unit>> {
        let mut q = diesel::update(units::table.find(id)).into_boxed();
        if let Some(v) = expected_version {
            q = q.filter(units::version.eq(v));
        }
        q.set((
            changes,
            units::version.eq(units::version + 1),
            units::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Unit::as_returning())
        .get_result(conn)
        .optional()
    }

    pub fn list(
        conn: &mut PgConnection,
        f: &UnitFilter,
        sort: UnitSort,
        page: PageReq,
    ) -> QueryResult<(Vec<Unit>, i64)> {
        let build = || {
            let mut q = units::table.into_boxed();
            if let Some(k) = f.kind {
                q = q.filter(units::kind.eq(k));
            }
            if let Some(p) = f.parent_id {
                q = q.filter(units::parent_id.eq(p));
            }
            if let Some(a) = f.active {
                q = q.filter(units::active.eq(a));
            }
            if let Some(g) = f.group_id {
                q = q.filter(
                    units::id.eq_any(
                        ranking_group_members::table
                            .filter(ranking_group_members::group_id.eq(g))
                            .select(ranking_group_members::unit_id),
                    ),
                );
            }
            if let Some(text) = &f.q {
                let pattern = format!("%{}%", escape_like(text));
                q = q.filter(
                    units::search_name
                        .like(pattern.clone())
                        .or(units::code.ilike(pattern)),
                );
            }
            q
        };
        let total = build().count().get_result(conn)?;
        let q = build();
        let q = match sort {
            UnitSort::Code => q.order(units::code.asc()),
            UnitSort::CodeDesc => q.order(units::code.desc()),
            UnitSort::Name => q.order((units::search_name.asc(), units::code.asc())),
            UnitSort::NameDesc => q.order((units::search_name.desc(), units::code.asc())),
            UnitSort::Kind => q.order((units::kind.asc(), units::code.asc())),
        };
        let items = q
            .limit(page.page_size)
            .offset(page.offset())
            .select(Unit::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// True when making `parent` the parent of `id` would close a loop.
    pub fn would_cycle(conn: &mut PgConnection, id: Uuid, parent: Uuid) -> QueryResult<bool> {
        let mut cur = Some(parent);
        let mut steps = 0;
        while let Some(p) = cur {
            if p == id {
                return Ok(true);
            }
            steps += 1;
            if steps > 64 {
                return Ok(true);
            }
            cur = units::table
                .find(p)
                .select(units::parent_id)
                .first::<Option<Uuid>>(conn)
                .optional()?
                .flatten();
        }
        Ok(false)
    }

    /// Group ids of each given unit.
    pub fn groups_of(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, Uuid)>> {
        ranking_group_members::table
            .filter(ranking_group_members::unit_id.eq_any(ids))
            .select((
                ranking_group_members::unit_id,
                ranking_group_members::group_id,
            ))
            .load(conn)
    }

    /// Direct predecessors and successors: (predecessor, successor, effective date).
    pub fn lineage_of(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<LineageRow>> {
        unit_lineage::table
            .filter(
                unit_lineage::predecessor_id
                    .eq(id)
                    .or(unit_lineage::successor_id.eq(id)),
            )
            .select((
                unit_lineage::predecessor_id,
                unit_lineage::successor_id,
                unit_lineage::effective_date,
                unit_lineage::note,
            ))
            .load(conn)
    }

    /// Replaces the predecessors of `successor`.
    pub fn set_predecessors(
        conn: &mut PgConnection,
        successor: Uuid,
        predecessors: &[PredecessorLink],
    ) -> QueryResult<()> {
        diesel::delete(unit_lineage::table.filter(unit_lineage::successor_id.eq(successor)))
            .execute(conn)?;
        let rows: Vec<_> = predecessors
            .iter()
            .map(|(p, d, n)| {
                (
                    unit_lineage::predecessor_id.eq(*p),
                    unit_lineage::successor_id.eq(successor),
                    unit_lineage::effective_date.eq(*d),
                    unit_lineage::note.eq(n.clone()),
                )
            })
            .collect();
        diesel::insert_into(unit_lineage::table)
            .values(&rows)
            .execute(conn)?;
        Ok(())
    }

    /// Replaces the ranking groups of `unit`.
    pub fn set_groups(conn: &mut PgConnection, unit: Uuid, groups: &[Uuid]) -> QueryResult<()> {
        diesel::delete(
            ranking_group_members::table.filter(ranking_group_members::unit_id.eq(unit)),
        )
        .execute(conn)?;
        let rows: Vec<_> = groups
            .iter()
            .map(|g| {
                (
                    ranking_group_members::group_id.eq(*g),
                    ranking_group_members::unit_id.eq(unit),
                )
            })
            .collect();
        diesel::insert_into(ranking_group_members::table)
            .values(&rows)
            .execute(conn)?;
        Ok(())
    }
}
