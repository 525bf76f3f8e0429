//! `mpt-loadgen`: drives a release `mpt-api-server` as a black box over HTTP and
//! WebSocket on 127.0.0.1 and prints numbers against goals:
//!
//! 1. token mints per second vs Twilio's Node helper library behind Express
//!    (`tests/bench/node-token-server.mjs`), same run, same client: ratio, goal ≥ 10×;
//! 2. signed status callbacks per second with durable writes (SQLite), p50/p99, and a
//!    read-back through `GET /api/calls` proving none was lost: goal ≥ 5,000/s,
//!    p99 ≤ 25 ms, 0 lost;
//! 3. WebSocket fan-out latency with N (1,000) connected agents: goal p99 ≤ 50 ms.
//!
//! Usage: `mpt-loadgen --server target/release/mpt-api-server
//! --node-token-server tests/bench/node-token-server.mjs [--quick] [--node PATH]
//! [--agents N] [--calls N] [--callback-concurrency N] [--token-concurrency N] [--keep-data]`.
//! Exits non-zero only when the run is broken (errors, lost callbacks, missed
//! deliveries); a missed goal prints `GOAL MISSED`.

mod callbacks;
mod cpu;
mod error;
mod fanout;
mod procs;
mod run;
mod setup;
mod stats;
mod tokens;

use error::{LoadError, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Command-line options.
#[derive(Debug, Clone)]
struct Args {
    server: PathBuf,
    node_script: PathBuf,
    node: String,
    quick: bool,
    agents: Option<usize>,
    calls: Option<usize>,
    callback_conc: Option<usize>,
    token_conc: Option<usize>,
    keep_data: bool,
}

const USAGE: &str = "usage: mpt-loadgen --server PATH --node-token-server PATH [--quick] [--node PATH] [--agents N] [--calls N] [--callback-concurrency N] [--token-concurrency N] [--keep-data]";

fn parse_args(argv: impl Iterator<Item = String>) -> Result<Args> {
    let (mut server, mut node_script) = (None, None);
    let mut a = Args {
        server: PathBuf::new(),
        node_script: PathBuf::new(),
        node: "node".into(),
        quick: false,
        agents: None,
        calls: None,
        callback_conc: None,
        token_conc: None,
        keep_data: false,
    };
    let mut it = argv;
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| LoadError::Args(format!("{name} needs a value")));
        let num = |name: &str, v: String| v.parse::<usize>().map_err(|e| LoadError::Args(format!("{name}: {e}")));
        match arg.as_str() {
            "--server" => server = Some(PathBuf::from(val("--server")?)),
            "--node-token-server" => node_script = Some(PathBuf::from(val("--node-token-server")?)),
            "--node" => a.node = val("--node")?,
            "--quick" => a.quick = true,
            "--agents" => a.agents = Some(num("--agents", val("--agents")?)?),
            "--calls" => a.calls = Some(num("--calls", val("--calls")?)?),
            "--callback-concurrency" => a.callback_conc = Some(num("--callback-concurrency", val("--callback-concurrency")?)?),
            "--token-concurrency" => a.token_conc = Some(num("--token-concurrency", val("--token-concurrency")?)?),
            "--keep-data" => a.keep_data = true,
            "-h" | "--help" => return Err(LoadError::Args(USAGE.into())),
            other => return Err(LoadError::Args(format!("unknown argument {other:?}\n{USAGE}"))),
        }
    }
    a.server = server.ok_or_else(|| LoadError::Args(format!("--server is required\n{USAGE}")))?;
    a.node_script = node_script.ok_or_else(|| LoadError::Args(format!("--node-token-server is required\n{USAGE}")))?;
    if [a.agents, a.calls, a.callback_conc, a.token_conc].contains(&Some(0)) {
        return Err(LoadError::Args("--agents, --calls and the concurrencies must be at least 1".into()));
    }
    Ok(a)
}

/// Sizes and time limits of a run.
struct Plan {
    agents: usize,
    agent_conc: usize,
    token_requests: usize,
    token_rounds: usize,
    token_conc: usize,
    token_time: Duration,
    token_warmup: usize,
    calls: usize,
    callback_conc: usize,
    callback_time: Duration,
    fanout_rounds: usize,
    live_calls: usize,
}

impl Plan {
    fn new(a: &Args) -> Plan {
        let mut p = if a.quick {
            Plan {
                agents: 100,
                agent_conc: 4,
                token_requests: 4_000,
                token_rounds: 1,
                token_conc: 64,
                token_time: Duration::from_secs(5),
                token_warmup: 300,
                calls: 500,
                callback_conc: 32,
                callback_time: Duration::from_secs(30),
                fanout_rounds: 5,
                live_calls: 500,
            }
        } else {
            Plan {
                agents: 1_000,
                agent_conc: 4,
                token_requests: 20_000,
                token_rounds: 2,
                token_conc: 64,
                token_time: Duration::from_secs(15),
                token_warmup: 1_000,
                calls: 5_000,
                callback_conc: 32,
                callback_time: Duration::from_secs(120),
                fanout_rounds: 20,
                live_calls: 2_500,
            }
        };
        if let Some(n) = a.agents {
            p.agents = n;
        }
        if let Some(n) = a.calls {
            p.calls = n;
            p.live_calls = p.live_calls.min(n);
        }
        if let Some(n) = a.callback_conc {
            p.callback_conc = n;
        }
        if let Some(n) = a.token_conc {
            p.token_conc = n;
        }
        p
    }
}

/// Counts warnings and errors the server logged (JSON lines on stderr).
fn report_server_log(path: &std::path::Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let (mut warn, mut err) = (0usize, 0usize);
    let mut samples: Vec<String> = Vec::new();
    for line in text.lines() {
        let level = if line.contains("\"level\":\"ERROR\"") {
            err += 1;
            true
        } else if line.contains("\"level\":\"WARN\"") {
            warn += 1;
            true
        } else {
            false
        };
        if level && samples.len() < 5 {
            let msg = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["fields"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| line.chars().take(160).collect());
            if !samples.contains(&msg) {
                samples.push(msg);
            }
        }
    }
    println!("api-server log {}: {err} errors, {warn} warnings", path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default());
    for s in samples {
        println!("  e.g. {s}");
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let res = runtime.block_on(run::run(args));
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
    match res {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> impl Iterator<Item = String> {
        s.split_whitespace().map(str::to_string).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn parses_arguments() {
        let a = parse_args(argv("--server s --node-token-server n.mjs --quick --agents 7")).expect("valid");
        assert_eq!(a.server, PathBuf::from("s"));
        assert!(a.quick);
        assert_eq!(Plan::new(&a).agents, 7);
        assert!(parse_args(argv("--server s")).is_err());
        assert!(parse_args(argv("--server s --node-token-server n --agents x")).is_err());
        assert!(parse_args(argv("--server s --node-token-server n --bogus")).is_err());
    }
}
