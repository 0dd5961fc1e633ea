//! Failed-login counters shared by all replicas (the rules are in `services::auth`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};

use crate::db::schema::login_throttle;

/// One counter, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = login_throttle)]
pub struct Counter {
    pub key: String,
    /// Attempts counted in the current streak.
    pub failures: i32,
    pub locked_until: Option<DateTime<Utc>>,
    /// After this the counter is forgotten (a quiet period after the last failure or lock).
    pub expires_at: DateTime<Utc>,
}

impl Counter {
    /// The counter of `key`, created empty if there is none, locked until the end of the
    /// transaction: whoever holds it checks and counts before anyone else reads it.
    pub fn lock(conn: &mut PgConnection, key: &str, now: DateTime<Utc>) -> QueryResult<Counter> {
        // The no-op update takes the row lock of an existing counter, in the same statement.
        diesel::sql_query(
            "INSERT INTO login_throttle (key, failures, expires_at) VALUES ($1, 0, $2)
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures
             RETURNING key, failures, locked_until, expires_at",
        )
        .bind::<Text, _>(key)
        .bind::<Timestamptz, _>(now)
        .get_result(conn)
    }

    pub fn save(&self, conn: &mut PgConnection) -> QueryResult<()> {
        diesel::update(login_throttle::table.find(&self.key))
            .set((
                login_throttle::failures.eq(self.failures),
                login_throttle::locked_until.eq(self.locked_until),
                login_throttle::expires_at.eq(self.expires_at),
            ))
            .execute(conn)?;
        Ok(())
    }

    pub fn delete(conn: &mut PgConnection, key: &str) -> QueryResult<()> {
        diesel::delete(login_throttle::table.find(key)).execute(conn)?;
        Ok(())
    }

    /// Deletes up to `limit` expired counters (skipping any another transaction holds), so
    /// that the table stays as small as the recent failures.
    pub fn purge_expired(
        conn: &mut PgConnection,
        now: DateTime<Utc>,
        limit: i32,
    ) -> QueryResult<usize> {
        diesel::sql_query(
            "DELETE FROM login_throttle WHERE key IN (
               SELECT key FROM login_throttle WHERE expires_at <= $1
               ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<Integer, _>(limit)
        .execute(conn)
    }
}
