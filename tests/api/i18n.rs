//! Problems in Vietnamese with `Accept-Language: vi`; English, unchanged, otherwise.

use dti_api::domain::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_period};
use crate::helpers::*;

fn content_language(resp: &Response) -> Option<String> {
    resp.headers()
        .get("content-language")
        .map(|v| v.to_str().unwrap().to_string())
}

/// Asserts a Vietnamese problem (`Content-Language: vi`, the English detail in `detail_en`).
async fn assert_vi(resp: Response, status: u16, code: &str, title: &str) -> Value {
    assert_eq!(content_language(&resp).as_deref(), Some("vi"));
    let body = assert_problem(resp, status, code).await;
    assert_eq!(body["title"], title, "{body}");
    body
}

#[tokio::test]
async fn a_404_speaks_vietnamese_when_asked() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let id = uuid::Uuid::new_v4();
    let path = format!("/api/v1/assessments/{id}");
    let resp = app
        .request(Method::GET, &path, Some(&admin))
        .header("Accept-Language", "vi")
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Accept-Language")
    );
    let body = assert_vi(resp, 404, "NOT_FOUND", "Không tìm thấy").await;
    assert_eq!(body["detail"], format!("Không tìm thấy bản đánh giá {id}."));
    assert_eq!(body["detail_en"], format!("assessment {id} does not exist"));
    assert_eq!(body["type"], "urn:dti:problem:not-found");

    // without the header, or preferring English: English, as before, no detail_en
    for accept in [
        None,
        Some("en"),
        Some("fr-FR, de;q=0.5"),
        Some("vi;q=0.4, en"),
    ] {
        let mut rb = app.request(Method::GET, &path, Some(&admin));
        if let Some(a) = accept {
            rb = rb.header("Accept-Language", a);
        }
        let resp = rb.send().await.unwrap();
        assert_eq!(content_language(&resp), None, "{accept:?}");
        let body = assert_problem(resp, 404, "NOT_FOUND").await;
        assert_eq!(body["title"], "Not Found");
        assert_eq!(body["detail"], format!("assessment {id} does not exist"));
        assert!(body.get("detail_en").is_none(), "{body}");
    }
}

#[tokio::test]
async fn a_validation_problem_speaks_vietnamese_with_the_english_kept() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let resp = app
        .request(Method::GET, "/api/v1/units?page_size=1000", Some(&admin))
        .header("Accept-Language", "vi-VN,vi;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap();
    let body = assert_vi(resp, 422, "VALIDATION_FAILED", "Dữ liệu không hợp lệ").await;
    assert_eq!(
        body["detail"],
        "Yêu cầu có 1 trường không hợp lệ: page_size."
    );
    assert_eq!(
        body["detail_en"],
        "The request has 1 invalid field: page_size must be between 1 and 500."
    );
    assert_eq!(body["errors"][0]["field"], "page_size");
    assert_eq!(body["errors"][0]["code"], "RANGE");
    assert_eq!(
        body["errors"][0]["message"],
        "phải nằm trong khoảng từ 1 đến 500"
    );
    assert_eq!(body["errors"][0]["message_en"], "must be between 1 and 500");
}

