//! The compiled indicator set: the [`SetDocument`] tree flattened into a pre-order vector of
//! [`CNode`]s addressed by index, so that scoring a unit is one pass over a slice.
//!
//! Owns: turning either document form (nested `children`, or flat nodes listed at the top level
//! of `nodes` with `parent: Some(code)`) into one tree. Imports only `std`, `crate::domain` and
//! `rust_decimal`.
//!
//! Example: the flat document `nodes: [{code "1", main, 20}, {code "1.1", parent "1", 12},
//! {code "1.2", parent "1", 8}]` and the nested document `nodes: [{code "1", main, 20,
//! children: [{code "1.1", 12}, {code "1.2", 8}]}]` compile to the same
//! `nodes = [1, 1.1, 1.2]`, `roots = [0]`, `nodes[0].children = [1, 2]`.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;

use crate::domain::indicator_set::{
    Applicability, ChildrenPolicy, Classification, Direction, EvidenceRule, Method, Node, NodeKind,
    SetDocument,
};

/// An indicator set ready for scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledSet {
    pub code: String,
    pub version: i32,
    pub name: String,
    /// The root's maximum (thang điểm), e.g. 1000.
    pub scale: Decimal,
    /// Decimals of the published index; rankings compare the index rounded to this.
    pub precision: u32,
    /// Decimals of each leaf's points (half away from zero); `None` = exact.
    pub points_precision: Option<u32>,
    /// The bands a unit's overall index is classified in (see [`super::bands`]).
    pub classification: Option<Classification>,
    /// All nodes in pre-order (document order), parents before children.
    pub nodes: Vec<CNode>,
    /// Top-level node indexes, including bonus/penalty nodes, in document order.
    pub roots: Vec<usize>,
    /// Pillars with their main indicators resolved to node indexes.
    pub pillars: Vec<CPillar>,
    /// Per node: it is, or has below it, a `relative_to_best` leaf, so its points follow the
    /// group's best value. Sums add these children last (see `scoring` § Summation order).
    pub depends_on_best: Vec<bool>,
    index: HashMap<String, usize>,
}

/// One node of a [`CompiledSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct CNode {
    pub code: String,
    pub name: String,
    pub kind: NodeKind,
    pub max_points: Decimal,
    pub policy: ChildrenPolicy,
    pub parent: Option<usize>,
    /// Children indexes in document order; empty for leaves.
    pub children: Vec<usize>,
    /// 0 for top-level nodes.
    pub depth: usize,
    /// The scoring method (leaves only; a leaf without one is scored as `manual`).
    pub method: Option<Method>,
    pub evidence: EvidenceRule,
    pub applicability: Applicability,
    /// Measured automatically from a platform (units cannot edit it).
    pub automatic: bool,
}

impl CNode {
    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// A scored leaf: a leaf with a scoring method, the only nodes that take answers, evidence
    /// and reviewer adjustments (the one definition every writer and form uses).
    pub fn takes_answers(&self) -> bool {
        self.is_leaf() && self.method.is_some()
    }

    /// A scored leaf the unit itself answers: not measured automatically and worth points
    /// (what a unit's form counts as its work).
    pub fn answered_by_unit(&self) -> bool {
        self.takes_answers() && !self.automatic && !self.max_points.is_zero()
    }

    /// Bonus/penalty nodes only have their special meaning at the top level.
    pub fn is_adjusting_root(&self) -> bool {
        self.parent.is_none() && matches!(self.kind, NodeKind::Bonus | NodeKind::Penalty)
    }
}

/// A pillar (trụ cột): a named selection of main indicators, shared between pillars.
#[derive(Debug, Clone, PartialEq)]
pub struct CPillar {
    pub code: String,
    pub name: String,
    /// Node indexes of the pillar's main indicators (unknown codes are skipped).
    pub mains: Vec<usize>,
}

struct Builder<'a> {
    flat: HashMap<&'a str, Vec<&'a Node>>,
    seen: HashSet<&'a str>,
    nodes: Vec<CNode>,
}

