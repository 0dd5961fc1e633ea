use dti_api::domain::Role;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn admin_creates_a_unit_account_that_can_log_in() {
    let app = spawn_seeded_app().await;
    let admin = app.as_role(Role::Admin, None);
    let resp = admin
        .create_user(json!({"username": "editor.new", "full_name": "Lê Văn Cường", "password": "a-long-secret-2026", "role": "unit_editor", "unit": "STP"}))
        .send()
        .await;
    assert_eq!(resp.headers().get("etag").unwrap(), "\"v1\"");
    let user = json_ok(resp, 201).await;
    assert_eq!(user["unit"]["code"], "STP");
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    let login = app
        .anonymous()
        .login("editor.new", "a-long-secret-2026")
        .ok()
        .await;
    assert_eq!(login["user"]["role"], "unit_editor");
    // the stored hash is argon2id
    let stored = app.with_conn(|c| {
        dti_api::db::models::users::User::find_by_username(c, "editor.new")
            .unwrap()
            .unwrap()
    });
    assert!(stored.password_hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn account_rules_are_enforced_with_field_errors() {
    let app = spawn_seeded_app().await;
    let admin = app.as_role(Role::Admin, None);
    let cases = [
        (
            json!({"username": "Bad Name", "full_name": "x", "password": "a-long-secret-2026", "role": "viewer"}),
            422,
            "VALIDATION_FAILED",
            "/username",
        ),
        (
            json!({"username": "weak.pw", "full_name": "x", "password": "short", "role": "viewer"}),
            422,
            "VALIDATION_FAILED",
            "/password",
        ),
        (
            json!({"username": "ed.nounit", "full_name": "x", "password": "a-long-secret-2026", "role": "unit_editor"}),
            422,
            "VALIDATION_FAILED",
            "/unit",
        ),
        (
            json!({"username": "viewer.unit", "full_name": "x", "password": "a-long-secret-2026", "role": "viewer", "unit": "STP"}),
            422,
            "VALIDATION_FAILED",
            "/unit",
        ),
        (
            json!({"username": "ed.ghost", "full_name": "x", "password": "a-long-secret-2026", "role": "unit_editor", "unit": "NO-SUCH"}),
            422,
            "VALIDATION_FAILED",
            "/unit",
        ),
        (
            json!({"username": "role.bad", "full_name": "x", "password": "a-long-secret-2026", "role": "superuser"}),
            422,
            "INVALID_BODY",
            "/role",
        ),
    ];
    for (body, status, code, field) in cases {
        let problem = admin.create_user(body.clone()).problem(status, code).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    admin
        .create_user(json!({"username": "admin", "full_name": "x", "password": "a-long-secret-2026", "role": "viewer"}))
        .problem(409, "USERNAME_TAKEN")
        .await;
}

#[tokio::test]
async fn only_admins_manage_accounts() {
    let app = spawn_seeded_app().await;
    let body = json!({"username": "someone.new", "full_name": "x", "password": "a-long-secret-2026", "role": "viewer"});
    for (role, unit) in [
        (Role::Reviewer, None),
        (Role::Viewer, None),
        (Role::UnitEditor, Some("STP")),
        (Role::UnitLeader, Some("STP")),
    ] {
        let caller = app.as_role(role, unit);
        caller
            .create_user(body.clone())
            .problem(403, "FORBIDDEN_ROLE")
            .await;
        let (target, _) = app.user_and_token(Role::Viewer, None);
        caller
            .update_user(&target.id.to_string(), json!({"active": false}))
            .problem(403, "FORBIDDEN_ROLE")
            .await;
    }
}

#[tokio::test]
async fn unit_accounts_see_only_their_own_units_accounts() {
    let app = spawn_seeded_app().await;
    let editor_a = app.as_role(Role::UnitEditor, Some("STP"));
    let (other_b, _) = app.user_and_token(Role::UnitEditor, Some("SYT"));
    let other_b = other_b.id.to_string();
    // list: only STP accounts, whatever filter is asked for
    let list = editor_a.users().query("page_size=500").ok().await;
    assert!(list["total"].as_i64().unwrap() >= 3);
    for u in list["items"].as_array().unwrap() {
        assert_eq!(u["unit"]["code"], "STP", "{u}");
    }
    editor_a
        .users()
        .query("unit=SYT")
        .problem(403, "NOT_YOUR_UNIT")
        .await;
    editor_a.user(&other_b).problem(403, "NOT_YOUR_UNIT").await;
    // provincial roles see everyone
    let reviewer = app.as_role(Role::Reviewer, None);
    reviewer.user(&other_b).ok().await;
    let all = reviewer.users().query("page_size=500").ok().await;
    assert!(all["total"].as_i64().unwrap() > list["total"].as_i64().unwrap());
}

#[tokio::test]
async fn updates_honour_if_match_and_refuse_lost_updates() {
    let app = spawn_seeded_app().await;
    let admin = app.as_role(Role::Admin, None);
    let (target, _) = app.user_and_token(Role::Viewer, None);
    let id = target.id.to_string();
    let resp = admin.user(&id).send().await;
    let etag = resp
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let ok = admin
        .update_user(&id, json!({"full_name": "Đỗ Thị Hoa"}))
        .header("if-match", &etag)
        .send()
        .await;
    assert_eq!(ok.headers().get("etag").unwrap(), "\"v2\"");
    assert_eq!(json_ok(ok, 200).await["full_name"], "Đỗ Thị Hoa");
    admin
        .update_user(&id, json!({"full_name": "Lost"}))
        .header("if-match", &etag)
        .problem(412, "VERSION_MISMATCH")
        .await;
    let after = admin.user(&id).ok().await;
    assert_eq!(after["full_name"], "Đỗ Thị Hoa");
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let (me, admin) = app.user_and_token(Role::Admin, None);
    app.as_token(&admin)
        .update_user(&me.id.to_string(), json!({"active": false}))
        .problem(409, "CANNOT_DEMOTE_SELF")
        .await;
}

#[tokio::test]
async fn account_changes_are_audited_without_secrets() {
    let app = spawn_seeded_app().await;
    let admin = app.as_role(Role::Admin, None);
    let user = admin
        .create_user(json!({"username": "audited.one", "full_name": "x", "password": "a-long-secret-2026", "role": "viewer"}))
        .created()
        .await;
    let rows: Vec<(String, Option<serde_json::Value>)> = app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::audit_events::dsl::*;
        audit_events
            .filter(entity_id.eq(user["id"].as_str().unwrap()))
            .select((action, new_value))
            .load(c)
            .unwrap()
    });
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "user.create");
    let text = rows[0].1.as_ref().unwrap().to_string();
    assert!(
        !text.contains("argon2") && !text.contains("a-long-secret"),
        "{text}"
    );
}

