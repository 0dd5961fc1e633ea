//! Background jobs and their uploaded input (migration `jobs`).

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Interval, Jsonb, Nullable, Text, Uuid as SqlUuid};
use serde_json::Value;
use uuid::Uuid;

use super::PageReq;
use crate::db::json_text::JsonText;
use crate::db::schema::{job_inputs, jobs};

/// The size of one stored chunk of a job's input.
pub const INPUT_CHUNK: usize = 1024 * 1024;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub period_id: Option<Uuid>,
    pub requested_by: Uuid,
    pub requester_kind: String,
    pub state: String,
    pub phase: Option<String>,
    pub rows_done: i64,
    pub rows_total: Option<i64>,
    pub options: Value,
    pub input_format: String,
    pub input_bytes: i64,
    /// Kept as stored: served as it is, never parsed into a tree (see [`JsonText`]).
    pub result: Option<JsonText>,
    pub problem: Option<JsonText>,
    pub cancel_requested: bool,
    pub worker: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job as a list shows it: without its result and problem (a dry run's result lists up to
/// 10,000 rows, megabytes of JSON), only the problem's code.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobSummary {
    pub id: Uuid,
    pub kind: String,
    pub period_id: Option<Uuid>,
    pub requested_by: Uuid,
    pub state: String,
    pub phase: Option<String>,
    pub rows_done: i64,
    pub rows_total: Option<i64>,
    pub options: Value,
    pub input_format: String,
    pub input_bytes: i64,
    #[diesel(
        select_expression = diesel::dsl::sql::<Nullable<Text>>("jobs.problem ->> 'code'"),
        select_expression_type = diesel::expression::SqlLiteral<Nullable<Text>>
    )]
    pub problem_code: Option<String>,
    pub cancel_requested: bool,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub period_id: Option<Uuid>,
    pub requested_by: Uuid,
    pub requester_kind: &'a str,
    pub options: Value,
    pub input_format: &'a str,
    pub input_bytes: i64,
}

fn interval(d: std::time::Duration) -> diesel::pg::data_types::PgInterval {
    diesel::pg::data_types::PgInterval::from_microseconds(d.as_micros() as i64)
}

