//! Webhook receivers, the event outbox, deliveries and their attempts, and the deadline scan's
//! marks (migration `webhooks`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int4, Int8, Interval, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::PageReq;
use crate::db::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_events};
use crate::db::text_array::TextArray;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    #[diesel(deserialize_as = TextArray<String>)]
    pub event_types: Vec<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub enabled_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewWebhookEndpoint<'a> {
    pub id: Uuid,
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: Vec<String>,
    pub secret: &'a str,
    pub created_by: Option<Uuid>,
}

/// A change to a receiver; `None` leaves a field alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct WebhookEndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub redelivery_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_events)]
pub struct WebhookEvent {
    pub id: Uuid,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub body: String,
    pub dispatched_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct WebhookAttempt {
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub succeeded: bool,
}

/// An attempt the worker has claimed: what to send, where, signed with which secrets.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedAttempt {
    #[diesel(sql_type = SqlUuid)]
    pub delivery_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    /// 1 for the first attempt.
    #[diesel(sql_type = Int4)]
    pub attempt: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
    /// The previous secret while it still signs (after a rotation).
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret: Option<String>,
    #[diesel(sql_type = Text)]
    pub body: String,
}

/// A deadline notice written by [`scan_deadlines`], with what its event reports.
#[derive(Debug, Clone, QueryableByName)]
pub struct DeadlineNotice {
    #[diesel(sql_type = SqlUuid)]
    pub assessment_id: Uuid,
    /// `7d`, `1d` or `passed`.
    #[diesel(sql_type = Text)]
    pub notice: String,
    #[diesel(sql_type = Timestamptz)]
    pub deadline: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub state: crate::domain::workflow::AssessmentState,
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    #[diesel(sql_type = Text)]
    pub unit_code: String,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = SqlUuid)]
    pub period_id: Uuid,
    #[diesel(sql_type = Text)]
    pub period_code: String,
    #[diesel(sql_type = Text)]
    pub period_name: String,
    #[diesel(sql_type = Text)]
    pub period_phase: crate::domain::workflow::PeriodPhase,
}

/// A `std` duration as a PostgreSQL interval.
pub fn interval(d: std::time::Duration) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Int8)]
    n: i64,
}

impl WebhookEndpoint {
    pub fn insert(conn: &mut PgConnection, new: &NewWebhookEndpoint) -> QueryResult<Self> {
        diesel::insert_into(webhook_endpoints::table)
            .values(new)
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
    }

    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        webhook_endpoints::table
            .find(id)
            .select(WebhookEndpoint::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        webhook_endpoints::table
            .find(id)
            .for_update()
            .select(WebhookEndpoint::as_select())
            .first(conn)
            .optional()
    }

