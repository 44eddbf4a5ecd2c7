//! Login throttling: after too many failed sign-ins for one account, or from one address, within a
//! window, further attempts are refused for the rest of the window. Kept in memory per instance;
//! the key for an account is the address as typed (lower case), whether or not such an account
//! exists, so the answer never tells whether it does.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts per key within a sliding window.
pub struct Throttle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, VecDeque<Instant>>) -> T) -> T {
        f(&mut self.failures.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether `key` has used up its failures in the window ending `now`.
    pub fn blocked(&self, key: &str, now: Instant) -> bool {
        let window = self.window;
        self.with(|all| {
            all.get_mut(key).is_some_and(|times| {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    times.pop_front();
                }
                times.len() >= self.limit
            })
        })
    }

    /// Counts a failed attempt. Keys with nothing left in the window are dropped now and then, so
    /// the map does not grow without bound.
    pub fn failed(&self, key: &str, now: Instant) {
        let window = self.window;
        self.with(|all| {
            if all.len() > 10_000 {
                all.retain(|_, times| {
                    times
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < window)
                });
            }
            all.entry(key.to_string()).or_default().push_back(now);
        })
    }

    /// A successful sign-in clears the account's count.
    pub fn succeeded(&self, key: &str) {
        self.with(|all| all.remove(key));
    }
}

/// The two throttles of sign-in: per account (as typed) and per client address.
pub struct LoginThrottle {
    pub account: Throttle,
    pub address: Throttle,
}

impl LoginThrottle {
    /// Minutes a locked-out account or address waits.
    pub const WINDOW_MINUTES: u64 = 15;

    pub fn new() -> Self {
        let window = Duration::from_secs(Self::WINDOW_MINUTES * 60);
        Self {
            account: Throttle::new(5, window),
            address: Throttle::new(20, window),
        }
    }

    pub fn account_key(email: &str) -> String {
        email.trim().to_lowercase()
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_forgets_after_the_window() {
        let throttle = Throttle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(!throttle.blocked("a", t0), "attempt {i}");
            throttle.failed("a", t0 + Duration::from_secs(i));
        }
        assert!(throttle.blocked("a", t0 + Duration::from_secs(10)));
        assert!(!throttle.blocked("b", t0), "other keys are not affected");
        // The first failure leaves the window at 60 s: one more attempt is allowed.
        assert!(!throttle.blocked("a", t0 + Duration::from_secs(60)));
        throttle.failed("a", t0 + Duration::from_secs(60));
        assert!(throttle.blocked("a", t0 + Duration::from_secs(60)));
        throttle.succeeded("a");
        assert!(!throttle.blocked("a", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn account_keys_ignore_case_and_spaces() {
        assert_eq!(
            LoginThrottle::account_key(" Anna@Skola.SE "),
            "anna@skola.se"
        );
    }
}
