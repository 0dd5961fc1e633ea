use dti_api::auth::jwt::{Claims, JwtKeys};
use dti_api::domain::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn login_with_demo_credentials_returns_a_token_that_me_accepts() {
    let app = spawn_seeded_app().await;
    let body = json_ok(app.login("editor.skhcn", DEMO_PASSWORD).await, 200).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["role"], "unit_editor");
    assert_eq!(body["user"]["unit"]["code"], "SKHCN");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    let token = body["access_token"].as_str().unwrap();
    let me = json_ok(app.get("/api/v1/me", token).await, 200).await;
    assert_eq!(me["username"], "editor.skhcn");
    assert_eq!(me["unit"]["code"], "SKHCN");
    let perms: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(perms.contains(&"assessments:edit_own_unit"));
    assert!(
        !perms.contains(&"assessments:submit_own_unit"),
        "an editor cannot submit"
    );
    assert!(!perms.contains(&"users:write"));
    let claims = app.jwt.verify(token).unwrap();
    assert_eq!(claims.role, Role::UnitEditor);
    assert_eq!(claims.iss, ISSUER);
    assert!(claims.exp > claims.iat);
}

#[tokio::test]
async fn login_is_case_insensitive_on_the_username() {
    let app = spawn_seeded_app().await;
    json_ok(app.login("Admin", DEMO_PASSWORD).await, 200).await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = spawn_seeded_app().await;
    let a = assert_problem(
        app.login("admin", "wrong-password").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    let b = assert_problem(
        app.login("nobody", "wrong-password").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    assert_eq!(a["detail"], b["detail"]);
}

#[tokio::test]
async fn repeated_failures_lock_the_username_with_429_even_for_the_right_password() {
    let app = spawn_seeded_app().await;
    for _ in 0..4 {
        assert_problem(
            app.login("leader.skhcn", "nope-nope").await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
    let resp = app.login("leader.skhcn", "nope-nope").await;
    assert!(resp.headers().get("retry-after").is_some());
    let body = assert_problem(resp, 429, "LOGIN_THROTTLED").await;
    assert!(body["retry_after_seconds"].as_i64().unwrap() > 0);
    assert_problem(
        app.login("leader.skhcn", DEMO_PASSWORD).await,
        429,
        "LOGIN_THROTTLED",
    )
    .await;
    // another account is not affected
    json_ok(app.login("editor.skhcn", DEMO_PASSWORD).await, 200).await;
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let app = spawn_seeded_app().await;
    for _ in 0..4 {
        assert_problem(
            app.login("viewer.ubnd", "nope-nope").await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
    json_ok(app.login("viewer.ubnd", DEMO_PASSWORD).await, 200).await;
    for _ in 0..4 {
        assert_problem(
            app.login("viewer.ubnd", "nope-nope").await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
}

#[tokio::test]
async fn missing_malformed_forged_and_expired_tokens_get_401() {
    let app = spawn_app().await;
    let (user, good) = app.user_and_token(Role::Admin, None);
    json_ok(app.get("/api/v1/me", &good).await, 200).await;

    let resp = app
        .request(Method::GET, "/api/v1/me", None)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("www-authenticate").is_some());
    assert_problem(resp, 401, "AUTH_REQUIRED").await;

    let resp = app
        .request(Method::GET, "/api/v1/me", None)
        .header("authorization", "Basic YWRtaW46eA==")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "TOKEN_INVALID").await;
    assert_problem(
        app.get("/api/v1/me", "not-a-jwt").await,
        401,
        "TOKEN_INVALID",
    )
    .await;

    // signed with another secret
    let forger = JwtKeys::new(b"another-secret-0123456789-abcdefghijklmnop", ISSUER, 60);
    let (forged, _) = forger
        .issue(user.id, &user.username, Role::Admin, None, user.version)
        .unwrap();
    assert_problem(app.get("/api/v1/me", &forged).await, 401, "TOKEN_INVALID").await;

    // tampered payload: the real signature over other claims
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert_problem(
        app.get("/api/v1/me", &parts.join(".")).await,
        401,
        "TOKEN_INVALID",
    )
    .await;

    // expired
    let now = chrono::Utc::now().timestamp();
    let expired = app
        .jwt
        .sign(&Claims {
            sub: user.id,
            iss: ISSUER.into(),
            iat: now - 7200,
            exp: now - 3600,
            role: Role::Admin,
            unit: None,
            username: user.username.clone(),
            ver: user.version,
        })
        .unwrap();
    assert_problem(app.get("/api/v1/me", &expired).await, 401, "TOKEN_EXPIRED").await;

    // wrong issuer
    let other_issuer = JwtKeys::new(JWT_SECRET.as_bytes(), "someone-else", 60);
    let (t, _) = other_issuer
        .issue(user.id, &user.username, Role::Admin, None, user.version)
        .unwrap();
    assert_problem(app.get("/api/v1/me", &t).await, 401, "TOKEN_INVALID").await;
}

#[tokio::test]
async fn deactivating_a_user_revokes_their_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (viewer, token) = app.user_and_token(Role::Viewer, None);
    json_ok(app.get("/api/v1/me", &token).await, 200).await;
    json_ok(
        app.patch_json(
            &format!("/api/v1/users/{}", viewer.id),
            &admin,
            &json!({"active": false}),
        )
        .await,
        200,
    )
    .await;
    assert_problem(app.get("/api/v1/me", &token).await, 401, "TOKEN_REVOKED").await;
}

#[tokio::test]
async fn a_role_claim_cannot_be_escalated_the_server_uses_the_stored_role() {
    let app = spawn_app().await;
    let (viewer, _) = app.user_and_token(Role::Viewer, None);
    // a token claiming admin for a viewer account, correctly signed (as if the secret leaked
    // only to a role-changing bug): the stored role still rules
    let (token, _) = app
        .jwt
        .issue(
            viewer.id,
            &viewer.username,
            Role::Admin,
            None,
            viewer.version,
        )
        .unwrap();
    let me = json_ok(app.get("/api/v1/me", &token).await, 200).await;
    assert_eq!(me["role"], "viewer");
    let resp = app
        .post_json(
            "/api/v1/units",
            Some(&token),
            &json!({"code": "X1", "name": "X", "kind": "commune"}),
        )
        .await;
    assert_problem(resp, 403, "FORBIDDEN_ROLE").await;
}

#[tokio::test]
async fn login_validates_its_body() {
    let app = spawn_app().await;
    let resp = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "", "password": "x"}),
        )
        .await;
    let body = assert_problem(resp, 422, "VALIDATION_FAILED").await;
    assert_eq!(body["errors"][0]["field"], "/username");
    let resp = app
        .post_json("/api/v1/auth/login", None, &json!({"username": "a"}))
        .await;
    let body = assert_problem(resp, 422, "INVALID_BODY").await;
    assert_eq!(body["errors"][0]["field"], "/password");
}
