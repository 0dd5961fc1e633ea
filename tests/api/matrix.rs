//! Authorisation matrix: every assessment-level route × role (admin, reviewer, viewer, editor
//! and leader of unit A, of unit B, anonymous) × phase. Asserts exactly who is refused (401/403);
//! those let through may still get 409/422 for the state of the data, never a refusal for who
//! they are.

use std::collections::BTreeSet;

use dti_api::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_period};
use crate::helpers::*;

const ROLES: [&str; 8] = [
    "admin",
    "reviewer",
    "viewer",
    "editor_a",
    "leader_a",
    "editor_b",
    "leader_b",
    "anonymous",
];

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Roles let through (all others must get 401 or 403).
    allowed: BTreeSet<String>,
}

async fn check(app: &TestApp, tokens: &[(String, Option<String>)], routes: &[Route], phase: &str) {
    for r in routes {
        let mut let_through = BTreeSet::new();
        for (role, token) in tokens {
            let mut rb = app.client.request(r.method.clone(), app.url(&r.path));
            if let Some(t) = token {
                rb = rb.bearer_auth(t);
            }
            if let Some(b) = &r.body {
                rb = rb.json(b);
            }
            let resp = rb.send().await.unwrap();
            let status = resp.status().as_u16();
            assert!(
                status < 500,
                "{phase} {} {} as {role}: {status}",
                r.method,
                r.path
            );
            if role == "anonymous" && !r.allowed.contains("anonymous") {
                assert_eq!(status, 401, "{phase} {} {} as anonymous", r.method, r.path);
            }
            if status != 401 && status != 403 {
                let_through.insert(role.clone());
            }
        }
        assert_eq!(let_through, r.allowed, "{phase}: {} {}", r.method, r.path);
    }
}

