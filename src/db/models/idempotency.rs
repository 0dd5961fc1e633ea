//! Stored first responses of requests sent with an `Idempotency-Key` (see
//! `services::idempotency`). A row names exactly one owner: an account (`user_id`) or an
//! integration token (`token_id`), which has no account; `owner_id` is whichever is set and,
//! with the key, the primary key.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::db::schema::idempotency_keys;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// Whose key it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    User(Uuid),
    Token(Uuid),
}

impl KeyOwner {
    pub fn id(self) -> Uuid {
        match self {
            KeyOwner::User(id) | KeyOwner::Token(id) => id,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub key: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = idempotency_keys)]
struct NewRecord<'a> {
    key: &'a str,
    user_id: Option<Uuid>,
    token_id: Option<Uuid>,
    request_hash: &'a str,
    response_status: i32,
    response_body: Value,
}

impl IdempotencyRecord {
    /// Inserts a placeholder row for (owner, key) in the caller's transaction; `false` when the
    /// key already exists. While another open transaction holds the same key, this waits for it
    /// to end (up to the session's `lock_timeout`): committed, the key exists; rolled back, the
    /// key is ours.
    pub fn claim(
        conn: &mut PgConnection,
        owner: KeyOwner,
        key: &str,
        request_hash: &str,
    ) -> QueryResult<bool> {
        let (user_id, token_id) = match owner {
            KeyOwner::User(id) => (Some(id), None),
            KeyOwner::Token(id) => (None, Some(id)),
        };
        let inserted = diesel::insert_into(idempotency_keys::table)
            .values(&NewRecord {
                key,
                user_id,
                token_id,
                request_hash,
                response_status: 0,
                response_body: Value::Null,
            })
            .on_conflict((idempotency_keys::owner_id, idempotency_keys::key))
            .do_nothing()
            .execute(conn)?;
        Ok(inserted == 1)
    }

    pub fn find(conn: &mut PgConnection, owner: KeyOwner, key: &str) -> QueryResult<Option<Self>> {
        idempotency_keys::table
            .find((owner.id(), key))
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    /// Stores the response of the claimed key (same transaction as [`Self::claim`]).
    pub fn complete(
        conn: &mut PgConnection,
        owner: KeyOwner,
        key: &str,
        status: i32,
        body: &Value,
    ) -> QueryResult<()> {
        diesel::update(idempotency_keys::table.find((owner.id(), key)))
            .set((
                idempotency_keys::response_status.eq(status),
                idempotency_keys::response_body.eq(body),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Deletes the keys older than the retention (an index range scan on `created_at`).
    pub fn delete_expired(conn: &mut PgConnection) -> QueryResult<usize> {
        let cutoff = Utc::now() - chrono::Duration::hours(RETENTION_HOURS);
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
            .execute(conn)
    }

    /// Bounds how long [`Self::claim`] waits for a concurrent holder of the same key, for the
    /// rest of the transaction (`SET LOCAL`); `None` restores the session default.
    pub fn set_lock_timeout(conn: &mut PgConnection, millis: Option<u32>) -> QueryResult<()> {
        let sql = match millis {
            Some(ms) => format!("SET LOCAL lock_timeout = {ms}"),
            None => "SET LOCAL lock_timeout TO DEFAULT".to_string(),
        };
        diesel::sql_query(sql).execute(conn)?;
        Ok(())
    }
}
