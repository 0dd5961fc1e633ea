//! `Idempotency-Key` on bulk and import calls: replay, reuse, refusals stored nothing, per
//! caller, concurrency, expiry.

use diesel::prelude::*;
use dti_api::domain::Role;
use futures_util::FutureExt;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_period};
use crate::helpers::*;

fn batch_path(assessment: &str) -> String {
    format!("/api/v1/assessments/{assessment}/answers")
}

async fn keyed_put(app: &TestApp, token: &str, path: &str, key: &str, body: &Value) -> Response {
    app.request(Method::PUT, path, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn replayed(resp: &Response) -> bool {
    resp.headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

/// (status, replayed, raw body)
async fn outcome(resp: Response) -> (u16, bool, String) {
    let status = resp.status().as_u16();
    let replayed = replayed(&resp);
    (status, replayed, resp.text().await.unwrap())
}

async fn audit_count(app: &TestApp, admin: &str, period: &str) -> u64 {
    let trail = json_ok(
        app.get(
            &format!("/api/v1/audit-events?action=answer.upsert&period_id={period}"),
            admin,
        )
        .await,
        200,
    )
    .await;
    trail["total"].as_u64().unwrap()
}

fn stored_keys(app: &TestApp) -> i64 {
    app.with_conn(|c| {
        dti_api::db::schema::idempotency_keys::table
            .count()
            .get_result::<i64>(c)
            .unwrap()
    })
}

fn good_batch() -> Value {
    json!({"answers": [
        {"node_code": "1.1", "inputs": {"value": 4}, "explanation": "Biên bản họp chưa số hóa"},
        {"node_code": "2.2", "inputs": {"option": "chairman"}}
    ]})
}

#[tokio::test]
async fn a_repeated_batch_with_the_same_key_replays_the_first_response_and_writes_nothing() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;

    let (status, was_replayed, first) = outcome(
        keyed_put(
            &app,
            &editor,
            &batch_path(&a),
            "batch-2025-001",
            &good_batch(),
        )
        .await,
    )
    .await;
    assert_eq!((status, was_replayed), (200, false), "{first}");
    let first_json: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first_json["answers"][0]["version"], 1);
    assert_eq!(audit_count(&app, &admin, &period).await, 2);

    let (status, was_replayed, second) = outcome(
        keyed_put(
            &app,
            &editor,
            &batch_path(&a),
            "batch-2025-001",
            &good_batch(),
        )
        .await,
    )
    .await;
    assert_eq!((status, was_replayed), (200, true));
    assert_eq!(second, first, "the replay is the first body, byte for byte");

    // the same JSON with other spacing is the same request
    let spaced = serde_json::to_string_pretty(&good_batch()).unwrap();
    let resp = app
        .request(Method::PUT, &batch_path(&a), Some(&editor))
        .header("Idempotency-Key", "batch-2025-001")
        .header("content-type", "application/json")
        .body(spaced)
        .send()
        .await
        .unwrap();
    let (status, was_replayed, third) = outcome(resp).await;
    assert_eq!((status, was_replayed, third), (200, true, first));

    // nothing was written again: no new audit event, answers still at version 1
    assert_eq!(audit_count(&app, &admin, &period).await, 2);
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    for answer in got["answers"].as_array().unwrap() {
        assert_eq!(answer["version"], 1, "{answer}");
    }

    // without a key the batch runs again (answers move to version 2)
    let w = json_ok(
        app.put_json(&batch_path(&a), &editor, &good_batch()).await,
        200,
    )
    .await;
    assert_eq!(w["answers"][0]["version"], 2);
    assert_eq!(stored_keys(&app), 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_with_422() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    json_ok(
        keyed_put(&app, &editor, &batch_path(&a), "k-1", &good_batch()).await,
        200,
    )
    .await;
    let mut other = good_batch();
    other["answers"][0]["inputs"]["value"] = json!(3);
    assert_problem(
        keyed_put(&app, &editor, &batch_path(&a), "k-1", &other).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    // the other batch was not written
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    let a11 = got["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["node_code"] == "1.1")
        .unwrap()
        .clone();
    assert_eq!(a11["inputs"]["value"], "4");
    assert_eq!(a11["version"], 1);
    assert_eq!(audit_count(&app, &admin, &period).await, 2);
}

#[tokio::test]
async fn a_refused_batch_stores_nothing_and_may_be_retried_fixed_with_the_same_key() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let bad = json!({"answers": [
        {"node_code": "1.1", "inputs": {"value": 4}, "explanation": "x"},
        {"node_code": "2.2", "inputs": {"option": "nobody"}}
    ]});
    // refused twice in the same way: the refusal is not replayed, it is re-checked
    for _ in 0..2 {
        let resp = keyed_put(&app, &editor, &batch_path(&a), "retry-me", &bad).await;
        assert!(!replayed(&resp));
        assert_problem(resp, 422, "INVALID_INPUT").await;
    }
    assert_eq!(stored_keys(&app), 0, "a refused write stores no key");
    // a body the JSON extractor refuses stores nothing either
    assert_problem(
        keyed_put(
            &app,
            &editor,
            &batch_path(&a),
            "retry-me",
            &json!({"answers": "x"}),
        )
        .await,
        422,
        "INVALID_BODY",
    )
    .await;
    let (status, was_replayed, body) =
        outcome(keyed_put(&app, &editor, &batch_path(&a), "retry-me", &good_batch()).await).await;
    assert_eq!((status, was_replayed), (200, false), "{body}");
    assert_eq!(audit_count(&app, &admin, &period).await, 2);
    assert_eq!(stored_keys(&app), 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let colleague = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let key = "shared-key";
    let (_, was_replayed, _) =
        outcome(keyed_put(&app, &editor, &batch_path(&a), key, &good_batch()).await).await;
    assert!(!was_replayed);
    // another account of the same unit, same key, same request: its own, so it runs
    let resp = keyed_put(&app, &colleague, &batch_path(&a), key, &good_batch()).await;
    assert!(!replayed(&resp));
    let w = json_ok(resp, 200).await;
    assert_eq!(w["answers"][0]["version"], 2);
    // and a different request under the same key is not "reused" for that account either
    let mut other = good_batch();
    other["answers"][0]["inputs"]["value"] = json!(2);
    let editor_b = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    json_ok(
        keyed_put(&app, &editor_b, &batch_path(&a), key, &other).await,
        200,
    )
    .await;

    // an integration token has no account: its keys are its own too
    let created = json_ok(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&admin),
            &json!({"name": "Cổng DVC", "scopes": ["automatic:write"], "period_id": period}),
        )
        .await,
        201,
    )
    .await;
    let token = created["token"].as_str().unwrap().to_string();
    let measured =
        json!({"answers": [{"node_code": "2.1", "inputs": {"numerator": 60, "denominator": 100}}]});
    let (status, was_replayed, first) =
        outcome(keyed_put(&app, &token, &batch_path(&a), key, &measured).await).await;
    assert_eq!((status, was_replayed), (200, false), "{first}");
    let (status, was_replayed, again) =
        outcome(keyed_put(&app, &token, &batch_path(&a), key, &measured).await).await;
    assert_eq!((status, was_replayed, again), (200, true, first));
    let token_rows: i64 = app.with_conn(|c| {
        use dti_api::db::schema::idempotency_keys::dsl::*;
        idempotency_keys
            .filter(token_id.is_not_null())
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(token_rows, 1);
    assert_eq!(stored_keys(&app), 4);
}

#[tokio::test]
async fn malformed_keys_are_refused_with_400() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let too_long = "k".repeat(201);
    for bad in ["", "\"\"", too_long.as_str()] {
        assert_problem(
            keyed_put(&app, &editor, &batch_path(&a), bad, &good_batch()).await,
            400,
            "IDEMPOTENCY_KEY_INVALID",
        )
        .await;
    }
    // not ASCII
    let resp = app
        .request(Method::PUT, &batch_path(&a), Some(&editor))
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes("khóa".as_bytes()).unwrap(),
        )
        .json(&good_batch())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "IDEMPOTENCY_KEY_INVALID").await;
    // two keys
    let resp = app
        .request(Method::PUT, &batch_path(&a), Some(&editor))
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&good_batch())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "IDEMPOTENCY_KEY_INVALID").await;
    assert_eq!(audit_count(&app, &admin, &period).await, 0);

    // 200 characters are fine, and the quoted form of a key (IETF draft) is the same key
    let longest = "k".repeat(200);
    json_ok(
        keyed_put(&app, &editor, &batch_path(&a), &longest, &good_batch()).await,
        200,
    )
    .await;
    let first = json_ok(
        keyed_put(
            &app,
            &editor,
            &batch_path(&a),
            "8e03978e-40d5",
            &good_batch(),
        )
        .await,
        200,
    )
    .await;
    let resp = keyed_put(
        &app,
        &editor,
        &batch_path(&a),
        "\"8e03978e-40d5\"",
        &good_batch(),
    )
    .await;
    assert!(replayed(&resp));
    assert_eq!(json_ok(resp, 200).await, first);
}

