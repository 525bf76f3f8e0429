//! Token mints: `conc` clients send `POST <url>` with a Bearer token, bounded by a
//! request count and a time limit. An answer counts as a mint when it is 200 and its
//! JSON starts with a JWT (`{"token":"ey…`).

use crate::stats::Summary;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One client's tallies.
#[derive(Default)]
struct Tally {
    lat: Vec<Duration>,
    bad: usize,
    errors: usize,
    first_problem: Option<String>,
}

/// Result of a hammer run.
pub struct Outcome {
    /// The numbers.
    pub summary: Summary,
    /// First failure seen, for the report.
    pub first_problem: Option<String>,
}

/// Sends up to `total` requests with `conc` clients, for at most `max_time`.
/// `bearers` are used round-robin.
pub async fn hammer(
    http: &reqwest::Client,
    url: &str,
    bearers: Arc<Vec<String>>,
    total: usize,
    conc: usize,
    max_time: Duration,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc.max(1) {
        let (http, url, bearers, next) = (http.clone(), url.to_string(), bearers.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || start.elapsed() > max_time {
                    return t;
                }
                let bearer = &bearers[i % bearers.len().max(1)];
                let t0 = Instant::now();
                let res = async {
                    let resp = http.post(&url).bearer_auth(bearer).send().await?;
                    let status = resp.status();
                    let body = resp.bytes().await?;
                    Ok::<_, reqwest::Error>((status, body))
                }
                .await;
                match res {
                    Ok((status, body)) if status.as_u16() == 200 && body.starts_with(b"{\"token\":\"ey") => t.lat.push(t0.elapsed()),
                    Ok((status, body)) => {
                        t.bad += 1;
                        t.first_problem
                            .get_or_insert_with(|| format!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)])));
                    }
                    Err(e) => {
                        t.errors += 1;
                        t.first_problem.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => {
                all.lat.extend(t.lat);
                all.bad += t.bad;
                all.errors += t.errors;
                if all.first_problem.is_none() {
                    all.first_problem = t.first_problem;
                }
            }
            Err(e) => {
                all.errors += 1;
                all.first_problem.get_or_insert_with(|| format!("client task: {e}"));
            }
        }
    }
    let elapsed = start.elapsed();
    Outcome { summary: Summary::new(all.lat, all.bad, all.errors, elapsed), first_problem: all.first_problem }
}