    /// Receivers, oldest first.
    pub fn list(conn: &mut PgConnection, page: PageReq) -> QueryResult<(Vec<Self>, i64)> {
        let total = webhook_endpoints::table.count().get_result(conn)?;
        let items = webhook_endpoints::table
            .order((
                webhook_endpoints::created_at.asc(),
                webhook_endpoints::id.asc(),
            ))
            .limit(page.page_size)
            .offset(page.offset())
            .select(WebhookEndpoint::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Applies `changes` (and `enabled`, when given: enabling clears the failure record) and
    /// bumps the version.
    pub fn update(
        conn: &mut PgConnection,
        id: Uuid,
        changes: &WebhookEndpointChanges,
        enabled: Option<bool>,
    ) -> QueryResult<Self> {
        let target = webhook_endpoints::table.find(id);
        let bump = (
            webhook_endpoints::version.eq(webhook_endpoints::version + 1),
            webhook_endpoints::updated_at.eq(diesel::dsl::now),
        );
        if changes.url.is_some() || changes.description.is_some() || changes.event_types.is_some() {
            diesel::update(target).set(changes).execute(conn)?;
        }
        match enabled {
            Some(true) => diesel::update(target)
                .set((
                    webhook_endpoints::enabled.eq(true),
                    webhook_endpoints::enabled_at.eq(diesel::dsl::now),
                    webhook_endpoints::disabled_at.eq(None::<DateTime<Utc>>),
                    webhook_endpoints::disabled_reason.eq(None::<String>),
                    webhook_endpoints::consecutive_failures.eq(0),
                    webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>),
                ))
                .execute(conn)?,
            Some(false) => Self::disable(conn, id, "disabled by an administrator")?,
            None => 0,
        };
        diesel::update(target)
            .set(bump)
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
    }

    /// Disables an enabled receiver (its pending deliveries wait until it is enabled again).
    pub fn disable(conn: &mut PgConnection, id: Uuid, reason: &str) -> QueryResult<usize> {
        diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::enabled.eq(true)),
        )
        .set((
            webhook_endpoints::enabled.eq(false),
            webhook_endpoints::disabled_at.eq(diesel::dsl::now),
            webhook_endpoints::disabled_reason.eq(reason),
            webhook_endpoints::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
    }

    /// Installs `secret`; the current one keeps signing until `previous_until`.
    pub fn rotate_secret(
        conn: &mut PgConnection,
        id: Uuid,
        secret: &str,
        previous_until: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::previous_secret.eq(webhook_endpoints::secret.nullable()),
                webhook_endpoints::previous_secret_expires_at.eq(Some(previous_until)),
                webhook_endpoints::secret.eq(secret),
                webhook_endpoints::version.eq(webhook_endpoints::version + 1),
                webhook_endpoints::updated_at.eq(diesel::dsl::now),
            ))
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
    }

    pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(webhook_endpoints::table.find(id)).execute(conn)
    }

    /// A successful attempt: the failure record starts over.
    pub fn record_success(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::consecutive_failures.eq(0),
                webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)
    }

    /// A failed attempt (`exhausted`: the delivery's last one). Returns the receiver as updated.
    pub fn record_failure(
        conn: &mut PgConnection,
        id: Uuid,
        exhausted: bool,
    ) -> QueryResult<Option<Self>> {
        diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::consecutive_failures
                    .eq(webhook_endpoints::consecutive_failures + i32::from(exhausted)),
                webhook_endpoints::failing_since.eq(diesel::dsl::sql::<Nullable<Timestamptz>>(
                    "COALESCE(failing_since, now())",
                )),
            ))
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
            .optional()
    }
}

impl WebhookEvent {
    /// The time of the current transaction (what `occurred_at` and `created_at` default to), so
    /// that an event's body and row say the same time.
    pub fn transaction_time(conn: &mut PgConnection) -> QueryResult<DateTime<Utc>> {
        diesel::select(diesel::dsl::sql::<Timestamptz>("now()")).get_result(conn)
    }

    pub fn insert(
        conn: &mut PgConnection,
        id: Uuid,
        event_type: &str,
        occurred_at: DateTime<Utc>,
        body: &str,
    ) -> QueryResult<()> {
        diesel::insert_into(webhook_events::table)
            .values((
                webhook_events::id.eq(id),
                webhook_events::event_type.eq(event_type),
                webhook_events::occurred_at.eq(occurred_at),
                webhook_events::body.eq(body),
            ))
            .execute(conn)
            .map(|_| ())
    }

    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        webhook_events::table
            .find(id)
            .select(WebhookEvent::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Self>> {
        webhook_events::table
            .filter(webhook_events::id.eq_any(ids))
            .select(WebhookEvent::as_select())
            .load(conn)
    }

    /// Fans up to `limit` undispatched events out to the receivers that are enabled, were
    /// enabled before the event happened (a receiver created or enabled again later never gets
    /// it) and subscribe to its type: one pending delivery each; marks them dispatched. Rows another worker holds are skipped.
    /// Returns the number of events dispatched.
    pub fn dispatch(conn: &mut PgConnection, limit: i64) -> QueryResult<usize> {
        diesel::sql_query(
            "WITH ev AS (
                 SELECT id, event_type, occurred_at FROM webhook_events
                  WHERE dispatched_at IS NULL
                  ORDER BY occurred_at, id
                  LIMIT $1
                  FOR UPDATE SKIP LOCKED
             ), fan AS (
                 INSERT INTO webhook_deliveries (id, endpoint_id, event_id, next_attempt_at)
                 SELECT gen_random_uuid(), w.id, ev.id, now()
                   FROM ev JOIN webhook_endpoints w
                     ON w.enabled AND w.enabled_at <= ev.occurred_at
                    AND (cardinality(w.event_types) = 0 OR ev.event_type = ANY (w.event_types))
             )
             UPDATE webhook_events SET dispatched_at = now() WHERE id IN (SELECT id FROM ev)",
        )
        .bind::<Int8, _>(limit)
        .execute(conn)
    }

