//! A unit's basis: what its scores are without the nodes that follow the group best, so a moved
//! best re-scores it without its answers.

use super::*;

/// One column's view of a node as its parent sums it. Stored inside bases as the array
/// `[applicable, points, applicable max]` (the form it has always had on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "(bool, Decimal, Decimal)", into = "(bool, Decimal, Decimal)")]
pub struct View {
    pub applicable: bool,
    pub points: Decimal,
    pub applicable_max: Decimal,
}

impl View {
    pub fn new(applicable: bool, points: Decimal, applicable_max: Decimal) -> View {
        View {
            applicable,
            points,
            applicable_max,
        }
    }
}

impl From<(bool, Decimal, Decimal)> for View {
    fn from((applicable, points, applicable_max): (bool, Decimal, Decimal)) -> View {
        View::new(applicable, points, applicable_max)
    }
}

impl From<View> for (bool, Decimal, Decimal) {
    fn from(v: View) -> Self {
        (v.applicable, v.points, v.applicable_max)
    }
}

/// What one node of a [`Basis`] keeps, per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    /// A `relative_to_best` leaf whose points follow the best: the value it is scored from.
    #[serde(rename = "v")]
    Value(Decimal),
    /// A `relative_to_best` leaf whose points do not follow the best (not applicable,
    /// unanswered, evidence missing, points set by the reviewer): its view.
    #[serde(rename = "f")]
    Fixed(View),
    /// An inner node: its children that do not follow the best, already summed in order
    /// (applicable = any of them).
    #[serde(rename = "r")]
    Rest(View),
}

/// The top level of one column, without the nodes that follow the best: regular nodes summed,
/// bonus and penalty points summed. Stored as the array `[regular, bonus, penalty]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "(View, Decimal, Decimal)", into = "(View, Decimal, Decimal)")]
pub struct RootRest {
    pub regular: View,
    pub bonus: Decimal,
    pub penalty: Decimal,
}

impl From<(View, Decimal, Decimal)> for RootRest {
    fn from((regular, bonus, penalty): (View, Decimal, Decimal)) -> RootRest {
        RootRest {
            regular,
            bonus,
            penalty,
        }
    }
}

impl From<RootRest> for (View, Decimal, Decimal) {
    fn from(r: RootRest) -> Self {
        (r.regular, r.bonus, r.penalty)
    }
}

/// Everything one unit's scores owe to anything but the group best, frozen: with it,
/// [`rescore_basis`] recomputes the unit's totals for another best by re-evaluating only the
/// nodes that follow the best (a few per unit), not the whole tree from every answer. That is
/// what keeps a write that moves a group's maximum fast: every unit of the group moves, but
/// each costs a handful of additions.
///
/// Exactness: sums add the children that follow the best last (§ Summation order), so a
/// frozen partial sum continued with the fresh children performs exactly the additions of a
/// full [`score_unit`] — the results are identical to the last digit (a property test checks
/// this on random sets).
///
/// Example: main "1" (max 60) over "1.1" (ratio, 20: 15 points) and "1.2" (relative_to_best,
/// 40; value 4): basis `[(1, Rest(15 of 20)), (2, Value(4))]` → with best 10, "1.2" scores
/// `40 × 4/10` = 16 and "1" 15 + 16 = 31; with best 8, 20 and 35.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Basis {
    /// `(node index, [self part, reviewed part])` of every node that follows the best, in
    /// pre-order.
    pub nodes: Vec<(usize, [Part; 2])>,
    /// `[self, reviewed]` top level.
    pub root: [RootRest; 2],
}

/// The numbers [`rescore_basis`] recomputes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rescored {
    /// `(node index, [self view, reviewed view])` of every node that follows the best.
    pub nodes: Vec<(usize, [View; 2])>,
    /// The root's `[self, reviewed]` view (points after the clamp, applicable max).
    pub total: [View; 2],
}

pub(super) fn fold_sum(kids: impl Iterator<Item = View>) -> View {
    let mut v = View::default();
    for k in kids {
        v.applicable |= k.applicable;
        v.points = v.points.checked_add(k.points).unwrap_or(Decimal::MAX);
        v.applicable_max = v
            .applicable_max
            .checked_add(k.applicable_max)
            .unwrap_or(Decimal::MAX);
    }
    v
}

