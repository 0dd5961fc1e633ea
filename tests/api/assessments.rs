//! Periods, answers, exact scores and rankings, recompute invariant, concurrency.

use std::collections::BTreeMap;

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    assessment_of, open_period, open_relative_period, put, scoring_vacuums, stored_state,
};
use crate::helpers::*;

#[tokio::test]
async fn answers_are_scored_exactly_and_ranked_at_once() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    // the editor sees exactly one assessment: their own
    let mine = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), &editor)
            .await,
        200,
    )
    .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;

    // tiers: 3 meetings → 15, but evidence is required: without evidence or explanation, 0
    let w = json_ok(
        put(&app, &editor, &a, "1.1", json!({"inputs": {"value": 3}})).await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "0");
    let w = json_ok(
        put(
            &app,
            &editor,
            &a,
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Biên bản họp chưa số hóa"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "15");
    assert_eq!(w["answer"]["version"], 2);
    // ratio 3/4 of 20 → 15
    let w = json_ok(
        put(
            &app,
            &editor,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 3, "denominator": "4"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "30");
    // choice: deputy → 10
    let w = json_ok(
        put(
            &app,
            &editor,
            &a,
            "2.2",
            json!({"inputs": {"option": "deputy"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "40");
    // automatically measured: the unit cannot edit it, the administrator can
    let p = assert_problem(
        put(
            &app,
            &editor,
            &a,
            "2.1",
            json!({"inputs": {"numerator": 60, "denominator": 100}}),
        )
        .await,
        422,
        "INVALID_INPUT",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "AUTOMATIC_INDICATOR");
    // ratio to target: 60 % of a target of 80 % → 40 × 0.75 = 30
    let w = json_ok(
        put(
            &app,
            &admin,
            &a,
            "2.1",
            json!({"inputs": {"numerator": 60, "denominator": 100}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "70");
    assert_eq!(w["score"]["reviewed_index"], "0.7000");
    assert_eq!(w["rank"], 1);

    // rankings: BAC-HA first, the nine others tied at 0 with rank 2
    let viewer = app.token_for(Role::Viewer, None);
    let r = json_ok(
        app.get(&format!("/api/v1/periods/{period}/rankings"), &viewer)
            .await,
        200,
    )
    .await;
    assert_eq!(r["total"], 10);
    assert_eq!(r["items"][0]["unit"]["code"], "XA-BAC-HA");
    assert_eq!(r["items"][0]["index"], "0.7000");
    assert_eq!(r["items"][0]["rank"], 1);
    assert!(
        r["items"].as_array().unwrap()[1..]
            .iter()
            .all(|i| i["rank"] == 2 && i["tied"] == true)
    );
    let codes: Vec<&str> = r["items"].as_array().unwrap()[1..]
        .iter()
        .map(|i| i["unit"]["code"].as_str().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted, "ties in code order");
    // per pillar and main indicator
    let m = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?main_indicator=1"),
            &viewer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(m["items"][0]["points"], "30");
    assert_eq!(m["items"][0]["index"], "0.7500");
    let pl = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?pillar=CQS"),
            &viewer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(pl["items"][0]["points"], "70");
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?pillar=NOPE"),
            &viewer,
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;

    // the explained tree
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{a}/score"), &editor)
            .await,
        200,
    )
    .await;
    assert_eq!(tree["total"]["reviewed_points"], "70");
    let n12 = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "1.2")
        .unwrap();
    assert_eq!(n12["self_points"], "15");
    assert_eq!(n12["points_lost"], "5");
    assert!(
        n12["self_trace"]["rule"].as_str().unwrap().contains('3'),
        "{}",
        n12["self_trace"]
    );
    let n11 = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "1.1")
        .unwrap();
    assert_eq!(n11["self_points"], "15");

    // what-if: 4 of 4 meetings chaired → 1.2 = 20 → 75; nothing saved
    let wi = json_ok(app.post_json(&format!("/api/v1/assessments/{a}/what-if"), Some(&editor), &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 4, "denominator": 4}}]})).await, 200).await;
    assert_eq!(wi["score"]["total"]["reviewed_points"], "75");
    // a unit learns no rank before publication; the province sees it
    assert_eq!(wi["rank"], Value::Null);
    // a unit may imagine an automatically measured component too, which it cannot write
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/what-if"),
            Some(&editor),
            &json!({"answers": [{"node_code": "2.1", "inputs": {"numerator": 80, "denominator": 100}}]}),
        )
        .await,
        200,
    )
    .await;
    let wi = json_ok(app.post_json(&format!("/api/v1/assessments/{a}/what-if"), Some(&admin), &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 4, "denominator": 4}}]})).await, 200).await;
    assert_eq!(wi["rank"], 1);
    let again = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    assert_eq!(again["score"]["reviewed_points"], "70");
    assert!(
        again["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("edit_answers"))
    );
    assert_eq!(again["state"], "in_progress");
}

