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
//! [`normalize`] then turns a valid document into its canonical nested form, and
//! [`from_serde_error`] / [`locate_serde_error`] turn a typing error into a [`DocProblem`].
//! [`parse_document`] chains the whole pipeline for a request body, upgrading a document of an
//! older format version ([`crate::domain::set_upgrade`]) between the raw stage and typing.
//!
//! Pure: imports only `std`, `serde`, `serde_json`, `rust_decimal` and `crate::domain`; no I/O.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::indicator_set::{
    Applicability, Band, ChildrenPolicy, ChoiceOption, ClassBand, Classification,
    ClassificationStatus, Direction, EvidenceRule, InputText, LegalBasis, Method, Node, NodeKind,
    Pillar, SCHEMA_VERSION, SetDocument, SumItem, ZeroDenominator,
};
use crate::domain::set_upgrade::{Origin, upgrade};
use crate::domain::{UNIT_KINDS as KINDS, UnitKind};

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

/// Stable problem codes (the `code` of a [`DocProblem`]).
pub mod codes {
    // raw stage
    pub const TOO_DEEP: &str = "TOO_DEEP";
    pub const TOO_MANY_NODES: &str = "TOO_MANY_NODES";
    pub const STRING_TOO_LONG: &str = "STRING_TOO_LONG";
    pub const NOT_A_NUMBER: &str = "NOT_A_NUMBER";
    pub const DOCUMENT_MALFORMED: &str = "DOCUMENT_MALFORMED";
    // identity
    pub const CODE_EMPTY: &str = "CODE_EMPTY";
    pub const CODE_INVALID: &str = "CODE_INVALID";
    pub const VERSION_INVALID: &str = "VERSION_INVALID";
    pub const NAME_EMPTY: &str = "NAME_EMPTY";
    pub const UNIT_KIND_INVALID: &str = "UNIT_KIND_INVALID";
    pub const PRECISION_OUT_OF_RANGE: &str = "PRECISION_OUT_OF_RANGE";
    pub const YEAR_OUT_OF_RANGE: &str = "YEAR_OUT_OF_RANGE";
    pub const LEGAL_BASIS_INCOMPLETE: &str = "LEGAL_BASIS_INCOMPLETE";
    // tree
    pub const DUPLICATE_CODE: &str = "DUPLICATE_CODE";
    pub const PARENT_NOT_FOUND: &str = "PARENT_NOT_FOUND";
    pub const PARENT_CYCLE: &str = "PARENT_CYCLE";
    pub const PARENT_AND_NESTED: &str = "PARENT_AND_NESTED";
    pub const KIND_ORDER: &str = "KIND_ORDER";
    pub const NO_NODES: &str = "NO_NODES";
    // points
    pub const NEGATIVE_POINTS: &str = "NEGATIVE_POINTS";
    pub const CHILDREN_SUM_MISMATCH: &str = "CHILDREN_SUM_MISMATCH";
    pub const CHILDREN_SUM_BELOW_MAX: &str = "CHILDREN_SUM_BELOW_MAX";
    pub const SCALE_MISMATCH: &str = "SCALE_MISMATCH";
    pub const SCALE_NOT_POSITIVE: &str = "SCALE_NOT_POSITIVE";
    // leaves and methods
    pub const METHOD_MISSING: &str = "METHOD_MISSING";
    pub const METHOD_ON_INNER_NODE: &str = "METHOD_ON_INNER_NODE";
    pub const TIERS_EMPTY: &str = "TIERS_EMPTY";
    pub const TIERS_NOT_ORDERED: &str = "TIERS_NOT_ORDERED";
    pub const BAND_POINTS_EXCEED_MAX: &str = "BAND_POINTS_EXCEED_MAX";
    pub const CHOICE_EMPTY: &str = "CHOICE_EMPTY";
    pub const DUPLICATE_OPTION: &str = "DUPLICATE_OPTION";
    pub const OPTION_POINTS_EXCEED_MAX: &str = "OPTION_POINTS_EXCEED_MAX";
    pub const TARGET_OUT_OF_RANGE: &str = "TARGET_OUT_OF_RANGE";
    pub const ITEMS_EMPTY: &str = "ITEMS_EMPTY";
    pub const DUPLICATE_ITEM: &str = "DUPLICATE_ITEM";
    pub const ITEM_CAP_EXCEEDS_MAX: &str = "ITEM_CAP_EXCEEDS_MAX";
    pub const ITEM_POINTS_NOT_POSITIVE: &str = "ITEM_POINTS_NOT_POSITIVE";
    pub const AUTOMATIC_ON_INNER_NODE: &str = "AUTOMATIC_ON_INNER_NODE";
    pub const BONUS_NOT_TOP_LEVEL: &str = "BONUS_NOT_TOP_LEVEL";
    pub const EVIDENCE_ON_INNER_NODE: &str = "EVIDENCE_ON_INNER_NODE";
    pub const APPLICABILITY_ON_INNER_NODE: &str = "APPLICABILITY_ON_INNER_NODE";
    // pillars
    pub const DUPLICATE_PILLAR: &str = "DUPLICATE_PILLAR";
    pub const PILLAR_EMPTY: &str = "PILLAR_EMPTY";
    pub const PILLAR_UNKNOWN_INDICATOR: &str = "PILLAR_UNKNOWN_INDICATOR";
    pub const PILLAR_NOT_MAIN: &str = "PILLAR_NOT_MAIN";
    pub const DUPLICATE_PILLAR_MEMBER: &str = "DUPLICATE_PILLAR_MEMBER";
    // replacements
    pub const REPLACES_DUPLICATE: &str = "REPLACES_DUPLICATE";
    // format version
    pub const SCHEMA_VERSION_UNSUPPORTED: &str = "SCHEMA_VERSION_UNSUPPORTED";
    // entry-form texts
    pub const INPUT_TEXT_UNKNOWN: &str = "INPUT_TEXT_UNKNOWN";
    pub const INPUT_TEXT_ON_INNER_NODE: &str = "INPUT_TEXT_ON_INNER_NODE";
    // classification (xếp loại)
    pub const CLASS_BANDS_EMPTY: &str = "CLASS_BANDS_EMPTY";
    pub const CLASS_BAND_DUPLICATE: &str = "CLASS_BAND_DUPLICATE";
    pub const CLASS_BAND_OUT_OF_RANGE: &str = "CLASS_BAND_OUT_OF_RANGE";
    pub const CLASS_BAND_PRECISION: &str = "CLASS_BAND_PRECISION";
    pub const CLASS_BANDS_OVERLAP: &str = "CLASS_BANDS_OVERLAP";
    pub const CLASS_BANDS_NOT_DESCENDING: &str = "CLASS_BANDS_NOT_DESCENDING";
    pub const CLASS_BANDS_NO_FLOOR: &str = "CLASS_BANDS_NO_FLOOR";
}

use codes::*;

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

/// Escapes one reference token of a JSON pointer (RFC 6901 §3).
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
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

// ---------------------------------------------------------------------------------------------
// Stage 1: raw JSON
// ---------------------------------------------------------------------------------------------

/// Stage 1, on the raw JSON value, before serde typing: nesting depth (`TOO_DEEP`, reported
/// once), node count (`TOO_MANY_NODES`), string lengths (`STRING_TOO_LONG`, member names
/// included) and the raw values of the points-like fields [`POINTS_FIELDS`] (`NOT_A_NUMBER`):
/// accepted are JSON numbers that fit a `Decimal` and strings holding a plain decimal
/// (`-?[0-9]+(.[0-9]+)?`, e.g. `"12.5"`); `null` is left to the typed stage; anything else
/// (`"NaN"`, `"Infinity"`, `"1e400"`, `"1e5"`, `"12,5"`, booleans, arrays, objects) is reported.
/// Iterative, so any depth is safe; at most [`MAX_RAW_PROBLEMS`] problems (plus
/// `TOO_MANY_NODES`) are returned.
pub fn check_raw(value: &Value) -> Vec<DocProblem> {
    let mut out = Vec::new();
    let mut too_deep_reported = false;
    // (value, pointer, depth of this value if it is a container; the root is level 1)
    let mut stack: Vec<(&Value, String, usize)> = vec![(value, String::new(), 1)];
    while let Some((v, ptr, depth)) = stack.pop() {
        if out.len() >= MAX_RAW_PROBLEMS {
            break;
        }
        match v {
            Value::String(s) => check_string_len(s, &ptr, "string", &mut out),
            Value::Array(items) => {
                if depth > MAX_JSON_DEPTH {
                    report_too_deep(&ptr, &mut too_deep_reported, &mut out);
                    continue;
                }
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, format!("{ptr}/{i}"), depth + 1));
                }
            }
            Value::Object(members) => {
                if depth > MAX_JSON_DEPTH {
                    report_too_deep(&ptr, &mut too_deep_reported, &mut out);
                    continue;
                }
                let mut pushed = Vec::with_capacity(members.len());
                for (key, member) in members {
                    let member_ptr = format!("{ptr}/{}", escape_token(key));
                    check_string_len(key, &member_ptr, "member name", &mut out);
                    if POINTS_FIELDS.contains(&key.as_str()) {
                        check_points_value(member, &member_ptr, key, &mut out);
                    }
                    pushed.push((member, member_ptr, depth + 1));
                }
                stack.extend(pushed.into_iter().rev());
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    out.truncate(MAX_RAW_PROBLEMS);

    let count = count_raw_nodes(value);
    if count > MAX_NODES {
        problem(
            &mut out,
            "/nodes".into(),
            TOO_MANY_NODES,
            format!("the document has {count} nodes; at most {MAX_NODES} are allowed"),
        );
    }
    out
}

fn report_too_deep(ptr: &str, reported: &mut bool, out: &mut Vec<DocProblem>) {
    if !*reported {
        *reported = true;
        problem(
            out,
            ptr.to_string(),
            TOO_DEEP,
            format!(
                "the document nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects here"
            ),
        );
    }
}

fn check_string_len(s: &str, ptr: &str, what: &str, out: &mut Vec<DocProblem>) {
    // bytes >= chars, so the cheap test first
    if s.len() > MAX_STRING_CHARS {
        let chars = s.chars().count();
        if chars > MAX_STRING_CHARS {
            problem(
                out,
                ptr.to_string(),
                STRING_TOO_LONG,
                format!("{what} of {chars} characters; at most {MAX_STRING_CHARS} are allowed"),
            );
        }
    }
}

/// `-?[0-9]+(\.[0-9]+)?` that also fits a `Decimal`.
fn is_plain_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && Decimal::from_str(s).is_ok()
}

fn check_points_value(v: &Value, ptr: &str, key: &str, out: &mut Vec<DocProblem>) {
    let message = match v {
        Value::Null => return,
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                return;
            }
            match n.as_f64() {
                // the typed stage converts a float through its shortest decimal text
                Some(f) if Decimal::from_str(&f.to_string()).is_ok() => return,
                _ => format!("`{key}` is {n}, outside the range of an exact decimal"),
            }
        }
        Value::String(s) => {
            if is_plain_decimal(s) {
                return;
            }
            format!(
                "`{key}` must be a plain decimal such as \"12.5\" (digits, an optional leading '-', \
                 an optional fraction; no exponent, NaN or infinity; at most 28 significant digits), got {}",
                quote(s)
            )
        }
        Value::Bool(b) => format!("`{key}` must be a decimal number, got the boolean {b}"),
        Value::Array(_) => format!("`{key}` must be a decimal number, got an array"),
        Value::Object(_) => format!("`{key}` must be a decimal number, got an object"),
    };
    problem(out, ptr.to_string(), NOT_A_NUMBER, message);
}

/// Counts the objects in the root `nodes` array and, recursively, in their `children` arrays.
fn count_raw_nodes(value: &Value) -> usize {
    let mut count = 0usize;
    let mut stack: Vec<&Vec<Value>> = Vec::new();
    if let Some(Value::Array(nodes)) = value.get("nodes") {
        stack.push(nodes);
    }
    while let Some(list) = stack.pop() {
        count += list.len();
        for item in list {
            if let Some(Value::Array(children)) = item.get("children") {
                stack.push(children);
            }
        }
    }
    count
}

// ---------------------------------------------------------------------------------------------
// Stage 2: the typed document
// ---------------------------------------------------------------------------------------------

fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Group => "group",
        NodeKind::Main => "main",
        NodeKind::Component => "component",
        NodeKind::Criterion => "criterion",
        NodeKind::Bonus => "bonus",
        NodeKind::Penalty => "penalty",
    }
}

fn is_bonus_or_penalty(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::Bonus | NodeKind::Penalty)
}

/// Kinds a node of `parent` kind may contain (`None` = the top level).
fn allowed_children(parent: Option<NodeKind>) -> &'static [NodeKind] {
    match parent {
        None => &[
            NodeKind::Group,
            NodeKind::Main,
            NodeKind::Bonus,
            NodeKind::Penalty,
        ],
        Some(NodeKind::Group) => &[NodeKind::Group, NodeKind::Main],
        Some(NodeKind::Main) => &[NodeKind::Component],
        Some(NodeKind::Component) => &[NodeKind::Criterion],
        Some(_) => &[],
    }
}

