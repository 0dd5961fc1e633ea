use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_committed_openapi_document_matches_what_the_service_serves() {
    let app = spawn_app().await;
    let served: Value = app
        .get_public("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string("openapi/openapi.json")
            .expect("openapi/openapi.json is committed"),
    )
    .unwrap();
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
    assert_eq!(
        dti_api::openapi::openapi_json(),
        std::fs::read_to_string("openapi/openapi.json").unwrap()
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_documents_every_operation() {
    let doc: Value = serde_json::to_value(dti_api::openapi::openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    for required in [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/units",
        "/api/v1/units/{id}",
        "/api/v1/units/{id}/lineage",
        "/api/v1/ranking-groups",
        "/api/v1/ranking-groups/{id}/members",
        "/health/live",
        "/health/ready",
        "/metrics",
    ] {
        assert!(paths.contains_key(required), "{required} missing");
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} documents no success"
            );
            if path.starts_with("/api/v1") {
                assert!(
                    responses.contains_key("4XX"),
                    "{method} {path} documents no errors"
                );
            }
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = spawn_app().await;
    let resp = app.get_public("/swagger-ui/").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("swagger"));
    let resp = app.get_public("/swagger-ui").await;
    assert!(resp.status().is_redirection());
}
