//! Inner nodes and the root: children summed in summation order, capped; a whole unit scored.

use super::*;

/// Children in summation order: those whose points do not follow the group best first, then
/// those that do, each in document order (see the module docs, § Summation order).
pub(super) fn summation_order<'a, T: Copy>(
    items: &'a [T],
    dep: &'a [bool],
) -> impl Iterator<Item = T> + 'a {
    let pick = move |want: bool| {
        items
            .iter()
            .zip(dep)
            .filter(move |(_, d)| **d == want)
            .map(|(t, _)| *t)
    };
    pick(false).chain(pick(true))
}

pub(super) fn inner_column(node: &CNode, kids: &[View], dep: &[bool], trace: bool) -> Col {
    let (points, applicable_max, capped) = aggregate(
        node.max_points,
        summation_order(kids, dep).map(|k| (k.points, k.applicable_max)),
    );
    let applicable = kids.iter().any(|k| k.applicable);
    let raw = summation_order(kids, dep).fold(Decimal::ZERO, |s, k| s.saturating_add(k.points));
    let terms: Vec<String> = if trace {
        kids.iter()
            .filter(|k| k.applicable)
            .map(|k| fmt_dec(k.points))
            .collect()
    } else {
        Vec::new()
    };
    let rule = if !trace {
        String::new()
    } else if !applicable {
        "no applicable children".to_string()
    } else if capped {
        format!("min({}, {})", fmt_dec(node.max_points), terms.join(" + "))
    } else {
        terms.join(" + ")
    };
    Col {
        applicable,
        points,
        applicable_max,
        trace: Trace {
            inputs: None,
            rule,
            raw,
            capped: points,
            contribution: points,
        },
        flags: match (applicable, capped) {
            (false, _) => vec![flags::NOT_APPLICABLE],
            (true, true) => vec![flags::CAPPED],
            (true, false) => vec![],
        },
    }
}

pub(super) fn node_score(max: Decimal, own: Col, rev: Col, adjusted: bool) -> NodeScore {
    let mut present: Vec<&'static str> = rev.flags.clone();
    present.extend(own.flags.iter().filter(|f| **f != flags::NOT_APPLICABLE));
    if own.applicable != rev.applicable {
        present.push(flags::NOT_APPLICABLE_OVERRULED);
    }
    if adjusted {
        present.push(flags::ADJUSTED);
    }
    if max.is_zero() {
        present.push(flags::NOT_SCORED);
    }
    NodeScore {
        applicable: rev.applicable,
        max_points: max,
        applicable_max: rev.applicable_max,
        self_applicable: own.applicable,
        self_applicable_max: own.applicable_max,
        self_points: own.points,
        reviewed_points: rev.points,
        self_index: index_of(own.points, own.applicable_max),
        reviewed_index: index_of(rev.points, rev.applicable_max),
        adjusted,
        flags: flags::ALL
            .into_iter()
            .filter(|f| present.contains(f))
            .collect(),
        self_trace: own.trace,
        reviewed_trace: rev.trace,
    }
}

pub(super) fn kid_view(s: &NodeScore, col: Column) -> View {
    match col {
        Column::Own => View::new(s.self_applicable, s.self_points, s.self_applicable_max),
        Column::Reviewed => View::new(s.applicable, s.reviewed_points, s.applicable_max),
    }
}

/// The top-level nodes of one column split by role, each with whether it depends on the group
/// best; bonus and penalty nodes count only when applicable.
pub(super) struct RootParts {
    pub regular: Vec<(View, bool)>,
    pub bonus: Vec<(Decimal, bool)>,
    pub penalty: Vec<(Decimal, bool)>,
}

pub(super) fn root_parts(set: &CompiledSet, view: impl Fn(usize) -> View) -> RootParts {
    let mut parts = RootParts {
        regular: Vec::new(),
        bonus: Vec::new(),
        penalty: Vec::new(),
    };
    for &r in &set.roots {
        let v = view(r);
        let dep = set.depends_on_best[r];
        match set.nodes[r].kind {
            NodeKind::Bonus if v.applicable => parts.bonus.push((v.points, dep)),
            NodeKind::Penalty if v.applicable => parts.penalty.push((v.points, dep)),
            NodeKind::Bonus | NodeKind::Penalty => {}
            _ => parts.regular.push((v, dep)),
        }
    }
    parts
}

/// The root's numbers of one column.
pub(super) struct RootNumbers {
    pub applicable: bool,
    /// Before the clamp to [0, applicable max].
    pub raw: Decimal,
    pub points: Decimal,
    pub applicable_max: Decimal,
    pub clamped: bool,
}

/// The root's numbers from its parts, summed in summation order.
pub(super) fn root_numbers(set: &CompiledSet, parts: &RootParts) -> RootNumbers {
    let RootParts {
        regular,
        bonus,
        penalty,
    } = parts;
    let ordered = |want: bool| {
        regular
            .iter()
            .filter(move |(_, d)| *d == want)
            .map(|(k, _)| (k.points, k.applicable_max))
    };
    let fold = |xs: &[(Decimal, bool)]| {
        let part = |want: bool| xs.iter().filter(move |(_, d)| *d == want).map(|(p, _)| *p);
        part(false)
            .chain(part(true))
            .fold(Decimal::ZERO, |s, p| s.saturating_add(p))
    };
    let (raw, points, applicable_max, clamped) = total(
        set.scale,
        ordered(false).chain(ordered(true)),
        fold(bonus),
        fold(penalty),
    );
    RootNumbers {
        applicable: regular.iter().any(|(k, _)| k.applicable),
        raw,
        points,
        applicable_max,
        clamped,
    }
}

