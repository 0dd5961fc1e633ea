//! The job worker: a tokio task started by [`crate::startup::Application::build`] on every
//! replica with `JOB_WORKER` on (the rules are in `services::jobs`).
//!
//! Every poll it marks failed the running jobs whose lease ran out, then claims the oldest
//! queued job (`FOR UPDATE SKIP LOCKED`: replicas never claim the same one) and runs it on the
//! blocking pool, on a connection of its own, in one transaction. While it runs, the task renews
//! the job's lease every poll on a second connection, recording the progress the import reports
//! (so it is visible while the import's transaction is open) and reading `cancel_requested`;
//! a cancel, or a lease lost to a sweep, stops the import at its next checkpoint and rolls it
//! back. One job at a time per replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};

use diesel::{Connection, PgConnection};
use serde_json::Value;

use crate::config::JobConfig;
use crate::db::json_text::JsonText;
use crate::db::models::jobs::Job;
use crate::db::seat::Seat;
use crate::error::{AppError, AppResult, error_chain};
use crate::i18n::Lang;
use crate::services::imports::{Checkpoint, ImportOutcome, Phase};
use crate::services::jobs::{self as rules, JobKind};
use crate::services::scoring::Caches;

/// Starts the worker on the current tokio runtime; its jobs score with the server's `caches`.
pub fn spawn(
    database_url: String,
    config: JobConfig,
    caches: Arc<Caches>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(database_url, config, caches))
}

async fn run(database_url: String, config: JobConfig, caches: Arc<Caches>) {
    let worker = format!("{}/{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let mut seat = Seat::new(database_url);
    let mut failures = 0u32;
    loop {
        let busy = match step(&mut seat, &config, &caches, &worker).await {
            Ok(busy) => {
                failures = 0;
                busy
            }
            Err(e) => {
                failures += 1;
                if failures == 1 {
                    tracing::warn!("job worker: {}", error_chain(&e));
                }
                false
            }
        };
        if !busy {
            tokio::time::sleep(config.poll_interval).await;
        }
    }
}

/// What the running import shares with the task that renews its lease.
#[derive(Default)]
struct Progress {
    /// `Phase` as its index, + 1 (0 = not started).
    phase: AtomicU8,
    done: AtomicI64,
    /// -1 while unknown.
    total: AtomicI64,
    cancel: AtomicBool,
}

const PHASES: [Phase; 4] = [
    Phase::Reading,
    Phase::Checking,
    Phase::Writing,
    Phase::Rescoring,
];

impl Progress {
    fn snapshot(&self) -> (&'static str, i64, Option<i64>) {
        let phase = match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Reading,
            n => PHASES[usize::from(n - 1).min(PHASES.len() - 1)],
        };
        let total = self.total.load(Ordering::Relaxed);
        (
            phase.as_str(),
            self.done.load(Ordering::Relaxed),
            (total >= 0).then_some(total),
        )
    }
}

/// The import's checkpoints: progress to [`Progress`], stop on a cancel, and the job's end
/// written in the import's own transaction.
struct JobCheckpoint {
    progress: Arc<Progress>,
    job: Job,
    worker: String,
    lang: Lang,
}

impl Checkpoint for JobCheckpoint {
    fn progress(&mut self, phase: Phase, done: u64, total: Option<u64>) -> AppResult<()> {
        let index = PHASES.iter().position(|p| *p == phase).unwrap_or(0) as u8 + 1;
        self.progress.phase.store(index, Ordering::Relaxed);
        self.progress.done.store(done as i64, Ordering::Relaxed);
        self.progress
            .total
            .store(total.map_or(-1, |t| t as i64), Ordering::Relaxed);
        if self.progress.cancel.load(Ordering::Relaxed) {
            return Err(rules::cancelled());
        }
        Ok(())
    }

    fn before_commit(&mut self, c: &mut PgConnection, outcome: &ImportOutcome) -> AppResult<()> {
        // the job's row, locked until the commit: a cancel now waits, then finds it ended
        match Job::lock_running(c, self.job.id, &self.worker)? {
            Some(false) => {}
            Some(true) => {
                self.progress.cancel.store(true, Ordering::Relaxed);
                return Err(rules::cancelled());
            }
            // swept as interrupted meanwhile: it ends as the sweep said, with nothing stored
            None => return Err(rules::interrupted()),
        }
        let body = match crate::api::imports::shape(outcome, self.lang) {
            Ok(b) => JsonText::of(&b).map_err(AppError::internal)?,
            Err(e) => return Err(e),
        };
        let rows = outcome.rows_read as i64;
        Job::finish(
            c,
            self.job.id,
            &self.worker,
            rules::JobState::Succeeded.as_str(),
            (rows, Some(rows)),
            Some(&body),
            None,
        )?;
        Ok(())
    }
}

/// How a run ended, to be recorded (unless it was recorded in the import's transaction).
enum Ending {
    Recorded,
    /// The body the synchronous call answers, serialised (never a `Value` tree: a dry run's
    /// lists every row), and the rows read.
    Succeeded(JsonText, i64),
    Failed(JsonText),
    Cancelled(JsonText),
}

fn problem_value(e: &AppError, lang: Lang) -> AppResult<JsonText> {
    JsonText::of(&e.to_problem_in(lang)).map_err(AppError::internal)
}

