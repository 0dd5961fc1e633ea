//! DTI assessment API: library crate (the binary is a thin `main`; tests reach everything here).

pub mod api;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod imports;
pub mod input;
pub mod jobs;
pub mod memory;
pub mod openapi;
pub mod openapi_refine;
pub mod problem_codes;
pub mod scoring;
pub mod services;
pub mod startup;
pub mod state;
pub mod storage;
pub mod tabular;
pub mod telemetry;
pub mod webhooks;
