//! Why a task is on someone's list, in their language.

use super::*;

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
pub(super) fn when(t: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
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
