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

fn unit(set: &CompiledSet, code: &str, answers: Vec<(&str, LeafAnswer)>) -> UnitInput {
    UnitInput {
        unit_id: Uuid::nil(),
        unit_code: code.into(),
        tags: vec![],
        answers: answers.into_iter().map(|(c, a)| (at(set, c), a)).collect(),
    }
}

/// The index of the leaf `code`.
fn at(set: &CompiledSet, code: &str) -> usize {
    set.index_of(code).expect("known code")
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
        &set,
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
    let b = unit(
        &set,
        "B",
        vec![("bw", answer(&set, "bw", json!({"value": 10})))],
    );
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
            &set,
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
    let mut a = unit(
        &set,
        "A",
        vec![("bw", answer(&set, "bw", json!({"value": 10})))],
    );
    let b = unit(
        &set,
        "B",
        vec![("bw", answer(&set, "bw", json!({"value": 5})))],
    );
    // The reviewer finds A really has 4.
    a.answers.get_mut(at(&set, "bw")).unwrap().adjustment = Some(Box::new(Adjustment {
        inputs: Some(Input::Value(dec!(4))),
        ..Adjustment::default()
    }));
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
        &set,
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
    let mut a = unit(&set, "A", vec![pts("econ"), pts("decl"), pts("fixed")]);
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
    a.answers
        .get_mut(at(&set, "decl"))
        .unwrap()
        .self_not_applicable = true;
    a.answers
        .get_mut(at(&set, "fixed"))
        .unwrap()
        .self_not_applicable = true;
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
    a.answers.get_mut(at(&set, "decl")).unwrap().adjustment = Some(Box::new(Adjustment {
        not_applicable: Some(false),
        ..Adjustment::default()
    }));
    // … and declares another one not applicable, though the unit may not.
    a.answers.get_mut(at(&set, "fixed")).unwrap().adjustment = Some(Box::new(Adjustment {
        not_applicable: Some(true),
        ..Adjustment::default()
    }));
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
    a.answers.get_mut(at(&set, "econ")).unwrap().adjustment = Some(Box::new(Adjustment {
        not_applicable: Some(false),
        ..Adjustment::default()
    }));
    let s = score_unit(&set, &a, &Best::default());
    assert!(!node(&set, &s, "econ").applicable);
}

#[test]
fn all_children_not_applicable_makes_the_parent_not_applicable() {
    let set = na_set();
    let s = score_unit(&set, &unit(&set, "A", vec![]), &Best::default());
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
    let s = score_unit(&only, &unit(&only, "A", vec![]), &Best::default());
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
    let mut u = unit(&set, "A", vec![("1.1", a)]);
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
    u.answers.get_mut(at(&set, "1.1")).unwrap().has_explanation = true;
    assert_eq!(
        score_unit(&set, &u, &Best::default()).nodes[1].self_points,
        dec!(15)
    );
    // A reviewer's inputs are taken as given, but self points still need the evidence.
    let a = u.answers.get_mut(at(&set, "1.1")).unwrap();
    a.has_explanation = false;
    a.adjustment = Some(Box::new(Adjustment {
        inputs: Some(Input::Ratio {
            numerator: dec!(2),
            denominator: dec!(4),
        }),
        ..Adjustment::default()
    }));
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
        &set,
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
    u.answers.get_mut(at(&set, "1.1")).unwrap().adjustment = Some(Box::new(Adjustment {
        inputs: Some(Input::Ratio {
            numerator: dec!(3),
            denominator: dec!(4),
        }),
        points: Some(dec!(25.555)),
        not_applicable: None,
    }));
    let s = score_unit(&set, &u, &Best::default());
    let n = &s.nodes[1];
    assert_eq!((n.self_points, n.reviewed_points), (dec!(6.67), dec!(20)));
    assert_eq!(n.reviewed_trace.rule, "set by the reviewer: 25.555");
    assert_eq!(
        n.reviewed_trace.inputs,
        Some(json!({"numerator": "3", "denominator": "4"}))
    );
    assert_eq!(n.flags, vec![flags::ADJUSTED, flags::CAPPED]);
    u.answers.get_mut(at(&set, "1.1")).unwrap().adjustment = Some(Box::new(Adjustment {
        points: Some(dec!(12.345)),
        ..Adjustment::default()
    }));
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
        &unit(&set, "A", vec![pts("a", "8"), pts("b", "5"), pts("d", "4")]),
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
        &set,
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
        &unit(&set, "A", vec![pts("1.1", 90), pts("B", 15), pts("P", 2)]),
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
        &unit(&set, "B", vec![pts("1.1", 3), pts("P", 5)]),
        &Best::default(),
    );
    assert_eq!(
        (s.total.reviewed_points, s.total.reviewed_trace.raw),
        (dec!(0), dec!(-2))
    );
    let s = score_unit(
        &set,
        &unit(&set, "C", vec![pts("1.1", 50), pts("B", 5), pts("P", 10)]),
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
        &set,
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
    let scores = score_group(&set, &[unit(&set, "DNG", answers)]);
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
    let s = score_unit(&set, &unit(&set, "A", vec![]), &Best::default());
    let j = serde_json::to_value(&s).unwrap();
    assert_eq!(j["total"]["max_points"], "100");
    assert_eq!(j["nodes"][1]["flags"], json!(["UNANSWERED"]));
    assert_eq!(j["nodes"][1]["reviewed_index"], "0");
}

#[test]
fn a_leaf_answer_stays_small() {
    // a group rescore holds one per leaf and unit (340,000 at 3,400 units × 100 components):
    // the rare reviewer adjustment is boxed, so that the rest do not carry its size
    assert!(
        std::mem::size_of::<LeafAnswer>() <= 64,
        "{} bytes",
        std::mem::size_of::<LeafAnswer>()
    );
}
