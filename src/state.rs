//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::db::DbPool;
use crate::telemetry::Metrics;

pub struct AppState {
    pub pool: DbPool,
    /// What the public routes read from: a read replica's pool, or the primary's.
    pub read: crate::db::ReadPool,
    /// One connection of its own for `GET /health/ready`, so that readiness still answers
    /// while the requests' pool is saturated.
    pub health_pool: DbPool,
    /// The thread readiness runs on, beside the blocking pool the requests share.
    pub health_lane: crate::db::Lane,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub metrics: Arc<Metrics>,
    /// Where evidence files live.
    pub store: Arc<dyn crate::storage::BlobStore>,
    /// The public routes' index of publications and their serialised bodies.
    pub public: Arc<crate::api::public_cache::PublicCache>,
    /// Compiled sets and groups' bases, sized by `Config::caches` (shared with the job worker).
    pub caches: Arc<crate::services::scoring::Caches>,
}
