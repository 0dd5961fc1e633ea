//! What waits for someone: the kinds of task `GET /api/v1/me/tasks` lists, and the facts a
//! task carries (its reason is worded from them, in the caller's language).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Role;
use crate::domain::workflow::{AssessmentState, PeriodPhase};

/// Why a task is in the list. Each kind belongs to the roles that act on it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Unit accounts: a reviewer returned the unit's form; correct it and submit again.
    AssessmentReturned,
    /// Unit accounts: a reviewer asked about a component and waits for the unit's answer.
    ClarificationAwaitingUnit,
    /// Unit accounts: a component that requires evidence has an answer but neither evidence nor
    /// an explanation, so it earns no points and blocks the submission.
    EvidenceMissing,
    /// Unit leaders: the form is complete and waits for the leader's confirmation (submit).
    ReadyToSubmit,
    /// Reviewers: a submitted form waits for review (adjust, return or finalise).
    AssessmentSubmitted,
    /// Reviewers: the unit answered a clarification; read it, follow up or close it.
    ClarificationAnswered,
    /// Administrators: the current phase of a period closes within 7 days.
    PhaseEndingSoon,
    /// Administrators: a unit's deadline passed and its form is not submitted.
    UnitOverdue,
}

impl TaskKind {
    /// The kinds listed for `role`, in the order they are listed.
    pub fn for_role(role: Role) -> &'static [TaskKind] {
        match role {
            Role::UnitEditor => &[
                TaskKind::AssessmentReturned,
                TaskKind::ClarificationAwaitingUnit,
                TaskKind::EvidenceMissing,
            ],
            Role::UnitLeader => &[
                TaskKind::ReadyToSubmit,
                TaskKind::AssessmentReturned,
                TaskKind::ClarificationAwaitingUnit,
                TaskKind::EvidenceMissing,
            ],
            Role::Reviewer => &[
                TaskKind::AssessmentSubmitted,
                TaskKind::ClarificationAnswered,
            ],
            Role::Admin => &[TaskKind::PhaseEndingSoon, TaskKind::UnitOverdue],
            Role::Viewer | Role::Integration => &[],
        }
    }
}

/// One thing waiting for the caller, with the facts its reason quotes.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub kind: TaskKind,
    /// Path of the resource to act on, in this API.
    pub link: String,
    pub period_id: Uuid,
    pub period_code: String,
    pub assessment_id: Option<Uuid>,
    pub unit: Option<(Uuid, String, String)>,
    pub clarification_id: Option<Uuid>,
    pub node_code: Option<String>,
    /// The phase whose end is near (`phase_ending_soon`).
    pub phase: Option<PeriodPhase>,
    /// When it must be done: the unit's deadline, the phase's close.
    pub due_at: Option<DateTime<Utc>>,
    /// Since when it has been waiting.
    pub since: Option<DateTime<Utc>>,
    /// The reason a reviewer gave (returns).
    pub note: Option<String>,
    /// The assessment's state (`not_started`, `in_progress`, `returned`…).
    pub state: Option<AssessmentState>,
}

impl Task {
    pub fn new(kind: TaskKind, link: String, period_id: Uuid, period_code: String) -> Task {
        Task {
            kind,
            link,
            period_id,
            period_code,
            assessment_id: None,
            unit: None,
            clarification_id: None,
            node_code: None,
            phase: None,
            due_at: None,
            since: None,
            note: None,
            state: None,
        }
    }
}

/// The tasks of one kind: the first `limit` (most urgent first) and how many there are.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskGroup {
    pub kind: TaskKind,
    pub total: i64,
    pub tasks: Vec<Task>,
}
