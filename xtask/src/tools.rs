//! Tool set-up. Every function here is idempotent and fast when the tool is
//! already present, so commands call them unconditionally.

use std::path::PathBuf;

use crate::cmd::{cargo, which, Cmd};
use crate::{root, Result};

/// Must equal the `wasm-bindgen = "=…"` pin in the root Cargo.toml (a tidy
/// test checks this): the CLI and the library must be the same version.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

pub fn setup_all() -> Result {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    ensure_npm_packages()?;
    let chrome = ensure_chromium()?;
    eprintln!("xtask: browser: {}", chrome.display());
    let pg = ensure_postgres()?;
    eprintln!("xtask: postgres: {}", pg.display());
    Ok(())
}

pub fn ensure_wasm_target() -> Result {
    let installed = Cmd::new("rustup").args(["target", "list", "--installed"]).read().unwrap_or_default();
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    Cmd::new("rustup").args(["target", "add", WASM_TARGET]).run()
}

/// rustfmt and clippy, for the tidy suite (rustup components; quick when present).
pub fn ensure_lint_tools() -> Result {
    let installed = Cmd::new("rustup").args(["component", "list", "--installed"]).read().unwrap_or_default();
    let has = |c: &str| installed.lines().any(|l| l.trim().starts_with(c));
    if has("rustfmt") && has("clippy") {
        return Ok(());
    }
    Cmd::new("rustup").args(["component", "add", "rustfmt", "clippy"]).run()
}

/// The `wasm-bindgen` CLI, installed into ~/.cargo/bin at the pinned version.
pub fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let current = Cmd::new("wasm-bindgen").arg("--version").read().unwrap_or_default();
    if current.split_whitespace().nth(1) != Some(WASM_BINDGEN_VERSION) {
        // Not `--locked`: one of the CLI's locked dependencies is gone from the registry.
        cargo().args(["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN_VERSION, "--force"]).run()?;
    }
    which("wasm-bindgen").ok_or_else(|| "wasm-bindgen is not on PATH after installing it (is ~/.cargo/bin on PATH?)".to_string())
}

/// `npm ci` from the committed lockfile, skipped when node_modules already
/// matches it (a stamp holds the lockfile's contents hash).
pub fn ensure_npm_packages() -> Result {
    let lock_path = root().join("package-lock.json");
    let lock = std::fs::read(&lock_path).map_err(|e| format!("reading package-lock.json: {e}"))?;
    let stamp_path = root().join("node_modules/.mpt-lock-stamp");
    let want = format!("{:016x}", fnv1a(&lock));
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    if which("npm").is_none() {
        install_apt(&["nodejs", "npm"])?;
    }
    Cmd::new("npm").args(["ci", "--no-audit", "--no-fund"]).run()?;
    std::fs::write(&stamp_path, want).map_err(|e| format!("writing {}: {e}", stamp_path.display()))
}

/// The binaryen `wasm-opt` from node_modules (Debian's is too old for current rustc output).
pub fn wasm_opt() -> PathBuf {
    root().join("node_modules/.bin/wasm-opt")
}

/// esbuild from node_modules: minifies the content scripts of release builds.
pub fn esbuild() -> PathBuf {
    root().join("node_modules/.bin/esbuild")
}

/// A Chrome or Chromium for the end-to-end tests: `CHROME_PATH`, else one on
/// PATH, else Debian's `chromium` package is installed.
pub fn ensure_chromium() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHROME_PATH") {
        let path = PathBuf::from(path);
        return if path.is_file() { Ok(path) } else { Err(format!("CHROME_PATH={} does not exist", path.display())) };
    }
    let candidates = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    if let Some(found) = candidates.iter().find_map(|c| which(c)) {
        return Ok(found);
    }
    install_apt(&["chromium"])?;
    which("chromium").ok_or_else(|| "chromium was installed but is not on PATH".into())
}

/// PostgreSQL server binaries (initdb, pg_ctl) for the PostgreSQL test run.
pub fn ensure_postgres() -> Result<PathBuf> {
    if let Some(dir) = find_pg_bin() {
        return Ok(dir);
    }
    install_apt(&["postgresql"])?;
    find_pg_bin().ok_or_else(|| "postgresql was installed but no initdb was found under /usr/lib/postgresql".into())
}

fn find_pg_bin() -> Option<PathBuf> {
    if let Some(initdb) = which("initdb") {
        return initdb.parent().map(PathBuf::from);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn install_apt(packages: &[&str]) -> Result {
    if std::env::var_os("MPT_SKIP_APT").is_some() {
        return Err(format!("{} missing and MPT_SKIP_APT is set: install it yourself", packages.join(", ")));
    }
    if which("apt-get").is_none() {
        return Err(format!("{} missing and there is no apt-get here: install it yourself", packages.join(", ")));
    }
    let sudo = !is_root() && which("sudo").is_some();
    let apt = |args: &[&str]| {
        let mut c = if sudo { Cmd::new("sudo").arg("apt-get") } else { Cmd::new("apt-get") };
        c = c.env("DEBIAN_FRONTEND", "noninteractive");
        c.args(args)
    };
    apt(&["update"]).run()?;
    apt(&["install", "-y", "--no-install-recommends"]).args(packages).run()
}

pub fn is_root() -> bool {
    Cmd::new("id").arg("-u").read().map(|s| s.trim() == "0").unwrap_or(false)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
