//! Indicator sets: import (JSON or YAML) → validate → store as a draft; replace or patch while
//! draft; activate (immutable from then on); new version by cloning; delete an unused draft.
//! Seeds are loaded through the same functions.
//!
//! A version of a family (one `code`) is based on the highest version below it: the version it
//! was cloned from, or, for an imported document, the highest lower version already stored.
//! Its nodes' `replaces` must name codes of that version.
//!
//! Stored documents are read through [`document`] (or [`stored_value`]), which upgrades a
//! document written at an older format version (see [`crate::domain::set_upgrade`]).

use std::collections::BTreeMap;

use diesel::{Connection, PgConnection};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::PageReq;
use crate::db::models::indicator_sets::{IndicatorSet, NewNode, SetFilter, SetRow};
use crate::domain::SetStatus;
use crate::domain::indicator_set::{NodeKind, SetDocument};
use crate::domain::precondition::IfMatch;
use crate::domain::set_upgrade::{Origin, upgrade};
use crate::domain::set_validation::{DocProblem, parse_document};
use crate::error::{AppError, AppResult, FieldError};
use crate::scoring::CompiledSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
        }
    }
}

/// A document that passed every check, with its source text.
pub struct ParsedSet {
    pub doc: SetDocument,
    pub source: String,
    pub format: Format,
}

fn problems_to_error(problems: Vec<DocProblem>) -> AppError {
    let n = problems.len();
    AppError::unprocessable(
        "INVALID_SET_DOCUMENT",
        format!("The indicator-set document has {n} problem{}; see errors[] (each with a JSON pointer).", if n == 1 { "" } else { "s" }),
    )
    .with_errors(
        problems
            .into_iter()
            .map(|p| FieldError::new(p.pointer, p.code, p.message))
            .collect(),
    )
}

/// Parses and validates a document; every problem is reported at once.
pub fn parse(bytes: &[u8], format: Format) -> AppResult<ParsedSet> {
    let source = std::str::from_utf8(bytes)
        .map_err(|e| {
            AppError::bad_request(
                "MALFORMED_DOCUMENT",
                format!("The document is not UTF-8 text: {e}."),
            )
        })?
        .to_string();
    let too_deep = |e: &dyn std::fmt::Display| {
        problems_to_error(vec![DocProblem {
            pointer: String::new(),
            code: crate::domain::set_validation::codes::TOO_DEEP,
            message: format!("the document nests deeper than the parser allows: {e}"),
        }])
    };
    let value: Value = match format {
        Format::Json => serde_json::from_str(&source).map_err(|e| {
            if e.to_string().contains("recursion limit") {
                too_deep(&e)
            } else {
                AppError::bad_request(
                    "MALFORMED_JSON",
                    format!("The document is not valid JSON: {e}."),
                )
            }
        })?,
        Format::Yaml => serde_yaml::from_str(&source).map_err(|e| {
            if e.to_string().contains("recursion limit") {
                too_deep(&e)
            } else {
                AppError::bad_request(
                    "MALFORMED_YAML",
                    format!("The document is not valid YAML: {e}."),
                )
            }
        })?,
    };
    crate::input::refuse_nul_in(&value)?;
    let doc = parse_document(&value).map_err(problems_to_error)?;
    Ok(ParsedSet {
        doc,
        source,
        format,
    })
}

fn row(parsed: &ParsedSet) -> AppResult<SetRow> {
    let d = &parsed.doc;
    Ok(SetRow {
        code: d.code.clone(),
        version: d.version,
        name: d.name.clone(),
        target_unit_kind: d.target_unit_kind.as_str().into(),
        year: d.year,
        decision_number: d.legal_basis.decision_number.clone(),
        decision_date: d.legal_basis.decision_date,
        issuer: d.legal_basis.issuer.clone(),
        scale: d.scale,
        precision: d.precision as i32,
        document: serde_json::to_value(d).map_err(AppError::internal)?,
        source_document: parsed.source.clone(),
        source_format: parsed.format.as_str().into(),
    })
}

