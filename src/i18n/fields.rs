//! Vietnamese messages of field errors (`errors[]`), by code, with the shared phrasing of
//! lengths, ranges and values.

use super::*;

/// The Vietnamese message of a field error, for every field code the API emits.
///
/// Like [`detail_vi`], it quotes only what the error carries: its `field` and its translation
/// parameters (`min`/`max` of a `LENGTH` or `RANGE`, the offending `value` of an
/// `UNKNOWN_UNIT`…), never its English message. `None` for a code it does not know, which then
/// keeps its English message.
pub fn field_message_vi(e: &FieldError) -> Option<String> {
    use crate::domain::set_validation as doc;
    let param = |k: &str| e.params.get(k).map(plain);
    let quoted = |k: &str| param(k).map(|v| format!("“{v}”"));
    let field = e.field.as_str();
    let s = match e.code.as_str() {
        // -- rules of the `validator` crate (code in upper case, parameters as declared)
        "LENGTH" => length_vi(
            e.params.get("list").and_then(Value::as_bool) == Some(true),
            param("equal"),
            param("min"),
            param("max"),
        ),
        "RANGE" => range_vi(
            param("min"),
            param("max"),
            param("exclusive_min"),
            param("exclusive_max"),
        ),
        "EMAIL" => "phải là địa chỉ thư điện tử hợp lệ".into(),
        "URL" => "phải là địa chỉ URL hợp lệ".into(),
        "REGEX" => "không đúng định dạng quy định".into(),
        "CONTAINS" => match quoted("needle") {
            Some(n) => format!("phải chứa {n}"),
            None => "thiếu nội dung bắt buộc".into(),
        },
        "DOES_NOT_CONTAIN" => match quoted("needle") {
            Some(n) => format!("không được chứa {n}"),
            None => "chứa nội dung không được phép".into(),
        },
        "MUST_MATCH" => match param("other") {
            Some(o) => format!("phải trùng với trường {o}"),
            None => "phải trùng với trường tương ứng".into(),
        },
        "NON_CONTROL_CHARACTER" => "không được chứa ký tự điều khiển".into(),
        "CREDIT_CARD" => "phải là số thẻ thanh toán hợp lệ".into(),
        "IP" => "phải là địa chỉ IP hợp lệ".into(),
        "REQUIRED" => match field {
            "/unit" => match param("role") {
                Some(r) => format!("vai trò {r} thuộc một đơn vị: cần nêu đơn vị (`unit`)"),
                None => "cần nêu đơn vị (`unit`)".into(),
            },
            "/groups" => "cần gắn bộ chỉ số cho ít nhất một nhóm xếp hạng".into(),
            "/changelog" => "bản đính chính (từ phiên bản 2) phải nêu nội dung thay đổi \
                             (`changelog`)"
                .into(),
            "group" => "kỳ đánh giá có nhiều nhóm xếp hạng: cần nêu một nhóm (`group`)".into(),
            "/scopes" => "cần nêu ít nhất một phạm vi (scope)".into(),
            "/" => "cần nêu một địa chỉ URL hoặc số hiệu văn bản".into(),
            f if f.ends_with("/explanation") => {
                "khai báo chỉ số không áp dụng thì phải có giải trình".into()
            }
            f if f.ends_with("/reason") => {
                "cần nêu lý do (cho từng mục hoặc chung cho cả yêu cầu); đơn vị sẽ thấy lý do này"
                    .into()
            }
            _ => "là thông tin bắt buộc".into(),
        },
        // -- custom rules of request bodies
        "CODE" => "phải dài từ 1 đến 64 ký tự, chỉ gồm chữ cái không dấu, chữ số, dấu chấm (.), \
                   gạch ngang (-) hoặc gạch dưới (_)"
            .into(),
        "USERNAME" => "phải dài từ 3 đến 64 ký tự, chỉ gồm chữ thường không dấu, chữ số, dấu \
                       chấm (.), gạch ngang (-) hoặc gạch dưới (_)"
            .into(),
        "WEAK_PASSWORD" => match (param("min"), param("max"), param("distinct")) {
            (Some(min), Some(max), Some(d)) => format!(
                "mật khẩu phải dài từ {min} đến {max} ký tự và có ít nhất {d} ký tự khác nhau"
            ),
            _ => "mật khẩu chưa đủ mạnh".into(),
        },
        "WRONG_PASSWORD" => "không đúng mật khẩu hiện tại của tài khoản".into(),
        "SAME_PASSWORD" => "trùng với mật khẩu hiện tại; hãy chọn mật khẩu mới".into(),
        "PASSWORD_IS_USERNAME" => "trùng với tên đăng nhập; hãy chọn mật khẩu khác".into(),
        "INVALID_ROLE" => match quoted("value") {
            Some(v) => format!(
                "vai trò {v} không hợp lệ; dùng một trong: admin, reviewer, viewer, \
                 unit_editor, unit_leader"
            ),
            None => "vai trò không hợp lệ; dùng một trong: admin, reviewer, viewer, \
                     unit_editor, unit_leader"
                .into(),
        },
        "PUBLISHED_PASSWORD" => {
            "đây là mật khẩu dùng thử đã được công bố; hãy chọn mật khẩu khác".into()
        }
        "INVALID_TAG" => with_value(
            quoted("value"),
            "nhãn chỉ gồm chữ cái không dấu, chữ số, dấu chấm (.), gạch ngang (-) hoặc gạch dưới \
             (_)",
        ),
        "INVALID_URL" => "phải là địa chỉ http(s) dài không quá 2000 ký tự".into(),
        "DUPLICATE" => "bị nêu hai lần trong cùng một yêu cầu".into(),
        "MERGED_CELLS" => match quoted("cells") {
            Some(cells) => format!(
                "các ô {cells} được gộp: chỉ ô đầu tiên có giá trị; hãy bỏ gộp ô và điền từng ô"
            ),
            None => "ô được gộp: hãy bỏ gộp ô và điền từng ô".into(),
        },
        "NUL_CHARACTER" => "không được chứa ký tự NUL (U+0000)".into(),
        "UNKNOWN_FIELD" => "không phải là trường của biểu mẫu; chỉ gửi `file` và (không bắt \
                            buộc) `description`"
            .into(),
        "URL_CREDENTIALS" => {
            "địa chỉ không được chứa tên đăng nhập, mật khẩu hoặc phân đoạn (#)".into()
        }
        "HTTP_NOT_ALLOWED" => {
            "máy chủ không cho phép địa chỉ http:// thường; hãy dùng https://".into()
        }
        "PRIVATE_ADDRESS" => match quoted("address") {
            Some(a) => format!(
                "địa chỉ {a} không phải là địa chỉ công khai (nội bộ, loopback hoặc dành riêng) \
                 nên không được dùng làm điểm nhận"
            ),
            None => {
                "địa chỉ không phải là địa chỉ công khai nên không được dùng làm điểm nhận".into()
            }
        },
        "UNRESOLVABLE_HOST" => match quoted("host") {
            Some(h) => format!("không phân giải được tên máy {h}"),
            None => "không phân giải được tên máy trong địa chỉ".into(),
        },
        "EXCLUSIVE" => "chỉ nêu `pillar` hoặc `main_indicator`, không nêu cả hai".into(),
        "EMPTY_ADJUSTMENT" => "cần nêu `inputs`, `points` hoặc `not_applicable`".into(),
        "BEFORE_VALID_FROM" => match (param("valid_to"), param("valid_from")) {
            (Some(to), Some(from)) => {
                format!("ngày {to} sớm hơn ngày bắt đầu hiệu lực (`valid_from`) {from}")
            }
            _ => "không được sớm hơn ngày bắt đầu hiệu lực (`valid_from`)".into(),
        },
        "BEFORE_OPENS" => "phải sau thời điểm mở (`opens_at`)".into(),
        "OUT_OF_ORDER" => "các giai đoạn phải nối tiếp nhau đúng thứ tự và thời gian".into(),
        // -- query and path parameters
        "INVALID_STATUS" => "chỉ dùng draft, active hoặc retired".into(),
        "INVALID_FORM" => with_value(quoted("value"), "chỉ dùng original hoặc canonical"),
        "INVALID_SORT" => with_value(
            quoted("value"),
            "chỉ dùng code, -code, name, -name hoặc kind",
        ),
        "INVALID_KIND" => {
            let mut s = match quoted("value") {
                Some(v) => format!("{v} không phải là loại đơn vị hợp lệ"),
                None => "loại đơn vị không hợp lệ".into(),
            };
            if let Some(kinds) = e.params.get("allowed").and_then(list) {
                s.push_str(&format!("; các loại hợp lệ: {}", kinds.join(", ")));
            }
            s
        }
        "INVALID_PHASE" => match quoted("value") {
            Some(v) => format!("{v} không phải là giai đoạn của kỳ đánh giá"),
            None => "chỉ dùng self_assessment, review, published hoặc archived".into(),
        },
        "INVALID" => match (field, param("reason").as_deref(), quoted("name")) {
            ("path", _, _) => "tham số trên đường dẫn không hợp lệ".into(),
            (_, Some("unknown_field"), Some(n)) => format!("trường {n} không được chấp nhận"),
            (_, Some("missing_field"), Some(n)) => format!("thiếu trường bắt buộc {n}"),
            (_, Some("unknown_variant"), _) => "giá trị không thuộc danh sách được phép".into(),
            _ => "giá trị không đúng kiểu hoặc định dạng quy định".into(),
        },
        // -- references to other data
        "TEMPLATE_VERSION_MISMATCH" => match (quoted("template"), param("set")) {
            (Some(t), Some(set)) => format!(
                "mẫu được tạo cho bộ chỉ số {t}, nhưng đơn vị này được đánh giá theo {set}: \
                 hãy tải lại mẫu"
            ),
            _ => "mẫu được tạo cho phiên bản khác của bộ chỉ số: hãy tải lại mẫu".into(),
        },
        "UNKNOWN_UNIT" => match quoted("value") {
            Some(v) => format!("không có đơn vị nào có mã hoặc id {v}"),
            None => "không có đơn vị này".into(),
        },
        "UNKNOWN_GROUP" => match quoted("value") {
            Some(v) => format!("không có nhóm xếp hạng nào có mã hoặc id {v}"),
            None => "không có nhóm xếp hạng này".into(),
        },
        "UNKNOWN_REFERENCE" => match quoted("value") {
            Some(v) => format!("không có dữ liệu nào có mã hoặc id {v}"),
            None => "không có dữ liệu được tham chiếu".into(),
        },
        "UNKNOWN_PERIOD" => "không có kỳ đánh giá này".into(),
        "UNKNOWN_SET" => "không có bộ chỉ số này".into(),
        "UNKNOWN_NODE" => match quoted("node") {
            Some(n) => format!("bộ chỉ số không có chỉ số {n}"),
            None => "bộ chỉ số không có chỉ số này".into(),
        },
        "UNKNOWN_SCOPE" if field.starts_with("/scopes") => {
            let mut s = match quoted("value") {
                Some(v) => format!("{v} không phải là phạm vi (scope) hợp lệ"),
                None => "phạm vi (scope) không hợp lệ".into(),
            };
            if let Some(scopes) = e.params.get("allowed").and_then(list) {
                s.push_str(&format!("; các phạm vi hợp lệ: {}", scopes.join(", ")));
            }
            s
        }
        "UNKNOWN_SCOPE" => match (param("scope").as_deref(), quoted("code")) {
            (Some("pillar"), Some(c)) => format!("bộ chỉ số đã gắn không có trụ cột {c}"),
            (Some("main"), Some(c)) => format!("bộ chỉ số đã gắn không có chỉ số chính {c}"),
            _ => "bộ chỉ số đã gắn không có phạm vi xếp hạng này".into(),
        },
        "NOT_IN_PERIOD" => match (quoted("group"), e.params.contains_key("assessment")) {
            (Some(g), _) => format!("nhóm xếp hạng {g} không thuộc kỳ đánh giá này"),
            (None, true) => "bản đánh giá này thuộc một kỳ đánh giá khác".into(),
            (None, false) => "nhóm xếp hạng này không thuộc kỳ đánh giá".into(),
        },
        // -- refusals of one item of a bulk decision (the codes a single call answers)
        "NOT_FOUND" => "không có bản đánh giá này".into(),
        "PHASE_CLOSED" => {
            let mut s =
                "giai đoạn hiện tại của kỳ đánh giá không cho phép thao tác này".to_string();
            if let Some(phases) = e.params.get("allowed_in_phase").and_then(list) {
                let phases: Vec<&str> = phases.iter().map(|p| phase_vi(p)).collect();
                s.push_str(&format!(" (chỉ trong giai đoạn: {})", phases.join(", ")));
            }
            s
        }
        "ALREADY_SUBMITTED" => with_unit(param("unit"), "đã được nộp"),
        "ASSESSMENT_FINALISED" => with_unit(param("unit"), "đã được chốt kết quả"),
        "INVALID_STATE" => {
            let mut s = with_unit(
                param("unit"),
                "đang ở trạng thái không cho phép thao tác này",
            );
            if let Some(states) = e.params.get("allowed_in_state").and_then(list) {
                let states: Vec<&str> = states.iter().map(|s| state_vi(s)).collect();
                s.push_str(&format!(" (chỉ khi: {})", states.join(", ")));
            }
            s
        }
        "NOT_FOR_ACTION" => match param("action") {
            Some(a) => format!("trường này không dùng với thao tác {a}"),
            None => "trường này không dùng với thao tác đã chọn".into(),
        },
        "SET_NOT_ACTIVE" => match (quoted("set"), param("version"), param("status")) {
            (Some(set), Some(v), Some(st)) => format!(
                "bộ chỉ số {set} phiên bản {v} đang ở trạng thái {}; cần kích hoạt trước",
                set_status_vi(&st)
            ),
            _ => "bộ chỉ số chưa được kích hoạt; cần kích hoạt trước".into(),
        },
        "SET_KIND_MISMATCH" => match (
            quoted("set"),
            param("set_kind"),
            quoted("group"),
            param("group_kind"),
        ) {
            (Some(set), Some(sk), Some(g), Some(gk)) => format!(
                "bộ chỉ số {set} dùng để đánh giá đơn vị loại {}, còn nhóm {g} xếp hạng đơn vị \
                 loại {}",
                kind_vi(&sk),
                kind_vi(&gk)
            ),
            _ => "bộ chỉ số không dùng cho loại đơn vị mà nhóm này xếp hạng".into(),
        },
        "KIND_MISMATCH" => match (quoted("unit"), param("kind"), param("group_kind")) {
            (Some(u), Some(k), Some(gk)) => format!(
                "đơn vị {u} thuộc loại {}, còn nhóm xếp hạng đơn vị loại {}",
                kind_vi(&k),
                kind_vi(&gk)
            ),
            _ => "loại đơn vị không phù hợp với nhóm xếp hạng".into(),
        },
        "SELF_LINEAGE" => "đơn vị không thể là đơn vị tiền thân của chính mình".into(),
        "PARENT_CYCLE" if !field.starts_with("/nodes") => {
            match (quoted("parent"), quoted("unit")) {
                (Some(p), Some(u)) => {
                    format!("{p} là chính đơn vị {u} hoặc một đơn vị cấp dưới của {u}")
                }
                _ => "đơn vị cấp trên không được là chính đơn vị này hoặc đơn vị cấp dưới của nó"
                    .into(),
            }
        }
        "NOT_A_USER_ROLE" => {
            "integration là vai trò của mã tích hợp, không dùng cho tài khoản".into()
        }
        "NOT_ALLOWED" => match param("role") {
            Some(r) => format!(
                "vai trò {r} thuộc cấp tỉnh, không gắn với đơn vị nào; hãy bỏ trường `unit`"
            ),
            None => "vai trò cấp tỉnh không gắn với đơn vị nào; hãy bỏ trường `unit`".into(),
        },
        // -- answers and adjustments
        "UNANSWERED" => "chưa có câu trả lời".into(),
        "EVIDENCE_REQUIRED" => "cần đính kèm minh chứng hoặc viết giải trình".into(),
        "NOT_A_LEAF" => match quoted("node") {
            Some(n) => format!(
                "{n} không phải là chỉ số được chấm điểm trực tiếp; hãy dùng các chỉ số thành \
                 phần của nó"
            ),
            None => "không phải là chỉ số được chấm điểm trực tiếp".into(),
        },
        "NOT_AUTOMATIC" => match quoted("node") {
            Some(n) => {
                format!("{n} do đơn vị tự kê khai; mã tích hợp chỉ được ghi các số liệu đo tự động")
            }
            None => "mã tích hợp chỉ được ghi các số liệu đo tự động".into(),
        },
        "AUTOMATIC_INDICATOR" => match quoted("node") {
            Some(n) => format!("{n} được đo tự động; đơn vị không được sửa"),
            None => "chỉ số được đo tự động; đơn vị không được sửa".into(),
        },
        "NOT_DECLARABLE" => match quoted("node") {
            Some(n) => format!("{n} không được khai báo là không áp dụng"),
            None => "chỉ số này không được khai báo là không áp dụng".into(),
        },
        "POINTS_OUT_OF_RANGE" => match param("max") {
            Some(max) => format!("điểm phải nằm trong khoảng từ 0 đến {max}"),
            None => "điểm nằm ngoài khoảng cho phép".into(),
        },
        // -- answer inputs (the scoring methods)
        "INPUT_NOT_OBJECT" => "dữ liệu trả lời phải là một đối tượng JSON".into(),
        "INPUT_MISSING" => "thiếu trường bắt buộc của dữ liệu trả lời".into(),
        "INPUT_UNKNOWN_FIELD" => {
            "trường này không thuộc dữ liệu trả lời của phương pháp tính điểm".into()
        }
        "INPUT_TYPE" => "giá trị không đúng kiểu dữ liệu của phương pháp tính điểm (số thập \
                         phân, true/false hoặc mã phương án, tùy chỉ số)"
            .into(),
        "INPUT_NEGATIVE" => "không được là số âm".into(),
        "INPUT_TOO_LARGE" => "giá trị quá lớn (trị tuyệt đối không được vượt quá 10^15)".into(),
        "NUMERATOR_EXCEEDS_DENOMINATOR" if field.ends_with("/satisfied") => {
            "số người hài lòng không được lớn hơn số người được khảo sát".into()
        }
        "NUMERATOR_EXCEEDS_DENOMINATOR" => "tử số không được lớn hơn mẫu số".into(),
        "ZERO_DENOMINATOR" if field.ends_with("/respondents") => {
            "số người được khảo sát phải lớn hơn 0 đối với chỉ số này".into()
        }
        "ZERO_DENOMINATOR" => "mẫu số phải lớn hơn 0 đối với chỉ số này".into(),
        "UNKNOWN_OPTION" => match e.params.get("options").and_then(list) {
            Some(o) => format!(
                "phương án không có trong danh sách; các phương án hợp lệ: {}",
                o.join(", ")
            ),
            None => "phương án không có trong danh sách của chỉ số".into(),
        },
        "UNKNOWN_ITEM" => "hạng mục không có trong danh sách của chỉ số".into(),
        // -- spreadsheet imports (the row layouts of `crate::imports`)
        "UNKNOWN_COLUMN" => {
            let mut s = match quoted("column") {
                Some(c) => format!("cột {c} không thuộc mẫu nhập liệu"),
                None => "cột này không thuộc mẫu nhập liệu".into(),
            };
            if let Some(cols) = e.params.get("expected").and_then(list) {
                s.push_str(&format!("; các cột hợp lệ: {}", cols.join(", ")));
            }
            s
        }
        "MISSING_COLUMN" => {
            let mut s = match quoted("column") {
                Some(c) => format!("dòng tiêu đề thiếu cột bắt buộc {c}"),
                None => "dòng tiêu đề thiếu cột bắt buộc".into(),
            };
            if let Some(cols) = e.params.get("expected").and_then(list) {
                s.push_str(&format!("; các cột hợp lệ: {}", cols.join(", ")));
            }
            s
        }
        "DUPLICATE_COLUMN" => "cột này xuất hiện hai lần trong dòng tiêu đề".into(),
        "DECIMAL_SEPARATOR" => match (quoted("value"), quoted("separator")) {
            (Some(v), Some(sep)) => format!(
                "{v} chứa dấu phân cách không đúng: không dùng dấu phân cách hàng nghìn, phần \
                 thập phân viết bằng {sep} (đặt tham số decimal_separator để đọc dấu còn lại)"
            ),
            _ => "số chứa dấu phân cách không đúng (đặt tham số decimal_separator)".into(),
        },
        "INVALID_CELL" => match quoted("reason") {
            Some(r) => format!("ô không có giá trị dùng được: {r}"),
            None => "ô không có giá trị dùng được".into(),
        },
        "INVALID_DATE" => "ngày phải viết theo dạng YYYY-MM-DD (năm-tháng-ngày)".into(),
        // -- indicator-set documents
        "TOO_DEEP" => format!(
            "tài liệu lồng quá sâu: tối đa {} cấp chỉ số và {} cấp mảng, đối tượng JSON",
            doc::MAX_TREE_DEPTH,
            doc::MAX_JSON_DEPTH
        ),
        "TOO_MANY_NODES" => format!("tài liệu có quá nhiều chỉ số; tối đa {}", doc::MAX_NODES),
        "STRING_TOO_LONG" => {
            format!(
                "chuỗi ký tự quá dài; tối đa {} ký tự",
                doc::MAX_STRING_CHARS
            )
        }
        "NOT_A_NUMBER" => "phải là số thập phân viết thông thường, ví dụ \"12.5\" (không dùng số \
                           mũ, NaN hay vô cực; tối đa 28 chữ số có nghĩa)"
            .into(),
        "DOCUMENT_MALFORMED" => "tài liệu không đúng cấu trúc bộ chỉ số tại vị trí này".into(),
        "CODE_EMPTY" => "mã không được để trống".into(),
        "CODE_INVALID" => format!(
            "mã chỉ gồm tối đa {} ký tự: chữ cái không dấu, chữ số, dấu chấm (.), gạch ngang (-) \
             hoặc gạch dưới (_)",
            doc::MAX_CODE_CHARS
        ),
        "VERSION_INVALID" => "số phiên bản phải từ 1 trở lên".into(),
        "NAME_EMPTY" => "tên không được để trống".into(),
        "UNIT_KIND_INVALID" => format!(
            "loại đơn vị phải là một trong: {}",
            doc::UNIT_KINDS.join(", ")
        ),
        "PRECISION_OUT_OF_RANGE" => {
            let r = if field == "/points_precision" {
                doc::POINTS_PRECISION_RANGE
            } else {
                doc::PRECISION_RANGE
            };
            format!("số chữ số thập phân phải từ {} đến {}", r.start(), r.end())
        }
        "YEAR_OUT_OF_RANGE" => format!(
            "năm phải từ {} đến {}",
            doc::YEAR_RANGE.start(),
            doc::YEAR_RANGE.end()
        ),
        "LEGAL_BASIS_INCOMPLETE" if field.ends_with("/issuer") => {
            "chưa có cơ quan ban hành của căn cứ pháp lý".into()
        }
        "LEGAL_BASIS_INCOMPLETE" => "chưa có số hiệu quyết định của căn cứ pháp lý".into(),
        "DUPLICATE_CODE" => "mã chỉ số đã được dùng cho một chỉ số khác".into(),
        "PARENT_NOT_FOUND" => "không có chỉ số nào mang mã chỉ số cha đã nêu".into(),
        "PARENT_CYCLE" => "các chỉ số tạo thành vòng lặp cha – con".into(),
        "PARENT_AND_NESTED" => "chỉ số vừa nằm trong `children` của chỉ số khác vừa khai báo \
                                `parent`; chỉ dùng một trong hai cách"
            .into(),
        "KIND_ORDER" => "loại chỉ số không phù hợp với vị trí trong cây: cấp cao nhất gồm nhóm, \
                         chỉ số chính, điểm thưởng, điểm trừ; nhóm chứa nhóm hoặc chỉ số chính; \
                         chỉ số chính chứa chỉ số thành phần; chỉ số thành phần chứa tiêu chí"
            .into(),
        "NO_NODES" => {
            "bộ chỉ số chưa có chỉ số nào; cần ít nhất một nhóm hoặc một chỉ số chính".into()
        }
        "NEGATIVE_POINTS" => "điểm không được là số âm".into(),
        "CHILDREN_SUM_MISMATCH" => "tổng điểm tối đa của các chỉ số con phải bằng điểm tối đa \
                                    của chỉ số này (children_policy \"sum\")"
            .into(),
        "CHILDREN_SUM_BELOW_MAX" => "tổng điểm tối đa của các chỉ số con nhỏ hơn điểm tối đa của \
                                     chỉ số này nên điểm tối đa không bao giờ đạt được"
            .into(),
        "SCALE_MISMATCH" => "thang điểm (`scale`) phải bằng tổng điểm tối đa của các chỉ số cấp \
                             cao nhất (không tính điểm thưởng, điểm trừ)"
            .into(),
        "SCALE_NOT_POSITIVE" => "thang điểm (`scale`) phải lớn hơn 0".into(),
        "METHOD_MISSING" => "chỉ số không có chỉ số con và có điểm tối đa thì phải có phương \
                             pháp tính điểm"
            .into(),
        "METHOD_ON_INNER_NODE" => "chỉ số có chỉ số con được tính bằng tổng điểm của các chỉ số \
                                   con; bỏ phương pháp tính điểm của nó"
            .into(),
        "TIERS_EMPTY" => "phương pháp theo bậc (tiers) cần ít nhất một bậc".into(),
        "TIERS_NOT_ORDERED" => "các ngưỡng phải tăng dần và điểm của các bậc phải thay đổi đúng \
                                chiều đã khai báo (`direction`)"
            .into(),
        "BAND_POINTS_EXCEED_MAX" => "điểm của bậc vượt quá điểm tối đa của chỉ số".into(),
        "CHOICE_EMPTY" => "phương pháp lựa chọn (choice) cần ít nhất một phương án".into(),
        "DUPLICATE_OPTION" => "mã phương án bị trùng".into(),
        "OPTION_POINTS_EXCEED_MAX" => "điểm của phương án vượt quá điểm tối đa của chỉ số".into(),
        "TARGET_OUT_OF_RANGE" => {
            "chỉ tiêu (`target`) phải lớn hơn 0 và không quá 1 (một tỷ lệ, ví dụ 0.8)".into()
        }
        "ITEMS_EMPTY" => {
            "phương pháp cộng điểm có mức trần (capped_sum) cần ít nhất một hạng mục".into()
        }
        "DUPLICATE_ITEM" => "mã hạng mục bị trùng".into(),
        "ITEM_CAP_EXCEEDS_MAX" => "mức trần của hạng mục vượt quá điểm tối đa của chỉ số".into(),
        "ITEM_POINTS_NOT_POSITIVE" => {
            "điểm cho mỗi đơn vị (`points_per_unit`) phải lớn hơn 0".into()
        }
        "AUTOMATIC_ON_INNER_NODE" => {
            "chỉ số có chỉ số con không thể đo tự động; chỉ chỉ số lá mới được đo tự động".into()
        }
        "BONUS_NOT_TOP_LEVEL" => {
            "chỉ số điểm thưởng, điểm trừ phải ở cấp cao nhất và không có chỉ số con".into()
        }
        "EVIDENCE_ON_INNER_NODE" => "quy định về minh chứng chỉ áp dụng cho chỉ số lá".into(),
        "APPLICABILITY_ON_INNER_NODE" => {
            "quy định về phạm vi áp dụng chỉ dùng cho chỉ số lá".into()
        }
        "DUPLICATE_PILLAR" => "mã trụ cột bị trùng".into(),
        "PILLAR_EMPTY" => "trụ cột chưa có chỉ số chính nào".into(),
        "PILLAR_UNKNOWN_INDICATOR" => "không có chỉ số nào mang mã này".into(),
        "PILLAR_NOT_MAIN" => "trụ cột chỉ được gồm các chỉ số chính".into(),
        "DUPLICATE_PILLAR_MEMBER" => "chỉ số chính bị nêu hai lần trong cùng một trụ cột".into(),
        "REPLACES_DUPLICATE" => {
            "mã được thay thế bị nêu hai lần hoặc đã được một chỉ số khác thay thế".into()
        }
        "REPLACES_UNKNOWN_CODE" => match quoted("code") {
            Some(c) => format!("phiên bản trước không có chỉ số {c}"),
            None => "phiên bản trước không có chỉ số này".into(),
        },
        "SCHEMA_VERSION_UNSUPPORTED" => format!(
            "phiên bản định dạng tài liệu (`schema_version`) phải là số nguyên từ 1 đến {}",
            crate::domain::indicator_set::SCHEMA_VERSION
        ),
        "INPUT_TEXT_UNKNOWN" => {
            "phương pháp tính điểm của chỉ số không có trường nhập liệu mang tên này".into()
        }
        "INPUT_TEXT_ON_INNER_NODE" => "chỉ số có chỉ số con không nhận số liệu nhập; mô tả các \
                                       trường nhập liệu ở chỉ số lá"
            .into(),
        "CLASS_BANDS_EMPTY" => "thang xếp loại cần ít nhất một mức".into(),
        "CLASS_BAND_DUPLICATE" => "mã mức xếp loại bị trùng".into(),
        "CLASS_BAND_OUT_OF_RANGE" => {
            "ngưỡng của mức xếp loại phải nằm trong khoảng từ 0 đến 1".into()
        }
        "CLASS_BAND_PRECISION" => "ngưỡng của mức xếp loại có nhiều chữ số thập phân hơn số chữ \
                                   số công bố của chỉ số (`precision`)"
            .into(),
        "CLASS_BANDS_OVERLAP" => "hai mức xếp loại có cùng ngưỡng nên chồng lên nhau".into(),
        "CLASS_BANDS_NOT_DESCENDING" => "các mức xếp loại phải xếp từ cao xuống thấp, ngưỡng \
                                         giảm dần"
            .into(),
        "CLASS_BANDS_NO_FLOOR" => "mức xếp loại thấp nhất phải bắt đầu từ 0 để chỉ số nào cũng \
                                   được xếp loại"
            .into(),
        _ => return None,
    };
    Some(s)
}

