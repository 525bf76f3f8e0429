//! One run as a short list of measured phases ([`run`]): start the servers and the
//! agents, mint tokens against the Node peer, send status callbacks and prove them
//! durable across a kill -9, fan an event out to every agent's socket, send callbacks
//! again with every socket connected, then report against the goals.

use crate::callbacks::{self, Call};
use crate::error::Result;
use crate::fanout::{self, Sockets};
use crate::setup::{self, Session};
use crate::stats::{self, Row, Summary};
use crate::{cpu, procs, tokens, Args, Plan};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs every phase; `Ok(false)` when the run is broken (not merely slow).
pub async fn run(args: Args) -> Result<bool> {
    let mut r = Run::start(&args).await?;
    let tokens = r.token_mints().await;
    let durable = r.status_callbacks().await?;
    let (mut sockets, fan) = r.fanout().await?;
    let live = r.callbacks_with_sockets(&mut sockets).await?;
    let (connected, connect_time) = (sockets.connected, sockets.connect_time);
    let closed = sockets.close().await;
    r.finish(&args, Outcomes { tokens, durable, fan, live, connected, connect_time, closed }).await
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
    fn problem(&mut self, what: &str, first: &Option<String>) {
        if let Some(p) = first {
            self.0.push(format!("{what}: {p}"));
        }
    }
}

/// The servers, the client and what the phases found so far.
struct Run {
    plan: Plan,
    me: Option<u32>,
    data: tempfile::TempDir,
    creds: setup::Creds,
    apisrv: setup::ApiServer,
    api: procs::Server,
    node: procs::Server,
    node_bearer: String,
    http: reqwest::Client,
    base: String,
    admin: Session,
    sessions: Vec<Session>,
    rows: Vec<Row>,
    broken: Broken,
    api_alive: bool,
}

struct Tokens {
    ours: Summary,
    node: Summary,
    ours_cpu: [cpu::Used; 2],
    node_cpu: [cpu::Used; 2],
}

struct Durable {
    status: Summary,
    check: callbacks::Check,
    unsent: usize,
}

struct Live {
    status: Summary,
    wanted: usize,
    delivery: fanout::Delivery,
}

struct Outcomes {
    tokens: Tokens,
    durable: Durable,
    fan: fanout::Outcome,
    live: Live,
    connected: usize,
    connect_time: Duration,
    closed: Vec<String>,
}

fn goal(line: String, met: bool) {
    if met {
        println!("{line}  ok");
    } else {
        println!("{line}  GOAL MISSED");
    }
}

fn add(acc: &mut [cpu::Used; 2], used: Vec<cpu::Used>) {
    for (a, b) in acc.iter_mut().zip(used) {
        a.secs += b.secs;
        a.wall += b.wall;
    }
}

