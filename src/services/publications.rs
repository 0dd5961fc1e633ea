//! Publication (công bố kết quả): an immutable snapshot of the final scores and ranks of one
//! ranking group of a period, with a version, an embargo time and a SHA-256 checksum of its
//! canonical JSON. Errata make the next version, with a changelog and, in the snapshot, what
//! changed against the version before (`changes`: every unit whose points, index or rank
//! moved); older versions stay readable. The correction path is in `services::workflow`.
//!
//! Snapshots carry each unit's classification band (`band`) and the set's `classification`;
//! snapshots published before bands existed stay exactly as they were. The set version a
//! published snapshot names is public too ([`published_method`]): its whole method, so that
//! anyone can recompute a published index.

use crate::domain::workflow::RankingScope;
use crate::scoring::ranking::shown_index;
use crate::services::scoring::Caches;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::groups::RankingGroup;
use crate::db::models::indicator_sets::IndicatorSet;
use crate::db::models::periods::{Period, PeriodGroup};
use crate::db::models::publications::{Publication, PublishedEntry};
use crate::db::models::scores::RankingRow;
use crate::db::models::units::Unit;
use crate::domain::indicator_set::SetDocument;
use crate::domain::workflow::{AssessmentState, FinalisedAs, PeriodPhase};
use crate::error::UnknownAs;
use crate::error::{AppError, AppResult, FieldError};
use crate::scoring::band_of;
use crate::services::outbox::{self, Event};
use crate::services::scoring::set_entry;
use crate::services::units::resolve_group;

/// SHA-256 of the canonical JSON text (object keys sorted, no whitespace).
pub fn checksum(content: &Value) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        serde_json::to_string(content)
            .unwrap_or_default()
            .as_bytes(),
    ))
}

