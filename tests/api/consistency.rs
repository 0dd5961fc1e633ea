//! Scoring consistency under concurrency and across workflows: writers beside a recompute
//! loop, the error a lost lock race still gets, what moves scores (unit tags), who may learn a
//! rank, corrections after publication, and unit kinds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_period};
use crate::helpers::*;

const COMMUNES: [&str; 10] = [
    "PHUONG-LAO-CAI",
    "PHUONG-CAM-DUONG",
    "PHUONG-SA-PA",
    "PHUONG-YEN-BAI",
    "PHUONG-NGHIA-LO",
    "PHUONG-VAN-PHU",
    "XA-BAC-HA",
    "XA-MUONG-KHUONG",
    "XA-BAT-XAT",
    "XA-TRAN-YEN",
];

/// A seeded app with enough pooled connections and workers for `clients` requests at once (the
/// default test app has 4 connections: a burst would wait for the pool, not for locks).
async fn spawn_seeded_app_for(clients: u32) -> TestApp {
    let db = tokio::task::spawn_blocking(create_test_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.db_pool_size = clients + 4;
    config.db_timeout_ms = 10_000;
    config.workers = 2;
    let app = spawn_app_with(config).await;
    app.load_seeds();
    app
}

/// The LC-XA period with 2.2 made `relative_to_best` on a value, so that writes move the
/// group best and every other unit follows it.
async fn open_relative_period(app: &TestApp, admin: &str) -> String {
    open_period(app, admin, |d| {
        d["nodes"][1]["children"][1]["method"] = json!({"type": "relative_to_best"});
    })
    .await
    .0
}

/// What a load run saw.
#[derive(Default)]
struct Seen {
    /// Status → count, per kind of request.
    statuses: BTreeMap<(&'static str, u16), usize>,
    /// The first few responses that were not 2xx, with their bodies.
    refusals: Vec<String>,
    /// (assessment, node) → the last answer a writer was told was stored.
    acknowledged: BTreeMap<(String, String), Value>,
}

impl Seen {
    fn count(&self, kind: &str, pred: impl Fn(u16) -> bool) -> usize {
        self.statuses
            .iter()
            .filter(|((k, s), _)| *k == kind && pred(*s))
            .map(|(_, n)| n)
            .sum()
    }

    fn summary(&self) -> String {
        format!("{:?}; first refusals: {:#?}", self.statuses, self.refusals)
    }
}

async fn note(seen: &Mutex<Seen>, kind: &'static str, resp: reqwest::Response) -> Option<Value> {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let mut s = seen.lock().unwrap();
    *s.statuses.entry((kind, status)).or_default() += 1;
    if !(200..300).contains(&status) && s.refusals.len() < 5 {
        s.refusals.push(format!("{kind} {status}: {body}"));
    }
    (200..300).contains(&status).then_some(body)
}

/// Runs, for `length`: `writers` writers (each owns one (assessment, node) pair and writes a new
/// value to it in a loop), a recompute of the period every `recompute_every`, and `readers`
/// readers of assessments, score trees, rankings and what-ifs.
async fn run_load(
    app: &TestApp,
    admin: &str,
    period: &str,
    writers: usize,
    readers: usize,
    recompute_every: Duration,
    length: Duration,
) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut targets = Vec::new();
    for code in COMMUNES {
        let editor = app.token_for(Role::UnitEditor, Some(code));
        let a = assessment_of(app, &editor, period, code).await;
        targets.push((editor, a));
    }
    let until = Instant::now() + length;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (token, a) = targets[w % targets.len()].clone();
        let node = ["2.2", "1.2", "1.1"][w / targets.len()];
        let (client, base, seen) = (app.client.clone(), app.address.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while Instant::now() < until {
                let inputs = match node {
                    "2.2" => json!({"value": (i * 7 + w) % 50 + 1}),
                    "1.2" => json!({"numerator": i % 5, "denominator": 4}),
                    _ => json!({"value": i % 5}),
                };
                let resp = client
                    .put(format!("{base}/api/v1/assessments/{a}/answers/{node}"))
                    .bearer_auth(&token)
                    .json(&json!({"inputs": inputs, "explanation": "Biên bản lưu tại văn phòng"}))
                    .send()
                    .await
                    .unwrap();
                if let Some(body) = note(&seen, "write", resp).await {
                    seen.lock()
                        .unwrap()
                        .acknowledged
                        .insert((a.clone(), node.to_string()), body["answer"].clone());
                }
                i += 1;
            }
        }));
    }
    for r in 0..readers {
        let (token, a) = targets[r % targets.len()].clone();
        let (client, base, seen) = (app.client.clone(), app.address.clone(), seen.clone());
        let (admin, period) = (admin.to_string(), period.to_string());
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while Instant::now() < until {
                let resp = match i % 4 {
                    0 => client
                        .get(format!("{base}/api/v1/assessments/{a}"))
                        .bearer_auth(&token)
                        .send(),
                    1 => client
                        .get(format!("{base}/api/v1/assessments/{a}/score"))
                        .bearer_auth(&token)
                        .send(),
                    2 => client
                        .get(format!("{base}/api/v1/periods/{period}/rankings"))
                        .bearer_auth(&admin)
                        .send(),
                    _ => client
                        .post(format!("{base}/api/v1/assessments/{a}/what-if"))
                        .bearer_auth(&token)
                        .json(&json!({"answers": [{"node_code": "2.2", "inputs": {"value": i % 60}}]}))
                        .send(),
                };
                note(&seen, "read", resp.await.unwrap()).await;
                i += 1;
            }
        }));
    }
    {
        let (client, base, seen) = (app.client.clone(), app.address.clone(), seen.clone());
        let (admin, period) = (admin.to_string(), period.to_string());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let resp = client
                    .post(format!("{base}/api/v1/periods/{period}/recompute"))
                    .bearer_auth(&admin)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                note(&seen, "recompute", resp).await;
                tokio::time::sleep(recompute_every).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(seen)
        .ok()
        .expect("every task ended")
        .into_inner()
        .unwrap()
}

