//! The progress board: counts by state per group, each unit's progress, deadline and lateness,
//! filters, sorting and paging, and its CSV/XLSX export read back.

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{active_set, ids, open_new_period};
use crate::helpers::*;

/// A period over LC-XA whose self-assessment phase closed on 31 January 2021 (so every unit
/// that has not submitted is overdue), opened. Returns its id.
async fn late_period(app: &TestApp, admin: &str) -> String {
    let doc = dti_api::api::indicator_sets::example_document();
    let set_id = active_set(app, admin, &doc).await;
    open_new_period(
        app,
        admin,
        &json!({"code": "DTI-2020", "name": "DTI 2020", "data_year": 2020,
                "groups": [{"group": "LC-XA", "indicator_set": set_id}],
                "calendar": [{"phase": "self_assessment", "opens_at": "2021-01-04T00:00:00Z", "closes_at": "2021-01-31T17:00:00Z"}]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn line<'a>(board: &'a Value, code: &str) -> &'a Value {
    board["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["unit"]["code"] == code)
        .unwrap_or_else(|| panic!("{code} on {board}"))
}

fn codes(board: &Value) -> Vec<&str> {
    board["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["unit"]["code"].as_str().unwrap())
        .collect()
}

/// Builds the year the board tests read (`COMMUNES` positions):
/// 0 LAO-CAI submitted by the office · 2 SA-PA submitted, then returned · 3 YEN-BAI excluded
/// from the ranking, not started · 4 NGHIA-LO finalised · 6 BAC-HA half done (1.1 without
/// evidence, 1.2) · 7 MUONG-KHUONG not started, own deadline in 2099 · 8 BAT-XAT submitted,
/// with an open clarification · 1, 5, 9 not started.
async fn a_late_year(app: &TestApp) -> (String, Vec<String>) {
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let period = late_period(app, &admin).await;
    let ids = ids(app, &admin, &period).await;
    for k in [2, 4, 8] {
        crate::fixtures::enter_and_submit(app, &ids[k], k).await;
    }
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{}/answers", ids[6]),
            &editor,
            &json!({"answers": [
                {"node_code": "1.1", "inputs": {"value": 2}},
                {"node_code": "1.2", "inputs": {"numerator": 1, "denominator": 4}}
            ]}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{}/submit-on-behalf", ids[0]),
            Some(&admin),
            &json!({"reason": "Quá hạn tự đánh giá"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{}/ranking-exclusion", ids[3]),
            &admin,
            &json!({"reason": "Sáp nhập giữa kỳ"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{}/deadline", ids[7]),
            &admin,
            &json!({"deadline": "2099-01-01T00:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{}/clarifications", ids[8]),
            Some(&reviewer),
            &json!({"node_code": "1.2", "message": "Đề nghị gửi biên bản họp"}),
        )
        .await,
        201,
    )
    .await;
    transition(app, &admin, &period, "review").await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{}/return", ids[2]),
            Some(&reviewer),
            &json!({"reason": "Thiếu minh chứng"}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{}/finalise", ids[4]),
            Some(&reviewer),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    (period, ids)
}

/// Days since 31 January 2021 17:00 UTC, a started day counting as one.
fn days_late(at: chrono::DateTime<chrono::Utc>) -> i64 {
    let close = chrono::DateTime::parse_from_rfc3339("2021-01-31T17:00:00Z").unwrap();
    let secs = (at - close.with_timezone(&chrono::Utc)).num_seconds();
    (secs + 86_399) / 86_400
}

#[tokio::test]
async fn the_progress_board_counts_states_and_shows_who_is_late() {
    let app = spawn_seeded_app().await;
    let viewer = app.token_for(Role::Viewer, None);
    let (period, ids) = a_late_year(&app).await;
    let path = format!("/api/v1/periods/{period}/progress");
    let before = chrono::Utc::now();
    let board = json_ok(app.get(&path, &viewer).await, 200).await;
    let after = chrono::Utc::now();

    assert_eq!(board["total"], 10);
    assert_eq!(board["sort"], "unit_code");
    let g = &board["groups"][0];
    assert_eq!(g["group_code"], "LC-XA");
    assert_eq!(g["assessments"], 10);
    assert_eq!(
        g["by_state"],
        json!({"not_started": 5, "in_progress": 1, "submitted": 2, "returned": 1, "finalised": 1})
    );
    assert_eq!(
        g["overdue"], 6,
        "open forms past 31 January 2021, but MUONG-KHUONG's own deadline"
    );
    assert_eq!(g["submitted_on_behalf"], 1);
    assert_eq!(g["excluded_from_ranking"], 1);
    assert_eq!(g["finalised_not_submitted"], 0);

    let bac_ha = line(&board, "XA-BAC-HA");
    assert_eq!(bac_ha["state"], "in_progress");
    assert_eq!(
        bac_ha["applicable_components"], 3,
        "2.1 is measured automatically"
    );
    assert_eq!(bac_ha["answered_components"], 2);
    assert_eq!(bac_ha["answered_share"], "0.6667");
    assert_eq!(
        bac_ha["missing_evidence"], 1,
        "1.1 has neither evidence nor explanation"
    );
    assert_eq!(bac_ha["deadline"], "2021-01-31T17:00:00Z");
    assert_eq!(bac_ha["deadline_extended"], false);
    assert_eq!(bac_ha["overdue"], true);
    let days = bac_ha["days_overdue"].as_i64().unwrap();
    assert!(
        (days_late(before)..=days_late(after)).contains(&days),
        "{days}"
    );
    assert!(bac_ha["last_activity"].is_string());

    let mk = line(&board, "XA-MUONG-KHUONG");
    assert_eq!(mk["deadline"], "2099-01-01T00:00:00Z");
    assert_eq!(mk["deadline_extended"], true);
    assert_eq!(
        (&mk["overdue"], &mk["days_overdue"]),
        (&json!(false), &Value::Null)
    );
    assert_eq!(
        mk["last_activity"],
        Value::Null,
        "a deadline is not the unit's activity"
    );
    assert_eq!(mk["answered_share"], "0");

    let bat_xat = line(&board, "XA-BAT-XAT");
    assert_eq!(bat_xat["state"], "submitted");
    assert_eq!(bat_xat["open_clarifications"], 1);
    assert_eq!(bat_xat["answered_share"], "1");
    assert_eq!(
        (&bat_xat["overdue"], &bat_xat["days_overdue"]),
        (&json!(false), &Value::Null)
    );
    let sa_pa = line(&board, "PHUONG-SA-PA");
    assert_eq!(
        (&sa_pa["state"], &sa_pa["overdue"]),
        (&json!("returned"), &json!(true))
    );
    let lao_cai = line(&board, "PHUONG-LAO-CAI");
    assert_eq!(lao_cai["submitted_on_behalf"], true);
    assert_eq!(lao_cai["answered_components"], 0);
    let yen_bai = line(&board, "PHUONG-YEN-BAI");
    assert_eq!(
        (&yen_bai["ranked"], &yen_bai["exclusion_reason"]),
        (&json!(false), &json!("Sáp nhập giữa kỳ"))
    );
    assert_eq!(line(&board, "PHUONG-NGHIA-LO")["state"], "finalised");
    assert_eq!(
        line(&board, "PHUONG-NGHIA-LO")["assessment_id"],
        ids[4].as_str()
    );

    // filters: the counts stay those of the whole group
    let get = |q: &'static str| {
        let app = &app;
        let viewer = &viewer;
        let path = &path;
        async move { json_ok(app.get(&format!("{path}?{q}"), viewer).await, 200).await }
    };
    let overdue = get("filter=overdue").await;
    assert_eq!(
        codes(&overdue),
        [
            "PHUONG-CAM-DUONG",
            "PHUONG-SA-PA",
            "PHUONG-VAN-PHU",
            "PHUONG-YEN-BAI",
            "XA-BAC-HA",
            "XA-TRAN-YEN"
        ]
    );
    assert_eq!(overdue["total"], 6);
    assert_eq!(overdue["groups"][0]["assessments"], 10);
    assert_eq!(
        codes(&get("filter=not_started").await),
        [
            "PHUONG-CAM-DUONG",
            "PHUONG-VAN-PHU",
            "PHUONG-YEN-BAI",
            "XA-MUONG-KHUONG",
            "XA-TRAN-YEN"
        ]
    );
    assert_eq!(
        codes(&get("filter=waiting_for_review").await),
        ["PHUONG-LAO-CAI", "XA-BAT-XAT"]
    );
    // sorted, absent values last, then paged
    let by_share = get("sort=answered_share&order=desc").await;
    assert_eq!(
        codes(&by_share)[..5],
        [
            "PHUONG-NGHIA-LO",
            "PHUONG-SA-PA",
            "XA-BAT-XAT",
            "XA-BAC-HA",
            "PHUONG-CAM-DUONG"
        ]
    );
    let late_first = get("filter=overdue&sort=days_overdue&order=desc&page=2&page_size=4").await;
    assert_eq!(
        (&late_first["total"], &late_first["page"]),
        (&json!(6), &json!(2))
    );
    assert_eq!(codes(&late_first), ["XA-BAC-HA", "XA-TRAN-YEN"]);
    let by_group = get("group=LC-XA&sort=state").await;
    assert_eq!(codes(&by_group)[0], "PHUONG-CAM-DUONG");
    assert_eq!(codes(&by_group)[9], "PHUONG-NGHIA-LO");

    // refusals
    for (q, status, code) in [
        ("sort=rank", 400, "INVALID_QUERY"),
        ("filter=late", 400, "INVALID_QUERY"),
        ("order=up", 400, "INVALID_QUERY"),
        ("page_size=501", 422, "VALIDATION_FAILED"),
        ("group=NOPE", 422, "VALIDATION_FAILED"),
        ("group=LC-SO", 422, "VALIDATION_FAILED"),
    ] {
        assert_problem(app.get(&format!("{path}?{q}"), &viewer).await, status, code).await;
    }
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    assert_problem(app.get(&path, &leader).await, 403, "FORBIDDEN_ROLE").await;
    let nowhere = format!("/api/v1/periods/{}/progress", uuid::Uuid::new_v4());
    assert_problem(app.get(&nowhere, &viewer).await, 404, "NOT_FOUND").await;

    // finalising as not submitted shows on the board
    let admin = app.token_for(Role::Admin, None);
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{}/finalise-not-submitted", ids[9]),
            Some(&admin),
            &json!({"finalised_as": "at_zero", "reason": "Không nộp"}),
        )
        .await,
        200,
    )
    .await;
    let board = json_ok(app.get(&path, &viewer).await, 200).await;
    assert_eq!(board["groups"][0]["finalised_not_submitted"], 1);
    assert_eq!(board["groups"][0]["overdue"], 5);
    assert_eq!(line(&board, "XA-TRAN-YEN")["finalised_as"], "at_zero");
}

#[tokio::test]
async fn the_progress_board_exports_csv_and_xlsx_that_read_back_with_formulas_neutralised() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = a_late_year(&app).await;
    json_ok(
        app.patch_json(
            "/api/v1/units/XA-TRAN-YEN",
            &admin,
            &json!({"name": "=HYPERLINK(\"http://evil.example\",\"Xã Trấn Yên\")"}),
        )
        .await,
        200,
    )
    .await;
    let board = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/progress?filter=overdue&page_size=500"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let export = |q: &str| {
        let path = format!("/api/v1/periods/{period}/progress/export?filter=overdue&{q}");
        let (app, admin) = (&app, &admin);
        async move { app.get(&path, admin).await }
    };

    // CSV with a byte-order mark, parsed back
    let resp = export("format=csv&bom=true").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"progress-DTI-2020.csv\""
    );
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(headers, dti_api::services::progress::EXPORT_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let codes: Vec<&str> = rows.iter().map(|r| &r[col("unit_code")]).collect();
    let on_board: Vec<&str> = board["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["unit"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, on_board, "the board's rows, in its order");
    let tran_yen = rows
        .iter()
        .find(|r| &r[col("unit_code")] == "XA-TRAN-YEN")
        .unwrap();
    assert_eq!(
        &tran_yen[col("unit_name")],
        "'=HYPERLINK(\"http://evil.example\",\"Xã Trấn Yên\")",
        "a formula stays text"
    );
    let bac_ha = rows
        .iter()
        .find(|r| &r[col("unit_code")] == "XA-BAC-HA")
        .unwrap();
    assert_eq!(&bac_ha[col("unit_name")], "Xã Bắc Hà");
    assert_eq!(&bac_ha[col("answered_share")], "0.6667");
    assert_eq!(&bac_ha[col("missing_evidence")], "1");
    assert_eq!(&bac_ha[col("state")], "in_progress");
    assert_eq!(&bac_ha[col("deadline")], "2021-01-31T17:00:00Z");
    assert_eq!(&bac_ha[col("overdue")], "true");
    let days = line(&board, "XA-BAC-HA")["days_overdue"].as_i64().unwrap();
    let exported: i64 = bac_ha[col("days_overdue")].parse().unwrap();
    assert!((days..=days + 1).contains(&exported));
    let yen_bai = rows
        .iter()
        .find(|r| &r[col("unit_code")] == "PHUONG-YEN-BAI")
        .unwrap();
    assert_eq!(
        (&yen_bai[col("ranked")], &yen_bai[col("exclusion_reason")]),
        ("false", "Sáp nhập giữa kỳ")
    );
    // without a byte-order mark by default
    let plain = export("format=csv").await.bytes().await.unwrap();
    assert_eq!(&plain[..9], b"unit_code");

    // XLSX, read back with calamine
    let resp = export("format=xlsx").await;
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("progress").unwrap();
    let cells: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(cells.len(), 7);
    let header: Vec<String> = cells[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header, headers);
    let row = |code: &str| {
        cells
            .iter()
            .find(|r| r[0] == Data::String(code.into()))
            .unwrap()
    };
    assert_eq!(
        row("XA-TRAN-YEN")[col("unit_name")],
        Data::String("'=HYPERLINK(\"http://evil.example\",\"Xã Trấn Yên\")".into())
    );
    let bac_ha = row("XA-BAC-HA");
    assert_eq!(bac_ha[col("unit_name")], Data::String("Xã Bắc Hà".into()));
    assert_eq!(bac_ha[col("answered_components")], Data::Float(2.0));
    assert_eq!(bac_ha[col("answered_share")], Data::Float(0.6667));
    assert_eq!(bac_ha[col("open_clarifications")], Data::Float(0.0));
    assert_eq!(
        row("PHUONG-SA-PA")[col("state")],
        Data::String("returned".into())
    );

    // refused like the board
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{period}/progress/export"),
            &leader,
        )
        .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    assert_problem(export("format=pdf").await, 400, "INVALID_QUERY").await;
}
