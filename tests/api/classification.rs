//! Classification bands (xếp loại): validation, the boundary rule, bands on scores, rankings,
//! what-if, publications and public reads; and the public method a published index can be
//! recomputed from.

use dti_api::domain::Role;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use crate::fixtures::{assessment_of, open_period};
use crate::helpers::*;

/// Example thresholds with Bắc Ninh's labels (Xuất sắc / Tốt / Khá / Kém).
fn bands() -> Value {
    json!({"status": "example", "source": "Nhãn theo Bắc Ninh 2023; ngưỡng minh họa", "bands": [
        {"code": "XUAT_SAC", "label": "Xuất sắc", "label_en": "Excellent", "min_index": "0.9"},
        {"code": "TOT", "label": "Tốt", "label_en": "Good", "min_index": "0.6"},
        {"code": "KHA", "label": "Khá", "label_en": "Fair", "min_index": "0.4"},
        {"code": "KEM", "label": "Kém", "label_en": "Poor", "min_index": "0"}
    ]})
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("a decimal string, got {v}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn overlapping_or_unordered_bands_are_refused_with_pointers_and_vietnamese_messages() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None);
    let mut doc = dti_api::api::indicator_sets::example_document();
    doc["classification"] = bands();
    // Tốt and Khá start at the same index (overlap); Kém starts above Khá (unordered) and not at 0
    doc["classification"]["bands"][2]["min_index"] = json!("0.6");
    doc["classification"]["bands"][3]["min_index"] = json!("0.7");
    let resp = app
        .request(
            reqwest::Method::POST,
            "/api/v1/indicator-sets/validate",
            Some(&admin),
        )
        .header("accept-language", "vi")
        .json(&doc)
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 422, "INVALID_SET_DOCUMENT").await;
    let found: Vec<(String, String)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "/classification/bands/2/min_index".to_string(),
                "CLASS_BANDS_OVERLAP".to_string()
            ),
            (
                "/classification/bands/3/min_index".to_string(),
                "CLASS_BANDS_NOT_DESCENDING".to_string()
            ),
            (
                "/classification/bands/3/min_index".to_string(),
                "CLASS_BANDS_NO_FLOOR".to_string()
            ),
        ],
        "{p}"
    );
    assert_eq!(
        p["errors"][0]["message"],
        "hai mức xếp loại có cùng ngưỡng nên chồng lên nhau"
    );
    assert!(
        p["errors"][0]["message_en"]
            .as_str()
            .unwrap()
            .contains("overlap"),
        "{p}"
    );
    // nothing was stored: the same document with a proper scale imports
    doc["classification"] = bands();
    let set = json_ok(
        app.post_json("/api/v1/indicator-sets", Some(&admin), &doc)
            .await,
        201,
    )
    .await;
    assert_eq!(set["classification"]["bands"][1]["label"], "Tốt");
    assert_eq!(set["document"]["classification"]["status"], "example");
}

/// Answers of one commune of the example set (1.1 tiers with an explanation, 1.2 ratio, 2.2
/// choice) and its leader's submission.
async fn answer_and_submit(app: &TestApp, period: &str, unit: &str, answers: Value) -> String {
    let editor = app.token_for(Role::UnitEditor, Some(unit));
    let a = assessment_of(app, &editor, period, unit).await;
    crate::fixtures::answer_and_submit(app, unit, &a, &json!({ "answers": answers })).await;
    a
}

