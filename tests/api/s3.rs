//! Evidence in S3-compatible object storage, against a real S3 server: s3s-fs, an
//! S3-compatible server over a temporary folder, run inside this test process (its own thread
//! and runtime) on a free port, with signature checking. Each test uses a fresh bucket. The
//! store contract is checked directly (and the same checks run on the local disk store), then
//! the API is exercised over HTTP with `EVIDENCE_STORE=s3`.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dti_api::config::{EvidenceStoreConfig, S3Config};
use dti_api::domain::Role;
use dti_api::storage::{self, BlobStore, LocalDiskStore, S3Store, StorageError, key_for};
use serde_json::json;
use sha2::Digest;

use crate::fixtures::{
    assessment_of, blob_rows, evidence_rows, files_under, open_period, pdf, refuse_bad_uploads,
    upload,
};
use crate::helpers::*;

/// The credentials the test server accepts (requests signed with others are refused).
const ACCESS_KEY: &str = "testing";
const SECRET_KEY: &str = "testing-secret";

struct TestS3 {
    endpoint: String,
}

/// Signed requests are checked against [`ACCESS_KEY`]; unsigned ones (the tests' own bucket
/// set-up and listings) are let through. A `PUT` into a bucket that does not exist is refused
/// with `NoSuchBucket`, as S3 does (s3s-fs alone would create the folder).
struct AnyCaller {
    root: std::path::PathBuf,
}

#[async_trait::async_trait]
impl s3s::access::S3Access for AnyCaller {
    async fn check(&self, _cx: &mut s3s::access::S3AccessContext<'_>) -> s3s::S3Result<()> {
        Ok(())
    }

    async fn put_object(
        &self,
        req: &mut s3s::S3Request<s3s::dto::PutObjectInput>,
    ) -> s3s::S3Result<()> {
        let bucket = &req.input.bucket;
        if bucket.contains(['/', '.']) || !self.root.join(bucket).is_dir() {
            return Err(s3s::s3_error!(NoSuchBucket));
        }
        Ok(())
    }
}

fn start_s3() -> Result<TestS3, String> {
    // reqwest clients need a TLS crypto provider, even for plain http
    dti_api::storage::install_tls_crypto();
    let root = std::env::temp_dir().join(format!("dti-s3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| format!("creating {root:?}: {e}"))?;
    let fs = s3s_fs::FileSystem::new(&root).map_err(|e| format!("s3s-fs on {root:?}: {e:?}"))?;
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    builder.set_access(AnyCaller { root: root.clone() });
    let service = builder.build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    // Each #[tokio::test] has its own runtime, which ends with the test: the server gets a
    // thread and runtime of its own, for the life of the process.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the S3 test server");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                        .await;
                });
            }
        });
    });
    Ok(TestS3 {
        endpoint: format!("http://127.0.0.1:{port}"),
    })
}

fn test_s3() -> &'static TestS3 {
    static SERVER: OnceLock<Result<TestS3, String>> = OnceLock::new();
    match SERVER.get_or_init(start_s3) {
        Ok(s) => s,
        Err(e) => panic!("the in-process S3 test server did not start: {e}"),
    }
}