#[tokio::test]
async fn every_assessment_route_refuses_exactly_the_roles_it_should_in_every_phase() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, set_id) = open_period(&app, &admin, |_| {}).await;
    let tokens: Vec<(String, Option<String>)> = vec![
        ("admin".into(), Some(admin.clone())),
        ("reviewer".into(), Some(app.token_for(Role::Reviewer, None))),
        ("viewer".into(), Some(app.token_for(Role::Viewer, None))),
        (
            "editor_a".into(),
            Some(app.token_for(Role::UnitEditor, Some("XA-BAC-HA"))),
        ),
        (
            "leader_a".into(),
            Some(app.token_for(Role::UnitLeader, Some("XA-BAC-HA"))),
        ),
        (
            "editor_b".into(),
            Some(app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"))),
        ),
        (
            "leader_b".into(),
            Some(app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"))),
        ),
        ("anonymous".into(), None),
    ];
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    let ev = {
        let t = tokens[3].1.clone().unwrap();
        let r = app
            .post_json(
                &format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
                Some(&t),
                &json!({"url": "https://example.org/bien-ban.pdf"}),
            )
            .await;
        json_ok(r, 201).await["id"].as_str().unwrap().to_string()
    };
    let ev_file = {
        let t = tokens[3].1.clone().unwrap();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.7\n%%EOF\n".to_vec()).file_name("a.pdf"),
        );
        let r = app
            .client
            .post(app.url(&format!("/api/v1/assessments/{a}/answers/1.1/evidence")))
            .bearer_auth(&t)
            .multipart(form)
            .send()
            .await
            .unwrap();
        json_ok(r, 201).await["id"].as_str().unwrap().to_string()
    };
    let cl = {
        let t = tokens[1].1.clone().unwrap();
        json_ok(
            app.post_json(
                &format!("/api/v1/assessments/{a}/clarifications"),
                Some(&t),
                &json!({"node_code": "1.2", "message": "?"}),
            )
            .await,
            201,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let readers = set(&["admin", "reviewer", "viewer", "editor_a", "leader_a"]);
    let writers = set(&["admin", "editor_a", "leader_a"]);
    let reviewers = set(&["admin", "reviewer"]);
    let admins = set(&["admin"]);
    let provincial = set(&["admin", "reviewer", "viewer"]);
    let everyone = set(&ROLES[..7]);
    let public = set(&ROLES);
    let r = |m: Method, p: String, b: Option<Value>, allowed: &BTreeSet<String>| Route {
        method: m,
        path: p,
        body: b,
        allowed: allowed.clone(),
    };
    let routes = vec![
        r(
            Method::GET,
            format!("/api/v1/periods/{period}"),
            None,
            &everyone,
        ),
        r(
            Method::GET,
            format!("/api/v1/periods/{period}/assessments"),
            None,
            &everyone,
        ),
        r(
            Method::GET,
            format!("/api/v1/periods/{period}/rankings"),
            None,
            &provincial,
        ),
        r(
            Method::GET,
            format!("/api/v1/periods/{period}/rankings/export?format=xlsx"),
            None,
            &provincial,
        ),
        r(
            Method::GET,
            format!("/api/v1/periods/{period}/publications"),
            None,
            &provincial,
        ),
        r(
            Method::GET,
            format!("/api/v1/indicator-sets/{set_id}"),
            None,
            &everyone,
        ),
        r(
            Method::GET,
            format!("/api/v1/assessments/{a}"),
            None,
            &readers,
        ),
        r(
            Method::GET,
            format!("/api/v1/assessments/{a}/score"),
            None,
            &readers,
        ),
        r(
            Method::GET,
            format!("/api/v1/assessments/{a}/score/export"),
            None,
            &readers,
        ),
        r(
            Method::POST,
            format!("/api/v1/assessments/{a}/what-if"),
            Some(
                json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 1, "denominator": 2}}]}),
            ),
            &readers,
        ),
        r(
            Method::GET,
            format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            None,
            &readers,
        ),
        r(
            Method::GET,
            format!("/api/v1/assessments/{a}/clarifications"),
            None,
            &readers,
        ),
        r(
            Method::PUT,
            format!("/api/v1/assessments/{a}/answers/1.2"),
            Some(json!({"inputs": {"numerator": 1, "denominator": 2}})),
            &writers,
        ),
        r(
            Method::PUT,
            format!("/api/v1/assessments/{a}/answers"),
            Some(json!({"answers": [{"node_code": "2.2", "inputs": {"option": "deputy"}}]})),
            &writers,
        ),
        r(
            Method::POST,
            format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            Some(json!({"doc_number": "1/QĐ"})),
            &writers,
        ),
        r(
            Method::POST,
            format!("/api/v1/clarifications/{cl}/messages"),
            Some(json!({"message": "ok"})),
            &set(&["admin", "reviewer", "editor_a", "leader_a"]),
        ),
        r(
            Method::POST,
            format!("/api/v1/assessments/{a}/clarifications"),
            Some(json!({"node_code": "1.2", "message": "?"})),
            &reviewers,
        ),
        r(
            Method::PUT,
            format!("/api/v1/assessments/{a}/adjustments/1.2"),
            Some(json!({"points": "5", "reason": "x"})),
            &reviewers,
        ),
        r(
            Method::POST,
            format!("/api/v1/assessments/{a}/return"),
            Some(json!({"reason": "x"})),
            &reviewers,
        ),
        r(
            Method::POST,
            format!("/api/v1/assessments/{a}/finalise"),
            None,
            &reviewers,
        ),
        r(
            Method::PUT,
            format!("/api/v1/assessments/{a}/deadline"),
            Some(json!({"deadline": null})),
            &admins,
        ),
        r(
            Method::POST,
            format!("/api/v1/assessments/{a}/reopen"),
            Some(json!({"reason": "x"})),
            &admins,
        ),
        r(
            Method::POST,
            format!("/api/v1/periods/{period}/recompute"),
            None,
            &admins,
        ),
        r(
            Method::GET,
            "/api/v1/audit-events".into(),
            None,
            &set(&["admin", "viewer"]),
        ),
        r(
            Method::GET,
            format!("/api/v1/periods/{period}/audit-events/export"),
            None,
            &set(&["admin", "viewer"]),
        ),
        r(Method::GET, "/api/v1/public/periods".into(), None, &public),
        r(
            Method::GET,
            format!("/api/v1/evidence/{ev_file}/content"),
            None,
            &readers,
        ),
        // the leader submits last: from then on the form is locked
        r(
            Method::POST,
            format!("/api/v1/assessments/{a}/submit"),
            None,
            &set(&["leader_a"]),
        ),
    ];
    // deletion: every refused role first (a successful delete would leave a 404 for the rest)
    for (role, token) in &tokens {
        if writers.contains(role) {
            continue;
        }
        let mut rb = app
            .client
            .delete(app.url(&format!("/api/v1/evidence/{ev}")));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let status = rb.send().await.unwrap().status().as_u16();
        assert!(
            status == 401 || status == 403,
            "DELETE evidence as {role}: {status}"
        );
    }
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/evidence/{ev}")))
        .bearer_auth(tokens[3].1.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    check(&app, &tokens, &routes, "self_assessment").await;
    transition(&app, &admin, &period, "review").await;
    check(&app, &tokens, &routes, "review").await;
}
