//! Statements written in SQL that Diesel prepares once per connection and then reuses, as it does
//! the statements its DSL builds.
//!
//! A `diesel::sql_query` is never cached: PostgreSQL parses and plans it afresh on every call.
//! On an answer write that is 0.1–0.8 ms per statement (planning the best-value probes alone
//! costs more than running them), a third of the write. [`cached_sql`] takes SQL text that
//! never changes (`&'static str`, so the cache stays bounded) with `$1`…`$n` bound in order.
//!
//! How: Diesel writes a bind's placeholder where it is pushed and caches a statement unless a
//! part of it says it must not. The binds are pushed first, inside a leading comment
//! (`/*$1$2*/`), so that Diesel numbers, types and sends them; the statement after the comment
//! uses them by number.

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// `sql` (its parameters `$1`…`$n`, bound in order with [`CachedSql::bind`]) as a statement
/// Diesel prepares once per connection.
pub fn cached_sql(sql: &'static str) -> CachedSql<()> {
    CachedSql { sql, binds: () }
}

/// See [`cached_sql`].
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is run"]
pub struct CachedSql<B> {
    sql: &'static str,
    binds: B,
}

/// The binds of a [`CachedSql`]: those before, then `value` as `ST`.
#[derive(Debug, Clone)]
pub struct Bind<B, V, ST> {
    before: B,
    value: V,
    sql_type: PhantomData<ST>,
}

impl<B> CachedSql<B> {
    /// Binds the next parameter.
    pub fn bind<ST, V>(self, value: V) -> CachedSql<Bind<B, V, ST>> {
        CachedSql {
            sql: self.sql,
            binds: Bind {
                before: self.binds,
                value,
                sql_type: PhantomData,
            },
        }
    }
}

impl<B, V, ST> QueryFragment<Pg> for Bind<B, V, ST>
where
    B: QueryFragment<Pg>,
    V: ToSql<ST, Pg>,
    Pg: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.before.walk_ast(out.reborrow())?;
        out.push_bind_param::<ST, V>(&self.value)
    }
}

impl<B: QueryFragment<Pg>> QueryFragment<Pg> for CachedSql<B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("/*");
        self.binds.walk_ast(out.reborrow())?;
        out.push_sql("*/ ");
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<B> QueryId for CachedSql<B> {
    type QueryId = ();
    // keyed by its text and bind types in the connection's statement cache
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B> Query for CachedSql<B> {
    type SqlType = Untyped;
}

impl<B, Conn> RunQueryDsl<Conn> for CachedSql<B> {}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::{Int4, Text};

    #[test]
    fn the_binds_are_numbered_in_a_leading_comment_and_the_statement_is_cacheable() {
        let q = cached_sql("SELECT $2 || $1")
            .bind::<Text, _>("a")
            .bind::<Int4, _>(2);
        let sql = diesel::debug_query::<Pg, _>(&q).to_string();
        assert!(sql.starts_with("/*$1$2*/ SELECT $2 || $1"), "{sql}");
        assert!(
            q.is_safe_to_cache_prepared(&Pg).unwrap(),
            "Diesel may cache it"
        );
    }
}