fn kinds_list(kinds: &[NodeKind]) -> String {
    if kinds.is_empty() {
        "nothing".into()
    } else {
        kinds
            .iter()
            .map(|k| kind_name(*k))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// CODE_EMPTY / CODE_INVALID for one code at `ptr`; `what` names it in the message.
fn check_code(code: &str, ptr: String, what: &str, out: &mut Vec<DocProblem>) {
    if code.trim().is_empty() {
        problem(out, ptr, CODE_EMPTY, format!("{what} is empty"));
        return;
    }
    let chars = code.chars().count();
    if chars > MAX_CODE_CHARS {
        problem(
            out,
            ptr,
            CODE_INVALID,
            format!(
                "{what} {} is {chars} characters long; at most {MAX_CODE_CHARS} are allowed",
                quote(code)
            ),
        );
        return;
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        problem(
            out,
            ptr,
            CODE_INVALID,
            format!(
                "{what} {} contains {bad:?}; only ASCII letters, digits, '.', '-' and '_' are allowed",
                quote(code)
            ),
        );
    }
}

fn check_name(name: &str, ptr: String, what: &str, out: &mut Vec<DocProblem>) {
    if name.trim().is_empty() {
        problem(out, ptr, NAME_EMPTY, format!("{what} is empty"));
    }
}

/// One node of the submitted document, wherever it sits, with its place in the logical tree.
struct Entry<'a> {
    node: &'a Node,
    /// Pointer to the node object as submitted, e.g. `/nodes/3/children/1`.
    ptr: String,
    /// Index in `doc.nodes` of the top-level node that contains (or is) this node.
    top: usize,
    /// Listed at the top level of `nodes` with a `parent` (flat form).
    flat: bool,
    /// Logical parent (entry index): the enclosing node, or the flat `parent` once resolved.
    parent: Option<usize>,
    /// Logical children: nested ones first, then flat ones in document order.
    children: Vec<usize>,
}

/// Resolution state of a top-level node (cycle detection over flat `parent` links).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Unknown,
    InProgress,
    Rooted,
    Detached,
}

/// Stage 2, on the typed document: every semantic rule. Returns ALL problems (an empty vector
/// means the document is valid), in a deterministic order. Never panics, whatever the input
/// (arithmetic is checked; no recursion over the tree).
pub fn validate(doc: &SetDocument) -> Vec<DocProblem> {
    let mut out = Vec::new();
    check_identity(doc, &mut out);

    // -- collect every node in document order (pre-order), iteratively
    let mut entries: Vec<Entry> = Vec::new();
    let mut top_entry: Vec<usize> = Vec::with_capacity(doc.nodes.len());
    let mut stack: Vec<(&Node, String, usize, Option<usize>)> = doc
        .nodes
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| (n, format!("/nodes/{i}"), i, None))
        .collect();
    while let Some((node, ptr, top, nested_parent)) = stack.pop() {
        let idx = entries.len();
        if nested_parent.is_none() {
            top_entry.push(idx);
        }
        for (j, child) in node.children.iter().enumerate().rev() {
            stack.push((child, format!("{ptr}/children/{j}"), top, Some(idx)));
        }
        entries.push(Entry {
            node,
            ptr,
            top,
            flat: nested_parent.is_none() && node.parent.is_some(),
            parent: nested_parent,
            children: Vec::new(),
        });
    }

    if doc.nodes.is_empty() {
        problem(
            &mut out,
            "/nodes".into(),
            NO_NODES,
            "the set has no nodes; at least one group or main indicator is required".into(),
        );
    }

    // -- codes: identity and duplicates (first occurrence wins for look-ups)
    let mut by_code: HashMap<&str, usize> = HashMap::new();
    for (idx, e) in entries.iter().enumerate() {
        check_code(
            &e.node.code,
            format!("{}/code", e.ptr),
            "node code",
            &mut out,
        );
        if let Some(&first) = by_code.get(e.node.code.as_str()) {
            problem(
                &mut out,
                format!("{}/code", e.ptr),
                DUPLICATE_CODE,
                format!(
                    "node code {} is already used by the node at {}",
                    quote(&e.node.code),
                    entries[first].ptr
                ),
            );
        } else {
            by_code.insert(e.node.code.as_str(), idx);
        }
    }

    // -- parents: nested nodes must not declare one; flat ones must name an existing node
    let mut parent_missing = vec![false; doc.nodes.len()];
    let mut resolved: Vec<(usize, usize)> = Vec::new();
    for (idx, e) in entries.iter().enumerate() {
        let Some(parent_code) = e.node.parent.as_deref() else {
            continue;
        };
        if !e.flat {
            let enclosing = e.parent.map_or("", |p| entries[p].node.code.as_str());
            problem(
                &mut out,
                format!("{}/parent", e.ptr),
                PARENT_AND_NESTED,
                format!(
                    "node {} is nested in the children of {} and also declares parent {}; \
                     use one form or the other",
                    quote(&e.node.code),
                    quote(enclosing),
                    quote(parent_code)
                ),
            );
            continue;
        }
        match by_code.get(parent_code) {
            Some(&p) => resolved.push((idx, p)),
            None => {
                parent_missing[e.top] = true;
                problem(
                    &mut out,
                    format!("{}/parent", e.ptr),
                    PARENT_NOT_FOUND,
                    format!(
                        "node {} names parent {}, but no node has that code",
                        quote(&e.node.code),
                        quote(parent_code)
                    ),
                );
            }
        }
    }
    for (idx, p) in resolved {
        entries[idx].parent = Some(p);
    }

    // -- cycles among flat parent links; a top-level node is rooted when its chain ends at a
    //    true top-level node, detached when it ends in a missing parent or a cycle
    let mut reach = vec![Reach::Unknown; doc.nodes.len()];
    let mut in_cycle = vec![false; doc.nodes.len()];
    for start in 0..doc.nodes.len() {
        if reach[start] != Reach::Unknown {
            continue;
        }
        let mut path: Vec<usize> = Vec::new();
        let mut cur = start;
        let result = loop {
            match reach[cur] {
                Reach::Rooted => break Reach::Rooted,
                Reach::Detached => break Reach::Detached,
                Reach::InProgress => {
                    let from = path.iter().position(|&t| t == cur).unwrap_or(0);
                    let cycle = &path[from..];
                    report_cycle(cycle, &entries, &top_entry, &mut out);
                    for &t in cycle {
                        in_cycle[t] = true;
                    }
                    break Reach::Detached;
                }
                Reach::Unknown => {
                    reach[cur] = Reach::InProgress;
                    path.push(cur);
                    let e = &entries[top_entry[cur]];
                    if !e.flat {
                        break Reach::Rooted;
                    }
                    if parent_missing[cur] {
                        break Reach::Detached;
                    }
                    match e.parent {
                        Some(p) => cur = entries[p].top,
                        None => break Reach::Detached,
                    }
                }
            }
        };
        for t in path {
            reach[t] = result;
        }
    }
    let any_detached = reach.contains(&Reach::Detached);

    // -- logical children: nested first (pre-order keeps their order), then flat ones
    for idx in 0..entries.len() {
        if let (false, Some(p)) = (entries[idx].flat, entries[idx].parent) {
            entries[p].children.push(idx);
        }
    }
    for &idx in &top_entry {
        if let (true, Some(p)) = (entries[idx].flat, entries[idx].parent) {
            entries[p].children.push(idx);
        }
    }

    // -- descriptive subtrees (every max 0, like "Thông tin chung") are exempt from KIND_ORDER
    let mut zero: Vec<bool> = entries
        .iter()
        .map(|e| e.node.max_points.is_zero())
        .collect();
    let mut work: Vec<usize> = (0..entries.len()).filter(|&i| !zero[i]).collect();
    while let Some(i) = work.pop() {
        if let Some(p) = entries[i].parent
            && zero[p]
        {
            zero[p] = false;
            work.push(p);
        }
    }

    // -- per node: kinds, inner/leaf rules, points
    for (idx, e) in entries.iter().enumerate() {
        let node = e.node;
        // a flat node whose parent is missing or part of a cycle: already reported
        let broken_link = e.flat && (e.parent.is_none() || in_cycle[e.top]);
        check_node_kind(idx, &entries, broken_link, &zero, &mut out);
        check_name(&node.name, format!("{}/name", e.ptr), "node name", &mut out);
        if node.max_points.is_sign_negative() && !node.max_points.is_zero() {
            problem(
                &mut out,
                format!("{}/max_points", e.ptr),
                NEGATIVE_POINTS,
                format!(
                    "node {} has max_points {}; points cannot be negative",
                    quote(&node.code),
                    num(node.max_points)
                ),
            );
        }
        for (k, old) in node.replaces.iter().enumerate() {
            check_code(
                old,
                format!("{}/replaces/{k}", e.ptr),
                "replaced code",
                &mut out,
            );
        }
        if e.children.is_empty() {
            check_leaf(e, &mut out);
        } else {
            check_inner(e, &entries, &mut out);
        }
    }

    // -- tree depth, over the rooted part only (breadth first from the true top level)
    let mut level: Vec<(usize, usize)> = top_entry
        .iter()
        .filter(|&&i| !entries[i].flat)
        .map(|&i| (i, 1))
        .collect();
    while let Some((i, depth)) = level.pop() {
        if depth > MAX_TREE_DEPTH {
            problem(
                &mut out,
                entries[i].ptr.clone(),
                TOO_DEEP,
                format!(
                    "node {} sits at depth {depth} of the tree; at most {MAX_TREE_DEPTH} levels are allowed",
                    quote(&entries[i].node.code)
                ),
            );
            continue;
        }
        level.extend(entries[i].children.iter().map(|&c| (c, depth + 1)));
    }

    // -- scale
    if doc.scale <= Decimal::ZERO {
        problem(
            &mut out,
            "/scale".into(),
            SCALE_NOT_POSITIVE,
            format!("scale is {}; it must be greater than 0", num(doc.scale)),
        );
    } else if !doc.nodes.is_empty() && !any_detached {
        let roots = doc
            .nodes
            .iter()
            .filter(|n| n.parent.is_none() && !is_bonus_or_penalty(n.kind));
        match checked_sum(roots.clone().map(|n| n.max_points)) {
            Some(total) if total == doc.scale => {}
            total => {
                let codes: Vec<String> = roots.map(|n| quote(&n.code)).collect();
                problem(
                    &mut out,
                    "/scale".into(),
                    SCALE_MISMATCH,
                    format!(
                        "scale is {} but the top-level nodes ({}, bonus and penalty excluded) add up to {}",
                        num(doc.scale),
                        codes.join(", "),
                        total.map_or_else(|| "more than the decimal range".into(), num)
                    ),
                );
            }
        }
    }

    check_pillars(doc, &entries, &by_code, &mut out);
    check_replaces(&entries, &mut out);
    if let Some(c) = &doc.classification {
        check_classification(c, doc.precision, &mut out);
    }
    out
}

fn checked_sum(mut values: impl Iterator<Item = Decimal>) -> Option<Decimal> {
    values.try_fold(Decimal::ZERO, |acc, v| acc.checked_add(v))
}

fn report_cycle(
    cycle: &[usize],
    entries: &[Entry],
    top_entry: &[usize],
    out: &mut Vec<DocProblem>,
) {
    let Some(&first) = cycle.iter().min() else {
        return;
    };
    let e = &entries[top_entry[first]];
    let message = if cycle.len() == 1 && e.parent == Some(top_entry[first]) {
        format!("node {} names itself as its parent", quote(&e.node.code))
    } else {
        // the chain of declared parents, starting at the first member in document order;
        // a parent nested inside a top-level node is shown with that node
        let start = cycle.iter().position(|&t| t == first).unwrap_or(0);
        let mut chain = vec![quote(&e.node.code)];
        for &t in cycle[start..].iter().chain(&cycle[..start]) {
            let m = &entries[top_entry[t]];
            let Some(p) = m.parent else { continue };
            let holder = &entries[top_entry[entries[p].top]];
            if top_entry[entries[p].top] == p {
                chain.push(quote(&entries[p].node.code));
            } else {
                chain.push(format!(
                    "{} (inside {})",
                    quote(&entries[p].node.code),
                    quote(&holder.node.code)
                ));
            }
        }
        format!(
            "the parent chain of node {} loops back to it: {}",
            quote(&e.node.code),
            chain.join(" → ")
        )
    };
    problem(out, format!("{}/parent", e.ptr), PARENT_CYCLE, message);
}

fn check_node_kind(
    idx: usize,
    entries: &[Entry],
    broken_link: bool,
    zero: &[bool],
    out: &mut Vec<DocProblem>,
) {
    let e = &entries[idx];
    let kind = e.node.kind;
    if is_bonus_or_penalty(kind) && !e.children.is_empty() {
        let count = e.children.len();
        // nested children come first in `children`; without any, point at the first flat one
        let ptr = if e.node.children.is_empty() {
            format!("{}/parent", entries[e.children[0]].ptr)
        } else {
            format!("{}/children", e.ptr)
        };
        problem(
            out,
            ptr,
            BONUS_NOT_TOP_LEVEL,
            format!(
                "{} node {} has {count} child node(s); bonus and penalty nodes must be leaves",
                kind_name(kind),
                quote(&e.node.code)
            ),
        );
    }
    if broken_link {
        return;
    }
    let parent_kind = e.parent.map(|p| entries[p].node.kind);
    if let Some(p) = e.parent {
        let pk = entries[p].node.kind;
        if is_bonus_or_penalty(kind) {
            problem(
                out,
                format!("{}/kind", e.ptr),
                BONUS_NOT_TOP_LEVEL,
                format!(
                    "{} node {} sits under the {pk} {}; bonus and penalty nodes belong at the top level",
                    kind_name(kind),
                    quote(&e.node.code),
                    quote(&entries[p].node.code),
                    pk = kind_name(pk),
                ),
            );
            return;
        }
        if is_bonus_or_penalty(pk) {
            return; // reported on the bonus/penalty node itself
        }
    }
    let allowed = allowed_children(parent_kind);
    if allowed.contains(&kind) || zero[idx] {
        return;
    }
    let message = match e.parent {
        None => format!(
            "a {} cannot sit at the top level; top-level nodes may be: {}",
            kind_name(kind),
            kinds_list(allowed)
        ),
        Some(p) => format!(
            "a {} cannot sit under the {} {}; a {} may contain: {}",
            kind_name(kind),
            kind_name(entries[p].node.kind),
            quote(&entries[p].node.code),
            kind_name(entries[p].node.kind),
            kinds_list(allowed)
        ),
    };
    problem(
        out,
        format!("{}/kind", e.ptr),
        KIND_ORDER,
        format!("node {}: {message}", quote(&e.node.code)),
    );
}

