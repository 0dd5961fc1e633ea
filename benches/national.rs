//! National-scale benchmark: one ranking group of ~3,400 communes × 100 components
//! in one period. Measures the full recompute of the period, the latency of one answer write
//! with rescore and re-rank over HTTP (against two baselines measured in the same run) and the
//! same on a `relative_to_best` component, and the server's resident set through each phase
//! (the release binary's `serve` in a process of its own, as in production); then prints a
//! Markdown table and a phase profile of one write, and the time and size of the scores export
//! (every unit, XLSX and CSV).
//!
//! Run with `cargo bench --bench national` (or `scripts/bench.sh`). Needs a PostgreSQL server:
//! `TEST_DATABASE_URL` (else `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`),
//! a role allowed to create databases. A fresh `dti_bench_<uuid>` database is created and
//! dropped at the end.
//!
//! Knobs (environment): `BENCH_UNITS` (3400), `BENCH_WRITES` (200), `BENCH_REL_WRITES` (400,
//! alternately moving the group maximum and not), `BENCH_RECOMPUTE_RUNS` (3; with 0, one
//! recompute still runs, unmeasured: it scores the answers the setup inserts),
//! `BENCH_COLD_WRITES` (100: writes that move the maximum right after another replica's write),
//! `BENCH_WRITE_BUDGET_SECS` (240) and `BENCH_REL_BUDGET_SECS` (240): a write series stops early
//! once it has spent its budget, so that a slow build still finishes in about ten minutes (the
//! table's `n` column says how many requests were measured), `BENCH_PROFILE_RUNS` (3),
//! `BENCH_EXPORT_RUNS` (5: downloads of the scores export per format), `BENCH_IMPORT_RUNS` (1:
//! imports of every unit's answers, 340,000 rows, as CSV and as XLSX, each a dry run then
//! stored, against `COPY` of the same rows; 0 skips them), `BENCH_IMPORT_FORMATS` (`csv,xlsx`),
//! `BENCH_SERVER_WRAP` (a command every server the benchmark starts runs under, e.g. a heap
//! profiler),
//! `BENCH_EVIDENCE` (50: the percentage of answers given one evidence item, a link),
//! `BENCH_KEEP_DB` (1: keep the database at the end, to look at its tables and plans).

use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl, sql_types};
use dti_api::auth::Principal;
use dti_api::auth::jwt::JwtKeys;
use dti_api::db::DbPool;
use dti_api::db::models::assessments::{Answer, Assessment};
use dti_api::db::models::periods::Period;
use dti_api::db::models::scores::{BasisRecord, ScoreRow};
use dti_api::db::models::users::{NewUser, User};
use dti_api::domain::Role;
use dti_api::services::{indicator_sets, periods, scoring as svc_scoring};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

const JWT_SECRET: &str = "Yb4nQ8wK1rT6zM3pV9sL2xC7hF5jD0gA";
const ISSUER: &str = "dti-api";
const MAINS: usize = 10;
const COMPONENTS: usize = 10;
/// The one `relative_to_best` leaf.
const REL_LEAF: &str = "1.1";
/// The non-relative (ratio) leaf written in measurement 2.
const RATIO_LEAF: &str = "2.3";

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn maintenance_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for_db(db: &str) -> String {
    let base = maintenance_url();
    let (head, tail) = base.rsplit_once('/').expect("database URL has a path");
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{head}/{db}{query}")
}

/// Drops the bench database when the run ends, panics included (kept, for a look at its
/// tables and plans afterwards, with `BENCH_KEEP_DB=1`).
struct DbGuard(String);

impl Drop for DbGuard {
    fn drop(&mut self) {
        if std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1") {
            eprintln!("kept database {} (BENCH_KEEP_DB=1)", self.0);
            return;
        }
        if let Ok(mut admin) = PgConnection::establish(&maintenance_url()) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0))
                .execute(&mut admin);
            eprintln!("dropped database {}", self.0);
        }
        // the server processes' data directory (see `ServerProcess::start`)
        let _ = std::fs::remove_dir_all(
            std::env::temp_dir().join(format!("dti-bench-server-{}", self.0)),
        );
    }
}

/// Method of leaf `k` (1-based) of main indicator `m` (1-based).
fn leaf_kind(m: usize, k: usize) -> &'static str {
    if format!("{m}.{k}") == REL_LEAF {
        "relative"
    } else if k == COMPONENTS {
        "tiers"
    } else if k == COMPONENTS - 1 && m.is_multiple_of(2) {
        "boolean"
    } else if k == COMPONENTS - 1 {
        "choice"
    } else {
        "ratio"
    }
}

/// 10 main indicators × 10 components of 10 points (scale 1000), three pillars.
fn set_document() -> Value {
    let mains: Vec<Value> = (1..=MAINS)
        .map(|m| {
            let children: Vec<Value> = (1..=COMPONENTS)
                .map(|k| {
                    let method = match leaf_kind(m, k) {
                        "relative" => json!({"type": "relative_to_best"}),
                        "tiers" => json!({"type": "tiers", "bands": [
                            {"threshold": "1", "points": "2"}, {"threshold": "2", "points": "4"},
                            {"threshold": "3", "points": "6"}, {"threshold": "4", "points": "8"},
                            {"threshold": "5", "points": "10"}]}),
                        "boolean" => json!({"type": "boolean"}),
                        "choice" => json!({"type": "choice", "options": [
                            {"code": "chairman", "label": "Chủ tịch UBND", "points": "10"},
                            {"code": "deputy", "label": "Phó Chủ tịch", "points": "5"},
                            {"code": "none", "label": "Chưa thành lập", "points": "0"}]}),
                        _ => json!({"type": "ratio", "zero_denominator": "zero"}),
                    };
                    json!({"code": format!("{m}.{k}"), "kind": "component",
                           "name": format!("Chỉ số thành phần {m}.{k}"), "max_points": "10",
                           "method": method})
                })
                .collect();
            json!({"code": m.to_string(), "kind": "main", "name": format!("Chỉ số chính {m}"),
                   "max_points": "100", "children": children})
        })
        .collect();
    json!({
        "code": "BENCH-XA-1000", "version": 1,
        "name": "Bộ chỉ số quy mô quốc gia (benchmark)",
        "target_unit_kind": "commune", "year": 2025,
        "legal_basis": {"decision_number": "1/QĐ-BENCH", "issuer": "Benchmark"},
        "scale": "1000", "precision": 4,
        "pillars": [
            {"code": "CQS", "name": "Chính quyền số", "main_indicators": ["1", "2", "3", "4"]},
            {"code": "KTS", "name": "Kinh tế số", "main_indicators": ["5", "6", "7"]},
            {"code": "XHS", "name": "Xã hội số", "main_indicators": ["8", "9", "10"]}
        ],
        "nodes": mains
    })
}

fn exec(c: &mut PgConnection, sql: &str) -> usize {
    diesel::sql_query(sql)
        .execute(c)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = sql_types::Uuid)]
    id: Uuid,
}

#[derive(diesel::QueryableByName)]
struct CountRow {
    #[diesel(sql_type = sql_types::BigInt)]
    n: i64,
}

