//! Small helpers for running processes with the command line echoed.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

use crate::Result;

/// A command builder that prints what it runs and turns failures into errors.
pub struct Cmd {
    inner: Command,
    shown: String,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let shown = program.as_ref().to_string_lossy().into_owned();
        let mut inner = Command::new(program);
        inner.current_dir(crate::root());
        Cmd { inner, shown }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(' ');
        self.shown.push_str(&arg.as_ref().to_string_lossy());
        self.inner.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Runs in `dir` instead of the workspace root.
    pub fn current_dir(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        self.inner.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.inner.env(key, value);
        self
    }

    /// Runs to completion with inherited stdio; non-zero exit is an error.
    pub fn run(mut self) -> Result {
        eprintln!("$ {}", self.shown);
        let status = self.inner.status().map_err(|e| format!("could not start `{}`: {e}", self.shown))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", self.shown))
        }
    }

    /// Runs to completion and returns stdout; non-zero exit is an error.
    pub fn read(mut self) -> Result<String> {
        let out = self.inner.stderr(Stdio::inherit()).output().map_err(|e| format!("could not start `{}`: {e}", self.shown))?;
        if !out.status.success() {
            return Err(format!("`{}` failed ({})", self.shown, out.status));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs quietly and reports only whether it succeeded (for probes).
    pub fn succeeds(mut self) -> bool {
        self.inner.stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
    }

    /// Runs with inherited stderr, teeing stdout to the terminal while keeping a
    /// copy, so a caller can read test counts from it. Non-zero exit is an error
    /// carrying the output.
    pub fn run_tee(mut self) -> std::result::Result<String, (String, String)> {
        use std::io::{BufRead, BufReader, Write};
        eprintln!("$ {}", self.shown);
        let mut child = match self.inner.stdout(Stdio::piped()).spawn() {
            Ok(c) => c,
            Err(e) => return Err((format!("could not start `{}`: {e}", self.shown), String::new())),
        };
        let mut captured = String::new();
        if let Some(stdout) = child.stdout.take() {
            let mut out = std::io::stdout().lock();
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let _ = writeln!(out, "{line}");
                captured.push_str(&line);
                captured.push('\n');
            }
        }
        match child.wait() {
            Ok(s) if s.success() => Ok(captured),
            Ok(s) => Err((format!("`{}` failed ({s})", self.shown), captured)),
            Err(e) => Err((format!("waiting for `{}`: {e}", self.shown), captured)),
        }
    }
}

/// `cargo` with the same toolchain that runs xtask.
pub fn cargo() -> Cmd {
    Cmd::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Is `program` on PATH (or an existing path)?
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}
