//! The seed sets as the product ships them: every scored component says what to count and
//! what to attach; Lào Cai's QĐ 3019 is the next version of QĐ 2644 for each kind of unit, with
//! demo units, groups and accounts for party bodies and the Fatherland Front, ready to run a
//! year on each.

use std::collections::BTreeSet;

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::assessment_of;
use crate::helpers::*;

async fn all_sets(app: &TestApp, token: &str) -> Vec<Value> {
    json_ok(
        app.get("/api/v1/indicator-sets?page_size=100", token).await,
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn text(v: &Value) -> &str {
    v.as_str().filter(|s| !s.trim().is_empty()).unwrap_or("")
}

#[tokio::test]
async fn every_scored_component_of_every_seed_set_says_what_to_count_and_what_to_attach() {
    let app = spawn_seeded_app().await;
    let token = app.token_for(Role::Viewer, None);
    let sets = all_sets(&app, &token).await;
    assert_eq!(sets.len(), 14);
    let mut leaves = 0;
    for set in &sets {
        let code = set["code"].as_str().unwrap();
        assert!(
            set["classification"]["bands"].as_array().unwrap().len() >= 4,
            "{code} has a classification"
        );
        let flat = json_ok(
            app.get(
                &format!(
                    "/api/v1/indicator-sets/{}?view=flat",
                    set["id"].as_str().unwrap()
                ),
                &token,
            )
            .await,
            200,
        )
        .await;
        for node in flat["nodes"].as_array().unwrap() {
            let Some(schema) = node["input_schema"].as_object() else {
                continue;
            };
            leaves += 1;
            let at = format!("{code} v{} {}", set["version"], node["code"]);
            for field in [
                "guidance",
                "evidence_expected",
                "data_source",
                "verifying_body",
            ] {
                assert!(!text(&node[field]).is_empty(), "{at}: {field}");
            }
            // the answer form says it too: the guidance, every input's label, the evidence
            let description = text(&schema["description"]);
            assert!(
                description.starts_with(text(&node["guidance"])),
                "{at}: {description}"
            );
            assert_eq!(
                schema["x-evidence-expected"], node["evidence_expected"],
                "{at}"
            );
            let props = schema["properties"].as_object().unwrap();
            let described: BTreeSet<&String> = node["inputs"].as_object().unwrap().keys().collect();
            assert_eq!(described, props.keys().collect(), "{at}: every input");
            for (k, p) in props {
                assert_eq!(p["title"], node["inputs"][k]["label"], "{at}: {k}");
            }
        }
    }
    assert!(leaves > 350, "{leaves} scored components");
}

fn family<'a>(sets: &'a [Value], code: &str, version: i64) -> &'a Value {
    sets.iter()
        .find(|s| s["code"] == code && s["version"] == version)
        .unwrap_or_else(|| panic!("{code} v{version} seeded"))
}

fn codes(doc: &Value) -> BTreeSet<String> {
    fn walk(nodes: &Value, out: &mut BTreeSet<String>) {
        for n in nodes.as_array().into_iter().flatten() {
            out.insert(n["code"].as_str().unwrap().to_string());
            walk(&n["children"], out);
        }
    }
    let mut out = BTreeSet::new();
    walk(&doc["nodes"], &mut out);
    out
}

fn replaced(doc: &Value) -> Vec<String> {
    fn walk(nodes: &Value, out: &mut Vec<String>) {
        for n in nodes.as_array().into_iter().flatten() {
            for r in n["replaces"].as_array().into_iter().flatten() {
                out.push(r.as_str().unwrap().to_string());
            }
            walk(&n["children"], out);
        }
    }
    let mut out = Vec::new();
    walk(&doc["nodes"], &mut out);
    out
}

const GROUPS: [(&str, &str, &str, &str); 4] = [
    ("LC-SO", "LC-DTI-SO", "1000", "1000"),
    ("LC-XA", "LC-DTI-XA", "1000", "1000"),
    ("LC-DANG", "LC-DTI-DANG", "750", "800"),
    ("LC-MTTQ", "LC-DTI-MTTQ", "750", "800"),
];

