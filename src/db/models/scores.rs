//! Stored scores (one row per assessment, with every ranking scope's values), the ranking read
//! model (ranks by `RANK()` over the stored rounded indices), and the candidate values of the
//! `relative_to_best` leaves (migration 6 explains the layout).
//!
//! What a moved group best changes is written once per group, in `score_follows`, not into
//! every unit's row (migration `score_follows`). Every read of score rows here goes through the
//! view `current_scores` (the rank keys alone: `current_rank_keys`), which applies it, and
//! always names one group (`period_id = $1 AND group_id = $2`): the planner then reads that
//! group's follow row once and joins it by hash.
//!
//! Bulk writes bind one array per column and `unnest` them, so any number of rows is one
//! statement and one round trip.

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Int4, Int8, Nullable, Numeric, Text, Uuid as SqlUuid};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::cached_sql::cached_sql;
use crate::db::models::assessments::Assessment;
use crate::db::schema::{assessment_scores, relative_values};
use crate::domain::workflow::RankingScope;
use crate::scoring::ranking::Scope;

/// One assessment's stored scores. `scope_*` are parallel to
/// [`crate::scoring::ranking::scopes`] of the pinned set.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
#[diesel(table_name = assessment_scores)]
pub struct ScoreRow {
    pub assessment_id: Uuid,
    pub period_id: Uuid,
    pub group_id: Uuid,
    pub unit_id: Uuid,
    pub unit_code: String,
    pub max_points: Decimal,
    pub applicable_max: Decimal,
    pub self_points: Decimal,
    pub reviewed_points: Decimal,
    pub self_index: Option<Decimal>,
    pub reviewed_index: Option<Decimal>,
    /// The assessment is finalised: its reviewed numbers are final
    /// ([`crate::scoring::final_value`]).
    pub finalised: bool,
    pub scope_points: Vec<Option<Decimal>>,
    pub scope_max: Vec<Option<Decimal>>,
    pub scope_index: Vec<Option<Decimal>>,
    /// Takes part in the group's ranking (false: the unit is excluded from it).
    pub ranked: bool,
}

/// The columns of a [`ScoreRow`] in `current_scores`.
const SCORE_COLUMNS: &str = "assessment_id, period_id, group_id, unit_id, unit_code, max_points, \
     applicable_max, self_points, reviewed_points, self_index, reviewed_index, finalised, \
     scope_points, scope_max, scope_index, ranked";

/// `{1.5,2,NULL}`: a numeric array literal (bound as text, cast in SQL), so that a column of
/// arrays can travel as one `text[]` parameter.
fn array_literal(values: impl IntoIterator<Item = Option<Decimal>>) -> String {
    let mut out = String::with_capacity(64);
    out.push('{');
    for (k, v) in values.into_iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        match v {
            Some(d) => push_decimal(&mut out, d),
            None => out.push_str("NULL"),
        }
    }
    out.push('}');
    out
}

/// Appends `d` exactly as its `Display` writes it (sign, every digit of the mantissa, the
/// point `scale` digits from the right, a `0` before a leading point), without the formatter
/// and its digit-by-digit division of the 96-bit mantissa: a moved best and a group rescore
/// write tens of thousands of numbers.
fn push_decimal(out: &mut String, d: Decimal) {
    // at most 29 digits; the mantissa is split into two parts that fit a u64, whose division
    // by ten the compiler turns into a multiplication
    const TEN_19: u128 = 10_000_000_000_000_000_000;
    let mut digits = [b'0'; 40];
    let mut at = digits.len();
    let mut put = |mut v: u64, at: &mut usize, min: usize| {
        let mut n = 0;
        while v > 0 || n < min {
            *at -= 1;
            digits[*at] = b'0' + (v % 10) as u8;
            v /= 10;
            n += 1;
        }
    };
    let m = d.mantissa().unsigned_abs();
    let (high, low) = ((m / TEN_19) as u64, (m % TEN_19) as u64);
    if high > 0 {
        put(low, &mut at, 19);
        put(high, &mut at, 0);
    } else {
        put(low, &mut at, 0);
    }
    let scale = d.scale() as usize;
    // zeros after the point, up to the scale (the buffer starts as zeros)
    at = at.min(digits.len() - scale);
    if d.is_sign_negative() {
        out.push('-');
    }
    let digits = &digits[at..];
    let whole = digits.len() - scale;
    // ASCII digits: always UTF-8
    let text = |b| std::str::from_utf8(b).unwrap_or_default();
    if whole == 0 {
        out.push('0');
    } else {
        out.push_str(text(&digits[..whole]));
    }
    if scale > 0 {
        out.push('.');
        out.push_str(text(&digits[whole..]));
    }
}

