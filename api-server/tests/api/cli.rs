//! The real binary: `serve --demo` prints its ready line, serves, and shuts down
//! gracefully on SIGTERM (open sockets get a close frame).

use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_ready_line_and_drains_on_sigterm() {
    let demo = start_demo(&[]);
    let (mut child, url, dir) = (demo.child, demo.url, demo.dir);
    let demo_line = demo.before.iter().find(|v| v["event"] == "demo").expect("demo credentials printed before the ready line");
    assert_eq!(demo_line["agent"]["email"], "agent@demo.mpt-phone.test");
    assert!(demo.before.iter().all(|v| v["event"] == "demo"), "{:?}", demo.before);
    assert!(url.starts_with("http://127.0.0.1:"));
    assert!(dir.path().join("master.key").exists(), "demo master key persisted");
    let http = reqwest::Client::new();
    assert!(http.get(format!("{url}/readyz")).send().await.expect("readyz").status().is_success());
    let login: serde_json::Value = http
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({"email": "agent@demo.mpt-phone.test", "password": "demo-agent-pass"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token");
    let ticket: serde_json::Value =
        http.post(format!("{url}/api/events/ticket")).bearer_auth(token).send().await.expect("ticket").json().await.expect("json");
    let ticket = ticket["ticket"].as_str().expect("ticket");
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/api/events?ticket={ticket}", url.replace("http://", "ws://"))).await.expect("ws");
    ws.next().await.expect("hello frame").expect("ok");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(msg) = ws.next().await {
            match msg {
                // 1012: the server restarts; clients reconnect with backoff.
                Ok(tokio_tungstenite::tungstenite::Message::Close(frame)) => {
                    return frame.is_some_and(|f| u16::from(f.code) == mpt_core::api::CLOSE_SERVER_RESTART)
                }
                Err(_) => return false,
                Ok(_) => {}
            }
        }
        false
    })
    .await
    .expect("socket closed on shutdown");
    assert!(closed, "the socket is closed with 1012 (server restart)");
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(exit.success(), "{exit:?}");
}

/// `serve --demo` has public passwords and a generated key: it refuses to listen beyond
/// loopback, and to run against a shared PostgreSQL database.
#[test]
fn demo_refuses_public_binds_and_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |bind: &str, database_url: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpt-api-server"));
        cmd.args(["serve", "--demo"])
            .env("MPT_BIND", bind)
            .env("MPT_DATA_DIR", dir.path())
            .env_remove("MPT_MASTER_KEY")
            .env_remove("MPT_MASTER_KEY_FILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match database_url {
            Some(u) => cmd.env("DATABASE_URL", u),
            None => cmd.env_remove("DATABASE_URL"),
        };
        let out = cmd.output().expect("run server");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    for bind in ["0.0.0.0:0", "[::]:0"] {
        let (ok, stdout, stderr) = run(bind, None);
        assert!(!ok, "--demo on {bind} must refuse to start");
        assert!(!stdout.contains("listening"), "{stdout}");
        assert!(stderr.contains("loopback"), "{stderr}");
    }
    let (ok, stdout, stderr) = run("127.0.0.1:0", Some("postgres://nobody@127.0.0.1:1/none"));
    assert!(!ok && !stdout.contains("listening"), "{stdout}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
}

/// A ring time Twilio would refuse (or not a number) stops the server at start, naming
/// the variable, instead of every inbound call failing later.
#[test]
fn a_bad_ring_time_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["3", "601", "soon"] {
        let out = Command::new(env!("CARGO_BIN_EXE_mpt-api-server"))
            .args(["serve", "--demo"])
            .env("MPT_BIND", "127.0.0.1:0")
            .env("MPT_DATA_DIR", dir.path())
            .env("MPT_RING_SECS", bad)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .expect("run server");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success() && !stdout.contains("listening"), "{bad}: {stdout}");
        assert!(stderr.contains("MPT_RING_SECS"), "{bad}: {stderr}");
    }
}

/// A `serve --demo` process on a random port.
struct Demo {
    child: std::process::Child,
    url: String,
    dir: tempfile::TempDir,
    /// The JSON lines printed before the ready line.
    before: Vec<serde_json::Value>,
    /// Its stderr lines (JSON logs).
    logs: std::sync::mpsc::Receiver<String>,
    /// Its standard input (closing it ends a server started with `--exit-with-stdin`).
    stdin: Option<std::process::ChildStdin>,
}

/// Starts `serve --demo` on a random port with extra environment, and waits for its
/// `listening` line.
fn start_demo(env: &[(&str, &str)]) -> Demo {
    start_demo_with(&[], env)
}