#[tokio::test]
async fn concurrent_duplicates_run_once() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let path = batch_path(&a);
    let body = good_batch();
    let sends = (0..4).map(|_| keyed_put(&app, &editor, &path, "at-once", &body));
    let results = futures_util::future::join_all(sends).await;
    let mut fresh = Vec::new();
    let mut replays = Vec::new();
    for resp in results {
        let (status, was_replayed, text) = outcome(resp).await;
        match (status, was_replayed) {
            (200, false) => fresh.push(text),
            (200, true) => replays.push(text),
            (409, false) => {
                let p: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(p["code"], "IDEMPOTENCY_KEY_IN_USE", "{p}");
            }
            other => panic!("unexpected {other:?}: {text}"),
        }
    }
    assert_eq!(fresh.len(), 1, "exactly one request ran");
    assert!(replays.iter().all(|r| *r == fresh[0]));
    assert_eq!(audit_count(&app, &admin, &period).await, 2);
}

#[tokio::test]
async fn keys_expire_after_24_hours() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    json_ok(
        keyed_put(&app, &editor, &batch_path(&a), "old", &good_batch()).await,
        200,
    )
    .await;
    app.with_conn(|c| {
        diesel::sql_query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
            .execute(c)
            .unwrap()
    });
    // forgotten: the same key runs again (and the expired row is gone)
    let resp = keyed_put(&app, &editor, &batch_path(&a), "old", &good_batch()).await;
    assert!(!replayed(&resp));
    let w = json_ok(resp, 200).await;
    assert_eq!(w["answers"][0]["version"], 2);
    assert_eq!(stored_keys(&app), 1);
}