impl Run {
    /// Set-up: the api-server (SQLite in a fresh data dir), the Node token server, and
    /// the agents (argon2id hashing on create and on sign-in: slow by design).
    async fn start(args: &Args) -> Result<Run> {
        let plan = Plan::new(args);
        let data = tempfile::Builder::new().prefix("mpt-loadgen-").tempdir()?;
        let data_dir = data.path().to_path_buf();
        println!("mpt-loadgen: {} mode; data in {}", if args.quick { "quick" } else { "full" }, data_dir.display());
        let creds = setup::Creds::random()?;
        let mut apisrv = setup::ApiServer::init(&args.server, &data_dir, &creds).await?;
        let api = apisrv.start().await?;
        println!("api-server: {} (SQLite in {})", api.url, data_dir.display());
        let node_bearer = mpt_twilio::sid::new_sid("nb")?;
        let mut node_cmd = tokio::process::Command::new(&args.node);
        node_cmd.arg(&args.node_script).env("BENCH_BEARER", &node_bearer);
        let node = procs::Server::start("node token server", node_cmd, &data_dir.join("node.stderr.log"), Duration::from_secs(30)).await?;
        println!("node token server: {}", node.url);
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(30)).no_proxy().build()?;
        let base = api.url.clone();
        let admin = setup::login(&http, &base, setup::ADMIN.0, setup::ADMIN.1).await?;
        let (sessions, took) = setup::agents(&http, &base, &admin, plan.agents, plan.agent_conc, Duration::from_secs(600)).await?;
        println!(
            "set-up: {} agents created (POST /api/admin/agents) and signed in (POST /api/auth/login) in {:.1} s",
            sessions.len(),
            took.as_secs_f64()
        );
        Ok(Run {
            plan,
            me: Some(std::process::id()),
            data,
            creds,
            apisrv,
            api,
            node,
            node_bearer,
            http,
            base,
            admin,
            sessions,
            rows: Vec::new(),
            broken: Broken::default(),
            api_alive: true,
        })
    }

    fn row(&mut self, bench: String, side: &str, s: Summary, show_rate: bool, used: Option<Vec<cpu::Used>>) {
        let (server_cpu, loadgen_cpu) = match used {
            Some(u) => (u.first().copied(), u.get(1).copied()),
            None => (None, None),
        };
        self.rows.push(Row { bench, side: side.into(), s, show_rate, server_cpu, loadgen_cpu });
    }

    /// Phase 1, token mints, interleaved rounds: node, ours, node, ours…
    async fn token_mints(&mut self) -> Tokens {
        let p = &self.plan;
        let ours_url = format!("{}/api/twilio/token", self.base);
        let node_url = format!("{}/token", self.node.url);
        let ours_bearers = Arc::new(self.sessions.iter().take(p.token_conc).map(|s| s.access.clone()).collect::<Vec<_>>());
        let node_bearers = Arc::new(vec![self.node_bearer.clone()]);
        let _ = tokens::hammer(&self.http, &node_url, node_bearers.clone(), p.token_warmup, p.token_conc, p.token_time).await;
        let _ = tokens::hammer(&self.http, &ours_url, ours_bearers.clone(), p.token_warmup, p.token_conc, p.token_time).await;
        let (mut ours_parts, mut node_parts) = (Vec::new(), Vec::new());
        let (mut ours_cpu, mut node_cpu) = ([cpu::Used::default(); 2], [cpu::Used::default(); 2]);
        for _ in 0..p.token_rounds {
            let probe = cpu::Probe::start(&[self.node.pid(), self.me]);
            let n = tokens::hammer(&self.http, &node_url, node_bearers.clone(), p.token_requests, p.token_conc, p.token_time).await;
            add(&mut node_cpu, probe.stop());
            self.broken.problem("node token server", &n.first_problem);
            node_parts.push(n.summary);
            let probe = cpu::Probe::start(&[self.api.pid(), self.me]);
            let o = tokens::hammer(&self.http, &ours_url, ours_bearers.clone(), p.token_requests, p.token_conc, p.token_time).await;
            add(&mut ours_cpu, probe.stop());
            self.broken.problem("api-server tokens", &o.first_problem);
            ours_parts.push(o.summary);
        }
        let (ours, node) = (combine(&ours_parts), combine(&node_parts));
        let bench = format!("token mints (c={}, {} round(s))", p.token_conc, p.token_rounds);
        self.row(bench.clone(), "mpt-api-server", ours.clone(), true, Some(ours_cpu.to_vec()));
        self.row(bench, "node express+twilio", node.clone(), true, Some(node_cpu.to_vec()));
        Tokens { ours, node, ours_cpu, node_cpu }
    }

    /// Sends the voice webhook (call set-up), then the 4 status callbacks, of `calls`;
    /// returns the status phase's outcome and the calls set up. With `sockets`, the
    /// set-up's events are drained before the status phase is measured.
    async fn callbacks(&mut self, calls: &Arc<Vec<Call>>, mut sockets: Option<&mut Sockets>) -> (callbacks::Outcome, Vec<usize>) {
        let label = if sockets.is_some() { " (sockets connected)" } else { "" };
        let (conc, time) = (self.plan.callback_conc, self.plan.callback_time);
        let all: Arc<Vec<usize>> = Arc::new((0..calls.len()).collect());
        let probe = cpu::Probe::start(&[self.api.pid(), self.me]);
        let voice = callbacks::send(&self.http, &self.base, calls.clone(), all, callbacks::Phase::Voice, conc, time).await;
        let used = probe.stop();
        self.broken.problem(&format!("voice webhooks{label}"), &voice.first_problem);
        let failed = voice.summary.bad_status + voice.summary.errors;
        self.broken.check(failed > 0, format!("{failed} voice webhooks failed{label}"));
        match sockets.as_deref_mut() {
            None => self.row(format!("voice webhook (call set-up, c={conc})"), "mpt-api-server", voice.summary.clone(), true, Some(used)),
            Some(s) => {
                let _ = s.completed(&HashMap::new(), Duration::from_millis(500)).await;
            }
        }
        let probe = cpu::Probe::start(&[self.api.pid(), self.me]);
        let status =
            callbacks::send(&self.http, &self.base, calls.clone(), Arc::new(voice.done.clone()), callbacks::Phase::Status, conc, time)
                .await;
        let used = probe.stop();
        self.broken.problem(&format!("status callbacks{label}"), &status.first_problem);
        let failed = status.summary.bad_status + status.summary.errors;
        self.broken.check(failed > 0, format!("{failed} status callbacks failed{label}"));
        let bench = match &sockets {
            None => format!("status callbacks (SQLite, c={conc})"),
            Some(s) => format!("status callbacks, {} sockets (c={conc})", s.connected),
        };
        self.row(bench, "mpt-api-server", status.summary.clone(), true, Some(used));
        (status, voice.done)
    }

    /// Phase 2, status callbacks, then durability: kill the server (SIGKILL, no shutdown)
    /// right after the last acknowledged callback, restart it on the same database, and
    /// read the logs back.
    async fn status_callbacks(&mut self) -> Result<Durable> {
        let calls = Arc::new(callbacks::plan(&self.base, &self.creds, &self.sessions, self.plan.calls)?);
        let (status, set_up) = self.callbacks(&calls, None).await;
        self.api_alive &= self.api.alive();
        let killed = std::mem::replace(&mut self.api, self.apisrv.start().await?);
        killed.stop().await;
        self.base = self.api.url.clone();
        println!("api-server killed (SIGKILL) after the last acknowledged callback and restarted: {}", self.base);
        let check = callbacks::verify(&self.http, &self.base, &self.admin.access, &calls, &status.done, Duration::from_secs(120)).await?;
        let lost = check.missing + check.wrong;
        self.broken.check(lost > 0, format!("{lost} calls lost or wrong after their callbacks were acknowledged"));
        Ok(Durable { unsent: set_up.len().saturating_sub(status.done.len()), status: status.summary, check })
    }

    /// Phase 3, WebSocket fan-out: a tenant-wide event (presence) to every agent.
    async fn fanout(&mut self) -> Result<(Sockets, fanout::Outcome)> {
        let probe = cpu::Probe::start(&[self.api.pid(), self.me]);
        let mut sockets = fanout::connect(&self.http, &self.base, &self.sessions).await?;
        let fan = sockets.presence(&self.http, &self.base, &self.sessions, self.plan.fanout_rounds, Duration::from_secs(5)).await?;
        let used = probe.stop();
        self.row(
            format!("ws fan-out ({} agents, {} rounds)", sockets.connected, fan.rounds),
            "mpt-api-server",
            fan.summary.clone(),
            false,
            Some(used),
        );
        self.broken.check(fan.missed > 0, format!("{} fan-out deliveries missed", fan.missed));
        Ok((sockets, fan))
    }

    /// Phase 4, status callbacks while every agent is connected: throughput next to
    /// phase 2, and delivery of each call's `call_status: completed` to its own agent.
    async fn callbacks_with_sockets(&mut self, sockets: &mut Sockets) -> Result<Live> {
        let calls = Arc::new(callbacks::plan(&self.base, &self.creds, &self.sessions, self.plan.live_calls)?);
        let (status, _) = self.callbacks(&calls, Some(&mut *sockets)).await;
        let want: HashMap<String, (usize, Instant)> = status
            .completed_sent
            .iter()
            .filter(|(i, _)| status.done.binary_search(i).is_ok())
            .map(|&(i, at)| (calls[i].parent.clone(), (calls[i].agent_idx, at)))
            .collect();
        let delivery = sockets.completed(&want, Duration::from_secs(10)).await;
        self.row(
            "  → completed event to its agent".into(),
            "mpt-api-server",
            Summary::new(delivery.lat.clone(), 0, 0, Duration::ZERO),
            false,
            None,
        );
        self.broken.check(delivery.missing > 0, format!("{} calls' completed events never reached their agent", delivery.missing));
        self.broken.check(delivery.leaked > 0, format!("{} call events reached another agent's socket", delivery.leaked));
        Ok(Live { status: status.summary, wanted: want.len(), delivery })
    }

    /// Stops the servers and prints the table, the goals and what broke.
    async fn finish(mut self, args: &Args, o: Outcomes) -> Result<bool> {
        let api_alive = self.api_alive && self.api.alive();
        let node_alive = self.node.alive();
        self.node.stop().await;
        self.api.stop().await;
        stats::print_table(&self.rows);
        report(&o, self.plan.callback_time);
        self.broken.check(
            !o.closed.is_empty(),
            format!("{} sockets ended early: {:?}", o.closed.len(), o.closed.iter().take(3).collect::<Vec<_>>()),
        );
        self.broken.check(!api_alive, "the api-server exited by itself during the run".into());
        self.broken.check(!node_alive, "the node token server exited during the run".into());
        for log in self.apisrv.logs() {
            crate::report_server_log(&log);
        }
        if args.keep_data {
            let kept = self.data.keep();
            println!("data kept in {}", kept.display());
        }
        if self.broken.0.is_empty() {
            println!("run: ok");
            return Ok(true);
        }
        for b in &self.broken.0 {
            println!("BROKEN RUN: {b}");
        }
        Ok(false)
    }
}

