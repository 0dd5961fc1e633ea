//! Request context (request id and span), access logging and Prometheus metrics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tracing_actix_web::RootSpanBuilder;

use crate::cache::CacheStats;

tokio::task_local! {
    /// The id of the request being served (see [`current_request_id`]).
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
    conn: std::cell::RefCell<Option<crate::db::Checkout>>,
}

/// The connection the request being served keeps, taken out for one call (`None`: it keeps
/// none yet, or keeps none at all, or is not a request).
pub fn take_kept_conn() -> Option<crate::db::Checkout> {
    KEPT_CONN
        .try_with(|k| k.conn.borrow_mut().take())
        .ok()
        .flatten()
}

/// Hands `conn` back after a call: kept for the rest of the request when it keeps one and holds
/// none meanwhile (two calls at once each had a connection), else back to the pool.
pub fn keep_conn(conn: crate::db::Checkout) {
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

/// The id of the request being served, if any: on the request's own task, and on a blocking
/// thread running work of the request (see [`in_request`]). Chosen by [`RequestSpan`], set
/// for the request by [`request_context`]; problems, audit events and log lines carry it.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

/// `f`, made to run as part of the request being served wherever it is called (the blocking
/// pool): with the request's id ([`current_request_id`]: the audit events it writes, the
/// problems it renders) and inside the request's span (the lines it logs).
pub fn in_request<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let id = current_request_id();
    let span = tracing::Span::current();
    move || {
        span.in_scope(|| match id {
            Some(id) => REQUEST_ID.sync_scope(id, f),
            None => f(),
        })
    }
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

/// The one place a request's id is chosen: the sane one the caller sent in `x-request-id`,
/// else the fresh UUID tracing-actix-web gave the request (else one of our own).
fn choose_request_id(req: &ServiceRequest) -> String {
    incoming_request_id(req).unwrap_or_else(|| {
        req.extensions()
            .get::<tracing_actix_web::RequestId>()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |id| id.to_string())
    })
}

/// A request's id, as chosen when its span opened.
#[derive(Clone)]
struct RequestId(String);

/// The span of each request (`request{request_id=…}`), opened by tracing-actix-web's
/// `TracingLogger` around everything else: it chooses the request's id
/// ([`choose_request_id`]) and leaves it in the request for [`request_context`].
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(req: &ServiceRequest) -> tracing::Span {
        let id = choose_request_id(req);
        let span = tracing::info_span!("request", request_id = %id);
        req.extensions_mut().insert(RequestId(id));
        span
    }

    fn on_request_end<B: MessageBody>(
        _: tracing::Span,
        _: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        // the access line is written by `request_context`, which knows the route and latency
    }
}

/// Middleware: makes the request's id (see [`RequestSpan`]) available to error rendering and
/// the audit log, echoes it in `x-request-id`, writes the access line, records metrics.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let RequestId(id) = req
        .extensions()
        .get::<RequestId>()
        .cloned()
        // not behind `TracingLogger<RequestSpan>`: chosen the same way, without a span
        .unwrap_or_else(|| RequestId(choose_request_id(&req)));
    let metrics = req.app_data::<Rc<WorkerMetrics>>().cloned();
    let method = req.method().clone();
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
    let status = res.status();
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        m.observe(method.clone(), route, status, elapsed);
    }
    // inside the request's span, which names the request id
    tracing::info!(
        "{} {} {} {:.1}ms",
        method,
        res.request().path(),
        status.as_u16(),
        elapsed * 1000.0
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    Ok(res)
}

type SeriesKey = (Method, String, StatusCode);

/// One worker's way to its application's [`Metrics`]: the request series it has counted
/// into, kept by method, route and status, so that a request is counted with a lookup in a
/// map of the worker's own (no lock, no allocation beyond the route pattern) and two atomic
/// additions. A worker serves on one thread; each builds its own (see `startup`).
pub struct WorkerMetrics {
    metrics: Arc<Metrics>,
    series: RefCell<HashMap<SeriesKey, (Counter, Histogram)>>,
}

impl WorkerMetrics {
    pub fn new(metrics: Arc<Metrics>) -> Rc<WorkerMetrics> {
        Rc::new(WorkerMetrics {
            metrics,
            series: RefCell::default(),
        })
    }

