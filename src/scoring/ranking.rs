//! Competition ranking ("1, 2, 2, 4") on the published, rounded index, and the per-pillar and
//! per-node views the service ranks by.
//!
//! Owns: ordering and rank numbering, with every tie-break explicit. Imports only `std`,
//! `rust_decimal`, `serde` and the sibling scoring modules.
//!
//! Worked example (precision 4): A 0.80015 → 0.8002, B 0.80024 → 0.8002, C 0.7 → 0.7,
//! D none → `[A 1 tied, B 1 tied, C 3, D —]`: A and B share rank 1 because people see the
//! same 0.8002, C is third (two units are ahead of it), D has no applicable maximum.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::UnitScores;
use super::set::CompiledSet;

/// One line of a ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RankEntry {
    pub unit_code: String,
    /// The index rounded (half away from zero) to the set's precision; `None` = nothing
    /// applicable to rank on.
    pub index: Option<Decimal>,
    /// Competition rank: 1 + the number of entries with a strictly greater rounded index.
    pub rank: Option<i32>,
    /// Another entry has the same rounded index (and so the same rank).
    pub tied: bool,
}

/// Rounds an index to the published precision, half away from zero: 0.800175 → 0.8002.
pub fn round_index(index: Decimal, precision: u32) -> Decimal {
    index.round_dp_with_strategy(precision, RoundingStrategy::MidpointAwayFromZero)
}

