//! Liveness, readiness and Prometheus metrics (outside `/api/v1`, no auth).

use actix_web::{HttpResponse, get, web};
use diesel::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::ErrorResponses;
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
#[utoipa::path(tag = "operations", responses((status = 200, description = "Alive", body = HealthResponse)))]
#[get("/health/live")]
async fn live() -> web::Json<HealthResponse> {
    web::Json(HealthResponse {
        status: "ok".into(),
    })
}

/// Readiness: the database and the evidence store answer.
///
/// 503 `DATABASE_UNAVAILABLE` or `STORAGE_UNAVAILABLE` otherwise. For an S3 store the check is
/// one small listing request, given at most 2 s.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Ready", body = HealthResponse), ErrorResponses)
)]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> AppResult<web::Json<HealthResponse>> {
    crate::db::with_conn(&state.pool, |c| {
        diesel::sql_query("SELECT 1").execute(c)?;
        Ok(())
    })
    .await?;
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.check())
        .await
        .map_err(AppError::internal)?
        .map_err(|e| crate::services::evidence::storage_error(e, 0))?;
    Ok(web::Json(HealthResponse {
        status: "ok".into(),
    }))
}

/// Prometheus metrics: request counts and latencies by route and status, pool state.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let s = state.pool.state();
    let gauges = PoolGauges {
        connections: s.connections,
        idle: s.idle_connections,
        max: state.pool.max_size(),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&gauges))
}