#[tokio::test]
async fn inputs_the_method_cannot_score_are_refused_with_the_node_code() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let cases = [
        (
            "1.2",
            json!({"inputs": {"numerator": 5, "denominator": 4}}),
            "NUMERATOR_EXCEEDS_DENOMINATOR",
        ),
        (
            "1.2",
            json!({"inputs": {"numerator": -1, "denominator": 4}}),
            "INPUT_NEGATIVE",
        ),
        ("1.2", json!({"inputs": {"numerator": 1}}), "INPUT_MISSING"),
        (
            "1.2",
            json!({"inputs": {"numerator": "NaN", "denominator": 4}}),
            "INPUT_TYPE",
        ),
        (
            "2.2",
            json!({"inputs": {"option": "king"}}),
            "UNKNOWN_OPTION",
        ),
        (
            "1.1",
            json!({"inputs": {"value": 3, "extra": 1}}),
            "INPUT_UNKNOWN_FIELD",
        ),
        ("1", json!({"inputs": {"value": 3}}), "NOT_A_LEAF"),
        ("9.9", json!({"inputs": {"value": 3}}), "UNKNOWN_NODE"),
        ("1.2", json!({"not_applicable": true}), "NOT_DECLARABLE"),
    ];
    for (node, body, code) in cases {
        let p = assert_problem(
            put(&app, &editor, &a, node, body.clone()).await,
            422,
            "INVALID_INPUT",
        )
        .await;
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["code"] == code),
            "{node} {body}: {p}"
        );
        assert_eq!(p["node_code"], node);
    }
    // a zero denominator scores 0 where the set says so (1.2: zero_denominator = zero)
    json_ok(
        put(
            &app,
            &editor,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 0, "denominator": 0}}),
        )
        .await,
        200,
    )
    .await;
    // a batch with one bad answer stores nothing
    let p = assert_problem(
        app.put_json(
            &format!("/api/v1/assessments/{a}/answers"),
            &editor,
            &json!({"answers": [
                {"node_code": "1.1", "inputs": {"value": 4}, "explanation": "x"},
                {"node_code": "2.2", "inputs": {"option": "nobody"}}
            ]}),
        )
        .await,
        422,
        "INVALID_INPUT",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/answers/1/inputs/option");
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    assert!(
        got["answers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["node_code"] != "1.1"),
        "nothing of the batch stored"
    );
    let ok = json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/answers"),
            &editor,
            &json!({"answers": [
                {"node_code": "1.1", "inputs": {"value": 4}, "explanation": "x"},
                {"node_code": "2.2", "inputs": {"option": "chairman"}}
            ]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ok["score"]["self_points"], "40");
}

#[tokio::test]
async fn lost_updates_are_refused_with_412() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let path = format!("/api/v1/assessments/{a}/answers/1.2");
    let first = app
        .client
        .put(app.url(&path))
        .bearer_auth(&editor)
        .header("if-match", "\"v0\"")
        .json(&json!({"inputs": {"numerator": 1, "denominator": 4}}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.headers()["etag"], "\"v1\"");
    json_ok(first, 200).await;
    let ok = app
        .client
        .put(app.url(&path))
        .bearer_auth(&leader)
        .header("if-match", "\"v1\"")
        .json(&json!({"inputs": {"numerator": 2, "denominator": 4}}))
        .send()
        .await
        .unwrap();
    json_ok(ok, 200).await;
    let stale = app
        .client
        .put(app.url(&path))
        .bearer_auth(&editor)
        .header("if-match", "\"v1\"")
        .json(&json!({"inputs": {"numerator": 3, "denominator": 4}}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "VERSION_MISMATCH").await;
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{a}/score"), &editor)
            .await,
        200,
    )
    .await;
    assert_eq!(
        tree["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["code"] == "1.2")
            .unwrap()["self_points"],
        "10"
    );
}

#[tokio::test]
async fn units_never_read_or_write_another_units_assessment() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let a_editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let b_leader = app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"));
    let a = assessment_of(&app, &a_editor, &period, "XA-BAC-HA").await;
    assert_problem(
        app.get(&format!("/api/v1/assessments/{a}"), &b_leader)
            .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/assessments/{a}/score"), &b_leader)
            .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    assert_problem(
        put(
            &app,
            &b_leader,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 1, "denominator": 1}}),
        )
        .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    assert_problem(app.post_json(&format!("/api/v1/assessments/{a}/what-if"), Some(&b_leader), &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 1, "denominator": 1}}]})).await, 403, "NOT_YOUR_UNIT").await;
    assert_problem(
        app.get(&format!("/api/v1/periods/{period}/rankings"), &b_leader)
            .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    // reviewers and viewers read but do not enter answers
    for role in [Role::Reviewer, Role::Viewer] {
        let t = app.token_for(role, None);
        json_ok(app.get(&format!("/api/v1/assessments/{a}"), &t).await, 200).await;
        assert_problem(
            put(
                &app,
                &t,
                &a,
                "1.2",
                json!({"inputs": {"numerator": 1, "denominator": 1}}),
            )
            .await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
    }
    let anon = app.get_public(&format!("/api/v1/assessments/{a}")).await;
    assert_problem(anon, 401, "AUTH_REQUIRED").await;
}

#[tokio::test]
async fn answers_are_refused_outside_the_self_assessment_phase() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    transition(&app, &admin, &period, "review").await;
    let p = assert_problem(
        put(
            &app,
            &editor,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 1, "denominator": 1}}),
        )
        .await,
        409,
        "PHASE_CLOSED",
    )
    .await;
    assert_eq!(p["allowed_in_phase"], "self_assessment");
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &editor).await,
        200,
    )
    .await;
    assert!(
        !got["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("edit_answers"))
    );
    let p = assert_problem(
        app.post_json(
            &format!("/api/v1/periods/{period}/transitions"),
            Some(&admin),
            &json!({"to": "archived"}),
        )
        .await,
        409,
        "INVALID_TRANSITION",
    )
    .await;
    assert!(
        p["allowed_transitions"]
            .as_array()
            .unwrap()
            .contains(&json!("published"))
    );
}

