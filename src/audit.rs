//! Audit trail: every state-changing request writes an event in the same transaction as the
//! change (actor, role, action, entity, old → new, request id). The table is append-only (a
//! trigger refuses UPDATE, DELETE and TRUNCATE).

use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::models::audit::{AuditEvent, NewAuditEvent};
use crate::domain::Role;
use crate::error::AppResult;
use crate::telemetry::current_request_id;

/// Who may read the trail (its list and its export): administrators and viewers. 403
/// `FORBIDDEN_ROLE` otherwise.
pub fn require_reader(actor: &Principal) -> AppResult<()> {
    actor.require_role(&[Role::Admin, Role::Viewer], "read the audit trail")
}

/// What happened, to what.
pub struct Audit<'a> {
    pub actor: Option<&'a Principal>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub unit_id: Option<Uuid>,
    pub period_id: Option<Uuid>,
    pub old: Option<serde_json::Value>,
    pub new: Option<serde_json::Value>,
}

impl<'a> Audit<'a> {
    pub fn new(
        actor: Option<&'a Principal>,
        action: &'a str,
        entity_type: &'a str,
        entity_id: impl ToString,
    ) -> Self {
        Audit {
            actor,
            action,
            entity_type,
            entity_id: entity_id.to_string(),
            unit_id: None,
            period_id: None,
            old: None,
            new: None,
        }
    }
    pub fn unit(mut self, unit: Option<Uuid>) -> Self {
        self.unit_id = unit;
        self
    }
    pub fn period(mut self, period: Option<Uuid>) -> Self {
        self.period_id = period;
        self
    }
    pub fn old(mut self, v: impl serde::Serialize) -> Self {
        self.old = serde_json::to_value(v).ok().map(shaped);
        self
    }
    pub fn new_value(mut self, v: impl serde::Serialize) -> Self {
        self.new = serde_json::to_value(v).ok().map(shaped);
        self
    }

    /// Writes the event on `conn` (inside the caller's transaction).
    pub fn record(self, conn: &mut PgConnection) -> AppResult<()> {
        let request_id = current_request_id();
        AuditEvent::insert(conn, &self.into_row(request_id))?;
        Ok(())
    }

    /// Writes many events (inside the caller's transaction) in as few statements as can be:
    /// an import's, one per assessment it changed.
    pub fn record_many(events: Vec<Audit<'_>>, conn: &mut PgConnection) -> AppResult<()> {
        let request_id = current_request_id();
        let rows: Vec<NewAuditEvent> = events
            .into_iter()
            .map(|e| e.into_row(request_id.clone()))
            .collect();
        AuditEvent::insert_many(conn, &rows)?;
        Ok(())
    }

    /// The event as a row, with the current request's id, for a statement that records it
    /// together with the change and fills in what only it knows (an answer's write:
    /// [`crate::db::models::assessments::AnswerEvent`]).
    pub fn into_event(self) -> NewAuditEvent {
        self.into_row(current_request_id())
    }

    fn into_row(self, request_id: Option<String>) -> NewAuditEvent {
        NewAuditEvent {
            actor_id: self.actor.map(|a| a.actor_id()),
            actor_role: self.actor.map(|a| a.role.as_str().to_string()),
            action: self.action.to_string(),
            entity_type: self.entity_type.to_string(),
            entity_id: Some(self.entity_id),
            unit_id: self.unit_id,
            period_id: self.period_id,
            old_value: self.old,
            new_value: self.new,
            request_id,
        }
    }
}

/// An old or new value as the document promises it (`AuditValue`): an object, or a list of
/// objects (rows changed together). Anything else (a list of ids, a bare string or number) is
/// kept under `value`, so no caller can write an event that the audit routes then serve outside
/// their schema.
pub fn shaped(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(_) | Value::Null => v,
        Value::Array(ref rows) if rows.iter().all(Value::is_object) => v,
        other => serde_json::json!({ "value": other }),
    }
}

#[cfg(test)]
mod tests {
    use super::shaped;
    use serde_json::json;

    #[test]
    fn audit_values_are_objects_or_lists_of_objects() {
        assert_eq!(shaped(json!({"a": 1})), json!({"a": 1}));
        assert_eq!(
            shaped(json!([{"a": 1}, {"b": 2}])),
            json!([{"a": 1}, {"b": 2}])
        );
        assert_eq!(shaped(json!([])), json!([]));
        assert_eq!(shaped(json!(["x", "y"])), json!({"value": ["x", "y"]}));
        assert_eq!(
            shaped(json!([{"a": 1}, 2])),
            json!({"value": [{"a": 1}, 2]})
        );
        assert_eq!(shaped(json!("draft")), json!({"value": "draft"}));
        assert_eq!(shaped(json!(3)), json!({"value": 3}));
    }
}
