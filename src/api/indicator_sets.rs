//! `/indicator-sets`: the law of an assessment, as versioned documents.

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::fallback::{QueryChoice, choice};
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::{ErrorResponses, Page, PageParams, etag, if_match};
use crate::auth::Principal;
use crate::db::models::indicator_sets::{IndicatorSet, SetFilter};
use crate::domain::indicator_set::{
    Applicability, Classification, EvidenceRule, InputText, LegalBasis, Method, Node, NodeKind,
    SetDocument,
};
use crate::domain::{SetStatus, UnitKind};
use crate::error::{AppError, AppResult, FieldError};
use crate::scoring::{CompiledSet, node_input_schema};
use crate::services::idempotency;
use crate::services::indicator_sets::{self as svc, Format, ParsedSet};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_indicator_sets)
        .service(validate_indicator_set)
        .service(create_indicator_set)
        .service(get_indicator_set)
        .service(get_indicator_node)
        .service(replace_indicator_set)
        .service(patch_indicator_set)
        .service(delete_indicator_set)
        .service(activate_indicator_set)
        .service(create_indicator_set_version)
        .service(export_indicator_set);
}

/// Counts of a set's nodes.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetStats {
    pub nodes: usize,
    pub groups: usize,
    pub main_indicators: usize,
    pub components: usize,
    pub criteria: usize,
    /// Scored leaves (those carrying a method).
    pub leaves: usize,
    pub automatic_leaves: usize,
    pub evidence_required_leaves: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PillarSummary {
    #[schema(example = "CQS")]
    pub code: String,
    #[schema(example = "Chính quyền số")]
    pub name: String,
    pub main_indicators: Vec<String>,
    /// Sum of the maxima of its main indicators.
    #[schema(value_type = String, example = "160", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub max_points: Decimal,
}

/// One node with its position in the tree, as a flat list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlatNode {
    #[schema(example = "1.2")]
    pub code: String,
    pub kind: NodeKind,
    pub name: String,
    pub description: Option<String>,
    pub guidance: Option<String>,
    pub parent_code: Option<String>,
    pub depth: usize,
    /// Codes from the top level down to this node.
    pub path: Vec<String>,
    #[schema(value_type = String, example = "20", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub max_points: Decimal,
    pub is_leaf: bool,
    pub children: Vec<String>,
    pub method: Option<Method>,
    /// Labels and descriptions of the method's inputs, by input name.
    pub inputs: std::collections::BTreeMap<String, InputText>,
    /// JSON Schema of the answer inputs the method needs (leaves); render entry forms from it.
    /// It carries the node's texts: `title` (the name), `description` (the guidance, then the
    /// formula), each input's `title`/`description`, and `x-evidence`, `x-evidence-expected`,
    /// `x-data-source`, `x-verifying-body`.
    #[schema(value_type = Option<std::collections::HashMap<String, Value>>)]
    pub input_schema: Option<Value>,
    pub evidence: EvidenceRule,
    /// The evidence expected (tài liệu kiểm chứng), in words.
    pub evidence_expected: Option<String>,
    pub data_source: Option<String>,
    pub verifying_body: Option<String>,
    pub automatic: bool,
    pub applicability: Applicability,
    pub replaces: Vec<String>,
    /// Pillars counting this node (main indicators only).
    pub pillars: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorSetResponse {
    pub id: Uuid,
    #[schema(example = "TH-HUYEN-270")]
    pub code: String,
    pub version: i32,
    pub name: String,
    #[schema(example = "active")]
    pub status: SetStatus,
    #[schema(example = "district", value_type = UnitKind)]
    pub target_unit_kind: String,
    pub year: Option<i32>,
    pub legal_basis: LegalBasis,
    #[schema(value_type = String, example = "270", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub scale: Decimal,
    pub precision: u32,
    pub points_precision: Option<u32>,
    /// Version of the document format the set is shown in (the current one).
    pub schema_version: u32,
    /// Classification bands (xếp loại) of the overall index, highest first.
    pub classification: Option<Classification>,
    /// The version this one was cloned from or, for an imported later version, the highest
    /// version of the family below it; `replaces` codes name nodes of that version.
    pub based_on_id: Option<Uuid>,
    pub stats: SetStats,
    pub pillars: Vec<PillarSummary>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    /// Increases on every change; the `ETag` is `"v<lock_version>"`.
    pub lock_version: i32,
    /// The canonical (nested) document; with `view=tree` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<SetDocument>,
    /// Every node in tree order; with `view=flat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<FlatNode>>,
}

