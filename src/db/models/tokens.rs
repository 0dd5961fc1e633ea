use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::integration_tokens;
use crate::db::text_array::TextArray;
use crate::domain::TokenScope;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = integration_tokens)]
pub struct IntegrationToken {
    pub id: Uuid,
    pub name: String,
    pub token_hash: String,
    #[diesel(deserialize_as = TextArray<TokenScope>)]
    pub scopes: Vec<TokenScope>,
    pub period_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl IntegrationToken {
    /// The token with this id, if it is neither revoked nor expired.
    pub fn find_active_by_id(
        conn: &mut PgConnection,
        id: Uuid,
    ) -> QueryResult<Option<IntegrationToken>> {
        let now = Utc::now();
        integration_tokens::table
            .find(id)
            .filter(integration_tokens::revoked_at.is_null())
            .filter(
                integration_tokens::expires_at
                    .is_null()
                    .or(integration_tokens::expires_at.gt(now)),
            )
            .select(IntegrationToken::as_select())
            .first(conn)
            .optional()
    }

    /// The token with this hash, if it is neither revoked nor expired.
    pub fn find_active(
        conn: &mut PgConnection,
        hash: &str,
    ) -> QueryResult<Option<IntegrationToken>> {
        let now = Utc::now();
        integration_tokens::table
            .filter(integration_tokens::token_hash.eq(hash))
            .filter(integration_tokens::revoked_at.is_null())
            .filter(
                integration_tokens::expires_at
                    .is_null()
                    .or(integration_tokens::expires_at.gt(now)),
            )
            .select(IntegrationToken::as_select())
            .first(conn)
            .optional()
    }

    pub fn insert(
        conn: &mut PgConnection,
        name: &str,
        hash: &str,
        scopes: &[TokenScope],
        period: Option<Uuid>,
        expires_at: Option<DateTime<Utc>>,
        by: Uuid,
    ) -> QueryResult<IntegrationToken> {
        diesel::insert_into(integration_tokens::table)
            .values((
                integration_tokens::id.eq(Uuid::new_v4()),
                integration_tokens::name.eq(name),
                integration_tokens::token_hash.eq(hash),
                integration_tokens::scopes.eq(scopes),
                integration_tokens::period_id.eq(period),
                integration_tokens::expires_at.eq(expires_at),
                integration_tokens::created_by.eq(by),
            ))
            .returning(IntegrationToken::as_returning())
            .get_result(conn)
    }

    pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<IntegrationToken>> {
        integration_tokens::table
            .order(integration_tokens::created_at.desc())
            .select(IntegrationToken::as_select())
            .load(conn)
    }

    pub fn revoke(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<IntegrationToken>> {
        diesel::update(integration_tokens::table.find(id))
            .set(integration_tokens::revoked_at.eq(diesel::dsl::now))
            .returning(IntegrationToken::as_returning())
            .get_result(conn)
            .optional()
    }
}