/// The statement of [`ScoreRow::upsert`] and [`ScoreRow::upsert_group`]: `$with` before it,
/// `$from` after the new rows `v` (a join and a filter), `$update` the condition of an
/// overwrite. Parameters `$1`-`$16` are the rows' columns ([`bind_score_rows`]).
macro_rules! upsert_sql {
    ($with:literal, $from:literal, $update:literal) => {
        concat!(
            $with,
            "INSERT INTO assessment_scores AS s (assessment_id, period_id, group_id, unit_id, \
               unit_code, max_points, applicable_max, self_points, reviewed_points, \
               self_index, reviewed_index, finalised, scope_points, scope_max, \
               scope_index, overall_key, computed_at, ranked, follow_seq) \
             SELECT v.id, v.period_id, v.group_id, v.unit_id, v.unit_code, v.mp, v.am, v.sp, \
               v.rp, v.si, v.ri, v.fin, v.scp::numeric[], v.scm::numeric[], v.sci::numeric[], \
               (v.sci::numeric[])[1], now(), v.rk, nextval('score_follow_seq') \
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], \
               $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], \
               $10::numeric[], $11::numeric[], $12::bool[], $13::text[], \
               $14::text[], $15::text[], $16::bool[]) \
               AS v(id, period_id, group_id, unit_id, unit_code, mp, am, sp, rp, si, ri, \
                    fin, scp, scm, sci, rk) ",
            $from,
            "ON CONFLICT (assessment_id) DO UPDATE SET \
               period_id = excluded.period_id, group_id = excluded.group_id, \
               unit_id = excluded.unit_id, unit_code = excluded.unit_code, \
               max_points = excluded.max_points, applicable_max = excluded.applicable_max, \
               self_points = excluded.self_points, reviewed_points = excluded.reviewed_points, \
               self_index = excluded.self_index, reviewed_index = excluded.reviewed_index, \
               finalised = excluded.finalised, scope_points = excluded.scope_points, \
               scope_max = excluded.scope_max, scope_index = excluded.scope_index, \
               overall_key = excluded.overall_key, computed_at = excluded.computed_at, \
               ranked = excluded.ranked, follow_seq = excluded.follow_seq ",
            $update
        )
    };
}

/// Binds `$1`-`$16` of [`upsert_sql`]: one array per column of `rows`.
macro_rules! bind_score_rows {
    ($q:expr, $rows:expr) => {{
        let rows: &[ScoreRow] = $rows;
        let col = |f: &dyn Fn(&ScoreRow) -> Option<Decimal>| -> Vec<Option<Decimal>> {
            rows.iter().map(f).collect()
        };
        // a group's rows hold ~140,000 numbers: written as text on every core
        let arrays = |f: &(dyn Fn(&ScoreRow) -> &Vec<Option<Decimal>> + Sync)| -> Vec<String> {
            use rayon::prelude::*;
            if rows.len() < 256 {
                return rows
                    .iter()
                    .map(|r| array_literal(f(r).iter().copied()))
                    .collect();
            }
            rows.par_iter()
                .map(|r| array_literal(f(r).iter().copied()))
                .collect()
        };
        $q.bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
            .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.period_id).collect::<Vec<_>>())
            .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.group_id).collect::<Vec<_>>())
            .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.unit_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.unit_code.clone()).collect::<Vec<_>>())
            .bind::<Array<Nullable<Numeric>>, _>(col(&|r| Some(r.max_points)))
            .bind::<Array<Nullable<Numeric>>, _>(col(&|r| Some(r.applicable_max)))
            .bind::<Array<Nullable<Numeric>>, _>(col(&|r| Some(r.self_points)))
            .bind::<Array<Nullable<Numeric>>, _>(col(&|r| Some(r.reviewed_points)))
            .bind::<Array<Nullable<Numeric>>, _>(col(&|r| r.self_index))
            .bind::<Array<Nullable<Numeric>>, _>(col(&|r| r.reviewed_index))
            .bind::<Array<Bool>, _>(rows.iter().map(|r| r.finalised).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(arrays(&|r| &r.scope_points))
            .bind::<Array<Text>, _>(arrays(&|r| &r.scope_max))
            .bind::<Array<Text>, _>(arrays(&|r| &r.scope_index))
            .bind::<Array<Bool>, _>(rows.iter().map(|r| r.ranked).collect::<Vec<_>>())
    }};
}

impl ScoreRow {
    /// Official points, once finalised.
    pub fn final_points(&self) -> Option<Decimal> {
        crate::scoring::final_value(self.finalised, self.reviewed_points)
    }

    /// Official index, once finalised.
    pub fn final_index(&self) -> Option<Decimal> {
        crate::scoring::final_value(self.finalised, self.reviewed_index).flatten()
    }

    /// The score rows of the given assessments, as read (`current_scores`; one row through
    /// `current_score_of`, the same values), in no order.
    pub fn of_assessments(
        conn: &mut PgConnection,
        assessments: &[Assessment],
    ) -> QueryResult<Vec<ScoreRow>> {
        if let [a] = assessments {
            // by its position in the group's follow row (the view would unnest all of it)
            return diesel::sql_query(format!(
                "SELECT {SCORE_COLUMNS} FROM current_score_of($1, $2, $3)"
            ))
            .bind::<SqlUuid, _>(a.period_id)
            .bind::<SqlUuid, _>(a.group_id)
            .bind::<SqlUuid, _>(a.id)
            .load(conn);
        }
        let mut groups: Vec<(Uuid, Uuid)> = assessments
            .iter()
            .map(|a| (a.period_id, a.group_id))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let mut out = Vec::with_capacity(assessments.len());
        // a whole group at a time: the group's follow row is then joined by hash (an id
        // filter can lead the planner to unnest it once per row)
        let wanted: std::collections::HashSet<Uuid> = assessments.iter().map(|a| a.id).collect();
        for (period, group) in groups {
            let rows: Vec<ScoreRow> = diesel::sql_query(format!(
                "SELECT {SCORE_COLUMNS} FROM current_scores \
                 WHERE period_id = $1 AND group_id = $2"
            ))
            .bind::<SqlUuid, _>(period)
            .bind::<SqlUuid, _>(group)
            .load(conn)?;
            out.extend(
                rows.into_iter()
                    .filter(|r| wanted.contains(&r.assessment_id)),
            );
        }
        Ok(out)
    }

