//! Login with throttling of repeated failures (per username and per client address).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::{DateTime, Utc};
use diesel::PgConnection;

use crate::audit::Audit;
use crate::auth::password;
use crate::config::Config;
use crate::db::models::throttle;
use crate::db::models::users::User;
use crate::error::{AppError, AppResult};

fn throttled(until: DateTime<Utc>) -> AppError {
    let secs = (until - Utc::now()).num_seconds().max(1);
    AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "LOGIN_THROTTLED",
        format!("Too many failed logins; try again in {secs} seconds."),
    )
    .with_extension("retry_after_seconds", secs)
    .with_header(
        header::RETRY_AFTER,
        HeaderValue::from_str(&secs.to_string()).unwrap_or(HeaderValue::from_static("60")),
    )
}

/// Checks the credentials; counts failures (committed even though the login fails).
pub fn login(
    conn: &mut PgConnection,
    cfg: &Config,
    username: &str,
    secret: &str,
    client: &str,
) -> AppResult<User> {
    let user_key = format!("user:{}", username.to_lowercase());
    let ip_key = format!("ip:{client}");
    for key in [&user_key, &ip_key] {
        if let Some(until) = throttle::locked_until(conn, key)? {
            return Err(throttled(until));
        }
    }
    let user = User::find_by_username(conn, &username.to_lowercase())?;
    let ok = match &user {
        Some(u) => password::verify(secret, &u.password_hash) && u.active,
        None => {
            password::verify(secret, password::dummy_hash());
            false
        }
    };
    match (ok, user) {
        (true, Some(u)) => {
            throttle::reset(conn, &user_key)?;
            Audit::new(None, "auth.login", "user", u.id)
                .unit(u.unit_id)
                .new_value(serde_json::json!({"username": u.username}))
                .record(conn)?;
            Ok(u)
        }
        _ => {
            // The address limit is looser: a whole office may share one address.
            let user_lock = throttle::record_failure(
                conn,
                &user_key,
                cfg.login_max_failures,
                cfg.login_lock_seconds,
            )?;
            let ip_lock = throttle::record_failure(
                conn,
                &ip_key,
                cfg.login_max_failures * 4,
                cfg.login_lock_seconds,
            )?;
            Audit::new(None, "auth.login_failed", "user", username)
                .new_value(serde_json::json!({"client": client}))
                .record(conn)?;
            match user_lock.or(ip_lock) {
                Some(until) => Err(throttled(until)),
                None => Err(AppError::unauthorized(
                    "INVALID_CREDENTIALS",
                    "Wrong username or password.",
                )),
            }
        }
    }
}
