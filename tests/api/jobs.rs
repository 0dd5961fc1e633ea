//! Imports run as jobs: 202 with the job's URL, the same result as the synchronous call,
//! progress visible while the import's transaction is open, cancels (queued: at once; running:
//! rolled back), jobs left running by a dead process ending as failed, any replica answering,
//! the requester's and administrators' eyes only; merged cells refused by name.

use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use dti_api::config::Config;
use dti_api::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{assert_merged_a2_a3, assessment_of, import, open_period, seeded_app_with};
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

const ROWS: [&str; 3] = [
    "XA-BAT-XAT,1.1,,,3,,,,Biên bản,",
    "XA-BAT-XAT,2.2,,,,deputy,,,,",
    "XA-MUONG-KHUONG,1.2,3,4,,,,,,",
];

/// The configuration of another process on the app's database (demo mode: the seeded
/// accounts still have the demo password, which production refuses at start).
fn replica_config(app: &TestApp) -> Config {
    let mut config = app.config.clone();
    config.mode = dti_api::config::Mode::Demo;
    config
}

/// Posts an import that must be queued as a job: 202, `Location`, the job; returns the job.
async fn queued(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let job: Value = resp.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/jobs/{}", job["id"].as_str().unwrap())
    );
    assert_eq!(job["kind"], "answers_import");
    job
}

async fn job(app: &TestApp, token: &str, id: &str) -> Value {
    json_ok(app.get(&format!("/api/v1/jobs/{id}"), token).await, 200).await
}

/// Polls the job until `done` holds (at most 30 s).
async fn wait_for(app: &TestApp, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let j = job(app, token, id).await;
        if done(&j) {
            return j;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "job stuck: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ended(app: &TestApp, token: &str, id: &str) -> Value {
    wait_for(app, token, id, |j| {
        ["succeeded", "failed", "cancelled"].contains(&j["state"].as_str().unwrap())
    })
    .await
}

async fn stored_answers(app: &TestApp, token: &str, period: &str, unit: &str) -> Value {
    let a = assessment_of(app, token, period, unit).await;
    let body = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), token).await,
        200,
    )
    .await;
    body["answers"].clone()
}

