//! The test harness: `spawn_app()` and typed helpers.

use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl};
use dti_api::auth::jwt::JwtKeys;
use dti_api::config::{Config, EvidenceStoreConfig, JobConfig, Mode, WebhookConfig};
use dti_api::db::models::units::Unit;
use dti_api::db::models::users::{NewUser, User};
use dti_api::domain::Role;
use dti_api::startup::Application;
use reqwest::{Method, RequestBuilder, Response};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

/// Random-looking, as production requires (a patterned secret is refused at start).
pub const JWT_SECRET: &str = "Tq7vK2mX9pLr4sWz8bN1cY6hJ3fD5gA0eUiOkRtV";
pub const ISSUER: &str = "dti-api";
pub const DEMO_PASSWORD: &str = "demo-dti-2026";

/// Where the tests look for PostgreSQL when `TEST_DATABASE_URL` is not set. Without TLS: over
/// loopback it protects nothing, and with it the test process once died at exit (SIGSEGV in
/// libcrypto, after every test had passed) as OpenSSL's exit-time cleanup met threads of
/// earlier tests still closing their connections.
pub const DEFAULT_TEST_DATABASE_URL: &str =
    "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/// Server URL for administrative statements (CREATE/DROP DATABASE): `TEST_DATABASE_URL` (or
/// `DATABASE_URL`) when set; else a server on 127.0.0.1:5432 that lets `postgres` in; else a
/// private cluster that the harness starts itself, as the service does without
/// `DATABASE_URL` (see [`private_cluster_url`]).
pub fn maintenance_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) =
            std::env::var("TEST_DATABASE_URL").or_else(|_| std::env::var("DATABASE_URL"))
        {
            return url;
        }
        if PgConnection::establish(DEFAULT_TEST_DATABASE_URL).is_ok() {
            return DEFAULT_TEST_DATABASE_URL.into();
        }
        private_cluster_url()
    })
    .clone()
}

/// The administrative URL of the tests' private cluster, started on first use with the
/// PostgreSQL server binaries installed on the machine (`src/db/embedded.rs`, as the service
/// does). One cluster serves every test process of this user: it lives in
/// `<temp dir>/dti-test-pg-<uid>`, the first process starts it under a file lock, the others
/// reuse it, and it keeps running for the next `cargo test` (stop it with
/// `pg_ctl -D <that dir>/data/postgres stop`).
pub fn private_cluster_url() -> String {
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("dti-test-pg-{uid}"));
    std::fs::create_dir_all(&dir).expect("creating the test cluster's folder");
    let lock = std::fs::File::create(dir.join("start.lock")).expect("creating the lock file");
    lock.lock().expect("locking the test cluster's folder");
    let pg =
        dti_api::db::embedded::EmbeddedPostgres::start(&dir.join("data")).unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL answers at {DEFAULT_TEST_DATABASE_URL} and the private test cluster \
             could not start: {e}. Set TEST_DATABASE_URL to a server whose role may create \
             databases, or install the PostgreSQL server binaries"
            )
        });
    drop(lock);
    pg.admin_url.clone()
}

pub fn url_for_db(db: &str) -> String {
    let base = maintenance_url();
    let (head, tail) = base.rsplit_once('/').expect("database URL has a path");
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{head}/{db}{query}")
}

/// A template database with every migration applied, created once per migration set.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut dirs: Vec<_> = std::fs::read_dir("migrations")
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for d in dirs {
            for f in ["up.sql", "down.sql"] {
                h.update(std::fs::read(d.join(f)).unwrap_or_default());
            }
        }
        let digest = h.finalize();
        let name = format!("dti_tpl_{}", hex::encode(&digest[..6]));
        let mut admin =
            PgConnection::establish(&maintenance_url()).expect("connect to PostgreSQL for tests");
        // Several test processes may race to build the template.
        diesel::sql_query("SELECT pg_advisory_lock(724011)")
            .execute(&mut admin)
            .unwrap();
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
        )))
        .get_result(&mut admin)
        .unwrap();
        if !exists {
            diesel::sql_query(format!("CREATE DATABASE {name}_build"))
                .execute(&mut admin)
                .ok();
            {
                let mut c = PgConnection::establish(&url_for_db(&format!("{name}_build"))).unwrap();
                dti_api::db::run_migrations(&mut c).expect("migrations apply");
            }
            diesel::sql_query(format!("ALTER DATABASE {name}_build RENAME TO {name}"))
                .execute(&mut admin)
                .unwrap();
        }
        diesel::sql_query("SELECT pg_advisory_unlock(724011)")
            .execute(&mut admin)
            .unwrap();
        name
    })
}

