//! The office's decisions about late or silent units (submit on behalf, finalise as entered
//! or at zero, exclude from the ranking) and bulk decisions: a year where a unit never
//! submits is still published, every refusal of a bulk call is listed at once, and a bulk
//! finalise of 100 assessments rescores once.

use dti_api::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::Client;
use crate::fixtures::{
    COMMUNES, answers, assessment_of, enter, enter_and_submit, ids, open_period, scoring_vacuums,
    stored_state,
};
use crate::helpers::*;

async fn bulk(app: &TestApp, token: &str, period: &str, body: &Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/periods/{period}/assessments/bulk"),
        Some(token),
        body,
    )
    .await
}

fn items(ids: &[&String]) -> Vec<Value> {
    ids.iter().map(|id| json!({"assessment_id": id})).collect()
}

async fn get(app: &TestApp, token: &str, a: &str) -> Value {
    json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), token).await,
        200,
    )
    .await
}

fn actions(a: &Value) -> Vec<&str> {
    a["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

async fn publish(app: &TestApp, admin: &str, period: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/periods/{period}/publications"),
        Some(admin),
        &json!({"group": "LC-XA"}),
    )
    .await
}

/// `(unit code, rank, tied, ranked)` of a ranking page.
fn ranks(page: &Value) -> Vec<(String, Value, bool, bool)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["unit"]["code"].as_str().unwrap().to_string(),
                i["rank"].clone(),
                i["tied"].as_bool().unwrap(),
                i["ranked"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn ranking(app: &TestApp, token: &str, period: &str, query: &str) -> Value {
    json_ok(
        app.get(&format!("/api/v1/periods/{period}/rankings{query}"), token)
            .await,
        200,
    )
    .await
}

/// The snapshot entry of a unit.
fn entry<'a>(content: &'a Value, code: &str) -> &'a Value {
    content["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"]["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {content}"))
}

