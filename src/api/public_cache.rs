//! The public routes' bytes. A published snapshot version never changes, so each process
//! serialises a version's response bodies once (the rankings, and every unit's result), keeps
//! them with their gzip and brotli codings, and answers from memory. Which version the public
//! sees is decided on a small index of every publication without its content (period, group,
//! version, checksum, embargo time), read again from the database at most every
//! [`INDEX_REFRESH`] (and at once after a publication through this process): another replica's
//! publication is public here within that time, well inside the `Cache-Control` max-age of the
//! responses. A 304 is answered from the index alone. Both are read from the read pool: a read
//! replica's (`DATABASE_READ_URL`) adds its replication lag to that time.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, AcceptEncoding, Encoding};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde_json::{Value, json};
use uuid::Uuid;

use super::public::{PublicGroup, PublicPeriod, PublicUnitResult, publication_response};
use crate::db::ReadPool;
use crate::db::models::publications::{Publication, PublishedEntry};
use crate::error::{AppError, AppResult};

/// How old the index may get before a request reads it again: the bound within which a
/// publication made through another replica becomes public on this one.
pub const INDEX_REFRESH: Duration = Duration::from_secs(2);

/// What the kept bodies may take (plain and compressed bytes) before the least recently read
/// versions are dropped; the version just loaded always stays.
const BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// Every publication without its content, as read at `loaded_at`.
pub struct Index {
    pub entries: Vec<PublishedEntry>,
    loaded_at: Instant,
    /// The value of [`PublicCache::epoch`] before the read.
    epoch: u64,
}

/// One response body, with its gzip and brotli codings made on first use.
pub struct Body {
    plain: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

impl Body {
    fn new(plain: Vec<u8>) -> Body {
        Body {
            plain: Bytes::from(plain),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    /// Makes both codings now (for large bodies, off the request threads).
    fn precompress(&self) {
        self.coded(Coding::Gzip);
        self.coded(Coding::Brotli);
    }

    fn coded(&self, coding: Coding) -> &Bytes {
        match coding {
            Coding::Identity => &self.plain,
            Coding::Gzip => self.gzip.get_or_init(|| {
                let mut out = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.plain.len() / 4),
                    flate2::Compression::best(),
                );
                out.write_all(&self.plain).expect("writing to memory");
                Bytes::from(out.finish().expect("writing to memory"))
            }),
            Coding::Brotli => self.brotli.get_or_init(|| {
                let mut out = Vec::with_capacity(self.plain.len() / 4);
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 9,
                    lgwin: 22,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut &self.plain[..], &mut out, &params)
                    .expect("writing to memory");
                Bytes::from(out)
            }),
        }
    }

    fn size(&self) -> usize {
        self.plain.len()
            + self.gzip.get().map_or(0, Bytes::len)
            + self.brotli.get().map_or(0, Bytes::len)
    }

    /// `200` with the body in the coding the client prefers (brotli, gzip or none, as the
    /// `Compress` middleware would choose), which then leaves it alone.
    pub fn respond(&self, req: &HttpRequest, etag: Option<String>, cache: &str) -> HttpResponse {
        let coding = Coding::negotiate(req);
        let mut resp = HttpResponse::Ok();
        resp.content_type("application/json")
            .insert_header((header::CACHE_CONTROL, cache.to_string()))
            .insert_header((header::VARY, "Accept-Encoding"));
        if let Some(etag) = etag {
            resp.insert_header((header::ETAG, etag));
        }
        if let Some(name) = coding.name() {
            resp.insert_header((header::CONTENT_ENCODING, name));
        }
        resp.body(self.coded(coding).clone())
    }
}

/// `304` for `etag`.
pub fn unchanged(etag: String, cache: &str) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache.to_string()))
        .insert_header((header::VARY, "Accept-Encoding"))
        .finish()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    fn negotiate(req: &HttpRequest) -> Coding {
        const OFFERED: [Encoding; 3] = [Encoding::identity(), Encoding::brotli(), Encoding::gzip()];
        let Ok(accept) = req.get_header::<AcceptEncoding>().ok_or(()) else {
            return Coding::Identity;
        };
        match accept.negotiate(OFFERED.iter()) {
            Some(e) if e == Encoding::brotli() => Coding::Brotli,
            Some(e) if e == Encoding::gzip() => Coding::Gzip,
            _ => Coding::Identity,
        }
    }

    fn name(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }
}

/// One published version's bodies.
pub struct Snapshot {
    pub rankings: Body,
    /// By the unit code in ASCII upper case: the code as published, and the body.
    units: HashMap<String, (String, Body)>,
    last_read: AtomicU64,
}

