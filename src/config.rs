//! Configuration: plain values read from the environment in `main` and passed down.
//! Tests build them directly. Never a global.
//!
//! [`Config`] holds the service settings; its [`EvidenceStoreConfig`] says where evidence files
//! live (local disk by default, or an S3-compatible bucket).

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
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` is believed (`TRUSTED_PROXIES`):
    /// addresses or networks. Empty: the client is the TCP peer, whatever it claims.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Load `seeds/` and demo accounts when the database has no user.
    pub seed_on_empty: bool,
    pub demo_password: String,
    pub workers: usize,
    /// Where evidence files live (`EVIDENCE_STORE`, `S3_*`).
    pub evidence_store: EvidenceStoreConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
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
    flag_in(&env_lookup, name, default)
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
            login_address_max_failures: parsed("LOGIN_ADDRESS_MAX_FAILURES", 100)?,
            login_lock_seconds: parsed("LOGIN_LOCK_SECONDS", 300)?,
            login_lock_max_seconds: parsed("LOGIN_LOCK_MAX_SECONDS", 3600)?,
            trusted_proxies: networks("TRUSTED_PROXIES", var("TRUSTED_PROXIES").as_deref())?,
            metrics_token: var("METRICS_TOKEN"),
            seed_on_empty: flag("SEED_ON_EMPTY", mode == Mode::Demo)?,
            demo_password: var("DEMO_PASSWORD").unwrap_or_else(|| "demo-dti-2026".into()),
            workers: parsed("APP_WORKERS", 0)?,
            evidence_store: EvidenceStoreConfig::from_env()?,
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
        if self.mode == Mode::Production
            && self.metrics_token.as_deref().is_some_and(is_weak_secret)
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
        Ok(())
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

/// An S3-compatible bucket for evidence (`S3_*` variables, see README.md).
#[derive(Clone, PartialEq, Eq)]
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
    pub secret_access_key: Option<String>,
    /// `S3_SESSION_TOKEN`, for temporary static credentials.
    pub session_token: Option<String>,
    /// `S3_PREFIX`: keys are stored under `<prefix>/ab/cd/<sha256>`; `None` = bucket root.
    pub prefix: Option<String>,
    /// `S3_ALLOW_HTTP`: permit a plain `http://` endpoint (default false).
    pub allow_http: bool,
    /// `S3_PATH_STYLE`: path-style `endpoint/bucket/key` rather than virtual-hosted
    /// `bucket.endpoint/key`. Default: path-style with an `S3_ENDPOINT` (MinIO, Ceph),
    /// virtual-hosted for AWS. A virtual-hosted custom endpoint must include the bucket.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Config {
    /// Never prints the secret key or the session token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .field("prefix", &self.prefix)
            .field("allow_http", &self.allow_http)
            .field("path_style", &self.path_style)
            .finish()
    }
}

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
                    secret_access_key: get("S3_SECRET_ACCESS_KEY"),
                    session_token: get("S3_SESSION_TOKEN"),
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
        assert!(shown.contains("<redacted>"), "{shown}");
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
}
