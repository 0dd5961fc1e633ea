//! The directory row layouts: units (with their ranking groups) and accounts, one row per unit
//! or account, matched by `code` / `username`. Read from the same sources as the answers
//! ([`super::source`]); the rules each value must follow are the services' (`services::units`,
//! `services::users`, `crate::domain`), applied row by row by `services::directory_imports`.
//!
//! Units:
//!
//! | column | content |
//! |---|---|
//! | `code` | the unit's code (required; matched ignoring case) |
//! | `name` | its name (required for a new unit) |
//! | `kind` | `province`, `department`, `district`, `commune`, `party_body`, `fatherland_front`, `ministry`, `other` (required for a new unit) |
//! | `parent_code` | the parent unit's code (a unit of the database or of the same file) |
//! | `tags` | applicability tags, separated by `;` or `,` |
//! | `active` | `true`/`false` (`có`/`không`, `1`/`0`); a new unit is active when empty |
//! | `valid_from`, `valid_to` | dates `YYYY-MM-DD` |
//! | `groups` | the ranking groups' codes, separated by `;` or `,` (the unit's memberships) |
//!
//! Accounts:
//!
//! | column | content |
//! |---|---|
//! | `username` | required; matched exactly |
//! | `display_name` | the account's full name (required for a new account) |
//! | `role` | `admin`, `reviewer`, `viewer`, `unit_editor`, `unit_leader` (required for a new account) |
//! | `unit_code` | the unit of a unit account |
//! | `active` | `true`/`false`; a new account is active when empty |
//!
//! On an existing unit or account an absent column changes nothing; a present one states the
//! value (an empty `parent_code`, `tags`, `groups`, `unit_code` or date clears it; an empty
//! `name`, `kind`, `display_name`, `role` or `active` keeps the stored one).

use chrono::NaiveDate;

use super::layout::{ColumnSet, Field, Header, bool_of, date_of, invalid_cell, text_of};
use crate::domain::Role;
use crate::error::FieldError;

/// Longest unit name (as `POST /units`).
pub const MAX_NAME_CHARS: usize = 500;
/// Most tags or groups of one unit (as `POST /units`).
pub const MAX_LIST: usize = 50;
/// Longest display name of an account.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// One column of the units layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitColumn {
    Code,
    Name,
    Kind,
    ParentCode,
    Tags,
    Active,
    ValidFrom,
    ValidTo,
    Groups,
}

impl UnitColumn {
    pub const ALL: [UnitColumn; 9] = [
        UnitColumn::Code,
        UnitColumn::Name,
        UnitColumn::Kind,
        UnitColumn::ParentCode,
        UnitColumn::Tags,
        UnitColumn::Active,
        UnitColumn::ValidFrom,
        UnitColumn::ValidTo,
        UnitColumn::Groups,
    ];

    /// The column a problem the units service reports at a JSON pointer points at (`/kind` →
    /// `kind`, `/parent` → `parent_code`, `/groups/2` → `groups`).
    pub fn of_pointer(pointer: &str) -> Option<UnitColumn> {
        let first = pointer.trim_start_matches('/').split('/').next()?;
        match first {
            "parent" => Some(UnitColumn::ParentCode),
            other => UnitColumn::from_name(other),
        }
    }
}

impl ColumnSet for UnitColumn {
    fn name(self) -> &'static str {
        match self {
            UnitColumn::Code => "code",
            UnitColumn::Name => "name",
            UnitColumn::Kind => "kind",
            UnitColumn::ParentCode => "parent_code",
            UnitColumn::Tags => "tags",
            UnitColumn::Active => "active",
            UnitColumn::ValidFrom => "valid_from",
            UnitColumn::ValidTo => "valid_to",
            UnitColumn::Groups => "groups",
        }
    }
    fn from_name(name: &str) -> Option<Self> {
        UnitColumn::ALL.into_iter().find(|c| c.name() == name)
    }
    fn expected() -> Vec<&'static str> {
        UnitColumn::ALL.iter().map(|c| c.name()).collect()
    }
    fn required() -> &'static [Self] {
        &[UnitColumn::Code]
    }
}

/// One column of the accounts layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountColumn {
    Username,
    DisplayName,
    Role,
    UnitCode,
    Active,
}

impl AccountColumn {
    pub const ALL: [AccountColumn; 5] = [
        AccountColumn::Username,
        AccountColumn::DisplayName,
        AccountColumn::Role,
        AccountColumn::UnitCode,
        AccountColumn::Active,
    ];

    /// The column a problem the accounts service reports at a JSON pointer points at
    /// (`/unit` → `unit_code`, `/role` → `role`).
    pub fn of_pointer(pointer: &str) -> Option<AccountColumn> {
        match pointer.trim_start_matches('/').split('/').next()? {
            "unit" => Some(AccountColumn::UnitCode),
            "full_name" => Some(AccountColumn::DisplayName),
            other => AccountColumn::from_name(other),
        }
    }
}

