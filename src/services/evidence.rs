//! Evidence (tài liệu kiểm chứng) attached to an answer: files, checked by content and stored
//! once per SHA-256, or references (a URL, or a document number, date and issuer). Adding or
//! removing evidence can change a score (evidence-required components), so both rescore.

use std::sync::Arc;

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::evidence::{Blob, Evidence, NewEvidence, ensure_answer};
use crate::db::models::periods::Period;
use crate::domain::workflow::EvidenceKind;
use crate::error::{AppError, AppResult, FieldError};
use crate::services::assessments::{authorise_answer_write, edit_refusal};
use crate::services::scoring::Caches;
use crate::services::scoring::{lock_assessment, rescore_assessment, set_entry};
use crate::storage::{BlobStore, FileKind, StorageError, StoredBlob, key_for, name_for_kind};

pub enum NewItem {
    File {
        filename: String,
        bytes: Vec<u8>,
        description: Option<String>,
    },
    Url {
        url: String,
        description: Option<String>,
    },
    Document {
        number: String,
        date: Option<NaiveDate>,
        issuer: Option<String>,
        description: Option<String>,
    },
}

impl NewItem {
    pub fn kind(&self) -> EvidenceKind {
        match self {
            NewItem::File { .. } => EvidenceKind::File,
            NewItem::Url { .. } => EvidenceKind::Url,
            NewItem::Document { .. } => EvidenceKind::Document,
        }
    }
}

/// The leaf node id for `code` in the assessment's set.
fn leaf(c: &mut PgConnection, caches: &Caches, a: &Assessment, code: &str) -> AppResult<Uuid> {
    let entry = set_entry(c, caches, a.set_id)?;
    let i = entry
        .set
        .index_of(code)
        .ok_or_else(|| AppError::not_found("node", code))?;
    let n = &entry.set.nodes[i];
    if !n.takes_answers() {
        return Err(AppError::unprocessable(
            "NOT_A_LEAF",
            format!("{code} is not a scored leaf; attach evidence to its components."),
        ));
    }
    Ok(entry.node_ids[i])
}

pub fn storage_error(e: StorageError, limit: usize) -> AppError {
    use actix_web::http::StatusCode;
    match e {
        StorageError::TooLarge { .. } => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The file exceeds the limit of {limit} bytes."),
        ),
        StorageError::Empty => AppError::unprocessable("EMPTY_FILE", "The file is empty."),
        StorageError::ForbiddenType { .. } => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "FORBIDDEN_FILE_TYPE",
            "Only PDF, images (PNG, JPEG, GIF, WebP) and Office documents are accepted; the type \
             is read from the content, not the name.",
        ),
        StorageError::Io(e) => AppError::internal(e),
        StorageError::Unavailable(cause) => {
            tracing::warn!(
                "request {}: evidence storage unavailable: {}",
                crate::telemetry::current_request_id()
                    .as_deref()
                    .unwrap_or("-"),
                crate::error::error_chain(cause.as_ref())
            );
            AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "STORAGE_UNAVAILABLE",
                "The evidence file storage is unavailable; nothing was changed. Retry shortly.",
            )
            .with_header(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_static("5"),
            )
        }
    }
}

/// Deletes the stored file of the content `sha` (and its `evidence_blobs` row) if no evidence
/// references it any more. Runs under the content lock ([`Blob::lock_content`]), which every
/// upload holds from storing the file until its row is committed: an upload of the same bytes
/// either committed first (its row is seen, the file is kept) or waits and stores the file
/// again. The file goes after the last row is gone, never before.
///
/// A failure only leaves an unreferenced file behind (logged): it wastes space, never data.
fn collect(conn: &mut PgConnection, store: &Arc<dyn BlobStore>, sha: &str) {
    let result = conn.transaction(|c| -> AppResult<()> {
        Blob::lock_content(c, sha)?;
        if Evidence::blob_refs(c, sha)? > 0 {
            return Ok(());
        }
        let key = match Blob::find(c, sha)? {
            Some(blob) => {
                Blob::delete(c, sha)?;
                blob.storage_key
            }
            // a file stored by an upload that failed before its row
            None => key_for(sha),
        };
        store.delete(&key).map_err(|e| storage_error(e, 0))
    });
    if let Err(e) = result {
        tracing::warn!(
            "evidence file {sha} is no longer referenced but could not be deleted from {}: {}",
            store.describe(),
            crate::error::error_chain(&e)
        );
    }
}

