//! The indicator-set document (bộ chỉ số): the format of `seeds/indicator-sets/*.json`, of
//! `POST /api/v1/indicator-sets` and of the export. Pure data types (serde + utoipa schemas);
//! validation lives in [`crate::domain::set_validation`], scoring in [`crate::scoring`].
//!
//! A document is a tree: groups → main indicators → component indicators → optional criteria.
//! Leaves carry a scoring [`Method`]; inner nodes add their children's points, capped at their
//! own `max_points`. Points are exact decimals (`rust_decimal::Decimal`), serialised as JSON
//! strings ("12.5") and accepted as strings or numbers.
//!
//! The format has a version, [`SCHEMA_VERSION`]; documents written at an older version are
//! brought up to date by [`crate::domain::set_upgrade`] before they are typed here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::UnitKind;

/// The version of the document format this code reads and writes. Version 1 is the format
/// before `schema_version` existed; version 2 added `classification`, and `inputs` and
/// `evidence_expected` on nodes.
pub const SCHEMA_VERSION: u32 = 2;

/// A whole indicator-set document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDocument {
    /// Version of the document format. Optional on import, where it defaults to the current
    /// version (2); a document of an older version is upgraded when it is imported or read.
    /// Always written.
    // Required by the type: every document reaches it through `set_upgrade::upgrade`, which
    // sets it, so a path that skipped the upgrade fails instead of misreading a document.
    #[schema(example = 2, required = false)]
    pub schema_version: u32,
    /// Stable identity of the set family, e.g. `TH-HUYEN`; versions share the code.
    #[schema(max_length = 64)]
    pub code: String,
    /// Version number within the family, starting at 1.
    pub version: i32,
    /// Vietnamese name, e.g. "Bộ chỉ số đánh giá chuyển đổi số cấp huyện".
    #[schema(max_length = 10000)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// The unit kind this set assesses.
    pub target_unit_kind: UnitKind,
    /// First data year the set is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// The decision that issues the set.
    pub legal_basis: LegalBasis,
    /// Total scale (thang điểm): the root's maximum, e.g. 1000.
    #[schema(value_type = String, example = "1000", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub scale: Decimal,
    /// Decimals of the published index (points ÷ max); rankings compare the rounded index.
    #[serde(default = "default_precision")]
    pub precision: u32,
    /// Decimals to which each component's points are rounded (half away from zero);
    /// absent = exact, no rounding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_precision: Option<u32>,
    /// Where the numbers come from; every inferred number is marked as inferred here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub provenance: Option<String>,
    /// Classification (xếp loại) of a unit's overall index into labelled bands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// Named selections of main indicators (many-to-many).
    #[serde(default)]
    pub pillars: Vec<Pillar>,
    /// Top-level nodes (groups or main indicators, plus optional `bonus` / `penalty` nodes).
    pub nodes: Vec<Node>,
}

/// Whether a decision fixes the classification scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClassificationStatus {
    /// The decision that issues the set (or one that applies it) fixes these bands.
    Decided,
    /// An illustrative scale: no decision fixes one for this set.
    Example,
}

/// The classification (xếp loại) of a unit's overall index: bands from the highest to the
/// lowest. A unit is in the first band whose `min_index` is at most its index rounded to the
/// set's `precision` (the value rankings compare), so an index exactly on a threshold belongs to
/// the higher band. A rule written "above 75 %" is the threshold one step of precision above
/// (0.7501 with precision 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "example", "source": "Thang xếp loại minh họa", "bands": [
    {"code": "XUAT_SAC", "label": "Xuất sắc", "label_en": "Excellent", "min_index": "0.9"},
    {"code": "TOT", "label": "Tốt", "label_en": "Good", "min_index": "0.75"},
    {"code": "KHA", "label": "Khá", "label_en": "Fair", "min_index": "0.6"},
    {"code": "TRUNG_BINH", "label": "Trung bình", "label_en": "Average", "min_index": "0.4"},
    {"code": "KEM", "label": "Kém", "label_en": "Poor", "min_index": "0"}]}))]
pub struct Classification {
    pub status: ClassificationStatus,
    /// Where the scale comes from (the decision and its article), or why it is an example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Highest band first; thresholds strictly descending; the last band starts at 0.
    pub bands: Vec<ClassBand>,
}

/// One band of a classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassBand {
    /// Stable code, e.g. `TOT`.
    pub code: String,
    /// Vietnamese label, e.g. "Tốt".
    pub label: String,
    /// English label, e.g. "Good".
    pub label_en: String,
    /// The lowest rounded index in the band (0 ≤ min_index ≤ 1, at most `precision` decimals).
    #[schema(value_type = String, example = "0.75", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub min_index: Decimal,
}

