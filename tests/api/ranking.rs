//! Competition ranking ("1, 2, 2, 4") as production computes it: every path that ranks (a page
//! of a scope and a whole group for a publication in SQL, one unit's overall standing and the
//! rank an index would have from the group's keys in memory, and the rank an index would have
//! among a publication's units in SQL) run through a real database on random groups — ties, excluded units, units without an index — and
//! compared with the rule as docs/scoring.md states it: 1 + the number of ranked units with a
//! strictly greater rounded index; tied when another ranked unit has the same one; excluded
//! units and units without an index have no rank and count in no one's.

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Numeric, Uuid as SqlUuid};
use dti_api::db::models::PageReq;
use dti_api::db::models::publications::Publication;
use dti_api::db::models::scores::RankingRow;
use dti_api::services::scoring::{Caches, overall_rank_of, overall_standing};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::fixtures::open_period;
use crate::helpers::*;

/// One unit's line in a random group: its rounded overall index (few distinct values, so ties
/// are common) and whether it takes part in the ranking.
fn line() -> impl Strategy<Value = (Option<Decimal>, bool)> {
    (
        prop_oneof![
            1 => Just(None),
            6 => prop::sample::select(vec!["0", "0.25", "0.5", "0.8002", "0.8003", "1"])
                .prop_map(|s| Some(s.parse::<Decimal>().unwrap())),
        ],
        prop::bool::weighted(0.8),
    )
}

/// The rule itself: `(rank, tied)` of line `i` among `lines`.
fn expected(lines: &[(Option<Decimal>, bool)], i: usize) -> (Option<i32>, bool) {
    let (index, ranked) = lines[i];
    let Some(x) = index.filter(|_| ranked) else {
        return (None, false);
    };
    let others = lines
        .iter()
        .enumerate()
        .filter(|&(j, l)| j != i && l.1)
        .filter_map(|(_, l)| l.0);
    let (mut ahead, mut same) = (0, false);
    for y in others {
        ahead += i32::from(y > x);
        same |= y == x;
    }
    (Some(1 + ahead), same)
}

/// The rank `x` would have among the lines other than `i` (a what-if).
fn expected_for(lines: &[(Option<Decimal>, bool)], i: usize, x: Decimal) -> i32 {
    let ahead = lines
        .iter()
        .enumerate()
        .filter(|&(j, l)| j != i && l.1 && l.0.is_some_and(|y| y > x))
        .count();
    1 + i32::try_from(ahead).unwrap()
}

/// One assessment of the random group: `(assessment, unit, unit code)`.
type Line = (Uuid, Uuid, String);

