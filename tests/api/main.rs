//! Black-box API tests: each test spawns the app on a random port against its own fresh
//! database (cloned from a migrated template) and talks to it over HTTP.

mod assessments;
mod auth;
mod classification;
mod consistency;
mod demo_year;
mod errors;
mod evidence;
mod exports;
mod firstrun;
mod helpers;
mod i18n;
mod idempotency;
mod imports;
mod indicator_sets;
mod input;
mod layouts;
mod lookups;
mod matrix;
mod migrations;
mod office;
mod openapi;
mod operations;
mod progress;
mod public_reads;
mod publications;
mod s3;
mod seeds;
mod set_format;
mod tasks;
mod units;
mod users;
mod webhooks;
mod workflow;
mod year;
