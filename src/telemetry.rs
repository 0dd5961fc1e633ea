//! Request context (request id), access logging and Prometheus metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::cache::CacheStats;

tokio::task_local! {
    static REQUEST_ID: String;
    /// How long the request has waited for pooled connections so far.
    static POOL_WAITED: std::cell::Cell<std::time::Duration>;
    /// The connection the request keeps between its database calls (see
    /// [`crate::db::with_conn`]).
    static KEPT_CONN: KeptConn;
}

/// A request's kept connection: one for a request without a body, from its first checkout to
/// its end; never one for a request with a body (it would be held while the body arrives).
struct KeptConn {
    keeps: bool,
    conn: std::cell::RefCell<Option<crate::db::DbConn>>,
}

/// The connection the request being served keeps, taken out for one call (`None`: it keeps
/// none yet, or keeps none at all, or is not a request).
pub fn take_kept_conn() -> Option<crate::db::DbConn> {
    KEPT_CONN
        .try_with(|k| k.conn.borrow_mut().take())
        .ok()
        .flatten()
}

/// Hands `conn` back after a call: kept for the rest of the request when it keeps one and holds
/// none meanwhile (two calls at once each had a connection), else back to the pool.
pub fn keep_conn(conn: crate::db::DbConn) {
    let _ = KEPT_CONN.try_with(move |k| {
        let mut slot = k.conn.borrow_mut();
        if k.keeps && slot.is_none() {
            *slot = Some(conn);
        }
    });
}

/// Whether the request comes with a body: a `Transfer-Encoding`, or a `Content-Length` that is
/// not 0 (HTTP/1.1: without either there is none).
fn has_body(req: &ServiceRequest) -> bool {
    use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    let headers = req.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}

/// What is left of one pool wait (`timeout`) for the request being served: every checkout of
/// a request together waits at most that long (never less than [`MIN_POOL_WAIT`] each), so a
/// saturated pool is answered after one wait, not one per connection the request takes.
pub fn pool_wait_left(timeout: std::time::Duration) -> std::time::Duration {
    POOL_WAITED
        .try_with(|w| timeout.saturating_sub(w.get()))
        .unwrap_or(timeout)
        .max(MIN_POOL_WAIT.min(timeout))
}

/// The shortest wait a checkout is given (a free connection may take a moment to open).
pub const MIN_POOL_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// Counts `waited` against the request's pool wait.
pub fn add_pool_wait(waited: std::time::Duration) {
    let _ = POOL_WAITED.try_with(|w| w.set(w.get() + waited));
}

/// The id of the request being served (set by [`request_context`]), if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| v.to_string())
}

