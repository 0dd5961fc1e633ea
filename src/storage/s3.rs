//! [`S3Store`]: evidence blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph…),
//! on top of the `object_store` crate.
//!
//! The [`BlobStore`] contract is synchronous and its callers run on blocking threads, while
//! `object_store` is async. Each store therefore owns a small tokio runtime of its own: a call
//! spawns the request onto that runtime and waits for the answer on a plain channel. This
//! never nests `block_on` in a caller's runtime, so it cannot panic or deadlock whether it is
//! called from `web::block`, `spawn_blocking`, a plain thread or (briefly blocking it) an async
//! worker, and connections stay with the runtime that opened them. Dropping the store stops its
//! runtime without waiting, which is allowed anywhere.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use secrecy::ExposeSecret;

use super::{BlobStore, StorageError, validate_key};
use crate::config::S3Config;
use crate::error::BoxError;

/// How long a readiness check may take before the store counts as unavailable.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest any one operation may take, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(150);

/// Blobs as objects `<prefix>/ab/cd/<sha256>` in one bucket. Share it with an `Arc`.
///
/// Errors: a missing key is `Io(NotFound)` from `get` and `false` from `exists` (S3 answers a
/// missing bucket the same way there); everything else the server or the network does wrong —
/// refused credentials, a missing bucket on `put` or `check`, 5xx, timeouts — is
/// [`StorageError::Unavailable`], after a few quick retries.
pub struct S3Store {
    client: Arc<AmazonS3>,
    prefix: Option<String>,
    location: String,
    runtime: OwnRuntime,
}

impl std::fmt::Debug for S3Store {
    /// The location only: the client's configuration holds credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A runtime shut down in the background on drop (a plain drop would block, and panics
/// inside an async context).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Makes ring the process's rustls crypto provider, unless one is installed already.
///
/// The HTTP client (reqwest, under `object_store`) is built with rustls but without a crypto
/// provider of its own, so that TLS and request signing share ring rather than pulling in a
/// second backend; building an HTTP client before a provider is installed panics. Called by
/// [`S3Store::new`] and when the application is built. Idempotent and cheap.
pub fn install_tls_crypto() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn unavailable(e: object_store::Error) -> StorageError {
    StorageError::Unavailable(Box::new(e))
}

fn not_found(e: object_store::Error) -> StorageError {
    StorageError::Io(io::Error::new(io::ErrorKind::NotFound, e))
}

impl S3Store {
    /// Builds the client (no request is sent: see [`BlobStore::check`]). Fails on settings the
    /// client refuses; `config` is checked like [`crate::config::EvidenceStoreConfig::check`].
    pub fn new(config: &S3Config) -> Result<S3Store, BoxError> {
        crate::config::EvidenceStoreConfig::S3(config.clone()).check()?;
        install_tls_crypto();

        let mut builder = match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) => {
                let b = AmazonS3Builder::new()
                    .with_access_key_id(id)
                    .with_secret_access_key(secret.expose_secret());
                match &config.session_token {
                    Some(token) => b.with_token(token.expose_secret()),
                    None => b,
                }
            }
            // The standard AWS sources: AWS_* variables, web identity, container or instance role.
            _ => AmazonS3Builder::from_env(),
        };
        builder = builder
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            )
            .with_allow_http(config.allow_http)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let client = builder.build()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("evidence-s3")
            .enable_all()
            .build()?;
        Ok(S3Store {
            client: Arc::new(client),
            prefix: config.prefix.clone(),
            location: config.location(),
            runtime: OwnRuntime(Some(runtime)),
        })
    }

    fn path_for(&self, key: &str) -> io::Result<ObjectPath> {
        validate_key(key)?;
        let full = match &self.prefix {
            Some(p) => format!("{p}/{key}"),
            None => key.to_string(),
        };
        ObjectPath::parse(full).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    /// Runs `fut` on the store's runtime and waits for its result (see the module docs).
    fn run<T, F>(&self, fut: F) -> Result<T, StorageError>
    where
        F: Future<Output = Result<T, StorageError>> + Send + 'static,
        T: Send + 'static,
    {
        let Some(rt) = &self.runtime.0 else {
            return Err(StorageError::Unavailable("the store is shut down".into()));
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let out = match tokio::time::timeout(OPERATION_TIMEOUT, fut).await {
                Ok(out) => out,
                Err(_) => Err(StorageError::Unavailable(
                    format!("no answer within {} s", OPERATION_TIMEOUT.as_secs()).into(),
                )),
            };
            let _ = tx.send(out);
        });
        // A task that panicked or was cancelled drops `tx`: report it, never re-panic.
        rx.recv().unwrap_or_else(|_| {
            Err(StorageError::Unavailable(
                "the storage request was abandoned".into(),
            ))
        })
    }

    /// The size of the object under `path`, or `None` if there is none.
    fn size_of(&self, path: ObjectPath) -> Result<Option<u64>, StorageError> {
        let client = self.client.clone();
        self.run(async move {
            match client.head(&path).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(unavailable(e)),
            }
        })
    }
}

impl BlobStore for S3Store {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path_for(key)?;
        if self.size_of(path.clone())? == Some(bytes.len() as u64) {
            return Ok(()); // content-addressed: same key and size is the same content
        }
        let client = self.client.clone();
        let payload = PutPayload::from(bytes.to_vec());
        // One PUT is atomic, and the signed payload hash makes the server verify the bytes.
        // Any failure here, a 404 for a missing bucket included, means nothing was stored.
        self.run(async move {
            client
                .put(&path, payload)
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path_for(key)?;
        let client = self.client.clone();
        self.run(async move {
            let found = client.get(&path).await.map_err(|e| match e {
                object_store::Error::NotFound { .. } => not_found(e),
                e => unavailable(e),
            })?;
            let bytes = found.bytes().await.map_err(unavailable)?;
            Ok(bytes.to_vec())
        })
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path_for(key)?;
        let client = self.client.clone();
        self.run(async move {
            match client.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(unavailable(e)),
            }
        })
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        Ok(self.size_of(self.path_for(key)?)?.is_some())
    }

    /// Lists a prefix that holds no blob (keys are hex): one small request that needs the
    /// bucket to exist, the credentials to be accepted and the server to answer in time.
    fn check(&self) -> Result<(), StorageError> {
        let probe = match &self.prefix {
            Some(p) => format!("{p}/readiness"),
            None => "readiness".to_string(),
        };
        let probe = ObjectPath::parse(probe)
            .map_err(|e| StorageError::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let client = self.client.clone();
        self.run(async move {
            match tokio::time::timeout(CHECK_TIMEOUT, client.list_with_delimiter(Some(&probe)))
                .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(unavailable(e)),
                Err(_) => Err(StorageError::Unavailable(
                    format!("no answer within {} s", CHECK_TIMEOUT.as_secs()).into(),
                )),
            }
        })
    }

    fn describe(&self) -> String {
        self.location.clone()
    }
}
