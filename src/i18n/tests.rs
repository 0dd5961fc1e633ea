use super::*;

fn n(h: &str) -> Lang {
    negotiate(Some(h))
}

#[test]
fn english_is_the_default() {
    assert_eq!(negotiate(None), Lang::En);
    assert_eq!(n(""), Lang::En);
    assert_eq!(n("*"), Lang::En);
    assert_eq!(n("fr-FR, de;q=0.8"), Lang::En);
    assert_eq!(n("en"), Lang::En);
    assert_eq!(n("en-US,en;q=0.9"), Lang::En);
}

#[test]
fn vietnamese_is_chosen_by_its_tag_or_a_longer_one() {
    assert_eq!(n("vi"), Lang::Vi);
    assert_eq!(n("VI"), Lang::Vi);
    assert_eq!(n("vi-VN"), Lang::Vi);
    assert_eq!(n("vi-VN,vi;q=0.9,en;q=0.8"), Lang::Vi);
    assert_eq!(n("fr, vi;q=0.5"), Lang::Vi);
    // "vie" is not "vi"
    assert_eq!(n("vie"), Lang::En);
}

#[test]
fn weights_decide() {
    assert_eq!(n("en;q=0.5, vi"), Lang::Vi);
    assert_eq!(n("en;q=0.5,vi;q=0.6"), Lang::Vi);
    assert_eq!(n("vi;q=0.4, en;q=0.5"), Lang::En);
    assert_eq!(n("en-US,en;q=0.9,vi;q=0.8"), Lang::En);
    assert_eq!(n("vi ; q=1.0 , en ; q=0.9"), Lang::Vi);
    assert_eq!(n("vi;Q=0.7, en;q=0.3"), Lang::Vi);
}

#[test]
fn equal_weights_go_to_the_range_listed_first() {
    assert_eq!(n("vi, en"), Lang::Vi);
    assert_eq!(n("en, vi"), Lang::En);
    assert_eq!(n("vi;q=0.8, en;q=0.8"), Lang::Vi);
}

#[test]
fn q_zero_refuses_a_language() {
    assert_eq!(n("vi;q=0"), Lang::En);
    assert_eq!(n("vi;q=0.000, en;q=0.1"), Lang::En);
    assert_eq!(n("en;q=0, vi;q=0.1"), Lang::Vi);
    // the most specific range counts: `*` does not undo `vi;q=0`
    assert_eq!(n("vi;q=0, *"), Lang::En);
}

#[test]
fn the_wildcard_never_beats_english() {
    assert_eq!(n("fr, *;q=0.5"), Lang::En);
    assert_eq!(n("en;q=0, *"), Lang::Vi);
    assert_eq!(n("*, vi;q=0.5"), Lang::En);
    assert_eq!(n("*;q=0.4, vi;q=0.5"), Lang::Vi);
}

#[test]
fn malformed_ranges_and_weights_are_ignored() {
    assert_eq!(n("vi;q=2, en;q=0.1"), Lang::En);
    assert_eq!(n("vi;q=abc"), Lang::En);
    assert_eq!(n("vi;q=0.1234"), Lang::En);
    assert_eq!(n("vi;q=1.5"), Lang::En);
    assert_eq!(n("v!i, vi;q=0.2"), Lang::Vi);
    assert_eq!(n(",,;,vi"), Lang::Vi);
    assert_eq!(n("vi-VN-toolongsubtag"), Lang::En);
}

