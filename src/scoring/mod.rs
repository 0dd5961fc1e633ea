//! Scoring: pure, deterministic, exact-decimal computation of every node's points, index and
//! trace for the units of one ranking group (the method: docs/scoring.md).
//!
//! Owns: the two score columns of every node, aggregation, applicability, the evidence rule,
//! reviewer adjustments and the group-relative best. Imports only `std`, `crate::domain`,
//! `rust_decimal`, `serde`, `serde_json` and `uuid`: no database, no web framework, no clock,
//! no randomness, no I/O (the `architecture_guard` test in `tests.rs` enforces part of this).
//!
//! Submodules: [`set`] (the compiled tree), [`input`] (typed answers), [`points`] (per-method
//! formulas and aggregation arithmetic), [`ranking`] (the scopes rankings compare and their
//! rounded values), [`bands`] (the classification band of an index, points to the next band);
//! and, re-exported here: `model` (what the scorer reads and writes), `leaf` (one leaf, one
//! column), `tree` (inner nodes, the root, a whole unit), `best` (the group best) and `basis`
//! (re-scoring a unit from its basis when a best moves).
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

mod basis;
mod best;
mod leaf;
mod model;
mod tree;

pub use basis::*;
pub use best::*;
use leaf::*;
pub use model::*;
pub use tree::*;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use bands::{Standing, band_of, standing};
pub use input::{
    Input, InputError, input_schema, input_to_json, node_input_schema, parse_input,
    parse_input_text,
};
use points::{Evaluation, Texts, aggregate, evaluate, fmt_dec, settle, total};
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

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests;
