//! Imports of the directory from files: units (with their ranking-group memberships) and
//! accounts, matched by code / username, created or updated (layouts in
//! `crate::imports::directory`).
//!
//! - Administrators only (checked before the file is read, and before an `Idempotency-Key`
//!   replay).
//! - Each row goes through the service function of the single-record route
//!   (`services::units::create` / `update`, `services::users::create` / `update`): the same
//!   rules, the same audit events, the same rescoring (a unit's new tags rescore its open
//!   assessments; ranking-group memberships are read when a period opens, as for
//!   `PATCH /units/{id}`). A row's problems become conflicts at its row and column.
//! - One transaction; each row in a savepoint. All or nothing by default (any conflict rolls
//!   everything back); [`ImportMode::Partial`] keeps the rows that succeeded. A dry run does all
//!   of it and rolls back.
//! - Units whose parent is another row of the same file are written after it, whatever the
//!   row order; a cycle of parents within the file is a conflict.
//! - A new account gets a random one-time password (returned once by the route, never stored
//!   in clear: only its argon2 hash) and must change it at first login
//!   (`must_change_password`). A dry run hands out no password.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::models::units::Unit;
use crate::db::models::users::User;
use crate::domain::Role;
use crate::domain::precondition::IfMatch;
use crate::error::{AppError, AppResult, FieldError};
use crate::imports::directory::{
    AccountColumn, AccountRow, UnitColumn, UnitRow, read_account_row, read_unit_row,
};
use crate::imports::layout::{ColumnSet, Field, Header};
use crate::imports::source::{self, Format, Item, RowNumber, SourceError};
use crate::services::imports::{ImportMode, MAX_CONFLICTS, RowChange, source_error};
use crate::services::scoring::Caches;
use crate::services::units::{CreateUnit, UnitView, UpdateUnit};
use crate::services::users::{CreateUser, UpdateUser};

/// The most rows of one directory file (a national directory has about 3,800 units).
pub const MAX_DIRECTORY_ROWS: u64 = 50_000;
/// Characters of a generated one-time password (letters and digits: about 119 bits).
pub const ONE_TIME_PASSWORD_CHARS: usize = 20;

/// One problem of one row (row 1 is the header).
#[derive(Debug, Clone)]
pub struct RowConflict {
    pub row: RowNumber,
    /// The row's unit code or username, when it was read.
    pub key: Option<String>,
    /// `field` is the column's name (empty for the row as a whole).
    pub error: FieldError,
}

/// What a directory import did (or a dry run would do).
pub struct DirectoryOutcome<O> {
    pub format: Format,
    pub dry_run: bool,
    pub mode: ImportMode,
    pub rows_read: u64,
    pub rows_refused: u64,
    pub conflicts: Vec<RowConflict>,
    pub conflicts_omitted: usize,
    /// The rows that went through (stored, or would be), in file order.
    pub rows: Vec<O>,
    pub committed: bool,
}

pub struct DirectoryImport {
    pub dry_run: bool,
    pub mode: ImportMode,
}

/// Who may import units or accounts: administrators.
pub fn authorise(actor: &Principal, what: &str) -> AppResult<()> {
    actor.require_admin(what)
}

// ---------------------------------------------------------------------------------------
// reading

type Read<R> = (Vec<(RowNumber, R)>, Vec<RowConflict>, u64);

enum Stop {
    Source(SourceError),
    App(AppError),
}

impl From<SourceError> for Stop {
    fn from(e: SourceError) -> Self {
        Stop::Source(e)
    }
}

/// 422 `HEADER_MISMATCH` listing the expected columns.
fn header_mismatch<C: ColumnSet>(layout: &str, errors: Vec<FieldError>) -> AppError {
    let expected = C::expected();
    AppError::unprocessable(
        "HEADER_MISMATCH",
        format!(
            "The header row does not match the {layout} layout; expected columns: {}.",
            expected.join(", ")
        ),
    )
    .with_errors(errors)
    .with_extension("expected_columns", &expected)
    .with_param("expected", expected.join(", "))
}

