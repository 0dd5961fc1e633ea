//! The webhook outbox: [`emit`] writes an event on the connection of the change it describes,
//! inside that change's transaction, so a committed change always has its event and a
//! rolled-back one never does. The delivery worker ([`crate::webhooks`]) sends it later.
//!
//! The event's body is built here, once, from the rows as they are after the change, and
//! stored as the exact text that is signed and sent.

use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::models::assessments::Assessment;
use crate::db::models::clarifications::Clarification;
use crate::db::models::groups::RankingGroup;
use crate::db::models::indicator_sets::IndicatorSet;
use crate::db::models::periods::Period;
use crate::db::models::publications::Publication;
use crate::db::models::units::Unit;
use crate::db::models::webhooks::{DeadlineNotice, WebhookEvent};
use crate::domain::events::{
    ActorRef, AssessmentRef, ClarificationRef, DeadlineRef, EventData, EventType, PeriodRef,
    PhaseChange, PublicationRef, UnitRef, WebhookPayload,
};
use crate::domain::workflow::{ClarificationStatus, PeriodPhase};
use crate::error::{AppError, AppResult};

/// A change that receivers are told about, as the service that made it sees it.
pub enum Event<'a> {
    /// A workflow action on an assessment (`submit`, `return`, `finalise`, `reopen`; other
    /// actions emit nothing). `assessment` is the row after the change.
    Assessment {
        action: &'a str,
        assessment: &'a Assessment,
        actor: &'a Principal,
        reason: Option<&'a str>,
    },
    /// A clarification was opened, or a message was added to it: the unit's answer (status
    /// `answered`) emits an event, a reviewer's follow-up does not.
    Clarification {
        clarification: &'a Clarification,
        actor: &'a Principal,
        opened: bool,
    },
    /// A period moved from phase `from` to its current phase.
    PhaseChanged {
        period: &'a Period,
        from: PeriodPhase,
        actor: &'a Principal,
        reason: Option<&'a str>,
    },
    /// Results of a group were published (version 1) or republished as errata.
    Published {
        publication: &'a Publication,
        period: &'a Period,
        group: &'a RankingGroup,
        actor: &'a Principal,
    },
}

impl<'a> Event<'a> {
    pub fn assessment(
        action: &'a str,
        assessment: &'a Assessment,
        actor: &'a Principal,
        reason: Option<&'a str>,
    ) -> Self {
        Event::Assessment {
            action,
            assessment,
            actor,
            reason,
        }
    }

    pub fn clarification_opened(clarification: &'a Clarification, actor: &'a Principal) -> Self {
        Event::Clarification {
            clarification,
            actor,
            opened: true,
        }
    }

    /// `clarification` as it is after the message.
    pub fn clarification_replied(clarification: &'a Clarification, actor: &'a Principal) -> Self {
        Event::Clarification {
            clarification,
            actor,
            opened: false,
        }
    }

    pub fn phase_changed(
        period: &'a Period,
        from: PeriodPhase,
        actor: &'a Principal,
        reason: Option<&'a str>,
    ) -> Self {
        Event::PhaseChanged {
            period,
            from,
            actor,
            reason,
        }
    }

    pub fn published(
        publication: &'a Publication,
        period: &'a Period,
        group: &'a RankingGroup,
        actor: &'a Principal,
    ) -> Self {
        Event::Published {
            publication,
            period,
            group,
            actor,
        }
    }
}

/// Writes `event` to the outbox, in the caller's transaction.
pub fn emit(conn: &mut PgConnection, event: Event) -> AppResult<()> {
    let Some((event_type, data)) = describe(conn, event)? else {
        return Ok(());
    };
    write(conn, event_type, data)
}

/// Writes the events of deadline notices found by the scan (in its transaction).
pub fn emit_deadline(conn: &mut PgConnection, n: &DeadlineNotice) -> AppResult<()> {
    let (event_type, days_before) = match n.notice.as_str() {
        "7d" => (EventType::DeadlineApproaching, Some(7)),
        "1d" => (EventType::DeadlineApproaching, Some(1)),
        _ => (EventType::DeadlinePassed, None),
    };
    let data = EventData {
        link: format!("/api/v1/assessments/{}", n.assessment_id),
        period: Some(PeriodRef {
            id: n.period_id,
            code: n.period_code.clone(),
            name: n.period_name.clone(),
            phase: n.period_phase,
        }),
        unit: Some(UnitRef {
            id: n.unit_id,
            code: n.unit_code.clone(),
            name: n.unit_name.clone(),
        }),
        assessment: Some(AssessmentRef {
            id: n.assessment_id,
            state: n.state,
        }),
        deadline: Some(DeadlineRef {
            at: n.deadline,
            days_before,
        }),
        ..EventData::default()
    };
    write(conn, event_type, data)
}

