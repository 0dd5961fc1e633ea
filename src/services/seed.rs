//! Seeds: `seeds/units.json` (ranking groups, units, lineage) and `seeds/users.json` (demo
//! accounts, all with the demo password). Idempotent: what exists (by code or username) is
//! left alone, so loading twice changes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::{Principal, password};
use crate::db::models::groups::{NewRankingGroup, RankingGroup};
use crate::db::models::units::{NewUnit, Unit};
use crate::db::models::users::{NewUser, User};
use crate::domain::precondition::IfMatch;
use crate::domain::{Role, UnitKind, fold_text};
use crate::error::{AppError, AppResult};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    ranking_groups: Vec<GroupSeed>,
    units: Vec<UnitSeed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSeed {
    code: String,
    name: String,
    unit_kind: UnitKind,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitSeed {
    code: String,
    name: String,
    kind: UnitKind,
    parent: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default = "yes")]
    active: bool,
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
    #[serde(default)]
    predecessors: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: Vec<UserSeed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSeed {
    username: String,
    full_name: String,
    role: Role,
    unit: Option<String>,
}

/// What a load did.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub groups: usize,
    pub units: usize,
    pub users: usize,
    pub indicator_sets: usize,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ranking groups, {} units, {} accounts added",
            self.groups, self.units, self.users
        )
    }
}