    /// Inserts or overwrites the rows of one unit (a write of its answers), in one statement.
    /// A stored row equal to the new one is left as it is (no new row version, no stamp), unless
    /// the group's follow row is newer than it: readers then see the follow row's values, not
    /// the stored ones, so the row is written. Every writer stores normalised numbers, so equal
    /// values have equal digits; `computed_at` says when the row last changed, and a row written
    /// draws a new `follow_seq`, so that it wins over the group's follow row.
    pub fn upsert(conn: &mut PgConnection, rows: &[ScoreRow]) -> QueryResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let q = cached_sql(upsert_sql!(
            "",
            "",
            "WHERE (s.period_id, s.group_id, s.unit_id, s.unit_code, s.max_points, \
               s.applicable_max, s.self_points, s.reviewed_points, s.self_index, \
               s.reviewed_index, s.finalised, s.scope_points, s.scope_max, s.scope_index, \
               s.ranked) \
             IS DISTINCT FROM (excluded.period_id, excluded.group_id, excluded.unit_id, \
               excluded.unit_code, excluded.max_points, excluded.applicable_max, \
               excluded.self_points, excluded.reviewed_points, excluded.self_index, \
               excluded.reviewed_index, excluded.finalised, excluded.scope_points, \
               excluded.scope_max, excluded.scope_index, excluded.ranked) \
             OR EXISTS (SELECT 1 FROM score_follows f WHERE f.period_id = s.period_id \
               AND f.group_id = s.group_id AND f.seq > s.follow_seq)"
        ));
        bind_score_rows!(q, rows).execute(conn)?;
        Ok(())
    }

    /// Inserts or overwrites the rows of a group's rescore (every row in `group` of `period`),
    /// in one statement: only the rows whose values differ from what readers see now
    /// (`current_scores`, the group's follow row applied) are written, so a recompute that
    /// changes nothing writes nothing, draws no score stamp and leaves nothing to vacuum; the
    /// follow row stays, and still holds for every row not written.
    pub fn upsert_group(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        rows: &[ScoreRow],
    ) -> QueryResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // the group as read, once (materialised: joined to the new rows by hash, never
        // evaluated per row)
        let q = cached_sql(upsert_sql!(
            "WITH cur AS MATERIALIZED (SELECT assessment_id, period_id, group_id, unit_id, \
               unit_code, max_points, applicable_max, self_points, reviewed_points, self_index, \
               reviewed_index, finalised, scope_points, scope_max, scope_index, ranked \
             FROM current_scores WHERE period_id = $17 AND group_id = $18) ",
            "LEFT JOIN cur c ON c.assessment_id = v.id \
             WHERE c.assessment_id IS NULL \
               OR (c.period_id, c.group_id, c.unit_id, c.unit_code, c.max_points, \
                 c.applicable_max, c.self_points, c.reviewed_points, c.self_index, \
                 c.reviewed_index, c.finalised, c.scope_points, c.scope_max, c.scope_index, \
                 c.ranked) \
               IS DISTINCT FROM (v.period_id, v.group_id, v.unit_id, v.unit_code, v.mp, v.am, \
                 v.sp, v.rp, v.si, v.ri, v.fin, v.scp::numeric[], v.scm::numeric[], \
                 v.sci::numeric[], v.rk) ",
            ""
        ));
        bind_score_rows!(q, rows)
            .bind::<SqlUuid, _>(period)
            .bind::<SqlUuid, _>(group)
            .execute(conn)?;
        Ok(())
    }

    /// Writes a group's follow row (see [`FollowRow`]) in `group` of `period`, replacing the
    /// group's previous one: `row` must hold every unit whose scores follow the best (but the
    /// writer's own, whose row was just written).
    pub fn write_follows(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        row: &FollowRow,
    ) -> QueryResult<()> {
        cached_sql(
            "INSERT INTO score_follows AS f (period_id, group_id, seq, positions, \
               assessment_ids, self_points, reviewed_points, self_index, reviewed_index, \
               scope_points, scope_index, overall_key) \
             VALUES ($1, $2, nextval('score_follow_seq'), $3, $4, $5, $6, $7, $8, $9, $10, \
               $11) \
             ON CONFLICT (period_id, group_id) DO UPDATE SET seq = excluded.seq, \
               positions = excluded.positions, assessment_ids = excluded.assessment_ids, \
               self_points = excluded.self_points, reviewed_points = excluded.reviewed_points, \
               self_index = excluded.self_index, reviewed_index = excluded.reviewed_index, \
               scope_points = excluded.scope_points, scope_index = excluded.scope_index, \
               overall_key = excluded.overall_key",
        )
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .bind::<Array<Int4>, _>(&row.ordinals)
        .bind::<Array<SqlUuid>, _>(&row.assessment_ids)
        .bind::<Nullable<Array<Numeric>>, _>(&row.self_points)
        .bind::<Array<Numeric>, _>(&row.reviewed_points)
        .bind::<Nullable<Array<Nullable<Numeric>>>, _>(&row.self_index)
        .bind::<Array<Nullable<Numeric>>, _>(&row.reviewed_index)
        .bind::<Array<Text>, _>(&row.scope_points)
        .bind::<Array<Text>, _>(&row.scope_index)
        .bind::<Array<Nullable<Numeric>>, _>(&row.overall_key)
        .execute(conn)?;
        Ok(())
    }

    /// Writes bases of one group (insert or overwrite) stamped with `version`; the database
    /// sets the group's `bases_version` to it in the same statement (the triggers of the
    /// migration `bases_stamp_trigger`). The caller holds the group lock.
    ///
    /// Returns the group's score stamp (`scores_version`) as the statement reads it: what the
    /// transaction's earlier statements left (writing bases does not draw it), so a write that
    /// ends with its bases learns the stamp it leaves without a statement of its own.
    pub fn upsert_bases(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        version: Uuid,
        rows: &[BasisRecord],
    ) -> QueryResult<Option<Uuid>> {
        let stamp: Option<Stamp> = cached_sql(
            "WITH written AS (INSERT INTO assessment_bases \
               (assessment_id, period_id, group_id, basis, stamp) \
             SELECT v.id, $4, $5, v.basis, $3 \
             FROM unnest($1::uuid[], $2::text[]) AS v(id, basis) \
             ON CONFLICT (assessment_id) \
             DO UPDATE SET basis = excluded.basis, stamp = excluded.stamp) \
             SELECT scores_version AS version FROM period_groups \
             WHERE period_id = $4 AND group_id = $5",
        )
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.basis.as_str()).collect::<Vec<_>>())
        .bind::<SqlUuid, _>(version)
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .get_result(conn)
        .optional()?;
        Ok(stamp.and_then(|s| s.version))
    }

    /// Every unit's basis in a group, as JSON text (parsed once, by serde), with its stamp.
    pub fn bases_of_group(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
    ) -> QueryResult<Vec<BasisText>> {
        diesel::sql_query(
            "SELECT assessment_id, basis, stamp FROM assessment_bases \
             WHERE period_id = $1 AND group_id = $2",
        )
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .load(conn)
    }

    /// The bases of the given assessments, with their stamps.
    pub fn bases_of(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<BasisText>> {
        diesel::sql_query(
            "SELECT assessment_id, basis, stamp FROM assessment_bases \
             WHERE assessment_id = ANY($1)",
        )
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
    }

    /// Every basis stamp of a group: `(assessment, stamp)`.
    pub fn basis_stamps(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
    ) -> QueryResult<Vec<(Uuid, Option<Uuid>)>> {
        use crate::db::schema::assessment_bases as b;
        b::table
            .filter(b::period_id.eq(period))
            .filter(b::group_id.eq(group))
            .select((b::assessment_id, b::stamp))
            .load(conn)
    }

    /// The `(period, group)` pairs with an assessment that has no score row (e.g. after the
    /// layout migration): the groups to rescore.
    pub fn unscored_groups(conn: &mut PgConnection) -> QueryResult<Vec<(Uuid, Uuid)>> {
        use crate::db::schema::assessments;
        assessments::table
            .left_join(
                assessment_scores::table.on(assessment_scores::assessment_id.eq(assessments::id)),
            )
            .filter(assessment_scores::assessment_id.is_null())
            .select((assessments::period_id, assessments::group_id))
            .distinct()
            .load(conn)
    }
}