pub(super) fn root_column(set: &CompiledSet, nodes: &[NodeScore], col: Column, trace: bool) -> Col {
    let mut terms = Vec::new();
    for &r in set.roots.iter().filter(|_| trace) {
        let View {
            applicable, points, ..
        } = kid_view(&nodes[r], col);
        match set.nodes[r].kind {
            NodeKind::Bonus if applicable => terms.push(format!("+ {}", fmt_dec(points))),
            NodeKind::Penalty if applicable => terms.push(format!("− {}", fmt_dec(points))),
            NodeKind::Bonus | NodeKind::Penalty => {}
            _ if applicable => {
                let sep = if terms.is_empty() { "" } else { "+ " };
                terms.push(format!("{sep}{}", fmt_dec(points)));
            }
            _ => {}
        }
    }
    let parts = root_parts(set, |r| kid_view(&nodes[r], col));
    let RootNumbers {
        applicable,
        raw,
        points,
        applicable_max,
        clamped,
    } = root_numbers(set, &parts);
    let expr = if terms.is_empty() {
        "0".to_string()
    } else {
        terms.join(" ")
    };
    let rule = if clamped {
        format!("clamp({expr}, 0, {})", fmt_dec(applicable_max))
    } else {
        expr
    };
    let mut fl = Vec::new();
    if !applicable {
        fl.push(flags::NOT_APPLICABLE);
    }
    if clamped {
        fl.push(flags::CAPPED);
    }
    Col {
        applicable,
        points,
        applicable_max,
        trace: Trace {
            inputs: None,
            rule,
            raw,
            capped: points,
            contribution: points,
        },
        flags: fl,
    }
}

/// Scores one unit against the group's `best` (from [`group_best`] over the unit's ranking
/// group). Pure: the same arguments always give the same result.
///
/// Example: a set with one main "1" (20) over leaf "1.1" (ratio, 20); answer 3 of 4 →
/// `nodes[1]` self = reviewed = 15, `total` 15 of 20, index 0.75.
pub fn score_unit(set: &CompiledSet, unit: &UnitInput, best: &Best) -> UnitScores {
    score_unit_with(set, unit, best, true)
}

/// [`score_unit`] without the traces' text (rules and inputs are left empty): the same numbers
/// and flags, several times faster — what storing scores needs.
pub fn score_unit_numbers(set: &CompiledSet, unit: &UnitInput, best: &Best) -> UnitScores {
    score_unit_with(set, unit, best, false)
}

pub(super) fn score_unit_with(
    set: &CompiledSet,
    unit: &UnitInput,
    best: &Best,
    trace: bool,
) -> UnitScores {
    let n = set.nodes.len();
    let mut nodes: Vec<NodeScore> = vec![NodeScore::default(); n];
    // Pre-order puts children after their parent: walking backwards scores children first.
    for i in (0..n).rev() {
        let node = &set.nodes[i];
        let score = if node.is_leaf() {
            let answer = unit.answers.get(i);
            let evidence = answer.is_some_and(|a| evidence_ok(node, a));
            let b = best.get(i);
            let own = leaf_column(
                set,
                node,
                resolve(node, unit, answer, Column::Own),
                evidence,
                b.self_best,
                trace,
            );
            let rev = leaf_column(
                set,
                node,
                resolve(node, unit, answer, Column::Reviewed),
                evidence,
                b.reviewed_best,
                trace,
            );
            let adjusted = answer
                .and_then(|a| a.adjustment.as_deref())
                .is_some_and(|x| !x.is_empty());
            node_score(node.max_points, own, rev, adjusted)
        } else {
            let view = |col| -> Vec<_> {
                node.children
                    .iter()
                    .map(|&c| kid_view(&nodes[c], col))
                    .collect()
            };
            let dep: Vec<bool> = node
                .children
                .iter()
                .map(|&c| set.depends_on_best[c])
                .collect();
            let own = inner_column(node, &view(Column::Own), &dep, trace);
            let rev = inner_column(node, &view(Column::Reviewed), &dep, trace);
            let adjusted = node.children.iter().any(|&c| nodes[c].adjusted);
            node_score(node.max_points, own, rev, adjusted)
        };
        nodes[i] = score;
    }
    // Top-level penalties subtract at the root: show that in their contribution.
    for &r in &set.roots {
        if set.nodes[r].kind == NodeKind::Penalty {
            let s = &mut nodes[r];
            s.self_trace.contribution = -s.self_trace.contribution;
            s.reviewed_trace.contribution = -s.reviewed_trace.contribution;
        }
    }
    let own = root_column(set, &nodes, Column::Own, trace);
    let rev = root_column(set, &nodes, Column::Reviewed, trace);
    let adjusted = nodes.iter().any(|s| s.adjusted);
    let total = node_score(set.scale, own, rev, adjusted);
    UnitScores {
        unit_id: unit.unit_id,
        unit_code: unit.unit_code.clone(),
        nodes,
        total,
    }
}

/// Scores every unit of one ranking group: [`group_best`] once, then [`score_unit`] per unit,
/// in the given order.
pub fn score_group(set: &CompiledSet, units: &[UnitInput]) -> Vec<UnitScores> {
    let best = group_best(set, units);
    units.iter().map(|u| score_unit(set, u, &best)).collect()
}
