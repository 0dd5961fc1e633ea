//! What the scorer reads and writes: a unit's answers and adjustments, and its scores with
//! their traces.

use super::*;

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
    /// Boxed: most leaves have none, and a group rescore holds every leaf answer of every
    /// unit at once (340,000 at 3,400 units), each as large as its largest field.
    pub adjustment: Option<Box<Adjustment>>,
}

/// Everything scoring needs to know about one unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitInput {
    pub unit_id: Uuid,
    pub unit_code: String,
    /// Unit tags matched against `applicability.unit_tags_any`.
    pub tags: Vec<String>,
    /// The unit's answers by leaf; missing = unanswered.
    pub answers: Answers,
}

/// A unit's answers, each at the index of its leaf in the compiled set (`CompiledSet::nodes`,
/// [`CompiledSet::index_of`] gives it from a code): scoring looks one up per leaf and a group
/// rescore builds 340,000, so a slot per node, not a map keyed by code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answers(Vec<Option<LeafAnswer>>);

impl Answers {
    /// Room for the leaves of a set of `nodes` nodes.
    pub fn for_nodes(nodes: usize) -> Answers {
        Answers(Vec::with_capacity(nodes))
    }

    /// The answer to the leaf at `node`.
    pub fn get(&self, node: usize) -> Option<&LeafAnswer> {
        self.0.get(node).and_then(Option::as_ref)
    }

    /// The answer to the leaf at `node`, to change it.
    pub fn get_mut(&mut self, node: usize) -> Option<&mut LeafAnswer> {
        self.0.get_mut(node).and_then(Option::as_mut)
    }

    /// Sets the answer to the leaf at `node`, replacing any.
    pub fn insert(&mut self, node: usize, answer: LeafAnswer) {
        *self.slot(node) = Some(answer);
    }

    /// The answer to the leaf at `node`, an empty one (unanswered, no evidence) put there
    /// first when there is none.
    pub fn get_or_default(&mut self, node: usize) -> &mut LeafAnswer {
        self.slot(node).get_or_insert_with(LeafAnswer::default)
    }

    fn slot(&mut self, node: usize) -> &mut Option<LeafAnswer> {
        if self.0.len() <= node {
            self.0.resize_with(node + 1, || None);
        }
        &mut self.0[node]
    }

    /// Forgets every answer.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl FromIterator<(usize, LeafAnswer)> for Answers {
    fn from_iter<T: IntoIterator<Item = (usize, LeafAnswer)>>(iter: T) -> Answers {
        let mut answers = Answers::default();
        for (node, answer) in iter {
            answers.insert(node, answer);
        }
        answers
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