fn ids(c: &mut PgConnection, sql: &str) -> Vec<Uuid> {
    diesel::sql_query(sql)
        .load::<IdRow>(c)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn count(c: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<CountRow>(c)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .n
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (n, mean, p50, p95, p99, max) in milliseconds; nearest-rank percentiles.
struct Stats {
    n: usize,
    mean: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut v: Vec<f64> = samples.iter().map(|d| ms(*d)).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let pick = |q: f64| {
        if n == 0 {
            f64::NAN
        } else {
            v[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
        }
    };
    Stats {
        n,
        mean: if n == 0 {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / n as f64
        },
        p50: pick(0.50),
        p95: pick(0.95),
        p99: pick(0.99),
        max: v.last().copied().unwrap_or(f64::NAN),
    }
}

fn median(samples: &[Duration]) -> f64 {
    stats(samples).p50
}

struct Setup {
    db: String,
    period: Uuid,
    group: Uuid,
    admin: Principal,
    token: String,
    units: usize,
    leaves: usize,
    answers: i64,
    evidence: i64,
    open_time: Duration,
    data_time: Duration,
    answers_time: Duration,
}

/// Creates the database and the national-scale data set; opens the period.
fn setup(units: usize) -> (Setup, DbGuard) {
    let db = format!("dti_bench_{}", Uuid::new_v4().simple());
    let mut admin_conn =
        PgConnection::establish(&maintenance_url()).expect("connect to PostgreSQL (maintenance)");
    exec(&mut admin_conn, &format!("CREATE DATABASE {db}"));
    let guard = DbGuard(db.clone());
    let mut c = PgConnection::establish(&url_for_db(&db)).expect("connect to the bench database");
    dti_api::db::run_migrations(&mut c).expect("migrations apply");

    let t = Instant::now();
    let user = User::insert(
        &mut c,
        &NewUser {
            id: Uuid::new_v4(),
            username: "bench-admin",
            full_name: "Benchmark admin",
            password_hash: "!",
            role: Role::Admin.as_str(),
            unit_id: None,
            active: true,
        },
    )
    .expect("admin user");
    let admin = Principal {
        caller: dti_api::auth::Caller::Account(user.id),
        username: user.username.clone(),
        role: Role::Admin,
        unit_id: None,
        ..dti_api::services::seed::system_principal()
    };
    let (token, _) = JwtKeys::new(JWT_SECRET.as_bytes(), ISSUER, 600)
        .issue(user.id, &user.username, Role::Admin, None, user.version)
        .expect("token");

    let doc = serde_json::to_vec(&set_document()).unwrap();
    let parsed = indicator_sets::parse(&doc, indicator_sets::Format::Json).expect("set parses");
    let system = dti_api::services::seed::system_principal();
    let set = indicator_sets::create(&mut c, &system, parsed).expect("set created");
    indicator_sets::activate(
        &mut c,
        &system,
        set.id,
        &dti_api::domain::precondition::IfMatch::Any,
    )
    .expect("set activated");

    let group = Uuid::new_v4();
    exec(
        &mut c,
        &format!(
            "INSERT INTO ranking_groups (id, code, name, unit_kind)
             VALUES ('{group}', 'QG-XA', 'Xã, phường toàn quốc', 'commune')"
        ),
    );
    exec(
        &mut c,
        &format!(
            "INSERT INTO units (id, code, name, search_name, kind)
             SELECT gen_random_uuid(), 'XA-' || lpad(g::text, 5, '0'), 'Xã số ' || g, 'xa so ' || g, 'commune'
             FROM generate_series(1, {units}) g"
        ),
    );
    exec(
        &mut c,
        &format!(
            "INSERT INTO ranking_group_members (group_id, unit_id)
             SELECT '{group}', id FROM units WHERE kind = 'commune'"
        ),
    );
    let period = periods::create(
        &mut c,
        &admin,
        periods::CreatePeriod {
            code: "DTI-QG-2025".into(),
            name: "Đánh giá DTI quốc gia 2025".into(),
            data_year: 2025,
            groups: vec![periods::GroupPin {
                group: "QG-XA".into(),
                indicator_set: set.id,
            }],
            calendar: vec![(
                "self_assessment".into(),
                "2026-01-05T00:00:00Z".parse().unwrap(),
                None,
            )],
        },
    )
    .expect("period created");
    let data_time = t.elapsed();

    let t = Instant::now();
    periods::transition(
        &mut c,
        &dti_api::services::scoring::Caches::default(),
        &admin,
        period.id,
        dti_api::domain::workflow::PeriodPhase::SelfAssessment,
        None,
    )
    .expect("period opened");
    let open_time = t.elapsed();

    // Every unit × leaf, pseudo-random values valid for each method.
    let kinds: Vec<String> = (1..=MAINS)
        .flat_map(|m| (1..=COMPONENTS).map(move |k| format!("('{m}.{k}', '{}')", leaf_kind(m, k))))
        .collect();
    let t = Instant::now();
    exec(&mut c, "SELECT setseed(0.4242)");
    let inserted = exec(
        &mut c,
        &format!(
            "INSERT INTO answers (id, assessment_id, node_id, inputs, updated_by)
             SELECT gen_random_uuid(), s.aid, s.node_id,
               CASE s.kind
                 WHEN 'ratio' THEN jsonb_build_object('numerator', floor(s.x * (s.d + 1))::int::text,
                                                      'denominator', s.d::text)
                 WHEN 'tiers' THEN jsonb_build_object('value', floor(s.x * 6)::int::text)
                 WHEN 'boolean' THEN jsonb_build_object('value', s.x < 0.6)
                 WHEN 'choice' THEN jsonb_build_object('option',
                                      (ARRAY['chairman', 'deputy', 'none'])[1 + floor(s.x * 3)::int])
                 ELSE jsonb_build_object('value', (1 + floor(s.x * 1000))::int::text)
               END,
               '{uid}'
             FROM (SELECT a.id AS aid, n.id AS node_id, l.kind, random() AS x,
                          1 + floor(random() * 200)::int AS d
                   FROM assessments a
                   CROSS JOIN indicator_nodes n
                   JOIN (VALUES {kinds}) AS l(code, kind) ON l.code = n.code
                   WHERE a.period_id = '{period}' AND n.set_id = '{set}'
                   OFFSET 0) s",
            uid = user.id,
            kinds = kinds.join(", "),
            period = period.id,
            set = set.id,
        ),
    );
    // Evidence on a share of the answers, one link each, as forms with their documents
    // attached have: scoring reads whether each answer has some.
    let evidence_share: u32 = env_num("BENCH_EVIDENCE", 50);
    let evidence = exec(
        &mut c,
        &format!(
            "INSERT INTO evidence (id, answer_id, kind, url, created_by)
             SELECT gen_random_uuid(), a.id, 'url', 'https://so-tt.example.gov.vn/van-ban/' || a.id,
                    '{uid}'
             FROM answers a WHERE random() * 100 < {evidence_share}",
            uid = user.id,
        ),
    );
    exec(
        &mut c,
        &format!(
            "UPDATE assessments SET state = 'in_progress', last_action = 'answer'
             WHERE period_id = '{}'",
            period.id
        ),
    );
    exec(&mut c, "VACUUM ANALYZE");
    let answers_time = t.elapsed();
    let leaves = count(
        &mut c,
        &format!(
            "SELECT count(*) AS n FROM indicator_nodes WHERE set_id = '{}' AND is_leaf",
            set.id
        ),
    ) as usize;
    (
        Setup {
            db,
            period: period.id,
            group,
            admin,
            token,
            units,
            leaves,
            answers: inserted as i64,
            evidence: evidence as i64,
            open_time,
            data_time,
            answers_time,
        },
        guard,
    )
}

/// Assessment id of every unit, in unit code order.
fn assessments_of(c: &mut PgConnection, period: Uuid) -> Vec<Uuid> {
    ids(
        c,
        &format!(
            "SELECT a.id FROM assessments a JOIN units u ON u.id = a.unit_id
             WHERE a.period_id = '{period}' ORDER BY u.code"
        ),
    )
}

fn ratio_input(rng: &mut StdRng) -> Value {
    let d: u32 = rng.random_range(1..=200);
    let n: u32 = rng.random_range(0..=d);
    json!({"numerator": n.to_string(), "denominator": d.to_string()})
}

struct Http {
    client: reqwest::Client,
    base: String,
    token: String,
}

/// Sends `req` and waits for the whole response; its wall time. Anything but a success stops
/// the benchmark with the body.
async fn timed(what: &str, req: reqwest::RequestBuilder) -> Duration {
    let t = Instant::now();
    let resp = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = resp.status();
    let body = resp.bytes().await.expect("body");
    let d = t.elapsed();
    assert!(
        status.is_success(),
        "{what}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    d
}

impl Http {
    async fn put_answer(&self, assessment: Uuid, node: &str, inputs: Value) -> Duration {
        let url = format!(
            "{}/api/v1/assessments/{assessment}/answers/{node}",
            self.base
        );
        let req = self
            .client
            .put(url)
            .bearer_auth(&self.token)
            .json(&json!({ "inputs": inputs }));
        timed(&format!("PUT answer {node}"), req).await
    }

    async fn get_ready(&self) -> Duration {
        let req = self.client.get(format!("{}/health/ready", self.base));
        timed("GET ready", req).await
    }

    /// `runs` downloads of the period's scores export in `format`: their times and the size
    /// of the largest file (a workbook's compressed size can differ by a few bytes from one
    /// download to the next: it records when it was written).
    async fn export_scores(
        &self,
        period: Uuid,
        format: &str,
        runs: usize,
    ) -> (Vec<Duration>, usize) {
        let url = format!(
            "{}/api/v1/periods/{period}/rankings/export?format={format}",
            self.base
        );
        let mut times = Vec::with_capacity(runs);
        let mut size = None;
        for _ in 0..runs {
            let t = Instant::now();
            let resp = self
                .client
                .get(&url)
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("export");
            assert!(resp.status().is_success(), "export: {}", resp.status());
            let n = resp.bytes().await.expect("body").len();
            times.push(t.elapsed());
            size = Some(size.map_or(n, |s: usize| s.max(n)));
        }
        (times, size.unwrap_or(0))
    }

    async fn recompute(&self, period: Uuid) -> Duration {
        let url = format!("{}/api/v1/periods/{period}/recompute", self.base);
        let req = self.client.post(url).bearer_auth(&self.token);
        timed("POST recompute", req).await
    }
}

/// One pooled round trip: check out a connection (as `db::with_conn` does, on the blocking
/// pool) and run a single-row UPDATE.
async fn pooled_update(pool: &DbPool, answer: Uuid, note: String) -> Duration {
    let pool = pool.clone();
    let t = Instant::now();
    tokio::task::spawn_blocking(move || {
        let mut c = pool.get().expect("pooled connection");
        diesel::sql_query("UPDATE answers SET note = $1 WHERE id = $2")
            .bind::<sql_types::Text, _>(note)
            .bind::<sql_types::Uuid, _>(answer)
            .execute(&mut c)
            .expect("update");
    })
    .await
    .unwrap();
    t.elapsed()
}

struct Results {
    recompute_svc: Vec<Duration>,
    recompute_http: Vec<Duration>,
    baseline_sql: Vec<Duration>,
    baseline_ready: Vec<Duration>,
    write_ratio: Vec<Duration>,
    write_rel_moving: Vec<Duration>,
    write_rel_still: Vec<Duration>,
    write_rel_cold: Vec<Duration>,
    /// Mean rows written per ratio write, per table.
    rows_per_write: Vec<(String, f64)>,
    /// `GET /periods/{id}/rankings/export` of every unit's scores: per format, the times and
    /// the file's size in bytes.
    exports: Vec<(&'static str, Vec<Duration>, usize)>,
    /// The server's resident set once warm, in MB.
    rss_warm_mb: f64,
    /// The server's peak resident set per phase (recomputes, writes, exports of each format),
    /// in MB.
    server_peaks: Vec<(&'static str, f64)>,
}

/// Runs `f` `n` times sequentially, stopping early when `budget` is spent.
async fn series<F, Fut>(n: usize, budget: Duration, mut f: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let start = Instant::now();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(f(i).await);
        if start.elapsed() > budget {
            eprintln!("  budget spent after {} of {n}", i + 1);
            break;
        }
    }
    out
}

async fn http_phase(s: &Setup, assessments: &[Uuid], answer_ids: &[Uuid]) -> Results {
    let writes: usize = env_num("BENCH_WRITES", 200);
    let rel_writes: usize = env_num("BENCH_REL_WRITES", 400);
    let runs: usize = env_num("BENCH_RECOMPUTE_RUNS", 3);
    let budget = Duration::from_secs(env_num("BENCH_WRITE_BUDGET_SECS", 240));
    let rel_budget = Duration::from_secs(env_num("BENCH_REL_BUDGET_SECS", 240));
    // the HTTP client's TLS provider, as the application installs it
    dti_api::storage::install_tls_crypto();
    let client = reqwest::Client::new();
    // the API in a process of its own, as in production: its resident set is then the API's
    // alone, not the benchmark's as well
    let server = ServerProcess::start(&s.db, &client).await;
    // the baselines' pool, built as the server builds its own
    let pool = dti_api::db::build_pool(&url_for_db(&s.db), 8, Duration::from_secs(60));
    let http = Http {
        client,
        base: format!("http://127.0.0.1:{}", server.port),
        token: s.token.clone(),
    };
    let mut rng = StdRng::seed_from_u64(7);

    // warm-up: connections, caches, the compiled set
    for _ in 0..10 {
        http.get_ready().await;
        pooled_update(&pool, answer_ids[0], "warm".into()).await;
    }
    let a = assessments[rng.random_range(0..assessments.len())];
    http.put_answer(a, RATIO_LEAF, ratio_input(&mut rng)).await;
    let rss_warm_mb = server.rss_kb() as f64 / 1024.0;

    eprintln!("recompute over HTTP × {runs}");
    let watch = PeakWatch::start(&server);
    let mut recompute_http = Vec::new();
    for _ in 0..runs {
        recompute_http.push(http.recompute(s.period).await);
    }
    let mut server_peaks = vec![("recomputes", watch.peak_mb(&server))];
    let watch = PeakWatch::start(&server);

    eprintln!("baselines × {writes}");
    let mut baseline_sql = Vec::new();
    let mut baseline_ready = Vec::new();
    for i in 0..writes.max(200) {
        let id = answer_ids[rng.random_range(0..answer_ids.len())];
        baseline_sql.push(pooled_update(&pool, id, format!("ghi chú {i}")).await);
        baseline_ready.push(http.get_ready().await);
    }

    eprintln!("ratio writes × {writes}");
    // connections report their statistics once idle, within 10 s: the baselines' first
    tokio::time::sleep(Duration::from_secs(11)).await;
    let before = table_writes(&pool).await;
    let write_ratio = {
        let mut rng = StdRng::seed_from_u64(11);
        series(writes, budget, |_| {
            let a = assessments[rng.random_range(0..assessments.len())];
            let inputs = ratio_input(&mut rng);
            http.put_answer(a, RATIO_LEAF, inputs)
        })
        .await
    };
    tokio::time::sleep(Duration::from_secs(11)).await;
    let after = table_writes(&pool).await;
    let rows_per_write: Vec<(String, f64)> = after
        .iter()
        .map(|(t, n)| {
            let b = before.iter().find(|x| &x.0 == t).map_or(0, |x| x.1);
            (t.clone(), (n - b) as f64 / write_ratio.len().max(1) as f64)
        })
        .collect();

    eprintln!("relative_to_best writes × {rel_writes} (alternating)");
    let mut write_rel_moving = Vec::new();
    let mut write_rel_still = Vec::new();
    // Initial values are 1..=1000: a value above 1000 that grows each time moves the maximum;
    // a value in 1..=900 written to a unit that never held the maximum does not.
    let mut best = 1000u32;
    let mut holders = std::collections::HashSet::new();
    let start = Instant::now();
    for i in 0..rel_writes {
        if i % 2 == 0 {
            best += 1 + rng.random_range(0..5);
            let a = assessments[rng.random_range(0..assessments.len())];
            holders.insert(a);
            write_rel_moving.push(
                http.put_answer(a, REL_LEAF, json!({"value": best.to_string()}))
                    .await,
            );
        } else {
            let a = loop {
                let a = assessments[rng.random_range(0..assessments.len())];
                if !holders.contains(&a) {
                    break a;
                }
            };
            let v: u32 = rng.random_range(1..=900);
            write_rel_still.push(
                http.put_answer(a, REL_LEAF, json!({"value": v.to_string()}))
                    .await,
            );
        }
        if start.elapsed() > rel_budget {
            eprintln!("  budget spent after {} of {rel_writes}", i + 1);
            break;
        }
    }

    // The same moving writes as if another API replica had written to one unit of the group
    // just before: the group's and that unit's stamps change, so this server compares every
    // basis stamp and reads the basis that changed.
    let cold_writes: usize = env_num("BENCH_COLD_WRITES", 100);
    eprintln!("moving writes after another replica's write × {cold_writes}");
    let mut write_rel_cold = Vec::new();
    let start = Instant::now();
    for _ in 0..cold_writes {
        restamp_bases(&pool, s.period).await;
        best += 1 + rng.random_range(0..5);
        let a = assessments[rng.random_range(0..assessments.len())];
        write_rel_cold.push(
            http.put_answer(a, REL_LEAF, json!({"value": best.to_string()}))
                .await,
        );
        if start.elapsed() > rel_budget {
            eprintln!(
                "  budget spent after {} of {cold_writes}",
                write_rel_cold.len()
            );
            break;
        }
    }

    server_peaks.push(("writes", watch.peak_mb(&server)));

    // Exports of every unit's scores and rankings (the group's only: no `group` needed).
    let export_runs: usize = env_num("BENCH_EXPORT_RUNS", 5);
    eprintln!("scores exports × {export_runs} per format");
    let mut exports = Vec::new();
    for (format, phase) in [("xlsx", "XLSX exports"), ("csv", "CSV exports")] {
        let watch = PeakWatch::start(&server);
        let (times, size) = http.export_scores(s.period, format, export_runs).await;
        exports.push((format, times, size));
        server_peaks.push((phase, watch.peak_mb(&server)));
    }

    Results {
        recompute_svc: Vec::new(),
        rss_warm_mb,
        server_peaks,
        exports,
        write_rel_cold,
        recompute_http,
        baseline_sql,
        baseline_ready,
        write_ratio,
        write_rel_moving,
        write_rel_still,
        rows_per_write,
    }
}

/// Rows inserted + updated + deleted so far per table (pg_stat_user_tables).
/// Stamps the period's groups and one unit's basis anew, as another server's write to one
/// unit would: this server then sees a stale copy and reads what changed.
async fn restamp_bases(pool: &DbPool, period: Uuid) {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = pool.get().expect("pooled connection");
        diesel::sql_query(
            "WITH one AS (UPDATE assessment_bases SET stamp = gen_random_uuid() \
               WHERE assessment_id = (SELECT assessment_id FROM assessment_bases \
                                      WHERE period_id = $1 ORDER BY random() LIMIT 1)) \
             UPDATE period_groups SET bases_version = gen_random_uuid() WHERE period_id = $1",
        )
        .bind::<sql_types::Uuid, _>(period)
        .execute(&mut c)
        .expect("restamp");
    })
    .await
    .unwrap();
}

async fn table_writes(pool: &DbPool) -> Vec<(String, i64)> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = sql_types::Text)]
        relname: String,
        #[diesel(sql_type = sql_types::BigInt)]
        n: i64,
    }
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = pool.get().expect("pooled connection");
        diesel::sql_query(
            "SELECT relname::text AS relname, (n_tup_ins + n_tup_upd + n_tup_del)::bigint AS n
             FROM pg_stat_user_tables
             WHERE relname IN ('answers', 'assessment_scores', 'relative_values', 'audit_events', 'assessments')
             ORDER BY relname",
        )
        .load::<T>(&mut c)
        .expect("table statistics")
        .into_iter()
        .map(|t| (t.relname, t.n))
        .collect()
    })
    .await
    .unwrap()
}

