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
async fn repeated_failures_lock_the_account_from_that_address_even_for_the_right_password() {
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

/// A seeded app behind a reverse proxy on 127.0.0.1 (where the tests connect from), whose
/// `X-Forwarded-For` is therefore believed.
async fn spawn_app_behind_proxy(change: impl FnOnce(&mut dti_api::config::Config)) -> TestApp {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    change(&mut config);
    let app = spawn_app_with(config).await;
    app.load_seeds();
    app
}

/// `POST /auth/login` with `header: value` (as a proxy would add it).
async fn login_with(
    app: &TestApp,
    username: &str,
    password: &str,
    header: (&str, &str),
) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/auth/login", None)
        .header(header.0, header.1)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn login_from(
    app: &TestApp,
    username: &str,
    password: &str,
    addr: &str,
) -> reqwest::Response {
    login_with(app, username, password, ("x-forwarded-for", addr)).await
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::audit_events;
        audit_events::table
            .filter(audit_events::action.eq(action))
            .count()
            .get_result(c)
            .unwrap()
    })
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_account_for_another_address() {
    let app = spawn_app_behind_proxy(|_| {}).await;
    let attacker = "203.0.113.5";
    for _ in 0..4 {
        assert_problem(
            login_from(&app, "leader.skhcn", "nope-nope", attacker).await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
    assert_problem(
        login_from(&app, "leader.skhcn", "nope-nope", attacker).await,
        429,
        "LOGIN_THROTTLED",
    )
    .await;
    assert_problem(
        login_from(&app, "leader.skhcn", DEMO_PASSWORD, attacker).await,
        429,
        "LOGIN_THROTTLED",
    )
    .await;
    // the real user, elsewhere, logs in; and has tries of their own
    json_ok(
        login_from(&app, "leader.skhcn", DEMO_PASSWORD, "198.51.100.7").await,
        200,
    )
    .await;
    assert_problem(
        login_from(&app, "leader.skhcn", "typo-typo", "198.51.100.7").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    // RFC 7239 names the client as well as X-Forwarded-For does
    let forwarded = ("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https");
    json_ok(
        login_with(&app, "leader.skhcn", DEMO_PASSWORD, forwarded).await,
        200,
    )
    .await;
    // the attacker's address stays locked
    assert_problem(
        login_from(&app, "leader.skhcn", DEMO_PASSWORD, attacker).await,
        429,
        "LOGIN_THROTTLED",
    )
    .await;
}

#[tokio::test]
async fn made_up_names_lock_only_the_address_they_come_from() {
    let app = spawn_app_behind_proxy(|c| c.login_address_max_failures = 8).await;
    let sprayer = "203.0.113.77";
    for i in 0..7 {
        assert_problem(
            login_from(&app, &format!("nobody-{i}"), "Password1!", sprayer).await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
    let resp = login_from(&app, "nobody-7", "Password1!", sprayer).await;
    assert!(resp.headers().get("retry-after").is_some());
    assert_problem(resp, 429, "LOGIN_THROTTLED").await;
    // every account is closed to that address, the right password too…
    assert_problem(
        login_from(&app, "editor.skhcn", DEMO_PASSWORD, sprayer).await,
        429,
        "LOGIN_THROTTLED",
    )
    .await;
    // …and open to every other address
    json_ok(
        login_from(&app, "editor.skhcn", DEMO_PASSWORD, "198.51.100.7").await,
        200,
    )
    .await;
    // successful logins do not count towards an address's limit
    for _ in 0..10 {
        json_ok(
            login_from(&app, "viewer.ubnd", DEMO_PASSWORD, "198.51.100.8").await,
            200,
        )
        .await;
    }
}

#[tokio::test]
async fn forwarded_addresses_from_an_untrusted_peer_are_ignored() {
    // no trusted proxy, then one that is not the peer: the peer (127.0.0.1) is the client
    for trusted in [vec![], vec!["10.0.0.0/8".parse().unwrap()]] {
        let app = spawn_app_behind_proxy(|c| c.trusted_proxies = trusted).await;
        for i in 0..4 {
            let addr = format!("198.51.100.{i}");
            assert_problem(
                login_from(&app, "leader.skhcn", "nope-nope", &addr).await,
                401,
                "INVALID_CREDENTIALS",
            )
            .await;
        }
        assert_problem(
            login_with(
                &app,
                "leader.skhcn",
                "nope-nope",
                ("forwarded", "for=198.51.100.99"),
            )
            .await,
            429,
            "LOGIN_THROTTLED",
        )
        .await;
        assert_problem(
            login_from(&app, "leader.skhcn", DEMO_PASSWORD, "203.0.113.200").await,
            429,
            "LOGIN_THROTTLED",
        )
        .await;
    }
}

#[tokio::test]
async fn parallel_wrong_attempts_never_get_past_the_limit() {
    let app = spawn_app_behind_proxy(|_| {}).await;
    let attempts = (0..30).map(|_| login_from(&app, "leader.skhcn", "nope-nope", "203.0.113.9"));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((unauthorized, throttled), (4, 26), "{statuses:?}");
    // exactly 5 passwords were checked: the 5th failure set the lock
    assert_eq!(audited(&app, "auth.login_failed"), 5);
    json_ok(
        login_from(&app, "leader.skhcn", DEMO_PASSWORD, "198.51.100.7").await,
        200,
    )
    .await;
}

#[tokio::test]
async fn each_failure_after_a_lock_doubles_the_lock() {
    let app = spawn_app_behind_proxy(|_| {}).await;
    let retry_after = |resp: reqwest::Response| async move {
        let body = assert_problem(resp, 429, "LOGIN_THROTTLED").await;
        body["retry_after_seconds"].as_i64().unwrap()
    };
    let end_lock = || {
        app.with_conn(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "UPDATE login_throttle SET locked_until = now() - interval '1 second' \
                 WHERE locked_until IS NOT NULL",
            )
            .execute(c)
            .unwrap();
        })
    };
    for _ in 0..4 {
        login_from(&app, "viewer.ubnd", "nope-nope", "203.0.113.9").await;
    }
    let first =
        retry_after(login_from(&app, "viewer.ubnd", "nope-nope", "203.0.113.9").await).await;
    assert!((298..=300).contains(&first), "{first}");
    end_lock();
    let second =
        retry_after(login_from(&app, "viewer.ubnd", "nope-nope", "203.0.113.9").await).await;
    assert!((598..=600).contains(&second), "{second}");
    end_lock();
    let third =
        retry_after(login_from(&app, "viewer.ubnd", "nope-nope", "203.0.113.9").await).await;
    assert!((1198..=1200).contains(&third), "{third}");
    // the right password after a lock ends starts afresh
    end_lock();
    json_ok(
        login_from(&app, "viewer.ubnd", DEMO_PASSWORD, "203.0.113.9").await,
        200,
    )
    .await;
    assert_problem(
        login_from(&app, "viewer.ubnd", "nope-nope", "203.0.113.9").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
}
