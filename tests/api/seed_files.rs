//! The seed files as the repository ships them, read without a database. Each set document goes
//! through the production parser and validator (`indicator_sets::parse`, what the loader and
//! `POST /api/v1/indicator-sets` run), the units and accounts through the loader's own checks
//! (`seed::check`); on top, what holds for the shipped seeds rather than for any document: the
//! files are pretty-printed, every set says where its numbers come from, every scored component
//! can reach its maximum and explains a ratio, each file has the shape its decision gives it
//! (counts and maxima below), and a later version of a family replaces codes and adds some.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dti_api::domain::indicator_set::{
    ClassificationStatus, Direction, EvidenceRule, Method, Node, NodeKind, SCHEMA_VERSION,
    SetDocument, ZeroDenominator,
};
use dti_api::services::indicator_sets::{Format, parse};
use rust_decimal::Decimal;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

const SEEDS: &str = "seeds";

/// A JSON value that keeps the order of object members (serde_json's `Value` sorts them), to
/// compare a file with its pretty-printed form.
enum Ordered {
    Scalar(Value),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = a.next_entry()? {
                    members.push(member);
                }
                Ok(Ordered::Object(members))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Scalar(v) => v.serialize(s),
            Ordered::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Ordered::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Problems of a seed file that is not written as `serde_json::to_string_pretty` writes it
/// (2-space indent, members in their order, UTF-8 unescaped) with a final newline.
fn pretty_printed(name: &str, text: &str, out: &mut Vec<String>) {
    let ordered: Ordered = match serde_json::from_str(text) {
        Ok(o) => o,
        Err(e) => return out.push(format!("{name}: not JSON: {e}")),
    };
    if serde_json::to_string_pretty(&ordered).unwrap() + "\n" != text {
        out.push(format!(
            "{name}: not pretty-printed (2-space indent, UTF-8, trailing newline)"
        ));
    }
}

/// What a seed file is expected to hold, from the decision it transcribes.
struct Expect {
    file: &'static str,
    code: &'static str,
    version: i32,
    target: &'static str,
    scale: Option<&'static str>,
    decision: Option<&'static str>,
    classification: ClassificationStatus,
    /// Leaves (components and criteria without children) in the whole tree.
    leaves: Option<usize>,
    /// Main indicators: code, components (when fixed), maximum.
    mains: &'static [(&'static str, Option<usize>, &'static str)],
    /// Components per main indicator, at least and at most.
    comp_range: Option<(usize, usize)>,
    /// Top-level groups and their maxima.
    groups: Option<&'static [(&'static str, &'static str)]>,
    /// Pillars and the sum of their main indicators' maxima (`Some(&[])`: no pillar).
    pillars: Option<&'static [(&'static str, &'static str)]>,
    /// Pillars and the leaves under their main indicators.
    pillar_leaves: Option<&'static [(&'static str, usize)]>,
    /// Every method but `manual`, not-scored leaves only in main 6, and at least one automatic
    /// leaf, lower-is-better method, non-default zero denominator and required evidence.
    all_methods: bool,
    /// A leaf restricted to units with this tag.
    need_tag: Option<&'static str>,
    /// A leaf a unit may declare not applicable.
    need_dna: bool,
    /// A tiers leaf with exactly these bands (threshold, points).
    tiers_example: &'static [(&'static str, &'static str)],
    /// Words some leaf's name or description holds.
    names: &'static [&'static str],
}

const NONE: Expect = Expect {
    file: "",
    code: "",
    version: 1,
    target: "",
    scale: None,
    decision: None,
    classification: ClassificationStatus::Example,
    leaves: None,
    mains: &[],
    comp_range: None,
    groups: None,
    pillars: None,
    pillar_leaves: None,
    all_methods: false,
    need_tag: None,
    need_dna: false,
    tiers_example: &[],
    names: &[],
};

