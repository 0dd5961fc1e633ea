//! Configuration: plain values read from the environment in `main` and passed down.
//! Tests build them directly. Never a global.
//!
//! [`Config`] holds the service settings; its [`EvidenceStoreConfig`] says where evidence files
//! live (local disk by default, or an S3-compatible bucket).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// How the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Demo/dev: weak or missing `JWT_SECRET` allowed (a random one is generated and kept in the
    /// data directory), seeds and demo accounts loaded on an empty database, CORS open.
    Demo,
    /// Production: a strong `JWT_SECRET` (≥ 32 bytes) is required.
    Production,
}

/// Secrets (the database URL with its password, the JWT secret, the metrics token, the S3
/// secret key and session token) are [`SecretString`]s: `Debug` prints `[REDACTED]` in their
/// place, so a logged or panicking `Config` never shows them, and each is exposed only where
/// it is used.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// `None`: start (or reuse) a private PostgreSQL cluster under `data_dir`.
    pub database_url: Option<SecretString>,
    pub host: String,
    pub port: u16,
    pub jwt_secret: Option<SecretString>,
    pub jwt_issuer: String,
    pub jwt_ttl_minutes: i64,
    pub data_dir: PathBuf,
    pub evidence_dir: PathBuf,
    pub seeds_dir: PathBuf,
    pub max_upload_bytes: usize,
    pub max_json_bytes: usize,
    pub cors_origins: Vec<String>,
    pub db_pool_size: u32,
    pub db_timeout_ms: u64,
    /// A read replica for the public routes (`DATABASE_READ_URL`, `DB_READ_*`); `None`: they
    /// read from the primary.
    pub read_database: Option<ReadDatabaseConfig>,
    /// Failed logins of one account from one client address before the first lock
    /// (`LOGIN_MAX_FAILURES`).
    pub login_max_failures: i32,
    /// Failed logins from one client address, whatever the account, before the address is
    /// locked (`LOGIN_ADDRESS_MAX_FAILURES`).
    pub login_address_max_failures: i32,
    /// The first lock (`LOGIN_LOCK_SECONDS`); each further failure doubles it…
    pub login_lock_seconds: i64,
    /// …up to this (`LOGIN_LOCK_MAX_SECONDS`).
    pub login_lock_max_seconds: i64,
    /// The bearer token that `GET /metrics` requires (`METRICS_TOKEN`). Unset: metrics are
    /// open in demo mode and closed in production.
    pub metrics_token: Option<SecretString>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` is believed (`TRUSTED_PROXIES`):
    /// addresses or networks. Empty: the client is the TCP peer, whatever it claims.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Load `seeds/` and demo accounts when the database has no user.
    pub seed_on_empty: bool,
    pub demo_password: String,
    pub workers: usize,
    /// Where evidence files live (`EVIDENCE_STORE`, `S3_*`).
    pub evidence_store: EvidenceStoreConfig,
    /// `BODY_TIMEOUT_MS`: how long a request body may take after the headers, before
    /// `body_min_rate` extends it (408 `BODY_TIMEOUT` then).
    pub body_timeout_ms: u64,
    /// `BODY_MIN_RATE`: bytes per second a body must keep up; each such many bytes received
    /// extend the body's deadline by one second.
    pub body_min_rate: u64,
    /// Webhook delivery (`WEBHOOK_*`).
    pub webhooks: WebhookConfig,
    /// Background jobs (`JOB_*`, `IMPORT_ASYNC_BYTES`).
    pub jobs: JobConfig,
    /// The sizes of the scoring caches (`SET_CACHE_ENTRIES`, `BASES_CACHE_GROUPS`).
    pub caches: CacheConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A setting from `lookup`, trimmed; blank = unset.
fn var_in(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn parsed_in<T: std::str::FromStr>(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var_in(lookup, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: format!("{v:?}: {e}"),
        }),
    }
}

/// A boolean setting from `lookup` (blank = unset).
fn flag_in(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    let value = lookup(name).filter(|v| !v.trim().is_empty());
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("{other:?} is not a boolean"),
        }),
    }
}

impl Config {
    /// Reads every setting from the environment (see the table in README.md).
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(&env_lookup)
    }

    /// As [`Config::from_env`], from any source of variables (blank = unset).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| var_in(lookup, name);
        let secret = |name: &str| var(name).map(SecretString::from);
        let database_url = secret("DATABASE_URL");
        let mode = match var("APP_MODE").as_deref() {
            Some("demo" | "dev") => Mode::Demo,
            Some("production" | "prod") => Mode::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "APP_MODE",
                    reason: format!("{other:?}: expected demo or production"),
                });
            }
            // No database configured: this is a first run on a workstation.
            None if database_url.is_none() => Mode::Demo,
            None => Mode::Production,
        };
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| ".dti-data".into()));
        let evidence_dir = var("EVIDENCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("evidence"));
        let cors_origins = var("CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let config = Config {
            mode,
            database_url,
            host: var("APP_HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: parsed_in(lookup, "APP_PORT", 8080)?,
            jwt_secret: secret("JWT_SECRET"),
            jwt_issuer: var("JWT_ISSUER").unwrap_or_else(|| "dti-api".into()),
            jwt_ttl_minutes: parsed_in(lookup, "JWT_TTL_MINUTES", 480)?,
            data_dir,
            evidence_dir,
            seeds_dir: PathBuf::from(var("SEEDS_DIR").unwrap_or_else(|| "seeds".into())),
            max_upload_bytes: parsed_in(lookup, "MAX_UPLOAD_BYTES", 20 * 1024 * 1024)?,
            max_json_bytes: parsed_in(lookup, "MAX_JSON_BYTES", 4 * 1024 * 1024)?,
            cors_origins,
            db_pool_size: parsed_in(lookup, "DB_POOL_SIZE", 10)?,
            db_timeout_ms: parsed_in(lookup, "DB_TIMEOUT_MS", 3000)?,
            read_database: ReadDatabaseConfig::from_lookup(lookup)?,
            login_max_failures: parsed_in(lookup, "LOGIN_MAX_FAILURES", 5)?,
            login_lock_seconds: parsed_in(lookup, "LOGIN_LOCK_SECONDS", 300)?,
            seed_on_empty: flag_in(lookup, "SEED_ON_EMPTY", mode == Mode::Demo)?,
            demo_password: var("DEMO_PASSWORD").unwrap_or_else(|| DEMO_PASSWORD.into()),
            workers: parsed_in(lookup, "APP_WORKERS", 0)?,
            evidence_store: EvidenceStoreConfig::from_lookup(lookup)?,
            body_timeout_ms: parsed_in(lookup, "BODY_TIMEOUT_MS", 5000)?,
            body_min_rate: parsed_in(lookup, "BODY_MIN_RATE", 16 * 1024)?,
            webhooks: WebhookConfig::from_lookup(lookup, mode)?,
            jobs: JobConfig::from_lookup(lookup)?,
            caches: CacheConfig::from_lookup(lookup)?,
            login_address_max_failures: parsed_in(lookup, "LOGIN_ADDRESS_MAX_FAILURES", 100)?,
            login_lock_max_seconds: parsed_in(lookup, "LOGIN_LOCK_MAX_SECONDS", 3600)?,
            trusted_proxies: networks("TRUSTED_PROXIES", var("TRUSTED_PROXIES").as_deref())?,
            metrics_token: secret("METRICS_TOKEN"),
        };
        config.check()?;
        Ok(config)
    }

    /// Rules that hold however the value was built.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.mode == Mode::Production {
            match &self.jwt_secret {
                None => {
                    return Err(ConfigError::Invalid {
                        name: "JWT_SECRET",
                        reason: "missing; set a random secret of at least 32 bytes (e.g. `openssl rand -base64 48`), or APP_MODE=demo for a local trial".into(),
                    });
                }
                Some(s) => {
                    if let Some(why) = secret_weakness(s.expose_secret()) {
                        return Err(ConfigError::Invalid {
                            name: "JWT_SECRET",
                            reason: format!(
                                "too weak: {why}; use a random secret of at least 32 bytes (e.g. `openssl rand -base64 48`)"
                            ),
                        });
                    }
                }
            }
            if self.database_url.is_none() {
                return Err(ConfigError::Invalid {
                    name: "DATABASE_URL",
                    reason: "required in production mode (the private PostgreSQL cluster is for a local trial with APP_MODE=demo); e.g. postgres://dti:secret@db:5432/dti".into(),
                });
            }
            if self.seed_on_empty {
                return Err(ConfigError::Invalid {
                    name: "SEED_ON_EMPTY",
                    reason: "must be false in production mode: seeding creates the demo accounts, admin included, with a published password. Create the first administrator with `dti-api create-admin USERNAME` instead".into(),
                });
            }
        }
        if self.mode == Mode::Production
            && self
                .metrics_token
                .as_ref()
                .is_some_and(|t| is_weak_secret(t.expose_secret()))
        {
            return Err(ConfigError::Invalid {
                name: "METRICS_TOKEN",
                reason: "too weak: use at least 32 bytes with at least 10 distinct characters (e.g. `openssl rand -base64 48`)".into(),
            });
        }
        if self.jwt_ttl_minutes < 1 || self.jwt_ttl_minutes > 7 * 24 * 60 {
            return Err(ConfigError::Invalid {
                name: "JWT_TTL_MINUTES",
                reason: "must be between 1 and 10080".into(),
            });
        }
        if self.max_upload_bytes < 1024 {
            return Err(ConfigError::Invalid {
                name: "MAX_UPLOAD_BYTES",
                reason: "must be at least 1024".into(),
            });
        }
        if self.body_timeout_ms < 100 || self.body_timeout_ms > 600_000 {
            return Err(ConfigError::Invalid {
                name: "BODY_TIMEOUT_MS",
                reason: "must be between 100 and 600000".into(),
            });
        }
        if self.body_min_rate == 0 {
            return Err(ConfigError::Invalid {
                name: "BODY_MIN_RATE",
                reason: "must be at least 1".into(),
            });
        }
        if self.login_max_failures < 1 || self.login_address_max_failures < 1 {
            return Err(ConfigError::Invalid {
                name: if self.login_max_failures < 1 {
                    "LOGIN_MAX_FAILURES"
                } else {
                    "LOGIN_ADDRESS_MAX_FAILURES"
                },
                reason: "must be at least 1".into(),
            });
        }
        if self.login_lock_seconds < 1 || self.login_lock_max_seconds < self.login_lock_seconds {
            return Err(ConfigError::Invalid {
                name: if self.login_lock_seconds < 1 {
                    "LOGIN_LOCK_SECONDS"
                } else {
                    "LOGIN_LOCK_MAX_SECONDS"
                },
                reason: "LOGIN_LOCK_SECONDS must be at least 1 and LOGIN_LOCK_MAX_SECONDS at least LOGIN_LOCK_SECONDS".into(),
            });
        }
        if self.db_pool_size == 0 {
            return Err(ConfigError::Invalid {
                name: "DB_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        if self
            .read_database
            .as_ref()
            .is_some_and(|r| r.pool_size == 0)
        {
            return Err(ConfigError::Invalid {
                name: "DB_READ_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        self.jobs.check()?;
        self.caches.check()?;
        Ok(())
    }
}

/// How much the scoring caches of a server keep in memory (see `services::scoring::Caches`);
/// each forgets its least recently used entry first.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// Compiled indicator sets kept (`SET_CACHE_ENTRIES`, default 64): a set is compiled on
    /// first use and kept while it is active.
    pub set_entries: usize,
    /// Ranking groups (period × group) whose parsed bases are kept (`BASES_CACHE_GROUPS`,
    /// default 1024): a moved group best is followed from them without reading every basis.
    pub bases_groups: usize,
}

/// The largest `SET_CACHE_ENTRIES`.
pub const MAX_SET_CACHE_ENTRIES: usize = 10_000;
/// The largest `BASES_CACHE_GROUPS`.
pub const MAX_BASES_CACHE_GROUPS: usize = 1_000_000;

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig {
            set_entries: 64,
            bases_groups: 1024,
        }
    }
}

impl CacheConfig {
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<CacheConfig, ConfigError> {
        let d = CacheConfig::default();
        let config = CacheConfig {
            set_entries: parsed_in(lookup, "SET_CACHE_ENTRIES", d.set_entries)?,
            bases_groups: parsed_in(lookup, "BASES_CACHE_GROUPS", d.bases_groups)?,
        };
        config.check()?;
        Ok(config)
    }

    /// Rules that hold however the value was built.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_SET_CACHE_ENTRIES).contains(&self.set_entries) {
            return Err(ConfigError::Invalid {
                name: "SET_CACHE_ENTRIES",
                reason: format!("must be between 1 and {MAX_SET_CACHE_ENTRIES}"),
            });
        }
        if !(1..=MAX_BASES_CACHE_GROUPS).contains(&self.bases_groups) {
            return Err(ConfigError::Invalid {
                name: "BASES_CACHE_GROUPS",
                reason: format!("must be between 1 and {MAX_BASES_CACHE_GROUPS}"),
            });
        }
        Ok(())
    }
}

/// The read replica the public routes read from (`DATABASE_READ_URL`): a pool of its own,
/// sized and timed like the primary's unless `DB_READ_POOL_SIZE` / `DB_READ_TIMEOUT_MS` say
/// otherwise.
#[derive(Debug, Clone)]
pub struct ReadDatabaseConfig {
    /// May hold a password: shown as `[REDACTED]` by `Debug`.
    pub url: SecretString,
    pub pool_size: u32,
    pub timeout_ms: u64,
}

impl PartialEq for ReadDatabaseConfig {
    fn eq(&self, other: &ReadDatabaseConfig) -> bool {
        self.url.expose_secret() == other.url.expose_secret()
            && self.pool_size == other.pool_size
            && self.timeout_ms == other.timeout_ms
    }
}

impl Eq for ReadDatabaseConfig {}

impl ReadDatabaseConfig {
    fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ReadDatabaseConfig>, ConfigError> {
        let Some(url) = var_in(lookup, "DATABASE_READ_URL") else {
            // a replica's settings without the replica are a mistake, not silently ignored
            for name in ["DB_READ_POOL_SIZE", "DB_READ_TIMEOUT_MS"] {
                if var_in(lookup, name).is_some() {
                    return Err(ConfigError::Invalid {
                        name,
                        reason: "set without DATABASE_READ_URL".into(),
                    });
                }
            }
            return Ok(None);
        };
        let pool_size = parsed_in(lookup, "DB_POOL_SIZE", 10)?;
        let timeout_ms = parsed_in(lookup, "DB_TIMEOUT_MS", 3000)?;
        Ok(Some(ReadDatabaseConfig {
            url: url.into(),
            pool_size: parsed_in(lookup, "DB_READ_POOL_SIZE", pool_size)?,
            timeout_ms: parsed_in(lookup, "DB_READ_TIMEOUT_MS", timeout_ms)?,
        }))
    }
}

/// Where evidence files live (`EVIDENCE_STORE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EvidenceStoreConfig {
    /// Files under [`Config::evidence_dir`] (`EVIDENCE_STORE=local`, the default).
    #[default]
    Local,
    /// Objects in an S3-compatible bucket (`EVIDENCE_STORE=s3`): AWS S3, MinIO, Ceph…
    S3(S3Config),
}