/// Stores `lines` as the group's overall numbers, runs every ranking path and lists what
/// disagrees with the rule (empty: all agree).
fn disagreements(
    c: &mut PgConnection,
    period: Uuid,
    group: Uuid,
    units: &[Line],
    lines: &[(Option<Decimal>, bool)],
    by: Uuid,
    caches: &Caches,
) -> Result<Vec<String>, dti_api::error::AppError> {
    diesel::sql_query(
        "UPDATE assessment_scores s SET scope_index[1] = v.i, overall_key = v.i, ranked = v.r, \
           follow_seq = nextval('score_follow_seq') \
         FROM unnest($1::uuid[], $2::numeric[], $3::bool[]) AS v(id, i, r) \
         WHERE s.assessment_id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(units.iter().map(|u| u.0).collect::<Vec<_>>())
    .bind::<Array<Nullable<Numeric>>, _>(lines.iter().map(|l| l.0).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(lines.iter().map(|l| l.1).collect::<Vec<_>>())
    .execute(c)?;
    let overall = [dti_api::scoring::ranking::Scope::overall()];
    let all = PageReq {
        page: 1,
        page_size: 1000,
    };
    let (page, total) = RankingRow::page(c, period, group, &overall, 0, all)?;
    let whole = RankingRow::of_group(c, period, group, &overall)?;
    // a publication listing the same lines: what a what-if after publication ranks against
    let content = serde_json::json!({"rankings": units.iter().zip(lines).map(|(u, l)| {
        serde_json::json!({"unit": {"code": u.2}, "index": l.0.map(|d| d.to_string()), "ranked": l.1})
    }).collect::<Vec<_>>()});
    let published = Publication::insert(
        c,
        period,
        group,
        1,
        chrono::Utc::now(),
        &"0".repeat(64),
        &content,
        None,
        by,
    )?;
    let at = |unit: Uuid| units.iter().position(|u| u.1 == unit).unwrap();
    let mut out = Vec::new();
    let mut check = |what: &str, i: usize, got: String, want: String| {
        if got != want {
            out.push(format!(
                "{what} of {} {:?}: {got}, expected {want}",
                units[i].2, lines[i]
            ));
        }
    };
    check("lines", 0, total.to_string(), units.len().to_string());
    for r in &page {
        let i = at(r.unit_id);
        let want = format!("{:?}", expected(lines, i));
        check("page line", i, format!("{:?}", (r.rank, r.tied)), want);
    }
    // listing order: by rank (ranked lines first), then unit code
    let keys: Vec<_> = page
        .iter()
        .map(|r| (r.rank.is_none(), r.rank, units[at(r.unit_id)].2.clone()))
        .collect();
    for w in keys.windows(2) {
        if !w[0].0 && !w[1].0 && w[0] > w[1] {
            check(
                "page order",
                0,
                format!("{:?} before {:?}", w[0], w[1]),
                "rank, code".into(),
            );
        }
    }
    for r in &whole {
        let i = at(r.unit_id);
        let want = format!("{:?}", expected(lines, i));
        check("group line", i, format!("{:?}", (r.rank, r.tied)), want);
    }
    for (i, u) in units.iter().enumerate() {
        // the keys in memory: loaded for this case's stamp (the update above drew a new one)
        let own = overall_standing(c, caches, period, group, u.0)?.expect("a line");
        let want = format!("{:?}", expected(lines, i));
        check("own line", i, format!("{:?}", (own.rank, own.tied)), want);
        for x in ["0.5", "0.8002", "0.9"] {
            let x: Decimal = x.parse().unwrap();
            let want = expected_for(lines, i, x).to_string();
            let live = overall_rank_of(c, caches, period, group, u.0, x)?;
            check(&format!("rank of {x}"), i, live.to_string(), want.clone());
            let p = Publication::rank_of_index(c, published.id, &u.2, x)?;
            check(&format!("published rank of {x}"), i, p.to_string(), want);
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_ranking_path_follows_the_competition_rule() {
    let app = spawn_seeded_app().await;
    let (admin_user, admin) = app.user_and_token(dti_api::domain::Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let period = Uuid::parse_str(&period).unwrap();
    app.with_conn(|conn| {
        use dti_api::db::schema::assessment_scores as s;
        let c = std::cell::RefCell::new(conn);
        let rows: Vec<(Uuid, Uuid, Uuid, String)> = s::table
            .filter(s::period_id.eq(period))
            .order(s::unit_code)
            .select((s::group_id, s::assessment_id, s::unit_id, s::unit_code))
            .load(*c.borrow_mut())
            .unwrap();
        assert!(rows.len() >= 5, "the group has {} units", rows.len());
        let group = rows[0].0;
        let units: Vec<Line> = rows.into_iter().map(|r| (r.1, r.2, r.3)).collect();
        let caches = Caches::default();
        let mut runner = TestRunner::new(RunnerConfig {
            cases: 48,
            failure_persistence: None,
            ..RunnerConfig::default()
        });
        runner
            .run(&prop::collection::vec(line(), units.len()), |lines| {
                let mut outcome = None;
                // every case is rolled back: the next starts from the stored group again
                let _ = c
                    .borrow_mut()
                    .transaction::<(), diesel::result::Error, _>(|c| {
                        outcome = Some(disagreements(
                            c,
                            period,
                            group,
                            &units,
                            &lines,
                            admin_user.id,
                            &caches,
                        ));
                        Err(diesel::result::Error::RollbackTransaction)
                    });
                match outcome.expect("the case ran") {
                    Ok(f) if f.is_empty() => Ok(()),
                    Ok(f) => Err(TestCaseError::fail(f.join("\n"))),
                    Err(e) => Err(TestCaseError::fail(e.to_string())),
                }
            })
            .unwrap();
    });
}