/// Times the building blocks a write and a recompute are made of, at this scale, with the
/// library's public functions, and the current `rescore_assessment` (non-relative and
/// relative) as a whole. Each run is one transaction, rolled back.
fn profile(c: &mut PgConnection, assessments: &[Uuid], runs: usize) {
    let caches = &dti_api::services::scoring::Caches::default();
    let mut rng = StdRng::seed_from_u64(99);
    let mut rows: Vec<(&'static str, Vec<Duration>)> = Vec::new();
    let mut counts = (0usize, 0usize);
    for _ in 0..runs {
        let id = assessments[rng.random_range(0..assessments.len())];
        let inputs = ratio_input(&mut rng);
        let _ = c.transaction::<(), dti_api::error::AppError, _>(|c| {
            let mut tick = Instant::now();
            let mut lap = |name: &'static str| {
                let d = tick.elapsed();
                match rows.iter_mut().find(|r| r.0 == name) {
                    Some(r) => r.1.push(d),
                    None => rows.push((name, vec![d])),
                }
                tick = Instant::now();
            };
            let a = Assessment::find_for_update(c, id)?.expect("assessment");
            Period::find(c, a.period_id)?;
            let entry = svc_scoring::set_entry(c, caches, a.set_id)?;
            let node = entry.node_ids[entry.set.index_of(RATIO_LEAF).expect("leaf")];
            Answer::find(c, a.id, node)?;
            diesel::sql_query(
                "UPDATE answers SET inputs = $1, lock_version = lock_version + 1, updated_at = now()
                 WHERE assessment_id = $2 AND node_id = $3",
            )
            .bind::<sql_types::Jsonb, _>(inputs)
            .bind::<sql_types::Uuid, _>(a.id)
            .bind::<sql_types::Uuid, _>(node)
            .execute(c)?;
            lap("write: lock assessment, period, find + update the answer");
            let one = svc_scoring::unit_inputs(c, &entry, std::slice::from_ref(&a))?
                .pop()
                .expect("input");
            lap("one unit: unit_inputs");
            let best = svc_scoring::stored_best(c, &entry, a.period_id, a.group_id, None)?;
            lap("one unit: stored_best (aggregate of the stored candidates)");
            let scores = dti_api::scoring::score_unit_numbers(&entry.set, &one, &best);
            let (row, _) = svc_scoring::score_row(&entry, &a, &one, &scores)?;
            lap("one unit: score_unit_numbers + score_row (CPU)");
            ScoreRow::upsert(c, &[row])?;
            lap("one unit: ScoreRow::upsert(1)");
            let all = Assessment::of_group(c, a.period_id, a.group_id)?;
            lap("group: Assessment::of_group");
            let ids: Vec<Uuid> = all.iter().map(|x| x.id).collect();
            counts.0 = Assessment::scoring_rows(c, &ids)?.len();
            lap("group: Assessment::scoring_rows (every answer, adjustment, evidence mark and unit code: load; JSON kept as text)");
            let inputs_all = svc_scoring::unit_inputs(c, &entry, &all)?;
            lap("group: unit_inputs (all answers, + JSON and parse_input on every core)");
            let scored: Vec<_> = all
                .iter()
                .zip(&inputs_all)
                .map(|(x, i)| {
                    svc_scoring::score_row(
                        &entry,
                        x,
                        i,
                        &dti_api::scoring::score_unit_numbers(&entry.set, i, &best),
                    )
                })
                .collect::<Result<_, _>>()?;
            lap("group: score_unit_numbers + score_row, one thread (CPU)");
            let (rows_all, bases): (Vec<_>, Vec<_>) = scored.into_iter().unzip();
            ScoreRow::upsert_group(c, a.period_id, a.group_id, &rows_all)?;
            counts.1 = rows_all.len();
            lap("group: ScoreRow::upsert_group (all units, one statement)");
            let records: Vec<BasisRecord> = all
                .iter()
                .zip(&bases)
                .filter_map(|(x, b)| {
                    b.as_ref().map(|b| BasisRecord {
                        assessment_id: x.id,
                        basis: serde_json::to_string(b).expect("basis"),
                    })
                })
                .collect();
            lap("group: serialise every basis (CPU, one thread)");
            ScoreRow::upsert_bases(c, a.period_id, a.group_id, Uuid::new_v4(), &records)?;
            lap("group: ScoreRow::upsert_bases (all units, one statement)");
            let texts = ScoreRow::bases_of_group(c, a.period_id, a.group_id)?;
            lap("moved best, cold: ScoreRow::bases_of_group (read every basis)");
            let parsed: Vec<dti_api::scoring::Basis> = texts
                .iter()
                .map(|t| {
                    let v: Value = serde_json::from_str(&t.basis).expect("basis");
                    serde_json::from_value(v["b"].clone()).expect("basis")
                })
                .collect();
            lap("moved best, cold: parse every basis (CPU, one thread)");
            for basis in &parsed {
                dti_api::scoring::rescore_basis(&entry.set, basis, &best);
            }
            lap("moved best: rescore_basis every unit (CPU, one thread)");
            svc_scoring::rescore_assessment(c, caches, &a)?;
            lap("rescore_assessment after a ratio write, whole");
            dti_api::services::assessments::stored_scores(
                c,
                caches,
                &dti_api::services::seed::system_principal(),
                &a,
            )?;
            lap("handler after the write: stored_scores");
            svc_scoring::rescore_group(c, caches, a.period_id, a.group_id)?;
            lap("rescore_group (the recompute of one group), whole");
            Err(diesel::result::Error::RollbackTransaction.into())
        });
    }
    println!(
        "\n### Building blocks at this scale (median of {runs} runs, ms; {} answers, {} score rows)\n",
        counts.0, counts.1
    );
    println!("| step | median ms |");
    println!("|---|---:|");
    for (name, v) in &rows {
        println!("| {name} | {:.1} |", median(v));
    }
}

