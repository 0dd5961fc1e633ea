//! One whole year with two ranking groups (departments and communes): open → answers and
//! evidence → submit (the editor refused, the leader accepted) → review (adjust one, return
//! another) → correction and resubmission → finalise → publish → anonymous reads → errata,
//! with the exact numbers at every step and the audit trail checked.

use dti_api::domain::Role;
use serde_json::{Value, json};

use crate::fixtures::{active_set, open_new_period};
use crate::helpers::*;

const DEPARTMENTS: [&str; 10] = [
    "SKHCN", "SNV", "STC", "STP", "SYT", "SGDDT", "SCT", "SNNMT", "SXD", "SVHTTDL",
];
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

/// The example set under `code`, for units of `kind`.
fn set_document(code: &str, kind: &str) -> Value {
    let mut doc = dti_api::api::indicator_sets::example_document();
    doc["code"] = json!(code);
    doc["target_unit_kind"] = json!(kind);
    doc
}

fn answers(k: usize) -> Value {
    json!({"answers": [
        {"node_code": "1.1", "inputs": {"value": k % 5}},
        {"node_code": "1.2", "inputs": {"numerator": k % 5, "denominator": 4}},
        {"node_code": "2.2", "inputs": {"option": if k.is_multiple_of(2) { "chairman" } else { "deputy" }}}
    ]})
}