/// Whether a document is valid, and what it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationReport {
    pub valid: bool,
    pub code: String,
    pub version: i32,
    #[schema(value_type = String, example = "270", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub scale: Decimal,
    pub stats: SetStats,
    pub pillars: Vec<PillarSummary>,
}

fn stats(compiled: &CompiledSet) -> SetStats {
    let count = |k: NodeKind| compiled.nodes.iter().filter(|n| n.kind == k).count();
    let leaves: Vec<_> = compiled
        .nodes
        .iter()
        .filter(|n| n.takes_answers())
        .collect();
    SetStats {
        nodes: compiled.nodes.len(),
        groups: count(NodeKind::Group),
        main_indicators: count(NodeKind::Main),
        components: count(NodeKind::Component),
        criteria: count(NodeKind::Criterion),
        leaves: leaves.len(),
        automatic_leaves: leaves.iter().filter(|n| n.automatic).count(),
        evidence_required_leaves: leaves
            .iter()
            .filter(|n| n.evidence == EvidenceRule::Required)
            .count(),
    }
}

fn pillars(compiled: &CompiledSet) -> Vec<PillarSummary> {
    compiled
        .pillars
        .iter()
        .map(|p| PillarSummary {
            code: p.code.clone(),
            name: p.name.clone(),
            main_indicators: p
                .mains
                .iter()
                .map(|m| compiled.nodes[*m].code.clone())
                .collect(),
            max_points: svc::pillar_max(compiled, &p.mains),
        })
        .collect()
}

/// The flat view of a (normalised) document.
pub fn flat_nodes(doc: &SetDocument) -> Vec<FlatNode> {
    let compiled = CompiledSet::compile(doc);
    let mut out = Vec::new();
    fn walk(
        nodes: &[Node],
        parent: Option<&str>,
        path: &mut Vec<String>,
        compiled: &CompiledSet,
        out: &mut Vec<FlatNode>,
    ) {
        for n in nodes {
            path.push(n.code.clone());
            let pillars = compiled
                .pillars
                .iter()
                .filter(|p| p.mains.iter().any(|m| compiled.nodes[*m].code == n.code))
                .map(|p| p.code.clone())
                .collect();
            out.push(FlatNode {
                code: n.code.clone(),
                kind: n.kind,
                name: n.name.clone(),
                description: n.description.clone(),
                guidance: n.guidance.clone(),
                parent_code: parent.map(str::to_string),
                depth: path.len() - 1,
                path: path.clone(),
                max_points: n.max_points,
                is_leaf: n.children.is_empty(),
                children: n.children.iter().map(|c| c.code.clone()).collect(),
                input_schema: node_input_schema(n),
                inputs: n.inputs.clone(),
                method: n.method.clone(),
                evidence: n.evidence,
                evidence_expected: n.evidence_expected.clone(),
                data_source: n.data_source.clone(),
                verifying_body: n.verifying_body.clone(),
                automatic: n.automatic,
                applicability: n.applicability.clone(),
                replaces: n.replaces.clone(),
                pillars,
            });
            walk(&n.children, Some(&n.code), path, compiled, out);
            path.pop();
        }
    }
    walk(&doc.nodes, None, &mut Vec::new(), &compiled, &mut out);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetView {
    /// Summary plus the nested document.
    Tree,
    /// Summary plus every node in a flat list with parent codes and input schemas.
    Flat,
    /// Summary only.
    Summary,
}

fn response(set: IndicatorSet, view: SetView) -> AppResult<IndicatorSetResponse> {
    let doc = svc::document(&set)?;
    let compiled = CompiledSet::compile(&doc);
    Ok(IndicatorSetResponse {
        id: set.id,
        code: set.code,
        version: set.version,
        name: set.name,
        status: set.status,
        target_unit_kind: set.target_unit_kind,
        year: set.year,
        legal_basis: doc.legal_basis.clone(),
        scale: set.scale,
        precision: doc.precision,
        points_precision: doc.points_precision,
        schema_version: doc.schema_version,
        classification: doc.classification.clone(),
        based_on_id: set.based_on_id,
        stats: stats(&compiled),
        pillars: pillars(&compiled),
        created_at: set.created_at,
        updated_at: set.updated_at,
        activated_at: set.activated_at,
        lock_version: set.lock_version,
        nodes: (view == SetView::Flat).then(|| flat_nodes(&doc)),
        document: (view == SetView::Tree).then_some(doc),
    })
}

fn with_etag(status: actix_web::http::StatusCode, body: IndicatorSetResponse) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag(body.lock_version)))
        .json(body)
}

