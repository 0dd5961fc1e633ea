//! `dti-api [serve|migrate|seed|create-admin|set-password|openapi]` (default `serve`).

use std::process::ExitCode;
use std::time::Duration;

use dti_api::config::{Config, Mode, is_weak_secret};
use dti_api::db::embedded::EmbeddedPostgres;
use dti_api::error::error_chain;
use dti_api::services::scoring::Caches;
use dti_api::startup::{Application, demo_jwt_secret, migrate_with_retry};
use secrecy::ExposeSecret;

const USAGE: &str = "usage: dti-api [serve|migrate|seed|create-admin USERNAME|set-password USERNAME|openapi]
  serve                  run the API (default)
  migrate                apply pending database migrations and exit
  seed                   load seeds/ (units, ranking groups, indicator sets; demo accounts and
                         the demo year in demo mode only) and exit; idempotent
  create-admin USERNAME  create an administrator account; the password is read from standard
                         input (first line), or from ADMIN_PASSWORD when set
  set-password USERNAME  set an account's password, read the same way
  openapi                print the OpenAPI document (regenerate with: cargo run -- openapi > openapi/openapi.json)";

fn main() -> ExitCode {
    // before any thread: each thread that allocates would otherwise get an arena of its own
    let arenas = dti_api::memory::bound_arenas();
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    if command == "openapi" {
        print!("{}", dti_api::openapi::openapi_json());
        return ExitCode::SUCCESS;
    }
    let account = std::env::args().nth(2);
    let needs_account = matches!(command.as_str(), "create-admin" | "set-password");
    if !matches!(command.as_str(), "serve" | "migrate" | "seed") && !needs_account
        || needs_account && account.is_none()
    {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    init_logging();
    if let Some(n) = arenas {
        tracing::debug!(
            "allocator arenas limited to {n}, one per core (MALLOC_ARENA_MAX overrides)"
        );
    }
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
        "create-admin" | "set-password" => {
            account_password(&config, &command, account.as_deref().unwrap_or_default())
        }
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

/// Log lines on standard error, filtered by `RUST_LOG` (default `info`); the `log` records of
/// dependencies come through as well. A line written while serving a request carries the
/// request's span (`request{request_id=…}`).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // colours for a terminal only, not for a file or a log collector
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Without `DATABASE_URL`: start (or reuse) the private cluster. In demo mode without a strong
/// `JWT_SECRET`: generate one and keep it in the data directory, so tokens survive restarts.
fn prepare_database(config: &mut Config) -> Result<Option<EmbeddedPostgres>, String> {
    if config.mode == Mode::Demo
        && config
            .jwt_secret
            .as_ref()
            .is_none_or(|s| is_weak_secret(s.expose_secret()))
    {
        let (secret, path) = demo_jwt_secret(&config.data_dir)?;
        tracing::warn!(
            "demo mode: using a generated JWT secret kept in {}",
            path.display()
        );
        config.jwt_secret = Some(secret.into());
    }
    if config.database_url.is_some() {
        return Ok(None);
    }
    tracing::info!(
        "DATABASE_URL is not set: starting a private PostgreSQL cluster under {}",
        config.data_dir.display()
    );
    let pg = EmbeddedPostgres::start(&config.data_dir).map_err(|e| e.to_string())?;
    config.database_url = Some(pg.url.clone().into());
    Ok(Some(pg))
}

/// The database URL, password included, for opening a pool (set by now: `prepare_database`
/// starts a private cluster when it is missing).
fn database_url(config: &Config) -> &str {
    config
        .database_url
        .as_ref()
        .map(|u| u.expose_secret())
        .unwrap_or_default()
}

fn migrate(config: &Config) -> Result<(), String> {
    let url = database_url(config);
    let pool = dti_api::db::build_pool(url, 1, Duration::from_millis(config.db_timeout_ms));
    let applied = migrate_with_retry(&pool, Duration::from_secs(60), &Caches::new(&config.caches))
        .map_err(|e| error_chain(e.as_ref()))?;
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

/// Demo mode loads everything; production leaves out the demo accounts (their password is
/// published).
fn seed(config: &Config) -> Result<(), String> {
    migrate(config)?;
    let url = database_url(config);
    let pool = dti_api::db::build_pool(url, 1, Duration::from_millis(config.db_timeout_ms));
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let report = match config.mode {
        Mode::Demo => {
            dti_api::services::seed::load(&mut conn, &config.seeds_dir, &config.demo_password)
        }
        Mode::Production => {
            dti_api::services::seed::load_reference_data(&mut conn, &config.seeds_dir)
        }
    }
    .map_err(|e| error_chain(&e))?;
    println!("seeds loaded: {report}");
    if config.mode == Mode::Demo {
        let year = dti_api::services::demo_year::load(&mut conn, &Caches::new(&config.caches))
            .map_err(|e| error_chain(&e))?;
        println!("demo year: {year}");
    }
    if config.mode == Mode::Production {
        println!("production mode: no demo account was created (see `dti-api create-admin`)");
    }
    Ok(())
}

/// `create-admin USERNAME` and `set-password USERNAME`: the password comes from
/// `ADMIN_PASSWORD` or the first line of standard input, never from the command line (which
/// other local users can read).
fn account_password(config: &Config, command: &str, username: &str) -> Result<(), String> {
    migrate(config)?;
    let password = match std::env::var("ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("password for {username} (the line is shown as you type):");
            }
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("reading the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let url = database_url(config);
    let pool = dti_api::db::build_pool(url, 1, Duration::from_millis(config.db_timeout_ms));
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let done = if command == "create-admin" {
        dti_api::services::users::create_admin(&mut conn, username, &password)
    } else {
        dti_api::services::users::set_password(&mut conn, username, &password)
    };
    match done {
        Ok(user) => {
            println!("{command}: done for {} ({})", user.username, user.role);
            Ok(())
        }
        Err(dti_api::error::AppError::Client(c)) => Err(c
            .errors
            .iter()
            .fold(format!("{}: {}", c.code, c.detail), |out, f| {
                format!("{out}\n  {}: {} ({})", f.field, f.message, f.code)
            })),
        Err(e) => Err(error_chain(&e)),
    }
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
