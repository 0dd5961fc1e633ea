//! Property tests of scoring over random small indicator sets (random trees, methods, maxima
//! that add up, optional bonus/penalty) and random answers, adjustments and applicability.
//! Answers come from a seeded SplitMix64 so that every case is reproducible from its seeds.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use super::ranking::{self, round_index};
use super::*;
use crate::domain::indicator_set::{SetDocument, ZeroDenominator};

#[derive(Debug, Clone)]
enum Shape {
    Leaf {
        halves: u8,
        method: u8,
        lower: bool,
        zero: u8,
        tag: u8,
        declarable: bool,
        evidence: bool,
    },
    Inner {
        cap: bool,
        quarters: u8,
        children: Vec<Shape>,
    },
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = (
        0u8..=40,
        0u8..9,
        any::<bool>(),
        0u8..4,
        0u8..3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(halves, method, lower, zero, tag, declarable, evidence)| Shape::Leaf {
                halves,
                method,
                lower,
                zero,
                tag,
                declarable,
                evidence,
            },
        );
    leaf.prop_recursive(3, 24, 4, |inner| {
        (any::<bool>(), 1u8..=4, prop::collection::vec(inner, 1..4)).prop_map(
            |(cap, quarters, children)| Shape::Inner {
                cap,
                quarters,
                children,
            },
        )
    })
}

fn d(v: Decimal) -> String {
    v.to_string()
}

fn method_json(method: u8, lower: bool, zero: u8, max: Decimal) -> Value {
    let direction = if lower {
        "lower_is_better"
    } else {
        "higher_is_better"
    };
    let zero = ["reject", "zero", "full", "not_applicable"][usize::from(zero % 4)];
    let q = |k: i64| d(max * Decimal::from(k) / Decimal::from(4));
    match method {
        0 => json!({"type": "ratio", "direction": direction, "zero_denominator": zero}),
        1 => json!({"type": "ratio_to_target", "target": if lower { "0.2" } else { "0.8" },
                    "direction": direction, "zero_denominator": zero}),
        2 => json!({"type": "tiers", "direction": direction, "bands": [
            {"threshold": "2", "points": q(3)}, {"threshold": "0", "points": q(1)},
            {"threshold": "1", "points": q(2)}, {"threshold": "4", "points": q(4)},
            {"threshold": "5", "points": d(max + Decimal::ONE)}]}),
        3 => json!({"type": "boolean", "direction": direction}),
        4 => json!({"type": "choice", "options": [
            {"code": "hi", "label": "Cao", "points": q(4)}, {"code": "mid", "label": "Vừa", "points": q(2)},
            {"code": "none", "label": "Không", "points": "0"},
            {"code": "over", "label": "Quá", "points": d(max + Decimal::ONE)}]}),
        5 => json!({"type": "capped_sum", "items": [
            {"code": "x", "label": "X", "points_per_unit": "1"},
            {"code": "y", "label": "Y", "points_per_unit": "2", "cap": q(2)}]}),
        6 => json!({"type": "relative_to_best", "direction": direction}),
        7 => json!({"type": "survey", "zero_denominator": zero}),
        _ => json!({"type": "manual"}),
    }
}

fn build(shape: &Shape, code: String, depth: usize) -> (Value, Decimal) {
    let kind = if depth == 0 { "main" } else { "component" };
    match shape {
        Shape::Leaf {
            halves,
            method,
            lower,
            zero,
            tag,
            declarable,
            evidence,
        } => {
            let max = Decimal::from(*halves) / Decimal::TWO;
            let mut node = json!({"code": code, "kind": kind, "name": code, "max_points": d(max),
                                  "method": method_json(*method, *lower, *zero, max)});
            let mut app = serde_json::Map::new();
            if *tag > 0 {
                app.insert("unit_tags_any".into(), json!([format!("t{tag}")]));
            }
            if *declarable {
                app.insert("declarable_not_applicable".into(), json!(true));
            }
            node["applicability"] = Value::Object(app);
            if *evidence {
                node["evidence"] = json!("required");
            }
            (node, max)
        }
        Shape::Inner {
            cap,
            quarters,
            children,
        } => {
            let mut sum = Decimal::ZERO;
            let mut kids = Vec::new();
            for (k, c) in children.iter().enumerate() {
                let (v, m) = build(c, format!("{code}.{k}"), depth + 1);
                sum += m;
                kids.push(v);
            }
            let (max, policy) = if *cap {
                (sum * Decimal::from(*quarters) / Decimal::from(4), "cap")
            } else {
                (sum, "sum")
            };
            let node = json!({"code": code, "kind": kind, "name": code, "max_points": d(max),
                              "children_policy": policy, "children": kids});
            (node, max)
        }
    }
}