/// Creates an empty, migrated database for one test.
pub fn create_test_database() -> String {
    let template = template_name();
    let name = format!("dti_test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&maintenance_url()).unwrap();
    for attempt in 0..20 {
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut admin)
        {
            Ok(_) => return name,
            Err(e) if attempt < 19 && e.to_string().contains("being accessed") => {
                std::thread::sleep(std::time::Duration::from_millis(50 + attempt * 20))
            }
            Err(e) => panic!("creating the test database: {e}"),
        }
    }
    unreachable!()
}

pub fn drop_database(name: &str) {
    if let Ok(mut admin) = PgConnection::establish(&maintenance_url()) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin);
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db_name: String,
    pub config: Config,
    pub jwt: JwtKeys,
    /// False for another replica of an app on the same database ([`spawn_replica`]): the app
    /// that created the database checks and drops it.
    pub owns_database: bool,
    /// The app's own scoring caches (for a test that scores beside it as the app would).
    pub caches: std::sync::Arc<dti_api::services::scoring::Caches>,
    /// The server's process when it runs in one of its own ([`spawn_process_replica`]):
    /// stopped when the app is dropped.
    _process: Option<ServerProcess>,
}

/// Every test ends with the scoring invariant: a full recompute of every period of its
/// database changes no stored number, candidate, basis or rank. A write that moved an input
/// of scoring without rescoring in its own transaction fails the test that made it, whichever
/// test that is. Skipped when the test already failed (its own panic says more).
impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.owns_database {
            return;
        }
        let stale = if std::thread::panicking() {
            None
        } else {
            recompute_changes(&url_for_db(&self.db_name))
        };
        drop_database(&self.db_name);
        if let Some(diff) = stale {
            panic!("{diff}");
        }
    }
}

/// Stored scores (every column but the time), the stored candidates for group bests and the
/// units' bases, and the rankings as read (every scope), as comparable text.
pub fn stored_state(c: &mut PgConnection) -> (Vec<String>, Vec<String>, Vec<String>) {
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let mut q = |sql: &str| {
        diesel::sql_query(sql)
            .load::<Line>(c)
            .unwrap()
            .into_iter()
            .map(|l| l.line)
            .collect::<Vec<_>>()
    };
    // the score rows as readers see them (a moved best's follow row applied); when and in
    // which order a row was written is not what it holds
    let scores = q(
        "SELECT (to_jsonb(s) - 'computed_at' - 'follow_seq')::text AS line FROM current_scores s \
         ORDER BY 1",
    );
    // one unit's row read by its position in the follow row is the view's row, every one
    let differing = q("SELECT s.unit_code AS line FROM current_scores s \
         WHERE to_jsonb(s) IS DISTINCT FROM (SELECT to_jsonb(o) \
           FROM current_score_of(s.period_id, s.group_id, s.assessment_id) o)");
    assert!(
        differing.is_empty(),
        "current_score_of differs from current_scores for {differing:?}"
    );
    let mut relative = q("SELECT to_jsonb(r)::text AS line FROM relative_values r ORDER BY 1");
    // a basis's stamp says which write stored it, not what it holds
    relative.extend(q(
        "SELECT (to_jsonb(b) - 'stamp')::text AS line FROM assessment_bases b ORDER BY 1",
    ));
    let ranks = q("SELECT concat_ws(' ', k.ord, s.unit_code, k.p, k.m, k.i, \
           CASE WHEN k.i IS NULL THEN NULL ELSE rank() OVER (PARTITION BY s.period_id, s.group_id, k.ord ORDER BY k.i DESC NULLS LAST) END) AS line \
         FROM current_scores s, unnest(s.scope_points, s.scope_max, s.scope_index) WITH ORDINALITY AS k(p, m, i, ord) ORDER BY 1");
    (scores, relative, ranks)
}

