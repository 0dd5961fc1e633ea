//! Production mode never trusts demo settings; the private cluster, the generated secret and
//! evidence files are private.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use diesel::prelude::*;
use dti_api::config::Mode;
use dti_api::db::embedded::{EmbeddedError, EmbeddedPostgres};
use dti_api::domain::Role;
use dti_api::startup::Application;
use serde_json::json;

use crate::fixtures::{assessment_of, files_under, open_period, pdf, upload};
use crate::helpers::*;

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn user_count(db: &str) -> i64 {
    let mut c = PgConnection::establish(&url_for_db(db)).unwrap();
    dti_api::db::schema::users::table
        .count()
        .get_result(&mut c)
        .unwrap()
}

async fn build_error(config: dti_api::config::Config) -> String {
    match Application::build(config).await {
        Ok(_) => panic!("the application started"),
        Err(e) => dti_api::error::error_chain(e.as_ref()),
    }
}

#[tokio::test]
async fn production_refuses_to_start_when_it_would_seed_demo_accounts() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.seed_on_empty = true;
    let e = build_error(config).await;
    assert!(e.starts_with("SEED_ON_EMPTY is invalid"), "{e}");
    assert!(e.contains("create-admin"), "says what to do instead: {e}");
    assert_eq!(user_count(&db), 0, "no account was created");
    // demo mode still seeds an empty database
    let mut config = test_config(&db);
    config.mode = Mode::Demo;
    config.seed_on_empty = true;
    let app = spawn_app_with(config).await;
    assert!(user_count(&db) > 40);
    json_ok(app.login("admin", DEMO_PASSWORD).await, 200).await;
    // with the demo year: a past period published, visible without a token
    let public = json_ok(app.get_public("/api/v1/public/periods").await, 200).await;
    assert_eq!(public[0]["code"], dti_api::services::demo_year::PAST_PERIOD);
}

#[tokio::test]
async fn production_refuses_missing_database_url_and_weak_secrets() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.database_url = None;
    let e = build_error(config).await;
    assert!(e.starts_with("DATABASE_URL is invalid: required"), "{e}");
    for weak in [
        "demo-dti-2026demo-dti-2026demo-dti-2026",
        "0123456789abcdefghijklmnopqrstuvwxyz0123",
        "your-256-bit-secret-your-256-bit-secret",
    ] {
        let mut config = test_config(&db);
        config.jwt_secret = Some(weak.into());
        let e = build_error(config).await;
        assert!(e.starts_with("JWT_SECRET is invalid: too weak"), "{e}");
    }
    drop_database(&db);
}

#[tokio::test]
async fn production_refuses_a_database_where_an_active_account_has_the_demo_password() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let url = url_for_db(&db);
    let mut c = PgConnection::establish(&url).unwrap();
    dti_api::services::seed::load(&mut c, Path::new("seeds"), DEMO_PASSWORD).unwrap();
    let e = build_error(test_config(&db)).await;
    assert!(e.contains("demo password"), "{e}");
    assert!(e.contains("admin") && e.contains("set-password"), "{e}");

    // deactivated accounts cannot log in; a changed password clears the account
    diesel::sql_query("UPDATE users SET active = false WHERE username <> 'admin'")
        .execute(&mut c)
        .unwrap();
    let e = build_error(test_config(&db)).await;
    assert!(
        e.contains("1 active account(s)") && e.contains("(admin)"),
        "{e}"
    );
    // the published password cannot be set instead
    let refused =
        dti_api::services::users::set_password(&mut c, "admin", DEMO_PASSWORD).unwrap_err();
    assert!(
        format!("{refused:?}").contains("PUBLISHED_PASSWORD"),
        "{refused:?}"
    );
    dti_api::services::users::set_password(&mut c, "admin", "a-long-secret-2026").unwrap();
    let app = spawn_app_with(test_config(&db)).await;
    assert_problem(
        app.login("admin", DEMO_PASSWORD).await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    json_ok(app.login("admin", "a-long-secret-2026").await, 200).await;
    // an account reactivated with its seeded password is caught again
    diesel::sql_query("UPDATE users SET active = true WHERE username = 'viewer.ubnd'")
        .execute(&mut c)
        .unwrap();
    let e = build_error(test_config(&db)).await;
    assert!(e.contains("(viewer.ubnd)"), "{e}");
}

