//! Vietnamese details of problems, by code (every code of the catalogue has one: a test checks).

use super::*;

/// The Vietnamese detail of a refused request, for the codes the catalogue knows.
///
/// Sentences quote only what the problem itself carries (its extensions, its field errors and
/// its translation parameters), never the English detail, so nothing English leaks into them.
pub fn detail_vi(c: &ClientError) -> Option<String> {
    let param = |k: &str| c.params.get(k).map(plain);
    let ext = |k: &str| c.extensions.get(k);
    let n = c.errors.len();
    let s = match c.code.as_ref() {
        // 404 and routing
        "NOT_FOUND" => match (param("resource"), param("id")) {
            (Some(r), Some(id)) => format!("Không tìm thấy {} {id}.", resource_vi(&r)),
            _ => "Không tìm thấy dữ liệu được yêu cầu.".into(),
        },
        "ROUTE_NOT_FOUND" => match (param("method"), param("path")) {
            (Some(m), Some(p)) => {
                format!("Không có đường dẫn {m} {p}; xem danh sách API tại /swagger-ui/.")
            }
            _ => "Không có đường dẫn này; xem danh sách API tại /swagger-ui/.".into(),
        },
        "METHOD_NOT_ALLOWED" => match (param("method"), param("path"), param("allow")) {
            (Some(m), Some(p), Some(a)) => {
                format!("Không dùng được phương thức {m} với {p}; các phương thức được phép: {a}.")
            }
            _ => "Phương thức này không được phép với đường dẫn này.".into(),
        },
        // 401
        "AUTH_REQUIRED" => "Cần xác thực: gửi kèm `Authorization: Bearer <token>`; lấy token \
                            tại POST /api/v1/auth/login."
            .into(),
        "TOKEN_INVALID" => "Mã truy cập (token) không hợp lệ.".into(),
        "TOKEN_EXPIRED" => "Mã truy cập (token) đã hết hạn; vui lòng đăng nhập lại.".into(),
        "TOKEN_REVOKED" => "Mã truy cập (token) không còn hiệu lực; vui lòng đăng nhập lại.".into(),
        "INVALID_CREDENTIALS" => "Sai tên đăng nhập hoặc mật khẩu.".into(),
        "METRICS_TOKEN_REQUIRED" => {
            "Số liệu giám sát cần `Authorization: Bearer <METRICS_TOKEN>`.".into()
        }
        "METRICS_DISABLED" => "Số liệu giám sát chỉ được cung cấp khi có mã truy cập: hãy đặt \
                               METRICS_TOKEN và gửi kèm `Authorization: Bearer <token>`."
            .into(),
        // 403
        "FORBIDDEN_ROLE" => {
            let mut s = "Vai trò của bạn không được phép thực hiện thao tác này.".to_string();
            if let Some(roles) = ext("required_roles").and_then(list) {
                s.push_str(&format!(" Vai trò được phép: {}.", roles.join(", ")));
            }
            s
        }
        "NOT_YOUR_UNIT" => "Dữ liệu này thuộc đơn vị khác; tài khoản của đơn vị chỉ được xem và \
                            thao tác trên dữ liệu của đơn vị mình."
            .into(),
        "LEADER_ONLY" => "Chỉ lãnh đạo đơn vị mới được xác nhận và nộp bản tự đánh giá.".into(),
        "FORBIDDEN_SCOPE" => "Mã tích hợp không có phạm vi (scope) cho phép thao tác này.".into(),
        "PASSWORD_CHANGE_REQUIRED" => "Tài khoản phải đổi mật khẩu trước khi sử dụng: gửi \
                                       POST /api/v1/me/password với mật khẩu hiện tại \
                                       (current_password) và mật khẩu mới (new_password)."
            .into(),
        "INTEGRATION_TOKEN_NOT_ALLOWED" => {
            "Mã tích hợp chỉ được dùng để ghi các số liệu đo tự động.".into()
        }
        "CANNOT_DEMOTE_SELF" => {
            "Quản trị viên không thể tự hạ quyền hoặc khóa tài khoản của chính mình.".into()
        }
        // 409
        "PHASE_CLOSED" => {
            let mut s =
                "Giai đoạn hiện tại của kỳ đánh giá không cho phép thao tác này.".to_string();
            if let Some(phases) = ext("allowed_in_phase").and_then(list) {
                let phases: Vec<&str> = phases.iter().map(|p| phase_vi(p)).collect();
                s.push_str(&format!(
                    " Chỉ thực hiện được trong giai đoạn: {}.",
                    phases.join(", ")
                ));
            }
            s
        }
        "ALREADY_SUBMITTED" => "Lãnh đạo đơn vị đã nộp bản đánh giá này; bản đánh giá bị khóa \
                                cho đến khi cán bộ thẩm định trả lại."
            .into(),
        "ASSESSMENT_FINALISED" => "Bản đánh giá đã được chốt kết quả; không thể thay đổi.".into(),
        "INVALID_STATE" => {
            let mut s = "Không thể thực hiện thao tác này ở trạng thái hiện tại của bản đánh giá."
                .to_string();
            if let Some(states) = ext("allowed_in_state").and_then(list) {
                let states: Vec<&str> = states.iter().map(|s| state_vi(s)).collect();
                s.push_str(&format!(" Chỉ thực hiện được khi: {}.", states.join(", ")));
            }
            s
        }
        "INVALID_TRANSITION" => {
            "Kỳ đánh giá không thể chuyển từ giai đoạn hiện tại sang giai đoạn được yêu cầu.".into()
        }
        "SET_IMMUTABLE" => {
            "Bộ chỉ số đã được kích hoạt nên không thể sửa; hãy tạo phiên bản mới.".into()
        }
        "SET_VERSION_EXISTS" => "Đã có bộ chỉ số với mã và phiên bản này.".into(),
        "ALREADY_EXISTS" => "Đã có dữ liệu trùng khóa duy nhất.".into(),
        "CODE_TAKEN" => "Mã này đã được sử dụng.".into(),
        "USERNAME_TAKEN" => "Tên đăng nhập này đã được sử dụng.".into(),
        "IN_USE" => "Dữ liệu này vẫn đang được dữ liệu khác sử dụng nên không thể xóa.".into(),
        "IMMUTABLE" => "Dữ liệu này không được phép sửa hoặc xóa.".into(),
        "CONCURRENT_UPDATE" => {
            "Có một thay đổi đồng thời xung đột với yêu cầu này nên chưa có gì được ghi; vui lòng \
             gửi lại yêu cầu."
                .into()
        }
        "SERVICE_BUSY" => {
            "Mọi kết nối cơ sở dữ liệu đều đang bận nên yêu cầu chưa được thực hiện; vui lòng \
             gửi lại sau ít giây."
                .into()
        }
        "CLARIFICATION_CLOSED" => "Yêu cầu làm rõ này đã đóng.".into(),
        "WEBHOOK_DISABLED" => "Điểm nhận webhook này đang bị tắt; hãy bật lại (PATCH `enabled`: \
                               true) trước khi gửi lại."
            .into(),
        "DELIVERY_PENDING" => "Lần gửi này vẫn đang được thử lại theo lịch; chỉ gửi lại được khi \
                               nó đã thành công hoặc đã thất bại hẳn."
            .into(),
        "UNIT_KIND_IN_GROUP" => {
            let mut s = match (param("unit"), param("kind")) {
                (Some(u), Some(k)) => format!(
                    "Không thể đổi đơn vị {u} sang loại {} vì đơn vị đang thuộc nhóm xếp hạng \
                     của loại đơn vị khác.",
                    kind_vi(&k)
                ),
                _ => "Không thể đổi loại đơn vị vì đơn vị đang thuộc nhóm xếp hạng của loại \
                      đơn vị khác."
                    .into(),
            };
            if let Some(groups) = ext("groups").and_then(list) {
                s.push_str(&format!(" Nhóm: {}.", groups.join(", ")));
            }
            s.push_str(
                " Hãy đưa đơn vị ra khỏi các nhóm đó, hoặc gửi nhóm mới trong cùng yêu cầu.",
            );
            s
        }
        "UNIT_IN_TWO_GROUPS" => "Một đơn vị không thể thuộc hai nhóm xếp hạng của cùng một kỳ \
                                 đánh giá."
            .into(),
        "NOT_ALL_FINALISED" => {
            "Chưa phải mọi bản đánh giá của nhóm đều đã được chốt kết quả (hoặc được loại khỏi \
             xếp hạng)."
                .into()
        }
        "BULK_REFUSED" => match (param("refused"), param("total")) {
            (Some(r), Some(t)) => format!(
                "{r} trong số {t} bản đánh giá không thực hiện được thao tác này nên chưa có gì \
                 thay đổi; xem errors[] và refusals[] (hoặc gửi all_or_nothing: false để thực \
                 hiện các bản còn lại)."
            ),
            _ => "Có bản đánh giá không thực hiện được thao tác này nên chưa có gì thay đổi; \
                  xem errors[] và refusals[]."
                .into(),
        },
        "IDEMPOTENCY_KEY_IN_USE" => "Một yêu cầu khác với cùng Idempotency-Key đang được xử lý; \
                                     hãy thử lại sau giây lát."
            .into(),
        // 412
        "VERSION_MISMATCH" => "Dữ liệu đã thay đổi kể từ lần bạn tải gần nhất (phiên bản không \
                               khớp); hãy tải lại rồi thực hiện lại."
            .into(),
        // 422
        "VALIDATION_FAILED" => match c.errors.first() {
            Some(e) if n == 1 => format!("Yêu cầu có 1 trường không hợp lệ: {}.", e.field),
            _ => format!("Yêu cầu có {n} trường không hợp lệ; xem errors[]."),
        },
        "NOT_IN_PERIOD" => "Bản đánh giá này thuộc một kỳ đánh giá khác.".into(),
        "INVALID_INPUT" => "Không thể tính điểm dữ liệu trả lời theo phương pháp của chỉ số; \
                            xem errors[]."
            .into(),
        "INVALID_BODY" => "Nội dung yêu cầu không khớp với lược đồ dữ liệu; xem errors[].".into(),
        "NOT_A_LEAF" => "Minh chứng và câu trả lời chỉ gắn với chỉ số thành phần được chấm điểm, \
                         không gắn với nhóm chỉ số."
            .into(),
        "UNSUPPORTED_FILE_TYPE" => {
            "Hệ thống không đọc được loại tệp nhập liệu này; hãy gửi tệp đúng định dạng được chấp \
             nhận."
                .into()
        }
        "NOT_UTF8" => "Tệp nhập liệu không phải văn bản mã hóa UTF-8.".into(),
        "FILE_UNREADABLE" => "Không đọc được tệp nhập liệu theo định dạng của nó.".into(),
        "HEADER_MISMATCH" => "Dòng tiêu đề của tệp nhập liệu không có đúng các cột cần thiết; xem \
                              errors[]."
            .into(),
        "MERGED_CELLS" => match (c.params.get("cells").map(plain), param("place").as_deref()) {
            (Some(cells), Some("sheet")) => format!(
                "Trang tính có ô được gộp ({cells}); hãy bỏ gộp ô để mỗi ô có giá trị riêng."
            ),
            (Some(cells), _) => format!(
                "Dòng tiêu đề có ô được gộp ({cells}); hãy bỏ gộp ô để mỗi cột có tên riêng."
            ),
            (None, _) => "Tệp nhập liệu có ô được gộp; hãy bỏ gộp ô và điền từng ô.".into(),
        },
        "JOB_FINISHED" => "Tác vụ đã kết thúc nên không thể hủy được nữa.".into(),
        "JOB_CANCELLED" => "Tác vụ đã bị hủy theo yêu cầu; không có dữ liệu nào được lưu.".into(),
        "JOB_INTERRUPTED" => "Tiến trình chạy tác vụ đã dừng (khởi động lại hoặc sự cố); không có \
                              dữ liệu nào được lưu, hãy gửi lại tệp nhập liệu."
            .into(),
        "IMPORT_REFUSED" => {
            "Có dòng dữ liệu không hợp lệ nên chưa nhập dữ liệu nào; xem errors[].".into()
        }
        "INVALID_PATCH" => "Bản vá (merge patch) phải là một đối tượng JSON (`{…}`).".into(),
        "INVALID_SET_DOCUMENT" => {
            format!(
                "Tài liệu bộ chỉ số không hợp lệ: có {n} lỗi, mỗi lỗi kèm vị trí trong errors[]."
            )
        }
        "INCOMPLETE" => format!(
            "Còn {n} chỉ số thành phần chưa có câu trả lời hoặc chưa có minh chứng; xem errors[] \
             (field là mã chỉ số)."
        ),
        "EVIDENCE_REQUIRED" => {
            "Chỉ số này yêu cầu minh chứng: hãy đính kèm minh chứng hoặc viết giải trình.".into()
        }
        "REFERENCE_NOT_FOUND" => "Dữ liệu được tham chiếu không tồn tại.".into(),
        "CONSTRAINT_VIOLATION" => "Dữ liệu vi phạm một quy tắc của mô hình dữ liệu.".into(),
        "IDEMPOTENCY_KEY_REUSED" => "Idempotency-Key này đã được dùng cho một yêu cầu khác; mỗi \
                                     khóa chỉ dùng cho đúng một yêu cầu (cùng phương thức, đường \
                                     dẫn và nội dung)."
            .into(),
        // 400
        "MALFORMED_JSON" => "Nội dung yêu cầu không phải JSON hợp lệ.".into(),
        "MALFORMED_BODY" => "Không đọc được nội dung yêu cầu.".into(),
        "MALFORMED_YAML" | "MALFORMED_DOCUMENT" => {
            "Không đọc được tài liệu gửi lên (JSON hoặc YAML).".into()
        }
        "MALFORMED_MULTIPART" => "Không đọc được nội dung multipart của yêu cầu.".into(),
        "INVALID_QUERY" => "Tham số truy vấn không hợp lệ; xem errors[].".into(),
        "INVALID_PATH_PARAMETER" => "Tham số trên đường dẫn không hợp lệ; xem errors[].".into(),
        "INVALID_HEADER" => "Một header của yêu cầu không hợp lệ.".into(),
        "IDEMPOTENCY_KEY_INVALID" => {
            "Idempotency-Key phải gồm 1 đến 200 ký tự ASCII in được và chỉ được gửi một lần \
             trong yêu cầu."
                .into()
        }
        "FILE_REQUIRED" => "Yêu cầu phải kèm một tệp.".into(),
        "NUL_CHARACTER" => "Dữ liệu gửi lên chứa ký tự NUL (U+0000); ký tự này không được chấp \
                            nhận trong bất kỳ nội dung nào. Xem errors[]."
            .into(),
        "BODY_NOT_OBJECT" => "Nội dung yêu cầu phải là một đối tượng JSON (`{…}`).".into(),
        // 408
        "BODY_TIMEOUT" => "Nội dung yêu cầu không được gửi đến kịp thời nên đã không được xử \
                           lý; vui lòng gửi lại."
            .into(),
        "EVIDENCE_FILE_MISSING" => "Tệp của minh chứng này không còn trong kho lưu trữ; sự cố đã \
                                    được ghi lại. Vui lòng tải tệp lên lại."
            .into(),
        // 503
        "STORAGE_UNAVAILABLE" => "Kho lưu trữ tệp minh chứng tạm thời không truy cập được; chưa \
                                  có gì thay đổi. Vui lòng thử lại sau ít giây."
            .into(),
        "EMPTY_FILE" => "Tệp gửi lên rỗng.".into(),
        // 413, 415, 429
        "PAYLOAD_TOO_LARGE" => match param("limit") {
            Some(limit) => format!("Nội dung gửi lên vượt quá giới hạn {limit} byte."),
            None => "Nội dung gửi lên vượt quá giới hạn cho phép.".into(),
        },
        "TOO_MANY_ROWS" => match param("limit") {
            Some(limit) => format!(
                "Tệp có hơn {limit} dòng, vượt quá số dòng tài khoản này được nhập trong một lần."
            ),
            None => "Tệp có quá nhiều dòng cho một lần nhập.".into(),
        },
        "UNSUPPORTED_MEDIA_TYPE" => match param("accepted") {
            Some(a) => format!("Định dạng nội dung không được hỗ trợ; hãy gửi {a}."),
            None => "Định dạng nội dung (Content-Type) không được hỗ trợ cho yêu cầu này.".into(),
        },
        "FORBIDDEN_FILE_TYPE" => "Loại tệp này không được chấp nhận làm minh chứng.".into(),
        "LOGIN_THROTTLED" => match ext("retry_after_seconds").map(plain) {
            Some(secs) => {
                format!("Đăng nhập sai quá nhiều lần; vui lòng thử lại sau {secs} giây.")
            }
            None => "Đăng nhập sai quá nhiều lần; vui lòng thử lại sau.".into(),
        },
        _ => return None,
    };
    Some(s)
}

/// The Vietnamese detail of a database outage (503).
pub const UNAVAILABLE_VI: &str =
    "Cơ sở dữ liệu tạm thời không truy cập được; vui lòng thử lại sau ít giây.";
/// The Vietnamese detail of an internal error (500).
pub const INTERNAL_VI: &str = "Đã xảy ra lỗi nội bộ; lỗi đã được ghi lại để xử lý.";
