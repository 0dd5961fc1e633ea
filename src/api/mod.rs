//! HTTP layer: thin handlers (extract → validate → call a service → map to a DTO), the route
//! table, and what every route shares (paging envelope, ETags, error responses).

pub mod assessments;
pub mod audit;
pub mod auth;
pub mod clarifications;
pub mod client;
pub mod directory_imports;
pub mod evidence;
pub mod exports;
pub mod fallback;
pub mod groups;
pub mod health;
pub mod idempotency;
pub mod imports;
pub mod indicator_sets;
pub mod input;
pub mod jobs;
pub mod office;
pub mod periods;
pub mod progress;
pub mod public;
pub mod public_cache;
pub mod public_snapshot;
pub mod tasks;
pub mod tokens;
pub mod units;
pub mod users;
pub mod webhooks;

use actix_web::HttpRequest;
use actix_web::http::header;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::models::PageReq;
use crate::domain::precondition::IfMatch;
use crate::error::{AppError, AppResult, FieldError, Problem};

/// Every versioned route, under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        // The router tries the routes in this order, each dynamic pattern with a regular
        // expression (and again for the metrics' route label): the public reads, the busiest
        // routes by far, come first, so that none of them is tried against all the others.
        utoipa_actix_web::scope::scope("/api/v1")
            .configure(public::configure)
            .configure(auth::configure)
            .configure(users::configure)
            .configure(units::configure)
            .configure(groups::configure)
            .configure(indicator_sets::configure)
            .configure(periods::configure)
            .configure(imports::configure)
            .configure(directory_imports::configure)
            .configure(jobs::configure)
            .configure(assessments::configure)
            .configure(office::configure)
            .configure(progress::configure)
            .configure(exports::configure)
            .configure(evidence::configure)
            .configure(clarifications::configure)
            .configure(audit::configure)
            .configure(tokens::configure)
            .configure(tasks::configure)
            .configure(webhooks::configure),
    );
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: i64,
    pub page_size: i64,
    /// Number of items matching the filters, over all pages.
    pub total: i64,
}

impl<T: ToSchema> Page<T> {
    pub fn new(items: Vec<T>, req: PageReq, total: i64) -> Self {
        Page {
            items,
            page: req.page,
            page_size: req.page_size,
            total,
        }
    }
}

/// Paging parameters shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1, at most 1,000,000).
    #[param(minimum = 1, maximum = 1_000_000, example = 1)]
    pub page: Option<i64>,
    /// Items per page (default 50, at most 500).
    #[param(minimum = 1, maximum = 500, example = 50)]
    pub page_size: Option<i64>,
}

impl PageParams {
    pub fn to_req(&self) -> AppResult<PageReq> {
        let mut errors = Vec::new();
        let page = self.page.unwrap_or(1);
        let page_size = self.page_size.unwrap_or(50);
        if !(1..=1_000_000).contains(&page) {
            errors.push(
                FieldError::new("page", "RANGE", "must be between 1 and 1000000")
                    .with_param("min", 1)
                    .with_param("max", 1_000_000),
            );
        }
        if !(1..=500).contains(&page_size) {
            errors.push(
                FieldError::new("page_size", "RANGE", "must be between 1 and 500")
                    .with_param("min", 1)
                    .with_param("max", 500),
            );
        }
        if errors.is_empty() {
            Ok(PageReq { page, page_size })
        } else {
            Err(AppError::validation(errors))
        }
    }
}

/// The strong ETag of a versioned resource.
pub fn etag(version: i32) -> String {
    format!("\"v{version}\"")
}

/// What `If-Match` asks (every field of it: a list may span several); the service checks it
/// once it has found the resource (a missing one is 404 first).
pub fn if_match(req: &HttpRequest) -> AppResult<IfMatch> {
    let mut values = req.headers().get_all(header::IF_MATCH).peekable();
    if values.peek().is_none() {
        return Ok(IfMatch::Any);
    }
    let mut text = Vec::new();
    for v in values {
        text.push(
            v.to_str().map_err(|_| {
                AppError::bad_request("INVALID_HEADER", "If-Match is not valid text.")
            })?,
        );
    }
    Ok(IfMatch::parse(&text.join(",")))
}

/// Error responses every route may give, documented once.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ErrorResponses {
    /// The request was refused: see `code` and `errors[]`.
    #[response(status = "4XX", content_type = "application/problem+json")]
    Client(Problem),
    /// The service or its database failed; 503 is retryable.
    #[response(status = "5XX", content_type = "application/problem+json")]
    Server(Problem),
}
