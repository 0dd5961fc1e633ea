//! Every error class answers RFC 9457 problem+json with a stable code.

use dti_api::domain::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn unknown_routes_answer_404_problem() {
    let app = spawn_app().await;
    let resp = app.get_public("/api/v1/no-such-thing").await;
    assert_problem(resp, 404, "ROUTE_NOT_FOUND").await;
    let resp = app.get_public("/api/v2/units").await;
    assert_problem(resp, 404, "ROUTE_NOT_FOUND").await;
}

#[tokio::test]
async fn wrong_methods_answer_405_with_allow() {
    let app = spawn_app().await;
    let resp = app
        .client
        .delete(app.url("/api/v1/units"))
        .send()
        .await
        .unwrap();
    let allow = resp
        .headers()
        .get("allow")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert_problem(resp, 405, "METHOD_NOT_ALLOWED").await;
    let resp = app
        .client
        .put(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 405, "METHOD_NOT_ALLOWED").await;
    let resp = app
        .client
        .request(Method::DELETE, app.url("/api/v1/units/SOMETHING"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 405, "METHOD_NOT_ALLOWED").await;
}

/// A path that a route spells literally (`/indicator-sets/validate`, POST only) answers 405 for
/// another method, though a parameter's route (`PUT /indicator-sets/{id}`) has that method and
/// would read `validate` as a malformed id (400).
#[tokio::test]
async fn a_literal_path_answers_405_where_a_parameter_route_has_the_method() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Admin, None);
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let resp = app
            .request(
                method.clone(),
                "/api/v1/indicator-sets/validate",
                Some(&token),
            )
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let allow = resp
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(allow.as_deref(), Some("POST"), "{method}");
        assert_problem(resp, 405, "METHOD_NOT_ALLOWED").await;
    }
    // and OPTIONS lists the literal route's methods only
    let resp = app
        .request(
            Method::OPTIONS,
            "/api/v1/indicator-sets/validate",
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        resp.headers().get("allow").map(|v| v.to_str().unwrap()),
        Some("POST")
    );
    // a malformed id on the parameter's own route stays a 400
    let resp = app
        .request(
            Method::PUT,
            "/api/v1/indicator-sets/not-an-id",
            Some(&token),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "INVALID_PATH_PARAMETER").await;
}

/// Every `GET` path of the OpenAPI document, with its parameters filled in.
fn get_paths() -> Vec<String> {
    let doc = serde_json::to_value(dti_api::openapi::openapi()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if item.get("get").is_none() {
            continue;
        }
        let filled: Vec<String> = path
            .split('/')
            .map(|seg| match seg {
                "{id}" => uuid::Uuid::nil().to_string(),
                s if s.starts_with('{') => "X1".to_string(),
                s => s.to_string(),
            })
            .collect();
        out.push(filled.join("/"));
    }
    out
}

#[tokio::test]
async fn head_answers_every_get_route_as_get_does_without_a_body() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let paths = get_paths();
    assert!(paths.len() >= 25, "{paths:?}");
    let extra = ["/api-docs/openapi.json", "/swagger-ui/"].map(String::from);
    for path in paths.iter().chain(&extra) {
        let get = app.get(path, &admin).await;
        let head = app
            .request(Method::HEAD, path, Some(&admin))
            .send()
            .await
            .unwrap();
        assert_ne!(head.status(), 405, "HEAD {path}");
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path}");
    }
    // the length of what GET would send
    for path in ["/health/live", "/api/v1/me", "/api/v1/units/XA-BAC-HA"] {
        let get = app.get(path, &admin).await;
        let len = get.bytes().await.unwrap().len();
        let head = app
            .request(Method::HEAD, path, Some(&admin))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.headers()["content-length"], len.to_string().as_str());
    }
    // a path without GET still refuses HEAD, naming what it allows
    let resp = app
        .request(Method::HEAD, "/api/v1/auth/login", None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
}