/// A row of [`ScoreRow::bases_of_group`].
#[derive(Debug, QueryableByName)]
pub struct BasisText {
    #[diesel(sql_type = SqlUuid)]
    pub assessment_id: Uuid,
    #[diesel(sql_type = Text)]
    pub basis: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub stamp: Option<Uuid>,
}

/// A unit's basis to store (see [`crate::services::scoring`]).
#[derive(Debug, Clone)]
pub struct BasisRecord {
    pub assessment_id: Uuid,
    /// JSON text.
    pub basis: String,
}

/// What a moved best rewrites of one unit: totals, and the values of the moved scopes.
#[derive(Debug, Clone)]
pub struct MovedRow {
    pub assessment_id: Uuid,
    pub self_points: Decimal,
    pub reviewed_points: Decimal,
    pub self_index: Option<Decimal>,
    pub reviewed_index: Option<Decimal>,
    /// Per moved scope (in the order of the positions given to `write_follows`).
    pub points: Vec<Decimal>,
    pub index: Vec<Option<Decimal>>,
}

/// What a moved group best changes of the units that follow it, in the form the group's follow
/// row stores (`score_follows`): each unit's totals and the values of the scopes at `positions`
/// (0-based in the scope list; the overall scope, 0, first). Built by [`FollowRow::new`] (pure,
/// its literals on the scoring pool) and written by [`ScoreRow::write_follows`].
///
/// What the row would repeat is left out (migration `lean_follows`): the overall scope's
/// values, which are each unit's reviewed points and overall key, and the self totals when
/// every unit's are its reviewed ones digit for digit.
#[derive(Debug)]
pub struct FollowRow {
    /// The scopes after the overall one, 1-based.
    ordinals: Vec<i32>,
    assessment_ids: Vec<Uuid>,
    self_points: Option<Vec<Decimal>>,
    reviewed_points: Vec<Decimal>,
    self_index: Option<Vec<Option<Decimal>>>,
    reviewed_index: Vec<Option<Decimal>>,
    /// Per unit, the moved scopes after the overall one as a numeric array literal.
    scope_points: Vec<String>,
    scope_index: Vec<String>,
    overall_key: Vec<Option<Decimal>>,
}