impl ColumnSet for AccountColumn {
    fn name(self) -> &'static str {
        match self {
            AccountColumn::Username => "username",
            AccountColumn::DisplayName => "display_name",
            AccountColumn::Role => "role",
            AccountColumn::UnitCode => "unit_code",
            AccountColumn::Active => "active",
        }
    }
    fn from_name(name: &str) -> Option<Self> {
        AccountColumn::ALL.into_iter().find(|c| c.name() == name)
    }
    fn expected() -> Vec<&'static str> {
        AccountColumn::ALL.iter().map(|c| c.name()).collect()
    }
    fn required() -> &'static [Self] {
        &[AccountColumn::Username]
    }
}

/// A unit row, read. `None` for a column the file does not have (nothing to change); an inner
/// `None` / empty list for an empty cell of a present column.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRow {
    pub code: String,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub parent_code: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub active: Option<bool>,
    pub valid_from: Option<Option<NaiveDate>>,
    pub valid_to: Option<Option<NaiveDate>>,
    pub groups: Option<Vec<String>>,
}

/// An account row, read (the same conventions as [`UnitRow`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub unit_code: Option<Option<String>>,
    pub active: Option<bool>,
}

fn problem<C: ColumnSet>(c: C, code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(c.name(), code, message)
}

/// The text of a cell (an invalid cell reported).
fn text<C: ColumnSet>(c: C, f: &Field, errors: &mut Vec<FieldError>) -> Option<String> {
    if let Field::Invalid(why) = f {
        errors.push(invalid_cell(c, why));
        return None;
    }
    text_of(f).filter(|t| !t.is_empty())
}

/// A list cell: codes separated by `;` or `,`, each once.
fn list<C: ColumnSet>(c: C, f: &Field, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text(c, f, errors)
        .unwrap_or_default()
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if out.iter().any(|o| o.eq_ignore_ascii_case(part)) {
            errors.push(
                problem(c, "DUPLICATE", format!("{part:?} is listed twice"))
                    .with_param("value", part),
            );
            continue;
        }
        out.push(part.to_string());
    }
    if out.len() > MAX_LIST {
        errors.push(
            problem(c, "LENGTH", format!("at most {MAX_LIST} entries"))
                .with_param("max", MAX_LIST)
                .with_param("list", true),
        );
    }
    out
}

fn length<C: ColumnSet>(c: C, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.chars().count() > max {
        errors.push(
            problem(c, "LENGTH", format!("at most {max} characters"))
                .with_param("min", 1)
                .with_param("max", max),
        );
    }
}