fn snapshot(
    c: &mut PgConnection,
    caches: &Caches,
    period: &Period,
    group: &RankingGroup,
    pin: &PeriodGroup,
    version: i32,
    visible_from: DateTime<Utc>,
) -> AppResult<Value> {
    let set_id = pin.set_id;
    let set = IndicatorSet::find(c, set_id)?
        .ok_or_else(|| AppError::not_found("indicator set", set_id))?;
    let entry = set_entry(c, caches, set_id)?;
    crate::services::scoring::ensure_layout(c, caches, pin, &entry)?;
    let rows = RankingRow::of_group(
        c,
        period.id,
        group.id,
        &crate::scoring::ranking::scopes(&entry.set),
    )?;
    let units: BTreeMap<Uuid, Unit> =
        Unit::find_many(c, &rows.iter().map(|r| r.unit_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
    let names: BTreeMap<String, String> = entry
        .set
        .nodes
        .iter()
        .map(|n| (n.code.clone(), n.name.clone()))
        .chain(
            entry
                .set
                .pillars
                .iter()
                .map(|p| (p.code.clone(), p.name.clone())),
        )
        .collect();
    let assessments: BTreeMap<Uuid, Assessment> = Assessment::of_group(c, period.id, group.id)?
        .into_iter()
        .map(|a| (a.unit_id, a))
        .collect();
    let scope = |r: &RankingRow| {
        json!({"code": r.scope_code, "name": names.get(&r.scope_code), "points": r.points.normalize().to_string(), "applicable_max": r.applicable_max.normalize().to_string(),
               "index": r.index_value.map(|d| shown_index(d, entry.set.precision).to_string()), "rank": r.rank, "tied": r.tied})
    };
    // the band of an overall index, as the rankings and scores show it
    let band = |index: Option<rust_decimal::Decimal>| {
        let c = entry.set.classification.as_ref()?;
        let b = band_of(c, index?, entry.set.precision)?;
        Some(json!({"code": b.code, "label": b.label, "label_en": b.label_en}))
    };
    // each unit's rows, sorted out in one pass: its overall row, its main indicators' and its
    // pillars' (the snapshot costs O(rows), not a pass over every row per unit)
    let mut overall: Vec<&RankingRow> = Vec::new();
    let mut parts: HashMap<Uuid, (Vec<&RankingRow>, Vec<&RankingRow>)> = HashMap::new();
    for r in &rows {
        match r.scope {
            RankingScope::Overall => overall.push(r),
            RankingScope::Main => parts.entry(r.unit_id).or_default().0.push(r),
            RankingScope::Pillar => parts.entry(r.unit_id).or_default().1.push(r),
        }
    }
    overall.sort_by(|a, b| {
        (a.rank.is_none(), a.rank, &units[&a.unit_id].code).cmp(&(
            b.rank.is_none(),
            b.rank,
            &units[&b.unit_id].code,
        ))
    });
    let entries: Vec<Value> = overall
        .iter()
        .map(|o| {
            let u = &units[&o.unit_id];
            let a = assessments.get(&o.unit_id);
            let finalised_as = a.and_then(Assessment::finalised_as);
            // only a finalised result is official; an excluded unit may have none
            if finalised_as.is_none() {
                return json!({
                    "unit": {"code": u.code, "name": u.name, "kind": u.kind},
                    "rank": null, "tied": false, "ranked": o.ranked,
                    "exclusion_reason": a.and_then(|a| a.excluded_reason.clone()),
                    "state": a.map(Assessment::state), "finalised_as": null, "not_submitted": false,
                    "points": null, "applicable_max": null, "index": null,
                    "main_indicators": [], "pillars": [],
                });
            }
            let (mut mains, mut pillars) = parts.remove(&o.unit_id).unwrap_or_default();
            mains.sort_by_key(|r| entry.set.index_of(&r.scope_code));
            pillars.sort_by_key(|r| entry.set.pillars.iter().position(|p| p.code == r.scope_code));
            json!({
                "unit": {"code": u.code, "name": u.name, "kind": u.kind},
                "rank": o.rank, "tied": o.tied, "ranked": o.ranked,
                "exclusion_reason": a.and_then(|a| a.excluded_reason.clone()),
                "state": a.map(Assessment::state), "finalised_as": finalised_as,
                "not_submitted": finalised_as.is_some_and(FinalisedAs::not_submitted),
                "points": o.points.normalize().to_string(), "applicable_max": o.applicable_max.normalize().to_string(),
                "index": o.index_value.map(|d| shown_index(d, entry.set.precision).to_string()),
                "band": band(o.index_value),
                "main_indicators": mains.iter().map(|r| scope(r)).collect::<Vec<_>>(),
                "pillars": pillars.iter().map(|r| scope(r)).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({
        "period": {"id": period.id, "code": period.code, "name": period.name, "data_year": period.data_year},
        "group": {"code": group.code, "name": group.name, "unit_kind": group.unit_kind},
        "indicator_set": {"code": set.code, "version": set.version, "name": set.name, "scale": set.scale.normalize().to_string(), "precision": set.precision,
                          "decision_number": set.decision_number, "issuer": set.issuer,
                          "classification": entry.set.classification},
        "version": version,
        "visible_from": visible_from,
        "rankings": entries,
    }))
}

/// Who may publish (checked by [`publish`], and before a replay of it).
pub fn authorise_publish(actor: &Principal) -> AppResult<()> {
    actor.require_admin("publish results")
}

/// What a snapshot changes against the version before it: every unit whose overall points,
/// index or rank differ (or that is new, or gone), with both sides, in unit-code order.
pub fn changes(before_version: i32, before: &Value, after: &Value) -> Value {
    let lines = |content: &Value| -> BTreeMap<String, (Value, Value)> {
        content["rankings"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let code = e["unit"]["code"].as_str()?.to_string();
                let line = json!({"points": e["points"], "index": e["index"], "rank": e["rank"]});
                Some((code, (e["unit"]["name"].clone(), line)))
            })
            .collect()
    };
    let (was, is) = (lines(before), lines(after));
    let codes: std::collections::BTreeSet<&String> = was.keys().chain(is.keys()).collect();
    let units: Vec<Value> = codes
        .into_iter()
        .filter_map(|code| {
            let (old, new) = (was.get(code), is.get(code));
            let line = |x: Option<&(Value, Value)>| x.map_or(Value::Null, |(_, l)| l.clone());
            if line(old) == line(new) {
                return None;
            }
            let name = new.or(old).map(|(n, _)| n.clone()).unwrap_or(Value::Null);
            Some(json!({"unit": {"code": code, "name": name}, "before": line(old), "after": line(new)}))
        })
        .collect();
    json!({"since_version": before_version, "units": units})
}

/// Publishes (or republishes as errata) one group's results.
pub fn publish(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    period_id: Uuid,
    group_ref: &str,
    visible_from: Option<DateTime<Utc>>,
    changelog: Option<String>,
) -> AppResult<Publication> {
    authorise_publish(actor)?;
    conn.transaction(|c| {
        let period = Period::find_for_update(c, period_id)?.ok_or_else(|| AppError::not_found("period", period_id))?;
        const PUBLISHING: [PeriodPhase; 2] = [PeriodPhase::Review, PeriodPhase::Published];
        if !PUBLISHING.contains(&period.phase) {
            return Err(AppError::conflict("PHASE_CLOSED", format!("Results are published from the review phase; the period is in {}.", period.phase))
                .with_extension("allowed_in_phase", PUBLISHING));
        }
        let group = resolve_group(c, group_ref).unknown_as(|| AppError::validation(vec![FieldError::new("/group", "UNKNOWN_GROUP", format!("no ranking group {group_ref:?}")).with_param("value", group_ref)]))?;
        let pin = Period::lock_group(c, period_id, group.id)?
            .ok_or_else(|| AppError::validation(vec![FieldError::new("/group", "NOT_IN_PERIOD", format!("group {} is not part of this period", group.code)).with_param("group", &group.code)]))?;
        // an excluded unit is published as not ranked, finalised or not
        let pending: Vec<Uuid> = Assessment::of_group(c, period_id, group.id)?
            .into_iter()
            .filter(|a| a.state() != AssessmentState::Finalised && !a.excluded())
            .map(|a| a.unit_id)
            .collect();
        if !pending.is_empty() {
            let mut codes: Vec<String> = Unit::find_many(c, &pending)?.into_iter().map(|u| u.code).collect();
            codes.sort();
            return Err(AppError::conflict("NOT_ALL_FINALISED", format!("{} assessment(s) of group {} are not finalised (or excluded from the ranking).", codes.len(), group.code)).with_extension("units", codes));
        }
        let version = Publication::max_version(c, period_id, group.id)?.unwrap_or(0) + 1;
        if version > 1 && changelog.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(AppError::validation(vec![FieldError::new("/changelog", "REQUIRED", "an errata version needs a changelog")]));
        }
        let visible_from = visible_from.unwrap_or_else(Utc::now);
        let mut content = snapshot(c, caches, &period, &group, &pin, version, visible_from)?;
        if let Some(before) = Publication::find_version(c, period_id, group.id, version - 1)? {
            content["changes"] = changes(before.version, &before.content, &content);
        }
        let sum = checksum(&content);
        let publication = Publication::insert(c, period_id, group.id, version, visible_from, &sum, &content, changelog.as_deref(), actor.actor_id())?;
        outbox::emit(c, Event::published(&publication, &period, &group, actor))?;
        Audit::new(Some(actor), "publication.create", "publication", publication.id)
            .period(Some(period_id))
            .new_value(json!({"group": group.code, "version": version, "checksum": sum, "visible_from": visible_from, "changelog": changelog}))
            .record(c)?;
        Ok(publication)
    })
}

/// Which publication of a period the public sees, decided on the content-free index
/// ([`Publication::index`]) and the time `now`: version `version` of the group with code
/// `group_code` (default: the only group the period has published) if it is past its embargo,
/// else the latest version past it. 404 `NOT_FOUND` for a group no publication has, or when
/// nothing (or not that version) is visible yet; 422 when several groups are visible and none is
/// named.
pub fn pick_visible<'a>(
    index: &'a [PublishedEntry],
    now: DateTime<Utc>,
    period_id: Uuid,
    group_code: Option<&str>,
    version: Option<i32>,
) -> AppResult<&'a PublishedEntry> {
    let visible = || {
        index
            .iter()
            .filter(move |p| p.period_id == period_id && p.visible_from <= now)
    };
    let group = match group_code {
        Some(code) => Some(
            index
                .iter()
                .find(|p| p.group_code == code)
                .ok_or_else(|| AppError::not_found("published group", code))?
                .group_id,
        ),
        None => {
            let mut groups = visible().map(|p| p.group_id);
            let first = groups.next();
            if first.is_some() && groups.any(|g| Some(g) != first) {
                return Err(AppError::validation(vec![FieldError::new(
                    "group",
                    "REQUIRED",
                    "several groups are published: name one",
                )]));
            }
            first
        }
    };
    visible()
        .filter(|p| Some(p.group_id) == group && version.is_none_or(|v| p.version == v))
        .max_by_key(|p| p.version)
        .ok_or_else(|| AppError::not_found("published result", period_id))
}

/// The publication the public may see: a given version or the latest one past its embargo
/// ([`pick_visible`] on the period's index, then that one publication loaded).
pub fn visible(
    conn: &mut PgConnection,
    period_id: Uuid,
    group_code: Option<&str>,
    version: Option<i32>,
) -> AppResult<Publication> {
    let index = Publication::index_of_period(conn, period_id)?;
    let id = pick_visible(&index, Utc::now(), period_id, group_code, version)?.id;
    Publication::find(conn, id)?.ok_or_else(|| AppError::not_found("published result", period_id))
}

/// The method of a published group: the set version its visible snapshot (the latest, or
/// `version`) names, with the document upgraded to the current format. Only what is public:
/// a group without a visible snapshot is 404, as its rankings are.
pub fn published_method(
    conn: &mut PgConnection,
    period_id: Uuid,
    group_code: Option<&str>,
    version: Option<i32>,
) -> AppResult<(Publication, SetDocument)> {
    let p = visible(conn, period_id, group_code, version)?;
    let named = &p.content["indicator_set"];
    let (Some(code), Some(set_version)) = (
        named["code"].as_str(),
        named["version"]
            .as_i64()
            .and_then(|v| i32::try_from(v).ok()),
    ) else {
        return Err(AppError::internal("a snapshot without its indicator set"));
    };
    let set = IndicatorSet::find_by_code_version(conn, code, set_version)?.ok_or_else(|| {
        AppError::internal(format!("published set {code} v{set_version} is gone"))
    })?;
    let doc = crate::services::indicator_sets::document(&set)?;
    Ok((p, doc))
}
