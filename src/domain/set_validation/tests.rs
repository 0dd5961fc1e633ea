use super::*;
use crate::domain::indicator_set::ClassificationStatus;
use serde_json::json;

// -- fixtures -------------------------------------------------------------------------------

fn ratio(code: &str, name: &str, max: &str) -> Value {
    json!({"code": code, "kind": "component", "name": name, "max_points": max,
           "method": {"type": "ratio"}})
}

fn boolean(code: &str, name: &str, max: &str) -> Value {
    json!({"code": code, "kind": "component", "name": name, "max_points": max,
           "method": {"type": "boolean"}})
}

/// Thanh Hóa district set (QĐ 3716/QĐ-UBND, 2021): 270 = 160 + 75 + 35, nested form.
/// Points per main indicator and the methods are illustrative.
/// Group "Chính quyền số", 160 points.
fn cqs_group() -> Value {
    json!(
            {"code": "CQS", "kind": "group", "name": "Chính quyền số", "max_points": "160",
             "children": [
                {"code": "1", "kind": "main", "name": "Nhận thức số", "max_points": "40",
                 "children": [
                    {"code": "1.1", "kind": "component", "name": "Số cuộc họp Ban chỉ đạo",
                     "max_points": "20", "replaces": ["1.1"],
                     "method": {"type": "tiers", "bands": [
                        {"threshold": "1", "points": "5"}, {"threshold": "2", "points": "10"},
                        {"threshold": "3", "points": "15"}, {"threshold": "4", "points": "20"}]}},
                    ratio("1.2", "Tỷ lệ cuộc họp do Chủ tịch chủ trì", "20")
                 ]},
                {"code": "2", "kind": "main", "name": "Hạ tầng số", "max_points": "50",
                 "children": [
                    boolean("2.1", "Cổng thông tin có chuyên mục CĐS", "10"),
                    ratio("2.2", "Tỷ lệ cán bộ có máy tính", "20"),
                    {"code": "2.3", "kind": "component", "name": "Trưởng Ban chỉ đạo",
                     "max_points": "20",
                     "method": {"type": "choice", "options": [
                        {"code": "chu_tich", "label": "Chủ tịch", "points": "20"},
                        {"code": "pho_chu_tich", "label": "Phó Chủ tịch", "points": "10"},
                        {"code": "khong", "label": "Không có", "points": "0"}]}}
                 ]},
                {"code": "3", "kind": "main", "name": "Hoạt động chính quyền số",
                 "max_points": "70",
                 "children": [
                    {"code": "3.1", "kind": "component", "name": "Hồ sơ trực tuyến toàn trình",
                     "max_points": "30", "automatic": true, "data_source": "Cổng DVC",
                     "method": {"type": "ratio_to_target", "target": "0.8"}},
                    {"code": "3.2", "kind": "component", "name": "Mức độ hài lòng",
                     "max_points": "20",
                     "method": {"type": "survey", "zero_denominator": "not_applicable"}},
                    {"code": "3.3", "kind": "component", "name": "Ứng dụng trên mạng WAN",
                     "max_points": "10",
                     "method": {"type": "capped_sum", "items": [
                        {"code": "app", "label": "Ứng dụng", "points_per_unit": "1", "cap": "5"},
                        {"code": "csdl", "label": "Cơ sở dữ liệu", "points_per_unit": "2.5"}]}},
                    {"code": "3.4", "kind": "component", "name": "Văn bản điện tử",
                     "max_points": "10",
                     "children": [
                        {"code": "3.4.a", "kind": "criterion", "name": "Chữ ký số",
                         "max_points": "5", "method": {"type": "manual"},
                         "evidence": "required"},
                        {"code": "3.4.b", "kind": "criterion", "name": "Liên thông",
                         "max_points": "5", "method": {"type": "boolean"}}
                     ]}
                 ]}
             ]}
    )
}

/// Groups "Kinh tế số" (75) and "Xã hội số" (35).
fn economy_and_society() -> Value {
    json!([
            {"code": "KTS", "kind": "group", "name": "Kinh tế số", "max_points": "75",
             "children": [
                {"code": "4", "kind": "main", "name": "Hoạt động kinh tế số", "max_points": "75",
                 "children": [
                    {"code": "4.1", "kind": "component", "name": "Doanh nghiệp dùng hóa đơn điện tử",
                     "max_points": "25", "replaces": ["4.1-2020"], "method": {"type": "ratio"}},
                    {"code": "4.2", "kind": "component", "name": "Băng thông bình quân",
                     "max_points": "25", "method": {"type": "relative_to_best"}},
                    {"code": "4.3", "kind": "component", "name": "Hồ sơ quá hạn",
                     "max_points": "25",
                     "method": {"type": "tiers", "direction": "lower_is_better", "bands": [
                        {"threshold": "0", "points": "25"}, {"threshold": "5", "points": "15"},
                        {"threshold": "10", "points": "5"}]}}
                 ]}
             ]},
            {"code": "XHS", "kind": "group", "name": "Xã hội số", "max_points": "35",
             "children": [
                {"code": "5", "kind": "main", "name": "Hoạt động xã hội số", "max_points": "35",
                 "children_policy": "cap",
                 "children": [
                    {"code": "5.1", "kind": "component", "name": "Người dân có VNeID mức 2",
                     "max_points": "20", "evidence": "required", "method": {"type": "ratio"}},
                    {"code": "5.2", "kind": "component", "name": "Lớp kỹ năng số",
                     "max_points": "15", "method": {"type": "boolean"},
                     "applicability": {"declarable_not_applicable": true}},
                    {"code": "5.3", "kind": "component", "name": "Khảo sát người dân",
                     "max_points": "5", "method": {"type": "survey"}}
                 ]}
             ]}
    ])
}

fn nested() -> Value {
    json!({
        "schema_version": 2,
        "code": "TH-HUYEN",
        "version": 1,
        "name": "Bộ chỉ số đánh giá chuyển đổi số cấp huyện",
        "target_unit_kind": "district",
        "year": 2021,
        "legal_basis": {"decision_number": "3716/QĐ-UBND", "decision_date": "2021-09-23",
                        "issuer": "UBND tỉnh Thanh Hóa"},
        "scale": "270",
        "precision": 4,
        "points_precision": 2,
        "provenance": "structure [project-src]; points and methods [inferred]",
        "pillars": [
            {"code": "CQS", "name": "Chính quyền số", "main_indicators": ["1", "2", "3"]},
            {"code": "KTS", "name": "Kinh tế số", "main_indicators": ["1", "2", "4"]},
            {"code": "XHS", "name": "Xã hội số", "main_indicators": ["1", "2", "5"]}
        ],
        "nodes": [
            cqs_group(),
            economy_and_society()[0].clone(),
            economy_and_society()[1].clone(),
            {"code": "TT", "kind": "group", "name": "Thông tin chung", "max_points": "0",
             "children": [
                {"code": "TT.1", "kind": "component", "name": "Dân số", "max_points": "0"}
             ]},
            {"code": "B", "kind": "bonus", "name": "Điểm thưởng", "max_points": "10",
             "method": {"type": "manual"}},
            {"code": "P", "kind": "penalty", "name": "Điểm trừ", "max_points": "10",
             "method": {"type": "manual"}}
        ]
    })
}

