use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{clarification_messages, clarifications};
use crate::domain::workflow::ClarificationStatus;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clarifications)]
pub struct Clarification {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub node_id: Uuid,
    pub status: ClarificationStatus,
    pub opened_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clarification_messages)]
pub struct Message {
    pub id: Uuid,
    pub clarification_id: Uuid,
    pub author_id: Option<Uuid>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl Clarification {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Clarification>> {
        clarifications::table
            .find(id)
            .select(Clarification::as_select())
            .first(conn)
            .optional()
    }

    /// Locks the thread for the rest of the transaction. Last in the lock order (see
    /// `services::scoring`): after the thread's assessment when both are taken.
    pub fn find_for_update(
        conn: &mut PgConnection,
        id: Uuid,
    ) -> QueryResult<Option<Clarification>> {
        clarifications::table
            .find(id)
            .for_update()
            .select(Clarification::as_select())
            .first(conn)
            .optional()
    }

    pub fn of_assessment(
        conn: &mut PgConnection,
        assessment: Uuid,
    ) -> QueryResult<Vec<Clarification>> {
        clarifications::table
            .filter(clarifications::assessment_id.eq(assessment))
            .order(clarifications::created_at.asc())
            .select(Clarification::as_select())
            .load(conn)
    }

    pub fn insert(
        conn: &mut PgConnection,
        assessment: Uuid,
        node: Uuid,
        by: Uuid,
    ) -> QueryResult<Clarification> {
        diesel::insert_into(clarifications::table)
            .values((
                clarifications::id.eq(Uuid::new_v4()),
                clarifications::assessment_id.eq(assessment),
                clarifications::node_id.eq(node),
                clarifications::opened_by.eq(by),
            ))
            .returning(Clarification::as_returning())
            .get_result(conn)
    }

    pub fn set_status(
        conn: &mut PgConnection,
        id: Uuid,
        status: ClarificationStatus,
    ) -> QueryResult<Clarification> {
        diesel::update(clarifications::table.find(id))
            .set((
                clarifications::status.eq(status),
                clarifications::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Clarification::as_returning())
            .get_result(conn)
    }

    pub fn add_message(
        conn: &mut PgConnection,
        id: Uuid,
        by: Uuid,
        body: &str,
    ) -> QueryResult<Message> {
        diesel::insert_into(clarification_messages::table)
            .values((
                clarification_messages::id.eq(Uuid::new_v4()),
                clarification_messages::clarification_id.eq(id),
                clarification_messages::author_id.eq(by),
                clarification_messages::body.eq(body),
            ))
            .returning(Message::as_returning())
            .get_result(conn)
    }

    pub fn messages(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Message>> {
        clarification_messages::table
            .filter(clarification_messages::clarification_id.eq_any(ids))
            .order(clarification_messages::created_at.asc())
            .select(Message::as_select())
            .load(conn)
    }
}
