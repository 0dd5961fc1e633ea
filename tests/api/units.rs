use dti_api::domain::Role;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn search_ignores_diacritics_and_case() {
    let app = spawn_seeded_app().await;
    let token = app.token_for(Role::UnitEditor, Some("STP"));
    let body = json_ok(app.get("/api/v1/units?q=lao%20cai", &token).await, 200).await;
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Tỉnh Lào Cai"), "{names:?}");
    let body = json_ok(app.get("/api/v1/units?q=BAC%20HA", &token).await, 200).await;
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "Xã Bắc Hà"),
        "{body}"
    );
    let body = json_ok(
        app.get("/api/v1/units?q=so%20khoa%20hoc", &token).await,
        200,
    )
    .await;
    assert_eq!(body["items"][0]["code"], "SKHCN");
    // LIKE wildcards are literal
    let body = json_ok(app.get("/api/v1/units?q=%25", &token).await, 200).await;
    assert_eq!(body["total"], 0);
}

#[tokio::test]
async fn list_filters_page_and_sort() {
    let app = spawn_seeded_app().await;
    let token = app.token_for(Role::Viewer, None);
    let all = json_ok(app.get("/api/v1/units?page_size=500", &token).await, 200).await;
    let total = all["total"].as_i64().unwrap();
    assert_eq!(total as usize, all["items"].as_array().unwrap().len());
    let communes = json_ok(
        app.get(
            "/api/v1/units?kind=commune&active=true&page_size=500",
            &token,
        )
        .await,
        200,
    )
    .await;
    assert!(
        communes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["kind"] == "commune" && u["active"] == true)
    );
    let group = json_ok(
        app.get("/api/v1/units?group=LC-XA&page_size=500", &token)
            .await,
        200,
    )
    .await;
    assert_eq!(
        group["total"], communes["total"],
        "every active commune is in LC-XA"
    );
    assert!(group["items"][0]["groups"][0]["code"] == "LC-XA");
    let children = json_ok(
        app.get("/api/v1/units?parent=LC&page_size=500", &token)
            .await,
        200,
    )
    .await;
    assert!(
        children["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["parent_code"] == "LC")
    );
    // paging
    let p1 = json_ok(
        app.get("/api/v1/units?page=1&page_size=5&sort=code", &token)
            .await,
        200,
    )
    .await;
    let p2 = json_ok(
        app.get("/api/v1/units?page=2&page_size=5&sort=code", &token)
            .await,
        200,
    )
    .await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 5);
    assert_eq!(p1["total"], total);
    assert!(p1["items"][4]["code"].as_str().unwrap() < p2["items"][0]["code"].as_str().unwrap());
    let desc = json_ok(
        app.get("/api/v1/units?page_size=1&sort=-code", &token)
            .await,
        200,
    )
    .await;
    assert_eq!(
        desc["items"][0]["code"],
        all["items"].as_array().unwrap().last().unwrap()["code"]
    );
    // bad parameters
    assert_problem(
        app.get("/api/v1/units?page_size=501", &token).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units?page=0", &token).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units?page=abc", &token).await,
        400,
        "INVALID_QUERY",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units?sort=color", &token).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units?kind=planet", &token).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units?group=NOPE", &token).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
}