impl FollowRow {
    pub fn new(positions: &[usize], rows: &[MovedRow]) -> FollowRow {
        use rayon::prelude::*;
        debug_assert_eq!(positions.first(), Some(&0), "the overall scope moves first");
        debug_assert!(
            rows.iter()
                .all(|r| r.points.first() == Some(&r.reviewed_points))
        );
        let literals = |points: bool| -> Vec<String> {
            rows.par_iter()
                .map(|r| {
                    if points {
                        array_literal(r.points.iter().skip(1).map(|p| Some(*p)))
                    } else {
                        array_literal(r.index.iter().skip(1).copied())
                    }
                })
                .collect()
        };
        let same = |a: Decimal, b: Decimal| a.mantissa() == b.mantissa() && a.scale() == b.scale();
        let self_is_reviewed = rows.iter().all(|r| {
            same(r.self_points, r.reviewed_points)
                && match (r.self_index, r.reviewed_index) {
                    (Some(a), Some(b)) => same(a, b),
                    (a, b) => a.is_none() && b.is_none(),
                }
        });
        FollowRow {
            ordinals: positions
                .iter()
                .skip(1)
                .map(|p| i32::try_from(p + 1).unwrap_or(i32::MAX))
                .collect(),
            assessment_ids: rows.iter().map(|r| r.assessment_id).collect(),
            self_points: (!self_is_reviewed).then(|| rows.iter().map(|r| r.self_points).collect()),
            reviewed_points: rows.iter().map(|r| r.reviewed_points).collect(),
            self_index: (!self_is_reviewed).then(|| rows.iter().map(|r| r.self_index).collect()),
            reviewed_index: rows.iter().map(|r| r.reviewed_index).collect(),
            scope_points: literals(true),
            scope_index: literals(false),
            overall_key: rows
                .iter()
                .map(|r| r.index.first().copied().flatten())
                .collect(),
        }
    }
}

/// One score row's overall rank key: whether the unit is ranked, and its overall rounded index
/// (`overall_key`). What [`crate::services::ranks`] keeps of a group in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankKey {
    pub assessment_id: Uuid,
    pub ranked: bool,
    pub key: Option<Decimal>,
}

#[derive(QueryableByName)]
struct Stamp {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    version: Option<Uuid>,
}

#[derive(QueryableByName)]
struct StampedKey {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    version: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    assessment_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Bool>)]
    ranked: Option<bool>,
    #[diesel(sql_type = Nullable<Numeric>)]
    key: Option<Decimal>,
}

impl RankKey {
    /// The group's score stamp (`None` when none was drawn yet, or no such group).
    pub fn group_version(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
    ) -> QueryResult<Option<Uuid>> {
        let row: Option<Stamp> = cached_sql(
            "SELECT scores_version AS version FROM period_groups \
             WHERE period_id = $1 AND group_id = $2",
        )
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .get_result(conn)
        .optional()?;
        Ok(row.and_then(|r| r.version))
    }

    /// Every score row's key of a group, with the group's score stamp, in one statement (one
    /// snapshot: the keys are what the stamp stands for).
    pub fn of_group(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
    ) -> QueryResult<(Option<Uuid>, Vec<RankKey>)> {
        let rows: Vec<StampedKey> = cached_sql(
            "SELECT pg.scores_version AS version, s.assessment_id, s.ranked, \
               s.overall_key AS key \
             FROM period_groups pg LEFT JOIN current_rank_keys s \
               ON s.period_id = $1 AND s.group_id = $2 \
             WHERE pg.period_id = $1 AND pg.group_id = $2",
        )
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .load(conn)?;
        let version = rows.first().and_then(|r| r.version);
        let keys = rows
            .into_iter()
            .filter_map(|r| {
                Some(RankKey {
                    assessment_id: r.assessment_id?,
                    ranked: r.ranked?,
                    key: r.key,
                })
            })
            .collect();
        Ok((version, keys))
    }
}

/// One unit's line in one ranking scope, with its rank as read.
#[derive(Debug, Clone, PartialEq)]
pub struct RankingRow {
    pub period_id: Uuid,
    pub group_id: Uuid,
    pub scope: RankingScope,
    pub scope_code: String,
    pub unit_id: Uuid,
    pub points: Decimal,
    pub applicable_max: Decimal,
    /// The index rounded to the set's precision (what the rank compares).
    pub index_value: Option<Decimal>,
    /// Competition rank: 1 + the number of units with a greater rounded index; `None` without
    /// an index.
    pub rank: Option<i32>,
    /// Another unit has the same rounded index.
    pub tied: bool,
    /// Takes part in the ranking; an excluded unit is listed with no rank and takes none
    /// from the others.
    pub ranked: bool,
}

#[derive(QueryableByName)]
struct RankedRow {
    #[diesel(sql_type = Int4)]
    ord: i32,
    #[diesel(sql_type = SqlUuid)]
    unit_id: Uuid,
    #[diesel(sql_type = Nullable<Numeric>)]
    points: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    applicable_max: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    index_value: Option<Decimal>,
    #[diesel(sql_type = Nullable<Int8>)]
    rank: Option<i64>,
    #[diesel(sql_type = Bool)]
    tied: bool,
    #[diesel(sql_type = Bool)]
    ranked: bool,
    #[diesel(sql_type = Int8)]
    total: i64,
}

impl RankedRow {
    fn into_row(self, period: Uuid, group: Uuid, scopes: &[Scope]) -> Option<RankingRow> {
        let scope = scopes.get(usize::try_from(self.ord).ok()?.checked_sub(1)?)?;
        Some(RankingRow {
            period_id: period,
            group_id: group,
            scope: scope.kind,
            scope_code: scope.code.clone(),
            unit_id: self.unit_id,
            points: self.points.unwrap_or_default(),
            applicable_max: self.applicable_max.unwrap_or_default(),
            index_value: self.index_value,
            rank: self.rank.and_then(|r| i32::try_from(r).ok()),
            tied: self.tied,
            ranked: self.ranked,
        })
    }
}

