//! Background jobs: work too large for one request (today answers imports), kept in
//! PostgreSQL so that any replica runs it and any replica answers for it.
//!
//! - A job is created `queued` with its input (the uploaded file, in chunks) in the request's
//!   transaction. A worker (`crate::jobs`) claims the oldest queued job with
//!   `FOR UPDATE SKIP LOCKED`, marks it `running` under a lease, and renews the lease while it
//!   works, recording progress (`phase`, `rows_done`, `rows_total`) on a connection of its own,
//!   so that progress is visible while the job's own transaction is open.
//! - The work is one transaction: a job ends `succeeded` in that same transaction (its result
//!   written just before the commit), or ends `failed` or `cancelled` with nothing stored.
//! - A queued job is cancelled at once; a running one stops at its next checkpoint (every
//!   [`crate::services::imports::CHECKPOINT_ROWS`] rows, each phase, and before the commit) and
//!   rolls back.
//! - A job whose lease runs out (its process died) is marked `failed` (`JOB_INTERRUPTED`) by
//!   the next sweep of any worker, and at start-up (under the start-up lock): never "running"
//!   for ever.
//! - Who sees a job: whoever requested it, and administrators; to anyone else it does not
//!   exist (404).
//!
//! Adding a kind: a [`JobKind`] variant, its options type, and its arm in `crate::jobs::execute`.

use std::io::{Seek, SeekFrom};

use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::principal::Caller;
use crate::db::models::PageReq;
use crate::db::models::jobs::{Job, JobSummary, NewJob};
use crate::db::models::tokens::IntegrationToken;
use crate::db::models::users::User;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::imports::layout::DecimalSeparator;
use crate::imports::source::Format;
use crate::services::imports::{self, AnswerImport, Checkpoint, ImportMode, ImportOutcome};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// `POST /periods/{id}/imports/answers` run as a job.
    AnswersImport,
}

impl JobKind {
    pub const ALL: [JobKind; 1] = [JobKind::AnswersImport];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::AnswersImport => "answers_import",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it (`phase`, `rows_done`, `rows_total` tell how far it is).
    Running,
    /// Done: `result` is what the synchronous call would have answered.
    Succeeded,
    /// Ended without storing anything: `problem` says why (the problem the synchronous call
    /// would have answered, or `JOB_INTERRUPTED`).
    Failed,
    /// Cancelled before it ended; nothing of it was stored.
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

/// The parameters of an answers import run as a job (the query of the request).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnswersImportOptions {
    pub dry_run: bool,
    pub mode: ImportMode,
    pub decimal_separator: DecimalSeparator,
    /// The language of the result's messages (the request's `Accept-Language`).
    pub language: String,
}

/// The kind of a stored job (500 for a kind this version does not know).
pub fn kind_of(job: &Job) -> AppResult<JobKind> {
    parse_kind(job.id, &job.kind)
}

/// A stored kind (500 for one this version does not know).
pub fn parse_kind(id: Uuid, kind: &str) -> AppResult<JobKind> {
    JobKind::parse(kind)
        .ok_or_else(|| AppError::internal(format!("job {id} has the unknown kind {kind}")))
}

/// A stored state (500 for one this version does not know).
pub fn parse_state(id: Uuid, state: &str) -> AppResult<JobState> {
    JobState::parse(state)
        .ok_or_else(|| AppError::internal(format!("job {id} has the unknown state {state}")))
}

/// Queues an answers import of `file` (already authorised with
/// [`imports::authorise_answers`]); its input is stored with it.
pub fn queue_answers_import(
    conn: &mut PgConnection,
    actor: &Principal,
    period_id: Uuid,
    options: &AnswersImportOptions,
    file: &mut std::fs::File,
    format: Format,
) -> AppResult<Job> {
    imports::authorise_answers(conn, actor, period_id)?;
    let bytes = file.seek(SeekFrom::End(0)).map_err(AppError::internal)?;
    file.seek(SeekFrom::Start(0)).map_err(AppError::internal)?;
    let format = serde_json::to_value(format).map_err(AppError::internal)?;
    let new = NewJob {
        id: Uuid::new_v4(),
        kind: JobKind::AnswersImport.as_str(),
        period_id: Some(period_id),
        requested_by: actor.actor_id(),
        requester_kind: match actor.caller {
            Caller::Integration { .. } => "token",
            Caller::Account(_) | Caller::System => "user",
        },
        options: serde_json::to_value(options).map_err(AppError::internal)?,
        input_format: format.as_str().unwrap_or_default(),
        input_bytes: i64::try_from(bytes).map_err(AppError::internal)?,
    };
    let mut reader = std::io::BufReader::new(file);
    Ok(conn.transaction(|c| Job::insert(c, &new, &mut reader))?)
}

/// Whether `actor` may see `job`: its requester, and administrators.
fn may_see(actor: &Principal, job: &Job) -> bool {
    actor.role == Role::Admin || job.requested_by == actor.actor_id()
}

