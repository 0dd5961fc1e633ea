//! What the derives of utoipa cannot say, added to the generated document in one pass:
//!
//! - `Problem.code` is the enum of the problem catalogue ([`crate::problem_codes`]), each code
//!   described;
//! - every operation lists the specific 4xx statuses it may answer (shared responses in
//!   `components.responses`, each naming its codes), besides the catch-all `4XX`;
//! - header parameters are plain strings (an absent header is absent, never `null`);
//! - routes without a token say so (`security: []`);
//! - the public routes declare `ETag`, `Cache-Control` and `If-None-Match`;
//! - an evidence download declares every type the service stores and serves (the file kinds
//!   of [`crate::storage::FileKind`]), each as binary.

use serde_json::{Map, Value, json};

use crate::problem_codes::{self, CATALOGUE};

/// The document with every refinement, as JSON (utoipa's own types cannot read every schema
/// back, e.g. an empty `additionalProperties: {}`).
pub fn refined(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut json = serde_json::to_value(doc).expect("the document is JSON");
    refine(&mut json);
    json
}

/// Applies every refinement to `doc` (the document as JSON).
pub fn refine(doc: &mut Value) {
    problem_code_enum(doc);
    shared_responses(doc);
    evidence_download_types(doc);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            plain_header_parameters(op);
            if !op.contains_key("security") {
                op.insert("security".into(), json!([]));
            }
            if path.starts_with("/api/v1/public/") {
                public_caching(op);
            }
            if path.starts_with("/api/v1/") {
                specific_statuses(path, method, op);
            }
        }
    }
}

fn problem_code_enum(doc: &mut Value) {
    let Some(problem) = find_problem_schema(doc) else {
        return;
    };
    let mut description = String::from(
        "Stable machine-readable code; clients switch on this. The whole catalogue (status, code, meaning):\n",
    );
    for p in CATALOGUE {
        description.push_str(&format!("\n- {} `{}`: {}", p.status, p.code, p.description));
    }
    let codes: Vec<&str> = CATALOGUE.iter().map(|p| p.code).collect();
    let descriptions: Vec<&str> = CATALOGUE.iter().map(|p| p.description).collect();
    problem["properties"]["code"] = json!({
        "type": "string",
        "enum": codes,
        "description": description,
        "x-enum-descriptions": descriptions,
        "example": "VALIDATION_FAILED",
    });
}

/// `Problem`, made one object: utoipa renders its flattened `extensions` as an `allOf` with an
/// empty object; it is `additionalProperties: true` instead (extension members are open).
fn find_problem_schema(doc: &mut Value) -> Option<&mut Value> {
    let problem = doc.pointer_mut("/components/schemas/Problem")?;
    if let Some(parts) = problem.get("allOf").and_then(Value::as_array)
        && let Some(main) = parts
            .iter()
            .find(|part| part.pointer("/properties/code").is_some())
    {
        let mut merged = main.clone();
        for key in ["description", "example"] {
            if let Some(v) = problem.get(key) {
                merged[key] = v.clone();
            }
        }
        merged["additionalProperties"] = Value::Bool(true);
        *problem = merged;
    }
    problem.pointer("/properties/code")?;
    Some(problem)
}

/// A shared response per status: `#/components/responses/Status<nnn>`.
fn shared_responses(doc: &mut Value) {
    let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) else {
        return;
    };
    let responses = components
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("components.responses is an object");
    for status in [400u16, 401, 403, 404, 409, 412, 413, 415, 422] {
        let reason = actix_web::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        let codes: Vec<String> = problem_codes::with_status(status)
            .map(|p| format!("`{}`", p.code))
            .collect();
        let mut response = json!({
            "description": format!("{reason}: {}.", codes.join(", ")),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        });
        if status == 401 {
            response["headers"] = json!({"WWW-Authenticate": {
                "description": "`Bearer realm=\"dti-api\"`.",
                "schema": {"type": "string"}
            }});
        }
        responses.insert(format!("Status{status}"), response);
    }
}

