//! Validation of indicator-set documents ([`SetDocument`]), in two stages:
//!
//! 1. [`check_raw`] runs on the raw `serde_json::Value`, before serde typing: size and depth
//!    limits and hostile values (`"NaN"`, `"1e400"`, huge strings), so that nothing expensive or
//!    surprising reaches the typed stage.
//! 2. [`validate`] runs on the typed document and checks every semantic rule (identity, tree
//!    shape, points, methods, pillars, replacements). It returns *all* problems, each with an
//!    RFC 6901 JSON pointer into the document exactly as it was submitted (flat-form nodes are
//!    pointed at where they sit in the top-level `nodes` array, e.g. `/nodes/7/parent`).
//!
//! [`normalize`] then turns a valid document into its canonical nested form.
//! [`parse_document`] chains the whole pipeline for a request body, upgrading a document of an
//! older format version ([`crate::domain::set_upgrade`]) between the raw stage and typing, and
//! reporting every typing error as a `DOCUMENT_MALFORMED` problem at its exact pointer.
//!
//! Pure: imports only `std`, `serde`, `serde_json`, `serde_path_to_error`, `rust_decimal` and
//! `crate::domain`; no I/O.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::indicator_set::{
    Band, ChildrenPolicy, ChoiceOption, Classification, Direction, EvidenceRule, Method, Node,
    NodeKind, SCHEMA_VERSION, SetDocument, SumItem, ZeroDenominator,
};
use crate::domain::set_upgrade::{Origin, upgrade};
use crate::domain::{UNIT_KINDS as KINDS, UnitKind, escape_token};

/// Maximum nesting depth of the raw JSON document (the root object is level 1).
pub const MAX_JSON_DEPTH: usize = 64;
/// Maximum number of nodes (nested and flat together).
pub const MAX_NODES: usize = 5000;
/// Maximum length of any string, in characters.
pub const MAX_STRING_CHARS: usize = 10_000;
/// Maximum depth of the indicator tree (a top-level node is at depth 1).
pub const MAX_TREE_DEPTH: usize = 8;
/// Maximum length of a code, in characters.
pub const MAX_CODE_CHARS: usize = 64;
/// Allowed range of `precision` (decimals of the published index).
pub const PRECISION_RANGE: std::ops::RangeInclusive<u32> = 0..=8;
/// Allowed range of `points_precision`.
pub const POINTS_PRECISION_RANGE: std::ops::RangeInclusive<u32> = 0..=6;
/// Allowed range of `year`.
pub const YEAR_RANGE: std::ops::RangeInclusive<i32> = 2000..=2100;
/// Allowed values of `target_unit_kind`.
pub const UNIT_KINDS: [&str; 8] = KINDS;
/// Fields that hold points-like decimals; [`check_raw`] vets their raw values.
pub const POINTS_FIELDS: &[&str] = &[
    "max_points",
    "scale",
    "points",
    "threshold",
    "target",
    "points_per_unit",
    "cap",
    "min_index",
];
/// [`check_raw`] stops after this many problems (a hostile document could hold millions).
pub const MAX_RAW_PROBLEMS: usize = 100;

pub mod codes;
mod identity;
mod methods;
mod normalize;
mod raw;
mod rules;
mod serde_errors;
#[cfg(test)]
mod tests;

use codes::*;
use identity::*;
use methods::*;
pub use normalize::normalize;
pub use raw::check_raw;
pub use rules::validate;
use rules::*;
pub use serde_errors::parse_document;

/// One problem found in a submitted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocProblem {
    /// RFC 6901 JSON pointer into the submitted document, e.g.
    /// `/nodes/0/children/3/max_points`; `""` is the whole document. A pointer may name a
    /// member that is absent (e.g. `…/method` for a missing method): that is where it belongs.
    pub pointer: String,
    /// Stable machine-readable code (see [`codes`]).
    pub code: &'static str,
    /// English, precise, with the offending values.
    pub message: String,
}

fn problem(out: &mut Vec<DocProblem>, pointer: String, code: &'static str, message: String) {
    out.push(DocProblem {
        pointer,
        code,
        message,
    });
}

/// A string for a message: quoted, and shortened when long (hostile input stays readable).
fn quote(s: &str) -> String {
    const SHOWN: usize = 40;
    if s.chars().count() > SHOWN {
        let head: String = s.chars().take(SHOWN).collect();
        format!("{head:?}…")
    } else {
        format!("{s:?}")
    }
}

/// A decimal for a message, without trailing zeros ("160", "12.5").
fn num(d: Decimal) -> String {
    d.normalize().to_string()
}
