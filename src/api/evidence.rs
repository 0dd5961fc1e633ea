//! Evidence attached to answers: multipart file upload or a JSON reference, list, download,
//! delete.

use actix_multipart::Multipart;
use actix_web::dev::Payload;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use super::ErrorResponses;
use super::idempotency::{IdempotencyKey, IdempotencyKeyHeader, respond, to_body};
use super::input::{check_announced_length, parse_object, payload_error, read_limited, too_large};
use crate::auth::Principal;
use crate::db::models::evidence::{Blob, Evidence};
use crate::domain::workflow::EvidenceKind;
use crate::error::{AppError, AppResult, FieldError};
use crate::input::{nul_field, nul_refusal};
use crate::services::evidence::{self as svc, NewItem};
use crate::services::idempotency;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(add_evidence)
        .service(list_evidence)
        .service(download_evidence)
        .service(delete_evidence);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceResponse {
    pub id: Uuid,
    #[schema(example = "file")]
    pub kind: EvidenceKind,
    /// Sanitised file name.
    pub filename: Option<String>,
    /// Type read from the content (never from the name).
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// SHA-256 of the content (identical files are stored once).
    pub sha256: Option<String>,
    pub url: Option<String>,
    pub doc_number: Option<String>,
    pub doc_date: Option<NaiveDate>,
    pub doc_issuer: Option<String>,
    pub description: Option<String>,
    /// Where to download a file.
    pub download_url: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

fn response(ev: Evidence, blob: Option<Blob>) -> EvidenceResponse {
    EvidenceResponse {
        download_url: (ev.kind == EvidenceKind::File)
            .then(|| format!("/api/v1/evidence/{}/content", ev.id)),
        content_type: blob.as_ref().map(|b| b.content_type.clone()),
        size_bytes: blob.as_ref().map(|b| b.size_bytes),
        id: ev.id,
        kind: ev.kind,
        filename: ev.filename,
        sha256: ev.blob_sha256,
        url: ev.url,
        doc_number: ev.doc_number,
        doc_date: ev.doc_date,
        doc_issuer: ev.doc_issuer,
        description: ev.description,
        created_by: ev.created_by,
        created_at: ev.created_at,
    }
}

/// A reference instead of a file.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"doc_number": "125/QĐ-UBND", "doc_date": "2025-03-14", "doc_issuer": "UBND xã Bắc Hà", "description": "Quyết định kiện toàn Ban chỉ đạo"}))]
pub struct EvidenceReference {
    /// A link to the document.
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    /// Or the number of an official document (số hiệu văn bản).
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub doc_number: Option<String>,
    pub doc_date: Option<NaiveDate>,
    #[validate(length(max = 300))]
    #[schema(max_length = 300)]
    pub doc_issuer: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// The multipart form of an upload (documentation only): exactly one `file` and at most one
/// `description`, nothing else (422 `DUPLICATE` or `UNKNOWN_FIELD` naming the field); the whole
/// form at most `MAX_UPLOAD_BYTES` + 64 KiB (413).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EvidenceUpload {
    /// The file: PDF, PNG, JPEG, GIF, WebP, or an Office document (docx, xlsx, pptx, odt, ods,
    /// doc, xls, ppt). At most `MAX_UPLOAD_BYTES` (20 MiB by default).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    #[schema(max_length = 2000)]
    description: Option<String>,
}

/// What a form may add to its file: the declared limit is for the file, this is for the rest
/// (boundaries, part headers, the description).
const FORM_ALLOWANCE: usize = 64 * 1024;
/// Longest evidence description, in characters (as `EvidenceReference::description`).
const DESCRIPTION_MAX: usize = 2000;

fn malformed(e: impl std::fmt::Display) -> AppError {
    AppError::bad_request(
        "MALFORMED_MULTIPART",
        format!("The form could not be read: {e}."),
    )
}

/// Reads an upload form: exactly one `file` and at most one `description`, nothing else, the
/// whole body at most `limit` + [`FORM_ALLOWANCE`] bytes.
async fn read_upload(req: &HttpRequest, payload: Payload, limit: usize) -> AppResult<NewItem> {
    let total = limit + FORM_ALLOWANCE;
    check_announced_length(req, total)?;
    // Count every byte of the form, whatever part it is in.
    let mut read = 0usize;
    let counted = payload.map(move |chunk| {
        let chunk = chunk?;
        read += chunk.len();
        if read > total {
            Err(actix_web::error::PayloadError::Overflow)
        } else {
            Ok(chunk)
        }
    });
    let mut form = Multipart::new(req.headers(), counted);
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut description: Option<String> = None;
    let form_error = |e: actix_multipart::MultipartError| match e {
        actix_multipart::MultipartError::Payload(p) => match p {
            actix_web::error::PayloadError::Overflow => too_large(total),
            other => payload_error(&other),
        },
        other => malformed(other),
    };
    while let Some(field) = form.next().await {
        let mut field = field.map_err(form_error)?;
        let name = field.name().unwrap_or_default().to_string();
        let refuse = |code: &str, message: &str| {
            AppError::validation(vec![FieldError::new(name.clone(), code, message)])
        };
        match name.as_str() {
            "file" if file.is_some() => {
                return Err(refuse("DUPLICATE", "send one file per request"));
            }
            "description" if description.is_some() => {
                return Err(refuse("DUPLICATE", "send one description"));
            }
            "file" | "description" => {}
            _ => {
                return Err(refuse(
                    "UNKNOWN_FIELD",
                    "is not a field of the form; send `file` and optionally `description`",
                ));
            }
        }
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename().map(str::to_string));
        let part_limit = if name == "file" {
            limit
        } else {
            DESCRIPTION_MAX * 4
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(form_error)?;
            if bytes.len() + chunk.len() > part_limit {
                if name == "file" {
                    return Err(svc::storage_error(
                        crate::storage::StorageError::TooLarge { limit },
                        limit,
                    ));
                }
                return Err(description_too_long());
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == "file" {
            let filename = filename.unwrap_or_else(|| "file".into());
            if let Some(e) = nul_field("file", &filename) {
                return Err(nul_refusal(vec![e]));
            }
            file = Some((filename, bytes));
        } else {
            let text = String::from_utf8(bytes).map_err(|_| {
                AppError::validation(vec![FieldError::new(
                    "description",
                    "INVALID",
                    "is not UTF-8 text",
                )])
            })?;
            if let Some(e) = nul_field("description", &text) {
                return Err(nul_refusal(vec![e]));
            }
            if text.chars().count() > DESCRIPTION_MAX {
                return Err(description_too_long());
            }
            description = Some(text);
        }
    }
    let (filename, bytes) = file
        .ok_or_else(|| AppError::unprocessable("FILE_REQUIRED", "The form has no `file` field."))?;
    Ok(NewItem::File {
        filename,
        bytes,
        description,
    })
}

fn description_too_long() -> AppError {
    AppError::validation(vec![
        FieldError::new(
            "description",
            "LENGTH",
            format!("length must be at most {DESCRIPTION_MAX}"),
        )
        .with_param("max", DESCRIPTION_MAX),
    ])
}

/// Attach evidence to an answer: a file (multipart/form-data, field `file`) or a reference
/// (JSON: a URL, or a document number with date and issuer).
///
/// Who may attach (the unit's editors and leader, the administrator) is checked before the body
/// is read. One file per request. Files are checked by content (415 `FORBIDDEN_FILE_TYPE` for
/// anything else, whatever the name), limited in size (413), stored once per SHA-256; a refused
/// upload leaves nothing behind.
/// Every call attaches another item. Send an `Idempotency-Key` to make a retry safe: a repeat
/// with the same key gets the first 201 back (`Idempotent-Replayed: true`) and attaches
/// nothing. A repeat is the same request when it attaches the same thing: for a file the same
/// name, content and description (however the form is laid out), for a reference the same JSON
/// members.
#[utoipa::path(
    tag = "evidence",
    params(("id" = Uuid, Path, description = "Assessment id"), ("node_code" = String, Path, description = "Leaf code"), IdempotencyKeyHeader),
    request_body(content((EvidenceUpload = "multipart/form-data"), (EvidenceReference = "application/json"))),
    responses(
        (status = 201, description = "Attached (or replayed: see `Idempotency-Key`)", body = EvidenceResponse, headers(("Idempotent-Replayed" = String, description = "`true` when replayed from an earlier request with the same key"))),
        (status = 409, description = "`IDEMPOTENCY_KEY_IN_USE`: the first request with this key is still running (or a closed phase or locked form)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`, or `IDEMPOTENCY_KEY_REUSED`: the key was used for another request", body = crate::error::Problem, content_type = "application/problem+json"),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[post("/assessments/{id}/answers/{node_code}/evidence")]
async fn add_evidence(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    path: web::Path<(Uuid, String)>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (id, code) = path.into_inner();
    // Who may attach is decided before a byte of the body is read.
    super::assessments::gate_answer_write(&state, &who, id).await?;
    let limit = state.config.max_upload_bytes;
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let item = if ctype.starts_with("multipart/form-data") {
        read_upload(&req, payload.into_inner(), limit).await?
    } else if ctype.starts_with("application/json") {
        let body = read_limited(&req, payload.into_inner(), 64 * 1024).await?;
        let r: EvidenceReference = parse_object(&body)?;
        r.validate()?;
        svc::check_reference(r.url.as_deref(), r.doc_number.as_deref())?;
        match r.url {
            Some(url) => NewItem::Url {
                url,
                description: r.description,
            },
            None => NewItem::Document {
                number: r.doc_number.unwrap_or_default(),
                date: r.doc_date,
                issuer: r.doc_issuer,
                description: r.description,
            },
        }
    } else {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send a file as multipart/form-data or a reference as application/json.",
        ));
    };
    let keyed = key.request(&who, &req, &fingerprint(&item));
    let store = state.store.clone();
    let caches = state.caches.clone();
    let reply = crate::db::with_conn(&state.pool, move |c| {
        let authorise =
            |c: &mut _| crate::services::assessments::authorise_answer_write(c, &who, id).map(drop);
        idempotency::run(c, keyed.as_ref(), authorise, |c| {
            let ev = svc::add(c, &caches, &store, limit, &who, id, &code, item)?;
            let blob = match &ev.blob_sha256 {
                Some(sha) => Blob::find(c, sha)?,
                None => None,
            };
            Ok((201, to_body(response(ev, blob))?))
        })
    })
    .await?;
    respond(reply, |_, _| {})
}

/// What makes two attachments "the same request" for `Idempotency-Key`: what is attached, not
/// how it was sent (a multipart boundary differs on every send; a file counts by its SHA-256).
fn fingerprint(item: &NewItem) -> Vec<u8> {
    let value = match item {
        NewItem::File {
            filename,
            bytes,
            description,
        } => {
            use sha2::Digest;
            serde_json::json!({
                "kind": "file",
                "filename": filename,
                "sha256": hex::encode(sha2::Sha256::digest(bytes)),
                "description": description,
            })
        }
        NewItem::Url { url, description } => {
            serde_json::json!({"kind": "url", "url": url, "description": description})
        }
        NewItem::Document {
            number,
            date,
            issuer,
            description,
        } => serde_json::json!({
            "kind": "document",
            "doc_number": number,
            "doc_date": date,
            "doc_issuer": issuer,
            "description": description,
        }),
    };
    value.to_string().into_bytes()
}

/// List the evidence of an answer.
///
/// Files, links and official document references attached to one component's answer, oldest
/// first. A file's `download_url` serves its bytes.
#[utoipa::path(
    tag = "evidence",
    params(("id" = Uuid, Path, description = "Assessment id"), ("node_code" = String, Path, description = "Leaf code")),
    responses((status = 200, description = "Evidence", body = Vec<EvidenceResponse>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/assessments/{id}/answers/{node_code}/evidence")]
async fn list_evidence(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, String)>,
) -> AppResult<web::Json<Vec<EvidenceResponse>>> {
    let (id, code) = path.into_inner();
    let caches = state.caches.clone();
    let items =
        crate::db::with_conn(&state.pool, move |c| svc::list(c, &caches, &who, id, &code)).await?;
    Ok(web::Json(
        items.into_iter().map(|(e, b)| response(e, b)).collect(),
    ))
}

/// Download an evidence file (for those who may read the assessment).
///
/// The file name (`Content-Disposition`) has the extension of the file's type, which is read
/// from its content. A file missing from storage is 404 `EVIDENCE_FILE_MISSING`.
#[utoipa::path(
    tag = "evidence",
    params(("id" = Uuid, Path, description = "Evidence id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>), ErrorResponses),
    security(("bearer" = []))
)]
#[get("/evidence/{id}/content")]
async fn download_evidence(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let store = state.store.clone();
    let file =
        crate::db::with_conn(&state.pool, move |c| svc::download(c, &store, &who, id)).await?;
    // An ASCII fallback for old clients, and the exact name (RFC 5987) for the others.
    let ascii: String = file
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file.filename.into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, file.content_type))
        .insert_header(disposition)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::ETAG, format!("\"{}\"", file.sha256)))
        // the stored bytes, never re-encoded by the compression middleware
        .insert_header(header::ContentEncoding::Identity)
        .body(file.bytes))
}

/// Remove an evidence item (while the answers may be edited).
///
/// Only while the caller may still edit the answer.
#[utoipa::path(
    tag = "evidence",
    params(("id" = Uuid, Path, description = "Evidence id")),
    responses((status = 204, description = "Removed"), ErrorResponses),
    security(("bearer" = []))
)]
#[delete("/evidence/{id}")]
async fn delete_evidence(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let store = state.store.clone();
    let caches = state.caches.clone();
    crate::db::with_conn(&state.pool, move |c| {
        svc::delete(c, &caches, &store, &who, id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
