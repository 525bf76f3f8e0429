//! The last state this process wrote for each call (SQLite status-callback fast path).

use super::Legs;
use mpt_core::api::CallLog;

/// Calls per cache generation: the cache keeps the last 10,000–20,000 calls written.
const CACHE_GENERATION: usize = 10_000;

type CacheKey = (String, String);

/// SQLite only (one process owns the file): the last state this process wrote for each
/// call, so a status callback can skip reading it back. A stale entry is harmless: the
/// UPDATE is guarded by `updated_at`, and a failed guard drops the entry and re-reads.
///
/// Two generations: when the young one is full it becomes the old one and the previous
/// old one is dropped, so the cache stays bounded without ever emptying at once.
pub struct CallCache {
    generation: usize,
    gens: std::sync::Mutex<[std::collections::HashMap<CacheKey, (CallLog, Legs)>; 2]>,
}

impl Default for CallCache {
    fn default() -> Self {
        CallCache::with_generation(CACHE_GENERATION)
    }
}

impl CallCache {
    /// A cache keeping between `generation` and twice that many calls.
    pub fn with_generation(generation: usize) -> CallCache {
        CallCache { generation: generation.max(1), gens: Default::default() }
    }
    pub(crate) fn get(&self, tenant_id: &str, sid: &str) -> Option<(CallLog, Legs)> {
        let key = (tenant_id.to_string(), sid.to_string());
        let gens = self.gens.lock().ok()?;
        gens[0].get(&key).or_else(|| gens[1].get(&key)).cloned()
    }
    pub(crate) fn put(&self, tenant_id: &str, sid: &str, call: CallLog, legs: Legs) {
        if let Ok(mut gens) = self.gens.lock() {
            let key = (tenant_id.to_string(), sid.to_string());
            gens[1].remove(&key);
            gens[0].insert(key, (call, legs));
            if gens[0].len() >= self.generation {
                gens[1] = std::mem::take(&mut gens[0]);
            }
        }
    }
    /// Forgets a call (by parent SID).
    pub fn forget(&self, tenant_id: &str, sid: Option<&str>) {
        if let (Some(sid), Ok(mut gens)) = (sid, self.gens.lock()) {
            let key = (tenant_id.to_string(), sid.to_string());
            gens[0].remove(&key);
            gens[1].remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Legs;
    use super::*;

    #[test]
    fn call_cache_keeps_one_to_two_generations() {
        let call: CallLog = serde_json::from_value(serde_json::json!({
            "id": "call_1", "direction": "outbound", "from": "+14155550100", "to": "+14155550142",
            "status": "initiated", "status_history": [], "started_at": 1, "sandbox": false, "updated_at": 1
        }))
        .expect("call");
        let cache = CallCache::with_generation(3);
        let put = |sid: &str| cache.put("t", sid, call.clone(), Legs::new());
        let has = |sid: &str| cache.get("t", sid).is_some();
        for sid in ["a", "b", "c"] {
            put(sid);
        }
        put("d");
        assert!(has("a") && has("c") && has("d"), "a full generation is kept while the next fills");
        put("a"); // moves to the young generation
        put("e"); // young full (d, a, e): the old one (b, c) goes
        assert!(has("a") && has("d") && has("e"));
        assert!(!has("b") && !has("c"));
        cache.forget("t", Some("a"));
        assert!(!has("a"));
        assert!(cache.get("other-tenant", "d").is_none(), "keyed by tenant too");
    }
}
