//! `Idempotency-Key` for bulk and import calls (README: "API conventions"), after Stripe and the IETF
//! idempotency-key draft.
//!
//! - The first request with a key runs its write and stores its status and JSON body **in the
//!   same transaction** as the write: a refused or rolled-back write stores nothing, so the
//!   client may retry it (fixed) with the same key.
//! - A repeat with the same key and the same request (SHA-256 of method, path with query, and
//!   body) is answered from the stored response without running again; the same key with
//!   another request is 422 `IDEMPOTENCY_KEY_REUSED`.
//! - A duplicate sent while the first is still running waits for it (the first claims the key
//!   by inserting its row; the primary key makes the second insert wait for that transaction)
//!   and then replays its response, or runs itself if the first failed. After
//!   [`CLAIM_WAIT_MS`] it gives up with 409 `IDEMPOTENCY_KEY_IN_USE` (retryable). Never twice.
//! - Keys belong to the caller: the account, or the integration token (tokens have no account;
//!   see the migration `idempotency_owners`). Two callers' equal keys are unrelated.
//! - Keys are kept [`RETENTION_HOURS`] hours; expired ones are deleted by the next keyed call.
//! - A replay is authorised like a fresh request: [`run`] takes the operation's authorisation
//!   check (the same function the operation itself calls) and runs it before anything else,
//!   so an account that lost its rights since (moved to another unit, demoted) gets the 403 a
//!   fresh request would get, not the stored response. Rights only: a replay still answers
//!   what the first request did even when the state it acted on has moved on.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use diesel::{Connection, PgConnection};
use serde_json::Value;

pub use crate::db::models::idempotency::{KeyOwner, RETENTION_HOURS};

use crate::auth::Principal;
use crate::auth::principal::Caller;
use crate::db::models::idempotency::IdempotencyRecord;
use crate::error::{AppError, AppResult};

/// How long a duplicate waits for the first request with its key before 409.
pub const CLAIM_WAIT_MS: u32 = 5_000;

/// A request sent with an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    pub owner: KeyOwner,
    pub key: String,
    /// Hex SHA-256 of the request ([`request_hash`]).
    pub request_hash: String,
}

impl IdempotentRequest {
    pub fn new(actor: &Principal, key: String, request_hash: String) -> Self {
        let owner = match actor.caller {
            Caller::Integration { token } => KeyOwner::Token(token),
            Caller::Account(_) | Caller::System => KeyOwner::User(actor.actor_id()),
        };
        IdempotentRequest {
            owner,
            key,
            request_hash,
        }
    }
}

/// Hex SHA-256 of what makes two requests "the same": method, path with query, body.
pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(path_and_query.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// The response to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// Answered from the stored response of an earlier request with the same key.
    pub replayed: bool,
}

/// Runs `write` (which returns the status and body of its success) once per key.
///
/// `authorise` is the operation's rights check (who may do it to what, not whether the state
/// allows it now); it runs first, for a fresh request and a replay alike.
///
/// Without a key, `write` simply runs. With one, it runs inside a transaction that first claims
/// the key and finally stores the response; a stored response for the same request is returned
/// instead of running `write`.
pub fn run(
    conn: &mut PgConnection,
    request: Option<&IdempotentRequest>,
    authorise: impl FnOnce(&mut PgConnection) -> AppResult<()>,
    write: impl FnOnce(&mut PgConnection) -> AppResult<(u16, Value)>,
) -> AppResult<Reply> {
    authorise(conn)?;
    let Some(r) = request else {
        let (status, body) = write(conn)?;
        return Ok(Reply {
            status,
            body,
            replayed: false,
        });
    };
    // Outside the transaction, so that it never holds row locks for the length of the write.
    IdempotencyRecord::delete_expired(conn)?;
    conn.transaction(|c| {
        IdempotencyRecord::set_lock_timeout(c, Some(CLAIM_WAIT_MS))?;
        let claimed =
            IdempotencyRecord::claim(c, r.owner, &r.key, &r.request_hash).map_err(|e| match e {
                diesel::result::Error::DatabaseError(_, ref info)
                    if info.message().contains("lock timeout") =>
                {
                    in_use()
                }
                other => other.into(),
            })?;
        IdempotencyRecord::set_lock_timeout(c, None)?;
        if !claimed {
            let stored = IdempotencyRecord::find(c, r.owner, &r.key)?
                // deleted as expired between the two statements: let the client retry
                .ok_or_else(in_use)?;
            if stored.request_hash != r.request_hash {
                return Err(AppError::unprocessable(
                    "IDEMPOTENCY_KEY_REUSED",
                    "This Idempotency-Key was used for a different request (method, path or body); \
                     use a new key for a new request.",
                ));
            }
            return Ok(Reply {
                status: u16::try_from(stored.response_status).map_err(AppError::internal)?,
                body: stored.response_body,
                replayed: true,
            });
        }
        let (status, body) = write(c)?;
        IdempotencyRecord::complete(c, r.owner, &r.key, i32::from(status), &body)?;
        Ok(Reply {
            status,
            body,
            replayed: false,
        })
    })
}

fn in_use() -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        "IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}