/// The actor seeds are recorded under in the audit log.
pub fn system_principal() -> Principal {
    Principal {
        caller: crate::auth::Caller::System,
        username: "system".into(),
        role: Role::Admin,
        unit_id: None,
        period_scope: None,
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> AppResult<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::internal(format!("reading {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::internal(format!("parsing {}: {e}", path.display())))
}

/// Loads every seed under `dir` in one transaction, demo accounts included.
pub fn load(conn: &mut PgConnection, dir: &Path, demo_password: &str) -> AppResult<SeedReport> {
    load_with(conn, dir, Some(demo_password))
}

/// Loads the units, ranking groups and indicator sets under `dir`, but no account (what
/// production mode loads: demo accounts have a published password).
pub fn load_reference_data(conn: &mut PgConnection, dir: &Path) -> AppResult<SeedReport> {
    load_with(conn, dir, None)
}

/// Every way the units and accounts under `dir` break the rules of [`problems`], one line each
/// (empty: consistent); errors only when a file cannot be read or typed.
pub fn check(dir: &Path) -> AppResult<Vec<String>> {
    let units: UnitsFile = read_json(&dir.join("units.json"))?;
    let users: UsersFile = read_json(&dir.join("users.json"))?;
    Ok(problems(&units, Some(&users)))
}

/// What the loader does not find by itself: a code given twice (the second would be skipped as
/// existing), dates that contradict `active`, a unit in a ranking group of another kind or
/// while inactive, lineage that is not a closed unit followed by a later one, and, with the
/// accounts, usernames, editors and leaders of inactive units, and an active unit of a kind that
/// enters figures without its editor and its leader.
fn problems(units: &UnitsFile, users: Option<&UsersFile>) -> Vec<String> {
    let mut out = Vec::new();
    let code_ok = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let mut groups: BTreeMap<&str, &GroupSeed> = BTreeMap::new();
    for g in &units.ranking_groups {
        if !code_ok(&g.code) || groups.insert(&g.code, g).is_some() {
            out.push(format!(
                "ranking group {:?}: code invalid or given twice",
                g.code
            ));
        }
        if g.name.trim().is_empty() {
            out.push(format!("ranking group {}: no name", g.code));
        }
    }
    let mut by_code: BTreeMap<&str, &UnitSeed> = BTreeMap::new();
    for u in &units.units {
        if !code_ok(&u.code) || by_code.insert(&u.code, u).is_some() {
            out.push(format!(
                "unit {:?}: code invalid (ASCII letters, digits, . - _) or given twice",
                u.code
            ));
        }
    }
    for u in &units.units {
        let at = format!("unit {}", u.code);
        if u.name.trim().is_empty() {
            out.push(format!("{at}: no name"));
        }
        if let Some(p) = &u.parent
            && (p == &u.code || !by_code.contains_key(p.as_str()))
        {
            out.push(format!("{at}: parent {p} not found"));
        }
        if let (Some(from), Some(to)) = (u.valid_from, u.valid_to)
            && from > to
        {
            out.push(format!("{at}: valid_from {from} after valid_to {to}"));
        }
        match (u.active, u.valid_to) {
            (false, None) => out.push(format!("{at}: inactive without valid_to")),
            (true, Some(to)) => out.push(format!("{at}: active with valid_to {to}")),
            _ => {}
        }
        for g in &u.groups {
            match groups.get(g.as_str()) {
                None => out.push(format!("{at}: ranking group {g} not found")),
                Some(group) if group.unit_kind != u.kind => out.push(format!(
                    "{at}: ranking group {g} is for {}, the unit is a {}",
                    group.unit_kind.as_str(),
                    u.kind.as_str()
                )),
                Some(_) => {}
            }
        }
        if !u.active && !u.groups.is_empty() {
            out.push(format!("{at}: inactive, yet in a ranking group"));
        }
        if u.tags.iter().any(|t| t.trim().is_empty()) {
            out.push(format!("{at}: a blank tag"));
        }
        for p in &u.predecessors {
            let Some(pred) = by_code.get(p.as_str()).filter(|_| p != &u.code) else {
                out.push(format!("{at}: predecessor {p} not found"));
                continue;
            };
            if pred.active {
                out.push(format!("{at}: predecessor {p} is still active"));
            }
            if let (Some(end), Some(start)) = (pred.valid_to, u.valid_from)
                && end >= start
            {
                out.push(format!(
                    "{at}: predecessor {p} is valid to {end}, not before the unit's valid_from {start}"
                ));
            }
        }
    }
    let Some(users) = users else {
        return out;
    };
    let mut names = std::collections::BTreeSet::new();
    let mut roles: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_unit: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in &users.users {
        let at = format!("account {}", u.username);
        let name_ok = !u.username.is_empty()
            && u.username.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !name_ok || !names.insert(u.username.as_str()) {
            out.push(format!(
                "{at}: username invalid (a-z 0-9 . _ -) or given twice"
            ));
        }
        if u.full_name.trim().is_empty() {
            out.push(format!("{at}: no full name"));
        }
        *roles.entry(u.role.as_str()).or_default() += 1;
        let unit = u.unit.as_deref().map(|c| (c, by_code.get(c)));
        if let Some((c, None)) = unit {
            out.push(format!("{at}: unit {c} not found"));
        }
        if matches!(u.role, Role::UnitEditor | Role::UnitLeader) {
            match unit {
                None => out.push(format!("{at}: a {} needs a unit", u.role.as_str())),
                Some((c, Some(found))) if !found.active => {
                    out.push(format!("{at}: a {} of inactive unit {c}", u.role.as_str()))
                }
                Some((c, Some(_))) => per_unit.entry(c).or_default().push(u.role.as_str()),
                Some((_, None)) => {}
            }
        }
    }
    for role in [Role::Admin, Role::Reviewer, Role::Viewer] {
        if !roles.contains_key(role.as_str()) {
            out.push(format!("no {} account", role.as_str()));
        }
    }
    for u in units.units.iter().filter(|u| u.active) {
        let enters_figures = matches!(
            u.kind,
            UnitKind::Department
                | UnitKind::Commune
                | UnitKind::PartyBody
                | UnitKind::FatherlandFront
        );
        if enters_figures {
            let mut got = per_unit.get(u.code.as_str()).cloned().unwrap_or_default();
            got.sort();
            if got != ["unit_editor", "unit_leader"] {
                out.push(format!(
                    "unit {}: accounts {got:?}, expected one unit_editor and one unit_leader",
                    u.code
                ));
            }
        }
    }
    out
}

fn load_with(
    conn: &mut PgConnection,
    dir: &Path,
    demo_password: Option<&str>,
) -> AppResult<SeedReport> {
    let units: UnitsFile = read_json(&dir.join("units.json"))?;
    let users: UsersFile = match demo_password {
        Some(_) => read_json(&dir.join("users.json"))?,
        None => UsersFile { users: Vec::new() },
    };
    let found = problems(&units, demo_password.map(|_| &users));
    if !found.is_empty() {
        return Err(AppError::internal(format!(
            "the seeds under {} are inconsistent: {}",
            dir.display(),
            found.join("; ")
        )));
    }
    // One hash for every demo account: they share the demo password anyway.
    let hash = demo_password
        .map(password::hash)
        .transpose()?
        .unwrap_or_default();
    conn.transaction(|c| {
        let mut report = SeedReport::default();
        let mut group_ids = BTreeMap::new();
        for g in &units.ranking_groups {
            let group = match RankingGroup::find_by_code(c, &g.code)? {
                Some(existing) => existing,
                None => {
                    report.groups += 1;
                    RankingGroup::insert(
                        c,
                        &NewRankingGroup {
                            id: Uuid::new_v4(),
                            code: g.code.clone(),
                            name: g.name.clone(),
                            unit_kind: g.unit_kind.as_str().into(),
                            description: g.description.clone(),
                        },
                    )?
                }
            };
            group_ids.insert(g.code.clone(), group.id);
        }
        // Parents first: repeat passes until every unit's parent exists.
        let mut ids: BTreeMap<String, Uuid> = BTreeMap::new();
        let mut pending: Vec<&UnitSeed> = units.units.iter().collect();
        let mut created = Vec::new();
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for u in pending {
                if let Some(existing) = Unit::find_by_code(c, &u.code)? {
                    ids.insert(u.code.clone(), existing.id);
                    continue;
                }
                let parent = match &u.parent {
                    None => None,
                    Some(p) => match ids.get(p).copied() {
                        Some(id) => Some(id),
                        None => match Unit::find_by_code(c, p)? {
                            Some(found) => Some(found.id),
                            None => {
                                rest.push(u);
                                continue;
                            }
                        },
                    },
                };
                let unit = Unit::insert(
                    c,
                    &NewUnit {
                        id: Uuid::new_v4(),
                        code: u.code.clone(),
                        name: u.name.clone(),
                        search_name: fold_text(&u.name),
                        kind: u.kind.as_str().into(),
                        parent_id: parent,
                        tags: u.tags.clone(),
                        active: u.active,
                        valid_from: u.valid_from,
                        valid_to: u.valid_to,
                    },
                )?;
                ids.insert(u.code.clone(), unit.id);
                created.push(u);
                report.units += 1;
            }
            if rest.len() == before {
                let codes: Vec<&str> = rest.iter().map(|u| u.code.as_str()).collect();
                return Err(AppError::internal(format!("seed units with unknown parents: {codes:?}")));
            }
            pending = rest;
        }
        for u in created {
            let id = ids[&u.code];
            let groups: Vec<Uuid> = u
                .groups
                .iter()
                .map(|g| group_ids.get(g).copied().ok_or_else(|| AppError::internal(format!("seed unit {} names unknown group {g}", u.code))))
                .collect::<AppResult<_>>()?;
            Unit::set_groups(c, id, &groups)?;
            let preds: Vec<crate::db::models::units::PredecessorLink> = u
                .predecessors
                .iter()
                .map(|p| {
                    ids.get(p)
                        .map(|pid| (*pid, u.valid_from, None))
                        .ok_or_else(|| AppError::internal(format!("seed unit {} names unknown predecessor {p}", u.code)))
                })
                .collect::<AppResult<_>>()?;
            Unit::set_predecessors(c, id, &preds)?;
        }
        let mut seeded = Vec::new();
        for u in &users.users {
            if User::find_by_username(c, &u.username)?.is_some() {
                continue;
            }
            let unit_id = match &u.unit {
                Some(code) => Some(*ids.get(code).ok_or_else(|| AppError::internal(format!("seed user {} names unknown unit {code}", u.username)))?),
                None => None,
            };
            let user = User::insert(
                c,
                &NewUser {
                    id: Uuid::new_v4(),
                    username: &u.username,
                    full_name: &u.full_name,
                    password_hash: &hash,
                    role: u.role.as_str(),
                    unit_id,
                    active: true,
                },
            )?;
            seeded.push(user.id);
            report.users += 1;
        }
        User::mark_seeded_password(c, &seeded)?;
        let system = system_principal();
        report.indicator_sets = load_indicator_sets(c, &system, &dir.join("indicator-sets"))?;
        Audit::new(Some(&system), "seed.load", "seed", dir.display())
            .new_value(serde_json::json!({"groups": report.groups, "units": report.units, "users": report.users, "indicator_sets": report.indicator_sets}))
            .record(c)?;
        Ok(report)
    })
}

/// The active accounts that still have one of `passwords` (the published demo password and the
/// configured one), by username. Only accounts marked as seeded are verified (the seeds mark
/// every account they create, a password change clears the mark, migration 13 marked the
/// accounts it found): each distinct hash once, since argon2 is slow on purpose and the seeds
/// give all their accounts one hash. A hash that matches none clears its mark for good, so a
/// later start verifies nothing.
pub fn accounts_with_demo_password(
    conn: &mut PgConnection,
    passwords: &[&str],
) -> AppResult<Vec<String>> {
    let rows = User::seeded_password_hashes(conn)?;
    let mut found = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let hash = &rows[i].0;
        let same = rows[i..].iter().take_while(|(h, _)| h == hash).count();
        if passwords.iter().any(|p| password::verify(p, hash)) {
            found.extend(rows[i..i + same].iter().map(|(_, u)| u.clone()));
        } else {
            User::clear_seeded_password(conn, hash)?;
        }
        i += same;
    }
    found.sort();
    Ok(found)
}

/// Imports and activates every set document in `dir` (JSON or YAML) through the same code path
/// as `POST /api/v1/indicator-sets`, lower versions of a family first (so that a later version
/// is based on the one it replaces); sets whose code and version exist are skipped.
fn load_indicator_sets(
    conn: &mut PgConnection,
    system: &Principal,
    dir: &Path,
) -> AppResult<usize> {
    use crate::db::models::indicator_sets::IndicatorSet;
    use crate::services::indicator_sets::{self as sets, Format};
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let mut parsed_sets = Vec::new();
    for path in files {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("yaml" | "yml") => Format::Yaml,
            _ => continue,
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| AppError::internal(format!("reading {}: {e}", path.display())))?;
        let parsed = sets::parse(&bytes, format).map_err(|e| {
            let detail = match &e {
                AppError::Client(c) => format!("{}: {:?}", c.detail, c.errors),
                other => other.to_string(),
            };
            AppError::internal(format!("seed {} is invalid: {detail}", path.display()))
        })?;
        parsed_sets.push(parsed);
    }
    parsed_sets.sort_by(|a, b| (&a.doc.code, a.doc.version).cmp(&(&b.doc.code, b.doc.version)));
    // Two files of one code and version: the second would be skipped as existing, unseen.
    if let Some(twice) = parsed_sets
        .windows(2)
        .find(|w| (&w[0].doc.code, w[0].doc.version) == (&w[1].doc.code, w[1].doc.version))
    {
        return Err(AppError::internal(format!(
            "two seed sets under {} are {} version {}",
            dir.display(),
            twice[0].doc.code,
            twice[0].doc.version
        )));
    }
    let mut added = 0;
    for parsed in parsed_sets {
        if IndicatorSet::find_by_code_version(conn, &parsed.doc.code, parsed.doc.version)?.is_some()
        {
            continue;
        }
        let set = sets::create(conn, system, parsed)?;
        sets::activate(conn, system, set.id, &IfMatch::Any)?;
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(json: serde_json::Value) -> UnitsFile {
        serde_json::from_value(json).unwrap()
    }

    fn users(json: serde_json::Value) -> UsersFile {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn inconsistent_units_and_accounts_are_each_named() {
        let u = units(serde_json::json!({
            "ranking_groups": [
                {"code": "G-XA", "name": "Xã", "unit_kind": "commune", "description": null},
                {"code": "G-XA", "name": " ", "unit_kind": "commune", "description": null}
            ],
            "units": [
                {"code": "OLD", "name": "Xã cũ", "kind": "commune", "active": true,
                 "valid_to": "2025-06-30", "groups": ["G-XA"]},
                {"code": "GONE", "name": "Xã đã nhập", "kind": "commune", "active": false},
                {"code": "NEW", "name": "Xã mới", "kind": "commune", "parent": "NEW",
                 "valid_from": "2025-06-01", "predecessors": ["OLD", "MISSING"]},
                {"code": "SO", "name": "Sở", "kind": "department", "groups": ["G-XA"], "tags": [""]},
                {"code": "SO", "name": "Sở", "kind": "department"},
                {"code": "bad code", "name": "Xã", "kind": "commune", "active": false,
                 "valid_from": "2025-07-01", "valid_to": "2025-01-01"}
            ]
        }));
        let a = users(serde_json::json!({"users": [
            {"username": "admin", "full_name": "Quản trị", "role": "admin", "unit": null},
            {"username": "Admin", "full_name": "", "role": "reviewer", "unit": null},
            {"username": "ed.gone", "full_name": "Biên tập", "role": "unit_editor", "unit": "GONE"},
            {"username": "ld.none", "full_name": "Lãnh đạo", "role": "unit_leader", "unit": null},
            {"username": "ed.new", "full_name": "Biên tập", "role": "unit_editor", "unit": "NOWHERE"}
        ]}));
        let found = problems(&u, Some(&a));
        for expected in [
            "ranking group \"G-XA\": code invalid or given twice",
            "ranking group G-XA: no name",
            "unit \"SO\": code invalid",
            "unit \"bad code\": code invalid",
            "unit OLD: active with valid_to 2025-06-30",
            "unit GONE: inactive without valid_to",
            "unit NEW: parent NEW not found",
            "unit NEW: predecessor OLD is still active",
            "unit NEW: predecessor OLD is valid to 2025-06-30, not before the unit's valid_from 2025-06-01",
            "unit NEW: predecessor MISSING not found",
            "unit SO: ranking group G-XA is for commune, the unit is a department",
            "unit SO: a blank tag",
            "unit bad code: valid_from 2025-07-01 after valid_to 2025-01-01",
            "account Admin: username invalid",
            "account Admin: no full name",
            "account ed.gone: a unit_editor of inactive unit GONE",
            "account ld.none: a unit_leader needs a unit",
            "account ed.new: unit NOWHERE not found",
            "no viewer account",
            "unit NEW: accounts [], expected one unit_editor and one unit_leader",
        ] {
            assert!(
                found.iter().any(|f| f.starts_with(expected)),
                "{expected} not in {found:#?}"
            );
        }
        // without the accounts (production loads none), only the units are checked
        assert!(problems(&u, None).iter().all(|p| !p.contains("account")));
    }

    #[test]
    fn the_shipped_units_and_accounts_are_consistent() {
        assert_eq!(check(Path::new("seeds")).unwrap(), Vec::<String>::new());
    }
}
