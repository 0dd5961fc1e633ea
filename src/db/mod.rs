//! Database access: the r2d2 pool, embedded migrations, and [`with_conn`], the one way
//! handlers reach the database (blocking Diesel work runs on tokio's blocking pool).

pub mod cached_sql;
pub mod embedded;
pub mod json_text;
pub mod models;
pub mod schema;
pub mod seat;
pub mod text_array;
pub mod text_enum;

use std::sync::Arc;
use std::time::Duration;

use diesel::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{AppError, AppResult};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

/// A connection pool with one permit per connection. A call of [`with_conn`] (and of
/// [`ReadPool::with_conn`]) that needs a connection takes a permit first, waiting for it on the
/// async runtime, and only then a blocking thread: a thread never waits for a connection that
/// the calls holding the permits hold (a request keeping its connection between two calls needs
/// a thread for the second; threads all waiting for connections would starve it). Work outside
/// those calls (jobs, tools, tests) checks out connections directly: [`DbPool::get`] and
/// [`DbPool::get_timeout`], which check a connection as every checkout here does; the rest of
/// r2d2's pool through `Deref`.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<ConnectionManager<PgConnection>>,
    permits: Arc<tokio::sync::Semaphore>,
    /// Counts every statement the connections start (`db_statements_total`), when counted.
    statements: Option<metrics::Counter>,
}

impl DbPool {
    fn new(
        pool: Pool<ConnectionManager<PgConnection>>,
        statements: Option<metrics::Counter>,
    ) -> DbPool {
        let permits = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        DbPool {
            pool,
            permits,
            statements,
        }
    }

    /// A connection, waiting at most the pool's connection timeout (see [`DbPool::get_timeout`]).
    pub fn get(&self) -> Result<DbConn, r2d2::Error> {
        self.get_timeout(self.pool.connection_timeout())
    }

    /// A connection that can serve, waiting at most `timeout`. A connection that finished a
    /// statement without an error less than [`TRUSTED_FOR`] ago is handed out as it is; any
    /// other (idle longer, its last statement failed, never checked out before) answers a
    /// `SELECT 1` first, and one that does not is discarded and the next one tried. Checking
    /// every checkout cost two of the fourteen round trips of an answer write (its
    /// authentication's checkout and its work's, milliseconds apart).
    pub fn get_timeout(&self, timeout: Duration) -> Result<DbConn, r2d2::Error> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        use diesel::r2d2::R2D2Connection;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let mut conn = self.pool.get_timeout(left)?;
            let trusted = match PooledConnection::extensions(&conn).get::<Arc<Health>>() {
                Some(health) => health.trusted(),
                // its first checkout: watched from now on, and checked
                None => {
                    let health = Arc::new(Health::default());
                    watch(&mut conn, health.clone(), self.statements.clone());
                    PooledConnection::extensions_mut(&mut conn).insert(health);
                    false
                }
            };
            if trusted || conn.ping().is_ok() {
                return Ok(conn);
            }
            // a connection in error goes back broken: the pool drops it
            AnsiTransactionManager::transaction_manager_status_mut(&mut *conn).set_in_error();
        }
    }
}

/// How long after a connection last finished a statement without an error its next checkout
/// trusts it without a `SELECT 1` (as HikariCP's bypass window does, there 500 ms). A server
/// that drops a connection within this time (a restart, `pg_terminate_backend`) fails the one
/// request that gets it next with `503 DATABASE_UNAVAILABLE`, and the checkout after that
/// checks it and opens another.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// When a connection last finished a statement: nanoseconds since [`CLOCK`] (at least 1) after
/// a success, 0 after an error or before any statement. Shared by the connection's
/// instrumentation, which sets it, and its pool extensions, which the checkout reads.
#[derive(Default)]
struct Health(std::sync::atomic::AtomicU64);

static CLOCK: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