/// The [`Basis`] of a unit scored by [`score_unit`] (from the same input); `None` when the set
/// has no `relative_to_best` leaf.
pub fn basis_of(set: &CompiledSet, unit: &UnitInput, scores: &UnitScores) -> Option<Basis> {
    if !set.has_relative_to_best() {
        return None;
    }
    let cols = [Column::Own, Column::Reviewed];
    let view = |i: usize, col: Column| kid_view(&scores.nodes[i], col);
    let mut nodes = Vec::new();
    for (i, node) in set.nodes.iter().enumerate() {
        if !set.depends_on_best[i] {
            continue;
        }
        let part = |col: Column| {
            if node.is_leaf() {
                let answer = unit.answers.get(i);
                match resolve(node, unit, answer, col) {
                    Source::Answer {
                        input: Input::Value(v),
                        reviewer,
                    } if reviewer || answer.is_some_and(|a| evidence_ok(node, a)) => {
                        Part::Value(*v)
                    }
                    _ => Part::Fixed(view(i, col)),
                }
            } else {
                Part::Rest(fold_sum(
                    node.children
                        .iter()
                        .filter(|&&c| !set.depends_on_best[c])
                        .map(|&c| kid_view(&scores.nodes[c], col)),
                ))
            }
        };
        nodes.push((i, cols.map(part)));
    }
    let root = cols.map(|col| {
        let parts = root_parts(set, |r| kid_view(&scores.nodes[r], col));
        let sum = |xs: &[(Decimal, bool)]| {
            xs.iter()
                .filter(|(_, d)| !*d)
                .fold(Decimal::ZERO, |s, (p, _)| s.saturating_add(*p))
        };
        RootRest {
            regular: fold_sum(parts.regular.iter().filter(|(_, d)| !*d).map(|(k, _)| *k)),
            bonus: sum(&parts.bonus),
            penalty: sum(&parts.penalty),
        }
    });
    Some(Basis { nodes, root })
}

/// Recomputes a unit's best-dependent nodes and totals from its [`Basis`] against `best`:
/// identical to [`score_unit`] on the unit's full input with that best.
pub fn rescore_basis(set: &CompiledSet, basis: &Basis, best: &Best) -> Rescored {
    // a basis holds a few nodes (the relative leaves and their ancestors): a list searched
    // by node index beats a map, and this runs for every unit of a group on a moved best
    let mut out: Vec<(usize, [View; 2])> = Vec::with_capacity(basis.nodes.len());
    let view_of =
        |out: &[(usize, [View; 2])], c: usize| out.iter().find(|(i, _)| *i == c).map(|(_, v)| *v);
    // pre-order: walking backwards settles children before their parent
    for (i, parts) in basis.nodes.iter().rev() {
        let node = &set.nodes[*i];
        let column = |k: usize| match parts[k] {
            Part::Value(v) => {
                let input = Input::Value(v);
                let b = best.get(*i);
                let best = if k == 0 { b.self_best } else { b.reviewed_best };
                let source = Source::Answer {
                    input: &input,
                    reviewer: true,
                };
                let c = leaf_column(set, node, source, true, best, false);
                View::new(c.applicable, c.points, c.applicable_max)
            }
            Part::Fixed(v) => v,
            Part::Rest(rest) => {
                let fresh = || {
                    node.children
                        .iter()
                        .filter_map(|&c| view_of(&out, c).map(|v| v[k]))
                };
                let (points, app, _) = aggregate(
                    node.max_points,
                    std::iter::once((rest.points, rest.applicable_max))
                        .chain(fresh().map(|v| (v.points, v.applicable_max))),
                );
                View::new(
                    rest.applicable || fresh().any(|v| v.applicable),
                    points,
                    app,
                )
            }
        };
        let views = [column(0), column(1)];
        out.push((*i, views));
    }
    let total = [0, 1].map(|k| {
        let rest = basis.root[k];
        let mut parts = RootParts {
            regular: Vec::with_capacity(1 + set.roots.len()),
            bonus: vec![],
            penalty: vec![],
        };
        parts.regular.push((rest.regular, false));
        if !rest.bonus.is_zero() {
            parts.bonus.push((rest.bonus, false));
        }
        if !rest.penalty.is_zero() {
            parts.penalty.push((rest.penalty, false));
        }
        for &r in &set.roots {
            let Some(v) = view_of(&out, r).map(|v| v[k]) else {
                continue;
            };
            match set.nodes[r].kind {
                NodeKind::Bonus if v.applicable => parts.bonus.push((v.points, true)),
                NodeKind::Penalty if v.applicable => parts.penalty.push((v.points, true)),
                NodeKind::Bonus | NodeKind::Penalty => {}
                _ => parts.regular.push((v, true)),
            }
        }
        let n = root_numbers(set, &parts);
        View::new(n.applicable, n.points, n.applicable_max)
    });
    out.reverse();
    Rescored { nodes: out, total }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bases are stored as JSON; the named fields keep the array form stored bases have always
    /// had, so a basis written by an earlier build reads back the same.
    #[test]
    fn a_basis_keeps_its_stored_form() {
        let stored = r#"{"nodes":[[1,[{"r":[true,"15","20"]},{"f":[false,"0","0"]}]],[2,[{"v":"4"},{"v":"4"}]]],"root":[[[true,"15","20"],"1","0"],[[true,"15","20"],"0","2"]]}"#;
        let basis: Basis = serde_json::from_str(stored).expect("an earlier build's basis");
        assert_eq!(
            basis.nodes[0].1[0],
            Part::Rest(View::new(true, Decimal::from(15), Decimal::from(20)))
        );
        assert_eq!(basis.root[0].bonus, Decimal::ONE);
        assert_eq!(basis.root[1].penalty, Decimal::TWO);
        assert_eq!(serde_json::to_string(&basis).unwrap(), stored);
    }
}