impl Snapshot {
    /// The bodies of `p` exactly as the routes shaped them from the stored row.
    fn build(p: Publication, group_code: String) -> AppResult<Snapshot> {
        let content = p.content.clone();
        let (version, checksum) = (p.version, p.checksum.clone());
        let rankings = serde_json::to_value(publication_response(p, group_code))
            .and_then(|v| serde_json::to_vec(&v))
            .map_err(AppError::internal)?;
        // what each errata says about a unit, by its code as published (the first line wins)
        let mut changes: HashMap<&str, Value> = HashMap::new();
        for u in content["changes"]["units"].as_array().into_iter().flatten() {
            if let Some(code) = u["unit"]["code"].as_str() {
                changes
                    .entry(code)
                    .or_insert_with(|| json!({"before": u["before"], "after": u["after"]}));
            }
        }
        let mut units = HashMap::new();
        for result in content["rankings"].as_array().into_iter().flatten() {
            let Some(code) = result["unit"]["code"].as_str() else {
                continue;
            };
            let key = code.to_ascii_uppercase();
            if units.contains_key(&key) {
                continue;
            }
            let body = serde_json::to_value(PublicUnitResult {
                period: content["period"].clone(),
                group: content["group"].clone(),
                indicator_set: content["indicator_set"].clone(),
                version,
                checksum: checksum.clone(),
                result: result.clone(),
                change: changes.get(code).cloned(),
            })
            .and_then(|v| serde_json::to_vec(&v))
            .map_err(AppError::internal)?;
            units.insert(key, (code.to_string(), Body::new(body)));
        }
        let rankings = Body::new(rankings);
        rankings.precompress();
        Ok(Snapshot {
            rankings,
            units,
            last_read: AtomicU64::new(0),
        })
    }

    /// The unit's code as published and its body; the code ignores case.
    pub fn unit(&self, code: &str) -> Option<(&str, &Body)> {
        self.units
            .get(&code.to_ascii_uppercase())
            .map(|(c, b)| (c.as_str(), b))
    }

    fn size(&self) -> usize {
        self.rankings.size() + self.units.values().map(|(_, b)| b.size()).sum::<usize>()
    }
}

/// The periods list for one state of the index: `entries` of `index_epoch` and how many of
/// them were visible (embargoes only ever end, so the count names the set).
struct PeriodsBody {
    loaded_at: Instant,
    visible: usize,
    body: Arc<Body>,
}

#[derive(Default)]
pub struct PublicCache {
    index: RwLock<Option<Arc<Index>>>,
    /// Bumped by [`PublicCache::invalidate`]: an index read before is out of date.
    epoch: AtomicU64,
    refreshing: tokio::sync::Mutex<()>,
    loading: tokio::sync::Mutex<()>,
    snapshots: RwLock<HashMap<Uuid, Arc<Snapshot>>>,
    reads: AtomicU64,
    periods: RwLock<Option<PeriodsBody>>,
}

