//! The real binary: `serve --demo` prints its ready line, serves, and shuts down
//! gracefully on SIGTERM (open sockets get a close frame).

use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_ready_line_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mpt-api-server"))
        .args(["serve", "--demo"])
        .env("MPT_BIND", "127.0.0.1:0")
        .env("MPT_DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("MPT_MASTER_KEY")
        .env_remove("MPT_MASTER_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut url = None;
    let mut demo_seen = false;
    while url.is_none() {
        let line = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("ready line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        match v["event"].as_str() {
            Some("demo") => {
                demo_seen = true;
                assert_eq!(v["agent"]["email"], "agent@demo.mpt-phone.test");
            }
            Some("listening") => url = v["url"].as_str().map(str::to_string),
            other => panic!("unexpected line {other:?}: {line}"),
        }
    }
    assert!(demo_seen, "demo credentials printed before the ready line");
    let url = url.expect("url");
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
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/api/events?token={token}", url.replace("http://", "ws://")))
        .await
        .expect("ws");
    ws.next().await.expect("hello frame").expect("ok");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => return true,
                Ok(_) => {}
            }
        }
        true
    })
    .await
    .expect("socket closed on shutdown");
    assert!(closed);
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(exit.success(), "{exit:?}");
}
