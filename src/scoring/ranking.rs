//! What rankings compare: the ranking scopes of a set (overall, each pillar, each main
//! indicator) and each unit's value in them, with the index rounded to the published precision.
//!
//! The ranking itself ("1, 2, 2, 4": competition ranking on the rounded index) runs over the
//! stored values, by the rule stated at [`crate::db::models::scores::rank`].
//!
//! Worked example (precision 4): A 0.80015 → 0.8002, B 0.80024 → 0.8002, C 0.7 → 0.7,
//! D none → `[A 1 tied, B 1 tied, C 3, D —]`: A and B share rank 1 because people see the
//! same 0.8002, C is third (two units are ahead of it), D has no applicable maximum.

use rust_decimal::{Decimal, RoundingStrategy};

use super::set::CompiledSet;
use crate::domain::workflow::RankingScope;

/// Rounds an index to the published precision, half away from zero: 0.800175 → 0.8002.
pub fn round_index(index: Decimal, precision: u32) -> Decimal {
    index.round_dp_with_strategy(precision, RoundingStrategy::MidpointAwayFromZero)
}

/// An index as it is shown: rounded to the published precision and padded to it (`0.488` at
/// precision 4 is shown `0.4880`), the digits a ranking compares and a publication states.
/// Every index a response or an export carries goes through here; the exact value, where a
/// response also gives it, is in a field of its own (`…_index_exact`).
pub fn shown_index(index: Decimal, precision: u32) -> Decimal {
    let mut d = round_index(index, precision);
    d.rescale(precision);
    d
}

/// `points ÷ applicable max`, `None` when the applicable max is 0 (not rounded).
pub fn index_of(points: Decimal, applicable_max: Decimal) -> Option<Decimal> {
    if applicable_max > Decimal::ZERO {
        points.checked_div(applicable_max)
    } else {
        None
    }
}

/// A ranking scope: the whole index, one pillar or one main indicator (by its code; empty for
/// the whole index).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub kind: RankingScope,
    pub code: String,
}

impl Scope {
    /// The whole index.
    pub fn overall() -> Scope {
        Scope {
            kind: RankingScope::Overall,
            code: String::new(),
        }
    }

    fn of(kind: RankingScope, code: &str) -> Scope {
        Scope {
            kind,
            code: code.to_string(),
        }
    }
}

/// The ranking scopes of a set in storage order: overall, each pillar, each main indicator
/// (pre-order). Stored scope values are arrays in this order.
pub fn scopes(set: &CompiledSet) -> Vec<Scope> {
    let mut out = vec![Scope::overall()];
    out.extend(
        set.pillars
            .iter()
            .map(|p| Scope::of(RankingScope::Pillar, &p.code)),
    );
    out.extend(
        set.main_indicators()
            .into_iter()
            .map(|m| Scope::of(RankingScope::Main, &set.nodes[m].code)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_creates_the_ties_people_see() {
        assert_eq!(round_index(dec!(0.80015), 4), dec!(0.8002));
        assert_eq!(round_index(dec!(0.80024), 4), dec!(0.8002));
        assert_eq!(round_index(dec!(0.80025), 4), dec!(0.8003));
        assert_eq!(round_index(dec!(-0.80025), 4), dec!(-0.8003));
    }

    #[test]
    fn index_is_none_without_applicable_max() {
        assert_eq!(index_of(dec!(0), dec!(0)), None);
        assert_eq!(index_of(dec!(800.175), dec!(1000)), Some(dec!(0.800175)));
    }
}
