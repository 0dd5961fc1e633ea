//! Units, ranking groups and lineage. Reading the directory of units is open to every
//! signed-in role (it is not private data); changing it is admin-only.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::PageReq;
use crate::db::models::groups::{NewRankingGroup, RankingGroup, RankingGroupChanges};
use crate::db::models::units::{NewUnit, PredecessorLink, Unit, UnitChanges, UnitFilter, UnitSort};
use crate::domain::precondition::IfMatch;
use crate::domain::{fold_text, is_valid_code, unit_kind_field};
use crate::error::UnknownAs;
use crate::error::{AppError, AppResult, FieldError};
use crate::services::scoring::Caches;

/// A unit named by id or code in a path.
pub fn resolve_unit(conn: &mut PgConnection, r: &str) -> AppResult<Unit> {
    let found = match Uuid::parse_str(r) {
        Ok(id) => Unit::find(conn, id)?,
        Err(_) => Unit::find_by_code(conn, r)?,
    };
    found.ok_or_else(|| AppError::not_found("unit", r))
}

/// A unit named by id or code in a request body: unknown → 422 on that field.
pub fn resolve_unit_field(conn: &mut PgConnection, r: &str, field: &str) -> AppResult<Unit> {
    resolve_unit(conn, r).unknown_as(|| {
        AppError::validation(vec![
            FieldError::new(
                field,
                "UNKNOWN_UNIT",
                format!("no unit has id or code {r:?}"),
            )
            .with_param("value", r),
        ])
    })
}

pub fn resolve_group(conn: &mut PgConnection, r: &str) -> AppResult<RankingGroup> {
    let found = match Uuid::parse_str(r) {
        Ok(id) => RankingGroup::find(conn, id)?,
        Err(_) => RankingGroup::find_by_code(conn, r)?,
    };
    found.ok_or_else(|| AppError::not_found("ranking group", r))
}

fn resolve_group_field(conn: &mut PgConnection, r: &str, field: &str) -> AppResult<RankingGroup> {
    resolve_group(conn, r).unknown_as(|| {
        AppError::validation(vec![
            FieldError::new(
                field,
                "UNKNOWN_GROUP",
                format!("no ranking group has id or code {r:?}"),
            )
            .with_param("value", r),
        ])
    })
}

pub struct PredecessorInput {
    pub unit: String,
    pub effective_date: Option<NaiveDate>,
    pub note: Option<String>,
}

pub struct CreateUnit {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
    pub tags: Vec<String>,
    pub active: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub groups: Vec<String>,
    pub predecessors: Vec<PredecessorInput>,
}

#[derive(Default)]
pub struct UpdateUnit {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub parent: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub active: Option<bool>,
    pub valid_from: Option<Option<NaiveDate>>,
    pub valid_to: Option<Option<NaiveDate>>,
    pub groups: Option<Vec<String>>,
    pub predecessors: Option<Vec<PredecessorInput>>,
}

/// A unit with what a client needs beside it.
pub struct UnitView {
    pub unit: Unit,
    pub parent_code: Option<String>,
    pub groups: Vec<RankingGroup>,
    pub predecessors: Vec<LineageLink>,
    pub successors: Vec<LineageLink>,
}

#[derive(Clone)]
pub struct LineageLink {
    pub unit_id: Uuid,
    pub code: String,
    pub name: String,
    pub effective_date: Option<NaiveDate>,
    pub note: Option<String>,
}

fn check_tags(tags: &[String]) -> AppResult<()> {
    let bad: Vec<FieldError> = tags
        .iter()
        .enumerate()
        .filter(|(_, t)| !is_valid_code(t))
        .map(|(i, t)| {
            FieldError::new(
                format!("/tags/{i}"),
                "INVALID_TAG",
                format!("{t:?}: letters, digits, '.', '-', '_' only"),
            )
            .with_param("value", t)
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(bad))
    }
}

fn check_kind(kind: &str) -> AppResult<()> {
    unit_kind_field("/kind", kind)
        .map(drop)
        .map_err(|e| AppError::validation(vec![e]))
}

