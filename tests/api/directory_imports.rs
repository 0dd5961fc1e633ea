//! Imports of the directory: units (with ranking-group membership) and accounts from CSV,
//! XLSX or JSON rows, matched by code / username; one-time passwords that must be changed.

use diesel::RunQueryDsl;
use dti_api::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::open_period;
use crate::helpers::*;

const UNITS: &str = "/api/v1/imports/units";
const ACCOUNTS: &str = "/api/v1/imports/accounts";

async fn post_file(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Vec<u8>,
    key: Option<&str>,
) -> reqwest::Response {
    let mut rb = app
        .request(Method::POST, path, Some(token))
        .header("content-type", "text/csv");
    if let Some(k) = key {
        rb = rb.header("idempotency-key", k);
    }
    rb.body(body).send().await.unwrap()
}

fn csv(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

async fn unit(app: &TestApp, token: &str, code: &str) -> Value {
    json_ok(app.get(&format!("/api/v1/units/{code}"), token).await, 200).await
}

fn group_codes(u: &Value) -> Vec<&str> {
    u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect()
}

fn conflicts(p: &Value) -> Vec<(u64, String, String)> {
    p["conflicts"]
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
        .collect()
}

/// How many rows of `table` hold `text` anywhere (any column, as text).
fn rows_holding(app: &TestApp, table: &str, text: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.with_conn(|c| {
        diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {table} t WHERE t::text LIKE '%' || $1 || '%'"
        ))
        .bind::<diesel::sql_types::Text, _>(text)
        .get_result::<N>(c)
        .unwrap()
        .n
    })
}

