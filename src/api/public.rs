//! `/publications` (admin) and `/public/…` (anyone, no token): published snapshots only. The
//! public routes read from the read pool (a read replica when `DATABASE_READ_URL` is set), the
//! admin routes from the primary.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::ErrorResponses;
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::Json;
use super::public_cache;
use crate::auth::Principal;
use crate::db::models::groups::RankingGroup;
use crate::db::models::periods::Period;
use crate::db::models::publications::Publication;
use crate::domain::indicator_set::{Node, SetDocument};
use crate::domain::workflow::SnapshotFormat;
use crate::error::{AppError, AppResult};
use crate::scoring::node_input_schema;
use crate::services::idempotency;
use crate::services::publications as svc;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    // the public reads first (see `api::configure`)
    cfg.service(public_periods)
        .service(public_rankings)
        .service(public_unit)
        .service(public_method)
        .service(download_rankings)
        .service(create_publication)
        .service(list_publications);
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"group": "LC-XA", "visible_from": "2026-02-01T08:00:00+07:00"}))]
pub struct PublishRequest {
    /// Ranking group id or code.
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub group: String,
    /// Embargo: the public sees the snapshot from this time (default: now).
    pub visible_from: Option<DateTime<Utc>>,
    /// Required for an errata (version 2 and later).
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub changelog: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationResponse {
    pub id: Uuid,
    pub period_id: Uuid,
    pub group_code: String,
    pub version: i32,
    pub visible_from: DateTime<Utc>,
    /// SHA-256 of the canonical JSON of `content`.
    pub checksum: String,
    pub changelog: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The snapshot: period, group, set, and every unit's final points, index and ranks; an
    /// errata adds `changes`: `{since_version, units: [{unit, before, after}]}`, every unit
    /// whose points, index or rank moved against the version before.
    #[schema(value_type = crate::api::public_snapshot::Snapshot)]
    pub content: Value,
}

pub(crate) fn publication_response(p: Publication, group_code: String) -> PublicationResponse {
    PublicationResponse {
        id: p.id,
        period_id: p.period_id,
        group_code,
        version: p.version,
        visible_from: p.visible_from,
        checksum: p.checksum,
        changelog: p.changelog,
        created_at: p.created_at,
        content: p.content,
    }
}

/// Publish a group's final results as an immutable snapshot (admin); again for an errata.
///
/// Every assessment of the group must be finalised (409 `NOT_ALL_FINALISED` lists the others).
/// Every call makes another version (an errata from version 2 on). Send an `Idempotency-Key` to
/// make a retry safe: a repeat with the same key gets the first 201 back
/// (`Idempotent-Replayed: true`) and publishes nothing further.
#[utoipa::path(
    tag = "publications",
    params(("id" = Uuid, Path, description = "Period id"), IdempotencyKeyHeader),
    request_body = PublishRequest,
    responses(
        (status = 201, description = "Published (or replayed: see `Idempotency-Key`)", body = PublicationResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`PHASE_CLOSED`, `NOT_ALL_FINALISED`, or `IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/periods/{id}/publications")]
async fn create_publication(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: Json<PublishRequest>,
) -> AppResult<HttpResponse> {
    who.require_admin("publish results")?;
    let body = body.read().await?;
    body.validate()?;
    // The parsed body, re-serialised: the same request whatever its spacing.
    let keyed = key.request(
        &who,
        &req,
        &serde_json::to_vec(&*body).map_err(AppError::internal)?,
    );
    let b = body.into_inner();
    let id = id.into_inner();
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| svc::authorise_publish(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let p = svc::publish(c, &caches, &who, id, &b.group, b.visible_from, b.changelog)?;
            let code = RankingGroup::find(c, p.group_id)?
                .map(|g| g.code)
                .unwrap_or_default();
            Ok((201, to_body(publication_response(p, code))?))
        })
    })
    .await;
    // this process shows the new version at once, other replicas within the index refresh
    // (from a read replica: once it has replayed the publication, see `public_cache`)
    state.public.invalidate();
    let reply = reply?;
    respond(reply, |_, _| {})
}

/// Every publication of a period, all versions (provincial roles).
///
/// A bare array, each version with its checksum, visibility date and changelog; embargoed
/// versions are listed too.
#[utoipa::path(tag = "publications", params(("id" = Uuid, Path, description = "Period id")), responses((status = 200, description = "Publications", body = Vec<PublicationResponse>), ErrorResponses), security(("bearer" = [])))]
#[get("/periods/{id}/publications")]
async fn list_publications(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<web::Json<Vec<PublicationResponse>>> {
    if who.role.is_unit_role() {
        return Err(AppError::forbidden(
            "FORBIDDEN_ROLE",
            "Unit accounts read published results on the public routes.",
        ));
    }
    let id = id.into_inner();
    let (list, groups) = crate::db::with_conn(&state.pool, move |c| {
        Period::find(c, id)?.ok_or_else(|| AppError::not_found("period", id))?;
        let list = Publication::of_period(c, id)?;
        let groups =
            RankingGroup::find_many(c, &list.iter().map(|p| p.group_id).collect::<Vec<_>>())?;
        Ok((list, groups))
    })
    .await?;
    Ok(web::Json(
        list.into_iter()
            .map(|p| {
                let code = groups
                    .iter()
                    .find(|g| g.id == p.group_id)
                    .map(|g| g.code.clone())
                    .unwrap_or_default();
                publication_response(p, code)
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicGroup {
    pub code: String,
    pub name: String,
    pub versions: Vec<i32>,
    pub latest_version: i32,
    pub latest_checksum: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPeriod {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub data_year: i32,
    pub groups: Vec<PublicGroup>,
}

/// Periods with published results (no token needed).
///
/// Each period with its published groups and their latest visible version; a bare array (one
/// line per period with published results).
#[utoipa::path(tag = "public", responses((status = 200, description = "Published periods", body = Vec<PublicPeriod>), ErrorResponses))]
#[get("/public/periods")]
async fn public_periods(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let index = state.public.index(&state.read).await?;
    let body = state.public.periods(&index, Utc::now());
    Ok(body.respond(&req, None, "public, max-age=60"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    /// Ranking group code (required when several groups are published).
    #[param(min_length = 1)]
    pub group: Option<String>,
    /// A specific version (default: the latest visible one).
    pub version: Option<i32>,
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
pub(crate) fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// How long a cache may keep a published snapshot's response (its ETag stays valid for ever).
const SNAPSHOT_CACHE: &str = "public, max-age=300";

fn cached(req: &HttpRequest, etag: String, body: Value) -> HttpResponse {
    let matches = not_modified(req, &etag);
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, SNAPSHOT_CACHE));
    if matches {
        resp.finish()
    } else {
        resp.json(body)
    }
}

/// Published rankings of a period (no token). Strong `ETag` per snapshot version; `304` on
/// `If-None-Match`.
///
/// The snapshot is immutable: its `checksum` is the SHA-256 of the canonical JSON of `content`.
/// `group` picks the ranking group, `version` an older version; embargoed versions are not
/// visible before their time.
#[utoipa::path(tag = "public", params(("id" = Uuid, Path, description = "Period id"), PublicQuery), responses((status = 200, description = "The snapshot with its checksum", body = PublicationResponse), (status = 304, description = "Not modified"), ErrorResponses))]
#[get("/public/periods/{id}/rankings")]
async fn public_rankings(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: web::Query<PublicQuery>,
) -> AppResult<HttpResponse> {
    let index = state.public.index(&state.read).await?;
    let entry = svc::pick_visible(
        &index.entries,
        Utc::now(),
        id.into_inner(),
        q.group.as_deref(),
        q.version,
    )?;
    let etag = format!("\"{}\"", entry.checksum);
    if not_modified(&req, &etag) {
        return Ok(public_cache::unchanged(etag, SNAPSHOT_CACHE));
    }
    let snapshot = state.public.snapshot(&state.read, entry).await?;
    Ok(snapshot.rankings.respond(&req, Some(etag), SNAPSHOT_CACHE))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicUnitResult {
    #[schema(value_type = crate::api::public_snapshot::SnapshotPeriod)]
    pub period: Value,
    #[schema(value_type = crate::api::public_snapshot::SnapshotGroup)]
    pub group: Value,
    #[schema(value_type = crate::api::public_snapshot::SnapshotSet)]
    pub indicator_set: Value,
    pub version: i32,
    pub checksum: String,
    /// The unit's published entry: points, index, rank, main indicators and pillars.
    #[schema(value_type = crate::api::public_snapshot::SnapshotEntry)]
    pub result: Value,
    /// What this version (an errata) changed for the unit against the version before:
    /// `{"before": {points, index, rank}, "after": {…}}`; null when nothing moved or for a
    /// first version.
    #[schema(value_type = Option<crate::api::public_snapshot::SnapshotChange>)]
    pub change: Option<Value>,
}

/// One unit's published breakdown (no token). The unit code ignores case.
///
/// The unit's entry in the snapshot (points, index, rank, band, main indicators and pillars)
/// with the period, group and set, and, for an errata, what changed for the unit.
#[utoipa::path(tag = "public", params(("id" = Uuid, Path, description = "Period id"), ("unit_code" = String, Path, description = "Unit code"), PublicQuery), responses((status = 200, description = "The unit's result", body = PublicUnitResult), (status = 304, description = "Not modified"), ErrorResponses))]
#[get("/public/periods/{id}/units/{unit_code}")]
async fn public_unit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    q: web::Query<PublicQuery>,
) -> AppResult<HttpResponse> {
    let (id, unit_code) = path.into_inner();
    let index = state.public.index(&state.read).await?;
    let entry = svc::pick_visible(
        &index.entries,
        Utc::now(),
        id,
        q.group.as_deref(),
        q.version,
    )?;
    if let Some(etag) = public_cache::unit_not_modified(&req, &entry.checksum, &unit_code) {
        return Ok(public_cache::unchanged(etag, SNAPSHOT_CACHE));
    }
    let snapshot = state.public.snapshot(&state.read, entry).await?;
    let (code, body) = snapshot
        .unit(&unit_code)
        .ok_or_else(|| AppError::not_found("published unit", &unit_code))?;
    // the code as published, so that every spelling of it shares one ETag
    let etag = format!("\"{}:{}\"", entry.checksum, code);
    if not_modified(&req, &etag) {
        return Ok(public_cache::unchanged(etag, SNAPSHOT_CACHE));
    }
    Ok(body.respond(&req, Some(etag), SNAPSHOT_CACHE))
}

/// How a published number follows from the method.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodRules {
    /// A component's points from the unit's inputs.
    pub leaf: String,
    /// A node's points from its children's, and the total.
    pub aggregation: String,
    /// The published index.
    pub index: String,
    /// Ranks within the ranking group.
    pub ranking: String,
    /// The classification band.
    pub band: String,
}

fn method_rules(doc: &SetDocument) -> MethodRules {
    let p = doc.precision;
    let points = match doc.points_precision {
        Some(pp) => format!(
            "rounded half away from zero to {pp} decimal(s), then clamped to [0, max_points]"
        ),
        None => "clamped to [0, max_points], not rounded".into(),
    };
    MethodRules {
        leaf: format!(
            "Each leaf's points come from its `method` and the unit's inputs (`input_schemas` gives, \
             per leaf, the inputs, what to count and the formula in `x-formula`), {points}. A \
             leaf that does not apply to the unit counts neither its points nor its max_points."
        ),
        aggregation: "An inner node's points are the sum of its children's points, capped at \
                      its max_points; top-level bonus nodes are added and penalty nodes \
                      subtracted at the root, which is clamped to [0, applicable maximum]."
            .into(),
        index: format!(
            "index = points ÷ applicable maximum (the max_points of what applies to the unit), \
             published rounded half away from zero to {p} decimal(s)."
        ),
        ranking: format!(
            "Competition ranking (1, 2, 2, 4) within the ranking group on the index rounded to \
             {p} decimal(s); equal rounded indices share a rank."
        ),
        band: "The band (xếp loại) is the first band of `classification.bands`, listed highest \
               first, whose min_index is at most the rounded index: an index exactly on a \
               threshold belongs to the higher band."
            .into(),
    }
}

/// Every scored leaf's answer schema, by code.
fn input_schemas(nodes: &[Node]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<&Node> = nodes.iter().collect();
    while let Some(n) = stack.pop() {
        stack.extend(&n.children);
        if let Some(schema) = node_input_schema(n) {
            out.insert(n.code.clone(), schema);
        }
    }
    out
}

/// The method a published group was assessed with (no token).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicMethod {
    #[schema(value_type = crate::api::public_snapshot::SnapshotPeriod)]
    pub period: Value,
    #[schema(value_type = crate::api::public_snapshot::SnapshotGroup)]
    pub group: Value,
    /// The snapshot version whose method this is.
    pub version: i32,
    /// The snapshot's checksum.
    pub checksum: String,
    /// How points, indices, ranks and bands follow from the document.
    pub rules: MethodRules,
    /// The answer schema of every scored leaf, by node code: the inputs with their labels, what
    /// to count, the evidence expected, and the formula (`x-formula`).
    #[schema(value_type = BTreeMap<String, std::collections::HashMap<String, Value>>)]
    pub input_schemas: BTreeMap<String, Value>,
    /// The indicator-set version, whole: every node with its maximum, method and parameters,
    /// guidance, input texts, evidence expected, data source and verifying body, and the
    /// classification bands.
    pub indicator_set: SetDocument,
}

/// The published method of a period's group (no token): the indicator-set version the group
/// was assessed with, so that anyone can recompute a published index from the public unit
/// result. Only for published groups (past their embargo); same `group` and `version`
/// parameters as the rankings. Strong `ETag`; `304` on `If-None-Match`.
///
/// The set document is the one the results were scored with, so that the published numbers can
/// be checked independently.
#[utoipa::path(tag = "public", params(("id" = Uuid, Path, description = "Period id"), PublicQuery), responses((status = 200, description = "The method", body = PublicMethod), (status = 304, description = "Not modified"), ErrorResponses))]
#[get("/public/periods/{id}/method")]
async fn public_method(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: web::Query<PublicQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let q = q.into_inner();
    let (p, doc) = state
        .read
        .with_conn(move |c| svc::published_method(c, id, q.group.as_deref(), q.version))
        .await?;
    let body = serde_json::to_value(PublicMethod {
        period: p.content["period"].clone(),
        group: p.content["group"].clone(),
        version: p.version,
        checksum: p.checksum,
        rules: method_rules(&doc),
        input_schemas: input_schemas(&doc.nodes),
        indicator_set: doc,
    })
    .map_err(AppError::internal)?;
    let etag = format!("\"{}\"", svc::checksum(&body));
    Ok(cached(&req, etag, body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<SnapshotFormat>,
    /// CSV only: start with a UTF-8 byte-order mark (what Excel needs to show Vietnamese
    /// letters). Default false.
    pub bom: Option<bool>,
}

/// `sha-256=:<base64>:`, the RFC 9530 digest field value of `bytes`, and their hex SHA-256.
fn digests(bytes: &[u8]) -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let sum = sha2::Sha256::digest(bytes);
    (
        format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(sum)
        ),
        hex::encode(sum),
    )
}

/// Download a published snapshot as a file (no token): JSON or CSV, with its SHA-256.
///
/// `format=json` gives the snapshot's `content` as its canonical JSON (object keys sorted, no
/// whitespace): exactly the bytes whose SHA-256 is the publication's `checksum`.
/// `format=csv` gives one row per unit in the snapshot's order, the values as published:
/// `rank`, `tied`, `unit_code`, `unit_name`, `unit_kind`, `ranked`, `exclusion_reason`,
/// `state`, `finalised_as`, `not_submitted`, `points`, `applicable_max`, `index`, `band`,
/// `band_label`, then per pillar and per main indicator `pillar <code> …` / `main <code> …`
/// with `points`, `max`, `index`, `rank` and `tied` (formula-like text prefixed with `'`).
///
/// Every response carries the SHA-256 of its body: `Repr-Digest: sha-256=:<base64>:` (RFC
/// 9530, over the bytes before any content coding) and `X-Content-SHA256: <hex>`; the
/// strong `ETag` is the hex digest in quotes, `304` on `If-None-Match`;
/// `X-Publication-Checksum` is the snapshot's published checksum. Same `group` and `version`
/// parameters, visibility (404 before publication and during the embargo) and caching
/// (`Cache-Control: public, max-age=300`) as the public rankings.
#[utoipa::path(
    tag = "public",
    params(("id" = Uuid, Path, description = "Period id"), PublicQuery, DownloadQuery),
    responses(
        (status = 200, description = "The snapshot as a file (`Content-Disposition: attachment; filename=\"rankings-<period>-<group>-v<version>.json|csv\"`)",
            headers(
                ("Repr-Digest" = String, description = "`sha-256=:<base64>:`, the SHA-256 of the body (RFC 9530)"),
                ("X-Content-SHA256" = String, description = "The SHA-256 of the body, hex"),
                ("X-Publication-Checksum" = String, description = "The publication's checksum (SHA-256 of its canonical JSON)"),
                ("ETag" = String, description = "The hex SHA-256 of the body, quoted")
            ),
            content(
                (crate::api::public_snapshot::Snapshot = "application/json"),
                (String = "text/csv")
            )
        ),
        (status = 304, description = "Not modified"),
        (status = 400, description = "`INVALID_QUERY`: an unknown `format`, a `bom` that is not a boolean or a `version` that is not a number", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`: no such period, group or version published, or still under embargo", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: several groups are published and none is named", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    )
)]
#[get("/public/periods/{id}/rankings/download")]
async fn download_rankings(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: web::Query<PublicQuery>,
    d: web::Query<DownloadQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let q = q.into_inner();
    let format = d.format.unwrap_or(SnapshotFormat::Json);
    let bom = d.bom.unwrap_or(false);
    let (p, code) = state
        .read
        .with_conn(move |c| {
            let p = svc::visible(c, id, q.group.as_deref(), q.version)?;
            let code = RankingGroup::find(c, p.group_id)?
                .map(|g| g.code)
                .unwrap_or_default();
            Ok((p, code))
        })
        .await?;
    let period_code = p.content["period"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = crate::services::exports::file_name(&[
        "rankings",
        &period_code,
        &code,
        &format!("v{}", p.version),
    ]);
    let checksum = p.checksum.clone();
    let (bytes, ctype, ext) = web::block(move || -> AppResult<(Vec<u8>, &str, &str)> {
        Ok(match format {
            SnapshotFormat::Json => (
                serde_json::to_vec(&p.content).map_err(AppError::internal)?,
                "application/json",
                "json",
            ),
            SnapshotFormat::Csv => (
                crate::tabular::to_csv(&crate::services::exports::snapshot_table(&p.content), bom)
                    .map_err(AppError::internal)?,
                "text/csv; charset=utf-8",
                "csv",
            ),
        })
    })
    .await
    .map_err(AppError::internal)??;
    let (repr, hex) = digests(&bytes);
    let etag = format!("\"{hex}\"");
    let matches = not_modified(&req, &etag);
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header(("Repr-Digest", repr))
        .insert_header(("X-Content-SHA256", hex))
        .insert_header(("X-Publication-Checksum", checksum));
    if matches {
        return Ok(resp.finish());
    }
    Ok(resp
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{ext}\""),
        ))
        .body(bytes))
}