#[tokio::test]
async fn periods_refuse_inactive_or_mismatched_sets() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let sets = json_ok(
        app.get("/api/v1/indicator-sets?code=TH-SO-160", &admin)
            .await,
        200,
    )
    .await;
    let dept_set = sets["items"][0]["id"].as_str().unwrap().to_string();
    let p = assert_problem(
        app.post_json("/api/v1/periods", Some(&admin), &json!({"code": "P1", "name": "x", "data_year": 2025, "groups": [{"group": "LC-XA", "indicator_set": dept_set}]})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "SET_KIND_MISMATCH");
    let draft = json_ok(
        app.post_json(
            "/api/v1/indicator-sets",
            Some(&admin),
            &dti_api::api::indicator_sets::example_document(),
        )
        .await,
        201,
    )
    .await;
    let p = assert_problem(
        app.post_json("/api/v1/periods", Some(&admin), &json!({"code": "P2", "name": "x", "data_year": 2025, "groups": [{"group": "LC-XA", "indicator_set": draft["id"]}]})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "SET_NOT_ACTIVE");
    let editor = app.token_for(Role::UnitEditor, Some("STP"));
    assert_problem(
        app.post_json(
            "/api/v1/periods",
            Some(&editor),
            &json!({"code": "P3", "name": "x", "data_year": 2025, "groups": []}),
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
}

#[tokio::test]
async fn recompute_rebuilds_exactly_what_is_stored() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    for (i, unit) in ["XA-BAC-HA", "XA-BAT-XAT", "PHUONG-SA-PA"]
        .iter()
        .enumerate()
    {
        let t = app.token_for(Role::UnitEditor, Some(unit));
        let a = assessment_of(&app, &t, &period, unit).await;
        json_ok(
            put(
                &app,
                &t,
                &a,
                "1.2",
                json!({"inputs": {"numerator": i + 1, "denominator": 4}}),
            )
            .await,
            200,
        )
        .await;
        json_ok(
            put(&app, &t, &a, "2.2", json!({"inputs": {"option": "deputy"}})).await,
            200,
        )
        .await;
    }
    let before = stored_state(&app);
    let r = json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["assessments"], 10);
    assert_eq!(stored_state(&app), before);
    assert_problem(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(&app.token_for(Role::Reviewer, None)),
            &json!({}),
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
}

/// A recompute rewrites the group's bases and candidates (and any score row that changed); the
/// old row versions are vacuumed as soon as it commits, not left to autovacuum, so the next
/// count over the group does not walk them.
#[tokio::test]
async fn a_recompute_vacuums_the_rows_it_rewrote() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let before = scoring_vacuums(&app);
    app.as_role(Role::Admin, None).recompute(&period).ok().await;
    // the statistics of a vacuum are visible once it has ended, which is before the response
    let after = scoring_vacuums(&app);
    for ((b, a), t) in before
        .iter()
        .zip(&after)
        .zip(["scores", "bases", "candidates"])
    {
        assert!(
            a > b,
            "{t}: vacuumed {b} times before, {a} after the recompute"
        );
    }
}

/// A recompute that changes no number writes no score row and no candidate value: the rows
/// keep their versions and the groups their score stamps, so no server's copy of the rank keys
/// goes stale and nothing is left to vacuum. A row that did change is written.
#[tokio::test]
async fn a_recompute_that_changes_nothing_rewrites_no_score_row() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // 2.2 relative to the group's best, so that the units' values are candidates
    let (period, _) =
        open_relative_period(&app, &admin, &[("XA-BAC-HA", 4), ("XA-BAT-XAT", 9)]).await;
    let versions = |app: &TestApp| -> Vec<(String, String)> {
        app.with_conn(|c| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct V {
                #[diesel(sql_type = diesel::sql_types::Text)]
                unit_code: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                version: String,
            }
            diesel::sql_query(
                "SELECT unit_code, xmin::text AS version FROM assessment_scores \
                 UNION ALL SELECT 'group ' || group_id::text, \
                   coalesce(scores_version::text, '') \
                 FROM period_groups \
                 UNION ALL SELECT 'candidate ' || s.unit_code, rv.xmin::text \
                 FROM relative_values rv JOIN assessment_scores s USING (assessment_id) \
                 ORDER BY 1",
            )
            .load::<V>(c)
            .expect("row versions")
            .into_iter()
            .map(|v| (v.unit_code, v.version))
            .collect()
        })
    };
    let before = versions(&app);
    assert_eq!(
        before
            .iter()
            .filter(|v| v.0.starts_with("candidate "))
            .count(),
        2,
        "{before:?}"
    );
    let stored = stored_state(&app);
    app.as_role(Role::Admin, None).recompute(&period).ok().await;
    assert_eq!(versions(&app), before, "a recompute that changes nothing");

    // one unit's number changed behind the service's back: the recompute restores it, and
    // writes that row (and the group's stamp) only
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE assessment_scores SET max_points = max_points + 1 \
             WHERE unit_code = 'XA-BAC-HA'",
        )
        .execute(c)
        .expect("tamper");
    });
    let tampered = versions(&app);
    let numbers = stored_state(&app);
    app.as_role(Role::Admin, None).recompute(&period).ok().await;
    let after = versions(&app);
    let changed: Vec<&str> = tampered
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.as_str())
        .collect();
    assert_eq!(changed.len(), 2, "{tampered:?} → {after:?}");
    assert_eq!(changed[0], "XA-BAC-HA");
    assert!(changed[1].starts_with("group "), "{changed:?}");
    assert_ne!(numbers, stored, "the tampering showed");
    assert_eq!(
        stored_state(&app),
        stored,
        "the recompute restored the number"
    );
}