/// The label and description of one input of a leaf's method, shown on entry forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputText {
    /// What the field is, e.g. "Số cuộc họp do Chủ tịch chủ trì".
    #[schema(max_length = 10000)]
    pub label: String,
    /// What to count and how, e.g. which meetings count and for which period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
}

pub fn default_precision() -> u32 {
    4
}

/// The decision (quyết định) that issues a set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// e.g. "3716/QĐ-UBND".
    #[schema(max_length = 10000)]
    pub decision_number: String,
    /// Date of the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_date: Option<NaiveDate>,
    /// e.g. "UBND tỉnh Thanh Hóa".
    #[schema(max_length = 10000)]
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub url: Option<String>,
}

/// A pillar (trụ cột): a named selection of main indicators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pillar {
    #[schema(max_length = 64)]
    pub code: String,
    #[schema(max_length = 10000)]
    pub name: String,
    /// Codes of `main` nodes counted in this pillar.
    pub main_indicators: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A grouping above main indicators (e.g. "Nhóm chỉ số nền tảng chung").
    Group,
    /// Main indicator (chỉ số chính).
    Main,
    /// Component indicator (chỉ số thành phần).
    Component,
    /// Criterion (tiêu chí) below a component.
    Criterion,
    /// Bonus points (điểm thưởng), top level only, added at the root.
    Bonus,
    /// Penalty points (điểm trừ), top level only, subtracted at the root.
    Penalty,
}

/// How an inner node relates to its children's maxima.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChildrenPolicy {
    /// Children's maxima add up exactly to the node's maximum (the usual case).
    #[default]
    Sum,
    /// Children's maxima may add up to more; the node's points are capped at its maximum.
    Cap,
}

/// Whether evidence (tài liệu kiểm chứng) must back the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRule {
    #[default]
    None,
    Optional,
    /// Self points are earned only when evidence or an explanation (giải trình) is attached.
    Required,
}

/// Which units a leaf applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicability {
    /// When non-empty, the node applies only to units carrying at least one of these tags
    /// (e.g. `kinh_te_so` for the departments with digital-economy duties).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unit_tags_any: Vec<String>,
    /// A unit may declare the node not applicable (with an explanation); a reviewer may overrule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declarable_not_applicable: bool,
}

impl Applicability {
    pub fn is_default(&self) -> bool {
        self.unit_tags_any.is_empty() && !self.declarable_not_applicable
    }
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Stable code, unique in the set, e.g. "1", "1.2", "7.3.a".
    #[schema(max_length = 64)]
    pub code: String,
    pub kind: NodeKind,
    /// Flat form: the code of the parent node, for nodes listed at the top level of `nodes`
    /// instead of nested in `children`. Absent for nested nodes and true top-level nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub parent: Option<String>,
    /// Vietnamese name.
    #[schema(max_length = 10000)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// How to declare: what to count, over which period, how to read the figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub guidance: Option<String>,
    /// Labels and descriptions of the method's inputs, by input name: `numerator` and
    /// `denominator` (ratio, ratio_to_target), `satisfied` and `respondents` (survey), `value`
    /// (tiers, relative_to_best, boolean), `option` (choice), `items` (capped_sum), `points`
    /// (manual); leaves only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputText>,
    /// Maximum points (điểm tối đa); 0 marks a node that is not scored.
    #[schema(value_type = String, example = "20", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub max_points: Decimal,
    #[serde(default, skip_serializing_if = "is_default_policy")]
    pub children_policy: ChildrenPolicy,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub children: Vec<Node>,
    /// Scoring method; required on leaves, forbidden on inner nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    #[serde(default, skip_serializing_if = "is_default_evidence")]
    pub evidence: EvidenceRule,
    /// The evidence (tài liệu kiểm chứng) expected, in words, e.g. "Biên bản các cuộc họp";
    /// leaves only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub evidence_expected: Option<String>,
    /// Who supplies the figure (nguồn dữ liệu).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub data_source: Option<String>,
    /// Who verifies it (đơn vị phối hợp xác minh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000)]
    pub verifying_body: Option<String>,
    /// Measured automatically from a platform: units cannot edit it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic: bool,
    #[serde(default, skip_serializing_if = "Applicability::is_default")]
    pub applicability: Applicability,
    /// Codes of the previous version's nodes this node replaces (year-to-year comparison).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
}

fn is_default_policy(p: &ChildrenPolicy) -> bool {
    *p == ChildrenPolicy::Sum
}
fn is_default_evidence(e: &EvidenceRule) -> bool {
    *e == EvidenceRule::None
}