/// 16 writers to one ranking group and a recompute of the period every half second: the
/// recompute used to take the group lock and then wait for assessments the writers held,
/// while they waited for the group (deadlocks, answered 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_beside_a_recompute_loop_never_deadlock() {
    let app = spawn_seeded_app_for(17).await;
    let admin = app.token_for(Role::Admin, None);
    let period = open_relative_period(&app, &admin).await;
    let seen = run_load(
        &app,
        &admin,
        &period,
        16,
        0,
        Duration::from_millis(500),
        Duration::from_secs(3),
    )
    .await;
    println!(
        "16 writers and a recompute every 0.5 s for 3 s: {:?}",
        seen.statuses
    );
    assert_eq!(
        seen.count("write", |s| s != 200) + seen.count("recompute", |s| s != 200),
        0,
        "every write and recompute succeeds: {}",
        seen.summary()
    );
    assert!(
        seen.count("write", |s| s == 200) >= 16,
        "{}",
        seen.summary()
    );
    assert!(
        seen.count("recompute", |s| s == 200) >= 2,
        "{}",
        seen.summary()
    );
    assert_recompute_changes_nothing(&app);
}

/// Writers, readers and a recompute loop together for a few seconds: no 5xx, every
/// acknowledged write is what is stored at the end (no lost update), and the stored scores
/// are what a recompute makes of the inputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_readers_and_recomputes_together_lose_nothing() {
    let app = spawn_seeded_app_for(14).await;
    let admin = app.token_for(Role::Admin, None);
    let period = open_relative_period(&app, &admin).await;
    let seen = run_load(
        &app,
        &admin,
        &period,
        10,
        3,
        Duration::from_millis(300),
        Duration::from_secs(3),
    )
    .await;
    for kind in ["write", "read", "recompute"] {
        assert_eq!(
            seen.count(kind, |s| s >= 500),
            0,
            "no {kind} answered 5xx: {}",
            seen.summary()
        );
        assert!(seen.count(kind, |s| s == 200) > 0, "{}", seen.summary());
    }
    assert_eq!(seen.count("write", |s| s != 200), 0, "{}", seen.summary());
    // every acknowledged write is the stored answer, at the version it was acknowledged with
    for ((a, node), acked) in &seen.acknowledged {
        let stored = json_ok(
            app.get(&format!("/api/v1/assessments/{a}"), &admin).await,
            200,
        )
        .await;
        let answer = stored["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["node_code"] == node.as_str())
            .unwrap_or_else(|| panic!("{a} {node} stored"));
        assert_eq!(answer["inputs"], acked["inputs"], "{a} {node}");
        assert_eq!(answer["version"], acked["version"], "{a} {node}");
    }
    assert_eq!(seen.acknowledged.len(), 10);
    assert_recompute_changes_nothing(&app);
}

