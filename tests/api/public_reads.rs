//! Public reads at portal scale: the bodies are the stored snapshot's, byte for byte, for
//! every version after many errata, with their gzip and brotli codings; a 304 has no body;
//! embargoes end on time; another replica sees a publication within the index refresh.

use std::io::Read;
use std::time::{Duration, Instant};

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{fill_and_submit, open_period};
use crate::helpers::*;

/// A period of the seeded communes, every assessment finalised, in the review phase.
async fn finalised_period(app: &TestApp) -> String {
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(app, &admin, |_| {}).await;
    let assessments = fill_and_submit(app, &period).await;
    transition(app, &admin, &period, "review").await;
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
    period
}

async fn publish(app: &TestApp, period: &str, body: Value) -> Value {
    let admin = app.token_for(Role::Admin, None);
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(&admin),
            &body,
        )
        .await,
        201,
    )
    .await
}

/// The stored row of a version, shaped as the rankings route has always shaped it: the
/// publication with its group code and content, serialised from a JSON value.
fn expected_rankings(app: &TestApp, period: &str, version: i32) -> Vec<u8> {
    let row: Value = app.with_conn(|c| {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            j: Value,
        }
        diesel::sql_query(
            "SELECT jsonb_build_object('id', p.id, 'period_id', p.period_id, 'group_code', g.code, \
               'version', p.version, 'checksum', p.checksum, 'changelog', p.changelog, \
               'content', p.content) AS j \
             FROM publications p JOIN ranking_groups g ON g.id = p.group_id \
             WHERE p.period_id = $1::uuid AND p.version = $2",
        )
        .bind::<diesel::sql_types::Text, _>(period)
        .bind::<diesel::sql_types::Int4, _>(version)
        .get_result::<Row>(c)
        .unwrap()
        .j
    });
    // the times as chrono writes them (the database's text form differs)
    let (visible_from, created_at) = app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::publications::dsl as p;
        p::publications
            .filter(p::period_id.eq(period.parse::<uuid::Uuid>().unwrap()))
            .filter(p::version.eq(version))
            .select((p::visible_from, p::created_at))
            .first::<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>(c)
            .unwrap()
    });
    let mut v = row;
    v["visible_from"] = serde_json::to_value(visible_from).unwrap();
    v["created_at"] = serde_json::to_value(created_at).unwrap();
    serde_json::to_vec(&v).unwrap()
}

