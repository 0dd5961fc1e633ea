//! Failed-login counters shared by all replicas.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::login_throttle;

/// How long a failure counts towards a lock.
pub const WINDOW_MINUTES: i64 = 15;

/// When `key` is locked, the time it unlocks.
pub fn locked_until(conn: &mut PgConnection, key: &str) -> QueryResult<Option<DateTime<Utc>>> {
    let until: Option<Option<DateTime<Utc>>> = login_throttle::table
        .find(key)
        .select(login_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until.flatten().filter(|t| *t > Utc::now()))
}

/// Counts one failure; locks the key for `lock_seconds` when it reaches `max_failures`
/// within the window. Returns the lock end if now locked.
pub fn record_failure(
    conn: &mut PgConnection,
    key: &str,
    max_failures: i32,
    lock_seconds: i64,
) -> QueryResult<Option<DateTime<Utc>>> {
    let now = Utc::now();
    let window_start = now - Duration::minutes(WINDOW_MINUTES);
    // One statement, so concurrent failures are all counted.
    let failures: i32 = diesel::sql_query(
        "INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END,
           window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END
         RETURNING failures",
    )
    .bind::<diesel::sql_types::Text, _>(key)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<diesel::sql_types::Timestamptz, _>(window_start)
    .get_result::<ThrottleRow>(conn)
    .map(|r| r.failures)?;
    if failures >= max_failures {
        let until = now + Duration::seconds(lock_seconds);
        diesel::update(login_throttle::table.find(key))
            .set((
                login_throttle::locked_until.eq(Some(until)),
                login_throttle::failures.eq(0),
                login_throttle::window_start.eq(now),
            ))
            .execute(conn)?;
        return Ok(Some(until));
    }
    Ok(None)
}

pub fn reset(conn: &mut PgConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct ThrottleRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    failures: i32,
}
