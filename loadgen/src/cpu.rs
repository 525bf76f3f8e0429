//! CPU time of processes (user + system, all threads) from `/proc/<pid>/stat`, to show
//! where the two cores went during a phase and the server's CPU cost per operation.

use std::time::{Duration, Instant};

/// `USER_HZ`: clock ticks per second in `/proc` (fixed at 100 in Linux's user ABI).
const TICKS_PER_SEC: f64 = 100.0;

/// CPU seconds used so far by `pid` (None when unreadable, e.g. not Linux).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, i.e. 11 and 12 after ")".
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// A CPU-time probe over a phase for a set of processes.
pub struct Probe {
    pids: Vec<Option<u32>>,
    start_cpu: Vec<Option<f64>>,
    start: Instant,
}

/// CPU used during a phase by one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Used {
    /// CPU seconds.
    pub secs: f64,
    /// Wall time of the phase.
    pub wall: Duration,
}

impl Used {
    /// Percentage of one core (200 % = both cores of this machine).
    pub fn percent(&self) -> f64 {
        let w = self.wall.as_secs_f64();
        if w > 0.0 {
            100.0 * self.secs / w
        } else {
            f64::NAN
        }
    }
    /// CPU microseconds per operation.
    pub fn us_per(&self, ops: usize) -> f64 {
        if ops == 0 {
            f64::NAN
        } else {
            self.secs * 1e6 / ops as f64
        }
    }
}

impl Probe {
    /// Starts measuring `pids`.
    pub fn start(pids: &[Option<u32>]) -> Probe {
        Probe { pids: pids.to_vec(), start_cpu: pids.iter().map(|p| p.and_then(cpu_secs)).collect(), start: Instant::now() }
    }

    /// CPU used by each process since `start` (NaN seconds when unreadable).
    pub fn stop(&self) -> Vec<Used> {
        let wall = self.start.elapsed();
        self.pids
            .iter()
            .zip(&self.start_cpu)
            .map(|(p, s)| {
                let secs = match (p.and_then(cpu_secs), s) {
                    (Some(e), Some(s)) => e - s,
                    _ => f64::NAN,
                };
                Used { secs, wall }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_cpu_time() {
        let me = std::process::id();
        let before = cpu_secs(me).expect("linux /proc");
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert!(x != 1);
        let after = cpu_secs(me).expect("linux /proc");
        assert!(after - before >= 0.1, "{before} → {after}");
    }
}