/// What a full recompute of every period would change in the database at `url` (`None`:
/// nothing). The recompute runs in a transaction that is rolled back.
pub fn recompute_changes(url: &str) -> Option<String> {
    let mut c = PgConnection::establish(url).expect("connect to the test database");
    let periods: Vec<Uuid> = {
        use diesel::QueryDsl;
        use dti_api::db::schema::periods::dsl::*;
        periods.select(id).load(&mut c).expect("periods")
    };
    if periods.is_empty() {
        return None;
    }
    let mut diff = None;
    // caches of its own: nothing of this rolled-back recompute reaches the app's
    let caches = &dti_api::services::scoring::Caches::default();
    let _ = c.transaction::<(), diesel::result::Error, _>(|c| {
        let before = stored_state(c);
        for p in &periods {
            dti_api::services::scoring::recompute_period(c, caches, *p)
                .unwrap_or_else(|e| panic!("recompute of period {p}: {e:?}"));
        }
        let after = stored_state(c);
        if after != before {
            diff = Some(describe_difference(&before, &after));
        }
        Err(diesel::result::Error::RollbackTransaction)
    });
    diff
}

fn describe_difference(
    before: &(Vec<String>, Vec<String>, Vec<String>),
    after: &(Vec<String>, Vec<String>, Vec<String>),
) -> String {
    let mut out = String::from(
        "a full recompute changes stored results: some write moved an input of scoring \
         without rescoring in its transaction\n",
    );
    for (name, b, a) in [
        ("scores", &before.0, &after.0),
        ("candidates and bases", &before.1, &after.1),
        ("ranks", &before.2, &after.2),
    ] {
        for line in b.iter().filter(|l| !a.contains(l)) {
            out.push_str(&format!("  {name}, stored:     {line}\n"));
        }
        for line in a.iter().filter(|l| !b.contains(l)) {
            out.push_str(&format!("  {name}, recomputed: {line}\n"));
        }
    }
    out
}

pub fn test_config(db_name: &str) -> Config {
    let data = std::env::temp_dir().join(format!("dti-test-{db_name}"));
    Config {
        mode: Mode::Production,
        database_url: Some(url_for_db(db_name).into()),
        host: "127.0.0.1".into(),
        port: 0,
        jwt_secret: Some(JWT_SECRET.into()),
        jwt_issuer: ISSUER.into(),
        jwt_ttl_minutes: 60,
        evidence_dir: data.join("evidence"),
        data_dir: data,
        seeds_dir: "seeds".into(),
        max_upload_bytes: 1024 * 1024,
        max_json_bytes: 256 * 1024,
        cors_origins: vec![],
        db_pool_size: 4,
        db_timeout_ms: 2000,
        read_database: None,
        login_max_failures: 5,
        login_address_max_failures: 100,
        login_lock_seconds: 300,
        login_lock_max_seconds: 3600,
        trusted_proxies: vec![],
        metrics_token: None,
        seed_on_empty: false,
        demo_password: DEMO_PASSWORD.into(),
        workers: 1,
        evidence_store: EvidenceStoreConfig::Local,
        body_timeout_ms: 2000,
        body_min_rate: 16 * 1024,
        webhooks: test_webhook_config(),
        jobs: test_job_config(),
        caches: Default::default(),
    }
}

/// The job worker as the tests run it: on, polling and renewing leases every 50 ms, a lease of
/// 2 s; imports over 1 MiB run as jobs (as in production).
pub fn test_job_config() -> JobConfig {
    JobConfig {
        poll_interval: std::time::Duration::from_millis(50),
        lease: std::time::Duration::from_secs(2),
        ..JobConfig::default()
    }
}

