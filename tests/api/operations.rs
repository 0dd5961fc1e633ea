use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    let live = json_ok(app.get_public("/health/live").await, 200).await;
    assert_eq!(live["status"], "ok");
    let ready = json_ok(app.get_public("/health/ready").await, 200).await;
    assert_eq!(ready["status"], "ok");
}

pub const METRICS_TOKEN: &str = "q7Vd2-LmX9tR4_bN8wKz3Jp6Hs1Yc5Fg";

/// A spawned app whose `/metrics` needs [`METRICS_TOKEN`].
async fn spawn_app_with_metrics_token() -> TestApp {
    spawn_app_with_metrics_token_and(|_| {}).await
}

/// As [`spawn_app_with_metrics_token`], with `edit` applied to the configuration.
pub async fn spawn_app_with_metrics_token_and(
    edit: impl FnOnce(&mut dti_api::config::Config),
) -> TestApp {
    spawn_app_and_pool_with_metrics_token_and(edit).await.0
}

/// As [`spawn_app_with_metrics_token_and`], with the app's own connection pool.
async fn spawn_app_and_pool_with_metrics_token_and(
    edit: impl FnOnce(&mut dti_api::config::Config),
) -> (TestApp, dti_api::db::DbPool) {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.metrics_token = Some(METRICS_TOKEN.into());
    edit(&mut config);
    spawn_app_and_pool(config).await
}

/// Tokens and the assessment that tests of an answer write need: `app` seeded, a period open for
/// self-assessment, XA-BAC-HA's assessment and its editor.
struct OpenAssessment {
    admin: String,
    editor: String,
    a: String,
}