/// The same set in flat form: every node at the top level with `parent`, deepest nodes
/// listed first (a stable partition, so siblings keep their order).
fn flat() -> Value {
    let mut v = nested();
    let mut rows: Vec<(usize, Value)> = Vec::new();
    let mut stack: Vec<(Value, Option<String>, usize)> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|n| (n.clone(), None, 0))
        .collect();
    while let Some((mut n, parent, depth)) = stack.pop() {
        let children = n
            .as_object_mut()
            .unwrap()
            .remove("children")
            .unwrap_or(json!([]));
        let code = n["code"].as_str().unwrap().to_string();
        for c in children.as_array().unwrap().iter().rev() {
            stack.push((c.clone(), Some(code.clone()), depth + 1));
        }
        if let Some(p) = parent {
            n["parent"] = json!(p);
        }
        rows.push((depth, n));
    }
    rows.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    v["nodes"] = Value::Array(rows.into_iter().map(|(_, n)| n).collect());
    v
}

fn typed(v: &Value) -> SetDocument {
    serde_json::from_value(v.clone()).expect("the fixture must type")
}

/// Every problem of the whole pipeline (an unknown unit kind does not type).
fn problems_of(v: &Value) -> Vec<DocProblem> {
    parse_document(v).err().unwrap_or_default()
}

fn found(v: &Value) -> Vec<(&'static str, String)> {
    let mut f: Vec<_> = problems_of(v)
        .into_iter()
        .map(|p| (p.code, p.pointer))
        .collect();
    f.sort();
    f
}

fn with(base: Value, change: impl FnOnce(&mut Value)) -> Value {
    let mut v = base;
    change(&mut v);
    v
}

fn at<'a>(v: &'a mut Value, ptr: &str) -> &'a mut Value {
    v.pointer_mut(ptr)
        .unwrap_or_else(|| panic!("no {ptr} in fixture"))
}

/// Index in the flat fixture's `nodes` of the node with this code.
fn flat_index(v: &Value, code: &str) -> usize {
    v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|n| n["code"] == code)
        .unwrap()
}

#[track_caller]
fn assert_only(v: &Value, code: &'static str, pointer: &str) {
    let problems = problems_of(v);
    assert_eq!(
        found(v),
        vec![(code, pointer.to_string())],
        "all problems: {problems:#?}"
    );
    assert!(!problems[0].message.is_empty());
}