/// Everything a busy day brings at once, for a bounded time: answer writers, readers and a
/// recompute loop on one group, uploads of one file racing deletes of the same content on
/// another unit's form, and parallel logins (wrong passwords past the limit, and the right one).
/// No response is a 5xx, no acknowledged write is lost, every remaining evidence row downloads,
/// and a full recompute afterwards changes nothing.
#[tokio::test]
async fn writers_recomputes_evidence_races_and_logins_together_lose_nothing() {
    let app = spawn_seeded_app_for(24).await;
    let admin = app.token_for(Role::Admin, None);
    let period = open_relative_period(&app, &admin).await;
    // evidence races on a component the writers leave alone, of a form they write to
    let racer = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let raced = assessment_of(&app, &racer, &period, "XA-BAC-HA").await;
    let evidence = async {
        let bytes = crate::fixtures::pdf("raced beside the writers");
        let mut live: Option<String> = None;
        let mut statuses = Vec::new();
        for _ in 0..15 {
            let delete = live.take().map(|id| {
                app.request(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/evidence/{id}"),
                    Some(&racer),
                )
                .send()
            });
            let upload =
                crate::fixtures::upload(&app, &racer, &raced, "1.1", "race.pdf", bytes.clone());
            let (uploaded, deleted) = tokio::join!(upload, async move {
                match delete {
                    Some(rb) => rb.await.unwrap().status().as_u16(),
                    None => 204,
                }
            });
            statuses.push(deleted);
            statuses.push(uploaded.status().as_u16());
            if uploaded.status().as_u16() == 201 {
                let ev: Value = uploaded.json().await.unwrap();
                live = Some(ev["id"].as_str().unwrap().to_string());
            }
        }
        (statuses, bytes)
    };
    // logins: 30 wrong passwords for one account at once, then its right password from the
    // same address and another account's
    let logins = async {
        let wrong = (0..30).map(|_| app.login("leader.skhcn", "not-the-password"));
        let mut statuses: Vec<u16> = futures_util::future::join_all(wrong)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        let right = app.login("viewer.ubnd", DEMO_PASSWORD).await;
        statuses.push(right.status().as_u16());
        statuses
    };
    let load = run_load(
        &app,
        &admin,
        &period,
        10,
        3,
        Duration::from_millis(300),
        Duration::from_secs(4),
    );
    let (seen, (uploads, bytes), logins) = tokio::join!(load, evidence, logins);

    for kind in ["write", "read", "recompute"] {
        assert_eq!(
            seen.count(kind, |s| s >= 500),
            0,
            "{kind}: {}",
            seen.summary()
        );
    }
    assert_eq!(seen.count("write", |s| s != 200), 0, "{}", seen.summary());
    for ((a, node), acked) in &seen.acknowledged {
        let stored = json_ok(
            app.get(&format!("/api/v1/assessments/{a}"), &admin).await,
            200,
        )
        .await;
        let answer = stored["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["node_code"] == node.as_str())
            .unwrap_or_else(|| panic!("{a} {node} stored"));
        assert_eq!(answer["version"], acked["version"], "{a} {node}");
    }
    assert!(
        uploads.iter().all(|s| *s == 201 || *s == 204),
        "uploads and deletes: {uploads:?}"
    );
    assert_eq!(
        crate::fixtures::every_file_row_downloads(&app, &racer, &bytes).await,
        1,
        "the last upload's row downloads"
    );
    let (wrong, right) = logins.split_at(30);
    assert!(
        wrong.iter().all(|s| *s == 401 || *s == 429),
        "wrong passwords: {wrong:?}"
    );
    assert_eq!(right, [200], "the right password of another account");
    assert_recompute_changes_nothing(&app);
}

/// The explicit form of the check every test ends with.
fn assert_recompute_changes_nothing(app: &TestApp) {
    if let Some(diff) = recompute_changes(&url_for_db(&app.db_name)) {
        panic!("{diff}");
    }
}

/// A transaction that loses a lock race (PostgreSQL's deadlock detector, or a serialization
/// failure) was rolled back whole: the request may simply be sent again. It is answered 503
/// with `Retry-After`, never 500.
#[test]
fn a_deadlock_or_serialization_failure_is_a_retryable_503() {
    use actix_web::ResponseError;
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let db = create_test_database();
    let url = url_for_db(&db);
    let mut setup = PgConnection::establish(&url).unwrap();
    setup
        .batch_execute("CREATE TABLE pair (id int PRIMARY KEY); INSERT INTO pair VALUES (1), (2)")
        .unwrap();
    // two transactions lock the two rows in opposite orders: one of them is the victim
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let run = |first: i32, second: i32| {
        let (url, barrier) = (url.clone(), barrier.clone());
        std::thread::spawn(move || {
            let mut c = PgConnection::establish(&url).unwrap();
            c.transaction::<(), diesel::result::Error, _>(|c| {
                diesel::sql_query(format!("SELECT id FROM pair WHERE id = {first} FOR UPDATE"))
                    .execute(c)?;
                barrier.wait();
                diesel::sql_query(format!(
                    "SELECT id FROM pair WHERE id = {second} FOR UPDATE"
                ))
                .execute(c)?;
                Ok(())
            })
        })
    };
    let (a, b) = (run(1, 2), run(2, 1));
    let results = [a.join().unwrap(), b.join().unwrap()];
    let err = results
        .into_iter()
        .find_map(Result::err)
        .expect("one transaction is chosen as the deadlock victim");
    let serialization = diesel::sql_query(
        "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access due to concurrent update' \
         USING ERRCODE = 'serialization_failure'; END $$",
    )
    .execute(&mut setup)
    .unwrap_err();
    drop(setup);
    drop_database(&db);
    for e in [err, serialization] {
        let shown = e.to_string();
        let app_error = dti_api::error::AppError::from(e);
        let resp = app_error.error_response();
        assert_eq!(resp.status().as_u16(), 503, "{shown}");
        assert_eq!(app_error.code(), "CONCURRENT_UPDATE", "{shown}");
        assert!(
            resp.headers().get("retry-after").is_some(),
            "{shown}: Retry-After"
        );
    }
}

async fn score_of(app: &TestApp, token: &str, a: &str) -> Value {
    json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), token).await,
        200,
    )
    .await
}

async fn patch_unit(app: &TestApp, admin: &str, code: &str, body: Value) -> Value {
    json_ok(
        app.patch_json(&format!("/api/v1/units/{code}"), admin, &body)
            .await,
        200,
    )
    .await
}

/// Finalises every assessment of the period, publishes LC-XA and moves the period to
/// `published`; the assessments must be submitted and the period in review.
async fn finalise_and_publish(app: &TestApp, admin: &str, period: &str, ids: &[(String, String)]) {
    let reviewer = app.token_for(Role::Reviewer, None);
    for (_, a) in ids {
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
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(admin),
            &json!({"group": "LC-XA"}),
        )
        .await,
        201,
    )
    .await;
    transition(app, admin, period, "published").await;
}

