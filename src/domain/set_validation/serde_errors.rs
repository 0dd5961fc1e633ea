//! Typing errors: a serde error located as a JSON pointer into the submitted document.

use super::*;

/// The message of a serde_json error without its " at line L column C" suffix.
pub(super) fn bare_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) if err.line() > 0 => text[..i].to_string(),
        _ => text,
    }
}

/// The field named by "unknown field `x`…" / "missing field `x`".
pub(super) fn field_in_message(msg: &str) -> Option<&str> {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| msg.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
}

pub(super) const DOCUMENT_ONLY_FIELDS: &[&str] = &[
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

pub(super) fn typed_problem(ptr: String, err: &serde_json::Error) -> DocProblem {
    DocProblem {
        pointer: ptr,
        code: DOCUMENT_MALFORMED,
        message: bare_message(err),
    }
}

/// Types `v` as a `T`; on failure reports the error at `ptr`, or at `ptr/field` when the error
/// names an unknown or missing member.
pub(super) fn locate_whole<'a, T: Deserialize<'a>>(
    v: &'a Value,
    ptr: &str,
    out: &mut Vec<DocProblem>,
) {
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
pub(super) fn locate_member<'a, T: Deserialize<'a>>(
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
pub(super) fn locate_list(
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
pub(super) fn locate_struct<'a, T: Deserialize<'a>>(
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

pub(super) fn locate_document(v: &Value, out: &mut Vec<DocProblem>) {
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

pub(super) fn locate_node(v: &Value, ptr: &str, out: &mut Vec<DocProblem>, depth: usize) {
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

pub(super) fn locate_method(v: &Value, ptr: &str, out: &mut Vec<DocProblem>) {
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