/// Runs a claimed job to its end (on the blocking pool).
fn execute(
    conn: &mut PgConnection,
    caches: &Caches,
    job: Job,
    worker: String,
    progress: Arc<Progress>,
    chunk_rows: usize,
) -> AppResult<Ending> {
    let kind = rules::kind_of(&job)?;
    let lang = job
        .options
        .get("language")
        .and_then(Value::as_str)
        .map_or(Lang::En, |l| crate::i18n::negotiate(Some(l)));
    let outcome: AppResult<ImportOutcome> = match kind {
        JobKind::AnswersImport => rules::requester(conn, &job).and_then(|who| {
            let mut checkpoint = JobCheckpoint {
                progress: progress.clone(),
                job: job.clone(),
                worker,
                lang,
            };
            rules::run_answers_import(conn, caches, &job, &who, chunk_rows, &mut checkpoint)
        }),
    };
    match outcome {
        Ok(o) if o.committed => Ok(Ending::Recorded),
        Ok(o) => {
            let rows = o.rows_read as i64;
            match crate::api::imports::shape(&o, lang) {
                Ok(body) => Ok(Ending::Succeeded(
                    JsonText::of(&body).map_err(AppError::internal)?,
                    rows,
                )),
                Err(refused) => Ok(Ending::Failed(problem_value(&refused, lang)?)),
            }
        }
        Err(_) if progress.cancel.load(Ordering::Relaxed) => {
            Ok(Ending::Cancelled(problem_value(&rules::cancelled(), lang)?))
        }
        Err(AppError::Client(c)) => Ok(Ending::Failed(problem_value(&AppError::Client(c), lang)?)),
        Err(e) => {
            tracing::error!("job {}: {}", job.id, error_chain(&e));
            Ok(Ending::Failed(problem_value(
                &AppError::new(
                    actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    "The job failed on an internal error (logged); nothing of it was stored.",
                ),
                lang,
            )?))
        }
    }
}

/// One poll. Returns whether there may be more work right away.
async fn step(
    seat: &mut Seat,
    config: &JobConfig,
    caches: &Arc<Caches>,
    worker: &str,
) -> AppResult<bool> {
    seat.run(rules::sweep).await?;
    let lease = config.lease;
    let me = worker.to_string();
    let Some(job) = seat.run(move |c| Ok(Job::claim(c, &me, lease)?)).await? else {
        return Ok(false);
    };
    tracing::info!("job {} ({}): started", job.id, job.kind);
    let progress = Arc::new(Progress {
        total: AtomicI64::new(-1),
        ..Progress::default()
    });
    let url = seat.url().to_string();
    let (id, me) = (job.id, worker.to_string());
    let chunk_rows = config.import_chunk_rows;
    let running = {
        let progress = progress.clone();
        let me = me.clone();
        let caches = caches.clone();
        tokio::task::spawn_blocking(move || -> AppResult<Ending> {
            let mut conn = PgConnection::establish(&url)?;
            execute(&mut conn, &caches, job, me, progress, chunk_rows)
        })
    };
    tokio::pin!(running);
    let ended = loop {
        tokio::select! {
            ended = &mut running => break ended,
            _ = tokio::time::sleep(config.poll_interval) => {
                let snapshot = progress.snapshot();
                let me = me.clone();
                match seat.run(move |c| Ok(Job::heartbeat(c, id, &me, snapshot, lease)?)).await {
                    Ok(Some(false)) => {}
                    // a cancel, or the job is no longer ours (swept): stop at the next checkpoint
                    Ok(Some(true)) | Ok(None) => progress.cancel.store(true, Ordering::Relaxed),
                    Err(e) => tracing::warn!("job {id}: renewing the lease: {}", error_chain(&e)),
                }
            }
        }
    };
    let ending = match ended {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => {
            // the job's own connection failed: the lease runs out and a sweep marks it failed
            tracing::error!("job {id}: {}", error_chain(&e));
            Ending::Failed(problem_value(&rules::interrupted(), Lang::En)?)
        }
        Err(e) => {
            tracing::error!("job {id}: {e}");
            Ending::Failed(problem_value(&rules::interrupted(), Lang::En)?)
        }
    };
    let (done, total) = {
        let (_, d, t) = progress.snapshot();
        (d, t)
    };
    let me2 = me.clone();
    let state = seat
        .run(move |c| {
            let finished = match &ending {
                Ending::Recorded => return Ok("succeeded"),
                Ending::Succeeded(body, rows) => Job::finish(
                    c,
                    id,
                    &me2,
                    "succeeded",
                    (*rows, Some(*rows)),
                    Some(body),
                    None,
                )
                .map(|_| "succeeded"),
                Ending::Failed(p) => {
                    Job::finish(c, id, &me2, "failed", (done, total), None, Some(p))
                        .map(|_| "failed")
                }
                Ending::Cancelled(p) => {
                    Job::finish(c, id, &me2, "cancelled", (done, total), None, Some(p))
                        .map(|_| "cancelled")
                }
            };
            Ok(finished?)
        })
        .await?;
    tracing::info!("job {id}: {state}");
    // the import's rows, its result and the rescore are freed by now, spread over the
    // arenas of the threads that ran them: handed back, they leave the resident set
    crate::memory::release_free_memory();
    Ok(true)
}
