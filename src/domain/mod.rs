//! Domain vocabulary shared by every layer: roles, unit kinds, text folding, and the
//! indicator-set document. No I/O here.

/// Implements `as_str`, `parse` and `ALL` for an enum whose variants map to fixed texts.
macro_rules! text_enum {
    ($t:ident { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$($t::$v),+];
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $s),+
                }
            }
            pub fn parse(s: &str) -> Option<$t> {
                match s {
                    $($s => Some($t::$v),)+
                    _ => None,
                }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod events;
pub mod indicator_set;
pub mod precondition;
pub mod set_upgrade;
pub mod set_validation;
pub mod tasks;
pub mod workflow;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's role (README: "What is here").
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

/// What an integration token may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum TokenScope {
    /// Write the answers of automatically measured components.
    #[serde(rename = "automatic:write")]
    AutomaticWrite,
}

text_enum!(TokenScope {
    AutomaticWrite => "automatic:write",
});

/// The status of an indicator set: `draft` (editable) → `active` (immutable, usable by
/// periods) → `retired` (kept for the periods that use it, not usable by new ones).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum SetStatus {
    Draft,
    Active,
    Retired,
}

text_enum!(SetStatus {
    Draft => "draft",
    Active => "active",
    Retired => "retired",
});

/// Kinds of assessed unit: a closed set, held as text in the database (`units.kind`,
/// `ranking_groups.unit_kind`, `indicator_sets.target_unit_kind`, each with a CHECK listing
/// exactly these values).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Tỉnh, thành phố (the national DTI assesses provinces).
    Province,
    /// Sở, ban, ngành: provincial departments and agencies.
    Department,
    /// Huyện, thị xã, thành phố thuộc tỉnh (abolished 1 July 2025; historical periods).
    District,
    /// Xã, phường, đặc khu: commune-level People's Committees.
    Commune,
    /// Cơ quan Đảng: party committees and their advisory bodies.
    PartyBody,
    /// Mặt trận Tổ quốc and the socio-political organisations (đoàn thể).
    FatherlandFront,
    /// Bộ, ngành trung ương.
    Ministry,
    Other,
}

impl UnitKind {
    pub const ALL: [UnitKind; 8] = [
        UnitKind::Province,
        UnitKind::Department,
        UnitKind::District,
        UnitKind::Commune,
        UnitKind::PartyBody,
        UnitKind::FatherlandFront,
        UnitKind::Ministry,
        UnitKind::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            UnitKind::Province => "province",
            UnitKind::Department => "department",
            UnitKind::District => "district",
            UnitKind::Commune => "commune",
            UnitKind::PartyBody => "party_body",
            UnitKind::FatherlandFront => "fatherland_front",
            UnitKind::Ministry => "ministry",
            UnitKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for UnitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text of every [`UnitKind`], in [`UnitKind::ALL`] order.
pub const UNIT_KINDS: [&str; 8] = {
    let mut out = [""; 8];
    let mut i = 0;
    while i < out.len() {
        out[i] = UnitKind::ALL[i].as_str();
        i += 1;
    }
    out
};

/// The unit kind a request names in `field` (a body pointer such as `/kind`, or a query
/// parameter), or that field's `INVALID_KIND` error listing the kinds: the one wording of the
/// rule for bodies, filters and imports alike.
pub fn unit_kind_field(field: &str, s: &str) -> Result<UnitKind, crate::error::FieldError> {
    UnitKind::parse(s).ok_or_else(|| {
        crate::error::FieldError::new(
            field,
            "INVALID_KIND",
            format!("{s:?} is not one of {}", UNIT_KINDS.join(", ")),
        )
        .with_param("value", s)
        .with_param("allowed", UNIT_KINDS)
    })
}

/// Escapes one reference token of a JSON pointer (RFC 6901 §3): `a/b~c` → `a~1b~0c`.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer (RFC 6901) of where a deserialisation failed, from the path
/// `serde_path_to_error` tracked: `nodes[0].children[2].kind` → `/nodes/0/children/2/kind`,
/// `""` for the value itself. A path segment serde could not name (a map key that is not a
/// string, which JSON cannot hold) ends the pointer at its parent.
pub fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path {
        let token = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } | Segment::Enum { variant: key } => escape_token(key),
            Segment::Unknown => break,
        };
        pointer.push('/');
        pointer.push_str(&token);
    }
    pointer
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

/// Usernames: 3–64 characters, lower-case ASCII letters, digits, `.`, `-`, `_`.
pub fn is_valid_username(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// A validity period ends no earlier than it starts: `BEFORE_VALID_FROM` on `field` otherwise.
pub fn validity_dates_error(
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    field: &str,
) -> Option<crate::error::FieldError> {
    match (from, to) {
        (Some(f), Some(t)) if t < f => Some(
            crate::error::FieldError::new(
                field,
                "BEFORE_VALID_FROM",
                format!("{t} is before valid_from {f}"),
            )
            .with_param("valid_from", f)
            .with_param("valid_to", t),
        ),
        _ => None,
    }
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
    fn unit_kinds_round_trip_as_their_database_text() {
        for k in UnitKind::ALL {
            assert_eq!(UnitKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(UNIT_KINDS[4], "party_body");
        assert_eq!(UnitKind::parse("city"), None);
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
