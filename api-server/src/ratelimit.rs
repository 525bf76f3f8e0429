//! Rate limits and sign-in throttles, in bounded, time-expiring stores (`moka`).
//!
//! Keys are hashed before they are stored, so a key's length costs nothing: before this,
//! 600 sign-ins with 100 KB emails grew the server by 190–250 MB (the limiter kept every
//! `ip|email` string, pruned only past 100,000 entries, and scanned the whole map under
//! one mutex on every check).

use moka::sync::Cache;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys remembered at most per store; beyond that the least used are evicted (which can
/// only make a limit more lenient for an evicted key, never grow memory).
const MAX_KEYS: u64 = 100_000;

/// Fixed one-minute windows: `per_min` hits per key per window. A window starts with a
/// key's first hit and ends when its store entry expires.
pub struct RateLimiter {
    per_min: u32,
    hasher: RandomState,
    windows: Cache<u64, Arc<AtomicU32>>,
}

impl RateLimiter {
    /// A limiter with `per_min` hits per key per minute (0 = unlimited).
    pub fn new(per_min: u32) -> Self {
        RateLimiter::with_window(per_min, Duration::from_secs(60))
    }

    /// A limiter with its own window length (tests).
    pub fn with_window(per_min: u32, window: Duration) -> Self {
        RateLimiter { per_min, hasher: RandomState::new(), windows: Cache::builder().max_capacity(MAX_KEYS).time_to_live(window).build() }
    }

    /// Counts a hit; false when the key is over its limit.
    pub fn check(&self, key: &str) -> bool {
        if self.per_min == 0 {
            return true;
        }
        let count = self.windows.get_with(self.hasher.hash_one(key), || Arc::new(AtomicU32::new(0)));
        count.fetch_add(1, Ordering::Relaxed) < self.per_min
    }

    /// Keys currently tracked (after pending evictions ran).
    pub fn tracked(&self) -> u64 {
        self.windows.run_pending_tasks();
        self.windows.entry_count()
    }
}

/// Failed sign-ins per account, with exponential backoff: the first `free` failures cost
/// nothing, then each further failure blocks the account's sign-in for twice as long as
/// the last (1 s, 2 s, 4 s … at most 15 minutes), whatever address the attempts come
/// from. A success clears the account. Password guessing against one account is slowed
/// to a crawl without letting an attacker lock the agent out for long.
pub struct AccountThrottle {
    free: u32,
    hasher: RandomState,
    accounts: Cache<u64, Arc<Mutex<Failures>>>,
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    blocked_until: Option<Instant>,
}

/// The longest an account is blocked after failures.
const MAX_BLOCK: Duration = Duration::from_secs(15 * 60);

impl AccountThrottle {
    /// A throttle that allows `free` failures before backing off.
    pub fn new(free: u32) -> Self {
        AccountThrottle {
            free,
            hasher: RandomState::new(),
            accounts: Cache::builder().max_capacity(MAX_KEYS).time_to_idle(Duration::from_secs(3600)).build(),
        }
    }

    /// `Err(seconds)` when the account must wait before another attempt.
    pub fn check(&self, account: &str) -> Result<(), u64> {
        let Some(entry) = self.accounts.get(&self.hasher.hash_one(account)) else { return Ok(()) };
        let f = entry.lock().map_err(|_| 1u64)?;
        match f.blocked_until {
            Some(until) if until > Instant::now() => Err((until - Instant::now()).as_secs().max(1)),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, account: &str) {
        let entry = self.accounts.get_with(self.hasher.hash_one(account), Default::default);
        let Ok(mut f) = entry.lock() else { return };
        f.count += 1;
        if f.count > self.free {
            let exp = (f.count - self.free - 1).min(20);
            let block = Duration::from_secs(1u64 << exp).min(MAX_BLOCK);
            f.blocked_until = Some(Instant::now() + block);
        }
    }

    /// Forgets an account's failures (after a successful sign-in).
    pub fn succeeded(&self, account: &str) {
        self.accounts.invalidate(&self.hasher.hash_one(account));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let r = RateLimiter::new(3);
        assert!(r.check("a") && r.check("a") && r.check("a"));
        assert!(!r.check("a"));
        assert!(r.check("b"));
        assert!(RateLimiter::new(0).check("x"));
    }

    #[test]
    fn windows_expire() {
        let r = RateLimiter::with_window(1, Duration::from_millis(50));
        assert!(r.check("a") && !r.check("a"));
        std::thread::sleep(Duration::from_millis(120));
        assert!(r.check("a"), "a new window starts after the old one expired");
    }

    #[test]
    fn memory_is_bounded_whatever_the_keys() {
        let r = RateLimiter::new(10);
        let long = "x".repeat(100_000);
        for i in 0..2_000 {
            r.check(&format!("{i}|{long}"));
        }
        assert_eq!(r.tracked(), 2_000, "one small entry per key, never the key itself");
    }

    #[test]
    fn account_backoff_doubles_and_success_clears() {
        let t = AccountThrottle::new(2);
        t.failed("ada");
        t.failed("ada");
        assert!(t.check("ada").is_ok(), "free failures");
        t.failed("ada");
        assert_eq!(t.check("ada"), Err(1));
        t.failed("ada");
        assert!(matches!(t.check("ada"), Err(1..=2)));
        t.failed("ada");
        t.failed("ada");
        assert!(matches!(t.check("ada"), Err(5..=8)), "{:?}", t.check("ada"));
        assert!(t.check("grace").is_ok(), "per account");
        t.succeeded("ada");
        assert!(t.check("ada").is_ok());
    }
}