/// An S3-compatible bucket for evidence (`S3_*` variables, see README.md). `Debug` never
/// prints the secret key or the session token.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `S3_BUCKET` (required).
    pub bucket: String,
    /// `S3_REGION`, default `us-east-1` (any value for MinIO).
    pub region: String,
    /// `S3_ENDPOINT`: base URL of a non-AWS server, e.g. `http://minio:9000`; unset for AWS.
    pub endpoint: Option<String>,
    /// `S3_ACCESS_KEY_ID` and `S3_SECRET_ACCESS_KEY`, both or neither; neither means the
    /// standard AWS sources (`AWS_ACCESS_KEY_ID`…, web identity, container or instance role).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// `S3_SESSION_TOKEN`, for temporary static credentials.
    pub session_token: Option<SecretString>,
    /// `S3_PREFIX`: keys are stored under `<prefix>/ab/cd/<sha256>`; `None` = bucket root.
    pub prefix: Option<String>,
    /// `S3_ALLOW_HTTP`: permit a plain `http://` endpoint (default false).
    pub allow_http: bool,
    /// `S3_PATH_STYLE`: path-style `endpoint/bucket/key` rather than virtual-hosted
    /// `bucket.endpoint/key`. Default: path-style with an `S3_ENDPOINT` (MinIO, Ceph),
    /// virtual-hosted for AWS. A virtual-hosted custom endpoint must include the bucket.
    pub path_style: bool,
}

