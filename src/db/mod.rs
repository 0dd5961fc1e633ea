//! Database access: the r2d2 pool, embedded migrations, and [`with_conn`], the one way
//! handlers reach the database (blocking Diesel work runs on tokio's blocking pool).

pub mod embedded;
pub mod models;
pub mod schema;
pub mod seat;
pub mod text_enum;

use std::time::Duration;

use diesel::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{AppError, AppResult};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<ConnectionManager<PgConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

/// Builds the pool without connecting: the service starts even while the database is still
/// coming up, answers 503 meanwhile, and recovers by itself.
pub fn build_pool(url: &str, size: u32, timeout: Duration) -> DbPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(timeout)
        .test_on_check_out(true)
        .idle_timeout(Some(Duration::from_secs(300)))
        .build_unchecked(ConnectionManager::<PgConnection>::new(url))
}

/// Applies pending migrations; returns the versions applied.
pub fn run_migrations(conn: &mut PgConnection) -> Result<Vec<String>, crate::error::BoxError> {
    let done = conn.run_pending_migrations(MIGRATIONS)?;
    Ok(done.into_iter().map(|v| v.to_string()).collect())
}

/// Reverts every migration (used by the migration round-trip test).
pub fn revert_all_migrations(conn: &mut PgConnection) -> Result<(), crate::error::BoxError> {
    conn.revert_all_migrations(MIGRATIONS)?;
    Ok(())
}

/// Runs `f` with a pooled connection on the blocking thread pool. Panics inside `f` are
/// re-raised; a pool timeout is a 503. The checkouts of one request share one wait
/// ([`crate::telemetry::pool_wait_left`]).
pub async fn with_conn<T, F>(pool: &DbPool, f: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let request_id = crate::telemetry::current_request_id();
    let wait = crate::telemetry::pool_wait_left(pool.connection_timeout());
    let joined = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let conn = pool.get_timeout(wait);
        let waited = started.elapsed();
        let result = match conn {
            Ok(mut conn) => crate::audit::with_request_id(request_id, || f(&mut conn)),
            Err(e) => Err(checkout_error(&pool, e)),
        };
        (waited, result)
    })
    .await;
    match joined {
        Ok((waited, result)) => {
            crate::telemetry::add_pool_wait(waited);
            result
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// What a pool wait that timed out means: 503 `SERVICE_BUSY` when the pool held all its
/// connections and every one was in use (saturation: the database answers), else 503
/// `DATABASE_UNAVAILABLE` (connections could not be opened). The pool's state decides, as r2d2
/// hands its last connection error to one waiter only.
pub fn checkout_error(pool: &DbPool, err: r2d2::Error) -> AppError {
    let state = pool.state();
    if state.connections >= pool.max_size() && state.idle_connections == 0 {
        crate::error::service_busy()
    } else {
        err.into()
    }
}

/// A thread of its own for one kind of database work (readiness), outside the bounded blocking
/// pool that request handlers share: it answers while every blocking thread waits for a
/// connection of the requests' pool. Jobs run one after the other.
pub struct Lane {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Lane {
    pub fn new(name: &str) -> std::io::Result<Lane> {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job();
                }
            })?;
        Ok(Lane { jobs })
    }

    /// Runs `f` with a connection of `pool` on this lane (see [`with_conn`]).
    pub async fn with_conn<T, F>(&self, pool: &DbPool, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = pool.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        let job = move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut conn = pool.get().map_err(|e| checkout_error(&pool, e))?;
                f(&mut conn)
            }));
            let _ = done.send(out);
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| AppError::internal("the lane's thread is gone"))?;
        match result.await {
            Ok(Ok(out)) => out,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(e) => Err(AppError::internal(e)),
        }
    }
}

/// Runs `f` in a transaction on a pooled connection (see [`with_conn`]).
pub async fn transaction<T, F>(pool: &DbPool, f: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    use diesel::Connection;
    with_conn(pool, move |conn| conn.transaction(|c| f(c))).await
}
