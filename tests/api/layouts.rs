//! Stored numbers are read only in the layout they were written in: a group whose scope
//! arrays and bases follow another compile or scope order (an older build, a replica of
//! another version) is rebuilt from its inputs before anything reads or extends it.

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_period, put};
use crate::helpers::*;

/// A period over LC-XA with 2.2 following the group best (so bases are stored too), and
/// three communes answered.
async fn scored_period(app: &TestApp, admin: &str) -> String {
    let (period, _) = open_period(app, admin, |d| {
        d["nodes"][1]["children"][1]["method"] = json!({"type": "relative_to_best"});
    })
    .await;
    for (i, unit) in ["XA-BAC-HA", "XA-BAT-XAT", "PHUONG-SA-PA"]
        .iter()
        .enumerate()
    {
        let t = app.token_for(Role::UnitEditor, Some(unit));
        let a = assessment_of(app, &t, &period, unit).await;
        let body = json!({"answers": [
            {"node_code": "1.2", "inputs": {"numerator": i + 1, "denominator": 4}},
            {"node_code": "2.2", "inputs": {"value": 10 * (i + 1)}}
        ]});
        json_ok(
            app.put_json(&format!("/api/v1/assessments/{a}/answers"), &t, &body)
                .await,
            200,
        )
        .await;
    }
    period
}

/// Rewrites the group's stored numbers as a build with another scope order would have left
/// them: every scope after the overall one in reverse order, and that build's layout recorded on the group.
fn store_as_another_build_would(app: &TestApp, period: &str) {
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        let reverse = |col: &str| {
            format!(
                "{col} = ARRAY[{col}[1]] || \
                 ARRAY(SELECT x FROM unnest({col}[2:]) WITH ORDINALITY t(x, o) ORDER BY o DESC)"
            )
        };
        diesel::sql_query(format!(
            "UPDATE assessment_scores SET {}, {}, {} WHERE period_id = '{period}'",
            reverse("scope_points"),
            reverse("scope_max"),
            reverse("scope_index")
        ))
        .execute(c)
        .unwrap();
        diesel::sql_query(format!(
            "UPDATE period_groups SET layout = 'another-build' WHERE period_id = '{period}'"
        ))
        .execute(c)
        .unwrap();
    });
}

fn recorded_layouts(app: &TestApp, period: &str) -> Vec<Option<String>> {
    app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::period_groups as pg;
        pg::table
            .filter(pg::period_id.eq(uuid::Uuid::parse_str(period).unwrap()))
            .select(pg::layout)
            .load::<Option<String>>(c)
            .unwrap()
    })
}

async fn ranking(app: &TestApp, token: &str, period: &str, query: &str) -> Value {
    json_ok(
        app.get(&format!("/api/v1/periods/{period}/rankings?{query}"), token)
            .await,
        200,
    )
    .await["items"]
        .clone()
}

const SCOPES: [&str; 4] = ["", "pillar=CQS", "main_indicator=1", "main_indicator=2"];

#[tokio::test]
async fn rankings_of_a_group_stored_in_another_layout_are_rebuilt_before_they_are_read() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let period = scored_period(&app, &admin).await;
    let mut before = Vec::new();
    for q in SCOPES {
        before.push(ranking(&app, &admin, &period, q).await);
    }
    let layout = recorded_layouts(&app, &period);
    assert!(layout.iter().all(Option::is_some), "{layout:?}");

    store_as_another_build_would(&app, &period);
    for (q, want) in SCOPES.iter().zip(&before) {
        assert_eq!(&ranking(&app, &admin, &period, q).await, want, "scope {q}");
    }
    assert_eq!(recorded_layouts(&app, &period), layout);
}