/// The statuses an operation may answer besides success, from what it takes:
/// parameters and bodies can be malformed (400) or invalid (422), a token can be missing or
/// stale (401) or lack the rights (403), a path id can name nothing (404), a change can
/// conflict with the state (409), `If-Match` can be stale (412), a body can be too large (413)
/// or of the wrong type (415). (Login documents its own 401 and 429.)
fn specific_statuses(path: &str, method: &str, op: &mut Map<String, Value>) {
    let params: Vec<(String, String)> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["in"].as_str().unwrap_or("").to_string(),
                        p["name"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let has_body = op.contains_key("requestBody");
    let authenticated = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let writes = method != "get" && method != "head";
    let login = path == "/api/v1/auth/login";
    let mut statuses = Vec::new();
    if has_body || !params.is_empty() {
        statuses.push(400);
    }
    if authenticated || login {
        statuses.push(401);
    }
    if authenticated && path != "/api/v1/me" {
        statuses.push(403);
    }
    if params.iter().any(|(at, _)| at == "path") {
        statuses.push(404);
    }
    if writes && authenticated {
        statuses.push(409);
    }
    if params
        .iter()
        .any(|(at, name)| at == "header" && name.eq_ignore_ascii_case("if-match"))
    {
        statuses.push(412);
    }
    if has_body {
        statuses.extend([413, 415]);
    }
    if has_body || params.iter().any(|(at, _)| at == "query") {
        statuses.push(422);
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for status in statuses {
        responses
            .entry(status.to_string())
            .or_insert_with(|| json!({"$ref": format!("#/components/responses/Status{status}")}));
    }
    // keep the catch-all last, after the specific statuses
    for catch_all in ["4XX", "5XX"] {
        if let Some(v) = responses.remove(catch_all) {
            responses.insert(catch_all.into(), v);
        }
    }
}

fn plain_header_parameters(op: &mut Map<String, Value>) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params {
        if p["in"] != "header" {
            continue;
        }
        if let Some(ty) = p.pointer_mut("/schema/type")
            && let Some(types) = ty.as_array()
        {
            let types: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            if types.len() == 1 {
                *ty = types[0].clone();
            }
        }
    }
}

/// Public reads are cacheable: a strong `ETag` and `Cache-Control` on 200 and 304, and a
/// conditional `If-None-Match` (the list of periods carries only `Cache-Control`).
fn public_caching(op: &mut Map<String, Value>) {
    let conditional = op.get("responses").is_some_and(|r| r.get("304").is_some());
    if conditional {
        let params = op
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("parameters is a list");
        if !params.iter().any(|p| p["name"] == "If-None-Match") {
            params.push(json!({
                "name": "If-None-Match",
                "in": "header",
                "required": false,
                "description": "The `ETag` of a copy the client holds: answered `304 Not Modified` when it is still current.",
                "schema": {"type": "string", "maxLength": 1000},
            }));
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for status in ["200", "304"] {
        let Some(response) = responses.get_mut(status).and_then(Value::as_object_mut) else {
            continue;
        };
        let headers = response
            .entry("headers")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("headers is an object");
        headers.insert(
            "Cache-Control".into(),
            json!({"description": "How long a cache may keep the answer (`public, max-age=…`).", "schema": {"type": "string"}}),
        );
        if conditional {
            headers.insert(
                "ETag".into(),
                json!({"description": "Strong entity tag of the snapshot version; send it back in `If-None-Match`.", "schema": {"type": "string"}}),
            );
        }
    }
}

/// The types an evidence file is served with: its kind, read from its content at upload.
fn evidence_download_types(doc: &mut Value) {
    let Some(ok) = doc.pointer_mut("/paths/~1api~1v1~1evidence~1{id}~1content/get/responses/200")
    else {
        return;
    };
    let content: Map<String, Value> = crate::storage::FileKind::ALL
        .iter()
        .map(|k| {
            (
                k.mime().to_string(),
                json!({"schema": {"type": "string", "format": "binary"}}),
            )
        })
        .collect();
    ok["content"] = Value::Object(content);
    ok["description"] = json!(
        "The file's bytes, with the type read from its content at upload (one of these), an \
         attachment `Content-Disposition` with its name and `ETag` (its SHA-256)."
    );
}
