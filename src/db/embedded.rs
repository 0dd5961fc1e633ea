//! First run without `DATABASE_URL`: a private PostgreSQL cluster under the data directory,
//! run with the PostgreSQL server binaries installed on the machine (no download). Demo mode
//! only: production requires `DATABASE_URL`.
//!
//! The cluster lives in `<DATA_DIR>/postgres` (mode 0700), listens on 127.0.0.1 only and
//! asks for a password (scram-sha-256) on every connection, local socket included. The
//! password is generated at `initdb` and kept in `<DATA_DIR>/postgres.password` (mode 0600);
//! a cluster made by an older version with trust authentication is switched over on its next
//! start. When the service runs as root, PostgreSQL refuses to; the cluster is then owned by
//! and run as the `postgres` system user that Debian's packages create, which must be able to
//! reach the data directory.
//!
//! `<DATA_DIR>/postgres.owner` holds the process id of the service that started the server.
//! A later start that finds the server running and its starter gone (a crash, a kill) takes
//! it over, so that its own clean stop stops the server too; a server that another live
//! process started is reused and left running.

use std::fs;
use std::io::Write;
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
    #[error(
        "the private PostgreSQL cluster cannot live in {dir}: this service runs as root, so the \
         cluster runs as the `postgres` system user, which cannot reach that directory \
         ({blocker} is closed to other users, as /root usually is). Run the service as a normal \
         user, or set DATA_DIR to a directory the postgres user can reach (e.g. \
         DATA_DIR=/var/lib/dti), or set DATABASE_URL to an existing database"
    )]
    Unreachable { dir: String, blocker: String },
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
    /// Database `dti`, with the generated password.
    pub url: String,
    /// Database `postgres`, for administrative statements (the test harness creates its
    /// databases there).
    pub admin_url: String,
    pub cluster_dir: PathBuf,
    data_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<String>,
    /// This process started the server or took it over: [`EmbeddedPostgres::stop`] stops it.
    owner: bool,
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
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
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

/// Creates `dir` (and its parents) and sets its mode.
#[cfg(unix)]
fn private_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path, _mode: u32) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

/// Writes `contents` to a new file only its owner can read or write (0600), replacing any.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let _ = fs::remove_file(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// 32 hex characters from two v4 UUIDs' random bits: URL-safe, 244 bits.
fn generate_password() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// Every connection (socket and TCP) proves the password.
const PG_HBA: &str = "# Written by dti-api: every connection gives the password (scram-sha-256).
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
";

