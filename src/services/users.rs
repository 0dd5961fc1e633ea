//! Accounts: admin-only management; unit accounts see their own unit's accounts only.

use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::{Principal, password};
use crate::db::models::PageReq;
use crate::db::models::users::{NewUser, User, UserChanges, UserFilter};
use crate::domain::Role;
use crate::domain::precondition::IfMatch;
use crate::error::{AppError, AppResult, FieldError};
use crate::services::units::resolve_unit_field;

pub struct CreateUser {
    pub username: String,
    pub full_name: String,
    pub password: String,
    pub role: Role,
    pub unit: Option<String>,
}

#[derive(Default)]
pub struct UpdateUser {
    pub full_name: Option<String>,
    pub password: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` detaches the user from its unit.
    pub unit: Option<Option<String>>,
    pub active: Option<bool>,
}

/// What the audit log keeps of a user (never the hash).
fn snapshot(u: &User) -> serde_json::Value {
    serde_json::json!({
        "username": u.username, "full_name": u.full_name, "role": u.role,
        "unit_id": u.unit_id, "active": u.active, "version": u.version,
        "session_version": u.session_version
    })
}

/// 422 `WEAK_PASSWORD` on `/password`, with the rules a translated message states.
fn weak_password(msg: &str, field: &str) -> AppError {
    AppError::validation(vec![
        FieldError::new(field, "WEAK_PASSWORD", msg)
            .with_param("min", password::MIN_CHARS)
            .with_param("max", password::MAX_CHARS)
            .with_param("distinct", password::MIN_DISTINCT_CHARS),
    ])
}

/// The strength rules, and never the published demo password (a production start refuses
/// accounts that have it).
fn check_password(p: &str, field: &str) -> AppResult<()> {
    password::check_strength(p).map_err(|m| weak_password(m, field))?;
    if p.eq_ignore_ascii_case(crate::config::DEMO_PASSWORD) {
        return Err(AppError::validation(vec![FieldError::new(
            field,
            "PUBLISHED_PASSWORD",
            "is the published demo password; choose another",
        )]));
    }
    Ok(())
}

fn check_role_unit(role: Role, unit: Option<Uuid>) -> AppResult<()> {
    if role == Role::Integration {
        return Err(AppError::validation(vec![FieldError::new(
            "/role",
            "NOT_A_USER_ROLE",
            "integration is the role of integration tokens, not of accounts",
        )]));
    }
    match (role.is_unit_role(), unit) {
        (true, None) => Err(AppError::validation(vec![
            FieldError::new(
                "/unit",
                "REQUIRED",
                format!("role {} belongs to a unit: give `unit`", role.as_str()),
            )
            .with_param("role", role.as_str()),
        ])),
        (false, Some(_)) => Err(AppError::validation(vec![
            FieldError::new(
                "/unit",
                "NOT_ALLOWED",
                format!("role {} is provincial and has no unit", role.as_str()),
            )
            .with_param("role", role.as_str()),
        ])),
        _ => Ok(()),
    }
}

pub fn create(conn: &mut PgConnection, actor: &Principal, input: CreateUser) -> AppResult<User> {
    actor.require_admin("create accounts")?;
    check_password(&input.password, "/password")?;
    let hash = password::hash(&input.password)?;
    conn.transaction(|c| {
        let unit = match &input.unit {
            Some(r) => Some(resolve_unit_field(c, r, "/unit")?.id),
            None => None,
        };
        check_role_unit(input.role, unit)?;
        if User::find_by_username(c, &input.username)?.is_some() {
            return Err(AppError::conflict(
                "USERNAME_TAKEN",
                format!("Username {} is already taken.", input.username),
            ));
        }
        let user = User::insert(
            c,
            &NewUser {
                id: Uuid::new_v4(),
                username: &input.username,
                full_name: input.full_name.trim(),
                password_hash: &hash,
                role: input.role.as_str(),
                unit_id: unit,
                active: true,
            },
        )?;
        Audit::new(Some(actor), "user.create", "user", user.id)
            .unit(user.unit_id)
            .new_value(snapshot(&user))
            .record(c)?;
        Ok(user)
    })
}

pub fn update(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    expected: &IfMatch,
    input: UpdateUser,
) -> AppResult<User> {
    actor.require_admin("change accounts")?;
    if let Some(p) = &input.password {
        check_password(p, "/password")?;
    }
    let password_hash = input.password.as_deref().map(password::hash).transpose()?;
    conn.transaction(|c| {
        let before = User::find(c, id)?.ok_or_else(|| AppError::not_found("user", id))?;
        expected.check(before.version, "The user")?;
        if before.id == actor.actor_id()
            && (input.active == Some(false) || input.role.is_some_and(|r| r != Role::Admin))
        {
            return Err(AppError::conflict(
                "CANNOT_DEMOTE_SELF",
                "An administrator cannot deactivate or demote their own account.",
            ));
        }
        let unit = match &input.unit {
            None => None,
            Some(None) => Some(None),
            Some(Some(r)) => Some(Some(resolve_unit_field(c, r, "/unit")?.id)),
        };
        let role = input
            .role
            .or_else(|| Role::parse(&before.role))
            .ok_or_else(|| AppError::internal("stored role is unknown"))?;
        check_role_unit(role, unit.unwrap_or(before.unit_id))?;
        // a password an administrator sets for someone else is theirs to replace at once
        let must_change_password =
            (password_hash.is_some() && resets_password(actor, id)).then_some(true);
        // Only what differs is a change; a password given is always one (a new hash).
        let changes = UserChanges {
            full_name: input
                .full_name
                .map(|s| s.trim().to_string())
                .filter(|n| *n != before.full_name),
            password_hash,
            role: input
                .role
                .map(|r| r.as_str().to_string())
                .filter(|r| *r != before.role),
            unit_id: unit.filter(|u| *u != before.unit_id),
            active: input.active.filter(|a| *a != before.active),
            must_change_password,
        };
        if changes.is_empty() {
            // nothing to write, audit or revoke
            return Ok(before);
        }
        // What a token vouches for (who may log in, with which rights) ends its sessions; a
        // new display name does not.
        let end_sessions = changes.password_hash.is_some()
            || changes.role.is_some()
            || changes.unit_id.is_some()
            || changes.active.is_some();
        let user = User::update(c, id, Some(before.version), &changes, end_sessions)?.ok_or_else(
            || AppError::precondition_failed("The user changed meanwhile; GET it again."),
        )?;
        Audit::new(Some(actor), "user.update", "user", user.id)
            .unit(user.unit_id)
            .old(snapshot(&before))
            .new_value(snapshot(&user))
            .record(c)?;
        Ok(user)
    })
}

/// Whether `actor` setting the password of account `id` is an administrator's reset (the
/// account must then change it at its next login): not the account itself, and not the
/// operator's `set-password` command (the system actor).
fn resets_password(actor: &Principal, id: Uuid) -> bool {
    actor.caller != crate::auth::Caller::System && actor.actor_id() != id
}

/// Who may change their own password: any signed-in account (integration tokens have none).
pub fn authorise_own_password(actor: &Principal) -> AppResult<()> {
    if actor.role == Role::Integration {
        return Err(actor
            .require_role(
                &[
                    Role::Admin,
                    Role::Reviewer,
                    Role::Viewer,
                    Role::UnitEditor,
                    Role::UnitLeader,
                ],
                "change a password",
            )
            .unwrap_err());
    }
    Ok(())
}

/// `POST /me/password`: the caller changes their own password. The current one must be given;
/// the new one follows the rules of every password ([`check_password`]) and may equal neither
/// the current one nor the username. Clears `must_change_password`, ends the account's other
/// sessions (its tokens, this one included: the caller logs in again), audited as
/// `user.password_change` (never the password or its hash).
pub fn change_own_password(
    conn: &mut PgConnection,
    actor: &Principal,
    current: &str,
    new: &str,
) -> AppResult<User> {
    authorise_own_password(actor)?;
    let user = User::find(conn, actor.actor_id())?
        .ok_or_else(|| AppError::not_found("user", actor.actor_id()))?;
    if !password::verify(current, &user.password_hash) {
        return Err(AppError::validation(vec![FieldError::new(
            "/current_password",
            "WRONG_PASSWORD",
            "is not the account's current password",
        )]));
    }
    check_password(new, "/new_password")?;
    let mut same = Vec::new();
    if new == current {
        same.push(FieldError::new(
            "/new_password",
            "SAME_PASSWORD",
            "is the current password; choose a new one",
        ));
    } else if new.trim().eq_ignore_ascii_case(&user.username) {
        same.push(FieldError::new(
            "/new_password",
            "PASSWORD_IS_USERNAME",
            "is the username; choose another",
        ));
    }
    if !same.is_empty() {
        return Err(AppError::validation(same));
    }
    let hash = password::hash(new)?;
    conn.transaction(|c| {
        let changes = UserChanges {
            password_hash: Some(hash),
            must_change_password: Some(false),
            ..UserChanges::default()
        };
        let after =
            User::update(c, user.id, Some(user.version), &changes, true)?.ok_or_else(|| {
                AppError::precondition_failed("The account changed meanwhile; try again.")
            })?;
        Audit::new(Some(actor), "user.password_change", "user", after.id)
            .unit(after.unit_id)
            .old(serde_json::json!({"must_change_password": user.must_change_password}))
            .new_value(serde_json::json!({"must_change_password": false, "version": after.version}))
            .record(c)?;
        Ok(after)
    })
}

pub fn get(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<User> {
    let user = User::find(conn, id)?.ok_or_else(|| AppError::not_found("user", id))?;
    if actor.role.is_unit_role() && user.unit_id != actor.unit_id {
        return Err(AppError::forbidden(
            "NOT_YOUR_UNIT",
            "Unit accounts see the accounts of their own unit only.",
        ));
    }
    Ok(user)
}

pub fn list(
    conn: &mut PgConnection,
    actor: &Principal,
    mut filter: UserFilter,
    page: PageReq,
) -> AppResult<(Vec<User>, i64)> {
    if actor.role.is_unit_role() {
        if filter.unit_id.is_some_and(|u| Some(u) != actor.unit_id) {
            return Err(AppError::forbidden(
                "NOT_YOUR_UNIT",
                "Unit accounts see the accounts of their own unit only.",
            ));
        }
        filter.unit_id = actor.unit_id;
    }
    Ok(User::list(conn, &filter, page)?)
}

/// `dti-api create-admin`: the first administrator of a production database (recorded in the
/// audit log under the system actor).
pub fn create_admin(conn: &mut PgConnection, username: &str, password: &str) -> AppResult<User> {
    create(
        conn,
        &crate::services::seed::system_principal(),
        CreateUser {
            username: username.to_string(),
            full_name: "Administrator".into(),
            password: password.to_string(),
            role: Role::Admin,
            unit: None,
        },
    )
}

/// `dti-api set-password`: sets an account's password (which revokes its tokens).
pub fn set_password(conn: &mut PgConnection, username: &str, password: &str) -> AppResult<User> {
    let user = User::find_by_username(conn, username)?
        .ok_or_else(|| AppError::not_found("user", username))?;
    update(
        conn,
        &crate::services::seed::system_principal(),
        user.id,
        &IfMatch::Any,
        UpdateUser {
            password: Some(password.to_string()),
            ..UpdateUser::default()
        },
    )
}