/// A ranking group ranks units of one kind: the refusal of a unit of another kind in it.
fn kind_mismatch(
    field: String,
    unit_code: &str,
    unit_kind: &str,
    group: &RankingGroup,
) -> FieldError {
    FieldError::new(
        field,
        "KIND_MISMATCH",
        format!(
            "{} is a {}, group {} ranks {} units",
            unit_code, unit_kind, group.code, group.unit_kind
        ),
    )
    .with_param("unit", unit_code)
    .with_param("kind", unit_kind)
    .with_param("group", &group.code)
    .with_param("group_kind", &group.unit_kind)
}

/// The groups a unit of `kind` is given (422 with every unknown group or group of another
/// kind).
fn resolve_groups(
    conn: &mut PgConnection,
    refs: &[String],
    unit_code: &str,
    kind: &str,
) -> AppResult<Vec<Uuid>> {
    let mut ids = BTreeSet::new();
    let mut errors = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let field = format!("/groups/{i}");
        let group = resolve_group_field(conn, r, &field)?;
        if group.unit_kind != kind {
            errors.push(kind_mismatch(field, unit_code, kind, &group));
        }
        ids.insert(group.id);
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok(ids.into_iter().collect())
}

fn resolve_predecessors(
    conn: &mut PgConnection,
    successor: Uuid,
    inputs: &[PredecessorInput],
) -> AppResult<Vec<PredecessorLink>> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, p) in inputs.iter().enumerate() {
        let field = format!("/predecessors/{i}/unit");
        let unit = resolve_unit_field(conn, &p.unit, &field)?;
        if unit.id == successor {
            return Err(AppError::validation(vec![FieldError::new(
                field,
                "SELF_LINEAGE",
                "a unit cannot be its own predecessor",
            )]));
        }
        if !seen.insert(unit.id) {
            return Err(AppError::validation(vec![FieldError::new(
                field,
                "DUPLICATE",
                "listed twice",
            )]));
        }
        out.push((unit.id, p.effective_date, p.note.clone()));
    }
    Ok(out)
}

fn snapshot(u: &Unit) -> serde_json::Value {
    serde_json::json!({
        "code": u.code, "name": u.name, "kind": u.kind, "parent_id": u.parent_id, "tags": u.tags,
        "active": u.active, "valid_from": u.valid_from, "valid_to": u.valid_to, "version": u.version
    })
}

/// 409 `CODE_TAKEN`: unit codes are unique ignoring case.
fn unit_code_taken(existing: &str) -> AppError {
    AppError::conflict(
        "CODE_TAKEN",
        format!("A unit with code {existing} exists (unit codes ignore case)."),
    )
}

/// Who may create units (checked by [`create`], and before a replay of it).
pub fn authorise_create(actor: &Principal) -> AppResult<()> {
    actor.require_admin("create units")
}

pub fn create(
    conn: &mut PgConnection,
    actor: &Principal,
    input: CreateUnit,
) -> AppResult<UnitView> {
    authorise_create(actor)?;
    check_kind(&input.kind)?;
    check_tags(&input.tags)?;
    conn.transaction(|c| {
        if let Some(existing) = Unit::find_by_code(c, &input.code)? {
            return Err(unit_code_taken(&existing.code));
        }
        let parent = match &input.parent {
            Some(r) => Some(resolve_unit_field(c, r, "/parent")?.id),
            None => None,
        };
        let groups = resolve_groups(c, &input.groups, &input.code, &input.kind)?;
        let id = Uuid::new_v4();
        let predecessors = resolve_predecessors(c, id, &input.predecessors)?;
        let unit = Unit::insert(
            c,
            &NewUnit {
                id,
                code: input.code.clone(),
                name: input.name.trim().to_string(),
                search_name: fold_text(&input.name),
                kind: input.kind.clone(),
                parent_id: parent,
                tags: input.tags.clone(),
                active: input.active,
                valid_from: input.valid_from,
                valid_to: input.valid_to,
            },
        )
        .map_err(|e| match e {
            // created meanwhile, in this spelling or another
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => unit_code_taken(&input.code),
            other => other.into(),
        })?;
        Unit::set_groups(c, id, &groups)?;
        Unit::set_predecessors(c, id, &predecessors)?;
        Audit::new(Some(actor), "unit.create", "unit", id)
            .unit(Some(id))
            .new_value(serde_json::json!({"unit": snapshot(&unit), "groups": groups, "predecessors": predecessors.iter().map(|p| p.0).collect::<Vec<_>>()}))
            .record(c)?;
        view(c, unit)
    })
}