#[tokio::test]
async fn a_configured_demo_password_is_refused_in_production_too() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut c = PgConnection::establish(&url_for_db(&db)).unwrap();
    dti_api::services::seed::load(&mut c, Path::new("seeds"), "lao-cai-trial-2026").unwrap();
    let mut config = test_config(&db);
    config.demo_password = "lao-cai-trial-2026".into();
    let e = build_error(config).await;
    assert!(e.contains("demo password"), "{e}");
    drop(c);
    drop_database(&db);
}

#[tokio::test]
async fn production_seed_loads_reference_data_without_accounts() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut c = PgConnection::establish(&url_for_db(&db)).unwrap();
    let report = dti_api::services::seed::load_reference_data(&mut c, Path::new("seeds")).unwrap();
    assert!(report.units > 10 && report.indicator_sets > 0, "{report}");
    assert_eq!(user_count(&db), 0);
    let admin =
        dti_api::services::users::create_admin(&mut c, "root.admin", "a-long-secret-2026").unwrap();
    assert_eq!(admin.role, "admin");
    let app = spawn_app_with(test_config(&db)).await;
    let token = json_ok(app.login("root.admin", "a-long-secret-2026").await, 200).await;
    assert!(token["access_token"].is_string());
}

#[tokio::test]
async fn the_api_refuses_the_published_demo_password() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let resp = app
        .post_json(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "editor.new", "full_name": "Nguyễn Văn A",
                    "password": "Demo-DTI-2026", "role": "reviewer"}),
        )
        .await;
    let body = assert_problem(resp, 422, "VALIDATION_FAILED").await;
    assert_eq!(body["errors"][0]["code"], "PUBLISHED_PASSWORD", "{body}");
}

#[tokio::test]
async fn evidence_files_and_folders_are_private_to_the_service() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    json_ok(
        upload(&app, &editor, &a, "1.1", "a.pdf", pdf("private")).await,
        201,
    )
    .await;
    let root = &app.config.evidence_dir;
    let files = files_under(root);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode_of(&files[0]), 0o600);
    assert_eq!(mode_of(root), 0o700);
    let mut dir = files[0].parent().unwrap();
    while dir != root.as_path() {
        assert_eq!(mode_of(dir), 0o700, "{}", dir.display());
        dir = dir.parent().unwrap();
    }
}

