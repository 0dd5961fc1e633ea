//! Webhook notifications, end to end: events written in the transaction of their change,
//! delivered by the background worker to a local receiver that verifies every signature with an
//! independent Standard Webhooks implementation (the `standardwebhooks` crate, in
//! `webhooks/receiver.rs`); retries, the delivery log, disabling after persistent failure,
//! manual redelivery, one delivery per event with two replicas, deadline events, and no event
//! for a rolled-back change.

mod receiver;

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::RunQueryDsl;
use dti_api::config::{Config, Mode};
use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    active_set, assessment_of, fill_and_submit, open_new_period, open_period, put,
};
use crate::helpers::*;
use receiver::{Channel, Received};

fn event_type(r: &Received) -> &str {
    r.payload["type"].as_str().unwrap_or("")
}

fn ok(r: &Received) -> bool {
    r.status == 200
}

/// Registers a receiver; returns (id, secret).
pub async fn create_webhook(
    app: &TestApp,
    admin: &str,
    url: &str,
    types: &[&str],
) -> (String, String) {
    let w = json_ok(
        app.post_json(
            "/api/v1/webhooks",
            Some(admin),
            &json!({"url": url, "description": "test receiver", "event_types": types}),
        )
        .await,
        201,
    )
    .await;
    let secret = w["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{w}");
    (w["id"].as_str().unwrap().to_string(), secret)
}

async fn deliveries(app: &TestApp, admin: &str, webhook: &str, query: &str) -> Value {
    json_ok(
        app.get(
            &format!("/api/v1/webhooks/{webhook}/deliveries?page_size=500{query}"),
            admin,
        )
        .await,
        200,
    )
    .await
}