/// A unit's tags decide which components apply to it. Changing them rescores its assessments
/// of open periods at once (points, applicable maximum, rank); a published period keeps the
/// tags its results were published with; deactivating a unit moves no number. After each
/// change a recompute changes nothing.
#[tokio::test]
async fn a_change_of_unit_tags_rescores_its_open_assessments_at_once() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // 1.2 (20 points) applies only to units tagged `thi_diem`; no commune is, yet
    let (period, _) = open_period(&app, &admin, |d| {
        d["nodes"][0]["children"][1]["applicability"] = json!({"unit_tags_any": ["thi_diem"]});
    })
    .await;
    let a_editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let b_editor = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let a = assessment_of(&app, &a_editor, &period, "XA-BAC-HA").await;
    let b = assessment_of(&app, &b_editor, &period, "XA-BAT-XAT").await;
    for (token, id, option) in [(&a_editor, &a, "deputy"), (&b_editor, &b, "chairman")] {
        json_ok(
            app.put_json(
                &format!("/api/v1/assessments/{id}/answers"),
                token,
                &json!({"answers": [
                    {"node_code": "1.2", "inputs": {"numerator": 4, "denominator": 4}},
                    {"node_code": "2.2", "inputs": {"option": option}}]}),
            )
            .await,
            200,
        )
        .await;
    }
    // 1.1 (20) + 2.1 (40) + 2.2 (20) apply: Bắc Hà 10 of 80, Bát Xát 20 of 80
    let before = score_of(&app, &admin, &a).await;
    assert_eq!(before["score"]["applicable_max"], "80");
    assert_eq!(before["score"]["reviewed_points"], "10");
    assert_eq!(before["rank"], 2);

    let unit = patch_unit(&app, &admin, "XA-BAC-HA", json!({"tags": ["thi_diem"]})).await;
    assert_eq!(unit["tags"], json!(["thi_diem"]));
    // 1.2 now applies to Bắc Hà: 10 + 20 of 100 = 0.3, ahead of Bát Xát's 0.25
    let after = score_of(&app, &admin, &a).await;
    assert_eq!(after["score"]["applicable_max"], "100");
    assert_eq!(after["score"]["reviewed_points"], "30");
    assert_eq!(after["score"]["reviewed_index"], "0.3000");
    assert_eq!(after["rank"], 1);
    assert_eq!(score_of(&app, &admin, &b).await["rank"], 2);
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{a}/score"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(tree["total"]["applicable_max"], "100");
    assert_recompute_changes_nothing(&app);

    // deactivating a unit does not move its numbers (only who is assessed when a period opens)
    let b_before = score_of(&app, &admin, &b).await["score"].clone();
    patch_unit(&app, &admin, "XA-BAT-XAT", json!({"active": false})).await;
    assert_eq!(score_of(&app, &admin, &b).await["score"], b_before);
    assert_recompute_changes_nothing(&app);

    // once published, the period keeps the tags its results were published with
    let ids = crate::fixtures::fill_and_submit(&app, &period).await;
    transition(&app, &admin, &period, "review").await;
    finalise_and_publish(&app, &admin, &period, &ids).await;
    let published = score_of(&app, &admin, &a).await["score"].clone();
    patch_unit(&app, &admin, "XA-BAC-HA", json!({"tags": []})).await;
    assert_eq!(score_of(&app, &admin, &a).await["score"], published);
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{a}/score"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(tree["total"]["applicable_max"], "100");
    assert_recompute_changes_nothing(&app);
}

async fn what_if(app: &TestApp, token: &str, a: &str, answers: Value) -> Value {
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/what-if"),
            Some(token),
            &json!({ "answers": answers }),
        )
        .await,
        200,
    )
    .await
}

