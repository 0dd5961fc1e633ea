//! Builds the application from a [`Config`]: pool, migrations, first-run seeds, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{Compress, DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use diesel::{PgConnection, RunQueryDsl};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::fallback::{self, RouteTable};
use crate::auth::jwt::JwtKeys;
use crate::config::{Config, EvidenceStoreConfig, Mode};
use crate::db::{self, DbPool};
use crate::error::{BoxError, error_chain};
use crate::services::scoring::Caches;
use crate::state::AppState;
use crate::storage::{BlobStore, LocalDiskStore, S3Store};
use crate::telemetry::{self, Metrics};

pub struct Application {
    port: u16,
    server: Server,
    pub pool: DbPool,
    /// The scoring caches the server shares with its job worker.
    pub caches: Arc<Caches>,
}

/// The key of the PostgreSQL advisory lock that serialises start-up work on one database:
/// replicas starting together migrate, repair scores and seed one after the other, never
/// side by side (two migration runs would both try the same `CREATE TABLE`).
pub const STARTUP_LOCK_KEY: i64 = 0x4454_495f_5354_4152; // "DTI_STAR"

/// Runs `f` holding the start-up advisory lock on `conn` (a session lock: released right after,
/// or by PostgreSQL if the connection dies first).
pub fn under_startup_lock<T>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(STARTUP_LOCK_KEY)
        .execute(conn)?;
    let out = f(conn);
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(STARTUP_LOCK_KEY)
        .execute(conn);
    let out = out?;
    unlocked?;
    Ok(out)
}

/// Waits for the database (up to `wait`), then, under the start-up lock, applies pending
/// migrations and scores any assessment that has no stored score (a layout migration rebuilds
/// scores from inputs, keeping what it compiles and reads in `caches`).
pub fn migrate_with_retry(
    pool: &DbPool,
    wait: Duration,
    caches: &Caches,
) -> Result<Vec<String>, BoxError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match pool.get() {
            Ok(mut conn) => {
                return under_startup_lock(&mut conn, |c| migrate_and_repair(c, caches));
            }
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!("database not reachable yet ({e}); retrying");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(Box::new(e)),
        }
    }
}

fn migrate_and_repair(conn: &mut PgConnection, caches: &Caches) -> Result<Vec<String>, BoxError> {
    let applied = db::run_migrations(conn)?;
    let rescored = diesel::Connection::transaction(conn, |c| {
        Ok::<_, crate::error::AppError>(
            crate::services::scoring::repair_missing(c, caches)?
                + crate::services::scoring::repair_layouts(c, caches)?,
        )
    })
    .map_err(|e| -> BoxError { error_chain(&e).into() })?;
    if rescored > 0 {
        tracing::info!("scored {rescored} assessments that had no stored score or another layout");
    }
    // jobs left running by a process that stopped (its lease ran out) end as failed
    let interrupted =
        crate::services::jobs::sweep(conn).map_err(|e| -> BoxError { error_chain(&e).into() })?;
    if interrupted > 0 {
        tracing::warn!("{interrupted} job(s) interrupted by a stop marked failed");
    }
    Ok(applied)
}