/// Every well-formed row of the file and the conflicts of the others.
fn read_table<C: ColumnSet, R>(
    file: std::fs::File,
    format: Format,
    layout: &str,
    read_row: impl Fn(&Header<C>, &[Field]) -> Result<Option<R>, Vec<FieldError>>,
) -> AppResult<Read<R>> {
    let mut header: Option<Header<C>> = None;
    let mut rows = Vec::new();
    let mut conflicts = Vec::new();
    let mut read = 0u64;
    let result = source::read::<Stop>(file, format, &mut |item| match item {
        Item::Meta(_) => Ok(()),
        // a merged region's value sits in its first cell only: a directory row never spans
        // cells, so the whole sheet is refused with every region named
        Item::Merged(regions) if !regions.is_empty() => {
            let ranges: Vec<String> = regions.iter().map(source::MergedCells::range).collect();
            Err(Stop::App(
                AppError::unprocessable(
                    "MERGED_CELLS",
                    format!(
                        "The sheet has merged cells ({}); unmerge them so that each cell holds \
                         its own value.",
                        ranges.join(", ")
                    ),
                )
                .with_param("cells", ranges.join(", "))
                // anywhere in the sheet, not only in the header (the translated detail says so)
                .with_param("place", "sheet")
                .with_extension("merged_cells", &ranges),
            ))
        }
        Item::Merged(_) => Ok(()),
        Item::Header(names) => match Header::<C>::parse(names) {
            Ok(h) => {
                header = Some(h);
                Ok(())
            }
            Err(errors) => Err(Stop::App(header_mismatch::<C>(layout, errors))),
        },
        Item::Row(number, fields) => {
            let Some(h) = header.as_ref() else {
                return Ok(());
            };
            let parsed = read_row(h, &fields);
            if matches!(parsed, Ok(None)) {
                return Ok(());
            }
            read += 1;
            if read > MAX_DIRECTORY_ROWS {
                return Err(Stop::App(
                    AppError::new(
                        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "TOO_MANY_ROWS",
                        format!(
                            "The file has more than {MAX_DIRECTORY_ROWS} rows, the most one import takes."
                        ),
                    )
                    .with_param("limit", MAX_DIRECTORY_ROWS)
                    .with_extension("max_rows", MAX_DIRECTORY_ROWS),
                ));
            }
            match parsed {
                Ok(Some(r)) => rows.push((number, r)),
                Ok(None) => {}
                Err(errors) => conflicts.extend(errors.into_iter().map(|e| RowConflict {
                    row: number,
                    key: None,
                    error: e,
                })),
            }
            Ok(())
        }
    });
    match result {
        Ok(()) if header.is_none() => Err(source_error(SourceError::Empty)),
        Ok(()) => Ok((rows, conflicts, read)),
        Err(Stop::Source(e)) => Err(source_error(e)),
        Err(Stop::App(e)) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// applying rows

/// The problems of a refused row, at its columns (`column_of` maps the service's JSON
/// pointers); a server-side failure stops the import instead.
fn row_errors(
    e: AppError,
    column_of: fn(&str) -> Option<&'static str>,
) -> AppResult<Vec<FieldError>> {
    match e {
        AppError::Client(c) if c.code == "VALIDATION_FAILED" => Ok(c
            .errors
            .into_iter()
            .map(|mut fe| {
                fe.field = column_of(&fe.field).unwrap_or_default().to_string();
                fe
            })
            .collect()),
        AppError::Client(c) if c.status.is_client_error() => {
            let mut fe = FieldError::new("", c.code.to_string(), c.detail.clone());
            for (k, v) in c.params.iter().chain(c.extensions.iter()) {
                fe = fe.with_param(k, v);
            }
            Ok(vec![fe])
        }
        other => Err(other),
    }
}

/// The end of the import's transaction: commit, or roll back and still return the outcome.
enum RollbackOr<O> {
    Rollback(DirectoryOutcome<O>),
    App(AppError),
}

impl<O> From<AppError> for RollbackOr<O> {
    fn from(e: AppError) -> Self {
        RollbackOr::App(e)
    }
}

impl<O> From<diesel::result::Error> for RollbackOr<O> {
    fn from(e: diesel::result::Error) -> Self {
        RollbackOr::App(e.into())
    }
}

/// Runs `apply` on each row in `order` in one transaction, each row in a savepoint; commits
/// or rolls back as the mode and the dry run say.
#[allow(clippy::too_many_arguments)]
fn apply_rows<R, O>(
    conn: &mut PgConnection,
    input: &DirectoryImport,
    format: Format,
    rows_read: u64,
    rows: &[(RowNumber, R)],
    order: &[usize],
    mut conflicts: Vec<RowConflict>,
    key_of: impl Fn(&R) -> String,
    column_of: fn(&str) -> Option<&'static str>,
    mut apply: impl FnMut(&mut PgConnection, RowNumber, &R) -> AppResult<O>,
) -> AppResult<DirectoryOutcome<O>> {
    let result = conn.transaction::<_, RollbackOr<O>, _>(|c| {
        let mut done: Vec<(usize, O)> = Vec::new();
        for &i in order {
            let (number, row) = &rows[i];
            match c.transaction(|c| apply(c, *number, row)) {
                Ok(o) => done.push((i, o)),
                Err(e) => conflicts.extend(row_errors(e, column_of)?.into_iter().map(|error| {
                    RowConflict {
                        row: *number,
                        key: Some(key_of(row)),
                        error,
                    }
                })),
            }
        }
        done.sort_by_key(|(i, _)| *i);
        conflicts.sort_by_key(|x| x.row);
        let refused: BTreeSet<RowNumber> = conflicts.iter().map(|x| x.row).collect();
        let committed =
            !input.dry_run && (conflicts.is_empty() || input.mode == ImportMode::Partial);
        let conflicts_omitted = conflicts.len().saturating_sub(MAX_CONFLICTS);
        conflicts.truncate(MAX_CONFLICTS);
        let outcome = DirectoryOutcome {
            format,
            dry_run: input.dry_run,
            mode: input.mode,
            rows_read,
            rows_refused: refused.len() as u64,
            conflicts: std::mem::take(&mut conflicts),
            conflicts_omitted,
            rows: done.into_iter().map(|(_, o)| o).collect(),
            committed,
        };
        if committed {
            Ok(outcome)
        } else {
            Err(RollbackOr::Rollback(outcome))
        }
    });
    match result {
        Ok(o) | Err(RollbackOr::Rollback(o)) => Ok(o),
        Err(RollbackOr::App(e)) => Err(e),
    }
}

/// `DUPLICATE` on every row whose key an earlier row already has; the indices of the others.
fn first_of_each<R>(
    rows: &[(RowNumber, R)],
    key_of: impl Fn(&R) -> String,
    column: &'static str,
    conflicts: &mut Vec<RowConflict>,
) -> Vec<usize> {
    let mut first: HashMap<String, RowNumber> = HashMap::new();
    let mut keep = Vec::new();
    for (i, (number, r)) in rows.iter().enumerate() {
        let key = key_of(r);
        match first.get(&key.to_lowercase()) {
            Some(earlier) => conflicts.push(RowConflict {
                row: *number,
                key: Some(key.clone()),
                error: FieldError::new(
                    column,
                    "DUPLICATE",
                    format!("{key} is already in row {earlier}"),
                )
                .with_param("row", *earlier),
            }),
            None => {
                first.insert(key.to_lowercase(), *number);
                keep.push(i);
            }
        }
    }
    keep
}

// ---------------------------------------------------------------------------------------
// units

/// A unit as a row states it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UnitState {
    pub name: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub tags: Vec<String>,
    pub active: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// Ranking groups' codes, sorted.
    pub groups: Vec<String>,
}

fn unit_state(v: &UnitView) -> UnitState {
    let mut groups: Vec<String> = v.groups.iter().map(|g| g.code.clone()).collect();
    groups.sort();
    UnitState {
        name: v.unit.name.clone(),
        kind: v.unit.kind.clone(),
        parent_code: v.parent_code.clone(),
        tags: v.unit.tags.clone(),
        active: v.unit.active,
        valid_from: v.unit.valid_from,
        valid_to: v.unit.valid_to,
        groups,
    }
}

/// One unit row that went through: what it changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitRowOutcome {
    pub row: RowNumber,
    pub code: String,
    pub change: RowChange,
    pub old: Option<UnitState>,
    pub new: UnitState,
}