#[tokio::test]
async fn lao_cai_3019_replaces_2644_for_each_kind_of_unit_and_a_year_runs_on_each() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let sets = all_sets(&app, &admin).await;
    for (_, code, old_scale, new_scale) in GROUPS {
        let (old, new) = (family(&sets, code, 1), family(&sets, code, 2));
        assert_eq!(old["legal_basis"]["decision_number"], "2644/QĐ-UBND");
        assert_eq!(old["legal_basis"]["decision_date"], "2022-11-07");
        assert_eq!(new["legal_basis"]["decision_number"], "3019/QĐ-UBND");
        assert_eq!(new["legal_basis"]["decision_date"], "2023-11-28");
        assert_eq!(
            (&old["scale"], &new["scale"]),
            (&json!(old_scale), &json!(new_scale))
        );
        assert_eq!(
            new["based_on_id"], old["id"],
            "{code}: 3019 is based on 2644"
        );
        assert_eq!(new["classification"]["status"], "decided");
        assert_eq!(new["classification"]["bands"][0]["label"], "Dẫn dắt");
        assert_eq!(new["classification"]["bands"][0]["min_index"], "0.7501");
        let old_doc = &json_ok(
            app.get(
                &format!("/api/v1/indicator-sets/{}", old["id"].as_str().unwrap()),
                &admin,
            )
            .await,
            200,
        )
        .await["document"];
        let new_doc = &json_ok(
            app.get(
                &format!("/api/v1/indicator-sets/{}", new["id"].as_str().unwrap()),
                &admin,
            )
            .await,
            200,
        )
        .await["document"];
        let before = codes(old_doc);
        let claims = replaced(new_doc);
        assert!(claims.len() > 15, "{code}: {claims:?}");
        assert!(
            claims.iter().all(|c| before.contains(c)),
            "{code}: {claims:?}"
        );
    }
    // what 3019 adds for the communes: QĐ 885 infrastructure, real-time service quality, level-2
    // electronic identification, installs of VNeID, VssID and the provincial app
    let commune = family(&sets, "LC-DTI-XA", 2);
    let flat = json_ok(
        app.get(
            &format!(
                "/api/v1/indicator-sets/{}?view=flat",
                commune["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let names: Vec<String> = flat["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{} {}",
                n["name"].as_str().unwrap(),
                text(&n["description"])
            )
        })
        .collect();
    for needle in [
        "QĐ 885/QĐ-BTTTT",
        "theo thời gian thực",
        "định danh điện tử mức độ 2",
        "VNeID",
        "VssID",
        "ứng dụng di động của tỉnh",
    ] {
        assert!(names.iter().any(|n| n.contains(needle)), "{needle}");
    }

    // the party bodies and the Fatherland Front have their groups, units and accounts
    for (group, kind) in [("LC-DANG", "party_body"), ("LC-MTTQ", "fatherland_front")] {
        let members = json_ok(
            app.get(&format!("/api/v1/ranking-groups/{group}"), &admin)
                .await,
            200,
        )
        .await;
        let members = members["members"].as_array().unwrap();
        assert_eq!(members.len(), 6, "{group}");
        assert!(members.iter().all(|u| u["kind"] == kind), "{group}");
    }
    for username in [
        "editor.vptu",
        "leader.vptu",
        "editor.ubmttq",
        "leader.tinhdoan",
    ] {
        json_ok(app.login(username, DEMO_PASSWORD).await, 200).await;
    }

    // a past year on 2644 and the current year on 3019, every group at once
    for (period, year, version) in [("LC-DTI-2022", 2022, 1), ("LC-DTI-2023", 2023, 2)] {
        let groups: Vec<Value> = GROUPS
            .iter()
            .map(|(group, code, _, _)| json!({"group": group, "indicator_set": family(&sets, code, version)["id"]}))
            .collect();
        let p = json_ok(
            app.post_json(
                "/api/v1/periods",
                Some(&admin),
                &json!({"code": period, "name": format!("Đánh giá mức độ chuyển đổi số năm {year}"),
                        "data_year": year, "groups": groups}),
            )
            .await,
            201,
        )
        .await;
        let id = p["id"].as_str().unwrap().to_string();
        transition(&app, &admin, &id, "self_assessment").await;
        let all = json_ok(
            app.get(&format!("/api/v1/periods/{id}/assessments"), &admin)
                .await,
            200,
        )
        .await;
        assert_eq!(all.as_array().unwrap().len(), 32, "{period}");
        // a party body answers; its score shows the decided band
        let editor = app.token_for(Role::UnitEditor, Some("VPTU"));
        let a = assessment_of(&app, &editor, &id, "VPTU").await;
        let w = json_ok(
            app.put_json(
                &format!("/api/v1/assessments/{a}/answers/3.1"),
                &editor,
                &json!({"inputs": {"numerator": 18, "denominator": 20}}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(w["score"]["band"]["code"], "KHOI_DONG", "{w}");
        assert_eq!(w["score"]["band"]["example"], false);
    }
}