#[derive(Debug, Clone)]
struct SetSpec {
    tops: Vec<Shape>,
    bonus: bool,
    penalty: bool,
    points_precision: Option<u32>,
}

fn set_spec() -> impl Strategy<Value = SetSpec> {
    (
        prop::collection::vec(shape(), 1..4),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0u32..3),
    )
        .prop_map(|(tops, bonus, penalty, points_precision)| SetSpec {
            tops,
            bonus,
            penalty,
            points_precision,
        })
}

fn document(spec: &SetSpec) -> SetDocument {
    let mut scale = Decimal::ZERO;
    let mut nodes = Vec::new();
    let mut mains = Vec::new();
    for (k, s) in spec.tops.iter().enumerate() {
        let (v, m) = build(s, format!("n{k}"), 0);
        scale += m;
        mains.push(format!("n{k}"));
        nodes.push(v);
    }
    for (on, code, kind) in [
        (spec.bonus, "BONUS", "bonus"),
        (spec.penalty, "PENALTY", "penalty"),
    ] {
        if on {
            nodes.push(
                json!({"code": code, "kind": kind, "name": code, "max_points": "5",
                              "method": {"type": "manual"}}),
            );
        }
    }
    let mut doc = super::tests::doc(&d(scale), Value::Array(nodes));
    doc.points_precision = spec.points_precision;
    doc.pillars =
        serde_json::from_value(json!([{"code": "P", "name": "P", "main_indicators": mains}]))
            .expect("pillar");
    doc
}

/// The same document in flat form: every node at the top level with `parent`, listed
/// children-first (post-order), to show that order in `nodes` does not matter.
fn flatten(doc: &SetDocument) -> SetDocument {
    fn walk(
        n: &crate::domain::indicator_set::Node,
        parent: Option<&str>,
        out: &mut Vec<crate::domain::indicator_set::Node>,
    ) {
        for c in &n.children {
            walk(c, Some(&n.code), out);
        }
        let mut flat = n.clone();
        flat.children.clear();
        flat.parent = parent.map(str::to_string);
        out.push(flat);
    }
    let mut out = Vec::new();
    for n in &doc.nodes {
        walk(n, None, &mut out);
    }
    SetDocument {
        nodes: out,
        ..doc.clone()
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, k: u64, n: u64) -> bool {
        self.below(n) < k
    }
    fn dec(&mut self, n: u64) -> Decimal {
        Decimal::from(self.below(n + 1))
    }
}

fn random_input(rng: &mut Rng, node: &CNode) -> Input {
    let max = node.max_points;
    let fraction = |rng: &mut Rng, z: &ZeroDenominator| {
        let mut b = rng.below(11);
        if b == 0 && *z == ZeroDenominator::Reject {
            b = 1;
        }
        let a = rng.below(b + 1);
        (Decimal::from(a), Decimal::from(b))
    };
    match node.method.as_ref().unwrap_or(&Method::Manual) {
        Method::Ratio {
            zero_denominator, ..
        }
        | Method::RatioToTarget {
            zero_denominator, ..
        } => {
            let (numerator, denominator) = fraction(rng, zero_denominator);
            Input::Ratio {
                numerator,
                denominator,
            }
        }
        Method::Survey { zero_denominator } => {
            let (satisfied, respondents) = fraction(rng, zero_denominator);
            Input::Survey {
                satisfied,
                respondents,
            }
        }
        Method::Tiers { .. } | Method::RelativeToBest { .. } => {
            Input::Value(rng.dec(12) / Decimal::TWO)
        }
        Method::Boolean { .. } => Input::Bool(rng.chance(1, 2)),
        Method::Choice { options } => {
            let k = usize::try_from(rng.below(options.len() as u64)).unwrap_or(0);
            Input::Choice(options[k].code.clone())
        }
        Method::CappedSum { items } => {
            let mut out = BTreeMap::new();
            for item in items {
                if rng.chance(2, 3) {
                    out.insert(item.code.clone(), rng.dec(5) / Decimal::TWO);
                }
            }
            Input::Items(out)
        }
        Method::Manual => Input::Points(max * rng.dec(4) / Decimal::from(4)),
    }
}