fn unit_column(pointer: &str) -> Option<&'static str> {
    UnitColumn::of_pointer(pointer).map(UnitColumn::name)
}

fn same_codes(a: &[String], b: &[String]) -> bool {
    let set = |x: &[String]| x.iter().map(|s| s.to_lowercase()).collect::<BTreeSet<_>>();
    set(a) == set(b)
}

/// Creates or updates one unit through the units service.
fn apply_unit(
    c: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    r: &UnitRow,
) -> AppResult<(RowChange, Option<UnitState>, UnitState)> {
    let Some(before) = Unit::find_by_code(c, &r.code)? else {
        let mut missing = Vec::new();
        if r.name.is_none() {
            missing.push(FieldError::new(
                "/name",
                "REQUIRED",
                "a new unit needs a name",
            ));
        }
        if r.kind.is_none() {
            missing.push(FieldError::new(
                "/kind",
                "REQUIRED",
                "a new unit needs a kind",
            ));
        }
        if !missing.is_empty() {
            return Err(AppError::validation(missing));
        }
        let view = crate::services::units::create(
            c,
            actor,
            CreateUnit {
                code: r.code.clone(),
                name: r.name.clone().unwrap_or_default(),
                kind: r.kind.clone().unwrap_or_default(),
                parent: r.parent_code.clone().flatten(),
                tags: r.tags.clone().unwrap_or_default(),
                active: r.active.unwrap_or(true),
                valid_from: r.valid_from.flatten(),
                valid_to: r.valid_to.flatten(),
                groups: r.groups.clone().unwrap_or_default(),
                predecessors: Vec::new(),
            },
        )?;
        return Ok((RowChange::Created, None, unit_state(&view)));
    };
    let old = unit_state(&crate::services::units::view(c, before.clone())?);
    let differs = |new: &Option<String>, old: &Option<String>| match (new, old) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        (None, None) => false,
        _ => true,
    };
    let update = UpdateUnit {
        name: r.name.clone().filter(|n| *n != old.name),
        kind: r.kind.clone().filter(|k| *k != old.kind),
        parent: r
            .parent_code
            .clone()
            .filter(|p| differs(p, &old.parent_code)),
        tags: r.tags.clone().filter(|t| *t != old.tags),
        active: r.active.filter(|a| *a != old.active),
        valid_from: r.valid_from.filter(|d| *d != old.valid_from),
        valid_to: r.valid_to.filter(|d| *d != old.valid_to),
        groups: r.groups.clone().filter(|g| !same_codes(g, &old.groups)),
        predecessors: None,
    };
    let unchanged = update.name.is_none()
        && update.kind.is_none()
        && update.parent.is_none()
        && update.tags.is_none()
        && update.active.is_none()
        && update.valid_from.is_none()
        && update.valid_to.is_none()
        && update.groups.is_none();
    if unchanged {
        return Ok((RowChange::Unchanged, Some(old.clone()), old));
    }
    let view = crate::services::units::update(
        c,
        caches,
        actor,
        &before.id.to_string(),
        &IfMatch::Any,
        update,
    )?;
    Ok((RowChange::Updated, Some(old), unit_state(&view)))
}

