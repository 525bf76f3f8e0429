//! `cargo xtask test` and `cargo xtask bench`.
//!
//! Suites: `tidy` (rustfmt and clippy with warnings as errors, native and wasm32
//! crates), `rust` (every native crate's unit and integration tests, the server's
//! against SQLite and a throwaway PostgreSQL), `wasm` (wasm-bindgen tests in
//! Node), `e2e` (the built extension in real Chromium against the demo CRMs).
//! All suites run even when one fails; the exit code and the closing
//! `N passed, N failed` line cover them all.

use crate::cmd::{cargo, Cmd};
use crate::services::{self, Postgres};
use crate::{extension, root, tools, Result};

const SUITES: [&str; 4] = ["tidy", "rust", "wasm", "e2e"];

/// The wasm32-only crates (clippy checks them for their own target).
const WASM_CRATES: [&str; 8] = ["mpt-background", "mpt-popup", "mpt-panel", "mpt-ui", "mpt-content", "mpt-options", "mpt-web", "mpt-app"];

/// wasm crates that carry `wasm_bindgen_test` tests, run in Node. (The popup's
/// logic is tested natively: its start function mounts into a page Node lacks.)
const WASM_TEST_CRATES: [&str; 1] = ["mpt-background"];

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, suite: &str, outcome: std::result::Result<String, (String, String)>) {
        let (output, error) = match outcome {
            Ok(out) => (out, None),
            Err((err, out)) => (out, Some(err)),
        };
        let (p, f) = count(&output);
        self.passed += p;
        self.failed += f;
        if let Some(err) = error {
            if f == 0 {
                // Failed before or outside any test (build error, crash): count it.
                self.failed += 1;
            }
            self.failures.push(format!("{suite}: {err}"));
        }
    }
}

/// Counts passed/failed tests in cargo-test and node-test output.
fn count(output: &str) -> (u64, u64) {
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("test result: ") {
            // "ok. 12 passed; 0 failed; 0 ignored; ..."
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(kind), Some(n)) = (words.next(), words.next()) else { continue };
                let n: u64 = n.parse().unwrap_or(0);
                match kind {
                    "passed" => passed += n,
                    "failed" => failed += n,
                    _ => {}
                }
            }
        } else if let Some(n) = line.strip_prefix("# pass ").or_else(|| line.strip_prefix("ℹ pass ")) {
            passed += n.trim().parse().unwrap_or(0);
        } else if let Some(n) = ["# fail ", "ℹ fail ", "# cancelled ", "ℹ cancelled "].iter().find_map(|prefix| line.strip_prefix(prefix))
        {
            // node reports tests whose `before` hook failed as cancelled: failures too.
            failed += n.trim().parse().unwrap_or(0);
        }
    }
    (passed, failed)
}

pub fn test(args: &[String]) -> Result {
    let chosen: Vec<&str> = if args.is_empty() {
        SUITES.to_vec()
    } else {
        for a in args {
            if !SUITES.contains(&a.as_str()) {
                return Err(format!("unknown suite `{a}` (suites: {})", SUITES.join(", ")));
            }
        }
        args.iter().map(String::as_str).collect()
    };

    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen()?;
    tools::ensure_npm_packages()?;
    let started = std::time::Instant::now();
    let mut tally = Tally::default();

    if chosen.contains(&"tidy") {
        tools::ensure_lint_tools()?;
        for (name, check) in tidy_checks() {
            match check.run() {
                Ok(()) => tally.passed += 1,
                Err(e) => {
                    tally.failed += 1;
                    tally.failures.push(format!("tidy ({name}): {e}"));
                }
            }
        }
    }

    if chosen.contains(&"rust") {
        let pg = Postgres::start()?;
        let run = cargo()
            // --no-fail-fast: one failing test binary must not hide the others' results.
            .args(["test", "--workspace", "--no-fail-fast"])
            .env("MPT_TEST_DATABASE_URL", &pg.url)
            .run_tee();
        tally.record("rust", run);
        drop(pg);
    }
    if chosen.contains(&"wasm") {
        let mut cmd = cargo().args(["test", "--no-fail-fast", "--target", tools::WASM_TARGET]);
        for krate in WASM_TEST_CRATES {
            cmd = cmd.args(["-p", krate]);
        }
        let run = cmd.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner").run_tee();
        tally.record("wasm", run);
    }
    if chosen.contains(&"e2e") {
        let run = e2e();
        tally.record("e2e", run);
    }

    let secs = started.elapsed().as_secs();
    println!();
    for failure in &tally.failures {
        println!("xtask: FAILED {failure}");
    }
    println!("xtask test ({secs} s, suites: {}):", chosen.join(", "));
    println!("total: {} passed, {} failed", tally.passed, tally.failed);
    if tally.failed == 0 && tally.failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} test(s) failed", tally.failed))
    }
}