/// Flattens the (normalised) tree into node rows and pillar memberships.
fn store_tree(conn: &mut PgConnection, set_id: Uuid, doc: &SetDocument) -> AppResult<()> {
    let compiled = CompiledSet::compile(doc);
    let ids: Vec<Uuid> = compiled.nodes.iter().map(|_| Uuid::new_v4()).collect();
    let mut replaces: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    fn walk<'a>(
        nodes: &'a [crate::domain::indicator_set::Node],
        out: &mut BTreeMap<&'a str, Vec<String>>,
    ) {
        for n in nodes {
            out.insert(&n.code, n.replaces.clone());
            walk(&n.children, out);
        }
    }
    walk(&doc.nodes, &mut replaces);
    let rows: Vec<NewNode> = compiled
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NewNode {
            id: ids[i],
            set_id,
            code: n.code.clone(),
            parent_id: n.parent.map(|p| ids[p]),
            kind: kind_str(n.kind).into(),
            name: n.name.clone(),
            position: i as i32,
            depth: n.depth as i32,
            max_points: n.max_points,
            method: n.method.as_ref().map(|m| m.name().to_string()),
            method_params: n.method.as_ref().and_then(|m| serde_json::to_value(m).ok()),
            evidence: serde_json::to_value(n.evidence)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "none".into()),
            automatic: n.automatic,
            is_leaf: n.children.is_empty(),
            replaces: replaces.get(n.code.as_str()).cloned().unwrap_or_default(),
        })
        .collect();
    let pillars: Vec<(String, String, Vec<Uuid>)> = compiled
        .pillars
        .iter()
        .map(|p| {
            (
                p.code.clone(),
                p.name.clone(),
                p.mains.iter().map(|m| ids[*m]).collect(),
            )
        })
        .collect();
    IndicatorSet::replace_tree(conn, set_id, &rows, &pillars)?;
    Ok(())
}

pub fn kind_str(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Group => "group",
        NodeKind::Main => "main",
        NodeKind::Component => "component",
        NodeKind::Criterion => "criterion",
        NodeKind::Bonus => "bonus",
        NodeKind::Penalty => "penalty",
    }
}

fn immutable(set: &IndicatorSet) -> AppError {
    AppError::conflict(
        "SET_IMMUTABLE",
        format!(
            "Indicator set {} v{} is {} and can no longer change. Make a new version with POST /api/v1/indicator-sets/{}/versions, edit that draft, then activate it.",
            set.code, set.version, set.status, set.id
        ),
    )
    .with_extension("new_version_url", format!("/api/v1/indicator-sets/{}/versions", set.id))
}

/// Codes a draft's nodes declare they replace must exist in the version it is based on.
fn check_replaces(
    conn: &mut PgConnection,
    based_on: Option<Uuid>,
    doc: &SetDocument,
) -> AppResult<()> {
    let Some(base) = based_on else { return Ok(()) };
    let known: std::collections::BTreeSet<String> = IndicatorSet::node_ids(conn, base)?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let mut errors = Vec::new();
    fn walk(
        nodes: &[crate::domain::indicator_set::Node],
        path: &str,
        known: &std::collections::BTreeSet<String>,
        errors: &mut Vec<FieldError>,
    ) {
        for (i, n) in nodes.iter().enumerate() {
            let here = format!("{path}/{i}");
            for (j, r) in n.replaces.iter().enumerate() {
                if !known.contains(r) {
                    errors.push(
                        FieldError::new(
                            format!("{here}/replaces/{j}"),
                            "REPLACES_UNKNOWN_CODE",
                            format!("the previous version has no node {r:?}"),
                        )
                        .with_param("code", r),
                    );
                }
            }
            walk(&n.children, &format!("{here}/children"), known, errors);
        }
    }
    walk(&doc.nodes, "/nodes", &known, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::unprocessable(
            "INVALID_SET_DOCUMENT",
            "Some nodes replace codes the previous version does not have.",
        )
        .with_errors(errors))
    }
}

/// Who may import indicator sets (checked by [`create`], and before a replay of it).
pub fn authorise_create(actor: &Principal) -> AppResult<()> {
    actor.require_admin("import indicator sets")
}