/// Equal settings, secrets compared as what they are (a secret has no `PartialEq` of its own,
/// so that comparing one is always written out).
impl PartialEq for S3Config {
    fn eq(&self, other: &S3Config) -> bool {
        let same = |a: &Option<SecretString>, b: &Option<SecretString>| {
            a.as_ref().map(|s| s.expose_secret()) == b.as_ref().map(|s| s.expose_secret())
        };
        self.bucket == other.bucket
            && self.region == other.region
            && self.endpoint == other.endpoint
            && self.access_key_id == other.access_key_id
            && same(&self.secret_access_key, &other.secret_access_key)
            && same(&self.session_token, &other.session_token)
            && self.prefix == other.prefix
            && self.allow_http == other.allow_http
            && self.path_style == other.path_style
    }
}

impl Eq for S3Config {}

impl S3Config {
    /// An AWS bucket with the defaults: region `us-east-1`, the standard credential sources,
    /// no prefix, https only, virtual-hosted-style requests.
    pub fn new(bucket: impl Into<String>) -> S3Config {
        S3Config {
            bucket: bucket.into(),
            region: "us-east-1".into(),
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            prefix: None,
            allow_http: false,
            path_style: false,
        }
    }

    /// `s3://bucket/prefix`, for logs (no credentials).
    pub fn location(&self) -> String {
        match &self.prefix {
            Some(p) => format!("s3://{}/{p}", self.bucket),
            None => format!("s3://{}", self.bucket),
        }
    }
}

impl EvidenceStoreConfig {
    /// Reads `EVIDENCE_STORE` and, for `s3`, the `S3_*` variables.
    pub fn from_env() -> Result<EvidenceStoreConfig, ConfigError> {
        Self::from_lookup(&env_lookup)
    }

