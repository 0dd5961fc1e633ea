//! Configuration: one plain value read from the environment in `main` and passed down.
//! Tests build it directly. Never a global.

use std::path::PathBuf;

/// How the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Demo/dev: weak or missing `JWT_SECRET` allowed (a random one is generated and kept in the
    /// data directory), seeds and demo accounts loaded on an empty database, CORS open.
    Demo,
    /// Production: a strong `JWT_SECRET` (≥ 32 bytes) is required.
    Production,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// `None`: start (or reuse) a private PostgreSQL cluster under `data_dir`.
    pub database_url: Option<String>,
    pub host: String,
    pub port: u16,
    pub jwt_secret: Option<String>,
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
    pub login_max_failures: i32,
    pub login_lock_seconds: i64,
    /// Load `seeds/` and demo accounts when the database has no user.
    pub seed_on_empty: bool,
    pub demo_password: String,
    pub workers: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: format!("{v:?}: {e}"),
        }),
    }
}

fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
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
        let database_url = var("DATABASE_URL");
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
            port: parsed("APP_PORT", 8080)?,
            jwt_secret: var("JWT_SECRET"),
            jwt_issuer: var("JWT_ISSUER").unwrap_or_else(|| "dti-api".into()),
            jwt_ttl_minutes: parsed("JWT_TTL_MINUTES", 480)?,
            data_dir,
            evidence_dir,
            seeds_dir: PathBuf::from(var("SEEDS_DIR").unwrap_or_else(|| "seeds".into())),
            max_upload_bytes: parsed("MAX_UPLOAD_BYTES", 20 * 1024 * 1024)?,
            max_json_bytes: parsed("MAX_JSON_BYTES", 4 * 1024 * 1024)?,
            cors_origins,
            db_pool_size: parsed("DB_POOL_SIZE", 10)?,
            db_timeout_ms: parsed("DB_TIMEOUT_MS", 3000)?,
            login_max_failures: parsed("LOGIN_MAX_FAILURES", 5)?,
            login_lock_seconds: parsed("LOGIN_LOCK_SECONDS", 300)?,
            seed_on_empty: flag("SEED_ON_EMPTY", mode == Mode::Demo)?,
            demo_password: var("DEMO_PASSWORD").unwrap_or_else(|| "demo-dti-2026".into()),
            workers: parsed("APP_WORKERS", 0)?,
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
                        reason: "missing; set a random secret of at least 32 bytes, or APP_MODE=demo for a local trial".into(),
                    });
                }
                Some(s) if is_weak_secret(s) => {
                    return Err(ConfigError::Invalid {
                        name: "JWT_SECRET",
                        reason: "too weak: use at least 32 bytes with at least 10 distinct characters (e.g. `openssl rand -base64 48`)".into(),
                    });
                }
                Some(_) => {}
            }
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
        if self.db_pool_size == 0 {
            return Err(ConfigError::Invalid {
                name: "DB_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Shorter than 32 bytes, or too few distinct characters ("aaaa…", "changeme…").
pub fn is_weak_secret(secret: &str) -> bool {
    let distinct: std::collections::BTreeSet<char> = secret.chars().collect();
    secret.len() < 32 || distinct.len() < 10
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
}