#[tokio::test]
async fn a_whole_year_with_two_ranking_groups() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let dept_set = active_set(&app, &admin, &set_document("VD-SO-100", "department")).await;
    let commune_set = active_set(&app, &admin, &set_document("VD-XA-100", "commune")).await;
    let opened = open_new_period(&app, &admin, &json!({"code": "DTI-2025", "name": "DTI 2025", "data_year": 2025,
            "groups": [{"group": "LC-SO", "indicator_set": dept_set}, {"group": "LC-XA", "indicator_set": commune_set}]})).await;
    let period = opened["id"].as_str().unwrap().to_string();
    assert_eq!(opened["groups"].as_array().unwrap().len(), 2);
    let all = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(
        all.as_array().unwrap().len(),
        20,
        "10 departments + 10 communes"
    );
    let id_of = |code: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|a| a["unit"]["code"] == code)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // every unit answers; 1.1 needs evidence: a PDF for the units at even k, an explanation otherwise
    for (k, code) in DEPARTMENTS.iter().chain(COMMUNES.iter()).enumerate() {
        let k = k % 10;
        let a = id_of(code);
        let editor = app.token_for(Role::UnitEditor, Some(code));
        json_ok(
            app.put_json(
                &format!("/api/v1/assessments/{a}/answers"),
                &editor,
                &answers(k),
            )
            .await,
            200,
        )
        .await;
        if k.is_multiple_of(2) {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(
                    format!("%PDF-1.7\n% {code}\n%%EOF\n").into_bytes(),
                )
                .file_name("bien-ban.pdf"),
            );
            json_ok(
                app.client
                    .post(app.url(&format!("/api/v1/assessments/{a}/answers/1.1/evidence")))
                    .bearer_auth(&editor)
                    .multipart(form)
                    .send()
                    .await
                    .unwrap(),
                201,
            )
            .await;
        } else {
            json_ok(
                app.put_json(
                    &format!("/api/v1/assessments/{a}/answers/1.1"),
                    &editor,
                    &json!({"inputs": {"value": k % 5}, "explanation": "Biên bản lưu giấy"}),
                )
                .await,
                200,
            )
            .await;
        }
        // the measured component comes from the administrator (as the platform would)
        json_ok(
            app.put_json(
                &format!("/api/v1/assessments/{a}/answers/2.1"),
                &admin,
                &json!({"inputs": {"numerator": 40 + k * 5, "denominator": 100}}),
            )
            .await,
            200,
        )
        .await;
        assert_problem(
            app.post_json(
                &format!("/api/v1/assessments/{a}/submit"),
                Some(&editor),
                &json!({}),
            )
            .await,
            403,
            "LEADER_ONLY",
        )
        .await;
        let leader = app.token_for(Role::UnitLeader, Some(code));
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
    }
    // SNV (k = 1): tiers 1 → 5, 1/4 of 20 → 5, 45 % of a target of 80 % of 40 → 22.5, deputy → 10 = 42.5
    let snv = json_ok(
        app.get(&format!("/api/v1/assessments/{}", id_of("SNV")), &reviewer)
            .await,
        200,
    )
    .await;
    assert_eq!(snv["score"]["self_points"], "42.5");
    // SGDDT (k = 5): tiers 0 → 0, 0/4 → 0, 65 % / 80 % × 40 = 32.5, deputy → 10 = 42.5: tied with SNV
    let sgddt = json_ok(
        app.get(
            &format!("/api/v1/assessments/{}", id_of("SGDDT")),
            &reviewer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sgddt["score"]["self_points"], "42.5");

    transition(&app, &admin, &period, "review").await;
    // adjust one department: SNV 1.2 → 0 of 4 (reason given) → 37.5
    let adj = json_ok(app.put_json(&format!("/api/v1/assessments/{}/adjustments/1.2", id_of("SNV")), &reviewer, &json!({"inputs": {"numerator": 0, "denominator": 4}, "reason": "Không có biên bản chủ trì"})).await, 200).await;
    assert_eq!(
        (
            adj["score"]["self_points"].as_str(),
            adj["score"]["reviewed_points"].as_str()
        ),
        (Some("42.5"), Some("37.5"))
    );
    // return one commune; it corrects 2.2 and resubmits
    let bat_xat = id_of("XA-BAT-XAT");
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bat_xat}/return"),
            Some(&reviewer),
            &json!({"reason": "Trưởng ban chỉ đạo là Chủ tịch UBND theo Quyết định 12"}),
        )
        .await,
        200,
    )
    .await;
    let editor = app.token_for(Role::UnitEditor, Some("XA-BAT-XAT"));
    json_ok(
        app.put_json(
            &format!("/api/v1/assessments/{bat_xat}/answers/2.2"),
            &editor,
            &json!({"inputs": {"option": "chairman"}}),
        )
        .await,
        200,
    )
    .await;
    json_ok(
        app.post_json(
            &format!("/api/v1/assessments/{bat_xat}/submit"),
            Some(&app.token_for(Role::UnitLeader, Some("XA-BAT-XAT"))),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    for code in DEPARTMENTS.iter().chain(COMMUNES.iter()) {
        json_ok(
            app.post_json(
                &format!("/api/v1/assessments/{}/finalise", id_of(code)),
                Some(&reviewer),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
    }
    // rankings per group: departments. SYT (k = 4): 4 → 20, 4/4 → 20, 60/80 × 40 = 30, chairman
    // 20 = 90; SXD (k = 8): 3 → 15, 3/4 → 15, 80/80 × 40 = 40, chairman 20 = 90; SVHTTDL (k = 9):
    // 4 → 20, 4/4 → 20, 85 % capped at the target → 40, deputy 10 = 90: three tied first, in
    // code order; the next is fourth (STP, k = 3: 15 + 15 + 27.5 + 10 = 67.5, tied with SNNMT).
    let depts = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?group=LC-SO"),
            &reviewer,
        )
        .await,
        200,
    )
    .await;
    let top: Vec<(&str, i64, &str)> = depts["items"].as_array().unwrap()[..5]
        .iter()
        .map(|i| {
            (
                i["unit"]["code"].as_str().unwrap(),
                i["rank"].as_i64().unwrap(),
                i["points"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            ("SVHTTDL", 1, "90"),
            ("SXD", 1, "90"),
            ("SYT", 1, "90"),
            ("SNNMT", 4, "67.5"),
            ("STP", 4, "67.5")
        ]
    );
    assert_problem(
        app.get(&format!("/api/v1/periods/{period}/rankings"), &reviewer)
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;

    // publish both groups; the public reads them without a token
    for g in ["LC-SO", "LC-XA"] {
        json_ok(
            app.post_json(
                &format!("/api/v1/periods/{period}/publications"),
                Some(&admin),
                &json!({"group": g}),
            )
            .await,
            201,
        )
        .await;
    }
    transition(&app, &admin, &period, "published").await;
    let public = json_ok(app.get_public("/api/v1/public/periods").await, 200).await;
    assert_eq!(public[0]["groups"].as_array().unwrap().len(), 2);
    let resp = app
        .get_public(&format!("/api/v1/public/periods/{period}/rankings"))
        .await;
    assert_problem(resp, 422, "VALIDATION_FAILED").await;
    let so = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/rankings?group=LC-SO"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(so["content"]["rankings"][0]["points"], "90");
    let snv_pub = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/SNV?group=LC-SO"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(
        snv_pub["result"]["points"], "37.5",
        "the reviewed (final) number is published, not the self one"
    );
    let bat = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/units/XA-BAT-XAT?group=LC-XA"
        ))
        .await,
        200,
    )
    .await;
    // XA-BAT-XAT (k = 8 in the commune loop): 15 + 15 + 40 + 20 (chairman, confirmed after the return) = 90
    assert_eq!(bat["result"]["points"], "90");

    // errata: publish version 2 of the departments with a changelog; version 1 stays readable
    let v2 = json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(&admin),
            &json!({"group": "LC-SO", "changelog": "Đính chính tên đơn vị"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(v2["version"], 2);
    let v1 = json_ok(
        app.get_public(&format!(
            "/api/v1/public/periods/{period}/rankings?group=LC-SO&version=1"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(v1["version"], 1);

    // the audit trail has every step
    let trail = json_ok(
        app.get(
            &format!("/api/v1/audit-events?period_id={period}&page_size=500"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let mut actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.sort();
    actions.dedup();
    for step in [
        "period.create",
        "period.transition",
        "answer.upsert",
        "evidence.add",
        "assessment.submit",
        "adjustment.upsert",
        "assessment.return",
        "assessment.finalise",
        "publication.create",
    ] {
        assert!(actions.contains(&step), "{step} missing: {actions:?}");
    }
}
