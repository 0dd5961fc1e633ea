//! The local webhook receiver of these tests: an actix-web server inside the test process, on
//! a free loopback port, started once and serving until the process exits. It checks every
//! delivery's signature with the `standardwebhooks` crate, an implementation of the Standard
//! Webhooks specification independent of the service's own.
//!
//! Each [`Channel`] is one receiver URL, `/hooks/<channel>`, with its own settings and its own
//! log of what arrived. A channel answers 401 to a request that none of its secrets verifies
//! (and to every request while it has no secret), then the configured failure status to the
//! verified requests it is told to fail, then 200 `ok`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::Serialize;
use serde_json::Value;
use standardwebhooks::Webhook;

/// One request that reached a channel, as it arrived, and what the channel answered.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    /// The `webhook-id` header.
    pub id: Option<String>,
    /// The `webhook-timestamp` header.
    pub timestamp: Option<String>,
    /// The `webhook-signature` header.
    pub signature: Option<String>,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// Whether `standardwebhooks` verified the request with one of the channel's secrets.
    pub verified: bool,
    /// Why it was not verified: the library's error (`InvalidSignature`, `MissingHeader(..)`,
    /// ...), or that the channel has no secret.
    pub error: Option<String>,
    /// The body parsed as JSON once verified; `null` otherwise.
    pub payload: Value,
    /// The body as sent.
    pub raw: String,
    /// The status the channel answered.
    pub status: u16,
}

/// Which verified requests a channel fails on purpose, and with what status.
#[derive(Debug, Clone, Copy)]
enum Failing {
    No,
    Next { left: u32, status: StatusCode },
    Always { status: StatusCode },
}

struct ChannelState {
    secrets: Vec<String>,
    failing: Failing,
    received: Vec<Received>,
}

impl Default for ChannelState {
    fn default() -> Self {
        ChannelState {
            secrets: vec![],
            failing: Failing::No,
            received: vec![],
        }
    }
}

type Channels = Mutex<HashMap<String, ChannelState>>;

struct Receiver {
    base: String,
    channels: Arc<Channels>,
}

fn start_receiver() -> Result<Receiver, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let channels = Arc::new(Channels::default());
    let data = web::Data::from(channels.clone());
    let (ready, started) = std::sync::mpsc::channel();
    // Each #[tokio::test] has its own runtime, which ends with its test: the receiver, shared by
    // every test of the process, gets a thread and an actix system of its own.
    std::thread::Builder::new()
        .name("webhook-receiver".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(1024 * 1024))
                        .route("/hooks/{channel}", web::post().to(deliver))
                })
                .workers(2)
                .disable_signals()
                .listen(listener);
                match server {
                    Ok(server) => {
                        let _ = ready.send(Ok(()));
                        let _ = server.run().await;
                    }
                    Err(e) => {
                        let _ = ready.send(Err(format!("listening on port {port}: {e}")));
                    }
                }
            })
        })
        .map_err(|e| format!("starting its thread: {e}"))?;
    match started.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(())) => Ok(Receiver {
            base: format!("http://127.0.0.1:{port}"),
            channels,
        }),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(format!("no answer from its thread: {e}")),
    }
}

fn receiver() -> &'static Receiver {
    static RECEIVER: OnceLock<Result<Receiver, String>> = OnceLock::new();
    match RECEIVER.get_or_init(start_receiver) {
        Ok(r) => r,
        Err(e) => panic!("the local webhook receiver did not start: {e}"),
    }
}

fn lock(channels: &Channels) -> MutexGuard<'_, HashMap<String, ChannelState>> {
    // a test that panicked while holding the lock leaves the log usable for the others
    channels.lock().unwrap_or_else(|e| e.into_inner())
}