/// The order to write the rows in: a row whose parent is another row of the file after that
/// row. Rows in a cycle of parents get `PARENT_CYCLE`.
fn parent_order(
    rows: &[(RowNumber, UnitRow)],
    keep: &[usize],
    conflicts: &mut Vec<RowConflict>,
) -> Vec<usize> {
    let index: HashMap<String, usize> = keep
        .iter()
        .map(|&i| (rows[i].1.code.to_lowercase(), i))
        .collect();
    let parent_row = |i: usize| {
        rows[i]
            .1
            .parent_code
            .clone()
            .flatten()
            .and_then(|p| index.get(&p.to_lowercase()).copied())
            .filter(|p| *p != i)
    };
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut order = Vec::new();
    let mut pending: Vec<usize> = keep.to_vec();
    loop {
        let before = pending.len();
        pending.retain(|&i| match parent_row(i) {
            Some(p) if !done.contains(&p) => true,
            _ => {
                done.insert(i);
                order.push(i);
                false
            }
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for i in pending {
        let (number, r) = &rows[i];
        conflicts.push(RowConflict {
            row: *number,
            key: Some(r.code.clone()),
            error: FieldError::new(
                UnitColumn::ParentCode.name(),
                "PARENT_CYCLE",
                format!("{}'s parents in this file lead back to it", r.code),
            )
            .with_param("unit", &r.code)
            .with_param(
                "parent",
                r.parent_code.clone().flatten().unwrap_or_default(),
            ),
        });
    }
    order
}

/// Imports units from `file` (see the module docs).
pub fn import_units(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    input: DirectoryImport,
    file: std::fs::File,
    format: Format,
) -> AppResult<DirectoryOutcome<UnitRowOutcome>> {
    authorise(actor, "import units")?;
    let (rows, mut conflicts, rows_read) = read_table(file, format, "units", read_unit_row)?;
    let keep = first_of_each(
        &rows,
        |r| r.code.clone(),
        UnitColumn::Code.name(),
        &mut conflicts,
    );
    let order = parent_order(&rows, &keep, &mut conflicts);
    apply_rows(
        conn,
        &input,
        format,
        rows_read,
        &rows,
        &order,
        conflicts,
        |r| r.code.clone(),
        unit_column,
        |c, row, r| {
            let (change, old, new) = apply_unit(c, caches, actor, r)?;
            Ok(UnitRowOutcome {
                row,
                code: r.code.clone(),
                change,
                old,
                new,
            })
        },
    )
}

// ---------------------------------------------------------------------------------------
// accounts

/// An account as a row states it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountState {
    pub display_name: String,
    pub role: Role,
    pub unit_code: Option<String>,
    pub active: bool,
}

/// One account row that went through.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountRowOutcome {
    pub row: RowNumber,
    pub username: String,
    pub change: RowChange,
    pub old: Option<AccountState>,
    pub new: AccountState,
    /// A created account's one-time password (never for a dry run); the route hands it out
    /// once and never stores it.
    #[serde(skip)]
    pub one_time_password: Option<String>,
}

fn account_column(pointer: &str) -> Option<&'static str> {
    AccountColumn::of_pointer(pointer).map(AccountColumn::name)
}

