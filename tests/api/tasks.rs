//! `GET /me/tasks`: what waits for each role, with links, reasons in the caller's language,
//! bounds, and nothing of another unit.

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{TwoUnits, assessment_of, open_period};
use crate::helpers::*;

/// (kind, node code or unit code) of every task, in order.
fn summary(t: &Value) -> Vec<(String, String)> {
    t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let what = i["node_code"]
                .as_str()
                .or(i["unit"]["code"].as_str())
                .or(i["phase"].as_str())
                .unwrap_or("")
                .to_string();
            (i["kind"].as_str().unwrap().to_string(), what)
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn total(t: &Value, kind: &str) -> i64 {
    t["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("{kind} in {t}"))["total"]
        .as_i64()
        .unwrap()
}

/// Two communes of an open period: Bắc Hà (A) has answered everything, but 1.1 (evidence
/// required) has neither evidence nor explanation; Bát Xát (B) has answered everything
/// properly and waits for its leader.
async fn two_units(app: &TestApp) -> TwoUnits<'_> {
    let admin = app.as_role(Role::Admin, None);
    let (period, _) = open_period(app, admin.token(), |_| {}).await;
    let a_editor = app.as_role(Role::UnitEditor, Some("XA-BAC-HA"));
    let b_editor = app.as_role(Role::UnitEditor, Some("XA-BAT-XAT"));
    let a = assessment_of(app, a_editor.token(), &period, "XA-BAC-HA").await;
    let b = assessment_of(app, b_editor.token(), &period, "XA-BAT-XAT").await;
    for (node, body) in [
        ("1.1", json!({"inputs": {"value": 3}})),
        ("1.2", json!({"inputs": {"numerator": 3, "denominator": 4}})),
        ("2.2", json!({"inputs": {"option": "deputy"}})),
    ] {
        a_editor.put_answer(&a, node, body).ok().await;
    }
    for (node, body) in [
        (
            "1.1",
            json!({"inputs": {"value": 4}, "explanation": "Biên bản lưu giấy"}),
        ),
        ("1.2", json!({"inputs": {"numerator": 4, "denominator": 4}})),
        ("2.2", json!({"inputs": {"option": "chairman"}})),
    ] {
        b_editor.put_answer(&b, node, body).ok().await;
    }
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

/// [`two_units`] with B submitted by its leader.
async fn b_submitted(app: &TestApp) -> TwoUnits<'_> {
    let u = two_units(app).await;
    u.b_leader.submit(&u.b).ok().await;
    u
}

/// [`b_submitted`] with B returned by the reviewer with a reason.
async fn b_returned(app: &TestApp) -> TwoUnits<'_> {
    let u = b_submitted(app).await;
    u.reviewer
        .return_to_unit(&u.b, json!({"reason": "Bổ sung minh chứng chỉ số 1.1"}))
        .ok()
        .await;
    u
}

/// An answer that lacks its required evidence is a task of the unit's editor and leader,
/// with a link to the evidence, the assessment, the period and the reason; the counts list
/// every kind of a unit's task.
#[tokio::test]
async fn an_answer_without_its_required_evidence_is_the_units_task() {
    let app = spawn_seeded_app().await;
    let u = two_units(&app).await;
    let t = u.a_editor.tasks().ok().await;
    assert_eq!(t["role"], "unit_editor");
    assert_eq!(summary(&t), pairs(&[("evidence_missing", "1.1")]));
    let item = &t["items"][0];
    assert_eq!(
        item["link"],
        format!("/api/v1/assessments/{}/answers/1.1/evidence", u.a)
    );
    assert_eq!(item["assessment_id"], u.a.as_str());
    assert_eq!(item["period"]["code"], "DTI-2025");
    assert!(
        item["reason"]
            .as_str()
            .unwrap()
            .contains("requires evidence"),
        "{item}"
    );
    let kinds: Vec<&str> = t["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "assessment_returned",
            "clarification_awaiting_unit",
            "evidence_missing"
        ]
    );
    // the leader of A has the same
    assert_eq!(
        summary(&u.a_leader.tasks().ok().await),
        pairs(&[("evidence_missing", "1.1")])
    );
}

