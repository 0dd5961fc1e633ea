//! The bridge between stored inputs and the pure [`crate::scoring`] module: load a ranking
//! group's inputs, score, store scores and rankings, inside the caller's transaction.
//!
//! Every write that can move a number calls [`rescore_assessment`] (one unit, then its group's
//! rankings; the whole group when a `relative_to_best` leaf changed, since the group's best moves
//! everyone) or [`rescore_group`]. Both lock the group's `period_groups` row first, so concurrent
//! writers to one group are serialised and no ranking is ever computed from a mix of states.
//! [`recompute_period`] rebuilds everything from inputs; the stored result must not change
//! (the invariant the tests check).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock, RwLock};

use diesel::PgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::models::assessments::{AdjustmentRow, Answer, Assessment, RankingRow, ScoreRow};
use crate::db::models::indicator_sets::IndicatorSet;
use crate::db::models::periods::Period;
use crate::db::models::units::Unit;
use crate::error::{AppError, AppResult};
use crate::scoring::ranking::{competition_rank, index_of, pillar_totals};
use crate::scoring::{
    Adjustment, CompiledSet, LeafAnswer, UnitInput, UnitScores, group_best, parse_input, score_unit,
};

/// A set ready to score, with its node ids.
pub struct SetEntry {
    pub set: CompiledSet,
    pub node_ids: Vec<Uuid>,
    pub index_by_node_id: HashMap<Uuid, usize>,
}

fn cache() -> &'static RwLock<HashMap<Uuid, Arc<SetEntry>>> {
    static CACHE: OnceLock<RwLock<HashMap<Uuid, Arc<SetEntry>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The compiled set (cached for active sets, which never change).
pub fn set_entry(conn: &mut PgConnection, set_id: Uuid) -> AppResult<Arc<SetEntry>> {
    if let Some(e) = cache()
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&set_id)
    {
        return Ok(e.clone());
    }
    let row = IndicatorSet::find(conn, set_id)?
        .ok_or_else(|| AppError::not_found("indicator set", set_id))?;
    let doc = crate::services::indicator_sets::document(&row)?;
    let set = CompiledSet::compile(&doc);
    let by_code: HashMap<String, Uuid> =
        IndicatorSet::node_ids(conn, set_id)?.into_iter().collect();
    let node_ids: Vec<Uuid> = set
        .nodes
        .iter()
        .map(|n| {
            by_code
                .get(&n.code)
                .copied()
                .ok_or_else(|| AppError::internal(format!("node {} not stored", n.code)))
        })
        .collect::<AppResult<_>>()?;
    let index_by_node_id = node_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let entry = Arc::new(SetEntry {
        set,
        node_ids,
        index_by_node_id,
    });
    if row.status != "draft" {
        cache()
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(set_id, entry.clone());
    }
    Ok(entry)
}

/// Converts stored answers and adjustments of some assessments into scoring inputs.
pub fn unit_inputs(
    conn: &mut PgConnection,
    entry: &SetEntry,
    assessments: &[Assessment],
) -> AppResult<Vec<UnitInput>> {
    unit_inputs_of_nodes(conn, entry, assessments, None)
}