// Lào Cai: QĐ 2644/QĐ-UBND (version 1) and QĐ 3019/QĐ-UBND (version 2) per kind of unit; the
// maxima of agencies without administrative procedures (750, then 800) are found, the rest
// inferred.
const EXPECT: &[Expect] = &[
    Expect {
        file: "national-922-province.json",
        code: "QD922-TINH",
        target: "province",
        scale: Some("1000"),
        leaves: Some(98),
        mains: &[
            ("1", Some(10), "100"),
            ("2", Some(11), "100"),
            ("3", Some(7), "100"),
            ("4", Some(13), "100"),
            ("5", Some(12), "100"),
            ("6", Some(3), "0"),
            ("7", Some(22), "200"),
            ("8", Some(12), "150"),
            ("9", Some(8), "150"),
        ],
        pillars: Some(&[("CQS", "700"), ("KTS", "650"), ("XHS", "650")]),
        all_methods: true,
        ..NONE
    },
    Expect {
        file: "dien-bien-department-500.json",
        code: "DB-SO-500",
        target: "department",
        scale: Some("500"),
        mains: &[
            ("1", None, "50"),
            ("2", None, "50"),
            ("3", None, "50"),
            ("4", None, "50"),
            ("5", None, "50"),
            ("6", None, "250"),
        ],
        comp_range: Some((2, 5)),
        need_tag: Some("kinh_te_so"),
        need_dna: true,
        ..NONE
    },
    Expect {
        file: "thanh-hoa-department-160.json",
        code: "TH-SO-160",
        target: "department",
        scale: Some("160"),
        pillars: Some(&[]),
        ..NONE
    },
    Expect {
        file: "thanh-hoa-district-270.json",
        code: "TH-HUYEN-270",
        target: "district",
        scale: Some("270"),
        groups: Some(&[("CQ", "160"), ("KT", "75"), ("XH", "35")]),
        pillars: Some(&[("CQS", "160"), ("KTS", "75"), ("XHS", "35")]),
        tiers_example: &[("1", "5"), ("2", "10"), ("3", "15"), ("4", "20")],
        ..NONE
    },
    Expect {
        file: "hanoi-5279-commune-1000.json",
        code: "HN-XA-5279",
        target: "commune",
        scale: Some("1000"),
        leaves: Some(47),
        mains: &[
            ("1", Some(5), "100"),
            ("2", Some(3), "60"),
            ("3", Some(5), "100"),
            ("4", Some(6), "100"),
            ("5", Some(4), "60"),
            ("6", Some(10), "280"),
            ("7", Some(6), "150"),
            ("8", Some(8), "150"),
        ],
        ..NONE
    },
    Expect {
        file: "yen-bai-564-2022.json",
        code: "YB-564",
        target: "commune",
        leaves: Some(40),
        pillar_leaves: Some(&[("CQS", 23), ("KTS", 6), ("XHS", 11)]),
        ..NONE
    },
    Expect {
        file: "lao-cai-2644-department.json",
        code: "LC-DTI-SO",
        target: "department",
        scale: Some("1000"),
        decision: Some("2644/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        ..NONE
    },
    Expect {
        file: "lao-cai-3019-department.json",
        code: "LC-DTI-SO",
        version: 2,
        target: "department",
        scale: Some("1000"),
        decision: Some("3019/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        names: &[
            "thời gian thực",
            "định danh điện tử mức độ 2",
            "QĐ 885/QĐ-BTTTT",
        ],
        ..NONE
    },
    Expect {
        file: "lao-cai-2644-commune.json",
        code: "LC-DTI-XA",
        target: "commune",
        scale: Some("1000"),
        decision: Some("2644/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        ..NONE
    },
    Expect {
        file: "lao-cai-3019-commune.json",
        code: "LC-DTI-XA",
        version: 2,
        target: "commune",
        scale: Some("1000"),
        decision: Some("3019/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        names: &[
            "thời gian thực",
            "định danh điện tử mức độ 2",
            "VNeID",
            "VssID",
            "ứng dụng di động của tỉnh",
            "QĐ 885/QĐ-BTTTT",
        ],
        ..NONE
    },
    Expect {
        file: "lao-cai-2644-party.json",
        code: "LC-DTI-DANG",
        target: "party_body",
        scale: Some("750"),
        decision: Some("2644/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        ..NONE
    },
    Expect {
        file: "lao-cai-3019-party.json",
        code: "LC-DTI-DANG",
        version: 2,
        target: "party_body",
        scale: Some("800"),
        decision: Some("3019/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        ..NONE
    },
    Expect {
        file: "lao-cai-2644-front.json",
        code: "LC-DTI-MTTQ",
        target: "fatherland_front",
        scale: Some("750"),
        decision: Some("2644/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        ..NONE
    },
    Expect {
        file: "lao-cai-3019-front.json",
        code: "LC-DTI-MTTQ",
        version: 2,
        target: "fatherland_front",
        scale: Some("800"),
        decision: Some("3019/QĐ-UBND"),
        classification: ClassificationStatus::Decided,
        names: &["VNeID, VssID"],
        ..NONE
    },
];

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn all_nodes<'a>(nodes: &'a [Node], out: &mut Vec<&'a Node>) {
    for n in nodes {
        out.push(n);
        all_nodes(&n.children, out);
    }
}

fn leaves_under(n: &Node) -> usize {
    if n.children.is_empty() {
        1
    } else {
        n.children.iter().map(leaves_under).sum()
    }
}

/// `a = …; b = …` somewhere in a ratio's guidance: what the numerator and the denominator are.
fn names_numerator_and_denominator(guidance: &str) -> bool {
    guidance.match_indices("a = ").any(|(i, _)| {
        let word_start = guidance[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        word_start
            && guidance[i + 4..]
                .match_indices("; b = ")
                .any(|(j, _)| j > 0)
    })
}

/// Every member of the raw document's nodes, at any depth: the nested form only (no `parent`),
/// and no `null` anywhere (a seed leaves out what it does not give).
fn raw_problems(name: &str, raw: &Value, out: &mut Vec<String>) {
    fn walk(v: &Value, at: &str, name: &str, out: &mut Vec<String>) {
        match v {
            Value::Null => out.push(format!("{name}: {at} is null")),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}/{i}"), name, out);
                }
            }
            Value::Object(members) => {
                for (k, v) in members {
                    walk(v, &format!("{at}/{k}"), name, out);
                }
            }
            _ => {}
        }
    }
    walk(raw, "", name, out);
    fn parents(nodes: &Value, at: &str, name: &str, out: &mut Vec<String>) {
        for (i, n) in nodes.as_array().into_iter().flatten().enumerate() {
            let here = format!("{at}/{i}");
            if n.get("parent").is_some() {
                out.push(format!(
                    "{name}: {here} has a parent; seeds use the nested form"
                ));
            }
            parents(&n["children"], &format!("{here}/children"), name, out);
        }
    }
    parents(&raw["nodes"], "/nodes", name, out);
    if raw["schema_version"] != SCHEMA_VERSION {
        out.push(format!("{name}: schema_version is not {SCHEMA_VERSION}"));
    }
}

/// What every shipped set holds beyond validity.
fn document_problems(name: &str, doc: &SetDocument, out: &mut Vec<String>) {
    let mut say = |what: String| out.push(format!("{name}: {what}"));
    if doc.year.is_none() {
        say("no year".into());
    }
    if doc
        .description
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        say("no description".into());
    }
    let provenance = doc.provenance.as_deref().unwrap_or("");
    if !provenance.contains("inferred") {
        say("the provenance does not mark inferred numbers".into());
    }
    if !provenance.contains("lassification") {
        say("the provenance does not say where the classification comes from".into());
    }
    if doc.legal_basis.decision_date.is_none() {
        say("no legal_basis.decision_date".into());
    }
    match &doc.classification {
        None => say("no classification".into()),
        Some(c) if c.status == ClassificationStatus::Example && c.source.is_none() => {
            say("an example classification says in source why it is an example".into())
        }
        Some(_) => {}
    }
    let mut nodes = Vec::new();
    all_nodes(&doc.nodes, &mut nodes);
    for n in nodes {
        let mut say = |what: String| out.push(format!("{name}: node {}: {what}", n.code));
        for (field, text) in [
            ("description", &n.description),
            ("guidance", &n.guidance),
            ("data_source", &n.data_source),
            ("verifying_body", &n.verifying_body),
        ] {
            if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
                say(format!("a blank {field}"));
            }
        }
        if !n.children.is_empty() {
            continue;
        }
        let max = n.max_points;
        if matches!(n.kind, NodeKind::Group | NodeKind::Main) && max > Decimal::ZERO {
            say("a scored leaf of a group or main indicator: it needs components".into());
        }
        if max.is_zero() && n.method.is_some() {
            say("a not-scored leaf (max 0) with a method".into());
        }
        match &n.method {
            Some(Method::Ratio { .. } | Method::RatioToTarget { .. })
                if !n
                    .guidance
                    .as_deref()
                    .is_some_and(names_numerator_and_denominator) =>
            {
                say(
                    "a ratio's guidance names the numerator and the denominator: 'a = …; b = …'"
                        .into(),
                )
            }
            Some(Method::Tiers { bands, .. }) => {
                let best = bands.iter().map(|b| b.points).max();
                if best != Some(max) {
                    say(format!("the best band gives {best:?}, not the max {max}"));
                }
            }
            Some(Method::Choice { options }) => {
                let best = options.iter().map(|o| o.points).max();
                if best != Some(max) {
                    say(format!("the best option gives {best:?}, not the max {max}"));
                }
            }
            Some(Method::CappedSum { items }) => {
                let caps: Option<Decimal> = items.iter().map(|i| i.cap).sum();
                if caps.is_some_and(|c| c < max) {
                    say(format!(
                        "the caps sum to {caps:?} < max {max}: the max is unreachable"
                    ));
                }
            }
            _ => {}
        }
    }
}

