//! Exports: a period's scores and rankings, one unit's explained score and a period's audit
//! events as CSV and XLSX, each read back (`csv`, `calamine`) and compared with the JSON API's
//! values; formulas neutralised; the byte-order mark on request; refusals before any work; a
//! published snapshot downloaded as JSON and CSV with the SHA-256 of its body; every XLSX
//! opened by LibreOffice.

use std::collections::HashMap;
use std::str::FromStr;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use dti_api::domain::Role;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::fixtures::open_period;
use crate::helpers::*;

const EVIL: &str = "=HYPERLINK(\"http://evil.example\",\"Xã Trấn Yên\")";
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A cell as the JSON API gives it.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Empty,
    /// Text as it must appear (neutralised already).
    Text(String),
    /// An exact decimal (a number in XLSX).
    Num(Decimal),
    /// JSON written as text.
    Json(Value),
}

/// A JSON value as the cell an export must hold: strings that are decimals → numbers when
/// `numeric`, booleans → `true`/`false`, null → empty, text neutralised.
fn want(v: &Value, numeric: bool) -> Want {
    match v {
        Value::Null => Want::Empty,
        Value::Bool(b) => Want::Text(b.to_string()),
        Value::Number(n) => Want::Num(Decimal::from_str(&n.to_string()).unwrap()),
        Value::String(s) if numeric => Want::Num(Decimal::from_str(s).unwrap()),
        Value::String(s) => Want::Text(neutral(s)),
        other => Want::Json(other.clone()),
    }
}

/// JSON written as text (empty for null).
fn json_cell(v: &Value) -> Want {
    if v.is_null() {
        Want::Empty
    } else {
        Want::Json(v.clone())
    }
}

fn num(v: &Value) -> Want {
    want(v, true)
}

fn text(v: &Value) -> Want {
    want(v, false)
}

