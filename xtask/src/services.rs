//! Long-running processes: the api-server, the demo CRM sites and a throwaway
//! PostgreSQL for tests. Each announces readiness with one JSON line on stdout
//! (`{"event":"listening",…}`); we wait for that line, never for a fixed time.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::cmd::{cargo, Cmd};
use crate::{extension, root, tools, Result};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A child process killed when dropped. Its standard input is a pipe we hold and never
/// write: when this process ends, however (Ctrl-C, SIGTERM, SIGHUP, even SIGKILL), the
/// pipe closes and the child, started with `--exit-with-stdin`, ends too.
pub struct Service {
    pub name: &'static str,
    child: Child,
    _stdin: Option<std::process::ChildStdin>,
    /// The parsed ready line.
    pub ready: serde_json::Value,
    /// JSON lines printed before the ready line (e.g. the server's demo sign-in).
    pub announced: Vec<serde_json::Value>,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// Spawns `command` and waits for its `{"event":"listening",…}` line.
    /// Later stdout lines are forwarded to our stderr, prefixed with the name.
    pub fn spawn(name: &'static str, mut command: Command) -> Result<Service> {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit()).stdin(Stdio::piped());
        let mut child = command.spawn().map_err(|e| format!("starting {name}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| format!("{name}: no stdout"))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            let mut announced = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if !sent {
                    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                        if value["event"] == "listening" {
                            sent = tx.send((value, std::mem::take(&mut announced))).is_ok();
                        } else {
                            announced.push(value);
                        }
                        continue;
                    }
                }
                eprintln!("[{name}] {line}");
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok((ready, announced)) => Ok(Service { name, child, _stdin: stdin, ready, announced }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!("{name} did not report ready within {READY_TIMEOUT:?} ({status})"))
            }
        }
    }
}

pub fn bin_path(name: &str, release: bool) -> PathBuf {
    root().join("target").join(if release { "release" } else { "debug" }).join(name)
}

/// `cargo xtask run`: the product on this machine, sandbox calling by default.
pub fn run() -> Result {
    let ext = extension::build(&extension::BuildOptions { debug: false })?;
    cargo().args(["build", "-p", "mpt-api-server", "-p", "mpt-demo-crm"]).run()?;

    // The demo CRMs first: the demo tenant's CRM connectors point at them.
    let mut crm_cmd = Command::new(bin_path("mpt-demo-crm", false));
    crm_cmd.args(["--mpt-port", "8801", "--ams-port", "8802", "--exit-with-stdin"]).current_dir(root());
    let crm = Service::spawn("demo-crm", crm_cmd)?;
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("?").to_string();

    let data_dir = root().join(".data");
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("creating .data: {e}"))?;
    let bind = std::env::var("MPT_BIND").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let mut server_cmd = Command::new(bin_path("mpt-api-server", false));
    server_cmd
        .args(["serve", "--demo", "--exit-with-stdin"])
        .env("MPT_BIND", &bind)
        .env("MPT_DATA_DIR", &data_dir)
        .env("MPT_WIDGET_DIR", crate::widget::dist_dir())
        .env("MPT_APP_DIR", crate::app::dist_dir())
        .env("MPT_DEMO_MPT_CRM_URL", text(&crm.ready, "mpt_crm"))
        .env("MPT_DEMO_AMS_CRM_URL", text(&crm.ready, "ams_crm"))
        .current_dir(root());
    let server = Service::spawn("api-server", server_cmd)?;

    let server_url = server.ready["url"].as_str().unwrap_or("http://127.0.0.1:8787");
    println!();
    println!("MPT Phone is running (sandbox calling: no Twilio account configured).");
    println!("  api-server     {server_url}   (data in {})", data_dir.display());
    println!("  web app        {server_url}/   (sign in with a demo account below)");
    println!("  MPT-CRM        {}/contacts", text(&crm.ready, "mpt_crm"));
    println!("  AMS-APP-CRM    {}/clients", text(&crm.ready, "ams_crm"));
    println!("  stress page    {}/stress", text(&crm.ready, "mpt_crm"));
    println!("  strict CSP     {}/strict-csp", text(&crm.ready, "mpt_crm"));
    for demo in server.announced.iter().filter(|v| v["event"] == "demo") {
        for role in ["agent", "admin"] {
            println!("  demo {role:<9} {} / {}", text(&demo[role], "email"), text(&demo[role], "password"));
        }
        // Third-party pages embedding the phone without the extension (docs/embed.md).
        if let Some(key) = demo["widget_key"].as_str() {
            println!("  embed: web component  {}/embed/component?api={server_url}&key={key}", text(&crm.ready, "ams_crm"));
            println!("  embed: iframe widget  {}/embed/iframe?api={server_url}&key={key}", text(&crm.ready, "mpt_crm"));
        }
    }
    println!();
    println!("Load the extension: chrome://extensions → Developer mode → Load unpacked →");
    println!("  {}", ext.display());
    println!("then open a demo CRM page and click a phone number. Ctrl-C (or any signal that stops this command) stops everything.");

    // Serve until one of the services exits (or Ctrl-C, which reaches all of us).
    let mut services = [server, crm];
    loop {
        for s in services.iter_mut() {
            if let Ok(Some(status)) = s.child.try_wait() {
                return Err(format!("{} exited ({status})", s.name));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A throwaway PostgreSQL cluster in a temp dir on a free loopback port,
/// stopped and deleted on drop.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    as_postgres_user: bool,
    pub url: String,
}

impl Postgres {
    pub fn start() -> Result<Postgres> {
        let bin = tools::ensure_postgres()?;
        let as_postgres_user = tools::is_root();
        let dir = std::env::temp_dir().join(format!("mpt-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        if as_postgres_user {
            // initdb refuses to run as root: the cluster belongs to the `postgres` user.
            Cmd::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).run()?;
        }
        let port = free_port()?;
        let pg = Postgres { bin, dir, as_postgres_user, url: format!("postgres://postgres@127.0.0.1:{port}/postgres") };
        pg.pg("initdb").args(["-D"]).arg(pg.dir.join("data")).args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]).read()?;
        pg.pg("pg_ctl")
            .arg("-D")
            .arg(pg.dir.join("data"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=300",
                pg.dir.join("sock").display()
            ))
            .arg("-l")
            .arg(pg.dir.join("log"))
            .args(["-w", "start"])
            .read()?;
        eprintln!("xtask: PostgreSQL for tests at {}", pg.url);
        Ok(pg)
    }

    fn pg(&self, tool: &str) -> Cmd {
        let exe = self.bin.join(tool);
        if self.as_postgres_user {
            Cmd::new("runuser").args(["-u", "postgres", "--"]).arg(exe)
        } else {
            Cmd::new(exe)
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.pg("pg_ctl").arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "stop"]).succeeds();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
