//! The demo year (`services::demo_year`): a past period published on the QĐ 2644 sets, visible
//! anonymously with bands, ties, a unit excluded and a late unit finalised by the office; a
//! current period on the QĐ 3019 sets open for self-assessment. Every test ends with the
//! harness's full recompute, which must change nothing.

use std::collections::BTreeSet;

use dti_api::domain::Role;
use dti_api::services::demo_year::{
    ADJUSTED_UNIT, CLARIFIED_UNIT, CURRENT_PERIOD, CURRENT_SUBMITTED_UNIT, EXCLUDED_UNIT,
    LATE_UNIT, PAST_PERIOD, RETURNED_UNIT, TIED_UNITS, WALKTHROUGH_UNIT,
};
use serde_json::{Value, json};

use crate::helpers::*;

/// A seeded app with the demo year loaded, as a demo start on an empty database does.
async fn spawn_demo_app() -> TestApp {
    let app = spawn_seeded_app().await;
    let report =
        app.with_conn(|c| dti_api::services::demo_year::load(c, &app.caches).expect("demo year"));
    assert_eq!(
        (report.periods, report.assessments, report.publications),
        (2, 64, 4)
    );
    app
}

async fn period_id(app: &TestApp, token: &str, code: &str) -> String {
    let list = json_ok(app.get("/api/v1/periods?page_size=100", token).await, 200).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == code)
        .unwrap_or_else(|| panic!("period {code}: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn entry<'a>(content: &'a Value, code: &str) -> &'a Value {
    content["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["unit"]["code"] == code)
        .unwrap_or_else(|| panic!("{code} in the snapshot"))
}

#[tokio::test]
async fn the_past_year_is_published_and_visible_anonymously_with_bands_ties_and_the_office_decisions()
 {
    let app = spawn_demo_app().await;
    let periods = json_ok(app.get_public("/api/v1/public/periods").await, 200).await;
    let periods = periods.as_array().unwrap();
    assert_eq!(periods.len(), 1, "only the past year is published");
    assert_eq!(periods[0]["code"], PAST_PERIOD);
    assert_eq!(periods[0]["data_year"], 2022);
    let groups: BTreeSet<&str> = periods[0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        BTreeSet::from(["LC-SO", "LC-XA", "LC-DANG", "LC-MTTQ"])
    );
    let period = periods[0]["id"].as_str().unwrap().to_string();

    let mut bands = BTreeSet::new();
    let mut ranked_units = 0;
    for group in ["LC-SO", "LC-XA", "LC-DANG", "LC-MTTQ"] {
        let published = json_ok(
            app.get_public(&format!(
                "/api/v1/public/periods/{period}/rankings?group={group}"
            ))
            .await,
            200,
        )
        .await;
        let content = &published["content"];
        assert_eq!(published["version"], 1);
        assert_eq!(content["indicator_set"]["version"], 1, "{group}: QĐ 2644");
        assert_eq!(
            content["indicator_set"]["decision_number"], "2644/QĐ-UBND",
            "{group}"
        );
        assert_eq!(published["visible_from"], "2023-04-11T03:00:00Z");
        for e in content["rankings"].as_array().unwrap() {
            if e["ranked"] == true {
                ranked_units += 1;
                assert!(e["rank"].is_i64(), "{e}");
                bands.insert(e["band"]["code"].as_str().unwrap().to_string());
            }
            // plausible values: every unit has points, none a perfect score
            let index: f64 = e["index"].as_str().unwrap().parse().unwrap();
            assert!(index > 0.05 && index < 0.99, "{group}: {e}");
        }
    }
    assert_eq!(ranked_units, 31, "32 units, one excluded");
    assert!(bands.len() >= 3, "the demo shows several bands: {bands:?}");

    // the tie: two party bodies with the same index share a rank and a band
    let dang = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/rankings?group=LC-DANG"
        ))
        .await,
        200,
    )
    .await;
    let (a, b) = (
        entry(&dang["content"], TIED_UNITS[0]),
        entry(&dang["content"], TIED_UNITS[1]),
    );
    assert_eq!(a["rank"], b["rank"]);
    assert_eq!((&a["tied"], &b["tied"]), (&json!(true), &json!(true)));
    assert_eq!(a["band"], b["band"]);

    // the late unit: finalised by the office with what it entered, shown as not submitted
    let late = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/{LATE_UNIT}?group=LC-XA"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(late["result"]["not_submitted"], true);
    assert_eq!(late["result"]["finalised_as"], "as_entered");
    assert_eq!(late["result"]["ranked"], true);
    assert!(late["result"]["rank"].is_i64());
    // the excluded unit: listed with its points and the reason, without a rank
    let excluded = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/{EXCLUDED_UNIT}?group=LC-MTTQ"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(excluded["result"]["ranked"], false);
    assert_eq!(excluded["result"]["rank"], Value::Null);
    assert!(
        excluded["result"]["exclusion_reason"]
            .as_str()
            .unwrap()
            .contains("không được xếp hạng")
    );
    assert!(excluded["result"]["points"].is_string());
    // the method of a published group is public too
    json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/method?group=LC-XA"
        ))
        .await,
        200,
    )
    .await;

    // the period is closed: published, and what happened in it is on record
    let admin = app.token_for(Role::Admin, None);
    let p = json_ok(
        app.get(&format!("/api/v1/periods/{period}"), &admin).await,
        200,
    )
    .await;
    assert_eq!(p["phase"], "published");
    let all = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), &admin)
            .await,
        200,
    )
    .await;
    let of = |code: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|a| a["unit"]["code"] == code)
            .unwrap_or_else(|| panic!("{code}"))
            .clone()
    };
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|a| a["state"] == "finalised"),
        "{all}"
    );
    let clarified = of(CLARIFIED_UNIT)["id"].as_str().unwrap().to_string();
    let threads = json_ok(
        app.get(
            &format!("/api/v1/assessments/{clarified}/clarifications"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let threads = threads.as_array().unwrap();
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert_eq!(threads[0]["status"], "closed");
    assert_eq!(threads[0]["messages"].as_array().unwrap().len(), 2);
    // the reviewer's adjustment: the reviewed points differ from the unit's own
    let adjusted = of(ADJUSTED_UNIT);
    assert_ne!(
        adjusted["score"]["self_points"], adjusted["score"]["reviewed_points"],
        "{}",
        adjusted["score"]
    );
    // the returned form went back once and was submitted again by its leader
    let returned = of(RETURNED_UNIT)["id"].as_str().unwrap().to_string();
    let audit = json_ok(
        app.get(
            &format!("/api/v1/audit-events?entity_id={returned}&page_size=100"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "assessment.submit")
            .count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&"assessment.return"), "{actions:?}");
}

#[tokio::test]
async fn the_current_year_is_open_on_the_new_sets_and_takes_a_unit_editors_answer() {
    let app = spawn_demo_app().await;
    let admin = app.token_for(Role::Admin, None);
    let period = period_id(&app, &admin, CURRENT_PERIOD).await;
    let p = json_ok(
        app.get(&format!("/api/v1/periods/{period}"), &admin).await,
        200,
    )
    .await;
    assert_eq!(p["phase"], "self_assessment");
    assert_eq!(p["data_year"], 2023);
    let all = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), &admin)
            .await,
        200,
    )
    .await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 32);
    let state = |code: &str| {
        all.iter().find(|a| a["unit"]["code"] == code).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state(CURRENT_SUBMITTED_UNIT), "submitted");
    assert_eq!(state(WALKTHROUGH_UNIT), "not_started");
    let started = all.iter().filter(|a| a["state"] == "in_progress").count();
    assert!((5..=20).contains(&started), "{started} units have started");

    // the demo editor logs in and answers on the QĐ 3019 set; the score shows its band
    let login = json_ok(app.login("editor.xa-bac-ha", DEMO_PASSWORD).await, 200).await;
    let editor = login["access_token"].as_str().unwrap();
    let a = all
        .iter()
        .find(|a| a["unit"]["code"] == WALKTHROUGH_UNIT)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let written = json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{a}/answers/3.3"),
            editor,
            &json!({"inputs": {"numerator": 18, "denominator": 20}}),
        )
        .await,
        200,
    )
    .await;
    assert!(written["score"]["band"]["code"].is_string(), "{written}");
    let form = json_ok(
        app.get(&format!("/api/v1/assessments/{a}"), editor).await,
        200,
    )
    .await;
    assert_eq!(form["state"], "in_progress");
    assert_eq!(form["unit"]["code"], WALKTHROUGH_UNIT);
    let set = json_ok(
        app.get(
            &format!(
                "/api/v1/indicator-sets/{}",
                form["indicator_set_id"].as_str().unwrap()
            ),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        set["legal_basis"]["decision_number"], "3019/QĐ-UBND",
        "{set}"
    );
}

