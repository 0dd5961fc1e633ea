//! The vocabulary of a province's assessment workflow, as closed sets: where an assessment
//! stands, the phases of a period, how an assessment was finalised, what a caller may do with
//! it, the office's bulk decisions, and the progress board's filters, sort keys and export
//! formats. Each enum that a text column holds converts to and from that text (`as_str`,
//! `parse`). No I/O here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where an assessment stands: `not_started → in_progress → submitted → (returned → …) →
/// finalised`.
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
pub enum AssessmentState {
    /// Nothing entered yet.
    NotStarted,
    /// The unit is entering figures and evidence.
    InProgress,
    /// Confirmed by the unit's leader (or submitted by the office on its behalf): locked for
    /// the unit, open to review.
    Submitted,
    /// Sent back to the unit with a reason; the unit may edit and submit again.
    Returned,
    /// The result is official.
    Finalised,
}

text_enum!(AssessmentState {
    NotStarted => "not_started",
    InProgress => "in_progress",
    Submitted => "submitted",
    Returned => "returned",
    Finalised => "finalised",
});

impl AssessmentState {
    /// The form is still the unit's to fill in: it has not been submitted, or it came back.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            AssessmentState::NotStarted | AssessmentState::InProgress | AssessmentState::Returned
        )
    }
}

/// The phase of a period: `draft → self_assessment → review → published → archived`.
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
pub enum PeriodPhase {
    Draft,
    SelfAssessment,
    Review,
    Published,
    Archived,
}

text_enum!(PeriodPhase {
    Draft => "draft",
    SelfAssessment => "self_assessment",
    Review => "review",
    Published => "published",
    Archived => "archived",
});

impl PeriodPhase {
    /// The phases in which the office decides about late or silent units (before the
    /// period's results are published).
    pub const DECIDING: [PeriodPhase; 2] = [PeriodPhase::SelfAssessment, PeriodPhase::Review];
}

/// Where a clarification thread stands: `open` (waiting for the unit) → `answered` (waiting
/// for the reviewer) → `closed`; a new message from a reviewer opens it again.
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
pub enum ClarificationStatus {
    /// Waiting for the unit.
    Open,
    /// The unit answered; waiting for the reviewer.
    Answered,
    /// Closed by a reviewer.
    Closed,
}

text_enum!(ClarificationStatus {
    Open => "open",
    Answered => "answered",
    Closed => "closed",
});

/// What a piece of evidence is.
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
pub enum EvidenceKind {
    /// An uploaded file (downloadable).
    File,
    /// A link to a document.
    Url,
    /// The number (and issuer, date) of an official document.
    Document,
}

text_enum!(EvidenceKind {
    File => "file",
    Url => "url",
    Document => "document",
});

/// What a ranking ranks on: the overall index, one pillar, or one main indicator.
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
pub enum RankingScope {
    Overall,
    Pillar,
    Main,
}

text_enum!(RankingScope {
    Overall => "overall",
    Pillar => "pillar",
    Main => "main",
});

/// How a finalised assessment was finalised.
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
pub enum FinalisedAs {
    /// Submitted (by the unit's leader or by the office on its behalf), reviewed, finalised:
    /// the reviewed points are official.
    Reviewed,
    /// Never submitted: the office finalised what the unit had entered (reviewed points).
    AsEntered,
    /// Never submitted: the office finalised it at zero points; none of its answers count.
    AtZero,
}

text_enum!(FinalisedAs {
    Reviewed => "reviewed",
    AsEntered => "as_entered",
    AtZero => "at_zero",
});

impl FinalisedAs {
    /// The result is recorded as "not submitted".
    pub fn not_submitted(self) -> bool {
        self != FinalisedAs::Reviewed
    }

    /// Whether scoring counts the unit's answers. An assessment finalised at zero is scored
    /// as if nothing had been entered (its answers stay stored, and count again once it is
    /// reopened). This is the one place that rule lives.
    pub fn counts_answers(self) -> bool {
        self != FinalisedAs::AtZero
    }
}