impl PublicCache {
    /// A publication was made through this process: the next read takes the index again.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    fn current(&self) -> Option<Arc<Index>> {
        self.index.read().expect("index lock").clone()
    }

    /// The index, read again when older than [`INDEX_REFRESH`] or invalidated. While one
    /// request reads it, the others keep answering from the previous one unless it was
    /// invalidated; a failed read keeps the previous one (logged) rather than failing every
    /// public request.
    pub async fn index(&self, pool: &ReadPool) -> AppResult<Arc<Index>> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let current = self.current();
        if let Some(i) = &current
            && i.epoch == epoch
        {
            if i.loaded_at.elapsed() < INDEX_REFRESH {
                return Ok(i.clone());
            }
            if self.refreshing.try_lock().is_err() {
                return Ok(i.clone());
            }
        }
        let _refreshing = self.refreshing.lock().await;
        let epoch = self.epoch.load(Ordering::SeqCst);
        if let Some(i) = self.current()
            && i.epoch == epoch
            && i.loaded_at.elapsed() < INDEX_REFRESH
        {
            return Ok(i);
        }
        match pool.with_conn(|c| Ok(Publication::index(c)?)).await {
            Ok(entries) => {
                let fresh = Arc::new(Index {
                    entries,
                    loaded_at: Instant::now(),
                    epoch,
                });
                *self.index.write().expect("index lock") = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) => match current {
                Some(i) if i.epoch == epoch => {
                    tracing::warn!(
                        "public index not refreshed, answering from the previous one: {e}"
                    );
                    Ok(i)
                }
                _ => Err(e),
            },
        }
    }

    /// The bodies of the version `entry` names: from memory, or loaded (that one row) and
    /// serialised once.
    pub async fn snapshot(
        &self,
        pool: &ReadPool,
        entry: &PublishedEntry,
    ) -> AppResult<Arc<Snapshot>> {
        if let Some(s) = self.kept(entry.id) {
            return Ok(s);
        }
        let _loading = self.loading.lock().await;
        if let Some(s) = self.kept(entry.id) {
            return Ok(s);
        }
        let (id, period, group_code) = (entry.id, entry.period_id, entry.group_code.clone());
        let p = pool
            .with_conn(move |c| {
                Publication::find(c, id)?
                    .ok_or_else(|| AppError::not_found("published result", period))
            })
            .await?;
        let snapshot = tokio::task::spawn_blocking(move || Snapshot::build(p, group_code))
            .await
            .map_err(AppError::internal)??;
        let snapshot = Arc::new(snapshot);
        snapshot.last_read.store(
            self.reads.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let mut kept = self.snapshots.write().expect("snapshots lock");
        kept.insert(id, snapshot.clone());
        // drop the least recently read versions over the budget
        let mut total: usize = kept.values().map(|s| s.size()).sum();
        while total > BUDGET_BYTES && kept.len() > 1 {
            let Some((&oldest, _)) = kept
                .iter()
                .filter(|(k, _)| **k != id)
                .min_by_key(|(_, s)| s.last_read.load(Ordering::Relaxed))
            else {
                break;
            };
            if let Some(s) = kept.remove(&oldest) {
                total -= s.size();
            }
        }
        Ok(snapshot)
    }

    fn kept(&self, id: Uuid) -> Option<Arc<Snapshot>> {
        let s = self
            .snapshots
            .read()
            .expect("snapshots lock")
            .get(&id)
            .cloned()?;
        s.last_read.store(
            self.reads.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(s)
    }

    /// The body of `GET /public/periods` for `index` at `now`.
    pub fn periods(&self, index: &Index, now: chrono::DateTime<chrono::Utc>) -> Arc<Body> {
        let visible = index
            .entries
            .iter()
            .filter(|p| p.visible_from <= now)
            .count();
        if let Some(p) = &*self.periods.read().expect("periods lock")
            && p.loaded_at == index.loaded_at
            && p.visible == visible
        {
            return p.body.clone();
        }
        let body = Arc::new(Body::new(periods_body(&index.entries, now)));
        *self.periods.write().expect("periods lock") = Some(PeriodsBody {
            loaded_at: index.loaded_at,
            visible,
            body: body.clone(),
        });
        body
    }
}

/// The periods with visible publications, newest data year first, each with its groups and
/// their visible versions (`entries` in period, group, version order).
fn periods_body(entries: &[PublishedEntry], now: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let mut out: Vec<PublicPeriod> = Vec::new();
    for p in entries.iter().filter(|p| p.visible_from <= now) {
        let entry = match out.iter_mut().position(|x| x.id == p.period_id) {
            Some(i) => &mut out[i],
            None => {
                out.push(PublicPeriod {
                    id: p.period_id,
                    code: p.period_code.clone(),
                    name: p.period_name.clone(),
                    data_year: p.data_year,
                    groups: vec![],
                });
                out.last_mut().expect("pushed")
            }
        };
        match entry.groups.iter_mut().find(|g| g.code == p.group_code) {
            Some(g) => {
                g.versions.push(p.version);
                g.latest_version = p.version;
                g.latest_checksum = p.checksum.clone();
            }
            None => entry.groups.push(PublicGroup {
                code: p.group_code.clone(),
                name: p.group_name.clone(),
                versions: vec![p.version],
                latest_version: p.version,
                latest_checksum: p.checksum.clone(),
            }),
        }
    }
    out.sort_by(|a, b| b.data_year.cmp(&a.data_year).then(a.code.cmp(&b.code)));
    serde_json::to_vec(&out).expect("plain structs serialise")
}

/// Whether `If-None-Match` names the unit ETag `"<checksum>:<code>"` of this version for the
/// requested code (in any case); the tag as sent when it does. Decided without the body.
pub fn unit_not_modified(req: &HttpRequest, checksum: &str, code: &str) -> Option<String> {
    let value = req.headers().get(header::IF_NONE_MATCH)?.to_str().ok()?;
    value.split(',').map(str::trim).find_map(|tag| {
        let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
        let (sum, unit) = inner.split_once(':')?;
        (sum == checksum && crate::domain::same_unit_code(unit, code)).then(|| tag.to_string())
    })
}
