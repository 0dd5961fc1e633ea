//! Versions of the indicator-set document format, and the upgrade of a document written at an
//! older version to the current one ([`SCHEMA_VERSION`]).
//!
//! A document says its version in `schema_version`. Stored documents (`indicator_sets.document`)
//! are read back with `deny_unknown_fields`, so a change of the format could otherwise make a
//! stored set unreadable; instead every document is passed through [`upgrade`] before it is
//! typed, on import and on every read from the database. Each step turns a document of version
//! `n` into one of version `n + 1` and is a pure function of the JSON value; stored rows are
//! never rewritten (active sets are immutable), they are upgraded each time they are read.
//!
//! What a missing `schema_version` means depends on where the document comes from
//! ([`Origin`]): a stored document without it was written before the field existed (version
//! 1); a document sent to the API without it is taken to be written for the current format.
//!
//! Versions:
//! - 1: the format without `schema_version`.
//! - 2: adds `classification` (bands), and `inputs` and `evidence_expected` on nodes. All three
//!   are optional, so the step from 1 only records the version.
//!
//! To change the format: raise [`SCHEMA_VERSION`], add the step `vN_to_vN+1` to [`STEPS`] (it
//! receives the whole document object and may rename, move or fill members), and add a test
//! with a document of the previous version.
//!
//! Pure: imports only `std`, `serde_json` and `crate::domain`.

use serde_json::{Map, Value};

use crate::domain::set_validation::{DocProblem, codes};

pub use crate::domain::indicator_set::SCHEMA_VERSION;

/// Where a document comes from, which decides what a missing `schema_version` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the database: written by this service, version 1 when the field is missing.
    Stored,
    /// Sent by a client (import, replace, patch): the current version when the field is missing.
    Submitted,
}

/// One step: a document object of version `n` → version `n + 1` (the version member itself is
/// set by [`upgrade`]).
type Step = fn(&mut Map<String, Value>);

/// `STEPS[k]` upgrades version `k + 1` to `k + 2`.
const STEPS: [Step; (SCHEMA_VERSION - 1) as usize] = [v1_to_v2];

/// Version 2 only added optional members: a version-1 document is a valid version-2 document.
fn v1_to_v2(_doc: &mut Map<String, Value>) {}

/// Brings `doc` (a whole document, untyped) to [`SCHEMA_VERSION`] in place and records the
/// version in it. Refused with `SCHEMA_VERSION_UNSUPPORTED` at `/schema_version` when the
/// version is not an integer from 1 to the current one (a document written by a newer release
/// of the service, or a typo); a document that is not an object is left to the typing stage.
///
/// Example: a stored `{"code": "TH-SO-160", …}` without `schema_version` → the same members
/// plus `"schema_version": 2`.
pub fn upgrade(doc: &mut Value, origin: Origin) -> Result<(), DocProblem> {
    let Value::Object(obj) = doc else {
        return Ok(());
    };
    let from = match obj.get("schema_version") {
        None => match origin {
            Origin::Stored => 1,
            Origin::Submitted => SCHEMA_VERSION,
        },
        Some(v) => match v.as_u64() {
            Some(n) if (1..=u64::from(SCHEMA_VERSION)).contains(&n) => n as u32,
            _ => {
                return Err(DocProblem {
                    pointer: "/schema_version".into(),
                    code: codes::SCHEMA_VERSION_UNSUPPORTED,
                    message: format!(
                        "schema_version is {v}; this service reads versions 1 to {SCHEMA_VERSION}"
                    ),
                });
            }
        },
    };
    for step in &STEPS[(from - 1) as usize..] {
        step(obj);
    }
    obj.insert("schema_version".into(), Value::from(SCHEMA_VERSION));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator_set::SetDocument;
    use serde_json::json;

    /// A document as version 1 stored it (no `schema_version`, none of the version-2 members).
    fn version_1() -> Value {
        json!({
            "code": "TH-SO-160", "version": 1, "name": "Bộ chỉ số cấp sở",
            "target_unit_kind": "department",
            "legal_basis": {"decision_number": "3716/QĐ-UBND", "issuer": "UBND tỉnh Thanh Hóa"},
            "scale": "20", "precision": 4,
            "nodes": [{"code": "1", "kind": "main", "name": "Nhận thức số", "max_points": "20",
                       "children": [{"code": "1.1", "kind": "component", "name": "Họp",
                                     "max_points": "20", "guidance": "Đếm các cuộc họp",
                                     "method": {"type": "ratio"}}]}]
        })
    }

    #[test]
    fn a_stored_version_1_document_reads_as_the_current_version() {
        let mut doc = version_1();
        upgrade(&mut doc, Origin::Stored).unwrap();
        assert_eq!(doc["schema_version"], SCHEMA_VERSION);
        let typed: SetDocument = serde_json::from_value(doc).unwrap();
        assert_eq!(typed.schema_version, SCHEMA_VERSION);
        assert_eq!(typed.classification, None);
        assert_eq!(
            typed.nodes[0].children[0].guidance.as_deref(),
            Some("Đếm các cuộc họp")
        );
    }

    #[test]
    fn a_submitted_document_without_a_version_is_current_and_an_explicit_1_is_upgraded() {
        let mut doc = version_1();
        upgrade(&mut doc, Origin::Submitted).unwrap();
        assert_eq!(doc["schema_version"], SCHEMA_VERSION);
        let mut doc = version_1();
        doc["schema_version"] = json!(1);
        upgrade(&mut doc, Origin::Submitted).unwrap();
        assert_eq!(doc["schema_version"], SCHEMA_VERSION);
    }

    #[test]
    fn versions_from_the_future_or_not_integers_are_refused_at_their_pointer() {
        for bad in [
            json!(0),
            json!(SCHEMA_VERSION + 1),
            json!(-1),
            json!(1.5),
            json!("2"),
            Value::Null,
        ] {
            let mut doc = version_1();
            doc["schema_version"] = bad.clone();
            let p = upgrade(&mut doc, Origin::Stored).unwrap_err();
            assert_eq!(
                (p.pointer.as_str(), p.code),
                ("/schema_version", codes::SCHEMA_VERSION_UNSUPPORTED),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_version_below_the_current_one_has_a_step() {
        assert_eq!(STEPS.len() as u32, SCHEMA_VERSION - 1);
    }
}
