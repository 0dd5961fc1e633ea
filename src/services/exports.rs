//! Exports as tables, written as CSV or XLSX by [`crate::tabular`]: a period's scores and
//! rankings of one ranking group, one unit's explained score, the audit events of a period,
//! and a published snapshot as CSV.
//!
//! Each export is refused or allowed by the rule of the JSON read of the same data, checked
//! first: the rankings' ([`assessments::require_live_standings`]), the score tree's
//! ([`assessments::readable`]) and the audit trail's ([`crate::audit::require_reader`]).
//! Numbers are the stored ones (points as exact decimals, the index rounded to the set's
//! published precision, as the rankings compare it).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::SecondsFormat;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::audit::AuditEvent;
use crate::db::models::scores::{RankingRow, ScoreRow};
use crate::db::models::units::Unit;
use crate::domain::workflow::RankingScope;
use crate::error::{AppError, AppResult};
use crate::scoring::band_of;
use crate::scoring::ranking::{Scope, scopes};
use crate::services::scoring::Caches;
use crate::services::{assessments, periods, scoring};
use crate::tabular::{Cell, Table};

/// A table ready to write, with its worksheet and file names.
#[derive(Debug, Clone)]
pub struct Export {
    pub table: Table,
    /// The XLSX worksheet's name.
    pub sheet: &'static str,
    /// The download's file name, without extension (letters, digits, `.`, `_` and `-` only).
    pub name: String,
}