#[tokio::test]
async fn an_index_on_a_threshold_is_in_the_higher_band_on_scores_rankings_what_if_and_publications()
{
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let reviewer = app.token_for(Role::Reviewer, None);
    let (period, _) = open_period(&app, &admin, |d| d["classification"] = bands()).await;
    let meetings = |n: u32| json!({"node_code": "1.1", "inputs": {"value": n}, "explanation": "Biên bản lưu tại văn phòng"});
    // 20 + 20 × 3999/4000 (19.995) + 20 = 59.995 of 100: index 0.59995, published 0.6 → Tốt
    let lao_cai = answer_and_submit(
        &app,
        &period,
        "PHUONG-LAO-CAI",
        json!([meetings(4), {"node_code": "1.2", "inputs": {"numerator": 3999, "denominator": 4000}},
               {"node_code": "2.2", "inputs": {"option": "chairman"}}]),
    )
    .await;
    // 20 + 0 + 20 = 40 of 100: exactly on the Khá threshold → Khá
    let bac_ha = answer_and_submit(
        &app,
        &period,
        "XA-BAC-HA",
        json!([meetings(4), {"node_code": "1.2", "inputs": {"numerator": 0, "denominator": 4}},
               {"node_code": "2.2", "inputs": {"option": "chairman"}}]),
    )
    .await;
    // the other communes declare nothing that scores
    for unit in [
        "PHUONG-CAM-DUONG",
        "PHUONG-SA-PA",
        "PHUONG-YEN-BAI",
        "PHUONG-NGHIA-LO",
        "PHUONG-VAN-PHU",
        "XA-MUONG-KHUONG",
        "XA-BAT-XAT",
        "XA-TRAN-YEN",
    ] {
        answer_and_submit(
            &app,
            &period,
            unit,
            json!([meetings(0), {"node_code": "1.2", "inputs": {"numerator": 0, "denominator": 4}},
                   {"node_code": "2.2", "inputs": {"option": "none"}}]),
        )
        .await;
    }

    // the score summary, the score tree and its standing
    let a = json_ok(
        app.get(&format!("/api/v1/assessments/{lao_cai}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(a["score"]["reviewed_points"], "59.995");
    assert_eq!(a["score"]["band"]["code"], "TOT", "{a}");
    assert_eq!(a["score"]["band"]["label"], "Tốt");
    assert_eq!(a["score"]["band"]["example"], true);
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{bac_ha}/score"), &admin)
            .await,
        200,
    )
    .await;
    let standing = &tree["standing"];
    assert_eq!(standing["band"]["code"], "KHA", "{standing}");
    assert_eq!(standing["next_band"]["code"], "TOT");
    // (0.6 − 0.00005) × 100 − 40: the least that publishes as 0.6
    assert_eq!(standing["points_to_next_band"], "19.995");
    let tree = json_ok(
        app.get(&format!("/api/v1/assessments/{lao_cai}/score"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(tree["standing"]["next_band"]["code"], "XUAT_SAC");
    assert_eq!(tree["standing"]["points_to_next_band"], "30");

    // what-if: exactly the points needed reach the next band, a hundredth less does not
    let what_if = |numerator: u32| {
        let app = &app;
        let admin = &admin;
        let bac_ha = &bac_ha;
        async move {
            json_ok(
                app.post_json(
                    &format!("/api/v1/assessments/{bac_ha}/what-if"),
                    Some(admin),
                    &json!({"answers": [{"node_code": "1.2", "inputs": {"numerator": numerator, "denominator": 4000}}]}),
                )
                .await,
                200,
            )
            .await
        }
    };
    let w = what_if(3999).await;
    assert_eq!(
        (&w["index"], &w["band"]["code"]),
        (&json!("0.6000"), &json!("TOT")),
        "{w}"
    );
    assert_eq!(w["next_band"]["code"], "XUAT_SAC");
    assert_eq!(w["points_to_next_band"], "30");
    assert_eq!(w["score"]["standing"]["band"]["code"], "TOT");
    let w = what_if(3998).await;
    assert_eq!(
        (&w["index"], &w["band"]["code"]),
        (&json!("0.5999"), &json!("KHA"))
    );
    assert_eq!(w["points_to_next_band"], "0.005");

    // rankings: the band of the overall index, on the value people see
    let r = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?group=LC-XA"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let entry = |code: &str| {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["unit"]["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("PHUONG-LAO-CAI")["index"], "0.6000");
    assert_eq!(entry("PHUONG-LAO-CAI")["band"]["code"], "TOT");
    assert_eq!(entry("XA-BAC-HA")["band"]["code"], "KHA");
    assert_eq!(entry("XA-TRAN-YEN")["band"]["code"], "KEM");
    let by_main = json_ok(
        app.get(
            &format!("/api/v1/periods/{period}/rankings?group=LC-XA&main_indicator=1"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(by_main["items"][0]["band"], Value::Null);

    // publication: every entry carries its band, the snapshot the set's classification
    transition(&app, &admin, &period, "review").await;
    let list = json_ok(
        app.get(&format!("/api/v1/periods/{period}/assessments"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["unit"]["code"] == "XA-BAC-HA")
            .unwrap()["score"]["band"]["code"],
        "KHA"
    );
    for a in list.as_array().unwrap() {
        let id = a["id"].as_str().unwrap();
        json_ok(
            app.post_json(
                &format!("/api/v1/assessments/{id}/finalise"),
                Some(&reviewer),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
    }
    // not public before publication: neither the results nor the method
    assert_problem(
        app.get_public(&format!("/api/v1/public/periods/{period}/method"))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let published = json_ok(
        app.post_json(
            &format!("/api/v1/periods/{period}/publications"),
            Some(&admin),
            &json!({"group": "LC-XA"}),
        )
        .await,
        201,
    )
    .await;
    let content = &published["content"];
    assert_eq!(content["indicator_set"]["classification"], bands());
    assert_eq!(content["rankings"][0]["unit"]["code"], "PHUONG-LAO-CAI");
    assert_eq!(
        content["rankings"][0]["band"],
        json!({"code": "TOT", "label": "Tốt", "label_en": "Good"})
    );
    let public = json_ok(
        app.get_public(&format!("/api/v1/public/periods/{period}/units/XA-BAC-HA"))
            .await,
        200,
    )
    .await;
    assert_eq!(public["result"]["band"]["code"], "KHA");

    // the public method: anyone recomputes the published index and band from it
    let resp = app
        .get_public(&format!("/api/v1/public/periods/{period}/method"))
        .await;
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("public")
    );
    let method = json_ok(resp, 200).await;
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/public/periods/{period}/method")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    assert_eq!(method["version"], 1);
    assert_eq!(method["checksum"], published["checksum"]);
    let set = &method["indicator_set"];
    assert_eq!(set["code"], "VD-XA-100");
    assert_eq!(set["schema_version"], 2);
    assert_eq!(set["classification"], bands());
    assert_eq!(
        set["nodes"][0]["children"][0]["method"]["bands"][3]["points"],
        "20"
    );
    assert!(
        method["rules"]["band"]
            .as_str()
            .unwrap()
            .contains("higher band")
    );
    // what each component takes and how it is scored
    let schema = &method["input_schemas"]["1.2"];
    assert_eq!(
        schema["properties"]["numerator"]["title"],
        "Số cuộc họp do Chủ tịch chủ trì"
    );
    assert!(
        schema["x-formula"]
            .as_str()
            .unwrap()
            .starts_with("S = 20 × numerator / denominator"),
        "{schema}"
    );
    assert_eq!(method["input_schemas"].as_object().unwrap().len(), 4);
    for code in ["PHUONG-LAO-CAI", "XA-BAC-HA", "XA-TRAN-YEN"] {
        let unit = json_ok(
            app.get_public(&format!("/api/v1/public/periods/{period}/units/{code}"))
                .await,
            200,
        )
        .await;
        recompute(set, &unit["result"]);
    }
}

/// Recomputes a published unit result from the public method: each main indicator's
/// applicable maximum is within its max_points, the total is the sum of the mains (the example
/// set has no bonus or penalty), the index is points ÷ applicable maximum rounded half away
/// from zero to the set's precision, and the band is the first whose min_index it reaches.
fn recompute(set: &Value, result: &Value) {
    let mains: Vec<&Value> = set["nodes"].as_array().unwrap().iter().collect();
    let mut points = Decimal::ZERO;
    let mut max = Decimal::ZERO;
    for m in result["main_indicators"].as_array().unwrap() {
        let node = mains.iter().find(|n| n["code"] == m["code"]).unwrap();
        assert!(dec(&m["applicable_max"]) <= dec(&node["max_points"]));
        points += dec(&m["points"]);
        max += dec(&m["applicable_max"]);
    }
    assert_eq!(points, dec(&result["points"]), "{result}");
    assert_eq!(max, dec(&result["applicable_max"]));
    let precision = set["precision"].as_u64().unwrap() as u32;
    let index = (points / max)
        .round_dp_with_strategy(precision, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    assert_eq!(index, dec(&result["index"]), "{result}");
    let band = set["classification"]["bands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| dec(&b["min_index"]) <= index)
        .unwrap();
    assert_eq!(band["code"], result["band"]["code"], "{result}");
}
