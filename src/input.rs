//! Rules every input obeys, whichever way it arrives (path, query, JSON body, form field, set
//! document): the HTTP side that applies them to every request is `api::input`.
//!
//! - No text may hold U+0000 (NUL): PostgreSQL cannot store it in `text` or `jsonb`, so it is
//!   refused up front as 400 `NUL_CHARACTER`, with the parameter name or the JSON pointer of
//!   every string that holds one.

use serde_json::Value;

use crate::error::{AppError, FieldError};

/// The code of a refused NUL character, for the problem and for each of its field errors.
pub const NUL_CHARACTER: &str = "NUL_CHARACTER";

/// At most this many NUL field errors are listed in one problem.
const MAX_NUL_FIELDS: usize = 20;

/// The field error of `field` (a parameter name or a JSON pointer) when `text` holds a NUL.
pub fn nul_field(field: &str, text: &str) -> Option<FieldError> {
    text.contains('\0').then(|| {
        FieldError::new(
            field.replace('\0', "\\u0000"),
            NUL_CHARACTER,
            "must not contain the NUL character (U+0000)",
        )
    })
}

/// The field errors of every string of `value`, and every member name, that holds a NUL, as
/// JSON pointers (RFC 6901) under `prefix` (`""` for a whole body).
pub fn nul_fields(value: &Value, prefix: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(value, prefix.to_string(), &mut out);
    out
}

fn walk(value: &Value, at: String, out: &mut Vec<FieldError>) {
    if out.len() >= MAX_NUL_FIELDS {
        return;
    }
    match value {
        Value::String(s) => out.extend(nul_field(&at, s)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(members) => {
            for (name, item) in members {
                let pointer = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
                if let Some(e) = nul_field(&pointer, name) {
                    out.push(e);
                    continue;
                }
                walk(item, pointer, out);
            }
        }
        _ => {}
    }
}

/// 400 `NUL_CHARACTER` listing `errors` (from [`nul_field`] or [`nul_fields`]).
pub fn nul_refusal(errors: Vec<FieldError>) -> AppError {
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    AppError::bad_request(
        NUL_CHARACTER,
        format!(
            "The NUL character (U+0000) is not accepted in any text; found in {}.",
            fields.join(", ")
        ),
    )
    .with_errors(errors)
}

/// 400 `NUL_CHARACTER` when some string of a parsed JSON or YAML `value` holds a NUL.
pub fn refuse_nul_in(value: &Value) -> Result<(), AppError> {
    let errors = nul_fields(value, "");
    if errors.is_empty() {
        Ok(())
    } else {
        Err(nul_refusal(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_strings_and_member_names_are_found_by_pointer() {
        let v = json!({"a": "ok", "b": ["x", "y\u{0}"], "c/d": {"e\u{0}": 1}, "f": {"g": "\u{0}"}});
        let fields: Vec<String> = nul_fields(&v, "").into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["/b/1", "/c~1d/e\\u0000", "/f/g"]);
        assert!(nul_fields(&json!({"a": "\\u0000 is text"}), "").is_empty());
    }
}