    /// As [`EvidenceStoreConfig::from_env`], from any source of variables (blank = unset).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<EvidenceStoreConfig, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let kind = get("EVIDENCE_STORE").map(|v| v.to_ascii_lowercase());
        let config = match kind.as_deref() {
            None | Some("local") => {
                let stray: Vec<&str> = ["S3_BUCKET", "S3_ENDPOINT", "S3_PREFIX"]
                    .into_iter()
                    .filter(|n| get(n).is_some())
                    .collect();
                if !stray.is_empty() {
                    return Err(ConfigError::Invalid {
                        name: "EVIDENCE_STORE",
                        reason: format!(
                            "{} set but EVIDENCE_STORE is not s3; set EVIDENCE_STORE=s3 to use the bucket, or unset them",
                            stray.join(", ")
                        ),
                    });
                }
                EvidenceStoreConfig::Local
            }
            Some("s3") => {
                let endpoint = get("S3_ENDPOINT");
                let path_style = flag_in(lookup, "S3_PATH_STYLE", endpoint.is_some())?;
                EvidenceStoreConfig::S3(S3Config {
                    bucket: get("S3_BUCKET").ok_or_else(|| ConfigError::Invalid {
                        name: "S3_BUCKET",
                        reason: "required with EVIDENCE_STORE=s3".into(),
                    })?,
                    region: get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                    endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
                    access_key_id: get("S3_ACCESS_KEY_ID"),
                    secret_access_key: get("S3_SECRET_ACCESS_KEY").map(SecretString::from),
                    session_token: get("S3_SESSION_TOKEN").map(SecretString::from),
                    prefix: get("S3_PREFIX")
                        .map(|p| p.trim_matches('/').to_string())
                        .filter(|p| !p.is_empty()),
                    allow_http: flag_in(lookup, "S3_ALLOW_HTTP", false)?,
                    path_style,
                })
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "EVIDENCE_STORE",
                    reason: format!("{other:?}: expected local or s3"),
                });
            }
        };
        config.check()?;
        Ok(config)
    }

    /// Rules that hold however the value was built.
    pub fn check(&self) -> Result<(), ConfigError> {
        let EvidenceStoreConfig::S3(s3) = self else {
            return Ok(());
        };
        let invalid = |name: &'static str, reason: &str| {
            Err(ConfigError::Invalid {
                name,
                reason: reason.into(),
            })
        };
        let b = s3.bucket.as_str();
        let bucket_ok = (3..=63).contains(&b.len())
            && b.bytes()
                .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
            && b.starts_with(|c: char| c.is_ascii_alphanumeric())
            && b.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !b.contains("..");
        if !bucket_ok {
            return invalid(
                "S3_BUCKET",
                "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
            );
        }
        if s3.region.is_empty()
            || !s3
                .region
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        {
            return invalid("S3_REGION", "a region name such as ap-southeast-1");
        }
        if let Some(e) = &s3.endpoint {
            let rest = if let Some(rest) = e.strip_prefix("https://") {
                rest
            } else if let Some(rest) = e.strip_prefix("http://") {
                if !s3.allow_http {
                    return invalid(
                        "S3_ENDPOINT",
                        "is plain http://; use https://, or set S3_ALLOW_HTTP=true for a trusted network",
                    );
                }
                rest
            } else {
                return invalid(
                    "S3_ENDPOINT",
                    "must be an http:// or https:// URL, e.g. http://minio:9000",
                );
            };
            if rest.is_empty() || rest.contains(['?', '#', '@', ' ']) {
                return invalid(
                    "S3_ENDPOINT",
                    "must be a base URL (scheme, host, optional port), without credentials or query",
                );
            }
        }
        match (&s3.access_key_id, &s3.secret_access_key) {
            (Some(_), None) => {
                return invalid(
                    "S3_SECRET_ACCESS_KEY",
                    "missing: S3_ACCESS_KEY_ID is set; give both, or neither to use the standard AWS credential sources",
                );
            }
            (None, Some(_)) => {
                return invalid(
                    "S3_ACCESS_KEY_ID",
                    "missing: S3_SECRET_ACCESS_KEY is set; give both, or neither to use the standard AWS credential sources",
                );
            }
            _ => {}
        }
        if s3.session_token.is_some() && s3.access_key_id.is_none() {
            return invalid(
                "S3_SESSION_TOKEN",
                "only meaningful with S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
            );
        }
        if let Some(p) = &s3.prefix {
            let ok = p.len() <= 200
                && p.split('/').all(|part| {
                    !part.is_empty()
                        && part != "."
                        && part != ".."
                        && part
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
                });
            if !ok {
                return invalid(
                    "S3_PREFIX",
                    "path segments of letters, digits, '-', '_' and '.', separated by '/' (at most 200 bytes)",
                );
            }
        }
        Ok(())
    }
}

/// A list of addresses and networks (`10.0.0.7, 10.1.0.0/16, ::1`; commas or spaces); a bare
/// address is a network of one.
fn networks(name: &'static str, value: Option<&str>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| ConfigError::Invalid {
                    name,
                    reason: format!(
                        "{item:?} is not an IP address or network (e.g. 10.0.0.7 or 10.1.0.0/16)"
                    ),
                })
        })
        .collect()
}