#[test]
fn problems_render_in_vietnamese_with_the_english_detail_kept() {
    use crate::error::AppError;
    let p = AppError::not_found("period", "DTI-2025").to_problem_in(Lang::Vi);
    assert_eq!(p.title, "Không tìm thấy");
    assert_eq!(p.detail, "Không tìm thấy kỳ đánh giá DTI-2025.");
    assert_eq!(p.extensions["detail_en"], "period DTI-2025 does not exist");
    assert_eq!(p.code, "NOT_FOUND");

    let p = AppError::validation(vec![
        FieldError::new("/a", "REQUIRED", "is required"),
        FieldError::new("/b", "UNANSWERED", "no answer yet"),
    ])
    .to_problem_in(Lang::Vi);
    assert_eq!(p.detail, "Yêu cầu có 2 trường không hợp lệ; xem errors[].");
    assert_eq!(p.errors[0].message, "là thông tin bắt buộc");
    assert_eq!(p.errors[0].message_en.as_deref(), Some("is required"));
    assert_eq!(p.errors[1].message, "chưa có câu trả lời");
    assert_eq!(p.errors[1].message_en.as_deref(), Some("no answer yet"));

    let p = AppError::Unavailable("down".into()).to_problem_in(Lang::Vi);
    assert_eq!(p.title, "Dịch vụ tạm thời không khả dụng");
    assert_eq!(p.detail, UNAVAILABLE_VI);

    // a code the catalogue does not know: Vietnamese title, English detail as it was
    let p = AppError::conflict("SOMETHING_NEW", "Something new.").to_problem_in(Lang::Vi);
    assert_eq!(
        (p.title.as_str(), p.detail.as_str()),
        ("Xung đột", "Something new.")
    );
    assert!(!p.extensions.contains_key("detail_en"));

    // English is untouched
    let p = AppError::not_found("period", "DTI-2025").to_problem_in(Lang::En);
    assert_eq!(p.title, "Not Found");
    assert_eq!(p.detail, "period DTI-2025 does not exist");
    assert!(p.extensions.is_empty());
}

fn vi(e: FieldError) -> Option<String> {
    field_message_vi(&e)
}

fn fe(field: &str, code: &str) -> FieldError {
    FieldError::new(field, code, "english")
}

#[test]
fn lengths_count_characters_or_items_and_read_naturally_on_one_side() {
    let length = |list: bool, params: &[(&str, u64)]| {
        let mut e = fe("/name", "LENGTH");
        if list {
            e = e.with_param("list", true);
        }
        for (k, v) in params {
            e = e.with_param(k, v);
        }
        vi(e).unwrap()
    };
    assert_eq!(
        length(false, &[("min", 3), ("max", 64)]),
        "phải dài từ 3 đến 64 ký tự"
    );
    assert_eq!(length(false, &[("min", 1)]), "không được để trống");
    assert_eq!(length(false, &[("min", 8)]), "phải dài ít nhất 8 ký tự");
    assert_eq!(
        length(false, &[("max", 2000)]),
        "không được dài quá 2000 ký tự"
    );
    // `min = 0` is no bound
    assert_eq!(
        length(false, &[("min", 0), ("max", 50)]),
        "không được dài quá 50 ký tự"
    );
    assert_eq!(length(false, &[("equal", 6)]), "phải dài đúng 6 ký tự");
    assert_eq!(
        length(true, &[("min", 1), ("max", 100)]),
        "phải có từ 1 đến 100 mục"
    );
    assert_eq!(length(true, &[("min", 1)]), "phải có ít nhất một mục");
    assert_eq!(length(true, &[("max", 50)]), "không được có quá 50 mục");
    assert_eq!(length(false, &[]), "độ dài không hợp lệ");
}

#[test]
fn ranges_handle_inclusive_exclusive_and_one_sided_bounds() {
    let range = |params: &[(&str, i64)]| {
        let mut e = fe("/data_year", "RANGE");
        for (k, v) in params {
            e = e.with_param(k, v);
        }
        vi(e).unwrap()
    };
    assert_eq!(
        range(&[("min", 2000), ("max", 2100)]),
        "phải nằm trong khoảng từ 2000 đến 2100"
    );
    assert_eq!(range(&[("min", 1)]), "phải lớn hơn hoặc bằng 1");
    assert_eq!(range(&[("max", 500)]), "phải nhỏ hơn hoặc bằng 500");
    assert_eq!(range(&[("exclusive_min", 0)]), "phải lớn hơn 0");
    assert_eq!(
        range(&[("exclusive_min", 0), ("exclusive_max", 1)]),
        "phải lớn hơn 0 và nhỏ hơn 1"
    );
    assert_eq!(
        range(&[("min", 0), ("exclusive_max", 1)]),
        "phải lớn hơn hoặc bằng 0 và nhỏ hơn 1"
    );
    assert_eq!(range(&[]), "nằm ngoài phạm vi cho phép");
}