/// what-if used to be a rank oracle: a unit binary-searched one knob of its own what-if and read
/// the returned rank to pin another unit's unpublished index. Before its group's results are
/// published, a unit account gets no rank anywhere (what-if, its assessment, its score tree,
/// its write responses), only its own points and index; provincial roles still see the live
/// rank. Once published, a unit account sees the published standing.
#[tokio::test]
async fn unit_accounts_learn_no_rank_before_their_results_are_published() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let other = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    let b = assessment_of(&app, &other, &period, "XA-BAT-XAT").await;
    // Bát Xát's index (0.3) is what Bắc Hà must not learn
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{b}/answers"),
            &other,
            &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 2, "denominator": 4}},
                                {"node_code": "2.2", "inputs": {"option": "chairman"}}]}),
        )
        .await,
        200,
    )
    .await;
    let w = json_ok(
        crate::fixtures::put(
            &app,
            &editor,
            &a,
            "2.2",
            json!({"inputs": {"option": "deputy"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(w["score"]["reviewed_index"], "0.1000");
    assert_eq!(w["rank"], Value::Null, "write response: {w}");
    let batch = json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/answers"),
            &editor,
            &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": 1, "denominator": 4}}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(batch["rank"], Value::Null);
    // the sweep that pinned the other unit's index: every answer has the own index, no rank
    for k in 0..=4 {
        let r = what_if(
            &app,
            &editor,
            &a,
            json!([{"node_code": "1.2", "inputs": {"numerator": k, "denominator": 4}}]),
        )
        .await;
        assert!(r["index"].is_string(), "{r}");
        assert_eq!(r["rank"], Value::Null, "what-if {k}: {r}");
        assert_eq!(r["score"]["rank"], Value::Null);
    }
    for token in [&editor, &leader] {
        assert_eq!(score_of(&app, token, &a).await["rank"], Value::Null);
        let tree = json_ok(
            app.get(&format!("/api/v1/assessments/{a}/score"), token)
                .await,
            200,
        )
        .await;
        assert_eq!(tree["rank"], Value::Null);
    }
    assert_problem(
        app.get(&format!("/api/v1/periods/{period}/rankings"), &editor)
            .await,
        403,
        "FORBIDDEN_ROLE",
    )
    .await;
    // provincial roles see the live standing
    assert_eq!(score_of(&app, &reviewer, &a).await["rank"], 2);
    let r = what_if(
        &app,
        &admin,
        &a,
        json!([{"node_code": "1.2", "inputs": {"numerator": 4, "denominator": 4}}]),
    )
    .await;
    assert_eq!(r["index"], "0.3000");
    assert_eq!(r["rank"], 1, "tied with Bát Xát: {r}");

    // published: the unit sees the published standing, and what-ifs rank against it
    let ids = crate::fixtures::fill_and_submit(&app, &period).await;
    transition(&app, &admin, &period, "review").await;
    finalise_and_publish(&app, &admin, &period, &ids).await;
    let public = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/units/XA-BAC-HA"))
            .await,
        200,
    )
    .await;
    let published_rank = public["result"]["rank"].clone();
    assert!(published_rank.is_number(), "{public}");
    assert_eq!(score_of(&app, &editor, &a).await["rank"], published_rank);
    let snapshot = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/rankings"))
            .await,
        200,
    )
    .await;
    let r = what_if(
        &app,
        &editor,
        &a,
        json!([{"node_code": "2.2", "inputs": {"option": "none"}}]),
    )
    .await;
    let index: rust_decimal::Decimal = r["index"].as_str().unwrap().parse().unwrap();
    let ahead = snapshot["content"]["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["unit"]["code"] != "XA-BAC-HA")
        .filter(|e| {
            e["index"]
                .as_str()
                .is_some_and(|i| i.parse::<rust_decimal::Decimal>().unwrap() > index)
        })
        .count();
    assert_eq!(r["rank"], json!(ahead + 1), "{r}");
}

/// A fresh token for `user` as it is now (after an administrator changed its unit or role).
fn token_now(app: &TestApp, user: uuid::Uuid) -> String {
    let u = app.with_conn(|c| {
        dti_api::db::models::users::User::find(c, user)
            .unwrap()
            .unwrap()
    });
    let role = Role::parse(&u.role).unwrap();
    app.jwt
        .issue(u.id, &u.username, role, u.unit_id, u.version)
        .unwrap()
        .0
}

async fn keyed(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.request(method, path, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// An editor wrote Bắc Hà's answers with key K and then moved to Bát Xát: replaying K must not
/// hand over Bắc Hà's stored response. A replay goes through the same rights check as a fresh
/// request (here 403 `NOT_YOUR_UNIT`; for a demoted administrator 403 `FORBIDDEN_ROLE`), and is
/// replayed again once the rights are back.
#[tokio::test]
async fn a_replay_is_authorised_like_a_fresh_request() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let (editor, token) = app.user_and_token(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &token, &period, "XA-BAC-HA").await;
    let path = format!("/api/v1/assessments/{a}/answers");
    let body = json!({"answers": [{"node_code": "2.2", "inputs": {"option": "chairman"}}]});
    let first = keyed(&app, reqwest::Method::PUT, &path, &token, "K", &body).await;
    let first = json_ok(first, 200).await;
    let again = keyed(&app, reqwest::Method::PUT, &path, &token, "K", &body).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");

    let moved = |unit: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            json_ok(
                app.patch_json(
                    &format!("/api/v1/users/{}", editor.id),
                    admin,
                    &json!({ "unit": unit }),
                )
                .await,
                200,
            )
            .await;
        }
    };
    moved("XA-BAT-XAT").await;
    let token = token_now(&app, editor.id);
    let replay = keyed(&app, reqwest::Method::PUT, &path, &token, "K", &body).await;
    assert!(replay.headers().get("idempotent-replayed").is_none());
    let p = assert_problem(replay, 403, "NOT_YOUR_UNIT").await;
    assert!(
        p.get("answers").is_none(),
        "nothing of the stored response: {p}"
    );
    // a fresh request is refused the same way
    let fresh = keyed(&app, reqwest::Method::PUT, &path, &token, "K2", &body).await;
    assert_problem(fresh, 403, "NOT_YOUR_UNIT").await;
    // back in Bắc Hà: the key replays its first response again
    moved("XA-BAC-HA").await;
    let token = token_now(&app, editor.id);
    let replay = keyed(&app, reqwest::Method::PUT, &path, &token, "K", &body).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(json_ok(replay, 200).await, first);

    // an administrator who created a unit with a key, then was made a viewer
    let (second, token) = app.user_and_token(Role::Admin, None);
    let unit = json!({"code": "XA-MOI", "name": "Xã Mới", "kind": "commune"});
    let created = keyed(
        &app,
        reqwest::Method::POST,
        "/api/v1/units",
        &token,
        "U",
        &unit,
    )
    .await;
    json_ok(created, 201).await;
    json_ok(
        app.patch_json(
            &format!("/api/v1/users/{}", second.id),
            &admin,
            &json!({"role": "viewer"}),
        )
        .await,
        200,
    )
    .await;
    let token = token_now(&app, second.id);
    let replay = keyed(
        &app,
        reqwest::Method::POST,
        "/api/v1/units",
        &token,
        "U",
        &unit,
    )
    .await;
    assert!(replay.headers().get("idempotent-replayed").is_none());
    assert_problem(replay, 403, "FORBIDDEN_ROLE").await;
}

fn codes_of(changes: &Value) -> Vec<&str> {
    changes["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit"]["code"].as_str().unwrap())
        .collect()
}

/// A published period used to strand a reopened assessment (errata refused with
/// `NOT_ALL_FINALISED`, submit and finalise with `PHASE_CLOSED`). The path after publication:
/// the administrator reopens it back to the reviewers, a reviewer corrects it with an
/// adjustment (and its reason) and finalises it, and the group is published again as an errata
/// with a changelog; the public sees the new version, its changelog, and which units' points,
/// index and rank moved. The unit's own form stays closed throughout.
#[tokio::test]
async fn a_published_period_is_corrected_by_reopen_adjust_finalise_and_an_errata() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let ids = crate::fixtures::fill_and_submit(&app, &period).await;
    transition(&app, &admin, &period, "review").await;
    // the period is published once every form is finalised: none is left with its unit
    let p = assert_problem(
        app.post_json(
            &format!("/api/v1/periods/{period}/transitions"),
            Some(&admin),
            &json!({"to": "published"}),
        )
        .await,
        409,
        "NOT_ALL_FINALISED",
    )
    .await;
    assert_eq!(p["units"].as_array().unwrap().len(), 10);
    finalise_and_publish(&app, &admin, &period, &ids).await;
    let bac_ha = &ids.iter().find(|(c, _)| c == "XA-BAC-HA").unwrap().1;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let v1 = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/units/XA-BAC-HA"))
            .await,
        200,
    )
    .await;
    // 5 (1 meeting) + 5 (1 of 4 chaired) + 20 (chairman): 0.3, sixth
    assert_eq!(v1["result"]["index"], "0.3000");
    assert_eq!(v1["result"]["rank"], 6);
    assert_eq!(v1["change"], Value::Null);

    // reopened after publication: back to the reviewers, not to the unit
    let r = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bac_ha}/reopen"),
            Some(&admin),
            &json!({"reason": "Biên bản họp quý IV bị bỏ sót khi thẩm định"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["state"], "submitted");
    assert_eq!(r["last_action"]["action"], "reopen");
    let seen = score_of(&app, &reviewer, bac_ha).await;
    for action in ["adjust", "finalise"] {
        assert!(
            seen["allowed_actions"]
                .as_array()
                .unwrap()
                .contains(&json!(action)),
            "{seen}"
        );
    }
    assert_problem(
        crate::fixtures::put(
            &app,
            &editor,
            bac_ha,
            "1.2",
            json!({"inputs": {"numerator": 4, "denominator": 4}}),
        )
        .await,
        409,
        "ALREADY_SUBMITTED",
    )
    .await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{bac_ha}/return"),
            Some(&reviewer),
            &json!({"reason": "x"}),
        )
        .await,
        409,
        "PHASE_CLOSED",
    )
    .await;
    let p = assert_problem(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(&admin),
            &json!({"group": "LC-XA", "changelog": "x"}),
        )
        .await,
        409,
        "NOT_ALL_FINALISED",
    )
    .await;
    assert_eq!(p["units"], json!(["XA-BAC-HA"]));

    // the reviewer corrects 1.2 (4 of 4 meetings chaired: 20) and finalises
    let adj = json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{bac_ha}/adjustments/1.2"),
            &reviewer,
            &json!({"points": "20", "reason": "Đã đối chiếu biên bản: cả 4 cuộc họp do Chủ tịch chủ trì"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(adj["score"]["reviewed_index"], "0.4500");
    let f = json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bac_ha}/finalise"),
            Some(&reviewer),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(f["state"], "finalised");
    // the public still sees version 1 until the errata is published
    let still = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/rankings"))
            .await,
        200,
    )
    .await;
    assert_eq!(still["version"], 1);
    assert_eq!(score_of(&app, &editor, bac_ha).await["rank"], 6);

    let publish = |body: Value| {
        let (app, admin, period) = (&app, &admin, &period);
        async move {
            app.post_json(
                &format!("/api/v1/periods/{period}/publications"),
                Some(admin),
                &body,
            )
            .await
        }
    };
    assert_problem(
        publish(json!({"group": "LC-XA"})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    let changelog = "Đính chính chỉ số 1.2 của Xã Bắc Hà sau thẩm định lại";
    let v2 = json_ok(
        publish(json!({"group": "LC-XA", "changelog": changelog})).await,
        201,
    )
    .await;
    assert_eq!(v2["version"], 2);

    // public: the new version, its changelog, and what moved (Bắc Hà up to fourth; the three
    // units it passed down one place)
    let latest = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/rankings"))
            .await,
        200,
    )
    .await;
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["changelog"], changelog);
    let changes = &latest["content"]["changes"];
    assert_eq!(changes["since_version"], 1);
    assert_eq!(
        codes_of(changes),
        [
            "PHUONG-SA-PA",
            "PHUONG-YEN-BAI",
            "XA-BAC-HA",
            "XA-MUONG-KHUONG"
        ]
    );
    let unit = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/units/XA-BAC-HA"))
            .await,
        200,
    )
    .await;
    assert_eq!(unit["version"], 2);
    assert_eq!(
        unit["change"],
        json!({"before": {"points": "30", "index": "0.3000", "rank": 6},
               "after": {"points": "45", "index": "0.4500", "rank": 4}})
    );
    let sa_pa = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/PHUONG-SA-PA"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(sa_pa["change"]["before"]["rank"], 4);
    assert_eq!(sa_pa["change"]["after"]["rank"], 5);
    let unchanged = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/PHUONG-NGHIA-LO"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(unchanged["change"], Value::Null);
    // version 1 stays readable as it was; the unit sees its new published rank
    let old = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/rankings?version=1"
        ))
        .await,
        200,
    )
    .await;
    assert!(old["content"].get("changes").is_none());
    assert_eq!(score_of(&app, &editor, bac_ha).await["rank"], 4);

    // archived: nothing reopens any more
    transition(&app, &admin, &period, "archived").await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/assessments/{bac_ha}/reopen"),
            Some(&admin),
            &json!({"reason": "x"}),
        )
        .await,
        409,
        "PHASE_CLOSED",
    )
    .await;
}