async fn audit(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    json_ok(
        app.get(
            &format!("/api/v1/audit-events?page_size=500&{query}"),
            admin,
        )
        .await,
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_year_where_one_unit_never_submits_is_published_after_the_office_submits_for_it() {
    let app = spawn_seeded_app().await;
    let (admin_user, admin) = app.user_and_token(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let ids = ids(&app, &admin, &period).await;
    for (k, a) in ids.iter().enumerate().take(9) {
        enter_and_submit(&app, a, k).await;
    }
    // XA-TRAN-YEN enters part of its form and goes silent
    let silent = &ids[9];
    let leader = app.token_for(Role::UnitLeader, Some("XA-TRAN-YEN"));
    let editor = app.token_for(Role::UnitEditor, Some("XA-TRAN-YEN"));
    crate::fixtures::put(
        &app,
        &editor,
        silent,
        "1.2",
        json!({"inputs": {"numerator": 2, "denominator": 4}}),
    )
    .await;
    let seen = get(&app, &admin, silent).await;
    assert_eq!(seen["state"], "in_progress");
    let can = actions(&seen);
    for a in [
        "submit_on_behalf",
        "exclude_from_ranking",
        "extend_deadline",
    ] {
        assert!(can.contains(&a), "{a} in {can:?}");
    }
    // finalising without a submission waits for review
    assert!(!can.contains(&"finalise_at_zero"), "{can:?}");
    assert!(!actions(&get(&app, &reviewer, silent).await).contains(&"submit_on_behalf"));

    transition(&app, &admin, &period, "review").await;
    let finalised = json_ok(
        bulk(
            &app,
            &reviewer,
            &period,
            &json!({"action": "finalise", "items": items(&ids[..9].iter().collect::<Vec<_>>())}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(finalised["applied"].as_array().unwrap().len(), 9);
    let p = assert_problem(
        publish(&app, &admin, &period).await,
        409,
        "NOT_ALL_FINALISED",
    )
    .await;
    assert_eq!(p["units"], json!(["XA-TRAN-YEN"]));

    // who may not submit on its behalf, and what is refused
    let path = format!("/api/v1/assessments/{silent}/submit-on-behalf");
    for (token, code) in [(&leader, "FORBIDDEN_ROLE"), (&reviewer, "FORBIDDEN_ROLE")] {
        assert_problem(
            app.post_json(&path, Some(token), &json!({"reason": "x"}))
                .await,
            403,
            code,
        )
        .await;
    }
    let p = assert_problem(
        app.post_json(&path, Some(&admin), &json!({"reason": "   "}))
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/reason");
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{}/submit-on-behalf", ids[0]),
            Some(&admin),
            &json!({"reason": "x"}),
        )
        .await,
        409,
        "ASSESSMENT_FINALISED",
    )
    .await;

    let reason = "Đơn vị không xác nhận sau hai lần nhắc; Văn phòng nộp thay theo số liệu đã nhập";
    let d = json_ok(
        app.post_json(&path, Some(&admin), &json!({"reason": reason}))
            .await,
        200,
    )
    .await;
    assert_eq!(d["state"], "submitted");
    assert_eq!(d["submission"]["on_behalf"], true);
    assert_eq!(d["submission"]["reason"], reason);
    assert_eq!(
        d["submission"]["by"]["username"],
        admin_user.username.as_str()
    );
    // the unit sees who did it and why, and its form is locked
    let own = get(&app, &leader, silent).await;
    assert_eq!(own["state"], "submitted");
    assert_eq!(own["submitted_on_behalf"], true);
    assert_eq!(own["submission"]["on_behalf"], true);
    assert_eq!(own["submission"]["reason"], reason);
    assert_eq!(own["submission"]["by"]["full_name"], "Test user");
    assert_eq!(own["last_action"]["action"], "submit_on_behalf");
    assert!(!actions(&own).contains(&"edit_answers"));
    assert!(!actions(&own).contains(&"submit"));
    // audited as acting for the leader
    let events = audit(&app, &admin, "action=assessment.submit_on_behalf").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], admin_user.id.to_string());
    assert_eq!(events[0]["entity_id"], silent.as_str());
    assert_eq!(events[0]["new_value"]["acting_for"], "unit_leader");
    assert_eq!(events[0]["new_value"]["reason"], reason);

    // reviewed and finalised like any submission; the office publishes
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{silent}/finalise"),
            Some(&reviewer),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let v1 = json_ok(publish(&app, &admin, &period).await, 201).await;
    let e = entry(&v1["content"], "XA-TRAN-YEN");
    assert_eq!(e["finalised_as"], "reviewed");
    assert_eq!(e["not_submitted"], false);
    assert_eq!(e["ranked"], true);
    // 1.2 = 2 of 4 → 10 points of 100: last
    assert_eq!(e["points"], "10");
    assert_eq!(e["rank"], 9);
    let public = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/XA-TRAN-YEN"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(public["result"]["rank"], 9);
}

#[tokio::test]
async fn a_silent_unit_finalised_at_zero_is_published_as_not_submitted_and_comes_back_when_reopened()
 {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let ids = ids(&app, &admin, &period).await;
    for (k, a) in ids.iter().enumerate().take(8) {
        enter_and_submit(&app, a, k).await;
    }
    // XA-BAT-XAT and XA-TRAN-YEN enter 50 points each and never submit
    enter(&app, &ids[8], 8).await;
    enter(&app, &ids[9], 9).await;
    let zero = &ids[9];
    let path = format!("/api/v1/assessments/{zero}/finalise-not-submitted");
    let at_zero = json!({"finalised_as": "at_zero", "reason": "Không nộp sau hai lần gia hạn"});
    assert_problem(
        app.post_json(&path, Some(&admin), &at_zero).await,
        409,
        "PHASE_CLOSED",
    )
    .await;
    transition(&app, &admin, &period, "review").await;
    let seen = get(&app, &admin, zero).await;
    let can = actions(&seen);
    assert!(can.contains(&"finalise_at_zero") && can.contains(&"finalise_as_entered"));
    assert!(!can.contains(&"finalise"), "{can:?}");
    assert_problem(
        app.post_json(&path, Some(&reviewer), &at_zero).await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    assert_problem(
        app.post_json(
            &path,
            Some(&admin),
            &json!({"finalised_as": "reviewed", "reason": "x"}),
        )
        .await,
        422,
        "INVALID_BODY",
    )
    .await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{}/finalise-not-submitted", ids[0]),
            Some(&admin),
            &at_zero,
        )
        .await,
        409,
        "ALREADY_SUBMITTED",
    )
    .await;

    let d = json_ok(app.post_json(&path, Some(&admin), &at_zero).await, 200).await;
    assert_eq!(d["state"], "finalised");
    assert_eq!(d["finalised_as"], "at_zero");
    assert_eq!(d["not_submitted"], true);
    let seen = get(&app, &admin, zero).await;
    assert_eq!(seen["score"]["final_points"], "0");
    assert_eq!(seen["score"]["reviewed_points"], "0");
    assert_eq!(seen["score"]["final_index"], "0.0000");
    assert_eq!(seen["not_submitted"], true);
    assert_eq!(seen["rank"], 10);
    // its answers stay stored; the explained score counts none of them
    assert_eq!(seen["answers"].as_array().unwrap().len(), 3);
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{zero}/score"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(tree["total"]["final_points"], "0");
    assert_eq!(tree["total"]["self_points"], "0");

    let d = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{}/finalise-not-submitted", ids[8]),
            Some(&admin),
            &json!({"finalised_as": "as_entered", "reason": "Đã nhập đủ nhưng lãnh đạo không xác nhận"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(d["finalised_as"], "as_entered");
    assert_eq!(
        get(&app, &admin, &ids[8]).await["score"]["final_points"],
        "50"
    );

    json_ok(
        bulk(
            &app,
            &reviewer,
            &period,
            &json!({"action": "finalise", "items": items(&ids[..8].iter().collect::<Vec<_>>())}),
        )
        .await,
        200,
    )
    .await;
    let before = stored_state(&app);
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        stored_state(&app),
        before,
        "a full recompute changes nothing"
    );

    let v1 = json_ok(publish(&app, &admin, &period).await, 201).await;
    let content = &v1["content"];
    let z = entry(content, "XA-TRAN-YEN");
    assert_eq!(
        (
            &z["finalised_as"],
            &z["not_submitted"],
            &z["points"],
            &z["rank"]
        ),
        (&json!("at_zero"), &json!(true), &json!("0"), &json!(10))
    );
    let e = entry(content, "XA-BAT-XAT");
    assert_eq!(
        (
            &e["finalised_as"],
            &e["not_submitted"],
            &e["points"],
            &e["rank"]
        ),
        (&json!("as_entered"), &json!(true), &json!("50"), &json!(2))
    );
    assert_eq!(entry(content, "PHUONG-NGHIA-LO")["not_submitted"], false);
    let public = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/XA-TRAN-YEN"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(public["result"]["not_submitted"], true);

    // reopened, its answers count again; a recompute still agrees
    let r = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{zero}/reopen"),
            Some(&admin),
            &json!({"reason": "Đơn vị bổ sung hồ sơ"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["state"], "returned");
    let seen = get(&app, &admin, zero).await;
    assert_eq!(seen["finalised_as"], Value::Null);
    assert_eq!(seen["not_submitted"], false);
    assert_eq!(seen["score"]["reviewed_points"], "50");
    let before = stored_state(&app);
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(stored_state(&app), before);
}

#[tokio::test]
async fn an_excluded_unit_is_listed_unranked_and_the_others_rank_and_tie_without_it() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let viewer = app.token_for(Role::Viewer, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let ids = ids(&app, &admin, &period).await;
    for (k, a) in ids.iter().enumerate() {
        enter(&app, a, k).await;
    }
    let overall = ranks(&ranking(&app, &viewer, &period, "").await);
    assert_eq!(overall[1], ("XA-BAT-XAT".into(), json!(2), true, true));
    assert_eq!(overall[2], ("XA-TRAN-YEN".into(), json!(2), true, true));

    let bat_xat = &ids[8];
    let path = format!("/api/v1/assessments/{bat_xat}/ranking-exclusion");
    for token in [
        &viewer,
        &reviewer,
        &app.token_for(Role::UnitLeader, Some("XA-BAT-XAT")),
    ] {
        assert_problem(
            app.put_json(&path, token, &json!({"reason": "x"})).await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
    }
    assert_problem(
        app.put_json(&path, &admin, &json!({"reason": " "})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    let reason = "Đơn vị sáp nhập giữa kỳ, không đủ số liệu cả năm";
    let d = json_ok(
        app.put_json(&path, &admin, &json!({"reason": reason}))
            .await,
        200,
    )
    .await;
    assert_eq!(d["ranked"], false);
    assert_eq!(d["ranking_exclusion"]["reason"], reason);

    // listed last, unranked; TRAN-YEN is alone at 2; every rank below moves up one
    let after = ranks(&ranking(&app, &viewer, &period, "").await);
    let expected: Vec<(&str, Value, bool, bool)> = vec![
        ("PHUONG-NGHIA-LO", json!(1), false, true),
        ("XA-TRAN-YEN", json!(2), false, true),
        ("PHUONG-SA-PA", json!(3), true, true),
        ("PHUONG-YEN-BAI", json!(3), true, true),
        ("XA-BAC-HA", json!(5), true, true),
        ("XA-MUONG-KHUONG", json!(5), true, true),
        ("PHUONG-CAM-DUONG", json!(7), true, true),
        ("PHUONG-LAO-CAI", json!(7), true, true),
        ("PHUONG-VAN-PHU", json!(9), false, true),
        ("XA-BAT-XAT", Value::Null, false, false),
    ];
    let expected: Vec<(String, Value, bool, bool)> = expected
        .into_iter()
        .map(|(c, r, t, k)| (c.to_string(), r, t, k))
        .collect();
    assert_eq!(after, expected);
    // a unit's own rank is counted without it too (SA-PA: 4th before, 3rd now)
    assert_eq!(get(&app, &admin, &ids[2]).await["rank"], 3);
    let page = ranking(&app, &viewer, &period, "").await;
    assert_eq!(page["total"], 10);
    assert_eq!(page["items"][9]["exclusion_reason"], reason);
    assert_eq!(page["items"][9]["points"], "50");
    // main indicator 1: YEN-BAI (30) was tied with BAT-XAT; not any more
    let main = ranks(&ranking(&app, &viewer, &period, "?main_indicator=1").await);
    let yen_bai = main.iter().find(|r| r.0 == "PHUONG-YEN-BAI").unwrap();
    assert_eq!((&yen_bai.1, yen_bai.2), (&json!(3), false));
    let excluded = main.iter().find(|r| r.0 == "XA-BAT-XAT").unwrap();
    assert_eq!((&excluded.1, excluded.3), (&Value::Null, false));
    let pillar = ranks(&ranking(&app, &viewer, &period, "?pillar=CQS").await);
    assert_eq!(pillar, after, "the pillar holds every main indicator here");

    // the unit sees why; its what-if has no rank either
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"));
    let own = get(&app, &leader, bat_xat).await;
    assert_eq!(own["ranked"], false);
    assert_eq!(own["rank"], Value::Null);
    assert_eq!(own["ranking_exclusion"]["reason"], reason);
    let wi = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bat_xat}/what-if"),
            Some(&leader),
            &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 4, "denominator": 4}}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(wi["rank"], Value::Null);
    // another unit's what-if does not count the excluded one: TRAN-YEN at 45 would be 2nd
    // (behind NGHIA-LO's 60), not 3rd behind BAT-XAT's 50
    // the office sees the live ranking; the unit itself sees no rank before publication
    let tran_yen_leader = app.token_for(Role::UnitLeader, Some("XA-TRAN-YEN"));
    let what_if = |token: String| {
        let app = &app;
        let id = ids[9].clone();
        async move {
            json_ok(
                app.post_json(
                    &format!("/api/v1/assessments/{id}/what-if"),
                    Some(&token),
                    &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 3, "denominator": 4}}]}),
                )
                .await,
                200,
            )
            .await
        }
    };
    let wi = what_if(admin.clone()).await;
    assert_eq!(wi["index"], "0.4500");
    assert_eq!(wi["rank"], 2);
    let wi = what_if(tran_yen_leader).await;
    assert_eq!(wi["index"], "0.4500");
    assert_eq!(wi["rank"], Value::Null);
    assert!(actions(&get(&app, &admin, bat_xat).await).contains(&"include_in_ranking"));

    let before = stored_state(&app);
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        stored_state(&app),
        before,
        "a full recompute changes nothing"
    );

    // excluding the best moves everyone up; including it again restores the ranks
    let top = format!("/api/v1/assessments/{}/ranking-exclusion", ids[4]);
    json_ok(
        app.put_json(&top, &admin, &json!({"reason": "Thanh tra"}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        ranks(&ranking(&app, &viewer, &period, "").await)[0],
        ("XA-TRAN-YEN".into(), json!(1), false, true)
    );
    let resp = app
        .request(Method::DELETE, &top, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(json_ok(resp, 200).await["ranked"], true);
    let resp = app
        .request(Method::DELETE, &top, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "NOT_FOUND").await;
    assert_eq!(ranks(&ranking(&app, &viewer, &period, "").await), after);

    // the others are submitted on their behalf and finalised; the excluded unit, never
    // finalised, does not hold the publication back
    let others: Vec<&String> = ids.iter().filter(|a| *a != bat_xat).collect();
    json_ok(
        bulk(
            &app,
            &admin,
            &period,
            &json!({"action": "submit_on_behalf", "reason": "Hết hạn tự đánh giá", "items": items(&others)}),
        )
        .await,
        200,
    )
    .await;
    transition(&app, &admin, &period, "review").await;
    json_ok(
        bulk(
            &app,
            &reviewer,
            &period,
            &json!({"action": "finalise", "items": items(&others)}),
        )
        .await,
        200,
    )
    .await;
    let v1 = json_ok(publish(&app, &admin, &period).await, 201).await;
    let content = &v1["content"];
    let e = entry(content, "XA-BAT-XAT");
    assert_eq!(e["ranked"], false);
    assert_eq!(e["rank"], Value::Null);
    assert_eq!(e["exclusion_reason"], reason);
    assert_eq!(e["state"], "in_progress");
    assert_eq!(e["points"], Value::Null, "no official result to publish");
    assert_eq!(entry(content, "XA-TRAN-YEN")["rank"], 2);
    assert_eq!(entry(content, "XA-TRAN-YEN")["tied"], false);
    assert_eq!(content["rankings"][9]["unit"]["code"], "XA-BAT-XAT");
    let public = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/units/XA-BAT-XAT"))
            .await,
        200,
    )
    .await;
    assert_eq!(public["result"]["ranked"], false);
    assert_eq!(public["result"]["exclusion_reason"], reason);
}

#[tokio::test]
async fn a_bulk_finalise_of_100_assessments_applies_every_one_and_rescores_the_group_once() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    json_ok(
        app.post_json(
            "/api/v1/ranking-groups",
            Some(&admin),
            &json!({"code": "BULK-XA", "name": "Xã (thử nghiệm)", "unit_kind": "commune"}),
        )
        .await,
        201,
    )
    .await;
    for n in 0..100 {
        json_ok(
            app.post_json(
                "/api/v1/units",
                Some(&admin),
                &json!({"code": format!("XA-{n:03}"), "name": format!("Xã số {n}"), "kind": "commune", "groups": ["BULK-XA"]}),
            )
            .await,
            201,
        )
        .await;
    }
    let mut doc = dti_api::api::indicator_sets::example_document();
    doc["code"] = json!("VD-BULK");
    // 2.2 follows the group's best value, so every unit keeps a stored basis
    doc["nodes"][1]["children"][1]["method"] = json!({"type": "relative_to_best"});
    let set_id = crate::fixtures::active_set(&app, &admin, &doc).await;
    let period = crate::fixtures::open_new_period(
        &app,
        &admin,
        &json!({"code": "DTI-BULK", "name": "Kỳ thử nghiệm", "data_year": 2025,
                "groups": [{"group": "BULK-XA", "indicator_set": set_id}]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let list = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), &admin)
            .await,
        200,
    )
    .await;
    let ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 100);
    // a tenth of them answer, so that the scores and ranks are not all equal
    for (k, a) in ids.iter().enumerate().filter(|(k, _)| k % 10 == 0) {
        json_ok(
            app.put_json(&format!("/api/v1/assessments/{a}/answers"), &admin, &{
                let mut body = answers(k / 10);
                body["answers"][2] = json!({"node_code": "2.2", "inputs": {"value": k / 10 + 1}});
                body
            })
            .await,
            200,
        )
        .await;
    }
    let all: Vec<&String> = ids.iter().collect();
    let submitted = json_ok(
        app.request(Method::POST, &format!("/api/v1/periods/{period}/assessments/bulk"), Some(&admin))
            .header("idempotency-key", "submit-100")
            .json(&json!({"action": "submit_on_behalf", "reason": "Hết hạn tự đánh giá", "items": items(&all)}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(submitted["applied"].as_array().unwrap().len(), 100);
    assert_eq!(
        submitted["rescored_groups"], 0,
        "a submission moves no number"
    );
    transition(&app, &admin, &period, "review").await;
    let ranked = |page: Value| -> Vec<(Value, Value, Value, Value)> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["unit"]["code"].clone(),
                    i["rank"].clone(),
                    i["points"].clone(),
                    i["index"].clone(),
                )
            })
            .collect()
    };
    let before = ranked(ranking(&app, &reviewer, &period, "?page_size=500").await);
    let vacuums = scoring_vacuums(&app);

    let done = json_ok(
        bulk(
            &app,
            &reviewer,
            &period,
            &json!({"action": "finalise", "items": items(&all)}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["applied"].as_array().unwrap().len(), 100);
    assert_eq!(done["refused"], json!([]));
    assert_eq!(done["rescored_groups"], 1);
    // the group's rows were all rewritten: vacuumed once the transaction ended
    for ((b, a), t) in
        vacuums
            .iter()
            .zip(scoring_vacuums(&app))
            .zip(["scores", "bases", "candidates"])
    {
        assert!(a > *b, "{t}: vacuumed {b} times before, {a} after the bulk");
    }
    assert!(
        done["applied"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["state"] == "finalised" && x["finalised_as"] == "reviewed")
    );
    let list = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), &admin)
            .await,
        200,
    )
    .await;
    for a in list.as_array().unwrap() {
        assert_eq!(a["state"], "finalised");
        assert_eq!(
            a["score"]["final_points"], a["score"]["reviewed_points"],
            "{a}"
        );
        assert_eq!(
            a["score"]["final_index"], a["score"]["reviewed_index"],
            "{a}"
        );
    }
    assert_eq!(
        ranked(ranking(&app, &reviewer, &period, "?page_size=500").await),
        before
    );
    // one rescore of the group: every unit's basis was stored by one and the same statement
    let stamps: Vec<(i64, i64)> = app.with_conn(|c| {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Stamps {
            #[diesel(sql_type = diesel::sql_types::Int8)]
            bases: i64,
            #[diesel(sql_type = diesel::sql_types::Int8)]
            stamps: i64,
        }
        diesel::sql_query(
            "SELECT count(*) AS bases, count(DISTINCT stamp) AS stamps FROM assessment_bases \
             WHERE period_id = $1::uuid",
        )
        .bind::<diesel::sql_types::Text, _>(&period)
        .load::<Stamps>(c)
        .unwrap()
        .into_iter()
        .map(|s| (s.bases, s.stamps))
        .collect()
    });
    assert_eq!(stamps, [(100, 1)]);
    assert_eq!(
        audit(&app, &admin, "action=assessment.finalise")
            .await
            .len(),
        100
    );
    assert_eq!(audit(&app, &admin, "action=assessment.bulk").await.len(), 2);
    let stored = stored_state(&app);
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        stored_state(&app),
        stored,
        "a full recompute changes nothing"
    );
    let v1 = json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(&admin),
            &json!({"group": "BULK-XA"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(v1["content"]["rankings"].as_array().unwrap().len(), 100);
    // the best: 20 + 20 + 20 (2.2 at the group's best value)
    assert_eq!(v1["content"]["rankings"][0]["points"], "60");
}

/// A period in review where the first five communes submitted (`COMMUNES` order: Lào Cai,
/// Cam Đường, Sa Pa, Yên Bái, Nghĩa Lộ) and Sa Pa's form is finalised already, with the
/// assessment of Bắc Hà in another period over the same group.
struct BulkYear<'a> {
    period: String,
    ids: Vec<String>,
    /// An assessment of another period.
    foreign: String,
    admin: Client<'a>,
    reviewer: Client<'a>,
}

