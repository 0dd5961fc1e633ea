//! Business rules, one sync fn per operation on `&mut PgConnection` (no actix here). Each
//! write owns its transaction and writes its audit event inside it.

pub mod assessments;
pub mod auth;
pub mod bulk;
pub mod clarifications;
pub mod demo_year;
pub mod directory_imports;
pub mod evidence;
pub mod exports;
pub mod idempotency;
pub mod imports;
pub mod indicator_sets;
pub mod jobs;
pub mod outbox;
pub mod periods;
pub mod progress;
pub mod publications;
pub mod ranks;
pub mod scoring;
pub mod seed;
pub mod tasks;
pub mod tokens;
pub mod units;
pub mod users;
pub mod webhooks;
pub mod workflow;
