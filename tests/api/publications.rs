//! Publication: immutable snapshots with checksums, embargo, errata versions, public reads with
//! ETag/304, and nothing unpublished visible.

use dti_api::api::public_snapshot::{
    Snapshot, SnapshotChange, SnapshotEntry, SnapshotGroup, SnapshotPeriod, SnapshotSet,
};
use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{fill_and_submit, open_period};
use crate::helpers::*;

#[tokio::test]
async fn publish_read_publicly_with_etags_and_publish_an_errata() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let assessments = fill_and_submit(&app, &period).await;
    let path = format!("/api/v1/periods/{period}/publications");
    let publish = |body: Value| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };

    assert_problem(
        publish(json!({"group": "LC-XA"})).await.unwrap(),
        409,
        "PHASE_CLOSED",
    )
    .await;
    transition(&app, &admin, &period, "review").await;
    let p = assert_problem(
        publish(json!({"group": "LC-XA"})).await.unwrap(),
        409,
        "NOT_ALL_FINALISED",
    )
    .await;
    assert_eq!(p["units"].as_array().unwrap().len(), 10);
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
    // nothing is public before publication
    let anon = app.get_public("/api/v1/public/periods").await;
    assert_eq!(json_ok(anon, 200).await, json!([]));
    let resp = app
        .get_public(&format!("/api/v1/public/periods/{period}/rankings"))
        .await;
    assert_problem(resp, 404, "NOT_FOUND").await;

    let v1 = json_ok(publish(json!({"group": "LC-XA"})).await.unwrap(), 201).await;
    assert_eq!(v1["version"], 1);
    // the checksum is the SHA-256 of the canonical content
    use sha2::Digest;
    let canonical = serde_json::to_string(&v1["content"]).unwrap();
    assert_eq!(
        v1["checksum"],
        hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
    );
    // the best is PHUONG-NGHIA-LO (k = 4): 4 meetings → 20, 4/4 → 20, chairman → 20 = 60
    let rankings = &v1["content"]["rankings"];
    assert_eq!(rankings[0]["unit"]["code"], "PHUONG-NGHIA-LO");
    assert_eq!(rankings[0]["points"], "60");
    assert_eq!(rankings[0]["index"], "0.6000");
    assert_eq!(rankings[0]["rank"], 1);

    // public reads, with ETag and 304
    let listing = json_ok(app.get_public("/api/v1/public/periods").await, 200).await;
    assert_eq!(listing[0]["groups"][0]["latest_version"], 1);
    let resp = app
        .get_public(&format!("/api/v1/public/periods/{period}/rankings"))
        .await;
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let body = json_ok(resp, 200).await;
    assert_eq!(body["checksum"], v1["checksum"]);
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/public/periods/{period}/rankings")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let unit = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/units/XA-BAC-HA"))
            .await,
        200,
    )
    .await;
    assert_eq!(unit["result"]["unit"]["code"], "XA-BAC-HA");
    assert!(unit["result"]["main_indicators"].as_array().unwrap().len() == 2);
    let snapshot = typed_snapshot(&body["content"]);
    assert!(
        snapshot.changes.is_none(),
        "a first version changes nothing"
    );
    assert_eq!(snapshot.rankings.len(), rankings.as_array().unwrap().len());
    typed_unit_result(&unit);
    let resp = app
        .get_public(&format!("/api/v1/public/periods/{period}/units/NO-SUCH"))
        .await;
    assert_problem(resp, 404, "NOT_FOUND").await;

    // errata: reopen one unit, correct it, finalise, publish version 2 with a changelog
    let bac_ha = &assessments
        .iter()
        .find(|(c, _)| c == "XA-BAC-HA")
        .unwrap()
        .1;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bac_ha}/reopen"),
            Some(&admin),
            &json!({"reason": "Sai số liệu 1.2"}),
        )
        .await,
        200,
    )
    .await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{bac_ha}/answers/1.2"),
            &editor,
            &json!({"inputs": {"numerator": 4, "denominator": 4}}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bac_ha}/submit"),
            Some(&leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bac_ha}/finalise"),
            Some(&reviewer),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        publish(json!({"group": "LC-XA"})).await.unwrap(),
        422,
        "VALIDATION_FAILED",
    )
    .await;
    let v2 = json_ok(
        publish(json!({"group": "LC-XA", "changelog": "Đính chính chỉ số 1.2 của Xã Bắc Hà"}))
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(v2["version"], 2);
    assert_ne!(v2["checksum"], v1["checksum"]);
    let latest = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/rankings"))
            .await,
        200,
    )
    .await;
    assert_eq!(latest["version"], 2);
    let errata = typed_snapshot(&latest["content"]);
    assert_eq!(errata.changes.as_ref().map(|c| c.since_version), Some(1));
    let unit = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/units/XA-BAC-HA"))
            .await,
        200,
    )
    .await;
    typed_unit_result(&unit);
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/public/periods/{period}/rankings")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the old ETag no longer matches");
    let old = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/rankings?version=1"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(
        old["checksum"], v1["checksum"],
        "version 1 stays readable, unchanged"
    );
    assert_eq!(old["content"], v1["content"]);

    // an embargoed version is not public before its time
    let later = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    json_ok(
        publish(
            json!({"group": "LC-XA", "changelog": "Bản công bố chính thức", "visible_from": later}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    let latest = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/rankings"))
            .await,
        200,
    )
    .await;
    assert_eq!(latest["version"], 2);
    let resp = app
        .get_public(&format!(
            "/api/v1/public/periods/{period}/rankings?version=3"
        ))
        .await;
    assert_problem(resp, 404, "NOT_FOUND").await;
    let all = json_ok(
        app.get(&format!("/api/v1/periods/{period}/publications"), &reviewer)
            .await,
        200,
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3);

    // snapshots are immutable in the database itself
    let err = app.with_conn(|c| {
        use diesel::prelude::*;
        diesel::sql_query("UPDATE publications SET checksum = repeat('0', 64)")
            .execute(c)
            .unwrap_err()
    });
    assert!(err.to_string().contains("immutable"), "{err}");
}

#[tokio::test]
async fn the_public_unit_route_ignores_the_case_of_the_code() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let assessments = fill_and_submit(&app, &period).await;
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
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(&admin),
            &json!({"group": "LC-XA"}),
        )
        .await,
        201,
    )
    .await;
    let read = |code: &str| {
        let (app, path) = (
            &app,
            format!("/api/v1/public/periods/{period}/units/{code}"),
        );
        async move { app.get_public(&path).await }
    };
    let upper = read("XA-BAC-HA").await;
    let etag = upper.headers()["etag"].to_str().unwrap().to_string();
    let upper = json_ok(upper, 200).await;
    for code in ["xa-bac-ha", "Xa-Bac-Ha"] {
        let resp = read(code).await;
        assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag, "{code}");
        assert_eq!(json_ok(resp, 200).await, upper, "{code}");
    }
    assert_problem(read("xa-bac").await, 404, "NOT_FOUND").await;
}

/// The snapshot read into the types the document describes it with (unknown members refused,
/// closed sets checked): the document cannot drift from what is published.
fn typed_snapshot(content: &Value) -> Snapshot {
    serde_json::from_value(content.clone())
        .unwrap_or_else(|e| panic!("the snapshot is not as documented: {e}\n{content:#}"))
}

/// A public unit result, read part by part into the documented types.
fn typed_unit_result(unit: &Value) {
    fn read<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> T {
        serde_json::from_value(v.clone())
            .unwrap_or_else(|e| panic!("{what} is not as documented: {e}\n{v:#}"))
    }
    let _: SnapshotPeriod = read(&unit["period"], "period");
    let _: SnapshotGroup = read(&unit["group"], "group");
    let _: SnapshotSet = read(&unit["indicator_set"], "indicator_set");
    let _: SnapshotEntry = read(&unit["result"], "result");
    let _: Option<SnapshotChange> = read(&unit["change"], "change");
}
