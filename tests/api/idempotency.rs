//! `Idempotency-Key` on bulk and import calls: replay, reuse, refusals stored nothing, per
//! caller, concurrency, expiry.

use diesel::prelude::*;
use dti_api::domain::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::assessments::{assessment_of, open_period};
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
        let mut c = PgConnection::establish(app.config.database_url.as_deref().unwrap()).unwrap();
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
