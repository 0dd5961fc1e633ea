//! Scoring: pure, deterministic, exact-decimal computation of every node's points, index and
//! trace for the units of one ranking group (the method: docs/scoring.md).
//!
//! Owns: the two score columns of every node, aggregation, applicability, the evidence rule,
//! reviewer adjustments and the group-relative best. Imports only `std`, `crate::domain`,
//! `rust_decimal`, `serde`, `serde_json` and `uuid`: no database, no web framework, no clock,
//! no randomness, no I/O (the `architecture_guard` test below enforces part of this).
//!
//! Submodules: [`set`] (the compiled tree), [`input`] (typed answers), [`points`] (per-method
//! formulas and aggregation arithmetic), [`ranking`] (competition ranking, pillar totals),
//! [`bands`] (the classification band of an index, points to the next band).
//!
//! # Two columns
//!
//! Every node has **self** points (only the unit's own answers) and **reviewed** points (the
//! reviewer's [`Adjustment`] where one exists, its `points` winning over its `inputs`, else the
//! unit's answer). The reviewed column is the one that is ranked and published; its
//! applicability is `applicable` / `applicable_max`, the self column's is `self_applicable` /
//! `self_applicable_max` (they differ when a reviewer overrules a declaration).
//!
//! # Leaf, in order
//!
//! 1. **Not applicable** (0 points, 0 max, flag `NOT_APPLICABLE`) when the node's
//!    `unit_tags_any` is non-empty and the unit has none of them (both columns); or when the
//!    unit declared it (honoured only if `declarable_not_applicable`) — in the reviewed column
//!    the reviewer's `not_applicable`, when given, decides instead, either way (flag
//!    `NOT_APPLICABLE_OVERRULED` when the columns disagree); or when a zero denominator meets
//!    `zero_denominator: not_applicable`.
//! 2. **Unanswered** → 0 points of `M` (flag `UNANSWERED`).
//! 3. **Evidence**: with `evidence: required`, the unit's own answer earns points only when
//!    evidence or an explanation is attached (else 0, flag `EVIDENCE_MISSING`, in both columns
//!    unless the reviewer gave points or inputs, which are taken as given).
//! 4. **Formula** of the method ([`points::evaluate`]), rounded to `points_precision` (half
//!    away from zero) and clamped to `[0, M]` (flag `CAPPED` when the clamp bites).
//!
//! Example: ratio, M = 20, answer 3 of 4, evidence attached → self 15 of 20; the reviewer sets
//! inputs 2 of 4 → reviewed 10 of 20, flag `ADJUSTED`.
//!
//! # Inner nodes and the root
//!
//! `points = min(max, Σ children points)`, `applicable_max = min(max, Σ children applicable
//! max)` ([`points::aggregate`]); a node is applicable when any child is. The root sums the
//! top-level regular nodes, adds top-level `bonus` and subtracts top-level `penalty` nodes'
//! points, and clamps to `[0, applicable max of the regular nodes]` ([`points::total`]).
//! Index = points ÷ applicable max, unrounded, `None` when the applicable max is 0 (e.g. the
//! national "Đô thị thông minh", max 0).
//!
//! Example (docs/scoring.md, Đà Nẵng, national DTI 2022): main values 1, 0.9, 0.8253, 0.8487, 0.7578, (0), 0.8575,
//! 0.7836, 0.5197 of 100, 100, 100, 100, 100, 0, 200, 150, 150 → 100 + 90 + 82.53 + 84.87 +
//! 75.78 + 0 + 171.5 + 117.54 + 77.955 = 800.175 of 1000 → index 0.800175 → published 0.8002.
//!
//! # Relative to best
//!
//! `relative_to_best` leaves read the group's best value per column ([`group_best`]): the
//! max (lower-is-better: min) value over the units to which the leaf applies and whose answer
//! in that column would earn points (own answers need their evidence; reviewer inputs count;
//! reviewer points without inputs do not). So one unit's answer moves everyone's points;
//! [`score_group`] is exactly `group_best` then [`score_unit`] per unit.
//!
//! # Summation order
//!
//! Decimal sums are exact until a result needs more than 28 significant digits (e.g.
//! `40 × 4/7` + 100.5), where the last digit is rounded, so the order of additions can matter.
//! Sums therefore take a fixed order: first the children whose points do not follow a group
//! best ([`CompiledSet::depends_on_best`] false), then those that do, each in document order.
//! A unit's [`Basis`] keeps the first part summed, and [`rescore_basis`] continues exactly
//! where a full [`score_unit`] would: a moved best re-evaluates a few nodes per unit with the
//! same digits as a full rescore. Traces list terms in document order.

/// Test-only decimal literal, `dec!(12.5)`: parses the literal's text exactly, so the module's
/// tests need no macro crate.
#[cfg(test)]
macro_rules! dec {
    ($($t:tt)+) => {
        <rust_decimal::Decimal as std::str::FromStr>::from_str(
            &stringify!($($t)+).replace(' ', ""),
        )
        .expect("decimal literal")
    };
}

pub mod bands;
pub mod input;
pub mod points;
pub mod ranking;
pub mod set;

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use bands::{Standing, band_of, standing};
pub use input::{Input, InputError, input_schema, input_to_json, node_input_schema, parse_input};
use points::{Evaluation, aggregate, evaluate, fmt_dec, settle, total};
use ranking::index_of;
pub use set::{CNode, CPillar, CompiledSet};

/// The official (final) value of a reviewed number: the reviewed value itself once the
/// assessment is finalised, nothing before. The one home of this rule: stored score rows keep
/// only the `finalised` flag and the reviewed numbers, and every reader shows final values
/// through this function.
pub fn final_value<T>(finalised: bool, reviewed: T) -> Option<T> {
    finalised.then_some(reviewed)
}

use crate::domain::indicator_set::{Direction, EvidenceRule, Method, NodeKind};

/// Flags on a [`NodeScore`], always listed in the order of [`flags::ALL`].
pub mod flags {
    /// The node does not count for this unit (reviewed column).
    pub const NOT_APPLICABLE: &str = "NOT_APPLICABLE";
    /// Self and reviewed columns disagree on applicability (a reviewer overruled).
    pub const NOT_APPLICABLE_OVERRULED: &str = "NOT_APPLICABLE_OVERRULED";
    /// The unit has not answered.
    pub const UNANSWERED: &str = "UNANSWERED";
    /// Evidence is required and none (nor an explanation) is attached: the answer earns 0.
    pub const EVIDENCE_MISSING: &str = "EVIDENCE_MISSING";
    /// A reviewer adjustment exists here (or, on an inner node, below).
    pub const ADJUSTED: &str = "ADJUSTED";
    /// A clamp or cap changed the raw points.
    pub const CAPPED: &str = "CAPPED";
    /// The stored answer does not fit the leaf's method (e.g. an option removed): 0 points.
    pub const INPUT_MISMATCH: &str = "INPUT_MISMATCH";
    /// Max points 0: shown but not scored (index `None`).
    pub const NOT_SCORED: &str = "NOT_SCORED";

