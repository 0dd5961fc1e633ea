//! `dti-api [serve|migrate|seed|openapi]` (default `serve`).

use std::process::ExitCode;
use std::time::Duration;

use dti_api::config::{Config, Mode, is_weak_secret};
use dti_api::db::embedded::EmbeddedPostgres;
use dti_api::error::error_chain;
use dti_api::startup::{Application, migrate_with_retry};

const USAGE: &str = "usage: dti-api [serve|migrate|seed|openapi]
  serve    run the API (default)
  migrate  apply pending database migrations and exit
  seed     load seeds/ (units, ranking groups, demo accounts) and exit; idempotent
  openapi  print the OpenAPI document (regenerate with: cargo run -- openapi > openapi/openapi.json)";

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    if command == "openapi" {
        print!("{}", dti_api::openapi::openapi_json());
        return ExitCode::SUCCESS;
    }
    if !matches!(command.as_str(), "serve" | "migrate" | "seed") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let embedded = match prepare_database(&mut config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command.as_str() {
        "migrate" => migrate(&config),
        "seed" => seed(&config),
        _ => serve(config),
    };
    if let Some(pg) = &embedded {
        pg.stop();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Without `DATABASE_URL`: start (or reuse) the private cluster. In demo mode without a strong
/// `JWT_SECRET`: generate one and keep it in the data directory, so tokens survive restarts.
fn prepare_database(config: &mut Config) -> Result<Option<EmbeddedPostgres>, String> {
    if config.mode == Mode::Demo && config.jwt_secret.as_deref().is_none_or(is_weak_secret) {
        let path = config.data_dir.join("jwt-secret");
        let secret = match std::fs::read_to_string(&path) {
            Ok(s) if !is_weak_secret(s.trim()) => s.trim().to_string(),
            _ => {
                let s = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                std::fs::create_dir_all(&config.data_dir)
                    .map_err(|e| format!("creating {}: {e}", config.data_dir.display()))?;
                std::fs::write(&path, &s)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                s
            }
        };
        log::warn!(
            "demo mode: using a generated JWT secret kept in {}",
            path.display()
        );
        config.jwt_secret = Some(secret);
    }
    if config.database_url.is_some() {
        return Ok(None);
    }
    log::info!(
        "DATABASE_URL is not set: starting a private PostgreSQL cluster under {}",
        config.data_dir.display()
    );
    let pg = EmbeddedPostgres::start(&config.data_dir).map_err(|e| e.to_string())?;
    config.database_url = Some(pg.url.clone());
    Ok(Some(pg))
}

fn migrate(config: &Config) -> Result<(), String> {
    let url = config.database_url.as_deref().unwrap_or_default();
    let pool = dti_api::db::build_pool(url, 1, Duration::from_millis(config.db_timeout_ms));
    let applied =
        migrate_with_retry(&pool, Duration::from_secs(60)).map_err(|e| error_chain(e.as_ref()))?;
    println!(
        "applied {} migration(s){}",
        applied.len(),
        if applied.is_empty() {
            String::new()
        } else {
            format!(": {}", applied.join(", "))
        }
    );
    Ok(())
}

fn seed(config: &Config) -> Result<(), String> {
    migrate(config)?;
    let url = config.database_url.as_deref().unwrap_or_default();
    let pool = dti_api::db::build_pool(url, 1, Duration::from_millis(config.db_timeout_ms));
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let report = dti_api::services::seed::load(&mut conn, &config.seeds_dir, &config.demo_password)
        .map_err(|e| error_chain(&e))?;
    println!("seeds loaded: {report}");
    Ok(())
}

fn serve(config: Config) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let host = config.host.clone();
        let demo = config.mode == Mode::Demo;
        let password = config.demo_password.clone();
        let app = Application::build(config).await.map_err(|e| error_chain(e.as_ref()))?;
        let shown_host = if host == "0.0.0.0" { "127.0.0.1".to_string() } else { host };
        let base = format!("http://{shown_host}:{}", app.port());
        println!("DTI API listening on {base}");
        println!("  Swagger UI:   {base}/swagger-ui/");
        println!("  OpenAPI:      {base}/api-docs/openapi.json");
        println!("  Health:       {base}/health/ready");
        if demo {
            println!("  Demo logins (password {password:?}): admin, reviewer.01, viewer.ubnd, editor.skhcn, leader.skhcn, editor.xa-bac-ha, leader.xa-bac-ha …");
            println!("  Try: curl -s -X POST {base}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"username\":\"admin\",\"password\":\"{password}\"}}'");
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
