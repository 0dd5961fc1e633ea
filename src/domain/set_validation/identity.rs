//! Stage 2: the set's identity, its pillars and the replacements it declares.

use super::*;

pub(super) fn check_identity(doc: &SetDocument, out: &mut Vec<DocProblem>) {
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

pub(super) fn check_pillars(
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

pub(super) fn check_replaces(entries: &[Entry], out: &mut Vec<DocProblem>) {
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