    pub const ALL: [&str; 8] = [
        NOT_APPLICABLE,
        NOT_APPLICABLE_OVERRULED,
        UNANSWERED,
        EVIDENCE_MISSING,
        ADJUSTED,
        CAPPED,
        INPUT_MISMATCH,
        NOT_SCORED,
    ];
}

/// A reviewer's adjustment of one leaf for one unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Adjustment {
    /// Corrected inputs (validated with [`parse_input`]).
    pub inputs: Option<Input>,
    /// Points set directly; wins over `inputs`. Clamped to `[0, M]`.
    pub points: Option<Decimal>,
    /// Overrules the unit's not-applicable declaration, either way.
    pub not_applicable: Option<bool>,
}

impl Adjustment {
    /// Whether the adjustment changes anything.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_none() && self.points.is_none() && self.not_applicable.is_none()
    }
}

/// A unit's answer to one leaf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeafAnswer {
    pub self_input: Option<Input>,
    /// The unit declared the leaf not applicable (honoured only when declarable).
    pub self_not_applicable: bool,
    pub has_evidence: bool,
    pub has_explanation: bool,
    pub adjustment: Option<Adjustment>,
}

/// Everything scoring needs to know about one unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitInput {
    pub unit_id: Uuid,
    pub unit_code: String,
    /// Unit tags matched against `applicability.unit_tags_any`.
    pub tags: Vec<String>,
    /// Leaf code → answer; missing = unanswered.
    pub answers: HashMap<String, LeafAnswer>,
}

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

/// How one number of one node came about: inputs → rule → raw → capped → contribution.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Trace {
    /// The inputs used (leaves; `input_to_json` form), `None` for inner nodes.
    pub inputs: Option<serde_json::Value>,
    /// The formula with the numbers substituted, e.g. `20 × 3/4`, `min(10, 8 + 5)`.
    pub rule: String,
    /// The formula's result before clamping/capping and rounding.
    pub raw: Decimal,
    /// The node's points after rounding (leaves) and clamping to `[0, M]` / capping at max.
    pub capped: Decimal,
    /// What the node adds to its parent: its points, negated for top-level penalty nodes.
    pub contribution: Decimal,
}

/// Scores of one node for one unit.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct NodeScore {
    /// Applicable in the reviewed column.
    pub applicable: bool,
    pub max_points: Decimal,
    /// Max of the applicable part, reviewed column (0 when not applicable).
    pub applicable_max: Decimal,
    /// Applicable in the self column.
    pub self_applicable: bool,
    /// Max of the applicable part, self column.
    pub self_applicable_max: Decimal,
    pub self_points: Decimal,
    pub reviewed_points: Decimal,
    /// `self_points ÷ self_applicable_max`, unrounded; `None` when that max is 0.
    pub self_index: Option<Decimal>,
    /// `reviewed_points ÷ applicable_max`, unrounded; `None` when that max is 0.
    pub reviewed_index: Option<Decimal>,
    /// A reviewer adjustment exists on this leaf or below this node.
    pub adjusted: bool,
    /// See [`flags`]; in the order of [`flags::ALL`].
    pub flags: Vec<&'static str>,
    pub self_trace: Trace,
    pub reviewed_trace: Trace,
}

/// All scores of one unit.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct UnitScores {
    pub unit_id: Uuid,
    pub unit_code: String,
    /// Parallel to `set.nodes`.
    pub nodes: Vec<NodeScore>,
    /// The root: the whole set including bonus/penalty; `max_points` = the set's scale.
    pub total: NodeScore,
}

/// The two score columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Own,
    Reviewed,
}

/// What one column of one leaf is scored from.
enum Source<'a> {
    NotApplicable(String),
    Unanswered,
    ReviewerPoints {
        points: Decimal,
        inputs: Option<&'a Input>,
    },
    Answer {
        input: &'a Input,
        /// Given by the reviewer: the evidence rule does not apply.
        reviewer: bool,
    },
}

fn evidence_ok(node: &CNode, answer: &LeafAnswer) -> bool {
    node.evidence != EvidenceRule::Required || answer.has_evidence || answer.has_explanation
}

fn resolve<'a>(
    node: &CNode,
    unit: &UnitInput,
    answer: Option<&'a LeafAnswer>,
    col: Column,
) -> Source<'a> {
    let tags = &node.applicability.unit_tags_any;
    if !tags.is_empty() && !unit.tags.iter().any(|t| tags.contains(t)) {
        return Source::NotApplicable(format!(
            "not applicable: applies only to units tagged {}",
            tags.join(", ")
        ));
    }
    let Some(a) = answer else {
        return Source::Unanswered;
    };
    let declared = a.self_not_applicable && node.applicability.declarable_not_applicable;
    let adjustment = match col {
        Column::Own => None,
        Column::Reviewed => a.adjustment.as_ref(),
    };
    let reviewer_na = adjustment.and_then(|x| x.not_applicable);
    match reviewer_na {
        Some(true) => return Source::NotApplicable("not applicable: set by the reviewer".into()),
        None if declared => {
            return Source::NotApplicable("not applicable: declared by the unit".into());
        }
        _ => {}
    }
    if let Some(adj) = adjustment {
        if let Some(points) = adj.points {
            return Source::ReviewerPoints {
                points,
                inputs: adj.inputs.as_ref(),
            };
        }
        if let Some(input) = &adj.inputs {
            return Source::Answer {
                input,
                reviewer: true,
            };
        }
    }
    match &a.self_input {
        Some(input) => Source::Answer {
            input,
            reviewer: false,
        },
        None => Source::Unanswered,
    }
}

/// The value a unit contributes to the group's best in one column, if any.
fn best_candidate(node: &CNode, unit: &UnitInput, col: Column) -> Option<Decimal> {
    let answer = unit.answers.get(&node.code);
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
            let node = &set.nodes[i];
            let v = BestValues {
                self_best: best_candidate(node, unit, Column::Own),
                reviewed_best: best_candidate(node, unit, Column::Reviewed),
            };
            (v.self_best.is_some() || v.reviewed_best.is_some()).then_some((i, v))
        })
        .collect()
}

/// One column of one node, while scoring.
struct Col {
    applicable: bool,
    points: Decimal,
    applicable_max: Decimal,
    trace: Trace,
    flags: Vec<&'static str>,
}

impl Col {
    fn not_applicable(rule: String, inputs: Option<serde_json::Value>) -> Col {
        Col {
            applicable: false,
            points: Decimal::ZERO,
            applicable_max: Decimal::ZERO,
            trace: Trace {
                inputs,
                rule,
                ..Trace::default()
            },
            flags: vec![flags::NOT_APPLICABLE],
        }
    }

    fn zero(
        max: Decimal,
        rule: String,
        inputs: Option<serde_json::Value>,
        flag: &'static str,
    ) -> Col {
        Col {
            applicable: true,
            points: Decimal::ZERO,
            applicable_max: max,
            trace: Trace {
                inputs,
                rule,
                ..Trace::default()
            },
            flags: vec![flag],
        }
    }