/// Every audit event's old and new value is what the document promises (`AuditValue`): an
/// object or a list of objects. Replacing a group's members used to store bare lists of ids,
/// which the audit list then served outside its own schema.
#[tokio::test]
async fn audit_values_of_a_member_change_are_objects() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let group = json_ok(app.get("/api/v1/ranking-groups/LC-XA", &admin).await, 200).await;
    let members: Vec<Value> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].clone())
        .collect();
    let kept = members[..members.len() - 1].to_vec();
    json_ok(
        app.put_json(
            "/api/v1/ranking-groups/LC-XA/members",
            &admin,
            &json!({"units": kept}),
        )
        .await,
        200,
    )
    .await;
    let page = json_ok(
        app.get(
            "/api/v1/audit-events?action=ranking_group.set_members&page_size=10",
            &admin,
        )
        .await,
        200,
    )
    .await;
    let event = &page["items"][0];
    assert_eq!(
        event["old_value"]["members"].as_array().unwrap().len(),
        members.len(),
        "{event}"
    );
    assert_eq!(
        event["new_value"]["members"].as_array().unwrap().len(),
        kept.len(),
        "{event}"
    );
    let all = json_ok(
        app.get("/api/v1/audit-events?page_size=500", &admin).await,
        200,
    )
    .await;
    for e in all["items"].as_array().unwrap() {
        for v in [&e["old_value"], &e["new_value"]] {
            let fits = v.is_null()
                || v.is_object()
                || v.as_array()
                    .is_some_and(|rows| rows.iter().all(Value::is_object));
            assert!(fits, "{} serves {v} outside AuditValue", e["action"]);
        }
    }
}