/// Competition ranking of `(unit code, unrounded index)` pairs, descending on the index
/// rounded to `precision`. Output order: by rank, then by unit code (so ties never depend on
/// input order); units without an index come last, ordered by code, with rank `None`.
///
/// Example: `[("B", 0.5), ("A", 0.5), ("C", 0.9), ("D", None)]`, precision 4 →
/// `C 1, A 2 tied, B 2 tied, D —`.
pub fn competition_rank(entries: &[(String, Option<Decimal>)], precision: u32) -> Vec<RankEntry> {
    let mut rows: Vec<(String, Option<Decimal>)> = entries
        .iter()
        .map(|(code, idx)| (code.clone(), idx.map(|i| round_index(i, precision))))
        .collect();
    rows.sort_by(|a, b| match (a.1, b.1) {
        (Some(x), Some(y)) => y.cmp(&x).then_with(|| a.0.cmp(&b.0)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.0.cmp(&b.0),
    });
    let mut out: Vec<RankEntry> = Vec::with_capacity(rows.len());
    for (pos, (code, idx)) in rows.iter().enumerate() {
        let rank = match idx {
            None => None,
            // Sorted descending: the first row with this index sits after exactly the rows
            // with a strictly greater index.
            Some(v) => match out.last() {
                Some(prev) if prev.index == Some(*v) => prev.rank,
                _ => Some(i32::try_from(pos + 1).unwrap_or(i32::MAX)),
            },
        };
        out.push(RankEntry {
            unit_code: code.clone(),
            index: *idx,
            rank,
            tied: false,
        });
    }
    for i in 0..out.len() {
        if out[i].index.is_none() {
            continue;
        }
        let same = |j: usize| out.get(j).is_some_and(|o| o.index == out[i].index);
        let tied = (i > 0 && same(i - 1)) || same(i + 1);
        out[i].tied = tied;
    }
    out
}

/// `points ÷ applicable max`, `None` when the applicable max is 0 (not rounded).
pub fn index_of(points: Decimal, applicable_max: Decimal) -> Option<Decimal> {
    if applicable_max > Decimal::ZERO {
        points.checked_div(applicable_max)
    } else {
        None
    }
}

/// A unit's totals over a pillar: `(reviewed points, applicable max, self points)`, summed
/// over the pillar's main indicators (shared mains count in every pillar that lists them).
/// The index is `reviewed ÷ applicable max` (see [`index_of`]).
///
/// Example (docs/scoring.md): Đà Nẵng 2022, pillar CQS = the five scored foundation mains (433.18 of
/// 500) + Đô thị thông minh (0 of 0) + main 7 (171.5 of 200) → (604.68, 700, …) → 0.8638.
pub fn pillar_totals(
    set: &CompiledSet,
    scores: &UnitScores,
    pillar: usize,
) -> (Decimal, Decimal, Decimal) {
    let mut reviewed = Decimal::ZERO;
    let mut max = Decimal::ZERO;
    let mut own = Decimal::ZERO;
    if let Some(p) = set.pillars.get(pillar) {
        for &m in &p.mains {
            if let Some(s) = scores.nodes.get(m) {
                reviewed += s.reviewed_points;
                max += s.applicable_max;
                own += s.self_points;
            }
        }
    }
    (reviewed, max, own)
}

/// A ranking scope: `("overall", "")`, `("pillar", code)` or `("main", code)`.
pub type Scope = (&'static str, String);

/// The ranking scopes of a set in storage order: overall, each pillar, each main indicator
/// (pre-order). Stored scope values are arrays in this order.
pub fn scopes(set: &CompiledSet) -> Vec<Scope> {
    let mut out = vec![("overall", String::new())];
    out.extend(set.pillars.iter().map(|p| ("pillar", p.code.clone())));
    out.extend(
        set.main_indicators()
            .into_iter()
            .map(|m| ("main", set.nodes[m].code.clone())),
    );
    out
}

/// One unit's numbers in one ranking scope: reviewed points and applicable max (normalised),
/// and the index rounded to the set's precision — the key competition ranking compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeValue {
    pub points: Decimal,
    pub applicable_max: Decimal,
    pub index: Option<Decimal>,
}

impl ScopeValue {
    /// From reviewed points and applicable max: both normalised first, so the same numbers
    /// always give the same digits whichever way they were computed.
    pub fn new(points: Decimal, applicable_max: Decimal, precision: u32) -> ScopeValue {
        let (points, applicable_max) = (points.normalize(), applicable_max.normalize());
        ScopeValue {
            points,
            applicable_max,
            index: index_of(points, applicable_max).map(|i| round_index(i, precision).normalize()),
        }
    }
}

/// Every scope's value (in [`scopes`] order) from the overall reviewed `(points, applicable
/// max)` and each main indicator's (parallel to `set.main_indicators()`); a pillar sums its
/// mains' normalised values in the pillar's order (shared mains count in every pillar).
///
/// Example: pillar CQS over mains (100 of 100) and (171.5 of 200) → 271.5 of 300 → 0.905.
pub fn scope_values(
    set: &CompiledSet,
    overall: (Decimal, Decimal),
    mains: &[(Decimal, Decimal)],
) -> Vec<ScopeValue> {
    let main_idx = set.main_indicators();
    (0..1 + set.pillars.len() + main_idx.len())
        .map(|pos| scope_value_at(set, &main_idx, overall, mains, pos))
        .collect()
}

/// One scope's value (position `pos` in [`scopes`] order), exactly as [`scope_values`] gives
/// it; `main_idx` is `set.main_indicators()`. For callers that need a few scopes of many
/// units (a moved group best).
pub fn scope_value_at(
    set: &CompiledSet,
    main_idx: &[usize],
    overall: (Decimal, Decimal),
    mains: &[(Decimal, Decimal)],
    pos: usize,
) -> ScopeValue {
    let p = set.precision;
    if pos == 0 {
        return ScopeValue::new(overall.0, overall.1, p);
    }
    if let Some(pillar) = set.pillars.get(pos - 1) {
        let (mut points, mut max) = (Decimal::ZERO, Decimal::ZERO);
        for m in &pillar.mains {
            if let Some(&(a, mx)) = main_idx.iter().position(|x| x == m).map(|k| &mains[k]) {
                points = points.saturating_add(a.normalize());
                max = max.saturating_add(mx.normalize());
            }
        }
        return ScopeValue::new(points, max, p);
    }
    let (a, m) = mains[pos - 1 - set.pillars.len()];
    ScopeValue::new(a, m, p)
}

/// Ranks units on their total reviewed index.
pub fn rank_totals(scores: &[UnitScores], precision: u32) -> Vec<RankEntry> {
    let entries: Vec<_> = scores
        .iter()
        .map(|s| (s.unit_code.clone(), s.total.reviewed_index))
        .collect();
    competition_rank(&entries, precision)
}

/// Ranks units on one node's reviewed index (e.g. a main indicator).
pub fn rank_node(scores: &[UnitScores], node: usize, precision: u32) -> Vec<RankEntry> {
    let entries: Vec<_> = scores
        .iter()
        .map(|s| {
            let idx = s.nodes.get(node).and_then(|n| n.reviewed_index);
            (s.unit_code.clone(), idx)
        })
        .collect();
    competition_rank(&entries, precision)
}

/// Ranks units on a pillar's reviewed index (see [`pillar_totals`]).
pub fn rank_pillar(set: &CompiledSet, scores: &[UnitScores], pillar: usize) -> Vec<RankEntry> {
    let entries: Vec<_> = scores
        .iter()
        .map(|s| {
            let (points, max, _) = pillar_totals(set, s, pillar);
            (s.unit_code.clone(), index_of(points, max))
        })
        .collect();
    competition_rank(&entries, set.precision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(code: &str, idx: Option<Decimal>) -> (String, Option<Decimal>) {
        (code.to_string(), idx)
    }

    fn view(r: &[RankEntry]) -> Vec<(&str, Option<i32>, bool)> {
        r.iter()
            .map(|x| (x.unit_code.as_str(), x.rank, x.tied))
            .collect()
    }

    #[test]
    fn ties_share_a_rank_and_the_next_rank_is_skipped() {
        let r = competition_rank(
            &[
                e("D", None),
                e("B", Some(dec!(0.5))),
                e("A", Some(dec!(0.5))),
                e("C", Some(dec!(0.9))),
                e("E", Some(dec!(0.1))),
                e("0", None),
            ],
            4,
        );
        assert_eq!(
            view(&r),
            vec![
                ("C", Some(1), false),
                ("A", Some(2), true),
                ("B", Some(2), true),
                ("E", Some(4), false),
                ("0", None, false),
                ("D", None, false),
            ]
        );
    }

    #[test]
    fn rounding_creates_the_ties_people_see() {
        let r = competition_rank(
            &[
                e("A", Some(dec!(0.80015))),
                e("B", Some(dec!(0.80024))),
                e("C", Some(dec!(0.80025))),
            ],
            4,
        );
        assert_eq!(
            view(&r),
            vec![
                ("C", Some(1), false),
                ("A", Some(2), true),
                ("B", Some(2), true)
            ]
        );
        assert_eq!(r[0].index, Some(dec!(0.8003)));
        assert_eq!(r[1].index, Some(dec!(0.8002)));
        assert!(competition_rank(&[], 4).is_empty());
    }

    #[test]
    fn index_is_none_without_applicable_max() {
        assert_eq!(index_of(dec!(0), dec!(0)), None);
        assert_eq!(index_of(dec!(800.175), dec!(1000)), Some(dec!(0.800175)));
    }
}