async fn open_assessment(app: &TestApp) -> OpenAssessment {
    use dti_api::domain::Role;
    app.load_seeds();
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = crate::fixtures::open_period(app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = crate::fixtures::assessment_of(app, &editor, &period, "XA-BAC-HA").await;
    OpenAssessment { admin, editor, a }
}

/// `<name>{<label>="<value>"}` as `/metrics` shows it now (one counter or gauge).
pub async fn metric(app: &TestApp, name: &str, label: &str, value: &str) -> u64 {
    let text = app
        .get("/metrics", METRICS_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    let prefix = format!("{name}{{{label}=\"{value}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix}in {text}"))
        .parse()
        .unwrap()
}

/// `<name>{cache="<cache>"}`: a scoring cache's counter or gauge.
pub async fn cache_metric(app: &TestApp, name: &str, cache: &str) -> u64 {
    metric(app, name, "cache", cache).await
}

// The compiled set of a period is kept between requests: scored reads and writes after the
// first find it in memory, and `/metrics` says so.
#[tokio::test]
async fn scored_requests_hit_the_set_cache_and_metrics_show_it() {
    let app = spawn_app_with_metrics_token().await;
    assert_eq!(
        cache_metric(&app, "scoring_cache_capacity", "sets").await,
        64
    );
    assert_eq!(
        cache_metric(&app, "scoring_cache_capacity", "bases").await,
        1024
    );
    assert_eq!(
        cache_metric(&app, "scoring_cache_hits_total", "sets").await,
        0
    );
    let OpenAssessment { editor, a, .. } = open_assessment(&app).await;
    let hits = cache_metric(&app, "scoring_cache_hits_total", "sets").await;
    for n in 1..=3 {
        let w = json_ok(
            crate::fixtures::put(
                &app,
                &editor,
                &a,
                "1.2",
                serde_json::json!({"inputs": {"numerator": n, "denominator": 4}}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(w["score"]["self_points"], (5 * n).to_string());
        json_ok(
            app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
            200,
        )
        .await;
    }
    let after = cache_metric(&app, "scoring_cache_hits_total", "sets").await;
    assert!(after >= hits + 6, "set cache hits {hits} → {after}");
    assert!(cache_metric(&app, "scoring_cache_entries", "sets").await >= 1);
    assert_eq!(
        cache_metric(&app, "scoring_cache_evictions_total", "sets").await,
        0
    );
}

// Who may write an assessment is checked before the body is read. A unit account's first
// write to an assessment reads it for that (three checkouts: that check, the authentication,
// the write); later writes find whose it is in memory (two), and an administrator, whose role
// may write any assessment, never needs it (two). Another unit's write is refused before its
// body is read, from memory too.
#[tokio::test]
async fn an_answer_write_checks_rights_before_the_body_from_memory_after_the_first() {
    use dti_api::domain::Role;
    let app = spawn_app_with_metrics_token().await;
    let OpenAssessment { admin, editor, a } = open_assessment(&app).await;
    let write = |token: String, n: i32| {
        let (app, a) = (&app, a.clone());
        async move {
            let before = checkouts(app, "primary").await;
            let resp = crate::fixtures::put(
                app,
                &token,
                &a,
                "1.2",
                serde_json::json!({"inputs": {"numerator": n, "denominator": 4}}),
            )
            .await;
            let status = resp.status().as_u16();
            (status, checkouts(app, "primary").await - before)
        }
    };
    assert_eq!(
        write(editor.clone(), 1).await,
        (200, 3),
        "the unit's first write"
    );
    assert_eq!(write(editor.clone(), 2).await, (200, 2), "its second");
    assert_eq!(
        write(admin.clone(), 3).await,
        (200, 2),
        "an administrator's"
    );
    let other = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    assert_eq!(
        write(other, 1).await,
        (403, 1),
        "another unit's: refused after the authentication only"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_the_pool() {
    let app = spawn_app_with_metrics_token().await;
    for _ in 0..3 {
        app.get_public("/health/live").await;
    }
    app.get_public("/api/v1/me").await;
    let text = app
        .get("/metrics", METRICS_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 3"
        ),
        "{text}"
    );
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"401\"} 1"),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/health/live\",status=\"200\",le=\"+Inf\"} 3"));
    assert!(text.contains("db_pool_max_connections 4"));
    // what dashboards read: a histogram (not a summary) with the same buckets, and the kinds
    let live = "method=\"GET\",route=\"/health/live\",status=\"200\"";
    for le in [
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
    ] {
        let bucket = format!("http_request_duration_seconds_bucket{{{live},le=\"{le}\"}} ");
        assert!(text.contains(&bucket), "no {bucket}in {text}");
    }
    assert!(text.contains(&format!("http_request_duration_seconds_count{{{live}}} 3")));
    assert!(text.contains(&format!("http_request_duration_seconds_sum{{{live}}} ")));
    for (name, kind) in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
        ("db_pool_connections", "gauge"),
        ("db_pool_idle_connections", "gauge"),
        ("db_pool_max_connections", "gauge"),
        ("db_checkouts_total", "counter"),
        ("db_statements_total", "counter"),
        ("scoring_cache_hits_total", "counter"),
        ("scoring_cache_capacity", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name}: {text}"
        );
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
    }
    // no read pool without a replica
    assert!(!text.contains("db_read_pool"), "{text}");
    assert!(!text.contains("pool=\"read\""), "{text}");
}

#[tokio::test]
async fn metrics_need_the_metrics_token_and_no_other() {
    let app = spawn_app_with_metrics_token().await;
    let resp = app.get_public("/metrics").await;
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"metrics\""
    );
    assert_problem(resp, 401, "METRICS_TOKEN_REQUIRED").await;
    assert_problem(
        app.get("/metrics", "metrics-token-0123456789-abcdefghijklmnoq")
            .await,
        401,
        "METRICS_TOKEN_REQUIRED",
    )
    .await;
    // an administrator's token is not a metrics token
    let admin = app.token_for(dti_api::domain::Role::Admin, None);
    assert_problem(
        app.get("/metrics", &admin).await,
        401,
        "METRICS_TOKEN_REQUIRED",
    )
    .await;
    let resp = app.get("/metrics", METRICS_TOKEN).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("# TYPE http_requests_total counter")
    );
}

#[tokio::test]
async fn metrics_are_closed_in_production_without_a_token_and_open_in_demo_mode() {
    let app = spawn_app().await;
    let admin = app.token_for(dti_api::domain::Role::Admin, None);
    assert_problem(app.get_public("/metrics").await, 403, "METRICS_DISABLED").await;
    assert_problem(app.get("/metrics", &admin).await, 403, "METRICS_DISABLED").await;

    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.mode = dti_api::config::Mode::Demo;
    let demo = spawn_app_with(config).await;
    assert_eq!(demo.get_public("/metrics").await.status(), 200);
}