#[track_caller]
fn assert_all(v: &Value, expected: &[(&'static str, &str)]) {
    let mut want: Vec<(&'static str, String)> =
        expected.iter().map(|(c, p)| (*c, p.to_string())).collect();
    want.sort();
    assert_eq!(found(v), want, "all problems: {:#?}", problems_of(v));
}

// pointers into the nested fixture
const MAIN1: &str = "/nodes/0/children/0";
const C1_1: &str = "/nodes/0/children/0/children/0";
const C1_2: &str = "/nodes/0/children/0/children/1";
const C2_1: &str = "/nodes/0/children/1/children/0";
const C2_2: &str = "/nodes/0/children/1/children/1";
const C2_3: &str = "/nodes/0/children/1/children/2";
const MAIN3: &str = "/nodes/0/children/2";
const C3_1: &str = "/nodes/0/children/2/children/0";
const C3_3: &str = "/nodes/0/children/2/children/2";
const CR3_4A: &str = "/nodes/0/children/2/children/3/children/0";
const C4_2: &str = "/nodes/1/children/0/children/1";
const C4_3: &str = "/nodes/1/children/0/children/2";
const MAIN5: &str = "/nodes/2/children/0";
const C5_2: &str = "/nodes/2/children/0/children/1";
const BONUS: &str = "/nodes/4";

// -- valid documents ----------------------------------------------------------------------

#[test]
fn the_nested_thanh_hoa_set_is_valid() {
    assert_eq!(validate(&typed(&nested())), vec![]);
    assert_eq!(check_raw(&nested()), vec![]);
}

#[test]
fn the_flat_thanh_hoa_set_is_valid_and_normalizes_to_the_nested_one() {
    let flat = flat();
    assert_eq!(flat["nodes"].as_array().unwrap().len(), 29);
    assert_eq!(
        flat["nodes"][0]["code"], "3.4.a",
        "deepest nodes come first"
    );
    assert_eq!(validate(&typed(&flat)), vec![]);
    assert_eq!(check_raw(&flat), vec![]);
    assert_eq!(normalize(&typed(&flat)), typed(&nested()));
}

#[test]
fn normalizing_a_nested_set_changes_nothing() {
    let doc = typed(&nested());
    assert_eq!(normalize(&doc), doc);
}

#[test]
fn a_mixed_set_puts_flat_children_after_nested_ones_in_document_order() {
    // main "1" keeps 1.1 nested; 1.2 moves to the top level with parent "1"
    let v = with(nested(), |v| {
        let c = at(v, MAIN1)["children"].as_array_mut().unwrap().remove(1);
        let mut c = c;
        c["parent"] = json!("1");
        v["nodes"].as_array_mut().unwrap().push(c);
    });
    assert_eq!(validate(&typed(&v)), vec![]);
    assert_eq!(normalize(&typed(&v)), typed(&nested()));
}

#[test]
fn parse_document_returns_the_normalized_set() {
    assert_eq!(parse_document(&flat()), Ok(typed(&nested())));
}

// -- identity ------------------------------------------------------------------------------

#[test]
fn an_empty_set_code_is_rejected() {
    assert_only(
        &with(nested(), |v| v["code"] = json!(" ")),
        CODE_EMPTY,
        "/code",
    );
}

#[test]
fn a_node_code_with_a_space_is_invalid() {
    let v = with(nested(), |v| at(v, C2_1)["code"] = json!("2 1"));
    assert_only(&v, CODE_INVALID, &format!("{C2_1}/code"));
}

#[test]
fn a_code_of_65_characters_is_invalid() {
    let v = with(nested(), |v| v["code"] = json!("A".repeat(65)));
    assert_only(&v, CODE_INVALID, "/code");
    let v = with(nested(), |v| v["code"] = json!("A".repeat(64)));
    assert_eq!(found(&v), vec![]);
}

#[test]
fn version_zero_is_invalid() {
    assert_only(
        &with(nested(), |v| v["version"] = json!(0)),
        VERSION_INVALID,
        "/version",
    );
}

#[test]
fn a_blank_node_name_is_rejected() {
    let v = with(nested(), |v| at(v, C1_2)["name"] = json!("  "));
    assert_only(&v, NAME_EMPTY, &format!("{C1_2}/name"));
}

#[test]
fn an_unknown_unit_kind_is_rejected() {
    let v = with(nested(), |v| v["target_unit_kind"] = json!("city"));
    assert_only(&v, UNIT_KIND_INVALID, "/target_unit_kind");
}

#[test]
fn precision_9_is_out_of_range() {
    let v = with(nested(), |v| v["precision"] = json!(9));
    assert_only(&v, PRECISION_OUT_OF_RANGE, "/precision");
}

#[test]
fn points_precision_7_is_out_of_range() {
    let v = with(nested(), |v| v["points_precision"] = json!(7));
    assert_only(&v, PRECISION_OUT_OF_RANGE, "/points_precision");
}

#[test]
fn year_1999_is_out_of_range() {
    assert_only(
        &with(nested(), |v| v["year"] = json!(1999)),
        YEAR_OUT_OF_RANGE,
        "/year",
    );
}

#[test]
fn an_empty_decision_number_is_rejected() {
    let v = with(nested(), |v| {
        v["legal_basis"]["decision_number"] = json!("")
    });
    assert_only(&v, LEGAL_BASIS_INCOMPLETE, "/legal_basis/decision_number");
}

// -- tree ----------------------------------------------------------------------------------

#[test]
fn a_duplicate_code_is_reported_at_the_second_occurrence_naming_the_first() {
    let v = with(nested(), |v| at(v, C2_2)["code"] = json!("1.2"));
    assert_only(&v, DUPLICATE_CODE, &format!("{C2_2}/code"));
    let p = validate(&typed(&v)).remove(0);
    assert!(p.message.contains(C1_2), "{}", p.message);
}

#[test]
fn a_flat_parent_naming_no_node_is_reported_at_its_parent_member() {
    let base = flat();
    let i = flat_index(&base, "TT.1");
    let v = with(base, |v| v["nodes"][i]["parent"] = json!("TX"));
    assert_only(&v, PARENT_NOT_FOUND, &format!("/nodes/{i}/parent"));
}

#[test]
fn a_flat_parent_cycle_is_reported_once_at_its_first_member() {
    let base = flat();
    let tt = flat_index(&base, "TT");
    let tt1 = flat_index(&base, "TT.1");
    assert!(tt1 < tt);
    let v = with(base, |v| v["nodes"][tt]["parent"] = json!("TT.1"));
    assert_only(&v, PARENT_CYCLE, &format!("/nodes/{tt1}/parent"));
    let p = validate(&typed(&v)).remove(0);
    assert!(
        p.message.contains("\"TT.1\" → \"TT\" → \"TT.1\""),
        "{}",
        p.message
    );
}

#[test]
fn a_node_whose_parent_is_nested_inside_it_is_a_cycle() {
    let base = nested();
    let v = with(base, |v| v["nodes"][3]["parent"] = json!("TT.1"));
    assert_only(&v, PARENT_CYCLE, "/nodes/3/parent");
    let p = validate(&typed(&v)).remove(0);
    assert!(
        p.message.contains("\"TT.1\" (inside \"TT\")"),
        "{}",
        p.message
    );
}

#[test]
fn a_node_that_is_its_own_parent_is_a_cycle() {
    let base = flat();
    let tt = flat_index(&base, "TT");
    let v = with(base, |v| v["nodes"][tt]["parent"] = json!("TT"));
    assert_only(&v, PARENT_CYCLE, &format!("/nodes/{tt}/parent"));
}

#[test]
fn a_nested_node_must_not_declare_a_parent() {
    let v = with(nested(), |v| at(v, C1_1)["parent"] = json!("1"));
    assert_only(&v, PARENT_AND_NESTED, &format!("{C1_1}/parent"));
}

#[test]
fn a_criterion_directly_under_a_main_breaks_the_kind_order() {
    let v = with(nested(), |v| at(v, C2_1)["kind"] = json!("criterion"));
    assert_only(&v, KIND_ORDER, &format!("{C2_1}/kind"));
}

#[test]
fn a_component_under_a_component_breaks_the_kind_order() {
    let v = with(nested(), |v| at(v, CR3_4A)["kind"] = json!("component"));
    assert_only(&v, KIND_ORDER, &format!("{CR3_4A}/kind"));
}

#[test]
fn a_scored_component_at_the_top_level_breaks_the_kind_order() {
    let v = with(nested(), |v| {
        at(v, BONUS)["kind"] = json!("component");
        v["scale"] = json!("280");
    });
    assert_only(&v, KIND_ORDER, &format!("{BONUS}/kind"));
}

#[test]
fn a_flat_component_under_a_group_breaks_the_kind_order_and_both_sums() {
    let base = flat();
    let i = flat_index(&base, "2.1");
    let main2 = flat_index(&base, "2");
    let cqs = flat_index(&base, "CQS");
    let v = with(base, |v| v["nodes"][i]["parent"] = json!("CQS"));
    assert_all(
        &v,
        &[
            (KIND_ORDER, &format!("/nodes/{i}/kind")),
            (CHILDREN_SUM_MISMATCH, &format!("/nodes/{main2}/max_points")),
            (CHILDREN_SUM_MISMATCH, &format!("/nodes/{cqs}/max_points")),
        ],
    );
}

#[test]
fn a_tree_deeper_than_8_levels_is_too_deep() {
    let mut chain = json!({"code": "G8", "kind": "group", "name": "G8", "max_points": "0"});
    for level in (1..8).rev() {
        chain = json!({"code": format!("G{level}"), "kind": "group", "name": "G",
                       "max_points": "0", "children": [chain]});
    }
    let v = with(nested(), |v| v["nodes"][3]["children"] = json!([chain]));
    let ptr = format!("/nodes/3{}", "/children/0".repeat(8));
    assert_only(&v, TOO_DEEP, &ptr);
}

#[test]
fn a_set_without_nodes_is_rejected() {
    let v = with(nested(), |v| {
        v["nodes"] = json!([]);
        v["pillars"] = json!([]);
    });
    assert_only(&v, NO_NODES, "/nodes");
}

// -- points --------------------------------------------------------------------------------

#[test]
fn a_negative_max_is_rejected() {
    let v = with(nested(), |v| at(v, BONUS)["max_points"] = json!("-10"));
    assert_only(&v, NEGATIVE_POINTS, &format!("{BONUS}/max_points"));
}

#[test]
fn children_that_do_not_add_up_are_a_sum_mismatch_with_both_numbers() {
    let v = with(nested(), |v| at(v, C1_2)["max_points"] = json!("25"));
    assert_only(&v, CHILDREN_SUM_MISMATCH, &format!("{MAIN1}/max_points"));
    let m = validate(&typed(&v)).remove(0).message;
    assert!(m.contains("40") && m.contains("45"), "{m}");
}

#[test]
fn capped_children_below_the_max_make_it_unreachable() {
    let v = with(nested(), |v| {
        at(v, MAIN1)["children_policy"] = json!("cap");
        at(v, C1_2)["max_points"] = json!("15");
    });
    assert_only(&v, CHILDREN_SUM_BELOW_MAX, &format!("{MAIN1}/max_points"));
}

#[test]
fn a_scale_that_is_not_the_sum_of_the_top_level_is_a_mismatch() {
    let v = with(nested(), |v| v["scale"] = json!("280"));
    assert_only(&v, SCALE_MISMATCH, "/scale");
    let m = validate(&typed(&v)).remove(0).message;
    assert!(m.contains("280") && m.contains("270"), "{m}");
}

#[test]
fn a_zero_scale_is_not_positive() {
    assert_only(
        &with(nested(), |v| v["scale"] = json!("0")),
        SCALE_NOT_POSITIVE,
        "/scale",
    );
}

// -- leaves and methods --------------------------------------------------------------------

#[test]
fn a_scored_leaf_without_method_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C2_1).as_object_mut().unwrap().remove("method");
    });
    assert_only(&v, METHOD_MISSING, &format!("{C2_1}/method"));
}