/// Whether a process with this id is alive.
fn alive(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl EmbeddedPostgres {
    /// Starts the cluster under `data_dir` (initialising it on first use) or reuses it when it
    /// already runs, and makes sure database `dti` exists.
    pub fn start(data_dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        let run_as = is_root().then(|| "postgres".to_string());
        // Other users may pass through (but not list) the data directory when the cluster
        // runs as `postgres`; its files are private one by one.
        let mode = if run_as.is_some() { 0o711 } else { 0o700 };
        private_dir(data_dir, mode).map_err(|e| step("creating the data directory", e))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(|e| step("resolving the data directory", e))?;
        let cluster_dir = data_dir.join("postgres");
        let mut pg = EmbeddedPostgres {
            url: String::new(),
            admin_url: String::new(),
            cluster_dir,
            data_dir: data_dir.clone(),
            bin_dir,
            run_as,
            owner: false,
        };
        pg.check_reachable()?;
        let password_file = data_dir.join("postgres.password");
        let mut password = fs::read_to_string(&password_file)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if !pg.cluster_dir.join("PG_VERSION").is_file() {
            let fresh = generate_password();
            pg.init(&fresh)?;
            write_private_file(&password_file, fresh.as_bytes())
                .map_err(|e| step("writing postgres.password", e))?;
            password = Some(fresh);
        }
        let port_file = data_dir.join("postgres.port");
        let port = if pg.status_running() {
            pg.take_over_if_orphaned()?;
            fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok())
                .ok_or_else(|| {
                    step(
                        "reading the port of the running cluster",
                        "postgres.port missing",
                    )
                })?
        } else {
            let port = free_port()?;
            fs::write(&port_file, port.to_string())
                .map_err(|e| step("writing postgres.port", e))?;
            pg.start_server(port)?;
            pg.claim()?;
            port
        };
        let password = match password {
            Some(p) => p,
            // A cluster from a version that used trust authentication: give it a password.
            None => pg.switch_to_password(port, &password_file)?,
        };
        pg.admin_url = format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres");
        let mut conn = PgConnection::establish(&pg.admin_url)
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
        pg.url = format!("postgres://postgres:{password}@127.0.0.1:{port}/dti");
        Ok(pg)
    }

    /// As root, the `postgres` user must be able to pass through every parent directory.
    fn check_reachable(&self) -> Result<(), EmbeddedError> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        for dir in self.data_dir.ancestors() {
            let ok = Command::new("runuser")
                .args(["-u", user, "--", "test", "-x"])
                .arg(dir)
                .status()
                .map_err(|e| step("checking what the postgres user can reach", e))?
                .success();
            if !ok {
                let blocker = self
                    .data_dir
                    .ancestors()
                    .filter(|d| {
                        !Command::new("runuser")
                            .args(["-u", user, "--", "test", "-x"])
                            .arg(d)
                            .status()
                            .is_ok_and(|s| s.success())
                    })
                    .last()
                    .unwrap_or(dir);
                return Err(EmbeddedError::Unreachable {
                    dir: self.data_dir.display().to_string(),
                    blocker: blocker.display().to_string(),
                });
            }
        }
        Ok(())
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

    /// Hands `path` to the user the cluster runs as (when running as root).
    fn hand_over(&self, path: &Path) -> Result<(), EmbeddedError> {
        if let Some(user) = &self.run_as {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(format!("{user}:")).arg(path);
            self.run("handing the cluster directory to the postgres user", chown)?;
        }
        Ok(())
    }

    fn init(&self, password: &str) -> Result<(), EmbeddedError> {
        private_dir(&self.cluster_dir, 0o700)
            .map_err(|e| step("creating the cluster directory", e))?;
        self.hand_over(&self.cluster_dir)?;
        // initdb reads the superuser's password from a file; it goes as soon as initdb ends.
        let pwfile = self.data_dir.join("postgres.pwfile");
        write_private_file(&pwfile, password.as_bytes())
            .map_err(|e| step("writing the initial password file", e))?;
        self.hand_over(&pwfile)?;
        let mut cmd = self.command("initdb");
        cmd.arg("-D")
            .arg(&self.cluster_dir)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        let result = self.run("initdb", cmd);
        let _ = fs::remove_file(&pwfile);
        result
    }

    /// Sets a generated password on a cluster made with trust authentication, and makes every
    /// connection ask for it from now on.
    fn switch_to_password(&self, port: u16, password_file: &Path) -> Result<String, EmbeddedError> {
        let password = generate_password();
        let trust_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let mut conn = PgConnection::establish(&trust_url).map_err(|e| {
            step(
                "connecting to the private cluster",
                format!("{e} (no postgres.password beside the cluster, and it does not trust 127.0.0.1 either)"),
            )
        })?;
        diesel::sql_query("SET password_encryption = 'scram-sha-256'")
            .execute(&mut conn)
            .map_err(|e| step("setting the cluster's password", e))?;
        diesel::sql_query(format!("ALTER ROLE postgres PASSWORD '{password}'"))
            .execute(&mut conn)
            .map_err(|e| step("setting the cluster's password", e))?;
        write_private_file(password_file, password.as_bytes())
            .map_err(|e| step("writing postgres.password", e))?;
        fs::write(self.cluster_dir.join("pg_hba.conf"), PG_HBA)
            .map_err(|e| step("writing pg_hba.conf", e))?;
        let mut reload = self.command("pg_ctl");
        reload.arg("-D").arg(&self.cluster_dir).arg("reload");
        self.run("reloading the private PostgreSQL cluster", reload)?;
        tracing::info!("the private PostgreSQL cluster now asks for a password (scram-sha-256)");
        Ok(password)
    }

    fn status_running(&self) -> bool {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D").arg(&self.cluster_dir).arg("status");
        cmd.output().map(|o| o.status.success()).unwrap_or(false)
    }

    fn owner_file(&self) -> PathBuf {
        self.data_dir.join("postgres.owner")
    }

    /// Records that this process runs the server (it stops it on a clean exit).
    fn claim(&mut self) -> Result<(), EmbeddedError> {
        fs::write(self.owner_file(), std::process::id().to_string())
            .map_err(|e| step("writing postgres.owner", e))?;
        self.owner = true;
        Ok(())
    }

    /// The server runs: when the process that started it is gone, it was left behind by a
    /// crash (or by a version that never stopped what it reused), so this process adopts it.
    fn take_over_if_orphaned(&mut self) -> Result<(), EmbeddedError> {
        let starter = fs::read_to_string(self.owner_file())
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        match starter {
            // started by a live process (maybe this one, through another handle)
            Some(pid) if pid == std::process::id() || alive(pid) => Ok(()),
            _ => {
                tracing::info!(
                    "reusing the private PostgreSQL cluster left running; it stops with this service"
                );
                self.claim()
            }
        }
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

    /// Whether this process will stop the server in [`EmbeddedPostgres::stop`].
    pub fn owned(&self) -> bool {
        self.owner
    }

    /// Stops the server if this process started it or took it over.
    pub fn stop(&self) {
        if !self.owner {
            return;
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.cluster_dir)
            .args(["-m", "fast", "-w", "stop"]);
        match self.run("stopping the private PostgreSQL cluster", cmd) {
            Ok(()) => {
                let _ = fs::remove_file(self.owner_file());
            }
            Err(e) => tracing::warn!("{e}"),
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
