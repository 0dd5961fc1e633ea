//! Business rules, one sync fn per operation on `&mut PgConnection` (no actix here). Each
//! write owns its transaction and writes its audit event inside it.

pub mod auth;
pub mod indicator_sets;
pub mod seed;
pub mod units;
pub mod users;