#[test]
fn a_method_on_a_main_indicator_is_rejected() {
    let v = with(nested(), |v| {
        at(v, MAIN1)["method"] = json!({"type": "manual"})
    });
    assert_only(&v, METHOD_ON_INNER_NODE, &format!("{MAIN1}/method"));
}

#[test]
fn tiers_without_bands_are_rejected() {
    let v = with(nested(), |v| at(v, C1_1)["method"]["bands"] = json!([]));
    assert_only(&v, TIERS_EMPTY, &format!("{C1_1}/method/bands"));
}

#[test]
fn tier_thresholds_must_ascend_strictly() {
    let v = with(nested(), |v| {
        at(v, C1_1)["method"]["bands"] = json!([
            {"threshold": "1", "points": "5"}, {"threshold": "3", "points": "10"},
            {"threshold": "3", "points": "15"}, {"threshold": "4", "points": "20"}]);
    });
    assert_only(
        &v,
        TIERS_NOT_ORDERED,
        &format!("{C1_1}/method/bands/2/threshold"),
    );
}

#[test]
fn higher_is_better_tier_points_must_not_decrease() {
    let v = with(nested(), |v| {
        at(v, C1_1)["method"]["bands"][2]["points"] = json!("8")
    });
    assert_only(
        &v,
        TIERS_NOT_ORDERED,
        &format!("{C1_1}/method/bands/2/points"),
    );
}

#[test]
fn lower_is_better_tier_points_must_not_increase() {
    let v = with(nested(), |v| {
        at(v, C4_3)["method"]["bands"][2]["points"] = json!("20")
    });
    assert_only(
        &v,
        TIERS_NOT_ORDERED,
        &format!("{C4_3}/method/bands/2/points"),
    );
}

#[test]
fn a_band_above_the_max_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C1_1)["method"]["bands"][3]["points"] = json!("25")
    });
    assert_only(
        &v,
        BAND_POINTS_EXCEED_MAX,
        &format!("{C1_1}/method/bands/3/points"),
    );
}

#[test]
fn a_negative_band_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C1_1)["method"]["bands"][0]["points"] = json!("-1")
    });
    assert_only(
        &v,
        NEGATIVE_POINTS,
        &format!("{C1_1}/method/bands/0/points"),
    );
}

#[test]
fn a_choice_without_options_is_rejected() {
    let v = with(nested(), |v| at(v, C2_3)["method"]["options"] = json!([]));
    assert_only(&v, CHOICE_EMPTY, &format!("{C2_3}/method/options"));
}

#[test]
fn a_duplicate_option_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C2_3)["method"]["options"][1]["code"] = json!("chu_tich");
    });
    assert_only(
        &v,
        DUPLICATE_OPTION,
        &format!("{C2_3}/method/options/1/code"),
    );
}

#[test]
fn an_option_above_the_max_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C2_3)["method"]["options"][0]["points"] = json!("30")
    });
    assert_only(
        &v,
        OPTION_POINTS_EXCEED_MAX,
        &format!("{C2_3}/method/options/0/points"),
    );
}

#[test]
fn a_negative_option_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C2_3)["method"]["options"][2]["points"] = json!("-5")
    });
    assert_only(
        &v,
        NEGATIVE_POINTS,
        &format!("{C2_3}/method/options/2/points"),
    );
}

#[test]
fn an_option_code_with_a_slash_is_invalid() {
    let v = with(nested(), |v| {
        at(v, C2_3)["method"]["options"][2]["code"] = json!("a/b")
    });
    assert_only(&v, CODE_INVALID, &format!("{C2_3}/method/options/2/code"));
}

#[test]
fn a_target_must_be_in_0_exclusive_to_1_inclusive() {
    for bad in ["0", "1.5", "-0.2"] {
        let v = with(nested(), |v| at(v, C3_1)["method"]["target"] = json!(bad));
        assert_only(&v, TARGET_OUT_OF_RANGE, &format!("{C3_1}/method/target"));
    }
    let v = with(nested(), |v| at(v, C3_1)["method"]["target"] = json!("1"));
    assert_eq!(found(&v), vec![]);
}

#[test]
fn a_capped_sum_without_items_is_rejected() {
    let v = with(nested(), |v| at(v, C3_3)["method"]["items"] = json!([]));
    assert_only(&v, ITEMS_EMPTY, &format!("{C3_3}/method/items"));
}

