use dti_api::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Every set the seeds hold, by code.
async fn seeded_sets(app: &TestApp, token: &str) -> Vec<Value> {
    json_ok(
        app.get("/api/v1/indicator-sets?page_size=100", token).await,
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn by_code<'a>(sets: &'a [Value], code: &str) -> &'a Value {
    sets.iter()
        .find(|s| s["code"] == code)
        .unwrap_or_else(|| panic!("set {code} seeded"))
}

fn pillar_max(set: &Value, code: &str) -> String {
    set["pillars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == code)
        .unwrap()["max_points"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_seed_loads_active_with_the_published_totals() {
    let app = spawn_seeded_app().await;
    let token = app.token_for(Role::Viewer, None);
    let sets = seeded_sets(&app, &token).await;
    assert_eq!(
        sets.len(),
        14,
        "six seed documents and the Lào Cai sets (2644 and 3019 for four kinds of unit)"
    );
    assert!(sets.iter().all(|s| s["status"] == "active"));

    let national = by_code(&sets, "QD922-TINH");
    assert_eq!(national["scale"], "1000");
    assert_eq!(national["stats"]["main_indicators"], 9);
    assert_eq!(national["stats"]["components"], 98);
    assert_eq!(national["legal_basis"]["decision_number"], "922/QĐ-BTTTT");
    // the foundation indicators count in all three pillars: 500 + each activity indicator
    assert_eq!(pillar_max(national, "CQS"), "700");
    assert_eq!(pillar_max(national, "KTS"), "650");
    assert_eq!(pillar_max(national, "XHS"), "650");

    let district = by_code(&sets, "TH-HUYEN-270");
    assert_eq!(district["scale"], "270");
    assert_eq!(
        (
            pillar_max(district, "CQS"),
            pillar_max(district, "KTS"),
            pillar_max(district, "XHS")
        ),
        ("160".into(), "75".into(), "35".into())
    );

    assert_eq!(by_code(&sets, "TH-SO-160")["scale"], "160");
    assert_eq!(by_code(&sets, "DB-SO-500")["scale"], "500");
    let commune = by_code(&sets, "HN-XA-5279");
    assert_eq!(commune["scale"], "1000");
    assert_eq!(commune["stats"]["main_indicators"], 8);
    assert_eq!(commune["stats"]["components"], 47);
    assert_eq!(by_code(&sets, "YB-564")["stats"]["leaves"], 40);

    // the full tree adds up: main indicators of the national set sum to 1000 to the last digit
    let full = json_ok(
        app.get(
            &format!(
                "/api/v1/indicator-sets/{}?view=flat",
                national["id"].as_str().unwrap()
            ),
            &token,
        )
        .await,
        200,
    )
    .await;
    let nodes = full["nodes"].as_array().unwrap();
    let mains: Vec<&Value> = nodes.iter().filter(|n| n["kind"] == "main").collect();
    let sum: rust_decimal::Decimal = mains
        .iter()
        .map(|n| {
            n["max_points"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(sum.to_string(), "1000");
    let smart_city = mains
        .iter()
        .find(|n| n["name"].as_str().unwrap().contains("Đô thị thông minh"))
        .unwrap();
    assert_eq!(smart_city["max_points"], "0");
    assert_eq!(
        nodes.iter().filter(|n| n["kind"] == "component").count(),
        98
    );
    // leaves carry the input schema a frontend renders its form from
    let leaf = nodes
        .iter()
        .find(|n| n["is_leaf"] == true && n["method"].is_object())
        .unwrap();
    assert_eq!(leaf["input_schema"]["type"], "object");
}

#[tokio::test]
async fn one_node_is_served_with_its_schema_and_place_in_the_tree() {
    let app = spawn_seeded_app().await;
    let token = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let sets = seeded_sets(&app, &token).await;
    let district = by_code(&sets, "TH-HUYEN-270")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let full = json_ok(
        app.get(
            &format!("/api/v1/indicator-sets/{district}?view=flat"),
            &token,
        )
        .await,
        200,
    )
    .await;
    let tiers = full["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["method"]["type"] == "tiers")
        .unwrap()
        .clone();
    let code = tiers["code"].as_str().unwrap();
    let node = json_ok(
        app.get(
            &format!("/api/v1/indicator-sets/{district}/nodes/{code}"),
            &token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(node["method"]["type"], "tiers");
    assert_eq!(node["input_schema"]["required"][0], "value");
    assert_eq!(node["path"].as_array().unwrap().last().unwrap(), code);
    assert_problem(
        app.get(
            &format!("/api/v1/indicator-sets/{district}/nodes/NOPE"),
            &token,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

fn small_doc() -> Value {
    dti_api::api::indicator_sets::example_document()
}

async fn post_doc(app: &TestApp, token: &str, path: &str, doc: &Value) -> reqwest::Response {
    app.post_json(path, Some(token), doc).await
}

#[tokio::test]
async fn the_example_document_validates_imports_and_exports_byte_for_byte() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let report = json_ok(
        post_doc(
            &app,
            &admin,
            "/api/v1/indicator-sets/validate",
            &small_doc(),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(report["valid"], true);
    assert_eq!(report["stats"]["leaves"], 4);
    assert_eq!(report["pillars"][0]["max_points"], "100");
    // validate saved nothing
    assert_eq!(
        json_ok(app.get("/api/v1/indicator-sets", &admin).await, 200).await["total"],
        0
    );

    let text = serde_json::to_string_pretty(&small_doc()).unwrap() + "\n  ";
    let resp = app
        .request(Method::POST, "/api/v1/indicator-sets", Some(&admin))
        .header("content-type", "application/json")
        .body(text.clone())
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("location").is_some());
    let set = json_ok(resp, 201).await;
    assert_eq!(set["status"], "draft");
    let id = set["id"].as_str().unwrap();
    let exported = app
        .get(&format!("/api/v1/indicator-sets/{id}/export"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        exported, text,
        "export gives the document exactly as imported"
    );
    let canonical: Value = app
        .get(
            &format!("/api/v1/indicator-sets/{id}/export?form=canonical"),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(canonical["nodes"][0]["children"][0]["code"], "1.1");
    // the same code and version twice
    assert_problem(
        post_doc(&app, &admin, "/api/v1/indicator-sets", &small_doc()).await,
        409,
        "SET_VERSION_EXISTS",
    )
    .await;
}

#[tokio::test]
async fn yaml_documents_are_accepted_and_exported_as_yaml() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let mut doc = small_doc();
    doc["code"] = json!("VD-YAML");
    let yaml = serde_yaml::to_string(&doc).unwrap();
    let resp = app
        .request(Method::POST, "/api/v1/indicator-sets", Some(&admin))
        .header("content-type", "application/yaml")
        .body(yaml.clone())
        .send()
        .await
        .unwrap();
    let set = json_ok(resp, 201).await;
    let resp = app
        .get(
            &format!(
                "/api/v1/indicator-sets/{}/export",
                set["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/yaml")
    );
    assert_eq!(resp.text().await.unwrap(), yaml);
    let resp = app
        .request(Method::POST, "/api/v1/indicator-sets", Some(&admin))
        .header("content-type", "application/yaml")
        .body("code: [unclosed")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "MALFORMED_YAML").await;
    let resp = app
        .request(Method::POST, "/api/v1/indicator-sets", Some(&admin))
        .header("content-type", "text/csv")
        .body("a,b")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "UNSUPPORTED_MEDIA_TYPE").await;
}

/// (what to break, expected code, expected pointer)
fn malformed_documents() -> Vec<(Value, &'static str, &'static str)> {
    let base = small_doc();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut d = base.clone();
        f(&mut d);
        d
    };
    vec![
        (
            with(&|d| d["nodes"][0]["children"][1]["code"] = json!("1.1")),
            "DUPLICATE_CODE",
            "/nodes/0/children/1/code",
        ),
        (
            with(&|d| d["nodes"][0]["children"][0]["max_points"] = json!("25")),
            "CHILDREN_SUM_MISMATCH",
            "/nodes/0/max_points",
        ),
        (
            with(&|d| d["scale"] = json!("120")),
            "SCALE_MISMATCH",
            "/scale",
        ),
        (
            with(&|d| d["nodes"][0]["children"][0]["method"]["type"] = json!("magic")),
            "DOCUMENT_MALFORMED",
            "/nodes/0/children/0/method/type",
        ),
        (
            with(&|d| {
                d["nodes"][0]["children"][1]["max_points"] = json!("-20");
                d["nodes"][0]["children"][0]["max_points"] = json!("60");
            }),
            "NEGATIVE_POINTS",
            "/nodes/0/children/1/max_points",
        ),
        (
            with(&|d| d["nodes"][0]["children"][0]["max_points"] = json!("NaN")),
            "NOT_A_NUMBER",
            "/nodes/0/children/0/max_points",
        ),
        (
            with(&|d| d["nodes"][1]["children"][0]["method"]["target"] = json!("1.5")),
            "TARGET_OUT_OF_RANGE",
            "/nodes/1/children/0/method/target",
        ),
        (
            with(&|d| {
                d["nodes"][0]["children"][0]["method"]["bands"][1]["threshold"] = json!("0.5")
            }),
            "TIERS_NOT_ORDERED",
            "/nodes/0/children/0/method/bands/1/threshold",
        ),
        (
            with(&|d| d["nodes"][1]["children"][1]["method"]["options"][0]["points"] = json!("25")),
            "OPTION_POINTS_EXCEED_MAX",
            "/nodes/1/children/1/method/options/0/points",
        ),
        (
            with(&|d| d["pillars"][0]["main_indicators"] = json!(["1", "9"])),
            "PILLAR_UNKNOWN_INDICATOR",
            "/pillars/0/main_indicators/1",
        ),
        (
            with(&|d| d["pillars"][0]["main_indicators"] = json!(["1", "1.1"])),
            "PILLAR_NOT_MAIN",
            "/pillars/0/main_indicators/1",
        ),
        (
            with(&|d| {
                d["nodes"][0]["children"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("method");
            }),
            "METHOD_MISSING",
            "/nodes/0/children/1/method",
        ),
        (
            with(&|d| d["precision"] = json!(12)),
            "PRECISION_OUT_OF_RANGE",
            "/precision",
        ),
        (
            with(&|d| d["target_unit_kind"] = json!("planet")),
            "UNIT_KIND_INVALID",
            "/target_unit_kind",
        ),
        (
            with(&|d| d["nodes"][0]["children"][0]["colour"] = json!("red")),
            "DOCUMENT_MALFORMED",
            "/nodes/0/children/0/colour",
        ),
        (
            with(&|d| d["version"] = json!(0)),
            "VERSION_INVALID",
            "/version",
        ),
        (
            with(&|d| d["nodes"][0]["children"][0]["parent"] = json!("2")),
            "PARENT_AND_NESTED",
            "/nodes/0/children/0/parent",
        ),
        (
            with(&|d| d["nodes"][0]["children"][0]["code"] = json!("1 1")),
            "CODE_INVALID",
            "/nodes/0/children/0/code",
        ),
    ]
}

#[tokio::test]
async fn malformed_documents_are_refused_with_code_and_pointer_and_nothing_is_saved() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    for (doc, code, pointer) in malformed_documents() {
        for path in ["/api/v1/indicator-sets/validate", "/api/v1/indicator-sets"] {
            let body = assert_problem(
                post_doc(&app, &admin, path, &doc).await,
                422,
                "INVALID_SET_DOCUMENT",
            )
            .await;
            let errors = body["errors"].as_array().unwrap();
            assert!(
                errors
                    .iter()
                    .any(|e| e["code"] == code && e["field"] == pointer),
                "{path}: expected {code} at {pointer}, got {errors:?}"
            );
        }
    }
    assert_eq!(
        json_ok(app.get("/api/v1/indicator-sets", &admin).await, 200).await["total"],
        0
    );
    let nodes: i64 = app.with_conn(|c| {
        use diesel::prelude::*;
        dti_api::db::schema::indicator_nodes::table
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(nodes, 0, "no half-saved tree");
}

#[tokio::test]
async fn every_problem_of_a_document_is_reported_at_once() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let mut doc = small_doc();
    doc["scale"] = json!("90");
    doc["nodes"][1]["children"][0]["method"]["target"] = json!("0");
    doc["pillars"][0]["main_indicators"] = json!(["7"]);
    let body = assert_problem(
        post_doc(&app, &admin, "/api/v1/indicator-sets/validate", &doc).await,
        422,
        "INVALID_SET_DOCUMENT",
    )
    .await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    for c in [
        "SCALE_MISMATCH",
        "TARGET_OUT_OF_RANGE",
        "PILLAR_UNKNOWN_INDICATOR",
    ] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
}

#[tokio::test]
async fn absurd_documents_are_refused() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    // nesting far beyond any real tree
    let mut deep = json!({"code": "x", "kind": "criterion", "name": "x", "max_points": "0"});
    for i in 0..70 {
        deep = json!({"code": format!("d{i}"), "kind": "group", "name": "x", "max_points": "0", "children": [deep]});
    }
    let mut doc = small_doc();
    doc["nodes"].as_array_mut().unwrap().push(deep);
    let body = assert_problem(
        post_doc(&app, &admin, "/api/v1/indicator-sets/validate", &doc).await,
        422,
        "INVALID_SET_DOCUMENT",
    )
    .await;
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "TOO_DEEP"),
        "{body}"
    );
    // a body over the configured limit
    let mut huge = small_doc();
    huge["description"] = json!("x".repeat(app.config.max_json_bytes));
    assert_problem(
        post_doc(&app, &admin, "/api/v1/indicator-sets", &huge).await,
        413,
        "PAYLOAD_TOO_LARGE",
    )
    .await;
    // not JSON at all
    let resp = app
        .request(
            Method::POST,
            "/api/v1/indicator-sets/validate",
            Some(&admin),
        )
        .header("content-type", "application/json")
        .body("{\"code\":")
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 400, "MALFORMED_JSON").await;
    // where the text breaks off
    assert!(
        p["detail"].as_str().unwrap().contains("line 1 column 8"),
        "{p}"
    );
}

#[tokio::test]
async fn active_sets_are_immutable_and_say_how_to_make_a_new_version() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let sets = seeded_sets(&app, &admin).await;
    let id = by_code(&sets, "TH-SO-160")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = assert_problem(
        app.patch_json(
            &format!("/api/v1/indicator-sets/{id}"),
            &admin,
            &json!({"name": "x"}),
        )
        .await,
        409,
        "SET_IMMUTABLE",
    )
    .await;
    assert_eq!(
        body["new_version_url"],
        format!("/api/v1/indicator-sets/{id}/versions")
    );
    let resp = app
        .request(
            Method::PUT,
            &format!("/api/v1/indicator-sets/{id}"),
            Some(&admin),
        )
        .json(&small_doc())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409, "SET_IMMUTABLE").await;
    let resp = app
        .request(
            Method::DELETE,
            &format!("/api/v1/indicator-sets/{id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409, "SET_IMMUTABLE").await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/indicator-sets/{id}/activate"),
            Some(&admin),
            &json!({}),
        )
        .await,
        409,
        "SET_IMMUTABLE",
    )
    .await;
}

#[tokio::test]
async fn clone_edit_activate_leaves_the_old_version_untouched_and_served() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let sets = seeded_sets(&app, &admin).await;
    let old = by_code(&sets, "TH-HUYEN-270");
    let old_id = old["id"].as_str().unwrap().to_string();
    let old_before = app
        .get(&format!("/api/v1/indicator-sets/{old_id}"), &admin)
        .await
        .text()
        .await
        .unwrap();

    let draft = json_ok(
        app.post_json(
            &format!("/api/v1/indicator-sets/{old_id}/versions"),
            Some(&admin),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["version"], 2);
    assert_eq!(draft["based_on_id"], old_id.as_str());
    let first = &draft["document"]["nodes"][0];
    assert_eq!(
        first["replaces"][0], first["code"],
        "each node replaces its own code until edited"
    );
    let new_id = draft["id"].as_str().unwrap().to_string();

    // edit the draft: rename, with If-Match
    let etag = app
        .get(&format!("/api/v1/indicator-sets/{new_id}"), &admin)
        .await
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let resp = app.client.patch(app.url(&format!("/api/v1/indicator-sets/{new_id}"))).bearer_auth(&admin).header("if-match", &etag)
        .json(&json!({"name": "Bộ chỉ số cấp huyện (sửa đổi 2022)", "legal_basis": {"decision_number": "4444/QĐ-UBND"}})).send().await.unwrap();
    let edited = json_ok(resp, 200).await;
    assert_eq!(edited["legal_basis"]["decision_number"], "4444/QĐ-UBND");
    let stale = app
        .client
        .patch(app.url(&format!("/api/v1/indicator-sets/{new_id}")))
        .bearer_auth(&admin)
        .header("if-match", &etag)
        .json(&json!({"name": "lost"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "VERSION_MISMATCH").await;
    // a replaces code the old version does not have is refused
    let mut doc = edited["document"].clone();
    doc["nodes"][0]["replaces"] = json!(["NOT-IN-V1"]);
    let resp = app
        .request(
            Method::PUT,
            &format!("/api/v1/indicator-sets/{new_id}"),
            Some(&admin),
        )
        .json(&doc)
        .send()
        .await
        .unwrap();
    let body = assert_problem(resp, 422, "INVALID_SET_DOCUMENT").await;
    assert_eq!(body["errors"][0]["field"], "/nodes/0/replaces/0");

    let active = json_ok(
        app.post_json(
            &format!("/api/v1/indicator-sets/{new_id}/activate"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(active["status"], "active");
    // the old version is byte-for-byte the same and still served
    let old_after = app
        .get(&format!("/api/v1/indicator-sets/{old_id}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(old_before, old_after);
    let versions = json_ok(
        app.get("/api/v1/indicator-sets?code=TH-HUYEN-270", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(versions["total"], 2);
    assert_eq!(versions["items"][0]["version"], 2);
    // the draft that something is based on cannot be deleted; a fresh unused draft can
    let third = json_ok(
        app.post_json(
            &format!("/api/v1/indicator-sets/{new_id}/versions"),
            Some(&admin),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(third["version"], 3);
    let resp = app
        .request(
            Method::DELETE,
            &format!("/api/v1/indicator-sets/{}", third["id"].as_str().unwrap()),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn only_admins_write_sets_but_every_role_reads_them() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let id = seeded_sets(&app, &admin).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (role, unit) in [
        (Role::Reviewer, None),
        (Role::Viewer, None),
        (Role::UnitEditor, Some("STP")),
        (Role::UnitLeader, Some("STP")),
    ] {
        let t = app.token_for(role, unit);
        json_ok(
            app.get(&format!("/api/v1/indicator-sets/{id}"), &t).await,
            200,
        )
        .await;
        assert_problem(
            post_doc(&app, &t, "/api/v1/indicator-sets", &small_doc()).await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
        assert_problem(
            app.post_json(
                &format!("/api/v1/indicator-sets/{id}/versions"),
                Some(&t),
                &json!({}),
            )
            .await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
        assert_problem(
            app.post_json(
                &format!("/api/v1/indicator-sets/{id}/activate"),
                Some(&t),
                &json!({}),
            )
            .await,
            403,
            "FORBIDDEN_ROLE",
        )
        .await;
    }
    let anon = app
        .get_public(&format!("/api/v1/indicator-sets/{id}"))
        .await;
    assert_problem(anon, 401, "AUTH_REQUIRED").await;
}

#[tokio::test]
async fn list_filters_by_kind_status_issuer_and_year() {
    let app = spawn_seeded_app().await;
    let t = app.token_for(Role::Viewer, None);
    let communes = json_ok(
        app.get("/api/v1/indicator-sets?target_unit_kind=commune", &t)
            .await,
        200,
    )
    .await;
    assert!(
        communes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["target_unit_kind"] == "commune")
    );
    assert!(communes["total"].as_i64().unwrap() >= 1);
    let th = json_ok(
        app.get("/api/v1/indicator-sets?issuer=Thanh%20H%C3%B3a", &t)
            .await,
        200,
    )
    .await;
    assert_eq!(th["total"], 2);
    assert_eq!(
        json_ok(
            app.get("/api/v1/indicator-sets?status=draft", &t).await,
            200
        )
        .await["total"],
        0
    );
    assert_problem(
        app.get("/api/v1/indicator-sets?status=weird", &t).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    // a kind that does not exist is refused by name, not answered with an empty page
    let p = assert_problem(
        app.get("/api/v1/indicator-sets?target_unit_kind=null", &t)
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "target_unit_kind", "{p}");
    assert_eq!(p["errors"][0]["code"], "INVALID_KIND", "{p}");
    let y = json_ok(app.get("/api/v1/indicator-sets?year=2022", &t).await, 200).await;
    assert!(
        y["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["year"] == 2022)
    );
}

#[tokio::test]
async fn a_merge_patch_sets_members_removes_them_with_null_and_must_be_an_object() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let draft = json_ok(
        post_doc(&app, &admin, "/api/v1/indicator-sets", &small_doc()).await,
        201,
    )
    .await;
    let path = format!("/api/v1/indicator-sets/{}", draft["id"].as_str().unwrap());
    // only an object is a merge patch of a document (an array or a string would replace it)
    for not_an_object in [json!(["name"]), json!("name"), json!(7)] {
        assert_problem(
            app.patch_json(&path, &admin, &not_an_object).await,
            422,
            "INVALID_PATCH",
        )
        .await;
    }
    // members are merged at every depth; `null` removes one
    let edited = json_ok(
        app.patch_json(
            &path,
            &admin,
            &json!({"year": null, "legal_basis": {"decision_date": null, "decision_number": "9/QĐ-UBND"}}),
        )
        .await,
        200,
    )
    .await;
    let doc = &edited["document"];
    assert!(doc.get("year").is_none(), "{doc}");
    assert_eq!(
        doc["legal_basis"],
        json!({"decision_number": "9/QĐ-UBND", "issuer": "UBND tỉnh (ví dụ)"})
    );
    assert_eq!(doc["name"], small_doc()["name"]);
    // removing a required member leaves an invalid document, refused as a whole
    assert_problem(
        app.patch_json(&path, &admin, &json!({"name": null, "scale": "90"}))
            .await,
        422,
        "INVALID_SET_DOCUMENT",
    )
    .await;
    let after = json_ok(app.get(&path, &admin).await, 200).await;
    assert_eq!(after["document"], *doc, "nothing written");
}
