//! `/jobs`: work that runs in the background (today large answers imports), its state,
//! progress and result, and its cancellation. Visible to whoever requested it and to
//! administrators (404 for anyone else).

use actix_web::body::SizedStream;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::imports::AnswersImportResponse;
use super::{ErrorResponses, Page, PageParams};
use crate::auth::principal::Writer;
use crate::db::json_text::JsonText;
use crate::db::models::jobs::Job;
use crate::error::{AppError, AppResult};
use crate::services::imports::Phase;
use crate::services::jobs::{self as svc, JobKind, JobState};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_jobs).service(get_job).service(cancel_job);
}

/// What every view of a job shows: its state, progress and request.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobFields {
    pub id: Uuid,
    pub kind: JobKind,
    pub state: JobState,
    /// What a running job is doing now.
    pub phase: Option<Phase>,
    /// `reading`: rows read so far; `checking`: rows checked of `rows_total`; at the end, the
    /// rows of the file.
    pub rows_done: i64,
    /// The data rows of the file, known once it has been read.
    pub rows_total: Option<i64>,
    /// The period of an import.
    pub period_id: Option<Uuid>,
    /// The account (or integration token) that requested it.
    pub requested_by: Uuid,
    /// The request's parameters (`dry_run`, `mode`, `decimal_separator`, `language`).
    #[schema(value_type = crate::services::jobs::AnswersImportOptions)]
    pub options: Value,
    /// The format read from the uploaded file's content, and its size in bytes.
    pub input_format: String,
    pub input_bytes: i64,
    /// A cancel was asked for: a running job stops at its next checkpoint.
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    /// The last time the worker running it renewed its lease.
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// [`JobFields`] of a stored job or job summary (the two models name their columns alike).
macro_rules! job_fields {
    ($j:expr) => {
        JobFields {
            kind: svc::parse_kind($j.id, &$j.kind)?,
            state: svc::parse_state($j.id, &$j.state)?,
            id: $j.id,
            phase: $j.phase.as_deref().and_then(Phase::parse),
            rows_done: $j.rows_done,
            rows_total: $j.rows_total,
            period_id: $j.period_id,
            requested_by: $j.requested_by,
            options: $j.options,
            input_format: $j.input_format,
            input_bytes: $j.input_bytes,
            cancel_requested: $j.cancel_requested,
            created_at: $j.created_at,
            started_at: $j.started_at,
            heartbeat_at: $j.heartbeat_at,
            finished_at: $j.finished_at,
        }
    };
}

/// A background job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobResponse {
    #[serde(flatten)]
    pub job: JobFields,
    // `result` and `problem` come last: `job_body` splices the stored texts in there
    /// `succeeded`: what the synchronous call answers (for an answers import, its 200 body).
    #[schema(value_type = Option<AnswersImportResponse>)]
    pub result: Option<Box<RawValue>>,
    /// `failed`: the problem the synchronous call would have answered (e.g.
    /// `IMPORT_REFUSED` with every conflict), or `JOB_INTERRUPTED` when the process running
    /// it stopped; `cancelled`: `JOB_CANCELLED`. Nothing of a failed or cancelled job is stored.
    #[schema(value_type = Option<crate::error::Problem>)]
    pub problem: Option<Box<RawValue>>,
}

/// A job as the list shows it: everything but its result and problem (a dry run's result
/// lists up to 10,000 rows); `GET /jobs/{id}` gives those.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    #[serde(flatten)]
    pub job: JobFields,
    /// `failed` or `cancelled`: the code of its problem (e.g. `IMPORT_REFUSED`,
    /// `JOB_INTERRUPTED`, `JOB_CANCELLED`).
    pub problem_code: Option<String>,
}

fn job_summary(j: crate::db::models::jobs::JobSummary) -> AppResult<JobSummary> {
    let problem_code = j.problem_code;
    Ok(JobSummary {
        job: job_fields!(j),
        problem_code,
    })
}

/// The job as the API shows it.
pub fn job_response(mut j: Job) -> AppResult<JobResponse> {
    // served as stored, not parsed into a tree first
    let raw = |t: Option<JsonText>| t.map(JsonText::into_raw).transpose();
    let result = raw(j.result.take()).map_err(AppError::internal)?;
    let problem = raw(j.problem.take()).map_err(AppError::internal)?;
    Ok(JobResponse {
        job: job_fields!(j),
        result,
        problem,
    })
}

