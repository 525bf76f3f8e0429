//! Prometheus counters, rendered in the text exposition format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters (monotonic) and gauges.
#[derive(Default)]
pub struct Metrics {
    /// HTTP requests answered.
    pub http_requests: AtomicU64,
    /// HTTP responses with status ≥ 500.
    pub http_errors: AtomicU64,
    /// Twilio webhooks accepted.
    pub webhooks_ok: AtomicU64,
    /// Twilio webhooks rejected for a bad or missing signature.
    pub webhooks_bad_signature: AtomicU64,
    /// Voice tokens minted.
    pub tokens_minted: AtomicU64,
    /// Events published.
    pub events_published: AtomicU64,
    /// Open WebSocket connections (gauge).
    pub ws_connections: AtomicU64,
    /// Sign-ins refused by the rate limiter.
    pub rate_limited: AtomicU64,
    /// SQLite: status-callback transactions committed by the group-commit writer.
    pub status_batches: AtomicU64,
    /// SQLite: status callbacks stored by those transactions.
    pub status_callbacks_stored: AtomicU64,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n`.
pub fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// Renders all metrics.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let items: [(&str, &str, &str, &AtomicU64); 10] = [
            ("mpt_http_requests_total", "counter", "HTTP requests answered", &self.http_requests),
            ("mpt_http_errors_total", "counter", "HTTP responses with status >= 500", &self.http_errors),
            ("mpt_twilio_webhooks_total", "counter", "Twilio webhooks accepted", &self.webhooks_ok),
            ("mpt_twilio_webhooks_bad_signature_total", "counter", "Twilio webhooks rejected (signature)", &self.webhooks_bad_signature),
            ("mpt_voice_tokens_minted_total", "counter", "Voice access tokens minted", &self.tokens_minted),
            ("mpt_events_published_total", "counter", "Live events published", &self.events_published),
            ("mpt_ws_connections", "gauge", "Open WebSocket connections", &self.ws_connections),
            ("mpt_rate_limited_total", "counter", "Requests refused by rate limits", &self.rate_limited),
            ("mpt_status_batches_total", "counter", "Status-callback transactions (SQLite group commit)", &self.status_batches),
            (
                "mpt_status_callbacks_stored_total",
                "counter",
                "Status callbacks stored by those transactions",
                &self.status_callbacks_stored,
            ),
        ];
        for (name, kind, help, v) in items {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", v.load(Ordering::Relaxed));
        }
        out
    }
}