fn neutral(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn csv_matches(cell: &str, w: &Want) -> bool {
    match w {
        Want::Empty => cell.is_empty(),
        Want::Text(t) => cell == t,
        Want::Num(d) => Decimal::from_str(cell).is_ok_and(|c| c == *d),
        Want::Json(v) => serde_json::from_str::<Value>(cell).is_ok_and(|c| c == *v),
    }
}

fn xlsx_matches(cell: &Data, w: &Want) -> bool {
    match (cell, w) {
        (Data::Empty, Want::Empty) => true,
        (Data::String(s), Want::Text(t)) => s == t,
        (Data::Float(f), Want::Num(d)) => *f == d.to_string().parse::<f64>().unwrap(),
        (Data::Int(i), Want::Num(d)) => Decimal::from(*i) == *d,
        (Data::String(s), Want::Json(v)) => serde_json::from_str::<Value>(s).is_ok_and(|c| c == *v),
        _ => false,
    }
}

/// The records of a CSV export (after the byte-order mark, when `bom`).
fn csv_rows(bytes: &[u8], bom: bool) -> Vec<Vec<String>> {
    let body = if bom {
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a byte-order mark");
        &bytes[3..]
    } else {
        assert_ne!(&bytes[..3], b"\xEF\xBB\xBF", "no byte-order mark");
        bytes
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The cells of an XLSX export's only worksheet, `sheet`.
fn xlsx_rows(bytes: Vec<u8>, sheet: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), vec![sheet.to_string()]);
    let range = book.worksheet_range(sheet).unwrap();
    assert_eq!(range.start(), Some((0, 0)));
    range.rows().map(<[Data]>::to_vec).collect()
}

/// Checks both formats of an export against the expected header and cells.
async fn check_both(
    app: &TestApp,
    token: &str,
    path: &str,
    sheet: &str,
    file: &str,
    headers: &[String],
    rows: &[Vec<Want>],
) {
    let sep = if path.contains('?') { '&' } else { '?' };
    // CSV, with a byte-order mark
    let resp = app
        .get(&format!("{path}{sep}format=csv&bom=true"), token)
        .await;
    assert_eq!(resp.status(), 200, "{path}");
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        resp.headers()["content-disposition"],
        format!("attachment; filename=\"{file}.csv\"").as_str()
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let got = csv_rows(&resp.bytes().await.unwrap(), true);
    assert_eq!(&got[0], headers, "{path}: CSV header");
    assert_eq!(got.len(), rows.len() + 1, "{path}: CSV rows");
    for (r, (g, w)) in got[1..].iter().zip(rows).enumerate() {
        assert_eq!(g.len(), w.len(), "{path}: CSV row {r} width");
        for (c, (g, w)) in g.iter().zip(w).enumerate() {
            assert!(
                csv_matches(g, w),
                "{path}: CSV row {r} column {}: {g:?} is not {w:?}",
                headers[c]
            );
        }
    }
    // CSV without: the default
    let plain = app.get(&format!("{path}{sep}format=csv"), token).await;
    assert_eq!(csv_rows(&plain.bytes().await.unwrap(), false), got);
    let default = app.get(path, token).await;
    assert_eq!(default.headers()["content-type"], "text/csv; charset=utf-8");

    // XLSX
    let resp = app.get(&format!("{path}{sep}format=xlsx"), token).await;
    assert_eq!(resp.status(), 200, "{path}");
    assert_eq!(resp.headers()["content-type"], XLSX_TYPE);
    assert_eq!(
        resp.headers()["content-disposition"],
        format!("attachment; filename=\"{file}.xlsx\"").as_str()
    );
    let got = xlsx_rows(resp.bytes().await.unwrap().to_vec(), sheet);
    let head: Vec<String> = got[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(&head, headers, "{path}: XLSX header");
    assert_eq!(got.len(), rows.len() + 1, "{path}: XLSX rows");
    for (r, (g, w)) in got[1..].iter().zip(rows).enumerate() {
        for (c, w) in w.iter().enumerate() {
            let g = g.get(c).unwrap_or(&Data::Empty);
            assert!(
                xlsx_matches(g, w),
                "{path}: XLSX row {r} column {}: {g:?} is not {w:?}",
                headers[c]
            );
        }
    }
}

/// A published year of the ten communes of LC-XA (every unit answers and submits; PHUONG-LAO-CAI
/// is adjusted on 1.2; XA-TRAN-YEN is named like a formula), finalised and published.
/// Returns the period id and the assessment ids by unit code.
async fn published_year(app: &TestApp) -> (String, HashMap<String, String>) {
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    json_ok(
        app.patch_json("/api/v1/units/XA-TRAN-YEN", &admin, &json!({"name": EVIL}))
            .await,
        200,
    )
    .await;
    let (period, _) = open_period(app, &admin, |_| {}).await;
    let ids: HashMap<String, String> = crate::fixtures::fill_and_submit(app, &period)
        .await
        .into_iter()
        .collect();
    transition(app, &admin, &period, "review").await;
    json_ok(
        app.put_json(
            &format!(
                "/api/v1/assessments/{}/adjustments/1.2",
                ids["PHUONG-LAO-CAI"]
            ),
            &reviewer,
            &json!({"points": "5", "reason": "-Chỉ 1 biên bản có chữ ký Chủ tịch"}),
        )
        .await,
        200,
    )
    .await;
    for a in ids.values() {
        json_ok(
            app.post_json(
                &format!("/api/v1/assessments/{a}/finalise"),
                Some(&reviewer),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
    }
    (period, ids)
}

async fn publish(app: &TestApp, period: &str) -> Value {
    let admin = app.token_for(Role::Admin, None);
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(&admin),
            &json!({"group": "LC-XA"}),
        )
        .await,
        201,
    )
    .await
}

#[tokio::test]
async fn the_scores_export_holds_the_rankings_values_in_csv_and_xlsx() {
    let app = spawn_seeded_app().await;
    let (period, ids) = published_year(&app).await;
    let viewer = app.token_for(Role::Viewer, None);
    let get = |path: String| {
        let (app, viewer) = (&app, &viewer);
        async move { json_ok(app.get(&path, viewer).await, 200).await }
    };
    let base = format!("/api/v1/periods/{period}/rankings?page_size=500");
    let overall = get(base.clone()).await;
    let scopes = [
        ("pillar", "CQS", get(format!("{base}&pillar=CQS")).await),
        ("main", "1", get(format!("{base}&main_indicator=1")).await),
        ("main", "2", get(format!("{base}&main_indicator=2")).await),
    ];
    let list = get(format!("/api/v1/periods/{period}/assessments")).await;
    let summary = |code: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["unit"]["code"] == code)
            .unwrap()
            .clone()
    };
    let mut headers: Vec<String> = dti_api::services::exports::SCORE_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect();
    const SCORE_COLUMNS_LEN: usize = dti_api::services::exports::SCORE_COLUMNS.len();
    for (scope, code, _) in &scopes {
        for c in [
            "self_points",
            "reviewed_points",
            "final_points",
            "max",
            "index",
            "rank",
            "tied",
        ] {
            headers.push(format!("{scope} {code} {c}"));
        }
    }
    // each unit's score tree: its self and final points per pillar and main indicator
    let mut trees: HashMap<String, Value> = HashMap::new();
    for (code, a) in &ids {
        trees.insert(
            code.clone(),
            get(format!("/api/v1/assessments/{a}/score")).await,
        );
    }
    let node = |unit: &str, code: &str| -> Value {
        trees[unit]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["code"] == code)
            .unwrap_or_else(|| panic!("{unit}: no node {code}"))
            .clone()
    };
    // a pillar's points: its main indicators' (the set's `pillars`)
    let doc = dti_api::api::indicator_sets::example_document();
    let scope_points = |unit: &str, scope: &str, code: &str, field: &str| -> Want {
        let mains: Vec<String> = if scope == "pillar" {
            doc["pillars"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["code"] == code)
                .unwrap()["main_indicators"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect()
        } else {
            vec![code.to_string()]
        };
        Want::Num(
            mains
                .iter()
                .map(|m| Decimal::from_str(node(unit, m)[field].as_str().unwrap()).unwrap())
                .sum(),
        )
    };
    let items = overall["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    let rows: Vec<Vec<Want>> = items
        .iter()
        .map(|e| {
            let code = e["unit"]["code"].as_str().unwrap();
            let s = summary(code);
            let mut row = vec![
                text(&e["unit"]["code"]),
                text(&e["unit"]["name"]),
                text(&s["state"]),
                text(&e["finalised_as"]),
                text(&e["ranked"]),
                text(&e["exclusion_reason"]),
                num(&s["score"]["max_points"]),
                num(&e["applicable_max"]),
                num(&s["score"]["self_points"]),
                num(&s["score"]["reviewed_points"]),
                num(&s["score"]["final_points"]),
                num(&e["index"]),
                num(&e["rank"]),
                text(&e["tied"]),
                text(&e["band"]["code"]),
                text(&e["band"]["label"]),
            ];
            for (scope, scope_code, page) in &scopes {
                let x = page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["unit"]["code"] == code)
                    .unwrap();
                row.extend([
                    scope_points(code, scope, scope_code, "self_points"),
                    num(&x["points"]),
                    scope_points(code, scope, scope_code, "final_points"),
                    num(&x["applicable_max"]),
                    num(&x["index"]),
                    num(&x["rank"]),
                    text(&x["tied"]),
                ]);
            }
            row
        })
        .collect();
    // what the comparison rests on
    let lao_cai = rows
        .iter()
        .find(|r| r[0] == Want::Text("PHUONG-LAO-CAI".into()))
        .unwrap();
    assert_eq!(lao_cai[8], Want::Num(Decimal::from(20)), "self points");
    assert_eq!(lao_cai[9], Want::Num(Decimal::from(25)), "reviewed points");
    assert_eq!(lao_cai[10], Want::Num(Decimal::from(25)), "final points");
    // main indicator 1 holds the adjusted 1.2: its self points differ from the reviewed ones
    let main_1 = SCORE_COLUMNS_LEN + 7;
    assert_ne!(
        lao_cai[main_1],
        lao_cai[main_1 + 1],
        "main 1: self and reviewed points"
    );
    assert_eq!(
        lao_cai[main_1 + 1],
        lao_cai[main_1 + 2],
        "main 1: final = reviewed"
    );
    assert!(
        rows.iter().any(|r| r[13] == Want::Text("true".into())),
        "a tie"
    );
    assert!(
        rows.iter().any(|r| r[1] == Want::Text(format!("'{EVIL}"))),
        "the formula name neutralised"
    );
    check_both(
        &app,
        &viewer,
        &format!("/api/v1/periods/{period}/rankings/export"),
        "scores",
        "scores-DTI-2025-LC-XA",
        &headers,
        &rows,
    )
    .await;
    // the group named by code
    let named = app
        .get(
            &format!("/api/v1/periods/{period}/rankings/export?group=LC-XA"),
            &viewer,
        )
        .await;
    assert_eq!(named.status(), 200);
}