/// A recompute scores the group against the best its inputs give, whatever the stored
/// candidates say: it scores against the stored best while it reads (almost always the same),
/// and scores again when the inputs' best turns out to be another.
#[tokio::test]
async fn a_recompute_scores_against_the_inputs_best_when_the_stored_one_is_wrong() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) =
        open_relative_period(&app, &admin, &[("XA-BAC-HA", 4), ("XA-BAT-XAT", 9)]).await;
    let stored = stored_state(&app);
    // the stored candidates claim a best of 90 (and 3 for lower-is-better readers)
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        let n = diesel::sql_query(
            "UPDATE relative_values SET self_value = self_value * 10, \
             reviewed_value = reviewed_value * 10",
        )
        .execute(c)
        .expect("tamper");
        assert_eq!(n, 2);
    });
    let tampered = stored_state(&app);
    assert_ne!(tampered, stored, "the tampering showed");
    app.as_role(Role::Admin, None).recompute(&period).ok().await;
    assert_eq!(
        stored_state(&app),
        stored,
        "scores and candidates as the inputs give them"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_to_one_group_leave_scores_and_ranks_equal_to_a_recompute() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // 2.2 becomes relative_to_best on a value: every write can move the group's best
    let (period, _) = open_period(&app, &admin, |d| {
        d["nodes"][1]["children"][1]["method"] = json!({"type": "relative_to_best"});
    })
    .await;
    let units = [
        "PHUONG-LAO-CAI",
        "PHUONG-CAM-DUONG",
        "PHUONG-SA-PA",
        "PHUONG-YEN-BAI",
        "XA-BAC-HA",
        "XA-BAT-XAT",
    ];
    let mut targets = Vec::new();
    for u in units {
        let t = app.token_for(Role::UnitEditor, Some(u));
        let a = assessment_of(&app, &t, &period, u).await;
        targets.push((t, a));
    }
    let mut tasks = Vec::new();
    for round in 0..4 {
        for (k, (t, a)) in targets.iter().enumerate() {
            let client = app.client.clone();
            let base = app.address.clone();
            let (t, a) = (t.clone(), a.clone());
            tasks.push(tokio::spawn(async move {
                let value = (round * 7 + k * 3) % 11;
                let node = if k % 2 == 0 { "2.2" } else { "1.2" };
                let body = if node == "2.2" {
                    json!({"inputs": {"value": value}})
                } else {
                    json!({"inputs": {"numerator": value % 5, "denominator": 4}})
                };
                let r = client
                    .put(format!("{base}/api/v1/assessments/{a}/answers/{node}"))
                    .bearer_auth(&t)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        !stored_state(&app).1.is_empty(),
        "the relative leaf has stored candidates"
    );
    assert_recompute_changes_nothing(&app, &admin, &period).await;
}

/// A full recompute of the period leaves every stored number, candidate, basis and rank as
/// the incremental writes left it (the invariant).
async fn assert_recompute_changes_nothing(app: &TestApp, admin: &str, period: &str) {
    let before = stored_state(app);
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        stored_state(app),
        before,
        "incremental results equal a full recompute"
    );
}

/// A server keeps each group's bases in memory, stamped with the version the database holds.
/// A write that rescored a unit (updating the in-memory copy) and then rolled back must not
/// leak into later scores: the next write that moves the best sees a stamp that never
/// committed and reads the bases again.
#[tokio::test]
async fn a_rolled_back_rescore_never_leaks_into_later_scores() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, ids) = open_relative_period(
        &app,
        &admin,
        &[("XA-BAC-HA", 3), ("XA-BAT-XAT", 5), ("PHUONG-SA-PA", 7)],
    )
    .await;
    // Another writer raises the first unit's value to 100, rescores (moving the best), and
    // rolls back.
    let first: uuid::Uuid = ids[0].1.parse().unwrap();
    app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::models::assessments::Assessment;
        let _ = c.transaction::<(), dti_api::error::AppError, _>(|c| {
            let moved = diesel::sql_query(
                "UPDATE answers SET inputs = '{\"value\": \"100\"}' FROM indicator_nodes n \
                 WHERE answers.assessment_id = $1 AND n.id = answers.node_id AND n.code = '2.2'",
            )
            .bind::<diesel::sql_types::Uuid, _>(first)
            .execute(c)?;
            assert_eq!(moved, 1);
            let a = Assessment::find(c, first)?.expect("assessment");
            dti_api::services::scoring::rescore_assessment(c, &app.caches, &a)?;
            Err(diesel::result::Error::RollbackTransaction.into())
        });
    });
    // A committed write that moves the best again: every other unit follows from its bases.
    put_relative(&app, &ids[1], 20).await;
    // the stored scores owe nothing to the rolled-back write
    assert_recompute_changes_nothing(&app, &admin, &period).await;
}