/// Competition ranking ("1, 2, 2, 4"), the one definition of the DTI rule, in the SQL every
/// ranking read runs (docs/scoring.md, "Ranking"): a unit's rank is 1 + the number of ranked
/// units of its group with a strictly greater rounded index (the stored `scope_index`, rounded
/// to the set's precision when scored); it is tied when another ranked unit has the same
/// rounded index; an excluded unit (`ranked = false`) or one without an index has no rank and
/// counts in no one's rank or tie. Listings order ties by unit code.
///
/// Three spellings of the same rule, one per access path: [`rank::window`] ranks every row of
/// a scope at once (`RANK()` over the rounded index), [`rank::ahead`] counts the units ahead of
/// one value (the rank an index would have among a publication's units), and
/// [`crate::services::ranks`] keeps a live group's overall keys in memory for one unit's rank
/// after each write and a what-if's rank (a count over the group's rows was a quarter of a
/// write at 3,400 units). `tests/api/ranking.rs` checks all three, through a real database,
/// against the definition above on random groups with ties, exclusions and missing indices.
pub mod rank {
    /// `rank` and `tied` columns ranking rows on `index` within `partition` (extra partition
    /// keys, comma-terminated, or empty), among the rows where `ranked` holds.
    pub fn window(index: &str, ranked: &str, partition: &str) -> String {
        format!(
            "CASE WHEN {index} IS NULL OR NOT {ranked} THEN NULL \
               ELSE rank() OVER (PARTITION BY {partition} {ranked} ORDER BY {index} DESC NULLS LAST) \
             END AS rank, \
             ({ranked} AND {index} IS NOT NULL \
               AND count(*) OVER (PARTITION BY {partition} {ranked}, {index}) > 1) AS tied"
        )
    }

    /// The rank of `value` (`ranked_me`: it takes part in the ranking) given aggregate rows
    /// `other` whose index is `other_index` and whose participation is `other_ranked`: for an
    /// aggregate over the other rows of the group (`GROUP BY` the value's own row).
    pub fn ahead(value: &str, ranked_me: &str, other_index: &str, other_ranked: &str) -> String {
        format!(
            "CASE WHEN {value} IS NULL OR NOT {ranked_me} THEN NULL \
               ELSE 1 + count(*) FILTER (WHERE {other_ranked} AND {other_index} > {value}) END"
        )
    }
}

/// The ranked lines of one scope (`$3` = 1-based position in the scope list) of a group
/// (ranked by [`rank::window`]).
fn ranked_scope() -> String {
    format!(
        "SELECT $3::int4 AS ord, unit_id, unit_code, ranked, \
           scope_points[$3] AS points, scope_max[$3] AS applicable_max, \
           scope_index[$3] AS index_value, {}, count(*) OVER () AS total \
         FROM current_scores WHERE period_id = $1 AND group_id = $2",
        rank::window("scope_index[$3]", "ranked", "")
    )
}

impl RankingRow {
    /// One page of one scope (`position` in `scopes`, 0-based), in ranking order (rank, then
    /// unit code), with the number of ranked units.
    pub fn page(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        scopes: &[Scope],
        position: usize,
        page: super::PageReq,
    ) -> QueryResult<(Vec<RankingRow>, i64)> {
        let ord = i32::try_from(position + 1).unwrap_or(i32::MAX);
        let rows: Vec<RankedRow> = diesel::sql_query(format!(
            "SELECT * FROM ({}) r \
             ORDER BY rank ASC NULLS LAST, ranked DESC, unit_code \
             LIMIT $4 OFFSET $5",
            ranked_scope()
        ))
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .bind::<Int4, _>(ord)
        .bind::<Int8, _>(page.page_size)
        .bind::<Int8, _>(page.offset())
        .load(conn)?;
        let total = match rows.first() {
            Some(r) => r.total,
            None => assessment_scores::table
                .filter(assessment_scores::period_id.eq(period))
                .filter(assessment_scores::group_id.eq(group))
                .count()
                .get_result(conn)?,
        };
        Ok((
            rows.into_iter()
                .filter_map(|r| r.into_row(period, group, scopes))
                .collect(),
            total,
        ))
    }

    /// Every unit's line in every scope of a group (a publication's content).
    pub fn of_group(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        scopes: &[Scope],
    ) -> QueryResult<Vec<RankingRow>> {
        let rows: Vec<RankedRow> = diesel::sql_query(format!(
            "SELECT k.ord::int4 AS ord, s.unit_id, s.ranked, k.points, k.applicable_max, \
               k.index_value, {}, 0::int8 AS total \
             FROM current_scores s, \
               unnest(s.scope_points, s.scope_max, s.scope_index) WITH ORDINALITY \
                 AS k(points, applicable_max, index_value, ord) \
             WHERE s.period_id = $1 AND s.group_id = $2",
            rank::window("k.index_value", "s.ranked", "k.ord,")
        ))
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_row(period, group, scopes))
            .collect())
    }
}

/// One unit's candidate values for the best of one `relative_to_best` leaf.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = relative_values)]
pub struct RelativeValue {
    pub assessment_id: Uuid,
    pub node_id: Uuid,
    pub period_id: Uuid,
    pub group_id: Uuid,
    pub self_value: Option<Decimal>,
    pub reviewed_value: Option<Decimal>,
}

/// One leaf's extremes of the stored candidates over a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestRow {
    pub node_id: Uuid,
    pub max_self: Option<Decimal>,
    pub min_self: Option<Decimal>,
    pub max_reviewed: Option<Decimal>,
    pub min_reviewed: Option<Decimal>,
}