/// The document format named by `Content-Type` (JSON unless YAML is named).
fn format_of(req: &HttpRequest) -> AppResult<Format> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/json" | "" => Ok(Format::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => Ok(Format::Yaml),
        other => Err(AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("{other} is not accepted; send application/json or application/yaml."),
        )
        .with_param("accepted", "application/json, application/yaml")),
    }
}

/// Reads a body up to `limit` bytes (413 problem beyond).
pub async fn read_body(mut payload: web::Payload, limit: usize) -> AppResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| super::input::payload_error(&e))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("The body exceeds the limit of {limit} bytes."),
            )
            .with_param("limit", limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn parsed_body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> AppResult<ParsedSet> {
    let format = format_of(req)?;
    let body = read_body(payload, state.config.max_json_bytes).await?;
    parse_off_thread(body, format).await
}

/// Parsing and validating a large document is CPU work: keep it off the async workers.
async fn parse_off_thread(body: Vec<u8>, format: Format) -> AppResult<ParsedSet> {
    tokio::task::spawn_blocking(move || svc::parse(&body, format))
        .await
        .map_err(AppError::internal)?
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SetListQuery {
    /// Only versions of this set code.
    pub code: Option<String>,
    /// Only sets for this unit kind.
    #[serde(default, deserialize_with = "target_unit_kind_param")]
    #[param(example = "commune")]
    pub target_unit_kind: Option<UnitKind>,
    #[serde(default, deserialize_with = "status_param")]
    pub status: Option<SetStatus>,
    /// Substring of the issuer, e.g. "Thanh Hóa".
    pub issuer: Option<String>,
    /// First data year.
    pub year: Option<i32>,
}

fn target_unit_kind_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UnitKind>, D::Error> {
    choice(d, "target_unit_kind")
}

fn status_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SetStatus>, D::Error> {
    choice(d, "status")
}

/// A set status named in a query: `INVALID_STATUS` unless it is one.
impl QueryChoice for SetStatus {
    fn from_query(field: &str, s: &str) -> Result<Self, FieldError> {
        SetStatus::parse(s)
            .ok_or_else(|| FieldError::new(field, "INVALID_STATUS", "use draft, active or retired"))
    }
}

/// List indicator sets (newest version of each code first).
///
/// Filtered by code, target unit kind, status, issuer and first data year; paged.
#[utoipa::path(
    tag = "indicator-sets",
    params(SetListQuery, PageParams),
    responses((status = 200, description = "A page of sets (summaries)", body = Page<IndicatorSetResponse>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/indicator-sets")]
async fn list_indicator_sets(
    state: web::Data<AppState>,
    _who: Principal,
    query: web::Query<SetListQuery>,
    paging: web::Query<PageParams>,
) -> AppResult<web::Json<Page<IndicatorSetResponse>>> {
    let page = paging.to_req()?;
    let q = query.into_inner();
    let filter = SetFilter {
        code: q.code,
        target_unit_kind: q.target_unit_kind,
        status: q.status,
        issuer: q.issuer,
        year: q.year,
    };
    let (sets, total) =
        crate::db::with_conn(&state.pool, move |c| svc::list(c, filter, page)).await?;
    let items = sets
        .into_iter()
        .map(|s| response(s, SetView::Summary))
        .collect::<AppResult<_>>()?;
    Ok(web::Json(Page::new(items, page, total)))
}

/// Validate a document without saving anything.
///
/// Answers 200 with a summary when the document is valid, 422 `INVALID_SET_DOCUMENT` with every
/// problem in `errors[]` (each with a JSON pointer) otherwise. Accepts JSON or YAML.
#[utoipa::path(
    tag = "indicator-sets",
    request_body(content(
        (SetDocument = "application/json", example = json!(crate::api::indicator_sets::example_document())),
        (String = "application/yaml")
    )),
    responses(
        (status = 200, description = "Valid", body = ValidationReport),
        (status = 422, description = "`INVALID_SET_DOCUMENT`: every problem with its pointer", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/indicator-sets/validate")]
async fn validate_indicator_set(
    state: web::Data<AppState>,
    _who: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<web::Json<ValidationReport>> {
    let parsed = parsed_body(&state, &req, payload).await?;
    let compiled = CompiledSet::compile(&parsed.doc);
    Ok(web::Json(ValidationReport {
        valid: true,
        code: parsed.doc.code.clone(),
        version: parsed.doc.version,
        scale: parsed.doc.scale,
        stats: stats(&compiled),
        pillars: pillars(&compiled),
    }))
}

/// Import a set document as a draft (admin).
///
/// All or nothing: an invalid document saves nothing and answers 422 with every problem.
/// Send an `Idempotency-Key` to make a retry safe: a repeat of the same document with the same
/// key gets the first 201 back (`Idempotent-Replayed: true`) instead of 409
/// `SET_VERSION_EXISTS`.
#[utoipa::path(
    tag = "indicator-sets",
    params(IdempotencyKeyHeader),
    request_body(content(
        (SetDocument = "application/json", example = json!(crate::api::indicator_sets::example_document())),
        (String = "application/yaml")
    )),
    responses(
        (status = 201, description = "Created as a draft (or replayed: see `Idempotency-Key`)", body = IndicatorSetResponse, headers(("ETag" = String), ("Location" = String), ("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`SET_VERSION_EXISTS`, or `IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`INVALID_SET_DOCUMENT`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/indicator-sets")]
async fn create_indicator_set(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    who.require_admin("import indicator sets")?;
    let format = format_of(&req)?;
    let body = read_body(payload, state.config.max_json_bytes).await?;
    let keyed = key.request(&who, &req, &body);
    let parsed = parse_off_thread(body, format).await?;
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| svc::authorise_create(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let set = svc::create(c, &who, parsed)?;
            Ok((201, to_body(response(set, SetView::Tree)?)?))
        })
    })
    .await?;
    respond(reply, created_headers)
}

/// `ETag` and `Location` of a created set, from its response body (also when replayed).
fn created_headers(body: &Value, resp: &mut actix_web::HttpResponseBuilder) {
    if let Some(v) = body["lock_version"]
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
    {
        resp.insert_header((header::ETAG, etag(v)));
    }
    if let Some(id) = body["id"].as_str() {
        resp.insert_header((header::LOCATION, format!("/api/v1/indicator-sets/{id}")));
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SetViewQuery {
    /// `tree` (default): the nested document; `flat`: every node with parent codes and input
    /// schemas; `summary`: neither.
    #[param(inline)]
    pub view: Option<SetView>,
}

/// Get a set with its full tree (or flat node list).
///
/// `view=tree` (default) nests the nodes; `view=flat` lists every node with its parent code and
/// answer input schema, which is what entry forms read; `view=summary` omits the nodes.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Set id"), SetViewQuery),
    responses((status = 200, description = "The set", body = IndicatorSetResponse, headers(("ETag" = String))), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/indicator-sets/{id}")]
async fn get_indicator_set(
    state: web::Data<AppState>,
    _who: Principal,
    id: web::Path<Uuid>,
    q: web::Query<SetViewQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let set = crate::db::with_conn(&state.pool, move |c| svc::get(c, id)).await?;
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        response(set, q.view.unwrap_or(SetView::Tree))?,
    ))
}

/// Get one node of a set, with its answer input schema.
///
/// The node with its path, its method and the JSON schema of the inputs an answer to it takes
/// (`input_schema`), with labels and the formula.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Set id"), ("code" = String, Path, description = "Node code", example = "1.2")),
    responses((status = 200, description = "The node", body = FlatNode), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/indicator-sets/{id}/nodes/{code}")]
async fn get_indicator_node(
    state: web::Data<AppState>,
    _who: Principal,
    path: web::Path<(Uuid, String)>,
) -> AppResult<web::Json<FlatNode>> {
    let (id, code) = path.into_inner();
    let set = crate::db::with_conn(&state.pool, move |c| svc::get(c, id)).await?;
    let doc = svc::document(&set)?;
    flat_nodes(&doc)
        .into_iter()
        .find(|n| n.code == code)
        .map(web::Json)
        .ok_or_else(|| AppError::not_found("node", format!("{code} in set {}", set.code)))
}

/// Replace a draft's whole document (admin).
///
/// Active sets answer 409 `SET_IMMUTABLE`: make a new version instead.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Set id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body(content((SetDocument = "application/json"), (String = "application/yaml"))),
    responses(
        (status = 200, description = "Replaced", body = IndicatorSetResponse, headers(("ETag" = String))),
        (status = 409, description = "`SET_IMMUTABLE`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[put("/indicator-sets/{id}")]
async fn replace_indicator_set(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    who.require_admin("edit indicator sets")?;
    let expected = if_match(&req)?;
    let parsed = parsed_body(&state, &req, payload).await?;
    let id = id.into_inner();
    let set = crate::db::with_conn(&state.pool, move |c| {
        svc::replace(c, &who, id, &expected, parsed)
    })
    .await?;
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        response(set, SetView::Tree)?,
    ))
}

/// Patch a draft with a JSON merge patch (RFC 7396) on its document (admin).
///
/// The patched document is validated as a whole, like a `PUT`; send `If-Match` with the set's
/// `lock_version` to avoid overwriting a concurrent change.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Set id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body(description = "A JSON merge patch (RFC 7396) of the set document: members to set, `null` to remove.", content((std::collections::HashMap<String, Value> = "application/merge-patch+json", example = json!({"name": "Bộ chỉ số (dự thảo 2)", "legal_basis": {"decision_number": "99/QĐ-UBND"}})))),
    responses(
        (status = 200, description = "Patched", body = IndicatorSetResponse, headers(("ETag" = String))),
        (status = 409, description = "`SET_IMMUTABLE`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[patch("/indicator-sets/{id}")]
async fn patch_indicator_set(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    who.require_admin("edit indicator sets")?;
    let expected = if_match(&req)?;
    let body = read_body(payload, state.config.max_json_bytes).await?;
    let patch: Value = serde_json::from_slice(&body).map_err(|e| {
        AppError::bad_request(
            "MALFORMED_JSON",
            format!("The patch is not valid JSON: {e}."),
        )
    })?;
    crate::input::refuse_nul_in(&patch)?;
    let id = id.into_inner();
    let set = crate::db::with_conn(&state.pool, move |c| {
        svc::patch(c, &who, id, &expected, patch)
    })
    .await?;
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        response(set, SetView::Tree)?,
    ))
}

/// Delete a draft that nothing uses (admin).
///
/// A draft that a period pins, or that anything else refers to, is refused.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Set id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`SET_IMMUTABLE` or `IN_USE`", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[delete("/indicator-sets/{id}")]
async fn delete_indicator_set(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    who.require_admin("delete indicator sets")?;
    let id = id.into_inner();
    crate::db::with_conn(&state.pool, move |c| svc::delete(c, &who, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Activate a draft (admin): from then on it is immutable and periods may use it.
///
/// Send `If-Match` with the set's `lock_version`. An active set can no longer be edited: a
/// change is a new version.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Set id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    responses(
        (status = 200, description = "Activated", body = IndicatorSetResponse, headers(("ETag" = String))),
        (status = 409, description = "`SET_IMMUTABLE` (already active)", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/indicator-sets/{id}/activate")]
async fn activate_indicator_set(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    who.require_admin("activate indicator sets")?;
    let expected = if_match(&req)?;
    let id = id.into_inner();
    let set =
        crate::db::with_conn(&state.pool, move |c| svc::activate(c, &who, id, &expected)).await?;
    Ok(with_etag(
        actix_web::http::StatusCode::OK,
        response(set, SetView::Summary)?,
    ))
}

/// Start a new version from an existing one (admin): a draft clone with the next version
/// number, whose nodes declare they replace the same codes of the old version.
///
/// Every call makes another version. Send an `Idempotency-Key` to make a retry safe: a repeat
/// with the same key gets the first 201 back (`Idempotent-Replayed: true`, same `ETag` and
/// `Location`) and makes no further version.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Id of the version to clone"), IdempotencyKeyHeader),
    responses(
        (status = 201, description = "The new draft (or replayed: see `Idempotency-Key`)", body = IndicatorSetResponse, headers(("ETag" = String), ("Location" = String), ("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/indicator-sets/{id}/versions")]
async fn create_indicator_set_version(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    who.require_admin("create indicator-set versions")?;
    let id = id.into_inner();
    // No body: the path names the version cloned.
    let keyed = key.request(&who, &req, b"");
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise = |_: &mut _| svc::authorise_new_version(&who);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let set = svc::new_version(c, &who, id)?;
            Ok((201, to_body(response(set, SetView::Tree)?)?))
        })
    })
    .await?;
    respond(reply, created_headers)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `original` (default) or `canonical`.
    #[serde(default, deserialize_with = "form_param")]
    pub form: Option<SetExportForm>,
}

fn form_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SetExportForm>, D::Error> {
    choice(d, "form")
}

/// The form of an exported set document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetExportForm {
    /// Byte for byte as imported (JSON or YAML).
    Original,
    /// The normalised nested JSON document.
    Canonical,
}

impl SetExportForm {
    pub fn parse(s: &str) -> Option<SetExportForm> {
        match s {
            "original" => Some(SetExportForm::Original),
            "canonical" => Some(SetExportForm::Canonical),
            _ => None,
        }
    }
}

/// An export form named in a query: `INVALID_FORM` unless it is one.
impl QueryChoice for SetExportForm {
    fn from_query(field: &str, s: &str) -> Result<Self, FieldError> {
        SetExportForm::parse(s).ok_or_else(|| {
            FieldError::new(
                field,
                "INVALID_FORM",
                format!("{s:?}: use original or canonical"),
            )
            .with_param("value", s)
        })
    }
}

/// Export a set's document.
///
/// `form=original` (default) returns the document byte for byte as it was imported (JSON or
/// YAML); `form=canonical` the normalised nested JSON document.
#[utoipa::path(
    tag = "indicator-sets",
    params(("id" = Uuid, Path, description = "Set id"), ExportQuery),
    responses(
        (status = 200, description = "The document", content(
            (SetDocument = "application/json"),
            (String = "application/yaml")
        )),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[get("/indicator-sets/{id}/export")]
async fn export_indicator_set(
    state: web::Data<AppState>,
    _who: Principal,
    id: web::Path<Uuid>,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let set = crate::db::with_conn(&state.pool, move |c| svc::get(c, id)).await?;
    let filename = format!("{}-v{}", set.code, set.version);
    match q.form.unwrap_or(SetExportForm::Original) {
        SetExportForm::Original => {
            let (ctype, ext) = if set.source_format == "yaml" {
                ("application/yaml; charset=utf-8", "yaml")
            } else {
                ("application/json", "json")
            };
            Ok(HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, ctype))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}.{ext}\""),
                ))
                .body(set.source_document))
        }
        SetExportForm::Canonical => Ok(HttpResponse::Ok()
            .insert_header(ContentType::json())
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}.canonical.json\""),
            ))
            .body(
                serde_json::to_string_pretty(&svc::document(&set)?).map_err(AppError::internal)?,
            )),
    }
}