#[tokio::test]
async fn periods_are_listed_by_phase_and_an_unknown_phase_is_refused() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let open = json_ok(
        app.get("/api/v1/periods?phase=self_assessment", &admin)
            .await,
        200,
    )
    .await;
    let items = open["items"].as_array().unwrap();
    assert!(items.iter().any(|p| p["id"] == period.as_str()));
    assert!(items.iter().all(|p| p["phase"] == "self_assessment"));
    assert_eq!(open["items"][0]["allowed_transitions"], json!(["review"]));
    let drafts = json_ok(app.get("/api/v1/periods?phase=draft", &admin).await, 200).await;
    assert!(
        drafts["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != period.as_str())
    );
    // an unknown phase was an empty page; it is a validation error, as for the other lists
    let p = assert_problem(
        app.get("/api/v1/periods?phase=finished", &admin).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "INVALID_PHASE");
}

/// The live overall rank of every unit of the period's group, by unit code, from the rankings
/// listing (ranked in SQL over the stored rows).
async fn listed_ranks(app: &TestApp, token: &str, period: &str) -> BTreeMap<String, Value> {
    let r = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?page_size=100"),
            token,
        )
        .await,
        200,
    )
    .await;
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["unit"]["code"].as_str().unwrap().to_string(),
                i["rank"].clone(),
            )
        })
        .collect()
}

