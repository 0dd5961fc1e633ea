//! The group's best value of each `relative_to_best` leaf: what each unit offers to it, and
//! the one comparison that keeps it.

use super::*;

/// The group's best values of one `relative_to_best` leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct BestValues {
    /// Best value over the units' own answers.
    pub self_best: Option<Decimal>,
    /// Best value over the reviewed answers.
    pub reviewed_best: Option<Decimal>,
}

/// Per `relative_to_best` leaf index, the group's best values (see [`group_best`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Best {
    pub by_leaf: BTreeMap<usize, BestValues>,
}

impl Best {
    pub fn get(&self, leaf: usize) -> BestValues {
        self.by_leaf.get(&leaf).copied().unwrap_or_default()
    }

    /// Folds one unit's candidate values of `leaf` into the best (see [`better`]); values are
    /// normalised, so the best has the same digits however it was reached.
    pub fn offer(&mut self, set: &CompiledSet, leaf: usize, v: BestValues) {
        let Some(direction) = set.best_direction(leaf) else {
            return;
        };
        let cur = self.get(leaf);
        let n = |d: Option<Decimal>| d.map(|d| d.normalize());
        self.by_leaf.insert(
            leaf,
            BestValues {
                self_best: better(direction, cur.self_best, n(v.self_best)),
                reviewed_best: better(direction, cur.reviewed_best, n(v.reviewed_best)),
            },
        );
    }
}

/// The better of two values of a `relative_to_best` leaf: the larger, or the smaller when
/// lower is better; a missing value loses; of equal values the first stays. The one comparison
/// behind every group best: folded over the units' candidates ([`group_best`], and the
/// service's what-if), or choosing between the stored maximum and minimum.
pub fn better(direction: Direction, a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (Some(x), Some(y)) => Some(match direction {
            Direction::HigherIsBetter if y > x => y,
            Direction::LowerIsBetter if y < x => y,
            _ => x,
        }),
        (x, y) => x.or(y),
    }
}

/// The value a unit contributes to the group's best in one column, if any.
pub(super) fn best_candidate(
    set: &CompiledSet,
    leaf: usize,
    unit: &UnitInput,
    col: Column,
) -> Option<Decimal> {
    let node = &set.nodes[leaf];
    let answer = unit.answers.get(leaf);
    match resolve(node, unit, answer, col) {
        Source::Answer {
            input: Input::Value(v),
            reviewer,
        } if reviewer || answer.is_some_and(|a| evidence_ok(node, a)) => Some(*v),
        Source::ReviewerPoints {
            inputs: Some(Input::Value(v)),
            ..
        } => Some(*v),
        _ => None,
    }
}

/// The group's best value of every `relative_to_best` leaf, per column: the largest value
/// (lower-is-better: the smallest) over the units to which the leaf applies and whose answer
/// in that column earns points.
///
/// Example: M = 40, units A 4 Mbps, B 10 Mbps, C not applicable 50 Mbps → best 10, so A scores
/// `40 × 4/10` = 16 and B 40.
pub fn group_best(set: &CompiledSet, units: &[UnitInput]) -> Best {
    let mut best = Best::default();
    for leaf in set.leaves().filter(|&i| set.is_relative_to_best(i)) {
        best.by_leaf.insert(leaf, BestValues::default());
    }
    for unit in units {
        for (leaf, v) in candidates(set, unit) {
            best.offer(set, leaf, v);
        }
    }
    best
}

/// The values one unit offers to its group's best, per `relative_to_best` leaf and column
/// (see [`group_best`]); leaves where it offers neither are left out. The best of a group is
/// the max (lower-is-better: min) of its units' candidates, so it can be kept as an aggregate.
pub fn candidates(set: &CompiledSet, unit: &UnitInput) -> Vec<(usize, BestValues)> {
    set.leaves()
        .filter(|&i| set.is_relative_to_best(i))
        .filter_map(|i| {
            let v = BestValues {
                self_best: best_candidate(set, i, unit, Column::Own),
                reviewed_best: best_candidate(set, i, unit, Column::Reviewed),
            };
            (v.self_best.is_some() || v.reviewed_best.is_some()).then_some((i, v))
        })
        .collect()
}
