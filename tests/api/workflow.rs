//! Leader confirmation, review (adjust, return, finalise), reopen, audit trail.

use dti_api::domain::Role;
use serde_json::json;

use crate::fixtures::{assessment_of, open_period, put};
use crate::helpers::*;

#[tokio::test]
async fn submit_review_adjust_return_resubmit_finalise_with_exact_numbers_and_audit() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let a_editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a_leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let b_editor = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let b_leader = app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"));
    let reviewer = app.token_for(Role::Reviewer, None);
    let a = assessment_of(&app, &a_editor, &period, "XA-BAC-HA").await;
    let b = assessment_of(&app, &b_editor, &period, "XA-BAT-XAT").await;

    // unit A answers everything: 15 + 15 + 30 (measured) + 10 = 70
    json_ok(
        put(
            &app,
            &a_editor,
            &a,
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Biên bản lưu giấy"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        put(
            &app,
            &a_editor,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 3, "denominator": 4}}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        put(
            &app,
            &a_editor,
            &a,
            "2.2",
            json!({"inputs": {"option": "deputy"}}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
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
    // unit B answers one component only
    json_ok(
        put(
            &app,
            &b_editor,
            &b,
            "1.2",
            json!({"inputs": {"numerator": 4, "denominator": 4}}),
        )
        .await,
        200,
    )
    .await;

    // the editor cannot submit; the leader can, once nothing is missing
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&a_editor),
            &json!({}),
        )
        .await,
        403,
        "LEADER_ONLY",
    )
    .await;
    let p = assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{b}/submit"),
            Some(&b_leader),
            &json!({}),
        )
        .await,
        422,
        "INCOMPLETE",
    )
    .await;
    let missing: Vec<(&str, &str)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        missing,
        vec![("1.1", "UNANSWERED"), ("2.2", "UNANSWERED")],
        "automatic 2.1 is not the unit's to answer"
    );
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&b_leader),
            &json!({}),
        )
        .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    let s = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&a_leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(s["state"], "submitted");
    assert_problem(
        put(
            &app,
            &a_editor,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 4, "denominator": 4}}),
        )
        .await,
        409,
        "ALREADY_SUBMITTED",
    )
    .await;
    // the leader's retry is answered as the first time
    let again = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&a_leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again, s);
    // evidence-required 1.1 without evidence or explanation blocks a submission
    json_ok(
        put(&app, &b_editor, &b, "1.1", json!({"inputs": {"value": 4}})).await,
        200,
    )
    .await;
    json_ok(
        put(
            &app,
            &b_editor,
            &b,
            "2.2",
            json!({"inputs": {"option": "chairman"}}),
        )
        .await,
        200,
    )
    .await;
    let p = assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{b}/submit"),
            Some(&b_leader),
            &json!({}),
        )
        .await,
        422,
        "INCOMPLETE",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "EVIDENCE_REQUIRED");
    json_ok(
        put(
            &app,
            &b_editor,
            &b,
            "1.1",
            json!({"inputs": {"value": 4}, "explanation": "Đang số hóa"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{b}/submit"),
            Some(&b_leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;

    // review: adjustments only in the review phase, by reviewers, with a reason
    let adj = json!({"inputs": {"numerator": 2, "denominator": 4}, "reason": "Chỉ 2 biên bản có chữ ký Chủ tịch"});
    assert_problem(
        app.put_json(
            &format!("/api/v1/assessments/{a}/adjustments/1.2"),
            &reviewer,
            &adj,
        )
        .await,
        409,
        "PHASE_CLOSED",
    )
    .await;
    transition(&app, &admin, &period, "review").await;
    assert_problem(
        app.put_json(
            &format!("/api/v1/assessments/{a}/adjustments/1.2"),
            &a_leader,
            &adj,
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    assert_problem(
        app.put_json(
            &format!("/api/v1/assessments/{a}/adjustments/1.2"),
            &reviewer,
            &json!({"inputs": {"numerator": 2, "denominator": 4}, "reason": ""}),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_problem(
        app.put_json(
            &format!("/api/v1/assessments/{a}/adjustments/1.2"),
            &reviewer,
            &json!({"points": "25", "reason": "x"}),
        )
        .await,
        422,
        "INVALID_INPUT",
    )
    .await;
    let r = json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/adjustments/1.2"),
            &reviewer,
            &adj,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["score"]["self_points"], "70", "the self value stays");
    assert_eq!(r["score"]["reviewed_points"], "65");
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{a}/score"), &a_editor)
            .await,
        200,
    )
    .await;
    let n12 = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "1.2")
        .unwrap();
    assert_eq!(
        (n12["self_points"].as_str(), n12["reviewed_points"].as_str()),
        (Some("15"), Some("10"))
    );
    assert_eq!(n12["adjusted"], true);
    assert_eq!(
        tree["adjustments"][0]["reason"],
        "Chỉ 2 biên bản có chữ ký Chủ tịch"
    );

    // return B with a reason; B corrects during review and resubmits
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{b}/return"),
            Some(&reviewer),
            &json!({}),
        )
        .await,
        422,
        "INVALID_BODY",
    )
    .await;
    let ret = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{b}/return"),
            Some(&reviewer),
            &json!({"reason": "Bổ sung minh chứng chỉ số 1.1"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ret["state"], "returned");
    assert_eq!(
        ret["last_action"]["reason"],
        "Bổ sung minh chứng chỉ số 1.1"
    );
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{b}"), &b_leader)
            .await,
        200,
    )
    .await;
    assert!(
        got["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("submit"))
    );
    json_ok(
        put(
            &app,
            &b_editor,
            &b,
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Đã bổ sung"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{b}/submit"),
            Some(&b_leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;

    // finalise both: final = reviewed
    for id in [&a, &b] {
        let f = json_ok(
            app.post_json(
                &format!("/api/v1/assessments/{id}/finalise"),
                Some(&reviewer),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(f["state"], "finalised");
    }
    let fa = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &a_editor)
            .await,
        200,
    )
    .await;
    assert_eq!(fa["score"]["final_points"], "65");
    assert_eq!(fa["score"]["final_index"], "0.6500");
    // B: 15 (tiers 3) + 20 (4/4) + 0 (2.1 never measured) + 20 (chairman) = 55
    let fb = json_ok(
        app.get(&format!("/api/v1/assessments/{b}"), &b_leader)
            .await,
        200,
    )
    .await;
    assert_eq!(fb["score"]["final_points"], "55");
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{a}/finalise"),
            Some(&reviewer),
            &json!({}),
        )
        .await,
        409,
        "ASSESSMENT_FINALISED",
    )
    .await;
    let ranks = json_ok(
        app.get(&format!("/api/v1/periods/{period}/rankings"), &reviewer)
            .await,
        200,
    )
    .await;
    assert_eq!(
        (
            ranks["items"][0]["unit"]["code"].as_str(),
            ranks["items"][0]["index"].as_str()
        ),
        (Some("XA-BAC-HA"), Some("0.6500"))
    );
    assert_eq!(
        (
            ranks["items"][1]["unit"]["code"].as_str(),
            ranks["items"][1]["rank"].as_i64()
        ),
        (Some("XA-BAT-XAT"), Some(2))
    );

    // the admin reopens A for a correction
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{a}/reopen"),
            Some(&reviewer),
            &json!({"reason": "x"}),
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    let re = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/reopen"),
            Some(&admin),
            &json!({"reason": "Sai số liệu 2.2"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(re["state"], "returned");
    let fa = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &a_editor)
            .await,
        200,
    )
    .await;
    assert_eq!(
        fa["score"]["final_points"],
        serde_json::Value::Null,
        "no longer final"
    );

    // every step is in the audit trail, with request ids
    let viewer = app.token_for(Role::Viewer, None);
    let trail = json_ok(
        app.get(
            &format!("/api/v1/audit-events?period_id={period}&page_size=500"),
            &viewer,
        )
        .await,
        200,
    )
    .await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "period.create",
        "period.transition",
        "answer.upsert",
        "assessment.submit",
        "adjustment.upsert",
        "assessment.return",
        "assessment.finalise",
        "assessment.reopen",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    assert!(
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["request_id"].is_string())
    );
    let of_a = json_ok(
        app.get(
            &format!("/api/v1/audit-events?entity_type=assessment&entity_id={a}"),
            &viewer,
        )
        .await,
        200,
    )
    .await;
    let a_actions: Vec<&str> = of_a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        a_actions,
        vec![
            "assessment.reopen",
            "assessment.finalise",
            "assessment.submit"
        ]
    );
    assert_problem(
        app.get("/api/v1/audit-events", &a_editor).await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    assert_problem(
        app.get("/api/v1/audit-events", &reviewer).await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
}

#[tokio::test]
async fn clarifications_let_the_unit_answer_while_its_form_is_locked_and_deadlines_extend() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let other = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let reviewer = app.token_for(Role::Reviewer, None);
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let b = assessment_of(&app, &other, &period, "XA-BAT-XAT").await;
    let body = json!({"answers": [
        {"node_code": "1.1", "inputs": {"value": 2}, "explanation": "x"},
        {"node_code": "1.2", "inputs": {"numerator": 1, "denominator": 2}},
        {"node_code": "2.2", "inputs": {"option": "none"}}
    ]});
    json_ok(
        app.put_json(&format!("/api/v1/assessments/{a}/answers"), &editor, &body)
            .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    transition(&app, &admin, &period, "review").await;

    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{a}/clarifications"),
            Some(&editor),
            &json!({"node_code": "1.2", "message": "?"}),
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    let cl = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/clarifications"),
            Some(&reviewer),
            &json!({"node_code": "1.2", "message": "Đề nghị bổ sung biên bản"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(cl["status"], "open");
    let cid = cl["id"].as_str().unwrap();
    // the form is locked, the thread is not
    assert_problem(
        crate::fixtures::put(
            &app,
            &editor,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 2, "denominator": 2}}),
        )
        .await,
        409,
        "ALREADY_SUBMITTED",
    )
    .await;
    let r = json_ok(
        app.post_json(
            &format!("/api/v1/clarifications/{cid}/messages"),
            Some(&editor),
            &json!({"message": "Đã bổ sung"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["status"], "answered");
    assert_eq!(r["messages"].as_array().unwrap().len(), 2);
    assert_problem(
        app.post_json(
            &format!("/api/v1/clarifications/{cid}/messages"),
            Some(&other),
            &json!({"message": "spam"}),
        )
        .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/assessments/{a}/clarifications"), &other)
            .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    let closed = json_ok(
        app.post_json(
            &format!("/api/v1/clarifications/{cid}/close"),
            Some(&reviewer),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_problem(
        app.post_json(
            &format!("/api/v1/clarifications/{cid}/messages"),
            Some(&editor),
            &json!({"message": "late"}),
        )
        .await,
        409,
        "CLARIFICATION_CLOSED",
    )
    .await;
    let list = json_ok(
        app.get(&format!("/api/v1/assessments/{a}/clarifications"), &leader)
            .await,
        200,
    )
    .await;
    assert_eq!(list[0]["node_code"], "1.2");

    // unit B never submitted; in review it is closed until the admin extends its deadline
    let put_b = || {
        crate::fixtures::put(
            &app,
            &other,
            &b,
            "1.2",
            json!({"inputs": {"numerator": 1, "denominator": 1}}),
        )
    };
    assert_problem(put_b().await, 409, "PHASE_CLOSED").await;
    assert_problem(
        app.put_json(
            &format!("/api/v1/assessments/{b}/deadline"),
            &reviewer,
            &json!({"deadline": "2099-01-01T00:00:00Z"}),
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{b}/deadline"),
            &admin,
            &json!({"deadline": "2099-01-01T00:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(put_b().await, 200).await;
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{b}/deadline"),
            &admin,
            &json!({"deadline": "2020-01-01T00:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    assert_problem(put_b().await, 409, "PHASE_CLOSED").await;
}

#[tokio::test]
async fn integration_tokens_write_automatic_measurements_and_nothing_else() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    assert_problem(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&editor),
            &json!({"name": "x", "scopes": ["automatic:write"]}),
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    assert_problem(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&admin),
            &json!({"name": "x", "scopes": ["root"]}),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    let created = json_ok(app.post_json("/api/v1/integration-tokens", Some(&admin), &json!({"name": "Cổng DVC quốc gia", "scopes": ["automatic:write"], "period_id": period})).await, 201).await;
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("dti_"));
    let listed = json_ok(app.get("/api/v1/integration-tokens", &admin).await, 200).await;
    assert!(listed[0].get("token").is_none(), "the secret is shown once");

    // 2.1 is measured automatically: the platform writes it, 60 % of a target of 80 % → 30
    let w = json_ok(
        crate::fixtures::put(
            &app,
            &token,
            &a,
            "2.1",
            json!({"inputs": {"numerator": 60, "denominator": 100}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "30");
    let p = assert_problem(
        crate::fixtures::put(
            &app,
            &token,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 1, "denominator": 2}}),
        )
        .await,
        422,
        "INVALID_INPUT",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "NOT_AUTOMATIC");
    // it reads nothing and does nothing else
    assert_problem(
        app.get(&format!("/api/v1/assessments/{a}"), &token).await,
        403,
        "INTEGRATION_TOKEN_NOT_ALLOWED",
    )
    .await;
    assert_problem(
        app.get("/api/v1/me", &token).await,
        403,
        "INTEGRATION_TOKEN_NOT_ALLOWED",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/periods/{period}/rankings"), &token)
            .await,
        403,
        "INTEGRATION_TOKEN_NOT_ALLOWED",
    )
    .await;
    // audited as the integration
    let trail = json_ok(
        app.get(
            &format!("/api/v1/audit-events?action=answer.upsert&period_id={period}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(trail["items"][0]["actor_role"], "integration");
    // revoked: refused at once
    json_ok(
        app.request(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/integration-tokens/{}",
                created["id"].as_str().unwrap()
            ),
            Some(&admin),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_problem(
        crate::fixtures::put(
            &app,
            &token,
            &a,
            "2.1",
            json!({"inputs": {"numerator": 70, "denominator": 100}}),
        )
        .await,
        401,
        "TOKEN_INVALID",
    )
    .await;
    assert_problem(
        crate::fixtures::put(
            &app,
            "dti_forged",
            &a,
            "2.1",
            json!({"inputs": {"numerator": 70, "denominator": 100}}),
        )
        .await,
        401,
        "TOKEN_INVALID",
    )
    .await;
}