/// The SQL text of a query up to its binds (a few kB at most: the binds are never formatted).
fn sql_head(q: &dyn std::fmt::Display) -> String {
    struct Cap(String);
    impl std::fmt::Write for Cap {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            if self.0.len() > 4000 {
                return Err(std::fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    let mut w = Cap(String::new());
    let _ = std::fmt::write(&mut w, format_args!("{q}"));
    let sql = w.0.split(" -- binds").next().unwrap_or("");
    // a statement prepared once per connection (`db::cached_sql`) starts with its binds'
    // placeholders in a comment
    let sql = match sql
        .strip_prefix("/*")
        .and_then(|rest| rest.split_once("*/"))
    {
        Some((_, statement)) => statement.trim_start(),
        None => sql,
    };
    summarize_sql(sql)
}

/// `SELECT answers WHERE (…)`-style key of a statement.
fn summarize_sql(sql: &str) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let verb = flat.split(' ').next().unwrap_or("").to_uppercase();
    let after = |kw: &str| {
        flat.find(kw).map(|i| {
            flat[i + kw.len()..]
                .split(' ')
                .next()
                .unwrap_or("")
                .replace('"', "")
        })
    };
    let table = match verb.as_str() {
        "SELECT" => after(" FROM "),
        "INSERT" => after(" INTO "),
        "UPDATE" => after("UPDATE "),
        "DELETE" => after(" FROM "),
        _ => None,
    }
    .unwrap_or_default();
    let mut extra = String::new();
    // a join names its second table too: `SELECT period_groups JOIN current_rank_keys` (the
    // rank keys' load) is not the group lock `SELECT period_groups`
    if let Some(joined) = after(" JOIN ").filter(|_| verb == "SELECT") {
        extra = format!(" JOIN {joined}");
    }
    if let Some(i) = flat.find(" WHERE ") {
        let w: String = flat[i + 7..].replace('"', "").chars().take(90).collect();
        extra.push_str(&format!(" WHERE {w}"));
    }
    if flat.contains("ON CONFLICT") {
        extra.push_str(" (upsert)");
    }
    if verb == "SELECT" || verb == "INSERT" || verb == "UPDATE" || verb == "DELETE" {
        format!("{verb} {table}{extra}")
    } else {
        flat.chars().take(60).collect()
    }
}

type QueryLog = std::sync::Arc<std::sync::Mutex<Vec<(String, Duration)>>>;

/// Records every statement's wall time (sent → result received; row decoding excluded).
fn instrument(c: &mut PgConnection) -> QueryLog {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    struct Rec {
        log: QueryLog,
        started: Option<Instant>,
    }
    impl Instrumentation for Rec {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            match event {
                InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
                InstrumentationEvent::FinishQuery { query, .. } => {
                    let d = self.started.take().map(|t| t.elapsed()).unwrap_or_default();
                    let key = sql_head(&query);
                    self.log.lock().unwrap().push((key, d));
                }
                _ => {}
            }
        }
    }
    let log = QueryLog::default();
    c.set_instrumentation(Rec {
        log: log.clone(),
        started: None,
    });
    log
}

fn print_statements(title: &str, log: &QueryLog, wall: Duration) {
    let entries = std::mem::take(&mut *log.lock().unwrap());
    let mut by: Vec<(String, usize, Duration)> = Vec::new();
    for (k, d) in entries {
        match by.iter_mut().find(|x| x.0 == k) {
            Some(x) => {
                x.1 += 1;
                x.2 += d;
            }
            None => by.push((k, 1, d)),
        }
    }
    by.sort_by_key(|b| std::cmp::Reverse(b.2));
    let in_sql: Duration = by.iter().map(|x| x.2).sum();
    println!(
        "\n#### {title}: {:.1} ms wall, {:.1} ms in {} statements (server + transfer), {:.1} ms in Rust (decode, scoring, encode)\n",
        ms(wall),
        ms(in_sql),
        by.iter().map(|x| x.1).sum::<usize>(),
        ms(wall.saturating_sub(in_sql))
    );
    println!("| statement | calls | ms |");
    println!("|---|---:|---:|");
    for (k, n, d) in by.iter().take(8) {
        println!("| `{}` | {n} | {:.1} |", k.replace('|', "/"), ms(*d));
    }
}

/// Per-statement view of one write (non-relative and relative) as the current code runs it.
fn profile_statements(c: &mut PgConnection, assessments: &[Uuid]) {
    let caches = &dti_api::services::scoring::Caches::default();
    let log = instrument(c);
    let mut rng = StdRng::seed_from_u64(1234);
    for relative in [false, true] {
        let id = assessments[rng.random_range(0..assessments.len())];
        // A committed write of the same kind first (the measurements are over; the data may
        // change), with the caches the measured write uses: the profile's rolled-back writes
        // left this server's copies of the group's bases and rank keys stale, and a served
        // write finds them current. For the relative write it moves the maximum.
        c.transaction::<(), dti_api::error::AppError, _>(|c| {
            let a = Assessment::find(c, id)?.expect("assessment");
            let entry = svc_scoring::set_entry(c, caches, a.set_id)?;
            let (leaf, inputs) = if relative {
                (REL_LEAF, json!({"value": "4000"}))
            } else {
                (RATIO_LEAF, ratio_input(&mut rng))
            };
            let node = entry.node_ids[entry.set.index_of(leaf).expect("leaf")];
            diesel::sql_query(
                "UPDATE answers SET inputs = $1 WHERE assessment_id = $2 AND node_id = $3",
            )
            .bind::<sql_types::Jsonb, _>(inputs)
            .bind::<sql_types::Uuid, _>(a.id)
            .bind::<sql_types::Uuid, _>(node)
            .execute(c)?;
            svc_scoring::rescore_assessment(c, caches, &a)?;
            dti_api::services::assessments::stored_scores(
                c,
                caches,
                &dti_api::services::seed::system_principal(),
                &a,
            )?;
            Ok(())
        })
        .expect("warm-up write");
        let (leaf, inputs) = if relative {
            (REL_LEAF, json!({"value": "5000"}))
        } else {
            (RATIO_LEAF, ratio_input(&mut rng))
        };
        let a = Assessment::find(c, id).expect("find").expect("assessment");
        let entry = svc_scoring::set_entry(c, caches, a.set_id).expect("set");
        let node = entry.node_ids[entry.set.index_of(leaf).expect("leaf")];
        log.lock().unwrap().clear();
        let t = Instant::now();
        // the relative write commits, so that the profile shows what the commit of a moved
        // best costs (the measurements are over; the data may change); its statements are
        // planned as a served write plans them
        let _ = dti_api::db::planned_once::<(), dti_api::error::AppError, _>(c, |c| {
            diesel::sql_query(
                "UPDATE answers SET inputs = $1, lock_version = lock_version + 1, updated_at = now()
                 WHERE assessment_id = $2 AND node_id = $3",
            )
            .bind::<sql_types::Jsonb, _>(inputs)
            .bind::<sql_types::Uuid, _>(a.id)
            .bind::<sql_types::Uuid, _>(node)
            .execute(c)?;
            svc_scoring::rescore_assessment(c, caches, &a)?;
            dti_api::services::assessments::stored_scores(
                c,
                caches,
                &dti_api::services::seed::system_principal(),
                &a,
            )?;
            if relative {
                Ok(())
            } else {
                Err(diesel::result::Error::RollbackTransaction.into())
            }
        });
        let wall = t.elapsed();
        print_statements(
            if relative {
                "statements of one relative_to_best write that moves the maximum (answer update + rescore_assessment + stored_scores + COMMIT)"
            } else {
                "statements of one ratio write (answer update + rescore_assessment + stored_scores)"
            },
            &log,
            wall,
        );
    }
    c.set_instrumentation(|_: diesel::connection::InstrumentationEvent<'_>| {});
}

/// Statement-level view: EXPLAIN ANALYZE of the group-wide loads one write runs.
fn explain(c: &mut PgConnection, s: &Setup) {
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let queries = [
        (
            "answers of the whole group",
            format!(
                "SELECT * FROM answers WHERE assessment_id = ANY(ARRAY(SELECT id FROM assessments WHERE period_id = '{}'))",
                s.period
            ),
        ),
        (
            "overall ranking of the group, RANK() at read",
            format!(
                "SELECT unit_code, rank() OVER (ORDER BY scope_index[1] DESC NULLS LAST) \
                 FROM assessment_scores WHERE period_id = '{}' AND group_id = '{}' \
                 ORDER BY 2, 1 LIMIT 50",
                s.period, s.group
            ),
        ),
    ];
    println!("\n### EXPLAIN ANALYZE (server side only, no transfer/decoding)\n");
    for (name, q) in queries {
        let plan: Vec<Plan> = diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS) {q}"))
            .load(c)
            .expect("explain");
        let top = plan
            .first()
            .map(|p| p.line.trim().to_string())
            .unwrap_or_default();
        let exec_time = plan
            .iter()
            .map(|p| p.line.trim())
            .find(|l| l.starts_with("Execution Time"))
            .unwrap_or("");
        let actual = top.find("(actual").map(|i| &top[i..]).unwrap_or(&top);
        println!("- {name}: {actual}; {exec_time}");
    }
}

/// The 1-minute load average (Linux), for the record.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn row(name: &str, s: &Stats, target: &str) {
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {target} |",
        s.n, s.mean, s.p50, s.p95, s.p99, s.max
    );
}