#[test]
fn validator_errors_carry_their_bounds_but_never_the_value() {
    use crate::error::AppError;
    use validator::Validate;
    #[derive(Validate)]
    struct Form {
        #[validate(length(min = 3, max = 64))]
        name: String,
        #[validate(length(min = 1))]
        items: Vec<u8>,
        #[validate(range(min = 2000, max = 2100))]
        year: i32,
        #[validate(email)]
        email: String,
    }
    let errs = Form {
        name: "ab".into(),
        items: vec![],
        year: 1999,
        email: "không-phải-thư".into(),
    }
    .validate()
    .unwrap_err();
    let p = AppError::from(errs).to_problem_in(Lang::Vi);
    let got: Vec<(&str, &str, &str, Option<&str>)> = p
        .errors
        .iter()
        .map(|e| {
            (
                e.field.as_str(),
                e.code.as_str(),
                e.message.as_str(),
                e.message_en.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "/email",
                "EMAIL",
                "phải là địa chỉ thư điện tử hợp lệ",
                Some("must be an e-mail address")
            ),
            (
                "/items",
                "LENGTH",
                "phải có ít nhất một mục",
                Some("length must be at least 1")
            ),
            (
                "/name",
                "LENGTH",
                "phải dài từ 3 đến 64 ký tự",
                Some("length must be between 3 and 64")
            ),
            (
                "/year",
                "RANGE",
                "phải nằm trong khoảng từ 2000 đến 2100",
                Some("must be between 2000 and 2100")
            ),
        ]
    );
    assert!(p.errors.iter().all(|e| !e.params.contains_key("value")));
    // the parameters are never sent
    let json = serde_json::to_value(&p.errors[0]).unwrap();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["code", "field", "message", "message_en"]);
}