#[tokio::test]
async fn a_write_into_a_group_stored_in_another_layout_rebuilds_the_whole_group() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let period = scored_period(&app, &admin).await;
    let layout = recorded_layouts(&app, &period);
    store_as_another_build_would(&app, &period);

    // one unit writes: every other unit's stored numbers must be right again too (the harness
    // checks on drop that a full recompute changes nothing)
    let t = app.token_for(Role::UnitEditor, Some("XA-BAC-HA"));
    let a = assessment_of(&app, &t, &period, "XA-BAC-HA").await;
    json_ok(
        put(
            &app,
            &t,
            &a,
            "1.2",
            json!({"inputs": {"numerator": 4, "denominator": 4}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(recorded_layouts(&app, &period), layout);
    assert_eq!(crate::helpers::recompute_changes(app.database_url()), None);
}

#[tokio::test]
async fn a_start_rebuilds_groups_stored_in_another_layout() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let period = scored_period(&app, &admin).await;
    let layout = recorded_layouts(&app, &period);
    let stored = crate::fixtures::stored_state(&app);
    store_as_another_build_would(&app, &period);
    assert_ne!(crate::fixtures::stored_state(&app), stored);

    // (demo mode: the seeded accounts still have the demo password, which production refuses)
    let mut config = app.config.clone();
    config.mode = dti_api::config::Mode::Demo;
    let replica = spawn_replica(config).await;
    assert_eq!(recorded_layouts(&app, &period), layout);
    assert_eq!(crate::fixtures::stored_state(&app), stored);
    drop(replica);
}

#[test]
fn the_layout_fingerprint_follows_the_compile_and_scope_order() {
    let doc = dti_api::api::indicator_sets::example_document();
    let parse = |v: &Value| {
        let doc: dti_api::domain::indicator_set::SetDocument =
            serde_json::from_value(v.clone()).unwrap();
        dti_api::scoring::CompiledSet::compile(&doc)
    };
    let base = dti_api::services::scoring::layout_of(&parse(&doc));
    assert_eq!(base, dti_api::services::scoring::layout_of(&parse(&doc)));
    // the same nodes in another order: another layout
    let mut swapped = doc.clone();
    swapped["nodes"].as_array_mut().unwrap().reverse();
    swapped["pillars"][0]["main_indicators"] = json!(["2", "1"]);
    assert_ne!(
        base,
        dti_api::services::scoring::layout_of(&parse(&swapped))
    );
}

fn bases_version(app: &TestApp, period: &str) -> Option<uuid::Uuid> {
    app.with_conn(|c| {
        use diesel::prelude::*;
        use dti_api::db::schema::period_groups as pg;
        pg::table
            .filter(pg::period_id.eq(uuid::Uuid::parse_str(period).unwrap()))
            .select(pg::bases_version)
            .first::<Option<uuid::Uuid>>(c)
            .unwrap()
    })
}

#[tokio::test]
async fn the_database_itself_keeps_the_group_stamp_of_stored_bases() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let period = scored_period(&app, &admin).await;
    let first = bases_version(&app, &period).expect("bases were stored");
    let exec = |sql: String| {
        app.with_conn(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(sql).execute(c).map_err(|e| e.to_string())
        })
    };
    // a write that sets only the rows' stamp (as a careless writer would) still moves the
    // group's: other servers see their copies are stale
    let fresh = uuid::Uuid::new_v4();
    exec(format!(
        "UPDATE assessment_bases SET stamp = '{fresh}' WHERE assessment_id = \
           (SELECT min(assessment_id::text)::uuid FROM assessment_bases WHERE period_id = '{period}')"
    ))
    .unwrap();
    assert_eq!(bases_version(&app, &period), Some(fresh));
    // rows written with two stamps in one statement: a stamp that matches no copy
    exec(format!(
        "UPDATE assessment_bases SET stamp = gen_random_uuid() WHERE period_id = '{period}'"
    ))
    .unwrap();
    let mixed = bases_version(&app, &period).unwrap();
    assert!(mixed != fresh && mixed != first);
    // a basis without a stamp is refused
    let refused = exec(format!(
        "UPDATE assessment_bases SET stamp = NULL WHERE period_id = '{period}'"
    ))
    .unwrap_err();
    assert!(refused.contains("needs a stamp"), "{refused}");
    // a delete draws a fresh stamp
    exec(format!(
        "DELETE FROM assessment_bases WHERE assessment_id = \
           (SELECT min(assessment_id::text)::uuid FROM assessment_bases WHERE period_id = '{period}')"
    ))
    .unwrap();
    let after_delete = bases_version(&app, &period).unwrap();
    assert_ne!(after_delete, mixed);
    // and the service still scores right from there (the harness recomputes on drop)
    json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/recompute"),
            Some(&admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
}