async fn bulk_year(app: &TestApp) -> BulkYear<'_> {
    let admin = app.as_role(Role::Admin, None);
    let reviewer = app.as_role(Role::Reviewer, None);
    let (period, set_id) = open_period(app, admin.token(), |_| {}).await;
    let ids = ids(app, admin.token(), &period).await;
    for (k, a) in ids.iter().enumerate().take(5) {
        enter_and_submit(app, a, k).await;
    }
    let other = admin
        .create_period(
            json!({"code": "DTI-2026", "name": "DTI 2026", "data_year": 2026,
                "groups": [{"group": "LC-XA", "indicator_set": set_id}]}),
        )
        .created()
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    admin.transition(&other, "self_assessment").ok().await;
    let foreign = assessment_of(app, admin.token(), &other, "XA-BAC-HA").await;
    admin.transition(&period, "review").ok().await;
    reviewer.finalise(&ids[2]).ok().await;
    BulkYear {
        period,
        ids,
        foreign,
        admin,
        reviewer,
    }
}

/// A finalise of six items of which four are refused: Mường Khương not submitted, Sa Pa
/// finalised already, an assessment that does not exist, one of another period.
fn six_items(y: &BulkYear<'_>) -> Value {
    json!({"action": "finalise", "items": [
        {"assessment_id": y.ids[0]},
        {"assessment_id": y.ids[7]},
        {"assessment_id": y.ids[2]},
        {"assessment_id": uuid::Uuid::new_v4().to_string()},
        {"assessment_id": y.foreign},
        {"assessment_id": y.ids[1]},
    ]})
}

