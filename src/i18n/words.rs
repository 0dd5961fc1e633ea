//! Vietnamese names of the vocabulary that messages quote: resources, phases, unit kinds,
//! set statuses and assessment states.

pub(super) fn resource_vi(resource: &str) -> &str {
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

pub(super) fn phase_vi(phase: &str) -> &str {
    match phase {
        "draft" => "dự thảo",
        "self_assessment" => "tự đánh giá",
        "review" => "thẩm định",
        "published" => "công bố",
        "archived" => "lưu trữ",
        other => other,
    }
}

pub(super) fn kind_vi(kind: &str) -> String {
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

pub(super) fn set_status_vi(status: &str) -> &str {
    match status {
        "draft" => "dự thảo",
        "active" => "đang áp dụng",
        "retired" => "ngừng áp dụng",
        other => other,
    }
}

pub(super) fn state_vi(state: &str) -> &str {
    match state {
        "not_started" => "chưa bắt đầu",
        "in_progress" => "đang nhập liệu",
        "submitted" => "đã nộp",
        "returned" => "bị trả lại",
        "finalised" => "đã chốt kết quả",
        other => other,
    }
}
