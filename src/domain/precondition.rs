//! `If-Match` on a versioned resource (RFC 9110 §13.1.1): which versions it accepts, checked
//! once the resource has been found, so that a missing resource answers 404 whatever the header
//! says (§13.2.1: preconditions are evaluated only where the response would otherwise succeed).

use crate::error::{AppError, AppResult};

/// What an `If-Match` field (or a batch item's `if_version`) asks of the current version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IfMatch {
    /// No condition: the field is absent, or `*`.
    #[default]
    Any,
    /// The versions of the strong tags `"vN"` it lists. Weak and foreign tags never match a
    /// strong comparison, so a list of only those is empty and nothing matches it.
    Versions(Vec<i32>),
}

impl IfMatch {
    /// The field's value: `*`, or a comma-separated list of entity tags. Text that is not a
    /// list of tags matches nothing (412 once the resource is found).
    pub fn parse(value: &str) -> IfMatch {
        let value = value.trim();
        if value == "*" {
            return IfMatch::Any;
        }
        IfMatch::Versions(
            value
                .split(',')
                .filter_map(|tag| {
                    tag.trim()
                        .strip_prefix("\"v")
                        .and_then(|s| s.strip_suffix('"'))
                        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|n| n.parse::<i32>().ok())
                })
                .collect(),
        )
    }

    /// One expected version, as a batch item's `if_version` gives it (`None`: no condition).
    pub fn version(v: Option<i32>) -> IfMatch {
        v.map_or(IfMatch::Any, |v| IfMatch::Versions(vec![v]))
    }

    pub fn matches(&self, current: i32) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(v) => v.contains(&current),
        }
    }

    /// 412 `VERSION_MISMATCH` unless `current` (the version of `what`, as found) is accepted.
    pub fn check(&self, current: i32, what: &str) -> AppResult<()> {
        if self.matches(current) {
            return Ok(());
        }
        Err(AppError::precondition_failed(format!(
            "{what} is at version \"v{current}\", not a version the request names (its \
             If-Match or if_version); GET it again."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_weak_and_foreign_tags_are_read_as_the_rfc_says() {
        assert_eq!(IfMatch::parse("*"), IfMatch::Any);
        assert_eq!(IfMatch::parse(" \"v3\" "), IfMatch::Versions(vec![3]));
        assert_eq!(
            IfMatch::parse("\"v3\", W/\"v4\", \"x\", \"v5\""),
            IfMatch::Versions(vec![3, 5])
        );
        for nothing in [
            "", "garbage", "W/\"v3\"", "\"v\"", "\"v-1\"", "\"v+1\"", "\"9-nc\"",
        ] {
            assert_eq!(
                IfMatch::parse(nothing),
                IfMatch::Versions(vec![]),
                "{nothing}"
            );
            assert!(!IfMatch::parse(nothing).matches(0), "{nothing}");
        }
        assert!(IfMatch::parse("\"v3\", \"v4\"").matches(4));
        assert!(IfMatch::version(None).matches(7));
        assert!(!IfMatch::version(Some(6)).matches(7));
        let e = IfMatch::version(Some(6)).check(7, "The unit").unwrap_err();
        assert_eq!(e.to_problem().code, "VERSION_MISMATCH");
    }
}