    /// Counts one request served and its latency.
    pub fn observe(&self, method: Method, route: String, status: StatusCode, seconds: f64) {
        let key = (method, route, status);
        let mut series = self.series.borrow_mut();
        let (requests, duration) = match series.get(&key) {
            Some(found) => found,
            None => {
                let found = self.metrics.request_series(&key);
                series.entry(key).or_insert(found)
            }
        };
        requests.increment(1);
        duration.record(seconds);
    }
}

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";
const CHECKOUTS: &str = "db_checkouts_total";
const STATEMENTS: &str = "db_statements_total";

/// How often the latencies recorded since are folded into the histograms when nobody scrapes
/// (the recorder keeps each sample until then).
pub const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Request counts and latency histograms by method, route pattern and status; connections
/// taken from the pools; the pools' and the scoring caches' state at each scrape.
///
/// A Prometheus recorder of the application's own rather than the process-wide one, so that
/// every application (the tests start many in one process) counts only its own requests.
/// Requests are counted through [`WorkerMetrics`].
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.into()), &BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        let describe = |name: &'static str, help: &'static str| {
            // one description per name, whatever the kind
            recorder.describe_counter(name.into(), None, help.into());
        };
        describe(
            REQUESTS,
            "HTTP requests served, by method, route and status.",
        );
        describe(DURATION, "Time to serve a request.");
        describe(
            "db_pool_connections",
            "Connections held by the database pool.",
        );
        describe(
            "db_pool_idle_connections",
            "Idle connections in the database pool.",
        );
        describe(
            "db_pool_max_connections",
            "Configured maximum size of the pool.",
        );
        describe(
            "db_read_pool_connections",
            "Connections held by the read pool (replica).",
        );
        describe(
            "db_read_pool_idle_connections",
            "Idle connections in the read pool.",
        );
        describe(
            "db_read_pool_max_connections",
            "Configured maximum size of the read pool.",
        );
        describe(
            CHECKOUTS,
            "Connections taken from a database pool (a request that keeps one for its whole \
             life counts once).",
        );
        describe(
            STATEMENTS,
            "Statements sent to the database by a pool's connections (prepared or plain, BEGIN \
             and COMMIT, the check on checkout).",
        );
        for (name, _, help, _) in CACHE_FAMILIES {
            describe(name, help);
        }
        let handle = recorder.handle();
        Metrics { recorder, handle }
    }

    /// The counters of the pool named `pool` (`primary`, `read`): handed to the pool (see
    /// `db::build_counted_pool`), shown as `db_checkouts_total{pool="…"}` and
    /// `db_statements_total{pool="…"}`.
    pub fn pool_counters(&self, pool: &'static str) -> crate::db::PoolCounters {
        let label = || vec![Label::from_static_parts("pool", pool)];
        crate::db::PoolCounters {
            checkouts: self.counter(CHECKOUTS, label()),
            statements: self.counter(STATEMENTS, label()),
        }
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    /// The request counter and latency histogram of one method, route and status.
    fn request_series(&self, key: &SeriesKey) -> (Counter, Histogram) {
        let (method, route, status) = key;
        let labels = vec![
            Label::new("method", method_label(method)),
            Label::new("route", route.clone()),
            Label::new("status", status_label(*status)),
        ];
        let requests = Key::from_parts(REQUESTS, labels.clone());
        let duration = Key::from_parts(DURATION, labels);
        (
            self.recorder.register_counter(&requests, &METADATA),
            self.recorder.register_histogram(&duration, &METADATA),
        )
    }

    /// Folds the latencies recorded since the last scrape into the histograms (see
    /// [`UPKEEP_EVERY`]).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Prometheus text exposition format (0.0.4); `read`: the read pool's state, when the
    /// public routes have one of their own; `caches`: each scoring cache by name.
    pub fn render(
        &self,
        pool: &PoolGauges,
        read: Option<&PoolGauges>,
        caches: &[(&str, CacheStats)],
    ) -> String {
        let mut gauges = vec![("db_pool", pool)];
        gauges.extend(read.map(|r| ("db_read_pool", r)));
        for (prefix, g) in gauges {
            for (suffix, value) in [
                ("connections", g.connections),
                ("idle_connections", g.idle),
                ("max_connections", g.max),
            ] {
                let name = format!("{prefix}_{suffix}");
                self.recorder
                    .register_gauge(&Key::from_name(name), &METADATA)
                    .set(f64::from(value));
            }
        }
        for (name, kind, _, value) in CACHE_FAMILIES {
            for (cache, stats) in caches {
                let labels = vec![Label::new("cache", cache.to_string())];
                match kind {
                    Kind::Counter => self.counter(name, labels).absolute(value(stats)),
                    Kind::Gauge => self.gauge(name, labels).set(value(stats) as f64),
                }
            }
        }
        self.handle.render()
    }
}

