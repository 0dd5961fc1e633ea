//! Shared fixtures: the setup that many tests need (a period open for self-assessment, the
//! communes' answers, evidence files, imports, an app with another configuration) and the
//! shared checks that tests of several stores run. Test files take them from here, never from
//! each other.

use dti_api::config::Config;
use dti_api::domain::Role;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::client::Client;
use crate::helpers::*;

// --- Apps ---

/// A seeded app whose configuration `edit` changes first.
pub async fn seeded_app_with(edit: impl FnOnce(&mut Config)) -> TestApp {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    edit(&mut config);
    let app = spawn_app_with(config).await;
    app.load_seeds();
    app
}

// --- Sets, periods and assessments ---

/// Imports the set `document` and activates it. Returns the set's id.
pub async fn active_set(app: &TestApp, admin: &str, document: &Value) -> String {
    let set = json_ok(
        app.post_json("/api/v1/indicator-sets", Some(admin), document)
            .await,
        201,
    )
    .await;
    let id = set["id"].as_str().unwrap().to_string();
    json_ok(
        app.post_json(
            &format!("/api/v1/indicator-sets/{id}/activate"),
            Some(admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    id
}

/// Creates the period `body` describes, in phase `draft`. Returns its id.
pub async fn create_period(app: &TestApp, admin: &str, body: &Value) -> String {
    let period = json_ok(
        app.post_json("/api/v1/periods", Some(admin), body).await,
        201,
    )
    .await;
    assert_eq!(period["phase"], "draft");
    period["id"].as_str().unwrap().to_string()
}

/// Creates the period `body` describes and opens it for self-assessment. Returns the opened
/// period (the answer of the transition).
pub async fn open_new_period(app: &TestApp, admin: &str, body: &Value) -> Value {
    let id = create_period(app, admin, body).await;
    let opened = transition(app, admin, &id, "self_assessment").await;
    assert_eq!(opened["phase"], "self_assessment");
    opened
}

/// An active copy of the example commune set (100 points), with optional edits, and a period
/// over the LC-XA group opened for self-assessment. Returns (period id, set id).
pub async fn open_period(
    app: &TestApp,
    admin: &str,
    edit: impl Fn(&mut Value),
) -> (String, String) {
    let mut doc = dti_api::api::indicator_sets::example_document();
    edit(&mut doc);
    let set_id = active_set(app, admin, &doc).await;
    let opened = open_new_period(
        app,
        admin,
        &json!({"code": "DTI-2025", "name": "Đánh giá DTI năm 2025", "data_year": 2025,
                "groups": [{"group": "LC-XA", "indicator_set": set_id}],
                "calendar": [{"phase": "self_assessment", "opens_at": "2026-01-05T00:00:00Z", "closes_at": "2026-01-31T23:59:59Z"}]}),
    )
    .await;
    (opened["id"].as_str().unwrap().to_string(), set_id)
}

/// Opens a period whose component 2.2 is scored relative to the group's best value (a write can
/// move every other unit's score), and writes each `(unit, value)` of `values` to 2.2 as the
/// unit's editor: the period, and each unit's editor token and assessment.
pub async fn open_relative_period(
    app: &TestApp,
    admin: &str,
    values: &[(&str, i64)],
) -> (String, Vec<(String, String)>) {
    let (period, _) = open_period(app, admin, |d| {
        d["nodes"][1]["children"][1]["method"] = json!({"type": "relative_to_best"});
    })
    .await;
    let mut written = Vec::new();
    for (unit, value) in values {
        let t = app.token_for(Role::UnitEditor, Some(unit));
        let a = assessment_of(app, &t, &period, unit).await;
        json_ok(
            put(app, &t, &a, "2.2", json!({"inputs": {"value": value}})).await,
            200,
        )
        .await;
        written.push((t, a));
    }
    (period, written)
}

pub async fn assessment_of(app: &TestApp, token: &str, period: &str, unit: &str) -> String {
    let list = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), token)
            .await,
        200,
    )
    .await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["unit"]["code"] == unit)
        .unwrap_or_else(|| panic!("{unit} assessed: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn put(
    app: &TestApp,
    token: &str,
    assessment: &str,
    node: &str,
    body: Value,
) -> reqwest::Response {
    app.put_json(
        &format!("/api/v1/assessments/{assessment}/answers/{node}"),
        token,
        &body,
    )
    .await
}

/// The stored state of the test's database (see [`crate::helpers::stored_state`]); never empty
/// here.
pub fn stored_state(app: &TestApp) -> (Vec<String>, Vec<String>, Vec<String>) {
    let state = app.with_conn(crate::helpers::stored_state);
    assert!(!state.0.is_empty() && !state.2.is_empty());
    state
}

// --- The ten communes of LC-XA ---

pub const COMMUNES: [&str; 10] = [
    "PHUONG-LAO-CAI",
    "PHUONG-CAM-DUONG",
    "PHUONG-SA-PA",
    "PHUONG-YEN-BAI",
    "PHUONG-NGHIA-LO",
    "PHUONG-VAN-PHU",
    "XA-BAC-HA",
    "XA-MUONG-KHUONG",
    "XA-BAT-XAT",
    "XA-TRAN-YEN",
];

/// The answers of the unit at position `k`: 1.1 = k % 5 meetings (explained), 1.2 = k % 5 of
/// 4, 2.2 chairman (even k) or deputy. Points: 20, 20, 40, 40, 60, 10, 30, 30, 50, 50.
pub fn answers(k: usize) -> Value {
    json!({"answers": [
        {"node_code": "1.1", "inputs": {"value": k % 5}, "explanation": "Biên bản lưu tại văn phòng"},
        {"node_code": "1.2", "inputs": {"numerator": k % 5, "denominator": 4}},
        {"node_code": "2.2", "inputs": {"option": if k.is_multiple_of(2) { "chairman" } else { "deputy" }}}
    ]})
}

/// Every commune's assessment id, in `COMMUNES` order.
pub async fn ids(app: &TestApp, admin: &str, period: &str) -> Vec<String> {
    let mut out = Vec::new();
    for code in COMMUNES {
        out.push(assessment_of(app, admin, period, code).await);
    }
    out
}

/// The unit at position `k` enters its answers.
pub async fn enter(app: &TestApp, a: &str, k: usize) {
    let editor = app.token_for(Role::UnitEditor, Some(COMMUNES[k]));
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/answers"),
            &editor,
            &answers(k),
        )
        .await,
        200,
    )
    .await;
}