/// The file's shape against what its decision gives it.
fn expectation_problems(e: &Expect, doc: &SetDocument, out: &mut Vec<String>) {
    let mut say = |what: String| out.push(format!("{}: {what}", e.file));
    let mut nodes = Vec::new();
    all_nodes(&doc.nodes, &mut nodes);
    let leaves: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| n.children.is_empty())
        .collect();
    let mains: BTreeMap<&str, &Node> = nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Main)
        .map(|n| (n.code.as_str(), *n))
        .collect();
    if doc.code != e.code || doc.version != e.version {
        say(format!(
            "{} v{}, expected {} v{}",
            doc.code, doc.version, e.code, e.version
        ));
    }
    if doc.target_unit_kind.as_str() != e.target {
        say(format!(
            "target_unit_kind {}, expected {}",
            doc.target_unit_kind.as_str(),
            e.target
        ));
    }
    if let Some(scale) = e.scale
        && doc.scale != dec(scale)
    {
        say(format!("scale {}, expected {scale}", doc.scale));
    }
    if let Some(decision) = e.decision
        && doc.legal_basis.decision_number != decision
    {
        say(format!(
            "decision {}, expected {decision}",
            doc.legal_basis.decision_number
        ));
    }
    let status = doc.classification.as_ref().map(|c| c.status);
    if status != Some(e.classification) {
        say(format!(
            "classification {status:?}, expected {:?}",
            e.classification
        ));
    }
    for needle in e.names {
        let found = leaves.iter().any(|l| {
            format!("{} {}", l.name, l.description.as_deref().unwrap_or("")).contains(needle)
        });
        if !found {
            say(format!("no component about {needle:?}"));
        }
    }
    if let Some(n) = e.leaves
        && leaves.len() != n
    {
        say(format!("{} leaves, expected {n}", leaves.len()));
    }
    if !e.mains.is_empty() {
        let expected: BTreeSet<&str> = e.mains.iter().map(|m| m.0).collect();
        if mains.keys().copied().collect::<BTreeSet<_>>() != expected {
            say(format!(
                "main indicators {:?}, expected {expected:?}",
                mains.keys()
            ));
        }
        for (code, components, max) in e.mains {
            let Some(m) = mains.get(code) else { continue };
            if let Some(c) = components
                && m.children.len() != *c
            {
                say(format!(
                    "main {code}: {} components, expected {c}",
                    m.children.len()
                ));
            }
            if m.max_points != dec(max) {
                say(format!("main {code}: max {}, expected {max}", m.max_points));
            }
        }
    }
    if let Some((lo, hi)) = e.comp_range {
        for (code, m) in &mains {
            if !(lo..=hi).contains(&m.children.len()) {
                say(format!(
                    "main {code}: {} components, expected {lo} to {hi}",
                    m.children.len()
                ));
            }
        }
    }
    if let Some(groups) = e.groups {
        let got: Vec<(&str, Decimal)> = doc
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Group)
            .map(|n| (n.code.as_str(), n.max_points))
            .collect();
        let want: Vec<(&str, Decimal)> = groups.iter().map(|(c, m)| (*c, dec(m))).collect();
        if got != want {
            say(format!("groups {got:?}, expected {want:?}"));
        }
    }
    let pillar_mains = |p: &dti_api::domain::indicator_set::Pillar| -> Vec<&Node> {
        p.main_indicators
            .iter()
            .filter_map(|c| mains.get(c.as_str()).copied())
            .collect()
    };
    if let Some(pillars) = e.pillars {
        let got: Vec<(&str, Decimal)> = doc
            .pillars
            .iter()
            .map(|p| {
                let max = pillar_mains(p).iter().map(|m| m.max_points).sum();
                (p.code.as_str(), max)
            })
            .collect();
        let want: Vec<(&str, Decimal)> = pillars.iter().map(|(c, m)| (*c, dec(m))).collect();
        if got != want {
            say(format!("pillar maxima {got:?}, expected {want:?}"));
        }
    }
    if let Some(pillar_leaves) = e.pillar_leaves {
        let got: Vec<(&str, usize)> = doc
            .pillars
            .iter()
            .map(|p| {
                let n = pillar_mains(p).iter().map(|m| leaves_under(m)).sum();
                (p.code.as_str(), n)
            })
            .collect();
        if got != pillar_leaves {
            say(format!(
                "pillar leaf counts {got:?}, expected {pillar_leaves:?}"
            ));
        }
    }
    let methods: BTreeSet<&str> = leaves
        .iter()
        .filter_map(|l| l.method.as_ref().map(|m| m.name()))
        .collect();
    if e.all_methods {
        for method in [
            "ratio",
            "ratio_to_target",
            "tiers",
            "boolean",
            "choice",
            "capped_sum",
            "relative_to_best",
            "survey",
        ] {
            if !methods.contains(method) {
                say(format!("method {method} not used"));
            }
        }
        let not_scored = leaves.iter().filter(|l| l.max_points.is_zero()).count();
        let main_6 = e.mains.iter().find(|m| m.0 == "6").and_then(|m| m.1);
        if Some(not_scored) != main_6 {
            say(format!(
                "{not_scored} not-scored leaves, expected those of main 6 only"
            ));
        }
        let count = |p: &dyn Fn(&Node) -> bool| leaves.iter().filter(|l| p(l)).count();
        let lower = |m: &Method| match m {
            Method::Ratio { direction, .. }
            | Method::RatioToTarget { direction, .. }
            | Method::Tiers { direction, .. }
            | Method::Boolean { direction }
            | Method::RelativeToBest { direction } => *direction == Direction::LowerIsBetter,
            _ => false,
        };
        let zero_denominator = |m: &Method| match m {
            Method::Ratio {
                zero_denominator, ..
            }
            | Method::RatioToTarget {
                zero_denominator, ..
            }
            | Method::Survey { zero_denominator } => *zero_denominator != ZeroDenominator::Reject,
            _ => false,
        };
        for (n, what) in [
            (count(&|l| l.automatic), "automatic leaf"),
            (
                count(&|l| l.method.as_ref().is_some_and(lower)),
                "lower_is_better method",
            ),
            (
                count(&|l| l.method.as_ref().is_some_and(zero_denominator)),
                "non-default zero_denominator",
            ),
            (
                count(&|l| l.evidence == EvidenceRule::Required),
                "evidence-required leaf",
            ),
        ] {
            if n == 0 {
                say(format!("no {what}"));
            }
        }
    }
    if let Some(tag) = e.need_tag
        && !leaves
            .iter()
            .any(|l| l.applicability.unit_tags_any.iter().any(|t| t == tag))
    {
        say(format!("no leaf restricted to unit tag {tag}"));
    }
    if e.need_dna
        && !leaves
            .iter()
            .any(|l| l.applicability.declarable_not_applicable)
    {
        say("no declarable_not_applicable leaf".into());
    }
    if !e.tiers_example.is_empty() {
        let want: Vec<(Decimal, Decimal)> = e
            .tiers_example
            .iter()
            .map(|(t, p)| (dec(t), dec(p)))
            .collect();
        let found = leaves.iter().any(|l| match &l.method {
            Some(Method::Tiers { bands, .. }) => {
                bands
                    .iter()
                    .map(|b| (b.threshold, b.points))
                    .collect::<Vec<_>>()
                    == want
            }
            _ => false,
        });
        if !found {
            say(format!("no tiers leaf with bands {want:?}"));
        }
    }
}