/// A server keeps each group's overall rank keys in memory for the rank it shows after a write
/// and in a what-if. The copy is used only while it carries the group's score stamp, which the
/// database draws afresh on every statement that writes score rows: a write through this
/// server (its own row, and the rows that followed a moved best) brings the copy along; a row
/// written by anything else (another replica, a statement no service runs, a write rolled back
/// after it touched the copy) makes the next rank be counted from the table again.
#[tokio::test]
async fn the_rank_shown_follows_score_rows_whoever_wrote_them() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // 2.2 relative to the group's best: a write can move every other unit's score
    let (period, _) = open_period(&app, &admin, |d| {
        d["nodes"][1]["children"][1]["method"] = json!({"type": "relative_to_best"});
    })
    .await;
    let mut shown = Vec::new();
    for (unit, value) in [
        ("XA-BAC-HA", 3),
        ("XA-BAT-XAT", 5),
        ("PHUONG-SA-PA", 7),
        ("XA-BAC-HA", 9),
        ("PHUONG-SA-PA", 2),
    ] {
        let a = assessment_of(&app, &admin, &period, unit).await;
        let w = json_ok(
            put(&app, &admin, &a, "2.2", json!({"inputs": {"value": value}})).await,
            200,
        )
        .await;
        let listed = listed_ranks(&app, &admin, &period).await;
        assert_eq!(w["rank"], listed[unit], "{unit} after writing {value}");
        // the score and rank a write answers (kept from its rescore) are the stored ones
        let read = json_ok(
            app.get(&format!("/api/v1/assessments/{a}"), &admin).await,
            200,
        )
        .await;
        assert_eq!(w["score"], read["score"], "{unit} after writing {value}");
        assert_eq!(w["rank"], read["rank"], "{unit} after writing {value}");
        shown.push((unit, a));
    }
    let (unit, a) = shown[0].clone();
    let before = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &admin).await,
        200,
    )
    .await;
    assert_eq!(before["rank"], 1, "{unit} leads: {before}");

    // another replica (caches of its own) stores a value that moves the group's best: this
    // server's copy of the group's rank keys is not told
    let yen_bai = assessment_of(&app, &admin, &period, "PHUONG-YEN-BAI").await;
    app.with_conn(|c| {
        let replica = dti_api::services::scoring::Caches::default();
        dti_api::services::assessments::put_answers(
            c,
            &replica,
            &dti_api::services::seed::system_principal(),
            yen_bai.parse().unwrap(),
            vec![dti_api::services::assessments::AnswerInput {
                node_code: "2.2".into(),
                inputs: Some(json!({"value": 20})),
                not_applicable: false,
                note: None,
                explanation: None,
                expected: dti_api::domain::precondition::IfMatch::Any,
            }],
            false,
        )
        .expect("the other replica's write");
    });
    let after = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &admin).await,
        200,
    )
    .await;
    assert_eq!(after["rank"], 2, "{unit} is second now: {after}");
    assert_eq!(
        listed_ranks(&app, &admin, &period).await["PHUONG-YEN-BAI"],
        1
    );
    assert_eq!(listed_ranks(&app, &admin, &period).await[unit], 2);
    let what_if = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/what-if"),
            Some(&admin),
            &json!({"answers": [{"node_code": "2.2", "inputs": {"value": 9}}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(what_if["rank"], 2, "{what_if}");

    // a write through this server that moves the best, rolled back after the copy followed it
    let first: uuid::Uuid = a.parse().unwrap();
    app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::models::assessments::Assessment;
        let _ = c.transaction::<(), dti_api::error::AppError, _>(|c| {
            diesel::sql_query(
                "UPDATE answers SET inputs = '{\"value\": \"100\"}' FROM indicator_nodes n \
                 WHERE answers.assessment_id = $1 AND n.id = answers.node_id AND n.code = '2.2'",
            )
            .bind::<diesel::sql_types::Uuid, _>(first)
            .execute(c)?;
            let a = Assessment::find(c, first)?.expect("assessment");
            dti_api::services::scoring::rescore_assessment(c, &app.caches, &a)?;
            Err(diesel::result::Error::RollbackTransaction.into())
        });
    });
    let listed = listed_ranks(&app, &admin, &period).await;
    for (unit, a) in &shown {
        let s = json_ok(
            app.get(&format!("/api/v1/assessments/{a}"), &admin).await,
            200,
        )
        .await;
        assert_eq!(s["rank"], listed[*unit], "{unit} after the rollback: {s}");
    }
}