#[test]
fn service_codes_quote_their_values_and_fall_back_without_them() {
    assert_eq!(
        vi(fe("/units/0", "UNKNOWN_UNIT").with_param("value", "LC-XYZ")).unwrap(),
        "không có đơn vị nào có mã hoặc id “LC-XYZ”"
    );
    assert_eq!(
        vi(fe("/units/0", "UNKNOWN_UNIT")).unwrap(),
        "không có đơn vị này"
    );
    assert_eq!(
        vi(fe("/answers/0/inputs/points", "POINTS_OUT_OF_RANGE").with_param("max", "20")).unwrap(),
        "điểm phải nằm trong khoảng từ 0 đến 20"
    );
    assert_eq!(
        vi(fe("/inputs/option", "UNKNOWN_OPTION")
            .with_param("options", ["chairman", "deputy", "none"]))
        .unwrap(),
        "phương án không có trong danh sách; các phương án hợp lệ: chairman, deputy, none"
    );
    assert_eq!(
        vi(fe(
            "/answers/1/inputs/satisfied",
            "NUMERATOR_EXCEEDS_DENOMINATOR"
        ))
        .unwrap(),
        "số người hài lòng không được lớn hơn số người được khảo sát"
    );
    assert_eq!(
        vi(fe("/groups/0/indicator_set", "SET_KIND_MISMATCH")
            .with_param("set", "VD-XA-100")
            .with_param("set_kind", "commune")
            .with_param("group", "LC-SO")
            .with_param("group_kind", "department"))
        .unwrap(),
        "bộ chỉ số “VD-XA-100” dùng để đánh giá đơn vị loại xã, phường (commune), còn nhóm \
         “LC-SO” xếp hạng đơn vị loại sở, ban, ngành (department)"
    );
    // one code, two meanings: told apart by where it points
    assert_eq!(
        vi(fe("/scopes/0", "UNKNOWN_SCOPE")
            .with_param("value", "all")
            .with_param("allowed", ["automatic:write"]))
        .unwrap(),
        "“all” không phải là phạm vi (scope) hợp lệ; các phạm vi hợp lệ: automatic:write"
    );
    assert_eq!(
        vi(fe("pillar", "UNKNOWN_SCOPE")
            .with_param("scope", "pillar")
            .with_param("code", "KTS"))
        .unwrap(),
        "bộ chỉ số đã gắn không có trụ cột “KTS”"
    );
    assert_eq!(
        vi(fe("/parent", "PARENT_CYCLE")
            .with_param("parent", "LC-XA-1")
            .with_param("unit", "LC"))
        .unwrap(),
        "“LC-XA-1” là chính đơn vị “LC” hoặc một đơn vị cấp dưới của “LC”"
    );
    assert_eq!(
        vi(fe("/nodes/3/parent", "PARENT_CYCLE")).unwrap(),
        "các chỉ số tạo thành vòng lặp cha – con"
    );
    assert_eq!(
        vi(fe("/changelog", "REQUIRED")).unwrap(),
        "bản đính chính (từ phiên bản 2) phải nêu nội dung thay đổi (`changelog`)"
    );
    assert_eq!(vi(fe("/x", "REQUIRED")).unwrap(), "là thông tin bắt buộc");
    assert_eq!(
        vi(fe("/bogus", "INVALID")
            .with_param("reason", "unknown_field")
            .with_param("name", "bogus"))
        .unwrap(),
        "trường “bogus” không được chấp nhận"
    );
    assert_eq!(vi(fe("/x", "SOMETHING_NEW")), None);
}