#[test]
fn a_weak_metrics_token_stops_a_production_start() {
    let mut config = test_config("unused");
    config.metrics_token = Some("metrics".into());
    let e = config.check().unwrap_err().to_string();
    assert!(e.starts_with("METRICS_TOKEN is invalid"), "{e}");
    config.mode = dti_api::config::Mode::Demo;
    assert!(config.check().is_ok());
}

/// A TCP relay to PostgreSQL that the test can cut and restore, to play a database outage.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused by closing
                }
                let target = target.clone();
                let flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut ri, mut wi) = inbound.split();
                    let (mut ro, mut wo) = outbound.split();
                    let watch = async {
                        while flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy(&mut ri, &mut wo) => {}
                        _ = tokio::io::copy(&mut ro, &mut wi) => {}
                        _ = watch => {}
                    }
                });
            }
        });
        Relay { port, up }
    }
}

// Multi-threaded: the relay runs on this runtime while the test makes blocking calls through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gives_503_and_the_service_recovers_by_itself() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let real = url_for_db(&db);
    let host_port = real
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let relay = Relay::start(host_port.clone()).await;
    let mut config = test_config(&db);
    config.database_url = Some(
        real.replace(&host_port, &format!("127.0.0.1:{}", relay.port))
            .into(),
    );
    config.db_timeout_ms = 500;
    let app = spawn_app_with(config).await;
    let token = app.token_for(dti_api::domain::Role::Viewer, None);
    json_ok(app.get_public("/health/ready").await, 200).await;

    relay.up.store(false, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let resp = app.get_public("/health/ready").await;
    assert!(resp.headers().get("retry-after").is_some());
    assert_problem(resp, 503, "DATABASE_UNAVAILABLE").await;
    assert_problem(
        app.get("/api/v1/units", &token).await,
        503,
        "DATABASE_UNAVAILABLE",
    )
    .await;

    relay.up.store(true, Ordering::SeqCst);
    let mut recovered = false;
    for _ in 0..50 {
        if app.get_public("/health/ready").await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "the service did not recover after the database came back"
    );
    json_ok(app.get("/api/v1/units", &token).await, 200).await;
}

// Multi-threaded: the pool's only connection is held on a blocking thread meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_pool_answers_service_busy_with_retry_after_after_one_wait() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.db_pool_size = 1;
    config.db_timeout_ms = 300;
    let (app, pool) = spawn_app_and_pool(config).await;
    let token = app.token_for(dti_api::domain::Role::Viewer, None);
    json_ok(app.get("/api/v1/units", &token).await, 200).await;

    // every connection of the pool in use: the database answers, the service is saturated
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = pool.get().unwrap();
        held_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        drop(conn);
    });
    held_rx.recv().unwrap();
    let started = std::time::Instant::now();
    let resp = app.get("/api/v1/units", &token).await;
    let waited = started.elapsed();
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_problem(resp, 503, "SERVICE_BUSY").await;
    assert!(
        waited < std::time::Duration::from_millis(900),
        "one wait of 300 ms, not two: {waited:?}"
    );
    // liveness needs no connection; readiness has one of its own and answers within its wait
    json_ok(app.get_public("/health/live").await, 200).await;
    let started = std::time::Instant::now();
    json_ok(app.get_public("/health/ready").await, 200).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // in Vietnamese too
    let vi = app
        .client
        .get(app.url("/api/v1/units"))
        .bearer_auth(&token)
        .header("accept-language", "vi")
        .send()
        .await
        .unwrap();
    let body = assert_problem(vi, 503, "SERVICE_BUSY").await;
    assert!(body["detail"].as_str().unwrap().contains("bận"), "{body}");

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    json_ok(app.get("/api/v1/units", &token).await, 200).await;
}