fn random_unit(set: &CompiledSet, seed: u64, k: usize) -> UnitInput {
    let mut rng = Rng(seed);
    let tags = ["t1", "t2"]
        .into_iter()
        .filter(|_| rng.chance(1, 2))
        .map(str::to_string)
        .collect();
    let mut answers = Answers::default();
    for leaf in set.leaves() {
        let node = &set.nodes[leaf];
        if rng.chance(1, 6) {
            continue;
        }
        let adjustment = rng.chance(1, 3).then(|| {
            Box::new(Adjustment {
                inputs: rng.chance(1, 2).then(|| random_input(&mut rng, node)),
                // Deliberately out of range sometimes: scoring clamps.
                points: rng.chance(1, 3).then(|| {
                    node.max_points * rng.dec(6) / Decimal::from(4) - Decimal::ONE / Decimal::TWO
                }),
                not_applicable: rng.chance(1, 3).then(|| rng.chance(1, 2)),
            })
        });
        let answer = LeafAnswer {
            self_input: rng.chance(5, 6).then(|| random_input(&mut rng, node)),
            self_not_applicable: rng.chance(1, 6),
            has_evidence: rng.chance(1, 2),
            has_explanation: rng.chance(1, 4),
            adjustment,
        };
        answers.insert(leaf, answer);
    }
    UnitInput {
        unit_id: Uuid::from_u128(k as u128),
        unit_code: format!("U{k}"),
        tags,
        answers,
    }
}

type Cols = (bool, Decimal, Decimal);

fn columns(s: &NodeScore) -> [Cols; 2] {
    [
        (s.self_applicable, s.self_points, s.self_applicable_max),
        (s.applicable, s.reviewed_points, s.applicable_max),
    ]
}

fn check_unit(set: &CompiledSet, scores: &UnitScores) -> Result<(), TestCaseError> {
    prop_assert_eq!(scores.nodes.len(), set.nodes.len());
    for (i, node) in set.nodes.iter().enumerate() {
        let s = &scores.nodes[i];
        let max = node.max_points;
        prop_assert_eq!(s.max_points, max);
        for (c, (applicable, points, app)) in columns(s).into_iter().enumerate() {
            prop_assert!(
                Decimal::ZERO <= points,
                "node {} col {}: {} < 0",
                node.code,
                c,
                points
            );
            prop_assert!(
                points <= app,
                "node {} col {}: {} > app {}",
                node.code,
                c,
                points,
                app
            );
            prop_assert!(
                app <= max,
                "node {} col {}: app {} > max {}",
                node.code,
                c,
                app,
                max
            );
            if !applicable {
                prop_assert!(
                    points.is_zero() && app.is_zero(),
                    "node {} n/a but counted",
                    node.code
                );
            }
            let index = if c == 0 {
                s.self_index
            } else {
                s.reviewed_index
            };
            if app > Decimal::ZERO {
                prop_assert_eq!(index, Some(points / app));
            } else {
                prop_assert_eq!(index, None);
            }
            if node.is_leaf() {
                if let Some(dp) = set.points_precision {
                    prop_assert!(points == round_index(points, dp) || points == max);
                }
            } else {
                // in summation order (children that do not follow the best first), as the
                // scorer adds them: sums of 28-digit decimals depend on the order
                let kids: Vec<Cols> = in_summation_order(set, &node.children)
                    .map(|k| columns(&scores.nodes[k])[c])
                    .collect();
                let sum: Decimal = kids.iter().map(|k| k.1).sum();
                let sum_app: Decimal = kids.iter().map(|k| k.2).sum();
                prop_assert_eq!(
                    points,
                    sum.min(max),
                    "node {}: parent ≠ capped sum",
                    &node.code
                );
                prop_assert_eq!(app, sum_app.min(max));
                prop_assert_eq!(applicable, kids.iter().any(|k| k.0));
            }
        }
    }
    for c in 0..2 {
        let (mut sum, mut app, mut bonus, mut penalty) =
            (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for r in in_summation_order(set, &set.roots) {
            let (_, p, a) = columns(&scores.nodes[r])[c];
            match set.nodes[r].kind {
                NodeKind::Bonus => bonus += p,
                NodeKind::Penalty => penalty += p,
                _ => {
                    sum += p;
                    app += a;
                }
            }
        }
        let app = app.min(set.scale);
        let (_, points, total_app) = columns(&scores.total)[c];
        prop_assert_eq!(total_app, app);
        prop_assert_eq!(points, (sum + bonus - penalty).max(Decimal::ZERO).min(app));
        prop_assert!(total_app <= set.scale);
    }
    Ok(())
}

/// `nodes` in the scorer's summation order: those that do not follow the group best first,
/// then those that do, each in document order.
fn in_summation_order<'a>(
    set: &'a CompiledSet,
    nodes: &'a [usize],
) -> impl Iterator<Item = usize> + 'a {
    let pick = move |want: bool| {
        nodes
            .iter()
            .copied()
            .filter(move |&n| set.depends_on_best[n] == want)
    };
    pick(false).chain(pick(true))
}

