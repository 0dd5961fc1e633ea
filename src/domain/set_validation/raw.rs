//! Stage 1: the raw JSON value, before serde typing (see the module documentation).

use super::*;

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

pub(super) fn report_too_deep(ptr: &str, reported: &mut bool, out: &mut Vec<DocProblem>) {
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

pub(super) fn check_string_len(s: &str, ptr: &str, what: &str, out: &mut Vec<DocProblem>) {
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
pub(super) fn is_plain_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && Decimal::from_str(s).is_ok()
}

pub(super) fn check_points_value(v: &Value, ptr: &str, key: &str, out: &mut Vec<DocProblem>) {
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
pub(super) fn count_raw_nodes(value: &Value) -> usize {
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