// A request with a body keeps no connection while the body arrives: the authentication and the
// handler each take one, and together they wait one `DB_TIMEOUT_MS`, not one each.
//
// Each step waits for the one before it, so no two checkouts race: A holds the only connection
// for 1.6 s while the request's authentication waits for it; once the authentication has it, B
// asks for it and gets it next (the body is still arriving: nothing else wants it), and keeps
// it; only then does the rest of the body go out. The handler then has what is left of the
// 2 s, about 0.4 s, where a wait of its own would take 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connections_of_one_request_share_one_pool_wait() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let (app, pool) = spawn_app_and_pool_with_metrics_token_and(|c| {
        c.db_pool_size = 1;
        c.db_timeout_ms = 2000;
    })
    .await;
    let token = app.token_for(dti_api::domain::Role::Admin, None);
    json_ok(app.get("/api/v1/units", &token).await, 200).await;
    let in_use = || pool.state().connections - pool.state().idle_connections;

    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (b_got_tx, b_got_rx) = tokio::sync::oneshot::channel();
    let (b_release_tx, b_release_rx) = std::sync::mpsc::channel::<()>();
    let a_pool = pool.clone();
    let a = std::thread::spawn(move || {
        let conn = a_pool.get().unwrap();
        held_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(1600));
        drop(conn);
    });
    held_rx.recv().unwrap();
    let before = checkouts(&app, "primary").await;

    let body =
        serde_json::json!({"code": "G-WAIT", "name": "Nhóm", "unit_kind": "commune"}).to_string();
    let (first, rest) = body.as_bytes().split_at(10);
    let head = format!(
        "POST /api/v1/ranking-groups HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream.flush().await.unwrap();

    // B: once the authentication has had the connection, asks for it and keeps it
    let mut polls = 0;
    while checkouts(&app, "primary").await < before + 1 {
        polls += 1;
        assert!(polls < 1000, "the authentication never got the connection");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let b_pool = pool.clone();
    let b = std::thread::spawn(move || {
        let conn = b_pool.get_timeout(Duration::from_secs(10)).unwrap();
        b_got_tx.send(()).unwrap();
        let _ = b_release_rx.recv();
        drop(conn);
    });
    b_got_rx.await.unwrap();
    assert_eq!(in_use(), 1, "B holds the only connection");

    let sent = std::time::Instant::now();
    stream.write_all(rest).await.unwrap();
    stream.flush().await.unwrap();
    let (status, text) = read_response(&mut stream, Duration::from_secs(10))
        .await
        .expect("an answer within 10 s");
    let waited = sent.elapsed();
    b_release_tx.send(()).unwrap();
    a.join().unwrap();
    b.join().unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("\"SERVICE_BUSY\""), "{text}");
    assert!(
        waited < Duration::from_millis(1200),
        "the handler waits what is left of one 2 s wait (about 0.4 s), not 2 s: {waited:?}"
    );
    assert_eq!(
        checkouts(&app, "primary").await,
        before + 2,
        "the authentication's checkout and B's; the handler got none"
    );
    let groups = json_ok(app.get("/api/v1/ranking-groups", &token).await, 200).await;
    assert!(
        !groups.to_string().contains("G-WAIT"),
        "the refused request wrote nothing: {groups}"
    );
}

// A burst of authenticated reads, far more than connections (4) and blocking threads (6): each
// read keeps its authentication's connection for its handler, so a thread waiting for a
// connection must never be one that a request holding a connection needs. Every read is
// served; none waits out the pool's timeout and answers 503.
#[tokio::test]
async fn a_burst_of_reads_beyond_the_pool_is_served_without_starving() {
    let app = spawn_app().await;
    let token = app.token_for(dti_api::domain::Role::Admin, None);
    json_ok(app.get("/api/v1/units", &token).await, 200).await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let request = app
            .client
            .get(app.url("/api/v1/units"))
            .bearer_auth(&token)
            .send();
        tasks.push(tokio::spawn(request));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        let status = t.await.unwrap().unwrap().status().as_u16();
        *statuses.entry(status).or_insert(0) += 1;
    }
    assert_eq!(
        statuses,
        std::collections::BTreeMap::from([(200, 64)]),
        "statuses of 64 reads at once"
    );
}

/// `db_checkouts_total{pool="…"}` as `/metrics` shows it now.
async fn checkouts(app: &TestApp, pool: &str) -> u64 {
    metric(app, "db_checkouts_total", "pool", pool).await
}