/// Reads one units row: `Ok(None)` for an empty row (skipped), every problem of the row
/// otherwise. The kind and the references (parent, groups) are checked by the units service.
pub fn read_unit_row(
    header: &Header<UnitColumn>,
    fields: &[Field],
) -> Result<Option<UnitRow>, Vec<FieldError>> {
    use UnitColumn as C;
    if fields.iter().all(Field::is_empty) {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let get = |c: C| header.get(fields, c);
    let present = |c: C| header.has(c);
    let code = text(C::Code, get(C::Code), &mut errors).map(|t| t.trim().to_string());
    match &code {
        None => errors.push(problem(C::Code, "REQUIRED", "the unit's code is required")),
        Some(c) if !crate::domain::is_valid_code(c) => errors.push(
            problem(
                C::Code,
                "CODE",
                "1–64 characters: letters, digits, '.', '-', '_'",
            )
            .with_param("value", c),
        ),
        Some(_) => {}
    }
    let name = text(C::Name, get(C::Name), &mut errors).map(|t| t.trim().to_string());
    if let Some(n) = &name {
        length(C::Name, n, MAX_NAME_CHARS, &mut errors);
    }
    let kind = text(C::Kind, get(C::Kind), &mut errors).map(|t| t.trim().to_lowercase());
    let parent_code = present(C::ParentCode).then(|| {
        text(C::ParentCode, get(C::ParentCode), &mut errors).map(|t| t.trim().to_string())
    });
    let tags = present(C::Tags).then(|| list(C::Tags, get(C::Tags), &mut errors));
    let groups = present(C::Groups).then(|| list(C::Groups, get(C::Groups), &mut errors));
    let active = bool_of(C::Active, get(C::Active), &mut errors);
    let valid_from =
        present(C::ValidFrom).then(|| date_of(C::ValidFrom, get(C::ValidFrom), &mut errors));
    let valid_to = present(C::ValidTo).then(|| date_of(C::ValidTo, get(C::ValidTo), &mut errors));
    if let Some(e) = crate::domain::validity_dates_error(
        valid_from.flatten(),
        valid_to.flatten(),
        C::ValidTo.name(),
    ) {
        errors.push(e);
    }
    match code {
        Some(code) if errors.is_empty() => Ok(Some(UnitRow {
            code,
            name,
            kind,
            parent_code,
            tags,
            active,
            valid_from,
            valid_to,
            groups,
        })),
        _ => Err(errors),
    }
}

/// The roles an account may have (integration is the role of tokens).
pub fn account_role(text: &str) -> Option<Role> {
    Role::parse(text.trim()).filter(|r| *r != Role::Integration)
}

/// Reads one accounts row (see [`read_unit_row`]).
pub fn read_account_row(
    header: &Header<AccountColumn>,
    fields: &[Field],
) -> Result<Option<AccountRow>, Vec<FieldError>> {
    use AccountColumn as C;
    if fields.iter().all(Field::is_empty) {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let get = |c: C| header.get(fields, c);
    let username = text(C::Username, get(C::Username), &mut errors).map(|t| t.trim().to_string());
    match &username {
        None => errors.push(problem(C::Username, "REQUIRED", "the username is required")),
        Some(u) if !crate::domain::is_valid_username(u) => errors.push(
            problem(
                C::Username,
                "USERNAME",
                "3–64 characters: lower-case letters, digits, '.', '-', '_'",
            )
            .with_param("value", u),
        ),
        Some(_) => {}
    }
    let display_name =
        text(C::DisplayName, get(C::DisplayName), &mut errors).map(|t| t.trim().to_string());
    if let Some(n) = &display_name {
        length(C::DisplayName, n, MAX_DISPLAY_NAME_CHARS, &mut errors);
    }
    let role = match text(C::Role, get(C::Role), &mut errors) {
        None => None,
        Some(t) => match account_role(&t.to_lowercase()) {
            Some(r) => Some(r),
            None => {
                errors.push(
                    problem(
                        C::Role,
                        "INVALID_ROLE",
                        format!(
                            "{t:?} is not one of admin, reviewer, viewer, unit_editor, unit_leader"
                        ),
                    )
                    .with_param("value", t.trim()),
                );
                None
            }
        },
    };
    let unit_code = header
        .has(C::UnitCode)
        .then(|| text(C::UnitCode, get(C::UnitCode), &mut errors).map(|t| t.trim().to_string()));
    let active = bool_of(C::Active, get(C::Active), &mut errors);
    match username {
        Some(username) if errors.is_empty() => Ok(Some(AccountRow {
            username,
            display_name,
            role,
            unit_code,
            active,
        })),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<C: ColumnSet>(names: &[&str]) -> Header<C> {
        Header::parse(names).unwrap()
    }

    #[test]
    fn unit_rows_read_lists_dates_and_absent_columns() {
        let h = header::<UnitColumn>(&["Code", "name", "kind", "tags", "groups", "valid_from"]);
        let row = read_unit_row(
            &h,
            &[
                Field::text("XA-01"),
                Field::text(" Xã Một "),
                Field::text("Commune"),
                Field::text("a; b,c"),
                Field::Empty,
                Field::text("2025-07-01"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(row.code, "XA-01");
        assert_eq!(row.name.as_deref(), Some("Xã Một"));
        assert_eq!(row.kind.as_deref(), Some("commune"));
        assert_eq!(row.tags, Some(vec!["a".into(), "b".into(), "c".into()]));
        // present but empty: no groups; absent: unchanged
        assert_eq!(row.groups, Some(vec![]));
        assert_eq!(row.parent_code, None);
        assert_eq!(row.valid_from, Some(NaiveDate::from_ymd_opt(2025, 7, 1)));
        assert_eq!(row.valid_to, None);
        assert!(read_unit_row(&h, &vec![Field::Empty; 6]).unwrap().is_none());
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let h = header::<UnitColumn>(&["code", "name", "active", "valid_from", "valid_to"]);
        let errors = read_unit_row(
            &h,
            &[
                Field::text("bad code!"),
                Field::text("x".repeat(501)),
                Field::text("maybe"),
                Field::text("2025-07-02"),
                Field::text("2025-07-01"),
            ],
        )
        .unwrap_err();
        let codes: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("code", "CODE"),
                ("name", "LENGTH"),
                ("active", "INPUT_TYPE"),
                ("valid_to", "BEFORE_VALID_FROM")
            ]
        );
        let missing = Header::<UnitColumn>::parse(&["name", "colour"]).unwrap_err();
        let codes: Vec<&str> = missing.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["UNKNOWN_COLUMN", "MISSING_COLUMN"]);
    }

    #[test]
    fn account_rows_read_roles_as_the_closed_set() {
        let h = header::<AccountColumn>(&["username", "display_name", "role", "unit_code"]);
        let row = read_account_row(
            &h,
            &[
                Field::text("editor.xa-01"),
                Field::text("Nguyễn Văn An"),
                Field::text("Unit_Editor"),
                Field::text("XA-01"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(row.role, Some(Role::UnitEditor));
        assert_eq!(row.unit_code, Some(Some("XA-01".into())));
        let errors = read_account_row(
            &h,
            &[
                Field::text("Bad Name"),
                Field::Empty,
                Field::text("integration"),
                Field::Empty,
            ],
        )
        .unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["USERNAME", "INVALID_ROLE"]);
    }
}
