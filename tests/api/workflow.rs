//! Leader confirmation, review (adjust, return, finalise), reopen, audit trail.

use dti_api::domain::Role;
use serde_json::json;

use crate::fixtures::{TwoUnits, assessment_of, open_period};
use crate::helpers::*;

/// Two communes of an open period and the people who act on them: Bắc Hà (A) has answered
/// everything (1.1 tiers 3 = 15, explained; 1.2 3 of 4 = 15; 2.1 measured 60 of 100 = 30;
/// 2.2 deputy = 10: 70 points), Bát Xát (B) one component only (1.2, 4 of 4).
async fn two_units(app: &TestApp) -> TwoUnits<'_> {
    let admin = app.as_role(Role::Admin, None);
    let (period, _) = open_period(app, admin.token(), |_| {}).await;
    let a_editor = app.as_role(Role::UnitEditor, Some("XA-BAC-HA"));
    let b_editor = app.as_role(Role::UnitEditor, Some("XA-BAT-XAT"));
    let a = assessment_of(app, a_editor.token(), &period, "XA-BAC-HA").await;
    let b = assessment_of(app, b_editor.token(), &period, "XA-BAT-XAT").await;
    for (node, body) in [
        (
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Biên bản lưu giấy"}),
        ),
        ("1.2", json!({"inputs": {"numerator": 3, "denominator": 4}})),
        ("2.2", json!({"inputs": {"option": "deputy"}})),
    ] {
        a_editor.put_answer(&a, node, body).ok().await;
    }
    // 2.1 is measured by the office, not answered by the unit
    admin
        .put_answer(
            &a,
            "2.1",
            json!({"inputs": {"numerator": 60, "denominator": 100}}),
        )
        .ok()
        .await;
    b_editor
        .put_answer(
            &b,
            "1.2",
            json!({"inputs": {"numerator": 4, "denominator": 4}}),
        )
        .ok()
        .await;
    TwoUnits {
        period,
        a,
        b,
        admin,
        reviewer: app.as_role(Role::Reviewer, None),
        a_editor,
        a_leader: app.as_role(Role::UnitLeader, Some("XA-BAC-HA")),
        b_editor,
        b_leader: app.as_role(Role::UnitLeader, Some("XA-BAT-XAT")),
    }
}

/// [`two_units`] with both forms submitted: B completes its form (1.1 tiers 3, explained;
/// 2.2 chairman: 15 + 20 + 0 for the unmeasured 2.1 + 20 = 55 points).
async fn both_submitted(app: &TestApp) -> TwoUnits<'_> {
    let u = two_units(app).await;
    u.a_leader.submit(&u.a).ok().await;
    u.b_editor
        .put_answer(
            &u.b,
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Đang số hóa"}),
        )
        .ok()
        .await;
    u.b_editor
        .put_answer(&u.b, "2.2", json!({"inputs": {"option": "chairman"}}))
        .ok()
        .await;
    u.b_leader.submit(&u.b).ok().await;
    u
}

/// [`both_submitted`] with the period in its review phase.
async fn in_review(app: &TestApp) -> TwoUnits<'_> {
    let u = both_submitted(app).await;
    u.admin.transition(&u.period, "review").ok().await;
    u
}

/// The reviewer's adjustment of A's 1.2 (3 of 4 → 2 of 4: 15 → 10 points).
fn adjustment() -> serde_json::Value {
    json!({"inputs": {"numerator": 2, "denominator": 4}, "reason": "Chỉ 2 biên bản có chữ ký Chủ tịch"})
}