/// The webhook worker as the tests run it: on, polling often, with a short retry schedule
/// (4 attempts 200 ms apart), disabling a receiver after 3 failed deliveries, and receivers on
/// plain http on loopback allowed (the local receiver of `tests/api/webhooks.rs`).
pub fn test_webhook_config() -> WebhookConfig {
    WebhookConfig {
        poll_interval: std::time::Duration::from_millis(50),
        deadline_scan_interval: std::time::Duration::from_millis(200),
        retry_schedule: vec![std::time::Duration::from_millis(200); 3],
        timeout: std::time::Duration::from_secs(5),
        disable_after_failed_deliveries: 3,
        allow_http: true,
        allow_private_targets: true,
        ..WebhookConfig::defaults(Mode::Production)
    }
}

pub async fn spawn_app() -> TestApp {
    let db_name = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    spawn_app_with(test_config(&db_name)).await
}

/// As [`spawn_app_with`], with evidence where `store` says.
pub async fn spawn_app_with_store(mut config: Config, store: EvidenceStoreConfig) -> TestApp {
    config.evidence_store = store;
    spawn_app_with(config).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    spawn_app_and_pool(config).await.0
}

/// As [`spawn_app_with`], with the app's own connection pool (to hold its connections).
pub async fn spawn_app_and_pool(config: Config) -> (TestApp, dti_api::db::DbPool) {
    let db_name = config
        .database_url
        .as_ref()
        .unwrap()
        .expose_secret()
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let app = Application::build(config.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool.clone();
    let caches = app.caches.clone();
    tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db_name,
        jwt: JwtKeys::new(JWT_SECRET.as_bytes(), ISSUER, 60),
        config,
        owns_database: true,
        caches,
        _process: None,
    };
    (app, pool)
}

/// Another replica on the database of an app, with `config` (that database's): it neither
/// checks nor drops the database, the app that created it does.
pub async fn spawn_replica(config: Config) -> TestApp {
    let mut replica = spawn_app_with(config).await;
    replica.owns_database = false;
    replica
}

/// A server process of the service's binary (`dti-api serve`), killed when dropped.
pub struct ServerProcess(std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Another replica on the database of `app`, in a process of its own: the service's binary
/// started as an operator starts it, configured through its environment alone (nothing else
/// of the test's is inherited), on a port it picks and prints. It neither checks nor drops the
/// database; the app that created it does. Its caches are its own and out of the test's reach
/// (the returned app's `caches` are not the process's). It runs in production mode, which
/// refuses to start while an active account has the demo password: the seeded accounts'
/// passwords must have been changed first ([`TestApp::retire_demo_passwords`]).
pub async fn spawn_process_replica(app: &TestApp) -> TestApp {
    use std::io::BufRead;
    let c = &app.config;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dti-api"))
        .arg("serve")
        .env_clear()
        .envs([
            ("APP_MODE", "production"),
            ("DATABASE_URL", app.database_url()),
            ("JWT_SECRET", JWT_SECRET),
            ("JWT_ISSUER", ISSUER),
            ("APP_HOST", "127.0.0.1"),
            ("APP_PORT", "0"),
            ("APP_WORKERS", "1"),
            ("DB_POOL_SIZE", "4"),
            ("SEED_ON_EMPTY", "false"),
            ("RUST_LOG", "warn"),
        ])
        .env("DATA_DIR", &c.data_dir)
        .env("SEEDS_DIR", &c.seeds_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().unwrap();
    let process = ServerProcess(child);
    // the first line it prints names its address; the rest is read (and dropped) so that the
    // pipe never fills
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(address) = line.strip_prefix("DTI API listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(address.trim().to_string());
            }
        }
    });
    let address = tokio::time::timeout(std::time::Duration::from_secs(60), rx)
        .await
        .expect("the server process says where it listens within a minute")
        .expect("the server process started");
    TestApp {
        address,
        client: app.client.clone(),
        db_name: app.db_name.clone(),
        jwt: JwtKeys::new(JWT_SECRET.as_bytes(), ISSUER, 60),
        config: app.config.clone(),
        owns_database: false,
        caches: Default::default(),
        _process: Some(process),
    }
}