fn check_inner(e: &Entry, entries: &[Entry], out: &mut Vec<DocProblem>) {
    let node = e.node;
    let code = quote(&node.code);
    if let Some(m) = &node.method {
        problem(
            out,
            format!("{}/method", e.ptr),
            METHOD_ON_INNER_NODE,
            format!(
                "node {code} has children, so its points are their sum; remove its `{}` method",
                m.name()
            ),
        );
    }
    if node.automatic {
        problem(
            out,
            format!("{}/automatic", e.ptr),
            AUTOMATIC_ON_INNER_NODE,
            format!("node {code} has children; only leaves can be measured automatically"),
        );
    }
    if node.evidence != EvidenceRule::None {
        let rule = match node.evidence {
            EvidenceRule::Required => "required",
            _ => "optional",
        };
        problem(
            out,
            format!("{}/evidence", e.ptr),
            EVIDENCE_ON_INNER_NODE,
            format!(
                "node {code} has children but evidence is {rule:?}; evidence rules belong on leaves"
            ),
        );
    }
    if !node.applicability.is_default() {
        problem(
            out,
            format!("{}/applicability", e.ptr),
            APPLICABILITY_ON_INNER_NODE,
            format!("node {code} has children; applicability rules belong on leaves"),
        );
    }
    if node.evidence_expected.is_some() {
        problem(
            out,
            format!("{}/evidence_expected", e.ptr),
            EVIDENCE_ON_INNER_NODE,
            format!("node {code} has children; the evidence expected is described on its leaves"),
        );
    }
    if !node.inputs.is_empty() {
        problem(
            out,
            format!("{}/inputs", e.ptr),
            INPUT_TEXT_ON_INNER_NODE,
            format!("node {code} has children, so it takes no inputs; describe them on its leaves"),
        );
    }
    let sum = checked_sum(e.children.iter().map(|&c| entries[c].node.max_points));
    let sum_text = sum.map_or_else(|| "more than the decimal range".into(), num);
    let kids = match e.children.len() {
        1 => "its 1 child".to_string(),
        n => format!("its {n} children"),
    };
    let max = node.max_points;
    match node.children_policy {
        ChildrenPolicy::Sum if sum != Some(max) => problem(
            out,
            format!("{}/max_points", e.ptr),
            CHILDREN_SUM_MISMATCH,
            format!(
                "node {code} has max_points {} but the max_points of {kids} add up to {sum_text} \
                 (children_policy \"sum\" requires them to be equal)",
                num(max),
            ),
        ),
        ChildrenPolicy::Cap if sum.is_some_and(|s| s < max) => problem(
            out,
            format!("{}/max_points", e.ptr),
            CHILDREN_SUM_BELOW_MAX,
            format!(
                "node {code} has max_points {} but the max_points of {kids} add up to only {sum_text}, \
                 so its maximum can never be reached",
                num(max),
            ),
        ),
        _ => {}
    }
}

fn check_leaf(e: &Entry, out: &mut Vec<DocProblem>) {
    let node = e.node;
    check_input_texts(e, out);
    match &node.method {
        None if !node.max_points.is_zero() => problem(
            out,
            format!("{}/method", e.ptr),
            METHOD_MISSING,
            format!(
                "leaf node {} has max_points {} but no scoring method",
                quote(&node.code),
                num(node.max_points)
            ),
        ),
        None => {}
        Some(m) => check_method(m, node.max_points, &format!("{}/method", e.ptr), out),
    }
}

/// The keys of a leaf's `inputs` must be inputs of its method; labels must not be blank.
fn check_input_texts(e: &Entry, out: &mut Vec<DocProblem>) {
    let node = e.node;
    let names: &[&str] = node.method.as_ref().map_or(&[], Method::input_names);
    for (key, text) in &node.inputs {
        let p = format!("{}/inputs/{}", e.ptr, escape_token(key));
        if !names.contains(&key.as_str()) {
            let expected = if names.is_empty() {
                "it has no scoring method, so it takes no inputs".to_string()
            } else {
                format!(
                    "its `{}` method takes: {}",
                    node.method.as_ref().map_or("", Method::name),
                    names.join(", ")
                )
            };
            problem(
                out,
                p,
                INPUT_TEXT_UNKNOWN,
                format!(
                    "node {} describes input {}, but {expected}",
                    quote(&node.code),
                    quote(key)
                ),
            );
            continue;
        }
        check_name(&text.label, format!("{p}/label"), "input label", out);
    }
}

/// Bands: at least one; codes valid and distinct; labels present; thresholds in `[0, 1]` with
/// at most `precision` decimals, strictly descending (equal thresholds overlap), the last at 0.
fn check_classification(c: &Classification, precision: u32, out: &mut Vec<DocProblem>) {
    let bands = &c.bands;
    if bands.is_empty() {
        problem(
            out,
            "/classification/bands".into(),
            CLASS_BANDS_EMPTY,
            "a classification needs at least one band".into(),
        );
        return;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, b) in bands.iter().enumerate() {
        let p = format!("/classification/bands/{i}");
        check_code(&b.code, format!("{p}/code"), "band code", out);
        if let Some(first) = seen.get(b.code.as_str()) {
            problem(
                out,
                format!("{p}/code"),
                CLASS_BAND_DUPLICATE,
                format!(
                    "band code {} is already used by the band at /classification/bands/{first}",
                    quote(&b.code)
                ),
            );
        } else {
            seen.insert(&b.code, i);
        }
        check_name(&b.label, format!("{p}/label"), "band label", out);
        check_name(&b.label_en, format!("{p}/label_en"), "band label_en", out);
        let t = b.min_index;
        if t < Decimal::ZERO || t > Decimal::ONE {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BAND_OUT_OF_RANGE,
                format!(
                    "band {} starts at index {}; an index lies between 0 and 1",
                    quote(&b.code),
                    num(t)
                ),
            );
        } else if t.normalize().scale() > precision {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BAND_PRECISION,
                format!(
                    "band {} starts at index {}, which has more decimals than the published \
                     precision {precision}; bands compare the index rounded to {precision} decimals",
                    quote(&b.code),
                    num(t)
                ),
            );
        }
        let Some(prev) = i.checked_sub(1).map(|j| &bands[j]) else {
            continue;
        };
        if t == prev.min_index {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BANDS_OVERLAP,
                format!(
                    "bands {} and {} both start at index {}, so they overlap",
                    quote(&prev.code),
                    quote(&b.code),
                    num(t)
                ),
            );
        } else if t > prev.min_index {
            problem(
                out,
                format!("{p}/min_index"),
                CLASS_BANDS_NOT_DESCENDING,
                format!(
                    "band {} starts at {} after band {} starting at {}; list bands from the \
                     highest to the lowest, thresholds strictly descending",
                    quote(&b.code),
                    num(t),
                    quote(&prev.code),
                    num(prev.min_index)
                ),
            );
        }
    }
    let last = bands.len() - 1;
    if bands[last].min_index > Decimal::ZERO {
        problem(
            out,
            format!("/classification/bands/{last}/min_index"),
            CLASS_BANDS_NO_FLOOR,
            format!(
                "the lowest band {} starts at {}; it must start at 0 so that every index has a band",
                quote(&bands[last].code),
                num(bands[last].min_index)
            ),
        );
    }
}

fn negative(d: Decimal) -> bool {
    d < Decimal::ZERO
}

fn check_method(method: &Method, max: Decimal, ptr: &str, out: &mut Vec<DocProblem>) {
    // with a negative max (already reported) every "exceeds max" would be noise
    let exceeds = |p: Decimal| !negative(max) && p > max;
    match method {
        Method::RatioToTarget { target, .. } => {
            if *target <= Decimal::ZERO || *target > Decimal::ONE {
                problem(
                    out,
                    format!("{ptr}/target"),
                    TARGET_OUT_OF_RANGE,
                    format!(
                        "target is {}; it must be greater than 0 and at most 1 (a share, e.g. 0.8)",
                        num(*target)
                    ),
                );
            }
        }
        Method::Tiers { direction, bands } => check_bands(*direction, bands, max, ptr, out),
        Method::Choice { options } => {
            if options.is_empty() {
                problem(
                    out,
                    format!("{ptr}/options"),
                    CHOICE_EMPTY,
                    "a choice method needs at least one option".into(),
                );
            }
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for (i, o) in options.iter().enumerate() {
                let p = format!("{ptr}/options/{i}");
                check_code(&o.code, format!("{p}/code"), "option code", out);
                if let Some(first) = seen.get(o.code.as_str()) {
                    problem(
                        out,
                        format!("{p}/code"),
                        DUPLICATE_OPTION,
                        format!(
                            "option code {} is already used by option {first}",
                            quote(&o.code)
                        ),
                    );
                } else {
                    seen.insert(&o.code, i);
                }
                check_name(&o.label, format!("{p}/label"), "option label", out);
                if negative(o.points) {
                    problem(
                        out,
                        format!("{p}/points"),
                        NEGATIVE_POINTS,
                        format!(
                            "option {} gives {} points; points cannot be negative",
                            quote(&o.code),
                            num(o.points)
                        ),
                    );
                } else if exceeds(o.points) {
                    problem(
                        out,
                        format!("{p}/points"),
                        OPTION_POINTS_EXCEED_MAX,
                        format!(
                            "option {} gives {} points, more than the node's max_points {}",
                            quote(&o.code),
                            num(o.points),
                            num(max)
                        ),
                    );
                }
            }
        }
        Method::CappedSum { items } => {
            if items.is_empty() {
                problem(
                    out,
                    format!("{ptr}/items"),
                    ITEMS_EMPTY,
                    "a capped_sum method needs at least one item".into(),
                );
            }
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for (i, it) in items.iter().enumerate() {
                let p = format!("{ptr}/items/{i}");
                check_code(&it.code, format!("{p}/code"), "item code", out);
                if let Some(first) = seen.get(it.code.as_str()) {
                    problem(
                        out,
                        format!("{p}/code"),
                        DUPLICATE_ITEM,
                        format!(
                            "item code {} is already used by item {first}",
                            quote(&it.code)
                        ),
                    );
                } else {
                    seen.insert(&it.code, i);
                }
                check_name(&it.label, format!("{p}/label"), "item label", out);
                if it.points_per_unit <= Decimal::ZERO {
                    problem(
                        out,
                        format!("{p}/points_per_unit"),
                        ITEM_POINTS_NOT_POSITIVE,
                        format!(
                            "item {} has points_per_unit {}; it must be greater than 0",
                            quote(&it.code),
                            num(it.points_per_unit)
                        ),
                    );
                }
                if let Some(cap) = it.cap {
                    if negative(cap) {
                        problem(
                            out,
                            format!("{p}/cap"),
                            NEGATIVE_POINTS,
                            format!(
                                "item {} has cap {}; points cannot be negative",
                                quote(&it.code),
                                num(cap)
                            ),
                        );
                    } else if exceeds(cap) {
                        problem(
                            out,
                            format!("{p}/cap"),
                            ITEM_CAP_EXCEEDS_MAX,
                            format!(
                                "item {} has cap {}, more than the node's max_points {}",
                                quote(&it.code),
                                num(cap),
                                num(max)
                            ),
                        );
                    }
                }
            }
        }
        Method::Ratio { .. }
        | Method::Boolean { .. }
        | Method::RelativeToBest { .. }
        | Method::Survey { .. }
        | Method::Manual => {}
    }
}

fn check_bands(
    direction: Direction,
    bands: &[Band],
    max: Decimal,
    ptr: &str,
    out: &mut Vec<DocProblem>,
) {
    if bands.is_empty() {
        problem(
            out,
            format!("{ptr}/bands"),
            TIERS_EMPTY,
            "a tiers method needs at least one band".into(),
        );
    }
    for (i, b) in bands.iter().enumerate() {
        let p = format!("{ptr}/bands/{i}");
        if negative(b.points) {
            problem(
                out,
                format!("{p}/points"),
                NEGATIVE_POINTS,
                format!(
                    "band {i} gives {} points; points cannot be negative",
                    num(b.points)
                ),
            );
        } else if !negative(max) && b.points > max {
            problem(
                out,
                format!("{p}/points"),
                BAND_POINTS_EXCEED_MAX,
                format!(
                    "band {i} gives {} points, more than the node's max_points {}",
                    num(b.points),
                    num(max)
                ),
            );
        }
        let Some(prev) = i.checked_sub(1).map(|j| &bands[j]) else {
            continue;
        };
        if b.threshold <= prev.threshold {
            problem(
                out,
                format!("{p}/threshold"),
                TIERS_NOT_ORDERED,
                format!(
                    "band {i} has threshold {} after threshold {}; thresholds must be strictly ascending",
                    num(b.threshold),
                    num(prev.threshold)
                ),
            );
        }
        let (bad, rule) = match direction {
            Direction::HigherIsBetter => (
                b.points < prev.points,
                "with higher_is_better, points must not decrease as thresholds rise",
            ),
            Direction::LowerIsBetter => (
                b.points > prev.points,
                "with lower_is_better, points must not increase as thresholds rise",
            ),
        };
        if bad {
            problem(
                out,
                format!("{p}/points"),
                TIERS_NOT_ORDERED,
                format!(
                    "band {i} gives {} points after a band giving {}; {rule}",
                    num(b.points),
                    num(prev.points)
                ),
            );
        }
    }
}