/// Adds one evidence item. A file is checked (size, type by content) before anything is
/// written; it is stored inside the transaction that records it, under the lock of its
/// content ([`Blob::lock_content`]), so that a concurrent delete of the same bytes cannot
/// remove it between the two. If the transaction fails, a file nothing references is removed.
#[allow(clippy::too_many_arguments)]
pub fn add(
    conn: &mut PgConnection,
    caches: &Caches,
    store: &Arc<dyn BlobStore>,
    limit: usize,
    actor: &Principal,
    id: Uuid,
    node_code: &str,
    item: NewItem,
) -> AppResult<Evidence> {
    // Check rights before touching the storage.
    {
        let a = authorise_answer_write(conn, actor, id)?;
        let p = Period::find(conn, a.period_id)?
            .ok_or_else(|| AppError::not_found("period", a.period_id))?;
        if let Some(refusal) = edit_refusal(actor, &a, &p) {
            return Err(refusal);
        }
        leaf(conn, caches, &a, node_code)?;
    }
    let file = match &item {
        NewItem::File {
            bytes, filename, ..
        } => {
            let blob =
                crate::storage::prepare(bytes, limit).map_err(|e| storage_error(e, limit))?;
            let name = name_for_kind(filename, blob.kind);
            Some((blob, bytes, name))
        }
        _ => None,
    };
    let result = conn.transaction(|c| {
        if let Some((blob, bytes, _)) = &file {
            store_file(c, store, limit, blob, bytes)?;
        }
        // again under the lock: the form may have been submitted since the check above
        let a = lock_editable(c, actor, id)?;
        let node_id = leaf(c, caches, &a, node_code)?;
        let answer_id = ensure_answer(c, a.id, node_id, actor.actor_id())?;
        let stored = file.as_ref().map(|(blob, _, name)| (blob, name));
        let ev = Evidence::insert(c, &new_evidence(actor, answer_id, &item, stored)?)?;
        Audit::new(Some(actor), "evidence.add", "evidence", ev.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .new_value(serde_json::json!({
                "node": node_code, "kind": ev.kind, "sha256": ev.blob_sha256,
                "filename": ev.filename, "url": ev.url, "doc_number": ev.doc_number,
            }))
            .record(c)?;
        rescore_assessment(c, caches, &a)?;
        Ok(ev)
    });
    if result.is_err()
        && let Some((blob, _, _)) = &file
    {
        collect(conn, store, &blob.sha256);
    }
    result
}

/// Stores the bytes of a checked file under the lock of its content, and its blob row.
fn store_file(
    c: &mut PgConnection,
    store: &Arc<dyn BlobStore>,
    limit: usize,
    blob: &StoredBlob,
    bytes: &[u8],
) -> AppResult<()> {
    Blob::lock_content(c, &blob.sha256)?;
    store
        .put(&blob.storage_key, bytes)
        .map_err(|e| storage_error(e, limit))?;
    Blob::ensure(
        c,
        &blob.sha256,
        blob.size as i64,
        blob.kind.mime(),
        &blob.storage_key,
    )?;
    Ok(())
}

/// Assessment `id`, locked, while `actor` may still change its evidence: the refusal otherwise.
fn lock_editable(c: &mut PgConnection, actor: &Principal, id: Uuid) -> AppResult<Assessment> {
    let a = lock_assessment(c, id)?;
    let p =
        Period::find(c, a.period_id)?.ok_or_else(|| AppError::not_found("period", a.period_id))?;
    match edit_refusal(actor, &a, &p) {
        Some(refusal) => Err(refusal),
        None => Ok(a),
    }
}

/// The row of a new evidence item of answer `answer_id`; a file's `stored` blob and shown name.
fn new_evidence(
    actor: &Principal,
    answer_id: Uuid,
    item: &NewItem,
    stored: Option<(&StoredBlob, &String)>,
) -> AppResult<NewEvidence> {
    let mut new = NewEvidence::blank(answer_id, item.kind(), Some(actor.actor_id()));
    match item {
        NewItem::File { description, .. } => {
            let (blob, name) = stored.ok_or_else(|| AppError::internal("file missing"))?;
            new.blob_sha256 = Some(blob.sha256.clone());
            new.filename = Some(name.clone());
            new.description = description.clone();
        }
        NewItem::Url { url, description } => {
            new.url = Some(url.clone());
            new.description = description.clone();
        }
        NewItem::Document {
            number,
            date,
            issuer,
            description,
        } => {
            new.doc_number = Some(number.clone());
            new.doc_date = *date;
            new.doc_issuer = issuer.clone();
            new.description = description.clone();
        }
    }
    Ok(new)
}

/// The evidence of one answer (for those who may read the assessment).
pub fn list(
    conn: &mut PgConnection,
    caches: &Caches,
    actor: &Principal,
    id: Uuid,
    node_code: &str,
) -> AppResult<Vec<(Evidence, Option<Blob>)>> {
    let (a, _) = crate::services::assessments::readable(conn, actor, id)?;
    let node_id = leaf(conn, caches, &a, node_code)?;
    let Some(answer) = crate::db::models::assessments::Answer::find(conn, a.id, node_id)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for ev in Evidence::of_answer(conn, answer.id)? {
        let blob = match &ev.blob_sha256 {
            Some(sha) => Blob::find(conn, sha)?,
            None => None,
        };
        out.push((ev, blob));
    }
    Ok(out)
}

/// One evidence item with its blob, checking the caller may read its assessment.
pub fn get(
    conn: &mut PgConnection,
    actor: &Principal,
    evidence_id: Uuid,
) -> AppResult<(Evidence, Option<Blob>)> {
    let (ev, assessment, _) = Evidence::find(conn, evidence_id)?
        .ok_or_else(|| AppError::not_found("evidence", evidence_id))?;
    crate::services::assessments::readable(conn, actor, assessment)?;
    let blob = match &ev.blob_sha256 {
        Some(sha) => Blob::find(conn, sha)?,
        None => None,
    };
    Ok((ev, blob))
}

/// Removes an evidence item while the answers are editable; a file no longer referenced is
/// then deleted from storage ([`collect`]).
pub fn delete(
    conn: &mut PgConnection,
    caches: &Caches,
    store: &Arc<dyn BlobStore>,
    actor: &Principal,
    evidence_id: Uuid,
) -> AppResult<()> {
    let content = conn.transaction(|c| -> AppResult<_> {
        let (ev, assessment, _) = Evidence::find(c, evidence_id)?
            .ok_or_else(|| AppError::not_found("evidence", evidence_id))?;
        authorise_answer_write(c, actor, assessment)?;
        let a = lock_editable(c, actor, assessment)?;
        Evidence::delete(c, ev.id)?;
        Audit::new(Some(actor), "evidence.delete", "evidence", ev.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .old(serde_json::json!({
                "kind": ev.kind, "sha256": ev.blob_sha256, "filename": ev.filename, "url": ev.url,
            }))
            .record(c)?;
        rescore_assessment(c, caches, &a)?;
        Ok(ev.blob_sha256)
    })?;
    if let Some(sha) = content {
        collect(conn, store, &sha);
    }
    Ok(())
}

/// An evidence file as it is downloaded.
pub struct Download {
    /// The shown name, with the extension of the detected type ([`name_for_kind`]).
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// Reads an evidence file, checking the caller may read its assessment. A file missing from
/// storage while its row exists is 404 `EVIDENCE_FILE_MISSING`, logged as an error: the
/// content is lost and has to be uploaded again.
pub fn download(
    conn: &mut PgConnection,
    store: &Arc<dyn BlobStore>,
    actor: &Principal,
    evidence_id: Uuid,
) -> AppResult<Download> {
    let (ev, blob) = get(conn, actor, evidence_id)?;
    let blob = blob.ok_or_else(|| AppError::not_found("evidence file", evidence_id))?;
    let bytes = match store.get(&blob.storage_key) {
        Ok(bytes) => bytes,
        Err(StorageError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::error!(
                "request {}: evidence {evidence_id} references {} but {} has no such file",
                crate::telemetry::current_request_id()
                    .as_deref()
                    .unwrap_or("-"),
                blob.storage_key,
                store.describe()
            );
            return Err(AppError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                "EVIDENCE_FILE_MISSING",
                format!(
                    "The file of evidence {evidence_id} is missing from storage; the incident \
                     was logged. Upload the file again."
                ),
            )
            .with_param("id", evidence_id));
        }
        Err(e) => return Err(storage_error(e, 0)),
    };
    let name = ev.filename.unwrap_or_else(|| "file".into());
    let filename = match FileKind::from_mime(&blob.content_type) {
        Some(kind) => name_for_kind(&name, kind),
        None => crate::storage::sanitize_filename(&name),
    };
    Ok(Download {
        filename,
        content_type: blob.content_type,
        sha256: blob.sha256,
        bytes,
    })
}

pub fn check_reference(url: Option<&str>, number: Option<&str>) -> AppResult<()> {
    let mut errors = Vec::new();
    match (url, number) {
        (Some(u), _)
            if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 =>
        {
            errors.push(FieldError::new(
                "/url",
                "INVALID_URL",
                "an http(s) URL of at most 2000 characters",
            ))
        }
        (None, None) => errors.push(FieldError::new(
            "/",
            "REQUIRED",
            "give a url, or a document number",
        )),
        _ => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(errors))
    }
}
