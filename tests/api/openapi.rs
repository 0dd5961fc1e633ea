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

/// Every `$ref` in the document points at something the document holds (a dangling one stops
/// client generators: openapi-typescript generates nothing, others drop the operation).
#[test]
fn every_reference_in_the_document_resolves() {
    fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    match (k.as_str(), child) {
                        ("$ref", Value::String(target)) => out.push((at.clone(), target)),
                        _ => refs(child, format!("{at}/{k}"), out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    refs(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let doc: Value = serde_json::to_value(dti_api::openapi::openapi()).unwrap();
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(!found.is_empty());
    let dangling: Vec<String> = found
        .iter()
        .filter(|(_, target)| {
            target
                .strip_prefix('#')
                .is_none_or(|pointer| doc.pointer(pointer).is_none())
        })
        .map(|(at, target)| format!("{at} → {target}"))
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:#?}");
}

/// `Problem.code` is the whole catalogue of problem codes, each described; each operation
/// names its specific 4xx statuses; headers are plain strings; routes without a token say so.
#[test]
fn problem_codes_statuses_headers_and_security_are_declared() {
    let doc: Value = serde_json::to_value(dti_api::openapi::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let code = &schemas["Problem"]["properties"]["code"];
    let listed: Vec<&str> = code["enum"]
        .as_array()
        .expect("Problem.code is an enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for p in dti_api::problem_codes::CATALOGUE {
        assert!(listed.contains(&p.code), "{} missing", p.code);
        assert!(
            code["description"]
                .as_str()
                .unwrap()
                .contains(p.description)
        );
    }
    for must in [
        "NOT_YOUR_UNIT",
        "TOKEN_REVOKED",
        "AUTH_REQUIRED",
        "INVALID_BODY",
    ] {
        assert!(listed.contains(&must), "{must}");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let public = path.starts_with("/api/v1/public/")
                || path.starts_with("/health/")
                || path == "/api/v1/auth/login";
            if public {
                assert_eq!(op["security"], serde_json::json!([]), "{method} {path}");
            } else if path.starts_with("/api/v1/") {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
            if path.contains('{') && path.starts_with("/api/v1/") {
                assert!(responses.contains_key("404"), "{method} {path}: no 404");
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "header" {
                    assert_eq!(
                        p["schema"]["type"], "string",
                        "{method} {path} {}",
                        p["name"]
                    );
                }
            }
        }
    }
    let rankings = &doc["paths"]["/api/v1/public/periods/{id}/rankings"]["get"];
    for status in ["200", "304"] {
        for h in ["ETag", "Cache-Control"] {
            assert!(
                rankings["responses"][status]["headers"][h].is_object(),
                "{status} {h}"
            );
        }
    }
    assert!(
        rankings["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "If-None-Match")
    );
}