/// A complete form is its leader's to confirm, not its editor's; once submitted it is no
/// longer anyone's in the unit.
#[tokio::test]
async fn a_complete_form_waits_for_its_leader_until_submitted() {
    let app = spawn_seeded_app().await;
    let u = two_units(&app).await;
    let t = u.b_leader.tasks().ok().await;
    assert_eq!(summary(&t), pairs(&[("ready_to_submit", "")]));
    assert_eq!(
        t["items"][0]["link"],
        format!("/api/v1/assessments/{}", u.b)
    );
    assert_eq!(summary(&u.b_editor.tasks().ok().await), vec![]);
    u.b_leader.submit(&u.b).ok().await;
    assert_eq!(summary(&u.b_leader.tasks().ok().await), vec![]);
}

/// A submitted form waits for the reviewer, with its link and state.
#[tokio::test]
async fn a_submitted_form_waits_for_the_reviewer() {
    let app = spawn_seeded_app().await;
    let u = b_submitted(&app).await;
    let t = u.reviewer.tasks().ok().await;
    assert_eq!(
        summary(&t),
        pairs(&[("assessment_submitted", "XA-BAT-XAT")])
    );
    assert_eq!(
        t["items"][0]["link"],
        format!("/api/v1/assessments/{}", u.b)
    );
    assert_eq!(t["items"][0]["state"], "submitted");
}

/// A reviewer's question waits for the unit (and no other unit), then, answered, for the
/// reviewer.
#[tokio::test]
async fn a_clarification_waits_for_the_unit_then_for_the_reviewer() {
    let app = spawn_seeded_app().await;
    let u = b_submitted(&app).await;
    let cl = u
        .reviewer
        .ask(&u.a, "1.2", "Đề nghị bổ sung biên bản")
        .created()
        .await;
    let cl_id = cl["id"].as_str().unwrap();
    let t = u.a_editor.tasks().ok().await;
    assert_eq!(
        summary(&t),
        pairs(&[
            ("clarification_awaiting_unit", "1.2"),
            ("evidence_missing", "1.1")
        ])
    );
    assert_eq!(t["items"][0]["clarification_id"], cl_id);
    assert_eq!(
        t["items"][0]["link"],
        format!("/api/v1/assessments/{}/clarifications", u.a)
    );
    // another unit sees nothing of A's
    let editor_c = app.as_role(Role::UnitEditor, Some("XA-MUONG-KHUONG"));
    assert_eq!(summary(&editor_c.tasks().ok().await), vec![]);
    // A answers: the reviewer has it now, A no longer
    u.a_editor.reply(cl_id, "Đã bổ sung").ok().await;
    assert_eq!(
        summary(&u.a_editor.tasks().ok().await),
        pairs(&[("evidence_missing", "1.1")])
    );
    let t = u.reviewer.tasks().ok().await;
    assert_eq!(
        summary(&t),
        pairs(&[
            ("assessment_submitted", "XA-BAT-XAT"),
            ("clarification_answered", "1.2")
        ])
    );
    assert_eq!(t["items"][1]["unit"]["code"], "XA-BAC-HA");
    assert_eq!(t["items"][1]["clarification_id"], cl_id);
}

/// A returned form is the unit's to do again, with the reviewer's reason, in the caller's
/// language; complete again, it is also its leader's to confirm.
#[tokio::test]
async fn a_returned_form_is_the_units_again_with_the_reason_in_its_language() {
    let app = spawn_seeded_app().await;
    let u = b_returned(&app).await;
    let t = u.b_editor.tasks().ok().await;
    assert_eq!(summary(&t), pairs(&[("assessment_returned", "XA-BAT-XAT")]));
    assert!(
        t["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Bổ sung minh chứng chỉ số 1.1"),
        "{t}"
    );
    // in Vietnamese on request
    let resp = u.b_editor.tasks().language("vi-VN, en;q=0.5").send().await;
    assert_eq!(resp.headers()["content-language"], "vi");
    let vi = json_ok(resp, 200).await;
    assert_eq!(
        vi["items"][0]["reason"],
        "Bản tự đánh giá kỳ DTI-2025 bị cán bộ thẩm định trả lại với lý do: “Bổ sung minh chứng chỉ số 1.1”; hãy chỉnh sửa và nộp lại (hạn nộp 06:59 ngày 01/02/2026 (giờ Việt Nam))."
    );
    assert_eq!(
        summary(&u.b_leader.tasks().ok().await),
        pairs(&[
            ("ready_to_submit", ""),
            ("assessment_returned", "XA-BAT-XAT")
        ])
    );
}