/// (field, code) of every error of a problem.
fn fields_and_codes(p: &Value) -> Vec<(&str, &str)> {
    p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect()
}

/// A bulk call with any refused item changes nothing, and lists every refusal at once with
/// its item, unit, status and code.
#[tokio::test]
async fn a_bulk_call_with_a_refused_item_changes_nothing_and_lists_every_refusal() {
    let app = spawn_seeded_app().await;
    let y = bulk_year(&app).await;
    let p = y
        .reviewer
        .bulk(&y.period, six_items(&y))
        .problem(409, "BULK_REFUSED")
        .await;
    assert_eq!(
        fields_and_codes(&p),
        vec![
            ("/items/1/assessment_id", "INVALID_STATE"),
            ("/items/2/assessment_id", "ASSESSMENT_FINALISED"),
            ("/items/3/assessment_id", "NOT_FOUND"),
            ("/items/4/assessment_id", "NOT_IN_PERIOD"),
        ]
    );
    assert_eq!(p["refused"], 4);
    assert_eq!(p["total"], 6);
    let r = &p["refusals"];
    assert_eq!(
        r[0],
        json!({"index": 1, "assessment_id": y.ids[7], "unit_code": "XA-MUONG-KHUONG", "status": 409, "code": "INVALID_STATE"})
    );
    assert_eq!(r[1]["unit_code"], "PHUONG-SA-PA");
    assert_eq!(
        (&r[2]["status"], &r[2]["unit_code"]),
        (&json!(404), &Value::Null)
    );
    assert_eq!(r[3]["status"], 422);
    // nothing changed
    for a in [&y.ids[0], &y.ids[1]] {
        assert_eq!(y.admin.assessment(a).ok().await["state"], "submitted");
    }
    assert!(
        audit(&app, y.admin.token(), "action=assessment.finalise")
            .await
            .len()
            == 1
    );
}

