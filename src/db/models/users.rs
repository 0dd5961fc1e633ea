use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::PageReq;
use crate::db::schema::users;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub full_name: String,
    pub password_hash: String,
    pub role: String,
    pub unit_id: Option<Uuid>,
    pub active: bool,
    /// Moves on every change (the `ETag`).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Moves when the account's tokens must stop working; tokens carry it as `ver`.
    pub session_version: i32,
    /// The account must choose a new password (`POST /me/password`) before anything else.
    pub must_change_password: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub unit_id: Option<Uuid>,
    pub active: bool,
}

/// A patch: `None` leaves a field alone; `unit_id: Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub full_name: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<String>,
    pub unit_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
    pub must_change_password: Option<bool>,
}

impl UserChanges {
    /// True when nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.full_name.is_none()
            && self.password_hash.is_none()
            && self.role.is_none()
            && self.unit_id.is_none()
            && self.active.is_none()
            && self.must_change_password.is_none()
    }
}

#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    pub unit_id: Option<Uuid>,
    pub active: Option<bool>,
    pub q: Option<String>,
}

impl User {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_username(conn: &mut PgConnection, username: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::username.eq(username))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    pub fn insert(conn: &mut PgConnection, new: &NewUser) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values(new)
            .returning(User::as_returning())
            .get_result(conn)
    }

    /// Applies `changes` when the row is still at `expected_version` and bumps the version;
    /// with `end_sessions` also the session version (which revokes the user's tokens). `None`
    /// when the version moved on.
    pub fn update(
        conn: &mut PgConnection,
        id: Uuid,
        expected_version: Option<i32>,
        changes: &UserChanges,
        end_sessions: bool,
    ) -> QueryResult<Option<User>> {
        let mut q = diesel::update(users::table.find(id)).into_boxed();
        if let Some(v) = expected_version {
            q = q.filter(users::version.eq(v));
        }
        q.set((
            changes,
            users::version.eq(users::version + 1),
            users::session_version.eq(users::session_version + i32::from(end_sessions)),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .optional()
    }

    pub fn list(
        conn: &mut PgConnection,
        f: &UserFilter,
        page: PageReq,
    ) -> QueryResult<(Vec<User>, i64)> {
        let build = || {
            let mut q = users::table.into_boxed();
            if let Some(r) = &f.role {
                q = q.filter(users::role.eq(r.clone()));
            }
            if let Some(u) = f.unit_id {
                q = q.filter(users::unit_id.eq(u));
            }
            if let Some(a) = f.active {
                q = q.filter(users::active.eq(a));
            }
            if let Some(text) = &f.q {
                let pattern = format!("%{}%", crate::db::models::units::escape_like(text));
                q = q.filter(
                    users::username
                        .ilike(pattern.clone())
                        .or(users::full_name.ilike(pattern)),
                );
            }
            q
        };
        let total = build().count().get_result(conn)?;
        let items = build()
            .order(users::username.asc())
            .limit(page.page_size)
            .offset(page.offset())
            .select(User::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::id.eq_any(ids))
            .select(User::as_select())
            .load(conn)
    }

    pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    /// The account must change its password before anything else (a one-time password).
    pub fn require_password_change(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::must_change_password.eq(true))
            .execute(conn)
    }

    /// Marks accounts as still having the password the seeds gave them (migration 13).
    pub fn mark_seeded_password(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<usize> {
        diesel::update(users::table.filter(users::id.eq_any(ids)))
            .set(users::seeded_password.eq(true))
            .execute(conn)
    }

    /// `(password hash, username)` of the active accounts marked as maybe still having the
    /// seeds' password, by hash.
    pub fn seeded_password_hashes(conn: &mut PgConnection) -> QueryResult<Vec<(String, String)>> {
        users::table
            .filter(users::seeded_password.and(users::active))
            .select((users::password_hash, users::username))
            .order((users::password_hash, users::username))
            .load(conn)
    }

    /// Clears the mark of every account with this hash (verified not to be the demo password).
    pub fn clear_seeded_password(conn: &mut PgConnection, hash: &str) -> QueryResult<usize> {
        diesel::update(users::table.filter(users::password_hash.eq(hash)))
            .set(users::seeded_password.eq(false))
            .execute(conn)
    }
}
