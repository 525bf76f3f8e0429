//! Sets up the api-server as an operator would: a tenant with known Twilio
//! credentials and an admin (CLI), then `serve`; agents through the admin API;
//! sessions through `POST /api/auth/login`.

use crate::error::{LoadError, Result};
use crate::procs::{run_cli, Server};
use base64::Engine;
use mpt_core::api::{AuthResponse, LoginRequest};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tenant slug used by the bench.
pub const TENANT: &str = "bench";
/// Caller ID configured for the tenant.
pub const CALLER_ID: &str = "+14155550100";
/// Admin sign-in.
pub const ADMIN: (&str, &str) = ("admin@bench.mpt-phone.test", "bench-admin-password");
const AGENT_PASSWORD: &str = "bench-agent-password";

/// The tenant's Twilio credentials (known to the load generator, which plays Twilio).
#[derive(Debug, Clone)]
pub struct Creds {
    /// `AC…`.
    pub account_sid: String,
    /// Auth token (signs webhooks).
    pub auth_token: String,
    /// `SK…`.
    pub api_key_sid: String,
    /// API key secret.
    pub api_key_secret: String,
    /// `AP…`.
    pub twiml_app_sid: String,
}

impl Creds {
    /// Fresh random credentials.
    pub fn random() -> Result<Creds> {
        use mpt_twilio::sid::new_sid;
        Ok(Creds {
            account_sid: new_sid("AC")?,
            auth_token: new_sid("")?,
            api_key_sid: new_sid("SK")?,
            api_key_secret: new_sid("")?,
            twiml_app_sid: new_sid("AP")?,
        })
    }
}

/// A signed-in agent.
#[derive(Debug, Clone)]
pub struct Session {
    /// Agent id.
    pub agent_id: String,
    /// Twilio client identity.
    pub identity: String,
    /// Access token (Bearer).
    pub access: String,
}

fn master_key() -> Result<String> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| LoadError::Setup(format!("random: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(k))
}

/// How to run the api-server: binary, data dir and environment (the same master key
/// for every start, so data and sessions survive a restart).
pub struct ApiServer {
    server: PathBuf,
    data_dir: PathBuf,
    envs: Vec<(&'static str, String)>,
    starts: usize,
}

impl ApiServer {
    /// Creates the tenant (known Twilio credentials) and an admin with the CLI in `data_dir`.
    pub async fn init(server: &Path, data_dir: &Path, creds: &Creds) -> Result<ApiServer> {
        let envs = vec![
            ("MPT_DATA_DIR", data_dir.display().to_string()),
            ("MPT_MASTER_KEY", master_key()?),
            ("MPT_LOG", "warn".to_string()),
            // The limits protect sign-in and token endpoints from abuse; a benchmark
            // from one address would trip them immediately.
            ("MPT_LOGIN_RATE_PER_MIN", "0".to_string()),
            ("MPT_TOKEN_RATE_PER_MIN", "0".to_string()),
            // Every simulated call is the demo agent's: no per-agent dial limit here.
            ("MPT_DIAL_RATE_PER_MIN", "0".to_string()),
            ("MPT_BIND", "127.0.0.1:0".to_string()),
        ];
        let cli_timeout = Duration::from_secs(60);
        run_cli(
            server,
            &[
                "tenant",
                "create",
                "--slug",
                TENANT,
                "--name",
                "Bench",
                "--account-sid",
                &creds.account_sid,
                "--auth-token",
                &creds.auth_token,
                "--api-key-sid",
                &creds.api_key_sid,
                "--api-key-secret",
                &creds.api_key_secret,
                "--twiml-app-sid",
                &creds.twiml_app_sid,
                "--caller-id",
                CALLER_ID,
            ],
            &envs,
            cli_timeout,
        )
        .await?;
        run_cli(
            server,
            &["agent", "create", "--tenant", TENANT, "--email", ADMIN.0, "--name", "Bench Admin", "--password", ADMIN.1, "--admin"],
            &envs,
            cli_timeout,
        )
        .await?;
        Ok(ApiServer { server: server.to_path_buf(), data_dir: data_dir.to_path_buf(), envs, starts: 0 })
    }

    /// Starts `serve` (on a new port each time) and waits for its ready line.
    pub async fn start(&mut self) -> Result<Server> {
        let mut cmd = tokio::process::Command::new(&self.server);
        cmd.arg("serve");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        self.starts += 1;
        let log = self.data_dir.join(format!("server.{}.stderr.log", self.starts));
        Server::start("mpt-api-server", cmd, &log, Duration::from_secs(60)).await
    }

    /// The stderr logs of every start so far.
    pub fn logs(&self) -> Vec<PathBuf> {
        (1..=self.starts).map(|i| self.data_dir.join(format!("server.{i}.stderr.log"))).collect()
    }
}

/// Signs in.
pub async fn login(http: &reqwest::Client, base: &str, email: &str, password: &str) -> Result<Session> {
    let req = LoginRequest { email: email.into(), password: password.into(), tenant: Some(TENANT.into()) };
    let resp = http.post(format!("{base}/api/auth/login")).json(&req).send().await?;
    if !resp.status().is_success() {
        return Err(LoadError::Setup(format!("login {email}: HTTP {}", resp.status())));
    }
    let a: AuthResponse = resp.json().await?;
    Ok(Session { agent_id: a.agent.id, identity: a.agent.identity, access: a.access_token })
}

/// Creates `n` agents through `POST /api/admin/agents` and signs each in, `conc` at a
/// time, stopping at `deadline`. Returns the sessions and the time it took.
pub async fn agents(
    http: &reqwest::Client,
    base: &str,
    admin: &Session,
    n: usize,
    conc: usize,
    deadline: Duration,
) -> Result<(Vec<Session>, Duration)> {
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc.max(1) {
        let (http, base, admin, next) = (http.clone(), base.to_string(), admin.access.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || start.elapsed() > deadline {
                    return Ok::<_, LoadError>(out);
                }
                let email = format!("agent{i:05}@bench.mpt-phone.test");
                let body = serde_json::json!({ "email": email, "name": format!("Bench Agent {i}"), "password": AGENT_PASSWORD });
                let resp = http.post(format!("{base}/api/admin/agents")).bearer_auth(&admin).json(&body).send().await?;
                if resp.status().as_u16() != 201 {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    return Err(LoadError::Setup(format!("create agent {i}: HTTP {status}: {text}")));
                }
                out.push((i, login(&http, &base, &email, AGENT_PASSWORD).await?));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.map_err(|e| LoadError::Setup(format!("agent task: {e}")))??);
    }
    if all.len() < n {
        return Err(LoadError::Setup(format!("only {} of {n} agents ready within {deadline:?}", all.len())));
    }
    all.sort_by_key(|(i, _)| *i);
    Ok((all.into_iter().map(|(_, s)| s).collect(), start.elapsed()))
}
