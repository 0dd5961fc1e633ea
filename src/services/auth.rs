//! Login, with throttling of failures after the OWASP authentication guidance.
//!
//! Failures are counted per (account, client address) and per client address, in the
//! database so that every replica shares them:
//! - An account from one address gets `LOGIN_MAX_FAILURES` tries; then it is locked for
//!   `LOGIN_LOCK_SECONDS`, and each further failure after a lock doubles the lock, up to
//!   `LOGIN_LOCK_MAX_SECONDS`. The same account from another address is not affected: an
//!   attacker cannot lock a user out by failing on purpose.
//! - An address gets `LOGIN_ADDRESS_MAX_FAILURES` failures over all accounts (made-up names
//!   included), with the same growing locks: spraying one password over many accounts from one
//!   place stops there.
//! - A counter is forgotten after a quiet period ([`WINDOW_MINUTES`]) following its last
//!   failure or the end of its lock; a successful login clears the account's counter from that
//!   address (not the address's: a login of one's own account must not reset it).
//! - The check and the count are one step: an attempt locks both counters' rows, refuses if
//!   either is locked, else counts itself as a failure before the password is checked (and
//!   takes that back if it succeeds). Parallel attempts therefore never get past the limit.
//! - IPv6 clients are counted by their /64 network: one host usually has a whole /64.
//!
//! Behind a reverse proxy the client address is what the trusted proxies forwarded
//! (`TRUSTED_PROXIES`, see `api::client`).

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use diesel::{Connection, PgConnection};

use crate::audit::Audit;
use crate::auth::password;
use crate::config::Config;
use crate::db::models::throttle::Counter;
use crate::db::models::users::User;
use crate::error::{AppError, AppResult};

/// How long a counter is remembered after its last failure or the end of its lock.
pub const WINDOW_MINUTES: i64 = 15;

/// Expired counters deleted by each failed login, at most.
const PURGE_BATCH: i32 = 100;

/// The throttling settings (from [`Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures of one account from one address before the first lock.
    pub account_failures: i32,
    /// Failures from one address, whatever the account, before the first lock.
    pub address_failures: i32,
    /// The first lock, in seconds; each further failure doubles it…
    pub lock_seconds: i64,
    /// …up to this.
    pub max_lock_seconds: i64,
}

impl Policy {
    pub fn from_config(cfg: &Config) -> Policy {
        Policy {
            account_failures: cfg.login_max_failures,
            address_failures: cfg.login_address_max_failures,
            lock_seconds: cfg.login_lock_seconds,
            max_lock_seconds: cfg.login_lock_max_seconds,
        }
    }

    /// The lock after `failures` counted failures with `limit` allowed: none below the limit,
    /// then the first lock, doubled for each failure beyond it, capped.
    pub fn lock_after(&self, failures: i32, limit: i32) -> Option<Duration> {
        let beyond = failures.checked_sub(limit)?;
        if beyond < 0 {
            return None;
        }
        let factor = 1i64.checked_shl(beyond.min(62) as u32).unwrap_or(i64::MAX);
        let secs = self
            .lock_seconds
            .saturating_mul(factor)
            .min(self.max_lock_seconds);
        Some(Duration::seconds(secs))
    }
}

/// The rules of one counter.
trait Throttle {
    fn locked(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>>;
    fn count(&mut self, now: DateTime<Utc>, limit: i32, policy: &Policy);
    fn forgive(&mut self, limit: i32);
}

impl Throttle for Counter {
    /// When a lock is in force, its end.
    fn locked(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|t| *t > now)
    }

    /// Counts one attempt as a failure (until it is known to have succeeded), locking the
    /// counter when that reaches `limit`.
    fn count(&mut self, now: DateTime<Utc>, limit: i32, policy: &Policy) {
        if self.expires_at <= now {
            self.failures = 0;
            self.locked_until = None;
        }
        self.failures = self.failures.saturating_add(1);
        if let Some(lock) = policy.lock_after(self.failures, limit) {
            self.locked_until = Some(now + lock);
        }
        let last = self.locked_until.map_or(now, |t| t.max(now));
        self.expires_at = last + Duration::minutes(WINDOW_MINUTES);
    }

    /// Takes back the count of an attempt that succeeded, and the lock it set if it was the
    /// one that reached the limit.
    fn forgive(&mut self, limit: i32) {
        self.failures = (self.failures - 1).max(0);
        if self.failures < limit {
            self.locked_until = None;
        }
    }
}