#[tokio::test]
async fn an_indicator_set_import_replays_its_201_with_location_and_etag() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let doc = dti_api::api::indicator_sets::example_document();
    let send = |key: &'static str, doc: Value| {
        app.request(Method::POST, "/api/v1/indicator-sets", Some(&admin))
            .header("Idempotency-Key", key)
            .json(&doc)
            .send()
    };
    let first = send("import-vd-xa-100", doc.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    assert!(!replayed(&first));
    let location = first.headers()["location"].clone();
    let etag = first.headers()["etag"].clone();
    let first_body = first.text().await.unwrap();

    let again = send("import-vd-xa-100", doc.clone()).await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert!(replayed(&again));
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["etag"], etag);
    assert_eq!(again.text().await.unwrap(), first_body);

    // without the key, the repeat is refused as a duplicate version
    assert_problem(
        app.post_json("/api/v1/indicator-sets", Some(&admin), &doc)
            .await,
        409,
        "SET_VERSION_EXISTS",
    )
    .await;
    // a different document under the same key
    let mut other = doc.clone();
    other["version"] = json!(2);
    assert_problem(
        send("import-vd-xa-100", other.clone()).await.unwrap(),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    // an invalid document stores nothing; fixed, it is imported under the same key
    let mut invalid = other.clone();
    invalid["scale"] = json!("-1");
    assert_problem(
        send("import-v2", invalid).await.unwrap(),
        422,
        "INVALID_SET_DOCUMENT",
    )
    .await;
    let v2 = send("import-v2", other).await.unwrap();
    assert_eq!(v2.status().as_u16(), 201);
    assert!(!replayed(&v2));
}

#[tokio::test]
async fn replacing_ranking_group_members_takes_a_key() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let group = json_ok(app.get("/api/v1/ranking-groups/LC-XA", &admin).await, 200).await;
    let members: Vec<Value> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].clone())
        .collect();
    let body = json!({"units": members});
    let path = "/api/v1/ranking-groups/LC-XA/members";
    let (status, was_replayed, first) =
        outcome(keyed_put(&app, &admin, path, "m-1", &body).await).await;
    assert_eq!((status, was_replayed), (200, false), "{first}");
    let (status, was_replayed, again) =
        outcome(keyed_put(&app, &admin, path, "m-1", &body).await).await;
    assert_eq!((status, was_replayed, again), (200, true, first));
}