impl Job {
    /// Inserts the job and copies `input` into its chunks (call inside a transaction).
    pub fn insert(
        conn: &mut PgConnection,
        new: &NewJob<'_>,
        input: &mut dyn Read,
    ) -> QueryResult<Job> {
        let job = diesel::insert_into(jobs::table)
            .values(new)
            .returning(Job::as_returning())
            .get_result(conn)?;
        let mut buf = vec![0u8; INPUT_CHUNK];
        let mut seq = 0i32;
        loop {
            let mut filled = 0;
            while filled < buf.len() {
                let n = input
                    .read(&mut buf[filled..])
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            diesel::insert_into(job_inputs::table)
                .values((
                    job_inputs::job_id.eq(job.id),
                    job_inputs::seq.eq(seq),
                    job_inputs::chunk.eq(&buf[..filled]),
                ))
                .execute(conn)?;
            seq += 1;
            if filled < buf.len() {
                break;
            }
        }
        Ok(job)
    }

    /// Writes the job's input to `out`, one chunk at a time.
    pub fn copy_input(conn: &mut PgConnection, id: Uuid, out: &mut dyn Write) -> QueryResult<u64> {
        let mut seq = 0i32;
        let mut total = 0u64;
        loop {
            let chunk: Option<Vec<u8>> = job_inputs::table
                .find((id, seq))
                .select(job_inputs::chunk)
                .first(conn)
                .optional()?;
            let Some(chunk) = chunk else {
                return Ok(total);
            };
            out.write_all(&chunk)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
            total += chunk.len() as u64;
            seq += 1;
        }
    }

    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Job>> {
        jobs::table
            .find(id)
            .select(Job::as_select())
            .first(conn)
            .optional()
    }

    /// A page of jobs, newest first: those of `requester` (all when `None`), in `state` if
    /// given; with the total count. Summaries: results and problems stay in the table.
    pub fn list(
        conn: &mut PgConnection,
        requester: Option<Uuid>,
        state: Option<&str>,
        page: PageReq,
    ) -> QueryResult<(Vec<JobSummary>, i64)> {
        let filtered = || {
            let mut q = jobs::table.into_boxed();
            if let Some(r) = requester {
                q = q.filter(jobs::requested_by.eq(r));
            }
            if let Some(s) = state {
                q = q.filter(jobs::state.eq(s.to_string()));
            }
            q
        };
        let total = filtered().count().get_result(conn)?;
        let items = filtered()
            .order((jobs::created_at.desc(), jobs::id))
            .limit(page.page_size)
            .offset(page.offset())
            .select(JobSummary::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Cancels a queued job at once (its input deleted). `None` when it is not queued.
    pub fn cancel_queued(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Job>> {
        let job = diesel::update(jobs::table.find(id).filter(jobs::state.eq("queued")))
            .set((
                jobs::state.eq("cancelled"),
                jobs::cancel_requested.eq(true),
                jobs::finished_at.eq(diesel::dsl::now),
            ))
            .returning(Job::as_returning())
            .get_result(conn)
            .optional()?;
        if job.is_some() {
            Self::delete_input(conn, id)?;
        }
        Ok(job)
    }

    /// Asks a running job to stop at its next checkpoint. `None` when it is not running.
    pub fn request_cancel(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Job>> {
        diesel::update(jobs::table.find(id).filter(jobs::state.eq("running")))
            .set(jobs::cancel_requested.eq(true))
            .returning(Job::as_returning())
            .get_result(conn)
            .optional()
    }

    /// Claims the oldest queued job for `worker`, running under a lease of `lease`.
    pub fn claim(
        conn: &mut PgConnection,
        worker: &str,
        lease: std::time::Duration,
    ) -> QueryResult<Option<Job>> {
        diesel::sql_query(
            "UPDATE jobs SET state = 'running', worker = $1, started_at = now(),
                    heartbeat_at = now(), lease_until = now() + $2
              WHERE id = (SELECT id FROM jobs WHERE state = 'queued'
                           ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind::<Text, _>(worker)
        .bind::<Interval, _>(interval(lease))
        .get_result::<Job>(conn)
        .optional()
    }

    /// Renews the lease of a job `worker` runs and records its progress. Returns whether a
    /// cancel was requested, or `None` when the job is no longer this worker's running job.
    pub fn heartbeat(
        conn: &mut PgConnection,
        id: Uuid,
        worker: &str,
        progress: (&str, i64, Option<i64>),
        lease: std::time::Duration,
    ) -> QueryResult<Option<bool>> {
        #[derive(QueryableByName)]
        struct Flag {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            cancel_requested: bool,
        }
        let (phase, done, total) = progress;
        Ok(diesel::sql_query(
            "UPDATE jobs SET phase = $3, rows_done = $4, rows_total = $5, heartbeat_at = now(),
                    lease_until = now() + $6
              WHERE id = $1 AND state = 'running' AND worker = $2
             RETURNING cancel_requested",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(worker)
        .bind::<Text, _>(phase)
        .bind::<diesel::sql_types::Int8, _>(done)
        .bind::<Nullable<diesel::sql_types::Int8>, _>(total)
        .bind::<Interval, _>(interval(lease))
        .get_result::<Flag>(conn)
        .optional()?
        .map(|f| f.cancel_requested))
    }

    /// Locks the job's row if `worker` still runs it; returns whether a cancel was requested.
    pub fn lock_running(
        conn: &mut PgConnection,
        id: Uuid,
        worker: &str,
    ) -> QueryResult<Option<bool>> {
        jobs::table
            .find(id)
            .filter(jobs::state.eq("running"))
            .filter(jobs::worker.eq(worker))
            .select(jobs::cancel_requested)
            .for_update()
            .first(conn)
            .optional()
    }

    /// Ends a job `worker` runs: its state, result or problem and final counts; deletes its
    /// input. False when the job was no longer this worker's.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        conn: &mut PgConnection,
        id: Uuid,
        worker: &str,
        state: &str,
        rows: (i64, Option<i64>),
        result: Option<&JsonText>,
        problem: Option<&JsonText>,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            jobs::table
                .find(id)
                .filter(jobs::state.eq("running"))
                .filter(jobs::worker.eq(worker)),
        )
        .set((
            jobs::state.eq(state),
            jobs::phase.eq(None::<String>),
            jobs::rows_done.eq(rows.0),
            jobs::rows_total.eq(rows.1),
            jobs::result.eq(result),
            jobs::problem.eq(problem),
            jobs::lease_until.eq(None::<DateTime<Utc>>),
            jobs::finished_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
        if n > 0 {
            Self::delete_input(conn, id)?;
        }
        Ok(n > 0)
    }

    /// Marks failed, with `problem`, every running job whose lease has run out (its process
    /// stopped renewing it); deletes their inputs. Returns their ids.
    pub fn fail_expired(conn: &mut PgConnection, problem: &Value) -> QueryResult<Vec<Uuid>> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let ids: Vec<Uuid> = diesel::sql_query(
            "UPDATE jobs SET state = 'failed', phase = NULL, problem = $1, lease_until = NULL,
                    finished_at = now()
              WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < now()
                            FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind::<Nullable<Jsonb>, _>(Some(problem))
        .load::<Id>(conn)?
        .into_iter()
        .map(|r| r.id)
        .collect();
        if !ids.is_empty() {
            diesel::delete(job_inputs::table.filter(job_inputs::job_id.eq_any(&ids)))
                .execute(conn)?;
        }
        Ok(ids)
    }

    fn delete_input(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(job_inputs::table.filter(job_inputs::job_id.eq(id))).execute(conn)
    }
}
