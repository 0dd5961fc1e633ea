//! Row types and their queries (crates.io style: inherent fns on `&mut PgConnection`
//! returning `QueryResult`). All SQL of the service lives under this module.

pub mod assessments;
pub mod audit;
pub mod clarifications;
pub mod evidence;
pub mod groups;
pub mod idempotency;
pub mod indicator_sets;
pub mod jobs;
pub mod periods;
pub mod progress;
pub mod publications;
pub mod scores;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod units;
pub mod users;
pub mod webhooks;

/// Page selection shared by list queries.
#[derive(Debug, Clone, Copy)]
pub struct PageReq {
    pub page: i64,
    pub page_size: i64,
}

impl PageReq {
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.page_size
    }
}