/// Formatting and lints, each a pass or a failure of the tidy suite. Clippy runs with
/// warnings as errors on every native crate (loadgen included) and, for their own target,
/// on the wasm crates.
fn tidy_checks() -> Vec<(&'static str, Cmd)> {
    let mut native = cargo().args(["clippy", "--workspace", "--all-targets"]);
    let mut wasm = cargo().args(["clippy", "--target", tools::WASM_TARGET, "--all-targets"]);
    for krate in WASM_CRATES {
        native = native.args(["--exclude", krate]);
        wasm = wasm.args(["-p", krate]);
    }
    vec![
        ("rustfmt", cargo().args(["fmt", "--all", "--", "--check"])),
        ("clippy, native crates", native.args(["--", "-D", "warnings"])),
        ("clippy, wasm32 crates", wasm.args(["--", "-D", "warnings"])),
    ]
}

fn e2e() -> std::result::Result<String, (String, String)> {
    let prepare = || -> Result<std::path::PathBuf> {
        let chrome = tools::ensure_chromium()?;
        extension::build(&extension::BuildOptions { debug: false })?;
        // The widget's npm tarball, which tests/e2e/embed.test.mjs installs into a throwaway app.
        crate::widget::npm_package(&crate::widget::dist_dir(), &crate::workspace_version()?)?;
        cargo().args(["build", "-p", "mpt-api-server", "-p", "mpt-demo-crm"]).run()?;
        Ok(chrome)
    };
    let chrome = prepare().map_err(|e| (e, String::new()))?;
    Cmd::new("node")
        .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
        .arg(root().join("tests/e2e"))
        .env("CHROME_PATH", chrome)
        .env("MPT_EXTENSION_DIR", extension::dist_dir())
        .env("MPT_DEMO_CRM_BIN", services::bin_path("mpt-demo-crm", false))
        .env("MPT_API_SERVER_BIN", services::bin_path("mpt-api-server", false))
        .run_tee()
}

pub fn bench(args: &[String]) -> Result {
    let quick = args.iter().any(|a| a == "--quick");
    let ext = extension::build(&extension::BuildOptions { debug: false })?;

    // 1. Detection: our wasm build vs libphonenumber-js, same corpus, same process.
    Cmd::new("node").arg(root().join("tests/bench/phone.mjs")).arg(ext.join("content")).run()?;

    // 2. The page side in Chromium: the 10,000-row page marked by the built extension vs the
    //    floor (TreeWalker + Ranges + one Highlight) and ringcentral-c2d, in one run; the
    //    strict-CSP variant; long tasks and long animation frames.
    let chrome = tools::ensure_chromium()?;
    cargo().args(["build", "-p", "mpt-demo-crm"]).run()?;
    Cmd::new("node")
        .arg(root().join("tests/bench/page.mjs"))
        .args(["--rounds", if quick { "1" } else { "3" }])
        .env("CHROME_PATH", chrome)
        .env("MPT_EXTENSION_DIR", &ext)
        .env("MPT_DEMO_CRM_BIN", services::bin_path("mpt-demo-crm", false))
        .run()?;

    // 3. The phone as an agent feels it (issue 11): popup open → interactive, click →
    //    "Dialing…", inbound → ringing shown, idle memory; each against a peer in the run.
    cargo().args(["build", "-p", "mpt-api-server"]).run()?;
    Cmd::new("node")
        .arg(root().join("tests/bench/calls.mjs"))
        .args(["--rounds", if quick { "3" } else { "7" }])
        .env("CHROME_PATH", tools::ensure_chromium()?)
        .env("MPT_EXTENSION_DIR", &ext)
        .run()?;

    // 4. Native criterion bench of the detector.
    let mut criterion = cargo().args(["bench", "-p", "mpt-core", "--bench", "phone", "--"]);
    if quick {
        criterion = criterion.args(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    criterion.run()?;

    // 5. api-server as a black box from another process: token mints vs Twilio's Node
    //    library behind Express, signed status callbacks (none lost across kill -9),
    //    WebSocket fan-out to 1,000 agents.
    cargo().args(["build", "--release", "-p", "mpt-api-server", "-p", "mpt-loadgen"]).run()?;
    let mut loadgen = Cmd::new(root().join("target/release/mpt-loadgen"))
        .arg("--server")
        .arg(root().join("target/release/mpt-api-server"))
        .arg("--node-token-server")
        .arg(root().join("tests/bench/node-token-server.mjs"));
    if quick {
        loadgen = loadgen.arg("--quick");
    }
    loadgen.run()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_cargo_and_node_results() {
        let out = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured\n\
                   test result: FAILED. 3 passed; 2 failed; 0 ignored\n\
                   ℹ pass 4\nℹ fail 1\nℹ cancelled 2\n# pass 2\n# fail 0\n";
        assert_eq!(count(out), (21, 5));
    }
}