/// The editor of `unit` writes the batch `answers` (`{"answers": [...]}`) to assessment `a`,
/// then the unit's leader submits it. Returns the submitted assessment.
pub async fn answer_and_submit(app: &TestApp, unit: &str, a: &str, answers: &Value) -> Value {
    let editor = app.token_for(Role::UnitEditor, Some(unit));
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/answers"),
            &editor,
            answers,
        )
        .await,
        200,
    )
    .await;
    let leader = app.token_for(Role::UnitLeader, Some(unit));
    let s = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(s["state"], "submitted");
    s
}

/// The unit at position `k` enters its answers and its leader submits.
pub async fn enter_and_submit(app: &TestApp, a: &str, k: usize) {
    answer_and_submit(app, COMMUNES[k], a, &answers(k)).await;
}

/// Every commune answers (k meetings chaired of 4), submits; returns assessment ids by code.
pub async fn fill_and_submit(app: &TestApp, period: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, code) in COMMUNES.iter().enumerate() {
        let editor = app.token_for(Role::UnitEditor, Some(code));
        let a = assessment_of(app, &editor, period, code).await;
        answer_and_submit(app, code, &a, &answers(k)).await;
        out.push((code.to_string(), a));
    }
    out
}

// --- Imports ---

pub async fn import(
    app: &TestApp,
    token: &str,
    period: &str,
    query: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/api/v1/periods/{period}/imports/answers{query}"),
        Some(token),
    )
    .header("content-type", "text/csv")
    .body(body)
    .send()
    .await
    .unwrap()
}

// --- Evidence ---

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

/// Two communes of one open period and the people who act on them (each test file fills
/// them with its own scenario): Bắc Hà (`a`) and Bát Xát (`b`), their assessments' ids.
pub struct TwoUnits<'a> {
    pub period: String,
    pub a: String,
    pub b: String,
    pub admin: Client<'a>,
    pub reviewer: Client<'a>,
    pub a_editor: Client<'a>,
    pub a_leader: Client<'a>,
    pub b_editor: Client<'a>,
    pub b_leader: Client<'a>,
}

/// How many times each scoring table (scores, bases, candidates) has been vacuumed.
pub fn scoring_vacuums(app: &TestApp) -> Vec<i64> {
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        ["assessment_scores", "assessment_bases", "relative_values"]
            .iter()
            .map(|t| {
                diesel::sql_query(format!(
                    "SELECT pg_stat_get_vacuum_count('{t}'::regclass) AS n"
                ))
                .get_result::<N>(c)
                .expect("vacuum count")
                .n
            })
            .collect()
    })
}

/// An import refused for cells A2:A3 merged in its data: rows 2 and 3 each a `MERGED_CELLS`
/// conflict, named at their first column, the region in the message.
pub fn assert_merged_a2_a3(p: &Value) {
    let merged: Vec<&Value> = p["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "MERGED_CELLS")
        .collect();
    assert_eq!(merged.len(), 2, "{p}");
    assert_eq!(
        (merged[0]["row"].clone(), merged[1]["row"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(merged[0]["column"], "unit_code");
    assert!(
        merged[0]["message"].as_str().unwrap().contains("A2:A3"),
        "{p}"
    );
}