#[tokio::test]
async fn units_from_csv_then_xlsx_are_created_then_updated_by_code() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // the child comes before its parent in the file: it is written after it
    let r = json_ok(
        post_file(
            &app,
            &admin,
            UNITS,
            csv(&[
                "code,name,kind,parent_code,tags,active,groups",
                "XA-MOI-2,Xã Mới Hai,commune,XA-MOI-1,xa,,",
                "XA-MOI-1,Xã Mới Một,commune,LC,xa;bien_gioi,true,LC-XA",
            ]),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["format"], "csv");
    assert_eq!(
        (r["created"].as_u64(), r["committed"].as_bool()),
        (Some(2), Some(true)),
        "{r}"
    );
    assert_eq!(r["rows"][0]["row"], 2);
    let one = unit(&app, &admin, "XA-MOI-1").await;
    assert_eq!(one["parent_code"], "LC");
    assert_eq!(one["tags"], json!(["xa", "bien_gioi"]));
    assert_eq!(group_codes(&one), ["LC-XA"]);
    let two = unit(&app, &admin, "xa-moi-2").await;
    assert_eq!(two["parent_code"], "XA-MOI-1");
    assert!(group_codes(&two).is_empty());
    assert_eq!(two["active"], true);

    // XLSX: matched by code ignoring case; a row that states what is stored is unchanged
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Code", "name", "tags", "groups", "active"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "xa-moi-1").unwrap();
    ws.write_string(1, 1, "Xã Mới Một (đổi tên)").unwrap();
    ws.write_string(1, 2, "xa").unwrap();
    ws.write_string(1, 3, "LC-XA").unwrap();
    ws.write_boolean(1, 4, false).unwrap();
    ws.write_string(2, 0, "XA-MOI-2").unwrap();
    ws.write_string(2, 1, "Xã Mới Hai").unwrap();
    ws.write_string(2, 2, "xa").unwrap();
    let r = json_ok(
        post_file(&app, &admin, UNITS, book.save_to_buffer().unwrap(), None).await,
        200,
    )
    .await;
    assert_eq!(r["format"], "xlsx");
    assert_eq!(
        (
            r["created"].as_u64(),
            r["updated"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(0), Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["rows"][0]["old"]["name"], "Xã Mới Một");
    assert_eq!(r["rows"][0]["new"]["name"], "Xã Mới Một (đổi tên)");
    let one = unit(&app, &admin, "XA-MOI-1").await;
    assert_eq!(one["name"], "Xã Mới Một (đổi tên)");
    assert_eq!(one["tags"], json!(["xa"]));
    assert_eq!(one["active"], false);
    // absent column: the parent is kept
    assert_eq!(one["parent_code"], "LC");
    assert_eq!(one["version"], 2);

    // the template has the layout's header
    let t = app.get("/api/v1/templates/units.xlsx", &admin).await;
    assert_eq!(t.status(), 200);
    let bytes = t.bytes().await.unwrap();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        header,
        [
            "code",
            "name",
            "kind",
            "parent_code",
            "tags",
            "active",
            "valid_from",
            "valid_to",
            "groups"
        ]
    );
}

#[tokio::test]
async fn bad_rows_are_all_reported_at_once_and_nothing_is_stored() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let file = csv(&[
        "code,name,kind,parent_code,groups",
        "XA-OK,Xã Được,commune,LC,LC-XA",
        "XA-MO-COI,Xã Mồ Côi,commune,NO-SUCH-PARENT,",
        "XA-LOAI,Xã Loại Sai,village,LC,",
        "XA-OK,Xã Được Lần Hai,commune,LC,",
        "XA-NHOM,Xã Nhóm Sai,commune,LC,LC-SO",
        "XA-KHONG-TEN,,commune,LC,",
    ]);
    let p = assert_problem(
        app.request(Method::POST, UNITS, Some(&admin))
            .header("accept-language", "vi")
            .body(file)
            .send()
            .await
            .unwrap(),
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_eq!(
        conflicts(&p),
        [
            (3, "parent_code".into(), "UNKNOWN_UNIT".into()),
            (4, "kind".into(), "INVALID_KIND".into()),
            (5, "code".into(), "DUPLICATE".into()),
            (6, "groups".into(), "KIND_MISMATCH".into()),
            (7, "name".into(), "REQUIRED".into()),
        ],
        "{p}"
    );
    assert_eq!(p["rows_refused"], 5);
    // Vietnamese messages, the English kept
    let c = &p["conflicts"][0];
    assert!(!c["message"].as_str().unwrap().is_ascii(), "{c}");
    assert!(c["message_en"].is_string());
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "/rows/4/kind")
    );
    // nothing stored, not even the valid row
    let r = app.get("/api/v1/units/XA-OK", &admin).await;
    assert_eq!(r.status(), 404);

    // a header that is not the layout's lists the expected columns
    let p = assert_problem(
        post_file(
            &app,
            &admin,
            UNITS,
            csv(&["ma,ten,loai", "X,Y,commune"]),
            None,
        )
        .await,
        422,
        "HEADER_MISMATCH",
    )
    .await;
    assert_eq!(
        p["expected_columns"],
        json!([
            "code",
            "name",
            "kind",
            "parent_code",
            "tags",
            "active",
            "valid_from",
            "valid_to",
            "groups"
        ])
    );
    let codes: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"UNKNOWN_COLUMN") && codes.contains(&"MISSING_COLUMN"),
        "{p}"
    );
    // a PDF is not a table
    assert_problem(
        post_file(&app, &admin, UNITS, b"%PDF-1.7 ...".to_vec(), None).await,
        415,
        "UNSUPPORTED_FILE_TYPE",
    )
    .await;
}