#[tokio::test]
async fn a_duplicate_waits_for_the_first_and_never_fails_with_a_500() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let (user, editor) = app.user_and_token(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    // Another transaction holds the key (as a first request still running would).
    let hold = || {
        let mut c = PgConnection::establish(app.database_url()).unwrap();
        diesel::sql_query("BEGIN").execute(&mut c).unwrap();
        diesel::sql_query(
            "INSERT INTO idempotency_keys (key, user_id, request_hash, response_status, response_body)
             VALUES ('held', $1, 'in flight', 0, 'null')",
        )
        .bind::<diesel::sql_types::Uuid, _>(user.id)
        .execute(&mut c)
        .unwrap();
        c
    };

    // still held after the wait: a clear, retryable 409
    let mut holder = hold();
    let resp = keyed_put(&app, &editor, &batch_path(&a), "held", &good_batch()).await;
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_problem(resp, 409, "IDEMPOTENCY_KEY_IN_USE").await;
    diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
    assert_eq!(audit_count(&app, &admin, &period).await, 0);

    // the holder fails (rolls back) while the duplicate waits: the duplicate runs
    let mut holder = hold();
    let path = batch_path(&a);
    let body = good_batch();
    let waiting = keyed_put(&app, &editor, &path, "held", &body);
    let rollback = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
    };
    let (resp, ()) = tokio::join!(waiting, rollback);
    assert!(!replayed(&resp));
    json_ok(resp, 200).await;
    assert_eq!(audit_count(&app, &admin, &period).await, 2);
}

// ---------------------------------------------------------------------------------------------
// Calls that create something new on every call
// ---------------------------------------------------------------------------------------------

async fn keyed_post(app: &TestApp, token: &str, path: &str, key: &str, body: &Value) -> Response {
    app.request(Method::POST, path, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Sends `send` twice under one key: the first runs (201), the second is its replay, byte for
/// byte, with the headers its body determines. Returns the first body.
async fn created_once<F, Fut>(send: F, headers: &[&str]) -> Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let first = send().await;
    assert!(!replayed(&first));
    let first_headers: Vec<_> = headers
        .iter()
        .map(|h| first.headers().get(*h).cloned())
        .collect();
    let (status, _, first_body) = outcome(first).await;
    assert_eq!(status, 201, "{first_body}");
    let again = send().await;
    assert!(replayed(&again), "the repeat is a replay");
    for (h, value) in headers.iter().zip(&first_headers) {
        assert!(value.is_some(), "{h} is sent");
        assert_eq!(again.headers().get(*h), value.as_ref(), "{h} is replayed");
    }
    let (status, _, again_body) = outcome(again).await;
    assert_eq!(
        (status, again_body.as_str()),
        (201, first_body.as_str()),
        "the replay is the first response"
    );
    serde_json::from_str(&first_body).unwrap()
}

async fn total(app: &TestApp, token: &str, path: &str) -> u64 {
    json_ok(app.get(path, token).await, 200).await["total"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_new_indicator_set_version_is_made_once_per_key() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let doc = dti_api::api::indicator_sets::example_document();
    let v1 = json_ok(
        app.post_json("/api/v1/indicator-sets", Some(&admin), &doc)
            .await,
        201,
    )
    .await;
    let v1_id = v1["id"].as_str().unwrap().to_string();
    let versions_of = format!("/api/v1/indicator-sets/{v1_id}/versions");
    let send = || {
        app.request(Method::POST, &versions_of, Some(&admin))
            .header("Idempotency-Key", "new-version-2026")
            .send()
            .map(Result::unwrap)
    };
    let v2 = created_once(send, &["location", "etag"]).await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["based_on_id"], v1["id"]);
    let listed = "/api/v1/indicator-sets?code=VD-XA-100";
    assert_eq!(total(&app, &admin, listed).await, 2, "one new version");

    // the same key for another request (cloning another version) is refused
    let v2_id = v2["id"].as_str().unwrap();
    let resp = app
        .request(
            Method::POST,
            &format!("/api/v1/indicator-sets/{v2_id}/versions"),
            Some(&admin),
        )
        .header("Idempotency-Key", "new-version-2026")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422, "IDEMPOTENCY_KEY_REUSED").await;
    assert_eq!(total(&app, &admin, listed).await, 2);

    // without a key every call makes a version, as before
    let v3 = json_ok(
        app.post_json(&versions_of, Some(&admin), &json!({})).await,
        201,
    )
    .await;
    assert_eq!(v3["version"], 3);
    assert_eq!(total(&app, &admin, listed).await, 3);
}