pub fn create(
    conn: &mut PgConnection,
    actor: &Principal,
    parsed: ParsedSet,
) -> AppResult<IndicatorSet> {
    authorise_create(actor)?;
    conn.transaction(|c| {
        if let Some(existing) = IndicatorSet::find_by_code_version(c, &parsed.doc.code, parsed.doc.version)? {
            return Err(AppError::conflict(
                "SET_VERSION_EXISTS",
                format!("Indicator set {} version {} already exists ({}).", existing.code, existing.version, existing.status),
            )
            .with_extension("existing_id", existing.id));
        }
        // an imported later version of a family is based on the highest version below it
        let based_on = IndicatorSet::latest_below(c, &parsed.doc.code, parsed.doc.version)?.map(|s| s.id);
        check_replaces(c, based_on, &parsed.doc)?;
        let id = Uuid::new_v4();
        let set = IndicatorSet::insert(c, id, &row(&parsed)?, based_on, actor.account_id())?;
        store_tree(c, id, &parsed.doc)?;
        Audit::new(Some(actor), "indicator_set.create", "indicator_set", id)
            .new_value(serde_json::json!({"code": set.code, "version": set.version, "format": set.source_format}))
            .record(c)?;
        Ok(set)
    })
}

fn editable(c: &mut PgConnection, id: Uuid, expected: &IfMatch) -> AppResult<IndicatorSet> {
    let set = IndicatorSet::find_for_update(c, id)?
        .ok_or_else(|| AppError::not_found("indicator set", id))?;
    if set.status != SetStatus::Draft {
        return Err(immutable(&set));
    }
    expected.check(set.lock_version, "The set")?;
    Ok(set)
}

fn store_replacement(
    c: &mut PgConnection,
    actor: &Principal,
    before: &IndicatorSet,
    parsed: ParsedSet,
    action: &str,
) -> AppResult<IndicatorSet> {
    if (parsed.doc.code.as_str(), parsed.doc.version) != (before.code.as_str(), before.version)
        && IndicatorSet::find_by_code_version(c, &parsed.doc.code, parsed.doc.version)?.is_some()
    {
        return Err(AppError::conflict(
            "SET_VERSION_EXISTS",
            format!(
                "Indicator set {} version {} already exists.",
                parsed.doc.code, parsed.doc.version
            ),
        ));
    }
    check_replaces(c, before.based_on_id, &parsed.doc)?;
    let set = IndicatorSet::replace(c, before.id, &row(&parsed)?)?;
    store_tree(c, before.id, &parsed.doc)?;
    Audit::new(Some(actor), action, "indicator_set", before.id)
        .old(&before.document)
        .new_value(&set.document)
        .record(c)?;
    Ok(set)
}

/// Replaces a draft's whole document.
pub fn replace(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    expected: &IfMatch,
    parsed: ParsedSet,
) -> AppResult<IndicatorSet> {
    actor.require_admin("edit indicator sets")?;
    conn.transaction(|c| {
        let before = editable(c, id, expected)?;
        store_replacement(c, actor, &before, parsed, "indicator_set.replace")
    })
}

/// Applies a JSON merge patch (RFC 7396) to a draft's canonical document.
pub fn patch(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    expected: &IfMatch,
    patch: Value,
) -> AppResult<IndicatorSet> {
    actor.require_admin("edit indicator sets")?;
    if !patch.is_object() {
        return Err(AppError::unprocessable(
            "INVALID_PATCH",
            "A merge patch must be a JSON object.",
        ));
    }
    conn.transaction(|c| {
        let before = editable(c, id, expected)?;
        let mut doc = stored_value(&before)?;
        json_patch::merge(&mut doc, &patch);
        let source = serde_json::to_string_pretty(&doc).map_err(AppError::internal)?;
        let parsed = parse(source.as_bytes(), Format::Json)?;
        store_replacement(c, actor, &before, parsed, "indicator_set.patch")
    })
}