fn main() {
    let caches = &dti_api::services::scoring::Caches::default();
    // the child process that writes the XLSX import file (see `import_xlsx`)
    if let Ok(path) = std::env::var("DTI_BENCH_WRITE_XLSX") {
        write_import_xlsx(
            env_num("DTI_BENCH_XLSX_UNITS", 3400),
            env_num("DTI_BENCH_XLSX_SEED", 0),
            &path,
        );
        return;
    }
    // the server's own log lines (e.g. `RUST_LOG=dti_api::services::imports=info` for where
    // an import's time goes); silent unless asked
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let units: usize = env_num("BENCH_UNITS", 3400);
    let import_runs: usize = env_num("BENCH_IMPORT_RUNS", 1);
    let runs: usize = env_num("BENCH_RECOMPUTE_RUNS", 3);
    let profile_runs: usize = env_num("BENCH_PROFILE_RUNS", 3);
    let started = Instant::now();
    let load_before = loadavg();
    eprintln!("setting up {units} units …");
    let (s, guard) = setup(units);
    eprintln!(
        "data {:.1}s, open {:.1}s, answers {:.1}s",
        s.data_time.as_secs_f64(),
        s.open_time.as_secs_f64(),
        s.answers_time.as_secs_f64()
    );
    let mut c = PgConnection::establish(&url_for_db(&s.db)).expect("connect");
    let assessments = assessments_of(&mut c, s.period);
    let answer_ids = ids(
        &mut c,
        "SELECT id FROM answers ORDER BY random() LIMIT 5000",
    );

    // Measurement 1: full recompute through the service. It also brings the scores in line
    // with the answers inserted above (the period was opened before them, so every unit was
    // scored unanswered): with no measured run, one runs unmeasured. Otherwise the writes
    // below would see units whose bases keep no value for a moved best to change, and a moved
    // maximum would write a follow row of a few units instead of every unit's.
    eprintln!("recompute (service) × {runs}");
    let mut recompute_svc = Vec::new();
    for k in 0..runs.max(1) {
        let t = Instant::now();
        let n = periods::recompute(&mut c, caches, &s.admin, s.period).expect("recompute");
        if k < runs {
            recompute_svc.push(t.elapsed());
        }
        assert_eq!(n, units);
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut r = rt.block_on(http_phase(&s, &assessments, &answer_ids));
    r.recompute_svc = recompute_svc;
    // last: imports rewrite every answer
    let imports = (import_runs > 0).then(|| {
        eprintln!("imports × {import_runs} (CSV and XLSX, dry run and stored)");
        rt.block_on(import_phase(&s, import_runs))
    });

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("\n## DTI national benchmark\n");
    println!(
        "machine: {cores} cores; {} units × {} leaves in one ranking group and one period; {} answers, {} with an evidence item; {} score rows",
        s.units,
        s.leaves,
        s.answers,
        s.evidence,
        count(&mut c, "SELECT count(*) AS n FROM assessment_scores"),
    );
    println!(
        "setup: data {:.1} s, answers and evidence INSERT … SELECT, VACUUM ANALYZE {:.1} s; opening the period (creates and scores {} assessments): {:.0} ms\n",
        s.data_time.as_secs_f64(),
        s.answers_time.as_secs_f64(),
        s.units,
        ms(s.open_time)
    );
    println!("| measurement | n | mean ms | p50 ms | p95 ms | p99 ms | max ms | target |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    row(
        "full recompute, service call",
        &stats(&r.recompute_svc),
        "≤ 1000 ms",
    );
    row(
        "full recompute, POST /periods/{id}/recompute",
        &stats(&r.recompute_http),
        "≤ 1000 ms",
    );
    row(
        "baseline: pooled `UPDATE answers SET note` round trip",
        &stats(&r.baseline_sql),
        "—",
    );
    row(
        "baseline: GET /health/ready",
        &stats(&r.baseline_ready),
        "—",
    );
    row(
        &format!("PUT answer, ratio leaf {RATIO_LEAF}, random unit"),
        &stats(&r.write_ratio),
        "p99 ≤ 10 ms; p50 ≤ 10 × the bare `UPDATE`",
    );
    row(
        &format!("PUT answer, relative_to_best {REL_LEAF}, maximum moves"),
        &stats(&r.write_rel_moving),
        "p99 ≤ 40 ms",
    );
    row(
        &format!("PUT answer, relative_to_best {REL_LEAF}, maximum unchanged"),
        &stats(&r.write_rel_still),
        "p99 ≤ 100 ms",
    );
    row(
        &format!(
            "PUT answer, relative_to_best {REL_LEAF}, maximum moves, another replica wrote last"
        ),
        &stats(&r.write_rel_cold),
        "p99 ≤ 40 ms",
    );

    for (format, times, _) in &r.exports {
        row(
            &format!("GET /periods/{{id}}/rankings/export?format={format}, every unit"),
            &stats(times),
            "—",
        );
    }
    let (write, bare) = (stats(&r.write_ratio), stats(&r.baseline_sql));
    println!(
        "\nratio write against the bare `UPDATE`, same run: p50 {:.1} × (target ≤ 10 ×), p99 {:.2} ms (target ≤ 10 ms)",
        write.p50 / bare.p50,
        write.p99
    );
    println!(
        "\nscores export sizes ({} units, one row each): {}",
        s.units,
        r.exports
            .iter()
            .map(|(f, _, n)| format!("{f} {:.0} KiB ({n} bytes)", *n as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "\nrows written per ratio write (mean, pg_stat_user_tables): {}",
        r.rows_per_write
            .iter()
            .map(|(t, n)| format!("{t} {n:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let peak = r
        .server_peaks
        .iter()
        .map(|p| p.1)
        .fold(r.rss_warm_mb, f64::max);
    println!(
        "\nserver RSS (the release binary, `serve`, in a process of its own): {:.0} MB once warm; peak {} (the kernel's high-water mark, reset before each phase; sampled every 100 ms besides): {peak:.0} MB through the recomputes, writes and exports (target ≤ 200 MB)",
        r.rss_warm_mb,
        r.server_peaks
            .iter()
            .map(|(phase, mb)| format!("{phase} {mb:.0} MB"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    if let Some(i) = &imports {
        print_imports(i);
    }

    if profile_runs > 0 {
        profile(&mut c, &assessments, profile_runs);
        profile_statements(&mut c, &assessments);
        explain(&mut c, &s);
    }
    println!(
        "\ntotal bench time {:.0} s; load average before {load_before}, after {} (other work on the machine skews the numbers)",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    drop(c);
    rt.shutdown_timeout(Duration::from_secs(2));
    drop(guard);
}

// ---------------------------------------------------------------------------------------------
// Imports: 340,000 answer rows (every unit × component) over HTTP as CSV and as XLSX, against
// PostgreSQL COPY of the same rows into a table of the answers table's shape, in the same run.

diesel::table! {
    /// The COPY baseline's scratch table: `CREATE TABLE … (LIKE answers INCLUDING ALL)`.
    bench_copy_answers (id) {
        id -> Uuid,
        assessment_id -> Uuid,
        node_id -> Uuid,
        inputs -> Nullable<Json>,
        updated_by -> Nullable<Uuid>,
    }
}

/// The import file's columns.
const IMPORT_HEADER: [&str; 6] = [
    "unit_code",
    "node_code",
    "numerator",
    "denominator",
    "value",
    "option",
];

/// One answer row of the import: unit code, node code, and the cells after them (text; a
/// number when it parses as one, for XLSX).
fn import_rows(units: usize, seed: u64) -> impl Iterator<Item = [String; 6]> {
    let mut rng = StdRng::seed_from_u64(seed);
    (1..=units).flat_map(move |u| {
        let unit = format!("XA-{u:05}");
        let rows: Vec<[String; 6]> = (1..=MAINS)
            .flat_map(|m| (1..=COMPONENTS).map(move |k| (m, k)))
            .map(|(m, k)| {
                let e = String::new;
                let (n, d, v, o) = match leaf_kind(m, k) {
                    "ratio" => {
                        let d: u32 = rng.random_range(1..=200);
                        (rng.random_range(0..=d).to_string(), d.to_string(), e(), e())
                    }
                    "tiers" => (e(), e(), rng.random_range(0..=5).to_string(), e()),
                    "boolean" => (e(), e(), rng.random_bool(0.6).to_string(), e()),
                    "choice" => {
                        let o = ["chairman", "deputy", "none"][rng.random_range(0..3)];
                        (e(), e(), e(), o.to_string())
                    }
                    _ => (e(), e(), rng.random_range(1..=1000).to_string(), e()),
                };
                [unit.clone(), format!("{m}.{k}"), n, d, v, o]
            })
            .collect();
        rows.into_iter()
    })
}

fn import_csv(units: usize, seed: u64) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(units * 100 * 30));
    w.write_record(IMPORT_HEADER).unwrap();
    for r in import_rows(units, seed) {
        w.write_record(&r).unwrap();
    }
    w.into_inner().unwrap()
}

/// Writes the rows as an XLSX file at `path` (run in a child process, so that the workbook
/// writer's memory is not counted in the server's).
fn write_import_xlsx(units: usize, seed: u64, path: &str) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("answers").unwrap();
    for (c, h) in IMPORT_HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (i, r) in import_rows(units, seed).enumerate() {
        let row = i as u32 + 1;
        for (c, v) in r.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            match (c >= 2).then(|| v.parse::<f64>().ok()).flatten() {
                Some(n) => ws.write_number(row, c as u16, n).unwrap(),
                None if v == "true" || v == "false" => {
                    ws.write_boolean(row, c as u16, v == "true").unwrap()
                }
                None => ws.write_string(row, c as u16, v).unwrap(),
            };
        }
    }
    book.save(path).unwrap();
}

/// The XLSX file of the rows, written by a child process of this bench.
fn import_xlsx(units: usize, seed: u64) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("dti-bench-import-{}.xlsx", Uuid::new_v4()));
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DTI_BENCH_WRITE_XLSX", &path)
        .env("DTI_BENCH_XLSX_UNITS", units.to_string())
        .env("DTI_BENCH_XLSX_SEED", seed.to_string())
        .status()
        .expect("the XLSX writer runs");
    assert!(status.success(), "the XLSX writer failed");
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
}

/// A process's resident set (`VmRSS`) or its peak since the last reset (`VmHWM`), in KiB.
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The server under measurement in a process of its own: the release binary of this very build
/// (`serve`), configured through its environment as in production. Its memory is then its own:
/// the bench's copy of the data set and of the files it sends are not counted.
struct ServerProcess {
    child: std::process::Child,
    port: u16,
}

impl ServerProcess {
    async fn start(db: &str, client: &reqwest::Client) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let data = std::env::temp_dir().join(format!("dti-bench-server-{db}"));
        // BENCH_SERVER_WRAP runs the server under another command (a heap profiler, say:
        // `BENCH_SERVER_WRAP="heaptrack -o server"`); its figures are then the wrapper's
        let wrap = std::env::var("BENCH_SERVER_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = std::process::Command::new(program);
                c.args(words).arg(env!("CARGO_BIN_EXE_dti-api"));
                c
            }
            None => std::process::Command::new(env!("CARGO_BIN_EXE_dti-api")),
        };
        let child = command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            // the C library's allocator settings (`MALLOC_ARENA_MAX=2`, say) reach the server
            .envs(std::env::vars().filter(|(k, _)| k.starts_with("MALLOC_")))
            .envs([
                ("APP_MODE", "production"),
                ("APP_HOST", "127.0.0.1"),
                ("APP_WORKERS", "2"),
                ("JWT_SECRET", JWT_SECRET),
                ("JWT_ISSUER", ISSUER),
                ("SEED_ON_EMPTY", "false"),
                // no webhook worker: nothing of it should weigh on the measurements
                ("WEBHOOK_WORKER", "false"),
                ("JOB_POLL_INTERVAL", "100ms"),
                ("DB_POOL_SIZE", "8"),
                ("DB_TIMEOUT_MS", "60000"),
            ])
            .env("APP_PORT", port.to_string())
            .env("DATABASE_URL", url_for_db(db))
            .env("DATA_DIR", &data)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let server = ServerProcess { child, port };
        let ready = format!("http://127.0.0.1:{port}/health/ready");
        let started = Instant::now();
        while !client
            .get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        server
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resets the kernel's peak-RSS mark (`VmHWM`) of the server: `5` in `clear_refs`.
    fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    fn rss_kb(&self) -> u64 {
        proc_status_kb(self.pid(), "VmRSS:")
    }

    fn peak_kb(&self) -> u64 {
        proc_status_kb(self.pid(), "VmHWM:")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a process's RSS every 100 ms until stopped; the peak.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let rss = move || proc_status_kb(pid, "VmRSS:");
        let handle = std::thread::spawn(move || {
            let mut peak = rss();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss());
                std::thread::sleep(Duration::from_millis(100));
            }
            peak.max(rss())
        });
        RssSampler { stop, handle }
    }

    fn peak_kb(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// A server's peak resident set over a stretch of work: the kernel's exact high-water mark
/// where it can be reset, and 100 ms samples besides.
struct PeakWatch {
    exact: bool,
    sampler: RssSampler,
}

impl PeakWatch {
    fn start(server: &ServerProcess) -> PeakWatch {
        let exact = server.reset_peak();
        PeakWatch {
            exact,
            sampler: RssSampler::start(server.pid()),
        }
    }

    /// The peak since [`PeakWatch::start`], in MB.
    fn peak_mb(self, server: &ServerProcess) -> f64 {
        let sampled = self.sampler.peak_kb();
        let peak = if self.exact {
            sampled.max(server.peak_kb())
        } else {
            sampled
        };
        peak as f64 / 1024.0
    }
}

/// One import over HTTP: POST (as a job, as a national file is anyway: 202), then the job
/// polled every 100 ms until it ends. Its wall time, the peak RSS, the job's result and its
/// URL.
async fn http_import(
    http: &Http,
    server: &ServerProcess,
    period: Uuid,
    body: Vec<u8>,
    dry_run: bool,
) -> (Duration, f64, Value, String) {
    let watch = PeakWatch::start(server);
    let t = Instant::now();
    let resp = http
        .client
        .post(format!(
            "{}/api/v1/periods/{period}/imports/answers?dry_run={dry_run}&async=true",
            http.base
        ))
        .bearer_auth(&http.token)
        .body(body)
        .send()
        .await
        .expect("import");
    let status = resp.status();
    let mut job: Value = resp.json().await.expect("job body");
    assert_eq!(
        status.as_u16(),
        202,
        "import: {status} {:.500}",
        job.to_string()
    );
    let url = format!("{}/api/v1/jobs/{}", http.base, job["id"].as_str().unwrap());
    while !["succeeded", "failed", "cancelled"].contains(&job["state"].as_str().unwrap_or("")) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        job = http
            .client
            .get(&url)
            .bearer_auth(&http.token)
            .send()
            .await
            .expect("job")
            .json()
            .await
            .expect("job body");
    }
    let d = t.elapsed();
    let peak = watch.peak_mb(server);
    assert_eq!(
        job["state"],
        "succeeded",
        "import job: {:.2000}",
        job.to_string()
    );
    (d, peak, job["result"].clone(), url)
}

/// What reading the jobs back costs: the bytes of a dry run's job, of the list of every job,
/// and the server's peak RSS while `JOB_READERS` clients read the dry run's job at once.
struct JobReads {
    job_bytes: usize,
    list_bytes: usize,
    jobs_listed: usize,
    readers: usize,
    peak_mb: f64,
    rss_before_mb: f64,
    elapsed: Duration,
}

const JOB_READERS: usize = 8;

async fn job_reads(http: &Http, server: &ServerProcess, dry_run_job: &str) -> JobReads {
    let get = |url: String| {
        let (client, token) = (http.client.clone(), http.token.clone());
        async move {
            let r = client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("GET");
            assert_eq!(r.status().as_u16(), 200, "{url}");
            r.bytes().await.expect("body").len()
        }
    };
    let list_url = format!("{}/api/v1/jobs?page_size=100", http.base);
    let list: Value = http
        .client
        .get(&list_url)
        .bearer_auth(&http.token)
        .send()
        .await
        .expect("jobs")
        .json()
        .await
        .expect("jobs body");
    let list_bytes = get(list_url).await;
    let rss_before_mb = server.rss_kb() as f64 / 1024.0;
    let watch = PeakWatch::start(server);
    let t = Instant::now();
    let sizes =
        futures_util::future::join_all((0..JOB_READERS).map(|_| get(dry_run_job.to_string())))
            .await;
    let elapsed = t.elapsed();
    let peak_mb = watch.peak_mb(server);
    JobReads {
        job_bytes: sizes[0],
        list_bytes,
        jobs_listed: list["items"].as_array().map_or(0, Vec::len),
        readers: JOB_READERS,
        peak_mb,
        rss_before_mb,
        elapsed,
    }
}

/// COPY of the rows (resolved to the answers table's columns) into the scratch table; its time.
fn copy_baseline(c: &mut PgConnection, s: &Setup, units: usize, seed: u64) -> Duration {
    #[derive(diesel::QueryableByName)]
    struct Pair {
        #[diesel(sql_type = sql_types::Text)]
        code: String,
        #[diesel(sql_type = sql_types::Uuid)]
        id: Uuid,
    }
    let pairs = |c: &mut PgConnection, sql: String| -> std::collections::HashMap<String, Uuid> {
        diesel::sql_query(sql)
            .load::<Pair>(c)
            .unwrap()
            .into_iter()
            .map(|p| (p.code, p.id))
            .collect()
    };
    let assessments = pairs(
        c,
        format!(
            "SELECT u.code, a.id FROM assessments a JOIN units u ON u.id = a.unit_id
              WHERE a.period_id = '{}'",
            s.period
        ),
    );
    let nodes = pairs(
        c,
        format!(
            "SELECT DISTINCT n.code, n.id FROM indicator_nodes n
               JOIN assessments a ON a.set_id = n.set_id WHERE a.period_id = '{}'",
            s.period
        ),
    );
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in import_rows(units, seed) {
        let inputs = match (r[2].is_empty(), r[4].as_str(), r[5].is_empty()) {
            (false, _, _) => json!({"numerator": r[2], "denominator": r[3]}),
            (_, "true" | "false", _) => json!({"value": r[4] == "true"}),
            (_, v, true) => json!({"value": v}),
            _ => json!({"option": r[5]}),
        };
        w.write_record([
            Uuid::new_v4().to_string(),
            assessments[&r[0]].to_string(),
            nodes[&r[1]].to_string(),
            inputs.to_string(),
            s.admin.actor_id().to_string(),
        ])
        .unwrap();
    }
    let data = w.into_inner().unwrap();
    exec(c, "DROP TABLE IF EXISTS bench_copy_answers");
    exec(
        c,
        "CREATE TABLE bench_copy_answers (LIKE answers INCLUDING ALL)",
    );
    let t = Instant::now();
    let n = diesel::copy_from(bench_copy_answers::table)
        .from_raw_data(
            (
                bench_copy_answers::id,
                bench_copy_answers::assessment_id,
                bench_copy_answers::node_id,
                bench_copy_answers::inputs,
                bench_copy_answers::updated_by,
            ),
            |out: &mut dyn std::io::Write| {
                out.write_all(&data)
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
            },
        )
        .with_format(diesel::pg::CopyFormat::Csv);
    let n = diesel::ExecuteCopyFromDsl::execute(n, c).expect("COPY");
    let d = t.elapsed();
    assert_eq!(n, units * MAINS * COMPONENTS);
    exec(c, "DROP TABLE bench_copy_answers");
    d
}

/// What the import measurements give.
struct ImportResults {
    rows: usize,
    copy: Vec<Duration>,
    /// (format, dry run?, time, peak RSS MB, file bytes)
    runs: Vec<(&'static str, bool, Duration, f64, usize)>,
    rss_before_mb: f64,
    job_reads: Option<JobReads>,
}

async fn import_phase(s: &Setup, runs: usize) -> ImportResults {
    let http = Http {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(3600))
            .build()
            .unwrap(),
        base: String::new(),
        token: s.token.clone(),
    };
    let server = ServerProcess::start(&s.db, &http.client).await;
    let http = Http {
        base: format!("http://127.0.0.1:{}", server.port),
        ..http
    };
    let rows = s.units * MAINS * COMPONENTS;
    let formats = std::env::var("BENCH_IMPORT_FORMATS").unwrap_or_else(|_| "csv,xlsx".into());
    let mut c = PgConnection::establish(&url_for_db(&s.db)).expect("connect");
    let mut out = ImportResults {
        rows,
        copy: Vec::new(),
        runs: Vec::new(),
        rss_before_mb: server.rss_kb() as f64 / 1024.0,
        job_reads: None,
    };
    let mut dry_run_job = None;
    for run in 0..runs {
        for (k, format) in ["csv", "xlsx"].into_iter().enumerate() {
            if !formats.split(',').any(|f| f.trim() == format) {
                continue;
            }
            let seed = 1000 + (run * 2 + k) as u64;
            out.copy.push(copy_baseline(&mut c, s, s.units, seed));
            let body = match format {
                "csv" => import_csv(s.units, seed),
                _ => import_xlsx(s.units, seed),
            };
            let size = body.len();
            for dry_run in [true, false] {
                eprintln!("import {format}, dry run {dry_run}: {rows} rows, {size} bytes");
                let (d, peak, result, job) =
                    http_import(&http, &server, s.period, body.clone(), dry_run).await;
                if dry_run {
                    dry_run_job.get_or_insert(job);
                }
                let conflicts = format!("{:.2000}", result["conflicts"].to_string());
                assert_eq!(result["rows_read"], rows, "{conflicts}");
                assert_eq!(result["rows_refused"], 0, "{conflicts}");
                assert_eq!(result["committed"], !dry_run);
                eprintln!(
                    "  {:.1} s, peak RSS {peak:.0} MB; created {} updated {} unchanged {}",
                    d.as_secs_f64(),
                    result["created"],
                    result["updated"],
                    result["unchanged"]
                );
                out.runs.push((format, dry_run, d, peak, size));
            }
        }
    }
    if let Some(job) = dry_run_job {
        out.job_reads = Some(job_reads(&http, &server, &job).await);
    }
    out
}

fn print_imports(r: &ImportResults) {
    let copy = median(&r.copy) / 1000.0;
    let copy_rate = r.rows as f64 / copy;
    println!(
        "\n### Imports: {} answer rows over HTTP (a job: POST → 202 → polled until done; the rescore included)\n",
        r.rows
    );
    println!(
        "baseline: `COPY` of the same rows into a table of the answers table's shape (its indexes and checks): median {:.2} s over {} run(s), {:.0} rows/s\n",
        copy,
        r.copy.len(),
        copy_rate
    );
    println!(
        "| import | file | time s | rows/s | share of COPY's rate | peak RSS MB (sampled every 100 ms) | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (format, dry_run, d, peak, size) in &r.runs {
        let secs = d.as_secs_f64();
        let rate = r.rows as f64 / secs;
        let real = r
            .runs
            .iter()
            .find(|(f, dr, ..)| f == format && !dr)
            .map(|(_, _, d, ..)| d.as_secs_f64());
        let target = if *dry_run {
            format!(
                "≤ 2 × the import ({:.2} ×)",
                real.map_or(f64::NAN, |x| secs / x)
            )
        } else {
            "≥ 25 % of COPY; RSS < 200 MB".to_string()
        };
        println!(
            "| {format}{} | {:.1} MiB | {secs:.1} | {rate:.0} | {:.1} % | {peak:.0} | {target} |",
            if *dry_run { ", dry run" } else { "" },
            *size as f64 / (1024.0 * 1024.0),
            100.0 * rate / copy_rate,
        );
    }
    println!(
        "\nRSS is the server's, in a process of its own (the release binary, `serve`): its peak resident set during each import (the kernel's high-water mark, reset before each; sampled every 100 ms besides); {:.0} MB before the first import.",
        r.rss_before_mb
    );
    if let Some(j) = &r.job_reads {
        println!(
            "\nReading the jobs back: a dry run's job (`GET /jobs/{{id}}`, its result served as stored) is {:.1} MiB; the list of all {} jobs (`GET /jobs`, summaries) {:.1} KiB. {} clients reading the dry run's job at once: {:.0} ms, server RSS {:.0} MB before, peak {:.0} MB.",
            j.job_bytes as f64 / (1024.0 * 1024.0),
            j.jobs_listed,
            j.list_bytes as f64 / 1024.0,
            j.readers,
            j.elapsed.as_secs_f64() * 1000.0,
            j.rss_before_mb,
            j.peak_mb
        );
    }
}