/// The statement of [`RelativeValue::extremes`] (also a part of
/// [`RelativeValue::own_and_extremes`]): `$1` period, `$2` group, `$3` the assessment left
/// out (or null), `$4` the nodes.
macro_rules! extremes_sql {
    () => {
        "SELECT * FROM (SELECT n.node_id, \
           (SELECT max(self_value) FROM relative_values r WHERE r.period_id = $1 \
             AND r.group_id = $2 AND r.node_id = n.node_id \
             AND r.assessment_id IS DISTINCT FROM $3) AS max_self, \
           (SELECT min(self_value) FROM relative_values r WHERE r.period_id = $1 \
             AND r.group_id = $2 AND r.node_id = n.node_id \
             AND r.assessment_id IS DISTINCT FROM $3) AS min_self, \
           (SELECT max(reviewed_value) FROM relative_values r WHERE r.period_id = $1 \
             AND r.group_id = $2 AND r.node_id = n.node_id \
             AND r.assessment_id IS DISTINCT FROM $3) AS max_rev, \
           (SELECT min(reviewed_value) FROM relative_values r WHERE r.period_id = $1 \
             AND r.group_id = $2 AND r.node_id = n.node_id \
             AND r.assessment_id IS DISTINCT FROM $3) AS min_rev \
         FROM unnest($4::uuid[]) AS n(node_id)) e \
         WHERE max_self IS NOT NULL OR max_rev IS NOT NULL"
    };
}