/// `LENGTH`: characters of a text, or items of a list; one-sided bounds read naturally.
pub(super) fn length_vi(
    list: bool,
    equal: Option<String>,
    min: Option<String>,
    max: Option<String>,
) -> String {
    let min = min.filter(|m| m != "0");
    match (list, equal, min.as_deref(), max) {
        (false, Some(n), _, _) => format!("phải dài đúng {n} ký tự"),
        (true, Some(n), _, _) => format!("phải có đúng {n} mục"),
        (false, None, Some(min), Some(max)) => format!("phải dài từ {min} đến {max} ký tự"),
        (true, None, Some(min), Some(max)) => format!("phải có từ {min} đến {max} mục"),
        (false, None, Some("1"), None) => "không được để trống".into(),
        (true, None, Some("1"), None) => "phải có ít nhất một mục".into(),
        (false, None, Some(min), None) => format!("phải dài ít nhất {min} ký tự"),
        (true, None, Some(min), None) => format!("phải có ít nhất {min} mục"),
        (false, None, None, Some(max)) => format!("không được dài quá {max} ký tự"),
        (true, None, None, Some(max)) => format!("không được có quá {max} mục"),
        (_, None, None, None) => "độ dài không hợp lệ".into(),
    }
}

/// `RANGE`: inclusive `min`/`max`, exclusive bounds, or one side only.
pub(super) fn range_vi(
    min: Option<String>,
    max: Option<String>,
    exclusive_min: Option<String>,
    exclusive_max: Option<String>,
) -> String {
    if let (Some(min), Some(max)) = (&min, &max) {
        return format!("phải nằm trong khoảng từ {min} đến {max}");
    }
    let mut parts = Vec::new();
    if let Some(m) = min {
        parts.push(format!("lớn hơn hoặc bằng {m}"));
    }
    if let Some(m) = exclusive_min {
        parts.push(format!("lớn hơn {m}"));
    }
    if let Some(m) = max {
        parts.push(format!("nhỏ hơn hoặc bằng {m}"));
    }
    if let Some(m) = exclusive_max {
        parts.push(format!("nhỏ hơn {m}"));
    }
    if parts.is_empty() {
        "nằm ngoài phạm vi cho phép".into()
    } else {
        format!("phải {}", parts.join(" và "))
    }
}

/// "“x” không hợp lệ; rule" when the value is known, else just the rule.
pub(super) fn with_value(value: Option<String>, rule: &str) -> String {
    match value {
        Some(v) => format!("{v} không hợp lệ; {rule}"),
        None => rule.to_string(),
    }
}

/// "bản đánh giá của đơn vị X {rest}", or without the unit when it is not known.
pub(super) fn with_unit(unit: Option<String>, rest: &str) -> String {
    match unit {
        Some(u) => format!("bản đánh giá của đơn vị “{u}” {rest}"),
        None => format!("bản đánh giá {rest}"),
    }
}

pub(super) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn list(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| a.iter().map(plain).collect())
}