pub fn activate(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    expected: &IfMatch,
) -> AppResult<IndicatorSet> {
    actor.require_admin("activate indicator sets")?;
    conn.transaction(|c| {
        let before = editable(c, id, expected)?;
        let set = IndicatorSet::activate(c, id)?;
        Audit::new(Some(actor), "indicator_set.activate", "indicator_set", id)
            .old(serde_json::json!({"status": before.status}))
            .new_value(
                serde_json::json!({"status": set.status, "code": set.code, "version": set.version}),
            )
            .record(c)?;
        Ok(set)
    })
}

/// Who may create set versions (checked by [`new_version`], and before a replay of it).
pub fn authorise_new_version(actor: &Principal) -> AppResult<()> {
    actor.require_admin("create indicator-set versions")
}

/// Clones a set as the next version of its code (a draft). Every node starts out declaring it
/// replaces the node of the same code, so year-to-year comparison works until edited.
pub fn new_version(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<IndicatorSet> {
    authorise_new_version(actor)?;
    conn.transaction(|c| {
        let base =
            IndicatorSet::find(c, id)?.ok_or_else(|| AppError::not_found("indicator set", id))?;
        let version = IndicatorSet::max_version(c, &base.code)?.unwrap_or(base.version) + 1;
        let mut doc = document(&base)?;
        doc.version = version;
        fn mark(nodes: &mut [crate::domain::indicator_set::Node]) {
            for n in nodes {
                n.replaces = vec![n.code.clone()];
                mark(&mut n.children);
            }
        }
        mark(&mut doc.nodes);
        let source = serde_json::to_string_pretty(&doc).map_err(AppError::internal)?;
        let parsed = parse(source.as_bytes(), Format::Json)?;
        let new_id = Uuid::new_v4();
        let set =
            IndicatorSet::insert(c, new_id, &row(&parsed)?, Some(base.id), actor.account_id())?;
        store_tree(c, new_id, &parsed.doc)?;
        Audit::new(
            Some(actor),
            "indicator_set.new_version",
            "indicator_set",
            new_id,
        )
        .new_value(
            serde_json::json!({"code": set.code, "version": set.version, "based_on": base.id}),
        )
        .record(c)?;
        Ok(set)
    })
}

pub fn delete(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<()> {
    actor.require_admin("delete indicator sets")?;
    conn.transaction(|c| {
        let set = IndicatorSet::find_for_update(c, id)?
            .ok_or_else(|| AppError::not_found("indicator set", id))?;
        if set.status != SetStatus::Draft {
            return Err(immutable(&set));
        }
        if IndicatorSet::is_used(c, id)? {
            return Err(AppError::conflict(
                "IN_USE",
                "The draft is used by a period or by a newer version; it cannot be deleted.",
            ));
        }
        IndicatorSet::delete(c, id)?;
        Audit::new(Some(actor), "indicator_set.delete", "indicator_set", id)
            .old(serde_json::json!({"code": set.code, "version": set.version}))
            .record(c)?;
        Ok(())
    })
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<IndicatorSet> {
    IndicatorSet::find(conn, id)?.ok_or_else(|| AppError::not_found("indicator set", id))
}

pub fn list(
    conn: &mut PgConnection,
    filter: SetFilter,
    page: PageReq,
) -> AppResult<(Vec<IndicatorSet>, i64)> {
    Ok(IndicatorSet::list(conn, &filter, page)?)
}

/// The stored document of a set, upgraded to the current format version (untyped).
pub fn stored_value(set: &IndicatorSet) -> AppResult<Value> {
    let mut value = set.document.clone();
    upgrade(&mut value, Origin::Stored).map_err(|p| {
        // only a newer release of the service writes a version this one does not know
        AppError::internal(format!(
            "indicator set {} v{} is stored in a format this release cannot read: {}",
            set.code, set.version, p.message
        ))
    })?;
    Ok(value)
}

/// The typed document of a stored set, upgraded to the current format version.
pub fn document(set: &IndicatorSet) -> AppResult<SetDocument> {
    serde_json::from_value(stored_value(set)?).map_err(AppError::internal)
}

/// Sum of the maxima of a pillar's main indicators.
pub fn pillar_max(compiled: &CompiledSet, mains: &[usize]) -> Decimal {
    mains.iter().map(|m| compiled.nodes[*m].max_points).sum()
}