#[tokio::test]
async fn the_demo_year_loads_once_and_needs_the_demo_accounts() {
    let app = spawn_demo_app().await;
    let again = app.with_conn(|c| dti_api::services::demo_year::load(c, &app.caches).unwrap());
    assert_eq!(again.periods, 0, "a second load changes nothing");
    let admin = app.token_for(Role::Admin, None);
    let list = json_ok(app.get("/api/v1/periods?page_size=100", &admin).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // without the demo accounts (reference data only, as production seeds it): refused,
    // nothing written
    let bare = spawn_app().await;
    let e = bare.with_conn(|c| {
        dti_api::services::seed::load_reference_data(c, std::path::Path::new("seeds")).unwrap();
        dti_api::services::demo_year::load(c, &bare.caches).unwrap_err()
    });
    assert!(format!("{e:?}").contains("demo account"), "{e:?}");
    let admin = bare.token_for(Role::Admin, None);
    let list = json_ok(bare.get("/api/v1/periods", &admin).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

// Caches of one entry each (one compiled set, one group's bases) keep forgetting while the
// demo year is written over two periods, four groups and their sets: `/metrics` counts the
// evictions, and every stored number and rank is the one a server with the default caches
// stores.
#[tokio::test]
async fn caches_of_one_entry_evict_and_store_the_same_scores() {
    use crate::operations::{cache_metric, spawn_app_with_metrics_token_and};
    let small = spawn_app_with_metrics_token_and(|c| {
        c.caches.set_entries = 1;
        c.caches.bases_groups = 1;
    })
    .await;
    small.with_conn(|c| {
        dti_api::services::seed::load(c, std::path::Path::new("seeds"), DEMO_PASSWORD)
            .expect("seeds load");
        dti_api::services::demo_year::load(c, &small.caches).expect("demo year");
    });
    // the server's own requests go through the same caches
    let admin = small.token_for(Role::Admin, None);
    for code in [PAST_PERIOD, CURRENT_PERIOD] {
        let id = period_id(&small, &admin, code).await;
        json_ok(
            small
                .get(&format!("/api/v1/periods/{id}/assessments"), &admin)
                .await,
            200,
        )
        .await;
    }
    for cache in ["sets", "bases"] {
        assert_eq!(
            cache_metric(&small, "scoring_cache_capacity", cache).await,
            1
        );
        assert_eq!(
            cache_metric(&small, "scoring_cache_entries", cache).await,
            1
        );
        let evicted = cache_metric(&small, "scoring_cache_evictions_total", cache).await;
        assert!(evicted > 0, "{cache}: {evicted} evictions");
    }
    let reference = spawn_demo_app().await;
    let ranks = |app: &TestApp| app.with_conn(|c| stored_state(c).2);
    let (small_ranks, reference_ranks) = (ranks(&small), ranks(&reference));
    assert!(!reference_ranks.is_empty());
    assert_eq!(small_ranks, reference_ranks);
}