#[tokio::test]
async fn a_unit_shows_its_merger_lineage() {
    let app = spawn_seeded_app().await;
    let token = app.token_for(Role::Viewer, None);
    let lc = json_ok(app.get("/api/v1/units/LC", &token).await, 200).await;
    let preds: Vec<&str> = lc["predecessors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["unit"]["code"].as_str().unwrap())
        .collect();
    assert!(
        preds.contains(&"YB") && preds.contains(&"LC-CU"),
        "{preds:?}"
    );
    let yb = json_ok(app.get("/api/v1/units/YB", &token).await, 200).await;
    assert_eq!(yb["successors"][0]["unit"]["code"], "LC");
    assert_eq!(yb["active"], false);
    let graph = json_ok(app.get("/api/v1/units/YB/lineage", &token).await, 200).await;
    let codes: Vec<&str> = graph["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"LC") && codes.contains(&"LC-CU"),
        "{codes:?}"
    );
    assert!(graph["links"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn admin_creates_and_updates_units_with_lineage_and_groups() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let created = json_ok(
        app.post_json(
            "/api/v1/units",
            Some(&admin),
            &json!({"code": "XA-MOI", "name": "Xã Mới Sáp Nhập", "kind": "commune", "parent": "LC", "groups": ["LC-XA"],
                    "valid_from": "2025-07-01", "predecessors": [{"unit": "YB", "effective_date": "2025-07-01", "note": "ví dụ"}]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["parent_code"], "LC");
    assert_eq!(created["groups"][0]["code"], "LC-XA");
    assert_eq!(created["predecessors"][0]["unit"]["code"], "YB");
    let id = created["id"].as_str().unwrap();
    let updated = json_ok(
        app.patch_json(
            &format!("/api/v1/units/{id}"),
            &admin,
            &json!({"name": "Xã Mới", "tags": ["kinh_te_so"], "parent": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Xã Mới");
    assert_eq!(updated["parent_id"], serde_json::Value::Null);
    assert_eq!(updated["version"], 2);
    let found = json_ok(app.get("/api/v1/units?q=xa%20moi", &admin).await, 200).await;
    assert_eq!(found["items"][0]["code"], "XA-MOI");
}

#[tokio::test]
async fn bad_unit_writes_are_refused_with_the_field() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let cases = [
        (
            json!({"code": "bad code!", "name": "x", "kind": "commune"}),
            422,
            "/code",
        ),
        (
            json!({"code": "OK1", "name": "", "kind": "commune"}),
            422,
            "/name",
        ),
        (
            json!({"code": "OK2", "name": "x", "kind": "planet"}),
            422,
            "/kind",
        ),
        (
            json!({"code": "OK3", "name": "x", "kind": "commune", "parent": "NOPE"}),
            422,
            "/parent",
        ),
        (
            json!({"code": "OK4", "name": "x", "kind": "commune", "groups": ["NOPE"]}),
            422,
            "/groups/0",
        ),
        (
            json!({"code": "OK5", "name": "x", "kind": "commune", "predecessors": [{"unit": "NOPE"}]}),
            422,
            "/predecessors/0/unit",
        ),
        (
            json!({"code": "OK6", "name": "x", "kind": "commune", "valid_from": "2025-07-01", "valid_to": "2025-01-01"}),
            422,
            "/valid_to",
        ),
        (
            json!({"code": "OK7", "name": "x", "kind": "commune", "tags": ["not ok"]}),
            422,
            "/tags/0",
        ),
    ];
    for (body, status, field) in cases {
        let p = assert_problem(
            app.post_json("/api/v1/units", Some(&admin), &body).await,
            status,
            "VALIDATION_FAILED",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
    assert_problem(
        app.post_json(
            "/api/v1/units",
            Some(&admin),
            &json!({"code": "LC", "name": "x", "kind": "province"}),
        )
        .await,
        409,
        "CODE_TAKEN",
    )
    .await;
    // a unit cannot become its own ancestor
    let p = assert_problem(
        app.patch_json("/api/v1/units/LC", &admin, &json!({"parent": "XA-BAC-HA"}))
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "PARENT_CYCLE");
    // nothing was half-written
    let count = app.with_conn(|c| {
        use diesel::prelude::*;
        dti_api::db::schema::units::table
            .filter(dti_api::db::schema::units::code.like("OK%"))
            .count()
            .get_result::<i64>(c)
            .unwrap()
    });
    assert_eq!(count, 0);
}

#[tokio::test]
async fn only_admins_change_units_and_groups_but_everyone_signed_in_reads_them() {
    let app = spawn_seeded_app().await;
    for (role, unit) in [
        (Role::Reviewer, None),
        (Role::Viewer, None),
        (Role::UnitEditor, Some("STP")),
        (Role::UnitLeader, Some("SYT")),
    ] {
        let t = app.token_for(role, unit);
        json_ok(app.get("/api/v1/units", &t).await, 200).await;
        json_ok(app.get("/api/v1/units/STP", &t).await, 200).await;
        json_ok(app.get("/api/v1/ranking-groups", &t).await, 200).await;
        assert_problem(
            app.post_json(
                "/api/v1/units",
                Some(&t),
                &json!({"code": "Z9", "name": "z", "kind": "commune"}),
            )
            .await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
        assert_problem(
            app.patch_json("/api/v1/units/STP", &t, &json!({"name": "hacked"}))
                .await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
        assert_problem(
            app.put_json(
                "/api/v1/ranking-groups/LC-XA/members",
                &t,
                &json!({"units": []}),
            )
            .await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
        assert_problem(
            app.post_json(
                "/api/v1/ranking-groups",
                Some(&t),
                &json!({"code": "G9", "name": "g", "unit_kind": "commune"}),
            )
            .await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
    }
    let anon = app.get_public("/api/v1/units").await;
    assert_problem(anon, 401, "AUTH_REQUIRED").await;
    let admin = app.token_for(Role::Admin, None);
    assert_eq!(
        json_ok(app.get("/api/v1/units/STP", &admin).await, 200).await["name"],
        "Sở Tư pháp"
    );
}

#[tokio::test]
async fn ranking_group_members_must_match_the_group_kind() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let p = assert_problem(
        app.put_json(
            "/api/v1/ranking-groups/LC-XA/members",
            &admin,
            &json!({"units": ["XA-BAC-HA", "STP"]}),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/units/1");
    assert_eq!(p["errors"][0]["code"], "KIND_MISMATCH");
    let g = json_ok(app.post_json("/api/v1/ranking-groups", Some(&admin), &json!({"code": "LC-SO-2", "name": "Nhóm sở có dịch vụ công", "unit_kind": "department"})).await, 201).await;
    assert_eq!(g["member_count"], 0);
    let g = json_ok(
        app.put_json(
            "/api/v1/ranking-groups/LC-SO-2/members",
            &admin,
            &json!({"units": ["STP", "SYT"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(g["member_count"], 2);
    let got = json_ok(app.get("/api/v1/ranking-groups/LC-SO-2", &admin).await, 200).await;
    assert_eq!(got["members"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn seeds_load_twice_without_changing_anything() {
    let app = spawn_seeded_app().await;
    let count = |app: &TestApp| {
        app.with_conn(|c| {
            use diesel::prelude::*;
            use dti_api::db::schema::*;
            (
                units::table.count().get_result::<i64>(c).unwrap(),
                users::table.count().get_result::<i64>(c).unwrap(),
                ranking_group_members::table
                    .count()
                    .get_result::<i64>(c)
                    .unwrap(),
                unit_lineage::table.count().get_result::<i64>(c).unwrap(),
            )
        })
    };
    let before = count(&app);
    let report = app.with_conn(|c| {
        dti_api::services::seed::load(c, std::path::Path::new("seeds"), DEMO_PASSWORD).unwrap()
    });
    assert_eq!((report.groups, report.units, report.users), (0, 0, 0));
    assert_eq!(count(&app), before);
}

#[tokio::test]
async fn unit_codes_are_unique_regardless_of_case() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let unit = |code: &str| json!({"code": code, "name": "Sở Mới", "kind": "department"});
    json_ok(
        app.post_json("/api/v1/units", Some(&admin), &unit("SMOI"))
            .await,
        201,
    )
    .await;
    for code in ["smoi", "Smoi", "SMOI"] {
        let p = assert_problem(
            app.post_json("/api/v1/units", Some(&admin), &unit(code))
                .await,
            409,
            "CODE_TAKEN",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("SMOI"), "{p}");
    }
    // two spellings created at the same time: one unit
    let (one, other) = (unit("SO-MOI"), unit("so-moi"));
    let (a, b) = tokio::join!(
        app.post_json("/api/v1/units", Some(&admin), &one),
        app.post_json("/api/v1/units", Some(&admin), &other),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    // and the database refuses it whoever writes
    let err = app.with_conn(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "INSERT INTO units (id, code, name, search_name, kind) \
             VALUES (gen_random_uuid(), 'sMoI', 'x', 'x', 'department')",
        )
        .execute(c)
        .unwrap_err()
        .to_string()
    });
    assert!(err.contains("units_code_lower_key"), "{err}");
}

#[tokio::test]
async fn every_lookup_by_unit_code_ignores_case() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let got = json_ok(app.get("/api/v1/units/xa-bac-ha", &admin).await, 200).await;
    assert_eq!(got["code"], "XA-BAC-HA");
    let lineage = json_ok(app.get("/api/v1/units/yb/lineage", &admin).await, 200).await;
    assert!(lineage.to_string().contains("\"YB\""), "{lineage}");
    let children = json_ok(app.get("/api/v1/units?parent=lc", &admin).await, 200).await;
    assert!(children["total"].as_i64().unwrap() > 0, "{children}");
    json_ok(
        app.patch_json(
            "/api/v1/units/stp",
            &admin,
            &json!({"name": "Sở Tư pháp tỉnh"}),
        )
        .await,
        200,
    )
    .await;
    // group members by code: a code in two spellings is one unit, listed twice
    let p = assert_problem(
        app.put_json(
            "/api/v1/ranking-groups/LC-XA/members",
            &admin,
            &json!({"units": ["XA-BAC-HA", "xa-bac-ha"]}),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/units/1");
    assert_eq!(p["errors"][0]["code"], "DUPLICATE");
    let group = json_ok(app.get("/api/v1/ranking-groups/LC-XA", &admin).await, 200).await;
    let lower: Vec<String> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap().to_lowercase())
        .collect();
    let g = json_ok(
        app.put_json(
            "/api/v1/ranking-groups/LC-XA/members",
            &admin,
            &json!({ "units": lower }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(g["member_count"], lower.len());
    // accounts name their unit by code too
    let user = json_ok(
        app.post_json(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "editor.lower", "full_name": "Lê Văn Cường", "password": "a-long-secret-2026", "role": "unit_editor", "unit": "xa-bac-ha"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(user["unit"]["code"], "XA-BAC-HA");
}