fn check_identity(doc: &SetDocument, out: &mut Vec<DocProblem>) {
    check_code(&doc.code, "/code".into(), "set code", out);
    if doc.version < 1 {
        problem(
            out,
            "/version".into(),
            VERSION_INVALID,
            format!("version is {}; versions start at 1", doc.version),
        );
    }
    check_name(&doc.name, "/name".into(), "set name", out);
    if doc.schema_version != SCHEMA_VERSION {
        problem(
            out,
            "/schema_version".into(),
            SCHEMA_VERSION_UNSUPPORTED,
            format!(
                "schema_version is {}; documents are validated at version {SCHEMA_VERSION}",
                doc.schema_version
            ),
        );
    }
    if !PRECISION_RANGE.contains(&doc.precision) {
        problem(
            out,
            "/precision".into(),
            PRECISION_OUT_OF_RANGE,
            format!(
                "precision is {}; it must be between {} and {}",
                doc.precision,
                PRECISION_RANGE.start(),
                PRECISION_RANGE.end()
            ),
        );
    }
    if let Some(pp) = doc.points_precision
        && !POINTS_PRECISION_RANGE.contains(&pp)
    {
        problem(
            out,
            "/points_precision".into(),
            PRECISION_OUT_OF_RANGE,
            format!(
                "points_precision is {pp}; it must be between {} and {}",
                POINTS_PRECISION_RANGE.start(),
                POINTS_PRECISION_RANGE.end()
            ),
        );
    }
    if let Some(year) = doc.year
        && !YEAR_RANGE.contains(&year)
    {
        problem(
            out,
            "/year".into(),
            YEAR_OUT_OF_RANGE,
            format!(
                "year is {year}; it must be between {} and {}",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
        );
    }
    if doc.legal_basis.decision_number.trim().is_empty() {
        problem(
            out,
            "/legal_basis/decision_number".into(),
            LEGAL_BASIS_INCOMPLETE,
            "the decision number of the legal basis is empty".into(),
        );
    }
    if doc.legal_basis.issuer.trim().is_empty() {
        problem(
            out,
            "/legal_basis/issuer".into(),
            LEGAL_BASIS_INCOMPLETE,
            "the issuer of the legal basis is empty".into(),
        );
    }
}

fn check_pillars(
    doc: &SetDocument,
    entries: &[Entry],
    by_code: &HashMap<&str, usize>,
    out: &mut Vec<DocProblem>,
) {
    let mut pillar_codes: HashMap<&str, usize> = HashMap::new();
    for (i, pillar) in doc.pillars.iter().enumerate() {
        let p = format!("/pillars/{i}");
        check_code(&pillar.code, format!("{p}/code"), "pillar code", out);
        if let Some(first) = pillar_codes.get(pillar.code.as_str()) {
            problem(
                out,
                format!("{p}/code"),
                DUPLICATE_PILLAR,
                format!(
                    "pillar code {} is already used by the pillar at /pillars/{first}",
                    quote(&pillar.code)
                ),
            );
        } else {
            pillar_codes.insert(&pillar.code, i);
        }
        check_name(&pillar.name, format!("{p}/name"), "pillar name", out);
        if pillar.main_indicators.is_empty() {
            problem(
                out,
                format!("{p}/main_indicators"),
                PILLAR_EMPTY,
                format!("pillar {} lists no main indicators", quote(&pillar.code)),
            );
        }
        let mut members: HashSet<&str> = HashSet::new();
        for (j, code) in pillar.main_indicators.iter().enumerate() {
            let mp = format!("{p}/main_indicators/{j}");
            if !members.insert(code) {
                problem(
                    out,
                    mp,
                    DUPLICATE_PILLAR_MEMBER,
                    format!(
                        "pillar {} lists main indicator {} twice",
                        quote(&pillar.code),
                        quote(code)
                    ),
                );
                continue;
            }
            match by_code.get(code.as_str()) {
                None => problem(
                    out,
                    mp,
                    PILLAR_UNKNOWN_INDICATOR,
                    format!(
                        "pillar {} lists {}, but no node has that code",
                        quote(&pillar.code),
                        quote(code)
                    ),
                ),
                Some(&idx) if entries[idx].node.kind != NodeKind::Main => problem(
                    out,
                    mp,
                    PILLAR_NOT_MAIN,
                    format!(
                        "pillar {} lists {}, which is a {} (at {}); pillars select main indicators",
                        quote(&pillar.code),
                        quote(code),
                        kind_name(entries[idx].node.kind),
                        entries[idx].ptr
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

fn check_replaces(entries: &[Entry], out: &mut Vec<DocProblem>) {
    // old code -> (entry, position) of its first claimant
    let mut claimed: HashMap<&str, usize> = HashMap::new();
    for (idx, e) in entries.iter().enumerate() {
        for (k, old) in e.node.replaces.iter().enumerate() {
            match claimed.get(old.as_str()) {
                Some(&first) if first == idx => problem(
                    out,
                    format!("{}/replaces/{k}", e.ptr),
                    REPLACES_DUPLICATE,
                    format!(
                        "node {} lists replaced code {} twice",
                        quote(&e.node.code),
                        quote(old)
                    ),
                ),
                Some(&first) => problem(
                    out,
                    format!("{}/replaces/{k}", e.ptr),
                    REPLACES_DUPLICATE,
                    format!(
                        "node {} claims to replace {}, which node {} (at {}) already replaces",
                        quote(&e.node.code),
                        quote(old),
                        quote(&entries[first].node.code),
                        entries[first].ptr
                    ),
                ),
                None => {
                    claimed.insert(old, idx);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

/// After [`validate`] returned no problem: the canonical nested form. Flat-form nodes (top-level
/// entries with `parent`) are moved into their parent's `children`, after its nested children,
/// in document order, and every `parent` is cleared. Everything else is kept as submitted.
/// On an invalid document it still terminates: nodes in a parent cycle or under a missing parent
/// are dropped, and each flat node is placed at most once.
pub fn normalize(doc: &SetDocument) -> SetDocument {
    let mut flat_by_parent: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in doc.nodes.iter().enumerate() {
        if let Some(p) = &n.parent {
            flat_by_parent.entry(p.as_str()).or_default().push(i);
        }
    }
    let mut used = vec![false; doc.nodes.len()];
    let nodes = doc
        .nodes
        .iter()
        .filter(|n| n.parent.is_none())
        .map(|n| nest(n, &doc.nodes, &flat_by_parent, &mut used, 0))
        .collect();
    SetDocument {
        nodes,
        ..doc.clone()
    }
}

fn nest(
    node: &Node,
    all: &[Node],
    flat_by_parent: &HashMap<&str, Vec<usize>>,
    used: &mut [bool],
    depth: usize,
) -> Node {
    let mut children: Vec<Node> = Vec::new();
    // a valid tree is at most MAX_TREE_DEPTH deep; the guard only matters for invalid input
    if depth <= MAX_JSON_DEPTH {
        for child in &node.children {
            children.push(nest(child, all, flat_by_parent, used, depth + 1));
        }
        for &i in flat_by_parent.get(node.code.as_str()).into_iter().flatten() {
            if !used[i] {
                used[i] = true;
                children.push(nest(&all[i], all, flat_by_parent, used, depth + 1));
            }
        }
    }
    Node {
        parent: None,
        children,
        ..shallow(node)
    }
}

/// A copy of the node without its children (avoids cloning the subtree twice).
fn shallow(node: &Node) -> Node {
    Node {
        code: node.code.clone(),
        kind: node.kind,
        parent: node.parent.clone(),
        name: node.name.clone(),
        description: node.description.clone(),
        guidance: node.guidance.clone(),
        inputs: node.inputs.clone(),
        max_points: node.max_points,
        children_policy: node.children_policy,
        children: Vec::new(),
        method: node.method.clone(),
        evidence: node.evidence,
        evidence_expected: node.evidence_expected.clone(),
        data_source: node.data_source.clone(),
        verifying_body: node.verifying_body.clone(),
        automatic: node.automatic,
        applicability: node.applicability.clone(),
        replaces: node.replaces.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Typing errors
// ---------------------------------------------------------------------------------------------

/// The message of a serde_json error without its " at line L column C" suffix.
fn bare_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) if err.line() > 0 => text[..i].to_string(),
        _ => text,
    }
}

/// The field named by "unknown field `x`…" / "missing field `x`".
fn field_in_message(msg: &str) -> Option<&str> {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| msg.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
}

const DOCUMENT_ONLY_FIELDS: &[&str] = &[
    "schema_version",
    "classification",
    "version",
    "target_unit_kind",
    "year",
    "legal_basis",
    "scale",
    "precision",
    "points_precision",
    "provenance",
    "pillars",
    "nodes",
];

/// Map a serde_json error of the typed document to one `DOCUMENT_MALFORMED` problem. Without
/// the document the pointer is a best guess: a member of the root when the message names a
/// field only the root has (or lists the root's fields as expected), else `""`; the message
/// carries line and column when the error has them (parsing from text).
/// Prefer [`locate_serde_error`] when the `Value` is at hand: it gives the exact pointer.
pub fn from_serde_error(err: &serde_json::Error) -> DocProblem {
    use serde_json::error::Category;
    let bare = bare_message(err);
    let what = match err.classify() {
        Category::Syntax => "the body is not valid JSON",
        Category::Eof => "the JSON body ends too early",
        Category::Io => "the body could not be read",
        Category::Data => "the document does not match the indicator-set format",
    };
    let pointer = match field_in_message(&bare) {
        Some(f) if DOCUMENT_ONLY_FIELDS.contains(&f) => format!("/{f}"),
        Some(f) if bare.starts_with("unknown field") && bare.contains("`target_unit_kind`") => {
            format!("/{}", escape_token(f))
        }
        Some(f) if bare.starts_with("unknown field") && bare.contains("`decision_number`") => {
            format!("/legal_basis/{}", escape_token(f))
        }
        _ => String::new(),
    };
    let message = if err.line() > 0 {
        format!(
            "{what} (line {}, column {}): {bare}",
            err.line(),
            err.column()
        )
    } else {
        format!("{what}: {bare}")
    };
    DocProblem {
        pointer,
        code: DOCUMENT_MALFORMED,
        message,
    }
}

/// Like [`from_serde_error`], but finds the exact pointer by re-typing the parts of `value`
/// (the document the error came from) one by one: the deepest part that fails is reported.
pub fn locate_serde_error(value: &Value, err: &serde_json::Error) -> DocProblem {
    let mut found = Vec::new();
    locate_document(value, &mut found);
    found
        .into_iter()
        .next()
        .unwrap_or_else(|| from_serde_error(err))
}

/// The whole pipeline for a submitted body: [`check_raw`], typing (every typing problem, each
/// with its exact pointer), [`validate`], then [`normalize`]. `Err` holds the problems of the
/// first stage that found any.
pub fn parse_document(value: &Value) -> Result<SetDocument, Vec<DocProblem>> {
    let raw = check_raw(value);
    if !raw.is_empty() {
        return Err(raw);
    }
    let mut upgraded = value.clone();
    upgrade(&mut upgraded, Origin::Submitted).map_err(|p| vec![p])?;
    // An unknown unit kind is reported with the other problems: the rest of the document is
    // checked as if it named a valid kind.
    let mut problems = Vec::new();
    if let Some(Value::String(k)) = upgraded.get("target_unit_kind")
        && UnitKind::parse(k).is_none()
    {
        problem(
            &mut problems,
            "/target_unit_kind".into(),
            UNIT_KIND_INVALID,
            format!(
                "target_unit_kind {} is not one of: {}",
                quote(k),
                UNIT_KINDS.join(", ")
            ),
        );
        upgraded["target_unit_kind"] = Value::from(UnitKind::Other.as_str());
    }
    let value = &upgraded;
    let doc = match SetDocument::deserialize(value) {
        Ok(doc) => doc,
        Err(err) => {
            let mut found = problems;
            let before = found.len();
            locate_document(value, &mut found);
            if found.len() == before {
                found.push(from_serde_error(&err));
            }
            return Err(found);
        }
    };
    problems.extend(validate(&doc));
    if problems.is_empty() {
        Ok(normalize(&doc))
    } else {
        Err(problems)
    }
}

fn typed_problem(ptr: String, err: &serde_json::Error) -> DocProblem {
    DocProblem {
        pointer: ptr,
        code: DOCUMENT_MALFORMED,
        message: bare_message(err),
    }
}

/// Types `v` as a `T`; on failure reports the error at `ptr`, or at `ptr/field` when the error
/// names an unknown or missing member.
fn locate_whole<'a, T: Deserialize<'a>>(v: &'a Value, ptr: &str, out: &mut Vec<DocProblem>) {
    if let Err(err) = T::deserialize(v) {
        let msg = bare_message(&err);
        let p = match field_in_message(&msg) {
            Some(f) if v.is_object() => format!("{ptr}/{}", escape_token(f)),
            // an internally tagged enum (Method) names its tag's bad value this way
            _ if msg.starts_with("unknown variant") && v.get("type").is_some() => {
                format!("{ptr}/type")
            }
            _ => ptr.to_string(),
        };
        out.push(typed_problem(p, &err));
    }
}

/// Types the member `key` of `obj` (when present) as a `T`.
fn locate_member<'a, T: Deserialize<'a>>(
    obj: &'a Map<String, Value>,
    ptr: &str,
    key: &str,
    out: &mut Vec<DocProblem>,
) {
    if let Some(v) = obj.get(key) {
        locate_whole::<T>(v, &format!("{ptr}/{key}"), out);
    }
}

/// Types each element of the array member `key` with `each`.
fn locate_list(
    obj: &Map<String, Value>,
    ptr: &str,
    key: &str,
    out: &mut Vec<DocProblem>,
    each: &dyn Fn(&Value, &str, &mut Vec<DocProblem>),
) {
    match obj.get(key) {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                each(item, &format!("{ptr}/{key}/{i}"), out);
            }
        }
        Some(other) => locate_whole::<Vec<Value>>(other, &format!("{ptr}/{key}"), out),
        None => {}
    }
}

/// Runs `inner` (member checks); when they find nothing, types the whole object.
fn locate_struct<'a, T: Deserialize<'a>>(
    v: &'a Value,
    ptr: &str,
    out: &mut Vec<DocProblem>,
    inner: impl FnOnce(&'a Map<String, Value>, &mut Vec<DocProblem>),
) {
    let before = out.len();
    if let Value::Object(obj) = v {
        inner(obj, out);
    }
    if out.len() == before {
        locate_whole::<T>(v, ptr, out);
    }
}

fn locate_document(v: &Value, out: &mut Vec<DocProblem>) {
    locate_struct::<SetDocument>(v, "", out, |o, out| {
        locate_member::<u32>(o, "", "schema_version", out);
        locate_member::<String>(o, "", "code", out);
        locate_member::<i32>(o, "", "version", out);
        locate_member::<String>(o, "", "name", out);
        locate_member::<Option<String>>(o, "", "description", out);
        locate_member::<UnitKind>(o, "", "target_unit_kind", out);
        locate_member::<Option<i32>>(o, "", "year", out);
        if let Some(lb) = o.get("legal_basis") {
            let lp = "/legal_basis";
            locate_struct::<LegalBasis>(lb, lp, out, |o, out| {
                locate_member::<String>(o, lp, "decision_number", out);
                // the date type is chrono's: probe it inside an otherwise valid legal basis
                if let Some(date) = o.get("decision_date") {
                    let probe = serde_json::json!(
                        {"decision_number": "-", "issuer": "-", "decision_date": date});
                    if let Err(err) = LegalBasis::deserialize(&probe) {
                        out.push(typed_problem(format!("{lp}/decision_date"), &err));
                    }
                }
                locate_member::<String>(o, lp, "issuer", out);
                locate_member::<Option<String>>(o, lp, "url", out);
            });
        }
        locate_member::<Decimal>(o, "", "scale", out);
        locate_member::<u32>(o, "", "precision", out);
        locate_member::<Option<u32>>(o, "", "points_precision", out);
        locate_member::<Option<String>>(o, "", "provenance", out);
        if let Some(c) = o.get("classification")
            && !c.is_null()
        {
            let cp = "/classification";
            locate_struct::<Classification>(c, cp, out, |o, out| {
                locate_member::<ClassificationStatus>(o, cp, "status", out);
                locate_member::<Option<String>>(o, cp, "source", out);
                locate_list(o, cp, "bands", out, &|b, bp, out| {
                    locate_struct::<ClassBand>(b, bp, out, |o, out| {
                        locate_member::<String>(o, bp, "code", out);
                        locate_member::<String>(o, bp, "label", out);
                        locate_member::<String>(o, bp, "label_en", out);
                        locate_member::<Decimal>(o, bp, "min_index", out);
                    });
                });
            });
        }
        locate_list(o, "", "pillars", out, &|p, ptr, out| {
            locate_struct::<Pillar>(p, ptr, out, |o, out| {
                locate_member::<String>(o, ptr, "code", out);
                locate_member::<String>(o, ptr, "name", out);
                locate_member::<Vec<String>>(o, ptr, "main_indicators", out);
            });
        });
        locate_list(o, "", "nodes", out, &|n, ptr, out| {
            locate_node(n, ptr, out, 1)
        });
    });
}

fn locate_node(v: &Value, ptr: &str, out: &mut Vec<DocProblem>, depth: usize) {
    if depth > MAX_JSON_DEPTH {
        locate_whole::<Node>(v, ptr, out);
        return;
    }
    locate_struct::<Node>(v, ptr, out, |o, out| {
        locate_list(o, ptr, "children", out, &|c, cp, out| {
            locate_node(c, cp, out, depth + 1)
        });
        if let Some(m) = o.get("method")
            && !m.is_null()
        {
            locate_method(m, &format!("{ptr}/method"), out);
        }
        if let Some(a) = o.get("applicability") {
            let ap = format!("{ptr}/applicability");
            locate_struct::<Applicability>(a, &ap, out, |o, out| {
                locate_member::<Vec<String>>(o, &ap, "unit_tags_any", out);
                locate_member::<bool>(o, &ap, "declarable_not_applicable", out);
            });
        }
        locate_member::<String>(o, ptr, "code", out);
        locate_member::<NodeKind>(o, ptr, "kind", out);
        locate_member::<Option<String>>(o, ptr, "parent", out);
        locate_member::<String>(o, ptr, "name", out);
        locate_member::<Option<String>>(o, ptr, "description", out);
        locate_member::<Option<String>>(o, ptr, "guidance", out);
        if let Some(Value::Object(texts)) = o.get("inputs") {
            let ip = format!("{ptr}/inputs");
            for (key, t) in texts {
                let tp = format!("{ip}/{}", escape_token(key));
                locate_struct::<InputText>(t, &tp, out, |o, out| {
                    locate_member::<String>(o, &tp, "label", out);
                    locate_member::<Option<String>>(o, &tp, "description", out);
                });
            }
        } else {
            locate_member::<std::collections::BTreeMap<String, InputText>>(o, ptr, "inputs", out);
        }
        locate_member::<Option<String>>(o, ptr, "evidence_expected", out);
        locate_member::<Decimal>(o, ptr, "max_points", out);
        locate_member::<ChildrenPolicy>(o, ptr, "children_policy", out);
        locate_member::<EvidenceRule>(o, ptr, "evidence", out);
        locate_member::<Option<String>>(o, ptr, "data_source", out);
        locate_member::<Option<String>>(o, ptr, "verifying_body", out);
        locate_member::<bool>(o, ptr, "automatic", out);
        locate_member::<Vec<String>>(o, ptr, "replaces", out);
    });
}

fn locate_method(v: &Value, ptr: &str, out: &mut Vec<DocProblem>) {
    locate_struct::<Method>(v, ptr, out, |o, out| {
        locate_member::<String>(o, ptr, "type", out);
        locate_member::<Decimal>(o, ptr, "target", out);
        locate_member::<Direction>(o, ptr, "direction", out);
        locate_member::<ZeroDenominator>(o, ptr, "zero_denominator", out);
        locate_list(o, ptr, "bands", out, &|b, bp, out| {
            locate_struct::<Band>(b, bp, out, |o, out| {
                locate_member::<Decimal>(o, bp, "threshold", out);
                locate_member::<Decimal>(o, bp, "points", out);
            });
        });
        locate_list(o, ptr, "options", out, &|x, xp, out| {
            locate_struct::<ChoiceOption>(x, xp, out, |o, out| {
                locate_member::<String>(o, xp, "code", out);
                locate_member::<String>(o, xp, "label", out);
                locate_member::<Decimal>(o, xp, "points", out);
            });
        });
        locate_list(o, ptr, "items", out, &|x, xp, out| {
            locate_struct::<SumItem>(x, xp, out, |o, out| {
                locate_member::<String>(o, xp, "code", out);
                locate_member::<String>(o, xp, "label", out);
                locate_member::<Decimal>(o, xp, "points_per_unit", out);
                locate_member::<Option<Decimal>>(o, xp, "cap", out);
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // -- fixtures -------------------------------------------------------------------------------

    fn ratio(code: &str, name: &str, max: &str) -> Value {
        json!({"code": code, "kind": "component", "name": name, "max_points": max,
               "method": {"type": "ratio"}})
    }

    fn boolean(code: &str, name: &str, max: &str) -> Value {
        json!({"code": code, "kind": "component", "name": name, "max_points": max,
               "method": {"type": "boolean"}})
    }

    /// Thanh Hóa district set (QĐ 3716/QĐ-UBND, 2021): 270 = 160 + 75 + 35, nested form.
    /// Points per main indicator and the methods are illustrative.
    /// Group "Chính quyền số", 160 points.
    fn cqs_group() -> Value {
        json!(
                {"code": "CQS", "kind": "group", "name": "Chính quyền số", "max_points": "160",
                 "children": [
                    {"code": "1", "kind": "main", "name": "Nhận thức số", "max_points": "40",
                     "children": [
                        {"code": "1.1", "kind": "component", "name": "Số cuộc họp Ban chỉ đạo",
                         "max_points": "20", "replaces": ["1.1"],
                         "method": {"type": "tiers", "bands": [
                            {"threshold": "1", "points": "5"}, {"threshold": "2", "points": "10"},
                            {"threshold": "3", "points": "15"}, {"threshold": "4", "points": "20"}]}},
                        ratio("1.2", "Tỷ lệ cuộc họp do Chủ tịch chủ trì", "20")
                     ]},
                    {"code": "2", "kind": "main", "name": "Hạ tầng số", "max_points": "50",
                     "children": [
                        boolean("2.1", "Cổng thông tin có chuyên mục CĐS", "10"),
                        ratio("2.2", "Tỷ lệ cán bộ có máy tính", "20"),
                        {"code": "2.3", "kind": "component", "name": "Trưởng Ban chỉ đạo",
                         "max_points": "20",
                         "method": {"type": "choice", "options": [
                            {"code": "chu_tich", "label": "Chủ tịch", "points": "20"},
                            {"code": "pho_chu_tich", "label": "Phó Chủ tịch", "points": "10"},
                            {"code": "khong", "label": "Không có", "points": "0"}]}}
                     ]},
                    {"code": "3", "kind": "main", "name": "Hoạt động chính quyền số",
                     "max_points": "70",
                     "children": [
                        {"code": "3.1", "kind": "component", "name": "Hồ sơ trực tuyến toàn trình",
                         "max_points": "30", "automatic": true, "data_source": "Cổng DVC",
                         "method": {"type": "ratio_to_target", "target": "0.8"}},
                        {"code": "3.2", "kind": "component", "name": "Mức độ hài lòng",
                         "max_points": "20",
                         "method": {"type": "survey", "zero_denominator": "not_applicable"}},
                        {"code": "3.3", "kind": "component", "name": "Ứng dụng trên mạng WAN",
                         "max_points": "10",
                         "method": {"type": "capped_sum", "items": [
                            {"code": "app", "label": "Ứng dụng", "points_per_unit": "1", "cap": "5"},
                            {"code": "csdl", "label": "Cơ sở dữ liệu", "points_per_unit": "2.5"}]}},
                        {"code": "3.4", "kind": "component", "name": "Văn bản điện tử",
                         "max_points": "10",
                         "children": [
                            {"code": "3.4.a", "kind": "criterion", "name": "Chữ ký số",
                             "max_points": "5", "method": {"type": "manual"},
                             "evidence": "required"},
                            {"code": "3.4.b", "kind": "criterion", "name": "Liên thông",
                             "max_points": "5", "method": {"type": "boolean"}}
                         ]}
                     ]}
                 ]}
        )
    }

    /// Groups "Kinh tế số" (75) and "Xã hội số" (35).
    fn economy_and_society() -> Value {
        json!([
                {"code": "KTS", "kind": "group", "name": "Kinh tế số", "max_points": "75",
                 "children": [
                    {"code": "4", "kind": "main", "name": "Hoạt động kinh tế số", "max_points": "75",
                     "children": [
                        {"code": "4.1", "kind": "component", "name": "Doanh nghiệp dùng hóa đơn điện tử",
                         "max_points": "25", "replaces": ["4.1-2020"], "method": {"type": "ratio"}},
                        {"code": "4.2", "kind": "component", "name": "Băng thông bình quân",
                         "max_points": "25", "method": {"type": "relative_to_best"}},
                        {"code": "4.3", "kind": "component", "name": "Hồ sơ quá hạn",
                         "max_points": "25",
                         "method": {"type": "tiers", "direction": "lower_is_better", "bands": [
                            {"threshold": "0", "points": "25"}, {"threshold": "5", "points": "15"},
                            {"threshold": "10", "points": "5"}]}}
                     ]}
                 ]},
                {"code": "XHS", "kind": "group", "name": "Xã hội số", "max_points": "35",
                 "children": [
                    {"code": "5", "kind": "main", "name": "Hoạt động xã hội số", "max_points": "35",
                     "children_policy": "cap",
                     "children": [
                        {"code": "5.1", "kind": "component", "name": "Người dân có VNeID mức 2",
                         "max_points": "20", "evidence": "required", "method": {"type": "ratio"}},
                        {"code": "5.2", "kind": "component", "name": "Lớp kỹ năng số",
                         "max_points": "15", "method": {"type": "boolean"},
                         "applicability": {"declarable_not_applicable": true}},
                        {"code": "5.3", "kind": "component", "name": "Khảo sát người dân",
                         "max_points": "5", "method": {"type": "survey"}}
                     ]}
                 ]}
        ])
    }

    fn nested() -> Value {
        json!({
            "schema_version": 2,
            "code": "TH-HUYEN",
            "version": 1,
            "name": "Bộ chỉ số đánh giá chuyển đổi số cấp huyện",
            "target_unit_kind": "district",
            "year": 2021,
            "legal_basis": {"decision_number": "3716/QĐ-UBND", "decision_date": "2021-09-23",
                            "issuer": "UBND tỉnh Thanh Hóa"},
            "scale": "270",
            "precision": 4,
            "points_precision": 2,
            "provenance": "structure [project-src]; points and methods [inferred]",
            "pillars": [
                {"code": "CQS", "name": "Chính quyền số", "main_indicators": ["1", "2", "3"]},
                {"code": "KTS", "name": "Kinh tế số", "main_indicators": ["1", "2", "4"]},
                {"code": "XHS", "name": "Xã hội số", "main_indicators": ["1", "2", "5"]}
            ],
            "nodes": [
                cqs_group(),
                economy_and_society()[0].clone(),
                economy_and_society()[1].clone(),
                {"code": "TT", "kind": "group", "name": "Thông tin chung", "max_points": "0",
                 "children": [
                    {"code": "TT.1", "kind": "component", "name": "Dân số", "max_points": "0"}
                 ]},
                {"code": "B", "kind": "bonus", "name": "Điểm thưởng", "max_points": "10",
                 "method": {"type": "manual"}},
                {"code": "P", "kind": "penalty", "name": "Điểm trừ", "max_points": "10",
                 "method": {"type": "manual"}}
            ]
        })
    }

    /// The same set in flat form: every node at the top level with `parent`, deepest nodes
    /// listed first (a stable partition, so siblings keep their order).
    fn flat() -> Value {
        let mut v = nested();
        let mut rows: Vec<(usize, Value)> = Vec::new();
        let mut stack: Vec<(Value, Option<String>, usize)> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .map(|n| (n.clone(), None, 0))
            .collect();
        while let Some((mut n, parent, depth)) = stack.pop() {
            let children = n
                .as_object_mut()
                .unwrap()
                .remove("children")
                .unwrap_or(json!([]));
            let code = n["code"].as_str().unwrap().to_string();
            for c in children.as_array().unwrap().iter().rev() {
                stack.push((c.clone(), Some(code.clone()), depth + 1));
            }
            if let Some(p) = parent {
                n["parent"] = json!(p);
            }
            rows.push((depth, n));
        }
        rows.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
        v["nodes"] = Value::Array(rows.into_iter().map(|(_, n)| n).collect());
        v
    }

    fn typed(v: &Value) -> SetDocument {
        serde_json::from_value(v.clone()).expect("the fixture must type")
    }

    /// Every problem of the whole pipeline (an unknown unit kind does not type).
    fn problems_of(v: &Value) -> Vec<DocProblem> {
        parse_document(v).err().unwrap_or_default()
    }

    fn found(v: &Value) -> Vec<(&'static str, String)> {
        let mut f: Vec<_> = problems_of(v)
            .into_iter()
            .map(|p| (p.code, p.pointer))
            .collect();
        f.sort();
        f
    }

    fn with(base: Value, change: impl FnOnce(&mut Value)) -> Value {
        let mut v = base;
        change(&mut v);
        v
    }

    fn at<'a>(v: &'a mut Value, ptr: &str) -> &'a mut Value {
        v.pointer_mut(ptr)
            .unwrap_or_else(|| panic!("no {ptr} in fixture"))
    }

    /// Index in the flat fixture's `nodes` of the node with this code.
    fn flat_index(v: &Value, code: &str) -> usize {
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .position(|n| n["code"] == code)
            .unwrap()
    }

    #[track_caller]
    fn assert_only(v: &Value, code: &'static str, pointer: &str) {
        let problems = problems_of(v);
        assert_eq!(
            found(v),
            vec![(code, pointer.to_string())],
            "all problems: {problems:#?}"
        );
        assert!(!problems[0].message.is_empty());
    }

    #[track_caller]
    fn assert_all(v: &Value, expected: &[(&'static str, &str)]) {
        let mut want: Vec<(&'static str, String)> =
            expected.iter().map(|(c, p)| (*c, p.to_string())).collect();
        want.sort();
        assert_eq!(found(v), want, "all problems: {:#?}", problems_of(v));
    }

    // pointers into the nested fixture
    const MAIN1: &str = "/nodes/0/children/0";
    const C1_1: &str = "/nodes/0/children/0/children/0";
    const C1_2: &str = "/nodes/0/children/0/children/1";
    const C2_1: &str = "/nodes/0/children/1/children/0";
    const C2_2: &str = "/nodes/0/children/1/children/1";
    const C2_3: &str = "/nodes/0/children/1/children/2";
    const MAIN3: &str = "/nodes/0/children/2";
    const C3_1: &str = "/nodes/0/children/2/children/0";
    const C3_3: &str = "/nodes/0/children/2/children/2";
    const CR3_4A: &str = "/nodes/0/children/2/children/3/children/0";
    const C4_2: &str = "/nodes/1/children/0/children/1";
    const C4_3: &str = "/nodes/1/children/0/children/2";
    const MAIN5: &str = "/nodes/2/children/0";
    const C5_2: &str = "/nodes/2/children/0/children/1";
    const BONUS: &str = "/nodes/4";

    // -- valid documents ----------------------------------------------------------------------

    #[test]
    fn the_nested_thanh_hoa_set_is_valid() {
        assert_eq!(validate(&typed(&nested())), vec![]);
        assert_eq!(check_raw(&nested()), vec![]);
    }

    #[test]
    fn the_flat_thanh_hoa_set_is_valid_and_normalizes_to_the_nested_one() {
        let flat = flat();
        assert_eq!(flat["nodes"].as_array().unwrap().len(), 29);
        assert_eq!(
            flat["nodes"][0]["code"], "3.4.a",
            "deepest nodes come first"
        );
        assert_eq!(validate(&typed(&flat)), vec![]);
        assert_eq!(check_raw(&flat), vec![]);
        assert_eq!(normalize(&typed(&flat)), typed(&nested()));
    }

    #[test]
    fn normalizing_a_nested_set_changes_nothing() {
        let doc = typed(&nested());
        assert_eq!(normalize(&doc), doc);
    }

    #[test]
    fn a_mixed_set_puts_flat_children_after_nested_ones_in_document_order() {
        // main "1" keeps 1.1 nested; 1.2 moves to the top level with parent "1"
        let v = with(nested(), |v| {
            let c = at(v, MAIN1)["children"].as_array_mut().unwrap().remove(1);
            let mut c = c;
            c["parent"] = json!("1");
            v["nodes"].as_array_mut().unwrap().push(c);
        });
        assert_eq!(validate(&typed(&v)), vec![]);
        assert_eq!(normalize(&typed(&v)), typed(&nested()));
    }

    #[test]
    fn parse_document_returns_the_normalized_set() {
        assert_eq!(parse_document(&flat()), Ok(typed(&nested())));
    }

    // -- identity ------------------------------------------------------------------------------

    #[test]
    fn an_empty_set_code_is_rejected() {
        assert_only(
            &with(nested(), |v| v["code"] = json!(" ")),
            CODE_EMPTY,
            "/code",
        );
    }

    #[test]
    fn a_node_code_with_a_space_is_invalid() {
        let v = with(nested(), |v| at(v, C2_1)["code"] = json!("2 1"));
        assert_only(&v, CODE_INVALID, &format!("{C2_1}/code"));
    }

    #[test]
    fn a_code_of_65_characters_is_invalid() {
        let v = with(nested(), |v| v["code"] = json!("A".repeat(65)));
        assert_only(&v, CODE_INVALID, "/code");
        let v = with(nested(), |v| v["code"] = json!("A".repeat(64)));
        assert_eq!(found(&v), vec![]);
    }

    #[test]
    fn version_zero_is_invalid() {
        assert_only(
            &with(nested(), |v| v["version"] = json!(0)),
            VERSION_INVALID,
            "/version",
        );
    }

    #[test]
    fn a_blank_node_name_is_rejected() {
        let v = with(nested(), |v| at(v, C1_2)["name"] = json!("  "));
        assert_only(&v, NAME_EMPTY, &format!("{C1_2}/name"));
    }

    #[test]
    fn an_unknown_unit_kind_is_rejected() {
        let v = with(nested(), |v| v["target_unit_kind"] = json!("city"));
        assert_only(&v, UNIT_KIND_INVALID, "/target_unit_kind");
    }

    #[test]
    fn precision_9_is_out_of_range() {
        let v = with(nested(), |v| v["precision"] = json!(9));
        assert_only(&v, PRECISION_OUT_OF_RANGE, "/precision");
    }

    #[test]
    fn points_precision_7_is_out_of_range() {
        let v = with(nested(), |v| v["points_precision"] = json!(7));
        assert_only(&v, PRECISION_OUT_OF_RANGE, "/points_precision");
    }

    #[test]
    fn year_1999_is_out_of_range() {
        assert_only(
            &with(nested(), |v| v["year"] = json!(1999)),
            YEAR_OUT_OF_RANGE,
            "/year",
        );
    }

    #[test]
    fn an_empty_decision_number_is_rejected() {
        let v = with(nested(), |v| {
            v["legal_basis"]["decision_number"] = json!("")
        });
        assert_only(&v, LEGAL_BASIS_INCOMPLETE, "/legal_basis/decision_number");
    }

    // -- tree ----------------------------------------------------------------------------------

    #[test]
    fn a_duplicate_code_is_reported_at_the_second_occurrence_naming_the_first() {
        let v = with(nested(), |v| at(v, C2_2)["code"] = json!("1.2"));
        assert_only(&v, DUPLICATE_CODE, &format!("{C2_2}/code"));
        let p = validate(&typed(&v)).remove(0);
        assert!(p.message.contains(C1_2), "{}", p.message);
    }

    #[test]
    fn a_flat_parent_naming_no_node_is_reported_at_its_parent_member() {
        let base = flat();
        let i = flat_index(&base, "TT.1");
        let v = with(base, |v| v["nodes"][i]["parent"] = json!("TX"));
        assert_only(&v, PARENT_NOT_FOUND, &format!("/nodes/{i}/parent"));
    }

    #[test]
    fn a_flat_parent_cycle_is_reported_once_at_its_first_member() {
        let base = flat();
        let tt = flat_index(&base, "TT");
        let tt1 = flat_index(&base, "TT.1");
        assert!(tt1 < tt);
        let v = with(base, |v| v["nodes"][tt]["parent"] = json!("TT.1"));
        assert_only(&v, PARENT_CYCLE, &format!("/nodes/{tt1}/parent"));
        let p = validate(&typed(&v)).remove(0);
        assert!(
            p.message.contains("\"TT.1\" → \"TT\" → \"TT.1\""),
            "{}",
            p.message
        );
    }

    #[test]
    fn a_node_whose_parent_is_nested_inside_it_is_a_cycle() {
        let base = nested();
        let v = with(base, |v| v["nodes"][3]["parent"] = json!("TT.1"));
        assert_only(&v, PARENT_CYCLE, "/nodes/3/parent");
        let p = validate(&typed(&v)).remove(0);
        assert!(
            p.message.contains("\"TT.1\" (inside \"TT\")"),
            "{}",
            p.message
        );
    }

    #[test]
    fn a_node_that_is_its_own_parent_is_a_cycle() {
        let base = flat();
        let tt = flat_index(&base, "TT");
        let v = with(base, |v| v["nodes"][tt]["parent"] = json!("TT"));
        assert_only(&v, PARENT_CYCLE, &format!("/nodes/{tt}/parent"));
    }

    #[test]
    fn a_nested_node_must_not_declare_a_parent() {
        let v = with(nested(), |v| at(v, C1_1)["parent"] = json!("1"));
        assert_only(&v, PARENT_AND_NESTED, &format!("{C1_1}/parent"));
    }

    #[test]
    fn a_criterion_directly_under_a_main_breaks_the_kind_order() {
        let v = with(nested(), |v| at(v, C2_1)["kind"] = json!("criterion"));
        assert_only(&v, KIND_ORDER, &format!("{C2_1}/kind"));
    }

    #[test]
    fn a_component_under_a_component_breaks_the_kind_order() {
        let v = with(nested(), |v| at(v, CR3_4A)["kind"] = json!("component"));
        assert_only(&v, KIND_ORDER, &format!("{CR3_4A}/kind"));
    }

    #[test]
    fn a_scored_component_at_the_top_level_breaks_the_kind_order() {
        let v = with(nested(), |v| {
            at(v, BONUS)["kind"] = json!("component");
            v["scale"] = json!("280");
        });
        assert_only(&v, KIND_ORDER, &format!("{BONUS}/kind"));
    }

    #[test]
    fn a_flat_component_under_a_group_breaks_the_kind_order_and_both_sums() {
        let base = flat();
        let i = flat_index(&base, "2.1");
        let main2 = flat_index(&base, "2");
        let cqs = flat_index(&base, "CQS");
        let v = with(base, |v| v["nodes"][i]["parent"] = json!("CQS"));
        assert_all(
            &v,
            &[
                (KIND_ORDER, &format!("/nodes/{i}/kind")),
                (CHILDREN_SUM_MISMATCH, &format!("/nodes/{main2}/max_points")),
                (CHILDREN_SUM_MISMATCH, &format!("/nodes/{cqs}/max_points")),
            ],
        );
    }

    #[test]
    fn a_tree_deeper_than_8_levels_is_too_deep() {
        let mut chain = json!({"code": "G8", "kind": "group", "name": "G8", "max_points": "0"});
        for level in (1..8).rev() {
            chain = json!({"code": format!("G{level}"), "kind": "group", "name": "G",
                           "max_points": "0", "children": [chain]});
        }
        let v = with(nested(), |v| v["nodes"][3]["children"] = json!([chain]));
        let ptr = format!("/nodes/3{}", "/children/0".repeat(8));
        assert_only(&v, TOO_DEEP, &ptr);
    }

    #[test]
    fn a_set_without_nodes_is_rejected() {
        let v = with(nested(), |v| {
            v["nodes"] = json!([]);
            v["pillars"] = json!([]);
        });
        assert_only(&v, NO_NODES, "/nodes");
    }

    // -- points --------------------------------------------------------------------------------

    #[test]
    fn a_negative_max_is_rejected() {
        let v = with(nested(), |v| at(v, BONUS)["max_points"] = json!("-10"));
        assert_only(&v, NEGATIVE_POINTS, &format!("{BONUS}/max_points"));
    }

    #[test]
    fn children_that_do_not_add_up_are_a_sum_mismatch_with_both_numbers() {
        let v = with(nested(), |v| at(v, C1_2)["max_points"] = json!("25"));
        assert_only(&v, CHILDREN_SUM_MISMATCH, &format!("{MAIN1}/max_points"));
        let m = validate(&typed(&v)).remove(0).message;
        assert!(m.contains("40") && m.contains("45"), "{m}");
    }

    #[test]
    fn capped_children_below_the_max_make_it_unreachable() {
        let v = with(nested(), |v| {
            at(v, MAIN1)["children_policy"] = json!("cap");
            at(v, C1_2)["max_points"] = json!("15");
        });
        assert_only(&v, CHILDREN_SUM_BELOW_MAX, &format!("{MAIN1}/max_points"));
    }

    #[test]
    fn a_scale_that_is_not_the_sum_of_the_top_level_is_a_mismatch() {
        let v = with(nested(), |v| v["scale"] = json!("280"));
        assert_only(&v, SCALE_MISMATCH, "/scale");
        let m = validate(&typed(&v)).remove(0).message;
        assert!(m.contains("280") && m.contains("270"), "{m}");
    }

    #[test]
    fn a_zero_scale_is_not_positive() {
        assert_only(
            &with(nested(), |v| v["scale"] = json!("0")),
            SCALE_NOT_POSITIVE,
            "/scale",
        );
    }

    // -- leaves and methods --------------------------------------------------------------------

    #[test]
    fn a_scored_leaf_without_method_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C2_1).as_object_mut().unwrap().remove("method");
        });
        assert_only(&v, METHOD_MISSING, &format!("{C2_1}/method"));
    }

    #[test]
    fn a_method_on_a_main_indicator_is_rejected() {
        let v = with(nested(), |v| {
            at(v, MAIN1)["method"] = json!({"type": "manual"})
        });
        assert_only(&v, METHOD_ON_INNER_NODE, &format!("{MAIN1}/method"));
    }

    #[test]
    fn tiers_without_bands_are_rejected() {
        let v = with(nested(), |v| at(v, C1_1)["method"]["bands"] = json!([]));
        assert_only(&v, TIERS_EMPTY, &format!("{C1_1}/method/bands"));
    }

    #[test]
    fn tier_thresholds_must_ascend_strictly() {
        let v = with(nested(), |v| {
            at(v, C1_1)["method"]["bands"] = json!([
                {"threshold": "1", "points": "5"}, {"threshold": "3", "points": "10"},
                {"threshold": "3", "points": "15"}, {"threshold": "4", "points": "20"}]);
        });
        assert_only(
            &v,
            TIERS_NOT_ORDERED,
            &format!("{C1_1}/method/bands/2/threshold"),
        );
    }

    #[test]
    fn higher_is_better_tier_points_must_not_decrease() {
        let v = with(nested(), |v| {
            at(v, C1_1)["method"]["bands"][2]["points"] = json!("8")
        });
        assert_only(
            &v,
            TIERS_NOT_ORDERED,
            &format!("{C1_1}/method/bands/2/points"),
        );
    }

    #[test]
    fn lower_is_better_tier_points_must_not_increase() {
        let v = with(nested(), |v| {
            at(v, C4_3)["method"]["bands"][2]["points"] = json!("20")
        });
        assert_only(
            &v,
            TIERS_NOT_ORDERED,
            &format!("{C4_3}/method/bands/2/points"),
        );
    }

    #[test]
    fn a_band_above_the_max_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C1_1)["method"]["bands"][3]["points"] = json!("25")
        });
        assert_only(
            &v,
            BAND_POINTS_EXCEED_MAX,
            &format!("{C1_1}/method/bands/3/points"),
        );
    }

    #[test]
    fn a_negative_band_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C1_1)["method"]["bands"][0]["points"] = json!("-1")
        });
        assert_only(
            &v,
            NEGATIVE_POINTS,
            &format!("{C1_1}/method/bands/0/points"),
        );
    }

    #[test]
    fn a_choice_without_options_is_rejected() {
        let v = with(nested(), |v| at(v, C2_3)["method"]["options"] = json!([]));
        assert_only(&v, CHOICE_EMPTY, &format!("{C2_3}/method/options"));
    }

    #[test]
    fn a_duplicate_option_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C2_3)["method"]["options"][1]["code"] = json!("chu_tich");
        });
        assert_only(
            &v,
            DUPLICATE_OPTION,
            &format!("{C2_3}/method/options/1/code"),
        );
    }

    #[test]
    fn an_option_above_the_max_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C2_3)["method"]["options"][0]["points"] = json!("30")
        });
        assert_only(
            &v,
            OPTION_POINTS_EXCEED_MAX,
            &format!("{C2_3}/method/options/0/points"),
        );
    }

    #[test]
    fn a_negative_option_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C2_3)["method"]["options"][2]["points"] = json!("-5")
        });
        assert_only(
            &v,
            NEGATIVE_POINTS,
            &format!("{C2_3}/method/options/2/points"),
        );
    }

    #[test]
    fn an_option_code_with_a_slash_is_invalid() {
        let v = with(nested(), |v| {
            at(v, C2_3)["method"]["options"][2]["code"] = json!("a/b")
        });
        assert_only(&v, CODE_INVALID, &format!("{C2_3}/method/options/2/code"));
    }

    #[test]
    fn a_target_must_be_in_0_exclusive_to_1_inclusive() {
        for bad in ["0", "1.5", "-0.2"] {
            let v = with(nested(), |v| at(v, C3_1)["method"]["target"] = json!(bad));
            assert_only(&v, TARGET_OUT_OF_RANGE, &format!("{C3_1}/method/target"));
        }
        let v = with(nested(), |v| at(v, C3_1)["method"]["target"] = json!("1"));
        assert_eq!(found(&v), vec![]);
    }

    #[test]
    fn a_capped_sum_without_items_is_rejected() {
        let v = with(nested(), |v| at(v, C3_3)["method"]["items"] = json!([]));
        assert_only(&v, ITEMS_EMPTY, &format!("{C3_3}/method/items"));
    }

    #[test]
    fn a_duplicate_item_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C3_3)["method"]["items"][1]["code"] = json!("app")
        });
        assert_only(&v, DUPLICATE_ITEM, &format!("{C3_3}/method/items/1/code"));
    }

    #[test]
    fn an_item_cap_above_the_max_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C3_3)["method"]["items"][0]["cap"] = json!("15")
        });
        assert_only(
            &v,
            ITEM_CAP_EXCEEDS_MAX,
            &format!("{C3_3}/method/items/0/cap"),
        );
    }

    #[test]
    fn a_negative_item_cap_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C3_3)["method"]["items"][0]["cap"] = json!("-1")
        });
        assert_only(&v, NEGATIVE_POINTS, &format!("{C3_3}/method/items/0/cap"));
    }

    #[test]
    fn item_points_must_be_positive() {
        let v = with(nested(), |v| {
            at(v, C3_3)["method"]["items"][1]["points_per_unit"] = json!("0");
        });
        assert_only(
            &v,
            ITEM_POINTS_NOT_POSITIVE,
            &format!("{C3_3}/method/items/1/points_per_unit"),
        );
    }

    #[test]
    fn an_automatic_main_indicator_is_rejected() {
        let v = with(nested(), |v| at(v, MAIN3)["automatic"] = json!(true));
        assert_only(&v, AUTOMATIC_ON_INNER_NODE, &format!("{MAIN3}/automatic"));
    }

    #[test]
    fn evidence_on_a_main_indicator_is_rejected() {
        let v = with(nested(), |v| at(v, MAIN5)["evidence"] = json!("required"));
        assert_only(&v, EVIDENCE_ON_INNER_NODE, &format!("{MAIN5}/evidence"));
    }

    #[test]
    fn applicability_on_a_main_indicator_is_rejected() {
        let v = with(nested(), |v| {
            at(v, MAIN5)["applicability"] = json!({"unit_tags_any": ["kinh_te_so"]});
        });
        assert_only(
            &v,
            APPLICABILITY_ON_INNER_NODE,
            &format!("{MAIN5}/applicability"),
        );
    }

    #[test]
    fn a_bonus_below_the_top_level_is_rejected() {
        let v = with(nested(), |v| at(v, C5_2)["kind"] = json!("bonus"));
        assert_only(&v, BONUS_NOT_TOP_LEVEL, &format!("{C5_2}/kind"));
    }

    #[test]
    fn a_bonus_with_nested_children_is_rejected() {
        let v = with(nested(), |v| {
            let b = at(v, BONUS).as_object_mut().unwrap();
            b.remove("method");
            b.insert(
                "children".into(),
                json!([{"code": "B.1", "kind": "component", "name": "Giải thưởng",
                        "max_points": "10", "method": {"type": "manual"}}]),
            );
        });
        assert_only(&v, BONUS_NOT_TOP_LEVEL, &format!("{BONUS}/children"));
    }

    #[test]
    fn a_penalty_with_a_flat_child_is_reported_at_the_child_parent_member() {
        let base = flat();
        let p = flat_index(&base, "P");
        let v = with(base, |v| {
            v["nodes"][p].as_object_mut().unwrap().remove("method");
            v["nodes"].as_array_mut().unwrap().push(json!(
                {"code": "P.1", "kind": "component", "parent": "P", "name": "Sự cố",
                 "max_points": "10", "method": {"type": "manual"}}));
        });
        assert_only(&v, BONUS_NOT_TOP_LEVEL, "/nodes/29/parent");
    }

    #[test]
    fn descriptive_zero_nodes_may_have_no_method_and_any_kind() {
        // "Thông tin chung": a top-level component of 0 points with a 0-point child
        let v = with(nested(), |v| {
            v["nodes"][3]["kind"] = json!("component");
            v["nodes"][3]["children"][0]["kind"] = json!("group");
        });
        assert_eq!(found(&v), vec![]);
    }

    // -- pillars and replacements --------------------------------------------------------------

    #[test]
    fn a_duplicate_pillar_is_rejected() {
        let v = with(nested(), |v| v["pillars"][2]["code"] = json!("CQS"));
        assert_only(&v, DUPLICATE_PILLAR, "/pillars/2/code");
    }

    #[test]
    fn an_empty_pillar_is_rejected() {
        let v = with(nested(), |v| v["pillars"][0]["main_indicators"] = json!([]));
        assert_only(&v, PILLAR_EMPTY, "/pillars/0/main_indicators");
    }

    #[test]
    fn a_pillar_naming_an_unknown_indicator_is_rejected() {
        let v = with(nested(), |v| {
            v["pillars"][0]["main_indicators"] = json!(["1", "2", "3", "9"])
        });
        assert_only(&v, PILLAR_UNKNOWN_INDICATOR, "/pillars/0/main_indicators/3");
    }

    #[test]
    fn a_pillar_naming_a_component_is_rejected() {
        let v = with(nested(), |v| {
            v["pillars"][1]["main_indicators"][0] = json!("1.1")
        });
        assert_only(&v, PILLAR_NOT_MAIN, "/pillars/1/main_indicators/0");
    }

    #[test]
    fn a_pillar_listing_a_member_twice_is_rejected() {
        let v = with(nested(), |v| {
            v["pillars"][0]["main_indicators"] = json!(["1", "2", "3", "1"])
        });
        assert_only(&v, DUPLICATE_PILLAR_MEMBER, "/pillars/0/main_indicators/3");
    }

    #[test]
    fn two_nodes_replacing_the_same_old_code_are_rejected() {
        let v = with(nested(), |v| at(v, C4_2)["replaces"] = json!(["4.1-2020"]));
        assert_only(&v, REPLACES_DUPLICATE, &format!("{C4_2}/replaces/0"));
        let m = validate(&typed(&v)).remove(0).message;
        assert!(m.contains("\"4.1\""), "{m}");
    }

    #[test]
    fn a_node_listing_the_same_replaced_code_twice_is_rejected() {
        let v = with(nested(), |v| {
            at(v, C1_1)["replaces"] = json!(["1.1", "1.1"])
        });
        assert_only(&v, REPLACES_DUPLICATE, &format!("{C1_1}/replaces/1"));
    }

    // -- several problems at once --------------------------------------------------------------

    #[test]
    fn every_independent_problem_is_reported() {
        let v = with(nested(), |v| {
            v["version"] = json!(0);
            v["target_unit_kind"] = json!("huyen");
            at(v, C1_2)["max_points"] = json!("25");
            at(v, C2_3)["method"]["options"] = json!([]);
            at(v, C3_1)["method"]["target"] = json!("80");
            at(v, C5_2).as_object_mut().unwrap().remove("method");
            v["pillars"][2]["main_indicators"][2] = json!("6");
            at(v, BONUS)["max_points"] = json!("-5");
        });
        assert_all(
            &v,
            &[
                (VERSION_INVALID, "/version"),
                (UNIT_KIND_INVALID, "/target_unit_kind"),
                (CHILDREN_SUM_MISMATCH, &format!("{MAIN1}/max_points")),
                (CHOICE_EMPTY, &format!("{C2_3}/method/options")),
                (TARGET_OUT_OF_RANGE, &format!("{C3_1}/method/target")),
                (METHOD_MISSING, &format!("{C5_2}/method")),
                (PILLAR_UNKNOWN_INDICATOR, "/pillars/2/main_indicators/2"),
                (NEGATIVE_POINTS, &format!("{BONUS}/max_points")),
            ],
        );
    }

    // -- raw stage -----------------------------------------------------------------------------

    fn raw(v: &Value) -> Vec<(&'static str, String)> {
        let mut f: Vec<_> = check_raw(v)
            .into_iter()
            .map(|p| (p.code, p.pointer))
            .collect();
        f.sort();
        f
    }

    #[test]
    fn raw_nesting_deeper_than_64_levels_is_reported_once() {
        let mut deep = json!("bottom");
        for _ in 0..70 {
            deep = json!([deep]);
        }
        let v = with(nested(), |v| v["provenance"] = deep);
        // root = level 1, provenance = level 2, so the 65th level is 63 arrays further
        let ptr = format!("/provenance{}", "/0".repeat(63));
        assert_eq!(raw(&v), vec![(TOO_DEEP, ptr)]);
    }

    #[test]
    fn raw_non_numbers_in_points_fields_are_rejected() {
        let cases: &[(&str, Value)] = &[
            ("/scale", json!("Infinity")),
            ("/nodes/4/max_points", json!("NaN")),
            (
                "/nodes/1/children/0/children/2/method/bands/0/threshold",
                json!("inf"),
            ),
            (
                "/nodes/0/children/2/children/0/method/target",
                json!("1e400"),
            ),
            (
                "/nodes/0/children/2/children/2/method/items/0/points_per_unit",
                json!("1e5"),
            ),
            (
                "/nodes/0/children/2/children/2/method/items/0/cap",
                json!(true),
            ),
            (
                "/nodes/0/children/1/children/2/method/options/0/points",
                json!("12,5"),
            ),
            ("/nodes/5/max_points", json!(1e30)),
            ("/nodes/0/max_points", json!(" 160")),
            (
                "/nodes/1/max_points",
                json!("99999999999999999999999999999999"),
            ),
        ];
        for (ptr, bad) in cases {
            let v = with(nested(), |v| *at(v, ptr) = bad.clone());
            assert_eq!(raw(&v), vec![(NOT_A_NUMBER, ptr.to_string())], "{bad}");
        }
        // plain decimals as strings or numbers are fine
        let v = with(nested(), |v| {
            v["scale"] = json!(270);
            at(v, C1_2)["max_points"] = json!(20.0);
            at(v, C3_1)["method"]["target"] = json!("-0.50");
        });
        assert_eq!(raw(&v), vec![]);
    }

    #[test]
    fn raw_strings_over_10000_characters_are_rejected() {
        let v = with(nested(), |v| {
            at(v, C1_1)["guidance"] = json!("x".repeat(10_001))
        });
        assert_eq!(raw(&v), vec![(STRING_TOO_LONG, format!("{C1_1}/guidance"))]);
        // characters, not bytes: 10000 Vietnamese letters are fine
        let v = with(nested(), |v| v["description"] = json!("ầ".repeat(10_000)));
        assert_eq!(raw(&v), vec![]);
    }

    #[test]
    fn raw_documents_over_5000_nodes_are_rejected() {
        let nodes: Vec<Value> = (0..5001)
            .map(|i| json!({"code": format!("N{i}"), "kind": "main", "name": "x", "max_points": "0"}))
            .collect();
        let v = with(nested(), |v| v["nodes"] = Value::Array(nodes));
        assert_eq!(raw(&v), vec![(TOO_MANY_NODES, "/nodes".to_string())]);
    }

    #[test]
    fn raw_member_names_are_escaped_in_pointers() {
        let v = with(nested(), |v| v["a/b~c"] = json!({"points": "NaN"}));
        assert_eq!(raw(&v), vec![(NOT_A_NUMBER, "/a~1b~0c/points".to_string())]);
    }

    // -- typing errors -------------------------------------------------------------------------

    fn type_error(v: &Value) -> serde_json::Error {
        serde_json::from_value::<SetDocument>(v.clone()).expect_err("must not type")
    }

    #[test]
    fn a_syntax_error_is_malformed_with_line_and_column() {
        let err = serde_json::from_str::<SetDocument>("{\n  \"code\": \"X\",\n  oops").unwrap_err();
        let p = from_serde_error(&err);
        assert_eq!((p.code, p.pointer.as_str()), (DOCUMENT_MALFORMED, ""));
        assert!(p.message.contains("line 3"), "{}", p.message);
    }

    #[test]
    fn json_nested_beyond_the_parser_limit_is_malformed() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = serde_json::from_str::<Value>(&text).unwrap_err();
        assert_eq!(from_serde_error(&err).code, DOCUMENT_MALFORMED);
    }

    #[test]
    fn from_serde_error_points_at_root_only_fields() {
        let v = with(nested(), |v| {
            v.as_object_mut().unwrap().remove("scale");
        });
        assert_eq!(from_serde_error(&type_error(&v)).pointer, "/scale");
        let v = with(nested(), |v| v["colour"] = json!("red"));
        assert_eq!(from_serde_error(&type_error(&v)).pointer, "/colour");
    }

    #[test]
    fn locate_finds_the_exact_pointer_of_a_typing_error() {
        let cases: Vec<(Value, String)> = vec![
            (
                with(nested(), |v| at(v, C1_2)["colour"] = json!("red")),
                format!("{C1_2}/colour"),
            ),
            (
                with(nested(), |v| at(v, MAIN3)["kind"] = json!("pillar")),
                format!("{MAIN3}/kind"),
            ),
            (
                with(nested(), |v| at(v, C2_1)["method"]["type"] = json!("magic")),
                format!("{C2_1}/method/type"),
            ),
            (
                with(nested(), |v| {
                    at(v, C1_1)["method"]["bands"][1]
                        .as_object_mut()
                        .unwrap()
                        .remove("points");
                }),
                format!("{C1_1}/method/bands/1/points"),
            ),
            (
                with(nested(), |v| {
                    at(v, C3_3)["method"]["items"][0]["cap"] = json!("lots")
                }),
                format!("{C3_3}/method/items/0/cap"),
            ),
            (
                with(nested(), |v| at(v, C2_1)["method"]["target"] = json!("0.5")),
                format!("{C2_1}/method/target"),
            ),
            (
                with(nested(), |v| v["legal_basis"]["issuer"] = json!(7)),
                "/legal_basis/issuer".to_string(),
            ),
            (
                with(nested(), |v| {
                    v["pillars"][1]["main_indicators"] = json!("1")
                }),
                "/pillars/1/main_indicators".to_string(),
            ),
            (
                with(nested(), |v| {
                    v["legal_basis"]["decision_date"] = json!("23/09/2021")
                }),
                "/legal_basis/decision_date".to_string(),
            ),
            (
                with(nested(), |v| {
                    at(v, C5_2)["applicability"]["declarable_not_applicable"] = json!("yes")
                }),
                format!("{C5_2}/applicability/declarable_not_applicable"),
            ),
            (
                with(nested(), |v| v["version"] = json!("one")),
                "/version".to_string(),
            ),
        ];
        for (v, ptr) in cases {
            let p = locate_serde_error(&v, &type_error(&v));
            assert_eq!(
                (p.code, p.pointer.as_str()),
                (DOCUMENT_MALFORMED, ptr.as_str()),
                "{}",
                p.message
            );
        }
    }

    #[test]
    fn parse_document_reports_every_typing_error() {
        let v = with(nested(), |v| {
            at(v, C1_2)["colour"] = json!("red");
            at(v, C4_2)["kind"] = json!("pillar");
        });
        let mut ptrs: Vec<String> = parse_document(&v)
            .unwrap_err()
            .into_iter()
            .map(|p| p.pointer)
            .collect();
        ptrs.sort();
        assert_eq!(ptrs, vec![format!("{C1_2}/colour"), format!("{C4_2}/kind")]);
    }

    #[test]
    fn validate_never_panics_on_extreme_decimals() {
        let v = with(nested(), |v| {
            at(v, C1_2)["max_points"] = json!("79228162514264337593543950335");
            at(v, C2_2)["max_points"] = json!("79228162514264337593543950335");
        });
        let codes: Vec<_> = found(&v).into_iter().map(|(c, _)| c).collect();
        assert!(codes.contains(&CHILDREN_SUM_MISMATCH));
    }

    // -- classification (xếp loại) ------------------------------------------------------------

    /// Bắc Ninh-style labels on example thresholds.
    fn classified(bands: Value) -> Value {
        with(
            nested(),
            |v| {
                v["classification"] =
                    json!({"status": "example", "source": "ví dụ", "bands": bands})
            },
        )
    }

    fn five_bands() -> Value {
        json!([
            {"code": "XUAT_SAC", "label": "Xuất sắc", "label_en": "Excellent", "min_index": "0.9"},
            {"code": "TOT", "label": "Tốt", "label_en": "Good", "min_index": "0.75"},
            {"code": "KHA", "label": "Khá", "label_en": "Fair", "min_index": "0.6"},
            {"code": "TRUNG_BINH", "label": "Trung bình", "label_en": "Average", "min_index": "0.4"},
            {"code": "KEM", "label": "Kém", "label_en": "Poor", "min_index": "0"}
        ])
    }

    #[test]
    fn a_descending_classification_down_to_zero_is_valid() {
        let v = classified(five_bands());
        let doc = parse_document(&v).expect("valid");
        let c = doc.classification.expect("kept");
        assert_eq!(c.bands.len(), 5);
        assert_eq!(c.status, ClassificationStatus::Example);
    }

    #[test]
    fn two_bands_on_the_same_threshold_overlap() {
        let v = with(classified(five_bands()), |v| {
            v["classification"]["bands"][2]["min_index"] = json!("0.75")
        });
        assert_only(&v, CLASS_BANDS_OVERLAP, "/classification/bands/2/min_index");
    }

    #[test]
    fn bands_must_be_listed_highest_first() {
        let v = with(classified(five_bands()), |v| {
            v["classification"]["bands"][1]["min_index"] = json!("0.95")
        });
        assert_only(
            &v,
            CLASS_BANDS_NOT_DESCENDING,
            "/classification/bands/1/min_index",
        );
    }

    #[test]
    fn the_lowest_band_must_start_at_zero() {
        let v = with(classified(five_bands()), |v| {
            v["classification"]["bands"][4]["min_index"] = json!("0.1")
        });
        assert_only(
            &v,
            CLASS_BANDS_NO_FLOOR,
            "/classification/bands/4/min_index",
        );
    }

    #[test]
    fn band_thresholds_are_indices_at_the_published_precision() {
        let v = with(classified(five_bands()), |v| {
            v["classification"]["bands"][0]["min_index"] = json!("1.5");
            v["classification"]["bands"][1]["min_index"] = json!("0.74995");
        });
        assert_all(
            &v,
            &[
                (CLASS_BAND_OUT_OF_RANGE, "/classification/bands/0/min_index"),
                (CLASS_BAND_PRECISION, "/classification/bands/1/min_index"),
            ],
        );
    }

    #[test]
    fn band_codes_are_distinct_and_labels_present() {
        let v = with(classified(five_bands()), |v| {
            v["classification"]["bands"][1]["code"] = json!("XUAT_SAC");
            v["classification"]["bands"][2]["label_en"] = json!(" ");
        });
        assert_all(
            &v,
            &[
                (CLASS_BAND_DUPLICATE, "/classification/bands/1/code"),
                (NAME_EMPTY, "/classification/bands/2/label_en"),
            ],
        );
        assert_only(
            &classified(json!([])),
            CLASS_BANDS_EMPTY,
            "/classification/bands",
        );
    }

    #[test]
    fn malformed_classifications_are_located() {
        let v = with(classified(five_bands()), |v| {
            v["classification"]["status"] = json!("maybe");
            v["classification"]["bands"][3]["colour"] = json!("red");
        });
        let mut ptrs: Vec<String> = parse_document(&v)
            .unwrap_err()
            .into_iter()
            .map(|p| p.pointer)
            .collect();
        ptrs.sort();
        assert_eq!(
            ptrs,
            vec![
                "/classification/bands/3/colour".to_string(),
                "/classification/status".to_string()
            ]
        );
        let v = with(classified(five_bands()), |v| {
            v["classification"]["bands"][0]["min_index"] = json!("NaN")
        });
        assert_eq!(
            raw(&v),
            vec![(NOT_A_NUMBER, "/classification/bands/0/min_index".into())]
        );
    }

    // -- entry-form texts ---------------------------------------------------------------------

    #[test]
    fn input_texts_name_the_inputs_of_the_leaf_method() {
        let v = with(nested(), |v| {
            at(v, C1_2)["inputs"] = json!({
                "numerator": {"label": "Số cuộc họp do Chủ tịch chủ trì"},
                "denominator": {"label": "Tổng số cuộc họp", "description": "Cả họp trực tuyến"}
            });
            at(v, C1_2)["evidence_expected"] = json!("Biên bản họp");
        });
        assert_eq!(found(&v), vec![]);
        let doc = parse_document(&v).unwrap();
        let leaf = &doc.nodes[0].children[0].children[1];
        assert_eq!(
            leaf.inputs["numerator"].label,
            "Số cuộc họp do Chủ tịch chủ trì"
        );
        assert_eq!(leaf.evidence_expected.as_deref(), Some("Biên bản họp"));

        let v = with(nested(), |v| {
            at(v, C1_2)["inputs"] = json!({"value": {"label": "Giá trị"},
                                           "numerator": {"label": " "}});
            at(v, MAIN1)["inputs"] = json!({"numerator": {"label": "Tử số"}});
            at(v, MAIN1)["evidence_expected"] = json!("Biên bản");
        });
        assert_all(
            &v,
            &[
                (INPUT_TEXT_UNKNOWN, &format!("{C1_2}/inputs/value")),
                (NAME_EMPTY, &format!("{C1_2}/inputs/numerator/label")),
                (INPUT_TEXT_ON_INNER_NODE, &format!("{MAIN1}/inputs")),
                (
                    EVIDENCE_ON_INNER_NODE,
                    &format!("{MAIN1}/evidence_expected"),
                ),
            ],
        );
    }

    #[test]
    fn a_document_of_an_unknown_format_version_is_refused() {
        let v = with(nested(), |v| {
            v["schema_version"] = json!(SCHEMA_VERSION + 1)
        });
        let p = parse_document(&v).unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].code, p[0].pointer.as_str()),
            (SCHEMA_VERSION_UNSUPPORTED, "/schema_version")
        );
        let v = with(nested(), |v| v["schema_version"] = json!(1));
        assert_eq!(parse_document(&v).unwrap().schema_version, SCHEMA_VERSION);
    }
}
