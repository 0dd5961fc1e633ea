//! What webhook receivers are told: the closed set of event types and the JSON body of an
//! event (`{"type", "timestamp", "data"}`, as the Standard Webhooks specification suggests).
//! The body is built once, when the event is written to the outbox, and sent byte for byte.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::workflow::{AssessmentState, ClarificationStatus, PeriodPhase};

/// The type of an event; receivers may subscribe to some of them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum EventType {
    /// The unit's leader confirmed (submitted) the self-assessment.
    #[serde(rename = "assessment.submitted")]
    AssessmentSubmitted,
    /// A reviewer returned the assessment to the unit, with a reason.
    #[serde(rename = "assessment.returned")]
    AssessmentReturned,
    /// A reviewer finalised the assessment: its reviewed points are now final.
    #[serde(rename = "assessment.finalised")]
    AssessmentFinalised,
    /// The administrator reopened a submitted or finalised assessment, with a reason.
    #[serde(rename = "assessment.reopened")]
    AssessmentReopened,
    /// The unit's deadline is 7 days or 1 day away and the form is not submitted
    /// (`data.deadline.days_before`).
    #[serde(rename = "assessment.deadline_approaching")]
    DeadlineApproaching,
    /// The unit's deadline passed and the form is not submitted.
    #[serde(rename = "assessment.deadline_passed")]
    DeadlinePassed,
    /// A reviewer asked the unit about one component.
    #[serde(rename = "clarification.opened")]
    ClarificationOpened,
    /// The unit answered a clarification.
    #[serde(rename = "clarification.answered")]
    ClarificationAnswered,
    /// The administrator moved a period to another phase.
    #[serde(rename = "period.phase_changed")]
    PeriodPhaseChanged,
    /// The results of a ranking group were published (version 1).
    #[serde(rename = "publication.published")]
    PublicationPublished,
    /// An errata version of published results (version 2 and later, with a changelog).
    #[serde(rename = "publication.errata_published")]
    PublicationErrataPublished,
}

impl EventType {
    pub const ALL: [EventType; 11] = [
        EventType::AssessmentSubmitted,
        EventType::AssessmentReturned,
        EventType::AssessmentFinalised,
        EventType::AssessmentReopened,
        EventType::DeadlineApproaching,
        EventType::DeadlinePassed,
        EventType::ClarificationOpened,
        EventType::ClarificationAnswered,
        EventType::PeriodPhaseChanged,
        EventType::PublicationPublished,
        EventType::PublicationErrataPublished,
    ];

    /// The name on the wire and in the database (`assessment.submitted`…).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AssessmentSubmitted => "assessment.submitted",
            EventType::AssessmentReturned => "assessment.returned",
            EventType::AssessmentFinalised => "assessment.finalised",
            EventType::AssessmentReopened => "assessment.reopened",
            EventType::DeadlineApproaching => "assessment.deadline_approaching",
            EventType::DeadlinePassed => "assessment.deadline_passed",
            EventType::ClarificationOpened => "clarification.opened",
            EventType::ClarificationAnswered => "clarification.answered",
            EventType::PeriodPhaseChanged => "period.phase_changed",
            EventType::PublicationPublished => "publication.published",
            EventType::PublicationErrataPublished => "publication.errata_published",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The event of a workflow action on an assessment (`submit`, `return`, `finalise`,
    /// `reopen`); other actions have none.
    pub fn of_assessment_action(action: &str) -> Option<EventType> {
        match action {
            "submit" | "submit_on_behalf" => Some(EventType::AssessmentSubmitted),
            "return" => Some(EventType::AssessmentReturned),
            "finalise" | "finalise_as_entered" | "finalise_at_zero" => {
                Some(EventType::AssessmentFinalised)
            }
            "reopen" => Some(EventType::AssessmentReopened),
            _ => None,
        }
    }
}

/// Where a delivery (one event to one receiver) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or for its receiver to be enabled again).
    Pending,
    /// An attempt got a 2xx answer.
    Succeeded,
    /// Every attempt of the retry schedule failed.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// The body of every webhook request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "assessment.returned",
    "timestamp": "2026-02-03T08:15:00Z",
    "data": {
        "link": "/api/v1/assessments/5b3e0c1a-8f0e-4a57-9d7c-2f1b6c0d9e41",
        "period": {"id": "0b6f1a7e-3c2d-4e5f-8a9b-1c2d3e4f5a6b", "code": "DTI-2025", "name": "Đánh giá DTI năm 2025", "phase": "review"},
        "unit": {"id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "code": "XA-BAC-HA", "name": "Xã Bắc Hà"},
        "assessment": {"id": "5b3e0c1a-8f0e-4a57-9d7c-2f1b6c0d9e41", "state": "returned"},
        "reason": "Bổ sung minh chứng chỉ số 1.1",
        "actor": {"id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "username": "reviewer.01", "role": "reviewer"}
    }
}))]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the change happened (the time of its transaction).
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

/// What the event is about. Members that do not concern the event type are left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct EventData {
    /// Path of the resource in this API (`/api/v1/assessments/{id}`, `/api/v1/periods/{id}`…).
    pub link: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<AssessmentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarification: Option<ClarificationRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<PublicationRef>,
    /// `period.phase_changed`: the phase left and the phase entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_change: Option<PhaseChange>,
    /// Deadline events: the deadline and how far away it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlineRef>,
    /// The reason given with a return, a reopen or a phase change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who made the change; absent for events of the service itself (deadlines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<ActorRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PeriodRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// The period's phase after the change.
    pub phase: PeriodPhase,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssessmentRef {
    pub id: Uuid,
    /// The assessment's state after the change.
    pub state: AssessmentState,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClarificationRef {
    pub id: Uuid,
    /// The component asked about.
    pub node_code: String,
    /// `open` (waiting for the unit), `answered` (waiting for the reviewer) or `closed`.
    pub status: ClarificationStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicationRef {
    pub id: Uuid,
    pub group_code: String,
    pub version: i32,
    pub visible_from: DateTime<Utc>,
    /// SHA-256 of the snapshot's canonical JSON.
    pub checksum: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PhaseChange {
    pub from: PeriodPhase,
    pub to: PeriodPhase,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeadlineRef {
    /// The unit's deadline: its extension, else the close of the self-assessment phase.
    pub at: DateTime<Utc>,
    /// 7 or 1 for `assessment.deadline_approaching`; absent once passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActorRef {
    pub id: Uuid,
    pub username: String,
    pub role: crate::domain::Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_round_trip_and_match_serde() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(t.as_str().into())
            );
        }
        assert_eq!(EventType::parse("assessment.deleted"), None);
    }
}
