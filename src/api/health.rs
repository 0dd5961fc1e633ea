//! Liveness, readiness (outside `/api/v1`, no auth) and Prometheus metrics (a bearer token of
//! their own, `METRICS_TOKEN`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use diesel::RunQueryDsl;
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::ErrorResponses;
use sha2::{Digest, Sha256};

use crate::config::{Config, Mode};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::telemetry::PoolGauges;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready).service(metrics);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: the process answers.
///
/// Answers 200 as long as the process runs, without touching the database (see `/health/ready`
/// for readiness).
#[utoipa::path(tag = "operations", responses((status = 200, description = "Alive", body = HealthResponse)))]
#[get("/health/live")]
async fn live() -> web::Json<HealthResponse> {
    web::Json(HealthResponse {
        status: "ok".into(),
    })
}

/// Readiness: the database, the read replica if any, and the evidence store answer.
///
/// 503 `DATABASE_UNAVAILABLE` or `STORAGE_UNAVAILABLE` otherwise. With `DATABASE_READ_URL` the
/// public routes read from that replica, so a replica that does not answer makes the process
/// unready too. For an S3 store the check is one small listing request, given at most 2 s.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Ready", body = HealthResponse), ErrorResponses)
)]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> AppResult<web::Json<HealthResponse>> {
    // its own connection: readiness is about the database, and answers in a request storm
    // and its own thread: the requests' blocking threads may all be waiting for a connection
    let store = state.store.clone();
    state
        .health_lane
        .with_conn(&state.health_pool, move |c| {
            diesel::sql_query("SELECT 1").execute(c)?;
            store
                .check()
                .map_err(|e| crate::services::evidence::storage_error(e, 0))
        })
        .await?;
    if let Some((_, probe)) = state.read.replica_pools() {
        state
            .health_lane
            .with_conn(probe, |c| {
                diesel::sql_query("SELECT 1").execute(c)?;
                Ok(())
            })
            .await
            .map_err(|e| match e {
                AppError::Unavailable(e) => AppError::Unavailable(
                    format!("the read replica (DATABASE_READ_URL): {e}").into(),
                ),
                e => e,
            })?;
    }
    Ok(web::Json(HealthResponse {
        status: "ok".into(),
    }))
}

/// Prometheus metrics: request counts and latencies by route and status, pool state and use.
///
/// The pools' connections, and `db_checkouts_total` by pool (`primary`, and `read` with a read
/// replica): one checkout per request without a body, two per request with one.
///
/// Needs `Authorization: Bearer <METRICS_TOKEN>` (401 `METRICS_TOKEN_REQUIRED` otherwise).
/// Without a `METRICS_TOKEN`, metrics are open in demo mode and closed in production (403
/// `METRICS_DISABLED`). User tokens never open them.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "No or wrong metrics token (`METRICS_TOKEN_REQUIRED`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Production without `METRICS_TOKEN` (`METRICS_DISABLED`)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("metrics_token" = []))
)]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    authorise_scrape(&req, &state.config)?;
    let s = state.pool.state();
    let gauges = PoolGauges {
        connections: s.connections,
        idle: s.idle_connections,
        max: state.pool.max_size(),
    };
    let read = state.read.replica_pools().map(|(pool, _)| {
        let s = pool.state();
        PoolGauges {
            connections: s.connections,
            idle: s.idle_connections,
            max: pool.max_size(),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(
            state
                .metrics
                .render(&gauges, read.as_ref(), &state.caches.stats()),
        ))
}

/// Lets a scrape through with the configured bearer token (see [`metrics`]).
fn authorise_scrape(req: &HttpRequest, config: &Config) -> AppResult<()> {
    let Some(expected) = &config.metrics_token else {
        return match config.mode {
            Mode::Demo => Ok(()),
            Mode::Production => Err(AppError::forbidden(
                "METRICS_DISABLED",
                "Metrics are served only with a token: set METRICS_TOKEN and scrape with `Authorization: Bearer <token>`.",
            )),
        };
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    // Digests compared, so that the time taken says nothing about the token.
    let digest = |s: &str| Sha256::digest(s.as_bytes());
    if given.is_some_and(|g| digest(g) == digest(expected.expose_secret())) {
        return Ok(());
    }
    Err(AppError::new(
        StatusCode::UNAUTHORIZED,
        "METRICS_TOKEN_REQUIRED",
        "Metrics need `Authorization: Bearer <METRICS_TOKEN>`.",
    )
    .with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"metrics\""),
    ))
}
