//! argon2id password hashing (PHC strings).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::AppError;

pub fn hash(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("hashing a password: {e}")))
}

pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A valid hash of a random password, verified against when the username is unknown so that
/// a failed login takes the same time either way.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&uuid::Uuid::new_v4().to_string()).unwrap_or_default())
}

/// Password rules for accounts created through the API.
/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 10;
/// Longest accepted password, in characters.
pub const MAX_CHARS: usize = 128;
/// Fewest different characters an accepted password uses.
pub const MIN_DISTINCT_CHARS: usize = 5;

pub fn check_strength(password: &str) -> Result<(), &'static str> {
    let len = password.chars().count();
    if len < MIN_CHARS {
        return Err("must be at least 10 characters");
    }
    if len > MAX_CHARS {
        return Err("must be at most 128 characters");
    }
    let distinct: std::collections::BTreeSet<char> = password.chars().collect();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Err("must use at least 5 different characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("x", "not a hash"));
    }
}