/// The refusals of a bulk call are explained in the caller's language, each of them.
#[tokio::test]
async fn bulk_refusals_are_explained_in_vietnamese_each_of_them() {
    let app = spawn_seeded_app().await;
    let y = bulk_year(&app).await;
    let vi = y
        .reviewer
        .bulk(&y.period, six_items(&y))
        .language("vi")
        .problem(409, "BULK_REFUSED")
        .await;
    assert!(
        vi["detail"]
            .as_str()
            .unwrap()
            .starts_with("4 trong số 6 bản đánh giá"),
        "{vi}"
    );
    assert_eq!(
        vi["errors"][1]["message"],
        "bản đánh giá của đơn vị “PHUONG-SA-PA” đã được chốt kết quả"
    );
    assert_eq!(
        vi["errors"][3]["message"],
        "bản đánh giá này thuộc một kỳ đánh giá khác"
    );
    assert!(
        vi["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("đã nộp"),
        "{vi}"
    );
}

/// Asked not to be all or nothing, a bulk call applies the items it can, lists the others,
/// rescores the group once, and applies them once whatever the retries of its idempotency
/// key.
#[tokio::test]
async fn a_partial_bulk_call_applies_the_others_once_whatever_the_retries() {
    let app = spawn_seeded_app().await;
    let y = bulk_year(&app).await;
    let mut partial = six_items(&y);
    partial["all_or_nothing"] = json!(false);
    let send = || {
        y.reviewer
            .bulk(&y.period, partial.clone())
            .idempotency_key("finalise-the-rest")
            .send()
    };
    let first = send().await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_ok(first, 200).await;
    let applied: Vec<u64> = first["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["index"].as_u64().unwrap())
        .collect();
    assert_eq!(applied, [0, 5]);
    let refused: Vec<&str> = first["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        refused,
        [
            "INVALID_STATE",
            "ASSESSMENT_FINALISED",
            "NOT_FOUND",
            "NOT_IN_PERIOD"
        ]
    );
    assert_eq!(first["rescored_groups"], 1);
    let again = send().await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json_ok(again, 200).await, first);
    assert_eq!(
        audit(&app, y.admin.token(), "action=assessment.finalise")
            .await
            .len(),
        3
    );
}

/// A bulk call of the wrong shape is refused with every problem of its shape at once.
#[tokio::test]
async fn a_malformed_bulk_call_lists_every_problem_of_its_shape() {
    let app = spawn_seeded_app().await;
    let y = bulk_year(&app).await;
    let p = y
        .reviewer
        .bulk(
            &y.period,
            json!({"action": "return", "items": [
                {"assessment_id": y.ids[3]}, {"assessment_id": y.ids[3], "reason": "Thiếu minh chứng"}
            ]}),
        )
        .problem(422, "VALIDATION_FAILED")
        .await;
    assert_eq!(
        fields_and_codes(&p),
        [
            ("/items/0/reason", "REQUIRED"),
            ("/items/1/assessment_id", "DUPLICATE")
        ]
    );
    let p = y
        .reviewer
        .bulk(
            &y.period,
            json!({"action": "finalise", "deadline": "2099-01-01T00:00:00Z", "items": []}),
        )
        .problem(422, "VALIDATION_FAILED")
        .await;
    let got: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["LENGTH", "NOT_FOR_ACTION"]);
    y.reviewer
        .bulk(&y.period, json!({"action": "close", "items": []}))
        .problem(422, "INVALID_BODY")
        .await;
}

