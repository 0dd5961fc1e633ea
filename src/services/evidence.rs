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
use crate::error::{AppError, AppResult, FieldError};
use crate::services::assessments::{authorise_answer_write, edit_refusal};
use crate::services::scoring::{lock_assessment, rescore_assessment, set_entry};
use crate::storage::{BlobStore, StorageError, key_for, sanitize_filename, sniff};

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

/// The leaf node id for `code` in the assessment's set.
fn leaf(c: &mut PgConnection, a: &Assessment, code: &str) -> AppResult<Uuid> {
    let entry = set_entry(c, a.set_id)?;
    let i = entry
        .set
        .index_of(code)
        .ok_or_else(|| AppError::not_found("node", code))?;
    let n = &entry.set.nodes[i];
    if !n.children.is_empty() || n.method.is_none() {
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
            "Only PDF, images (PNG, JPEG, GIF, WebP) and Office documents are accepted; the type is read from the content, not the name.",
        ),
        StorageError::Io(e) => AppError::internal(e),
        StorageError::Unavailable(cause) => {
            log::warn!(
                "request {}: evidence storage unavailable: {}",
                crate::telemetry::current_request_id()
                    .or_else(crate::audit::current_request_id)
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

/// Deletes a blob nobody references any more; a failure only leaves an orphan, logged.
fn remove_orphan(store: &Arc<dyn BlobStore>, key: &str) {
    if let Err(e) = store.delete(key) {
        log::warn!(
            "evidence file {key} is no longer referenced but could not be deleted from {}: {}",
            store.describe(),
            crate::error::error_chain(&e)
        );
    }
}

/// Adds one evidence item. A file is checked (size, type by content) and stored before the
/// transaction; if the transaction fails, a newly stored file is removed again.
pub fn add(
    conn: &mut PgConnection,
    store: &Arc<dyn BlobStore>,
    limit: usize,
    actor: &Principal,
    id: Uuid,
    node_code: &str,
    item: NewItem,
) -> AppResult<Evidence> {
    // Check rights before touching the disk.
    {
        let a = authorise_answer_write(conn, actor, id)?;
        let p = Period::find(conn, a.period_id)?
            .ok_or_else(|| AppError::not_found("period", a.period_id))?;
        if let Some(refusal) = edit_refusal(actor, &a, &p) {
            return Err(refusal);
        }
        leaf(conn, &a, node_code)?;
    }
    let mut stored_new: Option<String> = None;
    let file = match &item {
        NewItem::File {
            bytes, filename, ..
        } => {
            if bytes.is_empty() {
                return Err(storage_error(StorageError::Empty, limit));
            }
            if sniff(bytes).is_none() {
                return Err(storage_error(
                    StorageError::ForbiddenType { declared: None },
                    limit,
                ));
            }
            let sha = {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(bytes))
            };
            let key = key_for(&sha);
            let existed = store.exists(&key).map_err(|e| storage_error(e, limit))?;
            let blob = crate::storage::store(store.as_ref(), bytes, limit)
                .map_err(|e| storage_error(e, limit))?;
            if !existed {
                stored_new = Some(blob.storage_key.clone());
            }
            Some((blob, sanitize_filename(filename)))
        }
        _ => None,
    };
    let result = conn.transaction(|c| {
        let a = lock_assessment(c, id)?;
        // again under the lock: the form may have been submitted since the check above
        let p = Period::find(c, a.period_id)?.ok_or_else(|| AppError::not_found("period", a.period_id))?;
        if let Some(refusal) = edit_refusal(actor, &a, &p) {
            return Err(refusal);
        }
        let node_id = leaf(c, &a, node_code)?;
        let answer_id = ensure_answer(c, a.id, node_id, actor.user_id)?;
        let mut new = NewEvidence {
            id: Uuid::new_v4(),
            answer_id,
            kind: String::new(),
            blob_sha256: None,
            filename: None,
            url: None,
            doc_number: None,
            doc_date: None,
            doc_issuer: None,
            description: None,
            created_by: Some(actor.user_id),
        };
        match &item {
            NewItem::File { description, .. } => {
                let (blob, name) = file.as_ref().ok_or_else(|| AppError::internal("file missing"))?;
                Blob::ensure(c, &blob.sha256, blob.size as i64, blob.kind.mime(), &blob.storage_key)?;
                new.kind = "file".into();
                new.blob_sha256 = Some(blob.sha256.clone());
                new.filename = Some(name.clone());
                new.description = description.clone();
            }
            NewItem::Url { url, description } => {
                new.kind = "url".into();
                new.url = Some(url.clone());
                new.description = description.clone();
            }
            NewItem::Document { number, date, issuer, description } => {
                new.kind = "document".into();
                new.doc_number = Some(number.clone());
                new.doc_date = *date;
                new.doc_issuer = issuer.clone();
                new.description = description.clone();
            }
        }
        let ev = Evidence::insert(c, &new)?;
        Audit::new(Some(actor), "evidence.add", "evidence", ev.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .new_value(serde_json::json!({"node": node_code, "kind": ev.kind, "sha256": ev.blob_sha256, "filename": ev.filename, "url": ev.url, "doc_number": ev.doc_number}))
            .record(c)?;
        rescore_assessment(c, &a)?;
        Ok(ev)
    });
    if result.is_err()
        && let Some(key) = stored_new
    {
        remove_orphan(store, &key);
    }
    result
}

/// The evidence of one answer (for those who may read the assessment).
pub fn list(
    conn: &mut PgConnection,
    actor: &Principal,
    id: Uuid,
    node_code: &str,
) -> AppResult<Vec<(Evidence, Option<Blob>)>> {
    let (a, _) = crate::services::assessments::readable(conn, actor, id)?;
    let node_id = leaf(conn, &a, node_code)?;
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
/// deleted from storage after the commit.
pub fn delete(
    conn: &mut PgConnection,
    store: &Arc<dyn BlobStore>,
    actor: &Principal,
    evidence_id: Uuid,
) -> AppResult<()> {
    let orphan = conn.transaction(|c| {
        let (ev, assessment, _) = Evidence::find(c, evidence_id)?.ok_or_else(|| AppError::not_found("evidence", evidence_id))?;
        authorise_answer_write(c, actor, assessment)?;
        let a = lock_assessment(c, assessment)?;
        let p = Period::find(c, a.period_id)?.ok_or_else(|| AppError::not_found("period", a.period_id))?;
        if let Some(refusal) = edit_refusal(actor, &a, &p) {
            return Err(refusal);
        }
        Evidence::delete(c, ev.id)?;
        let mut orphan = None;
        if let Some(sha) = &ev.blob_sha256
            && Evidence::blob_refs(c, sha)? == 0
            && let Some(blob) = Blob::find(c, sha)?
        {
            Blob::delete(c, sha)?;
            orphan = Some(blob.storage_key);
        }
        Audit::new(Some(actor), "evidence.delete", "evidence", ev.id)
            .unit(Some(a.unit_id))
            .period(Some(a.period_id))
            .old(serde_json::json!({"kind": ev.kind, "sha256": ev.blob_sha256, "filename": ev.filename, "url": ev.url}))
            .record(c)?;
        rescore_assessment(c, &a)?;
        Ok(orphan)
    })?;
    if let Some(key) = orphan {
        remove_orphan(store, &key);
    }
    Ok(())
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
