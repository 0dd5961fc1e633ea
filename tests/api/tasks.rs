//! `GET /me/tasks`: what waits for each role, with links, reasons in the caller's language,
//! bounds, and nothing of another unit.

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_period, put};
use crate::helpers::*;

async fn tasks(app: &TestApp, token: &str) -> Value {
    json_ok(app.get("/api/v1/me/tasks", token).await, 200).await
}

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

#[tokio::test]
async fn each_role_sees_what_waits_for_it_with_links_and_reasons() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let viewer = app.token_for(Role::Viewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor_a = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let leader_a = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let editor_b = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let leader_b = app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"));
    let editor_c = app.token_for(Role::UnitEditor, Some("XA-MUONG-KHUONG"));
    let a = assessment_of(&app, &editor_a, &period, "XA-BAC-HA").await;
    let b = assessment_of(&app, &editor_b, &period, "XA-BAT-XAT").await;

    // A answers everything, but 1.1 (evidence required) has neither evidence nor explanation
    for (node, body) in [
        ("1.1", json!({"inputs": {"value": 3}})),
        ("1.2", json!({"inputs": {"numerator": 3, "denominator": 4}})),
        ("2.2", json!({"inputs": {"option": "deputy"}})),
    ] {
        json_ok(put(&app, &editor_a, &a, node, body).await, 200).await;
    }
    // B answers everything properly
    for (node, body) in [
        (
            "1.1",
            json!({"inputs": {"value": 4}, "explanation": "Biên bản lưu giấy"}),
        ),
        ("1.2", json!({"inputs": {"numerator": 4, "denominator": 4}})),
        ("2.2", json!({"inputs": {"option": "chairman"}})),
    ] {
        json_ok(put(&app, &editor_b, &b, node, body).await, 200).await;
    }

    let t = tasks(&app, &editor_a).await;
    assert_eq!(t["role"], "unit_editor");
    assert_eq!(summary(&t), pairs(&[("evidence_missing", "1.1")]));
    let item = &t["items"][0];
    assert_eq!(
        item["link"],
        format!("/api/v1/assessments/{a}/answers/1.1/evidence")
    );
    assert_eq!(item["assessment_id"], a.as_str());
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
    // the leader of A has the same; the leader of B has a form ready to confirm
    assert_eq!(
        summary(&tasks(&app, &leader_a).await),
        pairs(&[("evidence_missing", "1.1")])
    );
    let t = tasks(&app, &leader_b).await;
    assert_eq!(summary(&t), pairs(&[("ready_to_submit", "")]));
    assert_eq!(t["items"][0]["link"], format!("/api/v1/assessments/{b}"));
    // the editor of B has nothing to do; the leader confirms
    assert_eq!(summary(&tasks(&app, &editor_b).await), vec![]);
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{b}/submit"),
            Some(&leader_b),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(summary(&tasks(&app, &leader_b).await), vec![]);

    // the reviewer: B's submitted form; then asks A about 1.2
    let t = tasks(&app, &reviewer).await;
    assert_eq!(
        summary(&t),
        pairs(&[("assessment_submitted", "XA-BAT-XAT")])
    );
    assert_eq!(t["items"][0]["link"], format!("/api/v1/assessments/{b}"));
    assert_eq!(t["items"][0]["state"], "submitted");
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
    let cl_id = cl["id"].as_str().unwrap();
    let t = tasks(&app, &editor_a).await;
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
        format!("/api/v1/assessments/{a}/clarifications")
    );
    // another unit sees nothing of A's
    assert_eq!(summary(&tasks(&app, &editor_c).await), vec![]);
    // A answers: the reviewer has it now, A no longer
    json_ok(
        app.post_json(
            &format!("/api/v1/clarifications/{cl_id}/messages"),
            Some(&editor_a),
            &json!({"message": "Đã bổ sung"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        summary(&tasks(&app, &editor_a).await),
        pairs(&[("evidence_missing", "1.1")])
    );
    let t = tasks(&app, &reviewer).await;
    assert_eq!(
        summary(&t),
        pairs(&[
            ("assessment_submitted", "XA-BAT-XAT"),
            ("clarification_answered", "1.2")
        ])
    );
    assert_eq!(t["items"][1]["unit"]["code"], "XA-BAC-HA");
    assert_eq!(t["items"][1]["clarification_id"], cl_id);

    // the reviewer returns B: it is B's to do again, with the reason
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{b}/return"),
            Some(&reviewer),
            &json!({"reason": "Bổ sung minh chứng chỉ số 1.1"}),
        )
        .await,
        200,
    )
    .await;
    let t = tasks(&app, &editor_b).await;
    assert_eq!(summary(&t), pairs(&[("assessment_returned", "XA-BAT-XAT")]));
    assert!(
        t["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Bổ sung minh chứng chỉ số 1.1"),
        "{t}"
    );
    // in Vietnamese on request
    let resp = app
        .request(reqwest::Method::GET, "/api/v1/me/tasks", Some(&editor_b))
        .header("accept-language", "vi-VN, en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-language"], "vi");
    let vi = json_ok(resp, 200).await;
    assert_eq!(
        vi["items"][0]["reason"],
        "Bản tự đánh giá kỳ DTI-2025 bị cán bộ thẩm định trả lại với lý do: “Bổ sung minh chứng chỉ số 1.1”; hãy chỉnh sửa và nộp lại (hạn nộp 06:59 ngày 01/02/2026 (giờ Việt Nam))."
    );
    // the leader of B has the returned form; it is complete again, so also ready to confirm
    assert_eq!(
        summary(&tasks(&app, &leader_b).await),
        pairs(&[
            ("ready_to_submit", ""),
            ("assessment_returned", "XA-BAT-XAT")
        ])
    );

    // the administrator: the self-assessment phase closed on 31 January, so every unit that
    // has not submitted is overdue (10 communes, B returned)
    let t = tasks(&app, &admin).await;
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
    // the phase is extended to close in two days: no one is overdue but the unit whose own
    // deadline has passed, and the phase's end is near
    let soon = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE period_phases SET closes_at = '{soon}' WHERE phase = 'self_assessment'"
        ))
        .execute(c)
        .unwrap();
    });
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/deadline"),
            &admin,
            &json!({"deadline": "2026-01-15T00:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    let t = tasks(&app, &admin).await;
    assert_eq!(
        summary(&t),
        pairs(&[
            ("phase_ending_soon", "self_assessment"),
            ("unit_overdue", "XA-BAC-HA")
        ])
    );
    assert_eq!(t["items"][0]["link"], format!("/api/v1/periods/{period}"));
    assert!(
        t["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("self-assessment phase"),
        "{t}"
    );
    assert_eq!(t["items"][1]["link"], format!("/api/v1/assessments/{a}"));
    assert_eq!(t["items"][1]["state"], "in_progress");

    // a viewer has nothing to do; anonymous callers are refused
    let t = tasks(&app, &viewer).await;
    assert_eq!(
        (
            t["items"].as_array().unwrap().len(),
            t["counts"].as_array().unwrap().len()
        ),
        (0, 0)
    );
    assert_eq!(
        app.get_public("/api/v1/me/tasks").await.status().as_u16(),
        401
    );
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