// An authenticated request without a body keeps its authentication's connection for the
// handler: one checkout, not two. A request with a body takes two, one after the other: none is
// held while the body arrives, however slowly.
#[tokio::test]
async fn an_authenticated_get_takes_one_pooled_connection_a_post_two() {
    let app = spawn_app_with_metrics_token().await;
    let admin = app.token_for(dti_api::domain::Role::Admin, None);
    let before = checkouts(&app, "primary").await;
    json_ok(app.get("/api/v1/units", &admin).await, 200).await;
    assert_eq!(
        checkouts(&app, "primary").await - before,
        1,
        "checkouts of one authenticated GET"
    );
    let before = checkouts(&app, "primary").await;
    json_ok(
        app.post_json(
            "/api/v1/ranking-groups",
            Some(&admin),
            &serde_json::json!({"code": "G-ONE", "name": "Nhóm", "unit_kind": "commune"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        checkouts(&app, "primary").await - before,
        2,
        "checkouts of one authenticated POST with a body"
    );
    // the metrics scrape itself takes none
    let before = checkouts(&app, "primary").await;
    assert_eq!(checkouts(&app, "primary").await, before);
}

/// `db_statements_total{pool="…"}` as `/metrics` shows it now.
async fn statements(app: &TestApp, pool: &str) -> u64 {
    metric(app, "db_statements_total", "pool", pool).await
}

// A pooled connection that finished a statement a moment ago is handed out as it is; one idle
// for longer than `db::TRUSTED_FOR`, or whose last statement failed, answers a `SELECT 1`
// first, and one that does not answer is replaced. Before, every checkout sent the check: two
// of the fourteen round trips of an answer write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_used_a_moment_ago_is_handed_out_unchecked() {
    use diesel::prelude::*;
    use std::time::Duration;
    let (app, pool) = spawn_app_and_pool_with_metrics_token_and(|c| c.db_pool_size = 1).await;
    let admin = app.token_for(dti_api::domain::Role::Admin, None);
    let idle = || tokio::time::sleep(dti_api::db::TRUSTED_FOR + Duration::from_millis(300));
    units_cost(&app, &admin).await; // the connection opened and its statements prepared
    let warm = units_cost(&app, &admin).await;
    assert!(warm > 0, "statements are counted");
    assert_eq!(
        units_cost(&app, &admin).await,
        warm,
        "a connection used a moment ago"
    );

    idle().await;
    assert_eq!(
        units_cost(&app, &admin).await,
        warm + 1,
        "after an idle second: one check"
    );
    assert_eq!(units_cost(&app, &admin).await, warm, "and none right after");

    // a failed statement: the next checkout checks
    let held = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = held.get().unwrap();
        assert!(
            diesel::sql_query("SELECT 1 / 0")
                .execute(&mut conn)
                .is_err()
        );
    })
    .await
    .unwrap();
    assert_eq!(
        units_cost(&app, &admin).await,
        warm + 1,
        "after a failed statement: one check"
    );

    // a connection the server ended while it sat idle is found out and replaced, unseen
    let (held, url) = (pool.clone(), url_for_db(&app.db_name));
    tokio::task::spawn_blocking(move || {
        #[derive(QueryableByName)]
        struct Pid {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            pid: i32,
        }
        let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(&mut held.get().unwrap())
            .unwrap()
            .pid;
        let mut other = PgConnection::establish(&url).unwrap();
        diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
            .execute(&mut other)
            .unwrap();
    })
    .await
    .unwrap();
    idle().await;
    json_ok(app.get("/api/v1/units", &admin).await, 200).await;
}

/// The statements of one `GET /api/v1/units`.
async fn units_cost(app: &TestApp, token: &str) -> u64 {
    let before = statements(app, "primary").await;
    json_ok(app.get("/api/v1/units", token).await, 200).await;
    statements(app, "primary").await - before
}