/// Waits (up to 60 s) until the delivery log of `webhook` satisfies `pred`.
async fn wait_log(
    app: &TestApp,
    admin: &str,
    webhook: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let log = deliveries(app, admin, webhook, "").await;
        if pred(&log) {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "delivery log never matched: {}",
            serde_json::to_string_pretty(&log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count_rows(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    app.with_conn(|c| diesel::sql_query(sql).get_result::<N>(c).unwrap().n)
}

async fn post_ok(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    json_ok(app.post_json(path, Some(token), &body).await, 200).await
}

#[tokio::test]
async fn workflow_events_reach_the_receiver_signed_as_an_independent_library_verifies() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let channel = Channel::new();
    let types = [
        "assessment.submitted",
        "assessment.returned",
        "assessment.finalised",
        "assessment.reopened",
        "clarification.opened",
        "clarification.answered",
        "period.phase_changed",
        "publication.published",
        "publication.errata_published",
    ];
    let (webhook, secret) = create_webhook(&app, &admin, &channel.url, &types).await;
    channel.accept_secrets(&[&secret]);

    // the whole cycle: open, submit all, clarify, return and resubmit, review, finalise,
    // publish, reopen, resubmit, finalise, errata
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let forms = fill_and_submit(&app, &period).await;
    let (code_a, a) = &forms[0];
    let (code_b, b) = &forms[1];
    let editor_a = app.token_for(Role::UnitEditor, Some(code_a));
    let leader_b = app.token_for(Role::UnitLeader, Some(code_b));
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
    post_ok(
        &app,
        &editor_a,
        &format!("/api/v1/clarifications/{cl_id}/messages"),
        json!({"message": "Đã bổ sung"}),
    )
    .await;
    post_ok(
        &app,
        &reviewer,
        &format!("/api/v1/assessments/{b}/return"),
        json!({"reason": "Thiếu minh chứng chỉ số 1.1"}),
    )
    .await;
    post_ok(
        &app,
        &leader_b,
        &format!("/api/v1/assessments/{b}/submit"),
        json!({}),
    )
    .await;
    transition(&app, &admin, &period, "review").await;
    for (_, id) in &forms {
        post_ok(
            &app,
            &reviewer,
            &format!("/api/v1/assessments/{id}/finalise"),
            json!({}),
        )
        .await;
    }
    let publications = format!("/api/v1/periods/{period}/publications");
    json_ok(
        app.post_json(&publications, Some(&admin), &json!({"group": "LC-XA"}))
            .await,
        201,
    )
    .await;
    post_ok(
        &app,
        &admin,
        &format!("/api/v1/assessments/{b}/reopen"),
        json!({"reason": "Sai số liệu 2.2"}),
    )
    .await;
    post_ok(
        &app,
        &leader_b,
        &format!("/api/v1/assessments/{b}/submit"),
        json!({}),
    )
    .await;
    post_ok(
        &app,
        &reviewer,
        &format!("/api/v1/assessments/{b}/finalise"),
        json!({}),
    )
    .await;
    json_ok(
        app.post_json(
            &publications,
            Some(&admin),
            &json!({"group": "LC-XA", "changelog": "Sửa số liệu chỉ số 2.2 của một xã"}),
        )
        .await,
        201,
    )
    .await;

    let expected: [(&str, usize); 9] = [
        ("period.phase_changed", 2),
        ("assessment.submitted", 12),
        ("clarification.opened", 1),
        ("clarification.answered", 1),
        ("assessment.returned", 1),
        ("assessment.finalised", 11),
        ("publication.published", 1),
        ("assessment.reopened", 1),
        ("publication.errata_published", 1),
    ];
    let total: usize = expected.iter().map(|(_, n)| n).sum();
    let got = channel.wait_for(total, ok).await;
    // every request was verified by the independent implementation, and answered 200
    assert_eq!(got.len(), total, "nothing more, nothing twice");
    for r in &got {
        assert!(r.verified, "{r:?}");
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        let ts: i64 = r.timestamp.as_deref().unwrap().parse().unwrap();
        assert!((Utc::now().timestamp() - ts).abs() < 300, "{r:?}");
        assert!(r.signature.as_deref().unwrap().starts_with("v1,"));
    }
    for (t, n) in expected {
        assert_eq!(
            got.iter().filter(|r| event_type(r) == t).count(),
            n,
            "{t}: {}",
            got.iter().map(event_type).collect::<Vec<_>>().join(", ")
        );
    }
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_deref().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "one webhook-id per event");

    // what the payloads say
    let returned = got
        .iter()
        .find(|r| event_type(r) == "assessment.returned")
        .unwrap();
    let data = &returned.payload["data"];
    assert_eq!(data["assessment"]["id"], b.as_str());
    assert_eq!(data["assessment"]["state"], "returned");
    assert_eq!(data["unit"]["code"], code_b.as_str());
    assert_eq!(data["period"]["code"], "DTI-2025");
    assert_eq!(data["reason"], "Thiếu minh chứng chỉ số 1.1");
    assert_eq!(data["actor"]["role"], "reviewer");
    assert_eq!(data["link"], format!("/api/v1/assessments/{b}"));
    let answered = got
        .iter()
        .find(|r| event_type(r) == "clarification.answered")
        .unwrap();
    assert_eq!(
        answered.payload["data"]["clarification"]["node_code"],
        "1.2"
    );
    assert_eq!(answered.payload["data"]["clarification"]["id"], cl_id);
    assert_eq!(answered.payload["data"]["actor"]["role"], "unit_editor");
    let phases: Vec<(&str, &str)> = got
        .iter()
        .filter(|r| event_type(r) == "period.phase_changed")
        .map(|r| {
            let c = &r.payload["data"]["phase_change"];
            (c["from"].as_str().unwrap(), c["to"].as_str().unwrap())
        })
        .collect();
    assert!(phases.contains(&("draft", "self_assessment")), "{phases:?}");
    assert!(
        phases.contains(&("self_assessment", "review")),
        "{phases:?}"
    );
    let errata = got
        .iter()
        .find(|r| event_type(r) == "publication.errata_published")
        .unwrap();
    assert_eq!(errata.payload["data"]["publication"]["version"], 2);
    assert_eq!(
        errata.payload["data"]["publication"]["changelog"],
        "Sửa số liệu chỉ số 2.2 của một xã"
    );
    assert_eq!(errata.payload["data"]["publication"]["group_code"], "LC-XA");

    // the delivery log says the same: one successful attempt each, the receiver's answer kept
    let log = wait_log(&app, &admin, &webhook, |l| {
        l["total"] == total
            && l["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "succeeded")
    })
    .await;
    for d in log["items"].as_array().unwrap() {
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["attempt_log"][0]["response_status"], 200);
        assert_eq!(d["attempt_log"][0]["response_body"], "ok");
        let sent = got
            .iter()
            .find(|r| r.id.is_some() && r.id.as_deref() == d["message_id"].as_str())
            .unwrap_or_else(|| panic!("{d} was received"));
        let raw: Value = serde_json::from_str(&sent.raw).unwrap();
        assert_eq!(raw, d["payload"], "the log shows what was sent");
    }
}

#[tokio::test]
async fn a_receiver_failing_its_first_attempts_gets_the_event_on_a_retry_and_the_log_shows_them() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let channel = Channel::new();
    let (webhook, secret) =
        create_webhook(&app, &admin, &channel.url, &["period.phase_changed"]).await;
    channel.accept_secrets(&[&secret]);
    channel.fail_next(2, 503);
    open_period(&app, &admin, |_| {}).await;

    let got = channel.wait_for(1, ok).await;
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 503, 200],
        "two failures, then the retry that succeeds"
    );
    assert!(got.iter().all(|r| r.verified));
    assert!(
        got.iter().all(|r| r.id.is_some() && r.id == got[0].id),
        "every attempt carries the same webhook-id"
    );
    let log = wait_log(&app, &admin, &webhook, |l| {
        l["items"][0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(log["total"], 1);
    let d = &log["items"][0];
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["next_attempt_at"], Value::Null);
    let attempts = d["attempt_log"].as_array().unwrap();
    let statuses: Vec<i64> = attempts
        .iter()
        .map(|a| a["response_status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 503, 200]);
    assert_eq!(attempts[0]["succeeded"], false);
    assert_eq!(attempts[0]["response_body"], "failing on purpose (1 left)");
    assert_eq!(attempts[2]["succeeded"], true);
    // each retry waited at least the configured 200 ms after the attempt before it
    for pair in attempts.windows(2) {
        let t = |a: &Value| {
            chrono::DateTime::parse_from_rfc3339(a["attempted_at"].as_str().unwrap()).unwrap()
        };
        assert!(
            t(&pair[1]) - t(&pair[0]) >= chrono::Duration::milliseconds(200),
            "{pair:?}"
        );
    }
    // the receiver works again: no failure is held against it
    let w = json_ok(
        app.get(&format!("/api/v1/webhooks/{webhook}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(
        (w["enabled"].as_bool(), w["consecutive_failures"].as_i64()),
        (Some(true), Some(0))
    );
    assert_eq!(w["failing_since"], Value::Null);
}

/// Opens a clarification on `assessment` (one `clarification.opened` event).
async fn clarify(app: &TestApp, reviewer: &str, assessment: &str) -> String {
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{assessment}/clarifications"),
            Some(reviewer),
            &json!({"node_code": "1.2", "message": "Đề nghị làm rõ"}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_disabled_and_failed_deliveries_can_be_redelivered() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let channel = Channel::new();
    let (webhook, secret) =
        create_webhook(&app, &admin, &channel.url, &["clarification.opened"]).await;
    channel.accept_secrets(&[&secret]);
    channel.fail_always(500);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;

    // three events, each tried 4 times (the schedule has 3 retries), all failing: the third
    // delivery that fails for good disables the receiver (the tests' threshold is 3)
    for _ in 0..3 {
        clarify(&app, &reviewer, &a).await;
    }
    let log = wait_log(&app, &admin, &webhook, |l| {
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["status"] == "failed")
            .count()
            == 3
    })
    .await;
    for d in log["items"].as_array().unwrap() {
        assert_eq!(d["attempts"], 4, "{d}");
        assert!(
            d["attempt_log"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["response_status"] == 500)
        );
    }
    let w = json_ok(
        app.get(&format!("/api/v1/webhooks/{webhook}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(w["enabled"], false, "{w}");
    assert_eq!(w["consecutive_failures"], 3);
    assert!(
        w["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("3 deliveries in a row"),
        "{w}"
    );
    assert!(w["failing_since"].is_string());
    assert_eq!(channel.received().len(), 12, "4 attempts of 3 events");
    // the disabling is audited as the service's own action
    let trail = json_ok(
        app.get(
            &format!("/api/v1/audit-events?entity_id={webhook}&action=webhook.disable"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(trail["total"], 1, "{trail}");
    assert_eq!(trail["items"][0]["actor_id"], Value::Null);

    // while disabled, new events are not queued for it and nothing is redelivered
    clarify(&app, &reviewer, &a).await;
    let failed = log["items"][0]["id"].as_str().unwrap().to_string();
    let redeliver = format!("/api/v1/webhooks/{webhook}/deliveries/{failed}/redeliver");
    assert_problem(
        app.post_json(&redeliver, Some(&admin), &json!({})).await,
        409,
        "WEBHOOK_DISABLED",
    )
    .await;
    let vi = assert_problem(
        app.request(reqwest::Method::POST, &redeliver, Some(&admin))
            .header("accept-language", "vi")
            .send()
            .await
            .unwrap(),
        409,
        "WEBHOOK_DISABLED",
    )
    .await;
    assert_eq!(
        vi["detail"],
        "Điểm nhận webhook này đang bị tắt; hãy bật lại (PATCH `enabled`: true) trước khi gửi lại."
    );

    // the receiver is repaired and enabled again; the failed delivery is sent again
    channel.recover();
    let w = json_ok(
        app.patch_json(
            &format!("/api/v1/webhooks/{webhook}"),
            &admin,
            &json!({"enabled": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (w["enabled"].as_bool(), w["consecutive_failures"].as_i64()),
        (Some(true), Some(0))
    );
    assert_eq!(w["disabled_reason"], Value::Null);
    let resp = app.post_json(&redeliver, Some(&admin), &json!({})).await;
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let again = json_ok(resp, 202).await;
    assert_eq!(again["redelivery_of"], failed.as_str());
    assert_eq!(again["status"], "pending");
    assert_eq!(again["message_id"], log["items"][0]["message_id"]);
    let new_id = again["id"].as_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("/api/v1/webhooks/{webhook}/deliveries/{new_id}")
    );
    let got = channel.wait_for(1, ok).await;
    let delivered: Vec<&Received> = got.iter().filter(|r| ok(r)).collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].id.as_deref(),
        Some(log["items"][0]["message_id"].as_str().unwrap()),
        "the same webhook-id"
    );
    assert!(delivered[0].verified);
    let start = Instant::now();
    let done = loop {
        let d = json_ok(app.get(&location, &admin).await, 200).await;
        if d["status"] == "succeeded" {
            break d;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["attempt_log"][0]["response_status"], 200);
    // the original stays in the log as it was, and the event of the disabled time was never queued
    let log = deliveries(&app, &admin, &webhook, "").await;
    assert_eq!(log["total"], 4, "3 failed + 1 redelivery: {log}");
    let failed_only = deliveries(&app, &admin, &webhook, "&status=failed").await;
    assert_eq!(failed_only["total"], 3);
    assert_eq!(
        count_rows(
            &app,
            "SELECT count(*) AS n FROM webhook_events WHERE event_type = 'clarification.opened'"
        ),
        4,
        "the event of the disabled time is in the outbox all the same"
    );
    // a delivery still being attempted is not redelivered; nor is another receiver's delivery
    let other = Channel::new();
    let (other_hook, _) = create_webhook(&app, &admin, &other.url, &[]).await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/webhooks/{other_hook}/deliveries/{failed}/redeliver"),
            Some(&admin),
            &json!({}),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn no_event_is_written_or_sent_for_a_change_that_rolls_back() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let channel = Channel::new();
    let (webhook, secret) =
        create_webhook(&app, &admin, &channel.url, &["assessment.submitted"]).await;
    channel.accept_secrets(&[&secret]);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"));
    let a = assessment_of(&app, &editor, &period, "XA-BAT-XAT").await;
    for (node, body) in [
        (
            "1.1",
            json!({"inputs": {"value": 3}, "explanation": "Biên bản lưu giấy"}),
        ),
        ("1.2", json!({"inputs": {"numerator": 3, "denominator": 4}})),
        ("2.2", json!({"inputs": {"option": "deputy"}})),
    ] {
        json_ok(put(&app, &editor, &a, node, body).await, 200).await;
    }
    // the submission fails at COMMIT (a deferred constraint trigger), after everything the
    // transaction wrote, its outbox event included: the whole change rolls back
    app.with_conn(|c| {
        diesel::sql_query(
            "CREATE FUNCTION refuse_submit() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$",
        )
        .execute(c)
        .unwrap();
        diesel::sql_query(
            "CREATE CONSTRAINT TRIGGER refuse_submit AFTER UPDATE ON assessments
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
             WHEN (NEW.state = 'submitted') EXECUTE FUNCTION refuse_submit()",
        )
        .execute(c)
        .unwrap();
    });
    let submit = format!("/api/v1/assessments/{a}/submit");
    let resp = app.post_json(&submit, Some(&leader), &json!({})).await;
    assert_eq!(resp.status().as_u16(), 500);
    assert_eq!(
        count_rows(
            &app,
            "SELECT count(*) AS n FROM webhook_events WHERE event_type = 'assessment.submitted'"
        ),
        0,
        "the rolled-back submission left no event"
    );
    let got = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), &leader).await,
        200,
    )
    .await;
    assert_ne!(got["state"], "submitted");

    // without the fault the same submission commits with exactly one event
    app.with_conn(|c| {
        diesel::sql_query("DROP TRIGGER refuse_submit ON assessments")
            .execute(c)
            .unwrap();
    });
    json_ok(app.post_json(&submit, Some(&leader), &json!({})).await, 200).await;
    let got = channel.wait_for(1, ok).await;
    wait_log(&app, &admin, &webhook, |l| {
        l["items"][0]["status"] == "succeeded"
    })
    .await;
    // once the worker has dispatched every submission event there is, the receiver has this one
    // only: the rolled-back submission never had an event to send
    let start = Instant::now();
    while count_rows(
        &app,
        "SELECT count(*) AS n FROM webhook_events WHERE event_type = 'assessment.submitted' AND dispatched_at IS NULL",
    ) > 0
    {
        assert!(start.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got_again = channel.received();
    assert_eq!(got_again.len(), 1, "{got:?}");
    assert_eq!(
        got_again[0].payload["data"]["assessment"]["state"],
        "submitted"
    );
    assert_eq!(
        count_rows(
            &app,
            "SELECT count(*) AS n FROM webhook_events WHERE event_type = 'assessment.submitted'"
        ),
        1
    );
}

/// A period over LC-XA whose self-assessment phase closes at `closes_at`, opened.
async fn open_period_closing(
    app: &TestApp,
    admin: &str,
    closes_at: chrono::DateTime<Utc>,
) -> String {
    let doc = dti_api::api::indicator_sets::example_document();
    let set_id = active_set(app, admin, &doc).await;
    open_new_period(
        app,
        admin,
        &json!({"code": "DTI-2026", "name": "Đánh giá DTI năm 2026", "data_year": 2026,
                "groups": [{"group": "LC-XA", "indicator_set": set_id}],
                "calendar": [{"phase": "self_assessment",
                              "opens_at": (Utc::now() - chrono::Duration::days(30)).to_rfc3339(),
                              "closes_at": closes_at.to_rfc3339()}]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn two_replicas_send_each_event_once_and_deadline_events_once_per_deadline() {
    let app = spawn_seeded_app().await;
    // a second replica on the same database, with its own worker; in demo mode, because a
    // production start refuses a database whose seeded accounts keep the demo password
    let replica = spawn_replica(Config {
        mode: Mode::Demo,
        ..app.config.clone()
    })
    .await;
    let admin = app.token_for(Role::Admin, None);
    let channel = Channel::new();
    let (webhook, secret) = create_webhook(
        &app,
        &admin,
        &channel.url,
        &[
            "assessment.submitted",
            "assessment.deadline_approaching",
            "assessment.deadline_passed",
        ],
    )
    .await;
    channel.accept_secrets(&[&secret]);

    // the phase closes in 3 days: the 7-day notice is due for every unit; unit A has an
    // extension ending in 12 hours (the 1-day notice), unit B one that has passed
    let period = open_period_closing(&app, &admin, Utc::now() + chrono::Duration::days(3)).await;
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    let b = assessment_of(&app, &admin, &period, "XA-BAT-XAT").await;
    for (id, at) in [
        (&a, Utc::now() + chrono::Duration::hours(12)),
        (&b, Utc::now() - chrono::Duration::hours(1)),
    ] {
        json_ok(
            app.put_json(
                &format!("/api/v1/assessments/{id}/deadline"),
                &admin,
                &json!({"deadline": at.to_rfc3339()}),
            )
            .await,
            200,
        )
        .await;
    }
    let deadline_events = |r: &Received| event_type(r).starts_with("assessment.deadline") && ok(r);
    let days = |r: &Received| r.payload["data"]["deadline"]["days_before"].as_i64();
    // the 1-day notice of A's extension and the passed deadline of B
    channel
        .wait_for(1, |r| deadline_events(r) && days(r) == Some(1))
        .await;
    channel
        .wait_for(1, |r| {
            event_type(r) == "assessment.deadline_passed" && ok(r)
        })
        .await;
    // the 7-day notice of the 8 other units
    channel
        .wait_for(8, |r| {
            deadline_events(r)
                && days(r) == Some(7)
                && !["XA-BAC-HA", "XA-BAT-XAT"]
                    .contains(&r.payload["data"]["unit"]["code"].as_str().unwrap_or(""))
        })
        .await;
    // submissions from both replicas' API
    let forms = fill_and_submit(&app, &period).await;
    channel
        .wait_for(forms.len(), |r| {
            event_type(r) == "assessment.submitted" && ok(r)
        })
        .await;
    // let both workers run several more polls and deadline scans: nothing is sent twice
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let all = channel.received();
    assert!(all.iter().all(|r| r.status == 200 && r.verified));
    let mut ids: Vec<&str> = all.iter().map(|r| r.id.as_deref().unwrap()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no event was delivered twice");
    assert_eq!(
        all.iter()
            .filter(|r| event_type(r) == "assessment.submitted")
            .count(),
        forms.len()
    );
    let of = |unit: &str, pred: &dyn Fn(&Received) -> bool| {
        all.iter()
            .filter(|r| deadline_events(r) && r.payload["data"]["unit"]["code"] == unit)
            .filter(|r| pred(r))
            .count()
    };
    let seven = |r: &Received| days(r) == Some(7);
    let one = |r: &Received| days(r) == Some(1);
    let passed = |r: &Received| event_type(r) == "assessment.deadline_passed";
    for (code, _) in &forms {
        match code.as_str() {
            // A: the 1-day notice of its extension (and the 7-day notice of the phase's close,
            // if a scan came before the extension)
            "XA-BAC-HA" => {
                assert_eq!((of(code, &one), of(code, &passed)), (1, 0));
                assert!(of(code, &seven) <= 1);
            }
            "XA-BAT-XAT" => {
                assert_eq!((of(code, &one), of(code, &passed)), (0, 1));
                assert!(of(code, &seven) <= 1);
            }
            _ => assert_eq!(
                (of(code, &seven), of(code, &one), of(code, &passed)),
                (1, 0, 0),
                "{code}"
            ),
        }
    }
    let b_passed = all.iter().find(|r| passed(r)).unwrap();
    assert_eq!(b_passed.payload["data"]["assessment"]["id"], b.as_str());
    assert!(b_passed.payload["data"]["deadline"]["at"].is_string());
    let a_one = all.iter().find(|r| deadline_events(r) && one(r)).unwrap();
    assert_eq!(a_one.payload["data"]["assessment"]["id"], a.as_str());
    // one event per notice, one notice per (unit, notice, deadline), one delivery each
    let notices = count_rows(&app, "SELECT count(*) AS n FROM deadline_notices");
    let events = count_rows(
        &app,
        "SELECT count(*) AS n FROM webhook_events WHERE event_type LIKE 'assessment.deadline%'",
    );
    assert_eq!(events, notices);
    assert_eq!(
        all.iter().filter(|r| deadline_events(r)).count() as i64,
        events
    );
    let log = deliveries(&app, &admin, &webhook, "").await;
    assert_eq!(log["total"].as_i64().unwrap(), n as i64);
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["attempts"] == 1)
    );
    drop(replica);
}

#[tokio::test]
async fn webhooks_are_for_administrators_with_checked_urls_and_secrets_shown_once() {
    // the production policy: https only, public addresses only
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.webhooks.allow_http = false;
    config.webhooks.allow_private_targets = false;
    let app = spawn_app_with(config).await;
    let admin = app.token_for(Role::Admin, None);
    let create = |body: Value| {
        app.request(reqwest::Method::POST, "/api/v1/webhooks", Some(&admin))
            .json(&body)
            .send()
    };

    for (url, code) in [
        ("ftp://hooks.example.vn/dti", "INVALID_URL"),
        ("hooks.example.vn/dti", "INVALID_URL"),
        (
            "https://user:secret@hooks.example.vn/dti",
            "URL_CREDENTIALS",
        ),
        ("http://hooks.example.vn/dti", "HTTP_NOT_ALLOWED"),
        ("https://127.0.0.1:8080/dti", "PRIVATE_ADDRESS"),
        ("https://10.1.2.3/dti", "PRIVATE_ADDRESS"),
        (
            "https://169.254.169.254/latest/meta-data",
            "PRIVATE_ADDRESS",
        ),
        ("https://[::1]/dti", "PRIVATE_ADDRESS"),
        ("https://[::ffff:192.168.1.1]/dti", "PRIVATE_ADDRESS"),
        ("https://localhost/dti", "PRIVATE_ADDRESS"),
    ] {
        let p = assert_problem(
            create(json!({"url": url})).await.unwrap(),
            422,
            "VALIDATION_FAILED",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "/url", "{url}: {p}");
        assert_eq!(p["errors"][0]["code"], code, "{url}: {p}");
    }
    let p = assert_problem(
        app.request(reqwest::Method::POST, "/api/v1/webhooks", Some(&admin))
            .header("accept-language", "vi")
            .json(&json!({"url": "https://127.0.0.1/dti"}))
            .send()
            .await
            .unwrap(),
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(
        p["errors"][0]["message"],
        "địa chỉ “127.0.0.1” không phải là địa chỉ công khai (nội bộ, loopback hoặc dành riêng) nên không được dùng làm điểm nhận"
    );
    assert!(
        create(json!({"url": "https://8.8.8.8/dti", "event_types": ["assessment.exploded"]}))
            .await
            .unwrap()
            .status()
            .is_client_error()
    );

    // a public address is accepted (no event ever happens in this test, so nothing is sent)
    let resp = create(json!({"url": "https://8.8.8.8/dti", "event_types": ["publication.published", "publication.published"]})).await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let w = json_ok(resp, 201).await;
    let id = w["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/webhooks/{id}"));
    assert_eq!(etag, "\"v1\"");
    assert_eq!(w["event_types"], json!(["publication.published"]));
    let secret = w["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 44,
        "{secret}"
    );
    // never shown again
    let got = app.get(&location, &admin).await.text().await.unwrap();
    assert!(
        !got.contains("whsec_") && !got.contains("secret\":"),
        "{got}"
    );
    let list = app
        .get("/api/v1/webhooks", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains("whsec_"), "{list}");
    let trail = app
        .get("/api/v1/audit-events?entity_type=webhook", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(!trail.contains("whsec_"), "{trail}");
    // rotation shows a new one, once; the old one keeps signing for the overlap
    let r = json_ok(
        app.post_json(
            &format!("{location}/rotate-secret"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_ne!(r["secret"], secret.as_str());
    assert!(r["previous_secret_expires_at"].is_string());
    // changes with If-Match
    assert_problem(
        app.request(reqwest::Method::PATCH, &location, Some(&admin))
            .header("if-match", "\"v1\"")
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap(),
        412,
        "VERSION_MISMATCH",
    )
    .await;
    let w = json_ok(
        app.request(reqwest::Method::PATCH, &location, Some(&admin))
            .header("if-match", "\"v2\"")
            .json(&json!({"enabled": false, "event_types": []}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (w["enabled"].as_bool(), w["version"].as_i64()),
        (Some(false), Some(3))
    );
    assert_eq!(w["disabled_reason"], "disabled by an administrator");
    assert_eq!(w["event_types"], json!([]));
    assert_problem(
        app.patch_json(&location, &admin, &json!({"url": "http://8.8.8.8/"}))
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;

    // every route is the administrator's
    let reviewer = app.token_for(Role::Reviewer, None);
    let viewer = app.token_for(Role::Viewer, None);
    let random = uuid::Uuid::new_v4();
    let routes: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (reqwest::Method::GET, "/api/v1/webhooks".into(), None),
        (
            reqwest::Method::POST,
            "/api/v1/webhooks".into(),
            Some(json!({"url": "https://8.8.8.8/x"})),
        ),
        (reqwest::Method::GET, location.clone(), None),
        (
            reqwest::Method::PATCH,
            location.clone(),
            Some(json!({"enabled": true})),
        ),
        (reqwest::Method::DELETE, location.clone(), None),
        (
            reqwest::Method::POST,
            format!("{location}/rotate-secret"),
            None,
        ),
        (reqwest::Method::GET, format!("{location}/deliveries"), None),
        (
            reqwest::Method::GET,
            format!("{location}/deliveries/{random}"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("{location}/deliveries/{random}/redeliver"),
            None,
        ),
    ];
    for (method, path, body) in &routes {
        for token in [&reviewer, &viewer] {
            let mut rb = app.request(method.clone(), path, Some(token));
            if let Some(b) = body {
                rb = rb.json(b);
            }
            assert_problem(rb.send().await.unwrap(), 403, "FORBIDDEN_ROLE").await;
        }
        let mut rb = app.request(method.clone(), path, None);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        assert_eq!(
            rb.send().await.unwrap().status().as_u16(),
            401,
            "{method} {path}"
        );
    }
    let editor_token = {
        app.with_conn(|c| {
            diesel::sql_query(
                "INSERT INTO units (id, code, name, search_name, kind) VALUES (gen_random_uuid(), 'U-1', 'Đơn vị 1', 'don vi 1', 'department')",
            )
            .execute(c)
            .unwrap();
        });
        app.token_for(Role::UnitEditor, Some("U-1"))
    };
    assert_problem(
        app.get("/api/v1/webhooks", &editor_token).await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;

    assert_problem(
        app.get(&format!("{location}/deliveries/{random}"), &admin)
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let resp = app
        .request(reqwest::Method::DELETE, &location, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_problem(app.get(&location, &admin).await, 404, "NOT_FOUND").await;
    assert_eq!(
        count_rows(&app, "SELECT count(*) AS n FROM webhook_deliveries"),
        0
    );
}

#[tokio::test]
async fn after_a_secret_rotation_deliveries_verify_with_the_old_or_the_new_secret() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let channel = Channel::new();
    let (webhook, old) =
        create_webhook(&app, &admin, &channel.url, &["period.phase_changed"]).await;
    let rotated = json_ok(
        app.post_json(
            &format!("/api/v1/webhooks/{webhook}/rotate-secret"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);

    // a receiver that still holds the old secret verifies the next delivery
    channel.accept_secrets(&[&old]);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let got = channel.wait_for(1, ok).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].verified);
    assert_eq!(
        got[0].signature.as_deref().unwrap().split(' ').count(),
        2,
        "one signature per secret during the overlap"
    );
    // and one that switched to the new secret verifies the one after
    channel.accept_secrets(&[&new]);
    transition(&app, &admin, &period, "review").await;
    let got = channel.wait_for(2, ok).await;
    assert_eq!(got.len(), 2);
    assert!(got[1].verified);
    // with neither, the receiver refuses it: the signature is not a formality
    channel.accept_secrets(&["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
    transition(&app, &admin, &period, "self_assessment").await;
    let got = channel.wait_for(1, |r| r.status == 401).await;
    let refused = got.iter().find(|r| r.status == 401).unwrap();
    assert!(!refused.verified);
    assert_eq!(
        refused.error.as_deref(),
        Some("InvalidSignature"),
        "no signature matches, the headers being all there: {refused:?}"
    );
    let log = wait_log(&app, &admin, &webhook, |l| {
        l["items"][0]["attempt_log"][0]["response_status"] == 401
    })
    .await;
    assert!(
        log["items"][0]["attempt_log"][0]["response_body"]
            .as_str()
            .unwrap()
            .starts_with("signature not verified"),
        "{log}"
    );
}
