//! The language of problem responses: messages in Vietnamese when `Accept-Language: vi`.
//!
//! - [`language_context`] (middleware) negotiates the language of each request from
//!   `Accept-Language` and keeps it in a task-local, as `telemetry` does for the request id, so
//!   that [`crate::error::AppError`] renders in the caller's language wherever it is rendered:
//!   handlers, extractors' error handlers, the 404/405 fallback.
//! - The catalogue below holds the Vietnamese titles (per status) and details (per stable
//!   `code`). A code without a Vietnamese detail keeps its English detail; the `code` itself never
//!   changes. English is the default and is rendered exactly as before.
//!
//! May import: actix-web, serde_json, `crate::error` (the data it translates), and the limits of
//! `crate::domain::set_validation` (quoted by the messages of set-document problems).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::Next;
use serde_json::Value;

use crate::error::{ClientError, FieldError};

/// A language the API answers problems in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English: the default.
    En,
    /// Vietnamese (tiếng Việt).
    Vi,
}

impl Lang {
    /// The language tag, as sent in `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Vi => "vi",
        }
    }
}

tokio::task_local! {
    static LANG: Lang;
}

/// The language negotiated for the request being served (English outside a request).
pub fn current() -> Lang {
    LANG.try_with(|l| *l).unwrap_or(Lang::En)
}

/// Middleware: negotiates the response language from `Accept-Language` for everything the
/// request runs (handlers, extractors, fallbacks).
pub async fn language_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lang = negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    LANG.scope(lang, next.call(req)).await
}

/// Picks the language from an `Accept-Language` value (RFC 9110 §12.5.4).
///
/// Each supported language gets the weight of the most specific range that matches it: its own
/// tag or a longer one (`vi-VN` asks for Vietnamese), else `*`. The highest weight wins; `q=0`
/// means "not this one"; on equal weights the range listed first wins, and a language that only
/// `*` matches never beats English. Malformed ranges and weights are ignored; with no usable
/// preference the answer is English.
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let Some(value) = accept_language else {
        return Lang::En;
    };
    // (weight, position of the range that gave it, whether it was `*`)
    let mut best: [Option<(u16, usize, bool)>; 2] = [None, None];
    for (position, item) in value.split(',').enumerate() {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        if range.is_empty() || !is_language_range(range) {
            continue;
        }
        let mut weight = Some(1000);
        for param in parts {
            let (name, val) = param.split_once('=').unwrap_or((param, ""));
            if name.trim().eq_ignore_ascii_case("q") {
                weight = parse_qvalue(val.trim());
            }
        }
        let Some(weight) = weight else { continue };
        let primary = range.split('-').next().unwrap_or("");
        for (i, lang) in [Lang::En, Lang::Vi].into_iter().enumerate() {
            let wildcard = range == "*";
            if !wildcard && !primary.eq_ignore_ascii_case(lang.tag()) {
                continue;
            }
            // A specific range overrides `*`; among specific ranges the first one counts.
            let replace = match best[i] {
                None => true,
                Some((_, _, was_wildcard)) => was_wildcard && !wildcard,
            };
            if replace {
                best[i] = Some((weight, position, wildcard));
            }
        }
    }
    let rank = |b: Option<(u16, usize, bool)>| match b {
        Some((w, pos, wildcard)) if w > 0 => Some((w, if wildcard { usize::MAX } else { pos })),
        _ => None,
    };
    match (rank(best[0]), rank(best[1])) {
        (_, None) => Lang::En,
        (None, Some(_)) => Lang::Vi,
        (Some((we, pe)), Some((wv, pv))) => {
            if wv > we || (wv == we && pv < pe) {
                Lang::Vi
            } else {
                Lang::En
            }
        }
    }
}

