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

    /// Takes one attempt for `key`, counted as a failure until [`Throttle::release`] or
    /// [`Throttle::succeeded`] says otherwise; `false` when the window's attempts are used up.
    /// Counting before the check, under one lock, means requests sent in parallel cannot all pass
    /// the check before any of their failures is counted.
    pub fn attempt(&self, key: &str, now: Instant) -> bool {
        let (window, limit) = (self.window, self.limit);
        self.with(|all| {
            if all.len() > 10_000 {
                // Keys with nothing left in the window go now and then, so the map stays small.
                all.retain(|_, times| {
                    times
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < window)
                });
            }
            let times = all.entry(key.to_string()).or_default();
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                times.pop_front();
            }
            if times.len() >= limit {
                return false;
            }
            times.push_back(now);
            true
        })
    }

    /// An attempt that succeeded no longer counts (the client address: others' failures stay).
    pub fn release(&self, key: &str) {
        self.with(|all| {
            if let Some(times) = all.get_mut(key) {
                times.pop_back();
            }
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
            assert!(
                throttle.attempt("a", t0 + Duration::from_secs(i)),
                "attempt {i}"
            );
        }
        assert!(!throttle.attempt("a", t0 + Duration::from_secs(10)));
        assert!(throttle.attempt("b", t0), "other keys are not affected");
        // The first attempt leaves the window at 60 s: one more is allowed.
        assert!(throttle.attempt("a", t0 + Duration::from_secs(60)));
        assert!(!throttle.attempt("a", t0 + Duration::from_secs(60)));
        throttle.succeeded("a");
        assert!(throttle.attempt("a", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn attempts_count_before_they_are_answered_and_success_gives_one_back() {
        let throttle = Throttle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        // Two requests in flight at once use up the allowance before either is answered.
        assert!(throttle.attempt("a", t0));
        assert!(throttle.attempt("a", t0));
        assert!(!throttle.attempt("a", t0));
        // One of them succeeded: only its own attempt is given back.
        throttle.release("a");
        assert!(throttle.attempt("a", t0));
        assert!(!throttle.attempt("a", t0));
    }

    #[test]
    fn account_keys_ignore_case_and_spaces() {
        assert_eq!(
            LoginThrottle::account_key(" Anna@Skola.SE "),
            "anna@skola.se"
        );
    }
}
