//! First run without `DATABASE_URL`: a private PostgreSQL cluster under the data directory,
//! run with the PostgreSQL server binaries installed on the machine (no download).
//!
//! The cluster lives in `<DATA_DIR>/postgres`, listens on 127.0.0.1 only (trust auth, so it
//! is for a workstation, never for production), and is reused on the next start. When the
//! service runs as root, PostgreSQL refuses to; the cluster is then owned by and run as the
//! `postgres` system user that Debian's packages create.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::{Connection, PgConnection, RunQueryDsl};

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl) were found. Either install PostgreSQL \
         (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql`) or set \
         DATABASE_URL to an existing database, e.g. postgres://user:password@127.0.0.1:5432/dti"
    )]
    NoBinaries,
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
}

fn step(step: &'static str, detail: impl std::fmt::Display) -> EmbeddedError {
    EmbeddedError::Step {
        step,
        detail: detail.to_string(),
    }
}

/// A running private cluster.
pub struct EmbeddedPostgres {
    pub url: String,
    pub cluster_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<String>,
    started_here: bool,
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// Finds the server binaries: `PG_BIN_DIR`, Debian's `/usr/lib/postgresql/<newest>/bin`,
/// `pg_config --bindir`, then `PATH`.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if has_server_binaries(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, p)| has_server_binaries(p))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server_binaries(&dir) {
            return Some(dir);
        }
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|p| has_server_binaries(p)))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl EmbeddedPostgres {
    /// Starts the cluster under `data_dir` (initialising it on first use) or reuses it when it
    /// already runs, and makes sure database `dti` exists.
    pub fn start(data_dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        std::fs::create_dir_all(data_dir).map_err(|e| step("creating the data directory", e))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(|e| step("resolving the data directory", e))?;
        let cluster_dir = data_dir.join("postgres");
        let run_as = is_root().then(|| "postgres".to_string());
        let mut pg = EmbeddedPostgres {
            url: String::new(),
            cluster_dir,
            bin_dir,
            run_as,
            started_here: false,
        };
        if !pg.cluster_dir.join("PG_VERSION").is_file() {
            pg.init()?;
        }
        let port_file = data_dir.join("postgres.port");
        let port = match pg.status_running() {
            true => std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok())
                .ok_or_else(|| {
                    step(
                        "reading the port of the running cluster",
                        "postgres.port missing",
                    )
                })?,
            false => {
                let port = free_port()?;
                std::fs::write(&port_file, port.to_string())
                    .map_err(|e| step("writing postgres.port", e))?;
                pg.start_server(port)?;
                pg.started_here = true;
                port
            }
        };
        let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let mut conn = PgConnection::establish(&admin_url)
            .map_err(|e| step("connecting to the private cluster", e))?;
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = 'dti')",
        ))
        .get_result(&mut conn)
        .map_err(|e| step("checking database dti", e))?;
        if !exists {
            diesel::sql_query("CREATE DATABASE dti")
                .execute(&mut conn)
                .map_err(|e| step("creating database dti", e))?;
        }
        pg.url = format!("postgres://postgres@127.0.0.1:{port}/dti");
        Ok(pg)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, what: &'static str, mut cmd: Command) -> Result<(), EmbeddedError> {
        let out = cmd.output().map_err(|e| step(what, e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(step(
                what,
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            ))
        }
    }

    fn init(&self) -> Result<(), EmbeddedError> {
        std::fs::create_dir_all(&self.cluster_dir)
            .map_err(|e| step("creating the cluster directory", e))?;
        if let Some(user) = &self.run_as {
            let mut chown = Command::new("chown");
            chown
                .arg("-R")
                .arg(format!("{user}:"))
                .arg(&self.cluster_dir);
            self.run("handing the cluster directory to the postgres user", chown)?;
        }
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&self.cluster_dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        self.run("initdb", cmd)
    }

    fn status_running(&self) -> bool {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D").arg(&self.cluster_dir).arg("status");
        cmd.output().map(|o| o.status.success()).unwrap_or(false)
    }

    fn start_server(&self, port: u16) -> Result<(), EmbeddedError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.cluster_dir)
            .arg("-l")
            .arg(self.cluster_dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1",
                self.cluster_dir.display()
            ))
            .arg("start");
        self.run("starting the private PostgreSQL cluster", cmd)
    }

    /// Stops the cluster if this process started it.
    pub fn stop(&self) {
        if !self.started_here {
            return;
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.cluster_dir)
            .args(["-m", "fast", "-w", "stop"]);
        if let Err(e) = self.run("stopping the private PostgreSQL cluster", cmd) {
            log::warn!("{e}");
        }
    }
}

fn free_port() -> Result<u16, EmbeddedError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| step("finding a free port", e))?;
    let port = l
        .local_addr()
        .map_err(|e| step("finding a free port", e))?
        .port();
    Ok(port)
}