/// `*` or 1–8 letters followed by `-`-separated subtags of 1–8 letters or digits.
fn is_language_range(range: &str) -> bool {
    if range == "*" {
        return true;
    }
    let mut subtags = range.split('-');
    let first = subtags.next().unwrap_or("");
    (1..=8).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A weight `0`…`1` with at most three decimals, in thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// The title of a problem with `status`.
pub fn title(status: StatusCode, lang: Lang) -> String {
    let english = || status.canonical_reason().unwrap_or("Error").to_string();
    if lang == Lang::En {
        return english();
    }
    let vi = match status.as_u16() {
        400 => "Yêu cầu không hợp lệ",
        401 => "Chưa xác thực",
        403 => "Không có quyền",
        404 => "Không tìm thấy",
        405 => "Phương thức không được phép",
        406 => "Không đáp ứng được định dạng yêu cầu",
        408 => "Hết thời gian chờ yêu cầu",
        409 => "Xung đột",
        410 => "Không còn tồn tại",
        412 => "Phiên bản đã thay đổi",
        413 => "Tệp quá lớn",
        415 => "Định dạng không được hỗ trợ",
        422 => "Dữ liệu không hợp lệ",
        428 => "Cần điều kiện tiên quyết",
        429 => "Quá nhiều yêu cầu",
        500 => "Lỗi máy chủ",
        502 | 504 => "Lỗi cổng kết nối",
        503 => "Dịch vụ tạm thời không khả dụng",
        _ => return english(),
    };
    vi.to_string()
}

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
        "MERGED_CELLS" => match c.params.get("cells").map(plain) {
            Some(cells) => format!(
                "Dòng tiêu đề có ô được gộp ({cells}); hãy bỏ gộp ô để mỗi cột có tên riêng."
            ),
            None => "Tệp nhập liệu có ô được gộp; hãy bỏ gộp ô và điền từng ô.".into(),
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
fn length_vi(
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
fn range_vi(
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
fn with_value(value: Option<String>, rule: &str) -> String {
    match value {
        Some(v) => format!("{v} không hợp lệ; {rule}"),
        None => rule.to_string(),
    }
}

/// "bản đánh giá của đơn vị X {rest}", or without the unit when it is not known.
fn with_unit(unit: Option<String>, rest: &str) -> String {
    match unit {
        Some(u) => format!("bản đánh giá của đơn vị “{u}” {rest}"),
        None => format!("bản đánh giá {rest}"),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| a.iter().map(plain).collect())
}

fn resource_vi(resource: &str) -> &str {
    match resource {
        "assessment" => "bản đánh giá",
        "clarification" => "yêu cầu làm rõ",
        "evidence" => "minh chứng",
        "evidence file" => "tệp minh chứng",
        "indicator set" => "bộ chỉ số",
        "integration token" => "mã tích hợp",
        "node" => "chỉ số",
        "period" => "kỳ đánh giá",
        "period group" => "nhóm xếp hạng của kỳ đánh giá",
        "published group" => "kết quả công bố của nhóm",
        "published result" => "kết quả công bố",
        "published unit" => "kết quả công bố của đơn vị",
        "ranking exclusion of assessment" => "quyết định loại khỏi xếp hạng của bản đánh giá",
        "ranking group" => "nhóm xếp hạng",
        "unit" => "đơn vị",
        "user" => "tài khoản",
        "webhook" => "điểm nhận webhook",
        "webhook delivery" => "lần gửi webhook",
        other => other,
    }
}

fn phase_vi(phase: &str) -> &str {
    match phase {
        "draft" => "dự thảo",
        "self_assessment" => "tự đánh giá",
        "review" => "thẩm định",
        "published" => "công bố",
        "archived" => "lưu trữ",
        other => other,
    }
}

fn kind_vi(kind: &str) -> String {
    let vi = match kind {
        "province" => "tỉnh",
        "department" => "sở, ban, ngành",
        "district" => "huyện",
        "commune" => "xã, phường",
        "party_body" => "cơ quan Đảng",
        "fatherland_front" => "Mặt trận Tổ quốc, đoàn thể",
        "ministry" => "bộ, ngành trung ương",
        "other" => "khác",
        other => return other.to_string(),
    };
    format!("{vi} ({kind})")
}

fn set_status_vi(status: &str) -> &str {
    match status {
        "draft" => "dự thảo",
        "active" => "đang áp dụng",
        "retired" => "ngừng áp dụng",
        other => other,
    }
}

fn state_vi(state: &str) -> &str {
    match state {
        "not_started" => "chưa bắt đầu",
        "in_progress" => "đang nhập liệu",
        "submitted" => "đã nộp",
        "returned" => "bị trả lại",
        "finalised" => "đã chốt kết quả",
        other => other,
    }
}

/// The reason of a task of `GET /me/tasks`, in `lang`, quoting the task's facts.
pub fn task_reason(t: &crate::domain::tasks::Task, lang: Lang) -> String {
    use crate::domain::tasks::TaskKind as K;
    let p = &t.period_code;
    let node = t.node_code.as_deref().unwrap_or("?");
    let unit = t
        .unit
        .as_ref()
        .map(|(_, code, name)| format!("{name} ({code})"));
    let due = t.due_at.map(|d| when(d, lang));
    match lang {
        Lang::En => {
            let unit = unit.unwrap_or_else(|| "The unit".into());
            match t.kind {
                K::AssessmentReturned => format!(
                    "A reviewer returned the self-assessment of period {p}{}; correct it and submit it again{}.",
                    t.note
                        .as_deref()
                        .map(|r| format!(": \"{r}\""))
                        .unwrap_or_default(),
                    due.map(|d| format!(" (deadline {d})")).unwrap_or_default()
                ),
                K::ClarificationAwaitingUnit => format!(
                    "A reviewer asked about component {node} of period {p}; answer the clarification."
                ),
                K::EvidenceMissing => format!(
                    "Component {node} of period {p} requires evidence: attach evidence or write an explanation, or it earns no points and the form cannot be submitted."
                ),
                K::ReadyToSubmit => format!(
                    "The self-assessment of period {p} is complete and waits for the leader's confirmation (submit){}.",
                    due.map(|d| format!(" before {d}")).unwrap_or_default()
                ),
                K::AssessmentSubmitted => format!(
                    "{unit} submitted its self-assessment of period {p}; review it (adjust, return or finalise)."
                ),
                K::ClarificationAnswered => {
                    format!("{unit} answered the clarification on component {node} of period {p}.")
                }
                K::PhaseEndingSoon => format!(
                    "The {} phase of period {p} closes at {}.",
                    t.phase.map_or("current", |p| p.as_str()).replace('_', "-"),
                    due.unwrap_or_else(|| "soon".into())
                ),
                K::UnitOverdue => format!(
                    "{unit} has not submitted its self-assessment of period {p}; the deadline was {}.",
                    due.unwrap_or_default()
                ),
            }
        }
        Lang::Vi => {
            let unit = unit.unwrap_or_else(|| "Đơn vị".into());
            match t.kind {
                K::AssessmentReturned => format!(
                    "Bản tự đánh giá kỳ {p} bị cán bộ thẩm định trả lại{}; hãy chỉnh sửa và nộp lại{}.",
                    t.note
                        .as_deref()
                        .map(|r| format!(" với lý do: “{r}”"))
                        .unwrap_or_default(),
                    due.map(|d| format!(" (hạn nộp {d})")).unwrap_or_default()
                ),
                K::ClarificationAwaitingUnit => format!(
                    "Cán bộ thẩm định yêu cầu làm rõ chỉ số {node} của kỳ {p}; hãy trả lời yêu cầu làm rõ."
                ),
                K::EvidenceMissing => format!(
                    "Chỉ số {node} của kỳ {p} yêu cầu minh chứng: hãy đính kèm minh chứng hoặc viết giải trình, nếu không chỉ số không được tính điểm và bản đánh giá chưa thể nộp."
                ),
                K::ReadyToSubmit => format!(
                    "Bản tự đánh giá kỳ {p} đã đủ thông tin, chờ lãnh đạo đơn vị xác nhận và nộp{}.",
                    due.map(|d| format!(" trước {d}")).unwrap_or_default()
                ),
                K::AssessmentSubmitted => format!(
                    "{unit} đã nộp bản tự đánh giá kỳ {p}; hãy thẩm định (điều chỉnh, trả lại hoặc chốt kết quả)."
                ),
                K::ClarificationAnswered => {
                    format!("{unit} đã trả lời yêu cầu làm rõ chỉ số {node} của kỳ {p}.")
                }
                K::PhaseEndingSoon => format!(
                    "Giai đoạn {} của kỳ {p} kết thúc lúc {}.",
                    phase_vi(t.phase.map_or("", |p| p.as_str())),
                    due.unwrap_or_default()
                ),
                K::UnitOverdue => format!(
                    "{unit} chưa nộp bản tự đánh giá kỳ {p}; hạn nộp đã qua lúc {}.",
                    due.unwrap_or_default()
                ),
            }
        }
    }
}

/// A time as people read it: UTC in English, Vietnam time (UTC+7) in Vietnamese.
fn when(t: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    match lang {
        Lang::En => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        Lang::Vi => {
            let ict = chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset");
            t.with_timezone(&ict)
                .format("%H:%M ngày %d/%m/%Y (giờ Việt Nam)")
                .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
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
    fn qvalues_parse_to_thousandths() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0"), Some(0));
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue("1.001"), None);
        assert_eq!(parse_qvalue(""), None);
        assert_eq!(parse_qvalue(".5"), None);
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
            vi(fe("/answers/0/inputs/points", "POINTS_OUT_OF_RANGE").with_param("max", "20"))
                .unwrap(),
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
        let mut codes = declared_codes(include_str!("domain/set_validation/codes.rs"));
        codes.extend(declared_codes(include_str!("scoring/input.rs")));
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
}