/// Webhook delivery (`WEBHOOK_*` variables, see README.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// `WEBHOOK_WORKER`: run the delivery worker in this process (default true). Any number of
    /// replicas may run it: one at a time works (a PostgreSQL advisory lock), the others wait.
    pub worker: bool,
    /// `WEBHOOK_POLL_INTERVAL`: how often the worker looks for events and due deliveries
    /// (default `1s`).
    pub poll_interval: Duration,
    /// `WEBHOOK_DEADLINE_SCAN_INTERVAL`: how often unit deadlines are checked for the deadline
    /// events (default `1m`).
    pub deadline_scan_interval: Duration,
    /// `WEBHOOK_RETRY_SCHEDULE`: the wait before each retry after a failed attempt (default
    /// `5s,5m,30m,2h,5h,10h,10h`: 8 attempts over about 27.6 hours).
    pub retry_schedule: Vec<Duration>,
    /// `WEBHOOK_TIMEOUT`: how long one attempt may take, connection included (default `15s`).
    pub timeout: Duration,
    /// `WEBHOOK_CONCURRENCY`: attempts sent at the same time (default 8).
    pub concurrency: usize,
    /// `WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES`: a receiver is disabled when this many
    /// deliveries in a row failed every attempt (default 5).
    pub disable_after_failed_deliveries: i32,
    /// `WEBHOOK_DISABLE_AFTER`: a receiver is disabled when its attempts have failed, with no
    /// success, for this long (default `5d`).
    pub disable_after_failing_for: Duration,
    /// `WEBHOOK_SECRET_OVERLAP`: after a secret rotation, the previous secret signs too for this
    /// long (default `24h`).
    pub secret_overlap: Duration,
    /// `WEBHOOK_RETENTION`: events (with their deliveries and attempts) are deleted this long
    /// after they happened, once no delivery is pending (default `30d`).
    pub retention: Duration,
    /// `WEBHOOK_ALLOW_HTTP`: accept receivers on plain `http://` (default true in demo mode
    /// only).
    pub allow_http: bool,
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS`: accept receivers whose addresses are loopback, private,
    /// link-local or otherwise not public (default false: refused, against SSRF).
    pub allow_private_targets: bool,
}

impl WebhookConfig {
    /// The defaults of `mode`.
    pub fn defaults(mode: Mode) -> WebhookConfig {
        let h = |n: u64| Duration::from_secs(n * 3600);
        WebhookConfig {
            worker: true,
            poll_interval: Duration::from_secs(1),
            deadline_scan_interval: Duration::from_secs(60),
            retry_schedule: vec![
                Duration::from_secs(5),
                Duration::from_secs(5 * 60),
                Duration::from_secs(30 * 60),
                h(2),
                h(5),
                h(10),
                h(10),
            ],
            timeout: Duration::from_secs(15),
            concurrency: 8,
            disable_after_failed_deliveries: 5,
            disable_after_failing_for: h(5 * 24),
            secret_overlap: h(24),
            retention: h(30 * 24),
            allow_http: mode == Mode::Demo,
            allow_private_targets: false,
        }
    }

    /// Reads the `WEBHOOK_*` variables from `lookup` (blank = unset).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        mode: Mode,
    ) -> Result<WebhookConfig, ConfigError> {
        let d = WebhookConfig::defaults(mode);
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let duration = |name: &'static str, default: Duration| match get(name) {
            None => Ok(default),
            Some(v) => parse_duration(&v).map_err(|reason| ConfigError::Invalid { name, reason }),
        };
        let number = |name: &'static str, default: i64, min: i64, max: i64| match get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: format!("{v:?}: expected a whole number from {min} to {max}"),
                }),
            },
        };
        let retry_schedule = match get("WEBHOOK_RETRY_SCHEDULE") {
            None => d.retry_schedule.clone(),
            Some(v) => v
                .split(',')
                .map(|s| parse_duration(s.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|reason| ConfigError::Invalid {
                    name: "WEBHOOK_RETRY_SCHEDULE",
                    reason,
                })?,
        };
        let config = WebhookConfig {
            worker: flag_in(lookup, "WEBHOOK_WORKER", d.worker)?,
            poll_interval: duration("WEBHOOK_POLL_INTERVAL", d.poll_interval)?,
            deadline_scan_interval: duration(
                "WEBHOOK_DEADLINE_SCAN_INTERVAL",
                d.deadline_scan_interval,
            )?,
            retry_schedule,
            timeout: duration("WEBHOOK_TIMEOUT", d.timeout)?,
            concurrency: number("WEBHOOK_CONCURRENCY", d.concurrency as i64, 1, 256)? as usize,
            disable_after_failed_deliveries: number(
                "WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES",
                d.disable_after_failed_deliveries.into(),
                1,
                1_000_000,
            )? as i32,
            disable_after_failing_for: duration(
                "WEBHOOK_DISABLE_AFTER",
                d.disable_after_failing_for,
            )?,
            secret_overlap: duration("WEBHOOK_SECRET_OVERLAP", d.secret_overlap)?,
            retention: duration("WEBHOOK_RETENTION", d.retention)?,
            allow_http: flag_in(lookup, "WEBHOOK_ALLOW_HTTP", d.allow_http)?,
            allow_private_targets: flag_in(
                lookup,
                "WEBHOOK_ALLOW_PRIVATE_TARGETS",
                d.allow_private_targets,
            )?,
        };
        config.check()?;
        Ok(config)
    }

    /// Rules that hold however the value was built.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |name: &'static str, reason: &str| {
            Err(ConfigError::Invalid {
                name,
                reason: reason.into(),
            })
        };
        if self.poll_interval < Duration::from_millis(10) {
            return invalid("WEBHOOK_POLL_INTERVAL", "must be at least 10ms");
        }
        if self.deadline_scan_interval < Duration::from_millis(10) {
            return invalid("WEBHOOK_DEADLINE_SCAN_INTERVAL", "must be at least 10ms");
        }
        if self.retry_schedule.len() > 50 {
            return invalid("WEBHOOK_RETRY_SCHEDULE", "at most 50 retries");
        }
        if self.timeout < Duration::from_millis(100) || self.timeout > Duration::from_secs(300) {
            return invalid("WEBHOOK_TIMEOUT", "must be between 100ms and 5m");
        }
        if self.concurrency == 0 {
            return invalid("WEBHOOK_CONCURRENCY", "must be at least 1");
        }
        if self.disable_after_failed_deliveries < 1 {
            return invalid(
                "WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES",
                "must be at least 1",
            );
        }
        Ok(())
    }
}

/// Background jobs (`JOB_*` variables and `IMPORT_ASYNC_BYTES`, see README.md).
#[derive(Debug, Clone, PartialEq)]
pub struct JobConfig {
    /// Whether this replica runs jobs (`JOB_WORKER`, default on). Any number of replicas may;
    /// each runs one job at a time.
    pub worker: bool,
    /// How often an idle worker looks for queued jobs and expired leases, and how often a
    /// running job renews its lease, records its progress and checks for a cancel
    /// (`JOB_POLL_INTERVAL`, default 1s).
    pub poll_interval: Duration,
    /// How long a running job's lease lasts without renewal before the job counts as
    /// interrupted and is marked failed (`JOB_LEASE`, default 60s).
    pub lease: Duration,
    /// An import whose file is larger than this runs as a job (202 Accepted)
    /// (`IMPORT_ASYNC_BYTES`, default 1 MiB, about 20,000 CSV rows); `async=true` forces a job.
    pub import_async_bytes: u64,
    /// Rows of an answers import read, checked and written together (`IMPORT_CHUNK_ROWS`,
    /// default 5,000): the import keeps one chunk of rows in memory, never the whole file.
    pub import_chunk_rows: usize,
}

impl Default for JobConfig {
    fn default() -> JobConfig {
        JobConfig {
            worker: true,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            import_async_bytes: 1024 * 1024,
            import_chunk_rows: crate::services::imports::DEFAULT_CHUNK_ROWS,
        }
    }
}

impl JobConfig {
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<JobConfig, ConfigError> {
        let d = JobConfig::default();
        let duration = |name: &'static str, default: Duration| match var_in(lookup, name) {
            None => Ok(default),
            Some(v) => parse_duration(&v).map_err(|reason| ConfigError::Invalid { name, reason }),
        };
        let config = JobConfig {
            worker: flag_in(lookup, "JOB_WORKER", d.worker)?,
            poll_interval: duration("JOB_POLL_INTERVAL", d.poll_interval)?,
            lease: duration("JOB_LEASE", d.lease)?,
            import_async_bytes: parsed_in(lookup, "IMPORT_ASYNC_BYTES", d.import_async_bytes)?,
            import_chunk_rows: parsed_in(lookup, "IMPORT_CHUNK_ROWS", d.import_chunk_rows)?,
        };
        config.check()?;
        Ok(config)
    }

    /// Rules that hold however the value was built.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.poll_interval < Duration::from_millis(10) {
            return Err(ConfigError::Invalid {
                name: "JOB_POLL_INTERVAL",
                reason: "must be at least 10ms".into(),
            });
        }
        if !(1..=crate::services::imports::MAX_CHUNK_ROWS).contains(&self.import_chunk_rows) {
            return Err(ConfigError::Invalid {
                name: "IMPORT_CHUNK_ROWS",
                reason: format!(
                    "must be between 1 and {}",
                    crate::services::imports::MAX_CHUNK_ROWS
                ),
            });
        }
        if self.lease < self.poll_interval * 3 {
            return Err(ConfigError::Invalid {
                name: "JOB_LEASE",
                reason: "must be at least three times JOB_POLL_INTERVAL".into(),
            });
        }
        Ok(())
    }
}

/// A duration such as `500ms`, `5s`, `30m`, `2h` or `5d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration such as 500ms, 5s, 30m, 2h or 5d"))?;
    let ms = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "{text:?}: expected a duration such as 500ms, 5s, 30m, 2h or 5d"
            ));
        }
    };
    n.checked_mul(ms)
        .filter(|v| *v <= 365 * 86_400_000)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?}: at most a year"))
}