/// The codes declared in a `pub mod codes` of `source`.
fn declared_codes(source: &str) -> Vec<String> {
    // a `codes` module inline, or a whole file of codes
    let (start, end) = match source.find("pub mod codes {") {
        Some(start) => (start, start + source[start..].find("\n}").expect("its end")),
        None => (0, source.len()),
    };
    source[start..end]
        .lines()
        .filter_map(|l| l.split('"').nth(1))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_field_code_the_api_emits_has_a_vietnamese_message() {
    let mut codes = declared_codes(include_str!("../domain/set_validation/codes.rs"));
    codes.extend(declared_codes(include_str!("../scoring/input.rs")));
    assert!(codes.len() > 50, "{codes:?}");
    // the codes of request validation and of the services (FieldError::new)
    codes.extend(
        [
            "LENGTH",
            "RANGE",
            "EMAIL",
            "URL",
            "REQUIRED",
            "REGEX",
            "CODE",
            "USERNAME",
            "WEAK_PASSWORD",
            "PUBLISHED_PASSWORD",
            "WRONG_PASSWORD",
            "SAME_PASSWORD",
            "PASSWORD_IS_USERNAME",
            "INVALID_ROLE",
            "INVALID",
            "INVALID_STATUS",
            "INVALID_FORM",
            "INVALID_SORT",
            "INVALID_KIND",
            "INVALID_PHASE",
            "INVALID_TAG",
            "INVALID_URL",
            "UNKNOWN_UNIT",
            "UNKNOWN_GROUP",
            "UNKNOWN_REFERENCE",
            "UNKNOWN_PERIOD",
            "UNKNOWN_SET",
            "UNKNOWN_NODE",
            "UNKNOWN_SCOPE",
            "NOT_IN_PERIOD",
            "SET_NOT_ACTIVE",
            "SET_KIND_MISMATCH",
            "KIND_MISMATCH",
            "SELF_LINEAGE",
            "DUPLICATE",
            "PARENT_CYCLE",
            "NOT_A_USER_ROLE",
            "NOT_ALLOWED",
            "BEFORE_VALID_FROM",
            "BEFORE_OPENS",
            "OUT_OF_ORDER",
            "EXCLUSIVE",
            "EMPTY_ADJUSTMENT",
            "UNANSWERED",
            "EVIDENCE_REQUIRED",
            "NOT_A_LEAF",
            "NOT_AUTOMATIC",
            "AUTOMATIC_INDICATOR",
            "NOT_DECLARABLE",
            "POINTS_OUT_OF_RANGE",
            "REPLACES_UNKNOWN_CODE",
            "NUL_CHARACTER",
            "UNKNOWN_FIELD",
            "URL_CREDENTIALS",
            "HTTP_NOT_ALLOWED",
            "PRIVATE_ADDRESS",
            "UNRESOLVABLE_HOST",
            "NOT_FOR_ACTION",
            "NOT_FOUND",
            "PHASE_CLOSED",
            "ALREADY_SUBMITTED",
            "ASSESSMENT_FINALISED",
            "INVALID_STATE",
            "UNKNOWN_COLUMN",
            "MISSING_COLUMN",
            "DUPLICATE_COLUMN",
            "DECIMAL_SEPARATOR",
            "INVALID_CELL",
            "INVALID_DATE",
            "MERGED_CELLS",
        ]
        .map(str::to_string),
    );
    for code in codes {
        let m = vi(fe("/x", &code)).unwrap_or_else(|| panic!("{code} has no Vietnamese"));
        assert!(!m.is_empty() && m != "english", "{code}");
        // Vietnamese, not English left over
        assert!(!m.is_ascii(), "{code}: {m:?} has no Vietnamese letter");
    }
}

/// The catalogue of problem codes ([`crate::problem_codes`]) is the list this checks:
/// every code has a Vietnamese detail (500 and 503 have their own constants).
#[test]
fn every_problem_code_of_the_catalogue_has_a_vietnamese_detail() {
    assert!(crate::problem_codes::CATALOGUE.len() > 60);
    for p in crate::problem_codes::CATALOGUE {
        let vi = match p.code {
            "INTERNAL_ERROR" => INTERNAL_VI.to_string(),
            "DATABASE_UNAVAILABLE" => UNAVAILABLE_VI.to_string(),
            code => {
                let status = StatusCode::from_u16(p.status).unwrap();
                let e = crate::error::AppError::new(status, code, "english");
                let crate::error::AppError::Client(c) = &e else {
                    unreachable!()
                };
                detail_vi(c).unwrap_or_else(|| panic!("{code} has no Vietnamese detail"))
            }
        };
        assert!(
            !vi.is_ascii(),
            "{}: {vi:?} has no Vietnamese letter",
            p.code
        );
        assert!(!title(StatusCode::from_u16(p.status).unwrap(), Lang::Vi).is_ascii());
    }
}

#[test]
fn every_error_status_has_a_vietnamese_title() {
    for (status, vi) in [
        (400, "Yêu cầu không hợp lệ"),
        (401, "Chưa xác thực"),
        (403, "Không có quyền"),
        (404, "Không tìm thấy"),
        (409, "Xung đột"),
        (412, "Phiên bản đã thay đổi"),
        (413, "Tệp quá lớn"),
        (415, "Định dạng không được hỗ trợ"),
        (422, "Dữ liệu không hợp lệ"),
        (429, "Quá nhiều yêu cầu"),
        (500, "Lỗi máy chủ"),
        (503, "Dịch vụ tạm thời không khả dụng"),
    ] {
        let s = StatusCode::from_u16(status).unwrap();
        assert_eq!(title(s, Lang::Vi), vi);
        assert_eq!(title(s, Lang::En), s.canonical_reason().unwrap());
    }
}
