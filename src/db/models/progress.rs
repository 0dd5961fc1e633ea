//! What the progress board reads besides the forms themselves: per assessment of a period,
//! its open clarification threads and its last activity, in one aggregate statement.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int8, Nullable, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Activity {
    #[diesel(sql_type = SqlUuid)]
    pub assessment_id: Uuid,
    /// Clarification threads not closed (open or answered).
    #[diesel(sql_type = Int8)]
    pub open_clarifications: i64,
    /// The latest of: a workflow action, an answer written, evidence attached, a
    /// clarification message.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_activity: Option<DateTime<Utc>>,
}

impl Activity {
    /// Every assessment of a period (grouped aggregates, not one lookup per assessment).
    pub fn of_period(conn: &mut PgConnection, period: Uuid) -> QueryResult<Vec<Activity>> {
        diesel::sql_query(
            "WITH a AS (SELECT id, last_action_at FROM assessments WHERE period_id = $1), \
             ans AS (SELECT x.assessment_id, max(x.updated_at) AS at \
                     FROM answers x JOIN a ON a.id = x.assessment_id GROUP BY 1), \
             ev AS (SELECT x.assessment_id, max(e.created_at) AS at \
                    FROM evidence e JOIN answers x ON x.id = e.answer_id \
                    JOIN a ON a.id = x.assessment_id GROUP BY 1), \
             cl AS (SELECT c.assessment_id, \
                      count(DISTINCT c.id) FILTER (WHERE c.status <> 'closed') AS open, \
                      max(m.created_at) AS at \
                    FROM clarifications c JOIN a ON a.id = c.assessment_id \
                    LEFT JOIN clarification_messages m ON m.clarification_id = c.id GROUP BY 1) \
             SELECT a.id AS assessment_id, coalesce(cl.open, 0) AS open_clarifications, \
               greatest(a.last_action_at, ans.at, ev.at, cl.at) AS last_activity \
             FROM a LEFT JOIN ans ON ans.assessment_id = a.id \
               LEFT JOIN ev ON ev.assessment_id = a.id \
               LEFT JOIN cl ON cl.assessment_id = a.id",
        )
        .bind::<SqlUuid, _>(period)
        .load(conn)
    }
}
