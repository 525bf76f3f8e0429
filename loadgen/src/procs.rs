//! Child processes: the api-server (CLI steps and `serve`) and the Node token server.
//! Both announce readiness with a JSON line `{"event":"listening","url":…}` on stdout.

use crate::error::{LoadError, Result};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server process (killed when dropped).
pub struct Server {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    child: Child,
}

impl Server {
    /// Starts `cmd` (stdout piped; stderr to `stderr_file`) and waits up to `timeout`
    /// for its `listening` line.
    pub async fn start(name: &str, mut cmd: Command, stderr_file: &Path, timeout: Duration) -> Result<Server> {
        let err = |msg: String| LoadError::Process { what: name.to_string(), msg };
        let log = std::fs::File::create(stderr_file)?;
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(log)).kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| err(format!("cannot start: {e}")))?;
        let stdout = child.stdout.take().ok_or_else(|| err("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.next_line().await? {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["event"] == "listening" {
                        if let Some(u) = v["url"].as_str() {
                            return Ok(u.trim_end_matches('/').to_string());
                        }
                    }
                }
            }
            Err(err(format!("exited before it was ready (see {})", stderr_file.display())))
        })
        .await
        .map_err(|_| err(format!("not ready after {timeout:?} (see {})", stderr_file.display())))??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { url, child })
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the process (SIGKILL, like a crash or power cut for the process) and reaps it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Runs one api-server CLI command to completion and returns its stdout.
pub async fn run_cli(server: &Path, args: &[&str], envs: &[(&str, String)], timeout: Duration) -> Result<String> {
    let what = format!("mpt-api-server {}", args.iter().take(2).copied().collect::<Vec<_>>().join(" "));
    let mut cmd = Command::new(server);
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| LoadError::Process { what: what.clone(), msg: format!("still running after {timeout:?}") })?
        .map_err(|e| LoadError::Process { what: what.clone(), msg: format!("cannot run: {e}") })?;
    if !out.status.success() {
        return Err(LoadError::Process { what, msg: format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()) });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
