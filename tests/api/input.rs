//! Hostile input: NUL characters anywhere, bodies sent before (or instead of) the right to send
//! them, bodies that never finish, arrays for objects, texts without end, and problems that
//! would echo them back.

use std::time::{Duration, Instant};

use dti_api::domain::Role;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixtures::{assessment_of, evidence_rows, open_period, pdf};
use crate::helpers::*;

/// The code of a refused NUL character, wherever it was sent.
const NUL_CODE: &str = "NUL_CHARACTER";
const NUL: &str = "a\u{0}b";

/// Real ids for every path parameter of the spec, so that a request reaches as far as it can.
struct Fixture {
    admin: String,
    period: String,
    set: String,
    assessment: String,
    evidence: String,
    clarification: String,
    token: String,
    user: String,
    webhook: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.token_for(Role::Admin, None);
    let (period, set) = open_period(app, &admin, |_| {}).await;
    let assessment = assessment_of(app, &admin, &period, "XA-BAC-HA").await;
    let evidence = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{assessment}/answers/1.1/evidence"),
            Some(&admin),
            &json!({"url": "https://laocai.gov.vn/bien-ban.pdf"}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let clarification = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{assessment}/clarifications"),
            Some(&admin),
            &json!({"node_code": "1.1", "message": "Bổ sung biên bản"}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = json_ok(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&admin),
            &json!({"name": "cổng dữ liệu", "scopes": ["automatic:write"]}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = app.user_and_token(Role::Viewer, None).0.id.to_string();
    let webhook = json_ok(
        app.post_json(
            "/api/v1/webhooks",
            Some(&admin),
            &json!({"url": "http://127.0.0.1:9/hooks", "description": "cổng tỉnh"}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    Fixture {
        admin,
        period,
        set,
        assessment,
        evidence,
        clarification,
        token,
        user,
        webhook,
    }
}

impl Fixture {
    /// The value of path parameter `name` in `template`.
    fn path_value(&self, template: &str, name: &str) -> String {
        let resource = template
            .trim_start_matches("/api/v1/")
            .trim_start_matches("public/")
            .split('/')
            .next()
            .unwrap_or("");
        match (resource, name) {
            (_, "node_code" | "code") => "1.1".into(),
            (_, "unit_code") => "XA-BAC-HA".into(),
            ("assessments", "id") => self.assessment.clone(),
            ("clarifications", "id") => self.clarification.clone(),
            ("evidence", "id") => self.evidence.clone(),
            ("indicator-sets", "id") => self.set.clone(),
            ("integration-tokens", "id") => self.token.clone(),
            ("periods", "id") => self.period.clone(),
            ("ranking-groups", "id") => "LC-XA".into(),
            ("units", "id") => "XA-BAC-HA".into(),
            ("users", "id") => self.user.clone(),
            ("webhooks", "id") => self.webhook.clone(),
            // Any well-formed id: the sweep only needs the other parameters to be valid.
            ("webhooks", "delivery_id") => uuid::Uuid::nil().to_string(),
            other => panic!("no fixture for path parameter {other:?} of {template}"),
        }
    }
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn is_string(spec: &Value, schema: &Value) -> bool {
    let s = resolve(spec, schema);
    match &s["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => s["enum"].is_array() || s["oneOf"].is_array(),
    }
}

/// JSON pointers of every string in `v`.
fn string_leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_leaves(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                string_leaves(
                    item,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// A body for `schema`: its example, else one value of the right type per property.
fn base_body(spec: &Value, content: &Value) -> Value {
    if let Some(ex) = content.get("example") {
        return ex.clone();
    }
    let schema = resolve(spec, &content["schema"]);
    if let Some(ex) = schema.get("example") {
        return ex.clone();
    }
    let mut out = serde_json::Map::new();
    for (k, p) in schema["properties"].as_object().into_iter().flatten() {
        let v = if is_string(spec, p) {
            json!("x")
        } else {
            json!(null)
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

fn problem_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect()
}

/// Every string parameter and every string member of every JSON body the served spec declares,
/// with a NUL character in it, as the administrator: always a 4xx problem, never a 5xx, and
/// where the refusal is about the input, it names the parameter or member.
#[tokio::test]
async fn a_nul_in_any_string_the_spec_declares_is_refused_by_name() {
    let app = spawn_seeded_app().await;
    let fx = fixture(&app).await;
    let spec = json_ok(app.get_public("/api-docs/openapi.json").await, 200).await;
    let mut checked = 0;
    let mut failures = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let params: Vec<(String, String, bool)> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["in"].as_str().unwrap().to_string(),
                        is_string(&spec, &p["schema"]),
                    )
                })
                .collect();
            let path_with = |nul_in: Option<&str>| {
                let mut path = template.clone();
                for (name, place, _) in &params {
                    if place == "path" {
                        let value = if nul_in == Some(name.as_str()) {
                            "a%00b".to_string()
                        } else {
                            fx.path_value(template, name)
                        };
                        path = path.replace(&format!("{{{name}}}"), &value);
                    }
                }
                path
            };
            let json_body = op["requestBody"]["content"].as_object().and_then(|c| {
                c.iter()
                    .find(|(ct, _)| ct.contains("json"))
                    .map(|(ct, c)| (ct.clone(), c.clone()))
            });
            let base = json_body
                .as_ref()
                .map(|(_, c)| base_body(&spec, c))
                .unwrap_or(json!({}));
            let send = |path: String, body: Value| {
                let mut rb = app.request(method.clone(), &path, Some(&fx.admin));
                if let Some((ct, _)) = &json_body {
                    rb = rb
                        .header("content-type", ct.as_str())
                        .body(serde_json::to_vec(&body).unwrap());
                }
                rb.send()
            };
            // path and query parameters
            for (name, place, string) in &params {
                if !string || !(place == "path" || place == "query") {
                    continue;
                }
                let path = if place == "path" {
                    path_with(Some(name))
                } else {
                    format!("{}?{name}=a%00b", path_with(None))
                };
                let resp = send(path.clone(), base.clone()).await.unwrap();
                checked += 1;
                let status = resp.status().as_u16();
                let ctype = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                if !(400..500).contains(&status)
                    || ctype != "application/problem+json"
                    || body["code"] != NUL_CODE
                    || !problem_fields(&body).contains(name)
                {
                    failures.push(format!("{method} {path} ({place} {name}): {status} {body}"));
                }
            }
            // members of a JSON body
            let Some(_) = &json_body else { continue };
            let mut leaves = Vec::new();
            string_leaves(&base, String::new(), &mut leaves);
            let schema = resolve(&spec, &json_body.as_ref().unwrap().1["schema"]).clone();
            for (k, p) in schema["properties"].as_object().into_iter().flatten() {
                let pointer = format!("/{k}");
                if is_string(&spec, p) && !leaves.contains(&pointer) {
                    leaves.push(pointer);
                }
            }
            for pointer in leaves {
                let mut body = base.clone();
                match body.pointer_mut(&pointer) {
                    Some(v) => *v = json!(NUL),
                    None => {
                        body[&pointer[1..]] = json!(NUL);
                    }
                }
                let path = path_with(None);
                let resp = send(path.clone(), body).await.unwrap();
                checked += 1;
                let status = resp.status().as_u16();
                let ctype = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                // Refusals that come before the body is read (rights, phase, a missing
                // resource) may stand; a refusal of the body itself must be the NUL's.
                let about_body = status == 400 || status == 422;
                if !(400..500).contains(&status)
                    || ctype != "application/problem+json"
                    || (about_body
                        && (body["code"] != NUL_CODE || !problem_fields(&body).contains(&pointer)))
                {
                    failures.push(format!("{method} {path} body {pointer}: {status} {body}"));
                }
            }
        }
    }
    assert!(checked > 150, "only {checked} requests");
    assert!(
        failures.is_empty(),
        "{} of {checked} requests with a NUL were not refused by name:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The anonymous routes and a multipart form refuse a NUL just the same.
#[tokio::test]
async fn a_nul_is_refused_anonymously_and_in_multipart_text_fields() {
    let app = spawn_seeded_app().await;
    let resp = app.login(NUL, DEMO_PASSWORD).await;
    let body = assert_problem(resp, 400, NUL_CODE).await;
    assert_eq!(problem_fields(&body), ["/username"]);
    let resp = app
        .get_public(&format!(
            "/api/v1/public/periods/{}/units/X?group=a%00b",
            uuid::Uuid::new_v4()
        ))
        .await;
    let body = assert_problem(resp, 400, NUL_CODE).await;
    assert_eq!(problem_fields(&body), ["group"]);
    let resp = app
        .get_public(&format!(
            "/api/v1/public/periods/{}/units/a%00b",
            uuid::Uuid::new_v4()
        ))
        .await;
    let body = assert_problem(resp, 400, NUL_CODE).await;
    assert_eq!(problem_fields(&body), ["unit_code"]);

    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let before = evidence_rows(&app);
    // A NUL in the description is refused by name; one in a part header never parses.
    for (description, name, field) in [
        (NUL, "bien-ban.pdf", Some("description")),
        ("Biên bản", "bien\u{0}ban.pdf", None),
    ] {
        let form = Form::new()
            .part("file", Part::bytes(pdf("nul")).file_name(name.to_string()))
            .text("description", description.to_string());
        let resp = app
            .client
            .post(app.url(&format!("/api/v1/assessments/{a}/answers/1.1/evidence")))
            .bearer_auth(&editor)
            .multipart(form)
            .send()
            .await
            .unwrap();
        match field {
            Some(field) => {
                let body = assert_problem(resp, 400, NUL_CODE).await;
                assert_eq!(problem_fields(&body), [field]);
            }
            None => assert_eq!(resp.status().as_u16(), 400),
        }
    }
    assert_eq!(evidence_rows(&app), before);
}

/// A JSON array is not an object, even when its items line up with the fields.
#[tokio::test]
async fn an_array_is_not_accepted_for_an_object_body() {
    let app = spawn_seeded_app().await;
    let resp = app
        .post_json("/api/v1/auth/login", None, &json!(["admin", DEMO_PASSWORD]))
        .await;
    assert_problem(resp, 400, "BODY_NOT_OBJECT").await;
    let admin = app.token_for(Role::Admin, None);
    let resp = app
        .post_json(
            "/api/v1/ranking-groups",
            Some(&admin),
            &json!(["LC-NEW", "Nhóm mới", "commune", null]),
        )
        .await;
    assert_problem(resp, 400, "BODY_NOT_OBJECT").await;
}

/// Sends `head` and the first `sent` bytes of a body, then waits up to `wait` for a response;
/// the status and the whole text read, or None when nothing came back in time.
async fn partial_request(
    app: &TestApp,
    head: &str,
    sent: &[u8],
    wait: Duration,
) -> Option<(u16, String)> {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // the server may answer (and stop reading) before all of this is written
    let _ = stream.write_all(sent).await;
    let _ = stream.flush().await;
    read_response(&mut stream, wait).await
}

fn head(method: &str, path: &str, token: Option<&str>, ctype: &str, length: usize) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: {ctype}\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// Who may call is decided before the body is read: an invalid body from someone who may not
/// call is 403, and a large one is refused without waiting for the rest of it.
#[tokio::test]
async fn rights_are_checked_before_the_body_is_read() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    let viewer = app.token_for(Role::Viewer, None);
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let stranger = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let invalid = json!({"nonsense": true});
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "POST",
            "/api/v1/units".into(),
            viewer.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "POST",
            "/api/v1/ranking-groups".into(),
            editor.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "POST",
            "/api/v1/periods".into(),
            viewer.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "POST",
            "/api/v1/users".into(),
            editor.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "POST",
            format!("/api/v1/periods/{period}/transitions"),
            viewer.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "PUT",
            format!("/api/v1/assessments/{a}/answers/1.1"),
            stranger.as_str(),
            "NOT_YOUR_UNIT",
        ),
        (
            "PUT",
            format!("/api/v1/assessments/{a}/answers/1.1"),
            viewer.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "PUT",
            format!("/api/v1/assessments/{a}/answers"),
            stranger.as_str(),
            "NOT_YOUR_UNIT",
        ),
        (
            "POST",
            format!("/api/v1/assessments/{a}/what-if"),
            stranger.as_str(),
            "NOT_YOUR_UNIT",
        ),
        (
            "POST",
            format!("/api/v1/assessments/{a}/return"),
            editor.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "PUT",
            format!("/api/v1/assessments/{a}/adjustments/1.1"),
            editor.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "POST",
            format!("/api/v1/assessments/{a}/clarifications"),
            editor.as_str(),
            "FORBIDDEN_ROLE",
        ),
        (
            "POST",
            format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            stranger.as_str(),
            "NOT_YOUR_UNIT",
        ),
    ];
    for (method, path, token, code) in &cases {
        let resp = app
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                path,
                Some(token),
            )
            .json(&invalid)
            .send()
            .await
            .unwrap();
        let got = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (got.as_u16(), body["code"].as_str().unwrap_or("")),
            (403, *code),
            "{method} {path}: {body}"
        );
        // 200 KB announced (within the JSON limit), 8 KB sent: the answer must not wait for
        // the rest.
        let announced = 200 * 1024;
        let sent = vec![b' '; 8 * 1024];
        let reply = partial_request(
            &app,
            &head(method, path, Some(token), "application/json", announced),
            &sent,
            Duration::from_secs(10),
        )
        .await;
        let (status, text) =
            reply.unwrap_or_else(|| panic!("{method} {path}: no answer before the body ended"));
        assert_eq!(status, 403, "{method} {path}: {text}");
        assert!(text.contains(code), "{method} {path}: {text}");
    }
}

/// An upload is authorised before its body is read, one file per form, nothing else in it,
/// and the whole form is limited to the file limit plus a small allowance.
#[tokio::test]
async fn uploads_are_authorised_first_and_limited_as_a_whole() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let viewer = app.token_for(Role::Viewer, None);
    let stranger = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let path = format!("/api/v1/assessments/{a}/answers/1.1/evidence");
    let limit = app.config.max_upload_bytes;
    let before = evidence_rows(&app);

    // a viewer's or another unit's 19 MB form: refused before it is read
    for (token, code) in [(&viewer, "FORBIDDEN_ROLE"), (&stranger, "NOT_YOUR_UNIT")] {
        let reply = partial_request(
            &app,
            &head(
                "POST",
                &path,
                Some(token),
                "multipart/form-data; boundary=XyZ",
                19 * 1024 * 1024,
            ),
            &vec![b'x'; 64 * 1024],
            Duration::from_secs(10),
        )
        .await;
        let (status, text) = reply.expect("an answer before the body ended");
        assert_eq!(status, 403, "{text}");
        assert!(text.contains(code), "{text}");
    }

    let send = |form: Form| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&editor)
            .multipart(form)
            .send()
    };
    // junk fields around a small file: the form as a whole is too large
    let mut form = Form::new();
    for i in 0..3 {
        form = form.text(format!("junk{i}"), "j".repeat(limit / 2));
    }
    form = form.part("file", Part::bytes(pdf("small")).file_name("a.pdf"));
    assert_problem(send(form).await.unwrap(), 413, "PAYLOAD_TOO_LARGE").await;
    // several files: one per request
    let form = Form::new()
        .part("file", Part::bytes(pdf("one")).file_name("a.pdf"))
        .part("file", Part::bytes(pdf("two")).file_name("b.pdf"));
    let body = assert_problem(send(form).await.unwrap(), 422, "VALIDATION_FAILED").await;
    assert_eq!(problem_fields(&body), ["file"]);
    // a field the form does not have
    let form = Form::new()
        .part("file", Part::bytes(pdf("one")).file_name("a.pdf"))
        .text("owner", "someone else");
    let body = assert_problem(send(form).await.unwrap(), 422, "VALIDATION_FAILED").await;
    assert_eq!(problem_fields(&body), ["owner"]);
    // a description longer than descriptions may be
    let form = Form::new()
        .part("file", Part::bytes(pdf("one")).file_name("a.pdf"))
        .text("description", "d".repeat(2001));
    let body = assert_problem(send(form).await.unwrap(), 422, "VALIDATION_FAILED").await;
    assert_eq!(problem_fields(&body), ["description"]);
    assert_eq!(evidence_rows(&app), before, "nothing attached");