/// The field errors of `resp` by field: (code, message, message_en).
async fn field_errors(resp: Response) -> Vec<(String, String, String, Option<String>)> {
    let body = assert_problem(resp, 422, "VALIDATION_FAILED").await;
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
                e["message_en"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn owned(field: &str, code: &str, vi: &str, en: &str) -> (String, String, String, Option<String>) {
    (field.into(), code.into(), vi.into(), Some(en.into()))
}

#[tokio::test]
async fn validator_field_errors_speak_vietnamese_with_their_bounds() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let post = |path: &'static str, body: Value, lang: Option<&'static str>| {
        let mut rb = app.request(Method::POST, path, Some(&admin)).json(&body);
        if let Some(l) = lang {
            rb = rb.header("Accept-Language", l);
        }
        rb.send()
    };

    // a user with a too-short username and an empty name
    let user = json!({"username": "ab", "full_name": "", "password": "a-long-secret-2026",
                      "role": "reviewer"});
    let resp = post("/api/v1/users", user.clone(), Some("vi"))
        .await
        .unwrap();
    assert_eq!(content_language(&resp).as_deref(), Some("vi"));
    assert_eq!(
        field_errors(resp).await,
        vec![
            owned(
                "/full_name",
                "LENGTH",
                "phải dài từ 1 đến 200 ký tự",
                "length must be between 1 and 200"
            ),
            owned(
                "/username",
                "USERNAME",
                "phải dài từ 3 đến 64 ký tự, chỉ gồm chữ thường không dấu, chữ số, dấu chấm (.), \
                 gạch ngang (-) hoặc gạch dưới (_)",
                "3–64 characters: lower-case letters, digits, '.', '-', '_'"
            ),
        ]
    );
    // in English (the default) the same errors are as they were: no message_en
    let english = field_errors(post("/api/v1/users", user, None).await.unwrap()).await;
    assert_eq!(english[0].2, "length must be between 1 and 200");
    assert_eq!(english[0].3, None);

    // a weak password (the service's rule, with its limits)
    let weak = json!({"username": "tham.dinh", "full_name": "Lê Văn Cường", "password": "aaaa",
                      "role": "reviewer"});
    assert_eq!(
        field_errors(post("/api/v1/users", weak, Some("vi")).await.unwrap()).await,
        vec![owned(
            "/password",
            "WEAK_PASSWORD",
            "mật khẩu phải dài từ 10 đến 128 ký tự và có ít nhất 5 ký tự khác nhau",
            "must be at least 10 characters"
        )]
    );

    // a list counted in items, a range, and a one-sided length
    let period = json!({"code": "DTI-2025", "name": "Đánh giá DTI", "data_year": 1999,
                        "groups": []});
    assert_eq!(
        field_errors(post("/api/v1/periods", period, Some("vi")).await.unwrap()).await,
        vec![
            owned(
                "/data_year",
                "RANGE",
                "phải nằm trong khoảng từ 2000 đến 2100",
                "must be between 2000 and 2100"
            ),
            owned(
                "/groups",
                "LENGTH",
                "phải có từ 1 đến 100 mục",
                "length must be between 1 and 100"
            ),
        ]
    );
    let group = json!({"code": "LC-DANG", "name": "Cơ quan Đảng", "unit_kind": "party_body",
                       "description": "x".repeat(2001)});
    assert_eq!(
        field_errors(
            post("/api/v1/ranking-groups", group, Some("vi"))
                .await
                .unwrap()
        )
        .await,
        vec![owned(
            "/description",
            "LENGTH",
            "không được dài quá 2000 ký tự",
            "length must be at most 2000"
        )]
    );

    // the service's own codes quote their values
    let unit = json!({"code": "LC-XA-MOI", "name": "Xã mới", "kind": "hamlet"});
    assert_eq!(
        field_errors(post("/api/v1/units", unit, Some("vi")).await.unwrap()).await,
        vec![owned(
            "/kind",
            "INVALID_KIND",
            "“hamlet” không phải là loại đơn vị hợp lệ; các loại hợp lệ: province, department, \
             district, commune, party_body, fatherland_front, ministry, other",
            "\"hamlet\" is not one of province, department, district, commune, party_body, \
             fatherland_front, ministry, other"
        )]
    );
}

#[tokio::test]
async fn a_401_speaks_vietnamese_when_vietnamese_weighs_more() {
    let app = spawn_app().await;
    let resp = app
        .request(Method::GET, "/api/v1/me", None)
        .header("Accept-Language", "en;q=0.5, vi")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("www-authenticate").is_some());
    let body = assert_vi(resp, 401, "AUTH_REQUIRED", "Chưa xác thực").await;
    assert!(
        body["detail"].as_str().unwrap().starts_with("Cần xác thực"),
        "{body}"
    );
    let resp = app
        .request(Method::GET, "/api/v1/me", Some("not-a-jwt"))
        .header("Accept-Language", "vi")
        .send()
        .await
        .unwrap();
    let body = assert_vi(resp, 401, "TOKEN_INVALID", "Chưa xác thực").await;
    assert_eq!(body["detail"], "Mã truy cập (token) không hợp lệ.");
    assert_eq!(body["detail_en"], "The token is invalid.");
}

#[tokio::test]
async fn fallbacks_and_extractor_errors_speak_vietnamese_too() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let vi = |m: Method, p: &str| {
        app.request(m, p, Some(&admin))
            .header("Accept-Language", "vi")
    };
    // unknown route and wrong method (the default service)
    let body = assert_vi(
        vi(Method::GET, "/api/v1/nowhere").send().await.unwrap(),
        404,
        "ROUTE_NOT_FOUND",
        "Không tìm thấy",
    )
    .await;
    assert_eq!(
        body["detail"],
        "Không có đường dẫn GET /api/v1/nowhere; xem danh sách API tại /swagger-ui/."
    );
    let resp = vi(Method::DELETE, "/api/v1/me").send().await.unwrap();
    assert_eq!(resp.headers()["allow"], "GET, HEAD");
    let body = assert_vi(
        resp,
        405,
        "METHOD_NOT_ALLOWED",
        "Phương thức không được phép",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("GET, HEAD"),
        "{body}"
    );
    // the JSON extractor's error handler
    let body = assert_vi(
        vi(Method::POST, "/api/v1/units")
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
        400,
        "MALFORMED_JSON",
        "Yêu cầu không hợp lệ",
    )
    .await;
    assert_eq!(body["detail"], "Nội dung yêu cầu không phải JSON hợp lệ.");
    assert_vi(
        vi(Method::POST, "/api/v1/units")
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "Định dạng không được hỗ trợ",
    )
    .await;
    // the path extractor's error handler
    assert_vi(
        vi(Method::GET, "/api/v1/assessments/not-a-uuid")
            .send()
            .await
            .unwrap(),
        400,
        "INVALID_PATH_PARAMETER",
        "Yêu cầu không hợp lệ",
    )
    .await;
    // an oversized body (the limit is 256 KiB in tests)
    let big = json!({"code": "x".repeat(300 * 1024)});
    let body = assert_vi(
        vi(Method::POST, "/api/v1/units")
            .json(&big)
            .send()
            .await
            .unwrap(),
        413,
        "PAYLOAD_TOO_LARGE",
        "Tệp quá lớn",
    )
    .await;
    assert_eq!(
        body["detail"],
        "Nội dung gửi lên vượt quá giới hạn 262144 byte."
    );
    // an untranslated title stays English-free: every status above had a Vietnamese one
}