/// A small valid document, shown by Swagger UI as the example for create and validate.
pub fn example_document() -> Value {
    serde_json::json!({
        "schema_version": crate::domain::indicator_set::SCHEMA_VERSION,
        "code": "VD-XA-100",
        "version": 1,
        "name": "Bộ chỉ số đánh giá chuyển đổi số cấp xã (ví dụ)",
        "target_unit_kind": "commune",
        "year": 2025,
        "legal_basis": {"decision_number": "123/QĐ-UBND", "decision_date": "2025-10-23", "issuer": "UBND tỉnh (ví dụ)"},
        "scale": "100",
        "precision": 4,
        "provenance": "Ví dụ minh họa; mọi điểm số và ngưỡng xếp loại là giả định (inferred).",
        "classification": {"status": "example", "source": "Nhãn xếp loại như Bắc Ninh (2023); ngưỡng minh họa", "bands": [
            {"code": "XUAT_SAC", "label": "Xuất sắc", "label_en": "Excellent", "min_index": "0.9"},
            {"code": "TOT", "label": "Tốt", "label_en": "Good", "min_index": "0.75"},
            {"code": "KHA", "label": "Khá", "label_en": "Fair", "min_index": "0.6"},
            {"code": "TRUNG_BINH", "label": "Trung bình", "label_en": "Average", "min_index": "0.4"},
            {"code": "KEM", "label": "Kém", "label_en": "Poor", "min_index": "0"}]},
        "pillars": [{"code": "CQS", "name": "Chính quyền số", "main_indicators": ["1", "2"]}],
        "nodes": [
            {"code": "1", "kind": "main", "name": "Nhận thức số", "max_points": "40", "children": [
                {"code": "1.1", "kind": "component", "name": "Số cuộc họp Ban chỉ đạo chuyển đổi số trong năm", "max_points": "20",
                 "method": {"type": "tiers", "bands": [
                     {"threshold": "1", "points": "5"}, {"threshold": "2", "points": "10"},
                     {"threshold": "3", "points": "15"}, {"threshold": "4", "points": "20"}]},
                 "evidence": "required", "data_source": "UBND xã", "verifying_body": "Sở Khoa học và Công nghệ"},
                {"code": "1.2", "kind": "component", "name": "Tỷ lệ cuộc họp do Chủ tịch chủ trì", "max_points": "20",
                 "method": {"type": "ratio", "zero_denominator": "zero"},
                 "guidance": "a = số cuộc họp do Chủ tịch UBND xã chủ trì; b = tổng số cuộc họp của Ban chỉ đạo trong năm.",
                 "inputs": {"numerator": {"label": "Số cuộc họp do Chủ tịch chủ trì"},
                            "denominator": {"label": "Tổng số cuộc họp của Ban chỉ đạo"}},
                 "evidence_expected": "Thông báo kết luận các cuộc họp"}
            ]},
            {"code": "2", "kind": "main", "name": "Hoạt động chính quyền số", "max_points": "60", "children": [
                {"code": "2.1", "kind": "component", "name": "Tỷ lệ hồ sơ xử lý trực tuyến toàn trình", "max_points": "40",
                 "method": {"type": "ratio_to_target", "target": "0.8"}, "automatic": true},
                {"code": "2.2", "kind": "component", "name": "Trưởng Ban chỉ đạo chuyển đổi số", "max_points": "20",
                 "method": {"type": "choice", "options": [
                     {"code": "chairman", "label": "Chủ tịch UBND", "points": "20"},
                     {"code": "deputy", "label": "Phó Chủ tịch", "points": "10"},
                     {"code": "none", "label": "Chưa thành lập", "points": "0"}]}}
            ]}
        ]
    })
}