pub fn update(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    unit_ref: &str,
    expected: &IfMatch,
    input: UpdateUnit,
) -> AppResult<UnitView> {
    actor.require_admin("change units")?;
    if let Some(k) = &input.kind {
        check_kind(k)?;
    }
    if let Some(t) = &input.tags {
        check_tags(t)?;
    }
    conn.transaction(|c| {
        let before = resolve_unit(c, unit_ref)?;
        expected.check(before.version, "The unit")?;
        let parent = match &input.parent {
            None => None,
            Some(None) => Some(None),
            Some(Some(r)) => {
                let p = resolve_unit_field(c, r, "/parent")?;
                if Unit::would_cycle(c, before.id, p.id)? {
                    return Err(AppError::validation(vec![
                        FieldError::new(
                            "/parent",
                            "PARENT_CYCLE",
                            format!(
                                "{} is {} itself or one of its descendants",
                                p.code, before.code
                            ),
                        )
                        .with_param("parent", &p.code)
                        .with_param("unit", &before.code),
                    ]));
                }
                Some(Some(p.id))
            }
        };
        // a ranking group ranks units of one kind: a new kind needs groups of that kind
        let kind = input.kind.clone().unwrap_or_else(|| before.kind.clone());
        let groups = match &input.groups {
            Some(refs) => Some(resolve_groups(c, refs, &before.code, &kind)?),
            None => None,
        };
        if kind != before.kind && groups.is_none() {
            let current: Vec<Uuid> = Unit::groups_of(c, &[before.id])?.into_iter().map(|(_, g)| g).collect();
            let mut other: Vec<String> = RankingGroup::find_many(c, &current)?
                .into_iter()
                .filter(|g| g.unit_kind != kind)
                .map(|g| g.code)
                .collect();
            if !other.is_empty() {
                other.sort();
                return Err(AppError::conflict(
                    "UNIT_KIND_IN_GROUP",
                    format!(
                        "{} is a member of ranking group(s) {} of {} units; take it out of them, or give its new groups in the same request, to make it a {kind}.",
                        before.code,
                        other.join(", "),
                        before.kind
                    ),
                )
                .with_extension("groups", &other)
                .with_param("unit", &before.code)
                .with_param("kind", &kind));
            }
        }
        let changes = UnitChanges {
            search_name: input.name.as_deref().map(fold_text),
            name: input.name.map(|n| n.trim().to_string()),
            kind: input.kind,
            parent_id: parent,
            tags: input.tags,
            active: input.active,
            valid_from: input.valid_from,
            valid_to: input.valid_to,
        };
        let unit =
            Unit::update(c, before.id, Some(before.version), &changes)?.ok_or_else(|| {
                AppError::precondition_failed("The unit changed meanwhile; GET it again.")
            })?;
        // tags decide which components apply: the open assessments follow, rescored now
        let rescored = if unit.tags != before.tags {
            crate::services::scoring::follow_unit_tags(c, caches, unit.id, &unit.tags)?
        } else {
            0
        };
        if let Some(ids) = &groups {
            Unit::set_groups(c, unit.id, ids)?;
        }
        if let Some(preds) = &input.predecessors {
            let resolved = resolve_predecessors(c, unit.id, preds)?;
            Unit::set_predecessors(c, unit.id, &resolved)?;
        }
        let mut after = snapshot(&unit);
        after["rescored_assessments"] = rescored.into();
        Audit::new(Some(actor), "unit.update", "unit", unit.id)
            .unit(Some(unit.id))
            .old(snapshot(&before))
            .new_value(after)
            .record(c)?;
        view(c, unit)
    })
}