async fn get_raw(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn after_thirty_errata_every_version_reads_as_stored_in_every_coding() {
    let app = spawn_seeded_app().await;
    let period = finalised_period(&app).await;
    publish(&app, &period, json!({"group": "LC-XA"})).await;
    for n in 2..=31 {
        publish(
            &app,
            &period,
            json!({"group": "LC-XA", "changelog": format!("Đính chính lần {n}")}),
        )
        .await;
    }
    for (query, version) in [
        ("", 31),
        ("?version=31", 31),
        ("?version=1", 1),
        ("?group=LC-XA&version=17", 17),
    ] {
        let path = format!("/api/v1/public/periods/{period}/rankings{query}");
        let expected = expected_rankings(&app, &period, version);
        let plain = get_raw(&app, &path, &[("accept-encoding", "identity")]).await;
        assert_eq!(plain.status(), 200);
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.headers()["content-type"], "application/json");
        assert_eq!(plain.headers()["cache-control"], "public, max-age=300");
        let vary = plain.headers()["vary"].to_str().unwrap();
        assert!(vary.contains("Accept-Encoding"), "{vary}");
        let body = plain.bytes().await.unwrap();
        assert!(
            body[..] == expected[..],
            "{path}: the bytes of the stored version"
        );

        let gz = get_raw(&app, &path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        assert_eq!(gunzip(&gz.bytes().await.unwrap()), expected, "{path} gzip");
        let br = get_raw(&app, &path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(br.headers()["content-encoding"], "br");
        assert_eq!(unbrotli(&br.bytes().await.unwrap()), expected, "{path} br");
    }

    // a unit's result of the latest version, and what the last errata changed (nothing)
    let stored: Value = serde_json::from_slice(&expected_rankings(&app, &period, 31)).unwrap();
    let content = &stored["content"];
    let entry = content["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"]["code"] == "XA-BAC-HA")
        .unwrap()
        .clone();
    let expected = serde_json::to_vec(&json!({
        "period": content["period"], "group": content["group"],
        "indicator_set": content["indicator_set"], "version": 31,
        "checksum": stored["checksum"], "result": entry, "change": null,
    }))
    .unwrap();
    let resp = get_raw(
        &app,
        &format!("/api/v1/public/periods/{period}/units/xa-bac-ha"),
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        etag,
        format!("\"{}:XA-BAC-HA\"", stored["checksum"].as_str().unwrap())
    );
    assert_eq!(gunzip(&resp.bytes().await.unwrap()), expected);

    // the periods list names every version, the latest with its checksum
    let listing = json_ok(app.get_public("/api/v1/public/periods").await, 200).await;
    let group = &listing[0]["groups"][0];
    assert_eq!(group["versions"].as_array().unwrap().len(), 31);
    assert_eq!(group["latest_version"], 31);
    assert_eq!(group["latest_checksum"], stored["checksum"]);
    let plain = get_raw(&app, "/api/v1/public/periods", &[]).await;
    assert_eq!(plain.headers()["cache-control"], "public, max-age=60");
}

#[tokio::test]
async fn a_304_has_no_body_for_the_rankings_and_a_unit_in_any_spelling() {
    let app = spawn_seeded_app().await;
    let period = finalised_period(&app).await;
    let v1 = publish(&app, &period, json!({"group": "LC-XA"})).await;
    let path = format!("/api/v1/public/periods/{period}/rankings");
    let etag = format!("\"{}\"", v1["checksum"].as_str().unwrap());
    for coding in ["identity", "gzip", "br"] {
        let resp = get_raw(
            &app,
            &path,
            &[("if-none-match", &etag), ("accept-encoding", coding)],
        )
        .await;
        assert_eq!(resp.status(), 304);
        assert_eq!(resp.headers()["etag"], etag.as_str());
        assert!(resp.headers().get("content-encoding").is_none());
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    let unit_tag = format!("\"{}:XA-BAC-HA\"", v1["checksum"].as_str().unwrap());
    for spelling in ["XA-BAC-HA", "xa-bac-ha"] {
        let resp = get_raw(
            &app,
            &format!("/api/v1/public/periods/{period}/units/{spelling}"),
            &[("if-none-match", &format!("\"other\", {unit_tag}"))],
        )
        .await;
        assert_eq!(resp.status(), 304, "{spelling}");
        assert_eq!(resp.headers()["etag"], unit_tag.as_str());
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    // another unit's tag is not this unit's
    let resp = get_raw(
        &app,
        &format!("/api/v1/public/periods/{period}/units/XA-BAT-XAT"),
        &[("if-none-match", &unit_tag)],
    )
    .await;
    assert_eq!(resp.status(), 200);
    // an errata changes the tag
    publish(
        &app,
        &period,
        json!({"group": "LC-XA", "changelog": "Đính chính"}),
    )
    .await;
    let resp = get_raw(&app, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(resp.status(), 200);
    let resp = get_raw(
        &app,
        &format!("/api/v1/public/periods/{period}/units/nope"),
        &[],
    )
    .await;
    assert_problem(resp, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn an_embargo_ends_on_its_time() {
    let app = spawn_seeded_app().await;
    let period = finalised_period(&app).await;
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(2500);
    publish(
        &app,
        &period,
        json!({"group": "LC-XA", "visible_from": at.to_rfc3339()}),
    )
    .await;
    let path = format!("/api/v1/public/periods/{period}/rankings");
    let unit = format!("/api/v1/public/periods/{period}/units/XA-BAC-HA");
    assert_problem(app.get_public(&path).await, 404, "NOT_FOUND").await;
    assert_problem(
        app.get_public(&format!("{path}?version=1")).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_problem(app.get_public(&unit).await, 404, "NOT_FOUND").await;
    assert_eq!(
        json_ok(app.get_public("/api/v1/public/periods").await, 200).await,
        json!([])
    );
    let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    assert!(wait > Duration::from_millis(500), "the test ran too slowly");
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    let v1 = json_ok(app.get_public(&path).await, 200).await;
    assert_eq!(v1["version"], 1);
    json_ok(app.get_public(&unit).await, 200).await;
    let listing = json_ok(app.get_public("/api/v1/public/periods").await, 200).await;
    assert_eq!(listing[0]["groups"][0]["latest_version"], 1);
}

#[tokio::test]
async fn another_replica_sees_a_new_publication_within_the_index_refresh() {
    let app = spawn_seeded_app().await;
    let period = finalised_period(&app).await;
    publish(&app, &period, json!({"group": "LC-XA"})).await;
    // (demo mode: the seeded accounts still have the demo password, which production refuses)
    let mut config = app.config.clone();
    config.mode = dti_api::config::Mode::Demo;
    let replica = spawn_replica(config).await;
    let path = format!("/api/v1/public/periods/{period}/rankings");
    let read = |app: &TestApp| {
        let url = app.url(&path);
        let client = app.client.clone();
        async move {
            let v: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            v["version"].clone()
        }
    };
    // the replica holds the index with version 1
    assert_eq!(read(&replica).await, 1);
    publish(
        &app,
        &period,
        json!({"group": "LC-XA", "changelog": "Đính chính"}),
    )
    .await;
    let published = Instant::now();
    assert_eq!(
        read(&app).await,
        2,
        "at once through the replica that published"
    );
    let bound = dti_api::api::public_cache::INDEX_REFRESH;
    loop {
        if read(&replica).await == 2 {
            break;
        }
        assert!(
            published.elapsed() < bound + Duration::from_millis(500),
            "the other replica still shows version 1 after {:?}",
            published.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listing: Value = replica
        .client
        .get(replica.url("/api/v1/public/periods"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing[0]["groups"][0]["latest_version"], 2);
}

// `DATABASE_READ_URL`: the public routes read from the read database, everything else from the
// primary. Here the "replica" is another app's database, with a publication the primary lacks.
#[tokio::test]
async fn with_a_read_replica_the_public_routes_read_from_it_and_nothing_else_does() {
    let other = spawn_seeded_app().await;
    let period = finalised_period(&other).await;
    let v1 = publish(&other, &period, json!({"group": "LC-XA"})).await;

    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.read_database = Some(dti_api::config::ReadDatabaseConfig {
        url: url_for_db(&other.db_name).into(),
        pool_size: 2,
        timeout_ms: 2000,
    });
    let app = spawn_app_with(config).await;
    // the public routes: the read database's publication, in every form
    let listing = json_ok(app.get_public("/api/v1/public/periods").await, 200).await;
    assert_eq!(
        listing[0]["id"].as_str(),
        Some(period.as_str()),
        "{listing}"
    );
    let path = format!("/api/v1/public/periods/{period}");
    let rankings = json_ok(app.get_public(&format!("{path}/rankings")).await, 200).await;
    assert_eq!(rankings["checksum"], v1["checksum"]);
    json_ok(
        app.get_public(&format!("{path}/units/XA-BAC-HA")).await,
        200,
    )
    .await;
    json_ok(app.get_public(&format!("{path}/method")).await, 200).await;
    let download = app.get_public(&format!("{path}/rankings/download")).await;
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["x-publication-checksum"],
        v1["checksum"].as_str().unwrap()
    );
    // the rest: the primary, which has neither the period nor the accounts of the other
    let admin = app.token_for(Role::Admin, None);
    assert_problem(
        app.get(&format!("/api/v1/periods/{period}/publications"), &admin)
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let theirs = other.token_for(Role::Admin, None);
    assert_problem(
        app.get("/api/v1/units", &theirs).await,
        401,
        "TOKEN_REVOKED",
    )
    .await;
    let units = json_ok(app.get("/api/v1/units", &admin).await, 200).await;
    assert_eq!(units["items"].as_array().map(Vec::len), Some(0), "{units}");
    // readiness checks both
    json_ok(app.get_public("/health/ready").await, 200).await;
}

// A read replica that does not answer: the public routes and readiness say so (503), the rest
// of the service works on the primary.
#[tokio::test]
async fn a_read_replica_that_does_not_answer_is_503_for_the_public_and_readiness_only() {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.read_database = Some(dti_api::config::ReadDatabaseConfig {
        url: url_for_db("dti_no_such_replica").into(),
        pool_size: 2,
        timeout_ms: 300,
    });
    let app = spawn_app_with(config).await;
    assert_problem(
        app.get_public("/api/v1/public/periods").await,
        503,
        "DATABASE_UNAVAILABLE",
    )
    .await;
    assert_problem(
        app.get_public("/health/ready").await,
        503,
        "DATABASE_UNAVAILABLE",
    )
    .await;
    let admin = app.token_for(Role::Admin, None);
    json_ok(app.get("/api/v1/units", &admin).await, 200).await;
    json_ok(app.get_public("/health/live").await, 200).await;
}