#[test]
fn a_duplicate_item_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C3_3)["method"]["items"][1]["code"] = json!("app")
    });
    assert_only(&v, DUPLICATE_ITEM, &format!("{C3_3}/method/items/1/code"));
}

#[test]
fn an_item_cap_above_the_max_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C3_3)["method"]["items"][0]["cap"] = json!("15")
    });
    assert_only(
        &v,
        ITEM_CAP_EXCEEDS_MAX,
        &format!("{C3_3}/method/items/0/cap"),
    );
}

#[test]
fn a_negative_item_cap_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C3_3)["method"]["items"][0]["cap"] = json!("-1")
    });
    assert_only(&v, NEGATIVE_POINTS, &format!("{C3_3}/method/items/0/cap"));
}

#[test]
fn item_points_must_be_positive() {
    let v = with(nested(), |v| {
        at(v, C3_3)["method"]["items"][1]["points_per_unit"] = json!("0");
    });
    assert_only(
        &v,
        ITEM_POINTS_NOT_POSITIVE,
        &format!("{C3_3}/method/items/1/points_per_unit"),
    );
}

#[test]
fn an_automatic_main_indicator_is_rejected() {
    let v = with(nested(), |v| at(v, MAIN3)["automatic"] = json!(true));
    assert_only(&v, AUTOMATIC_ON_INNER_NODE, &format!("{MAIN3}/automatic"));
}

#[test]
fn evidence_on_a_main_indicator_is_rejected() {
    let v = with(nested(), |v| at(v, MAIN5)["evidence"] = json!("required"));
    assert_only(&v, EVIDENCE_ON_INNER_NODE, &format!("{MAIN5}/evidence"));
}

#[test]
fn applicability_on_a_main_indicator_is_rejected() {
    let v = with(nested(), |v| {
        at(v, MAIN5)["applicability"] = json!({"unit_tags_any": ["kinh_te_so"]});
    });
    assert_only(
        &v,
        APPLICABILITY_ON_INNER_NODE,
        &format!("{MAIN5}/applicability"),
    );
}

#[test]
fn a_bonus_below_the_top_level_is_rejected() {
    let v = with(nested(), |v| at(v, C5_2)["kind"] = json!("bonus"));
    assert_only(&v, BONUS_NOT_TOP_LEVEL, &format!("{C5_2}/kind"));
}

#[test]
fn a_bonus_with_nested_children_is_rejected() {
    let v = with(nested(), |v| {
        let b = at(v, BONUS).as_object_mut().unwrap();
        b.remove("method");
        b.insert(
            "children".into(),
            json!([{"code": "B.1", "kind": "component", "name": "Giải thưởng",
                    "max_points": "10", "method": {"type": "manual"}}]),
        );
    });
    assert_only(&v, BONUS_NOT_TOP_LEVEL, &format!("{BONUS}/children"));
}

#[test]
fn a_penalty_with_a_flat_child_is_reported_at_the_child_parent_member() {
    let base = flat();
    let p = flat_index(&base, "P");
    let v = with(base, |v| {
        v["nodes"][p].as_object_mut().unwrap().remove("method");
        v["nodes"].as_array_mut().unwrap().push(json!(
            {"code": "P.1", "kind": "component", "parent": "P", "name": "Sự cố",
             "max_points": "10", "method": {"type": "manual"}}));
    });
    assert_only(&v, BONUS_NOT_TOP_LEVEL, "/nodes/29/parent");
}

#[test]
fn descriptive_zero_nodes_may_have_no_method_and_any_kind() {
    // "Thông tin chung": a top-level component of 0 points with a 0-point child
    let v = with(nested(), |v| {
        v["nodes"][3]["kind"] = json!("component");
        v["nodes"][3]["children"][0]["kind"] = json!("group");
    });
    assert_eq!(found(&v), vec![]);
}

// -- pillars and replacements --------------------------------------------------------------

#[test]
fn a_duplicate_pillar_is_rejected() {
    let v = with(nested(), |v| v["pillars"][2]["code"] = json!("CQS"));
    assert_only(&v, DUPLICATE_PILLAR, "/pillars/2/code");
}

#[test]
fn an_empty_pillar_is_rejected() {
    let v = with(nested(), |v| v["pillars"][0]["main_indicators"] = json!([]));
    assert_only(&v, PILLAR_EMPTY, "/pillars/0/main_indicators");
}

#[test]
fn a_pillar_naming_an_unknown_indicator_is_rejected() {
    let v = with(nested(), |v| {
        v["pillars"][0]["main_indicators"] = json!(["1", "2", "3", "9"])
    });
    assert_only(&v, PILLAR_UNKNOWN_INDICATOR, "/pillars/0/main_indicators/3");
}

#[test]
fn a_pillar_naming_a_component_is_rejected() {
    let v = with(nested(), |v| {
        v["pillars"][1]["main_indicators"][0] = json!("1.1")
    });
    assert_only(&v, PILLAR_NOT_MAIN, "/pillars/1/main_indicators/0");
}

#[test]
fn a_pillar_listing_a_member_twice_is_rejected() {
    let v = with(nested(), |v| {
        v["pillars"][0]["main_indicators"] = json!(["1", "2", "3", "1"])
    });
    assert_only(&v, DUPLICATE_PILLAR_MEMBER, "/pillars/0/main_indicators/3");
}

#[test]
fn two_nodes_replacing_the_same_old_code_are_rejected() {
    let v = with(nested(), |v| at(v, C4_2)["replaces"] = json!(["4.1-2020"]));
    assert_only(&v, REPLACES_DUPLICATE, &format!("{C4_2}/replaces/0"));
    let m = validate(&typed(&v)).remove(0).message;
    assert!(m.contains("\"4.1\""), "{m}");
}

#[test]
fn a_node_listing_the_same_replaced_code_twice_is_rejected() {
    let v = with(nested(), |v| {
        at(v, C1_1)["replaces"] = json!(["1.1", "1.1"])
    });
    assert_only(&v, REPLACES_DUPLICATE, &format!("{C1_1}/replaces/1"));
}

// -- several problems at once --------------------------------------------------------------

