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
    /// Leaf code → answer; missing = unanswered.
    pub answers: HashMap<String, LeafAnswer>,
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