#[tokio::test]
async fn a_patch_that_changes_nothing_changes_nothing_and_keeps_the_user_logged_in() {
    let app = spawn_seeded_app().await;
    let admin = app.as_role(Role::Admin, None);
    let (viewer, token) = app.user_and_token(Role::Viewer, None);
    let id = viewer.id.to_string();
    let viewer = app.as_token(&token);
    for body in [
        json!({}),
        json!({"role": "viewer", "active": true, "full_name": " Test user "}),
        json!({"unit": null}),
    ] {
        let resp = admin.update_user(&id, body.clone()).send().await;
        assert_eq!(resp.headers()["etag"], "\"v1\"", "{body}");
        assert_eq!(json_ok(resp, 200).await["version"], 1, "{body}");
        viewer.me().ok().await;
    }
    let updates: i64 = app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::audit_events::dsl::*;
        audit_events
            .filter(action.eq("user.update"))
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(updates, 0, "nothing changed, nothing audited");
    // a new name is a new version, and no reason to log anyone out
    let renamed = admin
        .update_user(&id, json!({"full_name": "Đỗ Thị Hoa"}))
        .ok()
        .await;
    assert_eq!(renamed["version"], 2);
    viewer.me().ok().await;
}

#[tokio::test]
async fn a_real_change_of_password_role_unit_or_active_ends_the_sessions() {
    let app = spawn_seeded_app().await;
    let admin = app.as_role(Role::Admin, None);
    for (role, unit, change) in [
        (
            Role::Viewer,
            None,
            json!({"password": "another-long-secret-2026"}),
        ),
        (Role::Viewer, None, json!({"role": "reviewer"})),
        (
            Role::UnitEditor,
            Some("XA-BAC-HA"),
            json!({"unit": "XA-BAT-XAT"}),
        ),
        (Role::Viewer, None, json!({"active": false})),
    ] {
        let (user, token) = app.user_and_token(role, unit);
        let session = app.as_token(&token);
        session.me().ok().await;
        let changed = admin
            .update_user(&user.id.to_string(), change.clone())
            .ok()
            .await;
        assert_eq!(changed["version"], 2, "{change}");
        session.me().problem(401, "TOKEN_REVOKED").await;
    }
}