/// Folds recorded latencies into the histograms every [`telemetry::UPKEEP_EVERY`], so that
/// they do not pile up when nobody scrapes `/metrics`; ends with the application.
fn spawn_metrics_upkeep(metrics: std::sync::Weak<Metrics>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(telemetry::UPKEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match metrics.upgrade() {
                Some(m) => m.upkeep(),
                None => break,
            }
        }
    });
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, BoxError> {
        crate::storage::install_tls_crypto();
        config.check()?;
        let url = config
            .database_url
            .as_ref()
            .map(|u| secrecy::ExposeSecret::expose_secret(u).to_string())
            .ok_or("DATABASE_URL is not set (main starts a private cluster when it is missing)")?;
        let secret = match (&config.jwt_secret, config.mode) {
            (Some(s), _) => secrecy::ExposeSecret::expose_secret(s).to_string(),
            (None, Mode::Demo) => format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()),
            (None, Mode::Production) => {
                return Err("JWT_SECRET is required in production mode".into());
            }
        };
        let metrics = Arc::new(Metrics::default());
        let caches = Arc::new(Caches::new(&config.caches));
        let pool = db::build_counted_pool(
            &url,
            config.db_pool_size,
            Duration::from_millis(config.db_timeout_ms),
            metrics.pool_counters("primary"),
        );
        {
            let pool = pool.clone();
            let caches = caches.clone();
            let applied = tokio::task::spawn_blocking(move || {
                migrate_with_retry(&pool, Duration::from_secs(60), &caches)
            })
            .await
            .map_err(|e| -> BoxError { Box::new(e) })??;
            if !applied.is_empty() {
                tracing::info!("applied migrations: {}", applied.join(", "));
            }
        }
        if config.mode == Mode::Production {
            let pool = pool.clone();
            let configured = config.demo_password.clone();
            tokio::task::spawn_blocking(move || refuse_demo_passwords(&pool, &configured))
                .await
                .map_err(|e| -> BoxError { Box::new(e) })??;
        }
        if config.seed_on_empty {
            let pool = pool.clone();
            let cfg = config.clone();
            let caches = caches.clone();
            tokio::task::spawn_blocking(move || -> Result<(), BoxError> {
                let mut conn = pool.get()?;
                under_startup_lock(&mut conn, |conn| {
                    if crate::db::models::users::User::count(conn)? == 0 {
                        let started = std::time::Instant::now();
                        let report =
                            crate::services::seed::load(conn, &cfg.seeds_dir, &cfg.demo_password)
                                .map_err(|e| -> BoxError { error_chain(&e).into() })?;
                        tracing::info!(
                            "empty database: loaded seeds ({report}) in {} ms",
                            started.elapsed().as_millis()
                        );
                        // `config.check` refuses SEED_ON_EMPTY in production; the demo year
                        // acts as the demo accounts, so it is loaded in demo mode only all the
                        // same
                        if cfg.mode == Mode::Demo {
                            let started = std::time::Instant::now();
                            let year = crate::services::demo_year::load(conn, &caches)
                                .map_err(|e| -> BoxError { error_chain(&e).into() })?;
                            tracing::info!(
                                "demo year: {year} in {} ms",
                                started.elapsed().as_millis()
                            );
                        }
                    }
                    Ok(())
                })
            })
            .await
            .map_err(|e| -> BoxError { Box::new(e) })??;
        }

        if config.webhooks.worker {
            config.webhooks.check()?;
            crate::webhooks::worker::spawn(url.clone(), config.webhooks.clone())?;
        }
        if config.jobs.worker {
            config.jobs.check()?;
            crate::jobs::spawn(url.clone(), config.jobs.clone(), caches.clone());
        }
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        let port = listener.local_addr()?.port();
        let store = open_evidence_store(&config).await?;
        let read = match &config.read_database {
            Some(r) => db::ReadPool::replica(
                secrecy::ExposeSecret::expose_secret(&r.url),
                r.pool_size,
                Duration::from_millis(r.timeout_ms),
                metrics.pool_counters("read"),
            ),
            None => db::ReadPool::primary(pool.clone()),
        };
        let caches_kept = caches.clone();
        let state = web::Data::new(AppState {
            store,
            read,
            public: Arc::default(),
            caches,
            health_lane: db::Lane::new("readiness")?,
            pool: pool.clone(),
            health_pool: db::build_pool(
                &url,
                1,
                Duration::from_millis(config.db_timeout_ms.min(1000)),
            ),
            jwt: JwtKeys::new(
                secret.as_bytes(),
                &config.jwt_issuer,
                config.jwt_ttl_minutes,
            ),
            metrics,
            config: Arc::new(config.clone()),
        });
        spawn_metrics_upkeep(Arc::downgrade(&state.metrics));
        let metrics = state.metrics.clone();
        let routes = web::Data::new(RouteTable::from_openapi(&crate::openapi::generated()));
        let json_limit = config.max_json_bytes;
        let cors_origins = config.cors_origins.clone();
        let demo = config.mode == Mode::Demo;
        let mut server = HttpServer::new(move || {
            let cors = cors(&cors_origins, demo);
            App::new()
                .into_utoipa_app()
                .openapi(<crate::openapi::ApiDoc as utoipa::OpenApi>::openapi())
                .app_data(state.clone())
                .app_data(telemetry::WorkerMetrics::new(metrics.clone()))
                .app_data(routes.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(json_limit)
                        .error_handler(fallback::json_error),
                )
                .app_data(web::QueryConfig::default().error_handler(fallback::query_error))
                .app_data(web::PathConfig::default().error_handler(fallback::path_error))
                .configure(crate::openapi::routes)
                .openapi_service(|api| {
                    SwaggerUi::new("/swagger-ui/{_:.*}")
                        .external_url_unchecked(
                            "/api-docs/openapi.json",
                            crate::openapi_refine::refined(&api),
                        )
                        .config(
                            utoipa_swagger_ui::Config::default()
                                // the token survives a reload of the page
                                .persist_authorization(true)
                                // find an operation by tag
                                .filter(true),
                        )
                })
                .map(|app| {
                    app.service(web::redirect("/swagger-ui", "/swagger-ui/"))
                        .service(web::redirect("/", "/swagger-ui/"))
                        .default_service(web::to(fallback::not_found))
                })
                .into_app()
                .wrap(from_fn(crate::api::input::screen))
                .wrap(from_fn(fallback::head_as_get))
                .wrap(from_fn(crate::i18n::language_context))
                .wrap(cors)
                .wrap(
                    // Added where a response has none of its own: responses carry accounts,
                    // tokens and unit data, so no cache may keep them unless the route says so
                    // (the public routes do, with their ETags).
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
                )
                // gzip or brotli as the client accepts; evidence downloads say
                // `Content-Encoding: identity` and go out as stored
                .wrap(Compress::default())
                .wrap(from_fn(telemetry::request_context))
                // the request's span and id, around everything else
                .wrap(tracing_actix_web::TracingLogger::<telemetry::RequestSpan>::new())
        })
        .listen(listener)?
        .shutdown_timeout(10);
        let workers = if config.workers > 0 {
            config.workers
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        };
        server = server
            .workers(workers)
            .worker_max_blocking_threads(blocking_threads(
                config.db_pool_size + config.read_database.as_ref().map_or(0, |r| r.pool_size),
                workers,
            ));
        Ok(Application {
            port,
            server: server.run(),
            pool,
            caches: caches_kept,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Blocking threads per HTTP worker: what the database pools can serve (their connections, the
/// read replica's included, shared among the workers) and two for work without a connection
/// (file encoding, snapshot bodies). More threads would only wait for a connection, each with
/// its own stack and allocator arena: a burst of requests queues for a thread instead
/// (readiness has a thread of its own).
pub fn blocking_threads(db_pool_size: u32, workers: usize) -> usize {
    (db_pool_size as usize).div_ceil(workers.max(1)) + 2
}

/// Demo mode without a strong `JWT_SECRET`: the secret kept in `<data_dir>/jwt-secret`
/// (mode 0600), generated on first use, so that tokens survive restarts. Returns it and where
/// it is kept.
pub fn demo_jwt_secret(data_dir: &std::path::Path) -> Result<(String, std::path::PathBuf), String> {
    let path = data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if !crate::config::is_weak_secret(s.trim()) => {
            // older versions wrote it readable by everyone
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| format!("protecting {}: {e}", path.display()))?;
            }
            Ok((s.trim().to_string(), path))
        }
        _ => {
            let s = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            std::fs::create_dir_all(data_dir)
                .map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
            crate::db::embedded::write_private_file(&path, s.as_bytes())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok((s, path))
        }
    }
}