/// A new empty bucket on the test server.
async fn new_bucket() -> String {
    let endpoint = &test_s3().endpoint;
    let name = format!(
        "dti-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let resp = reqwest::Client::new()
        .put(format!("{endpoint}/{name}"))
        .send()
        .await
        .expect("the S3 test server answers");
    assert!(
        resp.status().is_success(),
        "creating bucket {name}: {}",
        resp.status()
    );
    name
}

/// Every key in `bucket`, sorted.
async fn keys_in(bucket: &str) -> Vec<String> {
    let endpoint = &test_s3().endpoint;
    let body = reqwest::Client::new()
        .get(format!("{endpoint}/{bucket}?list-type=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("<ListBucketResult"), "{body}");
    assert!(!body.contains("<IsTruncated>true"), "{body}");
    let mut keys: Vec<String> = body
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect();
    keys.sort();
    keys
}

fn s3_config(bucket: &str) -> S3Config {
    S3Config {
        endpoint: Some(test_s3().endpoint.clone()),
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(SECRET_KEY.into()),
        prefix: Some("dti/evidence".into()),
        allow_http: true,
        path_style: true,
        ..S3Config::new(bucket)
    }
}

/// An endpoint where nothing listens.
fn dead_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

fn is_kind(r: Result<impl std::fmt::Debug, StorageError>, kind: std::io::ErrorKind) -> bool {
    matches!(r, Err(StorageError::Io(e)) if e.kind() == kind)
}

fn is_unavailable(r: Result<impl std::fmt::Debug, StorageError>) -> bool {
    matches!(r, Err(StorageError::Unavailable(_)))
}

/// The `BlobStore` contract; `objects` lists what the backend holds.
fn contract(store: &dyn BlobStore, objects: &dyn Fn() -> Vec<String>) {
    use std::io::ErrorKind::{InvalidInput, NotFound};
    let key = key_for(&"0a1b".repeat(16));
    assert!(store.check().is_ok());
    assert!(!store.exists(&key).unwrap());
    assert!(is_kind(store.get(&key), NotFound), "get of a missing key");
    store.delete(&key).expect("deleting a missing key is fine");
    assert!(objects().is_empty());

    store.put(&key, b"evidence bytes").unwrap();
    store.put(&key, b"evidence bytes").unwrap();
    assert!(store.exists(&key).unwrap());
    assert_eq!(store.get(&key).unwrap(), b"evidence bytes");
    assert_eq!(objects().len(), 1, "stored once: {:?}", objects());
    // an existing key is kept (content-addressed: same key, same content)
    store.put(&key, b"other  bytes!!").unwrap();
    assert_eq!(store.get(&key).unwrap(), b"evidence bytes");

    let other = key_for(&"ff".repeat(32));
    store.put(&other, b"\x00\x01binary\xff").unwrap();
    assert_eq!(store.get(&other).unwrap(), b"\x00\x01binary\xff");
    assert_eq!(objects().len(), 2);

    store.delete(&key).unwrap();
    assert!(!store.exists(&key).unwrap());
    assert!(is_kind(store.get(&key), NotFound));
    store.delete(&key).unwrap();
    assert!(store.exists(&other).unwrap(), "only that key went");
    store.delete(&other).unwrap();
    assert!(objects().is_empty(), "{:?}", objects());

    let long = "a".repeat(300);
    for bad in [
        "",
        "../etc/passwd",
        "ab/../cd",
        "/ab/cd",
        "ab/cd/",
        "ab//cd",
        "AB/CD",
        "ab/cd/x.pdf",
        " ab",
        &long,
    ] {
        assert!(is_kind(store.put(bad, b"x"), InvalidInput), "put {bad:?}");
        assert!(is_kind(store.get(bad), InvalidInput), "get {bad:?}");
        assert!(is_kind(store.delete(bad), InvalidInput), "delete {bad:?}");
        assert!(is_kind(store.exists(bad), InvalidInput), "exists {bad:?}");
    }
    assert!(objects().is_empty(), "{:?}", objects());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_keeps_the_blob_store_contract() {
    let bucket = new_bucket().await;
    let cfg = s3_config(&bucket);
    let listed = bucket.clone();
    tokio::task::spawn_blocking(move || {
        let store = S3Store::new(&cfg).unwrap();
        assert_eq!(store.describe(), format!("s3://{listed}/dti/evidence"));
        let handle = tokio::runtime::Handle::current();
        let objects = || handle.block_on(keys_in(&listed));
        contract(&store, &objects);
        // keys live under the prefix, exactly as on disk
        let blob = storage::store(&store, &pdf("s3"), 1 << 20).unwrap();
        assert_eq!(
            objects(),
            vec![format!("dti/evidence/{}", blob.storage_key)]
        );
        assert!(!format!("{store:?}").contains("testing-secret"));
    })
    .await
    .unwrap();
}

#[test]
fn the_local_disk_store_keeps_the_same_contract() {
    let root = std::env::temp_dir().join(format!("dti-contract-{}", uuid::Uuid::new_v4()));
    let store = LocalDiskStore::new(&root).unwrap();
    let objects = || {
        files_under(&root)
            .into_iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect()
    };
    contract(&store, &objects);
    let _ = std::fs::remove_dir_all(&root);
}

/// The store is called from blocking threads in the service, but must not panic or deadlock
/// from an async worker either, nor when dropped inside a runtime.
#[tokio::test]
async fn the_s3_store_works_from_any_thread_and_drops_anywhere() {
    let bucket = new_bucket().await;
    let store = Arc::new(S3Store::new(&s3_config(&bucket)).unwrap());
    let key = key_for(&"12".repeat(32));
    // on this (current-thread) runtime's own thread
    store.put(&key, b"from async").unwrap();
    assert_eq!(store.get(&key).unwrap(), b"from async");
    // on the blocking pool, several at once, the same content
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let key = key_for(&format!("{:064x}", i % 2));
            store.put(&key, b"same content").unwrap();
            store.exists(&key).unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    // from a plain thread
    let s = store.clone();
    std::thread::spawn(move || s.delete(&key_for(&format!("{:064x}", 0))).unwrap())
        .join()
        .unwrap();
    assert_eq!(keys_in(&bucket).await.len(), 2);
    // dropped inside an async context: no panic
    drop(store);
}

#[tokio::test]
async fn an_unreachable_or_missing_bucket_is_unavailable_not_a_panic() {
    let key = key_for(&"ab".repeat(32));
    // nothing listens
    let cfg = S3Config {
        endpoint: Some(dead_endpoint()),
        ..s3_config("dti-nowhere")
    };
    let store = S3Store::new(&cfg).unwrap();
    let started = Instant::now();
    assert!(is_unavailable(store.put(&key, b"x")));
    assert!(is_unavailable(store.get(&key)));
    assert!(is_unavailable(store.exists(&key)));
    assert!(is_unavailable(store.delete(&key)));
    assert!(is_unavailable(store.check()));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "gives up quickly: {:?}",
        started.elapsed()
    );
    // a bucket that does not exist
    let store = S3Store::new(&s3_config("dti-no-such-bucket")).unwrap();
    assert!(is_unavailable(store.check()));
    assert!(is_unavailable(store.put(&key, b"x")));
    // a missing bucket holds no key
    assert!(!store.exists(&key).unwrap());
    // a bad configuration is refused before any request
    let err = S3Store::new(&S3Config {
        endpoint: Some("ftp://example".into()),
        ..s3_config("dti-evidence")
    })
    .unwrap_err();
    assert!(err.to_string().contains("S3_ENDPOINT"), "{err}");
}

async fn spawn_s3_app(bucket: &str) -> TestApp {
    spawn_s3_app_with(s3_config(bucket)).await
}

async fn spawn_s3_app_with(s3: S3Config) -> TestApp {
    let db_name = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let app = spawn_app_with_store(test_config(&db_name), EvidenceStoreConfig::S3(s3)).await;
    app.load_seeds();
    app
}

#[tokio::test]
async fn evidence_goes_to_the_bucket_once_and_comes_back_byte_for_byte() {
    let bucket = new_bucket().await;
    let app = spawn_s3_app(&bucket).await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;

    let bytes = pdf("minutes of the steering committee");
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let ev = json_ok(
        upload(&app, &editor, &a, "1.1", "Biên bản.pdf", bytes.clone()).await,
        201,
    )
    .await;
    assert_eq!(ev["sha256"], sha);
    assert_eq!(ev["size_bytes"], bytes.len());
    let object = format!("dti/evidence/{}", key_for(&sha));
    assert_eq!(keys_in(&bucket).await, vec![object.clone()]);
    assert!(
        files_under(&app.config.evidence_dir).is_empty(),
        "nothing on local disk"
    );

    // identical content: a second item, still one object and one blob row
    let again = json_ok(
        upload(&app, &editor, &a, "1.1", "copy.pdf", bytes.clone()).await,
        201,
    )
    .await;
    assert_eq!(again["sha256"], sha);
    let other = json_ok(
        upload(&app, &editor, &a, "1.1", "other.pdf", pdf("another")).await,
        201,
    )
    .await;
    assert_eq!(keys_in(&bucket).await.len(), 2);
    assert_eq!(blob_rows(&app), 2);

    let list = json_ok(
        app.get(
            &format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            &editor,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    for item in [&ev, &again] {
        let resp = app
            .get(item["download_url"].as_str().unwrap(), &editor)
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/pdf");
        assert_eq!(resp.headers()["etag"], format!("\"{sha}\"").as_str());
        let got = resp.bytes().await.unwrap().to_vec();
        assert_eq!(got, bytes);
        assert_eq!(hex::encode(sha2::Sha256::digest(&got)), sha);
    }

    // deleting one of two items keeps the object; deleting the last removes it
    let delete = |id: &serde_json::Value| {
        app.request(
            reqwest::Method::DELETE,
            &format!("/api/v1/evidence/{}", id.as_str().unwrap()),
            Some(&editor),
        )
        .send()
    };
    assert_eq!(delete(&ev["id"]).await.unwrap().status(), 204);
    assert!(keys_in(&bucket).await.contains(&object));
    assert_eq!(delete(&again["id"]).await.unwrap().status(), 204);
    let left = keys_in(&bucket).await;
    assert!(!left.contains(&object), "{left:?}");
    assert_eq!(left.len(), 1, "the other file stays");
    assert_eq!(blob_rows(&app), 1);
    let resp = app
        .get(other["download_url"].as_str().unwrap(), &editor)
        .await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf("another"));

    // readiness includes the bucket
    let resp = app
        .request(reqwest::Method::GET, "/health/ready", None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn refused_uploads_leave_no_object_and_no_row() {
    let bucket = new_bucket().await;
    let app = spawn_s3_app(&bucket).await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;

    refuse_bad_uploads(&app, &editor, &a).await;
    assert!(keys_in(&bucket).await.is_empty());
    assert_eq!(blob_rows(&app), 0);
    assert_eq!(evidence_rows(&app), 0);
}

#[tokio::test]
async fn an_unreachable_store_answers_503_and_leaves_no_rows() {
    let app = spawn_s3_app_with(S3Config {
        endpoint: Some(dead_endpoint()),
        ..s3_config("dti-evidence")
    })
    .await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;

    let resp = upload(&app, &editor, &a, "1.1", "a.pdf", pdf("a")).await;
    assert_eq!(resp.headers()["retry-after"], "5");
    let body = assert_problem(resp, 503, "STORAGE_UNAVAILABLE").await;
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no internals: {body}"
    );
    assert_eq!(blob_rows(&app), 0);
    assert_eq!(evidence_rows(&app), 0);
    // references need no storage
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            Some(&editor),
            &json!({"doc_number": "125/QĐ-UBND", "doc_date": "2025-03-14"}),
        )
        .await,
        201,
    )
    .await;
    // readiness says why
    let resp = app
        .request(reqwest::Method::GET, "/health/ready", None)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 503, "STORAGE_UNAVAILABLE").await;
}

#[tokio::test]
async fn a_missing_bucket_answers_503_and_leaves_no_rows() {
    let app = spawn_s3_app(&format!(
        "dti-missing-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ))
    .await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    assert_problem(
        upload(&app, &editor, &a, "1.1", "a.pdf", pdf("a")).await,
        503,
        "STORAGE_UNAVAILABLE",
    )
    .await;
    assert_eq!(blob_rows(&app), 0);
    assert_eq!(evidence_rows(&app), 0);
    let resp = app
        .request(reqwest::Method::GET, "/health/ready", None)
        .header("accept-language", "vi")
        .send()
        .await
        .unwrap();
    let body = assert_problem(resp, 503, "STORAGE_UNAVAILABLE").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Kho lưu trữ tệp minh chứng"),
        "{body}"
    );
    assert!(body["detail_en"].as_str().unwrap().contains("unavailable"));
}

#[test]
fn the_test_server_refuses_a_wrong_signature() {
    let bucket = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(new_bucket());
    let store = S3Store::new(&S3Config {
        secret_access_key: Some("not-the-secret".into()),
        ..s3_config(&bucket)
    })
    .unwrap();
    assert!(store.put(&key_for(&"cd".repeat(32)), b"x").is_err());
    let store = S3Store::new(&s3_config(&bucket)).unwrap();
    store.put(&key_for(&"cd".repeat(32)), b"x").unwrap();
}

#[tokio::test]
async fn uploads_racing_deletes_of_the_same_content_keep_the_object() {
    let bucket = new_bucket().await;
    let app = spawn_s3_app(&bucket).await;
    crate::fixtures::race_uploads_and_deletes_of_the_same_content(&app, 15).await;
    assert_eq!(keys_in(&bucket).await.len(), 1);
}