/// [`unit_inputs`] restricted to some leaves (e.g. the `relative_to_best` ones, which are all
/// the group's best values depend on).
pub fn unit_inputs_of_nodes(
    conn: &mut PgConnection,
    entry: &SetEntry,
    assessments: &[Assessment],
    nodes: Option<&[Uuid]>,
) -> AppResult<Vec<UnitInput>> {
    let ids: Vec<Uuid> = assessments.iter().map(|a| a.id).collect();
    let units: HashMap<Uuid, Unit> = Unit::find_many(
        conn,
        &assessments.iter().map(|a| a.unit_id).collect::<Vec<_>>(),
    )?
    .into_iter()
    .map(|u| (u.id, u))
    .collect();
    let mut answers: HashMap<Uuid, Vec<Answer>> = HashMap::new();
    for a in Assessment::answers_of_nodes(conn, &ids, nodes)? {
        answers.entry(a.assessment_id).or_default().push(a);
    }
    let mut adjustments: HashMap<(Uuid, Uuid), AdjustmentRow> = HashMap::new();
    for a in Assessment::adjustments_of_nodes(conn, &ids, nodes)? {
        adjustments.insert((a.assessment_id, a.node_id), a);
    }
    let evidence: BTreeSet<(Uuid, Uuid)> = Assessment::evidence_presence(conn, &ids, nodes)?
        .into_iter()
        .collect();
    let set = &entry.set;
    let parse = |i: usize, json: &Option<serde_json::Value>| -> Option<crate::scoring::Input> {
        let n = &set.nodes[i];
        let method = n
            .method
            .clone()
            .unwrap_or(crate::domain::indicator_set::Method::Manual);
        json.as_ref()
            .and_then(|v| parse_input(&method, n.max_points, v).ok())
    };
    let mut out = Vec::with_capacity(assessments.len());
    for a in assessments {
        let unit = units
            .get(&a.unit_id)
            .ok_or_else(|| AppError::internal("assessment unit missing"))?;
        let mut map: HashMap<String, LeafAnswer> = HashMap::new();
        for ans in answers.get(&a.id).map(Vec::as_slice).unwrap_or_default() {
            let Some(&i) = entry.index_by_node_id.get(&ans.node_id) else {
                continue;
            };
            map.insert(
                set.nodes[i].code.clone(),
                LeafAnswer {
                    self_input: parse(i, &ans.inputs),
                    self_not_applicable: ans.not_applicable,
                    has_evidence: evidence.contains(&(a.id, ans.node_id)),
                    has_explanation: ans
                        .explanation
                        .as_deref()
                        .is_some_and(|e| !e.trim().is_empty()),
                    adjustment: None,
                },
            );
        }
        for ((aid, node), adj) in &adjustments {
            if *aid != a.id {
                continue;
            }
            let Some(&i) = entry.index_by_node_id.get(node) else {
                continue;
            };
            let leaf = map
                .entry(set.nodes[i].code.clone())
                .or_insert_with(|| LeafAnswer {
                    self_input: None,
                    self_not_applicable: false,
                    has_evidence: false,
                    has_explanation: false,
                    adjustment: None,
                });
            leaf.adjustment = Some(Adjustment {
                inputs: parse(i, &adj.inputs),
                points: adj.points,
                not_applicable: adj.not_applicable,
            });
        }
        out.push(UnitInput {
            unit_id: a.unit_id,
            unit_code: unit.code.clone(),
            tags: unit.tags.clone(),
            answers: map,
        });
    }
    Ok(out)
}

fn dec(d: Decimal) -> serde_json::Value {
    serde_json::Value::String(d.normalize().to_string())
}

/// The stored form of one assessment's scores.
pub fn score_row(assessment: &Assessment, s: &UnitScores) -> ScoreRow {
    let finalised = assessment.state == "finalised";
    let nodes = s
        .nodes
        .iter()
        .map(|n| {
            serde_json::json!([
                dec(n.self_points),
                dec(n.reviewed_points),
                dec(n.applicable_max),
                dec(n.self_applicable_max),
                n.flags
            ])
        })
        .collect();
    let t = &s.total;
    ScoreRow {
        assessment_id: assessment.id,
        nodes: serde_json::Value::Array(nodes),
        max_points: t.max_points.normalize(),
        applicable_max: t.applicable_max.normalize(),
        self_points: t.self_points.normalize(),
        reviewed_points: t.reviewed_points.normalize(),
        final_points: finalised.then(|| t.reviewed_points.normalize()),
        self_index: t.self_index.map(|d| d.normalize()),
        reviewed_index: t.reviewed_index.map(|d| d.normalize()),
        final_index: if finalised {
            t.reviewed_index.map(|d| d.normalize())
        } else {
            None
        },
        finalised,
    }
}