impl<'a> Builder<'a> {
    fn emit(&mut self, node: &'a Node, parent: Option<usize>, depth: usize) {
        // Guards against duplicate codes and parent cycles in unvalidated documents.
        if !self.seen.insert(node.code.as_str()) {
            return;
        }
        let idx = self.nodes.len();
        self.nodes.push(CNode {
            code: node.code.clone(),
            name: node.name.clone(),
            kind: node.kind,
            max_points: node.max_points,
            policy: node.children_policy,
            parent,
            children: Vec::new(),
            depth,
            method: node.method.clone(),
            evidence: node.evidence,
            applicability: node.applicability.clone(),
            automatic: node.automatic,
        });
        if let Some(p) = parent {
            self.nodes[p].children.push(idx);
        }
        for child in &node.children {
            self.emit(child, Some(idx), depth + 1);
        }
        let flat_children = self
            .flat
            .get(node.code.as_str())
            .cloned()
            .unwrap_or_default();
        for child in flat_children {
            self.emit(child, Some(idx), depth + 1);
        }
    }
}

fn collect_codes<'a>(nodes: &'a [Node], out: &mut HashSet<&'a str>) {
    for n in nodes {
        out.insert(n.code.as_str());
        collect_codes(&n.children, out);
    }
}

impl CompiledSet {
    /// Compiles a (validated) document. Nested children come first, then flat nodes that name
    /// this node as `parent`, each in document order. A flat node whose parent code does not
    /// exist is treated as top-level, so compile never panics on an unvalidated document.
    pub fn compile(doc: &SetDocument) -> CompiledSet {
        let mut codes = HashSet::new();
        collect_codes(&doc.nodes, &mut codes);
        let mut flat: HashMap<&str, Vec<&Node>> = HashMap::new();
        let mut top = Vec::new();
        for n in &doc.nodes {
            match n.parent.as_deref() {
                Some(p) if codes.contains(p) && p != n.code => flat.entry(p).or_default().push(n),
                _ => top.push(n),
            }
        }
        let mut b = Builder {
            flat,
            seen: HashSet::new(),
            nodes: Vec::new(),
        };
        let mut roots = Vec::new();
        for n in top {
            let before = b.nodes.len();
            b.emit(n, None, 0);
            if b.nodes.len() > before {
                roots.push(before);
            }
        }
        let nodes = b.nodes;
        let index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.code.clone(), i))
            .collect();
        let pillars = doc
            .pillars
            .iter()
            .map(|p| CPillar {
                code: p.code.clone(),
                name: p.name.clone(),
                mains: p
                    .main_indicators
                    .iter()
                    .filter_map(|c| index.get(c).copied())
                    .collect(),
            })
            .collect();
        let mut depends_on_best: Vec<bool> = nodes
            .iter()
            .map(|n| n.is_leaf() && matches!(n.method, Some(Method::RelativeToBest { .. })))
            .collect();
        // pre-order: children come after their parent, so walking backwards settles them first
        for i in (0..nodes.len()).rev() {
            if depends_on_best[i]
                && let Some(p) = nodes[i].parent
            {
                depends_on_best[p] = true;
            }
        }
        CompiledSet {
            code: doc.code.clone(),
            version: doc.version,
            name: doc.name.clone(),
            scale: doc.scale,
            precision: doc.precision,
            points_precision: doc.points_precision,
            classification: doc.classification.clone(),
            nodes,
            roots,
            pillars,
            depends_on_best,
            index,
        }
    }

    /// Node index of a code.
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.index.get(code).copied()
    }

    /// Leaf indexes (the nodes that take answers, bonus/penalty included), in pre-order.
    pub fn leaves(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].is_leaf())
    }

    /// Whether any leaf is scored relative to the group's best (so one unit's answer moves
    /// every unit's points in its ranking group).
    pub fn has_relative_to_best(&self) -> bool {
        self.leaves().any(|i| self.is_relative_to_best(i))
    }

    /// How leaf `i`'s group best is chosen, if it uses `relative_to_best`.
    pub fn best_direction(&self, i: usize) -> Option<Direction> {
        match &self.nodes[i].method {
            Some(Method::RelativeToBest { direction }) if self.nodes[i].is_leaf() => {
                Some(*direction)
            }
            _ => None,
        }
    }

    /// Whether leaf `i` uses `relative_to_best`.
    pub fn is_relative_to_best(&self, i: usize) -> bool {
        self.nodes[i].is_leaf()
            && matches!(self.nodes[i].method, Some(Method::RelativeToBest { .. }))
    }

    /// Indexes of all `main` nodes, in pre-order.
    pub fn main_indicators(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::Main)
            .collect()
    }

    /// Index of a pillar by code.
    pub fn pillar_of(&self, code: &str) -> Option<usize> {
        self.pillars.iter().position(|p| p.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator_set::{LegalBasis, Pillar};

    fn node(code: &str, kind: NodeKind, max: Decimal) -> Node {
        Node {
            code: code.into(),
            kind,
            parent: None,
            name: format!("Node {code}"),
            description: None,
            guidance: None,
            inputs: Default::default(),
            max_points: max,
            children_policy: ChildrenPolicy::Sum,
            children: vec![],
            method: None,
            evidence: EvidenceRule::None,
            evidence_expected: None,
            data_source: None,
            verifying_body: None,
            automatic: false,
            applicability: Applicability::default(),
            replaces: vec![],
        }
    }

    fn doc(nodes: Vec<Node>) -> SetDocument {
        SetDocument {
            schema_version: crate::domain::indicator_set::SCHEMA_VERSION,
            code: "T".into(),
            version: 1,
            name: "Test".into(),
            description: None,
            target_unit_kind: crate::domain::UnitKind::Department,
            year: None,
            legal_basis: LegalBasis {
                decision_number: "1/QĐ".into(),
                decision_date: None,
                issuer: "UBND".into(),
                url: None,
            },
            scale: dec!(20),
            precision: 4,
            points_precision: None,
            provenance: None,
            classification: None,
            pillars: vec![Pillar {
                code: "P".into(),
                name: "Pillar".into(),
                main_indicators: vec!["1".into(), "nope".into()],
            }],
            nodes,
        }
    }

    fn leaf(code: &str, max: Decimal) -> Node {
        Node {
            method: Some(Method::Manual),
            ..node(code, NodeKind::Component, max)
        }
    }

    #[test]
    fn nested_and_flat_forms_compile_to_the_same_tree() {
        let mut main = node("1", NodeKind::Main, dec!(20));
        main.children = vec![leaf("1.1", dec!(12)), leaf("1.2", dec!(8))];
        let nested = CompiledSet::compile(&doc(vec![main]));

        let mut a = leaf("1.1", dec!(12));
        a.parent = Some("1".into());
        let mut b = leaf("1.2", dec!(8));
        b.parent = Some("1".into());
        // Children listed before their parent: order among siblings is still kept.
        let flat = CompiledSet::compile(&doc(vec![a, b, node("1", NodeKind::Main, dec!(20))]));

        for s in [&nested, &flat] {
            assert_eq!(s.nodes.len(), 3);
            assert_eq!(s.roots, vec![0]);
            assert_eq!(s.nodes[0].children, vec![1, 2]);
            assert_eq!(s.nodes[1].code, "1.1");
            assert_eq!(s.nodes[2].parent, Some(0));
            assert_eq!(s.nodes[2].depth, 1);
            assert_eq!(s.index_of("1.2"), Some(2));
            assert_eq!(s.index_of("x"), None);
            assert_eq!(s.leaves().collect::<Vec<_>>(), vec![1, 2]);
            assert_eq!(s.main_indicators(), vec![0]);
            assert_eq!(s.pillars[0].mains, vec![0]);
            assert!(!s.has_relative_to_best());
        }
    }

    #[test]
    fn mixed_form_puts_nested_children_before_flat_ones_and_keeps_bonus_roots() {
        let mut main = node("1", NodeKind::Main, dec!(20));
        main.children = vec![leaf("1.1", dec!(12))];
        let mut flat = leaf("1.2", dec!(8));
        flat.parent = Some("1".into());
        let mut orphan = leaf("9", dec!(1));
        orphan.parent = Some("missing".into());
        let mut bonus = leaf("B", dec!(5));
        bonus.kind = NodeKind::Bonus;
        let s = CompiledSet::compile(&doc(vec![flat, main, orphan, bonus]));
        let codes: Vec<_> = s.nodes.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(codes, ["1", "1.1", "1.2", "9", "B"]);
        assert_eq!(s.roots, vec![0, 3, 4]);
        assert!(s.nodes[4].is_adjusting_root());
    }
}