/// What a caller may do with an assessment now (`allowed_actions`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentAction {
    /// `GET …/score`.
    ViewScore,
    /// `POST …/what-if`.
    WhatIf,
    /// `PUT …/answers…`, evidence.
    EditAnswers,
    /// The unit's leader confirms: `POST …/submit`.
    Submit,
    /// The office submits for a silent unit: `POST …/submit-on-behalf`.
    SubmitOnBehalf,
    /// A reviewer sends it back: `POST …/return`.
    Return,
    /// A reviewer adjusts a component: `PUT …/adjustments/{node}`.
    Adjust,
    /// A reviewer finalises a submitted assessment: `POST …/finalise`.
    Finalise,
    /// The office finalises an unsubmitted assessment with what was entered:
    /// `POST …/finalise-not-submitted` with `as_entered`.
    FinaliseAsEntered,
    /// The office finalises an unsubmitted assessment at zero:
    /// `POST …/finalise-not-submitted` with `at_zero`.
    FinaliseAtZero,
    /// The office reopens: `POST …/reopen`.
    Reopen,
    /// The office sets the unit's own deadline: `PUT …/deadline`.
    ExtendDeadline,
    /// The office excludes the unit from the ranking: `PUT …/ranking-exclusion`.
    ExcludeFromRanking,
    /// The office ranks an excluded unit again: `DELETE …/ranking-exclusion`.
    IncludeInRanking,
    /// The office rebuilds the period's scores: `POST /periods/{id}/recompute`.
    Recompute,
}

/// A decision the office (or, for `finalise` and `return`, a reviewer) takes for many
/// assessments in one call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Finalise submitted assessments (reviewer or admin).
    Finalise,
    /// Return submitted assessments to their units with a reason (reviewer or admin).
    Return,
    /// Set the units' own deadline (admin).
    ExtendDeadline,
    /// Submit on the units' behalf with a reason (admin).
    SubmitOnBehalf,
    /// Finalise unsubmitted assessments with what was entered (admin).
    FinaliseAsEntered,
    /// Finalise unsubmitted assessments at zero (admin).
    FinaliseAtZero,
}

text_enum!(BulkAction {
    Finalise => "finalise",
    Return => "return",
    ExtendDeadline => "extend_deadline",
    SubmitOnBehalf => "submit_on_behalf",
    FinaliseAsEntered => "finalise_as_entered",
    FinaliseAtZero => "finalise_at_zero",
});

impl BulkAction {
    /// A reason is required (for every item: its own or the call's).
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            BulkAction::Return
                | BulkAction::SubmitOnBehalf
                | BulkAction::FinaliseAsEntered
                | BulkAction::FinaliseAtZero
        )
    }
}

/// Which units the progress board shows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProgressFilter {
    /// Not submitted and past their deadline (the unit's own one, else the close of the
    /// self-assessment phase).
    Overdue,
    /// Nothing entered yet.
    NotStarted,
    /// Submitted, waiting for a reviewer to finalise or return it.
    WaitingForReview,
}

/// What the progress board is sorted by (ties: unit code).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProgressSort {
    UnitCode,
    UnitName,
    Group,
    State,
    AnsweredShare,
    MissingEvidence,
    OpenClarifications,
    Deadline,
    DaysOverdue,
    LastActivity,
}

/// Sort direction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// A spreadsheet format of an export.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// `text/csv`, UTF-8 (with a byte-order mark on request, for Excel).
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// The format of a published snapshot's download.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotFormat {
    /// The snapshot's canonical JSON (object keys sorted, no whitespace): the bytes its
    /// published checksum is the SHA-256 of.
    Json,
    /// One row per unit, `text/csv`, UTF-8 (with a byte-order mark on request).
    Csv,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_and_match_serde() {
        for s in AssessmentState::ALL {
            assert_eq!(AssessmentState::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for p in PeriodPhase::ALL {
            assert_eq!(PeriodPhase::parse(p.as_str()), Some(*p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for f in FinalisedAs::ALL {
            assert_eq!(FinalisedAs::parse(f.as_str()), Some(*f));
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
        for b in BulkAction::ALL {
            assert_eq!(BulkAction::parse(b.as_str()), Some(*b));
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
        for c in ClarificationStatus::ALL {
            assert_eq!(ClarificationStatus::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for k in EvidenceKind::ALL {
            assert_eq!(EvidenceKind::parse(k.as_str()), Some(*k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for k in RankingScope::ALL {
            assert_eq!(RankingScope::parse(k.as_str()), Some(*k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(AssessmentState::parse("done"), None);
    }

    #[test]
    fn only_a_zero_finalisation_drops_the_answers() {
        assert!(FinalisedAs::Reviewed.counts_answers());
        assert!(FinalisedAs::AsEntered.counts_answers());
        assert!(!FinalisedAs::AtZero.counts_answers());
        assert!(!FinalisedAs::Reviewed.not_submitted());
        assert!(FinalisedAs::AsEntered.not_submitted() && FinalisedAs::AtZero.not_submitted());
    }

    #[test]
    fn open_states_are_the_units_to_fill_in() {
        use AssessmentState::*;
        let open: Vec<_> = AssessmentState::ALL
            .iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open, [&NotStarted, &InProgress, &Returned]);
    }
}