/// A file name from parts joined by `-`, with anything but ASCII letters, digits, `.`, `_`
/// and `-` replaced by `_` (codes are ASCII already; this keeps the header plain).
pub fn file_name(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn yes_no(b: bool) -> Cell {
    Cell::from(if b { "true" } else { "false" })
}

fn number(d: Option<Decimal>) -> Cell {
    d.map_or(Cell::Empty, |d| Cell::Number(d.normalize()))
}

fn rank(r: Option<i32>) -> Cell {
    r.map_or(Cell::Empty, |r| Cell::Int(i64::from(r)))
}

fn json_text(v: Option<&Value>) -> Cell {
    match v {
        None | Some(Value::Null) => Cell::Empty,
        Some(v) => Cell::Text(v.to_string()),
    }
}

/// The columns of every ranking scope other than the overall one in a published snapshot, after
/// the overall columns: `<scope> <code> points|max|index|rank|tied`.
const SCOPE_COLUMNS: [&str; 5] = ["points", "max", "index", "rank", "tied"];

/// The columns of every ranking scope other than the overall one in the scores export:
/// `<scope> <code> self_points|…`, the points of the three columns as the overall ones, then the
/// ranked (reviewed) applicable maximum, index, rank and tie.
pub const SCORE_SCOPE_COLUMNS: [&str; 7] = [
    "self_points",
    "reviewed_points",
    "final_points",
    "max",
    "index",
    "rank",
    "tied",
];

/// The first columns of the scores export; one group of [`SCORE_SCOPE_COLUMNS`] per pillar, then
/// per main indicator, follows.
pub const SCORE_COLUMNS: [&str; 16] = [
    "unit_code",
    "unit_name",
    "state",
    "finalised_as",
    "ranked",
    "exclusion_reason",
    "max_points",
    "applicable_max",
    "self_points",
    "reviewed_points",
    "final_points",
    "index",
    "rank",
    "tied",
    "band",
    "band_label",
];

/// A period's scores and rankings of one ranking group (`group_ref`; optional when the period
/// has one group), one row per unit in ranking order (rank, ranked units first, unit code):
/// self, reviewed and final points, the overall index at the published precision, rank, tie
/// and band; then per pillar and per main indicator the self, reviewed and final points, and
/// the applicable maximum, index, rank and tie as `GET /periods/{id}/rankings` gives them.
/// Provincial roles only.
pub fn scores(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    period_id: Uuid,
    group_ref: Option<&str>,
) -> AppResult<Export> {
    assessments::require_live_standings(actor)?;
    let period = periods::get(conn, period_id)?;
    let (group, pin) = periods::pinned_group(conn, period_id, group_ref)?;
    let entry = scoring::set_entry(conn, caches, pin.set_id)?;
    scoring::ensure_layout(conn, caches, &pin, &entry)?;
    let set = &entry.set;
    let scopes = scopes(set);
    let position: HashMap<(RankingScope, &str), usize> = scopes
        .iter()
        .enumerate()
        .map(|(k, s)| ((s.kind, s.code.as_str()), k))
        .collect();
    let list = Assessment::of_group(conn, period_id, group.id)?;
    let stored: HashMap<Uuid, ScoreRow> = ScoreRow::of_assessments(conn, &list)?
        .into_iter()
        .map(|s| (s.assessment_id, s))
        .collect();
    let units: HashMap<Uuid, Unit> =
        Unit::find_many(conn, &list.iter().map(|a| a.unit_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
    let mut lines: HashMap<Uuid, Vec<Option<RankingRow>>> = HashMap::new();
    for r in RankingRow::of_group(conn, period_id, group.id, &scopes)? {
        let Some(&k) = position.get(&(r.scope, r.scope_code.as_str())) else {
            continue;
        };
        let line = lines
            .entry(r.unit_id)
            .or_insert_with(|| vec![None; scopes.len()]);
        line[k] = Some(r);
    }

    let own = scoring::self_scope_points(conn, &entry, period_id, group.id, &list)?;
    let mut headers: Vec<String> = SCORE_COLUMNS.iter().map(|s| s.to_string()).collect();
    for scope in &scopes[1..] {
        for c in SCORE_SCOPE_COLUMNS {
            headers.push(format!("{} {} {c}", scope.kind.as_str(), scope.code));
        }
    }
    let empty = Vec::new();
    let mut rows: Vec<(Option<i32>, bool, String, Vec<Cell>)> = Vec::with_capacity(list.len());
    for a in &list {
        let unit = units
            .get(&a.unit_id)
            .ok_or_else(|| AppError::internal("assessment unit missing"))?;
        let s = stored.get(&a.id);
        let line = lines.get(&a.unit_id).unwrap_or(&empty);
        let at = |k: usize| line.get(k).and_then(Option::as_ref);
        let overall = at(0);
        let index = overall.and_then(|r| r.index_value);
        let band = set
            .classification
            .as_ref()
            .and_then(|c| band_of(c, index?, set.precision));
        let mut row = vec![
            unit.code.as_str().into(),
            unit.name.as_str().into(),
            a.state().as_str().into(),
            a.finalised_as().map(|f| f.as_str()).into(),
            yes_no(!a.excluded()),
            a.excluded_reason.as_deref().into(),
            number(s.map(|s| s.max_points)),
            number(s.map(|s| s.applicable_max)),
            number(s.map(|s| s.self_points)),
            number(s.map(|s| s.reviewed_points)),
            number(s.and_then(|s| s.final_points())),
            number(index),
            rank(overall.and_then(|r| r.rank)),
            yes_no(overall.is_some_and(|r| r.tied)),
            band.map(|b| b.code.as_str()).into(),
            band.map(|b| b.label.as_str()).into(),
        ];
        let own = own.get(&a.id);
        let finalised = s.is_some_and(|s| s.finalised);
        for k in 1..scopes.len() {
            let r = at(k);
            row.extend([
                number(own.and_then(|p| p.get(k).copied())),
                number(r.map(|r| r.points)),
                number(r.and_then(|r| crate::scoring::final_value(finalised, r.points))),
                number(r.map(|r| r.applicable_max)),
                number(r.and_then(|r| r.index_value)),
                rank(r.and_then(|r| r.rank)),
                yes_no(r.is_some_and(|r| r.tied)),
            ]);
        }
        let ranked = overall.map_or(!a.excluded(), |r| r.ranked);
        rows.push((overall.and_then(|r| r.rank), ranked, unit.code.clone(), row));
    }
    // the rankings' order: rank (none last), ranked units first, unit code
    rows.sort_by(|a, b| (a.0.is_none(), a.0, !a.1, &a.2).cmp(&(b.0.is_none(), b.0, !b.1, &b.2)));
    Ok(Export {
        table: Table {
            headers,
            rows: rows.into_iter().map(|r| r.3).collect(),
        },
        sheet: "scores",
        name: file_name(&["scores", &period.code, &group.code]),
    })
}

/// The columns of the explained-score export.
pub const EXPLAINED_COLUMNS: [&str; 26] = [
    "code",
    "name",
    "kind",
    "parent_code",
    "depth",
    "method",
    "applicable",
    "max_points",
    "applicable_max",
    "self_points",
    "reviewed_points",
    "final_points",
    "points_lost",
    "adjusted",
    "flags",
    "self_inputs",
    "self_rule",
    "self_raw",
    "self_capped",
    "self_contribution",
    "reviewed_inputs",
    "reviewed_rule",
    "reviewed_raw",
    "reviewed_capped",
    "reviewed_contribution",
    "adjustment_reason",
];

/// One unit's explained score, as `GET /assessments/{id}/score` gives it: the total (kind
/// `total`, the set's code) and then every node in tree order, with its method, the inputs
/// used, the rule with the numbers substituted, raw, capped and contributed points in the
/// self and reviewed columns, the flags (why), and the reviewer's reason where a component was
/// adjusted. Whoever may read the assessment.
pub fn explained_score(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    assessment_id: Uuid,
) -> AppResult<Export> {
    let (a, period) = assessments::readable(conn, actor, assessment_id)?;
    let (entry, scores) = assessments::explain(conn, caches, &a, &[])?;
    let unit = Unit::find(conn, a.unit_id)?
        .ok_or_else(|| AppError::internal("assessment unit missing"))?;
    let reasons: HashMap<usize, String> = Assessment::adjustments(conn, &[a.id])?
        .into_iter()
        .filter_map(|adj| Some((*entry.index_by_node_id.get(&adj.node_id)?, adj.reason)))
        .collect();
    let set = &entry.set;
    let finalised = a.state() == crate::domain::workflow::AssessmentState::Finalised;
    let trace = |t: &crate::scoring::Trace| -> [Cell; 5] {
        [
            json_text(t.inputs.as_ref()),
            t.rule.as_str().into(),
            number(Some(t.raw)),
            number(Some(t.capped)),
            number(Some(t.contribution)),
        ]
    };
    let line = |i: Option<usize>, n: &crate::scoring::NodeScore| -> Vec<Cell> {
        let node = i.map(|i| &set.nodes[i]);
        let kind = node.map_or_else(
            || "total".to_string(),
            |c| {
                serde_json::to_value(c.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            },
        );
        let mut row = vec![
            node.map_or(set.code.as_str(), |c| c.code.as_str()).into(),
            node.map_or(set.name.as_str(), |c| c.name.as_str()).into(),
            Cell::Text(kind),
            node.and_then(|c| c.parent)
                .map(|p| set.nodes[p].code.as_str())
                .into(),
            Cell::Int(node.map_or(0, |c| i64::try_from(c.depth).unwrap_or(i64::MAX))),
            node.filter(|c| c.is_leaf())
                .map(|c| c.method.as_ref().map_or("manual", |m| m.name()))
                .into(),
            yes_no(n.applicable),
            number(Some(n.max_points)),
            number(Some(n.applicable_max)),
            number(Some(n.self_points)),
            number(Some(n.reviewed_points)),
            number(finalised.then_some(n.reviewed_points)),
            number(Some(
                (n.applicable_max - n.reviewed_points).max(Decimal::ZERO),
            )),
            yes_no(n.adjusted),
            if n.flags.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(n.flags.join(", "))
            },
        ];
        row.extend(trace(&n.self_trace));
        row.extend(trace(&n.reviewed_trace));
        row.push(i.and_then(|i| reasons.get(&i)).map(String::as_str).into());
        row
    };
    let mut rows = vec![line(None, &scores.total)];
    rows.extend(
        scores
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| line(Some(i), n)),
    );
    Ok(Export {
        table: Table {
            headers: EXPLAINED_COLUMNS.iter().map(|s| s.to_string()).collect(),
            rows,
        },
        sheet: "score",
        name: file_name(&["score", &period.code, &unit.code]),
    })
}

/// The columns of the audit export.
pub const AUDIT_COLUMNS: [&str; 12] = [
    "id",
    "occurred_at",
    "actor_id",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "unit_id",
    "period_id",
    "old_value",
    "new_value",
    "request_id",
];

/// Every audit event of a period, oldest first, as `GET /audit-events?period_id=` lists them
/// (old and new values as JSON text, times in RFC 3339 UTC). Administrators and viewers.
pub fn audit_events(
    conn: &mut PgConnection,
    actor: &Principal,
    period_id: Uuid,
) -> AppResult<Export> {
    crate::audit::require_reader(actor)?;
    let period = periods::get(conn, period_id)?;
    let id = |u: Option<Uuid>| -> Cell { u.map(|u| u.to_string()).into() };
    let rows = AuditEvent::of_period(conn, period_id)?
        .into_iter()
        .map(|e| {
            vec![
                Cell::Int(e.id),
                Cell::Text(e.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true)),
                id(e.actor_id),
                e.actor_role.into(),
                e.action.into(),
                e.entity_type.into(),
                e.entity_id.into(),
                id(e.unit_id),
                id(e.period_id),
                json_text(e.old_value.as_ref()),
                json_text(e.new_value.as_ref()),
                e.request_id.into(),
            ]
        })
        .collect();
    Ok(Export {
        table: Table {
            headers: AUDIT_COLUMNS.iter().map(|s| s.to_string()).collect(),
            rows,
        },
        sheet: "audit",
        name: file_name(&["audit", &period.code]),
    })
}

/// The first columns of a published snapshot as CSV; one group of [`SCOPE_COLUMNS`] per
/// pillar, then per main indicator, follows (`pillar <code> points`, …).
pub const SNAPSHOT_COLUMNS: [&str; 15] = [
    "rank",
    "tied",
    "unit_code",
    "unit_name",
    "unit_kind",
    "ranked",
    "exclusion_reason",
    "state",
    "finalised_as",
    "not_submitted",
    "points",
    "applicable_max",
    "index",
    "band",
    "band_label",
];

/// A published snapshot's rankings as a table: one row per unit in the snapshot's order, the
/// values exactly as published.
pub fn snapshot_table(content: &Value) -> Table {
    let entries: &[Value] = content["rankings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    // the scopes as the snapshot lists them (units without a result list none)
    let mut scopes: Vec<Scope> = Vec::new();
    for e in entries {
        for (key, kind) in [
            ("pillars", RankingScope::Pillar),
            ("main_indicators", RankingScope::Main),
        ] {
            for s in e[key].as_array().map(Vec::as_slice).unwrap_or_default() {
                let code = s["code"].as_str().unwrap_or_default().to_string();
                let scope = Scope { kind, code };
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
    }
    scopes.sort_by_key(|s| s.kind != RankingScope::Pillar);
    let text = |v: &Value| -> Cell {
        match v {
            Value::String(s) => s.as_str().into(),
            Value::Null => Cell::Empty,
            other => Cell::Text(other.to_string()),
        }
    };
    let decimal = |v: &Value| -> Cell {
        match v.as_str().map(Decimal::from_str) {
            Some(Ok(d)) => Cell::Number(d),
            _ => text(v),
        }
    };
    let int = |v: &Value| v.as_i64().map_or_else(|| text(v), Cell::Int);
    let flag = |v: &Value| v.as_bool().map_or(Cell::Empty, yes_no);
    let mut headers: Vec<String> = SNAPSHOT_COLUMNS.iter().map(|s| s.to_string()).collect();
    for scope in &scopes {
        for c in SCOPE_COLUMNS {
            headers.push(format!("{} {} {c}", scope.kind.as_str(), scope.code));
        }
    }
    let rows = entries
        .iter()
        .map(|e| {
            let mut row = vec![
                int(&e["rank"]),
                flag(&e["tied"]),
                text(&e["unit"]["code"]),
                text(&e["unit"]["name"]),
                text(&e["unit"]["kind"]),
                flag(&e["ranked"]),
                text(&e["exclusion_reason"]),
                text(&e["state"]),
                text(&e["finalised_as"]),
                flag(&e["not_submitted"]),
                decimal(&e["points"]),
                decimal(&e["applicable_max"]),
                decimal(&e["index"]),
                text(&e["band"]["code"]),
                text(&e["band"]["label"]),
            ];
            for scope in &scopes {
                let key = if scope.kind == RankingScope::Pillar {
                    "pillars"
                } else {
                    "main_indicators"
                };
                let s = e[key]
                    .as_array()
                    .and_then(|l| l.iter().find(|s| s["code"] == scope.code.as_str()))
                    .unwrap_or(&Value::Null);
                row.extend([
                    decimal(&s["points"]),
                    decimal(&s["applicable_max"]),
                    decimal(&s["index"]),
                    int(&s["rank"]),
                    flag(&s["tied"]),
                ]);
            }
            row
        })
        .collect();
    Table { headers, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_names_stay_plain() {
        assert_eq!(
            file_name(&["scores", "DTI-2025", "LC XA/1"]),
            "scores-DTI-2025-LC_XA_1"
        );
        assert_eq!(file_name(&["a", "Lào"]), "a-L_o");
    }

    #[test]
    fn a_snapshot_table_keeps_the_published_values_and_lists_pillars_first() {
        let content = json!({"rankings": [
            {"unit": {"code": "XA-1", "name": "=HYPERLINK(\"x\")", "kind": "commune"},
             "rank": 1, "tied": false, "ranked": true, "exclusion_reason": null,
             "state": "finalised", "finalised_as": "reviewed", "not_submitted": false,
             "points": "60", "applicable_max": "100", "index": "0.6",
             "band": {"code": "KHA", "label": "Khá"},
             "main_indicators": [{"code": "1", "points": "40", "applicable_max": "40", "index": "1", "rank": 1, "tied": true}],
             "pillars": [{"code": "CQS", "points": "60", "applicable_max": "100", "index": "0.6", "rank": 1, "tied": false}]},
            {"unit": {"code": "XA-2", "name": "Xã 2", "kind": "commune"},
             "rank": null, "tied": false, "ranked": false, "exclusion_reason": "Sáp nhập",
             "state": "in_progress", "finalised_as": null, "not_submitted": false,
             "points": null, "applicable_max": null, "index": null,
             "main_indicators": [], "pillars": []}
        ]});
        let t = snapshot_table(&content);
        assert_eq!(t.headers.len(), SNAPSHOT_COLUMNS.len() + 10);
        assert_eq!(t.headers[15], "pillar CQS points");
        assert_eq!(t.headers[20], "main 1 points");
        assert_eq!(t.rows[0][0], Cell::Int(1));
        assert_eq!(t.rows[0][12], Cell::Number(Decimal::new(6, 1)));
        assert_eq!(t.rows[0][13], Cell::from("KHA"));
        assert_eq!(t.rows[0][24], Cell::from("true"));
        assert_eq!(t.rows[1][0], Cell::Empty);
        assert_eq!(t.rows[1][6], Cell::from("Sáp nhập"));
        assert_eq!(t.rows[1][15], Cell::Empty);
    }
}