fn write(conn: &mut PgConnection, event_type: EventType, data: EventData) -> AppResult<()> {
    let timestamp = WebhookEvent::transaction_time(conn)?;
    let body = serde_json::to_string(&WebhookPayload {
        event_type,
        timestamp,
        data,
    })
    .map_err(AppError::internal)?;
    WebhookEvent::insert(conn, Uuid::new_v4(), event_type.as_str(), timestamp, &body)?;
    Ok(())
}

fn actor(p: &Principal) -> Option<ActorRef> {
    Some(ActorRef {
        id: p.actor_id(),
        username: p.username.clone(),
        role: p.role,
    })
}

fn period_ref(p: &Period) -> PeriodRef {
    PeriodRef {
        id: p.id,
        code: p.code.clone(),
        name: p.name.clone(),
        phase: p.phase,
    }
}

/// The period and unit of an assessment, as references.
fn context(conn: &mut PgConnection, a: &Assessment) -> AppResult<(PeriodRef, UnitRef)> {
    let p = Period::find(conn, a.period_id)?
        .ok_or_else(|| AppError::not_found("period", a.period_id))?;
    let u = Unit::find(conn, a.unit_id)?.ok_or_else(|| AppError::not_found("unit", a.unit_id))?;
    Ok((
        period_ref(&p),
        UnitRef {
            id: u.id,
            code: u.code,
            name: u.name,
        },
    ))
}

fn describe(conn: &mut PgConnection, event: Event) -> AppResult<Option<(EventType, EventData)>> {
    Ok(Some(match event {
        Event::Assessment {
            action,
            assessment: a,
            actor: who,
            reason,
        } => {
            let Some(t) = EventType::of_assessment_action(action) else {
                return Ok(None);
            };
            let (period, unit) = context(conn, a)?;
            (
                t,
                EventData {
                    link: format!("/api/v1/assessments/{}", a.id),
                    period: Some(period),
                    unit: Some(unit),
                    assessment: Some(AssessmentRef {
                        id: a.id,
                        state: a.state,
                    }),
                    reason: reason.map(str::to_string),
                    actor: actor(who),
                    ..EventData::default()
                },
            )
        }
        Event::Clarification {
            clarification: cl,
            actor: who,
            opened,
        } => {
            let t = match (opened, cl.status) {
                (true, _) => EventType::ClarificationOpened,
                (false, ClarificationStatus::Answered) => EventType::ClarificationAnswered,
                _ => return Ok(None),
            };
            let a = Assessment::find(conn, cl.assessment_id)?
                .ok_or_else(|| AppError::not_found("assessment", cl.assessment_id))?;
            let node_code = IndicatorSet::node_ids(conn, a.set_id)?
                .into_iter()
                .find(|(_, id)| *id == cl.node_id)
                .map(|(code, _)| code)
                .unwrap_or_default();
            let (period, unit) = context(conn, &a)?;
            (
                t,
                EventData {
                    link: format!("/api/v1/assessments/{}/clarifications", a.id),
                    period: Some(period),
                    unit: Some(unit),
                    assessment: Some(AssessmentRef {
                        id: a.id,
                        state: a.state,
                    }),
                    clarification: Some(ClarificationRef {
                        id: cl.id,
                        node_code,
                        status: cl.status,
                    }),
                    actor: actor(who),
                    ..EventData::default()
                },
            )
        }
        Event::PhaseChanged {
            period,
            from,
            actor: who,
            reason,
        } => (
            EventType::PeriodPhaseChanged,
            EventData {
                link: format!("/api/v1/periods/{}", period.id),
                period: Some(period_ref(period)),
                phase_change: Some(PhaseChange {
                    from,
                    to: period.phase,
                }),
                reason: reason.map(str::to_string),
                actor: actor(who),
                ..EventData::default()
            },
        ),
        Event::Published {
            publication: p,
            period,
            group,
            actor: who,
        } => (
            if p.version > 1 {
                EventType::PublicationErrataPublished
            } else {
                EventType::PublicationPublished
            },
            EventData {
                link: format!("/api/v1/periods/{}/publications", period.id),
                period: Some(period_ref(period)),
                publication: Some(PublicationRef {
                    id: p.id,
                    group_code: group.code.clone(),
                    version: p.version,
                    visible_from: p.visible_from,
                    checksum: p.checksum.clone(),
                    changelog: p.changelog.clone(),
                }),
                actor: actor(who),
                ..EventData::default()
            },
        ),
    }))
}