/// Writes `value` as a unit's answer to 2.2 (the relative leaf of `open_relative_period`) with
/// its own `(token, assessment)`; the response, which must be 200.
async fn put_relative(app: &TestApp, (token, a): &(String, String), value: i64) -> Value {
    json_ok(
        put(app, token, a, "2.2", json!({"inputs": {"value": value}})).await,
        200,
    )
    .await
}

/// An assessment's stored self-assessed points, as `GET /assessments/{id}` shows them.
async fn stored_self_points(app: &TestApp, token: &str, a: &str) -> Value {
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), token).await,
        200,
    )
    .await;
    got["score"]["self_points"].clone()
}

/// The number of the group's follow rows whose self totals are left out (every unit's equal
/// its reviewed ones), and of those that keep them.
fn follow_rows_by_self(app: &TestApp) -> (i64, i64) {
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            lean: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            kept: i64,
        }
        let n: N = diesel::sql_query(
            "SELECT count(*) FILTER (WHERE self_points IS NULL) AS lean, \
               count(*) FILTER (WHERE self_points IS NOT NULL) AS kept FROM score_follows",
        )
        .get_result(c)
        .expect("follow rows");
        (n.lean, n.kept)
    })
}

/// A reviewer's adjustment that moves the group's reviewed best (the self-assessed best stays)
/// parts every other unit's reviewed numbers from its self-assessed ones: the follow row then
/// keeps both, and what every reader sees is what a recompute gives.
#[tokio::test]
async fn a_reviewed_best_moved_by_an_adjustment_keeps_the_others_self_numbers() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |d| {
        d["nodes"][1]["children"][1]["method"] = json!({"type": "relative_to_best"});
    })
    .await;
    let units = [("XA-BAC-HA", 9), ("XA-BAT-XAT", 3), ("PHUONG-SA-PA", 6)];
    let mut ids = Vec::new();
    for (unit, value) in units {
        let editor = app.token_for(Role::UnitEditor, Some(unit));
        let a = assessment_of(&app, &editor, &period, unit).await;
        crate::fixtures::answer_and_submit(
            &app,
            unit,
            &a,
            &json!({"answers": [
                {"node_code": "1.1", "inputs": {"value": 1}, "explanation": "Biên bản họp"},
                {"node_code": "1.2", "inputs": {"numerator": 1, "denominator": 4}},
                {"node_code": "2.2", "inputs": {"value": value}},
            ]}),
        )
        .await;
        ids.push(a);
    }
    transition(&app, &admin, &period, "review").await;
    let score = |a: &String| {
        let (app, admin) = (&app, &admin);
        let a = a.clone();
        async move {
            json_ok(
                app.get(&format!("/api/v1/assessments/{a}"), admin).await,
                200,
            )
            .await["score"]
                .clone()
        }
    };
    let before = score(&ids[1]).await;
    assert_eq!(before["self_points"], before["reviewed_points"]);

    // the reviewer finds XA-BAC-HA's value was 18: the reviewed best doubles
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{}/adjustments/2.2", ids[0]),
            &reviewer,
            &json!({"inputs": {"value": 18}, "reason": "Đối chiếu số liệu gốc"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        follow_rows_by_self(&app),
        (0, 1),
        "the self totals are kept"
    );
    let after = score(&ids[1]).await;
    assert_eq!(after["self_points"], before["self_points"]);
    assert_ne!(after["reviewed_points"], before["reviewed_points"]);
    assert_ne!(after["self_points"], after["reviewed_points"]);
    assert_recompute_changes_nothing(&app, &admin, &period).await;
}