#[tokio::test]
async fn private_responses_say_no_store_and_public_ones_keep_their_caching() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let cache = |resp: &reqwest::Response| {
        resp.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
    };
    for path in [
        "/api/v1/me",
        "/api/v1/units",
        "/api/v1/users",
        "/api/v1/units/NO-SUCH",
    ] {
        let resp = app.get(path, &admin).await;
        assert_eq!(cache(&resp).as_deref(), Some("no-store"), "{path}");
    }
    // the token of a login, and problems
    let resp = app.login("admin", DEMO_PASSWORD).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(cache(&resp).as_deref(), Some("no-store"));
    let resp = app.get_public("/api/v1/me").await;
    assert_eq!(resp.status(), 401);
    assert_eq!(cache(&resp).as_deref(), Some("no-store"));
    // the public routes keep their own
    let resp = app.get_public("/api/v1/public/periods").await;
    assert_eq!(cache(&resp).as_deref(), Some("public, max-age=60"));
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_wrong_shapes_are_4xx_problems() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let post = |body: &'static str, ctype: &'static str| {
        app.client
            .post(app.url("/api/v1/units"))
            .bearer_auth(&admin)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    assert_problem(
        post("{not json", "application/json").await.unwrap(),
        400,
        "MALFORMED_JSON",
    )
    .await;
    assert_problem(
        post("", "application/json").await.unwrap(),
        400,
        "MALFORMED_JSON",
    )
    .await;
    assert_problem(
        post("code=x", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    let p = assert_problem(
        post(
            "{\"code\": 5, \"name\": \"x\", \"kind\": \"commune\"}",
            "application/json",
        )
        .await
        .unwrap(),
        422,
        "INVALID_BODY",
    )
    .await;
    // the member that does not type, not the whole body
    assert_eq!(p["errors"][0]["field"], "/code");
    let p = assert_problem(
        post(
            "{\"code\": \"A\", \"name\": \"x\", \"kind\": \"commune\", \"colour\": 1}",
            "application/json",
        )
        .await
        .unwrap(),
        422,
        "INVALID_BODY",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/colour");
    // an array is never an object, whatever its items
    assert_problem(
        post("[1,2,3]", "application/json").await.unwrap(),
        400,
        "BODY_NOT_OBJECT",
    )
    .await;
}

#[tokio::test]
async fn oversized_bodies_answer_413() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let big = format!(
        "{{\"code\": \"A\", \"name\": \"{}\", \"kind\": \"commune\"}}",
        "x".repeat(app.config.max_json_bytes + 10)
    );
    let resp = app
        .client
        .post(app.url("/api/v1/units"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413, "PAYLOAD_TOO_LARGE").await;
}

#[tokio::test]
async fn bad_path_parameters_are_400_and_unknown_ids_404() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    assert_problem(
        app.get("/api/v1/users/not-a-uuid", &admin).await,
        400,
        "INVALID_PATH_PARAMETER",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()), &admin)
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units/NO-SUCH-UNIT", &admin).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_problem(
        app.get("/api/v1/ranking-groups/NO-SUCH", &admin).await,
        404,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn bad_if_match_is_412() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let resp = app
        .client
        .patch(app.url("/api/v1/units/STP"))
        .bearer_auth(&admin)
        .header("if-match", "\"v999\"")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412, "VERSION_MISMATCH").await;
    let resp = app
        .client
        .patch(app.url("/api/v1/units/STP"))
        .bearer_auth(&admin)
        .header("if-match", "garbage")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412, "VERSION_MISMATCH").await;
}