/// A spawned app with `seeds/` loaded (Lào Cai demo units, groups and accounts).
pub async fn spawn_seeded_app() -> TestApp {
    let app = spawn_app().await;
    app.load_seeds();
    app
}

impl TestApp {
    /// Loads the seed files (the province's groups, units and accounts) into the app's database.
    pub fn load_seeds(&self) {
        self.with_conn(|c| {
            dti_api::services::seed::load(c, std::path::Path::new("seeds"), DEMO_PASSWORD)
                .expect("seeds load");
        });
    }

    /// Gives every account a password hash that matches no password (the test users'
    /// authenticate by token only), as an operator changes the seeded demo accounts' before a
    /// production start.
    pub fn retire_demo_passwords(&self) {
        self.with_conn(|c| {
            diesel::sql_query("UPDATE users SET password_hash = '!'")
                .execute(c)
                .unwrap();
        });
    }

    /// The test database's URL, to open connections of the test's own.
    pub fn database_url(&self) -> &str {
        self.config.database_url.as_ref().unwrap().expose_secret()
    }

    pub fn with_conn<T>(&self, f: impl FnOnce(&mut PgConnection) -> T) -> T {
        let mut c = PgConnection::establish(self.database_url()).unwrap();
        f(&mut c)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let rb = self.client.request(method, self.url(path));
        match token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    /// `GET` without credentials (the public, anonymous reads).
    pub async fn get_public(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PUT, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"username": username, "password": password}),
        )
        .await
    }

    /// A user of `role` (in unit `unit_code` for unit roles), created directly in the
    /// database, and a valid token for it.
    pub fn token_for(&self, role: Role, unit_code: Option<&str>) -> String {
        self.user_and_token(role, unit_code).1
    }

    pub fn user_and_token(&self, role: Role, unit_code: Option<&str>) -> (User, String) {
        let user = self.with_conn(|c| {
            let unit_id = unit_code.map(|code| {
                Unit::find_by_code(c, code)
                    .unwrap()
                    .unwrap_or_else(|| panic!("unit {code} exists"))
                    .id
            });
            let username = format!(
                "{}-{}",
                role.as_str().replace('_', "-"),
                &Uuid::new_v4().simple().to_string()[..8]
            );
            User::insert(
                c,
                &NewUser {
                    id: Uuid::new_v4(),
                    username: &username,
                    full_name: "Test user",
                    // not a usable hash: these users authenticate by token only
                    password_hash: "!",
                    role: role.as_str(),
                    unit_id,
                    active: true,
                },
            )
            .unwrap()
        });
        let (token, _) = self
            .jwt
            .issue(
                user.id,
                &user.username,
                role,
                user.unit_id,
                user.session_version,
            )
            .unwrap();
        (user, token)
    }
}

/// Asserts a problem+json response with `status` and `code`; returns the body.
pub async fn assert_problem(resp: Response, status: u16, code: &str) -> Value {
    let got = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "status; body: {body}");
    assert_eq!(
        ctype, "application/problem+json",
        "content type; body: {body}"
    );
    assert_eq!(body["code"], code, "code; body: {body}");
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "RFC 9457 members: {body}"
    );
    body
}

/// Moves a period to phase `to` (`POST /periods/{id}/transitions`), expecting 200.
pub async fn transition(app: &TestApp, token: &str, period: &str, to: &str) -> Value {
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/transitions"),
            Some(token),
            &serde_json::json!({ "to": to }),
        )
        .await,
        200,
    )
    .await
}

pub async fn json_ok(resp: Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "status; body: {body}");
    body
}

/// Reads an HTTP/1.1 response from `stream` for up to `wait`: its status and its whole text
/// (head and body, by its `Content-Length`), or None when it did not all come in time.
pub async fn read_response(
    stream: &mut tokio::net::TcpStream,
    wait: std::time::Duration,
) -> Option<(u16, String)> {
    let deadline = std::time::Instant::now() + wait;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        match tokio::time::timeout(left, tokio::io::AsyncReadExt::read(stream, &mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text))
}
