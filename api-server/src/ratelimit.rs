//! A fixed-window rate limiter keyed by string (client address + email, agent id…).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Allows `per_min` hits per key per minute.
pub struct RateLimiter {
    per_min: u32,
    map: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// A limiter with `per_min` hits per key per minute (0 = unlimited).
    pub fn new(per_min: u32) -> Self {
        RateLimiter { per_min, map: Mutex::new(HashMap::new()) }
    }

    /// Counts a hit; false when the key is over its limit.
    pub fn check(&self, key: &str) -> bool {
        if self.per_min == 0 {
            return true;
        }
        let now = Instant::now();
        let Ok(mut map) = self.map.lock() else { return false };
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_min
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
}
