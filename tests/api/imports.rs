//! Imports of answers from files (CSV, XLSX, JSON rows): the same answers and scores as the
//! JSON API, dry runs that store nothing, every conflict at once with its row and column, all
//! or nothing or partial, the rights of single writes, and bad files answered clearly.

use dti_api::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{assert_merged_a2_a3, assessment_of, import, open_period, scoring_vacuums};
use crate::helpers::*;

const HEADER: &str = "unit_code,node_code,numerator,denominator,value,option,not_applicable,note,explanation,evidence_url";

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push_str("\r\n");
        s.push_str(r);
    }
    s.push_str("\r\n");
    s.into_bytes()
}

async fn assessment(app: &TestApp, token: &str, id: &str) -> Value {
    json_ok(
        app.get(&format!("/api/v1/assessments/{id}"), token).await,
        200,
    )
    .await
}

/// `(node, inputs)` of an assessment's stored answers.
fn answers(a: &Value) -> Vec<(String, Value, bool)> {
    let mut out: Vec<(String, Value, bool)> = a["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["node_code"].as_str().unwrap().to_string(),
                x["inputs"].clone(),
                x["not_applicable"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn a_csv_import_stores_what_the_json_api_stores_and_rescores_once_per_group() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    // XA-BAC-HA through the JSON API
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let by_json = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{by_json}/answers"),
            &editor,
            &json!({"answers": [
                {"node_code": "1.1", "inputs": {"value": 3}, "explanation": "Biên bản"},
                {"node_code": "1.2", "inputs": {"numerator": "1.5", "denominator": 4}},
                {"node_code": "2.2", "inputs": {"option": "deputy"}}]}),
        )
        .await,
        200,
    )
    .await;
    // the same answers for two other communes from one CSV, with a byte-order mark, a blank
    // line and a Vietnamese decimal comma
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(csv(&[
        "XA-BAT-XAT,1.1,,,3,,,,Biên bản,",
        "xa-bat-xat,1.2,\"1,5\",4,,,,,,https://xabatxat.laocai.gov.vn/bb.pdf",
        "XA-BAT-XAT,2.2,,,,deputy,,,,",
        ",,,,,,,,,",
        "XA-MUONG-KHUONG,1.2,\"1,5\",4,,,,,,",
    ]));
    let r = json_ok(
        import(&app, &admin, &period, "?decimal_separator=comma", body).await,
        200,
    )
    .await;
    assert_eq!(r["format"], "csv");
    assert_eq!(r["committed"], true);
    assert_eq!(r["rows_read"], 4, "{r}");
    assert_eq!(r["created"], 4);
    assert_eq!(r["rescored_groups"], 1);
    assert_eq!(r["conflicts"], json!([]));
    assert_eq!(r["rows"], json!([]), "a stored import lists no rows");
    let units = r["units"].as_array().unwrap();
    assert_eq!(units.len(), 2);
    assert_eq!(units[0]["unit_code"], "XA-BAT-XAT");
    assert_eq!(units[0]["points_before"], "0");
    let by_csv = assessment_of(&app, &admin, &period, "XA-BAT-XAT").await;
    let (j, c) = (
        assessment(&app, &admin, &by_json).await,
        assessment(&app, &admin, &by_csv).await,
    );
    assert_eq!(answers(&j), answers(&c));
    assert_eq!(j["score"]["self_points"], c["score"]["self_points"]);
    assert_eq!(units[0]["points_after"], c["score"]["self_points"], "{r}");
    assert_eq!(c["state"], "in_progress");
    // the evidence reference came in the same row
    let ev = json_ok(
        app.get(
            &format!("/api/v1/assessments/{by_csv}/answers/1.2/evidence"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ev.as_array().unwrap().len(), 1, "{ev}");
    // importing the same file again changes nothing and adds no evidence twice
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(csv(&[
        "XA-BAT-XAT,1.2,\"1,5\",4,,,,,,https://xabatxat.laocai.gov.vn/bb.pdf",
    ]));
    let again = json_ok(
        import(&app, &admin, &period, "?decimal_separator=comma", body).await,
        200,
    )
    .await;
    assert_eq!(again["unchanged"], 1, "{again}");
    let ev = json_ok(
        app.get(
            &format!("/api/v1/assessments/{by_csv}/answers/1.2/evidence"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ev.as_array().unwrap().len(), 1);
}

/// An import that rescores a whole group (rows of several units) vacuums the scoring tables
/// once its transaction has ended, stored or dry run: every row of the group was rewritten.
#[tokio::test]
async fn an_import_that_rescores_a_whole_group_vacuums_the_rows_it_rewrote() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let rows = csv(&["XA-BAT-XAT,1.1,,,3,,,,,", "XA-MUONG-KHUONG,1.1,,,2,,,,,"]);
    for query in ["?dry_run=true", ""] {
        let before = scoring_vacuums(&app);
        let r = json_ok(
            import(&app, &admin, &period, query, rows.clone()).await,
            200,
        )
        .await;
        assert_eq!(r["rescored_groups"], 1, "{r}");
        let after = scoring_vacuums(&app);
        assert!(
            after.iter().zip(&before).all(|(a, b)| a > b),
            "{query}: vacuums {before:?} before, {after:?} after"
        );
    }
}

#[tokio::test]
async fn a_dry_run_stores_nothing_and_shows_old_new_and_the_rank_impact() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    let first = json_ok(
        import(
            &app,
            &admin,
            &period,
            "",
            csv(&["XA-BAC-HA,2.2,,,,deputy,,,,"]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(first["units"][0]["rank_after"], 1);
    let before = assessment(&app, &admin, &a).await;
    let r = json_ok(
        import(
            &app,
            &admin,
            &period,
            "?dry_run=true",
            csv(&[
                "XA-BAC-HA,2.2,,,,chairman,,,,",
                "XA-BAT-XAT,2.2,,,,chairman,,,,",
            ]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["committed"], false);
    assert_eq!(
        (r["created"].clone(), r["updated"].clone()),
        (json!(1), json!(1))
    );
    let row = &r["rows"][0];
    assert_eq!(row["row"], 2);
    assert_eq!(row["change"], "updated");
    assert_eq!(row["old"]["inputs"], json!({"option": "deputy"}));
    assert_eq!(row["new"]["inputs"], json!({"option": "chairman"}));
    let units = r["units"].as_array().unwrap();
    assert_eq!(units[0]["unit_code"], "XA-BAC-HA");
    assert_eq!(units[0]["points_before"], "10");
    assert_eq!(units[0]["points_after"], "20");
    assert_eq!(units[0]["rank_before"], 1);
    assert_eq!(units[1]["unit_code"], "XA-BAT-XAT");
    assert_eq!(units[1]["rank_after"], 1, "a tie at the top: {r}");
    // nothing stored
    let after = assessment(&app, &admin, &a).await;
    assert_eq!(answers(&before), answers(&after));
    assert_eq!(before["score"], after["score"]);
    // a unit account sees no live rank
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let mine = json_ok(
        import(
            &app,
            &editor,
            &period,
            "?dry_run=true",
            csv(&["XA-BAC-HA,2.2,,,,chairman,,,,"]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(mine["units"][0]["points_after"], "20");
    assert_eq!(mine["units"][0]["rank_before"], Value::Null);
    assert_eq!(mine["units"][0]["rank_after"], Value::Null);
}

#[tokio::test]
async fn every_conflict_is_reported_at_once_and_partial_mode_stores_the_rest() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let body = csv(&[
        "XA-BAC-HA,1.2,5,4,,,,,,",         // 2: numerator above denominator
        "XA-NOWHERE,1.2,1,4,,,,,,",        // 3: unknown unit
        "XA-BAC-HA,9.9,1,4,,,,,,",         // 4: unknown node
        "XA-BAT-XAT,1.2,\"0,5\",4,,,,,,",  // 5: a decimal comma without the parameter
        "XA-MUONG-KHUONG,2.2,,,,boss,,,,", // 6: unknown option
        "XA-BAT-XAT,2.2,,,,deputy,,,,",    // 7: valid
        "XA-BAT-XAT,2.2,,,,chairman,,,,",  // 8: duplicate of row 7
        "XA-BAC-HA,2.2,,,,chairman,,,,",   // 9: valid
        "XA-BAC-HA,1,1,4,,,,,,",           // 10: not a leaf
        "XA-BAC-HA,2.1,1,4,,,true,,,",     // 11: not applicable needs an explanation
    ]);
    let resp = app
        .request(
            Method::POST,
            &format!("/api/v1/periods/{period}/imports/answers"),
            Some(&admin),
        )
        .header("accept-language", "vi")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 422, "IMPORT_REFUSED").await;
    let got: Vec<(u64, String, String)> = p["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["row"].as_u64().unwrap(),
                c["column"].as_str().unwrap_or("").to_string(),
                c["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String, String)> = [
        (2, "numerator", "NUMERATOR_EXCEEDS_DENOMINATOR"),
        (3, "unit_code", "UNKNOWN_UNIT"),
        (4, "node_code", "UNKNOWN_NODE"),
        (5, "numerator", "DECIMAL_SEPARATOR"),
        (6, "option", "UNKNOWN_OPTION"),
        (8, "node_code", "DUPLICATE"),
        (10, "node_code", "NOT_A_LEAF"),
        (11, "not_applicable", "NOT_DECLARABLE"),
        (11, "explanation", "REQUIRED"),
    ]
    .iter()
    .map(|(r, c, k)| (*r, c.to_string(), k.to_string()))
    .collect();
    assert_eq!(got, want, "{p}");
    assert_eq!(p["rows_refused"], 8);
    assert_eq!(
        p["conflicts"][1]["message"],
        "không có đơn vị nào có mã hoặc id “XA-NOWHERE”"
    );
    let numerator = &p["conflicts"][0];
    assert_eq!(numerator["unit_code"], "XA-BAC-HA");
    assert_eq!(numerator["message"], "tử số không được lớn hơn mẫu số");
    assert!(
        numerator["message_en"]
            .as_str()
            .unwrap()
            .contains("exceeds")
    );
    assert_eq!(p["errors"][0]["field"], "/rows/2/numerator");
    // nothing was stored
    let a = assessment_of(&app, &admin, &period, "XA-BAT-XAT").await;
    assert_eq!(assessment(&app, &admin, &a).await["answers"], json!([]));
    // partial: the two valid rows are stored, the rest reported
    let r = json_ok(
        import(&app, &admin, &period, "?mode=partial", body).await,
        200,
    )
    .await;
    assert_eq!(r["committed"], true);
    assert_eq!(r["created"], 2);
    assert_eq!(r["rows_refused"], 8);
    assert_eq!(r["conflicts"].as_array().unwrap().len(), 9);
    let stored = answers(&assessment(&app, &admin, &a).await);
    assert_eq!(
        stored,
        vec![("2.2".to_string(), json!({"option": "deputy"}), false)]
    );
}

#[tokio::test]
async fn rights_are_those_of_single_writes() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    // a viewer is refused before the file is read
    let viewer = app.token_for(Role::Viewer, None);
    assert_problem(
        import(
            &app,
            &viewer,
            &period,
            "",
            csv(&["XA-BAC-HA,2.2,,,,deputy,,,,"]),
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    // a unit account writes its own unit only, never automatic measurements
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let p = assert_problem(
        import(
            &app,
            &editor,
            &period,
            "",
            csv(&[
                "XA-BAC-HA,2.2,,,,deputy,,,,",
                "XA-BAT-XAT,2.2,,,,deputy,,,,",
                "XA-BAC-HA,2.1,1,2,,,,,,",
            ]),
        )
        .await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    let codes: Vec<&str> = p["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["NOT_YOUR_UNIT", "AUTOMATIC_INDICATOR"], "{p}");
    // an integration token writes the automatic measurements only
    let created = json_ok(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&admin),
            &json!({"name": "Cổng DVC", "scopes": ["automatic:write"], "period_id": period}),
        )
        .await,
        201,
    )
    .await;
    let token = created["token"].as_str().unwrap();
    let p = assert_problem(
        import(
            &app,
            token,
            &period,
            "",
            csv(&["XA-BAC-HA,2.1,60,100,,,,,,", "XA-BAC-HA,2.2,,,,deputy,,,,"]),
        )
        .await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_eq!(p["conflicts"][0]["code"], "NOT_AUTOMATIC");
    assert_eq!(p["conflicts"][0]["row"], 3);
    let r = json_ok(
        import(
            &app,
            token,
            &period,
            "",
            csv(&["XA-BAC-HA,2.1,60,100,,,,,,"]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["units"][0]["points_after"], "30");
    // a submitted form is locked for every importer
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    for (node, inputs) in [
        ("1.1", json!({"value": 2})),
        ("1.2", json!({"numerator": 1, "denominator": 2})),
        ("2.2", json!({"option": "deputy"})),
    ] {
        json_ok(
            crate::fixtures::put(
                &app,
                &leader,
                &a,
                node,
                json!({"inputs": inputs, "explanation": "Biên bản"}),
            )
            .await,
            200,
        )
        .await;
    }
    let ev = app
        .post_json(
            &format!("/api/v1/assessments/{a}/answers/1.1/evidence"),
            Some(&leader),
            &json!({"url": "https://xabacha.laocai.gov.vn/bb.pdf"}),
        )
        .await;
    assert_eq!(ev.status(), 201);
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/submit"),
            Some(&leader),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let p = assert_problem(
        import(
            &app,
            &admin,
            &period,
            "",
            csv(&["XA-BAC-HA,2.2,,,,chairman,,,,"]),
        )
        .await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_eq!(p["conflicts"][0]["code"], "ALREADY_SUBMITTED");
    assert_eq!(p["conflicts"][0]["column"], "unit_code");
}

#[tokio::test]
async fn bad_files_are_answered_clearly() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    // a PDF named .csv
    let p = assert_problem(
        import(&app, &admin, &period, "", b"%PDF-1.7\n1 0 obj".to_vec()).await,
        415,
        "UNSUPPORTED_FILE_TYPE",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("PDF"), "{p}");
    // a CSV saved in a legacy Vietnamese code page
    let mut legacy = HEADER.as_bytes().to_vec();
    legacy.extend_from_slice(
        b"\r\nXA-BAC-HA,2.2,,,,deputy,,,Bi\xEAn b\xE3n h\xF0p \xD0\xE3 l\xFAu,\r\n",
    );
    let p = assert_problem(
        import(&app, &admin, &period, "", legacy).await,
        422,
        "NOT_UTF8",
    )
    .await;
    let enc = p["detected_encoding"].as_str().unwrap();
    assert!(
        enc.starts_with("windows-") || enc.starts_with("ISO-"),
        "{p}"
    );
    assert_eq!(p["line"], 2);
    // UTF-16
    let p = assert_problem(
        import(&app, &admin, &period, "", b"\xFF\xFEu\x00n\x00".to_vec()).await,
        422,
        "NOT_UTF8",
    )
    .await;
    assert_eq!(p["detected_encoding"], "UTF-16LE");
    // a header that does not match lists the expected columns
    let p = assert_problem(
        import(
            &app,
            &admin,
            &period,
            "",
            b"ma_don_vi,chi_so,tu_so\r\nXA,1,2\r\n".to_vec(),
        )
        .await,
        422,
        "HEADER_MISMATCH",
    )
    .await;
    assert_eq!(p["expected_columns"][0], "unit_code");
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "MISSING_COLUMN")
    );
    // a NUL in a cell is a conflict of its column (nothing PostgreSQL could store)
    let p = assert_problem(
        import(
            &app,
            &admin,
            &period,
            "",
            csv(&["XA-BAC-HA,2.2,,,,dep\0uty,,,,"]),
        )
        .await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_eq!(p["conflicts"][0]["code"], "NUL_CHARACTER");
    assert_eq!(p["conflicts"][0]["column"], "option");
    // empty
    assert_problem(
        import(&app, &admin, &period, "", Vec::new()).await,
        422,
        "EMPTY_FILE",
    )
    .await;
    // a unit account's 100,000-row file is refused, nothing stored
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let rows: Vec<String> = (0..100_000)
        .map(|_| "XA-BAC-HA,2.2,,,,deputy,,,,".to_string())
        .collect();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let p = assert_problem(
        import(&app, &editor, &period, "", csv(&refs)).await,
        413,
        "TOO_MANY_ROWS",
    )
    .await;
    assert_eq!(p["max_rows"], 2000);
    let resp = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/periods/{period}/imports/answers"),
            Some(&editor),
        )
        .header("accept-language", "vi")
        .header("content-type", "text/csv")
        .body(csv(&refs))
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 413, "TOO_MANY_ROWS").await;
    assert!(p["detail"].as_str().unwrap().contains("2000 dòng"), "{p}");
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    assert_eq!(assessment(&app, &admin, &a).await["answers"], json!([]));
    // an unknown period
    assert_problem(
        import(
            &app,
            &admin,
            "00000000-0000-4000-8000-000000000000",
            "",
            csv(&[]),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn xlsx_and_json_rows_are_read_like_csv() {
    use rust_xlsxwriter::{Formula, Workbook};
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in [
        "unit_code",
        "node_code",
        "numerator",
        "denominator",
        "option",
        "unit_name",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    // numbers, a number stored as text, a formula with its cached value, one without
    ws.write_string(1, 0, "XA-BAC-HA").unwrap();
    ws.write_string(1, 1, "1.2").unwrap();
    ws.write_number(1, 2, 1.5).unwrap();
    ws.write_string(1, 3, "4").unwrap();
    ws.write_string(1, 5, "Xã Bắc Hà").unwrap();
    ws.write_string(2, 0, "XA-BAC-HA").unwrap();
    ws.write_string(2, 1, "2.2").unwrap();
    ws.write_string(2, 4, "deputy").unwrap();
    ws.write_string(3, 0, "XA-BAT-XAT").unwrap();
    ws.write_string(3, 1, "1.2").unwrap();
    ws.write_formula(3, 2, Formula::new("=1+1").set_result("2"))
        .unwrap();
    ws.write_number(3, 3, 4).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let r = json_ok(import(&app, &admin, &period, "", bytes).await, 200).await;
    assert_eq!(r["format"], "xlsx");
    assert_eq!(r["created"], 3, "{r}");
    let a = assessment_of(&app, &admin, &period, "XA-BAT-XAT").await;
    assert_eq!(
        answers(&assessment(&app, &admin, &a).await)[0].1,
        json!({"numerator": "2", "denominator": "4"})
    );
    // a formula whose saved value is an error is a conflict that says so
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["unit_code", "node_code", "numerator", "denominator"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "XA-BAT-XAT").unwrap();
    ws.write_string(1, 1, "1.2").unwrap();
    ws.write_formula(1, 2, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    ws.write_number(1, 3, 4).unwrap();
    let p = assert_problem(
        import(&app, &admin, &period, "", book.save_to_buffer().unwrap()).await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_eq!(p["conflicts"][0]["code"], "INVALID_CELL", "{p}");
    assert_eq!(p["conflicts"][0]["column"], "numerator");
    assert!(
        p["conflicts"][0]["message"]
            .as_str()
            .unwrap()
            .contains("#DIV/0!")
    );
    // JSON rows
    let r = json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/imports/answers?dry_run=true"),
            Some(&admin),
            &json!({"rows": [
                {"unit_code": "XA-BAT-XAT", "node_code": "2.2", "option": "chairman"},
                {"unit_code": "XA-BAT-XAT", "node_code": "1.1", "value": 4, "explanation": "Biên bản"}
            ]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["format"], "json");
    assert_eq!(r["created"], 2, "{r}");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_import() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let send = |body: Vec<u8>| {
        app.request(
            Method::POST,
            &format!("/api/v1/periods/{period}/imports/answers"),
            Some(&admin),
        )
        .header("idempotency-key", "import-1")
        .body(body)
        .send()
    };
    let first = send(csv(&["XA-BAC-HA,2.2,,,,deputy,,,,"])).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = send(csv(&["XA-BAC-HA,2.2,,,,deputy,,,,"])).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_problem(
        send(csv(&["XA-BAC-HA,2.2,,,,chairman,,,,"])).await.unwrap(),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
}

/// The cells of a workbook's sheet as text, row by row.
fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

async fn download(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let resp = app.get(path, token).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_filled_template_imports_the_same_answers_and_scores_as_the_json_api() {
    use rust_xlsxwriter::Workbook;
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let template = download(
        &app,
        &admin,
        &format!("/api/v1/periods/{period}/templates/answers.xlsx?group=LC-XA"),
    )
    .await;
    let rows = sheet(&template, "answers");
    let header = rows[0].clone();
    assert_eq!(&header[..3], ["unit_code", "node_code", "numerator"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // one row per unit of the group × scored component, with names and maxima
    let bac_ha: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "XA-BAC-HA").collect();
    let nodes: Vec<&str> = bac_ha.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(nodes, ["1.1", "1.2", "2.1", "2.2"]);
    assert_eq!(
        bac_ha[1][col("node_name")],
        "Tỷ lệ cuộc họp do Chủ tịch chủ trì"
    );
    assert_eq!(bac_ha[1][col("max_points")], "20");
    assert_eq!(bac_ha[1][col("method")], "ratio");
    assert_eq!(
        bac_ha[1][col("evidence_expected")],
        "Thông báo kết luận các cuộc họp"
    );
    assert!(rows.len() > 20, "{}", rows.len());
    let meta = sheet(&template, "_meta");
    assert_eq!(meta[0][0], "set_id");
    {
        use calamine::{Reader, SheetVisible, Xlsx};
        let book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(template.clone())).unwrap();
        let hidden = book
            .sheets_metadata()
            .iter()
            .find(|s| s.name == "_meta")
            .unwrap()
            .visible;
        assert_eq!(hidden, SheetVisible::Hidden);
    }
    // the unit fills its rows (the cells a person would type), everything else as downloaded
    let fill = |meta_set: &str| {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name("answers").unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32, c as u16, v).unwrap();
                }
            }
            if row[0] == "XA-BAT-XAT" {
                match row[1].as_str() {
                    "1.1" => {
                        ws.write_number(r as u32, col("value") as u16, 3).unwrap();
                        ws.write_string(r as u32, col("explanation") as u16, "Biên bản")
                            .unwrap();
                    }
                    "1.2" => {
                        ws.write_number(r as u32, col("numerator") as u16, 1.5)
                            .unwrap();
                        ws.write_number(r as u32, col("denominator") as u16, 4)
                            .unwrap();
                    }
                    "2.2" => {
                        ws.write_string(r as u32, col("option") as u16, "deputy")
                            .unwrap();
                    }
                    _ => {}
                }
            }
        }
        let m = book.add_worksheet();
        m.set_name("_meta").unwrap();
        for (r, row) in meta.iter().enumerate() {
            m.write_string(r as u32, 0, &row[0]).unwrap();
            let v = if row[0] == "set_id" {
                meta_set.to_string()
            } else {
                row[1].clone()
            };
            m.write_string(r as u32, 1, v).unwrap();
        }
        m.set_hidden(true);
        book.save_to_buffer().unwrap()
    };
    // a template for another set version is refused, row by row, saying so
    let p = assert_problem(
        import(
            &app,
            &admin,
            &period,
            "",
            fill("00000000-0000-4000-8000-000000000000"),
        )
        .await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_eq!(
        p["conflicts"][0]["code"], "TEMPLATE_VERSION_MISMATCH",
        "{p}"
    );
    assert_eq!(p["rows_read"], 3, "blank template rows are skipped: {p}");
    // and in Vietnamese, the English kept beside it
    let resp = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/periods/{period}/imports/answers"),
            Some(&admin),
        )
        .header("accept-language", "vi")
        .body(fill("00000000-0000-4000-8000-000000000000"))
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 422, "IMPORT_REFUSED").await;
    let conflict = &p["conflicts"][0];
    assert_eq!(conflict["code"], "TEMPLATE_VERSION_MISMATCH", "{p}");
    assert!(
        conflict["message"]
            .as_str()
            .unwrap()
            .contains("tải lại mẫu"),
        "{conflict}"
    );
    assert!(conflict["message_en"].is_string(), "{conflict}");
    let r = json_ok(
        import(&app, &admin, &period, "", fill(&meta[0][1])).await,
        200,
    )
    .await;
    assert_eq!(r["created"], 3, "{r}");
    // the same answers through the JSON API for another unit
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let by_json = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{by_json}/answers"),
            &editor,
            &json!({"answers": [
                {"node_code": "1.1", "inputs": {"value": 3}, "explanation": "Biên bản"},
                {"node_code": "1.2", "inputs": {"numerator": 1.5, "denominator": 4}},
                {"node_code": "2.2", "inputs": {"option": "deputy"}}]}),
        )
        .await,
        200,
    )
    .await;
    let by_template = assessment_of(&app, &admin, &period, "XA-BAT-XAT").await;
    let (j, t) = (
        assessment(&app, &admin, &by_json).await,
        assessment(&app, &admin, &by_template).await,
    );
    assert_eq!(answers(&j), answers(&t));
    assert_eq!(j["score"], t["score"]);
    // a unit account downloads its own unit's template only
    let own = download(
        &app,
        &editor,
        &format!("/api/v1/periods/{period}/templates/answers.xlsx?unit=XA-BAC-HA"),
    )
    .await;
    assert_eq!(sheet(&own, "answers").len(), 5);
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{period}/templates/answers.xlsx?unit=XA-BAT-XAT"),
            &editor,
        )
        .await,
        403,
        "NOT_YOUR_UNIT",
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{period}/templates/answers.xlsx?group=LC-XA"),
            &editor,
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
}

#[tokio::test]
async fn the_answers_export_reads_back_unchanged() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    json_ok(
        import(
            &app,
            &admin,
            &period,
            "",
            csv(&[
                "XA-BAC-HA,1.1,,,3,,,=cmd|' /C calc'!A0,Biên bản,",
                "XA-BAC-HA,1.2,1.5,4,,,,,,",
                "XA-BAT-XAT,2.2,,,,deputy,,,,",
            ]),
        )
        .await,
        200,
    )
    .await;
    for format in ["csv", "xlsx"] {
        let bytes = download(
            &app,
            &admin,
            &format!(
                "/api/v1/periods/{period}/exports/answers?group=LC-XA&format={format}&bom=true"
            ),
        )
        .await;
        if format == "csv" {
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(text.contains("'=cmd"), "the note is neutralised: {text}");
        } else {
            let rows = sheet(&bytes, "answers");
            assert!(
                rows.iter()
                    .any(|r| r.iter().any(|c| c == "'=cmd|' /C calc'!A0"))
            );
        }
        let again = json_ok(import(&app, &admin, &period, "", bytes).await, 200).await;
        assert_eq!(again["rows_read"], 3, "{format}: {again}");
        assert_eq!(again["created"], 0, "{format}: {again}");
        assert_eq!(again["updated"], 0, "{format}: {again}");
        assert_eq!(again["unchanged"], 3, "{format}: {again}");
    }
}

/// `(node, inputs)` of the stored answers of a unit.
async fn stored(app: &TestApp, token: &str, period: &str, unit: &str) -> Vec<(String, Value)> {
    let a = assessment_of(app, token, period, unit).await;
    answers(&assessment(app, token, &a).await)
        .into_iter()
        .map(|(n, i, _)| (n, i))
        .collect()
}

async fn nothing_stored(app: &TestApp, admin: &str, period: &str) {
    for unit in ["XA-BAC-HA", "XA-BAT-XAT", "XA-MUONG-KHUONG"] {
        assert_eq!(stored(app, admin, period, unit).await, vec![], "{unit}");
    }
}

#[tokio::test]
async fn a_file_longer_than_a_chunk_is_checked_across_its_chunks() {
    // chunks of two rows: the seven rows below span four
    let app = crate::fixtures::seeded_app_with(|c| c.jobs.import_chunk_rows = 2).await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let body = csv(&[
        "XA-BAC-HA,1.1,,,3,,,,,",            // 2
        "XA-BAT-XAT,1.1,,,3,,,,,",           // 3
        "XA-BAC-HA,1.2,3,4,,,,,,",           // 4
        "XA-MUONG-KHUONG,2.2,,,,deputy,,,,", // 5
        "XA-BAT-XAT,2.2,,,,deputy,,,,",      // 6
        "XA-BAC-HA,1.1,,,2,,,,,",            // 7: duplicate of row 2, three chunks later
        "XA-MUONG-KHUONG,1.2,5,4,,,,,,",     // 8: in the last chunk
    ]);
    // all or nothing: the first chunks were written, the late conflicts undo them
    let p = assert_problem(
        import(&app, &admin, &period, "", body.clone()).await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    let got: Vec<(u64, String)> = p["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["row"].as_u64().unwrap(),
                c["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (7, "DUPLICATE".to_string()),
            (8, "NUMERATOR_EXCEEDS_DENOMINATOR".to_string())
        ],
        "{p}"
    );
    assert_eq!(
        p["conflicts"][0]["message"],
        "unit XA-BAC-HA and component 1.1 are already in row 2"
    );
    assert_eq!(
        (p["rows_read"].clone(), p["rows_refused"].clone()),
        (json!(7), json!(2))
    );
    nothing_stored(&app, &admin, &period).await;
    // a dry run in partial mode lists the valid rows of every chunk, in order, and stores none
    let r = json_ok(
        import(
            &app,
            &admin,
            &period,
            "?mode=partial&dry_run=true",
            body.clone(),
        )
        .await,
        200,
    )
    .await;
    let rows: Vec<u64> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![2, 3, 4, 5, 6], "{r}");
    assert_eq!(
        (r["created"].clone(), r["rows_omitted"].clone()),
        (json!(5), json!(0))
    );
    assert_eq!(r["units"].as_array().unwrap().len(), 3, "{r}");
    nothing_stored(&app, &admin, &period).await;
    // partial: the valid rows of every chunk are stored, once each
    let r = json_ok(
        import(&app, &admin, &period, "?mode=partial", body).await,
        200,
    )
    .await;
    assert_eq!(r["committed"], true);
    assert_eq!(
        (
            r["created"].clone(),
            r["rows_refused"].clone(),
            r["rescored_groups"].clone()
        ),
        (json!(5), json!(2), json!(1)),
        "{r}"
    );
    let nodes = |answers: &[(String, Value)]| -> Vec<String> {
        answers.iter().map(|(n, _)| n.clone()).collect()
    };
    let bac_ha = stored(&app, &admin, &period, "XA-BAC-HA").await;
    assert_eq!(nodes(&bac_ha), ["1.1", "1.2"]);
    // row 2's value, not its duplicate's
    assert_eq!(
        bac_ha[0].1["value"].to_string().trim_matches('"'),
        "3",
        "{bac_ha:?}"
    );
    assert_eq!(
        nodes(&stored(&app, &admin, &period, "XA-BAT-XAT").await),
        ["1.1", "2.2"]
    );
    assert_eq!(
        stored(&app, &admin, &period, "XA-MUONG-KHUONG").await,
        vec![("2.2".to_string(), json!({"option": "deputy"}))]
    );
    // the same rows again, one of them changed: only that one is written (the others keep
    // their version), in whichever chunk it is
    let versions = |a: &Value| -> Vec<Value> {
        a["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["version"].clone())
            .collect()
    };
    let bat_xat = assessment_of(&app, &admin, &period, "XA-BAT-XAT").await;
    let before = versions(&assessment(&app, &admin, &bat_xat).await);
    let r = json_ok(
        import(
            &app,
            &admin,
            &period,
            "?mode=partial",
            csv(&[
                "XA-BAC-HA,1.1,,,3,,,,,",
                "XA-BAT-XAT,1.1,,,3,,,,,",
                "XA-BAC-HA,1.2,3,4,,,,,,",
                "XA-MUONG-KHUONG,2.2,,,,chairman,,,,",
                "XA-BAT-XAT,2.2,,,,deputy,,,,",
            ]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            r["created"].clone(),
            r["updated"].clone(),
            r["unchanged"].clone()
        ),
        (json!(0), json!(1), json!(4)),
        "{r}"
    );
    assert_eq!(versions(&assessment(&app, &admin, &bat_xat).await), before);
    // one audit event per assessment and import, naming the components it created
    let events: Vec<Value> = app.with_conn(|c| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Event {
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            new_value: Value,
        }
        diesel::sql_query(
            "SELECT new_value FROM audit_events WHERE action = 'answer.import' \
             AND new_value -> 'updated' = '[]' ORDER BY id",
        )
        .load::<Event>(c)
        .unwrap()
        .into_iter()
        .map(|e| e.new_value)
        .collect()
    });
    assert_eq!(events.len(), 3, "{events:?}");
    let mut created: Vec<Value> = events.iter().map(|e| e["created"].clone()).collect();
    created.sort_by_key(|v| v.to_string());
    assert_eq!(
        created,
        vec![json!(["1.1", "1.2"]), json!(["1.1", "2.2"]), json!(["2.2"])]
    );
}

// --- ODS workbooks (merged cells) ---

/// An ODS workbook with one sheet, `answers`, each row given as the XML of its cells (see
/// [`ods_text`], [`ods_number`], [`ods_merged`]); `table:table-row` attributes may open a row's
/// string (`"table:number-rows-repeated=\"2\"|<cells>"`).
pub fn ods_book(rows: &[String]) -> Vec<u8> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body><office:spreadsheet><table:table table:name="answers">"#,
    );
    for r in rows {
        let (attrs, cells) = r.split_once('|').unwrap_or(("", r));
        content.push_str(&format!(
            "<table:table-row {attrs}>{cells}</table:table-row>"
        ));
    }
    content.push_str("</table:table></office:spreadsheet></office:body></office:document-content>");
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default();
    w.start_file("mimetype", stored).unwrap();
    w.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    w.start_file("META-INF/manifest.xml", deflated).unwrap();
    w.write_all(manifest.as_bytes()).unwrap();
    w.start_file("content.xml", deflated).unwrap();
    w.write_all(content.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

pub fn ods_text(t: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
    )
}

pub fn ods_number(n: i64) -> String {
    format!(
        r#"<table:table-cell office:value-type="float" office:value="{n}"><text:p>{n}</text:p></table:table-cell>"#
    )
}

/// A text cell merged over `columns` × `rows` cells (the others are covered cells).
pub fn ods_merged(t: &str, columns: u32, rows: u32) -> String {
    format!(
        r#"<table:table-cell table:number-columns-spanned="{columns}" table:number-rows-spanned="{rows}" office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
    )
}

/// `rows` empty rows of `columns` cells, as one repeated row.
pub fn ods_empty_rows(rows: u32, columns: u32) -> String {
    format!(
        r#"table:number-rows-repeated="{rows}"|<table:table-cell table:number-columns-repeated="{columns}"/>"#
    )
}

/// `n` cells covered by a merged cell above or to their left.
pub fn ods_covered(n: u32) -> String {
    format!(r#"<table:covered-table-cell table:number-columns-repeated="{n}"/>"#)
}

#[tokio::test]
async fn merged_cells_of_an_ods_file_are_refused_as_in_xlsx() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let header = |merged: bool| {
        let mut h: String = ["unit_code", "node_code", "numerator", "denominator"]
            .map(ods_text)
            .concat();
        if merged {
            // two empty columns (E, F), then "note" over G1:H1
            h.push_str(r#"<table:table-cell table:number-columns-repeated="2"/>"#);
            h.push_str(&ods_merged("note", 2, 1));
            h.push_str(&ods_covered(1));
        }
        h
    };
    let book = |merged_header: bool, merged_data: bool| {
        let unit = if merged_data {
            ods_merged("XA-BAT-XAT", 1, 2)
        } else {
            ods_text("XA-BAT-XAT")
        };
        let below = if merged_data {
            ods_covered(1)
        } else {
            ods_text("XA-BAT-XAT")
        };
        ods_book(&[
            header(merged_header),
            [unit, ods_text("1.2"), ods_number(1), ods_number(4)].concat(),
            [below, ods_text("1.1")].concat(),
            // two empty rows (4, 5)
            ods_empty_rows(2, 4),
            [
                ods_text("XA-BAC-HA"),
                ods_text("1.2"),
                ods_number(2),
                ods_number(4),
            ]
            .concat(),
        ])
    };
    // without merged cells the workbook is read as any other
    let r = json_ok(
        import(&app, &admin, &period, "?dry_run=true", book(false, false)).await,
        200,
    )
    .await;
    assert_eq!(r["format"], "ods", "{r}");
    assert_eq!(r["rows_refused"], 0, "{r}");
    // merged data cells: every row they cover is a conflict, named at its first column
    let p = assert_problem(
        import(&app, &admin, &period, "", book(false, true)).await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_merged_a2_a3(&p);
    // partial mode stores the row outside the merged cells only (row 6, after the empty ones)
    let r = json_ok(
        import(&app, &admin, &period, "?mode=partial", book(false, true)).await,
        200,
    )
    .await;
    assert_eq!(
        (r["created"].clone(), r["rows_refused"].clone()),
        (json!(1), json!(2)),
        "{r}"
    );
    assert_eq!(stored(&app, &admin, &period, "XA-BAT-XAT").await, vec![]);
    // in Vietnamese
    let vi = |body: Vec<u8>| {
        app.request(
            Method::POST,
            &format!("/api/v1/periods/{period}/imports/answers"),
            Some(&admin),
        )
        .header("accept-language", "vi")
        .body(body)
        .send()
    };
    let p = assert_problem(vi(book(false, true)).await.unwrap(), 422, "IMPORT_REFUSED").await;
    let m = p["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "MERGED_CELLS")
        .unwrap();
    let message = m["message"].as_str().unwrap();
    assert!(message.contains("gộp") && message.contains("A2:A3"), "{m}");
    // merged header cells (placed after repeated empty cells): the file is refused as a whole
    let p = assert_problem(
        import(&app, &admin, &period, "", book(true, false)).await,
        422,
        "MERGED_CELLS",
    )
    .await;
    assert_eq!(p["merged_cells"], json!(["G1:H1"]), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("G1:H1"), "{p}");
    let p = assert_problem(vi(book(true, false)).await.unwrap(), 422, "MERGED_CELLS").await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("gộp") && detail.contains("G1:H1"), "{p}");
}

// --- legacy Excel workbooks (merged cells) ---

/// The rows of the ODS test above, saved as XLS by LibreOffice (tests/fixtures/README.md).
const XLS_MERGED_HEADER: &[u8] = include_bytes!("../fixtures/merged_header.xls");
const XLS_MERGED_ROWS: &[u8] = include_bytes!("../fixtures/merged_rows.xls");

#[tokio::test]
async fn merged_cells_of_an_xls_file_are_refused_as_in_xlsx() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    // merged data cells: every row they cover is a conflict, named at its first column
    let p = assert_problem(
        import(&app, &admin, &period, "", XLS_MERGED_ROWS.to_vec()).await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_merged_a2_a3(&p);
    // partial mode stores the row outside the merged cells only (row 6, after the empty ones)
    let r = json_ok(
        import(
            &app,
            &admin,
            &period,
            "?mode=partial",
            XLS_MERGED_ROWS.to_vec(),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["format"], "xls", "{r}");
    assert_eq!(
        (r["created"].clone(), r["rows_refused"].clone()),
        (json!(1), json!(2)),
        "{r}"
    );
    assert_eq!(stored(&app, &admin, &period, "XA-BAT-XAT").await, vec![]);
    // merged header cells (after two empty columns): the file is refused as a whole
    let p = assert_problem(
        import(&app, &admin, &period, "", XLS_MERGED_HEADER.to_vec()).await,
        422,
        "MERGED_CELLS",
    )
    .await;
    assert_eq!(p["merged_cells"], json!(["G1:H1"]), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("G1:H1"), "{p}");
}

/// Inputs are kept as their JSON text: an import compares them as JSON values, so a stored
/// answer spelled another way (keys in another order, other spacing: as a script writing the
/// table, or an older version, left it) with the same values is unchanged, not rewritten.
#[tokio::test]
async fn stored_inputs_spelled_another_way_import_as_unchanged() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let row = "XA-BAC-HA,1.2,1.5,4,,,,,,";
    let first = json_ok(import(&app, &admin, &period, "", csv(&[row])).await, 200).await;
    assert_eq!(first["created"], 1, "{first}");
    let a = assessment_of(&app, &admin, &period, "XA-BAC-HA").await;
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        lock_version: i32,
    }
    let read = || -> Stored {
        app.with_conn(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "SELECT a.inputs::text AS text, a.lock_version FROM answers a \
                 JOIN indicator_nodes n ON n.id = a.node_id \
                 WHERE a.assessment_id = $1::uuid AND n.code = '1.2'",
            )
            .bind::<diesel::sql_types::Text, _>(&a)
            .get_result(c)
            .unwrap()
        })
    };
    let before = read();
    let value: Value = serde_json::from_str(&before.text).unwrap();
    let mut members: Vec<String> = value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("  {} :\t{}", json!(k), v))
        .collect();
    members.reverse();
    let respelled = format!("{{{} }}", members.join(" ,\n"));
    assert_ne!(respelled, before.text);
    assert_eq!(serde_json::from_str::<Value>(&respelled).unwrap(), value);
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE answers SET inputs = $1::json FROM indicator_nodes n \
             WHERE n.id = answers.node_id AND answers.assessment_id = $2::uuid AND n.code = '1.2'",
        )
        .bind::<diesel::sql_types::Text, _>(&respelled)
        .bind::<diesel::sql_types::Text, _>(&a)
        .execute(c)
        .unwrap()
    });
    let again = json_ok(import(&app, &admin, &period, "", csv(&[row])).await, 200).await;
    assert_eq!(again["unchanged"], 1, "{again}");
    assert_eq!(again["updated"], 0, "{again}");
    let after = read();
    assert_eq!(after.lock_version, before.lock_version, "not rewritten");
    assert_eq!(after.text, respelled, "the stored text is left as it is");
    // the API reads it as the same value
    let stored = answers(&assessment(&app, &admin, &a).await);
    assert_eq!(stored[0].1, value);
}
