//! Webhook receivers (administrator only): registration with a generated signing secret,
//! changes, secret rotation, the delivery log and manual redelivery; and the rules the delivery
//! worker applies (retry schedule, disabling after persistent failure, deadline notices).

use std::time::Duration;

use chrono::Utc;
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::config::WebhookConfig;
use crate::db::models::PageReq;
use crate::db::models::webhooks::{
    self as model, ClaimedAttempt, NewWebhookEndpoint, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint, WebhookEndpointChanges, WebhookEvent,
};
use crate::domain::events::{DeliveryStatus, EventType};
use crate::domain::precondition::IfMatch;
use crate::error::{AppError, AppResult};
use crate::services::outbox;
use crate::webhooks::signature::generate_secret;
use crate::webhooks::target::ReceiverUrl;

/// A delivery with its event and every attempt.
pub struct DeliveryView {
    pub delivery: WebhookDelivery,
    pub event: WebhookEvent,
    pub attempts: Vec<WebhookAttempt>,
}

pub struct CreateWebhook {
    pub url: ReceiverUrl,
    pub description: String,
    /// Empty: every type.
    pub event_types: Vec<EventType>,
}

#[derive(Default)]
pub struct UpdateWebhook {
    pub url: Option<ReceiverUrl>,
    pub description: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    /// `true` enables the receiver again (its failure record starts over and its pending
    /// deliveries resume); `false` disables it.
    pub enabled: Option<bool>,
}