/// The request's headers as the `http` 1 map that `standardwebhooks` reads.
fn header_map(req: &HttpRequest) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// Verifies with each secret in turn: `Ok` with the first that verifies, else the last error.
fn verify(secrets: &[String], body: &[u8], headers: &http::HeaderMap) -> Result<(), String> {
    let mut error = "no secret configured for this channel".to_string();
    for secret in secrets {
        match Webhook::new(secret).and_then(|w| w.verify(body, headers)) {
            Ok(()) => return Ok(()),
            Err(e) => error = format!("{e:?}"),
        }
    }
    Err(error)
}

async fn deliver(
    channel: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
    channels: web::Data<Channels>,
) -> HttpResponse {
    let headers = header_map(&req);
    let secrets = lock(&channels)
        .entry(channel.clone())
        .or_default()
        .secrets
        .clone();
    let verdict = verify(&secrets, &body, &headers);
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let mut all = lock(&channels);
    let state = all.entry(channel.into_inner()).or_default();
    let (status, text) = match (&verdict, state.failing) {
        (Err(e), _) => (
            StatusCode::UNAUTHORIZED,
            format!("signature not verified: {e}"),
        ),
        (Ok(()), Failing::No) => (StatusCode::OK, "ok".to_string()),
        (Ok(()), Failing::Always { status }) => (status, "failing on purpose".to_string()),
        (Ok(()), Failing::Next { left, status }) => {
            let left = left - 1;
            state.failing = if left == 0 {
                Failing::No
            } else {
                Failing::Next { left, status }
            };
            (status, format!("failing on purpose ({left} left)"))
        }
    };
    state.received.push(Received {
        id: header(standardwebhooks::HEADER_WEBHOOK_ID),
        timestamp: header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP),
        signature: header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE),
        content_type: header("content-type"),
        verified: verdict.is_ok(),
        payload: match verdict {
            Ok(()) => serde_json::from_slice(&body).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        },
        error: verdict.err(),
        raw: String::from_utf8_lossy(&body).into_owned(),
        status: status.as_u16(),
    });
    HttpResponse::build(status)
        .content_type("text/plain")
        .body(text)
}

/// One receiver URL of the local receiver, with its own settings and log.
pub struct Channel {
    name: String,
    pub url: String,
}

impl Channel {
    pub fn new() -> Channel {
        let name = uuid::Uuid::new_v4().simple().to_string();
        let r = receiver();
        lock(&r.channels).insert(name.clone(), ChannelState::default());
        Channel {
            url: format!("{}/hooks/{name}", r.base),
            name,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ChannelState) -> T) -> T {
        f(lock(&receiver().channels)
            .entry(self.name.clone())
            .or_default())
    }

    /// From now on, a request verifies when one of `secrets` verifies it.
    pub fn accept_secrets(&self, secrets: &[&str]) {
        self.with(|c| c.secrets = secrets.iter().map(|s| s.to_string()).collect());
    }

    /// Answers `status` to the next `n` verified requests (then 200 again).
    pub fn fail_next(&self, n: u32, status: u16) {
        let status = StatusCode::from_u16(status).unwrap();
        self.with(|c| {
            c.failing = match n {
                0 => Failing::No,
                left => Failing::Next { left, status },
            }
        });
    }

    /// Answers `status` to every verified request until [`Channel::recover`].
    pub fn fail_always(&self, status: u16) {
        let status = StatusCode::from_u16(status).unwrap();
        self.with(|c| c.failing = Failing::Always { status });
    }

    /// Answers 200 to verified requests again.
    pub fn recover(&self) {
        self.with(|c| c.failing = Failing::No);
    }

    /// What the channel received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.with(|c| c.received.clone())
    }

    /// Waits (up to 60 s) until at least `n` received requests satisfy `pred`; returns all.
    pub async fn wait_for(&self, n: usize, pred: impl Fn(&Received) -> bool) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.iter().filter(|r| pred(r)).count() >= n {
                return got;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited for {n} matching requests; received: {}",
                serde_json::to_string_pretty(&got).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