fn units_for(set: &CompiledSet, seeds: &[u64]) -> Vec<UnitInput> {
    seeds
        .iter()
        .enumerate()
        .map(|(k, s)| random_unit(set, *s, k))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn points_stay_within_bounds_and_parents_are_capped_sums(
        spec in set_spec(),
        seeds in prop::collection::vec(any::<u64>(), 1..5),
    ) {
        let set = CompiledSet::compile(&document(&spec));
        let units = units_for(&set, &seeds);
        let main_idx = set.main_indicators();
        for scores in score_group(&set, &units) {
            check_unit(&set, &scores)?;
            // every scope value a ranking compares, as the service computes it
            let mains: Vec<_> = main_idx
                .iter()
                .map(|&m| (scores.nodes[m].reviewed_points, scores.nodes[m].applicable_max))
                .collect();
            let overall = (scores.total.reviewed_points, scores.total.applicable_max);
            let values = ranking::scope_values(&set, overall, &mains);
            prop_assert_eq!(values.len(), ranking::scopes(&set).len());
            for (pos, v) in values.iter().enumerate() {
                prop_assert!(Decimal::ZERO <= v.points && v.points <= v.applicable_max);
                prop_assert_eq!(v.index.is_some(), v.applicable_max > Decimal::ZERO);
                prop_assert_eq!(*v, ranking::scope_value_at(&set, &main_idx, overall, &mains, pos));
            }
        }
    }

    #[test]
    fn score_group_equals_scoring_units_one_at_a_time(
        spec in set_spec(),
        seeds in prop::collection::vec(any::<u64>(), 1..5),
    ) {
        let set = CompiledSet::compile(&document(&spec));
        let units = units_for(&set, &seeds);
        let group = score_group(&set, &units);
        let best = group_best(&set, &units);
        let one_by_one: Vec<UnitScores> = units.iter().map(|u| score_unit(&set, u, &best)).collect();
        prop_assert_eq!(&group, &one_by_one);
        // Order of the group does not matter.
        let mut reversed = units.clone();
        reversed.reverse();
        let mut again = score_group(&set, &reversed);
        again.reverse();
        prop_assert_eq!(&group, &again);
        // Recomputing from scratch is byte-identical.
        let json = |g: &Vec<UnitScores>| serde_json::to_string(g).expect("serialise");
        prop_assert_eq!(json(&group), json(&score_group(&set, &units)));
    }

    /// A unit re-evaluated from its basis against another group best gives the numbers of a
    /// full rescore with that best, to the digit (same value and same scale), including after
    /// a JSON round trip of the basis (how it is stored).
    #[test]
    fn basis_rescoring_equals_full_rescoring(
        spec in set_spec(),
        seeds in prop::collection::vec(any::<u64>(), 2..6),
    ) {
        let set = CompiledSet::compile(&document(&spec));
        let units = units_for(&set, &seeds);
        // "before": the best of all but the last unit; "after": of all units
        let before = group_best(&set, &units[..units.len() - 1]);
        let after = group_best(&set, &units);
        for u in &units {
            let scored = score_unit(&set, u, &before);
            let Some(basis) = basis_of(&set, u, &scored) else {
                prop_assert!(!set.has_relative_to_best());
                continue;
            };
            let text = serde_json::to_string(&basis).expect("serialise");
            let basis: Basis = serde_json::from_str(&text).expect("parse");
            for best in [&before, &after] {
                let full = score_unit(&set, u, best);
                let fresh = rescore_basis(&set, &basis, best);
                let digits =
                    |v: &View| format!("{} {} {}", v.applicable, v.points, v.applicable_max);
                let t = &full.total;
                prop_assert_eq!(
                    digits(&fresh.total[0]),
                    digits(&View::new(t.self_applicable, t.self_points, t.self_applicable_max))
                );
                prop_assert_eq!(
                    digits(&fresh.total[1]),
                    digits(&View::new(t.applicable, t.reviewed_points, t.applicable_max))
                );
                for (i, views) in &fresh.nodes {
                    let n = &full.nodes[*i];
                    prop_assert!(set.depends_on_best[*i]);
                    prop_assert_eq!(
                        digits(&views[0]),
                        digits(&View::new(n.self_applicable, n.self_points, n.self_applicable_max))
                    );
                    prop_assert_eq!(
                        digits(&views[1]),
                        digits(&View::new(n.applicable, n.reviewed_points, n.applicable_max))
                    );
                }
                prop_assert_eq!(
                    fresh.nodes.len(),
                    set.depends_on_best.iter().filter(|d| **d).count()
                );
            }
        }
    }

    #[test]
    fn numbers_only_scoring_gives_the_same_numbers_and_flags(
        spec in set_spec(),
        seeds in prop::collection::vec(any::<u64>(), 1..4),
    ) {
        let set = CompiledSet::compile(&document(&spec));
        let units = units_for(&set, &seeds);
        let best = group_best(&set, &units);
        let strip = |mut s: UnitScores| {
            for n in s.nodes.iter_mut().chain(std::iter::once(&mut s.total)) {
                for t in [&mut n.self_trace, &mut n.reviewed_trace] {
                    t.rule.clear();
                    t.inputs = None;
                }
            }
            s
        };
        for u in &units {
            prop_assert_eq!(
                strip(score_unit(&set, u, &best)),
                strip(score_unit_numbers(&set, u, &best))
            );
        }
    }

    #[test]
    fn nested_and_flat_documents_compile_and_score_identically(
        spec in set_spec(),
        seed in any::<u64>(),
    ) {
        let doc = document(&spec);
        let nested = CompiledSet::compile(&doc);
        let flat = CompiledSet::compile(&flatten(&doc));
        prop_assert_eq!(&nested, &flat);
        let units = units_for(&nested, &[seed]);
        prop_assert_eq!(score_group(&nested, &units), score_group(&flat, &units));
    }

    #[test]
    fn every_answer_round_trips_through_json(spec in set_spec(), seed in any::<u64>()) {
        let set = CompiledSet::compile(&document(&spec));
        let mut rng = Rng(seed);
        for leaf in set.leaves() {
            let node = &set.nodes[leaf];
            let method = node.method.as_ref().unwrap_or(&Method::Manual);
            let input = random_input(&mut rng, node);
            let json = input_to_json(&input);
            let text = serde_json::to_vec(&json).expect("serialised");
            let read = parse_input_text(method, node.max_points, &text);
            let parsed = parse_input(method, node.max_points, &json);
            prop_assert_eq!(&read, &parsed);
            prop_assert_eq!(parsed, Ok(input));
        }
    }

    /// The group best the service keeps — candidates folded unit by unit, or the better of the
    /// stored maximum and minimum — is the same whichever way it is reached.
    #[test]
    fn a_best_folded_unit_by_unit_equals_the_better_stored_extreme(
        spec in set_spec(),
        seeds in prop::collection::vec(any::<u64>(), 1..6),
    ) {
        let set = CompiledSet::compile(&document(&spec));
        let units = units_for(&set, &seeds);
        let folded = group_best(&set, &units);
        let mut reversed = Best::default();
        for u in units.iter().rev() {
            for (leaf, v) in candidates(&set, u) {
                reversed.offer(&set, leaf, v);
            }
        }
        for leaf in set.leaves().filter(|&i| set.is_relative_to_best(i)) {
            let direction = set.best_direction(leaf).expect("a relative leaf");
            let offered: Vec<BestValues> = units
                .iter()
                .flat_map(|u| candidates(&set, u))
                .filter(|(l, _)| *l == leaf)
                .map(|(_, v)| v)
                .collect();
            let extreme = |col: fn(&BestValues) -> Option<Decimal>| {
                let values = offered.iter().filter_map(col).map(|d| d.normalize());
                let (max, min) = (values.clone().max(), values.min());
                better(direction, max, min)
            };
            let digits = |d: Option<Decimal>| d.map(|d| d.to_string());
            let f = folded.get(leaf);
            prop_assert_eq!(digits(f.self_best), digits(extreme(|v| v.self_best)));
            prop_assert_eq!(digits(f.reviewed_best), digits(extreme(|v| v.reviewed_best)));
            prop_assert_eq!(digits(reversed.get(leaf).self_best), digits(f.self_best));
            prop_assert_eq!(digits(reversed.get(leaf).reviewed_best), digits(f.reviewed_best));
        }
    }
}
