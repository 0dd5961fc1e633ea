use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::PageReq;
use crate::db::schema::audit_events;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub period_id: Option<Uuid>,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent {
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub period_id: Option<Uuid>,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub period_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl AuditEvent {
    /// Inserts many events, one statement per 6,000: at most ten binds per event keeps a
    /// statement under PostgreSQL's 65,535 (an import's events, one per assessment it changed).
    /// An answer write's events are not written here: the statement that writes the answers
    /// writes them ([`crate::db::models::assessments::Answer::replace_many`]).
    pub fn insert_many(conn: &mut PgConnection, events: &[NewAuditEvent]) -> QueryResult<()> {
        // one event as the one-row insert, prepared once per connection; an insert of a list
        // is planned on every call
        if let [event] = events {
            return Self::insert(conn, event);
        }
        for chunk in events.chunks(6_000) {
            diesel::insert_into(audit_events::table)
                .values(chunk)
                .execute(conn)?;
        }
        Ok(())
    }

    /// Inserts one event, in a statement prepared once per connection (an insert built by
    /// Diesel's DSL leaves a missing value out, so its text varies and it is never cached).
    pub fn insert(conn: &mut PgConnection, ev: &NewAuditEvent) -> QueryResult<()> {
        use diesel::sql_types::{Jsonb, Nullable, Text, Uuid as SqlUuid};
        crate::db::cached_sql::cached_sql(
            "INSERT INTO audit_events (actor_id, actor_role, action, entity_type, entity_id, \
               unit_id, period_id, old_value, new_value, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind::<Nullable<SqlUuid>, _>(ev.actor_id)
        .bind::<Nullable<Text>, _>(ev.actor_role.as_deref())
        .bind::<Text, _>(ev.action.as_str())
        .bind::<Text, _>(ev.entity_type.as_str())
        .bind::<Nullable<Text>, _>(ev.entity_id.as_deref())
        .bind::<Nullable<SqlUuid>, _>(ev.unit_id)
        .bind::<Nullable<SqlUuid>, _>(ev.period_id)
        .bind::<Nullable<Jsonb>, _>(ev.old_value.as_ref())
        .bind::<Nullable<Jsonb>, _>(ev.new_value.as_ref())
        .bind::<Nullable<Text>, _>(ev.request_id.as_deref())
        .execute(conn)
        .map(|_| ())
    }

    /// The last event `action` on one entity.
    pub fn latest(
        conn: &mut PgConnection,
        entity_type: &str,
        entity_id: &str,
        action: &str,
    ) -> QueryResult<Option<AuditEvent>> {
        audit_events::table
            .filter(audit_events::entity_type.eq(entity_type))
            .filter(audit_events::entity_id.eq(entity_id))
            .filter(audit_events::action.eq(action))
            .order(audit_events::id.desc())
            .select(AuditEvent::as_select())
            .first(conn)
            .optional()
    }

    /// Every event of a period, oldest first (the audit export).
    pub fn of_period(conn: &mut PgConnection, period: Uuid) -> QueryResult<Vec<AuditEvent>> {
        audit_events::table
            .filter(audit_events::period_id.eq(period))
            .order(audit_events::id.asc())
            .select(AuditEvent::as_select())
            .load(conn)
    }

    pub fn list(
        conn: &mut PgConnection,
        f: &AuditFilter,
        page: PageReq,
    ) -> QueryResult<(Vec<AuditEvent>, i64)> {
        let build = || {
            let mut q = audit_events::table.into_boxed();
            if let Some(v) = &f.entity_type {
                q = q.filter(audit_events::entity_type.eq(v.clone()));
            }
            if let Some(v) = &f.entity_id {
                q = q.filter(audit_events::entity_id.eq(v.clone()));
            }
            if let Some(v) = f.unit_id {
                q = q.filter(audit_events::unit_id.eq(v));
            }
            if let Some(v) = f.period_id {
                q = q.filter(audit_events::period_id.eq(v));
            }
            if let Some(v) = f.actor_id {
                q = q.filter(audit_events::actor_id.eq(v));
            }
            if let Some(v) = &f.action {
                q = q.filter(audit_events::action.eq(v.clone()));
            }
            if let Some(v) = f.from {
                q = q.filter(audit_events::occurred_at.ge(v));
            }
            if let Some(v) = f.to {
                q = q.filter(audit_events::occurred_at.lt(v));
            }
            q
        };
        let total = build().count().get_result(conn)?;
        let items = build()
            .order(audit_events::id.desc())
            .limit(page.page_size)
            .offset(page.offset())
            .select(AuditEvent::as_select())
            .load(conn)?;
        Ok((items, total))
    }
}