    // and a proper upload still works
    let form = Form::new()
        .part("file", Part::bytes(pdf("ok")).file_name("a.pdf"))
        .text("description", "Biên bản họp");
    json_ok(send(form).await.unwrap(), 201).await;
}

/// A body that trickles in (or stops) is cut off with 408 and never processed.
#[tokio::test]
async fn a_body_that_trickles_or_stalls_times_out_unprocessed() {
    let app = spawn_seeded_app().await;
    let body = format!(r#"{{"username":"admin","password":"{DEMO_PASSWORD}"}}"#);
    let addr = app.address.trim_start_matches("http://").to_string();

    // one byte every 300 ms: a login that would take ~14 s
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            head(
                "POST",
                "/api/v1/auth/login",
                None,
                "application/json",
                body.len(),
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let bytes = body.clone().into_bytes();
    let trickle = tokio::spawn(async move {
        for b in bytes {
            if writer.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut buf)).await;
    trickle.abort();
    let text = String::from_utf8_lossy(&buf).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("BODY_TIMEOUT"), "{text}");
    assert!(!text.contains("access_token"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // headers, then nothing
    let reply = partial_request(
        &app,
        &head(
            "POST",
            "/api/v1/auth/login",
            None,
            "application/json",
            body.len(),
        ),
        b"{",
        Duration::from_secs(15),
    )
    .await;
    let (status, text) = reply.expect("an answer to a stalled body");
    assert_eq!(status, 408, "{text}");
}

/// Free texts have a length limit, declared in the schema; a problem quotes only a short
/// prefix of what was sent, however long.
#[tokio::test]
async fn texts_are_capped_and_problems_never_echo_a_whole_input() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let long = "mô tả ".repeat(20_000);
    let resp = app
        .post_json(
            "/api/v1/ranking-groups",
            Some(&admin),
            &json!({"code": "LC-DAI", "name": "Nhóm", "unit_kind": "commune", "description": long}),
        )
        .await;
    let body = assert_problem(resp, 422, "VALIDATION_FAILED").await;
    assert_eq!(problem_fields(&body), ["/description"]);
    assert!(body.to_string().len() < 4096, "{}", body.to_string().len());

    let resp = app
        .patch_json(
            "/api/v1/ranking-groups/LC-XA",
            &admin,
            &json!({"description": "d".repeat(2001)}),
        )
        .await;
    let body = assert_problem(resp, 422, "VALIDATION_FAILED").await;
    assert_eq!(problem_fields(&body), ["/description"]);

    // the whole input in a serde message (an unknown variant, an unknown member)
    let huge = "x".repeat(100_000);
    for body in [
        json!({"code": "LC-DAI", "name": "Nhóm", "unit_kind": huge}),
        json!({"code": "LC-DAI", "name": "Nhóm", "unit_kind": "commune", huge.clone(): 1}),
    ] {
        let resp = app
            .post_json("/api/v1/ranking-groups", Some(&admin), &body)
            .await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!((400..500).contains(&status), "{status}");
        assert!(text.len() < 4096, "a {}-byte problem", text.len());
    }

    // every string a request body may hold has a declared maximum length
    let spec = json_ok(app.get_public("/api-docs/openapi.json").await, 200).await;
    let mut missing = Vec::new();
    let mut schemas = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for c in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if let Some(r) = c.1["schema"]["$ref"].as_str() {
                    schemas.push(r.rsplit('/').next().unwrap().to_string());
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = schemas.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let schema = &spec["components"]["schemas"][&name];
        let mut props: Vec<(String, Value)> = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for variant in schema["oneOf"].as_array().into_iter().flatten() {
            for (k, v) in variant["properties"].as_object().into_iter().flatten() {
                props.push((k.clone(), v.clone()));
            }
        }
        while let Some((k, p)) = props.pop() {
            // Points are decimal numbers sent as strings: their parse bounds them.
            if k == "points" || k == "max_points" || k == "scale" {
                continue;
            }
            // Items of lists are codes and references, checked against their own rules; only
            // the schemas they name are looked into.
            let listed = p["items"].is_object();
            let p = if listed { p["items"].clone() } else { p };
            for r in [&p["$ref"], &p["oneOf"][0]["$ref"], &p["allOf"][0]["$ref"]] {
                if let Some(r) = r.as_str() {
                    schemas.push(r.rsplit('/').next().unwrap().to_string());
                }
            }
            let plain_string = matches!(&p["type"], Value::String(t) if t == "string")
                || p["type"]
                    .as_array()
                    .is_some_and(|ts| ts.iter().any(|t| t == "string"));
            let bounded = p["maxLength"].is_u64()
                || p["enum"].is_array()
                || matches!(
                    p["format"].as_str(),
                    Some("date" | "date-time" | "uuid" | "binary")
                );
            if plain_string && !listed && !bounded {
                missing.push(format!("{name}.{k}"));
            }
        }
    }
    missing.sort();
    assert!(missing.is_empty(), "strings without maxLength: {missing:?}");
}

/// Should a NUL ever slip past the screening, PostgreSQL's refusal is a 400, not a 500.
#[tokio::test]
async fn a_nul_the_database_refuses_is_a_client_error() {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    use dti_api::error::AppError;
    let app = spawn_app().await;
    for (sql, value) in [
        ("SELECT $1::text AS t", "a\u{0}b"),
        ("SELECT $1::jsonb AS t", r#"{"a": "\u0000"}"#),
    ] {
        let err = app.with_conn(|c| {
            diesel::sql_query(sql)
                .bind::<Text, _>(value)
                .execute(c)
                .unwrap_err()
        });
        let e = AppError::from(err);
        assert_eq!(e.code(), "NUL_CHARACTER", "{sql}: {e:?}");
        assert_eq!(
            actix_web::ResponseError::status_code(&e).as_u16(),
            400,
            "{sql}"
        );
    }
}

/// Every `maxLength` a request body declares is enforced: one character more, in an otherwise
/// valid body, is refused with a 4xx (never stored, never a 5xx).
#[tokio::test]
async fn every_declared_max_length_is_enforced() {
    let app = spawn_seeded_app().await;
    let fx = fixture(&app).await;
    let spec = json_ok(app.get_public("/api-docs/openapi.json").await, 200).await;
    let mut checked = 0;
    let mut failures = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some((ctype, content)) = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.iter().find(|(ct, _)| ct.contains("json")))
            else {
                continue;
            };
            let method =
                reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let mut path = template.clone();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    path = path.replace(&format!("{{{name}}}"), &fx.path_value(template, name));
                }
            }
            let base = base_body(&spec, content);
            let schema = resolve(&spec, &content["schema"]);
            for (k, p) in schema["properties"].as_object().into_iter().flatten() {
                let Some(max) = resolve(&spec, p)["maxLength"].as_u64() else {
                    continue;
                };
                let mut body = base.clone();
                body[k] = json!("x".repeat(max as usize + 1));
                let resp = app
                    .request(method.clone(), &path, Some(&fx.admin))
                    .header("content-type", ctype.as_str())
                    .body(serde_json::to_vec(&body).unwrap())
                    .send()
                    .await
                    .unwrap();
                checked += 1;
                let status = resp.status().as_u16();
                if !(400..500).contains(&status) {
                    let text = resp.text().await.unwrap_or_default();
                    failures.push(format!(
                        "{method} {path} /{k} ({} chars): {status} {text}",
                        max + 1
                    ));
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} requests");
    assert!(
        failures.is_empty(),
        "over-long texts accepted:\n{}",
        failures.join("\n")
    );
}