// A batch of answers is written in the statements of one answer: the answers and their old
// contents in one statement, their audit events in one more, one rescore. Before, every answer
// cost a write and an audit insert of its own.
#[tokio::test]
async fn a_batch_of_answers_costs_the_statements_of_one_answer() {
    use serde_json::json;
    let app = spawn_app_with_metrics_token().await;
    let OpenAssessment { editor, a, .. } = open_assessment(&app).await;
    let path = format!("/api/v1/assessments/{a}/answers");
    let batch = |tiers: i64, numerator: i64, option: &str| {
        json!({"answers": [
            {"node_code": "1.1", "inputs": {"value": tiers}, "explanation": "Biên bản họp"},
            {"node_code": "1.2", "inputs": {"numerator": numerator, "denominator": 10}},
            {"node_code": "2.2", "inputs": {"option": option}}
        ]})
    };
    // every answer exists first: each write below overwrites, as the measured ones will
    json_ok(
        app.put_json(&path, &editor, &batch(2, 3, "deputy")).await,
        200,
    )
    .await;
    let mut cost = Vec::new();
    for body in [
        json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 4, "denominator": 10}}]}),
        batch(3, 5, "chairman"),
        json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 6, "denominator": 10}}]}),
        batch(4, 7, "none"),
    ] {
        let before = statements(&app, "primary").await;
        let written = json_ok(app.put_json(&path, &editor, &body).await, 200).await;
        cost.push(statements(&app, "primary").await - before);
        // answered in the order asked
        let codes = |v: &serde_json::Value| -> Vec<serde_json::Value> {
            v["answers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["node_code"].clone())
                .collect()
        };
        assert_eq!(codes(&written), codes(&body));
    }
    assert!(cost[0] > 0, "statements are counted: {cost:?}");
    assert_eq!(
        (cost[0], cost[2]),
        (cost[1], cost[3]),
        "statements of one answer against a batch of three: {cost:?}"
    );
    // all three stored, each overwritten once per batch, audited once per answer
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    let version = |code: &str| {
        got["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["node_code"] == code)
            .unwrap_or_else(|| panic!("{code} in {got}"))["version"]
            .clone()
    };
    assert_eq!(
        (version("1.1"), version("1.2"), version("2.2")),
        (json!(3), json!(5), json!(3))
    );
}

// An answer write records its audit event in the statement that writes the answer, and learns
// the group's score stamp from the statement that writes the unit's basis: an overwrite of one
// answer in a set with a `relative_to_best` leaf is ten statements (the caller's account,
// `BEGIN`, the group's and the assessment's locks, the answer with its event, the unit's
// scoring rows, the group's best, the score row, the basis with the stamp, `COMMIT`). Before,
// the event and the stamp were a statement each. A wrong stamp would cost the next write a
// reload of the group's rank keys, so the count checks the stamp too. The events say what
// changed (the node, its inputs, whether not applicable: before, `null` for a new answer, and
// after), name the answer, and a refused write leaves none.
#[tokio::test]
async fn an_answer_write_records_its_event_and_learns_the_stamp_without_statements_of_their_own() {
    use diesel::prelude::*;
    use dti_api::domain::Role;
    use serde_json::json;
    let app = spawn_app_with_metrics_token().await;
    app.load_seeds();
    let admin = app.token_for(Role::Admin, None);
    let (period, units) =
        crate::fixtures::open_relative_period(&app, &admin, &[("XA-BAC-HA", 4), ("XA-BAT-XAT", 9)])
            .await;
    // an administrator sees live standings: the rank after each write comes from the group's
    // rank keys in memory, which the write brings along with the stamp it learnt
    let a = &units[0].1;
    let editor = app.as_token(&admin);
    let ratio = |n: i64, d: i64| json!({"inputs": {"numerator": n, "denominator": d}});
    editor.put_answer(a, "1.2", ratio(3, 4)).ok().await;
    editor.put_answer(a, "1.2", ratio(5, 8)).ok().await;
    let before = statements(&app, "primary").await;
    editor.put_answer(a, "1.2", ratio(1, 2)).ok().await;
    assert_eq!(
        statements(&app, "primary").await - before,
        10,
        "statements of one answer's overwrite"
    );
    editor
        .put_answer(a, "1.2", ratio(7, 8))
        .header("if-match", "\"v1\"")
        .problem(412, "VERSION_MISMATCH")
        .await;

    let trail = app
        .as_role(Role::Viewer, None)
        .audit_events()
        .query(&format!("action=answer.upsert&period_id={period}"))
        .ok()
        .await;
    let events: Vec<&serde_json::Value> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["new_value"]["node"] == "1.2")
        .collect();
    assert_eq!(events.len(), 3, "one event per write that stayed: {trail}");
    let (third, second, first) = (events[0], events[1], events[2]);
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let answer = app.with_conn(|c| {
        diesel::sql_query(
            "SELECT a.id FROM answers a JOIN indicator_nodes n ON n.id = a.node_id \
             WHERE a.assessment_id = $1 AND n.code = '1.2'",
        )
        .bind::<diesel::sql_types::Uuid, _>(a.parse::<uuid::Uuid>().unwrap())
        .get_result::<Id>(c)
        .unwrap()
        .id
    });
    let unit = app.with_conn(|c| {
        diesel::sql_query("SELECT unit_id AS id FROM assessments WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(a.parse::<uuid::Uuid>().unwrap())
            .get_result::<Id>(c)
            .unwrap()
            .id
    });
    for e in [first, second, third] {
        assert_eq!(e["entity_type"], "answer");
        assert_eq!(e["entity_id"], answer.to_string());
        assert_eq!(e["unit_id"], unit.to_string());
        assert_eq!(e["period_id"], period);
        assert_eq!(e["actor_role"], "admin");
        assert!(e["request_id"].is_string(), "{e}");
        assert_eq!(e["new_value"]["not_applicable"], false);
    }
    assert_eq!(first["old_value"], serde_json::Value::Null, "a new answer");
    assert_eq!(
        first["new_value"]["inputs"],
        json!({"numerator": "3", "denominator": "4"})
    );
    assert_eq!(second["old_value"], first["new_value"]);
    assert_eq!(third["old_value"], second["new_value"]);
    assert_eq!(
        third["new_value"],
        json!({"node": "1.2", "inputs": {"numerator": "1", "denominator": "2"},
               "not_applicable": false})
    );
}

// The statements of an answer write are planned once per connection (PostgreSQL's generic
// plan), not again for every execution (a custom plan; the first five executions of a prepared
// statement get one by default): a second write on the same connection plans none of them.
#[tokio::test]
async fn the_statements_of_an_answer_write_are_planned_once() {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    use dti_api::domain::precondition::IfMatch;
    use dti_api::services::assessments::{AnswerInput, put_answers};
    let app = spawn_app().await;
    let OpenAssessment { a, .. } = open_assessment(&app).await;
    let a: uuid::Uuid = a.parse().unwrap();
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Plans {
        #[diesel(sql_type = Text)]
        statement: String,
        #[diesel(sql_type = BigInt)]
        generic_plans: i64,
        #[diesel(sql_type = BigInt)]
        custom_plans: i64,
    }
    let plans = |c: &mut PgConnection| -> Vec<Plans> {
        diesel::sql_query(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
             ORDER BY statement",
        )
        .load(c)
        .unwrap()
    };
    app.with_conn(|c| {
        let caches = dti_api::services::scoring::Caches::default();
        let admin = dti_api::services::seed::system_principal();
        let write = |c: &mut PgConnection, numerator: i32| {
            let input = AnswerInput {
                node_code: "1.2".into(),
                inputs: Some(serde_json::json!({"numerator": numerator, "denominator": 4})),
                not_applicable: false,
                note: None,
                explanation: None,
                expected: IfMatch::Any,
            };
            put_answers(c, &caches, &admin, a, vec![input], false).unwrap();
        };
        // the first write prepares the statements (and reads what it does not yet keep)
        write(c, 1);
        let before = plans(c);
        write(c, 3);
        let after = plans(c);
        let grew = |p: &Plans, f: fn(&Plans) -> i64| {
            f(p) > before
                .iter()
                .find(|b| b.statement == p.statement)
                .map_or(0, f)
        };
        let custom: Vec<&Plans> = after
            .iter()
            .filter(|p| grew(p, |p| p.custom_plans))
            .collect();
        assert!(custom.is_empty(), "planned again: {custom:#?}");
        let generic: Vec<&str> = after
            .iter()
            .filter(|p| grew(p, |p| p.generic_plans))
            .map(|p| p.statement.as_str())
            .collect();
        for s in [
            "INSERT INTO assessment_scores",
            "INSERT INTO audit_events",
            "FOR UPDATE",
        ] {
            assert!(
                generic.iter().any(|g| g.contains(s)),
                "{s} among the second write's statements: {generic:#?}"
            );
        }
    });
}

// A batch's answers come back in the order sent whatever plan PostgreSQL picks for the
// statement: with hash joins and nested loops disabled it must merge-join `x`, the rows written
// and the rows held before, which sorts them by (assessment, node). Sent in the reverse of that
// order, they would come back reversed if the statement did not order them itself. Their audit
// events, written by the same statement, are recorded in that order too, each naming its answer
// and node.
#[tokio::test]
async fn a_batch_of_answers_is_answered_in_the_order_sent_whatever_the_plan() {
    use diesel::prelude::*;
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    use dti_api::db::models::assessments::{Answer, AnswerEvent, AnswerWrite};
    use dti_api::db::models::audit::NewAuditEvent;
    let app = spawn_app().await;
    let OpenAssessment { a, .. } = open_assessment(&app).await;
    let a: uuid::Uuid = a.parse().unwrap();
    #[derive(QueryableByName)]
    struct Node {
        #[diesel(sql_type = SqlUuid)]
        id: uuid::Uuid,
        #[diesel(sql_type = Text)]
        code: String,
    }
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Event {
        #[diesel(sql_type = Text)]
        entity_id: String,
        #[diesel(sql_type = Text)]
        node: String,
    }
    app.with_conn(|c| {
        c.transaction(|c| {
            let mut nodes: Vec<Node> = diesel::sql_query(
                "SELECT n.id, n.code FROM indicator_nodes n \
                 JOIN assessments s ON s.set_id = n.set_id \
                 WHERE s.id = $1 AND n.is_leaf",
            )
            .bind::<SqlUuid, _>(a)
            .load::<Node>(c)?;
            assert!(nodes.len() >= 3, "leaves: {}", nodes.len());
            nodes.sort_unstable_by_key(|n| std::cmp::Reverse(n.id));
            let ids: Vec<uuid::Uuid> = nodes.iter().map(|n| n.id).collect();
            let codes: Vec<&str> = nodes.iter().map(|n| n.code.as_str()).collect();
            diesel::sql_query("SET LOCAL enable_hashjoin = off").execute(c)?;
            diesel::sql_query("SET LOCAL enable_nestloop = off").execute(c)?;
            let rows: Vec<AnswerWrite> = ids
                .iter()
                .map(|&node_id| AnswerWrite {
                    assessment_id: a,
                    node_id,
                    inputs: None,
                    not_applicable: true,
                    note: None,
                    explanation: None,
                })
                .collect();
            let event = NewAuditEvent {
                actor_id: None,
                actor_role: None,
                action: "answer.upsert".into(),
                entity_type: "answer".into(),
                entity_id: None,
                unit_id: None,
                period_id: None,
                old_value: None,
                new_value: None,
                request_id: None,
            };
            let audit = AnswerEvent {
                event: &event,
                codes: &codes,
            };
            // inserted, then overwritten (each joined with what it held)
            for (round, held) in [(1, false), (2, true)] {
                let written = Answer::replace_many(c, &rows, None, &audit)?;
                let order: Vec<uuid::Uuid> = written.iter().map(|(w, _)| w.node_id).collect();
                assert_eq!(order, ids, "round {round}");
                assert!(
                    written.iter().all(|(_, before)| before.is_some() == held),
                    "round {round}: what each answer held before"
                );
                let events: Vec<Event> = diesel::sql_query(
                    "SELECT entity_id, new_value ->> 'node' AS node FROM audit_events \
                     WHERE action = 'answer.upsert' ORDER BY id DESC LIMIT $1",
                )
                .bind::<diesel::sql_types::BigInt, _>(rows.len() as i64)
                .load(c)?;
                let expected: Vec<Event> = written
                    .iter()
                    .rev()
                    .zip(codes.iter().rev())
                    .map(|((w, _), code)| Event {
                        entity_id: w.id.to_string(),
                        node: code.to_string(),
                    })
                    .collect();
                assert_eq!(events, expected, "round {round}: the events, newest first");
            }
            Ok::<_, diesel::result::Error>(())
        })
    })
    .unwrap();
}
