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
mod setup;
mod stats;
mod tokens;

use error::{LoadError, Result};
use stats::{Row, Summary};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
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
        let mut val = |name: &str| {
            it.next()
                .ok_or_else(|| LoadError::Args(format!("{name} needs a value")))
        };
        let num = |name: &str, v: String| {
            v.parse::<usize>()
                .map_err(|e| LoadError::Args(format!("{name}: {e}")))
        };
        match arg.as_str() {
            "--server" => server = Some(PathBuf::from(val("--server")?)),
            "--node-token-server" => node_script = Some(PathBuf::from(val("--node-token-server")?)),
            "--node" => a.node = val("--node")?,
            "--quick" => a.quick = true,
            "--agents" => a.agents = Some(num("--agents", val("--agents")?)?),
            "--calls" => a.calls = Some(num("--calls", val("--calls")?)?),
            "--callback-concurrency" => {
                a.callback_conc = Some(num(
                    "--callback-concurrency",
                    val("--callback-concurrency")?,
                )?)
            }
            "--token-concurrency" => {
                a.token_conc = Some(num("--token-concurrency", val("--token-concurrency")?)?)
            }
            "--keep-data" => a.keep_data = true,
            "-h" | "--help" => return Err(LoadError::Args(USAGE.into())),
            other => {
                return Err(LoadError::Args(format!(
                    "unknown argument {other:?}\n{USAGE}"
                )))
            }
        }
    }
    a.server = server.ok_or_else(|| LoadError::Args(format!("--server is required\n{USAGE}")))?;
    a.node_script = node_script
        .ok_or_else(|| LoadError::Args(format!("--node-token-server is required\n{USAGE}")))?;
    if [a.agents, a.calls, a.callback_conc, a.token_conc].contains(&Some(0)) {
        return Err(LoadError::Args(
            "--agents, --calls and the concurrencies must be at least 1".into(),
        ));
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

/// Findings that make the run broken (not merely slow).
#[derive(Default)]
struct Broken(Vec<String>);

impl Broken {
    fn check(&mut self, cond: bool, what: String) {
        if cond {
            self.0.push(what);
        }
    }
}

fn goal(line: String, met: bool) {
    if met {
        println!("{line}  ok");
    } else {
        println!("{line}  GOAL MISSED");
    }
}

async fn run(args: Args) -> Result<bool> {
    let plan = Plan::new(&args);
    let data = tempfile::Builder::new().prefix("mpt-loadgen-").tempdir()?;
    let data_dir = data.path().to_path_buf();
    println!(
        "mpt-loadgen: {} mode; data in {}",
        if args.quick { "quick" } else { "full" },
        data_dir.display()
    );
    let me = Some(std::process::id());
    let creds = setup::Creds::random()?;
    let mut apisrv = setup::ApiServer::init(&args.server, &data_dir, &creds).await?;
    let mut api = apisrv.start().await?;
    println!("api-server: {} (SQLite in {})", api.url, data_dir.display());
    let bearer = mpt_twilio::sid::new_sid("nb")?;
    let mut node_cmd = tokio::process::Command::new(&args.node);
    node_cmd.arg(&args.node_script).env("BENCH_BEARER", &bearer);
    let mut node = procs::Server::start(
        "node token server",
        node_cmd,
        &data_dir.join("node.stderr.log"),
        Duration::from_secs(30),
    )
    .await?;
    println!("node token server: {}", node.url);

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?;
    let mut base = api.url.clone();
    let mut broken = Broken::default();
    let mut rows = Vec::new();

    // --- Set-up: agents (argon2id hashing on create and on sign-in: slow by design).
    let admin = setup::login(&http, &base, setup::ADMIN.0, setup::ADMIN.1).await?;
    let (sessions, took) = setup::agents(
        &http,
        &base,
        &admin,
        plan.agents,
        plan.agent_conc,
        Duration::from_secs(600),
    )
    .await?;
    println!("set-up: {} agents created (POST /api/admin/agents) and signed in (POST /api/auth/login) in {:.1} s", sessions.len(), took.as_secs_f64());

    // --- 1. Token mints, interleaved rounds: node, ours, node, ours…
    let ours_url = format!("{base}/api/twilio/token");
    let node_url = format!("{}/token", node.url);
    let our_bearers = Arc::new(
        sessions
            .iter()
            .take(plan.token_conc)
            .map(|s| s.access.clone())
            .collect::<Vec<_>>(),
    );
    let node_bearers = Arc::new(vec![bearer.clone()]);
    let _ = tokens::hammer(
        &http,
        &node_url,
        node_bearers.clone(),
        plan.token_warmup,
        plan.token_conc,
        plan.token_time,
    )
    .await;
    let _ = tokens::hammer(
        &http,
        &ours_url,
        our_bearers.clone(),
        plan.token_warmup,
        plan.token_conc,
        plan.token_time,
    )
    .await;
    let (mut ours_parts, mut node_parts) = (Vec::new(), Vec::new());
    let (mut ours_cpu, mut node_cpu) = ([cpu::Used::default(); 2], [cpu::Used::default(); 2]);
    let add = |acc: &mut [cpu::Used; 2], u: Vec<cpu::Used>| {
        for (a, b) in acc.iter_mut().zip(u) {
            a.secs += b.secs;
            a.wall += b.wall;
        }
    };
    for _ in 0..plan.token_rounds {
        let probe = cpu::Probe::start(&[node.pid(), me]);
        let n = tokens::hammer(
            &http,
            &node_url,
            node_bearers.clone(),
            plan.token_requests,
            plan.token_conc,
            plan.token_time,
        )
        .await;
        add(&mut node_cpu, probe.stop());
        if let Some(p) = &n.first_problem {
            broken.0.push(format!("node token server: {p}"));
        }
        node_parts.push(n.summary);
        let probe = cpu::Probe::start(&[api.pid(), me]);
        let o = tokens::hammer(
            &http,
            &ours_url,
            our_bearers.clone(),
            plan.token_requests,
            plan.token_conc,
            plan.token_time,
        )
        .await;
        add(&mut ours_cpu, probe.stop());
        if let Some(p) = &o.first_problem {
            broken.0.push(format!("api-server tokens: {p}"));
        }
        ours_parts.push(o.summary);
    }
    let ours_tok = combine(&ours_parts);
    let node_tok = combine(&node_parts);
    let tok_bench = format!(
        "token mints (c={}, {} round(s))",
        plan.token_conc, plan.token_rounds
    );
    rows.push(Row {
        bench: tok_bench.clone(),
        side: "mpt-api-server".into(),
        s: ours_tok.clone(),
        show_rate: true,
        server_cpu: Some(ours_cpu[0]),
        loadgen_cpu: Some(ours_cpu[1]),
    });
    rows.push(Row {
        bench: tok_bench,
        side: "node express+twilio".into(),
        s: node_tok.clone(),
        show_rate: true,
        server_cpu: Some(node_cpu[0]),
        loadgen_cpu: Some(node_cpu[1]),
    });

    // --- 2. Status callbacks: call set-up (voice webhook), then 4 callbacks per call.
    let calls = Arc::new(callbacks::plan(&base, &creds, &sessions, plan.calls)?);
    let all: Arc<Vec<usize>> = Arc::new((0..calls.len()).collect());
    let probe = cpu::Probe::start(&[api.pid(), me]);
    let voice = callbacks::send(
        &http,
        &base,
        calls.clone(),
        all,
        callbacks::Phase::Voice,
        plan.callback_conc,
        plan.callback_time,
    )
    .await;
    let used = probe.stop();
    if let Some(p) = &voice.first_problem {
        broken.0.push(format!("voice webhooks: {p}"));
    }
    rows.push(Row {
        bench: format!("voice webhook (call set-up, c={})", plan.callback_conc),
        side: "mpt-api-server".into(),
        s: voice.summary.clone(),
        show_rate: true,
        server_cpu: used.first().copied(),
        loadgen_cpu: used.get(1).copied(),
    });
    let set_up = Arc::new(voice.done.clone());
    let probe = cpu::Probe::start(&[api.pid(), me]);
    let status = callbacks::send(
        &http,
        &base,
        calls.clone(),
        set_up.clone(),
        callbacks::Phase::Status,
        plan.callback_conc,
        plan.callback_time,
    )
    .await;
    let used = probe.stop();
    if let Some(p) = &status.first_problem {
        broken.0.push(format!("status callbacks: {p}"));
    }
    rows.push(Row {
        bench: format!("status callbacks (SQLite, c={})", plan.callback_conc),
        side: "mpt-api-server".into(),
        s: status.summary.clone(),
        show_rate: true,
        server_cpu: used.first().copied(),
        loadgen_cpu: used.get(1).copied(),
    });
    // Durability: kill the server (SIGKILL, no shutdown) right after the last
    // acknowledged callback, restart it on the same database, then read the logs back.
    let api_alive_1 = api.alive();
    api.stop().await;
    api = apisrv.start().await?;
    base = api.url.clone();
    println!(
        "api-server killed (SIGKILL) after the last acknowledged callback and restarted: {base}"
    );
    let check = callbacks::verify(
        &http,
        &base,
        &admin.access,
        &calls,
        &status.done,
        Duration::from_secs(120),
    )
    .await?;
    let unsent = set_up.len().saturating_sub(status.done.len());

    // --- 3. WebSocket fan-out: a tenant-wide event (presence) to every agent.
    let probe = cpu::Probe::start(&[api.pid(), me]);
    let mut sockets = fanout::connect(&http, &base, &sessions).await?;
    let fan = sockets
        .presence(
            &http,
            &base,
            &sessions,
            plan.fanout_rounds,
            Duration::from_secs(5),
        )
        .await?;
    let used = probe.stop();
    rows.push(Row {
        bench: format!(
            "ws fan-out ({} agents, {} rounds)",
            sockets.connected, fan.rounds
        ),
        side: "mpt-api-server".into(),
        s: fan.summary.clone(),
        show_rate: false,
        server_cpu: used.first().copied(),
        loadgen_cpu: used.get(1).copied(),
    });

    // --- 4. Status callbacks while every agent is connected: throughput next to
    // phase 2, and delivery of each call's `call_status: completed` to its own agent.
    let live = Arc::new(callbacks::plan(&base, &creds, &sessions, plan.live_calls)?);
    let all: Arc<Vec<usize>> = Arc::new((0..live.len()).collect());
    let voice2 = callbacks::send(
        &http,
        &base,
        live.clone(),
        all,
        callbacks::Phase::Voice,
        plan.callback_conc,
        plan.callback_time,
    )
    .await;
    if let Some(p) = &voice2.first_problem {
        broken
            .0
            .push(format!("voice webhooks (sockets connected): {p}"));
    }
    // Drop events of the call set-up.
    let _ = sockets
        .completed(
            &std::collections::HashMap::new(),
            Duration::from_millis(500),
        )
        .await;
    let probe = cpu::Probe::start(&[api.pid(), me]);
    let status2 = callbacks::send(
        &http,
        &base,
        live.clone(),
        Arc::new(voice2.done.clone()),
        callbacks::Phase::Status,
        plan.callback_conc,
        plan.callback_time,
    )
    .await;
    let used = probe.stop();
    if let Some(p) = &status2.first_problem {
        broken
            .0
            .push(format!("status callbacks (sockets connected): {p}"));
    }
    rows.push(Row {
        bench: format!(
            "status callbacks, {} sockets (c={})",
            sockets.connected, plan.callback_conc
        ),
        side: "mpt-api-server".into(),
        s: status2.summary.clone(),
        show_rate: true,
        server_cpu: used.first().copied(),
        loadgen_cpu: used.get(1).copied(),
    });
    let want: std::collections::HashMap<String, (usize, Instant)> = status2
        .completed_sent
        .iter()
        .filter(|(i, _)| status2.done.binary_search(i).is_ok())
        .map(|&(i, at)| (live[i].parent.clone(), (live[i].agent_idx, at)))
        .collect();
    let delivery = sockets.completed(&want, Duration::from_secs(10)).await;
    let delivered = delivery.lat.len();
    rows.push(Row {
        bench: "  → completed event to its agent".into(),
        side: "mpt-api-server".into(),
        s: Summary::new(delivery.lat, 0, 0, Duration::ZERO),
        show_rate: false,
        server_cpu: None,
        loadgen_cpu: None,
    });
    let (sockets_connected, connect_time) = (sockets.connected, sockets.connect_time);
    let closed = sockets.close().await;

    let api_alive = api_alive_1 && api.alive();
    let node_alive = node.alive();
    node.stop().await;
    api.stop().await;

    stats::print_table(&rows);
    let ratio = if node_tok.rate() > 0.0 {
        ours_tok.rate() / node_tok.rate()
    } else {
        f64::INFINITY
    };
    goal(
        format!("token mints/s: mpt-api-server {:.0} vs node express+twilio {:.0} → ratio {:.1}× (goal ≥ 10×)", ours_tok.rate(), node_tok.rate(), ratio),
        ratio >= 10.0,
    );
    let (ours_us, node_us) = (
        ours_cpu[0].us_per(ours_tok.ok),
        node_cpu[0].us_per(node_tok.ok),
    );
    println!(
        "  server CPU per mint: mpt-api-server {ours_us:.0} µs vs node {node_us:.0} µs → {:.1}× less CPU (less sensitive to the shared machine)",
        node_us / ours_us
    );
    println!(
        "  per request — mpt-api-server: verify access JWT (HS256) + tenant lookup (cached) + mint Voice JWT (HS256) + JSON; node: constant-time bearer compare + AccessToken/VoiceGrant toJwt + JSON"
    );
    goal(
        format!(
            "status callbacks/s: {:.0} (goal ≥ 5000)",
            status.summary.rate()
        ),
        status.summary.rate() >= 5000.0,
    );
    println!(
        "  callbacks: 4 per call (initiated, ringing, in-progress, completed), signed, form-encoded, one call's callbacks sequential; 1 call in {} out of order, 1 in {} with a repeated completed",
        callbacks::OUT_OF_ORDER_EVERY,
        callbacks::DUPLICATE_EVERY
    );
    goal(
        format!(
            "status callback latency: p50 {:.2} ms, p99 {:.2} ms (goal p99 ≤ 25 ms)",
            status.summary.p50_ms, status.summary.p99_ms
        ),
        status.summary.p99_ms <= 25.0,
    );
    let lost = check.missing + check.wrong;
    goal(
        format!(
            "status callbacks lost: {lost} of {} calls checked after kill -9 + restart ({} callbacks acknowledged; {} call logs listed; goal 0)",
            check.checked, status.summary.ok, check.listed
        ),
        lost == 0,
    );
    goal(
        format!(
            "ws fan-out: {} sockets, {} rounds, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 ≤ 50 ms)",
            sockets_connected, fan.rounds, fan.summary.p50_ms, fan.summary.p99_ms, fan.summary.max_ms
        ),
        fan.summary.p99_ms <= 50.0,
    );
    println!(
        "  fan-out detail: {} sockets connected in {:.1} s; trigger PUT /api/me/presence p50 {:.2} ms; deliveries missed {}",
        sockets_connected,
        connect_time.as_secs_f64(),
        fan.trigger_p50_ms,
        fan.missed
    );
    println!(
        "  with {sockets_connected} sockets connected: {:.0} callbacks/s (vs {:.0} without), p99 {:.2} ms; completed events delivered to their agent {delivered} of {}, p99 {:.2} ms after the callback was sent; to another agent: {}",
        status2.summary.rate(),
        status.summary.rate(),
        status2.summary.p99_ms,
        want.len(),
        rows.last().map_or(f64::NAN, |r| r.s.p99_ms),
        delivery.leaked
    );
    if unsent > 0 {
        println!("  note: {unsent} calls did not get all their callbacks sent (time limit {:?} or a failed callback)", plan.callback_time);
    }
    for e in &check.examples {
        println!("  lost/wrong: {e}");
    }

    broken.check(
        voice.summary.bad_status + voice.summary.errors > 0,
        format!(
            "{} voice webhooks failed",
            voice.summary.bad_status + voice.summary.errors
        ),
    );
    broken.check(
        status.summary.bad_status + status.summary.errors > 0,
        format!(
            "{} status callbacks failed",
            status.summary.bad_status + status.summary.errors
        ),
    );
    broken.check(
        lost > 0,
        format!("{lost} calls lost or wrong after their callbacks were acknowledged"),
    );
    broken.check(
        fan.missed > 0,
        format!("{} fan-out deliveries missed", fan.missed),
    );
    broken.check(
        !closed.is_empty(),
        format!(
            "{} sockets ended early: {:?}",
            closed.len(),
            closed.iter().take(3).collect::<Vec<_>>()
        ),
    );
    broken.check(
        voice2.summary.bad_status + voice2.summary.errors > 0,
        format!(
            "{} voice webhooks failed with sockets connected",
            voice2.summary.bad_status + voice2.summary.errors
        ),
    );
    broken.check(
        status2.summary.bad_status + status2.summary.errors > 0,
        format!(
            "{} status callbacks failed with sockets connected",
            status2.summary.bad_status + status2.summary.errors
        ),
    );
    broken.check(
        delivery.missing > 0,
        format!(
            "{} calls' completed events never reached their agent",
            delivery.missing
        ),
    );
    broken.check(
        delivery.leaked > 0,
        format!(
            "{} call events reached another agent's socket",
            delivery.leaked
        ),
    );
    broken.check(
        !api_alive,
        "the api-server exited by itself during the run".into(),
    );
    broken.check(
        !node_alive,
        "the node token server exited during the run".into(),
    );
    for log in apisrv.logs() {
        report_server_log(&log);
    }

    if args.keep_data {
        let kept = data.keep();
        println!("data kept in {}", kept.display());
    }
    if broken.0.is_empty() {
        println!("run: ok");
        Ok(true)
    } else {
        for b in &broken.0 {
            println!("BROKEN RUN: {b}");
        }
        Ok(false)
    }
}

fn combine(parts: &[Summary]) -> Summary {
    // Rate over all rounds = total ok / total time; latencies: weighted by rounds is
    // not recoverable from summaries, so report the worst round's percentiles.
    let ok = parts.iter().map(|p| p.ok).sum();
    let elapsed = parts.iter().map(|p| p.elapsed).sum();
    let worst = |f: fn(&Summary) -> f64| parts.iter().map(f).fold(f64::NAN, f64::max);
    Summary {
        ok,
        bad_status: parts.iter().map(|p| p.bad_status).sum(),
        errors: parts.iter().map(|p| p.errors).sum(),
        elapsed,
        p50_ms: worst(|p| p.p50_ms),
        p99_ms: worst(|p| p.p99_ms),
        max_ms: worst(|p| p.max_ms),
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
    println!(
        "api-server log {}: {err} errors, {warn} warnings",
        path.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default()
    );
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let res = runtime.block_on(run(args));
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
        s.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn parses_arguments() {
        let a = parse_args(argv(
            "--server s --node-token-server n.mjs --quick --agents 7",
        ))
        .expect("valid");
        assert_eq!(a.server, PathBuf::from("s"));
        assert!(a.quick);
        assert_eq!(Plan::new(&a).agents, 7);
        assert!(parse_args(argv("--server s")).is_err());
        assert!(parse_args(argv("--server s --node-token-server n --agents x")).is_err());
        assert!(parse_args(argv("--server s --node-token-server n --bogus")).is_err());
    }
}