#[test]
fn the_generated_demo_secret_is_strong_private_and_kept() {
    let dir = std::env::temp_dir().join(format!("dti-secret-{}", uuid::Uuid::new_v4()));
    let (secret, path) = dti_api::startup::demo_jwt_secret(&dir).unwrap();
    assert!(!dti_api::config::is_weak_secret(&secret));
    assert_eq!(mode_of(&path), 0o600);
    // an older world-readable file is kept but made private
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (again, _) = dti_api::startup::demo_jwt_secret(&dir).unwrap();
    assert_eq!(again, secret);
    assert_eq!(mode_of(&path), 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn running(pg: &EmbeddedPostgres) -> bool {
    PgConnection::establish(&pg.admin_url).is_ok()
}

/// A process id that is surely gone: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn the_private_cluster_asks_for_a_password_and_is_stopped_by_whoever_started_it() {
    let base = std::env::temp_dir().join(format!("dti-pg-{}", uuid::Uuid::new_v4().simple()));
    let data = base.join("data");
    let pg = EmbeddedPostgres::start(&data).expect("the private cluster starts");
    assert!(pg.owned());
    let expected_data_mode = if is_root() { 0o711 } else { 0o700 };
    assert_eq!(mode_of(&data), expected_data_mode);
    assert_eq!(mode_of(&pg.cluster_dir), 0o700);
    assert_eq!(mode_of(&data.join("postgres.password")), 0o600);
    assert!(!data.join("postgres.pwfile").exists());
    let hba = std::fs::read_to_string(pg.cluster_dir.join("pg_hba.conf")).unwrap();
    assert!(
        !hba.lines()
            .any(|l| l.contains("trust") && !l.starts_with('#')),
        "{hba}"
    );
    // the database answers with the password, and only with it
    let mut c = PgConnection::establish(&pg.url).expect("dti answers with the password");
    diesel::sql_query("SELECT 1").execute(&mut c).unwrap();
    let port = pg
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let err = PgConnection::establish(&format!("postgres://postgres@127.0.0.1:{port}/dti"))
        .err()
        .expect("no password, no connection");
    assert!(err.to_string().contains("password"), "{err}");
    let wrong = format!("postgres://postgres:wrong@127.0.0.1:{port}/dti");
    assert!(PgConnection::establish(&wrong).is_err());
    drop(c);

    // a second service while the first runs reuses the server and leaves it running
    let second = EmbeddedPostgres::start(&data).unwrap();
    assert!(!second.owned());
    second.stop();
    assert!(running(&pg));

    // the first one crashed (its process is gone): the next start adopts the server and
    // its clean stop stops it
    std::fs::write(data.join("postgres.owner"), dead_pid().to_string()).unwrap();
    let adopted = EmbeddedPostgres::start(&data).unwrap();
    assert!(adopted.owned());
    assert_eq!(adopted.url, pg.url);
    adopted.stop();
    assert!(!running(&pg), "stopped");
    assert!(!data.join("postgres.owner").exists());

    // a stopped cluster starts again with the same password
    let restarted = EmbeddedPostgres::start(&data).unwrap();
    assert!(restarted.owned());
    PgConnection::establish(&restarted.url).expect("same password");
    restarted.stop();
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn root_gets_a_clear_error_when_the_postgres_user_cannot_reach_the_data_directory() {
    if !is_root() {
        // Only root hands the cluster to the postgres user; as anyone else there is nothing
        // to refuse (CI runs as root).
        return;
    }
    let closed = std::env::temp_dir().join(format!("dti-closed-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = match EmbeddedPostgres::start(&closed.join("project/.dti-data")) {
        Err(e) => e,
        Ok(pg) => {
            pg.stop();
            panic!("started under a 0700 folder")
        }
    };
    assert!(matches!(err, EmbeddedError::Unreachable { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&closed.display().to_string()), "{msg}");
    assert!(msg.contains("DATA_DIR"), "{msg}");
    std::fs::remove_dir_all(&closed).unwrap();
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut brotli_decompressor::Decompressor::new(bytes, 4096),
        &mut out,
    )
    .unwrap();
    out
}

/// `(Content-Encoding, body bytes as sent)` of a GET with `Accept-Encoding: accept`.
async fn fetch_encoded(
    app: &TestApp,
    path: &str,
    accept: &str,
    token: Option<&str>,
) -> (String, Vec<u8>) {
    let resp = app
        .request(reqwest::Method::GET, path, token)
        .header("accept-encoding", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let encoding = resp
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (encoding, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_spec_and_the_swagger_bundle_are_compressed_when_asked() {
    let app = spawn_app().await;
    for path in [
        "/api-docs/openapi.json",
        "/swagger-ui/swagger-ui-bundle.js",
        "/swagger-ui/swagger-ui.css",
    ] {
        let (encoding, plain) = fetch_encoded(&app, path, "identity", None).await;
        assert!(
            encoding.is_empty() || encoding == "identity",
            "{path}: {encoding}"
        );
        let (encoding, br) = fetch_encoded(&app, path, "br", None).await;
        assert_eq!(encoding, "br", "{path}");
        assert_eq!(unbrotli(&br), plain, "{path}");
        let (encoding, gz) = fetch_encoded(&app, path, "gzip", None).await;
        assert_eq!(encoding, "gzip", "{path}");
        assert_eq!(gunzip(&gz), plain, "{path}");
        // a browser offers both and gets the smaller, brotli
        let (encoding, _) = fetch_encoded(&app, path, "gzip, deflate, br, zstd", None).await;
        assert_eq!(encoding, "br", "{path}");
        assert!(
            br.len() * 3 < plain.len(),
            "{path}: {} → {}",
            plain.len(),
            br.len()
        );
        println!(
            "{path}: {} bytes plain, {} gzip, {} br",
            plain.len(),
            gz.len(),
            br.len()
        );
    }
}

#[tokio::test]
async fn evidence_downloads_go_out_as_stored_bytes() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    // a compressible file: compressing it would change what the client stores
    let bytes = pdf(&"Biên bản họp ban chỉ đạo chuyển đổi số. ".repeat(200));
    let ev = json_ok(
        upload(&app, &editor, &a, "1.1", "bien-ban.pdf", bytes.clone()).await,
        201,
    )
    .await;
    let url = ev["download_url"].as_str().unwrap();
    for accept in ["br", "gzip", "gzip, deflate, br, zstd"] {
        let (encoding, got) = fetch_encoded(&app, url, accept, Some(&editor)).await;
        assert!(
            encoding.is_empty() || encoding == "identity",
            "{accept}: {encoding}"
        );
        assert_eq!(got, bytes, "{accept}");
    }
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let action = action.to_string();
    app.with_conn(move |c| {
        use dti_api::db::schema::audit_events::dsl;
        dsl::audit_events
            .filter(dsl::action.eq(action))
            .count()
            .get_result(c)
            .unwrap()
    })
}

#[tokio::test]
async fn repeating_a_submit_or_a_transition_is_a_no_op_for_the_same_caller() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    for (node, inputs) in [
        (
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Biên bản lưu giấy"}),
        ),
        ("1.2", json!({"inputs": {"numerator": 3, "denominator": 4}})),
        ("2.2", json!({"inputs": {"option": "deputy"}})),
    ] {
        json_ok(
            crate::fixtures::put(&app, &editor, &a, node, inputs).await,
            200,
        )
        .await;
    }
    let submit_path = format!("/api/v1/assessments/{a}/submit");
    let empty = json!({});
    let submit = || app.post_json(&submit_path, Some(&leader), &empty);
    let first = json_ok(submit().await, 200).await;
    assert_eq!(first["state"], "submitted");
    let again = json_ok(submit().await, 200).await;
    assert_eq!(again, first, "the same answer, and no new version");
    assert_eq!(audit_count(&app, "assessment.submit").await, 1);
    // another leader of the unit did not submit it: still a conflict for them
    let other_leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&other_leader),
            &json!({}),
        )
        .await,
        409,
        "ALREADY_SUBMITTED",
    )
    .await;

    let first = transition(&app, &admin, &period, "review").await;
    let transitions = audit_count(&app, "period.transition").await;
    let again = transition(&app, &admin, &period, "review").await;
    assert_eq!(again, first, "the same answer, and no new version");
    assert_eq!(audit_count(&app, "period.transition").await, transitions);
    // another administrator asking for the phase the period is already in is told so
    let other_admin = app.token_for(Role::Admin, None);
    assert_problem(
        app.post_json(
            &format!("/api/v1/periods/{period}/transitions"),
            Some(&other_admin),
            &json!({"to": "review"}),
        )
        .await,
        409,
        "INVALID_TRANSITION",
    )
    .await;
    // once the period moved on, the old request is a real transition again
    let back = transition(&app, &admin, &period, "self_assessment").await;
    assert_ne!(back["lock_version"], first["lock_version"]);
}

#[tokio::test]
async fn swagger_ui_keeps_the_authorisation_shows_the_filter_and_prefills_no_idempotency_key() {
    let app = spawn_app().await;
    let init = app
        .get_public("/swagger-ui/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains(r#""persistAuthorization": true"#), "{init}");
    assert!(init.contains(r#""filter": true"#), "{init}");
    assert!(init.contains("/api-docs/openapi.json"), "{init}");
    let spec: serde_json::Value = app
        .get_public("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let mut keyed = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "Idempotency-Key" {
                    keyed += 1;
                    // a prefilled example would be sent by every account, and the second
                    // call with another body refused as IDEMPOTENCY_KEY_REUSED for 24 hours
                    assert!(
                        p.get("example").is_none() && p["schema"].get("example").is_none(),
                        "{method} {path}: {p}"
                    );
                    assert!(p["description"].as_str().unwrap().contains("fresh UUID"));
                }
            }
        }
    }
    assert!(keyed >= 10, "{keyed}");
    // the login example is a real demo account
    let login =
        &spec["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"];
    let example = login
        .get("example")
        .unwrap_or(&spec["components"]["schemas"]["LoginRequest"]["example"]);
    assert_eq!(
        example,
        &json!({"username": "admin", "password": DEMO_PASSWORD})
    );
    let description = spec["info"]["description"].as_str().unwrap();
    for account in [
        "admin",
        "reviewer.01",
        "viewer.ubnd",
        "editor.skhcn",
        "leader.skhcn",
    ] {
        assert!(description.contains(account), "{account}: {description}");
    }
}

#[test]
fn the_harness_runs_its_own_cluster_when_no_server_answers() {
    let url = private_cluster_url();
    assert_eq!(private_cluster_url(), url, "one cluster, reused");
    let mut c = PgConnection::establish(&url).expect("the private test cluster answers");
    let can_create: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "(SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user)",
    ))
    .get_result(&mut c)
    .unwrap();
    assert!(can_create);
    assert!(
        !url.contains(":@") && url.starts_with("postgres://postgres:"),
        "a password: {url}"
    );
}