    /// Deletes events that happened before `before` and have no pending delivery (their
    /// deliveries and attempts go with them).
    pub fn purge(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::sql_query(
            "DELETE FROM webhook_events e
              WHERE e.occurred_at < $1 AND e.dispatched_at IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                                 WHERE d.event_id = e.id AND d.status = 'pending')",
        )
        .bind::<Timestamptz, _>(before)
        .execute(conn)
    }
}

impl WebhookDelivery {
    /// Claims up to `limit` due attempts of enabled receivers: each delivery's attempt count
    /// goes up and its next attempt moves `lease` ahead, so no other worker takes it while it
    /// is being sent; rows another worker holds are skipped. Commit before sending.
    pub fn claim_due(
        conn: &mut PgConnection,
        limit: i64,
        lease: std::time::Duration,
    ) -> QueryResult<Vec<ClaimedAttempt>> {
        diesel::sql_query(
            "WITH due AS (
                 SELECT d.id FROM webhook_deliveries d
                   JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
                  WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                  ORDER BY d.next_attempt_at, d.id
                  LIMIT $1
                  FOR UPDATE OF d SKIP LOCKED
             ), claimed AS (
                 UPDATE webhook_deliveries d
                    SET attempts = d.attempts + 1, next_attempt_at = now() + $2
                   FROM due WHERE d.id = due.id
                 RETURNING d.id, d.endpoint_id, d.event_id, d.attempts
             )
             SELECT c.id AS delivery_id, c.endpoint_id, c.event_id, c.attempts AS attempt,
                    w.url, w.secret,
                    CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END
                        AS previous_secret,
                    e.body
               FROM claimed c
               JOIN webhook_endpoints w ON w.id = c.endpoint_id
               JOIN webhook_events e ON e.id = c.event_id",
        )
        .bind::<Int8, _>(limit)
        .bind::<Interval, _>(interval(lease))
        .load(conn)
    }

    /// The delivery, locked, if it still exists.
    pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        webhook_deliveries::table
            .find(id)
            .for_update()
            .select(WebhookDelivery::as_select())
            .first(conn)
            .optional()
    }

    /// One delivery of `endpoint`.
    pub fn find_of(
        conn: &mut PgConnection,
        endpoint: Uuid,
        id: Uuid,
    ) -> QueryResult<Option<(Self, WebhookEvent)>> {
        webhook_deliveries::table
            .inner_join(webhook_events::table)
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint))
            .select((WebhookDelivery::as_select(), WebhookEvent::as_select()))
            .first(conn)
            .optional()
    }

    /// The delivery log of `endpoint`, newest first, with each delivery's event.
    pub fn of_endpoint(
        conn: &mut PgConnection,
        endpoint: Uuid,
        status: Option<&str>,
        page: PageReq,
    ) -> QueryResult<(Vec<(Self, WebhookEvent)>, i64)> {
        let build = || {
            let mut q = webhook_deliveries::table
                .inner_join(webhook_events::table)
                .filter(webhook_deliveries::endpoint_id.eq(endpoint))
                .into_boxed();
            if let Some(s) = status {
                q = q.filter(webhook_deliveries::status.eq(s.to_string()));
            }
            q
        };
        let total = build().count().get_result(conn)?;
        let items = build()
            .order((
                webhook_deliveries::created_at.desc(),
                webhook_deliveries::id.desc(),
            ))
            .limit(page.page_size)
            .offset(page.offset())
            .select((WebhookDelivery::as_select(), WebhookEvent::as_select()))
            .load(conn)?;
        Ok((items, total))
    }

    /// Every attempt of the deliveries `ids`, in order.
    pub fn attempts(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<WebhookAttempt>> {
        webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq_any(ids))
            .order((webhook_attempts::delivery_id, webhook_attempts::attempt))
            .select(WebhookAttempt::as_select())
            .load(conn)
    }

    pub fn insert_attempt(conn: &mut PgConnection, attempt: &WebhookAttempt) -> QueryResult<()> {
        diesel::insert_into(webhook_attempts::table)
            .values(attempt)
            .on_conflict_do_nothing()
            .execute(conn)
            .map(|_| ())
    }

    /// Ends the delivery (`succeeded` or `failed`).
    pub fn finish(conn: &mut PgConnection, id: Uuid, status: &str) -> QueryResult<()> {
        diesel::update(webhook_deliveries::table.find(id))
            .set((
                webhook_deliveries::status.eq(status),
                webhook_deliveries::next_attempt_at.eq(None::<DateTime<Utc>>),
                webhook_deliveries::last_attempt_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Schedules the next attempt `wait` from now.
    pub fn retry_after(
        conn: &mut PgConnection,
        id: Uuid,
        wait: std::time::Duration,
    ) -> QueryResult<()> {
        diesel::sql_query(
            "UPDATE webhook_deliveries SET next_attempt_at = now() + $2, last_attempt_at = now()
              WHERE id = $1",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Interval, _>(interval(wait))
        .execute(conn)
        .map(|_| ())
    }

    /// A new delivery of the same event to the same receiver, due now.
    pub fn insert_redelivery(conn: &mut PgConnection, of: &WebhookDelivery) -> QueryResult<Self> {
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::id.eq(Uuid::new_v4()),
                webhook_deliveries::endpoint_id.eq(of.endpoint_id),
                webhook_deliveries::event_id.eq(of.event_id),
                webhook_deliveries::next_attempt_at.eq(diesel::dsl::now),
                webhook_deliveries::redelivery_of.eq(of.id),
            ))
            .returning(WebhookDelivery::as_returning())
            .get_result(conn)
    }

    /// Pending deliveries of `endpoint` (for a receiver's summary).
    pub fn pending_count(conn: &mut PgConnection, endpoint: Uuid) -> QueryResult<i64> {
        let row: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'",
        )
        .bind::<SqlUuid, _>(endpoint)
        .get_result(conn)?;
        Ok(row.n)
    }
}