/// `GET /jobs/{id}`'s body: the job's fields, then its result and problem as stored, sent as
/// pieces of one sized body. A dry run's result is megabytes: it is neither parsed nor copied
/// into the body (each poller would otherwise hold it twice more).
fn job_body(mut j: Job) -> AppResult<HttpResponse> {
    const UNSET: &[u8] = br#","result":null,"problem":null}"#;
    let result = j.result.take().map(JsonText::into_bytes);
    let problem = j.problem.take().map(JsonText::into_bytes);
    let mut head = serde_json::to_vec(&job_response(j)?).map_err(AppError::internal)?;
    if !head.ends_with(UNSET) {
        return Err(AppError::internal(
            "a job's result and problem are not its last fields",
        ));
    }
    head.truncate(head.len() - UNSET.len());
    head.extend_from_slice(br#","result":"#);
    let null = || Bytes::from_static(b"null");
    let pieces = [
        Bytes::from(head),
        result.map_or_else(null, Bytes::from),
        Bytes::from_static(br#","problem":"#),
        problem.map_or_else(null, Bytes::from),
        Bytes::from_static(b"}"),
    ];
    let len = pieces.iter().map(|p| p.len() as u64).sum();
    let stream = futures_util::stream::iter(pieces.map(Ok::<_, std::convert::Infallible>));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(SizedStream::new(len, stream)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only jobs in this state.
    #[param(inline)]
    pub state: Option<JobState>,
}

/// Lists the caller's jobs (administrators: every job), newest first.
///
/// Paged like every list; `state` keeps the jobs in one state (for example the `running` ones
/// an operator watches). Each item is the job as `GET /jobs/{id}` gives it, without its
/// `result` and `problem` (a dry run's result alone can be megabytes): the item has the
/// problem's code, and `GET /jobs/{id}` the whole of either.
#[utoipa::path(
    tag = "jobs",
    params(JobQuery, PageParams),
    responses((status = 200, description = "A page of jobs", body = Page<JobSummary>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/jobs")]
async fn list_jobs(
    state: web::Data<AppState>,
    Writer(who): Writer,
    q: web::Query<JobQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<JobSummary>>> {
    let page = paging.to_req()?;
    let filter = q.into_inner().state;
    let (jobs, total) =
        crate::db::with_conn(&state.pool, move |c| svc::list(c, &who, filter, page)).await?;
    let items = jobs
        .into_iter()
        .map(job_summary)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(web::Json(Page::new(items, page, total)))
}

/// A job: its state, progress and, once it has ended, its result or problem.
///
/// Progress is `phase`, `rows_done` and `rows_total`; `result` is the body the synchronous
/// call would have answered, `problem` the problem it would have answered. Poll it (every
/// second or so) until `state` is `succeeded`, `failed` or `cancelled`. Only the requester and
/// administrators see a job; anyone else gets 404.
#[utoipa::path(
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobResponse),
        (status = 404, description = "`NOT_FOUND`: no such job, or another account's", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/jobs/{id}")]
async fn get_job(
    state: web::Data<AppState>,
    Writer(who): Writer,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let job = crate::db::with_conn(&state.pool, move |c| svc::find(c, &who, id)).await?;
    job_body(job)
}

/// Cancels a job.
///
/// A queued job is cancelled at once (`state: cancelled`); a running one gets
/// `cancel_requested: true` and stops at its next checkpoint (within about a thousand rows or a
/// second), rolling back everything it did: poll it until it is `cancelled`. A job that ended
/// before its commit is cancelled; one that has committed is `succeeded` and stays so.
#[utoipa::path(
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Cancelled, or asked to stop", body = JobResponse),
        (status = 404, description = "`NOT_FOUND`: no such job, or another account's", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`JOB_FINISHED`: the job has already ended", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/jobs/{id}/cancel")]
async fn cancel_job(
    state: web::Data<AppState>,
    Writer(who): Writer,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let job = crate::db::with_conn(&state.pool, move |c| svc::cancel(c, &who, id)).await?;
    Ok(HttpResponse::Ok().json(job_response(job)?))
}