/// A unit with its groups, parent code and direct lineage.
pub fn view(conn: &mut PgConnection, unit: Unit) -> AppResult<UnitView> {
    let mut views = views(conn, vec![unit], true)?;
    views
        .pop()
        .ok_or_else(|| AppError::internal("unit view missing"))
}

/// Batch form of [`view`]: a constant number of queries whatever the page size.
pub fn views(
    conn: &mut PgConnection,
    units: Vec<Unit>,
    with_lineage: bool,
) -> AppResult<Vec<UnitView>> {
    let ids: Vec<Uuid> = units.iter().map(|u| u.id).collect();
    let memberships = Unit::groups_of(conn, &ids)?;
    let group_ids: BTreeSet<Uuid> = memberships.iter().map(|(_, g)| *g).collect();
    let groups: BTreeMap<Uuid, RankingGroup> =
        RankingGroup::find_many(conn, &group_ids.into_iter().collect::<Vec<_>>())?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
    let mut lineage = Vec::new();
    if with_lineage {
        for id in &ids {
            lineage.extend(Unit::lineage_of(conn, *id)?);
        }
    }
    let mut related: BTreeSet<Uuid> = units.iter().filter_map(|u| u.parent_id).collect();
    related.extend(lineage.iter().flat_map(|(p, s, _, _)| [*p, *s]));
    let related: BTreeMap<Uuid, Unit> =
        Unit::find_many(conn, &related.into_iter().collect::<Vec<_>>())?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
    let link = |id: Uuid, date: Option<NaiveDate>, note: &Option<String>| {
        related.get(&id).map(|u| LineageLink {
            unit_id: u.id,
            code: u.code.clone(),
            name: u.name.clone(),
            effective_date: date,
            note: note.clone(),
        })
    };
    Ok(units
        .into_iter()
        .map(|unit| {
            let mut gs: Vec<RankingGroup> = memberships
                .iter()
                .filter(|(u, _)| *u == unit.id)
                .filter_map(|(_, g)| groups.get(g).cloned())
                .collect();
            gs.sort_by(|a, b| a.code.cmp(&b.code));
            let predecessors = lineage
                .iter()
                .filter(|(_, s, _, _)| *s == unit.id)
                .filter_map(|(p, _, d, n)| link(*p, *d, n))
                .collect();
            let successors = lineage
                .iter()
                .filter(|(p, _, _, _)| *p == unit.id)
                .filter_map(|(_, s, d, n)| link(*s, *d, n))
                .collect();
            UnitView {
                parent_code: unit
                    .parent_id
                    .and_then(|p| related.get(&p))
                    .map(|p| p.code.clone()),
                unit,
                groups: gs,
                predecessors,
                successors,
            }
        })
        .collect())
}

pub fn list(
    conn: &mut PgConnection,
    filter: UnitFilter,
    sort: UnitSort,
    page: PageReq,
) -> AppResult<(Vec<UnitView>, i64)> {
    let (units, total) = Unit::list(conn, &filter, sort, page)?;
    Ok((views(conn, units, false)?, total))
}

/// The whole lineage around a unit: every ancestor (predecessors, their predecessors…) and
/// every descendant, as (predecessor, successor) edges between the units reached.
pub fn lineage_graph(
    conn: &mut PgConnection,
    unit: &Unit,
) -> AppResult<(Vec<Unit>, Vec<LineageEdge>)> {
    let mut seen = BTreeSet::from([unit.id]);
    let mut edges = BTreeSet::new();
    let mut queue = VecDeque::from([unit.id]);
    while let Some(id) = queue.pop_front() {
        if seen.len() > 500 {
            break;
        }
        for (p, s, d, _) in Unit::lineage_of(conn, id)? {
            edges.insert((p, s, d));
            for n in [p, s] {
                if seen.insert(n) {
                    queue.push_back(n);
                }
            }
        }
    }
    let mut units = Unit::find_many(conn, &seen.into_iter().collect::<Vec<_>>())?;
    units.sort_by(|a, b| a.code.cmp(&b.code));
    Ok((units, edges.into_iter().collect()))
}

/// (predecessor, successor, effective date).
pub type LineageEdge = (Uuid, Uuid, Option<NaiveDate>);