/// Production refuses to start while an active account can still log in with the published
/// demo password (or the configured `DEMO_PASSWORD`).
fn refuse_demo_passwords(pool: &DbPool, configured: &str) -> Result<(), BoxError> {
    let mut conn = pool.get()?;
    let mut passwords = vec![crate::config::DEMO_PASSWORD];
    if configured != crate::config::DEMO_PASSWORD {
        passwords.push(configured);
    }
    let found = crate::services::seed::accounts_with_demo_password(&mut conn, &passwords)
        .map_err(|e| -> BoxError { error_chain(&e).into() })?;
    if found.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = found.iter().take(8).map(String::as_str).collect();
    Err(format!(
        "refusing to start in production mode: {} active account(s) still have the demo password ({}{}). \
         Change their passwords (`dti-api set-password USERNAME`, or PATCH /api/v1/users/{{id}}) \
         or deactivate them, then start again",
        found.len(),
        shown.join(", "),
        if found.len() > shown.len() { ", …" } else { "" }
    )
    .into())
}

/// Opens the evidence store and checks once that it answers. A store that does not answer
/// yet is only logged: the service starts, evidence requests and readiness answer 503
/// `STORAGE_UNAVAILABLE` until it does.
async fn open_evidence_store(config: &Config) -> Result<Arc<dyn BlobStore>, BoxError> {
    let store: Arc<dyn BlobStore> = match &config.evidence_store {
        EvidenceStoreConfig::Local => Arc::new(LocalDiskStore::new(&config.evidence_dir)?),
        EvidenceStoreConfig::S3(s3) => Arc::new(S3Store::new(s3)?),
    };
    let probe = store.clone();
    match tokio::task::spawn_blocking(move || probe.check()).await? {
        Ok(()) => tracing::info!("evidence store: {}", store.describe()),
        Err(e) => tracing::warn!(
            "evidence store {} does not answer yet: {}",
            store.describe(),
            error_chain(&e)
        ),
    }
    Ok(store)
}

fn cors(origins: &[String], demo: bool) -> Cors {
    let base = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "if-match",
            "if-none-match",
            "idempotency-key",
            "accept-language",
            "x-request-id",
        ])
        .expose_headers([
            "etag",
            "location",
            "retry-after",
            "x-request-id",
            "content-language",
            "idempotent-replayed",
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") || (origins.is_empty() && demo) {
        base.allow_any_origin()
    } else {
        origins.iter().fold(base, |c, o| c.allowed_origin(o))
    }
}
