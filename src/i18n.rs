//! The language of problem responses (SPEC §4: "messages in Vietnamese when
//! `Accept-Language: vi`").
//!
//! - [`language_context`] (middleware) negotiates the language of each request from
//!   `Accept-Language` and keeps it in a task-local, as `telemetry` does for the request id, so
//!   that [`crate::error::AppError`] renders in the caller's language wherever it is rendered:
//!   handlers, extractors' error handlers, the 404/405 fallback.
//! - The catalogue below holds the Vietnamese titles (per status) and details (per stable
//!   `code`). A code without a Vietnamese detail keeps its English detail; the `code` itself never
//!   changes. English is the default and is rendered exactly as before.
//!
//! May import: actix-web, serde_json, `crate::error` (the data it translates).

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
            "Có một thay đổi đồng thời xung đột với yêu cầu này; vui lòng thử lại.".into()
        }
        "CLARIFICATION_CLOSED" => "Yêu cầu làm rõ này đã đóng.".into(),
        "NOT_ALL_FINALISED" => {
            "Chưa phải mọi bản đánh giá của nhóm đều đã được chốt kết quả.".into()
        }
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
        "INVALID_INPUT" => "Không thể tính điểm dữ liệu trả lời theo phương pháp của chỉ số; \
                            xem errors[]."
            .into(),
        "INVALID_BODY" => "Nội dung yêu cầu không khớp với lược đồ dữ liệu; xem errors[].".into(),
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

/// The Vietnamese message of a field error, for the field codes whose message is fixed.
pub fn field_message_vi(e: &FieldError) -> Option<&'static str> {
    Some(match e.code.as_str() {
        "UNANSWERED" => "chưa có câu trả lời",
        "EVIDENCE_REQUIRED" => "cần đính kèm minh chứng hoặc viết giải trình",
        _ => return None,
    })
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
        "ranking group" => "nhóm xếp hạng",
        "unit" => "đơn vị",
        "user" => "tài khoản",
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
        assert_eq!(p.errors[0].message, "is required");
        assert_eq!(p.errors[0].message_en, None);
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