#[tokio::test]
async fn the_explained_score_export_holds_the_score_tree_for_the_unit_and_the_office() {
    let app = spawn_seeded_app().await;
    let (period, ids) = published_year(&app).await;
    let a = &ids["PHUONG-LAO-CAI"];
    let editor = app.token_for(Role::UnitEditor, Some("PHUONG-LAO-CAI"));
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{a}/score"), &editor)
            .await,
        200,
    )
    .await;
    // the methods, from the document the set was made from
    let mut methods: HashMap<String, String> = HashMap::new();
    let doc = dti_api::api::indicator_sets::example_document();
    let mut stack: Vec<&Value> = doc["nodes"].as_array().unwrap().iter().collect();
    while let Some(n) = stack.pop() {
        if let Some(m) = n["method"]["type"].as_str() {
            methods.insert(n["code"].as_str().unwrap().into(), m.into());
        }
        stack.extend(n["children"].as_array().into_iter().flatten());
    }
    let reasons: HashMap<&str, &Value> = tree["adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["node_code"].as_str().unwrap(), &a["reason"]))
        .collect();
    let line = |n: &Value, total: bool| -> Vec<Want> {
        let code = n["code"].as_str().unwrap();
        let trace = |t: &Value| {
            vec![
                json_cell(&t["inputs"]),
                text(&t["rule"]),
                num(&t["raw"]),
                num(&t["capped"]),
                num(&t["contribution"]),
            ]
        };
        let mut row = vec![
            text(&n["code"]),
            text(&n["name"]),
            if total {
                Want::Text("total".into())
            } else {
                text(&n["kind"])
            },
            text(&n["parent_code"]),
            num(&n["depth"]),
            methods
                .get(code)
                .filter(|_| !total)
                .map_or(Want::Empty, |m| Want::Text(m.clone())),
            text(&n["applicable"]),
            num(&n["max_points"]),
            num(&n["applicable_max"]),
            num(&n["self_points"]),
            num(&n["reviewed_points"]),
            num(&n["final_points"]),
            num(&n["points_lost"]),
            text(&n["adjusted"]),
            match n["flags"].as_array().unwrap().as_slice() {
                [] => Want::Empty,
                flags => Want::Text(
                    flags
                        .iter()
                        .map(|f| f.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            },
        ];
        row.extend(trace(&n["self_trace"]));
        row.extend(trace(&n["reviewed_trace"]));
        row.push(if total {
            Want::Empty
        } else {
            reasons.get(code).map_or(Want::Empty, |r| text(r))
        });
        row
    };
    let mut rows = vec![line(&tree["total"], true)];
    rows.extend(
        tree["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| line(n, false)),
    );
    // what the comparison rests on
    let adjusted = rows
        .iter()
        .find(|r| r[0] == Want::Text("1.2".into()))
        .unwrap();
    assert_eq!(adjusted[5], Want::Text("ratio".into()));
    assert_eq!(adjusted[9], Want::Num(Decimal::ZERO), "self: 0 of 4 → 0");
    assert_eq!(
        adjusted[10],
        Want::Num(Decimal::from(5)),
        "reviewed: the adjustment"
    );
    assert_eq!(
        adjusted[25],
        Want::Text("'-Chỉ 1 biên bản có chữ ký Chủ tịch".into()),
        "the reviewer's reason, neutralised"
    );
    assert!(matches!(adjusted[15], Want::Json(_)), "the inputs as JSON");
    let headers: Vec<String> = dti_api::services::exports::EXPLAINED_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let path = format!("/api/v1/assessments/{a}/score/export");
    let file = "score-DTI-2025-PHUONG-LAO-CAI";
    check_both(&app, &editor, &path, "score", file, &headers, &rows).await;
    let reviewer = app.token_for(Role::Reviewer, None);
    check_both(&app, &reviewer, &path, "score", file, &headers, &rows).await;

    // another unit's account: refused; an unknown assessment: not found
    let other = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    assert_problem(app.get(&path, &other).await, 403, "NOT_YOUR_UNIT").await;
    assert_problem(
        app.get(
            "/api/v1/assessments/00000000-0000-0000-0000-000000000000/score/export",
            &reviewer,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let _ = period;
}

#[tokio::test]
async fn the_audit_export_holds_every_event_of_the_period_for_admins_and_viewers() {
    let app = spawn_seeded_app().await;
    let (period, _) = published_year(&app).await;
    let admin = app.token_for(Role::Admin, None);
    let listed = json_ok(
        app.get(
            &format!("/api/v1/audit-events?period_id={period}&page_size=500"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let mut events: Vec<Value> = listed["items"].as_array().unwrap().clone();
    assert_eq!(listed["total"], events.len());
    events.reverse(); // oldest first
    assert!(events.len() > 30, "the year's events: {}", events.len());
    let rows: Vec<Vec<Want>> = events
        .iter()
        .map(|e| {
            vec![
                num(&e["id"]),
                text(&e["occurred_at"]),
                text(&e["actor_id"]),
                text(&e["actor_role"]),
                text(&e["action"]),
                text(&e["entity_type"]),
                text(&e["entity_id"]),
                text(&e["unit_id"]),
                text(&e["period_id"]),
                json_cell(&e["old_value"]),
                json_cell(&e["new_value"]),
                text(&e["request_id"]),
            ]
        })
        .collect();
    // the export writes times with microseconds; compare them as instants
    let headers: Vec<String> = dti_api::services::exports::AUDIT_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let path = format!("/api/v1/periods/{period}/audit-events/export");
    let resp = app.get(&format!("{path}?format=csv"), &admin).await;
    let got = csv_rows(&resp.bytes().await.unwrap(), false);
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    for (g, e) in got[1..].iter().zip(&events) {
        assert_eq!(at(&g[1]), at(e["occurred_at"].as_str().unwrap()));
    }
    let rows: Vec<Vec<Want>> = rows
        .into_iter()
        .zip(&got[1..])
        .map(|(mut r, g)| {
            r[1] = Want::Text(g[1].clone());
            r
        })
        .collect();
    check_both(
        &app,
        &admin,
        &path,
        "audit",
        "audit-DTI-2025",
        &headers,
        &rows,
    )
    .await;
    let viewer = app.token_for(Role::Viewer, None);
    assert_eq!(app.get(&path, &viewer).await.status(), 200);
}

#[tokio::test]
async fn exports_are_refused_before_any_work_to_those_the_json_reads_refuse() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let unknown = "00000000-0000-0000-0000-000000000000";
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let reviewer = app.token_for(Role::Reviewer, None);
    let integration = json_ok(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&admin),
            &json!({"name": "Cổng DVC", "scopes": ["automatic:write"], "period_id": period}),
        )
        .await,
        201,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    for period in [period.as_str(), unknown] {
        // the role is refused before the period is looked up
        let scores = format!("/api/v1/periods/{period}/rankings/export?format=xlsx");
        assert_problem(app.get(&scores, &leader).await, 403, "FORBIDDEN_ROLE").await;
        assert_problem(
            app.get(&scores, &integration).await,
            403,
            "INTEGRATION_TOKEN_NOT_ALLOWED",
        )
        .await;
        let audit = format!("/api/v1/periods/{period}/audit-events/export");
        assert_problem(app.get(&audit, &leader).await, 403, "FORBIDDEN_ROLE").await;
        assert_problem(app.get(&audit, &reviewer).await, 403, "FORBIDDEN_ROLE").await;
        let anonymous = app
            .request(reqwest::Method::GET, &scores, None)
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
    }
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{unknown}/rankings/export"),
            &reviewer,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{unknown}/audit-events/export"),
            &admin,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let p = assert_problem(
        app.get(
            &format!("/api/v1/periods/{period}/rankings/export?group=LC-NOPE"),
            &reviewer,
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "UNKNOWN_GROUP");
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{period}/rankings/export?format=pdf"),
            &reviewer,
        )
        .await,
        400,
        "INVALID_QUERY",
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/periods/{period}/rankings/export?bom=maybe"),
            &reviewer,
        )
        .await,
        400,
        "INVALID_QUERY",
    )
    .await;
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .to_str()
        .unwrap()
}

/// The SHA-256 headers of a download equal the hash of its body; returns the hex digest.
fn assert_digests(headers: &reqwest::header::HeaderMap, body: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    let sum = sha2::Sha256::digest(body);
    let hex = hex::encode(sum);
    assert_eq!(header(headers, "x-content-sha256"), hex);
    assert_eq!(
        header(headers, "repr-digest"),
        format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(sum)
        )
    );
    assert_eq!(header(headers, "etag"), format!("\"{hex}\""));
    hex
}

#[tokio::test]
async fn a_published_snapshot_downloads_as_json_and_csv_with_the_sha256_of_the_body() {
    let app = spawn_seeded_app().await;
    let (period, _) = published_year(&app).await;
    let path = format!("/api/v1/public/periods/{period}/rankings/download");
    // nothing before publication
    assert_problem(app.get_public(&path).await, 404, "NOT_FOUND").await;
    let published = publish(&app, &period).await;
    let checksum = published["checksum"].as_str().unwrap();

    // JSON: the canonical content, whose SHA-256 is the published checksum
    let resp = app.get_public(&path).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"rankings-DTI-2025-LC-XA-v1.json\""
    );
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    assert_eq!(header(resp.headers(), "x-publication-checksum"), checksum);
    let (headers, body) = (resp.headers().clone(), resp.bytes().await.unwrap());
    let hex = assert_digests(&headers, &body);
    assert_eq!(
        hex, checksum,
        "the download is the bytes the checksum covers"
    );
    let content: Value = serde_json::from_slice(&body).unwrap();
    let public = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/rankings"))
            .await,
        200,
    )
    .await;
    assert_eq!(content, public["content"]);
    // revalidation, also compressed
    let again = app
        .request(reqwest::Method::GET, &path, None)
        .header("if-none-match", format!("\"{hex}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let gz = app
        .request(reqwest::Method::GET, &path, None)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(gz.headers(), "x-content-sha256"),
        hex,
        "the digest of the representation"
    );

    // CSV, with and without a byte-order mark: the published values
    for bom in [false, true] {
        let resp = app
            .get_public(&format!(
                "{path}?format=csv&bom={bom}&group=LC-XA&version=1"
            ))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            resp.headers()["content-disposition"],
            "attachment; filename=\"rankings-DTI-2025-LC-XA-v1.csv\""
        );
        let (headers, body) = (resp.headers().clone(), resp.bytes().await.unwrap());
        assert_digests(&headers, &body);
        let rows = csv_rows(&body, bom);
        let mut want_headers: Vec<String> = dti_api::services::exports::SNAPSHOT_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (scope, code) in [("pillar", "CQS"), ("main", "1"), ("main", "2")] {
            for c in ["points", "max", "index", "rank", "tied"] {
                want_headers.push(format!("{scope} {code} {c}"));
            }
        }
        assert_eq!(rows[0], want_headers);
        let entries = content["rankings"].as_array().unwrap();
        assert_eq!(rows.len(), entries.len() + 1);
        for (g, e) in rows[1..].iter().zip(entries) {
            let mut w = vec![
                num(&e["rank"]),
                text(&e["tied"]),
                text(&e["unit"]["code"]),
                text(&e["unit"]["name"]),
                text(&e["unit"]["kind"]),
                text(&e["ranked"]),
                text(&e["exclusion_reason"]),
                text(&e["state"]),
                text(&e["finalised_as"]),
                text(&e["not_submitted"]),
                num(&e["points"]),
                num(&e["applicable_max"]),
                num(&e["index"]),
                text(&e["band"]["code"]),
                text(&e["band"]["label"]),
            ];
            for s in e["pillars"]
                .as_array()
                .unwrap()
                .iter()
                .chain(e["main_indicators"].as_array().unwrap())
            {
                w.extend([
                    num(&s["points"]),
                    num(&s["applicable_max"]),
                    num(&s["index"]),
                    num(&s["rank"]),
                    text(&s["tied"]),
                ]);
            }
            assert_eq!(g.len(), w.len());
            for (c, (g, w)) in g.iter().zip(&w).enumerate() {
                assert!(
                    csv_matches(g, w),
                    "column {}: {g:?} is not {w:?}",
                    rows[0][c]
                );
            }
        }
        assert!(
            rows.iter().any(|r| r[3] == format!("'{EVIL}")),
            "the formula name neutralised"
        );
    }
    // refusals: an unknown version or format
    assert_problem(
        app.get_public(&format!("{path}?version=2")).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_problem(
        app.get_public(&format!("{path}?format=xlsx")).await,
        400,
        "INVALID_QUERY",
    )
    .await;
}

/// Runs LibreOffice on the given workbooks, converting each to CSV in one call; `None` (with
/// the reason printed) when it is not installed and not required.
fn libreoffice_csv(files: &[(String, Vec<u8>)]) -> Option<HashMap<String, Vec<u8>>> {
    let required = std::env::var("REQUIRE_LIBREOFFICE").is_ok_and(|v| v == "1");
    let soffice = ["soffice", "libreoffice"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(soffice) = soffice else {
        assert!(
            !required,
            "REQUIRE_LIBREOFFICE=1 but neither soffice nor libreoffice runs"
        );
        eprintln!(
            "skipped: LibreOffice is not installed (set REQUIRE_LIBREOFFICE=1 to require it)"
        );
        return None;
    };
    let dir = std::env::temp_dir().join(format!("dti-lo-{}", uuid::Uuid::new_v4()));
    let (input, output, profile) = (dir.join("in"), dir.join("out"), dir.join("profile"));
    std::fs::create_dir_all(&input).unwrap();
    let mut args = vec![
        format!("-env:UserInstallation=file://{}", profile.display()),
        "--headless".into(),
        "--convert-to".into(),
        // comma-separated, double quotes, UTF-8 (76)
        "csv:Text - txt - csv (StarCalc):44,34,76".into(),
        "--outdir".into(),
        output.display().to_string(),
    ];
    for (name, bytes) in files {
        let path = input.join(format!("{name}.xlsx"));
        std::fs::write(&path, bytes).unwrap();
        args.push(path.display().to_string());
    }
    let out = std::process::Command::new(soffice)
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "LibreOffice failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let converted = files
        .iter()
        .map(|(name, _)| {
            let path = output.join(format!("{name}.csv"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "LibreOffice did not convert {name}: {e}; {}",
                    String::from_utf8_lossy(&out.stdout)
                )
            });
            (name.clone(), bytes)
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    Some(converted)
}

#[tokio::test]
async fn libreoffice_opens_every_workbook_the_service_writes_with_the_csv_exports_values() {
    let app = spawn_seeded_app().await;
    let (period, ids) = published_year(&app).await;
    let admin = app.token_for(Role::Admin, None);
    let a = &ids["XA-TRAN-YEN"];
    let exports = [
        (
            "progress",
            format!("/api/v1/periods/{period}/progress/export"),
        ),
        (
            "scores",
            format!("/api/v1/periods/{period}/rankings/export"),
        ),
        ("score", format!("/api/v1/assessments/{a}/score/export")),
        (
            "audit",
            format!("/api/v1/periods/{period}/audit-events/export"),
        ),
    ];
    let mut books = Vec::new();
    let mut csvs = HashMap::new();
    for (name, path) in &exports {
        let xlsx = app.get(&format!("{path}?format=xlsx"), &admin).await;
        assert_eq!(xlsx.status(), 200, "{path}");
        books.push((name.to_string(), xlsx.bytes().await.unwrap().to_vec()));
        let csv = app.get(&format!("{path}?format=csv"), &admin).await;
        csvs.insert(
            name.to_string(),
            csv_rows(&csv.bytes().await.unwrap(), false),
        );
    }
    let Some(converted) = libreoffice_csv(&books) else {
        return;
    };
    for (name, _) in &exports {
        let ours = &csvs[*name];
        let theirs = csv_rows(&converted[*name], false);
        assert_eq!(theirs.len(), ours.len(), "{name}: rows");
        for (r, (t, o)) in theirs.iter().zip(ours).enumerate() {
            assert_eq!(t.len(), o.len(), "{name}: row {r} width");
            for (c, (t, o)) in t.iter().zip(o).enumerate() {
                // numbers as LibreOffice shows them: compare their values
                let same = t == o
                    || matches!((Decimal::from_str(t), Decimal::from_str(o)), (Ok(x), Ok(y)) if x == y);
                assert!(
                    same,
                    "{name}: row {r} column {}: {t:?} vs {o:?}",
                    ours[0][c]
                );
            }
        }
    }
    assert!(
        csvs["scores"].iter().any(|r| r[1] == format!("'{EVIL}")),
        "the formula-like name is in what LibreOffice opened"
    );
}
