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
use actix_web::http::header::{self, LanguageTag, Preference, Quality, QualityItem};
use actix_web::middleware::Next;
use serde_json::Value;

use crate::error::{ClientError, FieldError};

mod fields;
mod problems;
mod tasks;
#[cfg(test)]
mod tests;
mod words;

pub use fields::field_message_vi;
use fields::*;
pub use problems::{INTERNAL_VI, UNAVAILABLE_VI, detail_vi};
pub use tasks::task_reason;
use words::*;

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
    // every `Accept-Language` line, as actix's typed header reads them
    let ranges = header::from_comma_delimited(req.headers().get_all(header::ACCEPT_LANGUAGE))
        .unwrap_or_default();
    LANG.scope(choose(&ranges), next.call(req)).await
}

/// Picks the language from an `Accept-Language` value (RFC 9110 §12.5.4), e.g. one stored
/// with a job; see [`choose`].
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let ranges = accept_language
        .and_then(|v| header::HeaderValue::from_str(v).ok())
        .and_then(|v| header::from_comma_delimited(std::iter::once(&v)).ok())
        .unwrap_or_default();
    choose(&ranges)
}

/// Picks the language from the ranges of `Accept-Language`, as actix's [`AcceptLanguage`]
/// parses them: language tags (BCP 47) or `*`, with weights in thousandths; a malformed range
/// or weight is left out by the parser.
///
/// Each supported language gets the weight of the most specific range that matches it: its own
/// tag or a longer one (`vi-VN` asks for Vietnamese), else `*`. The highest weight wins; `q=0`
/// means "not this one"; on equal weights the range listed first wins, and a language that only
/// `*` matches never beats English. With no usable preference the answer is English.
/// (actix's own `AcceptLanguage::ranked` sorts by weight alone and drops `q=0`, so `vi;q=0, *`
/// would lose the refusal of Vietnamese; hence this choice over its ranges.)
///
/// [`AcceptLanguage`]: actix_web::http::header::AcceptLanguage
pub fn choose(ranges: &[QualityItem<Preference<LanguageTag>>]) -> Lang {
    // (weight, position of the range that gave it, whether it was `*`)
    let mut best: [Option<(Quality, usize, bool)>; 2] = [None, None];
    for (position, range) in ranges.iter().enumerate() {
        let wildcard = matches!(range.item, Preference::Any);
        for (i, lang) in [Lang::En, Lang::Vi].into_iter().enumerate() {
            let matches = match &range.item {
                Preference::Any => true,
                Preference::Specific(tag) => {
                    tag.primary_language().eq_ignore_ascii_case(lang.tag())
                }
            };
            if !matches {
                continue;
            }
            // A specific range overrides `*`; among specific ranges the first one counts.
            let replace = match best[i] {
                None => true,
                Some((_, _, was_wildcard)) => was_wildcard && !wildcard,
            };
            if replace {
                best[i] = Some((range.quality, position, wildcard));
            }
        }
    }
    let rank = |b: Option<(Quality, usize, bool)>| match b {
        Some((w, pos, wildcard)) if w > Quality::ZERO => {
            Some((w, if wildcard { usize::MAX } else { pos }))
        }
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