/// A bulk return gives each unit its own reason where the item has one, and the call's
/// reason to the others; it rescores nothing.
#[tokio::test]
async fn a_bulk_return_gives_each_unit_its_own_reason_or_the_calls() {
    let app = spawn_seeded_app().await;
    let y = bulk_year(&app).await;
    let returned = y
        .reviewer
        .bulk(
            &y.period,
            json!({"action": "return", "reason": "Bổ sung minh chứng", "items": [
                {"assessment_id": y.ids[3], "reason": "Số liệu 1.2 không khớp báo cáo quý IV"},
                {"assessment_id": y.ids[4]}
            ]}),
        )
        .ok()
        .await;
    assert_eq!(returned["rescored_groups"], 0);
    let leader = app.as_role(Role::UnitLeader, Some(COMMUNES[3]));
    let own = leader.assessment(&y.ids[3]).ok().await;
    assert_eq!(own["state"], "returned");
    assert_eq!(
        own["last_action"]["reason"],
        "Số liệu 1.2 không khớp báo cáo quý IV"
    );
    assert_eq!(
        y.admin.assessment(&y.ids[4]).ok().await["last_action"]["reason"],
        "Bổ sung minh chứng"
    );
}

/// Deadlines are extended in bulk by the administrator only, for units that are not
/// finalised; an extended unit writes again after its phase closed.
#[tokio::test]
async fn bulk_deadline_extensions_are_the_administrators_for_units_not_finalised() {
    let app = spawn_seeded_app().await;
    let y = bulk_year(&app).await;
    let p = y
        .reviewer
        .bulk(&y.period, json!({"action": "extend_deadline", "deadline": "2099-01-01T00:00:00Z", "items": [{"assessment_id": y.ids[7]}]}))
        .problem(403, "FORBIDDEN_ROLE")
        .await;
    assert_eq!(p["required_roles"], json!(["admin"]));
    let p = y
        .admin
        .bulk(&y.period, json!({"action": "extend_deadline", "deadline": "2099-01-01T00:00:00Z",
            "items": [{"assessment_id": y.ids[7]}, {"assessment_id": y.ids[2]}, {"assessment_id": y.ids[8]}]}))
        .problem(409, "BULK_REFUSED")
        .await;
    assert_eq!(p["refusals"][0]["index"], 1);
    assert_eq!(p["refusals"][0]["code"], "ASSESSMENT_FINALISED");
    let late = app.as_role(Role::UnitEditor, Some("XA-MUONG-KHUONG"));
    let write = || {
        late.put_answer(
            &y.ids[7],
            "1.2",
            json!({"inputs": {"numerator": 1, "denominator": 4}}),
        )
    };
    write().problem(409, "PHASE_CLOSED").await;
    let extended = y
        .admin
        .bulk(
            &y.period,
            json!({"action": "extend_deadline", "deadline": "2099-01-01T00:00:00Z",
            "items": [{"assessment_id": y.ids[7]}, {"assessment_id": y.ids[8]}]}),
        )
        .ok()
        .await;
    assert_eq!(extended["applied"][0]["deadline"], "2099-01-01T00:00:00Z");
    write().ok().await;
}