fn throttled(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    let secs = (until - now).num_seconds().max(1);
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

/// What a client address is counted as: itself, or its /64 for IPv6.
fn network_of(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

/// Checks the credentials of `username` from `client`, throttled (see the module docs). The
/// counts are committed whatever the outcome.
pub fn login(
    conn: &mut PgConnection,
    cfg: &Config,
    username: &str,
    secret: &str,
    client: IpAddr,
) -> AppResult<User> {
    let policy = Policy::from_config(cfg);
    let username = username.to_lowercase();
    let network = network_of(client);
    let account_key = format!("account:{network}:{username}");
    let address_key = format!("address:{network}");

    // The check and the count, under the counters' row locks (always taken in this order).
    let now = Utc::now();
    let lock = conn.transaction(|c| -> AppResult<Option<DateTime<Utc>>> {
        let mut address = Counter::lock(c, &address_key, now)?;
        let mut account = Counter::lock(c, &account_key, now)?;
        if let Some(until) = address.locked(now).max(account.locked(now)) {
            return Err(throttled(until, now));
        }
        address.count(now, policy.address_failures, &policy);
        account.count(now, policy.account_failures, &policy);
        address.save(c)?;
        account.save(c)?;
        Ok(address.locked(now).max(account.locked(now)))
    })?;

    // The slow part, outside any transaction.
    let user = User::find_by_username(conn, &username)?;
    let ok = match &user {
        Some(u) => password::verify(secret, &u.password_hash) && u.active,
        None => {
            password::verify(secret, password::dummy_hash());
            false
        }
    };
    let now = Utc::now();
    match (ok, user) {
        (true, Some(u)) => conn.transaction(|c| {
            Counter::delete(c, &account_key)?;
            let mut address = Counter::lock(c, &address_key, now)?;
            address.forgive(policy.address_failures);
            address.save(c)?;
            Audit::new(None, "auth.login", "user", u.id)
                .unit(u.unit_id)
                .new_value(serde_json::json!({"username": u.username, "client": client}))
                .record(c)?;
            Ok(u)
        }),
        _ => {
            Audit::new(None, "auth.login_failed", "user", &username)
                .new_value(serde_json::json!({"client": client}))
                .record(conn)?;
            Counter::purge_expired(conn, now, PURGE_BATCH)?;
            match lock {
                Some(until) => Err(throttled(until, now)),
                None => Err(AppError::unauthorized(
                    "INVALID_CREDENTIALS",
                    "Wrong username or password.",
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        account_failures: 3,
        address_failures: 10,
        lock_seconds: 60,
        max_lock_seconds: 600,
    };

    fn counter(now: DateTime<Utc>) -> Counter {
        Counter {
            key: "k".into(),
            failures: 0,
            locked_until: None,
            expires_at: now,
        }
    }

    #[test]
    fn locks_start_at_the_limit_and_double_up_to_the_cap() {
        let lock = |n| POLICY.lock_after(n, 3).map(|d| d.num_seconds());
        assert_eq!(lock(1), None);
        assert_eq!(lock(2), None);
        assert_eq!(lock(3), Some(60));
        assert_eq!(lock(4), Some(120));
        assert_eq!(lock(5), Some(240));
        assert_eq!(lock(6), Some(480));
        assert_eq!(lock(7), Some(600));
        assert_eq!(lock(i32::MAX), Some(600));
    }

    #[test]
    fn a_counter_locks_grows_and_is_forgotten_after_a_quiet_window() {
        let t0 = Utc::now();
        let mut c = counter(t0);
        for _ in 0..2 {
            c.count(t0, 3, &POLICY);
            assert_eq!(c.locked(t0), None);
        }
        c.count(t0, 3, &POLICY);
        assert_eq!(c.locked(t0), Some(t0 + Duration::seconds(60)));
        // after the lock, one more failure locks twice as long
        let t1 = t0 + Duration::seconds(61);
        assert_eq!(c.locked(t1), None);
        c.count(t1, 3, &POLICY);
        assert_eq!(c.locked(t1), Some(t1 + Duration::seconds(120)));
        // remembered for a window after the end of the lock, not after the first failure
        assert_eq!(
            c.expires_at,
            t1 + Duration::seconds(120) + Duration::minutes(WINDOW_MINUTES)
        );
        let t2 = c.expires_at;
        c.count(t2, 3, &POLICY);
        assert_eq!((c.failures, c.locked(t2)), (1, None), "a fresh streak");
    }

    #[test]
    fn a_success_takes_back_its_own_count_and_the_lock_it_set() {
        let t0 = Utc::now();
        let mut c = counter(t0);
        for _ in 0..3 {
            c.count(t0, 3, &POLICY);
        }
        assert!(c.locked(t0).is_some());
        c.forgive(3);
        assert_eq!((c.failures, c.locked(t0)), (2, None));
        // a lock earned by earlier failures stays
        let mut c = counter(t0);
        for _ in 0..4 {
            c.count(t0, 3, &POLICY);
        }
        c.forgive(3);
        assert_eq!(c.failures, 3);
        assert!(c.locked(t0).is_some());
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(network_of(ip("198.51.100.7")), "198.51.100.7");
        assert_eq!(network_of(ip("::ffff:198.51.100.7")), "198.51.100.7");
        assert_eq!(
            network_of(ip("2001:db8:1:2:aaaa::1")),
            network_of(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(network_of(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(
            network_of(ip("2001:db8:1:2::1")),
            network_of(ip("2001:db8:1:3::1"))
        );
    }
}
