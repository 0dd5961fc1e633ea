//! The set document format: its version (a stored document of the previous version is
//! upgraded when read), and the texts answer schemas carry (guidance, input labels, evidence
//! expected, data source, verifying body).

use diesel::RunQueryDsl;
use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{active_set, assessment_of, open_new_period};
use crate::helpers::*;

/// The example document with texts on leaf 1.2.
fn described() -> Value {
    let mut doc = dti_api::api::indicator_sets::example_document();
    let leaf = &mut doc["nodes"][0]["children"][1];
    leaf["guidance"] = json!("Tính các cuộc họp Ban chỉ đạo chuyển đổi số trong năm đánh giá.");
    leaf["inputs"] = json!({
        "numerator": {"label": "Số cuộc họp do Chủ tịch chủ trì",
                      "description": "Cuộc họp có biên bản ghi Chủ tịch UBND xã chủ trì"},
        "denominator": {"label": "Tổng số cuộc họp của Ban chỉ đạo"}
    });
    leaf["evidence_expected"] = json!("Biên bản, thông báo kết luận các cuộc họp");
    leaf["data_source"] = json!("UBND xã tự kê khai");
    leaf["verifying_body"] = json!("Sở Khoa học và Công nghệ");
    doc
}

#[tokio::test]
async fn a_stored_version_1_document_is_upgraded_when_read_and_still_scores() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let id = active_set(&app, &admin, &described()).await;

    // The row as the service stored documents before the format had a version: no
    // schema_version and none of the members version 2 added.
    let mut v1 = dti_api::api::indicator_sets::example_document();
    v1.as_object_mut().unwrap().remove("schema_version");
    v1.as_object_mut().unwrap().remove("classification");
    let leaf = v1["nodes"][0]["children"][1].as_object_mut().unwrap();
    leaf.remove("inputs");
    leaf.remove("evidence_expected");
    leaf.insert(
        "guidance".into(),
        json!("a = số cuộc họp do Chủ tịch chủ trì"),
    );
    let literal = serde_json::to_string(&v1).unwrap().replace('\'', "''");
    app.with_conn(|c| {
        diesel::sql_query(format!(
            "UPDATE indicator_sets SET document = '{literal}'::jsonb WHERE id = '{id}'"
        ))
        .execute(c)
        .unwrap()
    });

    let set = json_ok(
        app.get(&format!("/api/v1/indicator-sets/{id}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(set["schema_version"], 2, "{set}");
    assert_eq!(set["document"]["schema_version"], 2);
    assert_eq!(
        set["document"]["nodes"][0]["children"][1]["guidance"],
        "a = số cuộc họp do Chủ tịch chủ trì"
    );
    assert_eq!(set["classification"], Value::Null);
    assert_eq!(set["stats"]["leaves"], 4);
    let flat = json_ok(
        app.get(&format!("/api/v1/indicator-sets/{id}?view=flat"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(flat["nodes"][2]["input_schema"]["x-method"], "ratio");
    let canonical: Value = app
        .get(
            &format!("/api/v1/indicator-sets/{id}/export?form=canonical"),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(canonical["schema_version"], 2);
    // a new version is cloned from the upgraded document
    let next = json_ok(
        app.post_json(
            &format!("/api/v1/indicator-sets/{id}/versions"),
            Some(&admin),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(next["document"]["schema_version"], 2);
    assert_eq!(next["version"], 2);

    // a period scores with it
    let period = open_new_period(
        &app,
        &admin,
        &json!({"code": "DTI-2024", "name": "Đánh giá DTI năm 2024", "data_year": 2024,
                "groups": [{"group": "LC-XA", "indicator_set": id}]}),
    )
    .await;
    let period = period["id"].as_str().unwrap().to_string();
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let w = json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/answers/1.2"),
            &editor,
            &json!({"inputs": {"numerator": 3, "denominator": 4}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(w["score"]["self_points"], "15");

    // the stored row itself is left as it was: it is upgraded each time it is read
    let stored: Vec<StoredVersion> = app.with_conn(|c| {
        diesel::sql_query(format!(
            "SELECT (document ? 'schema_version') AS has_version FROM indicator_sets WHERE id = '{id}'"
        ))
        .load(c)
        .unwrap()
    });
    assert!(!stored[0].has_version);
}

#[derive(diesel::QueryableByName)]
struct StoredVersion {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    has_version: bool,
}

#[tokio::test]
async fn imports_accept_an_older_format_version_and_refuse_an_unknown_one() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let mut doc = described();
    doc["schema_version"] = json!(1);
    let report = json_ok(
        app.post_json("/api/v1/indicator-sets/validate", Some(&admin), &doc)
            .await,
        200,
    )
    .await;
    assert_eq!(report["valid"], true);
    doc["schema_version"] = json!(3);
    let resp = app
        .request(
            reqwest::Method::POST,
            "/api/v1/indicator-sets",
            Some(&admin),
        )
        .header("accept-language", "vi")
        .json(&doc)
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 422, "INVALID_SET_DOCUMENT").await;
    assert_eq!(p["errors"][0]["field"], "/schema_version");
    assert_eq!(p["errors"][0]["code"], "SCHEMA_VERSION_UNSUPPORTED");
    assert_eq!(
        p["errors"][0]["message"],
        "phiên bản định dạng tài liệu (`schema_version`) phải là số nguyên từ 1 đến 2"
    );
    let none = json_ok(app.get("/api/v1/indicator-sets", &admin).await, 200).await;
    assert_eq!(none["total"], 0, "nothing was stored");
}

#[tokio::test]
async fn answer_schemas_say_what_to_count_what_to_attach_who_supplies_and_who_verifies() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let id = active_set(&app, &admin, &described()).await;
    let node = json_ok(
        app.get(&format!("/api/v1/indicator-sets/{id}/nodes/1.2"), &admin)
            .await,
        200,
    )
    .await;
    let schema = &node["input_schema"];
    assert_eq!(schema["title"], "Tỷ lệ cuộc họp do Chủ tịch chủ trì");
    let description = schema["description"].as_str().unwrap();
    assert!(
        description.starts_with("Tính các cuộc họp Ban chỉ đạo chuyển đổi số"),
        "{description}"
    );
    assert!(
        description.contains("numerator / denominator"),
        "{description}"
    );
    assert_eq!(
        schema["properties"]["numerator"]["title"],
        "Số cuộc họp do Chủ tịch chủ trì"
    );
    assert_eq!(
        schema["properties"]["numerator"]["description"],
        "Cuộc họp có biên bản ghi Chủ tịch UBND xã chủ trì"
    );
    assert_eq!(
        schema["properties"]["denominator"]["title"],
        "Tổng số cuộc họp của Ban chỉ đạo"
    );
    assert_eq!(
        schema["x-evidence-expected"],
        "Biên bản, thông báo kết luận các cuộc họp"
    );
    assert_eq!(schema["x-data-source"], "UBND xã tự kê khai");
    assert_eq!(schema["x-verifying-body"], "Sở Khoa học và Công nghệ");
    assert_eq!(
        node["inputs"]["denominator"]["label"],
        "Tổng số cuộc họp của Ban chỉ đạo"
    );
    assert_eq!(
        node["evidence_expected"],
        "Biên bản, thông báo kết luận các cuộc họp"
    );

    // texts for inputs the method does not take are refused where they are
    let mut doc = described();
    doc["code"] = json!("VD-XA-LOI");
    doc["nodes"][0]["children"][1]["inputs"]["value"] = json!({"label": "Giá trị"});
    doc["nodes"][0]["inputs"] = json!({"numerator": {"label": "Tử số"}});
    let p = assert_problem(
        app.post_json("/api/v1/indicator-sets", Some(&admin), &doc)
            .await,
        422,
        "INVALID_SET_DOCUMENT",
    )
    .await;
    let found: Vec<(&str, &str)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("/nodes/0/inputs", "INPUT_TEXT_ON_INNER_NODE"),
            ("/nodes/0/children/1/inputs/value", "INPUT_TEXT_UNKNOWN"),
        ]
    );
}