/// Versions of one code: numbered 1 to n, one target kind, and each later version declares
/// what it replaces of the version below and adds a component of its own. (That each replaced
/// code exists below is checked by the import itself.)
fn family_problems(code: &str, versions: &BTreeMap<i32, SetDocument>, out: &mut Vec<String>) {
    let numbers: Vec<i32> = versions.keys().copied().collect();
    if numbers != (1..=numbers.len() as i32).collect::<Vec<_>>() {
        out.push(format!("{code}: versions {numbers:?} are not 1 to n"));
    }
    let kinds: BTreeSet<&str> = versions
        .values()
        .map(|d| d.target_unit_kind.as_str())
        .collect();
    if kinds.len() > 1 {
        out.push(format!("{code}: versions for different kinds {kinds:?}"));
    }
    for (v, doc) in versions.iter().skip(1) {
        let mut nodes = Vec::new();
        all_nodes(&doc.nodes, &mut nodes);
        if nodes.iter().all(|n| n.replaces.is_empty()) {
            out.push(format!("{code} v{v}: declares no replaced code"));
        }
        if !nodes
            .iter()
            .any(|n| n.replaces.is_empty() && n.children.is_empty())
        {
            out.push(format!("{code} v{v}: adds nothing to the version below"));
        }
    }
}