/// The job, if `actor` may see it (404 otherwise, as for a job that does not exist).
pub fn find(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<Job> {
    match Job::find(conn, id)? {
        Some(job) if may_see(actor, &job) => Ok(job),
        _ => Err(AppError::not_found("job", id)),
    }
}

/// A page of the jobs `actor` may see (administrators: every job), newest first, as
/// summaries (`GET /jobs/{id}` gives one job's result or problem).
pub fn list(
    conn: &mut PgConnection,
    actor: &Principal,
    state: Option<JobState>,
    page: PageReq,
) -> AppResult<(Vec<JobSummary>, i64)> {
    let requester = (actor.role != Role::Admin).then_some(actor.actor_id());
    Ok(Job::list(
        conn,
        requester,
        state.map(JobState::as_str),
        page,
    )?)
}

/// Cancels a job: a queued one at once, a running one at its next checkpoint (the job is
/// returned with `cancel_requested`). 409 `JOB_FINISHED` for a job that has ended.
pub fn cancel(conn: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<Job> {
    conn.transaction(|c| {
        let job = find(c, actor, id)?;
        if let Some(j) = Job::cancel_queued(c, id)? {
            return Ok(j);
        }
        if let Some(j) = Job::request_cancel(c, id)? {
            return Ok(j);
        }
        let now = Job::find(c, id)?.unwrap_or(job);
        Err(AppError::conflict(
            "JOB_FINISHED",
            format!("The job has already ended ({}).", now.state),
        )
        .with_extension("state", &now.state))
    })
}

/// The problem of a job whose process stopped.
pub fn interrupted() -> AppError {
    AppError::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "JOB_INTERRUPTED",
        "The process running the job stopped (a restart or a crash) before it ended; nothing of \
         it was stored. Send the import again.",
    )
}

/// The problem of a cancelled job (and the error that stops a running one).
pub fn cancelled() -> AppError {
    AppError::conflict(
        "JOB_CANCELLED",
        "The job was cancelled before it ended; nothing of it was stored.",
    )
}

/// Marks failed every running job whose lease has run out; returns how many.
pub fn sweep(conn: &mut PgConnection) -> AppResult<usize> {
    let problem = serde_json::to_value(interrupted().to_problem()).map_err(AppError::internal)?;
    let ids = Job::fail_expired(conn, &problem)?;
    for id in &ids {
        tracing::warn!("job {id}: its worker stopped renewing its lease; marked failed");
    }
    Ok(ids.len())
}

/// The caller a job acts for, as it is now: the account must still be active (its role and
/// unit as they are now), the integration token neither revoked nor expired.
pub fn requester(conn: &mut PgConnection, job: &Job) -> AppResult<Principal> {
    let gone = || {
        AppError::forbidden(
            "FORBIDDEN_ROLE",
            "The account or token that requested the job can no longer act.",
        )
    };
    if job.requester_kind == "token" {
        let t = IntegrationToken::find_active_by_id(conn, job.requested_by)?.ok_or_else(gone)?;
        return Ok(Principal {
            caller: Caller::Integration { token: t.id },
            username: format!("integration:{}", t.name),
            role: Role::Integration,
            unit_id: None,
            period_scope: t.period_id,
        });
    }
    let user = User::find(conn, job.requested_by)?
        .filter(|u| u.active)
        .ok_or_else(gone)?;
    let role = Role::parse(&user.role).ok_or_else(gone)?;
    Ok(Principal {
        caller: Caller::Account(user.id),
        username: user.username,
        role,
        unit_id: user.unit_id,
        period_scope: None,
    })
}

/// Runs a claimed answers import: its stored input to a temporary file, then the import with
/// `checkpoint`.
pub fn run_answers_import(
    conn: &mut PgConnection,
    caches: &crate::services::scoring::Caches,
    job: &Job,
    actor: &Principal,
    chunk_rows: usize,
    checkpoint: &mut dyn Checkpoint,
) -> AppResult<ImportOutcome> {
    let options: AnswersImportOptions =
        serde_json::from_value(job.options.clone()).map_err(AppError::internal)?;
    let format: Format =
        serde_json::from_value(serde_json::Value::String(job.input_format.clone()))
            .map_err(AppError::internal)?;
    let period_id = job
        .period_id
        .ok_or_else(|| AppError::internal(format!("job {} has no period", job.id)))?;
    let file = tempfile::tempfile().map_err(AppError::internal)?;
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
    Job::copy_input(conn, job.id, &mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| AppError::internal(e.into_error()))?;
    let input = AnswerImport {
        period_id,
        dry_run: options.dry_run,
        mode: options.mode,
        decimal_separator: options.decimal_separator,
        chunk_rows,
    };
    imports::import_answers_with(conn, caches, actor, input, file, format, checkpoint)
}