#[tokio::test]
async fn a_forced_or_large_import_is_a_job_with_the_synchronous_result() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    // the synchronous dry run, then the same as a job: the same body
    let sync = json_ok(
        import(&app, &admin, &period, "?dry_run=true", csv(&ROWS)).await,
        200,
    )
    .await;
    let j = queued(
        import(
            &app,
            &admin,
            &period,
            "?dry_run=true&async=true",
            csv(&ROWS),
        )
        .await,
    )
    .await;
    assert_eq!(j["state"], "queued");
    assert_eq!(j["options"]["dry_run"], true);
    assert_eq!(j["input_format"], "csv");
    let id = j["id"].as_str().unwrap();
    let done = ended(&app, &admin, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        done["result"], sync,
        "the job's result is the synchronous body"
    );
    assert_eq!(
        (done["rows_done"].clone(), done["rows_total"].clone()),
        (json!(3), json!(3))
    );
    assert!(done["started_at"].is_string() && done["finished_at"].is_string());
    assert_eq!(
        stored_answers(&app, &admin, &period, "XA-BAT-XAT").await,
        json!([])
    );
    // stored for real, through a job, with an Idempotency-Key: a retry gets the same job
    let send = || {
        app.request(
            Method::POST,
            &format!("/api/v1/periods/{period}/imports/answers?async=true"),
            Some(&admin),
        )
        .header("idempotency-key", "job-1")
        .body(csv(&ROWS))
        .send()
    };
    let first = queued(send().await.unwrap()).await;
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again = queued(again).await;
    assert_eq!(again["id"], first["id"]);
    let id = first["id"].as_str().unwrap();
    let done = ended(&app, &admin, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let r = &done["result"];
    assert_eq!(r["committed"], true);
    assert_eq!(r["created"], 3);
    assert_eq!(r["units"], sync["units"], "what the dry run foresaw");
    assert_eq!(
        stored_answers(&app, &admin, &period, "XA-BAT-XAT")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // a conflict refuses it all: the job fails with the synchronous problem, nothing stored
    let sync_refusal = assert_problem(
        import(
            &app,
            &admin,
            &period,
            "",
            csv(&["XA-SA-PA,1.2,5,4,,,,,,", "XA-NOPE,1.1,,,3,,,,,"]),
        )
        .await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    let j = queued(
        import(
            &app,
            &admin,
            &period,
            "?async=true",
            csv(&["XA-SA-PA,1.2,5,4,,,,,,", "XA-NOPE,1.1,,,3,,,,,"]),
        )
        .await,
    )
    .await;
    let done = ended(&app, &admin, j["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "failed");
    assert_eq!(done["problem"]["code"], "IMPORT_REFUSED");
    assert_eq!(done["problem"]["conflicts"], sync_refusal["conflicts"]);
    assert_eq!(done["result"], Value::Null);
    // a replica whose threshold is 100 bytes queues the same file without being asked, and
    // either process answers for the job
    let mut config = replica_config(&app);
    config.jobs.import_async_bytes = 100;
    config.jobs.worker = false;
    let replica = spawn_replica(config).await;
    let j = queued(import(&replica, &admin, &period, "?dry_run=true", csv(&ROWS)).await).await;
    let id = j["id"].as_str().unwrap();
    let done = ended(&app, &admin, id).await;
    assert_eq!(done["state"], "succeeded");
    assert_eq!(job(&replica, &admin, id).await, done);
    // the list, by state
    // the list, by state: summaries, without the result or problem (a dry run's result lists
    // its rows), with the problem's code
    let list = json_ok(app.get("/api/v1/jobs?state=failed", &admin).await, 200).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["problem_code"], "IMPORT_REFUSED");
    let list = json_ok(app.get("/api/v1/jobs?state=succeeded", &admin).await, 200).await;
    let item = &list["items"][0];
    assert_eq!(
        (item["id"].as_str(), &item["state"]),
        (Some(id), &json!("succeeded"))
    );
    assert!(
        item.get("result").is_none() && item.get("problem").is_none(),
        "a list item carries no result: {item}"
    );
    assert_eq!(item["problem_code"], Value::Null);
    assert_eq!(item["rows_done"], done["rows_done"]);
    let list = json_ok(app.get("/api/v1/jobs?page_size=2", &admin).await, 200).await;
    assert_eq!(
        (
            list["total"].clone(),
            list["items"].as_array().unwrap().len()
        ),
        (json!(4), 2)
    );
}

#[tokio::test]
async fn a_queued_job_is_cancelled_at_once_and_seen_only_by_its_requester_and_admins() {
    let app = seeded_app_with(|c| c.jobs.worker = false).await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    // a unit account's import (at most 2,000 rows) is answered at once, even asked otherwise
    let r = json_ok(
        import(
            &app,
            &editor,
            &period,
            "?async=true&dry_run=true",
            csv(&ROWS[..2]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["created"], 2);
    // a job of one administrator: its requester and administrators see it, nobody else
    let requester = app.token_for(Role::Admin, None);
    let j = queued(import(&app, &requester, &period, "?async=true", csv(&ROWS[..2])).await).await;
    let id = j["id"].as_str().unwrap();
    assert_eq!(job(&app, &requester, id).await["state"], "queued");
    assert_eq!(job(&app, &admin, id).await["state"], "queued");
    // a unit's accounts (even of the unit the rows are for), reviewers, viewers: no such job
    for other in [
        editor.clone(),
        app.token_for(Role::UnitLeader, Some("XA-BAT-XAT")),
        app.token_for(Role::Reviewer, None),
        app.token_for(Role::Viewer, None),
    ] {
        assert_problem(
            app.get(&format!("/api/v1/jobs/{id}"), &other).await,
            404,
            "NOT_FOUND",
        )
        .await;
        assert_problem(
            app.post_json(
                &format!("/api/v1/jobs/{id}/cancel"),
                Some(&other),
                &json!({}),
            )
            .await,
            404,
            "NOT_FOUND",
        )
        .await;
        let list = json_ok(app.get("/api/v1/jobs", &other).await, 200).await;
        assert_eq!(list["total"], 0);
    }
    assert_eq!(
        json_ok(app.get("/api/v1/jobs", &requester).await, 200).await["total"],
        1
    );
    let c = json_ok(
        app.post_json(
            &format!("/api/v1/jobs/{id}/cancel"),
            Some(&requester),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(c["state"], "cancelled");
    assert_eq!(c["cancel_requested"], true);
    assert!(c["finished_at"].is_string());
    assert_problem(
        app.post_json(
            &format!("/api/v1/jobs/{id}/cancel"),
            Some(&requester),
            &json!({}),
        )
        .await,
        409,
        "JOB_FINISHED",
    )
    .await;
    // the input is gone with it; a worker starting now finds nothing to run
    let inputs: i64 = app.with_conn(|c| {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM job_inputs)",
        ))
        .get_result(c)
        .unwrap()
    });
    assert_eq!(inputs, 0);
    let mut config = replica_config(&app);
    config.jobs.worker = true;
    let _worker = spawn_replica(config).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job(&app, &requester, id).await["state"], "cancelled");
    assert_eq!(
        stored_answers(&app, &admin, &period, "XA-BAT-XAT").await,
        json!([])
    );
}

#[tokio::test]
async fn a_running_job_shows_its_progress_and_a_cancel_rolls_it_back() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    // another transaction holds the period's ranking groups: the import reads its file, then
    // waits for them inside its transaction
    let mut blocker = PgConnection::establish(app.database_url()).unwrap();
    diesel::sql_query("BEGIN").execute(&mut blocker).unwrap();
    diesel::sql_query(format!(
        "SELECT 1 FROM period_groups WHERE period_id = '{period}' FOR UPDATE"
    ))
    .execute(&mut blocker)
    .unwrap();
    let j = queued(import(&app, &admin, &period, "?async=true", csv(&ROWS)).await).await;
    let id = j["id"].as_str().unwrap();
    // progress, committed on the worker's other connection, is visible meanwhile
    let running = wait_for(&app, &admin, id, |j| j["phase"] == "checking").await;
    assert_eq!(running["state"], "running");
    assert_eq!(running["rows_total"], 3, "{running}");
    assert!(running["heartbeat_at"].is_string());
    let c = json_ok(
        app.post_json(
            &format!("/api/v1/jobs/{id}/cancel"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (c["state"].clone(), c["cancel_requested"].clone()),
        (json!("running"), json!(true))
    );
    diesel::sql_query("ROLLBACK").execute(&mut blocker).unwrap();
    let done = ended(&app, &admin, id).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert_eq!(done["problem"]["code"], "JOB_CANCELLED");
    assert_eq!(done["result"], Value::Null);
    // nothing of it stored
    for unit in ["XA-BAT-XAT", "XA-MUONG-KHUONG"] {
        assert_eq!(stored_answers(&app, &admin, &period, unit).await, json!([]));
    }
}

fn insert_running_job(c: &mut PgConnection, requester: uuid::Uuid, lease: &str) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    diesel::sql_query(format!(
        "INSERT INTO jobs (id, kind, requested_by, requester_kind, state, phase, rows_done,
                           options, input_format, input_bytes, worker, started_at, heartbeat_at,
                           lease_until)
         VALUES ('{id}', 'answers_import', '{requester}', 'user', 'running', 'writing', 500,
                 '{{}}', 'csv', 1000, 'a-process-that-died', now() - interval '10 minutes',
                 now() - interval '5 minutes', now() + interval '{lease}')"
    ))
    .execute(c)
    .unwrap();
    id
}

#[tokio::test]
async fn a_job_left_running_by_a_dead_process_ends_failed_never_running_for_ever() {
    let app = seeded_app_with(|c| c.jobs.worker = false).await;
    let (admin_user, admin) = app.user_and_token(Role::Admin, None);
    let (stale, alive) = app.with_conn(|c| {
        (
            insert_running_job(c, admin_user.id, "-1 minute"),
            insert_running_job(c, admin_user.id, "1 hour"),
        )
    });
    assert_eq!(
        job(&app, &admin, &stale.to_string()).await["state"],
        "running"
    );
    // a process starting on the database (its start-up, without a worker) ends the stale one
    let mut config = replica_config(&app);
    config.jobs.worker = false;
    let _replica = spawn_replica(config.clone()).await;
    let j = job(&app, &admin, &stale.to_string()).await;
    assert_eq!(j["state"], "failed", "{j}");
    assert_eq!(j["problem"]["code"], "JOB_INTERRUPTED");
    assert_eq!(j["problem"]["status"], 503);
    assert!(j["finished_at"].is_string());
    // one whose lease is still running belongs to a live process: left alone
    assert_eq!(
        job(&app, &admin, &alive.to_string()).await["state"],
        "running"
    );
    // a running worker's sweep ends one that goes stale later
    config.jobs.worker = true;
    let _worker = spawn_replica(config).await;
    let later = app.with_conn(|c| insert_running_job(c, admin_user.id, "-1 second"));
    let j = ended(&app, &admin, &later.to_string()).await;
    assert_eq!(j["state"], "failed");
    assert_eq!(j["problem"]["code"], "JOB_INTERRUPTED");
}

#[tokio::test]
async fn merged_cells_are_refused_with_the_cells_named() {
    use rust_xlsxwriter::{Format, Workbook};
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let book = |merge_header: bool| {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        for (c, h) in ["unit_code", "node_code", "numerator", "denominator"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        // one unit code for two rows, merged as people do in Excel
        ws.merge_range(1, 0, 2, 0, "XA-BAT-XAT", &Format::new())
            .unwrap();
        ws.write_string(1, 1, "1.2").unwrap();
        ws.write_number(1, 2, 1).unwrap();
        ws.write_number(1, 3, 4).unwrap();
        ws.write_string(2, 1, "1.1").unwrap();
        ws.write_string(3, 0, "XA-BAC-HA").unwrap();
        ws.write_string(3, 1, "1.2").unwrap();
        ws.write_number(3, 2, 2).unwrap();
        ws.write_number(3, 3, 4).unwrap();
        if merge_header {
            ws.merge_range(0, 4, 0, 5, "note", &Format::new()).unwrap();
        }
        book.save_to_buffer().unwrap()
    };
    let p = assert_problem(
        import(&app, &admin, &period, "", book(false)).await,
        422,
        "IMPORT_REFUSED",
    )
    .await;
    assert_merged_a2_a3(&p);
    // partial mode stores the rows outside the merged cells only
    let r = json_ok(
        import(&app, &admin, &period, "?mode=partial", book(false)).await,
        200,
    )
    .await;
    assert_eq!(
        (r["created"].clone(), r["rows_refused"].clone()),
        (json!(1), json!(2)),
        "{r}"
    );
    assert_eq!(
        stored_answers(&app, &admin, &period, "XA-BAT-XAT").await,
        json!([])
    );
    // in Vietnamese
    let vi = app
        .request(
            Method::POST,
            &format!("/api/v1/periods/{period}/imports/answers"),
            Some(&admin),
        )
        .header("accept-language", "vi")
        .body(book(false))
        .send()
        .await
        .unwrap();
    let p = assert_problem(vi, 422, "IMPORT_REFUSED").await;
    let m = p["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "MERGED_CELLS")
        .unwrap();
    assert!(m["message"].as_str().unwrap().contains("gộp"), "{m}");
    // merged header cells: the file is refused as a whole
    let p = assert_problem(
        import(&app, &admin, &period, "", book(true)).await,
        422,
        "MERGED_CELLS",
    )
    .await;
    assert_eq!(p["merged_cells"], json!(["E1:F1"]), "{p}");
}

#[tokio::test]
async fn a_long_file_reports_the_rows_read_so_far_before_its_total_is_known() {
    // chunks of two rows: the first chunk is checked while the rest of the file is unread
    let app = seeded_app_with(|c| c.jobs.import_chunk_rows = 2).await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    // another transaction holds the period's ranking groups: a file longer than one chunk locks
    // every group of the period at its first chunk, and waits there
    let mut blocker = PgConnection::establish(app.database_url()).unwrap();
    diesel::sql_query("BEGIN").execute(&mut blocker).unwrap();
    diesel::sql_query(format!(
        "SELECT 1 FROM period_groups WHERE period_id = '{period}' FOR UPDATE"
    ))
    .execute(&mut blocker)
    .unwrap();
    let j = queued(import(&app, &admin, &period, "?async=true", csv(&ROWS)).await).await;
    let id = j["id"].as_str().unwrap();
    let running = wait_for(&app, &admin, id, |j| j["phase"] == "checking").await;
    assert_eq!(
        (running["rows_done"].clone(), running["rows_total"].clone()),
        (json!(2), Value::Null),
        "{running}"
    );
    diesel::sql_query("ROLLBACK").execute(&mut blocker).unwrap();
    let done = ended(&app, &admin, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        (done["rows_done"].clone(), done["rows_total"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(done["result"]["created"], 3, "{done}");
    assert_eq!(
        stored_answers(&app, &admin, &period, "XA-MUONG-KHUONG")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
