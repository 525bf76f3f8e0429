//! Latency summaries and the result table.

use crate::cpu::Used;
use std::time::Duration;

/// Summary of one measured phase.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Successful operations.
    pub ok: usize,
    /// Non-2xx answers (or wrong bodies).
    pub bad_status: usize,
    /// Transport errors.
    pub errors: usize,
    /// Wall time of the phase.
    pub elapsed: Duration,
    /// Median latency (ms).
    pub p50_ms: f64,
    /// 99th percentile latency (ms).
    pub p99_ms: f64,
    /// Worst latency (ms).
    pub max_ms: f64,
}

impl Summary {
    /// Builds a summary from latencies of successful operations.
    pub fn new(mut lat: Vec<Duration>, bad_status: usize, errors: usize, elapsed: Duration) -> Summary {
        lat.sort_unstable();
        Summary {
            ok: lat.len(),
            bad_status,
            errors,
            elapsed,
            p50_ms: pct_ms(&lat, 0.50),
            p99_ms: pct_ms(&lat, 0.99),
            max_ms: lat.last().map(ms).unwrap_or(f64::NAN),
        }
    }

    /// Successful operations per second.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.ok as f64 / s
        } else {
            0.0
        }
    }
}

fn ms(d: &Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted durations, in ms (NaN when empty).
pub fn pct_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    ms(&sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One row of the result table.
pub struct Row {
    /// Benchmark name.
    pub bench: String,
    /// Who was measured.
    pub side: String,
    /// The numbers.
    pub s: Summary,
    /// Whether "per sec" means something for this row.
    pub show_rate: bool,
    /// CPU of the measured server during the phase.
    pub server_cpu: Option<Used>,
    /// CPU of the load generator itself during the phase.
    pub loadgen_cpu: Option<Used>,
}

fn opt(v: f64, width: usize, prec: usize) -> String {
    if v.is_finite() {
        format!("{v:>width$.prec$}")
    } else {
        format!("{:>width$}", "-")
    }
}

/// Prints the table.
pub fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<38} {:<20} {:>6} {:>8} {:>7} {:>7} {:>7} {:>4} {:>8} {:>8} {:>7}",
        "benchmark", "side", "ok", "per sec", "p50 ms", "p99 ms", "max ms", "err", "srv CPU%", "srv µs/op", "lg CPU%"
    );
    println!("{}", "-".repeat(133));
    for r in rows {
        let nan = f64::NAN;
        println!(
            "{:<38} {:<20} {:>6} {} {} {} {} {:>4} {} {} {}",
            r.bench,
            r.side,
            r.s.ok,
            opt(if r.show_rate { r.s.rate() } else { nan }, 8, 0),
            opt(r.s.p50_ms, 7, 2),
            opt(r.s.p99_ms, 7, 2),
            opt(r.s.max_ms, 7, 2),
            r.s.bad_status + r.s.errors,
            opt(r.server_cpu.map_or(nan, |u| u.percent()), 8, 0),
            opt(r.server_cpu.map_or(nan, |u| u.us_per(r.s.ok)), 9, 0),
            opt(r.loadgen_cpu.map_or(nan, |u| u.percent()), 7, 0),
        );
    }
    println!(
        "(CPU% is of one core: this machine has {} cores; srv µs/op = server CPU time per successful operation)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(pct_ms(&v, 0.5), 50.0);
        assert_eq!(pct_ms(&v, 0.99), 99.0);
        assert_eq!(pct_ms(&v, 1.0), 100.0);
        assert!(pct_ms(&[], 0.5).is_nan());
        let s = Summary::new(v, 1, 2, Duration::from_secs(2));
        assert_eq!(s.ok, 100);
        assert_eq!(s.rate(), 50.0);
        assert_eq!(s.max_ms, 100.0);
    }
}