/// The password of every seeded demo account unless `DEMO_PASSWORD` says otherwise; it is
/// published (README, Swagger UI), so production never accepts it anywhere.
pub const DEMO_PASSWORD: &str = "demo-dti-2026";

/// Secrets (and parts of secrets) published in documentation and tutorials, lower-case.
const KNOWN_SECRETS: [&str; 12] = [
    DEMO_PASSWORD,
    "your-256-bit-secret",
    "your_256_bit_secret",
    "your-secret",
    "your_secret",
    "secretkey",
    "secret-key",
    "supersecret",
    "changeme",
    "change-me",
    "jwt-secret",
    "jwt_secret",
];

/// Why `secret` is unfit to sign tokens, or `None` when it looks random enough: shorter than
/// 32 bytes, fewer than 10 distinct characters, containing a published example, or made
/// mostly of repeats and runs (`demo-dti-2026demo-dti-2026…`, `0123456789abcdef…`).
pub fn secret_weakness(secret: &str) -> Option<&'static str> {
    let distinct: std::collections::BTreeSet<char> = secret.chars().collect();
    let lower = secret.to_lowercase();
    if secret.len() < 32 {
        Some("shorter than 32 bytes")
    } else if distinct.len() < 10 {
        Some("fewer than 10 distinct characters")
    } else if KNOWN_SECRETS.iter().any(|k| lower.contains(k)) {
        Some("it contains a published example secret")
    } else if pattern_symbols(secret) < MIN_SECRET_SYMBOLS {
        Some("it is mostly repeats or runs of consecutive characters")
    } else {
        None
    }
}

/// Fewest symbols (see [`pattern_symbols`]) a secret must have: 20 random base64 characters
/// are about 120 bits.
const MIN_SECRET_SYMBOLS: usize = 20;

/// How many symbols remain when every repeat of an earlier stretch (3 characters or more) and
/// every run of 3 or more consecutive characters (`0123`, `abcd`, `zyx`) counts as one: a
/// rough measure of how much of a secret was chosen rather than patterned. A random secret
/// keeps nearly all its characters; `0123456789abcdefghijklmnopqrstuvwxyz` keeps 2.
fn pattern_symbols(secret: &str) -> usize {
    let chars: Vec<char> = secret.chars().collect();
    let mut symbols = 0;
    let mut i = 0;
    while i < chars.len() {
        let run = [1i64, -1]
            .iter()
            .map(|&step| {
                let mut n = 1;
                while i + n < chars.len() && chars[i + n] as i64 - chars[i + n - 1] as i64 == step {
                    n += 1;
                }
                n
            })
            .max()
            .unwrap_or(1);
        let repeat = (0..i)
            .map(|start| {
                let mut n = 0;
                while i + n < chars.len() && chars[start + n] == chars[i + n] {
                    n += 1;
                }
                n
            })
            .max()
            .unwrap_or(0);
        let step = match run.max(repeat) {
            n if n >= 3 => n,
            _ => 1,
        };
        symbols += 1;
        i += step;
    }
    symbols
}