#[tokio::test]
async fn workflow_refusals_speak_vietnamese() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let stranger = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let viewer = app.token_for(Role::Viewer, None);
    let a = assessment_of(&app, &leader, &period, "XA-BAC-HA").await;
    let vi =
        |m: Method, p: String, t: &str| app.request(m, &p, Some(t)).header("Accept-Language", "vi");

    let body = assert_vi(
        vi(Method::GET, format!("/api/v1/assessments/{a}"), &stranger)
            .send()
            .await
            .unwrap(),
        403,
        "NOT_YOUR_UNIT",
        "Không có quyền",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("đơn vị khác"));

    let body = assert_vi(
        vi(
            Method::PUT,
            format!("/api/v1/assessments/{a}/answers/1.2"),
            &viewer,
        )
        .json(&json!({"inputs": {"numerator": 1, "denominator": 2}}))
        .send()
        .await
        .unwrap(),
        403,
        "FORBIDDEN_ROLE",
        "Không có quyền",
    )
    .await;
    assert!(body["detail_en"].as_str().unwrap().contains("viewer"));

    // submit with nothing answered: INCOMPLETE, with the field messages translated too
    let body = assert_vi(
        vi(
            Method::POST,
            format!("/api/v1/assessments/{a}/submit"),
            &leader,
        )
        .send()
        .await
        .unwrap(),
        422,
        "INCOMPLETE",
        "Dữ liệu không hợp lệ",
    )
    .await;
    let errors = body["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Còn {} chỉ số thành phần", errors.len())),
        "{body}"
    );
    let unanswered = errors.iter().find(|e| e["code"] == "UNANSWERED").unwrap();
    assert_eq!(unanswered["message"], "chưa có câu trả lời");
    assert_eq!(unanswered["message_en"], "no answer yet");

    // the If-Match of an answer that moved on: 412
    let answer = format!("/api/v1/assessments/{a}/answers/1.2");
    json_ok(
        app.put_json(
            &answer,
            &leader,
            &json!({"inputs": {"numerator": 1, "denominator": 2}}),
        )
        .await,
        200,
    )
    .await;
    assert_vi(
        vi(Method::PUT, answer.clone(), &leader)
            .header("If-Match", "\"v0\"")
            .json(&json!({"inputs": {"numerator": 2, "denominator": 2}}))
            .send()
            .await
            .unwrap(),
        412,
        "VERSION_MISMATCH",
        "Phiên bản đã thay đổi",
    )
    .await;

    // the period moves on to review: the unit's form is closed
    transition(&app, &admin, &period, "review").await;
    let body = assert_vi(
        vi(
            Method::POST,
            format!("/api/v1/assessments/{a}/submit"),
            &leader,
        )
        .send()
        .await
        .unwrap(),
        409,
        "PHASE_CLOSED",
        "Xung đột",
    )
    .await;
    assert_eq!(
        body["detail"],
        "Giai đoạn hiện tại của kỳ đánh giá không cho phép thao tác này. Chỉ thực hiện được trong giai đoạn: tự đánh giá."
    );
    // the code and the extensions never change with the language
    assert_eq!(body["allowed_in_phase"], json!(["self_assessment"]));
}

/// A client (or a proxy) may send its preferences on several `Accept-Language` lines: they
/// count together, as one list.
#[tokio::test]
async fn every_accept_language_line_counts() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let path = format!("/api/v1/assessments/{}", uuid::Uuid::new_v4());
    let resp = app
        .request(Method::GET, &path, Some(&admin))
        .header("Accept-Language", "en;q=0.5")
        .header("Accept-Language", "vi;q=0.8")
        .send()
        .await
        .unwrap();
    assert_vi(resp, 404, "NOT_FOUND", "Không tìm thấy").await;
}