/// [`start_demo`] with extra `serve` flags.
fn start_demo_with(flags: &[&str], env: &[(&str, &str)]) -> Demo {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpt-api-server"));
    cmd.args(["serve", "--demo"])
        .args(flags)
        .stdin(Stdio::piped())
        .env("MPT_BIND", "127.0.0.1:0")
        .env("MPT_DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("MPT_MASTER_KEY")
        .env_remove("MPT_MASTER_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Every caller kills and waits for the child it gets back.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.spawn().expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let stdin = child.stdin.take();
    let (tx, logs) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut before = Vec::new();
    loop {
        let line = lines.recv_timeout(std::time::Duration::from_secs(60)).expect("ready line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        if v["event"] == "listening" {
            let url = v["url"].as_str().expect("url").to_string();
            return Demo { child, url, dir, before, logs, stdin };
        }
        before.push(v);
    }
}

/// A sign-in that was refused: a 4xx, or (for a body over the limit, answered 413 before
/// it was read) the connection closed under a request still being sent.
fn refused(result: Result<reqwest::StatusCode, reqwest::Error>) {
    match result {
        Ok(status) => assert!(status.is_client_error(), "{status}"),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).expect("value").parse().expect("kib")
}

/// Thousands of sign-ins with 100 KB emails and with distinct long ones all get 4xx, and
/// the server's resident memory stays bounded: the second two thousand add nothing to
/// what the first two thousand left. Before: 600 sign-ins with 100 KB emails grew it by
/// 190–250 MB (bodies up to 2 MB, every `ip|email` kept by the limiter, every password
/// check free to leave its 19 MiB on another blocking thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_sign_ins_leave_memory_bounded() {
    // `_dir` keeps the data directory until the end of the test.
    let Demo { mut child, url, dir: _dir, .. } = start_demo(&[("MPT_LOG", "warn")]);
    let http = reqwest::Client::new();
    let huge = "e".repeat(100_000);
    let abuse = |wave: usize| {
        let (http, url, huge) = (http.clone(), url.clone(), huge.clone());
        async move {
            for round in 0..2 {
                let mut tasks = Vec::new();
                for i in 0..1000 {
                    let (http, url) = (http.clone(), url.clone());
                    let email =
                        if round == 0 { format!("{wave}-{i}{huge}@x.test") } else { format!("{wave}-{i}{}@x.test", "f".repeat(240)) };
                    tasks.push(tokio::spawn(async move {
                        http.post(format!("{url}/api/auth/login"))
                            .json(&serde_json::json!({"email": email, "password": "x"}))
                            .send()
                            .await
                            .map(|r| r.status())
                    }));
                    if tasks.len() == 32 {
                        for t in tasks.drain(..) {
                            refused(t.await.expect("join"));
                        }
                    }
                }
                for t in tasks {
                    refused(t.await.expect("join"));
                }
            }
        }
    };
    let start = resident_kib(child.id());
    abuse(0).await;
    let mid = resident_kib(child.id());
    abuse(1).await;
    let end = resident_kib(child.id());
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "resident memory: {:.1} MiB at start, {:.1} MiB after 2,000 abusive sign-ins, {:.1} MiB after 4,000",
        mib(start),
        mib(mid),
        mib(end)
    );
    assert!(mib(end.saturating_sub(mid)) < 8.0, "the second 2,000 grew memory by {:.1} MiB", mib(end.saturating_sub(mid)));
    assert!(mib(end.saturating_sub(start)) < 64.0, "4,000 abusive sign-ins grew memory by {:.1} MiB", mib(end.saturating_sub(start)));
    let _ = child.kill();
    let _ = child.wait();
}

/// Phone numbers never reach the logs: a sandbox call, a contact lookup and a failing CRM
/// connector (its URL holds the number), with the server's own logging at debug.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_numbers_never_reach_the_logs() {
    let Demo { mut child, url, logs, dir: _dir, .. } = start_demo(&[
        ("MPT_LOG", "mpt_api_server=debug,mpt_twilio=debug,tower_http=debug,info"),
        ("MPT_SANDBOX_SPEED", "20"),
        // A CRM that refuses connections: the connector fails and logs why.
        ("MPT_DEMO_MPT_CRM_URL", "http://127.0.0.1:9"),
    ]);
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({"email": "agent@demo.mpt-phone.test", "password": "demo-agent-pass"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token");
    let call = http
        .post(format!("{url}/api/sandbox/calls"))
        .bearer_auth(token)
        .json(&serde_json::json!({"to": "(415) 555-0142"}))
        .send()
        .await
        .expect("call");
    assert!(call.status().is_success(), "{}", call.text().await.unwrap_or_default());
    let lookup = http.get(format!("{url}/api/contacts/lookup?number=%2B14155550166")).bearer_auth(token).send().await.expect("lookup");
    assert!(lookup.status().is_success());
    let bad = http
        .post(format!("{url}/api/sandbox/calls"))
        .bearer_auth(token)
        .json(&serde_json::json!({"to": "+1 415 555 01"}))
        .send()
        .await
        .expect("bad");
    assert!(bad.status().is_client_error());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    let lines: Vec<String> = logs.try_iter().collect();
    assert!(lines.iter().any(|l| l.contains("CRM connector failed")), "the connector failure is logged: {lines:?}");
    for number in ["4155550142", "4155550166", "555-0142", "555-0166", "5550142", "5550166", "41555501"] {
        let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(number)).collect();
        assert!(leaks.is_empty(), "{number} in the logs: {leaks:?}");
    }
}

/// `serve --exit-with-stdin` ends when its standard input closes, so a parent that dies by
/// any signal (even SIGKILL) takes the server with it (`cargo xtask run`).
#[test]
fn serve_exits_when_its_stdin_closes() {
    let Demo { mut child, stdin, dir: _dir, .. } = start_demo_with(&["--exit-with-stdin"], &[("MPT_SHUTDOWN_GRACE_SECS", "1")]);
    drop(stdin);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the server outlived its closed stdin");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