#[test]
fn every_independent_problem_is_reported() {
    let v = with(nested(), |v| {
        v["version"] = json!(0);
        v["target_unit_kind"] = json!("huyen");
        at(v, C1_2)["max_points"] = json!("25");
        at(v, C2_3)["method"]["options"] = json!([]);
        at(v, C3_1)["method"]["target"] = json!("80");
        at(v, C5_2).as_object_mut().unwrap().remove("method");
        v["pillars"][2]["main_indicators"][2] = json!("6");
        at(v, BONUS)["max_points"] = json!("-5");
    });
    assert_all(
        &v,
        &[
            (VERSION_INVALID, "/version"),
            (UNIT_KIND_INVALID, "/target_unit_kind"),
            (CHILDREN_SUM_MISMATCH, &format!("{MAIN1}/max_points")),
            (CHOICE_EMPTY, &format!("{C2_3}/method/options")),
            (TARGET_OUT_OF_RANGE, &format!("{C3_1}/method/target")),
            (METHOD_MISSING, &format!("{C5_2}/method")),
            (PILLAR_UNKNOWN_INDICATOR, "/pillars/2/main_indicators/2"),
            (NEGATIVE_POINTS, &format!("{BONUS}/max_points")),
        ],
    );
}

// -- raw stage -----------------------------------------------------------------------------

fn raw(v: &Value) -> Vec<(&'static str, String)> {
    let mut f: Vec<_> = check_raw(v)
        .into_iter()
        .map(|p| (p.code, p.pointer))
        .collect();
    f.sort();
    f
}

#[test]
fn raw_nesting_deeper_than_64_levels_is_reported_once() {
    let mut deep = json!("bottom");
    for _ in 0..70 {
        deep = json!([deep]);
    }
    let v = with(nested(), |v| v["provenance"] = deep);
    // root = level 1, provenance = level 2, so the 65th level is 63 arrays further
    let ptr = format!("/provenance{}", "/0".repeat(63));
    assert_eq!(raw(&v), vec![(TOO_DEEP, ptr)]);
}

#[test]
fn raw_non_numbers_in_points_fields_are_rejected() {
    let cases: &[(&str, Value)] = &[
        ("/scale", json!("Infinity")),
        ("/nodes/4/max_points", json!("NaN")),
        (
            "/nodes/1/children/0/children/2/method/bands/0/threshold",
            json!("inf"),
        ),
        (
            "/nodes/0/children/2/children/0/method/target",
            json!("1e400"),
        ),
        (
            "/nodes/0/children/2/children/2/method/items/0/points_per_unit",
            json!("1e5"),
        ),
        (
            "/nodes/0/children/2/children/2/method/items/0/cap",
            json!(true),
        ),
        (
            "/nodes/0/children/1/children/2/method/options/0/points",
            json!("12,5"),
        ),
        ("/nodes/5/max_points", json!(1e30)),
        ("/nodes/0/max_points", json!(" 160")),
        (
            "/nodes/1/max_points",
            json!("99999999999999999999999999999999"),
        ),
    ];
    for (ptr, bad) in cases {
        let v = with(nested(), |v| *at(v, ptr) = bad.clone());
        assert_eq!(raw(&v), vec![(NOT_A_NUMBER, ptr.to_string())], "{bad}");
    }
    // plain decimals as strings or numbers are fine
    let v = with(nested(), |v| {
        v["scale"] = json!(270);
        at(v, C1_2)["max_points"] = json!(20.0);
        at(v, C3_1)["method"]["target"] = json!("-0.50");
    });
    assert_eq!(raw(&v), vec![]);
}

#[test]
fn raw_strings_over_10000_characters_are_rejected() {
    let v = with(nested(), |v| {
        at(v, C1_1)["guidance"] = json!("x".repeat(10_001))
    });
    assert_eq!(raw(&v), vec![(STRING_TOO_LONG, format!("{C1_1}/guidance"))]);
    // characters, not bytes: 10000 Vietnamese letters are fine
    let v = with(nested(), |v| v["description"] = json!("ầ".repeat(10_000)));
    assert_eq!(raw(&v), vec![]);
}

#[test]
fn raw_documents_over_5000_nodes_are_rejected() {
    let nodes: Vec<Value> = (0..5001)
        .map(|i| json!({"code": format!("N{i}"), "kind": "main", "name": "x", "max_points": "0"}))
        .collect();
    let v = with(nested(), |v| v["nodes"] = Value::Array(nodes));
    assert_eq!(raw(&v), vec![(TOO_MANY_NODES, "/nodes".to_string())]);
}

#[test]
fn raw_member_names_are_escaped_in_pointers() {
    let v = with(nested(), |v| v["a/b~c"] = json!({"points": "NaN"}));
    assert_eq!(raw(&v), vec![(NOT_A_NUMBER, "/a~1b~0c/points".to_string())]);
}

// -- typing errors -------------------------------------------------------------------------

/// The pointers of the typing problems of `v` (every one `DOCUMENT_MALFORMED`), sorted: the
/// typing stage alone (without the raw stage, which would see some values first).
fn typing_pointers(v: &Value) -> Vec<String> {
    let mut v = v.clone();
    upgrade(&mut v, Origin::Submitted).unwrap();
    let problems = serde_errors::typing_problems(&v);
    assert!(!problems.is_empty(), "must not type");
    let mut ptrs: Vec<String> = problems
        .into_iter()
        .map(|p| {
            assert_eq!(p.code, DOCUMENT_MALFORMED, "{}: {}", p.pointer, p.message);
            p.pointer
        })
        .collect();
    ptrs.sort();
    ptrs
}

#[test]
fn typing_problems_of_the_root_point_at_its_members() {
    let v = with(nested(), |v| {
        v.as_object_mut().unwrap().remove("scale");
    });
    assert_eq!(typing_pointers(&v), ["/scale"]);
    let v = with(nested(), |v| v["colour"] = json!("red"));
    assert_eq!(typing_pointers(&v), ["/colour"]);
    // a member name is escaped in the pointer (RFC 6901)
    let v = with(nested(), |v| v["a/b~c"] = json!(1));
    assert_eq!(typing_pointers(&v), ["/a~1b~0c"]);
    let v = with(nested(), |v| v["legal_basis"]["number"] = json!("3716"));
    assert_eq!(typing_pointers(&v), ["/legal_basis/number"]);
    // the message is serde's, without a position (there is no text to point into)
    let v = with(nested(), |v| v["precision"] = json!("four"));
    let p = parse_document(&v).unwrap_err();
    assert_eq!(
        (p[0].pointer.as_str(), p[0].message.as_str()),
        ("/precision", "invalid type: string \"four\", expected u32")
    );
    // a document that is not an object is the root's problem
    assert_eq!(typing_pointers(&json!([])), [""]);
}

