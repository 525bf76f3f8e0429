//! `cargo bench -p mpt-api-server --bench api`: the api-server's benchmarks, against the real server on loopback.
//!
//! 1. Voice token mints per second: `POST /api/twilio/token` (auth, agent lookup, JWT)
//!    vs Twilio's Node helper library behind a minimal Express server
//!    (`api-server/bench/node-token-server.mjs`). Goal: ≥ 10×.
//! 2. Status callbacks per second with signature checks and durable writes (SQLite by
//!    default, PostgreSQL with `DATABASE_URL`), latency p50/p99, and a check that none
//!    was lost. Goal: ≥ 5,000/s, p99 ≤ 25 ms.
//! 3. WebSocket fan-out latency with N connected agents (default 1,000). Goal: p99 ≤ 50 ms.
//!
//! Usage: `cargo bench -p mpt-api-server --bench api -- [--seconds S] [--agents N] [--calls N]
//! [--concurrency C] [--skip-node] [--json FILE]` (the Node comparison runs `node` in the
//! repository root, where `node_modules` is).

use futures_util::StreamExt;
use mpt_api_server::agents::{create, NewAgent};
use mpt_api_server::auth::PasswordParams;
use mpt_api_server::{AppState, Config};
use mpt_core::api::{Role, ServerEvent};
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Args {
    seconds: u64,
    agents: usize,
    calls: usize,
    concurrency: usize,
    skip_node: bool,
    json: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { seconds: 5, agents: 1000, calls: 2500, concurrency: 32, skip_node: false, json: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => a.seconds = val("--seconds")?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--agents" => a.agents = val("--agents")?.parse().map_err(|e| format!("--agents: {e}"))?,
            "--calls" => a.calls = val("--calls")?.parse().map_err(|e| format!("--calls: {e}"))?,
            "--concurrency" => a.concurrency = val("--concurrency")?.parse().map_err(|e| format!("--concurrency: {e}"))?,
            "--skip-node" => a.skip_node = true,
            "--json" => a.json = Some(val("--json")?),
            "--bench" => {} // passed by `cargo bench`
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sends `make()` requests with `concurrency` workers for `secs`; returns (ok count, rate/s).
async fn hammer<F, Fut>(concurrency: usize, secs: u64, make: F) -> (u64, f64)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, ok, errors) = (make.clone(), ok.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                if make().await {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let n = ok.load(Ordering::Relaxed);
    let e = errors.load(Ordering::Relaxed);
    if e > 0 {
        eprintln!("  ({e} failed requests)");
    }
    (n, n as f64 / start.elapsed().as_secs_f64())
}

async fn start_server(data: &std::path::Path) -> Result<mpt_api_server::Server, String> {
    let mut cfg = Config::for_tests(data.to_path_buf(), std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()));
    cfg.token_rate_per_min = 0;
    cfg.login_rate_per_min = 0;
    mpt_api_server::http::serve_with(cfg, PasswordParams { m_kib: 1024, t: 1 }).await.map_err(|e| e.to_string())
}

async fn login(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let v: serde_json::Value = http
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({"email": "agent@demo.mpt-phone.test", "password": "demo-agent-pass"}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    v["access_token"].as_str().map(str::to_string).ok_or_else(|| format!("login failed: {v}"))
}

async fn bench_tokens(args: &Args, url: &str, http: &reqwest::Client) -> Result<(f64, Option<f64>), String> {
    let token = login(http, url).await?;
    let (h, u, t) = (http.clone(), format!("{url}/api/twilio/token"), token.clone());
    // Warm-up.
    hammer(args.concurrency, 1, move || {
        let (h, u, t) = (h.clone(), u.clone(), t.clone());
        async move { h.post(&u).bearer_auth(&t).send().await.map(|r| r.status().is_success()).unwrap_or(false) }
    })
    .await;
    let (h, u, t) = (http.clone(), format!("{url}/api/twilio/token"), token);
    let (n, ours) = hammer(args.concurrency, args.seconds, move || {
        let (h, u, t) = (h.clone(), u.clone(), t.clone());
        async move {
            match h.post(&u).bearer_auth(&t).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await;
    println!("token mints: ours {ours:.0}/s ({n} in {}s, concurrency {})", args.seconds, args.concurrency);
    if args.skip_node {
        return Ok((ours, None));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/node-token-server.mjs");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut child = Command::new("node")
        .arg(script)
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("node: {e}"))?;
    let stdout = child.stdout.take().ok_or("node stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| format!("node ready line {line:?}: {e}"))?;
    let node_url = format!("{}/token", v["url"].as_str().ok_or("node url")?);
    let (h, u) = (http.clone(), node_url.clone());
    hammer(args.concurrency, 1, move || {
        let (h, u) = (h.clone(), u.clone());
        async move { h.post(&u).send().await.map(|r| r.status().is_success()).unwrap_or(false) }
    })
    .await;
    let (h, u) = (http.clone(), node_url);
    let (n2, node) = hammer(args.concurrency, args.seconds, move || {
        let (h, u) = (h.clone(), u.clone());
        async move {
            match h.post(&u).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    println!("token mints: node (twilio + express) {node:.0}/s ({n2}); ratio {:.1}x (goal >= 10x)", ours / node);
    Ok((ours, Some(node)))
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

struct CallbackResult {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    sent: usize,
    lost: i64,
}

async fn bench_callbacks(args: &Args, state: &AppState, url: &str, http: &reqwest::Client) -> Result<CallbackResult, String> {
    let tenant = mpt_api_server::tenant::by_slug(state, "demo").await.map_err(|e| e.to_string())?.ok_or("demo tenant")?;
    let voice_url = format!("{url}/twilio/voice");
    let status_url = format!("{url}/twilio/status");
    // Create the calls (the browser legs) through the voice webhook.
    let mut parents = Vec::with_capacity(args.calls);
    for i in 0..args.calls {
        let sid = format!("CA{:032x}", 0xb000_0000u64 + i as u64);
        let f = form(&[
            ("AccountSid", &tenant.account_sid),
            ("CallSid", &sid),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("From", "client:demo-agent"),
            ("To", "+14155550142"),
        ]);
        let sig = mpt_twilio::signature::compute(&tenant.auth_token, &voice_url, &f);
        let r = http
            .post(&voice_url)
            .header("X-Twilio-Signature", sig)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(mpt_twilio::webhook::encode_form_body(&f))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("voice webhook {}", r.status()));
        }
        parents.push(sid);
    }
    // Four signed callbacks per call, sent in order per call, calls concurrently.
    let steps = [("initiated", "0", None), ("ringing", "1", None), ("in-progress", "2", None), ("completed", "3", Some("42"))];
    let mut bodies: Vec<Vec<(String, String)>> = Vec::new();
    for (i, parent) in parents.iter().enumerate() {
        let child = format!("CA{:032x}", 0xc000_0000u64 + i as u64);
        for (k, (st, seq, dur)) in steps.iter().enumerate() {
            let ts = mpt_twilio::time_fmt::format_rfc2822(1_795_428_000 + k as i64).map_err(|e| e.to_string())?;
            let mut f = form(&[
                ("AccountSid", &tenant.account_sid),
                ("CallSid", &child),
                ("ParentCallSid", parent),
                ("CallStatus", st),
                ("SequenceNumber", seq),
                ("Timestamp", &ts),
                ("Direction", "outbound-dial"),
            ]);
            if let Some(d) = dur {
                f.push(("CallDuration".into(), d.to_string()));
            }
            let sig = mpt_twilio::signature::compute(&tenant.auth_token, &status_url, &f);
            f.push(("__sig".into(), sig));
            bodies.push(f);
        }
    }
    let per_call: Vec<Vec<(String, String)>> = bodies;
    let chunks: Vec<Vec<Vec<(String, String)>>> = per_call.chunks(4).map(|c| c.to_vec()).collect();
    let queue = Arc::new(Mutex::new(chunks));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(args.calls * 4)));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) * 2 {
        let (queue, latencies, failures, http, status_url) = (queue.clone(), latencies.clone(), failures.clone(), http.clone(), status_url.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(call) = next else { return };
                for mut f in call {
                    let sig = f.pop().map(|(_, s)| s).unwrap_or_default();
                    let t0 = Instant::now();
                    let ok = http
                        .post(&status_url)
                        .header("X-Twilio-Signature", sig)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(mpt_twilio::webhook::encode_form_body(&f))
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false);
                    let ms = t0.elapsed().as_secs_f64() * 1000.0;
                    if ok {
                        if let Ok(mut l) = latencies.lock() {
                            l.push(ms);
                        }
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let sent = lat.len();
    use sqlx::Row;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM calls WHERE tenant_id = $1 AND status = 'completed' AND duration_s = 42")
        .bind(&tenant.id)
        .fetch_one(&state.db.pool)
        .await
        .map_err(|e| e.to_string())?;
    let completed: i64 = row.try_get("n").map_err(|e| e.to_string())?;
    let lost = args.calls as i64 - completed + failures.load(Ordering::Relaxed) as i64;
    let r = CallbackResult { rate: sent as f64 / elapsed, p50_ms: pct(&lat, 0.5), p99_ms: pct(&lat, 0.99), sent, lost };
    println!(
        "status callbacks ({}): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} sent, {} lost (goal >= 5000/s, p99 <= 25 ms, 0 lost)",
        match state.db.backend {
            mpt_api_server::db::Backend::Sqlite => "sqlite",
            mpt_api_server::db::Backend::Postgres => "postgres",
        },
        r.rate,
        r.p50_ms,
        r.p99_ms,
        r.sent,
        r.lost
    );
    Ok(r)
}

struct FanoutResult {
    agents: usize,
    events: usize,
    delivered: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn bench_fanout(args: &Args, state: &AppState, url: &str) -> Result<FanoutResult, String> {
    let tenant = mpt_api_server::tenant::by_slug(state, "demo").await.map_err(|e| e.to_string())?.ok_or("demo tenant")?;
    let mut tokens = Vec::with_capacity(args.agents);
    for i in 0..args.agents {
        let a = create(
            state,
            &tenant.id,
            &NewAgent { email: format!("fanout{i}@bench.test"), name: format!("Fan {i}"), password: None, role: Role::Agent, identity: None },
        )
        .await
        .map_err(|e| e.to_string())?;
        tokens.push(mpt_api_server::auth::mint_access(state, &a).map_err(|e| e.to_string())?);
    }
    let origin = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let delivered = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let events = 50usize;
    let ws_base = url.replace("http://", "ws://");
    let mut tasks = Vec::new();
    let connect_limit = Arc::new(tokio::sync::Semaphore::new(64));
    for t in tokens {
        let (latencies, delivered, ready, connect_limit) = (latencies.clone(), delivered.clone(), ready.clone(), connect_limit.clone());
        let u = format!("{ws_base}/api/events?token={t}");
        tasks.push(tokio::spawn(async move {
            let ws = {
                let _permit = connect_limit.acquire().await;
                tokio_tungstenite::connect_async(u).await
            };
            let Ok((mut ws, _)) = ws else {
                ready.add_permits(1);
                return;
            };
            let mut got = 0usize;
            let mut mine = Vec::with_capacity(events);
            while let Some(Ok(msg)) = ws.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = msg else { continue };
                let Ok(env) = serde_json::from_str::<mpt_core::api::EventEnvelope>(text.as_str()) else { continue };
                match env.event {
                    ServerEvent::Hello { .. } => ready.add_permits(1),
                    ServerEvent::Presence { agent_id, .. } => {
                        if let Some(ns) = agent_id.strip_prefix("bench-").and_then(|n| n.parse::<u64>().ok()) {
                            let now = origin.elapsed().as_nanos() as u64;
                            mine.push(now.saturating_sub(ns) as f64 / 1e6);
                            got += 1;
                            if got == events {
                                break;
                            }
                        }
                    }
                    _ => {}
                }
            }
            delivered.fetch_add(got as u64, Ordering::Relaxed);
            if let Ok(mut l) = latencies.lock() {
                l.extend(mine);
            }
        }));
    }
    let _all = ready.acquire_many(args.agents as u32).await.map_err(|e| e.to_string())?;
    println!("fan-out: {} sockets connected", state.metrics.ws_connections.load(Ordering::Relaxed));
    for _ in 0..events {
        let ns = origin.elapsed().as_nanos() as u64;
        let ev = ServerEvent::Presence { agent_id: format!("bench-{ns}"), available: true };
        state.hub.publish(&tenant.id, None, &ev).await.map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wait_all = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), wait_all).await;
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let r = FanoutResult {
        agents: args.agents,
        events,
        delivered: delivered.load(Ordering::Relaxed),
        p50_ms: pct(&lat, 0.5),
        p99_ms: pct(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
    };
    println!(
        "fan-out: {} agents x {} events: {} delivered, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 <= 50 ms)",
        r.agents, r.events, r.delivered, r.p50_ms, r.p99_ms, r.max_ms
    );
    Ok(r)
}

async fn run(args: Args) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("mpt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let server = start_server(&dir).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().map_err(|e| e.to_string())?;
    let url = server.url.clone();
    let state = server.state.clone();
    let (ours, node) = bench_tokens(&args, &url, &http).await?;
    let cb = bench_callbacks(&args, &state, &url, &http).await?;
    let fan = bench_fanout(&args, &state, &url).await?;
    let summary = serde_json::json!({
        "token_mints_per_sec": { "ours": ours, "node": node, "ratio": node.map(|n| ours / n) },
        "status_callbacks": { "per_sec": cb.rate, "p50_ms": cb.p50_ms, "p99_ms": cb.p99_ms, "sent": cb.sent, "lost": cb.lost },
        "fanout": { "agents": fan.agents, "events": fan.events, "delivered": fan.delivered, "p50_ms": fan.p50_ms, "p99_ms": fan.p99_ms, "max_ms": fan.max_ms },
    });
    println!("{summary}");
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