#[tokio::test]
async fn office_routes_refuse_exactly_the_roles_they_should_before_reading_the_body() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    let roles: Vec<(&str, Option<String>)> = vec![
        ("admin", Some(admin.clone())),
        ("reviewer", Some(app.token_for(Role::Reviewer, None))),
        ("viewer", Some(app.token_for(Role::Viewer, None))),
        (
            "editor",
            Some(app.token_for(Role::UnitEditor, Some("XA-BAC-HA"))),
        ),
        (
            "leader",
            Some(app.token_for(Role::UnitLeader, Some("XA-BAC-HA"))),
        ),
        ("anonymous", None),
    ];
    let routes: Vec<(Method, String, &[&str])> = vec![
        (
            Method::POST,
            format!("/api/v1/assessments/{a}/submit-on-behalf"),
            &["admin"],
        ),
        (
            Method::POST,
            format!("/api/v1/assessments/{a}/finalise-not-submitted"),
            &["admin"],
        ),
        (
            Method::PUT,
            format!("/api/v1/assessments/{a}/ranking-exclusion"),
            &["admin"],
        ),
        (
            Method::DELETE,
            format!("/api/v1/assessments/{a}/ranking-exclusion"),
            &["admin"],
        ),
        (
            Method::POST,
            format!("/api/v1/periods/{period}/assessments/bulk"),
            &["admin", "reviewer"],
        ),
        (
            Method::GET,
            format!("/api/v1/periods/{period}/progress"),
            &["admin", "reviewer", "viewer"],
        ),
        (
            Method::GET,
            format!("/api/v1/periods/{period}/progress/export"),
            &["admin", "reviewer", "viewer"],
        ),
    ];
    for (method, path, allowed) in &routes {
        for (role, token) in &roles {
            // a body that is not even JSON: a refused caller learns nothing about it
            let mut rb = app
                .client
                .request(method.clone(), app.url(path))
                .header("content-type", "application/json")
                .body("{not json");
            if let Some(t) = token {
                rb = rb.bearer_auth(t);
            }
            let resp = rb.send().await.unwrap();
            let status = resp.status().as_u16();
            assert!(status < 500, "{method} {path} as {role}: {status}");
            if allowed.contains(role) {
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} as {role}: {status}"
                );
            } else if *role == "anonymous" {
                assert_eq!(status, 401, "{method} {path} as {role}");
            } else {
                let p = assert_problem(resp, 403, "FORBIDDEN_ROLE").await;
                assert!(p["errors"].is_null(), "{p}");
            }
        }
    }
}