/// Whether a larger input is better (default) or worse (overdue dossiers, incidents…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    HigherIsBetter,
    LowerIsBetter,
}

/// What a zero denominator means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZeroDenominator {
    /// Refuse the input (422): the unit must declare a positive denominator.
    #[default]
    Reject,
    /// Score 0.
    Zero,
    /// Score the full maximum (nothing to do, nothing left undone).
    Full,
    /// The component does not apply: removed from points and max.
    NotApplicable,
}

/// One band of a `tiers` method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Higher-is-better: the band applies when `value >= threshold`.
    /// Lower-is-better: the band applies when `value <= threshold`.
    #[schema(value_type = String, example = "3", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub threshold: Decimal,
    #[schema(value_type = String, example = "15", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points: Decimal,
}

/// One option of a `choice` method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    #[schema(max_length = 64)]
    pub code: String,
    #[schema(max_length = 10000)]
    pub label: String,
    #[schema(value_type = String, example = "5", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points: Decimal,
}

/// One sub-item of a `capped_sum` method: contributes `min(cap, value × points_per_unit)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SumItem {
    #[schema(max_length = 64)]
    pub code: String,
    #[schema(max_length = 10000)]
    pub label: String,
    #[schema(value_type = String, example = "1", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub points_per_unit: Decimal,
    /// Cap of this item's contribution; absent = only the component's maximum caps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "5", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub cap: Option<Decimal>,
}

/// Scoring method of a leaf (docs/scoring.md). `M` = the leaf's `max_points`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Method {
    /// Inputs `{numerator, denominator}`: `S = M × a/b` (lower-is-better: `M × (1 − a/b)`);
    /// `a > b` is refused.
    Ratio {
        #[serde(default)]
        direction: Direction,
        #[serde(default)]
        zero_denominator: ZeroDenominator,
    },
    /// Inputs `{numerator, denominator}`, target `t ∈ (0, 1]`: `S = M × min(1, (a/b)/t)`;
    /// lower-is-better: `M` when `a/b ≤ t`, else `M × (1 − a/b)/(1 − t)`.
    RatioToTarget {
        #[schema(value_type = String, example = "0.8")]
        target: Decimal,
        #[serde(default)]
        direction: Direction,
        #[serde(default)]
        zero_denominator: ZeroDenominator,
    },
    /// Input `{value}`: points of the best satisfied band (bands ordered by threshold,
    /// ascending); none satisfied → 0.
    Tiers {
        #[serde(default)]
        direction: Direction,
        bands: Vec<Band>,
    },
    /// Input `{value: bool}`: `M` for yes (lower-is-better: for no), else 0.
    Boolean {
        #[serde(default)]
        direction: Direction,
    },
    /// Input `{option}`: the chosen option's points.
    Choice { options: Vec<ChoiceOption> },
    /// Input `{items: {code: value}}`: `min(M, Σ min(cap, value × points_per_unit))`.
    CappedSum { items: Vec<SumItem> },
    /// Input `{value}`: `M × value / best` where best is the largest value in the ranking
    /// group (lower-is-better: `M × best / value` with best the smallest).
    RelativeToBest {
        #[serde(default)]
        direction: Direction,
    },
    /// Inputs `{satisfied, respondents}`: `S = M × satisfied / respondents`.
    Survey {
        #[serde(default)]
        zero_denominator: ZeroDenominator,
    },
    /// Input `{points}`: entered directly, `0 ≤ S ≤ M`.
    Manual,
}

impl Method {
    /// The members of the answer object this method takes (the keys of a node's `inputs`).
    pub fn input_names(&self) -> &'static [&'static str] {
        match self {
            Method::Ratio { .. } | Method::RatioToTarget { .. } => &["numerator", "denominator"],
            Method::Survey { .. } => &["satisfied", "respondents"],
            Method::Tiers { .. } | Method::RelativeToBest { .. } | Method::Boolean { .. } => {
                &["value"]
            }
            Method::Choice { .. } => &["option"],
            Method::CappedSum { .. } => &["items"],
            Method::Manual => &["points"],
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Method::Ratio { .. } => "ratio",
            Method::RatioToTarget { .. } => "ratio_to_target",
            Method::Tiers { .. } => "tiers",
            Method::Boolean { .. } => "boolean",
            Method::Choice { .. } => "choice",
            Method::CappedSum { .. } => "capped_sum",
            Method::RelativeToBest { .. } => "relative_to_best",
            Method::Survey { .. } => "survey",
            Method::Manual => "manual",
        }
    }
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }
}
