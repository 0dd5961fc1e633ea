//! Evidence uploads: content-checked, size-limited, stored once, never leaking across units,
//! and nothing left behind by a refusal.

use dti_api::domain::Role;
use serde_json::json;

use crate::fixtures::{
    assessment_of, blob_rows, evidence_rows, files_under, open_period, pdf, put,
    race_uploads_and_deletes_of_the_same_content, refuse_bad_uploads, upload,
};
use crate::helpers::*;

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

/// Answers whose evidence count is not the number of their evidence items.
fn miscounted_answers(app: &TestApp) -> i64 {
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(
            "SELECT count(*) AS n FROM answers a \
             WHERE a.evidence_count <> (SELECT count(*) FROM evidence e WHERE e.answer_id = a.id)",
        )
        .get_result::<N>(c)
        .unwrap()
        .n
    })
}

/// Scoring reads whether an answer has evidence from the answer itself: an answer write
/// completes while another transaction holds the evidence table locked (it used to join the
/// whole table on every write), and still counts the evidence attached.
#[tokio::test]
async fn an_answer_write_scores_evidence_without_reading_the_evidence_table() {
    use diesel::{Connection, connection::SimpleConnection};
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.as_role(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, editor.token(), &period, "XA-BAC-HA").await;
    editor
        .put_answer(&a, "1.1", json!({"inputs": {"value": 4}}))
        .ok()
        .await;
    let doc = json!({"doc_number": "125/QĐ-UBND", "doc_date": "2025-03-14",
                     "doc_issuer": "UBND xã Bắc Hà"});
    editor.add_evidence(&a, "1.1", doc).created().await;

    let mut locker = diesel::PgConnection::establish(app.database_url()).unwrap();
    locker
        .batch_execute("BEGIN; LOCK TABLE evidence IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let written = editor
        .put_answer(&a, "1.1", json!({"inputs": {"value": 3}}))
        .send();
    let written = tokio::time::timeout(std::time::Duration::from_secs(20), written).await;
    locker.batch_execute("ROLLBACK").unwrap();
    let w = json_ok(
        written.expect("the write waited for the evidence table's lock"),
        200,
    )
    .await;
    assert_eq!(
        w["score"]["self_points"], "15",
        "3 meetings with evidence attached → 15"
    );
    assert_eq!(miscounted_answers(&app), 0);
}

/// Each answer's evidence count follows its items however they come and go: one at a time,
/// many in one statement, moved to another answer, removed with their answer.
#[tokio::test]
async fn evidence_counts_follow_every_way_items_come_and_go() {
    use diesel::connection::SimpleConnection;
    let app = spawn_seeded_app().await;
    let admin = app.as_role(Role::Admin, None);
    let (period, _) = open_period(&app, admin.token(), |_| {}).await;
    let editor = app.as_role(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, editor.token(), &period, "XA-BAC-HA").await;
    for (code, inputs) in [
        ("1.1", json!({"value": 4})),
        ("1.2", json!({"numerator": 3, "denominator": 4})),
    ] {
        editor
            .put_answer(&a, code, json!({"inputs": inputs}))
            .ok()
            .await;
    }
    let doc = json!({"doc_number": "7/KH-UBND", "doc_date": "2025-01-02",
                     "doc_issuer": "UBND xã Bắc Hà"});
    let first = editor.add_evidence(&a, "1.1", doc.clone()).created().await;
    editor.add_evidence(&a, "1.1", doc).created().await;
    assert_eq!(miscounted_answers(&app), 0);
    let counts = |app: &TestApp| -> Vec<i32> {
        app.with_conn(|c| {
            use diesel::prelude::*;
            use dti_api::db::schema::answers;
            answers::table
                .filter(answers::assessment_id.eq(a.parse::<uuid::Uuid>().unwrap()))
                .order(answers::evidence_count.desc())
                .select(answers::evidence_count)
                .load(c)
                .unwrap()
        })
    };
    assert_eq!(counts(&app), vec![2, 0]);

    // many at once, one moved to another answer, then one removed
    let first = first["id"].as_str().unwrap();
    app.with_conn(|c| {
        c.batch_execute(&format!(
            "INSERT INTO evidence (id, answer_id, kind, url)
             SELECT gen_random_uuid(), a.id, 'url', 'https://example.org/' || g
             FROM answers a, generate_series(1, 3) g WHERE a.assessment_id = '{a}';
             UPDATE evidence SET answer_id = (SELECT id FROM answers
                                               WHERE assessment_id = '{a}'
                                               ORDER BY evidence_count LIMIT 1)
              WHERE id = '{first}';"
        ))
        .unwrap()
    });
    assert_eq!(counts(&app), vec![4, 4]);
    assert_eq!(miscounted_answers(&app), 0);
    editor.delete_evidence(first).expect(204).await;
    assert_eq!(counts(&app), vec![4, 3]);

    // removed with their answer (the items go by cascade): nothing left miscounted
    app.with_conn(|c| {
        c.batch_execute(&format!(
            "DELETE FROM answers WHERE assessment_id = '{a}' AND evidence_count = 3"
        ))
        .unwrap()
    });
    assert_eq!(counts(&app), vec![4]);
    assert_eq!(miscounted_answers(&app), 0);
    // the rows above changed behind the service's back: a recompute brings the scores along
    // (the harness checks that stored and recomputed results agree at the end)
    admin.recompute(&period).ok().await;
}