fn account_state(c: &mut PgConnection, u: &User) -> AppResult<AccountState> {
    let unit_code = match u.unit_id {
        Some(id) => Unit::find(c, id)?.map(|x| x.code),
        None => None,
    };
    Ok(AccountState {
        display_name: u.full_name.clone(),
        role: Role::parse(&u.role).ok_or_else(|| AppError::internal("stored role is unknown"))?,
        unit_code,
        active: u.active,
    })
}

/// A random password of [`ONE_TIME_PASSWORD_CHARS`] letters and digits that passes the
/// password rules.
pub fn one_time_password() -> String {
    use rand::Rng;
    loop {
        let p: String = rand::rng()
            .sample_iter(&rand::distr::Alphanumeric)
            .take(ONE_TIME_PASSWORD_CHARS)
            .map(char::from)
            .collect();
        if crate::auth::password::check_strength(&p).is_ok() {
            return p;
        }
    }
}

/// Creates or updates one account through the accounts service.
fn apply_account(
    c: &mut PgConnection,
    actor: &Principal,
    r: &AccountRow,
    dry_run: bool,
) -> AppResult<AccountRowOutcome> {
    let outcome = |change, old, new, one_time_password| AccountRowOutcome {
        row: 0,
        username: r.username.clone(),
        change,
        old,
        new,
        one_time_password,
    };
    let Some(before) = User::find_by_username(c, &r.username)? else {
        let mut missing = Vec::new();
        if r.display_name.is_none() {
            missing.push(FieldError::new(
                "/display_name",
                "REQUIRED",
                "a new account needs a display name",
            ));
        }
        let Some(role) = r.role else {
            missing.push(FieldError::new(
                "/role",
                "REQUIRED",
                "a new account needs a role",
            ));
            return Err(AppError::validation(missing));
        };
        if !missing.is_empty() {
            return Err(AppError::validation(missing));
        }
        let password = one_time_password();
        let mut user = crate::services::users::create(
            c,
            actor,
            CreateUser {
                username: r.username.clone(),
                full_name: r.display_name.clone().unwrap_or_default(),
                password: password.clone(),
                role,
                unit: r.unit_code.clone().flatten(),
            },
        )?;
        if r.active == Some(false) {
            user = crate::services::users::update(
                c,
                actor,
                user.id,
                &IfMatch::Any,
                UpdateUser {
                    active: Some(false),
                    ..UpdateUser::default()
                },
            )?;
        }
        User::require_password_change(c, user.id)?;
        let new = account_state(c, &user)?;
        return Ok(outcome(
            RowChange::Created,
            None,
            new,
            (!dry_run).then_some(password),
        ));
    };
    let old = account_state(c, &before)?;
    let update = UpdateUser {
        full_name: r.display_name.clone().filter(|n| *n != old.display_name),
        password: None,
        role: r.role.filter(|x| *x != old.role),
        unit: r.unit_code.clone().filter(|u| match (u, &old.unit_code) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
            (None, None) => false,
            _ => true,
        }),
        active: r.active.filter(|a| *a != old.active),
    };
    if update.full_name.is_none()
        && update.role.is_none()
        && update.unit.is_none()
        && update.active.is_none()
    {
        return Ok(outcome(RowChange::Unchanged, Some(old.clone()), old, None));
    }
    let user = crate::services::users::update(c, actor, before.id, &IfMatch::Any, update)?;
    let new = account_state(c, &user)?;
    Ok(outcome(RowChange::Updated, Some(old), new, None))
}

/// Imports accounts from `file` (see the module docs).
pub fn import_accounts(
    conn: &mut PgConnection,
    actor: &Principal,
    input: DirectoryImport,
    file: std::fs::File,
    format: Format,
) -> AppResult<DirectoryOutcome<AccountRowOutcome>> {
    authorise(actor, "import accounts")?;
    let (rows, mut conflicts, rows_read) = read_table(file, format, "accounts", read_account_row)?;
    let order = first_of_each(
        &rows,
        |r| r.username.clone(),
        AccountColumn::Username.name(),
        &mut conflicts,
    );
    let dry_run = input.dry_run;
    apply_rows(
        conn,
        &input,
        format,
        rows_read,
        &rows,
        &order,
        conflicts,
        |r| r.username.clone(),
        account_column,
        |c, row, r| {
            let mut o = apply_account(c, actor, r, dry_run)?;
            o.row = row;
            Ok(o)
        },
    )
}
