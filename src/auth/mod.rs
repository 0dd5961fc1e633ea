//! Authentication: argon2id password hashes, JWTs, the [`Principal`] extractor, and the
//! object-level checks every handler calls.

pub mod jwt;
pub mod password;
pub mod principal;

pub use principal::{Caller, Principal};