#[tokio::test]
async fn a_dry_run_stores_nothing_and_partial_mode_stores_the_valid_rows() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let file = || {
        csv(&[
            "code,name,kind,parent_code",
            "XA-DRY,Xã Thử,commune,LC",
            "XA-BAC-HA,Xã Bắc Hà (mới),commune,",
            "XA-BAD,Xã Sai,village,LC",
        ])
    };
    let r = json_ok(
        post_file(&app, &admin, &format!("{UNITS}?dry_run=true"), file(), None).await,
        200,
    )
    .await;
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["committed"], false);
    assert_eq!(
        (r["created"].as_u64(), r["updated"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(conflicts(&r), [(4, "kind".into(), "INVALID_KIND".into())]);
    assert_eq!(r["rows"][1]["old"]["parent_code"], "LC");
    assert_eq!(r["rows"][1]["new"]["parent_code"], Value::Null);
    assert_eq!(app.get("/api/v1/units/XA-DRY", &admin).await.status(), 404);
    assert_eq!(unit(&app, &admin, "XA-BAC-HA").await["name"], "Xã Bắc Hà");

    let r = json_ok(
        post_file(&app, &admin, &format!("{UNITS}?mode=partial"), file(), None).await,
        200,
    )
    .await;
    assert_eq!(r["committed"], true);
    assert_eq!(r["rows_refused"], 1);
    assert_eq!(conflicts(&r), [(4, "kind".into(), "INVALID_KIND".into())]);
    assert_eq!(unit(&app, &admin, "XA-DRY").await["parent_code"], "LC");
    let bac_ha = unit(&app, &admin, "XA-BAC-HA").await;
    assert_eq!(bac_ha["name"], "Xã Bắc Hà (mới)");
    assert_eq!(bac_ha["parent_code"], Value::Null);
    assert_eq!(app.get("/api/v1/units/XA-BAD", &admin).await.status(), 404);
}

#[tokio::test]
async fn only_administrators_import_and_others_are_refused_before_the_body_is_read() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let created = json_ok(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&admin),
            &json!({"name": "Cổng DVC", "scopes": ["automatic:write"]}),
        )
        .await,
        201,
    )
    .await;
    let integration = created["token"].as_str().unwrap().to_string();
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let viewer = app.token_for(Role::Viewer, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    // a body no import could read: the refusal comes first, not 415
    for path in [UNITS, ACCOUNTS] {
        for (token, code) in [
            (&editor, "FORBIDDEN_ROLE"),
            (&viewer, "FORBIDDEN_ROLE"),
            (&reviewer, "FORBIDDEN_ROLE"),
            (&integration, "INTEGRATION_TOKEN_NOT_ALLOWED"),
        ] {
            assert_problem(
                post_file(&app, token, path, b"%PDF-1.7 not a table".to_vec(), None).await,
                403,
                code,
            )
            .await;
        }
    }
    assert_problem(
        app.get("/api/v1/templates/accounts.xlsx", &editor).await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
}

#[tokio::test]
async fn an_imported_account_logs_in_with_its_one_time_password_and_must_change_it() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let file = csv(&[
        "username,display_name,role,unit_code",
        "editor.xa-bac-ha-2,Nguyễn Văn An,unit_editor,XA-BAC-HA",
        "viewer.so-tc,Trần Thị Bình,viewer,",
        "editor.khong-don-vi,Lê Văn Cường,unit_editor,",
    ]);
    // a dry run says who would be created and hands out no password
    let dry = json_ok(
        post_file(
            &app,
            &admin,
            &format!("{ACCOUNTS}?dry_run=true&mode=partial"),
            file.clone(),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(dry["created"], 2, "{dry}");
    assert_eq!(dry["passwords_included"], false);
    assert!(
        dry["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["change"] == "created" && r["one_time_password"].is_null())
    );
    assert_eq!(
        conflicts(&dry),
        [(4, "unit_code".into(), "REQUIRED".into())]
    );
    assert_eq!(
        app.login("viewer.so-tc", "anything-at-all-1")
            .await
            .status(),
        401
    );

    let r = json_ok(
        post_file(
            &app,
            &admin,
            &format!("{ACCOUNTS}?mode=partial"),
            file,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["passwords_included"], true, "{r}");
    assert_eq!(r["created"], 2);
    let row = &r["rows"][0];
    assert_eq!(row["username"], "editor.xa-bac-ha-2");
    assert_eq!(row["new"]["unit_code"], "XA-BAC-HA");
    assert_eq!(row["new"]["role"], "unit_editor");
    let password = row["one_time_password"].as_str().unwrap().to_string();
    assert!(password.chars().count() >= 16, "{password}");
    assert_ne!(
        password,
        r["rows"][1]["one_time_password"].as_str().unwrap()
    );
    // stored nowhere in clear
    for table in ["users", "idempotency_keys", "audit_events"] {
        assert_eq!(rows_holding(&app, table, &password), 0, "{table}");
    }

    // it logs in, and may only see who it is and change its password
    let login = json_ok(app.login("editor.xa-bac-ha-2", &password).await, 200).await;
    assert_eq!(login["user"]["must_change_password"], true);
    let token = login["access_token"].as_str().unwrap().to_string();
    let p = assert_problem(
        app.request(Method::GET, "/api/v1/units", Some(&token))
            .header("accept-language", "vi")
            .send()
            .await
            .unwrap(),
        403,
        "PASSWORD_CHANGE_REQUIRED",
    )
    .await;
    assert!(!p["detail"].as_str().unwrap().is_ascii(), "{p}");
    let me = json_ok(app.get("/api/v1/me", &token).await, 200).await;
    assert_eq!(me["must_change_password"], true);
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let p = assert_problem(
        app.post_json(
            "/api/v1/me/password",
            Some(&token),
            &change("wrong-password-1", "my-own-secret-2026"),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "WRONG_PASSWORD");
    for (new, code) in [
        (password.as_str(), "SAME_PASSWORD"),
        ("editor.xa-bac-ha-2", "PASSWORD_IS_USERNAME"),
        ("short", "WEAK_PASSWORD"),
    ] {
        let p = assert_problem(
            app.post_json("/api/v1/me/password", Some(&token), &change(&password, new))
                .await,
            422,
            "VALIDATION_FAILED",
        )
        .await;
        assert_eq!(p["errors"][0]["code"], code, "{p}");
        assert_eq!(p["errors"][0]["field"], "/new_password", "{p}");
    }
    let changed = json_ok(
        app.post_json(
            "/api/v1/me/password",
            Some(&token),
            &change(&password, "my-own-secret-2026"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["user"]["must_change_password"], false);
    // the old token ended with the old password; the fresh one works everywhere
    assert_problem(app.get("/api/v1/units", &token).await, 401, "TOKEN_REVOKED").await;
    let fresh = changed["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/units", fresh).await.status(), 200);
    assert_eq!(
        app.login("editor.xa-bac-ha-2", &password).await.status(),
        401
    );
    assert_eq!(
        app.login("editor.xa-bac-ha-2", "my-own-secret-2026")
            .await
            .status(),
        200
    );
    assert_eq!(
        rows_holding(&app, "audit_events", "user.password_change"),
        1
    );

    // an administrator's reset: the account must change that password too
    let id = changed["user"]["id"].as_str().unwrap();
    json_ok(
        app.patch_json(
            &format!("/api/v1/users/{id}"),
            &admin,
            &json!({"password": "reset-by-admin-2026"}),
        )
        .await,
        200,
    )
    .await;
    let login = json_ok(
        app.login("editor.xa-bac-ha-2", "reset-by-admin-2026").await,
        200,
    )
    .await;
    assert_eq!(login["user"]["must_change_password"], true);

    // a second import updates by username; no password is handed out for updates
    let r = json_ok(
        post_file(
            &app,
            &admin,
            ACCOUNTS,
            csv(&[
                "username,display_name,active",
                "viewer.so-tc,Trần Thị Bình (Sở Tài chính),false",
            ]),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["updated"], 1, "{r}");
    assert_eq!(r["passwords_included"], false);
    assert_eq!(r["rows"][0]["new"]["active"], false);
    assert_eq!(
        r["rows"][0]["new"]["display_name"],
        "Trần Thị Bình (Sở Tài chính)"
    );
}

#[tokio::test]
async fn a_replay_with_the_same_key_does_not_show_the_passwords_again() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let file = || {
        csv(&[
            "username,display_name,role,unit_code",
            "leader.xa-na-hoi,Phạm Thị Dung,unit_leader,XA-NA-HOI",
        ])
    };
    let first = post_file(&app, &admin, ACCOUNTS, file(), Some("accounts-2026-01")).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["passwords_included"], true);
    let password = first["rows"][0]["one_time_password"]
        .as_str()
        .unwrap()
        .to_string();

    let again = post_file(&app, &admin, ACCOUNTS, file(), Some("accounts-2026-01")).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["passwords_included"], false);
    assert_eq!(again["rows"][0]["one_time_password"], Value::Null);
    assert_eq!(again["created"], 1);
    assert_eq!(rows_holding(&app, "idempotency_keys", &password), 0);
    // created once; the password of the first answer works
    assert_eq!(rows_holding(&app, "users", "leader.xa-na-hoi"), 1);
    assert_eq!(app.login("leader.xa-na-hoi", &password).await.status(), 200);
    // a JSON rows body is read like a file
    let r = json_ok(
        post_file(
            &app,
            &admin,
            ACCOUNTS,
            serde_json::to_vec(&json!({"rows": [{"username": "leader.xa-na-hoi", "display_name": "Phạm Thị Dung", "role": "unit_leader", "unit_code": "XA-NA-HOI"}]})).unwrap(),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (r["format"].as_str(), r["unchanged"].as_u64()),
        (Some("json"), Some(1)),
        "{r}"
    );
}

#[tokio::test]
async fn group_membership_by_import_changes_the_rankings_as_the_single_route_does() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // by import: one unit into LC-XA, one out of it
    json_ok(
        post_file(
            &app,
            &admin,
            UNITS,
            csv(&[
                "code,name,kind,parent_code,groups",
                "XA-MOI-A,Xã Mới A,commune,LC,LC-XA",
                "XA-TRAN-YEN,Xã Trấn Yên,commune,LC,",
            ]),
            None,
        )
        .await,
        200,
    )
    .await;
    // by the single routes: the same, for two others
    json_ok(
        app.post_json(
            "/api/v1/units",
            Some(&admin),
            &json!({"code": "XA-MOI-B", "name": "Xã Mới B", "kind": "commune", "parent": "LC", "groups": ["LC-XA"]}),
        )
        .await,
        201,
    )
    .await;
    json_ok(
        app.patch_json("/api/v1/units/XA-BAT-XAT", &admin, &json!({"groups": []}))
            .await,
        200,
    )
    .await;
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let r = json_ok(
        app.get(&format!("/api/v1/periods/{period}/rankings"), &admin)
            .await,
        200,
    )
    .await;
    let mut codes: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["unit"]["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(r["total"], 10, "{r}");
    assert!(
        codes.contains(&"XA-MOI-A") && codes.contains(&"XA-MOI-B"),
        "{codes:?}"
    );
    assert!(
        !codes.contains(&"XA-TRAN-YEN") && !codes.contains(&"XA-BAT-XAT"),
        "{codes:?}"
    );
    // tags by import rescore the open assessment, as PATCH /units does (the harness checks
    // that a full recompute changes nothing)
    let r = json_ok(
        post_file(
            &app,
            &admin,
            UNITS,
            csv(&["code,tags", "XA-MOI-A,xa;bien_gioi"]),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["updated"], 1, "{r}");
}

#[tokio::test]
async fn an_ods_sheet_with_merged_cells_is_refused_whole_in_english_and_vietnamese() {
    use crate::imports::{ods_book, ods_covered, ods_empty_rows, ods_merged, ods_text};
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // two units after two empty rows; with `merged`, the kind is merged over C4:D5
    let book = |merged: bool| {
        let (kind, below) = if merged {
            (ods_merged("commune", 2, 2), ods_covered(2))
        } else {
            (
                [ods_text("commune"), ods_text("LC")].concat(),
                [ods_text("commune"), ods_text("LC")].concat(),
            )
        };
        ods_book(&[
            ["code", "name", "kind", "parent_code"]
                .map(ods_text)
                .concat(),
            ods_empty_rows(2, 4),
            [ods_text("XA-ODS-1"), ods_text("Xã Một"), kind].concat(),
            [ods_text("XA-ODS-2"), ods_text("Xã Hai"), below].concat(),
        ])
    };
    let send = |body: Vec<u8>, lang: &'static str| {
        app.request(Method::POST, UNITS, Some(&admin))
            .header("accept-language", lang)
            .body(body)
            .send()
    };
    let p = assert_problem(send(book(true), "en").await.unwrap(), 422, "MERGED_CELLS").await;
    assert_eq!(p["merged_cells"], json!(["C4:D5"]), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("C4:D5"), "{p}");
    let p = assert_problem(send(book(true), "vi").await.unwrap(), 422, "MERGED_CELLS").await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("gộp") && detail.contains("C4:D5"), "{p}");
    // the sheet, not its header row ("Dòng tiêu đề"), as in English
    assert!(detail.starts_with("Trang tính"), "{p}");
    assert_eq!(rows_holding(&app, "units", "XA-ODS-1"), 0);
    // the same sheet unmerged is read as any other
    let r = json_ok(send(book(false), "en").await.unwrap(), 200).await;
    assert_eq!(
        (r["format"].clone(), r["created"].clone()),
        (json!("ods"), json!(2)),
        "{r}"
    );
    assert_eq!(r["rows"][0]["row"], 4, "{r}");
}
