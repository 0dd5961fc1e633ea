//! Black-box API tests: each test spawns the app on a random port against its own fresh
//! database (cloned from a migrated template) and talks to it over HTTP.

mod assessments;
mod auth;
mod consistency;
mod errors;
mod evidence;
mod helpers;
mod i18n;
mod idempotency;
mod indicator_sets;
mod matrix;
mod migrations;
mod openapi;
mod operations;
mod publications;
mod s3;
mod units;
mod users;
mod workflow;
mod year;
