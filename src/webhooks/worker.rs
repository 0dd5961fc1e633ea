//! The delivery worker: a tokio task started by [`crate::startup::Application::build`].
//!
//! Any number of replicas start it; one works at a time. It holds a PostgreSQL advisory lock on
//! a connection of its own (not one of the pool's), and the others retry the lock every poll
//! interval, taking over when the holder's connection goes. While it works, every poll:
//!
//! 1. now and then (`deadline_scan_interval`), writes the deadline events now due and deletes
//!    events past their retention;
//! 2. fans new outbox events out to their receivers;
//! 3. claims due attempts with `FOR UPDATE SKIP LOCKED` in a short transaction that pushes
//!    their next attempt past the request timeout (a lease), commits, then sends them, at most
//!    `concurrency` at a time, with no transaction open during the HTTP calls;
//! 4. records each outcome in a short transaction of its own (retry, success, failure,
//!    disabling).
//!
//! A worker that dies mid-attempt loses nothing: the lease runs out and the attempt is made
//! again (receivers drop duplicates by `webhook-id`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::PgConnection;
use tokio::task::JoinSet;

use crate::config::WebhookConfig;
use crate::db::models::webhooks::{ClaimedAttempt, try_worker_lock};
use crate::error::{AppError, AppResult, error_chain};
use crate::services::webhooks::{self as rules, AttemptOutcome};
use crate::webhooks::signature::{message_id, signature_header};
use crate::webhooks::target::{self, CheckedResolver, TargetPolicy};

/// Events fanned out per transaction.
const DISPATCH_BATCH: i64 = 500;
/// How much of a receiver's answer is kept in the delivery log.
const BODY_PREFIX: usize = 1024;

/// Starts the worker on the current tokio runtime.
pub fn spawn(
    database_url: String,
    config: WebhookConfig,
) -> Result<tokio::task::JoinHandle<()>, crate::error::BoxError> {
    let client = client(&config)?;
    Ok(tokio::spawn(run(database_url, config, client)))
}

/// The delivery client: timeouts, no redirects (a 3xx is a failed attempt), no proxy, and the
/// resolver that refuses disallowed addresses on every connection.
pub fn client(config: &WebhookConfig) -> Result<reqwest::Client, crate::error::BoxError> {
    Ok(reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver {
            policy: policy(config),
        }))
        .user_agent(concat!("dti-api-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

fn policy(config: &WebhookConfig) -> TargetPolicy {
    TargetPolicy {
        allow_http: config.allow_http,
        allow_private: config.allow_private_targets,
    }
}

/// The worker's own connection and whether it holds the lock (lost with the connection).
struct Seat {
    conn: crate::db::seat::Seat,
    leader: bool,
}

impl Seat {
    /// Runs `f` on the connection; an error drops the connection, and with it the lock.
    async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let out = self.conn.run(f).await;
        if !self.conn.is_open() {
            self.leader = false;
        }
        out
    }
}

async fn run(database_url: String, config: WebhookConfig, client: reqwest::Client) {
    let mut seat = Seat {
        conn: crate::db::seat::Seat::new(database_url),
        leader: false,
    };
    let mut last_scan: Option<Instant> = None;
    let mut failures = 0u32;
    loop {
        let busy = match step(&mut seat, &config, &client, &mut last_scan).await {
            Ok(busy) => {
                failures = 0;
                busy
            }
            Err(e) => {
                failures += 1;
                // a database that is away is logged once, not every poll
                if failures == 1 {
                    tracing::warn!("webhook worker: {}", error_chain(&e));
                }
                false
            }
        };
        if !busy {
            tokio::time::sleep(config.poll_interval).await;
        }
    }
}

/// One poll. Returns whether there may be more work right away.
async fn step(
    seat: &mut Seat,
    config: &WebhookConfig,
    client: &reqwest::Client,
    last_scan: &mut Option<Instant>,
) -> AppResult<bool> {
    if !seat.leader {
        seat.leader = seat.run(|c| Ok(try_worker_lock(c)?)).await?;
        if !seat.leader {
            return Ok(false);
        }
        tracing::info!("webhook worker: this replica delivers webhooks");
    }
    if last_scan.is_none_or(|t| t.elapsed() >= config.deadline_scan_interval) {
        let retention = config.retention;
        let (notices, purged) = seat
            .run(move |c| Ok((rules::scan_deadlines(c)?, rules::purge(c, retention)?)))
            .await?;
        if notices > 0 || purged > 0 {
            tracing::info!(
                "webhook worker: {notices} deadline notice(s), {purged} old event(s) deleted"
            );
        }
        *last_scan = Some(Instant::now());
    }
    let mut dispatched = DISPATCH_BATCH as usize;
    while dispatched == DISPATCH_BATCH as usize {
        dispatched = seat.run(|c| rules::dispatch(c, DISPATCH_BATCH)).await?;
    }
    let limit = config.concurrency as i64;
    let lease = config.timeout + Duration::from_secs(30);
    let claimed = seat.run(move |c| rules::claim(c, limit, lease)).await?;
    let full = claimed.len() as i64 == limit;
    let mut sending = JoinSet::new();
    for claim in claimed {
        let client = client.clone();
        let policy = policy(config);
        sending.spawn(async move {
            let outcome = send(&client, policy, &claim).await;
            (claim, outcome)
        });
    }
    while let Some(done) = sending.join_next().await {
        let (claim, outcome) = done.map_err(AppError::internal)?;
        let cfg = config.clone();
        seat.run(move |c| rules::record_attempt(c, &claim, &outcome, &cfg))
            .await?;
    }
    Ok(full)
}

/// Makes one attempt: POSTs the event's body with the Standard Webhooks headers, signed with
/// the receiver's secret (and its previous one during a rotation).
pub async fn send(
    client: &reqwest::Client,
    policy: TargetPolicy,
    claim: &ClaimedAttempt,
) -> AttemptOutcome {
    let attempted_at = chrono::Utc::now();
    let started = Instant::now();
    let failed = |error: String| AttemptOutcome {
        attempted_at,
        duration: started.elapsed(),
        status: None,
        body: None,
        error: Some(error),
    };
    // Names are checked by the resolver on connection; an address written as such is not
    // resolved, so it is checked here.
    if let Err(e) = target::parse_url(&claim.url, policy) {
        return failed(format!("receiver refused: {e}"));
    }
    let id = message_id(claim.event_id);
    let timestamp = attempted_at.timestamp();
    let mut secrets = vec![claim.secret.as_str()];
    secrets.extend(claim.previous_secret.as_deref());
    let response = client
        .post(&claim.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            signature_header(&secrets, &id, timestamp, &claim.body),
        )
        .body(claim.body.clone())
        .send()
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(e) => return failed(error_chain(&e)),
    };
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < BODY_PREFIX {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(BODY_PREFIX);
    AttemptOutcome {
        attempted_at,
        duration: started.elapsed(),
        status: Some(status),
        body: Some(String::from_utf8_lossy(&body).into_owned()),
        error: None,
    }
}