/// The method as a label: the standard ones without allocating.
fn method_label(method: &Method) -> SharedString {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    known_or_owned(&KNOWN, method.as_str())
}

/// The status as a label: the usual ones without allocating.
fn status_label(status: StatusCode) -> SharedString {
    const USUAL: [&str; 12] = [
        "200", "201", "204", "304", "400", "401", "403", "404", "409", "412", "422", "503",
    ];
    known_or_owned(&USUAL, status.as_str())
}

fn known_or_owned(known: &[&'static str], value: &str) -> SharedString {
    match known.iter().find(|k| **k == value) {
        Some(k) => SharedString::from(*k),
        None => SharedString::from(value.to_string()),
    }
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

enum Kind {
    Counter,
    Gauge,
}

type CacheFamily = (&'static str, Kind, &'static str, fn(&CacheStats) -> u64);

/// The scoring caches' counters and gauges, one series per cache (`cache="<name>"`).
const CACHE_FAMILIES: [CacheFamily; 5] = [
    (
        "scoring_cache_hits_total",
        Kind::Counter,
        "Lookups a scoring cache answered from memory.",
        |s| s.hits,
    ),
    (
        "scoring_cache_misses_total",
        Kind::Counter,
        "Lookups a scoring cache could not answer (read from the database instead).",
        |s| s.misses,
    ),
    (
        "scoring_cache_evictions_total",
        Kind::Counter,
        "Entries a full scoring cache forgot (the least recently used).",
        |s| s.evictions,
    ),
    (
        "scoring_cache_entries",
        Kind::Gauge,
        "Entries a scoring cache holds.",
        |s| s.entries as u64,
    ),
    (
        "scoring_cache_capacity",
        Kind::Gauge,
        "Entries a scoring cache may hold (SET_CACHE_ENTRIES, BASES_CACHE_GROUPS).",
        |s| s.capacity as u64,
    ),
];

pub struct PoolGauges {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::Instrument;

    use super::{REQUEST_ID, current_request_id, in_request};

    /// What the log lines written through it say.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // Work of a request on the blocking pool (as `db::with_conn` runs it) reads the request's
    // id and logs inside the request's span, so its lines name the request.
    #[tokio::test]
    async fn work_on_a_blocking_thread_has_the_request_id_and_logs_with_it() {
        let lines = Lines::default();
        let writer = lines.clone();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish(),
        );
        let _default = tracing::dispatcher::set_default(&dispatch);
        let span = tracing::info_span!("request", request_id = %"req-7");
        let request = async {
            let work = in_request(|| {
                tracing::warn!("written on the blocking pool");
                current_request_id()
            });
            // the process-wide subscriber of the server, here this test's
            let dispatch = dispatch.clone();
            tokio::task::spawn_blocking(move || tracing::dispatcher::with_default(&dispatch, work))
                .await
                .unwrap()
        };
        let seen = REQUEST_ID
            .scope("req-7".to_string(), request.instrument(span))
            .await;
        assert_eq!(seen.as_deref(), Some("req-7"));
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains("written on the blocking pool"))
            .unwrap_or_else(|| panic!("no line in {text:?}"));
        assert!(line.contains("request{request_id=req-7}"), "{line}");
        // outside a request: no id
        assert_eq!(
            tokio::task::spawn_blocking(in_request(current_request_id))
                .await
                .unwrap(),
            None
        );
    }
}