#[test]
fn every_seed_file_is_valid_pretty_printed_and_shaped_as_its_decision() {
    let dir = Path::new(SEEDS).join("indicator-sets");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    let mut problems = Vec::new();
    for e in EXPECT {
        if !files.iter().any(|f| f == e.file) {
            problems.push(format!("{}: expected, missing", e.file));
        }
    }
    let mut families: BTreeMap<String, BTreeMap<i32, SetDocument>> = BTreeMap::new();
    let mut set_tags = BTreeSet::new();
    for name in &files {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        pretty_printed(name, &text, &mut problems);
        let raw: Value = serde_json::from_str(&text).unwrap();
        raw_problems(name, &raw, &mut problems);
        let doc = match parse(&bytes, Format::Json) {
            Ok(parsed) => parsed.doc,
            Err(e) => {
                problems.push(format!("{name}: refused by the importer: {e:?}"));
                continue;
            }
        };
        document_problems(name, &doc, &mut problems);
        match EXPECT.iter().find(|e| e.file == name) {
            Some(e) => expectation_problems(e, &doc, &mut problems),
            None => problems.push(format!("{name}: no expectation registered in this test")),
        }
        let mut nodes = Vec::new();
        all_nodes(&doc.nodes, &mut nodes);
        for n in nodes {
            set_tags.extend(n.applicability.unit_tags_any.iter().cloned());
        }
        let family = families.entry(doc.code.clone()).or_default();
        if family.contains_key(&doc.version) {
            problems.push(format!(
                "{name}: {} v{} is in another file too",
                doc.code, doc.version
            ));
        }
        family.insert(doc.version, doc);
    }
    for (code, versions) in &families {
        family_problems(code, versions, &mut problems);
    }
    // the tags sets restrict components to are carried by some unit
    let units: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(SEEDS).join("units.json")).unwrap(),
    )
    .unwrap();
    let unit_tags: BTreeSet<String> = units["units"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|u| u["tags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    for t in set_tags.difference(&unit_tags) {
        problems.push(format!(
            "applicability tag {t} is used by a set but carried by no unit"
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(files.len(), EXPECT.len());
}

#[test]
fn the_units_and_accounts_are_consistent_and_pretty_printed() {
    let mut problems = dti_api::services::seed::check(Path::new(SEEDS)).unwrap();
    for name in ["units.json", "users.json"] {
        let text = std::fs::read_to_string(Path::new(SEEDS).join(name)).unwrap();
        pretty_printed(name, &text, &mut problems);
    }
    // every unit writes every member, null included, so that the file reads as a table
    let units: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(SEEDS).join("units.json")).unwrap(),
    )
    .unwrap();
    let members = [
        "code",
        "name",
        "kind",
        "parent",
        "groups",
        "tags",
        "active",
        "valid_from",
        "valid_to",
        "predecessors",
    ];
    for u in units["units"].as_array().unwrap() {
        let got: BTreeSet<&str> = u.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        if got != members.into_iter().collect() {
            problems.push(format!("units.json: {} has members {got:?}", u["code"]));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks above can fail: a broken copy of a seed is caught by each.
#[test]
fn the_seed_checks_catch_what_they_are_for() {
    let text = std::fs::read_to_string(
        Path::new(SEEDS).join("indicator-sets/thanh-hoa-district-270.json"),
    )
    .unwrap();
    let mut out = Vec::new();
    pretty_printed("x", &text.replace("\n  ", "\n "), &mut out);
    pretty_printed("x", text.trim_end(), &mut out);
    assert_eq!(out.len(), 2, "{out:?}");

    let mut raw: Value = serde_json::from_str(&text).unwrap();
    raw["nodes"][0]["children"][0]["parent"] = Value::String("CQ".into());
    raw["description"] = Value::Null;
    let mut out = Vec::new();
    raw_problems("x", &raw, &mut out);
    assert_eq!(out.len(), 2, "{out:?}");

    let mut doc = parse(text.as_bytes(), Format::Json).unwrap().doc;
    doc.provenance = Some("Số liệu chính thức".into());
    doc.year = None;
    let mut nodes: Vec<&mut Node> = Vec::new();
    fn leaves_mut<'a>(nodes: &'a mut [Node], out: &mut Vec<&'a mut Node>) {
        for n in nodes {
            if n.children.is_empty() {
                out.push(n);
            } else {
                leaves_mut(&mut n.children, out);
            }
        }
    }
    leaves_mut(&mut doc.nodes, &mut nodes);
    for leaf in nodes {
        match &mut leaf.method {
            Some(Method::Tiers { bands, .. }) => bands.last_mut().unwrap().points /= dec("2"),
            Some(Method::Ratio { .. } | Method::RatioToTarget { .. }) => {
                leaf.guidance = Some("Tỷ lệ".into())
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    document_problems("x", &doc, &mut out);
    for expected in [
        "no year",
        "does not mark inferred",
        "classification comes from",
        "the best band gives",
        "a ratio's guidance",
    ] {
        assert!(
            out.iter().any(|p| p.contains(expected)),
            "{expected}: {out:?}"
        );
    }
    let e = EXPECT
        .iter()
        .find(|e| e.file == "thanh-hoa-district-270.json")
        .unwrap();
    doc.scale = dec("280");
    let mut out = Vec::new();
    expectation_problems(e, &doc, &mut out);
    assert!(out.iter().any(|p| p.contains("scale 280")), "{out:?}");

    let mut versions = BTreeMap::new();
    versions.insert(1, doc.clone());
    versions.insert(3, doc);
    let mut out = Vec::new();
    family_problems("TH-HUYEN-270", &versions, &mut out);
    assert!(out.iter().any(|p| p.contains("not 1 to n")), "{out:?}");
    assert!(
        out.iter().any(|p| p.contains("declares no replaced code")),
        "{out:?}"
    );
}