fn clock_nanos() -> u64 {
    u64::try_from(CLOCK.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Health {
    fn finished(&self, ok: bool) {
        let at = if ok { clock_nanos().max(1) } else { 0 };
        self.0.store(at, std::sync::atomic::Ordering::Relaxed);
    }

    fn trusted(&self) -> bool {
        let at = self.0.load(std::sync::atomic::Ordering::Relaxed);
        at != 0 && clock_nanos().saturating_sub(at) < TRUSTED_FOR.as_nanos() as u64
    }
}

/// Sets the connection's instrumentation (Diesel's, on every statement it starts and
/// finishes): its outcome into `health` and, for a counted pool, a count of statements.
fn watch(conn: &mut PgConnection, health: Arc<Health>, statements: Option<metrics::Counter>) {
    use diesel::connection::InstrumentationEvent;
    diesel::Connection::set_instrumentation(
        conn,
        move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { .. } => {
                if let Some(counter) = &statements {
                    counter.increment(1);
                }
            }
            InstrumentationEvent::FinishQuery { error, .. } => health.finished(error.is_none()),
            _ => {}
        },
    );
}

impl std::ops::Deref for DbPool {
    type Target = Pool<ConnectionManager<PgConnection>>;

    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}

/// A connection [`with_conn`] checked out, with its permit: both go back when it is dropped.
pub struct Checkout {
    conn: DbConn,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Builds the pool without connecting: the service starts even while the database is still
/// coming up, answers 503 meanwhile, and recovers by itself.
pub fn build_pool(url: &str, size: u32, timeout: Duration) -> DbPool {
    DbPool::new(
        pool_builder(size, timeout).build_unchecked(ConnectionManager::<PgConnection>::new(url)),
        None,
    )
}

fn pool_builder(size: u32, timeout: Duration) -> r2d2::Builder<ConnectionManager<PgConnection>> {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(timeout)
        // checked on checkout by `DbPool::get_timeout`, only when not used just before
        .test_on_check_out(false)
        .idle_timeout(Some(Duration::from_secs(300)))
}

/// What a pool counts on `/metrics`: every checkout (`db_checkouts_total`: how many
/// connections the requests take, not only how many are open) and every statement its
/// connections send (`db_statements_total`: a prepared or plain statement, `BEGIN` and
/// `COMMIT`, the check on checkout), by pool.
#[derive(Clone)]
pub struct PoolCounters {
    pub checkouts: metrics::Counter,
    pub statements: metrics::Counter,
}

/// As [`build_pool`], its checkouts and statements counted in `counters`.
pub fn build_counted_pool(
    url: &str,
    size: u32,
    timeout: Duration,
    counters: PoolCounters,
) -> DbPool {
    DbPool::new(
        pool_builder(size, timeout)
            .event_handler(Box::new(CountCheckouts(counters.checkouts)))
            .build_unchecked(ConnectionManager::<PgConnection>::new(url)),
        Some(counters.statements),
    )
}

struct CountCheckouts(metrics::Counter);

impl std::fmt::Debug for CountCheckouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CountCheckouts")
    }
}