/// After the self-assessment phase closed, every unit that has not submitted (a returned one
/// too) is overdue for the administrator.
#[tokio::test]
async fn every_unit_not_submitted_after_the_phase_closed_is_overdue() {
    let app = spawn_seeded_app().await;
    let u = b_returned(&app).await;
    // the phase closed on 31 January: 10 communes, B returned
    let t = u.admin.tasks().ok().await;
    assert_eq!(total(&t, "unit_overdue"), 10, "{t}");
    assert_eq!(total(&t, "phase_ending_soon"), 0);
    let first = &t["items"][0];
    assert_eq!(first["kind"], "unit_overdue");
    assert_eq!(first["due_at"], "2026-01-31T23:59:59Z");
    assert!(
        first["reason"]
            .as_str()
            .unwrap()
            .contains("has not submitted"),
        "{first}"
    );
}

/// A phase that closes soon is the administrator's task; while it is open, only a unit whose
/// own deadline has passed is overdue.
#[tokio::test]
async fn a_phase_ending_soon_and_a_unit_past_its_own_deadline_are_the_administrators() {
    let app = spawn_seeded_app().await;
    let u = b_returned(&app).await;
    // the phase is extended to close in two days
    let soon = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE period_phases SET closes_at = '{soon}' WHERE phase = 'self_assessment'"
        ))
        .execute(c)
        .unwrap();
    });
    u.admin
        .set_deadline(&u.a, "2026-01-15T00:00:00Z")
        .ok()
        .await;
    let t = u.admin.tasks().ok().await;
    assert_eq!(
        summary(&t),
        pairs(&[
            ("phase_ending_soon", "self_assessment"),
            ("unit_overdue", "XA-BAC-HA")
        ])
    );
    assert_eq!(
        t["items"][0]["link"],
        format!("/api/v1/periods/{}", u.period)
    );
    assert!(
        t["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("self-assessment phase"),
        "{t}"
    );
    assert_eq!(
        t["items"][1]["link"],
        format!("/api/v1/assessments/{}", u.a)
    );
    assert_eq!(t["items"][1]["state"], "in_progress");
}

/// A viewer has nothing to do; anonymous callers are refused.
#[tokio::test]
async fn a_viewer_has_no_task_and_anonymous_callers_are_refused() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    open_period(&app, &admin, |_| {}).await;
    let t = app.as_role(Role::Viewer, None).tasks().ok().await;
    assert_eq!(
        (
            t["items"].as_array().unwrap().len(),
            t["counts"].as_array().unwrap().len()
        ),
        (0, 0)
    );
    assert_eq!(app.anonymous().tasks().send().await.status().as_u16(), 401);
}

#[tokio::test]
async fn the_list_is_bounded_per_kind_with_every_kind_counted() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    open_period(&app, &admin, |_| {}).await;
    let t = json_ok(app.get("/api/v1/me/tasks?limit=3", &admin).await, 200).await;
    assert_eq!(t["limit_per_kind"], 3);
    let overdue = t["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "unit_overdue")
        .unwrap();
    assert_eq!(
        (overdue["total"].as_i64(), overdue["listed"].as_i64()),
        (Some(10), Some(3))
    );
    assert_eq!(t["items"].as_array().unwrap().len(), 3);
    // the most overdue first, then by unit code
    let codes: Vec<&str> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["unit"]["code"].as_str().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    for bad in ["0", "501", "-1", "x"] {
        let resp = app
            .get(&format!("/api/v1/me/tasks?limit={bad}"), &admin)
            .await;
        assert!(
            [400, 422].contains(&resp.status().as_u16()),
            "{bad}: {}",
            resp.status()
        );
    }
}
