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
        user_id: Uuid::nil(),
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
    let mut added = 0;
    for parsed in parsed_sets {
        if IndicatorSet::find_by_code_version(conn, &parsed.doc.code, parsed.doc.version)?.is_some()
        {
            continue;
        }
        let set = sets::create(conn, system, parsed)?;
        sets::activate(conn, system, set.id, None)?;
        added += 1;
    }
    Ok(added)
}
