//! Typing errors: a serde error located as a JSON pointer into the submitted document.
//!
//! The document is typed through `serde_path_to_error`, whose path to the failing value is the
//! pointer. Serde stops at the first error; to report every typing problem at once, each node
//! is typed on its own (without its children) and so is the rest of the document (without its
//! nodes), and within a part a member that does not type is removed and the part typed again.

use serde::de::IgnoredAny;
use serde_path_to_error::Error;

use super::*;
use crate::domain::json_pointer;

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
    // A valid document is typed once, without tracking paths; only a failure is located.
    let doc = match SetDocument::deserialize(&upgraded) {
        Ok(doc) => doc,
        Err(_) => {
            problems.extend(typing_problems(&upgraded));
            return Err(problems);
        }
    };
    problems.extend(validate(&doc));
    if problems.is_empty() {
        Ok(normalize(&doc))
    } else {
        Err(problems)
    }
}

/// Every typing problem of `value` (a whole document, upgraded), each at its exact pointer:
/// the rest of the document without its nodes, then each node without its children.
pub(super) fn typing_problems(value: &Value) -> Vec<DocProblem> {
    let mut out = Vec::new();
    type_part::<SetDocument>(without(value, "nodes"), "", &mut out);
    if let Some(Value::Array(nodes)) = value.get("nodes") {
        for (i, node) in nodes.iter().enumerate() {
            type_nodes(node, &format!("/nodes/{i}"), &mut out);
        }
    }
    if out.is_empty() {
        // the parts type but the whole does not: report the whole document's error
        type_part::<SetDocument>(value.clone(), "", &mut out);
    }
    out
}

/// Types `node` (at `ptr`) and, one by one, its children. The depth is bounded by
/// [`check_raw`] (at most [`MAX_JSON_DEPTH`] levels).
fn type_nodes(node: &Value, ptr: &str, out: &mut Vec<DocProblem>) {
    type_part::<Node>(without(node, "children"), ptr, out);
    if let Some(Value::Array(children)) = node.get("children") {
        for (i, child) in children.iter().enumerate() {
            type_nodes(child, &format!("{ptr}/children/{i}"), out);
        }
    }
}

/// A copy of `v` whose array member `key` is empty: its elements are typed as parts of their
/// own.
fn without(v: &Value, key: &str) -> Value {
    match v {
        Value::Object(obj) if obj.get(key).is_some_and(Value::is_array) => Value::Object(
            obj.iter()
                .map(|(k, x)| {
                    let x = if k == key {
                        Value::Array(Vec::new())
                    } else {
                        x.clone()
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// Types `part` (the value at `ptr`) as a `T`, reporting one problem per failure: after each,
/// the member that failed is removed and the part typed again, until it types, a required
/// member is missing, or [`MAX_RAW_PROBLEMS`] are found.
fn type_part<T: for<'de> Deserialize<'de> + 'static>(
    mut part: Value,
    ptr: &str,
    out: &mut Vec<DocProblem>,
) {
    // a node's method is the one member whose errors lose their path (see `locate`)
    let node = std::any::TypeId::of::<T>() == std::any::TypeId::of::<Node>();
    let mut removed = None;
    for _ in 0..MAX_RAW_PROBLEMS {
        let Err(err) = serde_path_to_error::deserialize::<_, T>(&part) else {
            return;
        };
        let (at, message) = locate(&part, &err, node);
        // the member removed last time is required: what it held is already reported
        if removed.as_ref() == Some(&at) {
            return;
        }
        out.push(DocProblem {
            pointer: format!("{ptr}{at}"),
            code: DOCUMENT_MALFORMED,
            message,
        });
        removed = remove_member(&mut part, &at);
        if removed.is_none() {
            return;
        }
    }
}

/// The pointer (within `part`, a node when `node`) and message of a typing error.
fn locate(part: &Value, err: &Error<serde_json::Error>, node: bool) -> (String, String) {
    let mut at = json_pointer(err.path());
    let message = err.inner().to_string();
    let mut named = named_field(&message, "missing field `");
    // A node's method is internally tagged: serde reads its members into a buffer before
    // typing them, so the path of an error among them ends at the method. Typing the members
    // on their own finds the path; an error they do not repeat is the method's own (a member
    // its type does not take or lacks, or an unknown type).
    if node
        && at == "/method"
        && let Some(method @ Value::Object(_)) = part.pointer(&at)
    {
        match serde_path_to_error::deserialize::<_, MethodMembers>(method) {
            Err(inner) if inner.inner().to_string() == message => {
                at.push_str(&json_pointer(inner.path()));
            }
            _ if message.starts_with("unknown variant") => named = Some("type"),
            _ => named = named.or_else(|| named_field(&message, "unknown field `")),
        }
    }
    // serde reports a missing member at the object that lacks it
    if let Some(f) = named {
        at = format!("{at}/{}", escape_token(f));
    }
    (at, message)
}

/// The member named by a serde message that starts with `prefix` ("missing field `x`").
fn named_field<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// Removes the member at `at` (or the member holding the array element at `at`) from `part`;
/// its pointer, or `None` when there is no such member (the part itself failed, or a member
/// is missing).
fn remove_member(part: &mut Value, at: &str) -> Option<String> {
    let mut at = at;
    loop {
        let (parent, last) = at.rsplit_once('/')?;
        match part.pointer_mut(parent)? {
            Value::Object(obj) => {
                let key = last.replace("~1", "/").replace("~0", "~");
                return obj.remove(&key).map(|_| at.to_string());
            }
            // an element of an array: remove the member holding the array
            Value::Array(_) => at = parent,
            _ => return None,
        }
    }
}

/// Every member a [`Method`] can have, each with its own type: typing a method's members
/// through this finds the path a method's error lost (see [`locate`]). Which members a method
/// type takes or requires, and unknown members, are left to [`Method`].
#[derive(Deserialize)]
#[allow(dead_code)] // typed to find an error, never read
struct MethodMembers {
    r#type: IgnoredAny,
    #[serde(default)]
    target: Member<Decimal>,
    #[serde(default)]
    direction: Member<Direction>,
    #[serde(default)]
    zero_denominator: Member<ZeroDenominator>,
    #[serde(default)]
    bands: Member<Vec<Band>>,
    #[serde(default)]
    options: Member<Vec<ChoiceOption>>,
    #[serde(default)]
    items: Member<Vec<SumItem>>,
}

/// A member typed as `T` when present (`null` included), accepted when absent.
struct Member<T>(std::marker::PhantomData<T>);

impl<T> Default for Member<T> {
    fn default() -> Self {
        Member(std::marker::PhantomData)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Member<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(|_| Member::default())
    }
}
