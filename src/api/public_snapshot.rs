//! The shape of a published snapshot, for the document: `PublicationResponse.content` and the
//! parts of `PublicUnitResult`. A snapshot is built as JSON by
//! `services::publications::snapshot` and stored immutably (its checksum is the SHA-256 of its
//! canonical JSON), so these types describe it rather than build it; the publication tests
//! read every snapshot they publish back into them (unknown members refused), so that the
//! description cannot drift from what is published.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::UnitKind;
use crate::domain::indicator_set::Classification;
use crate::domain::workflow::{AssessmentState, FinalisedAs};

/// A published snapshot: the period, the group, the indicator set and every unit's official
/// result, ranked; an errata (version 2 and later) adds `changes`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "period": {"id": "0b6f1a7e-3c2d-4e5f-8a9b-1c2d3e4f5a6b", "code": "DTI-2025", "name": "Đánh giá DTI năm 2025", "data_year": 2025},
    "group": {"code": "LC-XA", "name": "Xã, phường tỉnh Lào Cai", "unit_kind": "commune"},
    "indicator_set": {"code": "VD-XA-100", "version": 1, "name": "Bộ chỉ số đánh giá chuyển đổi số cấp xã", "scale": "100",
                      "precision": 4, "decision_number": "3716/QĐ-UBND", "issuer": "UBND tỉnh Lào Cai", "classification": null},
    "version": 1, "visible_from": "2026-04-11T01:00:00Z",
    "rankings": [{
        "unit": {"code": "XA-BAC-HA", "name": "Xã Bắc Hà", "kind": "commune"},
        "rank": 1, "tied": false, "ranked": true, "exclusion_reason": null,
        "state": "finalised", "finalised_as": "reviewed", "not_submitted": false,
        "points": "87.5", "applicable_max": "100", "index": "0.875",
        "main_indicators": [
            {"code": "1", "name": "Nhận thức số", "points": "36", "applicable_max": "40", "index": "0.9", "rank": 1, "tied": false},
            {"code": "2", "name": "Hoạt động chính quyền số", "points": "51.5", "applicable_max": "60", "index": "0.8583", "rank": 2, "tied": false}
        ],
        "pillars": []
    }]
}))]
pub struct Snapshot {
    pub period: SnapshotPeriod,
    pub group: SnapshotGroup,
    pub indicator_set: SnapshotSet,
    /// 1 for the first publication, then 2, 3… for errata.
    #[schema(minimum = 1)]
    pub version: i32,
    pub visible_from: DateTime<Utc>,
    /// Every unit of the group: ranked first (by rank, then unit code), then the units
    /// without a rank.
    pub rankings: Vec<SnapshotEntry>,
    /// Errata only: what moved against the version before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<SnapshotChanges>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotPeriod {
    pub id: Uuid,
    #[schema(example = "DTI-2025")]
    pub code: String,
    pub name: String,
    pub data_year: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotGroup {
    #[schema(example = "LC-XA")]
    pub code: String,
    pub name: String,
    pub unit_kind: UnitKind,
}

/// The indicator-set version the results were scored with.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSet {
    pub code: String,
    pub version: i32,
    pub name: String,
    /// The set's total scale.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "100")]
    pub scale: String,
    /// Decimals of a published index.
    #[schema(minimum = 0, maximum = 28)]
    pub precision: i32,
    pub decision_number: String,
    pub issuer: String,
    /// The classification bands, when the set has them.
    pub classification: Option<Classification>,
}

/// One unit's official result. Units without a finalised result (possible only for units
/// excluded from the ranking) carry no points, index, band or breakdown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotEntry {
    pub unit: SnapshotUnit,
    /// Competition rank (1, 2, 2, 4); null for a unit without one.
    #[schema(minimum = 1)]
    pub rank: Option<i32>,
    /// Another unit has the same rounded index (and rank).
    pub tied: bool,
    /// Takes part in the ranking; an excluded unit is listed without a rank.
    pub ranked: bool,
    /// Why the unit was excluded from the ranking.
    pub exclusion_reason: Option<String>,
    pub state: Option<AssessmentState>,
    pub finalised_as: Option<FinalisedAs>,
    /// Finalised without having been submitted.
    pub not_submitted: bool,
    /// Official points (a decimal string).
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "87.5")]
    pub points: Option<String>,
    /// The maximum of what applies to the unit.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "100")]
    pub applicable_max: Option<String>,
    /// points ÷ applicable_max, rounded to the set's precision.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "0.875")]
    pub index: Option<String>,
    /// The classification band of the index (sets with a classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<SnapshotBand>,
    /// One line per main indicator, in the set's order.
    pub main_indicators: Vec<SnapshotScore>,
    /// One line per pillar, in the set's order.
    pub pillars: Vec<SnapshotScore>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotUnit {
    #[schema(example = "XA-BAC-HA")]
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotBand {
    #[schema(example = "TOT")]
    pub code: String,
    /// Vietnamese label.
    pub label: String,
    pub label_en: String,
}

/// A unit's points, index and rank on one main indicator or pillar.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotScore {
    /// The main indicator's node code or the pillar's code.
    pub code: String,
    pub name: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "12.5")]
    pub points: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "20")]
    pub applicable_max: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "0.625")]
    pub index: Option<String>,
    #[schema(minimum = 1)]
    pub rank: Option<i32>,
    pub tied: bool,
}

/// What an errata changed against the version before.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotChanges {
    pub since_version: i32,
    /// Every unit whose points, index or rank moved (or that is new, or gone), by unit code.
    pub units: Vec<SnapshotUnitChange>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotUnitChange {
    pub unit: SnapshotUnitName,
    /// Null for a unit new in this version.
    pub before: Option<SnapshotLine>,
    /// Null for a unit gone from this version.
    pub after: Option<SnapshotLine>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotUnitName {
    pub code: String,
    pub name: Option<String>,
}

/// A unit's overall points, index and rank in one version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotLine {
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub index: Option<String>,
    pub rank: Option<i32>,
}

/// What an errata changed for one unit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotChange {
    pub before: Option<SnapshotLine>,
    pub after: Option<SnapshotLine>,
}