fn type_names(types: &[EventType]) -> Vec<String> {
    let mut names: Vec<String> = types.iter().map(|t| t.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    names
}

fn admin(actor: &Principal) -> AppResult<()> {
    actor.require_admin("manage webhooks")
}

fn find(c: &mut PgConnection, id: Uuid) -> AppResult<WebhookEndpoint> {
    WebhookEndpoint::find_for_update(c, id)?.ok_or_else(|| AppError::not_found("webhook", id))
}

/// Registers a receiver with a new secret (returned once, in the row).
pub fn create(
    conn: &mut PgConnection,
    actor: &Principal,
    input: CreateWebhook,
) -> AppResult<WebhookEndpoint> {
    admin(actor)?;
    conn.transaction(|c| {
        let secret = generate_secret();
        let w = WebhookEndpoint::insert(
            c,
            &NewWebhookEndpoint {
                id: Uuid::new_v4(),
                url: input.url.as_str(),
                description: input.description.trim(),
                event_types: type_names(&input.event_types),
                secret: &secret,
                created_by: Some(actor.actor_id()),
            },
        )?;
        Audit::new(Some(actor), "webhook.create", "webhook", w.id)
            .new_value(serde_json::json!({"url": w.url, "event_types": w.event_types}))
            .record(c)?;
        Ok(w)
    })
}

pub fn list(
    conn: &mut PgConnection,
    actor: &Principal,
    page: PageReq,
) -> AppResult<(Vec<WebhookEndpoint>, i64)> {
    admin(actor)?;
    Ok(WebhookEndpoint::list(conn, page)?)
}

pub fn get(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<WebhookEndpoint> {
    admin(actor)?;
    WebhookEndpoint::find(conn, id)?.ok_or_else(|| AppError::not_found("webhook", id))
}

/// Changes a receiver; `expected` (from `If-Match`) refuses a lost update with 412.
pub fn update(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    expected: &IfMatch,
    input: UpdateWebhook,
) -> AppResult<WebhookEndpoint> {
    admin(actor)?;
    conn.transaction(|c| {
        let old = find(c, id)?;
        expected.check(old.version, "The webhook")?;
        let changes = WebhookEndpointChanges {
            url: input.url.map(|u| u.as_str().to_string()),
            description: input.description.map(|d| d.trim().to_string()),
            event_types: input.event_types.as_deref().map(type_names),
        };
        let enabled = input.enabled.filter(|e| *e != old.enabled);
        let w = WebhookEndpoint::update(c, id, &changes, enabled)?;
        Audit::new(Some(actor), "webhook.update", "webhook", id)
            .old(serde_json::json!({"url": old.url, "event_types": old.event_types, "enabled": old.enabled}))
            .new_value(serde_json::json!({"url": w.url, "event_types": w.event_types, "enabled": w.enabled}))
            .record(c)?;
        Ok(w)
    })
}

/// Removes a receiver with its delivery log.
pub fn delete(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<()> {
    admin(actor)?;
    conn.transaction(|c| {
        let old = find(c, id)?;
        WebhookEndpoint::delete(c, id)?;
        Audit::new(Some(actor), "webhook.delete", "webhook", id)
            .old(serde_json::json!({"url": old.url}))
            .record(c)?;
        Ok(())
    })
}

/// Replaces the secret (the new one is returned once, in the row); the previous one keeps
/// signing for `overlap`, so receivers can switch without missing a delivery.
pub fn rotate_secret(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    overlap: Duration,
) -> AppResult<WebhookEndpoint> {
    admin(actor)?;
    conn.transaction(|c| {
        find(c, id)?;
        let until = Utc::now()
            + chrono::Duration::from_std(overlap).unwrap_or_else(|_| chrono::Duration::hours(24));
        let w = WebhookEndpoint::rotate_secret(c, id, &generate_secret(), until)?;
        Audit::new(Some(actor), "webhook.rotate_secret", "webhook", id)
            .new_value(serde_json::json!({"previous_secret_expires_at": until}))
            .record(c)?;
        Ok(w)
    })
}

fn views(
    c: &mut PgConnection,
    rows: Vec<(WebhookDelivery, WebhookEvent)>,
) -> AppResult<Vec<DeliveryView>> {
    let ids: Vec<Uuid> = rows.iter().map(|(d, _)| d.id).collect();
    let mut attempts = WebhookDelivery::attempts(c, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(delivery, event)| {
            let (mine, rest) = attempts
                .drain(..)
                .partition(|a: &WebhookAttempt| a.delivery_id == delivery.id);
            attempts = rest;
            DeliveryView {
                delivery,
                event,
                attempts: mine,
            }
        })
        .collect())
}

/// The delivery log of one receiver, newest first.
pub fn deliveries(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    status: Option<DeliveryStatus>,
    page: PageReq,
) -> AppResult<(Vec<DeliveryView>, i64)> {
    admin(actor)?;
    WebhookEndpoint::find(conn, id)?.ok_or_else(|| AppError::not_found("webhook", id))?;
    let (rows, total) =
        WebhookDelivery::of_endpoint(conn, id, status.map(DeliveryStatus::as_str), page)?;
    Ok((views(conn, rows)?, total))
}

/// One delivery of one receiver.
pub fn delivery(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    delivery_id: Uuid,
) -> AppResult<DeliveryView> {
    admin(actor)?;
    WebhookEndpoint::find(conn, id)?.ok_or_else(|| AppError::not_found("webhook", id))?;
    let row = WebhookDelivery::find_of(conn, id, delivery_id)?
        .ok_or_else(|| AppError::not_found("webhook delivery", delivery_id))?;
    Ok(views(conn, vec![row])?.remove(0))
}

/// Sends a finished delivery again: a new delivery of the same event (same `webhook-id`, so a
/// receiver that already has it can tell), due at once, logged on its own.
pub fn redeliver(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    delivery_id: Uuid,
) -> AppResult<DeliveryView> {
    admin(actor)?;
    conn.transaction(|c| {
        let endpoint = find(c, id)?;
        let (old, event) = WebhookDelivery::find_of(c, id, delivery_id)?
            .ok_or_else(|| AppError::not_found("webhook delivery", delivery_id))?;
        if !endpoint.enabled {
            return Err(AppError::conflict(
                "WEBHOOK_DISABLED",
                "The webhook is disabled; enable it (PATCH enabled: true) before redelivering.",
            ));
        }
        if old.status == DeliveryStatus::Pending.as_str() {
            return Err(AppError::conflict(
                "DELIVERY_PENDING",
                "This delivery is still being attempted; redeliver it once it has succeeded or failed.",
            )
            .with_extension("next_attempt_at", old.next_attempt_at));
        }
        let new = WebhookDelivery::insert_redelivery(c, &old)?;
        Audit::new(Some(actor), "webhook.redeliver", "webhook", id)
            .new_value(serde_json::json!({"delivery": new.id, "redelivery_of": old.id, "event": event.id}))
            .record(c)?;
        Ok(DeliveryView {
            delivery: new,
            event,
            attempts: Vec::new(),
        })
    })
}

// ---------------------------------------------------------------------------------------
// The worker's rules (no HTTP here: the worker sends, these record)
// ---------------------------------------------------------------------------------------

/// Fans undispatched events out to their receivers (see [`WebhookEvent::dispatch`]).
pub fn dispatch(conn: &mut PgConnection, limit: i64) -> AppResult<usize> {
    Ok(conn.transaction(|c| WebhookEvent::dispatch(c, limit))?)
}

/// Claims due attempts (see [`WebhookDelivery::claim_due`]) in a short transaction of its own.
pub fn claim(
    conn: &mut PgConnection,
    limit: i64,
    lease: Duration,
) -> AppResult<Vec<ClaimedAttempt>> {
    Ok(conn.transaction(|c| WebhookDelivery::claim_due(c, limit, lease))?)
}

/// What one attempt got.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub attempted_at: chrono::DateTime<Utc>,
    pub duration: Duration,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The start of its answer (at most 1 KiB).
    pub body: Option<String>,
    /// Why no answer came (timeout, refused address, connection error…).
    pub error: Option<String>,
}

impl AttemptOutcome {
    /// Any 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Records an attempt: the delivery succeeds, waits for its next attempt (the retry schedule:
/// attempt `n` failed → wait `retry_schedule[n - 1]`), or fails for good once the schedule is
/// exhausted. A receiver is disabled when `disable_after_failed_deliveries` deliveries in a row
/// failed for good, or when its attempts have failed, with no success, for
/// `disable_after_failing_for`. A delivery whose receiver was deleted meanwhile is ignored.
pub fn record_attempt(
    conn: &mut PgConnection,
    claim: &ClaimedAttempt,
    outcome: &AttemptOutcome,
    config: &WebhookConfig,
) -> AppResult<()> {
    conn.transaction(|c| {
        if WebhookDelivery::find_for_update(c, claim.delivery_id)?.is_none() {
            return Ok(());
        }
        let clip = |s: &Option<String>| s.as_ref().map(|t| clip(t, 1024));
        WebhookDelivery::insert_attempt(
            c,
            &WebhookAttempt {
                delivery_id: claim.delivery_id,
                attempt: claim.attempt,
                attempted_at: outcome.attempted_at,
                duration_ms: i32::try_from(outcome.duration.as_millis()).unwrap_or(i32::MAX),
                response_status: outcome.status.map(i32::from),
                response_body: clip(&outcome.body),
                error: clip(&outcome.error),
                succeeded: outcome.succeeded(),
            },
        )?;
        if outcome.succeeded() {
            WebhookDelivery::finish(c, claim.delivery_id, DeliveryStatus::Succeeded.as_str())?;
            WebhookEndpoint::record_success(c, claim.endpoint_id)?;
            return Ok(());
        }
        let retry = usize::try_from(claim.attempt - 1)
            .ok()
            .and_then(|i| config.retry_schedule.get(i));
        match retry {
            Some(wait) => WebhookDelivery::retry_after(c, claim.delivery_id, *wait)?,
            None => WebhookDelivery::finish(c, claim.delivery_id, DeliveryStatus::Failed.as_str())?,
        }
        let Some(w) = WebhookEndpoint::record_failure(c, claim.endpoint_id, retry.is_none())?
        else {
            return Ok(());
        };
        let failing_for = w
            .failing_since
            .map(|since| (Utc::now() - since).to_std().unwrap_or_default())
            .unwrap_or_default();
        let reason = if w.consecutive_failures >= config.disable_after_failed_deliveries {
            Some(format!(
                "{} deliveries in a row failed every attempt",
                w.consecutive_failures
            ))
        } else if failing_for >= config.disable_after_failing_for {
            Some(format!(
                "every attempt has failed since {}",
                w.failing_since.map(|t| t.to_rfc3339()).unwrap_or_default()
            ))
        } else {
            None
        };
        if let Some(reason) = reason
            && w.enabled
        {
            WebhookEndpoint::disable(c, w.id, &reason)?;
            tracing::warn!("webhook {} ({}) disabled: {reason}", w.id, w.url);
            Audit::new(None, "webhook.disable", "webhook", w.id)
                .old(serde_json::json!({"enabled": true}))
                .new_value(serde_json::json!({"enabled": false, "reason": reason}))
                .record(c)?;
        }
        Ok(())
    })
}

/// The first `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Writes the deadline notices now due and their events, in one transaction; returns how many.
pub fn scan_deadlines(conn: &mut PgConnection) -> AppResult<usize> {
    conn.transaction(|c| {
        let notices = model::scan_deadlines(c)?;
        for n in &notices {
            outbox::emit_deadline(c, n)?;
        }
        Ok(notices.len())
    })
}

/// Deletes events older than `retention` once nothing of them is pending.
pub fn purge(conn: &mut PgConnection, retention: Duration) -> AppResult<usize> {
    let before =
        Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    Ok(WebhookEvent::purge(conn, before)?)
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clipping_keeps_whole_characters() {
        assert_eq!(clip("abc", 10), "abc");
        assert_eq!(clip("Lào Cai", 2), "L");
        assert_eq!(clip("Lào Cai", 3), "Là");
    }
}