#[test]
fn a_trust_cluster_from_an_older_version_is_switched_to_passwords() {
    let base = std::env::temp_dir().join(format!("dti-pg-{}", uuid::Uuid::new_v4().simple()));
    let data = base.join("data");
    let pg = EmbeddedPostgres::start(&data).unwrap();
    // what older versions left: trust on 127.0.0.1, no password file
    std::fs::write(
        pg.cluster_dir.join("pg_hba.conf"),
        "local all all trust\nhost all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    let bin = dti_api::db::embedded::find_bin_dir()
        .unwrap()
        .join("pg_ctl");
    let mut reload = if is_root() {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    assert!(
        reload
            .arg("-D")
            .arg(&pg.cluster_dir)
            .arg("reload")
            .status()
            .unwrap()
            .success()
    );
    std::fs::remove_file(data.join("postgres.password")).unwrap();
    let port = pg
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let trust = format!("postgres://postgres@127.0.0.1:{port}/dti");
    for _ in 0..50 {
        if PgConnection::establish(&trust).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    PgConnection::establish(&trust).expect("trust, as older versions had it");

    let switched = EmbeddedPostgres::start(&data).unwrap();
    assert_ne!(switched.url, pg.url, "a new password");
    assert_eq!(mode_of(&data.join("postgres.password")), 0o600);
    PgConnection::establish(&switched.url).expect("the new password works");
    std::thread::sleep(std::time::Duration::from_millis(300)); // the reload is asynchronous
    assert!(PgConnection::establish(&trust).is_err(), "no more trust");
    pg.stop();
    let _ = std::fs::remove_dir_all(&base);
}