impl RelativeValue {
    /// The extremes of the candidates of each of `nodes` over a group, optionally without one
    /// assessment; a node without candidates has no row.
    ///
    /// Four index probes per node (`relative_values_self_idx`, `relative_values_reviewed_idx`:
    /// the first and last value of the node in either column), not a pass over the group's
    /// rows: this runs in every answer write of a set with a `relative_to_best` leaf
    /// (0.3 ms against 0.8-1.4 ms at 3,400 units).
    pub fn extremes(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        except: Option<Uuid>,
        nodes: &[Uuid],
    ) -> QueryResult<Vec<BestRow>> {
        #[derive(QueryableByName)]
        struct Extremes {
            #[diesel(sql_type = SqlUuid)]
            node_id: Uuid,
            #[diesel(sql_type = Nullable<Numeric>)]
            max_self: Option<Decimal>,
            #[diesel(sql_type = Nullable<Numeric>)]
            min_self: Option<Decimal>,
            #[diesel(sql_type = Nullable<Numeric>)]
            max_rev: Option<Decimal>,
            #[diesel(sql_type = Nullable<Numeric>)]
            min_rev: Option<Decimal>,
        }
        // every candidate row has a value in one column at least (its CHECK): a node with
        // candidates has a maximum in one column at least
        let rows: Vec<Extremes> = cached_sql(extremes_sql!())
            .bind::<SqlUuid, _>(period)
            .bind::<SqlUuid, _>(group)
            .bind::<Nullable<SqlUuid>, _>(except)
            .bind::<Array<SqlUuid>, _>(nodes)
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|r| BestRow {
                node_id: r.node_id,
                max_self: r.max_self,
                min_self: r.min_self,
                max_reviewed: r.max_rev,
                min_reviewed: r.min_rev,
            })
            .collect())
    }

    /// One assessment's own rows (ordered by node) and the extremes of
    /// the others' candidates of each of `nodes` over its group (as
    /// [`RelativeValue::extremes`] without it), in one statement: the two reads of every
    /// answer write of a set with a `relative_to_best` leaf.
    pub fn own_and_extremes(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        assessment: Uuid,
        nodes: &[Uuid],
    ) -> QueryResult<(Vec<RelativeValue>, Vec<BestRow>)> {
        #[derive(QueryableByName)]
        struct Either {
            #[diesel(sql_type = Bool)]
            own: bool,
            #[diesel(sql_type = SqlUuid)]
            node_id: Uuid,
            #[diesel(sql_type = Nullable<SqlUuid>)]
            period_id: Option<Uuid>,
            #[diesel(sql_type = Nullable<SqlUuid>)]
            group_id: Option<Uuid>,
            #[diesel(sql_type = Nullable<Numeric>)]
            a: Option<Decimal>,
            #[diesel(sql_type = Nullable<Numeric>)]
            b: Option<Decimal>,
            #[diesel(sql_type = Nullable<Numeric>)]
            c: Option<Decimal>,
            #[diesel(sql_type = Nullable<Numeric>)]
            d: Option<Decimal>,
        }
        let rows: Vec<Either> = cached_sql(concat!(
            "SELECT false AS own, x.node_id, NULL::uuid AS period_id, NULL::uuid AS group_id, \
               x.max_self AS a, x.min_self AS b, x.max_rev AS c, x.min_rev AS d \
             FROM (",
            extremes_sql!(),
            ") x \
             UNION ALL \
             SELECT true, r.node_id, r.period_id, r.group_id, r.self_value, r.reviewed_value, \
               NULL, NULL \
             FROM relative_values r WHERE r.assessment_id = $3"
        ))
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .bind::<Nullable<SqlUuid>, _>(Some(assessment))
        .bind::<Array<SqlUuid>, _>(nodes)
        .load(conn)?;
        let mut own = Vec::new();
        let mut extremes = Vec::new();
        for r in rows {
            match (r.own, r.period_id, r.group_id) {
                (true, Some(period_id), Some(group_id)) => own.push(RelativeValue {
                    assessment_id: assessment,
                    node_id: r.node_id,
                    period_id,
                    group_id,
                    self_value: r.a,
                    reviewed_value: r.b,
                }),
                (true, ..) => {}
                (false, ..) => extremes.push(BestRow {
                    node_id: r.node_id,
                    max_self: r.a,
                    min_self: r.b,
                    max_reviewed: r.c,
                    min_reviewed: r.d,
                }),
            }
        }
        // by node, the order of the fresh rows they are compared with
        own.sort_by_key(|r| r.node_id);
        Ok((own, extremes))
    }

    /// Replaces one assessment's rows with `rows` (all of `assessment`), in one statement:
    /// rows no longer among them are deleted, the others inserted or overwritten.
    pub fn replace_for(
        conn: &mut PgConnection,
        assessment: Uuid,
        rows: &[RelativeValue],
    ) -> QueryResult<()> {
        debug_assert!(rows.iter().all(|r| r.assessment_id == assessment));
        cached_sql(
            "WITH v AS ( \
               SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::numeric[], \
                 $6::numeric[]) AS v(n, p, g, s, r)), \
             gone AS ( \
               DELETE FROM relative_values rv WHERE rv.assessment_id = $1 \
                 AND rv.node_id NOT IN (SELECT v.n FROM v)) \
             INSERT INTO relative_values AS rv (assessment_id, node_id, period_id, group_id, \
               self_value, reviewed_value) \
             SELECT $1, v.n, v.p, v.g, v.s, v.r FROM v \
             ON CONFLICT (assessment_id, node_id) DO UPDATE SET \
               period_id = excluded.period_id, group_id = excluded.group_id, \
               self_value = excluded.self_value, reviewed_value = excluded.reviewed_value",
        )
        .bind::<SqlUuid, _>(assessment)
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.node_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.period_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.group_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Numeric>>, _>(rows.iter().map(|r| r.self_value).collect::<Vec<_>>())
        .bind::<Array<Nullable<Numeric>>, _>(
            rows.iter().map(|r| r.reviewed_value).collect::<Vec<_>>(),
        )
        .execute(conn)?;
        Ok(())
    }

    /// Makes a whole group's rows `rows`, in one statement, writing only what differs: rows
    /// no longer among them are deleted, new ones inserted, changed ones updated, equal ones
    /// left as they are (a recompute that changes nothing writes nothing here). `NOT IN`, not
    /// `NOT EXISTS`: the planner cannot count an `unnest` of parameters, and its anti-join
    /// then compared every pair of rows (0.9 s at 3,400 units); `NOT IN` hashes the new keys.
    pub fn replace_group(
        conn: &mut PgConnection,
        period: Uuid,
        group: Uuid,
        rows: &[RelativeValue],
    ) -> QueryResult<()> {
        cached_sql(
            "WITH v AS ( \
               SELECT * FROM unnest($3::uuid[], $4::uuid[], $5::numeric[], $6::numeric[]) \
                 AS v(a, n, s, r)), \
             gone AS ( \
               DELETE FROM relative_values rv WHERE rv.period_id = $1 AND rv.group_id = $2 \
                 AND (rv.assessment_id, rv.node_id) NOT IN (SELECT v.a, v.n FROM v)) \
             INSERT INTO relative_values AS rv (assessment_id, node_id, period_id, group_id, \
               self_value, reviewed_value) \
             SELECT v.a, v.n, $1, $2, v.s, v.r FROM v \
             ON CONFLICT (assessment_id, node_id) DO UPDATE SET \
               period_id = excluded.period_id, group_id = excluded.group_id, \
               self_value = excluded.self_value, reviewed_value = excluded.reviewed_value \
             WHERE (rv.period_id, rv.group_id, rv.self_value, rv.reviewed_value) \
               IS DISTINCT FROM (excluded.period_id, excluded.group_id, excluded.self_value, \
                 excluded.reviewed_value)",
        )
        .bind::<SqlUuid, _>(period)
        .bind::<SqlUuid, _>(group)
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.node_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Numeric>>, _>(rows.iter().map(|r| r.self_value).collect::<Vec<_>>())
        .bind::<Array<Nullable<Numeric>>, _>(
            rows.iter().map(|r| r.reviewed_value).collect::<Vec<_>>(),
        )
        .execute(conn)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The literal writer writes what `Display` writes, so the stored digits never depend on
    /// which of the two wrote them.
    #[test]
    fn a_decimal_is_written_as_display_writes_it() {
        let max = (1i128 << 96) - 1;
        let cases = [
            Decimal::ZERO,
            Decimal::new(0, 2),
            Decimal::new(5, 3),
            Decimal::new(-5, 3),
            Decimal::new(12345, 2),
            Decimal::new(-1, 0),
            Decimal::from_parts(0, 0, 0, true, 3),
            Decimal::from_i128_with_scale(max, 0),
            Decimal::from_i128_with_scale(-max, 28),
            Decimal::from_i128_with_scale(10_000_000_000_000_000_000, 19),
            Decimal::from_i128_with_scale(9_999_999_999_999_999_999, 28),
            Decimal::MAX,
            Decimal::MIN,
        ];
        for d in cases {
            let mut out = String::new();
            push_decimal(&mut out, d);
            assert_eq!(out, d.to_string(), "{d:?}");
        }
        assert_eq!(
            array_literal([Some(Decimal::new(15, 1)), None, Some(Decimal::new(-2, 0))]),
            "{1.5,NULL,-2}"
        );
        assert_eq!(array_literal(std::iter::empty()), "{}");
    }

    proptest! {
        #[test]
        fn any_decimal_is_written_as_display_writes_it(
            m in -((1i128 << 96) - 1)..(1i128 << 96),
            scale in 0u32..=28,
        ) {
            let d = Decimal::from_i128_with_scale(m, scale);
            let mut out = String::new();
            push_decimal(&mut out, d);
            prop_assert_eq!(out, d.to_string());
        }
    }
}