/// The goals and the detail lines under the table.
fn report(o: &Outcomes, callback_time: Duration) {
    let t = &o.tokens;
    let ratio = if t.node.rate() > 0.0 { t.ours.rate() / t.node.rate() } else { f64::INFINITY };
    goal(
        format!(
            "token mints/s: mpt-api-server {:.0} vs node express+twilio {:.0} → ratio {ratio:.1}× (goal ≥ 10×)",
            t.ours.rate(),
            t.node.rate()
        ),
        ratio >= 10.0,
    );
    let (ours_us, node_us) = (t.ours_cpu[0].us_per(t.ours.ok), t.node_cpu[0].us_per(t.node.ok));
    println!(
        "  server CPU per mint: mpt-api-server {ours_us:.0} µs vs node {node_us:.0} µs → {:.1}× less CPU (less sensitive to the shared machine)",
        node_us / ours_us
    );
    println!("  per request — mpt-api-server: verify access JWT (HS256) + live-session check (cached) + tenant lookup (cached) + entitlement check (cached) + mint Voice JWT (HS256) + JSON; node: constant-time bearer compare + AccessToken/VoiceGrant toJwt + JSON");
    let d = &o.durable;
    goal(format!("status callbacks/s: {:.0} (goal ≥ 5000)", d.status.rate()), d.status.rate() >= 5000.0);
    println!(
        "  callbacks: 4 per call (initiated, ringing, in-progress, completed), signed, form-encoded, one call's callbacks sequential; 1 call in {} out of order, 1 in {} with a repeated completed",
        callbacks::OUT_OF_ORDER_EVERY,
        callbacks::DUPLICATE_EVERY
    );
    goal(
        format!("status callback latency: p50 {:.2} ms, p99 {:.2} ms (goal p99 ≤ 25 ms)", d.status.p50_ms, d.status.p99_ms),
        d.status.p99_ms <= 25.0,
    );
    let lost = d.check.missing + d.check.wrong;
    goal(
        format!(
            "status callbacks lost: {lost} of {} calls checked after kill -9 + restart ({} callbacks acknowledged; {} call logs listed; goal 0)",
            d.check.checked, d.status.ok, d.check.listed
        ),
        lost == 0,
    );
    let f = &o.fan;
    goal(
        format!(
            "ws fan-out: {} sockets, {} rounds, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 ≤ 50 ms)",
            o.connected, f.rounds, f.summary.p50_ms, f.summary.p99_ms, f.summary.max_ms
        ),
        f.summary.p99_ms <= 50.0,
    );
    println!(
        "  fan-out detail: {} sockets connected in {:.1} s (each with a single-use ticket); trigger PUT /api/me/presence p50 {:.2} ms; deliveries missed {}",
        o.connected,
        o.connect_time.as_secs_f64(),
        f.trigger_p50_ms,
        f.missed
    );
    let l = &o.live;
    let delivered = Summary::new(l.delivery.lat.clone(), 0, 0, Duration::ZERO);
    println!(
        "  with {} sockets connected: {:.0} callbacks/s (vs {:.0} without), p99 {:.2} ms; completed events delivered to their agent {} of {}, p99 {:.2} ms after the callback was sent; to another agent: {}",
        o.connected,
        l.status.rate(),
        d.status.rate(),
        l.status.p99_ms,
        l.delivery.lat.len(),
        l.wanted,
        delivered.p99_ms,
        l.delivery.leaked
    );
    if d.unsent > 0 {
        println!("  note: {} calls did not get all their callbacks sent (time limit {callback_time:?} or a failed callback)", d.unsent);
    }
    for e in &d.check.examples {
        println!("  lost/wrong: {e}");
    }
}

/// Rounds combined: rate over all rounds = total ok / total time; latencies cannot be
/// merged from summaries, so the worst round's percentiles are reported.
fn combine(parts: &[Summary]) -> Summary {
    let worst = |f: fn(&Summary) -> f64| parts.iter().map(f).fold(f64::NAN, f64::max);
    Summary {
        ok: parts.iter().map(|p| p.ok).sum(),
        bad_status: parts.iter().map(|p| p.bad_status).sum(),
        errors: parts.iter().map(|p| p.errors).sum(),
        elapsed: parts.iter().map(|p| p.elapsed).sum(),
        p50_ms: worst(|p| p.p50_ms),
        p99_ms: worst(|p| p.p99_ms),
        max_ms: worst(|p| p.max_ms),
    }
}