pub struct GroupInput {
    pub code: String,
    pub name: String,
    pub unit_kind: String,
    pub description: Option<String>,
}

/// Who may create ranking groups (checked by [`create_group`], and before a replay of it).
pub fn authorise_create_group(actor: &Principal) -> AppResult<()> {
    actor.require_admin("create ranking groups")
}

pub fn create_group(
    conn: &mut PgConnection,
    actor: &Principal,
    input: GroupInput,
) -> AppResult<RankingGroup> {
    authorise_create_group(actor)?;
    if let Err(e) = unit_kind_field("/unit_kind", &input.unit_kind) {
        return Err(AppError::validation(vec![e]));
    }
    conn.transaction(|c| {
        if RankingGroup::find_by_code(c, &input.code)?.is_some() {
            return Err(AppError::conflict(
                "CODE_TAKEN",
                format!("A ranking group with code {} exists.", input.code),
            ));
        }
        let g = RankingGroup::insert(
            c,
            &NewRankingGroup {
                id: Uuid::new_v4(),
                code: input.code,
                name: input.name.trim().to_string(),
                unit_kind: input.unit_kind,
                description: input.description,
            },
        )?;
        Audit::new(Some(actor), "ranking_group.create", "ranking_group", g.id)
            .new_value(
                serde_json::json!({"code": g.code, "name": g.name, "unit_kind": g.unit_kind}),
            )
            .record(c)?;
        Ok(g)
    })
}

pub fn update_group(
    conn: &mut PgConnection,
    actor: &Principal,
    group_ref: &str,
    changes: RankingGroupChanges,
) -> AppResult<RankingGroup> {
    actor.require_admin("change ranking groups")?;
    conn.transaction(|c| {
        let before = resolve_group(c, group_ref)?;
        let g = RankingGroup::update(c, before.id, &changes)?
            .ok_or_else(|| AppError::not_found("ranking group", group_ref))?;
        Audit::new(Some(actor), "ranking_group.update", "ranking_group", g.id)
            .old(serde_json::json!({"name": before.name, "description": before.description}))
            .new_value(serde_json::json!({"name": g.name, "description": g.description}))
            .record(c)?;
        Ok(g)
    })
}

/// Who may replace a group's members (checked by [`set_group_members`], and before a replay).
pub fn authorise_set_group_members(actor: &Principal) -> AppResult<()> {
    actor.require_admin("change ranking group members")
}

/// Replaces a group's members; every member must be of the group's unit kind.
pub fn set_group_members(
    conn: &mut PgConnection,
    actor: &Principal,
    group_ref: &str,
    unit_refs: &[String],
) -> AppResult<(RankingGroup, Vec<Unit>)> {
    authorise_set_group_members(actor)?;
    conn.transaction(|c| {
        let group = resolve_group(c, group_ref)?;
        let before = RankingGroup::member_ids(c, group.id)?;
        let mut units = Vec::new();
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, r) in unit_refs.iter().enumerate() {
            let field = format!("/units/{i}");
            match resolve_unit_field(c, r, &field) {
                Ok(u) if u.kind != group.unit_kind => {
                    errors.push(kind_mismatch(field, &u.code, &u.kind, &group))
                }
                Ok(u) if !seen.insert(u.id) => {
                    errors.push(FieldError::new(field, "DUPLICATE", "listed twice"))
                }
                Ok(u) => units.push(u),
                Err(AppError::Client(e)) if e.code == "VALIDATION_FAILED" => {
                    errors.extend(e.errors)
                }
                Err(e) => return Err(e),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        crate::db::models::groups::set_members(
            c,
            group.id,
            &units.iter().map(|u| u.id).collect::<Vec<_>>(),
        )?;
        Audit::new(
            Some(actor),
            "ranking_group.set_members",
            "ranking_group",
            group.id,
        )
        .old(serde_json::json!({ "members": before }))
        .new_value(serde_json::json!({ "members": units.iter().map(|u| u.id).collect::<Vec<_>>() }))
        .record(c)?;
        units.sort_by(|a, b| a.code.cmp(&b.code));
        Ok((group, units))
    })
}