/// A write that moves a group best writes what the best changes of the other units as one
/// follow row for the group, not into their score rows; every read applies it. A unit's own
/// later write wins over it, even when the unit's new numbers equal its row as stored before
/// the best moved (the follow row holds other numbers for it, and readers would see those).
#[tokio::test]
async fn a_moved_best_rewrites_no_other_row_and_a_later_own_write_wins_over_it() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // 2.2 relative to the group's best; XA-BAC-HA holds it (9)
    let (period, ids) = open_relative_period(
        &app,
        &admin,
        &[("XA-BAC-HA", 9), ("XA-BAT-XAT", 3), ("PHUONG-SA-PA", 6)],
    )
    .await;
    let row_versions = |app: &TestApp| -> BTreeMap<String, String> {
        app.with_conn(|c| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct V {
                #[diesel(sql_type = diesel::sql_types::Text)]
                unit_code: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                version: String,
            }
            diesel::sql_query(
                "SELECT unit_code, xmin::text AS version FROM assessment_scores ORDER BY 1",
            )
            .load::<V>(c)
            .expect("row versions")
            .into_iter()
            .map(|v| (v.unit_code, v.version))
            .collect()
        })
    };
    let bat_xat_before = stored_self_points(&app, &admin, &ids[1].1).await;
    let sa_pa_before = stored_self_points(&app, &admin, &ids[2].1).await;
    let versions = row_versions(&app);

    // the best doubles: the other two units' points on 2.2 halve, and no row of theirs is
    // written; the group's follow row holds their new numbers
    put_relative(&app, &ids[0], 18).await;
    let after = row_versions(&app);
    assert_eq!(after["XA-BAT-XAT"], versions["XA-BAT-XAT"]);
    assert_eq!(after["PHUONG-SA-PA"], versions["PHUONG-SA-PA"]);
    let follows: i64 = app.with_conn(|c| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT count(*) AS n FROM score_follows")
            .get_result::<N>(c)
            .expect("follow rows")
            .n
    });
    assert_eq!(follows, 1, "one follow row for the group");
    assert_eq!(
        follow_rows_by_self(&app),
        (1, 0),
        "no adjustment: the self totals are the reviewed ones, left out"
    );
    let halved = stored_self_points(&app, &admin, &ids[1].1).await;
    assert_ne!(halved, bat_xat_before, "the moved best is read");
    assert_ne!(
        stored_self_points(&app, &admin, &ids[2].1).await,
        sa_pa_before
    );
    assert_recompute_changes_nothing(&app, &admin, &period).await;

    // XA-BAT-XAT doubles its value: against the doubled best it scores what its stored row
    // (written before the best moved) already holds, and that is what every reader sees
    put_relative(&app, &ids[1], 6).await;
    assert_eq!(
        stored_self_points(&app, &admin, &ids[1].1).await,
        bat_xat_before
    );
    let listed = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?page_size=100"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let line = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["unit"]["code"] == "XA-BAT-XAT")
        .cloned()
        .unwrap_or_else(|| panic!("listed: {listed}"));
    assert_eq!(line["points"], bat_xat_before, "{line}");
    assert_recompute_changes_nothing(&app, &admin, &period).await;
}
