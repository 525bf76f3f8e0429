//! `spawn_app()`: a fresh database (SQLite in a temp dir, or a fresh PostgreSQL
//! database when `MPT_TEST_DATABASE_URL` is set) and the real server on 127.0.0.1:0,
//! with typed request helpers.

use mpt_api_server::auth::PasswordParams;
use mpt_api_server::{Config, Server};
use mpt_core::api::{AuthResponse, EventEnvelope};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;

/// A running test server.
pub struct TestApp {
    pub url: String,
    pub server: Server,
    pub http: reqwest::Client,
    pub backend: &'static str,
    /// (admin URL, database name) of a PostgreSQL test database, dropped on stop.
    pg: Option<(String, String)>,
    pub dir: tempfile::TempDir,
}

pub type Resp = (StatusCode, serde_json::Value);

fn cheap() -> PasswordParams {
    PasswordParams { m_kib: 256, t: 1 }
}

/// SQLite-backed app.
pub async fn spawn_app() -> TestApp {
    spawn(None, "sqlite").await
}

/// PostgreSQL-backed app on a fresh database, when `MPT_TEST_DATABASE_URL` is set.
pub async fn spawn_app_pg() -> Option<TestApp> {
    let base = std::env::var("MPT_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())?;
    let (url, name) = fresh_pg_database(&base).await;
    let mut app = spawn(Some(url), "postgres").await;
    app.pg = Some((base, name));
    Some(app)
}

async fn fresh_pg_database(base: &str) -> (String, String) {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = format!("mpt_test_{}", mpt_api_server::crypto::new_id(""));
    let pool = sqlx::AnyPool::connect(base).await.expect("connect to MPT_TEST_DATABASE_URL");
    pool.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
    pool.close().await;
    // Replace the database name (the last path segment) in the URL.
    let (head, tail) = base.rsplit_once('/').expect("database URL has a path");
    let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    (format!("{head}/{name}{query}"), name)
}

/// An app with an adjusted configuration: SQLite, or (`postgres`) a fresh PostgreSQL
/// database when `MPT_TEST_DATABASE_URL` is set (else `None`).
pub async fn spawn_app_with(postgres: bool, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
    if !postgres {
        return Some(spawn_configured(None, "sqlite", configure).await);
    }
    let base = std::env::var("MPT_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())?;
    let (url, name) = fresh_pg_database(&base).await;
    let mut app = spawn_configured(Some(url), "postgres", configure).await;
    app.pg = Some((base, name));
    Some(app)
}

async fn spawn(database_url: Option<String>, backend: &'static str) -> TestApp {
    spawn_configured(database_url, backend, |_| {}).await
}

async fn spawn_configured(database_url: Option<String>, backend: &'static str, configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::for_tests(dir.path().to_path_buf(), database_url);
    configure(&mut cfg);
    let server = mpt_api_server::http::serve_with(cfg, cheap()).await.expect("server starts");
    let http = reqwest::Client::builder().build().expect("client");
    TestApp { url: server.url.clone(), server, http, backend, pg: None, dir }
}

impl TestApp {
    /// A second server process-equivalent on the same database and master key.
    pub async fn sibling(&self) -> Server {
        let url = self.server.state.db.url.clone();
        let cfg = Config::for_tests(self.dir.path().to_path_buf(), Some(url));
        mpt_api_server::http::serve_with(cfg, cheap()).await.expect("sibling starts")
    }

    pub async fn stop(self) {
        let pool = self.server.state.db.pool.clone();
        self.server.shutdown().await;
        pool.close().await;
        if let Some((base, name)) = self.pg {
            use sqlx::Executor;
            if let Ok(admin) = sqlx::AnyPool::connect(&base).await {
                let _ = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                admin.close().await;
            }
        }
    }

    pub fn state(&self) -> &mpt_api_server::AppState {
        &self.server.state
    }

    pub async fn request<B: Serialize>(&self, method: Method, path: &str, token: Option<&str>, body: Option<&B>) -> Resp {
        let mut req = self.http.request(method, format!("{}{}", self.url, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request::<()>(Method::GET, path, Some(token), None).await
    }

    pub async fn post<B: Serialize>(&self, path: &str, token: Option<&str>, body: &B) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> AuthResponse {
        let (status, body) = self.post("/api/auth/login", None, &serde_json::json!({"email": email, "password": password})).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        parse(body)
    }

    pub async fn demo_agent(&self) -> AuthResponse {
        self.login("agent@demo.mpt-phone.test", "demo-agent-pass").await
    }

    pub async fn demo_admin(&self) -> AuthResponse {
        self.login("admin@demo.mpt-phone.test", "demo-admin-pass").await
    }

    /// The demo tenant (with its secrets), loaded through the library.
    pub async fn demo_tenant(&self) -> Arc<mpt_api_server::tenant::Tenant> {
        mpt_api_server::tenant::by_slug(self.state(), "demo").await.expect("load").expect("demo tenant")
    }

    /// POSTs a Twilio webhook signed with `auth_token` for URL `self.url + path`.
    pub async fn twilio(&self, path: &str, auth_token: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let sig = mpt_twilio::signature::compute(auth_token, &format!("{}{}", self.url, path), &pairs);
        self.twilio_raw(path, Some(&sig), &pairs).await
    }

    pub async fn twilio_raw(&self, path: &str, sig: Option<&str>, pairs: &[(String, String)]) -> (StatusCode, String) {
        let body = mpt_twilio::webhook::encode_form_body(pairs);
        let mut req =
            self.http.post(format!("{}{}", self.url, path)).header("content-type", "application/x-www-form-urlencoded").body(body);
        if let Some(s) = sig {
            req = req.header("X-Twilio-Signature", s);
        }
        let resp = req.send().await.expect("request");
        (resp.status(), resp.text().await.expect("body"))
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}")).fetch_one(&self.state().db.pool).await.expect("count");
        row.try_get::<i64, _>("n").expect("n")
    }

    /// Mints a single-use event-socket ticket with a bearer credential.
    pub async fn ticket(&self, token: &str) -> String {
        let (status, body) = self.post("/api/events/ticket", Some(token), &serde_json::json!({})).await;
        assert_eq!(status, StatusCode::OK, "ticket: {body}");
        body["ticket"].as_str().expect("ticket").to_string()
    }

    /// Opens the socket with a ticket; the handshake's HTTP status when refused.
    pub async fn ws_with_ticket(&self, ticket: &str, last_event_id: Option<u64>) -> Result<Ws, u16> {
        let mut url = format!("{}/api/events?ticket={}", self.url.replace("http://", "ws://"), ticket);
        if let Some(id) = last_event_id {
            url.push_str(&format!("&last_event_id={id}"));
        }
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => Ok(Ws { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("ws connect: {e}"),
        }
    }

    /// Opens the live-events socket (mints a ticket with `token` first).
    pub async fn ws(&self, token: &str, last_event_id: Option<u64>) -> Ws {
        let ticket = self.ticket(token).await;
        self.ws_with_ticket(&ticket, last_event_id).await.expect("ws connect")
    }
}

pub struct Ws {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Ws {
    /// Wraps a socket connected by hand (a test that must see exactly when it opened).
    pub fn from_stream(ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>) -> Ws {
        Ws { ws }
    }

    /// Next event frame (heartbeats skipped), within `secs`.
    pub async fn next(&mut self, secs: u64) -> Option<EventEnvelope> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()??.ok()?;
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                let env: EventEnvelope = serde_json::from_str(t.as_str()).expect("event frame");
                if !matches!(env.event, mpt_core::api::ServerEvent::Heartbeat { .. }) {
                    return Some(env);
                }
            }
        }
    }

    /// Waits for an event matching `pred` (others are skipped).
    pub async fn until(&mut self, secs: u64, mut pred: impl FnMut(&EventEnvelope) -> bool) -> EventEnvelope {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).as_secs().max(1);
            let ev = self.next(left).await.expect("expected event did not arrive");
            if pred(&ev) {
                return ev;
            }
        }
    }

    /// Waits until the sandbox rings an agent's client for the inbound call `sid`: before that,
    /// as for a Device that has not rung, there is nothing to answer or reject (409).
    pub async fn until_client_rings(&mut self, secs: u64, sid: &str) -> EventEnvelope {
        self.until(secs, |e| {
            matches!(&e.event, mpt_core::api::ServerEvent::SandboxCall { kind, call_sid, parent_call_sid, .. }
                if kind == "client_ringing" && (call_sid == sid || parent_call_sid.as_deref() == Some(sid)))
        })
        .await
    }

    pub async fn send_text(&mut self, s: &str) {
        use futures_util::SinkExt;
        self.ws.send(tokio_tungstenite::tungstenite::Message::Text(s.into())).await.expect("send");
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Waits (up to `secs`) for the server to close the socket; its close code.
    pub async fn closed(&mut self, secs: u64) -> Option<u16> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => return Some(frame.map(|f| u16::from(f.code)).unwrap_or(1005)),
                Ok(None) | Ok(Some(Err(_))) => return Some(1006),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

pub fn parse<T: DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("unexpected body {v}: {e}"))
}

/// Polls `f` until it returns Some, for up to `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "condition not reached within {secs}s");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Writes a line to the real stderr (not captured by the test harness), so the output
/// always says which backends ran.
pub fn announce(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Runs a test body against SQLite, and against PostgreSQL when configured.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::spawn_app().await;
                    super::$name(&app).await;
                    $crate::helpers::announce(&format!("backend {}: ran {}", app.backend, stringify!($name)));
                    app.stop().await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::helpers::spawn_app_pg().await {
                        Some(app) => {
                            super::$name(&app).await;
                            $crate::helpers::announce(&format!("backend {}: ran {}", app.backend, stringify!($name)));
                            app.stop().await;
                        }
                        None => $crate::helpers::announce(&format!("backend postgres: NOT RUN for {} (MPT_TEST_DATABASE_URL unset)", stringify!($name))),
                    }
                }
            }
        )*
    };
}