/// Writes the deadline notices now due (7 days before, 1 day before, passed) of the forms not
/// yet submitted (see [`super::tasks::DUE_FORMS`]), each (assessment, notice, deadline) once:
/// another replica or a later scan finds the mark and writes nothing. A notice is due in its
/// own window only (`7d` from 7 days to 1 day before, `1d` in the last day), so a scan that
/// starts late does not send a stale one. Returns the notices written, with their event's facts.
pub fn scan_deadlines(conn: &mut PgConnection) -> QueryResult<Vec<DeadlineNotice>> {
    diesel::sql_query(format!(
        "WITH due AS ({due}),
         marks AS (
             INSERT INTO deadline_notices (assessment_id, notice, deadline)
             SELECT due.assessment_id, n.notice, due.deadline
               FROM due
               JOIN (VALUES ('7d', interval '7 days', interval '1 day'),
                            ('1d', interval '1 day', interval '0'),
                            ('passed', interval '0', NULL::interval)) AS n (notice, lead, until)
                 ON now() >= due.deadline - n.lead
                AND (n.until IS NULL OR now() < due.deadline - n.until)
             ON CONFLICT DO NOTHING
             RETURNING assessment_id, notice, deadline
         )
         SELECT m.assessment_id, m.notice, m.deadline, a.state,
                u.id AS unit_id, u.code AS unit_code, u.name AS unit_name,
                p.id AS period_id, p.code AS period_code, p.name AS period_name,
                p.phase AS period_phase
           FROM marks m
           JOIN assessments a ON a.id = m.assessment_id
           JOIN units u ON u.id = a.unit_id
           JOIN periods p ON p.id = a.period_id
          ORDER BY m.deadline, u.code, m.notice",
        due = super::tasks::DUE_FORMS
    ))
    .load(conn)
}

/// Tries to become the one delivery worker of this database: a session-level advisory lock,
/// held for as long as `conn` lives (a replica that dies or loses its connection lets another
/// one take over).
pub fn try_worker_lock(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "pg_try_advisory_lock(7244011, 14)",
    ))
    .get_result(conn)
}
