//! Replicas as operators run them: the service's binary started twice, in two processes, on
//! one database (`docs/operations.md`, "Several replicas"). Each process keeps caches of its
//! own (compiled sets, group bases, rank keys, the public index) that the other's writes never
//! touch: what one process writes must be what the other reads next.

use std::collections::BTreeMap;

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_relative_period, put};
use crate::helpers::*;

/// Every unit's line of the group's overall ranking (points, index, rank, tie) as `server`
/// reads it, and each unit's assessment as `server` shows it (its score and rank).
async fn seen(server: &TestApp, token: &str, period: &str) -> BTreeMap<String, (Value, Value)> {
    let ranking = json_ok(
        server
            .get(
                &format!("/api/v1/periods/{period}/rankings?page_size=100"),
                token,
            )
            .await,
        200,
    )
    .await;
    let mut out = BTreeMap::new();
    for item in ranking["items"].as_array().unwrap() {
        let unit = item["unit"]["code"].as_str().unwrap().to_string();
        let a = assessment_of(server, token, period, &unit).await;
        let shown = json_ok(
            server.get(&format!("/api/v1/assessments/{a}"), token).await,
            200,
        )
        .await;
        out.insert(
            unit,
            (
                json!([item["points"], item["index"], item["rank"], item["tied"]]),
                json!([shown["score"], shown["rank"]]),
            ),
        );
    }
    out
}

// Both processes read the group first (their caches warm), then one writes a value that moves
// the group's best of a relative_to_best component, so every other unit's points change: the
// other process shows the new points and ranks at once, and so does the first. Then the other
// way round.
#[tokio::test]
async fn a_best_moved_through_one_server_process_is_read_through_the_other() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_relative_period(
        &app,
        &admin,
        &[("XA-BAC-HA", 3), ("XA-BAT-XAT", 5), ("PHUONG-SA-PA", 7)],
    )
    .await;
    app.retire_demo_passwords();
    let one = spawn_process_replica(&app).await;
    let two = spawn_process_replica(&app).await;
    let before = seen(&two, &admin, &period).await;
    assert_eq!(seen(&one, &admin, &period).await, before);
    // 2.2 (20 points) against the best, 7: XA-BAT-XAT has 20 × 5 / 7
    assert_eq!(before["XA-BAT-XAT"].0[2], 2, "{before:?}");

    for (writer, reader, unit, value, points) in [
        // through one: 20 becomes the best; XA-BAT-XAT's 5 is worth 20 × 5 / 20
        (&one, &two, "PHUONG-YEN-BAI", 20, "5"),
        // through two: 40; XA-BAT-XAT's 5 is worth 20 × 5 / 40
        (&two, &one, "XA-BAC-HA", 40, "2.5"),
    ] {
        let a = assessment_of(writer, &admin, &period, unit).await;
        let written = json_ok(
            put(
                writer,
                &admin,
                &a,
                "2.2",
                json!({"inputs": {"value": value}}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(written["rank"], 1, "{unit} leads after writing {value}");
        let read = seen(reader, &admin, &period).await;
        assert_eq!(
            read[unit].0[2], 1,
            "{unit} leads, read through the other: {read:?}"
        );
        assert_eq!(read["XA-BAT-XAT"].0[0], points, "{read:?}");
        assert_eq!(
            read[unit].1[0], written["score"],
            "{unit}'s score as written"
        );
        assert_eq!(
            seen(writer, &admin, &period).await,
            read,
            "both servers agree"
        );
    }
}