#[tokio::test]
async fn if_match_is_checked_once_the_resource_is_found_and_may_list_several_tags() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let patch = |path: String, tag: String, body: serde_json::Value| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&admin)
            .header("if-match", tag)
            .json(&body)
            .send()
    };
    // a resource that does not exist is 404, whatever If-Match says (RFC 9110 §13.2.1: a
    // precondition is evaluated only where the request would otherwise succeed)
    let nobody = "00000000-0000-4000-8000-000000000000";
    for tag in ["\"v999\"", "W/\"v1\"", "\"9-nc\"", ""] {
        for (path, body) in [
            (
                "/api/v1/units/NO-SUCH-UNIT".to_string(),
                json!({"name": "x"}),
            ),
            (format!("/api/v1/users/{nobody}"), json!({"full_name": "x"})),
            (
                format!("/api/v1/webhooks/{nobody}"),
                json!({"description": "x"}),
            ),
            (
                format!("/api/v1/indicator-sets/{nobody}"),
                json!({"name": "x"}),
            ),
        ] {
            let resp = patch(path.clone(), tag.to_string(), body).await.unwrap();
            assert_eq!(resp.status(), 404, "{path} with If-Match {tag}");
            assert_problem(resp, 404, "NOT_FOUND").await;
        }
    }
    // a list that names the current version matches (strong comparison)
    let unit = app
        .client
        .get(app.url("/api/v1/units/STP"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let etag = unit.headers()["etag"].to_str().unwrap().to_string();
    let resp = patch(
        "/api/v1/units/STP".into(),
        format!("\"v999\", W/\"v1\", {etag}"),
        json!({"name": "Sở Tư pháp"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let now = resp.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(now, etag);
    // a weak tag never matches, not even the current version's
    assert_problem(
        patch(
            "/api/v1/units/STP".into(),
            format!("W/{now}"),
            json!({"name": "x"}),
        )
        .await
        .unwrap(),
        412,
        "VERSION_MISMATCH",
    )
    .await;
}

#[tokio::test]
async fn problems_carry_the_request_id_of_the_response() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get("x-request-id").unwrap(), "trace-abc-123");
    let body = assert_problem(resp, 401, "AUTH_REQUIRED").await;
    assert_eq!(body["request_id"], "trace-abc-123");
}

// The audit event is written on the blocking pool (inside `db::transaction`), not on the
// request's task: the request's id goes with the work, the caller's and a generated one alike.
#[tokio::test]
async fn audit_events_written_on_the_blocking_pool_carry_the_request_id() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let create = |username: &str, request_id: Option<&str>| {
        let mut rb = app.request(Method::POST, "/api/v1/users", Some(&admin));
        if let Some(id) = request_id {
            rb = rb.header("x-request-id", id);
        }
        rb.json(&json!({"username": username, "full_name": "Trần Thị Bình", "password": "a-long-secret-2026", "role": "viewer"}))
            .send()
    };
    let audited = |username: &str| {
        let username = username.to_string();
        app.with_conn(move |c| {
            use diesel::prelude::*;
            use dti_api::db::schema::{audit_events, users};
            let id: uuid::Uuid = users::table
                .filter(users::username.eq(&username))
                .select(users::id)
                .first(c)
                .unwrap();
            audit_events::table
                .filter(audit_events::action.eq("user.create"))
                .filter(audit_events::entity_id.eq(id.to_string()))
                .select(audit_events::request_id)
                .first::<Option<String>>(c)
                .unwrap()
        })
    };
    let resp = create("viewer.traced", Some("audit-trace-42"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers().get("x-request-id").unwrap(),
        "audit-trace-42"
    );
    assert_eq!(audited("viewer.traced").as_deref(), Some("audit-trace-42"));

    let resp = create("viewer.untraced", None).await.unwrap();
    assert_eq!(resp.status(), 201);
    let generated = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
    assert_eq!(audited("viewer.untraced").as_deref(), Some(generated));
}

#[tokio::test]
async fn constraint_violations_in_the_database_map_to_4xx_not_500() {
    let app = spawn_app().await;
    // the database itself refuses a unit role without a unit, even behind the API's back
    let err = app.with_conn(|c| {
        use diesel::prelude::*;
        diesel::sql_query("INSERT INTO users (id, username, full_name, password_hash, role) VALUES (gen_random_uuid(), 'x.y.z', 'x', '!', 'unit_editor')")
            .execute(c)
            .unwrap_err()
    });
    let app_err: dti_api::error::AppError = err.into();
    assert_eq!(app_err.code(), "CONSTRAINT_VIOLATION");
    use actix_web::ResponseError;
    assert_eq!(app_err.status_code().as_u16(), 422);
}

/// A query parameter that names a closed set (a phase, a unit kind, a set status, a sort key,
/// an export form) is refused outside the set by that set's own rule, the parameter named:
/// 422 `VALIDATION_FAILED` with the rule's code, message and the refused value that the
/// translated message quotes. An empty value is outside every set.
#[tokio::test]
async fn closed_set_query_parameters_are_refused_by_their_own_rule() {
    let app = spawn_app().await;
    let admin = app.as_role(Role::Admin, None);
    let set = admin
        .create_indicator_set(dti_api::api::indicator_sets::example_document())
        .created()
        .await;
    let export = format!("/indicator-sets/{}/export", set["id"].as_str().unwrap());
    let kinds =
        "province, department, district, commune, party_body, fatherland_front, ministry, other";
    let cases: Vec<(String, &str, &str, String, Option<&str>)> = vec![
        (
            "/periods?phase=bogus".into(),
            "phase",
            "INVALID_PHASE",
            r#""bogus" is not a phase"#.into(),
            Some("bogus"),
        ),
        (
            "/periods?phase=".into(),
            "phase",
            "INVALID_PHASE",
            r#""" is not a phase"#.into(),
            None,
        ),
        (
            "/units?kind=planet".into(),
            "kind",
            "INVALID_KIND",
            format!(r#""planet" is not one of {kinds}"#),
            Some("planet"),
        ),
        (
            "/units?kind=".into(),
            "kind",
            "INVALID_KIND",
            format!(r#""" is not one of {kinds}"#),
            None,
        ),
        (
            "/units?sort=color".into(),
            "sort",
            "INVALID_SORT",
            r#""color": use code, -code, name, -name or kind"#.into(),
            Some("color"),
        ),
        (
            "/indicator-sets?status=bogus".into(),
            "status",
            "INVALID_STATUS",
            "use draft, active or retired".into(),
            None,
        ),
        (
            "/indicator-sets?target_unit_kind=null".into(),
            "target_unit_kind",
            "INVALID_KIND",
            format!(r#""null" is not one of {kinds}"#),
            Some("null"),
        ),
        (
            format!("{export}?form=pdf"),
            "form",
            "INVALID_FORM",
            r#""pdf": use original or canonical"#.into(),
            Some("pdf"),
        ),
    ];
    for (path, field, code, message, quoted) in cases {
        let p = admin
            .get(path.as_str())
            .problem(422, "VALIDATION_FAILED")
            .await;
        assert_eq!(
            p["errors"],
            json!([{"field": field, "code": code, "message": message}]),
            "{path}: {p}"
        );
        let vi = admin
            .get(path.as_str())
            .language("vi")
            .problem(422, "VALIDATION_FAILED")
            .await;
        let vi = vi["errors"][0]["message"].as_str().unwrap().to_string();
        assert_ne!(vi, message, "{path}: translated");
        if let Some(value) = quoted {
            assert!(vi.contains(value), "{path}: {vi}");
        }
    }
}