/// A ranking group ranks units of one kind. Changing the kind of a unit that sits in a group of
/// its old kind is refused (409 `UNIT_KIND_IN_GROUP`, naming the groups) unless the same request
/// gives it groups of the new kind; creating or updating a unit with groups of another kind is
/// refused field by field, as replacing a group's members already was.
#[tokio::test]
async fn a_unit_kind_must_match_its_ranking_groups() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    // the same kind: nothing to refuse
    json_ok(
        app.patch_json(
            "/api/v1/units/XA-BAC-HA",
            &admin,
            &json!({"kind": "commune"}),
        )
        .await,
        200,
    )
    .await;
    let p = assert_problem(
        app.patch_json(
            "/api/v1/units/XA-BAC-HA",
            &admin,
            &json!({"kind": "department"}),
        )
        .await,
        409,
        "UNIT_KIND_IN_GROUP",
    )
    .await;
    assert_eq!(p["groups"], json!(["LC-XA"]));
    let unit = json_ok(app.get("/api/v1/units/XA-BAC-HA", &admin).await, 200).await;
    assert_eq!(unit["kind"], "commune");
    assert_eq!(unit["groups"][0]["code"], "LC-XA");
    // in Vietnamese too
    let resp = app
        .request(
            reqwest::Method::PATCH,
            "/api/v1/units/XA-BAC-HA",
            Some(&admin),
        )
        .header("accept-language", "vi")
        .json(&json!({"kind": "department"}))
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 409, "UNIT_KIND_IN_GROUP").await;
    assert!(!p["detail"].as_str().unwrap().is_ascii(), "{p}");

    // groups of another kind, on update and on create
    let p = assert_problem(
        app.patch_json(
            "/api/v1/units/XA-BAC-HA",
            &admin,
            &json!({"groups": ["LC-XA", "LC-SO"]}),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/groups/1");
    assert_eq!(p["errors"][0]["code"], "KIND_MISMATCH");
    let p = assert_problem(
        app.post_json(
            "/api/v1/units",
            Some(&admin),
            &json!({"code": "XA-MOI", "name": "Xã Mới", "kind": "commune", "groups": ["LC-SO"]}),
        )
        .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/groups/0");
    assert_eq!(p["errors"][0]["code"], "KIND_MISMATCH");

    // the new kind with groups of that kind, in one request
    let moved = json_ok(
        app.patch_json(
            "/api/v1/units/XA-BAC-HA",
            &admin,
            &json!({"kind": "department", "groups": ["LC-SO"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["kind"], "department");
    assert_eq!(moved["groups"][0]["code"], "LC-SO");
    // a unit in no group may change kind freely
    json_ok(
        app.patch_json("/api/v1/units/XA-BAC-HA", &admin, &json!({"groups": []}))
            .await,
        200,
    )
    .await;
    let back = json_ok(
        app.patch_json(
            "/api/v1/units/XA-BAC-HA",
            &admin,
            &json!({"kind": "commune"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(back["kind"], "commune");
}

/// The form a unit's leader submitted is locked for every writer, integration tokens included:
/// what the leader confirmed is what the reviewers review. A measurement that arrives later
/// reaches it as a reviewer's adjustment, or after the form is returned. Unscoped tokens too.
#[tokio::test]
async fn integration_tokens_respect_the_leaders_confirmation() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |_| {}).await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let leader = app.token_for(Role::UnitLeader, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    // no period: the token may write to any period
    let token = json_ok(
        app.post_json(
            "/api/v1/integration-tokens",
            Some(&admin),
            &json!({"name": "Cổng DVC", "scopes": ["automatic:write"]}),
        )
        .await,
        201,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let measure = |value: u32| {
        let (app, token, a) = (&app, &token, &a);
        async move {
            crate::fixtures::put(
                app,
                token,
                a,
                "2.1",
                json!({"inputs": {"numerator": value, "denominator": 100}}),
            )
            .await
        }
    };
    json_ok(measure(40).await, 200).await;
    crate::fixtures::answer_and_submit(
        &app,
        "XA-BAC-HA",
        &a,
        &json!({"answers": [
            {"node_code": "1.1", "inputs": {"value": 2}, "explanation": "Biên bản giấy"},
            {"node_code": "1.2", "inputs": {"numerator": 1, "denominator": 2}},
            {"node_code": "2.2", "inputs": {"option": "deputy"}}]}),
    )
    .await;
    let confirmed = score_of(&app, &admin, &a).await["score"].clone();
    // submitted: locked for the token as for everyone else
    assert_problem(measure(60).await, 409, "ALREADY_SUBMITTED").await;
    assert_problem(
        crate::fixtures::put(
            &app,
            &admin,
            &a,
            "2.1",
            json!({"inputs": {"numerator": 60, "denominator": 100}}),
        )
        .await,
        409,
        "ALREADY_SUBMITTED",
    )
    .await;
    assert_eq!(score_of(&app, &admin, &a).await["score"], confirmed);
    // returned to the unit: the platform may write again
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{a}/return"),
            Some(&reviewer),
            &json!({"reason": "Cập nhật số liệu dịch vụ công"}),
        )
        .await,
        200,
    )
    .await;
    let w = json_ok(measure(60).await, 200).await;
    assert_eq!(w["answer"]["inputs"]["numerator"], "60");
    // finalised: locked for good
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
    transition(&app, &admin, &period, "review").await;
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
    assert_problem(measure(80).await, 409, "ASSESSMENT_FINALISED").await;
}

/// Opening a period copies each unit's tags to its new assessment. A change of a unit's tags
/// still uncommitted when the period opens is waited for, so the assessment starts with the
/// tags the unit ends up with (else it would keep the old ones, which no later rescore fixes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_opening_beside_a_tag_change_starts_with_the_new_tags() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let mut doc = dti_api::api::indicator_sets::example_document();
    doc["nodes"][0]["children"][1]["applicability"] = json!({"unit_tags_any": ["thi_diem"]});
    let set = crate::fixtures::active_set(&app, &admin, &doc).await;
    let period = crate::fixtures::create_period(
        &app,
        &admin,
        &json!({"code": "DTI-2025", "name": "DTI 2025", "data_year": 2025,
                "groups": [{"group": "LC-XA", "indicator_set": set}]}),
    )
    .await;
    // another transaction changes Bắc Hà's tags and commits a moment later
    let url = url_for_db(&app.db_name);
    let (changed, wait) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let mut c = PgConnection::establish(&url).unwrap();
        c.transaction::<(), diesel::result::Error, _>(|c| {
            diesel::sql_query("UPDATE units SET tags = '{thi_diem}' WHERE code = 'XA-BAC-HA'")
                .execute(c)?;
            changed.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(600));
            Ok(())
        })
        .unwrap();
    });
    wait.recv().unwrap();
    transition(&app, &admin, &period, "self_assessment").await;
    writer.join().unwrap();
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &editor, &period, "XA-BAC-HA").await;
    // 1.2 applies: the whole 100 points
    assert_eq!(
        score_of(&app, &admin, &a).await["score"]["applicable_max"],
        "100"
    );
}
