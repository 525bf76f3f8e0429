//! `cargo xtask`: the one entry point for building, running, testing and
//! benchmarking MPT Phone. Every command installs the tools it needs first
//! (idempotently), so a fresh machine needs nothing but cargo.

mod app;
mod cmd;
mod dist;
mod extension;
mod services;
mod testing;
mod tools;
mod widget;

#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  build [--debug]   Build the extension into dist/extension, the embeddable widget into dist/widget and the web app into dist/app
  run               Build, then start api-server (sandbox calling, demo tenant) and the demo CRM sites
  test [SUITE...]   Run every test: rust, wasm, e2e (or only the suites named)
  bench             Run the benchmarks (each prints a ratio against a named peer)
  dist              Build and zip dist/extension for the Chrome Web Store
  setup             Install the tools only (wasm32 target, wasm-bindgen-cli, npm packages, Chromium, PostgreSQL)

Environment:
  MPT_SERVER_URL    Server origin baked into the extension (default http://127.0.0.1:8787)
  CHROME_PATH       Chrome/Chromium binary for the end-to-end tests (default: found or installed)
  MPT_SKIP_APT=1    Never call apt-get (fail with a message instead)
";

/// Errors are plain strings with context: xtask prints them and exits 1.
pub type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    };
    let outcome = match command.as_str() {
        "build" => extension::build(&extension::BuildOptions::from_args(rest)).map(|_| ()),
        "run" => services::run(),
        "test" => testing::test(rest),
        "bench" => testing::bench(rest),
        "dist" => dist::dist(),
        "setup" => tools::setup_all(),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The workspace version, read from the root Cargo.toml (`[workspace.package] version`).
pub fn workspace_version() -> Result<String> {
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).map_err(|e| format!("reading Cargo.toml: {e}"))?;
    let mut in_package = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().trim_start_matches('=').trim();
                return Ok(value.trim_matches('"').to_string());
            }
        }
    }
    Err("no version in [workspace.package] of Cargo.toml".into())
}