#[test]
fn locate_finds_the_exact_pointer_of_a_typing_error() {
    let cases: Vec<(Value, String)> = vec![
        (
            with(nested(), |v| at(v, C1_2)["colour"] = json!("red")),
            format!("{C1_2}/colour"),
        ),
        (
            with(nested(), |v| at(v, MAIN3)["kind"] = json!("pillar")),
            format!("{MAIN3}/kind"),
        ),
        (
            with(nested(), |v| at(v, C2_1)["method"]["type"] = json!("magic")),
            format!("{C2_1}/method/type"),
        ),
        (
            with(nested(), |v| {
                at(v, C1_1)["method"]["bands"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("points");
            }),
            format!("{C1_1}/method/bands/1/points"),
        ),
        (
            with(nested(), |v| {
                at(v, C3_3)["method"]["items"][0]["cap"] = json!("lots")
            }),
            format!("{C3_3}/method/items/0/cap"),
        ),
        (
            with(nested(), |v| at(v, C2_1)["method"]["target"] = json!("0.5")),
            format!("{C2_1}/method/target"),
        ),
        (
            with(nested(), |v| v["legal_basis"]["issuer"] = json!(7)),
            "/legal_basis/issuer".to_string(),
        ),
        (
            with(nested(), |v| {
                v["pillars"][1]["main_indicators"] = json!("1")
            }),
            "/pillars/1/main_indicators".to_string(),
        ),
        (
            with(nested(), |v| {
                v["legal_basis"]["decision_date"] = json!("23/09/2021")
            }),
            "/legal_basis/decision_date".to_string(),
        ),
        (
            with(nested(), |v| {
                at(v, C5_2)["applicability"]["declarable_not_applicable"] = json!("yes")
            }),
            format!("{C5_2}/applicability/declarable_not_applicable"),
        ),
        (
            with(nested(), |v| v["version"] = json!("one")),
            "/version".to_string(),
        ),
    ];
    for (v, ptr) in cases {
        assert_eq!(typing_pointers(&v), [ptr]);
    }
}

#[test]
fn typing_problems_inside_a_method_point_at_the_member() {
    let cases: Vec<(Value, String)> = vec![
        // a method without its type
        (
            with(nested(), |v| {
                at(v, C2_1)["method"]
                    .as_object_mut()
                    .unwrap()
                    .remove("type");
            }),
            format!("{C2_1}/method/type"),
        ),
        // a member no method has, and one the method's type lacks
        (
            with(nested(), |v| at(v, C2_1)["method"]["colour"] = json!(1)),
            format!("{C2_1}/method/colour"),
        ),
        (
            with(nested(), |v| {
                at(v, C1_1)["method"]
                    .as_object_mut()
                    .unwrap()
                    .remove("bands");
            }),
            format!("{C1_1}/method/bands"),
        ),
        // a member named like the method itself is still the method's member
        (
            with(nested(), |v| at(v, C2_1)["method"]["method"] = json!(1)),
            format!("{C2_1}/method/method"),
        ),
        (
            with(nested(), |v| {
                at(v, C2_1)["method"]["direction"] = json!("up")
            }),
            format!("{C2_1}/method/direction"),
        ),
        (
            with(nested(), |v| {
                at(v, C1_1)["method"]["bands"][0]["colour"] = json!(1)
            }),
            format!("{C1_1}/method/bands/0/colour"),
        ),
        // a method that is not an object is the method's problem
        (
            with(nested(), |v| at(v, C2_1)["method"] = json!("ratio")),
            format!("{C2_1}/method"),
        ),
    ];
    for (v, ptr) in cases {
        assert_eq!(typing_pointers(&v), [ptr]);
    }
}

#[test]
fn typing_problems_in_maps_and_lists_point_at_the_element() {
    let v = with(nested(), |v| {
        at(v, C1_1)["inputs"] = json!({"a/b": {"label": 5}, "value": {"label": "Số"}})
    });
    assert_eq!(typing_pointers(&v), [format!("{C1_1}/inputs/a~1b/label")]);
    let v = with(nested(), |v| {
        v["pillars"][1]["main_indicators"] = json!(["1", 2])
    });
    assert_eq!(typing_pointers(&v), ["/pillars/1/main_indicators/1"]);
    // a flat-form node is pointed at where it sits in `nodes`
    let v = with(flat(), |v| v["nodes"][4]["kind"] = json!("pillar"));
    assert_eq!(typing_pointers(&v), ["/nodes/4/kind"]);
}

#[test]
fn every_typing_problem_of_a_node_is_reported_once() {
    // unknown members are all reported, and the node is typed again without them
    let v = with(nested(), |v| {
        at(v, C1_2)["colour"] = json!("red");
        at(v, C1_2)["size"] = json!(3);
        at(v, C1_2)["description"] = json!(7);
        at(v, C1_2)["evidence"] = json!("maybe");
    });
    assert_eq!(
        typing_pointers(&v),
        [
            format!("{C1_2}/colour"),
            format!("{C1_2}/description"),
            format!("{C1_2}/evidence"),
            format!("{C1_2}/size"),
        ]
    );
    // a required member that does not type is not also reported as missing
    let v = with(nested(), |v| at(v, C1_2)["name"] = json!(5));
    assert_eq!(typing_pointers(&v), [format!("{C1_2}/name")]);
    // a member that is missing ends the node's problems, not its children's or siblings'
    let v = with(nested(), |v| {
        at(v, MAIN1).as_object_mut().unwrap().remove("name");
        at(v, MAIN1)["colour"] = json!(1);
        at(v, C1_2)["colour"] = json!(1);
        at(v, MAIN3)["colour"] = json!(1);
    });
    assert_eq!(
        typing_pointers(&v),
        [
            format!("{MAIN1}/children/1/colour"),
            format!("{MAIN1}/colour"),
            format!("{MAIN1}/name"),
            format!("{MAIN3}/colour"),
        ]
    );
}

#[test]
fn parse_document_reports_every_typing_error() {
    let v = with(nested(), |v| {
        at(v, C1_2)["colour"] = json!("red");
        at(v, C4_2)["kind"] = json!("pillar");
    });
    let mut ptrs: Vec<String> = parse_document(&v)
        .unwrap_err()
        .into_iter()
        .map(|p| p.pointer)
        .collect();
    ptrs.sort();
    assert_eq!(ptrs, vec![format!("{C1_2}/colour"), format!("{C4_2}/kind")]);
}

#[test]
fn validate_never_panics_on_extreme_decimals() {
    let v = with(nested(), |v| {
        at(v, C1_2)["max_points"] = json!("79228162514264337593543950335");
        at(v, C2_2)["max_points"] = json!("79228162514264337593543950335");
    });
    let codes: Vec<_> = found(&v).into_iter().map(|(c, _)| c).collect();
    assert!(codes.contains(&CHILDREN_SUM_MISMATCH));
}

// -- classification (xếp loại) ------------------------------------------------------------

/// Bắc Ninh-style labels on example thresholds.
fn classified(bands: Value) -> Value {
    with(
        nested(),
        |v| v["classification"] = json!({"status": "example", "source": "ví dụ", "bands": bands}),
    )
}

fn five_bands() -> Value {
    json!([
        {"code": "XUAT_SAC", "label": "Xuất sắc", "label_en": "Excellent", "min_index": "0.9"},
        {"code": "TOT", "label": "Tốt", "label_en": "Good", "min_index": "0.75"},
        {"code": "KHA", "label": "Khá", "label_en": "Fair", "min_index": "0.6"},
        {"code": "TRUNG_BINH", "label": "Trung bình", "label_en": "Average", "min_index": "0.4"},
        {"code": "KEM", "label": "Kém", "label_en": "Poor", "min_index": "0"}
    ])
}

#[test]
fn a_descending_classification_down_to_zero_is_valid() {
    let v = classified(five_bands());
    let doc = parse_document(&v).expect("valid");
    let c = doc.classification.expect("kept");
    assert_eq!(c.bands.len(), 5);
    assert_eq!(c.status, ClassificationStatus::Example);
}

#[test]
fn two_bands_on_the_same_threshold_overlap() {
    let v = with(classified(five_bands()), |v| {
        v["classification"]["bands"][2]["min_index"] = json!("0.75")
    });
    assert_only(&v, CLASS_BANDS_OVERLAP, "/classification/bands/2/min_index");
}

#[test]
fn bands_must_be_listed_highest_first() {
    let v = with(classified(five_bands()), |v| {
        v["classification"]["bands"][1]["min_index"] = json!("0.95")
    });
    assert_only(
        &v,
        CLASS_BANDS_NOT_DESCENDING,
        "/classification/bands/1/min_index",
    );
}

#[test]
fn the_lowest_band_must_start_at_zero() {
    let v = with(classified(five_bands()), |v| {
        v["classification"]["bands"][4]["min_index"] = json!("0.1")
    });
    assert_only(
        &v,
        CLASS_BANDS_NO_FLOOR,
        "/classification/bands/4/min_index",
    );
}

#[test]
fn band_thresholds_are_indices_at_the_published_precision() {
    let v = with(classified(five_bands()), |v| {
        v["classification"]["bands"][0]["min_index"] = json!("1.5");
        v["classification"]["bands"][1]["min_index"] = json!("0.74995");
    });
    assert_all(
        &v,
        &[
            (CLASS_BAND_OUT_OF_RANGE, "/classification/bands/0/min_index"),
            (CLASS_BAND_PRECISION, "/classification/bands/1/min_index"),
        ],
    );
}

#[test]
fn band_codes_are_distinct_and_labels_present() {
    let v = with(classified(five_bands()), |v| {
        v["classification"]["bands"][1]["code"] = json!("XUAT_SAC");
        v["classification"]["bands"][2]["label_en"] = json!(" ");
    });
    assert_all(
        &v,
        &[
            (CLASS_BAND_DUPLICATE, "/classification/bands/1/code"),
            (NAME_EMPTY, "/classification/bands/2/label_en"),
        ],
    );
    assert_only(
        &classified(json!([])),
        CLASS_BANDS_EMPTY,
        "/classification/bands",
    );
}

#[test]
fn malformed_classifications_are_located() {
    let v = with(classified(five_bands()), |v| {
        v["classification"]["status"] = json!("maybe");
        v["classification"]["bands"][3]["colour"] = json!("red");
    });
    let mut ptrs: Vec<String> = parse_document(&v)
        .unwrap_err()
        .into_iter()
        .map(|p| p.pointer)
        .collect();
    ptrs.sort();
    assert_eq!(
        ptrs,
        vec![
            "/classification/bands/3/colour".to_string(),
            "/classification/status".to_string()
        ]
    );
    let v = with(classified(five_bands()), |v| {
        v["classification"]["bands"][0]["min_index"] = json!("NaN")
    });
    assert_eq!(
        raw(&v),
        vec![(NOT_A_NUMBER, "/classification/bands/0/min_index".into())]
    );
}

// -- entry-form texts ---------------------------------------------------------------------

#[test]
fn input_texts_name_the_inputs_of_the_leaf_method() {
    let v = with(nested(), |v| {
        at(v, C1_2)["inputs"] = json!({
            "numerator": {"label": "Số cuộc họp do Chủ tịch chủ trì"},
            "denominator": {"label": "Tổng số cuộc họp", "description": "Cả họp trực tuyến"}
        });
        at(v, C1_2)["evidence_expected"] = json!("Biên bản họp");
    });
    assert_eq!(found(&v), vec![]);
    let doc = parse_document(&v).unwrap();
    let leaf = &doc.nodes[0].children[0].children[1];
    assert_eq!(
        leaf.inputs["numerator"].label,
        "Số cuộc họp do Chủ tịch chủ trì"
    );
    assert_eq!(leaf.evidence_expected.as_deref(), Some("Biên bản họp"));

    let v = with(nested(), |v| {
        at(v, C1_2)["inputs"] = json!({"value": {"label": "Giá trị"},
                                       "numerator": {"label": " "}});
        at(v, MAIN1)["inputs"] = json!({"numerator": {"label": "Tử số"}});
        at(v, MAIN1)["evidence_expected"] = json!("Biên bản");
    });
    assert_all(
        &v,
        &[
            (INPUT_TEXT_UNKNOWN, &format!("{C1_2}/inputs/value")),
            (NAME_EMPTY, &format!("{C1_2}/inputs/numerator/label")),
            (INPUT_TEXT_ON_INNER_NODE, &format!("{MAIN1}/inputs")),
            (
                EVIDENCE_ON_INNER_NODE,
                &format!("{MAIN1}/evidence_expected"),
            ),
        ],
    );
}

#[test]
fn a_document_of_an_unknown_format_version_is_refused() {
    let v = with(nested(), |v| {
        v["schema_version"] = json!(SCHEMA_VERSION + 1)
    });
    let p = parse_document(&v).unwrap_err();
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].code, p[0].pointer.as_str()),
        (SCHEMA_VERSION_UNSUPPORTED, "/schema_version")
    );
    let v = with(nested(), |v| v["schema_version"] = json!(1));
    assert_eq!(parse_document(&v).unwrap().schema_version, SCHEMA_VERSION);
}