impl r2d2::HandleEvent for CountCheckouts {
    fn handle_checkout(&self, _: r2d2::event::CheckoutEvent) {
        self.0.increment(1);
    }
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

/// Runs `f` with a connection of the requests' pool (the primary's) on the blocking thread
/// pool. Panics inside `f` are re-raised; a pool timeout is a 503. The checkouts of one request
/// share one wait ([`crate::telemetry::pool_wait_left`]).
///
/// A request without a body keeps the connection of its first checkout (its authentication's)
/// until it ends, and every later call here reuses it: one pooled connection per request, so
/// that a saturated pool is answered after one wait and a request never waits for a second
/// connection while holding one. A request with a body keeps none: it would be held while a
/// slow client trickles the body in, and a few such clients would pin the whole pool; its
/// checkouts (authentication, then the work once the body is read) come one after the other.
/// A transaction ([`transaction`]) begins and ends within one call, never across two.
///
/// A call without a connection waits for one of the pool's permits ([`DbPool`]) before it
/// takes a blocking thread, so the threads never all wait for connections that requests
/// waiting for a thread hold.
pub async fn with_conn<T, F>(pool: &DbPool, f: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    // the kept connection if there is one; the connection is offered back to the request
    run(pool, crate::telemetry::take_kept_conn(), true, f).await
}

/// Gives the request's kept connection back to the pool now: for a handler done with the
/// database that has slow work left (encoding a large file), so as not to hold a connection
/// idle meanwhile. A later [`with_conn`] checks one out again.
pub fn release_kept_conn() {
    drop(crate::telemetry::take_kept_conn());
}

/// What a call holds when it takes a blocking thread.
enum Held {
    /// The request's kept connection.
    Connection(Box<Checkout>),
    /// A permit for a connection still to be checked out.
    Permit(tokio::sync::OwnedSemaphorePermit),
}

/// Runs `f` on a connection of `pool` (or the request's `kept` one) on the blocking thread
/// pool; `offer_back`: the connection is offered to the request to keep afterwards.
async fn run<T, F>(pool: &DbPool, kept: Option<Checkout>, offer_back: bool, f: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    use diesel::r2d2::R2D2Connection;
    let pool = pool.clone();
    let wait = crate::telemetry::pool_wait_left(pool.connection_timeout());
    // without a connection: a permit first, waited for here, not on a thread
    let (held, wait) = match kept {
        Some(conn) => (Held::Connection(Box::new(conn)), wait),
        None => {
            let started = std::time::Instant::now();
            let permit = tokio::time::timeout(wait, pool.permits.clone().acquire_owned()).await;
            let waited = started.elapsed();
            crate::telemetry::add_pool_wait(waited);
            match permit {
                Ok(Ok(permit)) => (Held::Permit(permit), wait.saturating_sub(waited)),
                _ => return Err(no_permit(&pool)),
            }
        }
    };
    // the blocking thread works as part of the request: its id (audit events, problems) and
    // its span (log lines)
    let joined = tokio::task::spawn_blocking(crate::telemetry::in_request(move || {
        let started = std::time::Instant::now();
        let conn = match held {
            Held::Connection(conn) => Ok(*conn),
            Held::Permit(permit) => pool.get_timeout(wait).map(|conn| Checkout {
                conn,
                _permit: permit,
            }),
        };
        let waited = started.elapsed();
        match conn {
            Ok(mut held) => {
                let result = f(&mut held.conn);
                // a connection left broken (a failed rollback, a lost server) goes back to
                // the pool, which discards it, rather than serving the request further
                let sound = (!held.conn.is_broken()).then_some(held);
                (waited, result, sound)
            }
            Err(e) => (waited, Err(checkout_error(&pool, e)), None),
        }
    }))
    .await;
    match joined {
        Ok((waited, result, conn)) => {
            crate::telemetry::add_pool_wait(waited);
            if let Some(conn) = conn.filter(|_| offer_back) {
                crate::telemetry::keep_conn(conn);
            }
            result
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// The pool the public routes read from: a read replica's (`DATABASE_READ_URL`) or, without
/// one, the primary's. A type of its own so that its connections and a request's kept
/// connection (always the primary's) never stand in for each other.
#[derive(Clone)]
pub struct ReadPool {
    pool: DbPool,
    /// The replica's one connection for readiness (none without a replica).
    probe: Option<DbPool>,
}

impl ReadPool {
    /// No replica: the public routes read from the primary pool.
    pub fn primary(pool: DbPool) -> ReadPool {
        ReadPool { pool, probe: None }
    }

    /// A pool of its own on the replica at `url`, counted in `counters`, and a one-connection
    /// pool for readiness (waiting at most a second, as the primary's does).
    pub fn replica(url: &str, size: u32, timeout: Duration, counters: PoolCounters) -> ReadPool {
        ReadPool {
            pool: build_counted_pool(url, size, timeout, counters),
            probe: Some(build_pool(url, 1, timeout.min(Duration::from_secs(1)))),
        }
    }

    /// Runs `f` with a connection of this pool (see [`with_conn`]; never the request's kept
    /// connection: the public routes take one connection, of this pool, per read).
    pub async fn with_conn<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        // a checkout of its own, returned at once
        run(&self.pool, None, false, f).await
    }

    /// The replica's pool and its readiness pool; `None` without a replica.
    pub fn replica_pools(&self) -> Option<(&DbPool, &DbPool)> {
        self.probe.as_ref().map(|probe| (&self.pool, probe))
    }
}

/// What a wait for a permit that timed out means: as [`checkout_error`] (every permit is held
/// by a call that has, or is opening, a connection).
fn no_permit(pool: &DbPool) -> AppError {
    if saturated(pool) {
        crate::error::service_busy()
    } else {
        AppError::Unavailable("no database connection could be opened within the wait".into())
    }
}

/// What a pool wait that timed out means: 503 `SERVICE_BUSY` when the pool held all its
/// connections and every one was in use (saturation: the database answers), else 503
/// `DATABASE_UNAVAILABLE` (connections could not be opened). The pool's state decides, as r2d2
/// hands its last connection error to one waiter only.
pub fn checkout_error(pool: &DbPool, err: r2d2::Error) -> AppError {
    if saturated(pool) {
        crate::error::service_busy()
    } else {
        err.into()
    }
}

/// Whether the pool holds all its connections and every one is in use: the database answers,
/// the service is busy.
fn saturated(pool: &DbPool) -> bool {
    let state = pool.state();
    state.connections >= pool.max_size() && state.idle_connections == 0
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

/// The statement that opens a [`planned_once`] transaction: one round trip, as a plain `BEGIN`.
const BEGIN_PLANNED_ONCE: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

/// Runs `f` in a transaction whose prepared statements are planned once per connection (their
/// generic plan), not again on every execution. By default PostgreSQL plans a prepared
/// statement afresh for its parameters (a custom plan) for its first five executions, and
/// after that whenever it estimates the custom plan cheaper; for the group-wide statements of
/// an answer write it does so every time. At 3,400 units that planning was 1.28 ms of server
/// time per ratio write, 0.56 ms with this (the `bind` times of the server's statement log,
/// 301 writes each; the aggregate of the other units' best alone went from 0.80 to 0.11 ms).
/// Their execution times stayed as they were (same log).
///
/// Inside a transaction already open, `f` runs in a savepoint under the outer transaction's
/// setting. The setting ends with the transaction (`SET LOCAL`): the connection's other
/// statements keep PostgreSQL's own choice.
pub fn planned_once<T, E, F>(conn: &mut PgConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let depth = AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(conn, BEGIN_PLANNED_ONCE)?;
    // as `Connection::transaction` ends one
    match f(conn) {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => match AnsiTransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}
