//! Webhook delivery: Standard Webhooks signatures ([`signature`]), the receiver address policy
//! against SSRF ([`target`]) and the background worker that sends the outbox ([`worker`]).
//! Events are written by [`crate::services::outbox`]; the rules of retries and disabling live
//! in [`crate::services::webhooks`].

pub mod signature;
pub mod target;
pub mod worker;