/// True when [`secret_weakness`] finds a reason.
pub fn is_weak_secret(secret: &str) -> bool {
    secret_weakness(secret).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_repetitive_secrets_are_weak() {
        assert!(is_weak_secret("secret"));
        assert!(is_weak_secret(&"a".repeat(64)));
        assert!(!is_weak_secret("k3J9-qLx0_Vb7Tz!mN2pR8sW4yE6uH1c"));
    }

    #[test]
    fn published_and_patterned_secrets_are_weak() {
        let weak = [
            (DEMO_PASSWORD.repeat(3), "published example"),
            (
                "Demo-DTI-2026-k3J9qLx0Vb7TzmN2pR8sW4yE6".into(),
                "published example",
            ),
            (
                "your-256-bit-secret-for-the-dti-api-2026".into(),
                "published example",
            ),
            (
                "0123456789abcdefghijklmnopqrstuvwxyz".into(),
                "repeats or runs",
            ),
            (
                "0123456789012345678901234567890123456789".into(),
                "repeats or runs",
            ),
            (
                "zyxwvutsrqponmlkjihgfedcba9876543210".into(),
                "repeats or runs",
            ),
            (
                "Ab3$Kq9!Zt7%Ab3$Kq9!Zt7%Ab3$Kq9!Zt7%".into(),
                "repeats or runs",
            ),
            (
                "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz".into(),
                "repeats or runs",
            ),
        ];
        for (secret, why) in weak {
            let got = secret_weakness(&secret);
            assert!(got.is_some_and(|g| g.contains(why)), "{secret}: {got:?}");
        }
        // what `openssl rand -base64 48`, `openssl rand -hex 32` and a generated demo secret look like
        for strong in [
            "q8bM0v3R+XkP9s2HcLw7T1eYfJ4uZa6NdG5iQoVrUyE3WmKx0tB9pSgC2hAjFlDn",
            "4f1c9a7be2d30856c4ab91e07f3d6c25b8e14a90d7f26c3e51b08a9f4c7d2e61",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert_eq!(secret_weakness(strong), None, "{strong}");
        }
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(&|name| vars.get(name).cloned())
    }

    const STRONG: &str = "q8bM0v3R+XkP9s2HcLw7T1eYfJ4uZa6NdG5iQoVrUyE3WmKx0tB9pSgC2hAjFlDn";

    #[test]
    fn cache_sizes_have_defaults_and_bounds() {
        let c = config(&[]).unwrap();
        assert_eq!(c.caches, CacheConfig::default());
        assert_eq!((c.caches.set_entries, c.caches.bases_groups), (64, 1024));
        let c = config(&[("SET_CACHE_ENTRIES", "1"), ("BASES_CACHE_GROUPS", "7")]).unwrap();
        assert_eq!((c.caches.set_entries, c.caches.bases_groups), (1, 7));
        for (name, value) in [
            ("SET_CACHE_ENTRIES", "0"),
            ("SET_CACHE_ENTRIES", "10001"),
            ("SET_CACHE_ENTRIES", "many"),
            ("BASES_CACHE_GROUPS", "0"),
            ("BASES_CACHE_GROUPS", "1000001"),
        ] {
            let e = config(&[(name, value)]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{name} is invalid")), "{e}");
        }
    }

    #[test]
    fn production_refuses_demo_settings() {
        let url = ("DATABASE_URL", "postgres://dti:pw@db:5432/dti");
        let prod = ("APP_MODE", "production");
        let secret = ("JWT_SECRET", STRONG);
        // the safe production configuration starts, without seeds
        let c = config(&[url, secret]).unwrap();
        assert_eq!(c.mode, Mode::Production);
        assert!(!c.seed_on_empty);
        let e = config(&[url, prod, secret, ("SEED_ON_EMPTY", "true")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("SEED_ON_EMPTY is invalid"), "{e}");
        assert!(e.contains("demo accounts"), "{e}");
        let e = config(&[prod, secret]).unwrap_err().to_string();
        assert!(e.starts_with("DATABASE_URL is invalid: required"), "{e}");
        let e = config(&[url, prod]).unwrap_err().to_string();
        assert!(e.starts_with("JWT_SECRET is invalid: missing"), "{e}");
        for weak in [
            "demo-dti-2026demo-dti-2026demo-dti-2026",
            "0123456789abcdefghijklmnopqrstuvwxyz",
            "your-256-bit-secret-your-256-bit-secret",
        ] {
            let e = config(&[url, prod, ("JWT_SECRET", weak)])
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("JWT_SECRET is invalid: too weak"),
                "{weak}: {e}"
            );
            assert!(!e.contains(weak), "the secret is not echoed: {e}");
        }
        // demo mode keeps its conveniences
        let c = config(&[]).unwrap();
        assert_eq!(c.mode, Mode::Demo);
        assert!(c.seed_on_empty && c.database_url.is_none());
    }

    #[test]
    fn debug_of_a_config_never_shows_its_secrets() {
        let db_password = "pg-Pa55w0rd-kept-out-of-logs";
        let url = format!("postgres://dti:{db_password}@db:5432/dti");
        let metrics = "Mt9-xQ2vL7pR4sW8yE1uH6cK3jN0bZ5aF";
        let s3_secret = "s3-secret-key-9Qw2Er5Ty8";
        let s3_token = "s3-session-token-4Df7Gh1Jk3";
        let c = config(&[
            ("DATABASE_URL", &url),
            ("JWT_SECRET", STRONG),
            ("METRICS_TOKEN", metrics),
            ("EVIDENCE_STORE", "s3"),
            ("S3_BUCKET", "dti-evidence"),
            ("S3_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("S3_SECRET_ACCESS_KEY", s3_secret),
            ("S3_SESSION_TOKEN", s3_token),
        ])
        .unwrap();
        for shown in [format!("{c:?}"), format!("{c:#?}")] {
            for secret in [db_password, STRONG, metrics, s3_secret, s3_token] {
                assert!(!shown.contains(secret), "{secret} shown in {shown}");
            }
            assert!(shown.contains("REDACTED"), "{shown}");
            // what is not secret is still there to read
            assert!(shown.contains("AKIAEXAMPLE") && shown.contains("dti-evidence"));
        }
        // and the values are kept as given, for where they are used
        assert_eq!(c.database_url.as_ref().unwrap().expose_secret(), url);
        assert_eq!(c.jwt_secret.as_ref().unwrap().expose_secret(), STRONG);
        assert_eq!(c.metrics_token.as_ref().unwrap().expose_secret(), metrics);
    }

    #[test]
    fn a_read_replica_is_sized_and_timed_like_the_primary_unless_told() {
        let url = ("DATABASE_URL", "postgres://dti:pw@db:5432/dti");
        let secret = ("JWT_SECRET", STRONG);
        assert_eq!(config(&[url, secret]).unwrap().read_database, None);
        let read = ("DATABASE_READ_URL", "postgres://dti:pw@db-replica:5432/dti");
        let c = config(&[url, secret, read, ("DB_POOL_SIZE", "6")]).unwrap();
        let r = c.read_database.clone().unwrap();
        assert_eq!((r.pool_size, r.timeout_ms), (6, 3000));
        assert!(
            !format!("{c:?}").contains("db-replica"),
            "the URL is not shown"
        );
        let c = config(&[
            url,
            secret,
            read,
            ("DB_READ_POOL_SIZE", "20"),
            ("DB_READ_TIMEOUT_MS", "500"),
        ])
        .unwrap();
        let r = c.read_database.unwrap();
        assert_eq!(
            (r.url.expose_secret(), r.pool_size, r.timeout_ms),
            (read.1, 20, 500)
        );
        let e = config(&[url, secret, ("DB_READ_POOL_SIZE", "20")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("DB_READ_POOL_SIZE is invalid: set without"),
            "{e}"
        );
        let e = config(&[url, secret, read, ("DB_READ_POOL_SIZE", "0")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("DB_READ_POOL_SIZE is invalid"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let n = |v: &str| networks("TRUSTED_PROXIES", Some(v));
        assert!(n("").unwrap().is_empty());
        let list = n("127.0.0.1, 10.1.2.3/16 ::1\tfd00::/8").unwrap();
        let shown: Vec<String> = list.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            shown,
            ["127.0.0.1/32", "10.1.0.0/16", "::1/128", "fd00::/8"]
        );
        assert!(list[1].contains(&"10.1.200.7".parse::<std::net::IpAddr>().unwrap()));
        for bad in ["proxy.local", "10.0.0.0/33", "10.0.0", "*"] {
            let e = n(bad).unwrap_err().to_string();
            assert!(e.starts_with("TRUSTED_PROXIES is invalid"), "{bad}: {e}");
        }
    }

    fn store_config(vars: &[(&str, &str)]) -> Result<EvidenceStoreConfig, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EvidenceStoreConfig::from_lookup(&|name| vars.get(name).cloned())
    }

    fn refused(vars: &[(&str, &str)]) -> String {
        match store_config(vars) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("accepted {vars:?}: {c:?}"),
        }
    }

    #[test]
    fn evidence_store_defaults_to_local_disk() {
        assert_eq!(store_config(&[]).unwrap(), EvidenceStoreConfig::Local);
        assert_eq!(
            store_config(&[("EVIDENCE_STORE", " Local ")]).unwrap(),
            EvidenceStoreConfig::Local
        );
        // blank values count as unset
        assert_eq!(
            store_config(&[("EVIDENCE_STORE", ""), ("S3_BUCKET", "  ")]).unwrap(),
            EvidenceStoreConfig::Local
        );
        assert!(refused(&[("EVIDENCE_STORE", "gcs")]).contains("expected local or s3"));
        // a bucket without EVIDENCE_STORE=s3 is a mistake, not silently ignored
        let e = refused(&[("S3_BUCKET", "dti-evidence")]);
        assert!(e.starts_with("EVIDENCE_STORE is invalid"), "{e}");
        assert!(e.contains("S3_BUCKET"), "{e}");
    }

    #[test]
    fn s3_settings_are_read_with_defaults() {
        let c = store_config(&[("EVIDENCE_STORE", "s3"), ("S3_BUCKET", "dti-evidence")]).unwrap();
        assert_eq!(c, EvidenceStoreConfig::S3(S3Config::new("dti-evidence")));

        let c = store_config(&[
            ("EVIDENCE_STORE", "S3"),
            ("S3_BUCKET", "dti-evidence"),
            ("S3_REGION", "ap-southeast-1"),
            ("S3_ENDPOINT", "http://minio:9000/"),
            ("S3_ALLOW_HTTP", "true"),
            ("S3_PATH_STYLE", "no"),
            ("S3_ACCESS_KEY_ID", "minioadmin"),
            ("S3_SECRET_ACCESS_KEY", "minio-secret-key-123"),
            ("S3_PREFIX", "/lao-cai/evidence/"),
        ])
        .unwrap();
        let EvidenceStoreConfig::S3(s3) = c else {
            panic!("not s3")
        };
        assert_eq!(s3.region, "ap-southeast-1");
        assert_eq!(s3.endpoint.as_deref(), Some("http://minio:9000"));
        assert!(s3.allow_http);
        assert!(!s3.path_style, "explicitly virtual-hosted");
        assert_eq!(s3.access_key_id.as_deref(), Some("minioadmin"));
        assert_eq!(s3.prefix.as_deref(), Some("lao-cai/evidence"));
        assert_eq!(s3.location(), "s3://dti-evidence/lao-cai/evidence");
        // the secret never shows in Debug output
        let shown = format!("{s3:?}");
        assert!(!shown.contains("minio-secret-key-123"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn invalid_s3_combinations_are_refused_with_the_variable_named() {
        let s3 = |extra: &[(&'static str, &'static str)]| {
            let mut v = vec![("EVIDENCE_STORE", "s3"), ("S3_BUCKET", "dti-evidence")];
            v.extend_from_slice(extra);
            v
        };
        let e = refused(&[("EVIDENCE_STORE", "s3")]);
        assert!(e.starts_with("S3_BUCKET is invalid: required"), "{e}");
        for bad in [
            "ab",
            "Upper",
            "-dash",
            "dash-",
            "a..b",
            "under_score",
            &"x".repeat(64),
        ] {
            let e = refused(&[("EVIDENCE_STORE", "s3"), ("S3_BUCKET", bad)]);
            assert!(e.starts_with("S3_BUCKET is invalid"), "{bad}: {e}");
        }
        let e = refused(&s3(&[("S3_ENDPOINT", "http://minio:9000")]));
        assert!(
            e.starts_with("S3_ENDPOINT is invalid") && e.contains("S3_ALLOW_HTTP"),
            "{e}"
        );
        let e = refused(&s3(&[("S3_ENDPOINT", "minio:9000")]));
        assert!(e.starts_with("S3_ENDPOINT is invalid"), "{e}");
        let e = refused(&s3(&[("S3_ENDPOINT", "https://user:pw@minio:9000")]));
        assert!(e.starts_with("S3_ENDPOINT is invalid"), "{e}");
        let e = refused(&s3(&[("S3_ENDPOINT", "https://")]));
        assert!(e.starts_with("S3_ENDPOINT is invalid"), "{e}");
        let e = refused(&s3(&[("S3_ACCESS_KEY_ID", "AKIA")]));
        assert!(
            e.starts_with("S3_SECRET_ACCESS_KEY is invalid: missing"),
            "{e}"
        );
        let e = refused(&s3(&[("S3_SECRET_ACCESS_KEY", "hunter2-secret")]));
        assert!(e.starts_with("S3_ACCESS_KEY_ID is invalid: missing"), "{e}");
        assert!(
            !e.contains("hunter2-secret"),
            "the secret is never echoed: {e}"
        );
        let e = refused(&s3(&[("S3_SESSION_TOKEN", "tok")]));
        assert!(e.starts_with("S3_SESSION_TOKEN is invalid"), "{e}");
        for bad in ["a//b", "../up", "a/./b", "sp ace", "ü"] {
            let e = refused(&s3(&[("S3_PREFIX", bad)]));
            assert!(e.starts_with("S3_PREFIX is invalid"), "{bad}: {e}");
        }
        let e = refused(&s3(&[("S3_ALLOW_HTTP", "maybe")]));
        assert!(e.starts_with("S3_ALLOW_HTTP is invalid"), "{e}");
        let e = refused(&s3(&[("S3_PATH_STYLE", "2")]));
        assert!(e.starts_with("S3_PATH_STYLE is invalid"), "{e}");
        let e = refused(&s3(&[("S3_REGION", "ap southeast")]));
        assert!(e.starts_with("S3_REGION is invalid"), "{e}");
        // an https endpoint is fine, and implies path-style requests unless told otherwise
        let c = store_config(&s3(&[("S3_ENDPOINT", "https://s3.example.vn")])).unwrap();
        assert!(matches!(
            c,
            EvidenceStoreConfig::S3(S3Config {
                path_style: true,
                ..
            })
        ));
    }

    fn webhook_config(vars: &[(&str, &str)], mode: Mode) -> Result<WebhookConfig, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WebhookConfig::from_lookup(&|name| vars.get(name).cloned(), mode)
    }

    #[test]
    fn webhook_settings_have_defaults_per_mode_and_parse_durations() {
        let prod = webhook_config(&[], Mode::Production).unwrap();
        assert!(!prod.allow_http && !prod.allow_private_targets && prod.worker);
        assert_eq!(prod.retry_schedule.len(), 7);
        assert_eq!(prod.retry_schedule[1], Duration::from_secs(300));
        assert!(webhook_config(&[], Mode::Demo).unwrap().allow_http);
        let c = webhook_config(
            &[
                ("WEBHOOK_RETRY_SCHEDULE", "100ms, 2s,1m"),
                ("WEBHOOK_POLL_INTERVAL", "50ms"),
                ("WEBHOOK_DISABLE_AFTER", "2h"),
                ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "yes"),
                ("WEBHOOK_WORKER", "off"),
            ],
            Mode::Production,
        )
        .unwrap();
        assert_eq!(
            c.retry_schedule,
            vec![
                Duration::from_millis(100),
                Duration::from_secs(2),
                Duration::from_secs(60)
            ]
        );
        assert_eq!(c.poll_interval, Duration::from_millis(50));
        assert_eq!(c.disable_after_failing_for, Duration::from_secs(7200));
        assert!(c.allow_private_targets && !c.worker);
        assert_eq!(parse_duration("5d").unwrap(), Duration::from_secs(432_000));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        for (name, bad) in [
            ("WEBHOOK_RETRY_SCHEDULE", "5s,,1m"),
            ("WEBHOOK_RETRY_SCHEDULE", "5 weeks"),
            ("WEBHOOK_POLL_INTERVAL", "1ms"),
            ("WEBHOOK_TIMEOUT", "-3s"),
            ("WEBHOOK_CONCURRENCY", "0"),
            ("WEBHOOK_ALLOW_HTTP", "maybe"),
        ] {
            let e = webhook_config(&[(name, bad)], Mode::Production)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("{name} is invalid")), "{bad}: {e}");
        }
    }
}