    fn earned(
        max: Decimal,
        raw: Decimal,
        rule: String,
        inputs: Option<serde_json::Value>,
        pp: Option<u32>,
    ) -> Col {
        let (points, capped) = settle(raw, max, pp);
        Col {
            applicable: true,
            points,
            applicable_max: max,
            trace: Trace {
                inputs,
                rule,
                raw,
                capped: points,
                contribution: points,
            },
            flags: if capped { vec![flags::CAPPED] } else { vec![] },
        }
    }
}

fn leaf_column(
    set: &CompiledSet,
    node: &CNode,
    source: Source<'_>,
    evidence: bool,
    best: Option<Decimal>,
    trace: bool,
) -> Col {
    let max = node.max_points;
    let pp = set.points_precision;
    match source {
        Source::NotApplicable(rule) => Col::not_applicable(rule, None),
        Source::Unanswered => Col::zero(max, "unanswered → 0".into(), None, flags::UNANSWERED),
        Source::ReviewerPoints { points, inputs } => Col::earned(
            max,
            points,
            if trace {
                format!("set by the reviewer: {}", fmt_dec(points))
            } else {
                String::new()
            },
            inputs.filter(|_| trace).map(input_to_json),
            pp,
        ),
        Source::Answer { input, reviewer } => {
            let method = node.method.as_ref().unwrap_or(&Method::Manual);
            let inputs = trace.then(|| input_to_json(input));
            match evaluate(method, max, input, best) {
                Evaluation::NotApplicable { rule } => Col::not_applicable(rule, inputs),
                Evaluation::Mismatch { rule } => {
                    Col::zero(max, rule, inputs, flags::INPUT_MISMATCH)
                }
                Evaluation::Points { raw, rule } if !reviewer && !evidence => Col::zero(
                    max,
                    if trace {
                        format!(
                            "evidence required, none attached → 0 (would be {rule} = {})",
                            fmt_dec(raw)
                        )
                    } else {
                        String::new()
                    },
                    inputs,
                    flags::EVIDENCE_MISSING,
                ),
                Evaluation::Points { raw, rule } => Col::earned(max, raw, rule, inputs, pp),
            }
        }
    }
}

/// Children in summation order: those whose points do not follow the group best first, then
/// those that do, each in document order (see the module docs, § Summation order).
fn summation_order<'a, T: Copy>(items: &'a [T], dep: &'a [bool]) -> impl Iterator<Item = T> + 'a {
    let pick = move |want: bool| {
        items
            .iter()
            .zip(dep)
            .filter(move |(_, d)| **d == want)
            .map(|(t, _)| *t)
    };
    pick(false).chain(pick(true))
}