#[tokio::test]
async fn publishing_with_a_key_makes_one_version_and_an_errata_needs_a_new_key() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let assessments = crate::fixtures::fill_and_submit(&app, &period).await;
    transition(&app, &admin, &period, "review").await;
    for (_, a) in &assessments {
        json_ok(
            app.post_json(
                &format!("/api/v1/assessments/{a}/finalise"),
                Some(&reviewer),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
    }
    let path = format!("/api/v1/periods/{period}/publications");
    let body = json!({"group": "LC-XA", "visible_from": "2026-02-01T01:00:00Z"});
    let first = created_once(
        || keyed_post(&app, &admin, &path, "publish-lc-xa", &body),
        &[],
    )
    .await;
    assert_eq!(first["version"], 1);
    let published = || async {
        json_ok(app.get(&path, &admin).await, 200)
            .await
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(published().await, 1, "published once");

    // an errata under the same key is another request
    let errata = json!({"group": "LC-XA", "changelog": "Sửa điểm chỉ số 1.2 của xã Bắc Hà"});
    assert_problem(
        keyed_post(&app, &admin, &path, "publish-lc-xa", &errata).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(published().await, 1);
    // a new key publishes it, once
    let second = created_once(|| keyed_post(&app, &admin, &path, "errata-1", &errata), &[]).await;
    assert_eq!(second["version"], 2);
    assert_eq!(published().await, 2);
    // without a key every call publishes, as before
    let third = json_ok(app.post_json(&path, Some(&admin), &errata).await, 201).await;
    assert_eq!(third["version"], 3);
    assert_eq!(published().await, 3);
}

#[tokio::test]
async fn creating_a_period_with_a_key_replays_it_instead_of_code_taken() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let doc = dti_api::api::indicator_sets::example_document();
    let set_id = crate::fixtures::active_set(&app, &admin, &doc).await;
    let body = json!({"code": "DTI-2025", "name": "Đánh giá DTI năm 2025", "data_year": 2025,
                      "groups": [{"group": "LC-XA", "indicator_set": set_id}]});
    let created = created_once(
        || keyed_post(&app, &admin, "/api/v1/periods", "period-2025", &body),
        &[],
    )
    .await;
    assert_eq!(created["code"], "DTI-2025");
    assert_eq!(created["groups"][0]["group_code"], "LC-XA");
    assert_eq!(total(&app, &admin, "/api/v1/periods").await, 1);

    let mut other = body.clone();
    other["name"] = json!("Đánh giá DTI 2025 (sửa)");
    assert_problem(
        keyed_post(&app, &admin, "/api/v1/periods", "period-2025", &other).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    // without a key the repeat is refused as before
    assert_problem(
        app.post_json("/api/v1/periods", Some(&admin), &body).await,
        409,
        "CODE_TAKEN",
    )
    .await;
    assert_eq!(total(&app, &admin, "/api/v1/periods").await, 1);
}

#[tokio::test]
async fn clarifications_and_their_messages_are_added_once_per_key() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let reviewer = app.token_for(Role::Reviewer, None);
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let threads_path = format!("/api/v1/assessments/{a}/clarifications");
    let threads = || async {
        json_ok(app.get(&threads_path, &reviewer).await, 200)
            .await
            .as_array()
            .unwrap()
            .clone()
    };

    let ask = json!({"node_code": "1.2", "message": "Đề nghị bổ sung biên bản họp ngày 15/10"});
    let opened = created_once(
        || keyed_post(&app, &reviewer, &threads_path, "ask-1.2", &ask),
        &[],
    )
    .await;
    assert_eq!(threads().await.len(), 1, "one thread");
    let mut other = ask.clone();
    other["message"] = json!("Câu hỏi khác");
    assert_problem(
        keyed_post(&app, &reviewer, &threads_path, "ask-1.2", &other).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(threads().await.len(), 1);

    // the unit's answer, sent twice under one key (a double click)
    let cl = opened["id"].as_str().unwrap();
    let messages_path = format!("/api/v1/clarifications/{cl}/messages");
    let answer = json!({"message": "Đã bổ sung biên bản"});
    let (status, was_replayed, first) =
        outcome(keyed_post(&app, &editor, &messages_path, "answer-1", &answer).await).await;
    assert_eq!((status, was_replayed), (200, false), "{first}");
    let (status, was_replayed, again) =
        outcome(keyed_post(&app, &editor, &messages_path, "answer-1", &answer).await).await;
    assert_eq!(
        (status, was_replayed, again.as_str()),
        (200, true, first.as_str())
    );
    let messages = |t: &[Value]| t[0]["messages"].as_array().unwrap().len();
    assert_eq!(messages(&threads().await), 2, "the question and one answer");
    // without a key every call adds a message, as before
    json_ok(
        app.post_json(&messages_path, Some(&editor), &answer).await,
        200,
    )
    .await;
    assert_eq!(messages(&threads().await), 3);
    // without a key a thread is opened on every call, as before
    json_ok(
        app.post_json(&threads_path, Some(&reviewer), &ask).await,
        201,
    )
    .await;
    assert_eq!(threads().await.len(), 2);
}

#[tokio::test]
async fn evidence_is_attached_once_per_key_whatever_the_form_boundary() {
    use reqwest::multipart::{Form, Part};
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let path = format!("/api/v1/assessments/{a}/answers/1.1/evidence");
    let count = || async {
        json_ok(app.get(&path, &editor).await, 200)
            .await
            .as_array()
            .unwrap()
            .len()
    };

    let reference = json!({"doc_number": "125/QĐ-UBND", "doc_date": "2025-03-14",
                           "doc_issuer": "UBND xã Bắc Hà"});
    created_once(
        || keyed_post(&app, &editor, &path, "ref-125", &reference),
        &[],
    )
    .await;
    assert_eq!(count().await, 1);

    // a file: each send has its own multipart boundary, yet it is the same request
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec();
    let upload = |key: &'static str, description: &'static str| {
        let form = Form::new()
            .part("file", Part::bytes(pdf.clone()).file_name("bien-ban.pdf"))
            .text("description", description);
        app.request(Method::POST, &path, Some(&editor))
            .header("Idempotency-Key", key)
            .multipart(form)
            .send()
            .map(Result::unwrap)
    };
    let file = created_once(|| upload("file-1", "Biên bản họp"), &[]).await;
    assert_eq!(file["kind"], "file");
    assert_eq!(count().await, 2);
    assert_problem(
        upload("file-1", "Biên bản khác").await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_problem(
        keyed_post(&app, &editor, &path, "file-1", &reference).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(count().await, 2);
    // without a key every call attaches, as before
    json_ok(app.post_json(&path, Some(&editor), &reference).await, 201).await;
    assert_eq!(count().await, 3);
}

#[tokio::test]
async fn units_and_ranking_groups_are_created_once_per_key() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let unit = json!({"code": "LC-XA-BAO-THANG", "name": "Xã Bảo Thắng", "kind": "commune",
                      "parent": "LC", "groups": ["LC-XA"]});
    let created = created_once(
        || keyed_post(&app, &admin, "/api/v1/units", "unit-bao-thang", &unit),
        &["etag"],
    )
    .await;
    assert_eq!(created["code"], "LC-XA-BAO-THANG");
    assert_problem(
        app.post_json("/api/v1/units", Some(&admin), &unit).await,
        409,
        "CODE_TAKEN",
    )
    .await;
    let mut other = unit.clone();
    other["name"] = json!("Xã Bảo Thắng (mới)");
    assert_problem(
        keyed_post(&app, &admin, "/api/v1/units", "unit-bao-thang", &other).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;

    let group = json!({"code": "LC-DANG-XA", "name": "Đảng ủy xã, phường tỉnh Lào Cai",
                       "unit_kind": "party_body"});
    created_once(
        || keyed_post(&app, &admin, "/api/v1/ranking-groups", "group-so", &group),
        &[],
    )
    .await;
    assert_problem(
        app.post_json("/api/v1/ranking-groups", Some(&admin), &group)
            .await,
        409,
        "CODE_TAKEN",
    )
    .await;
}