/// Middleware: assigns a request id (or keeps a sane incoming one), echoes it in
/// `x-request-id`, makes it available to error rendering and the audit log, records metrics.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let started = Instant::now();
    let waited = std::cell::Cell::new(std::time::Duration::ZERO);
    let kept = KeptConn {
        keeps: !has_body(&req),
        conn: std::cell::RefCell::new(None),
    };
    // the kept connection goes back to the pool when the scope ends: before the response is
    // sent, and also when the client goes away and the request is dropped
    let mut res = REQUEST_ID
        .scope(
            id.clone(),
            POOL_WAITED.scope(waited, KEPT_CONN.scope(kept, next.call(req))),
        )
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    if let Some(m) = metrics {
        m.observe(&method, &route, status, elapsed);
    }
    log::info!(
        "{} {} {} {} {:.1}ms",
        id,
        method,
        res.request().path(),
        status,
        elapsed * 1000.0
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    Ok(res)
}

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counts and latency histograms by method, route pattern and status; connections
/// taken from the pools.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
    /// Checkouts of the primary pool (counted by the pool, see `db::build_counted_pool`).
    pub checkouts: Arc<AtomicU64>,
    /// Checkouts of the read pool, when the public routes read from a replica.
    pub read_checkouts: Arc<AtomicU64>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let s = map
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// Prometheus text exposition format (0.0.4); `read`: the read pool's state, when the
    /// public routes have one of their own; `caches`: each scoring cache by name.
    pub fn render(
        &self,
        pool: &PoolGauges,
        read: Option<&PoolGauges>,
        caches: &[(&str, CacheStats)],
    ) -> String {
        use std::fmt::Write;
        let map = self
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str(
            "# HELP http_requests_total HTTP requests served, by method, route and status.\n",
        );
        out.push_str("# TYPE http_requests_total counter\n");
        for ((m, r, st), s) in &map {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
                esc(m),
                esc(r),
                st,
                s.count
            );
        }
        out.push_str("# HELP http_request_duration_seconds Time to serve a request.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((m, r, st), s) in &map {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                esc(m),
                esc(r),
                st
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out.push_str("# HELP db_pool_connections Connections held by the database pool.\n");
        out.push_str("# TYPE db_pool_connections gauge\n");
        let _ = writeln!(out, "db_pool_connections {}", pool.connections);
        out.push_str("# HELP db_pool_idle_connections Idle connections in the database pool.\n");
        out.push_str("# TYPE db_pool_idle_connections gauge\n");
        let _ = writeln!(out, "db_pool_idle_connections {}", pool.idle);
        out.push_str("# HELP db_pool_max_connections Configured maximum size of the pool.\n");
        out.push_str("# TYPE db_pool_max_connections gauge\n");
        let _ = writeln!(out, "db_pool_max_connections {}", pool.max);
        if let Some(read) = read {
            out.push_str(
                "# HELP db_read_pool_connections Connections held by the read pool (replica).\n",
            );
            out.push_str("# TYPE db_read_pool_connections gauge\n");
            let _ = writeln!(out, "db_read_pool_connections {}", read.connections);
            out.push_str(
                "# HELP db_read_pool_idle_connections Idle connections in the read pool.\n",
            );
            out.push_str("# TYPE db_read_pool_idle_connections gauge\n");
            let _ = writeln!(out, "db_read_pool_idle_connections {}", read.idle);
            out.push_str(
                "# HELP db_read_pool_max_connections Configured maximum size of the read pool.\n",
            );
            out.push_str("# TYPE db_read_pool_max_connections gauge\n");
            let _ = writeln!(out, "db_read_pool_max_connections {}", read.max);
        }
        out.push_str(
            "# HELP db_checkouts_total Connections taken from a database pool (a request that \
             keeps one for its whole life counts once).\n",
        );
        out.push_str("# TYPE db_checkouts_total counter\n");
        let _ = writeln!(
            out,
            "db_checkouts_total{{pool=\"primary\"}} {}",
            self.checkouts.load(Ordering::Relaxed)
        );
        if read.is_some() {
            let _ = writeln!(
                out,
                "db_checkouts_total{{pool=\"read\"}} {}",
                self.read_checkouts.load(Ordering::Relaxed)
            );
        }
        render_caches(&mut out, caches);
        out
    }
}

/// The scoring caches' counters and gauges, one series per cache (`cache="<name>"`).
fn render_caches(out: &mut String, caches: &[(&str, CacheStats)]) {
    use std::fmt::Write;
    type Family = (
        &'static str,
        &'static str,
        &'static str,
        fn(&CacheStats) -> u64,
    );
    let families: [Family; 5] = [
        (
            "scoring_cache_hits_total",
            "counter",
            "Lookups a scoring cache answered from memory.",
            |s| s.hits,
        ),
        (
            "scoring_cache_misses_total",
            "counter",
            "Lookups a scoring cache could not answer (read from the database instead).",
            |s| s.misses,
        ),
        (
            "scoring_cache_evictions_total",
            "counter",
            "Entries a full scoring cache forgot (the least recently used).",
            |s| s.evictions,
        ),
        (
            "scoring_cache_entries",
            "gauge",
            "Entries a scoring cache holds.",
            |s| s.entries as u64,
        ),
        (
            "scoring_cache_capacity",
            "gauge",
            "Entries a scoring cache may hold (SET_CACHE_ENTRIES, BASES_CACHE_GROUPS).",
            |s| s.capacity as u64,
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (cache, stats) in caches {
            let _ = writeln!(out, "{name}{{cache=\"{cache}\"}} {}", value(stats));
        }
    }
}

pub struct PoolGauges {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}