/// The actions of an audit page, newest first.
fn audit_actions(page: &serde_json::Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// Only the unit's own leader submits its form; the editor and another unit's leader are
/// refused.
#[tokio::test]
async fn only_the_units_own_leader_submits_its_form() {
    let app = spawn_seeded_app().await;
    let u = two_units(&app).await;
    u.a_editor.submit(&u.a).problem(403, "LEADER_ONLY").await;
    u.b_leader.submit(&u.a).problem(403, "NOT_YOUR_UNIT").await;
    let s = u.a_leader.submit(&u.a).ok().await;
    assert_eq!(s["state"], "submitted");
}

/// A form with unanswered components is refused with every missing component listed; the
/// components that the office measures are not the unit's to answer.
#[tokio::test]
async fn a_submission_lists_every_unanswered_component_but_the_measured_ones() {
    let app = spawn_seeded_app().await;
    let u = two_units(&app).await;
    let p = u.b_leader.submit(&u.b).problem(422, "INCOMPLETE").await;
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
}

/// A submitted form takes no more answers, and the leader's retried submission is answered as
/// the first one, without a second submission in the audit trail.
#[tokio::test]
async fn a_submitted_form_is_locked_and_a_retried_submission_is_answered_as_the_first() {
    let app = spawn_seeded_app().await;
    let u = two_units(&app).await;
    let s = u.a_leader.submit(&u.a).ok().await;
    u.a_editor
        .put_answer(
            &u.a,
            "1.2",
            json!({"inputs": {"numerator": 4, "denominator": 4}}),
        )
        .problem(409, "ALREADY_SUBMITTED")
        .await;
    let again = u.a_leader.submit(&u.a).ok().await;
    assert_eq!(again, s);
    let of_a = app
        .as_role(Role::Viewer, None)
        .audit_events()
        .query(&format!("entity_type=assessment&entity_id={}", u.a))
        .ok()
        .await;
    assert_eq!(audit_actions(&of_a), ["assessment.submit"]);
}

/// An answer that requires evidence blocks the submission until it has evidence or an
/// explanation.
#[tokio::test]
async fn an_answer_without_its_required_evidence_or_an_explanation_blocks_the_submission() {
    let app = spawn_seeded_app().await;
    let u = two_units(&app).await;
    u.b_editor
        .put_answer(&u.b, "1.1", json!({"inputs": {"value": 4}}))
        .ok()
        .await;
    u.b_editor
        .put_answer(&u.b, "2.2", json!({"inputs": {"option": "chairman"}}))
        .ok()
        .await;
    let p = u.b_leader.submit(&u.b).problem(422, "INCOMPLETE").await;
    assert_eq!(p["errors"][0]["code"], "EVIDENCE_REQUIRED");
    u.b_editor
        .put_answer(
            &u.b,
            "1.1",
            json!({"inputs": {"value": 4}, "explanation": "Đang số hóa"}),
        )
        .ok()
        .await;
    u.b_leader.submit(&u.b).ok().await;
}

/// Adjustments are made in the review phase only, by reviewers, with a reason, and change the
/// inputs (not the points) of a component.
#[tokio::test]
async fn adjustments_are_the_reviewers_in_the_review_phase_with_a_reason() {
    let app = spawn_seeded_app().await;
    let u = both_submitted(&app).await;
    u.reviewer
        .adjust(&u.a, "1.2", adjustment())
        .problem(409, "PHASE_CLOSED")
        .await;
    u.admin.transition(&u.period, "review").ok().await;
    u.a_leader
        .adjust(&u.a, "1.2", adjustment())
        .problem(403, "FORBIDDEN_ROLE")
        .await;
    u.reviewer
        .adjust(
            &u.a,
            "1.2",
            json!({"inputs": {"numerator": 2, "denominator": 4}, "reason": ""}),
        )
        .problem(422, "VALIDATION_FAILED")
        .await;
    u.reviewer
        .adjust(&u.a, "1.2", json!({"points": "25", "reason": "x"}))
        .problem(422, "INVALID_INPUT")
        .await;
}

/// An adjustment sets the reviewed score and keeps the unit's own; the explained score shows
/// both for the component, marks it adjusted and gives the reason.
#[tokio::test]
async fn an_adjustment_sets_the_reviewed_score_and_keeps_the_units_own() {
    let app = spawn_seeded_app().await;
    let u = in_review(&app).await;
    let r = u.reviewer.adjust(&u.a, "1.2", adjustment()).ok().await;
    assert_eq!(r["score"]["self_points"], "70", "the self value stays");
    assert_eq!(r["score"]["reviewed_points"], "65");
    let tree = u.a_editor.score(&u.a).ok().await;
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
}

/// A form is returned with a reason only; the unit sees why, corrects it during the review
/// phase and submits it again.
#[tokio::test]
async fn a_returned_form_is_the_units_to_correct_and_submit_again_during_review() {
    let app = spawn_seeded_app().await;
    let u = in_review(&app).await;
    u.reviewer
        .return_to_unit(&u.b, json!({}))
        .problem(422, "INVALID_BODY")
        .await;
    let ret = u
        .reviewer
        .return_to_unit(&u.b, json!({"reason": "Bổ sung minh chứng chỉ số 1.1"}))
        .ok()
        .await;
    assert_eq!(ret["state"], "returned");
    assert_eq!(
        ret["last_action"]["reason"],
        "Bổ sung minh chứng chỉ số 1.1"
    );
    let got = u.b_leader.assessment(&u.b).ok().await;
    assert!(
        got["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("submit"))
    );
    u.b_editor
        .put_answer(
            &u.b,
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Đã bổ sung"}),
        )
        .ok()
        .await;
    let s = u.b_leader.submit(&u.b).ok().await;
    assert_eq!(s["state"], "submitted");
}

/// Finalised forms take their reviewed scores as final, exactly, and rank the group.
#[tokio::test]
async fn finalised_forms_score_as_reviewed_and_rank_the_group() {
    let app = spawn_seeded_app().await;
    let u = in_review(&app).await;
    u.reviewer.adjust(&u.a, "1.2", adjustment()).ok().await;
    for id in [&u.a, &u.b] {
        let f = u.reviewer.finalise(id).ok().await;
        assert_eq!(f["state"], "finalised");
    }
    let fa = u.a_editor.assessment(&u.a).ok().await;
    assert_eq!(fa["score"]["final_points"], "65");
    assert_eq!(fa["score"]["final_index"], "0.6500");
    // B: 15 (tiers 3) + 20 (4/4) + 0 (2.1 never measured) + 20 (chairman) = 55
    let fb = u.b_leader.assessment(&u.b).ok().await;
    assert_eq!(fb["score"]["final_points"], "55");
    let ranks = u.reviewer.rankings(&u.period).ok().await;
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
}

/// A finalised form is not finalised again.
#[tokio::test]
async fn a_finalised_form_is_not_finalised_twice() {
    let app = spawn_seeded_app().await;
    let u = in_review(&app).await;
    u.reviewer.finalise(&u.a).ok().await;
    u.reviewer
        .finalise(&u.a)
        .problem(409, "ASSESSMENT_FINALISED")
        .await;
}

/// Only the administrator reopens a finalised form, with a reason; it goes back to the unit
/// and its score is no longer final.
#[tokio::test]
async fn only_the_administrator_reopens_a_finalised_form_and_it_is_no_longer_final() {
    let app = spawn_seeded_app().await;
    let u = in_review(&app).await;
    u.reviewer.finalise(&u.a).ok().await;
    u.reviewer
        .reopen(&u.a, json!({"reason": "x"}))
        .problem(403, "FORBIDDEN_ROLE")
        .await;
    let re = u
        .admin
        .reopen(&u.a, json!({"reason": "Sai số liệu 2.2"}))
        .ok()
        .await;
    assert_eq!(re["state"], "returned");
    let fa = u.a_editor.assessment(&u.a).ok().await;
    assert_eq!(
        fa["score"]["final_points"],
        serde_json::Value::Null,
        "no longer final"
    );
}

/// Every step of a year (period, answers, submissions, adjustments, returns, finalisation,
/// reopening) is in the audit trail with its request id, and an assessment's own trail lists
/// its steps newest first.
#[tokio::test]
async fn every_step_is_in_the_audit_trail_with_its_request_id() {
    let app = spawn_seeded_app().await;
    let u = in_review(&app).await;
    u.reviewer.adjust(&u.a, "1.2", adjustment()).ok().await;
    u.reviewer
        .return_to_unit(&u.b, json!({"reason": "Bổ sung minh chứng chỉ số 1.1"}))
        .ok()
        .await;
    u.reviewer.finalise(&u.a).ok().await;
    u.admin
        .reopen(&u.a, json!({"reason": "Sai số liệu 2.2"}))
        .ok()
        .await;

    let viewer = app.as_role(Role::Viewer, None);
    let trail = viewer
        .audit_events()
        .query(&format!("period_id={}&page_size=500", u.period))
        .ok()
        .await;
    let actions = audit_actions(&trail);
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
    let of_a = viewer
        .audit_events()
        .query(&format!("entity_type=assessment&entity_id={}", u.a))
        .ok()
        .await;
    assert_eq!(
        audit_actions(&of_a),
        vec![
            "assessment.reopen",
            "assessment.finalise",
            "assessment.submit"
        ]
    );
}

/// Units and reviewers do not read the audit trail.
#[tokio::test]
async fn units_and_reviewers_do_not_read_the_audit_trail() {
    let app = spawn_seeded_app().await;
    for (role, unit) in [
        (Role::UnitEditor, Some("XA-BAC-HA")),
        (Role::Reviewer, None),
    ] {
        app.as_role(role, unit)
            .audit_events()
            .problem(403, "FORBIDDEN_ROLE")
            .await;
    }
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
    crate::fixtures::answer_and_submit(&app, "XA-BAC-HA", &a, &body).await;
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