/// ((scope, scope code), points, applicable max) of one unit, for every ranking scope.
type ScopeValues = Vec<((&'static str, String), Decimal, Decimal)>;
/// A unit's freshly computed scope values: (unit, unit code, values).
type FreshUnit = (Uuid, String, ScopeValues);

fn scope_values(set: &CompiledSet, s: &UnitScores) -> ScopeValues {
    let mut out = vec![(
        ("overall", String::new()),
        s.total.reviewed_points,
        s.total.applicable_max,
    )];
    for (pi, p) in set.pillars.iter().enumerate() {
        let (pts, max, _) = pillar_totals(set, s, pi);
        out.push((("pillar", p.code.clone()), pts, max));
    }
    for m in set.main_indicators() {
        out.push((
            ("main", set.nodes[m].code.clone()),
            s.nodes[m].reviewed_points,
            s.nodes[m].applicable_max,
        ));
    }
    out
}

/// Ranks every unit of one scope (the pure [`competition_rank`]); returns the rows to store.
fn rank_scope(
    period: Uuid,
    group: Uuid,
    scope: &(String, String),
    values: &[(Uuid, String, Decimal, Decimal)],
    precision: u32,
) -> Vec<RankingRow> {
    let entries: Vec<(String, Option<Decimal>)> = values
        .iter()
        .map(|(_, code, p, m)| (code.clone(), index_of(*p, *m)))
        .collect();
    let by_code: HashMap<&str, &(Uuid, String, Decimal, Decimal)> =
        values.iter().map(|v| (v.1.as_str(), v)).collect();
    competition_rank(&entries, precision)
        .into_iter()
        .map(|e| {
            let (unit, _, points, max) = by_code[e.unit_code.as_str()];
            RankingRow {
                period_id: period,
                group_id: group,
                scope: scope.0.clone(),
                scope_code: scope.1.clone(),
                unit_id: *unit,
                points: points.normalize(),
                applicable_max: max.normalize(),
                index_value: e.index.map(|d| d.normalize()),
                rank: e.rank,
                tied: e.tied,
            }
        })
        .collect()
}

/// Unit codes never change, so they are cached for ranking tie-breaks.
fn unit_codes(conn: &mut PgConnection, ids: &[Uuid]) -> AppResult<HashMap<Uuid, String>> {
    static CODES: OnceLock<RwLock<HashMap<Uuid, String>>> = OnceLock::new();
    let cache = CODES.get_or_init(Default::default);
    let mut out = HashMap::with_capacity(ids.len());
    let mut missing = Vec::new();
    {
        let known = cache.read().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            match known.get(id) {
                Some(c) => {
                    out.insert(*id, c.clone());
                }
                None => missing.push(*id),
            }
        }
    }
    if !missing.is_empty() {
        let found = Unit::find_many(conn, &missing)?;
        let mut known = cache.write().unwrap_or_else(|p| p.into_inner());
        for u in found {
            known.insert(u.id, u.code.clone());
            out.insert(u.id, u.code);
        }
    }
    Ok(out)
}

/// Re-ranks the scopes of a group in which a value changed, from the stored rows merged with
/// `fresh` values, and writes the rows whose rank, tie or values changed. With `all_scopes`,
/// every scope is rebuilt (used after a whole-group rescore).
fn rerank(
    conn: &mut PgConnection,
    period: Uuid,
    group: Uuid,
    set: &CompiledSet,
    fresh: &[FreshUnit],
    all_scopes: bool,
) -> AppResult<()> {
    // Which scopes moved: compare the fresh values with what is stored for those units.
    let mut scopes: BTreeMap<(String, String), Vec<RankingRow>> = BTreeMap::new();
    if all_scopes {
        for r in RankingRow::of_group(conn, period, group)? {
            scopes
                .entry((r.scope.clone(), r.scope_code.clone()))
                .or_default()
                .push(r);
        }
        for (_, _, values) in fresh {
            for ((scope, code), _, _) in values {
                scopes.entry((scope.to_string(), code.clone())).or_default();
            }
        }
    } else {
        for (unit, _, values) in fresh {
            let stored: HashMap<(String, String), RankingRow> =
                RankingRow::of_unit(conn, period, group, *unit)?
                    .into_iter()
                    .map(|r| ((r.scope.clone(), r.scope_code.clone()), r))
                    .collect();
            for ((scope, code), p, m) in values {
                let key = (scope.to_string(), code.clone());
                let same = stored.get(&key).is_some_and(|r| {
                    r.points == p.normalize() && r.applicable_max == m.normalize()
                });
                if !same && !scopes.contains_key(&key) {
                    let rows = RankingRow::of_scope(conn, period, group, scope, code)?;
                    scopes.insert(key, rows);
                }
            }
        }
    }
    let mut changed = Vec::new();
    for (scope, rows) in scopes {
        let mut values: BTreeMap<Uuid, (Decimal, Decimal)> = rows
            .iter()
            .map(|r| (r.unit_id, (r.points, r.applicable_max)))
            .collect();
        for (unit, _, vals) in fresh {
            if let Some((_, p, m)) = vals
                .iter()
                .find(|(k, _, _)| k.0 == scope.0 && k.1 == scope.1)
            {
                values.insert(*unit, (*p, *m));
            }
        }
        let codes = unit_codes(conn, &values.keys().copied().collect::<Vec<_>>())?;
        let values: Vec<(Uuid, String, Decimal, Decimal)> = values
            .into_iter()
            .filter_map(|(u, (p, m))| codes.get(&u).map(|c| (u, c.clone(), p, m)))
            .collect();
        let existing: HashMap<Uuid, &RankingRow> = rows.iter().map(|r| (r.unit_id, r)).collect();
        for row in rank_scope(period, group, &scope, &values, set.precision) {
            if existing.get(&row.unit_id).is_none_or(|old| **old != row) {
                changed.push(row);
            }
        }
    }
    RankingRow::upsert(conn, &changed)?;
    Ok(())
}

/// Rescores every assessment of a group and re-ranks it. Locks the group.
pub fn rescore_group(conn: &mut PgConnection, period: Uuid, group: Uuid) -> AppResult<()> {
    let pg = Period::lock_group(conn, period, group)?
        .ok_or_else(|| AppError::not_found("period group", group))?;
    let entry = set_entry(conn, pg.set_id)?;
    let assessments = Assessment::of_group(conn, period, group)?;
    let inputs = unit_inputs(conn, &entry, &assessments)?;
    let best = group_best(&entry.set, &inputs);
    let mut rows = Vec::with_capacity(assessments.len());
    let mut fresh = Vec::with_capacity(assessments.len());
    for (a, input) in assessments.iter().zip(&inputs) {
        let s = score_unit(&entry.set, input, &best);
        rows.push(score_row(a, &s));
        fresh.push((
            a.unit_id,
            input.unit_code.clone(),
            scope_values(&entry.set, &s),
        ));
    }
    Assessment::upsert_scores(conn, &rows)?;
    rerank(conn, period, group, &entry.set, &fresh, true)
}

/// Rescores one assessment after a write, then re-ranks the scopes of its group that moved.
/// When the write touched a `relative_to_best` leaf (`relative_changed`), the group's best may
/// move: the whole group is rescored.
pub fn rescore_assessment(
    conn: &mut PgConnection,
    assessment: &Assessment,
    relative_changed: bool,
) -> AppResult<()> {
    let pg = Period::lock_group(conn, assessment.period_id, assessment.group_id)?
        .ok_or_else(|| AppError::not_found("period group", assessment.group_id))?;
    let entry = set_entry(conn, pg.set_id)?;
    let set = &entry.set;
    if relative_changed {
        return rescore_group(conn, assessment.period_id, assessment.group_id);
    }
    // The group's best values depend only on the relative_to_best leaves, which did not change:
    // read just those leaves of the group.
    let best = if set.has_relative_to_best() {
        let relative: Vec<Uuid> = set
            .leaves()
            .filter(|i| set.is_relative_to_best(*i))
            .map(|i| entry.node_ids[i])
            .collect();
        let all = Assessment::of_group(conn, assessment.period_id, assessment.group_id)?;
        group_best(
            set,
            &unit_inputs_of_nodes(conn, &entry, &all, Some(&relative))?,
        )
    } else {
        crate::scoring::Best::default()
    };
    let input = unit_inputs(conn, &entry, std::slice::from_ref(assessment))?
        .pop()
        .ok_or_else(|| AppError::internal("no input"))?;
    let s = score_unit(set, &input, &best);
    Assessment::upsert_scores(conn, &[score_row(assessment, &s)])?;
    let fresh = vec![(
        assessment.unit_id,
        input.unit_code.clone(),
        scope_values(set, &s),
    )];
    rerank(
        conn,
        assessment.period_id,
        assessment.group_id,
        set,
        &fresh,
        false,
    )
}

/// Rebuilds every score and ranking of a period from its inputs.
pub fn recompute_period(conn: &mut PgConnection, period: Uuid) -> AppResult<usize> {
    let groups = Period::groups(conn, period)?;
    let mut n = 0;
    for g in &groups {
        Period::lock_group(conn, period, g.group_id)?;
        RankingRow::delete_group(conn, period, g.group_id)?;
        rescore_group(conn, period, g.group_id)?;
        n += Assessment::of_group(conn, period, g.group_id)?.len();
    }
    Ok(n)
}
