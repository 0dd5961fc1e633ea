//! Evidence uploads: content-checked, size-limited, stored once, never leaking across units,
//! and nothing left behind by a refusal.

use dti_api::domain::Role;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::assessments::{assessment_of, open_period, put};
use crate::helpers::*;

pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn pdf(body: &str) -> Vec<u8> {
    format!("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% {body}\n%%EOF\n").into_bytes()
}

pub async fn upload(
    app: &TestApp,
    token: &str,
    a: &str,
    node: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name(name.to_string()))
        .text("description", "Biên bản họp");
    app.client
        .post(app.url(&format!("/api/v1/assessments/{a}/answers/{node}/evidence")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub fn blob_rows(app: &TestApp) -> i64 {
    app.with_conn(|c| {
        use diesel::prelude::*;
        dti_api::db::schema::evidence_blobs::table
            .count()
            .get_result(c)
            .unwrap()
    })
}

#[tokio::test]
async fn a_file_earns_the_evidence_required_points_and_is_stored_once() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let w = json_ok(
        put(&app, &editor, &a, "1.1", json!({"inputs": {"value": 4}})).await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "0", "evidence required");
    let ev = json_ok(
        upload(
            &app,
            &editor,
            &a,
            "1.1",
            "Biên bản họp quý IV.pdf",
            pdf("one"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(ev["kind"], "file");
    assert_eq!(ev["content_type"], "application/pdf");
    assert_eq!(ev["filename"], "Biên bản họp quý IV.pdf");
    assert_eq!(ev["sha256"].as_str().unwrap().len(), 64);
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    assert_eq!(
        got["score"]["self_points"], "20",
        "evidence attached: 4 meetings → 20"
    );
    // the same content again: one stored file
    let again = json_ok(
        upload(&app, &editor, &a, "1.1", "copy.pdf", pdf("one")).await,
        201,
    )
    .await;
    assert_eq!(again["sha256"], ev["sha256"]);
    assert_eq!(blob_rows(&app), 1);
    assert_eq!(files_under(&app.config.evidence_dir).len(), 1);
    // listed and downloadable byte for byte
    let list = json_ok(
        app.get(
            &format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            &editor,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let resp = app.get(ev["download_url"].as_str().unwrap(), &editor).await;
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''")
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf("one"));
    // a reference instead of a file
    let r = json_ok(app.post_json(&format!("/api/v1/assessments/{a}/answers/1.1/evidence"), Some(&editor), &json!({"doc_number": "125/QĐ-UBND", "doc_date": "2025-03-14", "doc_issuer": "UBND xã Bắc Hà"})).await, 201).await;
    assert_eq!(r["kind"], "document");
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            Some(&editor),
            &json!({"url": "javascript:alert(1)"}),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    // deleting both file items removes the stored file too
    for id in [&ev["id"], &again["id"]] {
        let resp = app
            .request(
                reqwest::Method::DELETE,
                &format!("/api/v1/evidence/{}", id.as_str().unwrap()),
                Some(&editor),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }
    assert_eq!(blob_rows(&app), 0);
    assert!(files_under(&app.config.evidence_dir).is_empty());
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    assert_eq!(
        got["score"]["self_points"], "20",
        "the document reference still counts"
    );
}

/// Uploads that must be refused, each with its code: too big, an executable or a page named
/// like a PDF, empty, no file field, not a form, and a file from another unit's editor. The
/// callers check that nothing was left behind, wherever their store keeps files.
pub async fn refuse_bad_uploads(app: &TestApp, editor: &str, a: &str) {
    // too big
    let mut big = pdf("x");
    big.resize(app.config.max_upload_bytes + 1, b' ');
    assert_problem(
        upload(app, editor, a, "1.1", "big.pdf", big).await,
        413,
        "PAYLOAD_TOO_LARGE",
    )
    .await;
    // an executable disguised by its name
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    exe.extend(std::iter::repeat_n(0u8, 200));
    assert_problem(
        upload(app, editor, a, "1.1", "bao-cao.pdf", exe).await,
        415,
        "FORBIDDEN_FILE_TYPE",
    )
    .await;
    assert_problem(
        upload(
            app,
            editor,
            a,
            "1.1",
            "page.pdf",
            b"<html><script>alert(1)</script></html>".to_vec(),
        )
        .await,
        415,
        "FORBIDDEN_FILE_TYPE",
    )
    .await;
    // empty
    assert_problem(
        upload(app, editor, a, "1.1", "empty.pdf", Vec::new()).await,
        422,
        "EMPTY_FILE",
    )
    .await;
    // not a form field named file
    let form = Form::new().text("description", "no file");
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/assessments/{a}/answers/1.1/evidence")))
        .bearer_auth(editor)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422, "FILE_REQUIRED").await;
    // wrong content type
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/assessments/{a}/answers/1.1/evidence")))
        .bearer_auth(editor)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    // refused by rights, after reading the file
    let stranger = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    assert_problem(
        upload(app, &stranger, a, "1.1", "a.pdf", pdf("intruder")).await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
}

/// Evidence rows (files and references) in the database.
pub fn evidence_rows(app: &TestApp) -> i64 {
    app.with_conn(|c| {
        use diesel::prelude::*;
        dti_api::db::schema::evidence::table
            .count()
            .get_result(c)
            .unwrap()
    })
}

#[tokio::test]
async fn refused_uploads_leave_nothing_behind() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    refuse_bad_uploads(&app, &editor, &a).await;
    assert_eq!(blob_rows(&app), 0);
    assert!(
        files_under(&app.config.evidence_dir).is_empty(),
        "{:?}",
        files_under(&app.config.evidence_dir)
    );
    assert_eq!(evidence_rows(&app), 0);
    // a hostile name is reduced to its last component; the file stays inside the store
    let ev = json_ok(
        upload(
            &app,
            &editor,
            &a,
            "1.1",
            "../../../etc/passwd.pdf",
            pdf("t"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(ev["filename"], "passwd.pdf");
    let files = files_under(&app.config.evidence_dir);
    assert_eq!(files.len(), 1);
    assert!(files[0].starts_with(&app.config.evidence_dir));
    let ev = json_ok(
        upload(&app, &editor, &a, "1.1", "..\\..\\boot.ini.pdf", pdf("u")).await,
        201,
    )
    .await;
    assert_eq!(ev["filename"], "boot.ini.pdf");
    // a NUL in the header is refused by the form parser itself
    assert_problem(
        upload(&app, &editor, &a, "1.1", "x\u{0}.pdf", pdf("v")).await,
        400,
        "MALFORMED_MULTIPART",
    )
    .await;
    assert_eq!(files_under(&app.config.evidence_dir).len(), 2);
}

#[tokio::test]
async fn another_unit_can_neither_list_download_add_nor_delete_evidence() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let other = app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let ev = json_ok(
        upload(&app, &editor, &a, "1.1", "a.pdf", pdf("secret")).await,
        201,
    )
    .await;
    let id = ev["id"].as_str().unwrap();
    assert_problem(
        app.get(&format!("/api/v1/evidence/{id}/content"), &other)
            .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            &other,
        )
        .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    assert_problem(
        upload(&app, &other, &a, "1.1", "b.pdf", pdf("intruder")).await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    let resp = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/evidence/{id}"),
            Some(&other),
        )
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "NOT_YOUR_UNIT").await;
    // reviewers read it
    let reviewer = app.token_for(Role::Reviewer, None);
    assert_eq!(
        app.get(&format!("/api/v1/evidence/{id}/content"), &reviewer)
            .await
            .status(),
        200
    );
    assert_problem(
        app.get(
            &format!("/api/v1/evidence/{}/content", uuid::Uuid::new_v4()),
            &reviewer,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(files_under(&app.config.evidence_dir).len(), 1);
}

/// Every evidence file item in the database downloads with 200 and its bytes; returns how
/// many there are.
pub async fn every_file_row_downloads(app: &TestApp, token: &str, bytes: &[u8]) -> usize {
    let ids: Vec<uuid::Uuid> = app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::evidence;
        evidence::table
            .filter(evidence::kind.eq("file"))
            .select(evidence::id)
            .load(c)
            .unwrap()
    });
    for id in &ids {
        let resp = app
            .get(&format!("/api/v1/evidence/{id}/content"), token)
            .await;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        assert_eq!(
            status,
            200,
            "evidence {id}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(body.as_ref(), bytes, "evidence {id}");
    }
    ids.len()
}

/// Uploads and deletes of the same content racing each other, `rounds` times: each round
/// deletes the item of the round before while the same bytes are uploaded again. Afterwards every remaining
/// row downloads, and a stored file is kept exactly while a row references it.
pub async fn race_uploads_and_deletes_of_the_same_content(app: &TestApp, rounds: usize) {
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(app, &editor, &period, "XA-BAC-HA").await;
    let bytes = pdf("raced");
    let mut live: Option<String> = None;
    for round in 0..rounds {
        let delete = live.take().map(|id| {
            app.request(
                reqwest::Method::DELETE,
                &format!("/api/v1/evidence/{id}"),
                Some(&editor),
            )
        });
        let (uploaded, deleted) = tokio::join!(
            upload(app, &editor, &a, "1.1", "race.pdf", bytes.clone()),
            async move {
                match delete {
                    Some(rb) => rb.send().await.unwrap().status().as_u16(),
                    None => 204,
                }
            },
        );
        assert_eq!(deleted, 204, "round {round}");
        let ev = json_ok(uploaded, 201).await;
        live = Some(ev["id"].as_str().unwrap().to_string());
        assert_eq!(
            every_file_row_downloads(app, &editor, &bytes).await,
            1,
            "round {round}"
        );
    }
    assert_eq!(blob_rows(app), 1);
}

#[tokio::test]
async fn uploads_racing_deletes_of_the_same_content_never_lose_the_file() {
    let app = spawn_seeded_app().await;
    race_uploads_and_deletes_of_the_same_content(&app, 40).await;
    assert_eq!(files_under(&app.config.evidence_dir).len(), 1);
}

#[tokio::test]
async fn a_file_missing_from_storage_is_a_clear_404_not_a_500() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let ev = json_ok(
        upload(&app, &editor, &a, "1.1", "a.pdf", pdf("lost")).await,
        201,
    )
    .await;
    for f in files_under(&app.config.evidence_dir) {
        std::fs::remove_file(f).unwrap();
    }
    let body = assert_problem(
        app.get(ev["download_url"].as_str().unwrap(), &editor).await,
        404,
        "EVIDENCE_FILE_MISSING",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("missing"),
        "{body}"
    );
    // uploading the same content again brings it back
    json_ok(
        upload(&app, &editor, &a, "1.1", "a.pdf", pdf("lost")).await,
        201,
    )
    .await;
    assert_eq!(
        app.get(ev["download_url"].as_str().unwrap(), &editor)
            .await
            .status(),
        200
    );
}

fn disposition(resp: &reqwest::Response) -> String {
    resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_file_is_named_with_the_extension_of_its_content() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    // a PDF named like a web page is listed and downloaded as a PDF
    let ev = json_ok(
        upload(&app, &editor, &a, "1.1", "poly.html", pdf("polyglot")).await,
        201,
    )
    .await;
    assert_eq!(ev["filename"], "poly.pdf");
    let resp = app.get(ev["download_url"].as_str().unwrap(), &editor).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        disposition(&resp),
        "attachment; filename=\"poly.pdf\"; filename*=UTF-8''poly.pdf"
    );
    // a row stored with a misleading name before names were fixed downloads right too
    let id: uuid::Uuid = ev["id"].as_str().unwrap().parse().unwrap();
    app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::evidence;
        diesel::update(evidence::table.find(id))
            .set(evidence::filename.eq("Báo cáo \"cuối\".html"))
            .execute(c)
            .unwrap();
    });
    let resp = app.get(ev["download_url"].as_str().unwrap(), &editor).await;
    assert_eq!(
        disposition(&resp),
        "attachment; filename=\"B_o_c_o_cu_i.pdf\"; \
         filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20cu%E1%BB%91i.pdf"
    );
    // a matching extension is kept as the client wrote it
    let ev = json_ok(
        upload(&app, &editor, &a, "1.1", "Biên bản.PDF", pdf("x")).await,
        201,
    )
    .await;
    assert_eq!(ev["filename"], "Biên bản.PDF");
}