fn inner_column(node: &CNode, kids: &[(bool, Decimal, Decimal)], dep: &[bool], trace: bool) -> Col {
    let (points, applicable_max, capped) = aggregate(
        node.max_points,
        summation_order(kids, dep).map(|k| (k.1, k.2)),
    );
    let applicable = kids.iter().any(|k| k.0);
    let raw = summation_order(kids, dep).fold(Decimal::ZERO, |s, k| s.saturating_add(k.1));
    let terms: Vec<String> = if trace {
        kids.iter().filter(|k| k.0).map(|k| fmt_dec(k.1)).collect()
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

fn node_score(max: Decimal, own: Col, rev: Col, adjusted: bool) -> NodeScore {
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

fn kid_view(s: &NodeScore, col: Column) -> (bool, Decimal, Decimal) {
    match col {
        Column::Own => (s.self_applicable, s.self_points, s.self_applicable_max),
        Column::Reviewed => (s.applicable, s.reviewed_points, s.applicable_max),
    }
}

/// The top-level nodes of one column split by role, each with its depends-on-best flag:
/// `(regular (applicable, points, applicable max), bonus points, penalty points)`; bonus and
/// penalty nodes count only when applicable.
type RootParts = (
    Vec<((bool, Decimal, Decimal), bool)>,
    Vec<(Decimal, bool)>,
    Vec<(Decimal, bool)>,
);

fn root_parts(set: &CompiledSet, view: impl Fn(usize) -> (bool, Decimal, Decimal)) -> RootParts {
    let (mut regular, mut bonus, mut penalty) = (Vec::new(), Vec::new(), Vec::new());
    for &r in &set.roots {
        let (applicable, points, app) = view(r);
        let dep = set.depends_on_best[r];
        match set.nodes[r].kind {
            NodeKind::Bonus if applicable => bonus.push((points, dep)),
            NodeKind::Penalty if applicable => penalty.push((points, dep)),
            NodeKind::Bonus | NodeKind::Penalty => {}
            _ => regular.push(((applicable, points, app), dep)),
        }
    }
    (regular, bonus, penalty)
}

/// `(applicable, raw, points, applicable_max, clamped)` of the root from its parts, summed in
/// summation order.
fn root_numbers(set: &CompiledSet, parts: &RootParts) -> (bool, Decimal, Decimal, Decimal, bool) {
    let (regular, bonus, penalty) = parts;
    let ordered = |want: bool| {
        regular
            .iter()
            .filter(move |(_, d)| *d == want)
            .map(|(k, _)| (k.1, k.2))
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
    let applicable = regular.iter().any(|(k, _)| k.0);
    (applicable, raw, points, applicable_max, clamped)
}

fn root_column(set: &CompiledSet, nodes: &[NodeScore], col: Column, trace: bool) -> Col {
    let mut terms = Vec::new();
    for &r in set.roots.iter().filter(|_| trace) {
        let (applicable, points, _) = kid_view(&nodes[r], col);
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
    let (applicable, raw, points, applicable_max, clamped) = root_numbers(set, &parts);
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

fn score_unit_with(set: &CompiledSet, unit: &UnitInput, best: &Best, trace: bool) -> UnitScores {
    let n = set.nodes.len();
    let mut nodes: Vec<NodeScore> = vec![NodeScore::default(); n];
    // Pre-order puts children after their parent: walking backwards scores children first.
    for i in (0..n).rev() {
        let node = &set.nodes[i];
        let score = if node.is_leaf() {
            let answer = unit.answers.get(&node.code);
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
                .and_then(|a| a.adjustment.as_ref())
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

/// One column's view of a node as its parent sums it: `(applicable, points, applicable max)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct View(pub bool, pub Decimal, pub Decimal);

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

/// The top level of one column, without the nodes that follow the best: regular nodes summed
/// (as a [`View`]), bonus and penalty points summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RootRest(pub View, pub Decimal, pub Decimal);

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

fn fold_sum(kids: impl Iterator<Item = (bool, Decimal, Decimal)>) -> View {
    let mut v = View(false, Decimal::ZERO, Decimal::ZERO);
    for (a, p, m) in kids {
        v.0 |= a;
        v.1 = v.1.checked_add(p).unwrap_or(Decimal::MAX);
        v.2 = v.2.checked_add(m).unwrap_or(Decimal::MAX);
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
    let view = |i: usize, col: Column| {
        let (a, p, m) = kid_view(&scores.nodes[i], col);
        View(a, p, m)
    };
    let mut nodes = Vec::new();
    for (i, node) in set.nodes.iter().enumerate() {
        if !set.depends_on_best[i] {
            continue;
        }
        let part = |col: Column| {
            if node.is_leaf() {
                let answer = unit.answers.get(&node.code);
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
        let (regular, bonus, penalty) = root_parts(set, |r| kid_view(&scores.nodes[r], col));
        let sum = |xs: &[(Decimal, bool)]| {
            xs.iter()
                .filter(|(_, d)| !*d)
                .fold(Decimal::ZERO, |s, (p, _)| s.saturating_add(*p))
        };
        RootRest(
            fold_sum(regular.iter().filter(|(_, d)| !*d).map(|(k, _)| *k)),
            sum(&bonus),
            sum(&penalty),
        )
    });
    Some(Basis { nodes, root })
}

/// Recomputes a unit's best-dependent nodes and totals from its [`Basis`] against `best`:
/// identical to [`score_unit`] on the unit's full input with that best.
pub fn rescore_basis(set: &CompiledSet, basis: &Basis, best: &Best) -> Rescored {
    let mut done: HashMap<usize, [View; 2]> = HashMap::with_capacity(basis.nodes.len());
    let mut out = Vec::with_capacity(basis.nodes.len());
    // pre-order: walking backwards settles children before their parent
    for (i, parts) in basis.nodes.iter().rev() {
        let node = &set.nodes[*i];
        let b = best.get(*i);
        let column = |k: usize| match parts[k] {
            Part::Value(v) => {
                let input = Input::Value(v);
                let best = if k == 0 { b.self_best } else { b.reviewed_best };
                let source = Source::Answer {
                    input: &input,
                    reviewer: true,
                };
                let c = leaf_column(set, node, source, true, best, false);
                View(c.applicable, c.points, c.applicable_max)
            }
            Part::Fixed(v) => v,
            Part::Rest(rest) => {
                let fresh: Vec<View> = node
                    .children
                    .iter()
                    .filter_map(|c| done.get(c).map(|v| v[k]))
                    .collect();
                let (points, app, _) = aggregate(
                    node.max_points,
                    std::iter::once((rest.1, rest.2)).chain(fresh.iter().map(|v| (v.1, v.2))),
                );
                View(rest.0 || fresh.iter().any(|v| v.0), points, app)
            }
        };
        let views = [column(0), column(1)];
        done.insert(*i, views);
        out.push((*i, views));
    }
    out.reverse();
    let total = [0, 1].map(|k| {
        let RootRest(rest, bonus, penalty) = basis.root[k];
        let mut parts: RootParts = (vec![((rest.0, rest.1, rest.2), false)], vec![], vec![]);
        if !bonus.is_zero() {
            parts.1.push((bonus, false));
        }
        if !penalty.is_zero() {
            parts.2.push((penalty, false));
        }
        for &r in &set.roots {
            let Some(v) = done.get(&r).map(|v| v[k]) else {
                continue;
            };
            match set.nodes[r].kind {
                NodeKind::Bonus if v.0 => parts.1.push((v.1, true)),
                NodeKind::Penalty if v.0 => parts.2.push((v.1, true)),
                NodeKind::Bonus | NodeKind::Penalty => {}
                _ => parts.0.push(((v.0, v.1, v.2), true)),
            }
        }
        let (applicable, _, points, app, _) = root_numbers(set, &parts);
        View(applicable, points, app)
    });
    Rescored { nodes: out, total }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator_set::SetDocument;
    use serde_json::{Value, json};

    /// Architecture guard: scoring never touches the database, the web framework, the clock,
    /// randomness or I/O. Needles are built with `concat!` so this test does not match itself.
    #[test]
    fn architecture_guard() {
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("set.rs", include_str!("set.rs")),
            ("input.rs", include_str!("input.rs")),
            ("points.rs", include_str!("points.rs")),
            ("ranking.rs", include_str!("ranking.rs")),
            ("bands.rs", include_str!("bands.rs")),
            ("proptests.rs", include_str!("proptests.rs")),
        ];
        let needles = [
            concat!("die", "sel"),
            concat!("act", "ix"),
            concat!("r2", "d2"),
            concat!("chr", "ono"),
            concat!("Utc", "::now"),
            concat!("std::", "fs"),
            concat!("std::", "net"),
            concat!("std::", "time"),
            concat!("std::", "env"),
            concat!("thread_", "rng"),
        ];
        for (file, src) in sources {
            let lower = src.to_lowercase();
            for needle in needles {
                assert!(
                    !lower.contains(&needle.to_lowercase()),
                    "scoring/{file} mentions {needle:?}: scoring must stay pure"
                );
            }
        }
    }

    pub(crate) fn doc(scale: &str, nodes: Value) -> SetDocument {
        serde_json::from_value(json!({
            "schema_version": 2,
            "code": "TEST",
            "version": 1,
            "name": "Bộ chỉ số thử",
            "target_unit_kind": "department",
            "legal_basis": {"decision_number": "1/QĐ-UBND", "issuer": "UBND tỉnh"},
            "scale": scale,
            "nodes": nodes,
        }))
        .expect("valid test document")
    }

    fn leaf(code: &str, max: &str, method: Value) -> Value {
        json!({"code": code, "kind": "component", "name": code, "max_points": max, "method": method})
    }

    fn with(mut node: Value, key: &str, value: Value) -> Value {
        node[key] = value;
        node
    }

    fn main_node(code: &str, max: &str, children: Vec<Value>) -> Value {
        json!({"code": code, "kind": "main", "name": code, "max_points": max, "children": children})
    }

    fn answer(set: &CompiledSet, code: &str, json: Value) -> LeafAnswer {
        let i = set.index_of(code).expect("known code");
        let node = &set.nodes[i];
        let method = node.method.as_ref().expect("leaf method");
        LeafAnswer {
            self_input: Some(parse_input(method, node.max_points, &json).expect("valid input")),
            has_evidence: true,
            ..LeafAnswer::default()
        }
    }

    fn unit(code: &str, answers: Vec<(&str, LeafAnswer)>) -> UnitInput {
        UnitInput {
            unit_id: Uuid::nil(),
            unit_code: code.into(),
            tags: vec![],
            answers: answers
                .into_iter()
                .map(|(c, a)| (c.to_string(), a))
                .collect(),
        }
    }

    fn node<'a>(set: &CompiledSet, s: &'a UnitScores, code: &str) -> &'a NodeScore {
        &s.nodes[set.index_of(code).expect("known code")]
    }

    fn methods_set() -> CompiledSet {
        let bands = json!([
            {"threshold": "1", "points": "5"}, {"threshold": "2", "points": "10"},
            {"threshold": "3", "points": "15"}, {"threshold": "4", "points": "20"}
        ]);
        CompiledSet::compile(&doc(
            "155",
            json!([main_node(
                "1",
                "155",
                vec![
                    leaf("ratio", "20", json!({"type": "ratio"})),
                    leaf(
                        "t60",
                        "10",
                        json!({"type": "ratio_to_target", "target": "0.8"})
                    ),
                    leaf(
                        "t92",
                        "10",
                        json!({"type": "ratio_to_target", "target": "0.8"})
                    ),
                    leaf("tiers", "20", json!({"type": "tiers", "bands": bands})),
                    leaf(
                        "choice",
                        "10",
                        json!({"type": "choice", "options": [
                        {"code": "chair", "label": "Bí thư/Chủ tịch", "points": "10"},
                        {"code": "deputy", "label": "Phó", "points": "5"},
                        {"code": "none", "label": "Không", "points": "0"}]})
                    ),
                    leaf(
                        "apps",
                        "5",
                        json!({"type": "capped_sum", "items": [
                        {"code": "app", "label": "Ứng dụng trên WAN", "points_per_unit": "1"}]})
                    ),
                    leaf("bw", "40", json!({"type": "relative_to_best"})),
                    leaf("survey", "20", json!({"type": "survey"})),
                    leaf("portal", "10", json!({"type": "boolean"})),
                    leaf("manual", "10", json!({"type": "manual"})),
                ]
            )]),
        ))
    }

    #[test]
    fn every_method_scores_the_brief_worked_examples() {
        let set = methods_set();
        let a = unit(
            "A",
            vec![
                (
                    "ratio",
                    answer(&set, "ratio", json!({"numerator": 3, "denominator": 4})),
                ),
                (
                    "t60",
                    answer(&set, "t60", json!({"numerator": 60, "denominator": 100})),
                ),
                (
                    "t92",
                    answer(&set, "t92", json!({"numerator": 92, "denominator": 100})),
                ),
                ("tiers", answer(&set, "tiers", json!({"value": 3}))),
                (
                    "choice",
                    answer(&set, "choice", json!({"option": "deputy"})),
                ),
                ("apps", answer(&set, "apps", json!({"items": {"app": 7}}))),
                ("bw", answer(&set, "bw", json!({"value": "4"}))),
                (
                    "survey",
                    answer(
                        &set,
                        "survey",
                        json!({"satisfied": 820, "respondents": 1000}),
                    ),
                ),
                ("portal", answer(&set, "portal", json!({"value": true}))),
                ("manual", answer(&set, "manual", json!({"points": "7.25"}))),
            ],
        );
        let b = unit("B", vec![("bw", answer(&set, "bw", json!({"value": 10})))]);
        let scores = score_group(&set, &[a, b]);
        let s = &scores[0];
        let expect = [
            ("ratio", dec!(15)),
            ("t60", dec!(7.5)),
            ("t92", dec!(10)),
            ("tiers", dec!(15)),
            ("choice", dec!(5)),
            ("apps", dec!(5)),
            ("bw", dec!(16)),
            ("survey", dec!(16.4)),
            ("portal", dec!(10)),
            ("manual", dec!(7.25)),
        ];
        for (code, pts) in expect {
            let n = node(&set, s, code);
            assert_eq!(n.self_points, pts, "{code} self");
            assert_eq!(n.reviewed_points, pts, "{code} reviewed");
            assert!(n.applicable && !n.adjusted, "{code}");
        }
        let r = node(&set, s, "ratio");
        assert_eq!(r.self_trace.rule, "20 × 3/4");
        assert_eq!(
            r.self_trace.inputs,
            Some(json!({"numerator": "3", "denominator": "4"}))
        );
        assert_eq!(r.self_index, Some(dec!(0.75)));
        let apps = node(&set, s, "apps");
        assert_eq!(
            (apps.self_trace.raw, apps.self_trace.capped),
            (dec!(7), dec!(5))
        );
        assert_eq!(apps.flags, vec![flags::CAPPED]);
        assert_eq!(
            node(&set, s, "bw").self_trace.rule,
            "40 × 4/10 (best of group 10)"
        );
        // 15 + 7.5 + 10 + 15 + 5 + 5 + 16 + 16.4 + 10 + 7.25 = 107.15 of 155.
        assert_eq!(s.nodes[0].reviewed_points, dec!(107.15));
        assert_eq!(s.total.reviewed_points, dec!(107.15));
        assert_eq!(s.total.applicable_max, dec!(155));
        assert_eq!(s.total.reviewed_index, Some(dec!(107.15) / dec!(155)));
        // B has only answered the bandwidth: it is the best, everything else unanswered.
        let sb = &scores[1];
        assert_eq!(node(&set, sb, "bw").reviewed_points, dec!(40));
        assert_eq!(node(&set, sb, "ratio").flags, vec![flags::UNANSWERED]);
        assert_eq!(sb.total.reviewed_points, dec!(40));
    }

    #[test]
    fn relative_to_best_lower_is_better_and_zero_best() {
        let set = CompiledSet::compile(&doc(
            "80",
            json!([main_node(
                "1",
                "80",
                vec![
                    leaf(
                        "days",
                        "40",
                        json!({"type": "relative_to_best", "direction": "lower_is_better"})
                    ),
                    leaf("mbps", "40", json!({"type": "relative_to_best"})),
                ]
            )]),
        ));
        let u = |code: &str, days: i64, mbps: i64| {
            unit(
                code,
                vec![
                    ("days", answer(&set, "days", json!({"value": days}))),
                    ("mbps", answer(&set, "mbps", json!({"value": mbps}))),
                ],
            )
        };
        let scores = score_group(&set, &[u("A", 20, 0), u("B", 10, 0), u("C", 40, 0)]);
        let days: Vec<_> = scores
            .iter()
            .map(|s| node(&set, s, "days").reviewed_points)
            .collect();
        assert_eq!(days, vec![dec!(20), dec!(40), dec!(10)]);
        // Everyone at 0 → best 0 → 0 points (nobody has anything to be compared with).
        assert!(
            scores
                .iter()
                .all(|s| node(&set, s, "mbps").reviewed_points.is_zero())
        );
        // Lower is better with a 0 value: that unit is the best, gets M; others get 0.
        let scores = score_group(&set, &[u("A", 0, 1), u("B", 5, 2)]);
        assert_eq!(node(&set, &scores[0], "days").reviewed_points, dec!(40));
        assert_eq!(node(&set, &scores[1], "days").reviewed_points, dec!(0));
        assert_eq!(node(&set, &scores[0], "mbps").reviewed_points, dec!(20));
    }

    #[test]
    fn self_and_reviewed_bests_are_separate() {
        let set = CompiledSet::compile(&doc(
            "40",
            json!([main_node(
                "1",
                "40",
                vec![leaf("bw", "40", json!({"type": "relative_to_best"}))]
            )]),
        ));
        let mut a = unit("A", vec![("bw", answer(&set, "bw", json!({"value": 10})))]);
        let b = unit("B", vec![("bw", answer(&set, "bw", json!({"value": 5})))]);
        // The reviewer finds A really has 4.
        a.answers.get_mut("bw").unwrap().adjustment = Some(Adjustment {
            inputs: Some(Input::Value(dec!(4))),
            ..Adjustment::default()
        });
        let best = group_best(&set, &[a.clone(), b.clone()]);
        assert_eq!(
            best.get(1),
            BestValues {
                self_best: Some(dec!(10)),
                reviewed_best: Some(dec!(5))
            }
        );
        let scores = score_group(&set, &[a, b]);
        let (sa, sb) = (&scores[0].nodes[1], &scores[1].nodes[1]);
        assert_eq!((sa.self_points, sa.reviewed_points), (dec!(40), dec!(32)));
        assert_eq!((sb.self_points, sb.reviewed_points), (dec!(20), dec!(40)));
        assert!(sa.adjusted && sa.flags.contains(&flags::ADJUSTED));
        assert!(scores[0].nodes[0].adjusted && scores[0].total.adjusted);
    }

    #[test]
    fn zero_denominator_rules_in_a_unit() {
        let set = CompiledSet::compile(&doc(
            "60",
            json!([main_node(
                "1",
                "60",
                vec![
                    leaf(
                        "zero",
                        "20",
                        json!({"type": "ratio", "zero_denominator": "zero"})
                    ),
                    leaf(
                        "full",
                        "20",
                        json!({"type": "survey", "zero_denominator": "full"})
                    ),
                    leaf(
                        "na",
                        "20",
                        json!({"type": "ratio", "zero_denominator": "not_applicable", "direction": "lower_is_better"})
                    ),
                ]
            )]),
        ));
        let u = unit(
            "A",
            vec![
                (
                    "zero",
                    answer(&set, "zero", json!({"numerator": 0, "denominator": 0})),
                ),
                (
                    "full",
                    answer(&set, "full", json!({"satisfied": 0, "respondents": 0})),
                ),
                (
                    "na",
                    answer(&set, "na", json!({"numerator": 0, "denominator": 0})),
                ),
            ],
        );
        let s = score_unit(&set, &u, &Best::default());
        assert_eq!(node(&set, &s, "zero").reviewed_points, dec!(0));
        assert_eq!(node(&set, &s, "full").reviewed_points, dec!(20));
        let na = node(&set, &s, "na");
        assert!(!na.applicable && !na.self_applicable);
        assert_eq!((na.applicable_max, na.reviewed_index), (dec!(0), None));
        assert_eq!(na.flags, vec![flags::NOT_APPLICABLE]);
        assert_eq!(
            na.self_trace.rule,
            "denominator = 0 → zero_denominator: not_applicable"
        );
        // Removed from the max of every ancestor: 20 of 40.
        assert_eq!(
            (s.nodes[0].reviewed_points, s.nodes[0].applicable_max),
            (dec!(20), dec!(40))
        );
        assert_eq!(s.total.applicable_max, dec!(40));
        assert_eq!(s.total.reviewed_index, Some(dec!(0.5)));
    }

    fn na_set() -> CompiledSet {
        CompiledSet::compile(&doc(
            "30",
            json!([main_node(
                "1",
                "30",
                vec![
                    {
                        let mut l = leaf("econ", "10", json!({"type": "manual"}));
                        l["applicability"] = json!({"unit_tags_any": ["kinh_te_so", "so_tttt"]});
                        l
                    },
                    {
                        let mut l = leaf("decl", "10", json!({"type": "manual"}));
                        l["applicability"] = json!({"declarable_not_applicable": true});
                        l
                    },
                    leaf("fixed", "10", json!({"type": "manual"})),
                ]
            )]),
        ))
    }

    #[test]
    fn not_applicable_by_tags_declaration_and_reviewer() {
        let set = na_set();
        let pts = |code| (code, answer(&set, code, json!({"points": 10})));
        let mut a = unit("A", vec![pts("econ"), pts("decl"), pts("fixed")]);
        let s = score_unit(&set, &a, &Best::default());
        // No tag: econ does not apply; 20 of 20.
        assert!(!node(&set, &s, "econ").applicable);
        assert_eq!(
            (s.total.reviewed_points, s.total.applicable_max),
            (dec!(20), dec!(20))
        );
        a.tags = vec!["so_tttt".into()];
        let s = score_unit(&set, &a, &Best::default());
        assert_eq!(
            (s.total.reviewed_points, s.total.applicable_max),
            (dec!(30), dec!(30))
        );

        // Declared N/A is honoured only where declarable.
        a.answers.get_mut("decl").unwrap().self_not_applicable = true;
        a.answers.get_mut("fixed").unwrap().self_not_applicable = true;
        let s = score_unit(&set, &a, &Best::default());
        let decl = node(&set, &s, "decl");
        assert!(!decl.applicable && !decl.self_applicable);
        assert_eq!(
            decl.reviewed_trace.rule,
            "not applicable: declared by the unit"
        );
        assert!(node(&set, &s, "fixed").applicable);
        assert_eq!(
            (s.total.reviewed_points, s.total.applicable_max),
            (dec!(20), dec!(20))
        );

        // The reviewer overrules: applicable after all (reviewed), still N/A in self.
        a.answers.get_mut("decl").unwrap().adjustment = Some(Adjustment {
            not_applicable: Some(false),
            ..Adjustment::default()
        });
        // … and declares another one not applicable, though the unit may not.
        a.answers.get_mut("fixed").unwrap().adjustment = Some(Adjustment {
            not_applicable: Some(true),
            ..Adjustment::default()
        });
        let s = score_unit(&set, &a, &Best::default());
        let decl = node(&set, &s, "decl");
        assert!(decl.applicable && !decl.self_applicable);
        assert_eq!(decl.reviewed_points, dec!(10));
        assert_eq!(
            decl.flags,
            vec![flags::NOT_APPLICABLE_OVERRULED, flags::ADJUSTED]
        );
        let fixed = node(&set, &s, "fixed");
        assert!(!fixed.applicable && fixed.self_applicable);
        assert_eq!(
            fixed.flags,
            vec![
                flags::NOT_APPLICABLE,
                flags::NOT_APPLICABLE_OVERRULED,
                flags::ADJUSTED
            ]
        );
        assert_eq!(
            (s.total.reviewed_points, s.total.applicable_max),
            (dec!(20), dec!(20))
        );
        assert_eq!(
            (s.total.self_points, s.total.self_applicable_max),
            (dec!(20), dec!(20))
        );
        // A reviewer cannot make a tag-excluded node apply.
        a.tags.clear();
        a.answers.get_mut("econ").unwrap().adjustment = Some(Adjustment {
            not_applicable: Some(false),
            ..Adjustment::default()
        });
        let s = score_unit(&set, &a, &Best::default());
        assert!(!node(&set, &s, "econ").applicable);
    }

    #[test]
    fn all_children_not_applicable_makes_the_parent_not_applicable() {
        let set = na_set();
        let s = score_unit(&set, &unit("A", vec![]), &Best::default());
        // econ N/A (no tag), decl and fixed unanswered.
        assert_eq!(
            (s.nodes[0].reviewed_points, s.nodes[0].applicable_max),
            (dec!(0), dec!(20))
        );
        assert_eq!(node(&set, &s, "decl").flags, vec![flags::UNANSWERED]);
        let only = CompiledSet::compile(&doc(
            "10",
            json!([main_node(
                "1",
                "10",
                vec![{
                    let mut l = leaf("econ", "10", json!({"type": "manual"}));
                    l["applicability"] = json!({"unit_tags_any": ["kinh_te_so"]});
                    l
                }]
            )]),
        ));
        let s = score_unit(&only, &unit("A", vec![]), &Best::default());
        assert!(!s.nodes[0].applicable && !s.total.applicable);
        assert_eq!(
            (s.total.applicable_max, s.total.reviewed_index),
            (dec!(0), None)
        );
        assert!(s.total.flags.contains(&flags::NOT_APPLICABLE));
    }

    #[test]
    fn evidence_required_earns_self_points_only_with_evidence_or_explanation() {
        let set = CompiledSet::compile(&doc(
            "20",
            json!([main_node(
                "1",
                "20",
                vec![{
                    let mut l = leaf("1.1", "20", json!({"type": "ratio"}));
                    l["evidence"] = json!("required");
                    l
                }]
            )]),
        ));
        let mut a = answer(&set, "1.1", json!({"numerator": 3, "denominator": 4}));
        a.has_evidence = false;
        let mut u = unit("A", vec![("1.1", a)]);
        let s = score_unit(&set, &u, &Best::default());
        let n = &s.nodes[1];
        assert_eq!((n.self_points, n.reviewed_points), (dec!(0), dec!(0)));
        assert_eq!(n.applicable_max, dec!(20));
        assert_eq!(n.flags, vec![flags::EVIDENCE_MISSING]);
        assert_eq!(
            n.self_trace.rule,
            "evidence required, none attached → 0 (would be 20 × 3/4 = 15)"
        );
        // An explanation (giải trình) is enough.
        u.answers.get_mut("1.1").unwrap().has_explanation = true;
        assert_eq!(
            score_unit(&set, &u, &Best::default()).nodes[1].self_points,
            dec!(15)
        );
        // A reviewer's inputs are taken as given, but self points still need the evidence.
        let a = u.answers.get_mut("1.1").unwrap();
        a.has_explanation = false;
        a.adjustment = Some(Adjustment {
            inputs: Some(Input::Ratio {
                numerator: dec!(2),
                denominator: dec!(4),
            }),
            ..Adjustment::default()
        });
        let s = score_unit(&set, &u, &Best::default());
        assert_eq!(
            (s.nodes[1].self_points, s.nodes[1].reviewed_points),
            (dec!(0), dec!(10))
        );
        assert_eq!(
            s.nodes[1].flags,
            vec![flags::EVIDENCE_MISSING, flags::ADJUSTED]
        );
    }

    #[test]
    fn reviewer_points_win_over_inputs_and_are_clamped_and_rounded() {
        let mut d = doc(
            "20",
            json!([main_node(
                "1",
                "20",
                vec![leaf("1.1", "20", json!({"type": "ratio"}))]
            )]),
        );
        d.points_precision = Some(2);
        let set = CompiledSet::compile(&d);
        let mut u = unit(
            "A",
            vec![(
                "1.1",
                answer(&set, "1.1", json!({"numerator": 1, "denominator": 3})),
            )],
        );
        let s = score_unit(&set, &u, &Best::default());
        // 20 × 1/3 = 6.666… → 6.67 (points_precision 2); index unrounded.
        assert_eq!(s.nodes[1].self_points, dec!(6.67));
        assert_eq!(s.nodes[1].self_trace.raw, dec!(20) / dec!(3));
        assert_eq!(s.total.reviewed_index, Some(dec!(6.67) / dec!(20)));
        u.answers.get_mut("1.1").unwrap().adjustment = Some(Adjustment {
            inputs: Some(Input::Ratio {
                numerator: dec!(3),
                denominator: dec!(4),
            }),
            points: Some(dec!(25.555)),
            not_applicable: None,
        });
        let s = score_unit(&set, &u, &Best::default());
        let n = &s.nodes[1];
        assert_eq!((n.self_points, n.reviewed_points), (dec!(6.67), dec!(20)));
        assert_eq!(n.reviewed_trace.rule, "set by the reviewer: 25.555");
        assert_eq!(
            n.reviewed_trace.inputs,
            Some(json!({"numerator": "3", "denominator": "4"}))
        );
        assert_eq!(n.flags, vec![flags::ADJUSTED, flags::CAPPED]);
        u.answers.get_mut("1.1").unwrap().adjustment = Some(Adjustment {
            points: Some(dec!(12.345)),
            ..Adjustment::default()
        });
        assert_eq!(
            score_unit(&set, &u, &Best::default()).nodes[1].reviewed_points,
            dec!(12.35)
        );
    }

    #[test]
    fn cap_policy_caps_points_and_applicable_max() {
        let set = CompiledSet::compile(&doc(
            "20",
            json!([
                {"code": "1", "kind": "main", "name": "Cap", "max_points": "10", "children_policy": "cap",
                 "children": [
                    leaf("a", "8", json!({"type": "manual"})),
                    leaf("b", "8", json!({"type": "manual"})),
                    with(leaf("c", "8", json!({"type": "manual"})), "applicability", json!({"unit_tags_any": ["x"]})),
                 ]},
                main_node("2", "10", vec![leaf("d", "10", json!({"type": "manual"}))]),
            ]),
        ));
        let pts = |code, p: &str| (code, answer(&set, code, json!({"points": p})));
        let s = score_unit(
            &set,
            &unit("A", vec![pts("a", "8"), pts("b", "5"), pts("d", "4")]),
            &Best::default(),
        );
        let capped = &s.nodes[0];
        assert_eq!(
            (capped.reviewed_points, capped.applicable_max),
            (dec!(10), dec!(10))
        );
        assert_eq!(capped.reviewed_trace.rule, "min(10, 8 + 5)");
        assert_eq!(capped.reviewed_trace.raw, dec!(13));
        assert_eq!(capped.flags, vec![flags::CAPPED]);
        assert_eq!(s.total.reviewed_points, dec!(14));
        assert_eq!(s.total.reviewed_trace.rule, "10 + 4");
        // A declared not applicable: only a (8) is left → applicable max min(10, 8) = 8.
        let set2 = CompiledSet::compile(&doc(
            "10",
            json!([{"code": "1", "kind": "main", "name": "Cap", "max_points": "10", "children_policy": "cap",
            "children": [
               leaf("a", "8", json!({"type": "manual"})),
               with(leaf("b", "8", json!({"type": "manual"})), "applicability", json!({"declarable_not_applicable": true})),
            ]}]),
        ));
        let declared = LeafAnswer {
            self_not_applicable: true,
            ..LeafAnswer::default()
        };
        let u = unit(
            "C",
            vec![
                ("a", answer(&set2, "a", json!({"points": 3}))),
                ("b", declared),
            ],
        );
        let s = score_unit(&set2, &u, &Best::default());
        assert_eq!(
            (s.nodes[0].reviewed_points, s.nodes[0].applicable_max),
            (dec!(3), dec!(8))
        );
        assert_eq!(s.total.reviewed_index, Some(dec!(0.375)));
    }

    fn bonus_set() -> CompiledSet {
        CompiledSet::compile(&doc(
            "100",
            json!([
                main_node("1", "100", vec![leaf("1.1", "100", json!({"type": "manual"}))]),
                {"code": "B", "kind": "bonus", "name": "Điểm thưởng", "max_points": "20", "method": {"type": "manual"}},
                {"code": "P", "kind": "penalty", "name": "Điểm trừ", "max_points": "20", "method": {"type": "manual"}},
            ]),
        ))
    }

    #[test]
    fn bonus_and_penalty_apply_at_the_root_clamped_to_zero_and_the_scale() {
        let set = bonus_set();
        let pts = |code, p: i64| (code, answer(&set, code, json!({"points": p})));
        let s = score_unit(
            &set,
            &unit("A", vec![pts("1.1", 90), pts("B", 15), pts("P", 2)]),
            &Best::default(),
        );
        assert_eq!(s.total.reviewed_points, dec!(100));
        assert_eq!(s.total.reviewed_trace.raw, dec!(103));
        assert_eq!(s.total.reviewed_trace.rule, "clamp(90 + 15 − 2, 0, 100)");
        assert_eq!(s.total.applicable_max, dec!(100));
        assert_eq!(s.total.flags, vec![flags::CAPPED]);
        assert_eq!(s.total.reviewed_index, Some(dec!(1)));
        let p = node(&set, &s, "P");
        assert_eq!(
            (p.reviewed_points, p.reviewed_trace.contribution),
            (dec!(2), dec!(-2))
        );
        assert_eq!(node(&set, &s, "B").reviewed_trace.contribution, dec!(15));

        let s = score_unit(
            &set,
            &unit("B", vec![pts("1.1", 3), pts("P", 5)]),
            &Best::default(),
        );
        assert_eq!(
            (s.total.reviewed_points, s.total.reviewed_trace.raw),
            (dec!(0), dec!(-2))
        );
        let s = score_unit(
            &set,
            &unit("C", vec![pts("1.1", 50), pts("B", 5), pts("P", 10)]),
            &Best::default(),
        );
        assert_eq!(s.total.reviewed_points, dec!(45));
        assert_eq!(s.total.reviewed_trace.rule, "50 + 5 − 10");
        assert!(s.total.flags.is_empty());
    }

    #[test]
    fn bonus_never_lifts_a_unit_above_its_applicable_max() {
        let set = CompiledSet::compile(&doc(
            "100",
            json!([
                main_node("1", "100", vec![
                    leaf("1.1", "60", json!({"type": "manual"})),
                    leaf("1.2", "40", json!({"type": "ratio", "zero_denominator": "not_applicable"})),
                ]),
                {"code": "B", "kind": "bonus", "name": "Thưởng", "max_points": "10", "method": {"type": "manual"}},
            ]),
        ));
        let u = unit(
            "A",
            vec![
                ("1.1", answer(&set, "1.1", json!({"points": 55}))),
                (
                    "1.2",
                    answer(&set, "1.2", json!({"numerator": 0, "denominator": 0})),
                ),
                ("B", answer(&set, "B", json!({"points": 10}))),
            ],
        );
        let s = score_unit(&set, &u, &Best::default());
        assert_eq!(
            (s.total.reviewed_points, s.total.applicable_max),
            (dec!(60), dec!(60))
        );
        assert_eq!(node(&set, &s, "B").applicable_max, dec!(10));
    }

    fn national_set() -> CompiledSet {
        let mains = [
            ("1", "Nhận thức số", "100"),
            ("2", "Thể chế số", "100"),
            ("3", "Hạ tầng số", "100"),
            ("4", "Nhân lực số", "100"),
            ("5", "An toàn thông tin mạng", "100"),
            ("6", "Đô thị thông minh", "0"),
            ("7", "Hoạt động chính quyền số", "200"),
            ("8", "Hoạt động kinh tế số", "150"),
            ("9", "Hoạt động xã hội số", "150"),
        ];
        let leaf_main = |(code, name, max): (&str, &str, &str)| json!({"code": code, "kind": "main", "name": name, "max_points": max, "method": {"type": "manual"}});
        let foundation: Vec<Value> = mains[..6].iter().copied().map(leaf_main).collect();
        let activity: Vec<Value> = mains[6..].iter().copied().map(leaf_main).collect();
        let mut d = doc(
            "1000",
            json!([
                {"code": "NT", "kind": "group", "name": "Nền tảng chung", "max_points": "500", "children": foundation},
                {"code": "HD", "kind": "group", "name": "Hoạt động", "max_points": "500", "children": activity},
            ]),
        );
        d.pillars = serde_json::from_value(json!([
            {"code": "CQS", "name": "Chính quyền số", "main_indicators": ["1", "2", "3", "4", "5", "6", "7"]},
            {"code": "KTS", "name": "Kinh tế số", "main_indicators": ["1", "2", "3", "4", "5", "6", "8"]},
        ]))
        .unwrap();
        CompiledSet::compile(&d)
    }

    #[test]
    fn national_aggregation_reproduces_da_nang_2022() {
        let set = national_set();
        let values = [
            ("1", dec!(1.0000)),
            ("2", dec!(0.9000)),
            ("3", dec!(0.8253)),
            ("4", dec!(0.8487)),
            ("5", dec!(0.7578)),
            ("6", dec!(0)),
            ("7", dec!(0.8575)),
            ("8", dec!(0.7836)),
            ("9", dec!(0.5197)),
        ];
        let answers = values
            .iter()
            .map(|(code, v)| {
                let max = set.nodes[set.index_of(code).unwrap()].max_points;
                (
                    *code,
                    answer(&set, code, json!({"points": (v * max).to_string()})),
                )
            })
            .collect();
        let scores = score_group(&set, &[unit("DNG", answers)]);
        let s = &scores[0];
        assert_eq!(s.total.reviewed_points, dec!(800.175));
        assert_eq!(s.total.applicable_max, dec!(1000));
        let index = s.total.reviewed_index.unwrap();
        assert_eq!(index, dec!(0.800175));
        assert_eq!(ranking::round_index(index, set.precision), dec!(0.8002));
        let smart_city = node(&set, s, "6");
        assert_eq!(
            (smart_city.reviewed_points, smart_city.reviewed_index),
            (dec!(0), None)
        );
        assert_eq!(smart_city.flags, vec![flags::NOT_SCORED]);
        assert_eq!(node(&set, s, "NT").reviewed_points, dec!(433.18));
        assert_eq!(node(&set, s, "3").reviewed_index, Some(dec!(0.8253)));
        // Pillar CQS ≈ (433.18 + 171.5) / 700 = 0.8638 (docs/scoring.md).
        // the scope values rankings compare, as the service stores them
        let mains: Vec<_> = set
            .main_indicators()
            .into_iter()
            .map(|m| (s.nodes[m].reviewed_points, s.nodes[m].applicable_max))
            .collect();
        let values = ranking::scope_values(
            &set,
            (s.total.reviewed_points, s.total.applicable_max),
            &mains,
        );
        assert_eq!(values[0].index, Some(dec!(0.8002)));
        let cqs = values[1];
        assert_eq!((cqs.points, cqs.applicable_max), (dec!(604.68), dec!(700)));
        assert_eq!(cqs.index, Some(dec!(0.8638)));
        let main_6 = 1
            + set.pillars.len()
            + set
                .main_indicators()
                .iter()
                .position(|&m| m == set.index_of("6").unwrap())
                .unwrap();
        assert_eq!(values[main_6].index, None);
    }

    #[test]
    fn unit_scores_serialise_decimals_as_strings() {
        let set = bonus_set();
        let s = score_unit(&set, &unit("A", vec![]), &Best::default());
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["total"]["max_points"], "100");
        assert_eq!(j["nodes"][1]["flags"], json!(["UNANSWERED"]));
        assert_eq!(j["nodes"][1]["reviewed_index"], "0");
    }
}
