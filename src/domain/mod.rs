//! Domain vocabulary shared by every layer: roles, unit kinds, text folding, and the
//! indicator-set document. No I/O here.

pub mod indicator_set;
pub mod set_validation;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's role (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Provincial DTI office: everything.
    Admin,
    /// Support team / appraisal council: reads all assessments, adjusts, returns, finalises.
    Reviewer,
    /// Leadership and analysts: reads everything, changes nothing.
    Viewer,
    /// Specialist of one unit: enters figures and evidence for that unit.
    UnitEditor,
    /// Leader of one unit: what the editor may, plus confirm (submit).
    UnitLeader,
    /// A script or national platform holding an integration token: writes automatically
    /// measured components only. Never a user's role.
    Integration,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Reviewer,
        Role::Viewer,
        Role::UnitEditor,
        Role::UnitLeader,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
            Role::UnitEditor => "unit_editor",
            Role::UnitLeader => "unit_leader",
            Role::Integration => "integration",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// Unit roles belong to exactly one unit; provincial roles to none.
    pub fn is_unit_role(self) -> bool {
        matches!(self, Role::UnitEditor | Role::UnitLeader)
    }

    /// What the role may do, as shown by `GET /api/v1/me` (object-level scope applies on top:
    /// unit roles act on their own unit only).
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Role::Admin => &[
                "units:read",
                "units:write",
                "users:read",
                "users:write",
                "indicator_sets:read",
                "indicator_sets:write",
                "periods:read",
                "periods:manage",
                "assessments:read_all",
                "assessments:review",
                "assessments:reopen",
                "scores:recompute",
                "publications:manage",
                "audit:read",
            ],
            Role::Reviewer => &[
                "units:read",
                "users:read",
                "indicator_sets:read",
                "periods:read",
                "assessments:read_all",
                "assessments:review",
            ],
            Role::Viewer => &[
                "units:read",
                "users:read",
                "indicator_sets:read",
                "periods:read",
                "assessments:read_all",
                "audit:read",
            ],
            Role::UnitEditor => &[
                "units:read",
                "users:read_own_unit",
                "indicator_sets:read",
                "periods:read",
                "assessments:read_own_unit",
                "assessments:edit_own_unit",
            ],
            Role::Integration => &["assessments:write_automatic"],
            Role::UnitLeader => &[
                "units:read",
                "users:read_own_unit",
                "indicator_sets:read",
                "periods:read",
                "assessments:read_own_unit",
                "assessments:edit_own_unit",
                "assessments:submit_own_unit",
            ],
        }
    }
}

/// Kinds of assessed unit.
pub const UNIT_KINDS: [&str; 8] = [
    "province",
    "department",
    "district",
    "commune",
    "party_body",
    "fatherland_front",
    "ministry",
    "other",
];

pub fn is_unit_kind(s: &str) -> bool {
    UNIT_KINDS.contains(&s)
}

/// Lower-cases and strips Vietnamese diacritics (`đ` → `d`), so "lao cai" matches "Lào Cai".
pub fn fold_text(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Codes of units, sets, periods…: letters, digits, `.`, `-`, `_`; 1–64 characters.
pub fn is_valid_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Whether two unit codes name the same unit: codes ignore case (`snv` is `SNV`).
pub fn same_unit_code(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_vietnamese_diacritics() {
        assert_eq!(fold_text("Lào Cai"), "lao cai");
        assert_eq!(
            fold_text("  Sở Khoa học  và Công nghệ "),
            "so khoa hoc va cong nghe"
        );
        assert_eq!(fold_text("Phường Đồng Hới"), "phuong dong hoi");
        assert_eq!(fold_text("ĐIỆN BIÊN"), "dien bien");
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
